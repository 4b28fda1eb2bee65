#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every configuration the project ships is accepted by the daemon it is for,
# and a configuration start-up refuses is refused by -n too, with the same
# message (TAP output).
#
# Shipped configurations: doc/*.conf.example, tests/conf/*.conf (the golden
# files), and the EXAMPLE sections of man/ilad.conf.5 and man/ila-mapper.conf.5.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
ILAD="$top_builddir/ilad/ilad"
MAPPER="$top_builddir/ila-mapper/ila-mapper"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ila-check-examples.XXXXXX") || exit 1
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -s "$tmp/out" ] && sed -e 's/^/# /' "$tmp/out" | head -n 20
	return 0
}

# The daemon for a configuration file, from its name.
daemon_for() {
	case "$(basename "$1")" in
	*mapper*) echo "$MAPPER" ;;
	*) echo "$ILAD" ;;
	esac
}

# man_examples PAGE PREFIX: each configuration the EXAMPLE(S) section of the
# page shows (the lines between .EX and .EE), with the roff escapes the pages
# use undone, as PREFIX-1.conf, PREFIX-2.conf, ...
man_examples() {
	sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\(dq/"/g' "$1" |
		awk -v prefix="$2" '
		/^\.SH / { ex = ($2 == "EXAMPLE" || $2 == "EXAMPLES"); next }
		ex && /^\.EX/ { on = 1; out = prefix "-" ++k ".conf"; next }
		ex && /^\.EE/ { on = 0; close(out); next }
		on && !/^\./ { print > out }'
}

# accept FILE LABEL: -n accepts it, and what -nv prints is accepted again.
accept() {
	d=$(daemon_for "$1")
	if ! "$d" -n -f "$1" >"$tmp/out" 2>&1; then
		not_ok "$(basename "$d") -n accepts $2"
		return
	fi
	ok "$(basename "$d") -n accepts $2"
	if "$d" -nv -f "$1" >"$tmp/printed.conf" 2>"$tmp/out" &&
		"$d" -n -f "$tmp/printed.conf" >"$tmp/out" 2>&1; then
		ok "$(basename "$d") -n accepts what -nv prints of $2"
	else
		not_ok "$(basename "$d") -n accepts what -nv prints of $2"
	fi
}

examples="$top_srcdir/doc/ilad.conf.example $top_srcdir/doc/ila-mapper.conf.example $top_srcdir/doc/ila-mapper-etcd.conf.example"
for f in $examples "$top_srcdir"/tests/conf/*.conf; do
	accept "$f" "${f#"$top_srcdir"/}"
done
for page in ilad.conf.5 ila-mapper.conf.5; do
	name=$(echo "$page" | sed 's/\.conf\.5$//')
	man_examples "$top_srcdir/man/$page" "$tmp/man-$name"
	if [ ! -s "$tmp/man-$name-1.conf" ]; then
		: >"$tmp/out"
		not_ok "man/$page has an EXAMPLE section with a configuration"
	fi
	for f in "$tmp/man-$name"-*.conf; do
		[ -s "$f" ] || continue
		k=${f##*-}
		accept "$f" "example ${k%.conf} of man/$page"
	done
done

# The complete ilad configurations doc/config.md shows (fenced blocks with a
# node-name line).
awk -v prefix="$tmp/config-md" '
	/^```/ { if (on) { close(out); on = 0 } else { on = 1; buf = ""; out = "" }; next }
	on { buf = buf $0 "\n" }
	on && /^node-name / && !out { out = prefix "-" ++k ".conf"; printf "%s", buf > out; next }
	on && out { print > out }' "$top_srcdir/doc/config.md"
for f in "$tmp"/config-md-*.conf; do
	if [ -s "$f" ]; then
		k=${f##*-}
		accept "$f" "ilad example ${k%.conf} of doc/config.md"
	else
		: >"$tmp/out"
		not_ok "doc/config.md shows an ilad configuration"
	fi
done

# Start-up may be tried only where a regression cannot touch the host: in a
# network namespace of its own.
isolate=
if unshare -rn true 2>/dev/null; then
	isolate="unshare -rn"
elif unshare -n true 2>/dev/null; then
	isolate="unshare -n"
fi

# refuse DAEMON FILE LINE WHAT LABEL: -n exits non-zero with FILE:LINE: WHAT,
# and a start in the foreground says exactly the same and does not run.
refuse() {
	d=$1 f=$2 line=$3 what=$4 label=$5
	"$d" -n -f "$f" >"$tmp/out" 2>&1
	rc=$?
	want="$(basename "$d"): $f:$line: $what"
	if [ "$rc" -ne 0 ] && grep -qF -- "$want" "$tmp/out"; then
		ok "$(basename "$d") -n refuses $label: $what"
	else
		echo "exit status $rc, wanted non-zero and '$want'" >>"$tmp/out"
		not_ok "$(basename "$d") -n refuses $label: $what"
		return
	fi
	cp "$tmp/out" "$tmp/check.out"
	if [ -z "$isolate" ]; then
		echo "ok $((n = n + 1)) - # SKIP start-up refuses $label (no network namespace)"
		return
	fi
	$isolate timeout 10 "$d" -d -f "$f" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && cmp -s "$tmp/check.out" "$tmp/out"; then
		ok "$(basename "$d") start-up refuses $label with the message of -n"
	else
		{ echo "exit status $rc; -n said:"; cat "$tmp/check.out"; } >>"$tmp/out"
		not_ok "$(basename "$d") start-up refuses $label with the message of -n"
	fi
}

common="control $tmp/ilad.sock
pidfile $tmp/ilad.pid
mapper ::1 port 9
plaintext"

cat >"$tmp/shared.conf" <<EOF
node-name n1
$common
locator 2001:db8:ff01:1
vn blue id 100 sir-prefix 2001:db8:100::/64
vn green id 200 sir-prefix 2001:db8:200::/64
EOF
refuse "$ILAD" "$tmp/shared.conf" 8 \
	"vn green would share locator 2001:db8:ff01:1 with vn blue" \
	"two vns on one locator in mode ila"

# The shipped example as it was before it had a locator per vn.
sed -e '/^locator 2001:db8:ff01:2$/d' "$top_srcdir/doc/ilad.conf.example" >"$tmp/ilad.conf"
line=$(grep -n '^vn green ' "$tmp/ilad.conf" | head -n 1 | cut -d: -f1)
refuse "$ILAD" "$tmp/ilad.conf" "$line" \
	"vn green would share locator 2001:db8:ff01:1 with vn blue" \
	"the example with one locator for two vns"

# What ilad.conf(5) says its second example becomes without its second locator.
if [ -s "$tmp/man-ilad-2.conf" ]; then
	sed -e '/^locator 2001:db8:0:b2$/d' "$tmp/man-ilad-2.conf" >"$tmp/ilad.conf"
	refuse "$ILAD" "$tmp/ilad.conf" 8 \
		"vn green would share locator 2001:db8:0:b1 with vn blue" \
		"example 2 of man/ilad.conf.5 with one locator"
else
	: >"$tmp/out"
	not_ok "man/ilad.conf.5 has a second example (two vns)"
fi

cat >"$tmp/ondemand.conf" <<EOF
node-name n1
$common
mode control-plane
cache on-demand
EOF
refuse "$ILAD" "$tmp/ondemand.conf" 7 \
	"cache on-demand needs mode ila with dataplane bpf" \
	"cache on-demand outside mode ila"

cat >"$tmp/mapper-notls.conf" <<EOF
control $tmp/mapper.sock
pidfile $tmp/mapper.pid
store $tmp/store
listen ::1 port 9
EOF
refuse "$MAPPER" "$tmp/mapper-notls.conf" 4 "'tls' is required" "a file without tls"

# The same file in another mode may share its locator.
cat >"$tmp/host-route.conf" <<EOF
node-name n1
$common
mode host-route
locator 2001:db8:ff01:1
vn blue id 100 sir-prefix 2001:db8:100::/64
vn green id 200 sir-prefix 2001:db8:200::/64
EOF
accept "$tmp/host-route.conf" "two vns on one locator in mode host-route"

# Reload: a running ilad that is sent SIGHUP after its file became one that
# -n refuses keeps its configuration and logs the message of -n.
# until_ok SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds.
until_ok() {
	i=$(($1 * 10)); shift
	while [ "$i" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i - 1))
	done
	return 1
}
cat >"$tmp/running.conf" <<EOF
node-name n1
$common
mode control-plane
EOF
cp "$tmp/running.conf" "$tmp/reload.conf"
if [ -z "$isolate" ]; then
	echo "ok $((n = n + 1)) - # SKIP reload refuses what -n refuses (no network namespace)"
else
	$isolate "$ILAD" -d -f "$tmp/reload.conf" >"$tmp/reload.log" 2>&1 &
	pid=$!
	if until_ok 10 grep -q "started" "$tmp/reload.log"; then
		for bad in shared ondemand; do
			cp "$tmp/$bad.conf" "$tmp/reload.conf"
			"$ILAD" -n -f "$tmp/reload.conf" 2>&1 | sed -n 's/^ilad: //p' >"$tmp/want"
			kill -HUP "$pid"
			label="ilad reload of $bad.conf is refused with the message of -n"
			if [ -s "$tmp/want" ] && until_ok 5 grep -qF \
				"reload refused, configuration unchanged: $(cat "$tmp/want")" \
				"$tmp/reload.log"; then
				ok "$label"
			else
				{ echo "-n said:"; cat "$tmp/want"; echo "ilad logged:"
				  cat "$tmp/reload.log"; } >"$tmp/out"
				not_ok "$label"
			fi
		done
		# and it runs on with the file it started with
		cp "$tmp/running.conf" "$tmp/reload.conf"
		kill -HUP "$pid"
		if until_ok 5 grep -q "configuration reloaded" "$tmp/reload.log" &&
			kill -0 "$pid" 2>/dev/null; then
			ok "ilad runs on and reloads a file -n accepts"
		else
			cp "$tmp/reload.log" "$tmp/out"
			not_ok "ilad runs on and reloads a file -n accepts"
		fi
	else
		cp "$tmp/reload.log" "$tmp/out"
		not_ok "ilad starts with $tmp/running.conf"
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
fi

echo "1..$n"
[ "$failed" -eq 0 ]
