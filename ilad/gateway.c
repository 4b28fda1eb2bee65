/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The anycast gateway (vn NAME gateway ADDRESS [ADDRESS4] mac MAC, man
 * ilad.conf.5): every workload interface of the vn, on every node, gets the
 * same MAC and the same gateway addresses, so that a workload's route and
 * neighbour entry for its default gateway stay valid wherever it runs.
 *
 * The interfaces are the vn's `interface` devices and those an attach or
 * prepare names with dev. Each is given the gateway when it appears (a
 * hypervisor plugs a moved VM's link in), when it comes up (the kernel drops
 * a link's IPv6 addresses when it goes down) and at ilad's start; one that
 * disappears (moved away, or deleted) is waited for. What is set stays at
 * exit: workloads keep their gateway while ilad restarts.
 */
#include "config.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ilad.h"

#define GW_MAX_DEVS 1024 /* interfaces tracked, `interface` and dev of attach together */

/* fe80::/64 with the modified EUI-64 interface identifier of mac (RFC 4291). */
static void eui64_link_local(const uint8_t mac[6], union kaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->b[0] = 0xfe;
	a->b[1] = 0x80;
	a->b[8] = mac[0] ^ 0x02;
	a->b[9] = mac[1];
	a->b[10] = mac[2];
	a->b[11] = 0xff;
	a->b[12] = 0xfe;
	a->b[13] = mac[3];
	a->b[14] = mac[4];
	a->b[15] = mac[5];
}

/* The interface's one link-local address: the gateway's when it is
 * link-local, else the one the gateway MAC gives (the same on every node). */
void gateway_link_local(const struct ila_conf_vn *vn, union kaddr *a)
{
	if (IN6_IS_ADDR_LINKLOCAL(&vn->gw6)) {
		memset(a, 0, sizeof(*a));
		a->v6 = vn->gw6;
	} else {
		eui64_link_local(vn->gw_mac, a);
	}
}

struct ll_sweep {
	struct ilad *d;
	union kaddr keep;
	int err;
};

/* Another link-local address (the kernel's, from the link's MAC before this
 * one, or from a gateway configured before) would answer for the node with
 * a per-node address: it goes. */
static void ll_sweep_cb(void *arg, const struct kaddr_entry *a)
{
	struct ll_sweep *s = arg;
	int rc;

	if (a->family != AF_INET6 || !IN6_IS_ADDR_LINKLOCAL(&a->addr.v6) ||
	    memcmp(&a->addr, &s->keep, sizeof(a->addr)) == 0)
		return;
	rc = kernel_addr_del(s->d->kernel, a);
	if (rc < 0 && rc != -EADDRNOTAVAIL && !s->err)
		s->err = rc;
}

static void gw_fail(struct ilad *d, struct gw_dev *g, const char *what, int rc)
{
	const struct ila_conf_vn *vn = ilad_vn(d, g->vn);

	g->err = rc;
	snprintf(g->errmsg, sizeof(g->errmsg), "%s: %s", what, strerror(-rc));
	d->stats.gateway_errors++;
	log_err("vn %s gateway on %s: %s", vn ? vn->name : "?", g->name, g->errmsg);
}

/* Gives g (present as l) the vn's MAC, link-local address and gateway addresses. */
static void gw_apply(struct ilad *d, struct gw_dev *g, const struct klink *l)
{
	const struct ila_conf_vn *vn = ilad_vn(d, g->vn);
	struct ll_sweep s = { .d = d };
	struct kaddr_entry a = { .family = AF_INET6, .ifindex = l->ifindex };
	const char *what;
	int rc = 0;

	if (!vn || !vn->gateway)
		return;
	g->err = 0;
	g->errmsg[0] = '\0';
	what = "setting the MAC";
	if (l->mac_len != 6 || memcmp(l->mac, vn->gw_mac, 6) != 0)
		rc = kernel_link_set_mac(d->kernel, l->ifindex, vn->gw_mac);
	if (rc < 0)
		goto fail;
	what = "IPv6 addrgenmode none";
	if (l->addr_gen_mode != IN6_ADDR_GEN_MODE_NONE)
		rc = kernel_link_addr_gen_none(d->kernel, l->ifindex);
	if (rc < 0)
		goto fail;
	what = "removing the other link-local addresses";
	gateway_link_local(vn, &s.keep);
	rc = kernel_addr_dump(d->kernel, AF_INET6, l->ifindex, ll_sweep_cb, &s);
	if (rc < 0 || (rc = s.err) < 0)
		goto fail;
	what = "adding the link-local address";
	a.addr = s.keep;
	a.plen = 64;
	a.scope = RT_SCOPE_LINK;
	if ((rc = kernel_addr_add(d->kernel, &a)) < 0)
		goto fail;
	what = "adding the IPv6 gateway address";
	if (!IN6_IS_ADDR_LINKLOCAL(&vn->gw6)) {
		a.addr.v6 = vn->gw6;
		a.plen = 128;
		a.scope = RT_SCOPE_UNIVERSE;
		if ((rc = kernel_addr_add(d->kernel, &a)) < 0)
			goto fail;
	}
	what = "adding the IPv4 gateway address";
	if (vn->gw4.s_addr) {
		memset(&a.addr, 0, sizeof(a.addr));
		a.family = AF_INET;
		a.addr.v4 = vn->gw4;
		a.plen = 32;
		a.scope = RT_SCOPE_LINK;
		if ((rc = kernel_addr_add(d->kernel, &a)) < 0)
			goto fail;
	}
	g->applied++;
	g->applied_ms = ilad_now_ms();
	d->stats.gateway_applied++;
	log_info("vn %s gateway on %s (ifindex %d%s): MAC and addresses set", vn->name, g->name,
		 l->ifindex, l->up ? "" : ", down");
	return;
fail:
	gw_fail(d, g, what, rc);
}

/* Reads g's link now: applies when present. */
static void gw_check(struct ilad *d, struct gw_dev *g)
{
	struct klink l;
	int ifindex = (int)if_nametoindex(g->name);

	if (ifindex <= 0 || kernel_link_get(d->kernel, ifindex, &l) < 0) {
		g->ifindex = 0;
		g->up = false;
		return;
	}
	g->ifindex = l.ifindex;
	g->up = l.up;
	gw_apply(d, g, &l);
}

static struct gw_dev *gw_find(struct ilad *d, const char *name)
{
	for (size_t i = 0; i < d->n_gw; i++)
		if (strcmp(d->gw[i].name, name) == 0)
			return &d->gw[i];
	return NULL;
}

static struct gw_dev *gw_add(struct ilad *d, uint32_t vn, const char *name, bool attach)
{
	struct gw_dev *g;

	if (d->n_gw == GW_MAX_DEVS)
		return NULL;
	if (d->n_gw == d->cap_gw) {
		size_t ncap = d->cap_gw ? d->cap_gw * 2 : 16;
		struct gw_dev *n = realloc(d->gw, ncap * sizeof(*n));

		if (!n)
			return NULL;
		d->gw = n;
		d->cap_gw = ncap;
	}
	g = &d->gw[d->n_gw++];
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->vn = vn;
	g->attach = attach;
	return g;
}

static void link_event(void *arg, const struct klink *l)
{
	struct ilad *d = arg;
	struct gw_dev *g;

	/* a renamed link is no longer the interface of its old name */
	for (size_t i = 0; i < d->n_gw; i++) {
		g = &d->gw[i];
		if (g->ifindex == l->ifindex && strcmp(g->name, l->name) != 0) {
			g->ifindex = 0;
			g->up = false;
		}
	}
	g = gw_find(d, l->name);
	if (!g)
		return;
	if (l->deleted) {
		if (g->ifindex == l->ifindex) {
			log_info("vn %s gateway: %s is gone (moved away or deleted)",
				 ilad_vn_name(d, g->vn), g->name);
			g->ifindex = 0;
			g->up = false;
		}
		return;
	}
	bool appeared = g->ifindex != l->ifindex, came_up = l->up && !g->up;

	g->ifindex = l->ifindex;
	g->up = l->up;
	/* our own changes come back as events of a link already seen, in
	 * the same state: only an appearance or a link coming up applies */
	if (appeared || came_up)
		gw_apply(d, g, l);
	if (l->up && (appeared || came_up)) {
		/* local.c delivers on it the workloads waiting for it (the
		 * kernel takes no route through a link that is down) */
		struct ilad_ev ev = { .type = ILAD_EV_DEV_APPEARED, .vn = g->vn,
				      .ifindex = l->ifindex };

		snprintf(ev.name, sizeof(ev.name), "%s", l->name);
		ilad_post(d, &ev);
	}
}

static void link_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ilad *d = w->data;

	(void)loop;
	(void)revents;
	if (kernel_link_read(d->link_fd, link_event, d) == -ENOBUFS) {
		/* events were lost: every interface is read again */
		log_warn("link events lost (socket overflow): reading the gateway interfaces again");
		for (size_t i = 0; i < d->n_gw; i++)
			gw_check(d, &d->gw[i]);
	}
}

int gateway_init(struct ilad *d, char *err, size_t errlen)
{
	bool any = false;

	d->link_fd = -1;
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		any = any || d->conf->vns[i].gateway;
	if (!any)
		return 0;
	if (!d->kernel) {
		log_notice("mode %s: the vns' gateways are not set (ilad programs nothing)",
			   ila_conf_mode_name(d->conf->mode));
		return 0;
	}
	d->link_fd = kernel_link_open(err, errlen);
	if (d->link_fd < 0)
		return d->link_fd;
	ev_io_init(&d->link_io, link_io_cb, d->link_fd, EV_READ);
	d->link_io.data = d;
	ev_io_start(d->loop, &d->link_io);
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		const struct ila_conf_vn *vn = &d->conf->vns[i];

		for (unsigned j = 0; vn->gateway && j < vn->n_interfaces; j++) {
			struct gw_dev *g = gw_add(d, vn->id, vn->interfaces[j], false);

			if (!g) {
				snprintf(err, errlen, "vn %s gateway: out of memory", vn->name);
				return -ENOMEM;
			}
			gw_check(d, g);
		}
	}
	return 0;
}

void gateway_dev(struct ilad *d, uint32_t vn_id, const char *ifname)
{
	const struct ila_conf_vn *vn = ilad_vn(d, vn_id);
	struct gw_dev *g;

	if (!vn || !vn->gateway || d->link_fd < 0 || !ifname || !*ifname)
		return;
	g = gw_find(d, ifname);
	if (g) {
		if (g->vn != vn_id) {
			d->stats.gateway_errors++;
			log_err("vn %s gateway: %s already serves vn %s: left as it is", vn->name,
				ifname, ilad_vn_name(d, g->vn));
		}
		return;
	}
	g = gw_add(d, vn_id, ifname, true);
	if (!g) {
		d->stats.gateway_errors++;
		log_err("vn %s gateway on %s: more than %d interfaces, or out of memory: not set",
			vn->name, ifname, GW_MAX_DEVS);
		return;
	}
	gw_check(d, g);
}

void gateway_free(struct ilad *d)
{
	/* the gateway stays on the interfaces: workloads keep it */
	if (d->link_fd >= 0) {
		ev_io_stop(d->loop, &d->link_io);
		close(d->link_fd);
		d->link_fd = -1;
	}
	free(d->gw);
	d->gw = NULL;
	d->n_gw = d->cap_gw = 0;
}
