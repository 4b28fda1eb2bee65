/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Routes: check, build, compare, format, parse, dump, next-hop lookup, and the ILA probe. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/lwtunnel.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seg6.h>
#include <linux/seg6_iptunnel.h>
#include <linux/seg6_local.h>

#include "kernel_priv.h"

static uint32_t eff_table(uint32_t table)
{
	return table ? table : RT_TABLE_MAIN;
}

static bool addr_is_zero(const union kaddr *a)
{
	static const union kaddr zero;

	return memcmp(a, &zero, sizeof(zero)) == 0;
}

/* ---- route encoding ---- */

/* What a delete needs: family, destination prefix (table may be 0). */
int kroute_check_key(const struct kroute *r)
{
	size_t alen, i;
	unsigned int bits;

	if (r->family != AF_INET6 && r->family != AF_INET)
		return -EINVAL;
	alen = addr_len(r->family);
	if (r->dst_len > alen * 8)
		return -EINVAL;
	/* Host bits must be zero: IPv4 refuses them, IPv6 would mask them. */
	for (i = 0; i < 16; i++) {
		bits = r->dst_len > i * 8 ? r->dst_len - (unsigned int)i * 8 : 0;
		if (bits >= 8)
			continue;
		if (i >= alen ? r->dst.b[i] != 0 : (r->dst.b[i] & (0xffu >> bits)) != 0)
			return -EINVAL;
	}
	return 0;
}

int kroute_check(const struct kroute *r)
{
	int err = kroute_check_key(r);

	if (err)
		return err;
	switch (r->kind) {
	case KROUTE_ILA:
		if (r->family != AF_INET6 || r->csum_mode > ILA_CSUM_NEUTRAL_MAP_AUTO)
			return -EINVAL;
		if (r->hook_type != KROUTE_HOOK_OUTPUT && r->hook_type != KROUTE_HOOK_INPUT &&
		    r->hook_type != KROUTE_HOOK_UNSET)
			return -EINVAL;
		if (!ila_ident_type_name((enum ila_ident_type)r->ident_type))
			return -EINVAL;
		break;
	case KROUTE_DEV:
		if (r->oif <= 0 && addr_is_zero(&r->gateway))
			return -EINVAL;
		break;
	case KROUTE_SEG6:
		if (IN6_IS_ADDR_UNSPECIFIED(&r->segment) || r->oif <= 0)
			return -EINVAL;
		break;
	case KROUTE_SEG6_DX4:
		if (r->family != AF_INET6 || r->oif <= 0 || r->nh4.s_addr == 0)
			return -EINVAL;
		break;
	case KROUTE_SEG6_DX6:
		if (r->family != AF_INET6 || r->oif <= 0 || IN6_IS_ADDR_UNSPECIFIED(&r->nh6))
			return -EINVAL;
		break;
	case KROUTE_BPF:
		if (r->bpf_fd <= 0 || (r->oif <= 0 && addr_is_zero(&r->gateway)))
			return -EINVAL;
		break;
	case KROUTE_UNREACHABLE:
	case KROUTE_BLACKHOLE:
		break;
	default:
		return -EINVAL;
	}
	if (r->oif < 0)
		return -EINVAL;
	return 0;
}

int kernel_route_build(void *buf, size_t size, const struct kroute *r, bool del, uint8_t proto,
		       uint32_t seq, uint16_t extra_flags)
{
	uint32_t table = eff_table(r->table);
	size_t alen = addr_len(r->family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nlattr *nest;
	int err;

	err = del ? kroute_check_key(r) : kroute_check(r);
	if (err)
		return err;
	if (size < KERNEL_MSG_MAX)
		return -EMSGSIZE;
	/* libmnl leaves attribute padding as it finds it: make it zero, so a
	 * message is a function of the route alone. */
	memset(buf, 0, KERNEL_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = del ? RTM_DELROUTE : RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | extra_flags;
	if (!del)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	nlh->nlmsg_seq = seq;

	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->dst_len;
	/* As iproute2: ids above 255 only fit the attribute. */
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = proto;
	if (del) {
		/* Match on destination, table and protocol only: any kind. */
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
		rtm->rtm_type = RTN_UNSPEC;
	} else {
		rtm->rtm_scope = RT_SCOPE_UNIVERSE;
		switch (r->kind) {
		case KROUTE_UNREACHABLE:
			rtm->rtm_type = RTN_UNREACHABLE;
			break;
		case KROUTE_BLACKHOLE:
			rtm->rtm_type = RTN_BLACKHOLE;
			break;
		case KROUTE_DEV:
			/* An IPv4 route straight onto a link has link scope. */
			if (r->family == AF_INET && addr_is_zero(&r->gateway))
				rtm->rtm_scope = RT_SCOPE_LINK;
			rtm->rtm_type = RTN_UNICAST;
			break;
		case KROUTE_BPF:
			/* the IPv4 prefix route without gateway: as KROUTE_DEV */
			if (r->family == AF_INET && addr_is_zero(&r->gateway))
				rtm->rtm_scope = RT_SCOPE_LINK;
			rtm->rtm_type = RTN_UNICAST;
			break;
		default:
			rtm->rtm_type = RTN_UNICAST;
			break;
		}
	}
	/* Attribute order as iproute2's, so that a capture of `ip route
	 * replace` compares byte for byte (but for seq and padding). */
	mnl_attr_put(nlh, RTA_DST, alen, r->dst.b);
	if (table >= 256)
		mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (del || r->kind == KROUTE_UNREACHABLE || r->kind == KROUTE_BLACKHOLE)
		return (int)nlh->nlmsg_len;
	if (!addr_is_zero(&r->gateway))
		mnl_attr_put(nlh, RTA_GATEWAY, alen, r->gateway.b);
	if (r->kind == KROUTE_ILA) {
		nest = mnl_attr_nest_start(nlh, RTA_ENCAP);
		/* The kernel takes the u64 as the locator's bytes, unswapped. */
		mnl_attr_put(nlh, NLILA_ATTR_LOCATOR, sizeof(r->locator.b), r->locator.b);
		mnl_attr_put_u8(nlh, NLILA_ATTR_CSUM_MODE, r->csum_mode);
		mnl_attr_put_u8(nlh, NLILA_ATTR_IDENT_TYPE, r->ident_type);
		if (r->hook_type != KROUTE_HOOK_UNSET)
			mnl_attr_put_u8(nlh, NLILA_ATTR_HOOK_TYPE, r->hook_type);
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u16(nlh, RTA_ENCAP_TYPE, LWTUNNEL_ENCAP_ILA);
	}
	if (r->kind == KROUTE_SEG6) {
		/* mode encap with one segment: an outer IPv6 header and an SRH of
		 * one entry, segments_left 0 (as `ip route ... encap seg6 mode
		 * encap segs S` writes it); encap.red: the same request, and the
		 * kernel leaves the SRH out */
		uint8_t tun[sizeof(struct seg6_iptunnel_encap) + sizeof(struct ipv6_sr_hdr) +
			    sizeof(struct in6_addr)] = { 0 };
		struct seg6_iptunnel_encap *enc = (struct seg6_iptunnel_encap *)tun;
		struct ipv6_sr_hdr *srh = (struct ipv6_sr_hdr *)(tun + sizeof(*enc));

		enc->mode = r->seg6_reduced ? SEG6_IPTUN_MODE_ENCAP_RED : SEG6_IPTUN_MODE_ENCAP;
		srh->hdrlen = sizeof(struct in6_addr) / 8;
		srh->type = 4; /* IPV6_SRCRT_TYPE_4, the segment routing header */
		memcpy(tun + sizeof(*enc) + sizeof(*srh), &r->segment, sizeof(r->segment));
		nest = mnl_attr_nest_start(nlh, RTA_ENCAP);
		mnl_attr_put(nlh, SEG6_IPTUNNEL_SRH, sizeof(tun), tun);
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u16(nlh, RTA_ENCAP_TYPE, LWTUNNEL_ENCAP_SEG6);
	}
	if (r->kind == KROUTE_SEG6_DX4 || r->kind == KROUTE_SEG6_DX6) {
		struct nlattr *cnt;

		nest = mnl_attr_nest_start(nlh, RTA_ENCAP);
		if (r->kind == KROUTE_SEG6_DX4) {
			mnl_attr_put_u32(nlh, SEG6_LOCAL_ACTION, SEG6_LOCAL_ACTION_END_DX4);
			mnl_attr_put(nlh, SEG6_LOCAL_NH4, sizeof(r->nh4), &r->nh4);
		} else {
			mnl_attr_put_u32(nlh, SEG6_LOCAL_ACTION, SEG6_LOCAL_ACTION_END_DX6);
			mnl_attr_put(nlh, SEG6_LOCAL_NH6, sizeof(r->nh6), &r->nh6);
		}
		/* per-route counters on (`ip route ... count`): the kernel wants
		 * the three of them, zero */
		cnt = mnl_attr_nest_start(nlh, SEG6_LOCAL_COUNTERS | NLA_F_NESTED);
		mnl_attr_put_u64(nlh, SEG6_LOCAL_CNT_PACKETS, 0);
		mnl_attr_put_u64(nlh, SEG6_LOCAL_CNT_BYTES, 0);
		mnl_attr_put_u64(nlh, SEG6_LOCAL_CNT_ERRORS, 0);
		mnl_attr_nest_end(nlh, cnt);
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u16(nlh, RTA_ENCAP_TYPE, LWTUNNEL_ENCAP_SEG6_LOCAL);
	}
	if (r->kind == KROUTE_BPF) {
		struct nlattr *xmit;

		nest = mnl_attr_nest_start(nlh, RTA_ENCAP);
		xmit = mnl_attr_nest_start(nlh, LWT_BPF_XMIT);
		mnl_attr_put_u32(nlh, LWT_BPF_PROG_FD, (uint32_t)r->bpf_fd);
		mnl_attr_put_strz(nlh, LWT_BPF_PROG_NAME,
				  r->family == AF_INET ? KROUTE_BPF_NAME4 : KROUTE_BPF_NAME);
		mnl_attr_nest_end(nlh, xmit);
		if (r->bpf_headroom)
			mnl_attr_put_u32(nlh, LWT_BPF_XMIT_HEADROOM, r->bpf_headroom);
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u16(nlh, RTA_ENCAP_TYPE, LWTUNNEL_ENCAP_BPF);
	}
	if (r->oif > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	return (int)nlh->nlmsg_len;
}

bool kroute_same(const struct kroute *want, const struct kroute *have)
{
	size_t alen = addr_len(want->family);
	uint8_t hw, hh;

	if (want->family != have->family || want->dst_len != have->dst_len ||
	    want->kind != have->kind || eff_table(want->table) != eff_table(have->table) ||
	    memcmp(want->dst.b, have->dst.b, alen) != 0)
		return false;
	if (want->kind == KROUTE_SEG6)
		return want->oif == have->oif && want->seg6_reduced == have->seg6_reduced &&
		       memcmp(&want->segment, &have->segment, sizeof(want->segment)) == 0;
	if (want->kind == KROUTE_SEG6_DX4)
		return want->oif == have->oif && want->nh4.s_addr == have->nh4.s_addr;
	if (want->kind == KROUTE_SEG6_DX6)
		return want->oif == have->oif &&
		       memcmp(&want->nh6, &have->nh6, sizeof(want->nh6)) == 0;
	/* a dump does not say which program the route holds: write it again */
	if (want->kind == KROUTE_BPF)
		return false;
	if (want->kind != KROUTE_ILA && want->kind != KROUTE_DEV)
		return true;
	if (want->oif != have->oif || memcmp(want->gateway.b, have->gateway.b, alen) != 0)
		return false;
	if (want->kind == KROUTE_DEV)
		return true;
	hw = want->hook_type == KROUTE_HOOK_UNSET ? KROUTE_HOOK_OUTPUT : want->hook_type;
	hh = have->hook_type == KROUTE_HOOK_UNSET ? KROUTE_HOOK_OUTPUT : have->hook_type;
	return ila_locator_equal(&want->locator, &have->locator) &&
	       want->csum_mode == have->csum_mode && want->ident_type == have->ident_type &&
	       hw == hh;
}

char *kroute_format(const struct kroute *r, char *buf, size_t len)
{
	char dst[INET6_ADDRSTRLEN] = "?", gw[INET6_ADDRSTRLEN] = "", loc[ILA_LOCATOR_STRLEN];
	const char *cs, *it;
	size_t n = 0;
	int w;

#define APPEND(...)                                                  \
	do {                                                         \
		w = snprintf(buf + n, len - n, __VA_ARGS__);         \
		if (w < 0 || (size_t)w >= len - n)                   \
			return buf;                                  \
		n += (size_t)w;                                      \
	} while (0)

	if (!len)
		return buf;
	buf[0] = '\0';
	if (r->family == AF_INET || r->family == AF_INET6)
		inet_ntop(r->family, r->dst.b, dst, sizeof(dst));
	switch (r->kind) {
	case KROUTE_UNREACHABLE:
		APPEND("unreachable %s/%u", dst, r->dst_len);
		break;
	case KROUTE_BLACKHOLE:
		APPEND("blackhole %s/%u", dst, r->dst_len);
		break;
	case KROUTE_ILA:
		cs = ila_csum_mode_name((enum ila_csum_mode)r->csum_mode);
		it = ila_ident_type_name((enum ila_ident_type)r->ident_type);
		APPEND("%s/%u encap ila %s", dst, r->dst_len,
		       ila_locator_format(&r->locator, loc, sizeof(loc)));
		if (cs)
			APPEND(" csum-mode %s", cs);
		else
			APPEND(" csum-mode %u", r->csum_mode);
		if (it)
			APPEND(" ident-type %s", it);
		else
			APPEND(" ident-type %u", r->ident_type);
		if (r->hook_type != KROUTE_HOOK_UNSET)
			APPEND(" hook-type %s",
			       r->hook_type == KROUTE_HOOK_INPUT ? "input" : "output");
		break;
	case KROUTE_DEV:
		APPEND("%s/%u", dst, r->dst_len);
		break;
	case KROUTE_SEG6: {
		char seg[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &r->segment, seg, sizeof(seg));
		APPEND("%s/%u encap seg6 mode %s segs %s", dst, r->dst_len,
		       r->seg6_reduced ? "encap.red" : "encap", seg);
		break;
	}
	case KROUTE_SEG6_DX4: {
		char nh[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &r->nh4, nh, sizeof(nh));
		APPEND("%s/%u encap seg6local action End.DX4 nh4 %s", dst, r->dst_len, nh);
		break;
	}
	case KROUTE_SEG6_DX6: {
		char nh[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &r->nh6, nh, sizeof(nh));
		APPEND("%s/%u encap seg6local action End.DX6 nh6 %s", dst, r->dst_len, nh);
		break;
	}
	case KROUTE_BPF:
		APPEND("%s/%u encap bpf xmit %s", dst, r->dst_len,
		       r->family == AF_INET ? KROUTE_BPF_NAME4 : KROUTE_BPF_NAME);
		break;
	default:
		APPEND("%s/%u type-other", dst, r->dst_len);
		break;
	}
	if (r->kind != KROUTE_UNREACHABLE && r->kind != KROUTE_BLACKHOLE) {
		if (!addr_is_zero(&r->gateway)) {
			inet_ntop(r->family, r->gateway.b, gw, sizeof(gw));
			APPEND(" via %s", gw);
		}
		if (r->oif > 0)
			APPEND(" oif %d", r->oif);
	}
	APPEND(" table %u", eff_table(r->table));
#undef APPEND
	return buf;
}

/* ---- route dumps ---- */

struct rattrs {
	const struct nlattr *tb[RTA_MAX + 1];
};

static int rattr_cb(const struct nlattr *attr, void *data)
{
	struct rattrs *ra = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case RTA_TABLE:
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_OK;
		break;
	case RTA_ENCAP_TYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return MNL_CB_OK;
		break;
	case RTA_ENCAP:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_OK;
		break;
	default:
		break;
	}
	ra->tb[type] = attr;
	return MNL_CB_OK;
}

static int ila_encap_cb(const struct nlattr *attr, void *data)
{
	struct kroute *r = data;

	switch (mnl_attr_get_type(attr)) {
	case NLILA_ATTR_LOCATOR:
		if (mnl_attr_get_payload_len(attr) == sizeof(r->locator.b))
			memcpy(r->locator.b, mnl_attr_get_payload(attr), sizeof(r->locator.b));
		break;
	case NLILA_ATTR_CSUM_MODE:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
			r->csum_mode = mnl_attr_get_u8(attr);
		break;
	case NLILA_ATTR_IDENT_TYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
			r->ident_type = mnl_attr_get_u8(attr);
		break;
	case NLILA_ATTR_HOOK_TYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
			r->hook_type = mnl_attr_get_u8(attr);
		break;
	default: /* NLILA_ATTR_PAD aligns the u64 */
		break;
	}
	return MNL_CB_OK;
}

static int seg6_encap_cb(const struct nlattr *attr, void *data)
{
	struct kroute *r = data;
	size_t len = mnl_attr_get_payload_len(attr);
	const uint8_t *p = mnl_attr_get_payload(attr);
	const struct seg6_iptunnel_encap *enc = (const void *)p;
	const struct ipv6_sr_hdr *srh;

	if (mnl_attr_get_type(attr) != SEG6_IPTUNNEL_SRH ||
	    len != sizeof(*enc) + sizeof(*srh) + sizeof(struct in6_addr))
		return MNL_CB_OK; /* more than one segment: not one of ours */
	srh = (const void *)(p + sizeof(*enc));
	if ((enc->mode != SEG6_IPTUN_MODE_ENCAP && enc->mode != SEG6_IPTUN_MODE_ENCAP_RED) ||
	    srh->hdrlen != 2)
		return MNL_CB_OK;
	r->seg6_reduced = enc->mode == SEG6_IPTUN_MODE_ENCAP_RED;
	memcpy(&r->segment, p + sizeof(*enc) + sizeof(*srh), sizeof(r->segment));
	r->kind = KROUTE_SEG6;
	return MNL_CB_OK;
}

static int seg6_counters_cb(const struct nlattr *attr, void *data)
{
	struct kroute *r = data;

	if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(attr) == SEG6_LOCAL_CNT_PACKETS)
		r->packets = mnl_attr_get_u64(attr);
	else if (mnl_attr_get_type(attr) == SEG6_LOCAL_CNT_BYTES)
		r->bytes = mnl_attr_get_u64(attr);
	return MNL_CB_OK;
}

static int seg6_local_cb(const struct nlattr *attr, void *data)
{
	struct kroute *r = data;

	switch (mnl_attr_get_type(attr)) {
	case SEG6_LOCAL_ACTION:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			break;
		if (mnl_attr_get_u32(attr) == SEG6_LOCAL_ACTION_END_DX4)
			r->kind = KROUTE_SEG6_DX4;
		else if (mnl_attr_get_u32(attr) == SEG6_LOCAL_ACTION_END_DX6)
			r->kind = KROUTE_SEG6_DX6;
		break;
	case SEG6_LOCAL_NH4:
		if (mnl_attr_get_payload_len(attr) == sizeof(r->nh4))
			memcpy(&r->nh4, mnl_attr_get_payload(attr), sizeof(r->nh4));
		break;
	case SEG6_LOCAL_NH6:
		if (mnl_attr_get_payload_len(attr) == sizeof(r->nh6))
			memcpy(&r->nh6, mnl_attr_get_payload(attr), sizeof(r->nh6));
		break;
	case SEG6_LOCAL_COUNTERS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
			(void)mnl_attr_parse_nested(attr, seg6_counters_cb, r);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static int bpf_encap_cb(const struct nlattr *attr, void *data)
{
	struct kroute *r = data;

	if (mnl_attr_get_type(attr) == LWT_BPF_XMIT)
		r->kind = KROUTE_BPF;
	return MNL_CB_OK;
}

static void copy_addr(union kaddr *dst, const struct nlattr *a, size_t alen)
{
	if (a && mnl_attr_get_payload_len(a) == alen)
		memcpy(dst->b, mnl_attr_get_payload(a), alen);
}

/* 1 and *r filled for a route of proto (and table, unless 0), else 0. */
static int route_parse(const struct nlmsghdr *nlh, uint8_t proto, uint32_t table,
		       struct kroute *r)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct rattrs ra = { { 0 } };
	uint32_t tbl;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return 0;
	if (rtm->rtm_protocol != proto || (rtm->rtm_flags & RTM_F_CLONED) ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*rtm), rattr_cb, &ra) < 0)
		return 0;
	tbl = ra.tb[RTA_TABLE] ? mnl_attr_get_u32(ra.tb[RTA_TABLE]) : rtm->rtm_table;
	if (table && tbl != table)
		return 0;
	alen = addr_len(rtm->rtm_family);
	memset(r, 0, sizeof(*r));
	r->family = rtm->rtm_family;
	r->dst_len = rtm->rtm_dst_len;
	r->protocol = rtm->rtm_protocol;
	r->table = tbl;
	r->hook_type = KROUTE_HOOK_UNSET;
	copy_addr(&r->dst, ra.tb[RTA_DST], alen);
	switch (rtm->rtm_type) {
	case RTN_UNREACHABLE:
		r->kind = KROUTE_UNREACHABLE;
		return 1; /* the kernel shows lo as the device: not ours */
	case RTN_BLACKHOLE:
		r->kind = KROUTE_BLACKHOLE;
		return 1;
	case RTN_UNICAST:
		r->kind = KROUTE_DEV;
		if (ra.tb[RTA_ENCAP_TYPE]) {
			r->kind = KROUTE_OTHER;
			uint16_t et = mnl_attr_get_u16(ra.tb[RTA_ENCAP_TYPE]);

			if (et == LWTUNNEL_ENCAP_ILA && ra.tb[RTA_ENCAP]) {
				r->kind = KROUTE_ILA;
				r->csum_mode = NLILA_DEFAULT_CSUM;
				r->ident_type = NLILA_DEFAULT_IDENT;
				(void)mnl_attr_parse_nested(ra.tb[RTA_ENCAP], ila_encap_cb, r);
			} else if (et == LWTUNNEL_ENCAP_SEG6 && ra.tb[RTA_ENCAP]) {
				(void)mnl_attr_parse_nested(ra.tb[RTA_ENCAP], seg6_encap_cb, r);
			} else if (et == LWTUNNEL_ENCAP_SEG6_LOCAL && ra.tb[RTA_ENCAP]) {
				(void)mnl_attr_parse_nested(ra.tb[RTA_ENCAP], seg6_local_cb, r);
			} else if (et == LWTUNNEL_ENCAP_BPF && ra.tb[RTA_ENCAP]) {
				(void)mnl_attr_parse_nested(ra.tb[RTA_ENCAP], bpf_encap_cb, r);
			}
		}
		break;
	default:
		r->kind = KROUTE_OTHER;
		break;
	}
	copy_addr(&r->gateway, ra.tb[RTA_GATEWAY], alen);
	if (ra.tb[RTA_OIF])
		r->oif = (int)mnl_attr_get_u32(ra.tb[RTA_OIF]);
	return 1;
}

int kroute_parse(const void *msg, size_t len, uint8_t proto, uint32_t table, struct kroute *r)
{
	const struct nlmsghdr *nlh = msg;

	if (len > INT32_MAX || !mnl_nlmsg_ok(nlh, (int)len))
		return 0;
	return route_parse(nlh, proto, table, r);
}

struct route_get {
	uint8_t proto;
	bool found;
	struct kroute *r;
};

static int route_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct route_get *g = arg;

	if (route_parse(nlh, g->proto, 0, g->r) == 1)
		g->found = true;
	return 0;
}

int kernel_route_get(struct kernel *k, int family, const union kaddr *dst, struct kroute *r)
{
	struct route_get g = { .proto = k->proto, .r = r };
	uint8_t buf[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	size_t alen = addr_len(family);
	int err;

	if (!alen)
		return -EINVAL;
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(alen * 8);
	rtm->rtm_flags = RTM_F_FIB_MATCH;
	mnl_attr_put(nlh, RTA_DST, alen, dst->b);
	err = nl_talk(k, k->rt, nlh, route_get_cb, &g);
	if (err)
		return err;
	return g.found ? 0 : -ENOENT;
}

struct route_dump {
	uint8_t proto;
	uint32_t table;
	struct vec v;
};

static int route_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct route_dump *d = arg;
	struct kroute r;

	if (route_parse(nlh, d->proto, d->table, &r) != 1)
		return 0;
	return nl_vec_push(&d->v, &r);
}

int kernel_route_dump(struct kernel *k, int family, uint32_t table, kernel_route_fn cb, void *arg)
{
	struct route_dump d = {
		.proto = k->proto,
		.table = table,
		.v = { .size = sizeof(struct kroute) },
	};
	uint8_t buf[128];
	int err = -EINTR, tries;
	size_t i;

	for (tries = 0; tries < KERNEL_DUMP_TRIES && err == -EINTR; tries++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct rtmsg *rtm;

		d.v.n = 0;
		nlh->nlmsg_type = RTM_GETROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = ++k->seq;
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = (uint8_t)family;
		/* Filters for kernels with strict checking; route_parse()
		 * filters again for the others. */
		rtm->rtm_protocol = k->proto;
		if (table) {
			rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
			mnl_attr_put_u32(nlh, RTA_TABLE, table);
		}
		err = nl_talk(k, k->rt, nlh, route_dump_cb, &d);
		/* A filter on a table that does not exist yet. */
		if (err == -ENOENT && table) {
			d.v.n = 0;
			err = 0;
		}
	}
	for (i = 0; !err && i < d.v.n; i++) {
		int r = cb(arg, (const struct kroute *)(d.v.items + i * d.v.size));

		if (r < 0)
			err = r;
	}
	if (!err)
		err = (int)d.v.n;
	nl_vec_free(&d.v);
	return err;
}

/* ---- next-hop lookup, the ILA probe ---- */

struct lookup {
	int oif;
	union kaddr gateway;
	bool found;
};

static int lookup_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct lookup *lk = arg;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct rattrs ra = { { 0 } };

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*rtm), rattr_cb, &ra) < 0)
		return 0;
	if (rtm->rtm_type != RTN_UNICAST || !ra.tb[RTA_OIF])
		return 0; /* unreachable, blackhole, local: no next hop to follow */
	lk->oif = (int)mnl_attr_get_u32(ra.tb[RTA_OIF]);
	copy_addr(&lk->gateway, ra.tb[RTA_GATEWAY], addr_len(rtm->rtm_family));
	lk->found = true;
	return 0;
}

int kernel_route_lookup(struct kernel *k, int family, const union kaddr *dst, int *oif,
			union kaddr *gateway)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	struct lookup lk = { 0 };
	int err;

	if (family != AF_INET6 && family != AF_INET)
		return -EINVAL;
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = family == AF_INET6 ? 128 : 32;
	mnl_attr_put(nlh, RTA_DST, addr_len((uint8_t)family), dst->b);
	err = nl_talk(k, k->rt, nlh, lookup_cb, &lk);
	if (err)
		return err;
	if (!lk.found)
		return -ENETUNREACH;
	*oif = lk.oif;
	*gateway = lk.gateway;
	return 0;
}

static int route_single(struct kernel *k, const struct kroute *r, bool del)
{
	uint8_t buf[KERNEL_MSG_MAX];
	int len = kernel_route_build(buf, sizeof(buf), r, del, k->proto, ++k->seq, NLM_F_ACK);

	if (len < 0)
		return len;
	return nl_talk(k, k->rt, (struct nlmsghdr *)buf, NULL, NULL);
}

int kernel_probe_ila(struct kernel *k, char *err, size_t errlen)
{
	struct kroute r = {
		.family = AF_INET6,
		.dst_len = 128,
		.kind = KROUTE_ILA,
		.table = KERNEL_PROBE_TABLE,
		.locator = { { 0, 0, 0, 0, 0, 0, 0, 1 } },
		.csum_mode = ILA_CSUM_NO_ACTION,
		.ident_type = ILA_IDENT_LUID,
		.hook_type = KROUTE_HOOK_UNSET,
	};
	char rmsg[KERNEL_ERRMSG_LEN] = "";
	int ferr, rerr, derr;
	unsigned int lo = if_nametoindex("lo");
	uint16_t id;

	/* 2001:db8:ffff:ffff::1, a documentation address, in a table that no
	 * rule looks up: the probe never steers a packet. */
	inet_pton(AF_INET6, "2001:db8:ffff:ffff::1", &r.dst.v6);
	r.oif = lo ? (int)lo : 1;

	ferr = nl_genl_resolve(k, NLILA_GENL_NAME, &id);
	if (!ferr)
		k->ila_family = id;
	rerr = route_single(k, &r, false);
	if (rerr)
		snprintf(rmsg, sizeof(rmsg), "%s", k->errmsg);
	if (!rerr) {
		derr = route_single(k, &r, true);
		if (derr && derr != -ESRCH && derr != -ENOENT) {
			snprintf(err, errlen,
				 "ILA probe: removing the scratch route from table %u: %s",
				 KERNEL_PROBE_TABLE, strerror(-derr));
			return derr;
		}
	}
	if (!ferr && !rerr)
		return 0;
	if (rerr == -EPERM || ferr == -EPERM) {
		snprintf(err, errlen, "ILA probe: operation not permitted (CAP_NET_ADMIN needed)");
		return -EPERM;
	}
	if ((ferr && ferr != -ENOENT) || (rerr && rerr != -EOPNOTSUPP)) {
		snprintf(err, errlen, "ILA probe failed: generic netlink family \"ila\": %s; "
			 "encap ila route: %s%s%s%s", ferr ? strerror(-ferr) : "ok",
			 rerr ? strerror(-rerr) : "ok", rmsg[0] ? " (" : "", rmsg,
			 rmsg[0] ? ")" : "");
		return rerr ? rerr : ferr;
	}
	snprintf(err, errlen, "the kernel has no ILA: generic netlink family \"ila\" %s, "
		 "encap ila route %s%s%s%s; it needs a kernel with CONFIG_IPV6_ILA "
		 "(`modprobe ila` if it is a module)", ferr ? "not found" : "found",
		 rerr ? "refused" : "accepted", rmsg[0] ? " (" : "", rmsg, rmsg[0] ? ")" : "");
	return -EOPNOTSUPP;
}

int kernel_probe_seg6_red(struct kernel *k)
{
	struct kroute r = {
		.family = AF_INET6,
		.dst_len = 128,
		.kind = KROUTE_SEG6,
		.table = KERNEL_PROBE_TABLE,
		.hook_type = KROUTE_HOOK_UNSET,
		.seg6_reduced = true,
	};
	unsigned int lo = if_nametoindex("lo");
	int rerr, derr;

	/* documentation addresses in a table no rule looks up, as the ILA
	 * probe: it never steers a packet */
	inet_pton(AF_INET6, "2001:db8:ffff:ffff::2", &r.dst.v6);
	inet_pton(AF_INET6, "2001:db8:ffff:ffff::3", &r.segment);
	r.oif = lo ? (int)lo : 1;
	rerr = route_single(k, &r, false);
	if (rerr == -EINVAL || rerr == -EOPNOTSUPP)
		return 0;
	if (rerr)
		return rerr;
	derr = route_single(k, &r, true);
	if (derr && derr != -ESRCH && derr != -ENOENT)
		return derr;
	return 1;
}
