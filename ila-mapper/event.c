/* ila-mapper/event.c: events for `ilactl -M monitor`. */
#include "config.h"

#include <arpa/inet.h>
#include <json-c/json.h>

#include "mapper.h"

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
	ila_ctl_event(m->ctl, event, o);
}
