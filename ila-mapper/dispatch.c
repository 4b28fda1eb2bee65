/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ila-mapper/dispatch.c: the event queue's dispatcher: each queued event
 * goes to the module that handles it. */
#include "config.h"

#include "mapper.h"

/* What one module tells another, once the callback that said it returned. */
void mapper_run_event(struct mapper *m, const struct mapper_ev *ev)
{
	switch (ev->type) {
	case MAPPER_EV_MONITOR:
		break; /* event.c writes those */
	case MAPPER_EV_CHANGED:
		push_changed(m, ev->vns, ev->nvns);
		watch_changed(m, ev->vns, ev->nvns);
		for (unsigned i = 0; i < ev->nmoved; i++)
			push_directed(m, ev->moved[i].prev_node, &ev->moved[i].m);
		break;
	case MAPPER_EV_SESSION_GONE:
		directory_session_gone(m, ev->s);
		if (ev->last)
			watch_node_gone(m, ev->node);
		if (m->conf->store_etcd) {
			/* every instance fails the node over when its presence key
			 * goes (MAPPER_EV_NODE_GONE) */
			if (ev->last)
				estore_node_down(m, ev->node, ev->failed);
		} else if (ev->failed) {
			directory_node_failed(m, ev->node);
		}
		break;
	case MAPPER_EV_COMMITTED:
		directory_committed(m, ev);
		break;
	case MAPPER_EV_NODE_GONE:
		directory_node_failed(m, ev->node);
		break;
	case MAPPER_EV_STORE_LOST:
		sessions_unavailable(m, m->estore.why);
		break;
	}
}
