/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

size_t queue_limit(const struct mapper *m)
{
	/* pushes stop at the push queue limit; ACKs and ERRORs may go beyond,
	 * up to twice that plus a margin, before the session counts as dead */
	return (size_t)m->conf->push_queue_limit_kb * 1024 * 2 + (1u << 20);
}

const char *session_node_name(const struct session *s)
{
	return s->node >= 0 ? s->m->conf->nodes[s->node].name : "";
}

int session_node(const struct session *s)
{
	return s->node;
}

bool session_open(const struct session *s)
{
	return s->state == S_ESTABLISHED;
}

size_t session_queued(const struct session *s)
{
	return ila_frame_writer_pending(&s->wr);
}

struct subscription *session_subs(struct session *s, unsigned *n)
{
	*n = s->nsubs;
	return s->subs;
}

void session_info(const struct session *s, struct session_info *out)
{
	out->node = session_node_name(s);
	out->peer = s->peer;
	out->identity = s->identity;
	out->up_ms = mapper_now_ms() - s->since_ms;
	out->frames_in = s->frames_in;
	out->frames_out = s->frames_out;
	out->queued = ila_frame_writer_pending(&s->wr);
	out->nsubs = s->nsubs;
	out->keepalive_ms = (uint32_t)(s->keepalive_w.repeat * 1000.0 + 0.5);
	out->dead_ms = (uint32_t)(s->dead_w.repeat * 1000.0 + 0.5);
	out->caps = s->caps;
}

struct session *session_next(const struct mapper *m, const struct session *s)
{
	return s ? s->next : m->sessions;
}

void session_free(struct session *s)
{
	ila_frame_reader_free(&s->rd);
	ila_frame_writer_free(&s->wr);
	free(s->subs);
	free(s);
}

void sessions_reap(struct mapper *m)
{
	while (m->graveyard) {
		struct session *s = m->graveyard;

		m->graveyard = s->next;
		session_free(s);
	}
}

struct subscription *session_sub_add(struct session *s)
{
	if (s->nsubs >= ILA_CONF_MAX_VNS)
		return NULL;
	if (s->nsubs == s->subs_cap) {
		unsigned cap = s->subs_cap ? s->subs_cap * 2 : 4;
		struct subscription *n;

		if (cap > ILA_CONF_MAX_VNS)
			cap = ILA_CONF_MAX_VNS;
		n = realloc(s->subs, cap * sizeof(*n));
		if (!n)
			return NULL;
		s->subs = n;
		s->subs_cap = cap;
	}
	memset(&s->subs[s->nsubs], 0, sizeof(s->subs[0]));
	return &s->subs[s->nsubs++];
}

void session_sub_del(struct session *s, struct subscription *sub)
{
	size_t i = (size_t)(sub - s->subs);

	memmove(&s->subs[i], &s->subs[i + 1], (s->nsubs - i - 1) * sizeof(s->subs[0]));
	s->nsubs--;
}

void session_watch(struct session *s)
{
	int events = EV_READ;

	if (s->state == S_CLOSED)
		return;
	if (ila_frame_writer_pending(&s->wr) || s->conn.want_write || s->more)
		events |= EV_WRITE;
	/* a peer that does not read its answers is not read from either */
	if (s->state == S_ESTABLISHED && ila_frame_writer_pending(&s->wr) > queue_limit(s->m) / 2)
		events &= ~EV_READ;
	if ((s->io.events & (EV_READ | EV_WRITE)) != events) {
		ev_io_stop(s->m->loop, &s->io);
		ev_io_set(&s->io, s->conn.fd, events);
		ev_io_start(s->m->loop, &s->io);
	}
}

void session_close(struct session *s, const char *why, bool failover)
{
	struct mapper *m = s->m;
	int node = s->node;

	if (s->state == S_CLOSED)
		return;
	if (node >= 0) {
		log_info("session %s (%s) closed: %s", session_node_name(s), s->peer, why);
		mapper_event(m, "node-down", NULL, session_node_name(s), why);
	}
	else
		log_debug("session %s closed: %s", s->peer, why);
	if (s->state != S_ESTABLISHED)
		m->nunauth--;
	s->state = S_CLOSED;
	ev_io_stop(m->loop, &s->io);
	ev_timer_stop(m->loop, &s->dead_w);
	ev_timer_stop(m->loop, &s->keepalive_w);
	/* what is queued goes out if the socket takes it now */
	if (s->conn.established && ila_frame_writer_pending(&s->wr)) {
		const uint8_t *p;
		size_t n = ila_frame_writer_peek(&s->wr, &p);

		ila_conn_write(&s->conn, p, n);
	}
	ila_conn_close(&s->conn);
	for (struct session **pp = &m->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	m->nsessions--;
	m->stats.sessions_closed++;
	s->next = m->graveyard;
	m->graveyard = s;
	struct mapper_ev ev = { .type = MAPPER_EV_SESSION_GONE, .s = s, .node = node,
				.failed = failover && node >= 0, .last = node >= 0 };

	for (struct session *o = m->sessions; o && ev.last; o = o->next)
		if (o->node == node && o->state == S_ESTABLISHED)
			ev.failed = ev.last = false; /* the node is still connected */
	mapper_post(m, &ev);
}

/* Writes what the socket takes; closes the session on a hard error. */
void session_flush(struct session *s)
{
	while (ila_frame_writer_pending(&s->wr) && s->conn.established) {
		const uint8_t *p;
		size_t n = ila_frame_writer_peek(&s->wr, &p);
		ssize_t w = ila_conn_write(&s->conn, p, n);

		if (w == -EAGAIN)
			break;
		if (w < 0) {
			session_close(s, strerror((int)-w), true);
			return;
		}
		ila_frame_writer_consume(&s->wr, (size_t)w);
	}
	session_watch(s);
}

void session_kick(struct session *s)
{
	if (s->state != S_CLOSED)
		session_flush(s);
}

int session_send(struct session *s, const struct ila_msg *msg)
{
	int rc;

	if (s->state == S_CLOSED)
		return -EPIPE;
	rc = ila_frame_writer_put_msg(&s->wr, msg);
	if (rc == -ENOBUFS) {
		s->m->stats.overloaded++;
		session_close(s, "peer does not read: output queue full", true);
		return rc;
	}
	if (rc < 0) {
		log_err("session %s: cannot encode %s: %s", s->peer, ila_msg_type_name(msg->type),
			ila_proto_strerror(rc));
		return rc;
	}
	s->frames_out++;
	s->m->stats.frames_out++;
	return 0;
}

int session_send_frame(struct session *s, const uint8_t *frame, size_t len)
{
	int rc;

	if (s->state == S_CLOSED)
		return -EPIPE;
	rc = ila_frame_writer_append(&s->wr, frame, len);
	if (rc == -ENOBUFS) {
		s->m->stats.overloaded++;
		session_close(s, "peer does not read: output queue full", true);
		return rc;
	}
	if (rc < 0)
		return rc;
	s->frames_out++;
	s->m->stats.frames_out++;
	return 0;
}

void session_send_error(struct session *s, uint32_t xid, int code, const char *fmt, ...)
{
	struct ila_msg e = { .type = ILA_MSG_ERROR, .xid = xid };
	va_list ap;

	e.error.code = (uint16_t)(code < 0 ? -code : code);
	va_start(ap, fmt);
	vsnprintf(e.error.text, sizeof(e.error.text), fmt, ap);
	va_end(ap);
	session_send(s, &e);
}

