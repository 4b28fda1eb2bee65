/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ilad/dispatch.c: the event queue's dispatcher: each queued event goes to
 * the module that handles it, then the routes follow in one flush. */
#include "config.h"

#include "ilad.h"

/* What one module tells another, once the callback that said it returned. */
void ilad_run_event(struct ilad *d, const struct ilad_ev *ev)
{
	const struct ila_record *r = ev->has_rec ? &ev->rec : NULL;

	switch (ev->type) {
	case ILAD_EV_MONITOR:
		return; /* event.c writes those */
	case ILAD_EV_ADOPTED:
		if (!ev->late)
			local_adopt(d, &ev->key, ev->ifindex);
		/* adopted by zebra.c after the vn's snapshot came: the mapper's
		 * view decides it now, as the snapshot does for those found at
		 * start */
		else if (mc_vn_synced(d, ev->key.vn))
			local_resync(d, ev->key.vn);
		break;
	case ILAD_EV_LAPSED:
		local_lapsed(d, &ev->key, r);
		break;
	case ILAD_EV_MOVED_AWAY:
		local_moved_away(d, &ev->key, r);
		break;
	case ILAD_EV_PROMOTED:
		local_promoted(d, &ev->key, r);
		break;
	case ILAD_EV_REGISTERED:
		local_registered(d, &ev->key, ev->msg_type, ev->status, ev->xid);
		break;
	case ILAD_EV_UNANSWERED:
		local_unanswered(d, &ev->key, ev->xid, ev->status);
		break;
	case ILAD_EV_RESYNC:
		local_resync(d, ev->vn);
		break;
	case ILAD_EV_ANSWERED:
		local_answered(d, ev->keys, ev->n, ev->recs, ev->nrec, ev->status);
		ondemand_answered(d, ev->keys, ev->n, ev->recs, ev->nrec, ev->status);
		break;
	case ILAD_EV_QUERY_WAITING:
		local_query_waiting(d);
		ondemand_session_up(d);
		break;
	case ILAD_EV_OD_PUSHED:
		ondemand_pushed(d, r);
		break;
	case ILAD_EV_DEV_APPEARED:
		local_dev_appeared(d, ev->vn, ev->ifindex, ev->name);
		break;
	}
	/* whatever the workloads' changes did to the routes, in one batch */
	cache_flush(d);
	/* ila_map holds every vn now: the BPF data path may take over from
	 * an earlier ilad's */
	if ((ev->type == ILAD_EV_RESYNC || ev->type == ILAD_EV_QUERY_WAITING) && d->bpf_ops &&
	    d->bpf_ops->synced && mc_all_synced(d))
		d->bpf_ops->synced(d);
}
