/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Names of record states and roles; names and texts of protocol error codes. */
#include "config.h"

#include <string.h>

#include "proto.h"
#include "util.h"

const char *ila_record_state_name(int state)
{
	static const char *const names[] = {
		[ILA_STATE_UP] = "up",
		[ILA_STATE_DOWN] = "down",
		[ILA_STATE_FROZEN] = "frozen",
		[ILA_STATE_REMOVED] = "removed",
	};

	if (state < 0 || (size_t)state >= ILA_ARRAY_SIZE(names))
		return "?";
	return names[state];
}

const char *ila_role_name(int role)
{
	switch (role) {
	case ILA_ROLE_NODE:
		return "node";
	case ILA_ROLE_MAPPER:
		return "mapper";
	}
	return "?";
}

struct err_desc {
	uint16_t code;
	const char *name;
	const char *text;
};

static const struct err_desc err_desc[] = {
	{ILA_PERR_OK, "ok", "success"},
	{ILA_PERR_SHORT_HEADER, "short-header", "frame shorter than its 12-byte header"},
	{ILA_PERR_BAD_VERSION, "bad-version", "unsupported protocol version"},
	{ILA_PERR_BAD_LENGTH, "bad-length", "frame length below the header or above the maximum"},
	{ILA_PERR_TRUNCATED, "truncated", "frame shorter than its length field"},
	{ILA_PERR_TRAILING, "trailing", "trailing bytes after the frame"},
	{ILA_PERR_UNKNOWN_TYPE, "unknown-type", "unknown message type"},
	{ILA_PERR_FLAGS, "flags", "unknown critical header flag"},
	{ILA_PERR_TLV_TRUNCATED, "tlv-truncated", "TLV runs past the end of the frame"},
	{ILA_PERR_TLV_LENGTH, "tlv-length", "TLV length wrong for its type"},
	{ILA_PERR_TLV_DUPLICATE, "tlv-duplicate", "TLV repeated where it may occur once"},
	{ILA_PERR_TLV_MISSING, "tlv-missing", "required TLV missing"},
	{ILA_PERR_TLV_UNKNOWN, "tlv-unknown", "unknown mandatory TLV"},
	{ILA_PERR_BAD_VALUE, "bad-value", "TLV value out of range"},
	{ILA_PERR_TOO_MANY_RECORDS, "too-many-records", "more records than a message may carry"},
	{ILA_PERR_RECORD_MALFORMED, "record-malformed", "malformed mapping record"},
	{ILA_PERR_NOT_AUTHORISED, "not-authorised", "not authorised"},
	{ILA_PERR_VN_UNKNOWN, "vn-unknown", "unknown virtual network"},
	{ILA_PERR_ADDR_OUTSIDE_VN, "addr-outside-vn", "address outside the virtual network's prefix"},
	{ILA_PERR_STALE_SEQ, "stale-seq", "sequence number older than the mapping's"},
	{ILA_PERR_FROZEN, "frozen", "mapping frozen by move damping"},
	{ILA_PERR_NOT_SUBSCRIBED, "not-subscribed", "not subscribed to that virtual network"},
	{ILA_PERR_INTERNAL, "internal", "internal or store error"},
	{ILA_PERR_OVERLOADED, "overloaded", "overloaded, retry later"},
	{ILA_PERR_UNEXPECTED, "unexpected", "message not expected in this session state"},
	{ILA_PERR_HOLD_EXPIRED, "dead-timer", "nothing received within the dead interval"},
	{ILA_PERR_NO_MAPPING, "no-mapping", "no such mapping"},
	{ILA_PERR_UNSUPPORTED, "unsupported", "capability not negotiated"},
	{ILA_PERR_CEASE, "cease", "session closed by the peer"},
	{ILA_PERR_QUOTA, "quota", "over a mapping quota or the registration rate"},
	{ILA_PERR_SEQ_EXHAUSTED, "seq-exhausted", "sequence number at its limit"},
	{ILA_PERR_UNAVAILABLE, "unavailable", "the mapper cannot reach its store"},
};

/* Either sign; computed unsigned so that INT_MIN cannot overflow. */
static unsigned int err_abs(int code)
{
	return code < 0 ? 0u - (unsigned int)code : (unsigned int)code;
}

static const struct err_desc *err_find(int code)
{
	unsigned int c = err_abs(code);

	for (size_t i = 0; i < ILA_ARRAY_SIZE(err_desc); i++)
		if (err_desc[i].code == c)
			return &err_desc[i];
	return NULL;
}

const char *ila_proto_err_name(int code)
{
	const struct err_desc *d = err_find(code);

	return d ? d->name : "?";
}

const char *ila_proto_strerror(int code)
{
	const struct err_desc *d = err_find(code);

	if (d)
		return d->text;
	if (err_abs(code) < ILA_PERR_SHORT_HEADER)
		return strerror((int)err_abs(code));
	return "unknown protocol error";
}
