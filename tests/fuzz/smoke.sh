#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs one libFuzzer target for a bounded time on its corpus (make fuzz-smoke).
# Usage: smoke.sh TARGET SECONDS SRCDIR, from the build directory.
set -u
t=$1 seconds=$2 srcdir=$3
rm -rf "fuzz-work/$t"
mkdir -p "fuzz-work/$t"
echo "fuzz-smoke: $t for $seconds s"
if ! "./tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="fuzz-work/$t-" \
	"fuzz-work/$t" "$srcdir/tests/fuzz/corpus/$t" 2>"fuzz-work/$t.log"; then
	tail -n 40 "fuzz-work/$t.log"
	echo "fuzz-smoke: $t FAILED"
	exit 1
fi
echo "fuzz-smoke: $t $(grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "fuzz-work/$t.log" | tail -n 1)"
echo "fuzz-smoke: $t ok"
