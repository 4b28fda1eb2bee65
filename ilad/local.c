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
static void incoming_neigh_restore(struct ilad *d, struct local *l)
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
static uint64_t next_seq(struct ilad *d, const struct local *l)
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
static int64_t do_attach(struct ilad *d, const struct ilad_key *k, int ifindex, const char *ifname)
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
		l->seq = next_seq(d, l);
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
	int64_t xid = do_attach(d, &k, ifindex, ifname);
	if (xid < 0) {
		snprintf(err, errlen, "%s: %s", addr, strerror((int)-xid));
		return (int)xid;
	}
	return local_wait(d, &k, (uint32_t)xid, err, errlen);
}

/* A workload still waiting for the mapper's view has no number yet: its
 * deregistration takes the number of our own record when the cache has it
 * (0 would be refused as stale). */
static void own_seq(struct ilad *d, struct local *l)
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
	own_seq(d, l);
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

/*
 * Decides for a workload that waited for the mapper's view of it (view:
 * the mapper's record, NULL when it has none). Returns true when it is to
 * be registered (l->seq set), false when it was let go (l is freed). The
 * rules are in ilad(8) (RESTART) and doc/protocol.md (8.3, "Restart").
 */
static bool resync_one(struct ilad *d, struct local *l, const struct ila_record *view)
{
	char a[INET6_ADDRSTRLEN];
	/* a removed record (a tombstone in a REPLY) only gives the number to beat */
	bool live = view && view->state != ILA_STATE_REMOVED;
	bool mine = live && strcmp(view->node, d->conf->node_name) == 0;
	bool other_up = live && !mine && view->state != ILA_STATE_DOWN;

	ilad_key_addr(&l->key, a, sizeof(a));
	if (l->resync == RESYNC_ATTACH) {
		/* an attach: a move here, above whatever the mapper holds */
		l->seq = next_seq(d, l);
		if (view && view->seq >= l->seq)
			l->seq = view->seq + 1;
	} else if (other_up) {
		/* it moved while ilad was down: the other node has it */
		d->stats.released++;
		log_notice("%s: runs at node %s (seq %llu) since before this start: let go", a,
			   view->node, (unsigned long long)view->seq);
		l->resync = RESYNC_NONE;
		local_moved_away(d, &l->key, view);
		return false;
	} else if (mine && view->state != ILA_STATE_DOWN) {
		/* still ours and up: a refresh, nothing moves */
		l->seq = view->seq;
		d->stats.resumed++;
		log_info("%s: resumed at seq %llu", a, (unsigned long long)l->seq);
	} else {
		/* down (it lapsed, or was taken down) or gone: registered above it */
		l->seq = (view && view->seq > l->seq ? view->seq : l->seq) + 1;
		d->stats.resumed++;
		log_notice("%s: mapping %s: registering it again, seq %llu", a,
			   live ? "down" : "gone", (unsigned long long)l->seq);
	}
	l->resync = RESYNC_NONE;
	l->registered = false;
	return true;
}

/* Registers what resync_one kept; attaches waiting for the view now wait
 * for their ACK. */
static void resync_register(struct ilad *d, struct local **reg, size_t nreg)
{
	mc_register(d, reg, nreg, ILA_MSG_REGISTER);
	for (size_t i = 0; i < d->n_waits; i++) {
		struct local *l = d->waits[i].xid ? NULL : local_get(d, &d->waits[i].key);

		if (l && !l->resync && l->reg_xid)
			d->waits[i].xid = l->reg_xid;
	}
	cache_flush(d);
}

static void local_resync_vn(struct ilad *d, uint32_t vn);
static void neigh_dump(struct ilad *d);

static bool query_out(const struct ilad *d, const struct local *l)
{
	return mc_up(d) && l->queried_in == d->stats.mapper_connects;
}

void local_resync(struct ilad *d, uint32_t vn)
{
	/* neighbours seen while the vn was not in sync are decided now */
	neigh_dump(d);
	local_resync_vn(d, vn);
}

static void local_resync_vn(struct ilad *d, uint32_t vn)
{
	size_t n = (size_t)lh_table_length(d->locals), nreg = 0;
	struct local **reg = calloc(n ? n : 1, sizeof(*reg));
	struct lh_entry *le, *tmp;

	if (!reg)
		return; /* they stay waiting: the next sync tries again */
	lh_foreach_safe(d->locals, le, tmp) {
		struct local *l = lh_entry_v(le);
		struct centry *e;

		if (l->key.vn != vn || !l->resync)
			continue;
		e = cache_get(d, &l->key, false);
		/* a snapshot leaves removed mappings out: the REPLY, which gives
		 * a tombstone's number, decides those */
		if (!(e && e->known) && query_out(d, l))
			continue;
		if (resync_one(d, l, e && e->known ? &e->rec : NULL))
			reg[nreg++] = l;
	}
	resync_register(d, reg, nreg);
	free(reg);
}

void local_answered(struct ilad *d, const struct ilad_key *keys, size_t n,
		    const struct ila_record *recs, size_t nrec, uint16_t error)
{
	struct local **reg = calloc(n ? n : 1, sizeof(*reg));
	size_t nreg = 0;

	if (!reg)
		return;
	for (size_t i = 0; i < n; i++) {
		struct local *l = local_get(d, &keys[i]);
		const struct ila_record *view = NULL;

		if (!l || !l->resync)
			continue; /* decided meanwhile (the snapshot came first) */
		l->queried_in = 0;
		if (error) {
			/* no answer: the vn's snapshot decides, or decided already */
			struct centry *e = cache_get(d, &l->key, false);

			if (!mc_vn_synced(d, l->key.vn))
				continue;
			view = e && e->known ? &e->rec : NULL;
		}
		for (size_t j = 0; j < nrec && !view; j++) {
			struct ilad_key k;

			ilad_key_of_record(&recs[j], &k);
			if (memcmp(&k, &keys[i], sizeof(k)) == 0)
				view = &recs[j];
		}
		if (resync_one(d, l, view))
			reg[nreg++] = l;
	}
	resync_register(d, reg, nreg);
	free(reg);
}

void local_query_waiting(struct ilad *d)
{
	size_t n = (size_t)lh_table_length(d->locals);
	struct ilad_key *keys = calloc(n ? n : 1, sizeof(*keys));
	struct lh_entry *le;

	if (!keys)
		return; /* they wait for the subscription's snapshot */
	for (unsigned v = 0; v < d->conf->n_vns; v++) {
		uint32_t vn = d->conf->vns[v].id;
		size_t k = 0;

		lh_foreach(d->locals, le) {
			struct local *l = lh_entry_v(le);

			if (l->resync && l->key.vn == vn) {
				keys[k++] = l->key;
				l->queried_in = d->stats.mapper_connects;
			}
		}
		if (k && mc_query(d, vn, keys, k) <= 0) {
			lh_foreach(d->locals, le) {
				struct local *l = lh_entry_v(le);

				if (l->key.vn == vn)
					l->queried_in = 0;
			}
		}
	}
	free(keys);
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

/* ---- neighbour events ---- */

static const struct ila_conf_vn *vn_of_ifindex(struct ilad *d, int ifindex)
{
	char name[IF_NAMESIZE];

	if (!if_indextoname((unsigned)ifindex, name))
		return NULL;
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		for (unsigned j = 0; j < d->conf->vns[i].n_interfaces; j++)
			if (strcmp(d->conf->vns[i].interfaces[j], name) == 0)
				return &d->conf->vns[i];
	return NULL;
}

static bool allowed(const struct ila_conf_vn *vn, const struct kneigh *n)
{
	for (unsigned i = 0; i < vn->n_allow; i++) {
		const struct ila_conf_prefix *p = &vn->allow[i];
		const uint8_t *a = n->addr.b, *b = (const uint8_t *)&p->addr;
		unsigned bits = p->len, full = bits / 8;

		if (p->family != n->family)
			continue;
		if (memcmp(a, b, full) != 0)
			continue;
		if (bits % 8 && ((a[full] ^ b[full]) & (0xff << (8 - bits % 8)) & 0xff))
			continue;
		return true;
	}
	return false;
}

#define PROBE_EVERY_MS 1000 /* an entry that went is resolved again at most this often */
#define DUMP_LOST_MS 10000 /* a dump not ended by then is taken as lost */

/* Reads both neighbour tables (one AF_UNSPEC dump); one dump at a time, a
 * request made meanwhile runs once the current one ends. */
static void neigh_dump(struct ilad *d)
{
	uint64_t now = ilad_now_ms();

	if (d->neigh_fd < 0)
		return;
	if (d->neigh_dumping && now - d->neigh_dump_ms < DUMP_LOST_MS) {
		d->neigh_dump_again = true;
		return;
	}
	d->neigh_dump_again = false;
	if (kernel_neigh_request_dump(d->neigh_fd, AF_UNSPEC) < 0) {
		d->neigh_dumping = false;
		d->neigh_dump_again = true; /* the timer tries again */
		return;
	}
	d->stats.neigh_dumps++;
	d->neigh_dumping = true;
	d->neigh_dump_ms = now;
}

/* The workload's neighbour entry failed or went (the kernel's garbage
 * collection removes entries of quiet neighbours): the kernel is asked to
 * resolve it again, and only a neighbour that stays unresolved for
 * attach-grace detaches it. */
static void neigh_lost(struct ilad *d, struct local *l)
{
	uint64_t now = ilad_now_ms();

	if (!l->failed_since_ms)
		l->failed_since_ms = now;
	if (l->probed_ms && now - l->probed_ms < PROBE_EVERY_MS)
		return;
	l->probed_ms = now;
	if (kernel_neigh_probe(d->neigh_fd, l->key.family, l->ifindex, &l->key.addr) == 0)
		d->stats.neigh_probes++;
}

static void neigh_event(void *arg, const struct kneigh *n)
{
	struct ilad *d = arg;
	const struct ila_conf_vn *vn;
	struct ilad_key k = { 0 };
	struct local *l;
	struct centry *e;
	char a[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE] = "";

	if (n->dump_end) {
		d->neigh_dumping = false;
		if (d->neigh_dump_again)
			neigh_dump(d);
		return;
	}
	d->stats.neigh_events++;
	vn = vn_of_ifindex(d, n->ifindex);
	if (!vn)
		return;
	k.vn = vn->id;
	k.family = n->family;
	k.addr = n->addr;
	if (n->family == AF_INET6 && !ila_sir_prefix_contains(&vn->sir_prefix, &n->addr.v6))
		return;
	l = local_get(d, &k);
	if (l && l->state == LOCAL_PREPARED && l->incoming && l->nb_set &&
	    l->nb_ifindex == n->ifindex &&
	    (n->deleted || (n->state & NUD_FAILED))) {
		/* the entry incoming wrote went: the kernel flushes a device's
		 * entries when its carrier changes (QEMU opening a tap), and the
		 * paused VM answers no probe; written again until it attaches */
		incoming_neigh_restore(d, l);
		return;
	}
	if (n->deleted || (n->state & NUD_FAILED)) {
		/* a VM handed over is stopped here on purpose: not a loss */
		if (l && l->state == LOCAL_ATTACHED && !l->handover && l->ifindex == n->ifindex)
			neigh_lost(d, l);
		return;
	}
	if (!(n->state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
		return;
	if (l && l->state == LOCAL_ATTACHED) {
		l->failed_since_ms = 0;
		l->probed_ms = 0;
		return;
	}
	if (l && l->state == LOCAL_REFUSED)
		return; /* the mapper said no: the operator decides, not a neighbour */
	if (l && l->incoming)
		return; /* a VM arriving, not running yet: its attach comes when it runs */
	bool expected = l && (l->state == LOCAL_EXPECTED || l->state == LOCAL_PREPARED);
	if (!expected && !allowed(vn, n))
		return;
	if (!mc_vn_synced(d, vn->id)) {
		/* who owns it is not known yet: the tables are read again once the
		 * vn is in sync (local_resync), and the neighbour decided then */
		d->stats.neigh_unsynced++;
		return;
	}
	e = cache_get(d, &k, false);
	if (!expected && e && e->known && e->rec.state != ILA_STATE_DOWN &&
	    strcmp(e->rec.node, d->conf->node_name) != 0) {
		/* it runs on another node and no move was announced: a spoof, or a
		 * duplicate address; either way it does not move the workload */
		d->stats.spoof_refused++;
		ilad_event(d, "spoof-refused", &k, e->rec.node);
		log_warn("neighbour %s on %s: attached at node %s and not expected here: refused",
			 ilad_key_addr(&k, a, sizeof(a)), vn->name, e->rec.node);
		return;
	}
	if_indextoname((unsigned)n->ifindex, ifname);
	d->stats.auto_attached++;
	(void)do_attach(d, &k, n->ifindex, ifname);
}

static void neigh_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ilad *d = w->data;
	int rc;

	(void)loop;
	(void)revents;
	rc = kernel_neigh_read(d->neigh_fd, neigh_event, d);
	if (rc == -ENOBUFS) {
		/* events were lost, of either family: read both tables again (after
		 * the dump under way, if any, whose entries may predate the loss) */
		d->stats.neigh_overflows++;
		log_warn("neighbour events lost (socket overflow): reading the tables again");
		neigh_dump(d);
	}
}

static void neigh_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ilad *d = w->data;
	uint64_t now = ilad_now_ms(), grace = (uint64_t)d->conf->attach_grace_s * 1000;
	struct lh_entry *le, *tmp;

	(void)loop;
	(void)revents;
	if (d->neigh_dump_again || (d->neigh_dumping && now - d->neigh_dump_ms >= DUMP_LOST_MS))
		neigh_dump(d);
	lh_foreach_safe(d->locals, le, tmp) {
		struct local *l = lh_entry_v(le);
		char a[INET6_ADDRSTRLEN];

		if (l->state != LOCAL_ATTACHED || l->handover || !l->failed_since_ms)
			continue;
		if (now - l->failed_since_ms < grace) {
			neigh_lost(d, l); /* resolved again while it may still answer */
			continue;
		}
		d->stats.auto_detached++;
		log_info("%s: neighbour unresolved for %u s: detaching",
			 ilad_key_addr(&l->key, a, sizeof(a)), d->conf->attach_grace_s);
		own_seq(d, l);
		l->state = LOCAL_DETACHED;
		l->down = false;
		l->standby = false;
		l->resync = RESYNC_NONE;
		cache_touch(d, &l->key);
		mc_register(d, &l, 1, ILA_MSG_DEREGISTER);
	}
	cache_flush(d);
}

int local_init(struct ilad *d, char *err, size_t errlen)
{
	d->neigh_fd = -1;
	if (!d->kernel)
		return 0;
	d->neigh_fd = kernel_neigh_open(err, errlen);
	if (d->neigh_fd < 0)
		return d->neigh_fd;
	ev_io_init(&d->neigh_io, neigh_io_cb, d->neigh_fd, EV_READ);
	d->neigh_io.data = d;
	ev_io_start(d->loop, &d->neigh_io);
	ev_timer_init(&d->neigh_timer, neigh_timer_cb, 1.0, 1.0);
	d->neigh_timer.data = d;
	ev_timer_start(d->loop, &d->neigh_timer);
	/* both tables: workloads already there, and the state of those found
	 * attached from before the start */
	neigh_dump(d);
	return 0;
}

void local_free(struct ilad *d)
{
	local_waits_free(d);
	if (d->neigh_fd >= 0) {
		ev_io_stop(d->loop, &d->neigh_io);
		ev_timer_stop(d->loop, &d->neigh_timer);
		close(d->neigh_fd);
		d->neigh_fd = -1;
	}
}
