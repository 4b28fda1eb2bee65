/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Timed changes: lifetimes and tombstones run out, freezes end, the journal is trimmed. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "log.h"
#include "mapper.h"
#include "directory_priv.h"

/* A frozen mapping whose freeze ran its time (and whose lifetime did not:
 * expiry comes first): the store's expiry index holds it at that time. */
static bool freeze_ended(const struct mapping *mp, uint64_t now)
{
	return mp->rec.state == ILA_STATE_FROZEN && mp->frozen_until &&
	       !dir_frozen_now(mp, now) && now < mp->expires;
}

/* The freeze is over: the mapping is up again at its locator, with the next
 * number, pushed, and its damping starts afresh (9.3). */
static void freeze_end(struct mapper *m, MDB_txn *txn, const struct mapping *old,
		       struct mapper_changes *cs)
{
	struct mapping nm = *old;
	char a[INET6_ADDRSTRLEN];

	nm.rec.state = ILA_STATE_UP;
	nm.rec.seq = dir_seq_next(old->rec.seq);
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

void dir_expiry_cb(struct ev_loop *loop, ev_timer *w, int revents)
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
	if ((m->conf->store_etcd ? dir_etcd_begin(m, &txn)
				  : store_begin(&m->store, true, &txn)) < 0)
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
				dir_make_tombstone(m, &nm, dir_seq_next(old.rec.seq), now);
			} else {
				/* soft state: not refreshed in time, the mapping goes down
				 * (next number) and stays known for another lifetime */
				nm.rec.state = ILA_STATE_DOWN;
				nm.rec.seq = dir_seq_next(old.rec.seq);
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
		dir_etcd_send(m, txn, dw);
		return;
	}
	if (store_commit(&m->store, txn) < 0) {
		m->stats.commit_failures++;
		return;
	}
	mapper_changes_post(m, &cs);
}

void dir_trim_cb(struct ev_loop *loop, ev_timer *w, int revents)
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
