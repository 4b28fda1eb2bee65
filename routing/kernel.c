/*
 * ilad's netlink layer on libmnl. See kernel.h for the contract.
 *
 * Batches: the kernel processes every message of a sendmsg() synchronously
 * and answers each failed one with an error whatever its flags
 * (netlink_rcv_skb), so only the last message of each chunk asks for an
 * ACK: once that ACK (or its error) is read, every failure of the chunk has
 * been read too. This costs one recvmsg() per chunk instead of one per
 * route, and the receive buffer only has to hold the errors.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/lwtunnel.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seg6.h>
#include <linux/seg6_iptunnel.h>
#include <linux/seg6_local.h>

#include "kernel.h"
#include "util.h"

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

static int vec_push(struct vec *v, const void *item)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		uint8_t *p = realloc(v->items, cap * v->size);

		if (!p)
			return -ENOMEM;
		v->items = p;
		v->cap = cap;
	}
	memcpy(v->items + v->n * v->size, item, v->size);
	v->n++;
	return 0;
}

static void vec_free(struct vec *v)
{
	free(v->items);
	v->items = NULL;
	v->n = v->cap = 0;
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static uint32_t eff_table(uint32_t table)
{
	return table ? table : RT_TABLE_MAIN;
}

static bool addr_is_zero(const union kaddr *a)
{
	static const union kaddr zero;

	return memcmp(a, &zero, sizeof(zero)) == 0;
}

/* ---- sockets ---- */

static void set_bufsize(int fd, int force_opt, int opt, int size)
{
	/* The FORCE variants pass rmem_max/wmem_max but need CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int nl_socket(int bus, bool strict, struct mnl_socket **out, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = KERNEL_TIMEOUT_S };
	struct mnl_socket *s;
	int one = 1, fd, e;

	s = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!s) {
		e = -errno;
		snprintf(err, errlen, "netlink socket: %s", strerror(-e));
		return e;
	}
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = -errno;
		snprintf(err, errlen, "netlink bind: %s", strerror(-e));
		mnl_socket_close(s);
		return e;
	}
	fd = mnl_socket_get_fd(s);
	set_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, KERNEL_SOCKBUF);
	set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, KERNEL_SOCKBUF);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Older kernels lack these; everything works without them, with less
	 * detail (no extended-ACK text) or more bytes (uncapped ACKs). */
	(void)mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
	if (strict)
		(void)mnl_socket_setsockopt(s, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	*out = s;
	return 0;
}

/* Copies the NLMSGERR_ATTR_MSG text of an error message into msg. */
static int extack_cb(const struct nlattr *attr, void *data)
{
	char *msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(msg, KERNEL_ERRMSG_LEN, "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* The error of an NLMSG_ERROR message (0 for an ACK) and its text. */
static int parse_ack(const struct nlmsghdr *nlh, char msg[KERNEL_ERRMSG_LEN])
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);

	msg[0] = '\0';
	if (plen < sizeof(*e))
		return -EBADMSG;
	if (e->error >= 0)
		return 0;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* Uncapped, the whole request is echoed before the TLVs. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
		if (off < plen)
			(void)mnl_attr_parse(nlh, (unsigned int)off, extack_cb, msg);
	}
	return e->error;
}

typedef int (*msg_fn)(const struct nlmsghdr *nlh, void *arg);

/*
 * Sends one request and reads its answer: data messages go to cb (a
 * negative return stops further calls but the answer is still read to its
 * end, so the socket stays in step). Ends at the ACK or error for the
 * request's seq, or at NLMSG_DONE for a dump. -EINTR when the kernel marked
 * the dump inconsistent.
 */
static int nl_talk(struct kernel *k, struct mnl_socket *s, const struct nlmsghdr *req, msg_fn cb,
		   void *arg)
{
	uint32_t seq = req->nlmsg_seq;
	bool intr = false;
	int cb_err = 0;

	k->errmsg[0] = '\0';
	if (mnl_socket_sendto(s, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)k->rcvbuf;
		ssize_t n = mnl_socket_recvfrom(s, k->rcvbuf, KERNEL_RCVBUF_LEN);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq)
				continue; /* a late answer to an abandoned request */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				int e = parse_ack(nlh, k->errmsg);

				return e ? e : cb_err;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				int e = 0;

				if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
					memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(int));
				if (e < 0)
					return e;
				return cb_err ? cb_err : intr ? -EINTR : 0;
			}
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (cb && !cb_err) {
				int r = cb(nlh, arg);

				if (r < 0)
					cb_err = r;
			}
		}
	}
}

/* ---- generic netlink family ---- */

static int family_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *a;
	uint16_t *id = arg;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			*id = mnl_attr_get_u16(a);
	}
	return 0;
}

/* The family id of name; -ENOENT when the kernel does not know it. */
static int genl_resolve(struct kernel *k, const char *name, uint16_t *id)
{
	uint8_t buf[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	uint16_t found = 0;
	int err;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	err = nl_talk(k, k->gn, nlh, family_cb, &found);
	if (err)
		return err;
	if (!found)
		return -ENOENT;
	*id = found;
	return 0;
}

/* ---- open / close ---- */

int kernel_open(struct kernel **out, uint8_t proto, char *err, size_t errlen)
{
	struct kernel *k;
	socklen_t sl;
	int e, sndbuf = 0;
	uint16_t id;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	k->proto = proto;
	k->seq = (uint32_t)time(NULL);
	e = nl_socket(NETLINK_ROUTE, true, &k->rt, err, errlen);
	if (!e)
		e = nl_socket(NETLINK_GENERIC, false, &k->gn, err, errlen);
	if (e)
		goto fail;

	/* netlink_sendmsg() refuses a message longer than sk_sndbuf - 32. */
	sl = sizeof(sndbuf);
	k->chunk_bytes = KERNEL_CHUNK_BYTES;
	if (getsockopt(mnl_socket_get_fd(k->rt), SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0 &&
	    (size_t)sndbuf < k->chunk_bytes + 1024)
		k->chunk_bytes = sndbuf > 4096 ? (size_t)sndbuf / 2 : 2048;
	k->sndbuf = malloc(k->chunk_bytes + KERNEL_MSG_MAX);
	k->rcvbuf = malloc(KERNEL_RCVBUF_LEN);
	if (!k->sndbuf || !k->rcvbuf) {
		snprintf(err, errlen, "out of memory");
		e = -ENOMEM;
		goto fail;
	}
	if (genl_resolve(k, NLILA_GENL_NAME, &id) == 0)
		k->ila_family = id;
	*out = k;
	return 0;
fail:
	kernel_close(k);
	return e;
}

void kernel_close(struct kernel *k)
{
	if (!k)
		return;
	if (k->rt)
		mnl_socket_close(k->rt);
	if (k->gn)
		mnl_socket_close(k->gn);
	free(k->ops);
	free(k->sndbuf);
	free(k->rcvbuf);
	free(k);
}

uint8_t kernel_proto(const struct kernel *k)
{
	return k->proto;
}

const char *kernel_last_error(const struct kernel *k)
{
	return k->errmsg;
}

/* ---- route encoding ---- */

/* What a delete needs: family, destination prefix (table may be 0). */
static int check_key(const struct kroute *r)
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
	int err = check_key(r);

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

	err = del ? check_key(r) : kroute_check(r);
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
		 * encap segs S` writes it) */
		uint8_t tun[sizeof(struct seg6_iptunnel_encap) + sizeof(struct ipv6_sr_hdr) +
			    sizeof(struct in6_addr)] = { 0 };
		struct seg6_iptunnel_encap *enc = (struct seg6_iptunnel_encap *)tun;
		struct ipv6_sr_hdr *srh = (struct ipv6_sr_hdr *)(tun + sizeof(*enc));

		enc->mode = SEG6_IPTUN_MODE_ENCAP;
		srh->hdrlen = sizeof(struct in6_addr) / 8;
		srh->type = 4; /* IPV6_SRCRT_TYPE_4, the segment routing header */
		memcpy(tun + sizeof(*enc) + sizeof(*srh), &r->segment, sizeof(r->segment));
		nest = mnl_attr_nest_start(nlh, RTA_ENCAP);
		mnl_attr_put(nlh, SEG6_IPTUNNEL_SRH, sizeof(tun), tun);
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u16(nlh, RTA_ENCAP_TYPE, LWTUNNEL_ENCAP_SEG6);
	}
	if (r->kind == KROUTE_SEG6_DX4) {
		nest = mnl_attr_nest_start(nlh, RTA_ENCAP);
		mnl_attr_put_u32(nlh, SEG6_LOCAL_ACTION, SEG6_LOCAL_ACTION_END_DX4);
		mnl_attr_put(nlh, SEG6_LOCAL_NH4, sizeof(r->nh4), &r->nh4);
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u16(nlh, RTA_ENCAP_TYPE, LWTUNNEL_ENCAP_SEG6_LOCAL);
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
		return want->oif == have->oif &&
		       memcmp(&want->segment, &have->segment, sizeof(want->segment)) == 0;
	if (want->kind == KROUTE_SEG6_DX4)
		return want->oif == have->oif && want->nh4.s_addr == have->nh4.s_addr;
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
		APPEND("%s/%u encap seg6 mode encap segs %s", dst, r->dst_len, seg);
		break;
	}
	case KROUTE_SEG6_DX4: {
		char nh[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &r->nh4, nh, sizeof(nh));
		APPEND("%s/%u encap seg6local action End.DX4 nh4 %s", dst, r->dst_len, nh);
		break;
	}
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

/* ---- route batches ---- */

void kernel_batch_begin(struct kernel *k)
{
	k->nops = 0;
}

size_t kernel_batch_count(const struct kernel *k)
{
	return k->nops;
}

static int queue(struct kernel *k, const struct kroute *r, bool del)
{
	int err = del ? check_key(r) : kroute_check(r);

	if (err)
		return err;
	if (k->nops == k->ops_cap) {
		size_t cap = k->ops_cap ? k->ops_cap * 2 : 256;
		struct kop *p = realloc(k->ops, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		k->ops = p;
		k->ops_cap = cap;
	}
	k->ops[k->nops].r = *r;
	k->ops[k->nops].del = del;
	k->nops++;
	return 0;
}

int kernel_route_replace(struct kernel *k, const struct kroute *r)
{
	return queue(k, r, false);
}

int kernel_route_delete(struct kernel *k, const struct kroute *r)
{
	return queue(k, r, true);
}

/*
 * Reads answers until the one for index last (the chunk's ACK-requesting
 * message), reporting every failure of indices first..last.
 */
static int batch_wait(struct kernel *k, uint32_t seq0, size_t first, size_t last,
		      kernel_report_fn report, void *arg, int *failed)
{
	char msg[KERNEL_ERRMSG_LEN];

	for (;;) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)k->rcvbuf;
		ssize_t n = mnl_socket_recvfrom(k->rt, k->rcvbuf, KERNEL_RCVBUF_LEN);
		bool fence = false;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			size_t idx = (uint32_t)(nlh->nlmsg_seq - seq0);
			const struct kop *op;
			int e;

			if (nlh->nlmsg_type != NLMSG_ERROR || idx < first || idx > last)
				continue;
			op = &k->ops[idx];
			e = parse_ack(nlh, msg);
			if (idx == last)
				fence = true;
			if (!e || (op->del && (e == -ENOENT || e == -ESRCH)))
				continue;
			(*failed)++;
			if (report)
				report(arg, idx, &op->r, op->del, e, msg);
		}
		if (fence)
			return 0;
	}
}

int kernel_batch_commit(struct kernel *k, kernel_report_fn report, void *arg)
{
	uint32_t seq0 = k->seq + 1;
	struct mnl_nlmsg_batch *b;
	size_t next = 0;
	int failed = 0, err = 0;

	if (!k->nops)
		return 0;
	b = mnl_nlmsg_batch_start(k->sndbuf, k->chunk_bytes);
	if (!b) {
		k->nops = 0;
		return -ENOMEM;
	}
	k->seq += (uint32_t)k->nops;
	while (next < k->nops && !err) {
		struct nlmsghdr *last_nlh = NULL;
		size_t first = next, last = next, count = 0;

		mnl_nlmsg_batch_reset(b);
		/* Stop a message short of the limit so that next() never
		 * overflows and a chunk is whole messages. */
		while (next < k->nops && count < KERNEL_CHUNK_MSGS &&
		       mnl_nlmsg_batch_size(b) + KERNEL_MSG_MAX <= k->chunk_bytes) {
			struct nlmsghdr *nlh = mnl_nlmsg_batch_current(b);
			const struct kop *op = &k->ops[next];
			int len = kernel_route_build(nlh, KERNEL_MSG_MAX, &op->r, op->del, k->proto,
						     seq0 + (uint32_t)next, 0);

			if (len < 0) { /* queue() checked it: cannot happen */
				failed++;
				if (report)
					report(arg, next, &op->r, op->del, len, "");
				next++;
				continue;
			}
			mnl_nlmsg_batch_next(b);
			last_nlh = nlh;
			last = next;
			next++;
			count++;
		}
		if (!last_nlh)
			continue;
		last_nlh->nlmsg_flags |= NLM_F_ACK;
		if (mnl_socket_sendto(k->rt, mnl_nlmsg_batch_head(b),
				      mnl_nlmsg_batch_size(b)) < 0) {
			err = -errno;
			break;
		}
		err = batch_wait(k, seq0, first, last, report, arg, &failed);
	}
	mnl_nlmsg_batch_stop(b);
	k->nops = 0;
	return err ? err : failed;
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
	if (enc->mode != SEG6_IPTUN_MODE_ENCAP || srh->hdrlen != 2)
		return MNL_CB_OK;
	memcpy(&r->segment, p + sizeof(*enc) + sizeof(*srh), sizeof(r->segment));
	r->kind = KROUTE_SEG6;
	return MNL_CB_OK;
}

static int seg6_local_cb(const struct nlattr *attr, void *data)
{
	struct kroute *r = data;

	switch (mnl_attr_get_type(attr)) {
	case SEG6_LOCAL_ACTION:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0 &&
		    mnl_attr_get_u32(attr) == SEG6_LOCAL_ACTION_END_DX4)
			r->kind = KROUTE_SEG6_DX4;
		break;
	case SEG6_LOCAL_NH4:
		if (mnl_attr_get_payload_len(attr) == sizeof(r->nh4))
			memcpy(&r->nh4, mnl_attr_get_payload(attr), sizeof(r->nh4));
		break;
	default:
		break;
	}
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
	return vec_push(&d->v, &r);
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
	vec_free(&d.v);
	return err;
}

/* ---- ILA translation table ---- */

int kernel_xlat_build(void *buf, size_t size, uint16_t family, uint8_t cmd, const struct kxlat *x,
		      uint32_t seq, uint16_t extra_flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	if (size < KERNEL_MSG_MAX)
		return -EMSGSIZE;
	memset(buf, 0, KERNEL_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | extra_flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = NLILA_GENL_VERSION;
	if (!x)
		return (int)nlh->nlmsg_len;
	/* (loc_match, ifindex) is the key of every command. */
	mnl_attr_put(nlh, NLILA_ATTR_LOCATOR_MATCH, sizeof(x->loc_match.b), x->loc_match.b);
	mnl_attr_put_u32(nlh, NLILA_ATTR_IFINDEX, (uint32_t)x->ifindex);
	if (cmd == NLILA_CMD_ADD) {
		mnl_attr_put(nlh, NLILA_ATTR_LOCATOR, sizeof(x->loc.b), x->loc.b);
		mnl_attr_put_u8(nlh, NLILA_ATTR_CSUM_MODE, x->csum_mode);
		mnl_attr_put_u8(nlh, NLILA_ATTR_IDENT_TYPE, x->ident_type);
	}
	return (int)nlh->nlmsg_len;
}

static int xlat_attr_cb(const struct nlattr *attr, void *data)
{
	struct kxlat *x = data;

	switch (mnl_attr_get_type(attr)) {
	case NLILA_ATTR_LOCATOR:
		if (mnl_attr_get_payload_len(attr) == sizeof(x->loc.b))
			memcpy(x->loc.b, mnl_attr_get_payload(attr), sizeof(x->loc.b));
		break;
	case NLILA_ATTR_LOCATOR_MATCH:
		if (mnl_attr_get_payload_len(attr) == sizeof(x->loc_match.b))
			memcpy(x->loc_match.b, mnl_attr_get_payload(attr), sizeof(x->loc_match.b));
		break;
	case NLILA_ATTR_IFINDEX:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			x->ifindex = (int)mnl_attr_get_u32(attr);
		break;
	case NLILA_ATTR_CSUM_MODE:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
			x->csum_mode = mnl_attr_get_u8(attr);
		break;
	case NLILA_ATTR_IDENT_TYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
			x->ident_type = mnl_attr_get_u8(attr);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* 1 and *x filled for an ILA entry message, else 0. */
static int xlat_parse(const struct nlmsghdr *nlh, uint16_t family, struct kxlat *x)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != family || mnl_nlmsg_get_payload_len(nlh) < sizeof(*g) ||
	    g->cmd != NLILA_CMD_GET)
		return 0;
	memset(x, 0, sizeof(*x));
	x->csum_mode = NLILA_DEFAULT_CSUM;
	x->ident_type = NLILA_DEFAULT_IDENT;
	if (mnl_attr_parse(nlh, sizeof(*g), xlat_attr_cb, x) < 0)
		return 0;
	return 1;
}

static int ila_family(struct kernel *k)
{
	uint16_t id;

	if (k->ila_family)
		return 0;
	if (genl_resolve(k, NLILA_GENL_NAME, &id) < 0)
		return -EOPNOTSUPP;
	k->ila_family = id;
	return 0;
}

static int xlat_request(struct kernel *k, uint8_t cmd, const struct kxlat *x, msg_fn cb, void *arg)
{
	uint8_t buf[KERNEL_MSG_MAX];
	int err = ila_family(k), len;

	if (err)
		return err;
	len = kernel_xlat_build(buf, sizeof(buf), k->ila_family, cmd, x, ++k->seq, NLM_F_ACK);
	if (len < 0)
		return len;
	return nl_talk(k, k->gn, (struct nlmsghdr *)buf, cb, arg);
}

struct xlat_get {
	uint16_t family;
	bool found;
	struct kxlat x;
};

static int xlat_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xlat_get *g = arg;

	if (xlat_parse(nlh, g->family, &g->x) == 1)
		g->found = true;
	return 0;
}

int kernel_xlat_get(struct kernel *k, const struct ila_locator *loc_match, int ifindex,
		    struct kxlat *out)
{
	struct kxlat key = { .loc_match = *loc_match, .ifindex = ifindex };
	struct xlat_get g = { 0 };
	int err = ila_family(k);

	if (err)
		return err;
	g.family = k->ila_family;
	err = xlat_request(k, NLILA_CMD_GET, &key, xlat_get_cb, &g);
	/* Newer kernels answer a miss with ESRCH, older ones with nothing. */
	if (err == -ESRCH || err == -ENOENT || (!err && !g.found))
		return -ENOENT;
	if (err)
		return err;
	*out = g.x;
	return 0;
}

int kernel_xlat_del(struct kernel *k, const struct kxlat *x)
{
	return xlat_request(k, NLILA_CMD_DEL, x, NULL, NULL);
}

static bool xlat_same(const struct kxlat *a, const struct kxlat *b)
{
	return ila_locator_equal(&a->loc, &b->loc) && a->csum_mode == b->csum_mode &&
	       a->ident_type == b->ident_type;
}

int kernel_xlat_add(struct kernel *k, const struct kxlat *x)
{
	struct kxlat cur;
	int err, tries;

	/* ADD has no replace: EEXIST means look, and redo only if different.
	 * A concurrent delete between ADD and GET is met by adding again. */
	for (tries = 0; tries < 3; tries++) {
		err = xlat_request(k, NLILA_CMD_ADD, x, NULL, NULL);
		if (err != -EEXIST)
			return err ? err : KERNEL_XLAT_ADDED;
		err = kernel_xlat_get(k, &x->loc_match, x->ifindex, &cur);
		if (err == -ENOENT)
			continue;
		if (err)
			return err;
		if (xlat_same(x, &cur))
			return KERNEL_XLAT_PRESENT;
		err = kernel_xlat_del(k, x);
		if (err)
			return err;
		err = xlat_request(k, NLILA_CMD_ADD, x, NULL, NULL);
		return err ? err : KERNEL_XLAT_REPLACED;
	}
	return -EAGAIN;
}

struct xlat_dump {
	uint16_t family;
	struct vec v;
};

static int xlat_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xlat_dump *d = arg;
	struct kxlat x;

	if (xlat_parse(nlh, d->family, &x) != 1)
		return 0;
	return vec_push(&d->v, &x);
}

int kernel_xlat_dump(struct kernel *k, kernel_xlat_fn cb, void *arg)
{
	struct xlat_dump d = { .v = { .size = sizeof(struct kxlat) } };
	uint8_t buf[KERNEL_MSG_MAX];
	int err = ila_family(k), tries, len;
	size_t i;

	if (err)
		return err;
	d.family = k->ila_family;
	err = -EAGAIN;
	for (tries = 0; tries < KERNEL_DUMP_TRIES && (err == -EAGAIN || err == -EINTR); tries++) {
		d.v.n = 0;
		len = kernel_xlat_build(buf, sizeof(buf), d.family, NLILA_CMD_GET, NULL, ++k->seq,
					NLM_F_DUMP);
		if (len < 0)
			return len;
		err = nl_talk(k, k->gn, (struct nlmsghdr *)buf, xlat_dump_cb, &d);
	}
	for (i = 0; !err && i < d.v.n; i++) {
		int r = cb(arg, (const struct kxlat *)(d.v.items + i * d.v.size));

		if (r < 0)
			err = r;
	}
	if (!err)
		err = (int)d.v.n;
	vec_free(&d.v);
	return err;
}

/* ---- probe ---- */

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

	ferr = genl_resolve(k, NLILA_GENL_NAME, &id);
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

/* ---- neighbours ---- */

int kernel_neigh_open(char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, grp = RTNLGRP_NEIGH, e;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "neighbour socket: %s", strerror(-e));
		return e;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0) {
		e = -errno;
		snprintf(err, errlen, "neighbour socket: subscribing to RTNLGRP_NEIGH: %s",
			 strerror(-e));
		close(fd);
		return e;
	}
	set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, 1024 * 1024);
	return fd;
}

int kernel_neigh_request_dump(int fd, int family)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint8_t buf[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	if (sendto(fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

static int neigh_parse(const struct nlmsghdr *nlh, struct kneigh *n)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	bool have_dst = false;
	size_t alen;

	if ((nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nd))
		return 0;
	if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6)
		return 0;
	memset(n, 0, sizeof(*n));
	n->deleted = nlh->nlmsg_type == RTM_DELNEIGH;
	n->family = nd->ndm_family;
	n->ifindex = nd->ndm_ifindex;
	n->state = nd->ndm_state;
	n->flags = nd->ndm_flags;
	alen = addr_len(nd->ndm_family);
	mnl_attr_for_each(a, nlh, sizeof(*nd)) {
		uint16_t plen = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) == NDA_DST && plen == alen) {
			memcpy(n->addr.b, mnl_attr_get_payload(a), alen);
			have_dst = true;
		} else if (mnl_attr_get_type(a) == NDA_LLADDR && plen <= sizeof(n->lladdr)) {
			memcpy(n->lladdr, mnl_attr_get_payload(a), plen);
			n->lladdr_len = (uint8_t)plen;
		}
	}
	return have_dst ? 1 : 0;
}

int kernel_neigh_read(int fd, kernel_neigh_fn cb, void *arg)
{
	uint8_t buf[KERNEL_RCVBUF_LEN];
	int events = 0, reads;

	for (reads = 0; reads < KERNEL_NEIGH_READS; reads++) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			struct kneigh ev;

			if (neigh_parse(nlh, &ev) == 1) {
				events++;
				cb(arg, &ev);
			}
		}
	}
	return events;
}
