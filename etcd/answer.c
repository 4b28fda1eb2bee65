/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd client: reading the gateway's answers, every field checked (test_etcd_parse, fuzz_etcd). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "etcd_int.h"

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

void etcd_range_result_clear(struct etcd_range_result *r)
{
	etcd_kvs_free(r->kvs, r->n_kvs);
	memset(r, 0, sizeof(*r));
}

bool etcd_parse_range_body(struct json_object *o, struct etcd_range_result *r,
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

void etcd_txn_result_clear(struct etcd_txn_result *t)
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
bool etcd_parse_txn_body(struct json_object *o, struct etcd_txn_result *t,
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

enum etcd_err etcd_parse_error_body(const char *body, size_t len, long http,
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

enum etcd_err etcd_parse_lease(enum etcd_answer kind, const char *body, size_t len,
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

void etcd_status_result_clear(struct etcd_status_result *s)
{
	if (s->errors) {
		for (size_t i = 0; i < s->n_errors; i++)
			free((char *)s->errors[i]);
		free((char **)s->errors);
	}
	free((char *)s->version);
	memset(s, 0, sizeof(*s));
}

enum etcd_err etcd_parse_status(const char *body, size_t len,
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

void etcd_watch_msg_clear(struct etcd_watch_msg *m)
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
enum etcd_err etcd_parse_watch_msg(const char *line, size_t len, struct etcd_watch_msg *m,
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
