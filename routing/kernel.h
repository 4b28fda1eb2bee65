/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad's netlink layer, on libmnl: routes on rtnetlink (ILA lightweight
 * tunnels, unreachable, device and blackhole routes), the ILA translation
 * table on the generic netlink family "ila", and neighbour events.
 *
 * Every route written here carries the protocol number ilad owns
 * (rtm_protocol, config `route-protocol`), so a dump of that protocol is
 * exactly ilad's state and no other program's route is ever touched.
 * Functions return 0 (or a count) on success and a negative errno on
 * failure; nothing prints, nothing exits, there is no global state.
 *
 * Layouts follow include/uapi/linux/{rtnetlink,lwtunnel,ila}.h.
 */
#ifndef ILA_ROUTING_KERNEL_H
#define ILA_ROUTING_KERNEL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define KERNEL_ROUTE_PROTOCOL_DEFAULT 73
#define KERNEL_TABLE_MAIN 254     /* RT_TABLE_MAIN */
#define KERNEL_PROBE_TABLE 0xfff0 /* scratch table of kernel_probe_ila() */
#define KERNEL_ERRMSG_LEN 160
#define KERNEL_ROUTE_MSG_MAX 256 /* buffer size for kernel_route_build() */

struct kernel;

enum kroute_kind {
	KROUTE_ILA = 1,     /* SIR -> ILA lightweight tunnel, IPv6 only */
	KROUTE_UNREACHABLE, /* senders get ICMP(v6) destination unreachable */
	KROUTE_DEV,         /* local delivery to oif, optional gateway */
	KROUTE_BLACKHOLE,   /* silently dropped */
	KROUTE_SEG6,        /* encapsulated in IPv6 + SRH towards segment (any family) */
	KROUTE_SEG6_DX4,    /* IPv6 only: the segment's decapsulation, IPv4 to nh4 on oif */
	KROUTE_SEG6_DX6,    /* IPv6 only: the segment's decapsulation, IPv6 to nh6 on oif */
	KROUTE_BPF,         /* LWT BPF xmit: the BPF data path's ila_out (doc/bpf.md) */
	KROUTE_OTHER,       /* seen in a dump only: a type ilad never writes */
};

/* ILA_ATTR_HOOK_TYPE values; UNSET leaves the attribute out (kernel: output). */
#define KROUTE_HOOK_OUTPUT 0
#define KROUTE_HOOK_INPUT 1
#define KROUTE_HOOK_UNSET 0xff

union kaddr {
	struct in6_addr v6;
	struct in_addr v4; /* AF_INET: the first 4 bytes, the rest zero */
	uint8_t b[16];
};

/*
 * One route, as written and as read back by a dump. Zero-initialise it, then
 * fill what the kind needs. Fields a kind does not use must stay zero.
 */
struct kroute {
	uint8_t family;   /* AF_INET6 or AF_INET */
	uint8_t dst_len;  /* prefix length */
	uint8_t kind;     /* enum kroute_kind */
	uint8_t protocol; /* filled by dumps; writes always use the kernel's proto */
	uint32_t table;   /* 0 means main (254) */
	union kaddr dst;
	union kaddr gateway; /* DEV and ILA: next hop, all zero for none */
	int oif;             /* DEV: required; ILA: optional; others: unused */
	/* KROUTE_ILA only */
	struct ila_locator locator;
	uint8_t csum_mode;  /* enum ila_csum_mode */
	uint8_t ident_type; /* enum ila_ident_type; the kernel takes luid only */
	uint8_t hook_type;  /* KROUTE_HOOK_* */
	/* KROUTE_SEG6: the one segment (SRv6 "encap" mode); KROUTE_SEG6_DX4 and
	 * _DX6: where the decapsulated packet goes (End.DX4's nh4, End.DX6's
	 * nh6). Both End.DX kinds are written with the kernel's per-route
	 * counters on; a dump fills packets and bytes from them (0 on a kernel
	 * without them). */
	struct in6_addr segment;
	bool seg6_reduced; /* KROUTE_SEG6: "encap.red", no SRH for the one segment */
	struct in_addr nh4;
	struct in6_addr nh6;
	uint64_t packets;
	uint64_t bytes;
	/* KROUTE_BPF: the lwt_xmit program (kbpf_out_fd(), kbpf_out4_fd() for
	 * an IPv4 route), needed to write the
	 * route; a dump cannot say which program a route holds and leaves it 0 */
	int bpf_fd;
	/* KROUTE_BPF: bytes the program puts in front (LWT_BPF_XMIT_HEADROOM):
	 * the kernel takes them off the route's MTU; 0 for none */
	uint32_t bpf_headroom;
};

/* The name a KROUTE_BPF route gives its program (`ip route` shows it): an
 * IPv6 route holds ila_out, an IPv4 route ila_out4. */
#define KROUTE_BPF_NAME "ila_out"
#define KROUTE_BPF_NAME4 "ila_out4"

/* One ILA translation entry (ILA -> SIR on receive), keyed by
 * (loc_match, ifindex). */
struct kxlat {
	struct ila_locator loc_match; /* the locator packets arrive with */
	struct ila_locator loc;       /* what replaces it: the SIR prefix */
	int ifindex;                  /* 0: any interface */
	uint8_t csum_mode;            /* enum ila_csum_mode */
	uint8_t ident_type;           /* enum ila_ident_type */
};

/* A neighbour table event (or a line of a neighbour dump). */
struct kneigh {
	bool dump_end; /* the end of a dump (NLMSG_DONE, or the dump's error): no entry */
	bool deleted; /* RTM_DELNEIGH */
	uint8_t family;
	int ifindex;
	union kaddr addr;
	uint16_t state; /* NUD_* of linux/neighbour.h */
	uint8_t flags;  /* NTF_* */
	uint8_t lladdr_len;
	uint8_t lladdr[16];
};

/* ---- sockets ---- */

/*
 * Opens the rtnetlink and generic netlink sockets (large buffers, extended
 * ACKs, capped ACKs, strict dump filtering) and resolves the "ila" family if
 * the kernel has it. proto is the rtm_protocol of every route written and
 * the one dumps select (choosing one no other daemon uses is the caller's
 * business). On error *k is NULL and err says what failed. The sockets are
 * blocking: the kernel answers route and ILA requests while they are sent.
 */
int kernel_open(struct kernel **k, uint8_t proto, char *err, size_t errlen);
void kernel_close(struct kernel *k);
uint8_t kernel_proto(const struct kernel *k);
/* The kernel's extended-ACK text of the last failed single request, or "". */
const char *kernel_last_error(const struct kernel *k);

/*
 * 0 when the kernel has ILA: the generic netlink family "ila" resolves and
 * an `encap ila` route can be added (and is removed again) in the scratch
 * table KERNEL_PROBE_TABLE. Otherwise -EOPNOTSUPP and a message naming
 * CONFIG_IPV6_ILA and `modprobe ila`, or another -errno (-EPERM ...).
 */
int kernel_probe_ila(struct kernel *k, char *err, size_t errlen);

/*
 * 1 when the kernel takes SRv6 "encap.red" routes (the reduced
 * encapsulation: one segment goes without a segment routing header), 0
 * when it refuses them (older kernels), else a negative errno. Tried with
 * a route in the scratch table KERNEL_PROBE_TABLE, removed again.
 */
int kernel_probe_seg6_red(struct kernel *k);

/* ---- routes ---- */

/*
 * Parses one route message (RTM_NEWROUTE of a dump or of a route event) of
 * len bytes into r. Returns 1 for an IPv4/IPv6 route of protocol proto (and
 * of table, unless 0), 0 for any other message, route or protocol, or one
 * too short to hold what its header says.
 */
int kroute_parse(const void *msg, size_t len, uint8_t proto, uint32_t table, struct kroute *r);
/* 0 if r can be written: family, prefix length, host bits, kind fields. */
int kroute_check(const struct kroute *r);
/* Whether the kernel's route have already is what want asks for: same
 * destination, table (0 = main), kind and kind fields, unset hook = output. */
bool kroute_same(const struct kroute *want, const struct kroute *have);
/* "2001:db8::1/128 encap ila 2001:0:0:a csum-mode neutral-map ident-type
 * luid oif 3 table 254" (iproute2's words); returns buf. */
char *kroute_format(const struct kroute *r, char *buf, size_t len);
#define KROUTE_STRLEN 200

/*
 * Encodes one route message into buf without sending it: RTM_NEWROUTE with
 * NLM_F_REQUEST|NLM_F_CREATE|NLM_F_REPLACE, or RTM_DELROUTE matching only
 * the destination, table and protocol; extra_flags (e.g. NLM_F_ACK) are
 * or'ed in. Returns the message length, -EINVAL for a bad route, -EMSGSIZE
 * when size is below KERNEL_ROUTE_MSG_MAX.
 */
int kernel_route_build(void *buf, size_t size, const struct kroute *r, bool del,
		       uint8_t proto, uint32_t seq, uint16_t extra_flags);

/*
 * Batches. begin() empties the batch; replace()/delete() queue one route
 * (copied; -EINVAL for a route kroute_check() refuses, which is not queued;
 * a delete needs only family, dst, dst_len and table, and matches any kind);
 * commit() sends them in as few sendmsg() calls as fit the socket buffer and
 * waits until the kernel has processed every one. A replace creates or
 * overwrites (never EEXIST); a delete of a route that is not there counts as
 * success. Each failure is reported with its position in the batch (0-based
 * count of queued routes), the route, -errno and the kernel's extended-ACK
 * text ("" if none). commit() returns the number of failures, or -errno if
 * the socket failed (then an unknown part of the batch was applied: dump
 * and reconcile). The batch is empty afterwards in both cases.
 */
typedef void (*kernel_report_fn)(void *arg, size_t index, const struct kroute *r, bool del,
				 int err, const char *msg);
void kernel_batch_begin(struct kernel *k);
int kernel_route_replace(struct kernel *k, const struct kroute *r);
int kernel_route_delete(struct kernel *k, const struct kroute *r);
size_t kernel_batch_count(const struct kernel *k);
int kernel_batch_commit(struct kernel *k, kernel_report_fn report, void *arg);

/*
 * Dumps the routes of family (AF_INET6, AF_INET) carrying the kernel's
 * protocol number, in table (0: every table). cb sees each route once, after
 * the whole dump was read consistently (an interrupted dump is retried); a
 * negative return from cb stops the walk and is returned. Returns the number
 * of routes seen or -errno.
 */
/*
 * The route of ilad's protocol that the kernel's FIB holds for dst (a
 * host route: the lookup is RTM_GETROUTE with RTM_F_FIB_MATCH), counters of
 * an End.DX route included. 0 and *r filled; -ENOENT when the route that
 * matches is not one of ilad's; else a negative errno.
 */
int kernel_route_get(struct kernel *k, int family, const union kaddr *dst, struct kroute *r);

typedef int (*kernel_route_fn)(void *arg, const struct kroute *r);
int kernel_route_dump(struct kernel *k, int family, uint32_t table, kernel_route_fn cb,
		      void *arg);

/*
 * The next hop the kernel uses for dst (RTM_GETROUTE): its device and, when
 * it has one, its gateway (all zero otherwise). ILA routes take the next
 * hop of their locator: the kernel wants a device for an IPv6 route, and
 * lo would pin the translated packet's lookup to lo. -ENETUNREACH when dst
 * has no unicast route.
 */
int kernel_route_lookup(struct kernel *k, int family, const union kaddr *dst, int *oif,
			union kaddr *gateway);

/* ---- tc ---- */

/* Deletes the cls_bpf filters on clsact ingress of ifindex whose name
 * starts with prefix (libbpf names them "PROG:[ID]"), except the one named
 * keep (NULL: none), and the clsact qdisc too when nothing else is left on
 * it. Returns how many filters went, or -errno. */
int kernel_tc_purge(struct kernel *k, int ifindex, const char *prefix, const char *keep);
/* How many such filters are there (0 without a clsact), or -errno. */
int kernel_tc_count(struct kernel *k, int ifindex, const char *prefix);

/* ---- ILA translation table (generic netlink "ila", version 1) ---- */

enum kernel_xlat_result {
	KERNEL_XLAT_ADDED = 0,    /* it was not there */
	KERNEL_XLAT_PRESENT = 1,  /* already there, identical: untouched */
	KERNEL_XLAT_REPLACED = 2, /* there with other values: deleted, re-added */
};

/*
 * Idempotent add: an existing entry (EEXIST) is read back with GET; if it
 * differs it is deleted and added again. Returns enum kernel_xlat_result or
 * -errno (-EOPNOTSUPP without ILA).
 */
int kernel_xlat_add(struct kernel *k, const struct kxlat *x);
/* Deletes the entry keyed (loc_match, ifindex); 0 also when there was none. */
int kernel_xlat_del(struct kernel *k, const struct kxlat *x);
/* Reads the entry keyed (loc_match, ifindex) into out; -ENOENT if none. */
int kernel_xlat_get(struct kernel *k, const struct ila_locator *loc_match, int ifindex,
		    struct kxlat *out);
/*
 * Every entry, delivered after a complete dump: a dump the kernel ends with
 * EAGAIN (its table was resized meanwhile) is retried from the start a few
 * times. Returns the number of entries or -errno (-EAGAIN if it never
 * settled); a negative return from cb stops the walk and is returned.
 */
typedef int (*kernel_xlat_fn)(void *arg, const struct kxlat *x);
int kernel_xlat_dump(struct kernel *k, kernel_xlat_fn cb, void *arg);
/* Encodes an ILA_CMD_* request for family id into buf (for tests and
 * tracing), size at least KERNEL_ROUTE_MSG_MAX. Returns the length or
 * -EMSGSIZE. */
int kernel_xlat_build(void *buf, size_t size, uint16_t family, uint8_t cmd, const struct kxlat *x,
		      uint32_t seq, uint16_t extra_flags);

/* ---- neighbour events ---- */

/*
 * A non-blocking rtnetlink socket subscribed to RTNLGRP_NEIGH, for the
 * caller's event loop. Returns the fd (close it with close()) or -errno.
 */
int kernel_neigh_open(char *err, size_t errlen);
/* Asks for a dump of the neighbour table of family (AF_UNSPEC: every
 * family, IPv4 and IPv6 in one dump); its entries then come through
 * kernel_neigh_read() like events, followed by a dump_end. A socket runs
 * one dump at a time: a request made while one runs is refused by the
 * kernel (EBUSY, reported as a dump_end). Use it at start and after
 * -ENOBUFS. */
int kernel_neigh_request_dump(int fd, int family);
/* Asks the kernel to resolve addr on ifindex again (RTM_NEWNEIGH with
 * NTF_USE, creating the entry if needed): it solicits the neighbour (ARP
 * or neighbour solicitation) and reports the outcome as events, REACHABLE
 * when it answers, FAILED when it does not. 0 or -errno. */
int kernel_neigh_probe(int fd, int family, int ifindex, const union kaddr *addr);
/*
 * Reads every pending message without blocking and calls cb for each
 * RTM_NEWNEIGH / RTM_DELNEIGH of AF_INET or AF_INET6, and with dump_end
 * set at the end of a dump. Returns the number of events, 0 if none was
 * pending, -ENOBUFS when the kernel dropped events (request a dump), or
 * another -errno.
 */
typedef void (*kernel_neigh_fn)(void *arg, const struct kneigh *n);
int kernel_neigh_read(int fd, kernel_neigh_fn cb, void *arg);
/*
 * Writes the neighbour entry n->addr on n->ifindex (family n->family) with
 * n->lladdr (n->lladdr_len bytes) in state n->state (NUD_*), creating or
 * replacing it, as `ip neigh replace` does. 0 or -errno.
 */
int kernel_neigh_set(struct kernel *k, const struct kneigh *n);
/*
 * Deletes the neighbour entry n->addr on n->ifindex, only while it still
 * has n->lladdr (any lladdr when n->lladdr_len is 0). Returns 1 when it
 * went, 0 when there was none or it has another lladdr, or -errno.
 */
int kernel_neigh_del(struct kernel *k, const struct kneigh *n);

/* ---- links and their addresses (klink.c: ilad's anycast gateway) ---- */

/* A link event (RTM_NEWLINK / RTM_DELLINK) or the answer of kernel_link_get(). */
struct klink {
	int ifindex;
	bool deleted;		/* RTM_DELLINK: gone, or moved to another namespace */
	bool up;		/* IFF_UP */
	char name[16];
	uint8_t mac[32];
	uint8_t mac_len;
	int addr_gen_mode;	/* IN6_ADDR_GEN_MODE_*, -1 when not given */
};

/* An address of an interface (RTM_NEWADDR / RTM_DELADDR). */
struct kaddr_entry {
	uint8_t family;		/* AF_INET6 or AF_INET */
	uint8_t plen;
	uint8_t scope;		/* RT_SCOPE_* */
	int ifindex;
	union kaddr addr;
};

/* A non-blocking rtnetlink socket subscribed to RTNLGRP_LINK; the fd or -errno. */
int kernel_link_open(char *err, size_t errlen);
/* Reads every pending link message; cb for each. Returns the number read,
 * -ENOBUFS when the kernel dropped events, or another -errno. */
typedef void (*kernel_link_fn)(void *arg, const struct klink *l);
int kernel_link_read(int fd, kernel_link_fn cb, void *arg);
/* The link's state now; 0, -ENODEV or -errno. */
int kernel_link_get(struct kernel *k, int ifindex, struct klink *l);
/* Sets the link's MAC address (the kernel refuses with EBUSY a link that
 * is up and cannot change it live). */
int kernel_link_set_mac(struct kernel *k, int ifindex, const uint8_t mac[6]);
/* IPv6 addrgenmode none: the kernel adds no link-local address of its own. */
int kernel_link_addr_gen_none(struct kernel *k, int ifindex);
/* Adds (or replaces) an address, permanent and without duplicate address
 * detection (IFA_F_NODAD); deletes one. */
int kernel_addr_add(struct kernel *k, const struct kaddr_entry *a);
int kernel_addr_del(struct kernel *k, const struct kaddr_entry *a);
/* The addresses of family on ifindex, read whole before cb is called (cb
 * may talk to the kernel). */
typedef void (*kernel_addr_fn)(void *arg, const struct kaddr_entry *a);
int kernel_addr_dump(struct kernel *k, int family, int ifindex, kernel_addr_fn cb, void *arg);

#endif
