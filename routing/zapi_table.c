/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The desired set: the routes the client announces to zebra (kept for the replay), and its API. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/linkhash.h>

#include "zapi_client_priv.h"

#define ZAPI_TABLE_SIZE 256

static bool nh_has_ifindex(enum zroute_nh nh)
{
	return nh == ZNH_IFINDEX || nh == ZNH_IPV6_IFINDEX || nh == ZNH_IPV4_IFINDEX;
}

static unsigned long key_hash(const void *k)
{
	const uint8_t *p = k;
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < sizeof(struct zkey); i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return (unsigned long)h;
}

static int key_equal(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct zkey)) == 0;
}

static void entry_free(struct lh_entry *e)
{
	free(lh_entry_v(e));
}

/* Fills k from a prefix, clearing host bits. -EINVAL for a bad one. */
int ztable_key(struct zkey *k, int family, const void *prefix, uint8_t plen)
{
	size_t alen = addr_len(family);

	memset(k, 0, sizeof(*k));
	if (!alen || plen > alen * 8)
		return -EINVAL;
	k->family = (uint8_t)family;
	k->plen = plen;
	memcpy(k->addr, prefix, alen);
	for (size_t i = 0; i < alen; i++) {
		if (i * 8 >= plen)
			k->addr[i] = 0;
		else if (i * 8 + 8 > plen)
			k->addr[i] &= (uint8_t)(0xff << (8 - (plen - i * 8)));
	}
	return 0;
}

struct lh_table *ztable_new(void)
{
	return lh_table_new(ZAPI_TABLE_SIZE, entry_free, key_hash, key_equal);
}

static bool zroute_equal(const struct zroute *a, const struct zroute *b)
{
	return a->family == b->family && a->plen == b->plen && a->nh == b->nh &&
	       memcmp(&a->prefix, &b->prefix, sizeof(a->prefix)) == 0 &&
	       memcmp(&a->gate, &b->gate, sizeof(a->gate)) == 0 &&
	       a->ifindex == b->ifindex && a->distance == b->distance && a->metric == b->metric;
}

int zapi_route_set(struct zapi *z, const struct zroute *r)
{
	struct zroute c;
	struct zentry *e;
	struct zkey k;
	void *v;
	int rc;

	if (r->nh < ZNH_BLACKHOLE || r->nh > ZNH_IPV4_IFINDEX ||
	    (nh_has_ifindex(r->nh) && r->ifindex <= 0))
		return -EINVAL;
	rc = ztable_key(&k, r->family, &r->prefix, r->plen);
	if (rc < 0)
		return rc;
	/* The canonical form: what the next hop type does not use is zero,
	 * so that equal routes compare equal. */
	memset(&c, 0, sizeof(c));
	c.family = r->family;
	memcpy(&c.prefix, k.addr, addr_len(r->family));
	c.plen = r->plen;
	c.nh = r->nh;
	if (r->nh == ZNH_IPV6 || r->nh == ZNH_IPV6_IFINDEX)
		c.gate.v6 = r->gate.v6;
	else if (r->nh == ZNH_IPV4 || r->nh == ZNH_IPV4_IFINDEX)
		c.gate.v4 = r->gate.v4;
	c.ifindex = nh_has_ifindex(r->nh) ? r->ifindex : 0;
	c.distance = r->distance;
	c.metric = r->metric;

	if (lh_table_lookup_ex(z->routes, &k, &v)) {
		e = v;
		if (zroute_equal(&e->r, &c))
			return 0;
	} else {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->key = k;
		if (lh_table_insert(z->routes, &e->key, e) < 0) {
			free(e);
			return -ENOMEM;
		}
	}
	e->r = c;
	e->st = ZR_PENDING;
	if (z->state == ZS_UP)
		zconn_queue_route(z, true, &e->r);
	return 0;
}

int zapi_route_unset(struct zapi *z, int family, const void *prefix, uint8_t plen)
{
	struct zentry *e;
	struct zkey k;
	void *v;
	int rc = ztable_key(&k, family, prefix, plen);

	if (rc < 0)
		return rc;
	if (!lh_table_lookup_ex(z->routes, &k, &v))
		return -ENOENT;
	e = v;
	if (z->state == ZS_UP)
		zconn_queue_route(z, false, &e->r);
	lh_table_delete(z->routes, &k);
	return 0;
}

void zapi_set_adopt(struct zapi *z, zapi_adopt_fn fn, void *arg)
{
	z->adopt = fn;
	z->adopt_arg = arg;
}

void zapi_routes(struct zapi *z, zapi_route_fn fn, void *arg)
{
	struct lh_entry *le;

	lh_foreach(z->routes, le) {
		struct zentry *e = lh_entry_v(le);

		fn(arg, &e->r, e->st);
	}
}

size_t zapi_route_count(const struct zapi *z)
{
	return (size_t)lh_table_length(z->routes);
}
