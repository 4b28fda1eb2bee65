#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes a test PKI: a CA and one certificate per NAME (CN and DNS SAN = NAME),
# EC P-256 keys, valid 30 days. For tests and the demo, not for production.
# A NAME that begins with "mapper" gets a mapper certificate (extended key
# usage serverAuth only), every other NAME a node certificate (clientAuth only):
# ilad requires serverAuth of the mapper, ila-mapper clientAuth of a node.
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
	case $name in
	mapper*) eku=serverAuth ;;
	*) eku=clientAuth ;;
	esac
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=%s\n' "$name" "$eku" >"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 30 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
	rm -f "$dir/$name.csr" "$dir/$name.ext"
done
