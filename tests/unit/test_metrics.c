/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The exposition format of lib/metrics.c: families, labels, histograms. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "metrics.h"

static const char *render_rows(struct ila_buf *b)
{
	/* a family's rows apart in the table, as in show stats */
	const struct ila_stat_row rows[] = {
		{ "stale_seq", 3, "refused_total", "reason=\"stale_seq\"", "Refused, by reason." },
		{ "sessions_up", 2, "sessions", NULL, "Open now." },
		{ "hidden", 9, NULL, NULL, NULL },
		{ "frozen", 1, "refused_total", "reason=\"frozen\"", NULL },
	};

	ila_buf_init(b);
	ila_metrics_put_rows(b, "x_", rows, sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(b->error, 0);
	ila_buf_append(b, "", 1);
	return b->data;
}

static void test_rows_grouped_by_family(void **state)
{
	struct ila_buf b;

	(void)state;
	assert_string_equal(render_rows(&b),
			    "# HELP x_refused_total Refused, by reason.\n"
			    "# TYPE x_refused_total counter\n"
			    "x_refused_total{reason=\"stale_seq\"} 3\n"
			    "x_refused_total{reason=\"frozen\"} 1\n"
			    "# HELP x_sessions Open now.\n"
			    "# TYPE x_sessions gauge\n"
			    "x_sessions 2\n");
	ila_buf_free(&b);
}

static void test_histogram(void **state)
{
	static const double bounds[] = { 0.001, 0.01, 0.1 };
	struct ila_hist h;
	struct ila_buf b;

	(void)state;
	ila_hist_init(&h, bounds, 3);
	ila_hist_observe(&h, 0.0005);
	ila_hist_observe(&h, 0.001); /* on a bound: in that bucket (le) */
	ila_hist_observe(&h, 0.05);
	ila_hist_observe(&h, 2);
	ila_hist_observe(&h, -1); /* a clock step back counts as 0 */
	ila_buf_init(&b);
	ila_metrics_put_hist(&b, "x_", "lat_seconds", "Latency.", &h);
	ila_buf_append(&b, "", 1);
	assert_string_equal(b.data, "# HELP x_lat_seconds Latency.\n"
				    "# TYPE x_lat_seconds histogram\n"
				    "x_lat_seconds_bucket{le=\"0.001\"} 3\n"
				    "x_lat_seconds_bucket{le=\"0.01\"} 3\n"
				    "x_lat_seconds_bucket{le=\"0.1\"} 4\n"
				    "x_lat_seconds_bucket{le=\"+Inf\"} 5\n"
				    "x_lat_seconds_sum 2.0515\n"
				    "x_lat_seconds_count 5\n");
	ila_buf_free(&b);
}

static void test_latency_bounds_fit(void **state)
{
	(void)state;
	assert_true(ila_hist_latency_nbounds < ILA_HIST_MAX_BUCKETS);
	for (unsigned i = 1; i < ila_hist_latency_nbounds; i++)
		assert_true(ila_hist_latency_bounds[i] > ila_hist_latency_bounds[i - 1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_grouped_by_family),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_latency_bounds_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
