/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ila-mapper's etcd client (etcd/) against real etcd members that tests/etcd/run starts. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <ev.h>

#include "etcd.h"
#include "log.h"

/*
 * Environment (set by tests/etcd/run):
 *   ILA_ETCD_ENDPOINTS  comma-separated client URLs of the members
 *   ILA_ETCD_PIDS       their process ids, same order (cluster suite)
 *   ILA_ETCD_CA, ILA_ETCD_CERT, ILA_ETCD_KEY  TLS files (tls suite)
 *   ILA_ETCDCTL         etcdctl (default: etcdctl on PATH)
 * argv[1]: the suite: single (default), tls or cluster.
 */

#define MAX_EP 8
#define WAIT_MS 10000
#define TK 192
#define TV 256

static struct ev_loop *loop;
static char *endpoints[MAX_EP];
static size_t n_endpoints;
static pid_t pids[MAX_EP];
static size_t n_pids;
static const char *tls_ca, *tls_cert, *tls_key;

/* ---- running the loop, bounded ---- */

static void tick_cb(struct ev_loop *l, ev_timer *t, int revents)
{
}

/* Runs the loop until *flag or ms pass; the value of *flag. */
static bool wait_flag(const bool *flag, unsigned ms)
{
	ev_timer t;
	ev_tstamp end = ev_time() + ms / 1000.0;

	ev_timer_init(&t, tick_cb, 0.02, 0.02);
	ev_timer_start(loop, &t);
	while (!*flag && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return *flag;
}

static void sleep_loop(unsigned ms)
{
	bool never = false;

	wait_flag(&never, ms);
}

/* ---- copies of results (they live only during the callback) ---- */

struct tkv {
	char key[TK];
	char value[TV];
	size_t value_len;
	int64_t create_rev, mod_rev, version, lease;
};

static void tkv_copy(struct tkv *d, const struct etcd_kv *s)
{
	size_t k = s->key_len < TK - 1 ? s->key_len : TK - 1;
	size_t v = s->value_len < TV - 1 ? s->value_len : TV - 1;

	memcpy(d->key, s->key, k);
	d->key[k] = '\0';
	memcpy(d->value, s->value, v);
	d->value[v] = '\0';
	d->value_len = s->value_len;
	d->create_rev = s->create_revision;
	d->mod_rev = s->mod_revision;
	d->version = s->version;
	d->lease = s->lease;
}

struct rres {
	bool done;
	struct etcd_error err;
	struct etcd_header h;
	struct tkv *kvs;
	size_t n;
	bool more;
	int64_t count;
};

static void range_cb(void *arg, const struct etcd_error *err, const struct etcd_range_result *res)
{
	struct rres *r = arg;

	r->err = *err;
	if (res) {
		r->h = res->header;
		r->more = res->more;
		r->count = res->count;
		r->n = res->n_kvs;
		r->kvs = calloc(res->n_kvs + 1, sizeof(*r->kvs));
		for (size_t i = 0; i < res->n_kvs; i++)
			tkv_copy(&r->kvs[i], &res->kvs[i]);
	}
	r->done = true;
}

struct tres {
	bool done;
	struct etcd_error err;
	bool succeeded;
	int64_t rev;
	size_t n;
	struct {
		enum etcd_op_type type;
		int64_t rev;
		bool has_prev;
		struct tkv prev;
		size_t n_kvs;
		struct tkv kvs[4];
		int64_t deleted;
	} ops[8];
};

static void txn_cb(void *arg, const struct etcd_error *err, const struct etcd_txn_result *res)
{
	struct tres *t = arg;

	t->err = *err;
	if (res) {
		t->succeeded = res->succeeded;
		t->rev = res->header.revision;
		t->n = res->n_responses;
		for (size_t i = 0; i < res->n_responses && i < 8; i++) {
			const struct etcd_op_result *op = &res->responses[i];

			t->ops[i].type = op->type;
			t->ops[i].rev = op->revision;
			t->ops[i].deleted = op->deleted;
			if (op->prev_kv) {
				t->ops[i].has_prev = true;
				tkv_copy(&t->ops[i].prev, op->prev_kv);
			}
			t->ops[i].n_kvs = op->range.n_kvs;
			for (size_t k = 0; k < op->range.n_kvs && k < 4; k++)
				tkv_copy(&t->ops[i].kvs[k], &op->range.kvs[k]);
		}
	}
	t->done = true;
}

struct lres {
	bool done;
	struct etcd_error err;
	int64_t id, ttl;
};

static void lease_cb(void *arg, const struct etcd_error *err, const struct etcd_lease_result *res)
{
	struct lres *l = arg;

	l->err = *err;
	if (res) {
		l->id = res->id;
		l->ttl = res->ttl;
	}
	l->done = true;
}

struct sres {
	bool done;
	struct etcd_error err;
	uint64_t member_id, leader, raft_term;
	int64_t revision, db_size;
	char version[32];
};

static void status_cb(void *arg, const struct etcd_error *err,
		      const struct etcd_status_result *res)
{
	struct sres *s = arg;

	s->err = *err;
	if (res) {
		s->member_id = res->header.member_id;
		s->leader = res->leader;
		s->raft_term = res->raft_term;
		s->revision = res->header.revision;
		s->db_size = res->db_size;
		snprintf(s->version, sizeof(s->version), "%s", res->version);
	}
	s->done = true;
}

/* ---- synchronous helpers ---- */

static const uint8_t *B(const char *s)
{
	return (const uint8_t *)s;
}

static struct etcd *client_on(const char *const *eps, size_t n, const struct etcd_conf *base)
{
	struct etcd_conf c;
	char err[256];
	struct etcd *e;

	if (base)
		c = *base;
	else
		memset(&c, 0, sizeof(c));
	c.name = "test";
	c.endpoints = eps;
	c.n_endpoints = n;
	if (!base) {
		c.ca_file = tls_ca;
		c.cert_file = tls_cert;
		c.key_file = tls_key;
		c.request_timeout_ms = 3000;
		c.connect_timeout_ms = 1000;
	}
	e = etcd_new(loop, &c, err, sizeof(err));
	if (!e)
		fail_msg("etcd_new: %s", err);
	return e;
}

static struct etcd *client(void)
{
	return client_on((const char *const *)endpoints, n_endpoints, NULL);
}

static void range_sync(struct etcd *e, const char *key, const char *end, int64_t limit,
		       int64_t rev, struct rres *r)
{
	struct etcd_range_req q = {
		.key = B(key), .key_len = strlen(key),
		.range_end = end ? B(end) : NULL, .range_end_len = end ? strlen(end) : 0,
		.limit = limit, .revision = rev,
	};

	memset(r, 0, sizeof(*r));
	assert_int_equal(etcd_range(e, &q, range_cb, r), 0);
	assert_true(wait_flag(&r->done, WAIT_MS));
}

static void rres_free(struct rres *r)
{
	free(r->kvs);
	r->kvs = NULL;
}

static void txn_sync(struct etcd *e, const struct etcd_txn_req *q, struct tres *t)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(etcd_txn(e, q, txn_cb, t), 0);
	assert_true(wait_flag(&t->done, 2 * WAIT_MS));
}

/* A txn of one PUT; the answer's kind, *rev its revision. */
static enum etcd_err put_sync(struct etcd *e, const char *key, const char *value, int64_t lease,
			      int64_t *rev)
{
	struct etcd_op op = {
		.type = ETCD_OP_PUT, .key = B(key), .key_len = strlen(key),
		.value = B(value), .value_len = strlen(value), .lease = lease,
	};
	struct etcd_txn_req q = { .success = &op, .n_success = 1 };
	struct tres t;

	txn_sync(e, &q, &t);
	if (rev)
		*rev = t.rev;
	if (t.err.kind != ETCD_OK)
		print_message("# put %s: %s: %s\n", key, etcd_err_name(t.err.kind), t.err.msg);
	return t.err.kind;
}

static void lease_sync(int (*fn)(struct etcd *, int64_t, etcd_lease_cb, void *), struct etcd *e,
		       int64_t arg, struct lres *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(fn(e, arg, lease_cb, l), 0);
	assert_true(wait_flag(&l->done, WAIT_MS));
}

static void grant_sync(struct etcd *e, int64_t ttl, struct lres *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(etcd_lease_grant(e, ttl, 0, lease_cb, l), 0);
	assert_true(wait_flag(&l->done, WAIT_MS));
	assert_int_equal(l->err.kind, ETCD_OK);
	assert_true(l->id > 0);
	assert_true(l->ttl >= ttl);
}

static void status_sync(struct etcd *e, size_t ep, struct sres *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(etcd_status(e, ep, status_cb, s), 0);
	assert_true(wait_flag(&s->done, WAIT_MS));
}

/* A key prefix of its own for each test and run. */
static void prefix_for(char *buf, size_t len, const char *test)
{
	snprintf(buf, len, "/ila-etcd-test/%d/%s/", (int)getpid(), test);
}

static int etcdctl(const char *fmt, ...) ILA_PRINTF(1, 2);

static int etcdctl(const char *fmt, ...)
{
	const char *ctl = getenv("ILA_ETCDCTL") ? getenv("ILA_ETCDCTL") : "etcdctl";
	char args[512], cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 %s --endpoints=%s %s >/dev/null", ctl,
		 endpoints[0], args);
	return system(cmd);
}

/* ---- watch recorder ---- */

struct wev {
	enum etcd_event_type type;
	char key[TK];
	char value[TV];
	int64_t mod_rev;
	bool has_prev;
	char prev[TV];
};

struct wrec {
	struct etcd_watch *w;
	struct wev *ev;
	size_t n, cap;
	int64_t last_header;
	unsigned created, lost, resumed, failed, progress;
	int64_t compacted;
	bool cancel_on_event;
	bool want_progress;
	unsigned calls_after_cancel;
	bool canceled;
	struct etcd_error last_err;
};

static void wrec_events(void *arg, int64_t revision, const struct etcd_event *events, size_t n)
{
	struct wrec *r = arg;

	if (r->canceled)
		r->calls_after_cancel++;
	r->last_header = revision;
	if (n == 0)
		r->progress++;
	for (size_t i = 0; i < n; i++) {
		struct wev *v;
		struct tkv kv, pv;

		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 64;
			r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
			assert_non_null(r->ev);
		}
		v = &r->ev[r->n++];
		memset(v, 0, sizeof(*v));
		tkv_copy(&kv, &events[i].kv);
		v->type = events[i].type;
		snprintf(v->key, sizeof(v->key), "%s", kv.key);
		snprintf(v->value, sizeof(v->value), "%s", kv.value);
		v->mod_rev = kv.mod_rev;
		if (events[i].prev_kv) {
			tkv_copy(&pv, events[i].prev_kv);
			v->has_prev = true;
			snprintf(v->prev, sizeof(v->prev), "%s", pv.value);
		}
	}
	if (r->cancel_on_event && n > 0 && !r->canceled) {
		r->canceled = true;
		etcd_watch_cancel(r->w);
	}
}

static void wrec_compacted(void *arg, int64_t compact_revision)
{
	struct wrec *r = arg;

	r->compacted = compact_revision;
}

static void wrec_state(void *arg, enum etcd_watch_state state, const struct etcd_error *err)
{
	struct wrec *r = arg;

	r->last_err = *err;
	switch (state) {
	case ETCD_WATCH_CREATED:
		r->created++;
		break;
	case ETCD_WATCH_LOST:
		r->lost++;
		print_message("# watch lost: %s: %s\n", etcd_err_name(err->kind), err->msg);
		break;
	case ETCD_WATCH_RESUMED:
		r->resumed++;
		print_message("# watch resumed: %s\n", err->msg);
		break;
	case ETCD_WATCH_FAILED:
		r->failed++;
		break;
	}
}

static struct etcd_watch *watch_prefix(struct etcd *e, const char *prefix, int64_t start,
				       struct wrec *r)
{
	static uint8_t end[TK];
	size_t end_len = etcd_prefix_end(B(prefix), strlen(prefix), end);
	struct etcd_watch_req q = {
		.key = B(prefix), .key_len = strlen(prefix),
		.range_end = end, .range_end_len = end_len,
		.start_revision = start, .prev_kv = true, .progress_notify = r->want_progress,
		.on_events = wrec_events, .on_compacted = wrec_compacted, .on_state = wrec_state,
		.arg = r,
	};
	char err[128];

	r->w = etcd_watch(e, &q, err, sizeof(err));
	if (!r->w)
		fail_msg("etcd_watch: %s", err);
	return r->w;
}

static bool wait_created(struct wrec *r)
{
	ev_tstamp end = ev_time() + WAIT_MS / 1000.0;

	while (r->created == 0 && r->compacted == 0 && ev_time() < end)
		sleep_loop(10);
	return r->created > 0 || r->compacted > 0;
}

/* Waits until the watch delivered an event at revision rev or later. */
static bool wait_watch_rev(struct wrec *r, int64_t rev, unsigned ms)
{
	ev_tstamp end = ev_time() + ms / 1000.0;

	while ((r->n == 0 || r->ev[r->n - 1].mod_rev < rev) && ev_time() < end)
		sleep_loop(10);
	return r->n > 0 && r->ev[r->n - 1].mod_rev >= rev;
}

/* ---- a fake member: accepts, reads requests, answers badly ---- */

enum fake_mode {
	FAKE_CLOSE,		/* reads a request, closes without a word */
	FAKE_GARBAGE,		/* answers 200 with a body that is not JSON */
	FAKE_ANSWER_THEN_CLOSE,	/* answers the first request of a connection, closes on the next */
	FAKE_SILENT,		/* reads, never answers */
};

struct fake;

struct fake_conn {
	ev_io io;
	int fd;
	struct fake *f;
	char buf[1 << 16];
	size_t len;
	unsigned served;
};

struct fake {
	enum fake_mode mode;
	int lfd;
	ev_io lio;
	int port;
	char url[64];
	unsigned connections, requests, txns;
	struct fake_conn *conns[64];
	size_t n_conns;
};

static void fake_close(struct fake_conn *c)
{
	ev_io_stop(loop, &c->io);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Length of the first complete request in buf (headers and Content-Length body), or 0. */
static size_t fake_request_len(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	size_t head, body = 0;

	if (!end)
		return 0;
	head = (size_t)(end - buf) + 4;
	for (const char *p = buf; p < end; p++) {
		if ((p == buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0) {
			body = strtoul(p + 15, NULL, 10);
			break;
		}
	}
	return head + body <= len ? head + body : 0;
}

static void fake_conn_cb(struct ev_loop *l, ev_io *io, int revents)
{
	static const char range_ok[] =
		"{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"5\","
		"\"raft_term\":\"2\"},\"count\":\"0\"}";
	static const char garbage[] = "{not json";
	struct fake_conn *c = io->data;
	struct fake *f = c->f;
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	size_t rl;
	char out[512];

	if (n <= 0) {
		fake_close(c);
		return;
	}
	c->len += (size_t)n;
	while ((rl = fake_request_len(c->buf, c->len)) > 0) {
		bool is_txn = strncmp(c->buf, "POST /v3/kv/txn ", 16) == 0;

		f->requests++;
		f->txns += is_txn;
		memmove(c->buf, c->buf + rl, c->len - rl);
		c->len -= rl;
		switch (f->mode) {
		case FAKE_CLOSE:
			fake_close(c);
			return;
		case FAKE_SILENT:
			break;
		case FAKE_GARBAGE:
		case FAKE_ANSWER_THEN_CLOSE: {
			const char *body = f->mode == FAKE_GARBAGE ? garbage : range_ok;
			int m;

			if (f->mode == FAKE_ANSWER_THEN_CLOSE && c->served > 0) {
				fake_close(c);
				return;
			}
			m = snprintf(out, sizeof(out),
				     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Content-Length: %zu\r\n\r\n%s",
				     strlen(body), body);
			if (write(c->fd, out, (size_t)m) != m) {
				fake_close(c);
				return;
			}
			c->served++;
			break;
		}
		}
	}
}

static void fake_accept_cb(struct ev_loop *l, ev_io *io, int revents)
{
	struct fake *f = io->data;
	int fd = accept(f->lfd, NULL, NULL);
	struct fake_conn *c;

	if (fd < 0)
		return;
	if (f->n_conns == 64) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->fd = fd;
	c->f = f;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	ev_io_init(&c->io, fake_conn_cb, fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	f->conns[f->n_conns++] = c;
	f->connections++;
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
	ev_io_init(&f->lio, fake_accept_cb, f->lfd, EV_READ);
	f->lio.data = f;
	ev_io_start(loop, &f->lio);
}

static void fake_stop(struct fake *f)
{
	ev_io_stop(loop, &f->lio);
	close(f->lfd);
	for (size_t i = 0; i < f->n_conns; i++) {
		fake_close(f->conns[i]);
		free(f->conns[i]);
	}
	f->n_conns = 0;
}

/* A loopback port nothing listens on. */
static void dead_url(char *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(buf, len, "http://127.0.0.1:%d", ntohs(sa.sin_port));
}

/* ================================================================== */
/* suite single: one plain-HTTP member */

static void test_range_returns_what_put_wrote(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	int64_t r1, r2;
	struct rres r;

	prefix_for(p, sizeof(p), "put");
	snprintf(k, sizeof(k), "%sa", p);
	assert_int_equal(put_sync(e, k, "one", 0, &r1), ETCD_OK);
	assert_int_equal(put_sync(e, k, "two", 0, &r2), ETCD_OK);
	assert_true(r2 > r1);
	range_sync(e, k, NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.kvs[0].key, k);
	assert_string_equal(r.kvs[0].value, "two");
	assert_int_equal(r.kvs[0].create_rev, r1);
	assert_int_equal(r.kvs[0].mod_rev, r2);
	assert_int_equal(r.kvs[0].version, 2);
	assert_true(r.h.revision >= r2);
	assert_true(r.h.cluster_id != 0 && r.h.member_id != 0);
	rres_free(&r);
	/* an older revision shows the older value */
	range_sync(e, k, NULL, 0, r1, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.kvs[0].value, "one");
	rres_free(&r);
	/* a missing key is an empty answer, not an error */
	snprintf(k, sizeof(k), "%snone", p);
	range_sync(e, k, NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.count, 0);
	rres_free(&r);
	/* binary keys and values survive base64 both ways */
	{
		uint8_t bk[] = { '/', 'i', 'l', 'a', 0x00, 0xff, 0x80, '\n' };
		uint8_t bv[] = { 0x00, 0x01, 0xfe, 0xff };
		struct etcd_op op = { .type = ETCD_OP_PUT, .key = bk, .key_len = sizeof(bk),
				      .value = bv, .value_len = sizeof(bv) };
		struct etcd_txn_req q = { .success = &op, .n_success = 1 };
		struct etcd_range_req rq = { .key = bk, .key_len = sizeof(bk) };
		struct tres t;

		txn_sync(e, &q, &t);
		assert_int_equal(t.err.kind, ETCD_OK);
		memset(&r, 0, sizeof(r));
		assert_int_equal(etcd_range(e, &rq, range_cb, &r), 0);
		assert_true(wait_flag(&r.done, WAIT_MS));
		assert_int_equal(r.n, 1);
		assert_int_equal(r.kvs[0].value_len, sizeof(bv));
		assert_memory_equal(r.kvs[0].value, bv, sizeof(bv));
		rres_free(&r);
	}
	etcd_free(e);
}

static void test_prefix_range_pages_with_limit_and_more(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	uint8_t end[TK], from[TK + 1];
	size_t end_len, from_len, seen = 0;
	unsigned pages = 0;
	int64_t rev = 0;

	prefix_for(p, sizeof(p), "pages");
	for (int i = 0; i < 25; i++) {
		char v[16];

		snprintf(k, sizeof(k), "%sk%02d", p, i);
		snprintf(v, sizeof(v), "v%d", i);
		assert_int_equal(put_sync(e, k, v, 0, &rev), ETCD_OK);
	}
	/* a key just past the prefix is not in the prefix range */
	end_len = etcd_prefix_end(B(p), strlen(p), end);
	assert_int_equal(end_len, strlen(p));
	end[end_len] = '\0';
	assert_int_equal(put_sync(e, (const char *)end, "outside", 0, NULL), ETCD_OK);

	from_len = strlen(p);
	memcpy(from, p, from_len);
	for (;;) {
		/* every page at the same revision: a consistent listing */
		struct etcd_range_req q = { .key = from, .key_len = from_len, .range_end = end,
					    .range_end_len = end_len, .limit = 10, .revision = rev };
		struct rres r = { 0 };
		size_t l;

		assert_int_equal(etcd_range(e, &q, range_cb, &r), 0);
		assert_true(wait_flag(&r.done, WAIT_MS));
		assert_int_equal(r.err.kind, ETCD_OK);
		assert_int_equal(r.count, 25 - (int64_t)seen);
		for (size_t i = 0; i < r.n; i++) {
			snprintf(k, sizeof(k), "%sk%02zu", p, seen + i);
			assert_string_equal(r.kvs[i].key, k);
		}
		seen += r.n;
		pages++;
		if (!r.more) {
			rres_free(&r);
			break;
		}
		assert_int_equal(r.n, 10);
		/* the next page starts just after the last key: the key and a zero byte */
		l = strlen(r.kvs[r.n - 1].key);
		memcpy(from, r.kvs[r.n - 1].key, l);
		from[l] = 0;
		from_len = l + 1;
		rres_free(&r);
		assert_true(pages < 10);
	}
	assert_int_equal(seen, 25);
	assert_int_equal(pages, 3);
	etcd_free(e);
}

static void test_txn_compare_mod_revision_succeeds_when_unchanged(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	int64_t rev;
	struct etcd_compare c = { .target = ETCD_CMP_MOD, .result = ETCD_CMP_EQUAL };
	struct etcd_op put = { .type = ETCD_OP_PUT, .value = B("new"), .value_len = 3,
			       .prev_kv = true };
	struct etcd_op get = { .type = ETCD_OP_RANGE };
	struct etcd_txn_req q = { .compare = &c, .n_compare = 1, .success = &put, .n_success = 1,
				  .failure = &get, .n_failure = 1 };
	struct tres t;

	prefix_for(p, sizeof(p), "cas-ok");
	snprintf(k, sizeof(k), "%sa", p);
	assert_int_equal(put_sync(e, k, "old", 0, &rev), ETCD_OK);
	c.key = put.key = get.key = B(k);
	c.key_len = put.key_len = get.key_len = strlen(k);
	c.number = rev;
	txn_sync(e, &q, &t);
	assert_int_equal(t.err.kind, ETCD_OK);
	assert_true(t.succeeded);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.ops[0].type, ETCD_OP_PUT);
	assert_true(t.ops[0].has_prev);
	assert_string_equal(t.ops[0].prev.value, "old");
	assert_int_equal(t.ops[0].prev.mod_rev, rev);
	assert_true(t.rev > rev);

	/* CREATE, VERSION, VALUE and NOT_EQUAL compares are sent as etcd expects */
	{
		struct etcd_compare cs[4] = {
			{ .target = ETCD_CMP_CREATE, .result = ETCD_CMP_EQUAL, .number = rev },
			{ .target = ETCD_CMP_VERSION, .result = ETCD_CMP_GREATER, .number = 1 },
			{ .target = ETCD_CMP_VALUE, .result = ETCD_CMP_EQUAL, .value = B("new"),
			  .value_len = 3 },
			{ .target = ETCD_CMP_LEASE, .result = ETCD_CMP_NOT_EQUAL, .number = 12345 },
		};
		struct etcd_op del = { .type = ETCD_OP_DELETE_RANGE, .key = B(k), .key_len = strlen(k),
				       .prev_kv = true };
		struct etcd_txn_req q2 = { .compare = cs, .n_compare = 4, .success = &del,
					   .n_success = 1 };

		for (int i = 0; i < 4; i++) {
			cs[i].key = B(k);
			cs[i].key_len = strlen(k);
		}
		txn_sync(e, &q2, &t);
		assert_int_equal(t.err.kind, ETCD_OK);
		assert_true(t.succeeded);
		assert_int_equal(t.ops[0].type, ETCD_OP_DELETE_RANGE);
		assert_int_equal(t.ops[0].deleted, 1);
	}
	etcd_free(e);
}

static void test_txn_compare_mod_revision_fails_and_returns_current_kv(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	int64_t r1, r2;
	struct etcd_compare c = { .target = ETCD_CMP_MOD, .result = ETCD_CMP_EQUAL };
	struct etcd_op put = { .type = ETCD_OP_PUT, .value = B("lost"), .value_len = 4 };
	struct etcd_op get = { .type = ETCD_OP_RANGE };
	struct etcd_txn_req q = { .compare = &c, .n_compare = 1, .success = &put, .n_success = 1,
				  .failure = &get, .n_failure = 1 };
	struct tres t;
	struct rres r;

	prefix_for(p, sizeof(p), "cas-fail");
	snprintf(k, sizeof(k), "%sa", p);
	assert_int_equal(put_sync(e, k, "first", 0, &r1), ETCD_OK);
	assert_int_equal(put_sync(e, k, "second", 0, &r2), ETCD_OK);
	c.key = put.key = get.key = B(k);
	c.key_len = put.key_len = get.key_len = strlen(k);
	c.number = r1; /* what an instance read before the other wrote */
	txn_sync(e, &q, &t);
	assert_int_equal(t.err.kind, ETCD_OK);
	assert_false(t.succeeded);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.ops[0].type, ETCD_OP_RANGE);
	assert_int_equal(t.ops[0].n_kvs, 1);
	assert_string_equal(t.ops[0].kvs[0].value, "second");
	assert_int_equal(t.ops[0].kvs[0].mod_rev, r2);
	assert_int_equal(t.rev, r2); /* nothing written */
	range_sync(e, k, NULL, 0, 0, &r);
	assert_string_equal(r.kvs[0].value, "second");
	rres_free(&r);
	etcd_free(e);
}

static void test_txn_refused_by_etcd_carries_its_code_and_message(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	struct etcd_op ops[2];
	struct etcd_txn_req q = { .success = ops, .n_success = 2 };
	struct tres t;

	prefix_for(p, sizeof(p), "dup");
	snprintf(k, sizeof(k), "%sa", p);
	for (int i = 0; i < 2; i++)
		ops[i] = (struct etcd_op){ .type = ETCD_OP_PUT, .key = B(k), .key_len = strlen(k),
					   .value = B("x"), .value_len = 1 };
	txn_sync(e, &q, &t);
	assert_int_equal(t.err.kind, ETCD_ERR_ETCD);
	assert_int_equal(t.err.code, 3); /* InvalidArgument */
	assert_non_null(strstr(t.err.msg, "duplicate key"));
	/* a lease that does not exist: lease-gone */
	assert_int_equal(put_sync(e, k, "x", 424242, NULL), ETCD_ERR_LEASE_GONE);
	assert_int_equal(etcd_counters(e)->errors[ETCD_ERR_ETCD], 1);
	assert_int_equal(etcd_counters(e)->errors[ETCD_ERR_LEASE_GONE], 1);
	etcd_free(e);
}

static void test_watch_delivers_events_in_revision_order_with_prev_kv(void **state)
{
	struct etcd *e = client();
	char p[96], k[8][128];
	struct wrec r = { 0 };
	int64_t revs[16], rev;
	int n = 0;

	prefix_for(p, sizeof(p), "watch");
	watch_prefix(e, p, 0, &r);
	assert_true(wait_created(&r));
	assert_int_equal(r.created, 1);
	for (int i = 0; i < 4; i++)
		snprintf(k[i], sizeof(k[i]), "%sk%d", p, i);
	assert_int_equal(put_sync(e, k[0], "a0", 0, &revs[n++]), ETCD_OK);
	assert_int_equal(put_sync(e, k[1], "b0", 0, &revs[n++]), ETCD_OK);
	assert_int_equal(put_sync(e, k[0], "a1", 0, &revs[n++]), ETCD_OK);
	{
		struct etcd_op del = { .type = ETCD_OP_DELETE_RANGE, .key = B(k[1]),
				       .key_len = strlen(k[1]) };
		struct etcd_txn_req q = { .success = &del, .n_success = 1 };
		struct tres t;

		txn_sync(e, &q, &t);
		assert_int_equal(t.err.kind, ETCD_OK);
		revs[n++] = t.rev;
	}
	/* two keys in one transaction: one revision, two events */
	{
		struct etcd_op two[2] = {
			{ .type = ETCD_OP_PUT, .key = B(k[2]), .key_len = strlen(k[2]), .value = B("c0"), .value_len = 2 },
			{ .type = ETCD_OP_PUT, .key = B(k[3]), .key_len = strlen(k[3]), .value = B("d0"), .value_len = 2 },
		};
		struct etcd_txn_req q = { .success = two, .n_success = 2 };
		struct tres t;

		txn_sync(e, &q, &t);
		assert_int_equal(t.err.kind, ETCD_OK);
		revs[n++] = t.rev;
		revs[n++] = t.rev;
	}
	/* outside the prefix: not seen */
	assert_int_equal(put_sync(e, "/ila-etcd-test-outside", "z", 0, &rev), ETCD_OK);
	assert_true(wait_watch_rev(&r, revs[n - 1], WAIT_MS));
	sleep_loop(100);
	assert_int_equal(r.n, (size_t)n);
	for (int i = 0; i < n; i++)
		assert_int_equal(r.ev[i].mod_rev, revs[i]);
	assert_int_equal(r.ev[0].type, ETCD_EVENT_PUT);
	assert_false(r.ev[0].has_prev);
	assert_string_equal(r.ev[2].value, "a1");
	assert_true(r.ev[2].has_prev);
	assert_string_equal(r.ev[2].prev, "a0");
	assert_int_equal(r.ev[3].type, ETCD_EVENT_DELETE);
	assert_string_equal(r.ev[3].key, k[1]);
	assert_true(r.ev[3].has_prev);
	assert_string_equal(r.ev[3].prev, "b0");
	assert_string_equal(r.ev[4].key, k[2]);
	assert_string_equal(r.ev[5].key, k[3]);
	assert_int_equal(etcd_watch_next_revision(r.w), revs[n - 1] + 1);
	assert_int_equal(r.lost, 0);

	/* a second watch from an old revision replays the same history */
	{
		struct wrec r2 = { 0 };

		watch_prefix(e, p, revs[0], &r2);
		assert_true(wait_watch_rev(&r2, revs[n - 1], WAIT_MS));
		assert_int_equal(r2.n, (size_t)n);
		for (int i = 0; i < n; i++)
			assert_int_equal(r2.ev[i].mod_rev, revs[i]);
		etcd_watch_cancel(r2.w);
		free(r2.ev);
	}
	etcd_watch_cancel(r.w);
	free(r.ev);
	etcd_free(e);
}

static void test_watch_callback_may_cancel_its_own_watch(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	struct wrec r = { .cancel_on_event = true };

	prefix_for(p, sizeof(p), "watch-cancel");
	snprintf(k, sizeof(k), "%sa", p);
	watch_prefix(e, p, 0, &r);
	assert_true(wait_created(&r));
	assert_int_equal(put_sync(e, k, "1", 0, NULL), ETCD_OK);
	assert_int_equal(put_sync(e, k, "2", 0, NULL), ETCD_OK);
	assert_true(wait_flag(&r.canceled, WAIT_MS));
	assert_int_equal(put_sync(e, k, "3", 0, NULL), ETCD_OK);
	sleep_loop(200);
	assert_int_equal(r.calls_after_cancel, 0);
	free(r.ev);
	etcd_free(e);
}

static void test_watch_progress_notification_tells_the_revision_reached(void **state)
{
	/* tests/etcd/run starts this member with a progress interval of 1 s */
	struct etcd *e = client();
	char p[96];
	struct wrec r = { .want_progress = true };
	int64_t rev;
	ev_tstamp end;

	prefix_for(p, sizeof(p), "progress");
	watch_prefix(e, p, 0, &r);
	assert_true(wait_created(&r));
	assert_int_equal(put_sync(e, "/ila-etcd-test-progress-elsewhere", "x", 0, &rev), ETCD_OK);
	end = ev_time() + 10.0;
	while ((r.progress == 0 || r.last_header < rev) && ev_time() < end)
		sleep_loop(50);
	assert_true(r.progress > 0);
	assert_true(r.last_header >= rev);
	assert_int_equal(r.n, 0);
	/* a stream opened again would start there, not before */
	assert_true(etcd_watch_next_revision(r.w) >= rev);
	etcd_watch_cancel(r.w);
	free(r.ev);
	etcd_free(e);
}

static void test_watch_from_compacted_revision_reports_compaction(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	int64_t r1, r2, r3;
	struct wrec r = { 0 };
	struct rres rr;

	prefix_for(p, sizeof(p), "compact");
	snprintf(k, sizeof(k), "%sa", p);
	assert_int_equal(put_sync(e, k, "1", 0, &r1), ETCD_OK);
	assert_int_equal(put_sync(e, k, "2", 0, &r2), ETCD_OK);
	assert_int_equal(put_sync(e, k, "3", 0, &r3), ETCD_OK);
	assert_int_equal(etcdctl("compact %" PRId64, r3), 0);

	watch_prefix(e, p, r1, &r);
	ev_tstamp end = ev_time() + WAIT_MS / 1000.0;
	while (r.compacted == 0 && ev_time() < end)
		sleep_loop(10);
	assert_int_equal(r.compacted, r3);
	assert_int_equal(r.n, 0); /* nothing delivered from a history with a hole */
	assert_int_equal(r.lost, 0);
	etcd_watch_cancel(r.w);

	/* a read at a compacted revision says so too */
	range_sync(e, k, NULL, 0, r1, &rr);
	assert_int_equal(rr.err.kind, ETCD_ERR_COMPACTED);
	assert_int_equal(rr.err.code, 11);
	rres_free(&rr);
	/* and a watch from the compact revision itself works */
	memset(&r, 0, sizeof(r));
	watch_prefix(e, p, r3, &r);
	assert_true(wait_watch_rev(&r, r3, WAIT_MS));
	assert_int_equal(r.n, 1);
	assert_string_equal(r.ev[0].value, "3");
	etcd_watch_cancel(r.w);
	free(r.ev);
	etcd_free(e);
}

static void test_lease_without_keepalive_expires_and_deletes_its_key(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	struct lres l, ka;
	struct rres r;
	struct wrec w = { 0 };
	ev_tstamp t0, end;

	prefix_for(p, sizeof(p), "lease-expire");
	snprintf(k, sizeof(k), "%snode", p);
	grant_sync(e, 2, &l);
	assert_int_equal(put_sync(e, k, "alive", l.id, NULL), ETCD_OK);
	range_sync(e, k, NULL, 0, 0, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.kvs[0].lease, l.id);
	rres_free(&r);
	watch_prefix(e, p, 0, &w);
	assert_true(wait_created(&w));
	t0 = ev_time();
	end = t0 + l.ttl + 8.0;
	while (w.n == 0 && ev_time() < end)
		sleep_loop(50);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.ev[0].type, ETCD_EVENT_DELETE);
	assert_string_equal(w.ev[0].prev, "alive");
	print_message("# lease of TTL %" PRId64 " s expired after %.1f s\n", l.ttl, ev_time() - t0);
	range_sync(e, k, NULL, 0, 0, &r);
	assert_int_equal(r.n, 0);
	rres_free(&r);
	/* a keepalive of an expired lease says it is gone */
	lease_sync(etcd_lease_keepalive, e, l.id, &ka);
	assert_int_equal(ka.err.kind, ETCD_ERR_LEASE_GONE);
	etcd_watch_cancel(w.w);
	free(w.ev);
	etcd_free(e);
}

static void test_lease_keepalive_keeps_its_key_and_revoke_deletes_it(void **state)
{
	struct etcd *e = client();
	char p[96], k[128];
	struct lres l, ka, rv;
	struct rres r;
	ev_tstamp end;
	unsigned n = 0;

	prefix_for(p, sizeof(p), "lease-keep");
	snprintf(k, sizeof(k), "%snode", p);
	grant_sync(e, 2, &l);
	assert_int_equal(put_sync(e, k, "alive", l.id, NULL), ETCD_OK);
	/* refreshed every 500 ms for three TTLs */
	end = ev_time() + 3.0 * (double)l.ttl;
	while (ev_time() < end) {
		lease_sync(etcd_lease_keepalive, e, l.id, &ka);
		assert_int_equal(ka.err.kind, ETCD_OK);
		assert_int_equal(ka.id, l.id);
		assert_true(ka.ttl > 0 && ka.ttl <= l.ttl);
		n++;
		sleep_loop(500);
	}
	assert_true(n >= 6);
	range_sync(e, k, NULL, 0, 0, &r);
	assert_int_equal(r.n, 1);
	rres_free(&r);
	lease_sync(etcd_lease_revoke, e, l.id, &rv);
	assert_int_equal(rv.err.kind, ETCD_OK);
	range_sync(e, k, NULL, 0, 0, &r);
	assert_int_equal(r.n, 0);
	rres_free(&r);
	lease_sync(etcd_lease_revoke, e, l.id, &rv);
	assert_int_equal(rv.err.kind, ETCD_ERR_LEASE_GONE);
	etcd_free(e);
}

static void test_status_names_member_leader_and_revision(void **state)
{
	struct etcd *e = client();
	struct sres s;
	int64_t rev;

	assert_int_equal(put_sync(e, "/ila-etcd-test-status", "x", 0, &rev), ETCD_OK);
	status_sync(e, 0, &s);
	assert_int_equal(s.err.kind, ETCD_OK);
	assert_true(s.member_id != 0);
	assert_int_equal(s.leader, s.member_id); /* a single member leads */
	assert_true(s.raft_term > 0);
	assert_true(s.revision >= rev);
	assert_true(s.db_size > 0);
	assert_true(strncmp(s.version, "3.", 2) == 0);
	assert_int_equal(etcd_status(e, 5, status_cb, &s), -EINVAL);
	etcd_free(e);
}

static void test_answer_larger_than_the_limit_is_refused_and_counted(void **state)
{
	struct etcd_conf c = { .request_timeout_ms = 3000, .max_response_bytes = 512 };
	struct etcd *e = client_on((const char *const *)endpoints, n_endpoints, &c);
	char p[96], k[128], big[200];
	struct rres r;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	prefix_for(p, sizeof(p), "big");
	for (int i = 0; i < 5; i++) {
		snprintf(k, sizeof(k), "%s%d", p, i);
		assert_int_equal(put_sync(e, k, big, 0, NULL), ETCD_OK);
	}
	{
		uint8_t end[TK];
		size_t n = etcd_prefix_end(B(p), strlen(p), end);

		end[n] = '\0';
		range_sync(e, p, (const char *)end, 0, 0, &r);
	}
	assert_int_equal(r.err.kind, ETCD_ERR_TOO_BIG);
	assert_int_equal(etcd_counters(e)->too_big, 1);
	assert_int_equal(etcd_counters(e)->retries, 0); /* not the member's fault */
	rres_free(&r);
	etcd_free(e);
}

static void test_requests_beyond_the_limit_are_refused_with_ebusy(void **state)
{
	struct etcd_conf c = { .request_timeout_ms = 3000, .max_requests = 2 };
	struct etcd *e = client_on((const char *const *)endpoints, n_endpoints, &c);
	struct etcd_range_req q = { .key = B("/ila-etcd-test-busy"), .key_len = 19 };
	struct rres r[3];

	memset(r, 0, sizeof(r));
	assert_int_equal(etcd_range(e, &q, range_cb, &r[0]), 0);
	assert_int_equal(etcd_range(e, &q, range_cb, &r[1]), 0);
	assert_int_equal(etcd_range(e, &q, range_cb, &r[2]), -EBUSY);
	assert_false(r[0].done); /* never called from inside the call */
	assert_true(wait_flag(&r[0].done, WAIT_MS));
	assert_true(wait_flag(&r[1].done, WAIT_MS));
	assert_false(r[2].done);
	assert_int_equal(etcd_range(e, &q, range_cb, &r[2]), 0);
	assert_true(wait_flag(&r[2].done, WAIT_MS));
	for (int i = 0; i < 3; i++)
		rres_free(&r[i]);
	etcd_free(e);
}

static void test_free_calls_pending_callbacks_canceled(void **state)
{
	struct etcd *e = client();
	struct etcd_range_req q = { .key = B("/ila-etcd-test-free"), .key_len = 19 };
	struct rres r = { 0 };
	struct wrec w = { 0 };

	assert_int_equal(etcd_range(e, &q, range_cb, &r), 0);
	watch_prefix(e, "/ila-etcd-test-free", 0, &w);
	etcd_free(e);
	assert_true(r.done);
	assert_int_equal(r.err.kind, ETCD_ERR_CANCELED);
	assert_int_equal(w.created + w.lost + w.failed, 0);
}

static void test_read_to_an_unreachable_endpoint_goes_to_the_next(void **state)
{
	char dead[64];
	const char *eps[2] = { dead, endpoints[0] };
	struct etcd *e;
	struct rres r;

	dead_url(dead, sizeof(dead));
	e = client_on(eps, 2, NULL);
	range_sync(e, "/ila-etcd-test-failover", NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	assert_int_equal(etcd_endpoint_current(e), 1);
	assert_int_equal(etcd_counters(e)->failovers, 1);
	assert_int_equal(etcd_counters(e)->retries, 1);
	rres_free(&r);
	etcd_free(e);
}

static void test_txn_not_sent_for_want_of_a_connection_goes_to_the_next(void **state)
{
	char dead[64], p[96], k[128];
	const char *eps[2] = { dead, endpoints[0] };
	struct etcd *e;
	int64_t rev;

	dead_url(dead, sizeof(dead));
	e = client_on(eps, 2, NULL);
	prefix_for(p, sizeof(p), "txn-unsent");
	snprintf(k, sizeof(k), "%sa", p);
	/* connection refused: etcd cannot have it, so sending it elsewhere is safe */
	assert_int_equal(put_sync(e, k, "v", 0, &rev), ETCD_OK);
	assert_int_equal(etcd_endpoint_current(e), 1);
	etcd_free(e);
}

static void test_txn_whose_answer_is_lost_is_outcome_unknown_and_not_resent(void **state)
{
	struct fake f;
	char p[96], k[128];
	const char *eps[2];
	struct etcd *e;
	struct rres r;

	fake_start(&f, FAKE_CLOSE);
	eps[0] = f.url;
	eps[1] = endpoints[0];
	e = client_on(eps, 2, NULL);
	prefix_for(p, sizeof(p), "txn-unknown");
	snprintf(k, sizeof(k), "%sa", p);
	assert_int_equal(put_sync(e, k, "v", 0, NULL), ETCD_ERR_OUTCOME_UNKNOWN);
	assert_int_equal(f.txns, 1);
	assert_int_equal(etcd_counters(e)->retries, 0);
	assert_int_equal(etcd_endpoint_current(e), 1); /* later requests go elsewhere */
	/* the real member never got it */
	range_sync(e, k, NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	assert_int_equal(r.n, 0);
	rres_free(&r);
	etcd_free(e);
	fake_stop(&f);
}

static void test_read_whose_answer_is_lost_is_resent_to_the_next(void **state)
{
	struct fake f;
	const char *eps[2];
	struct etcd *e;
	struct rres r;

	fake_start(&f, FAKE_CLOSE);
	eps[0] = f.url;
	eps[1] = endpoints[0];
	e = client_on(eps, 2, NULL);
	range_sync(e, "/ila-etcd-test-lost-read", NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	assert_true(r.h.member_id != 2); /* not the fake's answer */
	assert_int_equal(f.requests, 1);
	assert_int_equal(etcd_counters(e)->retries, 1);
	rres_free(&r);
	etcd_free(e);
	fake_stop(&f);
}

static void test_txn_on_a_kept_alive_connection_that_died_is_not_resent(void **state)
{
	struct fake f;
	const char *eps[1];
	struct etcd *e;
	struct rres r;

	fake_start(&f, FAKE_ANSWER_THEN_CLOSE);
	eps[0] = f.url;
	e = client_on(eps, 1, NULL);
	range_sync(e, "/ila-etcd-test-keepalive", NULL, 0, 0, &r); /* opens the connection */
	assert_int_equal(r.err.kind, ETCD_OK);
	rres_free(&r);
	assert_int_equal(f.connections, 1);
	/* the txn goes on the kept-alive connection, which the fake closes unanswered */
	assert_int_equal(put_sync(e, "/ila-etcd-test-keepalive", "v", 0, NULL),
			 ETCD_ERR_OUTCOME_UNKNOWN);
	assert_int_equal(f.txns, 1); /* curl did not send it again on a new connection */
	/* a read in the same spot is sent again, by curl on a fresh connection */
	range_sync(e, "/ila-etcd-test-keepalive", NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	rres_free(&r);
	range_sync(e, "/ila-etcd-test-keepalive", NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	rres_free(&r);
	etcd_free(e);
	fake_stop(&f);
}

static void test_malformed_answer_is_an_error_never_trusted(void **state)
{
	struct fake f;
	const char *eps[1];
	struct etcd *e;
	struct rres r;

	fake_start(&f, FAKE_GARBAGE);
	eps[0] = f.url;
	e = client_on(eps, 1, NULL);
	range_sync(e, "/ila-etcd-test-garbage", NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_ERR_MALFORMED);
	assert_non_null(strstr(r.err.msg, "not JSON"));
	rres_free(&r);
	/* a write with an unreadable answer may have happened */
	assert_int_equal(put_sync(e, "/ila-etcd-test-garbage", "v", 0, NULL),
			 ETCD_ERR_OUTCOME_UNKNOWN);
	assert_int_equal(etcd_counters(e)->malformed, 2);
	etcd_free(e);
	fake_stop(&f);
}

static void test_silent_member_times_out(void **state)
{
	struct fake f;
	const char *eps[1];
	struct etcd_conf c = { .request_timeout_ms = 300, .connect_timeout_ms = 300 };
	struct etcd *e;
	struct rres r;
	ev_tstamp t0 = ev_time();

	fake_start(&f, FAKE_SILENT);
	eps[0] = f.url;
	e = client_on(eps, 1, &c);
	range_sync(e, "/ila-etcd-test-silent", NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_ERR_TIMEOUT);
	assert_true(ev_time() - t0 < 2.0); /* two attempts of 300 ms */
	rres_free(&r);
	assert_int_equal(put_sync(e, "/ila-etcd-test-silent", "v", 0, NULL),
			 ETCD_ERR_OUTCOME_UNKNOWN);
	etcd_free(e);
	fake_stop(&f);
}

/* ================================================================== */
/* suite tls: one member requiring client certificates */

static void test_tls_with_client_certificate_is_accepted(void **state)
{
	struct etcd *e = client();
	struct rres r;
	char p[96], k[128];

	assert_non_null(tls_cert);
	prefix_for(p, sizeof(p), "tls");
	snprintf(k, sizeof(k), "%sa", p);
	assert_int_equal(put_sync(e, k, "secret", 0, NULL), ETCD_OK);
	range_sync(e, k, NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_OK);
	assert_string_equal(r.kvs[0].value, "secret");
	rres_free(&r);
	{
		struct wrec w = { 0 };

		watch_prefix(e, p, 1, &w);
		assert_true(wait_watch_rev(&w, 2, WAIT_MS));
		assert_string_equal(w.ev[w.n - 1].value, "secret");
		etcd_watch_cancel(w.w);
		free(w.ev);
	}
	etcd_free(e);
}

static void test_tls_without_client_certificate_is_refused(void **state)
{
	struct etcd_conf c = { .ca_file = tls_ca, .request_timeout_ms = 3000 };
	struct etcd *e = client_on((const char *const *)endpoints, n_endpoints, &c);
	struct rres r;

	range_sync(e, "/ila-etcd-test-tls", NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_ERR_UNAVAILABLE);
	print_message("# without a certificate: %s\n", r.err.msg);
	rres_free(&r);
	etcd_free(e);
}

static void test_tls_with_an_unknown_ca_is_refused(void **state)
{
	/* the client's own certificate is no CA of the member's */
	struct etcd_conf c = { .ca_file = tls_cert, .cert_file = tls_cert, .key_file = tls_key,
			       .request_timeout_ms = 3000 };
	struct etcd *e = client_on((const char *const *)endpoints, n_endpoints, &c);
	struct rres r;

	range_sync(e, "/ila-etcd-test-tls", NULL, 0, 0, &r);
	assert_int_equal(r.err.kind, ETCD_ERR_UNAVAILABLE);
	rres_free(&r);
	etcd_free(e);
}

/* ================================================================== */
/* suite cluster: three members; the test kills one */

#define CLUSTER_WRITES 400

struct writer {
	struct etcd *e;
	char prefix[96];
	int next;		/* next key to write */
	int done;		/* keys known written */
	bool busy;
	bool checking;		/* reading back after an unknown outcome */
	unsigned unknown, unavailable, other;
	struct tres t;
	struct rres r;
};

static void writer_step(struct writer *w);

static void writer_read_cb(void *arg, const struct etcd_error *err,
			   const struct etcd_range_result *res)
{
	struct writer *w = arg;

	w->busy = false;
	w->checking = false;
	if (err->kind == ETCD_OK && res->n_kvs == 1) {
		w->done++; /* it was applied */
		w->next++;
	}
	/* else absent (or unknown again): write it again */
}

static void writer_txn_cb(void *arg, const struct etcd_error *err,
			  const struct etcd_txn_result *res)
{
	struct writer *w = arg;

	w->busy = false;
	switch (err->kind) {
	case ETCD_OK:
		w->done++;
		w->next++;
		break;
	case ETCD_ERR_OUTCOME_UNKNOWN:
		w->unknown++;
		w->checking = true;
		break;
	case ETCD_ERR_UNAVAILABLE:
	case ETCD_ERR_TIMEOUT:
		w->unavailable++;
		break;
	default:
		w->other++;
		print_message("# write %d: %s: %s\n", w->next, etcd_err_name(err->kind), err->msg);
		break;
	}
}

static void writer_step(struct writer *w)
{
	char k[160], v[32];

	if (w->busy || w->next >= CLUSTER_WRITES)
		return;
	snprintf(k, sizeof(k), "%sk%04d", w->prefix, w->next);
	snprintf(v, sizeof(v), "v%d", w->next);
	w->busy = true;
	if (w->checking) {
		struct etcd_range_req q = { .key = B(k), .key_len = strlen(k) };

		if (etcd_range(w->e, &q, writer_read_cb, w) < 0)
			w->busy = false;
	} else {
		/* create only: a key written twice would show up twice in the history */
		struct etcd_compare c = { .target = ETCD_CMP_CREATE, .result = ETCD_CMP_EQUAL,
					  .key = B(k), .key_len = strlen(k), .number = 0 };
		struct etcd_op op = { .type = ETCD_OP_PUT, .key = B(k), .key_len = strlen(k),
				      .value = B(v), .value_len = strlen(v) };
		struct etcd_txn_req q = { .compare = &c, .n_compare = 1, .success = &op,
					  .n_success = 1 };

		if (etcd_txn(w->e, &q, writer_txn_cb, w) < 0)
			w->busy = false;
	}
}

static void test_killed_member_is_left_and_the_watch_misses_no_revision(void **state)
{
	const char *eps[MAX_EP];
	pid_t order_pids[MAX_EP];
	struct etcd *probe, *e;
	struct wrec wr = { 0 }, truth = { 0 };
	struct writer w;
	size_t leader = SIZE_MAX;
	int64_t first_rev, last_rev = 0;
	ev_tstamp t_kill = 0, t_first = 0, end;
	bool killed = false;
	int done_at_kill = 0;

	assert_true(n_endpoints == 3 && n_pids == 3);
	/* the leader first: the member the client talks to is the one killed */
	probe = client();
	for (size_t i = 0; i < n_endpoints; i++) {
		struct sres s;

		status_sync(probe, i, &s);
		assert_int_equal(s.err.kind, ETCD_OK);
		if (s.leader == s.member_id)
			leader = i;
	}
	assert_true(leader < n_endpoints);
	for (size_t i = 0; i < n_endpoints; i++) {
		eps[i] = endpoints[(leader + i) % n_endpoints];
		order_pids[i] = pids[(leader + i) % n_endpoints];
	}
	e = client_on(eps, n_endpoints, NULL);
	assert_int_equal(etcd_endpoint_current(e), 0);

	memset(&w, 0, sizeof(w));
	w.e = e;
	prefix_for(w.prefix, sizeof(w.prefix), "kill");
	watch_prefix(e, w.prefix, 0, &wr);
	assert_true(wait_created(&wr));
	first_rev = etcd_watch_next_revision(wr.w);

	end = ev_time() + 90.0;
	while (w.done < CLUSTER_WRITES && ev_time() < end) {
		writer_step(&w);
		if (!killed && w.done >= CLUSTER_WRITES / 2 && w.busy) {
			/* a write in flight when the member dies */
			assert_int_equal(kill(order_pids[0], SIGKILL), 0);
			killed = true;
			t_kill = ev_time();
			done_at_kill = w.done;
			print_message("# SIGKILL of the leader %s after %d writes\n", eps[0], w.done);
		}
		ev_run(loop, EVRUN_ONCE);
		if (killed && t_first == 0 && w.done > done_at_kill)
			t_first = ev_time();
		if (!w.busy && w.unavailable > 0 && !w.checking)
			sleep_loop(20); /* an election: do not spin */
	}
	print_message("# %d writes: %u unknown outcomes, %u unavailable, %u other; "
		      "the first write after the kill committed %.2f s after it\n",
		      w.done, w.unknown, w.unavailable, w.other, t_first - t_kill);
	assert_true(killed);
	assert_int_equal(w.done, CLUSTER_WRITES);
	assert_int_equal(w.other, 0);
	assert_true(etcd_endpoint_current(e) != 0);
	assert_true(etcd_counters(e)->failovers >= 1);

	/* the truth: every key's revision, read on a live member */
	{
		struct rres r;
		uint8_t endk[TK];
		size_t n = etcd_prefix_end(B(w.prefix), strlen(w.prefix), endk);

		endk[n] = '\0';
		range_sync(e, w.prefix, (const char *)endk, 0, 0, &r);
		assert_int_equal(r.err.kind, ETCD_OK);
		assert_int_equal(r.n, CLUSTER_WRITES);
		for (size_t i = 0; i < r.n; i++) {
			assert_int_equal(r.kvs[i].version, 1); /* each key written once */
			if (r.kvs[i].mod_rev > last_rev)
				last_rev = r.kvs[i].mod_rev;
		}
		rres_free(&r);
	}
	/* the history as a fresh watch on a live member replays it */
	watch_prefix(e, w.prefix, first_rev, &truth);
	assert_true(wait_watch_rev(&truth, last_rev, 2 * WAIT_MS));
	assert_int_equal(truth.n, CLUSTER_WRITES);

	/* the watch that lived through the kill saw the same, once each, in order */
	assert_true(wait_watch_rev(&wr, last_rev, 3 * WAIT_MS));
	sleep_loop(200);
	print_message("# watch: %zu events, lost %u, resumed %u, streams %" PRIu64
		      ", failovers %" PRIu64 "\n",
		      wr.n, wr.lost, wr.resumed, etcd_counters(e)->watch_streams,
		      etcd_counters(e)->failovers);
	assert_true(wr.lost >= 1);
	assert_true(wr.resumed >= 1);
	assert_int_equal(wr.n, truth.n);
	for (size_t i = 0; i < wr.n; i++) {
		assert_int_equal(wr.ev[i].mod_rev, truth.ev[i].mod_rev);
		assert_string_equal(wr.ev[i].key, truth.ev[i].key);
		if (i > 0)
			assert_true(wr.ev[i].mod_rev > wr.ev[i - 1].mod_rev);
	}
	etcd_watch_cancel(wr.w);
	etcd_watch_cancel(truth.w);
	free(wr.ev);
	free(truth.ev);
	etcd_free(e);
	etcd_free(probe);
}

static void test_member_without_quorum_ends_watches_and_refuses_writes_only_for_sure(void **state)
{
	/* longer than etcd's own wait (about 7 s), so that etcd's answer is seen */
	struct etcd_conf c = { .request_timeout_ms = 12000, .connect_timeout_ms = 1000 };
	const char *eps[1];
	struct etcd *e;
	struct wrec wr = { 0 };
	char p[96], k[128];
	size_t live = SIZE_MAX;
	struct lres l;
	ev_tstamp end;

	assert_true(n_endpoints == 3 && n_pids == 3);
	for (size_t i = 0; i < n_pids; i++)
		if (kill(pids[i], 0) == 0)
			live = i;
	assert_true(live < n_pids);
	eps[0] = endpoints[live];
	e = client_on(eps, 1, &c);
	prefix_for(p, sizeof(p), "quorum");
	snprintf(k, sizeof(k), "%sa", p);
	assert_int_equal(put_sync(e, k, "before", 0, NULL), ETCD_OK);
	watch_prefix(e, p, 0, &wr);
	assert_true(wait_created(&wr));
	for (size_t i = 0; i < n_pids; i++)
		if (i != live)
			kill(pids[i], SIGKILL);
	print_message("# only %s is left\n", eps[0]);

	/* the watch is told: etcd ends it ("no leader"), it does not go quiet */
	end = ev_time() + 20.0;
	while (wr.lost == 0 && ev_time() < end)
		sleep_loop(50);
	assert_int_equal(wr.lost, 1);
	assert_int_equal(wr.last_err.kind, ETCD_ERR_UNAVAILABLE);
	assert_string_equal(wr.last_err.msg, "etcdserver: no leader");

	/*
	 * A write is refused for sure only when etcd refused it before handling
	 * it ("no leader"); one that waited for a quorum may still commit.
	 */
	{
		struct etcd_op op = { .type = ETCD_OP_PUT, .key = B(k), .key_len = strlen(k),
				      .value = B("after"), .value_len = 5 };
		struct etcd_txn_req q = { .success = &op, .n_success = 1 };
		struct tres t;

		txn_sync(e, &q, &t);
		print_message("# txn: %s: %s\n", etcd_err_name(t.err.kind), t.err.msg);
		if (t.err.kind == ETCD_ERR_UNAVAILABLE)
			assert_string_equal(t.err.msg, "etcdserver: no leader");
		else
			assert_int_equal(t.err.kind, ETCD_ERR_OUTCOME_UNKNOWN);
	}
	memset(&l, 0, sizeof(l));
	assert_int_equal(etcd_lease_grant(e, 5, 0, lease_cb, &l), 0);
	assert_true(wait_flag(&l.done, 3 * WAIT_MS));
	print_message("# lease grant: %s: %s\n", etcd_err_name(l.err.kind), l.err.msg);
	if (l.err.kind == ETCD_ERR_UNAVAILABLE)
		assert_string_equal(l.err.msg, "etcdserver: no leader");
	else
		assert_int_equal(l.err.kind, ETCD_ERR_OUTCOME_UNKNOWN);
	/* a serializable read is still answered, from the member's own copy */
	{
		struct etcd_range_req q = { .key = B(k), .key_len = strlen(k), .serializable = true };
		struct rres r = { 0 };

		assert_int_equal(etcd_range(e, &q, range_cb, &r), 0);
		assert_true(wait_flag(&r.done, WAIT_MS));
		assert_int_equal(r.err.kind, ETCD_OK);
		assert_int_equal(r.n, 1);
		assert_string_equal(r.kvs[0].value, "before");
		rres_free(&r);
	}
	/* and status says there is no leader */
	{
		struct sres st;

		status_sync(e, 0, &st);
		assert_int_equal(st.err.kind, ETCD_OK);
		assert_int_equal(st.leader, 0);
	}
	etcd_watch_cancel(wr.w);
	free(wr.ev);
	etcd_free(e);
}

/* ================================================================== */

static int group_setup(void **state)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	return loop ? 0 : -1;
}

static int group_teardown(void **state)
{
	ev_loop_destroy(loop);
	loop = NULL;
	return 0;
}

static void log_to_tap(enum ila_log_level level, const char *msg, void *arg)
{
	printf("# log: %s\n", msg);
	fflush(stdout);
}

static void split_env(void)
{
	char *s = strdup(getenv("ILA_ETCD_ENDPOINTS")), *save = NULL;

	for (char *t = strtok_r(s, ",", &save); t && n_endpoints < MAX_EP;
	     t = strtok_r(NULL, ",", &save))
		endpoints[n_endpoints++] = strdup(t);
	free(s);
	if (getenv("ILA_ETCD_PIDS")) {
		s = strdup(getenv("ILA_ETCD_PIDS"));
		for (char *t = strtok_r(s, ",", &save); t && n_pids < MAX_EP;
		     t = strtok_r(NULL, ",", &save))
			pids[n_pids++] = (pid_t)atoi(t);
		free(s);
	}
	tls_ca = getenv("ILA_ETCD_CA");
	tls_cert = getenv("ILA_ETCD_CERT");
	tls_key = getenv("ILA_ETCD_KEY");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest single[] = {
		cmocka_unit_test(test_range_returns_what_put_wrote),
		cmocka_unit_test(test_prefix_range_pages_with_limit_and_more),
		cmocka_unit_test(test_txn_compare_mod_revision_succeeds_when_unchanged),
		cmocka_unit_test(test_txn_compare_mod_revision_fails_and_returns_current_kv),
		cmocka_unit_test(test_txn_refused_by_etcd_carries_its_code_and_message),
		cmocka_unit_test(test_watch_delivers_events_in_revision_order_with_prev_kv),
		cmocka_unit_test(test_watch_callback_may_cancel_its_own_watch),
		cmocka_unit_test(test_watch_progress_notification_tells_the_revision_reached),
		cmocka_unit_test(test_watch_from_compacted_revision_reports_compaction),
		cmocka_unit_test(test_lease_without_keepalive_expires_and_deletes_its_key),
		cmocka_unit_test(test_lease_keepalive_keeps_its_key_and_revoke_deletes_it),
		cmocka_unit_test(test_status_names_member_leader_and_revision),
		cmocka_unit_test(test_answer_larger_than_the_limit_is_refused_and_counted),
		cmocka_unit_test(test_requests_beyond_the_limit_are_refused_with_ebusy),
		cmocka_unit_test(test_free_calls_pending_callbacks_canceled),
		cmocka_unit_test(test_read_to_an_unreachable_endpoint_goes_to_the_next),
		cmocka_unit_test(test_txn_not_sent_for_want_of_a_connection_goes_to_the_next),
		cmocka_unit_test(test_txn_whose_answer_is_lost_is_outcome_unknown_and_not_resent),
		cmocka_unit_test(test_read_whose_answer_is_lost_is_resent_to_the_next),
		cmocka_unit_test(test_txn_on_a_kept_alive_connection_that_died_is_not_resent),
		cmocka_unit_test(test_malformed_answer_is_an_error_never_trusted),
		cmocka_unit_test(test_silent_member_times_out),
	};
	const struct CMUnitTest tls[] = {
		cmocka_unit_test(test_tls_with_client_certificate_is_accepted),
		cmocka_unit_test(test_tls_without_client_certificate_is_refused),
		cmocka_unit_test(test_tls_with_an_unknown_ca_is_refused),
	};
	const struct CMUnitTest cluster[] = {
		cmocka_unit_test(test_killed_member_is_left_and_the_watch_misses_no_revision),
		cmocka_unit_test(test_member_without_quorum_ends_watches_and_refuses_writes_only_for_sure),
	};
	const char *suite = argc > 1 ? argv[1] : "single";

	if (!getenv("ILA_ETCD_ENDPOINTS") || !*getenv("ILA_ETCD_ENDPOINTS")) {
		fprintf(stderr, "ILA_ETCD_ENDPOINTS is not set: skipped (tests/etcd/run starts etcd)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	/* the client's own log lines become TAP comments: the harness shows them */
	ila_log_init("test_etcd", ILA_LOG_TO_CALLBACK,
		     getenv("ILA_ETCD_DEBUG") ? ILA_LOG_DEBUG : ILA_LOG_WARNING);
	ila_log_set_callback(log_to_tap, NULL);
	split_env();
	if (strcmp(suite, "single") == 0)
		return cmocka_run_group_tests_name("etcd single member", single, group_setup,
						   group_teardown);
	if (strcmp(suite, "tls") == 0)
		return cmocka_run_group_tests_name("etcd over TLS", tls, group_setup,
						   group_teardown);
	if (strcmp(suite, "cluster") == 0)
		return cmocka_run_group_tests_name("etcd cluster of three", cluster, group_setup,
						   group_teardown);
	fprintf(stderr, "usage: %s [single|tls|cluster]\n", argv[0]);
	return 2;
}
