/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The BPF data path's loader (doc/bpf.md): loads routing/bpf/ila.bpf.c
 * through its generated skeleton, fills its maps and attaches ila_in to tc
 * ingress. ila_out is attached by a route (encap bpf xmit) that the caller
 * installs with kbpf_out_fd().
 *
 * Nothing is pinned: the programs and maps live as long as the struct kbpf
 * (and as long as a route still refers to ila_out). kbpf_close() detaches
 * every tc filter it attached and removes the clsact qdiscs it created.
 * Functions return 0 (or a count) on success and a negative errno on
 * failure; nothing prints (libbpf's own messages go to the debug log).
 */
#ifndef ILA_ROUTING_KBPF_H
#define ILA_ROUTING_KBPF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "routing/bpf/ila_bpf.h"

struct kbpf;

/* Zero for every default. */
struct kbpf_opts {
	uint32_t max_mappings;	   /* ila_map entries, default 65536 */
	uint32_t max_prefixes;	   /* SIR prefixes, default 1024 */
	uint32_t max_locators;	   /* the node's own locators, default 256 */
	bool tc_no_l2;		   /* ila_in's device has no link header (tun) */
	uint64_t miss_interval_ns; /* at most one miss event per address per interval, default 1 s */
};

enum kbpf_state {
	KBPF_UP = ILA_BPF_STATE_UP,
	KBPF_DOWN = ILA_BPF_STATE_DOWN,
};

struct kbpf_mapping {
	uint32_t vn;
	struct in6_addr addr; /* the SIR address */
	struct ila_locator loc;
	enum kbpf_state state;
	uint8_t flags; /* reserved: 0 */
};

struct kbpf_counters {
	uint64_t packets;
	uint64_t bytes;
};

/* Opens and loads the programs; nothing is attached yet. -EPERM without
 * CAP_BPF/CAP_NET_ADMIN, -ENOSYS or -EINVAL where the kernel lacks BPF. */
int kbpf_open(const struct kbpf_opts *opts, struct kbpf **out);
/* Detaches what kbpf_tc_attach() attached and frees everything. */
void kbpf_close(struct kbpf *k);

/* The programs' file descriptors (owned by k). */
int kbpf_out_fd(const struct kbpf *k);
int kbpf_out4_fd(const struct kbpf *k); /* ila_out4, for IPv4 SIR prefix routes */
int kbpf_in_fd(const struct kbpf *k);

/* SIR prefixes: a packet's VN and checksum mode on the way out. */
int kbpf_prefix_set(struct kbpf *k, const struct in6_addr *prefix, unsigned int plen,
		    uint32_t vn, enum ila_csum_mode mode);
int kbpf_prefix_del(struct kbpf *k, const struct in6_addr *prefix, unsigned int plen);

/* IPv4 SIR prefixes: a packet's VN, and src, the source of the IPv6 header
 * it travels in. Its mappings are keyed by the IPv4-mapped form of their
 * address (ila_bpf.h). */
int kbpf_v4prefix_set(struct kbpf *k, const struct in_addr *prefix, unsigned int plen,
		      uint32_t vn, const struct in6_addr *src);
int kbpf_v4prefix_del(struct kbpf *k, const struct in_addr *prefix, unsigned int plen);

/* The node's own locators: loc is restored to sir on the way in. */
int kbpf_locator_set(struct kbpf *k, const struct ila_locator *loc,
		     const struct ila_sir_prefix *sir, enum ila_csum_mode mode);
int kbpf_locator_del(struct kbpf *k, const struct ila_locator *loc);

/* Mappings. A set replaces (a move is one update) and keeps the counters. */
int kbpf_mapping_set(struct kbpf *k, const struct kbpf_mapping *m);
int kbpf_mapping_del(struct kbpf *k, uint32_t vn, const struct in6_addr *addr);
int kbpf_mapping_get(struct kbpf *k, uint32_t vn, const struct in6_addr *addr,
		     struct kbpf_mapping *out);
/* Batches: *done (may be NULL) is how many were applied, in order, when an
 * error stops the batch. Deleting a missing mapping is not an error. */
int kbpf_mapping_set_batch(struct kbpf *k, const struct kbpf_mapping *m, size_t n, size_t *done);
int kbpf_mapping_del_batch(struct kbpf *k, const struct kbpf_mapping *m, size_t n, size_t *done);

/* Packets and bytes that matched the mapping, summed over the CPUs; zero
 * before the first packet. */
int kbpf_mapping_counters(struct kbpf *k, uint32_t vn, const struct in6_addr *addr,
			  struct kbpf_counters *out);
/* The global counters (enum ila_bpf_counter), summed over the CPUs. */
int kbpf_global_counters(struct kbpf *k, uint64_t out[ILA_BPF_COUNTERS]);

/* Miss events: calls cb for each one waiting, without blocking; returns how
 * many. kbpf_miss_fd() is an fd to poll for readability. */
typedef void (*kbpf_miss_cb)(uint32_t vn, const struct in6_addr *addr, void *arg);
int kbpf_miss_fd(const struct kbpf *k);
int kbpf_miss_drain(struct kbpf *k, kbpf_miss_cb cb, void *arg);

/* ila_in on tc clsact ingress of ifindex (the qdisc is created if absent). */
int kbpf_tc_attach(struct kbpf *k, int ifindex);
int kbpf_tc_detach(struct kbpf *k, int ifindex);
/* Forgets the filters attached: kbpf_close() then leaves them (and the
 * programs and maps they hold) in place. */
void kbpf_tc_forget(struct kbpf *k);
/* The name the kernel shows for ila_in's filters, "ila_in:[ID]". */
int kbpf_in_name(const struct kbpf *k, char *buf, size_t len);

#endif
