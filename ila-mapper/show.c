/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "etcd.h"
#include "mapper.h"

/* Parses "ADDR" into a record key with its vn; writes an error otherwise. */
static int parse_addr(struct mapper *m, const char *s, struct ila_record *r, struct ila_buf *out)
{
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET6, s, &r->addr6) == 1)
		r->family = AF_INET6;
	else if (inet_pton(AF_INET, s, &r->addr4) == 1)
		r->family = AF_INET;
	else
		return -EINVAL;
	if (directory_vn_of(m, r, &r->vn) < 0) {
		ila_buf_printf(out, "%% %s is in no configured vn\n", s);
		return -ENOENT;
	}
	return 0;
}

struct map_show {
	struct mapper *m;
	struct ila_buf *out;
	json_object *arr;
	uint64_t now;
	unsigned n;
};

static int map_row(void *arg, const struct store_key *k, const struct mapping *mp)
{
	struct map_show *ms = arg;
	const struct ila_record *r = &mp->rec;
	char addr[INET6_ADDRSTRLEN], loc[ILA_LOCATOR_STRLEN], sb[ILA_LOCATOR_STRLEN] = "-";
	long long expires = (long long)mp->expires - (long long)ms->now;

	(void)k;
	mapper_rec_addr(r, addr, sizeof(addr));
	ila_locator_format(&r->loc, loc, sizeof(loc));
	if (r->has_standby)
		ila_locator_format(&r->standby, sb, sizeof(sb));
	ms->n++;
	if (ms->arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "vn", json_object_new_string(mapper_vn_name(ms->m, r->vn)));
		json_object_object_add(o, "vn_id", json_object_new_int64(r->vn));
		json_object_object_add(o, "address", json_object_new_string(addr));
		json_object_object_add(o, "locator", json_object_new_string(loc));
		json_object_object_add(o, "seq", json_object_new_uint64(r->seq));
		json_object_object_add(o, "state",
				       json_object_new_string(ila_record_state_name(r->state)));
		json_object_object_add(o, "node", json_object_new_string(r->node));
		if (r->has_standby) {
			json_object_object_add(o, "standby", json_object_new_string(sb));
			json_object_object_add(o, "standby_node",
					       json_object_new_string(mp->standby_node));
		}
		if (r->has_prev) {
			char prev[ILA_LOCATOR_STRLEN];

			ila_locator_format(&r->prev, prev, sizeof(prev));
			json_object_object_add(o, "previous_locator", json_object_new_string(prev));
		}
		json_object_object_add(o, "lifetime", json_object_new_int64(r->lifetime));
		json_object_object_add(o, "expires_in", json_object_new_int64(expires));
		json_object_object_add(o, "flags", json_object_new_int64(r->flags));
		json_object_object_add(o, "moves_in_window", json_object_new_int64(mp->moves));
		if (mp->frozen_until)
			json_object_object_add(
				o, "frozen_until",
				mp->frozen_until == STORE_FROZEN_PERMANENT
					? json_object_new_string("permanent")
					: json_object_new_uint64(mp->frozen_until));
		json_object_object_add(o, "journal_position", json_object_new_uint64(mp->jseq));
		json_object_array_add(ms->arr, o);
	} else {
		ila_buf_printf(ms->out, "%-10s %-39s %-19s %8llu %-7s %-12s %-19s %6lld\n",
			       mapper_vn_name(ms->m, r->vn), addr, loc, (unsigned long long)r->seq,
			       ila_record_state_name(r->state), r->node, sb, expires);
	}
	return 0;
}

static int cmd_show_mappings(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct mapper *m = ctx;
	struct map_show ms = { .m = m, .out = out, .now = ila_clock_wall_s() };
	uint32_t vn = 0;
	MDB_txn *txn;
	int rc;

	if (a->json)
		ms.arr = json_object_new_array();
	else
		ila_buf_printf(out, "%-10s %-39s %-19s %8s %-7s %-12s %-19s %6s\n", "VN", "ADDRESS",
			       "LOCATOR", "SEQ", "STATE", "NODE", "STANDBY", "EXPIRES");
	if (store_begin(&m->store, false, &txn) < 0) {
		json_object_put(ms.arr);
		ila_buf_printf(out, "%% store unavailable\n");
		return ILA_CLI_WARNING;
	}
	if (a->argc == 1) {
		int vi = ila_conf_vn_find(m->conf, a->argv[0]);
		char *end;
		unsigned long id = strtoul(a->argv[0], &end, 10);
		struct ila_record key;

		if (vi >= 0) {
			vn = m->conf->vns[vi].id;
		} else if (*end == '\0' && mapper_vn(m, (uint32_t)id)) {
			vn = (uint32_t)id;
		} else if ((rc = parse_addr(m, a->argv[0], &key, out)) == 0) {
			struct store_key k;
			struct mapping mp;

			store_key_of(&key, &k);
			if (store_get(&m->store, txn, &k, &mp) == 0)
				map_row(&ms, &k, &mp);
			goto done;
		} else {
			mdb_txn_abort(txn);
			json_object_put(ms.arr);
			if (rc == -EINVAL)
				ila_buf_printf(out, "%% %s is neither a vn nor an address\n",
					       a->argv[0]);
			return ILA_CLI_WARNING;
		}
	}
	store_scan(&m->store, txn, vn, NULL, map_row, &ms);
done:
	mdb_txn_abort(txn);
	if (ms.arr)
		return ila_ctl_print_list(out, "mappings", ms.arr);
	return ILA_CLI_SUCCESS;
}

static struct session *node_session(struct mapper *m, int node)
{
	for (struct session *s = session_next(m, NULL); s; s = session_next(m, s))
		if (session_node(s) == node && session_open(s))
			return s;
	return NULL;
}

static int cmd_show_nodes(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct mapper *m = ctx;
	json_object *arr = a->json ? json_object_new_array() : NULL;

	if (!arr)
		ila_buf_printf(out, "%-16s %-24s %-5s %-40s %10s %5s %9s\n", "NODE", "IDENTITY",
			       "STATE", "PEER", "UPTIME(s)", "SUBS", "QUEUED");
	for (unsigned i = 0; i < m->conf->n_nodes; i++) {
		struct session *s = node_session(m, (int)i);
		struct session_info si = { 0 };

		if (s)
			session_info(s, &si);
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "node", json_object_new_string(m->conf->nodes[i].name));
			json_object_object_add(o, "identity",
					       json_object_new_string(m->conf->nodes[i].identity));
			json_object_object_add(o, "state", json_object_new_string(s ? "up" : "down"));
			if (s) {
				json_object_object_add(o, "peer", json_object_new_string(si.peer));
				json_object_object_add(o, "uptime_ms", json_object_new_uint64(si.up_ms));
				json_object_object_add(o, "subscriptions", json_object_new_int64(si.nsubs));
				json_object_object_add(o, "queued_bytes", json_object_new_uint64(si.queued));
				json_object_object_add(o, "frames_in", json_object_new_uint64(si.frames_in));
				json_object_object_add(o, "frames_out", json_object_new_uint64(si.frames_out));
				json_object_object_add(o, "keepalive_ms", json_object_new_uint64(si.keepalive_ms));
				json_object_object_add(o, "dead_ms", json_object_new_uint64(si.dead_ms));
				json_object_object_add(o, "caps", json_object_new_uint64(si.caps));
			}
			json_object_array_add(arr, o);
		} else {
			ila_buf_printf(out, "%-16s %-24s %-5s %-40s %10llu %5u %9zu\n",
				       m->conf->nodes[i].name, m->conf->nodes[i].identity,
				       s ? "up" : "down", s ? si.peer : "-",
				       (unsigned long long)(si.up_ms / 1000), si.nsubs, si.queued);
		}
	}
	if (arr)
		return ila_ctl_print_list(out, "nodes", arr);
	return ILA_CLI_SUCCESS;
}

static int cmd_show_subscriptions(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct mapper *m = ctx;
	json_object *arr = a->json ? json_object_new_array() : NULL;

	if (!arr)
		ila_buf_printf(out, "%-16s %-10s %-8s %12s %10s %9s\n", "NODE", "VN", "STATE",
			       "POSITION", "LAG", "QUEUED");
	for (struct session *s = session_next(m, NULL); s; s = session_next(m, s)) {
		unsigned n;
		struct subscription *subs = session_subs(s, &n);

		for (unsigned i = 0; i < n; i++) {
			const struct subscription *sub = &subs[i];
			const char *st = sub->snapshot ? "snapshot" : sub->stalled ? "stalled" : "live";
			uint64_t pos = sub->snapshot ? sub->snap_pos : sub->pos;
			uint64_t lag = m->store.committed_jseq - pos;

			if (arr) {
				json_object *o = json_object_new_object();

				json_object_object_add(o, "node", json_object_new_string(session_node_name(s)));
				json_object_object_add(o, "vn", json_object_new_string(mapper_vn_name(m, sub->vn)));
				json_object_object_add(o, "state", json_object_new_string(st));
				json_object_object_add(o, "position", json_object_new_uint64(pos));
				json_object_object_add(o, "lag", json_object_new_uint64(lag));
				json_object_object_add(o, "queued_bytes",
						       json_object_new_uint64(session_queued(s)));
				json_object_array_add(arr, o);
			} else {
				ila_buf_printf(out, "%-16s %-10s %-8s %12llu %10llu %9zu\n",
					       session_node_name(s), mapper_vn_name(m, sub->vn), st,
					       (unsigned long long)pos, (unsigned long long)lag,
					       session_queued(s));
			}
		}
	}
	if (arr)
		return ila_ctl_print_list(out, "subscriptions", arr);
	return ILA_CLI_SUCCESS;
}

/* A name and a number, a line of show stats and show store. */
struct kv {
	const char *name;
	uint64_t v;
};

static void put_rows(json_object *o, struct ila_buf *out, const struct kv *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (o)
			json_object_object_add(o, rows[i].name, json_object_new_uint64(rows[i].v));
		else
			ila_buf_printf(out, "%-24s %llu\n", rows[i].name,
				       (unsigned long long)rows[i].v);
	}
}

/*
 * The counters of show stats, and their Prometheus names (metrics.c): one
 * table for both, so that a counter shown is a counter exported.
 */
#define R(n, f, metric, label, help) { n, f, metric, label, help }
#define REFUSED "registrations_refused_total"
#define REQ_REFUSED "requests_refused_total"
#define SES_FAILED "session_failures_total"
#define SES_REFUSED "sessions_refused_total"
size_t show_stats_rows(struct mapper *m, struct ila_stat_row *rows)
{
	const struct mapper_stats *st = &m->stats;
	const struct ila_ctl_stats *cs = ila_ctl_server_stats(m->ctl);
	const struct ila_stat_row t[] = {
		R("sessions_accepted", st->sessions_accepted, "sessions_accepted_total", NULL,
		  "Node connections accepted."),
		R("sessions_closed", st->sessions_closed, "sessions_closed_total", NULL,
		  "Node sessions closed, for any reason."),
		R("sessions_refused", st->sessions_refused, SES_REFUSED, "reason=\"max_sessions\"",
		  "Connections refused at accept, by reason."),
		R("sessions_up", m->nsessions, "sessions", NULL, "Node sessions open now."),
		R("tls_failures", st->tls_failures, SES_FAILED, "reason=\"tls\"",
		  "Sessions ended by a failure, by reason."),
		R("auth_failures", st->auth_failures, SES_FAILED, "reason=\"auth\"", NULL),
		R("open_errors", st->open_errors, SES_FAILED, "reason=\"open_error\"", NULL),
		R("dead_timer_expired", st->dead_timer_expired, SES_FAILED,
		  "reason=\"dead_timer\"", NULL),
		R("sessions_unauthenticated", m->nunauth, "sessions_unauthenticated", NULL,
		  "Connections not yet past OPEN."),
		R("preauth_refused", st->preauth_refused, SES_REFUSED,
		  "reason=\"limit_unauthenticated\"", NULL),
		R("preauth_source_refused", st->preauth_source_refused, SES_REFUSED,
		  "reason=\"limit_per_source\"", NULL),
		R("open_timeouts", st->open_timeouts, SES_FAILED, "reason=\"open_timeout\"", NULL),
		R("accept_pauses", st->accept_pauses, "accept_pauses_total", NULL,
		  "Times accepting paused: out of descriptors."),
		R("malformed_closes", st->malformed_closes, SES_FAILED,
		  "reason=\"malformed_limit\"", NULL),
		R("unsupported", st->unsupported, "unsupported_requests_total", NULL,
		  "Requests using a capability not negotiated."),
		R("frames_in", st->frames_in, "frames_received_total", NULL,
		  "Protocol frames received from nodes."),
		R("frames_out", st->frames_out, "frames_sent_total", NULL,
		  "Protocol frames sent to nodes."),
		R("malformed", st->malformed, "malformed_frames_total", NULL,
		  "Frames from nodes that did not decode."),
		R("unexpected", st->unexpected, "unexpected_messages_total", NULL,
		  "Messages a node must not send."),
		R("registrations", st->registrations, "registrations_total", NULL,
		  "Records registered and accepted (new, move or refresh)."),
		R("moves", st->moves, "moves_total", NULL, "Registrations that moved a mapping."),
		R("refreshes", st->refreshes, "refreshes_total", NULL,
		  "Registrations that refreshed a mapping."),
		R("standby_registrations", st->standby_registrations, "standby_registrations_total",
		  NULL, "Standby registrations accepted."),
		R("stale_seq", st->stale_seq, REFUSED, "reason=\"stale_seq\"",
		  "Registration records refused, by reason."),
		R("frozen_refused", st->frozen_refused, REFUSED, "reason=\"frozen\"", NULL),
		R("not_authorised", st->not_authorised, REFUSED, "reason=\"not_authorised\"", NULL),
		R("vn_unknown", st->vn_unknown, REFUSED, "reason=\"vn_unknown\"", NULL),
		R("addr_outside_vn", st->addr_outside_vn, REFUSED, "reason=\"addr_outside_vn\"",
		  NULL),
		R("no_mapping", st->no_mapping, REQ_REFUSED, "reason=\"no_mapping\"",
		  "Requests other than registrations refused, by reason."),
		R("deregistrations", st->deregistrations, "deregistrations_total", NULL,
		  "Records deregistered."),
		R("queries", st->queries, "queries_total", NULL, "Queries answered."),
		R("subscriptions", st->subscriptions, "subscriptions_total", NULL,
		  "Subscriptions accepted."),
		R("snapshots", st->snapshots, "snapshots_total", NULL, "Snapshots started."),
		R("resyncs", st->resyncs, "resyncs_total", NULL,
		  "Resumes too old for the journal: a snapshot instead."),
		R("push_frames", st->push_frames, "push_frames_total", NULL, "PUSH frames sent."),
		R("push_records", st->push_records, "push_records_total", NULL,
		  "Records sent in PUSH frames."),
		R("directed_pushes", st->directed_pushes, "directed_pushes_total", NULL,
		  "Directed pushes sent to a moved workload's old node."),
		R("subscriber_stalls", st->subscriber_stalls, "subscriber_stalls_total", NULL,
		  "Times a subscriber's queue was full and it was fed later."),
		R("overloaded", st->overloaded, SES_FAILED, "reason=\"overloaded\"", NULL),
		R("expired", st->expired, "expired_total", NULL, "Mappings expired."),
		R("failovers", st->failovers, "failovers_total", NULL,
		  "Mappings failed over to their standby."),
		R("failovers_skipped", st->failovers_skipped, "failovers_skipped_total", NULL,
		  "Failovers not done: the standby was not connected."),
		R("freezes", st->freezes, "freezes_total", NULL, "Mappings frozen by move damping."),
		R("unfreezes", st->unfreezes, "unfreezes_total", NULL,
		  "Mappings unfrozen by the operator."),
		R("freeze_ends", st->freeze_ends, "freeze_ends_total", NULL,
		  "Freezes that ran their time."),
		R("deletes", st->deletes, "deletes_total", NULL, "Mappings deleted by the operator."),
		R("not_subscribed", st->not_subscribed, REQ_REFUSED, "reason=\"not_subscribed\"",
		  NULL),
		R("query_not_authorised", st->query_not_authorised, REQ_REFUSED,
		  "reason=\"query_not_authorised\"", NULL),
		R("quota_node", st->quota_node, REFUSED, "reason=\"quota_node\"", NULL),
		R("quota_vn", st->quota_vn, REFUSED, "reason=\"quota_vn\"", NULL),
		R("quota_rate", st->quota_rate, REFUSED, "reason=\"quota_rate\"", NULL),
		R("seq_exhausted", st->seq_exhausted, REFUSED, "reason=\"seq_exhausted\"", NULL),
		R("tombstones_purged", st->tombstones_purged, "tombstones_purged_total", NULL,
		  "Removed mappings forgotten after lifetime max."),
		R("unavailable", st->unavailable, REQ_REFUSED, "reason=\"store_unavailable\"", NULL),
		R("watch_queries", st->watch_queries, "watch_queries_total", NULL,
		  "Queries with flag WATCH."),
		R("watch_added", st->watch_added, "watch_added_total", NULL,
		  "Interests (node, address) recorded by WATCH."),
		R("watch_refreshed", st->watch_refreshed, "watch_refreshed_total", NULL,
		  "Interests extended by a later WATCH."),
		R("watch_released", st->watch_released, "watch_released_total", NULL,
		  "Interests dropped by RELEASE."),
		R("watch_expired", st->watch_expired, "watch_expired_total", NULL,
		  "Interests that ran their lifetime."),
		R("watch_dropped", st->watch_dropped, "watch_dropped_total", NULL,
		  "Interests gone with their node's last session, or at a reload."),
		R("watch_quota", st->watch_quota, REQ_REFUSED, "reason=\"watch_quota\"", NULL),
		R("watch_push_frames", st->watch_push_frames, "watch_push_frames_total", NULL,
		  "PUSH frames with flag WATCHED."),
		R("watch_push_records", st->watch_push_records, "watch_push_records_total", NULL,
		  "Records in PUSH frames with flag WATCHED."),
		R("watched", m->watch_total, "watched", NULL,
		  "Interests (node, address) held now."),
		R("commits", st->commits, "commits_total", NULL, "Store commits."),
		R("commit_records", st->commit_records, "commit_records_total", NULL,
		  "Records in store commits."),
		R("commit_failures", st->commit_failures, "commit_failures_total", NULL,
		  "Store commits that failed."),
		R("control_commands", cs->commands, "control_commands_total", NULL,
		  "Control socket commands run."),
		R("control_errors", cs->errors, "control_errors_total", NULL,
		  "Control socket commands that failed."),
		R("control_oversized", cs->oversized, "control_oversized_total", NULL,
		  "Control socket requests too long."),
		R("control_readonly_refused", cs->readonly_refused, "control_readonly_refused_total",
		  NULL, "Commands refused on the read-only control socket."),
	};

	_Static_assert(ILA_ARRAY_SIZE(t) <= SHOW_STATS_ROWS, "SHOW_STATS_ROWS too small");
	memcpy(rows, t, sizeof(t));
	return ILA_ARRAY_SIZE(t);
}
#undef R
#undef REFUSED
#undef REQ_REFUSED
#undef SES_FAILED
#undef SES_REFUSED

static void put_stat_rows(json_object *o, struct ila_buf *out, const struct ila_stat_row *rows,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (o)
			json_object_object_add(o, rows[i].name, json_object_new_uint64(rows[i].v));
		else
			ila_buf_printf(out, "%-24s %llu\n", rows[i].name,
				       (unsigned long long)rows[i].v);
	}
}

static int cmd_show_stats(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct mapper *m = ctx;
	const struct mapper_stats *st = &m->stats;
	struct store_stats ss;
	struct ila_stat_row rows[SHOW_STATS_ROWS];
	size_t n = show_stats_rows(m, rows);
	json_object *o = a->json ? json_object_new_object() : NULL;
	json_object *mal = a->json ? json_object_new_object() : NULL;

	store_stats(&m->store, &ss);
	put_stat_rows(o, out, rows, n);
	for (int c = ILA_PERR_SHORT_HEADER; c <= ILA_PERR_RECORD_MALFORMED; c++) {
		uint64_t v = st->malformed_by_code[c - ILA_PERR_SHORT_HEADER];

		if (mal)
			json_object_object_add(mal, ila_proto_err_name(c), json_object_new_uint64(v));
		else if (v)
			ila_buf_printf(out, "  malformed %-13s %llu\n", ila_proto_err_name(c),
				       (unsigned long long)v);
	}
	if (!o) {
		ila_buf_printf(out, "%-24s %llu\n%-24s %llu\n%-24s %llu\n%-24s %llu\n%-24s %llu\n",
			       "store_mappings", (unsigned long long)ss.mappings, "store_tombstones",
			       (unsigned long long)ss.tombstones, "store_journal",
			       (unsigned long long)ss.journal, "store_used_bytes",
			       (unsigned long long)ss.used, "journal_position",
			       (unsigned long long)m->store.committed_jseq);
		return ILA_CLI_SUCCESS;
	}
	json_object_object_add(o, "malformed_by_kind", mal);
	json_object_object_add(o, "store_mappings", json_object_new_uint64(ss.mappings));
	json_object_object_add(o, "store_tombstones", json_object_new_uint64(ss.tombstones));
	json_object_object_add(o, "store_journal", json_object_new_uint64(ss.journal));
	json_object_object_add(o, "store_used_bytes", json_object_new_uint64(ss.used));
	json_object_object_add(o, "store_map_bytes", json_object_new_uint64(ss.map_size));
	json_object_object_add(o, "journal_position",
			       json_object_new_uint64(m->store.committed_jseq));
	json_object_object_add(o, "uptime_ms",
			       json_object_new_uint64(mapper_now_ms() - m->started));
	return ila_ctl_print_json(out, o);
}

static void put_str(json_object *o, struct ila_buf *out, const char *name, const char *v)
{
	if (o)
		json_object_object_add(o, name, json_object_new_string(v));
	else
		ila_buf_printf(out, "%-24s %s\n", name, v);
}

static int cmd_show_store(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct mapper *m = ctx;
	const struct ila_conf *c = m->conf;
	json_object *o = a->json ? json_object_new_object() : NULL;
	struct store_stats ss;
	char id[24];

	store_stats(&m->store, &ss);
	put_str(o, out, "backend", c->store_etcd ? "etcd" : "lmdb");
	put_str(o, out, c->store_etcd ? "cache" : "path", c->store);
	snprintf(id, sizeof(id), "%016llx",
		 (unsigned long long)(c->store_etcd ? m->estore.directory : m->store.id));
	put_str(o, out, "directory", id);
	const struct kv rows[] = {
		{ "mappings", ss.mappings },
		{ "tombstones", ss.tombstones },
		{ "journal_entries", ss.journal },
		{ "journal_position", m->store.committed_jseq },
		{ "used_bytes", ss.used },
		{ "map_bytes", ss.map_size },
	};

	put_rows(o, out, rows, ILA_ARRAY_SIZE(rows));
	if (c->store_etcd) {
		const struct estore *e = &m->estore;
		const struct etcd_counters *ec = etcd_counters(e->etcd);
		const struct kv erows[] = {
			{ "revision", (uint64_t)e->rev },
			{ "lease", (uint64_t)e->lease },
			{ "transactions", e->stats.txns },
			{ "transaction_conflicts", e->stats.txn_conflicts },
			{ "transaction_failures", e->stats.txn_failures },
			{ "transaction_unknown", e->stats.txn_unknown },
			{ "watch_events", e->stats.events },
			{ "bad_values", e->stats.bad_values },
			{ "copy_reread", e->stats.resyncs },
			{ "lease_grants", e->stats.lease_grants },
			{ "lease_lost", e->stats.lease_lost },
			{ "presence_puts", e->stats.presence_puts },
			{ "presence_dels", e->stats.presence_dels },
			{ "requests", ec->requests },
			{ "requests_ok", ec->ok },
			{ "retries", ec->retries },
			{ "endpoint_failovers", ec->failovers },
			{ "watch_reconnects", ec->watch_reconnects },
			{ "answers_malformed", ec->malformed },
			{ "bytes_sent", ec->bytes_sent },
			{ "bytes_received", ec->bytes_received },
		};

		put_str(o, out, "prefix", c->etcd_prefix);
		put_str(o, out, "state", !e->ready ? "loading" : e->reachable ? "ready" : "unreachable");
		put_str(o, out, "endpoint", etcd_endpoint_url(e->etcd, etcd_endpoint_current(e->etcd)));
		if (e->why[0])
			put_str(o, out, "reason", e->why);
		put_rows(o, out, erows, ILA_ARRAY_SIZE(erows));
	}
	if (!o)
		return ILA_CLI_SUCCESS;
	return ila_ctl_print_json(out, o);
}

static int cmd_show_running(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	struct mapper *m = ctx;

	return ila_ctl_running_config(m->conf, a->json, out);
}

static int change_cmd(struct mapper *m, const char *arg, bool del, struct ila_buf *out)
{
	struct ila_record key;
	int rc = parse_addr(m, arg, &key, out);

	if (rc == -EINVAL) {
		ila_buf_printf(out, "%% %s is not an address\n", arg);
		return ILA_CLI_WARNING;
	}
	if (rc < 0)
		return ILA_CLI_WARNING;
	rc = del ? directory_delete(m, &key) : directory_unfreeze(m, &key);
	if (rc == -ENOENT) {
		ila_buf_printf(out, "%% no mapping for %s\n", arg);
		return ILA_CLI_WARNING;
	}
	if (rc < 0) {
		ila_buf_printf(out, "%% %s: %s\n", arg, strerror(-rc));
		return ILA_CLI_WARNING;
	}
	log_notice("%s %s by the operator", del ? "deleted" : "unfroze", arg);
	return ILA_CLI_SUCCESS;
}

static int cmd_unfreeze(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	return change_cmd(ctx, a->argv[0], false, out);
}

static int cmd_delete(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	return change_cmd(ctx, a->argv[0], true, out);
}

#define NCOMMANDS 9
static const struct ila_cli_cmd commands[NCOMMANDS];

static int cmd_help(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	(void)ctx;
	(void)a;
	ila_cli_help(commands, NCOMMANDS, out);
	return ILA_CLI_SUCCESS;
}

static const struct ila_cli_cmd commands[NCOMMANDS] = {
	{ "show mappings [VN-OR-ADDR]", "the mapping table, of one vn or one address",
	  cmd_show_mappings },
	{ "show nodes", "configured nodes and their sessions", cmd_show_nodes },
	{ "show subscriptions", "subscriptions, their journal position and lag",
	  cmd_show_subscriptions },
	{ "show stats", "counters of every kind of event, refusal and error", cmd_show_stats },
	{ "show store", "the store: backend, position, and with etcd its state and counters",
	  cmd_show_store },
	{ "show running-config", "the configuration in force", cmd_show_running },
	{ "unfreeze ADDR", "lift move damping from a mapping", cmd_unfreeze },
	{ "delete ADDR", "remove a mapping (pushed as removed)", cmd_delete },
	{ "help", "this list", cmd_help },
};

/* "help" and "show ..." are read-only (ila_cli_is_readonly()); unfreeze and
 * delete change state: the read-only socket refuses them. */
int show_open(struct mapper *m, uid_t owner, gid_t group, char *err, size_t errlen)
{
	const struct ila_ctl_config cfg = {
		.path = m->conf->control,
		.readonly_path = m->conf->control_readonly,
		.owner = owner,
		.group = group,
	};

	return ila_ctl_server_open(&m->ctl, m->loop, &cfg, commands, NCOMMANDS, m, err, errlen);
}

void show_close(struct mapper *m)
{
	ila_ctl_server_close(m->ctl);
	m->ctl = NULL;
}

