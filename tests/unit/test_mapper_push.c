/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-mapper's pushes (push.c) through real sessions: the rules of
 * doc/protocol.md 8.6-8.8 and 9.2 (subscriptions, snapshots, resuming from
 * the journal, fan-out, directed pushes, batches, flow control), each case
 * named after the rule it proves (doc/protocol.md as on main). A subscriber that does not read is a
 * wrapped send() that takes nothing (mapper_fixture.c).
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
#define A4 "2001:db8:100::4"
#define RED1 "2001:db8:200::1"

#define SNAP (ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_SNAPSHOT_END)

static uint64_t committed(void)
{
	return fx_mapper()->store.committed_jseq;
}

static void addr_n(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "2001:db8:100::1:%x", i);
}

/* n1 registers count mappings of blue in one REGISTER, accepted. */
static void register_many(struct fx_node *n1, unsigned count, uint64_t seq)
{
	static struct ila_record recs[1024];
	const struct ila_msg *a;

	assert_true(count <= 1024);
	for (unsigned i = 0; i < count; i++) {
		char addr[64];

		addr_n(addr, sizeof(addr), i);
		recs[i] = fx_rec(FX_BLUE, addr, FX_LOC_A, seq, 300);
	}
	a = fx_answer(n1, fx_register(n1, recs, count));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ACK);
	assert_int_equal(a->ack.count, count);
	fx_clear(n1);
}

static bool same_addr(const struct ila_record *r, const char *addr)
{
	struct ila_record k = fx_rec(r->vn, addr, NULL, 0, 0);

	return r->family == k.family && (r->family == AF_INET6
						 ? memcmp(&r->addr6, &k.addr6, 16) == 0
						 : memcmp(&r->addr4, &k.addr4, 4) == 0);
}

static struct subscription *sub_of(const char *node, unsigned *n)
{
	struct session *s = fx_session(node);

	assert_non_null(s);
	return session_subs(s, n);
}

/* ---- subscribing and snapshots (8.6, 8.7) ---- */

static void test_subscribe_to_empty_vn_sends_one_frame_with_begin_and_end(void **state)
{
	struct fx_node *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.vn, FX_BLUE);
	assert_int_equal(p->push.flags & SNAP, SNAP);
	assert_false(p->push.flags & ILA_PUSH_F_MORE);
	assert_int_equal(p->nrec, 0);
	assert_int_equal(p->xid, 0);
	assert_int_equal(p->push.high_seq, committed());
}

static void test_snapshot_carries_every_mapping_of_the_vn_and_no_other(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n4 = fx_connect("n4"), *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n4, FX_RED, RED1, FX_LOC_C, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 7), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A3, FX_LOC_A, 1), 0);
	fx_subscribe(gw, FX_BLUE, 0, 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.flags & SNAP, SNAP);
	assert_int_equal(p->push.high_seq, committed());
	assert_int_equal(p->nrec, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(p->rec[i].vn, FX_BLUE);
		assert_string_equal(p->rec[i].node, "n1");
		assert_int_equal(p->rec[i].state, ILA_STATE_UP);
		fx_assert_loc(&p->rec[i].loc, FX_LOC_A);
	}
	assert_true(same_addr(&p->rec[1], A2));
	assert_int_equal(p->rec[1].seq, 7);
}

static void test_snapshot_split_begins_once_and_ends_once(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	uint64_t pos;
	size_t frames;

	(void)state;
	register_many(n1, 40, 1);
	pos = committed();
	fx_subscribe(gw, FX_BLUE, 0, 0);
	frames = fx_count(gw, ILA_MSG_PUSH);
	assert_int_equal(frames, 3); /* 16 + 16 + 8 */
	for (size_t i = 0; i < frames; i++) {
		const struct ila_msg *p = fx_nth(gw, ILA_MSG_PUSH, i);

		assert_int_equal(!!(p->push.flags & ILA_PUSH_F_SNAPSHOT_BEGIN), i == 0);
		assert_int_equal(!!(p->push.flags & ILA_PUSH_F_SNAPSHOT_END), i == frames - 1);
		assert_true(p->nrec <= 16);
		/* every frame: the position the snapshot reflects */
		assert_int_equal(p->push.high_seq, pos);
	}
	/* each mapping once */
	assert_int_equal(fx_push_records(gw, FX_BLUE), 40);
	for (size_t i = 1; i < 40; i++)
		assert_true(memcmp(&fx_push_record(gw, FX_BLUE, i - 1)->addr6,
				   &fx_push_record(gw, FX_BLUE, i)->addr6, 16) < 0);
}

static void test_snapshot_frames_but_the_last_have_more(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	size_t frames;

	(void)state;
	register_many(n1, 32, 1); /* two full frames: no empty third one */
	fx_subscribe(gw, FX_BLUE, 0, 0);
	frames = fx_count(gw, ILA_MSG_PUSH);
	assert_int_equal(frames, 2);
	for (size_t i = 0; i < frames; i++)
		assert_int_equal(!!(fx_nth(gw, ILA_MSG_PUSH, i)->push.flags & ILA_PUSH_F_MORE),
				 i < frames - 1);
	assert_true(fx_nth(gw, ILA_MSG_PUSH, 1)->push.flags & ILA_PUSH_F_SNAPSHOT_END);
}

static void test_push_lifetime_is_the_lifetime_left(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 5), 0);
	fx_at(FX_T0 + 100);
	fx_subscribe(gw, FX_BLUE, 0, 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->lifetime, 200);
	fx_at(FX_T0 + 150);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 5), 0);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 1)->lifetime, 300);
}

static void test_snapshot_leaves_out_tombstones_and_keeps_down_mappings(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A3, FX_LOC_A, 1), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 1, ILA_STATE_REMOVED), 0);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A3, 1, ILA_STATE_DOWN), 0);
	fx_subscribe(gw, FX_BLUE, 0, 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->nrec, 2);
	assert_true(same_addr(&p->rec[0], A2));
	assert_int_equal(p->rec[0].state, ILA_STATE_UP);
	assert_true(same_addr(&p->rec[1], A3));
	assert_int_equal(p->rec[1].state, ILA_STATE_DOWN);
}

static void test_changes_after_the_snapshot_follow_as_ordinary_pushes(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p;
	uint64_t snap;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	fx_subscribe(gw, FX_BLUE, 0, 0);
	snap = fx_nth(gw, ILA_MSG_PUSH, 0)->push.high_seq;
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 2);
	p = fx_nth(gw, ILA_MSG_PUSH, 1);
	assert_int_equal(p->push.flags & (SNAP | ILA_PUSH_F_DIRECTED), 0);
	assert_int_equal(p->nrec, 1);
	assert_true(same_addr(&p->rec[0], A2));
	assert_true(p->push.high_seq > snap);
	assert_int_equal(p->push.high_seq, committed());
}

static void test_subscribe_is_answered_by_ack_before_its_pushes(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *a, *p;
	uint32_t xid;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	xid = fx_subscribe(gw, FX_BLUE, 0, 0);
	a = fx_answer(gw, xid);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ACK);
	assert_non_null(p);
	assert_true(a < p); /* the inbox is in arrival order */
}

static void test_serving_node_may_subscribe(void **state)
{
	struct fx_node *n1 = fx_connect("n1");
	uint32_t xid;

	(void)state;
	xid = fx_subscribe(n1, FX_BLUE, 0, 0);
	assert_non_null(fx_answer(n1, xid));
	assert_int_equal(fx_answer(n1, xid)->type, ILA_MSG_ACK);
	assert_int_equal(fx_count(n1, ILA_MSG_PUSH), 1);
	assert_int_equal(fx_nth(n1, ILA_MSG_PUSH, 0)->push.flags & SNAP, SNAP);
}

static void test_subscribe_not_allowed_is_not_authorised(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n4 = fx_connect("n4");
	const struct ila_msg *a;
	unsigned nsubs;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	a = fx_answer(n4, fx_subscribe(n4, FX_BLUE, 0, 0));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_NOT_AUTHORISED);
	assert_int_equal(fx_count(n4, ILA_MSG_PUSH), 0);
	sub_of("n4", &nsubs);
	assert_int_equal(nsubs, 0);
	/* and nothing later either */
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	assert_int_equal(fx_count(n4, ILA_MSG_PUSH), 0);
}

static void test_subscribe_to_unknown_vn_is_vn_unknown(void **state)
{
	struct fx_node *gw = fx_connect("gw");
	const struct ila_msg *a;

	(void)state;
	a = fx_answer(gw, fx_subscribe(gw, 999, 0, 0));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_VN_UNKNOWN);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
}

static void test_resubscribe_replaces_the_subscription(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	unsigned nsubs;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	fx_subscribe(gw, FX_BLUE, 0, 0);
	fx_subscribe(gw, FX_BLUE, 0, 0);
	/* two snapshots, one subscription */
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 2);
	sub_of("gw", &nsubs);
	assert_int_equal(nsubs, 1);
	fx_clear(gw);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
}

/* ---- resuming from the journal (8.6, 9.2) ---- */

/* A1, A2, A3 of blue at three positions. */
static void three_changes(struct fx_node *n1)
{
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A3, FX_LOC_A, 1), 0);
	assert_int_equal(committed(), 3);
}

static void test_resume_from_position_sends_only_changes_after_it(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	three_changes(n1);
	fx_subscribe(gw, FX_BLUE, 2, 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.flags & SNAP, 0);
	assert_int_equal(p->nrec, 1);
	assert_true(same_addr(&p->rec[0], A3));
	assert_int_equal(p->push.high_seq, 3);
	assert_int_equal(fx_mapper()->stats.resyncs, 0);
}

static void test_resume_at_current_position_sends_nothing_until_next_change(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");

	(void)state;
	three_changes(n1);
	fx_subscribe(gw, FX_BLUE, 3, 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A4, FX_LOC_A, 1), 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 0), A4));
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 0)->push.high_seq, 4);
}

static void test_resume_replays_a_removal_as_removed(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_record *r;

	(void)state;
	three_changes(n1);
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A2, 1, ILA_STATE_REMOVED), 0);
	fx_subscribe(gw, FX_BLUE, 3, 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	r = fx_push_record(gw, FX_BLUE, 0);
	assert_true(same_addr(r, A2));
	assert_int_equal(r->state, ILA_STATE_REMOVED);
	assert_int_equal(r->seq, 2); /* the tombstone's number */
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 0)->push.high_seq, 4);
}

static void test_resume_from_trimmed_journal_sends_snapshot(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	three_changes(n1);
	fx_trim(2); /* positions 1 and 2 are gone */
	fx_subscribe(gw, FX_BLUE, 1, 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.flags & SNAP, SNAP);
	assert_int_equal(p->nrec, 3);
	assert_int_equal(p->push.high_seq, 3);
	assert_int_equal(fx_mapper()->stats.resyncs, 1);
}

static void test_resume_at_the_trim_point_replays_what_follows(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	three_changes(n1);
	fx_trim(2);
	fx_subscribe(gw, FX_BLUE, 2, 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.flags & SNAP, 0);
	assert_int_equal(p->nrec, 1);
	assert_true(same_addr(&p->rec[0], A3));
}

static void test_resume_from_future_position_sends_snapshot(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	three_changes(n1);
	/* the node knows a position the store never reached: it was restored */
	fx_subscribe(gw, FX_BLUE, 1000, 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.flags & SNAP, SNAP);
	assert_int_equal(p->nrec, 3);
	assert_int_equal(p->push.high_seq, 3);
}

static void test_no_snapshot_flag_sends_only_changes_from_now_on(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");

	(void)state;
	three_changes(n1);
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A4, FX_LOC_A, 1), 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 0), A4));
}

/* ---- fan-out and ordering (8.6) ---- */

static void test_change_is_pushed_to_every_subscriber_of_the_vn(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *n4 = fx_connect("n4"),
		       *gw = fx_connect("gw");
	const struct ila_record *r;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	fx_subscribe(n2, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	fx_subscribe(n4, FX_RED, 0, ILA_SUB_F_NO_SNAPSHOT);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 3), 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_records(n2, FX_BLUE), 1);
	assert_int_equal(fx_count(n4, ILA_MSG_PUSH), 0); /* red only */
	assert_int_equal(fx_count(n1, ILA_MSG_PUSH), 0); /* not subscribed */
	r = fx_push_record(n2, FX_BLUE, 0);
	assert_true(same_addr(r, A1));
	assert_int_equal(r->seq, 3);
	assert_string_equal(r->node, "n1");
	fx_assert_loc(&r->loc, FX_LOC_A);
	assert_int_equal(fx_mapper()->stats.push_frames, 2);
}

static void test_pushes_follow_journal_order_and_jseq_never_decreases(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *n4 = fx_connect("n4");
	struct fx_node *gw = fx_connect("gw");
	uint64_t last = 0;
	size_t k = 0;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	fx_subscribe(gw, FX_RED, 0, ILA_SUB_F_NO_SNAPSHOT);
	/* blue changes in order, with red changes and refusals between */
	for (unsigned i = 0; i < 24; i++) {
		char addr[64];

		addr_n(addr, sizeof(addr), i % 8);
		assert_int_equal(fx_register1(n1, FX_BLUE, addr, i % 2 ? FX_LOC_A : FX_LOC_C, i + 1), 0);
		if (i % 3 == 0)
			assert_int_equal(fx_register1(n4, FX_RED, RED1, FX_LOC_B, i + 1), 0);
		if (i % 5 == 0 && i > 0)
			assert_int_equal(fx_register1(n2, FX_BLUE, addr, FX_LOC_B, 1),
					 ILA_PERR_STALE_SEQ);
	}
	assert_int_equal(fx_push_records(gw, FX_BLUE), 24);
	assert_int_equal(fx_push_records(gw, FX_RED), 8);
	for (size_t i = 0; i < gw->n; i++) {
		const struct ila_msg *p = &gw->inbox[i];

		if (p->type != ILA_MSG_PUSH)
			continue;
		assert_true(p->push.high_seq >= last);
		last = p->push.high_seq;
		if (p->push.vn != FX_BLUE)
			continue;
		for (size_t j = 0; j < p->nrec; j++, k++) {
			char addr[64];

			addr_n(addr, sizeof(addr), (unsigned)k % 8);
			assert_true(same_addr(&p->rec[j], addr));
			assert_int_equal(p->rec[j].seq, k + 1);
		}
	}
	assert_int_equal(last, committed());
}

static void test_move_is_pushed_with_new_owner_and_prev_locator(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *gw = fx_connect("gw");
	const struct ila_record *r;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 4), 0);
	fx_clear(gw);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 5), 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	r = fx_push_record(gw, FX_BLUE, 0);
	assert_string_equal(r->node, "n2");
	fx_assert_loc(&r->loc, FX_LOC_B);
	assert_true(r->has_prev);
	fx_assert_loc(&r->prev, FX_LOC_A);
	assert_int_equal(r->seq, 5);
	assert_int_equal(r->state, ILA_STATE_UP);
}

static void test_directed_push_reaches_non_subscribing_previous_owner(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2"), *n3 = fx_connect("n3");
	const struct ila_msg *p;
	struct mapping mp;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 4), 0);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 5), 0);
	assert_int_equal(fx_count(n1, ILA_MSG_PUSH), 1);
	p = fx_nth(n1, ILA_MSG_PUSH, 0);
	assert_true(p->push.flags & ILA_PUSH_F_DIRECTED);
	assert_int_equal(p->push.flags & SNAP, 0);
	assert_int_equal(p->push.vn, FX_BLUE);
	assert_int_equal(p->nrec, 1);
	assert_true(same_addr(&p->rec[0], A1));
	assert_string_equal(p->rec[0].node, "n2");
	fx_assert_loc(&p->rec[0].loc, FX_LOC_B);
	assert_true(p->rec[0].has_prev);
	fx_assert_loc(&p->rec[0].prev, FX_LOC_A); /* the old owner recognises itself */
	assert_true(fx_get(FX_BLUE, A1, &mp));
	assert_int_equal(p->push.high_seq, mp.jseq);
	/* nobody else hears of it: n2 moved it, n3 has nothing to do with it */
	assert_int_equal(fx_count(n2, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_count(n3, ILA_MSG_PUSH), 0);
	assert_int_equal(fx_mapper()->stats.directed_pushes, 1);
}

static void test_subscribing_previous_owner_gets_no_directed_push(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	const struct ila_msg *p;

	(void)state;
	fx_subscribe(n1, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 4), 0);
	fx_clear(n1);
	assert_int_equal(fx_register1(n2, FX_BLUE, A1, FX_LOC_B, 5), 0);
	assert_int_equal(fx_count(n1, ILA_MSG_PUSH), 1); /* one copy, the subscription's */
	p = fx_nth(n1, ILA_MSG_PUSH, 0);
	assert_false(p->push.flags & ILA_PUSH_F_DIRECTED);
	assert_string_equal(p->rec[0].node, "n2");
	assert_int_equal(fx_mapper()->stats.directed_pushes, 0);
}

/* ---- batches (8.8) ---- */

static struct fx_conf batch4 = { .push_batch = 4 };

static void test_push_batch_limit_splits_frames(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	uint64_t last = 0;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	register_many(n1, 10, 1); /* one commit, ten changes */
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 3);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 0)->nrec, 4);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 1)->nrec, 4);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 2)->nrec, 2);
	for (size_t i = 0; i < 3; i++) {
		const struct ila_msg *p = fx_nth(gw, ILA_MSG_PUSH, i);

		assert_int_equal(p->push.flags & SNAP, 0);
		assert_true(p->push.high_seq > last);
		last = p->push.high_seq;
	}
	assert_int_equal(last, committed());
	for (unsigned i = 0; i < 10; i++) {
		char addr[64];

		addr_n(addr, sizeof(addr), i);
		assert_true(same_addr(fx_push_record(gw, FX_BLUE, i), addr));
	}
}

/* 8.8: a batch larger than `push batch` is split, MORE on all frames but
 * the last; a node remembers only the last frame's JSEQ. */
static void test_split_push_batch_sets_more_on_all_but_last(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	size_t frames;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	register_many(n1, 10, 1);
	frames = fx_count(gw, ILA_MSG_PUSH);
	assert_int_equal(frames, 3);
	for (size_t i = 0; i < frames; i++)
		assert_int_equal(!!(fx_nth(gw, ILA_MSG_PUSH, i)->push.flags & ILA_PUSH_F_MORE),
				 i < frames - 1);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, frames - 1)->push.high_seq, committed());
}

/* 8.8: a batch of exactly `push batch` records is one frame, without MORE. */
static void test_batch_that_fills_one_frame_has_no_more(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	register_many(n1, 4, 1);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->nrec, 4);
	assert_int_equal(p->push.flags & ILA_PUSH_F_MORE, 0);
	assert_int_equal(p->push.high_seq, committed());
}

static void test_snapshot_frames_hold_at_most_the_push_batch(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");

	(void)state;
	register_many(n1, 9, 1);
	fx_subscribe(gw, FX_BLUE, 0, 0);
	assert_true(fx_count(gw, ILA_MSG_PUSH) >= 3);
	for (size_t i = 0; i < fx_count(gw, ILA_MSG_PUSH); i++)
		assert_true(fx_nth(gw, ILA_MSG_PUSH, i)->nrec <= 4);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 9);
}

static struct fx_conf push_delay = { .push_delay_ms = 1000 };
static struct fx_conf both_delays = { .push_delay_ms = 1000, .commit_delay_ms = 1000 };

static void test_push_delay_holds_changes_until_it_ends(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	fx_hold_delay_timers();
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	fx_hold_delay_timers();
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	fx_push_delay_ends();
	/* both changes, in one frame */
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 0)->nrec, 2);
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 0), A1));
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 1), A2));
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 0)->push.high_seq, committed());
}

/* 8.8: "Within what is held for one session, several changes of the same
 * mapping collapse into the latest". */
static void test_changes_held_by_push_delay_collapse_into_the_latest(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	fx_hold_delay_timers();
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 2), 0);
	fx_hold_delay_timers();
	fx_push_delay_ends();
	assert_int_equal(fx_push_records(gw, FX_BLUE), 1);
	assert_int_equal(fx_push_record(gw, FX_BLUE, 0)->seq, 2);
	/* the frame still reports the position of both changes */
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->push.high_seq, committed());
	assert_int_equal(p->push.flags & ILA_PUSH_F_MORE, 0);
	assert_int_equal(sub_of("gw", &(unsigned){ 0 })->pos, committed());
}

/* 8.8: a mapping goes out at the position of its latest change, so the
 * records keep journal order (A2 changed after A3, so it comes after A3). */
static void test_collapsed_mapping_is_sent_at_its_latest_position(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	fx_hold_delay_timers();
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);
	fx_hold_delay_timers();
	assert_int_equal(fx_register1(n1, FX_BLUE, A3, FX_LOC_A, 1), 0);
	fx_hold_delay_timers();
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_B, 2), 0);
	fx_hold_delay_timers();
	fx_push_delay_ends();
	assert_int_equal(fx_push_records(gw, FX_BLUE), 3);
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 0), A1));
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 1), A3));
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 2), A2));
	assert_int_equal(fx_push_record(gw, FX_BLUE, 2)->seq, 2);
	fx_assert_loc(&fx_push_record(gw, FX_BLUE, 2)->loc, FX_LOC_B);
}

/* 8.6, 8.8: a node resuming from a position gets each mapping changed since
 * once, in its latest state. */
static void test_resume_sends_each_changed_mapping_once(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");

	(void)state;
	three_changes(n1);						 /* 1 2 3 */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_B, 2), 0); /* 4 */
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_B, 2), 0); /* 5 */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_C, 3), 0); /* 6 */
	fx_subscribe(gw, FX_BLUE, 1, 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 3);
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 0), A3));
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 1), A2));
	assert_int_equal(fx_push_record(gw, FX_BLUE, 1)->seq, 2);
	assert_true(same_addr(fx_push_record(gw, FX_BLUE, 2), A1));
	assert_int_equal(fx_push_record(gw, FX_BLUE, 2)->seq, 3);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, fx_count(gw, ILA_MSG_PUSH) - 1)->push.high_seq, 6);
}

/* 8.8: a mapping whose tombstone was forgotten is known only by its journal
 * entries; replayed, its changes still collapse into one removal, with the
 * tombstone's number. */
static void test_resume_collapses_the_changes_of_a_forgotten_mapping(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_record *r, *a1 = NULL;
	struct mapping mp;
	uint64_t tomb;
	size_t n = 0;

	(void)state;
	assert_int_equal(fx_register1(n1, FX_BLUE, A2, FX_LOC_A, 1), 0);		  /* 1 */
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 4), 0);		  /* 2 */
	assert_int_equal(fx_deregister1(n1, FX_BLUE, A1, 4, ILA_STATE_REMOVED), 0); /* 3 */
	assert_true(fx_get(FX_BLUE, A1, &mp));
	tomb = mp.rec.seq;
	fx_at(FX_T0 + 600); /* lifetime max: the tombstone is forgotten */
	fx_expire();
	assert_false(fx_get(FX_BLUE, A1, &mp));
	fx_subscribe(gw, FX_BLUE, 1, 0);
	for (size_t i = 0; (r = fx_push_record(gw, FX_BLUE, i)); i++)
		if (same_addr(r, A1))
			a1 = r, n++;
	assert_int_equal(n, 1);
	assert_int_equal(a1->state, ILA_STATE_REMOVED);
	assert_int_equal(a1->seq, tomb);
}

static struct fx_conf batch4_delay = { .push_batch = 4, .push_delay_ms = 1000 };

/* 8.8: when a batch of collapsed changes is split, each frame's JSEQ is the
 * position its records reach: the changes passed over before the first
 * record of the next frame belong to this one, those after it to the
 * next, and the last frame reaches the newest position. */
static void test_split_collapsed_batch_frames_report_the_positions_they_cover(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	static struct ila_record again[2];
	const struct ila_msg *p;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	register_many(n1, 6, 1); /* 1..6: mappings 0..5 */
	fx_hold_delay_timers();
	for (unsigned i = 0; i < 2; i++) {
		char addr[64];

		addr_n(addr, sizeof(addr), i);
		again[i] = fx_rec(FX_BLUE, addr, FX_LOC_B, 2, 300);
	}
	fx_register(n1, again, 2); /* 7, 8: mappings 0 and 1 again */
	fx_hold_delay_timers();
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	fx_push_delay_ends();
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 2);
	p = fx_nth(gw, ILA_MSG_PUSH, 0);
	assert_int_equal(p->nrec, 4); /* mappings 2..5: 1 and 2 were passed over */
	assert_true(p->push.flags & ILA_PUSH_F_MORE);
	assert_int_equal(p->push.high_seq, 6);
	p = fx_nth(gw, ILA_MSG_PUSH, 1);
	assert_int_equal(p->nrec, 2); /* mappings 0 and 1, latest */
	assert_int_equal(p->rec[0].seq, 2);
	assert_int_equal(p->rec[1].seq, 2);
	assert_int_equal(p->push.flags & ILA_PUSH_F_MORE, 0);
	assert_int_equal(p->push.high_seq, 8);
}

/* ---- unsubscribing (6.8) ---- */

static void test_unsubscribe_stops_pushes(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *a;
	unsigned nsubs;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	a = fx_answer(gw, fx_unsubscribe(gw, FX_BLUE));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ACK);
	sub_of("gw", &nsubs);
	assert_int_equal(nsubs, 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
}

static void test_unsubscribe_of_vn_not_subscribed_is_not_subscribed(void **state)
{
	struct fx_node *gw = fx_connect("gw");
	const struct ila_msg *a;

	(void)state;
	fx_subscribe(gw, FX_RED, 0, ILA_SUB_F_NO_SNAPSHOT);
	a = fx_answer(gw, fx_unsubscribe(gw, FX_BLUE));
	assert_non_null(a);
	assert_int_equal(a->type, ILA_MSG_ERROR);
	assert_int_equal(a->error.code, ILA_PERR_NOT_SUBSCRIBED);
	assert_int_equal(fx_mapper()->stats.not_subscribed, 1);
}

static void test_unsubscribe_of_one_vn_keeps_the_other(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n4 = fx_connect("n4"), *gw = fx_connect("gw");
	unsigned nsubs;
	struct subscription *subs;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	fx_subscribe(gw, FX_RED, 0, ILA_SUB_F_NO_SNAPSHOT);
	fx_unsubscribe(gw, FX_BLUE);
	subs = sub_of("gw", &nsubs);
	assert_int_equal(nsubs, 1);
	assert_int_equal(subs[0].vn, FX_RED);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_register1(n4, FX_RED, RED1, FX_LOC_B, 1), 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 0);
	assert_int_equal(fx_push_records(gw, FX_RED), 1);
}

/* ---- flow control (8.6): queue-limit 4 KB ---- */

static struct fx_conf small_queue = { .queue_limit_kb = 4 };

static void test_stalled_subscriber_queue_stays_bounded_and_catches_up(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	struct session *s;
	size_t total, limit = 4 * 1024;
	uint64_t last = 0;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	s = fx_session("gw");
	fx_send_blocked = gw->mapper_fd; /* gw stops reading: its socket is full */
	register_many(n1, 300, 1);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 0);
	assert_true(fx_mapper()->stats.subscriber_stalls >= 1);
	/* pushes stop at the limit: at most one frame beyond it */
	assert_true(session_queued(s) >= limit);
	assert_true(session_queued(s) < limit + 16 * ILA_PROTO_MAX_RECORD_LEN + 64);
	assert_true(session_open(s));
	/* more changes while stalled do not grow the queue */
	register_many(n1, 300, 2);
	assert_true(session_queued(s) < limit + 16 * ILA_PROTO_MAX_RECORD_LEN + 64);

	fx_send_blocked = -1; /* it reads again */
	fx_run();
	total = fx_push_records(gw, FX_BLUE);
	assert_true(total >= 300);
	/* it ends with every mapping at its latest state, at the last position */
	for (size_t i = 0; i < gw->n; i++) {
		if (gw->inbox[i].type != ILA_MSG_PUSH)
			continue;
		assert_true(gw->inbox[i].push.high_seq >= last);
		last = gw->inbox[i].push.high_seq;
	}
	assert_int_equal(last, committed());
	for (unsigned a = 0; a < 300; a++) {
		char addr[64];
		uint64_t seq = 0;

		addr_n(addr, sizeof(addr), a);
		for (size_t i = 0; i < total; i++) {
			const struct ila_record *r = fx_push_record(gw, FX_BLUE, i);

			if (same_addr(r, addr))
				seq = r->seq; /* the last one applied wins */
		}
		assert_int_equal(seq, 2);
	}
}

/* 8.6: a stalled subscriber is paused; once its queue drained it resumes
 * from the journal at the position where it stopped: no snapshot, every
 * change once. */
static void test_stalled_subscriber_resumes_from_the_journal_after_drain(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	uint64_t pos, snapshots = fx_mapper()->stats.snapshots;
	unsigned nsubs;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	fx_send_blocked = gw->mapper_fd;
	register_many(n1, 300, 1);
	assert_true(fx_mapper()->stats.subscriber_stalls >= 1);
	assert_true(sub_of("gw", &nsubs)->stalled);
	pos = sub_of("gw", &nsubs)->pos;
	assert_true(pos > 0 && pos < committed()); /* it stopped part of the way */
	fx_send_blocked = -1;
	fx_run();
	for (size_t i = 0; i < fx_count(gw, ILA_MSG_PUSH); i++)
		assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, i)->push.flags & SNAP, 0);
	assert_int_equal(fx_mapper()->stats.snapshots, snapshots);
	assert_int_equal(fx_mapper()->stats.resyncs, 0);
	assert_int_equal(fx_push_records(gw, FX_BLUE), 300);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, fx_count(gw, ILA_MSG_PUSH) - 1)->push.high_seq,
			 committed());
	assert_false(sub_of("gw", &nsubs)->stalled);
}

/* 8.6: when the journal no longer holds the position where a stalled
 * subscriber stopped, it gets a snapshot once its queue drained, then the
 * changes after it as ordinary pushes. */
static void test_stalled_subscriber_gets_snapshot_when_the_journal_was_trimmed(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *gw = fx_connect("gw");
	const struct ila_msg *p = NULL;
	size_t i, n;
	unsigned nsubs;

	(void)state;
	fx_subscribe(gw, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	fx_send_blocked = gw->mapper_fd;
	register_many(n1, 300, 1);
	assert_true(sub_of("gw", &nsubs)->pos < committed());
	fx_trim(committed()); /* the journal forgets where it stopped */
	fx_send_blocked = -1;
	fx_run();
	assert_int_equal(fx_mapper()->stats.resyncs, 1);
	/* what was queued before the stall goes out first; then the snapshot */
	n = fx_count(gw, ILA_MSG_PUSH);
	for (i = 0; i < n; i++) {
		p = fx_nth(gw, ILA_MSG_PUSH, i);
		if (p->push.flags & ILA_PUSH_F_SNAPSHOT_BEGIN)
			break;
		assert_int_equal(p->push.flags & SNAP, 0);
	}
	assert_true(i < n);
	for (size_t snap = 0; i < n; i++, snap += p->nrec) {
		p = fx_nth(gw, ILA_MSG_PUSH, i);
		assert_int_equal(p->push.high_seq, committed());
		if (p->push.flags & ILA_PUSH_F_SNAPSHOT_END) {
			assert_int_equal(snap + p->nrec, 300);
			break;
		}
	}
	assert_true(i < n);
	assert_int_equal(i, n - 1);
	/* then it is live again */
	fx_clear(gw);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(fx_count(gw, ILA_MSG_PUSH), 1);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 0)->push.flags & SNAP, 0);
	assert_int_equal(fx_nth(gw, ILA_MSG_PUSH, 0)->push.high_seq, committed());
}

/* 8.3: an ACK that refuses a record comes after the pushes the session is
 * owed: a node whose refresh crossed another node's move learns the move
 * before the refusal (and forwards instead of dropping). */
static void test_refusal_comes_after_the_push_of_the_move_that_made_it_stale(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n2 = fx_connect("n2");
	size_t push_at = SIZE_MAX, ack_at = SIZE_MAX;
	struct ila_record r1 = fx_rec(FX_BLUE, A1, FX_LOC_A, 1, 300);
	struct ila_record r2 = fx_rec(FX_BLUE, A1, FX_LOC_B, 2, 300);
	uint32_t xid;

	(void)state;
	fx_subscribe(n1, FX_BLUE, 0, ILA_SUB_F_NO_SNAPSHOT);
	xid = fx_register(n1, &r1, 1);
	fx_commit_delay_ends();
	assert_int_equal(fx_answer(n1, xid)->ack.count, 1);
	fx_push_delay_ends();
	fx_clear(n1);
	/* n2 takes the workload and n1's refresh crosses the move: both are
	 * decided in one commit, the move first; the push of the move to n1
	 * waits for the push delay */
	fx_register(n2, &r2, 1);
	xid = fx_register(n1, &r1, 1);
	assert_int_equal(fx_count(n1, ILA_MSG_PUSH), 0);
	fx_commit_delay_ends();
	fx_hold_delay_timers();
	for (size_t k = 0; k < n1->n; k++) {
		const struct ila_msg *m = &n1->inbox[k];

		if (m->type == ILA_MSG_PUSH && push_at == SIZE_MAX)
			push_at = k;
		if (m->type == ILA_MSG_ACK && m->xid == xid)
			ack_at = k;
	}
	assert_int_not_equal(ack_at, SIZE_MAX);
	assert_int_equal(fx_answer(n1, xid)->ack.status[0], ILA_PERR_STALE_SEQ);
	assert_int_not_equal(push_at, SIZE_MAX);
	assert_true(push_at < ack_at);
	assert_string_equal(fx_push_record(n1, FX_BLUE, 0)->node, "n2");
	fx_assert_loc(&fx_push_record(n1, FX_BLUE, 0)->loc, FX_LOC_B);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
#define TC(f, conf) cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, &conf)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_subscribe_to_empty_vn_sends_one_frame_with_begin_and_end),
		T(test_snapshot_carries_every_mapping_of_the_vn_and_no_other),
		T(test_snapshot_split_begins_once_and_ends_once),
		T(test_snapshot_frames_but_the_last_have_more),
		T(test_push_lifetime_is_the_lifetime_left),
		T(test_snapshot_leaves_out_tombstones_and_keeps_down_mappings),
		T(test_changes_after_the_snapshot_follow_as_ordinary_pushes),
		T(test_subscribe_is_answered_by_ack_before_its_pushes),
		T(test_serving_node_may_subscribe),
		T(test_subscribe_not_allowed_is_not_authorised),
		T(test_subscribe_to_unknown_vn_is_vn_unknown),
		T(test_resubscribe_replaces_the_subscription),
		T(test_resume_from_position_sends_only_changes_after_it),
		T(test_resume_at_current_position_sends_nothing_until_next_change),
		T(test_resume_replays_a_removal_as_removed),
		T(test_resume_from_trimmed_journal_sends_snapshot),
		T(test_resume_at_the_trim_point_replays_what_follows),
		T(test_resume_from_future_position_sends_snapshot),
		T(test_no_snapshot_flag_sends_only_changes_from_now_on),
		T(test_change_is_pushed_to_every_subscriber_of_the_vn),
		T(test_pushes_follow_journal_order_and_jseq_never_decreases),
		T(test_move_is_pushed_with_new_owner_and_prev_locator),
		T(test_directed_push_reaches_non_subscribing_previous_owner),
		T(test_subscribing_previous_owner_gets_no_directed_push),
		TC(test_push_batch_limit_splits_frames, batch4),
		TC(test_split_push_batch_sets_more_on_all_but_last, batch4),
		TC(test_batch_that_fills_one_frame_has_no_more, batch4),
		TC(test_snapshot_frames_hold_at_most_the_push_batch, batch4),
		TC(test_push_delay_holds_changes_until_it_ends, push_delay),
		TC(test_refusal_comes_after_the_push_of_the_move_that_made_it_stale, both_delays),
		TC(test_changes_held_by_push_delay_collapse_into_the_latest, push_delay),
		TC(test_collapsed_mapping_is_sent_at_its_latest_position, push_delay),
		T(test_resume_sends_each_changed_mapping_once),
		T(test_resume_collapses_the_changes_of_a_forgotten_mapping),
		TC(test_split_collapsed_batch_frames_report_the_positions_they_cover, batch4_delay),
		T(test_unsubscribe_stops_pushes),
		T(test_unsubscribe_of_vn_not_subscribed_is_not_subscribed),
		T(test_unsubscribe_of_one_vn_keeps_the_other),
		TC(test_stalled_subscriber_queue_stays_bounded_and_catches_up, small_queue),
		TC(test_stalled_subscriber_resumes_from_the_journal_after_drain, small_queue),
		TC(test_stalled_subscriber_gets_snapshot_when_the_journal_was_trimmed, small_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
