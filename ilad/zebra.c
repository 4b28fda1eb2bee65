/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What ilad announces through FRR's zebra: its locator prefixes (so the
 * fabric routes locators), in the router role the SIR and IPv4 prefixes it
 * serves (blackhole aggregates: the anycast gateways of the vns), and host
 * routes of local workloads: /32 for IPv4 ones always (ILA cannot translate
 * IPv4), /128 for IPv6 ones in host-route mode. A new owner announces before
 * the old one withdraws (make before break), because each node follows its
 * own local state.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "ilad.h"
#include "../routing/zapi.h"

static void zebra_event(void *arg, int event)
{
	struct ilad *d = arg;

	if (event == ZAPI_EV_UP) {
		log_notice("zebra: connected (FRR %s API), %zu routes announced",
			   zapi_profile_name(zapi_stats(d->zapi)->version), zapi_route_count(d->zapi));
		ilad_event(d, "zebra-up", NULL, zapi_profile_name(zapi_stats(d->zapi)->version));
	} else {
		log_warn("zebra: connection lost (%s): retrying", zapi_last_error(d->zapi));
		ilad_event(d, "zebra-down", NULL, zapi_last_error(d->zapi));
	}
}

/* The distance of host routes: below eBGP's 20, so that a node where the
 * workload has just arrived delivers it at once instead of sending it back
 * to the old node while BGP has not converged yet. */
#define HOST_ROUTE_DISTANCE 10

/* The host route of a local workload on ifindex. */
static void host_route(const struct ilad_key *k, int ifindex, struct zroute *r)
{
	memset(r, 0, sizeof(*r));
	r->family = k->family;
	r->plen = k->family == AF_INET6 ? 128 : 32;
	r->nh = ZNH_IFINDEX;
	r->ifindex = ifindex;
	r->distance = HOST_ROUTE_DISTANCE;
	memcpy(&r->prefix, &k->addr, k->family == AF_INET6 ? 16 : 4);
}

static void set_blackhole(struct ilad *d, int family, const void *prefix, uint8_t plen)
{
	struct zroute r = { .family = family, .plen = plen, .nh = ZNH_BLACKHOLE };

	memcpy(&r.prefix, prefix, family == AF_INET6 ? 16 : 4);
	if (zapi_route_set(d->zapi, &r) < 0)
		log_warn("zebra: cannot announce a /%u aggregate", plen);
}

/*
 * A host route zebra holds for ilad's route type when ilad's first session
 * comes up was announced by the ilad that ran before this one (zebra kept it
 * for the graceful-restart stale time) or read back from the kernel by a
 * restarted zebra. Where zebra installs a workload's host route ilad writes
 * no local delivery route of its own, so this is where a restarted ilad
 * finds those workloads, as it finds the others by their local delivery
 * routes (see RESTART in ilad(8)). Once one dump was read to its end,
 * later ones adopt nothing: what ilad let go meanwhile must go.
 */
static bool zebra_adopt(void *arg, const struct zroute *r)
{
	struct ilad *d = arg;
	const struct ila_conf_vn *vn;
	struct ilad_key k;

	if (zapi_stats(d->zapi)->dumps != 0 || r->nh != ZNH_IFINDEX || r->ifindex <= 0 ||
	    r->plen != (r->family == AF_INET6 ? 128 : 32))
		return false;
	memset(&k, 0, sizeof(k));
	k.family = r->family;
	memcpy(&k.addr, &r->prefix, r->family == AF_INET6 ? 16 : 4);
	vn = ilad_vn_of(d, k.family, &k.addr);
	if (!vn)
		return false;
	k.vn = vn->id;
	if (!zebra_announces(d, &k) || local_get(d, &k))
		return false;
	/* adopted now, not from the event queue: another callback of this
	 * loop iteration (a push) would withdraw the route of a workload not
	 * known yet */
	local_adopt(d, &k, r->ifindex);
	zebra_sync(d, &k);
	/* the vn's snapshot may have come already: then it is decided there */
	ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_ADOPTED, .has_key = true, .late = true,
					.key = k, .ifindex = r->ifindex });
	return true;
}

int zebra_init(struct ilad *d, char *err, size_t errlen)
{
	const struct ila_conf *c = d->conf;
	struct zapi_conf zc = {
		.socket = c->zebra_socket[0] ? c->zebra_socket : NULL,
		.version = c->zebra_version,
		.route_type_name = c->zebra_route_type,
		.route_type_num = c->zebra_route_type_num,
		.gr_stale_s = c->zebra_gr_s,
		.tag = c->zebra_tag,
	};
	int rc;

	if (!c->zebra || c->mode == ILA_CONF_MODE_CONTROL_PLANE)
		return 0;
	rc = zapi_open(&d->zapi, d->loop, &zc, zebra_event, d, err, errlen);
	if (rc < 0)
		return rc;
	zapi_set_adopt(d->zapi, zebra_adopt, d);
	for (unsigned i = 0; i < c->n_locators; i++) {
		struct in6_addr p = { 0 };

		memcpy(&p, c->locators[i].b, 8);
		set_blackhole(d, AF_INET6, &p, 64);
	}
	if (c->role == ILA_CONF_ROLE_ROUTER) {
		for (unsigned i = 0; i < c->n_vns; i++) {
			struct in6_addr p = { 0 };

			memcpy(&p, c->vns[i].sir_prefix.loc.b, 8);
			set_blackhole(d, AF_INET6, &p, 64);
			if (c->vns[i].ipv4_prefix.family == AF_INET)
				set_blackhole(d, AF_INET, &c->vns[i].ipv4_prefix.addr.v4,
					      c->vns[i].ipv4_prefix.len);
		}
	}
	/* workloads found attached at start are announced at once */
	struct lh_entry *le;

	lh_foreach(d->locals, le)
		zebra_sync(d, &((struct local *)lh_entry_v(le))->key);
	return 0;
}


bool zebra_announces(const struct ilad *d, const struct ilad_key *k)
{
	/* IPv6 workloads get host routes only where the fabric routes hosts */
	return d->zapi && (k->family == AF_INET || d->conf->mode == ILA_CONF_MODE_HOST_ROUTE);
}

void zebra_sync(struct ilad *d, const struct ilad_key *k)
{
	struct local *l;
	uint8_t plen = k->family == AF_INET6 ? 128 : 32;

	if (!zebra_announces(d, k))
		return;
	l = local_get(d, k);
	if (local_delivered_here(l)) {
		struct zroute r;

		host_route(k, l->ifindex, &r);
		zapi_route_set(d->zapi, &r);
	} else {
		zapi_route_unset(d->zapi, k->family, &k->addr, plen);
	}
}

void zebra_stop(struct ilad *d, bool withdraw)
{
	if (!d->zapi)
		return;
	zapi_close(d->zapi, withdraw);
	d->zapi = NULL;
}
