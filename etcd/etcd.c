/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd v3 client: requests, watches and endpoint failover over etcd's JSON gateway. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <json-c/json.h>
#include <sodium.h>

#include "buf.h"
#include "clock.h"
#include "etcd.h"
#include "log.h"

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

static const char *const etcd_err_names[ETCD_ERR__COUNT] = {
	[ETCD_OK] = "ok",
	[ETCD_ERR_UNAVAILABLE] = "unavailable",
	[ETCD_ERR_TIMEOUT] = "timeout",
	[ETCD_ERR_ETCD] = "etcd",
	[ETCD_ERR_COMPACTED] = "compacted",
	[ETCD_ERR_LEASE_GONE] = "lease-gone",
	[ETCD_ERR_OUTCOME_UNKNOWN] = "outcome-unknown",
	[ETCD_ERR_MALFORMED] = "malformed",
	[ETCD_ERR_TOO_BIG] = "too-big",
	[ETCD_ERR_CANCELED] = "canceled",
};

const char *etcd_err_name(enum etcd_err kind)
{
	if ((unsigned)kind >= ETCD_ERR__COUNT)
		return "?";
	return etcd_err_names[kind];
}

static enum etcd_err etcd_set_err(struct etcd_error *err, enum etcd_err kind, int code,
				  const char *fmt, ...) ILA_PRINTF(4, 5);

static enum etcd_err etcd_set_err(struct etcd_error *err, enum etcd_err kind, int code,
				  const char *fmt, ...)
{
	va_list ap;

	err->kind = kind;
	err->code = code;
	err->revision = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return kind;
}

#define etcd_bad(err, ...) etcd_set_err((err), ETCD_ERR_MALFORMED, 0, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* base64 (libsodium, the original alphabet with padding, as protobuf's JSON) */

static int etcd_b64_add(struct json_object *o, const char *k, const uint8_t *p, size_t n)
{
	size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	struct json_object *v;

	if (!s)
		return -ENOMEM;
	sodium_bin2base64(s, cap, p ? p : (const uint8_t *)"", n, sodium_base64_VARIANT_ORIGINAL);
	v = json_object_new_string_len(s, (int)(cap - 1));
	free(s);
	if (!v || json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* Decodes into a new NUL-terminated buffer; false if s is not valid base64. */
static bool etcd_b64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	size_t max = n / 4 * 3 + 3;
	const char *end = NULL;
	uint8_t *b = malloc(max + 1);

	if (!b)
		return false;
	*outlen = 0;
	if (n > 0 && (sodium_base642bin(b, max, s, n, NULL, outlen, &end,
					sodium_base64_VARIANT_ORIGINAL) != 0 ||
		      end != s + n)) {
		free(b);
		return false;
	}
	b[*outlen] = '\0';
	*out = b;
	return true;
}

/* ------------------------------------------------------------------ */
/* building request bodies (json-c) */

static int etcd_json_add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* int64 as a JSON string, as protobuf's JSON mapping writes it */
static int etcd_json_add_i64(struct json_object *o, const char *k, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return etcd_json_add(o, k, json_object_new_string(s));
}

static int etcd_json_add_bool(struct json_object *o, const char *k, bool v)
{
	if (!v)
		return 0;
	return etcd_json_add(o, k, json_object_new_boolean(1));
}

static char *etcd_json_finish(struct json_object *o, size_t *len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	char *copy = s ? strdup(s) : NULL;

	if (copy)
		*len = strlen(copy);
	json_object_put(o);
	return copy;
}

/* ------------------------------------------------------------------ */
/* reading answers: every field checked before use */

static struct json_object *etcd_json_parse(const char *body, size_t len, struct etcd_error *err)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (len > INT32_MAX) {
		etcd_bad(err, "answer of %zu bytes", len);
		return NULL;
	}
	tok = json_tokener_new_ex(ETCD_JSON_DEPTH);
	if (!tok) {
		etcd_bad(err, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (!o) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		if (je == json_tokener_continue)
			etcd_bad(err, "answer ends inside its JSON");
		else
			etcd_bad(err, "answer is not JSON: %s", json_tokener_error_desc(je));
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < len; end++) {
		char c = body[end];

		if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
			etcd_bad(err, "bytes after the JSON answer");
			json_object_put(o);
			return NULL;
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		etcd_bad(err, "answer is not a JSON object");
		json_object_put(o);
		return NULL;
	}
	return o;
}

static bool etcd_dec_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* The decimal text of an integer field: a JSON string or a JSON integer. */
static bool etcd_json_int_text(struct json_object *v, const char **s, size_t *n)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		*s = json_object_get_string(v);
		*n = (size_t)json_object_get_string_len(v);
		return *s != NULL;
	case json_type_int:
		*s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		*n = *s ? strlen(*s) : 0;
		return *s != NULL;
	default:
		return false;
	}
}

/* An int64 field within [min, INT64_MAX]; absent means 0 (missing if min > 0). */
static bool etcd_get_i64(struct json_object *o, const char *k, int64_t min, int64_t *out,
			 struct etcd_error *err, const char *path)
{
	struct json_object *v;
	const char *s;
	size_t n;
	uint64_t u;
	bool neg;

	*out = 0;
	if (!json_object_object_get_ex(o, k, &v) || !v) {
		if (min > 0) {
			etcd_bad(err, "%s%s: missing", path, k);
			return false;
		}
		return true;
	}
	if (!etcd_json_int_text(v, &s, &n)) {
		etcd_bad(err, "%s%s: not an integer", path, k);
		return false;
	}
	neg = n > 0 && s[0] == '-';
	if (!etcd_dec_u64(s + neg, n - neg, &u) ||
	    u > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) {
		etcd_bad(err, "%s%s: not a 64-bit integer", path, k);
		return false;
	}
	*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	if (*out < min) {
		etcd_bad(err, "%s%s: %" PRId64 " is below %" PRId64, path, k, *out, min);
		return false;
	}
	return true;
}

static bool etcd_get_u64(struct json_object *o, const char *k, uint64_t *out,
			 struct etcd_error *err, const char *path)
{
	struct json_object *v;
	const char *s;
	size_t n;

	*out = 0;
	if (!json_object_object_get_ex(o, k, &v) || !v)
		return true;
	if (!etcd_json_int_text(v, &s, &n) || !etcd_dec_u64(s, n, out)) {
		etcd_bad(err, "%s%s: not an unsigned 64-bit integer", path, k);
		return false;
	}
	return true;
}

static bool etcd_get_bool(struct json_object *o, const char *k, bool *out,
			  struct etcd_error *err, const char *path)
{
	struct json_object *v;

	*out = false;
	if (!json_object_object_get_ex(o, k, &v) || !v)
		return true;
	if (!json_object_is_type(v, json_type_boolean)) {
		etcd_bad(err, "%s%s: not a boolean", path, k);
		return false;
	}
	*out = json_object_get_boolean(v);
	return true;
}

/* Optional object field: *out NULL when absent. */
static bool etcd_get_obj(struct json_object *o, const char *k, struct json_object **out,
			 struct etcd_error *err, const char *path)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, k, &v) || !v)
		return true;
	if (!json_object_is_type(v, json_type_object)) {
		etcd_bad(err, "%s%s: not an object", path, k);
		return false;
	}
	*out = v;
	return true;
}

/* Optional array field: *out NULL when absent. */
static bool etcd_get_array(struct json_object *o, const char *k, struct json_object **out,
			   size_t *n, struct etcd_error *err, const char *path)
{
	struct json_object *v;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, k, &v) || !v)
		return true;
	if (!json_object_is_type(v, json_type_array)) {
		etcd_bad(err, "%s%s: not an array", path, k);
		return false;
	}
	*out = v;
	*n = json_object_array_length(v);
	return true;
}

/* Optional string field: *out "" when absent. */
static bool etcd_get_str(struct json_object *o, const char *k, const char **out,
			 struct etcd_error *err, const char *path)
{
	struct json_object *v;

	*out = "";
	if (!json_object_object_get_ex(o, k, &v) || !v)
		return true;
	if (!json_object_is_type(v, json_type_string)) {
		etcd_bad(err, "%s%s: not a string", path, k);
		return false;
	}
	*out = json_object_get_string(v);
	return true;
}

/* Optional bytes field (base64): a new NUL-terminated buffer, empty when absent. */
static bool etcd_get_bytes(struct json_object *o, const char *k, uint8_t **out, size_t *len,
			   struct etcd_error *err, const char *path)
{
	struct json_object *v;

	*out = NULL;
	*len = 0;
	if (!json_object_object_get_ex(o, k, &v) || !v) {
		if (etcd_b64_decode("", 0, out, len))
			return true;
		etcd_bad(err, "out of memory");
		return false;
	}
	if (!json_object_is_type(v, json_type_string)) {
		etcd_bad(err, "%s%s: not a string", path, k);
		return false;
	}
	if (!etcd_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
			     out, len)) {
		etcd_bad(err, "%s%s: not base64", path, k);
		return false;
	}
	return true;
}

static bool etcd_parse_header(struct json_object *o, struct etcd_header *h,
			      struct etcd_error *err, const char *path)
{
	struct json_object *ho;
	char p[64];

	memset(h, 0, sizeof(*h));
	if (!etcd_get_obj(o, "header", &ho, err, path))
		return false;
	if (!ho)
		return true;
	snprintf(p, sizeof(p), "%sheader.", path);
	return etcd_get_u64(ho, "cluster_id", &h->cluster_id, err, p) &&
	       etcd_get_u64(ho, "member_id", &h->member_id, err, p) &&
	       etcd_get_i64(ho, "revision", 0, &h->revision, err, p) &&
	       etcd_get_u64(ho, "raft_term", &h->raft_term, err, p);
}

static void etcd_kv_clear(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static void etcd_kvs_free(struct etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		etcd_kv_clear(&kvs[i]);
	free(kvs);
}

static bool etcd_parse_kv(struct json_object *o, struct etcd_kv *kv, bool need_key,
			  struct etcd_error *err, const char *path)
{
	char p[64];

	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(o, json_type_object)) {
		etcd_bad(err, "%s: not an object", path);
		return false;
	}
	snprintf(p, sizeof(p), "%s.", path);
	if (!etcd_get_bytes(o, "key", &kv->key, &kv->key_len, err, p) ||
	    !etcd_get_bytes(o, "value", &kv->value, &kv->value_len, err, p) ||
	    !etcd_get_i64(o, "create_revision", 0, &kv->create_revision, err, p) ||
	    !etcd_get_i64(o, "mod_revision", 0, &kv->mod_revision, err, p) ||
	    !etcd_get_i64(o, "version", 0, &kv->version, err, p) ||
	    !etcd_get_i64(o, "lease", 0, &kv->lease, err, p)) {
		etcd_kv_clear(kv);
		return false;
	}
	if (need_key && kv->key_len == 0) {
		etcd_bad(err, "%s.key: missing", path);
		etcd_kv_clear(kv);
		return false;
	}
	return true;
}

/* An array field of KeyValue. */
static bool etcd_parse_kvs(struct json_object *o, const char *k, struct etcd_kv **out,
			   size_t *n_out, struct etcd_error *err, const char *path)
{
	struct json_object *a;
	size_t n;
	struct etcd_kv *kvs;

	*out = NULL;
	*n_out = 0;
	if (!etcd_get_array(o, k, &a, &n, err, path))
		return false;
	if (n == 0)
		return true;
	kvs = calloc(n, sizeof(*kvs));
	if (!kvs) {
		etcd_bad(err, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char p[64];

		snprintf(p, sizeof(p), "%s%s[%zu]", path, k, i);
		if (!etcd_parse_kv(json_object_array_get_idx(a, i), &kvs[i], true, err, p)) {
			etcd_kvs_free(kvs, i);
			return false;
		}
	}
	*out = kvs;
	*n_out = n;
	return true;
}

static void etcd_range_result_clear(struct etcd_range_result *r)
{
	etcd_kvs_free(r->kvs, r->n_kvs);
	memset(r, 0, sizeof(*r));
}

static bool etcd_parse_range_body(struct json_object *o, struct etcd_range_result *r,
				  struct etcd_error *err, const char *path)
{
	memset(r, 0, sizeof(*r));
	if (!etcd_parse_header(o, &r->header, err, path) ||
	    !etcd_get_bool(o, "more", &r->more, err, path) ||
	    !etcd_get_i64(o, "count", 0, &r->count, err, path) ||
	    !etcd_parse_kvs(o, "kvs", &r->kvs, &r->n_kvs, err, path))
		return false;
	return true;
}

static void etcd_txn_result_clear(struct etcd_txn_result *t)
{
	for (size_t i = 0; i < t->n_responses; i++) {
		struct etcd_op_result *op = &t->responses[i];

		if (op->prev_kv) {
			etcd_kv_clear(op->prev_kv);
			free(op->prev_kv);
		}
		etcd_kvs_free(op->prev_kvs, op->n_prev_kvs);
		etcd_range_result_clear(&op->range);
	}
	free(t->responses);
	memset(t, 0, sizeof(*t));
}

static bool etcd_parse_op_result(struct json_object *o, struct etcd_op_result *op,
				 struct etcd_error *err, const char *path)
{
	struct json_object *rr, *rp, *rd, *rt, *prev;
	struct etcd_header h;
	char p[64];
	int n;

	memset(op, 0, sizeof(*op));
	if (!json_object_is_type(o, json_type_object)) {
		etcd_bad(err, "%s: not an object", path);
		return false;
	}
	if (!etcd_get_obj(o, "response_range", &rr, err, path) ||
	    !etcd_get_obj(o, "response_put", &rp, err, path) ||
	    !etcd_get_obj(o, "response_delete_range", &rd, err, path) ||
	    !etcd_get_obj(o, "response_txn", &rt, err, path))
		return false;
	n = !!rr + !!rp + !!rd + !!rt;
	if (n != 1) {
		etcd_bad(err, "%s: %s", path, n ? "more than one response" : "no response");
		return false;
	}
	if (rt) {
		etcd_bad(err, "%s: a nested txn response, none was asked for", path);
		return false;
	}
	if (rr) {
		op->type = ETCD_OP_RANGE;
		snprintf(p, sizeof(p), "%s.response_range.", path);
		if (!etcd_parse_range_body(rr, &op->range, err, p))
			return false;
		op->revision = op->range.header.revision;
		return true;
	}
	if (rp) {
		op->type = ETCD_OP_PUT;
		snprintf(p, sizeof(p), "%s.response_put.", path);
		if (!etcd_parse_header(rp, &h, err, p) ||
		    !etcd_get_obj(rp, "prev_kv", &prev, err, p))
			return false;
		op->revision = h.revision;
		if (prev) {
			op->prev_kv = calloc(1, sizeof(*op->prev_kv));
			if (!op->prev_kv) {
				etcd_bad(err, "out of memory");
				return false;
			}
			snprintf(p, sizeof(p), "%s.response_put.prev_kv", path);
			if (!etcd_parse_kv(prev, op->prev_kv, true, err, p)) {
				free(op->prev_kv);
				op->prev_kv = NULL;
				return false;
			}
		}
		return true;
	}
	op->type = ETCD_OP_DELETE_RANGE;
	snprintf(p, sizeof(p), "%s.response_delete_range.", path);
	if (!etcd_parse_header(rd, &h, err, p) ||
	    !etcd_get_i64(rd, "deleted", 0, &op->deleted, err, p) ||
	    !etcd_parse_kvs(rd, "prev_kvs", &op->prev_kvs, &op->n_prev_kvs, err, p))
		return false;
	op->revision = h.revision;
	return true;
}

/* types: the op types sent in the branch taken (NULL: not checked). */
static bool etcd_parse_txn_body(struct json_object *o, struct etcd_txn_result *t,
				enum etcd_op_type *const types[2], const size_t ntypes[2],
				struct etcd_error *err)
{
	struct json_object *a;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (!etcd_parse_header(o, &t->header, err, "") ||
	    !etcd_get_bool(o, "succeeded", &t->succeeded, err, "") ||
	    !etcd_get_array(o, "responses", &a, &n, err, ""))
		return false;
	if (types && n != ntypes[t->succeeded]) {
		etcd_bad(err, "responses: %zu where %zu operations were sent", n,
			 ntypes[t->succeeded]);
		return false;
	}
	if (n == 0)
		return true;
	t->responses = calloc(n, sizeof(*t->responses));
	if (!t->responses) {
		etcd_bad(err, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char p[32];

		snprintf(p, sizeof(p), "responses[%zu]", i);
		if (!etcd_parse_op_result(json_object_array_get_idx(a, i), &t->responses[i], err,
					  p)) {
			t->n_responses = i;
			etcd_txn_result_clear(t);
			return false;
		}
		t->n_responses = i + 1;
		if (types && t->responses[i].type != types[t->succeeded][i]) {
			etcd_bad(err, "%s: answers a different operation than was sent", p);
			etcd_txn_result_clear(t);
			return false;
		}
	}
	return true;
}

/*
 * How the client treats an error etcd or its gateway reported. Only a
 * refusal is definitive: a write that timed out inside etcd ("etcdserver:
 * request timed out", code 14; or, without quorum, the gateway's own
 * "context deadline exceeded", code 2 and HTTP 500) may still be applied.
 */
static enum etcd_err etcd_classify(int code, const char *msg, long http, struct etcd_error *err)
{
	enum etcd_err kind = ETCD_ERR_ETCD;

	if (code == GRPC_DEADLINE_EXCEEDED || strstr(msg, "context deadline exceeded") ||
	    strstr(msg, "timed out"))
		kind = ETCD_ERR_TIMEOUT;
	else if (code == GRPC_UNAVAILABLE || code == GRPC_CANCELED ||
		 strstr(msg, "context canceled") ||
		 (http >= 500 && (code == 0 || code == GRPC_UNKNOWN)))
		kind = ETCD_ERR_UNAVAILABLE;
	else if (code == GRPC_OUT_OF_RANGE && strstr(msg, "compacted"))
		kind = ETCD_ERR_COMPACTED;
	else if (code == GRPC_NOT_FOUND && strstr(msg, "lease not found"))
		kind = ETCD_ERR_LEASE_GONE;
	return etcd_set_err(err, kind, code, "%s", msg);
}

/* {"error":{"grpc_code":N,"message":"..."}} inside a stream */
static enum etcd_err etcd_parse_stream_error(struct json_object *eo, struct etcd_error *err)
{
	int64_t code, http;
	const char *msg;

	if (!json_object_is_type(eo, json_type_object))
		return etcd_bad(err, "error: not an object");
	if (!etcd_get_i64(eo, "grpc_code", 0, &code, err, "error.") ||
	    !etcd_get_i64(eo, "http_code", 0, &http, err, "error.") ||
	    !etcd_get_str(eo, "message", &msg, err, "error."))
		return ETCD_ERR_MALFORMED;
	if (code < 0 || code > INT32_MAX || http < 0 || http > 999)
		return etcd_bad(err, "error: grpc_code %lld or http_code %lld out of range",
				(long long)code, (long long)http);
	return etcd_classify((int)code, *msg ? msg : "no message", (long)http, err);
}

static enum etcd_err etcd_parse_error_body(const char *body, size_t len, long http,
					   struct etcd_error *err)
{
	struct json_object *o = etcd_json_parse(body, len, err), *eo;
	int64_t code;
	const char *msg;
	enum etcd_err kind;

	if (!o) {
		/* not from the gateway (a proxy, a wrong port): HTTP alone */
		char text[80];
		size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;

		for (size_t i = 0; i < n; i++)
			text[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
		text[n] = '\0';
		return etcd_set_err(err, http >= 500 ? ETCD_ERR_UNAVAILABLE : ETCD_ERR_MALFORMED, 0,
				    "HTTP %ld: %s", http, text);
	}
	/* a streaming call (lease keepalive) refused before its stream began */
	if (json_object_object_get_ex(o, "error", &eo) && json_object_is_type(eo, json_type_object)) {
		kind = etcd_parse_stream_error(eo, err);
		json_object_put(o);
		return kind;
	}
	if (!etcd_get_i64(o, "code", 0, &code, err, "") || code < 0 || code > INT32_MAX ||
	    !etcd_get_str(o, "message", &msg, err, "")) {
		json_object_put(o);
		return etcd_bad(err, "HTTP %ld with an error body that does not validate", http);
	}
	if (!*msg && !etcd_get_str(o, "error", &msg, err, "")) {
		json_object_put(o);
		return ETCD_ERR_MALFORMED;
	}
	kind = etcd_classify((int)code, *msg ? msg : "no message", http, err);
	json_object_put(o);
	return kind;
}

/* A streaming call's single answer: the object under "result". */
static struct json_object *etcd_stream_result(struct json_object *o, enum etcd_err *kind,
					      struct etcd_error *err)
{
	struct json_object *r, *eo;

	if (json_object_object_get_ex(o, "error", &eo) && eo) {
		*kind = etcd_parse_stream_error(eo, err);
		return NULL;
	}
	if (!etcd_get_obj(o, "result", &r, err, "")) {
		*kind = ETCD_ERR_MALFORMED;
		return NULL;
	}
	if (!r) {
		*kind = etcd_bad(err, "neither result nor error");
		return NULL;
	}
	return r;
}

static enum etcd_err etcd_parse_lease(enum etcd_answer kind, const char *body, size_t len,
				      struct etcd_lease_result *res, struct etcd_error *err)
{
	struct json_object *o = etcd_json_parse(body, len, err), *r = o;
	enum etcd_err ek = ETCD_OK;
	const char *lerr;

	memset(res, 0, sizeof(*res));
	if (!o)
		return ETCD_ERR_MALFORMED;
	if (kind == ETCD_ANSWER_LEASE_KEEPALIVE) {
		r = etcd_stream_result(o, &ek, err);
		if (!r)
			goto out;
	}
	if (!etcd_parse_header(r, &res->header, err, "")) {
		ek = ETCD_ERR_MALFORMED;
		goto out;
	}
	if (kind == ETCD_ANSWER_LEASE_REVOKE)
		goto out;
	if (!etcd_get_i64(r, "ID", 0, &res->id, err, "") ||
	    !etcd_get_i64(r, "TTL", kind == ETCD_ANSWER_LEASE_GRANT ? 1 : 0, &res->ttl, err, "") ||
	    !etcd_get_str(r, "error", &lerr, err, "")) {
		ek = ETCD_ERR_MALFORMED;
		goto out;
	}
	if (*lerr) {
		ek = etcd_set_err(err, ETCD_ERR_ETCD, 0, "%s", lerr);
		goto out;
	}
	if (res->id <= 0) {
		ek = etcd_bad(err, "ID: missing");
		goto out;
	}
	if (kind == ETCD_ANSWER_LEASE_KEEPALIVE && res->ttl <= 0)
		ek = etcd_set_err(err, ETCD_ERR_LEASE_GONE, GRPC_NOT_FOUND,
				  "lease %" PRId64 " expired or revoked (TTL 0 in the keepalive answer)",
				  res->id);
out:
	json_object_put(o);
	return ek;
}

static void etcd_status_result_clear(struct etcd_status_result *s)
{
	if (s->errors) {
		for (size_t i = 0; i < s->n_errors; i++)
			free((char *)s->errors[i]);
		free((char **)s->errors);
	}
	free((char *)s->version);
	memset(s, 0, sizeof(*s));
}

static enum etcd_err etcd_parse_status(const char *body, size_t len,
				       struct etcd_status_result *s, struct etcd_error *err)
{
	struct json_object *o = etcd_json_parse(body, len, err), *a;
	const char *version;
	size_t n;
	char **errs;

	memset(s, 0, sizeof(*s));
	if (!o)
		return ETCD_ERR_MALFORMED;
	if (!etcd_parse_header(o, &s->header, err, "") ||
	    !etcd_get_str(o, "version", &version, err, "") ||
	    !etcd_get_i64(o, "dbSize", 0, &s->db_size, err, "") ||
	    !etcd_get_i64(o, "dbSizeInUse", 0, &s->db_size_in_use, err, "") ||
	    !etcd_get_u64(o, "leader", &s->leader, err, "") ||
	    !etcd_get_u64(o, "raftIndex", &s->raft_index, err, "") ||
	    !etcd_get_u64(o, "raftTerm", &s->raft_term, err, "") ||
	    !etcd_get_u64(o, "raftAppliedIndex", &s->raft_applied_index, err, "") ||
	    !etcd_get_bool(o, "isLearner", &s->is_learner, err, "") ||
	    !etcd_get_array(o, "errors", &a, &n, err, ""))
		goto bad;
	s->version = strdup(version);
	errs = n ? calloc(n, sizeof(*errs)) : NULL;
	if (!s->version || (n && !errs)) {
		free(errs);
		etcd_bad(err, "out of memory");
		goto bad;
	}
	s->errors = (const char *const *)errs;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);

		if (!json_object_is_type(v, json_type_string)) {
			etcd_bad(err, "errors[%zu]: not a string", i);
			goto bad;
		}
		errs[i] = strdup(json_object_get_string(v));
		if (!errs[i]) {
			etcd_bad(err, "out of memory");
			goto bad;
		}
		s->n_errors = i + 1;
	}
	json_object_put(o);
	return ETCD_OK;
bad:
	json_object_put(o);
	etcd_status_result_clear(s);
	return ETCD_ERR_MALFORMED;
}

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

static void etcd_watch_msg_clear(struct etcd_watch_msg *m)
{
	for (size_t i = 0; i < m->n_events; i++) {
		etcd_kv_clear(&m->events[i].kv);
		if (m->events[i].prev_kv) {
			etcd_kv_clear(m->events[i].prev_kv);
			free(m->events[i].prev_kv);
		}
	}
	free(m->events);
	free(m->reason_copy);
	memset(m, 0, sizeof(*m));
}

static bool etcd_parse_event(struct json_object *o, struct etcd_event *ev,
			     struct etcd_error *err, const char *path)
{
	struct json_object *t, *kv, *prev;
	char p[64];

	memset(ev, 0, sizeof(*ev));
	if (!json_object_is_type(o, json_type_object)) {
		etcd_bad(err, "%s: not an object", path);
		return false;
	}
	ev->type = ETCD_EVENT_PUT;
	if (json_object_object_get_ex(o, "type", &t) && t) {
		const char *s = json_object_get_string(t);

		if (json_object_is_type(t, json_type_string) && strcmp(s, "PUT") == 0)
			ev->type = ETCD_EVENT_PUT;
		else if (json_object_is_type(t, json_type_string) && strcmp(s, "DELETE") == 0)
			ev->type = ETCD_EVENT_DELETE;
		else if (json_object_is_type(t, json_type_int) && json_object_get_int64(t) == 0)
			ev->type = ETCD_EVENT_PUT;
		else if (json_object_is_type(t, json_type_int) && json_object_get_int64(t) == 1)
			ev->type = ETCD_EVENT_DELETE;
		else {
			etcd_bad(err, "%s.type: neither PUT nor DELETE", path);
			return false;
		}
	}
	if (!etcd_get_obj(o, "kv", &kv, err, path) || !etcd_get_obj(o, "prev_kv", &prev, err, path))
		return false;
	if (!kv) {
		etcd_bad(err, "%s.kv: missing", path);
		return false;
	}
	snprintf(p, sizeof(p), "%s.kv", path);
	if (!etcd_parse_kv(kv, &ev->kv, true, err, p))
		return false;
	if (ev->kv.mod_revision <= 0) {
		etcd_bad(err, "%s.kv.mod_revision: missing", path);
		etcd_kv_clear(&ev->kv);
		return false;
	}
	if (prev) {
		ev->prev_kv = calloc(1, sizeof(*ev->prev_kv));
		snprintf(p, sizeof(p), "%s.prev_kv", path);
		if (!ev->prev_kv || !etcd_parse_kv(prev, ev->prev_kv, true, err, p)) {
			if (!ev->prev_kv)
				etcd_bad(err, "out of memory");
			free(ev->prev_kv);
			ev->prev_kv = NULL;
			etcd_kv_clear(&ev->kv);
			return false;
		}
	}
	return true;
}

/*
 * ETCD_OK with m filled, or the stream's error (its class), or
 * ETCD_ERR_MALFORMED. Events must come in revision order.
 */
static enum etcd_err etcd_parse_watch_msg(const char *line, size_t len, struct etcd_watch_msg *m,
					  struct etcd_error *err)
{
	struct json_object *o = etcd_json_parse(line, len, err), *r, *a;
	enum etcd_err kind = ETCD_ERR_MALFORMED;
	const char *reason;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (!o)
		return ETCD_ERR_MALFORMED;
	r = etcd_stream_result(o, &kind, err);
	if (!r)
		goto out;
	kind = ETCD_ERR_MALFORMED;
	if (!etcd_parse_header(r, &m->header, err, "result.") ||
	    !etcd_get_bool(r, "created", &m->created, err, "result.") ||
	    !etcd_get_bool(r, "canceled", &m->canceled, err, "result.") ||
	    !etcd_get_i64(r, "compact_revision", 0, &m->compact_revision, err, "result.") ||
	    !etcd_get_str(r, "cancel_reason", &reason, err, "result.") ||
	    !etcd_get_array(r, "events", &a, &n, err, "result."))
		goto out;
	m->reason_copy = strdup(reason);
	if (!m->reason_copy) {
		etcd_bad(err, "out of memory");
		goto out;
	}
	m->cancel_reason = m->reason_copy;
	if (n) {
		m->events = calloc(n, sizeof(*m->events));
		if (!m->events) {
			etcd_bad(err, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char p[40];

		snprintf(p, sizeof(p), "result.events[%zu]", i);
		if (!etcd_parse_event(json_object_array_get_idx(a, i), &m->events[i], err, p))
			goto out;
		m->n_events = i + 1;
		if (i > 0 && m->events[i].kv.mod_revision < m->events[i - 1].kv.mod_revision) {
			etcd_bad(err, "%s: revision %" PRId64 " after %" PRId64, p,
				 m->events[i].kv.mod_revision, m->events[i - 1].kv.mod_revision);
			goto out;
		}
	}
	kind = ETCD_OK;
out:
	if (kind != ETCD_OK)
		etcd_watch_msg_clear(m);
	json_object_put(o);
	return kind;
}

enum etcd_err etcd_parse_answer(enum etcd_answer kind, const char *body, size_t len,
				struct etcd_error *err)
{
	struct json_object *o;
	enum etcd_err ek;

	memset(err, 0, sizeof(*err));
	switch (kind) {
	case ETCD_ANSWER_RANGE: {
		struct etcd_range_result r;

		o = etcd_json_parse(body, len, err);
		if (!o)
			return ETCD_ERR_MALFORMED;
		ek = etcd_parse_range_body(o, &r, err, "") ? ETCD_OK : ETCD_ERR_MALFORMED;
		if (ek == ETCD_OK)
			etcd_range_result_clear(&r);
		json_object_put(o);
		return ek;
	}
	case ETCD_ANSWER_TXN: {
		struct etcd_txn_result t;

		o = etcd_json_parse(body, len, err);
		if (!o)
			return ETCD_ERR_MALFORMED;
		ek = etcd_parse_txn_body(o, &t, NULL, NULL, err) ? ETCD_OK : ETCD_ERR_MALFORMED;
		if (ek == ETCD_OK)
			etcd_txn_result_clear(&t);
		json_object_put(o);
		return ek;
	}
	case ETCD_ANSWER_LEASE_GRANT:
	case ETCD_ANSWER_LEASE_KEEPALIVE:
	case ETCD_ANSWER_LEASE_REVOKE: {
		struct etcd_lease_result l;

		return etcd_parse_lease(kind, body, len, &l, err);
	}
	case ETCD_ANSWER_STATUS: {
		struct etcd_status_result s;

		ek = etcd_parse_status(body, len, &s, err);
		if (ek == ETCD_OK)
			etcd_status_result_clear(&s);
		return ek;
	}
	case ETCD_ANSWER_WATCH: {
		struct etcd_watch_msg m;

		ek = etcd_parse_watch_msg(body, len, &m, err);
		if (ek == ETCD_OK)
			etcd_watch_msg_clear(&m);
		return ek;
	}
	case ETCD_ANSWER_ERROR:
		return etcd_parse_error_body(body, len, 400, err);
	default:
		return etcd_bad(err, "unknown answer kind %d", (int)kind);
	}
}

/* ------------------------------------------------------------------ */
/* curl on libev (the multi_socket pattern of curl's evhiperfifo.c) */

static void etcd_after_action(struct etcd *e);

static void etcd_sock_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct etcd_sock *sk = io->data;
	struct etcd *e = sk->e;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	/* sk may be freed inside (CURL_POLL_REMOVE): not used after this */
	curl_multi_socket_action(e->multi, sk->fd, action, &running);
	etcd_after_action(e);
}

static void etcd_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct etcd *e = t->data;
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	etcd_after_action(e);
}

static int etcd_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct etcd *e = userp;
	struct etcd_sock *sk = sockp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			ev_io_stop(e->loop, &sk->io);
			if (sk->prev)
				sk->prev->next = sk->next;
			else
				e->socks = sk->next;
			if (sk->next)
				sk->next->prev = sk->prev;
			free(sk);
			curl_multi_assign(e->multi, fd, NULL);
		}
		return 0;
	}
	if (!sk) {
		sk = calloc(1, sizeof(*sk));
		if (!sk)
			return -1;
		sk->e = e;
		sk->fd = fd;
		sk->next = e->socks;
		if (e->socks)
			e->socks->prev = sk;
		e->socks = sk;
		ev_init(&sk->io, etcd_sock_cb);
		sk->io.data = sk;
		curl_multi_assign(e->multi, fd, sk);
	} else {
		ev_io_stop(e->loop, &sk->io);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_set(&sk->io, fd, events);
	ev_io_start(e->loop, &sk->io);
	return 0;
}

static int etcd_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct etcd *e = userp;

	ev_timer_stop(e->loop, &e->curl_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&e->curl_timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(e->loop, &e->curl_timer);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* transfers */

static size_t etcd_xfer_read(char *buf, size_t size, size_t nitems, void *userp)
{
	struct etcd_xfer *x = userp;
	size_t room = size * nitems, n = x->body_len - x->body_off;

	if (n > room)
		n = room;
	if (n > 0) {
		memcpy(buf, x->body + x->body_off, n);
		x->body_off += n;
		x->maybe_sent = true;
	}
	return n;
}

/*
 * curl rewinds the body only to send it again: after a redirect (not
 * followed here) or when a kept-alive connection died before any answer.
 * A request that must not be applied twice refuses, and ends in
 * CURLE_SEND_FAIL_REWIND.
 */
static int etcd_xfer_seek(void *userp, curl_off_t offset, int origin)
{
	struct etcd_xfer *x = userp;

	if (!x->rewind_ok || origin != SEEK_SET || offset < 0 || (size_t)offset > x->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->body_off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t etcd_xfer_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct etcd_xfer *x = userp;
	size_t n = size * nmemb;
	struct etcd *e;

	if (x->owner == ETCD_XFER_WATCH)
		e = ((struct etcd_watch *)x)->e;
	else
		e = ((struct etcd_req *)x)->e;
	e->ctr.bytes_received += n;
	if (x->owner == ETCD_XFER_WATCH) {
		/* messages end with a newline; each is bounded on its own */
		struct etcd_watch *w = (struct etcd_watch *)x;
		size_t partial = w->partial;
		const char *p = data, *end = data + n;
		bool complete = false;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t seg = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if (partial + seg > e->max_response) {
				x->too_big = true;
				return 0;
			}
			if (!nl) {
				partial += seg;
				break;
			}
			partial = 0;
			complete = true;
			p = nl + 1;
		}
		if (ila_buf_append(&x->resp, data, n) < 0)
			return 0;
		w->partial = partial;
		if (complete)
			w->queued = true;
		return n;
	}
	if (x->resp.len + n > e->max_response) {
		x->too_big = true;
		return 0;
	}
	if (ila_buf_append(&x->resp, data, n) < 0)
		return 0;
	return n;
}

static void etcd_xfer_stop(struct etcd *e, struct etcd_xfer *x)
{
	if (x->easy && x->in_multi) {
		curl_multi_remove_handle(e->multi, x->easy);
		x->in_multi = false;
	}
}

static void etcd_xfer_free(struct etcd *e, struct etcd_xfer *x)
{
	etcd_xfer_stop(e, x);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
	free(x->body);
	x->body = NULL;
	ila_buf_free(&x->resp);
}

/* Sets the handle up for endpoint ep and path, and hands it to the multi. */
static int etcd_xfer_start(struct etcd *e, struct etcd_xfer *x, size_t ep, const char *path,
			   bool stream)
{
	char url[512];
	CURL *h;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", e->endpoints[ep], path) >= sizeof(url))
		return -ENAMETOOLONG;
	if (!x->easy) {
		x->easy = curl_easy_init();
		if (!x->easy)
			return -ENOMEM;
	}
	h = x->easy;
	curl_easy_reset(h);
	x->ep = ep;
	x->body_off = 0;
	x->maybe_sent = false;
	x->too_big = false;
	x->errbuf[0] = '\0';
	ila_buf_reset(&x->resp);

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->any_member ? e->headers_any : e->headers);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, etcd_xfer_read);
	curl_easy_setopt(h, CURLOPT_READDATA, x);
	curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, etcd_xfer_seek);
	curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, etcd_xfer_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, ETCD_TCP_KEEPIDLE_S);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, ETCD_TCP_KEEPINTVL_S);
	if (!stream) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)e->request_timeout_ms);
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)e->max_response);
	}
	if (e->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->ca_file);
	if (e->cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->key_file);
	}
	if (curl_multi_add_handle(e->multi, h) != CURLM_OK)
		return -ENOMEM;
	x->in_multi = true;
	e->ctr.bytes_sent += x->body_len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* endpoints */

static void etcd_watch_endpoint_failed(struct etcd *e, size_t ep);

/* A transfer to ep failed for the endpoint's sake: requests move on. */
static void etcd_endpoint_failed(struct etcd *e, size_t ep, const char *why)
{
	size_t ul;

	if (ep != e->cur || e->n_endpoints < 2)
		return;
	e->cur = (e->cur + 1) % e->n_endpoints;
	ul = strlen(e->endpoints[ep]);
	e->ctr.failovers++;
	/* most reasons name the endpoint already */
	if (strncmp(why, e->endpoints[ep], ul) == 0 && strncmp(why + ul, ": ", 2) == 0)
		why += ul + 2;
	log_warn("etcd %s: %s: %s; now using %s", e->name, e->endpoints[ep], why,
		 e->endpoints[e->cur]);
	etcd_watch_endpoint_failed(e, ep);
}

size_t etcd_endpoint_count(const struct etcd *e)
{
	return e->n_endpoints;
}

const char *etcd_endpoint_url(const struct etcd *e, size_t i)
{
	return i < e->n_endpoints ? e->endpoints[i] : NULL;
}

size_t etcd_endpoint_current(const struct etcd *e)
{
	return e->cur;
}

const struct etcd_counters *etcd_counters(const struct etcd *e)
{
	return &e->ctr;
}

size_t etcd_prefix_end(const uint8_t *prefix, size_t len, uint8_t *out)
{
	for (size_t i = len; i > 0; i--) {
		if (prefix[i - 1] != 0xff) {
			memcpy(out, prefix, i - 1);
			out[i - 1] = (uint8_t)(prefix[i - 1] + 1);
			return i;
		}
	}
	out[0] = 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* unary requests */

static const char *const etcd_answer_names[ETCD_ANSWER__COUNT] = {
	[ETCD_ANSWER_RANGE] = "range",
	[ETCD_ANSWER_TXN] = "txn",
	[ETCD_ANSWER_LEASE_GRANT] = "lease grant",
	[ETCD_ANSWER_LEASE_KEEPALIVE] = "lease keepalive",
	[ETCD_ANSWER_LEASE_REVOKE] = "lease revoke",
	[ETCD_ANSWER_STATUS] = "status",
	[ETCD_ANSWER_WATCH] = "watch",
	[ETCD_ANSWER_ERROR] = "error",
};

static void etcd_req_unlink(struct etcd *e, struct etcd_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		e->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
	e->n_reqs--;
}

static void etcd_req_free(struct etcd *e, struct etcd_req *r)
{
	etcd_xfer_free(e, &r->x);
	free(r->branch_types[0]);
	free(r->branch_types[1]);
	free(r);
}

/* Calls r's callback with err (kind != OK) or the parsed answer, then frees r. */
static void etcd_req_deliver(struct etcd *e, struct etcd_req *r, struct etcd_error *err)
{
	union {
		struct etcd_range_result range;
		struct etcd_txn_result txn;
		struct etcd_lease_result lease;
		struct etcd_status_result status;
	} res;
	struct json_object *o = NULL;
	const char *body = r->x.resp.data ? r->x.resp.data : "";
	size_t len = r->x.resp.len;
	bool have = false;

	memset(&res, 0, sizeof(res));
	if (err->kind == ETCD_OK) {
		switch (r->kind) {
		case ETCD_ANSWER_RANGE:
			o = etcd_json_parse(body, len, err);
			if (o && etcd_parse_range_body(o, &res.range, err, ""))
				have = true;
			else
				err->kind = ETCD_ERR_MALFORMED;
			break;
		case ETCD_ANSWER_TXN:
			o = etcd_json_parse(body, len, err);
			if (o && etcd_parse_txn_body(o, &res.txn, r->branch_types, r->branch_n, err))
				have = true;
			else
				err->kind = ETCD_ERR_MALFORMED;
			break;
		case ETCD_ANSWER_LEASE_GRANT:
		case ETCD_ANSWER_LEASE_KEEPALIVE:
		case ETCD_ANSWER_LEASE_REVOKE:
			if (etcd_parse_lease(r->kind, body, len, &res.lease, err) == ETCD_OK)
				have = true;
			break;
		case ETCD_ANSWER_STATUS:
			if (etcd_parse_status(body, len, &res.status, err) == ETCD_OK) {
				res.status.endpoint = r->x.ep;
				have = true;
			}
			break;
		default:
			etcd_bad(err, "internal: answer kind %d", (int)r->kind);
		}
		json_object_put(o);
		if (err->kind == ETCD_ERR_MALFORMED) {
			e->ctr.malformed++;
			log_warn("etcd %s: %s: malformed %s answer: %s", e->name,
				 e->endpoints[r->x.ep], etcd_answer_names[r->kind], err->msg);
		}
	}
	/* an answer that does not say what happened to a write: unknown */
	if (err->kind != ETCD_OK && !r->idempotent && r->x.maybe_sent &&
	    (err->kind == ETCD_ERR_UNAVAILABLE || err->kind == ETCD_ERR_TIMEOUT ||
	     err->kind == ETCD_ERR_MALFORMED || err->kind == ETCD_ERR_TOO_BIG)) {
		char why[ETCD_ERR_MSG_LEN];

		snprintf(why, sizeof(why), "%s", err->msg);
		etcd_set_err(err, ETCD_ERR_OUTCOME_UNKNOWN, err->code,
			     "%s may or may not have been applied: %s", etcd_answer_names[r->kind],
			     why);
	}
	if (err->kind == ETCD_OK)
		e->ctr.ok++;
	else
		e->ctr.errors[err->kind]++;

	e->in_callback++;
	switch (r->kind) {
	case ETCD_ANSWER_RANGE:
		r->cb.range(r->arg, err, have ? &res.range : NULL);
		if (have)
			etcd_range_result_clear(&res.range);
		break;
	case ETCD_ANSWER_TXN:
		r->cb.txn(r->arg, err, have ? &res.txn : NULL);
		if (have)
			etcd_txn_result_clear(&res.txn);
		break;
	case ETCD_ANSWER_LEASE_GRANT:
	case ETCD_ANSWER_LEASE_KEEPALIVE:
	case ETCD_ANSWER_LEASE_REVOKE:
		r->cb.lease(r->arg, err, have ? &res.lease : NULL);
		break;
	case ETCD_ANSWER_STATUS:
		r->cb.status(r->arg, err, have ? &res.status : NULL);
		if (have)
			etcd_status_result_clear(&res.status);
		break;
	default:
		break;
	}
	e->in_callback--;
	etcd_req_free(e, r);
}

/* A finished transfer of r: deliver, or send once more to the next endpoint. */
static void etcd_req_done(struct etcd *e, struct etcd_req *r, CURLcode cc)
{
	struct etcd_error err;
	bool endpoint_fault = false;
	long http = 0;

	memset(&err, 0, sizeof(err));
	r->x.in_multi = false; /* removed by the caller */
	curl_easy_getinfo(r->x.easy, CURLINFO_RESPONSE_CODE, &http);
	if (r->x.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		e->ctr.too_big++;
		etcd_set_err(&err, ETCD_ERR_TOO_BIG, 0, "answer larger than %zu bytes",
			     e->max_response);
		log_warn("etcd %s: %s: %s answer larger than %zu bytes, refused", e->name,
			 e->endpoints[r->x.ep], etcd_answer_names[r->kind], e->max_response);
	} else if (cc != CURLE_OK) {
		const char *why = r->x.errbuf[0] ? r->x.errbuf : curl_easy_strerror(cc);

		if (cc == CURLE_SEND_FAIL_REWIND)
			why = "the connection closed after the request was sent, "
			      "which is not sent again";

		etcd_set_err(&err, cc == CURLE_OPERATION_TIMEDOUT ? ETCD_ERR_TIMEOUT :
								    ETCD_ERR_UNAVAILABLE,
			     0, "%s: %s", e->endpoints[r->x.ep], why);
		endpoint_fault = true;
	} else if (http != 200) {
		etcd_parse_error_body(r->x.resp.data ? r->x.resp.data : "", r->x.resp.len, http,
				      &err);
		if (err.kind == ETCD_ERR_MALFORMED)
			e->ctr.malformed++;
		endpoint_fault = err.kind == ETCD_ERR_UNAVAILABLE || err.kind == ETCD_ERR_TIMEOUT;
	}
	/*
	 * Every request asks etcd to refuse it when the member has no leader
	 * (Grpc-Metadata-hasleader). That refusal comes from etcd's interceptor,
	 * before the request is handled: nothing was applied.
	 */
	if (err.kind == ETCD_ERR_UNAVAILABLE && strcmp(err.msg, "etcdserver: no leader") == 0)
		r->x.maybe_sent = false;
	if (endpoint_fault) {
		etcd_endpoint_failed(e, r->x.ep, err.msg);
		if (!r->pinned && r->attempts < 2 && (r->idempotent || !r->x.maybe_sent) &&
		    !e->closing) {
			r->attempts++;
			e->ctr.retries++;
			if (etcd_xfer_start(e, &r->x, e->cur, r->path, false) == 0)
				return;
		}
	}
	etcd_req_unlink(e, r);
	etcd_req_deliver(e, r, &err);
}

static struct etcd_req *etcd_req_new(struct etcd *e, enum etcd_answer kind, const char *path,
				     bool idempotent, void *arg)
{
	struct etcd_req *r;

	if (e->closing || e->n_reqs >= e->max_requests)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->x.owner = ETCD_XFER_REQ;
	ila_buf_init(&r->x.resp);
	r->x.rewind_ok = idempotent;
	r->e = e;
	r->kind = kind;
	r->path = path;
	r->idempotent = idempotent;
	r->arg = arg;
	r->attempts = 1;
	return r;
}

/* Sends r with body o (consumed) to the current endpoint (or ep if pinned). */
static int etcd_req_send(struct etcd *e, struct etcd_req *r, struct json_object *o, size_t ep)
{
	int rc;

	r->x.body = etcd_json_finish(o, &r->x.body_len);
	if (!r->x.body) {
		etcd_req_free(e, r);
		return -ENOMEM;
	}
	rc = etcd_xfer_start(e, &r->x, r->pinned ? ep : e->cur, r->path, false);
	if (rc < 0) {
		etcd_req_free(e, r);
		return rc;
	}
	r->next = e->reqs;
	if (e->reqs)
		e->reqs->prev = r;
	e->reqs = r;
	e->n_reqs++;
	e->ctr.requests++;
	return 0;
}

static int etcd_req_refused(struct etcd *e)
{
	if (e->closing)
		return -ESHUTDOWN;
	return e->n_reqs >= e->max_requests ? -EBUSY : -ENOMEM;
}

static bool etcd_key_ok(const uint8_t *key, size_t len)
{
	return key && len > 0 && len <= ETCD_MAX_KEY_LEN;
}

static bool etcd_end_ok(const uint8_t *end, size_t len)
{
	return !end ? len == 0 : (len > 0 && len <= ETCD_MAX_KEY_LEN);
}

static int etcd_add_range_fields(struct json_object *o, const uint8_t *key, size_t key_len,
				 const uint8_t *end, size_t end_len, int64_t revision,
				 int64_t limit, bool keys_only, bool count_only)
{
	if (etcd_b64_add(o, "key", key, key_len) < 0 ||
	    (end && etcd_b64_add(o, "range_end", end, end_len) < 0) ||
	    (revision && etcd_json_add_i64(o, "revision", revision) < 0) ||
	    (limit && etcd_json_add_i64(o, "limit", limit) < 0) ||
	    etcd_json_add_bool(o, "keys_only", keys_only) < 0 ||
	    etcd_json_add_bool(o, "count_only", count_only) < 0)
		return -ENOMEM;
	return 0;
}

int etcd_range(struct etcd *e, const struct etcd_range_req *req, etcd_range_cb cb, void *arg)
{
	struct etcd_req *r;
	struct json_object *o;

	if (!req || !cb || !etcd_key_ok(req->key, req->key_len) ||
	    !etcd_end_ok(req->range_end, req->range_end_len) || req->revision < 0 ||
	    req->limit < 0)
		return -EINVAL;
	r = etcd_req_new(e, ETCD_ANSWER_RANGE, "/v3/kv/range", true, arg);
	if (!r)
		return etcd_req_refused(e);
	r->cb.range = cb;
	r->x.any_member = req->serializable;
	o = json_object_new_object();
	if (!o || etcd_add_range_fields(o, req->key, req->key_len, req->range_end,
					req->range_end_len, req->revision, req->limit,
					req->keys_only, req->count_only) < 0 ||
	    etcd_json_add_bool(o, "serializable", req->serializable) < 0) {
		json_object_put(o);
		etcd_req_free(e, r);
		return -ENOMEM;
	}
	return etcd_req_send(e, r, o, 0);
}

static const char *const etcd_cmp_targets[] = {
	[ETCD_CMP_VERSION] = "VERSION", [ETCD_CMP_CREATE] = "CREATE", [ETCD_CMP_MOD] = "MOD",
	[ETCD_CMP_VALUE] = "VALUE",	[ETCD_CMP_LEASE] = "LEASE",
};
static const char *const etcd_cmp_fields[] = {
	[ETCD_CMP_VERSION] = "version", [ETCD_CMP_CREATE] = "create_revision",
	[ETCD_CMP_MOD] = "mod_revision", [ETCD_CMP_VALUE] = "value",
	[ETCD_CMP_LEASE] = "lease",
};
static const char *const etcd_cmp_results[] = {
	[ETCD_CMP_EQUAL] = "EQUAL", [ETCD_CMP_GREATER] = "GREATER",
	[ETCD_CMP_LESS] = "LESS", [ETCD_CMP_NOT_EQUAL] = "NOT_EQUAL",
};

static struct json_object *etcd_compare_json(const struct etcd_compare *c)
{
	struct json_object *o = json_object_new_object();
	int rc;

	if (!o)
		return NULL;
	rc = etcd_b64_add(o, "key", c->key, c->key_len);
	if (rc == 0 && c->range_end)
		rc = etcd_b64_add(o, "range_end", c->range_end, c->range_end_len);
	if (rc == 0)
		rc = etcd_json_add(o, "target", json_object_new_string(etcd_cmp_targets[c->target]));
	if (rc == 0)
		rc = etcd_json_add(o, "result", json_object_new_string(etcd_cmp_results[c->result]));
	if (rc == 0 && c->target == ETCD_CMP_VALUE)
		rc = etcd_b64_add(o, "value", c->value, c->value_len);
	else if (rc == 0)
		rc = etcd_json_add_i64(o, etcd_cmp_fields[c->target], c->number);
	if (rc < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *etcd_op_json(const struct etcd_op *op)
{
	struct json_object *o = json_object_new_object(), *inner = json_object_new_object();
	const char *name;
	int rc = 0;

	if (!o || !inner)
		goto fail;
	switch (op->type) {
	case ETCD_OP_RANGE:
		name = "request_range";
		rc = etcd_add_range_fields(inner, op->key, op->key_len, op->range_end,
					   op->range_end_len, op->revision, op->limit,
					   op->keys_only, op->count_only);
		break;
	case ETCD_OP_PUT:
		name = "request_put";
		rc = etcd_b64_add(inner, "key", op->key, op->key_len);
		if (rc == 0)
			rc = etcd_b64_add(inner, "value", op->value, op->value_len);
		if (rc == 0 && op->lease)
			rc = etcd_json_add_i64(inner, "lease", op->lease);
		if (rc == 0)
			rc = etcd_json_add_bool(inner, "prev_kv", op->prev_kv);
		break;
	case ETCD_OP_DELETE_RANGE:
		name = "request_delete_range";
		rc = etcd_b64_add(inner, "key", op->key, op->key_len);
		if (rc == 0 && op->range_end)
			rc = etcd_b64_add(inner, "range_end", op->range_end, op->range_end_len);
		if (rc == 0)
			rc = etcd_json_add_bool(inner, "prev_kv", op->prev_kv);
		break;
	default:
		goto fail;
	}
	if (rc < 0)
		goto fail;
	rc = etcd_json_add(o, name, inner);
	inner = NULL; /* owned by o, or put by etcd_json_add */
	if (rc < 0)
		goto fail;
	return o;
fail:
	json_object_put(inner);
	json_object_put(o);
	return NULL;
}

static bool etcd_op_ok(const struct etcd_op *op)
{
	if ((unsigned)op->type > ETCD_OP_DELETE_RANGE || !etcd_key_ok(op->key, op->key_len) ||
	    !etcd_end_ok(op->range_end, op->range_end_len))
		return false;
	if (op->type == ETCD_OP_PUT)
		return op->range_end == NULL && (op->value || op->value_len == 0) &&
		       op->value_len <= ETCD_MAX_KEY_LEN && op->lease >= 0;
	return op->revision >= 0 && op->limit >= 0;
}

static int etcd_ops_json(struct json_object *o, const char *k, const struct etcd_op *ops,
			 size_t n, enum etcd_op_type **types)
{
	struct json_object *a;

	*types = NULL;
	if (n == 0)
		return 0;
	*types = calloc(n, sizeof(**types));
	a = json_object_new_array();
	if (!*types || etcd_json_add(o, k, a) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *op = etcd_op_json(&ops[i]);

		if (!op || json_object_array_add(a, op) != 0) {
			json_object_put(op);
			return -ENOMEM;
		}
		(*types)[i] = ops[i].type;
	}
	return 0;
}

int etcd_txn(struct etcd *e, const struct etcd_txn_req *req, etcd_txn_cb cb, void *arg)
{
	struct etcd_req *r;
	struct json_object *o, *a = NULL;

	if (!req || !cb || (req->n_compare && !req->compare) || (req->n_success && !req->success) ||
	    (req->n_failure && !req->failure))
		return -EINVAL;
	for (size_t i = 0; i < req->n_compare; i++) {
		const struct etcd_compare *c = &req->compare[i];

		if ((unsigned)c->target > ETCD_CMP_LEASE || (unsigned)c->result > ETCD_CMP_NOT_EQUAL ||
		    !etcd_key_ok(c->key, c->key_len) || !etcd_end_ok(c->range_end, c->range_end_len) ||
		    (c->target == ETCD_CMP_VALUE && !c->value && c->value_len))
			return -EINVAL;
	}
	for (size_t i = 0; i < req->n_success; i++)
		if (!etcd_op_ok(&req->success[i]))
			return -EINVAL;
	for (size_t i = 0; i < req->n_failure; i++)
		if (!etcd_op_ok(&req->failure[i]))
			return -EINVAL;
	r = etcd_req_new(e, ETCD_ANSWER_TXN, "/v3/kv/txn", false, arg);
	if (!r)
		return etcd_req_refused(e);
	r->cb.txn = cb;
	r->branch_n[1] = req->n_success;
	r->branch_n[0] = req->n_failure;
	o = json_object_new_object();
	if (!o)
		goto nomem;
	if (req->n_compare) {
		a = json_object_new_array();
		if (etcd_json_add(o, "compare", a) < 0)
			goto nomem;
		for (size_t i = 0; i < req->n_compare; i++) {
			struct json_object *c = etcd_compare_json(&req->compare[i]);

			if (!c || json_object_array_add(a, c) != 0) {
				json_object_put(c);
				goto nomem;
			}
		}
	}
	if (etcd_ops_json(o, "success", req->success, req->n_success, &r->branch_types[1]) < 0 ||
	    etcd_ops_json(o, "failure", req->failure, req->n_failure, &r->branch_types[0]) < 0)
		goto nomem;
	return etcd_req_send(e, r, o, 0);
nomem:
	json_object_put(o);
	etcd_req_free(e, r);
	return -ENOMEM;
}

static int etcd_lease_req(struct etcd *e, enum etcd_answer kind, const char *path,
			  int64_t ttl, int64_t id, etcd_lease_cb cb, void *arg)
{
	struct etcd_req *r;
	struct json_object *o;

	if (!cb)
		return -EINVAL;
	r = etcd_req_new(e, kind, path, kind == ETCD_ANSWER_LEASE_KEEPALIVE, arg);
	if (!r)
		return etcd_req_refused(e);
	r->cb.lease = cb;
	o = json_object_new_object();
	if (!o || (kind == ETCD_ANSWER_LEASE_GRANT && etcd_json_add_i64(o, "TTL", ttl) < 0) ||
	    (id && etcd_json_add_i64(o, "ID", id) < 0)) {
		json_object_put(o);
		etcd_req_free(e, r);
		return -ENOMEM;
	}
	return etcd_req_send(e, r, o, 0);
}

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t id, etcd_lease_cb cb, void *arg)
{
	if (ttl_s <= 0 || id < 0)
		return -EINVAL;
	return etcd_lease_req(e, ETCD_ANSWER_LEASE_GRANT, "/v3/lease/grant", ttl_s, id, cb, arg);
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, etcd_lease_cb cb, void *arg)
{
	if (id <= 0)
		return -EINVAL;
	return etcd_lease_req(e, ETCD_ANSWER_LEASE_KEEPALIVE, "/v3/lease/keepalive", 0, id, cb,
			      arg);
}

int etcd_lease_revoke(struct etcd *e, int64_t id, etcd_lease_cb cb, void *arg)
{
	if (id <= 0)
		return -EINVAL;
	return etcd_lease_req(e, ETCD_ANSWER_LEASE_REVOKE, "/v3/lease/revoke", 0, id, cb, arg);
}

int etcd_status(struct etcd *e, size_t endpoint, etcd_status_cb cb, void *arg)
{
	struct etcd_req *r;
	struct json_object *o;

	if (!cb || endpoint >= e->n_endpoints)
		return -EINVAL;
	r = etcd_req_new(e, ETCD_ANSWER_STATUS, "/v3/maintenance/status", true, arg);
	if (!r)
		return etcd_req_refused(e);
	r->cb.status = cb;
	r->pinned = true;
	r->x.any_member = true;
	o = json_object_new_object();
	if (!o) {
		etcd_req_free(e, r);
		return -ENOMEM;
	}
	return etcd_req_send(e, r, o, endpoint);
}

/* ------------------------------------------------------------------ */
/* watches */

static void etcd_watch_free(struct etcd_watch *w)
{
	struct etcd *e = w->e;

	ev_timer_stop(e->loop, &w->timer);
	etcd_xfer_free(e, &w->x);
	if (w->prev)
		w->prev->next = w->next;
	else
		e->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w->key);
	free(w->range_end);
	free(w);
}

/* Around a call into the owner, who may cancel w meanwhile. */
static void etcd_watch_enter(struct etcd_watch *w)
{
	w->busy++;
	w->e->in_callback++;
}

/* false if w was canceled (and is freed unless an outer call still holds it) */
static bool etcd_watch_leave(struct etcd_watch *w)
{
	w->e->in_callback--;
	if (--w->busy == 0 && w->canceled) {
		etcd_watch_free(w);
		return false;
	}
	return !w->canceled;
}

static bool etcd_watch_tell(struct etcd_watch *w, enum etcd_watch_state state,
			    const struct etcd_error *err)
{
	etcd_watch_enter(w);
	w->on_state(w->arg, state, err);
	return etcd_watch_leave(w);
}

static void etcd_watch_arm(struct etcd_watch *w, unsigned ms)
{
	ev_timer_stop(w->e->loop, &w->timer);
	ev_timer_set(&w->timer, (double)ms / 1000.0, 0.);
	ev_timer_start(w->e->loop, &w->timer);
}

static int etcd_watch_open(struct etcd_watch *w)
{
	struct etcd *e = w->e;
	struct json_object *o = json_object_new_object(), *c = json_object_new_object();
	int64_t from = w->next_rev ? w->next_rev : w->start_revision;
	int rc;

	if (!o || !c || etcd_b64_add(c, "key", w->key, w->key_len) < 0 ||
	    (w->range_end && etcd_b64_add(c, "range_end", w->range_end, w->range_end_len) < 0) ||
	    (from && etcd_json_add_i64(c, "start_revision", from) < 0) ||
	    etcd_json_add_bool(c, "prev_kv", w->prev_kv) < 0 ||
	    etcd_json_add_bool(c, "progress_notify", w->progress_notify) < 0 ||
	    json_object_object_add(o, "create_request", c) != 0) {
		json_object_put(c);
		json_object_put(o);
		return -ENOMEM;
	}
	free(w->x.body);
	w->x.body = etcd_json_finish(o, &w->x.body_len); /* puts o, and c with it */
	if (!w->x.body)
		return -ENOMEM;
	w->partial = 0;
	w->queued = false;
	w->http_status = 0;
	rc = etcd_xfer_start(e, &w->x, e->cur, "/v3/watch", true);
	if (rc == 0) {
		e->ctr.watch_streams++;
		w->phase = ETCD_WATCH_CONNECTING;
		w->restart = false;
		etcd_watch_arm(w, e->request_timeout_ms);
	}
	return rc;
}

/* The stream broke (or must move): tell the owner once, reopen after a backoff. */
static bool etcd_watch_lost(struct etcd_watch *w, const struct etcd_error *err)
{
	struct etcd *e = w->e;
	unsigned delay = w->backoff_ms;

	etcd_xfer_stop(e, &w->x);
	ila_buf_reset(&w->x.resp);
	w->partial = 0;
	w->queued = false;
	w->phase = ETCD_WATCH_WAITING;
	e->ctr.watch_reconnects++;
	if (err->kind == ETCD_ERR_UNAVAILABLE || err->kind == ETCD_ERR_TIMEOUT ||
	    err->kind == ETCD_ERR_MALFORMED || err->kind == ETCD_ERR_TOO_BIG)
		etcd_endpoint_failed(e, w->x.ep, err->msg);
	log_notice("etcd %s: watch stream on %s lost (%s: %s); again from revision %" PRId64
		   " on %s in %u ms",
		   e->name, e->endpoints[w->x.ep], etcd_err_name(err->kind), err->msg,
		   w->next_rev, e->endpoints[e->cur], delay);
	/* backoff: at once, then doubling from ETCD_WATCH_RETRY_MIN_MS, with jitter */
	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : ETCD_WATCH_RETRY_MIN_MS;
	if (w->backoff_ms > e->watch_retry_max_ms)
		w->backoff_ms = e->watch_retry_max_ms;
	if (delay)
		delay = delay / 2 + ila_random_below(delay / 2 + 1);
	etcd_watch_arm(w, delay);
	if (!w->lost) {
		w->lost = true;
		return etcd_watch_tell(w, ETCD_WATCH_LOST, err);
	}
	return !w->canceled;
}

/* etcd ended the watch: compacted, or refused. */
static bool etcd_watch_over(struct etcd_watch *w, const struct etcd_watch_msg *m,
			    const struct etcd_error *why)
{
	struct etcd *e = w->e;
	struct etcd_error err;

	etcd_xfer_stop(e, &w->x);
	ev_timer_stop(e->loop, &w->timer);
	w->phase = ETCD_WATCH_OVER;
	if (m && m->compact_revision > 0) {
		log_notice("etcd %s: watch from revision %" PRId64 ": compacted up to %" PRId64,
			   e->name, w->next_rev ? w->next_rev : w->start_revision,
			   m->compact_revision);
		etcd_watch_enter(w);
		w->on_compacted(w->arg, m->compact_revision);
		return etcd_watch_leave(w);
	}
	if (why)
		err = *why;
	else
		etcd_set_err(&err, ETCD_ERR_ETCD, 0, "watch canceled by etcd: %s",
			     m && m->cancel_reason && *m->cancel_reason ? m->cancel_reason :
									 "no reason given");
	log_warn("etcd %s: watch ended: %s", e->name, err.msg);
	return etcd_watch_tell(w, ETCD_WATCH_FAILED, &err);
}

/*
 * Errors after which watching again cannot help: the request itself or the
 * client's rights. Anything else (unavailable, no leader, a member
 * stopping, an unreadable message) reconnects with backoff.
 */
static bool etcd_watch_error_permanent(const struct etcd_error *err)
{
	if (err->kind != ETCD_ERR_ETCD)
		return false;
	switch (err->code) {
	case GRPC_INVALID_ARGUMENT:
	case GRPC_NOT_FOUND:
	case GRPC_PERMISSION_DENIED:
	case GRPC_FAILED_PRECONDITION:
	case GRPC_UNIMPLEMENTED:
	case GRPC_UNAUTHENTICATED:
		return true;
	default:
		return false;
	}
}

/* One message of the stream; false if w is over, lost or canceled. */
static bool etcd_watch_msg(struct etcd_watch *w, const char *line, size_t len)
{
	struct etcd *e = w->e;
	struct etcd_watch_msg m;
	struct etcd_error err;
	enum etcd_err kind;
	size_t first = 0;
	bool alive = true;

	kind = etcd_parse_watch_msg(line, len, &m, &err);
	if (kind == ETCD_ERR_MALFORMED) {
		e->ctr.malformed++;
		log_warn("etcd %s: %s: malformed watch message: %s", e->name,
			 e->endpoints[w->x.ep], err.msg);
		etcd_watch_lost(w, &err);
		return false;
	}
	if (kind != ETCD_OK) {
		if (etcd_watch_error_permanent(&err))
			etcd_watch_over(w, NULL, &err);
		else
			etcd_watch_lost(w, &err);
		return false;
	}
	if (m.created) {
		bool first_time = !w->created_once, was_lost = w->lost;

		ev_timer_stop(e->loop, &w->timer);
		w->phase = ETCD_WATCH_RUNNING;
		w->backoff_ms = 0;
		if (first_time && w->next_rev == 0 && w->start_revision == 0)
			w->next_rev = m.header.revision + 1;
		w->created_once = true;
		w->lost = false;
		if (!m.canceled) {
			if (first_time) {
				memset(&err, 0, sizeof(err));
				alive = etcd_watch_tell(w, ETCD_WATCH_CREATED, &err);
			} else if (was_lost) {
				etcd_set_err(&err, ETCD_OK, 0, "from revision %" PRId64 " on %s",
					     w->next_rev, e->endpoints[w->x.ep]);
				log_notice("etcd %s: watch resumed from revision %" PRId64 " on %s",
					   e->name, w->next_rev, e->endpoints[w->x.ep]);
				alive = etcd_watch_tell(w, ETCD_WATCH_RESUMED, &err);
			}
		}
	}
	if (alive && m.canceled) {
		etcd_watch_over(w, &m, NULL);
		alive = false;
	}
	if (!alive)
		goto out;
	if (w->phase != ETCD_WATCH_RUNNING) {
		etcd_bad(&err, "a watch message before the watch was created");
		e->ctr.malformed++;
		etcd_watch_lost(w, &err);
		alive = false;
		goto out;
	}
	/* what a resumed stream sends again is dropped */
	while (first < m.n_events && m.events[first].kv.mod_revision <= w->last_rev)
		first++;
	if (first < m.n_events) {
		w->last_rev = m.events[m.n_events - 1].kv.mod_revision;
		if (w->next_rev < w->last_rev + 1)
			w->next_rev = w->last_rev + 1;
		e->ctr.watch_events += m.n_events - first;
		etcd_watch_enter(w);
		w->on_events(w->arg, m.header.revision, m.events + first, m.n_events - first);
		alive = etcd_watch_leave(w);
	} else if (m.n_events == 0 && !m.created && m.header.revision > 0) {
		/*
		 * A progress notification. Resume from its revision, not after it:
		 * etcd 3.4 may send one before the events of that revision (etcd
		 * issue 15220); anything sent twice is dropped above.
		 */
		if (w->next_rev < m.header.revision)
			w->next_rev = m.header.revision;
		etcd_watch_enter(w);
		w->on_events(w->arg, m.header.revision, NULL, 0);
		alive = etcd_watch_leave(w);
	}
out:
	etcd_watch_msg_clear(&m);
	return alive;
}

/* Every complete line received on w's stream. */
static bool etcd_watch_drain(struct etcd_watch *w)
{
	struct ila_buf *b = &w->x.resp;
	size_t off = 0;
	bool alive = true;

	w->queued = false;
	if (w->http_status == 0)
		curl_easy_getinfo(w->x.easy, CURLINFO_RESPONSE_CODE, &w->http_status);
	if (w->http_status != 200)
		return true; /* an error body: read whole when the transfer ends */
	w->busy++;
	while (alive && off < b->len) {
		const char *nl = memchr(b->data + off, '\n', b->len - off);
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - (b->data + off));
		if (n > 0 && !(n == 1 && b->data[off] == '\r'))
			alive = etcd_watch_msg(w, b->data + off, n);
		off += n + 1;
	}
	/* the stream's buffer is reset when it was lost or ended */
	if (alive && w->phase != ETCD_WATCH_WAITING && w->phase != ETCD_WATCH_OVER)
		ila_buf_consume(b, off);
	w->busy--;
	if (w->busy == 0 && w->canceled) {
		etcd_watch_free(w);
		return false;
	}
	return alive && !w->canceled;
}

/* The stream's transfer ended (the caller removed it from the multi). */
static void etcd_watch_done(struct etcd_watch *w, CURLcode cc)
{
	struct etcd *e = w->e;
	struct etcd_error err;
	long http = 0;

	w->x.in_multi = false;
	curl_easy_getinfo(w->x.easy, CURLINFO_RESPONSE_CODE, &http);
	w->http_status = http;
	if (http == 200 && !etcd_watch_drain(w))
		return;
	if (w->phase == ETCD_WATCH_WAITING || w->phase == ETCD_WATCH_OVER)
		return;
	/* the gateway writes its last message, an error, without a newline */
	if (http == 200 && cc == CURLE_OK && w->partial > 0 && w->partial == w->x.resp.len) {
		w->busy++;
		bool alive = etcd_watch_msg(w, w->x.resp.data, w->x.resp.len);

		w->busy--;
		if (w->busy == 0 && w->canceled) {
			etcd_watch_free(w);
			return;
		}
		if (!alive || w->phase == ETCD_WATCH_WAITING || w->phase == ETCD_WATCH_OVER)
			return;
	}
	if (w->x.too_big) {
		e->ctr.too_big++;
		etcd_set_err(&err, ETCD_ERR_TOO_BIG, 0, "a watch message larger than %zu bytes",
			     e->max_response);
	} else if (cc != CURLE_OK) {
		etcd_set_err(&err, cc == CURLE_OPERATION_TIMEDOUT ? ETCD_ERR_TIMEOUT :
								    ETCD_ERR_UNAVAILABLE,
			     0, "%s", w->x.errbuf[0] ? w->x.errbuf : curl_easy_strerror(cc));
	} else if (http != 200) {
		etcd_parse_error_body(w->x.resp.data ? w->x.resp.data : "", w->x.resp.len, http,
				      &err);
		if (etcd_watch_error_permanent(&err)) {
			etcd_watch_over(w, NULL, &err);
			return;
		}
	} else {
		etcd_set_err(&err, ETCD_ERR_UNAVAILABLE, 0, "the stream ended");
	}
	etcd_watch_lost(w, &err);
}

static void etcd_watch_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct etcd_watch *w = t->data;
	struct etcd *e = w->e;
	struct etcd_error err;
	int rc;

	switch (w->phase) {
	case ETCD_WATCH_WAITING:
		rc = etcd_watch_open(w);
		if (rc < 0) {
			etcd_set_err(&err, ETCD_ERR_UNAVAILABLE, 0, "cannot open a stream: %s",
				     strerror(-rc));
			etcd_watch_lost(w, &err);
		}
		break;
	case ETCD_WATCH_CONNECTING:
		etcd_set_err(&err, ETCD_ERR_TIMEOUT, 0, "%s: watch not created within %u ms",
			     e->endpoints[w->x.ep], e->request_timeout_ms);
		etcd_watch_lost(w, &err);
		break;
	case ETCD_WATCH_RUNNING:
		if (w->restart) {
			etcd_set_err(&err, ETCD_ERR_UNAVAILABLE, 0,
				     "%s failed for another request: moving",
				     e->endpoints[w->x.ep]);
			etcd_watch_lost(w, &err);
		}
		break;
	case ETCD_WATCH_OVER:
		break;
	}
}

/* Watches streaming from a failed endpoint move too (soon, from the loop). */
static void etcd_watch_endpoint_failed(struct etcd *e, size_t ep)
{
	for (struct etcd_watch *w = e->watches; w; w = w->next) {
		if (w->phase == ETCD_WATCH_RUNNING && w->x.ep == ep && !w->restart) {
			w->restart = true;
			etcd_watch_arm(w, 0);
		}
	}
}

struct etcd_watch *etcd_watch(struct etcd *e, const struct etcd_watch_req *req, char *err,
			      size_t errlen)
{
	struct etcd_watch *w;

	if (!req || !etcd_key_ok(req->key, req->key_len) ||
	    !etcd_end_ok(req->range_end, req->range_end_len) || req->start_revision < 0 ||
	    !req->on_events || !req->on_compacted || !req->on_state) {
		snprintf(err, errlen, "watch: key, callbacks and a revision >= 0 are needed");
		return NULL;
	}
	if (e->closing) {
		snprintf(err, errlen, "watch: the client is closing");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto nomem;
	w->x.owner = ETCD_XFER_WATCH;
	w->x.rewind_ok = true;
	ila_buf_init(&w->x.resp);
	w->e = e;
	w->key = malloc(req->key_len);
	w->range_end = req->range_end ? malloc(req->range_end_len) : NULL;
	if (!w->key || (req->range_end && !w->range_end)) {
		free(w->key);
		free(w->range_end);
		free(w);
		goto nomem;
	}
	memcpy(w->key, req->key, req->key_len);
	w->key_len = req->key_len;
	if (req->range_end)
		memcpy(w->range_end, req->range_end, req->range_end_len);
	w->range_end_len = req->range_end_len;
	w->start_revision = req->start_revision;
	w->next_rev = req->start_revision;
	w->last_rev = req->start_revision > 0 ? req->start_revision - 1 : 0;
	w->prev_kv = req->prev_kv;
	w->progress_notify = req->progress_notify;
	w->on_events = req->on_events;
	w->on_compacted = req->on_compacted;
	w->on_state = req->on_state;
	w->arg = req->arg;
	w->phase = ETCD_WATCH_WAITING;
	ev_init(&w->timer, etcd_watch_timer_cb);
	w->timer.data = w;
	w->next = e->watches;
	if (e->watches)
		e->watches->prev = w;
	e->watches = w;
	/* opened from the loop, so that no callback runs inside this call */
	etcd_watch_arm(w, 0);
	return w;
nomem:
	snprintf(err, errlen, "watch: out of memory");
	return NULL;
}

void etcd_watch_cancel(struct etcd_watch *w)
{
	if (!w || w->canceled)
		return;
	w->canceled = true;
	etcd_xfer_stop(w->e, &w->x);
	ev_timer_stop(w->e->loop, &w->timer);
	if (w->busy == 0)
		etcd_watch_free(w);
}

int64_t etcd_watch_next_revision(const struct etcd_watch *w)
{
	return w->next_rev;
}

/* ------------------------------------------------------------------ */
/* the loop's side: after curl ran, hand out what it finished */

static void etcd_after_action(struct etcd *e)
{
	CURLMsg *msg;
	int left;
	bool again;

	/* complete watch messages first: a stream that ended may still hold some */
	do {
		again = false;
		for (struct etcd_watch *w = e->watches; w; w = w->next) {
			if (w->queued && !w->canceled) {
				etcd_watch_drain(w);
				again = true; /* the list may have changed */
				break;
			}
		}
	} while (again);

	while ((msg = curl_multi_info_read(e->multi, &left))) {
		struct etcd_xfer *x;
		char *priv = NULL;
		CURLcode cc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		curl_multi_remove_handle(e->multi, msg->easy_handle);
		x = (struct etcd_xfer *)priv;
		if (!x)
			continue;
		x->in_multi = false;
		if (x->owner == ETCD_XFER_WATCH)
			etcd_watch_done((struct etcd_watch *)x, cc);
		else
			etcd_req_done(e, (struct etcd_req *)x, cc);
	}
}

/* ------------------------------------------------------------------ */
/* the client */

static int etcd_check_file(const char *what, const char *path, char *err, size_t errlen)
{
	if (path && access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static char *etcd_strdup_opt(const char *s, bool *fail)
{
	char *c;

	if (!s)
		return NULL;
	c = strdup(s);
	if (!c)
		*fail = true;
	return c;
}

struct etcd *etcd_new(struct ev_loop *loop, const struct etcd_conf *conf, char *err,
		      size_t errlen)
{
	struct etcd *e;
	bool https = false, fail = false;
	struct curl_slist *h;

	if (!loop || !conf || conf->n_endpoints == 0 || conf->n_endpoints > ETCD_MAX_ENDPOINTS ||
	    !conf->endpoints) {
		snprintf(err, errlen, "etcd: between 1 and %d endpoints", ETCD_MAX_ENDPOINTS);
		return NULL;
	}
	for (size_t i = 0; i < conf->n_endpoints; i++) {
		const char *u = conf->endpoints[i];

		if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
		    strlen(u) > 256 || strlen(u) < 9) {
			snprintf(err, errlen, "etcd endpoint %s: not http://HOST:PORT or https://HOST:PORT",
				 u ? u : "(null)");
			return NULL;
		}
		if (u[4] == 's')
			https = true;
	}
	if (!conf->cert_file != !conf->key_file) {
		snprintf(err, errlen, "etcd: a client certificate needs its key and the other way round");
		return NULL;
	}
	if ((conf->cert_file || conf->ca_file) && !https) {
		snprintf(err, errlen, "etcd: TLS files given but no https:// endpoint");
		return NULL;
	}
	if (etcd_check_file("etcd CA file", conf->ca_file, err, errlen) < 0 ||
	    etcd_check_file("etcd certificate", conf->cert_file, err, errlen) < 0 ||
	    etcd_check_file("etcd key", conf->key_file, err, errlen) < 0)
		return NULL;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "etcd: libsodium does not initialise");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "etcd: libcurl does not initialise");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		curl_global_cleanup();
		snprintf(err, errlen, "etcd: out of memory");
		return NULL;
	}
	e->loop = loop;
	e->name = strdup(conf->name ? conf->name : "etcd");
	fail = !e->name;
	for (size_t i = 0; i < conf->n_endpoints; i++) {
		size_t n = strlen(conf->endpoints[i]);

		e->endpoints[i] = strdup(conf->endpoints[i]);
		if (!e->endpoints[i]) {
			fail = true;
			break;
		}
		e->n_endpoints++;
		if (n > 0 && e->endpoints[i][n - 1] == '/')
			e->endpoints[i][n - 1] = '\0';
	}
	e->ca_file = etcd_strdup_opt(conf->ca_file, &fail);
	e->cert_file = etcd_strdup_opt(conf->cert_file, &fail);
	e->key_file = etcd_strdup_opt(conf->key_file, &fail);
	e->request_timeout_ms = conf->request_timeout_ms ? conf->request_timeout_ms :
							   ETCD_DEFAULT_REQUEST_TIMEOUT_MS;
	e->connect_timeout_ms = conf->connect_timeout_ms ? conf->connect_timeout_ms :
							   ETCD_DEFAULT_CONNECT_TIMEOUT_MS;
	if (e->connect_timeout_ms > e->request_timeout_ms)
		e->connect_timeout_ms = e->request_timeout_ms;
	e->max_requests = conf->max_requests ? conf->max_requests : ETCD_DEFAULT_MAX_REQUESTS;
	e->max_response = conf->max_response_bytes ? conf->max_response_bytes :
						     ETCD_DEFAULT_MAX_RESPONSE_BYTES;
	e->watch_retry_max_ms = conf->watch_retry_max_ms ? conf->watch_retry_max_ms :
							   ETCD_DEFAULT_WATCH_RETRY_MAX_MS;
	if (e->watch_retry_max_ms < ETCD_WATCH_RETRY_MIN_MS)
		e->watch_retry_max_ms = ETCD_WATCH_RETRY_MIN_MS;

	/*
	 * Expect: curl would wait for "100 Continue" before larger bodies.
	 * Grpc-Metadata-hasleader: the gateway passes it on as gRPC metadata,
	 * and etcd then refuses requests ("etcdserver: no leader", before
	 * handling them) and ends watches on a member that has lost its leader,
	 * instead of leaving them waiting or quiet in a partitioned minority.
	 * Serializable reads and status go without it: they are what still
	 * works there.
	 */
	h = curl_slist_append(NULL, "Content-Type: application/json");
	e->headers_any = h;
	if (h)
		h = curl_slist_append(e->headers_any, "Expect:");
	e->headers = h = h ? curl_slist_append(NULL, "Content-Type: application/json") : NULL;
	if (h)
		h = curl_slist_append(e->headers, "Expect:");
	if (h)
		h = curl_slist_append(e->headers, "Grpc-Metadata-hasleader: true");
	e->multi = curl_multi_init();
	if (!h || !e->multi)
		fail = true;
	if (fail) {
		snprintf(err, errlen, "etcd: out of memory");
		etcd_free(e);
		return NULL;
	}
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, etcd_curl_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, etcd_curl_timer);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	ev_init(&e->curl_timer, etcd_timer_cb);
	e->curl_timer.data = e;
	return e;
}

void etcd_free(struct etcd *e)
{
	if (!e)
		return;
	assert(e->in_callback == 0); /* not from a callback of this client */
	e->closing = true;
	while (e->reqs) {
		struct etcd_req *r = e->reqs;
		struct etcd_error err;

		etcd_xfer_stop(e, &r->x);
		etcd_req_unlink(e, r);
		etcd_set_err(&err, ETCD_ERR_CANCELED, 0, "the etcd client is closing");
		etcd_req_deliver(e, r, &err);
	}
	while (e->watches)
		etcd_watch_free(e->watches);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->loop)
		ev_timer_stop(e->loop, &e->curl_timer);
	while (e->socks) {
		struct etcd_sock *sk = e->socks;

		ev_io_stop(e->loop, &sk->io);
		e->socks = sk->next;
		free(sk);
	}
	curl_slist_free_all(e->headers);
	curl_slist_free_all(e->headers_any);
	for (size_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	free(e->name);
	free(e);
	curl_global_cleanup();
}
