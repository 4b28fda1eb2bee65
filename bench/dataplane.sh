#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The data-path bench: packets per second through the BPF data path against
# the kernel's ILA module and plain IPv6 forwarding; 1,000,000 mappings into
# the BPF map against as many ILA routes through netlink; ilad's memory per
# cached mapping with dataplane bpf. The guest half (or, with --native, the
# whole of it on this machine's kernel) is bench/dataplane_vm.py, which says
# what each figure is. Records the ratios in bench/results.json.
#
#   bench/dataplane.sh              in the test VM (Debian's kernel with ILA)
#   bench/dataplane.sh --native     here; the module figures only if this
#                                   kernel has ILA (plain /128 routes else)
#   BENCH_RUNS=5 BENCH_DP_PACKETS=500000 BENCH_DP_MAPPINGS=200000 bench/dataplane.sh
#
# The guest gets ILA_VM_MEM (default 2048 MiB here: a million ILA routes)
# and ILA_VM_TIMEOUT (default 1500 s). Under software emulation the absolute
# figures are an emulated CPU's; the ratios compare paths in the same guest.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
ILA_BUILD=$(realpath -m "${ILA_BUILD:-$top/build/main}")
RESULTS=${RESULTS:-$here/results.json}
export ILA_BUILD ILA_VM_TIMEOUT="${ILA_VM_TIMEOUT:-1500}" ILA_VM_MEM="${ILA_VM_MEM:-2048}"
# Only ILA_* variables reach the guest: the knobs travel as such.
export ILA_BENCH_RUNS="${BENCH_RUNS:-3}" ILA_BENCH_DP_PACKETS="${BENCH_DP_PACKETS:-100000}" \
	ILA_BENCH_DP_MAPPINGS="${BENCH_DP_MAPPINGS:-1000000}" \
	ILA_BENCH_DP_BATCH="${BENCH_DP_BATCH:-10000}" \
	ILA_BENCH_DP_ILAD_MAPPINGS="${BENCH_DP_ILAD_MAPPINGS:-50000}" \
	ILA_BENCH_DP_PARTS="${BENCH_DP_PARTS:-pps,install,memory}"

die() { echo "dataplane: $*" >&2; exit 1; }

for b in ilad/ilad ila-mapper/ila-mapper tests/integration/ila-probe tests/vm/flood \
	tests/vm/ila-xlat tests/vm/kbpf-ctl; do
	if [ ! -x "$ILA_BUILD/$b" ]; then
		make -C "$ILA_BUILD" "$b" >/dev/null ||
			die "cannot build $ILA_BUILD/$b (kbpf-ctl needs a build with BPF)"
	fi
done
command -v python3 >/dev/null || die "python3 not found"

out=$(mktemp -d /tmp/ila-bench-dp.XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM
# shellcheck disable=SC2016 # expanded by the guest's shell
knobs='export BENCH_RUNS=$ILA_BENCH_RUNS BENCH_DP_PACKETS=$ILA_BENCH_DP_PACKETS \
	BENCH_DP_MAPPINGS=$ILA_BENCH_DP_MAPPINGS BENCH_DP_BATCH=$ILA_BENCH_DP_BATCH \
	BENCH_DP_ILAD_MAPPINGS=$ILA_BENCH_DP_ILAD_MAPPINGS BENCH_DP_PARTS=$ILA_BENCH_DP_PARTS;'
if [ "${1:-}" = --native ]; then
	[ "$(id -u)" -eq 0 ] || die "--native needs root (namespaces, BPF)"
	ILA_VM_OUT=$out sh -c "$knobs"' exec python3 "$1" --native' sh "$here/dataplane_vm.py" ||
		die "the bench failed (see above)"
else
	ILA_VM_OUT=$out "$top/tests/vm/run-in-vm" /bin/sh -c "$knobs"' exec python3 "$1"' sh \
		"$here/dataplane_vm.py" || die "the guest half failed (see above)"
fi
[ -s "$out/dataplane.json" ] || die "no figures written"
RESULTS="$RESULTS" python3 "$here/record.py" "$out/dataplane.json"
