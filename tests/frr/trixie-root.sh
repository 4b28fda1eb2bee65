#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian 13 (trixie) chroot with FRR 10.x that tests/frr/run runs its
# second pass on; Debian 12 has FRR 8.4.4 only, and trixie's binaries need
# trixie's libc.
#
# usage: tests/frr/trixie-root.sh   (root; prints the chroot's path)
#
# Built once into $ILA_FRR10_CACHE (default /var/cache/ila-frr-trixie):
# `debootstrap --variant=minbase trixie` from $ILA_FRR10_MIRROR (default
# http://deb.debian.org/debian), then `apt-get install --no-install-recommends
# frr` inside it, a policy-rc.d keeping every service stopped. The chroot is
# CACHE/root and CACHE/root.complete its stamp (FRR's version); a chroot
# without its stamp (an interrupted build) is built again. Later calls reuse
# it; concurrent calls wait on CACHE/.lock. Progress and the build's
# duration go to stderr; a chroot that cannot be built is an error (exit 1).
set -eu

cache=${ILA_FRR10_CACHE:-/var/cache/ila-frr-trixie}
mirror=${ILA_FRR10_MIRROR:-http://deb.debian.org/debian}
root=$cache/root

say() { printf 'frr10-root: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	say "needs root"
	exit 1
fi
command -v debootstrap >/dev/null 2>&1 || {
	say "debootstrap missing (scripts/deps.sh installs it)"
	exit 1
}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

if [ -f "$root.complete" ] && [ -x "$root/usr/lib/frr/zebra" ]; then
	printf '%s\n' "$root"
	exit 0
fi

# What an interrupted build left (under the lock, no build runs now).
rm -rf "$cache"/.build.*
t0=$(date +%s)
say "building $root (debootstrap trixie from $mirror, then frr)"
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$cache/build.log
if ! debootstrap --variant=minbase trixie "$tmp/root" "$mirror" >"$log" 2>&1; then
	say "debootstrap failed: $(grep -E '^(E|W):' "$log" | tail -n 3 | tr '\n' ' ')(see $log)"
	exit 1
fi
t1=$(date +%s)
# No service may start inside the chroot while packages are configured.
printf '#!/bin/sh\nexit 101\n' >"$tmp/root/usr/sbin/policy-rc.d"
chmod 755 "$tmp/root/usr/sbin/policy-rc.d"
if ! DEBIAN_FRONTEND=noninteractive chroot "$tmp/root" apt-get install -y -qq \
	--no-install-recommends frr >>"$log" 2>&1; then
	say "apt-get install frr in the chroot failed: $(tail -n 3 "$log" | tr '\n' ' ')"
	exit 1
fi
ver=$(chroot "$tmp/root" /usr/lib/frr/zebra --version 2>/dev/null | sed -n 's/^zebra version //p')
if [ -z "$ver" ]; then
	say "the chroot's zebra does not run"
	exit 1
fi
chroot "$tmp/root" apt-get clean >/dev/null 2>&1 || true
rm -rf "$root" "$root.complete"
mv "$tmp/root" "$root"
printf '%s\n' "$ver" >"$root.complete"
t2=$(date +%s)
say "built: FRR $ver, debootstrap $((t1 - t0)) s, frr install $((t2 - t1)) s, total $((t2 - t0)) s"
printf '%s\n' "$root"
