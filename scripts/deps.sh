#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install every Debian package the build, the tests and the benchmarks need.
# Idempotent: packages already present are not fetched again.
set -eu

PKGS="
autoconf automake libtool pkg-config make gcc clang libclang-rt-14-dev
libev-dev libmnl-dev libnl-3-dev libnl-genl-3-dev libcmocka-dev liblmdb-dev
libssl-dev libjson-c-dev libsodium-dev libcap-ng-dev uthash-dev openssl libbpf-dev bpftool
python3 iproute2 mandoc groff-base qemu-system-x86 busybox-static cpio ethtool
redis-server redis-tools frr strace procps universal-ctags debootstrap
etcd-server etcd-client libcurl4-openssl-dev
libmicrohttpd-dev
libxml2-dev libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
prometheus
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
