/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store etcd: the directory's writes sent as transactions, and what they came to. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mapper.h"
#include "directory_priv.h"

/* Opens a write that records its changes instead of committing them. */
int dir_etcd_begin(struct mapper *m, MDB_txn **txn)
{
	store_record(&m->store, true);
	int rc = store_begin(&m->store, true, txn);

	if (rc < 0)
		store_record(&m->store, false);
	return rc;
}

/* Sends what the write recorded; the copy is left as it was (the changes
 * come back through the watch). */
void dir_etcd_send(struct mapper *m, MDB_txn *txn, struct dir_write *w)
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
			dir_op_error(op, ILA_PERR_UNAVAILABLE,
				     m->estore.why[0] ? m->estore.why : "etcd did not take the change");
			dir_op_free(op);
		} else if (conflict && ++op->tries < ETCD_TRIES) {
			*again_tail = op;
			again_tail = &op->next;
			m->pending_records += (unsigned)op->msg.nrec;
		} else if (conflict) {
			m->stats.commit_failures++;
			dir_op_error(op, ILA_PERR_INTERNAL, "changed by other mappers too often");
			dir_op_free(op);
		} else {
			m->stats.commits++;
			m->stats.commit_records += op->msg.nrec;
			dir_send_ack(m, op, true);
			dir_op_free(op);
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
