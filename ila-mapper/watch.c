/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-mapper/watch.c: the interests of on-demand nodes (protocol.md 8.9).
 * A QUERY with flag WATCH records (node, vn, address) for `watch lifetime`
 * seconds; every later change of such a mapping is pushed, in journal
 * order, to the node's sessions with flag WATCHED. RELEASE forgets them.
 * Interests live in this instance's memory and belong to the node's
 * sessions here: they go with its last session.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "log.h"
#include "mapper.h"

struct watcher {
	int node;		/* config index */
	uint64_t until_s;	/* mapper_now_s() when it lapses */
};

struct interest {
	struct store_key k;
	struct watcher *w;
	unsigned n, cap;
	UT_hash_handle hh;
};

/* Room for one more element of size sz in *arr, which holds n of *cap:
 * 0, or -ENOMEM (*arr unchanged). */
static int grow(void *arr, unsigned n, unsigned *cap, size_t sz)
{
	void **p = arr;
	unsigned c;
	void *nb;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	if (!(nb = realloc(*p, c * sz)))
		return -ENOMEM;
	*p = nb;
	*cap = c;
	return 0;
}

static struct watcher *watcher_find(struct interest *in, int node)
{
	for (unsigned i = 0; i < in->n; i++)
		if (in->w[i].node == node)
			return &in->w[i];
	return NULL;
}

static void watcher_del(struct mapper *m, struct interest *in, unsigned i)
{
	int node = in->w[i].node;

	if (node >= 0 && (unsigned)node < ILA_CONF_MAX_NODES && m->watch_count[node])
		m->watch_count[node]--;
	in->w[i] = in->w[--in->n];
	m->watch_total--;
	if (in->n == 0) {
		HASH_DEL(m->interests, in);
		free(in->w);
		free(in);
	}
}

static struct interest *interest_get(struct mapper *m, const struct store_key *k, bool create)
{
	struct interest *in;

	HASH_FIND(hh, m->interests, k->b, STORE_KEY_LEN, in);
	if (in || !create)
		return in;
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->k = *k;
	HASH_ADD(hh, m->interests, k.b, STORE_KEY_LEN, in);
	return in;
}

/* The interest in the query's i-th address (made when create), or NULL. */
static struct interest *query_interest(struct mapper *m, const struct ila_msg *msg, size_t i,
				       bool create)
{
	struct ila_record q = msg->rec[i];
	struct store_key k;

	q.vn = msg->sub.vn;
	store_key_of(&q, &k);
	return interest_get(m, &k, create);
}

unsigned watch_count(const struct mapper *m, int node)
{
	if (node < 0 || (unsigned)node >= ILA_CONF_MAX_NODES)
		return 0;
	return m->watch_count[node];
}

bool watch_has(const struct mapper *m, int node, const struct ila_record *r)
{
	struct store_key k;
	struct interest *in;

	store_key_of(r, &k);
	HASH_FIND(hh, m->interests, k.b, STORE_KEY_LEN, in);
	return in && watcher_find(in, node) != NULL;
}

int watch_query(struct mapper *m, int node, const struct ila_msg *msg)
{
	uint64_t until = mapper_now_s(m) + m->conf->watch_lifetime_s;
	unsigned fresh = 0;

	if (node < 0 || (unsigned)node >= ILA_CONF_MAX_NODES)
		return -EINVAL;
	if (m->watch_total == 0)
		m->watch_pos = m->store.committed_jseq; /* nothing watched before now */
	if (msg->sub.flags & ILA_QUERY_F_RELEASE) {
		for (size_t i = 0; i < msg->nrec; i++) {
			struct interest *in = query_interest(m, msg, i, false);
			struct watcher *w;

			if (!in || !(w = watcher_find(in, node)))
				continue;
			watcher_del(m, in, (unsigned)(w - in->w));
			m->stats.watch_released++;
		}
		return 0;
	}
	/* the quota: the addresses this query would add, all or none */
	for (size_t i = 0; i < msg->nrec; i++) {
		struct interest *in = query_interest(m, msg, i, false);

		if (!in || !watcher_find(in, node))
			fresh++; /* an address asked twice counts twice: an upper bound */
	}
	if (m->conf->watch_max && m->watch_count[node] + fresh > m->conf->watch_max) {
		m->stats.watch_quota++;
		return -EDQUOT;
	}
	for (size_t i = 0; i < msg->nrec; i++) {
		struct interest *in = query_interest(m, msg, i, true);
		struct watcher *w;

		if (!in)
			return -ENOMEM;
		if ((w = watcher_find(in, node))) {
			if (w->until_s != until)
				m->stats.watch_refreshed++;
			w->until_s = until;
			continue;
		}
		if (grow(&in->w, in->n, &in->cap, sizeof(*in->w)) < 0) {
			if (in->n == 0) {
				HASH_DEL(m->interests, in);
				free(in);
			}
			return -ENOMEM;
		}
		in->w[in->n++] = (struct watcher){ .node = node, .until_s = until };
		m->watch_count[node]++;
		m->watch_total++;
		m->stats.watch_added++;
	}
	return 0;
}

void watch_node_gone(struct mapper *m, int node)
{
	struct interest *in, *tmp;

	HASH_ITER(hh, m->interests, in, tmp) {
		struct watcher *w = watcher_find(in, node);

		if (w) {
			watcher_del(m, in, (unsigned)(w - in->w));
			m->stats.watch_dropped++;
		}
	}
}

void watch_expire(struct mapper *m)
{
	uint64_t now = mapper_now_s(m);
	struct interest *in, *tmp;

	HASH_ITER(hh, m->interests, in, tmp) {
		for (unsigned i = in->n; i-- > 0;) {
			if (in->w[i].until_s > now)
				continue;
			m->stats.watch_expired++;
			/* frees in with its last watcher, which is at i 0 */
			watcher_del(m, in, i);
		}
	}
}

/* A change of a watched mapping, for one watcher. */
struct watch_hit {
	int node;
	unsigned idx;	/* in the collected records: journal order */
	uint32_t left_s; /* the interest's time left */
};

struct watch_scan {
	struct mapper *m;
	struct ila_record *rec;
	unsigned n, cap;
	struct watch_hit *hits;
	unsigned nhits, caphits;
	uint64_t now;
	bool oom;
};

static int hit_cmp(const void *a, const void *b)
{
	const struct watch_hit *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int watch_collect(void *arg, uint64_t jseq, const struct store_key *k,
			 const struct mapping *mp)
{
	struct watch_scan *sc = arg;
	struct interest *in;

	if (mp && mp->jseq > jseq)
		return 1; /* changed again later: pushed at its latest entry (8.8) */
	HASH_FIND(hh, sc->m->interests, k->b, STORE_KEY_LEN, in);
	if (!in || sc->oom)
		return 1;
	if (grow(&sc->rec, sc->n, &sc->cap, sizeof(*sc->rec)) < 0) {
		sc->oom = true;
		return 1;
	}
	push_record_of(sc->m, k, mp, &sc->rec[sc->n]);
	for (unsigned i = 0; i < in->n; i++) {
		if (in->w[i].until_s <= sc->now)
			continue; /* lapsed: watch_expire() takes it away */
		if (grow(&sc->hits, sc->nhits, &sc->caphits, sizeof(*sc->hits)) < 0) {
			sc->oom = true;
			return 1;
		}
		sc->hits[sc->nhits++] = (struct watch_hit){
			.node = in->w[i].node, .idx = sc->n,
			.left_s = (uint32_t)(in->w[i].until_s - sc->now) };
	}
	sc->n++;
	return 0;
}

/* Sends the records of hits[from, to) (one node's, in journal order) to
 * every open session of that node that negotiated WATCH. */
static void watch_send(struct mapper *m, uint32_t vn, uint64_t pos, struct watch_scan *sc,
		       unsigned from, unsigned to)
{
	int node = sc->hits[from].node;
	struct ila_record *recs = calloc(to - from, sizeof(*recs));
	struct ila_msg push = { .type = ILA_MSG_PUSH }, frame;
	struct ila_msg_batch b;

	if (!recs)
		return;
	for (unsigned i = from; i < to; i++) {
		struct ila_record *r = &recs[i - from];

		*r = sc->rec[sc->hits[i].idx];
		/* no longer than the interest, which the node renews by asking
		 * again before the record's lifetime runs out */
		if (r->state != ILA_STATE_REMOVED && r->lifetime > sc->hits[i].left_s)
			r->lifetime = sc->hits[i].left_s;
	}
	push.push.vn = vn;
	push.push.flags = ILA_PUSH_F_WATCHED;
	push.push.high_seq = pos;
	push.rec = recs;
	push.nrec = to - from;
	for (struct session *s = session_next(m, NULL), *next; s; s = next) {
		struct session_info si;

		next = session_next(m, s);
		if (!session_open(s) || session_node(s) != node)
			continue;
		session_info(s, &si);
		if (!(si.caps & ILA_CAP_WATCH))
			continue;
		ila_msg_batch_init(&b, &push, m->conf->push_batch);
		while (ila_msg_batch_next(&b, &frame)) {
			if (session_send(s, &frame) < 0)
				break;
			m->stats.watch_push_frames++;
			m->stats.watch_push_records += frame.nrec;
		}
		if (ila_ctl_monitoring(m->ctl))
			mapper_event(m, "push", NULL, session_node_name(s), "watched");
		session_kick(s);
	}
	free(recs);
}

void watch_changed(struct mapper *m, const uint32_t *vns, unsigned nvns)
{
	uint64_t start = m->watch_pos, end = m->store.committed_jseq;

	if (m->watch_total == 0 || end <= start) {
		if (end > start)
			m->watch_pos = end;
		return;
	}
	for (unsigned v = 0; v < nvns; v++) {
		struct watch_scan sc = { .m = m, .now = mapper_now_s(m) };
		uint64_t pos = start;
		MDB_txn *txn;

		if (store_begin(&m->store, false, &txn) < 0)
			break;
		/* at most STORE_JOURNAL_SCAN entries per call: on to the end */
		while (pos < end) {
			uint64_t reached = pos;
			int rc = store_journal(&m->store, txn, vns[v], pos, ILA_PROTO_MAX_RECORDS,
					       &reached, watch_collect, &sc);

			if (rc == -ERANGE) {
				log_warn("watched changes of vn %u before position %llu are no "
					 "longer in the journal", vns[v],
					 (unsigned long long)pos);
				break;
			}
			if (rc < 0 || reached <= pos)
				break;
			pos = reached;
		}
		mdb_txn_abort(txn);
		if (sc.oom)
			log_warn("watched changes of vn %u: out of memory, some not pushed",
				 vns[v]);
		if (sc.nhits) /* sc.hits is NULL when nothing was hit */
			qsort(sc.hits, sc.nhits, sizeof(*sc.hits), hit_cmp);
		for (unsigned i = 0, j; i < sc.nhits; i = j) {
			for (j = i + 1; j < sc.nhits && sc.hits[j].node == sc.hits[i].node; j++)
				;
			watch_send(m, vns[v], pos, &sc, i, j);
		}
		free(sc.rec);
		free(sc.hits);
	}
	m->watch_pos = end;
}

void watch_reconfigure(struct mapper *m, const struct ila_conf *old)
{
	struct interest *in, *tmp;

	memset(m->watch_count, 0, sizeof(m->watch_count));
	m->watch_total = 0;
	HASH_ITER(hh, m->interests, in, tmp) {
		struct ila_record r = { 0 };
		const struct ila_conf_vn *vn;

		store_key_to_record(&in->k, &r);
		vn = mapper_vn(m, r.vn);
		for (unsigned i = 0; i < in->n;) {
			int node = in->w[i].node < 0 || (unsigned)in->w[i].node >= old->n_nodes
					   ? -1
					   : ila_conf_node_find(m->conf, old->nodes[in->w[i].node].name);

			/* a node gone, or no longer allowed to read the vn, loses it */
			if (node < 0 || !vn || (!ila_conf_nodeset_has(vn->subscribe, (unsigned)node) &&
						!ila_conf_nodeset_has(vn->serve, (unsigned)node))) {
				in->w[i] = in->w[--in->n];
				m->stats.watch_dropped++;
				continue;
			}
			in->w[i].node = node;
			m->watch_count[node]++;
			m->watch_total++;
			i++;
		}
		if (in->n == 0) {
			HASH_DEL(m->interests, in);
			free(in->w);
			free(in);
		}
	}
}

static void watch_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	watch_expire(w->data);
}

void watch_init(struct mapper *m)
{
	m->watch_pos = m->store.committed_jseq;
	ev_timer_init(&m->watch_w, watch_timer_cb, 1.0, 1.0);
	m->watch_w.data = m;
	ev_timer_start(m->loop, &m->watch_w);
}

void watch_stop(struct mapper *m)
{
	struct interest *in, *tmp;

	ev_timer_stop(m->loop, &m->watch_w);
	HASH_ITER(hh, m->interests, in, tmp) {
		HASH_DEL(m->interests, in);
		free(in->w);
		free(in);
	}
	memset(m->watch_count, 0, sizeof(m->watch_count));
	m->watch_total = 0;
}
