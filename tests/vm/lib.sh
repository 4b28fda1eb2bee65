# SPDX-License-Identifier: GPL-2.0-or-later
# Test VM harness, sourced by tests/vm/run-in-vm and tests/vm/run (bash).
#
# Boots Debian's stock kernel, which has ILA (CONFIG_IPV6_ILA=m), under qemu
# with software emulation and the host's root file system over 9p, so the
# binaries just built run unchanged on a kernel the build machine lacks.
#
#   vm_deps        installs qemu, busybox-static, cpio and ethtool if missing
#   vm_kernel      fetches and unpacks the kernel package once into the cache
#   vm_initramfs   builds (or reuses) the initramfs: busybox, modules, init
#   vm_run SCRIPT [ARGS]   boots, runs SCRIPT as root inside, powers off;
#                  returns SCRIPT's exit status, its output goes to stdout
#
# Environment:
#   ILA_VM_CACHE    kernel cache (default /var/cache/ila-test-kernel)
#   ILA_VM_KERNEL_PKG  kernel package (default: the one linux-image-amd64
#                   depends on, e.g. linux-image-6.1.0-56-amd64)
#   ILA_VM_TIMEOUT  hard limit of one boot-and-run in seconds (default 600)
#   ILA_VM_MEM      guest memory in MiB (default 1024)
#   ILA_VM_SMP      guest CPUs (default 2)
#   ILA_VM_MODULES  more modules to load at boot (names, space separated)
#   ILA_VM_OUT      the writable shared folder (default: a new temp folder,
#                   removed afterwards unless ILA_VM_KEEP=1)
#   ILA_VM_VERBOSE  1: show the kernel's boot messages too
# Every ILA_* and DEMO_* variable of the caller is passed on to SCRIPT.
#
# The guest (see init): the host's / read-only over 9p with a RAM overlay on
# top, so SCRIPT may write anywhere and nothing reaches the host; a fresh
# tmpfs on /run; the shared folder mounted at its host path (ILA_VM_OUT), the
# only place whose writes come back. SCRIPT runs as root in the initial
# network namespace with only lo; it makes its own namespaces and veths.

VM_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${ILA_VM_CACHE:-/var/cache/ila-test-kernel}
VM_TIMEOUT=${ILA_VM_TIMEOUT:-600}
VM_PKGS="qemu-system-x86 busybox-static cpio ethtool"

# What the guest loads at boot. Dependencies come from the kernel's own
# modules.dep; modules built into the kernel are skipped. Others load on
# demand: the kernel's module tree is mounted at /lib/modules/VERSION in the
# guest and the kernel's own module requests run busybox modprobe; a suite
# can also run "busybox modprobe NAME" (the host has no kmod).
VM_MODULES="virtio_pci virtio_rng 9pnet_virtio 9p overlay
ila veth dummy bridge ip6_tunnel sit tun sch_netem"

vm_say() { printf 'ila-vm: %s\n' "$*" >&2; }

vm_now_ms() { date +%s%3N; }

# Seconds with one decimal between two vm_now_ms stamps.
vm_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

vm_installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

vm_deps() {
	local p missing=""
	for p in $VM_PKGS; do
		vm_installed "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		vm_say "packages missing:$missing (run scripts/deps.sh as root)"
		return 1
	fi
	vm_say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
			vm_say "cannot install$missing"
			return 1
		}
	fi
}

# The versioned kernel package that the linux-image-amd64 metapackage names.
vm_kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# Sets VM_KDIR (the unpacked package), VM_KVER and VM_VMLINUZ. The package
# (ILA_VM_KERNEL_PKG, default the one linux-image-amd64 names) is downloaded
# and unpacked once; later calls reuse the cache, and with no package lists
# or no network the kernel cached last is used.
vm_kernel() {
	local rc
	mkdir -p "$VM_CACHE" || { vm_say "cannot create $VM_CACHE"; return 1; }
	exec 8>"$VM_CACHE/.lock"
	flock 8
	vm_kernel_locked
	rc=$?
	exec 8>&-
	return $rc
}

vm_kernel_locked() {
	local pkg dir tmp ver
	pkg=${ILA_VM_KERNEL_PKG:-$(vm_kernel_pkg)}
	if [ -z "$pkg" ] && [ ! -d "$VM_CACHE/current" ] && [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq >/dev/null 2>&1
		pkg=$(vm_kernel_pkg)
	fi
	if [ -n "$pkg" ] && [ ! -f "$VM_CACHE/$pkg/.complete" ]; then
		vm_say "fetching $pkg into $VM_CACHE"
		tmp=$(mktemp -d "$VM_CACHE/.fetch.XXXXXX") || return 1
		if ! (cd "$tmp" && apt-get -o APT::Sandbox::User=root download "$pkg" >download.log 2>&1); then
			vm_say "cannot download $pkg: $(grep -E '^(E|W|Err):' "$tmp/download.log" |
				head -n 3 | tr '\n' ' ')"
			rm -rf "$tmp"
			[ -f "$VM_CACHE/current/.complete" ] || return 1
			vm_say "using the cached kernel $(readlink "$VM_CACHE/current") instead"
		else
			dir="$VM_CACHE/$pkg"
			rm -rf "$dir"
			mkdir -p "$tmp/x"
			if ! dpkg -x "$tmp"/*.deb "$tmp/x"; then
				vm_say "cannot unpack $pkg"
				rm -rf "$tmp"
				return 1
			fi
			mv "$tmp/x" "$dir"
			rm -rf "$tmp"
			# busybox's depmod writes a plain-text modules.dep, which
			# the initramfs builder and busybox modprobe read.
			ver=$(basename "$dir"/lib/modules/*)
			if ! busybox depmod -b "$dir" "$ver"; then
				vm_say "depmod failed for $pkg"
				return 1
			fi
			touch "$dir/.complete"
			ln -sfn "$pkg" "$VM_CACHE/current"
		fi
	elif [ -n "$pkg" ]; then
		ln -sfn "$pkg" "$VM_CACHE/current"
	fi
	if [ ! -f "$VM_CACHE/current/.complete" ]; then
		[ -n "$pkg" ] || vm_say "cannot find the kernel package: 'apt-cache depends" \
			"linux-image-amd64' names none (no package lists?) and $VM_CACHE holds no kernel"
		return 1
	fi
	VM_KDIR=$(cd "$VM_CACHE/current" && pwd -P)
	VM_KVER=$(basename "$VM_KDIR"/lib/modules/*)
	VM_VMLINUZ="$VM_KDIR/boot/vmlinuz-$VM_KVER"
	if [ ! -f "$VM_VMLINUZ" ] || [ ! -f "$VM_KDIR/lib/modules/$VM_KVER/modules.dep" ]; then
		vm_say "incomplete kernel in $VM_KDIR"
		return 1
	fi
}

# Prints the module files (relative to the module tree) to load for the
# given names, dependencies first, from modules.dep. A name that is neither a
# module nor built in is an error.
vm_module_order() { # moddir names...
	local moddir=$1
	shift
	awk -v want="$*" -v builtin="$moddir/modules.builtin" '
	function base(p) {
		sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p); gsub(/-/, "_", p)
		return p
	}
	function visit(m,   a, n, k) {
		if (m in done)
			return
		done[m] = 1
		if (!(m in path)) {
			if (!(m in inkernel)) {
				print "missing module " m > "/dev/stderr"
				bad = 1
			}
			return
		}
		n = split(deps[m], a, " ")
		for (k = 1; k <= n; k++)
			visit(a[k])
		print path[m]
	}
	BEGIN {
		while ((getline line < builtin) > 0)
			inkernel[base(line)] = 1
	}
	{
		key = $1; sub(/:$/, "", key)
		m = base(key); path[m] = key; deps[m] = ""
		for (i = 2; i <= NF; i++)
			deps[m] = deps[m] " " base($i)
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			x = w[i]; gsub(/-/, "_", x)
			visit(x)
		}
		exit bad
	}' "$moddir/modules.dep"
}

# Sets VM_INITRD: a gzip'ed cpio with busybox, the modules and tests/vm/init.
# Rebuilt only when the kernel, the module list, busybox or init change.
vm_initramfs() {
	local moddir="$VM_KDIR/lib/modules/$VM_KVER" order key stage f
	order=$(vm_module_order "$moddir" "$VM_MODULES" "${ILA_VM_MODULES:-}") || return 1
	key=$( { echo "$VM_KVER"; echo "$order"; cat "$VM_HERE/init"; sha256sum /bin/busybox; } |
		sha256sum | cut -c1-16)
	VM_INITRD="$VM_CACHE/initramfs-$VM_KVER-$key.cpio.gz"
	[ -f "$VM_INITRD" ] && return 0
	stage=$(mktemp -d "$VM_CACHE/.initramfs.XXXXXX")
	mkdir -p "$stage/bin" "$stage/modules" "$stage/proc" "$stage/sys" "$stage/dev" \
		"$stage/lower" "$stage/rw" "$stage/newroot"
	cp /bin/busybox "$stage/bin/busybox"
	cp "$VM_HERE/init" "$stage/init"
	chmod 755 "$stage/init"
	: >"$stage/modules/order"
	for f in $order; do
		cp "$moddir/$f" "$stage/modules/"
		basename "$f" >>"$stage/modules/order"
	done
	if ! (cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$stage.cpio.gz"; then
		rm -rf "$stage" "$stage.cpio.gz"
		vm_say "cannot build the initramfs"
		return 1
	fi
	mv "$stage.cpio.gz" "$VM_INITRD"
	rm -rf "$stage"
}

# Everything a boot needs: packages, kernel, initramfs.
vm_prepare() {
	vm_deps && vm_kernel && vm_initramfs
}

vm_qpid=""
vm_outdir=""
vm_outtmp=0

vm_cleanup() {
	if [ -n "$vm_qpid" ]; then
		kill -TERM "$vm_qpid" 2>/dev/null
		sleep 0.2
		kill -KILL "$vm_qpid" 2>/dev/null
		wait "$vm_qpid" 2>/dev/null
		vm_qpid=""
	fi
	if [ "$vm_outtmp" = 1 ] && [ "${ILA_VM_KEEP:-0}" != 1 ] && [ -n "$vm_outdir" ]; then
		rm -rf "$vm_outdir"
	fi
}

# Writes the job the guest's init runs: environment, working folder, command.
vm_write_job() { # file script args...
	local job=$1 v
	shift
	{
		echo '# written by tests/vm/lib.sh'
		echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
		echo 'export HOME=/root TERM=dumb LC_ALL=C.UTF-8 ILA_VM=1'
		echo 'export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1'
		for v in $(compgen -e | grep -E '^(ILA|DEMO)_'); do
			printf 'export %s=%q\n' "$v" "${!v}"
		done
		printf 'export ILA_VM_OUT=%q\n' "$vm_outdir"
		printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
		if [ -x "$1" ]; then
			printf 'exec'
		else
			printf 'exec /bin/bash'
		fi
		for v in "$@"; do
			printf ' %q' "$v"
		done
		echo
	} >"$job"
}

# Boots the VM and runs SCRIPT [ARGS] in it. Returns its exit status; 124
# when the time limit killed the VM, 125 when the VM did not boot.
vm_run() {
	local script t0 tboot="" tend line rc="" started=0 qemu cmdline
	[ $# -ge 1 ] || { vm_say "usage: vm_run SCRIPT [ARGS]"; return 2; }
	script=$(realpath "$1") || return 2
	shift
	if [ ! -f "$script" ]; then
		vm_say "no such script: $script"
		return 2
	fi
	vm_prepare || return 125
	qemu=$(command -v qemu-system-x86_64) || { vm_say "qemu-system-x86_64 not found"; return 125; }
	if [ -n "${ILA_VM_OUT:-}" ]; then
		vm_outdir=$(mkdir -p "$ILA_VM_OUT" && realpath "$ILA_VM_OUT") || return 2
	else
		vm_outdir=$(mktemp -d /tmp/ila-vm.XXXXXX)
		vm_outtmp=1
	fi
	# Both paths travel on the kernel command line.
	case $vm_outdir$VM_KDIR in
	*[!A-Za-z0-9._/-]*)
		vm_say "paths may hold only [A-Za-z0-9._/-]: $vm_outdir $VM_KDIR"
		return 2 ;;
	esac
	cmdline="ilavm.out=$vm_outdir ilavm.kdir=$VM_KDIR ilavm.kver=$VM_KVER"
	trap vm_cleanup EXIT
	trap 'vm_cleanup; exit 130' INT TERM HUP
	rm -f "$vm_outdir/.vm-rc" "$vm_outdir/.vm-serial" "$vm_outdir/.vm-booted"
	vm_write_job "$vm_outdir/.vm-job" "$script" "$@"
	mkfifo "$vm_outdir/.vm-serial"

	t0=$(vm_now_ms)
	# TCG, not KVM: -enable-kvm hung on the build machines.
	"$qemu" -accel tcg,thread=multi -cpu max -m "${ILA_VM_MEM:-1024}" \
		-smp "${ILA_VM_SMP:-2}" -nographic -no-reboot -nic none \
		-kernel "$VM_VMLINUZ" -initrd "$VM_INITRD" \
		-append "console=ttyS0 quiet panic=-1 $cmdline" \
		-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$vm_outdir",mount_tag=out,security_model=none,multidevs=remap \
		-device virtio-rng-pci \
		</dev/null >"$vm_outdir/.vm-serial" 2>&1 &
	vm_qpid=$!
	# The watchdog: a hung guest or qemu is killed after the limit.
	(
		sleep "$VM_TIMEOUT" &
		trap 'kill $! 2>/dev/null; exit 0' TERM
		wait $!
		echo timeout >"$vm_outdir/.vm-timeout"
		kill -KILL "$vm_qpid" 2>/dev/null
	) &
	local wpid=$!
	: >"$vm_outdir/boot.log"
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		case $line in
		*@@ILA-VM-START@@*)
			started=1
			tboot=$(vm_now_ms)
			vm_say "kernel $VM_KVER booted in $(vm_secs "$t0" "$tboot") s"
			;;
		*@@ILA-VM-EXIT\ *)
			rc=${line##*@@ILA-VM-EXIT }
			rc=${rc%%@@*}
			started=2
			;;
		*)
			if [ $started = 1 ]; then
				printf '%s\n' "$line"
			else
				printf '%s\n' "$line" >>"$vm_outdir/boot.log"
				[ "${ILA_VM_VERBOSE:-0}" = 1 ] && printf '%s\n' "$line" >&2
			fi
			;;
		esac
	done <"$vm_outdir/.vm-serial"
	wait "$vm_qpid" 2>/dev/null
	vm_qpid=""
	kill -TERM "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	tend=$(vm_now_ms)
	[ -f "$vm_outdir/.vm-rc" ] && rc=$(cat "$vm_outdir/.vm-rc")
	if [ -f "$vm_outdir/.vm-timeout" ]; then
		vm_say "time limit of $VM_TIMEOUT s reached: qemu killed"
		rc=124
	elif [ -z "$tboot" ]; then
		vm_say "the guest did not reach userspace; boot log:"
		tail -n 30 "$vm_outdir/boot.log" >&2
		rc=125
	elif [ -z "$rc" ]; then
		vm_say "the guest stopped before the script finished"
		rc=125
	fi
	if [ -n "$tboot" ]; then
		vm_say "script ran $(vm_secs "$tboot" "$tend") s, total $(vm_secs "$t0" "$tend") s, exit $rc"
	fi
	rm -f "$vm_outdir/.vm-serial" "$vm_outdir/.vm-job"
	vm_cleanup
	trap - EXIT INT TERM HUP
	return "$rc"
}
