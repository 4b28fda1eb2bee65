/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Framing of the mapping protocol over a byte stream (TCP, or TLS on top of
 * it): a reader that reassembles frames from partial reads on a
 * non-blocking socket, and a bounded output queue that survives partial
 * writes. Neither looks inside a frame beyond its 12-byte header.
 */
#ifndef ILA_FRAME_H
#define ILA_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ila_msg;

/* Room the reader asks for at a time when it does not know the frame size. */
#define ILA_FRAME_READ_CHUNK 16384
/* Buffers larger than this are released once empty, so that thousands of
 * idle sessions do not each keep the memory of their largest frame. */
#define ILA_FRAME_KEEP_BYTES 65536
/* Default bound of a writer's queue. */
#define ILA_FRAME_WRITER_DEFAULT_LIMIT (4 * 1024 * 1024)

/*
 * Reader. It holds at most ILA_PROTO_MAX_FRAME bytes: the caller takes every
 * complete frame with ila_frame_reader_next() (until it returns 0) before
 * reading again. A bad header is an error that sticks: the stream has lost
 * its framing and the session must be closed.
 */
struct ila_frame_reader {
	uint8_t *buf;
	size_t cap;	/* allocated */
	size_t start;	/* first byte not yet returned as a frame */
	size_t end;	/* one past the last byte held */
	int err;	/* sticky negative enum ila_proto_err, or 0 */
	size_t max;	/* largest frame taken (ILA_PROTO_MAX_FRAME unless limited) */
};

void ila_frame_reader_init(struct ila_frame_reader *fr);
void ila_frame_reader_free(struct ila_frame_reader *fr);

/*
 * Bounds the frames the reader takes, and so its buffer, to max bytes
 * (ILA_PROTO_HDR_LEN .. ILA_PROTO_MAX_FRAME; 0 restores ILA_PROTO_MAX_FRAME).
 * A header announcing more is -ILA_PERR_BAD_LENGTH. For a peer not yet
 * authenticated, whose only frame is a small OPEN.
 */
void ila_frame_reader_limit(struct ila_frame_reader *fr, size_t max);

/*
 * Copies up to n bytes in (from SSL_read() or a test). Returns how many were
 * taken: fewer than n only when the buffer is full of complete frames the
 * caller has not taken yet. -ENOMEM on allocation failure.
 */
ssize_t ila_frame_reader_feed(struct ila_frame_reader *fr, const void *data, size_t n);

/*
 * Zero-copy form of feed: *p and the return value give free space to fill
 * (0 when full, see above; -ENOMEM), and commit() accounts the bytes written
 * there. The space is invalidated by any other call on the reader.
 */
ssize_t ila_frame_reader_space(struct ila_frame_reader *fr, uint8_t **p);
void ila_frame_reader_commit(struct ila_frame_reader *fr, size_t n);

/*
 * One read() of what is available. Returns the number of bytes read, 0 at
 * end of file (ila_frame_reader_pending() tells whether a frame was cut
 * short), -EAGAIN when nothing is available, -ENOBUFS when the buffer is
 * full of frames not taken, or another -errno.
 */
ssize_t ila_frame_reader_read_fd(struct ila_frame_reader *fr, int fd);

/*
 * Returns 1 with the next complete frame in *frame and *len (valid until the
 * next feed, space or read_fd call), 0 when more bytes are needed, or
 * -ILA_PERR_BAD_VERSION / -ILA_PERR_BAD_LENGTH as soon as the header shows
 * that no valid frame can follow, without waiting for its body.
 */
int ila_frame_reader_next(struct ila_frame_reader *fr, const uint8_t **frame, size_t *len);

/* Bytes held that are not yet part of a returned frame. */
size_t ila_frame_reader_pending(const struct ila_frame_reader *fr);

/*
 * Frees the buffer when it holds no such bytes, so that a connection that
 * waits (a peer not yet authenticated) costs no buffer; the next space,
 * feed or read_fd allocates one again. The limit and a sticky error stay.
 * Like feed, it invalidates the last frame returned by next.
 */
void ila_frame_reader_release(struct ila_frame_reader *fr);

/*
 * Writer: a queue of encoded frames, kept in one buffer, bounded by limit
 * bytes so that a peer that does not read cannot make us hold unbounded
 * memory. Appends are all or nothing.
 */
struct ila_frame_writer {
	uint8_t *buf;
	size_t cap;
	size_t start;	/* first byte not yet written out */
	size_t end;
	size_t limit;
};

/* limit 0 means ILA_FRAME_WRITER_DEFAULT_LIMIT. */
void ila_frame_writer_init(struct ila_frame_writer *fw, size_t limit);
void ila_frame_writer_free(struct ila_frame_writer *fw);
/* Changes the bound of the queue (0: the default); what is queued stays. */
void ila_frame_writer_limit(struct ila_frame_writer *fw, size_t limit);

/* Queues a frame. 0, -ENOBUFS when the queue would exceed its limit (nothing
 * is queued), -EINVAL for len 0, -ENOMEM. */
int ila_frame_writer_append(struct ila_frame_writer *fw, const uint8_t *frame, size_t len);

/* Encodes m straight into the queue. 0, -ENOBUFS, -ENOMEM, or the -EINVAL
 * of ila_msg_encode(). */
int ila_frame_writer_put_msg(struct ila_frame_writer *fw, const struct ila_msg *m);

/*
 * Writes queued bytes to fd until the queue is empty or the socket is full.
 * Returns 0 when everything was written, -EAGAIN when bytes remain (wait
 * until fd is writable), or another -errno (-EPIPE: the peer is gone; no
 * SIGPIPE is raised on sockets).
 */
int ila_frame_writer_flush_fd(struct ila_frame_writer *fw, int fd);

/*
 * For TLS: the queued bytes, then how many SSL_write() took. The buffer can
 * move when frames are appended, so the SSL object needs
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER (and SSL_MODE_ENABLE_PARTIAL_WRITE).
 */
size_t ila_frame_writer_peek(const struct ila_frame_writer *fw, const uint8_t **p);
void ila_frame_writer_consume(struct ila_frame_writer *fw, size_t n);

/* Bytes queued, and room left before the limit. */
size_t ila_frame_writer_pending(const struct ila_frame_writer *fw);
size_t ila_frame_writer_room(const struct ila_frame_writer *fw);

#endif
