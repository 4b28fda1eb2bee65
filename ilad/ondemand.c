/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad/ondemand.c: `cache on-demand` (dataplane bpf). A packet that finds no
 * mapping raises a miss event (bpfpath.c reads them) and goes on along its
 * SIR prefix route toward a router with the full table; here the misses of
 * a few milliseconds are gathered into QUERYs (flag WATCH: the mapper
 * pushes later changes of those mappings), the answers reach the cache and
 * ila_map through cache_apply and the flush, and the next packets go
 * direct. An entry lives for its REPLY's lifetime and is asked again before
 * it runs out while its counters grow; one whose counters stay still for
 * on-demand-idle is evicted and released at the mapper. An address without
 * a mapping (or refused) is remembered for ONDEMAND_NEGATIVE_MS. This file
 * neither links libbpf nor talks to the mapper itself: it uses d->bpf_ops
 * and mclient.c.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "ilad.h"

static void entry_free(struct lh_entry *e)
{
	free(lh_entry_v(e));
}

int ondemand_init(struct ilad *d, char *err, size_t errlen)
{
	if (d->conf->cache != ILA_CONF_CACHE_ON_DEMAND)
		return 0;
	d->od = cache_table_new(1024, entry_free);
	if (!d->od) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ev_timer_init(&d->od_batch_w, ondemand_batch_cb, ONDEMAND_BATCH_MS / 1000.0, 0.);
	d->od_batch_w.data = d;
	ev_timer_init(&d->od_tick_w, ondemand_tick_cb, 1.0, 1.0);
	d->od_tick_w.data = d;
	ev_timer_start(d->loop, &d->od_tick_w);
	return 0;
}

void ondemand_free(struct ilad *d)
{
	if (!d->od)
		return;
	ev_timer_stop(d->loop, &d->od_batch_w);
	ev_timer_stop(d->loop, &d->od_tick_w);
	lh_table_free(d->od);
	d->od = NULL;
	free(d->od_pend);
	d->od_pend = NULL;
	d->od_npend = d->od_cappend = 0;
}

struct od_entry *ondemand_get(struct ilad *d, const struct ilad_key *k)
{
	void *v = NULL;

	if (d->od && lh_table_lookup_ex(d->od, k, &v))
		return v;
	return NULL;
}

static void od_del(struct ilad *d, struct od_entry *o)
{
	lh_table_delete(d->od, &o->key);
}

/* Queries keys (any vns), one QUERY per vn and 1024 addresses; those whose
 * query went out are marked sent. */
static void od_query(struct ilad *d, struct ilad_key *keys, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && keys[j].vn == keys[i].vn)
			j++;
		if (mc_query(d, keys[i].vn, &keys[i], j - i) > 0) {
			d->stats.od_queries++;
			for (size_t k = i; k < j; k++) {
				struct od_entry *o = ondemand_get(d, &keys[k]);

				if (o) {
					o->sent = true;
					o->queried_us = ila_clock_mono_us();
				}
			}
		}
		i = j;
	}
}

static int key_cmp_vn(const void *a, const void *b)
{
	const struct ilad_key *x = a, *y = b;

	return x->vn < y->vn ? -1 : x->vn > y->vn;
}

void ondemand_batch_flush(struct ilad *d)
{
	size_t n = d->od_npend;

	ev_timer_stop(d->loop, &d->od_batch_w);
	if (!n)
		return;
	d->od_npend = 0;
	qsort(d->od_pend, n, sizeof(*d->od_pend), key_cmp_vn);
	for (size_t i = 0; i < n; i++) {
		struct od_entry *o = ondemand_get(d, &d->od_pend[i]);

		if (o)
			o->pending = false;
	}
	od_query(d, d->od_pend, n);
}

void ondemand_batch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	ondemand_batch_flush(w->data);
}

/* Adds o to the batch being gathered: it leaves with the others after
 * ONDEMAND_BATCH_MS, or at once when a QUERY is full. */
static void od_pend(struct ilad *d, struct od_entry *o)
{
	if (o->pending)
		return;
	if (d->od_npend == d->od_cappend) {
		size_t cap = d->od_cappend ? d->od_cappend * 2 : 64;
		struct ilad_key *nk = realloc(d->od_pend, cap * sizeof(*nk));

		if (!nk)
			return; /* the next miss event of it tries again */
		d->od_pend = nk;
		d->od_cappend = cap;
	}
	d->od_pend[d->od_npend++] = o->key;
	o->pending = true;
	if (d->od_npend >= ILA_PROTO_MAX_RECORDS)
		ondemand_batch_flush(d);
	else if (!ev_is_active(&d->od_batch_w))
		ev_timer_start(d->loop, &d->od_batch_w);
}

void ondemand_miss(struct ilad *d, uint32_t vn, const struct in6_addr *addr)
{
	struct ilad_key k = { .vn = vn, .family = AF_INET6 };
	const struct ila_conf_vn *cv = ilad_vn(d, vn);
	uint64_t now = ilad_now_ms();
	struct od_entry *o;

	if (!d->od)
		return;
	d->stats.od_misses++;
	if (IN6_IS_ADDR_V4MAPPED(addr)) {
		/* ila_out4's miss: the IPv4 address in ila_map's form */
		k.family = AF_INET;
		memcpy(&k.addr.v4.s_addr, addr->s6_addr + 12, 4);
	} else {
		memcpy(&k.addr, addr, 16);
	}
	if (!cv || ilad_vn_of(d, k.family, &k.addr) != cv) {
		d->stats.od_misses_bad++; /* the maps are ours: should not happen */
		return;
	}
	o = ondemand_get(d, &k);
	if (!o) {
		if ((size_t)lh_table_length(d->od) >= d->conf->on_demand_max) {
			d->stats.od_full++; /* the packets still go by the router */
			return;
		}
		o = calloc(1, sizeof(*o));
		if (!o)
			return;
		o->key = k;
		if (lh_table_insert(d->od, &o->key, o) < 0) {
			free(o);
			return;
		}
		o->state = OD_QUERYING;
		o->first_ms = now;
		o->miss_us = ila_clock_mono_us();
	}
	o->misses++;
	o->last_ms = now;
	switch (o->state) {
	case OD_QUERYING:
		if (!o->sent)
			od_pend(d, o);
		break;
	case OD_NO_MAPPING:
	case OD_REFUSED:
		/* remembered: no query until it is forgotten */
		d->stats.od_negative_hits++;
		break;
	case OD_INSTALLED:
		/* a miss raised before the map had it (events are rate-limited) */
		break;
	}
}

/* The mapper's word on o: a live record (installed), none or a tombstone
 * (no mapping), or a refusal. */
static void od_settle(struct ilad *d, struct od_entry *o, const struct ila_record *r,
		      uint16_t error)
{
	uint64_t now = ilad_now_ms();

	o->sent = false;
	if (error) {
		o->state = OD_REFUSED;
		o->until_ms = now + ONDEMAND_NEGATIVE_MS;
		d->stats.od_refused++;
		return;
	}
	if (!r || r->state == ILA_STATE_REMOVED) {
		if (o->state == OD_INSTALLED && !r) {
			/* gone meanwhile, no tombstone said so: out of the map */
			struct ila_record gone = { 0 };

			ilad_key_to_record(&o->key, &gone);
			gone.state = ILA_STATE_REMOVED;
			cache_apply(d, &gone);
		}
		o->state = OD_NO_MAPPING;
		o->until_ms = now + ONDEMAND_NEGATIVE_MS;
		d->stats.od_no_mapping++;
		return;
	}
	if (o->state != OD_INSTALLED) {
		o->state = OD_INSTALLED;
		o->used_ms = now;
		o->install_us = ila_clock_mono_us() - o->miss_us;
		d->stats.od_installed++;
		if (d->bpf_ops) {
			struct in6_addr a;

			ilad_bpf_addr(&o->key, &a);
			(void)d->bpf_ops->counters(d, o->key.vn, &a, &o->packets, &o->bytes);
		}
	} else {
		d->stats.od_refreshed++;
	}
	o->lifetime_ms = (uint64_t)(r->lifetime ? r->lifetime : 1) * 1000;
	o->until_ms = now + o->lifetime_ms;
}

void ondemand_answered(struct ilad *d, const struct ilad_key *keys, size_t n,
		       const struct ila_record *recs, size_t nrec, uint16_t error)
{
	for (size_t i = 0; d->od && i < n; i++) {
		struct od_entry *o = ondemand_get(d, &keys[i]);
		const struct ila_record *view = NULL;

		if (!o || !o->sent)
			continue;
		for (size_t j = 0; j < nrec && !view; j++) {
			struct ilad_key k;

			ilad_key_of_record(&recs[j], &k);
			if (memcmp(&k, &keys[i], sizeof(k)) == 0)
				view = &recs[j];
		}
		od_settle(d, o, view, error);
	}
}

void ondemand_pushed(struct ilad *d, const struct ila_record *r)
{
	struct ilad_key k;
	struct od_entry *o;

	ilad_key_of_record(r, &k);
	if (!(o = ondemand_get(d, &k)))
		return;
	d->stats.od_pushed++;
	if (r->state == ILA_STATE_REMOVED) {
		o->state = OD_NO_MAPPING;
		o->until_ms = ilad_now_ms() + ONDEMAND_NEGATIVE_MS;
		return;
	}
	if (o->state != OD_INSTALLED)
		o->used_ms = ilad_now_ms();
	o->state = OD_INSTALLED;
	o->lifetime_ms = (uint64_t)(r->lifetime ? r->lifetime : 1) * 1000;
	o->until_ms = ilad_now_ms() + o->lifetime_ms;
}

void ondemand_session_up(struct ilad *d)
{
	size_t n = d->od ? (size_t)lh_table_length(d->od) : 0, k = 0;
	struct ilad_key *keys;
	struct lh_entry *le;

	if (!n)
		return;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return;
	/* interests live in the mapper's session: WATCH again what is held */
	lh_foreach(d->od, le) {
		struct od_entry *o = lh_entry_v(le);

		o->sent = false;
		if (o->state == OD_QUERYING || o->state == OD_INSTALLED)
			keys[k++] = o->key;
	}
	qsort(keys, k, sizeof(*keys), key_cmp_vn);
	od_query(d, keys, k);
	free(keys);
}

/* The refresh point: a quarter of the lifetime before it runs out, at most
 * 30 s and at least 1 s before. */
static uint64_t od_margin(const struct od_entry *o)
{
	uint64_t m = o->lifetime_ms / 4;

	return m > 30000 ? 30000 : m < 1000 ? 1000 : m;
}

void ondemand_tick(struct ilad *d)
{
	size_t n = d->od ? (size_t)lh_table_length(d->od) : 0, nrel = 0, nref = 0;
	uint64_t now = ilad_now_ms(), idle = (uint64_t)d->conf->on_demand_idle_s * 1000;
	struct ilad_key *rel, *ref;
	struct lh_entry *le, *tmp;
	struct in6_addr a;

	if (!n)
		return;
	rel = calloc(n, sizeof(*rel));
	ref = calloc(n, sizeof(*ref));
	if (!rel || !ref)
		goto out;
	lh_foreach_safe(d->od, le, tmp) {
		struct od_entry *o = lh_entry_v(le);
		uint64_t p = o->packets, b = o->bytes;

		switch (o->state) {
		case OD_QUERYING:
			break; /* asked again when the session comes up */
		case OD_NO_MAPPING:
		case OD_REFUSED:
			if (now >= o->until_ms) {
				d->stats.od_forgotten++;
				od_del(d, o);
			}
			break;
		case OD_INSTALLED:
			ilad_bpf_addr(&o->key, &a);
			if (d->bpf_ops && d->bpf_ops->counters(d, o->key.vn, &a, &p, &b) == 0 &&
			    p != o->packets) {
				o->packets = p;
				o->bytes = b;
				o->used_ms = now;
			}
			if (now - o->used_ms >= idle) {
				struct ila_record gone = { 0 };

				/* idle: out of the map, and the mapper forgets our interest */
				ilad_key_to_record(&o->key, &gone);
				gone.state = ILA_STATE_REMOVED;
				cache_apply(d, &gone);
				rel[nrel++] = o->key;
				d->stats.od_evicted++;
				od_del(d, o);
			} else if (!o->sent && now + od_margin(o) >= o->until_ms) {
				/* in use: asked again before it runs out */
				ref[nref++] = o->key;
			}
			break;
		}
	}
	if (nref) {
		qsort(ref, nref, sizeof(*ref), key_cmp_vn);
		od_query(d, ref, nref);
	}
	if (nrel) {
		qsort(rel, nrel, sizeof(*rel), key_cmp_vn);
		for (size_t i = 0; i < nrel;) {
			size_t j = i;

			while (j < nrel && rel[j].vn == rel[i].vn)
				j++;
			if (mc_release(d, rel[i].vn, &rel[i], j - i) > 0)
				d->stats.od_released += j - i;
			i = j;
		}
	}
	cache_flush(d);
out:
	free(rel);
	free(ref);
}

void ondemand_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	ondemand_tick(w->data);
}

const char *ondemand_state_name(enum od_state s)
{
	switch (s) {
	case OD_QUERYING:
		return "querying";
	case OD_INSTALLED:
		return "installed";
	case OD_NO_MAPPING:
		return "no mapping";
	case OD_REFUSED:
		return "refused";
	}
	return "?";
}
