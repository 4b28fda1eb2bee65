/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the etcd store's files share (etcdstore*.c). */
#ifndef ILA_MAPPER_ETCDSTORE_PRIV_H
#define ILA_MAPPER_ETCDSTORE_PRIV_H

#include "mapper.h"

#define PRESENCE_LEFT "left"

/* etcdstore_codec.c */
bool hex_bytes(const uint8_t *s, size_t nbytes, uint8_t *out);
bool is_id_key(const struct estore *e, const uint8_t *key, size_t len);
bool value_ok(const struct mapper *m, const struct store_key *k, const void *v,
	      size_t len, struct mapping *mp);

/* etcdstore_reach.c */
void set_reachable(struct mapper *m, bool ok, const char *fmt, ...) ILA_PRINTF(3, 4);

/* etcdstore_lease.c */
void lease_tick(struct ev_loop *loop, ev_timer *w, int revents);
void presence_flush(struct ev_loop *loop, ev_timer *w, int revents);

/* etcdstore_txn.c */
void landing_release(struct estore *e);
void landing_free(struct estore *e);

#endif
