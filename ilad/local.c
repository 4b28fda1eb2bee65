/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ilad.h"

#define WAIT_MS 2000 /* an attach waits this long for the mapper's ACK */

static void local_remove(struct ilad *d, struct local *l)
{
	struct ilad_key k = l->key;

	lh_table_delete(d->locals, &k); /* frees l */
	cache_touch(d, &k);
}

/*
 * The neighbour entry ilad wrote for an incoming address (incoming ...
 * lladdr) goes when that incoming is abandoned, and only while it still has
 * the MAC ilad gave it: another one is someone else's word.
 */
static void incoming_neigh_drop(struct ilad *d, struct local *l)
{
	struct kneigh n = { .family = l->key.family, .ifindex = l->nb_ifindex,
			    .addr = l->key.addr, .lladdr_len = 6 };
	char a[INET6_ADDRSTRLEN];
	int rc;

	if (!l->nb_set)
		return;
	l->nb_set = false;
	memcpy(n.lladdr, l->nb_mac, sizeof(l->nb_mac));
	rc = d->kernel ? kernel_neigh_del(d->kernel, &n) : 0;
	if (rc < 0) {
		d->stats.incoming_neigh_failed++;
		log_warn("%s: removing its neighbour entry: %s", ilad_key_addr(&l->key, a, sizeof(a)),
			 strerror(-rc));
	} else if (rc > 0) {
		log_info("%s: its neighbour entry written by incoming removed",
			 ilad_key_addr(&l->key, a, sizeof(a)));
	}
}

/* Writes the neighbour entry of l's address on nb_ifindex with nb_mac,
 * STALE; 0 or -errno. */
static int incoming_neigh_set(struct ilad *d, const struct local *l)
{
	struct kneigh n = { .family = l->key.family, .ifindex = l->nb_ifindex,
			    .addr = l->key.addr, .state = NUD_STALE, .lladdr_len = 6 };

	memcpy(n.lladdr, l->nb_mac, sizeof(l->nb_mac));
	return d->kernel ? kernel_neigh_set(d->kernel, &n) : 0;
}

/* The entry incoming wrote went, or failed, before the attach: again. */
void local_incoming_neigh_restore(struct ilad *d, struct local *l)
{
	char a[INET6_ADDRSTRLEN];
	int rc = incoming_neigh_set(d, l);

	if (rc < 0) {
		d->stats.incoming_neigh_failed++;
		log_warn("%s: writing its neighbour entry again: %s",
			 ilad_key_addr(&l->key, a, sizeof(a)), strerror(-rc));
		return;
	}
	d->stats.incoming_neigh_restored++;
}

/* Parses an address of a vn this node serves. */
static int parse_key(struct ilad *d, const char *s, struct ilad_key *k, char *err, size_t errlen)
{
	const struct ila_conf_vn *vn;

	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET6, s, &k->addr.v6) == 1) {
		k->family = AF_INET6;
	} else if (inet_pton(AF_INET, s, &k->addr.v4) == 1) {
		k->family = AF_INET;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv6 or IPv4 address", s);
		return -EINVAL;
	}
	vn = ilad_vn_of(d, k->family, &k->addr);
	if (!vn) {
		snprintf(err, errlen, "%s is in no vn this node serves", s);
		return -ENOENT;
	}
	k->vn = vn->id;
	return 0;
}

/* The sequence number a move to this node takes: above every one seen. */
uint64_t local_next_seq(struct ilad *d, const struct local *l)
{
	struct centry *e = cache_get(d, &l->key, false);
	uint64_t seq = l->seq;

	if (e && e->known) {
		if (strcmp(e->rec.node, d->conf->node_name) == 0 && e->rec.seq >= seq)
			return e->rec.seq; /* already ours: a refresh */
		if (e->rec.seq >= seq)
			seq = e->rec.seq;
	}
	return seq + 1;
}

static int default_ifindex(struct ilad *d, uint32_t vn_id, char *name, size_t len)
{
	const struct ila_conf_vn *vn = ilad_vn(d, vn_id);

	for (unsigned i = 0; vn && i < vn->n_interfaces; i++) {
		int ifindex = (int)if_nametoindex(vn->interfaces[i]);

		if (ifindex > 0) {
			snprintf(name, len, "%s", vn->interfaces[i]);
			return ifindex;
		}
	}
	return 0;
}

/* The interface named by dev, else the vn's first existing one (0 if none).
 * -ENODEV with a message when dev names no interface. */
static int resolve_dev(struct ilad *d, uint32_t vn, const char *dev, char *ifname, size_t len,
		       char *err, size_t errlen)
{
	int ifindex;

	if (!dev)
		return default_ifindex(d, vn, ifname, len);
	ifindex = (int)if_nametoindex(dev);
	if (ifindex <= 0) {
		snprintf(err, errlen, "no interface %s", dev);
		return -ENODEV;
	}
	snprintf(ifname, len, "%s", dev);
	return ifindex;
}

/*
 * Returns the xid of the REGISTER sent, or 0 when the registration waits
 * for the vn to be in sync: the sequence number of a move is only right
 * once the mapper's current view of the address is known.
 */
int64_t local_attach_on(struct ilad *d, const struct ilad_key *k, int ifindex,
			const char *ifname)
{
	struct local *l = local_new(d, k);
	char a[INET6_ADDRSTRLEN];
	int64_t xid = 0;

	if (!l)
		return -ENOMEM;
	if (l->state != LOCAL_ATTACHED || l->ifindex != ifindex)
		l->since_ms = ilad_now_ms();
	if (l->state == LOCAL_REFUSED)
		l->last_status = 0;
	l->state = LOCAL_ATTACHED;
	l->ifindex = ifindex;
	snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
	l->registered = false;
	l->failed_since_ms = 0;
	l->handover = false; /* a migration that failed: delivered here again */
	l->incoming = false;
	/* the VM runs: its own neighbour entry takes over from incoming's */
	if (l->nb_ifindex != ifindex)
		incoming_neigh_drop(d, l);
	l->nb_set = false;
	l->resync = mc_vn_synced(d, k->vn) ? RESYNC_NONE : RESYNC_ATTACH;
	/* make before break: local delivery first, then tell the mapper */
	cache_touch(d, k);
	cache_flush(d);
	if (l->resync == RESYNC_NONE) {
		l->seq = local_next_seq(d, l);
		xid = mc_register(d, &l, 1, ILA_MSG_REGISTER);
	} else {
		/* the mapper's answer, or the vn's snapshot, decides the number */
		if (mc_query(d, k->vn, k, 1) > 0)
			l->queried_in = d->stats.mapper_connects;
	}
	log_info("attach %s%s%s, %s%llu", ilad_key_addr(k, a, sizeof(a)), *ifname ? " dev " : "",
		 ifname, l->resync ? "registered once the vn is in sync, seq now " : "seq ",
		 (unsigned long long)l->seq);
	ilad_event(d, "attach", k, *ifname ? ifname : NULL);
	return xid;
}

/* ---- control commands waiting for the mapper's answer ---- */

static void answer_waits(struct ilad *d, const struct ilad_key *k, uint32_t xid, int status,
			 const char *text)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->n_waits; i++) {
		struct ctl_wait *w = &d->waits[i];

		if (w->xid == xid && memcmp(&w->key, k, sizeof(*k)) == 0)
			ila_ctl_answer(d->ctl, w->ticket, status, text);
		else
			d->waits[kept++] = *w;
	}
	d->n_waits = kept;
	if (!kept)
		ev_timer_stop(d->loop, &d->wait_timer);
}

static void wait_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ilad *d = w->data;
	uint64_t now = ilad_now_ms();
	size_t kept = 0;

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < d->n_waits; i++) {
		struct ctl_wait *cw = &d->waits[i];
		char a[INET6_ADDRSTRLEN], text[160];

		if (cw->deadline_ms > now) {
			d->waits[kept++] = *cw;
			continue;
		}
		snprintf(text, sizeof(text), "%s: delivered here; registration pending: %s\n",
			 ilad_key_addr(&cw->key, a, sizeof(a)),
			 !mc_up(d) ? "no mapper session" : cw->xid ? "the mapper has not answered yet"
			 : "waiting for the mapper's view of its vn");
		ila_ctl_answer(d->ctl, cw->ticket, ILA_CLI_SUCCESS, text);
	}
	d->n_waits = kept;
	if (!kept)
		ev_timer_stop(d->loop, &d->wait_timer);
}

int local_wait(struct ilad *d, const struct ilad_key *k, uint32_t xid, char *msg, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	uint64_t ticket;

	if (!mc_up(d)) {
		snprintf(msg, len, "%s: delivered here; registration pending: no mapper session",
			 ilad_key_addr(k, a, sizeof(a)));
		return 0;
	}
	if (d->n_waits == d->cap_waits) {
		size_t ncap = d->cap_waits ? d->cap_waits * 2 : 8;
		struct ctl_wait *n = realloc(d->waits, ncap * sizeof(*n));

		if (!n)
			return 0; /* answered at once, without the mapper's word */
		d->waits = n;
		d->cap_waits = ncap;
	}
	ticket = ila_ctl_defer(d->ctl);
	if (!ticket)
		return 0;
	d->waits[d->n_waits++] = (struct ctl_wait){
		.key = *k, .xid = xid, .ticket = ticket, .deadline_ms = ilad_now_ms() + WAIT_MS,
	};
	if (!ev_is_active(&d->wait_timer)) {
		ev_timer_init(&d->wait_timer, wait_timer_cb, 0.25, 0.25);
		d->wait_timer.data = d;
		ev_timer_start(d->loop, &d->wait_timer);
	}
	return 1;
}

void local_waits_free(struct ilad *d)
{
	if (ev_is_active(&d->wait_timer))
		ev_timer_stop(d->loop, &d->wait_timer);
	free(d->waits);
	d->waits = NULL;
	d->n_waits = d->cap_waits = 0;
}

int local_attach(struct ilad *d, const char *addr, const char *dev, char *err, size_t errlen)
{
	struct ilad_key k;
	char ifname[IF_NAMESIZE] = "";
	int ifindex = 0, rc;

	if ((rc = parse_key(d, addr, &k, err, errlen)) < 0)
		return rc;
	if ((ifindex = resolve_dev(d, k.vn, dev, ifname, sizeof(ifname), err, errlen)) < 0)
		return ifindex;
	if (ifindex <= 0 && d->kernel) {
		snprintf(err, errlen, "%s: no interface: give dev IFNAME or configure "
			 "'vn %s interface IFNAME'", addr, ilad_vn(d, k.vn)->name);
		return -ENODEV;
	}
	if (dev)
		gateway_dev(d, k.vn, ifname);
	int64_t xid = local_attach_on(d, &k, ifindex, ifname);
	if (xid < 0) {
		snprintf(err, errlen, "%s: %s", addr, strerror((int)-xid));
		return (int)xid;
	}
	return local_wait(d, &k, (uint32_t)xid, err, errlen);
}

/* A workload still waiting for the mapper's view has no number yet: its
 * deregistration takes the number of our own record when the cache has it
 * (0 would be refused as stale). */
void local_own_seq(struct ilad *d, struct local *l)
{
	struct centry *e;

	if (!l->resync)
		return;
	e = cache_get(d, &l->key, false);
	if (e && e->known && strcmp(e->rec.node, d->conf->node_name) == 0 && e->rec.seq > l->seq)
		l->seq = e->rec.seq;
}

int local_detach(struct ilad *d, const char *addr, bool down, char *err, size_t errlen)
{
	struct ilad_key k;
	struct local *l;
	int rc;

	if ((rc = parse_key(d, addr, &k, err, errlen)) < 0)
		return rc;
	l = local_get(d, &k);
	if (!l || (l->state != LOCAL_ATTACHED && l->state != LOCAL_PREPARED)) {
		if (l && (l->state == LOCAL_EXPECTED || l->state == LOCAL_REFUSED)) {
			incoming_neigh_drop(d, l); /* refused after its incoming */
			local_remove(d, l);
			cache_flush(d);
			return 0;
		}
		snprintf(err, errlen, "%s is not attached here", addr);
		return -ENOENT;
	}
	incoming_neigh_drop(d, l); /* an incoming abandoned before it attached */
	l->down = down;
	l->standby = l->state == LOCAL_PREPARED;
	local_own_seq(d, l);
	l->state = LOCAL_DETACHED;
	l->registered = false;
	l->resync = RESYNC_NONE;
	cache_touch(d, &k);
	cache_flush(d);
	mc_register(d, &l, 1, ILA_MSG_DEREGISTER);
	log_info("detach %s%s", addr, down ? " down" : "");
	ilad_event(d, "detach", &k, down ? "down" : NULL);
	return 0;
}

int local_prepare(struct ilad *d, const char *addr, const char *dev, char *err, size_t errlen)
{
	struct ilad_key k;
	struct local *l;
	char ifname[IF_NAMESIZE] = "";
	int ifindex, rc;

	if ((rc = parse_key(d, addr, &k, err, errlen)) < 0)
		return rc;
	if ((ifindex = resolve_dev(d, k.vn, dev, ifname, sizeof(ifname), err, errlen)) < 0)
		return ifindex;
	l = local_new(d, &k);
	if (!l)
		return -ENOMEM;
	if (l->state == LOCAL_ATTACHED) {
		snprintf(err, errlen, "%s already runs here", addr);
		return -EEXIST;
	}
	if (dev)
		gateway_dev(d, k.vn, ifname);
	/* where it will be delivered if the mapper promotes this node */
	l->ifindex = ifindex;
	snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
	l->state = LOCAL_PREPARED;
	l->incoming = false;
	l->registered = false;
	l->last_status = 0;
	l->resync = RESYNC_NONE;
	int64_t xid = mc_register(d, &l, 1, ILA_MSG_REGISTER);
	log_info("prepare %s: registering as standby", addr);
	ilad_event(d, "prepare", &k, NULL);
	if (xid < 0) {
		snprintf(err, errlen, "%s: %s", addr, strerror((int)-xid));
		return (int)xid;
	}
	return local_wait(d, &k, (uint32_t)xid, err, errlen);
}

/*
 * Live migration, source: the workload stopped here (its VM paused for the
 * last copy). Its packets go to the standby locator that the destination's
 * prepare announced, at once, through ila_map, instead of into the stopped
 * VM's device until the mapper's push after the destination attaches. The
 * mapping itself does not change: this node stays the owner on the
 * mapper's books (and refreshes) until the destination registers.
 */
int local_handover(struct ilad *d, const char *addr, char *err, size_t errlen)
{
	char loc[ILA_LOCATOR_STRLEN];
	struct ilad_key k;
	struct local *l;
	struct centry *e;
	int rc;

	if ((rc = parse_key(d, addr, &k, err, errlen)) < 0) {
		d->stats.handovers_refused++;
		return rc;
	}
	l = local_get(d, &k);
	e = cache_get(d, &k, false);
	if (!d->bpf_ops) {
		snprintf(err, errlen, "%s: handover needs dataplane bpf", addr);
		rc = -EOPNOTSUPP;
	} else if (!l || l->state != LOCAL_ATTACHED) {
		snprintf(err, errlen, "%s is not attached here", addr);
		rc = -ENOENT;
	} else if (!e || !e->known || !e->rec.has_standby ||
		   strcmp(e->rec.node, d->conf->node_name) != 0 ||
		   ilad_is_my_locator(d, &e->rec.standby)) {
		snprintf(err, errlen, "%s has no standby on another node (prepare it at the "
			 "destination first)", addr);
		rc = -ENXIO;
	}
	if (rc < 0) {
		d->stats.handovers_refused++;
		return rc;
	}
	l->handover = true;
	l->handover_loc = e->rec.standby;
	d->stats.handovers++;
	cache_touch(d, &k);
	cache_flush(d);
	log_info("handover %s: its packets go to the standby locator %s", addr,
		 ila_locator_format(&l->handover_loc, loc, sizeof(loc)));
	ilad_event(d, "handover", &k, loc);
	return 0;
}

/*
 * Live migration, destination: the prepared workload's VM is arriving on
 * dev; what reaches this node for it (from a source that handed it over)
 * is delivered there now, where the device holds it until the VM runs,
 * rather than sent back to the owner. The registration stays a standby's
 * until attach.
 */
int local_incoming(struct ilad *d, const char *addr, const char *dev, const char *lladdr,
		   char *err, size_t errlen)
{
	char ifname[IF_NAMESIZE] = "";
	uint8_t mac[6];
	struct ilad_key k;
	struct local *l;
	int ifindex, rc;

	if ((rc = parse_key(d, addr, &k, err, errlen)) < 0 ||
	    (rc = resolve_dev(d, k.vn, dev, ifname, sizeof(ifname), err, errlen)) < 0) {
		d->stats.incoming_refused++;
		return rc;
	}
	ifindex = rc;
	l = local_get(d, &k);
	if (!l || l->state != LOCAL_PREPARED) {
		snprintf(err, errlen, "%s is not prepared here", addr);
		d->stats.incoming_refused++;
		return -ENOENT;
	}
	if (lladdr && ila_mac_parse(lladdr, mac) < 0) {
		snprintf(err, errlen, "lladdr '%s' is not a MAC address (six hex octets separated "
			 "by ':', as 52:54:00:12:34:56)", lladdr);
		d->stats.incoming_refused++;
		return -EINVAL;
	}
	if (dev)
		gateway_dev(d, k.vn, ifname); /* the VM runs here before its attach */
	if (l->nb_set && l->nb_ifindex != ifindex)
		incoming_neigh_drop(d, l); /* an earlier incoming on another device */
	if (lladdr && d->kernel) { /* mode control-plane writes nothing */
		/* STALE, not permanent: the kernel sends at once what comes for
		 * it (into the device, where it waits while the VM is paused)
		 * and verifies the entry by a unicast probe once the VM runs;
		 * the neighbour events it makes do not attach an incoming
		 * address (neigh_event) */
		l->nb_ifindex = ifindex;
		memcpy(l->nb_mac, mac, sizeof(l->nb_mac));
		rc = incoming_neigh_set(d, l);
		l->nb_set = rc == 0;
		if (rc < 0) {
			snprintf(err, errlen, "%s: neighbour entry lladdr %s on %s: %s", addr, lladdr,
				 ifname, strerror(-rc));
			d->stats.incoming_neigh_failed++;
			d->stats.incoming_refused++;
			return rc;
		}
	}
	l->ifindex = ifindex;
	snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
	l->incoming = true;
	d->stats.incoming++;
	cache_touch(d, &k);
	cache_flush(d);
	log_info("incoming %s dev %s%s%s: delivered here until it attaches", addr, ifname,
		 lladdr ? " lladdr " : "", lladdr ? lladdr : "");
	ilad_event(d, "incoming", &k, ifname);
	return 0;
}

int local_expect(struct ilad *d, const char *addr, char *err, size_t errlen)
{
	struct ilad_key k;
	struct local *l;
	int rc;

	if ((rc = parse_key(d, addr, &k, err, errlen)) < 0)
		return rc;
	l = local_new(d, &k);
	if (!l)
		return -ENOMEM;
	if (l->state == LOCAL_ATTACHED) {
		snprintf(err, errlen, "%s already runs here", addr);
		return -EEXIST;
	}
	if (l->state != LOCAL_PREPARED) {
		l->state = LOCAL_EXPECTED;
		l->last_status = 0;
	}
	return 0;
}

void local_registered(struct ilad *d, const struct ilad_key *k, uint8_t type, uint16_t status,
		      uint32_t xid)
{
	struct local *l = local_get(d, k);
	char a[INET6_ADDRSTRLEN], text[256];

	ilad_key_addr(k, a, sizeof(a));
	if (type == ILA_MSG_REGISTER) {
		if (status)
			snprintf(text, sizeof(text), "%% %s: refused by the mapper: %s (%s); not "
				 "delivered here\n", a, ila_proto_err_name(status),
				 ila_proto_strerror(status));
		else
			snprintf(text, sizeof(text), "%s: registered, seq %llu\n", a,
				 (unsigned long long)(l ? l->seq : 0));
		answer_waits(d, k, xid, status ? ILA_CLI_WARNING : ILA_CLI_SUCCESS, text);
	}
	if (!l)
		return;
	if (type == ILA_MSG_DEREGISTER) {
		l->last_status = status;
		if (l->state == LOCAL_DETACHED) {
			local_remove(d, l);
			cache_flush(d);
		}
		return;
	}
	if (xid != l->reg_xid)
		return; /* answers a registration sent before the latest one */
	if (status == 0) {
		d->stats.registrations_acked++;
		l->last_status = 0;
		l->registered = true;
		return;
	}
	d->stats.registrations_refused++;
	l->last_status = status;
	l->registered = false;
	ilad_event(d, "refused", k, ila_proto_err_name(status));
	if (l->state != LOCAL_ATTACHED && l->state != LOCAL_PREPARED) {
		log_warn("mapper refused %s: %s", a, ila_proto_strerror(status));
		return;
	}
	/* whatever the reason, a refused workload is not served here: its local
	 * delivery and host routes go, and it stays refused, with the reason,
	 * until the operator attaches, prepares or detaches it again */
	log_warn("mapper refused %s: %s: %s", a, ila_proto_strerror(status),
		 l->state == LOCAL_ATTACHED ? "local delivery removed" : "not a standby");
	l->state = LOCAL_REFUSED;
	l->resync = RESYNC_NONE;
	l->failed_since_ms = 0;
	l->since_ms = ilad_now_ms();
	cache_touch(d, k);
	cache_flush(d);
}

void local_unanswered(struct ilad *d, const struct ilad_key *k, uint32_t xid, uint16_t code)
{
	struct local *l = local_get(d, k);
	char a[INET6_ADDRSTRLEN], text[200];

	snprintf(text, sizeof(text), "%s: delivered here; registration pending: the mapper "
		 "answered %s, sent again at the next refresh\n", ilad_key_addr(k, a, sizeof(a)),
		 ila_proto_err_name(code));
	answer_waits(d, k, xid, ILA_CLI_SUCCESS, text);
	if (l && l->reg_xid == xid)
		l->registered = false;
}

void local_promoted(struct ilad *d, const struct ilad_key *k, const struct ila_record *r)
{
	struct local *l = local_get(d, k);
	char a[INET6_ADDRSTRLEN];

	if (l && l->state == LOCAL_ATTACHED && !l->resync && r->seq > l->seq) {
		/* the mapper raised the number of our own mapping (a standby
		 * offer, a freeze): refreshes go on with it */
		l->seq = r->seq;
		return;
	}
	if (!l || (l->state != LOCAL_PREPARED && l->state != LOCAL_EXPECTED))
		return;
	/* the mapper made this node the owner (failover to the standby): deliver
	 * locally from now on */
	l->state = LOCAL_ATTACHED;
	l->seq = r->seq;
	l->registered = true;
	l->since_ms = ilad_now_ms();
	if (l->ifindex <= 0)
		l->ifindex = default_ifindex(d, k->vn, l->ifname, sizeof(l->ifname));
	cache_touch(d, k);
	log_notice("%s: this node took over (seq %llu)%s", ilad_key_addr(k, a, sizeof(a)),
		   (unsigned long long)r->seq,
		   l->ifindex > 0 ? "" : ": no interface to deliver it on");
	ilad_event(d, "promoted", k, NULL);
}

void local_moved_away(struct ilad *d, const struct ilad_key *kp, const struct ila_record *r)
{
	const struct ilad_key key = *kp, *k = &key; /* kp may be the local's own, freed below */
	struct local *l = local_get(d, k);
	char a[INET6_ADDRSTRLEN], loc[ILA_LOCATOR_STRLEN];

	if (!l || l->state != LOCAL_ATTACHED || l->resync == RESYNC_ATTACH)
		return;
	/* it runs elsewhere now: the local route gives way to the ILA route, so
	 * packets still arriving here are re-translated to the new locator */
	d->stats.forwarded_moves++;
	log_info("%s moved to node %s (%s): forwarding what still arrives here",
		 ilad_key_addr(k, a, sizeof(a)), r ? r->node : "-",
		 r ? ila_locator_format(&r->loc, loc, sizeof(loc)) : "-");
	ilad_event(d, "moved-away", k, r ? r->node : NULL);
	local_remove(d, l);
	if (r)
		cache_hold(d, k);
}

void local_lapsed(struct ilad *d, const struct ilad_key *k, const struct ila_record *r)
{
	struct local *l = local_get(d, k);
	char a[INET6_ADDRSTRLEN];

	if (!l || l->state != LOCAL_ATTACHED || l->resync)
		return;
	/* it still runs here: the mapper's copy lapsed (not refreshed in time,
	 * ilad or its session was down); registered again above it */
	if (r && r->seq >= l->seq)
		l->seq = r->seq;
	l->seq++;
	l->registered = false;
	d->stats.lapsed++;
	log_warn("%s: its mapping %s at the mapper while it runs here: registering it again, "
		 "seq %llu", ilad_key_addr(k, a, sizeof(a)), r ? "went down" : "was removed",
		 (unsigned long long)l->seq);
	ilad_event(d, "lapsed", k, r ? "down" : "removed");
	mc_register(d, &l, 1, ILA_MSG_REGISTER);
}

/* A workload interface appeared here, or came back, and is up (gateway.c's
 * link events): the vn's attached workloads with no interface yet (promoted
 * before their link was plugged in), and those that were on an interface
 * of that name, are delivered on it (their routes written again). */
void local_dev_appeared(struct ilad *d, uint32_t vn, int ifindex, const char *ifname)
{
	struct lh_entry *le;
	bool any = false;

	lh_foreach(d->locals, le) {
		struct local *l = lh_entry_v(le);
		char a[INET6_ADDRSTRLEN];

		/* the same ifindex too: the kernel removed the route with the link */
		if (l->key.vn != vn || l->state != LOCAL_ATTACHED ||
		    (l->ifindex > 0 && strcmp(l->ifname, ifname) != 0))
			continue;
		l->ifindex = ifindex;
		snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
		cache_rewrite(d, &l->key);
		any = true;
		log_info("%s: delivered on %s (ifindex %d), which appeared",
			 ilad_key_addr(&l->key, a, sizeof(a)), ifname, ifindex);
	}
	if (any)
		cache_flush(d);
}
