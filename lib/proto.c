/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Protocol codec: TLV and message rules, value checks, decoder, encoder, batching. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto.h"
#include "util.h"

/*
 * Codec of doc/protocol.md. Which TLVs a message (and a record inside it)
 * may carry, needs, or may repeat is data: one rule per message type, with
 * a bit per known TLV. The decoder and the encoder's validation read the
 * same rules and value checks, so whatever decodes re-encodes and whatever
 * encodes decodes.
 */

/* A bit index per known TLV: the TLV number without the mandatory bit, - 1. */
enum {
	T_NODE_NAME,
	T_CAPS,
	T_KEEPALIVE,
	T_DEAD,
	T_ROLE,
	T_SW_VERSION,
	T_VN,
	T_JSEQ,
	T_MSG_FLAGS,
	T_COUNT,
	T_STATUS,
	T_ERROR_CODE,
	T_ERROR_TEXT,
	T_RECORD,
	T_ADDR6,
	T_ADDR4,
	T_LOCATOR,
	T_STANDBY,
	T_SEQ,
	T_LIFETIME,
	T_STATE,
	T_REC_FLAGS,
	T_OWNER,
	T_PREV,
	T_DIRECTORY,
	T_NTYPES
};

#define B(t) (1u << (t))

struct tlv_desc {
	uint16_t type;
	uint16_t min_len;
	uint16_t max_len;
	const char *name;
};

static const struct tlv_desc tlv_desc[T_NTYPES] = {
	[T_NODE_NAME] = {ILA_TLV_NODE_NAME, 0, ILA_PROTO_NAME_MAX, "node-name"},
	[T_CAPS] = {ILA_TLV_CAPS, 4, 4, "capabilities"},
	[T_KEEPALIVE] = {ILA_TLV_KEEPALIVE_MS, 4, 4, "keepalive-ms"},
	[T_DEAD] = {ILA_TLV_DEAD_MS, 4, 4, "dead-ms"},
	[T_ROLE] = {ILA_TLV_ROLE, 1, 1, "role"},
	[T_SW_VERSION] = {ILA_TLV_SW_VERSION, 0, ILA_PROTO_SWVER_MAX, "sw-version"},
	[T_VN] = {ILA_TLV_VN, 4, 4, "vn"},
	[T_JSEQ] = {ILA_TLV_JSEQ, 8, 8, "journal-seq"},
	[T_MSG_FLAGS] = {ILA_TLV_MSG_FLAGS, 4, 4, "msg-flags"},
	[T_COUNT] = {ILA_TLV_COUNT, 4, 4, "count"},
	[T_STATUS] = {ILA_TLV_STATUS, 2, 0xfffe, "status"},
	[T_ERROR_CODE] = {ILA_TLV_ERROR_CODE, 2, 2, "error-code"},
	[T_ERROR_TEXT] = {ILA_TLV_ERROR_TEXT, 0, ILA_PROTO_TEXT_MAX, "error-text"},
	[T_RECORD] = {ILA_TLV_RECORD, 0, 0xffff, "record"},
	[T_ADDR6] = {ILA_TLV_ADDR6, 16, 16, "addr6"},
	[T_ADDR4] = {ILA_TLV_ADDR4, 4, 4, "addr4"},
	[T_LOCATOR] = {ILA_TLV_LOCATOR, 8, 8, "locator"},
	[T_STANDBY] = {ILA_TLV_STANDBY, 8, 8, "standby-locator"},
	[T_SEQ] = {ILA_TLV_SEQ, 8, 8, "seq"},
	[T_LIFETIME] = {ILA_TLV_LIFETIME, 4, 4, "lifetime"},
	[T_STATE] = {ILA_TLV_STATE, 1, 1, "state"},
	[T_REC_FLAGS] = {ILA_TLV_REC_FLAGS, 4, 4, "record-flags"},
	[T_OWNER] = {ILA_TLV_OWNER, 0, ILA_PROTO_NAME_MAX, "owner"},
	[T_PREV] = {ILA_TLV_PREV_LOCATOR, 8, 8, "prev-locator"},
	[T_DIRECTORY] = {ILA_TLV_DIRECTORY, 8, 8, "directory"},
};

#define ADDRS (B(T_ADDR6) | B(T_ADDR4))
#define REC_COMMON (ADDRS | B(T_VN) | B(T_SEQ) | B(T_STATE))
#define REC_MAPPING (REC_COMMON | B(T_LOCATOR) | B(T_STANDBY) | B(T_LIFETIME) | B(T_REC_FLAGS))
#define REC_MAPPING_REQ (B(T_VN) | B(T_LOCATOR) | B(T_SEQ) | B(T_LIFETIME))
#define ST(s) (1u << (s))

struct msg_rule {
	const char *name;
	uint32_t allowed;	/* TLVs understood at message level */
	uint32_t required;
	uint32_t repeat;	/* TLVs that may occur more than once: the items */
	size_t min_items;	/* records (or QUERY addresses) needed */
	uint32_t rec_allowed;	/* fields understood inside a RECORD */
	uint32_t rec_required;	/* besides exactly one address */
	uint8_t rec_states;	/* record states allowed, a bit per state */
	uint32_t rec_min_lifetime;
};

static const struct msg_rule msg_rules[ILA_MSG_TYPE_MAX + 1] = {
	[ILA_MSG_OPEN] = {
		.name = "open",
		.allowed = B(T_NODE_NAME) | B(T_CAPS) | B(T_KEEPALIVE) | B(T_DEAD) | B(T_ROLE) |
			   B(T_SW_VERSION) | B(T_DIRECTORY),
		.required = B(T_NODE_NAME) | B(T_CAPS) | B(T_KEEPALIVE) | B(T_DEAD) | B(T_ROLE),
	},
	[ILA_MSG_KEEPALIVE] = {
		.name = "keepalive",
	},
	[ILA_MSG_REGISTER] = {
		.name = "register",
		.allowed = B(T_RECORD),
		.required = B(T_RECORD),
		.repeat = B(T_RECORD),
		.min_items = 1,
		.rec_allowed = REC_MAPPING,
		.rec_required = REC_MAPPING_REQ,
		.rec_states = ST(ILA_STATE_UP),
		.rec_min_lifetime = 1,
	},
	[ILA_MSG_DEREGISTER] = {
		.name = "deregister",
		.allowed = B(T_RECORD),
		.required = B(T_RECORD),
		.repeat = B(T_RECORD),
		.min_items = 1,
		/* REC_FLAGS: STANDBY_REG, a standby withdrawing its offer */
		.rec_allowed = REC_COMMON | B(T_REC_FLAGS),
		.rec_required = B(T_VN) | B(T_SEQ) | B(T_STATE),
		.rec_states = ST(ILA_STATE_DOWN) | ST(ILA_STATE_REMOVED),
	},
	[ILA_MSG_QUERY] = {
		.name = "query",
		.allowed = B(T_VN) | B(T_MSG_FLAGS) | ADDRS,
		.required = B(T_VN),
		.repeat = ADDRS,
		.min_items = 1,
	},
	[ILA_MSG_REPLY] = {
		.name = "reply",
		.allowed = B(T_RECORD),
		.repeat = B(T_RECORD),
		.rec_allowed = REC_MAPPING | B(T_OWNER),
		.rec_required = REC_MAPPING_REQ | B(T_STATE),
		/* removed: a tombstone, the number a registration must beat */
		.rec_states = ST(ILA_STATE_UP) | ST(ILA_STATE_DOWN) | ST(ILA_STATE_FROZEN) |
			      ST(ILA_STATE_REMOVED),
	},
	[ILA_MSG_SUBSCRIBE] = {
		.name = "subscribe",
		.allowed = B(T_VN) | B(T_JSEQ) | B(T_MSG_FLAGS),
		.required = B(T_VN) | B(T_JSEQ),
	},
	[ILA_MSG_UNSUBSCRIBE] = {
		.name = "unsubscribe",
		.allowed = B(T_VN),
		.required = B(T_VN),
	},
	[ILA_MSG_PUSH] = {
		.name = "push",
		.allowed = B(T_VN) | B(T_JSEQ) | B(T_MSG_FLAGS) | B(T_RECORD),
		.required = B(T_VN) | B(T_JSEQ),
		.repeat = B(T_RECORD),
		.rec_allowed = REC_MAPPING | B(T_OWNER) | B(T_PREV),
		.rec_required = REC_MAPPING_REQ | B(T_STATE),
		.rec_states = ST(ILA_STATE_UP) | ST(ILA_STATE_DOWN) | ST(ILA_STATE_FROZEN) |
			      ST(ILA_STATE_REMOVED),
	},
	[ILA_MSG_ACK] = {
		.name = "ack",
		.allowed = B(T_COUNT) | B(T_STATUS),
	},
	[ILA_MSG_ERROR] = {
		.name = "error",
		.allowed = B(T_ERROR_CODE) | B(T_ERROR_TEXT) | ADDRS,
		.required = B(T_ERROR_CODE),
	},
};

static const struct msg_rule *msg_rule(int type)
{
	if (type < 1 || type > ILA_MSG_TYPE_MAX)
		return NULL;
	return &msg_rules[type];
}

/* Bit index of a TLV type, or -1 when unknown (the mandatory bit must match). */
static int tlv_index(uint16_t type)
{
	unsigned int i = (type & ~ILA_TLV_MANDATORY) - 1u;

	if (i >= T_NTYPES || tlv_desc[i].type != type)
		return -1;
	return (int)i;
}

/* ------------------------------------------------------------------ */
/* Value checks shared by the decoder and the encoder's validation. */

/*
 * Strings are UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF) without control characters, so they are safe to log.
 */
static bool str_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t more;
		uint32_t cp, min;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		if (cp >= 0x80 && cp <= 0x9f) /* C1 controls */
			return false;
		i += more + 1;
	}
	return true;
}

/* A NUL-terminated string field of the struct: within max bytes, valid. */
static bool cstr_ok(const char *s, size_t max, bool nonempty)
{
	size_t n = strnlen(s, max + 1);

	if (n > max || (nonempty && n == 0))
		return false;
	return str_ok((const uint8_t *)s, n);
}

static bool role_ok(uint32_t role)
{
	return role == ILA_ROLE_NODE || role == ILA_ROLE_MAPPER;
}

/* A dead interval not longer than the keepalive would expire between two
 * keepalives. */
static bool timers_ok(uint32_t keepalive_ms, uint32_t dead_ms)
{
	return keepalive_ms >= 1 && dead_ms > keepalive_ms;
}

static bool state_ok(const struct msg_rule *r, uint32_t state)
{
	return state <= ILA_STATE_MAX && (r->rec_states & ST(state));
}

static size_t count_zero(const uint16_t *st, size_t n)
{
	size_t z = 0;

	for (size_t i = 0; i < n; i++)
		z += st[i] == 0;
	return z;
}

/* COUNT says how many records were accepted; with a status list it must agree. */
static bool ack_ok(const struct ila_msg_ack *a)
{
	return !a->has_count || a->nstatus == 0 || a->count == count_zero(a->status, a->nstatus);
}

/* ------------------------------------------------------------------ */
/* Decoder */

struct tlv {
	uint16_t type;
	uint16_t len;
	const uint8_t *val;
};

/* Reads the TLV at *off within [0, end); false when it does not fit. */
static bool tlv_next(const uint8_t *buf, size_t end, size_t *off, struct tlv *t)
{
	if (end - *off < ILA_PROTO_TLV_HDR_LEN)
		return false;
	t->type = ila_get_be16(buf + *off);
	t->len = ila_get_be16(buf + *off + 2);
	if (end - *off - ILA_PROTO_TLV_HDR_LEN < t->len)
		return false;
	t->val = buf + *off + ILA_PROTO_TLV_HDR_LEN;
	*off += ILA_PROTO_TLV_HDR_LEN + (size_t)t->len;
	return true;
}

/*
 * Common steps for a TLV at message or record level: unknown (or not
 * expected here) -> skip (returns 1) or refuse; then length and repetition.
 * Returns 0 with *idx set when the TLV is to be stored.
 */
static int tlv_admit(const struct tlv *t, uint32_t allowed, uint32_t repeat, uint32_t *seen,
		     int *idx)
{
	int i = tlv_index(t->type);

	if (i < 0 || !(allowed & B(i)))
		return (t->type & ILA_TLV_MANDATORY) ? -ILA_PERR_TLV_UNKNOWN : 1;
	if (t->len < tlv_desc[i].min_len || t->len > tlv_desc[i].max_len)
		return -ILA_PERR_TLV_LENGTH;
	if (i == T_STATUS && (t->len & 1))
		return -ILA_PERR_TLV_LENGTH;
	if ((*seen & B(i)) && !(repeat & B(i)))
		return -ILA_PERR_TLV_DUPLICATE;
	*seen |= B(i);
	*idx = i;
	return 0;
}

/* Copies a string TLV into a NUL-terminated field (its length already checked). */
static int get_str(const struct tlv *t, char *dst, bool nonempty)
{
	if ((nonempty && t->len == 0) || !str_ok(t->val, t->len))
		return -ILA_PERR_BAD_VALUE;
	memcpy(dst, t->val, t->len);
	dst[t->len] = '\0';
	return 0;
}

static int get_vn(const struct tlv *t, uint32_t *vn)
{
	*vn = ila_get_be32(t->val);
	return *vn ? 0 : -ILA_PERR_BAD_VALUE;
}

static int decode_record(const struct msg_rule *r, const uint8_t *val, size_t len,
			 struct ila_record *rec)
{
	uint32_t seen = 0;
	size_t off = 0;
	struct tlv t;
	int rc, i;

	while (off < len) {
		if (!tlv_next(val, len, &off, &t))
			return -ILA_PERR_RECORD_MALFORMED;
		rc = tlv_admit(&t, r->rec_allowed, 0, &seen, &i);
		if (rc == 1)
			continue;
		if (rc < 0)
			return rc;
		switch (i) {
		case T_ADDR6:
		case T_ADDR4:
			/* exactly one address: a second of the other family is ambiguous */
			if (seen & B(i == T_ADDR6 ? T_ADDR4 : T_ADDR6))
				return -ILA_PERR_RECORD_MALFORMED;
			if (i == T_ADDR6) {
				rec->family = AF_INET6;
				memcpy(&rec->addr6, t.val, 16);
			} else {
				rec->family = AF_INET;
				memcpy(&rec->addr4, t.val, 4);
			}
			break;
		case T_VN:
			rc = get_vn(&t, &rec->vn);
			break;
		case T_LOCATOR:
			memcpy(rec->loc.b, t.val, 8);
			break;
		case T_STANDBY:
			memcpy(rec->standby.b, t.val, 8);
			rec->has_standby = true;
			break;
		case T_PREV:
			memcpy(rec->prev.b, t.val, 8);
			rec->has_prev = true;
			break;
		case T_SEQ:
			rec->seq = ila_get_be64(t.val);
			break;
		case T_LIFETIME:
			rec->lifetime = ila_get_be32(t.val);
			if (rec->lifetime < r->rec_min_lifetime)
				rc = -ILA_PERR_BAD_VALUE;
			break;
		case T_STATE:
			rec->state = t.val[0];
			if (!state_ok(r, t.val[0]))
				rc = -ILA_PERR_BAD_VALUE;
			break;
		case T_REC_FLAGS:
			rec->flags = ila_get_be32(t.val);
			break;
		case T_OWNER:
			rc = get_str(&t, rec->node, true);
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (!(seen & ADDRS) || (r->rec_required & ~seen))
		return -ILA_PERR_TLV_MISSING;
	return 0;
}

/*
 * First pass over the message TLVs: the structure (every TLV inside the
 * frame) and the number of items, so that one allocation holds them.
 */
static int scan_body(const struct msg_rule *r, const uint8_t *body, size_t len, size_t *nitems,
		     size_t *nstatus)
{
	size_t off = 0;
	struct tlv t;

	*nitems = 0;
	*nstatus = 0;
	while (off < len) {
		if (!tlv_next(body, len, &off, &t))
			return -ILA_PERR_TLV_TRUNCATED;
		int i = tlv_index(t.type);

		if (i < 0 || !(r->allowed & B(i)))
			continue;
		if (r->repeat & B(i))
			(*nitems)++;
		else if (i == T_STATUS && *nstatus == 0)
			*nstatus = t.len / 2;
		if (*nitems > ILA_PROTO_MAX_RECORDS || *nstatus > ILA_PROTO_MAX_RECORDS)
			return -ILA_PERR_TOO_MANY_RECORDS;
	}
	return 0;
}

static int decode_msg_tlv(struct ila_msg *m, const struct msg_rule *r, int i,
			  const struct tlv *t)
{
	switch (i) {
	case T_NODE_NAME:
		return get_str(t, m->open.node, true);
	case T_SW_VERSION:
		return get_str(t, m->open.sw_version, false);
	case T_DIRECTORY:
		m->open.directory = ila_get_be64(t->val);
		return 0;
	case T_CAPS:
		m->open.caps = ila_get_be32(t->val);
		return 0;
	case T_KEEPALIVE:
		m->open.keepalive_ms = ila_get_be32(t->val);
		return 0;
	case T_DEAD:
		m->open.dead_ms = ila_get_be32(t->val);
		return 0;
	case T_ROLE:
		m->open.role = t->val[0];
		return role_ok(t->val[0]) ? 0 : -ILA_PERR_BAD_VALUE;
	case T_VN:
		/* sub.vn and push.vn share their place in the union */
		return get_vn(t, m->type == ILA_MSG_PUSH ? &m->push.vn : &m->sub.vn);
	case T_JSEQ:
		if (m->type == ILA_MSG_PUSH)
			m->push.high_seq = ila_get_be64(t->val);
		else
			m->sub.resume_seq = ila_get_be64(t->val);
		return 0;
	case T_MSG_FLAGS:
		if (m->type == ILA_MSG_PUSH)
			m->push.flags = ila_get_be32(t->val);
		else
			m->sub.flags = ila_get_be32(t->val);
		return 0;
	case T_COUNT:
		m->ack.has_count = true;
		m->ack.count = ila_get_be32(t->val);
		return 0;
	case T_STATUS:
		for (size_t k = 0; k < m->ack.nstatus; k++)
			m->ack.status[k] = ila_get_be16(t->val + 2 * k);
		return 0;
	case T_ERROR_CODE:
		m->error.code = ila_get_be16(t->val);
		return m->error.code ? 0 : -ILA_PERR_BAD_VALUE;
	case T_ERROR_TEXT:
		return get_str(t, m->error.text, false);
	case T_RECORD:
		return decode_record(r, t->val, t->len, &m->rec[m->nrec++]);
	case T_ADDR6:
	case T_ADDR4:
		if (m->type == ILA_MSG_QUERY) {
			struct ila_record *q = &m->rec[m->nrec++];

			q->family = i == T_ADDR6 ? AF_INET6 : AF_INET;
			memcpy(i == T_ADDR6 ? (void *)&q->addr6 : (void *)&q->addr4, t->val, t->len);
			return 0;
		}
		/* ERROR: at most one offending address, of either family */
		if (m->error.family)
			return -ILA_PERR_TLV_DUPLICATE;
		m->error.family = i == T_ADDR6 ? AF_INET6 : AF_INET;
		memcpy(i == T_ADDR6 ? (void *)&m->error.addr6 : (void *)&m->error.addr4, t->val,
		       t->len);
		return 0;
	}
	return 0;
}

/* Checks between fields, once every TLV is in. */
static int check_decoded(struct ila_msg *m)
{
	switch (m->type) {
	case ILA_MSG_OPEN:
		if (!timers_ok(m->open.keepalive_ms, m->open.dead_ms))
			return -ILA_PERR_BAD_VALUE;
		break;
	case ILA_MSG_QUERY:
		for (size_t k = 0; k < m->nrec; k++)
			m->rec[k].vn = m->sub.vn;
		break;
	case ILA_MSG_PUSH:
		for (size_t k = 0; k < m->nrec; k++)
			if (m->rec[k].vn != m->push.vn)
				return -ILA_PERR_BAD_VALUE;
		break;
	case ILA_MSG_ACK:
		if (!ack_ok(&m->ack))
			return -ILA_PERR_BAD_VALUE;
		break;
	}
	return 0;
}

static int decode_body(const struct msg_rule *r, const uint8_t *body, size_t len,
		       struct ila_msg *m)
{
	size_t nitems, nstatus, off = 0;
	uint32_t seen = 0;
	struct tlv t;
	int rc, i;

	rc = scan_body(r, body, len, &nitems, &nstatus);
	if (rc < 0)
		return rc;
	if (nitems) {
		m->rec = calloc(nitems, sizeof(*m->rec));
		if (!m->rec)
			return -ENOMEM;
	} else if (nstatus) {
		m->ack.status = calloc(nstatus, sizeof(*m->ack.status));
		if (!m->ack.status)
			return -ENOMEM;
		m->ack.nstatus = nstatus;
	}
	while (off < len) {
		tlv_next(body, len, &off, &t); /* cannot fail: scanned above */
		rc = tlv_admit(&t, r->allowed, r->repeat, &seen, &i);
		if (rc == 1)
			continue;
		if (rc < 0)
			return rc;
		rc = decode_msg_tlv(m, r, i, &t);
		if (rc < 0)
			return rc;
	}
	if ((r->required & ~seen) || m->nrec < r->min_items)
		return -ILA_PERR_TLV_MISSING;
	return check_decoded(m);
}

int ila_msg_decode(const uint8_t *buf, size_t len, struct ila_msg *out)
{
	const struct msg_rule *r;
	uint32_t flen;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < ILA_PROTO_HDR_LEN)
		return -ILA_PERR_SHORT_HEADER;
	if (buf[0] != ILA_PROTO_VERSION)
		return -ILA_PERR_BAD_VERSION;
	out->type = buf[1];
	out->flags = ila_get_be16(buf + 2);
	out->xid = ila_get_be32(buf + 8);
	flen = ila_get_be32(buf + 4);
	if (flen < ILA_PROTO_HDR_LEN || flen > ILA_PROTO_MAX_FRAME)
		return -ILA_PERR_BAD_LENGTH;
	if (flen > len)
		return -ILA_PERR_TRUNCATED;
	if (flen < len)
		return -ILA_PERR_TRAILING;
	r = msg_rule(out->type);
	if (!r)
		return -ILA_PERR_UNKNOWN_TYPE;
	if (out->flags & ILA_HDR_F_CRITICAL & ~ILA_HDR_F_KNOWN)
		return -ILA_PERR_FLAGS;
	rc = decode_body(r, buf + ILA_PROTO_HDR_LEN, flen - ILA_PROTO_HDR_LEN, out);
	if (rc < 0) {
		uint8_t type = out->type;
		uint16_t flags = out->flags;
		uint32_t xid = out->xid;

		ila_msg_free(out);
		out->type = type;
		out->flags = flags;
		out->xid = xid;
	}
	return rc;
}

void ila_msg_free(struct ila_msg *m)
{
	free(m->rec);
	if (m->type == ILA_MSG_ACK)
		free(m->ack.status);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* Encoder */

/* Output that counts every byte but stores only what fits, so one pass both
 * measures and writes. */
struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
};

static void put(struct wbuf *w, const void *d, size_t n)
{
	if (n && w->len + n <= w->cap)
		memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void put_tlv(struct wbuf *w, uint16_t type, const void *val, size_t n)
{
	uint8_t h[ILA_PROTO_TLV_HDR_LEN];

	ila_put_be16(h, type);
	ila_put_be16(h + 2, (uint16_t)n);
	put(w, h, sizeof(h));
	put(w, val, n);
}

static void put_u8(struct wbuf *w, uint16_t type, uint8_t v)
{
	put_tlv(w, type, &v, 1);
}

static void put_u16(struct wbuf *w, uint16_t type, uint16_t v)
{
	uint8_t b[2];

	ila_put_be16(b, v);
	put_tlv(w, type, b, sizeof(b));
}

static void put_u32(struct wbuf *w, uint16_t type, uint32_t v)
{
	uint8_t b[4];

	ila_put_be32(b, v);
	put_tlv(w, type, b, sizeof(b));
}

static void put_u64(struct wbuf *w, uint16_t type, uint64_t v)
{
	uint8_t b[8];

	ila_put_be64(b, v);
	put_tlv(w, type, b, sizeof(b));
}

static void put_str(struct wbuf *w, uint16_t type, const char *s)
{
	put_tlv(w, type, s, strlen(s));
}

static void put_addr(struct wbuf *w, int family, const struct in6_addr *a6,
		     const struct in_addr *a4)
{
	if (family == AF_INET6)
		put_tlv(w, ILA_TLV_ADDR6, a6, 16);
	else
		put_tlv(w, ILA_TLV_ADDR4, a4, 4);
}

/* A field goes out when the message carries it and, if optional, it is set. */
static void put_record(struct wbuf *w, const struct msg_rule *r, const struct ila_record *rec)
{
	size_t start = w->len;
	uint32_t a = r->rec_allowed;

	put_tlv(w, ILA_TLV_RECORD, NULL, 0);
	put_addr(w, rec->family, &rec->addr6, &rec->addr4);
	put_u32(w, ILA_TLV_VN, rec->vn);
	if (a & B(T_LOCATOR))
		put_tlv(w, ILA_TLV_LOCATOR, rec->loc.b, 8);
	if ((a & B(T_STANDBY)) && rec->has_standby)
		put_tlv(w, ILA_TLV_STANDBY, rec->standby.b, 8);
	put_u64(w, ILA_TLV_SEQ, rec->seq);
	if (a & B(T_LIFETIME))
		put_u32(w, ILA_TLV_LIFETIME, rec->lifetime);
	if ((r->rec_required & B(T_STATE)) || rec->state != ILA_STATE_UP)
		put_u8(w, ILA_TLV_STATE, rec->state);
	if ((a & B(T_REC_FLAGS)) && rec->flags)
		put_u32(w, ILA_TLV_REC_FLAGS, rec->flags);
	if ((a & B(T_OWNER)) && rec->node[0])
		put_str(w, ILA_TLV_OWNER, rec->node);
	if ((a & B(T_PREV)) && rec->has_prev)
		put_tlv(w, ILA_TLV_PREV_LOCATOR, rec->prev.b, 8);
	if (start + ILA_PROTO_TLV_HDR_LEN <= w->cap)
		ila_put_be16(w->p + start + 2, (uint16_t)(w->len - start - ILA_PROTO_TLV_HDR_LEN));
}

static void put_body(struct wbuf *w, const struct msg_rule *r, const struct ila_msg *m)
{
	switch (m->type) {
	case ILA_MSG_OPEN:
		put_str(w, ILA_TLV_NODE_NAME, m->open.node);
		put_u32(w, ILA_TLV_CAPS, m->open.caps);
		put_u32(w, ILA_TLV_KEEPALIVE_MS, m->open.keepalive_ms);
		put_u32(w, ILA_TLV_DEAD_MS, m->open.dead_ms);
		put_u8(w, ILA_TLV_ROLE, m->open.role);
		if (m->open.sw_version[0])
			put_str(w, ILA_TLV_SW_VERSION, m->open.sw_version);
		if (m->open.directory)
			put_u64(w, ILA_TLV_DIRECTORY, m->open.directory);
		break;
	case ILA_MSG_QUERY:
		put_u32(w, ILA_TLV_VN, m->sub.vn);
		if (m->sub.flags)
			put_u32(w, ILA_TLV_MSG_FLAGS, m->sub.flags);
		for (size_t k = 0; k < m->nrec; k++)
			put_addr(w, m->rec[k].family, &m->rec[k].addr6, &m->rec[k].addr4);
		break;
	case ILA_MSG_SUBSCRIBE:
		put_u32(w, ILA_TLV_VN, m->sub.vn);
		put_u64(w, ILA_TLV_JSEQ, m->sub.resume_seq);
		if (m->sub.flags)
			put_u32(w, ILA_TLV_MSG_FLAGS, m->sub.flags);
		break;
	case ILA_MSG_UNSUBSCRIBE:
		put_u32(w, ILA_TLV_VN, m->sub.vn);
		break;
	case ILA_MSG_PUSH:
		put_u32(w, ILA_TLV_VN, m->push.vn);
		put_u64(w, ILA_TLV_JSEQ, m->push.high_seq);
		if (m->push.flags)
			put_u32(w, ILA_TLV_MSG_FLAGS, m->push.flags);
		break;
	case ILA_MSG_ACK:
		if (m->ack.has_count)
			put_u32(w, ILA_TLV_COUNT, m->ack.count);
		if (m->ack.nstatus) {
			put_tlv(w, ILA_TLV_STATUS, NULL, 0);
			size_t at = w->len - 2;

			for (size_t k = 0; k < m->ack.nstatus; k++) {
				uint8_t b[2];

				ila_put_be16(b, m->ack.status[k]);
				put(w, b, 2);
			}
			if (at + 2 <= w->cap)
				ila_put_be16(w->p + at, (uint16_t)(2 * m->ack.nstatus));
		}
		break;
	case ILA_MSG_ERROR:
		put_u16(w, ILA_TLV_ERROR_CODE, m->error.code);
		if (m->error.text[0])
			put_str(w, ILA_TLV_ERROR_TEXT, m->error.text);
		if (m->error.family)
			put_addr(w, m->error.family, &m->error.addr6, &m->error.addr4);
		break;
	}
	if (r->rec_allowed)
		for (size_t k = 0; k < m->nrec; k++)
			put_record(w, r, &m->rec[k]);
}

static bool family_ok(int family)
{
	return family == AF_INET6 || family == AF_INET;
}

static bool record_ok(const struct msg_rule *r, const struct ila_msg *m,
		      const struct ila_record *rec)
{
	if (!family_ok(rec->family) || rec->vn == 0 || !state_ok(r, rec->state))
		return false;
	if ((r->rec_allowed & B(T_LIFETIME)) && rec->lifetime < r->rec_min_lifetime)
		return false;
	if ((r->rec_allowed & B(T_OWNER)) && !cstr_ok(rec->node, ILA_PROTO_NAME_MAX, false))
		return false;
	if (m->type == ILA_MSG_PUSH && rec->vn != m->push.vn)
		return false;
	return true;
}

/* Everything the decoder would refuse, as -EINVAL. */
static int check_msg(const struct ila_msg *m)
{
	const struct msg_rule *r = msg_rule(m->type);

	if (!r || (m->flags & ILA_HDR_F_CRITICAL & ~ILA_HDR_F_KNOWN))
		return -EINVAL;
	switch (m->type) {
	case ILA_MSG_OPEN:
		if (!cstr_ok(m->open.node, ILA_PROTO_NAME_MAX, true) ||
		    !cstr_ok(m->open.sw_version, ILA_PROTO_SWVER_MAX, false) ||
		    !role_ok(m->open.role) || !timers_ok(m->open.keepalive_ms, m->open.dead_ms))
			return -EINVAL;
		break;
	case ILA_MSG_QUERY:
	case ILA_MSG_SUBSCRIBE:
	case ILA_MSG_UNSUBSCRIBE:
		if (m->sub.vn == 0)
			return -EINVAL;
		break;
	case ILA_MSG_PUSH:
		if (m->push.vn == 0)
			return -EINVAL;
		break;
	case ILA_MSG_ACK:
		if (m->ack.nstatus > ILA_PROTO_MAX_RECORDS || (m->ack.nstatus && !m->ack.status) ||
		    !ack_ok(&m->ack))
			return -EINVAL;
		break;
	case ILA_MSG_ERROR:
		if (m->error.code == 0 || !cstr_ok(m->error.text, ILA_PROTO_TEXT_MAX, false) ||
		    (m->error.family && !family_ok(m->error.family)))
			return -EINVAL;
		break;
	}
	if (!(r->repeat & (B(T_RECORD) | ADDRS)))
		return 0;
	if (m->nrec < r->min_items || m->nrec > ILA_PROTO_MAX_RECORDS || (m->nrec && !m->rec))
		return -EINVAL;
	for (size_t k = 0; k < m->nrec; k++) {
		if (m->type == ILA_MSG_QUERY ? !family_ok(m->rec[k].family)
					     : !record_ok(r, m, &m->rec[k]))
			return -EINVAL;
	}
	return 0;
}

static size_t put_msg(const struct ila_msg *m, uint8_t *buf, size_t cap)
{
	const struct msg_rule *r = msg_rule(m->type);
	struct wbuf w = {.p = buf, .cap = cap, .len = 0};
	uint8_t h[ILA_PROTO_HDR_LEN];

	h[0] = ILA_PROTO_VERSION;
	h[1] = m->type;
	ila_put_be16(h + 2, m->flags);
	ila_put_be32(h + 4, 0); /* patched below */
	ila_put_be32(h + 8, m->xid);
	put(&w, h, sizeof(h));
	put_body(&w, r, m);
	if (w.len <= cap)
		ila_put_be32(buf + 4, (uint32_t)w.len);
	return w.len;
}

size_t ila_msg_encoded_len(const struct ila_msg *m)
{
	if (check_msg(m) < 0)
		return 0;
	return put_msg(m, NULL, 0);
}

int ila_msg_encode(const struct ila_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n;

	*len = 0;
	if (check_msg(m) < 0)
		return -EINVAL;
	n = put_msg(m, NULL, 0);
	*len = n;
	/* cannot happen within the record limit (ILA_PROTO_MAX_RECORD_LEN) */
	if (n > ILA_PROTO_MAX_FRAME)
		return -EMSGSIZE;
	if (n > cap)
		return -ENOSPC;
	put_msg(m, buf, cap);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Batching */

void ila_msg_batch_init(struct ila_msg_batch *b, const struct ila_msg *tmpl, size_t max_records)
{
	memset(b, 0, sizeof(*b));
	b->tmpl = *tmpl;
	if (max_records == 0 || max_records > ILA_PROTO_MAX_RECORDS)
		max_records = ILA_PROTO_MAX_RECORDS;
	b->max_records = max_records;
}

int ila_msg_batch_next(struct ila_msg_batch *b, struct ila_msg *out)
{
	size_t left, n;
	bool first, last;

	if (b->done)
		return 0;
	left = b->tmpl.nrec - b->pos;
	n = left < b->max_records ? left : b->max_records;
	first = b->pos == 0;
	last = n == left;
	*out = b->tmpl;
	out->rec = b->tmpl.rec ? b->tmpl.rec + b->pos : NULL;
	out->nrec = n;
	if (out->type == ILA_MSG_PUSH) {
		if (!first)
			out->push.flags &= ~ILA_PUSH_F_SNAPSHOT_BEGIN;
		if (!last)
			out->push.flags = (out->push.flags & ~ILA_PUSH_F_SNAPSHOT_END) |
					  ILA_PUSH_F_MORE;
	}
	b->pos += n;
	b->done = last;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Names kept in the rules above (the other names are in proto_names.c) */

const char *ila_msg_type_name(int type)
{
	const struct msg_rule *r = msg_rule(type);

	return r ? r->name : "?";
}

const char *ila_tlv_type_name(int type)
{
	int i = type >= 0 && type <= 0xffff ? tlv_index((uint16_t)type) : -1;

	return i < 0 ? "?" : tlv_desc[i].name;
}
