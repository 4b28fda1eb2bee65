/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the BPF data path (ila.bpf.c) and its loader (routing/kbpf.c) share:
 * the layout of every map's keys and values, and the global counters. Only
 * <linux/types.h> types, so that both the BPF target and the host compile it.
 * Every struct is padded explicitly: hash keys are compared as bytes.
 * 64-bit halves of addresses are kept as 8 bytes in network order.
 */
#ifndef ILA_BPF_H
#define ILA_BPF_H

#include <linux/types.h>

/* Checksum modes: the kernel's values (include/uapi/linux/ila.h). */
#define ILA_BPF_CSUM_ADJUST_TRANSPORT 0
#define ILA_BPF_CSUM_NEUTRAL_MAP 1
#define ILA_BPF_CSUM_NO_ACTION 2
#define ILA_BPF_CSUM_NEUTRAL_MAP_AUTO 3

/* ila_map: (VN, SIR address) -> where the workload is. An IPv4 workload's
 * address is kept in its IPv4-mapped form, ::ffff:a.b.c.d (bytes 0-9 zero,
 * 10-11 0xff, 12-15 the IPv4 address in network order). */
struct ila_bpf_map_key {
	__u32 vn;
	__u8 addr[16];
};

#define ILA_BPF_STATE_UP 0
#define ILA_BPF_STATE_DOWN 1 /* packets to it are dropped and counted */

struct ila_bpf_mapping {
	__u8 locator[8];
	__u8 state; /* ILA_BPF_STATE_* */
	__u8 flags; /* reserved for later slices: 0 */
	__u8 pad[6];
};

/* ila_stats (per CPU, keyed as ila_map): what matched a mapping. */
struct ila_bpf_counters {
	__u64 packets;
	__u64 bytes;
};

/* ila_prefixes (LPM trie): SIR prefix -> its VN and checksum mode. */
struct ila_bpf_prefix_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct ila_bpf_prefix {
	__u32 vn;
	__u8 csum_mode; /* ILA_BPF_CSUM_* */
	__u8 pad[3];
};

/* ila_v4prefixes (LPM trie): IPv4 SIR prefix -> its VN, and the source
 * address of the IPv6 header that carries its packets over the fabric. */
struct ila_bpf_v4prefix_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct ila_bpf_v4prefix {
	__u32 vn;
	__u8 src[16];
};

/* An IPv4 packet travels over the fabric inside IPv6 (next header 4, hop
 * limit 64, no extension header) to the locator of the node that serves
 * its destination; the identifier is the IPv4 form: bytes 8-11 zero, 12-15
 * the IPv4 address. The receiver also takes an SRH (type 4, segments left
 * 0) between the two headers. */
#define ILA_BPF_V4_HOP_LIMIT 64
#define ILA_BPF_V4_ENCAP_LEN 40 /* what ila_out4 adds: the IPv6 header */

/* ila_locators: one of this node's locators -> the SIR prefix it stands for. */
struct ila_bpf_locator_key {
	__u8 locator[8];
};

struct ila_bpf_locator {
	__u8 sir[8];
	__u8 csum_mode; /* ILA_BPF_CSUM_* */
	__u8 pad[7];
};

/* ila_misses (ring buffer): a packet to (vn, addr) found no mapping. At most
 * one event per address per miss interval (ila_miss_seen remembers when). */
struct ila_bpf_miss {
	__u32 vn;
	__u8 addr[16];
	__u32 pad;
	__u64 ns; /* bpf_ktime_get_ns() of the packet */
};

/* ila_global (per-CPU array): one __u64 per counter. */
enum ila_bpf_counter {
	ILA_BPF_OUT_TRANSLATED = 0, /* SIR->ILA done */
	ILA_BPF_OUT_MISS,	    /* SIR prefix, no mapping: left as it was */
	ILA_BPF_OUT_DOWN,	    /* mapping DOWN: dropped */
	ILA_BPF_OUT_REFUSED,	    /* neutral-map, C-bit already set: left as it was */
	ILA_BPF_OUT_NOT_SIR,	    /* no SIR prefix: left as it was */
	ILA_BPF_OUT_NOT_IPV6,	    /* not IPv6, or too short: left as it was */
	ILA_BPF_MISS_EVENTS,	    /* miss events sent */
	ILA_BPF_MISS_EVENTS_LOST,   /* ring buffer full */
	ILA_BPF_IN_TRANSLATED,	    /* ILA->SIR done */
	ILA_BPF_IN_PASSED,	    /* not one of our locators: left as it was */
	ILA_BPF_OUT4_ENCAPSULATED,  /* IPv4 put inside IPv6 to its locator */
	ILA_BPF_OUT4_MISS,	    /* IPv4 SIR prefix, no mapping: left as it was */
	ILA_BPF_OUT4_DOWN,	    /* IPv4, mapping DOWN: dropped */
	ILA_BPF_OUT4_NOT_SIR,	    /* not IPv4 or no IPv4 SIR prefix: left as it was */
	ILA_BPF_OUT4_FAILED,	    /* the encapsulation failed: dropped */
	ILA_BPF_IN4_DECAPSULATED,   /* IPv4 taken out of IPv6 to one of our locators */
	ILA_BPF_IN4_FAILED,	    /* the decapsulation failed: dropped */
	ILA_BPF_IN4_REFUSED,	    /* IPv4 not for the identifier's address in the
				     * locator's VN: dropped */
	ILA_BPF_COUNTERS
};

#endif
