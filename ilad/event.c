/* ilad/event.c: events for `ilactl monitor`. */
#include "config.h"

#include <arpa/inet.h>
#include <json-c/json.h>

#include "ilad.h"

void ilad_event(struct ilad *d, const char *event, const struct ilad_key *k, const char *detail)
{
	json_object *o;
	char addr[INET6_ADDRSTRLEN];

	if (!ila_ctl_monitoring(d->ctl))
		return;
	o = json_object_new_object();
	if (k) {
		json_object_object_add(o, "address",
				       json_object_new_string(ilad_key_addr(k, addr, sizeof(addr))));
		json_object_object_add(o, "vn", json_object_new_string(ilad_vn_name(d, k->vn)));
	}
	if (detail)
		json_object_object_add(o, "detail", json_object_new_string(detail));
	ila_ctl_event(d->ctl, event, o);
}

bool ilad_monitoring(const struct ilad *d)
{
	return ila_ctl_monitoring(d->ctl);
}
