/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "log.h"
#include "ilad.h"

/* The tables' hash is SipHash-2-4 under a key drawn at start: which
 * addresses share a bucket differs from one daemon to the next, so
 * registrations cannot be chosen to pile up in one (hash flooding). */
static uint8_t hash_key[crypto_shorthash_KEYBYTES];

static unsigned long key_hash(const void *k)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, k, sizeof(struct ilad_key), hash_key);
	memcpy(&h, out, sizeof(h));
	return (unsigned long)h;
}

static int key_equal(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ilad_key)) == 0;
}

static void entry_free(struct lh_entry *e)
{
	free(lh_entry_v(e));
}

int cache_init(struct ilad *d, char *err, size_t errlen)
{
	int rc = ila_random_bytes(hash_key, sizeof(hash_key));

	if (rc < 0) {
		snprintf(err, errlen, "hash key: getrandom: %s", strerror(-rc));
		return rc;
	}
	d->cache = lh_table_new(1024, entry_free, key_hash, key_equal);
	d->locals = lh_table_new(64, entry_free, key_hash, key_equal);
	if (!d->cache || !d->locals) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void cache_free(struct ilad *d)
{
	free(d->holds);
	d->holds = NULL;
	d->n_holds = d->cap_holds = 0;
	if (d->cache)
		lh_table_free(d->cache);
	if (d->locals)
		lh_table_free(d->locals);
	d->cache = d->locals = NULL;
}

struct lh_table *cache_table_new(int size, lh_entry_free_fn *free_fn)
{
	return lh_table_new(size, free_fn, key_hash, key_equal);
}

struct centry *cache_get(struct ilad *d, const struct ilad_key *k, bool create)
{
	void *v = NULL;
	struct centry *e;

	if (lh_table_lookup_ex(d->cache, k, &v))
		return v;
	if (!create || !(e = calloc(1, sizeof(*e))))
		return NULL;
	e->key = *k;
	if (lh_table_insert(d->cache, &e->key, e) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

static void mark_dirty(struct ilad *d, struct centry *e)
{
	if (e->dirty)
		return;
	e->dirty = true;
	e->next_dirty = d->dirty;
	d->dirty = e;
}

void cache_touch(struct ilad *d, const struct ilad_key *k)
{
	struct centry *e = cache_get(d, k, true);

	if (e)
		mark_dirty(d, e);
}

void cache_rewrite(struct ilad *d, const struct ilad_key *k)
{
	struct centry *e = cache_get(d, k, true);

	if (!e)
		return;
	/* the kernel took them out with their link: a replace puts back */
	e->installed = false;
	e->aux_installed = false;
	mark_dirty(d, e);
}

void cache_apply(struct ilad *d, const struct ila_record *r)
{
	struct ilad_key k;
	struct centry *e;
	bool was_mine;

	ilad_key_of_record(r, &k);
	e = cache_get(d, &k, true);
	if (!e)
		return;
	e->seen = true;
	if (e->known && r->state != ILA_STATE_REMOVED && r->seq < e->rec.seq &&
	    !d->applying_snapshot)
		return; /* an older view than ours: the journal replays in order, but be safe */
	/* live here on the mapper's books: a down record of ours is not (it
	 * was already taken as lapsed, or is a cold detach) */
	was_mine = e->known && e->rec.state != ILA_STATE_REMOVED &&
		   e->rec.state != ILA_STATE_DOWN && strcmp(e->rec.node, d->conf->node_name) == 0;
	if (r->state == ILA_STATE_REMOVED) {
		e->known = false;
		memset(&e->rec, 0, sizeof(e->rec));
	} else {
		e->known = true;
		e->rec = *r;
	}
	mark_dirty(d, e);
	bool is_mine = e->known && e->rec.state != ILA_STATE_DOWN &&
		       strcmp(e->rec.node, d->conf->node_name) == 0;

	/* down or removed while still ours: our own registration lapsed (not
	 * refreshed in time), no other node has it; only a record naming
	 * another node moves the workload away */
	bool lapsed = !e->known || strcmp(e->rec.node, d->conf->node_name) == 0;
	/* another node took a workload that runs here with a number above
	 * ours (after ours had lapsed, say): it moved */
	const struct local *l = local_get(d, &k);
	bool overtaken = !is_mine && !lapsed && e->rec.state != ILA_STATE_DOWN && l &&
			 l->state == LOCAL_ATTACHED && !l->resync && e->rec.seq > l->seq;

	struct ilad_ev ev = { .has_key = true, .key = k, .has_rec = e->known };

	if (e->known)
		ev.rec = e->rec;
	if (was_mine && !is_mine && lapsed)
		ev.type = ILAD_EV_LAPSED;
	else if ((was_mine && !is_mine && !lapsed) || overtaken)
		ev.type = ILAD_EV_MOVED_AWAY;
	else if (is_mine)
		ev.type = ILAD_EV_PROMOTED;
	else
		return;
	ilad_post(d, &ev); /* the local workload follows once this push is applied */
}

void cache_snapshot_begin(struct ilad *d, uint32_t vn)
{
	struct lh_entry *le;

	lh_foreach(d->cache, le) {
		struct centry *e = lh_entry_v(le);

		if (e->key.vn == vn)
			e->seen = false;
	}
}

void cache_snapshot_end(struct ilad *d, uint32_t vn)
{
	struct lh_entry *le;

	/* what the snapshot did not mention is gone; and routes read from the
	 * kernel at start are checked against the now complete picture */
	lh_foreach(d->cache, le) {
		struct centry *e = lh_entry_v(le);

		if (e->key.vn != vn)
			continue;
		if (!e->seen && e->known) {
			e->known = false;
			memset(&e->rec, 0, sizeof(e->rec));
		}
		mark_dirty(d, e);
	}
}

static void inflight_segment(const struct ila_locator *loc, const struct ilad_key *k,
			     struct in6_addr *seg);

/*
 * The next hop of a locator, resolved once per flush: every ILA route to a
 * locator leaves by the same device and gateway, and a fabric change is
 * picked up by the next flush that touches the route.
 */
static int locator_nexthop(struct ilad *d, const struct ila_locator *loc, int *oif,
			   union kaddr *gateway)
{
	union kaddr dst = { 0 };

	for (unsigned i = 0; i < d->n_nh; i++) {
		if (ila_locator_equal(&d->nh[i].loc, loc)) {
			*oif = d->nh[i].oif;
			*gateway = d->nh[i].gateway;
			return d->nh[i].err;
		}
	}
	memcpy(dst.b, loc->b, 8);
	int err = kernel_route_lookup(d->kernel, AF_INET6, &dst, oif, gateway);
	if (d->n_nh < ILA_ARRAY_SIZE(d->nh)) {
		struct nh_memo *m = &d->nh[d->n_nh++];

		m->loc = *loc;
		m->oif = *oif;
		m->gateway = *gateway;
		m->err = err;
	}
	return err;
}

static bool desired_route(struct ilad *d, const struct centry *e, struct kroute *r)
{
	struct local *l = local_get(d, &e->key);

	memset(r, 0, sizeof(*r));
	r->family = e->key.family;
	r->dst = e->key.addr;
	r->dst_len = e->key.family == AF_INET6 ? 128 : 32;
	r->hook_type = KROUTE_HOOK_UNSET;
	if (l && l->state == LOCAL_ATTACHED && l->handover)
		return false; /* handed over: the prefix route, ila_map to the standby */
	if (local_delivered_here(l)) {
		/* a host route announced through zebra is installed by zebra: a
		 * kernel route of ours would shadow it (zebra takes main-table
		 * routes of other protocols as its own kernel routes, distance 0,
		 * and would not redistribute ours) */
		if (zebra_announces(d, &e->key))
			return false;
		r->kind = KROUTE_DEV;
		r->oif = l->ifindex;
		return true;
	}
	if (!e->known)
		return false;
	if (e->rec.state != ILA_STATE_DOWN && !ilad_is_my_locator(d, &e->rec.loc) &&
	    ((e->hold_until_ms && d->conf->mode == ILA_CONF_MODE_HOST_ROUTE) ||
	     (d->ila && e->key.family == AF_INET))) {
		/* host-route mode, moved away moments ago: until the fabric
		 * has converged it may still bring packets here, and sending
		 * them back into it could loop; they go to the new node inside
		 * IPv6 (SRv6) instead. mode ila with the module: IPv4 always
		 * goes so, to the serving node's locator (a move re-points it,
		 * which forwards what is in flight) */
		union kaddr gw;

		inflight_segment(&e->rec.loc, &e->key, &r->segment);
		if (locator_nexthop(d, &e->rec.loc, &r->oif, &gw) < 0)
			return false;
		r->kind = KROUTE_SEG6;
		r->seg6_reduced = d->seg6_reduced;
		return true;
	}
	if (e->rec.state == ILA_STATE_DOWN) {
		/* cold move: senders learn at once that it is unreachable */
		r->kind = KROUTE_UNREACHABLE;
		return true;
	}
	if (ilad_is_my_locator(d, &e->rec.loc))
		return false; /* ours on the mapper's books, but not attached here */
	if (!d->ila || e->key.family != AF_INET6)
		return false;
	r->kind = KROUTE_ILA;
	r->locator = e->rec.loc;
	r->csum_mode = (uint8_t)d->conf->csum_mode;
	r->ident_type = (uint8_t)d->conf->ident_type;
	if (locator_nexthop(d, &e->rec.loc, &r->oif, &r->gateway) < 0) {
		/* no route to that locator (yet): senders are told so */
		memset(&r->gateway, 0, sizeof(r->gateway));
		r->oif = 0;
		r->kind = KROUTE_UNREACHABLE;
		d->stats.locator_unreachable++;
	}
	return true;
}

/* The SRv6 segment of a workload at a node (man ilad.8, IN-FLIGHT
 * FORWARDING): the node's locator in the upper 64 bits, then for IPv4 32
 * zero bits and the address, for IPv6 the address's lower 64 bits (its
 * identifier). */
static void inflight_segment(const struct ila_locator *loc, const struct ilad_key *k,
			     struct in6_addr *seg)
{
	memset(seg, 0, sizeof(*seg));
	memcpy(seg->s6_addr, loc->b, 8);
	if (k->family == AF_INET)
		memcpy(seg->s6_addr + 12, &k->addr.v4.s_addr, 4);
	else
		memcpy(seg->s6_addr + 8, k->addr.v6.s6_addr + 8, 8);
}

/* Where this node decapsulates what other nodes send inside IPv6 to a
 * workload that runs here. host-route mode: IPv4 and IPv6, at the segment
 * itself (its locators are not ILA locators, so their addresses are free).
 * mode ila with the module: IPv4 only (IPv6 is ILA), at the address the
 * module's translation (PRE_ROUTING, before the route lookup) turns the
 * segment into: the vn's SIR prefix in the upper 64 bits, the identifier
 * as the checksum mode leaves it. */
static bool desired_aux(struct ilad *d, const struct centry *e, struct kroute *r)
{
	struct local *l;
	const struct ila_locator *loc;
	const struct ila_conf_vn *vn;
	struct in6_addr seg;

	if (d->conf->mode != ILA_CONF_MODE_HOST_ROUTE && !(d->ila && e->key.family == AF_INET))
		return false;
	l = local_get(d, &e->key);
	loc = ilad_locator_for(d, e->key.vn);
	if (!l || l->state != LOCAL_ATTACHED || l->ifindex <= 0 || !loc)
		return false;
	memset(r, 0, sizeof(*r));
	r->family = AF_INET6;
	r->dst_len = 128;
	r->hook_type = KROUTE_HOOK_UNSET;
	r->oif = l->ifindex;
	inflight_segment(loc, &e->key, &seg);
	r->dst.v6 = seg;
	if (d->conf->mode != ILA_CONF_MODE_HOST_ROUTE) {
		vn = ilad_vn_of(d, e->key.family, &e->key.addr);
		if (!vn || ila_ila_to_sir(&seg, &vn->sir_prefix,
					  (enum ila_csum_mode)d->conf->csum_mode, &r->dst.v6) < 0)
			return false;
	}
	if (e->key.family == AF_INET) {
		r->kind = KROUTE_SEG6_DX4;
		r->nh4 = e->key.addr.v4;
	} else {
		r->kind = KROUTE_SEG6_DX6;
		r->nh6 = e->key.addr.v6;
	}
	return true;
}

void ilad_bpf_addr(const struct ilad_key *k, struct in6_addr *out)
{
	if (k->family == AF_INET6) {
		*out = k->addr.v6;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->s6_addr[10] = 0xff;
	out->s6_addr[11] = 0xff;
	memcpy(out->s6_addr + 12, &k->addr.v4.s_addr, 4);
}

/* dataplane bpf: what ila_map should hold for e. The node's own mappings
 * stay out (their packets arrive here already: local delivery). IPv4
 * mappings go in too (ila_out4 carries them inside IPv6). */
static bool desired_map(struct ilad *d, const struct centry *e, struct bpfpath_op *op)
{
	const struct local *l = d->bpf_ops ? local_get(d, &e->key) : NULL;
	bool handover = l && l->state == LOCAL_ATTACHED && l->handover;

	if (!d->bpf_ops || (!handover && (!e->known || ilad_is_my_locator(d, &e->rec.loc))))
		return false;
	memset(op, 0, sizeof(*op));
	op->vn = e->key.vn;
	ilad_bpf_addr(&e->key, &op->addr);
	if (handover) {
		op->loc = l->handover_loc; /* ilactl handover: the standby, at once */
		return true;
	}
	op->loc = e->rec.loc;
	op->down = e->rec.state == ILA_STATE_DOWN;
	return true;
}

/* Writes the map changes of the dirty entries in one batch, before the
 * routes change (make before break: a workload that moved away is in the
 * map, at its new locator, before its local route goes). */
static void flush_map(struct ilad *d)
{
	struct bpfpath_op *ops = NULL;
	struct centry **es = NULL;
	size_t n = 0, cap = 0;
	struct centry *e;
	int rc;

	for (e = d->dirty; e; e = e->next_dirty) {
		struct bpfpath_op op;
		bool want = desired_map(d, e, &op);

		if (!want && !e->bpf_set)
			continue;
		if (want && e->bpf_set && e->bpf_down == op.down &&
		    ila_locator_equal(&e->bpf_loc, &op.loc))
			continue;
		if (!want) {
			memset(&op, 0, sizeof(op));
			op.vn = e->key.vn;
			ilad_bpf_addr(&e->key, &op.addr);
			op.del = true;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct bpfpath_op *no = realloc(ops, ncap * sizeof(*no));
			struct centry **ne = no ? realloc(es, ncap * sizeof(*ne)) : NULL;

			if (no)
				ops = no;
			if (!ne)
				break;
			es = ne;
			cap = ncap;
		}
		ops[n] = op;
		es[n++] = e;
	}
	if (n) {
		rc = d->bpf_ops->apply(d, ops, n);
		d->stats.bpf_batches++;
		if (rc < 0) {
			/* nothing taken as done: the next flush of these entries
			 * writes them again (both are idempotent) */
			log_err("dataplane bpf: updating ila_map (%zu mappings): %s", n,
				strerror(-rc));
			d->stats.bpf_failures++;
		} else {
			for (size_t i = 0; i < n; i++) {
				es[i]->bpf_set = !ops[i].del;
				es[i]->bpf_down = ops[i].down;
				es[i]->bpf_loc = ops[i].loc;
				if (ops[i].del)
					d->stats.bpf_deleted++;
				else
					d->stats.bpf_set++;
				if (ilad_monitoring(d)) {
					char l[ILA_LOCATOR_STRLEN], buf[64];

					snprintf(buf, sizeof(buf), "ila_map %s%s",
						 ila_locator_format(&ops[i].loc, l, sizeof(l)),
						 ops[i].down ? " down" : "");
					ilad_event(d, ops[i].del ? "map-del" : "map-set",
						   &es[i]->key, ops[i].del ? "ila_map" : buf);
				}
			}
		}
	}
	free(ops);
	free(es);
}

struct flush_op {
	struct centry *e;
	struct kroute r;
	int slot; /* 0: the address's route, 1: its SRv6 decapsulation */
	bool del;
	bool failed;
};

struct flush_ctx {
	struct ilad *d;
	struct flush_op *ops;
};

static void flush_report(void *arg, size_t index, const struct kroute *r, bool del, int err,
			 const char *msg)
{
	struct flush_ctx *fc = arg;
	char buf[KROUTE_STRLEN];

	fc->ops[index].failed = true;
	fc->d->stats.route_failures++;
	log_warn("kernel refused %s %s: %s%s%s", del ? "delete" : "replace",
		 kroute_format(r, buf, sizeof(buf)), strerror(-err), msg && *msg ? ": " : "",
		 msg ? msg : "");
}

void cache_flush(struct ilad *d)
{
	struct flush_ctx fc = { .d = d };
	size_t n = 0, cap = 0;
	struct centry *e, *next;

	if (!d->dirty)
		return;
	d->n_nh = 0; /* next hops of locators are resolved afresh for each flush */
	if (d->bpf_ops)
		flush_map(d);
	if (d->kernel)
		kernel_batch_begin(d->kernel);
	for (e = d->dirty; e; e = e->next_dirty) {
		zebra_sync(d, &e->key);
		for (int slot = 0; slot < 2; slot++) {
			struct kroute want;
			bool have = slot ? desired_aux(d, e, &want) : desired_route(d, e, &want);
			bool installed = slot ? e->aux_installed : e->installed;
			const struct kroute *inst = slot ? &e->aux_inst : &e->inst;
			struct flush_op op = { .e = e, .slot = slot };

			if (have && installed && kroute_same(&want, inst))
				continue; /* already right: not touched */
			if (!have && !installed)
				continue;
			op.r = have ? want : *inst;
			op.del = !have;
			if (!d->kernel)
				continue; /* control-plane mode: nothing is programmed */
			if ((op.del ? kernel_route_delete(d->kernel, &op.r)
				    : kernel_route_replace(d->kernel, &op.r)) < 0)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct flush_op *no = realloc(fc.ops, ncap * sizeof(*no));

				if (!no)
					break;
				fc.ops = no;
				cap = ncap;
			}
			fc.ops[n++] = op;
		}
	}
	if (d->kernel && n) {
		int rc = kernel_batch_commit(d->kernel, flush_report, &fc);

		d->stats.netlink_batches++;
		if (rc < 0) {
			/* the socket failed: an unknown part was applied; nothing is
			 * taken as done, so the next flush of these entries writes them
			 * again (replace and delete are both idempotent) */
			log_err("netlink batch failed: %s", strerror(-rc));
			for (size_t i = 0; i < n; i++)
				fc.ops[i].failed = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct flush_op *op = &fc.ops[i];

		if (op->failed)
			continue;
		bool *installed = op->slot ? &op->e->aux_installed : &op->e->installed;
		struct kroute *inst = op->slot ? &op->e->aux_inst : &op->e->inst;

		*installed = !op->del;
		if (op->del) {
			d->stats.routes_deleted++;
		} else {
			*inst = op->r;
			d->stats.routes_replaced++;
			if (!op->slot && op->e->hold_until_ms &&
			    (op->r.kind == KROUTE_SEG6 || op->r.kind == KROUTE_ILA))
				d->stats.inflight_routes++;
		}
		if (ilad_monitoring(d)) {
			char buf[KROUTE_STRLEN];

			ilad_event(d, op->del ? "route-del" : "route-set", &op->e->key,
				   kroute_format(&op->r, buf, sizeof(buf)));
		}
	}
	free(fc.ops);
	/* entries with nothing left to remember are dropped */
	for (e = d->dirty, d->dirty = NULL; e; e = next) {
		next = e->next_dirty;
		e->dirty = false;
		e->next_dirty = NULL;
		if (!e->known && !e->installed && !e->aux_installed && !e->hold_until_ms &&
		    !e->bpf_set && !local_get(d, &e->key))
			lh_table_delete(d->cache, &e->key);
	}
}

static int load_route(void *arg, const struct kroute *r)
{
	struct ilad *d = arg;
	const struct ila_conf_vn *vn = ilad_vn_of(d, r->family, &r->dst);
	struct ilad_key k = { 0 };
	struct centry *e;
	char buf[KROUTE_STRLEN];

	if (r->kind == KROUTE_SEG6_DX4 || r->kind == KROUTE_SEG6_DX6) {
		/* the decapsulation of a workload of ours: keyed by it */
		union kaddr nh = { 0 };
		int fam = r->kind == KROUTE_SEG6_DX4 ? AF_INET : AF_INET6;

		if (fam == AF_INET)
			nh.v4 = r->nh4;
		else
			nh.v6 = r->nh6;
		vn = ilad_vn_of(d, fam, &nh);
		if (vn) {
			k.vn = vn->id;
			k.family = (uint8_t)fam;
			k.addr = nh;
			if (!(e = cache_get(d, &k, true)))
				return -ENOMEM;
			e->aux_installed = true;
			e->aux_inst = *r;
			return 0;
		}
	}

	/* dataplane bpf: the SIR prefix route, written at start already */
	if (vn && d->bpf_ops && r->kind == KROUTE_BPF && r->family == AF_INET6 &&
	    r->dst_len == 64 && memcmp(r->dst.v6.s6_addr, vn->sir_prefix.loc.b, 8) == 0)
		return 0;
	/* and its IPv4 prefix route */
	if (vn && d->bpf_ops && r->kind == KROUTE_BPF && r->family == AF_INET &&
	    r->dst_len == vn->ipv4_prefix.len && r->dst.v4.s_addr == vn->ipv4_prefix.addr.v4.s_addr)
		return 0;
	if (!vn || (r->family == AF_INET6 && r->dst_len != 128) ||
	    (r->family == AF_INET && r->dst_len != 32)) {
		/* ours by protocol number, but outside every vn: left over */
		log_info("removing stale route %s", kroute_format(r, buf, sizeof(buf)));
		kernel_route_delete(d->kernel, r);
		return 0;
	}
	k.vn = vn->id;
	k.family = r->family;
	k.addr = r->dst;
	e = cache_get(d, &k, true);
	if (!e)
		return -ENOMEM;
	e->installed = true;
	e->inst = *r;
	/* a local delivery route means a workload runs here: adopt it */
	if (r->kind == KROUTE_DEV)
		ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_ADOPTED, .has_key = true, .key = k,
						.ifindex = r->oif });
	return 0;
}

int cache_load_kernel(struct ilad *d)
{
	int n4, n6;

	if (!d->kernel)
		return 0;
	kernel_batch_begin(d->kernel); /* stale routes are deleted in one batch */
	n6 = kernel_route_dump(d->kernel, AF_INET6, KERNEL_TABLE_MAIN, load_route, d);
	n4 = kernel_route_dump(d->kernel, AF_INET, KERNEL_TABLE_MAIN, load_route, d);
	if (kernel_batch_count(d->kernel))
		kernel_batch_commit(d->kernel, NULL, NULL);
	if (n6 < 0)
		return n6;
	if (n4 < 0)
		return n4;
	log_info("kernel: %d routes of protocol %u found; kept until the mapper confirms them",
		 n4 + n6, d->conf->route_protocol);
	return n4 + n6;
}

int cache_install_xlat(struct ilad *d, char *err, size_t errlen)
{
	if (!d->kernel || !d->ila)
		return 0;
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		const struct ila_conf_vn *vn = &d->conf->vns[i];
		const struct ila_locator *loc = ilad_locator_for(d, vn->id);
		struct kxlat x = { 0 };
		char l[ILA_LOCATOR_STRLEN];
		int rc;

		if (!loc)
			continue;
		x.loc_match = *loc;
		x.loc = vn->sir_prefix.loc;
		x.csum_mode = (uint8_t)d->conf->csum_mode;
		x.ident_type = (uint8_t)d->conf->ident_type;
		rc = kernel_xlat_add(d->kernel, &x);
		if (rc < 0) {
			snprintf(err, errlen, "ILA translation for locator %s (vn %s): %s",
				 ila_locator_format(loc, l, sizeof(l)), vn->name, strerror(-rc));
			return rc;
		}
		if (rc == KERNEL_XLAT_ADDED || rc == KERNEL_XLAT_REPLACED)
			d->stats.xlat_added++;
	}
	return 0;
}

void cache_flush_all(struct ilad *d)
{
	struct lh_entry *le;

	if (!d->kernel)
		return;
	kernel_batch_begin(d->kernel);
	lh_foreach(d->cache, le) {
		struct centry *e = lh_entry_v(le);

		if (e->installed)
			kernel_route_delete(d->kernel, &e->inst);
		if (e->aux_installed)
			kernel_route_delete(d->kernel, &e->aux_inst);
	}
	kernel_batch_commit(d->kernel, NULL, NULL);
	if (!d->ila)
		return;
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		const struct ila_locator *loc = ilad_locator_for(d, d->conf->vns[i].id);
		struct kxlat x = { 0 };

		if (!loc)
			continue;
		x.loc_match = *loc;
		kernel_xlat_del(d->kernel, &x);
	}
}

void cache_decap_counters(struct ilad *d, uint64_t *packets, uint64_t *bytes)
{
	struct lh_entry *le;

	*packets = *bytes = 0;
	if (!d->kernel)
		return;
	lh_foreach(d->cache, le) {
		const struct centry *e = lh_entry_v(le);
		struct kroute r;

		if (!e->aux_installed ||
		    kernel_route_get(d->kernel, AF_INET6, &e->aux_inst.dst, &r) < 0 ||
		    (r.kind != KROUTE_SEG6_DX4 && r.kind != KROUTE_SEG6_DX6))
			continue;
		*packets += r.packets;
		*bytes += r.bytes;
	}
}

/* Ends the holds that ran out. The held keys are kept apart, so a node
 * with a full table does not walk it every second for a few moved
 * workloads. */
static void hold_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ilad *d = w->data;
	uint64_t now = ilad_now_ms();
	size_t kept = 0;

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < d->n_holds; i++) {
		struct centry *e = cache_get(d, &d->holds[i], false);

		if (e && e->hold_until_ms > now) {
			d->holds[kept++] = d->holds[i];
			continue;
		}
		if (e) {
			e->hold_until_ms = 0;
			mark_dirty(d, e);
		}
	}
	d->n_holds = kept;
	cache_flush(d);
	if (!kept)
		ev_timer_stop(d->loop, &d->hold_timer);
}

void cache_hold(struct ilad *d, const struct ilad_key *k)
{
	struct centry *e = cache_get(d, k, false);

	/* host-route mode, either family; mode ila with the module (the route
	 * that forwards is there anyway: the hold counts it). Not with BPF,
	 * whose map forwards */
	if (!e || (d->conf->mode != ILA_CONF_MODE_HOST_ROUTE && !d->ila))
		return;
	d->stats.inflight_holds++;
	if (!e->hold_until_ms) {
		if (d->n_holds == d->cap_holds) {
			size_t ncap = d->cap_holds ? d->cap_holds * 2 : 16;
			struct ilad_key *n = realloc(d->holds, ncap * sizeof(*n));

			if (!n)
				return; /* no forwarding for this one; BGP still converges */
			d->holds = n;
			d->cap_holds = ncap;
		}
		d->holds[d->n_holds++] = *k;
	}
	e->hold_until_ms = ilad_now_ms() + (uint64_t)d->conf->hold_time_s * 1000;
	mark_dirty(d, e);
	if (!ev_is_active(&d->hold_timer)) {
		ev_timer_init(&d->hold_timer, hold_cb, 1.0, 1.0);
		d->hold_timer.data = d;
		ev_timer_start(d->loop, &d->hold_timer);
	}
}
