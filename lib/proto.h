/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ilad <-> ila-mapper protocol (doc/protocol.md): message types, TLV
 * numbers, error codes, the decoded form of a message, and its codec.
 *
 * The codec is pure: it works on caller buffers, allocates only the record
 * (or status) array of a decoded message, never reads past the bytes it is
 * given and rejects every kind of malformed frame with its own error code.
 * The same codes travel in ERROR messages and in per-record ACK statuses.
 */
#ifndef ILA_PROTO_H
#define ILA_PROTO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define ILA_PROTO_VERSION 1
#define ILA_PROTO_PORT 7787		/* TCP, TLS 1.3 */
#define ILA_PROTO_HDR_LEN 12
#define ILA_PROTO_TLV_HDR_LEN 4
#define ILA_PROTO_MAX_FRAME (256 * 1024) /* whole frame, header included */
#define ILA_PROTO_MAX_RECORDS 1024	/* records, addresses or statuses per message */
#define ILA_PROTO_NAME_MAX 63		/* node names: 1..63 bytes of UTF-8 */
#define ILA_PROTO_SWVER_MAX 63		/* software version: 0..63 bytes */
#define ILA_PROTO_TEXT_MAX 255		/* ERROR text: 0..255 bytes */
/* The largest encoded RECORD TLV (every field, a 63-byte owner name): 1024 of
 * them plus the message TLVs always fit in ILA_PROTO_MAX_FRAME. */
#define ILA_PROTO_MAX_RECORD_LEN 168

/* Header flag bits 0xff00 are critical: a receiver refuses a frame with a
 * critical bit it does not know. Bits 0x00ff are advisory and ignored. None
 * is defined in version 1. */
#define ILA_HDR_F_CRITICAL 0xff00u
#define ILA_HDR_F_KNOWN 0x0000u

enum ila_msg_type {
	ILA_MSG_OPEN = 1,
	ILA_MSG_KEEPALIVE = 2,
	ILA_MSG_REGISTER = 3,
	ILA_MSG_DEREGISTER = 4,
	ILA_MSG_QUERY = 5,
	ILA_MSG_REPLY = 6,
	ILA_MSG_SUBSCRIBE = 7,
	ILA_MSG_UNSUBSCRIBE = 8,
	ILA_MSG_PUSH = 9,
	ILA_MSG_ACK = 10,
	ILA_MSG_ERROR = 11,
};
#define ILA_MSG_TYPE_MAX ILA_MSG_ERROR

/* TLV types. Bit 0x8000 (mandatory) is part of the number: a receiver that
 * does not know a type (or does not expect it in that message or record)
 * refuses it when the bit is set and skips it otherwise. */
#define ILA_TLV_MANDATORY 0x8000u
enum ila_tlv_type {
	ILA_TLV_NODE_NAME = 0x8001,	/* string 1..63: OPEN */
	ILA_TLV_CAPS = 0x8002,		/* u32: OPEN */
	ILA_TLV_KEEPALIVE_MS = 0x8003,	/* u32: OPEN */
	ILA_TLV_DEAD_MS = 0x8004,	/* u32: OPEN */
	ILA_TLV_ROLE = 0x8005,		/* u8: OPEN */
	ILA_TLV_SW_VERSION = 0x0006,	/* string 0..63: OPEN */
	ILA_TLV_VN = 0x8007,		/* u32: QUERY, (UN)SUBSCRIBE, PUSH, record */
	ILA_TLV_JSEQ = 0x8008,		/* u64: SUBSCRIBE (resume), PUSH (highest) */
	ILA_TLV_MSG_FLAGS = 0x8009,	/* u32: QUERY, SUBSCRIBE, PUSH */
	ILA_TLV_COUNT = 0x000a,		/* u32: ACK */
	ILA_TLV_STATUS = 0x800b,	/* u16 list: ACK */
	ILA_TLV_ERROR_CODE = 0x800c,	/* u16: ERROR */
	ILA_TLV_ERROR_TEXT = 0x000d,	/* string 0..255: ERROR */
	ILA_TLV_RECORD = 0x800e,	/* nested fields: REGISTER, DEREGISTER, REPLY, PUSH */
	ILA_TLV_ADDR6 = 0x800f,		/* 16 bytes: record, QUERY, ERROR */
	ILA_TLV_ADDR4 = 0x8010,		/* 4 bytes: record, QUERY, ERROR */
	ILA_TLV_LOCATOR = 0x8011,	/* 8 bytes: record */
	ILA_TLV_STANDBY = 0x8012,	/* 8 bytes: record */
	ILA_TLV_SEQ = 0x8013,		/* u64: record */
	ILA_TLV_LIFETIME = 0x8014,	/* u32 seconds: record */
	ILA_TLV_STATE = 0x8015,		/* u8: record */
	ILA_TLV_REC_FLAGS = 0x8016,	/* u32: record */
	ILA_TLV_OWNER = 0x0017,		/* string 1..63: record (REPLY, PUSH) */
	ILA_TLV_PREV_LOCATOR = 0x0018,	/* 8 bytes: record (PUSH) */
	ILA_TLV_DIRECTORY = 0x0019,	/* u64: OPEN (mapper): the store its positions are of */
};

/* OPEN capabilities; the session uses the intersection of both sides'. */
#define ILA_CAP_ADDR4 0x00000001u	/* IPv4 workload records */
#define ILA_CAP_STANDBY 0x00000002u	/* standby locators, warm prepare, failover */
#define ILA_CAP_ANYCAST 0x00000004u	/* ILA_REC_F_ANYCAST records */
#define ILA_CAP_WATCH 0x00000008u	/* QUERY flags WATCH and RELEASE, PUSH flag WATCHED */

enum ila_role {
	ILA_ROLE_NODE = 1,
	ILA_ROLE_MAPPER = 2,
};

enum ila_record_state {
	ILA_STATE_UP = 0,
	ILA_STATE_DOWN = 1,	/* known, not reachable: answer senders unreachable */
	ILA_STATE_FROZEN = 2,	/* move damping: pinned to its locator */
	ILA_STATE_REMOVED = 3,	/* DEREGISTER target and PUSH of a deletion */
};
#define ILA_STATE_MAX ILA_STATE_REMOVED

/* Record flags (ILA_TLV_REC_FLAGS); unknown bits are carried, not refused. */
#define ILA_REC_F_STANDBY_REG 0x00000001u /* REGISTER: LOCATOR is offered as standby */
#define ILA_REC_F_ANYCAST 0x00000002u	  /* one record per serving node */
#define ILA_REC_F_PROMOTED 0x00000004u	  /* the standby took over after a failure */

/* QUERY flags (with ILA_CAP_WATCH) */
#define ILA_QUERY_F_WATCH 0x00000001u	/* remember the interest: push the changes */
#define ILA_QUERY_F_RELEASE 0x00000002u /* forget the interest: answered by an empty REPLY */
/* SUBSCRIBE flags */
#define ILA_SUB_F_NO_SNAPSHOT 0x00000001u /* with resume 0: changes from now on only */
/* PUSH flags */
#define ILA_PUSH_F_SNAPSHOT_BEGIN 0x00000001u
#define ILA_PUSH_F_SNAPSHOT_END 0x00000002u
#define ILA_PUSH_F_MORE 0x00000004u	/* more frames of this batch follow */
#define ILA_PUSH_F_DIRECTED 0x00000008u /* to the previous owner, not a subscriber */
#define ILA_PUSH_F_WATCHED 0x00000010u	/* to a node that queried with WATCH */

/*
 * Error codes: the ERROR message code and ACK statuses on the wire, and the
 * decoder's return value negated. They start at 0x101, above every errno
 * value, so a negative return can be told apart from a -errno one.
 */
enum ila_proto_err {
	ILA_PERR_OK = 0,
	/* malformed messages */
	ILA_PERR_SHORT_HEADER = 0x101,
	ILA_PERR_BAD_VERSION = 0x102,
	ILA_PERR_BAD_LENGTH = 0x103,
	ILA_PERR_TRUNCATED = 0x104,
	ILA_PERR_TRAILING = 0x105,
	ILA_PERR_UNKNOWN_TYPE = 0x106,
	ILA_PERR_FLAGS = 0x107,
	ILA_PERR_TLV_TRUNCATED = 0x108,
	ILA_PERR_TLV_LENGTH = 0x109,
	ILA_PERR_TLV_DUPLICATE = 0x10a,
	ILA_PERR_TLV_MISSING = 0x10b,
	ILA_PERR_TLV_UNKNOWN = 0x10c,
	ILA_PERR_BAD_VALUE = 0x10d,
	ILA_PERR_TOO_MANY_RECORDS = 0x10e,
	ILA_PERR_RECORD_MALFORMED = 0x10f,
	/* refusals by the protocol engine */
	ILA_PERR_NOT_AUTHORISED = 0x201,
	ILA_PERR_VN_UNKNOWN = 0x202,
	ILA_PERR_ADDR_OUTSIDE_VN = 0x203,
	ILA_PERR_STALE_SEQ = 0x204,
	ILA_PERR_FROZEN = 0x205,
	ILA_PERR_NOT_SUBSCRIBED = 0x206,
	ILA_PERR_INTERNAL = 0x207,
	ILA_PERR_OVERLOADED = 0x208,
	ILA_PERR_UNEXPECTED = 0x209,
	ILA_PERR_HOLD_EXPIRED = 0x20a,
	ILA_PERR_NO_MAPPING = 0x20b,
	ILA_PERR_UNSUPPORTED = 0x20c,
	ILA_PERR_CEASE = 0x20d,
	ILA_PERR_QUOTA = 0x20e,		/* a mapping quota or the registration rate */
	ILA_PERR_SEQ_EXHAUSTED = 0x20f,	/* the number would pass ILA_SEQ_LIMIT */
	ILA_PERR_UNAVAILABLE = 0x210,	/* the mapper cannot reach its store: try another */
};

/* The highest sequence number a node may ask for (REGISTER, DEREGISTER, or
 * a tie the mapper breaks with +1): 2^64 - 2^32. The numbers above it are
 * left to the mapper's own changes (expiry, freeze end, promotion), so that
 * every change still gets a higher number; none ever wraps. */
#define ILA_SEQ_LIMIT (UINT64_MAX - UINT32_MAX)

/* A mapping record. Which fields a message carries is in doc/protocol.md;
 * the others are zero after decoding and ignored by the encoder. */
struct ila_record {
	int family;		/* AF_INET6: addr6 (SIR address); AF_INET: addr4 */
	struct in6_addr addr6;
	struct in_addr addr4;
	uint32_t vn;
	struct ila_locator loc;
	struct ila_locator standby;	/* when has_standby */
	struct ila_locator prev;	/* when has_prev */
	bool has_standby;
	bool has_prev;
	uint8_t state;		/* enum ila_record_state */
	uint32_t flags;		/* ILA_REC_F_* */
	uint32_t lifetime;	/* seconds */
	uint64_t seq;
	char node[ILA_PROTO_NAME_MAX + 1]; /* owner node name; "" = absent */
};

struct ila_msg_open {
	char node[ILA_PROTO_NAME_MAX + 1];
	char sw_version[ILA_PROTO_SWVER_MAX + 1]; /* "" = absent */
	uint32_t caps;
	uint32_t keepalive_ms;
	uint32_t dead_ms;
	uint8_t role;		/* enum ila_role */
	/* mapper: the directory it serves (0: not said); mappers with the same
	 * one share a store, and a node's journal positions hold on all */
	uint64_t directory;
};

/* QUERY, SUBSCRIBE and UNSUBSCRIBE (QUERY uses vn and flags, UNSUBSCRIBE vn only). */
struct ila_msg_sub {
	uint32_t vn;
	uint64_t resume_seq;	/* journal position to resume after; 0: snapshot */
	uint32_t flags;		/* ILA_SUB_F_*, or ILA_QUERY_F_* */
};

struct ila_msg_push {
	uint32_t vn;
	uint32_t flags;		/* ILA_PUSH_F_* */
	uint64_t high_seq;	/* journal position reached with this frame */
};

struct ila_msg_ack {
	bool has_count;
	uint32_t count;		/* records of the request that were accepted */
	uint16_t *status;	/* one code per record of the request; 0 = accepted */
	size_t nstatus;		/* 0: no status list */
};

struct ila_msg_error {
	uint16_t code;		/* enum ila_proto_err, never 0 */
	char text[ILA_PROTO_TEXT_MAX + 1];
	int family;		/* 0, or the offending record's address family */
	struct in6_addr addr6;
	struct in_addr addr4;
};

/*
 * A decoded message. rec/nrec hold the records of REGISTER, DEREGISTER,
 * REPLY and PUSH, and the queried addresses of QUERY (family and address,
 * vn copied from the query). After ila_msg_decode() the arrays belong to the
 * message and ila_msg_free() releases them; for encoding they are the
 * caller's.
 */
struct ila_msg {
	uint8_t type;		/* enum ila_msg_type */
	uint16_t flags;		/* header flags */
	uint32_t xid;
	union {
		struct ila_msg_open open;
		struct ila_msg_sub sub;	/* QUERY, SUBSCRIBE, UNSUBSCRIBE */
		struct ila_msg_push push;
		struct ila_msg_ack ack;
		struct ila_msg_error error;
	};
	struct ila_record *rec;
	size_t nrec;
};

/*
 * Decodes one whole frame of exactly len bytes into out (which need not be
 * initialised). Returns 0, or a negative enum ila_proto_err. On error out
 * holds no allocation; once the header was readable (every code but
 * SHORT_HEADER and BAD_VERSION) out->type, out->flags and out->xid are set,
 * so the caller can answer with an ERROR carrying that xid. Returns -ENOMEM
 * (an errno, not a protocol code) when allocation fails.
 */
int ila_msg_decode(const uint8_t *buf, size_t len, struct ila_msg *out);

/* Releases what ila_msg_decode() allocated and zeroes m. */
void ila_msg_free(struct ila_msg *m);

/*
 * Encodes m into buf. Returns 0 and the frame length in *len, -ENOSPC when
 * cap is too small (nothing useful is written; *len still tells the size
 * needed), or -EINVAL when m is not something the decoder would accept.
 */
int ila_msg_encode(const struct ila_msg *m, uint8_t *buf, size_t cap, size_t *len);

/* The length ila_msg_encode() would produce, or 0 if m is invalid. */
size_t ila_msg_encoded_len(const struct ila_msg *m);

/*
 * Splits a message with many records into frames within the limits. The
 * template is a REGISTER, DEREGISTER, QUERY, REPLY or PUSH whose rec/nrec
 * hold every record; each call to ila_msg_batch_next() fills out with a
 * shallow copy pointing at the next slice (at most max_records, or
 * ILA_PROTO_MAX_RECORDS when 0). For PUSH, SNAPSHOT_BEGIN stays on the first
 * frame only, SNAPSHOT_END on the last only, and MORE is set on all but the
 * last. The caller sets out->xid and encodes. A template without records
 * yields one frame. Returns 1 with a frame, 0 when done.
 */
struct ila_msg_batch {
	struct ila_msg tmpl;
	size_t max_records;
	size_t pos;
	bool done;
};

void ila_msg_batch_init(struct ila_msg_batch *b, const struct ila_msg *tmpl, size_t max_records);
int ila_msg_batch_next(struct ila_msg_batch *b, struct ila_msg *out);

/* Names for logs and JSON; "?" for unknown values. */
const char *ila_msg_type_name(int type);	/* "open", "register", ... */
const char *ila_record_state_name(int state);	/* "up", "down", "frozen", "removed" */
const char *ila_role_name(int role);		/* "node", "mapper" */
const char *ila_tlv_type_name(int type);	/* "vn", "locator", ... */
/* "short-header", "stale-seq", ...: sign ignored; "ok" for 0. */
const char *ila_proto_err_name(int code);
/* A sentence for a protocol code or an errno value, either sign. */
const char *ila_proto_strerror(int code);

#endif
