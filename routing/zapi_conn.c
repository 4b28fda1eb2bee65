/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The zebra connection's base: last error, timer, drop and backoff, the output queue and its messages. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/linkhash.h>

#include "clock.h"
#include "zapi_client_priv.h"

#define ZAPI_OUT_LIMIT (64u * 1024 * 1024) /* zebra not reading at all */
#define ZAPI_OUT_KEEP (1024u * 1024)

/* ---- connection ---- */

void zconn_set_err(struct zapi *z, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(z->last_err, sizeof(z->last_err), fmt, ap);
	va_end(ap);
}

void zconn_schedule(struct zapi *z, double after_s)
{
	ev_timer_stop(z->loop, &z->tm);
	ev_timer_set(&z->tm, after_s, 0.);
	ev_timer_start(z->loop, &z->tm);
}

/* Drops the connection (if any) and schedules the next attempt. */
void zconn_drop(struct zapi *z)
{
	bool was_up = z->state == ZS_UP;
	struct lh_entry *le;
	double delay;

	if (z->fd >= 0) {
		ev_io_stop(z->loop, &z->rio);
		ev_io_stop(z->loop, &z->wio);
		close(z->fd);
		z->fd = -1;
		z->st.disconnects++;
	}
	z->gen++;
	z->state = ZS_IDLE;
	z->reconciling = false;
	z->complete_due = false;
	z->st.up = false;
	z->out_head = z->out_len = 0;
	if (z->out_cap > ZAPI_OUT_KEEP) { /* a big replay's buffer is not kept */
		free(z->out);
		z->out = NULL;
		z->out_cap = 0;
	}
	z->in_len = 0;
	lh_foreach(z->routes, le) {
		struct zentry *e = lh_entry_v(le);

		e->st = ZR_PENDING; /* dropped with the session, or kept stale (GR) */
	}
	/* Backoff with +-25% jitter, so that many nodes do not reconnect to
	 * a restarted zebra in step. */
	delay = z->backoff_ms * (0.75 + ila_random_below(501) / 1000.0) / 1000.0;
	z->backoff_ms = z->backoff_ms * 2 > ZAPI_BACKOFF_MAX_MS ? ZAPI_BACKOFF_MAX_MS
								  : z->backoff_ms * 2;
	zconn_schedule(z, delay);
	if (was_up && z->cb)
		z->cb(z->arg, ZAPI_EV_DOWN);
}

static int out_reserve(struct zapi *z, size_t n)
{
	uint8_t *p;
	size_t cap;

	if (z->out_head && z->out_head == z->out_len)
		z->out_head = z->out_len = 0;
	if (z->out_len + n <= z->out_cap)
		return 0;
	if (z->out_head > z->out_len / 2) { /* compact rather than grow */
		memmove(z->out, z->out + z->out_head, z->out_len - z->out_head);
		z->out_len -= z->out_head;
		z->out_head = 0;
		if (z->out_len + n <= z->out_cap)
			return 0;
	}
	if (z->out_len + n > ZAPI_OUT_LIMIT)
		return -ENOBUFS;
	cap = z->out_cap ? z->out_cap : 4096;
	while (cap < z->out_len + n)
		cap *= 2;
	p = realloc(z->out, cap);
	if (!p)
		return -ENOMEM;
	z->out = p;
	z->out_cap = cap;
	return 0;
}

/* Queues one encoded message (len < 0: an encoder's error). */
int zconn_queue(struct zapi *z, const uint8_t *msg, ssize_t len)
{
	int rc;

	if (len < 0)
		return (int)len;
	if (z->fd < 0)
		return 0;
	rc = out_reserve(z, (size_t)len);
	if (rc < 0) {
		z->st.errors++;
		zconn_set_err(z, "output queue: %s", strerror(-rc));
		zconn_drop(z);
		return rc;
	}
	memcpy(z->out + z->out_len, msg, (size_t)len);
	z->out_len += (size_t)len;
	z->st.sent++;
	if (!ev_is_active(&z->wio))
		ev_io_start(z->loop, &z->wio);
	return 0;
}

int zconn_queue_route(struct zapi *z, bool add, const struct zroute *r)
{
	uint8_t m[ZAPI_ROUTE_MSG_MAX];
	struct zroute t = *r;

	t.tag = z->tag;
	return zconn_queue(z, m, zapi_encode_route(m, sizeof(m), z->profile, add, z->type,
						   z->instance, &t));
}

int zconn_queue_hello(struct zapi *z, int version)
{
	uint8_t m[32];
	int t = zapi_route_type(version, z->rtype_name, z->rtype_num);

	if (t < 0) {
		z->st.errors++;
		zconn_set_err(z, "route type %u is not a dynamic type in FRR %s", z->rtype_num,
			zapi_profile_name(version));
		zconn_drop(z);
		return t;
	}
	z->type = (uint8_t)t;
	return zconn_queue(z, m, zapi_encode_hello(m, sizeof(m), version, z->type, z->instance));
}

int zconn_queue_probe(struct zapi *z)
{
	uint8_t m[ZAPI_HEADER_SIZE];

	z->probe_sent = true;
	return zconn_queue(z, m, zapi_encode_probe(m, sizeof(m)));
}

int zconn_queue_cap(struct zapi *z, enum zapi_client_cap what, uint32_t arg)
{
	uint8_t m[ZAPI_HEADER_SIZE + 16];

	return zconn_queue(z, m, zapi_encode_client_cap(m, sizeof(m), z->profile, what, arg));
}

/* GR: update-complete, once zebra answered every route of the replay (or
 * the wait ran out, force). */
void zconn_maybe_complete(struct zapi *z, bool force)
{
	struct lh_entry *le;

	if (!z->complete_due || z->reconciling)
		return;
	if (!force) {
		lh_foreach(z->routes, le) {
			if (((struct zentry *)lh_entry_v(le))->st == ZR_PENDING)
				return;
		}
	}
	z->complete_due = false;
	ev_timer_stop(z->loop, &z->tm);
	if (zconn_queue_cap(z, ZAPI_CAP_UPDATE_COMPLETE, ZAPI_AFI_IP) == 0 &&
	    zconn_queue_cap(z, ZAPI_CAP_UPDATE_COMPLETE, ZAPI_AFI_IP6) == 0)
		z->st.update_complete++;
}

int zconn_queue_redist(struct zapi *z, bool add, uint8_t afi)
{
	uint8_t m[16];

	return zconn_queue(z, m, zapi_encode_redistribute(m, sizeof(m), z->profile, add, afi,
							  z->type, z->instance));
}
