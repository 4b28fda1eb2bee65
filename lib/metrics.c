/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Prometheus' text exposition format 0.0.4 of stat rows and histograms. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

const double ila_hist_latency_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05,	0.1,	 0.25,	 0.5,	1,	2.5,   10,
};
const unsigned ila_hist_latency_nbounds = ILA_ARRAY_SIZE(ila_hist_latency_bounds);

static void put_header(struct ila_buf *out, const char *prefix, const char *name,
		       const char *type, const char *help)
{
	ila_buf_printf(out, "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix, name, help ? help : name,
		       prefix, name, type);
}

static bool is_counter(const char *metric)
{
	size_t n = strlen(metric);

	return n > 6 && strcmp(metric + n - 6, "_total") == 0;
}

void ila_metrics_put_rows(struct ila_buf *out, const char *prefix,
			  const struct ila_stat_row *rows, size_t n)
{
	/* a family's rows need not be adjacent in the table: each family is
	 * written whole where its first row stands (tables are short) */
	for (size_t i = 0; i < n; i++) {
		const char *help = NULL;
		bool done = false;

		if (!rows[i].metric)
			continue;
		for (size_t j = 0; j < i && !done; j++)
			done = rows[j].metric && strcmp(rows[j].metric, rows[i].metric) == 0;
		if (done)
			continue;
		for (size_t j = i; j < n && !help; j++)
			if (rows[j].metric && strcmp(rows[j].metric, rows[i].metric) == 0)
				help = rows[j].help;
		put_header(out, prefix, rows[i].metric,
			   is_counter(rows[i].metric) ? "counter" : "gauge", help);
		for (size_t j = i; j < n; j++) {
			if (!rows[j].metric || strcmp(rows[j].metric, rows[i].metric) != 0)
				continue;
			ila_buf_printf(out, "%s%s%s%s%s %llu\n", prefix, rows[j].metric,
				       rows[j].label ? "{" : "", rows[j].label ? rows[j].label : "",
				       rows[j].label ? "}" : "", (unsigned long long)rows[j].v);
		}
	}
}

void ila_metrics_put_one(struct ila_buf *out, const char *prefix, const char *name,
			 const char *type, const char *help, uint64_t v)
{
	put_header(out, prefix, name, type, help);
	ila_buf_printf(out, "%s%s %llu\n", prefix, name, (unsigned long long)v);
}

void ila_hist_init(struct ila_hist *h, const double *bounds, unsigned nbounds)
{
	memset(h, 0, sizeof(*h));
	if (nbounds > ILA_HIST_MAX_BUCKETS - 1)
		nbounds = ILA_HIST_MAX_BUCKETS - 1;
	h->bounds = bounds;
	h->nbounds = nbounds;
}

void ila_hist_observe(struct ila_hist *h, double seconds)
{
	unsigned i = 0;

	if (seconds < 0)
		seconds = 0;
	while (i < h->nbounds && seconds > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += seconds;
}

void ila_metrics_put_hist(struct ila_buf *out, const char *prefix, const char *name,
			  const char *help, const struct ila_hist *h)
{
	uint64_t cum = 0;

	put_header(out, prefix, name, "histogram", help);
	for (unsigned i = 0; i < h->nbounds; i++) {
		cum += h->counts[i];
		ila_buf_printf(out, "%s%s_bucket{le=\"%g\"} %llu\n", prefix, name, h->bounds[i],
			       (unsigned long long)cum);
	}
	ila_buf_printf(out, "%s%s_bucket{le=\"+Inf\"} %llu\n%s%s_sum %.9g\n%s%s_count %llu\n",
		       prefix, name, (unsigned long long)h->count, prefix, name, h->sum, prefix,
		       name, (unsigned long long)h->count);
}
