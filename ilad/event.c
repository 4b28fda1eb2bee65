/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ilad/event.c: the daemon's event queue (what one module tells another
 * runs after the current callback returns) and the events of `ilactl
 * monitor`. */
#include "config.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ilad.h"

static void monitor_line(struct ilad *d, const struct ilad_ev *ev)
{
	json_object *o;
	char addr[INET6_ADDRSTRLEN];

	if (!ila_ctl_monitoring(d->ctl))
		return;
	o = json_object_new_object();
	if (ev->has_key) {
		json_object_object_add(o, "address",
				       json_object_new_string(ilad_key_addr(&ev->key, addr, sizeof(addr))));
		json_object_object_add(o, "vn", json_object_new_string(ilad_vn_name(d, ev->key.vn)));
	}
	if (ev->detail[0])
		json_object_object_add(o, "detail", json_object_new_string(ev->detail));
	ila_ctl_event(d->ctl, ev->name, o);
}

static void ev_free(struct ilad_ev *ev)
{
	free(ev->keys);
	free(ev->recs);
	free(ev);
}

void ilad_events_run(struct ilad *d)
{
	/* events posted while running are run too, in order */
	while (d->ev_head) {
		struct ilad_ev *ev = d->ev_head;

		d->ev_head = ev->next;
		if (!d->ev_head)
			d->ev_tail = NULL;
		if (ev->type == ILAD_EV_MONITOR)
			monitor_line(d, ev);
		else if (d->dispatch)
			d->dispatch(d, ev);
		ev_free(ev);
	}
}

static void drain_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	ilad_events_run(w->data);
}

void ilad_events_init(struct ilad *d, void (*dispatch)(struct ilad *d, const struct ilad_ev *ev))
{
	d->dispatch = dispatch;
	ev_prepare_init(&d->ev_drain, drain_cb);
	d->ev_drain.data = d;
	ev_prepare_start(d->loop, &d->ev_drain);
}

void ilad_events_free(struct ilad *d)
{
	ev_prepare_stop(d->loop, &d->ev_drain);
	while (d->ev_head) {
		struct ilad_ev *ev = d->ev_head;

		d->ev_head = ev->next;
		ev_free(ev);
	}
	d->ev_tail = NULL;
}

static void *dup_array(const void *p, size_t n, size_t size)
{
	void *c;

	if (!p || !n)
		return NULL;
	c = malloc(n * size);
	if (c)
		memcpy(c, p, n * size);
	return c;
}

void ilad_post(struct ilad *d, const struct ilad_ev *ev)
{
	struct ilad_ev *c = malloc(sizeof(*c));

	if (!c) {
		log_err("out of memory: event %d lost", (int)ev->type);
		return;
	}
	*c = *ev;
	c->next = NULL;
	c->keys = dup_array(ev->keys, ev->n, sizeof(*ev->keys));
	c->recs = dup_array(ev->recs, ev->nrec, sizeof(*ev->recs));
	if ((ev->n && !c->keys) || (ev->nrec && !c->recs)) {
		log_err("out of memory: event %d lost", (int)ev->type);
		ev_free(c);
		return;
	}
	if (!c->keys)
		c->n = 0;
	if (!c->recs)
		c->nrec = 0;
	if (d->ev_tail)
		d->ev_tail->next = c;
	else
		d->ev_head = c;
	d->ev_tail = c;
}

void ilad_event(struct ilad *d, const char *event, const struct ilad_key *k, const char *detail)
{
	struct ilad_ev ev = { .type = ILAD_EV_MONITOR };

	if (!ila_ctl_monitoring(d->ctl))
		return;
	snprintf(ev.name, sizeof(ev.name), "%s", event);
	if (k) {
		ev.has_key = true;
		ev.key = *k;
	}
	if (detail)
		snprintf(ev.detail, sizeof(ev.detail), "%s", detail);
	ilad_post(d, &ev);
}

bool ilad_monitoring(const struct ilad *d)
{
	return ila_ctl_monitoring(d->ctl);
}
