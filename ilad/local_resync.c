/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ilad/local_resync.c: workloads waiting for the mapper's view: resumed, registered, let go. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ilad.h"

/*
 * Decides for a workload that waited for the mapper's view of it (view:
 * the mapper's record, NULL when it has none). Returns true when it is to
 * be registered (l->seq set), false when it was let go (l is freed). The
 * rules are in ilad(8) (RESTART) and doc/protocol.md (8.3, "Restart").
 */
static bool resync_one(struct ilad *d, struct local *l, const struct ila_record *view)
{
	char a[INET6_ADDRSTRLEN];
	/* a removed record (a tombstone in a REPLY) only gives the number to beat */
	bool live = view && view->state != ILA_STATE_REMOVED;
	bool mine = live && strcmp(view->node, d->conf->node_name) == 0;
	bool other_up = live && !mine && view->state != ILA_STATE_DOWN;

	ilad_key_addr(&l->key, a, sizeof(a));
	if (l->resync == RESYNC_ATTACH) {
		/* an attach: a move here, above whatever the mapper holds */
		l->seq = local_next_seq(d, l);
		if (view && view->seq >= l->seq)
			l->seq = view->seq + 1;
	} else if (other_up) {
		/* it moved while ilad was down: the other node has it */
		d->stats.released++;
		log_notice("%s: runs at node %s (seq %llu) since before this start: let go", a,
			   view->node, (unsigned long long)view->seq);
		l->resync = RESYNC_NONE;
		local_moved_away(d, &l->key, view);
		return false;
	} else if (mine && view->state != ILA_STATE_DOWN) {
		/* still ours and up: a refresh, nothing moves */
		l->seq = view->seq;
		d->stats.resumed++;
		log_info("%s: resumed at seq %llu", a, (unsigned long long)l->seq);
	} else {
		/* down (it lapsed, or was taken down) or gone: registered above it */
		l->seq = (view && view->seq > l->seq ? view->seq : l->seq) + 1;
		d->stats.resumed++;
		log_notice("%s: mapping %s: registering it again, seq %llu", a,
			   live ? "down" : "gone", (unsigned long long)l->seq);
	}
	l->resync = RESYNC_NONE;
	l->registered = false;
	return true;
}

/* Registers what resync_one kept; attaches waiting for the view now wait
 * for their ACK. */
static void resync_register(struct ilad *d, struct local **reg, size_t nreg)
{
	mc_register(d, reg, nreg, ILA_MSG_REGISTER);
	for (size_t i = 0; i < d->n_waits; i++) {
		struct local *l = d->waits[i].xid ? NULL : local_get(d, &d->waits[i].key);

		if (l && !l->resync && l->reg_xid)
			d->waits[i].xid = l->reg_xid;
	}
	cache_flush(d);
}

static void local_resync_vn(struct ilad *d, uint32_t vn);

static bool query_out(const struct ilad *d, const struct local *l)
{
	return mc_up(d) && l->queried_in == d->stats.mapper_connects;
}

void local_resync(struct ilad *d, uint32_t vn)
{
	/* neighbours seen while the vn was not in sync are decided now */
	local_neigh_dump(d);
	local_resync_vn(d, vn);
}

static void local_resync_vn(struct ilad *d, uint32_t vn)
{
	size_t n = (size_t)lh_table_length(d->locals), nreg = 0;
	struct local **reg = calloc(n ? n : 1, sizeof(*reg));
	struct lh_entry *le, *tmp;

	if (!reg)
		return; /* they stay waiting: the next sync tries again */
	lh_foreach_safe(d->locals, le, tmp) {
		struct local *l = lh_entry_v(le);
		struct centry *e;

		if (l->key.vn != vn || !l->resync)
			continue;
		e = cache_get(d, &l->key, false);
		/* a snapshot leaves removed mappings out: the REPLY, which gives
		 * a tombstone's number, decides those */
		if (!(e && e->known) && query_out(d, l))
			continue;
		if (resync_one(d, l, e && e->known ? &e->rec : NULL))
			reg[nreg++] = l;
	}
	resync_register(d, reg, nreg);
	free(reg);
}

void local_answered(struct ilad *d, const struct ilad_key *keys, size_t n,
		    const struct ila_record *recs, size_t nrec, uint16_t error)
{
	struct local **reg = calloc(n ? n : 1, sizeof(*reg));
	size_t nreg = 0;

	if (!reg)
		return;
	for (size_t i = 0; i < n; i++) {
		struct local *l = local_get(d, &keys[i]);
		const struct ila_record *view = NULL;

		if (!l || !l->resync)
			continue; /* decided meanwhile (the snapshot came first) */
		l->queried_in = 0;
		if (error) {
			/* no answer: the vn's snapshot decides, or decided already */
			struct centry *e = cache_get(d, &l->key, false);

			if (!mc_vn_synced(d, l->key.vn))
				continue;
			view = e && e->known ? &e->rec : NULL;
		}
		for (size_t j = 0; j < nrec && !view; j++) {
			struct ilad_key k;

			ilad_key_of_record(&recs[j], &k);
			if (memcmp(&k, &keys[i], sizeof(k)) == 0)
				view = &recs[j];
		}
		if (resync_one(d, l, view))
			reg[nreg++] = l;
	}
	resync_register(d, reg, nreg);
	free(reg);
}

void local_query_waiting(struct ilad *d)
{
	size_t n = (size_t)lh_table_length(d->locals);
	struct ilad_key *keys = calloc(n ? n : 1, sizeof(*keys));
	struct lh_entry *le;

	if (!keys)
		return; /* they wait for the subscription's snapshot */
	for (unsigned v = 0; v < d->conf->n_vns; v++) {
		uint32_t vn = d->conf->vns[v].id;
		size_t k = 0;

		lh_foreach(d->locals, le) {
			struct local *l = lh_entry_v(le);

			if (l->resync && l->key.vn == vn) {
				keys[k++] = l->key;
				l->queried_in = d->stats.mapper_connects;
			}
		}
		if (k && mc_query(d, vn, keys, k) <= 0) {
			lh_foreach(d->locals, le) {
				struct local *l = lh_entry_v(le);

				if (l->key.vn == vn)
					l->queried_in = 0;
			}
		}
	}
	free(keys);
}
