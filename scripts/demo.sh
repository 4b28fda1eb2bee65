#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The service at work in one command: installs what it needs, builds, then
# runs ila-mapper, three ilad nodes, an FRR fabric router, a workload and a
# correspondent in network namespaces, moves the workload hot and then cold
# while the correspondent streams to it, prints a report and tears down.
# Where it runs, and which data path translates (ilad.conf: dataplane):
#   - kernel with the ILA module: on the host, the module (dataplane auto);
#   - kernel without it, ilad built with BPF and the kernel able to run its
#     programs: natively on the host, ilad's BPF programs (dataplane bpf,
#     doc/bpf.md); no qemu, it starts in seconds;
#   - otherwise, or with --module on a kernel without ILA: in a qemu guest
#     with Debian's stock kernel and its ILA module (a minute or two).
# Options:
#   --module the kernel's ILA module (in the qemu guest if this kernel has none)
#   --keep   leave the topology running (not in the qemu guest)
#   --etcd   the directory in etcd: three etcd members, two ila-mapper
#            instances; the one the nodes are on is SIGKILLed mid-move
# DEMO_RATE (packets/s, default 2000), DEMO_SECONDS (per move, default 4).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}/main
keep=0
etcd=0
module=0
for a in "$@"; do
	case $a in
	--keep) keep=1 ;;
	--etcd) etcd=1 ;;
	--module) module=1 ;;
	-h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# the probes' namespace and ilad, removed on any exit
probe_ns=ilademo${ILA_NETNS_TAG:-}-probe
probe_dir=
probe_pid=
cleanup_probe() {
	if [ -n "$probe_pid" ]; then
		kill "$probe_pid" 2>/dev/null || true
		wait "$probe_pid" 2>/dev/null || true
		probe_pid=
	fi
	ip netns del $probe_ns 2>/dev/null || true
	[ -z "$probe_dir" ] || rm -rf "$probe_dir"
	probe_dir=
}
trap cleanup_probe EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Does this kernel do ILA? (the module may just need loading)
modprobe ila 2>/dev/null || true
has_ila=0
if ip netns add $probe_ns 2>/dev/null; then
	if ip netns exec $probe_ns sh -c 'ip link set lo up &&
		ip -6 route add 2001:db8::1/128 encap ila 0:0:0:1 dev lo' 2>/dev/null; then
		has_ila=1
	fi
	ip netns del $probe_ns
fi

# Can ilad run its BPF programs here? ilad built with them (ilad -n accepts
# dataplane bpf), then one ilad started with dataplane bpf in a namespace of
# its own (a veth uplink, the mapper ::1, not there): it loads the
# programs, attaches them, and `ilactl show dataplane` says bpf.
bpf_probe() {
	probe_dir=$(mktemp -d /tmp/ilademo-probe.XXXXXX)
	c=$probe_dir/ilad.conf
	cat >"$c" <<-CONF
	node-name probe
	locator 2001:db8:1:0
	mapper ::1
	plaintext
	dataplane bpf
	control $probe_dir/ilad.sock
	pidfile $probe_dir/ilad.pid
	vn blue id 1 sir-prefix 2001:db8:100::/64
	CONF
	if ! out=$("$build/ilad/ilad" -n -f "$c" 2>&1); then
		echo "== ilad has no BPF data path: $out"
		return 1
	fi
	if ! ip netns add $probe_ns ||
		! ip netns exec $probe_ns sh -c 'ip link set lo up &&
		ip link add up0 type veth peer name up1 && ip link set up0 up &&
		ip link set up1 up && ip -6 addr add 2001:db8:f::2/64 dev up0 nodad &&
		ip -6 route add default via 2001:db8:f::1 dev up0'; then
		echo "== cannot set up a namespace to probe the BPF data path"
		return 1
	fi
	ip netns exec $probe_ns "$build/ilad/ilad" -d -f "$c" >"$probe_dir/ilad.log" 2>&1 &
	probe_pid=$!
	i=0
	while [ $i -lt 50 ]; do
		if [ -S "$probe_dir/ilad.sock" ] &&
			"$build/ilactl/ilactl" -s "$probe_dir/ilad.sock" show dataplane 2>/dev/null |
			grep -qw bpf; then
			return 0
		fi
		kill -0 "$probe_pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "== this kernel cannot run ilad's BPF data path: $(tail -n 3 "$probe_dir/ilad.log" | tr '\n' ' ')"
	return 1
}

native=
if [ $has_ila = 1 ]; then
	native=auto
	[ $module = 1 ] && native=ila-module
elif [ $module = 0 ]; then
	if bpf_probe; then
		native=bpf
	fi
	cleanup_probe
fi

start=$(date +%s)
rc=0
if [ -n "$native" ]; then
	if [ "$native" = bpf ]; then
		echo "== this kernel has no ILA module: running natively on the host with ilad's BPF data path"
	else
		echo "== this kernel has ILA: running on the host (dataplane $native)"
	fi
	if [ $keep = 1 ]; then
		DEMO_KEEP=1 DEMO_DATAPLANE=$native python3 "$top/tests/vm/demo.py" "$@" || rc=$?
	else
		DEMO_DATAPLANE=$native python3 "$top/tests/vm/demo.py" "$@" || rc=$?
	fi
else
	if [ $keep = 1 ]; then
		echo "demo: --keep needs to run on the host (a kernel with ILA, or BPF without" >&2
		echo "      --module); here the demo runs in a qemu guest and ends with it" >&2
	fi
	echo "== running in a qemu guest with Debian's stock kernel and its ILA module"
	export ILA_DEMO_DATAPLANE=ila-module
	if [ $etcd = 1 ]; then
		# three etcd members (each preallocates a 64 MiB WAL in the guest's
		# RAM) and two mapper instances: more memory and time
		ILA_VM_MEM=${ILA_VM_MEM:-2048} ILA_VM_TIMEOUT=${ILA_VM_TIMEOUT:-420} \
			"$top/tests/vm/run-in-vm" "$top/tests/vm/demo.py" "$@" || rc=$?
	else
		ILA_VM_TIMEOUT=${ILA_VM_TIMEOUT:-240} "$top/tests/vm/run-in-vm" "$top/tests/vm/demo.py" || rc=$?
	fi
fi
echo "== demo took $(( $(date +%s) - start )) s"
exit $rc
