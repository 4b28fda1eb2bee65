/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-mapper's Prometheus metrics (metrics listen): the rows of show stats
 * (show.c), the state of the store, and the push latency histogram.
 */
#include "config.h"

#include "clock.h"
#include "mapper.h"
#include "metrics.h"

#define PREFIX "ila_mapper_"

static void render(void *arg, struct ila_buf *out)
{
	struct mapper *m = arg;
	struct ila_stat_row rows[SHOW_STATS_ROWS];
	size_t n = show_stats_rows(m, rows);
	struct store_stats ss;

	ila_metrics_put_rows(out, PREFIX, rows, n);
	ila_buf_printf(out, "# HELP " PREFIX "malformed_frames_by_kind_total "
			    "Frames from nodes that did not decode, by what was wrong.\n"
			    "# TYPE " PREFIX "malformed_frames_by_kind_total counter\n");
	for (int c = ILA_PERR_SHORT_HEADER; c <= ILA_PERR_RECORD_MALFORMED; c++)
		ila_buf_printf(out, PREFIX "malformed_frames_by_kind_total{kind=\"%s\"} %llu\n",
			       ila_proto_err_name(c),
			       (unsigned long long)m->stats.malformed_by_code[c - ILA_PERR_SHORT_HEADER]);
	store_stats(&m->store, &ss);
	ila_metrics_put_one(out, PREFIX, "store_mappings", "gauge",
			    "Mappings in the store.", ss.mappings);
	ila_metrics_put_one(out, PREFIX, "store_tombstones", "gauge",
			    "Removed mappings still remembered.", ss.tombstones);
	ila_metrics_put_one(out, PREFIX, "store_journal_entries", "gauge",
			    "Entries in the journal.", ss.journal);
	ila_metrics_put_one(out, PREFIX, "store_used_bytes", "gauge",
			    "Bytes of the store's map in use.", ss.used);
	ila_metrics_put_one(out, PREFIX, "journal_position", "gauge",
			    "Last journal position committed.", m->store.committed_jseq);
	ila_metrics_put_one(out, PREFIX, "uptime_seconds", "gauge", "Seconds since start.",
			    (mapper_now_ms() - m->started) / 1000);
	ila_metrics_put_hist(out, PREFIX, "push_latency_seconds",
			     "From the store commit of a change to the PUSH frame carrying it "
			     "queued for a subscriber.",
			     &m->push_latency);
	ila_metrics_put_one(out, PREFIX, "metrics_scrapes_total", "counter",
			    "Scrapes of this endpoint answered.",
			    ila_metrics_server_stats(m->metrics)->scrapes);
	ila_metrics_put_one(out, PREFIX, "metrics_requests_refused_total", "counter",
			    "HTTP requests to this endpoint answered 404 or 405.",
			    ila_metrics_server_stats(m->metrics)->refused);
}

int metrics_open(struct mapper *m, char *err, size_t errlen)
{
	if (!m->conf->metrics)
		return 0;
	return ila_metrics_server_open(&m->metrics, m->loop, &m->conf->metrics_listen, render, m,
				       err, errlen);
}

void metrics_close(struct mapper *m)
{
	ila_metrics_server_close(m->metrics);
	m->metrics = NULL;
}
