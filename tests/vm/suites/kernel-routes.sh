#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# ilad's netlink layer (routing/kernel.c, driven by tests/vm/kroute) on a
# kernel with ILA, with iproute2 as the independent reader: encap ila routes
# appear in `ip -6 route show proto 73` exactly as asked, a replace moves them
# to a new locator, a dump reads back what was written and feeds back without
# a change, translation entries appear in `ip ila list`, adding one twice is
# harmless, and the unit test's ILA cases pass here.
#
# Runs in a network namespace of its own. Needs ILA_BUILD (a built tree with
# tests/vm/kroute). One "PASS: ..." or "FAIL: ...: why" line per check.
set -u

if [ -z "${KR_INNER:-}" ]; then
	KR_INNER=1 exec unshare -n "$0" "$@"
fi

S=kernel-routes
BUILD=${ILA_BUILD:-}
KROUTE=$BUILD/tests/vm/kroute
N=50
bad=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS: $S: $1"; }
fail() { echo "FAIL: $S: $1: $2"; bad=1; }

if [ -z "$BUILD" ] || [ ! -x "$KROUTE" ]; then
	fail setup "no $KROUTE (set ILA_BUILD to a built tree; make tests/vm/kroute)"
	exit 1
fi

ip link set lo up
if ! { ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up; }; then
	fail setup "cannot make a veth pair"
	exit 1
fi

# iproute2's view of our routes: "DST LOCATOR CSUM IDENT" for encap ila
# ones, "unreachable DST" for the others, sorted.
ip_view() {
	ip -6 route show proto 73 | awk '
	/encap ila/ {
		loc = ""; cs = ""; it = ""
		for (i = 1; i <= NF; i++) {
			if ($i == "ila") loc = $(i + 1)
			if ($i == "csum-mode") cs = $(i + 1)
			if ($i == "ident-type") it = $(i + 1)
		}
		print $1, loc, cs, it; next
	}
	$1 == "unreachable" { print "unreachable", $2; next }
	{ print "other", $0 }' | sort
}

# The routes kroute is asked for, and what iproute2 should then show.
# $1: locator
make_batch() {
	: >"$tmp/batch"
	: >"$tmp/want"
	i=1
	while [ "$i" -le "$N" ]; do
		printf 'replace 2001:db8:1::%x/128 encap ila %s %s dev v0\n' \
			"$i" "$1" "csum-mode neutral-map ident-type luid" >>"$tmp/batch"
		printf '2001:db8:1::%x %s neutral-map luid\n' "$i" "$1" >>"$tmp/want"
		i=$((i + 1))
	done
	for j in 1 2 3 4 5; do
		echo "replace unreachable 2001:db8:2::$j/128" >>"$tmp/batch"
		echo "unreachable 2001:db8:2::$j" >>"$tmp/want"
	done
	sort -o "$tmp/want" "$tmp/want"
}

# 1. The probe answers yes here.
if out=$("$KROUTE" probe 2>&1) && [ "$out" = "ila: ok" ]; then
	pass "probe_ila"
else
	fail "probe_ila" "$out"
fi
if [ -n "$(ip -6 route show table all proto 73)" ]; then
	fail "probe_leaves_nothing" "$(ip -6 route show table all proto 73 | head -n 3)"
else
	pass "probe_leaves_nothing"
fi

# 2. A batch of ILA and unreachable routes, read back by iproute2.
make_batch 2001:0:0:a
if ! "$KROUTE" batch "$tmp/batch" 2>"$tmp/err"; then
	fail "ila_batch" "$(head -n 3 "$tmp/err")"
else
	pass "ila_batch"
fi
ip_view >"$tmp/got"
if cmp -s "$tmp/want" "$tmp/got"; then
	pass "ila_routes_exact ($N encap ila + 5 unreachable)"
else
	fail "ila_routes_exact" "$(diff "$tmp/want" "$tmp/got" | head -n 5 | tr '\n' ' ')"
fi

# 3. The same batch again: replace of identical routes succeeds, no change.
if "$KROUTE" batch "$tmp/batch" 2>"$tmp/err" && ip_view | cmp -s "$tmp/want" -; then
	pass "replace_same_is_ok"
else
	fail "replace_same_is_ok" "$(head -n 3 "$tmp/err")"
fi

# 4. Move every route to a new locator (what a workload move does).
make_batch 2001:0:0:b
if "$KROUTE" batch "$tmp/batch" 2>"$tmp/err" && ip_view >"$tmp/got" &&
	cmp -s "$tmp/want" "$tmp/got"; then
	pass "replace_to_new_locator"
else
	fail "replace_to_new_locator" \
		"$(cat "$tmp/err"; diff "$tmp/want" "$tmp/got" | head -n 5 | tr '\n' ' ')"
fi
if ip -6 route show proto 73 | grep -q '2001:0:0:a'; then
	fail "old_locator_gone" "a route still has 2001:0:0:a"
else
	pass "old_locator_gone"
fi

# 5. Dump round trip: what kroute reads is what it wrote, and writing it
# back changes nothing that iproute2 sees.
"$KROUTE" dump -6 >"$tmp/dump" 2>"$tmp/err"
ila_words='encap ila 2001:0:0:b csum-mode neutral-map ident-type luid hook-type output'
dump_ila=$(grep -c "^2001:db8:1::[0-9a-f]*/128 $ila_words dev v0 table 254\$" "$tmp/dump")
dump_unr=$(grep -c '^unreachable 2001:db8:2::[1-5]/128 table 254$' "$tmp/dump")
if [ "$dump_ila" = "$N" ] && [ "$dump_unr" = 5 ] && [ "$(wc -l <"$tmp/dump")" -eq $((N + 5)) ]; then
	pass "dump_reads_back"
else
	fail "dump_reads_back" \
		"ila $dump_ila unreachable $dump_unr: $(head -n 2 "$tmp/dump" "$tmp/err" |
			tr '\n' ' ')"
fi
ip -6 route show proto 73 >"$tmp/ip-before"
sed 's/^/replace /' "$tmp/dump" >"$tmp/again"
if "$KROUTE" batch "$tmp/again" 2>"$tmp/err" &&
	ip -6 route show proto 73 | cmp -s "$tmp/ip-before" -; then
	pass "dump_round_trip"
else
	fail "dump_round_trip" "$(head -n 3 "$tmp/err")"
fi

# 6. Translation entries, idempotent add, replace, list and delete.
#
# iproute2 6.1's `ip ila list` prints garbage for both locator columns (the
# same wrong value twice, different on every run, also for entries it added
# itself), so the reader here is the answer it receives from the kernel:
# strace shows the raw dump and a few lines of Python decode it, apart from
# routing/kernel.c's own parser. Its csum-mode and ident-type columns and
# the entry count are right and are checked as printed.
ila_wire() {
	strace -e trace=recvmsg -xx -s 4096 ip ila list 2>&1 >/dev/null | python3 -c '
import re, struct, sys
loc = lambda v: ":".join("%x" % int.from_bytes(v[i:i + 2], "big") for i in range(0, 8, 2))
for m in re.finditer(r"nlmsg_type=ila,[^}]*\}, \"((?:\\x[0-9a-f]{2})+)\"", sys.stdin.read()):
    b = bytes.fromhex(m.group(1).replace("\\x", ""))[4:]  # skip genlmsghdr
    a = {}
    while len(b) >= 4:
        ln, ty = struct.unpack("<HH", b[:4])
        a[ty & 0x3fff] = b[4:ln]
        b = b[(ln + 3) & ~3:]
    print("loc_match", loc(a[3]), "loc", loc(a[1]), "ifindex", struct.unpack("<i", a[4])[0],
          "csum", a[7][0], "ident", a[8][0])
' | sort
}
ila_count() {
	ip -j ila list 2>/dev/null | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}
ila_modes() { ip ila list 2>/dev/null | grep -c "$1"; }

if ! command -v strace >/dev/null; then
	fail "xlat_reader" "strace is needed to read ip ila list's answer"
fi
v0=$(ip -o link show v0 | cut -d: -f1)
out=$("$KROUTE" xlat-add 2001:0:0:a 2001:db8:1:0 csum-mode neutral-map ident-type luid 2>&1)
wire=$(ila_wire)
if [ "$out" = added ] &&
	[ "$wire" = "loc_match 2001:0:0:a loc 2001:db8:1:0 ifindex 0 csum 1 ident 1" ] &&
	[ "$(ila_modes 'neutral-mapluid')" = 1 ]; then
	pass "xlat_add"
else
	fail "xlat_add" "$out / $wire"
fi
out=$("$KROUTE" xlat-add 2001:0:0:a 2001:db8:1:0 csum-mode neutral-map ident-type luid 2>&1)
if [ "$out" = present ] && [ "$(ila_count)" = 1 ] && [ "$(ila_wire)" = "$wire" ]; then
	pass "xlat_add_idempotent"
else
	fail "xlat_add_idempotent" "$out, $(ila_count) entries"
fi
# Same key as iproute2 encodes it: its own add of that key must collide.
if ip ila add loc_match 2001:0:0:a loc 2001:db8:7:0 2>/dev/null; then
	fail "xlat_key_as_iproute2" "ip ila add of the same loc_match did not collide"
else
	pass "xlat_key_as_iproute2"
fi
out=$("$KROUTE" xlat-add 2001:0:0:a 2001:db8:2:0 csum-mode no-action ident-type luid 2>&1)
wire=$(ila_wire)
if [ "$out" = replaced ] && [ "$(ila_count)" = 1 ] &&
	[ "$wire" = "loc_match 2001:0:0:a loc 2001:db8:2:0 ifindex 0 csum 2 ident 1" ]; then
	pass "xlat_add_differing_replaces"
else
	fail "xlat_add_differing_replaces" "$out / $wire"
fi
# An entry written by iproute2, read by kroute.
ip ila add loc_match 2001:0:0:c loc 2001:db8:1:0 dev v0 csum-mode neutral-map ident-type luid
list=$("$KROUTE" xlat-list 2>&1)
wire=$(ila_wire)
if echo "$list" | grep -qx \
	'loc_match 2001:0:0:a loc 2001:db8:2:0 dev - csum-mode no-action ident-type luid' &&
	echo "$list" | grep -qx \
	'loc_match 2001:0:0:c loc 2001:db8:1:0 dev v0 csum-mode neutral-map ident-type luid' &&
	[ "$(echo "$list" | wc -l)" = 2 ] &&
	[ "$wire" = "$(printf '%s\n' \
		'loc_match 2001:0:0:a loc 2001:db8:2:0 ifindex 0 csum 2 ident 1' \
		"loc_match 2001:0:0:c loc 2001:db8:1:0 ifindex $v0 csum 1 ident 1")" ]; then
	pass "xlat_dump"
else
	fail "xlat_dump" "$(echo "$list" | tr '\n' ' ')/ $(echo "$wire" | tr '\n' ' ')"
fi
out=$("$KROUTE" xlat-add 2001:0:0:c 2001:db8:1:0 dev v0 csum-mode neutral-map ident-type luid 2>&1)
if [ "$out" = present ]; then
	pass "xlat_present_when_iproute2_added_it"
else
	fail "xlat_present_when_iproute2_added_it" "$out"
fi
"$KROUTE" xlat-del 2001:0:0:a >/dev/null 2>&1
"$KROUTE" xlat-del 2001:0:0:c dev v0 >/dev/null 2>&1
if [ "$(ila_count)" = 0 ] && ! "$KROUTE" xlat-get 2001:0:0:a >/dev/null 2>&1 &&
	"$KROUTE" xlat-del 2001:0:0:a 2>/dev/null; then
	pass "xlat_del"
else
	fail "xlat_del" "$(ila_count) entries left"
fi

# 7. Deleting every route leaves none of ours.
sed 's/^replace /delete /' "$tmp/batch" >"$tmp/del"
if "$KROUTE" batch "$tmp/del" 2>"$tmp/err" && [ -z "$(ip -6 route show proto 73)" ]; then
	pass "delete_all"
else
	fail "delete_all" "$(head -n 3 "$tmp/err")"
fi

# 8. The unit test, whose ILA cases take their other branch on this kernel.
if [ -x "$BUILD/tests/unit/test_kernel" ]; then
	if CMOCKA_MESSAGE_OUTPUT=TAP "$BUILD/tests/unit/test_kernel" >"$tmp/tap" 2>&1; then
		pass "unit_test_kernel_with_ila ($(grep -c '^ok' "$tmp/tap") cases)"
	else
		fail "unit_test_kernel_with_ila" \
			"$(grep -A3 '^not ok' "$tmp/tap" | head -n 8 | tr '\n' ' ')"
	fi
else
	echo "INFO: $S: no tests/unit/test_kernel in $BUILD (make check builds it): skipped"
fi

exit $bad
