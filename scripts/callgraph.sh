#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: scripts/callgraph.sh DIR...
# Prints, for the C files of each folder, which file calls functions defined
# in which other file of the same folder ("a.c -> b.c: f, g"), from ctags'
# index of definitions and a scan of identifiers followed by "(". Exits 1
# when two files of one folder call each other (a circle of two).
set -u
if ! ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
	echo "callgraph.sh: needs Universal Ctags (Debian: universal-ctags)" >&2
	exit 2
fi
status=0
for dir in "$@"; do
	tags=$(mktemp)
	ctags -x --c-kinds=f --language-force=C "$dir"/*.c 2>/dev/null |
		awk '{ n = split($4, p, "/"); print $1, p[n] }' | sort -u >"$tags"
	if [ ! -s "$tags" ]; then
		echo "callgraph.sh: no function definitions found in $dir" >&2
		exit 2
	fi
	edges=$(mktemp)
	for f in "$dir"/*.c; do
		base=${f##*/}
		# identifiers called in f (comments and strings stripped roughly)
		sed -e 's://.*$::' -e 's:"[^"]*"::g' -e 's:->[A-Za-z_][A-Za-z0-9_]*::g' "$f" |
			grep -o '[A-Za-z_][A-Za-z0-9_]*[[:space:]]*(' | tr -d ' \t(' | sort -u |
			while read -r id; do
				# a name defined in f itself is f's own (a static twin elsewhere is not called)
				awk -v id="$id" -v me="$base" '$1 == id { d[$2] = 1 }
					END { if (!(me in d)) for (f in d) print me, f, id }' "$tags"
			done
	done | sort -u >"$edges"
	awk '{ k = $1 " -> " $2; if (k in e) e[k] = e[k] ", " $3; else { e[k] = $3; o[++n] = k } }
	     END { for (i = 1; i <= n; i++) print o[i] ": " e[o[i]] }' "$edges" | sed "s|^|$dir/|"
	awk '{ print $1, $2 }' "$edges" | sort -u >"$edges.pairs"
	while read -r a b; do
		if grep -qx "$b $a" "$edges.pairs" && [ "$a" \< "$b" ]; then
			echo "CIRCLE: $dir/$a <-> $dir/$b"
			status=1
		fi
	done <"$edges.pairs"
	rm -f "$tags" "$edges" "$edges.pairs"
done
exit $status
