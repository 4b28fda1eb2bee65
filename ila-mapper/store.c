/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "store.h"
#include "util.h"

/* a table that cannot grow stays as it was; the add says it failed */
static bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom = true)
#include <uthash.h>

/* where in ops the change of a key is */
struct store_op_ix {
	struct store_key key;
	size_t i;
	UT_hash_handle hh;
};

#define VAL_VERSION 2

static int index_build(struct store *s, MDB_txn *txn);
static int due_build(struct store *s, MDB_txn *txn);

static int mdb_errno(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
		return -ENOSPC;
	default:
		return rc > 0 && rc < 4096 ? -rc : -EIO;
	}
}

/* The store's id (meta "id"), made at random when the store is new: what a
 * node's journal positions are valid on. */
static int store_id(struct store *s, MDB_txn *txn)
{
	MDB_val k = { 2, "id" }, v;
	uint8_t b[8];
	int rc = mdb_get(txn, s->meta, &k, &v);

	if (rc == 0 && v.mv_size == 8) {
		s->id = ila_get_be64(v.mv_data);
		if (s->id)
			return 0;
	} else if (rc != MDB_NOTFOUND && rc != 0) {
		return rc;
	}
	do {
		if (getrandom(&s->id, sizeof(s->id), 0) != sizeof(s->id))
			s->id = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	} while (!s->id);
	ila_put_be64(b, s->id);
	v.mv_size = sizeof(b);
	v.mv_data = b;
	return mdb_put(txn, s->meta, &k, &v, 0);
}

int store_open(struct store *s, const char *path, uint32_t map_size_mb, char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_val k = { 4, "jseq" }, v;
	int rc;

	memset(s, 0, sizeof(*s));
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "store %s: %s", path, strerror(errno));
		return -errno;
	}
	if ((rc = mdb_env_create(&s->env)) ||
	    (rc = mdb_env_set_mapsize(s->env, (size_t)map_size_mb << 20)) ||
	    (rc = mdb_env_set_maxdbs(s->env, 5)) ||
	    (rc = mdb_env_open(s->env, path, MDB_NOTLS, 0600))) {
		snprintf(err, errlen, "store %s: %s", path, mdb_strerror(rc));
		if (s->env)
			mdb_env_close(s->env);
		s->env = NULL;
		return mdb_errno(rc);
	}
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn))) {
		snprintf(err, errlen, "store %s: %s", path, mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_dbi_open(txn, "map", MDB_CREATE, &s->map)) ||
	    (rc = mdb_dbi_open(txn, "journal", MDB_CREATE, &s->journal)) ||
	    (rc = mdb_dbi_open(txn, "expiry", MDB_CREATE, &s->expiry)) ||
	    (rc = mdb_dbi_open(txn, "owner", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED,
			       &s->owner)) ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) ||
	    (rc = index_build(s, txn)) || (rc = due_build(s, txn))) {
		snprintf(err, errlen, "store %s: %s", path, mdb_strerror(rc));
		mdb_txn_abort(txn);
		goto fail;
	}
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		s->jseq = ila_get_be64(v.mv_data);
	if ((rc = store_id(s, txn))) {
		snprintf(err, errlen, "store %s: %s", path, mdb_strerror(rc));
		mdb_txn_abort(txn);
		goto fail;
	}
	s->committed_jseq = s->jseq;
	if ((rc = mdb_txn_commit(txn))) {
		snprintf(err, errlen, "store %s: %s", path, mdb_strerror(rc));
		goto fail;
	}
	return 0;
fail:
	mdb_env_close(s->env);
	s->env = NULL;
	return mdb_errno(rc);
}

int store_nosync(struct store *s)
{
	return mdb_errno(mdb_env_set_flags(s->env, MDB_NOSYNC, 1));
}

static void ops_ix_clear(struct store *s)
{
	struct store_op_ix *x, *tmp;

	HASH_ITER(hh, s->ops_ix, x, tmp) {
		HASH_DEL(s->ops_ix, x);
		free(x);
	}
}

void store_close(struct store *s)
{
	ops_ix_clear(s);
	free(s->ops);
	s->ops = NULL;
	s->nops = s->ops_cap = 0;
	if (s->env)
		mdb_env_close(s->env);
	s->env = NULL;
}

int store_begin(struct store *s, bool write, MDB_txn **txn)
{
	return mdb_errno(mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, txn));
}

int store_commit(struct store *s, MDB_txn *txn)
{
	MDB_val k = { 4, "jseq" }, v;
	uint8_t b[8];
	int rc;

	ila_put_be64(b, s->jseq);
	v.mv_size = 8;
	v.mv_data = b;
	rc = mdb_put(txn, s->meta, &k, &v, 0);
	if (rc) {
		store_abort(s, txn);
		return mdb_errno(rc);
	}
	rc = mdb_txn_commit(txn);
	if (rc) {
		s->jseq = s->committed_jseq; /* the positions were not kept */
	} else if (s->jseq != s->committed_jseq) {
		s->committed_jseq = s->jseq;
		s->commit_times[s->commit_next].jseq = s->jseq;
		s->commit_times[s->commit_next].us = ila_clock_mono_us();
		s->commit_next = (s->commit_next + 1) % STORE_COMMIT_TIMES;
	}
	return mdb_errno(rc);
}

uint64_t store_commit_time_us(const struct store *s, uint64_t jseq)
{
	const struct store_commit_time *best = NULL;
	bool earlier = false;

	/* the first commit whose position reached jseq */
	for (unsigned i = 0; i < STORE_COMMIT_TIMES; i++) {
		const struct store_commit_time *t = &s->commit_times[i];

		if (!t->us)
			continue;
		if (t->jseq < jseq)
			earlier = true;
		else if (!best || t->jseq < best->jseq)
			best = t;
	}
	/* with the window full and no commit before jseq in it, jseq's own
	 * commit may have left the window: unknown */
	if (!best || (!earlier && s->commit_times[s->commit_next].us))
		return 0;
	return best->us;
}

void store_abort(struct store *s, MDB_txn *txn)
{
	/* positions handed out in the aborted transaction are taken back */
	s->jseq = s->committed_jseq;
	mdb_txn_abort(txn);
}

void store_key_of(const struct ila_record *r, struct store_key *k)
{
	memset(k, 0, sizeof(*k));
	ila_put_be32(k->b, r->vn);
	if (r->family == AF_INET) {
		k->b[4] = 4;
		memcpy(k->b + 5, &r->addr4, 4);
	} else {
		k->b[4] = 6;
		memcpy(k->b + 5, &r->addr6, 16);
	}
}

void store_key_to_record(const struct store_key *k, struct ila_record *r)
{
	r->vn = ila_get_be32(k->b);
	if (k->b[4] == 4) {
		r->family = AF_INET;
		memcpy(&r->addr4, k->b + 5, 4);
	} else {
		r->family = AF_INET6;
		memcpy(&r->addr6, k->b + 5, 16);
	}
}

/*
 * A mapping is stored compactly, because the store is most of the mapper's
 * memory: 48 fixed bytes, the standby and previous locators only when
 * present, and the owner (and standby) node names with a length byte.
 *   version 1, state 1, bits 1 (standby, prev), moves 1, flags 4, lifetime 4,
 *   loc 8, seq 8, jseq 8, expires 4, window_start 4, frozen_until 4,
 *   [standby 8], [prev 8], owner len 1 + name, [standby node len 1 + name]
 */
#define VAL_FIXED 48
#define VAL_MAX STORE_VALUE_MAX
_Static_assert(VAL_FIXED + 16 + 2 * (1 + ILA_PROTO_NAME_MAX) == VAL_MAX, "value size");
#define BIT_STANDBY 0x01
#define BIT_PREV 0x02
#define BIT_LAPSED 0x04
#define U32_FOREVER UINT32_MAX

static uint32_t time32(uint64_t t)
{
	return t >= U32_FOREVER ? U32_FOREVER : (uint32_t)t;
}

static uint8_t *put_name(uint8_t *p, const char *name)
{
	size_t l = strnlen(name, ILA_PROTO_NAME_MAX);

	*p++ = (uint8_t)l;
	memcpy(p, name, l);
	return p + l;
}

static const uint8_t *get_name(char *name, const uint8_t *p, const uint8_t *end)
{
	size_t l;

	if (p >= end || (l = *p++) > ILA_PROTO_NAME_MAX || (size_t)(end - p) < l)
		return NULL;
	memcpy(name, p, l);
	name[l] = '\0';
	return p + l;
}

size_t store_value_encode(const struct mapping *m, uint8_t *v)
{
	uint8_t *p = v;

	*p++ = VAL_VERSION;
	*p++ = m->rec.state;
	*p++ = (m->rec.has_standby ? BIT_STANDBY : 0) | (m->rec.has_prev ? BIT_PREV : 0) |
	       (m->lapsed ? BIT_LAPSED : 0);
	*p++ = m->moves > 255 ? 255 : (uint8_t)m->moves;
	ila_put_be32(p, m->rec.flags), p += 4;
	ila_put_be32(p, m->rec.lifetime), p += 4;
	memcpy(p, m->rec.loc.b, 8), p += 8;
	ila_put_be64(p, m->rec.seq), p += 8;
	ila_put_be64(p, m->jseq), p += 8;
	ila_put_be32(p, time32(m->expires)), p += 4;
	ila_put_be32(p, time32(m->window_start)), p += 4;
	ila_put_be32(p, m->frozen_until == STORE_FROZEN_PERMANENT ? U32_FOREVER
								   : time32(m->frozen_until)),
		p += 4;
	if (m->rec.has_standby)
		memcpy(p, m->rec.standby.b, 8), p += 8;
	if (m->rec.has_prev)
		memcpy(p, m->rec.prev.b, 8), p += 8;
	p = put_name(p, m->rec.node);
	if (m->rec.has_standby)
		p = put_name(p, m->standby_node);
	return (size_t)(p - v);
}

static int decode_value(const MDB_val *val, struct mapping *m)
{
	return store_value_decode(val->mv_data, val->mv_size, m);
}

int store_value_decode(const void *data, size_t len, struct mapping *m)
{
	const MDB_val v = { len, (void *)data }, *val = &v;
	const uint8_t *p = val->mv_data, *end = p + val->mv_size;
	uint8_t bits;
	uint32_t frozen;

	if (val->mv_size < VAL_FIXED + 1 || p[0] != VAL_VERSION)
		return -EIO;
	p++;
	m->rec.state = *p++;
	bits = *p++;
	m->moves = *p++;
	m->rec.flags = ila_get_be32(p), p += 4;
	m->rec.lifetime = ila_get_be32(p), p += 4;
	memcpy(m->rec.loc.b, p, 8), p += 8;
	m->rec.seq = ila_get_be64(p), p += 8;
	m->jseq = ila_get_be64(p), p += 8;
	m->expires = ila_get_be32(p), p += 4;
	m->window_start = ila_get_be32(p), p += 4;
	frozen = ila_get_be32(p), p += 4;
	m->frozen_until = frozen == U32_FOREVER ? STORE_FROZEN_PERMANENT : frozen;
	m->rec.has_standby = bits & BIT_STANDBY;
	m->rec.has_prev = bits & BIT_PREV;
	m->lapsed = bits & BIT_LAPSED;
	if ((size_t)(end - p) < (m->rec.has_standby ? 8u : 0u) + (m->rec.has_prev ? 8u : 0u))
		return -EIO;
	if (m->rec.has_standby)
		memcpy(m->rec.standby.b, p, 8), p += 8;
	if (m->rec.has_prev)
		memcpy(m->rec.prev.b, p, 8), p += 8;
	if (!(p = get_name(m->rec.node, p, end)))
		return -EIO;
	if (m->rec.has_standby && !(p = get_name(m->standby_node, p, end)))
		return -EIO;
	return 0;
}

static int get_raw(struct store *s, MDB_txn *txn, const struct store_key *k, struct mapping *m)
{
	MDB_val key = { STORE_KEY_LEN, (void *)k->b }, val;
	int rc = mdb_get(txn, s->map, &key, &val);

	if (rc)
		return mdb_errno(rc);
	memset(m, 0, sizeof(*m));
	store_key_to_record(k, &m->rec);
	return decode_value(&val, m);
}

int store_get(struct store *s, MDB_txn *txn, const struct store_key *k, struct mapping *m)
{
	return get_raw(s, txn, k, m);
}

#define EXPIRY_KEY_LEN (4 + STORE_KEY_LEN)

static void expiry_key(uint8_t *b, uint64_t due, const struct store_key *k)
{
	ila_put_be32(b, time32(due));
	memcpy(b + 4, k->b, STORE_KEY_LEN);
}

/* When the expiry tick has to look at a mapping: the end of its lifetime,
 * or the end of its freeze when that comes first (it is pushed up then). */
static uint64_t due_of(const struct mapping *m)
{
	if (m->rec.state == ILA_STATE_FROZEN && m->frozen_until &&
	    m->frozen_until != STORE_FROZEN_PERMANENT && m->frozen_until < m->expires)
		return m->frozen_until;
	return m->expires;
}

/* The journal is keyed by position alone, so every entry is an append. Its
 * value is the key and the number the change got, so that a removal is
 * still pushed with its number once its tombstone is gone. */
static int journal_append(struct store *s, MDB_txn *txn, const struct store_key *k,
			  uint64_t seq, uint64_t *jseq)
{
	uint8_t jk[8], jv[STORE_JOURNAL_VAL_LEN];
	MDB_val key = { sizeof(jk), jk }, val = { sizeof(jv), jv };

	memcpy(jv, k->b, STORE_KEY_LEN);
	ila_put_be64(jv + STORE_KEY_LEN, seq);
	*jseq = ++s->jseq;
	ila_put_be64(jk, *jseq);
	return mdb_errno(mdb_put(txn, s->journal, &key, &val, MDB_APPEND));
}

/* The local copy of an etcd store: the position is the change's revision. */
static int journal_append_at(struct store *s, MDB_txn *txn, const struct store_key *k,
			     uint64_t seq, uint64_t rev)
{
	uint8_t jk[8], jv[STORE_JOURNAL_VAL_LEN];
	MDB_val key = { sizeof(jk), jk }, val = { sizeof(jv), jv };

	if (rev <= s->jseq)
		return -ERANGE;
	memcpy(jv, k->b, STORE_KEY_LEN);
	ila_put_be64(jv + STORE_KEY_LEN, seq);
	s->jseq = rev;
	ila_put_be64(jk, rev);
	return mdb_errno(mdb_put(txn, s->journal, &key, &val, MDB_APPEND));
}

static bool live(const struct mapping *m)
{
	return m && m->rec.state != ILA_STATE_REMOVED;
}

static void vn_count_key(uint8_t *b, uint32_t vn)
{
	b[0] = 'v';
	ila_put_be32(b + 1, vn);
}

static int vn_count_add(struct store *s, MDB_txn *txn, uint32_t vn, int delta)
{
	uint8_t kb[5], vb[8];
	MDB_val key = { sizeof(kb), kb }, val;
	uint64_t n = 0;
	int rc;

	vn_count_key(kb, vn);
	if (mdb_get(txn, s->meta, &key, &val) == 0 && val.mv_size == 8)
		n = ila_get_be64(val.mv_data);
	n = delta < 0 ? (n ? n - 1 : 0) : n + 1;
	ila_put_be64(vb, n);
	val.mv_size = sizeof(vb);
	val.mv_data = vb;
	rc = mdb_put(txn, s->meta, &key, &val, 0);
	return mdb_errno(rc);
}

static int owner_op(struct store *s, MDB_txn *txn, const char *node, const struct store_key *k,
		    bool add)
{
	MDB_val key = { strnlen(node, ILA_PROTO_NAME_MAX), (void *)node };
	MDB_val val = { STORE_KEY_LEN, (void *)k->b };
	int rc;

	if (key.mv_size == 0)
		return 0; /* no owner: nothing to index */
	rc = add ? mdb_put(txn, s->owner, &key, &val, MDB_NODUPDATA)
		 : mdb_del(txn, s->owner, &key, &val);
	if (rc == MDB_KEYEXIST || rc == MDB_NOTFOUND)
		rc = 0;
	return mdb_errno(rc);
}

/* Keeps the owner index and the vns' counts in step with a change of one
 * mapping from old to m (either may be NULL or a tombstone). */
static int index_update(struct store *s, MDB_txn *txn, const struct store_key *k,
			const struct mapping *old, const struct mapping *m)
{
	bool was = live(old), is = live(m);
	bool same = was && is && strcmp(old->rec.node, m->rec.node) == 0;
	int rc;

	if (was && !same && (rc = owner_op(s, txn, old->rec.node, k, false)))
		return rc;
	if (is && !same && (rc = owner_op(s, txn, m->rec.node, k, true)))
		return rc;
	if (was != is)
		return vn_count_add(s, txn, ila_get_be32(k->b), is ? 1 : -1);
	return 0;
}

/* A store written before the owner index had none: built once, at open. */
static int index_build(struct store *s, MDB_txn *txn)
{
	MDB_val mk = { 5, "owner" }, v, key, val;
	MDB_cursor *cur;
	int rc;

	if (mdb_get(txn, s->meta, &mk, &v) == 0)
		return 0;
	if ((rc = mdb_cursor_open(txn, s->map, &cur)))
		return rc;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct mapping m = { 0 };
		struct store_key k;

		if (key.mv_size != STORE_KEY_LEN)
			continue;
		memcpy(k.b, key.mv_data, STORE_KEY_LEN);
		store_key_to_record(&k, &m.rec);
		if (decode_value(&val, &m) < 0)
			continue;
		if (index_update(s, txn, &k, NULL, &m) < 0) {
			rc = MDB_CORRUPTED;
			break;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	v.mv_size = 1;
	v.mv_data = "1";
	return mdb_put(txn, s->meta, &mk, &v, 0);
}

/* A store written before frozen mappings were indexed at the end of their
 * freeze has them at the end of their lifetime: moved once, at open. */
static int due_build(struct store *s, MDB_txn *txn)
{
	MDB_val mk = { 3, "due" }, v, key, val, empty = { 0, NULL };
	MDB_cursor *cur;
	int rc;

	if (mdb_get(txn, s->meta, &mk, &v) == 0)
		return 0;
	if ((rc = mdb_cursor_open(txn, s->map, &cur)))
		return rc;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct mapping m = { 0 };
		struct store_key k;
		uint8_t ek[EXPIRY_KEY_LEN];
		MDB_val ekey = { sizeof(ek), ek };
		int r;

		if (key.mv_size != STORE_KEY_LEN)
			continue;
		memcpy(k.b, key.mv_data, STORE_KEY_LEN);
		store_key_to_record(&k, &m.rec);
		if (decode_value(&val, &m) < 0 || due_of(&m) == m.expires)
			continue;
		expiry_key(ek, m.expires, &k);
		r = mdb_del(txn, s->expiry, &ekey, NULL);
		if (r == 0 || r == MDB_NOTFOUND) {
			expiry_key(ek, due_of(&m), &k);
			r = mdb_put(txn, s->expiry, &ekey, &empty, 0);
		}
		if (r) {
			rc = r;
			break;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	v.mv_size = 1;
	v.mv_data = "1";
	return mdb_put(txn, s->meta, &mk, &v, 0);
}

uint64_t store_vn_count(struct store *s, MDB_txn *txn, uint32_t vn)
{
	uint8_t kb[5];
	MDB_val key = { sizeof(kb), kb }, val;

	vn_count_key(kb, vn);
	if (mdb_get(txn, s->meta, &key, &val) == 0 && val.mv_size == 8)
		return ila_get_be64(val.mv_data);
	return 0;
}

uint64_t store_owner_count(struct store *s, MDB_txn *txn, const char *node)
{
	MDB_val key = { strnlen(node, ILA_PROTO_NAME_MAX), (void *)node }, val;
	MDB_cursor *cur;
	size_t n = 0;

	if (key.mv_size == 0 || mdb_cursor_open(txn, s->owner, &cur))
		return 0;
	if (mdb_cursor_get(cur, &key, &val, MDB_SET) == 0 && mdb_cursor_count(cur, &n) != 0)
		n = 0;
	mdb_cursor_close(cur);
	return n;
}

int store_owner_keys(struct store *s, MDB_txn *txn, const char *node, store_key_fn fn,
		     void *arg)
{
	MDB_val key = { strnlen(node, ILA_PROTO_NAME_MAX), (void *)node }, val;
	MDB_cursor *cur;
	int rc;

	if (key.mv_size == 0)
		return 0;
	if ((rc = mdb_cursor_open(txn, s->owner, &cur)))
		return mdb_errno(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP)) {
		struct store_key k;
		int r;

		if (val.mv_size != STORE_KEY_LEN)
			continue;
		memcpy(k.b, val.mv_data, STORE_KEY_LEN);
		if ((r = fn(arg, &k))) {
			mdb_cursor_close(cur);
			return r;
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : mdb_errno(rc);
}

/* A change made while recording, for the etcd transaction; a second change
 * of one key within a transaction replaces the first and keeps what it
 * expected. */
static int record_op(struct store *s, const struct store_key *k, const struct mapping *m,
		     uint64_t expect)
{
	struct store_op *op = NULL;
	struct store_op_ix *x = NULL;

	HASH_FIND(hh, s->ops_ix, k->b, STORE_KEY_LEN, x);
	if (x) {
		op = &s->ops[x->i];
		expect = op->expect_rev;
	} else {
		if (s->nops == s->ops_cap) {
			size_t ncap = s->ops_cap ? 2 * s->ops_cap : 64;
			struct store_op *n = realloc(s->ops, ncap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			s->ops = n;
			s->ops_cap = ncap;
		}
		/* one key, one change in the transaction: etcd refuses a key twice */
		if (!(x = malloc(sizeof(*x))))
			return -ENOMEM;
		x->key = *k;
		x->i = s->nops;
		hash_oom = false;
		HASH_ADD(hh, s->ops_ix, key.b, STORE_KEY_LEN, x);
		if (hash_oom) {
			free(x);
			return -ENOMEM;
		}
		op = &s->ops[s->nops++];
	}
	s->last_op = (long)(op - s->ops);
	memset(op, 0, sizeof(*op));
	op->key = *k;
	op->expect_rev = expect;
	op->del = !m;
	if (m)
		op->m = *m;
	return 0;
}

void store_record(struct store *s, bool on)
{
	s->recording = on;
	s->nops = 0;
	ops_ix_clear(s);
}

int store_apply(struct store *s, MDB_txn *txn, struct mapping *m, const struct mapping *old,
		uint64_t rev)
{
	struct store_key k;
	int rc;

	store_key_of(m ? &m->rec : &old->rec, &k);
	if (rev && (rc = journal_append_at(s, txn, &k, m ? m->rec.seq : old->rec.seq, rev)))
		return rc;
	if (!m)
		return old ? store_del(s, txn, old, false) : 0;
	m->jseq = rev ? rev : m->jseq;
	return store_put(s, txn, m, old, false);
}

int store_put(struct store *s, MDB_txn *txn, struct mapping *m, const struct mapping *old,
	      bool journal)
{
	struct store_key k;
	uint8_t v[VAL_MAX], ek[EXPIRY_KEY_LEN];
	MDB_val key = { STORE_KEY_LEN, k.b }, val = { 0, v };
	MDB_val ekey = { sizeof(ek), ek }, empty = { 0, NULL };
	int rc;

	store_key_of(&m->rec, &k);
	if (s->recording) {
		/* etcd: the change is written by a transaction that expects the
		 * key at the revision the copy has; the copy itself changes when
		 * the watch brings it back */
		m->jseq = old ? old->jseq : 0;
		if ((rc = record_op(s, &k, m, m->jseq)))
			return rc;
	} else if (journal && (rc = journal_append(s, txn, &k, m->rec.seq, &m->jseq))) {
		return rc;
	}
	if ((rc = index_update(s, txn, &k, old, m)))
		return rc;
	if (old && due_of(old) != due_of(m)) {
		expiry_key(ek, due_of(old), &k);
		rc = mdb_del(txn, s->expiry, &ekey, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return mdb_errno(rc);
	}
	if (!old || due_of(old) != due_of(m)) {
		expiry_key(ek, due_of(m), &k);
		/* registrations mostly expire after everything already there: try
		 * the cheap append first, and a normal insert when it is not last */
		rc = mdb_put(txn, s->expiry, &ekey, &empty, MDB_APPEND);
		if (rc == MDB_KEYEXIST)
			rc = mdb_put(txn, s->expiry, &ekey, &empty, 0);
		if (rc)
			return mdb_errno(rc);
	}
	val.mv_size = store_value_encode(m, v);
	return mdb_errno(mdb_put(txn, s->map, &key, &val, 0));
}

int store_del(struct store *s, MDB_txn *txn, const struct mapping *old, bool journal)
{
	struct store_key k;
	uint8_t ek[EXPIRY_KEY_LEN];
	MDB_val key = { STORE_KEY_LEN, k.b }, ekey = { sizeof(ek), ek };
	uint64_t jseq;
	int rc;

	store_key_of(&old->rec, &k);
	if (s->recording) {
		if ((rc = record_op(s, &k, NULL, old->jseq)))
			return rc;
		journal = false;
	}
	if ((rc = index_update(s, txn, &k, old, NULL)))
		return rc;
	expiry_key(ek, due_of(old), &k);
	rc = mdb_del(txn, s->expiry, &ekey, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return mdb_errno(rc);
	if ((rc = mdb_del(txn, s->map, &key, NULL)))
		return mdb_errno(rc);
	return journal ? journal_append(s, txn, &k, old->rec.seq, &jseq) : 0;
}

int store_scan(struct store *s, MDB_txn *txn, uint32_t vn, const struct store_key *after,
	       store_map_fn fn, void *arg)
{
	MDB_cursor *cur;
	uint8_t start[STORE_KEY_LEN];
	MDB_val key = { 0, NULL }, val;
	int rc, op = MDB_FIRST;

	if ((rc = mdb_cursor_open(txn, s->map, &cur)))
		return mdb_errno(rc);
	if (after) {
		memcpy(start, after->b, STORE_KEY_LEN);
		key.mv_size = STORE_KEY_LEN;
		key.mv_data = start;
		op = MDB_SET_RANGE;
	} else if (vn) {
		ila_put_be32(start, vn);
		key.mv_size = 4;
		key.mv_data = start;
		op = MDB_SET_RANGE;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, op); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct mapping m = { 0 };
		struct store_key k;

		if (key.mv_size != STORE_KEY_LEN)
			continue;
		memcpy(k.b, key.mv_data, STORE_KEY_LEN);
		if (after && memcmp(k.b, after->b, STORE_KEY_LEN) == 0)
			continue;
		if (vn && ila_get_be32(k.b) != vn)
			break;
		store_key_to_record(&k, &m.rec);
		if (decode_value(&val, &m) < 0)
			continue; /* unreadable entry: skipped, never fatal */
		int r = fn(arg, &k, &m);
		if (r) {
			mdb_cursor_close(cur);
			return r;
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : mdb_errno(rc);
}

static uint64_t trimmed_upto(struct store *s, MDB_txn *txn)
{
	MDB_val key = { 4, "trim" }, val;

	if (mdb_get(txn, s->meta, &key, &val) == 0 && val.mv_size == 8)
		return ila_get_be64(val.mv_data);
	return 0;
}

int store_journal(struct store *s, MDB_txn *txn, uint32_t vn, uint64_t after, unsigned max,
		  uint64_t *reached, store_journal_fn fn, void *arg)
{
	MDB_cursor *cur;
	uint8_t jk[8];
	MDB_val key = { sizeof(jk), jk }, val;
	unsigned scanned = 0;
	int rc, n = 0;

	*reached = after;
	if (after < trimmed_upto(s, txn))
		return -ERANGE;
	ila_put_be64(jk, after + 1);
	if ((rc = mdb_cursor_open(txn, s->journal, &cur)))
		return mdb_errno(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	     rc == 0 && (unsigned)n < max && scanned < STORE_JOURNAL_SCAN;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		struct store_key k;
		struct mapping m;
		uint64_t jseq;

		if (key.mv_size != 8 ||
		    (val.mv_size != STORE_KEY_LEN && val.mv_size != STORE_JOURNAL_VAL_LEN))
			continue;
		jseq = ila_get_be64(key.mv_data);
		scanned++;
		*reached = jseq;
		memcpy(k.b, val.mv_data, STORE_KEY_LEN);
		if (ila_get_be32(k.b) != vn)
			continue; /* another vn's change: passed over */
		int got = get_raw(s, txn, &k, &m);
		if (got < 0 && val.mv_size == STORE_JOURNAL_VAL_LEN) {
			/* the tombstone is gone too: a removal with the number it had */
			memset(&m, 0, sizeof(m));
			store_key_to_record(&k, &m.rec);
			m.rec.state = ILA_STATE_REMOVED;
			m.rec.seq = ila_get_be64((const uint8_t *)val.mv_data + STORE_KEY_LEN);
			got = 0;
		}
		if (fn(arg, jseq, &k, got == 0 ? &m : NULL) == 0)
			n++;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return mdb_errno(rc);
	return n;
}

int store_reset(struct store *s, MDB_txn *txn, uint64_t pos, bool empty)
{
	MDB_val jk = { 4, "jseq" }, tk = { 4, "trim" }, val;
	uint8_t b[8];
	int rc;

	if (empty) {
		MDB_dbi dbs[] = { s->map, s->journal, s->expiry, s->owner, s->meta };

		for (size_t i = 0; i < ILA_ARRAY_SIZE(dbs); i++) {
			if ((rc = mdb_drop(txn, dbs[i], 0)))
				return mdb_errno(rc);
		}
	}
	ila_put_be64(b, pos);
	val.mv_size = sizeof(b);
	val.mv_data = b;
	if ((rc = mdb_put(txn, s->meta, &tk, &val, 0)) || (rc = mdb_put(txn, s->meta, &jk, &val, 0)))
		return mdb_errno(rc);
	s->jseq = pos;
	return 0;
}

int store_journal_trim(struct store *s, MDB_txn *txn, uint64_t keep_after)
{
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_val tkey = { 4, "trim" }, tval;
	uint8_t tv[8];
	int rc;

	if (keep_after <= trimmed_upto(s, txn))
		return 0;
	if ((rc = mdb_cursor_open(txn, s->journal, &cur)))
		return mdb_errno(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size == 8 && ila_get_be64(key.mv_data) > keep_after)
			break;
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return mdb_errno(rc);
	ila_put_be64(tv, keep_after);
	tval.mv_size = sizeof(tv);
	tval.mv_data = tv;
	return mdb_errno(mdb_put(txn, s->meta, &tkey, &tval, 0));
}

int store_expired(struct store *s, MDB_txn *txn, uint64_t now, struct store_key *keys,
		  unsigned max)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;
	unsigned n = 0;

	if ((rc = mdb_cursor_open(txn, s->expiry, &cur)))
		return mdb_errno(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0 && n < max;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		const uint8_t *kp = key.mv_data;

		if (key.mv_size != EXPIRY_KEY_LEN || ila_get_be32(kp) > time32(now))
			break;
		memcpy(keys[n++].b, kp + 4, STORE_KEY_LEN);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return mdb_errno(rc);
	return (int)n;
}

int store_stats(struct store *s, struct store_stats *st)
{
	MDB_txn *txn;
	MDB_stat ms;
	MDB_envinfo ei;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)))
		return mdb_errno(rc);
	if (mdb_stat(txn, s->owner, &ms) == 0)
		st->mappings = ms.ms_entries;
	if (mdb_stat(txn, s->map, &ms) == 0 && ms.ms_entries >= st->mappings)
		st->tombstones = ms.ms_entries - st->mappings;
	if (mdb_stat(txn, s->journal, &ms) == 0)
		st->journal = ms.ms_entries;
	mdb_txn_abort(txn);
	if (mdb_env_info(s->env, &ei) == 0) {
		MDB_stat es;

		st->map_size = ei.me_mapsize;
		if (mdb_env_stat(s->env, &es) == 0)
			st->used = (uint64_t)(ei.me_last_pgno + 1) * es.ms_psize;
	}
	return 0;
}
