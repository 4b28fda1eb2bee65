/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ila-mapper/etcdstore.c: the etcd store (doc/etcd.md): the local copy read
 * at a revision and followed by a watch, conditional transactions for what
 * the directory decided, the instance's lease and the nodes' presence keys. */
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

/* a table that cannot grow stays as it was; the add says it failed */
static bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom = true)
#include <uthash.h>

#define POS_SHIFT 16 /* a journal position: revision << 16 | index in the revision */
#define LOAD_PAGE 2048
#define PRESENCE_LEFT "left"

static const char hexd[] = "0123456789abcdef";

uint64_t estore_pos(int64_t rev, unsigned idx)
{
	return ((uint64_t)rev << POS_SHIFT) | (idx & 0xffff);
}

int64_t estore_pos_rev(uint64_t pos)
{
	return (int64_t)(pos >> POS_SHIFT);
}

/* PREFIX m/VVVVVVVV/6-AAAA... (32 hex) or /4-AAAAAAAA */
size_t estore_key(const struct estore *e, const struct store_key *k, char *buf)
{
	size_t n = e->plen, alen = k->b[4] == 4 ? 4 : 16;

	memcpy(buf, e->prefix, n);
	buf[n++] = 'm';
	buf[n++] = '/';
	for (int i = 0; i < 4; i++) {
		buf[n++] = hexd[k->b[i] >> 4];
		buf[n++] = hexd[k->b[i] & 15];
	}
	buf[n++] = '/';
	buf[n++] = k->b[4] == 4 ? '4' : '6';
	buf[n++] = '-';
	for (size_t i = 0; i < alen; i++) {
		buf[n++] = hexd[k->b[5 + i] >> 4];
		buf[n++] = hexd[k->b[5 + i] & 15];
	}
	buf[n] = '\0';
	return n;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool hex_bytes(const uint8_t *s, size_t nbytes, uint8_t *out)
{
	for (size_t i = 0; i < nbytes; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/*
 * A key under the prefix: ESTORE_KEY_MAPPING (k filled), ESTORE_KEY_NODE
 * (name filled, a configured node's name is not checked here), or
 * ESTORE_KEY_OTHER for anything else.
 */
int estore_parse_key(const struct estore *e, const uint8_t *key, size_t len, struct store_key *k,
		     char *name, size_t namelen)
{
	if (len < e->plen + 2 || memcmp(key, e->prefix, e->plen) != 0)
		return ESTORE_KEY_OTHER;
	key += e->plen;
	len -= e->plen;
	if (key[0] == 'n' && key[1] == '/') {
		if (len - 2 == 0 || len - 2 >= namelen)
			return ESTORE_KEY_OTHER;
		for (size_t i = 2; i < len; i++) {
			if (!isgraph(key[i]))
				return ESTORE_KEY_OTHER;
		}
		memcpy(name, key + 2, len - 2);
		name[len - 2] = '\0';
		return ESTORE_KEY_NODE;
	}
	if (key[0] != 'm' || key[1] != '/' || len < 2 + 8 + 1 + 2 || key[10] != '/' ||
	    key[12] != '-')
		return ESTORE_KEY_OTHER;
	memset(k, 0, sizeof(*k));
	if (!hex_bytes(key + 2, 4, k->b))
		return ESTORE_KEY_OTHER;
	if (key[11] == '6' && len == 13 + 32)
		k->b[4] = 6;
	else if (key[11] == '4' && len == 13 + 8)
		k->b[4] = 4;
	else
		return ESTORE_KEY_OTHER;
	if (!hex_bytes(key + 13, k->b[4] == 4 ? 4 : 16, k->b + 5))
		return ESTORE_KEY_OTHER;
	return ESTORE_KEY_MAPPING;
}

/* PREFIX "id": the directory's id, read apart (not a value that failed). */
static bool is_id_key(const struct estore *e, const uint8_t *key, size_t len)
{
	return len == e->plen + 2 && memcmp(key, e->prefix, e->plen) == 0 &&
	       memcmp(key + e->plen, "id", 2) == 0;
}

/* A value from etcd crosses a trust boundary: checked like a record. */
static bool value_ok(const struct mapper *m, const struct store_key *k, const void *v,
		     size_t len, struct mapping *mp)
{
	memset(mp, 0, sizeof(*mp));
	if (store_value_decode(v, len, mp) < 0)
		return false;
	store_key_to_record(k, &mp->rec);
	if (mp->rec.state > ILA_STATE_MAX || !mapper_vn(m, mp->rec.vn))
		return false;
	for (const char *c = mp->rec.node; *c; c++) {
		if (!isgraph((unsigned char)*c))
			return false;
	}
	for (const char *c = mp->standby_node; *c; c++) {
		if (!isgraph((unsigned char)*c))
			return false;
	}
	return true;
}

static void set_reachable(struct mapper *m, bool ok, const char *fmt, ...) ILA_PRINTF(3, 4);

static void set_reachable(struct mapper *m, bool ok, const char *fmt, ...)
{
	struct estore *e = &m->estore;
	char why[sizeof(e->why)] = "";

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (ok && !e->reachable)
		log_notice("etcd: reachable again");
	else if (!ok && (e->reachable || strcmp(why, e->why) != 0))
		log_err("etcd: %s", why);
	if (!ok && e->reachable)
		e->unreachable_since_ms = mapper_now_ms();
	if (ok)
		e->cut = false;
	e->reachable = ok;
	if (!ok)
		snprintf(e->why, sizeof(e->why), "%s", why);
	else if (e->ready)
		e->why[0] = '\0';
}

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
			if (!is_id_key(e, ev->kv.key, ev->kv.key_len))
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
		if (!value_ok(m, &k, ev->kv.value, ev->kv.value_len, &nm)) {
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
static void landing_release(struct estore *e);

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
	landing_release(e);
	set_reachable(m, true, NULL);
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
		set_reachable(m, true, NULL);
		break;
	case ETCD_WATCH_LOST:
		set_reachable(m, false, "watch lost: %s", err ? err->msg : "?");
		break;
	case ETCD_WATCH_FAILED:
		set_reachable(m, false, "watch refused: %s", err ? err->msg : "?");
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
		set_reachable(m, false, "watch: %s", err);
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
		set_reachable(m, false, "reading %s: %s: %s", e->prefix, etcd_err_name(err->kind),
			      err->msg);
		e->loading = false;
		ev_timer_again(m->loop, &e->retry_w); /* start over, at a new revision */
		return;
	}
	set_reachable(m, true, NULL);
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
		if (kind != ESTORE_KEY_MAPPING || !value_ok(m, &k, kv->value, kv->value_len, &mp)) {
			if (!is_id_key(e, kv->key, kv->key_len))
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
	landing_release(e);
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
		set_reachable(m, false, "reading %sid: %s: %s", e->prefix,
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
	} else if (kv && kv->value_len == 16 && hex_bytes(kv->value, 8, b)) {
		e->directory = ila_get_be64(b);
	} else {
		set_reachable(m, false, "%sid: not 16 hexadecimal digits", e->prefix);
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

/* ---- the lease and the nodes' presence keys ---- */

static void presence_put(struct mapper *m, int node, bool left);

static void lease_cb(void *arg, const struct etcd_error *err, const struct etcd_lease_result *res)
{
	struct mapper *m = arg;
	struct estore *e = &m->estore;

	e->lease_pending = false;
	if (err->kind == ETCD_OK || err->kind == ETCD_ERR_LEASE_GONE)
		set_reachable(m, true, NULL); /* a member answered: the keepalive is the heartbeat */
	if (err->kind == ETCD_ERR_LEASE_GONE) {
		/* expired while unreachable: the other instances have failed
		 * our nodes over; they keep their sessions and are announced
		 * again under a new lease */
		log_err("etcd: lease %llx lost: taking a new one",
			(unsigned long long)e->lease);
		e->stats.lease_lost++;
		e->lease = 0;
	} else if (err->kind != ETCD_OK) {
		set_reachable(m, false, "lease: %s: %s", etcd_err_name(err->kind), err->msg);
		return;
	} else if (!e->lease) {
		e->lease = res->id;
		e->stats.lease_grants++;
		for (unsigned i = 0; i < m->conf->n_nodes; i++) {
			if (e->mine[i])
				presence_put(m, (int)i, false);
		}
	}
}

static void lease_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;
	struct estore *e = &m->estore;
	int rc;

	(void)loop, (void)revents;
	/* cut off for a lease's time: the other instances have failed this
	 * one's nodes over; they are told to go where etcd is reachable */
	if (!e->reachable && !e->cut &&
	    mapper_now_ms() - e->unreachable_since_ms >= m->conf->etcd_lease_s * 1000ull) {
		struct mapper_ev ev = { .type = MAPPER_EV_STORE_LOST };

		e->cut = true;
		log_err("etcd: unreachable for %u s (%s): sending the nodes to other mappers",
			m->conf->etcd_lease_s, e->why);
		mapper_post(m, &ev);
	}
	if (e->lease_pending)
		return;
	if (e->lease)
		rc = etcd_lease_keepalive(e->etcd, e->lease, lease_cb, m);
	else
		rc = etcd_lease_grant(e->etcd, m->conf->etcd_lease_s, 0, lease_cb, m);
	e->lease_pending = rc == 0;
}

static void presence_cb(void *arg, const struct etcd_error *err,
			const struct etcd_txn_result *res)
{
	struct mapper *m = arg;

	(void)res;
	if (err->kind != ETCD_OK)
		set_reachable(m, false, "presence: %s: %s", etcd_err_name(err->kind), err->msg);
}

/*
 * Presence keys are written in batches, once per loop iteration: nodes that
 * connect or leave together (an instance's restart, a rack's reboot) cost a
 * transaction per 64 keys instead of one each, and stay well below the
 * client's requests in flight. pres_todo holds the last wish per node.
 */
enum { PRES_NONE, PRES_PUT, PRES_LEFT, PRES_DEL };

struct pres_txn {
	struct mapper *m;
	size_t n;
	bool again;	/* deletes: the keys found under this lease after a failed compare */
	int nodes[ESTORE_OPS_PER_TXN];
	struct etcd_compare cmp[ESTORE_OPS_PER_TXN];
	struct etcd_op ops[ESTORE_OPS_PER_TXN];
	struct etcd_op fail[ESTORE_OPS_PER_TXN]; /* deletes: read the keys back */
	char keys[ESTORE_OPS_PER_TXN][ESTORE_KEY_MAX + ILA_CONF_NAME_MAX];
};

static void presence_schedule(struct mapper *m, double delay)
{
	struct estore *e = &m->estore;

	if (!ev_is_active(&e->pres_w)) {
		ev_timer_set(&e->pres_w, delay, 0.);
		ev_timer_start(m->loop, &e->pres_w);
	}
}

/* n/NODE deleted only while under this instance's lease: the node may be
 * elsewhere now. */
static void presence_del_one(struct mapper *m, int node)
{
	struct estore *e = &m->estore;
	char key[ESTORE_KEY_MAX + ILA_CONF_NAME_MAX];
	int n = snprintf(key, sizeof(key), "%sn/%s", e->prefix, m->conf->nodes[node].name);
	struct etcd_compare cmp = { .target = ETCD_CMP_LEASE, .result = ETCD_CMP_EQUAL,
				    .key = (const uint8_t *)key, .key_len = (size_t)n,
				    .number = e->lease };
	struct etcd_op del = { .type = ETCD_OP_DELETE_RANGE, .key = (const uint8_t *)key,
			       .key_len = (size_t)n };
	struct etcd_txn_req req = { .compare = &cmp, .n_compare = 1, .success = &del,
				    .n_success = 1 };

	if (etcd_txn(e->etcd, &req, presence_cb, m) < 0 && e->pres_todo[node] == PRES_NONE) {
		e->pres_todo[node] = PRES_DEL; /* the client is full: later */
		presence_schedule(m, 0.05);
	}
}

static void presence_add(struct pres_txn *t, struct mapper *m, int node, uint8_t todo);
static void presence_send(struct mapper *m, struct pres_txn *t, bool del);

static void presence_del_cb(void *arg, const struct etcd_error *err,
			    const struct etcd_txn_result *res)
{
	struct pres_txn *t = arg, *t2;
	struct mapper *m = t->m;

	if (err->kind != ETCD_OK || res->succeeded) {
		presence_cb(m, err, res);
		free(t);
		return;
	}
	/* some key is absent or under another lease (the node is elsewhere
	 * now): the keys read back under this lease, in one more transaction */
	if (!t->again && res->n_responses == t->n && (t2 = calloc(1, sizeof(*t2)))) {
		t2->again = true;
		for (size_t i = 0; i < t->n; i++) {
			const struct etcd_op_result *r = &res->responses[i];

			if (r->type == ETCD_OP_RANGE && r->range.n_kvs == 1 &&
			    r->range.kvs[0].lease == m->estore.lease)
				presence_add(t2, m, t->nodes[i], PRES_DEL);
		}
		if (t2->n)
			presence_send(m, t2, true);
		else
			free(t2);
	} else {
		for (size_t i = 0; i < t->n; i++)
			presence_del_one(m, t->nodes[i]);
	}
	free(t);
}

static void presence_put_cb(void *arg, const struct etcd_error *err,
			    const struct etcd_txn_result *res)
{
	struct pres_txn *t = arg;

	presence_cb(t->m, err, res);
	free(t);
}

static void presence_send(struct mapper *m, struct pres_txn *t, bool del)
{
	struct estore *e = &m->estore;
	struct etcd_txn_req req = { .compare = del ? t->cmp : NULL, .n_compare = del ? t->n : 0,
				    .success = t->ops, .n_success = t->n,
				    .failure = del ? t->fail : NULL, .n_failure = del ? t->n : 0 };

	if (etcd_txn(e->etcd, &req, del ? presence_del_cb : presence_put_cb, t) == 0) {
		if (del)
			e->stats.presence_dels += t->n;
		else
			e->stats.presence_puts += t->n;
		return;
	}
	/* the client is full: again shortly, unless a newer wish came */
	for (size_t i = 0; i < t->n; i++) {
		int node = t->nodes[i];

		if (e->pres_todo[node] == PRES_NONE)
			e->pres_todo[node] = del ? PRES_DEL : t->ops[i].lease ? PRES_PUT : PRES_LEFT;
	}
	free(t);
	presence_schedule(m, 0.05);
}

/* One more key in the batch t. */
static void presence_add(struct pres_txn *t, struct mapper *m, int node, uint8_t todo)
{
	struct estore *e = &m->estore;
	bool del = todo == PRES_DEL;
	const char *val = todo == PRES_LEFT ? PRESENCE_LEFT : e->instance;
	size_t i = t->n++;
	int n = snprintf(t->keys[i], sizeof(t->keys[0]), "%sn/%s", e->prefix,
			 m->conf->nodes[node].name);
	const uint8_t *key = (const uint8_t *)t->keys[i];

	t->m = m;
	t->nodes[i] = node;
	t->ops[i] = (struct etcd_op){
		.type = del ? ETCD_OP_DELETE_RANGE : ETCD_OP_PUT, .key = key, .key_len = (size_t)n,
		.value = del ? NULL : (const uint8_t *)val, .value_len = del ? 0 : strlen(val),
		.lease = todo == PRES_PUT ? e->lease : 0,
	};
	if (!del)
		return;
	t->cmp[i] = (struct etcd_compare){ .target = ETCD_CMP_LEASE, .result = ETCD_CMP_EQUAL,
					   .key = key, .key_len = (size_t)n, .number = e->lease };
	t->fail[i] = (struct etcd_op){ .type = ETCD_OP_RANGE, .key = key, .key_len = (size_t)n };
}

static void presence_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;
	struct estore *e = &m->estore;
	struct pres_txn *put = NULL, *del = NULL;

	(void)loop, (void)revents;
	for (unsigned i = 0; i < m->conf->n_nodes; i++) {
		uint8_t todo = e->pres_todo[i];
		bool is_del = todo == PRES_DEL;
		struct pres_txn **tp = is_del ? &del : &put;

		if (todo == PRES_NONE || (todo == PRES_PUT && !e->lease))
			continue; /* a put without lease: written when the lease comes */
		if (!*tp && !(*tp = calloc(1, sizeof(**tp)))) {
			presence_schedule(m, 0.05);
			continue;
		}
		e->pres_todo[i] = PRES_NONE;
		presence_add(*tp, m, (int)i, todo);
		if ((*tp)->n == ESTORE_OPS_PER_TXN) {
			presence_send(m, *tp, is_del);
			*tp = NULL;
		}
	}
	if (put)
		presence_send(m, put, false);
	if (del)
		presence_send(m, del, true);
}

/* n/NODE under this instance's lease (left: no lease, no failover). */
static void presence_put(struct mapper *m, int node, bool left)
{
	struct estore *e = &m->estore;

	if (!left && !e->lease)
		return; /* written when the lease comes */
	e->pres_todo[node] = left ? PRES_LEFT : PRES_PUT;
	presence_schedule(m, 0.);
}

void estore_node_up(struct mapper *m, int node)
{
	if (node < 0 || (unsigned)node >= m->conf->n_nodes)
		return;
	m->estore.mine[node] = true;
	presence_put(m, node, false);
}

/* The node's last session here closed: failed deletes its key (the
 * instances fail it over), otherwise it is marked as gone on purpose. */
void estore_node_down(struct mapper *m, int node, bool failed)
{
	struct estore *e = &m->estore;

	if (node < 0 || (unsigned)node >= m->conf->n_nodes || !e->mine[node])
		return;
	e->mine[node] = false;
	if (!failed) {
		presence_put(m, node, true);
		return;
	}
	e->pres_todo[node] = PRES_DEL;
	presence_schedule(m, 0.);
}

bool estore_usable(const struct mapper *m)
{
	return m->estore.ready && !m->estore.cut;
}

bool estore_present(const struct mapper *m, int node)
{
	return node >= 0 && (unsigned)node < m->conf->n_nodes && m->estore.present[node];
}

/* ---- keys in flight: written, not yet back in the copy ---- */

struct estore_busy_key {
	struct store_key k;
	uint32_t count; /* transactions holding the key */
	UT_hash_handle hh;
};

/* The keys of one answered transaction, held until the copy reaches rev. */
struct estore_landing {
	struct estore_landing *next;
	int64_t rev;
	size_t n;
	struct store_key keys[ESTORE_OPS_PER_TXN];
};

static struct estore_busy_key *busy_find(const struct estore_keyset *s, const struct store_key *k)
{
	struct estore_busy_key *b = NULL;

	HASH_FIND(hh, s->keys, k->b, STORE_KEY_LEN, b);
	return b;
}

/* Without memory the key is not held: a decision on it then meets a
 * conflict at worst, the compare keeps it right. */
static void busy_add(struct estore_keyset *s, const struct store_key *k)
{
	struct estore_busy_key *b = busy_find(s, k);

	if (b) {
		b->count++;
		return;
	}
	if (!(b = calloc(1, sizeof(*b))))
		return;
	b->k = *k;
	b->count = 1;
	hash_oom = false;
	HASH_ADD(hh, s->keys, k.b, STORE_KEY_LEN, b);
	if (hash_oom) {
		free(b);
		return;
	}
	s->n++;
}

static void busy_del(struct estore_keyset *s, const struct store_key *k)
{
	struct estore_busy_key *b = busy_find(s, k);

	if (!b || --b->count)
		return;
	HASH_DEL(s->keys, b);
	free(b);
	s->n--;
}

bool estore_busy(const struct mapper *m, const struct store_key *k)
{
	return busy_find(&m->estore.busy, k) != NULL;
}

/* Lets go of the keys of the answered transactions the copy has reached. */
static void landing_release(struct estore *e)
{
	struct estore_landing **pp = &e->landing, *l;

	while ((l = *pp)) {
		if (l->rev > e->rev) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		for (size_t i = 0; i < l->n; i++)
			busy_del(&e->busy, &l->keys[i]);
		free(l);
	}
	e->landing_tail = pp;
}

/* An answered transaction's keys stay busy until the copy has rev. */
static void landing_add(struct estore *e, const struct store_key *keys, size_t n, int64_t rev)
{
	struct estore_landing *l = rev > e->rev ? malloc(sizeof(*l)) : NULL;

	if (!l) {
		for (size_t i = 0; i < n; i++)
			busy_del(&e->busy, &keys[i]);
		return;
	}
	l->next = NULL;
	l->rev = rev;
	l->n = n;
	memcpy(l->keys, keys, n * sizeof(*keys));
	*e->landing_tail = l;
	e->landing_tail = &l->next;
}

static void landing_free(struct estore *e)
{
	struct estore_landing *l;

	while ((l = e->landing)) {
		e->landing = l->next;
		free(l);
	}
	e->landing_tail = &e->landing;
	struct estore_busy_key *b, *tmp;

	HASH_ITER(hh, e->busy.keys, b, tmp) {
		HASH_DEL(e->busy.keys, b);
		free(b);
	}
	memset(&e->busy, 0, sizeof(e->busy));
}

/* ---- commits ---- */

struct ecommit {
	struct mapper *m;
	void *token;
	uint8_t *outcome;	/* per recorded change */
	size_t nops;
	unsigned txns_left;
	int64_t rev;		/* highest revision committed */
};

struct etx {
	struct ecommit *c;
	size_t first, n;
	struct etcd_compare cmp[ESTORE_OPS_PER_TXN];
	struct etcd_op ops[ESTORE_OPS_PER_TXN];
	struct store_key skeys[ESTORE_OPS_PER_TXN];
	char keys[ESTORE_OPS_PER_TXN][ESTORE_KEY_MAX];
	uint8_t vals[ESTORE_OPS_PER_TXN][STORE_VALUE_MAX];
};

static void commit_done(struct ecommit *c)
{
	struct mapper_ev ev = { .type = MAPPER_EV_COMMITTED, .token = c->token,
				.outcome = c->outcome, .noutcome = c->nops, .rev = c->rev };

	mapper_post(c->m, &ev); /* takes the outcomes */
	free(c);
}

static void txn_cb(void *arg, const struct etcd_error *err, const struct etcd_txn_result *res)
{
	struct etx *t = arg;
	struct ecommit *c = t->c;
	struct estore *e = &c->m->estore;
	uint8_t o;
	int64_t rev = e->seen_rev;

	e->inflight--;
	if (err->kind == ETCD_OK && res->header.revision > e->seen_rev)
		e->seen_rev = rev = res->header.revision;
	if (err->kind == ETCD_OK && res->succeeded) {
		o = ESTORE_COMMITTED;
		if (res->header.revision > c->rev)
			c->rev = res->header.revision;
		set_reachable(c->m, true, NULL);
	} else if (err->kind == ETCD_OK) {
		o = ESTORE_CONFLICT;
		e->stats.txn_conflicts++;
		if (res->header.revision > c->rev)
			c->rev = res->header.revision; /* the copy must get there first */
	} else {
		o = ESTORE_FAILED;
		if (err->kind == ETCD_ERR_OUTCOME_UNKNOWN)
			e->stats.txn_unknown++;
		e->stats.txn_failures++;
		set_reachable(c->m, err->kind == ETCD_ERR_ETCD, "commit: %s: %s",
			      etcd_err_name(err->kind), err->msg);
	}
	memset(c->outcome + t->first, o, t->n);
	/* committed or not, the keys are decided again only on a copy that
	 * holds the answer's revision (a failed one: the last seen) */
	landing_add(e, t->skeys, t->n, err->kind == ETCD_OK ? res->header.revision : rev);
	free(t);
	if (--c->txns_left == 0)
		commit_done(c);
}

int estore_commit(struct mapper *m, const struct store_op *ops, size_t nops, void *token)
{
	struct estore *e = &m->estore;
	struct ecommit *c = calloc(1, sizeof(*c));

	if (!c || !(c->outcome = malloc(nops ? nops : 1))) {
		free(c);
		return -ENOMEM;
	}
	c->m = m;
	c->token = token;
	c->nops = nops;
	memset(c->outcome, ESTORE_FAILED, nops);
	c->txns_left = 1; /* held while sending */
	for (size_t first = 0; first < nops; first += ESTORE_OPS_PER_TXN) {
		struct etx *t = calloc(1, sizeof(*t));
		size_t n = nops - first < ESTORE_OPS_PER_TXN ? nops - first : ESTORE_OPS_PER_TXN;

		if (!t)
			break; /* what is left stays failed */
		t->c = c;
		t->first = first;
		t->n = n;
		for (size_t i = 0; i < n; i++) {
			const struct store_op *op = &ops[first + i];
			size_t kl = estore_key(e, &op->key, t->keys[i]);

			t->skeys[i] = op->key;
			t->cmp[i] = (struct etcd_compare){
				.target = op->expect_rev ? ETCD_CMP_MOD : ETCD_CMP_CREATE,
				.result = ETCD_CMP_EQUAL,
				.key = (const uint8_t *)t->keys[i], .key_len = kl,
				.number = op->expect_rev ? estore_pos_rev(op->expect_rev) : 0,
			};
			t->ops[i] = (struct etcd_op){
				.type = op->del ? ETCD_OP_DELETE_RANGE : ETCD_OP_PUT,
				.key = (const uint8_t *)t->keys[i], .key_len = kl,
			};
			if (!op->del) {
				t->ops[i].value = t->vals[i];
				t->ops[i].value_len = store_value_encode(&op->m, t->vals[i]);
			}
		}
		struct etcd_txn_req req = { .compare = t->cmp, .n_compare = n,
					    .success = t->ops, .n_success = n };

		c->txns_left++;
		e->stats.txns++;
		for (size_t i = 0; i < n; i++)
			busy_add(&e->busy, &t->skeys[i]);
		if (etcd_txn(e->etcd, &req, txn_cb, t) < 0) {
			for (size_t i = 0; i < n; i++)
				busy_del(&e->busy, &t->skeys[i]);
			c->txns_left--;
			e->stats.txn_failures++;
			free(t);
			continue;
		}
		e->inflight++;
	}
	if (--c->txns_left == 0)
		commit_done(c);
	return 0;
}

bool estore_caught_up(const struct mapper *m, int64_t rev)
{
	return m->estore.ready && m->estore.rev >= rev;
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
	ev_timer_init(&e->pres_w, presence_flush, 0., 0.);
	e->pres_w.data = m;
	ev_timer_init(&e->lease_w, lease_tick, 0., cf->etcd_lease_s / 3.);
	e->lease_w.data = m;
	ev_timer_again(m->loop, &e->lease_w);
	lease_tick(m->loop, &e->lease_w, 0);
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
	landing_free(e);
}
