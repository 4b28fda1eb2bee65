/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mapper's durable store, in LMDB. Five databases:
 *   map      key (vn, family, address) -> the mapping (a removed one is kept
 *            as a tombstone: state removed, its sequence number)
 *   journal  key jseq                  -> the map key changed at that
 *            position and the sequence number it got (one journal for
 *            all vns: a vn's positions increase with gaps)
 *   expiry   key (due, map key)        -> nothing; the soft-state timer's index:
 *            due is when the lifetime ends, or when the freeze ends if that
 *            comes first
 *   owner    key owner node name       -> map keys (sorted duplicates): the
 *            live (not removed) mappings of each node
 *   meta     "jseq" -> last journal position; "trim" -> journal kept after it;
 *            "id" -> the store's id (random, made with the store);
 *            "v" vn -> live mappings of the vn; "owner" -> index built;
 *            "due" -> expiry index at freeze ends
 * Every change to a mapping appends to the journal, so subscribers resume
 * from a position and a slow subscriber is fed from the journal instead of
 * from an in-memory queue.
 */
#ifndef ILA_MAPPER_STORE_H
#define ILA_MAPPER_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define STORE_KEY_LEN 21 /* vn u32, family u8, address 16 */
#define STORE_JOURNAL_VAL_LEN (STORE_KEY_LEN + 8) /* key, seq of the change */
#define STORE_FROZEN_PERMANENT UINT64_MAX

struct store_key {
	uint8_t b[STORE_KEY_LEN];
};

/* A mapping as stored. rec holds what goes on the wire. */
struct mapping {
	struct ila_record rec;	/* addr, vn, loc, standby, prev, seq, state, flags, lifetime, node */
	char standby_node[ILA_PROTO_NAME_MAX + 1];
	uint64_t expires;	/* wall seconds (stored in 32 bits: until 2106) */
	uint64_t jseq;		/* journal position of the last change */
	uint32_t moves;		/* moves (owner changes) in the damping window, open
				 * while not 0 (stored up to 255) */
	uint64_t window_start;	/* wall seconds: the move that opened the window */
	uint64_t frozen_until;	/* 0, wall seconds, or STORE_FROZEN_PERMANENT */
	bool lapsed;		/* down or removed by expiry, not by a node */
};

/* A change recorded for etcd (store_record): the key's new value, or its
 * deletion, expected at the revision the local copy had for it (0: absent). */
struct store_op {
	struct store_key key;
	bool del;
	uint64_t expect_rev;
	struct mapping m;
};

#define STORE_COMMIT_TIMES 64

struct store {
	MDB_env *env;
	MDB_dbi map, journal, expiry, owner, meta;
	uint64_t jseq;		 /* last journal position handed out */
	uint64_t committed_jseq; /* last journal position committed */
	uint64_t id;		 /* made at random with the store (meta "id") */
	/* etcd: while recording, store_put and store_del also note their change
	 * in ops, and journal nothing (positions are etcd's revisions) */
	bool recording;
	struct store_op *ops;
	size_t nops, ops_cap;
	struct store_op_ix *ops_ix; /* ops by key (uthash) */
	long last_op;		/* index in ops of the last change noted */
	/* when the last commits were made, for the push latency histogram */
	struct store_commit_time {
		uint64_t jseq;	/* committed_jseq after the commit */
		uint64_t us;	/* ila_clock_mono_us() */
	} commit_times[STORE_COMMIT_TIMES];
	unsigned commit_next;
};

int store_open(struct store *s, const char *path, uint32_t map_size_mb, char *err, size_t errlen);
/* Commits stop waiting for the disk: for a store that is a copy, emptied
 * and read again at every start (store etcd's). */
int store_nosync(struct store *s);
void store_close(struct store *s);

/* Transactions: one writer at a time (the event loop), readers as needed.
 * A write transaction ends with store_commit() or store_abort(); a read
 * transaction with mdb_txn_abort(). */
int store_begin(struct store *s, bool write, MDB_txn **txn);
int store_commit(struct store *s, MDB_txn *txn);
/* When the commit that made journal position jseq durable was made
 * (ila_clock_mono_us()), among the last STORE_COMMIT_TIMES; 0 if older. */
uint64_t store_commit_time_us(const struct store *s, uint64_t jseq);
void store_abort(struct store *s, MDB_txn *txn);

void store_key_of(const struct ila_record *r, struct store_key *k);
/* Fills the address part of a record (family, addr, vn) from a key. */
void store_key_to_record(const struct store_key *k, struct ila_record *r);

/* 0, -ENOENT, or -EIO. */
int store_get(struct store *s, MDB_txn *txn, const struct store_key *k, struct mapping *m);
/*
 * Writes m (old: its previous version, tombstone included, or NULL) and,
 * when journal is set, appends a journal entry and sets m->jseq. A mapping
 * in state removed is a tombstone: kept with its sequence number, out of
 * the owner index and the vn's count. 0 or -EIO/-ENOSPC.
 */
int store_put(struct store *s, MDB_txn *txn, struct mapping *m, const struct mapping *old,
	      bool journal);
/* Erases the entry (a tombstone whose time is up), journalled when asked. */
int store_del(struct store *s, MDB_txn *txn, const struct mapping *old, bool journal);

/*
 * etcd: recording on (also clears the ops) or off. The caller of a
 * recording transaction aborts it and sends s->ops to etcd; the changes
 * come back through store_apply().
 */
void store_record(struct store *s, bool on);
/*
 * The local copy of an etcd store: writes m (NULL: deletes old) as etcd has
 * it at revision rev, journalled at rev (0: not journalled, the initial
 * read). rev must be above every position journalled before (-ERANGE).
 */
int store_apply(struct store *s, MDB_txn *txn, struct mapping *m, const struct mapping *old,
		uint64_t rev);

/*
 * The local copy of an etcd store read again: empties it (when asked) and
 * sets its position to pos, journal kept after pos only (resumes from
 * before it get a snapshot).
 */
int store_reset(struct store *s, MDB_txn *txn, uint64_t pos, bool empty);

/* The value of a mapping as stored (also etcd's value): at most
 * STORE_VALUE_MAX bytes. decode: 0 or -EIO. */
#define STORE_VALUE_MAX (48 + 16 + 2 * (1 + ILA_PROTO_NAME_MAX))
size_t store_value_encode(const struct mapping *m, uint8_t *v);
int store_value_decode(const void *data, size_t len, struct mapping *m);

/* Live (not removed) mappings of a vn, and of an owner node. */
uint64_t store_vn_count(struct store *s, MDB_txn *txn, uint32_t vn);
uint64_t store_owner_count(struct store *s, MDB_txn *txn, const char *node);
/* Calls fn for each live mapping's key owned by node (owner index, no scan
 * of the store); stops when fn returns non-zero and returns that value. */
typedef int (*store_key_fn)(void *arg, const struct store_key *k);
int store_owner_keys(struct store *s, MDB_txn *txn, const char *node, store_key_fn fn,
		     void *arg);

/* Calls fn for each mapping of vn (vn 0: all) in key order, starting after
 * the key `after` when given; stops when fn returns non-zero and returns
 * that value. */
typedef int (*store_map_fn)(void *arg, const struct store_key *k, const struct mapping *m);
int store_scan(struct store *s, MDB_txn *txn, uint32_t vn, const struct store_key *after,
	       store_map_fn fn, void *arg);

/*
 * Journal entries of vn after position `after`, at most max, passing over
 * other vns' entries (at most STORE_JOURNAL_SCAN entries are looked at per
 * call): fn gets the position, the key, and the mapping as it is now (a
 * tombstone, or when even that is gone a removed mapping with the number
 * the journal kept; NULL only for an entry of an older store). fn returns
 * 0 when the entry counts (the caller took it as a new item), non-zero
 * when it does not (passed over, or folded into an item taken before):
 * only the entries that count make up max and the result. *reached is the
 * last position looked at, so a caller can move past other vns' changes
 * (and entries it passed over) even when none came. Returns the number of
 * entries that counted, -EIO, or -ERANGE when `after` is older than what
 * the journal still holds (the subscriber needs a snapshot).
 */
#define STORE_JOURNAL_SCAN 16384
typedef int (*store_journal_fn)(void *arg, uint64_t jseq, const struct store_key *k,
				const struct mapping *m);
int store_journal(struct store *s, MDB_txn *txn, uint32_t vn, uint64_t after, unsigned max,
		  uint64_t *reached, store_journal_fn fn, void *arg);
/* Drops journal entries at or before keep_after. */
int store_journal_trim(struct store *s, MDB_txn *txn, uint64_t keep_after);

/* Keys due (their lifetime or their freeze ended) at or before now, at most
 * max, in that order. Returns count. */
int store_expired(struct store *s, MDB_txn *txn, uint64_t now, struct store_key *keys,
		  unsigned max);

/* Statistics for show commands. */
struct store_stats {
	uint64_t mappings;	/* live */
	uint64_t tombstones;
	uint64_t journal;
	uint64_t map_size;
	uint64_t used;
};
int store_stats(struct store *s, struct store_stats *st);

#endif
