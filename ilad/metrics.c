/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad's Prometheus metrics (metrics listen): the rows of show stats
 * and of the BPF data path (show_stats.c), the mapper session's state, and
 * the move convergence histogram.
 */
#include "config.h"

#include "ilad.h"
#include "metrics.h"

#define PREFIX "ilad_"

static void render(void *arg, struct ila_buf *out)
{
	struct ilad *d = arg;
	struct ila_stat_row rows[SHOW_STATS_ROWS];
	struct ila_stat_row brows[SHOW_BPF_ROWS];
	size_t n = show_stats_rows(d, rows);
	size_t nb = show_bpf_rows(d, brows);
	unsigned synced = 0;

	ila_metrics_put_rows(out, PREFIX, rows, n);
	ila_metrics_put_rows(out, PREFIX, brows, nb);
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		synced += d->sync[i].synced;
	ila_metrics_put_one(out, PREFIX, "mapper_up", "gauge",
			    "1 while a session with a mapper is up.", mc_up(d) ? 1 : 0);
	ila_metrics_put_one(out, PREFIX, "vns_synced", "gauge",
			    "Virtual networks whose cache is in sync with the mapper.", synced);
	ila_metrics_put_hist(out, PREFIX, "move_convergence_seconds",
			     "From a PUSH with changes read from the mapper to the data path "
			     "written for it (in mode control-plane: the cache updated).",
			     &d->convergence);
	ila_metrics_put_one(out, PREFIX, "metrics_scrapes_total", "counter",
			    "Scrapes of this endpoint answered.",
			    ila_metrics_server_stats(d->metrics)->scrapes);
	ila_metrics_put_one(out, PREFIX, "metrics_requests_refused_total", "counter",
			    "HTTP requests to this endpoint answered 404 or 405.",
			    ila_metrics_server_stats(d->metrics)->refused);
}

int metrics_open(struct ilad *d, char *err, size_t errlen)
{
	if (!d->conf->metrics)
		return 0;
	return ila_metrics_server_open(&d->metrics, d->loop, &d->conf->metrics_listen, render, d,
				       err, errlen);
}

void metrics_close(struct ilad *d)
{
	ila_metrics_server_close(d->metrics);
	d->metrics = NULL;
}
