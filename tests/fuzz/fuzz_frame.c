/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the frame reader and the message codec. The input is a
 * byte stream: it goes through the reader in chunks whose sizes derive from
 * the input, and every complete frame is decoded. A frame that decodes must
 * re-encode, decode again to the same message, and encode to the same bytes
 * (round-trip oracle); any difference aborts. The whole input is also
 * decoded as one frame.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "frame.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz_frame: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                     \
		}                                                                    \
	} while (0)

static bool record_equal(const struct ila_record *a, const struct ila_record *b)
{
	if (a->family != b->family || a->vn != b->vn || a->seq != b->seq ||
	    a->lifetime != b->lifetime || a->state != b->state || a->flags != b->flags ||
	    a->has_standby != b->has_standby || a->has_prev != b->has_prev ||
	    strcmp(a->node, b->node) != 0 || memcmp(a->loc.b, b->loc.b, 8) != 0)
		return false;
	if (a->family == AF_INET6 && memcmp(&a->addr6, &b->addr6, 16) != 0)
		return false;
	if (a->family == AF_INET && memcmp(&a->addr4, &b->addr4, 4) != 0)
		return false;
	if (a->has_standby && memcmp(a->standby.b, b->standby.b, 8) != 0)
		return false;
	if (a->has_prev && memcmp(a->prev.b, b->prev.b, 8) != 0)
		return false;
	return true;
}

static bool msg_equal(const struct ila_msg *a, const struct ila_msg *b)
{
	if (a->type != b->type || a->flags != b->flags || a->xid != b->xid || a->nrec != b->nrec)
		return false;
	for (size_t i = 0; i < a->nrec; i++)
		if (!record_equal(&a->rec[i], &b->rec[i]))
			return false;
	switch (a->type) {
	case ILA_MSG_OPEN:
		return strcmp(a->open.node, b->open.node) == 0 &&
		       strcmp(a->open.sw_version, b->open.sw_version) == 0 &&
		       a->open.caps == b->open.caps && a->open.keepalive_ms == b->open.keepalive_ms &&
		       a->open.dead_ms == b->open.dead_ms && a->open.role == b->open.role;
	case ILA_MSG_QUERY:
	case ILA_MSG_SUBSCRIBE:
	case ILA_MSG_UNSUBSCRIBE:
		return a->sub.vn == b->sub.vn && a->sub.resume_seq == b->sub.resume_seq &&
		       a->sub.flags == b->sub.flags;
	case ILA_MSG_PUSH:
		return a->push.vn == b->push.vn && a->push.flags == b->push.flags &&
		       a->push.high_seq == b->push.high_seq;
	case ILA_MSG_ACK:
		return a->ack.has_count == b->ack.has_count && a->ack.count == b->ack.count &&
		       a->ack.nstatus == b->ack.nstatus &&
		       (a->ack.nstatus == 0 ||
			memcmp(a->ack.status, b->ack.status, 2 * a->ack.nstatus) == 0);
	case ILA_MSG_ERROR:
		if (a->error.code != b->error.code || strcmp(a->error.text, b->error.text) != 0 ||
		    a->error.family != b->error.family)
			return false;
		if (a->error.family == AF_INET6)
			return memcmp(&a->error.addr6, &b->error.addr6, 16) == 0;
		if (a->error.family == AF_INET)
			return memcmp(&a->error.addr4, &b->error.addr4, 4) == 0;
		return true;
	}
	return true;
}

/* Decodes one frame; if it is valid, checks the round trip. */
static void check_frame(const uint8_t *frame, size_t len)
{
	struct ila_msg m, m2;
	uint8_t *enc, *enc2;
	size_t elen, elen2;
	int rc = ila_msg_decode(frame, len, &m);

	if (rc < 0) {
		CHECK(m.rec == NULL && m.nrec == 0);
		return;
	}
	CHECK(rc == 0);
	elen = ila_msg_encoded_len(&m);
	CHECK(elen >= ILA_PROTO_HDR_LEN && elen <= len); /* unknown TLVs are dropped */
	enc = malloc(elen);
	CHECK(enc != NULL);
	CHECK(ila_msg_encode(&m, enc, elen, &elen2) == 0 && elen2 == elen);
	CHECK(ila_msg_decode(enc, elen, &m2) == 0);
	CHECK(msg_equal(&m, &m2));
	enc2 = malloc(elen);
	CHECK(enc2 != NULL);
	CHECK(ila_msg_encode(&m2, enc2, elen, &elen2) == 0 && elen2 == elen);
	CHECK(memcmp(enc, enc2, elen) == 0);
	free(enc2);
	free(enc);
	ila_msg_free(&m2);
	ila_msg_free(&m);
}

/* FNV-1a of the input seeds the chunk sizes, so the same input always
 * splits the same way while different inputs split differently. */
static uint64_t seed_of(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	return h | 1;
}

static size_t next_chunk(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	switch (*s % 4) {
	case 0:
		return 1;
	case 1:
		return 1 + (*s >> 8) % 13; /* around header sizes */
	case 2:
		return 1 + (*s >> 8) % 300;
	default:
		return 1 + (*s >> 8) % 70000;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ila_frame_reader fr;
	uint64_t s = seed_of(data, size);
	size_t off = 0;
	int rc = 0;

	check_frame(data, size);

	ila_frame_reader_init(&fr);
	while (off < size && rc >= 0) {
		size_t want = next_chunk(&s);
		size_t k = size - off < want ? size - off : want;
		ssize_t taken = ila_frame_reader_feed(&fr, data + off, k);
		const uint8_t *frame;
		size_t flen;

		CHECK(taken >= 0);
		off += (size_t)taken;
		while ((rc = ila_frame_reader_next(&fr, &frame, &flen)) == 1) {
			CHECK(flen >= ILA_PROTO_HDR_LEN && flen <= ILA_PROTO_MAX_FRAME);
			CHECK(frame[0] == ILA_PROTO_VERSION);
			check_frame(frame, flen);
		}
		CHECK(rc == 0 || rc == -ILA_PERR_BAD_VERSION || rc == -ILA_PERR_BAD_LENGTH);
		/* a reader that took nothing must have been full of frames, now taken */
		CHECK(taken > 0 || k == 0 || rc < 0 || ila_frame_reader_pending(&fr) < ILA_PROTO_MAX_FRAME);
		CHECK(ila_frame_reader_pending(&fr) <= ILA_PROTO_MAX_FRAME);
	}
	ila_frame_reader_free(&fr);
	return 0;
}
