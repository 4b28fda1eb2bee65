#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# kernel_20k_ila_routes_vm, kernel_20k_ila_moves_vm: ilad programming 20,000
# encap ila routes pushed by ila-mapper, then moving all of them to a new
# locator, beside `ip -6 -batch` doing the same replaces, in the test VM
# (Debian's kernel with ILA under qemu, see tests/vm/README.md). The guest
# half is bench/kernel_vm.py. Prints both times and the ratio ila / ip-batch
# (lower is better) and records them in bench/results.json.
#
#   bench/kernel-vm.sh              (root the first time: kernel cache)
#   BENCH_ILA_ROUTES=5000 BENCH_RUNS=1 bench/kernel-vm.sh
#
# Under software emulation the absolute times are those of an emulated CPU;
# the ratio compares two programs in the same guest.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
ILA_BUILD=$(realpath -m "${ILA_BUILD:-$top/build/main}")
RESULTS=${RESULTS:-$here/results.json}
export ILA_BUILD ILA_VM_TIMEOUT="${ILA_VM_TIMEOUT:-900}"
export ILA_BENCH_ILA_ROUTES="${BENCH_ILA_ROUTES:-20000}" ILA_BENCH_RUNS="${BENCH_RUNS:-3}"

die() { echo "kernel-vm: $*" >&2; exit 1; }

for b in ilad/ilad ila-mapper/ila-mapper tests/integration/ila-probe; do
	if [ ! -x "$ILA_BUILD/$b" ]; then
		make -C "$ILA_BUILD" "$b" >/dev/null || die "cannot build $ILA_BUILD/$b"
	fi
done
command -v python3 >/dev/null || die "python3 not found (writes results.json)"

out=$(mktemp -d /tmp/ila-bench-vm.XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM
# Only ILA_* variables reach the guest: the knobs travel as such.
ILA_VM_OUT=$out "$top/tests/vm/run-in-vm" /bin/sh -c \
	'BENCH_ILA_ROUTES=$ILA_BENCH_ILA_ROUTES BENCH_RUNS=$ILA_BENCH_RUNS exec python3 "$1"' sh \
	"$here/kernel_vm.py" || die "the guest half failed (see above)"
[ -s "$out/kernel-vm.json" ] || die "the guest wrote no figures"

RESULTS="$RESULTS" python3 "$here/record.py" "$out/kernel-vm.json"
