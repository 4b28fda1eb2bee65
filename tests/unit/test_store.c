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
	uint8_t loc[16];
	int n;
};

static int jcollect(void *arg, uint64_t jseq, const struct store_key *k, const struct mapping *m)
{
	struct jrow *r = arg;

	(void)k;
	r->jseq[r->n] = jseq;
	r->removed[r->n] = m == NULL;
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
	assert_int_equal(store_del(&f->s, txn, &a), 0); /* 4 */
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
	assert_int_equal(store_del(&f->s, txn, &a), 0);
	assert_int_equal(store_commit(&f->s, txn), 0);
	assert_int_equal(store_begin(&f->s, false, &txn), 0);
	assert_int_equal(store_expired(&f->s, txn, 1000, keys, 4), 1);
	assert_memory_equal(keys[0].b, kb.b, STORE_KEY_LEN);
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
		cmocka_unit_test_setup_teardown(test_abort_gives_positions_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_index_follows_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_by_vn_and_after_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_forces_resync, setup, teardown),
		cmocka_unit_test(test_open_reports_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
