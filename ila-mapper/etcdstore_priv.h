/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the etcd store's files share (etcdstore*.c). */
#ifndef ILA_MAPPER_ETCDSTORE_PRIV_H
#define ILA_MAPPER_ETCDSTORE_PRIV_H

#include "mapper.h"

#define PRESENCE_LEFT "left"

/* etcdstore_codec.c */
bool estore_hex_bytes(const uint8_t *s, size_t nbytes, uint8_t *out);
bool estore_is_id_key(const struct estore *e, const uint8_t *key, size_t len);
bool estore_value_ok(const struct mapper *m, const struct store_key *k, const void *v,
		     size_t len, struct mapping *mp);

/* etcdstore_reach.c */
void estore_set_reachable(struct mapper *m, bool ok, const char *fmt, ...) ILA_PRINTF(3, 4);

/* etcdstore_lease.c */
void estore_lease_tick(struct ev_loop *loop, ev_timer *w, int revents);
void estore_presence_flush(struct ev_loop *loop, ev_timer *w, int revents);

/* etcdstore_txn.c */
void estore_landing_release(struct estore *e);
void estore_landing_free(struct estore *e);

#endif
