/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the receive side of the zebra API client: everything
 * zebra may send, through the real client (profile probe, frame
 * reassembly, notifications, errors, unknown commands, broken framing).
 *
 * Input: byte 0 picks the configured version (bits 0-1: auto, 8, 9, 10)
 * and whether the client withdraws its routes on close (bit 2); byte 1 the
 * size of the chunks the rest is fed in (1 to 64 bytes, 0: all at once);
 * the rest is the byte stream from zebra. The client holds three routes
 * whose notifications the seeds carry.
 *
 * Oracles: the counters stay consistent, a client that is not up holds
 * every route as pending, and a ROUTE_NOTIFY_OWNER body that parses is
 * rebuilt from the parsed fields to the very same bytes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "routing/zapi.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz_zapi: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                     \
		}                                                                    \
	} while (0)

static const int versions[4] = { 0, 8, 9, 10 };

static void add_routes(struct zapi *z)
{
	struct zroute r;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::42", &r.prefix.v6);
	r.plen = 128;
	r.nh = ZNH_IPV6_IFINDEX;
	inet_pton(AF_INET6, "fe80::1", &r.gate.v6);
	r.ifindex = 3;
	CHECK(zapi_route_set(z, &r) == 0);

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	inet_pton(AF_INET, "198.51.100.7", &r.prefix.v4);
	r.plen = 32;
	r.nh = ZNH_IFINDEX;
	r.ifindex = 4;
	CHECK(zapi_route_set(z, &r) == 0);

	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::", &r.prefix.v6);
	r.plen = 64;
	r.nh = ZNH_BLACKHOLE;
	CHECK(zapi_route_set(z, &r) == 0);
}

static void pending_only(void *arg, const struct zroute *r, enum zroute_state st)
{
	CHECK(st == ZR_PENDING);
	(*(int *)arg)++;
}

static void count(void *arg, const struct zroute *r, enum zroute_state st)
{
	CHECK(st <= ZR_BETTER_ADMIN_WON);
	(*(int *)arg)++;
}

/* The parsed notification, written back in zebra's layout. */
static void notify_oracle(const uint8_t *body, size_t n)
{
	struct zapi_notify nt;
	uint8_t b[64];
	size_t alen, at = 0;

	if (zapi_parse_notify(body, n, &nt) < 0)
		return;
	alen = nt.family == AF_INET6 ? 16 : 4;
	CHECK(nt.family == AF_INET6 || nt.family == AF_INET);
	CHECK(nt.plen <= alen * 8);
	memcpy(b, &nt.note, 4);
	at = 4;
	b[at++] = (uint8_t)nt.family;
	b[at++] = nt.plen;
	memcpy(b + at, &nt.prefix, alen);
	at += alen;
	if (nt.has_src) {
		b[at++] = nt.src_plen;
		memcpy(b + at, &nt.src, alen);
		at += alen;
	}
	ila_put_be32(b + at, nt.table_id);
	at += 4;
	b[at++] = nt.afi;
	b[at++] = nt.safi;
	CHECK(at == n);
	CHECK(memcmp(b, body, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_loop *loop;
	struct zapi_conf c = {
		.socket = "/nonexistent/zserv.api",
		.route_type_name = ILA_CONF_ZRT_BABEL,
	};
	const struct zapi_stats *st;
	struct zapi_hdr h;
	struct zapi *z;
	char err[128];
	bool withdraw;
	size_t chunk;
	uint32_t code;
	int sv[2], n = 0;

	if (size < 2)
		return 0;
	withdraw = (data[0] & 4) != 0;
	if (!loop)
		loop = ev_loop_new(EVFLAG_AUTO);
	CHECK(loop);
	c.version = versions[data[0] & 3];
	chunk = data[1] % 65;

	/* the codec alone, on the whole stream */
	if (zapi_parse_header(data + 2, size - 2, &h) == 0)
		CHECK(h.length >= ZAPI_HEADER_SIZE && h.length <= ZAPI_MAX_PACKET);
	notify_oracle(data + 2, size - 2);
	if (zapi_parse_error(data + 2, size - 2, &code) == 0)
		CHECK(size - 2 == 4);

	CHECK(zapi_open(&z, loop, &c, NULL, NULL, err, sizeof(err)) == 0);
	add_routes(z);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(zapi_adopt_fd(z, sv[0]) == 0);

	data += 2;
	size -= 2;
	while (size) {
		size_t k = chunk && chunk < size ? chunk : size;

		if (zapi_input(z, data, k) < 0)
			break; /* the client hung up, as it must on broken framing */
		data += k;
		size -= k;
	}

	st = zapi_stats(z);
	CHECK(st->installed + st->failed <= st->notifications);
	CHECK(st->connects == 1 && st->disconnects <= 1);
	CHECK(st->up == (st->disconnects == 0 && st->version != 0));
	CHECK(st->version == 0 || zapi_profile_cmds(st->version));
	if (st->up)
		zapi_routes(z, count, &n);
	else
		zapi_routes(z, pending_only, &n);
	CHECK(n == 3 && zapi_route_count(z) == 3);
	zapi_close(z, withdraw);
	close(sv[1]);
	return 0;
}
