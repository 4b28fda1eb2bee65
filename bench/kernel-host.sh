#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# kernel_100k_routes_host: ilad's netlink layer (through tests/vm/kroute)
# against `ip -6 -batch` programming the same 100,000 plain /128 routes (half
# unreachable, half to a veth), each in a fresh network namespace, on the
# build machine's kernel. Runs are interleaved and the median of each is
# kept. Prints both times and the ratio ila / ip-batch (lower is better) and
# records them in bench/results.json.
#
#   bench/kernel-host.sh            (root; ILA_BUILD = the build dir)
#   N=20000 RUNS=5 bench/kernel-host.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${ILA_BUILD:-$top/build/main}
N=${N:-100000}
RUNS=${RUNS:-3}
RESULTS=${RESULTS:-$here/results.json}
PROTO=73
KROUTE=$BUILD/tests/vm/kroute

die() { echo "kernel-host: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
command -v ip >/dev/null || die "iproute2 (ip) not found"
command -v python3 >/dev/null || die "python3 not found (writes results.json)"
if [ ! -x "$KROUTE" ]; then
	make -C "$BUILD" tests/vm/kroute >/dev/null || die "cannot build $KROUTE"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The same routes in both syntaxes: 2001:db8:ab::HI:LO/128.
awk -v n="$N" -v p="$PROTO" -v ila="$tmp/ila.txt" -v ipb="$tmp/ip.txt" 'BEGIN {
	for (i = 0; i < n; i++) {
		a = sprintf("2001:db8:ab::%x:%x/128", int(i / 65536), i % 65536);
		if (i % 2) {
			print "replace " a " dev v0" > ila;
			print "route replace " a " dev v0 proto " p > ipb;
		} else {
			print "replace unreachable " a > ila;
			print "route replace unreachable " a " proto " p > ipb;
		}
	}
}'

# One timed run in a fresh namespace; prints seconds, checks the result
# with iproute2.
run_one() {
	unshare -n sh -c '
		set -e
		ip link set lo up
		ip link add v0 type veth peer name v1
		ip link set v0 up; ip link set v1 up
		t0=$(date +%s%N)
		'"$1"'
		t1=$(date +%s%N)
		n=$(ip -6 route show proto '"$PROTO"' | wc -l)
		[ "$n" = '"$N"' ] || { echo "expected '"$N"' routes, found $n" >&2; exit 1; }
		echo $(( (t1 - t0) / 1000 ))
	'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$tmp/ila.us"
: >"$tmp/ip.us"
r=0
while [ "$r" -lt "$RUNS" ]; do
	run_one "'$KROUTE' -p $PROTO batch '$tmp/ila.txt'" >>"$tmp/ila.us" ||
		die "kroute run failed"
	run_one "ip -6 -batch '$tmp/ip.txt'" >>"$tmp/ip.us" || die "ip -batch run failed"
	r=$((r + 1))
done
ila_us=$(median <"$tmp/ila.us")
ip_us=$(median <"$tmp/ip.us")

python3 - "$ila_us" "$ip_us" "$N" >"$tmp/kernel-host.json" <<'EOF'
import json, sys
ila_us, ip_us, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ila, base = ila_us / 1e6, ip_us / 1e6
print(json.dumps([{"name": "kernel_100k_routes_host" if n == 100000 else "kernel_%d_routes_host" % n,
                   "unit": "s", "ila": round(ila, 4), "baseline": round(base, 4),
                   "ratio": round(ila / base, 4), "better": "lower"}]))
EOF
RESULTS="$RESULTS" python3 "$here/record.py" "$tmp/kernel-host.json"
