/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The instance's lease and the nodes' presence keys in etcd (liveness). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "log.h"
#include "mapper.h"
#include "etcdstore_priv.h"

/* ---- the lease and the nodes' presence keys ---- */

static void presence_put(struct mapper *m, int node, bool left);

static void lease_cb(void *arg, const struct etcd_error *err, const struct etcd_lease_result *res)
{
	struct mapper *m = arg;
	struct estore *e = &m->estore;

	e->lease_pending = false;
	if (err->kind == ETCD_OK || err->kind == ETCD_ERR_LEASE_GONE)
		/* a member answered: the keepalive is the heartbeat */
		estore_set_reachable(m, true, NULL);
	if (err->kind == ETCD_ERR_LEASE_GONE) {
		/* expired while unreachable: the other instances have failed
		 * our nodes over; they keep their sessions and are announced
		 * again under a new lease */
		log_err("etcd: lease %llx lost: taking a new one",
			(unsigned long long)e->lease);
		e->stats.lease_lost++;
		e->lease = 0;
	} else if (err->kind != ETCD_OK) {
		estore_set_reachable(m, false, "lease: %s: %s", etcd_err_name(err->kind), err->msg);
		return;
	} else if (!e->lease) {
		e->lease = res->id;
		e->stats.lease_grants++;
		for (unsigned i = 0; i < m->conf->n_nodes; i++) {
			if (e->mine[i])
				presence_put(m, (int)i, false);
		}
	}
}

void estore_lease_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;
	struct estore *e = &m->estore;
	int rc;

	(void)loop, (void)revents;
	/* cut off for a lease's time: the other instances have failed this
	 * one's nodes over; they are told to go where etcd is reachable */
	if (!e->reachable && !e->cut &&
	    mapper_now_ms() - e->unreachable_since_ms >= m->conf->etcd_lease_s * 1000ull) {
		struct mapper_ev ev = { .type = MAPPER_EV_STORE_LOST };

		e->cut = true;
		log_err("etcd: unreachable for %u s (%s): sending the nodes to other mappers",
			m->conf->etcd_lease_s, e->why);
		mapper_post(m, &ev);
	}
	if (e->lease_pending)
		return;
	if (e->lease)
		rc = etcd_lease_keepalive(e->etcd, e->lease, lease_cb, m);
	else
		rc = etcd_lease_grant(e->etcd, m->conf->etcd_lease_s, 0, lease_cb, m);
	e->lease_pending = rc == 0;
}

static void presence_cb(void *arg, const struct etcd_error *err,
			const struct etcd_txn_result *res)
{
	struct mapper *m = arg;

	(void)res;
	if (err->kind != ETCD_OK)
		estore_set_reachable(m, false, "presence: %s: %s", etcd_err_name(err->kind),
				     err->msg);
}

/*
 * Presence keys are written in batches, once per loop iteration: nodes that
 * connect or leave together (an instance's restart, a rack's reboot) cost a
 * transaction per 64 keys instead of one each, and stay well below the
 * client's requests in flight. pres_todo holds the last wish per node.
 */
enum { PRES_NONE, PRES_PUT, PRES_LEFT, PRES_DEL };

struct pres_txn {
	struct mapper *m;
	size_t n;
	bool again;	/* deletes: the keys found under this lease after a failed compare */
	int nodes[ESTORE_OPS_PER_TXN];
	struct etcd_compare cmp[ESTORE_OPS_PER_TXN];
	struct etcd_op ops[ESTORE_OPS_PER_TXN];
	struct etcd_op fail[ESTORE_OPS_PER_TXN]; /* deletes: read the keys back */
	char keys[ESTORE_OPS_PER_TXN][ESTORE_KEY_MAX + ILA_CONF_NAME_MAX];
};

static void presence_schedule(struct mapper *m, double delay)
{
	struct estore *e = &m->estore;

	if (!ev_is_active(&e->pres_w)) {
		ev_timer_set(&e->pres_w, delay, 0.);
		ev_timer_start(m->loop, &e->pres_w);
	}
}

/* n/NODE deleted only while under this instance's lease: the node may be
 * elsewhere now. */
static void presence_del_one(struct mapper *m, int node)
{
	struct estore *e = &m->estore;
	char key[ESTORE_KEY_MAX + ILA_CONF_NAME_MAX];
	int n = snprintf(key, sizeof(key), "%sn/%s", e->prefix, m->conf->nodes[node].name);
	struct etcd_compare cmp = { .target = ETCD_CMP_LEASE, .result = ETCD_CMP_EQUAL,
				    .key = (const uint8_t *)key, .key_len = (size_t)n,
				    .number = e->lease };
	struct etcd_op del = { .type = ETCD_OP_DELETE_RANGE, .key = (const uint8_t *)key,
			       .key_len = (size_t)n };
	struct etcd_txn_req req = { .compare = &cmp, .n_compare = 1, .success = &del,
				    .n_success = 1 };

	if (etcd_txn(e->etcd, &req, presence_cb, m) < 0 && e->pres_todo[node] == PRES_NONE) {
		e->pres_todo[node] = PRES_DEL; /* the client is full: later */
		presence_schedule(m, 0.05);
	}
}

static void presence_add(struct pres_txn *t, struct mapper *m, int node, uint8_t todo);
static void presence_send(struct mapper *m, struct pres_txn *t, bool del);

static void presence_del_cb(void *arg, const struct etcd_error *err,
			    const struct etcd_txn_result *res)
{
	struct pres_txn *t = arg, *t2;
	struct mapper *m = t->m;

	if (err->kind != ETCD_OK || res->succeeded) {
		presence_cb(m, err, res);
		free(t);
		return;
	}
	/* some key is absent or under another lease (the node is elsewhere
	 * now): the keys read back under this lease, in one more transaction */
	if (!t->again && res->n_responses == t->n && (t2 = calloc(1, sizeof(*t2)))) {
		t2->again = true;
		for (size_t i = 0; i < t->n; i++) {
			const struct etcd_op_result *r = &res->responses[i];

			if (r->type == ETCD_OP_RANGE && r->range.n_kvs == 1 &&
			    r->range.kvs[0].lease == m->estore.lease)
				presence_add(t2, m, t->nodes[i], PRES_DEL);
		}
		if (t2->n)
			presence_send(m, t2, true);
		else
			free(t2);
	} else {
		for (size_t i = 0; i < t->n; i++)
			presence_del_one(m, t->nodes[i]);
	}
	free(t);
}

static void presence_put_cb(void *arg, const struct etcd_error *err,
			    const struct etcd_txn_result *res)
{
	struct pres_txn *t = arg;

	presence_cb(t->m, err, res);
	free(t);
}

static void presence_send(struct mapper *m, struct pres_txn *t, bool del)
{
	struct estore *e = &m->estore;
	struct etcd_txn_req req = { .compare = del ? t->cmp : NULL, .n_compare = del ? t->n : 0,
				    .success = t->ops, .n_success = t->n,
				    .failure = del ? t->fail : NULL, .n_failure = del ? t->n : 0 };

	if (etcd_txn(e->etcd, &req, del ? presence_del_cb : presence_put_cb, t) == 0) {
		if (del)
			e->stats.presence_dels += t->n;
		else
			e->stats.presence_puts += t->n;
		return;
	}
	/* the client is full: again shortly, unless a newer wish came */
	for (size_t i = 0; i < t->n; i++) {
		int node = t->nodes[i];

		if (e->pres_todo[node] == PRES_NONE)
			e->pres_todo[node] = del ? PRES_DEL : t->ops[i].lease ? PRES_PUT : PRES_LEFT;
	}
	free(t);
	presence_schedule(m, 0.05);
}

/* One more key in the batch t. */
static void presence_add(struct pres_txn *t, struct mapper *m, int node, uint8_t todo)
{
	struct estore *e = &m->estore;
	bool del = todo == PRES_DEL;
	const char *val = todo == PRES_LEFT ? PRESENCE_LEFT : e->instance;
	size_t i = t->n++;
	int n = snprintf(t->keys[i], sizeof(t->keys[0]), "%sn/%s", e->prefix,
			 m->conf->nodes[node].name);
	const uint8_t *key = (const uint8_t *)t->keys[i];

	t->m = m;
	t->nodes[i] = node;
	t->ops[i] = (struct etcd_op){
		.type = del ? ETCD_OP_DELETE_RANGE : ETCD_OP_PUT, .key = key, .key_len = (size_t)n,
		.value = del ? NULL : (const uint8_t *)val, .value_len = del ? 0 : strlen(val),
		.lease = todo == PRES_PUT ? e->lease : 0,
	};
	if (!del)
		return;
	t->cmp[i] = (struct etcd_compare){ .target = ETCD_CMP_LEASE, .result = ETCD_CMP_EQUAL,
					   .key = key, .key_len = (size_t)n, .number = e->lease };
	t->fail[i] = (struct etcd_op){ .type = ETCD_OP_RANGE, .key = key, .key_len = (size_t)n };
}

void estore_presence_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;
	struct estore *e = &m->estore;
	struct pres_txn *put = NULL, *del = NULL;

	(void)loop, (void)revents;
	for (unsigned i = 0; i < m->conf->n_nodes; i++) {
		uint8_t todo = e->pres_todo[i];
		bool is_del = todo == PRES_DEL;
		struct pres_txn **tp = is_del ? &del : &put;

		if (todo == PRES_NONE || (todo == PRES_PUT && !e->lease))
			continue; /* a put without lease: written when the lease comes */
		if (!*tp && !(*tp = calloc(1, sizeof(**tp)))) {
			presence_schedule(m, 0.05);
			continue;
		}
		e->pres_todo[i] = PRES_NONE;
		presence_add(*tp, m, (int)i, todo);
		if ((*tp)->n == ESTORE_OPS_PER_TXN) {
			presence_send(m, *tp, is_del);
			*tp = NULL;
		}
	}
	if (put)
		presence_send(m, put, false);
	if (del)
		presence_send(m, del, true);
}

/* n/NODE under this instance's lease (left: no lease, no failover). */
static void presence_put(struct mapper *m, int node, bool left)
{
	struct estore *e = &m->estore;

	if (!left && !e->lease)
		return; /* written when the lease comes */
	e->pres_todo[node] = left ? PRES_LEFT : PRES_PUT;
	presence_schedule(m, 0.);
}

void estore_node_up(struct mapper *m, int node)
{
	if (node < 0 || (unsigned)node >= m->conf->n_nodes)
		return;
	m->estore.mine[node] = true;
	presence_put(m, node, false);
}

/* The node's last session here closed: failed deletes its key (the
 * instances fail it over), otherwise it is marked as gone on purpose. */
void estore_node_down(struct mapper *m, int node, bool failed)
{
	struct estore *e = &m->estore;

	if (node < 0 || (unsigned)node >= m->conf->n_nodes || !e->mine[node])
		return;
	e->mine[node] = false;
	if (!failed) {
		presence_put(m, node, true);
		return;
	}
	e->pres_todo[node] = PRES_DEL;
	presence_schedule(m, 0.);
}

bool estore_present(const struct mapper *m, int node)
{
	return node >= 0 && (unsigned)node < m->conf->n_nodes && m->estore.present[node];
}
