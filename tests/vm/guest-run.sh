#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the test VM (started by tests/vm/run): each suite named on the
# command line in turn, its output also kept in $ILA_VM_OUT/NAME.log. A suite
# prints "PASS: ..." / "FAIL: ..." lines; one that exits non-zero without a
# FAIL line, times out, or reports nothing at all gets a FAIL line here, so
# that nothing passes silently.
set -u
timeout_s=${ILA_VM_SUITE_TIMEOUT:-240}
bad=0
for s in "$@"; do
	name=$(basename "$s" .sh)
	log="$ILA_VM_OUT/$name.log"
	echo "== suite $name"
	t0=$(date +%s%3N)
	timeout -k 5 "$timeout_s" "$s" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	t1=$(date +%s%3N)
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "FAIL: $name: timed out after $timeout_s s"
	elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' "$log"; then
		echo "FAIL: $name: exited $rc without a FAIL line"
	elif ! grep -qE '^(PASS|FAIL): ' "$log"; then
		echo "FAIL: $name: reported no result"
		rc=1
	fi
	[ "$rc" -eq 0 ] || bad=1
	awk -v a="$t0" -v b="$t1" -v n="$name" \
		'BEGIN { printf "INFO: suite %s took %.1f s\n", n, (b - a) / 1000 }'
done
exit $bad
