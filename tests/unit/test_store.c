/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mapper's LMDB store on a real LMDB file in a temporary folder. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

struct fx {
	char dir[64];
	struct store s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/ila-store-XXXXXX");
	if (!mkdtemp(f->dir) || store_open(&f->s, f->dir, 64, err, sizeof(err)) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	store_close(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct mapping mk(uint32_t vn, const char *addr, uint8_t loclast, uint64_t seq,
			 uint64_t expires)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	m.rec.vn = vn;
	if (strchr(addr, ':')) {
		m.rec.family = AF_INET6;
		inet_pton(AF_INET6, addr, &m.rec.addr6);
	} else {
		m.rec.family = AF_INET;
		inet_pton(AF_INET, addr, &m.rec.addr4);
	}
	m.rec.loc.b[0] = 0x20;
	m.rec.loc.b[1] = 0x01;
	m.rec.loc.b[7] = loclast;
	m.rec.seq = seq;
	m.rec.lifetime = 300;
	m.rec.state = 0;
	snprintf(m.rec.node, sizeof(m.rec.node), "n%u", loclast);
	m.expires = expires;
	return m;
}

static void put(struct fx *f, struct mapping *m, const struct mapping *old)
{
	MDB_txn *txn;

	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_put(&f->s, txn, m, old, true), 0);
	assert_int_equal(store_commit(&f->s, txn), 0);
}

static int get(struct fx *f, const struct mapping *like, struct mapping *out)
{
	MDB_txn *txn;
	struct store_key k;
	int rc;

	store_key_of(&like->rec, &k);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	rc = store_get(&f->s, txn, &k, out);
	mdb_txn_abort(txn);
	return rc;
}

static void test_put_get_every_field(void **state)
{
	struct fx *f = *state;
	struct mapping m = mk(100, "2001:db8:100::42", 7, 9, 1234), g;

	m.rec.has_standby = true;
	m.rec.standby.b[7] = 8;
	m.rec.has_prev = true;
	m.rec.prev.b[7] = 6;
	m.rec.flags = 0x5;
	m.rec.state = 2;
	snprintf(m.standby_node, sizeof(m.standby_node), "standby-node");
	m.moves = 3;
	m.window_start = 77;
	m.frozen_until = STORE_FROZEN_PERMANENT;
	put(f, &m, NULL);
	assert_int_equal(m.jseq, 1);
	assert_int_equal(get(f, &m, &g), 0);
	assert_memory_equal(&g.rec.addr6, &m.rec.addr6, 16);
	assert_int_equal(g.rec.family, AF_INET6);
	assert_int_equal(g.rec.vn, 100);
	assert_memory_equal(g.rec.loc.b, m.rec.loc.b, 8);
	assert_memory_equal(g.rec.standby.b, m.rec.standby.b, 8);
	assert_memory_equal(g.rec.prev.b, m.rec.prev.b, 8);
	assert_true(g.rec.has_standby && g.rec.has_prev);
	assert_int_equal(g.rec.seq, 9);
	assert_int_equal(g.rec.flags, 5);
	assert_int_equal(g.rec.state, 2);
	assert_int_equal(g.rec.lifetime, 300);
	assert_string_equal(g.rec.node, "n7");
	assert_string_equal(g.standby_node, "standby-node");
	assert_int_equal(g.expires, 1234);
	assert_int_equal(g.jseq, 1);
	assert_int_equal(g.moves, 3);
	assert_int_equal(g.window_start, 77);
	assert_true(g.frozen_until == STORE_FROZEN_PERMANENT);
}

static void test_ipv4_and_ipv6_keys_distinct(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "10.100.0.1", 1, 1, 10), b = mk(100, "::a64:1", 2, 1, 10), g;

	put(f, &a, NULL);
	put(f, &b, NULL);
	assert_int_equal(get(f, &a, &g), 0);
	assert_int_equal(g.rec.family, AF_INET);
	assert_int_equal(g.rec.loc.b[7], 1);
	assert_int_equal(get(f, &b, &g), 0);
	assert_int_equal(g.rec.loc.b[7], 2);
	struct mapping other_vn = mk(200, "10.100.0.1", 1, 1, 10);
	assert_int_equal(get(f, &other_vn, &g), -ENOENT);
}

struct jrow {
	uint64_t jseq[16];
	bool removed[16];
	uint64_t seq[16];
	uint8_t loc[16];
	int n;
};

static int jcollect(void *arg, uint64_t jseq, const struct store_key *k, const struct mapping *m)
{
	struct jrow *r = arg;

	(void)k;
	r->jseq[r->n] = jseq;
	r->removed[r->n] = !m || m->rec.state == ILA_STATE_REMOVED;
	r->seq[r->n] = m ? m->rec.seq : 0;
	r->loc[r->n] = m ? m->rec.loc.b[7] : 0;
	r->n++;
	return 0;
}

static void test_journal_order_resume_and_removal(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 10), b = mk(100, "2001:db8:100::2", 1, 1, 10);
	struct mapping c = mk(200, "2001:db8:200::1", 1, 1, 10);
	struct jrow r = { 0 };
	uint64_t reached;
	MDB_txn *txn;

	put(f, &a, NULL); /* 1 */
	put(f, &c, NULL); /* 2, other vn */
	put(f, &b, NULL); /* 3 */
	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_del(&f->s, txn, &a, true), 0); /* 4 */
	assert_int_equal(store_commit(&f->s, txn), 0);

	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_journal(&f->s, txn, 100, 0, 10, &reached, jcollect, &r), 3);
	assert_int_equal(r.jseq[0], 1);
	assert_int_equal(r.jseq[1], 3);
	assert_int_equal(r.jseq[2], 4);
	assert_true(r.removed[0]); /* a is gone now: the entry says removed */
	assert_false(r.removed[1]);
	assert_true(r.removed[2]);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_journal(&f->s, txn, 100, 3, 10, &reached, jcollect, &r), 1);
	assert_int_equal(r.jseq[0], 4);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_journal(&f->s, txn, 100, 0, 2, &reached, jcollect, &r), 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_journal(&f->s, txn, 200, 0, 10, &reached, jcollect, &r), 1);
	assert_int_equal(r.jseq[0], 2);
	assert_int_equal(reached, 4); /* vn 100's later entries were looked at too */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_journal(&f->s, txn, 200, 2, 10, &reached, jcollect, &r), 0);
	assert_int_equal(reached, 4); /* nothing of vn 200 since 2, but 3 and 4 were passed */
	mdb_txn_abort(txn);
}

/* Takes only the entries that are a mapping's latest change. */
static int jlatest(void *arg, uint64_t jseq, const struct store_key *k, const struct mapping *m)
{
	if (m && m->jseq > jseq)
		return 1;
	return jcollect(arg, jseq, k, m);
}

static void test_journal_counts_only_the_entries_taken(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 10), b = mk(100, "2001:db8:100::2", 1, 1, 10);
	struct mapping a2, b2;
	struct jrow r = { 0 };
	uint64_t reached;
	MDB_txn *txn;

	put(f, &a, NULL); /* 1 */
	put(f, &b, NULL); /* 2 */
	a2 = a, a2.rec.seq = 2;
	put(f, &a2, &a); /* 3 */
	b2 = b, b2.rec.seq = 2;
	put(f, &b2, &b); /* 4 */
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	/* 1 and 2 passed over: they do not count towards max */
	assert_int_equal(store_journal(&f->s, txn, 100, 0, 1, &reached, jlatest, &r), 1);
	assert_int_equal(r.jseq[0], 3);
	assert_int_equal(reached, 3);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_journal(&f->s, txn, 100, 0, 10, &reached, jlatest, &r), 2);
	assert_int_equal(r.jseq[1], 4);
	assert_int_equal(reached, 4);
	mdb_txn_abort(txn);
}

static void test_abort_gives_positions_back(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 10), b = mk(100, "2001:db8:100::2", 1, 1, 10);
	struct mapping g;
	MDB_txn *txn;

	put(f, &a, NULL);
	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_put(&f->s, txn, &b, NULL, true), 0);
	assert_int_equal(b.jseq, 2);
	store_abort(&f->s, txn);
	assert_int_equal(f->s.jseq, 1);
	assert_int_equal(get(f, &b, &g), -ENOENT);
	put(f, &b, NULL);
	assert_int_equal(b.jseq, 2);
}

static void test_reopen_keeps_everything(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 3, 5, 10), g;
	char err[256];

	put(f, &a, NULL);
	put(f, &a, &a);
	store_close(&f->s);
	assert_int_equal(store_open(&f->s, f->dir, 64, err, sizeof(err)), 0);
	assert_int_equal(f->s.committed_jseq, 2);
	assert_int_equal(get(f, &a, &g), 0);
	assert_int_equal(g.rec.seq, 5);
	assert_int_equal(g.jseq, 2);
}

static void test_expiry_index_follows_updates(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 100), b = mk(100, "2001:db8:100::2", 1, 1, 50);
	struct store_key keys[4], ka, kb;
	MDB_txn *txn;

	put(f, &a, NULL);
	put(f, &b, NULL);
	store_key_of(&a.rec, &ka);
	store_key_of(&b.rec, &kb);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_expired(&f->s, txn, 49, keys, 4), 0);
	assert_int_equal(store_expired(&f->s, txn, 100, keys, 4), 2);
	assert_memory_equal(keys[0].b, kb.b, STORE_KEY_LEN); /* earliest first */
	assert_memory_equal(keys[1].b, ka.b, STORE_KEY_LEN);
	mdb_txn_abort(txn);
	/* b refreshed to expire later: its old index entry must go */
	struct mapping b2 = b;
	b2.expires = 500;
	put(f, &b2, &b);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_expired(&f->s, txn, 100, keys, 4), 1);
	assert_memory_equal(keys[0].b, ka.b, STORE_KEY_LEN);
	mdb_txn_abort(txn);
	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_del(&f->s, txn, &a, true), 0);
	assert_int_equal(store_commit(&f->s, txn), 0);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_expired(&f->s, txn, 1000, keys, 4), 1);
	assert_memory_equal(keys[0].b, kb.b, STORE_KEY_LEN);
	mdb_txn_abort(txn);
}

/* A frozen mapping is due when its freeze ends, if that comes before its
 * lifetime ends; once up again, at the end of its lifetime. */
static void test_frozen_mapping_is_due_at_the_end_of_its_freeze(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 100), fz, up;
	struct store_key keys[4];
	MDB_txn *txn;

	put(f, &a, NULL);
	fz = a;
	fz.rec.state = ILA_STATE_FROZEN;
	fz.frozen_until = 40;
	put(f, &fz, &a);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_expired(&f->s, txn, 39, keys, 4), 0);
	assert_int_equal(store_expired(&f->s, txn, 40, keys, 4), 1);
	mdb_txn_abort(txn);
	up = fz;
	up.rec.state = ILA_STATE_UP;
	up.frozen_until = 0;
	put(f, &up, &fz);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_expired(&f->s, txn, 99, keys, 4), 0);
	assert_int_equal(store_expired(&f->s, txn, 100, keys, 4), 1);
	mdb_txn_abort(txn);
	/* a freeze past the lifetime, or permanent: due when the lifetime ends */
	fz = up;
	fz.rec.state = ILA_STATE_FROZEN;
	fz.frozen_until = STORE_FROZEN_PERMANENT;
	put(f, &fz, &up);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_expired(&f->s, txn, 99, keys, 4), 0);
	assert_int_equal(store_expired(&f->s, txn, 100, keys, 4), 1);
	mdb_txn_abort(txn);
}

/* A store written when frozen mappings were indexed at the end of their
 * lifetime: moved to the end of their freeze at open, once. */
static void test_expiry_index_of_an_older_store_moved_to_freeze_ends_at_open(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 100), fz;
	uint8_t ek[4 + STORE_KEY_LEN];
	MDB_val due = { 3, "due" }, ekey = { sizeof(ek), ek }, empty = { 0, NULL };
	struct store_key k, keys[4];
	char err[256];
	MDB_txn *txn;

	put(f, &a, NULL);
	fz = a;
	fz.rec.state = ILA_STATE_FROZEN;
	fz.frozen_until = 40;
	put(f, &fz, &a);
	/* as an older version left it: the entry at the expiry, no marker */
	store_key_of(&a.rec, &k);
	memcpy(ek + 4, k.b, STORE_KEY_LEN);
	assert_int_equal(mdb_txn_begin(f->s.env, NULL, 0, &txn), 0);
	ek[0] = ek[1] = ek[2] = 0;
	ek[3] = 40;
	assert_int_equal(mdb_del(txn, f->s.expiry, &ekey, NULL), 0);
	ek[3] = 100;
	assert_int_equal(mdb_put(txn, f->s.expiry, &ekey, &empty, 0), 0);
	assert_int_equal(mdb_del(txn, f->s.meta, &due, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	store_close(&f->s);
	assert_int_equal(store_open(&f->s, f->dir, 64, err, sizeof(err)), 0);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_expired(&f->s, txn, 39, keys, 4), 0);
	assert_int_equal(store_expired(&f->s, txn, 40, keys, 4), 1);
	assert_int_equal(store_expired(&f->s, txn, 1000, keys, 4), 1); /* one entry, not two */
	mdb_txn_abort(txn);
}

struct scan_rows {
	int n;
	uint32_t vn[8];
	uint8_t last[8];
	struct store_key keys[8];
	int stop_at;
};

static int scan_collect(void *arg, const struct store_key *k, const struct mapping *m)
{
	struct scan_rows *r = arg;

	r->vn[r->n] = m->rec.vn;
	r->last[r->n] = m->rec.addr6.s6_addr[15];
	r->keys[r->n] = *k;
	r->n++;
	return r->stop_at && r->n == r->stop_at;
}

static void test_scan_by_vn_and_after_key(void **state)
{
	struct fx *f = *state;
	const char *addrs[] = { "2001:db8:100::3", "2001:db8:100::1", "2001:db8:200::9",
				"2001:db8:100::2" };
	uint32_t vns[] = { 100, 100, 200, 100 };
	struct scan_rows r = { 0 };
	MDB_txn *txn;

	for (int i = 0; i < 4; i++) {
		struct mapping m = mk(vns[i], addrs[i], 1, 1, 10);

		put(f, &m, NULL);
	}
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_scan(&f->s, txn, 100, NULL, scan_collect, &r), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.last[0], 1);
	assert_int_equal(r.last[2], 3);
	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	assert_int_equal(store_scan(&f->s, txn, 100, NULL, scan_collect, &r), 1);
	struct store_key after = r.keys[1];
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_scan(&f->s, txn, 100, &after, scan_collect, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.last[0], 3);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_scan(&f->s, txn, 0, NULL, scan_collect, &r), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.vn[3], 200);
	mdb_txn_abort(txn);
}

static void test_trim_forces_resync(void **state)
{
	struct fx *f = *state;
	struct jrow r = { 0 };
	uint64_t reached;
	MDB_txn *txn;

	for (int i = 1; i <= 6; i++) {
		char a[64];
		struct mapping m;

		snprintf(a, sizeof(a), "2001:db8:100::%d", i);
		m = mk(100, a, 1, 1, 10);
		put(f, &m, NULL);
	}
	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_journal_trim(&f->s, txn, 4), 0);
	assert_int_equal(store_commit(&f->s, txn), 0);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_journal(&f->s, txn, 100, 3, 10, &reached, jcollect, &r), -ERANGE);
	assert_int_equal(store_journal(&f->s, txn, 100, 4, 10, &reached, jcollect, &r), 2);
	assert_int_equal(r.jseq[0], 5);
	mdb_txn_abort(txn);
}

struct keyrows {
	int n;
	struct store_key keys[8];
};

static int key_collect(void *arg, const struct store_key *k)
{
	struct keyrows *r = arg;

	r->keys[r->n++] = *k;
	return r->n == 8;
}

static uint64_t owner_count(struct fx *f, const char *node)
{
	MDB_txn *txn;
	uint64_t n;

	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	n = store_owner_count(&f->s, txn, node);
	mdb_txn_abort(txn);
	return n;
}

static uint64_t vn_count(struct fx *f, uint32_t vn)
{
	MDB_txn *txn;
	uint64_t n;

	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	n = store_vn_count(&f->s, txn, vn);
	mdb_txn_abort(txn);
	return n;
}

static struct keyrows owner_keys(struct fx *f, const char *node)
{
	struct keyrows r = { 0 };
	MDB_txn *txn;

	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_owner_keys(&f->s, txn, node, key_collect, &r), 0);
	mdb_txn_abort(txn);
	return r;
}

/* The owner index holds each node's live mappings through puts, moves,
 * tombstones and erasures, and the vns' counts follow. */
static void test_owner_index_follows_owner(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 10); /* owner n1 */
	struct mapping b = mk(100, "2001:db8:100::2", 1, 1, 10);
	struct mapping c = mk(200, "10.0.0.1", 2, 1, 10);	 /* owner n2 */
	struct store_key kb, kc;
	struct keyrows r;
	MDB_txn *txn;

	put(f, &a, NULL);
	put(f, &b, NULL);
	put(f, &c, NULL);
	store_key_of(&b.rec, &kb);
	store_key_of(&c.rec, &kc);
	assert_int_equal(owner_count(f, "n1"), 2);
	assert_int_equal(owner_count(f, "n2"), 1);
	assert_int_equal(owner_count(f, "n3"), 0);
	assert_int_equal(vn_count(f, 100), 2);
	assert_int_equal(vn_count(f, 200), 1);
	put(f, &a, &a); /* a refresh changes nothing */
	assert_int_equal(owner_count(f, "n1"), 2);
	assert_int_equal(vn_count(f, 100), 2);

	/* b moves to n2 */
	struct mapping b2 = b;
	snprintf(b2.rec.node, sizeof(b2.rec.node), "n2");
	b2.rec.seq = 2;
	put(f, &b2, &b);
	r = owner_keys(f, "n2");
	assert_int_equal(r.n, 2);
	assert_true(memcmp(r.keys[0].b, kb.b, STORE_KEY_LEN) == 0 ||
		    memcmp(r.keys[1].b, kb.b, STORE_KEY_LEN) == 0);
	assert_true(memcmp(r.keys[0].b, kc.b, STORE_KEY_LEN) == 0 ||
		    memcmp(r.keys[1].b, kc.b, STORE_KEY_LEN) == 0);
	assert_int_equal(owner_count(f, "n1"), 1);
	assert_int_equal(vn_count(f, 100), 2);

	/* a becomes a tombstone: out of the index and the count, still stored */
	struct mapping a2 = a, g;
	a2.rec.state = ILA_STATE_REMOVED;
	a2.rec.seq = 9;
	put(f, &a2, &a);
	assert_int_equal(owner_count(f, "n1"), 0);
	assert_int_equal(owner_keys(f, "n1").n, 0);
	assert_int_equal(vn_count(f, 100), 1);
	assert_int_equal(get(f, &a, &g), 0);
	assert_int_equal(g.rec.state, ILA_STATE_REMOVED);
	assert_int_equal(g.rec.seq, 9);

	/* a registered again over its tombstone: back in */
	struct mapping a3 = a;
	a3.rec.seq = 10;
	put(f, &a3, &a2);
	assert_int_equal(owner_count(f, "n1"), 1);
	assert_int_equal(vn_count(f, 100), 2);

	/* c erased */
	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_del(&f->s, txn, &c, true), 0);
	assert_int_equal(store_commit(&f->s, txn), 0);
	r = owner_keys(f, "n2");
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.keys[0].b, kb.b, STORE_KEY_LEN);
	assert_int_equal(vn_count(f, 200), 0);
}

/* A store written before the owner index gets it built when opened. */
static void test_owner_index_built_at_open(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 10), b = mk(100, "2001:db8:100::2", 2, 1, 10);
	struct mapping t = mk(100, "2001:db8:100::3", 2, 7, 10);
	MDB_val mk_ = { 5, "owner" };
	char err[256];
	MDB_txn *txn;

	t.rec.state = ILA_STATE_REMOVED;
	put(f, &a, NULL);
	put(f, &b, NULL);
	put(f, &t, NULL);
	/* as an older version left it: no index, no counts, no marker */
	assert_int_equal(mdb_txn_begin(f->s.env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_drop(txn, f->s.owner, 0), 0);
	assert_int_equal(mdb_del(txn, f->s.meta, &mk_, NULL), 0);
	{
		uint8_t kb[5] = { 'v', 0, 0, 0, 100 };
		MDB_val vk = { 5, kb };

		assert_int_equal(mdb_del(txn, f->s.meta, &vk, NULL), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(owner_count(f, "n1"), 0);
	store_close(&f->s);
	assert_int_equal(store_open(&f->s, f->dir, 64, err, sizeof(err)), 0);
	assert_int_equal(owner_count(f, "n1"), 1);
	assert_int_equal(owner_count(f, "n2"), 1); /* the tombstone is not counted */
	assert_int_equal(vn_count(f, 100), 2);
}

/* A removed mapping keeps its number: as a tombstone, in the journal, and
 * in the journal still once the tombstone is erased without a new entry. */
static void test_tombstone_keeps_seq(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 5, 10), t, g;
	struct jrow r = { 0 };
	struct store_stats st;
	uint64_t reached;
	MDB_txn *txn;

	put(f, &a, NULL); /* 1 */
	t = a;
	t.rec.state = ILA_STATE_REMOVED;
	t.rec.seq = 6;
	t.expires = 20;
	put(f, &t, &a); /* 2 */
	assert_int_equal(store_stats(&f->s, &st), 0);
	assert_int_equal(st.mappings, 0);
	assert_int_equal(st.tombstones, 1);
	assert_int_equal(get(f, &a, &g), 0);
	assert_int_equal(g.rec.seq, 6);

	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_del(&f->s, txn, &t, false), 0); /* erased, not journalled */
	assert_int_equal(store_commit(&f->s, txn), 0);
	assert_int_equal(f->s.committed_jseq, 2);
	assert_int_equal(get(f, &a, &g), -ENOENT);

	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_journal(&f->s, txn, 100, 0, 10, &reached, jcollect, &r), 2);
	mdb_txn_abort(txn);
	assert_true(r.removed[0] && r.removed[1]);
	/* the mapping is gone: each entry is a removal, with its own change's number */
	assert_int_equal(r.seq[0], 5);
	assert_int_equal(r.seq[1], 6);
}

/* etcd: a recording transaction notes each key's last change once, expected
 * at the revision the copy had, and journals nothing. */
static void test_recording_notes_each_key_once_with_its_expected_revision(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 10), b = mk(100, "2001:db8:100::2", 1, 1, 10);
	struct mapping a2, a3, old;
	MDB_txn *txn;

	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_apply(&f->s, txn, &a, NULL, 40), 0);
	assert_int_equal(store_commit(&f->s, txn), 0);
	assert_int_equal(get(f, &a, &old), 0);
	assert_int_equal(old.jseq, 40);

	store_record(&f->s, true);
	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	a2 = old;
	a2.rec.seq = 2;
	assert_int_equal(store_put(&f->s, txn, &a2, &old, true), 0);
	a3 = a2;
	a3.rec.seq = 3;
	assert_int_equal(store_put(&f->s, txn, &a3, &a2, true), 0);
	assert_int_equal(store_put(&f->s, txn, &b, NULL, true), 0);
	assert_int_equal(f->s.nops, 2);
	assert_int_equal(f->s.ops[0].expect_rev, 40); /* a: as the copy had it */
	assert_int_equal(f->s.ops[0].m.rec.seq, 3);   /* its last change */
	assert_false(f->s.ops[0].del);
	assert_int_equal(f->s.ops[1].expect_rev, 0);  /* b: absent */
	assert_int_equal(f->s.jseq, 40);	      /* no position handed out */
	store_abort(&f->s, txn);
	store_record(&f->s, false);
	assert_int_equal(f->s.nops, 0);
	/* the copy is unchanged until the watch brings the change back */
	assert_int_equal(get(f, &a, &old), 0);
	assert_int_equal(old.rec.seq, 1);
}

/* etcd: the copy journals each change at its revision, in order only. */
static void test_copy_journals_at_revisions(void **state)
{
	struct fx *f = *state;
	struct mapping a = mk(100, "2001:db8:100::1", 1, 1, 10), a2, g;
	struct jrow r = { 0 };
	uint64_t reached;
	MDB_txn *txn;

	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_apply(&f->s, txn, &a, NULL, 1000), 0);
	a2 = a;
	a2.rec.seq = 2;
	assert_int_equal(store_apply(&f->s, txn, &a2, &a, 1007), 0);
	assert_int_equal(store_apply(&f->s, txn, &a, &a2, 1007), -ERANGE); /* not after 1007 */
	assert_int_equal(store_commit(&f->s, txn), 0);
	assert_int_equal(get(f, &a, &g), 0);
	assert_int_equal(g.jseq, 1007);
	assert_int_equal(g.rec.seq, 2);

	assert_int_equal(store_begin(&f->s, true, &txn), 0);
	assert_int_equal(store_apply(&f->s, txn, NULL, &g, 1010), 0); /* deleted in etcd */
	assert_int_equal(store_commit(&f->s, txn), 0);
	assert_int_equal(get(f, &a, &g), -ENOENT);

	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_journal(&f->s, txn, 100, 1000, 10, &reached, jcollect, &r), 2);
	assert_int_equal(r.jseq[0], 1007);
	assert_int_equal(r.jseq[1], 1010);
	assert_true(r.removed[1]);
	assert_int_equal(r.seq[1], 2);
	mdb_txn_abort(txn);
}

/* The value codec round-trips and refuses a truncated value. */
static void test_value_codec_refuses_truncated(void **state)
{
	struct mapping a = mk(100, "2001:db8:100::1", 1, 77, 10), g;
	uint8_t v[STORE_VALUE_MAX];
	size_t n;

	(void)state;
	a.rec.has_standby = true;
	a.rec.standby.b[7] = 9;
	snprintf(a.standby_node, sizeof(a.standby_node), "n9");
	n = store_value_encode(&a, v);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_value_decode(v, n, &g), 0);
	assert_int_equal(g.rec.seq, 77);
	assert_string_equal(g.standby_node, "n9");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_value_decode(v, i, &g), -EIO);
}

static void test_open_reports_bad_path(void **state)
{
	struct store s;
	char err[256] = "";

	(void)state;
	assert_true(store_open(&s, "/proc/ila-no-such/store", 64, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/proc/ila-no-such/store"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_every_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_and_ipv6_keys_distinct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_order_resume_and_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_counts_only_the_entries_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_gives_positions_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_index_follows_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frozen_mapping_is_due_at_the_end_of_its_freeze,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_expiry_index_of_an_older_store_moved_to_freeze_ends_at_open, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_scan_by_vn_and_after_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_forces_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_index_follows_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_index_built_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_keeps_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recording_notes_each_key_once_with_its_expected_revision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_journals_at_revisions, setup, teardown),
		cmocka_unit_test(test_value_codec_refuses_truncated),
		cmocka_unit_test(test_open_reports_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
