/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prometheus metrics of both daemons: the text exposition format 0.0.4 of
 * the counters that `show stats` prints (one table feeds both), histograms
 * kept in fixed bucket arrays, and the read-only HTTP endpoint that serves
 * them (libmicrohttpd driven by the daemon's libev loop, metrics_server.c).
 */
#ifndef ILA_METRICS_H
#define ILA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct ev_loop;
struct ila_conf_endpoint;

/*
 * A row of `show stats`, and what Prometheus calls it: metric is the family
 * without the daemon's prefix ("registrations_refused_total"; NULL: not
 * exported), label the row's label pair or NULL (reason="stale_seq"), help
 * the family's HELP text, given on one of its rows. A family whose name ends
 * in _total is a counter, any other a gauge.
 */
struct ila_stat_row {
	const char *name;
	uint64_t v;
	const char *metric;
	const char *label;
	const char *help;
};

/* Writes every exported row, grouped by family, each family with its HELP
 * and TYPE lines. prefix: "ila_mapper_" or "ilad_". */
void ila_metrics_put_rows(struct ila_buf *out, const char *prefix,
			  const struct ila_stat_row *rows, size_t n);
/* One family of one sample, with HELP and TYPE ("counter" or "gauge"). */
void ila_metrics_put_one(struct ila_buf *out, const char *prefix, const char *name,
			 const char *type, const char *help, uint64_t v);

#define ILA_HIST_MAX_BUCKETS 16

/* A histogram of seconds: counts[i] holds the observations at most
 * bounds[i] (not cumulative), counts[nbounds] those above every bound. */
struct ila_hist {
	const double *bounds; /* ascending, at most ILA_HIST_MAX_BUCKETS - 1 */
	unsigned nbounds;
	uint64_t counts[ILA_HIST_MAX_BUCKETS];
	uint64_t count;
	double sum;
};

/* Latencies of the control plane: 100 us to 10 s. */
extern const double ila_hist_latency_bounds[];
extern const unsigned ila_hist_latency_nbounds;

void ila_hist_init(struct ila_hist *h, const double *bounds, unsigned nbounds);
void ila_hist_observe(struct ila_hist *h, double seconds);
/* The family NAME_bucket{le=...}, NAME_sum, NAME_count. */
void ila_metrics_put_hist(struct ila_buf *out, const char *prefix, const char *name,
			  const char *help, const struct ila_hist *h);

/*
 * The HTTP endpoint: GET /metrics answers what render writes into out (a
 * fresh buffer each time); any other path is 404, any other method 405. The
 * listening socket is bound by ila_metrics_server_open(), so call it before
 * privileges are dropped.
 */
#define ILA_METRICS_MAX_CONNECTIONS 16
#define ILA_METRICS_CONNECTION_MEMORY (32 * 1024) /* per connection, request and headers */
#define ILA_METRICS_TIMEOUT_S 10		   /* an idle or slow connection is closed */

struct ila_metrics_server;
typedef void (*ila_metrics_render_fn)(void *arg, struct ila_buf *out);

int ila_metrics_server_open(struct ila_metrics_server **out, struct ev_loop *loop,
			    const struct ila_conf_endpoint *ep, ila_metrics_render_fn render,
			    void *arg, char *err, size_t errlen);
void ila_metrics_server_close(struct ila_metrics_server *s);

/* Scrapes answered and requests refused (404, 405), for the metrics themselves. */
struct ila_metrics_server_stats {
	uint64_t scrapes;
	uint64_t refused;
};
const struct ila_metrics_server_stats *ila_metrics_server_stats(const struct ila_metrics_server *s);

#endif
