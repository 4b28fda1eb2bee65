/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd client: error records, base64, JSON request bodies, and the checked readers of fields. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "etcd_int.h"

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

enum etcd_err etcd_set_err(struct etcd_error *err, enum etcd_err kind, int code,
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

/* ------------------------------------------------------------------ */
/* base64 (libsodium, the original alphabet with padding, as protobuf's JSON) */

int etcd_b64_add(struct json_object *o, const char *k, const uint8_t *p, size_t n)
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

int etcd_json_add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* int64 as a JSON string, as protobuf's JSON mapping writes it */
int etcd_json_add_i64(struct json_object *o, const char *k, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return etcd_json_add(o, k, json_object_new_string(s));
}

int etcd_json_add_bool(struct json_object *o, const char *k, bool v)
{
	if (!v)
		return 0;
	return etcd_json_add(o, k, json_object_new_boolean(1));
}

char *etcd_json_finish(struct json_object *o, size_t *len)
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

struct json_object *etcd_json_parse(const char *body, size_t len, struct etcd_error *err)
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
bool etcd_get_i64(struct json_object *o, const char *k, int64_t min, int64_t *out,
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

bool etcd_get_u64(struct json_object *o, const char *k, uint64_t *out,
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

bool etcd_get_bool(struct json_object *o, const char *k, bool *out,
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
bool etcd_get_obj(struct json_object *o, const char *k, struct json_object **out,
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
bool etcd_get_array(struct json_object *o, const char *k, struct json_object **out,
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
bool etcd_get_str(struct json_object *o, const char *k, const char **out,
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
bool etcd_get_bytes(struct json_object *o, const char *k, uint8_t **out, size_t *len,
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
