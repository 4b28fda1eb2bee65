/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-mapper: one struct holds the daemon; the files split its work, each
 * calling only the files below it (what goes up goes through the event
 * queue):
 *   mapper.c     startup, signals, reload, shutdown
 *   dispatch.c   the queued events, each to the module that handles it
 *   show.c       the control socket's commands
 *   server.c     listeners, TLS handshake, reading frames, OPEN, keepalive
 *                and dead timers, dispatching the nodes' requests
 *   directory_control.c  the operator's unfreeze and delete
 *   directory.c  registrations queued, the group commit (LMDB, or decided
 *                on the etcd copy), failover, the loop's commit hooks
 *   directory_query.c    QUERY, with WATCH and RELEASE
 *   directory_expiry.c   lifetimes and tombstones running out, freezes ending
 *   directory_etcd.c     store etcd: writes sent as transactions, their outcomes
 *   directory_ack.c      a request's answer: ACK, STATUS, ERROR
 *   directory_rules.c    one record decided: rights, quotas, ordering, damping
 *   push.c       subscriptions: snapshot, journal replay, directed pushes
 *   watch.c      interests of on-demand nodes (QUERY WATCH), their pushes
 *   session.c    a session's state and output: queueing, writing, closing
 *   etcdstore.c  store etcd: the local copy read and followed by a watch
 *   etcdstore_lease.c    the instance's lease and the nodes' presence keys
 *   etcdstore_txn.c      conditional transactions, keys in flight
 *   etcdstore_codec.c    keys, journal positions and values
 *   etcdstore_reach.c    etcd reachable or not, and why
 *   event.c      the event queue, and the lines of `ilactl -M monitor`
 *   state.c      lookups: vns, record addresses; the clock
 *   store.c      the LMDB store: mappings and tombstones, journal, expiry
 *                and owner indexes (with etcd: the local copy)
 */
#ifndef ILA_MAPPER_H
#define ILA_MAPPER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "control.h"
#include "etcdstore.h"
#include "daemon.h"
#include "frame.h"
#include "metrics.h"
#include "proto.h"
#include "store.h"
#include "tls.h"

#define MAPPER_NAME "ila-mapper"
#define MAPPER_JOURNAL_KEEP 262144 /* journal positions kept for resumes */
#define MAPPER_EXPIRE_BATCH 1024   /* expiries handled per tick */
#define MAPPER_MAX_SESSIONS 16384

/* A counter for every kind of refusal and error (show stats). */
struct mapper_stats {
	uint64_t sessions_accepted;
	uint64_t sessions_closed;
	uint64_t sessions_refused;	/* over MAPPER_MAX_SESSIONS */
	uint64_t tls_failures;
	uint64_t auth_failures;		/* identity not a configured node */
	uint64_t open_errors;		/* no OPEN first, bad OPEN */
	uint64_t dead_timer_expired;
	/* before OPEN (limit line) */
	uint64_t preauth_refused;	/* over limit unauthenticated */
	uint64_t preauth_source_refused;/* over limit per-source */
	uint64_t open_timeouts;		/* no TLS handshake plus OPEN within open-timeout */
	uint64_t accept_pauses;		/* accept() out of descriptors: listening paused */
	uint64_t malformed_closes;	/* sessions closed at limit malformed */
	uint64_t unsupported;		/* requests using a capability not negotiated */
	uint64_t frames_in;
	uint64_t frames_out;
	uint64_t malformed;		/* every frame that did not decode */
	uint64_t malformed_by_code[ILA_PERR_RECORD_MALFORMED - ILA_PERR_SHORT_HEADER + 1];
	uint64_t unexpected;		/* messages a node must not send */
	uint64_t registrations;		/* records accepted (new, move or refresh) */
	uint64_t moves;
	uint64_t refreshes;
	uint64_t standby_registrations;
	uint64_t stale_seq;
	uint64_t frozen_refused;
	uint64_t not_authorised;
	uint64_t vn_unknown;
	uint64_t addr_outside_vn;
	uint64_t no_mapping;
	uint64_t deregistrations;
	uint64_t queries;
	uint64_t subscriptions;
	uint64_t snapshots;
	uint64_t resyncs;		/* resume too old: snapshot instead */
	uint64_t push_frames;
	uint64_t push_records;
	uint64_t directed_pushes;
	uint64_t subscriber_stalls;	/* a subscriber's queue was full: fed later */
	uint64_t overloaded;		/* sessions closed for not reading at all */
	uint64_t expired;
	uint64_t failovers;
	uint64_t failovers_skipped;	/* a failed node's mappings kept: standby not connected */
	uint64_t freezes;
	uint64_t unfreezes;		/* by the operator (ilactl -M unfreeze) */
	uint64_t freeze_ends;		/* freezes that ran their time: pushed up again */
	uint64_t commits;
	uint64_t commit_records;
	uint64_t commit_failures;
	uint64_t deletes;
	uint64_t not_subscribed;	/* UNSUBSCRIBE of a vn not subscribed */
	uint64_t query_not_authorised;	/* QUERY of a vn the node may not subscribe to */
	uint64_t quota_node;		/* records refused: node over its mapping quota */
	uint64_t quota_vn;		/* records refused: vn over its mapping quota */
	uint64_t quota_rate;		/* records refused: node over its registration rate */
	uint64_t seq_exhausted;		/* records refused: number past ILA_SEQ_LIMIT */
	uint64_t tombstones_purged;	/* removed mappings forgotten after lifetime max */
	uint64_t unavailable;		/* requests refused: the etcd store unreachable */
	/* interests (watch.c) */
	uint64_t watch_queries;		/* QUERYs with WATCH */
	uint64_t watch_added;		/* (node, address) interests recorded */
	uint64_t watch_refreshed;	/* ... extended by a later WATCH */
	uint64_t watch_released;	/* ... dropped by RELEASE */
	uint64_t watch_expired;		/* ... that ran their lifetime */
	uint64_t watch_dropped;		/* ... gone with the node's last session */
	uint64_t watch_quota;		/* WATCH queries refused: node over watch max */
	uint64_t watch_push_frames;	/* PUSH frames with WATCHED */
	uint64_t watch_push_records;
};

/* A node's registration rate: a token bucket on the monotonic clock. */
struct mapper_bucket {
	double tokens;
	uint64_t last_ms;	/* 0: not used yet (full) */
};

struct session;

/* A REGISTER or DEREGISTER waiting for the next group commit. */
struct pending_op {
	struct pending_op *next;
	struct session *s;	/* NULL once the session is gone: no ACK */
	int node;		/* config index of the sender */
	struct ila_msg msg;	/* owns its records */
	uint16_t *status;	/* one per record */
	uint32_t accepted;
	/* store etcd: records whose change etcd has (not decided again when a
	 * conflict sends the request back), and how often it went back */
	uint8_t *done;
	unsigned tries;
};

struct dir_write;

/* A move whose previous owner hears of it directly (push_directed). */
struct mapper_moved {
	char prev_node[ILA_PROTO_NAME_MAX + 1];
	struct mapping m;
};

/*
 * What one module tells another, run from the event queue (event.c) after
 * the current callback returns: a commit's changes reach the pushes, a
 * closed session reaches the directory, monitor lines reach the control
 * socket's clients.
 */
enum mapper_ev_type {
	MAPPER_EV_MONITOR,	/* name, fields: a line for `ilactl -M monitor` */
	MAPPER_EV_CHANGED,	/* vns changed by a commit; moves to tell old owners */
	MAPPER_EV_SESSION_GONE,	/* s closed (still in the graveyard); failed: its node
				 * has no other session, its standbys take over */
	MAPPER_EV_COMMITTED,	/* etcd: a commit's transactions answered (token,
				 * outcome per recorded change, rev) */
	MAPPER_EV_NODE_GONE,	/* etcd: node's presence key went away: fail it over */
	MAPPER_EV_STORE_LOST,	/* etcd: cut off for a lease's time: nodes go elsewhere */
};

struct json_object;

struct mapper_ev {
	struct mapper_ev *next;
	enum mapper_ev_type type;
	char name[24];
	struct json_object *fields;	/* owned by the event */
	uint32_t vns[ILA_CONF_MAX_VNS];
	unsigned nvns;
	struct mapper_moved *moved;	/* owned by the event */
	unsigned nmoved;
	struct session *s;
	int node;
	bool failed;
	bool last;		/* SESSION_GONE: the node has no other session here */
	void *token;		/* MAPPER_EV_COMMITTED */
	uint8_t *outcome;	/* owned by the event: enum estore_outcome each */
	size_t noutcome;
	int64_t rev;
};

/* What one commit or one watch message changed: the vns to push, the moves
 * to tell the previous owners of (event.c). */
struct mapper_changes {
	uint32_t vns[ILA_CONF_MAX_VNS];
	unsigned nvns;
	struct mapper_moved *moved;
	unsigned nmoved, capmoved;
};

struct listener {
	int fd;
	ev_io io;
	struct mapper *m;
};

struct mapper {
	struct ev_loop *loop;
	struct ila_daemon_opts opts;
	struct ila_conf *conf;
	struct store store;
	struct estore estore;	/* store etcd */
	struct ila_tls_ctx tls;
	bool use_tls;
	struct listener listeners[ILA_CONF_MAX_LISTEN];
	unsigned nlisten;
	struct ila_ctl_server *ctl;
	struct session *sessions;
	struct session *graveyard; /* closed during a callback, freed between events */
	unsigned nsessions;
	unsigned nunauth;		/* sessions not yet past OPEN */
	ev_timer accept_pause_w;	/* listeners paused: out of descriptors */
	bool accept_starved;		/* in an episode of accept() failures (logged once) */
	struct pending_op *pending, **pending_tail;
	unsigned pending_records;
	ev_prepare commit_w;
	ev_timer commit_delay_w;	/* commit delay: the first change waits for others */
	ev_timer push_delay_w;		/* push delay: changes wait to fill a batch */
	uint32_t push_vns[ILA_CONF_MAX_VNS]; /* vns changed since the last push */
	unsigned push_nvns;
	struct ila_record *push_recs; /* ILA_PROTO_MAX_RECORDS + 1, for the frame being built */
	struct push_memo *push_memo;  /* frames built during one push_flush (push.c) */
	unsigned push_nmemo;
	bool push_memo_on;
	ev_timer expiry_w;
	ev_timer trim_w;
	/* store etcd (directory*.c): batches whose transactions are out, the
	 * revision the copy must reach after a conflict before the next batch
	 * is decided, an expiry out, nodes whose failover must be tried again */
	unsigned batches_out;
	int64_t need_rev;
	bool expiry_out;
	bool failover_again[ILA_CONF_MAX_NODES];
	struct ila_daemon_signals signals;
	struct mapper_stats stats;
	struct ila_hist push_latency;	/* commit to PUSH queued (push.c) */
	struct ila_metrics_server *metrics;
	uint64_t started;
	struct mapper_bucket buckets[ILA_CONF_MAX_NODES];
	/* the clock of lifetimes and damping: wall seconds read once at start,
	 * advanced by the monotonic clock (state.c) */
	uint64_t wall_base_s, mono_base_ms;

	/* interests of on-demand nodes (watch.c) */
	struct interest *interests;	/* uthash by store key */
	unsigned watch_count[ILA_CONF_MAX_NODES];
	unsigned long watch_total;
	uint64_t watch_pos;	/* journal position whose watched changes went out */
	ev_timer watch_w;	/* expiry, every second */

	/* the event queue (event.c) */
	struct mapper_ev *ev_head, *ev_tail;
	void (*dispatch)(struct mapper *m, const struct mapper_ev *ev);
};

/* server.c (listeners, accepting, reading) and session.c (state, output) */
int sessions_listen(struct mapper *m, char *err, size_t errlen);
/* After a reload: sessions of nodes no longer configured close, the others
 * follow their node to its new index; subscriptions to removed vns end. */
void sessions_reconfigure(struct mapper *m, const struct ila_conf *old);
void sessions_stop(struct mapper *m);
/* The store is lost: every node session gets ERROR unavailable and closes
 * (no failover: the node goes to another mapper). */
void sessions_unavailable(struct mapper *m, const char *why);
/* Serves a connected, non-blocking socket (accepted, or a test's socketpair). */
int session_adopt(struct mapper *m, int fd, const char *peer);
/* Queues a message to the session; closes it when its queue is over the
 * hard limit. Returns 0 or -ENOBUFS (session closed). */
int session_send(struct session *s, const struct ila_msg *msg);
/* The same for a frame already encoded (len bytes at frame). */
int session_send_frame(struct session *s, const uint8_t *frame, size_t len);
void session_send_error(struct session *s, uint32_t xid, int code, const char *fmt, ...)
	ILA_PRINTF(4, 5);
void session_close(struct session *s, const char *why, bool failover);
/* Restarts writing after frames were queued from outside the read path. */
void session_kick(struct session *s);
/* Frees sessions closed during callbacks; called between loop iterations. */
void sessions_reap(struct mapper *m);
const char *session_node_name(const struct session *s);
int session_node(const struct session *s);
bool session_open(const struct session *s);
size_t session_queued(const struct session *s);
/* For show output. */
struct session_info {
	const char *node;
	const char *peer;
	const char *identity;
	uint64_t up_ms;
	uint64_t frames_in, frames_out;
	size_t queued;
	unsigned nsubs;
	uint32_t keepalive_ms, dead_ms;	/* negotiated in OPEN */
	uint32_t caps;
};
void session_info(const struct session *s, struct session_info *out);
struct session *session_next(const struct mapper *m, const struct session *s);

/* directory.c */
void directory_init(struct mapper *m);
void directory_stop(struct mapper *m);
/* Takes ownership of msg's records. */
void directory_enqueue(struct mapper *m, struct session *s, struct ila_msg *msg);
void directory_commit(struct mapper *m);
/* A node's last session died without a goodbye: promote its standbys. */
void directory_node_failed(struct mapper *m, int node);
void directory_session_gone(struct mapper *m, struct session *s);
/* directory_query.c */
void directory_query(struct mapper *m, struct session *s, const struct ila_msg *msg);
/* directory_etcd.c: store etcd: what the transactions of a write came to
 * (MAPPER_EV_COMMITTED). */
void directory_committed(struct mapper *m, const struct mapper_ev *ev);
/* directory_control.c: 0, -ENOENT, or -errno. */
int directory_unfreeze(struct mapper *m, const struct ila_record *key);
int directory_delete(struct mapper *m, const struct ila_record *key);
/* directory_rules.c: finds the vn of a bare address (first vn whose prefix
 * holds it). */
int directory_vn_of(const struct mapper *m, const struct ila_record *r, uint32_t *vn);

/* push.c */
struct subscription {
	uint32_t vn;
	uint64_t pos;		/* journal position sent */
	bool snapshot;		/* sending the snapshot */
	bool began;		/* the SNAPSHOT_BEGIN frame went out */
	bool have_cursor;
	struct store_key cursor;/* last key of the snapshot sent */
	uint64_t snap_pos;	/* journal position the snapshot started at */
	bool stalled;
};
int push_subscribe(struct mapper *m, struct session *s, const struct ila_msg *msg);
/* Answers ACK, or ERROR not-subscribed. */
int push_unsubscribe(struct mapper *m, struct session *s, const struct ila_msg *msg);
/* Fills the session's queue from snapshots and the journal, up to the push
 * queue limit. Returns the number of frames queued. */
int push_pump(struct mapper *m, struct session *s);
int push_init(struct mapper *m);
void push_free(struct mapper *m);
/* After a commit: every session subscribed to a changed vn is pumped, at
 * once or after the push delay. */
void push_changed(struct mapper *m, const uint32_t *vns, unsigned nvns);
/* Pumps what push_changed() left waiting for the delay. */
void push_flush(struct mapper *m);
/* A journal entry's record as pushed: the mapping as it is now (mp), or
 * removed when the store no longer has it (mp NULL). */
void push_record_of(const struct mapper *m, const struct store_key *k, const struct mapping *mp,
		    struct ila_record *r);
/* A move's previous owner hears of it even when it does not subscribe. */
void push_directed(struct mapper *m, const char *node, const struct mapping *mp);
struct subscription *session_subs(struct session *s, unsigned *n);
/* A zeroed slot, or NULL when the session holds ILA_CONF_MAX_VNS already or
 * memory ran out. Slots move when one is added. */
struct subscription *session_sub_add(struct session *s);
void session_sub_del(struct session *s, struct subscription *sub);

/* watch.c: interests recorded by QUERY flags WATCH and RELEASE */
void watch_init(struct mapper *m);
void watch_stop(struct mapper *m);
/* Records (WATCH) or drops (RELEASE) node's interest in the query's
 * addresses. 0, -EDQUOT (watch max: nothing recorded), -ENOMEM. */
int watch_query(struct mapper *m, int node, const struct ila_msg *msg);
/* After a commit: the changes of watched mappings since the last call go
 * to their watchers (PUSH with WATCHED), in journal order. */
void watch_changed(struct mapper *m, const uint32_t *vns, unsigned nvns);
/* After a reload: interests follow their node to its new index; those of
 * a node removed, or no longer allowed to read the vn, go. */
void watch_reconfigure(struct mapper *m, const struct ila_conf *old);
/* Interests past their lifetime go (the 1 s timer calls it). */
void watch_expire(struct mapper *m);
/* The node's last session here closed: its interests go. */
void watch_node_gone(struct mapper *m, int node);
unsigned watch_count(const struct mapper *m, int node);
bool watch_has(const struct mapper *m, int node, const struct ila_record *r);

/* etcdstore.c */
enum { ESTORE_KEY_OTHER, ESTORE_KEY_MAPPING, ESTORE_KEY_NODE };
int estore_start(struct mapper *m, char *err, size_t errlen);
void estore_stop(struct mapper *m);
/* What a watch message brings, applied to the copy (the fuzz target calls it
 * with events made of its input). */
struct etcd_event;
void estore_watch_events(struct mapper *m, int64_t revision, const struct etcd_event *evs,
			 size_t n);
/* etcdstore_txn.c: sends the recorded changes as conditional transactions; when all are
 * answered, MAPPER_EV_COMMITTED comes with token. 0 or -ENOMEM. */
int estore_commit(struct mapper *m, const struct store_op *ops, size_t nops, void *token);
/* The copy is loaded and holds revision rev or later. */
bool estore_caught_up(const struct mapper *m, int64_t rev);
bool estore_busy(const struct mapper *m, const struct store_key *k);
/* etcdstore_lease.c */
void estore_node_up(struct mapper *m, int node);
void estore_node_down(struct mapper *m, int node, bool failed);
/* The node has a session on some instance. */
bool estore_present(const struct mapper *m, int node);
/* etcdstore_reach.c: ready and not cut off: sessions may open. */
bool estore_usable(const struct mapper *m);
/* etcdstore_codec.c */
uint64_t estore_pos(int64_t rev, unsigned idx);
int64_t estore_pos_rev(uint64_t pos);
size_t estore_key(const struct estore *e, const struct store_key *k, char *buf);
int estore_parse_key(const struct estore *e, const uint8_t *key, size_t len, struct store_key *k,
		     char *name, size_t namelen);

/* show.c */
/* The control sockets, given to owner:group ((uid_t)-1, (gid_t)-1: unchanged). */
int show_open(struct mapper *m, uid_t owner, gid_t group, char *err, size_t errlen);
void show_close(struct mapper *m);
/* The rows of show stats, with their metric names: fills rows[SHOW_STATS_ROWS]. */
#define SHOW_STATS_ROWS 96
struct ila_stat_row;
size_t show_stats_rows(struct mapper *m, struct ila_stat_row *rows);

/* metrics.c: the metrics listen endpoint (before privileges are dropped) */
int metrics_open(struct mapper *m, char *err, size_t errlen);
void metrics_close(struct mapper *m);

/* dispatch.c: what the queue runs for each event (m->dispatch) */
void mapper_run_event(struct mapper *m, const struct mapper_ev *ev);

/* event.c */
/* Queues ev (taking its fields and moved arrays); it runs, in order, from
 * mapper_events_run(), which the loop calls before it waits again. */
void mapper_post(struct mapper *m, const struct mapper_ev *ev);
void mapper_events_run(struct mapper *m);
void mapper_events_free(struct mapper *m);
void mapper_changes_vn(struct mapper_changes *cs, uint32_t vn);
void mapper_changes_move(struct mapper_changes *cs, const char *prev_node,
			 const struct mapping *m);
/* Queues MAPPER_EV_CHANGED with what cs holds (the pushes follow once the
 * current callback is done) and empties cs. */
void mapper_changes_post(struct mapper *m, struct mapper_changes *cs);
/* A line for `ilactl -M monitor`, queued (nothing is built when nobody listens). */
void mapper_event(struct mapper *m, const char *event, const struct ila_record *r,
		  const char *node, const char *detail);

/* state.c */
uint64_t mapper_now_ms(void);
/* Seconds on the wall clock as read at start, advanced by the monotonic
 * clock since: what lifetimes and damping windows are measured with (a step
 * of the system clock moves none of them). */
void mapper_clock_init(struct mapper *m);
uint64_t mapper_now_s(const struct mapper *m);
/* The lifetime left of a stored mapping (REPLY, PUSH), at least 1. */
uint32_t mapper_lifetime_left(const struct mapper *m, const struct mapping *mp);
const struct ila_conf_vn *mapper_vn(const struct mapper *m, uint32_t id);
const char *mapper_vn_name(const struct mapper *m, uint32_t id);
const char *mapper_rec_addr(const struct ila_record *r, char *buf, size_t len);

#endif
