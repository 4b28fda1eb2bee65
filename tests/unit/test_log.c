/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging: levels, level names, and the rate limiter driven by a fake clock. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

uint64_t __wrap_ila_clock_mono_ms(void);

static uint64_t fake_now;

uint64_t __wrap_ila_clock_mono_ms(void)
{
	return fake_now;
}

struct capture {
	unsigned n;
	char last[2048];
	enum ila_log_level last_level;
	char all[64][128];
};

static void capture_cb(enum ila_log_level level, const char *msg, void *arg)
{
	struct capture *c = arg;

	if (c->n < 64)
		snprintf(c->all[c->n], sizeof(c->all[0]), "%s", msg);
	c->n++;
	c->last_level = level;
	snprintf(c->last, sizeof(c->last), "%s", msg);
}

static int setup(void **state)
{
	static struct capture cap;

	memset(&cap, 0, sizeof(cap));
	fake_now = 1000000;
	ila_log_init("test", ILA_LOG_TO_CALLBACK, ILA_LOG_INFO);
	ila_log_set_callback(capture_cb, &cap);
	ila_log_set_ratelimit(10000, 5);
	*state = &cap;
	return 0;
}

static void test_level_filter(void **state)
{
	struct capture *cap = *state;

	log_debug("hidden %d", 1);
	assert_int_equal(cap->n, 0);
	log_info("shown %d", 2);
	assert_int_equal(cap->n, 1);
	assert_string_equal(cap->last, "shown 2");
	assert_int_equal(cap->last_level, ILA_LOG_INFO);
	ila_log_set_level(ILA_LOG_DEBUG);
	log_debug("now shown");
	assert_int_equal(cap->n, 2);
	ila_log_set_level(ILA_LOG_ERR);
	log_warn("dropped");
	assert_int_equal(cap->n, 2);
	log_err("kept");
	assert_int_equal(cap->n, 3);
}

static void test_level_parse(void **state)
{
	enum ila_log_level l;

	(void)state;
	assert_int_equal(ila_log_level_parse("debug", &l), 0);
	assert_int_equal(l, ILA_LOG_DEBUG);
	assert_int_equal(ila_log_level_parse("WARNING", &l), 0);
	assert_int_equal(l, ILA_LOG_WARNING);
	assert_int_equal(ila_log_level_parse("verbose", &l), -EINVAL);
	assert_int_equal(ila_log_level_parse("", &l), -EINVAL);
	for (int i = ILA_LOG_ERR; i <= ILA_LOG_DEBUG; i++) {
		assert_int_equal(ila_log_level_parse(ila_log_level_name(i), &l), 0);
		assert_int_equal(l, i);
	}
	assert_string_equal(ila_log_level_name(99), "unknown");
}

static void test_ratelimit_burst(void **state)
{
	struct capture *cap = *state;
	uint64_t before = ila_log_suppressed();

	for (int i = 0; i < 20; i++)
		log_warn("neighbour %s flapping", "eth1");
	assert_int_equal(cap->n, 5);
	assert_int_equal(ila_log_suppressed() - before, 15);
}

static void test_ratelimit_summary_after_window(void **state)
{
	struct capture *cap = *state;

	for (int i = 0; i < 8; i++)
		log_warn("refused register from n7");
	assert_int_equal(cap->n, 5);
	fake_now += 10000;
	log_warn("refused register from n7");
	/* the summary of the 3 suppressed copies, then the message itself */
	assert_int_equal(cap->n, 7);
	assert_string_equal(cap->last, "refused register from n7");
}

static void test_ratelimit_summary_text(void **state)
{
	struct capture *cap = *state;

	for (int i = 0; i < 9; i++)
		log_warn("same");
	fake_now += 20000;
	log_err("same");
	assert_int_equal(cap->n, 5 + 2);
	assert_string_equal(cap->all[5], "last message repeated 4 more times (rate limited)");
	/* the summary keeps the level of the suppressed messages */
	assert_string_equal(cap->all[6], "same");
	assert_int_equal(cap->last_level, ILA_LOG_ERR);
}

static void test_ratelimit_distinct_messages(void **state)
{
	struct capture *cap = *state;

	for (int i = 0; i < 10; i++) {
		log_warn("a");
		log_warn("b");
	}
	assert_int_equal(cap->n, 10);
}

static void test_ratelimit_disabled(void **state)
{
	struct capture *cap = *state;

	ila_log_set_ratelimit(0, 0);
	for (int i = 0; i < 50; i++)
		log_info("flood");
	assert_int_equal(cap->n, 50);
}

/* A name from a certificate or the network cannot forge a log line or
 * send escape sequences to a terminal. */
static void test_control_bytes_filtered(void **state)
{
	struct capture *cap = *state;

	log_warn("node %s says %s", "evil\nilad: err: forged line", "\x1b[31mred\x7f\t");
	assert_int_equal(cap->n, 1);
	assert_string_equal(cap->last, "node evil?ilad: err: forged line says ?[31mred??");
	/* bytes above 0x7f (UTF-8) pass */
	log_warn("mapper-\xc3\xa9");
	assert_string_equal(cap->last, "mapper-\xc3\xa9");
}

static void test_long_message_truncated(void **state)
{
	struct capture *cap = *state;
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	assert_int_equal(cap->n, 1);
	assert_int_equal(strlen(cap->last), 1023);
}

static void test_eviction_flushes_summary(void **state)
{
	struct capture *cap = *state;
	char msg[32];

	ila_log_set_ratelimit(10000, 1);
	log_warn("victim");
	log_warn("victim"); /* suppressed */
	assert_int_equal(cap->n, 1);
	/* 16 other messages push "victim" out of the 16-slot table */
	for (int i = 0; i < 16; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		log_warn("%s", msg);
	}
	/* 16 messages plus the summary of the one suppressed "victim" */
	assert_int_equal(cap->n, 1 + 16 + 1);
	assert_string_equal(cap->all[16], "last message repeated 1 more times (rate limited)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_level_filter, setup),
		cmocka_unit_test_setup(test_level_parse, setup),
		cmocka_unit_test_setup(test_ratelimit_burst, setup),
		cmocka_unit_test_setup(test_ratelimit_summary_after_window, setup),
		cmocka_unit_test_setup(test_ratelimit_summary_text, setup),
		cmocka_unit_test_setup(test_ratelimit_distinct_messages, setup),
		cmocka_unit_test_setup(test_ratelimit_disabled, setup),
		cmocka_unit_test_setup(test_long_message_truncated, setup),
		cmocka_unit_test_setup(test_control_bytes_filtered, setup),
		cmocka_unit_test_setup(test_eviction_flushes_summary, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
