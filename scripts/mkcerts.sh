#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes a test PKI: a CA and one certificate per NAME (CN and DNS SAN = NAME),
# EC P-256 keys, valid 30 days. For tests and the demo, not for production.
# A NAME that begins with "mapper" gets a mapper certificate (extended key
# usage serverAuth only), every other NAME a node certificate (clientAuth only):
# ilad requires serverAuth of the mapper, ila-mapper clientAuth of a node.
# A NAME that begins with "etcd-server" gets an etcd member's certificate:
# serverAuth and clientAuth (etcd 3.4's gateway presents it when it calls its
# own gRPC port) and the SANs DNS:localhost and IP:127.0.0.1, as test members
# listen on loopback. A NAME that begins with "etcd-client" (ila-mapper as a
# client of etcd) gets clientAuth, like a node.
#   scripts/mkcerts.sh DIR NAME...   -> DIR/ca.crt DIR/ca.key DIR/NAME.crt DIR/NAME.key
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DIR NAME..." >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir"
umask 077
if [ ! -f "$dir/ca.crt" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=ila test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
fi
for name in "$@"; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
		-keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
	san="DNS:$name"
	case $name in
	mapper*) eku=serverAuth ;;
	etcd-server*)
		eku=serverAuth,clientAuth
		san="$san,DNS:localhost,IP:127.0.0.1"
		;;
	*) eku=clientAuth ;;
	esac
	printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$san" "$eku" >"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 30 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
	rm -f "$dir/$name.csr" "$dir/$name.ext"
done
