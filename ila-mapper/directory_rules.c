/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One REGISTER or DEREGISTER record decided: rights, quotas, ordering, damping, tombstones. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mapper.h"
#include "directory_priv.h"

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

bool dir_frozen_now(const struct mapping *mp, uint64_t now)
{
	return mp->frozen_until == STORE_FROZEN_PERMANENT || now < mp->frozen_until;
}

/* The number after s for the mapper's own changes (expiry, freeze, promotion,
 * deletion): they may use the numbers above ILA_SEQ_LIMIT; none wraps. */
uint64_t dir_seq_next(uint64_t s)
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

static int refuse_stale(struct mapper *m, const char *name, const struct ila_record *r,
			uint64_t seq)
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

int dir_apply_register(struct mapper *m, MDB_txn *txn, int node, const struct ila_record *r,
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
			return refuse_stale(m, name, r, old.rec.seq);
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
		return refuse_stale(m, name, r, old.rec.seq);
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
			nm.rec.state = dir_frozen_now(&old, now) ? ILA_STATE_FROZEN : ILA_STATE_UP;
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
		if (dir_frozen_now(&old, now)) {
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
		nm.rec.seq = dir_seq_next(old.rec.seq);
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
void dir_make_tombstone(const struct mapper *m, struct mapping *nm, uint64_t seq, uint64_t now)
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

int dir_apply_deregister(struct mapper *m, MDB_txn *txn, int node, const struct ila_record *r,
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
		dir_make_tombstone(m, &nm, seq, now);
	}
	return store_put(&m->store, txn, &nm, &old, true) < 0 ? ILA_PERR_INTERNAL : 0;
}
