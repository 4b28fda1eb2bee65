/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the zebra client's files share: struct zapi, and the calls between them. */
/* zapi_client.c the session, zapi_conn.c drop and output, zapi_table.c the desired set. */
/* Calls run one way: zapi_client.c -> zapi_table.c -> zapi_conn.c, zapi_client.c -> zapi_conn.c. */
#ifndef ILA_ROUTING_ZAPI_CLIENT_PRIV_H
#define ILA_ROUTING_ZAPI_CLIENT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include <ev.h>
#include <json-c/linkhash.h>

#include "util.h" /* ILA_PRINTF */
#include "zapi_priv.h"

#define ZAPI_BACKOFF_MIN_MS 100
#define ZAPI_BACKOFF_MAX_MS 5000

enum zstate {
	ZS_IDLE,  /* no connection; the timer brings the next attempt */
	ZS_PROBE, /* connected, HELLO sent, the profile not known yet */
	ZS_UP,
};

/* The hash key: a canonical prefix (host bits clear). */
struct zkey {
	uint8_t family;
	uint8_t plen;
	uint8_t addr[16];
};

struct zentry {
	struct zkey key;
	struct zroute r;
	enum zroute_state st;
};

struct zapi {
	struct ev_loop *loop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int conf_version;
	int rtype_name;
	uint8_t rtype_num;
	uint16_t instance;
	uint32_t gr_stale_s;
	uint64_t answer_ms; /* monotonic ms of the last route notification */
	uint32_t tag;
	zapi_event_fn cb;
	void *arg;
	zapi_adopt_fn adopt;
	void *adopt_arg;
	struct lh_table *routes;

	int fd;
	enum zstate state;
	unsigned gen;     /* bumped by every drop: handlers stop at a change */
	int fam;          /* 8 or 10 while probing */
	bool caps_seen;
	bool probe_sent;
	bool hello_sent;  /* auto sends the probe alone first */
	bool reconciling; /* UP, zebra's routes of our type being read */
	bool complete_due; /* GR: update-complete to send once the replay is answered */
	int profile;      /* enum zapi_profile once UP */
	uint8_t type;     /* zebra's route type number for the profile */
	unsigned backoff_ms;
	ev_io rio, wio;
	ev_timer tm;      /* reconnect delay, or the probe's deadline */

	uint8_t *out;     /* queued output: [out_head, out_len) not written yet */
	size_t out_head, out_len, out_cap;
	size_t in_len;
	uint8_t in[2 * ZAPI_MAX_PACKET]; /* at most one partial frame stays */

	struct zapi_stats st;
	char last_err[160];
};

/* zapi_table.c */
/* A new, empty desired set (NULL: out of memory). */
struct lh_table *ztable_new(void);
/* Fills k from a prefix, clearing host bits. -EINVAL for a bad one. */
int ztable_key(struct zkey *k, int family, const void *prefix, uint8_t plen);

/* zapi_conn.c */
void zconn_set_err(struct zapi *z, const char *fmt, ...) ILA_PRINTF(2, 3);
void zconn_schedule(struct zapi *z, double after_s);
void zconn_drop(struct zapi *z);
int zconn_queue(struct zapi *z, const uint8_t *msg, ssize_t len);
int zconn_queue_route(struct zapi *z, bool add, const struct zroute *r);
int zconn_queue_hello(struct zapi *z, int version);
int zconn_queue_probe(struct zapi *z);
int zconn_queue_cap(struct zapi *z, enum zapi_client_cap what, uint32_t arg);
void zconn_maybe_complete(struct zapi *z, bool force);
int zconn_queue_redist(struct zapi *z, bool add, uint8_t afi);

#endif
