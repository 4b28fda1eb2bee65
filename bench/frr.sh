#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# frr_host_route_to_remote_fib: two FRR routers in network namespaces with
# eBGP between them (tests/frr/run builds them). The time from the zebra API
# client's route add next to R1's zebra until the /128 is in R2's kernel FIB,
# beside the same kind of /128 configured as a static route through vtysh on
# R1 (staticd, `redistribute static`), interleaved in the same run; medians
# of SAMPLES each (default 10).
# frr_ilad_attach_to_remote_fib: the same two routers with ilad next to each
# zebra (tests/frr/ilad_suite.py): the time from `ilactl attach ADDR dev IF`
# at ilad1 (the workload's new node, behind R1) until the /128 is in R2's
# kernel FIB (seen by `ip monitor`), beside a static /128 on the same
# interface configured through vtysh on R1, interleaved. Both start with a
# command-line client on R1 and end with the same event, and everything past
# R1's zebra (bgpd's redistribution, the eBGP update, R2's bgpd and zebra) is
# the same path: the difference is what ilad adds before zebra (control
# socket, local state, its ZAPI client) against what staticd adds. The
# mapper is not on the path: ilad announces before it registers (make before
# break). A static route on R2 would be the baseline of a local install only,
# not of a route that crosses the fabric.
# Records the figures measured in bench/results.json (lower is better; other
# entries kept, same-name ones replaced) and prints them.
#
#   bench/frr.sh            (root, the frr package; ILA_BUILD = the build dir)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
export ILA_BUILD=${ILA_BUILD:-$top/build/main}
RESULTS=${RESULTS:-$here/results.json}

die() { echo "bench frr: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
[ -x /usr/lib/frr/zebra ] || die "FRR not installed: run scripts/deps.sh"
for f in tests/frr/zapi-tool ilad/ilad ilactl/ilactl ila-mapper/ila-mapper; do
	if [ ! -x "$ILA_BUILD/$f" ]; then
		make -C "$ILA_BUILD" -s all tests/frr/zapi-tool >/dev/null || die "cannot build $f"
		break
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

status=0
if ! "$top/tests/frr/run" --bench "$tmp/frr.json" routes ilad >"$tmp/log" 2>&1; then
	cat "$tmp/log" >&2
	echo "bench frr: tests/frr/run failed; recording only the figures it measured" >&2
	status=1
fi
grep '^# bench:' "$tmp/log" || true
[ -s "$tmp/frr.json" ] || die "no figure measured"

RESULTS="$RESULTS" python3 "$here/record.py" "$tmp/frr.json"
exit $status
