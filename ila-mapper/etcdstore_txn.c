/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Conditional transactions for what the directory decided; their keys in flight. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "mapper.h"
#include "etcdstore_priv.h"

/* a table that cannot grow stays as it was; the add says it failed */
static bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom = true)
#include <uthash.h>

/* ---- keys in flight: written, not yet back in the copy ---- */

struct estore_busy_key {
	struct store_key k;
	uint32_t count; /* transactions holding the key */
	UT_hash_handle hh;
};

/* The keys of one answered transaction, held until the copy reaches rev. */
struct estore_landing {
	struct estore_landing *next;
	int64_t rev;
	size_t n;
	struct store_key keys[ESTORE_OPS_PER_TXN];
};

static struct estore_busy_key *busy_find(const struct estore_keyset *s, const struct store_key *k)
{
	struct estore_busy_key *b = NULL;

	HASH_FIND(hh, s->keys, k->b, STORE_KEY_LEN, b);
	return b;
}

/* Without memory the key is not held: a decision on it then meets a
 * conflict at worst, the compare keeps it right. */
static void busy_add(struct estore_keyset *s, const struct store_key *k)
{
	struct estore_busy_key *b = busy_find(s, k);

	if (b) {
		b->count++;
		return;
	}
	if (!(b = calloc(1, sizeof(*b))))
		return;
	b->k = *k;
	b->count = 1;
	hash_oom = false;
	HASH_ADD(hh, s->keys, k.b, STORE_KEY_LEN, b);
	if (hash_oom) {
		free(b);
		return;
	}
	s->n++;
}

static void busy_del(struct estore_keyset *s, const struct store_key *k)
{
	struct estore_busy_key *b = busy_find(s, k);

	if (!b || --b->count)
		return;
	HASH_DEL(s->keys, b);
	free(b);
	s->n--;
}

bool estore_busy(const struct mapper *m, const struct store_key *k)
{
	return busy_find(&m->estore.busy, k) != NULL;
}

/* Lets go of the keys of the answered transactions the copy has reached. */
void estore_landing_release(struct estore *e)
{
	struct estore_landing **pp = &e->landing, *l;

	while ((l = *pp)) {
		if (l->rev > e->rev) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		for (size_t i = 0; i < l->n; i++)
			busy_del(&e->busy, &l->keys[i]);
		free(l);
	}
	e->landing_tail = pp;
}

/* An answered transaction's keys stay busy until the copy has rev. */
static void landing_add(struct estore *e, const struct store_key *keys, size_t n, int64_t rev)
{
	struct estore_landing *l = rev > e->rev ? malloc(sizeof(*l)) : NULL;

	if (!l) {
		for (size_t i = 0; i < n; i++)
			busy_del(&e->busy, &keys[i]);
		return;
	}
	l->next = NULL;
	l->rev = rev;
	l->n = n;
	memcpy(l->keys, keys, n * sizeof(*keys));
	*e->landing_tail = l;
	e->landing_tail = &l->next;
}

void estore_landing_free(struct estore *e)
{
	struct estore_landing *l;

	while ((l = e->landing)) {
		e->landing = l->next;
		free(l);
	}
	e->landing_tail = &e->landing;
	struct estore_busy_key *b, *tmp;

	HASH_ITER(hh, e->busy.keys, b, tmp) {
		HASH_DEL(e->busy.keys, b);
		free(b);
	}
	memset(&e->busy, 0, sizeof(e->busy));
}

/* ---- commits ---- */

struct ecommit {
	struct mapper *m;
	void *token;
	uint8_t *outcome;	/* per recorded change */
	size_t nops;
	unsigned txns_left;
	int64_t rev;		/* highest revision committed */
};

struct etx {
	struct ecommit *c;
	size_t first, n;
	struct etcd_compare cmp[ESTORE_OPS_PER_TXN];
	struct etcd_op ops[ESTORE_OPS_PER_TXN];
	struct store_key skeys[ESTORE_OPS_PER_TXN];
	char keys[ESTORE_OPS_PER_TXN][ESTORE_KEY_MAX];
	uint8_t vals[ESTORE_OPS_PER_TXN][STORE_VALUE_MAX];
};

static void commit_done(struct ecommit *c)
{
	struct mapper_ev ev = { .type = MAPPER_EV_COMMITTED, .token = c->token,
				.outcome = c->outcome, .noutcome = c->nops, .rev = c->rev };

	mapper_post(c->m, &ev); /* takes the outcomes */
	free(c);
}

static void txn_cb(void *arg, const struct etcd_error *err, const struct etcd_txn_result *res)
{
	struct etx *t = arg;
	struct ecommit *c = t->c;
	struct estore *e = &c->m->estore;
	uint8_t o;
	int64_t rev = e->seen_rev;

	e->inflight--;
	if (err->kind == ETCD_OK && res->header.revision > e->seen_rev)
		e->seen_rev = rev = res->header.revision;
	if (err->kind == ETCD_OK && res->succeeded) {
		o = ESTORE_COMMITTED;
		if (res->header.revision > c->rev)
			c->rev = res->header.revision;
		estore_set_reachable(c->m, true, NULL);
	} else if (err->kind == ETCD_OK) {
		o = ESTORE_CONFLICT;
		e->stats.txn_conflicts++;
		if (res->header.revision > c->rev)
			c->rev = res->header.revision; /* the copy must get there first */
	} else {
		o = ESTORE_FAILED;
		if (err->kind == ETCD_ERR_OUTCOME_UNKNOWN)
			e->stats.txn_unknown++;
		e->stats.txn_failures++;
		estore_set_reachable(c->m, err->kind == ETCD_ERR_ETCD, "commit: %s: %s",
				     etcd_err_name(err->kind), err->msg);
	}
	memset(c->outcome + t->first, o, t->n);
	/* committed or not, the keys are decided again only on a copy that
	 * holds the answer's revision (a failed one: the last seen) */
	landing_add(e, t->skeys, t->n, err->kind == ETCD_OK ? res->header.revision : rev);
	free(t);
	if (--c->txns_left == 0)
		commit_done(c);
}

int estore_commit(struct mapper *m, const struct store_op *ops, size_t nops, void *token)
{
	struct estore *e = &m->estore;
	struct ecommit *c = calloc(1, sizeof(*c));

	if (!c || !(c->outcome = malloc(nops ? nops : 1))) {
		free(c);
		return -ENOMEM;
	}
	c->m = m;
	c->token = token;
	c->nops = nops;
	memset(c->outcome, ESTORE_FAILED, nops);
	c->txns_left = 1; /* held while sending */
	for (size_t first = 0; first < nops; first += ESTORE_OPS_PER_TXN) {
		struct etx *t = calloc(1, sizeof(*t));
		size_t n = nops - first < ESTORE_OPS_PER_TXN ? nops - first : ESTORE_OPS_PER_TXN;

		if (!t)
			break; /* what is left stays failed */
		t->c = c;
		t->first = first;
		t->n = n;
		for (size_t i = 0; i < n; i++) {
			const struct store_op *op = &ops[first + i];
			size_t kl = estore_key(e, &op->key, t->keys[i]);

			t->skeys[i] = op->key;
			t->cmp[i] = (struct etcd_compare){
				.target = op->expect_rev ? ETCD_CMP_MOD : ETCD_CMP_CREATE,
				.result = ETCD_CMP_EQUAL,
				.key = (const uint8_t *)t->keys[i], .key_len = kl,
				.number = op->expect_rev ? estore_pos_rev(op->expect_rev) : 0,
			};
			t->ops[i] = (struct etcd_op){
				.type = op->del ? ETCD_OP_DELETE_RANGE : ETCD_OP_PUT,
				.key = (const uint8_t *)t->keys[i], .key_len = kl,
			};
			if (!op->del) {
				t->ops[i].value = t->vals[i];
				t->ops[i].value_len = store_value_encode(&op->m, t->vals[i]);
			}
		}
		struct etcd_txn_req req = { .compare = t->cmp, .n_compare = n,
					    .success = t->ops, .n_success = n };

		c->txns_left++;
		e->stats.txns++;
		for (size_t i = 0; i < n; i++)
			busy_add(&e->busy, &t->skeys[i]);
		if (etcd_txn(e->etcd, &req, txn_cb, t) < 0) {
			for (size_t i = 0; i < n; i++)
				busy_del(&e->busy, &t->skeys[i]);
			c->txns_left--;
			e->stats.txn_failures++;
			free(t);
			continue;
		}
		e->inflight++;
	}
	if (--c->txns_left == 0)
		commit_done(c);
	return 0;
}

bool estore_caught_up(const struct mapper *m, int64_t rev)
{
	return m->estore.ready && m->estore.rev >= rev;
}
