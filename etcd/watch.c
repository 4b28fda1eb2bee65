/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd client: watches (the stream, its messages, resuming after a loss, backoff). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ev.h>
#include <json-c/json.h>

#include "clock.h"
#include "etcd_int.h"
#include "log.h"

/* ------------------------------------------------------------------ */
/* watches */

void etcd_watch_free(struct etcd_watch *w)
{
	struct etcd *e = w->e;

	ev_timer_stop(e->loop, &w->timer);
	etcd_xfer_free(e, &w->x);
	if (w->prev)
		w->prev->next = w->next;
	else
		e->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w->key);
	free(w->range_end);
	free(w);
}

/* Around a call into the owner, who may cancel w meanwhile. */
static void etcd_watch_enter(struct etcd_watch *w)
{
	w->busy++;
	w->e->in_callback++;
}

/* false if w was canceled (and is freed unless an outer call still holds it) */
static bool etcd_watch_leave(struct etcd_watch *w)
{
	w->e->in_callback--;
	if (--w->busy == 0 && w->canceled) {
		etcd_watch_free(w);
		return false;
	}
	return !w->canceled;
}

static bool etcd_watch_tell(struct etcd_watch *w, enum etcd_watch_state state,
			    const struct etcd_error *err)
{
	etcd_watch_enter(w);
	w->on_state(w->arg, state, err);
	return etcd_watch_leave(w);
}

static void etcd_watch_arm(struct etcd_watch *w, unsigned ms)
{
	ev_timer_stop(w->e->loop, &w->timer);
	ev_timer_set(&w->timer, (double)ms / 1000.0, 0.);
	ev_timer_start(w->e->loop, &w->timer);
}

static int etcd_watch_open(struct etcd_watch *w)
{
	struct etcd *e = w->e;
	struct json_object *o = json_object_new_object(), *c = json_object_new_object();
	int64_t from = w->next_rev ? w->next_rev : w->start_revision;
	int rc;

	if (!o || !c || etcd_b64_add(c, "key", w->key, w->key_len) < 0 ||
	    (w->range_end && etcd_b64_add(c, "range_end", w->range_end, w->range_end_len) < 0) ||
	    (from && etcd_json_add_i64(c, "start_revision", from) < 0) ||
	    etcd_json_add_bool(c, "prev_kv", w->prev_kv) < 0 ||
	    etcd_json_add_bool(c, "progress_notify", w->progress_notify) < 0 ||
	    json_object_object_add(o, "create_request", c) != 0) {
		json_object_put(c);
		json_object_put(o);
		return -ENOMEM;
	}
	free(w->x.body);
	w->x.body = etcd_json_finish(o, &w->x.body_len); /* puts o, and c with it */
	if (!w->x.body)
		return -ENOMEM;
	w->partial = 0;
	w->queued = false;
	w->http_status = 0;
	rc = etcd_xfer_start(e, &w->x, e->cur, "/v3/watch", true);
	if (rc == 0) {
		e->ctr.watch_streams++;
		w->phase = ETCD_WATCH_CONNECTING;
		w->restart = false;
		etcd_watch_arm(w, e->request_timeout_ms);
	}
	return rc;
}

/* The stream broke (or must move): tell the owner once, reopen after a backoff. */
static bool etcd_watch_lost(struct etcd_watch *w, const struct etcd_error *err)
{
	struct etcd *e = w->e;
	unsigned delay = w->backoff_ms;

	etcd_xfer_stop(e, &w->x);
	ila_buf_reset(&w->x.resp);
	w->partial = 0;
	w->queued = false;
	w->phase = ETCD_WATCH_WAITING;
	e->ctr.watch_reconnects++;
	if (err->kind == ETCD_ERR_UNAVAILABLE || err->kind == ETCD_ERR_TIMEOUT ||
	    err->kind == ETCD_ERR_MALFORMED || err->kind == ETCD_ERR_TOO_BIG)
		etcd_endpoint_failed(e, w->x.ep, err->msg);
	log_notice("etcd %s: watch stream on %s lost (%s: %s); again from revision %" PRId64
		   " on %s in %u ms",
		   e->name, e->endpoints[w->x.ep], etcd_err_name(err->kind), err->msg,
		   w->next_rev, e->endpoints[e->cur], delay);
	/* backoff: at once, then doubling from ETCD_WATCH_RETRY_MIN_MS, with jitter */
	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : ETCD_WATCH_RETRY_MIN_MS;
	if (w->backoff_ms > e->watch_retry_max_ms)
		w->backoff_ms = e->watch_retry_max_ms;
	if (delay)
		delay = delay / 2 + ila_random_below(delay / 2 + 1);
	etcd_watch_arm(w, delay);
	if (!w->lost) {
		w->lost = true;
		return etcd_watch_tell(w, ETCD_WATCH_LOST, err);
	}
	return !w->canceled;
}

/* etcd ended the watch: compacted, or refused. */
static bool etcd_watch_over(struct etcd_watch *w, const struct etcd_watch_msg *m,
			    const struct etcd_error *why)
{
	struct etcd *e = w->e;
	struct etcd_error err;

	etcd_xfer_stop(e, &w->x);
	ev_timer_stop(e->loop, &w->timer);
	w->phase = ETCD_WATCH_OVER;
	if (m && m->compact_revision > 0) {
		log_notice("etcd %s: watch from revision %" PRId64 ": compacted up to %" PRId64,
			   e->name, w->next_rev ? w->next_rev : w->start_revision,
			   m->compact_revision);
		etcd_watch_enter(w);
		w->on_compacted(w->arg, m->compact_revision);
		return etcd_watch_leave(w);
	}
	if (why)
		err = *why;
	else
		etcd_set_err(&err, ETCD_ERR_ETCD, 0, "watch canceled by etcd: %s",
			     m && m->cancel_reason && *m->cancel_reason ? m->cancel_reason :
									 "no reason given");
	log_warn("etcd %s: watch ended: %s", e->name, err.msg);
	return etcd_watch_tell(w, ETCD_WATCH_FAILED, &err);
}

/*
 * Errors after which watching again cannot help: the request itself or the
 * client's rights. Anything else (unavailable, no leader, a member
 * stopping, an unreadable message) reconnects with backoff.
 */
static bool etcd_watch_error_permanent(const struct etcd_error *err)
{
	if (err->kind != ETCD_ERR_ETCD)
		return false;
	switch (err->code) {
	case GRPC_INVALID_ARGUMENT:
	case GRPC_NOT_FOUND:
	case GRPC_PERMISSION_DENIED:
	case GRPC_FAILED_PRECONDITION:
	case GRPC_UNIMPLEMENTED:
	case GRPC_UNAUTHENTICATED:
		return true;
	default:
		return false;
	}
}

/* One message of the stream; false if w is over, lost or canceled. */
static bool etcd_watch_msg(struct etcd_watch *w, const char *line, size_t len)
{
	struct etcd *e = w->e;
	struct etcd_watch_msg m;
	struct etcd_error err;
	enum etcd_err kind;
	size_t first = 0;
	bool alive = true;

	kind = etcd_parse_watch_msg(line, len, &m, &err);
	if (kind == ETCD_ERR_MALFORMED) {
		e->ctr.malformed++;
		log_warn("etcd %s: %s: malformed watch message: %s", e->name,
			 e->endpoints[w->x.ep], err.msg);
		etcd_watch_lost(w, &err);
		return false;
	}
	if (kind != ETCD_OK) {
		if (etcd_watch_error_permanent(&err))
			etcd_watch_over(w, NULL, &err);
		else
			etcd_watch_lost(w, &err);
		return false;
	}
	if (m.created) {
		bool first_time = !w->created_once, was_lost = w->lost;

		ev_timer_stop(e->loop, &w->timer);
		w->phase = ETCD_WATCH_RUNNING;
		w->backoff_ms = 0;
		if (first_time && w->next_rev == 0 && w->start_revision == 0)
			w->next_rev = m.header.revision + 1;
		w->created_once = true;
		w->lost = false;
		if (!m.canceled) {
			if (first_time) {
				memset(&err, 0, sizeof(err));
				alive = etcd_watch_tell(w, ETCD_WATCH_CREATED, &err);
			} else if (was_lost) {
				etcd_set_err(&err, ETCD_OK, 0, "from revision %" PRId64 " on %s",
					     w->next_rev, e->endpoints[w->x.ep]);
				log_notice("etcd %s: watch resumed from revision %" PRId64 " on %s",
					   e->name, w->next_rev, e->endpoints[w->x.ep]);
				alive = etcd_watch_tell(w, ETCD_WATCH_RESUMED, &err);
			}
		}
	}
	if (alive && m.canceled) {
		etcd_watch_over(w, &m, NULL);
		alive = false;
	}
	if (!alive)
		goto out;
	if (w->phase != ETCD_WATCH_RUNNING) {
		etcd_bad(&err, "a watch message before the watch was created");
		e->ctr.malformed++;
		etcd_watch_lost(w, &err);
		alive = false;
		goto out;
	}
	/* what a resumed stream sends again is dropped */
	while (first < m.n_events && m.events[first].kv.mod_revision <= w->last_rev)
		first++;
	if (first < m.n_events) {
		w->last_rev = m.events[m.n_events - 1].kv.mod_revision;
		if (w->next_rev < w->last_rev + 1)
			w->next_rev = w->last_rev + 1;
		e->ctr.watch_events += m.n_events - first;
		etcd_watch_enter(w);
		w->on_events(w->arg, m.header.revision, m.events + first, m.n_events - first);
		alive = etcd_watch_leave(w);
	} else if (m.n_events == 0 && !m.created && m.header.revision > 0) {
		/*
		 * A progress notification. Resume from its revision, not after it:
		 * etcd 3.4 may send one before the events of that revision (etcd
		 * issue 15220); anything sent twice is dropped above.
		 */
		if (w->next_rev < m.header.revision)
			w->next_rev = m.header.revision;
		etcd_watch_enter(w);
		w->on_events(w->arg, m.header.revision, NULL, 0);
		alive = etcd_watch_leave(w);
	}
out:
	etcd_watch_msg_clear(&m);
	return alive;
}

/* Every complete line received on w's stream. */
bool etcd_watch_drain(struct etcd_watch *w)
{
	struct ila_buf *b = &w->x.resp;
	size_t off = 0;
	bool alive = true;

	w->queued = false;
	if (w->http_status == 0)
		curl_easy_getinfo(w->x.easy, CURLINFO_RESPONSE_CODE, &w->http_status);
	if (w->http_status != 200)
		return true; /* an error body: read whole when the transfer ends */
	w->busy++;
	while (alive && off < b->len) {
		const char *nl = memchr(b->data + off, '\n', b->len - off);
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - (b->data + off));
		if (n > 0 && !(n == 1 && b->data[off] == '\r'))
			alive = etcd_watch_msg(w, b->data + off, n);
		off += n + 1;
	}
	/* the stream's buffer is reset when it was lost or ended */
	if (alive && w->phase != ETCD_WATCH_WAITING && w->phase != ETCD_WATCH_OVER)
		ila_buf_consume(b, off);
	w->busy--;
	if (w->busy == 0 && w->canceled) {
		etcd_watch_free(w);
		return false;
	}
	return alive && !w->canceled;
}

/* The stream's transfer ended (the caller removed it from the multi). */
void etcd_watch_done(struct etcd_watch *w, CURLcode cc)
{
	struct etcd *e = w->e;
	struct etcd_error err;
	long http = 0;

	w->x.in_multi = false;
	curl_easy_getinfo(w->x.easy, CURLINFO_RESPONSE_CODE, &http);
	w->http_status = http;
	if (http == 200 && !etcd_watch_drain(w))
		return;
	if (w->phase == ETCD_WATCH_WAITING || w->phase == ETCD_WATCH_OVER)
		return;
	/* the gateway writes its last message, an error, without a newline */
	if (http == 200 && cc == CURLE_OK && w->partial > 0 && w->partial == w->x.resp.len) {
		w->busy++;
		bool alive = etcd_watch_msg(w, w->x.resp.data, w->x.resp.len);

		w->busy--;
		if (w->busy == 0 && w->canceled) {
			etcd_watch_free(w);
			return;
		}
		if (!alive || w->phase == ETCD_WATCH_WAITING || w->phase == ETCD_WATCH_OVER)
			return;
	}
	if (w->x.too_big) {
		e->ctr.too_big++;
		etcd_set_err(&err, ETCD_ERR_TOO_BIG, 0, "a watch message larger than %zu bytes",
			     e->max_response);
	} else if (cc != CURLE_OK) {
		etcd_set_err(&err, cc == CURLE_OPERATION_TIMEDOUT ? ETCD_ERR_TIMEOUT :
								    ETCD_ERR_UNAVAILABLE,
			     0, "%s", w->x.errbuf[0] ? w->x.errbuf : curl_easy_strerror(cc));
	} else if (http != 200) {
		etcd_parse_error_body(w->x.resp.data ? w->x.resp.data : "", w->x.resp.len, http,
				      &err);
		if (etcd_watch_error_permanent(&err)) {
			etcd_watch_over(w, NULL, &err);
			return;
		}
	} else {
		etcd_set_err(&err, ETCD_ERR_UNAVAILABLE, 0, "the stream ended");
	}
	etcd_watch_lost(w, &err);
}

static void etcd_watch_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct etcd_watch *w = t->data;
	struct etcd *e = w->e;
	struct etcd_error err;
	int rc;

	switch (w->phase) {
	case ETCD_WATCH_WAITING:
		rc = etcd_watch_open(w);
		if (rc < 0) {
			etcd_set_err(&err, ETCD_ERR_UNAVAILABLE, 0, "cannot open a stream: %s",
				     strerror(-rc));
			etcd_watch_lost(w, &err);
		}
		break;
	case ETCD_WATCH_CONNECTING:
		etcd_set_err(&err, ETCD_ERR_TIMEOUT, 0, "%s: watch not created within %u ms",
			     e->endpoints[w->x.ep], e->request_timeout_ms);
		etcd_watch_lost(w, &err);
		break;
	case ETCD_WATCH_RUNNING:
		if (w->restart) {
			etcd_set_err(&err, ETCD_ERR_UNAVAILABLE, 0,
				     "%s failed for another request: moving",
				     e->endpoints[w->x.ep]);
			etcd_watch_lost(w, &err);
		}
		break;
	case ETCD_WATCH_OVER:
		break;
	}
}

/* Watches streaming from a failed endpoint move too (soon, from the loop). */
void etcd_watch_endpoint_failed(struct etcd *e, size_t ep)
{
	for (struct etcd_watch *w = e->watches; w; w = w->next) {
		if (w->phase == ETCD_WATCH_RUNNING && w->x.ep == ep && !w->restart) {
			w->restart = true;
			etcd_watch_arm(w, 0);
		}
	}
}

struct etcd_watch *etcd_watch(struct etcd *e, const struct etcd_watch_req *req, char *err,
			      size_t errlen)
{
	struct etcd_watch *w;

	if (!req || !etcd_key_ok(req->key, req->key_len) ||
	    !etcd_end_ok(req->range_end, req->range_end_len) || req->start_revision < 0 ||
	    !req->on_events || !req->on_compacted || !req->on_state) {
		snprintf(err, errlen, "watch: key, callbacks and a revision >= 0 are needed");
		return NULL;
	}
	if (e->closing) {
		snprintf(err, errlen, "watch: the client is closing");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto nomem;
	w->x.owner = ETCD_XFER_WATCH;
	w->x.rewind_ok = true;
	ila_buf_init(&w->x.resp);
	w->e = e;
	w->key = malloc(req->key_len);
	w->range_end = req->range_end ? malloc(req->range_end_len) : NULL;
	if (!w->key || (req->range_end && !w->range_end)) {
		free(w->key);
		free(w->range_end);
		free(w);
		goto nomem;
	}
	memcpy(w->key, req->key, req->key_len);
	w->key_len = req->key_len;
	if (req->range_end)
		memcpy(w->range_end, req->range_end, req->range_end_len);
	w->range_end_len = req->range_end_len;
	w->start_revision = req->start_revision;
	w->next_rev = req->start_revision;
	w->last_rev = req->start_revision > 0 ? req->start_revision - 1 : 0;
	w->prev_kv = req->prev_kv;
	w->progress_notify = req->progress_notify;
	w->on_events = req->on_events;
	w->on_compacted = req->on_compacted;
	w->on_state = req->on_state;
	w->arg = req->arg;
	w->phase = ETCD_WATCH_WAITING;
	ev_init(&w->timer, etcd_watch_timer_cb);
	w->timer.data = w;
	w->next = e->watches;
	if (e->watches)
		e->watches->prev = w;
	e->watches = w;
	/* opened from the loop, so that no callback runs inside this call */
	etcd_watch_arm(w, 0);
	return w;
nomem:
	snprintf(err, errlen, "watch: out of memory");
	return NULL;
}

void etcd_watch_cancel(struct etcd_watch *w)
{
	if (!w || w->canceled)
		return;
	w->canceled = true;
	etcd_xfer_stop(w->e, &w->x);
	ev_timer_stop(w->e->loop, &w->timer);
	if (w->busy == 0)
		etcd_watch_free(w);
}

int64_t etcd_watch_next_revision(const struct etcd_watch *w)
{
	return w->next_rev;
}
