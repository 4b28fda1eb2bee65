/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Registrations queued and decided in one group commit (LMDB, or the etcd copy); failover. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mapper.h"
#include "directory_priv.h"

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
						 ? dir_apply_register(m, txn, op->node, r, now, &cs)
						 : dir_apply_deregister(m, txn, op->node, r, now, &cs);

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
		dir_send_ack(m, op, rc == 0);
		dir_op_free(op);
	}
	mapper_changes_post(m, &cs);
}

/* ---- store etcd: the same decisions, written by conditional transactions ---- */

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
			dir_op_error(op, ILA_PERR_UNAVAILABLE, m->estore.why);
			dir_op_free(op);
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
	if (!w || !w->rec_op || dir_etcd_begin(m, &txn) < 0) {
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
					 ? dir_apply_register(m, txn, op->node, r, now, &cs)
					 : dir_apply_deregister(m, txn, op->node, r, now, &cs);

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
	dir_etcd_send(m, txn, w);
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
	if ((m->conf->store_etcd ? dir_etcd_begin(m, &txn)
				  : store_begin(&m->store, true, &txn)) < 0) {
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
		nm.rec.seq = dir_seq_next(old.rec.seq);
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
		dir_etcd_send(m, txn, w);
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
	ev_timer_init(&m->expiry_w, dir_expiry_cb, 1.0, 1.0);
	m->expiry_w.data = m;
	ev_timer_start(m->loop, &m->expiry_w);
	ev_timer_init(&m->trim_w, dir_trim_cb, 10.0, 10.0);
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
