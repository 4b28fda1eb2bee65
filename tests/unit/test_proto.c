/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The protocol codec (doc/protocol.md): a round trip and malformed input for
 * every message, every decoder error code from hand-built bytes, the
 * extensibility rules, the limits, truncation at every offset, and frames
 * written out by hand from the spec.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Helpers */

static struct ila_locator loc_of(uint64_t v)
{
	struct ila_locator l;

	ila_put_be64(l.b, v);
	return l;
}

static void set_addr6(struct ila_record *r, const char *s)
{
	r->family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, s, &r->addr6), 1);
}

static void set_addr4(struct ila_record *r, const char *s)
{
	r->family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, s, &r->addr4), 1);
}

/* A record with every field a PUSH can carry, varied by i. */
static void full_record(struct ila_record *r, unsigned int i, uint32_t vn)
{
	char a[64];

	memset(r, 0, sizeof(*r));
	if (i % 3 == 2) {
		snprintf(a, sizeof(a), "10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
		set_addr4(r, a);
	} else {
		snprintf(a, sizeof(a), "2001:db8:%x::%x", vn & 0xffff, i + 1);
		set_addr6(r, a);
	}
	r->vn = vn;
	r->loc = loc_of(0xa00000000ull + i);
	r->seq = 1000000007ull * (i + 1);
	r->lifetime = 300 + i;
	r->state = ILA_STATE_UP;
}

static void assert_record_equal(const struct ila_record *a, const struct ila_record *b)
{
	assert_int_equal(a->family, b->family);
	if (a->family == AF_INET6)
		assert_memory_equal(&a->addr6, &b->addr6, 16);
	else
		assert_memory_equal(&a->addr4, &b->addr4, 4);
	assert_int_equal(a->vn, b->vn);
	assert_memory_equal(a->loc.b, b->loc.b, 8);
	assert_int_equal(a->has_standby, b->has_standby);
	if (a->has_standby)
		assert_memory_equal(a->standby.b, b->standby.b, 8);
	assert_int_equal(a->has_prev, b->has_prev);
	if (a->has_prev)
		assert_memory_equal(a->prev.b, b->prev.b, 8);
	assert_true(a->seq == b->seq);
	assert_int_equal(a->lifetime, b->lifetime);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->flags, b->flags);
	assert_string_equal(a->node, b->node);
}

/* Encodes m into an exactly sized heap buffer (so ASan sees any overrun of
 * the decoder) and decodes it into out. */
static void roundtrip(const struct ila_msg *m, struct ila_msg *out, size_t *flen)
{
	size_t need = ila_msg_encoded_len(m), len = 0;
	uint8_t *buf;

	assert_true(need >= ILA_PROTO_HDR_LEN);
	buf = malloc(need);
	assert_non_null(buf);
	assert_int_equal(ila_msg_encode(m, buf, need, &len), 0);
	assert_int_equal(len, need);
	assert_int_equal(ila_get_be32(buf + 4), len);
	assert_int_equal(ila_msg_decode(buf, len, out), 0);
	free(buf);
	assert_int_equal(out->type, m->type);
	assert_int_equal(out->flags, m->flags);
	assert_int_equal(out->xid, m->xid);
	if (flen)
		*flen = len;
}

/* A tiny frame builder that does not use the encoder. */
struct bb {
	uint8_t b[8192];
	size_t n;
	size_t rec; /* start of an open RECORD, or 0 */
};

static void bb_bytes(struct bb *f, const void *p, size_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void bb_hdr(struct bb *f, uint8_t type, uint32_t xid)
{
	uint8_t h[12] = {1, type, 0, 0, 0, 0, 0, 0};

	ila_put_be32(h + 8, xid);
	f->n = 0;
	f->rec = 0;
	bb_bytes(f, h, sizeof(h));
}

static void bb_tlv(struct bb *f, uint16_t type, const void *val, size_t n)
{
	uint8_t h[4];

	ila_put_be16(h, type);
	ila_put_be16(h + 2, (uint16_t)n);
	bb_bytes(f, h, 4);
	if (n)
		bb_bytes(f, val, n);
}

static void bb_u8(struct bb *f, uint16_t type, uint8_t v)
{
	bb_tlv(f, type, &v, 1);
}

static void bb_u16(struct bb *f, uint16_t type, uint16_t v)
{
	uint8_t b[2];

	ila_put_be16(b, v);
	bb_tlv(f, type, b, 2);
}

static void bb_u32(struct bb *f, uint16_t type, uint32_t v)
{
	uint8_t b[4];

	ila_put_be32(b, v);
	bb_tlv(f, type, b, 4);
}

static void bb_u64(struct bb *f, uint16_t type, uint64_t v)
{
	uint8_t b[8];

	ila_put_be64(b, v);
	bb_tlv(f, type, b, 8);
}

static void bb_str(struct bb *f, uint16_t type, const char *s)
{
	bb_tlv(f, type, s, strlen(s));
}

static void bb_rec_begin(struct bb *f)
{
	f->rec = f->n;
	bb_tlv(f, ILA_TLV_RECORD, NULL, 0);
}

static void bb_rec_end(struct bb *f)
{
	ila_put_be16(f->b + f->rec + 2, (uint16_t)(f->n - f->rec - 4));
	f->rec = 0;
}

/* Record fields for a REGISTER: address, vn, locator, seq, lifetime. */
static void bb_reg_fields(struct bb *f, uint8_t last)
{
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
	uint8_t loc[8] = {0, 0, 0, 0, 0, 0, 0, 0x0a};

	bb_tlv(f, ILA_TLV_ADDR6, a6, 16);
	bb_u32(f, ILA_TLV_VN, 1);
	bb_tlv(f, ILA_TLV_LOCATOR, loc, 8);
	bb_u64(f, ILA_TLV_SEQ, 5);
	bb_u32(f, ILA_TLV_LIFETIME, 300);
}

static size_t bb_end(struct bb *f)
{
	ila_put_be32(f->b + 4, (uint32_t)f->n);
	return f->n;
}

/* Decodes the built frame from an exactly sized copy. */
static int bb_decode(struct bb *f, struct ila_msg *m)
{
	size_t n = bb_end(f);
	uint8_t *copy = malloc(n);
	int rc;

	assert_non_null(copy);
	memcpy(copy, f->b, n);
	rc = ila_msg_decode(copy, n, m);
	free(copy);
	return rc;
}

/* Decoding must fail with code, leave nothing allocated, keep the header. */
static void expect_err(struct bb *f, int code)
{
	struct ila_msg m;
	int rc = bb_decode(f, &m);

	if (rc != -code)
		fail_msg("expected %s, got %d (%s)", ila_proto_err_name(code), rc,
			 ila_proto_err_name(rc));
	assert_null(m.rec);
	assert_int_equal(m.nrec, 0);
	if (code != ILA_PERR_SHORT_HEADER && code != ILA_PERR_BAD_VERSION) {
		assert_int_equal(m.type, f->b[1]);
		assert_int_equal(m.xid, ila_get_be32(f->b + 8));
	}
}

static void bb_open_ok(struct bb *f)
{
	bb_hdr(f, ILA_MSG_OPEN, 1);
	bb_str(f, ILA_TLV_NODE_NAME, "node-7");
	bb_u32(f, ILA_TLV_CAPS, 3);
	bb_u32(f, ILA_TLV_KEEPALIVE_MS, 1000);
	bb_u32(f, ILA_TLV_DEAD_MS, 3000);
	bb_u8(f, ILA_TLV_ROLE, ILA_ROLE_NODE);
}

/* ------------------------------------------------------------------ */
/* Round trips, one per message type */

static void test_roundtrip_open(void **state)
{
	struct ila_msg m = {.type = ILA_MSG_OPEN, .xid = 0x11223344, .flags = 0x0003};
	struct ila_msg d;

	strcpy(m.open.node, "host-\xc3\xa9t\xc3\xa9-42"); /* UTF-8 is fine */
	strcpy(m.open.sw_version, "ila 0.1.0");
	m.open.caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY | 0x80000000u;
	m.open.keepalive_ms = 10000;
	m.open.dead_ms = 30000;
	m.open.role = ILA_ROLE_NODE;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.flags, 0x0003); /* advisory bits are carried */
	assert_string_equal(d.open.node, "host-\xc3\xa9t\xc3\xa9-42");
	assert_string_equal(d.open.sw_version, "ila 0.1.0");
	assert_int_equal(d.open.caps, 0x80000003u);
	assert_int_equal(d.open.keepalive_ms, 10000);
	assert_int_equal(d.open.dead_ms, 30000);
	assert_int_equal(d.open.role, ILA_ROLE_NODE);
	assert_null(d.rec);
	ila_msg_free(&d);

	/* without the optional version, as the mapper */
	m.open.sw_version[0] = '\0';
	m.open.role = ILA_ROLE_MAPPER;
	roundtrip(&m, &d, NULL);
	assert_string_equal(d.open.sw_version, "");
	assert_int_equal(d.open.role, ILA_ROLE_MAPPER);
	ila_msg_free(&d);
}

static void test_roundtrip_keepalive(void **state)
{
	struct ila_msg m = {.type = ILA_MSG_KEEPALIVE, .xid = 0};
	struct ila_msg d;
	size_t len;

	roundtrip(&m, &d, &len);
	assert_int_equal(len, ILA_PROTO_HDR_LEN);
	assert_int_equal(d.type, ILA_MSG_KEEPALIVE);
	assert_int_equal(d.nrec, 0);
	ila_msg_free(&d);
}

static void test_roundtrip_register(void **state)
{
	struct ila_record r[3];
	struct ila_msg m = {.type = ILA_MSG_REGISTER, .xid = 77, .rec = r, .nrec = 3};
	struct ila_msg d;

	for (unsigned int i = 0; i < 3; i++)
		full_record(&r[i], i, 5);
	r[1].has_standby = true;
	r[1].standby = loc_of(0xb00000001ull);
	r[1].flags = ILA_REC_F_STANDBY_REG;
	r[0].seq = UINT64_MAX;
	r[0].lifetime = UINT32_MAX;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.nrec, 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_record_equal(&d.rec[i], &r[i]);
	assert_int_equal(d.rec[2].family, AF_INET);
	assert_true(d.rec[1].has_standby);
	assert_true(d.rec[0].seq == UINT64_MAX);
	assert_int_equal(d.rec[0].state, ILA_STATE_UP);
	ila_msg_free(&d);
}

static void test_roundtrip_deregister(void **state)
{
	struct ila_record r[2];
	struct ila_msg m = {.type = ILA_MSG_DEREGISTER, .xid = 78, .rec = r, .nrec = 2};
	struct ila_msg d;

	memset(r, 0, sizeof(r));
	set_addr6(&r[0], "2001:db8:1::42");
	r[0].vn = 1;
	r[0].seq = 9;
	r[0].state = ILA_STATE_DOWN;
	set_addr4(&r[1], "10.1.2.3");
	r[1].vn = 2;
	r[1].seq = 10;
	r[1].state = ILA_STATE_REMOVED;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.nrec, 2);
	assert_record_equal(&d.rec[0], &r[0]);
	assert_record_equal(&d.rec[1], &r[1]);
	assert_int_equal(d.rec[1].state, ILA_STATE_REMOVED);
	ila_msg_free(&d);
}

static void test_roundtrip_query(void **state)
{
	struct ila_record r[3];
	struct ila_msg m = {.type = ILA_MSG_QUERY, .xid = 5, .rec = r, .nrec = 3};
	struct ila_msg d;

	memset(r, 0, sizeof(r));
	set_addr6(&r[0], "2001:db8:1::1");
	set_addr4(&r[1], "192.0.2.9");
	set_addr6(&r[2], "2001:db8:1::2");
	m.sub.vn = 0xfffffffe;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.sub.vn, 0xfffffffe);
	assert_int_equal(d.nrec, 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(d.rec[i].family, r[i].family);
		assert_memory_equal(&d.rec[i].addr6, &r[i].addr6, 16);
		assert_memory_equal(&d.rec[i].addr4, &r[i].addr4, 4);
		assert_int_equal(d.rec[i].vn, 0xfffffffe); /* copied from the query */
	}
	ila_msg_free(&d);
}

/* QUERY flags (WATCH, RELEASE): a MSG_FLAGS TLV after VN, absent when 0. */
static void test_roundtrip_query_flags(void **state)
{
	struct ila_record r;
	struct ila_msg m = {.type = ILA_MSG_QUERY, .xid = 6, .rec = &r, .nrec = 1};
	struct ila_msg d;
	uint8_t buf[128];
	size_t len = 0, plain;

	(void)state;
	memset(&r, 0, sizeof(r));
	set_addr6(&r, "2001:db8:1::1");
	m.sub.vn = 7;
	assert_int_equal(ila_msg_encode(&m, buf, sizeof(buf), &plain), 0);
	m.sub.flags = ILA_QUERY_F_WATCH | ILA_QUERY_F_RELEASE;
	roundtrip(&m, &d, &len);
	assert_int_equal(d.sub.flags, ILA_QUERY_F_WATCH | ILA_QUERY_F_RELEASE);
	assert_int_equal(d.nrec, 1);
	ila_msg_free(&d);
	assert_int_equal(len, plain + 8);
	assert_int_equal(ila_msg_encode(&m, buf, sizeof(buf), &len), 0);
	/* header 12, VN 8, then MSG_FLAGS */
	assert_int_equal(ila_get_be16(buf + 20), ILA_TLV_MSG_FLAGS);
	assert_int_equal(ila_get_be16(buf + 22), 4);
	assert_int_equal(ila_get_be32(buf + 24), 3);
	/* unknown bits are carried */
	m.sub.flags = 0x80000001u;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.sub.flags, 0x80000001u);
	ila_msg_free(&d);
}

static void test_roundtrip_reply(void **state)
{
	struct ila_record r[2];
	struct ila_msg m = {.type = ILA_MSG_REPLY, .xid = 5, .rec = r, .nrec = 2};
	struct ila_msg d;

	full_record(&r[0], 0, 3);
	full_record(&r[1], 2, 3);
	r[0].state = ILA_STATE_FROZEN;
	strcpy(r[0].node, "node-a");
	r[1].state = ILA_STATE_DOWN;
	r[1].has_standby = true;
	r[1].standby = loc_of(0xc0);
	r[1].flags = ILA_REC_F_PROMOTED | ILA_REC_F_ANYCAST;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.nrec, 2);
	assert_record_equal(&d.rec[0], &r[0]);
	assert_record_equal(&d.rec[1], &r[1]);
	assert_string_equal(d.rec[0].node, "node-a");
	ila_msg_free(&d);

	/* a tombstone: state removed with the number a registration must beat */
	r[1].state = ILA_STATE_REMOVED;
	r[1].seq = 100;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.nrec, 2);
	assert_int_equal(d.rec[1].state, ILA_STATE_REMOVED);
	assert_int_equal(d.rec[1].seq, 100);
	ila_msg_free(&d);

	/* no mapping for any queried address: an empty reply */
	m.nrec = 0;
	m.rec = NULL;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.nrec, 0);
	assert_null(d.rec);
	ila_msg_free(&d);
}

static void test_roundtrip_subscribe(void **state)
{
	struct ila_msg m = {.type = ILA_MSG_SUBSCRIBE, .xid = 0xffffffff};
	struct ila_msg d;

	m.sub.vn = 42;
	m.sub.resume_seq = 0x0102030405060708ull;
	m.sub.flags = ILA_SUB_F_NO_SNAPSHOT;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.sub.vn, 42);
	assert_true(d.sub.resume_seq == 0x0102030405060708ull);
	assert_int_equal(d.sub.flags, ILA_SUB_F_NO_SNAPSHOT);
	ila_msg_free(&d);
}

static void test_roundtrip_unsubscribe(void **state)
{
	struct ila_msg m = {.type = ILA_MSG_UNSUBSCRIBE, .xid = 3};
	struct ila_msg d;

	m.sub.vn = 7;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.sub.vn, 7);
	assert_true(d.sub.resume_seq == 0);
	assert_int_equal(d.sub.flags, 0);
	ila_msg_free(&d);
}

static void test_roundtrip_push(void **state)
{
	struct ila_record r[4];
	struct ila_msg m = {.type = ILA_MSG_PUSH, .xid = 0, .rec = r, .nrec = 4};
	struct ila_msg d;

	for (unsigned int i = 0; i < 4; i++)
		full_record(&r[i], i, 9);
	r[0].has_prev = true;
	r[0].prev = loc_of(0xdead);
	strcpy(r[0].node, "node-b");
	r[1].state = ILA_STATE_REMOVED;
	r[1].lifetime = 0;
	r[2].state = ILA_STATE_FROZEN;
	r[3].has_standby = true;
	r[3].standby = loc_of(0xbeef);
	m.push.vn = 9;
	m.push.flags = ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_DIRECTED;
	m.push.high_seq = 123456789012ull;
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.push.vn, 9);
	assert_int_equal(d.push.flags, ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_DIRECTED);
	assert_true(d.push.high_seq == 123456789012ull);
	assert_int_equal(d.nrec, 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_record_equal(&d.rec[i], &r[i]);
	ila_msg_free(&d);
}

static void test_roundtrip_ack(void **state)
{
	uint16_t st[4] = {0, ILA_PERR_STALE_SEQ, 0, ILA_PERR_FROZEN};
	struct ila_msg m = {.type = ILA_MSG_ACK, .xid = 77};
	struct ila_msg d;

	m.ack.has_count = true;
	m.ack.count = 2;
	m.ack.status = st;
	m.ack.nstatus = 4;
	roundtrip(&m, &d, NULL);
	assert_true(d.ack.has_count);
	assert_int_equal(d.ack.count, 2);
	assert_int_equal(d.ack.nstatus, 4);
	assert_memory_equal(d.ack.status, st, sizeof(st));
	ila_msg_free(&d);

	/* the plain form: just the xid */
	memset(&m.ack, 0, sizeof(m.ack));
	roundtrip(&m, &d, NULL);
	assert_false(d.ack.has_count);
	assert_int_equal(d.ack.nstatus, 0);
	assert_null(d.ack.status);
	ila_msg_free(&d);
}

static void test_roundtrip_error(void **state)
{
	struct ila_msg m = {.type = ILA_MSG_ERROR, .xid = 77};
	struct ila_msg d;

	m.error.code = ILA_PERR_ADDR_OUTSIDE_VN;
	strcpy(m.error.text, "2001:db8:9::1 is outside vn blue");
	m.error.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:9::1", &m.error.addr6), 1);
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.error.code, ILA_PERR_ADDR_OUTSIDE_VN);
	assert_string_equal(d.error.text, m.error.text);
	assert_int_equal(d.error.family, AF_INET6);
	assert_memory_equal(&d.error.addr6, &m.error.addr6, 16);
	ila_msg_free(&d);

	memset(&m.error, 0, sizeof(m.error));
	m.error.code = ILA_PERR_TLV_LENGTH;
	m.error.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &m.error.addr4), 1);
	roundtrip(&m, &d, NULL);
	assert_int_equal(d.error.code, ILA_PERR_TLV_LENGTH);
	assert_string_equal(d.error.text, "");
	assert_int_equal(d.error.family, AF_INET);
	assert_memory_equal(&d.error.addr4, &m.error.addr4, 4);
	ila_msg_free(&d);
}

/* ------------------------------------------------------------------ */
/* Malformed input, at least one per message type */

static void test_malformed_open(void **state)
{
	struct bb f;

	bb_open_ok(&f);
	struct ila_msg m;

	assert_int_equal(bb_decode(&f, &m), 0); /* the base is valid */
	ila_msg_free(&m);

	bb_hdr(&f, ILA_MSG_OPEN, 1);
	bb_str(&f, ILA_TLV_NODE_NAME, "");
	bb_u32(&f, ILA_TLV_CAPS, 3);
	bb_u32(&f, ILA_TLV_KEEPALIVE_MS, 1000);
	bb_u32(&f, ILA_TLV_DEAD_MS, 3000);
	bb_u8(&f, ILA_TLV_ROLE, ILA_ROLE_NODE);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* empty name */

	bb_open_ok(&f);
	f.n -= 5;
	bb_u8(&f, ILA_TLV_ROLE, 3);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* no such role */

	bb_open_ok(&f);
	f.n -= 5;
	expect_err(&f, ILA_PERR_TLV_MISSING); /* no role */

	bb_hdr(&f, ILA_MSG_OPEN, 1);
	bb_str(&f, ILA_TLV_NODE_NAME, "n");
	bb_u32(&f, ILA_TLV_CAPS, 3);
	bb_u32(&f, ILA_TLV_KEEPALIVE_MS, 3000);
	bb_u32(&f, ILA_TLV_DEAD_MS, 3000);
	bb_u8(&f, ILA_TLV_ROLE, ILA_ROLE_NODE);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* dead interval not above keepalive */

	bb_open_ok(&f);
	bb_str(&f, ILA_TLV_SW_VERSION, "bad\nversion");
	expect_err(&f, ILA_PERR_BAD_VALUE); /* control character */

	bb_open_ok(&f);
	bb_tlv(&f, ILA_TLV_SW_VERSION, "v\0", 2);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* NUL inside */

	char name[65];

	memset(name, 'x', 64);
	name[64] = '\0';
	bb_hdr(&f, ILA_MSG_OPEN, 1);
	bb_str(&f, ILA_TLV_NODE_NAME, name);
	expect_err(&f, ILA_PERR_TLV_LENGTH); /* 64-byte name */
}

static void test_malformed_keepalive(void **state)
{
	struct bb f;

	bb_hdr(&f, ILA_MSG_KEEPALIVE, 0);
	bb_u32(&f, ILA_TLV_VN, 1); /* known, but not part of a keepalive */
	expect_err(&f, ILA_PERR_TLV_UNKNOWN);

	bb_hdr(&f, ILA_MSG_KEEPALIVE, 0);
	bb_bytes(&f, "\x00\x01", 2); /* half a TLV header */
	expect_err(&f, ILA_PERR_TLV_TRUNCATED);
}

static void test_malformed_register(void **state)
{
	struct bb f;
	struct ila_msg m;

	bb_hdr(&f, ILA_MSG_REGISTER, 2);
	expect_err(&f, ILA_PERR_TLV_MISSING); /* no record */

	bb_hdr(&f, ILA_MSG_REGISTER, 2);
	bb_rec_begin(&f);
	bb_reg_fields(&f, 1);
	bb_rec_end(&f);
	assert_int_equal(bb_decode(&f, &m), 0);
	assert_int_equal(m.nrec, 1);
	assert_int_equal(m.rec[0].lifetime, 300);
	ila_msg_free(&m);

	bb_hdr(&f, ILA_MSG_REGISTER, 2);
	bb_rec_begin(&f);
	bb_reg_fields(&f, 1);
	bb_u8(&f, ILA_TLV_STATE, ILA_STATE_DOWN);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* a registration is up */

	bb_hdr(&f, ILA_MSG_REGISTER, 2);
	bb_rec_begin(&f);
	bb_reg_fields(&f, 1);
	f.n -= 8; /* replace the lifetime, the last field */
	bb_u32(&f, ILA_TLV_LIFETIME, 0);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* lifetime 0 */

	bb_hdr(&f, ILA_MSG_REGISTER, 2);
	bb_rec_begin(&f);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u64(&f, ILA_TLV_SEQ, 1);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_TLV_MISSING); /* no address, locator, lifetime */
}

static void test_malformed_deregister(void **state)
{
	struct bb f;
	uint8_t a4[4] = {10, 0, 0, 1};
	uint8_t loc[8] = {0};

	bb_hdr(&f, ILA_MSG_DEREGISTER, 3);
	bb_rec_begin(&f);
	bb_tlv(&f, ILA_TLV_ADDR4, a4, 4);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u64(&f, ILA_TLV_SEQ, 1);
	bb_u8(&f, ILA_TLV_STATE, ILA_STATE_UP);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* target must be down or removed */

	bb_hdr(&f, ILA_MSG_DEREGISTER, 3);
	bb_rec_begin(&f);
	bb_tlv(&f, ILA_TLV_ADDR4, a4, 4);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u64(&f, ILA_TLV_SEQ, 1);
	bb_u8(&f, ILA_TLV_STATE, ILA_STATE_REMOVED);
	bb_tlv(&f, ILA_TLV_LOCATOR, loc, 8);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_TLV_UNKNOWN); /* no locator in a deregistration */
}

static void test_malformed_query(void **state)
{
	struct bb f;
	uint8_t a4[5] = {10, 0, 0, 1, 0};

	bb_hdr(&f, ILA_MSG_QUERY, 4);
	bb_u32(&f, ILA_TLV_VN, 1);
	expect_err(&f, ILA_PERR_TLV_MISSING); /* no address */

	bb_hdr(&f, ILA_MSG_QUERY, 4);
	bb_u32(&f, ILA_TLV_VN, 0);
	bb_tlv(&f, ILA_TLV_ADDR4, a4, 4);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* vn 0 */

	bb_hdr(&f, ILA_MSG_QUERY, 4);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_tlv(&f, ILA_TLV_ADDR4, a4, 5);
	expect_err(&f, ILA_PERR_TLV_LENGTH);

	/* MSG_FLAGS: once, 4 bytes */
	bb_hdr(&f, ILA_MSG_QUERY, 4);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u32(&f, ILA_TLV_MSG_FLAGS, ILA_QUERY_F_WATCH);
	bb_u32(&f, ILA_TLV_MSG_FLAGS, ILA_QUERY_F_WATCH);
	bb_tlv(&f, ILA_TLV_ADDR4, a4, 4);
	expect_err(&f, ILA_PERR_TLV_DUPLICATE);

	bb_hdr(&f, ILA_MSG_QUERY, 4);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_tlv(&f, ILA_TLV_MSG_FLAGS, a4, 2);
	bb_tlv(&f, ILA_TLV_ADDR4, a4, 4);
	expect_err(&f, ILA_PERR_TLV_LENGTH);
}

/* A REPLY/PUSH record with its required fields; state s. */
static void bb_full_rec(struct bb *f, uint32_t vn, uint8_t s)
{
	uint8_t a4[4] = {10, 0, 0, 1};
	uint8_t loc[8] = {0, 0, 0, 0, 0, 0, 0, 0x0b};

	bb_rec_begin(f);
	bb_tlv(f, ILA_TLV_ADDR4, a4, 4);
	bb_u32(f, ILA_TLV_VN, vn);
	bb_tlv(f, ILA_TLV_LOCATOR, loc, 8);
	bb_u64(f, ILA_TLV_SEQ, 1);
	bb_u32(f, ILA_TLV_LIFETIME, 60);
	bb_u8(f, ILA_TLV_STATE, s);
}

static void test_malformed_reply(void **state)
{
	struct bb f;

	bb_hdr(&f, ILA_MSG_REPLY, 4);
	bb_full_rec(&f, 1, 4);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* no state 4 */

	bb_hdr(&f, ILA_MSG_REPLY, 4);
	bb_full_rec(&f, 1, ILA_STATE_UP);
	bb_str(&f, ILA_TLV_OWNER, "");
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* empty owner */

	bb_hdr(&f, ILA_MSG_REPLY, 4);
	bb_full_rec(&f, 1, ILA_STATE_UP);
	bb_rec_end(&f);
	bb_u32(&f, 0x0100, 0); /* so the frame goes on after the record */
	ila_put_be16(f.b + f.n - 8 - 5 + 2, 2); /* state: 2 bytes, past its record */
	expect_err(&f, ILA_PERR_RECORD_MALFORMED);
}

static void test_malformed_subscribe(void **state)
{
	struct bb f;

	bb_hdr(&f, ILA_MSG_SUBSCRIBE, 6);
	bb_u32(&f, ILA_TLV_VN, 1);
	expect_err(&f, ILA_PERR_TLV_MISSING); /* no resume position */

	bb_hdr(&f, ILA_MSG_SUBSCRIBE, 6);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u32(&f, ILA_TLV_JSEQ, 1);
	expect_err(&f, ILA_PERR_TLV_LENGTH); /* u64 sent as u32 */

	bb_hdr(&f, ILA_MSG_SUBSCRIBE, 6);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u64(&f, ILA_TLV_JSEQ, 1);
	bb_u32(&f, ILA_TLV_VN, 2);
	expect_err(&f, ILA_PERR_TLV_DUPLICATE);
}

static void test_malformed_unsubscribe(void **state)
{
	struct bb f;

	bb_hdr(&f, ILA_MSG_UNSUBSCRIBE, 6);
	expect_err(&f, ILA_PERR_TLV_MISSING);

	bb_hdr(&f, ILA_MSG_UNSUBSCRIBE, 6);
	bb_u32(&f, ILA_TLV_VN, 0);
	expect_err(&f, ILA_PERR_BAD_VALUE);

	bb_hdr(&f, ILA_MSG_UNSUBSCRIBE, 6);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u64(&f, ILA_TLV_JSEQ, 1); /* resume belongs to subscribe */
	expect_err(&f, ILA_PERR_TLV_UNKNOWN);
}

static void test_malformed_push(void **state)
{
	struct bb f;
	struct ila_msg m;

	bb_hdr(&f, ILA_MSG_PUSH, 0);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u64(&f, ILA_TLV_JSEQ, 10);
	bb_full_rec(&f, 1, ILA_STATE_REMOVED);
	bb_rec_end(&f);
	assert_int_equal(bb_decode(&f, &m), 0);
	assert_int_equal(m.rec[0].state, ILA_STATE_REMOVED);
	ila_msg_free(&m);

	bb_hdr(&f, ILA_MSG_PUSH, 0);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u64(&f, ILA_TLV_JSEQ, 10);
	bb_full_rec(&f, 2, ILA_STATE_UP);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* record of another vn */

	bb_hdr(&f, ILA_MSG_PUSH, 0);
	bb_u32(&f, ILA_TLV_VN, 1);
	bb_u64(&f, ILA_TLV_JSEQ, 10);
	bb_full_rec(&f, 1, 4);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* no state 4 */
}

static void test_malformed_ack(void **state)
{
	struct bb f;
	uint8_t st[6] = {0, 0, 0x02, 0x04, 0, 0};

	bb_hdr(&f, ILA_MSG_ACK, 9);
	bb_tlv(&f, ILA_TLV_STATUS, st, 5);
	expect_err(&f, ILA_PERR_TLV_LENGTH); /* odd length */

	bb_hdr(&f, ILA_MSG_ACK, 9);
	bb_u32(&f, ILA_TLV_COUNT, 3);
	bb_tlv(&f, ILA_TLV_STATUS, st, 6);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* 2 accepted, not 3 */

	bb_hdr(&f, ILA_MSG_ACK, 9);
	bb_u32(&f, ILA_TLV_COUNT, 2);
	bb_tlv(&f, ILA_TLV_STATUS, st, 6);
	bb_tlv(&f, ILA_TLV_STATUS, st, 6);
	expect_err(&f, ILA_PERR_TLV_DUPLICATE);
}

static void test_malformed_error(void **state)
{
	struct bb f;
	uint8_t a4[4] = {10, 0, 0, 1};
	uint8_t a6[16] = {0x20, 0x01};

	bb_hdr(&f, ILA_MSG_ERROR, 9);
	bb_u16(&f, ILA_TLV_ERROR_CODE, 0);
	expect_err(&f, ILA_PERR_BAD_VALUE); /* code 0 is success */

	bb_hdr(&f, ILA_MSG_ERROR, 9);
	bb_u16(&f, ILA_TLV_ERROR_CODE, ILA_PERR_INTERNAL);
	bb_str(&f, ILA_TLV_ERROR_TEXT, "store \xc0\xaf failed"); /* overlong '/' */
	expect_err(&f, ILA_PERR_BAD_VALUE);

	bb_hdr(&f, ILA_MSG_ERROR, 9);
	bb_u16(&f, ILA_TLV_ERROR_CODE, ILA_PERR_INTERNAL);
	bb_str(&f, ILA_TLV_ERROR_TEXT, "\xed\xa0\x80"); /* a UTF-16 surrogate */
	expect_err(&f, ILA_PERR_BAD_VALUE);

	static const char *const bad_utf8[] = {
		"\xe0\x80\xaf",     /* overlong in three bytes */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xc2\x85",	      /* C1 control */
		"ok\xe2\x82",	      /* cut short */
		"\x80",		      /* continuation byte first */
	};
	for (size_t i = 0; i < ILA_ARRAY_SIZE(bad_utf8); i++) {
		bb_hdr(&f, ILA_MSG_ERROR, 9);
		bb_u16(&f, ILA_TLV_ERROR_CODE, ILA_PERR_INTERNAL);
		bb_str(&f, ILA_TLV_ERROR_TEXT, bad_utf8[i]);
		bb_tlv(&f, ILA_TLV_ADDR4, a4, 4); /* 0x80: looks like a continuation */
		expect_err(&f, ILA_PERR_BAD_VALUE);
	}
	struct ila_msg m;

	bb_hdr(&f, ILA_MSG_ERROR, 9);
	bb_u16(&f, ILA_TLV_ERROR_CODE, ILA_PERR_INTERNAL);
	bb_str(&f, ILA_TLV_ERROR_TEXT, "\xf0\x9f\x92\xa5 \xe2\x82\xac \xc3\xa9"); /* 4, 3, 2 bytes */
	assert_int_equal(bb_decode(&f, &m), 0);
	assert_string_equal(m.error.text, "\xf0\x9f\x92\xa5 \xe2\x82\xac \xc3\xa9");
	ila_msg_free(&m);

	bb_hdr(&f, ILA_MSG_ERROR, 9);
	bb_u16(&f, ILA_TLV_ERROR_CODE, ILA_PERR_INTERNAL);
	bb_tlv(&f, ILA_TLV_ADDR4, a4, 4);
	bb_tlv(&f, ILA_TLV_ADDR6, a6, 16);
	expect_err(&f, ILA_PERR_TLV_DUPLICATE); /* one offending address at most */
}

/* ------------------------------------------------------------------ */
/* Each decoder error code, from hand-built bytes */

struct vec {
	int code;
	const char *what;
	uint8_t b[48];
	size_t n;
};

#define HDR(type, len) 1, type, 0, 0, 0, 0, 0, len, 0, 0, 0, 9

static const struct vec vecs[] = {
	{ILA_PERR_SHORT_HEADER, "empty", {0}, 0},
	{ILA_PERR_SHORT_HEADER, "11 bytes", {1, 2, 0, 0, 0, 0, 0, 12, 0, 0, 0}, 11},
	{ILA_PERR_BAD_VERSION, "version 0", {0, 2, 0, 0, 0, 0, 0, 12, 0, 0, 0, 9}, 12},
	{ILA_PERR_BAD_VERSION, "version 2", {2, 2, 0, 0, 0, 0, 0, 12, 0, 0, 0, 9}, 12},
	{ILA_PERR_BAD_LENGTH, "length 11", {HDR(2, 11)}, 12},
	{ILA_PERR_BAD_LENGTH, "length 256 KiB + 1", {1, 2, 0, 0, 0, 4, 0, 1, 0, 0, 0, 9}, 12},
	{ILA_PERR_BAD_LENGTH, "length 2^32-1", {1, 2, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9}, 12},
	{ILA_PERR_TRUNCATED, "length 13 in 12", {HDR(2, 13)}, 12},
	{ILA_PERR_TRAILING, "length 12 in 13", {HDR(2, 12), 0}, 13},
	{ILA_PERR_UNKNOWN_TYPE, "type 0", {HDR(0, 12)}, 12},
	{ILA_PERR_UNKNOWN_TYPE, "type 12", {HDR(12, 12)}, 12},
	{ILA_PERR_UNKNOWN_TYPE, "type 255", {HDR(255, 12)}, 12},
	{ILA_PERR_FLAGS, "critical flag", {1, 2, 0x80, 0, 0, 0, 0, 12, 0, 0, 0, 9}, 12},
	{ILA_PERR_FLAGS, "critical flag 0x0100", {1, 2, 0x01, 0, 0, 0, 0, 12, 0, 0, 0, 9}, 12},
	{ILA_PERR_TLV_TRUNCATED, "3 bytes of TLV header", {HDR(2, 15), 0, 6, 0}, 15},
	{ILA_PERR_TLV_TRUNCATED, "value past the end", {HDR(2, 18), 0, 6, 0, 3, 'a', 'b'}, 18},
	{ILA_PERR_TLV_LENGTH, "vn of 3 bytes",
	 {HDR(8, 19), 0x80, 0x07, 0, 3, 0, 0, 1}, 19},
	{ILA_PERR_TLV_DUPLICATE, "vn twice",
	 {HDR(8, 28), 0x80, 0x07, 0, 4, 0, 0, 0, 1, 0x80, 0x07, 0, 4, 0, 0, 0, 2}, 28},
	{ILA_PERR_TLV_MISSING, "unsubscribe without vn", {HDR(8, 12)}, 12},
	{ILA_PERR_TLV_UNKNOWN, "mandatory 0xfff0",
	 {HDR(8, 28), 0x80, 0x07, 0, 4, 0, 0, 0, 1, 0xff, 0xf0, 0, 4, 1, 2, 3, 4}, 28},
	{ILA_PERR_BAD_VALUE, "vn 0", {HDR(8, 20), 0x80, 0x07, 0, 4, 0, 0, 0, 0}, 20},
	{ILA_PERR_RECORD_MALFORMED, "field past its record",
	 {HDR(4, 24), 0x80, 0x0e, 0, 8, 0x80, 0x07, 0, 5, 0, 0, 0, 1}, 24},
	{ILA_PERR_RECORD_MALFORMED, "1 stray byte in a record",
	 {HDR(4, 17), 0x80, 0x0e, 0, 1, 0}, 17},
	{ILA_PERR_RECORD_MALFORMED, "two address families",
	 {HDR(4, 44), 0x80, 0x0e, 0, 28, 0x80, 0x10, 0, 4, 10, 0, 0, 1, 0x80, 0x0f, 0, 16,
	  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 44},
};

static void test_error_codes_hand_built(void **state)
{
	for (size_t i = 0; i < ILA_ARRAY_SIZE(vecs); i++) {
		const struct vec *v = &vecs[i];
		uint8_t *copy = malloc(v->n ? v->n : 1);
		struct ila_msg m;
		int rc;

		assert_non_null(copy);
		memcpy(copy, v->b, v->n);
		rc = ila_msg_decode(copy, v->n, &m);
		free(copy);
		if (rc != -v->code)
			fail_msg("%s: expected %s, got %s", v->what, ila_proto_err_name(v->code),
				 ila_proto_err_name(rc));
		assert_null(m.rec);
	}
}

/* The remaining codes need more bytes than a vector holds: too many records. */
static void test_error_too_many_records(void **state)
{
	size_t n = ILA_PROTO_HDR_LEN + (ILA_PROTO_MAX_RECORDS + 1) * 8 + 8;
	uint8_t *b = calloc(1, n);
	struct ila_msg m;
	size_t off = ILA_PROTO_HDR_LEN;

	assert_non_null(b);
	b[0] = 1;
	b[1] = ILA_MSG_QUERY;
	ila_put_be32(b + 4, (uint32_t)n);
	ila_put_be16(b + off, ILA_TLV_VN);
	ila_put_be16(b + off + 2, 4);
	ila_put_be32(b + off + 4, 1);
	off += 8;
	for (unsigned int i = 0; i <= ILA_PROTO_MAX_RECORDS; i++, off += 8) {
		ila_put_be16(b + off, ILA_TLV_ADDR4);
		ila_put_be16(b + off + 2, 4);
		ila_put_be32(b + off + 4, 0x0a000000u + i);
	}
	assert_int_equal(off, n);
	assert_int_equal(ila_msg_decode(b, n, &m), -ILA_PERR_TOO_MANY_RECORDS);
	assert_null(m.rec);
	/* one address fewer is fine */
	ila_put_be32(b + 4, (uint32_t)(n - 8));
	assert_int_equal(ila_msg_decode(b, n - 8, &m), 0);
	assert_int_equal(m.nrec, ILA_PROTO_MAX_RECORDS);
	assert_int_equal(ntohl(m.rec[1023].addr4.s_addr), 0x0a000000u + 1023);
	ila_msg_free(&m);

	/* 1025 statuses in one ACK */
	memset(b, 0, n);
	b[0] = 1;
	b[1] = ILA_MSG_ACK;
	size_t sl = 2 * (ILA_PROTO_MAX_RECORDS + 1);

	ila_put_be32(b + 4, (uint32_t)(ILA_PROTO_HDR_LEN + 4 + sl));
	ila_put_be16(b + 12, ILA_TLV_STATUS);
	ila_put_be16(b + 14, (uint16_t)sl);
	assert_int_equal(ila_msg_decode(b, ILA_PROTO_HDR_LEN + 4 + sl, &m),
			 -ILA_PERR_TOO_MANY_RECORDS);
	free(b);
}

/* Every codec code has a vector, so no kind of malformed frame goes untested. */
static void test_error_codes_all_covered(void **state)
{
	bool seen[ILA_PERR_RECORD_MALFORMED + 1] = {false};

	for (size_t i = 0; i < ILA_ARRAY_SIZE(vecs); i++)
		seen[vecs[i].code] = true;
	seen[ILA_PERR_TOO_MANY_RECORDS] = true; /* test_error_too_many_records */
	for (int c = ILA_PERR_SHORT_HEADER; c <= ILA_PERR_RECORD_MALFORMED; c++)
		if (!seen[c])
			fail_msg("no hand-built vector for %s", ila_proto_err_name(c));
}

/* ------------------------------------------------------------------ */
/* Extensibility */

static void test_unknown_optional_skipped(void **state)
{
	struct bb f;
	struct ila_msg m;

	/* at message level, in a keepalive and around a push's fields */
	bb_hdr(&f, ILA_MSG_KEEPALIVE, 0);
	bb_str(&f, 0x7f00, "future");
	bb_tlv(&f, 0x0100, NULL, 0);
	assert_int_equal(bb_decode(&f, &m), 0);
	assert_int_equal(m.type, ILA_MSG_KEEPALIVE);
	ila_msg_free(&m);

	/* the vn number without its mandatory bit is another, unknown, type */
	bb_hdr(&f, ILA_MSG_UNSUBSCRIBE, 0);
	bb_u32(&f, ILA_TLV_VN, 5);
	bb_u32(&f, ILA_TLV_VN & ~ILA_TLV_MANDATORY, 6);
	assert_int_equal(bb_decode(&f, &m), 0);
	assert_int_equal(m.sub.vn, 5);
	ila_msg_free(&m);

	bb_hdr(&f, ILA_MSG_PUSH, 0);
	bb_u32(&f, 0x0123, 0xdeadbeef);
	bb_u32(&f, ILA_TLV_VN, 4);
	bb_full_rec(&f, 4, ILA_STATE_DOWN);
	bb_u64(&f, 0x0042, 1);		  /* unknown field inside the record */
	bb_u32(&f, ILA_TLV_COUNT, 1);	  /* known, optional, not a record field */
	bb_rec_end(&f);
	bb_u64(&f, ILA_TLV_JSEQ, 77);
	bb_tlv(&f, ILA_TLV_OWNER, "x", 1); /* owner belongs in records */
	assert_int_equal(bb_decode(&f, &m), 0);
	assert_int_equal(m.push.vn, 4);
	assert_true(m.push.high_seq == 77);
	assert_int_equal(m.nrec, 1);
	assert_int_equal(m.rec[0].state, ILA_STATE_DOWN);
	assert_int_equal(m.rec[0].lifetime, 60);
	assert_string_equal(m.rec[0].node, "");
	ila_msg_free(&m);
}

static void test_unknown_mandatory_refused(void **state)
{
	struct bb f;

	bb_hdr(&f, ILA_MSG_PUSH, 0);
	bb_u32(&f, ILA_TLV_VN, 4);
	bb_u64(&f, ILA_TLV_JSEQ, 77);
	bb_full_rec(&f, 4, ILA_STATE_DOWN);
	bb_u64(&f, 0x8042, 1);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_TLV_UNKNOWN); /* inside a record */

	bb_hdr(&f, ILA_MSG_SUBSCRIBE, 1);
	bb_u32(&f, ILA_TLV_VN, 4);
	bb_u64(&f, ILA_TLV_JSEQ, 0);
	bb_tlv(&f, 0xffff, NULL, 0);
	expect_err(&f, ILA_PERR_TLV_UNKNOWN); /* at message level */

	bb_hdr(&f, ILA_MSG_SUBSCRIBE, 1);
	bb_u32(&f, ILA_TLV_VN, 4);
	bb_u64(&f, ILA_TLV_JSEQ, 0);
	bb_full_rec(&f, 4, ILA_STATE_UP);
	bb_rec_end(&f);
	expect_err(&f, ILA_PERR_TLV_UNKNOWN); /* records are not part of subscribe */
}

/* A future message type is refused with a code the session answers, and
 * the xid survives for that answer. */
static void test_unknown_type_keeps_xid(void **state)
{
	struct bb f;
	struct ila_msg m;

	bb_hdr(&f, 42, 0xcafe0001);
	bb_u32(&f, ILA_TLV_VN, 4);
	assert_int_equal(bb_decode(&f, &m), -ILA_PERR_UNKNOWN_TYPE);
	assert_int_equal(m.type, 42);
	assert_int_equal(m.xid, 0xcafe0001);
	assert_null(m.rec);
}

static void test_header_flags(void **state)
{
	struct bb f;
	struct ila_msg m;

	bb_hdr(&f, ILA_MSG_KEEPALIVE, 0);
	f.b[3] = 0xff; /* every advisory bit */
	assert_int_equal(bb_decode(&f, &m), 0);
	assert_int_equal(m.flags, 0x00ff);
	ila_msg_free(&m);
	for (int bit = 8; bit < 16; bit++) {
		bb_hdr(&f, ILA_MSG_KEEPALIVE, 0);
		ila_put_be16(f.b + 2, (uint16_t)(1u << bit));
		expect_err(&f, ILA_PERR_FLAGS);
	}
	/* the encoder does not send what a receiver would refuse */
	struct ila_msg k = {.type = ILA_MSG_KEEPALIVE, .flags = 0x0400};
	uint8_t buf[64];
	size_t len;

	assert_int_equal(ila_msg_encode(&k, buf, sizeof(buf), &len), -EINVAL);
}

/* ------------------------------------------------------------------ */
/* Limits */

static void test_max_records(void **state)
{
	struct ila_record *r = calloc(ILA_PROTO_MAX_RECORDS + 1, sizeof(*r));
	struct ila_msg m = {.type = ILA_MSG_PUSH, .rec = r, .nrec = ILA_PROTO_MAX_RECORDS};
	struct ila_msg d;
	size_t len;

	assert_non_null(r);
	/* the largest record there is, 1024 times: still one frame */
	for (unsigned int i = 0; i <= ILA_PROTO_MAX_RECORDS; i++) {
		full_record(&r[i], i * 3, 0xffffffff); /* i*3: always IPv6 */
		r[i].has_standby = r[i].has_prev = true;
		r[i].standby = loc_of(i);
		r[i].prev = loc_of(~(uint64_t)i);
		r[i].state = ILA_STATE_FROZEN;
		r[i].flags = 0xffffffff;
		memset(r[i].node, 'n', ILA_PROTO_NAME_MAX);
	}
	m.push.vn = 0xffffffff;
	m.push.flags = 0xffffffff;
	m.push.high_seq = UINT64_MAX;
	roundtrip(&m, &d, &len);
	assert_true(len <= ILA_PROTO_MAX_FRAME);
	/* 12 header, 8 vn, 12 jseq, 8 flags, then the records */
	assert_int_equal(len, 12 + 8 + 12 + 8 + ILA_PROTO_MAX_RECORDS * ILA_PROTO_MAX_RECORD_LEN);
	assert_int_equal(d.nrec, ILA_PROTO_MAX_RECORDS);
	assert_record_equal(&d.rec[1023], &r[1023]);
	ila_msg_free(&d);

	m.nrec = ILA_PROTO_MAX_RECORDS + 1;
	assert_int_equal(ila_msg_encoded_len(&m), 0);
	uint8_t buf[16];

	assert_int_equal(ila_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	free(r);
}

static void test_oversize_frame(void **state)
{
	size_t n = ILA_PROTO_MAX_FRAME + 1;
	uint8_t *b = calloc(1, n);
	struct ila_msg m;

	assert_non_null(b);
	b[0] = 1;
	b[1] = ILA_MSG_KEEPALIVE;
	ila_put_be32(b + 4, (uint32_t)n);
	/* body: unknown optional TLVs, which would be fine if the size were */
	for (size_t off = 12; off + 4 <= n; off += 4 + 1000) {
		size_t vl = n - off - 4 < 1000 ? n - off - 4 : 1000;

		ila_put_be16(b + off, 0x0101);
		ila_put_be16(b + off + 2, (uint16_t)vl);
	}
	assert_int_equal(ila_msg_decode(b, n, &m), -ILA_PERR_BAD_LENGTH);
	/* exactly the maximum is fine */
	ila_put_be32(b + 4, ILA_PROTO_MAX_FRAME);
	size_t last = 12;

	while (last + 4 + 1000 < ILA_PROTO_MAX_FRAME)
		last += 4 + 1000;
	ila_put_be16(b + last + 2, (uint16_t)(ILA_PROTO_MAX_FRAME - last - 4));
	assert_int_equal(ila_msg_decode(b, ILA_PROTO_MAX_FRAME, &m), 0);
	ila_msg_free(&m);
	free(b);
}

/* ------------------------------------------------------------------ */
/* Truncation */

/* One valid message of every type, with optional parts present. */
static void sample(int type, struct ila_msg *m, struct ila_record *r, uint16_t *st)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	m->xid = 1000u + (unsigned)type;
	switch (type) {
	case ILA_MSG_OPEN:
		strcpy(m->open.node, "node-1");
		strcpy(m->open.sw_version, "0.1");
		m->open.caps = 7;
		m->open.keepalive_ms = 1000;
		m->open.dead_ms = 3000;
		m->open.role = ILA_ROLE_NODE;
		break;
	case ILA_MSG_REGISTER:
	case ILA_MSG_REPLY:
	case ILA_MSG_PUSH:
		for (unsigned int i = 0; i < 3; i++)
			full_record(&r[i], i, 2);
		r[0].has_standby = true;
		r[0].flags = 1;
		if (type != ILA_MSG_REGISTER)
			strcpy(r[1].node, "node-2");
		if (type == ILA_MSG_PUSH)
			r[2].has_prev = true;
		m->rec = r;
		m->nrec = 3;
		m->push.vn = 2;
		m->push.high_seq = 5;
		m->push.flags = ILA_PUSH_F_MORE;
		break;
	case ILA_MSG_DEREGISTER:
		full_record(&r[0], 0, 2);
		r[0].state = ILA_STATE_DOWN;
		m->rec = r;
		m->nrec = 1;
		break;
	case ILA_MSG_QUERY:
		full_record(&r[0], 0, 2);
		full_record(&r[1], 2, 2);
		m->rec = r;
		m->nrec = 2;
		m->sub.vn = 2;
		break;
	case ILA_MSG_SUBSCRIBE:
	case ILA_MSG_UNSUBSCRIBE:
		m->sub.vn = 2;
		if (type == ILA_MSG_SUBSCRIBE) {
			m->sub.resume_seq = 99;
			m->sub.flags = 1;
		}
		break;
	case ILA_MSG_ACK:
		st[0] = 0;
		st[1] = ILA_PERR_FROZEN;
		m->ack.status = st;
		m->ack.nstatus = 2;
		m->ack.has_count = true;
		m->ack.count = 1;
		break;
	case ILA_MSG_ERROR:
		m->error.code = ILA_PERR_OVERLOADED;
		strcpy(m->error.text, "busy");
		m->error.family = AF_INET;
		break;
	}
}

/* Offsets where a top-level TLV starts or the body ends: walked by hand. */
static bool at_boundary(const uint8_t *b, size_t flen, size_t cut)
{
	size_t off = ILA_PROTO_HDR_LEN;

	while (off < flen) {
		if (off == cut)
			return true;
		off += 4 + ila_get_be16(b + off + 2);
	}
	return cut == off;
}

static void test_truncation_every_offset(void **state)
{
	for (int type = 1; type <= ILA_MSG_TYPE_MAX; type++) {
		struct ila_record r[3];
		uint16_t st[2];
		struct ila_msg m, d;
		uint8_t full[2048];
		size_t flen;

		sample(type, &m, r, st);
		assert_int_equal(ila_msg_encode(&m, full, sizeof(full), &flen), 0);
		for (size_t cut = 0; cut < flen; cut++) {
			uint8_t *b = malloc(cut ? cut : 1);
			int rc;

			assert_non_null(b);
			memcpy(b, full, cut);
			/* as cut off: the length field no longer matches */
			rc = ila_msg_decode(b, cut, &d);
			assert_int_equal(rc, cut < 12 ? -ILA_PERR_SHORT_HEADER : -ILA_PERR_TRUNCATED);
			assert_null(d.rec);
			/* with the length field fixed up, the body itself is cut short */
			if (cut >= 12) {
				ila_put_be32(b + 4, (uint32_t)cut);
				rc = ila_msg_decode(b, cut, &d);
				if (!at_boundary(full, flen, cut))
					assert_int_equal(rc, -ILA_PERR_TLV_TRUNCATED);
				else if (rc == 0)
					ila_msg_free(&d);
				else
					assert_null(d.rec);
			}
			free(b);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Encoder */

static void test_encode_enospc(void **state)
{
	struct ila_record r[3];
	uint16_t st[2];
	struct ila_msg m;
	uint8_t buf[1024];
	size_t len, need;

	sample(ILA_MSG_PUSH, &m, r, st);
	need = ila_msg_encoded_len(&m);
	assert_true(need > 100);
	for (size_t cap = 0; cap < need; cap = cap + 7 < need - 1 ? cap + 7 : cap + 1) {
		memset(buf, 0xa5, sizeof(buf));
		assert_int_equal(ila_msg_encode(&m, buf, cap, &len), -ENOSPC);
		assert_int_equal(len, need); /* tells the size needed */
		for (size_t i = 0; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0xa5); /* nothing written */
	}
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(ila_msg_encode(&m, buf, need, &len), 0);
	assert_int_equal(len, need);
	assert_int_equal(buf[need], 0xa5);
}

static void test_encode_rejects_invalid(void **state)
{
	struct ila_record r[3];
	uint16_t st[2];
	struct ila_msg m;
	uint8_t buf[1024];
	size_t len;

#define BAD(mutate, type)                                                            \
	do {                                                                         \
		sample(type, &m, r, st);                                             \
		assert_int_equal(ila_msg_encode(&m, buf, sizeof(buf), &len), 0);     \
		mutate;                                                              \
		assert_int_equal(ila_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL); \
		assert_int_equal(ila_msg_encoded_len(&m), 0);                        \
	} while (0)

	BAD(m.type = 0, ILA_MSG_KEEPALIVE);
	BAD(m.type = 12, ILA_MSG_KEEPALIVE);
	BAD(m.open.node[0] = '\0', ILA_MSG_OPEN);
	BAD(memset(m.open.node, 'a', sizeof(m.open.node)), ILA_MSG_OPEN); /* no NUL */
	BAD(strcpy(m.open.node, "a\tb"), ILA_MSG_OPEN);
	BAD(m.open.role = 0, ILA_MSG_OPEN);
	BAD(m.open.dead_ms = m.open.keepalive_ms, ILA_MSG_OPEN);
	BAD(m.open.keepalive_ms = 0, ILA_MSG_OPEN);
	BAD(m.rec[1].vn = 0, ILA_MSG_REGISTER);
	BAD(m.rec[1].state = ILA_STATE_FROZEN, ILA_MSG_REGISTER);
	BAD(m.rec[1].lifetime = 0, ILA_MSG_REGISTER);
	BAD(m.rec[0].family = AF_UNIX, ILA_MSG_REGISTER);
	BAD(m.nrec = 0, ILA_MSG_REGISTER);
	BAD(m.rec = NULL, ILA_MSG_REGISTER);
	BAD(m.rec[0].state = ILA_STATE_UP, ILA_MSG_DEREGISTER);
	BAD(m.sub.vn = 0, ILA_MSG_QUERY);
	BAD(m.nrec = 0, ILA_MSG_QUERY);
	BAD(m.rec[0].state = 4, ILA_MSG_REPLY);
	BAD(strcpy(m.rec[1].node, "\xff"), ILA_MSG_REPLY);
	BAD(m.sub.vn = 0, ILA_MSG_SUBSCRIBE);
	BAD(m.sub.vn = 0, ILA_MSG_UNSUBSCRIBE);
	BAD(m.rec[2].vn = 3, ILA_MSG_PUSH);
	BAD(m.rec[2].state = 4, ILA_MSG_PUSH);
	BAD(m.ack.count = 2, ILA_MSG_ACK);
	BAD(m.ack.nstatus = ILA_PROTO_MAX_RECORDS + 1, ILA_MSG_ACK);
	BAD(m.error.code = 0, ILA_MSG_ERROR);
	BAD(m.error.family = AF_UNIX, ILA_MSG_ERROR);
#undef BAD
}

/* ------------------------------------------------------------------ */
/* Golden bytes, written out by hand from doc/protocol.md */

static const uint8_t golden_subscribe[] = {
	0x01, 0x07, 0x00, 0x00,	/* version 1, SUBSCRIBE, flags 0 */
	0x00, 0x00, 0x00, 0x28,	/* length 40 */
	0x01, 0x02, 0x03, 0x04,	/* xid */
	0x80, 0x07, 0x00, 0x04, 0x00, 0x00, 0x00, 0x2a,	/* VN 42 */
	0x80, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* JSEQ 7 */
	0x80, 0x09, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,	/* MSG_FLAGS NO_SNAPSHOT */
};

static const uint8_t golden_register[] = {
	0x01, 0x03, 0x00, 0x00,	/* version 1, REGISTER, flags 0 */
	0x00, 0x00, 0x00, 0x4c,	/* length 76 */
	0x00, 0x00, 0x00, 0x09,	/* xid 9 */
	0x80, 0x0e, 0x00, 0x3c,	/* RECORD, 60 bytes of fields */
	0x80, 0x0f, 0x00, 0x10,	/* ADDR6 2001:db8:1::42 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42,
	0x80, 0x07, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, /* VN 1 */
	0x80, 0x11, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, /* LOCATOR 0:0:0:a */
	0x80, 0x13, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* SEQ 5 */
	0x80, 0x14, 0x00, 0x04, 0x00, 0x00, 0x01, 0x2c, /* LIFETIME 300 */
};

static void test_golden_subscribe(void **state)
{
	struct ila_msg m;
	uint8_t buf[64];
	size_t len;

	assert_int_equal(ila_msg_decode(golden_subscribe, sizeof(golden_subscribe), &m), 0);
	assert_int_equal(m.type, ILA_MSG_SUBSCRIBE);
	assert_int_equal(m.xid, 0x01020304);
	assert_int_equal(m.sub.vn, 42);
	assert_true(m.sub.resume_seq == 7);
	assert_int_equal(m.sub.flags, ILA_SUB_F_NO_SNAPSHOT);
	assert_int_equal(ila_msg_encode(&m, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(golden_subscribe));
	assert_memory_equal(buf, golden_subscribe, len);
	ila_msg_free(&m);
}

static void test_golden_register(void **state)
{
	struct ila_record r;
	struct ila_msg m = {.type = ILA_MSG_REGISTER, .xid = 9, .rec = &r, .nrec = 1};
	struct ila_msg d;
	uint8_t buf[128];
	size_t len;

	memset(&r, 0, sizeof(r));
	set_addr6(&r, "2001:db8:1::42");
	r.vn = 1;
	r.loc = loc_of(0xa);
	r.seq = 5;
	r.lifetime = 300;
	assert_int_equal(ila_msg_encode(&m, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(golden_register));
	assert_memory_equal(buf, golden_register, len);
	assert_int_equal(ila_msg_decode(golden_register, sizeof(golden_register), &d), 0);
	assert_int_equal(d.nrec, 1);
	assert_record_equal(&d.rec[0], &r);
	ila_msg_free(&d);
}

/* ------------------------------------------------------------------ */
/* Batching and names */

static void test_batch_split(void **state)
{
	size_t n = 2500;
	struct ila_record *r = calloc(n, sizeof(*r));
	struct ila_msg t = {.type = ILA_MSG_PUSH, .rec = r, .nrec = n};
	struct ila_msg_batch b;
	struct ila_msg out, d;
	size_t got = 0, frames = 0;
	uint8_t *buf = malloc(ILA_PROTO_MAX_FRAME);

	assert_non_null(r);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		full_record(&r[i], (unsigned)i, 6);
	t.push.vn = 6;
	t.push.high_seq = 4242;
	t.push.flags = ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_SNAPSHOT_END;
	ila_msg_batch_init(&b, &t, 0);
	while (ila_msg_batch_next(&b, &out) == 1) {
		size_t len;
		uint32_t want = 0;

		if (frames == 0)
			want |= ILA_PUSH_F_SNAPSHOT_BEGIN;
		if (got + out.nrec < n)
			want |= ILA_PUSH_F_MORE;
		else
			want |= ILA_PUSH_F_SNAPSHOT_END;
		out.xid = (uint32_t)frames;
		assert_int_equal(ila_msg_encode(&out, buf, ILA_PROTO_MAX_FRAME, &len), 0);
		assert_int_equal(ila_msg_decode(buf, len, &d), 0);
		assert_int_equal(d.push.flags, want);
		assert_int_equal(d.xid, frames);
		assert_true(d.nrec <= ILA_PROTO_MAX_RECORDS);
		for (size_t i = 0; i < d.nrec; i++)
			assert_record_equal(&d.rec[i], &r[got + i]);
		got += d.nrec;
		frames++;
		ila_msg_free(&d);
	}
	assert_int_equal(got, n);
	assert_int_equal(frames, 3);
	assert_int_equal(ila_msg_batch_next(&b, &out), 0);

	/* smaller batches on request; an empty snapshot is one frame */
	ila_msg_batch_init(&b, &t, 1000);
	frames = 0;
	while (ila_msg_batch_next(&b, &out) == 1)
		frames++;
	assert_int_equal(frames, 3);
	t.nrec = 0;
	ila_msg_batch_init(&b, &t, 0);
	assert_int_equal(ila_msg_batch_next(&b, &out), 1);
	assert_int_equal(out.nrec, 0);
	assert_int_equal(out.push.flags, ILA_PUSH_F_SNAPSHOT_BEGIN | ILA_PUSH_F_SNAPSHOT_END);
	assert_int_equal(ila_msg_batch_next(&b, &out), 0);
	free(buf);
	free(r);
}

static void test_names(void **state)
{
	/* every code has its own name and text */
	static const int codes[] = {
		ILA_PERR_SHORT_HEADER, ILA_PERR_BAD_VERSION, ILA_PERR_BAD_LENGTH,
		ILA_PERR_TRUNCATED, ILA_PERR_TRAILING, ILA_PERR_UNKNOWN_TYPE, ILA_PERR_FLAGS,
		ILA_PERR_TLV_TRUNCATED, ILA_PERR_TLV_LENGTH, ILA_PERR_TLV_DUPLICATE,
		ILA_PERR_TLV_MISSING, ILA_PERR_TLV_UNKNOWN, ILA_PERR_BAD_VALUE,
		ILA_PERR_TOO_MANY_RECORDS, ILA_PERR_RECORD_MALFORMED, ILA_PERR_NOT_AUTHORISED,
		ILA_PERR_VN_UNKNOWN, ILA_PERR_ADDR_OUTSIDE_VN, ILA_PERR_STALE_SEQ,
		ILA_PERR_FROZEN, ILA_PERR_NOT_SUBSCRIBED, ILA_PERR_INTERNAL, ILA_PERR_OVERLOADED,
		ILA_PERR_UNEXPECTED, ILA_PERR_HOLD_EXPIRED, ILA_PERR_NO_MAPPING,
		ILA_PERR_UNSUPPORTED, ILA_PERR_CEASE, ILA_PERR_QUOTA, ILA_PERR_SEQ_EXHAUSTED,
	};

	for (size_t i = 0; i < ILA_ARRAY_SIZE(codes); i++) {
		assert_string_not_equal(ila_proto_err_name(codes[i]), "?");
		assert_string_equal(ila_proto_err_name(-codes[i]), ila_proto_err_name(codes[i]));
		assert_string_not_equal(ila_proto_strerror(-codes[i]), "unknown protocol error");
		for (size_t j = 0; j < i; j++) {
			assert_string_not_equal(ila_proto_err_name(codes[i]),
						ila_proto_err_name(codes[j]));
			assert_string_not_equal(ila_proto_strerror(codes[i]),
						ila_proto_strerror(codes[j]));
		}
	}
	assert_string_equal(ila_proto_err_name(ILA_PERR_STALE_SEQ), "stale-seq");
	assert_string_equal(ila_proto_err_name(0x1ff), "?");
	assert_string_equal(ila_proto_strerror(-ENOSPC), strerror(ENOSPC));
	assert_string_equal(ila_proto_strerror(0x1ff), "unknown protocol error");
	assert_string_equal(ila_proto_strerror(INT_MIN), "unknown protocol error");
	assert_string_equal(ila_proto_err_name(INT_MIN), "?");

	const char *types[] = {"?", "open", "keepalive", "register", "deregister", "query",
			       "reply", "subscribe", "unsubscribe", "push", "ack", "error", "?"};

	for (int t = 0; t <= ILA_MSG_TYPE_MAX + 1; t++)
		assert_string_equal(ila_msg_type_name(t), types[t]);
	assert_string_equal(ila_record_state_name(ILA_STATE_FROZEN), "frozen");
	assert_string_equal(ila_record_state_name(ILA_STATE_REMOVED), "removed");
	assert_string_equal(ila_record_state_name(4), "?");
	assert_string_equal(ila_record_state_name(-1), "?");
	assert_string_equal(ila_role_name(ILA_ROLE_MAPPER), "mapper");
	assert_string_equal(ila_tlv_type_name(ILA_TLV_PREV_LOCATOR), "prev-locator");
	assert_string_equal(ila_tlv_type_name(ILA_TLV_VN & 0x7fff), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_open),
		cmocka_unit_test(test_roundtrip_keepalive),
		cmocka_unit_test(test_roundtrip_register),
		cmocka_unit_test(test_roundtrip_deregister),
		cmocka_unit_test(test_roundtrip_query),
		cmocka_unit_test(test_roundtrip_query_flags),
		cmocka_unit_test(test_roundtrip_reply),
		cmocka_unit_test(test_roundtrip_subscribe),
		cmocka_unit_test(test_roundtrip_unsubscribe),
		cmocka_unit_test(test_roundtrip_push),
		cmocka_unit_test(test_roundtrip_ack),
		cmocka_unit_test(test_roundtrip_error),
		cmocka_unit_test(test_malformed_open),
		cmocka_unit_test(test_malformed_keepalive),
		cmocka_unit_test(test_malformed_register),
		cmocka_unit_test(test_malformed_deregister),
		cmocka_unit_test(test_malformed_query),
		cmocka_unit_test(test_malformed_reply),
		cmocka_unit_test(test_malformed_subscribe),
		cmocka_unit_test(test_malformed_unsubscribe),
		cmocka_unit_test(test_malformed_push),
		cmocka_unit_test(test_malformed_ack),
		cmocka_unit_test(test_malformed_error),
		cmocka_unit_test(test_error_codes_hand_built),
		cmocka_unit_test(test_error_too_many_records),
		cmocka_unit_test(test_error_codes_all_covered),
		cmocka_unit_test(test_unknown_optional_skipped),
		cmocka_unit_test(test_unknown_mandatory_refused),
		cmocka_unit_test(test_unknown_type_keeps_xid),
		cmocka_unit_test(test_header_flags),
		cmocka_unit_test(test_max_records),
		cmocka_unit_test(test_oversize_frame),
		cmocka_unit_test(test_truncation_every_offset),
		cmocka_unit_test(test_encode_enospc),
		cmocka_unit_test(test_encode_rejects_invalid),
		cmocka_unit_test(test_golden_subscribe),
		cmocka_unit_test(test_golden_register),
		cmocka_unit_test(test_batch_split),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
