/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include "mapper.h"
#include "session.h"

/* Listening pauses this long when accept() runs out of descriptors. */
#define MAPPER_ACCEPT_PAUSE_MS 250

static void session_io_cb(struct ev_loop *loop, ev_io *w, int revents);

static void keepalive_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;
	struct ila_msg k = { .type = ILA_MSG_KEEPALIVE };

	(void)loop;
	(void)revents;
	if (session_send(s, &k) == 0)
		session_flush(s);
}

static void dead_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state == S_ESTABLISHED) {
		s->m->stats.dead_timer_expired++;
		log_warn("node %s (%s): nothing heard for %.0f ms: session dead",
			 session_node_name(s), s->peer, s->dead_w.repeat * 1000.0);
		session_send_error(s, 0, ILA_PERR_HOLD_EXPIRED, "nothing heard for %.0f ms",
				   s->dead_w.repeat * 1000.0);
		session_close(s, "dead timer expired", true);
	} else {
		s->m->stats.open_timeouts++;
		session_close(s, s->state == S_HANDSHAKE ? "no TLS handshake in time"
							 : "no OPEN in time", false);
	}
}

static void handle_open(struct session *s, struct ila_msg *msg)
{
	struct mapper *m = s->m;
	const struct ila_conf *c = m->conf;
	int node = ila_conf_node_find(c, msg->open.node);
	struct ila_msg reply = { .type = ILA_MSG_OPEN, .xid = msg->xid };

	if (msg->open.role != ILA_ROLE_NODE) {
		m->stats.open_errors++;
		session_send_error(s, msg->xid, ILA_PERR_UNEXPECTED, "OPEN role must be node");
		session_close(s, "OPEN with a role other than node", false);
		return;
	}
	if (node < 0) {
		m->stats.auth_failures++;
		log_warn("session %s: OPEN from unknown node %s", s->peer, msg->open.node);
		session_send_error(s, msg->xid, ILA_PERR_NOT_AUTHORISED, "node %s is not configured",
				   msg->open.node);
		session_close(s, "unknown node", false);
		return;
	}
	if (m->use_tls && strcmp(s->identity, c->nodes[node].identity) != 0) {
		m->stats.auth_failures++;
		log_warn("session %s: certificate %s may not speak for node %s", s->peer,
			 s->identity, msg->open.node);
		session_send_error(s, msg->xid, ILA_PERR_NOT_AUTHORISED,
				   "certificate %s is not node %s", s->identity, msg->open.node);
		session_close(s, "identity mismatch", false);
		return;
	}
	if (c->store_etcd && !estore_usable(m)) {
		/* nothing could be acknowledged: the node tries another mapper */
		m->stats.unavailable++;
		session_send_error(s, msg->xid, ILA_PERR_UNAVAILABLE, "directory store: %s",
				   m->estore.why[0] ? m->estore.why : "not ready");
		session_close(s, "the etcd store is not ready", false);
		return;
	}
	/* a node reconnecting replaces its old session: no failover, and the
	 * node counts as still connected when the old one closes (with etcd,
	 * its presence key stays this session's, not a goodbye) */
	s->node = node;
	s->state = S_ESTABLISHED;
	for (struct session *o = m->sessions, *next; o; o = next) {
		next = o->next;
		if (o != s && o->node == node) {
			session_send_error(o, 0, ILA_PERR_CEASE, "replaced by a new session");
			session_close(o, "replaced by a new session of the node", false);
		}
	}
	m->nunauth--;
	s->caps = msg->open.caps &
		  (ILA_CAP_ADDR4 | ILA_CAP_STANDBY | ILA_CAP_ANYCAST | ILA_CAP_WATCH);
	/* section 8.1: the smaller dead interval; keepalive at most a third of it */
	uint32_t dead = msg->open.dead_ms < c->dead_interval_ms ? msg->open.dead_ms
								: c->dead_interval_ms;
	uint32_t ka = c->keepalive_ms < dead / 3 ? c->keepalive_ms : dead / 3;

	if (ka == 0)
		ka = 1;
	/* an authenticated node gets full-sized buffers */
	ila_frame_reader_limit(&s->rd, 0);
	ila_frame_writer_limit(&s->wr, queue_limit(m));
	snprintf(reply.open.node, sizeof(reply.open.node), "%s", MAPPER_NAME);
	snprintf(reply.open.sw_version, sizeof(reply.open.sw_version), "%s", PACKAGE_VERSION);
	reply.open.role = ILA_ROLE_MAPPER;
	reply.open.caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY | ILA_CAP_ANYCAST | ILA_CAP_WATCH;
	reply.open.keepalive_ms = c->keepalive_ms;
	reply.open.dead_ms = c->dead_interval_ms;
	reply.open.directory = c->store_etcd ? m->estore.directory : m->store.id;
	session_send(s, &reply);
	if (c->store_etcd)
		estore_node_up(m, node);
	s->dead_w.repeat = dead / 1000.0;
	ev_timer_again(m->loop, &s->dead_w);
	ev_timer_set(&s->keepalive_w, ka / 1000.0, ka / 1000.0);
	ev_timer_start(m->loop, &s->keepalive_w);
	mapper_event(m, "node-up", NULL, c->nodes[node].name, s->peer);
	log_info("node %s up from %s%s%s", c->nodes[node].name, s->peer,
		 m->use_tls ? ", certificate " : "", m->use_tls ? s->identity : "");
}

/* The capability a record needs that the session did not negotiate, or 0. */
static uint32_t record_missing_cap(const struct session *s, const struct ila_record *r)
{
	uint32_t need = 0;

	if (r->family == AF_INET)
		need |= ILA_CAP_ADDR4;
	if (r->has_standby || (r->flags & ILA_REC_F_STANDBY_REG))
		need |= ILA_CAP_STANDBY;
	if (r->flags & ILA_REC_F_ANYCAST)
		need |= ILA_CAP_ANYCAST;
	return need & ~s->caps;
}

/* A request with any record outside the negotiated capabilities is refused
 * whole (ERROR unsupported); returns true when it was. */
static bool refuse_unsupported(struct session *s, const struct ila_msg *msg)
{
	for (size_t i = 0; i < msg->nrec; i++) {
		uint32_t miss = record_missing_cap(s, &msg->rec[i]);

		if (!miss)
			continue;
		s->m->stats.unsupported++;
		session_send_error(s, msg->xid, ILA_PERR_UNSUPPORTED,
				   "record %zu needs capability %s, not negotiated in OPEN", i + 1,
				   miss & ILA_CAP_ADDR4 ? "ADDR4" :
				   miss & ILA_CAP_STANDBY ? "STANDBY" : "ANYCAST");
		return true;
	}
	return false;
}

static void handle_msg(struct session *s, struct ila_msg *msg)
{
	struct mapper *m = s->m;

	if (s->state == S_OPENWAIT) {
		if (msg->type == ILA_MSG_OPEN) {
			handle_open(s, msg);
		} else {
			m->stats.open_errors++;
			session_send_error(s, msg->xid, ILA_PERR_UNEXPECTED, "OPEN must come first");
			session_close(s, "message before OPEN", false);
		}
		ila_msg_free(msg);
		return;
	}
	switch (msg->type) {
	case ILA_MSG_KEEPALIVE:
		break;
	case ILA_MSG_OPEN:
		m->stats.open_errors++;
		log_warn("node %s (%s): a second OPEN: session closed", session_node_name(s),
			 s->peer);
		session_send_error(s, msg->xid, ILA_PERR_UNEXPECTED, "a second OPEN");
		session_close(s, "a second OPEN", true);
		break;
	case ILA_MSG_REGISTER:
	case ILA_MSG_DEREGISTER:
		if (!refuse_unsupported(s, msg))
			directory_enqueue(m, s, msg); /* takes the records */
		break;
	case ILA_MSG_QUERY:
		m->stats.queries++;
		if (!refuse_unsupported(s, msg))
			directory_query(m, s, msg);
		break;
	case ILA_MSG_SUBSCRIBE:
		push_subscribe(m, s, msg);
		break;
	case ILA_MSG_UNSUBSCRIBE:
		push_unsubscribe(m, s, msg);
		break;
	case ILA_MSG_ERROR:
		if (msg->error.code == ILA_PERR_CEASE) {
			session_close(s, "node said goodbye", false);
			break;
		}
		log_warn("node %s reports %s: %s", session_node_name(s),
			 ila_proto_err_name(msg->error.code), msg->error.text);
		break;
	default:
		m->stats.unexpected++;
		session_send_error(s, msg->xid, ILA_PERR_UNEXPECTED, "a node does not send %s",
				   ila_msg_type_name(msg->type));
		break;
	}
	ila_msg_free(msg);
}

static void count_malformed(struct mapper *m, int code)
{
	int c = -code;

	m->stats.malformed++;
	if (c >= ILA_PERR_SHORT_HEADER && c <= ILA_PERR_RECORD_MALFORMED)
		m->stats.malformed_by_code[c - ILA_PERR_SHORT_HEADER]++;
}

/* Takes every complete frame out of the reader. Returns -1 if closed. */
static int session_frames(struct session *s)
{
	const uint8_t *frame;
	size_t len;
	int rc;

	while ((rc = ila_frame_reader_next(&s->rd, &frame, &len)) == 1) {
		struct ila_msg msg;

		s->frames_in++;
		s->m->stats.frames_in++;
		if (s->state == S_ESTABLISHED) /* before OPEN the deadline stands */
			ev_timer_again(s->m->loop, &s->dead_w);
		rc = ila_msg_decode(frame, len, &msg);
		if (rc == -ENOMEM) {
			session_close(s, "out of memory", true);
			return -1;
		}
		if (rc < 0) {
			count_malformed(s->m, rc);
			log_warn("session %s%s%s: malformed %s: %s", s->peer, s->node >= 0 ? " node " : "",
				 session_node_name(s), ila_msg_type_name(msg.type),
				 ila_proto_strerror(rc));
			/* an ERROR is never answered, even a malformed one (6.11) */
			if (msg.type != ILA_MSG_ERROR)
				session_send_error(s, msg.xid, rc, "%s", ila_proto_strerror(rc));
			if (s->state == S_OPENWAIT)
				session_close(s, "malformed OPEN", false);
			else if (++s->malformed >= s->m->conf->limit_malformed) {
				s->m->stats.malformed_closes++;
				log_warn("node %s (%s): %u malformed frames: session closed",
					 session_node_name(s), s->peer, s->malformed);
				session_close(s, "too many malformed frames", true);
			}
			if (s->state == S_CLOSED)
				return -1;
			continue;
		}
		handle_msg(s, &msg);
		if (s->state == S_CLOSED)
			return -1;
	}
	if (rc < 0) {
		/* the stream lost its framing: nothing after this can be trusted */
		count_malformed(s->m, rc);
		session_send_error(s, 0, rc, "%s", ila_proto_strerror(rc));
		session_close(s, ila_proto_strerror(rc), true);
		return -1;
	}
	return 0;
}

static void session_read(struct session *s)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		uint8_t *p;
		ssize_t room = ila_frame_reader_space(&s->rd, &p);
		ssize_t r;

		if (room <= 0) {
			session_close(s, "out of memory", true);
			return;
		}
		r = ila_conn_read(&s->conn, p, (size_t)room);
		if (r == -EAGAIN) {
			/* a peer that has not sent its OPEN holds no read buffer
			 * while it waits */
			if (s->state != S_ESTABLISHED)
				ila_frame_reader_release(&s->rd);
			return;
		}
		if (r == 0) {
			if (ila_frame_reader_pending(&s->rd))
				count_malformed(s->m, -ILA_PERR_TRUNCATED);
			/* a node that means to leave says CEASE first; a bare EOF is a death */
			session_close(s, ila_frame_reader_pending(&s->rd) ? "connection closed mid-frame"
									   : "connection closed",
				      true);
			return;
		}
		if (r < 0) {
			session_close(s, strerror((int)-r), true);
			return;
		}
		ila_frame_reader_commit(&s->rd, (size_t)r);
		if (session_frames(s) < 0)
			return;
		if (s->state == S_ESTABLISHED &&
		    ila_frame_writer_pending(&s->wr) > queue_limit(s->m) / 2)
			return; /* let the peer read its answers first */
	}
}

static void session_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session *s = w->data;

	(void)loop;
	if (s->state == S_HANDSHAKE) {
		char err[256] = "";
		int rc = ila_conn_handshake(&s->conn, err, sizeof(err));

		if (rc == -EAGAIN) {
			session_watch(s);
			return;
		}
		if (rc < 0) {
			s->m->stats.tls_failures++;
			log_warn("session %s: %s", s->peer, err);
			session_close(s, "TLS handshake failed", false);
			return;
		}
		if (ila_conn_peer_identity(&s->conn, s->identity, sizeof(s->identity)) < 0) {
			s->m->stats.auth_failures++;
			session_close(s, "certificate without a name", false);
			return;
		}
		s->state = S_OPENWAIT;
	}
	if (revents & EV_READ || s->conn.want_write)
		session_read(s);
	/* feed subscriptions while the socket takes what they produce: a queue
	 * that drains completely would otherwise wait for the next event */
	s->more = false;
	for (int round = 0; round < 64; round++) {
		session_flush(s);
		if (s->state == S_CLOSED || ila_frame_writer_pending(&s->wr))
			return; /* the socket is full: EV_WRITE brings us back */
		if (push_pump(s->m, s) == 0)
			return;
	}
	/* enough for one turn; the write watch brings us back for the rest */
	s->more = true;
	if (s->state != S_CLOSED)
		session_flush(s);
}

/* Serves fd; src is the source key for limit per-source (NULL: none). */
static int adopt(struct mapper *m, int fd, const char *peer, const uint8_t *src)
{
	struct session *s;

	if (m->nsessions >= MAPPER_MAX_SESSIONS || !(s = calloc(1, sizeof(*s)))) {
		m->stats.sessions_refused++;
		close(fd);
		return -ENOBUFS;
	}
	if (src)
		memcpy(s->src, src, sizeof(s->src));
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	if (ila_conn_init(&s->conn, fd, m->use_tls ? &m->tls : NULL) < 0) {
		close(fd);
		free(s);
		return -ENOMEM;
	}
	s->m = m;
	s->node = -1;
	s->state = m->use_tls ? S_HANDSHAKE : S_OPENWAIT;
	s->since_ms = mapper_now_ms();
	/* small buffers until OPEN: an unauthenticated peer holds little memory */
	ila_frame_reader_init(&s->rd);
	ila_frame_reader_limit(&s->rd, SESSION_PREAUTH_BUF);
	ila_frame_writer_init(&s->wr, SESSION_PREAUTH_BUF);
	ev_io_init(&s->io, session_io_cb, fd, EV_READ);
	s->io.data = s;
	ev_io_start(m->loop, &s->io);
	/* the dead timer first bounds the TLS handshake plus the wait for OPEN */
	ev_init(&s->dead_w, dead_cb);
	s->dead_w.repeat = m->conf->limit_open_timeout_ms / 1000.0;
	s->dead_w.data = s;
	ev_timer_again(m->loop, &s->dead_w);
	ev_init(&s->keepalive_w, keepalive_cb);
	s->keepalive_w.data = s;
	s->next = m->sessions;
	m->sessions = s;
	m->nsessions++;
	m->nunauth++;
	m->stats.sessions_accepted++;
	return 0;
}

int session_adopt(struct mapper *m, int fd, const char *peer)
{
	return adopt(m, fd, peer, NULL);
}

/* Sessions not past OPEN from the source src. */
static unsigned unauth_from(const struct mapper *m, const uint8_t *src)
{
	unsigned n = 0;

	for (const struct session *s = m->sessions; s; s = s->next)
		if (s->state != S_ESTABLISHED && memcmp(s->src, src, sizeof(s->src)) == 0)
			n++;
	return n;
}

/* Logs the first refusal and then every power of two, not each of a flood. */
static bool log_this(uint64_t count)
{
	return (count & (count - 1)) == 0;
}

static void accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mapper *m = w->data;

	(void)revents;
	for (unsigned i = 0; i < m->nlisten; i++)
		ev_io_start(loop, &m->listeners[i].io);
}

/* accept() is out of descriptors (or memory): the connection stays in the
 * backlog and the listener stays readable, so stop listening for a moment
 * instead of spinning. */
static void accept_pause(struct mapper *m, int err)
{
	m->stats.accept_pauses++;
	if (!m->accept_starved) {
		m->accept_starved = true;
		log_warn("accept: %s: not accepting for %d ms at a time until it succeeds again",
			 strerror(err), MAPPER_ACCEPT_PAUSE_MS);
	}
	for (unsigned i = 0; i < m->nlisten; i++)
		ev_io_stop(m->loop, &m->listeners[i].io);
	ev_timer_stop(m->loop, &m->accept_pause_w);
	ev_timer_set(&m->accept_pause_w, MAPPER_ACCEPT_PAUSE_MS / 1000.0, 0.);
	ev_timer_start(m->loop, &m->accept_pause_w);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN + 8];
	uint8_t src[sizeof(((struct session *)0)->src)] = { 0 };
	struct mapper *m = l->m;
	int fd, one = 1;

	(void)loop;
	(void)revents;
	fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			accept_pause(m, errno);
		return;
	}
	if (m->accept_starved) {
		m->accept_starved = false;
		log_info("accept: accepting again after %" PRIu64 " pauses in all",
			 m->stats.accept_pauses);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(peer, sizeof(peer), "[%s]:%u", host, ntohs(a->sin6_port));
		src[0] = AF_INET6;
		memcpy(src + 1, &a->sin6_addr, 8); /* a /64 is one source */
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(peer, sizeof(peer), "%s:%u", host, ntohs(a->sin_port));
		src[0] = AF_INET;
		memcpy(src + 1, &a->sin_addr, 4);
	}
	/* connections not past OPEN have their own caps, so that idle ones
	 * cannot lock authenticated nodes out */
	if (m->nunauth >= m->conf->limit_unauth) {
		if (log_this(++m->stats.preauth_refused))
			log_warn("%s refused: %u connections not past OPEN (limit unauthenticated); "
				 "%" PRIu64 " refused so far", peer, m->nunauth,
				 m->stats.preauth_refused);
		close(fd);
		return;
	}
	if (unauth_from(m, src) >= m->conf->limit_unauth_source) {
		if (log_this(++m->stats.preauth_source_refused))
			log_warn("%s refused: %u connections not past OPEN from that source "
				 "(limit per-source); %" PRIu64 " refused so far", peer,
				 m->conf->limit_unauth_source, m->stats.preauth_source_refused);
		close(fd);
		return;
	}
	adopt(m, fd, peer, src);
}

static int listen_one(struct mapper *m, const struct ila_conf_endpoint *ep, char *err,
		      size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	char host[INET6_ADDRSTRLEN];
	int fd, one = 1;
	struct listener *l = &m->listeners[m->nlisten];

	sl = ila_conf_endpoint_sockaddr(ep, &ss);
	inet_ntop(ep->family, &ep->addr, host, sizeof(host));
	fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ep->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 512) < 0)
		goto fail;
	l->fd = fd;
	l->m = m;
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	l->io.data = l;
	ev_io_start(m->loop, &l->io);
	m->nlisten++;
	log_info("listening on %s%s%s port %u (%s)", ep->family == AF_INET6 ? "[" : "", host,
		 ep->family == AF_INET6 ? "]" : "", ep->port, m->use_tls ? "TLS" : "plaintext");
	return 0;
fail:
	snprintf(err, errlen, "listen %s port %u: %s", host, ep->port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -errno;
}

int sessions_listen(struct mapper *m, char *err, size_t errlen)
{
	ev_init(&m->accept_pause_w, accept_resume_cb);
	m->accept_pause_w.data = m;
	for (unsigned i = 0; i < m->conf->n_listen; i++) {
		int rc = listen_one(m, &m->conf->listen[i], err, errlen);

		if (rc < 0)
			return rc;
	}
	return 0;
}

void sessions_stop(struct mapper *m)
{
	ev_timer_stop(m->loop, &m->accept_pause_w);
	for (unsigned i = 0; i < m->nlisten; i++) {
		ev_io_stop(m->loop, &m->listeners[i].io);
		close(m->listeners[i].fd);
	}
	m->nlisten = 0;
	while (m->sessions) {
		struct session *s = m->sessions;

		/* the mapper going away is no reason to fail nodes over */
		session_send_error(s, 0, ILA_PERR_CEASE, "mapper shutting down");
		session_close(s, "mapper shutting down", false);
	}
	mapper_events_run(m); /* the directory forgets them, then they are freed */
	sessions_reap(m);
}

void sessions_unavailable(struct mapper *m, const char *why)
{
	for (struct session *s = m->sessions, *next; s; s = next) {
		next = s->next;
		if (s->node < 0)
			continue;
		m->stats.unavailable++;
		session_send_error(s, 0, ILA_PERR_UNAVAILABLE, "directory store: %s", why);
		session_close(s, "the etcd store is unreachable", false);
	}
}

void sessions_reconfigure(struct mapper *m, const struct ila_conf *old)
{
	for (struct session *s = m->sessions, *next; s; s = next) {
		next = s->next;
		if (s->node < 0)
			continue;
		int node = ila_conf_node_find(m->conf, old->nodes[s->node].name);
		if (node < 0 || (m->use_tls && strcmp(m->conf->nodes[node].identity, s->identity))) {
			s->node = -1; /* its name is gone with the old config */
			session_close(s, "node removed from the configuration", false);
			continue;
		}
		s->node = node;
		for (unsigned i = 0; i < s->nsubs;) {
			if (!mapper_vn(m, s->subs[i].vn))
				session_sub_del(s, &s->subs[i]);
			else
				i++;
		}
	}
}
