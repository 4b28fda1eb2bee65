/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "ilad.h"

#define MC_RETRY_S 1.0	    /* pause after every mapper failed in a row, doubled */
#define MC_RETRY_MAX_S 30.0 /* ... up to this */
#define MC_NEXT_JITTER_S 0.1 /* the next mapper: at most this late, at random */
#define MC_QUEUE_LIMIT (8u << 20)

static void mc_connect(struct ilad *d);
static void mc_io_cb(struct ev_loop *loop, ev_io *w, int revents);

const char *mc_state_name(enum mc_state s)
{
	static const char *const names[] = {
		[MC_IDLE] = "idle", [MC_CONNECTING] = "connecting", [MC_HANDSHAKE] = "tls-handshake",
		[MC_OPENSENT] = "open-sent", [MC_UP] = "up",
	};

	return (unsigned)s < ILA_ARRAY_SIZE(names) ? names[s] : "?";
}

bool mc_up(const struct ilad *d)
{
	return d->mc == MC_UP;
}

bool mc_vn_synced(const struct ilad *d, uint32_t vn)
{
	if (d->mc != MC_UP)
		return false;
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		if (d->sync[i].vn == vn)
			return d->sync[i].synced || d->sync[i].refused;
	return false;
}

bool mc_all_synced(const struct ilad *d)
{
	if (d->mc != MC_UP)
		return false;
	if (d->conf->cache == ILA_CONF_CACHE_ON_DEMAND)
		return true; /* nothing is subscribed: the session is all there is */
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		if (!mc_vn_synced(d, d->conf->vns[i].id))
			return false;
	return true;
}

static const char *mapper_name(const struct ilad *d, char *buf, size_t len)
{
	const struct ila_conf_endpoint *ep = &d->conf->mappers[d->mapper];
	char host[INET6_ADDRSTRLEN];

	inet_ntop(ep->family, &ep->addr, host, sizeof(host));
	snprintf(buf, len, ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, ep->port);
	return buf;
}

static void txns_free(struct ilad *d)
{
	while (d->txns) {
		struct txn *t = d->txns;

		d->txns = t->next;
		free(t->keys);
		free(t);
	}
}

static void mc_watch(struct ilad *d)
{
	int events = 0;

	if (d->mc == MC_IDLE)
		return;
	if (d->mc == MC_CONNECTING)
		events = EV_WRITE;
	else
		events = EV_READ | (ila_frame_writer_pending(&d->wr) || d->conn.want_write ? EV_WRITE : 0);
	if ((d->mc_io.events & (EV_READ | EV_WRITE)) != events) {
		ev_io_stop(d->loop, &d->mc_io);
		ev_io_set(&d->mc_io, d->fd, events);
		ev_io_start(d->loop, &d->mc_io);
	}
}

static void mc_close(struct ilad *d)
{
	ev_io_stop(d->loop, &d->mc_io);
	ev_timer_stop(d->loop, &d->mc_timer);
	ev_timer_stop(d->loop, &d->ka_timer);
	ev_timer_stop(d->loop, &d->refresh_timer);
	if (d->mc >= MC_HANDSHAKE)
		ila_conn_close(&d->conn);
	else if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	ila_frame_reader_free(&d->rd);
	ila_frame_writer_free(&d->wr);
	txns_free(d);
	for (unsigned i = 0; i < ILA_CONF_MAX_VNS; i++) {
		d->sync[i].in_snapshot = false;
		d->sync[i].synced = false;
		d->sync[i].refused = false;
	}
	d->mc = MC_IDLE;
	d->rejects_logged = 0;
}

/*
 * When to try the next mapper: soon, at a random moment within
 * MC_NEXT_JITTER_S (so that the nodes of a mapper that died do not all
 * arrive at the next one in the same millisecond); after a full round of
 * failures, MC_RETRY_S doubled for each round in a row, up to
 * MC_RETRY_MAX_S, between half and one and a half times that.
 */
static double mc_retry_delay(struct ilad *d)
{
	uint32_t r = 0;
	double u;

	ila_random_bytes(&r, sizeof(r)); /* on failure, no jitter: still bounded */
	u = r / 4294967296.0; /* 0..1 */

	if (d->failures_in_row < d->conf->n_mappers)
		return 0.001 + u * MC_NEXT_JITTER_S;
	d->failures_in_row = 0;
	double base = MC_RETRY_S;

	for (unsigned i = 0; i < d->rounds_failed && base < MC_RETRY_MAX_S; i++)
		base *= 2;
	if (base > MC_RETRY_MAX_S)
		base = MC_RETRY_MAX_S;
	d->rounds_failed++;
	return base * (0.5 + u);
}

/* The session failed: try the next mapper, pausing after a full round. */
static void mc_fail(struct ilad *d, const char *fmt, ...) ILA_PRINTF(2, 3);
static void mc_fail(struct ilad *d, const char *fmt, ...)
{
	char who[64];
	va_list ap;
	bool was_up = d->mc == MC_UP;

	va_start(ap, fmt);
	vsnprintf(d->mc_error, sizeof(d->mc_error), fmt, ap);
	va_end(ap);
	d->stats.mapper_failures++;
	ila_log(was_up ? ILA_LOG_WARNING : ILA_LOG_INFO, "mapper %s: %s%s",
		mapper_name(d, who, sizeof(who)), d->mc_error,
		was_up ? ": keeping the cache, trying the next mapper" : "");
	mc_close(d);
	if (was_up) {
		ilad_event(d, "mapper-down", NULL, d->mc_error);
		d->stats.mapper_failovers++;
		d->failures_in_row = 0;
	}
	d->failures_in_row++;
	d->mapper = (d->mapper + 1) % (int)d->conf->n_mappers;
	ev_timer_stop(d->loop, &d->retry_timer);
	ev_timer_set(&d->retry_timer, mc_retry_delay(d), 0.);
	ev_timer_start(d->loop, &d->retry_timer);
}

static int mc_send(struct ilad *d, const struct ila_msg *m)
{
	int rc = ila_frame_writer_put_msg(&d->wr, m);

	if (rc < 0) {
		log_err("mapper session: cannot queue %s: %s", ila_msg_type_name(m->type),
			ila_proto_strerror(rc));
		return rc;
	}
	return 0;
}

static void mc_flush(struct ilad *d)
{
	while (d->mc >= MC_OPENSENT && ila_frame_writer_pending(&d->wr)) {
		const uint8_t *p;
		size_t n = ila_frame_writer_peek(&d->wr, &p);
		ssize_t w = ila_conn_write(&d->conn, p, n);

		if (w == -EAGAIN)
			break;
		if (w < 0) {
			mc_fail(d, "write: %s", strerror((int)-w));
			return;
		}
		ila_frame_writer_consume(&d->wr, (size_t)w);
	}
	mc_watch(d);
}

static void fill_record(struct ilad *d, const struct local *l, uint8_t type, struct ila_record *r)
{
	const struct ila_locator *loc = ilad_locator_for(d, l->key.vn);

	memset(r, 0, sizeof(*r));
	ilad_key_to_record(&l->key, r);
	r->seq = l->seq;
	if (type == ILA_MSG_DEREGISTER) {
		r->state = l->down ? ILA_STATE_DOWN : ILA_STATE_REMOVED;
		if (l->standby)
			r->flags |= ILA_REC_F_STANDBY_REG;
		return;
	}
	if (loc)
		r->loc = *loc;
	r->state = ILA_STATE_UP;
	r->lifetime = d->conf->registration_lifetime_s;
	if (l->state == LOCAL_PREPARED)
		r->flags |= ILA_REC_F_STANDBY_REG;
}

int64_t mc_register(struct ilad *d, struct local **locals, size_t n, uint8_t type)
{
	struct ila_record *recs;
	struct ila_msg tmpl = { .type = type }, m;
	struct ila_msg_batch b;
	size_t done = 0;
	uint32_t last = 0;

	if (d->mc != MC_UP || n == 0)
		return 0; /* everything is registered again when the session comes up */
	recs = calloc(n, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		fill_record(d, locals[i], type, &recs[i]);
	tmpl.rec = recs;
	tmpl.nrec = n;
	ila_msg_batch_init(&b, &tmpl, 0);
	while (ila_msg_batch_next(&b, &m) == 1) {
		struct txn *t = calloc(1, sizeof(*t));

		if (!t || !(t->keys = calloc(m.nrec, sizeof(*t->keys)))) {
			free(t);
			break;
		}
		m.xid = ++d->next_xid;
		t->xid = m.xid;
		t->type = type;
		t->n = m.nrec;
		for (size_t i = 0; i < m.nrec; i++) {
			t->keys[i] = locals[done + i]->key;
			locals[done + i]->reg_xid = m.xid;
		}
		done += m.nrec;
		if (mc_send(d, &m) < 0) {
			free(t->keys);
			free(t);
			break;
		}
		t->next = d->txns;
		d->txns = t;
		last = t->xid;
		if (type == ILA_MSG_REGISTER)
			d->stats.registrations_sent += m.nrec;
		else
			d->stats.deregistrations_sent += m.nrec;
	}
	free(recs);
	mc_flush(d);
	return last;
}

int64_t mc_query(struct ilad *d, uint32_t vn, const struct ilad_key *keys, size_t n)
{
	uint32_t last = 0;

	if (d->mc != MC_UP)
		return 0;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < ILA_PROTO_MAX_RECORDS ? n - done : ILA_PROTO_MAX_RECORDS;
		struct ila_msg m = { .type = ILA_MSG_QUERY };
		struct txn *t = calloc(1, sizeof(*t));
		struct ila_record *q = calloc(k, sizeof(*q));

		if (!t || !q || !(t->keys = calloc(k, sizeof(*t->keys)))) {
			free(t);
			free(q);
			return -ENOMEM;
		}
		for (size_t i = 0; i < k; i++) {
			ilad_key_to_record(&keys[done + i], &q[i]);
			t->keys[i] = keys[done + i];
		}
		m.xid = ++d->next_xid;
		m.sub.vn = vn;
		/* on demand: the mapper pushes what changes of what we asked for */
		if (d->conf->cache == ILA_CONF_CACHE_ON_DEMAND && (d->mapper_caps & ILA_CAP_WATCH))
			m.sub.flags = ILA_QUERY_F_WATCH;
		m.rec = q;
		m.nrec = k;
		t->xid = m.xid;
		t->type = ILA_MSG_QUERY;
		t->n = k;
		if (mc_send(d, &m) < 0) {
			free(q);
			free(t->keys);
			free(t);
			return -ENOBUFS;
		}
		free(q);
		t->next = d->txns;
		d->txns = t;
		last = t->xid;
		done += k;
	}
	mc_flush(d);
	return last;
}

int64_t mc_release(struct ilad *d, uint32_t vn, const struct ilad_key *keys, size_t n)
{
	uint32_t last = 0;

	if (d->mc != MC_UP || !(d->mapper_caps & ILA_CAP_WATCH))
		return 0;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < ILA_PROTO_MAX_RECORDS ? n - done : ILA_PROTO_MAX_RECORDS;
		struct ila_msg m = { .type = ILA_MSG_QUERY };
		struct ila_record *q = calloc(k, sizeof(*q));

		if (!q)
			return -ENOMEM;
		for (size_t i = 0; i < k; i++)
			ilad_key_to_record(&keys[done + i], &q[i]);
		m.xid = ++d->next_xid;
		m.sub.vn = vn;
		m.sub.flags = ILA_QUERY_F_RELEASE;
		m.rec = q;
		m.nrec = k;
		/* no txn: the empty REPLY only says it is done */
		if (mc_send(d, &m) < 0) {
			free(q);
			return -ENOBUFS;
		}
		free(q);
		last = m.xid;
		done += k;
	}
	mc_flush(d);
	return last;
}

/* Registers every local workload again (session up, and lifetime refresh). */
static void register_all(struct ilad *d)
{
	size_t n = (size_t)lh_table_length(d->locals), nreg = 0, ndereg = 0;
	struct local **reg = calloc(n ? n : 1, sizeof(*reg)), **dereg = calloc(n ? n : 1, sizeof(*dereg));
	struct lh_entry *le;

	if (!reg || !dereg)
		goto out;
	lh_foreach(d->locals, le) {
		struct local *l = lh_entry_v(le);

		if (l->resync)
			continue; /* waits for the mapper's view of it (local_resync) */
		if (l->state == LOCAL_ATTACHED || l->state == LOCAL_PREPARED)
			reg[nreg++] = l;
		else if (l->state == LOCAL_DETACHED)
			dereg[ndereg++] = l;
	}
	mc_register(d, reg, nreg, ILA_MSG_REGISTER);
	mc_register(d, dereg, ndereg, ILA_MSG_DEREGISTER);
out:
	free(reg);
	free(dereg);
}

/* cache on-demand: the node's own workloads stay watched (QUERY with
 * WATCH), so that the mapper pushes what befalls them (a lapse, a move
 * away) although the node subscribes to nothing; asked at session up and
 * at each refresh, well within the mapper's watch lifetime by default. */
static void watch_own(struct ilad *d)
{
	size_t n = (size_t)lh_table_length(d->locals);
	struct ilad_key *keys;
	struct lh_entry *le;

	if (d->conf->cache != ILA_CONF_CACHE_ON_DEMAND || !(d->mapper_caps & ILA_CAP_WATCH) || !n)
		return;
	if (!(keys = calloc(n, sizeof(*keys))))
		return;
	for (unsigned v = 0; v < d->conf->n_vns; v++) {
		size_t k = 0;

		lh_foreach(d->locals, le) {
			const struct local *l = lh_entry_v(le);

			/* those waiting for their view are asked by local_resync.c */
			if (l->key.vn == d->conf->vns[v].id && !l->resync &&
			    (l->state == LOCAL_ATTACHED || l->state == LOCAL_PREPARED))
				keys[k++] = l->key;
		}
		if (k)
			mc_query(d, d->conf->vns[v].id, keys, k);
	}
	free(keys);
}

static void refresh_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	register_all(w->data);
	watch_own(w->data);
}

static void subscribe_all(struct ilad *d)
{
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		struct vn_sync *s = &d->sync[i];
		struct ila_msg m = { .type = ILA_MSG_SUBSCRIBE };

		if (s->vn != d->conf->vns[i].id) {
			memset(s, 0, sizeof(*s));
			s->vn = d->conf->vns[i].id;
			s->mapper = -1;
		}
		m.xid = ++d->next_xid;
		s->sub_xid = m.xid;
		m.sub.vn = s->vn;
		/* journal positions mean something only in the directory that gave
		 * them: mappers that say the same directory share them; one that
		 * says none, only itself */
		m.sub.resume_seq = (s->directory ? s->directory == d->directory
						 : s->mapper == d->mapper && !d->directory)
					   ? s->pos
					   : 0;
		mc_send(d, &m);
	}
}

static struct vn_sync *sync_of(struct ilad *d, uint32_t vn)
{
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		if (d->sync[i].vn == vn)
			return &d->sync[i];
	return NULL;
}

enum { REJ_VN, REJ_FAMILY, REJ_PREFIX };

/*
 * Whether a record from the mapper may reach the cache: of a vn this node
 * serves, of a family the vn has, its address inside the vn's SIR prefix or
 * IPv4 prefix. Else it is counted and logged (once per session and reason).
 */
static bool record_ok(struct ilad *d, const char *what, const struct ila_record *r)
{
	const struct ila_conf_vn *vn = ilad_vn(d, r->vn);
	uint64_t *count;
	const char *why;
	int reason;

	if (!vn) {
		reason = REJ_VN, count = &d->stats.records_rejected_vn;
		why = "of a vn this node does not serve";
	} else if (r->family == AF_INET6) {
		if (ila_sir_prefix_contains(&vn->sir_prefix, &r->addr6))
			return true;
		reason = REJ_PREFIX, count = &d->stats.records_rejected_prefix;
		why = "outside the vn's sir-prefix";
	} else if (vn->ipv4_prefix.family != AF_INET) {
		reason = REJ_FAMILY, count = &d->stats.records_rejected_family;
		why = "of IPv4 in a vn without ipv4-prefix";
	} else {
		const struct ila_conf_prefix *p = &vn->ipv4_prefix;
		uint32_t mask = p->len ? htonl(~0u << (32 - p->len)) : 0;

		if ((r->addr4.s_addr & mask) == (p->addr.v4.s_addr & mask))
			return true;
		reason = REJ_PREFIX, count = &d->stats.records_rejected_prefix;
		why = "outside the vn's ipv4-prefix";
	}
	(*count)++;
	if (!(d->rejects_logged & 1u << reason)) {
		char a[INET6_ADDRSTRLEN];

		d->rejects_logged |= 1u << reason;
		inet_ntop(r->family, r->family == AF_INET6 ? (const void *)&r->addr6
							   : (const void *)&r->addr4, a, sizeof(a));
		log_warn("mapper sent in a %s a record %s (vn %u, %s): dropped; no more such "
			 "lines this session, see records_rejected_* in show stats", what, why,
			 r->vn, a);
	}
	return false;
}

/* The records of a PUSH, checked, into the cache (and the on-demand entries). */
static void push_apply(struct ilad *d, const struct ila_msg *m)
{
	for (size_t i = 0; i < m->nrec; i++) {
		if (!record_ok(d, "PUSH", &m->rec[i]))
			continue;
		cache_apply(d, &m->rec[i]);
		if (d->od)
			ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_OD_PUSHED, .has_rec = true,
							.rec = m->rec[i] });
	}
}

static void handle_push(struct ilad *d, const struct ila_msg *m)
{
	struct vn_sync *s = sync_of(d, m->push.vn);
	uint64_t t0 = ila_clock_mono_us();
	bool was_synced, live;

	if (!s && (m->push.flags & (ILA_PUSH_F_DIRECTED | ILA_PUSH_F_WATCHED)) &&
	    ilad_vn(d, m->push.vn)) {
		/* not of a subscription (an on-demand node subscribes to
		 * nothing): applied, no position kept */
		d->stats.pushes++;
		d->stats.push_records += m->nrec;
		push_apply(d, m);
		cache_flush(d);
		if (m->nrec)
			ila_hist_observe(&d->convergence, (double)(ila_clock_mono_us() - t0) / 1e6);
		return;
	}
	if (!s) {
		/* a vn we do not serve: nothing of it is applied */
		for (size_t i = 0; i < m->nrec; i++)
			record_ok(d, "PUSH", &m->rec[i]);
		return;
	}
	was_synced = s->synced;
	live = !s->in_snapshot && !(m->push.flags & ILA_PUSH_F_SNAPSHOT_BEGIN) && m->nrec;
	d->stats.pushes++;
	d->stats.push_records += m->nrec;
	if (ilad_monitoring(d)) {
		char detail[96];

		snprintf(detail, sizeof(detail), "vn %u, %zu records, position %llu%s%s", m->push.vn,
			 m->nrec, (unsigned long long)m->push.high_seq,
			 m->push.flags & ILA_PUSH_F_SNAPSHOT_BEGIN ? ", snapshot" : "",
			 m->push.flags & ILA_PUSH_F_DIRECTED ? ", directed" :
			 m->push.flags & ILA_PUSH_F_WATCHED ? ", watched" : "");
		ilad_event(d, "push", NULL, detail);
	}
	if (m->push.flags & ILA_PUSH_F_SNAPSHOT_BEGIN) {
		d->stats.snapshots++;
		s->in_snapshot = true;
		cache_snapshot_begin(d, s->vn);
	}
	d->applying_snapshot = s->in_snapshot; /* 8.7: a snapshot record wins */
	push_apply(d, m);
	d->applying_snapshot = false;
	if (m->push.flags & ILA_PUSH_F_SNAPSHOT_END) {
		s->in_snapshot = false;
		cache_snapshot_end(d, s->vn);
	}
	if (!(m->push.flags & (ILA_PUSH_F_MORE | ILA_PUSH_F_DIRECTED | ILA_PUSH_F_WATCHED)) &&
	    !s->in_snapshot) {
		s->pos = m->push.high_seq;
		s->mapper = d->mapper;
		s->directory = d->directory;
		s->synced = true;
	}
	/* each push is applied as one netlink batch */
	cache_flush(d);
	/* move convergence: a change pushed, in the data path (snapshots are
	 * bulk loads, not moves) */
	if (live)
		ila_hist_observe(&d->convergence, (double)(ila_clock_mono_us() - t0) / 1e6);
	if (s->synced && !was_synced)
		ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_RESYNC, .vn = s->vn });
}

static void handle_ack(struct ilad *d, const struct ila_msg *m)
{
	for (struct txn **pp = &d->txns; *pp; pp = &(*pp)->next) {
		struct txn *t = *pp;

		if (t->xid != m->xid)
			continue;
		*pp = t->next;
		for (size_t i = 0; i < t->n; i++) {
			uint16_t st = i < m->ack.nstatus ? m->ack.status[i] : 0;

			ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_REGISTERED, .has_key = true,
							.key = t->keys[i], .msg_type = t->type,
							.status = st, .xid = t->xid });
		}
		free(t->keys);
		free(t);
		return;
	}
}

/* The answer to a QUERY: the mapper's current view of those addresses
 * (an address without a mapping is left out). */
static void handle_reply(struct ilad *d, const struct ila_msg *m)
{
	struct txn *t = NULL;

	for (struct txn **pp = &d->txns; *pp; pp = &(*pp)->next) {
		if ((*pp)->xid == m->xid && (*pp)->type == ILA_MSG_QUERY) {
			t = *pp;
			*pp = t->next;
			break;
		}
	}
	for (size_t i = 0; i < m->nrec; i++)
		if (record_ok(d, "REPLY", &m->rec[i]))
			cache_apply(d, &m->rec[i]);
	cache_flush(d);
	if (!t)
		return;
	ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_ANSWERED, .keys = t->keys, .n = t->n,
					.recs = m->rec, .nrec = m->nrec });
	free(t->keys);
	free(t);
}

/* An ERROR answering one of our requests: nothing of it was done. */
static void handle_refusal(struct ilad *d, const struct ila_msg *m)
{
	for (struct txn **pp = &d->txns; *pp; pp = &(*pp)->next) {
		struct txn *t = *pp;

		if (t->xid != m->xid)
			continue;
		*pp = t->next;
		if (t->type == ILA_MSG_QUERY) {
			/* the workloads it asked about go by the subscription's view */
			log_warn("mapper answered a QUERY of %zu addresses with %s: %s", t->n,
				 ila_proto_err_name(m->error.code), m->error.text);
			ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_ANSWERED, .keys = t->keys,
							.n = t->n, .status = m->error.code });
			free(t->keys);
			free(t);
			return;
		}
		log_warn("mapper answered %s of %zu records with %s: %s; sent again at the next "
			 "refresh", ila_msg_type_name(t->type), t->n, ila_proto_err_name(m->error.code),
			 m->error.text);
		for (size_t i = 0; i < t->n; i++)
			ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_UNANSWERED, .has_key = true,
							.key = t->keys[i], .xid = t->xid,
							.status = m->error.code });
		free(t->keys);
		free(t);
		return;
	}
	for (unsigned i = 0; i < d->conf->n_vns; i++) {
		struct vn_sync *s = &d->sync[i];
		const struct ila_conf_vn *vn = ilad_vn(d, s->vn);

		if (!s->sub_xid || s->sub_xid != m->xid)
			continue;
		s->sub_xid = 0;
		s->refused = true;
		d->stats.subscriptions_refused++;
		log_err("mapper refused the subscription to vn %s: %s: %s; its routes are not "
			"kept up to date", vn ? vn->name : "?", ila_proto_err_name(m->error.code),
			m->error.text);
		ilad_event(d, "subscribe-refused", NULL, ila_proto_err_name(m->error.code));
		/* nothing more will come: what was found at start is registered
		 * with what is known, and the mapper's answer decides */
		ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_RESYNC, .vn = s->vn });
		return;
	}
	log_warn("mapper reports %s for request %u: %s", ila_proto_err_name(m->error.code), m->xid,
		 m->error.text);
}

static void handle_msg(struct ilad *d, const struct ila_msg *m)
{
	char who[64];

	if (d->mc == MC_OPENSENT) {
		if (m->type == ILA_MSG_OPEN && m->open.role == ILA_ROLE_MAPPER) {
			double dead = (m->open.dead_ms ? m->open.dead_ms : d->conf->dead_interval_ms) / 1000.0;

			d->mc = MC_UP;
			d->mc_since_ms = d->last_up_ms = ilad_now_ms();
			d->failures_in_row = 0;
			d->rounds_failed = 0;
			d->directory = m->open.directory;
			d->mapper_caps = m->open.caps;
			d->mc_error[0] = '\0';
			d->stats.mapper_connects++;
			log_notice("mapper %s up", mapper_name(d, who, sizeof(who)));
			ilad_event(d, "mapper-up", NULL, who);
			ev_timer_stop(d->loop, &d->mc_timer);
			ev_timer_set(&d->mc_timer, dead, dead);
			ev_timer_again(d->loop, &d->mc_timer);
			ev_timer_set(&d->ka_timer, d->conf->keepalive_ms / 1000.0,
				     d->conf->keepalive_ms / 1000.0);
			ev_timer_start(d->loop, &d->ka_timer);
			double refresh = d->conf->registration_lifetime_s / 3.0;
			ev_timer_set(&d->refresh_timer, refresh, refresh);
			ev_timer_start(d->loop, &d->refresh_timer);
			if (d->conf->cache == ILA_CONF_CACHE_FULL)
				subscribe_all(d);
			register_all(d);
			watch_own(d);
			ilad_post(d, &(struct ilad_ev){ .type = ILAD_EV_QUERY_WAITING });
			return;
		}
		if (m->type == ILA_MSG_ERROR)
			mc_fail(d, "refused: %s: %s", ila_proto_err_name(m->error.code), m->error.text);
		else
			mc_fail(d, "expected OPEN, got %s", ila_msg_type_name(m->type));
		return;
	}
	switch (m->type) {
	case ILA_MSG_KEEPALIVE:
		break;
	case ILA_MSG_PUSH:
	case ILA_MSG_REPLY:
		if (m->type == ILA_MSG_PUSH) {
			handle_push(d, m);
		} else {
			handle_reply(d, m);
		}
		break;
	case ILA_MSG_ACK:
		handle_ack(d, m);
		break;
	case ILA_MSG_ERROR:
		d->stats.errors_received++;
		if (m->error.code == ILA_PERR_CEASE) {
			mc_fail(d, "mapper closed the session: %s", m->error.text);
			return;
		}
		if (m->error.code == ILA_PERR_UNAVAILABLE) {
			/* it cannot acknowledge anything: another mapper may */
			mc_fail(d, "mapper cannot reach its store: %s", m->error.text);
			return;
		}
		if (m->xid) {
			handle_refusal(d, m);
			break;
		}
		log_warn("mapper reports %s: %s", ila_proto_err_name(m->error.code), m->error.text);
		break;
	default:
		log_warn("mapper sent an unexpected %s", ila_msg_type_name(m->type));
		break;
	}
}

static void mc_read(struct ilad *d)
{
	for (int rounds = 0; rounds < 64 && d->mc >= MC_OPENSENT; rounds++) {
		uint8_t *p;
		const uint8_t *frame;
		size_t len;
		ssize_t room = ila_frame_reader_space(&d->rd, &p), r;
		int rc;

		if (room <= 0) {
			mc_fail(d, "out of memory");
			return;
		}
		r = ila_conn_read(&d->conn, p, (size_t)room);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			mc_fail(d, "%s", r == 0 ? "connection closed" : strerror((int)-r));
			return;
		}
		ila_frame_reader_commit(&d->rd, (size_t)r);
		while ((rc = ila_frame_reader_next(&d->rd, &frame, &len)) == 1) {
			struct ila_msg m;

			ev_timer_again(d->loop, &d->mc_timer);
			rc = ila_msg_decode(frame, len, &m);
			if (rc < 0) {
				d->stats.malformed++;
				log_warn("mapper sent a malformed %s: %s", ila_msg_type_name(m.type),
					 ila_proto_strerror(rc));
				continue;
			}
			handle_msg(d, &m);
			ila_msg_free(&m);
			if (d->mc < MC_OPENSENT)
				return;
		}
		if (rc < 0) {
			d->stats.malformed++;
			mc_fail(d, "lost framing: %s", ila_proto_strerror(rc));
			return;
		}
	}
}

static void send_open(struct ilad *d)
{
	struct ila_msg m = { .type = ILA_MSG_OPEN };

	m.xid = ++d->next_xid;
	snprintf(m.open.node, sizeof(m.open.node), "%s", d->conf->node_name);
	snprintf(m.open.sw_version, sizeof(m.open.sw_version), "%s", PACKAGE_VERSION);
	m.open.caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY;
	if (d->conf->cache == ILA_CONF_CACHE_ON_DEMAND)
		m.open.caps |= ILA_CAP_WATCH;
	m.open.keepalive_ms = d->conf->keepalive_ms;
	m.open.dead_ms = d->conf->dead_interval_ms;
	m.open.role = ILA_ROLE_NODE;
	d->mc = MC_OPENSENT;
	mc_send(d, &m);
	mc_flush(d);
}

static void mc_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ilad *d = w->data;

	(void)loop;
	if (d->mc == MC_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			mc_fail(d, "connect: %s", strerror(err));
			return;
		}
		if (ila_conn_init(&d->conn, d->fd, d->use_tls ? &d->tls : NULL) < 0) {
			mc_fail(d, "out of memory");
			return;
		}
		if (ila_conn_set_peer_name(&d->conn, d->conf->mapper_identity[d->mapper]) < 0) {
			ila_conn_close(&d->conn);
			d->fd = -1;
			mc_fail(d, "cannot check the mapper's name");
			return;
		}
		ila_frame_reader_init(&d->rd);
		ila_frame_writer_init(&d->wr, MC_QUEUE_LIMIT);
		d->mc = MC_HANDSHAKE;
	}
	if (d->mc == MC_HANDSHAKE) {
		char err[256] = "";
		int rc = ila_conn_handshake(&d->conn, err, sizeof(err));

		if (rc == -EAGAIN) {
			mc_watch(d);
			return;
		}
		if (rc == -EPERM) {
			char who[64];

			d->stats.mapper_identity_refused++;
			log_err("mapper %s refused: %s", mapper_name(d, who, sizeof(who)), err);
		}
		if (rc < 0) {
			mc_fail(d, "%s", err);
			return;
		}
		send_open(d);
		if (d->mc == MC_IDLE)
			return;
	}
	if (revents & EV_READ || d->conn.want_write)
		mc_read(d);
	if (d->mc >= MC_OPENSENT)
		mc_flush(d);
}

static void mc_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ilad *d = w->data;

	(void)loop;
	(void)revents;
	if (d->mc == MC_UP)
		mc_fail(d, "nothing heard for %u ms: session dead", d->conf->dead_interval_ms);
	else
		mc_fail(d, "no answer in time (%s)", mc_state_name(d->mc));
}

static void ka_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ilad *d = w->data;
	struct ila_msg m = { .type = ILA_MSG_KEEPALIVE };

	(void)loop;
	(void)revents;
	if (d->mc == MC_UP && mc_send(d, &m) == 0)
		mc_flush(d);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	mc_connect(w->data);
}

static void mc_connect(struct ilad *d)
{
	const struct ila_conf_endpoint *ep = &d->conf->mappers[d->mapper];
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int one = 1;

	sl = ila_conf_endpoint_sockaddr(ep, &ss);
	d->fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0) {
		mc_fail(d, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	d->mc = MC_CONNECTING;
	d->mc_since_ms = ilad_now_ms();
	if (connect(d->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		mc_fail(d, "connect: %s", strerror(errno));
		return;
	}
	ev_io_set(&d->mc_io, d->fd, EV_WRITE);
	ev_io_start(d->loop, &d->mc_io);
	/* connect, handshake and OPEN must all fit in one dead interval */
	ev_timer_stop(d->loop, &d->mc_timer);
	ev_timer_set(&d->mc_timer, d->conf->dead_interval_ms / 1000.0, 0.);
	ev_timer_start(d->loop, &d->mc_timer);
}

int mc_adopt(struct ilad *d, int fd)
{
	if (d->mc != MC_IDLE || d->use_tls || !d->conf->n_mappers)
		return -EINVAL;
	ev_timer_stop(d->loop, &d->retry_timer);
	d->fd = fd;
	d->mc = MC_CONNECTING;
	d->mc_since_ms = ilad_now_ms();
	ev_io_set(&d->mc_io, d->fd, EV_WRITE);
	ev_io_start(d->loop, &d->mc_io);
	return 0;
}

void mc_init(struct ilad *d)
{
	ila_hist_init(&d->convergence, ila_hist_latency_bounds, ila_hist_latency_nbounds);
	d->fd = -1;
	d->mc = MC_IDLE;
	ev_init(&d->mc_io, mc_io_cb);
	d->mc_io.data = d;
	ev_init(&d->mc_timer, mc_timer_cb);
	d->mc_timer.data = d;
	ev_init(&d->ka_timer, ka_cb);
	d->ka_timer.data = d;
	ev_init(&d->retry_timer, retry_cb);
	d->retry_timer.data = d;
	ev_init(&d->refresh_timer, refresh_cb);
	d->refresh_timer.data = d;
	for (unsigned i = 0; i < ILA_CONF_MAX_VNS; i++)
		d->sync[i].mapper = -1;
	if (d->conf->n_mappers)
		mc_connect(d);
}

void mc_stop(struct ilad *d, bool goodbye)
{
	ev_timer_stop(d->loop, &d->retry_timer);
	if (d->mc == MC_UP && goodbye) {
		struct ila_msg m = { .type = ILA_MSG_ERROR };

		/* a node that leaves on purpose says so: no failover of its workloads */
		m.error.code = ILA_PERR_CEASE;
		snprintf(m.error.text, sizeof(m.error.text), "ilad stopping");
		if (mc_send(d, &m) == 0) {
			const uint8_t *p;
			size_t n = ila_frame_writer_peek(&d->wr, &p);

			ila_conn_write(&d->conn, p, n);
		}
	}
	if (d->mc != MC_IDLE)
		mc_close(d);
}
