/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad/bpfpath.c: the BPF data path of mode ila (dataplane bpf, doc/bpf.md).
 * The programs are loaded once at start (routing/kbpf.c); each vn gets one
 * route for its SIR prefix that carries ila_out, an entry in ila_prefixes,
 * and its locator in ila_locators; ila_in goes on tc ingress of the devices
 * those prefix routes leave by (the uplinks). A vn with an ipv4-prefix also
 * gets an IPv4 route for it that carries ila_out4, and an entry in
 * ila_v4prefixes. The mappings themselves go to ila_map from cache.c's
 * flush (bpfpath_apply), in one batch per flush.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "ilad.h"

#ifdef HAVE_BPF
#include "../routing/kbpf.h"

#define BPF_MAX_UPLINKS 8

struct ilad_bpf {
	struct kbpf *k;
	struct kroute routes[ILA_CONF_MAX_VNS]; /* the SIR prefix routes installed */
	bool installed[ILA_CONF_MAX_VNS];
	struct kroute routes4[ILA_CONF_MAX_VNS]; /* the IPv4 SIR prefix routes */
	bool installed4[ILA_CONF_MAX_VNS];
	bool stale[ILA_CONF_MAX_VNS];	/* an earlier ilad's route is there */
	bool stale4[ILA_CONF_MAX_VNS];
	bool pending;		/* the earlier ilad's data path translates until
				 * this one's cache is in sync (bpfpath_synced) */
	int uplinks[BPF_MAX_UPLINKS];
	unsigned n_uplinks;
	ev_io miss_w;		/* cache on-demand: the miss ring buffer's epoll fd */
	struct ilad *d;
};

static const struct bpfpath_ops bpf_ops;

bool bpfpath_built(void)
{
	return true;
}

static void prefix_addr(const struct ila_conf_vn *vn, union kaddr *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->v6.s6_addr, vn->sir_prefix.loc.b, 8);
}

/* ifindex is an uplink: ila_in goes on its tc ingress (attach_uplinks). */
static int add_uplink(struct ilad_bpf *b, int ifindex, char *err, size_t errlen)
{
	for (unsigned i = 0; i < b->n_uplinks; i++)
		if (b->uplinks[i] == ifindex)
			return 0;
	if (b->n_uplinks == BPF_MAX_UPLINKS) {
		snprintf(err, errlen, "dataplane bpf: more than %d uplinks", BPF_MAX_UPLINKS);
		return -ENOSPC;
	}
	b->uplinks[b->n_uplinks++] = ifindex;
	return 0;
}

/* ila_in on tc ingress of each uplink, then the filters of an earlier ilad
 * go: ours is ahead of them in the chain once attached (the kernel gives
 * it the priority before the first one's), so there is no moment without
 * an ila_in. */
static int attach_uplinks(struct ilad *d, struct ilad_bpf *b, char *err, size_t errlen)
{
	char mine[64];
	int rc = kbpf_in_name(b->k, mine, sizeof(mine));

	if (rc < 0) {
		snprintf(err, errlen, "dataplane bpf: ila_in's id: %s", strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; i < b->n_uplinks; i++) {
		char name[IF_NAMESIZE] = "?";

		if_indextoname((unsigned)b->uplinks[i], name);
		rc = kbpf_tc_attach(b->k, b->uplinks[i]);
		if (rc < 0) {
			snprintf(err, errlen, "dataplane bpf: ila_in on tc ingress of %s: %s", name,
				 strerror(-rc));
			return rc;
		}
		log_info("dataplane bpf: ila_in attached to tc ingress of %s", name);
		rc = kernel_tc_purge(d->kernel, b->uplinks[i], "ila_in:", mine);
		if (rc > 0)
			log_notice("dataplane bpf: removed %d earlier ila_in filter(s) from %s", rc,
				   name);
		else if (rc < 0)
			log_warn("dataplane bpf: looking for earlier ila_in filters on %s: %s", name,
				 strerror(-rc));
	}
	return 0;
}

/* The address the kernel takes as source toward dst: that of the IPv6
 * headers ila_out4 puts IPv4 packets in. */
static int source_toward(const struct in6_addr *dst, struct in6_addr *src)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	sa.sin6_addr = *dst;
	/* a UDP connect sends nothing: it only routes and picks the source */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		rc = -errno;
	else
		*src = sa.sin6_addr;
	close(fd);
	return rc;
}

/* vn's IPv4 prefix route (ila_out4, installed with the others) and its
 * ila_v4prefixes entry, after its IPv6 SIR prefix route r6 (whose uplink it takes when no IPv4
 * route leads toward the prefix). */
static int open_v4(struct ilad *d, struct ilad_bpf *b, const struct ila_conf_vn *vn,
		   const struct kroute *r6, struct kroute *r, char *err, size_t errlen)
{
	struct in6_addr src;
	char buf[KROUTE_STRLEN];
	int rc;

	memset(r, 0, sizeof(*r));
	r->family = AF_INET;
	r->kind = KROUTE_BPF;
	r->hook_type = KROUTE_HOOK_UNSET;
	r->dst.v4 = vn->ipv4_prefix.addr.v4;
	r->dst_len = vn->ipv4_prefix.len;
	r->bpf_fd = kbpf_out4_fd(b->k);
	/* the IPv6 header ila_out4 adds: IPv4 packets that would no longer
	 * fit the uplink are refused with "fragmentation needed" (DF) */
	r->bpf_headroom = ILA_BPF_V4_ENCAP_LEN;
	if (kernel_route_lookup(d->kernel, AF_INET, &r->dst, &r->oif, &r->gateway) < 0 ||
	    r->oif <= 0) {
		/* misses then leave by the uplink, on-link */
		memset(&r->gateway, 0, sizeof(r->gateway));
		r->oif = r6->oif;
	}
	rc = source_toward(&r6->dst.v6, &src);
	if (rc == 0)
		rc = kbpf_v4prefix_set(b->k, &r->dst.v4, r->dst_len, vn->id, &src);
	if (rc < 0) {
		snprintf(err, errlen, "dataplane bpf: vn %s: its ipv4-prefix: %s", vn->name,
			 strerror(-rc));
		return rc;
	}
	inet_ntop(AF_INET6, &src, buf, sizeof(buf));
	log_info("dataplane bpf: vn %s: IPv4 goes inside IPv6 from %s", vn->name, buf);
	return 0;
}

struct route_err {
	int err;
	char msg[KERNEL_ERRMSG_LEN + KROUTE_STRLEN];
};

static void route_refused(void *arg, size_t index, const struct kroute *r, bool del, int err,
			  const char *msg)
{
	struct route_err *re = arg;
	char buf[KROUTE_STRLEN];

	(void)index;
	(void)del;
	if (re->err)
		return;
	re->err = err;
	snprintf(re->msg, sizeof(re->msg), "%s: %s%s%s", kroute_format(r, buf, sizeof(buf)),
		 strerror(-err), msg && *msg ? ": " : "", msg ? msg : "");
}

static void miss_one(uint32_t vn, const struct in6_addr *addr, void *arg)
{
	ondemand_miss(arg, vn, addr);
}

/* cache on-demand: the ring buffer has miss events; each goes to
 * ondemand.c, and the misses gathered leave after ONDEMAND_BATCH_MS. */
static void miss_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ilad_bpf *b = w->data;
	int n;

	(void)loop;
	(void)revents;
	n = kbpf_miss_drain(b->k, miss_one, b->d);
	if (n < 0)
		log_warn("dataplane bpf: reading miss events: %s", strerror(-n));
}

/* An earlier ilad's SIR prefix routes (of our protocol, carrying a BPF
 * program): found by a dump, marked in b->stale and b->stale4. */
static int find_stale(void *arg, const struct kroute *r)
{
	struct ilad *d = arg;
	struct ilad_bpf *b = d->bpf;

	if (r->kind != KROUTE_BPF)
		return 0;
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		if (r->family == AF_INET6 && r->dst_len == 64 &&
		    memcmp(&r->dst.v6, &b->routes[i].dst.v6, sizeof(r->dst.v6)) == 0)
			b->stale[i] = true;
		if (r->family == AF_INET && b->routes4[i].family == AF_INET &&
		    r->dst_len == b->routes4[i].dst_len &&
		    r->dst.v4.s_addr == b->routes4[i].dst.v4.s_addr)
			b->stale4[i] = true;
	}
	return 0;
}

/* Whether an earlier ilad's data path is still there: a prefix route or an
 * ila_in filter on one of the uplinks. */
static bool earlier_datapath(struct ilad *d, struct ilad_bpf *b)
{
	bool any = false;
	int rc;

	rc = kernel_route_dump(d->kernel, AF_INET6, KERNEL_TABLE_MAIN, find_stale, d);
	if (rc >= 0)
		rc = kernel_route_dump(d->kernel, AF_INET, KERNEL_TABLE_MAIN, find_stale, d);
	if (rc < 0)
		log_warn("dataplane bpf: looking for an earlier ilad's prefix routes: %s",
			 strerror(-rc));
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		any = any || b->stale[i] || b->stale4[i];
	for (unsigned i = 0; i < b->n_uplinks; i++) {
		char name[IF_NAMESIZE] = "?";

		rc = kernel_tc_count(d->kernel, b->uplinks[i], "ila_in:");
		if (rc < 0) {
			if_indextoname((unsigned)b->uplinks[i], name);
			log_warn("dataplane bpf: looking for earlier ila_in filters on %s: %s", name,
				 strerror(-rc));
		}
		any = any || rc > 0;
	}
	return any;
}

/* ila_in on the uplinks, then the prefix routes in one batch (a replace is
 * atomic: an earlier ilad's route carries its ila_out until then). */
static int install(struct ilad *d, struct ilad_bpf *b, char *err, size_t errlen)
{
	struct route_err re = { 0 };
	char buf[KROUTE_STRLEN];
	int rc;

	if ((rc = attach_uplinks(d, b, err, errlen)) < 0)
		return rc;
	kernel_batch_begin(d->kernel);
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		const struct ila_conf_vn *vn = &d->conf->vns[i];

		kernel_route_replace(d->kernel, &b->routes[i]);
		log_info("dataplane bpf: vn %s: %s", vn->name,
			 kroute_format(&b->routes[i], buf, sizeof(buf)));
		if (vn->ipv4_prefix.family != AF_INET)
			continue;
		kernel_route_replace(d->kernel, &b->routes4[i]);
		log_info("dataplane bpf: vn %s: %s", vn->name,
			 kroute_format(&b->routes4[i], buf, sizeof(buf)));
	}
	rc = kernel_batch_commit(d->kernel, route_refused, &re);
	if (rc < 0 || re.err) {
		snprintf(err, errlen, "dataplane bpf: installing the SIR prefix routes: %s",
			 rc < 0 ? strerror(-rc) : re.msg);
		return rc < 0 ? rc : re.err;
	}
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		b->installed[i] = true;
		b->installed4[i] = d->conf->vns[i].ipv4_prefix.family == AF_INET;
		b->stale[i] = b->stale4[i] = false;
	}
	d->stats.netlink_batches++;
	return 0;
}

/* What is left at the end. ours: the routes this ilad installed and its
 * filters; earlier: an earlier ilad's routes not replaced yet, and every
 * ila_in filter on the uplinks (the clsact too when nothing else is on it).
 * What is not removed stays in the kernel, holding its programs and maps. */
static void release(struct ilad *d, bool ours, bool earlier)
{
	struct ilad_bpf *b = d->bpf;

	if (b->d)
		ev_io_stop(d->loop, &b->miss_w);
	kernel_batch_begin(d->kernel);
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		if ((ours && b->installed[i]) || (earlier && b->stale[i]))
			kernel_route_delete(d->kernel, &b->routes[i]);
		if ((ours && b->installed4[i]) || (earlier && b->stale4[i]))
			kernel_route_delete(d->kernel, &b->routes4[i]);
	}
	if (kernel_batch_count(d->kernel))
		kernel_batch_commit(d->kernel, NULL, NULL);
	if (earlier) {
		for (unsigned i = 0; i < b->n_uplinks; i++)
			(void)kernel_tc_purge(d->kernel, b->uplinks[i], "ila_in:", NULL);
		kbpf_tc_forget(b->k); /* purged already */
	} else if (!ours) {
		kbpf_tc_forget(b->k); /* left in place */
	}
	kbpf_close(b->k); /* the tc filters it still knows, and the clsact qdiscs it created */
	free(b);
	d->bpf = NULL;
	d->bpf_ops = NULL;
}

int bpfpath_open(struct ilad *d, char *err, size_t errlen)
{
	struct ilad_bpf *b = calloc(1, sizeof(*b));
	struct kbpf_opts o = { .max_mappings = d->conf->bpf_max_mappings };
	int rc;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = kbpf_open(&o, &b->k);
	if (rc < 0) {
		snprintf(err, errlen,
			 "dataplane bpf: loading the BPF programs: %s (needs CAP_BPF and "
			 "CAP_NET_ADMIN, and a kernel with BPF; see doc/bpf.md)",
			 strerror(-rc));
		free(b);
		return rc;
	}
	d->bpf = b;
	d->bpf_ops = &bpf_ops;
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		const struct ila_conf_vn *vn = &d->conf->vns[i];
		const struct ila_locator *loc = ilad_locator_for(d, vn->id);
		struct kroute *r = &b->routes[i];
		char p[ILA_LOCATOR_STRLEN];

		ila_locator_format(&vn->sir_prefix.loc, p, sizeof(p));
		memset(r, 0, sizeof(*r));
		r->family = AF_INET6;
		r->kind = KROUTE_BPF;
		r->hook_type = KROUTE_HOOK_UNSET;
		prefix_addr(vn, &r->dst);
		r->dst_len = 64;
		r->bpf_fd = kbpf_out_fd(b->k);
		/* packets without a mapping go on where the prefix leads without
		 * us (toward a router with the full table); the lookup finds our
		 * own route after a restart, with the same next hop */
		rc = kernel_route_lookup(d->kernel, AF_INET6, &r->dst, &r->oif, &r->gateway);
		if (rc < 0 || r->oif <= 0) {
			snprintf(err, errlen,
				 "dataplane bpf: vn %s: no route toward its SIR prefix %s::/64 (the "
				 "fabric): %s", vn->name, p, strerror(rc < 0 ? -rc : ENETUNREACH));
			goto fail;
		}
		rc = kbpf_prefix_set(b->k, &r->dst.v6, 64, vn->id, d->conf->csum_mode);
		if (rc == 0 && loc)
			rc = kbpf_locator_set(b->k, loc, &vn->sir_prefix, d->conf->csum_mode);
		if (rc < 0) {
			snprintf(err, errlen, "dataplane bpf: vn %s: filling the maps: %s", vn->name,
				 strerror(-rc));
			goto fail;
		}
		if ((rc = add_uplink(b, r->oif, err, errlen)) < 0)
			goto fail;
		if (vn->ipv4_prefix.family == AF_INET &&
		    (rc = open_v4(d, b, vn, r, &b->routes4[i], err, errlen)) < 0)
			goto fail;
	}
	if (earlier_datapath(d, b)) {
		/* an earlier ilad's programs still translate with its last
		 * state; this one's ila_map is empty until the mapper's
		 * snapshots: they go on until then (doc/bpf.md) */
		b->pending = true;
		log_notice("dataplane bpf: an earlier ilad's prefix routes or ila_in filters are "
			   "there: they keep translating until the cache is in sync, then this "
			   "ilad's programs replace them");
	} else if ((rc = install(d, b, err, errlen)) < 0) {
		goto fail;
	}
	if (d->conf->cache == ILA_CONF_CACHE_ON_DEMAND) {
		b->d = d;
		ev_io_init(&b->miss_w, miss_cb, kbpf_miss_fd(b->k), EV_READ);
		b->miss_w.data = b;
		ev_io_start(d->loop, &b->miss_w);
	}
	return 0;
fail:
	release(d, true, false);
	return rc < 0 ? rc : -EINVAL;
}

void bpfpath_close(struct ilad *d, bool flush)
{
	if (!d->bpf)
		return;
	if (!flush && d->bpf->pending)
		log_notice("dataplane bpf: the earlier ilad's prefix routes and ila_in filters stay");
	else if (!flush)
		log_notice("dataplane bpf: the prefix routes and ila_in filters stay, translating "
			   "with the last state, until the next ilad takes them over");
	release(d, flush, flush);
}

/* Takes over from an earlier ilad's data path once ila_map holds what the
 * cache holds: dispatch.c calls it when mc_all_synced() (every vn in sync
 * or refused; with cache on-demand, the session up, misses being asked
 * from then on), after the flush that wrote ila_map. */
static void bpfpath_synced(struct ilad *d)
{
	struct ilad_bpf *b = d->bpf;
	char err[256];

	if (!b->pending)
		return;
	b->pending = false;
	if (install(d, b, err, sizeof(err)) < 0) {
		/* the earlier ila_in filters stay where ours did not go */
		log_err("%s", err);
		d->stats.bpf_failures++;
		return;
	}
	log_notice("dataplane bpf: the cache is in sync: this ilad's programs took over");
}

static int bpfpath_apply(struct ilad *d, const struct bpfpath_op *ops, size_t n)
{
	struct kbpf_mapping *set = calloc(n ? n : 1, sizeof(*set));
	struct kbpf_mapping *del = calloc(n ? n : 1, sizeof(*del));
	size_t ns = 0, nd = 0, done = 0;
	int rc = 0, rc2 = 0;

	if (!set || !del) {
		free(set);
		free(del);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct kbpf_mapping *m = ops[i].del ? &del[nd++] : &set[ns++];

		m->vn = ops[i].vn;
		m->addr = ops[i].addr;
		m->loc = ops[i].loc;
		m->state = ops[i].down ? KBPF_DOWN : KBPF_UP;
	}
	if (ns)
		rc = kbpf_mapping_set_batch(d->bpf->k, set, ns, &done);
	if (nd)
		rc2 = kbpf_mapping_del_batch(d->bpf->k, del, nd, NULL);
	free(set);
	free(del);
	return rc < 0 ? rc : rc2;
}

static int bpfpath_counters(struct ilad *d, uint32_t vn, const struct in6_addr *a,
			    uint64_t *packets, uint64_t *bytes)
{
	struct kbpf_counters c;
	int rc = kbpf_mapping_counters(d->bpf->k, vn, a, &c);

	*packets = c.packets;
	*bytes = c.bytes;
	return rc;
}

static int bpfpath_global(struct ilad *d, uint64_t out[BPFPATH_COUNTERS])
{
	return kbpf_global_counters(d->bpf->k, out);
}

static unsigned bpfpath_uplinks(const struct ilad *d, int *out, unsigned max)
{
	unsigned n = 0;

	for (; d->bpf && n < d->bpf->n_uplinks && n < max; n++)
		out[n] = d->bpf->uplinks[n];
	return n;
}

static const struct bpfpath_ops bpf_ops = {
	.apply = bpfpath_apply,
	.counters = bpfpath_counters,
	.global = bpfpath_global,
	.uplinks = bpfpath_uplinks,
	.synced = bpfpath_synced,
};

#else /* !HAVE_BPF */

bool bpfpath_built(void)
{
	return false;
}

int bpfpath_open(struct ilad *d, char *err, size_t errlen)
{
	(void)d;
	snprintf(err, errlen, "dataplane bpf: this ilad was built without the BPF data path");
	return -ENOTSUP;
}

void bpfpath_close(struct ilad *d, bool flush)
{
	(void)d;
	(void)flush;
}

#endif
