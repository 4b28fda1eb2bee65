#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The vectors the C tests replay must be exactly what the independent model
# prints: regenerate them and compare with the file in the tree (TAP output).
top_srcdir=${top_srcdir:-.}
model="$top_srcdir/tests/model/ila_model.py"
vectors="$top_srcdir/tests/model/ila_vectors.txt"
tmp=${TMPDIR:-/tmp}/ila_vectors.$$
trap 'rm -f "$tmp"' EXIT HUP INT TERM

echo "1..2"

if "${PYTHON3:-python3}" "$model" >"$tmp" && cmp -s "$tmp" "$vectors"; then
	echo "ok 1 - ila_model.py regenerates ila_vectors.txt unchanged"
else
	echo "not ok 1 - ila_model.py regenerates ila_vectors.txt unchanged"
	diff -u "$vectors" "$tmp" 2>&1 | head -n 40 | sed 's/^/# /'
fi

n=$(grep -c -v -e '^#' -e '^[[:space:]]*$' "$vectors" 2>/dev/null)
n=${n:-0}
if [ "$n" -ge 20 ]; then
	echo "ok 2 - ila_vectors.txt holds $n vectors (at least 20)"
else
	echo "not ok 2 - ila_vectors.txt holds $n vectors (at least 20)"
fi
