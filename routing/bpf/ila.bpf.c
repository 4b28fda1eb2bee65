// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The ILA data path in BPF (doc/bpf.md):
 *   ila_out (lwt_xmit, on each SIR prefix's route): SIR -> ILA. The packet's
 *     VN comes from the longest SIR prefix holding its destination; the
 *     mapping (VN, destination) gives the locator. A packet without a mapping
 *     goes on along the route, unchanged, and raises a miss event.
 *   ila_out4 (lwt_xmit, on each IPv4 SIR prefix's route): an IPv4 packet
 *     with a mapping goes inside IPv6 to the locator (ila_bpf.h gives the
 *     format); without one it goes on unchanged and raises a miss event.
 *   ila_in (tc clsact ingress, on the uplink): ILA -> SIR for the node's own
 *     locators; IPv4 carried to one of them is taken out of its IPv6 header.
 * The address and checksum arithmetic is the kernel's (net/ipv6/ila/) as
 * tests/model/ila_model.py writes it down, except that adj-transport adds
 * the locator difference the right way round and so leaves a valid transport
 * checksum.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ila_bpf.h"

#define ETH_P_IPV6_ 0x86DD
#define ETH_P_IP_ 0x0800
#define IPV4_HLEN 20
#define IPV4_DST_OFF 16
#define PROTO_IPIP 4
#define PROTO_ROUTING 43
#define SRH_TYPE 4
/* the kernel's BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (6.3), newer than the uapi
 * headers the build may have */
#define ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define IPV6_NEXTHDR_OFF 6
#define IPV6_DST_OFF 24
#define IPV6_HLEN 40
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define C_BIT 0x10 /* in identifier byte 0: address bit 67 */

/* Set by the loader before the programs are loaded. */
const volatile __u32 tc_l2_hlen = 14;		  /* link header before IPv6 on tc */
const volatile __u64 miss_interval_ns = 1000000000; /* per address */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ila_bpf_map_key);
	__type(value, struct ila_bpf_mapping);
} ila_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ila_bpf_map_key);
	__type(value, struct ila_bpf_counters);
} ila_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ila_bpf_prefix_key);
	__type(value, struct ila_bpf_prefix);
} ila_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ila_bpf_v4prefix_key);
	__type(value, struct ila_bpf_v4prefix);
} ila_v4prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct ila_bpf_locator_key);
	__type(value, struct ila_bpf_locator);
} ila_locators SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ILA_BPF_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} ila_global SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ila_misses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ila_bpf_map_key);
	__type(value, __u64);
} ila_miss_seen SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&ila_global, &which);

	if (v)
		*v += 1;
}

/* ---- ones'-complement arithmetic, as ila_model.py's oc() ---- */

static __always_inline __u32 words64(const __u8 *b)
{
	return ((__u32)b[0] << 8 | b[1]) + ((__u32)b[2] << 8 | b[3]) +
	       ((__u32)b[4] << 8 | b[5]) + ((__u32)b[6] << 8 | b[7]);
}

static __always_inline __u32 neg_words64(const __u8 *b)
{
	return 4 * 0xFFFF - words64(b);
}

/* A sum of at most 16 words: 0 only when every word was 0, otherwise the
 * residue modulo 0xffff in 1..0xffff, the kernel's representation. */
static __always_inline __u32 oc(__u32 total)
{
	total = (total & 0xFFFF) + (total >> 16);
	total = (total & 0xFFFF) + (total >> 16);
	return total;
}

/*
 * The checksum-neutral mapping (ila_common.c): the identifier's low 16 bits
 * absorb (old upper half - new upper half), and with flip the C-bit is
 * toggled and its own weight (0x1000 in the identifier's first word) taken
 * out again. addr is changed in place but for its upper half.
 */
static __always_inline void neutral_adjust(__u8 *addr, const __u8 *new_upper, int flip)
{
	__u32 terms = neg_words64(new_upper) + words64(addr);
	__u32 low;

	if (flip) {
		if (addr[8] & C_BIT)
			terms += 0x1000;
		else
			terms += 0xEFFF + 0xFFFF;
		addr[8] ^= C_BIT;
	}
	low = oc(terms + ((__u32)addr[14] << 8 | addr[15]));
	addr[14] = low >> 8;
	addr[15] = low & 0xFF;
}

/*
 * Rewrites the destination at l3 (an IPv6 header) from its upper half to
 * new_upper in the given checksum mode. Returns 0, or -1 when neutral-map
 * refuses the address (SIR->ILA with the C-bit already set); the packet is
 * then untouched.
 */
static __always_inline int rewrite(struct __sk_buff *skb, __u32 l3, __u8 *dst,
				   const __u8 *new_upper, __u8 mode, int sir2ila)
{
	__be32 from[2], to[2];
	__u8 nexthdr;
	__u32 csum_off = 0;
	__u64 flags = BPF_F_PSEUDO_HDR;

	__builtin_memcpy(from, dst, 8);
	__builtin_memcpy(to, new_upper, 8);

	if (mode == ILA_BPF_CSUM_NEUTRAL_MAP) {
		if (sir2ila && (dst[8] & C_BIT))
			return -1;
		if (sir2ila || (dst[8] & C_BIT))
			neutral_adjust(dst, new_upper, 1);
	} else if (mode == ILA_BPF_CSUM_NEUTRAL_MAP_AUTO) {
		neutral_adjust(dst, new_upper, 0);
	} else if (mode == ILA_BPF_CSUM_ADJUST_TRANSPORT) {
		if (bpf_skb_load_bytes(skb, l3 + IPV6_NEXTHDR_OFF, &nexthdr, 1) == 0) {
			if (nexthdr == PROTO_TCP) {
				csum_off = l3 + IPV6_HLEN + 16;
			} else if (nexthdr == PROTO_UDP) {
				csum_off = l3 + IPV6_HLEN + 6;
				flags |= BPF_F_MARK_MANGLED_0;
			} else if (nexthdr == PROTO_ICMPV6) {
				csum_off = l3 + IPV6_HLEN + 2;
			}
		}
	}
	__builtin_memcpy(dst, new_upper, 8);

	/* The address write keeps a CHECKSUM_COMPLETE skb->csum right; so does
	 * the transport update, which on IPv6 undoes the same difference. */
	if (csum_off && csum_off + 2 <= skb->len) {
		__s64 diff = bpf_csum_diff(from, sizeof(from), to, sizeof(to), 0);

		if (diff >= 0)
			bpf_l4_csum_replace(skb, csum_off, 0, diff, flags);
	}
	bpf_skb_store_bytes(skb, l3 + IPV6_DST_OFF, dst, 16, BPF_F_RECOMPUTE_CSUM);
	return 0;
}

static __always_inline void miss_event(const struct ila_bpf_map_key *key)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 *last = bpf_map_lookup_elem(&ila_miss_seen, key);
	struct ila_bpf_miss *ev;

	if (last && now - *last < miss_interval_ns)
		return;
	bpf_map_update_elem(&ila_miss_seen, key, &now, BPF_ANY);
	ev = bpf_ringbuf_reserve(&ila_misses, sizeof(*ev), 0);
	if (!ev) {
		count(ILA_BPF_MISS_EVENTS_LOST);
		return;
	}
	ev->vn = key->vn;
	__builtin_memcpy(ev->addr, key->addr, 16);
	ev->pad = 0;
	ev->ns = now;
	bpf_ringbuf_submit(ev, 0);
	count(ILA_BPF_MISS_EVENTS);
}

static __always_inline void count_mapping(const struct ila_bpf_map_key *key, __u32 len)
{
	struct ila_bpf_counters *c = bpf_map_lookup_elem(&ila_stats, key);

	if (!c) {
		/* the loader creates the entry with the mapping; this is the
		 * fallback should it be missing */
		struct ila_bpf_counters zero = { 0, 0 };

		bpf_map_update_elem(&ila_stats, key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&ila_stats, key);
		if (!c)
			return;
	}
	c->packets += 1;
	c->bytes += len;
}

SEC("lwt_xmit")
int ila_out(struct __sk_buff *skb)
{
	struct ila_bpf_prefix_key pkey = { .prefixlen = 128 };
	struct ila_bpf_map_key key = { 0 };
	struct ila_bpf_prefix *prefix;
	struct ila_bpf_mapping *m;
	__u8 locator[8];

	/* an LWT program sees the packet from its IPv6 header on */
	if (skb->protocol != bpf_htons(ETH_P_IPV6_) || skb->len < IPV6_HLEN ||
	    bpf_skb_load_bytes(skb, IPV6_DST_OFF, key.addr, 16) < 0) {
		count(ILA_BPF_OUT_NOT_IPV6);
		return BPF_OK;
	}
	__builtin_memcpy(pkey.addr, key.addr, 16);
	prefix = bpf_map_lookup_elem(&ila_prefixes, &pkey);
	if (!prefix) {
		count(ILA_BPF_OUT_NOT_SIR);
		return BPF_OK;
	}
	key.vn = prefix->vn;
	m = bpf_map_lookup_elem(&ila_map, &key);
	if (!m) {
		count(ILA_BPF_OUT_MISS);
		miss_event(&key);
		return BPF_OK;
	}
	count_mapping(&key, skb->len);
	if (m->state != ILA_BPF_STATE_UP) {
		count(ILA_BPF_OUT_DOWN);
		return BPF_DROP;
	}
	__builtin_memcpy(locator, m->locator, 8);
	if (rewrite(skb, 0, key.addr, locator, prefix->csum_mode, 1) < 0) {
		count(ILA_BPF_OUT_REFUSED);
		return BPF_OK;
	}
	count(ILA_BPF_OUT_TRANSLATED);
	/* routed afresh by the ILA address, as the kernel's ILA route without
	 * a gateway does */
	return BPF_LWT_REROUTE;
}

SEC("lwt_xmit")
int ila_out4(struct __sk_buff *skb)
{
	struct ila_bpf_v4prefix_key pkey = { .prefixlen = 32 };
	struct ila_bpf_map_key key = { 0 };
	struct ila_bpf_v4prefix *prefix;
	struct ila_bpf_mapping *m;
	__u8 ip4[IPV4_HLEN], hdr[IPV6_HLEN] = { 0 }, ipip = PROTO_IPIP;
	__u32 len = skb->len;
	int gso;

	/* an LWT program sees the packet from its IPv4 header on */
	if (skb->protocol != bpf_htons(ETH_P_IP_) ||
	    bpf_skb_load_bytes(skb, 0, ip4, sizeof(ip4)) < 0 || (ip4[0] >> 4) != 4) {
		count(ILA_BPF_OUT4_NOT_SIR);
		return BPF_OK;
	}
	__builtin_memcpy(pkey.addr, ip4 + IPV4_DST_OFF, 4);
	prefix = bpf_map_lookup_elem(&ila_v4prefixes, &pkey);
	if (!prefix) {
		count(ILA_BPF_OUT4_NOT_SIR);
		return BPF_OK;
	}
	key.vn = prefix->vn;
	key.addr[10] = 0xff;
	key.addr[11] = 0xff;
	__builtin_memcpy(key.addr + 12, ip4 + IPV4_DST_OFF, 4);
	m = bpf_map_lookup_elem(&ila_map, &key);
	if (!m) {
		count(ILA_BPF_OUT4_MISS);
		miss_event(&key);
		return BPF_OK;
	}
	count_mapping(&key, len);
	if (m->state != ILA_BPF_STATE_UP) {
		count(ILA_BPF_OUT4_DOWN);
		return BPF_DROP;
	}
	hdr[0] = 0x60;
	/* a GSO packet's length is set per segment when it is cut */
	if (len <= 0xFFFF) {
		hdr[4] = len >> 8;
		hdr[5] = len & 0xFF;
	}
	/* A GSO packet (TCP) must become SKB_GSO_IPXIP6 to be cut right; the
	 * kernel's push marks it so only when the pushed header's next header
	 * reads 0 (net/core/lwt_bpf.c, handle_gso_encap(), tests IPPROTO_IP
	 * where IPPROTO_IPIP is meant): for such a packet 0 is pushed and 4
	 * written over it once the push is done. */
	gso = skb->gso_size != 0;
	hdr[IPV6_NEXTHDR_OFF] = gso ? 0 : PROTO_IPIP;
	hdr[7] = ILA_BPF_V4_HOP_LIMIT;
	__builtin_memcpy(hdr + 8, prefix->src, 16);
	__builtin_memcpy(hdr + IPV6_DST_OFF, m->locator, 8);
	__builtin_memcpy(hdr + IPV6_DST_OFF + 12, ip4 + IPV4_DST_OFF, 4);
	if (bpf_lwt_push_encap(skb, BPF_LWT_ENCAP_IP, hdr, sizeof(hdr)) < 0 ||
	    (gso && bpf_skb_store_bytes(skb, IPV6_NEXTHDR_OFF, &ipip, 1, 0) < 0)) {
		count(ILA_BPF_OUT4_FAILED);
		return BPF_DROP;
	}
	count(ILA_BPF_OUT4_ENCAPSULATED);
	/* routed by the new IPv6 destination */
	return BPF_LWT_REROUTE;
}

/*
 * IPv4 inside IPv6 to one of our locators (dst, its identifier in the IPv4
 * form; sir, the SIR prefix the locator stands for), directly or behind an
 * SRH with no segment left: the outer headers go, and the packet goes on
 * as the IPv4 packet it carried. Returns 1 when the packet was taken out,
 * 0 when it is not of that form, -1 when taking it out failed, -2 when
 * the IPv4 packet is not for the address the identifier names, in an IPv4
 * prefix of the locator's own VN (it must not reach another VN, or leave
 * this node for anywhere else).
 */
static __always_inline int decap4(struct __sk_buff *skb, __u32 l3, const __u8 *dst,
				  const __u8 *sir)
{
	struct ila_bpf_prefix_key pkey6 = { .prefixlen = 128 };
	struct ila_bpf_v4prefix_key pkey4 = { .prefixlen = 32 };
	struct ila_bpf_prefix *p6;
	struct ila_bpf_v4prefix *p4;
	__u32 hlen = IPV6_HLEN;
	__u8 nexthdr, srh[4], ip4[IPV4_HLEN];
	__u16 eth_ip = bpf_htons(ETH_P_IP_);

	if (dst[8] | dst[9] | dst[10] | dst[11])
		return 0;
	if (bpf_skb_load_bytes(skb, l3 + IPV6_NEXTHDR_OFF, &nexthdr, 1) < 0)
		return 0;
	if (nexthdr == PROTO_ROUTING) {
		/* next header, length in 8 octets past the first 8, type,
		 * segments left */
		if (bpf_skb_load_bytes(skb, l3 + IPV6_HLEN, srh, sizeof(srh)) < 0 ||
		    srh[0] != PROTO_IPIP || srh[2] != SRH_TYPE || srh[3] != 0)
			return 0;
		hlen += 8 + 8 * (__u32)srh[1];
	} else if (nexthdr != PROTO_IPIP) {
		return 0;
	}
	if (bpf_skb_load_bytes(skb, l3 + hlen, ip4, sizeof(ip4)) < 0 || (ip4[0] >> 4) != 4)
		return 0;
	if (__builtin_memcmp(ip4 + IPV4_DST_OFF, dst + 12, 4) != 0)
		return -2;
	__builtin_memcpy(pkey6.addr, sir, 8);
	__builtin_memcpy(pkey4.addr, ip4 + IPV4_DST_OFF, 4);
	p6 = bpf_map_lookup_elem(&ila_prefixes, &pkey6);
	p4 = bpf_map_lookup_elem(&ila_v4prefixes, &pkey4);
	if (!p6 || !p4 || p6->vn != p4->vn)
		return -2;
	if (bpf_skb_adjust_room(skb, -(__s32)hlen, BPF_ADJ_ROOM_MAC,
				ADJ_ROOM_DECAP_L3_IPV4 | BPF_F_ADJ_ROOM_FIXED_GSO) < 0)
		return -1;
	if (l3 >= 2 && bpf_skb_store_bytes(skb, l3 - 2, &eth_ip, 2, 0) < 0)
		return -1;
	return 1;
}

SEC("tc")
int ila_in(struct __sk_buff *skb)
{
	__u32 l3 = tc_l2_hlen;
	struct ila_bpf_locator_key lkey;
	struct ila_bpf_locator *l;
	__u8 dst[16], sir[8];

	if (skb->protocol != bpf_htons(ETH_P_IPV6_) || l3 > 64 ||
	    bpf_skb_load_bytes(skb, l3 + IPV6_DST_OFF, dst, 16) < 0)
		return TC_ACT_OK;
	__builtin_memcpy(lkey.locator, dst, 8);
	l = bpf_map_lookup_elem(&ila_locators, &lkey);
	if (!l) {
		count(ILA_BPF_IN_PASSED);
		return TC_ACT_OK;
	}
	__builtin_memcpy(sir, l->sir, 8);
	switch (decap4(skb, l3, dst, sir)) {
	case 1:
		count(ILA_BPF_IN4_DECAPSULATED);
		return TC_ACT_OK;
	case -1:
		count(ILA_BPF_IN4_FAILED);
		return TC_ACT_SHOT;
	case -2:
		count(ILA_BPF_IN4_REFUSED);
		return TC_ACT_SHOT;
	}
	rewrite(skb, l3, dst, sir, l->csum_mode, 0);
	count(ILA_BPF_IN_TRANSLATED);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
