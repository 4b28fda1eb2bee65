#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The service at work in one command: installs what it needs, builds, then
# runs ila-mapper, three ilad nodes, an FRR fabric router, a workload and a
# correspondent in network namespaces, moves the workload hot and then cold
# while the correspondent streams to it, prints a report and tears down.
# When the running kernel has no ILA, all of it runs inside a qemu guest with
# Debian's stock kernel (which has). Options:
#   --keep   leave the topology running (only on a kernel with ILA)
#   --etcd   the directory in etcd: three etcd members, two ila-mapper
#            instances; the one the nodes are on is SIGKILLed mid-move
# DEMO_RATE (packets/s, default 2000), DEMO_SECONDS (per move, default 4).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}/main
keep=0
etcd=0
for a in "$@"; do
	case $a in
	--keep) keep=1 ;;
	--etcd) etcd=1 ;;
	-h|--help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown option $a" >&2; exit 2 ;;
	esac
done

"$top/scripts/deps.sh" >/dev/null
if [ ! -x "$build/ilad/ilad" ]; then
	echo "== building (once)"
	(cd "$top" && autoreconf -fi >/dev/null 2>&1)
	mkdir -p "$build"
	(cd "$build" && "$top/configure" -q >/dev/null && make -j"$(nproc)" >/dev/null)
fi
make -C "$build" -s all tests/integration/ila-probe >/dev/null
export ILA_BUILD="$build"
set --
if [ $etcd = 1 ]; then
	set -- --etcd
	for tool in etcd etcdctl; do
		command -v $tool >/dev/null || {
			echo "demo: $tool not found (Debian: etcd-server etcd-client, scripts/deps.sh)" >&2
			exit 1
		}
	done
fi

# Does this kernel do ILA? (the module may just need loading)
modprobe ila 2>/dev/null || true
has_ila=0
if ip netns add ila-demo-probe 2>/dev/null; then
	if ip netns exec ila-demo-probe sh -c 'ip link set lo up &&
		ip -6 route add 2001:db8::1/128 encap ila 0:0:0:1 dev lo' 2>/dev/null; then
		has_ila=1
	fi
	ip netns del ila-demo-probe
fi

start=$(date +%s)
if [ $has_ila = 1 ]; then
	echo "== this kernel has ILA: running on the host"
	if [ $keep = 1 ]; then
		DEMO_KEEP=1 python3 "$top/tests/vm/demo.py" "$@"
	else
		python3 "$top/tests/vm/demo.py" "$@"
	fi
	rc=$?
else
	if [ $keep = 1 ]; then
		echo "demo: --keep needs a kernel with ILA (CONFIG_IPV6_ILA); this one has none," >&2
		echo "      so the demo runs in a qemu guest and ends with it" >&2
	fi
	echo "== this kernel has no ILA: running in a qemu guest with Debian's stock kernel"
	if [ $etcd = 1 ]; then
		# three etcd members (each preallocates a 64 MiB WAL in the guest's
		# RAM) and two mapper instances: more memory and time
		ILA_VM_MEM=${ILA_VM_MEM:-2048} ILA_VM_TIMEOUT=${ILA_VM_TIMEOUT:-420} \
			"$top/tests/vm/run-in-vm" "$top/tests/vm/demo.py" "$@"
	else
		ILA_VM_TIMEOUT=${ILA_VM_TIMEOUT:-240} "$top/tests/vm/run-in-vm" "$top/tests/vm/demo.py"
	fi
	rc=$?
fi
echo "== demo took $(( $(date +%s) - start )) s"
exit $rc
