/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the directory's files share (directory*.c): etcd writes, rules on one record, answers. */
#ifndef ILA_MAPPER_DIRECTORY_PRIV_H
#define ILA_MAPPER_DIRECTORY_PRIV_H

#include "mapper.h"

enum dir_write_kind {
	W_BATCH,	/* REGISTER and DEREGISTER requests */
	W_FAILOVER,	/* a failed node's standbys promoted */
	W_EXPIRY,	/* lifetimes, tombstones, freezes that ended */
	W_CONTROL,	/* ilactl -M unfreeze or delete */
};

/* A write whose transactions are out (the token of estore_commit). */
struct dir_write {
	enum dir_write_kind kind;
	int node;			/* W_FAILOVER */
	struct pending_op *ops;		/* W_BATCH */
	long *rec_op;			/* W_BATCH: per record, its change (-1: none) */
	size_t nrec;
};

#define ETCD_TRIES 8 /* a request decided again after conflicts, at most */
#define ETCD_BATCHES_OUT 4 /* batches of requests whose transactions are out, at most */

/* directory_rules.c */
bool dir_frozen_now(const struct mapping *mp, uint64_t now);
uint64_t dir_seq_next(uint64_t s);
int dir_apply_register(struct mapper *m, MDB_txn *txn, int node, const struct ila_record *r,
		       uint64_t now, struct mapper_changes *cs);
void dir_make_tombstone(const struct mapper *m, struct mapping *nm, uint64_t seq, uint64_t now);
int dir_apply_deregister(struct mapper *m, MDB_txn *txn, int node, const struct ila_record *r,
			 uint64_t now, struct mapper_changes *cs);

/* directory_ack.c */
void dir_op_free(struct pending_op *op);
void dir_send_ack(struct mapper *m, struct pending_op *op, bool committed);
void dir_op_error(struct pending_op *op, int code, const char *text);

/* directory_etcd.c */
int dir_etcd_begin(struct mapper *m, MDB_txn **txn);
void dir_etcd_send(struct mapper *m, MDB_txn *txn, struct dir_write *w);

/* directory_expiry.c */
void dir_expiry_cb(struct ev_loop *loop, ev_timer *w, int revents);
void dir_trim_cb(struct ev_loop *loop, ev_timer *w, int revents);

#endif
