#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mapper.h"

/* What one commit changed, for the pushes that follow it. */
struct change_set {
	uint32_t vns[ILA_CONF_MAX_VNS];
	unsigned nvns;
	struct mapper_moved *moved;
	unsigned nmoved, capmoved;
};

static void changed_vn(struct change_set *cs, uint32_t vn)
{
	for (unsigned i = 0; i < cs->nvns; i++)
		if (cs->vns[i] == vn)
			return;
	if (cs->nvns < ILA_ARRAY_SIZE(cs->vns))
		cs->vns[cs->nvns++] = vn;
}

static void changed_move(struct change_set *cs, const char *prev_node, const struct mapping *m)
{
	if (cs->nmoved == cs->capmoved) {
		unsigned ncap = cs->capmoved ? cs->capmoved * 2 : 16;
		struct mapper_moved *n = realloc(cs->moved, ncap * sizeof(*n));

		if (!n)
			return; /* the previous owner still learns it if it subscribes */
		cs->moved = n;
		cs->capmoved = ncap;
	}
	snprintf(cs->moved[cs->nmoved].prev_node, sizeof(cs->moved[0].prev_node), "%s", prev_node);
	cs->moved[cs->nmoved].m = *m;
	cs->nmoved++;
}

/* The pushes follow once the current callback is done (mapper.c). */
static void changes_push(struct mapper *m, struct change_set *cs)
{
	struct mapper_ev ev = { .type = MAPPER_EV_CHANGED, .nvns = cs->nvns,
				.moved = cs->moved, .nmoved = cs->nmoved };

	memcpy(ev.vns, cs->vns, sizeof(ev.vns));
	mapper_post(m, &ev); /* takes cs->moved */
	memset(cs, 0, sizeof(*cs));
}

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

static int apply_register(struct mapper *m, MDB_txn *txn, int node, const struct ila_record *r,
			  uint64_t now, struct change_set *cs)
{
	const struct ila_conf *c = m->conf;
	const char *name = c->nodes[node].name;
	struct store_key k;
	struct mapping old, nm;
	uint32_t lifetime;
	char a[INET6_ADDRSTRLEN];
	int rc;

	if ((rc = check_record(m, node, r, true)))
		return rc;
	lifetime = r->lifetime ? r->lifetime : c->lifetime_default_s;
	if (lifetime > c->lifetime_max_s)
		lifetime = c->lifetime_max_s;
	store_key_of(r, &k);
	rc = store_get(&m->store, txn, &k, &old);
	if (rc < 0 && rc != -ENOENT)
		return ILA_PERR_INTERNAL;

	if (r->flags & ILA_REC_F_STANDBY_REG) {
		/* warm move: this node offers to take over, nothing moves yet */
		if (rc == -ENOENT) {
			m->stats.no_mapping++;
			return ILA_PERR_NO_MAPPING;
		}
		if (strcmp(old.rec.node, name) == 0)
			return ILA_PERR_BAD_VALUE; /* the owner cannot be its own standby */
		nm = old;
		nm.rec.standby = r->loc;
		nm.rec.has_standby = true;
		snprintf(nm.standby_node, sizeof(nm.standby_node), "%s", name);
		if (store_put(&m->store, txn, &nm, &old, true) < 0)
			return ILA_PERR_INTERNAL;
		m->stats.standby_registrations++;
		changed_vn(cs, r->vn);
		mapper_event(m, "standby", r, name, NULL);
		return 0;
	}

	if (rc == -ENOENT) {
		memset(&nm, 0, sizeof(nm));
		nm.rec = *r;
		nm.rec.seq = r->seq ? r->seq : 1;
		nm.rec.state = ILA_STATE_UP;
		nm.rec.flags = r->flags;
		nm.rec.has_standby = nm.rec.has_prev = false;
		nm.rec.lifetime = lifetime;
		memcpy(nm.rec.node, name, strnlen(name, ILA_PROTO_NAME_MAX) + 1);
		nm.expires = now + lifetime;
		nm.window_start = now;
		if (store_put(&m->store, txn, &nm, NULL, true) < 0)
			return ILA_PERR_INTERNAL;
		m->stats.registrations++;
		changed_vn(cs, r->vn);
		mapper_event(m, "register", &nm.rec, name, NULL);
		return 0;
	}

	if (r->seq < old.rec.seq) {
		m->stats.stale_seq++;
		log_debug("register %s from node %s: seq %llu below %llu, ignored",
			  mapper_rec_addr(r, a, sizeof(a)), name, (unsigned long long)r->seq,
			  (unsigned long long)old.rec.seq);
		return ILA_PERR_STALE_SEQ;
	}
	nm = old;
	nm.rec.lifetime = lifetime;
	nm.expires = now + lifetime;
	if (strcmp(old.rec.node, name) == 0 && ila_locator_equal(&old.rec.loc, &r->loc)) {
		/* a refresh; it only reaches subscribers when something they see changed */
		bool visible = r->seq > old.rec.seq || old.rec.state == ILA_STATE_DOWN ||
			       r->flags != old.rec.flags;

		nm.rec.seq = r->seq;
		nm.rec.flags = r->flags;
		if (old.rec.state == ILA_STATE_DOWN)
			nm.rec.state = frozen_now(&old, now) ? ILA_STATE_FROZEN : ILA_STATE_UP;
		if (store_put(&m->store, txn, &nm, &old, visible) < 0)
			return ILA_PERR_INTERNAL;
		m->stats.refreshes++;
		m->stats.registrations++;
		if (visible)
			changed_vn(cs, r->vn);
		return 0;
	}

	/* a move */
	if (old.frozen_until) {
		if (frozen_now(&old, now)) {
			m->stats.frozen_refused++;
			return ILA_PERR_FROZEN;
		}
		nm.frozen_until = 0;
		nm.moves = 0;
		nm.window_start = now;
	}
	if (now - nm.window_start >= c->damping_interval_s) {
		nm.window_start = now;
		nm.moves = 0;
	}
	if (c->damping_moves && nm.moves + 1 > c->damping_moves) {
		nm.frozen_until = c->damping_freeze_s == ILA_CONF_FREEZE_PERMANENT
					  ? STORE_FROZEN_PERMANENT
					  : now + c->damping_freeze_s;
		nm.rec.state = ILA_STATE_FROZEN;
		nm.expires = old.expires;
		nm.rec.lifetime = old.rec.lifetime;
		if (store_put(&m->store, txn, &nm, &old, true) < 0)
			return ILA_PERR_INTERNAL;
		m->stats.freezes++;
		m->stats.frozen_refused++;
		changed_vn(cs, r->vn);
		mapper_event(m, "freeze", &nm.rec, old.rec.node, "too many moves");
		log_warn("mapping %s frozen at node %s: more than %u moves in %u s (move to node %s refused)",
			 mapper_rec_addr(r, a, sizeof(a)), old.rec.node, c->damping_moves,
			 c->damping_interval_s, name);
		return ILA_PERR_FROZEN;
	}
	nm.moves++;
	/* a tie from another node: the mapper orders it after the current one */
	nm.rec.seq = r->seq == old.rec.seq ? old.rec.seq + 1 : r->seq;
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
	m->stats.moves++;
	m->stats.registrations++;
	changed_vn(cs, r->vn);
	if (strcmp(old.rec.node, name) != 0)
		changed_move(cs, old.rec.node, &nm);
	log_info("move %s: node %s -> node %s, seq %llu", mapper_rec_addr(r, a, sizeof(a)), old.rec.node,
		 name, (unsigned long long)nm.rec.seq);
	mapper_event(m, "move", &nm.rec, name, old.rec.node);
	return 0;
}

static int apply_deregister(struct mapper *m, MDB_txn *txn, int node, const struct ila_record *r,
			    uint64_t now, struct change_set *cs)
{
	const char *name = m->conf->nodes[node].name;
	struct store_key k;
	struct mapping old, nm;
	int rc;

	if ((rc = check_record(m, node, r, true)))
		return rc;
	store_key_of(r, &k);
	rc = store_get(&m->store, txn, &k, &old);
	if (rc == -ENOENT) {
		m->stats.no_mapping++;
		return ILA_PERR_NO_MAPPING;
	}
	if (rc < 0)
		return ILA_PERR_INTERNAL;
	if (r->flags & ILA_REC_F_STANDBY_REG) {
		if (!old.rec.has_standby || strcmp(old.standby_node, name) != 0) {
			m->stats.not_authorised++;
			return ILA_PERR_NOT_AUTHORISED;
		}
		nm = old;
		nm.rec.has_standby = false;
		nm.standby_node[0] = '\0';
		memset(&nm.rec.standby, 0, sizeof(nm.rec.standby));
		if (store_put(&m->store, txn, &nm, &old, true) < 0)
			return ILA_PERR_INTERNAL;
		changed_vn(cs, r->vn);
		return 0;
	}
	if (strcmp(old.rec.node, name) != 0) {
		m->stats.not_authorised++;
		return ILA_PERR_NOT_AUTHORISED;
	}
	if (r->seq && r->seq < old.rec.seq) {
		m->stats.stale_seq++;
		return ILA_PERR_STALE_SEQ;
	}
	m->stats.deregistrations++;
	changed_vn(cs, r->vn);
	mapper_event(m, r->state == ILA_STATE_DOWN ? "down" : "deregister", r, name, NULL);
	if (r->state == ILA_STATE_DOWN) {
		/* cold move: subscribers answer senders unreachable until it comes back */
		nm = old;
		nm.rec.state = ILA_STATE_DOWN;
		if (r->seq > nm.rec.seq)
			nm.rec.seq = r->seq;
		return store_put(&m->store, txn, &nm, &old, true) < 0 ? ILA_PERR_INTERNAL : 0;
	}
	return store_del(&m->store, txn, &old) < 0 ? ILA_PERR_INTERNAL : 0;
}

static void op_free(struct pending_op *op)
{
	ila_msg_free(&op->msg);
	free(op->status);
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

static void send_ack(struct pending_op *op)
{
	struct ila_msg ack = { .type = ILA_MSG_ACK, .xid = op->msg.xid };

	if (!op->s || !session_open(op->s))
		return;
	ack.ack.has_count = true;
	ack.ack.count = op->accepted;
	ack.ack.status = op->status;
	ack.ack.nstatus = op->msg.nrec;
	if (session_send(op->s, &ack) == 0)
		session_kick(op->s);
}

void directory_commit(struct mapper *m)
{
	struct change_set cs = { 0 };
	struct pending_op *ops = m->pending, *op;
	uint64_t now = ila_clock_wall_s();
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
		/* nothing of this batch is acknowledged: the nodes retry */
		m->stats.commit_failures++;
		log_err("store commit of %u records failed: %s", records, strerror(-rc));
		for (op = ops; op; op = op->next) {
			op->accepted = 0;
			for (size_t i = 0; i < op->msg.nrec; i++)
				op->status[i] = ILA_PERR_INTERNAL;
		}
		free(cs.moved);
		memset(&cs, 0, sizeof(cs));
	} else {
		m->stats.commits++;
		m->stats.commit_records += records;
	}
	while ((op = ops)) {
		ops = op->next;
		send_ack(op);
		op_free(op);
	}
	changes_push(m, &cs);
}

void directory_query(struct mapper *m, struct session *s, const struct ila_msg *msg)
{
	struct ila_msg reply = { .type = ILA_MSG_REPLY, .xid = msg->xid };
	MDB_txn *txn;

	if (!mapper_vn(m, msg->sub.vn)) {
		m->stats.vn_unknown++;
		session_send_error(s, msg->xid, ILA_PERR_VN_UNKNOWN, "vn %u is not configured",
				   msg->sub.vn);
		return;
	}
	reply.rec = calloc(msg->nrec ? msg->nrec : 1, sizeof(*reply.rec));
	if (!reply.rec || store_begin(&m->store, false, &txn) < 0) {
		free(reply.rec);
		session_send_error(s, msg->xid, ILA_PERR_INTERNAL, "store unavailable");
		return;
	}
	for (size_t i = 0; i < msg->nrec; i++) {
		struct ila_record q = msg->rec[i];
		struct store_key k;
		struct mapping mp;

		/* addresses without a mapping are left out of the REPLY */
		q.vn = msg->sub.vn;
		store_key_of(&q, &k);
		if (store_get(&m->store, txn, &k, &mp) == 0)
			reply.rec[reply.nrec++] = mp.rec;
	}
	mdb_txn_abort(txn);
	if (session_send(s, &reply) == 0)
		session_kick(s);
	free(reply.rec);
}

struct failover_scan {
	const char *node;
	struct store_key *keys;
	unsigned n, cap;
};

static int failover_collect(void *arg, const struct store_key *k, const struct mapping *mp)
{
	struct failover_scan *f = arg;

	if (strcmp(mp->rec.node, f->node) != 0 || !mp->rec.has_standby ||
	    mp->rec.state == ILA_STATE_DOWN)
		return 0;
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

void directory_node_failed(struct mapper *m, int node)
{
	struct failover_scan f = { .node = m->conf->nodes[node].name };
	struct change_set cs = { 0 };
	MDB_txn *txn;
	unsigned promoted = 0;

	directory_commit(m); /* what the node sent before it died comes first */
	if (store_begin(&m->store, false, &txn) < 0)
		return;
	store_scan(&m->store, txn, 0, NULL, failover_collect, &f);
	mdb_txn_abort(txn);
	if (f.n == 0) {
		free(f.keys);
		return;
	}
	if (store_begin(&m->store, true, &txn) < 0) {
		free(f.keys);
		return;
	}
	for (unsigned i = 0; i < f.n; i++) {
		struct mapping old, nm;

		if (store_get(&m->store, txn, &f.keys[i], &old) < 0)
			continue;
		nm = old;
		nm.rec.prev = old.rec.loc;
		nm.rec.has_prev = true;
		nm.rec.loc = old.rec.standby;
		snprintf(nm.rec.node, sizeof(nm.rec.node), "%s", old.standby_node);
		nm.rec.has_standby = false;
		memset(&nm.rec.standby, 0, sizeof(nm.rec.standby));
		nm.standby_node[0] = '\0';
		nm.rec.seq = old.rec.seq + 1;
		nm.rec.flags |= ILA_REC_F_PROMOTED;
		nm.rec.state = ILA_STATE_UP;
		if (store_put(&m->store, txn, &nm, &old, true) == 0) {
			promoted++;
			changed_vn(&cs, nm.rec.vn);
			mapper_event(m, "failover", &nm.rec, nm.rec.node, old.rec.node);
		}
	}
	free(f.keys);
	if (store_commit(&m->store, txn) < 0) {
		m->stats.commit_failures++;
		log_err("failover of node %s: store commit failed", m->conf->nodes[node].name);
		return;
	}
	m->stats.failovers += promoted;
	log_warn("node %s failed: %u mappings promoted to their standby locators",
		 m->conf->nodes[node].name, promoted);
	changes_push(m, &cs);
}

static void expiry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;
	struct store_key keys[64];
	struct change_set cs = { 0 };
	uint64_t now = ila_clock_wall_s();
	MDB_txn *txn;
	int n;

	(void)loop;
	(void)revents;
	if (store_begin(&m->store, true, &txn) < 0)
		return;
	for (unsigned round = 0; round < MAPPER_EXPIRE_BATCH / ILA_ARRAY_SIZE(keys); round++) {
		n = store_expired(&m->store, txn, now, keys, ILA_ARRAY_SIZE(keys));
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct mapping old, nm;

			if (store_get(&m->store, txn, &keys[i], &old) < 0)
				continue;
			changed_vn(&cs, old.rec.vn);
			m->stats.expired++;
			mapper_event(m, "expire", &old.rec, old.rec.node,
				     old.rec.state == ILA_STATE_DOWN ? "removed" : "down");
			if (old.rec.state == ILA_STATE_DOWN) {
				store_del(&m->store, txn, &old);
				continue;
			}
			/* soft state: not refreshed in time, the mapping goes down and
			 * stays known for another lifetime */
			nm = old;
			nm.rec.state = ILA_STATE_DOWN;
			nm.expires = now + (old.rec.lifetime ? old.rec.lifetime : 1);
			store_put(&m->store, txn, &nm, &old, true);
		}
	}
	if (cs.nvns == 0) {
		store_abort(&m->store, txn);
		return;
	}
	if (store_commit(&m->store, txn) < 0) {
		m->stats.commit_failures++;
		return;
	}
	changes_push(m, &cs);
}

static void trim_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;
	MDB_txn *txn;

	(void)loop;
	(void)revents;
	if (m->store.jseq <= MAPPER_JOURNAL_KEEP)
		return;
	if (store_begin(&m->store, true, &txn) < 0)
		return;
	store_journal_trim(&m->store, txn, m->store.jseq - MAPPER_JOURNAL_KEEP);
	if (store_commit(&m->store, txn) < 0)
		m->stats.commit_failures++;
}

static int single_change(struct mapper *m, const struct ila_record *key, bool del)
{
	struct change_set cs = { 0 };
	struct store_key k;
	struct mapping old, nm;
	MDB_txn *txn;
	int rc;

	directory_commit(m);
	store_key_of(key, &k);
	if ((rc = store_begin(&m->store, true, &txn)) < 0)
		return rc;
	if ((rc = store_get(&m->store, txn, &k, &old)) < 0) {
		store_abort(&m->store, txn);
		return rc;
	}
	if (del) {
		rc = store_del(&m->store, txn, &old);
		m->stats.deletes++;
	} else {
		nm = old;
		nm.frozen_until = 0;
		nm.moves = 0;
		nm.window_start = ila_clock_wall_s();
		if (nm.rec.state == ILA_STATE_FROZEN)
			nm.rec.state = ILA_STATE_UP;
		rc = store_put(&m->store, txn, &nm, &old, true);
		m->stats.unfreezes++;
	}
	if (rc < 0) {
		store_abort(&m->store, txn);
		return rc;
	}
	if ((rc = store_commit(&m->store, txn)) < 0)
		return rc;
	changed_vn(&cs, key->vn);
	changes_push(m, &cs);
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
	if (!m->conf->commit_delay_ms)
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
