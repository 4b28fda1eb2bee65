/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-mapper's directory (directory*.c) through real sessions: the rules of
 * doc/protocol.md 8.3 (registration, deregistration, standby, failover,
 * lifetimes, group commit), 9.1 and 9.3 (sequence numbers, damping) and
 * 9.2 (journal positions),
 * each case named after the rule it proves (doc/protocol.md as on main
 * after "every change takes a higher number" and tombstones). The clocks
 * are wrapped (mapper_fixture.c), so lifetimes and damping windows are
 * exact.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mapper_fixture.h"
#include "session.h"

#define A1 "2001:db8:100::1"
#define A2 "2001:db8:100::2"
#define A3 "2001:db8:100::3"
#define OUTSIDE "2001:db8:999::1"
#define RED1 "2001:db8:200::1"

static struct mapping get(uint32_t vn, const char *addr)
{
	struct mapping mp;

	if (!fx_get(vn, addr, &mp))
		fail_msg("no mapping of %s", addr);
	return mp;
}

/* gw subscribed to blue, its snapshot taken and forgotten */
static struct fx_node *subscriber(void)
{
	struct fx_node *gw = fx_connect("gw");

	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	fx_clear(gw);
	return gw;
}

static struct ila_record standby_rec(const char *addr, const char *loc)
{
	struct ila_record r = fx_rec(FX_BLUE, addr, loc, 1, 300);

	r.flags = ILA_REC_F_STANDBY_REG;
	return r;
}

/* ---- registration and sequence numbers (8.3, 9.1) ---- */

static void test_register_new_mapping_is_stored_with_its_seq_and_owner(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 5);
	assert_string_equal(mp.rec.node, "n1");
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	fx_assert_loc(&mp.rec.loc, FX_LOC_A);
	assert_int_equal(mp.rec.lifetime, 300);
	assert_int_equal(mp.expires, FX_T0 + 300);
}

static void test_register_lifetime_is_clamped_to_the_maximum(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 86400);
	const struct ila_msg *ack;

	(void)state;
	ack = fx_answer(n1, fx_register(n1, &r, 1));
	assert_non_null(ack);
	assert_int_equal(ack->type, ILA_MSG_ACK);
	assert_int_equal(ack->ack.count, 1);
	assert_int_equal(get(FX_BLUE, A1).rec.lifetime, 600);
	assert_int_equal(get(FX_BLUE, A1).expires, FX_T0 + 600);
}

static void test_register_higher_seq_from_other_node_moves_mapping(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 9), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 9);
	assert_string_equal(mp.rec.node, "n2");
	fx_assert_loc(&mp.rec.loc, FX_LOC_B);
	assert_true(mp.rec.has_prev);
	fx_assert_loc(&mp.rec.prev, FX_LOC_A);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(fx_mapper()->stats.moves, 1);
}

static void test_register_lower_seq_is_stale(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 4), ILA_PERR_STALE_SEQ);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 5);
	assert_string_equal(mp.rec.node, "n1");
	fx_assert_loc(&mp.rec.loc, FX_LOC_A);
}

static void test_register_lower_seq_from_owner_at_another_locator_is_stale(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_C, 4), ILA_PERR_STALE_SEQ);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 5);
	fx_assert_loc(&mp.rec.loc, FX_LOC_A);
}

static void test_owner_refresh_below_a_number_the_mapper_raised_keeps_that_number(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	struct ila_record r = standby_rec(A1, FX_LOC_B);
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register_rec(n2, &r), 0); /* the mapper raised it to 6 */
	fx_clear(gw);
	/* the owner's refresh crossed that push: a refresh, not stale */
	fx_at(FX_T0 + 100);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 6);
	assert_int_equal(mp.expires, FX_T0 + 100 + 300);
	assert_true(mp.rec.has_standby);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
}

static void test_equal_seq_from_other_node_stores_seq_plus_one(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 5), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 6);
	assert_string_equal(mp.rec.node, "n2");
	fx_assert_loc(&mp.rec.loc, FX_LOC_B);
}

static void test_refresh_with_same_seq_extends_the_lifetime(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_at(FX_T0 + 100);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 5);
	assert_int_equal(mp.expires, FX_T0 + 100 + 300);
	assert_int_equal(fx_mapper()->stats.refreshes, 1);
}

static void test_refresh_that_changes_nothing_is_not_pushed(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	uint64_t pos;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	fx_clear(gw);
	pos = fx_mapper()->store.committed_jseq;
	fx_at(FX_T0 + 100);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	/* nor journalled: a resuming subscriber does not get it either */
	assert_int_equal(fx_mapper()->store.committed_jseq, pos);
}

static void test_refresh_with_higher_seq_is_stored_and_pushed(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_clear(gw);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 7), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 7);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->seq, 7);
}

static void test_owner_locator_change_with_same_seq_stores_seq_plus_one(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_clear(gw);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_C, 5), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 6);
	fx_assert_loc(&mp.rec.loc, FX_LOC_C);
	assert_string_equal(mp.rec.node, "n1");
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->seq, 6);
}

static void test_refresh_changing_flags_stores_seq_plus_one(void **state)
{
	struct fx_node *n1 = fx_connect_caps("n1", ILA_CAP_ADDR4 | ILA_CAP_STANDBY | ILA_CAP_ANYCAST);
	struct fx_node *gw = subscriber();
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 300);

	(void)state;
	assert_int_equal(fx_register_rec(n1, &r), 0);
	fx_clear(gw);
	r.flags = ILA_REC_F_ANYCAST;
	assert_int_equal(fx_register_rec(n1, &r), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.flags, ILA_REC_F_ANYCAST);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 6);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->seq, 6);
}

static void test_down_mapping_moves_to_node_registering_next_seq(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 5, ILA_STATE_DOWN), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, get(FX_BLUE, A1).rec.seq + 1), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_string_equal(mp.rec.node, "n2");
	fx_assert_loc(&mp.rec.loc, FX_LOC_B);
}

/* ---- refusals before the sequence number (8.3 steps 1 and 2) ---- */

static void test_register_in_vn_not_served_is_not_authorised(void **state)
{
	struct fx_node *n4 = fx_connect("n4");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n4, FX_BLUE, A1, FX_LOC_A, 1), ILA_PERR_NOT_AUTHORISED);
	assert_false(fx_get(FX_BLUE, A1, &mp));
	assert_int_equal(fx_mapper()->stats.not_authorised, 1);
}

static void test_register_in_unknown_vn_is_vn_unknown(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, 999, A1, FX_LOC_A, 1), ILA_PERR_VN_UNKNOWN);
	assert_false(fx_get(999, A1, &mp));
}

static void test_register_addr_outside_vn_is_refused(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n4 = fx_connect("n4");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, OUTSIDE, FX_LOC_A, 1), ILA_PERR_ADDR_OUTSIDE_VN);
	/* inside another vn's prefix is outside this one's */
	assert_int_equal(fx_register1(n1, FX_BLUE, RED1, FX_LOC_A, 1), ILA_PERR_ADDR_OUTSIDE_VN);
	assert_int_equal(fx_register1(n4, FX_RED, A1, FX_LOC_A, 1), ILA_PERR_ADDR_OUTSIDE_VN);
	assert_false(fx_get(FX_BLUE, OUTSIDE, &mp));
	assert_false(fx_get(FX_BLUE, RED1, &mp));
}

static void test_register_ipv4_inside_the_vn_prefix_is_accepted(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n4 = fx_connect("n4");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, "10.100.3.4", FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, "10.101.3.4", FX_LOC_A, 1),
			 ILA_PERR_ADDR_OUTSIDE_VN);
	assert_true(fx_get(FX_BLUE, "10.100.3.4", &mp));
	assert_false(fx_get(FX_BLUE, "10.101.3.4", &mp));
	/* a vn without an ipv4 prefix holds no ipv4 address */
	assert_int_equal(fx_register1(n4, FX_RED, "10.100.3.4", FX_LOC_B, 1),
			 ILA_PERR_ADDR_OUTSIDE_VN);
}

/* ---- deregistration (8.3) ---- */

static void test_deregister_down_keeps_mapping_known_and_down(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	const struct ila_record *r;
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_clear(gw);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 5, ILA_STATE_DOWN), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_DOWN);
	assert_int_equal(mp.rec.seq, 6); /* max(SEQ, current + 1) */
	fx_assert_loc(&mp.rec.loc, FX_LOC_A);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	r = fx_push_record(gw, FX_BLUE, 0);
	assert_int_equal(r->state, ILA_STATE_DOWN);
	assert_int_equal(r->seq, mp.rec.seq);
}

static void test_deregister_with_higher_seq_stores_that_seq(void **state)
{
	struct fx_node *n1 = fx_connect("n1");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 12, ILA_STATE_DOWN), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 12);
}

static void test_deregister_removed_leaves_a_tombstone_and_pushes_removal(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	struct ila_record key;
	const struct ila_record *r;
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_clear(gw);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 5, ILA_STATE_REMOVED), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_REMOVED);
	assert_int_equal(mp.rec.seq, 6);
	assert_int_equal(mp.expires, FX_T0 + 600); /* kept for lifetime max */
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	r = fx_push_record(gw, FX_BLUE, 0);
	assert_int_equal(r->state, ILA_STATE_REMOVED);
	assert_int_equal(r->seq, 6); /* above every earlier number */
	assert_int_equal(r->family, AF_INET6);
	key = fx_rec(FX_BLUE, A1, NULL, 0, 0);
	assert_memory_equal(&r->addr6, &key.addr6, 16);
}

static void test_deregister_of_a_tombstone_is_no_mapping(void **state)
{
	struct fx_node *n1 = fx_connect("n1");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 5, ILA_STATE_REMOVED), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 9, ILA_STATE_REMOVED), ILA_PERR_NO_MAPPING);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 9, ILA_STATE_DOWN), ILA_PERR_NO_MAPPING);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 6);
}

static void test_deregister_with_seq_zero_is_stale(void **state)
{
	struct fx_node *n1 = fx_connect("n1");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 0, ILA_STATE_REMOVED), ILA_PERR_STALE_SEQ);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_UP);
}

static void test_only_the_owner_deregisters(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_deregister1(n2, FX_BLUE, A1, 5, ILA_STATE_REMOVED),
			 ILA_PERR_NOT_AUTHORISED);
	assert_int_equal(fx_deregister1(n2, FX_BLUE, A1, 9, ILA_STATE_DOWN), ILA_PERR_NOT_AUTHORISED);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 5);
	assert_string_equal(mp.rec.node, "n1");
}

static void test_deregister_of_unknown_mapping_is_no_mapping(void **state)
{
	struct fx_node *n1 = fx_connect("n1");

	(void)state;
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 1, ILA_STATE_REMOVED), ILA_PERR_NO_MAPPING);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 1, ILA_STATE_DOWN), ILA_PERR_NO_MAPPING);
}

static void test_deregister_with_seq_below_the_mapping_is_stale(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 8), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 7, ILA_STATE_REMOVED), ILA_PERR_STALE_SEQ);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 8);
}

static void test_deregister_by_previous_owner_after_move_is_refused(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 6), 0);
	/* the old owner's late cleanup must not take the new location down */
	assert_int_not_equal(fx_deregister1(n1, FX_BLUE, A1, 5, ILA_STATE_REMOVED), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_string_equal(mp.rec.node, "n2");
}

/* ---- tombstones (9.1) ---- */

/* n1 registered A1 at 5 and removed it: a tombstone at 6. */
static void tombstone(struct fx_node *n1)
{
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 5, ILA_STATE_REMOVED), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 6);
}

static void test_tombstone_refuses_older_registration_after_removal(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");

	(void)state;
	tombstone(n1);
	fx_at(FX_T0 + 10);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 3), ILA_PERR_STALE_SEQ);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_STALE_SEQ);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_REMOVED);
}

static void test_tombstone_equal_seq_is_ordered_after_it(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	tombstone(n1);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 6), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 7);
	assert_string_equal(mp.rec.node, "n2");
}

static void test_tombstone_higher_seq_is_stored_as_given(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");

	(void)state;
	tombstone(n1);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 40), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 40);
}

static void test_tombstone_is_forgotten_after_lifetime_max_without_push(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	struct mapping mp;

	(void)state;
	tombstone(n1);
	fx_clear(gw);
	fx_at(FX_T0 + 599);
	fx_expire();
	assert_true(fx_get(FX_BLUE, A1, &mp));
	fx_at(FX_T0 + 600);
	fx_expire();
	assert_false(fx_get(FX_BLUE, A1, &mp));
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_mapper()->stats.tombstones_purged, 1);
	/* forgotten: any number is accepted again */
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 1), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 1);
}

/* ---- sequence number limit (9.1) ---- */

static void test_register_seq_above_the_limit_is_seq_exhausted(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, ILA_SEQ_LIMIT + 1),
			 ILA_PERR_SEQ_EXHAUSTED);
	assert_false(fx_get(FX_BLUE, A1, &mp));
	assert_int_equal(fx_mapper()->stats.seq_exhausted, 1);
}

static void test_tie_that_would_pass_the_seq_limit_is_seq_exhausted(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, ILA_SEQ_LIMIT), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, ILA_SEQ_LIMIT),
			 ILA_PERR_SEQ_EXHAUSTED);
	assert_string_equal(get(FX_BLUE, A1).rec.node, "n1");
}

static void test_mapping_at_the_seq_limit_is_refreshed_and_expires(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, ILA_SEQ_LIMIT), 0);
	fx_at(FX_T0 + 100);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, ILA_SEQ_LIMIT), 0);
	fx_at(FX_T0 + 400);
	fx_expire(); /* the mapper's own change may pass the limit */
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_DOWN);
	assert_true(mp.rec.seq == ILA_SEQ_LIMIT + 1);
}

/* ---- standby and failover (8.3) ---- */

static void test_standby_registration_needs_a_mapping(void **state)
{
	struct fx_node *n2 = fx_connect("n2");
	struct ila_record r = standby_rec(A1, FX_LOC_B);
	const struct ila_msg *ack;
	struct mapping mp;

	(void)state;
	ack = fx_answer(n2, fx_register(n2, &r, 1));
	assert_non_null(ack);
	assert_int_equal(ack->type, ILA_MSG_ACK);
	assert_int_equal(ack->ack.count, 0);
	assert_int_equal(ack->ack.nstatus, 1);
	assert_int_equal(ack->ack.status[0], ILA_PERR_NO_MAPPING);
	assert_false(fx_get(FX_BLUE, A1, &mp));
}

static void test_standby_registration_records_standby_without_moving(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	struct ila_record r = standby_rec(A1, FX_LOC_B);
	const struct ila_msg *ack;
	const struct ila_record *p;
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_clear(gw);
	ack = fx_answer(n2, fx_register(n2, &r, 1));
	assert_non_null(ack);
	assert_int_equal(ack->ack.count, 1);
	mp = get(FX_BLUE, A1);
	assert_string_equal(mp.rec.node, "n1");
	fx_assert_loc(&mp.rec.loc, FX_LOC_A);
	assert_true(mp.rec.has_standby);
	fx_assert_loc(&mp.rec.standby, FX_LOC_B);
	assert_string_equal(mp.standby_node, "n2");
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 6); /* a change: a higher number */
	/* pushed like any other change */
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	p = fx_push_record(gw, FX_BLUE, 0);
	assert_true(p->has_standby);
	fx_assert_loc(&p->standby, FX_LOC_B);
	assert_string_equal(p->node, "n1");
	assert_int_equal(p->seq, 6);
}

static void test_standby_withdrawal_clears_it_with_a_higher_number(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	struct ila_record r = standby_rec(A1, FX_LOC_B), w;
	const struct ila_msg *ack;
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register_rec(n2, &r), 0);
	fx_clear(gw);
	/* DEREGISTER with STANDBY_REG: the standby withdraws; SEQ not compared */
	w = fx_rec(FX_BLUE, A1, NULL, 0, 0);
	w.state = ILA_STATE_REMOVED;
	w.flags = ILA_REC_F_STANDBY_REG;
	ack = fx_answer(n2, fx_deregister(n2, &w, 1));
	assert_non_null(ack);
	assert_int_equal(ack->type, ILA_MSG_ACK);
	assert_int_equal(ack->ack.count, 1);
	mp = get(FX_BLUE, A1);
	assert_false(mp.rec.has_standby);
	assert_string_equal(mp.standby_node, "");
	assert_int_equal(mp.rec.seq, 7);
	assert_int_equal(mp.rec.state, ILA_STATE_UP); /* the owner's mapping is untouched */
	assert_string_equal(mp.rec.node, "n1");
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_false(fx_push_record(gw, FX_BLUE, 0)->has_standby);
}

static void test_standby_withdrawal_by_another_node_is_not_authorised(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *n3 = fx_connect("n3");
	struct ila_record r = standby_rec(A1, FX_LOC_B), w;
	const struct ila_msg *ack;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register_rec(n2, &r), 0);
	w = fx_rec(FX_BLUE, A1, NULL, 9, 0);
	w.state = ILA_STATE_DOWN;
	w.flags = ILA_REC_F_STANDBY_REG;
	ack = fx_answer(n3, fx_deregister(n3, &w, 1));
	assert_non_null(ack);
	assert_int_equal(ack->ack.count, 0);
	assert_int_equal(ack->ack.status[0], ILA_PERR_NOT_AUTHORISED);
	/* nor may the owner withdraw another node's offer this way */
	fx_clear(n1);
	ack = fx_answer(n1, fx_deregister(n1, &w, 1));
	assert_non_null(ack);
	assert_int_equal(ack->ack.status[0], ILA_PERR_NOT_AUTHORISED);
	assert_true(get(FX_BLUE, A1).rec.has_standby);
}

static void test_standby_field_in_a_register_is_ignored(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 300);

	(void)state;
	assert_int_equal(fx_register_rec(n1, &r), 0);
	fx_clear(gw);
	r.standby = fx_loc(FX_LOC_C);
	r.has_standby = true;
	assert_int_equal(fx_register_rec(n1, &r), 0);
	assert_false(get(FX_BLUE, A1).rec.has_standby);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 5);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0); /* nothing changed */
}

static void test_move_by_the_standby_node_clears_the_standby(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct ila_record r = standby_rec(A1, FX_LOC_B);
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_register(n2, &r, 1);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, get(FX_BLUE, A1).rec.seq + 1), 0);
	mp = get(FX_BLUE, A1);
	assert_string_equal(mp.rec.node, "n2");
	fx_assert_loc(&mp.rec.loc, FX_LOC_B);
	assert_false(mp.rec.has_standby);
	assert_string_equal(mp.standby_node, "");
}

/* n1 owns A1 at locator A with n2 standing by at B; gw subscribes. */
static void failover_setup(struct fx_node **n1, struct fx_node **n2, struct fx_node **gw)
{
	struct ila_record r = standby_rec(A1, FX_LOC_B);

	*n1 = fx_connect("n1");
	*n2 = fx_connect("n2");
	*gw = subscriber();
	assert_int_equal(fx_register1(*n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_register(*n2, &r, 1);
	assert_true(get(FX_BLUE, A1).rec.has_standby);
	fx_clear(*gw);
}

static void assert_promoted(struct fx_node *gw, uint64_t seq_before)
{
	const struct ila_record *p;
	struct mapping mp = get(FX_BLUE, A1);

	assert_string_equal(mp.rec.node, "n2");
	fx_assert_loc(&mp.rec.loc, FX_LOC_B);
	assert_false(mp.rec.has_standby);
	assert_true(mp.rec.flags & ILA_REC_F_PROMOTED);
	assert_int_equal(mp.rec.seq, seq_before + 1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_true(mp.rec.has_prev);
	fx_assert_loc(&mp.rec.prev, FX_LOC_A);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	p = fx_push_record(gw, FX_BLUE, 0);
	assert_string_equal(p->node, "n2");
	fx_assert_loc(&p->loc, FX_LOC_B);
	assert_true(p->flags & ILA_REC_F_PROMOTED);
	assert_int_equal(p->seq, seq_before + 1);
	assert_int_equal(fx_mapper()->stats.failovers, 1);
}

static void test_failover_promotes_connected_standby(void **state)
{
	struct fx_node *n1, *n2, *gw;
	uint64_t seq;

	(void)state;
	failover_setup(&n1, &n2, &gw);
	seq = get(FX_BLUE, A1).rec.seq;
	fx_hangup(n1); /* the connection ends without CEASE: the node died */
	assert_null(fx_session("n1"));
	assert_promoted(gw, seq);
}

static void test_dead_timer_fails_over_to_connected_standby(void **state)
{
	struct fx_node *n1, *n2, *gw;
	struct session *s;
	uint64_t seq;

	(void)state;
	failover_setup(&n1, &n2, &gw);
	seq = get(FX_BLUE, A1).rec.seq;
	s = fx_session("n1");
	assert_non_null(s);
	/* nothing heard from n1 for the dead interval */
	ev_invoke(fx_mapper()->loop, &s->dead_w, EV_TIMER);
	fx_run();
	assert_null(fx_session("n1"));
	assert_true(n1->eof);
	assert_int_equal(fx_mapper()->stats.dead_timer_expired, 1);
	assert_promoted(gw, seq);
	/* and the node was told why (8.5) */
	assert_non_null(fx_nth(n1, ILA_MSG_ERROR, 0));
	assert_int_equal(fx_nth(n1, ILA_MSG_ERROR, 0)->error.code, ILA_PERR_HOLD_EXPIRED);
	assert_int_equal(fx_nth(n1, ILA_MSG_ERROR, 0)->xid, 0);
}

static void test_goodbye_does_not_fail_over(void **state)
{
	struct fx_node *n1, *n2, *gw;
	struct mapping mp;

	(void)state;
	failover_setup(&n1, &n2, &gw);
	fx_goodbye(n1); /* CEASE, then the connection ends */
	assert_null(fx_session("n1"));
	mp = get(FX_BLUE, A1);
	assert_string_equal(mp.rec.node, "n1");
	fx_assert_loc(&mp.rec.loc, FX_LOC_A);
	assert_true(mp.rec.has_standby);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_mapper()->stats.failovers, 0);
}

static void test_session_replaced_by_reconnect_does_not_fail_over(void **state)
{
	struct fx_node *n1, *n2, *gw;
	struct mapping mp;

	(void)state;
	failover_setup(&n1, &n2, &gw);
	fx_connect("n1"); /* the node came back before the old session died */
	assert_true(n1->eof);
	assert_non_null(fx_nth(n1, ILA_MSG_ERROR, 0)); /* told why (8.5) */
	assert_int_equal(fx_nth(n1, ILA_MSG_ERROR, 0)->error.code, ILA_PERR_CEASE);
	mp = get(FX_BLUE, A1);
	assert_string_equal(mp.rec.node, "n1");
	fx_assert_loc(&mp.rec.loc, FX_LOC_A);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
}

/* 8.3: failover promotes the standby "whose node is connected"; a standby
 * whose node has no session is not promoted, and the mapping stays as it
 * would without a standby (its offer kept, nothing pushed). */
static void test_failover_needs_a_connected_standby(void **state)
{
	struct fx_node *n1, *n2, *gw;
	struct mapping mp;

	(void)state;
	failover_setup(&n1, &n2, &gw);
	fx_goodbye(n2); /* the standby leaves */
	fx_hangup(n1);	/* then the owner dies */
	mp = get(FX_BLUE, A1);
	assert_string_equal(mp.rec.node, "n1");
	fx_assert_loc(&mp.rec.loc, FX_LOC_A);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_true(mp.rec.has_standby);
	assert_string_equal(mp.standby_node, "n2");
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_mapper()->stats.failovers, 0);
	assert_int_equal(fx_mapper()->stats.failovers_skipped, 1);
	/* the standby coming back later promotes nothing either */
	fx_connect("n2");
	assert_string_equal(get(FX_BLUE, A1).rec.node, "n1");
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
}

/* Each mapping by its own standby: of a failed node's mappings, those whose
 * standby node is connected are promoted, the others kept. */
static void test_failover_promotes_only_the_mappings_whose_standby_is_connected(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *n3 = fx_connect("n3");
	struct fx_node *gw = subscriber();
	struct ila_record r2 = standby_rec(A1, FX_LOC_B), r3 = standby_rec(A2, FX_LOC_C);
	struct mapping a1, a2;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register_rec(n2, &r2), 0);
	assert_int_equal(fx_register_rec(n3, &r3), 0);
	fx_hangup(n3); /* n3 dies first: it owns nothing, nothing happens */
	fx_clear(gw);
	fx_hangup(n1);
	a1 = get(FX_BLUE, A1);
	a2 = get(FX_BLUE, A2);
	assert_string_equal(a1.rec.node, "n2");
	fx_assert_loc(&a1.rec.loc, FX_LOC_B);
	assert_string_equal(a2.rec.node, "n1");
	fx_assert_loc(&a2.rec.loc, FX_LOC_A);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_string_equal(fx_push_record(gw, FX_BLUE, 0)->node, "n2");
	assert_int_equal(fx_mapper()->stats.failovers, 1);
	assert_int_equal(fx_mapper()->stats.failovers_skipped, 1);
}

static void test_lost_session_without_standby_changes_nothing(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_clear(gw);
	fx_hangup(n1);
	mp = get(FX_BLUE, A1);
	assert_string_equal(mp.rec.node, "n1");
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 5);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
}

static void test_register_of_a_session_closed_before_commit_is_still_committed(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_msg msg = { .type = ILA_MSG_REGISTER, .xid = fx_xid() };
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 3, 300);

	(void)state;
	/* the REGISTER and the end of the connection are read in the same
	 * callback: the ACK has nowhere to go, the session is freed after */
	msg.rec = &r;
	msg.nrec = 1;
	fx_send(n1, &msg);
	fx_hangup(n1);
	assert_null(fx_session("n1"));
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 3);
	assert_string_equal(get(FX_BLUE, A1).rec.node, "n1");
}

/* ---- lifetimes (8.3) ---- */

static void test_expiry_takes_mapping_down_then_removes_it(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 30);
	const struct ila_record *p;
	struct mapping mp;

	(void)state;
	fx_register(n1, &r, 1);
	fx_clear(gw);
	fx_at(FX_T0 + 29);
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_UP);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);

	fx_at(FX_T0 + 30); /* the lifetime ends: down, the next number, pushed */
	fx_expire();
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_DOWN);
	assert_int_equal(mp.rec.seq, 6);
	assert_string_equal(mp.rec.node, "n1");
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	p = fx_push_record(gw, FX_BLUE, 0);
	assert_int_equal(p->state, ILA_STATE_DOWN);
	assert_int_equal(p->seq, 6);
	fx_clear(gw);

	fx_at(FX_T0 + 59); /* known, down, for another lifetime */
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_DOWN);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);

	fx_at(FX_T0 + 60); /* then removed, a tombstone at the next number, pushed */
	fx_expire();
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_REMOVED);
	assert_int_equal(mp.rec.seq, 7);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->state, ILA_STATE_REMOVED);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->seq, 7);
	assert_int_equal(fx_mapper()->stats.expired, 2);
}

static void test_wall_clock_step_expires_nothing(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 30);

	(void)state;
	fx_register(n1, &r, 1);
	fx_wall_s = FX_T0 + 86400; /* the system clock jumps a day; no time passed */
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_UP);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 5);
	fx_at(FX_T0 + 30); /* 30 s of real time do */
	fx_wall_s = FX_T0 - 86400;
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_DOWN);
}

static void test_refreshed_mapping_does_not_expire(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 30);

	(void)state;
	fx_register(n1, &r, 1);
	fx_at(FX_T0 + 20);
	fx_register(n1, &r, 1);
	fx_at(FX_T0 + 45);
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_UP);
	fx_at(FX_T0 + 50);
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_DOWN);
}

static void test_owner_brings_lapsed_mapping_back_with_the_number_it_refreshed_with(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 30);
	struct mapping mp;

	(void)state;
	fx_register(n1, &r, 1);
	fx_at(FX_T0 + 31);
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_DOWN);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 6);
	fx_clear(gw);
	/* another node with that number is stale: only the owner may */
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 5), ILA_PERR_STALE_SEQ);
	/* the owner registers again with the number it refreshed with, before
	 * the mapping is removed (which would be at T0 + 61) */
	fx_at(FX_T0 + 40);
	assert_int_equal(fx_register_rec(n1, &r), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 7); /* the next number above the stored one */
	assert_int_equal(mp.expires, FX_T0 + 40 + 30);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->state, ILA_STATE_UP);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->seq, 7);
	/* and it is no longer removed at the end of the down period */
	fx_at(FX_T0 + 65);
	fx_expire();
	assert_true(fx_get(FX_BLUE, A1, &mp));
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
}

static void test_owner_brings_expired_tombstone_back_with_the_number_it_refreshed_with(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 30);
	struct mapping mp;

	(void)state;
	fx_register(n1, &r, 1);
	fx_at(FX_T0 + 30);
	fx_expire();
	fx_at(FX_T0 + 60);
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_REMOVED);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 7);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 6), ILA_PERR_STALE_SEQ);
	fx_at(FX_T0 + 70);
	assert_int_equal(fx_register_rec(n1, &r), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 8);
	assert_string_equal(mp.rec.node, "n1");
}

/* 8.3: a lapsed mapping "accepts its owner's registration with the same
 * locator down to the number before the expiry": removed by expiry too, the
 * owner at another locator with an old number is stale; with a number above
 * the tombstone's it is an ordinary registration. */
static void test_lapsed_tombstone_comes_back_only_at_the_same_locator(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 30);
	struct mapping mp;

	(void)state;
	fx_register(n1, &r, 1);
	fx_at(FX_T0 + 30);
	fx_expire();
	fx_at(FX_T0 + 60);
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_REMOVED);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 7);
	r.loc = fx_loc(FX_LOC_C);
	assert_int_equal(fx_register_rec(n1, &r), ILA_PERR_STALE_SEQ);
	r.seq = 6;
	assert_int_equal(fx_register_rec(n1, &r), ILA_PERR_STALE_SEQ);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_REMOVED);
	r.seq = 8;
	assert_int_equal(fx_register_rec(n1, &r), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 8);
	fx_assert_loc(&mp.rec.loc, FX_LOC_C);
}

/* The same for a lapsed mapping still down. */
static void test_lapsed_down_mapping_comes_back_only_at_the_same_locator(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_A, 5, 30);

	(void)state;
	fx_register(n1, &r, 1);
	fx_at(FX_T0 + 30);
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_DOWN);
	r.loc = fx_loc(FX_LOC_C);
	assert_int_equal(fx_register_rec(n1, &r), ILA_PERR_STALE_SEQ);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_DOWN);
	r.loc = fx_loc(FX_LOC_A);
	assert_int_equal(fx_register_rec(n1, &r), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_UP);
}

static void test_taken_down_mapping_refreshed_by_owner_comes_up_with_a_higher_number(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 5, ILA_STATE_DOWN), 0);
	/* taken down by the node itself: not lapsed, the old number is stale */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_STALE_SEQ);
	fx_clear(gw);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 6), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, 7);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->seq, 7);
}

/* ---- damping (9.3): 3 moves in 100 s, then frozen for 50 s ---- */

/* n1 registers A1, then n2, n1, n2 move it: three moves, the limit. */
static void three_moves(struct fx_node *n1, struct fx_node *n2)
{
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	fx_at(FX_T0 + 10);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 2), 0);
	fx_at(FX_T0 + 20);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 3), 0);
	fx_at(FX_T0 + 30);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 4), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_UP);
}

static void test_damping_freezes_after_n_moves(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	struct mapping mp;

	(void)state;
	three_moves(n1, n2);
	fx_clear(gw);
	fx_at(FX_T0 + 40);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_FROZEN);
	assert_string_equal(mp.rec.node, "n2"); /* frozen where it was */
	fx_assert_loc(&mp.rec.loc, FX_LOC_B);
	assert_int_equal(mp.frozen_until, FX_T0 + 40 + 50);
	assert_int_equal(mp.rec.seq, 5); /* pushed, number + 1 */
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->seq, 5);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->state, ILA_STATE_FROZEN);
	fx_assert_loc(&fx_push_record(gw, FX_BLUE, 0)->loc, FX_LOC_B);
	assert_int_equal(fx_mapper()->stats.freezes, 1);
}

static void test_frozen_mapping_refuses_moves_from_other_nodes(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *n3 = fx_connect("n3");
	struct mapping mp;

	(void)state;
	three_moves(n1, n2);
	fx_at(FX_T0 + 40);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	fx_at(FX_T0 + 89); /* last second of the freeze */
	assert_int_equal(fx_register1(n3, FX_BLUE, A1, FX_LOC_C, 100), ILA_PERR_FROZEN);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 100), ILA_PERR_FROZEN);
	mp = get(FX_BLUE, A1);
	assert_string_equal(mp.rec.node, "n2");
	fx_assert_loc(&mp.rec.loc, FX_LOC_B);
	assert_true(mp.rec.seq < 100);
}

static void test_frozen_mapping_accepts_refresh_by_owner(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	three_moves(n1, n2);
	fx_at(FX_T0 + 40);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	fx_at(FX_T0 + 60);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, get(FX_BLUE, A1).rec.seq), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_FROZEN);
	assert_int_equal(mp.expires, FX_T0 + 60 + 300);
}

static void test_move_after_the_freeze_ends_is_accepted(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct mapping mp;

	(void)state;
	three_moves(n1, n2);
	fx_at(FX_T0 + 40);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	fx_at(FX_T0 + 90); /* frozen until T0 + 90 */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 10), 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_string_equal(mp.rec.node, "n1");
	assert_int_equal(mp.rec.seq, 10);
	assert_int_equal(mp.frozen_until, 0);
}

static void test_moves_spread_wider_than_the_damping_interval_do_not_freeze(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	/* any 4 consecutive moves span 110 s: never more than 3 in 100 s */
	for (unsigned i = 0; i < 9; i++) {
		struct fx_node *to = i % 2 ? n1 : n2;

		fx_at(FX_T0 + 30 * (i + 1) + (i / 3) * 20);
		assert_int_equal(fx_register1(to, FX_BLUE, A1, i % 2 ? FX_LOC_A : FX_LOC_B, i + 2), 0);
	}
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_UP);
	assert_int_equal(fx_mapper()->stats.freezes, 0);
}

/* Damping runs on the monotonic clock (doc/protocol.md 9.3): a step of the
 * system clock neither starts a new window of moves nor ends a freeze. */
static void test_wall_clock_step_neither_resets_damping_nor_ends_a_freeze(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");

	(void)state;
	three_moves(n1, n2); /* T0 .. T0 + 30 */
	fx_at(FX_T0 + 40);
	fx_wall_s += 86400; /* the system clock jumps a day; 40 s of the window went by */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_FROZEN);
	fx_at(FX_T0 + 60);
	fx_wall_s += 2 * 86400; /* and again: 30 s of the 50 s freeze are left */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 100), ILA_PERR_FROZEN);
	assert_string_equal(get(FX_BLUE, A1).rec.node, "n2");
	fx_at(FX_T0 + 90); /* 50 s of real time: the freeze is over */
	fx_wall_s -= 86400; /* whatever the system clock says */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 100), 0);
	assert_string_equal(get(FX_BLUE, A1).rec.node, "n1");
}

/* Several instances on one etcd prefix share the damping state in the
 * mapping's value (doc/etcd.md), each deciding on its own clock, which
 * counts seconds from the second it started: a window opened by an instance
 * whose clock reads a second ahead is still open here, and its moves count;
 * a window further ahead than the interval (a clock set back while the
 * mapper was down) is not. */
static void test_window_opened_on_a_clock_ahead_counts_its_moves(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 2), 0); /* opens at T0 */
	assert_int_equal(get(FX_BLUE, A1).window_start, FX_T0);
	/* the next moves are decided on a clock one second behind */
	fx_wall_s = FX_T0 - 1;
	mapper_clock_init(fx_mapper());
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 3), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 4), 0);
	assert_int_equal(get(FX_BLUE, A1).moves, 3);
	assert_int_equal(get(FX_BLUE, A1).window_start, FX_T0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_FROZEN);
	/* A2's window opened 100 s (the interval) ahead of this clock: a new one */
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	fx_wall_s = FX_T0 + 99;
	mapper_clock_init(fx_mapper());
	assert_int_equal(fx_register1(n2, FX_BLUE, A2, FX_LOC_B, 2), 0);
	assert_int_equal(get(FX_BLUE, A2).window_start, FX_T0 + 99);
	fx_wall_s = FX_T0 - 1;
	mapper_clock_init(fx_mapper());
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 3), 0);
	assert_int_equal(get(FX_BLUE, A2).moves, 1);
	assert_int_equal(get(FX_BLUE, A2).window_start, FX_T0 - 1);
}

/* 9.3: "When the freeze ends the state returns to up (pushed, number +
 * 1)": the expiry tick does it, nobody has to register; the damping then
 * counts afresh. */
static void test_freeze_end_returns_mapping_to_up_and_pushes_it(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	const struct ila_record *p;
	struct mapping mp;
	uint64_t seq;

	(void)state;
	three_moves(n1, n2);
	fx_at(FX_T0 + 40);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	seq = get(FX_BLUE, A1).rec.seq;
	fx_clear(gw);
	fx_at(FX_T0 + 89); /* frozen until T0 + 90 */
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_FROZEN);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	fx_at(FX_T0 + 90);
	fx_expire();
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, seq + 1);
	assert_int_equal(mp.frozen_until, 0);
	assert_string_equal(mp.rec.node, "n2"); /* where it was frozen */
	fx_assert_loc(&mp.rec.loc, FX_LOC_B);
	assert_int_equal(mp.expires, FX_T0 + 30 + 300); /* the lifetime is not touched */
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	p = fx_push_record(gw, FX_BLUE, 0);
	assert_int_equal(p->state, ILA_STATE_UP);
	assert_int_equal(p->seq, seq + 1);
	assert_int_equal(fx_mapper()->stats.freeze_ends, 1);
	assert_int_equal(fx_mapper()->stats.unfreezes, 0);
	/* pushed once: the next ticks leave it alone */
	fx_clear(gw);
	fx_at(FX_T0 + 91);
	fx_expire();
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	/* the damping counts afresh: three moves, then the fourth freezes */
	seq = get(FX_BLUE, A1).rec.seq;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, seq + 1), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, seq + 2), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, seq + 3), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, seq + 4), ILA_PERR_FROZEN);
}

/* A freeze outlasting the lifetime: the expiry comes first and takes the
 * mapping down; the end of the freeze pushes nothing more. */
static void test_freeze_longer_than_the_lifetime_ends_in_the_expiry(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	struct ila_record r = fx_rec(FX_BLUE, A1, FX_LOC_B, 0, 45);

	(void)state;
	three_moves(n1, n2); /* n2's registration at T0 + 30 lives 300 s */
	r.seq = get(FX_BLUE, A1).rec.seq;
	assert_int_equal(fx_register_rec(n2, &r), 0); /* now 45 s: until T0 + 75 */
	fx_at(FX_T0 + 40); /* frozen until T0 + 90 */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 10), ILA_PERR_FROZEN);
	fx_clear(gw);
	fx_at(FX_T0 + 75);
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_DOWN);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	fx_clear(gw);
	fx_at(FX_T0 + 90); /* down until T0 + 120 */
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_DOWN);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_mapper()->stats.freeze_ends, 0);
}

/* 9.3: the moves counted are owner changes; the owner changing its own
 * locator is not a move, however often. */
static void test_damping_counts_only_owner_changes(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	const char *locs[5] = { FX_LOC_B, FX_LOC_C, FX_LOC_A, FX_LOC_B, FX_LOC_C };
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	for (unsigned i = 0; i < 5; i++) {
		fx_at(FX_T0 + i + 1);
		assert_int_equal(fx_register1(n1, FX_BLUE, A1, locs[i], i + 2), 0);
	}
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	fx_assert_loc(&mp.rec.loc, FX_LOC_C);
	assert_int_equal(mp.moves, 0);
	assert_int_equal(fx_mapper()->stats.freezes, 0);
	/* nor does it count within a window that owner changes opened */
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 7), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 8), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_C, 9), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 10), 0);
	assert_int_equal(get(FX_BLUE, A1).moves, 2);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 11), 0); /* the third */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 12), ILA_PERR_FROZEN);
}

/* 9.3, as documented: moves are counted in fixed windows of `damping
 * interval` seconds, each opened by the first move made while none is open
 * (not by the registration); the move that would be the fourth of one
 * window freezes the mapping. Moves either side of a window's end are in two
 * windows, so up to twice `damping moves` can pass in less than the
 * interval without a freeze. */
static void test_damping_counts_moves_in_fixed_windows_opened_by_a_move(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct fx_node *to[2] = { n2, n1 };
	const char *loc[2] = { FX_LOC_B, FX_LOC_A };
	/* A1: the window opens at the first move (T0 + 90), not at T0 */
	static const unsigned t1[] = { 90, 95, 99, 101 };
	/* A2: three moves late in the window opened at T0 + 10, three early in
	 * the next: six within 12 s, none frozen; the seventh is */
	static const unsigned t2[] = { 10, 105, 109, 110, 111, 112, 113 };

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	for (unsigned i = 0; i < ILA_ARRAY_SIZE(t1); i++) {
		fx_at(FX_T0 + t1[i]);
		assert_int_equal(fx_register1(to[i % 2], FX_BLUE, A1, loc[i % 2], i + 2),
				 i < 3 ? 0 : ILA_PERR_FROZEN);
	}
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_FROZEN);

	fx_at(FX_T0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	for (unsigned i = 0; i < ILA_ARRAY_SIZE(t2); i++) {
		fx_at(FX_T0 + t2[i]);
		assert_int_equal(fx_register1(to[i % 2], FX_BLUE, A2, loc[i % 2], i + 2),
				 i < 6 ? 0 : ILA_PERR_FROZEN);
	}
	assert_int_equal(get(FX_BLUE, A2).rec.state, ILA_STATE_FROZEN);
}

static struct fx_conf permanent = { .freeze_permanent = true };

/* A permanent freeze has no end for the expiry tick to find. */
static void test_permanent_freeze_does_not_end_by_time(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");

	(void)state;
	three_moves(n1, n2);
	fx_at(FX_T0 + 40);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	fx_at(FX_T0 + 329); /* the last second of the lifetime */
	fx_expire();
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_FROZEN);
	assert_int_equal(fx_mapper()->stats.freeze_ends, 0);
}

static void test_permanent_freeze_holds_until_an_operator_unfreezes(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = subscriber();
	struct ila_record key = fx_rec(FX_BLUE, A1, NULL, 0, 0);
	struct mapping mp;
	uint64_t seq;

	(void)state;
	three_moves(n1, n2);
	fx_at(FX_T0 + 40);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), ILA_PERR_FROZEN);
	fx_at(FX_T0 + 10 * 86400);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 6), ILA_PERR_FROZEN);
	fx_clear(gw);
	seq = get(FX_BLUE, A1).rec.seq;
	assert_int_equal(directory_unfreeze(fx_mapper(), &key), 0);
	fx_run();
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.state, ILA_STATE_UP);
	assert_int_equal(mp.rec.seq, seq + 1);
	assert_int_equal(mp.frozen_until, 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->state, ILA_STATE_UP);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 7), 0);
	assert_string_equal(get(FX_BLUE, A1).rec.node, "n1");
}

/* ---- quotas and rate (8.3 steps 3 and 6) ---- */

static struct fx_conf rate3 = { .quota_rate = 10, .quota_burst = 3 };

static void test_registration_rate_refuses_records_beyond_the_burst(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct ila_record r[5];
	const struct ila_msg *a;
	char addr[64];

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:100::%u", i + 1);
		r[i] = fx_rec(FX_BLUE, addr, FX_LOC_A, 1, 300);
	}
	a = fx_answer(n1, fx_register(n1, r, 5));
	assert_non_null(a);
	assert_int_equal(a->ack.count, 3);
	assert_int_equal(a->ack.status[2], 0);
	assert_int_equal(a->ack.status[3], ILA_PERR_QUOTA);
	assert_int_equal(a->ack.status[4], ILA_PERR_QUOTA);
	assert_int_equal(fx_mapper()->stats.quota_rate, 2);
	/* the bucket is the node's own */
	assert_int_equal(fx_register1(n2, FX_BLUE, "2001:db8:100::99", FX_LOC_B, 1), 0);
	/* it refills at the rate, on the monotonic clock */
	fx_at(FX_T0 + 1);
	fx_clear(n1);
	a = fx_answer(n1, fx_register(n1, &r[3], 2));
	assert_non_null(a);
	assert_int_equal(a->ack.count, 2);
}

static struct fx_conf node_quota2 = { .quota_node_mappings = 2 };

static void test_node_mapping_quota_refuses_that_node_only(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A3, FX_LOC_A, 1), ILA_PERR_QUOTA);
	/* a move to the node counts too */
	assert_int_equal(fx_register1(n2, FX_BLUE, A3, FX_LOC_B, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A3, FX_LOC_A, 2), ILA_PERR_QUOTA);
	/* its refreshes do not */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_mapper()->stats.quota_node, 2);
	/* a removal gives room back: tombstones count against no quota */
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A2, 1, ILA_STATE_REMOVED), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, "2001:db8:100::44", FX_LOC_A, 1), 0);
}

static struct fx_conf vn_quota2 = { .quota_vn_mappings = 2 };

static void test_vn_mapping_quota_refuses_new_mappings_of_the_vn(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *n4 = fx_connect("n4");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A2, FX_LOC_B, 1), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A3, FX_LOC_B, 1), ILA_PERR_QUOTA);
	/* moves within the vn and other vns go on */
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 2), 0);
	assert_int_equal(fx_register1(n4, FX_RED, RED1, FX_LOC_C, 1), 0);
	assert_int_equal(fx_mapper()->stats.quota_vn, 1);
}

/* ---- the commit (8.3) ---- */

static void test_group_commit_answers_each_register_with_its_own_ack(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct ila_record r1[2] = { fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300),
				    fx_rec(FX_BLUE, OUTSIDE, FX_LOC_A, 1, 300) };
	struct ila_record r2[1] = { fx_rec(FX_BLUE, A2, FX_LOC_A, 1, 300) };
	struct ila_record r3[2] = { fx_rec(FX_RED, RED1, FX_LOC_B, 1, 300),
				    fx_rec(FX_BLUE, A3, FX_LOC_B, 1, 300) };
	struct ila_msg m1 = { .type = ILA_MSG_REGISTER, .xid = fx_xid(), .rec = r1, .nrec = 2 };
	struct ila_msg m2 = { .type = ILA_MSG_REGISTER, .xid = fx_xid(), .rec = r2, .nrec = 1 };
	struct ila_msg m3 = { .type = ILA_MSG_REGISTER, .xid = fx_xid(), .rec = r3, .nrec = 2 };
	uint64_t commits = fx_mapper()->stats.commits;
	const struct ila_msg *a;

	(void)state;
	/* read in one loop iteration, committed in one transaction */
	fx_send(n1, &m1);
	fx_send(n1, &m2);
	fx_send(n2, &m3);
	fx_run();
	assert_int_equal(fx_mapper()->stats.commits, commits + 1);
	assert_int_equal(fx_count(n1, ILA_MSG_ACK), 2);
	assert_int_equal(fx_count(n2, ILA_MSG_ACK), 1);

	a = fx_answer(n1, m1.xid);
	assert_non_null(a);
	assert_int_equal(a->ack.count, 1);
	assert_int_equal(a->ack.nstatus, 2);
	assert_int_equal(a->ack.status[0], 0);
	assert_int_equal(a->ack.status[1], ILA_PERR_ADDR_OUTSIDE_VN);

	a = fx_answer(n1, m2.xid);
	assert_non_null(a);
	assert_int_equal(a->ack.count, 1);
	assert_int_equal(a->ack.nstatus, 0); /* all accepted: no STATUS */

	a = fx_answer(n2, m3.xid);
	assert_non_null(a);
	assert_int_equal(a->ack.count, 1);
	assert_int_equal(a->ack.nstatus, 2);
	assert_int_equal(a->ack.status[0], ILA_PERR_NOT_AUTHORISED);
	assert_int_equal(a->ack.status[1], 0);

	assert_string_equal(get(FX_BLUE, A1).rec.node, "n1");
	assert_string_equal(get(FX_BLUE, A2).rec.node, "n1");
	assert_string_equal(get(FX_BLUE, A3).rec.node, "n2");
}

static void test_records_of_one_register_are_processed_in_order(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r[3] = { fx_rec(FX_BLUE, A1, FX_LOC_A, 4, 300),
				   fx_rec(FX_BLUE, A1, FX_LOC_B, 3, 300),
				   fx_rec(FX_BLUE, A1, FX_LOC_C, 9, 300) };
	const struct ila_msg *a;
	struct mapping mp;

	(void)state;
	a = fx_answer(n1, fx_register(n1, r, 3));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ACK);
	assert_int_equal(a->ack.count, 2);
	assert_int_equal(a->ack.nstatus, 3);
	assert_int_equal(a->ack.status[0], 0);
	assert_int_equal(a->ack.status[1], ILA_PERR_STALE_SEQ); /* after the first */
	assert_int_equal(a->ack.status[2], 0);
	mp = get(FX_BLUE, A1);
	assert_int_equal(mp.rec.seq, 9);
	fx_assert_loc(&mp.rec.loc, FX_LOC_C);
}

static void test_commit_failure_acknowledges_nothing_and_stores_nothing(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = subscriber();
	struct ila_record r[2] = { fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300),
				   fx_rec(FX_BLUE, A2, FX_LOC_A, 1, 300) };
	uint64_t pos = fx_mapper()->store.committed_jseq;
	const struct ila_msg *a;
	struct mapping mp;

	(void)state;
	fx_commit_fails = true;
	a = fx_answer(n1, fx_register(n1, r, 2));
	fx_commit_fails = false;
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_INTERNAL);
	assert_false(fx_get(FX_BLUE, A1, &mp));
	assert_false(fx_get(FX_BLUE, A2, &mp));
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_mapper()->store.committed_jseq, pos);
	assert_int_equal(fx_mapper()->stats.commit_failures, 1);
	/* the node retries, and then it works, at the positions not used */
	fx_clear(n1);
	a = fx_answer(n1, fx_register(n1, r, 2));
	assert_non_null(a);
	assert_int_equal(a->ack.count, 2);
	assert_int_equal(get(FX_BLUE, A1).jseq, pos + 1);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 2);
}

/* 8.3: "If the commit fails nothing is acknowledged: ERROR internal for the
 * whole request". Every request of the failed commit gets its ERROR, with
 * its xid, and no ACK. */
static void test_commit_failure_answers_error_internal(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct ila_record r1 = fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300);
	struct ila_record r2 = fx_rec(FX_BLUE, A2, FX_LOC_B, 1, 300);
	struct ila_msg m1 = { .type = ILA_MSG_REGISTER, .xid = fx_xid(), .rec = &r1, .nrec = 1 };
	struct ila_msg m2 = { .type = ILA_MSG_REGISTER, .xid = fx_xid(), .rec = &r2, .nrec = 1 };
	const struct ila_msg *a;

	(void)state;
	fx_commit_fails = true;
	/* read in one loop iteration: one commit, and it fails */
	fx_send(n1, &m1);
	fx_send(n2, &m2);
	fx_run();
	fx_commit_fails = false;
	a = fx_answer(n1, m1.xid);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_INTERNAL);
	a = fx_answer(n2, m2.xid);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_INTERNAL);
	assert_int_equal(fx_count(n1, ILA_MSG_ACK), 0);
	assert_int_equal(fx_count(n2, ILA_MSG_ACK), 0);
	/* the sessions go on */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
}

/* 8.3: a DEREGISTER whose commit fails is refused whole in the same way,
 * and the mapping stays as it was. */
static void test_commit_failure_of_a_deregister_answers_error_internal(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r = fx_rec(FX_BLUE, A1, NULL, 1, 0);
	const struct ila_msg *a;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	r.state = ILA_STATE_REMOVED;
	fx_commit_fails = true;
	a = fx_answer(n1, fx_deregister(n1, &r, 1));
	fx_commit_fails = false;
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_INTERNAL);
	assert_int_equal(get(FX_BLUE, A1).rec.state, ILA_STATE_UP);
}

/* 6.10: "The mapper sends COUNT with every ACK of a REGISTER or DEREGISTER,
 * and STATUS when at least one record was refused." */
static void test_ack_of_fully_accepted_register_has_no_status_list(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r[2] = { fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300),
				   fx_rec(FX_BLUE, A2, FX_LOC_A, 1, 300) };
	const struct ila_msg *a;

	(void)state;
	a = fx_answer(n1, fx_register(n1, r, 2));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ACK);
	assert_true(a->ack.has_count);
	assert_int_equal(a->ack.count, 2);
	assert_int_equal(a->ack.nstatus, 0);
}

static void test_ack_of_fully_accepted_deregister_has_no_status_list(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r = fx_rec(FX_BLUE, A1, NULL, 1, 0);
	const struct ila_msg *a;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	r.state = ILA_STATE_DOWN;
	a = fx_answer(n1, fx_deregister(n1, &r, 1));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ACK);
	assert_true(a->ack.has_count);
	assert_int_equal(a->ack.count, 1);
	assert_int_equal(a->ack.nstatus, 0);
}

/* 6.10: with one record refused, STATUS has one code per record, 0 for
 * the accepted ones, and COUNT is the number of zeros. */
static void test_ack_with_a_refused_record_lists_every_status(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r[3] = { fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300),
				   fx_rec(FX_BLUE, OUTSIDE, FX_LOC_A, 1, 300),
				   fx_rec(FX_BLUE, A2, FX_LOC_A, 1, 300) };
	const struct ila_msg *a;

	(void)state;
	a = fx_answer(n1, fx_register(n1, r, 3));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ACK);
	assert_int_equal(a->ack.count, 2);
	assert_int_equal(a->ack.nstatus, 3);
	assert_int_equal(a->ack.status[0], 0);
	assert_int_equal(a->ack.status[1], ILA_PERR_ADDR_OUTSIDE_VN);
	assert_int_equal(a->ack.status[2], 0);
}

static struct fx_conf commit_delay = { .commit_delay_ms = 1000, .commit_batch = 3 };

static void test_commit_delay_groups_requests_read_apart_into_one_commit(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	struct ila_record r1 = fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300);
	struct ila_record r2 = fx_rec(FX_BLUE, A2, FX_LOC_B, 1, 300);
	uint64_t commits = fx_mapper()->stats.commits;
	uint32_t x1, x2;
	struct mapping mp;

	(void)state;
	x1 = fx_register(n1, &r1, 1);
	fx_hold_delay_timers();
	x2 = fx_register(n2, &r2, 1);
	fx_hold_delay_timers();
	/* nothing is acknowledged before it is durable */
	assert_null(fx_answer(n1, x1));
	assert_null(fx_answer(n2, x2));
	assert_false(fx_get(FX_BLUE, A1, &mp));
	fx_commit_delay_ends();
	assert_int_equal(fx_mapper()->stats.commits, commits + 1);
	assert_non_null(fx_answer(n1, x1));
	assert_int_equal(fx_answer(n1, x1)->ack.count, 1);
	assert_non_null(fx_answer(n2, x2));
	assert_int_equal(fx_answer(n2, x2)->ack.count, 1);
	assert_string_equal(get(FX_BLUE, A1).rec.node, "n1");
	assert_string_equal(get(FX_BLUE, A2).rec.node, "n2");
}

static void test_commit_batch_size_commits_without_waiting_for_the_delay(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct ila_record r[3] = { fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300),
				   fx_rec(FX_BLUE, A2, FX_LOC_A, 1, 300),
				   fx_rec(FX_BLUE, A3, FX_LOC_A, 1, 300) };
	uint32_t x1, x2;

	(void)state;
	x1 = fx_register(n1, r, 2);
	fx_hold_delay_timers();
	assert_null(fx_answer(n1, x1));
	/* the third pending record reaches `commit batch 3` */
	x2 = fx_register(n1, &r[2], 1);
	fx_hold_delay_timers();
	assert_non_null(fx_answer(n1, x1));
	assert_int_equal(fx_answer(n1, x1)->ack.count, 2);
	assert_non_null(fx_answer(n1, x2));
	assert_int_equal(fx_answer(n1, x2)->ack.count, 1);
	assert_string_equal(get(FX_BLUE, A3).rec.node, "n1");
}

static struct fx_conf tiny_store = { .map_size_mb = 1 };

static void test_full_store_refuses_with_internal_and_keeps_what_was_committed(void **state)
{
	static struct ila_record recs[1024];
	struct fx_node *n1 = fx_connect("n1");
	const struct ila_msg *a = NULL;
	unsigned round, accepted = 0;
	char first[64];
	struct mapping mp;

	(void)state;
	for (round = 0; round < 64; round++) {
		for (unsigned i = 0; i < 1024; i++) {
			char addr[64];

			snprintf(addr, sizeof(addr), "2001:db8:100::%x:%x", round + 1, i + 1);
			recs[i] = fx_rec(FX_BLUE, addr, FX_LOC_A, 1, 300);
		}
		fx_clear(n1);
		a = fx_answer(n1, fx_register(n1, recs, 1024));
		assert_non_null(a);
		if (a->type != ILA_MSG_ACK || a->ack.count != 1024)
			break;
		accepted += 1024;
	}
	assert_true(round < 64); /* 1 MB is full long before 64k mappings */
	assert_true(accepted > 0);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_INTERNAL);
	/* what was acknowledged is there, nothing of the refused request is */
	assert_true(fx_get(FX_BLUE, "2001:db8:100::1:1", &mp));
	snprintf(first, sizeof(first), "2001:db8:100::%x:1", round + 1);
	assert_false(fx_get(FX_BLUE, first, &mp));
	assert_int_equal(fx_mapper()->store.committed_jseq, accepted);
	/* the session survives and still answers */
	assert_non_null(fx_session("n1"));
	assert_int_equal(fx_register1(n1, FX_BLUE, "2001:db8:100::1:1", FX_LOC_A, 1), 0);
}

static void test_acknowledged_registration_survives_reopening_the_store(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	struct mapper *m = fx_mapper();
	char dir[64], err[256];

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	{
		const char *path;

		assert_int_equal(mdb_env_get_path(m->store.env, &path), 0);
		snprintf(dir, sizeof(dir), "%s", path);
	}
	store_close(&m->store);
	assert_int_equal(store_open(&m->store, dir, 64, err, sizeof(err)), 0);
	assert_int_equal(get(FX_BLUE, A1).rec.seq, 5);
	assert_int_equal(m->store.committed_jseq, 1);
}

/* ---- queries (8.4) ---- */

static void test_query_answers_known_addresses_in_query_order(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const char *q[3] = { A2, A3, A1 };
	const struct ila_msg *a;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_C, 7), 0);
	a = fx_answer(gw, fx_query(gw, FX_BLUE, q, 3));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_REPLY);
	assert_int_equal(a->nrec, 2); /* A3 has no mapping: left out */
	assert_int_equal(a->rec[0].seq, 7);
	fx_assert_loc(&a->rec[0].loc, FX_LOC_C);
	assert_int_equal(a->rec[1].seq, 5);
	fx_assert_loc(&a->rec[1].loc, FX_LOC_A);
	assert_string_equal(a->rec[1].node, "n1");
}

static void test_query_of_vn_not_subscribable_is_not_authorised(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n4 = fx_connect("n4");
	const char *q[1] = { A1 };
	const struct ila_msg *a;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	a = fx_answer(n4, fx_query(n4, FX_BLUE, q, 1));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_NOT_AUTHORISED);
	assert_int_equal(fx_mapper()->stats.query_not_authorised, 1);
}

static void test_reply_lifetime_is_the_lifetime_left(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const char *q[1] = { A1 };
	const struct ila_msg *a;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_at(FX_T0 + 100);
	a = fx_answer(gw, fx_query(gw, FX_BLUE, q, 1));
	assert_non_null(a);
	assert_int_equal(a->nrec, 1);
	assert_int_equal(a->rec[0].lifetime, 200);
	/* down: the time until its removal */
	fx_at(FX_T0 + 300);
	fx_expire();
	fx_at(FX_T0 + 350);
	fx_clear(gw);
	a = fx_answer(gw, fx_query(gw, FX_BLUE, q, 1));
	assert_non_null(a);
	assert_int_equal(a->rec[0].state, ILA_STATE_DOWN);
	assert_int_equal(a->rec[0].lifetime, 250);
}

static void test_query_answers_a_tombstone_with_its_seq(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const char *q[1] = { A1 };
	const struct ila_msg *a;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 5, ILA_STATE_REMOVED), 0);
	fx_at(FX_T0 + 100);
	a = fx_answer(gw, fx_query(gw, FX_BLUE, q, 1));
	assert_non_null(a);
	assert_int_equal(a->nrec, 1);
	assert_int_equal(a->rec[0].state, ILA_STATE_REMOVED);
	assert_int_equal(a->rec[0].seq, 6); /* the number to beat */
	assert_int_equal(a->rec[0].lifetime, 500); /* until it is forgotten */
}

static void test_query_answers_a_repeated_address_once(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const char *q[4] = { A1, A2, A1, A2 };
	const struct ila_msg *a;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 6), 0);
	a = fx_answer(gw, fx_query(gw, FX_BLUE, q, 4));
	assert_non_null(a);
	assert_int_equal(a->nrec, 2);
	assert_int_equal(a->rec[0].seq, 5);
	assert_int_equal(a->rec[1].seq, 6);
}

static void test_query_of_unknown_vn_is_vn_unknown(void **state)
{
	struct fx_node *gw = fx_connect("gw");
	const char *q[1] = { A1 };
	const struct ila_msg *a;

	(void)state;
	a = fx_answer(gw, fx_query(gw, 999, q, 1));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_VN_UNKNOWN);
}

/* ---- journal positions (9.2) ---- */

/* 9.2: one journal for all vns: every committed change gets the next
 * position whatever its vn, so one vn's positions increase with gaps, a
 * PUSH reports the position reached, and a resume position taken from
 * another vn's change works. */
static void test_journal_positions_come_from_one_journal_shared_by_all_vns(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n4 = fx_connect("n4"), *gw;
	struct ila_record a2 = fx_rec(FX_BLUE, A2, FX_LOC_A, 1, 300);
	const struct ila_msg *p;

	(void)state;
	assert_int_equal(fx_register1(n4, FX_RED, RED1, FX_LOC_C, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n4, FX_RED, RED1, FX_LOC_C, 2), 0);
	assert_int_equal(fx_register_rec(n1, &a2), 0);
	assert_int_equal(get(FX_BLUE, A1).jseq, 2);
	assert_int_equal(get(FX_RED, RED1).jseq, 3);
	assert_int_equal(get(FX_BLUE, A2).jseq, 4);
	/* blue resumed after red's position 3: A2 alone, no snapshot */
	gw = fx_connect("gw");
	fx_subscribe(gw, FX_BLUE, 3, 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_memory_equal(&fx_push_record(gw, FX_BLUE, 0)->addr6, &a2.addr6, 16);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.high_seq, 4);
	assert_false(p->push.flags & (ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_SNAPSHOT_END));
	/* live: red takes 5, blue's next change is pushed at 6 */
	fx_clear(gw);
	assert_int_equal(fx_register1(n4, FX_RED, RED1, FX_LOC_C, 3), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 2), 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, fx_count(gw, ILA_MSG_PUSH) - 1)->push.high_seq, 6);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
#define TC(f, conf) cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, &conf)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_register_new_mapping_is_stored_with_its_seq_and_owner),
		T(test_register_lifetime_is_clamped_to_the_maximum),
		T(test_register_higher_seq_from_other_node_moves_mapping),
		T(test_register_lower_seq_is_stale),
		T(test_register_lower_seq_from_owner_at_another_locator_is_stale),
		T(test_owner_refresh_below_a_number_the_mapper_raised_keeps_that_number),
		T(test_equal_seq_from_other_node_stores_seq_plus_one),
		T(test_refresh_with_same_seq_extends_the_lifetime),
		T(test_refresh_that_changes_nothing_is_not_pushed),
		T(test_refresh_with_higher_seq_is_stored_and_pushed),
		T(test_owner_locator_change_with_same_seq_stores_seq_plus_one),
		T(test_refresh_changing_flags_stores_seq_plus_one),
		T(test_down_mapping_moves_to_node_registering_next_seq),
		T(test_register_in_vn_not_served_is_not_authorised),
		T(test_register_in_unknown_vn_is_vn_unknown),
		T(test_register_addr_outside_vn_is_refused),
		T(test_register_ipv4_inside_the_vn_prefix_is_accepted),
		T(test_deregister_down_keeps_mapping_known_and_down),
		T(test_deregister_with_higher_seq_stores_that_seq),
		T(test_deregister_removed_leaves_a_tombstone_and_pushes_removal),
		T(test_deregister_of_a_tombstone_is_no_mapping),
		T(test_deregister_with_seq_zero_is_stale),
		T(test_only_the_owner_deregisters),
		T(test_deregister_of_unknown_mapping_is_no_mapping),
		T(test_deregister_with_seq_below_the_mapping_is_stale),
		T(test_deregister_by_previous_owner_after_move_is_refused),
		T(test_tombstone_refuses_older_registration_after_removal),
		T(test_tombstone_equal_seq_is_ordered_after_it),
		T(test_tombstone_higher_seq_is_stored_as_given),
		T(test_tombstone_is_forgotten_after_lifetime_max_without_push),
		T(test_register_seq_above_the_limit_is_seq_exhausted),
		T(test_tie_that_would_pass_the_seq_limit_is_seq_exhausted),
		T(test_mapping_at_the_seq_limit_is_refreshed_and_expires),
		T(test_standby_registration_needs_a_mapping),
		T(test_standby_registration_records_standby_without_moving),
		T(test_standby_withdrawal_clears_it_with_a_higher_number),
		T(test_standby_withdrawal_by_another_node_is_not_authorised),
		T(test_standby_field_in_a_register_is_ignored),
		T(test_move_by_the_standby_node_clears_the_standby),
		T(test_failover_promotes_connected_standby),
		T(test_failover_needs_a_connected_standby),
		T(test_failover_promotes_only_the_mappings_whose_standby_is_connected),
		T(test_dead_timer_fails_over_to_connected_standby),
		T(test_goodbye_does_not_fail_over),
		T(test_session_replaced_by_reconnect_does_not_fail_over),
		T(test_lost_session_without_standby_changes_nothing),
		T(test_register_of_a_session_closed_before_commit_is_still_committed),
		T(test_expiry_takes_mapping_down_then_removes_it),
		T(test_wall_clock_step_expires_nothing),
		T(test_refreshed_mapping_does_not_expire),
		T(test_owner_brings_lapsed_mapping_back_with_the_number_it_refreshed_with),
		T(test_lapsed_tombstone_comes_back_only_at_the_same_locator),
		T(test_lapsed_down_mapping_comes_back_only_at_the_same_locator),
		T(test_owner_brings_expired_tombstone_back_with_the_number_it_refreshed_with),
		T(test_taken_down_mapping_refreshed_by_owner_comes_up_with_a_higher_number),
		T(test_damping_freezes_after_n_moves),
		T(test_window_opened_on_a_clock_ahead_counts_its_moves),
		T(test_frozen_mapping_refuses_moves_from_other_nodes),
		T(test_frozen_mapping_accepts_refresh_by_owner),
		T(test_move_after_the_freeze_ends_is_accepted),
		T(test_moves_spread_wider_than_the_damping_interval_do_not_freeze),
		T(test_wall_clock_step_neither_resets_damping_nor_ends_a_freeze),
		T(test_damping_counts_only_owner_changes),
		T(test_damping_counts_moves_in_fixed_windows_opened_by_a_move),
		T(test_freeze_end_returns_mapping_to_up_and_pushes_it),
		T(test_freeze_longer_than_the_lifetime_ends_in_the_expiry),
		TC(test_permanent_freeze_does_not_end_by_time, permanent),
		TC(test_permanent_freeze_holds_until_an_operator_unfreezes, permanent),
		TC(test_registration_rate_refuses_records_beyond_the_burst, rate3),
		TC(test_node_mapping_quota_refuses_that_node_only, node_quota2),
		TC(test_vn_mapping_quota_refuses_new_mappings_of_the_vn, vn_quota2),
		T(test_group_commit_answers_each_register_with_its_own_ack),
		T(test_records_of_one_register_are_processed_in_order),
		TC(test_commit_delay_groups_requests_read_apart_into_one_commit, commit_delay),
		TC(test_commit_batch_size_commits_without_waiting_for_the_delay, commit_delay),
		T(test_commit_failure_acknowledges_nothing_and_stores_nothing),
		T(test_commit_failure_answers_error_internal),
		T(test_commit_failure_of_a_deregister_answers_error_internal),
		T(test_ack_of_fully_accepted_register_has_no_status_list),
		T(test_ack_of_fully_accepted_deregister_has_no_status_list),
		T(test_ack_with_a_refused_record_lists_every_status),
		TC(test_full_store_refuses_with_internal_and_keeps_what_was_committed, tiny_store),
		T(test_acknowledged_registration_survives_reopening_the_store),
		T(test_query_answers_known_addresses_in_query_order),
		T(test_query_of_vn_not_subscribable_is_not_authorised),
		T(test_reply_lifetime_is_the_lifetime_left),
		T(test_query_answers_a_tombstone_with_its_seq),
		T(test_query_answers_a_repeated_address_once),
		T(test_query_of_unknown_vn_is_vn_unknown),
		T(test_journal_positions_come_from_one_journal_shared_by_all_vns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
