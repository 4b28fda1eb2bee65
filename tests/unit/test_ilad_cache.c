/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad's mapping cache (ilad/cache.c): which records it applies, what a
 * snapshot forgets, the kernel route each mapping asks for, the forwarding
 * hold after a move, the netlink batch, the routes found at start, and the
 * events it posts for the local workloads. The real cache.c, state.c,
 * event.c and zebra.c; the kernel, zebra, the clock and the control socket
 * are fakes (fake_ilad.c). local.c is not linked: the events posted are
 * recorded, and the local workloads the cache consults are put in place.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_ilad.h"

#define VN_BLUE 10
#define VN_GREEN 20
#define LOC_H1 "2001:db8:ff:1"	/* ours, with vn blue */
#define LOC_H1_GREEN "2001:db8:ff:2" /* ours, with vn green */
#define LOC_H2 "2001:db8:ff:a"
#define LOC_H3 "2001:db8:ff:b"
#define A1 "2001:db8:10::42"
#define A2 "2001:db8:10::43"
#define G1 "2001:db8:20::42"
#define A3 "2001:db8:10:0:1:2:3:4" /* an identifier with bytes 8-11 not zero */
#define V4 "10.10.1.5"

static const char conf_ila[] =
	"node-name h1\n"
	"plaintext\n"
	"mapper ::1\n"
	"locator " LOC_H1 "\n"
	"locator " LOC_H1_GREEN "\n"
	"csum-mode no-action\n"
	"ident-type use-format\n"
	"vn blue id 10 sir-prefix 2001:db8:10::/64 ipv4-prefix 10.10.0.0/16\n"
	"vn blue interface tap0\n"
	"vn green id 20 sir-prefix 2001:db8:20::/64\n";

static const char conf_host_route[] =
	"node-name h1\n"
	"mode host-route\n"
	"plaintext\n"
	"mapper ::1\n"
	"locator " LOC_H1 "\n"
	"hold-time 30\n"
	"vn blue id 10 sir-prefix 2001:db8:10::/64 ipv4-prefix 10.10.0.0/16\n"
	"vn blue interface tap0\n";

static const char conf_control_plane[] =
	"node-name h1\n"
	"mode control-plane\n"
	"plaintext\n"
	"mapper ::1\n"
	"vn blue id 10 sir-prefix 2001:db8:10::/64\n";

/* ---- the events the cache posts ---- */

struct posted {
	enum ilad_ev_type type;
	struct ilad_key key;
	bool has_rec;
	struct ila_record rec;
	int ifindex;
};

static struct posted posted[64];
static size_t n_posted;

static void record_event(struct ilad *d, const struct ilad_ev *ev)
{
	(void)d;
	assert_true(n_posted < ILA_ARRAY_SIZE(posted));
	posted[n_posted++] = (struct posted){ .type = ev->type, .key = ev->key,
					      .has_rec = ev->has_rec, .rec = ev->rec,
					      .ifindex = ev->ifindex };
}

static size_t count_posted(enum ilad_ev_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < n_posted; i++)
		n += posted[i].type == type;
	return n;
}

static const struct posted *last_posted(enum ilad_ev_type type)
{
	for (size_t i = n_posted; i-- > 0;)
		if (posted[i].type == type)
			return &posted[i];
	return NULL;
}

/* ---- helpers ---- */

static struct ilad *daemon_of(void **state)
{
	return *state;
}

static int setup_with(void **state, const char *conf)
{
	fake_reset();
	n_posted = 0;
	*state = fake_ilad_new(conf, record_event);
	return 0;
}

static int setup_ila(void **state)
{
	return setup_with(state, conf_ila);
}

static int setup_host_route(void **state)
{
	return setup_with(state, conf_host_route);
}

static int setup_control_plane(void **state)
{
	return setup_with(state, conf_control_plane);
}

static int teardown(void **state)
{
	struct ilad *d = *state;

	d->zapi = NULL;
	fake_ilad_free(d);
	return 0;
}

/* One pushed record, applied as mclient.c applies a push: then the flush,
 * then the events run. */
static void push(struct ilad *d, struct ila_record r)
{
	cache_apply(d, &r);
	cache_flush(d);
	ilad_events_run(d);
}

static struct centry *entry(struct ilad *d, uint32_t vn, const char *addr)
{
	struct ilad_key k = fake_key(vn, addr);

	return cache_get(d, &k, false);
}

/* A local workload as local.c would hold it (local.c is not linked here). */
static struct local *put_local(struct ilad *d, uint32_t vn, const char *addr,
			       enum local_state st, int ifindex, uint64_t seq)
{
	struct local *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	l->key = fake_key(vn, addr);
	l->state = st;
	l->ifindex = ifindex;
	l->seq = seq;
	assert_int_equal(lh_table_insert(d->locals, &l->key, l), 0);
	return l;
}

static void touch_and_flush(struct ilad *d, uint32_t vn, const char *addr)
{
	struct ilad_key k = fake_key(vn, addr);

	cache_touch(d, &k);
	cache_flush(d);
	ilad_events_run(d);
}

static const struct kroute *replaced(const char *addr)
{
	union kaddr a = fake_kaddr(addr);
	const struct fake_kcall *c = fake_kernel_last(FK_REPLACE, &a);

	return c ? &c->r : NULL;
}

static const struct kroute *deleted(const char *addr)
{
	union kaddr a = fake_kaddr(addr);
	const struct fake_kcall *c = fake_kernel_last(FK_DELETE, &a);

	return c ? &c->r : NULL;
}

static void assert_key(const struct ilad_key *k, uint32_t vn, const char *addr)
{
	struct ilad_key want = fake_key(vn, addr);

	assert_memory_equal(k, &want, sizeof(want));
}

/* The n-th (0-based) call of that kind. */
static const struct kroute *nth_call(enum fake_kop op, size_t n)
{
	for (size_t i = 0; i < fake_kernel.n; i++)
		if (fake_kernel.calls[i].op == op && n-- == 0)
			return &fake_kernel.calls[i].r;
	return NULL;
}

static void assert_locator(const struct ila_locator *l, const char *want)
{
	struct ila_locator w = fake_loc(want);

	assert_true(ila_locator_equal(l, &w));
}

/* ---- apply ---- */

static void test_apply_higher_seq_wins(void **state)
{
	struct ilad *d = daemon_of(state);
	struct centry *e;

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A1, LOC_H3, "h3", 6, ILA_STATE_UP));
	e = entry(d, VN_BLUE, A1);
	assert_non_null(e);
	assert_int_equal(e->rec.seq, 6);
	assert_string_equal(e->rec.node, "h3");
	assert_non_null(replaced(A1));
	assert_locator(&replaced(A1)->locator, LOC_H3);
}

static void test_apply_lower_seq_is_ignored(void **state)
{
	struct ilad *d = daemon_of(state);
	struct centry *e;

	push(d, fake_rec(VN_BLUE, A1, LOC_H3, "h3", 6, ILA_STATE_UP));
	fake_kernel_clear();
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	e = entry(d, VN_BLUE, A1);
	assert_int_equal(e->rec.seq, 6);
	assert_string_equal(e->rec.node, "h3");
	assert_int_equal(fake_kernel_count(FK_REPLACE), 0);
	assert_int_equal(fake_kernel_count(FK_DELETE), 0);
}

static void test_apply_equal_seq_replay_changes_no_route(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	assert_int_equal(fake_kernel_count(FK_REPLACE), 1);
	fake_kernel_clear();
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	assert_int_equal(entry(d, VN_BLUE, A1)->rec.seq, 5);
	assert_int_equal(fake_kernel_count(FK_REPLACE), 0);
	assert_int_equal(fake_kernel_count(FK_DELETE), 0);
	assert_int_equal(fake_kernel_count(FK_COMMIT), 0);
}

/* A lifetime that ends turns the mapping down with the same number. */
static void test_apply_down_at_equal_seq_takes_effect(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_DOWN));
	assert_int_equal(entry(d, VN_BLUE, A1)->rec.state, ILA_STATE_DOWN);
	assert_int_equal(replaced(A1)->kind, KROUTE_UNREACHABLE);
}

static void test_apply_removed_forgets_mapping_and_its_route(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A1, NULL, "h2", 6, ILA_STATE_REMOVED));
	assert_non_null(deleted(A1));
	/* nothing left to remember: the entry itself is gone */
	assert_null(entry(d, VN_BLUE, A1));
	assert_int_equal(d->stats.routes_deleted, 1);
}

/* A removal is sent only while it is the mapping's state, with the number
 * a later registration must beat: it applies whatever its number. */
static void test_apply_removed_wins_whatever_its_seq(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 9, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A1, NULL, "h2", 4, ILA_STATE_REMOVED));
	assert_non_null(deleted(A1));
	assert_null(entry(d, VN_BLUE, A1));
}

/* ---- snapshots ---- */

static void test_snapshot_end_forgets_unseen(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 3, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A2, LOC_H2, "h2", 4, ILA_STATE_UP));
	cache_snapshot_begin(d, VN_BLUE); /* a snapshot without records */
	cache_snapshot_end(d, VN_BLUE);
	cache_flush(d);
	assert_non_null(deleted(A1));
	assert_non_null(deleted(A2));
	assert_null(entry(d, VN_BLUE, A1));
	assert_null(entry(d, VN_BLUE, A2));
}

static void test_snapshot_end_keeps_seen_and_leaves_their_routes_untouched(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ila_record r1 = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 3, ILA_STATE_UP);

	push(d, r1);
	push(d, fake_rec(VN_BLUE, A2, LOC_H2, "h2", 4, ILA_STATE_UP));
	fake_kernel_clear();
	cache_snapshot_begin(d, VN_BLUE);
	cache_apply(d, &r1);
	cache_snapshot_end(d, VN_BLUE);
	cache_flush(d);
	assert_non_null(entry(d, VN_BLUE, A1));
	assert_true(entry(d, VN_BLUE, A1)->known);
	assert_null(replaced(A1));
	assert_null(deleted(A1));
	/* the unseen one goes, in the same batch */
	assert_non_null(deleted(A2));
	assert_int_equal(fake_kernel_count(FK_COMMIT), 1);
}

static void test_snapshot_of_one_vn_leaves_other_vns_alone(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 3, ILA_STATE_UP));
	push(d, fake_rec(VN_GREEN, G1, LOC_H2, "h2", 3, ILA_STATE_UP));
	cache_snapshot_begin(d, VN_BLUE);
	cache_snapshot_end(d, VN_BLUE);
	cache_flush(d);
	assert_null(entry(d, VN_BLUE, A1));
	assert_non_null(entry(d, VN_GREEN, G1));
	assert_true(entry(d, VN_GREEN, G1)->known);
	assert_null(deleted(G1));
}

static void test_snapshot_keeps_attached_workload_route_without_mapping(void **state)
{
	struct ilad *d = daemon_of(state);

	put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, A1);
	fake_kernel_clear();
	cache_snapshot_begin(d, VN_BLUE);
	cache_snapshot_end(d, VN_BLUE);
	cache_flush(d);
	assert_null(deleted(A1));
	assert_non_null(entry(d, VN_BLUE, A1));
	assert_true(entry(d, VN_BLUE, A1)->installed);
}

/* ---- the route each mapping asks for ---- */

static void test_remote_mapping_gets_ila_route_to_its_locator(void **state)
{
	struct ilad *d = daemon_of(state);
	const struct kroute *r;
	union kaddr gw = fake_kaddr("fe80::1"), a1 = fake_kaddr(A1);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	r = replaced(A1);
	assert_non_null(r);
	assert_int_equal(r->kind, KROUTE_ILA);
	assert_int_equal(r->family, AF_INET6);
	assert_int_equal(r->dst_len, 128);
	assert_memory_equal(&r->dst, &a1, sizeof(a1));
	assert_locator(&r->locator, LOC_H2);
	assert_int_equal(r->csum_mode, ILA_CSUM_NO_ACTION);
	assert_int_equal(r->ident_type, ILA_IDENT_USE_FORMAT);
	/* the next hop of the locator */
	assert_int_equal(r->oif, 2);
	assert_memory_equal(&r->gateway, &gw, sizeof(gw));
	assert_true(entry(d, VN_BLUE, A1)->installed);
}

static void test_next_hop_of_a_locator_is_resolved_once_per_flush(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ila_record r1 = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct ila_record r2 = fake_rec(VN_BLUE, A2, LOC_H2, "h2", 5, ILA_STATE_UP);

	cache_apply(d, &r1);
	cache_apply(d, &r2);
	cache_flush(d);
	assert_int_equal(fake_kernel_count(FK_REPLACE), 2);
	assert_int_equal(fake_kernel_count(FK_LOOKUP), 1);
}

static void test_unroutable_locator_gets_unreachable_route(void **state)
{
	struct ilad *d = daemon_of(state);

	fake_kernel.lookup_fails = true;
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	assert_int_equal(replaced(A1)->kind, KROUTE_UNREACHABLE);
	assert_int_equal(replaced(A1)->oif, 0);
	assert_int_equal(d->stats.locator_unreachable, 1);
}

static void test_down_mapping_gets_unreachable_route(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_DOWN));
	assert_non_null(replaced(A1));
	assert_int_equal(replaced(A1)->kind, KROUTE_UNREACHABLE);
}

static void test_attached_workload_gets_local_dev_route(void **state)
{
	struct ilad *d = daemon_of(state);

	/* the mapper's record is older than the attach: local delivery wins */
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, FAKE_IF_TAP0, 6);
	touch_and_flush(d, VN_BLUE, A1);
	assert_int_equal(replaced(A1)->kind, KROUTE_DEV);
	assert_int_equal(replaced(A1)->oif, FAKE_IF_TAP0);
	assert_int_equal(entry(d, VN_BLUE, A1)->inst.kind, KROUTE_DEV);
}

static void test_prepared_workload_gets_no_local_route(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	put_local(d, VN_BLUE, A1, LOCAL_PREPARED, FAKE_IF_TAP0, 0);
	touch_and_flush(d, VN_BLUE, A1);
	assert_int_equal(replaced(A1)->kind, KROUTE_ILA);
}

static void test_own_locator_unattached_gets_no_route(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	assert_true(entry(d, VN_BLUE, A1)->installed);
	fake_kernel_clear();
	/* ours on the mapper's books, but nothing runs here */
	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 6, ILA_STATE_UP));
	assert_null(replaced(A1));
	assert_non_null(deleted(A1));
	assert_false(entry(d, VN_BLUE, A1)->installed);
}

static void test_ipv4_mapping_in_ila_mode_goes_over_srv6_to_its_node(void **state)
{
	struct ilad *d = daemon_of(state);
	struct in6_addr seg = fake_kaddr("2001:db8:ff:a::a0a:105").v6;
	const struct kroute *r;

	/* the module carries no IPv4: it goes inside IPv6 to the serving
	 * node's locator, bytes 8-11 zero, the address in bytes 12-15 */
	push(d, fake_rec(VN_BLUE, V4, LOC_H2, "h2", 5, ILA_STATE_UP));
	r = replaced(V4);
	assert_non_null(r);
	assert_int_equal(r->kind, KROUTE_SEG6);
	assert_int_equal(r->family, AF_INET);
	assert_int_equal(r->dst_len, 32);
	assert_memory_equal(&r->segment, &seg, sizeof(seg));
	assert_int_equal(r->oif, 2);
	assert_int_equal(d->stats.inflight_routes, 0); /* not in flight: nothing moved */
}

static void test_host_route_mode_installs_no_ila_route(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	assert_true(entry(d, VN_BLUE, A1)->known);
	assert_int_equal(fake_kernel_count(FK_REPLACE), 0);
}

static void test_zebra_announced_host_route_is_not_a_kernel_route(void **state)
{
	struct ilad *d = daemon_of(state);
	union kaddr v4 = fake_kaddr(V4);

	d->zapi = fake_zapi();
	put_local(d, VN_BLUE, V4, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, V4);
	assert_null(replaced(V4));
	assert_int_equal(fake_zebra.n, 1);
	assert_true(fake_zebra.calls[0].set);
	assert_int_equal(fake_zebra.calls[0].r.family, AF_INET);
	assert_int_equal(fake_zebra.calls[0].r.plen, 32);
	assert_int_equal(fake_zebra.calls[0].r.ifindex, FAKE_IF_TAP0);
	assert_memory_equal(&fake_zebra.calls[0].r.prefix, &v4, 4);
}

static void test_zebra_withdraws_host_route_of_workload_gone(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, V4);

	d->zapi = fake_zapi();
	put_local(d, VN_BLUE, V4, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, V4);
	lh_table_delete(d->locals, &k);
	touch_and_flush(d, VN_BLUE, V4);
	assert_int_equal(fake_zebra.n, 2);
	assert_false(fake_zebra.calls[1].set);
	assert_int_equal(fake_zebra.calls[1].r.plen, 32);
}

/* live migration: zebra's host route follows local delivery: withdrawn at
 * the handover, announced for an incoming workload */
static void test_zebra_host_route_follows_handover_and_incoming(void **state)
{
	struct ilad *d = daemon_of(state);
	struct local *l;
	struct ilad_key k = fake_key(VN_BLUE, V4);

	d->zapi = fake_zapi();
	l = put_local(d, VN_BLUE, V4, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, V4);
	l->handover = true;
	touch_and_flush(d, VN_BLUE, V4);
	assert_int_equal(fake_zebra.n, 2);
	assert_false(fake_zebra.calls[1].set);
	lh_table_delete(d->locals, &k);
	l = put_local(d, VN_BLUE, V4, LOCAL_PREPARED, FAKE_IF_TAP1, 0);
	touch_and_flush(d, VN_BLUE, V4);
	assert_false(fake_zebra.calls[fake_zebra.n - 1].set);
	l->incoming = true;
	touch_and_flush(d, VN_BLUE, V4);
	assert_true(fake_zebra.calls[fake_zebra.n - 1].set);
	assert_int_equal(fake_zebra.calls[fake_zebra.n - 1].r.ifindex, FAKE_IF_TAP1);
}

/* ---- the forwarding hold after a move (host-route mode, IPv4) ---- */

static void test_moved_away_ipv4_is_forwarded_over_srv6_during_hold(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, V4);
	struct in6_addr seg;
	const struct kroute *r;

	assert_int_equal(inet_pton(AF_INET6, "2001:db8:ff:a::a0a:105", &seg), 1);
	push(d, fake_rec(VN_BLUE, V4, LOC_H2, "h2", 6, ILA_STATE_UP));
	cache_hold(d, &k);
	cache_flush(d);
	r = replaced(V4);
	assert_non_null(r);
	assert_int_equal(r->kind, KROUTE_SEG6);
	assert_int_equal(r->family, AF_INET);
	assert_int_equal(r->dst_len, 32);
	/* the new node's locator, the IPv4 address in the last 32 bits */
	assert_memory_equal(&r->segment, &seg, sizeof(seg));
	assert_int_equal(r->oif, 2);
	assert_int_equal(entry(d, VN_BLUE, V4)->hold_until_ms, fake_now_ms + 30000);
	assert_int_equal(d->n_holds, 1);
}

static void test_moved_away_ipv6_is_forwarded_over_srv6_during_hold(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, A3);
	struct in6_addr seg = fake_kaddr("2001:db8:ff:a:1:2:3:4").v6;
	const struct kroute *r;

	push(d, fake_rec(VN_BLUE, A3, LOC_H2, "h2", 6, ILA_STATE_UP));
	cache_hold(d, &k);
	cache_flush(d);
	r = replaced(A3);
	assert_non_null(r);
	assert_int_equal(r->kind, KROUTE_SEG6);
	assert_int_equal(r->family, AF_INET6);
	assert_int_equal(r->dst_len, 128);
	/* the new node's locator, then the address's identifier */
	assert_memory_equal(&r->segment, &seg, sizeof(seg));
	assert_int_equal(r->oif, 2);
	assert_int_equal(d->n_holds, 1);
	assert_int_equal(d->stats.inflight_holds, 1);
	assert_int_equal(d->stats.inflight_routes, 1);
}

static void test_srv6_is_reduced_where_the_kernel_takes_it(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, A3);

	push(d, fake_rec(VN_BLUE, A3, LOC_H2, "h2", 6, ILA_STATE_UP));
	cache_hold(d, &k);
	cache_flush(d);
	assert_false(replaced(A3)->seg6_reduced);
	/* the same route in encap.red is another route: written again */
	d->seg6_reduced = true;
	touch_and_flush(d, VN_BLUE, A3);
	assert_int_equal(replaced(A3)->kind, KROUTE_SEG6);
	assert_true(replaced(A3)->seg6_reduced);
	assert_true(entry(d, VN_BLUE, A3)->inst.seg6_reduced);
}

static void test_moved_away_ipv6_in_ila_mode_keeps_its_ila_route_during_hold(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, A1);
	struct ila_record rec = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP);
	const struct kroute *r;

	/* the module re-translates what arrives to the new locator: the hold
	 * changes no route, it counts the one written at the move */
	cache_apply(d, &rec);
	cache_hold(d, &k);
	cache_flush(d);
	r = replaced(A1);
	assert_non_null(r);
	assert_int_equal(r->kind, KROUTE_ILA);
	assert_locator(&r->locator, LOC_H2);
	assert_int_equal(d->n_holds, 1);
	assert_int_equal(d->stats.inflight_holds, 1);
	assert_int_equal(d->stats.inflight_routes, 1);
}

static void test_moved_away_ipv4_in_ila_mode_goes_over_srv6_during_hold(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, V4);
	struct ila_record rec = fake_rec(VN_BLUE, V4, LOC_H2, "h2", 6, ILA_STATE_UP);
	struct in6_addr seg = fake_kaddr("2001:db8:ff:a::a0a:105").v6;
	const struct kroute *r;

	cache_apply(d, &rec);
	cache_hold(d, &k);
	cache_flush(d);
	r = replaced(V4);
	assert_non_null(r);
	assert_int_equal(r->kind, KROUTE_SEG6);
	assert_memory_equal(&r->segment, &seg, sizeof(seg));
	assert_int_equal(d->stats.inflight_routes, 1);
	/* when the hold ends the route stays: it is the ordinary one */
	fake_kernel_clear();
	fake_now_ms += 30000;
	ev_invoke(d->loop, &d->hold_timer, EV_TIMER);
	assert_null(deleted(V4));
	assert_int_equal(d->n_holds, 0);
}

static void test_hold_is_not_kept_with_bpf(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, A1);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP));
	cache_hold(d, &k);
	assert_int_equal(entry(d, VN_BLUE, A1)->hold_until_ms, 0);
	assert_int_equal(d->n_holds, 0);
	assert_int_equal(d->stats.inflight_holds, 0);
	assert_false(ev_is_active(&d->hold_timer));
}

static void test_hold_is_not_kept_in_control_plane_mode(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, A1);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP));
	cache_hold(d, &k);
	assert_int_equal(d->n_holds, 0);
	assert_false(ev_is_active(&d->hold_timer));
}

static void test_hold_expiry_removes_srv6_route(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, V4);

	push(d, fake_rec(VN_BLUE, V4, LOC_H2, "h2", 6, ILA_STATE_UP));
	cache_hold(d, &k);
	cache_flush(d);
	assert_true(ev_is_active(&d->hold_timer));
	fake_kernel_clear();

	fake_now_ms += 29999;
	ev_invoke(d->loop, &d->hold_timer, EV_TIMER);
	assert_null(deleted(V4));
	assert_int_equal(d->n_holds, 1);

	fake_now_ms += 1;
	ev_invoke(d->loop, &d->hold_timer, EV_TIMER);
	assert_non_null(deleted(V4));
	assert_int_equal(deleted(V4)->kind, KROUTE_SEG6);
	assert_int_equal(d->n_holds, 0);
	assert_int_equal(entry(d, VN_BLUE, V4)->hold_until_ms, 0);
	assert_false(ev_is_active(&d->hold_timer));
}

static void test_hold_of_down_mapping_is_unreachable(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, V4);

	push(d, fake_rec(VN_BLUE, V4, LOC_H2, "h2", 6, ILA_STATE_UP));
	cache_hold(d, &k);
	cache_flush(d);
	push(d, fake_rec(VN_BLUE, V4, LOC_H2, "h2", 6, ILA_STATE_DOWN));
	assert_int_equal(replaced(V4)->kind, KROUTE_UNREACHABLE);
}

static void test_ipv4_workload_here_gets_srv6_decapsulation(void **state)
{
	struct ilad *d = daemon_of(state);
	union kaddr seg = fake_kaddr("2001:db8:ff:1::a0a:105"), v4 = fake_kaddr(V4);
	const struct fake_kcall *c;

	put_local(d, VN_BLUE, V4, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, V4);
	assert_int_equal(replaced(V4)->kind, KROUTE_DEV);
	c = fake_kernel_last(FK_REPLACE, &seg);
	assert_non_null(c);
	assert_int_equal(c->r.kind, KROUTE_SEG6_DX4);
	assert_int_equal(c->r.family, AF_INET6);
	assert_int_equal(c->r.dst_len, 128);
	assert_int_equal(c->r.nh4.s_addr, v4.v4.s_addr);
	assert_int_equal(c->r.oif, FAKE_IF_TAP0);
	assert_true(entry(d, VN_BLUE, V4)->aux_installed);
}

static void test_hold_expiry_removes_ipv6_srv6_route(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, A1);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP));
	cache_hold(d, &k);
	cache_flush(d);
	assert_int_equal(replaced(A1)->kind, KROUTE_SEG6);
	fake_kernel_clear();
	fake_now_ms += 30000;
	ev_invoke(d->loop, &d->hold_timer, EV_TIMER);
	assert_non_null(deleted(A1));
	assert_int_equal(deleted(A1)->kind, KROUTE_SEG6);
	assert_false(entry(d, VN_BLUE, A1)->installed);
}

static void test_ipv6_workload_here_gets_srv6_decapsulation(void **state)
{
	struct ilad *d = daemon_of(state);
	union kaddr seg = fake_kaddr("2001:db8:ff:1:1:2:3:4"), a3 = fake_kaddr(A3);
	struct ilad_key k = fake_key(VN_BLUE, A3);
	const struct fake_kcall *c;

	put_local(d, VN_BLUE, A3, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, A3);
	assert_int_equal(replaced(A3)->kind, KROUTE_DEV);
	c = fake_kernel_last(FK_REPLACE, &seg);
	assert_non_null(c);
	assert_int_equal(c->r.kind, KROUTE_SEG6_DX6);
	assert_int_equal(c->r.family, AF_INET6);
	assert_int_equal(c->r.dst_len, 128);
	assert_memory_equal(&c->r.nh6, &a3.v6, sizeof(a3.v6));
	assert_int_equal(c->r.oif, FAKE_IF_TAP0);
	assert_true(entry(d, VN_BLUE, A3)->aux_installed);
	/* gone from here: the decapsulation goes with it */
	lh_table_delete(d->locals, &k);
	fake_kernel_clear();
	touch_and_flush(d, VN_BLUE, A3);
	assert_non_null(fake_kernel_last(FK_DELETE, &seg));
	assert_false(entry(d, VN_BLUE, A3) && entry(d, VN_BLUE, A3)->aux_installed);
}

static void test_ipv4_workload_here_in_ila_mode_is_decapsulated_after_translation(void **state)
{
	struct ilad *d = daemon_of(state);
	/* the segment 2001:db8:ff:1::a0a:105 as the module's translation
	 * leaves it (csum-mode no-action): under the SIR prefix */
	union kaddr at = fake_kaddr("2001:db8:10::a0a:105"), v4 = fake_kaddr(V4);
	const struct fake_kcall *c;

	put_local(d, VN_BLUE, V4, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, V4);
	c = fake_kernel_last(FK_REPLACE, &at);
	assert_non_null(c);
	assert_int_equal(c->r.kind, KROUTE_SEG6_DX4);
	assert_int_equal(c->r.nh4.s_addr, v4.v4.s_addr);
	assert_int_equal(c->r.oif, FAKE_IF_TAP0);
}

static void test_ipv6_workload_here_in_ila_mode_has_no_decapsulation(void **state)
{
	struct ilad *d = daemon_of(state);

	put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, A1);
	assert_int_equal(replaced(A1)->kind, KROUTE_DEV);
	assert_int_equal(fake_kernel_count(FK_REPLACE), 1);
	assert_false(entry(d, VN_BLUE, A1)->aux_installed);
}

static void test_bpf_ipv4_workload_here_has_no_decapsulation_route(void **state)
{
	struct ilad *d = daemon_of(state);

	put_local(d, VN_BLUE, V4, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, V4);
	assert_int_equal(replaced(V4)->kind, KROUTE_DEV);
	assert_false(entry(d, VN_BLUE, V4)->aux_installed);
}

/* ---- the kernel batch ---- */

static void test_one_push_is_one_netlink_batch(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ila_record r[3] = {
		fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP),
		fake_rec(VN_BLUE, A2, LOC_H2, "h2", 5, ILA_STATE_DOWN),
		fake_rec(VN_GREEN, G1, LOC_H3, "h3", 5, ILA_STATE_UP),
	};

	for (int i = 0; i < 3; i++)
		cache_apply(d, &r[i]);
	cache_flush(d);
	assert_int_equal(fake_kernel_count(FK_BEGIN), 1);
	assert_int_equal(fake_kernel_count(FK_REPLACE), 3);
	assert_int_equal(fake_kernel_count(FK_COMMIT), 1);
	assert_int_equal(fake_kernel.calls[fake_kernel.n - 1].op, FK_COMMIT);
	assert_int_equal(d->stats.netlink_batches, 1);
	assert_int_equal(d->stats.routes_replaced, 3);

	fake_kernel_clear();
	for (int i = 0; i < 2; i++) {
		r[i].seq = 6;
		r[i].state = ILA_STATE_REMOVED;
		cache_apply(d, &r[i]);
	}
	cache_flush(d);
	assert_int_equal(fake_kernel_count(FK_DELETE), 2);
	assert_int_equal(fake_kernel_count(FK_COMMIT), 1);
	assert_int_equal(d->stats.routes_deleted, 2);
}

static void test_nothing_to_change_sends_no_batch(void **state)
{
	struct ilad *d = daemon_of(state);

	cache_flush(d);
	assert_int_equal(fake_kernel.n, 0);
	/* ours on the mapper's books, nothing attached here: no route for it */
	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP));
	assert_int_equal(fake_kernel_count(FK_COMMIT), 0);
	assert_int_equal(d->stats.netlink_batches, 0);
}

static void test_route_refused_by_kernel_is_not_taken_as_installed(void **state)
{
	struct ilad *d = daemon_of(state);

	fake_kernel.fail_index = 0;
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	assert_int_equal(fake_kernel_count(FK_REPLACE), 1);
	assert_false(entry(d, VN_BLUE, A1)->installed);
	assert_int_equal(d->stats.route_failures, 1);
	assert_int_equal(d->stats.routes_replaced, 0);

	/* the next flush of the entry writes it again */
	fake_kernel.fail_index = -1;
	fake_kernel_clear();
	touch_and_flush(d, VN_BLUE, A1);
	assert_non_null(replaced(A1));
	assert_true(entry(d, VN_BLUE, A1)->installed);
}

static void test_refused_route_in_batch_fails_only_itself(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ila_record r1 = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct ila_record r2 = fake_rec(VN_BLUE, A2, LOC_H2, "h2", 5, ILA_STATE_UP);
	const struct kroute *first, *second;
	struct ilad_key k;

	fake_kernel.fail_index = 1;
	cache_apply(d, &r1);
	cache_apply(d, &r2);
	cache_flush(d);
	first = nth_call(FK_REPLACE, 0);
	second = nth_call(FK_REPLACE, 1);
	assert_non_null(second);
	/* exactly the second route of the batch failed */
	k = (struct ilad_key){ .vn = VN_BLUE, .family = AF_INET6, .addr = first->dst };
	assert_true(cache_get(d, &k, false)->installed);
	k.addr = second->dst;
	assert_false(cache_get(d, &k, false)->installed);
	assert_int_equal(d->stats.route_failures, 1);
	assert_int_equal(d->stats.routes_replaced, 1);
}

static void test_failed_netlink_socket_takes_nothing_as_done(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	fake_kernel.commit_rc = -ENOBUFS;
	push(d, fake_rec(VN_BLUE, A1, LOC_H3, "h3", 6, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A2, LOC_H3, "h3", 6, ILA_STATE_UP));
	/* what was installed before stays the installed route */
	assert_locator(&entry(d, VN_BLUE, A1)->inst.locator, LOC_H2);
	assert_false(entry(d, VN_BLUE, A2)->installed);

	fake_kernel.commit_rc = 0;
	fake_kernel_clear();
	touch_and_flush(d, VN_BLUE, A1);
	assert_locator(&replaced(A1)->locator, LOC_H3);
	assert_locator(&entry(d, VN_BLUE, A1)->inst.locator, LOC_H3);
}

static void test_failed_delete_keeps_entry_until_route_is_gone(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	fake_kernel.fail_index = 0;
	push(d, fake_rec(VN_BLUE, A1, NULL, "h2", 6, ILA_STATE_REMOVED));
	assert_non_null(deleted(A1));
	assert_non_null(entry(d, VN_BLUE, A1));
	assert_true(entry(d, VN_BLUE, A1)->installed);

	fake_kernel.fail_index = -1;
	fake_kernel_clear();
	touch_and_flush(d, VN_BLUE, A1);
	assert_non_null(deleted(A1));
	assert_null(entry(d, VN_BLUE, A1));
}

static void test_control_plane_mode_programs_nothing(void **state)
{
	struct ilad *d = daemon_of(state);

	assert_null(d->kernel);
	push(d, fake_rec(VN_BLUE, A1, "2001:db8:ff:a", "h2", 5, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A2, "2001:db8:ff:a", "h2", 5, ILA_STATE_DOWN));
	assert_int_equal(fake_kernel.n, 0);
	assert_true(entry(d, VN_BLUE, A1)->known);
	assert_false(entry(d, VN_BLUE, A1)->installed);
}

/* ---- the events cache_apply posts ---- */

static void test_own_live_record_posts_promoted(void **state)
{
	struct ilad *d = daemon_of(state);
	const struct posted *p;

	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP));
	assert_int_equal(n_posted, 1);
	p = last_posted(ILAD_EV_PROMOTED);
	assert_non_null(p);
	assert_true(p->has_rec);
	assert_int_equal(p->rec.seq, 5);
	assert_key(&p->key, VN_BLUE, A1);
}

static void test_own_down_record_is_lapsed_not_moved(void **state)
{
	struct ilad *d = daemon_of(state);
	const struct posted *p;

	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP));
	n_posted = 0;
	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_DOWN));
	assert_int_equal(n_posted, 1);
	p = last_posted(ILAD_EV_LAPSED);
	assert_non_null(p);
	assert_true(p->has_rec);
	assert_int_equal(p->rec.state, ILA_STATE_DOWN);
	assert_int_equal(count_posted(ILAD_EV_MOVED_AWAY), 0);
}

static void test_own_removed_record_is_lapsed_without_record(void **state)
{
	struct ilad *d = daemon_of(state);
	const struct posted *p;

	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP));
	n_posted = 0;
	push(d, fake_rec(VN_BLUE, A1, NULL, "h1", 6, ILA_STATE_REMOVED));
	p = last_posted(ILAD_EV_LAPSED);
	assert_non_null(p);
	assert_false(p->has_rec);
	assert_int_equal(count_posted(ILAD_EV_MOVED_AWAY), 0);
}

static void test_own_mapping_taken_by_other_node_posts_moved_away(void **state)
{
	struct ilad *d = daemon_of(state);
	const struct posted *p;

	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP));
	n_posted = 0;
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP));
	assert_int_equal(n_posted, 1);
	p = last_posted(ILAD_EV_MOVED_AWAY);
	assert_non_null(p);
	assert_true(p->has_rec);
	assert_string_equal(p->rec.node, "h2");
}

static void test_own_down_record_then_other_node_moves_nothing_by_itself(void **state)
{
	struct ilad *d = daemon_of(state);

	/* a cold detach here, then the workload comes up elsewhere: nothing
	 * runs here, so there is nothing to move */
	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 6, ILA_STATE_DOWN));
	n_posted = 0;
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 7, ILA_STATE_UP));
	assert_int_equal(n_posted, 0);
}

static void test_higher_seq_elsewhere_overtakes_attached_workload(void **state)
{
	struct ilad *d = daemon_of(state);

	put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, FAKE_IF_TAP0, 5);
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP));
	assert_int_equal(count_posted(ILAD_EV_MOVED_AWAY), 1);
	assert_string_equal(last_posted(ILAD_EV_MOVED_AWAY)->rec.node, "h2");
}

static void test_lower_seq_elsewhere_does_not_overtake_attached_workload(void **state)
{
	struct ilad *d = daemon_of(state);

	put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, FAKE_IF_TAP0, 5);
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 4, ILA_STATE_UP));
	assert_int_equal(n_posted, 0);
}

static void test_down_record_elsewhere_does_not_overtake(void **state)
{
	struct ilad *d = daemon_of(state);

	put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, FAKE_IF_TAP0, 5);
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_DOWN));
	assert_int_equal(n_posted, 0);
}

static void test_workload_waiting_for_view_is_not_overtaken(void **state)
{
	struct ilad *d = daemon_of(state);
	struct local *l = put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, FAKE_IF_TAP0, 0);

	l->resync = RESYNC_ADOPTED;
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP));
	assert_int_equal(n_posted, 0);
}

static void test_other_nodes_records_post_nothing(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A1, LOC_H3, "h3", 6, ILA_STATE_UP));
	push(d, fake_rec(VN_BLUE, A1, LOC_H3, "h3", 6, ILA_STATE_DOWN));
	push(d, fake_rec(VN_BLUE, A1, NULL, "h3", 7, ILA_STATE_REMOVED));
	assert_int_equal(n_posted, 0);
}

/* ---- routes found at start ---- */

static struct kroute kroute6(const char *dst, uint8_t len, enum kroute_kind kind, int oif)
{
	struct kroute r;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	r.dst_len = len;
	r.dst = fake_kaddr(dst);
	r.kind = (uint8_t)kind;
	r.oif = oif;
	r.protocol = KERNEL_ROUTE_PROTOCOL_DEFAULT;
	r.hook_type = KROUTE_HOOK_UNSET;
	return r;
}

static void test_local_route_found_at_start_is_adopted(void **state)
{
	struct ilad *d = daemon_of(state);
	struct kroute ila = kroute6(A2, 128, KROUTE_ILA, 2);
	const struct posted *p;

	ila.locator = fake_loc(LOC_H2);
	fake_kernel.dump[fake_kernel.n_dump++] = kroute6(A1, 128, KROUTE_DEV, FAKE_IF_TAP0);
	fake_kernel.dump[fake_kernel.n_dump++] = ila;
	assert_int_equal(cache_load_kernel(d), 2);
	ilad_events_run(d);
	assert_int_equal(n_posted, 1);
	p = last_posted(ILAD_EV_ADOPTED);
	assert_non_null(p);
	assert_int_equal(p->ifindex, FAKE_IF_TAP0);
	assert_key(&p->key, VN_BLUE, A1);
	assert_true(entry(d, VN_BLUE, A1)->installed);
	assert_true(entry(d, VN_BLUE, A2)->installed);
	/* kept until the mapper confirms them: nothing deleted */
	assert_int_equal(fake_kernel_count(FK_DELETE), 0);
}

static void test_route_outside_every_vn_at_start_is_deleted(void **state)
{
	struct ilad *d = daemon_of(state);

	fake_kernel.dump[fake_kernel.n_dump++] = kroute6("2001:db8:99::1", 128, KROUTE_UNREACHABLE, 0);
	fake_kernel.dump[fake_kernel.n_dump++] = kroute6("2001:db8:10::", 64, KROUTE_UNREACHABLE, 0);
	assert_int_equal(cache_load_kernel(d), 2);
	assert_non_null(deleted("2001:db8:99::1"));
	assert_non_null(deleted("2001:db8:10::"));
	assert_int_equal(fake_kernel_count(FK_COMMIT), 1);
	assert_null(entry(d, VN_BLUE, "2001:db8:10::"));
}

static void test_routes_found_at_start_are_checked_by_the_snapshot(void **state)
{
	struct ilad *d = daemon_of(state);
	struct kroute ila = kroute6(A2, 128, KROUTE_ILA, 2);
	struct ila_record r = fake_rec(VN_BLUE, A2, LOC_H2, "h2", 4, ILA_STATE_UP);

	ila.locator = fake_loc(LOC_H2);
	ila.csum_mode = ILA_CSUM_NO_ACTION;
	ila.ident_type = ILA_IDENT_USE_FORMAT;
	ila.gateway = fake_kaddr("fe80::1");
	fake_kernel.dump[fake_kernel.n_dump++] = ila;
	fake_kernel.dump[fake_kernel.n_dump++] = kroute6(G1, 128, KROUTE_UNREACHABLE, 0);
	assert_int_equal(cache_load_kernel(d), 2);
	fake_kernel_clear();
	cache_snapshot_begin(d, VN_BLUE);
	cache_apply(d, &r);
	cache_snapshot_end(d, VN_BLUE);
	cache_flush(d);
	/* confirmed and unchanged: untouched; the other vn waits for its own */
	assert_null(replaced(A2));
	assert_null(deleted(A2));
	assert_null(deleted(G1));
}

static void test_decapsulation_found_at_start_belongs_to_its_ipv4_workload(void **state)
{
	struct ilad *d = daemon_of(state);
	struct kroute dx4 = kroute6("2001:db8:ff:1::a0a:105", 128, KROUTE_SEG6_DX4, FAKE_IF_TAP0);
	struct centry *e;

	dx4.nh4 = fake_kaddr(V4).v4;
	fake_kernel.dump[fake_kernel.n_dump++] = dx4;
	assert_int_equal(cache_load_kernel(d), 1);
	e = entry(d, VN_BLUE, V4);
	assert_non_null(e);
	assert_true(e->aux_installed);
	assert_false(e->installed);
	/* nothing runs here any more: it goes at the next flush */
	touch_and_flush(d, VN_BLUE, V4);
	assert_non_null(deleted("2001:db8:ff:1::a0a:105"));
	assert_null(entry(d, VN_BLUE, V4));
}

static void test_ipv6_decapsulation_found_at_start_belongs_to_its_workload(void **state)
{
	struct ilad *d = daemon_of(state);
	struct kroute dx6 = kroute6("2001:db8:ff:1:1:2:3:4", 128, KROUTE_SEG6_DX6, FAKE_IF_TAP0);
	struct centry *e;

	dx6.nh6 = fake_kaddr(A3).v6;
	fake_kernel.dump[fake_kernel.n_dump++] = dx6;
	assert_int_equal(cache_load_kernel(d), 1);
	e = entry(d, VN_BLUE, A3);
	assert_non_null(e);
	assert_true(e->aux_installed);
	assert_false(e->installed);
	touch_and_flush(d, VN_BLUE, A3);
	assert_non_null(deleted("2001:db8:ff:1:1:2:3:4"));
	assert_null(entry(d, VN_BLUE, A3));
}

static void test_decap_counters_sum_the_kernels_end_dx_counters(void **state)
{
	struct ilad *d = daemon_of(state);
	struct kroute dx4 = kroute6("2001:db8:ff:1::a0a:105", 128, KROUTE_SEG6_DX4, FAKE_IF_TAP0);
	struct kroute dx6 = kroute6("2001:db8:ff:1:1:2:3:4", 128, KROUTE_SEG6_DX6, FAKE_IF_TAP0);
	struct kroute other = kroute6("2001:db8:ff:1::99", 128, KROUTE_SEG6_DX6, FAKE_IF_TAP0);
	uint64_t pk, by;

	put_local(d, VN_BLUE, V4, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	put_local(d, VN_BLUE, A3, LOCAL_ATTACHED, FAKE_IF_TAP0, 1);
	touch_and_flush(d, VN_BLUE, V4);
	touch_and_flush(d, VN_BLUE, A3);
	cache_decap_counters(d, &pk, &by);
	assert_int_equal(pk, 0); /* the kernel has none of them */
	dx4.packets = 7;
	dx4.bytes = 700;
	dx6.packets = 5;
	dx6.bytes = 600;
	other.packets = 1000; /* not a route of this node's workloads */
	fake_kernel.dump[fake_kernel.n_dump++] = dx4;
	fake_kernel.dump[fake_kernel.n_dump++] = dx6;
	fake_kernel.dump[fake_kernel.n_dump++] = other;
	cache_decap_counters(d, &pk, &by);
	assert_int_equal(pk, 12);
	assert_int_equal(by, 1300);
}

static void test_flush_all_deletes_every_installed_route(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	push(d, fake_rec(VN_GREEN, G1, LOC_H2, "h2", 5, ILA_STATE_DOWN));
	fake_kernel_clear();
	cache_flush_all(d);
	assert_non_null(deleted(A1));
	assert_non_null(deleted(G1));
	assert_int_equal(fake_kernel_count(FK_COMMIT), 1);
}

#define T(name, setup) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* ---- dataplane bpf: the map instead of per-mapping routes ---- */

static struct {
	struct bpfpath_op ops[16];
	size_t n;
	unsigned calls;
	unsigned trace; /* of the last apply, in fake_trace order */
	int rc;
} fake_map;

static int fake_apply(struct ilad *d, const struct bpfpath_op *ops, size_t n)
{
	(void)d;
	fake_map.calls++;
	fake_map.trace = fake_trace();
	if (fake_map.rc < 0)
		return fake_map.rc;
	assert_true(n <= ILA_ARRAY_SIZE(fake_map.ops));
	memcpy(fake_map.ops, ops, n * sizeof(*ops));
	fake_map.n = n;
	return 0;
}

static const struct bpfpath_ops fake_bpf_ops = { .apply = fake_apply };

static int setup_bpf(void **state)
{
	struct ilad *d;

	setup_with(state, conf_ila);
	d = *state;
	memset(&fake_map, 0, sizeof(fake_map));
	d->ila = false;
	d->bpf_ops = &fake_bpf_ops;
	return 0;
}

static void test_bpf_remote_mapping_goes_to_the_map_not_a_route(void **state)
{
	struct ilad *d = daemon_of(state);
	struct in6_addr a1 = fake_kaddr(A1).v6;

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	assert_int_equal(fake_map.calls, 1);
	assert_int_equal(fake_map.n, 1);
	assert_false(fake_map.ops[0].del);
	assert_false(fake_map.ops[0].down);
	assert_int_equal(fake_map.ops[0].vn, VN_BLUE);
	assert_memory_equal(&fake_map.ops[0].addr, &a1, sizeof(a1));
	assert_locator(&fake_map.ops[0].loc, LOC_H2);
	assert_null(replaced(A1));
	assert_true(entry(d, VN_BLUE, A1)->bpf_set);
	/* the same record again: nothing written */
	touch_and_flush(d, VN_BLUE, A1);
	assert_int_equal(fake_map.calls, 1);
	/* a move is one update */
	push(d, fake_rec(VN_BLUE, A1, LOC_H3, "h3", 6, ILA_STATE_UP));
	assert_int_equal(fake_map.calls, 2);
	assert_locator(&fake_map.ops[0].loc, LOC_H3);
	assert_int_equal(d->stats.bpf_set, 2);
}

static void test_bpf_one_batch_per_flush(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ila_record r1 = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct ila_record r2 = fake_rec(VN_BLUE, A2, LOC_H3, "h3", 5, ILA_STATE_UP);

	cache_apply(d, &r1);
	cache_apply(d, &r2);
	cache_flush(d);
	assert_int_equal(fake_map.calls, 1);
	assert_int_equal(fake_map.n, 2);
	assert_int_equal(d->stats.bpf_batches, 1);
	assert_int_equal(fake_kernel_count(FK_REPLACE), 0);
}

static void test_bpf_down_is_down_in_the_map_under_an_unreachable_route(void **state)
{
	struct ilad *d = daemon_of(state);

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_DOWN));
	assert_int_equal(fake_map.n, 1);
	assert_true(fake_map.ops[0].down);
	assert_non_null(replaced(A1));
	assert_int_equal(replaced(A1)->kind, KROUTE_UNREACHABLE);
}

static void test_bpf_removed_and_own_mappings_leave_the_map(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);

	push(d, r);
	r.state = ILA_STATE_REMOVED;
	r.seq = 6;
	push(d, r);
	assert_int_equal(fake_map.calls, 2);
	assert_true(fake_map.ops[0].del);
	assert_null(entry(d, VN_BLUE, A1)); /* nothing left to remember */
	/* ours (our locator): never in the map, delivered here */
	push(d, fake_rec(VN_BLUE, A2, LOC_H1, "h1", 5, ILA_STATE_UP));
	assert_int_equal(fake_map.calls, 2);
	/* an IPv4 workload of ours neither */
	push(d, fake_rec(VN_BLUE, V4, LOC_H1, "h1", 5, ILA_STATE_UP));
	assert_int_equal(fake_map.calls, 2);
}

/* IPv4 mappings go to the map too, keyed by ::ffff:a.b.c.d; no route is
 * written for them, and removing one takes the same key out. */
static void test_bpf_ipv4_mapping_in_the_map_as_ipv4_mapped(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ila_record r = fake_rec(VN_BLUE, V4, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct in6_addr want = fake_kaddr("::ffff:" V4).v6, got;

	push(d, r);
	assert_int_equal(fake_map.calls, 1);
	assert_int_equal(fake_map.n, 1);
	assert_false(fake_map.ops[0].del);
	assert_int_equal(fake_map.ops[0].vn, VN_BLUE);
	assert_memory_equal(&fake_map.ops[0].addr, &want, sizeof(want));
	assert_locator(&fake_map.ops[0].loc, LOC_H2);
	assert_true(entry(d, VN_BLUE, V4)->bpf_set);
	assert_int_equal(fake_kernel_count(FK_REPLACE), 0);
	ilad_bpf_addr(&entry(d, VN_BLUE, V4)->key, &got);
	assert_memory_equal(&got, &want, sizeof(want));
	/* a move is one update */
	push(d, fake_rec(VN_BLUE, V4, LOC_H3, "h3", 6, ILA_STATE_UP));
	assert_int_equal(fake_map.calls, 2);
	assert_locator(&fake_map.ops[0].loc, LOC_H3);
	/* DOWN: down in the map, under an unreachable /32 route */
	push(d, fake_rec(VN_BLUE, V4, LOC_H3, "h3", 7, ILA_STATE_DOWN));
	assert_int_equal(fake_map.calls, 3);
	assert_true(fake_map.ops[0].down);
	assert_non_null(replaced(V4));
	assert_int_equal(replaced(V4)->kind, KROUTE_UNREACHABLE);
	assert_int_equal(replaced(V4)->dst_len, 32);
	/* removed: the same key leaves the map */
	r.state = ILA_STATE_REMOVED;
	r.seq = 8;
	push(d, r);
	assert_int_equal(fake_map.calls, 4);
	assert_true(fake_map.ops[0].del);
	assert_memory_equal(&fake_map.ops[0].addr, &want, sizeof(want));
	assert_false(fake_map.ops[0].addr.s6_addr[0]);
	assert_null(entry(d, VN_BLUE, V4));
}

/* Make before break for IPv4 as for IPv6: an IPv4 workload that moved away
 * is in the map at its new locator before its local route goes, and no
 * SRv6 route is written for it (that is host-route mode's). */
static void test_bpf_ipv4_moved_away_is_in_the_map_before_its_local_route_goes(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, V4);
	unsigned map_trace;

	put_local(d, VN_BLUE, V4, LOCAL_ATTACHED, 7, 5);
	push(d, fake_rec(VN_BLUE, V4, LOC_H1, "h1", 5, ILA_STATE_UP));
	assert_int_equal(replaced(V4)->kind, KROUTE_DEV);
	assert_int_equal(fake_map.calls, 0);
	push(d, fake_rec(VN_BLUE, V4, LOC_H2, "h2", 6, ILA_STATE_UP));
	assert_int_equal(count_posted(ILAD_EV_MOVED_AWAY), 1);
	assert_int_equal(fake_map.calls, 1);
	assert_locator(&fake_map.ops[0].loc, LOC_H2);
	map_trace = fake_map.trace;
	cache_hold(d, &k);
	lh_table_delete(d->locals, &k);
	touch_and_flush(d, VN_BLUE, V4);
	assert_non_null(deleted(V4));
	assert_true(fake_kernel_last(FK_DELETE, &(union kaddr){ .v4 = fake_kaddr(V4).v4 })->trace >
		    map_trace);
	assert_int_equal(fake_kernel_count(FK_REPLACE), 1); /* only the first local route */
}

/* Make before break: a workload that moved away is in the map at its new
 * locator before its local route goes. */
static void test_bpf_moved_away_is_in_the_map_before_its_local_route_goes(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, A1);
	unsigned map_trace;

	put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, 7, 5);
	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP));
	assert_int_equal(replaced(A1)->kind, KROUTE_DEV);
	assert_int_equal(fake_map.calls, 0);
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP));
	assert_int_equal(count_posted(ILAD_EV_MOVED_AWAY), 1);
	assert_int_equal(fake_map.calls, 1);
	assert_locator(&fake_map.ops[0].loc, LOC_H2);
	map_trace = fake_map.trace;
	/* local.c lets the workload go: its route is deleted */
	lh_table_delete(d->locals, &k);
	touch_and_flush(d, VN_BLUE, A1);
	assert_non_null(deleted(A1));
	assert_true(fake_kernel_last(FK_DELETE, &(union kaddr){ .v6 = fake_kaddr(A1).v6 })->trace >
		    map_trace);
}

/* ilactl handover (live migration, source): the workload still ours on the
 * mapper's books goes into the map at the standby locator, then its local
 * route goes; the mapper's push of the move then changes nothing in the map. */
static void test_bpf_handover_sends_to_the_standby_before_the_route_goes(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP);
	struct local *l = put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, 7, 5);
	unsigned map_trace;

	push(d, r);
	assert_int_equal(replaced(A1)->kind, KROUTE_DEV);
	assert_int_equal(fake_map.calls, 0);
	l->handover = true;
	assert_int_equal(ila_locator_parse(LOC_H2, &l->handover_loc, NULL, 0), 0);
	touch_and_flush(d, VN_BLUE, A1);
	assert_int_equal(fake_map.calls, 1);
	assert_false(fake_map.ops[0].del);
	assert_false(fake_map.ops[0].down);
	assert_locator(&fake_map.ops[0].loc, LOC_H2);
	map_trace = fake_map.trace;
	assert_non_null(deleted(A1));
	assert_true(fake_kernel_last(FK_DELETE, &(union kaddr){ .v6 = fake_kaddr(A1).v6 })->trace >
		    map_trace);
	/* the destination attaches: the push moves it where the map already says */
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP));
	assert_int_equal(count_posted(ILAD_EV_MOVED_AWAY), 1);
	assert_int_equal(fake_map.calls, 1);
	/* attached again (a migration that failed): local delivery, out of the map */
	l->handover = false;
	touch_and_flush(d, VN_BLUE, A1);
	assert_int_equal(replaced(A1)->kind, KROUTE_DEV);
}

/* ilactl incoming (live migration, destination): a prepared workload is
 * delivered on its device, not sent on to the owner. */
static void test_prepared_incoming_workload_is_delivered_locally(void **state)
{
	struct ilad *d = daemon_of(state);
	struct local *l;

	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	l = put_local(d, VN_BLUE, A1, LOCAL_PREPARED, FAKE_IF_TAP0, 0);
	touch_and_flush(d, VN_BLUE, A1);
	assert_int_equal(replaced(A1)->kind, KROUTE_ILA);
	l->incoming = true;
	touch_and_flush(d, VN_BLUE, A1);
	assert_int_equal(replaced(A1)->kind, KROUTE_DEV);
	assert_int_equal(replaced(A1)->oif, FAKE_IF_TAP0);
}

/* ... also when both change in one flush: the map batch goes before the
 * netlink batch is committed. */
static void test_bpf_map_batch_before_the_netlink_batch(void **state)
{
	struct ilad *d = daemon_of(state);
	struct ilad_key k = fake_key(VN_BLUE, A1);
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 6, ILA_STATE_UP);
	unsigned commit = 0;

	put_local(d, VN_BLUE, A1, LOCAL_ATTACHED, 7, 5);
	push(d, fake_rec(VN_BLUE, A1, LOC_H1, "h1", 5, ILA_STATE_UP));
	lh_table_delete(d->locals, &k);
	cache_apply(d, &r);
	cache_flush(d);
	assert_non_null(deleted(A1));
	assert_int_equal(fake_map.calls, 1);
	for (size_t i = 0; i < fake_kernel.n; i++)
		if (fake_kernel.calls[i].op == FK_COMMIT)
			commit = fake_kernel.calls[i].trace;
	assert_true(fake_map.trace < commit);
}

static void test_bpf_failed_update_is_written_again(void **state)
{
	struct ilad *d = daemon_of(state);

	fake_map.rc = -ENOMEM;
	push(d, fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP));
	assert_false(entry(d, VN_BLUE, A1)->bpf_set);
	assert_int_equal(d->stats.bpf_failures, 1);
	fake_map.rc = 0;
	touch_and_flush(d, VN_BLUE, A1);
	assert_true(entry(d, VN_BLUE, A1)->bpf_set);
	assert_int_equal(fake_map.calls, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_apply_higher_seq_wins, setup_ila),
		T(test_apply_lower_seq_is_ignored, setup_ila),
		T(test_apply_equal_seq_replay_changes_no_route, setup_ila),
		T(test_apply_down_at_equal_seq_takes_effect, setup_ila),
		T(test_apply_removed_forgets_mapping_and_its_route, setup_ila),
		T(test_apply_removed_wins_whatever_its_seq, setup_ila),
		T(test_snapshot_end_forgets_unseen, setup_ila),
		T(test_snapshot_end_keeps_seen_and_leaves_their_routes_untouched, setup_ila),
		T(test_snapshot_of_one_vn_leaves_other_vns_alone, setup_ila),
		T(test_snapshot_keeps_attached_workload_route_without_mapping, setup_ila),
		T(test_remote_mapping_gets_ila_route_to_its_locator, setup_ila),
		T(test_next_hop_of_a_locator_is_resolved_once_per_flush, setup_ila),
		T(test_unroutable_locator_gets_unreachable_route, setup_ila),
		T(test_down_mapping_gets_unreachable_route, setup_ila),
		T(test_attached_workload_gets_local_dev_route, setup_ila),
		T(test_prepared_workload_gets_no_local_route, setup_ila),
		T(test_own_locator_unattached_gets_no_route, setup_ila),
		T(test_ipv4_mapping_in_ila_mode_goes_over_srv6_to_its_node, setup_ila),
		T(test_host_route_mode_installs_no_ila_route, setup_host_route),
		T(test_zebra_announced_host_route_is_not_a_kernel_route, setup_ila),
		T(test_zebra_withdraws_host_route_of_workload_gone, setup_ila),
		T(test_moved_away_ipv4_is_forwarded_over_srv6_during_hold, setup_host_route),
		T(test_moved_away_ipv6_is_forwarded_over_srv6_during_hold, setup_host_route),
		T(test_srv6_is_reduced_where_the_kernel_takes_it, setup_host_route),
		T(test_moved_away_ipv6_in_ila_mode_keeps_its_ila_route_during_hold, setup_ila),
		T(test_moved_away_ipv4_in_ila_mode_goes_over_srv6_during_hold, setup_ila),
		T(test_hold_is_not_kept_with_bpf, setup_bpf),
		T(test_hold_is_not_kept_in_control_plane_mode, setup_control_plane),
		T(test_hold_expiry_removes_srv6_route, setup_host_route),
		T(test_hold_of_down_mapping_is_unreachable, setup_host_route),
		T(test_ipv4_workload_here_gets_srv6_decapsulation, setup_host_route),
		T(test_hold_expiry_removes_ipv6_srv6_route, setup_host_route),
		T(test_ipv6_workload_here_gets_srv6_decapsulation, setup_host_route),
		T(test_ipv4_workload_here_in_ila_mode_is_decapsulated_after_translation, setup_ila),
		T(test_ipv6_workload_here_in_ila_mode_has_no_decapsulation, setup_ila),
		T(test_bpf_ipv4_workload_here_has_no_decapsulation_route, setup_bpf),
		T(test_decap_counters_sum_the_kernels_end_dx_counters, setup_host_route),
		T(test_one_push_is_one_netlink_batch, setup_ila),
		T(test_nothing_to_change_sends_no_batch, setup_ila),
		T(test_route_refused_by_kernel_is_not_taken_as_installed, setup_ila),
		T(test_refused_route_in_batch_fails_only_itself, setup_ila),
		T(test_failed_netlink_socket_takes_nothing_as_done, setup_ila),
		T(test_failed_delete_keeps_entry_until_route_is_gone, setup_ila),
		T(test_control_plane_mode_programs_nothing, setup_control_plane),
		T(test_own_live_record_posts_promoted, setup_ila),
		T(test_own_down_record_is_lapsed_not_moved, setup_ila),
		T(test_own_removed_record_is_lapsed_without_record, setup_ila),
		T(test_own_mapping_taken_by_other_node_posts_moved_away, setup_ila),
		T(test_own_down_record_then_other_node_moves_nothing_by_itself, setup_ila),
		T(test_higher_seq_elsewhere_overtakes_attached_workload, setup_ila),
		T(test_lower_seq_elsewhere_does_not_overtake_attached_workload, setup_ila),
		T(test_down_record_elsewhere_does_not_overtake, setup_ila),
		T(test_workload_waiting_for_view_is_not_overtaken, setup_ila),
		T(test_other_nodes_records_post_nothing, setup_ila),
		T(test_local_route_found_at_start_is_adopted, setup_ila),
		T(test_route_outside_every_vn_at_start_is_deleted, setup_ila),
		T(test_routes_found_at_start_are_checked_by_the_snapshot, setup_ila),
		T(test_decapsulation_found_at_start_belongs_to_its_ipv4_workload, setup_host_route),
		T(test_ipv6_decapsulation_found_at_start_belongs_to_its_workload, setup_host_route),
		T(test_flush_all_deletes_every_installed_route, setup_ila),
		T(test_bpf_remote_mapping_goes_to_the_map_not_a_route, setup_bpf),
		T(test_bpf_one_batch_per_flush, setup_bpf),
		T(test_bpf_down_is_down_in_the_map_under_an_unreachable_route, setup_bpf),
		T(test_bpf_removed_and_own_mappings_leave_the_map, setup_bpf),
		T(test_bpf_moved_away_is_in_the_map_before_its_local_route_goes, setup_bpf),
		T(test_bpf_handover_sends_to_the_standby_before_the_route_goes, setup_bpf),
		T(test_zebra_host_route_follows_handover_and_incoming, setup_ila),
		T(test_prepared_incoming_workload_is_delivered_locally, setup_ila),
		T(test_bpf_map_batch_before_the_netlink_batch, setup_bpf),
		T(test_bpf_failed_update_is_written_again, setup_bpf),
		T(test_bpf_ipv4_mapping_in_the_map_as_ipv4_mapped, setup_bpf),
		T(test_bpf_ipv4_moved_away_is_in_the_map_before_its_local_route_goes, setup_bpf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
