/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad's cache on-demand (ondemand.c): miss events gathered into QUERYs,
 * answers installed in the cache and ila_map, negative entries, idle
 * eviction by the counters with a RELEASE, refreshes of entries in use,
 * the bound, pushes, and the session coming back. The real cache.c,
 * local.c (with local_resync.c and local_neigh.c) and dispatch.c; the
 * mapper session (fake_mclient.c), the clock and the BPF maps are fakes.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fake_ilad.h"
#include "fake_mclient.h"

#define VN_BLUE 10
#define LOC_H2 "2001:db8:ff:a"
#define LOC_H3 "2001:db8:ff:b"
#define A1 "2001:db8:10::42"
#define A2 "2001:db8:10::43"
#define A3 "2001:db8:10::44"
#define A4 "2001:db8:10::45"
#define V4 "192.0.2.7"
#define V4_MAPPED "::ffff:192.0.2.7" /* ila_map's form of V4, and ila_out4's miss */

static const char conf_od[] =
	"node-name h1\n"
	"plaintext\n"
	"mapper ::1\n"
	"locator 2001:db8:ff:1\n"
	"cache on-demand\n"
	"on-demand-idle 5\n"
	"on-demand-max 3\n"
	"vn blue id 10 sir-prefix 2001:db8:10::/64 ipv4-prefix 192.0.2.0/24\n";

/* ila_map as the fake data path holds it, and the counters it reports */
static struct {
	struct bpfpath_op map[8];
	size_t n;
	uint64_t packets; /* every mapping's counter */
} fake_dp;

static int fake_apply(struct ilad *d, const struct bpfpath_op *ops, size_t n)
{
	(void)d;
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < fake_dp.n; j++)
			if (fake_dp.map[j].vn == ops[i].vn &&
			    memcmp(&fake_dp.map[j].addr, &ops[i].addr, 16) == 0)
				break;
		if (ops[i].del) {
			if (j < fake_dp.n)
				fake_dp.map[j] = fake_dp.map[--fake_dp.n];
			continue;
		}
		assert_true(j < ILA_ARRAY_SIZE(fake_dp.map));
		fake_dp.map[j] = ops[i];
		if (j == fake_dp.n)
			fake_dp.n++;
	}
	return 0;
}

static int fake_counters(struct ilad *d, uint32_t vn, const struct in6_addr *a, uint64_t *packets,
			 uint64_t *bytes)
{
	(void)d;
	(void)vn;
	(void)a;
	*packets = fake_dp.packets;
	*bytes = fake_dp.packets * 100;
	return 0;
}

static const struct bpfpath_ops fake_ops = { .apply = fake_apply, .counters = fake_counters };

static const struct bpfpath_op *in_map(const char *addr)
{
	struct in6_addr a = fake_kaddr(addr).v6;

	for (size_t i = 0; i < fake_dp.n; i++)
		if (memcmp(&fake_dp.map[i].addr, &a, 16) == 0)
			return &fake_dp.map[i];
	return NULL;
}

static int setup(void **state)
{
	struct ilad *d;
	char err[256];

	fake_reset();
	fake_mc_reset();
	memset(&fake_dp, 0, sizeof(fake_dp));
	d = fake_ilad_new(conf_od, ilad_run_event);
	d->ila = false;
	d->bpf_ops = &fake_ops;
	assert_int_equal(ondemand_init(d, err, sizeof(err)), 0);
	assert_non_null(d->od);
	fake_mc.up = true;
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct ilad *d = *state;

	ondemand_free(d);
	fake_ilad_free(d);
	return 0;
}

static void miss(struct ilad *d, const char *addr)
{
	struct in6_addr a = fake_kaddr(addr).v6;

	ondemand_miss(d, VN_BLUE, &a);
}

static struct od_entry *od(struct ilad *d, const char *addr)
{
	struct ilad_key k = fake_key(VN_BLUE, addr);

	return ondemand_get(d, &k);
}

/* The mapper answers the QUERY of keys with recs, as mclient.c hands it on. */
static void answer(struct ilad *d, const char *const *addrs, size_t n,
		   const struct ila_record *recs, size_t nrec, uint16_t error)
{
	struct ilad_key keys[8];

	for (size_t i = 0; i < nrec; i++)
		cache_apply(d, &recs[i]);
	cache_flush(d);
	for (size_t i = 0; i < n; i++)
		keys[i] = fake_key(VN_BLUE, addrs[i]);
	ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_ANSWERED, .keys = keys, .n = n,
					.recs = (struct ila_record *)recs, .nrec = nrec,
					.status = error });
	ilad_events_run(d);
}

static size_t queries_of(const char *addr, bool release)
{
	struct ilad_key k = fake_key(VN_BLUE, addr);
	size_t n = 0;

	for (size_t i = 0; i < fake_mc.n_reqs; i++)
		n += fake_mc.reqs[i].type == ILA_MSG_QUERY && fake_mc.reqs[i].release == release &&
		     memcmp(&fake_mc.reqs[i].key, &k, sizeof(k)) == 0;
	return n;
}

static void test_misses_are_gathered_into_one_query(void **state)
{
	struct ilad *d = *state;

	miss(d, A1);
	miss(d, A2);
	miss(d, A1);
	/* nothing leaves before the batch time */
	assert_int_equal(fake_mc_count(ILA_MSG_QUERY), 0);
	assert_true(ev_is_active(&d->od_batch_w));
	ondemand_batch_flush(d);
	assert_int_equal(fake_mc_count(ILA_MSG_QUERY), 2);
	assert_int_equal(fake_mc.reqs[0].xid, fake_mc.reqs[1].xid); /* one QUERY */
	assert_int_equal(d->stats.od_queries, 1);
	assert_int_equal(od(d, A1)->misses, 2);
	assert_int_equal(od(d, A1)->state, OD_QUERYING);
	assert_true(od(d, A1)->sent);
	/* more misses while the answer is out ask nothing more */
	miss(d, A1);
	ondemand_batch_flush(d);
	assert_int_equal(fake_mc_count(ILA_MSG_QUERY), 2);
	assert_int_equal(d->stats.od_misses, 4);
}

static void test_answer_is_installed_in_the_map(void **state)
{
	struct ilad *d = *state;
	const char *a[] = { A1, A2 };
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);

	miss(d, A1);
	miss(d, A2);
	ondemand_batch_flush(d);
	r.lifetime = 40;
	answer(d, a, 2, &r, 1, 0);
	assert_int_equal(od(d, A1)->state, OD_INSTALLED);
	assert_int_equal(od(d, A1)->until_ms, fake_now_ms + 40000);
	assert_non_null(in_map(A1));
	assert_false(in_map(A1)->del);
	/* A2 has no mapping: remembered, not in the map */
	assert_int_equal(od(d, A2)->state, OD_NO_MAPPING);
	assert_null(in_map(A2));
	assert_int_equal(d->stats.od_installed, 1);
	assert_int_equal(d->stats.od_no_mapping, 1);
}

static void test_address_without_mapping_is_not_asked_again_for_a_while(void **state)
{
	struct ilad *d = *state;
	const char *a[] = { A2 };

	miss(d, A2);
	ondemand_batch_flush(d);
	answer(d, a, 1, NULL, 0, 0);
	miss(d, A2);
	miss(d, A2);
	ondemand_batch_flush(d);
	assert_int_equal(queries_of(A2, false), 1);
	assert_int_equal(d->stats.od_negative_hits, 2);
	fake_now_ms += ONDEMAND_NEGATIVE_MS - 1;
	ondemand_tick(d);
	assert_non_null(od(d, A2));
	fake_now_ms += 1;
	ondemand_tick(d);
	assert_null(od(d, A2));
	assert_int_equal(d->stats.od_forgotten, 1);
	miss(d, A2);
	ondemand_batch_flush(d);
	assert_int_equal(queries_of(A2, false), 2);
}

static void test_refusal_is_remembered_as_refused(void **state)
{
	struct ilad *d = *state;
	const char *a[] = { A1 };

	miss(d, A1);
	ondemand_batch_flush(d);
	answer(d, a, 1, NULL, 0, ILA_PERR_QUOTA);
	assert_int_equal(od(d, A1)->state, OD_REFUSED);
	assert_string_equal(ondemand_state_name(od(d, A1)->state), "refused");
	assert_int_equal(d->stats.od_refused, 1);
	miss(d, A1);
	ondemand_batch_flush(d);
	assert_int_equal(queries_of(A1, false), 1);
}

static void install(struct ilad *d, const char *addr, uint32_t lifetime)
{
	const char *a[] = { addr };
	struct ila_record r = fake_rec(VN_BLUE, addr, LOC_H2, "h2", 5, ILA_STATE_UP);

	miss(d, addr);
	ondemand_batch_flush(d);
	r.lifetime = lifetime;
	answer(d, a, 1, &r, 1, 0);
	assert_int_equal(od(d, addr)->state, OD_INSTALLED);
}

static void test_idle_entry_is_evicted_and_released(void **state)
{
	struct ilad *d = *state;

	install(d, A1, 300);
	/* used: the counters grow for 4 s */
	for (int i = 0; i < 4; i++) {
		fake_now_ms += 1000;
		fake_dp.packets += 10;
		ondemand_tick(d);
	}
	assert_non_null(in_map(A1));
	/* then still: evicted on-demand-idle (5 s) after the last growth */
	fake_now_ms += 4000;
	ondemand_tick(d);
	assert_non_null(od(d, A1));
	assert_int_equal(queries_of(A1, true), 0);
	fake_now_ms += 1000;
	ondemand_tick(d);
	assert_null(od(d, A1));
	assert_null(in_map(A1));
	assert_int_equal(queries_of(A1, true), 1);
	assert_int_equal(d->stats.od_evicted, 1);
	assert_int_equal(d->stats.od_released, 1);
	/* the next packet misses again and is asked again */
	miss(d, A1);
	ondemand_batch_flush(d);
	assert_int_equal(queries_of(A1, false), 2);
}

static void test_entry_in_use_is_asked_again_before_it_runs_out(void **state)
{
	struct ilad *d = *state;
	struct ila_record r = fake_rec(VN_BLUE, A1, LOC_H2, "h2", 5, ILA_STATE_UP);
	const char *a[] = { A1 };

	install(d, A1, 20); /* refreshed 5 s (a quarter) before its end */
	for (int i = 0; i < 14; i++) {
		fake_now_ms += 1000;
		fake_dp.packets += 1;
		ondemand_tick(d);
	}
	assert_int_equal(queries_of(A1, false), 1);
	fake_now_ms += 1000;
	fake_dp.packets += 1;
	ondemand_tick(d);
	assert_int_equal(queries_of(A1, false), 2);
	/* asked once, not at every tick while the answer is out */
	fake_now_ms += 1000;
	fake_dp.packets += 1;
	ondemand_tick(d);
	assert_int_equal(queries_of(A1, false), 2);
	r.lifetime = 20;
	answer(d, a, 1, &r, 1, 0);
	assert_int_equal(d->stats.od_refreshed, 1);
	assert_int_equal(od(d, A1)->until_ms, fake_now_ms + 20000);
	assert_non_null(in_map(A1));
}

static void test_on_demand_max_bounds_the_entries(void **state)
{
	struct ilad *d = *state;

	miss(d, A1);
	miss(d, A2);
	miss(d, A3);
	miss(d, A4); /* on-demand-max 3 */
	assert_null(od(d, A4));
	assert_int_equal(d->stats.od_full, 1);
	ondemand_batch_flush(d);
	assert_int_equal(fake_mc_count(ILA_MSG_QUERY), 3);
	/* a miss outside the vn's prefix is counted, not asked */
	struct in6_addr other = fake_kaddr("2001:db8:99::1").v6;

	ondemand_miss(d, VN_BLUE, &other);
	assert_int_equal(d->stats.od_misses_bad, 1);
}

static void test_push_of_a_held_entry_follows(void **state)
{
	struct ilad *d = *state;
	struct ila_record moved = fake_rec(VN_BLUE, A1, LOC_H3, "h3", 6, ILA_STATE_UP);
	struct ila_record gone = fake_rec(VN_BLUE, A1, NULL, NULL, 7, ILA_STATE_REMOVED);

	install(d, A1, 300);
	moved.lifetime = 100;
	cache_apply(d, &moved);
	ondemand_pushed(d, &moved);
	cache_flush(d);
	assert_int_equal(od(d, A1)->state, OD_INSTALLED);
	assert_int_equal(od(d, A1)->until_ms, fake_now_ms + 100000);
	assert_int_equal(d->stats.od_pushed, 1);
	cache_apply(d, &gone);
	ondemand_pushed(d, &gone);
	cache_flush(d);
	assert_int_equal(od(d, A1)->state, OD_NO_MAPPING);
	assert_null(in_map(A1));
}

static void test_session_up_asks_again_what_is_held(void **state)
{
	struct ilad *d = *state;
	const char *a[] = { A2 };

	install(d, A1, 300);
	miss(d, A2);
	ondemand_batch_flush(d);
	answer(d, a, 1, NULL, 0, 0); /* no mapping: not asked again */
	fake_mc.up = false;
	miss(d, A3);
	ondemand_batch_flush(d); /* the session is down: waits */
	assert_false(od(d, A3)->sent);
	fake_mc.up = true;
	fake_mc.n_reqs = 0;
	ondemand_session_up(d);
	assert_int_equal(queries_of(A1, false), 1);
	assert_int_equal(queries_of(A3, false), 1);
	assert_int_equal(queries_of(A2, false), 0);
}

/* ila_out4 raises its misses in ila_map's form (::ffff:a.b.c.d): the QUERY
 * asks for the IPv4 address, and the answer goes in the map in that form. */
static void test_ipv4_miss_asks_for_the_ipv4_address(void **state)
{
	struct ilad *d = *state;
	const char *a[] = { V4 };
	struct ila_record r = fake_rec(VN_BLUE, V4, LOC_H2, "h2", 5, ILA_STATE_UP);
	struct in6_addr mapped = fake_kaddr(V4_MAPPED).v6;
	struct in6_addr outside = fake_kaddr("::ffff:198.51.100.7").v6;

	miss(d, V4_MAPPED);
	ondemand_batch_flush(d);
	assert_int_equal(queries_of(V4, false), 1);
	assert_int_equal(od(d, V4)->state, OD_QUERYING);
	r.lifetime = 40;
	answer(d, a, 1, &r, 1, 0);
	assert_int_equal(od(d, V4)->state, OD_INSTALLED);
	assert_true(fake_dp.n == 1 && memcmp(&fake_dp.map[0].addr, &mapped, 16) == 0);
	/* an IPv4 address outside the vn's ipv4-prefix is not asked for */
	ondemand_miss(d, VN_BLUE, &outside);
	ondemand_batch_flush(d);
	assert_int_equal(d->stats.od_misses_bad, 1);
	assert_int_equal(fake_mc_count(ILA_MSG_QUERY), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_misses_are_gathered_into_one_query),
		T(test_answer_is_installed_in_the_map),
		T(test_address_without_mapping_is_not_asked_again_for_a_while),
		T(test_refusal_is_remembered_as_refused),
		T(test_idle_entry_is_evicted_and_released),
		T(test_entry_in_use_is_asked_again_before_it_runs_out),
		T(test_on_demand_max_bounds_the_entries),
		T(test_push_of_a_held_entry_follows),
		T(test_session_up_asks_again_what_is_held),
		T(test_ipv4_miss_asks_for_the_ipv4_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
