/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ilad.h"
#include "../routing/zapi.h"

static const char *local_state_name(enum local_state s)
{
	switch (s) {
	case LOCAL_NEW:
		return "new";
	case LOCAL_ATTACHED:
		return "attached";
	case LOCAL_PREPARED:
		return "prepared";
	case LOCAL_EXPECTED:
		return "expected";
	case LOCAL_DETACHED:
		return "detaching";
	case LOCAL_REFUSED:
		return "refused";
	}
	return "?";
}

static const char *route_kind_name(const struct centry *e)
{
	if (e && !e->installed && e->bpf_set)
		return "bpf"; /* under the SIR prefix's route, through ila_map */
	if (!e || !e->installed)
		return "-";
	switch (e->inst.kind) {
	case KROUTE_ILA:
		return "ila";
	case KROUTE_UNREACHABLE:
		return "unreachable";
	case KROUTE_DEV:
		return "local";
	case KROUTE_BLACKHOLE:
		return "blackhole";
	default:
		return "other";
	}
}

static int cmd_show_local(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	json_object *arr = a->json ? json_object_new_array() : NULL;
	struct lh_entry *le;
	uint64_t now = ilad_now_ms();

	if (!arr)
		ila_buf_printf(out, "%-39s %-10s %-10s %-12s %6s %-10s %-14s %8s\n", "ADDRESS", "VN",
			       "STATE", "DEV", "SEQ", "REGISTERED", "STATUS", "SINCE(s)");
	lh_foreach(d->locals, le) {
		const struct local *l = lh_entry_v(le);
		char addr[INET6_ADDRSTRLEN];
		const char *status = l->last_status ? ila_proto_err_name(l->last_status) : "ok";

		ilad_key_addr(&l->key, addr, sizeof(addr));
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "address", json_object_new_string(addr));
			json_object_object_add(o, "vn", json_object_new_string(ilad_vn_name(d, l->key.vn)));
			json_object_object_add(o, "state", json_object_new_string(local_state_name(l->state)));
			json_object_object_add(o, "dev", json_object_new_string(l->ifname));
			json_object_object_add(o, "ifindex", json_object_new_int(l->ifindex));
			json_object_object_add(o, "seq", json_object_new_uint64(l->seq));
			json_object_object_add(o, "registered", json_object_new_boolean(l->registered));
			json_object_object_add(o, "status", json_object_new_string(status));
			if (l->state == LOCAL_REFUSED)
				json_object_object_add(o, "reason", json_object_new_string(
					ila_proto_strerror(l->last_status)));
			json_object_object_add(o, "resync", json_object_new_boolean(l->resync));
			json_object_object_add(o, "handover", json_object_new_boolean(l->handover));
			json_object_object_add(o, "incoming", json_object_new_boolean(l->incoming));
			json_object_object_add(o, "since_ms", json_object_new_uint64(now - l->since_ms));
			json_object_array_add(arr, o);
		} else {
			ila_buf_printf(out, "%-39s %-10s %-10s %-12s %6llu %-10s %-14s %8llu\n", addr,
				       ilad_vn_name(d, l->key.vn), l->handover ? "handover" :
				       l->incoming ? "incoming" : local_state_name(l->state),
				       *l->ifname ? l->ifname : "-", (unsigned long long)l->seq,
				       l->registered ? "yes" : "no", status,
				       (unsigned long long)((now - l->since_ms) / 1000));
		}
	}
	if (arr)
		return ila_ctl_print_list(out, "local", arr);
	return ILA_CLI_SUCCESS;
}

static int cmd_show_mappings(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	json_object *arr = a->json ? json_object_new_array() : NULL;
	struct lh_entry *le;
	uint32_t only_vn = 0;
	struct ilad_key only = { 0 };
	bool one = false;

	if (a->argc == 1) {
		int vi = ila_conf_vn_find(d->conf, a->argv[0]);

		if (vi >= 0) {
			only_vn = d->conf->vns[vi].id;
		} else if (inet_pton(AF_INET6, a->argv[0], &only.addr.v6) == 1) {
			only.family = AF_INET6;
			one = true;
		} else if (inet_pton(AF_INET, a->argv[0], &only.addr.v4) == 1) {
			only.family = AF_INET;
			one = true;
		} else {
			json_object_put(arr);
			ila_buf_printf(out, "%% %s is neither a vn nor an address\n", a->argv[0]);
			return ILA_CLI_WARNING;
		}
	}
	if (!arr && d->bpf_ops)
		ila_buf_printf(out, "%-10s %-39s %-19s %8s %-7s %-12s %-11s %10s %12s\n", "VN",
			       "ADDRESS", "LOCATOR", "SEQ", "STATE", "NODE", "ROUTE", "PACKETS",
			       "BYTES");
	else if (!arr)
		ila_buf_printf(out, "%-10s %-39s %-19s %8s %-7s %-12s %-11s\n", "VN", "ADDRESS",
			       "LOCATOR", "SEQ", "STATE", "NODE", "ROUTE");
	lh_foreach(d->cache, le) {
		const struct centry *e = lh_entry_v(le);
		char addr[INET6_ADDRSTRLEN], loc[ILA_LOCATOR_STRLEN] = "-";
		uint64_t packets = 0, bytes = 0;

		if (only_vn && e->key.vn != only_vn)
			continue;
		if (one && (e->key.family != only.family ||
			    memcmp(&e->key.addr, &only.addr, sizeof(only.addr))))
			continue;
		if (!e->known && !e->installed && !e->bpf_set)
			continue;
		ilad_key_addr(&e->key, addr, sizeof(addr));
		/* what ila_out translated (or dropped, down) for it on this node */
		if (e->bpf_set) {
			struct in6_addr ba;

			ilad_bpf_addr(&e->key, &ba);
			(void)d->bpf_ops->counters(d, e->key.vn, &ba, &packets, &bytes);
		}
		if (e->known)
			ila_locator_format(&e->rec.loc, loc, sizeof(loc));
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "vn", json_object_new_string(ilad_vn_name(d, e->key.vn)));
			json_object_object_add(o, "address", json_object_new_string(addr));
			json_object_object_add(o, "known", json_object_new_boolean(e->known));
			if (e->known) {
				json_object_object_add(o, "locator", json_object_new_string(loc));
				json_object_object_add(o, "seq", json_object_new_uint64(e->rec.seq));
				json_object_object_add(o, "state",
						       json_object_new_string(ila_record_state_name(e->rec.state)));
				json_object_object_add(o, "node", json_object_new_string(e->rec.node));
				if (e->rec.has_standby) {
					char sb[ILA_LOCATOR_STRLEN];

					ila_locator_format(&e->rec.standby, sb, sizeof(sb));
					json_object_object_add(o, "standby", json_object_new_string(sb));
				}
			}
			json_object_object_add(o, "route", json_object_new_string(route_kind_name(e)));
			if (d->bpf_ops) {
				json_object_object_add(o, "in_map", json_object_new_boolean(e->bpf_set));
				json_object_object_add(o, "packets", json_object_new_uint64(packets));
				json_object_object_add(o, "bytes", json_object_new_uint64(bytes));
			}
			json_object_array_add(arr, o);
		} else if (d->bpf_ops) {
			ila_buf_printf(out, "%-10s %-39s %-19s %8llu %-7s %-12s %-11s %10llu %12llu\n",
				       ilad_vn_name(d, e->key.vn), addr, loc,
				       (unsigned long long)(e->known ? e->rec.seq : 0),
				       e->known ? ila_record_state_name(e->rec.state) : "-",
				       e->known ? e->rec.node : "-", route_kind_name(e),
				       (unsigned long long)packets, (unsigned long long)bytes);
		} else {
			ila_buf_printf(out, "%-10s %-39s %-19s %8llu %-7s %-12s %-11s\n",
				       ilad_vn_name(d, e->key.vn), addr, loc,
				       (unsigned long long)(e->known ? e->rec.seq : 0),
				       e->known ? ila_record_state_name(e->rec.state) : "-",
				       e->known ? e->rec.node : "-", route_kind_name(e));
		}
	}
	if (arr)
		return ila_ctl_print_list(out, "mappings", arr);
	return ILA_CLI_SUCCESS;
}

struct kshow {
	struct ila_buf *out;
	json_object *arr;
};

static int kshow_route(void *arg, const struct kroute *r)
{
	struct kshow *ks = arg;
	char buf[KROUTE_STRLEN];

	kroute_format(r, buf, sizeof(buf));
	if (ks->arr)
		json_object_array_add(ks->arr, json_object_new_string(buf));
	else
		ila_buf_printf(ks->out, "  %s\n", buf);
	return 0;
}

static int kshow_xlat(void *arg, const struct kxlat *x)
{
	struct kshow *ks = arg;
	char m[ILA_LOCATOR_STRLEN], l[ILA_LOCATOR_STRLEN], buf[160];

	snprintf(buf, sizeof(buf), "loc_match %s loc %s ifindex %d csum-mode %s",
		 ila_locator_format(&x->loc_match, m, sizeof(m)),
		 ila_locator_format(&x->loc, l, sizeof(l)), x->ifindex,
		 ila_csum_mode_name(x->csum_mode));
	if (ks->arr)
		json_object_array_add(ks->arr, json_object_new_string(buf));
	else
		ila_buf_printf(ks->out, "  %s\n", buf);
	return 0;
}

static int cmd_show_kernel(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	struct kshow ks = { .out = out };
	json_object *o = NULL, *routes = NULL, *xlat = NULL;

	if (!d->kernel) {
		ila_buf_printf(out, "%% mode %s: no kernel state\n", ila_conf_mode_name(d->conf->mode));
		return ILA_CLI_WARNING;
	}
	if (a->json) {
		o = json_object_new_object();
		routes = json_object_new_array();
		xlat = json_object_new_array();
	}
	ks.arr = routes;
	if (!a->json)
		ila_buf_printf(out, "routes of protocol %u:\n", d->conf->route_protocol);
	kernel_route_dump(d->kernel, AF_INET6, 0, kshow_route, &ks);
	kernel_route_dump(d->kernel, AF_INET, 0, kshow_route, &ks);
	if (d->ila) {
		ks.arr = xlat;
		if (!a->json)
			ila_buf_printf(out, "ILA translation table:\n");
		kernel_xlat_dump(d->kernel, kshow_xlat, &ks);
	}
	if (o) {
		json_object_object_add(o, "route_protocol", json_object_new_int(d->conf->route_protocol));
		json_object_object_add(o, "routes", routes);
		json_object_object_add(o, "translation", xlat);
		return ila_ctl_print_json(out, o);
	}
	return ILA_CLI_SUCCESS;
}

static int cmd_show_mapper(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	const struct ila_conf_endpoint *ep = &d->conf->mappers[d->mapper];
	char host[INET6_ADDRSTRLEN];
	uint64_t now = ilad_now_ms();
	bool stale = d->mc != MC_UP && d->last_up_ms;

	inet_ntop(ep->family, &ep->addr, host, sizeof(host));
	if (a->json) {
		json_object *o = json_object_new_object(), *vns = json_object_new_array();

		json_object_object_add(o, "mapper", json_object_new_string(host));
		json_object_object_add(o, "port", json_object_new_int(ep->port));
		json_object_object_add(o, "state", json_object_new_string(mc_state_name(d->mc)));
		json_object_object_add(o, "since_ms", json_object_new_uint64(now - d->mc_since_ms));
		json_object_object_add(o, "tls", json_object_new_boolean(d->use_tls));
		json_object_object_add(o, "cache_stale", json_object_new_boolean(stale));
		json_object_object_add(o, "last_error", json_object_new_string(d->mc_error));
		for (unsigned i = 0; i < d->conf->n_vns; i++) {
			json_object *v = json_object_new_object();

			json_object_object_add(v, "vn", json_object_new_string(d->conf->vns[i].name));
			json_object_object_add(v, "synced", json_object_new_boolean(d->sync[i].synced));
			json_object_object_add(v, "refused", json_object_new_boolean(d->sync[i].refused));
			json_object_object_add(v, "position", json_object_new_uint64(d->sync[i].pos));
			json_object_array_add(vns, v);
		}
		json_object_object_add(o, "vns", vns);
		return ila_ctl_print_json(out, o);
	}
	ila_buf_printf(out, "mapper %s%s%s port %u (%s), %s for %llu s\n",
		       ep->family == AF_INET6 ? "[" : "", host, ep->family == AF_INET6 ? "]" : "",
		       ep->port, d->use_tls ? "TLS" : "plaintext", mc_state_name(d->mc),
		       (unsigned long long)((now - d->mc_since_ms) / 1000));
	if (stale)
		ila_buf_printf(out, "no mapper reachable: serving the cache as it was %llu s ago\n",
			       (unsigned long long)((now - d->last_up_ms) / 1000));
	if (*d->mc_error)
		ila_buf_printf(out, "last error: %s\n", d->mc_error);
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		ila_buf_printf(out, "vn %-10s %s, journal position %llu\n", d->conf->vns[i].name,
			       d->sync[i].synced ? "in sync" : d->sync[i].refused
			       ? "subscription refused by the mapper" : "not in sync",
			       (unsigned long long)d->sync[i].pos);
	return ILA_CLI_SUCCESS;
}

static int cmd_show_dataplane(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	const char *dp = d->bpf ? "bpf" : d->ila ? "ila-module" : "none";
	json_object *o = a->json ? json_object_new_object() : NULL;
	json_object *ups = o ? json_object_new_array() : NULL;
	int up[16];
	unsigned n = d->bpf_ops ? d->bpf_ops->uplinks(d, up, 16) : 0;

	if (o) {
		json_object_object_add(o, "mode", json_object_new_string(
							  ila_conf_mode_name(d->conf->mode)));
		json_object_object_add(o, "configured", json_object_new_string(
								ila_conf_dataplane_name(d->conf->dataplane)));
		json_object_object_add(o, "dataplane", json_object_new_string(dp));
	} else {
		ila_buf_printf(out, "mode        %s\n", ila_conf_mode_name(d->conf->mode));
		ila_buf_printf(out, "configured  %s\n", ila_conf_dataplane_name(d->conf->dataplane));
		ila_buf_printf(out, "dataplane   %s\n", dp);
	}
	for (unsigned i = 0; i < n; i++) {
		char name[IF_NAMESIZE] = "?";

		if (!if_indextoname((unsigned)up[i], name))
			snprintf(name, sizeof(name), "#%d", up[i]);
		if (ups)
			json_object_array_add(ups, json_object_new_string(name));
		else
			ila_buf_printf(out, "uplink      %s (ila_in on tc ingress)\n", name);
	}
	if (o) {
		json_object_object_add(o, "uplinks", ups);
		if (d->bpf_ops)
			show_bpf_print(d, o, out);
		return ila_ctl_print_json(out, o);
	}
	if (d->bpf_ops)
		show_bpf_print(d, NULL, out);
	return ILA_CLI_SUCCESS;
}

/* cache on-demand: the addresses that missed, what became of them. */
static int cmd_show_misses(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	uint64_t now = ilad_now_ms();
	json_object *o = a->json ? json_object_new_object() : NULL;
	json_object *arr = o ? json_object_new_array() : NULL;
	struct lh_entry *le;
	size_t n = d->od ? (size_t)lh_table_length(d->od) : 0;

	if (o) {
		json_object_object_add(o, "cache", json_object_new_string(
							   ila_conf_cache_name(d->conf->cache)));
		json_object_object_add(o, "entries", json_object_new_uint64(n));
		json_object_object_add(o, "max", json_object_new_uint64(d->conf->on_demand_max));
	} else {
		ila_buf_printf(out, "cache %s, %zu entries (on-demand-max %u)\n",
			       ila_conf_cache_name(d->conf->cache), n, d->conf->on_demand_max);
		if (n)
			ila_buf_printf(out, "%-8s %-39s %8s %10s %10s %-10s %s\n", "VN", "ADDRESS",
				       "MISSES", "FIRST", "LAST", "STATE", "INSTALL");
	}
	if (d->od) {
		lh_foreach(d->od, le) {
			const struct od_entry *e = lh_entry_v(le);
			char addr[INET6_ADDRSTRLEN];
			const char *vn = ilad_vn_name(d, e->key.vn);

			ilad_key_addr(&e->key, addr, sizeof(addr));
			if (arr) {
				json_object *j = json_object_new_object();

				json_object_object_add(j, "vn", json_object_new_string(vn));
				json_object_object_add(j, "vn_id", json_object_new_uint64(e->key.vn));
				json_object_object_add(j, "address", json_object_new_string(addr));
				json_object_object_add(j, "misses", json_object_new_uint64(e->misses));
				json_object_object_add(j, "first_seen_ms_ago",
						       json_object_new_uint64(now - e->first_ms));
				json_object_object_add(j, "last_seen_ms_ago",
						       json_object_new_uint64(now - e->last_ms));
				json_object_object_add(j, "state", json_object_new_string(
								   ondemand_state_name(e->state)));
				if (e->state == OD_INSTALLED) {
					json_object_object_add(j, "install_us",
							       json_object_new_uint64(e->install_us));
					json_object_object_add(j, "lifetime_left_ms",
							       json_object_new_uint64(
								       e->until_ms > now
									       ? e->until_ms - now
									       : 0));
					json_object_object_add(j, "packets",
							       json_object_new_uint64(e->packets));
				}
				json_object_array_add(arr, j);
			} else {
				char inst[24] = "-";

				if (e->state == OD_INSTALLED)
					snprintf(inst, sizeof(inst), "%lluus",
						 (unsigned long long)e->install_us);
				ila_buf_printf(out, "%-8s %-39s %8llu %9llus %9llus %-10s %s\n", vn,
					       addr, (unsigned long long)e->misses,
					       (unsigned long long)((now - e->first_ms) / 1000),
					       (unsigned long long)((now - e->last_ms) / 1000),
					       ondemand_state_name(e->state), inst);
			}
		}
	}
	if (o) {
		json_object_object_add(o, "misses", arr);
		return ila_ctl_print_json(out, o);
	}
	return ILA_CLI_SUCCESS;
}

/* show vn [NAME]: each vn's prefixes, interfaces and gateway, and the state of
 * the gateway on each interface. */
static void gw_text(const struct ila_conf_vn *vn, char *a6, char *a4, char *mac)
{
	const uint8_t *m = vn->gw_mac;

	inet_ntop(AF_INET6, &vn->gw6, a6, INET6_ADDRSTRLEN);
	*a4 = '\0';
	if (vn->gw4.s_addr)
		inet_ntop(AF_INET, &vn->gw4, a4, INET_ADDRSTRLEN);
	snprintf(mac, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static const char *gw_state(const struct gw_dev *g)
{
	return g->err ? "error" : !g->ifindex ? "absent" : g->applied ? "set" : "pending";
}

static int cmd_show_vn(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	json_object *arr = a->json ? json_object_new_array() : NULL;
	int only = -1;

	if (a->argc == 1 && (only = ila_conf_vn_find(d->conf, a->argv[0])) < 0) {
		json_object_put(arr);
		ila_buf_printf(out, "%% no vn %s\n", a->argv[0]);
		return ILA_CLI_WARNING;
	}
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		const struct ila_conf_vn *vn = &d->conf->vns[i];
		char sir[ILA_SIR_PREFIX_STRLEN], v4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN];
		char a4[INET_ADDRSTRLEN], mac[18], ll[INET6_ADDRSTRLEN];
		union kaddr lla;

		if (only >= 0 && (unsigned)only != i)
			continue;
		ila_sir_prefix_format(&vn->sir_prefix, sir, sizeof(sir));
		if (vn->ipv4_prefix.family)
			inet_ntop(AF_INET, &vn->ipv4_prefix.addr.v4, v4, sizeof(v4));
		if (vn->gateway) {
			gw_text(vn, a6, a4, mac);
			gateway_link_local(vn, &lla);
			inet_ntop(AF_INET6, &lla.v6, ll, sizeof(ll));
		}
		if (arr) {
			json_object *o = json_object_new_object(), *ifs = json_object_new_array();

			json_object_object_add(o, "vn", json_object_new_string(vn->name));
			json_object_object_add(o, "id", json_object_new_int64(vn->id));
			json_object_object_add(o, "sir_prefix", json_object_new_string(sir));
			if (*v4) {
				char p[INET_ADDRSTRLEN + 4];

				snprintf(p, sizeof(p), "%s/%u", v4, vn->ipv4_prefix.len);
				json_object_object_add(o, "ipv4_prefix", json_object_new_string(p));
			}
			for (unsigned j = 0; j < vn->n_interfaces; j++)
				json_object_array_add(ifs, json_object_new_string(vn->interfaces[j]));
			json_object_object_add(o, "interfaces", ifs);
			if (vn->gateway) {
				json_object *g = json_object_new_object(), *devs = json_object_new_array();

				json_object_object_add(g, "address", json_object_new_string(a6));
				if (*a4)
					json_object_object_add(g, "address4", json_object_new_string(a4));
				json_object_object_add(g, "mac", json_object_new_string(mac));
				json_object_object_add(g, "link_local", json_object_new_string(ll));
				for (size_t k = 0; k < d->n_gw; k++) {
					const struct gw_dev *gd = &d->gw[k];
					json_object *e;

					if (gd->vn != vn->id)
						continue;
					e = json_object_new_object();
					json_object_object_add(e, "dev", json_object_new_string(gd->name));
					json_object_object_add(e, "state",
							       json_object_new_string(gw_state(gd)));
					json_object_object_add(e, "ifindex",
							       json_object_new_int(gd->ifindex));
					json_object_object_add(e, "from", json_object_new_string(
							       gd->attach ? "attach" : "interface"));
					json_object_object_add(e, "applied",
							       json_object_new_uint64(gd->applied));
					if (gd->err)
						json_object_object_add(e, "error",
								       json_object_new_string(gd->errmsg));
					json_object_array_add(devs, e);
				}
				json_object_object_add(g, "devices", devs);
				json_object_object_add(o, "gateway", g);
			}
			json_object_array_add(arr, o);
			continue;
		}
		ila_buf_printf(out, "vn %s id %u sir-prefix %s", vn->name, vn->id, sir);
		if (*v4)
			ila_buf_printf(out, " ipv4-prefix %s/%u", v4, vn->ipv4_prefix.len);
		ila_buf_printf(out, "\n  interfaces:");
		for (unsigned j = 0; j < vn->n_interfaces; j++)
			ila_buf_printf(out, " %s", vn->interfaces[j]);
		ila_buf_printf(out, "%s\n", vn->n_interfaces ? "" : " -");
		if (!vn->gateway) {
			ila_buf_printf(out, "  gateway: none\n");
			continue;
		}
		ila_buf_printf(out, "  gateway: %s%s%s mac %s, link-local %s\n", a6, *a4 ? " " : "",
			       a4, mac, ll);
		for (size_t k = 0; k < d->n_gw; k++) {
			const struct gw_dev *gd = &d->gw[k];

			if (gd->vn != vn->id)
				continue;
			ila_buf_printf(out, "    %-15s %-7s %s%s%s\n", gd->name, gw_state(gd),
				       gd->attach ? "(named by attach/prepare)" : "",
				       gd->err && gd->attach ? " " : "", gd->err ? gd->errmsg : "");
		}
	}
	return arr ? ila_ctl_print_json(out, arr) : ILA_CLI_SUCCESS;
}

static int cmd_show_running(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;

	return ila_ctl_running_config(d->conf, a->json, out);
}

static int result(int rc, const char *err, struct ila_buf *out)
{
	if (rc < 0) {
		ila_buf_printf(out, "%% %s\n", err);
		return ILA_CLI_WARNING;
	}
	return ILA_CLI_SUCCESS;
}

/* attach and prepare answer once the mapper has (or a note why not yet) */
static int waited(int rc, const char *msg, struct ila_buf *out)
{
	if (rc == 1)
		return ILA_CLI_DEFERRED;
	if (rc == 0 && *msg)
		ila_buf_printf(out, "%s\n", msg);
	return result(rc, msg, out);
}

static int cmd_attach(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	char err[256] = "";

	return waited(local_attach(ctx, a->argv[0], a->argc > 1 ? a->argv[1] : NULL, err,
				   sizeof(err)), err, out);
}

static int cmd_detach(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	char err[256] = "";

	return result(local_detach(ctx, a->argv[0], false, err, sizeof(err)), err, out);
}

static int cmd_detach_down(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	char err[256] = "";

	return result(local_detach(ctx, a->argv[0], true, err, sizeof(err)), err, out);
}

static int cmd_prepare(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	char err[256] = "";

	return waited(local_prepare(ctx, a->argv[0], a->argc > 1 ? a->argv[1] : NULL, err,
				    sizeof(err)), err, out);
}

static int cmd_handover(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	char err[256] = "";

	return result(local_handover(ctx, a->argv[0], err, sizeof(err)), err, out);
}

static int cmd_incoming(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	char err[256] = "";

	return result(local_incoming(ctx, a->argv[0], a->argv[1], a->argc > 2 ? a->argv[2] : NULL,
				     err, sizeof(err)), err, out);
}

static int cmd_expect(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	char err[256] = "";

	return result(local_expect(ctx, a->argv[0], err, sizeof(err)), err, out);
}

struct rshow {
	struct ila_buf *out;
	json_object *arr;
};

static void rshow_route(void *arg, const struct zroute *r, enum zroute_state st)
{
	struct rshow *rs = arg;
	char p[INET6_ADDRSTRLEN], pfx[INET6_ADDRSTRLEN + 4], nh[64] = "blackhole";

	inet_ntop(r->family, &r->prefix, p, sizeof(p));
	snprintf(pfx, sizeof(pfx), "%s/%u", p, r->plen);
	if (r->nh != ZNH_BLACKHOLE) {
		char ifname[IF_NAMESIZE] = "?";

		if_indextoname((unsigned)r->ifindex, ifname);
		snprintf(nh, sizeof(nh), "dev %s", ifname);
	}
	if (rs->arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "prefix", json_object_new_string(pfx));
		json_object_object_add(o, "nexthop", json_object_new_string(nh));
		json_object_object_add(o, "state", json_object_new_string(zroute_state_name(st)));
		json_object_array_add(rs->arr, o);
	} else {
		ila_buf_printf(rs->out, "%-44s %-16s %s\n", pfx, nh, zroute_state_name(st));
	}
}

static int cmd_show_routing(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	struct rshow rs = { .out = out };
	const struct zapi_stats *st;

	if (!d->zapi) {
		ila_buf_printf(out, "%% zebra is off (ilad.conf: zebra on)\n");
		return ILA_CLI_WARNING;
	}
	st = zapi_stats(d->zapi);
	if (a->json) {
		json_object *o = json_object_new_object();

		rs.arr = json_object_new_array();
		zapi_routes(d->zapi, rshow_route, &rs);
		json_object_object_add(o, "zebra", json_object_new_string(st->up ? "up" : "down"));
		json_object_object_add(o, "socket", json_object_new_string(d->conf->zebra_socket));
		json_object_object_add(o, "api", json_object_new_string(zapi_profile_name(st->version)));
		json_object_object_add(o, "last_error", json_object_new_string(zapi_last_error(d->zapi)));
		json_object_object_add(o, "connects", json_object_new_uint64(st->connects));
		json_object_object_add(o, "installed", json_object_new_uint64(st->installed));
		json_object_object_add(o, "failed", json_object_new_uint64(st->failed));
		json_object_object_add(o, "malformed", json_object_new_uint64(st->malformed));
		json_object_object_add(o, "unknown", json_object_new_uint64(st->unknown));
		json_object_object_add(o, "errors", json_object_new_uint64(st->errors));
		json_object_object_add(o, "stale_removed", json_object_new_uint64(st->stale));
		json_object_object_add(o, "graceful_restart",
				       json_object_new_uint64(d->conf->zebra_gr_s));
		json_object_object_add(o, "update_complete",
				       json_object_new_uint64(st->update_complete));
		json_object_object_add(o, "adopted", json_object_new_uint64(st->adopted));
		json_object_object_add(o, "routes", rs.arr);
		return ila_ctl_print_json(out, o);
	}
	ila_buf_printf(out, "zebra %s (%s), FRR %s API; connects %llu, malformed %llu, "
		       "unknown %llu, errors %llu\n", st->up ? "up" : "down", d->conf->zebra_socket,
		       zapi_profile_name(st->version), (unsigned long long)st->connects,
		       (unsigned long long)st->malformed, (unsigned long long)st->unknown,
		       (unsigned long long)st->errors);
	if (d->conf->zebra_gr_s)
		ila_buf_printf(out, "graceful restart: zebra keeps these routes %u s after ilad "
			       "goes; update-complete sent %llu times\n", d->conf->zebra_gr_s,
			       (unsigned long long)st->update_complete);
	else
		ila_buf_printf(out, "graceful restart: off\n");
	ila_buf_printf(out, "%-44s %-16s %s\n", "PREFIX", "NEXTHOP", "STATE");
	zapi_routes(d->zapi, rshow_route, &rs);
	return ILA_CLI_SUCCESS;
}

#define NCOMMANDS 22
static const struct ila_cli_cmd commands[NCOMMANDS];

static int cmd_help(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	(void)ctx;
	(void)a;
	ila_cli_help(commands, NCOMMANDS, out);
	return ILA_CLI_SUCCESS;
}

static const struct ila_cli_cmd commands[NCOMMANDS] = {
	{ "show local", "workloads attached, prepared or expected here", cmd_show_local },
	{ "show mappings [VN-OR-ADDR]", "the mapping cache and the route of each entry",
	  cmd_show_mappings },
	{ "show kernel", "routes of ilad's protocol and the ILA translation table, read live",
	  cmd_show_kernel },
	{ "show mapper", "the mapper session, per-vn sync, cache staleness", cmd_show_mapper },
	{ "show routing", "routes announced through zebra and their state", cmd_show_routing },
	{ "show stats", "counters", cmd_show_stats },
	{ "show misses", "cache on-demand: addresses that missed, their state", cmd_show_misses },
	{ "show dataplane", "the data path in use (ila-module or bpf), its uplinks and counters",
	  cmd_show_dataplane },
	{ "show running-config", "the configuration in force", cmd_show_running },
	{ "show vn [NAME]", "vns: prefixes, interfaces, the gateway and its state on each interface",
	  cmd_show_vn },
	{ "attach ADDR", "a workload runs here (planned move): local delivery, then register",
	  cmd_attach },
	{ "attach ADDR dev IFNAME", "the same, on that interface", cmd_attach },
	{ "detach ADDR", "the workload left: deregister it", cmd_detach },
	{ "detach ADDR down", "cold move: keep the mapping, down, until it attaches elsewhere",
	  cmd_detach_down },
	{ "prepare ADDR", "warm move: register this node as standby", cmd_prepare },
	{ "prepare ADDR dev IFNAME", "the same, delivering on that interface if promoted",
	  cmd_prepare },
	{ "handover ADDR", "live migration, source: the workload stopped here; send its "
	  "packets to its standby now", cmd_handover },
	{ "incoming ADDR dev IFNAME", "live migration, destination: deliver the prepared "
	  "workload's packets on IFNAME now", cmd_incoming },
	{ "incoming ADDR dev IFNAME lladdr MAC", "the same, with a neighbour entry for ADDR on "
	  "IFNAME (the VM's MAC, STALE) until it attaches", cmd_incoming },
	{ "expect ADDR", "let the workload attach by itself when its neighbour entry appears",
	  cmd_expect },
	{ "help", "this list", cmd_help },
	{ "show help", "this list", cmd_help },
};

/* "help" and "show ..." are read-only (ila_cli_is_readonly()); attach, detach,
 * prepare and expect change state: the read-only socket refuses them. */
int show_open(struct ilad *d, uid_t owner, gid_t group, char *err, size_t errlen)
{
	const struct ila_ctl_config cfg = {
		.path = d->conf->control,
		.readonly_path = d->conf->control_readonly,
		.owner = owner,
		.group = group,
	};

	return ila_ctl_server_open(&d->ctl, d->loop, &cfg, commands, NCOMMANDS, d, err, errlen);
}

void show_close(struct ilad *d)
{
	ila_ctl_server_close(d->ctl);
	d->ctl = NULL;
}
