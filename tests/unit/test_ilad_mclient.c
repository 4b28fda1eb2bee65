/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad's mapper session (ilad/mclient.c) as the mapper sees it: the test
 * holds the other end of the session's socket (a socketpair handed out by
 * the wrapped socket(); connect() succeeds at once) and speaks the real
 * protocol codec, so what is checked is what goes on the wire. The real
 * mclient.c, local.c (with local_resync.c and local_neigh.c), cache.c,
 * state.c, event.c and zebra.c run with the
 * event dispatcher of ilad.c; the kernel, the clock, the control socket
 * and the interfaces are fakes (fake_ilad.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_ilad.h"

#define VN_BLUE 10
#define VN_GREEN 20
#define LOC_H1 "2001:db8:ff:1"
#define LOC_H2 "2001:db8:ff:a"
#define A1 "2001:db8:10::42"
#define A2 "2001:db8:10::43"

static const char conf[] =
	"node-name h1\n"
	"plaintext\n"
	"mapper ::1\n"
	"mapper 127.0.0.1 port 7001\n"
	"locator " LOC_H1 "\n"
	"locator 2001:db8:ff:2\n"
	"registration-lifetime 300\n"
	"vn blue id 10 sir-prefix 2001:db8:10::/64\n"
	"vn blue interface tap0\n"
	"vn green id 20 sir-prefix 2001:db8:20::/64\n";

/* ---- the mapper's end of the session ---- */

static int peer = -1;
static struct ila_frame_reader peer_rd;
static struct ila_msg got[64];
static size_t n_got;

static void got_free(void)
{
	for (size_t i = 0; i < n_got; i++)
		ila_msg_free(&got[i]);
	n_got = 0;
}

static void take_frames(void)
{
	const uint8_t *frame;
	size_t len;

	while (ila_frame_reader_next(&peer_rd, &frame, &len) == 1) {
		assert_true(n_got < ILA_ARRAY_SIZE(got));
		assert_int_equal(ila_msg_decode(frame, len, &got[n_got]), 0);
		n_got++;
	}
}

/* Everything the node sent since the last call, decoded into got[]. */
static size_t mapper_recv(void)
{
	uint8_t buf[16384];
	ssize_t r;

	got_free();
	while ((r = read(peer, buf, sizeof(buf))) > 0) {
		size_t done = 0;

		while (done < (size_t)r) {
			ssize_t t = ila_frame_reader_feed(&peer_rd, buf + done, (size_t)r - done);

			assert_true(t >= 0);
			done += (size_t)t;
			take_frames();
		}
	}
	assert_true(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	take_frames();
	return n_got;
}

static void mapper_send(struct ila_msg m)
{
	uint8_t buf[65536];
	size_t len = 0;

	assert_int_equal(ila_msg_encode(&m, buf, sizeof(buf), &len), 0);
	assert_int_equal(write(peer, buf, len), (ssize_t)len);
}

/* The node reads what the mapper sent; then its event queue runs. */
static void deliver(struct ilad *d)
{
	ev_invoke(d->loop, &d->mc_io, EV_READ);
	ilad_events_run(d);
}

static const struct ila_msg *got_of(uint8_t type, size_t nth)
{
	for (size_t i = 0; i < n_got; i++)
		if (got[i].type == type && nth-- == 0)
			return &got[i];
	return NULL;
}

static size_t got_count(uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < n_got; i++)
		n += got[i].type == type;
	return n;
}

/* The record of addr in a message, or NULL. */
static const struct ila_record *rec_of(const struct ila_msg *m, uint32_t vn, const char *addr)
{
	struct ilad_key want = fake_key(vn, addr);

	for (size_t i = 0; m && i < m->nrec; i++) {
		struct ilad_key k;

		ilad_key_of_record(&m->rec[i], &k);
		if (memcmp(&k, &want, sizeof(k)) == 0)
			return &m->rec[i];
	}
	return NULL;
}

/* ---- set-up: a session up to OPEN sent ---- */

static int setup_with(void **state, const char *text)
{
	struct ilad *d;
	char err[256];
	int sv[2];

	fake_reset();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	fake_mapper_fd = sv[0];
	peer = sv[1];
	ila_frame_reader_init(&peer_rd);
	n_got = 0;
	d = fake_ilad_new(text, ilad_run_event);
	assert_int_equal(local_init(d, err, sizeof(err)), 0);
	assert_int_equal(ondemand_init(d, err, sizeof(err)), 0);
	mc_init(d);
	assert_int_equal(d->mc, MC_CONNECTING);
	ev_invoke(d->loop, &d->mc_io, EV_WRITE); /* connected */
	assert_int_equal(d->mc, MC_OPENSENT);
	*state = d;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, conf);
}

/* cache on-demand (dataplane auto: the fake data path is no real one) */
static int setup_od(void **state)
{
	static const char od[] =
		"node-name h1\n"
		"plaintext\n"
		"mapper ::1\n"
		"locator " LOC_H1 "\n"
		"cache on-demand\n"
		"vn blue id 10 sir-prefix 2001:db8:10::/64\n"
		"vn blue interface tap0\n";

	return setup_with(state, od);
}

static int teardown(void **state)
{
	struct ilad *d = *state;

	mc_stop(d, false);
	ondemand_free(d);
	local_free(d);
	fake_ilad_free(d);
	got_free();
	ila_frame_reader_free(&peer_rd);
	close(peer);
	peer = -1;
	return 0;
}

static uint64_t mapper_directory; /* what the next OPEN says: 0, none */

static uint32_t mapper_caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY;

/* The mapper answers OPEN: the session is up. */
static void mapper_open(struct ilad *d)
{
	struct ila_msg m = { .type = ILA_MSG_OPEN, .xid = 1 };

	m.open.directory = mapper_directory;

	snprintf(m.open.node, sizeof(m.open.node), "mapper1");
	m.open.role = ILA_ROLE_MAPPER;
	m.open.caps = mapper_caps;
	m.open.keepalive_ms = 1000;
	m.open.dead_ms = 3000;
	mapper_recv(); /* the node's OPEN */
	mapper_send(m);
	deliver(d);
	assert_int_equal(d->mc, MC_UP);
}

static void mapper_push(struct ilad *d, uint32_t vn, uint32_t flags, uint64_t pos,
			struct ila_record *recs, size_t n)
{
	struct ila_msg m = { .type = ILA_MSG_PUSH, .xid = 0, .rec = recs, .nrec = n };

	m.push.vn = vn;
	m.push.flags = flags;
	m.push.high_seq = pos;
	mapper_send(m);
	deliver(d);
}

/* A whole snapshot of vn in one frame. */
static void mapper_snapshot(struct ilad *d, uint32_t vn, struct ila_record *recs, size_t n)
{
	mapper_push(d, vn, ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_SNAPSHOT_END, 100, recs, n);
}

static void mapper_ack(struct ilad *d, uint32_t xid, uint16_t *status, size_t n, uint32_t count)
{
	struct ila_msg m = { .type = ILA_MSG_ACK, .xid = xid };

	m.ack.has_count = true;
	m.ack.count = count;
	m.ack.status = status;
	m.ack.nstatus = n;
	mapper_send(m);
	deliver(d);
}

static void mapper_error(struct ilad *d, uint32_t xid, uint16_t code)
{
	struct ila_msg m = { .type = ILA_MSG_ERROR, .xid = xid };

	m.error.code = code;
	snprintf(m.error.text, sizeof(m.error.text), "said by the test");
	mapper_send(m);
	deliver(d);
}

static int attach(struct ilad *d, const char *addr)
{
	char err[256];
	int rc = local_attach(d, addr, "tap0", err, sizeof(err));

	ilad_events_run(d);
	return rc;
}

static struct local *local_of(struct ilad *d, const char *addr)
{
	struct ilad_key k = fake_key(VN_BLUE, addr);

	return local_get(d, &k);
}

/* Session up, both vns in sync (empty snapshots); what was sent is read. */
static void up_and_synced(struct ilad *d)
{
	mapper_open(d);
	mapper_snapshot(d, VN_BLUE, NULL, 0);
	mapper_snapshot(d, VN_GREEN, NULL, 0);
	assert_true(mc_vn_synced(d, VN_BLUE));
	mapper_recv();
}

/* ---- tests ---- */

static void test_session_opens_as_node_then_subscribes_every_vn(void **state)
{
	struct ilad *d = *state;
	const struct ila_msg *m;

	assert_int_equal(mapper_recv(), 1);
	assert_int_equal(got[0].type, ILA_MSG_OPEN);
	assert_string_equal(got[0].open.node, "h1");
	assert_int_equal(got[0].open.role, ILA_ROLE_NODE);
	assert_true(got[0].open.caps & ILA_CAP_STANDBY);

	mapper_open(d);
	mapper_recv();
	assert_int_equal(got_count(ILA_MSG_SUBSCRIBE), 2);
	m = got_of(ILA_MSG_SUBSCRIBE, 0);
	assert_int_equal(m->sub.vn, VN_BLUE);
	assert_int_equal(m->sub.resume_seq, 0);
	assert_int_equal(got_of(ILA_MSG_SUBSCRIBE, 1)->sub.vn, VN_GREEN);
	assert_int_equal(d->stats.mapper_connects, 1);
	/* not in sync before the snapshots */
	assert_false(mc_vn_synced(d, VN_BLUE));
}

static void test_snapshot_resyncs_adopted_workload_at_mapper_seq(void **state)
{
	struct ilad *d = *state;
	struct ilad_key k = fake_key(VN_BLUE, A1);
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP);
	const struct ila_record *reg;

	local_adopt(d, &k, FAKE_IF_TAP0);
	mapper_open(d);
	mapper_recv();
	/* asked about, not registered */
	assert_non_null(rec_of(got_of(ILA_MSG_QUERY, 0), VN_BLUE, A1));
	assert_int_equal(got_count(ILA_MSG_REGISTER), 0);

	mapper_snapshot(d, VN_BLUE, &r, 1);
	mapper_recv();
	reg = rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1);
	assert_non_null(reg);
	assert_int_equal(reg->seq, 5);
	assert_int_equal(reg->state, ILA_STATE_UP);
	assert_int_equal(reg->lifetime, 300);
	assert_true(mc_vn_synced(d, VN_BLUE));
	assert_int_equal(d->sync[0].pos, 100);
}

static void test_snapshot_in_several_frames_syncs_at_its_end(void **state)
{
	struct ilad *d = *state;
	struct ilad_key k = fake_key(VN_BLUE, A1);
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_DOWN);

	local_adopt(d, &k, FAKE_IF_TAP0);
	mapper_open(d);
	mapper_recv();
	mapper_push(d, VN_BLUE, ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_MORE, 100, &r, 1);
	assert_false(mc_vn_synced(d, VN_BLUE));
	mapper_recv();
	assert_int_equal(got_count(ILA_MSG_REGISTER), 0);
	mapper_push(d, VN_BLUE, ILA_PUSH_F_SNAPSHOT_END, 100, NULL, 0);
	assert_true(mc_vn_synced(d, VN_BLUE));
	mapper_recv();
	assert_int_equal(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1)->seq, 6);
}

static void test_directed_push_does_not_complete_sync(void **state)
{
	struct ilad *d = *state;
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct ilad_key k = fake_key(VN_BLUE, A1);

	mapper_open(d);
	mapper_push(d, VN_BLUE, ILA_PUSH_F_DIRECTED, 7, &r, 1);
	assert_false(mc_vn_synced(d, VN_BLUE));
	/* its record is applied all the same */
	assert_true(cache_get(d, &k, false)->known);
	assert_int_equal(cache_get(d, &k, false)->inst.kind, KROUTE_ILA);
}

/* cache on-demand: no SUBSCRIBE; misses leave as a QUERY with WATCH; the
 * REPLY and then a WATCHED push reach the cache (no subscription, no
 * position); an eviction's RELEASE; without the mapper's WATCH, none. */
static void test_on_demand_queries_with_watch_and_applies_watched_pushes(void **state)
{
	struct ilad *d = *state;
	struct ilad_key k = fake_key(VN_BLUE, A1);
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct ila_record moved = fake_rec(VN_BLUE, A1, "2001:db8:ff:b", "h3", 6, ILA_STATE_UP);
	const struct ila_msg *q;
	struct ila_msg reply = { .type = ILA_MSG_REPLY, .rec = &r, .nrec = 1 };

	mapper_caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY | ILA_CAP_WATCH;
	mapper_open(d);
	mapper_caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY;
	/* the node's OPEN (read by mapper_open) said WATCH; nothing subscribed */
	assert_non_null(got_of(ILA_MSG_OPEN, 0));
	assert_true(got_of(ILA_MSG_OPEN, 0)->open.caps & ILA_CAP_WATCH);
	assert_int_equal(mapper_recv(), 0);
	ondemand_miss(d, VN_BLUE, &k.addr.v6);
	ondemand_batch_flush(d);
	mapper_recv();
	q = got_of(ILA_MSG_QUERY, 0);
	assert_non_null(q);
	assert_int_equal(got_count(ILA_MSG_SUBSCRIBE), 0);
	assert_int_equal(q->sub.flags, ILA_QUERY_F_WATCH);
	assert_int_equal(q->nrec, 1);
	reply.xid = q->xid;
	mapper_send(reply);
	deliver(d);
	assert_true(cache_get(d, &k, false)->known);
	assert_int_equal(ondemand_get(d, &k)->state, OD_INSTALLED);
	mapper_push(d, VN_BLUE, ILA_PUSH_F_WATCHED, 9, &moved, 1);
	assert_string_equal(cache_get(d, &k, false)->rec.node, "h3");
	assert_int_equal(d->stats.od_pushed, 1);
	assert_int_equal(d->stats.pushes, 1);
	assert_false(mc_vn_synced(d, VN_BLUE));
	assert_true(mc_release(d, VN_BLUE, &k, 1) > 0);
	mapper_recv();
	q = got_of(ILA_MSG_QUERY, 0);
	assert_non_null(q);
	assert_int_equal(q->sub.flags, ILA_QUERY_F_RELEASE);
}

/* An on-demand node's own workload: its view by a QUERY (with WATCH), and
 * watched again at each refresh, since nothing is subscribed. */
static void test_on_demand_watches_its_own_workloads(void **state)
{
	struct ilad *d = *state;
	struct ila_msg reply = { .type = ILA_MSG_REPLY };
	const struct ila_msg *q;

	mapper_caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY | ILA_CAP_WATCH;
	mapper_open(d);
	mapper_caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY;
	mapper_recv();
	assert_true(attach(d, A1) >= 0);
	mapper_recv();
	q = got_of(ILA_MSG_QUERY, 0);
	assert_non_null(q);
	assert_int_equal(q->sub.flags, ILA_QUERY_F_WATCH);
	assert_non_null(rec_of(q, VN_BLUE, A1));
	reply.xid = q->xid; /* no mapping yet: registered */
	mapper_send(reply);
	deliver(d);
	mapper_recv();
	assert_int_equal(got_count(ILA_MSG_REGISTER), 1);
	ev_invoke(d->loop, &d->refresh_timer, EV_TIMER);
	mapper_recv();
	assert_int_equal(got_count(ILA_MSG_REGISTER), 1);
	q = got_of(ILA_MSG_QUERY, 0);
	assert_non_null(q);
	assert_int_equal(q->sub.flags, ILA_QUERY_F_WATCH);
	assert_non_null(rec_of(q, VN_BLUE, A1));
}

static void test_on_demand_without_mapper_watch_sends_no_flags(void **state)
{
	struct ilad *d = *state;
	struct ilad_key k = fake_key(VN_BLUE, A1);
	const struct ila_msg *q;

	mapper_open(d); /* a mapper without WATCH */
	mapper_recv();
	ondemand_miss(d, VN_BLUE, &k.addr.v6);
	ondemand_batch_flush(d);
	mapper_recv();
	q = got_of(ILA_MSG_QUERY, 0);
	assert_non_null(q);
	assert_int_equal(q->sub.flags, 0);
	assert_int_equal(mc_release(d, VN_BLUE, &k, 1), 0);
	assert_int_equal(mapper_recv(), 0);
}

/* What the mapper sends is checked before it is used: a record of a vn the
 * node does not serve, or outside the vn's prefix, is dropped and counted,
 * whatever its state; a down one does not become an unreachable route. */
static void test_down_records_outside_served_vns_and_prefixes_install_no_route(void **state)
{
	struct ilad *d = *state;
	struct ila_record outside = fake_rec(VN_BLUE, "2001:db8:99::1", LOC_H2, "h2", 5,
					     ILA_STATE_DOWN);
	struct ila_record other_vn = fake_rec(30, "2001:db8:10::44", LOC_H2, "h2", 5,
					      ILA_STATE_DOWN);
	struct ila_record replied = fake_rec(VN_BLUE, "2001:db8:98::1", LOC_H2, "h2", 5,
					     ILA_STATE_DOWN);
	struct ila_record inside = fake_rec(VN_BLUE, A2, LOC_H2, "h2", 5, ILA_STATE_DOWN);
	struct ila_msg reply = { .type = ILA_MSG_REPLY, .xid = 4242, .rec = &replied, .nrec = 1 };
	union kaddr a;
	struct ilad_key k;

	up_and_synced(d);
	fake_kernel_clear();
	mapper_push(d, VN_BLUE, 0, 101, &outside, 1);
	mapper_push(d, 30, 0, 7, &other_vn, 1);
	mapper_send(reply);
	deliver(d);
	mapper_push(d, VN_BLUE, 0, 102, &inside, 1); /* the control: applied */
	a = fake_kaddr("2001:db8:99::1");
	assert_null(fake_kernel_last(FK_REPLACE, &a));
	a = fake_kaddr("2001:db8:10::44");
	assert_null(fake_kernel_last(FK_REPLACE, &a));
	a = fake_kaddr("2001:db8:98::1");
	assert_null(fake_kernel_last(FK_REPLACE, &a));
	k = fake_key(VN_BLUE, "2001:db8:99::1");
	assert_null(cache_get(d, &k, false));
	k = fake_key(30, "2001:db8:10::44");
	assert_null(cache_get(d, &k, false));
	a = fake_kaddr(A2);
	assert_non_null(fake_kernel_last(FK_REPLACE, &a));
	assert_int_equal(fake_kernel_last(FK_REPLACE, &a)->r.kind, KROUTE_UNREACHABLE);
	assert_int_equal(d->stats.records_rejected_prefix, 2);
	assert_int_equal(d->stats.records_rejected_vn, 1);
	assert_int_equal(d->mc, MC_UP);
}

static void test_reply_to_query_decides_waiting_attach(void **state)
{
	struct ilad *d = *state;
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 9, ILA_STATE_UP);
	struct ila_msg reply = { .type = ILA_MSG_REPLY, .rec = &r, .nrec = 1 };
	const struct ila_msg *q;

	mapper_open(d);
	mapper_recv();
	assert_true(attach(d, A1) >= 0);
	mapper_recv();
	q = got_of(ILA_MSG_QUERY, 0);
	assert_non_null(q);
	assert_int_equal(q->sub.vn, VN_BLUE);
	assert_int_equal(got_count(ILA_MSG_REGISTER), 0);

	reply.xid = q->xid;
	mapper_send(reply);
	deliver(d);
	mapper_recv();
	assert_int_equal(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1)->seq, 10);
}

static void test_refused_subscription_lets_waiting_workloads_register(void **state)
{
	struct ilad *d = *state;
	struct ilad_key k = fake_key(VN_BLUE, A1);
	struct ila_msg reply = { .type = ILA_MSG_REPLY };

	local_adopt(d, &k, FAKE_IF_TAP0);
	mapper_open(d);
	mapper_recv();
	reply.xid = got_of(ILA_MSG_QUERY, 0)->xid;
	assert_int_not_equal(d->sync[0].sub_xid, 0);
	mapper_error(d, d->sync[0].sub_xid, ILA_PERR_NOT_AUTHORISED);
	assert_true(mc_vn_synced(d, VN_BLUE));
	assert_int_equal(d->stats.subscriptions_refused, 1);
	/* no snapshot will come: the query's answer decides */
	mapper_send(reply);
	deliver(d);
	mapper_recv();
	/* nothing known of it: registered above nothing */
	assert_int_equal(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1)->seq, 1);
}

/* dataplane bpf: the hook that lets the BPF data path take over from an
 * earlier ilad's runs once every vn is in sync, after ila_map was written. */
static struct {
	unsigned applies;
	unsigned synced;
	unsigned applies_at_synced;
} fake_dp;

static int fake_dp_apply(struct ilad *d, const struct bpfpath_op *ops, size_t n)
{
	(void)d;
	(void)ops;
	(void)n;
	fake_dp.applies++;
	return 0;
}

static void fake_dp_synced(struct ilad *d)
{
	(void)d;
	fake_dp.synced++;
	fake_dp.applies_at_synced = fake_dp.applies;
}

static const struct bpfpath_ops fake_dp_ops = { .apply = fake_dp_apply,
						.synced = fake_dp_synced };

static void test_bpf_takeover_waits_for_every_vn_after_its_map_is_written(void **state)
{
	struct ilad *d = *state;
	struct ila_record b = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct ila_record g = fake_rec(VN_GREEN, "2001:db8:20::7", LOC_H2, "h2", 3, ILA_STATE_UP);

	memset(&fake_dp, 0, sizeof(fake_dp));
	d->ila = false;
	d->bpf_ops = &fake_dp_ops;
	mapper_open(d);
	assert_int_equal(fake_dp.synced, 0);
	mapper_snapshot(d, VN_BLUE, &b, 1);
	assert_int_equal(fake_dp.applies, 1);
	assert_int_equal(fake_dp.synced, 0); /* green is not in sync yet */
	mapper_snapshot(d, VN_GREEN, &g, 1);
	assert_int_equal(fake_dp.synced, 1);
	/* green's mapping was in ila_map before */
	assert_int_equal(fake_dp.applies_at_synced, 2);
	d->bpf_ops = NULL;
}

static void test_reply_decides_workload_the_snapshot_did_not_know(void **state)
{
	struct ilad *d = *state;
	struct ilad_key k = fake_key(VN_BLUE, A1);
	struct ila_msg reply = { .type = ILA_MSG_REPLY };

	local_adopt(d, &k, FAKE_IF_TAP0);
	mapper_open(d);
	mapper_recv();
	reply.xid = got_of(ILA_MSG_QUERY, 0)->xid;
	/* a snapshot leaves removed mappings out: it does not decide */
	mapper_snapshot(d, VN_BLUE, NULL, 0);
	mapper_recv();
	assert_int_equal(got_count(ILA_MSG_REGISTER), 0);
	assert_int_equal(local_of(d, A1)->resync, RESYNC_ADOPTED);
	mapper_send(reply);
	deliver(d);
	mapper_recv();
	assert_int_equal(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1)->seq, 1);
}

static void test_refused_query_leaves_attach_to_snapshot(void **state)
{
	struct ilad *d = *state;
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 4, ILA_STATE_UP);

	mapper_open(d);
	mapper_recv();
	attach(d, A1);
	mapper_recv();
	mapper_error(d, got_of(ILA_MSG_QUERY, 0)->xid, ILA_PERR_OVERLOADED);
	mapper_recv();
	assert_int_equal(got_count(ILA_MSG_REGISTER), 0);
	assert_int_equal(local_of(d, A1)->resync, RESYNC_ATTACH);
	mapper_snapshot(d, VN_BLUE, &r, 1);
	mapper_recv();
	assert_int_equal(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1)->seq, 5);
}

static void test_refused_query_after_snapshot_registers_from_what_is_known(void **state)
{
	struct ilad *d = *state;
	struct ilad_key k = fake_key(VN_BLUE, A1);
	uint32_t query;

	local_adopt(d, &k, FAKE_IF_TAP0);
	mapper_open(d);
	mapper_recv();
	query = got_of(ILA_MSG_QUERY, 0)->xid;
	mapper_snapshot(d, VN_BLUE, NULL, 0);
	mapper_error(d, query, ILA_PERR_INTERNAL);
	mapper_recv();
	/* the snapshot knew nothing of it: gone, registered above nothing */
	assert_int_equal(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1)->seq, 1);
}

static void test_ack_refusal_removes_local_delivery(void **state)
{
	struct ilad *d = *state;
	uint16_t status = ILA_PERR_STALE_SEQ;
	union kaddr a1 = fake_kaddr(A1);
	const struct ila_msg *reg;

	up_and_synced(d);
	attach(d, A1);
	mapper_recv();
	reg = got_of(ILA_MSG_REGISTER, 0);
	assert_non_null(reg);
	fake_kernel_clear();
	mapper_ack(d, reg->xid, &status, 1, 0);
	assert_int_equal(local_of(d, A1)->state, LOCAL_REFUSED);
	assert_int_equal(local_of(d, A1)->last_status, ILA_PERR_STALE_SEQ);
	assert_non_null(fake_kernel_last(FK_DELETE, &a1));
}

static void test_refresh_registers_workloads_again_at_same_seq(void **state)
{
	struct ilad *d = *state;
	const struct ila_msg *reg;

	up_and_synced(d);
	attach(d, A1);
	mapper_recv();
	reg = got_of(ILA_MSG_REGISTER, 0);
	mapper_ack(d, reg->xid, NULL, 0, 1);
	assert_true(local_of(d, A1)->registered);
	ev_invoke(d->loop, &d->refresh_timer, EV_TIMER);
	mapper_recv();
	reg = got_of(ILA_MSG_REGISTER, 0);
	assert_non_null(reg);
	assert_int_equal(reg->nrec, 1);
	assert_int_equal(rec_of(reg, VN_BLUE, A1)->seq, 1);
}

static void test_refresh_follows_number_the_mapper_raised(void **state)
{
	struct ilad *d = *state;
	struct ila_record raised = fake_rec(VN_BLUE, A1, LOC_H1, "h1", 2, ILA_STATE_UP);

	up_and_synced(d);
	attach(d, A1);
	mapper_recv();
	mapper_ack(d, got_of(ILA_MSG_REGISTER, 0)->xid, NULL, 0, 1);
	/* a standby offer: the mapper stores the next number and pushes it */
	raised.has_standby = true;
	raised.standby = fake_loc(LOC_H2);
	mapper_push(d, VN_BLUE, 0, 101, &raised, 1);
	ev_invoke(d->loop, &d->refresh_timer, EV_TIMER);
	mapper_recv();
	assert_int_equal(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1)->seq, 2);
}

static void test_refresh_does_not_register_refused_workloads(void **state)
{
	struct ilad *d = *state;
	uint16_t frozen = ILA_PERR_FROZEN;
	const struct ila_msg *reg;
	uint32_t x1, x2;

	up_and_synced(d);
	attach(d, A1);
	attach(d, A2);
	mapper_recv();
	x1 = got_of(ILA_MSG_REGISTER, 0)->xid;
	x2 = got_of(ILA_MSG_REGISTER, 1)->xid;
	mapper_ack(d, x1, NULL, 0, 1);
	mapper_ack(d, x2, &frozen, 1, 0);
	assert_int_equal(local_of(d, A2)->state, LOCAL_REFUSED);
	ev_invoke(d->loop, &d->refresh_timer, EV_TIMER);
	mapper_recv();
	assert_int_equal(got_count(ILA_MSG_REGISTER), 1);
	reg = got_of(ILA_MSG_REGISTER, 0);
	assert_non_null(rec_of(reg, VN_BLUE, A1));
	assert_null(rec_of(reg, VN_BLUE, A2));
}

static void test_error_answer_to_register_is_sent_again_at_refresh(void **state)
{
	struct ilad *d = *state;
	const struct ila_msg *reg;

	up_and_synced(d);
	attach(d, A1);
	mapper_recv();
	reg = got_of(ILA_MSG_REGISTER, 0);
	mapper_error(d, reg->xid, ILA_PERR_OVERLOADED);
	assert_false(local_of(d, A1)->registered);
	assert_int_equal(local_of(d, A1)->state, LOCAL_ATTACHED);
	ev_invoke(d->loop, &d->refresh_timer, EV_TIMER);
	mapper_recv();
	assert_non_null(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1));
}

static void test_deregistration_ack_forgets_detached_workload(void **state)
{
	struct ilad *d = *state;
	const struct ila_msg *m;
	char err[256];

	up_and_synced(d);
	attach(d, A1);
	mapper_recv();
	mapper_ack(d, got_of(ILA_MSG_REGISTER, 0)->xid, NULL, 0, 1);
	assert_int_equal(local_detach(d, A1, true, err, sizeof(err)), 0);
	ilad_events_run(d);
	mapper_recv();
	m = got_of(ILA_MSG_DEREGISTER, 0);
	assert_non_null(m);
	assert_int_equal(rec_of(m, VN_BLUE, A1)->state, ILA_STATE_DOWN);
	assert_int_equal(rec_of(m, VN_BLUE, A1)->seq, 1);
	/* until its ACK, a refresh deregisters it again */
	ev_invoke(d->loop, &d->refresh_timer, EV_TIMER);
	mapper_recv();
	assert_non_null(rec_of(got_of(ILA_MSG_DEREGISTER, 0), VN_BLUE, A1));
	mapper_ack(d, got_of(ILA_MSG_DEREGISTER, 0)->xid, NULL, 0, 1);
	assert_null(local_of(d, A1));
}

/* protocol.md 8.3: a commit that failed at the mapper is answered ERROR
 * internal for the whole request; nothing was done, so nothing is taken as
 * registered and the records go again at the next refresh. */
static void test_error_internal_answer_to_register_leaves_it_pending(void **state)
{
	struct ilad *d = *state;

	up_and_synced(d);
	attach(d, A1);
	mapper_recv();
	mapper_error(d, got_of(ILA_MSG_REGISTER, 0)->xid, ILA_PERR_INTERNAL);
	assert_false(local_of(d, A1)->registered);
	assert_int_equal(local_of(d, A1)->state, LOCAL_ATTACHED);
	assert_int_equal(d->stats.registrations_acked, 0);
	assert_int_equal(d->stats.registrations_refused, 0);
	ev_invoke(d->loop, &d->refresh_timer, EV_TIMER);
	mapper_recv();
	assert_non_null(rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1));
}

static void test_error_internal_answer_to_deregister_keeps_it_until_acknowledged(void **state)
{
	struct ilad *d = *state;
	char err[256];

	up_and_synced(d);
	attach(d, A1);
	mapper_recv();
	mapper_ack(d, got_of(ILA_MSG_REGISTER, 0)->xid, NULL, 0, 1);
	assert_int_equal(local_detach(d, A1, true, err, sizeof(err)), 0);
	ilad_events_run(d);
	mapper_recv();
	mapper_error(d, got_of(ILA_MSG_DEREGISTER, 0)->xid, ILA_PERR_INTERNAL);
	assert_non_null(local_of(d, A1));
	assert_int_equal(local_of(d, A1)->state, LOCAL_DETACHED);
	ev_invoke(d->loop, &d->refresh_timer, EV_TIMER);
	mapper_recv();
	assert_non_null(rec_of(got_of(ILA_MSG_DEREGISTER, 0), VN_BLUE, A1));
	mapper_ack(d, got_of(ILA_MSG_DEREGISTER, 0)->xid, NULL, 0, 1);
	assert_null(local_of(d, A1));
}

static void test_prepare_offers_own_locator_as_standby(void **state)
{
	struct ilad *d = *state;
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct ila_locator mine = fake_loc(LOC_H1);
	const struct ila_record *reg;
	char err[256];

	mapper_open(d);
	mapper_snapshot(d, VN_BLUE, &r, 1);
	mapper_recv();
	assert_true(local_prepare(d, A1, "tap0", err, sizeof(err)) >= 0);
	ilad_events_run(d);
	mapper_recv();
	reg = rec_of(got_of(ILA_MSG_REGISTER, 0), VN_BLUE, A1);
	assert_non_null(reg);
	assert_true(reg->flags & ILA_REC_F_STANDBY_REG);
	assert_true(ila_locator_equal(&reg->loc, &mine));
	assert_int_equal(reg->state, ILA_STATE_UP);
}

static void test_detach_of_prepared_workload_withdraws_standby_offer(void **state)
{
	struct ilad *d = *state;
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	const struct ila_record *dereg;
	char err[256];

	mapper_open(d);
	mapper_snapshot(d, VN_BLUE, &r, 1);
	mapper_recv();
	assert_true(local_prepare(d, A1, "tap0", err, sizeof(err)) >= 0);
	ilad_events_run(d);
	mapper_recv();
	assert_int_equal(local_detach(d, A1, false, err, sizeof(err)), 0);
	ilad_events_run(d);
	mapper_recv();
	dereg = rec_of(got_of(ILA_MSG_DEREGISTER, 0), VN_BLUE, A1);
	assert_non_null(dereg);
	/* the standby withdraws its offer; it never takes down the owner's mapping */
	assert_true(dereg->flags & ILA_REC_F_STANDBY_REG);
}

static void test_detach_of_workload_waiting_for_view_uses_own_record_number(void **state)
{
	struct ilad *d = *state;
	struct ilad_key k = fake_key(VN_BLUE, A1);
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H1, "h1", 9, ILA_STATE_UP);
	const struct ila_record *dereg;
	char err[256];

	local_adopt(d, &k, 7);
	cache_apply(d, &r); /* what the cache knows of our own record */
	ilad_events_run(d);
	mapper_open(d);
	assert_int_equal(local_detach(d, A1, false, err, sizeof(err)), 0);
	ilad_events_run(d);
	mapper_recv();
	dereg = rec_of(got_of(ILA_MSG_DEREGISTER, 0), VN_BLUE, A1);
	assert_non_null(dereg);
	assert_int_equal(dereg->seq, 9); /* not 0, which the mapper refuses as stale */
}

static void test_cease_from_mapper_fails_over_to_next_mapper(void **state)
{
	struct ilad *d = *state;
	struct ila_record r = fake_rec(VN_BLUE, A2, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct ilad_key k = fake_key(VN_BLUE, A2);

	mapper_open(d);
	mapper_snapshot(d, VN_BLUE, &r, 1);
	mapper_error(d, 0, ILA_PERR_CEASE);
	assert_int_equal(d->mc, MC_IDLE);
	assert_int_equal(d->mapper, 1);
	assert_int_equal(d->stats.mapper_failovers, 1);
	assert_true(ev_is_active(&d->retry_timer));
	assert_false(mc_vn_synced(d, VN_BLUE));
	/* the cache and its routes are kept */
	assert_true(cache_get(d, &k, false)->installed);
	assert_null(fake_kernel_last(FK_DELETE, &k.addr));
}

/* The session failed: the next mapper's connection is made (a new
 * socketpair) once the retry timer fires, up to OPEN sent. */
static void reconnect(struct ilad *d)
{
	int sv[2];

	ila_frame_reader_free(&peer_rd);
	close(peer);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	fake_mapper_fd = sv[0];
	peer = sv[1];
	ila_frame_reader_init(&peer_rd);
	got_free();
	assert_true(ev_is_active(&d->retry_timer));
	ev_invoke(d->loop, &d->retry_timer, EV_TIMER);
	assert_int_equal(d->mc, MC_CONNECTING);
	ev_invoke(d->loop, &d->mc_io, EV_WRITE);
	assert_int_equal(d->mc, MC_OPENSENT);
}

/* Mappers that say the same DIRECTORY share journal positions: the node
 * resumes where it was on the next one, with no snapshot (protocol.md 6.1). */
static void test_positions_resume_on_a_mapper_of_the_same_directory(void **state)
{
	struct ilad *d = *state;

	mapper_directory = 0x1234;
	mapper_open(d);
	mapper_push(d, VN_BLUE, ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_SNAPSHOT_END, 700, NULL, 0);
	mapper_error(d, 0, ILA_PERR_CEASE);
	reconnect(d);
	mapper_open(d);
	mapper_recv();
	const struct ila_msg *m = got_of(ILA_MSG_SUBSCRIBE, 0);

	assert_non_null(m);
	assert_int_equal(m->sub.vn, VN_BLUE);
	assert_int_equal(m->sub.resume_seq, 700);
	mapper_directory = 0;
}

/* On a mapper of another directory (or one that says none) positions mean
 * nothing: the node subscribes from 0 and takes a snapshot. */
static void test_positions_do_not_cross_directories(void **state)
{
	struct ilad *d = *state;

	mapper_directory = 0x1234;
	mapper_open(d);
	mapper_push(d, VN_BLUE, ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_SNAPSHOT_END, 700, NULL, 0);
	mapper_error(d, 0, ILA_PERR_CEASE);
	reconnect(d);
	mapper_directory = 0x5678;
	mapper_open(d);
	mapper_recv();
	assert_int_equal(got_of(ILA_MSG_SUBSCRIBE, 0)->sub.resume_seq, 0);
	mapper_directory = 0;
}

/* ERROR unavailable (the mapper cannot reach its store) sends the node to
 * the next mapper, keeping its cache (protocol.md 8.5). */
static void test_unavailable_store_moves_to_next_mapper(void **state)
{
	struct ilad *d = *state;

	mapper_open(d);
	mapper_error(d, 0, ILA_PERR_UNAVAILABLE);
	assert_int_equal(d->mc, MC_IDLE);
	assert_int_equal(d->mapper, 1);
	assert_true(ev_is_active(&d->retry_timer));
	/* the next mapper is tried soon: within the jitter of 100 ms */
	assert_true(ev_timer_remaining(d->loop, &d->retry_timer) <= 0.11);
}

/* When every mapper failed in a row the node pauses, doubling the pause
 * each round, with jitter: between half and one and a half times 1 s, 2 s,
 * 4 s ... (protocol.md 8.5). */
static void test_full_rounds_of_failures_back_off_exponentially(void **state)
{
	struct ilad *d = *state;
	double base = 1.0;

	for (int round = 0; round < 4; round++, base *= 2) {
		for (unsigned i = 0; i < d->conf->n_mappers; i++) {
			if (d->mc != MC_OPENSENT)
				reconnect(d);
			mapper_recv();
			mapper_error(d, 0, ILA_PERR_NOT_AUTHORISED);
		}
		double left = ev_timer_remaining(d->loop, &d->retry_timer);

		if (left < base * 0.5 - 0.01 || left > base * 1.5 + 0.01)
			fail_msg("round %d: pause %.3f s, wanted %.1f..%.1f s", round, left,
				 base * 0.5, base * 1.5);
	}
}

static void test_session_refused_at_open_tries_next_mapper(void **state)
{
	struct ilad *d = *state;

	mapper_recv();
	mapper_error(d, 0, ILA_PERR_NOT_AUTHORISED);
	assert_int_equal(d->mc, MC_IDLE);
	assert_int_equal(d->mapper, 1);
	assert_int_equal(d->stats.mapper_connects, 0);
	assert_true(fake_log_has("refused", "not-authorised", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_opens_as_node_then_subscribes_every_vn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_resyncs_adopted_workload_at_mapper_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_in_several_frames_syncs_at_its_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directed_push_does_not_complete_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_records_outside_served_vns_and_prefixes_install_no_route,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_to_query_decides_waiting_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_subscription_lets_waiting_workloads_register, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_bpf_takeover_waits_for_every_vn_after_its_map_is_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_decides_workload_the_snapshot_did_not_know, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_query_leaves_attach_to_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_query_after_snapshot_registers_from_what_is_known, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_refusal_removes_local_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_registers_workloads_again_at_same_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_follows_number_the_mapper_raised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_does_not_register_refused_workloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_answer_to_register_is_sent_again_at_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deregistration_ack_forgets_detached_workload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_internal_answer_to_register_leaves_it_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_internal_answer_to_deregister_keeps_it_until_acknowledged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_offers_own_locator_as_standby, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_of_prepared_workload_withdraws_standby_offer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_detach_of_workload_waiting_for_view_uses_own_record_number, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cease_from_mapper_fails_over_to_next_mapper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_refused_at_open_tries_next_mapper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_positions_resume_on_a_mapper_of_the_same_directory,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_positions_do_not_cross_directories, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unavailable_store_moves_to_next_mapper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_rounds_of_failures_back_off_exponentially,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_on_demand_queries_with_watch_and_applies_watched_pushes, setup_od,
			teardown),
		cmocka_unit_test_setup_teardown(test_on_demand_without_mapper_watch_sends_no_flags,
						setup_od, teardown),
		cmocka_unit_test_setup_teardown(test_on_demand_watches_its_own_workloads, setup_od,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
