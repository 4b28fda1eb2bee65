/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ila-mapper: a node's session, shared by session.c (its state and output)
 * and server.c (accepting, reading and dispatching). */
#ifndef ILA_MAPPER_SESSION_H
#define ILA_MAPPER_SESSION_H

#include "mapper.h"

enum session_state {
	S_HANDSHAKE,	/* TLS handshake */
	S_OPENWAIT,	/* waiting for the node's OPEN */
	S_ESTABLISHED,
	S_CLOSED,
};

struct session {
	struct mapper *m;
	struct session *next;
	struct ila_conn conn;
	ev_io io;
	ev_timer dead_w;
	ev_timer keepalive_w;
	struct ila_frame_reader rd;
	struct ila_frame_writer wr;
	enum session_state state;
	int node; /* config index, -1 before OPEN */
	char peer[INET6_ADDRSTRLEN + 8];
	char identity[ILA_CONF_IDENTITY_MAX];
	uint64_t since_ms;
	uint64_t frames_in, frames_out;
	uint8_t src[9];	/* source for limit per-source: family, then IPv4 or an IPv6 /64 */
	unsigned malformed;	/* malformed frames received */
	uint32_t caps;		/* negotiated in OPEN */
	/* allocated at the first SUBSCRIBE: most sessions before OPEN never
	 * get there, and most nodes subscribe to few VNs */
	struct subscription *subs;
	unsigned nsubs, subs_cap;
	bool more; /* subscriptions had more to send when the last turn ended */
};

/* Before OPEN, a session's frames in and its output queue stay this small. */
#define SESSION_PREAUTH_BUF 2048

size_t queue_limit(const struct mapper *m);
void session_watch(struct session *s);
void session_flush(struct session *s);
void session_free(struct session *s);

#endif
