/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The etcd client's reading of gateway answers (etcd/answer.c), without a member. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "etcd.h"

#define H "\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"13668033151171901709\",\"revision\":\"3\",\"raft_term\":\"2\"}"

static enum etcd_err parse(enum etcd_answer kind, const char *body, struct etcd_error *err)
{
	return etcd_parse_answer(kind, body, strlen(body), err);
}

/* The answer is refused as malformed, and the message names what. */
static void assert_malformed(enum etcd_answer kind, const char *body, const char *why)
{
	struct etcd_error err;

	assert_int_equal(parse(kind, body, &err), ETCD_ERR_MALFORMED);
	assert_int_equal(err.kind, ETCD_ERR_MALFORMED);
	if (!strstr(err.msg, why))
		fail_msg("\"%s\" does not say \"%s\"", err.msg, why);
}

static void test_prefix_end_increments_the_last_byte_below_ff(void **state)
{
	uint8_t out[8];

	assert_int_equal(etcd_prefix_end((const uint8_t *)"/a/", 3, out), 3);
	assert_memory_equal(out, "/a0", 3);
	assert_int_equal(etcd_prefix_end((const uint8_t *)"a\xff\xff", 3, out), 1);
	assert_memory_equal(out, "b", 1);
	/* nothing to increment: every key from the prefix on */
	assert_int_equal(etcd_prefix_end((const uint8_t *)"\xff\xff", 2, out), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(etcd_prefix_end((const uint8_t *)"", 0, out), 1);
	assert_int_equal(out[0], 0);
}

static void test_answers_captured_from_etcd_parse(void **state)
{
	struct etcd_error err;

	assert_int_equal(parse(ETCD_ANSWER_RANGE,
			       "{" H ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"3\","
			       "\"version\":\"2\",\"value\":\"YmF6\"}],\"count\":\"1\"}", &err), ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_RANGE, "{" H "}", &err), ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_TXN,
			       "{" H ",\"succeeded\":true,\"responses\":[{\"response_delete_range\":{\"header\":"
			       "{\"revision\":\"5\"},\"deleted\":\"1\",\"prev_kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":\"4\"}]}}]}",
			       &err), ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_LEASE_GRANT, "{" H ",\"ID\":\"4111120350077104651\",\"TTL\":\"5\"}",
			       &err), ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_LEASE_KEEPALIVE,
			       "{\"result\":{" H ",\"ID\":\"4111120350077104665\",\"TTL\":\"2\"}}\n", &err),
			 ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_LEASE_REVOKE, "{" H "}", &err), ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_STATUS,
			       "{" H ",\"version\":\"3.4.23\",\"dbSize\":\"20480\",\"leader\":\"13668033151171901709\","
			       "\"raftIndex\":\"6\",\"raftTerm\":\"2\",\"raftAppliedIndex\":\"6\",\"dbSizeInUse\":\"16384\"}",
			       &err), ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_WATCH, "{\"result\":{" H ",\"created\":true}}", &err), ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_WATCH,
			       "{\"result\":{" H ",\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"YTE=\","
			       "\"mod_revision\":\"8\"},\"prev_kv\":{\"key\":\"YTE=\",\"value\":\"Mg==\"}}]}}", &err),
			 ETCD_OK);
	/* 64-bit integers may also come as JSON numbers */
	assert_int_equal(parse(ETCD_ANSWER_RANGE, "{\"header\":{\"revision\":3},\"count\":1}", &err), ETCD_OK);
}

static void test_integers_out_of_range_or_not_integers_are_malformed(void **state)
{
	assert_malformed(ETCD_ANSWER_RANGE, "{\"header\":{\"revision\":\"9223372036854775808\"}}",
			 "header.revision: not a 64-bit integer");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"count\":\"-1\"}", "count: -1 is below 0");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"count\":\"12x\"}", "count: not a 64-bit integer");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"count\":\"\"}", "count");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"count\":1.5}", "count: not an integer");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"count\":true}", "count: not an integer");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"header\":{\"member_id\":\"18446744073709551616\"}}",
			 "header.member_id: not an unsigned 64-bit integer");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"header\":{\"member_id\":\"-1\"}}", "header.member_id");
}

static void test_bad_base64_is_malformed(void **state)
{
	assert_malformed(ETCD_ANSWER_RANGE, "{\"kvs\":[{\"key\":\"Zm9v!\"}]}", "kvs[0].key: not base64");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"kvs\":[{\"key\":\"Zm9\"}]}", "kvs[0].key: not base64");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"kvs\":[{\"key\":\"Zm9v\",\"value\":\"Y m\"}]}",
			 "kvs[0].value: not base64");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"kvs\":[{\"key\":5}]}", "kvs[0].key: not a string");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"kvs\":[{\"value\":\"Zm9v\"}]}", "kvs[0].key: missing");
}

static void test_wrong_json_types_are_malformed(void **state)
{
	assert_malformed(ETCD_ANSWER_RANGE, "{\"kvs\":{}}", "kvs: not an array");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"kvs\":[1]}", "kvs[0]: not an object");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"more\":\"true\"}", "more: not a boolean");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"header\":[]}", "header: not an object");
	assert_malformed(ETCD_ANSWER_RANGE, "[]", "not a JSON object");
	assert_malformed(ETCD_ANSWER_STATUS, "{\"version\":3}", "version: not a string");
	assert_malformed(ETCD_ANSWER_STATUS, "{\"errors\":[1]}", "errors[0]: not a string");
}

static void test_truncated_deep_or_trailing_json_is_malformed(void **state)
{
	char deep[256];
	size_t n = 0;

	assert_malformed(ETCD_ANSWER_RANGE, "{" H ",\"kvs\":[", "ends inside its JSON");
	assert_malformed(ETCD_ANSWER_RANGE, "", "ends inside its JSON");
	assert_malformed(ETCD_ANSWER_RANGE, "{" H "} x", "not JSON");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"a\":'x'}", "not JSON");
	assert_malformed(ETCD_ANSWER_RANGE, "{\"k\":\"\xff\xfe\"}", "not JSON"); /* not UTF-8 */
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "1");
	for (int i = 0; i < 40 && n < sizeof(deep) - 1; i++)
		deep[n++] = '}';
	deep[n] = '\0';
	assert_malformed(ETCD_ANSWER_RANGE, deep, "not JSON");
	/* a NUL inside the body is not the end of it */
	{
		struct etcd_error err;
		static const char body[] = "{}\0garbage";

		assert_int_equal(etcd_parse_answer(ETCD_ANSWER_RANGE, body, sizeof(body) - 1, &err),
				 ETCD_ERR_MALFORMED);
	}
}

static void test_txn_answer_must_match_one_operation_per_response(void **state)
{
	assert_malformed(ETCD_ANSWER_TXN, "{\"responses\":[{}]}", "responses[0]: no response");
	assert_malformed(ETCD_ANSWER_TXN, "{\"responses\":[{\"response_put\":{},\"response_range\":{}}]}",
			 "responses[0]: more than one response");
	assert_malformed(ETCD_ANSWER_TXN, "{\"responses\":[{\"response_txn\":{}}]}", "nested txn");
	assert_malformed(ETCD_ANSWER_TXN,
			 "{\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"!\"}]}}]}",
			 "responses[0].response_range.kvs[0].key: not base64");
}

static void test_gateway_errors_are_classified(void **state)
{
	struct etcd_error err;

	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":\"etcdserver: mvcc: required revision has been compacted\",\"message\":"
			       "\"etcdserver: mvcc: required revision has been compacted\",\"code\":11}", &err),
			 ETCD_ERR_COMPACTED);
	assert_int_equal(err.code, 11);
	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":\"etcdserver: mvcc: required revision is a future revision\",\"message\":"
			       "\"etcdserver: mvcc: required revision is a future revision\",\"code\":11}", &err),
			 ETCD_ERR_ETCD);
	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":\"etcdserver: requested lease not found\",\"message\":"
			       "\"etcdserver: requested lease not found\",\"code\":5}", &err),
			 ETCD_ERR_LEASE_GONE);
	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":\"etcdserver: duplicate key given in txn request\",\"message\":"
			       "\"etcdserver: duplicate key given in txn request\",\"code\":3}", &err),
			 ETCD_ERR_ETCD);
	assert_int_equal(err.code, 3);
	assert_string_equal(err.msg, "etcdserver: duplicate key given in txn request");
	/* a write that waited for a quorum in vain may still commit: never a refusal */
	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":\"etcdserver: request timed out\",\"message\":"
			       "\"etcdserver: request timed out\",\"code\":14}", &err),
			 ETCD_ERR_TIMEOUT);
	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":\"context deadline exceeded\",\"message\":"
			       "\"context deadline exceeded\",\"code\":2}", &err),
			 ETCD_ERR_TIMEOUT);
	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\","
			       "\"http_status\":\"Service Unavailable\"}}", &err),
			 ETCD_ERR_UNAVAILABLE);
	assert_string_equal(err.msg, "etcdserver: no leader");
	assert_int_equal(parse(ETCD_ANSWER_ERROR, "Not Found\n", &err), ETCD_ERR_MALFORMED);
	assert_non_null(strstr(err.msg, "Not Found"));
	assert_int_equal(parse(ETCD_ANSWER_ERROR, "{\"code\":\"x\"}", &err), ETCD_ERR_MALFORMED);
	/* codes out of range are malformed, and say so (found by fuzz_etcd) */
	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":{\"grpc_code\":14666666666666,\"http_code\":503,"
			       "\"message\":\"x\"}}", &err),
			 ETCD_ERR_MALFORMED);
	assert_int_equal(err.kind, ETCD_ERR_MALFORMED);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(parse(ETCD_ANSWER_ERROR,
			       "{\"error\":{\"grpc_code\":-1,\"http_code\":503,\"message\":\"x\"}}",
			       &err),
			 ETCD_ERR_MALFORMED);
	assert_int_equal(parse(ETCD_ANSWER_ERROR, "{\"code\":-5,\"message\":\"x\"}", &err),
			 ETCD_ERR_MALFORMED);
	assert_int_equal(err.kind, ETCD_ERR_MALFORMED);
}

static void test_keepalive_with_ttl_zero_means_the_lease_is_gone(void **state)
{
	struct etcd_error err;

	assert_int_equal(parse(ETCD_ANSWER_LEASE_KEEPALIVE,
			       "{\"result\":{" H ",\"ID\":\"4111120350077104665\"}}\n", &err),
			 ETCD_ERR_LEASE_GONE);
	assert_non_null(strstr(err.msg, "4111120350077104665"));
	assert_int_equal(parse(ETCD_ANSWER_LEASE_KEEPALIVE,
			       "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\","
			       "\"http_status\":\"Service Unavailable\"}}", &err),
			 ETCD_ERR_UNAVAILABLE);
	assert_malformed(ETCD_ANSWER_LEASE_KEEPALIVE, "{\"other\":1}", "neither result nor error");
	assert_malformed(ETCD_ANSWER_LEASE_GRANT, "{" H ",\"TTL\":\"5\"}", "ID: missing");
	assert_malformed(ETCD_ANSWER_LEASE_GRANT, "{" H ",\"ID\":\"7\"}", "TTL: missing");
	assert_malformed(ETCD_ANSWER_LEASE_GRANT, "{" H ",\"ID\":\"7\",\"TTL\":\"0\"}", "TTL: 0 is below 1");
	assert_int_equal(parse(ETCD_ANSWER_LEASE_GRANT, "{" H ",\"ID\":\"7\",\"TTL\":\"5\",\"error\":\"x\"}",
			       &err), ETCD_ERR_ETCD);
}

static void test_watch_messages_are_validated(void **state)
{
	struct etcd_error err;

	assert_int_equal(parse(ETCD_ANSWER_WATCH,
			       "{\"result\":{\"header\":{\"raft_term\":\"2\"},\"canceled\":true,"
			       "\"compact_revision\":\"7\"}}", &err), ETCD_OK);
	assert_int_equal(parse(ETCD_ANSWER_WATCH,
			       "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"transport is closing\","
			       "\"http_status\":\"Service Unavailable\"}}", &err), ETCD_ERR_UNAVAILABLE);
	assert_malformed(ETCD_ANSWER_WATCH,
			 "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"9\"}},"
			 "{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"8\"}}]}}",
			 "revision 8 after 9");
	assert_malformed(ETCD_ANSWER_WATCH, "{\"result\":{\"events\":[{\"type\":\"PUT\"}]}}",
			 "events[0].kv: missing");
	assert_malformed(ETCD_ANSWER_WATCH,
			 "{\"result\":{\"events\":[{\"type\":\"EXPIRE\",\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"8\"}}]}}",
			 "neither PUT nor DELETE");
	assert_malformed(ETCD_ANSWER_WATCH, "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}",
			 "mod_revision: missing");
	assert_malformed(ETCD_ANSWER_WATCH, "{\"result\":1}", "result: not an object");
	assert_int_equal(parse(ETCD_ANSWER_WATCH,
			       "{\"result\":{\"events\":[{\"type\":1,\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"8\"}}]}}",
			       &err), ETCD_OK);
}

static void test_new_refuses_a_configuration_it_cannot_use(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	const char *plain[] = { "http://127.0.0.1:2379" };
	const char *ftp[] = { "ftp://127.0.0.1:2379" };
	const char *tls[] = { "https://127.0.0.1:2379" };
	struct etcd_conf c = { .endpoints = plain, .n_endpoints = 1 };
	char err[256];
	struct etcd *e;

	c.n_endpoints = 0;
	assert_null(etcd_new(loop, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "endpoints"));
	c.n_endpoints = 1;
	c.endpoints = ftp;
	assert_null(etcd_new(loop, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "ftp://127.0.0.1:2379"));
	c.endpoints = plain;
	c.ca_file = "/etc/hostname";
	assert_null(etcd_new(loop, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "no https://"));
	c.endpoints = tls;
	c.ca_file = "/nonexistent/ca.crt";
	assert_null(etcd_new(loop, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/ca.crt"));
	c.ca_file = NULL;
	c.cert_file = "/etc/hostname";
	assert_null(etcd_new(loop, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "key"));
	c.cert_file = NULL;
	e = etcd_new(loop, &c, err, sizeof(err));
	assert_non_null(e);
	assert_int_equal(etcd_endpoint_count(e), 1);
	assert_string_equal(etcd_endpoint_url(e, 0), "https://127.0.0.1:2379");
	/* arguments checked before anything is sent */
	{
		struct etcd_range_req q = { .key = NULL };
		struct etcd_compare cmp = { .target = 9, .key = (const uint8_t *)"k", .key_len = 1 };
		struct etcd_txn_req t = { .compare = &cmp, .n_compare = 1 };

		assert_int_equal(etcd_range(e, &q, (etcd_range_cb)abort, NULL), -EINVAL);
		assert_int_equal(etcd_txn(e, &t, (etcd_txn_cb)abort, NULL), -EINVAL);
		assert_int_equal(etcd_lease_grant(e, 0, 0, (etcd_lease_cb)abort, NULL), -EINVAL);
		assert_int_equal(etcd_lease_keepalive(e, 0, (etcd_lease_cb)abort, NULL), -EINVAL);
		assert_null(etcd_watch(e, &(struct etcd_watch_req){ .key = (const uint8_t *)"k",
								   .key_len = 1 },
				       err, sizeof(err)));
	}
	etcd_free(e);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_end_increments_the_last_byte_below_ff),
		cmocka_unit_test(test_answers_captured_from_etcd_parse),
		cmocka_unit_test(test_integers_out_of_range_or_not_integers_are_malformed),
		cmocka_unit_test(test_bad_base64_is_malformed),
		cmocka_unit_test(test_wrong_json_types_are_malformed),
		cmocka_unit_test(test_truncated_deep_or_trailing_json_is_malformed),
		cmocka_unit_test(test_txn_answer_must_match_one_operation_per_response),
		cmocka_unit_test(test_gateway_errors_are_classified),
		cmocka_unit_test(test_keepalive_with_ttl_zero_means_the_lease_is_gone),
		cmocka_unit_test(test_watch_messages_are_validated),
		cmocka_unit_test(test_new_refuses_a_configuration_it_cannot_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
