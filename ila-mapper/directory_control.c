/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The operator's changes to one mapping: ilactl -M unfreeze and delete. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "mapper.h"
#include "directory_priv.h"

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
	if ((rc = m->conf->store_etcd ? dir_etcd_begin(m, &txn)
				       : store_begin(&m->store, true, &txn)) < 0)
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
		dir_make_tombstone(m, &nm, dir_seq_next(old.rec.seq), mapper_now_s(m));
		rc = store_put(&m->store, txn, &nm, &old, true);
		m->stats.deletes++;
	} else {
		nm.frozen_until = 0;
		nm.moves = 0; /* no damping window open */
		nm.rec.seq = dir_seq_next(old.rec.seq);
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
		dir_etcd_send(m, txn, w);
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
