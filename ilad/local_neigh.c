/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ilad/local_neigh.c: neighbour events: workloads attached and detached by their neighbours. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ilad.h"

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
void local_neigh_dump(struct ilad *d)
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
			local_neigh_dump(d);
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
		local_incoming_neigh_restore(d, l);
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
	(void)local_attach_on(d, &k, n->ifindex, ifname);
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
		local_neigh_dump(d);
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
		local_neigh_dump(d);
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
		local_own_seq(d, l);
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
	local_neigh_dump(d);
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
