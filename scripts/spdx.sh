#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: scripts/spdx.sh [--add]
# Lists the project's source files (C, headers, scripts, Python, automake,
# autoconf, man pages, units) that lack an SPDX-License-Identifier line in
# their first three lines; exits 1 when there are any. With --add, writes
# the line into each, as a comment of the file's kind.
set -u
cd "$(dirname "$0")/.." || exit 2
id="SPDX-License-Identifier: GPL-2.0-or-later"
add=false
[ "${1:-}" = "--add" ] && add=true
git ls-files | while read -r f; do
	case "$f" in
	*.c | *.h) kind=c ;;
	*.py | *.sh | *.am | *.in | *.service | *.rt_protos | */run | */run-in-vm | tests/vm/init | .ci/run)
		kind=hash ;;
	configure.ac) kind=dnl ;;
	man/*.[0-9]) kind=roff ;;
	*) continue ;;
	esac
	head -n 3 "$f" | grep -q 'SPDX-License-Identifier:' && continue
	if ! $add; then
		echo "$f"
		continue
	fi
	tmp=$(mktemp)
	case "$kind" in
	c) { echo "/* $id */"; cat "$f"; } >"$tmp" ;;
	roff) { echo ".\\\" $id"; cat "$f"; } >"$tmp" ;;
	dnl) { echo "dnl $id"; cat "$f"; } >"$tmp" ;;
	hash)
		case "$f" in *.am) c='##' ;; *) c='#' ;; esac
		if head -n 1 "$f" | grep -q '^#!'; then
			{ head -n 1 "$f"; echo "$c $id"; tail -n +2 "$f"; } >"$tmp"
		else
			{ echo "$c $id"; cat "$f"; } >"$tmp"
		fi
		;;
	esac
	cat "$tmp" >"$f" # keeps the file's mode
	rm -f "$tmp"
done | { n=0; while read -r f; do echo "no SPDX line: $f"; n=$((n + 1)); done; [ "$n" -eq 0 ]; }
