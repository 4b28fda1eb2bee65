/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "clock.h"
#include "mapper.h"

/*
 * A frame of journal changes built once during a push_flush() and sent as
 * it is to every other subscriber at the same position: the store does not
 * change while the flush runs, so the frame would come out the same, and a
 * move fanning out to thousands of nodes costs one journal scan and one
 * encoding instead of one per node.
 */
struct push_memo {
	uint32_t vn;
	uint64_t pos;	/* the subscription's position before the frame */
	unsigned max;
	int rc;		/* what pump_one returned: 0, 1 (frame) or 2 */
	uint64_t next_pos;
	unsigned nrec;
	uint64_t high_seq;
	uint64_t commit_us; /* when its first change was committed (0: unknown) */
	uint8_t *frame;
	size_t len, cap;
};

#define PUSH_MEMO_MAX 16

/* Records of one PUSH frame being built. */
struct push_batch {
	const struct mapper *m;
	struct ila_record *rec;
	unsigned n, max;
	uint64_t last_jseq;
	struct store_key last_key;
};

static int snap_collect(void *arg, const struct store_key *k, const struct mapping *mp)
{
	struct push_batch *b = arg;

	b->last_key = *k;
	if (mp->rec.state == ILA_STATE_REMOVED)
		return 0; /* tombstones are not part of a snapshot */
	b->rec[b->n] = mp->rec;
	b->rec[b->n++].lifetime = mapper_lifetime_left(b->m, mp);
	return b->n == b->max ? 1 : 0;
}

/* A mapping gone from the store (its tombstone forgotten) is known only by
 * its journal entries: an earlier one of them in this frame gives way to
 * the later. Returns whether one did. */
static bool drop_gone(struct push_batch *b, const struct store_key *k)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct store_key rk;

		store_key_of(&b->rec[i], &rk);
		if (memcmp(rk.b, k->b, STORE_KEY_LEN) != 0)
			continue;
		memmove(&b->rec[i], &b->rec[i + 1], (b->n - i - 1) * sizeof(*b->rec));
		b->n--;
		return true;
	}
	return false;
}

void push_record_of(const struct mapper *m, const struct store_key *k, const struct mapping *mp,
		    struct ila_record *r)
{
	if (mp) {
		*r = mp->rec;
		if (r->state != ILA_STATE_REMOVED)
			r->lifetime = mapper_lifetime_left(m, mp);
	} else {
		memset(r, 0, sizeof(*r));
		store_key_to_record(k, r);
		r->state = ILA_STATE_REMOVED;
	}
}

/*
 * Changes held for one session collapse into the latest (protocol.md 8.8):
 * each entry gives the mapping as it is now, so an entry of a mapping that
 * changed again later is passed over, and the mapping goes out once, at
 * the position of its last change. Returns 0 when the entry took a place
 * in the frame, 1 when it did not (store_journal counts only the former).
 */
static int journal_collect(void *arg, uint64_t jseq, const struct store_key *k,
			   const struct mapping *mp)
{
	struct push_batch *b = arg;
	bool folded = false;

	if (mp && mp->jseq > jseq)
		return 1;
	if (!mp || mp->jseq == 0)
		folded = drop_gone(b, k);
	push_record_of(b->m, k, mp, &b->rec[b->n++]);
	b->last_jseq = jseq;
	return folded ? 1 : 0;
}

static void sub_start_snapshot(struct mapper *m, struct subscription *sub)
{
	sub->snapshot = true;
	sub->began = false;
	sub->have_cursor = false;
	sub->snap_pos = m->store.committed_jseq;
	m->stats.snapshots++;
}

static void push_event(struct mapper *m, struct session *s, const struct subscription *sub,
		       unsigned nrec, uint64_t high_seq)
{
	char detail[96];

	snprintf(detail, sizeof(detail), "vn %u, %u records, position %llu%s", sub->vn, nrec,
		 (unsigned long long)high_seq, sub->snapshot ? ", snapshot" : "");
	mapper_event(m, "push", NULL, session_node_name(s), detail);
}

static struct push_memo *memo_find(struct mapper *m, const struct subscription *sub, unsigned max)
{
	if (!m->push_memo_on)
		return NULL;
	for (unsigned i = 0; i < m->push_nmemo; i++) {
		struct push_memo *p = &m->push_memo[i];

		if (p->vn == sub->vn && p->pos == sub->pos && p->max == max)
			return p;
	}
	return NULL;
}

/* A place for the outcome of the subscription's next frame, or NULL. */
static struct push_memo *memo_new(struct mapper *m, const struct subscription *sub, unsigned max,
				  int rc, uint64_t next_pos)
{
	struct push_memo *p;

	if (!m->push_memo_on || m->push_nmemo == PUSH_MEMO_MAX)
		return NULL;
	p = &m->push_memo[m->push_nmemo++];
	p->vn = sub->vn;
	p->pos = sub->pos;
	p->max = max;
	p->rc = rc;
	p->next_pos = next_pos;
	p->len = 0;
	return p;
}

/* Push latency: from the commit of the frame's first change (commit_us,
 * looked up once per frame built) to the frame queued for the subscriber.
 * 0: unknown, or no journal change in the frame. */
static void observe_latency(struct mapper *m, uint64_t commit_us)
{
	if (commit_us)
		ila_hist_observe(&m->push_latency,
				 (double)(ila_clock_mono_us() - commit_us) / 1e6);
}

/* Sends the frame another subscriber at the same position had. */
static int pump_memo(struct mapper *m, struct session *s, struct subscription *sub,
		     const struct push_memo *p)
{
	if (p->rc != 1) {
		sub->pos = p->next_pos;
		return p->rc;
	}
	if (session_send_frame(s, p->frame, p->len) < 0)
		return -1;
	observe_latency(m, p->nrec ? p->commit_us : 0);
	m->stats.push_frames++;
	m->stats.push_records += p->nrec;
	if (ila_ctl_monitoring(m->ctl))
		push_event(m, s, sub, p->nrec, p->high_seq);
	sub->pos = p->next_pos;
	return 1;
}

/* Queues push, encoded once into p, which keeps it for the next subscriber. */
static int send_memo(struct session *s, struct push_memo *p, const struct ila_msg *push)
{
	size_t n = ila_msg_encoded_len(push);

	if (n == 0)
		return session_send(s, push); /* it says why */
	if (n > p->cap) {
		uint8_t *nb = realloc(p->frame, n);

		if (!nb) {
			p->vn = 0; /* vn 0 is never subscribed: the entry is unused */
			return session_send(s, push);
		}
		p->frame = nb;
		p->cap = n;
	}
	if (ila_msg_encode(push, p->frame, p->cap, &p->len) < 0) {
		p->vn = 0;
		return session_send(s, push);
	}
	p->nrec = (unsigned)push->nrec;
	p->high_seq = push->push.high_seq;
	return session_send_frame(s, p->frame, p->len);
}

/* Builds and queues one PUSH frame. Returns 1 if a frame went out, 2 when
 * the subscription moved on without a frame, 0 when it has nothing to send,
 * -1 on a session error. */
static int pump_one(struct mapper *m, struct session *s, struct subscription *sub,
		    struct ila_record *recs, unsigned max)
{
	struct push_batch b = { .m = m, .rec = recs, .max = max };
	struct ila_msg push = { .type = ILA_MSG_PUSH };
	struct push_memo *memo = NULL;
	uint64_t commit_us;
	MDB_txn *txn;
	int rc;

	if (!sub->snapshot && (memo = memo_find(m, sub, max)))
		return pump_memo(m, s, sub, memo);
	if (store_begin(&m->store, false, &txn) < 0)
		return 0;
	push.push.vn = sub->vn;
	if (sub->snapshot) {
		rc = store_scan(&m->store, txn, sub->vn, sub->have_cursor ? &sub->cursor : NULL,
				snap_collect, &b);
		bool more = false;
		if (rc >= 0 && b.n == max) {
			/* a full frame: MORE when another mapping follows (8.7) */
			struct ila_record next;
			struct push_batch peek = { .m = m, .rec = &next, .max = 1 };

			more = store_scan(&m->store, txn, sub->vn, &b.last_key, snap_collect,
					  &peek) >= 0 && peek.n > 0;
		}
		mdb_txn_abort(txn);
		if (rc < 0)
			return 0;
		if (!sub->began)
			push.push.flags |= ILA_PUSH_F_SNAPSHOT_BEGIN;
		if (more)
			push.push.flags |= ILA_PUSH_F_MORE;
		else
			push.push.flags |= ILA_PUSH_F_SNAPSHOT_END;
		push.push.high_seq = sub->snap_pos;
	} else {
		uint64_t reached;

		/* one record more than the frame holds tells whether another
		 * frame of the batch follows (MORE, 8.8) */
		rc = store_journal(&m->store, txn, sub->vn, sub->pos, max + 1, &reached,
				   journal_collect, &b);
		mdb_txn_abort(txn);
		if (rc == -ERANGE) {
			/* the journal no longer reaches back to this subscriber */
			m->stats.resyncs++;
			sub_start_snapshot(m, sub);
			return 2;
		}
		if (rc < 0)
			return 0;
		if (rc == 0) {
			/* only other vns' changes, or changes superseded later:
			 * move past them, nothing to send */
			bool moved = reached > sub->pos;

			memo_new(m, sub, max, moved ? 2 : 0, reached);
			sub->pos = reached;
			return moved ? 2 : 0;
		}
		if (b.n > max) {
			/* the frame ends just before the record it cannot hold:
			 * what lies between was passed over */
			b.n = max;
			reached = b.last_jseq - 1;
			push.push.flags |= ILA_PUSH_F_MORE;
		}
		b.last_jseq = reached;
		push.push.high_seq = reached;
		memo = memo_new(m, sub, max, 1, reached);
	}
	push.rec = recs;
	push.nrec = b.n;
	commit_us = !sub->snapshot && b.n ? store_commit_time_us(&m->store, sub->pos + 1) : 0;
	if (memo)
		memo->commit_us = commit_us;
	if ((memo ? send_memo(s, memo, &push) : session_send(s, &push)) < 0)
		return -1;
	observe_latency(m, commit_us);
	m->stats.push_frames++;
	m->stats.push_records += b.n;
	if (ila_ctl_monitoring(m->ctl))
		push_event(m, s, sub, b.n, push.push.high_seq);
	if (sub->snapshot) {
		sub->began = true;
		if (b.n) {
			sub->cursor = b.last_key;
			sub->have_cursor = true;
		}
		if (push.push.flags & ILA_PUSH_F_SNAPSHOT_END) {
			sub->snapshot = false;
			sub->pos = sub->snap_pos;
		}
	} else {
		sub->pos = b.last_jseq;
	}
	return 1;
}

int push_pump(struct mapper *m, struct session *s)
{
	size_t limit = (size_t)m->conf->push_queue_limit_kb * 1024;
	unsigned max = m->conf->push_batch;
	unsigned nsubs;
	struct subscription *subs;
	bool progress = true;
	int frames = 0;

	if (!session_open(s))
		return 0;
	subs = session_subs(s, &nsubs);
	if (nsubs == 0)
		return 0;
	if (max == 0 || max > ILA_PROTO_MAX_RECORDS)
		max = ILA_PROTO_MAX_RECORDS;
	/* round robin over the subscriptions, one frame each per round */
	while (progress) {
		progress = false;
		for (unsigned i = 0; i < nsubs; i++) {
			struct subscription *sub = &subs[i];

			if (session_queued(s) >= limit) {
				if (!sub->stalled) {
					sub->stalled = true;
					m->stats.subscriber_stalls++;
				}
				goto out;
			}
			sub->stalled = false;
			int rc = pump_one(m, s, sub, m->push_recs, max);
			if (rc < 0)
				goto out;
			if (rc > 0)
				progress = true;
			if (rc == 1)
				frames++;
		}
	}
out:
	return frames;
}

static struct subscription *sub_find(struct session *s, uint32_t vn)
{
	unsigned n;
	struct subscription *subs = session_subs(s, &n);

	for (unsigned i = 0; i < n; i++)
		if (subs[i].vn == vn)
			return &subs[i];
	return NULL;
}

int push_subscribe(struct mapper *m, struct session *s, const struct ila_msg *msg)
{
	const struct ila_conf_vn *vn = mapper_vn(m, msg->sub.vn);
	int node = session_node(s);
	struct subscription *sub;
	MDB_txn *txn;

	if (!vn) {
		m->stats.vn_unknown++;
		session_send_error(s, msg->xid, ILA_PERR_VN_UNKNOWN, "vn %u is not configured",
				   msg->sub.vn);
		return -ENOENT;
	}
	if (!ila_conf_nodeset_has(vn->subscribe, (unsigned)node) &&
	    !ila_conf_nodeset_has(vn->serve, (unsigned)node)) {
		m->stats.not_authorised++;
		session_send_error(s, msg->xid, ILA_PERR_NOT_AUTHORISED,
				   "node %s may not subscribe to vn %s", session_node_name(s),
				   vn->name);
		return -EACCES;
	}
	sub = sub_find(s, msg->sub.vn);
	if (!sub && !(sub = session_sub_add(s))) {
		unsigned n;

		session_subs(s, &n);
		session_send_error(s, msg->xid, ILA_PERR_OVERLOADED, "%s",
				   n >= ILA_CONF_MAX_VNS ? "too many subscriptions" : "out of memory");
		return -ENOSPC;
	}
	memset(sub, 0, sizeof(*sub));
	sub->vn = msg->sub.vn;
	m->stats.subscriptions++;
	/* acknowledged before the snapshot or the changes it asked for */
	if (session_send(s, &(struct ila_msg){ .type = ILA_MSG_ACK, .xid = msg->xid }) < 0)
		return -ENOBUFS;
	if (msg->sub.resume_seq) {
		/* ahead of the store: restored from a backup (a snapshot), or with
		 * etcd an instance whose copy is behind the one that gave the
		 * position (the changes after it go out once the copy has them) */
		bool ok = (msg->sub.resume_seq <= m->store.committed_jseq || m->conf->store_etcd) &&
			  store_begin(&m->store, false, &txn) == 0;

		if (ok) {
			/* probe the journal: -ERANGE when it was trimmed past the position */
			struct ila_record one;
			struct push_batch b = { .m = m, .rec = &one, .max = 1 };
			uint64_t reached;

			ok = store_journal(&m->store, txn, sub->vn, msg->sub.resume_seq, 0, &reached,
					   journal_collect, &b) >= 0;
			mdb_txn_abort(txn);
		}
		if (ok) {
			sub->pos = msg->sub.resume_seq;
		} else {
			m->stats.resyncs++;
			sub_start_snapshot(m, sub);
		}
	} else if (msg->sub.flags & ILA_SUB_F_NO_SNAPSHOT) {
		sub->pos = m->store.committed_jseq;
	} else {
		sub_start_snapshot(m, sub);
	}
	log_debug("node %s subscribed to vn %s from position %llu%s", session_node_name(s),
		  vn->name, (unsigned long long)sub->pos, sub->snapshot ? " (snapshot)" : "");
	push_pump(m, s);
	session_kick(s);
	return 0;
}

int push_unsubscribe(struct mapper *m, struct session *s, const struct ila_msg *msg)
{
	struct subscription *sub = sub_find(s, msg->sub.vn);

	if (!sub) {
		m->stats.not_subscribed++;
		session_send_error(s, msg->xid, ILA_PERR_NOT_SUBSCRIBED, "vn %u is not subscribed",
				   msg->sub.vn);
		return -ENOENT;
	}
	/* no PUSH of the vn follows the ACK: queued frames went out before it */
	session_sub_del(s, sub);
	if (session_send(s, &(struct ila_msg){ .type = ILA_MSG_ACK, .xid = msg->xid }) == 0)
		session_kick(s);
	return 0;
}

void push_flush(struct mapper *m)
{
	unsigned nvns = m->push_nvns;

	ev_timer_stop(m->loop, &m->push_delay_w);
	m->push_nvns = 0;
	if (nvns == 0)
		return;
	/* every subscriber at one position gets the frame built for the first */
	m->push_memo_on = true;
	m->push_nmemo = 0;
	for (struct session *s = session_next(m, NULL), *next; s; s = next) {
		bool hit = false;

		next = session_next(m, s);
		for (unsigned i = 0; i < nvns && !hit; i++)
			hit = sub_find(s, m->push_vns[i]) != NULL;
		if (!hit)
			continue;
		push_pump(m, s);
		session_kick(s);
	}
	m->push_memo_on = false;
}

static void push_delay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	push_flush(w->data);
}

int push_init(struct mapper *m)
{
	/* one frame's records, built here for every push: allocated once, as
	 * a move fans out to every subscriber in turn; one more than a frame
	 * holds, to see whether another follows */
	m->push_recs = calloc(ILA_PROTO_MAX_RECORDS + 1, sizeof(*m->push_recs));
	m->push_memo = calloc(PUSH_MEMO_MAX, sizeof(*m->push_memo));
	if (!m->push_recs || !m->push_memo) {
		free(m->push_recs);
		free(m->push_memo);
		m->push_recs = NULL;
		m->push_memo = NULL;
		return -ENOMEM;
	}
	ila_hist_init(&m->push_latency, ila_hist_latency_bounds, ila_hist_latency_nbounds);
	ev_timer_init(&m->push_delay_w, push_delay_cb, m->conf->push_delay_ms / 1000.0, 0.);
	m->push_delay_w.data = m;
	return 0;
}

void push_free(struct mapper *m)
{
	free(m->push_recs);
	m->push_recs = NULL;
	for (unsigned i = 0; m->push_memo && i < PUSH_MEMO_MAX; i++)
		free(m->push_memo[i].frame);
	free(m->push_memo);
	m->push_memo = NULL;
	m->push_nmemo = 0;
}

void push_changed(struct mapper *m, const uint32_t *vns, unsigned nvns)
{
	for (unsigned i = 0; i < nvns; i++) {
		unsigned j;

		for (j = 0; j < m->push_nvns && m->push_vns[j] != vns[i]; j++)
			;
		if (j == m->push_nvns && m->push_nvns < ILA_ARRAY_SIZE(m->push_vns))
			m->push_vns[m->push_nvns++] = vns[i];
	}
	if (m->push_nvns == 0)
		return;
	/* changes wait up to the push delay so that they leave in fewer frames */
	if (!m->conf->push_delay_ms)
		push_flush(m);
	else if (!ev_is_active(&m->push_delay_w))
		ev_timer_start(m->loop, &m->push_delay_w);
}

void push_directed(struct mapper *m, const char *node, const struct mapping *mp)
{
	struct ila_msg push = { .type = ILA_MSG_PUSH };

	push.push.vn = mp->rec.vn;
	push.push.flags = ILA_PUSH_F_DIRECTED;
	push.push.high_seq = mp->jseq;
	push.rec = (struct ila_record *)&mp->rec;
	push.nrec = 1;
	for (struct session *s = session_next(m, NULL), *next; s; s = next) {
		next = session_next(m, s);
		if (!session_open(s) || strcmp(session_node_name(s), node) != 0)
			continue;
		if (sub_find(s, mp->rec.vn))
			continue; /* it hears of the move as a subscriber */
		if (session_send(s, &push) == 0) {
			m->stats.directed_pushes++;
			mapper_event(m, "push", &mp->rec, node, "directed to the previous owner");
			session_kick(s);
		}
	}
}
