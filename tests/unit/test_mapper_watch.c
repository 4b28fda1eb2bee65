/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-mapper's interests (protocol.md 8.9): QUERY with WATCH records
 * (node, vn, address) for watch lifetime; the changes of a watched mapping
 * are pushed with WATCHED to its watchers only; RELEASE, expiry, refresh,
 * the quota, authorisation, the capability, and a session that goes.
 * The real daemon code on a real store (mapper_fixture.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapper_fixture.h"

#define A1 "2001:db8:100::1"
#define A2 "2001:db8:100::2"
#define A3 "2001:db8:100::3"
#define WCAPS (ILA_CAP_ADDR4 | ILA_CAP_STANDBY | ILA_CAP_WATCH)

static bool same_addr(const struct ila_record *r, const char *addr)
{
	struct ila_record k = fx_rec(r->vn, addr, NULL, 0, 0);

	return r->family == k.family && memcmp(&r->addr6, &k.addr6, 16) == 0;
}

static const struct ila_msg *watch1(struct fx_node *n, const char *addr)
{
	const char *a[] = { addr };

	return fx_answer(n, fx_query_flags(n, FX_BLUE, ILA_QUERY_F_WATCH, a, 1));
}

static const struct ila_msg *release1(struct fx_node *n, const char *addr)
{
	const char *a[] = { addr };

	return fx_answer(n, fx_query_flags(n, FX_BLUE, ILA_QUERY_F_RELEASE, a, 1));
}

static void test_watched_move_is_pushed_to_the_watcher_only(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct fx_node *n3 = fx_connect_caps("n3", WCAPS), *gw = fx_connect_caps("gw", WCAPS);
	const char *a1[] = { A1 };
	const struct ila_msg *r, *p;
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 4), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 4), 0);
	r = watch1(n3, A1);
	assert_non_null(r);
	assert_int_equal(r->type, ILA_MSG_REPLY);
	assert_int_equal(r->nrec, 1);
	fx_assert_loc(&r->rec[0].loc, FX_LOC_A);
	/* the answer lives no longer than the interest (watch lifetime 120) */
	assert_int_equal(r->rec[0].lifetime, 120);
	/* gw asks without WATCH: an ordinary answer, nothing remembered */
	r = fx_answer(gw, fx_query(gw, FX_BLUE, a1, 1));
	assert_int_equal(r->type, ILA_MSG_REPLY);
	assert_int_equal(r->rec[0].lifetime, 300);
	assert_int_equal(fx_mapper()->stats.watch_added, 1);
	assert_int_equal(fx_mapper()->watch_total, 1);
	fx_clear(n3);
	fx_clear(gw);

	/* the move of A1 reaches n3, flagged WATCHED; a change of A2 does not */
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 5), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_C, 6), 0);
	assert_int_equal(fx_count(n3, ILA_MSG_PUSH), 1);
	p = fx_nth(n3, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.flags, ILA_PUSH_F_WATCHED);
	assert_int_equal(p->push.vn, FX_BLUE);
	assert_int_equal(p->nrec, 1);
	assert_true(same_addr(&p->rec[0], A1));
	fx_assert_loc(&p->rec[0].loc, FX_LOC_B);
	assert_string_equal(p->rec[0].node, "n2");
	assert_int_equal(p->rec[0].seq, 5);
	assert_int_equal(p->rec[0].lifetime, 120); /* the interest's time left */
	assert_true(fx_get(FX_BLUE, A1, &mp));
	assert_true(p->push.high_seq >= mp.jseq);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_count(n2, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_mapper()->stats.watch_push_frames, 1);
	assert_int_equal(fx_mapper()->stats.watch_push_records, 1);

	/* down and removal follow, in journal order */
	fx_clear(n3);
	assert_int_equal(fx_deregister1(n2, FX_BLUE, A1, 7, ILA_STATE_DOWN), 0);
	assert_int_equal(fx_deregister1(n2, FX_BLUE, A1, 8, ILA_STATE_REMOVED), 0);
	assert_int_equal(fx_push_records(n3, FX_BLUE), 2);
	assert_int_equal(fx_push_record(n3, FX_BLUE, 0)->state, ILA_STATE_DOWN);
	assert_int_equal(fx_push_record(n3, FX_BLUE, 1)->state, ILA_STATE_REMOVED);
	assert_true(fx_nth(n3, ILA_MSG_PUSH, 0)->push.high_seq <=
		    fx_nth(n3, ILA_MSG_PUSH, 1)->push.high_seq);
}

static void test_address_without_mapping_is_watched_until_registered(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n3 = fx_connect_caps("n3", WCAPS);
	const struct ila_msg *r;

	(void)state;
	r = watch1(n3, A3);
	assert_int_equal(r->type, ILA_MSG_REPLY);
	assert_int_equal(r->nrec, 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A3, FX_LOC_A, 1), 0);
	assert_int_equal(fx_push_records(n3, FX_BLUE), 1);
	assert_true(same_addr(fx_push_record(n3, FX_BLUE, 0), A3));
	assert_int_equal(fx_push_record(n3, FX_BLUE, 0)->state, ILA_STATE_UP);
}

static void test_release_drops_the_interest_with_an_empty_reply(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct fx_node *n3 = fx_connect_caps("n3", WCAPS);
	const struct ila_msg *r;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 4), 0);
	watch1(n3, A1);
	r = release1(n3, A1);
	assert_non_null(r);
	assert_int_equal(r->type, ILA_MSG_REPLY);
	assert_int_equal(r->nrec, 0);
	assert_int_equal(fx_mapper()->stats.watch_released, 1);
	assert_int_equal(fx_mapper()->watch_total, 0);
	/* releasing what is not watched is harmless */
	r = release1(n3, A2);
	assert_int_equal(r->type, ILA_MSG_REPLY);
	assert_int_equal(fx_mapper()->stats.watch_released, 1);
	fx_clear(n3);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 5), 0);
	assert_int_equal(fx_count(n3, ILA_MSG_PUSH), 0);
}

static void test_interest_expires_and_a_later_watch_refreshes_it(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct fx_node *n3 = fx_connect_caps("n3", WCAPS);

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 4), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 4), 0);
	watch1(n3, A1);
	watch1(n3, A2);
	fx_at(FX_T0 + 100);
	watch1(n3, A1); /* refreshed: until T0 + 220 */
	assert_int_equal(fx_mapper()->stats.watch_refreshed, 1);
	fx_at(FX_T0 + 121);
	fx_expire();
	assert_int_equal(fx_mapper()->stats.watch_expired, 1); /* A2's */
	assert_int_equal(fx_mapper()->watch_total, 1);
	fx_clear(n3);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 5), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A2, FX_LOC_B, 5), 0);
	assert_int_equal(fx_push_records(n3, FX_BLUE), 1);
	assert_true(same_addr(fx_push_record(n3, FX_BLUE, 0), A1));
	/* pushed with the time its interest has left: until T0 + 220 */
	assert_int_equal(fx_push_record(n3, FX_BLUE, 0)->lifetime, 99);
	fx_at(FX_T0 + 221);
	fx_expire();
	assert_int_equal(fx_mapper()->stats.watch_expired, 2);
	assert_int_equal(fx_mapper()->watch_total, 0);
}

static void test_watch_quota_refuses_the_query_whole(void **state)
{
	struct fx_node *n3 = fx_connect_caps("n3", WCAPS);
	const char *two[] = { A1, A2 }, *three[] = { A1, A2, A3 };
	const struct ila_msg *r;

	(void)state;
	r = fx_answer(n3, fx_query_flags(n3, FX_BLUE, ILA_QUERY_F_WATCH, two, 2));
	assert_int_equal(r->type, ILA_MSG_REPLY);
	r = fx_answer(n3, fx_query_flags(n3, FX_BLUE, ILA_QUERY_F_WATCH, three, 3));
	assert_int_equal(r->type, ILA_MSG_ERROR);
	assert_int_equal(r->error.code, ILA_PERR_QUOTA);
	assert_non_null(strstr(r->error.text, "watch max 2"));
	assert_int_equal(fx_mapper()->stats.watch_quota, 1);
	assert_int_equal(fx_mapper()->watch_total, 2);
	/* refreshing what is held takes no room */
	r = fx_answer(n3, fx_query_flags(n3, FX_BLUE, ILA_QUERY_F_WATCH, two, 2));
	assert_int_equal(r->type, ILA_MSG_REPLY);
	/* after a release there is room again */
	release1(n3, A2);
	r = watch1(n3, A3);
	assert_int_equal(r->type, ILA_MSG_REPLY);
	assert_int_equal(fx_mapper()->watch_total, 2);
	/* another node has a quota of its own */
	struct fx_node *n2 = fx_connect_caps("n2", WCAPS);

	r = fx_answer(n2, fx_query_flags(n2, FX_BLUE, ILA_QUERY_F_WATCH, two, 2));
	assert_int_equal(r->type, ILA_MSG_REPLY);
	assert_int_equal(fx_mapper()->watch_total, 4);
}

static void test_watch_is_authorised_like_query(void **state)
{
	struct fx_node *n4 = fx_connect_caps("n4", WCAPS);
	const struct ila_msg *r;

	(void)state;
	/* n4 serves red only */
	r = watch1(n4, A1);
	assert_int_equal(r->type, ILA_MSG_ERROR);
	assert_int_equal(r->error.code, ILA_PERR_NOT_AUTHORISED);
	assert_int_equal(fx_mapper()->stats.query_not_authorised, 1);
	r = release1(n4, A1);
	assert_int_equal(r->error.code, ILA_PERR_NOT_AUTHORISED);
	const char *a[] = { A1 };

	r = fx_answer(n4, fx_query_flags(n4, 999, ILA_QUERY_F_WATCH, a, 1));
	assert_int_equal(r->error.code, ILA_PERR_VN_UNKNOWN);
	assert_int_equal(fx_mapper()->stats.watch_added, 0);
	assert_int_equal(fx_mapper()->watch_total, 0);
}

static void test_watch_needs_the_capability(void **state)
{
	struct fx_node *n3 = fx_connect("n3"); /* no WATCH in its OPEN */
	const char *a[] = { A1 };
	const struct ila_msg *r;

	(void)state;
	r = watch1(n3, A1);
	assert_int_equal(r->type, ILA_MSG_ERROR);
	assert_int_equal(r->error.code, ILA_PERR_UNSUPPORTED);
	r = release1(n3, A1);
	assert_int_equal(r->error.code, ILA_PERR_UNSUPPORTED);
	assert_int_equal(fx_mapper()->stats.unsupported, 2);
	assert_int_equal(fx_mapper()->watch_total, 0);
	/* both flags at once make no sense */
	struct fx_node *n2 = fx_connect_caps("n2", WCAPS);

	r = fx_answer(n2, fx_query_flags(n2, FX_BLUE, ILA_QUERY_F_WATCH | ILA_QUERY_F_RELEASE, a, 1));
	assert_int_equal(r->error.code, ILA_PERR_BAD_VALUE);
	assert_int_equal(fx_mapper()->watch_total, 0);
}

static void test_interests_go_with_the_last_session(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n3 = fx_connect_caps("n3", WCAPS);
	struct fx_node *n2 = fx_connect_caps("n2", WCAPS);

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 4), 0);
	watch1(n3, A1);
	watch1(n2, A1);
	assert_int_equal(fx_mapper()->watch_total, 2);
	fx_goodbye(n3);
	fx_run();
	assert_int_equal(fx_mapper()->stats.watch_dropped, 1);
	assert_int_equal(fx_mapper()->watch_total, 1);
	/* the other watcher still hears of the move */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_C, 5), 0);
	assert_int_equal(fx_push_records(n2, FX_BLUE), 1);
}

/* A failover promotion (8.3) is a change like any: pushed to the watcher. */
static void test_failover_promotion_is_pushed_to_the_watcher(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct fx_node *n3 = fx_connect_caps("n3", WCAPS);
	struct ila_record sb = fx_rec(FX_BLUE, A1, FX_LOC_B, 1, 300);
	const struct ila_record *p;

	(void)state;
	sb.flags = ILA_REC_F_STANDBY_REG;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_register(n2, &sb, 1);
	watch1(n3, A1);
	fx_clear(n3);
	fx_hangup(n1); /* n1 died: n2's standby is promoted */
	fx_run();
	assert_int_equal(fx_mapper()->stats.failovers, 1);
	assert_int_equal(fx_push_records(n3, FX_BLUE), 1);
	p = fx_push_record(n3, FX_BLUE, 0);
	assert_true(fx_nth(n3, ILA_MSG_PUSH, 0)->push.flags & ILA_PUSH_F_WATCHED);
	assert_string_equal(p->node, "n2");
	fx_assert_loc(&p->loc, FX_LOC_B);
	assert_true(p->flags & ILA_REC_F_PROMOTED);
}

/* A reload renumbers the nodes: interests follow their node by name; a node
 * no longer allowed to read the vn loses its own. */
static void test_reload_keeps_interests_by_node_name_and_rights(void **state)
{
	static const char text[] = "plaintext\nnode gw\nnode n4\nnode n3\nnode n2\nnode n1\n"
				   "vn blue id 100 sir-prefix 2001:db8:100::/64\n"
				   "vn blue serve n1 n2\n";
	struct fx_node *n2 = fx_connect_caps("n2", WCAPS), *n3 = fx_connect_caps("n3", WCAPS);
	struct mapper *m = fx_mapper();
	struct ila_conf *old = m->conf, *nc = calloc(1, sizeof(*nc));
	struct ila_record r = fx_rec(FX_BLUE, A1, NULL, 0, 0);
	char err[256];

	(void)state;
	watch1(n2, A1);
	watch1(n3, A1);
	assert_int_equal(m->watch_total, 2);
	assert_non_null(nc);
	ila_conf_init(nc, ILA_CONF_MAPPER);
	assert_int_equal(ila_conf_parse_buf(nc, "t", text, strlen(text), err, sizeof(err)), 0);
	m->conf = nc;
	watch_reconfigure(m, old);
	assert_int_equal(m->watch_total, 1);
	assert_int_equal(m->stats.watch_dropped, 1);
	assert_true(watch_has(m, 3, &r)); /* n2, now the fourth node */
	assert_int_equal(watch_count(m, 3), 1);
	assert_false(watch_has(m, 2, &r)); /* n3: not allowed any more */
	m->conf = old;
	watch_stop(m);
	ila_conf_free(nc);
	free(nc);
}

static const struct fx_conf quota2 = { .watch_max = 2 };

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
#define TC(f, conf) cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, \
							       (void *)&conf)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_watched_move_is_pushed_to_the_watcher_only),
		T(test_address_without_mapping_is_watched_until_registered),
		T(test_release_drops_the_interest_with_an_empty_reply),
		T(test_interest_expires_and_a_later_watch_refreshes_it),
		TC(test_watch_quota_refuses_the_query_whole, quota2),
		T(test_watch_is_authorised_like_query),
		T(test_watch_needs_the_capability),
		T(test_interests_go_with_the_last_session),
		T(test_failover_promotion_is_pushed_to_the_watcher),
		T(test_reload_keeps_interests_by_node_name_and_rights),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
