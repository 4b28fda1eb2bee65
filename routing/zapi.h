/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad's client of FRRouting's zebra API (ZAPI, wire version 6, FRR 8.2 to
 * 10.x): it says HELLO with a route type of its own, asks for owner
 * notifications, and keeps zebra's copy of a desired set of IPv6 and IPv4
 * routes equal to the set held here, replaying it whenever zebra comes back.
 *
 * FRR 10.0 renumbered the commands and the route types, and 9.1 and 10.2
 * moved ERROR and ROUTE_NOTIFY_REQUEST, so there are four profiles. The
 * profile is found on every connection (see zapi_client.c): the command
 * number of zebra's ERROR answering a probe (a message in a VRF no zebra has)
 * names the profile, and where two profiles share it (118: 8.2-9.0 and
 * 10.0-10.1), the configured major version or zebra's answer to the 8.x
 * HELLO tells them apart.
 *
 * After each HELLO the client also asks zebra once for the routes of its own
 * type and deletes those it does not want (zebra reads a crashed zebra's
 * routes back from the kernel as routes of their type and may keep them).
 *
 * Graceful restart (gr_stale_s > 0): once up, the client announces the GR
 * capability with the stale time in CLIENT_CAPABILITIES, so that zebra keeps
 * its routes (RIB and kernel) for that long after the connection closes;
 * after each replay, once the dump of its own routes (above) is over and
 * zebra has answered every route sent (ROUTE_NOTIFY_OWNER; at most 10 s),
 * it sends ROUTE_UPDATE_COMPLETE for IPv4 and IPv6, and zebra at once
 * removes the routes of the previous session not sent again.
 * zapi_close() with withdraw_all first disables GR.
 *
 * The client runs on a libev loop and never blocks it: connects are
 * non-blocking, output waits in a queue, input frames are reassembled.
 * Functions return 0 on success and a negative errno on failure; nothing
 * prints, nothing exits, there is no global state.
 */
#ifndef ILA_ROUTING_ZAPI_H
#define ILA_ROUTING_ZAPI_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ev_loop;
struct zapi;

#define ZAPI_SOCKET_DEFAULT "/var/run/frr/zserv.api"

/* Header: length u16, marker u8, version u8, vrf_id u32, command u16. */
#define ZAPI_HEADER_SIZE 10
#define ZAPI_MARKER 254
#define ZAPI_VERSION 6
#define ZAPI_MAX_PACKET 16384

/* Profiles, named by the first release of each (stats.version). */
enum zapi_profile {
	ZAPI_PROFILE_NONE = 0,
	ZAPI_PROFILE_8_2 = 802,   /* 8.2 to 9.0, Debian 12's 8.4.4 */
	ZAPI_PROFILE_9_1 = 901,
	ZAPI_PROFILE_10_0 = 1000, /* 10.0 and 10.1 */
	ZAPI_PROFILE_10_2 = 1002, /* 10.2 and later */
};

struct zapi_conf {
	const char *socket;     /* zebra's API socket; NULL: ZAPI_SOCKET_DEFAULT */
	int version;            /* 0: probe; 8, 9 or 10: that FRR major release */
	int route_type_name;    /* enum ila_conf_zebra_rtype (lib/conf.h) */
	uint8_t route_type_num; /* with ILA_CONF_ZRT_NUMBER: sent as it is */
	uint16_t instance;      /* zebra's protocol instance, usually 0 */
	uint32_t gr_stale_s;    /* graceful restart: zebra keeps our routes this
				 * long after the connection closes; 0: off */
	uint32_t tag;           /* route tag of every route added (ZAPI_MESSAGE_TAG);
				 * 0: none */
};

enum zroute_nh {
	ZNH_BLACKHOLE,     /* dropped silently (zebra's "Null0") */
	ZNH_IFINDEX,       /* on-link through ifindex */
	ZNH_IPV6,          /* through gate.v6, resolved recursively */
	ZNH_IPV6_IFINDEX,  /* through gate.v6 on ifindex */
	ZNH_IPV4,          /* through gate.v4, resolved recursively */
	ZNH_IPV4_IFINDEX,  /* through gate.v4 on ifindex */
};

union zaddr {
	struct in6_addr v6;
	struct in_addr v4;
};

/* One route. Zero-initialise it, then fill what the next hop type needs. */
struct zroute {
	int family; /* AF_INET6 or AF_INET */
	union zaddr prefix;
	uint8_t plen;
	enum zroute_nh nh;
	union zaddr gate;
	int ifindex;
	uint8_t distance; /* 0: zebra's default for the route type */
	uint32_t metric;
	uint32_t tag;      /* 0: none; the client sends zapi_conf.tag instead */
};

enum zroute_state {
	ZR_PENDING,          /* not sent yet, or no answer from zebra yet */
	ZR_INSTALLED,        /* zebra installed it (in the kernel) */
	ZR_FAILED,           /* zebra failed to install it */
	ZR_REMOVED,          /* zebra removed it on its own */
	ZR_BETTER_ADMIN_WON, /* another route of lower distance is in use */
};

enum zapi_event {
	ZAPI_EV_UP = 1,   /* HELLO done, the desired set is being replayed */
	ZAPI_EV_DOWN = 2, /* the connection is gone; a reconnect is scheduled */
};

typedef void (*zapi_event_fn)(void *arg, int event);
typedef void (*zapi_route_fn)(void *arg, const struct zroute *r, enum zroute_state st);

struct zapi_stats {
	uint64_t connects;      /* connections that reached zebra */
	uint64_t disconnects;
	uint64_t sent;          /* messages queued for zebra */
	uint64_t notifications; /* ROUTE_NOTIFY_OWNER received */
	uint64_t installed;     /* ... saying INSTALLED */
	uint64_t failed;        /* ... saying FAIL_INSTALL or REMOVE_FAIL */
	uint64_t malformed;     /* bad header, or a body too short for its command */
	uint64_t unknown;       /* commands skipped */
	uint64_t errors;        /* ERROR messages, refused HELLOs, socket errors */
	uint64_t stale;         /* routes of our type zebra held unwanted: deleted */
	uint64_t update_complete; /* replays ended with ROUTE_UPDATE_COMPLETE (GR) */
	uint64_t adopted;       /* routes of our type zebra held, taken back (zapi_set_adopt) */
	uint64_t dumps;         /* dumps of zebra's routes of our type read to their end */
	int version;            /* enum zapi_profile of the current or last session */
	bool up;
};

/*
 * Starts the client: the connection is made from the loop (at once, then
 * again with backoff whenever zebra is absent or goes away). cb, if not NULL,
 * hears ZAPI_EV_UP and ZAPI_EV_DOWN. -EINVAL with err filled for a bad conf.
 */
int zapi_open(struct zapi **z, struct ev_loop *loop, const struct zapi_conf *c,
	      zapi_event_fn cb, void *arg, char *err, size_t errlen);

/*
 * Stops the client and frees it. With withdraw_all, CLIENT_CAPABILITIES
 * GR_DISABLE, a ROUTE_DELETE for every desired route and a probe are written
 * first, and the probe's answer is awaited (zebra drops what it has not
 * handled when the connection closes); this waits at most ZAPI_CLOSE_WAIT_MS
 * in all. Without it, zebra keeps the routes of our type and instance for
 * the stale time if graceful restart is on, else drops them when the
 * connection closes; with graceful restart on, the close first waits until
 * zebra has handled every route (a probe if one is unanswered, at most
 * ZAPI_CLOSE_WAIT_MS) and the whole second of CLOCK_MONOTONIC of the last
 * answer is over (at most 1000 ms): zebra's stale removal spares routes
 * created in the second of the close. These are the only places that wait.
 */
#define ZAPI_CLOSE_WAIT_MS 1000
void zapi_close(struct zapi *z, bool withdraw_all);

/*
 * Adds r to the desired set, or replaces the route of the same prefix; sent
 * now if zebra is up, else at the next connection. Host bits of the prefix
 * are cleared. Setting a route equal to the one held is a no-op.
 * -EINVAL for a bad family, length or next hop type, -ENOMEM.
 */
int zapi_route_set(struct zapi *z, const struct zroute *r);

/* Removes a route from the desired set (and from zebra). -ENOENT if absent. */
int zapi_route_unset(struct zapi *z, int family, const void *prefix, uint8_t plen);

/*
 * fn hears every route of our type and instance that zebra holds at a
 * connection and that is not in the desired set, with its first next hop if
 * that is an interface (ZNH_IFINDEX; else nh is ZNH_BLACKHOLE and it is only
 * a prefix). If fn adds it to the desired set (zapi_route_set) and returns
 * true, it stays; otherwise it is deleted.
 */
typedef bool (*zapi_adopt_fn)(void *arg, const struct zroute *r);
void zapi_set_adopt(struct zapi *z, zapi_adopt_fn fn, void *arg);

/* Calls fn for every desired route, in no particular order. */
void zapi_routes(struct zapi *z, zapi_route_fn fn, void *arg);
size_t zapi_route_count(const struct zapi *z);

const struct zapi_stats *zapi_stats(const struct zapi *z);
/* Why the last connection failed or was dropped ("" if never). */
const char *zapi_last_error(const struct zapi *z);
/* "8.2-9.0", "9.1", "10.0-10.1", "10.2+", or "unknown". */
const char *zapi_profile_name(int version);
const char *zroute_state_name(enum zroute_state st);

/*
 * For tests and the fuzz target: zapi_adopt_fd() takes a connected stream
 * socket as if connect() had just succeeded on it (the HELLO exchange
 * starts); zapi_input() handles bytes as if read from zebra's socket and
 * returns 0, or a negative errno once the stream is found broken (the
 * connection has then been dropped).
 */
int zapi_adopt_fd(struct zapi *z, int fd);
int zapi_input(struct zapi *z, const void *data, size_t len);

/*
 * The codec (zapi_codec.c), pure functions on buffers: the client uses them,
 * tests check them against bytes written out by hand.
 */
struct zapi_hdr {
	uint16_t length; /* whole message */
	uint8_t marker;
	uint8_t version;
	uint32_t vrf_id;
	uint16_t command;
};

/* Commands and route type numbering of one profile. */
struct zapi_cmds {
	uint16_t route_add, route_delete, notify_owner, hello, capabilities;
	uint16_t vrf_add, vrf_delete, error, notify_request;
	uint16_t redist_add, redist_delete, redist_route_add, redist_route_del;
	uint16_t client_caps; /* CLIENT_CAPABILITIES: ERROR's number plus one */
	uint8_t type_shift;  /* 1 from 10.0: ZEBRA_ROUTE_LOCAL was inserted at 3 */
	bool hello_notify;   /* HELLO carries receive_notify (before 10.0) */
};

const struct zapi_cmds *zapi_profile_cmds(int version); /* NULL if unknown */

/* Zebra's number for a configured route type, or -EINVAL. */
int zapi_route_type(int version, int route_type_name, uint8_t route_type_num);

/* 0 with h filled; -EAGAIN for fewer than ZAPI_HEADER_SIZE bytes; -EBADMSG
 * for a bad marker, version or length. */
int zapi_parse_header(const uint8_t *buf, size_t n, struct zapi_hdr *h);

/* Each returns the message length written into buf, or -ENOSPC / -EINVAL. */
ssize_t zapi_encode_hello(uint8_t *buf, size_t cap, int version, uint8_t type,
			  uint16_t instance);
ssize_t zapi_encode_notify_request(uint8_t *buf, size_t cap, int version);
ssize_t zapi_encode_route(uint8_t *buf, size_t cap, int version, bool add, uint8_t type,
			  uint16_t instance, const struct zroute *r);
/* REDISTRIBUTE_ADD or _DELETE: afi (1 IPv4, 2 IPv6), type, instance. */
ssize_t zapi_encode_redistribute(uint8_t *buf, size_t cap, int version, bool add, uint8_t afi,
				 uint8_t type, uint16_t instance);
/* What CLIENT_CAPABILITIES says (enum zserv_client_capabilities). */
enum zapi_client_cap {
	ZAPI_CAP_GR = 1,              /* keep my routes stale-time seconds after I go */
	ZAPI_CAP_UPDATE_COMPLETE = 2, /* all my routes of an afi are sent: drop the stale */
	ZAPI_CAP_UPDATE_PENDING = 3,
	ZAPI_CAP_GR_DISABLE = 4,      /* forget GR: my routes go when I go */
};
/* CLIENT_CAPABILITIES: arg is the stale time in seconds for ZAPI_CAP_GR, the
 * afi (1 IPv4, 2 IPv6) for UPDATE_COMPLETE and _PENDING (safi unicast),
 * unused for GR_DISABLE; the VRF is the default one. */
ssize_t zapi_encode_client_cap(uint8_t *buf, size_t cap, int version, enum zapi_client_cap what,
			       uint32_t arg);
/* A message with an empty body (the probe sends an unused command). */
ssize_t zapi_encode_empty(uint8_t *buf, size_t cap, uint16_t command);
/*
 * The probe: command 65535 with an empty body in the VRF 4294967295
 * (VRF_UNKNOWN), which no zebra has. Every release from 8.2 looks the VRF up
 * before the command and answers ERROR ZAPI_ERR_NO_VRF, logged at debug
 * level only (zserv_error_no_vrf); a command unknown in a known VRF would be
 * logged as "Zebra received unknown command" at info level.
 */
#define ZAPI_PROBE_CMD 0xffff
#define ZAPI_PROBE_VRF 0xffffffffu
ssize_t zapi_encode_probe(uint8_t *buf, size_t cap);

/* ROUTE_NOTIFY_OWNER values (a host-order enum on the wire). */
enum zapi_note {
	ZAPI_NOTE_FAIL_INSTALL = 0,
	ZAPI_NOTE_BETTER_ADMIN_WON = 1,
	ZAPI_NOTE_INSTALLED = 2,
	ZAPI_NOTE_REMOVED = 3,
	ZAPI_NOTE_REMOVE_FAIL = 4,
};

struct zapi_notify {
	uint32_t note; /* enum zapi_note, unchecked */
	int family;
	uint8_t plen;
	union zaddr prefix;
	bool has_src;  /* FRR 10.3+ */
	uint8_t src_plen;
	union zaddr src;
	uint32_t table_id;
	uint8_t afi, safi;
};

/* Parses a ROUTE_NOTIFY_OWNER body (without the header) of either size.
 * -EBADMSG for a wrong size, family or prefix length. */
int zapi_parse_notify(const uint8_t *body, size_t n, struct zapi_notify *out);
/* The head of a route message (REDISTRIBUTE_ROUTE_ADD from zebra): type,
 * instance, flags, message, safi, prefix, and the first next hop's type
 * and, for an interface one, its ifindex; what follows is not looked at. */
struct zapi_route_head {
	uint8_t type;
	uint16_t instance;
	uint32_t flags, message;
	uint8_t safi;
	int family;
	uint8_t plen;
	union zaddr prefix;
	uint8_t nh_type;   /* wire type of the first next hop (IFINDEX 1, ...); 0: none */
	int ifindex;       /* with nh_type IFINDEX */
};

/* 0, or -EBADMSG for a body too short, a bad family or prefix length. */
int zapi_parse_route_head(const uint8_t *body, size_t n, struct zapi_route_head *out);

/* Parses an ERROR body: 0 with *code set, or -EBADMSG. */
int zapi_parse_error(const uint8_t *body, size_t n, uint32_t *code);

/* ERROR codes (enum zebra_error_types). */
#define ZAPI_ERR_UNKNOWN 0
#define ZAPI_ERR_NO_VRF 1
#define ZAPI_ERR_INVALID_MSG_TYPE 2

#endif
