/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ilad/show_stats.c: the counters of show stats and of the metrics, one table for both. */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "ilad.h"

/*
 * The counters of show stats, and their Prometheus names (metrics.c): one
 * table for both, so that a counter shown is a counter exported.
 */
#define R(n, f, metric, label, help) { n, f, metric, label, help }
#define REJECTED "records_rejected_total"
size_t show_stats_rows(struct ilad *d, struct ila_stat_row *rows)
{
	const struct ilad_stats *s = &d->stats;
	const struct ila_ctl_stats *cs = ila_ctl_server_stats(d->ctl);
	uint64_t decap_packets, decap_bytes;

	cache_decap_counters(d, &decap_packets, &decap_bytes);
	const struct ila_stat_row t[] = {
		R("mapper_connects", s->mapper_connects, "mapper_connects_total", NULL,
		  "Sessions with a mapper opened."),
		R("mapper_failures", s->mapper_failures, "mapper_failures_total", NULL,
		  "Mapper sessions that failed or could not open."),
		R("mapper_failovers", s->mapper_failovers, "mapper_failovers_total", NULL,
		  "Moves to the next mapper in the list."),
		R("pushes", s->pushes, "pushes_total", NULL, "PUSH frames received."),
		R("push_records", s->push_records, "push_records_total", NULL,
		  "Records received in PUSH frames."),
		R("snapshots", s->snapshots, "snapshots_total", NULL, "Snapshots received."),
		R("registrations_sent", s->registrations_sent, "registrations_sent_total", NULL,
		  "Registration records sent."),
		R("registrations_acked", s->registrations_acked, "registrations_acked_total", NULL,
		  "Registration records the mapper accepted."),
		R("registrations_refused", s->registrations_refused, "registrations_refused_total",
		  NULL, "Registration records the mapper refused."),
		R("deregistrations_sent", s->deregistrations_sent, "deregistrations_sent_total", NULL,
		  "Deregistration records sent."),
		R("errors_received", s->errors_received, "errors_received_total", NULL,
		  "ERROR messages from the mapper."),
		R("malformed", s->malformed, "malformed_frames_total", NULL,
		  "Frames from the mapper that did not decode."),
		R("routes_replaced", s->routes_replaced, "kernel_routes_total", "op=\"replace\"",
		  "Kernel routes written, by operation."),
		R("routes_deleted", s->routes_deleted, "kernel_routes_total", "op=\"delete\"", NULL),
		R("route_failures", s->route_failures, "kernel_route_failures_total", NULL,
		  "Kernel route operations that failed."),
		R("netlink_batches", s->netlink_batches, "netlink_batches_total", NULL,
		  "Netlink batches sent to the kernel."),
		R("xlat_added", s->xlat_added, "xlat_added_total", NULL,
		  "ILA translation entries added."),
		R("neigh_events", s->neigh_events, "neigh_events_total", NULL,
		  "Neighbour events read."),
		R("auto_attached", s->auto_attached, "auto_attached_total", NULL,
		  "Workloads attached by themselves (expect, allow)."),
		R("auto_detached", s->auto_detached, "auto_detached_total", NULL,
		  "Workloads detached when their neighbour entry went."),
		R("spoof_refused", s->spoof_refused, "spoof_refused_total", NULL,
		  "Neighbours for an address attached elsewhere and not expected here."),
		R("neigh_unsynced", s->neigh_unsynced, "neigh_unsynced_total", NULL,
		  "Neighbour events left for later: the vn not in sync."),
		R("neigh_overflows", s->neigh_overflows, "neigh_overflows_total", NULL,
		  "Neighbour events lost (ENOBUFS): tables read again."),
		R("neigh_dumps", s->neigh_dumps, "neigh_dumps_total", NULL,
		  "Neighbour table dumps requested."),
		R("neigh_probes", s->neigh_probes, "neigh_probes_total", NULL,
		  "Attached workloads whose neighbour entry went: resolved again."),
		R("forwarded_moves", s->forwarded_moves, "forwarded_moves_total", NULL,
		  "Local workloads that moved away: routes re-pointed."),
		R("inflight_holds", s->inflight_holds, "inflight_holds_total", NULL,
		  "Moved-away addresses forwarded to their new node for the hold time."),
		R("inflight_routes", s->inflight_routes, "inflight_routes_total", NULL,
		  "Routes written to forward a held address to its new node."),
		R("decap_packets", decap_packets, "decap_packets", NULL,
		  "Packets other nodes sent here inside IPv6, delivered by the End.DX4/DX6 "
		  "routes in place (the kernel's counters)."),
		R("decap_bytes", decap_bytes, "decap_bytes", NULL,
		  "Bytes of those packets."),
		R("locator_unreachable", s->locator_unreachable, "locator_unreachable_total", NULL,
		  "ILA routes to a locator the kernel cannot reach."),
		R("resumed", s->resumed, "resumed_total", NULL,
		  "Workloads from before a restart registered again."),
		R("released", s->released, "released_total", NULL,
		  "Workloads from before a restart let go: they had moved."),
		R("lapsed", s->lapsed, "lapsed_total", NULL,
		  "Own mappings that lapsed at the mapper, registered again."),
		R("handovers", s->handovers, "handovers_total", NULL,
		  "Workloads handed over to their standby (live migration, source)."),
		R("handovers_refused", s->handovers_refused, "handovers_refused_total", NULL,
		  "Handovers refused: not attached, no standby elsewhere, no BPF data path."),
		R("incoming", s->incoming, "incoming_total", NULL,
		  "Prepared workloads delivered here before attach (live migration, destination)."),
		R("incoming_refused", s->incoming_refused, "incoming_refused_total", NULL,
		  "Incoming refused: not prepared here, no such interface, bad MAC, neighbour entry."),
		R("incoming_neigh_failed", s->incoming_neigh_failed, "incoming_neigh_failed_total",
		  NULL, "Neighbour entries of incoming workloads the kernel refused to write or remove."),
		R("incoming_neigh_restored", s->incoming_neigh_restored,
		  "incoming_neigh_restored_total", NULL,
		  "Neighbour entries of incoming workloads written again: gone or failed before attach."),
		R("subscriptions_refused", s->subscriptions_refused, "subscriptions_refused_total",
		  NULL, "Subscriptions the mapper refused."),
		R("mapper_identity_refused", s->mapper_identity_refused,
		  "mapper_identity_refused_total", NULL,
		  "Mapper certificates of the wrong name or role."),
		R("records_rejected_vn", s->records_rejected_vn, REJECTED, "reason=\"vn\"",
		  "Records from the mapper dropped before the cache, by reason."),
		R("records_rejected_family", s->records_rejected_family, REJECTED,
		  "reason=\"family\"", NULL),
		R("records_rejected_prefix", s->records_rejected_prefix, REJECTED,
		  "reason=\"prefix\"", NULL),
		R("cache_entries", (uint64_t)lh_table_length(d->cache), "cache_entries", NULL,
		  "Entries in the mapping cache."),
		R("od_entries", d->od ? (uint64_t)lh_table_length(d->od) : 0, "od_entries", NULL,
		  "cache on-demand: addresses that missed, held now."),
		R("od_misses", s->od_misses, "od_misses_total", NULL,
		  "cache on-demand: miss events read."),
		R("od_misses_bad", s->od_misses_bad, "od_misses_bad_total", NULL,
		  "cache on-demand: miss events outside the vn's prefix."),
		R("od_queries", s->od_queries, "od_queries_total", NULL,
		  "cache on-demand: QUERY frames sent for misses and refreshes."),
		R("od_installed", s->od_installed, "od_installed_total", NULL,
		  "cache on-demand: answers installed."),
		R("od_refreshed", s->od_refreshed, "od_refreshed_total", NULL,
		  "cache on-demand: entries in use asked again before their lifetime ran out."),
		R("od_no_mapping", s->od_no_mapping, "od_no_mapping_total", NULL,
		  "cache on-demand: answers without a mapping."),
		R("od_refused", s->od_refused, "od_refused_total", NULL,
		  "cache on-demand: queries the mapper refused."),
		R("od_negative_hits", s->od_negative_hits, "od_negative_hits_total", NULL,
		  "cache on-demand: misses of an address remembered without mapping."),
		R("od_forgotten", s->od_forgotten, "od_forgotten_total", NULL,
		  "cache on-demand: negative entries forgotten."),
		R("od_evicted", s->od_evicted, "od_evicted_total", NULL,
		  "cache on-demand: idle entries evicted."),
		R("od_released", s->od_released, "od_released_total", NULL,
		  "cache on-demand: evicted addresses released at the mapper."),
		R("od_pushed", s->od_pushed, "od_pushed_total", NULL,
		  "cache on-demand: changes of held entries pushed by the mapper."),
		R("od_full", s->od_full, "od_full_total", NULL,
		  "cache on-demand: misses not followed, on-demand-max reached."),
		R("local_workloads", (uint64_t)lh_table_length(d->locals), "local_workloads", NULL,
		  "Workloads attached, prepared or expected here."),
		R("control_commands", cs->commands, "control_commands_total", NULL,
		  "Control socket commands run."),
		R("control_errors", cs->errors, "control_errors_total", NULL,
		  "Control socket commands that failed."),
		R("control_readonly_refused", cs->readonly_refused, "control_readonly_refused_total",
		  NULL, "Commands refused on the read-only control socket."),
		R("gateway_applied", s->gateway_applied, "gateway_applied_total", NULL,
		  "Workload interfaces given their vn's gateway MAC and addresses."),
		R("gateway_errors", s->gateway_errors, "gateway_errors_total", NULL,
		  "Workload interfaces the gateway could not be given (show vn says why)."),
	};

	_Static_assert(ILA_ARRAY_SIZE(t) <= SHOW_STATS_ROWS, "SHOW_STATS_ROWS too small");
	memcpy(rows, t, sizeof(t));
	return ILA_ARRAY_SIZE(t);
}
#undef R
#undef REJECTED

int cmd_show_stats(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct ilad *d = ctx;
	struct ila_stat_row rows[SHOW_STATS_ROWS];
	size_t n = show_stats_rows(d, rows);
	json_object *o = a->json ? json_object_new_object() : NULL;

	for (size_t i = 0; i < n; i++) {
		if (o)
			json_object_object_add(o, rows[i].name, json_object_new_uint64(rows[i].v));
		else
			ila_buf_printf(out, "%-24s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
	}
	if (d->bpf_ops)
		show_bpf_print(d, o, out);
	return o ? ila_ctl_print_json(out, o) : ILA_CLI_SUCCESS;
}

/* The names of enum ila_bpf_counter (prefixed bpf_ in show stats), and the
 * label of each in the metric bpf_program_events_total. */
#define C(e, n) [e] = { n, "event=\"" n "\"" }
static const struct {
	const char *name;
	const char *label;
} bpf_counter_names[BPFPATH_COUNTERS] = {
	C(ILA_BPF_OUT_TRANSLATED, "out_translated"),
	C(ILA_BPF_OUT_MISS, "out_miss"),
	C(ILA_BPF_OUT_DOWN, "out_down"),
	C(ILA_BPF_OUT_REFUSED, "out_refused"),
	C(ILA_BPF_OUT_NOT_SIR, "out_not_sir"),
	C(ILA_BPF_OUT_NOT_IPV6, "out_not_ipv6"),
	C(ILA_BPF_MISS_EVENTS, "miss_events"),
	C(ILA_BPF_MISS_EVENTS_LOST, "miss_events_lost"),
	C(ILA_BPF_IN_TRANSLATED, "in_translated"),
	C(ILA_BPF_IN_PASSED, "in_passed"),
	C(ILA_BPF_OUT4_ENCAPSULATED, "out4_encapsulated"),
	C(ILA_BPF_OUT4_MISS, "out4_miss"),
	C(ILA_BPF_OUT4_DOWN, "out4_down"),
	C(ILA_BPF_OUT4_NOT_SIR, "out4_not_sir"),
	C(ILA_BPF_OUT4_FAILED, "out4_failed"),
	C(ILA_BPF_IN4_DECAPSULATED, "in4_decapsulated"),
	C(ILA_BPF_IN4_FAILED, "in4_failed"),
	C(ILA_BPF_IN4_REFUSED, "in4_refused"),
};
#undef C

#define BR(n, f, metric, label, help) { n, f, metric, label, help }
size_t show_bpf_rows(struct ilad *d, struct ila_stat_row *rows)
{
	const struct ilad_stats *s = &d->stats;
	static char names[BPFPATH_COUNTERS][40];
	uint64_t g[BPFPATH_COUNTERS] = { 0 };
	size_t n = 0;

	if (!d->bpf_ops)
		return 0;
	rows[n++] = (struct ila_stat_row)BR("bpf_batches", s->bpf_batches, "bpf_map_batches_total",
					   NULL, "Batches of ila_map updates written.");
	rows[n++] = (struct ila_stat_row)BR("bpf_set", s->bpf_set, "bpf_map_updates_total",
					   "op=\"set\"", "Mappings written to or deleted from ila_map.");
	rows[n++] = (struct ila_stat_row)BR("bpf_deleted", s->bpf_deleted, "bpf_map_updates_total",
					   "op=\"delete\"", NULL);
	rows[n++] = (struct ila_stat_row)BR("bpf_failures", s->bpf_failures,
					   "bpf_map_failures_total", NULL,
					   "Batches of ila_map updates the kernel refused (map full...).");
	(void)d->bpf_ops->global(d, g);
	for (size_t i = 0; i < BPFPATH_COUNTERS; i++) {
		if (!names[i][0])
			snprintf(names[i], sizeof(names[i]), "bpf_%s", bpf_counter_names[i].name);
		rows[n++] = (struct ila_stat_row)BR(names[i], g[i], "bpf_program_events_total",
						   bpf_counter_names[i].label,
						   "The BPF programs' own counters (doc/bpf.md), "
						   "summed over the CPUs.");
	}
	return n;
}
#undef BR

/* dataplane bpf: ilad's updates of ila_map and the programs' own counters. */
void show_bpf_print(struct ilad *d, json_object *o, struct ila_buf *out)
{
	struct ila_stat_row rows[SHOW_BPF_ROWS];
	size_t n = show_bpf_rows(d, rows);

	for (size_t i = 0; i < n; i++) {
		if (o)
			json_object_object_add(o, rows[i].name, json_object_new_uint64(rows[i].v));
		else
			ila_buf_printf(out, "%-24s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
	}
}
