/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd client: what its files share (limits, gRPC codes, state, functions); not for its users. */
#ifndef ILA_ETCD_INT_H
#define ILA_ETCD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <ev.h>
#include <json-c/json.h>

#include "buf.h"
#include "etcd.h"
#include "util.h"

/*
 * The gateway answers a unary call (range, txn, lease grant and revoke,
 * status) with one JSON object and HTTP 200, or with
 *   {"error":"...","message":"...","code":N}        N: gRPC status code
 * and an HTTP status derived from it. A streaming call (watch, lease
 * keepalive) answers HTTP 200 and then newline-terminated objects, each
 *   {"result":{...}}  or  {"error":{"grpc_code":N,"http_code":H,"message":"...","http_status":"..."}}
 * Integers of 64 bits are JSON strings, bytes are base64 (with padding), and a
 * field holding its zero value (0, false, "", empty list) is left out.
 */

#define ETCD_JSON_DEPTH 16
#define ETCD_WATCH_RETRY_MIN_MS 50u
#define ETCD_TCP_KEEPIDLE_S 10L
#define ETCD_TCP_KEEPINTVL_S 5L
#define ETCD_MAX_KEY_LEN (16u << 20) /* far above etcd's request limit (1.5 MiB) */

/* gRPC status codes the gateway reports */
#define GRPC_CANCELED 1
#define GRPC_UNKNOWN 2
#define GRPC_INVALID_ARGUMENT 3
#define GRPC_DEADLINE_EXCEEDED 4
#define GRPC_NOT_FOUND 5
#define GRPC_PERMISSION_DENIED 7
#define GRPC_FAILED_PRECONDITION 9
#define GRPC_OUT_OF_RANGE 11
#define GRPC_UNIMPLEMENTED 12
#define GRPC_UNAVAILABLE 14
#define GRPC_UNAUTHENTICATED 16

/* ------------------------------------------------------------------ */
/* state */

struct etcd_sock {
	ev_io io;
	struct etcd *e;
	curl_socket_t fd;
	struct etcd_sock *next, *prev;
};

enum etcd_xfer_owner {
	ETCD_XFER_REQ,
	ETCD_XFER_WATCH,
};

/* One HTTP exchange on one curl easy handle. */
struct etcd_xfer {
	enum etcd_xfer_owner owner;
	CURL *easy;
	bool in_multi;
	char *body;
	size_t body_len;
	size_t body_off;
	bool maybe_sent;	/* body bytes were handed to curl: etcd may have it */
	bool rewind_ok;		/* curl may send the body again (idempotent) */
	bool any_member;	/* a member without a leader may answer (serializable, status) */
	bool too_big;
	size_t ep;
	struct ila_buf resp;
	char errbuf[CURL_ERROR_SIZE];
};

struct etcd_req {
	struct etcd_xfer x; /* first: CURLOPT_PRIVATE points here */
	struct etcd *e;
	enum etcd_answer kind;
	const char *path;
	bool idempotent;
	bool pinned;		/* status: this endpoint, no failover */
	unsigned attempts;
	union {
		etcd_range_cb range;
		etcd_txn_cb txn;
		etcd_lease_cb lease;
		etcd_status_cb status;
	} cb;
	void *arg;
	/* txn: the op types of each branch, to check the answer against */
	enum etcd_op_type *branch_types[2]; /* [0] failure, [1] success */
	size_t branch_n[2];
	struct etcd_req *next, *prev;
};

enum etcd_watch_phase {
	ETCD_WATCH_WAITING,	/* no stream; the timer opens one */
	ETCD_WATCH_CONNECTING,	/* stream open, "created" not yet seen; the timer bounds it */
	ETCD_WATCH_RUNNING,
	ETCD_WATCH_OVER,	/* compacted, refused or canceled by etcd */
};

struct etcd_watch {
	struct etcd_xfer x; /* first: CURLOPT_PRIVATE points here */
	struct etcd *e;
	uint8_t *key;
	size_t key_len;
	uint8_t *range_end;
	size_t range_end_len;
	int64_t start_revision;
	bool prev_kv;
	bool progress_notify;
	etcd_watch_events_cb on_events;
	etcd_watch_compacted_cb on_compacted;
	etcd_watch_state_cb on_state;
	void *arg;

	enum etcd_watch_phase phase;
	int64_t next_rev;	/* 0: from now (nothing asked for yet) */
	int64_t last_rev;	/* last revision delivered */
	bool created_once;
	bool lost;		/* LOST told, RESUMED not yet */
	bool restart;		/* its endpoint failed: move */
	bool canceled;
	bool queued;		/* unparsed stream bytes */
	size_t partial;		/* bytes of x.resp after its last newline */
	long http_status;
	unsigned busy;		/* depth of calls into the owner */
	unsigned backoff_ms;
	ev_timer timer;
	struct etcd_watch *next, *prev;
};

struct etcd {
	struct ev_loop *loop;
	char *name;
	char *endpoints[ETCD_MAX_ENDPOINTS];
	size_t n_endpoints;
	size_t cur;
	char *ca_file, *cert_file, *key_file;
	unsigned request_timeout_ms;
	unsigned connect_timeout_ms;
	unsigned max_requests;
	size_t max_response;
	unsigned watch_retry_max_ms;

	CURLM *multi;
	struct curl_slist *headers;		/* asks for a member with a leader */
	struct curl_slist *headers_any;		/* any member may answer */
	ev_timer curl_timer;
	struct etcd_sock *socks;
	struct etcd_req *reqs;
	unsigned n_reqs;
	struct etcd_watch *watches;
	bool closing;
	unsigned in_callback;
	struct etcd_counters ctr;
};

/* One message of a watch stream. */
struct etcd_watch_msg {
	struct etcd_header header;
	bool created;
	bool canceled;
	int64_t compact_revision;
	const char *cancel_reason;
	struct etcd_event *events;
	size_t n_events;
	char *reason_copy;
};

/* json.c */
enum etcd_err etcd_set_err(struct etcd_error *err, enum etcd_err kind, int code,
			   const char *fmt, ...) ILA_PRINTF(4, 5);
#define etcd_bad(err, ...) etcd_set_err((err), ETCD_ERR_MALFORMED, 0, __VA_ARGS__)

int etcd_b64_add(struct json_object *o, const char *k, const uint8_t *p, size_t n);
int etcd_json_add(struct json_object *o, const char *k, struct json_object *v);
int etcd_json_add_i64(struct json_object *o, const char *k, int64_t v);
int etcd_json_add_bool(struct json_object *o, const char *k, bool v);
char *etcd_json_finish(struct json_object *o, size_t *len);
struct json_object *etcd_json_parse(const char *body, size_t len, struct etcd_error *err);
bool etcd_get_i64(struct json_object *o, const char *k, int64_t min, int64_t *out,
		  struct etcd_error *err, const char *path);
bool etcd_get_u64(struct json_object *o, const char *k, uint64_t *out,
		  struct etcd_error *err, const char *path);
bool etcd_get_bool(struct json_object *o, const char *k, bool *out,
		   struct etcd_error *err, const char *path);
bool etcd_get_obj(struct json_object *o, const char *k, struct json_object **out,
		  struct etcd_error *err, const char *path);
bool etcd_get_array(struct json_object *o, const char *k, struct json_object **out,
		    size_t *n, struct etcd_error *err, const char *path);
bool etcd_get_str(struct json_object *o, const char *k, const char **out,
		  struct etcd_error *err, const char *path);
bool etcd_get_bytes(struct json_object *o, const char *k, uint8_t **out, size_t *len,
		    struct etcd_error *err, const char *path);

/* answer.c */
void etcd_range_result_clear(struct etcd_range_result *r);
bool etcd_parse_range_body(struct json_object *o, struct etcd_range_result *r,
			   struct etcd_error *err, const char *path);
void etcd_txn_result_clear(struct etcd_txn_result *t);
bool etcd_parse_txn_body(struct json_object *o, struct etcd_txn_result *t,
			 enum etcd_op_type *const types[2], const size_t ntypes[2],
			 struct etcd_error *err);
enum etcd_err etcd_parse_error_body(const char *body, size_t len, long http,
				    struct etcd_error *err);
enum etcd_err etcd_parse_lease(enum etcd_answer kind, const char *body, size_t len,
			       struct etcd_lease_result *res, struct etcd_error *err);
void etcd_status_result_clear(struct etcd_status_result *s);
enum etcd_err etcd_parse_status(const char *body, size_t len,
				struct etcd_status_result *s, struct etcd_error *err);
void etcd_watch_msg_clear(struct etcd_watch_msg *m);
enum etcd_err etcd_parse_watch_msg(const char *line, size_t len, struct etcd_watch_msg *m,
				   struct etcd_error *err);

/* etcd.c */
void etcd_xfer_stop(struct etcd *e, struct etcd_xfer *x);
void etcd_xfer_free(struct etcd *e, struct etcd_xfer *x);
int etcd_xfer_start(struct etcd *e, struct etcd_xfer *x, size_t ep, const char *path,
		    bool stream);
void etcd_endpoint_failed(struct etcd *e, size_t ep, const char *why);

/* kv.c */
void etcd_req_unlink(struct etcd *e, struct etcd_req *r);
void etcd_req_deliver(struct etcd *e, struct etcd_req *r, struct etcd_error *err);
void etcd_req_done(struct etcd *e, struct etcd_req *r, CURLcode cc);
bool etcd_key_ok(const uint8_t *key, size_t len);
bool etcd_end_ok(const uint8_t *end, size_t len);

/* watch.c */
void etcd_watch_free(struct etcd_watch *w);
bool etcd_watch_drain(struct etcd_watch *w);
void etcd_watch_done(struct etcd_watch *w, CURLcode cc);
void etcd_watch_endpoint_failed(struct etcd *e, size_t ep);

#endif
