/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mapper.h"

/* What one commit changed, for the pushes that follow it. */
static bool v4_in_prefix(const struct ila_conf_prefix *p, const struct in_addr *a)
{
	uint32_t mask = p->len ? htonl(~0u << (32 - p->len)) : 0;

	return p->family == AF_INET && (a->s_addr & mask) == (p->addr.v4.s_addr & mask);
}

static bool in_vn(const struct ila_conf_vn *vn, const struct ila_record *r)
{
	if (r->family == AF_INET6)
		return ila_sir_prefix_contains(&vn->sir_prefix, &r->addr6);
	return v4_in_prefix(&vn->ipv4_prefix, &r->addr4);
}

int directory_vn_of(const struct mapper *m, const struct ila_record *r, uint32_t *vn)
{
	for (unsigned i = 0; i < m->conf->n_vns; i++) {
		if (in_vn(&m->conf->vns[i], r)) {
			*vn = m->conf->vns[i].id;
			return 0;
		}
	}
	return -ENOENT;
}

/* Checks vn, serving right and prefix; returns 0 or a protocol code. */
static int check_record(struct mapper *m, int node, const struct ila_record *r, bool serve)
{
	const struct ila_conf_vn *vn = mapper_vn(m, r->vn);

	if (!vn) {
		m->stats.vn_unknown++;
		return ILA_PERR_VN_UNKNOWN;
	}
	if (serve && !ila_conf_nodeset_has(vn->serve, (unsigned)node)) {
		m->stats.not_authorised++;
		return ILA_PERR_NOT_AUTHORISED;
	}
	if (!in_vn(vn, r)) {
		m->stats.addr_outside_vn++;
		return ILA_PERR_ADDR_OUTSIDE_VN;
	}
	return 0;
}

static bool frozen_now(const struct mapping *mp, uint64_t now)
{
	return mp->frozen_until == STORE_FROZEN_PERMANENT || now < mp->frozen_until;
}

/* The number after s for the mapper's own changes (expiry, freeze, promotion,
 * deletion): they may use the numbers above ILA_SEQ_LIMIT; none wraps. */
static uint64_t seq_next(uint64_t s)
{
	return s == UINT64_MAX ? s : s + 1;
}

/* A number a node's request makes the mapper store: refused past the limit. */
static int seq_check(struct mapper *m, uint64_t seq)
{
	if (seq <= ILA_SEQ_LIMIT)
		return 0;
	m->stats.seq_exhausted++;
	return ILA_PERR_SEQ_EXHAUSTED;
}

/* One REGISTER record from node: a token of its bucket, or quota. */
static int rate_take(struct mapper *m, int node)
{
	const struct ila_conf *c = m->conf;
	struct mapper_bucket *b = &m->buckets[node];
	uint64_t now = mapper_now_ms();

	if (!c->quota_rate)
		return 0;
	if (!b->last_ms) {
		b->tokens = c->quota_burst;
		b->last_ms = now;
	} else if (now > b->last_ms) {
		b->tokens += (double)(now - b->last_ms) * c->quota_rate / 1000.0;
		if (b->tokens > c->quota_burst)
			b->tokens = c->quota_burst;
		b->last_ms = now;
	}
	if (b->tokens < 1.0) {
		m->stats.quota_rate++;
		return ILA_PERR_QUOTA;
	}
	b->tokens -= 1.0;
	return 0;
}

/* A live mapping more for node (new: and for its vn): within the quotas? */
static int quota_check(struct mapper *m, MDB_txn *txn, const char *node, uint32_t vn, bool new)
{
	const struct ila_conf *c = m->conf;

	if (c->quota_node_mappings &&
	    store_owner_count(&m->store, txn, node) >= c->quota_node_mappings) {
		m->stats.quota_node++;
		return ILA_PERR_QUOTA;
	}
	if (new && c->quota_vn_mappings &&
	    store_vn_count(&m->store, txn, vn) >= c->quota_vn_mappings) {
		m->stats.quota_vn++;
		return ILA_PERR_QUOTA;
	}
	return 0;
}

static int stale(struct mapper *m, const char *name, const struct ila_record *r, uint64_t seq)
{
	char a[INET6_ADDRSTRLEN];

	m->stats.stale_seq++;
	log_debug("register %s from node %s: seq %llu below %llu, ignored",
		  mapper_rec_addr(r, a, sizeof(a)), name, (unsigned long long)r->seq,
		  (unsigned long long)seq);
	return ILA_PERR_STALE_SEQ;
}

/* The lowest number the owner of a lapsed mapping may bring it back with:
 * the one it refreshed with before its lifetime ran out (expiry took one
 * number to go down, one more to be removed). */
static uint64_t lapsed_floor(const struct mapping *mp)
{
	uint64_t back = mp->rec.state == ILA_STATE_REMOVED ? 2 : 1;

	return mp->rec.seq > back ? mp->rec.seq - back : 0;
}

/* The owner taking its lapsed mapping back (8.3): at the same locator, with
 * a number down to the one it refreshed with. Elsewhere it is a move, and
 * an old number is stale. */
static bool lapsed_return(const struct mapping *mp, bool owner, const struct ila_record *r,
			  uint64_t seq)
{
	return owner && mp->lapsed && ila_locator_equal(&mp->rec.loc, &r->loc) &&
	       seq >= lapsed_floor(mp);
}

static int apply_standby(struct mapper *m, MDB_txn *txn, const char *name,
			 const struct ila_record *r, struct mapping *old, bool found,
			 struct mapper_changes *cs)
{
	struct mapping nm;
	int rc;

	/* warm move: this node offers to take over, nothing moves yet */
	if (!found || old->rec.state == ILA_STATE_REMOVED) {
		m->stats.no_mapping++;
		return ILA_PERR_NO_MAPPING;
	}
	if (strcmp(old->rec.node, name) == 0)
		return ILA_PERR_BAD_VALUE; /* the owner cannot be its own standby */
	if ((rc = seq_check(m, old->rec.seq + 1)))
		return rc;
	nm = *old;
	nm.rec.standby = r->loc;
	nm.rec.has_standby = true;
	nm.rec.seq = old->rec.seq + 1;
	snprintf(nm.standby_node, sizeof(nm.standby_node), "%s", name);
	if (store_put(&m->store, txn, &nm, old, true) < 0)
		return ILA_PERR_INTERNAL;
	m->stats.standby_registrations++;
	mapper_changes_vn(cs, r->vn);
	mapper_event(m, "standby", r, name, NULL);
	return 0;
}

/* The damping window the mapping's value holds is still open at now (9.3).
 * With several instances on one etcd prefix the value may come from an
 * instance whose clock reads a little ahead of this one's (each counts its
 * seconds from the second it started): a window that starts less than
 * `damping interval` seconds ahead of now is open, it began with a move
 * already made; one further ahead (a clock set back while the mapper was
 * down) is not. */
static bool damping_window_open(const struct ila_conf *c, const struct mapping *mp, uint64_t now)
{
	if (mp->moves == 0)
		return false;
	if (now < mp->window_start)
		return mp->window_start - now < c->damping_interval_s;
	return now - mp->window_start < c->damping_interval_s;
}

static int apply_register(struct mapper *m, MDB_txn *txn, int node, const struct ila_record *r,
			  uint64_t now, struct mapper_changes *cs)
{
	const struct ila_conf *c = m->conf;
	const char *name = c->nodes[node].name;
	struct store_key k;
	struct mapping old, nm;
	uint32_t lifetime;
	char a[INET6_ADDRSTRLEN];
	bool found, tomb, owner;
	int rc;

	if ((rc = check_record(m, node, r, true)) || (rc = rate_take(m, node)) ||
	    (rc = seq_check(m, r->seq)))
		return rc;
	lifetime = r->lifetime ? r->lifetime : c->lifetime_default_s;
	if (lifetime > c->lifetime_max_s)
		lifetime = c->lifetime_max_s;
	store_key_of(r, &k);
	rc = store_get(&m->store, txn, &k, &old);
	if (rc < 0 && rc != -ENOENT)
		return ILA_PERR_INTERNAL;
	found = rc == 0;
	tomb = found && old.rec.state == ILA_STATE_REMOVED;
	owner = found && strcmp(old.rec.node, name) == 0;

	if (r->flags & ILA_REC_F_STANDBY_REG)
		return apply_standby(m, txn, name, r, &old, found, cs);

	if (!found || tomb) {
		uint64_t seq = r->seq ? r->seq : 1;

		/* a tombstone is beaten like a mapping: a lower number is stale,
		 * an equal one is ordered after it (its owner's lapsed mapping may
		 * come back with the number it refreshed with) */
		if (tomb && seq < old.rec.seq && !lapsed_return(&old, owner, r, seq))
			return stale(m, name, r, old.rec.seq);
		if (tomb && seq <= old.rec.seq) {
			seq = old.rec.seq + 1;
			if ((rc = seq_check(m, seq)))
				return rc;
		}
		if ((rc = quota_check(m, txn, name, r->vn, true)))
			return rc;
		memset(&nm, 0, sizeof(nm));
		nm.rec = *r;
		nm.rec.seq = seq;
		nm.rec.state = ILA_STATE_UP;
		nm.rec.flags = r->flags;
		nm.rec.has_standby = nm.rec.has_prev = false;
		nm.rec.lifetime = lifetime;
		memcpy(nm.rec.node, name, strnlen(name, ILA_PROTO_NAME_MAX) + 1);
		nm.expires = now + lifetime;
		if (store_put(&m->store, txn, &nm, tomb ? &old : NULL, true) < 0)
			return ILA_PERR_INTERNAL;
		m->stats.registrations++;
		mapper_changes_vn(cs, r->vn);
		mapper_event(m, "register", &nm.rec, name, NULL);
		return 0;
	}

	/* the owner refreshing at the same locator with a number the mapper has
	 * raised since (a standby offer, a freeze: changes it did not make) is
	 * a refresh, not stale: nobody else's registration is at stake, and a
	 * refresh that crossed the push must not cost the workload its mapping */
	bool owner_refresh = owner && ila_locator_equal(&old.rec.loc, &r->loc) &&
			     (old.rec.state == ILA_STATE_UP || old.rec.state == ILA_STATE_FROZEN);

	if (r->seq < old.rec.seq && !owner_refresh &&
	    !(old.rec.state == ILA_STATE_DOWN && lapsed_return(&old, owner, r, r->seq)))
		return stale(m, name, r, old.rec.seq);
	nm = old;
	nm.rec.lifetime = lifetime;
	nm.expires = now + lifetime;
	nm.lapsed = false;
	if (owner && ila_locator_equal(&old.rec.loc, &r->loc)) {
		/* a refresh; it only reaches subscribers when something they see
		 * changed, and then with a higher number */
		bool visible = r->seq > old.rec.seq || old.rec.state == ILA_STATE_DOWN ||
			       r->flags != old.rec.flags;

		nm.rec.seq = r->seq > old.rec.seq ? r->seq : old.rec.seq;
		if (visible && r->seq <= old.rec.seq) {
			nm.rec.seq = old.rec.seq + 1;
			if ((rc = seq_check(m, nm.rec.seq)))
				return rc;
		}
		nm.rec.flags = r->flags;
		if (old.rec.state == ILA_STATE_DOWN)
			nm.rec.state = frozen_now(&old, now) ? ILA_STATE_FROZEN : ILA_STATE_UP;
		if (store_put(&m->store, txn, &nm, &old, visible) < 0)
			return ILA_PERR_INTERNAL;
		m->stats.refreshes++;
		m->stats.registrations++;
		if (visible)
			mapper_changes_vn(cs, r->vn);
		return 0;
	}

	/* a move, or the owner changing its locator: a frozen mapping stays
	 * where it is for both */
	if (old.frozen_until) {
		if (frozen_now(&old, now)) {
			m->stats.frozen_refused++;
			return ILA_PERR_FROZEN;
		}
		nm.frozen_until = 0;
		nm.moves = 0;
	}
	/* damping counts moves, owner changes, in fixed windows of `damping
	 * interval` seconds: a move when no window is open opens one (9.3) */
	if (!owner && !damping_window_open(c, &nm, now)) {
		nm.window_start = now;
		nm.moves = 0;
	}
	if (!owner && c->damping_moves && nm.moves + 1 > c->damping_moves) {
		nm.frozen_until = c->damping_freeze_s == ILA_CONF_FREEZE_PERMANENT
					  ? STORE_FROZEN_PERMANENT
					  : now + c->damping_freeze_s;
		nm.rec.state = ILA_STATE_FROZEN;
		nm.rec.seq = seq_next(old.rec.seq);
		nm.expires = old.expires;
		nm.rec.lifetime = old.rec.lifetime;
		if (store_put(&m->store, txn, &nm, &old, true) < 0)
			return ILA_PERR_INTERNAL;
		m->stats.freezes++;
		m->stats.frozen_refused++;
		mapper_changes_vn(cs, r->vn);
		mapper_event(m, "freeze", &nm.rec, old.rec.node, "too many moves");
		log_warn("mapping %s frozen at node %s: more than %u moves in %u s (move to node %s refused)",
			 mapper_rec_addr(r, a, sizeof(a)), old.rec.node, c->damping_moves,
			 c->damping_interval_s, name);
		return ILA_PERR_FROZEN;
	}
	/* a tie from another node: the mapper orders it after the current one */
	nm.rec.seq = r->seq <= old.rec.seq ? old.rec.seq + 1 : r->seq;
	if ((rc = seq_check(m, nm.rec.seq)) ||
	    (!owner && (rc = quota_check(m, txn, name, r->vn, false))))
		return rc;
	if (!owner)
		nm.moves++;
	nm.rec.prev = old.rec.loc;
	nm.rec.has_prev = true;
	nm.rec.loc = r->loc;
	nm.rec.state = ILA_STATE_UP;
	nm.rec.flags = r->flags & ~ILA_REC_F_PROMOTED;
	snprintf(nm.rec.node, sizeof(nm.rec.node), "%s", name);
	if (nm.rec.has_standby && strcmp(nm.standby_node, name) == 0) {
		nm.rec.has_standby = false;
		nm.standby_node[0] = '\0';
		memset(&nm.rec.standby, 0, sizeof(nm.rec.standby));
	}
	if (store_put(&m->store, txn, &nm, &old, true) < 0)
		return ILA_PERR_INTERNAL;
	if (!owner)
		m->stats.moves++; /* a move is an owner change (9.3) */
	m->stats.registrations++;
	mapper_changes_vn(cs, r->vn);
	if (strcmp(old.rec.node, name) != 0)
		mapper_changes_move(cs, old.rec.node, &nm);
	log_info("move %s: node %s -> node %s, seq %llu", mapper_rec_addr(r, a, sizeof(a)), old.rec.node,
		 name, (unsigned long long)nm.rec.seq);
	mapper_event(m, "move", &nm.rec, name, old.rec.node);
	return 0;
}

/* The mapping becomes a tombstone: removed, with a number above the last
 * one, kept for the maximum lifetime so that only a higher number beats it. */
static void make_tombstone(const struct mapper *m, struct mapping *nm, uint64_t seq, uint64_t now)
{
	nm->rec.state = ILA_STATE_REMOVED;
	nm->rec.seq = seq;
	nm->rec.has_standby = nm->rec.has_prev = false;
	memset(&nm->rec.standby, 0, sizeof(nm->rec.standby));
	nm->standby_node[0] = '\0';
	nm->rec.flags = 0;
	nm->frozen_until = 0;
	nm->moves = 0;
	nm->rec.lifetime = m->conf->lifetime_max_s;
	nm->expires = now + m->conf->lifetime_max_s;
}

static int apply_deregister(struct mapper *m, MDB_txn *txn, int node, const struct ila_record *r,
			    uint64_t now, struct mapper_changes *cs)
{
	const char *name = m->conf->nodes[node].name;
	struct store_key k;
	struct mapping old, nm;
	uint64_t seq;
	int rc;

	if ((rc = check_record(m, node, r, true)))
		return rc;
	store_key_of(r, &k);
	rc = store_get(&m->store, txn, &k, &old);
	if (rc == -ENOENT || (rc == 0 && old.rec.state == ILA_STATE_REMOVED)) {
		m->stats.no_mapping++;
		return ILA_PERR_NO_MAPPING;
	}
	if (rc < 0)
		return ILA_PERR_INTERNAL;
	if (r->flags & ILA_REC_F_STANDBY_REG) {
		/* the standby withdraws its offer */
		if (!old.rec.has_standby || strcmp(old.standby_node, name) != 0) {
			m->stats.not_authorised++;
			return ILA_PERR_NOT_AUTHORISED;
		}
		if ((rc = seq_check(m, old.rec.seq + 1)))
			return rc;
		nm = old;
		nm.rec.has_standby = false;
		nm.standby_node[0] = '\0';
		memset(&nm.rec.standby, 0, sizeof(nm.rec.standby));
		nm.rec.seq = old.rec.seq + 1;
		if (store_put(&m->store, txn, &nm, &old, true) < 0)
			return ILA_PERR_INTERNAL;
		mapper_changes_vn(cs, r->vn);
		mapper_event(m, "standby-withdrawn", &nm.rec, name, NULL);
		return 0;
	}
	if (strcmp(old.rec.node, name) != 0) {
		m->stats.not_authorised++;
		return ILA_PERR_NOT_AUTHORISED;
	}
	if (r->seq < old.rec.seq) {
		m->stats.stale_seq++;
		return ILA_PERR_STALE_SEQ;
	}
	seq = r->seq > old.rec.seq ? r->seq : old.rec.seq + 1;
	if ((rc = seq_check(m, seq)))
		return rc;
	m->stats.deregistrations++;
	mapper_changes_vn(cs, r->vn);
	mapper_event(m, r->state == ILA_STATE_DOWN ? "down" : "deregister", r, name, NULL);
	nm = old;
	nm.lapsed = false;
	if (r->state == ILA_STATE_DOWN) {
		/* cold move: subscribers answer senders unreachable until it comes back */
		nm.rec.state = ILA_STATE_DOWN;
		nm.rec.seq = seq;
	} else {
		make_tombstone(m, &nm, seq, now);
	}
	return store_put(&m->store, txn, &nm, &old, true) < 0 ? ILA_PERR_INTERNAL : 0;
}

static void op_free(struct pending_op *op)
{
	ila_msg_free(&op->msg);
	free(op->status);
	free(op->done);
	free(op);
}

void directory_enqueue(struct mapper *m, struct session *s, struct ila_msg *msg)
{
	struct pending_op *op = calloc(1, sizeof(*op));

	if (!op || !(op->status = calloc(msg->nrec ? msg->nrec : 1, sizeof(uint16_t)))) {
		free(op);
		session_send_error(s, msg->xid, ILA_PERR_OVERLOADED, "out of memory");
		return;
	}
	op->s = s;
	op->node = session_node(s);
	op->msg = *msg;
	msg->rec = NULL; /* the op owns the records now */
	msg->nrec = 0;
	*m->pending_tail = op;
	m->pending_tail = &op->next;
	m->pending_records += (unsigned)op->msg.nrec;
	if (m->pending_records >= m->conf->commit_batch)
		directory_commit(m);
	else if (m->conf->commit_delay_ms && !ev_is_active(&m->commit_delay_w))
		ev_timer_start(m->loop, &m->commit_delay_w);
}

void directory_session_gone(struct mapper *m, struct session *s)
{
	for (struct pending_op *op = m->pending; op; op = op->next)
		if (op->s == s)
			op->s = NULL;
}

/* The answer to a REGISTER or DEREGISTER once its commit ended (6.10, 8.3). */
static void send_ack(struct mapper *m, struct pending_op *op, bool committed)
{
	struct ila_msg ack = { .type = ILA_MSG_ACK, .xid = op->msg.xid };

	if (!op->s || !session_open(op->s))
		return;
	if (!committed) {
		/* nothing of it is durable: the whole request fails, the node
		 * sends it again */
		session_send_error(op->s, op->msg.xid, ILA_PERR_INTERNAL,
				   "store commit failed: nothing of the request was done");
		session_kick(op->s);
		return;
	}
	ack.ack.has_count = true;
	ack.ack.count = op->accepted;
	if (op->accepted < op->msg.nrec) {
		/* STATUS only when a record was refused. What made a record
		 * stale (another node's move, say) reaches the node first: the
		 * pushes it is owed go out before the refusal (protocol.md 8.3),
		 * so that it forwards to the new owner instead of dropping */
		push_pump(m, op->s);
		ack.ack.status = op->status;
		ack.ack.nstatus = op->msg.nrec;
	}
	if (session_send(op->s, &ack) == 0)
		session_kick(op->s);
}

static void etcd_commit(struct mapper *m);

void directory_commit(struct mapper *m)
{
	if (m->conf->store_etcd) {
		etcd_commit(m);
		return;
	}
	struct mapper_changes cs = { 0 };
	struct pending_op *ops = m->pending, *op;
	uint64_t now = mapper_now_s(m);
	unsigned records = m->pending_records;
	MDB_txn *txn;
	int rc;

	ev_timer_stop(m->loop, &m->commit_delay_w);
	if (!ops)
		return;
	m->pending = NULL;
	m->pending_tail = &m->pending;
	m->pending_records = 0;

	rc = store_begin(&m->store, true, &txn);
	if (rc == 0) {
		for (op = ops; op; op = op->next) {
			for (size_t i = 0; i < op->msg.nrec; i++) {
				const struct ila_record *r = &op->msg.rec[i];
				int st = op->msg.type == ILA_MSG_REGISTER
						 ? apply_register(m, txn, op->node, r, now, &cs)
						 : apply_deregister(m, txn, op->node, r, now, &cs);

				op->status[i] = (uint16_t)st;
				if (st == 0)
					op->accepted++;
				else
					mapper_event(m, "refused", r, m->conf->nodes[op->node].name,
						     ila_proto_err_name(st));
			}
		}
		rc = store_commit(&m->store, txn);
	}
	if (rc < 0) {
		/* nothing of this batch is acknowledged: ERROR internal, the nodes retry */
		m->stats.commit_failures++;
		log_err("store commit of %u records failed: %s", records, strerror(-rc));
		free(cs.moved);
		memset(&cs, 0, sizeof(cs));
	} else {
		m->stats.commits++;
		m->stats.commit_records += records;
	}
	while ((op = ops)) {
		ops = op->next;
		send_ack(m, op, rc == 0);
		op_free(op);
	}
	mapper_changes_post(m, &cs);
}

/* ---- store etcd: the same decisions, written by conditional transactions ---- */

enum dir_write_kind {
	W_BATCH,	/* REGISTER and DEREGISTER requests */
	W_FAILOVER,	/* a failed node's standbys promoted */
	W_EXPIRY,	/* lifetimes, tombstones, freezes that ended */
	W_CONTROL,	/* ilactl -M unfreeze or delete */
};

/* A write whose transactions are out (the token of estore_commit). */
struct dir_write {
	enum dir_write_kind kind;
	int node;			/* W_FAILOVER */
	struct pending_op *ops;		/* W_BATCH */
	long *rec_op;			/* W_BATCH: per record, its change (-1: none) */
	size_t nrec;
};

#define ETCD_TRIES 8 /* a request decided again after conflicts, at most */
#define ETCD_BATCHES_OUT 4 /* batches of requests whose transactions are out, at most */

/* Opens a write that records its changes instead of committing them. */
static int etcd_begin(struct mapper *m, MDB_txn **txn)
{
	store_record(&m->store, true);
	int rc = store_begin(&m->store, true, txn);

	if (rc < 0)
		store_record(&m->store, false);
	return rc;
}

/* Sends what the write recorded; the copy is left as it was (the changes
 * come back through the watch). */
static void etcd_send(struct mapper *m, MDB_txn *txn, struct dir_write *w)
{
	store_abort(&m->store, txn);
	if (estore_commit(m, m->store.ops, m->store.nops, w) < 0) {
		struct mapper_ev ev = { .type = MAPPER_EV_COMMITTED, .token = w };

		/* no memory for the transactions: everything failed */
		ev.outcome = malloc(m->store.nops ? m->store.nops : 1);
		if (ev.outcome)
			memset(ev.outcome, ESTORE_FAILED, m->store.nops);
		ev.noutcome = ev.outcome ? m->store.nops : 0;
		mapper_post(m, &ev);
	}
	store_record(&m->store, false);
}

static void op_error(struct pending_op *op, int code, const char *text)
{
	if (op->s && session_open(op->s)) {
		session_send_error(op->s, op->msg.xid, code, "%s", text);
		session_kick(op->s);
	}
}

/* A record of the request still to decide touches a key in flight. */
static bool op_busy(const struct mapper *m, const struct pending_op *op)
{
	for (size_t i = 0; i < op->msg.nrec; i++) {
		struct store_key k;

		if (op->done && op->done[i])
			continue;
		store_key_of(&op->msg.rec[i], &k);
		if (estore_busy(m, &k))
			return true;
	}
	return false;
}

static void etcd_commit(struct mapper *m)
{
	struct mapper_changes cs = { 0 };
	struct pending_op *ops = m->pending, *op;
	uint64_t now = mapper_now_s(m);
	struct pending_op **cut;
	struct dir_write *w;
	MDB_txn *txn;
	size_t k = 0;
	unsigned nrec = 0;

	ev_timer_stop(m->loop, &m->commit_delay_w);
	/* failovers that met a conflict, once the copy caught up */
	for (unsigned i = 0; i < m->conf->n_nodes; i++) {
		if (m->failover_again[i] && estore_caught_up(m, m->need_rev)) {
			m->failover_again[i] = false;
			directory_node_failed(m, (int)i);
		}
	}
	if (!ops || m->batches_out >= ETCD_BATCHES_OUT)
		return;
	if (!m->estore.ready && !m->estore.reachable) {
		/* nothing can be acknowledged: the nodes go to another mapper */
		m->pending = NULL;
		m->pending_tail = &m->pending;
		m->pending_records = 0;
		while ((op = ops)) {
			ops = op->next;
			m->stats.unavailable++;
			op_error(op, ILA_PERR_UNAVAILABLE, m->estore.why);
			op_free(op);
		}
		return;
	}
	/* after a conflict, decided on a copy that holds what etcd had then */
	if (!estore_caught_up(m, m->need_rev))
		return;
	/* the requests in line up to the first that touches a key whose write
	 * is out or not yet back in the copy: that one waits for the copy, so
	 * that no key is decided on a value the copy no longer has; requests on
	 * other keys go while earlier batches are out */
	for (cut = &m->pending; *cut && !op_busy(m, *cut); cut = &(*cut)->next)
		nrec += (*cut)->msg.nrec;
	if (cut == &m->pending)
		return;
	w = calloc(1, sizeof(*w));
	if (w)
		w->rec_op = malloc((nrec ? nrec : 1) * sizeof(long));
	if (!w || !w->rec_op || etcd_begin(m, &txn) < 0) {
		if (w)
			free(w->rec_op);
		free(w);
		return; /* tried again at the next loop iteration */
	}
	m->pending = *cut;
	*cut = NULL;
	if (!m->pending)
		m->pending_tail = &m->pending;
	w->kind = W_BATCH;
	w->ops = ops;
	w->nrec = nrec;
	m->pending_records -= nrec;
	for (op = ops; op; op = op->next) {
		op->accepted = 0;
		for (size_t i = 0; i < op->msg.nrec; i++, k++) {
			const struct ila_record *r = &op->msg.rec[i];

			w->rec_op[k] = -1;
			if (op->done && op->done[i]) {
				op->accepted += op->status[i] == 0;
				continue;
			}
			m->store.last_op = -1;
			int st = op->msg.type == ILA_MSG_REGISTER
					 ? apply_register(m, txn, op->node, r, now, &cs)
					 : apply_deregister(m, txn, op->node, r, now, &cs);

			op->status[i] = (uint16_t)st;
			w->rec_op[k] = st == 0 ? m->store.last_op : -1;
			if (st == 0)
				op->accepted++;
			else
				mapper_event(m, "refused", r, m->conf->nodes[op->node].name,
					     ila_proto_err_name(st));
		}
	}
	free(cs.moved); /* pushed when the watch brings the changes back */
	m->batches_out++;
	etcd_send(m, txn, w);
}

/* A batch's transactions answered: requests etcd took entirely are
 * acknowledged; those that met a conflict are decided again first in line;
 * the others get ERROR (nothing of them is acknowledged). */
static void batch_committed(struct mapper *m, struct dir_write *w, const struct mapper_ev *ev)
{
	struct pending_op *again = NULL, **again_tail = &again, *op;
	size_t k = 0;

	m->batches_out--;
	while ((op = w->ops)) {
		bool conflict = false, failed = false;

		w->ops = op->next;
		op->next = NULL;
		for (size_t i = 0; i < op->msg.nrec; i++, k++) {
			long o = k < w->nrec ? w->rec_op[k] : -1;

			if (o < 0)
				continue;
			if ((size_t)o >= ev->noutcome || ev->outcome[o] == ESTORE_FAILED) {
				failed = true;
			} else if (ev->outcome[o] == ESTORE_CONFLICT) {
				conflict = true;
			} else {
				if (!op->done)
					op->done = calloc(op->msg.nrec, 1);
				if (op->done)
					op->done[i] = 1;
			}
		}
		if (failed) {
			m->stats.unavailable++;
			op_error(op, ILA_PERR_UNAVAILABLE,
				 m->estore.why[0] ? m->estore.why : "etcd did not take the change");
			op_free(op);
		} else if (conflict && ++op->tries < ETCD_TRIES) {
			*again_tail = op;
			again_tail = &op->next;
			m->pending_records += (unsigned)op->msg.nrec;
		} else if (conflict) {
			m->stats.commit_failures++;
			op_error(op, ILA_PERR_INTERNAL, "changed by other mappers too often");
			op_free(op);
		} else {
			m->stats.commits++;
			m->stats.commit_records += op->msg.nrec;
			send_ack(m, op, true);
			op_free(op);
		}
	}
	if (again) {
		/* first in line, ahead of what came since */
		*again_tail = m->pending;
		if (!m->pending)
			m->pending_tail = again_tail;
		m->pending = again;
	}
	free(w->rec_op);
}

void directory_committed(struct mapper *m, const struct mapper_ev *ev)
{
	struct dir_write *w = ev->token;
	bool redo = false;

	for (size_t i = 0; i < ev->noutcome; i++)
		redo |= ev->outcome[i] != ESTORE_COMMITTED;
	/* a batch that etcd took whole holds nothing up: its keys wait for the
	 * copy on their own (estore_busy) */
	if (ev->rev > m->need_rev && (w->kind != W_BATCH || redo))
		m->need_rev = ev->rev;
	switch (w->kind) {
	case W_BATCH:
		batch_committed(m, w, ev);
		break;
	case W_FAILOVER:
		/* every instance sends the promotions; those etcd took are counted
		 * here, once across the instances */
		for (size_t i = 0; i < ev->noutcome; i++)
			m->stats.failovers += ev->outcome[i] == ESTORE_COMMITTED;
		/* another instance promoted some of them first: look again */
		if (redo && w->node >= 0 && (unsigned)w->node < m->conf->n_nodes)
			m->failover_again[w->node] = true;
		break;
	case W_EXPIRY:
		m->expiry_out = false; /* the next tick looks again */
		break;
	case W_CONTROL:
		if (redo)
			log_warn("etcd: an operator's change was not written (changed meanwhile)");
		break;
	}
	free(w);
}

/* QUERY flags WATCH and RELEASE (protocol.md 8.9), once the query is
 * authorised. Returns true when the query was answered here (RELEASE, or a
 * refusal); *watch tells whether the answer is watched. */
static bool directory_query_watch(struct mapper *m, struct session *s, const struct ila_msg *msg,
				  bool *watch)
{
	uint32_t f = msg->sub.flags & (ILA_QUERY_F_WATCH | ILA_QUERY_F_RELEASE);
	struct session_info si;
	int rc;

	*watch = false;
	if (!f)
		return false;
	session_info(s, &si);
	if (!(si.caps & ILA_CAP_WATCH)) {
		m->stats.unsupported++;
		session_send_error(s, msg->xid, ILA_PERR_UNSUPPORTED,
				   "QUERY flag %s needs capability WATCH, not negotiated in OPEN",
				   f & ILA_QUERY_F_WATCH ? "WATCH" : "RELEASE");
		return true;
	}
	if (f == (ILA_QUERY_F_WATCH | ILA_QUERY_F_RELEASE)) {
		m->stats.unexpected++;
		session_send_error(s, msg->xid, ILA_PERR_BAD_VALUE,
				   "QUERY flags WATCH and RELEASE together");
		return true;
	}
	if (f == ILA_QUERY_F_WATCH)
		m->stats.watch_queries++;
	rc = watch_query(m, session_node(s), msg);
	if (rc == -EDQUOT) {
		session_send_error(s, msg->xid, ILA_PERR_QUOTA,
				   "node %s watches %u addresses already (watch max %u)",
				   session_node_name(s), watch_count(m, session_node(s)),
				   m->conf->watch_max);
		return true;
	}
	if (rc < 0) {
		session_send_error(s, msg->xid, ILA_PERR_INTERNAL, "out of memory");
		return true;
	}
	if (f == ILA_QUERY_F_RELEASE) {
		/* released: an empty REPLY says so */
		if (session_send(s, &(struct ila_msg){ .type = ILA_MSG_REPLY, .xid = msg->xid }) == 0)
			session_kick(s);
		return true;
	}
	*watch = true;
	return false;
}

void directory_query(struct mapper *m, struct session *s, const struct ila_msg *msg)
{
	struct ila_msg reply = { .type = ILA_MSG_REPLY, .xid = msg->xid };
	bool watch;
	const struct ila_conf_vn *vn = mapper_vn(m, msg->sub.vn);
	int node = session_node(s);
	struct store_key *seen;
	MDB_txn *txn;

	/* an unknown vn first: there is no right to check on it */
	if (!vn) {
		m->stats.vn_unknown++;
		session_send_error(s, msg->xid, ILA_PERR_VN_UNKNOWN, "vn %u is not configured",
				   msg->sub.vn);
		return;
	}
	/* the right to read a vn is the right to subscribe to it */
	if (node < 0 || (!ila_conf_nodeset_has(vn->subscribe, (unsigned)node) &&
			 !ila_conf_nodeset_has(vn->serve, (unsigned)node))) {
		m->stats.not_authorised++;
		m->stats.query_not_authorised++;
		session_send_error(s, msg->xid, ILA_PERR_NOT_AUTHORISED,
				   "node %s may not query vn %s", session_node_name(s), vn->name);
		return;
	}
	if (directory_query_watch(m, s, msg, &watch))
		return;
	reply.rec = calloc(msg->nrec ? msg->nrec : 1, sizeof(*reply.rec));
	seen = calloc(msg->nrec ? msg->nrec : 1, sizeof(*seen));
	if (!reply.rec || !seen || store_begin(&m->store, false, &txn) < 0) {
		free(reply.rec);
		free(seen);
		session_send_error(s, msg->xid, ILA_PERR_INTERNAL, "store unavailable");
		return;
	}
	for (size_t i = 0, nseen = 0; i < msg->nrec; i++) {
		struct ila_record q = msg->rec[i];
		struct store_key k;
		struct mapping mp;
		size_t j;

		/* addresses without a mapping are left out of the REPLY; an
		 * address asked twice is answered once */
		q.vn = msg->sub.vn;
		store_key_of(&q, &k);
		for (j = 0; j < nseen && memcmp(seen[j].b, k.b, STORE_KEY_LEN) != 0; j++)
			;
		if (j < nseen)
			continue;
		seen[nseen++] = k;
		if (store_get(&m->store, txn, &k, &mp) == 0) {
			mp.rec.lifetime = mapper_lifetime_left(m, &mp);
			/* a watched answer lives no longer than the interest */
			if (watch && mp.rec.lifetime > m->conf->watch_lifetime_s)
				mp.rec.lifetime = m->conf->watch_lifetime_s;
			reply.rec[reply.nrec++] = mp.rec;
		}
	}
	mdb_txn_abort(txn);
	free(seen);
	if (session_send(s, &reply) == 0)
		session_kick(s);
	free(reply.rec);
}

struct failover_scan {
	struct store_key *keys;
	unsigned n, cap;
};

static int failover_collect(void *arg, const struct store_key *k)
{
	struct failover_scan *f = arg;

	if (f->n == f->cap) {
		unsigned ncap = f->cap ? f->cap * 2 : 64;
		struct store_key *nk = realloc(f->keys, ncap * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		f->keys = nk;
		f->cap = ncap;
	}
	f->keys[f->n++] = *k;
	return 0;
}

/* The nodes with an established session now, by config index: only those
 * can serve an address a failover gives them (session.c is below). */
static void connected_nodes(const struct mapper *m, ila_conf_nodeset set)
{
	memset(set, 0, sizeof(ila_conf_nodeset));
	if (m->conf->store_etcd) {
		/* with etcd, connected to any instance: its presence key */
		for (unsigned n = 0; n < m->conf->n_nodes && n < ILA_CONF_MAX_NODES; n++) {
			if (estore_present(m, (int)n))
				set[n / 8] |= (uint8_t)(1u << (n % 8));
		}
		return;
	}
	for (struct session *s = session_next(m, NULL); s; s = session_next(m, s)) {
		int n = session_node(s);

		if (n >= 0 && n < ILA_CONF_MAX_NODES && session_open(s))
			set[n / 8] |= (uint8_t)(1u << (n % 8));
	}
}

void directory_node_failed(struct mapper *m, int node)
{
	const char *name = m->conf->nodes[node].name;
	struct failover_scan f = { 0 };
	struct mapper_changes cs = { 0 };
	ila_conf_nodeset up;
	char last[ILA_PROTO_NAME_MAX + 1] = "";
	bool last_up = false;
	MDB_txn *txn;
	unsigned promoted = 0, kept = 0;

	directory_commit(m); /* what the node sent before it died comes first */
	if (store_begin(&m->store, false, &txn) < 0)
		return;
	/* the node's mappings from the owner index, not a scan of the store */
	store_owner_keys(&m->store, txn, name, failover_collect, &f);
	mdb_txn_abort(txn);
	if (f.n == 0) {
		free(f.keys);
		return;
	}
	if ((m->conf->store_etcd ? etcd_begin(m, &txn) : store_begin(&m->store, true, &txn)) < 0) {
		free(f.keys);
		return;
	}
	connected_nodes(m, up);
	for (unsigned i = 0; i < f.n; i++) {
		struct mapping old, nm;

		if (store_get(&m->store, txn, &f.keys[i], &old) < 0 ||
		    strcmp(old.rec.node, name) != 0 || !old.rec.has_standby ||
		    old.rec.state == ILA_STATE_DOWN || old.rec.state == ILA_STATE_REMOVED)
			continue;
		/* a standby whose node has no session is not promoted: the
		 * mapping stays as without a standby (8.3), its offer kept */
		if (strcmp(old.standby_node, last) != 0) {
			int sb = ila_conf_node_find(m->conf, old.standby_node);

			snprintf(last, sizeof(last), "%s", old.standby_node);
			last_up = sb >= 0 && ila_conf_nodeset_has(up, (unsigned)sb);
		}
		if (!last_up) {
			char why[ILA_PROTO_NAME_MAX + 40];

			kept++;
			snprintf(why, sizeof(why), "standby node %s not connected", old.standby_node);
			mapper_event(m, "failover-skipped", &old.rec, old.rec.node, why);
			continue;
		}
		nm = old;
		nm.rec.prev = old.rec.loc;
		nm.rec.has_prev = true;
		nm.rec.loc = old.rec.standby;
		snprintf(nm.rec.node, sizeof(nm.rec.node), "%s", old.standby_node);
		nm.rec.has_standby = false;
		memset(&nm.rec.standby, 0, sizeof(nm.rec.standby));
		nm.standby_node[0] = '\0';
		nm.rec.seq = seq_next(old.rec.seq);
		nm.rec.flags |= ILA_REC_F_PROMOTED;
		nm.rec.state = ILA_STATE_UP;
		if (store_put(&m->store, txn, &nm, &old, true) == 0) {
			promoted++;
			mapper_changes_vn(&cs, nm.rec.vn);
			mapper_event(m, "failover", &nm.rec, nm.rec.node, old.rec.node);
		}
	}
	free(f.keys);
	if (m->conf->store_etcd) {
		struct dir_write *w = calloc(1, sizeof(*w));

		free(cs.moved);
		memset(&cs, 0, sizeof(cs));
		if (!w) {
			store_abort(&m->store, txn);
			store_record(&m->store, false);
			m->failover_again[node] = true;
			return;
		}
		w->kind = W_FAILOVER;
		w->node = node;
		etcd_send(m, txn, w);
	} else if (store_commit(&m->store, txn) < 0) {
		m->stats.commit_failures++;
		log_err("failover of node %s: store commit failed", m->conf->nodes[node].name);
		return;
	}
	if (!m->conf->store_etcd)
		m->stats.failovers += promoted; /* with etcd: once committed */
	m->stats.failovers_skipped += kept;
	if (kept)
		log_warn("node %s failed: %u mappings promoted to their standby locators, %u kept: "
			 "their standby node is not connected",
			 m->conf->nodes[node].name, promoted, kept);
	else
		log_warn("node %s failed: %u mappings promoted to their standby locators",
			 m->conf->nodes[node].name, promoted);
	mapper_changes_post(m, &cs);
}

/* A frozen mapping whose freeze ran its time (and whose lifetime did not:
 * expiry comes first): the store's expiry index holds it at that time. */
static bool freeze_ended(const struct mapping *mp, uint64_t now)
{
	return mp->rec.state == ILA_STATE_FROZEN && mp->frozen_until &&
	       !frozen_now(mp, now) && now < mp->expires;
}

/* The freeze is over: the mapping is up again at its locator, with the next
 * number, pushed, and its damping starts afresh (9.3). */
static void freeze_end(struct mapper *m, MDB_txn *txn, const struct mapping *old,
		       struct mapper_changes *cs)
{
	struct mapping nm = *old;
	char a[INET6_ADDRSTRLEN];

	nm.rec.state = ILA_STATE_UP;
	nm.rec.seq = seq_next(old->rec.seq);
	nm.frozen_until = 0;
	nm.moves = 0; /* no damping window open */
	if (store_put(&m->store, txn, &nm, old, true) < 0)
		return;
	m->stats.freeze_ends++;
	mapper_changes_vn(cs, nm.rec.vn);
	mapper_event(m, "freeze-end", &nm.rec, nm.rec.node, "freeze time passed");
	log_info("mapping %s at node %s: freeze ended, up again with seq %llu",
		 mapper_rec_addr(&nm.rec, a, sizeof(a)), nm.rec.node,
		 (unsigned long long)nm.rec.seq);
}

static void expiry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;
	struct store_key keys[64];
	struct mapper_changes cs = { 0 };
	uint64_t now = mapper_now_s(m);
	MDB_txn *txn;
	bool purged = false;
	int n;

	(void)loop;
	(void)revents;
	if (m->conf->store_etcd && (m->expiry_out || !m->estore.ready))
		return;
	if ((m->conf->store_etcd ? etcd_begin(m, &txn) : store_begin(&m->store, true, &txn)) < 0)
		return;
	for (unsigned round = 0; round < MAPPER_EXPIRE_BATCH / ILA_ARRAY_SIZE(keys); round++) {
		n = store_expired(&m->store, txn, now, keys, ILA_ARRAY_SIZE(keys));
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct mapping old, nm;

			if (store_get(&m->store, txn, &keys[i], &old) < 0)
				continue;
			if (old.rec.state == ILA_STATE_REMOVED) {
				/* a tombstone's time is up: forgotten, nobody is told */
				if (store_del(&m->store, txn, &old, false) == 0) {
					m->stats.tombstones_purged++;
					purged = true;
				}
				continue;
			}
			if (freeze_ended(&old, now)) {
				freeze_end(m, txn, &old, &cs);
				continue;
			}
			mapper_changes_vn(&cs, old.rec.vn);
			m->stats.expired++;
			mapper_event(m, "expire", &old.rec, old.rec.node,
				     old.rec.state == ILA_STATE_DOWN ? "removed" : "down");
			nm = old;
			if (old.rec.state == ILA_STATE_DOWN) {
				/* down for a lifetime: removed, a tombstone with the next number */
				make_tombstone(m, &nm, seq_next(old.rec.seq), now);
			} else {
				/* soft state: not refreshed in time, the mapping goes down
				 * (next number) and stays known for another lifetime */
				nm.rec.state = ILA_STATE_DOWN;
				nm.rec.seq = seq_next(old.rec.seq);
				nm.lapsed = true;
				nm.expires = now + (old.rec.lifetime ? old.rec.lifetime : 1);
			}
			store_put(&m->store, txn, &nm, &old, true);
		}
	}
	if (cs.nvns == 0 && !purged) {
		store_abort(&m->store, txn);
		store_record(&m->store, false);
		return;
	}
	if (m->conf->store_etcd) {
		struct dir_write *dw = calloc(1, sizeof(*dw));

		free(cs.moved);
		if (!dw) {
			store_abort(&m->store, txn);
			store_record(&m->store, false);
			return;
		}
		dw->kind = W_EXPIRY;
		m->expiry_out = true;
		etcd_send(m, txn, dw);
		return;
	}
	if (store_commit(&m->store, txn) < 0) {
		m->stats.commit_failures++;
		return;
	}
	mapper_changes_post(m, &cs);
}

static void trim_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;
	MDB_txn *txn;

	(void)loop;
	(void)revents;
	/* with etcd, positions are revisions (estore_pos): as many revisions kept */
	uint64_t last = m->conf->store_etcd ? (uint64_t)estore_pos_rev(m->store.jseq)
					    : m->store.jseq;

	if (last <= MAPPER_JOURNAL_KEEP)
		return;
	last -= MAPPER_JOURNAL_KEEP;
	if (store_begin(&m->store, true, &txn) < 0)
		return;
	store_journal_trim(&m->store, txn,
			   m->conf->store_etcd ? estore_pos((int64_t)last, 0) : last);
	if (store_commit(&m->store, txn) < 0)
		m->stats.commit_failures++;
}

static int single_change(struct mapper *m, const struct ila_record *key, bool del)
{
	struct mapper_changes cs = { 0 };
	struct store_key k;
	struct mapping old, nm;
	MDB_txn *txn;
	int rc;

	directory_commit(m);
	store_key_of(key, &k);
	if (m->conf->store_etcd && !m->estore.ready)
		return -EAGAIN;
	if ((rc = m->conf->store_etcd ? etcd_begin(m, &txn) : store_begin(&m->store, true, &txn)) < 0)
		return rc;
	if ((rc = store_get(&m->store, txn, &k, &old)) == 0 && old.rec.state == ILA_STATE_REMOVED)
		rc = -ENOENT; /* a tombstone is no mapping to act on */
	if (rc < 0) {
		store_abort(&m->store, txn);
		store_record(&m->store, false);
		return rc;
	}
	nm = old;
	if (del) {
		/* deleted by the operator: a tombstone, like any removal */
		make_tombstone(m, &nm, seq_next(old.rec.seq), mapper_now_s(m));
		rc = store_put(&m->store, txn, &nm, &old, true);
		m->stats.deletes++;
	} else {
		nm.frozen_until = 0;
		nm.moves = 0; /* no damping window open */
		nm.rec.seq = seq_next(old.rec.seq);
		if (nm.rec.state == ILA_STATE_FROZEN)
			nm.rec.state = ILA_STATE_UP;
		rc = store_put(&m->store, txn, &nm, &old, true);
		m->stats.unfreezes++;
	}
	if (rc < 0) {
		store_abort(&m->store, txn);
		store_record(&m->store, false);
		return rc;
	}
	if (m->conf->store_etcd) {
		/* the change is out: the watch brings it to every instance */
		struct dir_write *w = calloc(1, sizeof(*w));

		if (!w) {
			store_abort(&m->store, txn);
			store_record(&m->store, false);
			return -ENOMEM;
		}
		w->kind = W_CONTROL;
		etcd_send(m, txn, w);
		return 0;
	}
	if ((rc = store_commit(&m->store, txn)) < 0)
		return rc;
	mapper_changes_vn(&cs, key->vn);
	mapper_changes_post(m, &cs);
	return 0;
}

int directory_unfreeze(struct mapper *m, const struct ila_record *key)
{
	return single_change(m, key, false);
}

int directory_delete(struct mapper *m, const struct ila_record *key)
{
	return single_change(m, key, true);
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct mapper *m = w->data;

	(void)loop;
	(void)revents;
	/* what the callbacks of this iteration told other modules (a closed
	 * session drops its pending ACKs), then the group commit: everything
	 * read in this loop iteration, in one transaction (with a commit delay,
	 * the timer decides instead), then the pushes it made; closed sessions
	 * are freed last, once nothing refers to them */
	mapper_events_run(m);
	/* with etcd, also what waited for the copy to catch up or for the
	 * batch out, and what came back from a conflict */
	if (m->conf->store_etcd ? !ev_is_active(&m->commit_delay_w) : !m->conf->commit_delay_ms)
		directory_commit(m);
	mapper_events_run(m);
	sessions_reap(m);
}

static void commit_delay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	directory_commit(w->data);
}

void directory_init(struct mapper *m)
{
	mapper_clock_init(m);
	memset(m->buckets, 0, sizeof(m->buckets));
	m->pending = NULL;
	m->pending_tail = &m->pending;
	ev_prepare_init(&m->commit_w, prepare_cb);
	m->commit_w.data = m;
	ev_prepare_start(m->loop, &m->commit_w);
	ev_timer_init(&m->commit_delay_w, commit_delay_cb, m->conf->commit_delay_ms / 1000.0, 0.);
	m->commit_delay_w.data = m;
	ev_timer_init(&m->expiry_w, expiry_cb, 1.0, 1.0);
	m->expiry_w.data = m;
	ev_timer_start(m->loop, &m->expiry_w);
	ev_timer_init(&m->trim_w, trim_cb, 10.0, 10.0);
	m->trim_w.data = m;
	ev_timer_start(m->loop, &m->trim_w);
}

void directory_stop(struct mapper *m)
{
	directory_commit(m);
	ev_prepare_stop(m->loop, &m->commit_w);
	ev_timer_stop(m->loop, &m->commit_delay_w);
	ev_timer_stop(m->loop, &m->push_delay_w);
	ev_timer_stop(m->loop, &m->expiry_w);
	ev_timer_stop(m->loop, &m->trim_w);
}
