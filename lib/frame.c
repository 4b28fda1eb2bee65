/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "proto.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Reader */

void ila_frame_reader_init(struct ila_frame_reader *fr)
{
	memset(fr, 0, sizeof(*fr));
	fr->max = ILA_PROTO_MAX_FRAME;
}

void ila_frame_reader_limit(struct ila_frame_reader *fr, size_t max)
{
	if (max == 0 || max > ILA_PROTO_MAX_FRAME)
		max = ILA_PROTO_MAX_FRAME;
	if (max < ILA_PROTO_HDR_LEN)
		max = ILA_PROTO_HDR_LEN;
	fr->max = max;
}

void ila_frame_reader_free(struct ila_frame_reader *fr)
{
	free(fr->buf);
	ila_frame_reader_init(fr);
}

size_t ila_frame_reader_pending(const struct ila_frame_reader *fr)
{
	return fr->end - fr->start;
}

void ila_frame_reader_release(struct ila_frame_reader *fr)
{
	if (fr->end != fr->start)
		return;
	free(fr->buf);
	fr->buf = NULL;
	fr->cap = fr->start = fr->end = 0;
}

/* Size of the frame that starts the held bytes, when its header says one. */
static size_t next_frame_len(const struct ila_frame_reader *fr)
{
	uint32_t len;

	if (fr->end - fr->start < 8)
		return 0;
	len = ila_get_be32(fr->buf + fr->start + 4);
	return len <= fr->max ? len : 0;
}

ssize_t ila_frame_reader_space(struct ila_frame_reader *fr, uint8_t **p)
{
	size_t held = fr->end - fr->start;
	size_t want, ncap, chunk = fr->max < ILA_FRAME_READ_CHUNK ? fr->max : ILA_FRAME_READ_CHUNK;

	if (held == 0) {
		fr->start = fr->end = 0;
		if (fr->cap > ILA_FRAME_KEEP_BYTES) {
			free(fr->buf);
			fr->buf = NULL;
			fr->cap = 0;
		}
	} else if (fr->start) {
		/* frames already returned are given up here, as documented */
		memmove(fr->buf, fr->buf + fr->start, held);
		fr->start = 0;
		fr->end = held;
	}
	/* room for the frame being received; beyond it, only when full */
	want = chunk;
	if (next_frame_len(fr) > want)
		want = next_frame_len(fr);
	if (want <= held)
		want = held + chunk;
	if (want > fr->max)
		want = fr->max;
	if (fr->cap < want) {
		ncap = fr->cap ? fr->cap : chunk;
		while (ncap < want)
			ncap *= 2;
		if (ncap > fr->max)
			ncap = fr->max;
		uint8_t *nb = realloc(fr->buf, ncap);

		if (!nb)
			return -ENOMEM;
		fr->buf = nb;
		fr->cap = ncap;
	}
	*p = fr->buf + fr->end;
	return (ssize_t)(fr->cap - fr->end);
}

void ila_frame_reader_commit(struct ila_frame_reader *fr, size_t n)
{
	fr->end += n;
}

ssize_t ila_frame_reader_feed(struct ila_frame_reader *fr, const void *data, size_t n)
{
	const uint8_t *d = data;
	size_t taken = 0;

	while (taken < n) {
		uint8_t *p;
		ssize_t room = ila_frame_reader_space(fr, &p);

		if (room < 0)
			return room;
		if (room == 0)
			break;
		size_t k = n - taken < (size_t)room ? n - taken : (size_t)room;

		memcpy(p, d + taken, k);
		ila_frame_reader_commit(fr, k);
		taken += k;
	}
	return (ssize_t)taken;
}

ssize_t ila_frame_reader_read_fd(struct ila_frame_reader *fr, int fd)
{
	uint8_t *p;
	ssize_t room = ila_frame_reader_space(fr, &p);
	ssize_t r;

	if (room < 0)
		return room;
	if (room == 0)
		return -ENOBUFS;
	do
		r = read(fd, p, (size_t)room);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	ila_frame_reader_commit(fr, (size_t)r);
	return r;
}

int ila_frame_reader_next(struct ila_frame_reader *fr, const uint8_t **frame, size_t *len)
{
	size_t held = fr->end - fr->start;
	const uint8_t *h;
	uint32_t flen;

	if (fr->err)
		return fr->err;
	if (held == 0)
		return 0;
	h = fr->buf + fr->start;
	/* each header field is judged as soon as it has arrived */
	if (h[0] != ILA_PROTO_VERSION)
		return fr->err = -ILA_PERR_BAD_VERSION;
	if (held < 8)
		return 0;
	flen = ila_get_be32(h + 4);
	if (flen < ILA_PROTO_HDR_LEN || flen > fr->max)
		return fr->err = -ILA_PERR_BAD_LENGTH;
	if (held < flen)
		return 0;
	*frame = h;
	*len = flen;
	fr->start += flen;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Writer */

void ila_frame_writer_init(struct ila_frame_writer *fw, size_t limit)
{
	memset(fw, 0, sizeof(*fw));
	fw->limit = limit ? limit : ILA_FRAME_WRITER_DEFAULT_LIMIT;
}

void ila_frame_writer_limit(struct ila_frame_writer *fw, size_t limit)
{
	fw->limit = limit ? limit : ILA_FRAME_WRITER_DEFAULT_LIMIT;
}

void ila_frame_writer_free(struct ila_frame_writer *fw)
{
	free(fw->buf);
	memset(fw, 0, sizeof(*fw));
}

size_t ila_frame_writer_pending(const struct ila_frame_writer *fw)
{
	return fw->end - fw->start;
}

size_t ila_frame_writer_room(const struct ila_frame_writer *fw)
{
	size_t held = fw->end - fw->start;

	return held < fw->limit ? fw->limit - held : 0;
}

/* Makes n contiguous bytes free after end; the caller checked the limit. */
static int reserve(struct ila_frame_writer *fw, size_t n)
{
	size_t held = fw->end - fw->start;

	if (fw->cap - fw->end >= n)
		return 0;
	if (fw->start) {
		memmove(fw->buf, fw->buf + fw->start, held);
		fw->start = 0;
		fw->end = held;
		if (fw->cap - fw->end >= n)
			return 0;
	}
	size_t ncap = fw->cap ? fw->cap : fw->limit < 4096 ? fw->limit : 4096;

	while (ncap - held < n)
		ncap *= 2;
	uint8_t *nb = realloc(fw->buf, ncap);

	if (!nb)
		return -ENOMEM;
	fw->buf = nb;
	fw->cap = ncap;
	return 0;
}

int ila_frame_writer_append(struct ila_frame_writer *fw, const uint8_t *frame, size_t len)
{
	int rc;

	if (len == 0)
		return -EINVAL;
	if (len > ila_frame_writer_room(fw))
		return -ENOBUFS;
	rc = reserve(fw, len);
	if (rc < 0)
		return rc;
	memcpy(fw->buf + fw->end, frame, len);
	fw->end += len;
	return 0;
}

int ila_frame_writer_put_msg(struct ila_frame_writer *fw, const struct ila_msg *m)
{
	size_t n = ila_msg_encoded_len(m), len;
	int rc;

	if (n == 0)
		return -EINVAL;
	if (n > ila_frame_writer_room(fw))
		return -ENOBUFS;
	rc = reserve(fw, n);
	if (rc < 0)
		return rc;
	rc = ila_msg_encode(m, fw->buf + fw->end, fw->cap - fw->end, &len);
	if (rc < 0)
		return rc;
	fw->end += len;
	return 0;
}

size_t ila_frame_writer_peek(const struct ila_frame_writer *fw, const uint8_t **p)
{
	*p = fw->buf ? fw->buf + fw->start : NULL;
	return fw->end - fw->start;
}

void ila_frame_writer_consume(struct ila_frame_writer *fw, size_t n)
{
	size_t held = fw->end - fw->start;

	fw->start += n < held ? n : held;
	if (fw->start == fw->end) {
		fw->start = fw->end = 0;
		if (fw->cap > ILA_FRAME_KEEP_BYTES) {
			free(fw->buf);
			fw->buf = NULL;
			fw->cap = 0;
		}
	}
}

int ila_frame_writer_flush_fd(struct ila_frame_writer *fw, int fd)
{
	bool sock = true;

	while (fw->end > fw->start) {
		const uint8_t *p = fw->buf + fw->start;
		size_t n = fw->end - fw->start;
		ssize_t r;

		/* send() with MSG_NOSIGNAL: a vanished peer is -EPIPE, not a signal */
		r = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
		if (r < 0 && sock && errno == ENOTSOCK) {
			sock = false;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		ila_frame_writer_consume(fw, (size_t)r);
	}
	return 0;
}
