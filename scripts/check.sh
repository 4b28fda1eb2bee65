#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite, from a clean checkout on a fresh Debian 12 machine:
# dependencies, build, unit tests, every integration suite that exists, the
# unit tests and the etcd client's tests again under ASan+UBSan, the fuzz
# smoke, the man-page lint and make distcheck. Exits non-zero on any failure; the last line reads
# "N passed, M failed".
#
# Environment: BUILD_DIR (default ./build), FUZZ_SECONDS (default 30),
# CHECK_SKIP (space-separated step names to skip: integration vm frr
# conformance etcd sanitizers fuzz distcheck manlint callgraph spdx lines; etcd
# also skips the etcd client's tests under the sanitizers).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
fuzz_seconds=${FUZZ_SECONDS:-30}
skip=" ${CHECK_SKIP:-} "
jobs=$(nproc 2>/dev/null || echo 2)

passed=0
failed=0
failures=""

say() { printf '\n==> %s\n' "$*"; }
pass() { passed=$((passed + ${2:-1})); printf 'PASS: %s\n' "$1"; }
fail() {
	failed=$((failed + ${2:-1}))
	failures="$failures
  $1"
	printf 'FAIL: %s\n' "$1"
}
skipped() { case "$skip" in *" $1 "*) echo "(skipped: $1)"; return 0 ;; esac; return 1; }

finish() {
	if [ -n "$failures" ]; then
		printf '\nFailures:%s\n' "$failures"
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

# Adds the counts of an automake test-suite.log summary ("# PASS: N" ...).
count_suite() { # name logdir
	sum="$2/test-suite.log"
	if [ ! -f "$sum" ]; then
		fail "$1: no test-suite.log"
		return
	fi
	p=$(sed -n 's/^# PASS: *//p' "$sum" | head -n 1)
	f=$(sed -n 's/^# FAIL: *//p' "$sum" | head -n 1)
	e=$(sed -n 's/^# ERROR: *//p' "$sum" | head -n 1)
	x=$(sed -n 's/^# XPASS: *//p' "$sum" | head -n 1)
	p=${p:-0}; f=${f:-0}; e=${e:-0}; x=${x:-0}
	passed=$((passed + p))
	bad=$((f + e + x))
	if [ "$bad" -gt 0 ]; then
		failed=$((failed + bad))
		failures="$failures
  $1: $bad unit test(s), see $sum"
		grep -E '^(FAIL|ERROR|XPASS)' "$sum" | head -n 20
	fi
	echo "$1: $p passed, $bad failed"
}

# Runs an integration suite; a suite that ends with "N passed, M failed"
# contributes its counts, otherwise its exit status counts as one test.
run_suite() { # name path [args]
	log="$build/$(printf '%s' "$1" | tr '/' '-').log"
	name=$1 path=$2
	shift 2
	"$path" "$@" >"$log" 2>&1
	rc=$?
	set -- "$name"
	cat "$log" | tail -n 40
	last=$(tail -n 1 "$log")
	p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
	if [ -n "$p" ]; then
		passed=$((passed + p))
		if [ "$f" -gt 0 ] || [ $rc -ne 0 ]; then
			[ "$f" -gt 0 ] || f=1
			fail "$1 (see $log)" "$f"
			# The failing checks themselves, wherever they are in the log.
			failing=$(grep -E '^(FAIL|ERROR)[: ]' "$log" | head -n 20)
			printf '%s\n' "$failing" | sed 's/^/    /'
			failures="$failures
$(printf '%s\n' "$failing" | head -n 5 | cut -c1-300 | sed 's/^/    /')"
		fi
	elif [ $rc -eq 0 ]; then
		pass "$1"
	else
		fail "$1 (exit $rc, see $log)"
	fi
}

say "dependencies"
if ! "$top/scripts/deps.sh"; then
	fail "scripts/deps.sh"
	finish
fi

say "build"
mkdir -p "$build"
# The FRR 10 chroot of tests/frr (debootstrap, about 2 min on a fresh
# machine) is built meanwhile, in the background; tests/frr/run waits for it
# on the chroot's lock, and reports a build that failed.
if ! skipped frr && [ -x "$top/tests/frr/trixie-root.sh" ] && [ "$(id -u)" -eq 0 ]; then
	nice "$top/tests/frr/trixie-root.sh" >"$build/frr10-root.log" 2>&1 &
fi
if ! (cd "$top" && autoreconf -fi >"$build/autoreconf.log" 2>&1); then
	cat "$build/autoreconf.log"
	fail "autoreconf"
	finish
fi
mkdir -p "$build/main"
if ! (cd "$build/main" && "$top/configure" -q >/dev/null &&
	make -j"$jobs" >"$build/make.log" 2>&1); then
	tail -n 50 "$build/make.log"
	fail "build"
	finish
fi
pass "build"

say "unit tests (make check)"
(cd "$build/main" && make -j"$jobs" check >"$build/check.log" 2>&1)
count_suite "make check" "$build/main"

for suite in integration conformance etcd vm frr; do
	if [ -x "$top/tests/$suite/run" ]; then
		say "tests/$suite"
		skipped "$suite" || ILA_BUILD="$build/main" run_suite "tests/$suite" "$top/tests/$suite/run"
	fi
done

say "unit tests under ASan and UBSan"
if ! skipped sanitizers; then
	mkdir -p "$build/san"
	if (cd "$build/san" && "$top/configure" -q --enable-sanitizers >/dev/null &&
		make -j"$jobs" >"$build/san-make.log" 2>&1); then
		(cd "$build/san" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			make -j"$jobs" check >"$build/san-check.log" 2>&1)
		count_suite "sanitizers" "$build/san"
		# the etcd client against real members (tests/etcd), its build with ASan
		if ! skipped etcd; then
			say "tests/etcd under ASan and UBSan"
			ILA_BUILD="$build/san" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
				UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
				run_suite "tests/etcd-sanitizers" "$top/tests/etcd/run" single tls cluster
		fi
	else
		tail -n 50 "$build/san-make.log"
		fail "sanitizer build"
	fi
fi

say "fuzz smoke (${fuzz_seconds} s per target, $jobs at a time)"
if ! skipped fuzz; then
	if command -v clang >/dev/null 2>&1; then
		mkdir -p "$build/fuzz"
		if (cd "$build/fuzz" && CC=clang "$top/configure" -q --enable-fuzzing >/dev/null &&
			make -j"$jobs" >"$build/fuzz-make.log" 2>&1); then
			if (cd "$build/fuzz" && make -j"$jobs" fuzz-smoke FUZZ_SECONDS="$fuzz_seconds" \
				>"$build/fuzz.log" 2>&1); then
				grep '^fuzz-smoke' "$build/fuzz.log"
				pass "fuzz smoke" "$(grep -c '^fuzz-smoke: .* ok$' "$build/fuzz.log")"
			else
				tail -n 60 "$build/fuzz.log"
				fail "fuzz smoke (see $build/fuzz.log)"
			fi
		else
			tail -n 50 "$build/fuzz-make.log"
			fail "fuzz build"
		fi
	else
		echo "clang not found: fuzz smoke skipped"
	fi
fi

say "man pages lint"
if ! skipped manlint; then
	if "$top/scripts/manlint.sh" "$top"/man/*.[0-9]; then
		pass "man lint"
	else
		fail "man lint"
	fi
fi

say "license: an SPDX line in every source file"
if ! skipped spdx; then
	if "$top/scripts/spdx.sh"; then
		pass "SPDX lines"
	else
		fail "source files without an SPDX line"
	fi
fi

say "file length: no source file of the daemons over 1,000 lines"
if ! skipped lines; then
	if "$top/scripts/lines.sh" 1000; then
		pass "file length"
	else
		fail "source files over 1,000 lines"
	fi
fi

say "call graph: within a daemon, no two files call each other"
if ! skipped callgraph; then
	if "$top/scripts/callgraph.sh" "$top/ilad" "$top/ila-mapper" >"$build/callgraph.txt"; then
		pass "call graph of ilad/ and ila-mapper/ (see $build/callgraph.txt)"
	else
		grep CIRCLE "$build/callgraph.txt"
		fail "call graph: files that call each other"
	fi
fi

say "make distcheck"
if ! skipped distcheck; then
	if (cd "$build/main" && make -j"$jobs" distcheck >"$build/distcheck.log" 2>&1); then
		pass "make distcheck"
	else
		tail -n 60 "$build/distcheck.log"
		fail "make distcheck (see $build/distcheck.log)"
	fi
fi

finish
