/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The zebra API codec: profiles, route types, header, encoders and parsers; pure functions. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "conf.h"
#include "util.h"
#include "zapi_priv.h"

/* Route types up to 9.1 (lib/route_types.txt); 10.0 adds one to each. */
#define ZAPI_RT_CONNECT 2
#define ZAPI_RT_STATIC 3
#define ZAPI_RT_TABLE 15
#define ZAPI_RT_BABEL 22
#define ZAPI_RT_OPENFABRIC 26
#define ZAPI_RT_MAX 31 /* first number no release has */

static const struct zapi_cmds profile_8_2 = {
	.route_add = 8, .route_delete = 9, .notify_owner = 10, .hello = 18,
	.capabilities = 19, .vrf_add = 33, .vrf_delete = 34, .error = 118,
	.notify_request = 124, .redist_add = 11, .redist_delete = 12,
	.redist_route_add = 30, .redist_route_del = 31, .client_caps = 119, .type_shift = 0,
	.hello_notify = true,
};
static const struct zapi_cmds profile_9_1 = {
	.route_add = 8, .route_delete = 9, .notify_owner = 10, .hello = 18,
	.capabilities = 19, .vrf_add = 33, .vrf_delete = 34, .error = 117,
	.notify_request = 123, .redist_add = 11, .redist_delete = 12,
	.redist_route_add = 30, .redist_route_del = 31, .client_caps = 118, .type_shift = 0,
	.hello_notify = true,
};
static const struct zapi_cmds profile_10_0 = {
	.route_add = 9, .route_delete = 10, .notify_owner = 11, .hello = 19,
	.capabilities = 20, .vrf_add = 34, .vrf_delete = 35, .error = 118,
	.notify_request = 124, .redist_add = 12, .redist_delete = 13,
	.redist_route_add = 31, .redist_route_del = 32, .client_caps = 119, .type_shift = 1,
	.hello_notify = false,
};
static const struct zapi_cmds profile_10_2 = {
	.route_add = 9, .route_delete = 10, .notify_owner = 11, .hello = 19,
	.capabilities = 20, .vrf_add = 33, .vrf_delete = 34, .error = 120,
	.notify_request = 126, .redist_add = 12, .redist_delete = 13,
	.redist_route_add = 31, .redist_route_del = 32, .client_caps = 121, .type_shift = 1,
	.hello_notify = false,
};

const struct zapi_cmds *zapi_profile_cmds(int version)
{
	switch (version) {
	case ZAPI_PROFILE_8_2:
		return &profile_8_2;
	case ZAPI_PROFILE_9_1:
		return &profile_9_1;
	case ZAPI_PROFILE_10_0:
		return &profile_10_0;
	case ZAPI_PROFILE_10_2:
		return &profile_10_2;
	}
	return NULL;
}

const char *zapi_profile_name(int version)
{
	switch (version) {
	case ZAPI_PROFILE_8_2:
		return "8.2-9.0";
	case ZAPI_PROFILE_9_1:
		return "9.1";
	case ZAPI_PROFILE_10_0:
		return "10.0-10.1";
	case ZAPI_PROFILE_10_2:
		return "10.2+";
	}
	return "unknown";
}

const char *zroute_state_name(enum zroute_state st)
{
	switch (st) {
	case ZR_PENDING:
		return "pending";
	case ZR_INSTALLED:
		return "installed";
	case ZR_FAILED:
		return "failed";
	case ZR_REMOVED:
		return "removed";
	case ZR_BETTER_ADMIN_WON:
		return "better-admin-won";
	}
	return "unknown";
}

int zapi_route_type(int version, int route_type_name, uint8_t route_type_num)
{
	const struct zapi_cmds *p = zapi_profile_cmds(version);
	int t;

	if (!p)
		return -EINVAL;
	switch (route_type_name) {
	case ILA_CONF_ZRT_BABEL:
		return ZAPI_RT_BABEL + p->type_shift;
	case ILA_CONF_ZRT_OPENFABRIC:
		return ZAPI_RT_OPENFABRIC + p->type_shift;
	case ILA_CONF_ZRT_TABLE:
		return ZAPI_RT_TABLE + p->type_shift;
	case ILA_CONF_ZRT_NUMBER:
		t = route_type_num;
		/* Zebra takes dynamic types only, and STATIC would be swept
		 * with staticd's routes: refuse STATIC and below. */
		if (t <= ZAPI_RT_STATIC + p->type_shift || t >= ZAPI_RT_MAX + p->type_shift)
			return -EINVAL;
		return t;
	}
	return -EINVAL;
}

int zapi_parse_header(const uint8_t *buf, size_t n, struct zapi_hdr *h)
{
	if (n < ZAPI_HEADER_SIZE)
		return -EAGAIN;
	h->length = ila_get_be16(buf);
	h->marker = buf[2];
	h->version = buf[3];
	h->vrf_id = ila_get_be32(buf + 4);
	h->command = ila_get_be16(buf + 8);
	if (h->marker != ZAPI_MARKER || h->version != ZAPI_VERSION ||
	    h->length < ZAPI_HEADER_SIZE || h->length > ZAPI_MAX_PACKET)
		return -EBADMSG;
	return 0;
}

static void put_header(uint8_t *buf, uint16_t len, uint16_t command)
{
	ila_put_be16(buf, len);
	buf[2] = ZAPI_MARKER;
	buf[3] = ZAPI_VERSION;
	ila_put_be32(buf + 4, 0); /* the default VRF */
	ila_put_be16(buf + 8, command);
}

ssize_t zapi_encode_empty(uint8_t *buf, size_t cap, uint16_t command)
{
	if (cap < ZAPI_HEADER_SIZE)
		return -ENOSPC;
	put_header(buf, ZAPI_HEADER_SIZE, command);
	return ZAPI_HEADER_SIZE;
}

ssize_t zapi_encode_probe(uint8_t *buf, size_t cap)
{
	if (cap < ZAPI_HEADER_SIZE)
		return -ENOSPC;
	put_header(buf, ZAPI_HEADER_SIZE, ZAPI_PROBE_CMD);
	ila_put_be32(buf + 4, ZAPI_PROBE_VRF);
	return ZAPI_HEADER_SIZE;
}

ssize_t zapi_encode_hello(uint8_t *buf, size_t cap, int version, uint8_t type,
			  uint16_t instance)
{
	const struct zapi_cmds *p = zapi_profile_cmds(version);
	size_t n = ZAPI_HEADER_SIZE;

	if (!p)
		return -EINVAL;
	if (cap < ZAPI_HEADER_SIZE + 9)
		return -ENOSPC;
	buf[n++] = type;
	ila_put_be16(buf + n, instance);
	n += 2;
	ila_put_be32(buf + n, 0); /* session_id */
	n += 4;
	if (p->hello_notify)
		buf[n++] = 1; /* receive_notify: ROUTE_NOTIFY_OWNER wanted */
	buf[n++] = 0;         /* synchronous: no, we want CAPABILITIES */
	put_header(buf, (uint16_t)n, p->hello);
	return (ssize_t)n;
}

ssize_t zapi_encode_notify_request(uint8_t *buf, size_t cap, int version)
{
	const struct zapi_cmds *p = zapi_profile_cmds(version);

	if (!p)
		return -EINVAL;
	if (cap < ZAPI_HEADER_SIZE + 1)
		return -ENOSPC;
	buf[ZAPI_HEADER_SIZE] = 1;
	put_header(buf, ZAPI_HEADER_SIZE + 1, p->notify_request);
	return ZAPI_HEADER_SIZE + 1;
}

ssize_t zapi_encode_redistribute(uint8_t *buf, size_t cap, int version, bool add, uint8_t afi,
				 uint8_t type, uint16_t instance)
{
	const struct zapi_cmds *p = zapi_profile_cmds(version);

	if (!p)
		return -EINVAL;
	if (cap < ZAPI_HEADER_SIZE + 4)
		return -ENOSPC;
	buf[ZAPI_HEADER_SIZE] = afi;
	buf[ZAPI_HEADER_SIZE + 1] = type;
	ila_put_be16(buf + ZAPI_HEADER_SIZE + 2, instance);
	put_header(buf, ZAPI_HEADER_SIZE + 4, add ? p->redist_add : p->redist_delete);
	return ZAPI_HEADER_SIZE + 4;
}

/*
 * CLIENT_CAPABILITIES (lib/zclient.c zclient_capabilities_send, zebra's
 * zread_client_capabilities): u32 capability, then GR: u32 stale time, u32
 * vrf; UPDATE_COMPLETE/PENDING: u32 afi, u32 safi, u32 vrf; GR_DISABLE: u32
 * vrf. All big-endian, the vrf always the default one (0).
 */
ssize_t zapi_encode_client_cap(uint8_t *buf, size_t cap, int version, enum zapi_client_cap what,
			       uint32_t arg)
{
	const struct zapi_cmds *p = zapi_profile_cmds(version);
	size_t n = ZAPI_HEADER_SIZE;

	if (!p)
		return -EINVAL;
	if (cap < ZAPI_HEADER_SIZE + 16)
		return -ENOSPC;
	ila_put_be32(buf + n, (uint32_t)what);
	n += 4;
	switch (what) {
	case ZAPI_CAP_GR:
		ila_put_be32(buf + n, arg); /* stale-removal time, seconds */
		n += 4;
		break;
	case ZAPI_CAP_UPDATE_COMPLETE:
	case ZAPI_CAP_UPDATE_PENDING:
		if (arg != ZAPI_AFI_IP && arg != ZAPI_AFI_IP6)
			return -EINVAL;
		ila_put_be32(buf + n, arg); /* afi */
		n += 4;
		ila_put_be32(buf + n, ZAPI_SAFI_UNICAST);
		n += 4;
		break;
	case ZAPI_CAP_GR_DISABLE:
		break;
	default:
		return -EINVAL;
	}
	ila_put_be32(buf + n, 0); /* vrf_id: the default VRF */
	n += 4;
	put_header(buf, (uint16_t)n, p->client_caps);
	return (ssize_t)n;
}

static uint8_t nh_wire_type(enum zroute_nh nh)
{
	switch (nh) {
	case ZNH_BLACKHOLE:
		return ZAPI_NH_BLACKHOLE;
	case ZNH_IFINDEX:
		return ZAPI_NH_IFINDEX;
	case ZNH_IPV6:
		return ZAPI_NH_IPV6;
	case ZNH_IPV6_IFINDEX:
		return ZAPI_NH_IPV6_IFINDEX;
	case ZNH_IPV4:
		return ZAPI_NH_IPV4;
	case ZNH_IPV4_IFINDEX:
		return ZAPI_NH_IPV4_IFINDEX;
	}
	return 0;
}

ssize_t zapi_encode_route(uint8_t *buf, size_t cap, int version, bool add, uint8_t type,
			  uint16_t instance, const struct zroute *r)
{
	const struct zapi_cmds *p = zapi_profile_cmds(version);
	size_t alen = addr_len(r->family);
	size_t plen_bytes = (r->plen + 7u) / 8;
	uint32_t flags = 0, message = 0;
	uint8_t nht = nh_wire_type(r->nh);
	size_t n = ZAPI_HEADER_SIZE;

	if (!p || !alen || r->plen > alen * 8 || (add && !nht))
		return -EINVAL;
	if (cap < ZAPI_ROUTE_MSG_MAX)
		return -ENOSPC;
	if (add) {
		message = ZAPI_MSG_NEXTHOP | ZAPI_MSG_METRIC;
		if (r->distance)
			message |= ZAPI_MSG_DISTANCE;
		if (r->tag)
			message |= ZAPI_MSG_TAG;
		/* A bare gateway may sit behind another route. */
		if (r->nh == ZNH_IPV6 || r->nh == ZNH_IPV4)
			flags |= ZAPI_FLAG_ALLOW_RECURSION;
	}
	buf[n++] = type;
	ila_put_be16(buf + n, instance);
	n += 2;
	ila_put_be32(buf + n, flags);
	n += 4;
	ila_put_be32(buf + n, message);
	n += 4;
	buf[n++] = ZAPI_SAFI_UNICAST;
	buf[n++] = (uint8_t)r->family;
	buf[n++] = r->plen;
	memcpy(buf + n, &r->prefix, plen_bytes);
	n += plen_bytes;
	if (add) {
		ila_put_be16(buf + n, 1); /* nexthop_num */
		n += 2;
		ila_put_be32(buf + n, 0); /* the nexthop's vrf_id */
		n += 4;
		buf[n++] = nht;
		buf[n++] = 0; /* nexthop flags */
		switch (r->nh) {
		case ZNH_BLACKHOLE:
			buf[n++] = ZAPI_BLACKHOLE_NULL;
			break;
		case ZNH_IFINDEX:
			ila_put_be32(buf + n, (uint32_t)r->ifindex);
			n += 4;
			break;
		case ZNH_IPV6:
		case ZNH_IPV6_IFINDEX:
			memcpy(buf + n, &r->gate.v6, 16);
			n += 16;
			ila_put_be32(buf + n, (uint32_t)r->ifindex);
			n += 4;
			break;
		case ZNH_IPV4:
		case ZNH_IPV4_IFINDEX:
			memcpy(buf + n, &r->gate.v4, 4);
			n += 4;
			ila_put_be32(buf + n, (uint32_t)r->ifindex);
			n += 4;
			break;
		}
		if (r->distance)
			buf[n++] = r->distance;
		ila_put_be32(buf + n, r->metric);
		n += 4;
		/* the tag follows the metric (lib/zclient.c zapi_route_encode) */
		if (r->tag) {
			ila_put_be32(buf + n, r->tag);
			n += 4;
		}
	}
	put_header(buf, (uint16_t)n, add ? p->route_add : p->route_delete);
	return (ssize_t)n;
}

int zapi_parse_notify(const uint8_t *body, size_t n, struct zapi_notify *out)
{
	size_t alen, base, at = 0;

	memset(out, 0, sizeof(*out));
	if (n < 6)
		return -EBADMSG;
	memcpy(&out->note, body, 4); /* zebra writes its enum in host order */
	out->family = body[4];
	out->plen = body[5];
	alen = addr_len(out->family);
	if (!alen || out->plen > alen * 8)
		return -EBADMSG;
	/* note, family, plen, prefix, table_id u32, afi, safi; 10.3+ puts a
	 * source prefix (plen u8 and address) before table_id. */
	base = 6 + alen + 6;
	if (n == base + 1 + alen)
		out->has_src = true;
	else if (n != base)
		return -EBADMSG;
	at = 6;
	memcpy(&out->prefix, body + at, alen);
	at += alen;
	if (out->has_src) {
		out->src_plen = body[at++];
		if (out->src_plen > alen * 8)
			return -EBADMSG;
		memcpy(&out->src, body + at, alen);
		at += alen;
	}
	out->table_id = ila_get_be32(body + at);
	at += 4;
	out->afi = body[at++];
	out->safi = body[at];
	return 0;
}

int zapi_parse_route_head(const uint8_t *body, size_t n, struct zapi_route_head *out)
{
	size_t alen, at;

	memset(out, 0, sizeof(*out));
	if (n < 14)
		return -EBADMSG;
	out->type = body[0];
	out->instance = ila_get_be16(body + 1);
	out->flags = ila_get_be32(body + 3);
	out->message = ila_get_be32(body + 7);
	out->safi = body[11];
	out->family = body[12];
	out->plen = body[13];
	alen = addr_len(out->family);
	if (!alen || out->plen > alen * 8 || n < 14 + (out->plen + 7u) / 8)
		return -EBADMSG;
	memcpy(&out->prefix, body + 14, (out->plen + 7u) / 8);
	/* then SRCPFX: plen u8 and prefix; NHG: id u32; NEXTHOP: count u16,
	 * each: vrf u32, type u8, flags u8, then by type (IFINDEX: u32) */
	at = 14 + (out->plen + 7u) / 8;
	if (out->message & ZAPI_MSG_SRCPFX) {
		if (n < at + 1)
			return 0;
		at += 1 + (body[at] + 7u) / 8;
	}
	if (out->message & ZAPI_MSG_NHG)
		at += 4;
	if (!(out->message & ZAPI_MSG_NEXTHOP) || n < at + 8 || ila_get_be16(body + at) == 0)
		return 0;
	out->nh_type = body[at + 6];
	if (out->nh_type == ZAPI_NH_IFINDEX && n >= at + 12)
		out->ifindex = (int)ila_get_be32(body + at + 8);
	else if (out->nh_type == ZAPI_NH_IFINDEX)
		out->nh_type = 0;
	return 0;
}

int zapi_parse_error(const uint8_t *body, size_t n, uint32_t *code)
{
	if (n != 4)
		return -EBADMSG;
	memcpy(code, body, 4);
	return 0;
}
