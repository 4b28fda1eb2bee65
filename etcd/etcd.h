/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd v3 client: etcd's JSON gateway over HTTP/1.1, libcurl's multi interface on libev. */
#ifndef ILA_ETCD_H
#define ILA_ETCD_H

/*
 * Every operation is asynchronous: it returns 0 once started and calls its
 * callback exactly once, later, from the event loop (never from inside the
 * call), or returns a negative errno and calls nothing (-EINVAL bad
 * arguments, -EBUSY max_requests already in flight, -ENOMEM).
 *
 * Results handed to a callback (and every byte they point to) live until
 * the callback returns; copy what you keep. A callback may start new
 * operations and cancel watches, but must not call etcd_free().
 *
 * Keys, values and range ends are bytes (etcd's keys are byte strings);
 * every key and value in a result is also NUL-terminated for convenience
 * (the NUL is not counted in its length).
 *
 * Failures are classified so that the caller can act on them:
 *   ETCD_ERR_UNAVAILABLE  no endpoint answered (connection refused, reset,
 *                         TLS failure, HTTP 5xx, gRPC "unavailable": no
 *                         leader, member stopping). Reads, and writes that
 *                         certainly did not reach etcd, were already sent
 *                         once more to the next endpoint.
 *   ETCD_ERR_TIMEOUT      no answer within request_timeout_ms, or etcd
 *                         gave up waiting (for a quorum, for a leader).
 *   ETCD_ERR_ETCD         etcd refused the request: err->code is the gRPC
 *                         status code, err->msg etcd's message.
 *   ETCD_ERR_COMPACTED    the revision asked for was compacted; err->revision
 *                         is the compact revision when etcd says it.
 *   ETCD_ERR_LEASE_GONE   the lease does not exist (expired or revoked).
 *   ETCD_ERR_OUTCOME_UNKNOWN  a transaction (or lease grant, lease revoke)
 *                         may or may not have been applied: it reached etcd
 *                         and no definitive answer came back (transport
 *                         failure, timeout, unavailable, an unreadable or
 *                         too large answer). It is never retried here; the
 *                         caller reads the state back and decides.
 *   ETCD_ERR_MALFORMED    the answer did not validate (JSON types, base64,
 *                         integer ranges); err->msg says where.
 *   ETCD_ERR_TOO_BIG      the answer exceeded max_response_bytes.
 *   ETCD_ERR_CANCELED     etcd_free() ran with the operation pending (for a
 *                         transaction: its outcome is unknown).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct etcd;
struct etcd_watch;

#define ETCD_MAX_ENDPOINTS 16
#define ETCD_ERR_MSG_LEN 256

struct etcd_conf {
	const char *name;			/* in log messages ("etcd NAME: ...") */
	const char *const *endpoints;		/* http://HOST:PORT or https://HOST:PORT */
	size_t n_endpoints;			/* 1..ETCD_MAX_ENDPOINTS */
	const char *ca_file;			/* https: CA of the members' certificates */
	const char *cert_file;			/* https: client certificate (or NULL) */
	const char *key_file;			/* its key */
	unsigned request_timeout_ms;		/* each attempt of a request (default 5000) */
	unsigned connect_timeout_ms;		/* TCP+TLS connect (default 1000) */
	unsigned max_requests;			/* in flight, watches not counted (default 256) */
	size_t max_response_bytes;		/* an answer or one watch message (default 64 MiB) */
	unsigned watch_retry_max_ms;		/* watch reconnect backoff ceiling (default 2000) */
};

#define ETCD_DEFAULT_REQUEST_TIMEOUT_MS 5000u
#define ETCD_DEFAULT_CONNECT_TIMEOUT_MS 1000u
#define ETCD_DEFAULT_MAX_REQUESTS 256u
#define ETCD_DEFAULT_MAX_RESPONSE_BYTES (64u << 20)
#define ETCD_DEFAULT_WATCH_RETRY_MAX_MS 2000u

enum etcd_err {
	ETCD_OK = 0,
	ETCD_ERR_UNAVAILABLE,
	ETCD_ERR_TIMEOUT,
	ETCD_ERR_ETCD,
	ETCD_ERR_COMPACTED,
	ETCD_ERR_LEASE_GONE,
	ETCD_ERR_OUTCOME_UNKNOWN,
	ETCD_ERR_MALFORMED,
	ETCD_ERR_TOO_BIG,
	ETCD_ERR_CANCELED,
	ETCD_ERR__COUNT
};

struct etcd_error {
	enum etcd_err kind;
	int code;		/* gRPC status code for ETCD_ERR_ETCD (and others when known), else 0 */
	int64_t revision;	/* ETCD_ERR_COMPACTED: compact revision if known */
	char msg[ETCD_ERR_MSG_LEN];
};

/* "ok", "unavailable", "timeout", "etcd", "compacted", "lease-gone", ... */
const char *etcd_err_name(enum etcd_err kind);

struct etcd_counters {
	uint64_t requests;		/* operations started (watch streams not counted) */
	uint64_t ok;			/* operations answered with success */
	uint64_t errors[ETCD_ERR__COUNT]; /* operations failed, by class reported */
	uint64_t retries;		/* reads sent again on the next endpoint */
	uint64_t failovers;		/* switches of the current endpoint */
	uint64_t too_big;		/* answers refused for their size (any op, watches too) */
	uint64_t malformed;		/* answers that did not validate (any op, watches too) */
	uint64_t watch_streams;		/* watch streams opened (first and reconnections) */
	uint64_t watch_reconnects;	/* watch streams lost and opened again */
	uint64_t watch_events;		/* events delivered to watch owners */
	uint64_t bytes_sent;		/* request bodies */
	uint64_t bytes_received;	/* answer bodies, watch streams included */
};

/* etcd's ResponseHeader. */
struct etcd_header {
	uint64_t cluster_id;
	uint64_t member_id;
	int64_t revision;
	uint64_t raft_term;
};

struct etcd_kv {
	uint8_t *key;
	size_t key_len;
	uint8_t *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

struct etcd *etcd_new(struct ev_loop *loop, const struct etcd_conf *conf, char *err,
		      size_t errlen);
/* Calls every pending operation's callback with ETCD_ERR_CANCELED, frees the
 * remaining watches without calling them, closes every connection. */
void etcd_free(struct etcd *e);

const struct etcd_counters *etcd_counters(const struct etcd *e);
size_t etcd_endpoint_count(const struct etcd *e);
const char *etcd_endpoint_url(const struct etcd *e, size_t i);
/* The endpoint requests go to now. */
size_t etcd_endpoint_current(const struct etcd *e);

/*
 * The range end that selects every key starting with prefix: the prefix with
 * its last byte below 0xff incremented and what follows dropped; "\0" (one
 * zero byte: every key from prefix on) when there is no such byte. out must
 * hold len bytes (1 at least). Returns the length written.
 */
size_t etcd_prefix_end(const uint8_t *prefix, size_t len, uint8_t *out);

/* ---- range ---- */

struct etcd_range_req {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *range_end;	/* NULL: the key alone */
	size_t range_end_len;
	int64_t revision;		/* 0: latest */
	int64_t limit;			/* 0: no limit */
	bool keys_only;
	bool count_only;
	bool serializable;		/* answered by the member alone, may be stale */
};

struct etcd_range_result {
	struct etcd_header header;
	struct etcd_kv *kvs;
	size_t n_kvs;
	bool more;			/* limit stopped the range */
	int64_t count;			/* keys in the range (all of them, not only kvs) */
};

typedef void (*etcd_range_cb)(void *arg, const struct etcd_error *err,
			      const struct etcd_range_result *res);
int etcd_range(struct etcd *e, const struct etcd_range_req *req, etcd_range_cb cb, void *arg);

/* ---- txn ---- */

enum etcd_cmp_target {
	ETCD_CMP_VERSION,
	ETCD_CMP_CREATE,
	ETCD_CMP_MOD,
	ETCD_CMP_VALUE,
	ETCD_CMP_LEASE,
};

enum etcd_cmp_result {
	ETCD_CMP_EQUAL,
	ETCD_CMP_GREATER,
	ETCD_CMP_LESS,
	ETCD_CMP_NOT_EQUAL,
};

struct etcd_compare {
	enum etcd_cmp_target target;
	enum etcd_cmp_result result;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *range_end;	/* NULL: the key alone */
	size_t range_end_len;
	int64_t number;			/* VERSION, CREATE, MOD: revision or version; LEASE: id */
	const uint8_t *value;		/* VALUE */
	size_t value_len;
};

enum etcd_op_type {
	ETCD_OP_RANGE,
	ETCD_OP_PUT,
	ETCD_OP_DELETE_RANGE,
};

struct etcd_op {
	enum etcd_op_type type;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *range_end;	/* RANGE, DELETE_RANGE: NULL for the key alone */
	size_t range_end_len;
	const uint8_t *value;		/* PUT */
	size_t value_len;
	int64_t lease;			/* PUT: 0 for none */
	bool prev_kv;			/* PUT, DELETE_RANGE: return what was there */
	int64_t revision;		/* RANGE: 0 latest */
	int64_t limit;			/* RANGE */
	bool keys_only;			/* RANGE */
	bool count_only;		/* RANGE */
};

struct etcd_txn_req {
	const struct etcd_compare *compare;
	size_t n_compare;
	const struct etcd_op *success;
	size_t n_success;
	const struct etcd_op *failure;
	size_t n_failure;
};

struct etcd_op_result {
	enum etcd_op_type type;
	int64_t revision;		/* its header's revision */
	struct etcd_kv *prev_kv;	/* PUT with prev_kv: NULL if the key was new */
	int64_t deleted;		/* DELETE_RANGE */
	struct etcd_kv *prev_kvs;	/* DELETE_RANGE with prev_kv */
	size_t n_prev_kvs;
	struct etcd_range_result range; /* RANGE (range.header: revision only) */
};

struct etcd_txn_result {
	struct etcd_header header;
	bool succeeded;
	struct etcd_op_result *responses;	/* of the branch taken, in order */
	size_t n_responses;
};

typedef void (*etcd_txn_cb)(void *arg, const struct etcd_error *err,
			    const struct etcd_txn_result *res);
/* Never retried once it may have reached etcd (ETCD_ERR_OUTCOME_UNKNOWN). */
int etcd_txn(struct etcd *e, const struct etcd_txn_req *req, etcd_txn_cb cb, void *arg);

/* ---- leases ---- */

struct etcd_lease_result {
	struct etcd_header header;
	int64_t id;
	int64_t ttl;		/* seconds granted, or left after a keepalive */
};

typedef void (*etcd_lease_cb)(void *arg, const struct etcd_error *err,
			      const struct etcd_lease_result *res);
/* id 0: etcd picks one. */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t id, etcd_lease_cb cb, void *arg);
/* One refresh. A lease that no longer exists is ETCD_ERR_LEASE_GONE. */
int etcd_lease_keepalive(struct etcd *e, int64_t id, etcd_lease_cb cb, void *arg);
/* res->id and res->ttl are 0. Unknown lease: ETCD_ERR_LEASE_GONE. */
int etcd_lease_revoke(struct etcd *e, int64_t id, etcd_lease_cb cb, void *arg);

/* ---- status of one endpoint (no failover: it is about that member) ---- */

struct etcd_status_result {
	struct etcd_header header;	/* header.member_id: the member answering */
	size_t endpoint;
	const char *version;		/* etcd's version string */
	int64_t db_size;
	int64_t db_size_in_use;
	uint64_t leader;		/* member id of the leader, 0 if none */
	uint64_t raft_index;
	uint64_t raft_term;
	uint64_t raft_applied_index;
	bool is_learner;
	const char *const *errors;	/* alarms etcd reports (e.g. NOSPACE) */
	size_t n_errors;
};

typedef void (*etcd_status_cb)(void *arg, const struct etcd_error *err,
			       const struct etcd_status_result *res);
int etcd_status(struct etcd *e, size_t endpoint, etcd_status_cb cb, void *arg);

/* ---- watch ---- */

enum etcd_event_type {
	ETCD_EVENT_PUT,
	ETCD_EVENT_DELETE,
};

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;		/* DELETE: key and mod_revision only */
	struct etcd_kv *prev_kv;	/* with prev_kv, when there was one */
};

enum etcd_watch_state {
	ETCD_WATCH_CREATED,	/* etcd accepted the watch (first stream) */
	ETCD_WATCH_LOST,	/* the stream broke (err says why); reconnecting */
	ETCD_WATCH_RESUMED,	/* a new stream runs from the next revision not seen */
	ETCD_WATCH_FAILED,	/* etcd refused or canceled it; it is over (err); cancel it */
};

/*
 * events: n events in revision order, none seen before. n is 0 for a
 * progress notification: every event up to revision was delivered.
 * revision: the header revision of the message.
 */
typedef void (*etcd_watch_events_cb)(void *arg, int64_t revision,
				     const struct etcd_event *events, size_t n);
/*
 * The revision to watch from is compacted: events between it and
 * compact_revision are gone. The watch is over (no more callbacks; free it
 * with etcd_watch_cancel()); read a snapshot and watch again from its
 * revision + 1.
 */
typedef void (*etcd_watch_compacted_cb)(void *arg, int64_t compact_revision);
typedef void (*etcd_watch_state_cb)(void *arg, enum etcd_watch_state state,
				    const struct etcd_error *err);

struct etcd_watch_req {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *range_end;	/* NULL: the key alone; etcd_prefix_end() */
	size_t range_end_len;
	int64_t start_revision;		/* 0: from now */
	bool prev_kv;
	bool progress_notify;
	etcd_watch_events_cb on_events;
	etcd_watch_compacted_cb on_compacted;
	etcd_watch_state_cb on_state;
	void *arg;
};

/*
 * Watches until canceled. A broken stream is opened again on the next
 * endpoint from the revision after the last one delivered, with backoff;
 * no event is skipped or delivered twice. Returns NULL (and says why in err)
 * on bad arguments or memory.
 */
struct etcd_watch *etcd_watch(struct etcd *e, const struct etcd_watch_req *req, char *err,
			      size_t errlen);
/* No callback of w runs after this (it may be called from w's own callbacks). */
void etcd_watch_cancel(struct etcd_watch *w);
/*
 * The revision a new stream would start from: after the last event
 * delivered, or that of the last progress notification.
 */
int64_t etcd_watch_next_revision(const struct etcd_watch *w);

/* ---- for tests and the fuzz target ---- */

enum etcd_answer {
	ETCD_ANSWER_RANGE,
	ETCD_ANSWER_TXN,
	ETCD_ANSWER_LEASE_GRANT,
	ETCD_ANSWER_LEASE_KEEPALIVE,
	ETCD_ANSWER_LEASE_REVOKE,
	ETCD_ANSWER_STATUS,
	ETCD_ANSWER_WATCH,		/* one message of the watch stream */
	ETCD_ANSWER_ERROR,		/* the gateway's error body (HTTP 4xx/5xx) */
	ETCD_ANSWER__COUNT
};

/*
 * Parses and validates body as the answer kind, then discards it. Returns
 * ETCD_OK or the class the client would report, with err filled.
 */
enum etcd_err etcd_parse_answer(enum etcd_answer kind, const char *body, size_t len,
				struct etcd_error *err);

#endif
