/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Framing over a byte stream: the reader with partial reads, split headers,
 * early refusal of bad headers, a real non-blocking socketpair with EAGAIN
 * and EOF, and the writer with partial writes and its memory bound.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "proto.h"
#include "util.h"

/* A frame of len bytes (>= 12) whose body is unknown optional TLVs or
 * filler, marked with id in the xid and in every body byte. */
static void make_frame(uint8_t *b, size_t len, uint32_t id)
{
	b[0] = ILA_PROTO_VERSION;
	b[1] = ILA_MSG_KEEPALIVE;
	b[2] = b[3] = 0;
	ila_put_be32(b + 4, (uint32_t)len);
	ila_put_be32(b + 8, id);
	memset(b + 12, (int)(id & 0xff), len - 12);
}

/* The next frame must be there and be the one marked id, len bytes. */
static void expect_frame(struct ila_frame_reader *fr, uint32_t id, size_t len)
{
	const uint8_t *f = NULL;
	size_t n = 0;

	assert_int_equal(ila_frame_reader_next(fr, &f, &n), 1);
	assert_int_equal(n, len);
	assert_int_equal(ila_get_be32(f + 4), len);
	assert_int_equal(ila_get_be32(f + 8), id);
	for (size_t i = 12; i < len; i++)
		assert_int_equal(f[i], id & 0xff);
}

static void expect_none(struct ila_frame_reader *fr)
{
	const uint8_t *f;
	size_t n;

	assert_int_equal(ila_frame_reader_next(fr, &f, &n), 0);
}

static void nonblocking_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK), 0);
}

/* ------------------------------------------------------------------ */
/* Reader */

static void test_reader_byte_by_byte(void **state)
{
	static const size_t lens[] = {12, 40, 13};
	uint8_t stream[65];
	size_t total = 0, frames = 0, at = 12;
	struct ila_frame_reader fr;

	for (size_t i = 0; i < 3; i++) {
		make_frame(stream + total, lens[i], (uint32_t)i + 1);
		total += lens[i];
	}
	ila_frame_reader_init(&fr);
	for (size_t i = 0; i < total; i++) {
		assert_int_equal(ila_frame_reader_feed(&fr, stream + i, 1), 1);
		if (i + 1 == at) {
			expect_frame(&fr, (uint32_t)frames + 1, lens[frames]);
			frames++;
			if (frames < 3)
				at += lens[frames];
		}
		expect_none(&fr); /* nothing before a frame is complete */
	}
	assert_int_equal(frames, 3);
	assert_int_equal(ila_frame_reader_pending(&fr), 0);
	ila_frame_reader_free(&fr);
}

static void test_reader_several_frames_one_feed(void **state)
{
	uint8_t stream[200];
	struct ila_frame_reader fr;
	size_t off = 0;

	for (uint32_t i = 0; i < 5; i++) {
		make_frame(stream + off, 12 + 7 * i, i + 10);
		off += 12 + 7 * i;
	}
	make_frame(stream + off, 30, 99); /* and the start of a sixth */
	ila_frame_reader_init(&fr);
	assert_int_equal(ila_frame_reader_feed(&fr, stream, off + 20), off + 20);
	for (uint32_t i = 0; i < 5; i++)
		expect_frame(&fr, i + 10, 12 + 7 * i);
	expect_none(&fr);
	assert_int_equal(ila_frame_reader_pending(&fr), 20);
	assert_int_equal(ila_frame_reader_feed(&fr, stream + off + 20, 10), 10);
	expect_frame(&fr, 99, 30);
	ila_frame_reader_free(&fr);
}

static void test_reader_header_split(void **state)
{
	uint8_t stream[2 * 24];

	make_frame(stream, 24, 1);
	make_frame(stream + 24, 24, 2);
	/* the second header split at every point, after a complete frame */
	for (size_t cut = 25; cut < 24 + 12; cut++) {
		struct ila_frame_reader fr;

		ila_frame_reader_init(&fr);
		assert_int_equal(ila_frame_reader_feed(&fr, stream, cut), cut);
		expect_frame(&fr, 1, 24);
		expect_none(&fr);
		assert_int_equal(ila_frame_reader_feed(&fr, stream + cut, sizeof(stream) - cut),
				 sizeof(stream) - cut);
		expect_frame(&fr, 2, 24);
		expect_none(&fr);
		ila_frame_reader_free(&fr);
	}
}

static void test_reader_bad_version_early(void **state)
{
	struct ila_frame_reader fr;
	const uint8_t *f;
	size_t n;
	uint8_t b[12];

	make_frame(b, 12, 1);
	b[0] = 2;
	ila_frame_reader_init(&fr);
	assert_int_equal(ila_frame_reader_feed(&fr, b, 1), 1);
	assert_int_equal(ila_frame_reader_next(&fr, &f, &n), -ILA_PERR_BAD_VERSION);
	/* the error sticks: framing is lost, whatever follows */
	make_frame(b, 12, 2);
	assert_int_equal(ila_frame_reader_feed(&fr, b, 12), 12);
	assert_int_equal(ila_frame_reader_next(&fr, &f, &n), -ILA_PERR_BAD_VERSION);
	ila_frame_reader_free(&fr);
}

static void test_reader_bad_length_early(void **state)
{
	static const uint32_t bad[] = {0, 11, ILA_PROTO_MAX_FRAME + 1, 0xffffffff};

	for (size_t i = 0; i < ILA_ARRAY_SIZE(bad); i++) {
		struct ila_frame_reader fr;
		const uint8_t *f;
		size_t n;
		uint8_t b[12];

		make_frame(b, 12, 1);
		ila_put_be32(b + 4, bad[i]);
		ila_frame_reader_init(&fr);
		/* 7 bytes: the length is not complete yet */
		assert_int_equal(ila_frame_reader_feed(&fr, b, 7), 7);
		expect_none(&fr);
		/* the 8th byte completes it: refused without any body */
		assert_int_equal(ila_frame_reader_feed(&fr, b + 7, 1), 1);
		assert_int_equal(ila_frame_reader_next(&fr, &f, &n), -ILA_PERR_BAD_LENGTH);
		assert_true(fr.cap <= ILA_FRAME_READ_CHUNK); /* nothing reserved for it */
		ila_frame_reader_free(&fr);
	}
}

static void test_reader_max_frame(void **state)
{
	uint8_t *b = malloc(ILA_PROTO_MAX_FRAME + 12);
	struct ila_frame_reader fr;

	assert_non_null(b);
	make_frame(b, ILA_PROTO_MAX_FRAME, 0x55);
	make_frame(b + ILA_PROTO_MAX_FRAME, 12, 0x66);
	ila_frame_reader_init(&fr);
	/* in odd-sized pieces, taking frames as they complete */
	size_t off = 0, step = 4093;
	int got = 0;

	while (off < ILA_PROTO_MAX_FRAME + 12) {
		size_t k = ILA_PROTO_MAX_FRAME + 12 - off < step ? ILA_PROTO_MAX_FRAME + 12 - off
								  : step;
		ssize_t r = ila_frame_reader_feed(&fr, b + off, k);

		assert_true(r > 0);
		off += (size_t)r;
		const uint8_t *f;
		size_t n;

		while (ila_frame_reader_next(&fr, &f, &n) == 1) {
			assert_int_equal(n, got == 0 ? ILA_PROTO_MAX_FRAME : 12);
			assert_int_equal(ila_get_be32(f + 8), got == 0 ? 0x55 : 0x66);
			if (got == 0)
				assert_int_equal(f[n - 1], 0x55);
			got++;
		}
	}
	assert_int_equal(got, 2);
	assert_true(fr.cap <= ILA_PROTO_MAX_FRAME);
	/* once empty, the large buffer is given back */
	uint8_t *p;

	assert_true(ila_frame_reader_space(&fr, &p) > 0);
	assert_true(fr.cap <= ILA_FRAME_KEEP_BYTES);
	ila_frame_reader_free(&fr);
	free(b);
}

/* Frames not taken fill the buffer: feed takes what fits, read_fd refuses. */
static void test_reader_full_buffer(void **state)
{
	size_t flen = 60000, nf = 6;
	uint8_t *b = malloc(flen * nf);
	struct ila_frame_reader fr;
	ssize_t r;

	assert_non_null(b);
	for (size_t i = 0; i < nf; i++)
		make_frame(b + i * flen, flen, (uint32_t)i);
	ila_frame_reader_init(&fr);
	r = ila_frame_reader_feed(&fr, b, flen * nf);
	assert_int_equal(r, ILA_PROTO_MAX_FRAME);
	assert_int_equal(ila_frame_reader_pending(&fr), ILA_PROTO_MAX_FRAME);

	int sv[2];

	nonblocking_pair(sv);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), -ENOBUFS);

	/* taking the frames makes room for the rest */
	size_t taken = (size_t)r;

	for (size_t i = 0; i < nf;) {
		const uint8_t *f;
		size_t n;

		while (ila_frame_reader_next(&fr, &f, &n) == 1) {
			assert_int_equal(n, flen);
			assert_int_equal(ila_get_be32(f + 8), i);
			i++;
		}
		if (taken < flen * nf) {
			r = ila_frame_reader_feed(&fr, b + taken, flen * nf - taken);
			assert_true(r > 0);
			taken += (size_t)r;
		} else {
			assert_int_equal(i, nf);
		}
	}
	close(sv[0]);
	close(sv[1]);
	ila_frame_reader_free(&fr);
	free(b);
}

/* ------------------------------------------------------------------ */
/* A real non-blocking socket */

static void test_socket_partial_and_eagain(void **state)
{
	int sv[2];
	struct ila_frame_reader fr;
	uint8_t b[100];

	nonblocking_pair(sv);
	ila_frame_reader_init(&fr);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), -EAGAIN);

	make_frame(b, 100, 7);
	assert_int_equal(write(sv[1], b, 5), 5); /* not even a header */
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), 5);
	expect_none(&fr);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), -EAGAIN);
	assert_int_equal(write(sv[1], b + 5, 50), 50);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), 50);
	expect_none(&fr);
	assert_int_equal(write(sv[1], b + 55, 45), 45);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), 45);
	expect_frame(&fr, 7, 100);
	expect_none(&fr);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), -EAGAIN);
	ila_frame_reader_free(&fr);
	close(sv[0]);
	close(sv[1]);
}

static void test_socket_eof_mid_frame(void **state)
{
	int sv[2];
	struct ila_frame_reader fr;
	uint8_t b[64];

	nonblocking_pair(sv);
	ila_frame_reader_init(&fr);
	make_frame(b, 24, 1);
	make_frame(b + 24, 40, 2);
	assert_int_equal(write(sv[1], b, 24 + 20), 44);
	close(sv[1]);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), 44);
	expect_frame(&fr, 1, 24);
	expect_none(&fr);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), 0); /* EOF */
	assert_int_equal(ila_frame_reader_pending(&fr), 20);	   /* ... mid-frame */
	ila_frame_reader_free(&fr);
	close(sv[0]);
}

static void test_socket_eof_clean(void **state)
{
	int sv[2];
	struct ila_frame_reader fr;
	uint8_t b[24];

	nonblocking_pair(sv);
	ila_frame_reader_init(&fr);
	make_frame(b, 24, 3);
	assert_int_equal(write(sv[1], b, 24), 24);
	close(sv[1]);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), 24);
	expect_frame(&fr, 3, 24);
	assert_int_equal(ila_frame_reader_read_fd(&fr, sv[0]), 0);
	assert_int_equal(ila_frame_reader_pending(&fr), 0);
	ila_frame_reader_free(&fr);
	close(sv[0]);
}

static void test_socket_bad_fd(void **state)
{
	struct ila_frame_reader fr;
	struct ila_frame_writer fw;
	uint8_t b[12];

	ila_frame_reader_init(&fr);
	assert_int_equal(ila_frame_reader_read_fd(&fr, -1), -EBADF);
	ila_frame_reader_free(&fr);
	ila_frame_writer_init(&fw, 0);
	make_frame(b, 12, 1);
	assert_int_equal(ila_frame_writer_append(&fw, b, 12), 0);
	assert_int_equal(ila_frame_writer_flush_fd(&fw, -1), -EBADF);
	assert_int_equal(ila_frame_writer_pending(&fw), 12);
	ila_frame_writer_free(&fw);
}

/* ------------------------------------------------------------------ */
/* Writer */

/* Reads whatever is available into the reader and returns the frames seen. */
static int drain(int fd, struct ila_frame_reader *fr, uint32_t *next_id, size_t flen)
{
	int frames = 0;
	ssize_t r;

	while ((r = ila_frame_reader_read_fd(fr, fd)) > 0) {
		const uint8_t *f;
		size_t n;

		while (ila_frame_reader_next(fr, &f, &n) == 1) {
			assert_int_equal(n, flen);
			assert_int_equal(ila_get_be32(f + 8), *next_id);
			assert_int_equal(f[n - 1], *next_id & 0xff);
			(*next_id)++;
			frames++;
		}
	}
	assert_int_equal(r, -EAGAIN);
	return frames;
}

static void test_writer_partial_writes(void **state)
{
	int sv[2], sndbuf = 4096;
	struct ila_frame_writer fw;
	struct ila_frame_reader fr;
	size_t flen = 10000;
	uint8_t *b = malloc(flen);
	uint32_t next_id = 0;
	int rc, got = 0, again = 0;

	assert_non_null(b);
	nonblocking_pair(sv);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	ila_frame_writer_init(&fw, 0);
	ila_frame_reader_init(&fr);
	for (uint32_t i = 0; i < 40; i++) {
		make_frame(b, flen, i);
		assert_int_equal(ila_frame_writer_append(&fw, b, flen), 0);
	}
	assert_int_equal(ila_frame_writer_pending(&fw), 40 * flen);
	/* the socket takes a part, the rest waits; the other end reads it */
	while ((rc = ila_frame_writer_flush_fd(&fw, sv[0])) == -EAGAIN) {
		again++;
		assert_true(ila_frame_writer_pending(&fw) > 0);
		got += drain(sv[1], &fr, &next_id, flen);
	}
	assert_int_equal(rc, 0);
	assert_true(again > 0);
	assert_int_equal(ila_frame_writer_pending(&fw), 0);
	got += drain(sv[1], &fr, &next_id, flen);
	assert_int_equal(got, 40);
	ila_frame_reader_free(&fr);
	ila_frame_writer_free(&fw);
	close(sv[0]);
	close(sv[1]);
	free(b);
}

static void test_writer_enobufs(void **state)
{
	struct ila_frame_writer fw;
	uint8_t b[1000];
	int sv[2];

	ila_frame_writer_init(&fw, 2500);
	make_frame(b, 1000, 1);
	assert_int_equal(ila_frame_writer_append(&fw, b, 1000), 0);
	assert_int_equal(ila_frame_writer_append(&fw, b, 1000), 0);
	assert_int_equal(ila_frame_writer_room(&fw), 500);
	assert_int_equal(ila_frame_writer_append(&fw, b, 1000), -ENOBUFS);
	assert_int_equal(ila_frame_writer_pending(&fw), 2000); /* all or nothing */
	assert_int_equal(ila_frame_writer_append(&fw, b, 0), -EINVAL);

	/* a query for 100 addresses: 820 bytes */
	struct ila_record q[100];
	struct ila_msg big = {.type = ILA_MSG_QUERY, .rec = q, .nrec = 100};

	memset(q, 0, sizeof(q));
	for (int i = 0; i < 100; i++)
		q[i].family = AF_INET;
	big.sub.vn = 1;
	assert_int_equal(ila_msg_encoded_len(&big), 820);
	assert_int_equal(ila_frame_writer_put_msg(&fw, &big), -ENOBUFS);
	assert_int_equal(ila_frame_writer_pending(&fw), 2000);

	/* after a flush there is room again */
	nonblocking_pair(sv);
	assert_int_equal(ila_frame_writer_flush_fd(&fw, sv[0]), 0);
	assert_int_equal(ila_frame_writer_room(&fw), 2500);
	assert_int_equal(ila_frame_writer_put_msg(&fw, &big), 0);
	ila_frame_writer_free(&fw);
	close(sv[0]);
	close(sv[1]);
}

/* Messages encoded into the queue arrive as the same messages. */
static void test_writer_put_msg(void **state)
{
	struct ila_record r[2];
	struct ila_msg m = {.type = ILA_MSG_REGISTER, .xid = 31, .rec = r, .nrec = 2};
	struct ila_msg k = {.type = ILA_MSG_KEEPALIVE, .xid = 32};
	struct ila_msg bad = {.type = ILA_MSG_UNSUBSCRIBE}; /* vn 0 */
	struct ila_frame_writer fw;
	struct ila_frame_reader fr;
	struct ila_msg d;
	const uint8_t *f;
	size_t n;
	int sv[2];

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 2; i++) {
		r[i].family = AF_INET;
		r[i].addr4.s_addr = htonl(0x0a000001u + (uint32_t)i);
		r[i].vn = 3;
		r[i].loc.b[7] = (uint8_t)(i + 1);
		r[i].seq = 100u + (unsigned)i;
		r[i].lifetime = 60;
	}
	nonblocking_pair(sv);
	ila_frame_writer_init(&fw, 0);
	ila_frame_reader_init(&fr);
	assert_int_equal(ila_frame_writer_put_msg(&fw, &m), 0);
	assert_int_equal(ila_frame_writer_put_msg(&fw, &bad), -EINVAL);
	assert_int_equal(ila_frame_writer_put_msg(&fw, &k), 0);
	assert_int_equal(ila_frame_writer_flush_fd(&fw, sv[0]), 0);
	assert_true(ila_frame_reader_read_fd(&fr, sv[1]) > 0);

	assert_int_equal(ila_frame_reader_next(&fr, &f, &n), 1);
	assert_int_equal(ila_msg_decode(f, n, &d), 0);
	assert_int_equal(d.type, ILA_MSG_REGISTER);
	assert_int_equal(d.xid, 31);
	assert_int_equal(d.nrec, 2);
	assert_int_equal(ntohl(d.rec[1].addr4.s_addr), 0x0a000002u);
	assert_int_equal(d.rec[1].loc.b[7], 2);
	assert_true(d.rec[1].seq == 101);
	ila_msg_free(&d);
	assert_int_equal(ila_frame_reader_next(&fr, &f, &n), 1);
	assert_int_equal(ila_msg_decode(f, n, &d), 0);
	assert_int_equal(d.type, ILA_MSG_KEEPALIVE);
	assert_int_equal(d.xid, 32);
	expect_none(&fr);
	ila_frame_reader_free(&fr);
	ila_frame_writer_free(&fw);
	close(sv[0]);
	close(sv[1]);
}

/* The TLS path: SSL_write() takes a part of what peek() shows. */
static void test_writer_peek_consume(void **state)
{
	struct ila_frame_writer fw;
	uint8_t a[20], b[30];
	const uint8_t *p;

	ila_frame_writer_init(&fw, 0);
	make_frame(a, 20, 1);
	make_frame(b, 30, 2);
	assert_int_equal(ila_frame_writer_peek(&fw, &p), 0);
	assert_int_equal(ila_frame_writer_append(&fw, a, 20), 0);
	assert_int_equal(ila_frame_writer_append(&fw, b, 30), 0);
	assert_int_equal(ila_frame_writer_peek(&fw, &p), 50);
	assert_memory_equal(p, a, 20);
	ila_frame_writer_consume(&fw, 25);
	assert_int_equal(ila_frame_writer_peek(&fw, &p), 25);
	assert_memory_equal(p, b + 5, 25);
	/* appending after a partial write keeps the order */
	assert_int_equal(ila_frame_writer_append(&fw, a, 20), 0);
	assert_int_equal(ila_frame_writer_peek(&fw, &p), 45);
	assert_memory_equal(p, b + 5, 25);
	assert_memory_equal(p + 25, a, 20);
	ila_frame_writer_consume(&fw, 1000); /* more than held: empties */
	assert_int_equal(ila_frame_writer_pending(&fw), 0);
	ila_frame_writer_free(&fw);
}

/* A peer that is gone is an error to report, not a SIGPIPE that kills us. */
static void test_writer_epipe(void **state)
{
	struct ila_frame_writer fw;
	uint8_t b[12];
	int sv[2];

	nonblocking_pair(sv);
	close(sv[1]);
	ila_frame_writer_init(&fw, 0);
	make_frame(b, 12, 1);
	assert_int_equal(ila_frame_writer_append(&fw, b, 12), 0);
	assert_int_equal(ila_frame_writer_flush_fd(&fw, sv[0]), -EPIPE);
	ila_frame_writer_free(&fw);
	close(sv[0]);
}

/* A limited reader never holds more than its limit, refuses a larger frame
 * from its header, and takes full frames again once the limit is lifted. */
static void test_reader_limit(void **state)
{
	struct ila_frame_reader fr;
	uint8_t f[2048], *p;
	const uint8_t *got;
	size_t n;
	ssize_t room;

	(void)state;
	ila_frame_reader_init(&fr);
	ila_frame_reader_limit(&fr, 1024);
	room = ila_frame_reader_space(&fr, &p);
	assert_true(room > 0 && room <= 1024);
	assert_true(fr.cap <= 1024);
	make_frame(f, 1024, 1);
	assert_int_equal(ila_frame_reader_feed(&fr, f, 1024), 1024);
	expect_frame(&fr, 1, 1024);
	assert_true(fr.cap <= 1024);
	make_frame(f, 1025, 2);
	assert_int_equal(ila_frame_reader_feed(&fr, f, 8), 8);
	assert_int_equal(ila_frame_reader_next(&fr, &got, &n), -ILA_PERR_BAD_LENGTH);
	ila_frame_reader_free(&fr);

	ila_frame_reader_init(&fr);
	ila_frame_reader_limit(&fr, 1024);
	make_frame(f, 100, 3);
	assert_int_equal(ila_frame_reader_feed(&fr, f, 100), 100);
	expect_frame(&fr, 3, 100);
	ila_frame_reader_limit(&fr, 0);
	make_frame(f, 2048, 4);
	assert_int_equal(ila_frame_reader_feed(&fr, f, 2048), 2048);
	expect_frame(&fr, 4, 2048);
	ila_frame_reader_free(&fr);
}

/* An empty reader gives its buffer back; one holding part of a frame keeps
 * it, and a released one reads on as before. */
static void test_reader_release(void **state)
{
	struct ila_frame_reader fr;
	uint8_t f[300], *p;
	const uint8_t *got;
	size_t n;

	(void)state;
	ila_frame_reader_init(&fr);
	ila_frame_reader_limit(&fr, 2048);
	ila_frame_reader_release(&fr); /* nothing allocated yet: no-op */
	assert_null(fr.buf);
	assert_true(ila_frame_reader_space(&fr, &p) > 0);
	assert_non_null(fr.buf);
	ila_frame_reader_release(&fr);
	assert_null(fr.buf);
	assert_int_equal(fr.cap, 0);
	assert_int_equal(fr.max, 2048);

	make_frame(f, sizeof(f), 7);
	assert_int_equal(ila_frame_reader_feed(&fr, f, 100), 100);
	ila_frame_reader_release(&fr); /* part of a frame: kept */
	assert_non_null(fr.buf);
	assert_int_equal(ila_frame_reader_pending(&fr), 100);
	expect_none(&fr);
	assert_int_equal(ila_frame_reader_feed(&fr, f + 100, sizeof(f) - 100), sizeof(f) - 100);
	expect_frame(&fr, 7, sizeof(f));
	ila_frame_reader_release(&fr); /* every frame taken: released */
	assert_null(fr.buf);
	assert_int_equal(ila_frame_reader_feed(&fr, f, sizeof(f)), sizeof(f));
	expect_frame(&fr, 7, sizeof(f));

	/* the error of a bad header sticks across a release */
	make_frame(f, 12, 8);
	f[0] = ILA_PROTO_VERSION + 1;
	assert_int_equal(ila_frame_reader_feed(&fr, f, 12), 12);
	assert_int_equal(ila_frame_reader_next(&fr, &got, &n), -ILA_PERR_BAD_VERSION);
	ila_frame_reader_release(&fr);
	assert_int_equal(ila_frame_reader_next(&fr, &got, &n), -ILA_PERR_BAD_VERSION);
	ila_frame_reader_free(&fr);
}

/* A small writer limit bounds its allocation and refuses what exceeds it;
 * a raised limit takes the larger frame. */
static void test_writer_limit(void **state)
{
	struct ila_frame_writer fw;
	uint8_t f[4096];

	(void)state;
	ila_frame_writer_init(&fw, 1024);
	make_frame(f, 600, 1);
	assert_int_equal(ila_frame_writer_append(&fw, f, 600), 0);
	assert_true(fw.cap <= 1024);
	assert_int_equal(ila_frame_writer_append(&fw, f, 600), -ENOBUFS);
	ila_frame_writer_limit(&fw, 0);
	make_frame(f, 4096, 2);
	assert_int_equal(ila_frame_writer_append(&fw, f, 4096), 0);
	assert_int_equal(ila_frame_writer_pending(&fw), 600 + 4096);
	ila_frame_writer_free(&fw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_byte_by_byte),
		cmocka_unit_test(test_reader_several_frames_one_feed),
		cmocka_unit_test(test_reader_header_split),
		cmocka_unit_test(test_reader_bad_version_early),
		cmocka_unit_test(test_reader_bad_length_early),
		cmocka_unit_test(test_reader_max_frame),
		cmocka_unit_test(test_reader_full_buffer),
		cmocka_unit_test(test_socket_partial_and_eagain),
		cmocka_unit_test(test_socket_eof_mid_frame),
		cmocka_unit_test(test_socket_eof_clean),
		cmocka_unit_test(test_socket_bad_fd),
		cmocka_unit_test(test_writer_partial_writes),
		cmocka_unit_test(test_writer_enobufs),
		cmocka_unit_test(test_writer_put_msg),
		cmocka_unit_test(test_writer_peek_consume),
		cmocka_unit_test(test_writer_epipe),
		cmocka_unit_test(test_reader_limit),
		cmocka_unit_test(test_reader_release),
		cmocka_unit_test(test_writer_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
