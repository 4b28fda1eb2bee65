#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Lints man pages with mandoc and groff; prints every complaint and fails on any.
set -u
status=0
for page in "$@"; do
	out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		status=1
	fi
	out=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1)
	if [ -n "$out" ]; then
		printf '%s: %s\n' "$page" "$out"
		status=1
	fi
done
exit $status
