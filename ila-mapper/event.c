/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ila-mapper/event.c: the daemon's event queue (what one module tells
 * another runs after the current callback returns) and the events of
 * `ilactl -M monitor`. */
#include "config.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mapper.h"

static void ev_free(struct mapper_ev *ev)
{
	if (ev->fields)
		json_object_put(ev->fields);
	free(ev->moved);
	free(ev->outcome);
	free(ev);
}

void mapper_post(struct mapper *m, const struct mapper_ev *ev)
{
	struct mapper_ev *c = malloc(sizeof(*c));

	if (!c) {
		log_err("out of memory: event %d lost", (int)ev->type);
		if (ev->fields)
			json_object_put(ev->fields);
		free(ev->moved);
		free(ev->outcome);
		return;
	}
	*c = *ev;
	c->next = NULL;
	if (m->ev_tail)
		m->ev_tail->next = c;
	else
		m->ev_head = c;
	m->ev_tail = c;
}

void mapper_events_run(struct mapper *m)
{
	/* events posted while running are run too, in order */
	while (m->ev_head) {
		struct mapper_ev *ev = m->ev_head;

		m->ev_head = ev->next;
		if (!m->ev_head)
			m->ev_tail = NULL;
		if (ev->type == MAPPER_EV_MONITOR) {
			ila_ctl_event(m->ctl, ev->name, ev->fields); /* takes the fields */
			ev->fields = NULL;
		} else if (m->dispatch) {
			m->dispatch(m, ev);
		}
		ev_free(ev);
	}
}

void mapper_events_free(struct mapper *m)
{
	while (m->ev_head) {
		struct mapper_ev *ev = m->ev_head;

		m->ev_head = ev->next;
		ev_free(ev);
	}
	m->ev_tail = NULL;
}

void mapper_event(struct mapper *m, const char *event, const struct ila_record *r,
		  const char *node, const char *detail)
{
	json_object *o;
	char addr[INET6_ADDRSTRLEN], loc[ILA_LOCATOR_STRLEN];

	if (!ila_ctl_monitoring(m->ctl))
		return;
	o = json_object_new_object();
	if (r) {
		mapper_rec_addr(r, addr, sizeof(addr));
		json_object_object_add(o, "address", json_object_new_string(addr));
		json_object_object_add(o, "vn", json_object_new_string(mapper_vn_name(m, r->vn)));
		if (r->state != ILA_STATE_REMOVED) {
			json_object_object_add(o, "locator", json_object_new_string(
				ila_locator_format(&r->loc, loc, sizeof(loc))));
			json_object_object_add(o, "seq", json_object_new_uint64(r->seq));
			json_object_object_add(o, "state", json_object_new_string(
				ila_record_state_name(r->state)));
		}
	}
	if (node)
		json_object_object_add(o, "node", json_object_new_string(node));
	if (detail)
		json_object_object_add(o, "detail", json_object_new_string(detail));
	struct mapper_ev ev = { .type = MAPPER_EV_MONITOR, .fields = o };

	snprintf(ev.name, sizeof(ev.name), "%s", event);
	mapper_post(m, &ev);
}

void mapper_changes_vn(struct mapper_changes *cs, uint32_t vn)
{
	for (unsigned i = 0; i < cs->nvns; i++)
		if (cs->vns[i] == vn)
			return;
	if (cs->nvns < ILA_ARRAY_SIZE(cs->vns))
		cs->vns[cs->nvns++] = vn;
}

void mapper_changes_move(struct mapper_changes *cs, const char *prev_node, const struct mapping *m)
{
	if (cs->nmoved == cs->capmoved) {
		unsigned ncap = cs->capmoved ? cs->capmoved * 2 : 16;
		struct mapper_moved *n = realloc(cs->moved, ncap * sizeof(*n));

		if (!n)
			return; /* the previous owner still learns it if it subscribes */
		cs->moved = n;
		cs->capmoved = ncap;
	}
	snprintf(cs->moved[cs->nmoved].prev_node, sizeof(cs->moved[0].prev_node), "%s", prev_node);
	cs->moved[cs->nmoved].m = *m;
	cs->nmoved++;
}

void mapper_changes_post(struct mapper *m, struct mapper_changes *cs)
{
	struct mapper_ev ev = { .type = MAPPER_EV_CHANGED, .nvns = cs->nvns,
				.moved = cs->moved, .nmoved = cs->nmoved };

	memcpy(ev.vns, cs->vns, sizeof(ev.vns));
	mapper_post(m, &ev); /* takes cs->moved */
	memset(cs, 0, sizeof(*cs));
}
