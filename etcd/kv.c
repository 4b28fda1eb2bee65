/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd client: unary requests (range, txn, leases, status), their failover and delivery. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "etcd_int.h"
#include "log.h"

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

void etcd_req_unlink(struct etcd *e, struct etcd_req *r)
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
void etcd_req_deliver(struct etcd *e, struct etcd_req *r, struct etcd_error *err)
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
void etcd_req_done(struct etcd *e, struct etcd_req *r, CURLcode cc)
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

bool etcd_key_ok(const uint8_t *key, size_t len)
{
	return key && len > 0 && len <= ETCD_MAX_KEY_LEN;
}

bool etcd_end_ok(const uint8_t *end, size_t len)
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
