/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The zebra API client: messages checked byte by byte against bytes written
 * out by hand from the layouts of lib/zclient.c and zebra/zapi_msg.c (FRR
 * 8.4.4, 9.1, 10.0, 10.2, 10.3), and the client against a fake zebra on a
 * socketpair: HELLO and the profile probe, replay after a reconnect,
 * garbage and truncated input counted while the client keeps going.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "routing/zapi.h"
#include "util.h"

#define BABEL_8 22
#define BABEL_10 23
#define WAIT_MS 2000
#define NOSOCK "/nonexistent/zserv.api"

/* ---- golden messages ---- */

/* HELLO, 8.x layout: babel, instance 0, session 0, receive_notify 1, sync 0 */
static const uint8_t hello_8[] = {
	0x00, 0x13, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12,
	0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
};

/* HELLO, 10.x layout (command 19, no receive_notify): babel 23, instance 5 */
static const uint8_t hello_10[] = {
	0x00, 0x12, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13,
	0x17, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/*
 * CLIENT_CAPABILITIES, one command number per profile: 119 (8.2-9.0), 118
 * (9.1), 119 (10.0-10.1), 121 (10.2+); body u32 capability, then GR (1): u32
 * stale time, u32 vrf; UPDATE_COMPLETE (2): u32 afi, u32 safi, u32 vrf;
 * GR_DISABLE (4): u32 vrf.
 */
static const uint8_t gr_60_8_2[] = {
	0x00, 0x16, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t gr_60_9_1[] = {
	0x00, 0x16, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x76,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t gr_60_10_0[] = {
	0x00, 0x16, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00,
};
/* 10.2+, stale time 4095 */
static const uint8_t gr_4095_10_2[] = {
	0x00, 0x16, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x79,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x0f, 0xff, 0x00, 0x00, 0x00, 0x00,
};
/* UPDATE_COMPLETE, IPv4 (afi 1) then IPv6 (afi 2), safi unicast */
static const uint8_t complete4_8_2[] = {
	0x00, 0x1a, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00,
};
static const uint8_t complete6_8_2[] = {
	0x00, 0x1a, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00,
};
static const uint8_t complete6_9_1[] = {
	0x00, 0x1a, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x76,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00,
};
static const uint8_t complete4_10_0[] = {
	0x00, 0x1a, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00,
};
static const uint8_t complete6_10_2[] = {
	0x00, 0x1a, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x79,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00,
};
/* GR_DISABLE */
static const uint8_t gr_disable_8_2[] = {
	0x00, 0x12, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
	0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t gr_disable_9_1[] = {
	0x00, 0x12, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x76,
	0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t gr_disable_10_0[] = {
	0x00, 0x12, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
	0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t gr_disable_10_2[] = {
	0x00, 0x12, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x79,
	0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
};

/* ROUTE_ADD (8) 2001:db8::42/128 via fe80::1 ifindex 3, metric 0 */
static const uint8_t add_v6_8[] = {
	0x00, 0x48, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
	0x16,                   /* type babel */
	0x00, 0x00,             /* instance */
	0x00, 0x00, 0x00, 0x00, /* flags */
	0x00, 0x00, 0x00, 0x05, /* message: NEXTHOP | METRIC */
	0x01,                   /* safi unicast */
	0x0a, 0x80,             /* AF_INET6, /128 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42,
	0x00, 0x01,             /* one nexthop */
	0x00, 0x00, 0x00, 0x00, /* its vrf */
	0x05, 0x00,             /* IPV6_IFINDEX, flags */
	0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x03, /* ifindex */
	0x00, 0x00, 0x00, 0x00, /* metric */
};

/* ROUTE_ADD (8) 198.51.100.7/32 via 192.0.2.1 ifindex 4, distance 200, metric 20 */
static const uint8_t add_v4_8[] = {
	0x00, 0x31, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
	0x16, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x07, /* NEXTHOP | DISTANCE | METRIC */
	0x01, 0x02, 0x20,       /* unicast, AF_INET, /32 */
	0xc6, 0x33, 0x64, 0x07,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x00,             /* IPV4_IFINDEX */
	0xc0, 0x00, 0x02, 0x01,
	0x00, 0x00, 0x00, 0x04,
	0xc8,                   /* distance */
	0x00, 0x00, 0x00, 0x14, /* metric */
};

/* ROUTE_ADD (8) 2001:db8::42/128 via fe80::1 ifindex 3, tag 4242: the TAG
 * flag (0x08) in message, the tag after the metric (lib/zclient.c
 * zapi_route_encode, 8.4 to 10.x) */
static const uint8_t add_v6_tag_8[] = {
	0x00, 0x4c, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
	0x16,                   /* type babel */
	0x00, 0x00,             /* instance */
	0x00, 0x00, 0x00, 0x00, /* flags */
	0x00, 0x00, 0x00, 0x0d, /* message: NEXTHOP | METRIC | TAG */
	0x01,                   /* safi unicast */
	0x0a, 0x80,             /* AF_INET6, /128 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42,
	0x00, 0x01,             /* one nexthop */
	0x00, 0x00, 0x00, 0x00, /* its vrf */
	0x05, 0x00,             /* IPV6_IFINDEX, flags */
	0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x03, /* ifindex */
	0x00, 0x00, 0x00, 0x00, /* metric */
	0x00, 0x00, 0x10, 0x92, /* tag 4242 */
};

/* ROUTE_ADD (9, 10.x) 198.51.100.7/32 via 192.0.2.1 ifindex 4, distance
 * 200, metric 20, tag 4294967295, type 23 */
static const uint8_t add_v4_tag_10[] = {
	0x00, 0x35, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
	0x17, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x0f, /* NEXTHOP | DISTANCE | METRIC | TAG */
	0x01, 0x02, 0x20,       /* unicast, AF_INET, /32 */
	0xc6, 0x33, 0x64, 0x07,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x00,             /* IPV4_IFINDEX */
	0xc0, 0x00, 0x02, 0x01,
	0x00, 0x00, 0x00, 0x04,
	0xc8,                   /* distance */
	0x00, 0x00, 0x00, 0x14, /* metric */
	0xff, 0xff, 0xff, 0xff, /* tag */
};

/* ROUTE_ADD (9, 10.x) 2001:db8:1:2::/64 blackhole, type 23 */
static const uint8_t add_bh_10[] = {
	0x00, 0x2d, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
	0x17, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x05,
	0x01, 0x0a, 0x40,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x02, /* 8 prefix bytes */
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x06, 0x00, 0x01,       /* BLACKHOLE, flags, bh_type NULL */
	0x00, 0x00, 0x00, 0x00,
};

/* ROUTE_DELETE (9) 2001:db8::42/128: no nexthops, no attributes */
static const uint8_t del_v6_8[] = {
	0x00, 0x28, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
	0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x0a, 0x80,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42,
};

/* ROUTE_DELETE (10, 10.x) 198.51.100.7/32, type 27 (openfabric), instance 2 */
static const uint8_t del_v4_10[] = {
	0x00, 0x1c, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,
	0x1b, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x02, 0x20, 0xc6, 0x33, 0x64, 0x07,
};

static const uint8_t notify_req_10_0[] = {
	0x00, 0x0b, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7c, 0x01,
};
static const uint8_t notify_req_10_2[] = {
	0x00, 0x0b, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7e, 0x01,
};

/* REDISTRIBUTE_ADD of babel, IPv4 then IPv6 (8.x: 11), and DELETE in 10.x (13) */
static const uint8_t redist_add_v4_8[] = {
	0x00, 0x0e, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x01, 0x16, 0x00, 0x00,
};
static const uint8_t redist_add_v6_8[] = {
	0x00, 0x0e, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x02, 0x16, 0x00, 0x00,
};
static const uint8_t redist_del_v6_10[] = {
	0x00, 0x0e, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x02, 0x17, 0x00, 0x03,
};

/* Zebra writes the notification and error enums in host order. */
static void put_host32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void v6(struct in6_addr *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
}

static void v4(struct in_addr *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET, s, a), 1);
}

static struct zroute route_v6_host(void)
{
	struct zroute r;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	v6(&r.prefix.v6, "2001:db8::42");
	r.plen = 128;
	r.nh = ZNH_IPV6_IFINDEX;
	v6(&r.gate.v6, "fe80::1");
	r.ifindex = 3;
	return r;
}

static struct zroute route_v4_host(void)
{
	struct zroute r;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	v4(&r.prefix.v4, "198.51.100.7");
	r.plen = 32;
	r.nh = ZNH_IPV4_IFINDEX;
	v4(&r.gate.v4, "192.0.2.1");
	r.ifindex = 4;
	r.distance = 200;
	r.metric = 20;
	return r;
}

static void assert_msg(const uint8_t *got, ssize_t n, const uint8_t *want, size_t wn)
{
	assert_int_equal(n, (ssize_t)wn);
	assert_memory_equal(got, want, wn);
}

/* ---- codec ---- */

static void test_header_parse(void **state)
{
	struct zapi_hdr h;
	uint8_t b[ZAPI_HEADER_SIZE];

	assert_int_equal(zapi_parse_header(hello_8, sizeof(hello_8), &h), 0);
	assert_int_equal(h.length, 19);
	assert_int_equal(h.command, 18);
	assert_int_equal(h.vrf_id, 0);
	assert_int_equal(zapi_parse_header(hello_8, 9, &h), -EAGAIN);

	memcpy(b, hello_8, sizeof(b));
	b[2] = 0xff; /* marker */
	assert_int_equal(zapi_parse_header(b, sizeof(b), &h), -EBADMSG);
	memcpy(b, hello_8, sizeof(b));
	b[3] = 5; /* version */
	assert_int_equal(zapi_parse_header(b, sizeof(b), &h), -EBADMSG);
	memcpy(b, hello_8, sizeof(b));
	ila_put_be16(b, 9); /* shorter than a header */
	assert_int_equal(zapi_parse_header(b, sizeof(b), &h), -EBADMSG);
	ila_put_be16(b, ZAPI_MAX_PACKET + 1);
	assert_int_equal(zapi_parse_header(b, sizeof(b), &h), -EBADMSG);
	ila_put_be16(b, ZAPI_MAX_PACKET);
	assert_int_equal(zapi_parse_header(b, sizeof(b), &h), 0);
	assert_int_equal(h.length, ZAPI_MAX_PACKET);
}

static void test_hello(void **state)
{
	uint8_t m[64];

	assert_msg(m, zapi_encode_hello(m, sizeof(m), ZAPI_PROFILE_8_2, BABEL_8, 0), hello_8,
		   sizeof(hello_8));
	/* 9.1 moved ERROR and NOTIFY_REQUEST only: the same HELLO */
	assert_msg(m, zapi_encode_hello(m, sizeof(m), ZAPI_PROFILE_9_1, BABEL_8, 0), hello_8,
		   sizeof(hello_8));
	assert_msg(m, zapi_encode_hello(m, sizeof(m), ZAPI_PROFILE_10_0, BABEL_10, 5), hello_10,
		   sizeof(hello_10));
	assert_msg(m, zapi_encode_hello(m, sizeof(m), ZAPI_PROFILE_10_2, BABEL_10, 5), hello_10,
		   sizeof(hello_10));
	assert_int_equal(zapi_encode_hello(m, sizeof(m), 700, BABEL_8, 0), -EINVAL);
	assert_int_equal(zapi_encode_hello(m, 12, ZAPI_PROFILE_8_2, BABEL_8, 0), -ENOSPC);
}

static void test_route_add_v6_ifindex(void **state)
{
	struct zroute r = route_v6_host();
	uint8_t m[128], want[sizeof(add_v6_8)];

	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_8_2, true, BABEL_8, 0, &r),
		   add_v6_8, sizeof(add_v6_8));
	/* 10.x: command 9 and babel 23, the body otherwise the same */
	memcpy(want, add_v6_8, sizeof(want));
	want[9] = 9;
	want[10] = BABEL_10;
	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_10_2, true, BABEL_10, 0, &r),
		   want, sizeof(want));
}

static void test_route_add_v4(void **state)
{
	struct zroute r = route_v4_host();
	uint8_t m[128];

	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_9_1, true, BABEL_8, 0, &r),
		   add_v4_8, sizeof(add_v4_8));
	r.family = 7;
	assert_int_equal(zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_9_1, true, BABEL_8, 0, &r),
			 -EINVAL);
	r.family = AF_INET;
	r.plen = 33;
	assert_int_equal(zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_9_1, true, BABEL_8, 0, &r),
			 -EINVAL);
}

static void test_route_add_tag(void **state)
{
	struct zroute r = route_v6_host(), untagged = route_v6_host();
	uint8_t m[128], d[128];
	ssize_t n;

	r.tag = 4242;
	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_8_2, true, BABEL_8, 0, &r),
		   add_v6_tag_8, sizeof(add_v6_tag_8));
	r = route_v4_host();
	r.tag = UINT32_MAX;
	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_10_2, true, BABEL_10, 0, &r),
		   add_v4_tag_10, sizeof(add_v4_tag_10));
	/* a deletion carries no tag: the same bytes as without one */
	r = route_v6_host();
	r.tag = 4242;
	n = zapi_encode_route(d, sizeof(d), ZAPI_PROFILE_8_2, false, BABEL_8, 0, &untagged);
	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_8_2, false, BABEL_8, 0, &r), d,
		   (size_t)n);
}

/* The probe: command 65535, empty, in VRF 4294967295 (VRF_UNKNOWN), so that
 * zebra answers ERROR "no such VRF" without logging an unknown command. */
static void test_probe(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x0a, 0xfe, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	uint8_t m[16];

	assert_msg(m, zapi_encode_probe(m, sizeof(m)), want, sizeof(want));
	assert_int_equal(zapi_encode_probe(m, 9), -ENOSPC);
}

static void test_route_add_blackhole(void **state)
{
	struct zroute r;
	uint8_t m[128];

	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	v6(&r.prefix.v6, "2001:db8:1:2::");
	r.plen = 64;
	r.nh = ZNH_BLACKHOLE;
	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_10_0, true, BABEL_10, 0, &r),
		   add_bh_10, sizeof(add_bh_10));
}

static void test_route_delete(void **state)
{
	struct zroute a = route_v6_host(), b = route_v4_host();
	uint8_t m[128];

	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_8_2, false, BABEL_8, 0, &a),
		   del_v6_8, sizeof(del_v6_8));
	assert_msg(m, zapi_encode_route(m, sizeof(m), ZAPI_PROFILE_10_0, false, 27, 2, &b),
		   del_v4_10, sizeof(del_v4_10));
}

static void test_notify_request(void **state)
{
	uint8_t m[32];

	assert_msg(m, zapi_encode_notify_request(m, sizeof(m), ZAPI_PROFILE_10_0),
		   notify_req_10_0, sizeof(notify_req_10_0));
	assert_msg(m, zapi_encode_notify_request(m, sizeof(m), ZAPI_PROFILE_10_2),
		   notify_req_10_2, sizeof(notify_req_10_2));
	assert_int_equal(zapi_encode_notify_request(m, 10, ZAPI_PROFILE_10_2), -ENOSPC);
}

static void test_redistribute(void **state)
{
	uint8_t m[32];

	assert_msg(m, zapi_encode_redistribute(m, sizeof(m), ZAPI_PROFILE_8_2, true, 1, BABEL_8, 0),
		   redist_add_v4_8, sizeof(redist_add_v4_8));
	assert_msg(m, zapi_encode_redistribute(m, sizeof(m), ZAPI_PROFILE_9_1, true, 2, BABEL_8, 0),
		   redist_add_v6_8, sizeof(redist_add_v6_8));
	assert_msg(m, zapi_encode_redistribute(m, sizeof(m), ZAPI_PROFILE_10_0, false, 2, BABEL_10,
					       3),
		   redist_del_v6_10, sizeof(redist_del_v6_10));
	assert_int_equal(zapi_encode_redistribute(m, 13, ZAPI_PROFILE_10_0, false, 2, 23, 3),
			 -ENOSPC);
}

static void test_client_caps(void **state)
{
	uint8_t m[64];

	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_8_2, ZAPI_CAP_GR, 60),
		   gr_60_8_2, sizeof(gr_60_8_2));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_9_1, ZAPI_CAP_GR, 60),
		   gr_60_9_1, sizeof(gr_60_9_1));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_10_0, ZAPI_CAP_GR, 60),
		   gr_60_10_0, sizeof(gr_60_10_0));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_10_2, ZAPI_CAP_GR, 4095),
		   gr_4095_10_2, sizeof(gr_4095_10_2));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_8_2,
					     ZAPI_CAP_UPDATE_COMPLETE, 1),
		   complete4_8_2, sizeof(complete4_8_2));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_8_2,
					     ZAPI_CAP_UPDATE_COMPLETE, 2),
		   complete6_8_2, sizeof(complete6_8_2));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_9_1,
					     ZAPI_CAP_UPDATE_COMPLETE, 2),
		   complete6_9_1, sizeof(complete6_9_1));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_10_0,
					     ZAPI_CAP_UPDATE_COMPLETE, 1),
		   complete4_10_0, sizeof(complete4_10_0));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_10_2,
					     ZAPI_CAP_UPDATE_COMPLETE, 2),
		   complete6_10_2, sizeof(complete6_10_2));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_8_2, ZAPI_CAP_GR_DISABLE, 0),
		   gr_disable_8_2, sizeof(gr_disable_8_2));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_9_1, ZAPI_CAP_GR_DISABLE, 0),
		   gr_disable_9_1, sizeof(gr_disable_9_1));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_10_0, ZAPI_CAP_GR_DISABLE,
					     0),
		   gr_disable_10_0, sizeof(gr_disable_10_0));
	assert_msg(m, zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_10_2, ZAPI_CAP_GR_DISABLE,
					     0),
		   gr_disable_10_2, sizeof(gr_disable_10_2));
	/* CLIENT_CAPABILITIES is ERROR's number plus one in every profile */
	for (int v = 0; v < 4; v++) {
		static const int prof[] = { ZAPI_PROFILE_8_2, ZAPI_PROFILE_9_1, ZAPI_PROFILE_10_0,
					    ZAPI_PROFILE_10_2 };
		const struct zapi_cmds *p = zapi_profile_cmds(prof[v]);

		assert_int_equal(p->client_caps, p->error + 1);
	}
	assert_int_equal(zapi_encode_client_cap(m, sizeof(m), 700, ZAPI_CAP_GR, 60), -EINVAL);
	assert_int_equal(zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_8_2,
						ZAPI_CAP_UPDATE_COMPLETE, 3), -EINVAL);
	assert_int_equal(zapi_encode_client_cap(m, sizeof(m), ZAPI_PROFILE_8_2,
						(enum zapi_client_cap)9, 0), -EINVAL);
	assert_int_equal(zapi_encode_client_cap(m, 25, ZAPI_PROFILE_8_2, ZAPI_CAP_GR, 60),
			 -ENOSPC);
}

/* The head of a route message is a ROUTE_ADD body: the golden ones parse. */
static void test_parse_route_head(void **state)
{
	struct zapi_route_head h;
	struct in_addr a4;

	assert_int_equal(zapi_parse_route_head(add_v4_8 + 10, sizeof(add_v4_8) - 10, &h), 0);
	assert_int_equal(h.type, BABEL_8);
	assert_int_equal(h.instance, 0);
	assert_int_equal(h.message, 7);
	assert_int_equal(h.safi, 1);
	assert_int_equal(h.family, AF_INET);
	assert_int_equal(h.plen, 32);
	v4(&a4, "198.51.100.7");
	assert_memory_equal(&h.prefix.v4, &a4, 4);
	assert_int_equal(h.nh_type, 3); /* IPV4_IFINDEX: its ifindex is not looked at */
	assert_int_equal(h.ifindex, 0);
	{
		/* a route through an interface: the first next hop's ifindex;
		 * cut inside it, no next hop */
		uint8_t b[] = { 0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
				0x01, 0x02, 0x20, 0xc6, 0x33, 0x64, 0x07, 0x00, 0x01, 0x00, 0x00,
				0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x00,
				0x00 };

		assert_int_equal(zapi_parse_route_head(b, sizeof(b), &h), 0);
		assert_int_equal(h.nh_type, 1);
		assert_int_equal(h.ifindex, 300);
		assert_int_equal(zapi_parse_route_head(b, 27, &h), 0);
		assert_int_equal(h.nh_type, 0);
		b[19] = 0; /* no next hop at all */
		assert_int_equal(zapi_parse_route_head(b, sizeof(b), &h), 0);
		assert_int_equal(h.nh_type, 0);
	}
	assert_int_equal(zapi_parse_route_head(del_v4_10 + 10, sizeof(del_v4_10) - 10, &h), 0);
	assert_int_equal(h.type, 27);
	assert_int_equal(h.instance, 2);
	/* /64: 8 prefix bytes, then the nexthops */
	assert_int_equal(zapi_parse_route_head(add_bh_10 + 10, 22, &h), 0);
	assert_int_equal(h.plen, 64);
	assert_int_equal(zapi_parse_route_head(add_bh_10 + 10, 21, &h), -EBADMSG);
	assert_int_equal(zapi_parse_route_head(del_v6_8 + 10, 29, &h), -EBADMSG);
	assert_int_equal(zapi_parse_route_head(del_v6_8 + 10, 30, &h), 0);
}

/* Bodies of ROUTE_NOTIFY_OWNER as zebra 8.4.4 sent them (captured from a
 * zebra in a namespace; the IPv4 one with another note): the prefix takes
 * the address family's size, 4 bytes for IPv4, not 16. */
static void test_parse_notify(void **state)
{
	uint8_t b6[] = {
		0, 0, 0, 0, 0x0a, 0x80,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x00, 0x00, 0x00, 0xfe, 0x02, 0x01,
	};
	uint8_t b4[] = {
		0, 0, 0, 0, 0x02, 0x20, 0xc0, 0x00, 0x02, 0x01,
		0x00, 0x00, 0x00, 0xfe, 0x01, 0x01,
	};
	struct zapi_notify n;
	struct in6_addr a6;
	struct in_addr a4;

	put_host32(b6, ZAPI_NOTE_INSTALLED);
	put_host32(b4, ZAPI_NOTE_FAIL_INSTALL);
	assert_int_equal(zapi_parse_notify(b6, sizeof(b6), &n), 0);
	assert_int_equal(n.note, ZAPI_NOTE_INSTALLED);
	assert_int_equal(n.family, AF_INET6);
	assert_int_equal(n.plen, 128);
	v6(&a6, "2001:db8:1::1");
	assert_memory_equal(&n.prefix.v6, &a6, 16);
	assert_int_equal(n.table_id, 254);
	assert_int_equal(n.afi, 2);
	assert_int_equal(n.safi, 1);
	assert_false(n.has_src);

	assert_int_equal(zapi_parse_notify(b4, sizeof(b4), &n), 0);
	assert_int_equal(n.note, ZAPI_NOTE_FAIL_INSTALL);
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.plen, 32);
	v4(&a4, "192.0.2.1");
	assert_memory_equal(&n.prefix.v4, &a4, 4);
	assert_int_equal(n.table_id, 254);
	assert_int_equal(n.afi, 1);
}

/* 10.3+: a source prefix (length, address) between prefix and table_id. */
static void test_parse_notify_src(void **state)
{
	uint8_t b6[] = {
		0, 0, 0, 0, 0x0a, 0x40,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x30,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x00, 0x00, 0x00, 0x0a, 0x02, 0x01,
	};
	uint8_t b4[] = {
		0, 0, 0, 0, 0x02, 0x18, 0xc6, 0x33, 0x64, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x01, 0x00, 0x01, 0x01,
	};
	struct zapi_notify n;
	struct in6_addr a6;

	put_host32(b6, ZAPI_NOTE_REMOVED);
	put_host32(b4, ZAPI_NOTE_BETTER_ADMIN_WON);
	assert_int_equal(zapi_parse_notify(b6, sizeof(b6), &n), 0);
	assert_int_equal(n.note, ZAPI_NOTE_REMOVED);
	assert_true(n.has_src);
	assert_int_equal(n.plen, 64);
	assert_int_equal(n.src_plen, 48);
	v6(&a6, "2001:db8:9::");
	assert_memory_equal(&n.src.v6, &a6, 16);
	assert_int_equal(n.table_id, 10);

	assert_int_equal(zapi_parse_notify(b4, sizeof(b4), &n), 0);
	assert_true(n.has_src);
	assert_int_equal(n.note, ZAPI_NOTE_BETTER_ADMIN_WON);
	assert_int_equal(n.plen, 24);
	assert_int_equal(n.src_plen, 0);
	assert_int_equal(n.table_id, 256);
}

static void test_parse_notify_bad(void **state)
{
	uint8_t b[64] = { 2, 0, 0, 0, 0x0a, 0x80 };
	struct zapi_notify n;

	/* sizes between, below and above the two layouts */
	for (size_t len = 0; len < sizeof(b); len++) {
		int rc = zapi_parse_notify(b, len, &n);

		if (len == 28 || len == 45)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, -EBADMSG);
	}
	b[5] = 129; /* longer than an IPv6 address */
	assert_int_equal(zapi_parse_notify(b, 28, &n), -EBADMSG);
	b[5] = 64;
	b[4] = 7; /* no such family */
	assert_int_equal(zapi_parse_notify(b, 28, &n), -EBADMSG);
	b[4] = 2; /* IPv4 takes 16 or 21 bytes, not 28 */
	assert_int_equal(zapi_parse_notify(b, 28, &n), -EBADMSG);
	b[5] = 24;
	assert_int_equal(zapi_parse_notify(b, 16, &n), 0);
}

static void test_parse_error(void **state)
{
	uint8_t b[5];
	uint32_t code = 99;

	put_host32(b, ZAPI_ERR_INVALID_MSG_TYPE);
	assert_int_equal(zapi_parse_error(b, 4, &code), 0);
	assert_int_equal(code, 2);
	put_host32(b, ZAPI_ERR_NO_VRF);
	assert_int_equal(zapi_parse_error(b, 4, &code), 0);
	assert_int_equal(code, 1);
	assert_int_equal(zapi_parse_error(b, 3, &code), -EBADMSG);
	assert_int_equal(zapi_parse_error(b, 5, &code), -EBADMSG);
}

static void test_route_types(void **state)
{
	static const int profiles[] = { ZAPI_PROFILE_8_2, ZAPI_PROFILE_9_1, ZAPI_PROFILE_10_0,
					ZAPI_PROFILE_10_2 };

	for (size_t i = 0; i < ILA_ARRAY_SIZE(profiles); i++) {
		int p = profiles[i], up = p >= ZAPI_PROFILE_10_0;

		assert_int_equal(zapi_route_type(p, ILA_CONF_ZRT_BABEL, 0), 22 + up);
		assert_int_equal(zapi_route_type(p, ILA_CONF_ZRT_OPENFABRIC, 0), 26 + up);
		assert_int_equal(zapi_route_type(p, ILA_CONF_ZRT_TABLE, 0), 15 + up);
		assert_int_equal(zapi_route_type(p, ILA_CONF_ZRT_NUMBER, 9), 9);
		/* STATIC (3, then 4) and below are refused */
		assert_int_equal(zapi_route_type(p, ILA_CONF_ZRT_NUMBER, 3 + up), -EINVAL);
		assert_int_equal(zapi_route_type(p, ILA_CONF_ZRT_NUMBER, 4 + up), 4 + up);
		assert_int_equal(zapi_route_type(p, ILA_CONF_ZRT_NUMBER, 200), -EINVAL);
	}
	assert_int_equal(zapi_route_type(0, ILA_CONF_ZRT_BABEL, 0), -EINVAL);
	assert_non_null(zapi_profile_cmds(ZAPI_PROFILE_9_1));
	assert_int_equal(zapi_profile_cmds(ZAPI_PROFILE_9_1)->error, 117);
	assert_int_equal(zapi_profile_cmds(ZAPI_PROFILE_10_2)->notify_request, 126);
	assert_null(zapi_profile_cmds(900));
}

/* ---- a fake zebra on a socketpair ---- */

struct fz {
	struct ev_loop *loop;
	struct zapi *z;
	int peer;
	uint16_t skip[2]; /* REDISTRIBUTE_ADD/_DELETE: fz_recv passes over them */
	int ups, downs;
	int last_event;
};

static void on_event(void *arg, int ev)
{
	struct fz *f = arg;

	f->last_event = ev;
	if (ev == ZAPI_EV_UP)
		f->ups++;
	else if (ev == ZAPI_EV_DOWN)
		f->downs++;
}

static struct fz *fz_open_tag(int version, uint32_t gr_stale_s, uint32_t tag)
{
	struct zapi_conf c = {
		.socket = NOSOCK,
		.version = version,
		.route_type_name = ILA_CONF_ZRT_BABEL,
		.gr_stale_s = gr_stale_s,
		.tag = tag,
	};
	struct fz *f = calloc(1, sizeof(*f));
	char err[128];

	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	assert_int_equal(zapi_open(&f->z, f->loop, &c, on_event, f, err, sizeof(err)), 0);
	f->peer = -1;
	f->skip[0] = version == 10 ? 12 : 11;
	f->skip[1] = version == 10 ? 13 : 12;
	return f;
}

static struct fz *fz_open_gr(int version, uint32_t gr_stale_s)
{
	return fz_open_tag(version, gr_stale_s, 0);
}

static struct fz *fz_open(int version)
{
	return fz_open_gr(version, 0);
}

/* A new connection: the client gets one end, the test keeps the other. */
static void fz_connect(struct fz *f)
{
	int sv[2];

	if (f->peer >= 0)
		close(f->peer);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(zapi_adopt_fd(f->z, sv[0]), 0);
	f->peer = sv[1];
}

static void fz_close(struct fz *f, bool withdraw)
{
	zapi_close(f->z, withdraw);
	if (f->peer >= 0)
		close(f->peer);
	ev_loop_destroy(f->loop);
	free(f);
}

static void pump(struct fz *f)
{
	ev_run(f->loop, EVRUN_NOWAIT);
}

/*
 * The next message from the client: its length (> 0), 0 at end of file,
 * -1 when nothing came within WAIT_MS.
 */
static int fz_recv_raw(struct fz *f, uint8_t *buf, size_t cap)
{
	for (int i = 0; i < WAIT_MS; i++) {
		uint8_t h[2];
		ssize_t n;

		pump(f);
		n = recv(f->peer, h, 2, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n == 2) {
			size_t len = ila_get_be16(h);

			assert_true(len >= ZAPI_HEADER_SIZE && len <= cap);
			n = recv(f->peer, buf, len, MSG_PEEK | MSG_DONTWAIT);
			if (n == (ssize_t)len) {
				assert_int_equal(recv(f->peer, buf, len, 0), (ssize_t)len);
				return (int)len;
			}
		}
		poll(NULL, 0, 1);
	}
	return -1;
}

/* The same, passing over the redistribution requests of the reconciliation. */
static int fz_recv(struct fz *f, uint8_t *buf, size_t cap)
{
	for (;;) {
		int n = fz_recv_raw(f, buf, cap);
		uint16_t cmd;

		if (n < ZAPI_HEADER_SIZE)
			return n;
		cmd = ila_get_be16(buf + 8);
		if (cmd != f->skip[0] && cmd != f->skip[1])
			return n;
	}
}

/* After zapi_close: the client's end closed, nothing more on the wire. */
static void fz_end(struct fz *f)
{
	uint8_t m[256];

	f->z = NULL;
	assert_int_equal(fz_recv(f, m, sizeof(m)), 0);
	close(f->peer);
	ev_loop_destroy(f->loop);
	free(f);
}

static uint16_t fz_recv_cmd(struct fz *f, uint8_t *buf, size_t cap)
{
	int n = fz_recv_raw(f, buf, cap);

	assert_true(n >= ZAPI_HEADER_SIZE);
	return ila_get_be16(buf + 8);
}

static void fz_send_raw(struct fz *f, const void *p, size_t n)
{
	assert_int_equal(write(f->peer, p, n), (ssize_t)n);
}

static void fz_send(struct fz *f, uint16_t cmd, const void *body, size_t n)
{
	uint8_t m[256];

	assert_true(n + ZAPI_HEADER_SIZE <= sizeof(m));
	ila_put_be16(m, (uint16_t)(n + ZAPI_HEADER_SIZE));
	m[2] = 0xfe;
	m[3] = 6;
	ila_put_be32(m + 4, 0);
	ila_put_be16(m + 8, cmd);
	if (n)
		memcpy(m + ZAPI_HEADER_SIZE, body, n);
	fz_send_raw(f, m, n + ZAPI_HEADER_SIZE);
}

static void fz_send_error(struct fz *f, uint16_t cmd, uint32_t code)
{
	uint8_t b[4];

	put_host32(b, code);
	fz_send(f, cmd, b, 4);
}

/* CAPABILITIES as 8.4.4 sends it: backend u32, mpls u8, multipath u32, role u8 */
static void fz_send_caps(struct fz *f, uint16_t cmd)
{
	static const uint8_t caps[] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

	fz_send(f, cmd, caps, sizeof(caps));
}

static void fz_send_notify(struct fz *f, uint16_t cmd, uint32_t note, const struct zroute *r)
{
	uint8_t b[64];
	size_t alen = r->family == AF_INET6 ? 16 : 4, n = 0;

	put_host32(b, note);
	n = 4;
	b[n++] = (uint8_t)r->family;
	b[n++] = r->plen;
	memcpy(b + n, &r->prefix, alen);
	n += alen;
	ila_put_be32(b + n, 254);
	n += 4;
	b[n++] = r->family == AF_INET6 ? 2 : 1;
	b[n++] = 1;
	fz_send(f, cmd, b, n);
}

static bool wait_for(struct fz *f, bool (*cond)(struct fz *f))
{
	for (int i = 0; i < WAIT_MS; i++) {
		pump(f);
		if (cond(f))
			return true;
		poll(NULL, 0, 1);
	}
	return false;
}

static bool is_up(struct fz *f)
{
	return zapi_stats(f->z)->up;
}

static bool is_down(struct fz *f)
{
	return !zapi_stats(f->z)->up;
}

/* Once up: the dump of our own type is asked for, the probe ends it. */
static void reconcile_8(struct fz *f, uint16_t error_cmd, bool answer)
{
	uint8_t m[256];

	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), redist_add_v4_8, sizeof(redist_add_v4_8));
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), redist_add_v6_8, sizeof(redist_add_v6_8));
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	if (answer)
		fz_send_error(f, error_cmd, ZAPI_ERR_NO_VRF); /* nothing to dump */
}

/* The 8.x exchange: HELLO, CAPABILITIES (+ VRF_ADD), probe, ERROR. */
static void handshake_8_only(struct fz *f, uint16_t error_cmd)
{
	uint8_t m[256];

	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), hello_8, sizeof(hello_8));
	fz_send_caps(f, 19);
	fz_send(f, 33, "default", 7); /* VRF_ADD, of no interest */
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	fz_send_error(f, error_cmd, ZAPI_ERR_NO_VRF);
	assert_true(wait_for(f, is_up));
}

static void handshake_8(struct fz *f, uint16_t error_cmd)
{
	handshake_8_only(f, error_cmd);
	reconcile_8(f, error_cmd, true);
}

struct seen {
	int n;
	enum zroute_state st[4];
	struct zroute r[4];
};

static void collect(void *arg, const struct zroute *r, enum zroute_state st)
{
	struct seen *s = arg;

	if (s->n < 4) {
		s->r[s->n] = *r;
		s->st[s->n] = st;
	}
	s->n++;
}

static enum zroute_state state_of(struct fz *f)
{
	struct seen s = { 0 };

	zapi_routes(f->z, collect, &s);
	assert_int_equal(s.n, 1);
	return s.st[0];
}

static void test_fake_zebra_8(void **state)
{
	struct fz *f = fz_open(8);
	struct zroute r = route_v6_host();
	uint8_t m[256];

	/* a route set before the connection goes out once zebra is up */
	assert_int_equal(zapi_route_set(f->z, &r), 0);
	fz_connect(f);
	handshake_8(f, 118);
	assert_int_equal(f->ups, 1);
	assert_int_equal(zapi_stats(f->z)->version, ZAPI_PROFILE_8_2);
	assert_string_equal(zapi_profile_name(zapi_stats(f->z)->version), "8.2-9.0");
	assert_msg(m, fz_recv(f, m, sizeof(m)), add_v6_8, sizeof(add_v6_8));
	assert_int_equal(state_of(f), ZR_PENDING);

	fz_send_notify(f, 10, ZAPI_NOTE_INSTALLED, &r);
	fz_send(f, 77, "xyz", 3); /* unknown: skipped, counted */
	for (int i = 0; i < 50 && zapi_stats(f->z)->unknown == 0; i++) {
		pump(f);
		poll(NULL, 0, 1);
	}
	assert_int_equal(zapi_stats(f->z)->unknown, 1);
	assert_int_equal(zapi_stats(f->z)->notifications, 1);
	assert_int_equal(zapi_stats(f->z)->installed, 1);
	assert_int_equal(state_of(f), ZR_INSTALLED);

	fz_send_notify(f, 10, ZAPI_NOTE_FAIL_INSTALL, &r);
	for (int i = 0; i < 50 && zapi_stats(f->z)->failed == 0; i++) {
		pump(f);
		poll(NULL, 0, 1);
	}
	assert_int_equal(state_of(f), ZR_FAILED);
	assert_int_equal(zapi_stats(f->z)->malformed, 0);
	assert_true(zapi_stats(f->z)->up);
	fz_close(f, false);
}

/* Configured 9 against a 9.1 zebra: the probe's ERROR comes as 117. */
static void test_fake_zebra_9_1(void **state)
{
	struct fz *f = fz_open(9);

	fz_connect(f);
	handshake_8(f, 117);
	assert_int_equal(zapi_stats(f->z)->version, ZAPI_PROFILE_9_1);
	fz_send_error(f, 117, ZAPI_ERR_NO_VRF); /* a later ERROR is counted */
	for (int i = 0; i < 50 && zapi_stats(f->z)->errors == 0; i++) {
		pump(f);
		poll(NULL, 0, 1);
	}
	assert_int_equal(zapi_stats(f->z)->errors, 1);
	assert_int_equal(zapi_stats(f->z)->unknown, 0);
	fz_close(f, false);
}

/* Auto against a 10.2 zebra: the probe's ERROR comes as 120, the 10.x HELLO follows. */
static void test_fake_zebra_auto_10(void **state)
{
	struct fz *f = fz_open(0);
	struct zroute r;
	uint8_t m[256];

	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	v6(&r.prefix.v6, "2001:db8:1:2:ff::"); /* host bits are cleared */
	r.plen = 64;
	r.nh = ZNH_BLACKHOLE;
	assert_int_equal(zapi_route_set(f->z, &r), 0);
	fz_connect(f);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff); /* auto: the probe alone */
	fz_send_error(f, 120, ZAPI_ERR_NO_VRF);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 19); /* the 10.x HELLO */
	assert_int_equal(m[10], BABEL_10);
	assert_int_equal(m[1], 18);
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), notify_req_10_2, sizeof(notify_req_10_2));
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12); /* REDISTRIBUTE_ADD, 10.x */
	assert_int_equal(m[11], BABEL_10);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), add_bh_10, sizeof(add_bh_10));
	fz_send_error(f, 120, ZAPI_ERR_NO_VRF);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 13); /* the dump is over */
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 13);
	assert_int_equal(zapi_stats(f->z)->errors, 0);
	assert_true(is_up(f));
	assert_int_equal(zapi_stats(f->z)->version, ZAPI_PROFILE_10_2);
	fz_close(f, false);
}

/* Auto against 8.4 and 10.0, whose ERROR is 118 in both: the 8.x HELLO
 * follows the probe; 8.4 answers CAPABILITIES, 10.0 refuses it. */
static void test_fake_zebra_auto_118(void **state)
{
	struct fz *f = fz_open(0);
	uint8_t m[256];

	fz_connect(f);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	assert_int_equal(ila_get_be32(m + 4), 0xffffffffu); /* in no VRF zebra has */
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	handshake_8(f, 118);
	assert_int_equal(zapi_stats(f->z)->version, ZAPI_PROFILE_8_2);
	assert_int_equal(zapi_stats(f->z)->errors, 0);
	fz_close(f, false);

	f = fz_open(0);
	fz_connect(f);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), hello_8, sizeof(hello_8));
	fz_send_error(f, 118, ZAPI_ERR_INVALID_MSG_TYPE);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 19); /* the 10.x HELLO */
	assert_int_equal(m[10], BABEL_10);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 124); /* NOTIFY_REQUEST, 10.0 */
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 13); /* the dump is over */
	assert_true(is_up(f));
	assert_int_equal(zapi_stats(f->z)->version, ZAPI_PROFILE_10_0);
	assert_int_equal(zapi_stats(f->z)->errors, 0);
	fz_close(f, false);
}

/* The client's tag goes with every route it adds, not with deletions. */
static void test_client_tag(void **state)
{
	struct fz *f = fz_open_tag(8, 0, 4242);
	struct zroute r = route_v6_host();
	uint8_t m[256];

	assert_int_equal(zapi_route_set(f->z, &r), 0);
	fz_connect(f);
	handshake_8(f, 118);
	assert_msg(m, fz_recv(f, m, sizeof(m)), add_v6_tag_8, sizeof(add_v6_tag_8));
	assert_int_equal(zapi_route_unset(f->z, AF_INET6, &r.prefix, 128), 0);
	assert_msg(m, fz_recv(f, m, sizeof(m)), del_v6_8, sizeof(del_v6_8));
	fz_close(f, false);
}

/* Configured 10 against an 8.x zebra: ERROR before CAPABILITIES. */
static void test_version_mismatch(void **state)
{
	struct fz *f = fz_open(10);
	uint8_t m[256];

	fz_connect(f);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 19);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	fz_send_error(f, 118, ZAPI_ERR_INVALID_MSG_TYPE);
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	assert_int_equal(fz_recv(f, m, sizeof(m)), 0); /* the client hung up */
	assert_false(zapi_stats(f->z)->up);
	assert_int_equal(zapi_stats(f->z)->errors, 1);
	assert_int_equal(zapi_stats(f->z)->disconnects, 1);
	assert_int_equal(f->ups, 0);
	assert_non_null(strstr(zapi_last_error(f->z), "refused"));
	fz_close(f, false);
}

static void test_reconnect_replay(void **state)
{
	struct fz *f = fz_open(8);
	struct zroute a = route_v6_host(), b = route_v4_host();
	uint8_t m[256];
	int seen6 = 0, seen4 = 0;

	fz_connect(f);
	handshake_8(f, 118);
	assert_int_equal(zapi_route_set(f->z, &a), 0);
	assert_int_equal(zapi_route_set(f->z, &b), 0);
	assert_msg(m, fz_recv(f, m, sizeof(m)), add_v6_8, sizeof(add_v6_8));
	assert_msg(m, fz_recv(f, m, sizeof(m)), add_v4_8, sizeof(add_v4_8));
	fz_send_notify(f, 10, ZAPI_NOTE_INSTALLED, &a);

	/* zebra goes away */
	close(f->peer);
	f->peer = -1;
	assert_true(wait_for(f, is_down));
	assert_int_equal(f->downs, 1);
	assert_int_equal(zapi_stats(f->z)->disconnects, 1);

	/* and comes back: the whole set is sent again, in any order */
	fz_connect(f);
	handshake_8(f, 118);
	assert_int_equal(f->ups, 2);
	assert_int_equal(zapi_stats(f->z)->connects, 2);
	for (int i = 0; i < 2; i++) {
		int n = fz_recv(f, m, sizeof(m));

		if (n == (int)sizeof(add_v6_8) && !memcmp(m, add_v6_8, sizeof(add_v6_8)))
			seen6++;
		else if (n == (int)sizeof(add_v4_8) && !memcmp(m, add_v4_8, sizeof(add_v4_8)))
			seen4++;
	}
	assert_int_equal(seen6, 1);
	assert_int_equal(seen4, 1);
	fz_close(f, false);
}

/* The same through an interface: nexthop IFINDEX, with DISTANCE and METRIC. */
static void fz_send_redist_dev(struct fz *f, int family, const char *prefix, uint8_t plen,
			       int ifindex)
{
	uint8_t b[64] = { 0 };
	union zaddr a;
	size_t n = 0;

	assert_int_equal(inet_pton(family, prefix, &a), 1);
	b[n++] = BABEL_8;
	n += 2 + 4;
	ila_put_be32(b + n, 0x07); /* NEXTHOP | DISTANCE | METRIC */
	n += 4;
	b[n++] = 1;
	b[n++] = (uint8_t)family;
	b[n++] = plen;
	memcpy(b + n, &a, (plen + 7u) / 8);
	n += (plen + 7u) / 8;
	ila_put_be16(b + n, 1);
	n += 2 + 4;
	b[n++] = 1; /* IFINDEX */
	b[n++] = 0;
	ila_put_be32(b + n, (uint32_t)ifindex);
	n += 4;
	b[n++] = 10;
	n += 4;
	fz_send(f, 30, b, n);
}

/* A REDISTRIBUTE_ROUTE_ADD (30 in 8.x) as zebra sends it: a route body. */
static void fz_send_redist(struct fz *f, uint8_t type, uint16_t instance, int family,
			   const char *prefix, uint8_t plen)
{
	uint8_t b[64] = { 0 };
	union zaddr a;
	size_t n = 0;

	assert_int_equal(inet_pton(family, prefix, &a), 1);
	b[n++] = type;
	ila_put_be16(b + n, instance);
	n += 2 + 4;
	ila_put_be32(b + n, 0x05); /* NEXTHOP | METRIC */
	n += 4;
	b[n++] = 1;
	b[n++] = (uint8_t)family;
	b[n++] = plen;
	memcpy(b + n, &a, (plen + 7u) / 8);
	n += (plen + 7u) / 8;
	ila_put_be16(b + n, 1); /* a blackhole nexthop, then metric */
	n += 2 + 4;
	b[n++] = 6;
	n += 1 + 1 + 4;
	fz_send(f, 30, b, n);
}

/* Zebra holds routes of our type we do not want (a killed zebra's routes
 * read back from the kernel): the dump finds them and they are deleted. */
static void test_reconcile_stale(void **state)
{
	/* ROUTE_DELETE of babel 2001:db8:20::/64 and 198.51.100.9/32 */
	static const uint8_t del_stale6[] = {
		0x00, 0x20, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
		0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x0a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x20, 0x00, 0x00,
	};
	static const uint8_t del_stale4[] = {
		0x00, 0x1c, 0xfe, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
		0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x02, 0x20, 0xc6, 0x33, 0x64, 0x09,
	};
	struct fz *f = fz_open(8);
	struct zroute a = route_v6_host();
	uint8_t m[256];

	assert_int_equal(zapi_route_set(f->z, &a), 0);
	fz_connect(f);
	handshake_8_only(f, 118);
	reconcile_8(f, 118, false);
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), add_v6_8, sizeof(add_v6_8));

	fz_send_redist(f, BABEL_8, 0, AF_INET6, "2001:db8:20::", 64);   /* stale */
	fz_send_redist(f, BABEL_8, 0, AF_INET6, "2001:db8::42", 128);   /* wanted */
	fz_send_redist(f, 9, 0, AF_INET6, "2001:db8:77::", 48);         /* bgp's */
	fz_send_redist(f, BABEL_8, 7, AF_INET, "198.51.100.10", 32);    /* instance 7's */
	fz_send_redist(f, BABEL_8, 0, AF_INET, "198.51.100.9", 32);     /* stale */
	fz_send(f, 30, "\x16\x00", 2);                                  /* cut short */
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);               /* end of the dump */
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), del_stale6, sizeof(del_stale6));
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), del_stale4, sizeof(del_stale4));
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12); /* REDISTRIBUTE_DELETE, IPv4 */
	assert_int_equal(m[10], 1);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12);
	assert_int_equal(m[10], 2);

	/* after the dump, our own routes echoed back are of no concern */
	fz_send_redist(f, BABEL_8, 0, AF_INET6, "2001:db8:21::", 64);
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	for (int i = 0; i < WAIT_MS && zapi_stats(f->z)->errors == 0; i++) {
		pump(f);
		poll(NULL, 0, 1);
	}
	assert_int_equal(zapi_stats(f->z)->stale, 2);
	assert_int_equal(zapi_stats(f->z)->malformed, 1);
	assert_int_equal(zapi_stats(f->z)->errors, 1);
	assert_int_equal(zapi_stats(f->z)->unknown, 0);
	assert_int_equal(zapi_route_count(f->z), 1);
	fz_close(f, false);
}

/*
 * Graceful restart on: once up, GR with the stale time goes first; after
 * each replay, UPDATE_COMPLETE for IPv4 and IPv6. A close without withdraw
 * sends nothing more (zebra keeps the routes); with withdraw, GR_DISABLE
 * precedes the deletes.
 */
static void gr_session(struct fz *f)
{
	struct zroute r = route_v6_host();
	uint8_t m[256];
	uint8_t gr30[sizeof(gr_60_8_2)];

	memcpy(gr30, gr_60_8_2, sizeof(gr30));
	gr30[17] = 30;
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), hello_8, sizeof(hello_8));
	fz_send_caps(f, 19);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	assert_true(wait_for(f, is_up));
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), gr30, sizeof(gr30));
	reconcile_8(f, 118, true);
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), add_v6_8, sizeof(add_v6_8));
	/* the end of the dump: REDISTRIBUTE_DELETE (passed over); update-complete
	 * waits for zebra's answer to the route */
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12);
	for (int i = 0; i < 50; i++) {
		pump(f);
		poll(NULL, 0, 1);
	}
	assert_int_equal(recv(f->peer, m, sizeof(m), MSG_DONTWAIT), -1);
	fz_send_notify(f, 10, ZAPI_NOTE_INSTALLED, &r);
	assert_msg(m, fz_recv(f, m, sizeof(m)), complete4_8_2, sizeof(complete4_8_2));
	assert_msg(m, fz_recv(f, m, sizeof(m)), complete6_8_2, sizeof(complete6_8_2));
}

static void test_graceful_restart(void **state)
{
	struct fz *f = fz_open_gr(8, 30);
	struct zroute r = route_v6_host();
	uint8_t m[256];

	assert_int_equal(zapi_route_set(f->z, &r), 0);
	fz_connect(f);
	gr_session(f);
	assert_int_equal(zapi_stats(f->z)->update_complete, 1);
	/* zebra goes and comes back: the same again */
	close(f->peer);
	f->peer = -1;
	assert_true(wait_for(f, is_down));
	fz_connect(f);
	gr_session(f);
	assert_int_equal(zapi_stats(f->z)->update_complete, 2);
	/* the routes stay in zebra: nothing is sent at close */
	zapi_close(f->z, false);
	fz_end(f); /* the dump's end is passed over */

	/* a flushing stop: GR off first, then the deletes */
	f = fz_open_gr(8, 30);
	assert_int_equal(zapi_route_set(f->z, &r), 0);
	fz_connect(f);
	gr_session(f);
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF); /* the answer to the probe, early */
	zapi_close(f->z, true);
	f->z = NULL;
	assert_msg(m, fz_recv(f, m, sizeof(m)), gr_disable_8_2, sizeof(gr_disable_8_2));
	assert_msg(m, fz_recv(f, m, sizeof(m)), del_v6_8, sizeof(del_v6_8));
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	assert_int_equal(fz_recv(f, m, sizeof(m)), 0);
	close(f->peer);
	ev_loop_destroy(f->loop);
	free(f);
}

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* A GR stop without flush: zebra spares the routes created in the second
 * (CLOCK_MONOTONIC) of the close, so the close comes only once every route
 * was answered (a probe first if one was not) and that second is over. */
static void test_graceful_restart_close_wait(void **state)
{
	struct fz *f = fz_open_gr(8, 30);
	struct zroute r = route_v6_host(), r4 = route_v4_host();
	uint8_t m[256];
	time_t t0;

	assert_int_equal(zapi_route_set(f->z, &r), 0);
	fz_connect(f);
	t0 = mono_s();
	gr_session(f); /* zebra answers the route: INSTALLED */
	zapi_close(f->z, false);
	assert_true(mono_s() > t0);
	fz_end(f); /* nothing sent */

	/* a route not answered yet: a probe, its answer, then the second over */
	f = fz_open_gr(8, 30);
	assert_int_equal(zapi_route_set(f->z, &r), 0);
	fz_connect(f);
	gr_session(f);
	assert_int_equal(zapi_route_set(f->z, &r4), 0);
	assert_msg(m, fz_recv(f, m, sizeof(m)), add_v4_8, sizeof(add_v4_8));
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF); /* the answer to the probe, early */
	t0 = mono_s();
	zapi_close(f->z, false);
	assert_true(mono_s() > t0);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	fz_end(f);
}

/* GR against a 10.2 zebra (auto): the GR messages carry 10.2's number, 121. */
static void test_graceful_restart_10_2(void **state)
{
	struct fz *f = fz_open_gr(0, 4095);
	uint8_t m[256];

	fz_connect(f);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff); /* auto: the probe alone */
	fz_send_error(f, 120, ZAPI_ERR_NO_VRF);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 19);
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), notify_req_10_2, sizeof(notify_req_10_2));
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), gr_4095_10_2, sizeof(gr_4095_10_2));
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 12);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	assert_int_equal(zapi_stats(f->z)->update_complete, 0); /* not before the dump's end */
	fz_send_error(f, 120, ZAPI_ERR_NO_VRF);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 13);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 13);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 121); /* UPDATE_COMPLETE IPv4 */
	assert_int_equal(ila_get_be32(m + 10), ZAPI_CAP_UPDATE_COMPLETE);
	assert_int_equal(ila_get_be32(m + 14), 1);
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), complete6_10_2, sizeof(complete6_10_2));
	assert_int_equal(zapi_stats(f->z)->version, ZAPI_PROFILE_10_2);
	fz_close(f, false);
}

/* The adopt callback: takes the IPv4 host route via ifindex 7 only. */
static int adopt_calls;
static struct zroute adopt_seen[4];

static bool adopt_v4(void *arg, const struct zroute *r)
{
	struct zapi *z = arg;

	if (adopt_calls < 4)
		adopt_seen[adopt_calls] = *r;
	adopt_calls++;
	if (r->family != AF_INET || r->nh != ZNH_IFINDEX || r->ifindex != 7)
		return false;
	return zapi_route_set(z, r) == 0;
}

/* Routes zebra holds of our type at a connection go to the adopt callback
 * with their interface: the one taken stays (added again, not deleted),
 * the others are deleted; update-complete follows. */
static void test_adopt_from_dump(void **state)
{
	struct fz *f = fz_open_gr(8, 30);
	uint8_t m[256];

	adopt_calls = 0;
	zapi_set_adopt(f->z, adopt_v4, f->z);
	fz_connect(f);
	assert_msg(m, fz_recv_raw(f, m, sizeof(m)), hello_8, sizeof(hello_8));
	fz_send_caps(f, 19);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	assert_true(wait_for(f, is_up));
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 119); /* GR */
	reconcile_8(f, 118, false);
	fz_send_redist_dev(f, AF_INET, "198.51.100.9", 32, 7);          /* adopted */
	fz_send_redist_dev(f, AF_INET6, "2001:db8::9", 128, 7);         /* refused */
	fz_send_redist(f, BABEL_8, 0, AF_INET6, "2001:db8:20::", 64);   /* a blackhole */
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	/* the adopted route is sent again (ROUTE_ADD, ifindex 7), the others deleted */
	assert_int_equal(fz_recv(f, m, sizeof(m)), 44);
	assert_int_equal(ila_get_be16(m + 8), 8);
	assert_int_equal(m[34], 1);
	assert_int_equal(ila_get_be32(m + 36), 7);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 9);
	assert_int_equal(m[23], 128);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 9);
	assert_int_equal(m[23], 64);
	{
		struct zroute a = { .family = AF_INET, .plen = 32 };

		v4(&a.prefix.v4, "198.51.100.9");
		fz_send_notify(f, 10, ZAPI_NOTE_INSTALLED, &a);
	}
	assert_msg(m, fz_recv(f, m, sizeof(m)), complete4_8_2, sizeof(complete4_8_2));
	assert_msg(m, fz_recv(f, m, sizeof(m)), complete6_8_2, sizeof(complete6_8_2));
	assert_int_equal(adopt_calls, 3);
	assert_int_equal(adopt_seen[1].nh, ZNH_IFINDEX);
	assert_int_equal(adopt_seen[1].ifindex, 7);
	assert_int_equal(adopt_seen[2].nh, ZNH_BLACKHOLE);
	assert_int_equal(zapi_stats(f->z)->adopted, 1);
	assert_int_equal(zapi_stats(f->z)->stale, 2);
	assert_int_equal(zapi_stats(f->z)->dumps, 1);
	assert_int_equal(zapi_route_count(f->z), 1);
	fz_close(f, false);
}

static void test_garbage_counted(void **state)
{
	struct fz *f = fz_open(8);
	static const uint8_t garbage[] = "GET / HTTP/1.0\r\n\r\n";
	struct zroute r = route_v6_host();
	uint8_t m[256], shortbody[5] = { 2, 0, 0, 0, 10 };

	fz_connect(f);
	handshake_8(f, 118);
	/* a body too short for its command: counted, the stream is intact */
	fz_send(f, 10, shortbody, sizeof(shortbody));
	fz_send(f, 118, shortbody, 3);
	assert_int_equal(zapi_route_set(f->z, &r), 0);
	assert_msg(m, fz_recv(f, m, sizeof(m)), add_v6_8, sizeof(add_v6_8));
	assert_int_equal(zapi_stats(f->z)->malformed, 2);
	assert_true(zapi_stats(f->z)->up);

	/* a bad marker: the framing is lost, the client hangs up */
	fz_send_raw(f, garbage, sizeof(garbage));
	assert_int_equal(fz_recv(f, m, sizeof(m)), 0);
	assert_int_equal(zapi_stats(f->z)->malformed, 3);
	assert_false(zapi_stats(f->z)->up);

	/* a length beyond 16384 */
	fz_connect(f);
	handshake_8(f, 118);
	assert_msg(m, fz_recv(f, m, sizeof(m)), add_v6_8, sizeof(add_v6_8));
	m[0] = 0x40;
	m[1] = 0x01;
	m[2] = 0xfe;
	m[3] = 6;
	fz_send_raw(f, m, 10);
	assert_int_equal(fz_recv(f, m, sizeof(m)), 0);
	assert_int_equal(zapi_stats(f->z)->malformed, 4);

	/* and it still works */
	fz_connect(f);
	handshake_8(f, 118);
	assert_msg(m, fz_recv(f, m, sizeof(m)), add_v6_8, sizeof(add_v6_8));
	assert_int_equal(f->ups, 3);
	assert_int_equal(f->downs, 2);
	fz_close(f, false);
}

static void test_truncated_counted(void **state)
{
	struct fz *f = fz_open(8);

	fz_connect(f);
	handshake_8(f, 118);
	/* half a message, then zebra dies */
	fz_send_raw(f, hello_8, 7);
	for (int i = 0; i < 20; i++) {
		pump(f);
		poll(NULL, 0, 1);
	}
	assert_true(zapi_stats(f->z)->up); /* waiting for the rest */
	close(f->peer);
	f->peer = -1;
	assert_true(wait_for(f, is_down));
	assert_int_equal(zapi_stats(f->z)->malformed, 1);
	assert_non_null(strstr(zapi_last_error(f->z), "within a message"));
	fz_connect(f);
	handshake_8(f, 118);
	assert_int_equal(f->ups, 2);
	fz_close(f, false);
}

/* Two notifications, by hand: IPv6 /128 INSTALLED, IPv4 /32 FAIL_INSTALL. */
static size_t two_notifies(uint8_t *frames, const struct zroute *a, const struct zroute *b)
{
	size_t at = 38;

	ila_put_be16(frames, 38);
	frames[2] = 0xfe;
	frames[3] = 6;
	ila_put_be32(frames + 4, 0);
	ila_put_be16(frames + 8, 10);
	put_host32(frames + 10, ZAPI_NOTE_INSTALLED);
	frames[14] = AF_INET6;
	frames[15] = 128;
	memcpy(frames + 16, &a->prefix.v6, 16);
	ila_put_be32(frames + 32, 254);
	frames[36] = 2;
	frames[37] = 1;
	ila_put_be16(frames + at, 26);
	frames[at + 2] = 0xfe;
	frames[at + 3] = 6;
	ila_put_be32(frames + at + 4, 0);
	ila_put_be16(frames + at + 8, 10);
	put_host32(frames + at + 10, ZAPI_NOTE_FAIL_INSTALL);
	frames[at + 14] = AF_INET;
	frames[at + 15] = 32;
	memcpy(frames + at + 16, &b->prefix.v4, 4);
	ila_put_be32(frames + at + 20, 254);
	frames[at + 24] = 1;
	frames[at + 25] = 1;
	return at + 26;
}

static void assert_two_states(struct fz *f)
{
	struct seen s = { 0 };

	zapi_routes(f->z, collect, &s);
	assert_int_equal(s.n, 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(s.st[i], s.r[i].family == AF_INET6 ? ZR_INSTALLED : ZR_FAILED);
}

/* Frames split at every byte, several in one read, split across reads. */
static void test_reassembly(void **state)
{
	struct fz *f = fz_open(8);
	struct zroute a = route_v6_host(), b = route_v4_host();
	uint8_t m[256], frames[64];
	size_t n;

	fz_connect(f);
	handshake_8(f, 118);
	assert_int_equal(zapi_route_set(f->z, &a), 0);
	assert_int_equal(zapi_route_set(f->z, &b), 0);
	assert_true(fz_recv(f, m, sizeof(m)) > 0);
	assert_true(fz_recv(f, m, sizeof(m)) > 0);
	n = two_notifies(frames, &a, &b);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(zapi_input(f->z, frames + i, 1), 0);
	assert_int_equal(zapi_stats(f->z)->notifications, 2);
	assert_two_states(f);
	assert_int_equal(zapi_input(f->z, frames, n), 0);
	assert_int_equal(zapi_stats(f->z)->notifications, 4);

	/* through the socket: 13 bytes (the first header and then some),
	 * the rest after the client has read them */
	fz_send_raw(f, frames, 13);
	for (int i = 0; i < 20; i++) {
		pump(f);
		poll(NULL, 0, 1);
	}
	assert_int_equal(zapi_stats(f->z)->notifications, 4);
	fz_send_raw(f, frames + 13, n - 13);
	for (int i = 0; i < WAIT_MS && zapi_stats(f->z)->notifications < 6; i++) {
		pump(f);
		poll(NULL, 0, 1);
	}
	assert_int_equal(zapi_stats(f->z)->notifications, 6);
	assert_int_equal(zapi_stats(f->z)->installed, 3);
	assert_int_equal(zapi_stats(f->z)->failed, 3);
	assert_int_equal(zapi_stats(f->z)->malformed, 0);
	assert_two_states(f);
	fz_close(f, false);
}

static void test_set_unset_close(void **state)
{
	struct fz *f = fz_open(8);
	struct zroute a = route_v6_host(), b = route_v4_host(), bad = route_v6_host();
	uint8_t m[256];
	struct in6_addr p6;
	uint64_t sent;

	bad.ifindex = 0; /* IPV6_IFINDEX needs one */
	assert_int_equal(zapi_route_set(f->z, &bad), -EINVAL);
	bad = a;
	bad.plen = 129;
	assert_int_equal(zapi_route_set(f->z, &bad), -EINVAL);

	fz_connect(f);
	handshake_8(f, 118);
	assert_int_equal(zapi_route_set(f->z, &a), 0);
	assert_int_equal(zapi_route_set(f->z, &b), 0);
	fz_recv(f, m, sizeof(m));
	fz_recv(f, m, sizeof(m));
	sent = zapi_stats(f->z)->sent;
	assert_int_equal(zapi_route_set(f->z, &a), 0); /* equal: nothing sent */
	assert_int_equal(zapi_stats(f->z)->sent, sent);
	assert_int_equal(zapi_route_count(f->z), 2);

	v6(&p6, "2001:db8::42");
	assert_int_equal(zapi_route_unset(f->z, AF_INET6, &p6, 128), 0);
	assert_msg(m, fz_recv(f, m, sizeof(m)), del_v6_8, sizeof(del_v6_8));
	assert_int_equal(zapi_route_unset(f->z, AF_INET6, &p6, 128), -ENOENT);
	assert_int_equal(zapi_route_count(f->z), 1);

	/* closing with withdraw_all disables GR, then deletes what is left,
	 * then waits for the answer to a probe (sent early here) */
	fz_send_error(f, 118, ZAPI_ERR_NO_VRF);
	zapi_close(f->z, true);
	f->z = NULL;
	assert_msg(m, fz_recv(f, m, sizeof(m)), gr_disable_8_2, sizeof(gr_disable_8_2));
	assert_int_equal(fz_recv(f, m, sizeof(m)), 28);
	assert_int_equal(ila_get_be16(m + 8), 9);
	assert_memory_equal(m + 24, &b.prefix.v4, 4);
	assert_int_equal(fz_recv_cmd(f, m, sizeof(m)), 0xffff);
	assert_int_equal(fz_recv(f, m, sizeof(m)), 0);
	close(f->peer);
	ev_loop_destroy(f->loop);
	free(f);
}

static void test_open_bad_conf(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct zapi_conf c = { .socket = NOSOCK, .version = 7 };
	struct zapi *z = (struct zapi *)&c;
	char err[128] = "";

	assert_int_equal(zapi_open(&z, loop, &c, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_null(z);
	assert_non_null(strstr(err, "version"));
	c.version = 0;
	c.route_type_name = ILA_CONF_ZRT_NUMBER;
	c.route_type_num = 4; /* RIP before 10.0, STATIC from 10.0: the HELLO decides */
	assert_int_equal(zapi_open(&z, loop, &c, NULL, NULL, err, sizeof(err)), 0);
	zapi_close(z, false);
	c.route_type_num = 3; /* STATIC, then LOCAL: never */
	assert_int_equal(zapi_open(&z, loop, &c, NULL, NULL, err, sizeof(err)), -EINVAL);
	c.route_type_num = 2; /* CONNECT */
	assert_int_equal(zapi_open(&z, loop, &c, NULL, NULL, err, sizeof(err)), -EINVAL);
	c.route_type_num = 26;
	c.socket = "";
	assert_int_equal(zapi_open(&z, loop, &c, NULL, NULL, err, sizeof(err)), -EINVAL);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_parse),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_route_add_v6_ifindex),
		cmocka_unit_test(test_route_add_v4),
		cmocka_unit_test(test_route_add_tag),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_route_add_blackhole),
		cmocka_unit_test(test_route_delete),
		cmocka_unit_test(test_notify_request),
		cmocka_unit_test(test_redistribute),
		cmocka_unit_test(test_parse_route_head),
		cmocka_unit_test(test_parse_notify),
		cmocka_unit_test(test_parse_notify_src),
		cmocka_unit_test(test_parse_notify_bad),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_route_types),
		cmocka_unit_test(test_open_bad_conf),
		cmocka_unit_test(test_fake_zebra_8),
		cmocka_unit_test(test_fake_zebra_9_1),
		cmocka_unit_test(test_fake_zebra_auto_10),
		cmocka_unit_test(test_fake_zebra_auto_118),
		cmocka_unit_test(test_client_tag),
		cmocka_unit_test(test_version_mismatch),
		cmocka_unit_test(test_reconnect_replay),
		cmocka_unit_test(test_reconcile_stale),
		cmocka_unit_test(test_garbage_counted),
		cmocka_unit_test(test_truncated_counted),
		cmocka_unit_test(test_reassembly),
		cmocka_unit_test(test_set_unset_close),
		cmocka_unit_test(test_client_caps),
		cmocka_unit_test(test_graceful_restart),
		cmocka_unit_test(test_graceful_restart_close_wait),
		cmocka_unit_test(test_graceful_restart_10_2),
		cmocka_unit_test(test_adopt_from_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
