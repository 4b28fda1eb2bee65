/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store etcd (doc/etcd.md): the local copy read at a revision, followed by a watch; start, stop. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"
#include "log.h"
#include "mapper.h"
#include "util.h"
#include "etcdstore_priv.h"

#define LOAD_PAGE 2048

/* ---- the copy: applying what the watch brings ---- */

static void presence(struct mapper *m, const char *name, bool put, const struct etcd_kv *kv)
{
	struct estore *e = &m->estore;
	int i = ila_conf_node_find(m->conf, name);

	if (i < 0)
		return;
	bool was = e->present[i];

	e->present[i] = put && !(kv->value_len == strlen(PRESENCE_LEFT) &&
				 memcmp(kv->value, PRESENCE_LEFT, kv->value_len) == 0);
	if (put && kv->lease != e->lease)
		e->mine[i] = false; /* another instance holds it now */
	if (was && !put && e->ready) {
		/* the node's last session ended without a goodbye, or its
		 * instance died: every instance tries its failover, the
		 * transactions let one of them promote each mapping */
		struct mapper_ev ev = { .type = MAPPER_EV_NODE_GONE, .node = i };

		mapper_post(m, &ev);
	}
}

/* One watch message, in one write transaction of the copy. */
static int apply_events(struct mapper *m, const struct etcd_event *evs, size_t n,
			struct mapper_changes *c)
{
	struct estore *e = &m->estore;
	MDB_txn *txn;
	int64_t last = 0;
	unsigned idx = 0;
	int rc;

	if ((rc = store_begin(&m->store, true, &txn)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const struct etcd_event *ev = &evs[i];
		struct store_key k;
		struct mapping old, nm;
		char name[ILA_PROTO_NAME_MAX + 1];
		int kind = estore_parse_key(e, ev->kv.key, ev->kv.key_len, &k, name, sizeof(name));
		bool put = ev->type == ETCD_EVENT_PUT;
		int64_t rev = ev->kv.mod_revision;

		idx = rev == last ? idx + 1 : 0;
		last = rev;
		e->stats.events++;
		if (kind == ESTORE_KEY_NODE) {
			presence(m, name, put, &ev->kv);
			continue;
		}
		if (kind != ESTORE_KEY_MAPPING) {
			if (!estore_is_id_key(e, ev->kv.key, ev->kv.key_len))
				e->stats.bad_values++;
			continue;
		}
		bool had = store_get(&m->store, txn, &k, &old) == 0;

		if (!put) {
			if (had && (rc = store_apply(&m->store, txn, NULL, &old, estore_pos(rev, idx))))
				goto fail;
			if (had)
				mapper_changes_vn(c, old.rec.vn);
			continue;
		}
		if (!estore_value_ok(m, &k, ev->kv.value, ev->kv.value_len, &nm)) {
			e->stats.bad_values++;
			log_warn("etcd: a value under %s at revision %lld does not decode: ignored",
				 e->prefix, (long long)rev);
			continue;
		}
		if ((rc = store_apply(&m->store, txn, &nm, had ? &old : NULL, estore_pos(rev, idx))))
			goto fail;
		mapper_changes_vn(c, nm.rec.vn);
		if (had && old.rec.state != ILA_STATE_REMOVED && nm.rec.state != ILA_STATE_REMOVED &&
		    old.rec.node[0] && strcmp(old.rec.node, nm.rec.node) != 0)
			mapper_changes_move(c, old.rec.node, &nm);
	}
	if ((rc = store_commit(&m->store, txn)) < 0)
		return rc;
	return 0;
fail:
	store_abort(&m->store, txn);
	return rc;
}

static void start_load(struct mapper *m);

static void watch_events(void *arg, int64_t revision, const struct etcd_event *evs, size_t n)
{
	struct mapper *m = arg;
	struct estore *e = &m->estore;
	struct mapper_changes c = { .nvns = 0 };
	int rc;

	if (n && (rc = apply_events(m, evs, n, &c)) < 0) {
		/* the copy cannot follow: read it again */
		log_err("etcd: applying revision %lld to the local copy: %s: reading it again",
			(long long)revision, strerror(-rc));
		free(c.moved);
		start_load(m);
		return;
	}
	if (revision > e->rev)
		e->rev = revision;
	estore_landing_release(e);
	estore_set_reachable(m, true, NULL);
	if (c.nvns || c.nmoved)
		mapper_changes_post(m, &c);
	else
		free(c.moved);
}

void estore_watch_events(struct mapper *m, int64_t revision, const struct etcd_event *evs,
			 size_t n)
{
	watch_events(m, revision, evs, n);
}

static void watch_compacted(void *arg, int64_t compact_revision)
{
	struct mapper *m = arg;

	log_warn("etcd: the watch's revision was compacted (at %lld): reading the copy again",
		 (long long)compact_revision);
	start_load(m); /* frees the watch, which is over */
}

static void watch_state(void *arg, enum etcd_watch_state st, const struct etcd_error *err)
{
	struct mapper *m = arg;

	switch (st) {
	case ETCD_WATCH_CREATED:
	case ETCD_WATCH_RESUMED:
		estore_set_reachable(m, true, NULL);
		break;
	case ETCD_WATCH_LOST:
		estore_set_reachable(m, false, "watch lost: %s", err ? err->msg : "?");
		break;
	case ETCD_WATCH_FAILED:
		estore_set_reachable(m, false, "watch refused: %s", err ? err->msg : "?");
		start_load(m); /* frees the watch, which is over */
		break;
	}
}

static void start_watch(struct mapper *m)
{
	struct estore *e = &m->estore;
	uint8_t end[ILA_CONF_ETCD_PREFIX_MAX];
	size_t elen = etcd_prefix_end((const uint8_t *)e->prefix, e->plen, end);
	struct etcd_watch_req req = {
		.key = (const uint8_t *)e->prefix, .key_len = e->plen,
		.range_end = end, .range_end_len = elen,
		.start_revision = e->load_rev + 1, .progress_notify = true,
		.on_events = watch_events, .on_compacted = watch_compacted,
		.on_state = watch_state, .arg = m,
	};
	char err[160];

	e->watch = etcd_watch(e->etcd, &req, err, sizeof(err));
	if (!e->watch) {
		estore_set_reachable(m, false, "watch: %s", err);
		ev_timer_again(m->loop, &e->retry_w);
	}
}

/* ---- the copy: reading it at a revision ---- */

static void load_page(struct mapper *m);

static void load_cb(void *arg, const struct etcd_error *err, const struct etcd_range_result *res)
{
	struct mapper *m = arg;
	struct estore *e = &m->estore;
	MDB_txn *txn;
	int rc;

	if (err->kind != ETCD_OK) {
		estore_set_reachable(m, false, "reading %s: %s: %s", e->prefix,
				     etcd_err_name(err->kind), err->msg);
		e->loading = false;
		ev_timer_again(m->loop, &e->retry_w); /* start over, at a new revision */
		return;
	}
	estore_set_reachable(m, true, NULL);
	if (!e->load_rev) {
		e->load_rev = res->header.revision;
		e->cluster_id = (int64_t)res->header.cluster_id;
	}
	if ((rc = store_begin(&m->store, true, &txn)) < 0)
		goto fail;
	for (size_t i = 0; i < res->n_kvs; i++) {
		const struct etcd_kv *kv = &res->kvs[i];
		char name[ILA_PROTO_NAME_MAX + 1];
		struct store_key k;
		struct mapping mp, old;
		int kind = estore_parse_key(e, kv->key, kv->key_len, &k, name, sizeof(name));

		if (kind == ESTORE_KEY_NODE) {
			presence(m, name, true, kv);
			continue;
		}
		if (kind != ESTORE_KEY_MAPPING ||
		    !estore_value_ok(m, &k, kv->value, kv->value_len, &mp)) {
			if (!estore_is_id_key(e, kv->key, kv->key_len))
				e->stats.bad_values++;
			continue;
		}
		mp.jseq = estore_pos(kv->mod_revision, 0);
		bool had = store_get(&m->store, txn, &k, &old) == 0;

		if ((rc = store_apply(&m->store, txn, &mp, had ? &old : NULL, 0)) < 0) {
			store_abort(&m->store, txn);
			goto fail;
		}
	}
	if ((rc = store_commit(&m->store, txn)) < 0)
		goto fail;
	if (res->more && res->n_kvs) {
		const struct etcd_kv *last = &res->kvs[res->n_kvs - 1];

		if (last->key_len + 1 > sizeof(e->load_next)) {
			rc = -EPROTO;
			goto fail;
		}
		memcpy(e->load_next, last->key, last->key_len);
		e->load_next[last->key_len] = '\0'; /* the next key after it */
		e->load_next_len = last->key_len + 1;
		load_page(m);
		return;
	}
	/* the copy holds the prefix at load_rev: what resumes before it needs a
	 * snapshot; then the watch follows from load_rev + 1 */
	if ((rc = store_begin(&m->store, true, &txn)) < 0 ||
	    (rc = store_reset(&m->store, txn, estore_pos(e->load_rev, 0xffff), false)) < 0 ||
	    (rc = store_commit(&m->store, txn)) < 0)
		goto fail;
	e->rev = e->load_rev;
	estore_landing_release(e);
	e->loading = false;
	e->ready = true;
	e->why[0] = '\0';
	log_notice("etcd: local copy of %s read at revision %lld", e->prefix,
		   (long long)e->load_rev);
	start_watch(m);
	/* subscribers positioned before the new copy get their snapshot */
	struct mapper_ev ev = { .type = MAPPER_EV_CHANGED };

	for (unsigned i = 0; i < m->conf->n_vns && i < ILA_ARRAY_SIZE(ev.vns); i++)
		ev.vns[ev.nvns++] = m->conf->vns[i].id;
	mapper_post(m, &ev);
	return;
fail:
	log_err("etcd: local copy: %s", strerror(-rc));
	e->loading = false;
	ev_timer_again(m->loop, &e->retry_w);
}

static void load_page(struct mapper *m)
{
	struct estore *e = &m->estore;
	uint8_t end[ILA_CONF_ETCD_PREFIX_MAX];
	struct etcd_range_req req = {
		.key = e->load_next, .key_len = e->load_next_len,
		.range_end = end,
		.range_end_len = etcd_prefix_end((const uint8_t *)e->prefix, e->plen, end),
		.revision = e->load_rev, .limit = LOAD_PAGE,
	};

	if (etcd_range(e->etcd, &req, load_cb, m) < 0) {
		e->loading = false;
		ev_timer_again(m->loop, &e->retry_w);
	}
}

/*
 * The directory's id: PREFIX "id", 16 hexadecimal digits, made by the first
 * instance (a transaction that creates it only when absent). Nodes resume
 * their journal positions only on mappers of the same id.
 */
static void id_cb(void *arg, const struct etcd_error *err, const struct etcd_txn_result *res)
{
	struct mapper *m = arg;
	struct estore *e = &m->estore;
	const struct etcd_kv *kv = NULL;
	uint8_t b[8];

	if (err->kind != ETCD_OK) {
		estore_set_reachable(m, false, "reading %sid: %s: %s", e->prefix,
				     etcd_err_name(err->kind), err->msg);
		e->loading = false;
		ev_timer_again(m->loop, &e->retry_w);
		return;
	}
	if (!res->succeeded && res->n_responses == 1 &&
	    res->responses[0].type == ETCD_OP_RANGE && res->responses[0].range.n_kvs == 1)
		kv = &res->responses[0].range.kvs[0];
	if (res->succeeded) {
		e->directory = e->new_directory;
	} else if (kv && kv->value_len == 16 && estore_hex_bytes(kv->value, 8, b)) {
		e->directory = ila_get_be64(b);
	} else {
		estore_set_reachable(m, false, "%sid: not 16 hexadecimal digits", e->prefix);
		e->loading = false;
		ev_timer_again(m->loop, &e->retry_w);
		return;
	}
	load_page(m);
}

static void read_id(struct mapper *m)
{
	struct estore *e = &m->estore;
	char key[ILA_CONF_ETCD_PREFIX_MAX + 2], val[17];
	size_t kl = (size_t)snprintf(key, sizeof(key), "%sid", e->prefix);

	do {
		if (getrandom(&e->new_directory, sizeof(e->new_directory), 0) < 0)
			e->new_directory = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	} while (!e->new_directory);
	snprintf(val, sizeof(val), "%016llx", (unsigned long long)e->new_directory);
	struct etcd_compare cmp = { .target = ETCD_CMP_CREATE, .result = ETCD_CMP_EQUAL,
				    .key = (const uint8_t *)key, .key_len = kl };
	struct etcd_op put = { .type = ETCD_OP_PUT, .key = (const uint8_t *)key, .key_len = kl,
			       .value = (const uint8_t *)val, .value_len = 16 };
	struct etcd_op get = { .type = ETCD_OP_RANGE, .key = (const uint8_t *)key, .key_len = kl };
	struct etcd_txn_req req = { .compare = &cmp, .n_compare = 1, .success = &put,
				    .n_success = 1, .failure = &get, .n_failure = 1 };

	if (etcd_txn(e->etcd, &req, id_cb, m) < 0) {
		e->loading = false;
		ev_timer_again(m->loop, &e->retry_w);
	}
}

/* Empties the copy and reads the prefix again at the latest revision. */
static void start_load(struct mapper *m)
{
	struct estore *e = &m->estore;
	MDB_txn *txn;

	if (!e->etcd)
		return; /* not started (the fuzz target applies events alone) */
	if (e->watch) {
		etcd_watch_cancel(e->watch);
		e->watch = NULL;
	}
	if (e->ready)
		e->stats.resyncs++;
	e->ready = false;
	e->loading = true;
	e->load_rev = 0;
	memcpy(e->load_next, e->prefix, e->plen);
	e->load_next_len = e->plen;
	memset(e->present, 0, sizeof(e->present));
	if (store_begin(&m->store, true, &txn) < 0 || store_reset(&m->store, txn, 0, true) < 0 ||
	    store_commit(&m->store, txn) < 0) {
		log_err("etcd: cannot empty the local copy");
		e->loading = false;
		ev_timer_again(m->loop, &e->retry_w);
		return;
	}
	read_id(m);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;

	(void)loop, (void)revents;
	ev_timer_stop(m->loop, w);
	if (!m->estore.ready && !m->estore.loading)
		start_load(m);
	else if (m->estore.ready && !m->estore.watch)
		start_watch(m);
}

/* ---- start and stop ---- */

int estore_start(struct mapper *m, char *err, size_t errlen)
{
	struct estore *e = &m->estore;
	const struct ila_conf *cf = m->conf;
	const char *eps[ILA_CONF_MAX_ETCD];
	char host[64] = "?";
	struct etcd_conf ec = {
		.name = "store",
		.endpoints = eps,
		.n_endpoints = cf->n_etcd,
		.ca_file = cf->etcd_ca[0] ? cf->etcd_ca : NULL,
		.cert_file = cf->etcd_certificate[0] ? cf->etcd_certificate : NULL,
		.key_file = cf->etcd_key[0] ? cf->etcd_key : NULL,
		.request_timeout_ms = cf->etcd_timeout_ms,
		.connect_timeout_ms = cf->etcd_timeout_ms < 1000 ? cf->etcd_timeout_ms : 1000,
	};

	memset(e, 0, sizeof(*e));
	for (unsigned i = 0; i < cf->n_etcd; i++)
		eps[i] = cf->etcd_endpoints[i];
	snprintf(e->prefix, sizeof(e->prefix), "%s", cf->etcd_prefix);
	e->plen = strlen(e->prefix);
	gethostname(host, sizeof(host) - 1);
	snprintf(e->instance, sizeof(e->instance), "%s/%ld", host, (long)getpid());
	e->reachable = true;
	e->landing_tail = &e->landing;
	snprintf(e->why, sizeof(e->why), "reading the directory from etcd");
	if (!(e->etcd = etcd_new(m->loop, &ec, err, errlen)))
		return -EINVAL;
	ev_timer_init(&e->retry_w, retry_cb, 0., 1.);
	e->retry_w.data = m;
	ev_timer_init(&e->pres_w, estore_presence_flush, 0., 0.);
	e->pres_w.data = m;
	ev_timer_init(&e->lease_w, estore_lease_tick, 0., cf->etcd_lease_s / 3.);
	e->lease_w.data = m;
	ev_timer_again(m->loop, &e->lease_w);
	estore_lease_tick(m->loop, &e->lease_w, 0);
	start_load(m);
	return 0;
}

void estore_stop(struct mapper *m)
{
	struct estore *e = &m->estore;

	if (!e->etcd)
		return;
	ev_timer_stop(m->loop, &e->retry_w);
	ev_timer_stop(m->loop, &e->lease_w);
	ev_timer_stop(m->loop, &e->pres_w);
	if (e->watch)
		etcd_watch_cancel(e->watch);
	e->watch = NULL;
	etcd_free(e->etcd); /* pending commits end as failed, their outcome posted */
	e->etcd = NULL;
	estore_landing_free(e);
}
