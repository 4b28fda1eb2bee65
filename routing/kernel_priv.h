/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the files of ilad's netlink layer share: struct kernel, the ILA attributes, helpers. */
/* The layer: nl.c (sockets), kroute.c, kbatch.c, kxlat.c, kneigh.c, klink.c; kernel.h is its contract. */
#ifndef ILA_ROUTING_KERNEL_PRIV_H
#define ILA_ROUTING_KERNEL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "kernel.h"

/*
 * include/uapi/linux/ila.h, restated: that header's enums reuse the names
 * of addr.h's (ILA_CSUM_*), so both cannot be included in one file.
 */
enum {
	NLILA_ATTR_LOCATOR = 1,       /* u64, network order bytes */
	NLILA_ATTR_IDENTIFIER = 2,    /* unused by the kernel */
	NLILA_ATTR_LOCATOR_MATCH = 3, /* u64 */
	NLILA_ATTR_IFINDEX = 4,       /* s32 */
	NLILA_ATTR_DIR = 5,
	NLILA_ATTR_PAD = 6,
	NLILA_ATTR_CSUM_MODE = 7,  /* u8 */
	NLILA_ATTR_IDENT_TYPE = 8, /* u8 */
	NLILA_ATTR_HOOK_TYPE = 9,  /* u8, lwtunnel only */
	NLILA_ATTR_MAX = 9,
};
#define NLILA_GENL_NAME "ila"
#define NLILA_GENL_VERSION 1
#define NLILA_CMD_ADD 1
#define NLILA_CMD_DEL 2
#define NLILA_CMD_GET 3

/* Kernel defaults when an ILA attribute is absent (ila_lwt.c, ila_xlat.c). */
#define NLILA_DEFAULT_CSUM ILA_CSUM_NO_ACTION
#define NLILA_DEFAULT_IDENT ILA_IDENT_USE_FORMAT

#define KERNEL_SOCKBUF (8 * 1024 * 1024)
#define KERNEL_RCVBUF_LEN 32768    /* the kernel's dump skbs are at most 32 KiB */
#define KERNEL_CHUNK_BYTES (256 * 1024)
#define KERNEL_CHUNK_MSGS 4096     /* bounds the errors one chunk can queue */
#define KERNEL_MSG_MAX KERNEL_ROUTE_MSG_MAX /* largest route or ila message built here */
#define KERNEL_TIMEOUT_S 10        /* the kernel answers synchronously: a safety net */
#define KERNEL_DUMP_TRIES 5
#define KERNEL_NEIGH_READS 64      /* datagrams per kernel_neigh_read() call */

struct kop {
	struct kroute r;
	bool del;
};

struct kernel {
	struct mnl_socket *rt; /* NETLINK_ROUTE */
	struct mnl_socket *gn; /* NETLINK_GENERIC */
	uint16_t ila_family;   /* generic netlink id of "ila", 0 if unknown */
	uint8_t proto;
	uint32_t seq;
	size_t chunk_bytes;
	struct kop *ops;
	size_t nops, ops_cap;
	uint8_t *sndbuf; /* chunk_bytes + KERNEL_MSG_MAX */
	uint8_t *rcvbuf; /* KERNEL_RCVBUF_LEN */
	char errmsg[KERNEL_ERRMSG_LEN];
};

/* A growable array of fixed-size items, for dumps read before delivery. */
struct vec {
	uint8_t *items;
	size_t n, cap, size;
};

static inline size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

typedef int (*msg_fn)(const struct nlmsghdr *nlh, void *arg);

/* nl.c */
int nl_vec_push(struct vec *v, const void *item);
void nl_vec_free(struct vec *v);
void nl_set_bufsize(int fd, int force_opt, int opt, int size);
/* Reads every pending datagram of an event socket without blocking (at most
 * KERNEL_NEIGH_READS); cb for each message. The number of messages cb
 * returned 1 for, or -errno (-ENOBUFS: events were lost). */
int nl_read_events(int fd, msg_fn cb, void *arg);
int nl_parse_ack(const struct nlmsghdr *nlh, char msg[KERNEL_ERRMSG_LEN]);
int nl_talk(struct kernel *k, struct mnl_socket *s, const struct nlmsghdr *req, msg_fn cb,
	    void *arg);
int nl_genl_resolve(struct kernel *k, const char *name, uint16_t *id);

/* kroute.c */
int kroute_check_key(const struct kroute *r);

#endif
