/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Clock and randomness: the real implementations behave as promised. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "clock.h"

static void test_mono_never_goes_back(void **state)
{
	uint64_t prev = ila_clock_mono_ms();

	(void)state;
	for (int i = 0; i < 100000; i++) {
		uint64_t now = ila_clock_mono_ms();

		assert_true(now >= prev);
		prev = now;
	}
}

static void test_mono_advances(void **state)
{
	uint64_t a = ila_clock_mono_ms();
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 20 * 1000 * 1000 };

	(void)state;
	nanosleep(&ts, NULL);
	assert_true(ila_clock_mono_ms() - a >= 20);
}

static void test_wall_matches_time(void **state)
{
	uint64_t w = ila_clock_wall_s();
	uint64_t t = (uint64_t)time(NULL);

	(void)state;
	assert_true(w + 1 >= t && w <= t + 1);
}

static void test_random_bytes_fill(void **state)
{
	uint8_t a[64], b[64], zero[64] = { 0 };

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(ila_random_bytes(a, sizeof(a)), 0);
	assert_int_equal(ila_random_bytes(b, sizeof(b)), 0);
	/* 2^-512 chance of a false failure */
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_int_equal(ila_random_bytes(a, 0), 0);
}

static void test_random_below_bounds(void **state)
{
	unsigned hist[10] = { 0 };

	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ila_random_below(1), 0);
	for (int i = 0; i < 100000; i++) {
		uint32_t v = ila_random_below(10);

		assert_true(v < 10);
		hist[v]++;
	}
	/* each bucket expects 10000 (sd ~95): 9000..11000 is > 10 sd wide */
	for (int i = 0; i < 10; i++) {
		assert_true(hist[i] > 9000);
		assert_true(hist[i] < 11000);
	}
}

static void test_random_u32_spreads_bits(void **state)
{
	uint32_t or = 0, and = 0xffffffffu;

	(void)state;
	for (int i = 0; i < 256; i++) {
		uint32_t v = ila_random_u32();

		or |= v;
		and &= v;
	}
	assert_int_equal(or, 0xffffffffu);
	assert_int_equal(and, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mono_never_goes_back),
		cmocka_unit_test(test_mono_advances),
		cmocka_unit_test(test_wall_matches_time),
		cmocka_unit_test(test_random_bytes_fill),
		cmocka_unit_test(test_random_below_bounds),
		cmocka_unit_test(test_random_u32_spreads_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
