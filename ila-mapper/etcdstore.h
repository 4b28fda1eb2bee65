/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ila-mapper/etcdstore.h: the etcd store's state (doc/etcd.md). */
#ifndef ILA_MAPPER_ETCDSTORE_H
#define ILA_MAPPER_ETCDSTORE_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

struct etcd;
struct etcd_watch;

#define ESTORE_KEY_MAX (ILA_CONF_ETCD_PREFIX_MAX + 2 + 8 + 1 + 2 + 32 + 1)
#define ESTORE_OPS_PER_TXN 64 /* a compare and a put each: etcd's --max-txn-ops is 128 */

/* What a commit's transactions came to, per recorded change. */
enum estore_outcome {
	ESTORE_COMMITTED,
	ESTORE_CONFLICT,	/* another instance changed the key first */
	ESTORE_FAILED,		/* unavailable, refused, or outcome unknown */
};

struct estore_stats {
	uint64_t txns;
	uint64_t txn_conflicts;
	uint64_t txn_failures;
	uint64_t txn_unknown;	/* outcome unknown: read back by the watch */
	uint64_t events;	/* watch events applied to the copy */
	uint64_t bad_values;	/* keys or values under the prefix that did not decode */
	uint64_t resyncs;	/* the copy read again (compaction, lost watch) */
	uint64_t lease_grants;
	uint64_t lease_lost;
	uint64_t presence_puts;
	uint64_t presence_dels;
};

/*
 * Keys written and not yet back in the copy: from the commit that sends
 * them until the copy reached the revision their transaction answered with.
 * A key counts once per transaction holding it.
 */
struct estore_keyset {
	struct estore_busy_key *keys;	/* a uthash table */
	size_t n;
};

struct estore_landing;

struct estore {
	struct etcd *etcd;
	struct etcd_watch *watch;
	char prefix[ILA_CONF_ETCD_PREFIX_MAX];
	size_t plen;
	char instance[96];	/* this instance's name in presence keys */
	bool ready;		/* the copy is loaded and followed */
	bool reachable;		/* the last request reached a member */
	uint64_t unreachable_since_ms;
	bool cut;		/* unreachable for a lease's time: nodes sent away */
	char why[160];		/* why not ready or not reachable */
	int64_t rev;		/* the copy's revision (last applied) */
	int64_t cluster_id;
	uint64_t directory;	/* PREFIX id: what nodes' positions are valid on */
	uint64_t new_directory;	/* the id offered when there is none yet */
	/* loading: range pages at load_rev */
	bool loading;
	int64_t load_rev;
	uint8_t load_next[ESTORE_KEY_MAX + 1];
	size_t load_next_len;
	bool load_presence;	/* the n/ pages, after the m/ pages */
	/* liveness */
	int64_t lease;
	bool lease_pending;
	ev_timer lease_w;
	ev_timer retry_w;
	/* nodes with a presence key anywhere (by config index), and this
	 * instance's own (written under its lease) */
	bool present[ILA_CONF_MAX_NODES];
	bool mine[ILA_CONF_MAX_NODES];
	uint8_t pres_todo[ILA_CONF_MAX_NODES]; /* presence keys to write, batched */
	ev_timer pres_w;
	unsigned inflight;	/* transactions sent and not answered */
	struct estore_keyset busy; /* keys of transactions out or not yet in the copy */
	struct estore_landing *landing, **landing_tail; /* answered, copy not there yet */
	int64_t seen_rev;	/* the highest revision any answer told */
	struct estore_stats stats;
};

#endif
