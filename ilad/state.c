/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ilad/state.c: lookups in the daemon's configuration and tables: vns,
 * locators, mapping keys, local workloads; the clock. */
#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "ilad.h"

uint64_t ilad_now_ms(void)
{
	return ila_clock_mono_ms();
}

const struct ila_conf_vn *ilad_vn(const struct ilad *d, uint32_t id)
{
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		if (d->conf->vns[i].id == id)
			return &d->conf->vns[i];
	return NULL;
}

static bool v4_in(const struct ila_conf_prefix *p, const struct in_addr *a)
{
	uint32_t mask = p->len ? htonl(~0u << (32 - p->len)) : 0;

	return p->family == AF_INET && (a->s_addr & mask) == (p->addr.v4.s_addr & mask);
}

const struct ila_conf_vn *ilad_vn_of(const struct ilad *d, int family, const union kaddr *a)
{
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		const struct ila_conf_vn *vn = &d->conf->vns[i];

		if (family == AF_INET6 ? ila_sir_prefix_contains(&vn->sir_prefix, &a->v6)
				       : v4_in(&vn->ipv4_prefix, &a->v4))
			return vn;
	}
	return NULL;
}

/* The kernel translates by locator alone, so each vn has its own locator
 * (ila_conf_vn_locator: the vn's position in the file picks it). */
const struct ila_locator *ilad_locator_for(const struct ilad *d, uint32_t vn)
{
	const struct ila_conf *c = d->conf;

	for (unsigned i = 0; i < c->n_vns; i++) {
		if (c->vns[i].id == vn) {
			int li = ila_conf_vn_locator(c, i);

			return li < 0 ? NULL : &c->locators[li];
		}
	}
	return NULL;
}

bool ilad_is_my_locator(const struct ilad *d, const struct ila_locator *l)
{
	for (unsigned i = 0; i < d->conf->n_locators; i++)
		if (ila_locator_equal(&d->conf->locators[i], l))
			return true;
	return false;
}

void ilad_key_of_record(const struct ila_record *r, struct ilad_key *k)
{
	memset(k, 0, sizeof(*k));
	k->vn = r->vn;
	k->family = (uint8_t)r->family;
	if (r->family == AF_INET)
		k->addr.v4 = r->addr4;
	else
		k->addr.v6 = r->addr6;
}

void ilad_key_to_record(const struct ilad_key *k, struct ila_record *r)
{
	r->vn = k->vn;
	r->family = k->family;
	if (k->family == AF_INET)
		r->addr4 = k->addr.v4;
	else
		r->addr6 = k->addr.v6;
}

const char *ilad_key_addr(const struct ilad_key *k, char *buf, size_t len)
{
	return inet_ntop(k->family, &k->addr, buf, (socklen_t)len);
}

struct local *local_get(struct ilad *d, const struct ilad_key *k)
{
	void *v = NULL;

	return lh_table_lookup_ex(d->locals, k, &v) ? v : NULL;
}

struct local *local_new(struct ilad *d, const struct ilad_key *k)
{
	struct local *l = local_get(d, k);

	if (l)
		return l;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->key = *k;
	l->state = LOCAL_NEW;
	l->since_ms = ilad_now_ms();
	if (lh_table_insert(d->locals, &l->key, l) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void local_adopt(struct ilad *d, const struct ilad_key *k, int ifindex)
{
	struct local *l = local_new(d, k);
	char a[INET6_ADDRSTRLEN];

	if (!l)
		return;
	l->state = LOCAL_ATTACHED;
	l->ifindex = ifindex;
	/* its sequence number is unknown until the mapper's view arrives */
	l->resync = RESYNC_ADOPTED;
	l->seq = 0;
	if (!if_indextoname((unsigned)ifindex, l->ifname))
		l->ifname[0] = '\0';
	log_info("found %s attached on %s from before the restart", ilad_key_addr(k, a, sizeof(a)),
		 l->ifname);
}

const char *ilad_vn_name(const struct ilad *d, uint32_t id)
{
	const struct ila_conf_vn *vn = ilad_vn(d, id);

	return vn ? vn->name : "?";
}
