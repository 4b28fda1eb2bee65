/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd client: the client, its transfers and endpoints, over libcurl's multi interface on libev. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <sodium.h>

#include "etcd_int.h"
#include "log.h"

/* ------------------------------------------------------------------ */
/* curl on libev (the multi_socket pattern of curl's evhiperfifo.c) */

static void etcd_after_action(struct etcd *e);

static void etcd_sock_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct etcd_sock *sk = io->data;
	struct etcd *e = sk->e;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	/* sk may be freed inside (CURL_POLL_REMOVE): not used after this */
	curl_multi_socket_action(e->multi, sk->fd, action, &running);
	etcd_after_action(e);
}

static void etcd_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct etcd *e = t->data;
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	etcd_after_action(e);
}

static int etcd_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct etcd *e = userp;
	struct etcd_sock *sk = sockp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			ev_io_stop(e->loop, &sk->io);
			if (sk->prev)
				sk->prev->next = sk->next;
			else
				e->socks = sk->next;
			if (sk->next)
				sk->next->prev = sk->prev;
			free(sk);
			curl_multi_assign(e->multi, fd, NULL);
		}
		return 0;
	}
	if (!sk) {
		sk = calloc(1, sizeof(*sk));
		if (!sk)
			return -1;
		sk->e = e;
		sk->fd = fd;
		sk->next = e->socks;
		if (e->socks)
			e->socks->prev = sk;
		e->socks = sk;
		ev_init(&sk->io, etcd_sock_cb);
		sk->io.data = sk;
		curl_multi_assign(e->multi, fd, sk);
	} else {
		ev_io_stop(e->loop, &sk->io);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_set(&sk->io, fd, events);
	ev_io_start(e->loop, &sk->io);
	return 0;
}

static int etcd_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct etcd *e = userp;

	ev_timer_stop(e->loop, &e->curl_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&e->curl_timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(e->loop, &e->curl_timer);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* transfers */

static size_t etcd_xfer_read(char *buf, size_t size, size_t nitems, void *userp)
{
	struct etcd_xfer *x = userp;
	size_t room = size * nitems, n = x->body_len - x->body_off;

	if (n > room)
		n = room;
	if (n > 0) {
		memcpy(buf, x->body + x->body_off, n);
		x->body_off += n;
		x->maybe_sent = true;
	}
	return n;
}

/*
 * curl rewinds the body only to send it again: after a redirect (not
 * followed here) or when a kept-alive connection died before any answer.
 * A request that must not be applied twice refuses, and ends in
 * CURLE_SEND_FAIL_REWIND.
 */
static int etcd_xfer_seek(void *userp, curl_off_t offset, int origin)
{
	struct etcd_xfer *x = userp;

	if (!x->rewind_ok || origin != SEEK_SET || offset < 0 || (size_t)offset > x->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->body_off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t etcd_xfer_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct etcd_xfer *x = userp;
	size_t n = size * nmemb;
	struct etcd *e;

	if (x->owner == ETCD_XFER_WATCH)
		e = ((struct etcd_watch *)x)->e;
	else
		e = ((struct etcd_req *)x)->e;
	e->ctr.bytes_received += n;
	if (x->owner == ETCD_XFER_WATCH) {
		/* messages end with a newline; each is bounded on its own */
		struct etcd_watch *w = (struct etcd_watch *)x;
		size_t partial = w->partial;
		const char *p = data, *end = data + n;
		bool complete = false;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t seg = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if (partial + seg > e->max_response) {
				x->too_big = true;
				return 0;
			}
			if (!nl) {
				partial += seg;
				break;
			}
			partial = 0;
			complete = true;
			p = nl + 1;
		}
		if (ila_buf_append(&x->resp, data, n) < 0)
			return 0;
		w->partial = partial;
		if (complete)
			w->queued = true;
		return n;
	}
	if (x->resp.len + n > e->max_response) {
		x->too_big = true;
		return 0;
	}
	if (ila_buf_append(&x->resp, data, n) < 0)
		return 0;
	return n;
}

void etcd_xfer_stop(struct etcd *e, struct etcd_xfer *x)
{
	if (x->easy && x->in_multi) {
		curl_multi_remove_handle(e->multi, x->easy);
		x->in_multi = false;
	}
}

void etcd_xfer_free(struct etcd *e, struct etcd_xfer *x)
{
	etcd_xfer_stop(e, x);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
	free(x->body);
	x->body = NULL;
	ila_buf_free(&x->resp);
}

/* Sets the handle up for endpoint ep and path, and hands it to the multi. */
int etcd_xfer_start(struct etcd *e, struct etcd_xfer *x, size_t ep, const char *path,
		    bool stream)
{
	char url[512];
	CURL *h;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", e->endpoints[ep], path) >= sizeof(url))
		return -ENAMETOOLONG;
	if (!x->easy) {
		x->easy = curl_easy_init();
		if (!x->easy)
			return -ENOMEM;
	}
	h = x->easy;
	curl_easy_reset(h);
	x->ep = ep;
	x->body_off = 0;
	x->maybe_sent = false;
	x->too_big = false;
	x->errbuf[0] = '\0';
	ila_buf_reset(&x->resp);

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->any_member ? e->headers_any : e->headers);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, etcd_xfer_read);
	curl_easy_setopt(h, CURLOPT_READDATA, x);
	curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, etcd_xfer_seek);
	curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, etcd_xfer_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, ETCD_TCP_KEEPIDLE_S);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, ETCD_TCP_KEEPINTVL_S);
	if (!stream) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)e->request_timeout_ms);
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)e->max_response);
	}
	if (e->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->ca_file);
	if (e->cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->key_file);
	}
	if (curl_multi_add_handle(e->multi, h) != CURLM_OK)
		return -ENOMEM;
	x->in_multi = true;
	e->ctr.bytes_sent += x->body_len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* endpoints */


/* A transfer to ep failed for the endpoint's sake: requests move on. */
void etcd_endpoint_failed(struct etcd *e, size_t ep, const char *why)
{
	size_t ul;

	if (ep != e->cur || e->n_endpoints < 2)
		return;
	e->cur = (e->cur + 1) % e->n_endpoints;
	ul = strlen(e->endpoints[ep]);
	e->ctr.failovers++;
	/* most reasons name the endpoint already */
	if (strncmp(why, e->endpoints[ep], ul) == 0 && strncmp(why + ul, ": ", 2) == 0)
		why += ul + 2;
	log_warn("etcd %s: %s: %s; now using %s", e->name, e->endpoints[ep], why,
		 e->endpoints[e->cur]);
	etcd_watch_endpoint_failed(e, ep);
}

size_t etcd_endpoint_count(const struct etcd *e)
{
	return e->n_endpoints;
}

const char *etcd_endpoint_url(const struct etcd *e, size_t i)
{
	return i < e->n_endpoints ? e->endpoints[i] : NULL;
}

size_t etcd_endpoint_current(const struct etcd *e)
{
	return e->cur;
}

const struct etcd_counters *etcd_counters(const struct etcd *e)
{
	return &e->ctr;
}

size_t etcd_prefix_end(const uint8_t *prefix, size_t len, uint8_t *out)
{
	for (size_t i = len; i > 0; i--) {
		if (prefix[i - 1] != 0xff) {
			memcpy(out, prefix, i - 1);
			out[i - 1] = (uint8_t)(prefix[i - 1] + 1);
			return i;
		}
	}
	out[0] = 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* the loop's side: after curl ran, hand out what it finished */

static void etcd_after_action(struct etcd *e)
{
	CURLMsg *msg;
	int left;
	bool again;

	/* complete watch messages first: a stream that ended may still hold some */
	do {
		again = false;
		for (struct etcd_watch *w = e->watches; w; w = w->next) {
			if (w->queued && !w->canceled) {
				etcd_watch_drain(w);
				again = true; /* the list may have changed */
				break;
			}
		}
	} while (again);

	while ((msg = curl_multi_info_read(e->multi, &left))) {
		struct etcd_xfer *x;
		char *priv = NULL;
		CURLcode cc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		curl_multi_remove_handle(e->multi, msg->easy_handle);
		x = (struct etcd_xfer *)priv;
		if (!x)
			continue;
		x->in_multi = false;
		if (x->owner == ETCD_XFER_WATCH)
			etcd_watch_done((struct etcd_watch *)x, cc);
		else
			etcd_req_done(e, (struct etcd_req *)x, cc);
	}
}

/* ------------------------------------------------------------------ */
/* the client */

static int etcd_check_file(const char *what, const char *path, char *err, size_t errlen)
{
	if (path && access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static char *etcd_strdup_opt(const char *s, bool *fail)
{
	char *c;

	if (!s)
		return NULL;
	c = strdup(s);
	if (!c)
		*fail = true;
	return c;
}

struct etcd *etcd_new(struct ev_loop *loop, const struct etcd_conf *conf, char *err,
		      size_t errlen)
{
	struct etcd *e;
	bool https = false, fail = false;
	struct curl_slist *h;

	if (!loop || !conf || conf->n_endpoints == 0 || conf->n_endpoints > ETCD_MAX_ENDPOINTS ||
	    !conf->endpoints) {
		snprintf(err, errlen, "etcd: between 1 and %d endpoints", ETCD_MAX_ENDPOINTS);
		return NULL;
	}
	for (size_t i = 0; i < conf->n_endpoints; i++) {
		const char *u = conf->endpoints[i];

		if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
		    strlen(u) > 256 || strlen(u) < 9) {
			snprintf(err, errlen, "etcd endpoint %s: not http://HOST:PORT or https://HOST:PORT",
				 u ? u : "(null)");
			return NULL;
		}
		if (u[4] == 's')
			https = true;
	}
	if (!conf->cert_file != !conf->key_file) {
		snprintf(err, errlen, "etcd: a client certificate needs its key and the other way round");
		return NULL;
	}
	if ((conf->cert_file || conf->ca_file) && !https) {
		snprintf(err, errlen, "etcd: TLS files given but no https:// endpoint");
		return NULL;
	}
	if (etcd_check_file("etcd CA file", conf->ca_file, err, errlen) < 0 ||
	    etcd_check_file("etcd certificate", conf->cert_file, err, errlen) < 0 ||
	    etcd_check_file("etcd key", conf->key_file, err, errlen) < 0)
		return NULL;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "etcd: libsodium does not initialise");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "etcd: libcurl does not initialise");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		curl_global_cleanup();
		snprintf(err, errlen, "etcd: out of memory");
		return NULL;
	}
	e->loop = loop;
	e->name = strdup(conf->name ? conf->name : "etcd");
	fail = !e->name;
	for (size_t i = 0; i < conf->n_endpoints; i++) {
		size_t n = strlen(conf->endpoints[i]);

		e->endpoints[i] = strdup(conf->endpoints[i]);
		if (!e->endpoints[i]) {
			fail = true;
			break;
		}
		e->n_endpoints++;
		if (n > 0 && e->endpoints[i][n - 1] == '/')
			e->endpoints[i][n - 1] = '\0';
	}
	e->ca_file = etcd_strdup_opt(conf->ca_file, &fail);
	e->cert_file = etcd_strdup_opt(conf->cert_file, &fail);
	e->key_file = etcd_strdup_opt(conf->key_file, &fail);
	e->request_timeout_ms = conf->request_timeout_ms ? conf->request_timeout_ms :
							   ETCD_DEFAULT_REQUEST_TIMEOUT_MS;
	e->connect_timeout_ms = conf->connect_timeout_ms ? conf->connect_timeout_ms :
							   ETCD_DEFAULT_CONNECT_TIMEOUT_MS;
	if (e->connect_timeout_ms > e->request_timeout_ms)
		e->connect_timeout_ms = e->request_timeout_ms;
	e->max_requests = conf->max_requests ? conf->max_requests : ETCD_DEFAULT_MAX_REQUESTS;
	e->max_response = conf->max_response_bytes ? conf->max_response_bytes :
						     ETCD_DEFAULT_MAX_RESPONSE_BYTES;
	e->watch_retry_max_ms = conf->watch_retry_max_ms ? conf->watch_retry_max_ms :
							   ETCD_DEFAULT_WATCH_RETRY_MAX_MS;
	if (e->watch_retry_max_ms < ETCD_WATCH_RETRY_MIN_MS)
		e->watch_retry_max_ms = ETCD_WATCH_RETRY_MIN_MS;

	/*
	 * Expect: curl would wait for "100 Continue" before larger bodies.
	 * Grpc-Metadata-hasleader: the gateway passes it on as gRPC metadata,
	 * and etcd then refuses requests ("etcdserver: no leader", before
	 * handling them) and ends watches on a member that has lost its leader,
	 * instead of leaving them waiting or quiet in a partitioned minority.
	 * Serializable reads and status go without it: they are what still
	 * works there.
	 */
	h = curl_slist_append(NULL, "Content-Type: application/json");
	e->headers_any = h;
	if (h)
		h = curl_slist_append(e->headers_any, "Expect:");
	e->headers = h = h ? curl_slist_append(NULL, "Content-Type: application/json") : NULL;
	if (h)
		h = curl_slist_append(e->headers, "Expect:");
	if (h)
		h = curl_slist_append(e->headers, "Grpc-Metadata-hasleader: true");
	e->multi = curl_multi_init();
	if (!h || !e->multi)
		fail = true;
	if (fail) {
		snprintf(err, errlen, "etcd: out of memory");
		etcd_free(e);
		return NULL;
	}
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, etcd_curl_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, etcd_curl_timer);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	ev_init(&e->curl_timer, etcd_timer_cb);
	e->curl_timer.data = e;
	return e;
}

void etcd_free(struct etcd *e)
{
	if (!e)
		return;
	assert(e->in_callback == 0); /* not from a callback of this client */
	e->closing = true;
	while (e->reqs) {
		struct etcd_req *r = e->reqs;
		struct etcd_error err;

		etcd_xfer_stop(e, &r->x);
		etcd_req_unlink(e, r);
		etcd_set_err(&err, ETCD_ERR_CANCELED, 0, "the etcd client is closing");
		etcd_req_deliver(e, r, &err);
	}
	while (e->watches)
		etcd_watch_free(e->watches);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->loop)
		ev_timer_stop(e->loop, &e->curl_timer);
	while (e->socks) {
		struct etcd_sock *sk = e->socks;

		ev_io_stop(e->loop, &sk->io);
		e->socks = sk->next;
		free(sk);
	}
	curl_slist_free_all(e->headers);
	curl_slist_free_all(e->headers_any);
	for (size_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	free(e->name);
	free(e);
	curl_global_cleanup();
}
