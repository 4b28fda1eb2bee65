/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-mapper's sessions (server.c, session.c) as the directory and the
 * pushes see them: the rules of doc/protocol.md 8.1 (OPEN, negotiated
 * timers and capabilities), 8.2 and 8.5 (requests, errors in a session),
 * each case named after the rule it proves. Same fixture as
 * test_mapper_directory.c (mapper_fixture.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mapper_fixture.h"
#include "session.h"
#include "util.h"

#define A1 "2001:db8:100::1"

/* ---- OPEN (8.1) ---- */

static void test_open_is_answered_with_every_capability_the_mapper_implements(void **state)
{
	struct fx_node *n = fx_adopt("n1");
	struct ila_msg o = fx_open_msg("n1", ILA_CAP_ADDR4);
	const struct ila_msg *a;

	(void)state;
	fx_send(n, &o);
	fx_run();
	a = fx_answer(n, o.xid);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_OPEN);
	assert_int_equal(a->open.role, ILA_ROLE_MAPPER);
	assert_int_equal(a->open.caps,
			 ILA_CAP_ADDR4 | ILA_CAP_STANDBY | ILA_CAP_ANYCAST | ILA_CAP_WATCH);
	/* what the session may use is the AND */
	assert_int_equal(fx_session("n1")->caps, ILA_CAP_ADDR4);
}

static void test_open_negotiates_the_smaller_dead_interval_and_a_third_as_keepalive(void **state)
{
	struct fx_node *n = fx_adopt("n1");
	struct ila_msg o = fx_open_msg("n1", 0);
	struct session *s;

	(void)state;
	o.open.dead_ms = 30000; /* the mapper's is 600000, its keepalive 60000 */
	o.open.keepalive_ms = 1000;
	fx_send(n, &o);
	fx_run();
	s = fx_session("n1");
	assert_non_null(s);
	assert_true(s->dead_w.repeat > 29.999 && s->dead_w.repeat < 30.001);
	assert_true(s->keepalive_w.repeat > 9.999 && s->keepalive_w.repeat < 10.001);
	/* the mapper's OPEN carries its own configured timers */
	assert_int_equal(fx_answer(n, o.xid)->open.dead_ms, 600000);
	assert_int_equal(fx_answer(n, o.xid)->open.keepalive_ms, 60000);
}

static void test_second_open_is_unexpected_and_closes_the_session(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_msg o = fx_open_msg("n1", ILA_CAP_ADDR4);
	const struct ila_msg *a;

	(void)state;
	fx_send(n1, &o);
	fx_run();
	a = fx_answer(n1, o.xid);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_UNEXPECTED);
	assert_true(n1->eof);
	assert_null(fx_session("n1"));
}

static void test_open_with_role_mapper_is_unexpected_and_closes(void **state)
{
	struct fx_node *n = fx_adopt("n1");
	struct ila_msg o = fx_open_msg("n1", 0);
	const struct ila_msg *a;

	(void)state;
	o.open.role = ILA_ROLE_MAPPER;
	fx_send(n, &o);
	fx_run();
	a = fx_answer(n, o.xid);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_UNEXPECTED);
	assert_true(n->eof);
}

static void test_request_before_open_is_unexpected_and_closes(void **state)
{
	struct fx_node *n = fx_adopt("n1");
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300);
	struct ila_msg msg = { .type = ILA_MSG_REGISTER, .xid = fx_xid(), .rec = &r, .nrec = 1 };
	const struct ila_msg *a;
	struct mapping mp;

	(void)state;
	fx_send(n, &msg);
	fx_run();
	a = fx_answer(n, msg.xid);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_UNEXPECTED);
	assert_true(n->eof);
	assert_false(fx_get(FX_BLUE, A1, &mp));
}

static void test_open_of_a_node_not_configured_is_not_authorised(void **state)
{
	struct fx_node *n = fx_adopt("n9");
	struct ila_msg o = fx_open_msg("n9", 0);
	const struct ila_msg *a;

	(void)state;
	fx_send(n, &o);
	fx_run();
	a = fx_answer(n, o.xid);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_NOT_AUTHORISED);
	assert_true(n->eof);
}

/* ---- capabilities (8.1) ---- */

static void test_record_needing_a_capability_not_negotiated_refuses_the_whole_request(void **state)
{
	struct fx_node *n1 = fx_connect_caps("n1", ILA_CAP_STANDBY);
	struct ila_record r[2] = { fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300),
				   fx_rec(FX_BLUE, "10.100.0.1", FX_LOC_A, 1, 300) };
	const struct ila_msg *a;
	struct mapping mp;

	(void)state;
	a = fx_answer(n1, fx_register(n1, r, 2));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_UNSUPPORTED);
	/* none of its records is applied, not even the first */
	assert_false(fx_get(FX_BLUE, A1, &mp));
	assert_false(fx_get(FX_BLUE, "10.100.0.1", &mp));
	assert_int_equal(fx_mapper()->stats.unsupported, 1);
	/* the session goes on */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
}

static void test_standby_registration_without_standby_capability_is_unsupported(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect_caps("n2", ILA_CAP_ADDR4);
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_B, 1, 300);
	const struct ila_msg *a;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	r.flags = ILA_REC_F_STANDBY_REG;
	a = fx_answer(n2, fx_register(n2, &r, 1));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_UNSUPPORTED);
	assert_false(fx_mapper()->stats.standby_registrations);
}

static void test_query_of_ipv4_address_without_addr4_capability_is_unsupported(void **state)
{
	struct fx_node *gw = fx_connect_caps("gw", 0);
	const char *q[1] = { "10.100.0.1" };
	const struct ila_msg *a;

	(void)state;
	a = fx_answer(gw, fx_query(gw, FX_BLUE, q, 1));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_UNSUPPORTED);
}

/* ---- requests and errors in a session (8.2, 8.5) ---- */

static void test_push_from_a_node_is_unexpected_and_the_session_survives(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_msg p = { .type = ILA_MSG_PUSH, .xid = fx_xid() };
	const struct ila_msg *a;

	(void)state;
	p.push.vn = FX_BLUE;
	p.push.high_seq = 1;
	fx_send(n1, &p);
	fx_run();
	a = fx_answer(n1, p.xid);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_UNEXPECTED);
	assert_false(n1->eof);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
}

static void test_malformed_frame_is_answered_with_its_code_and_xid(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	uint8_t frame[ILA_PROTO_HDR_LEN] = { ILA_PROTO_VERSION, 99 };
	const struct ila_msg *e;

	(void)state;
	ila_put_be32(frame + 4, sizeof(frame));
	ila_put_be32(frame + 8, 4242);
	fx_send_raw(n1, frame, sizeof(frame));
	fx_run();
	e = fx_answer(n1, 4242);
	assert_non_null(e);
	assert_int_equal(e->type, ILA_MSG_ERROR);
	assert_int_equal(e->error.code, ILA_PERR_UNKNOWN_TYPE);
	assert_false(n1->eof);
}

static void test_session_closes_at_limit_malformed_frames(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	uint8_t frame[ILA_PROTO_HDR_LEN] = { ILA_PROTO_VERSION, 99 };

	(void)state;
	ila_put_be32(frame + 4, sizeof(frame));
	for (uint32_t i = 1; i <= 9; i++) {
		ila_put_be32(frame + 8, i);
		fx_send_raw(n1, frame, sizeof(frame));
	}
	fx_run();
	assert_false(n1->eof);
	assert_int_equal(fx_count(n1, ILA_MSG_ERROR), 9);
	ila_put_be32(frame + 8, 10);
	fx_send_raw(n1, frame, sizeof(frame)); /* the tenth (limit malformed 10) */
	fx_run();
	assert_true(n1->eof);
	assert_int_equal(fx_count(n1, ILA_MSG_ERROR), 10); /* each answered first */
	assert_int_equal(fx_mapper()->stats.malformed_closes, 1);
}

static void test_bad_version_closes_the_session(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	uint8_t frame[ILA_PROTO_HDR_LEN] = { 2, ILA_MSG_KEEPALIVE };
	const struct ila_msg *e;

	(void)state;
	ila_put_be32(frame + 4, sizeof(frame));
	fx_send_raw(n1, frame, sizeof(frame));
	fx_run();
	assert_true(n1->eof);
	e = fx_nth(n1, ILA_MSG_ERROR, 0);
	assert_non_null(e);
	assert_int_equal(e->error.code, ILA_PERR_BAD_VERSION);
	assert_int_equal(e->xid, 0);
}

static void test_keepalive_is_not_answered(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_msg k = { .type = ILA_MSG_KEEPALIVE };

	(void)state;
	fx_send(n1, &k);
	fx_run();
	assert_int_equal(n1->n, 0);
	assert_false(n1->eof);
}

/* ---- a session's subscriptions ---- */

static void test_subscription_slots_grow_to_one_per_possible_vn_and_keep_their_contents(
	void **state)
{
	struct session s = { .nsubs = 0 };
	struct subscription *sub;
	unsigned n;

	(void)state;
	/* nothing allocated before the first SUBSCRIBE */
	assert_null(session_subs(&s, &n));
	assert_int_equal(n, 0);
	for (uint32_t vn = 1; vn <= ILA_CONF_MAX_VNS; vn++) {
		sub = session_sub_add(&s);
		assert_non_null(sub);
		assert_int_equal(sub->vn, 0); /* zeroed */
		sub->vn = vn;
		sub->pos = vn * 10;
	}
	assert_null(session_sub_add(&s));
	sub = session_subs(&s, &n);
	assert_int_equal(n, ILA_CONF_MAX_VNS);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(sub[i].vn, i + 1);
		assert_int_equal(sub[i].pos, (i + 1) * 10);
	}
	session_sub_del(&s, &sub[0]);
	sub = session_subs(&s, &n);
	assert_int_equal(n, ILA_CONF_MAX_VNS - 1);
	assert_int_equal(sub[0].vn, 2);
	assert_non_null(session_sub_add(&s));
	free(s.subs);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_is_answered_with_every_capability_the_mapper_implements),
		T(test_open_negotiates_the_smaller_dead_interval_and_a_third_as_keepalive),
		T(test_second_open_is_unexpected_and_closes_the_session),
		T(test_open_with_role_mapper_is_unexpected_and_closes),
		T(test_request_before_open_is_unexpected_and_closes),
		T(test_open_of_a_node_not_configured_is_not_authorised),
		T(test_record_needing_a_capability_not_negotiated_refuses_the_whole_request),
		T(test_standby_registration_without_standby_capability_is_unsupported),
		T(test_query_of_ipv4_address_without_addr4_capability_is_unsupported),
		T(test_push_from_a_node_is_unexpected_and_the_session_survives),
		T(test_malformed_frame_is_answered_with_its_code_and_xid),
		T(test_session_closes_at_limit_malformed_frames),
		T(test_bad_version_closes_the_session),
		T(test_keepalive_is_not_answered),
		cmocka_unit_test(
			test_subscription_slots_grow_to_one_per_possible_vn_and_keep_their_contents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
