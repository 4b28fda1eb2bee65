/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Identifier-locator addressing: parsing, printing, and the translations the
 * kernel's ILA module performs (net/ipv6/ila/ila_common.c), reproduced bit
 * for bit so that the daemons can predict what a packet looks like on the
 * wire. tests/model/ila_model.py checks this against an independent model.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

/* ---- error messages ---- */

ILA_PRINTF(3, 4)
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The input as it may appear in a message: bounded, control bytes hidden,
 * because it may come from a config file or from the network. */
static const char *quote(const char *s, char *buf, size_t len)
{
	size_t i, n = 0;

	for (i = 0; s[i] && n + 4 < len; i++)
		buf[n++] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

#define QUOTE_LEN 64

/* ---- locators and prefixes ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * "addr/64" with zero host bits, shared by SIR prefixes and locators given as
 * prefixes. what names the thing in messages ("SIR prefix", "locator").
 */
static int prefix64_parse(const char *s, const char *what, struct ila_locator *out,
			  char *err, size_t errlen)
{
	char q[QUOTE_LEN], host[INET6_ADDRSTRLEN + 8], hq[QUOTE_LEN];
	const char *slash = strchr(s, '/');
	struct in6_addr a;
	size_t alen, i;
	unsigned long plen = 0;

	quote(s, q, sizeof(q));
	if (!slash)
		return fail(err, errlen, "bad %s '%s': missing the prefix length /64", what, q);
	if (slash[1] == '\0')
		return fail(err, errlen, "bad %s '%s': empty prefix length", what, q);
	for (i = 1; slash[i]; i++) {
		if (!isdigit((unsigned char)slash[i]) || i > 3)
			return fail(err, errlen, "bad %s '%s': '%s' is not a prefix length",
				    what, q, quote(slash + 1, host, sizeof(host)));
		plen = plen * 10 + (unsigned long)(slash[i] - '0');
	}
	if (plen != 64)
		return fail(err, errlen, "bad %s '%s': prefix length is %lu, must be 64",
			    what, q, plen);
	alen = (size_t)(slash - s);
	if (alen == 0)
		return fail(err, errlen, "bad %s '%s': no IPv6 address before '/'", what, q);
	if (alen >= sizeof(host))
		return fail(err, errlen, "bad %s '%s': too long for an IPv6 address", what, q);
	memcpy(host, s, alen);
	host[alen] = '\0';
	if (inet_pton(AF_INET6, host, &a) != 1)
		return fail(err, errlen, "bad %s '%s': '%s' is not an IPv6 address",
			    what, q, quote(host, hq, sizeof(hq)));
	for (i = 8; i < 16; i++) {
		if (a.s6_addr[i]) {
			memset(a.s6_addr + 8, 0, 8);
			inet_ntop(AF_INET6, &a, host, sizeof(host));
			return fail(err, errlen,
				    "bad %s '%s': host bits are set (did you mean %s/64?)",
				    what, q, host);
		}
	}
	memcpy(out->b, a.s6_addr, 8);
	return 0;
}

int ila_locator_parse(const char *s, struct ila_locator *out, char *err, size_t errlen)
{
	char q[QUOTE_LEN];
	struct ila_locator l;
	const char *p;
	int group;

	if (!s || !*s)
		return fail(err, errlen, "bad locator '': empty");
	if (strchr(s, '/'))
		return prefix64_parse(s, "locator", out, err, errlen);
	quote(s, q, sizeof(q));
	if (strstr(s, "::"))
		return fail(err, errlen,
			    "bad locator '%s': '::' is not allowed, write four groups W:X:Y:Z "
			    "or a /64 prefix", q);

	p = s;
	for (group = 1; group <= 4; group++) {
		unsigned int v = 0;
		int digits = 0;

		while (hexval(p[digits]) >= 0) {
			if (digits < 4)
				v = v << 4 | (unsigned int)hexval(p[digits]);
			digits++;
		}
		if (digits == 0) {
			if (*p == ':' || *p == '\0')
				return fail(err, errlen, "bad locator '%s': group %d is empty",
					    q, group);
			return fail(err, errlen,
				    "bad locator '%s': group %d: '%c' is not a hex digit",
				    q, group, isprint((unsigned char)*p) ? *p : '?');
		}
		if (digits > 4)
			return fail(err, errlen,
				    "bad locator '%s': group %d has %d digits (at most 4)",
				    q, group, digits);
		ila_put_be16(l.b + 2 * (group - 1), (uint16_t)v);
		p += digits;
		if (group < 4) {
			if (*p == '\0')
				return fail(err, errlen,
					    "bad locator '%s': %d groups, need 4 (W:X:Y:Z)",
					    q, group);
			if (*p != ':')
				return fail(err, errlen,
					    "bad locator '%s': group %d: '%c' is not a hex digit",
					    q, group, isprint((unsigned char)*p) ? *p : '?');
			p++;
		}
	}
	if (*p == ':')
		return fail(err, errlen, "bad locator '%s': more than 4 groups", q);
	if (*p)
		return fail(err, errlen, "bad locator '%s': trailing characters after group 4", q);
	*out = l;
	return 0;
}

char *ila_locator_format(const struct ila_locator *l, char *buf, size_t len)
{
	int n;

	if (!len)
		return buf;
	n = snprintf(buf, len, "%x:%x:%x:%x", ila_get_be16(l->b), ila_get_be16(l->b + 2),
		     ila_get_be16(l->b + 4), ila_get_be16(l->b + 6));
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
	return buf;
}

bool ila_locator_equal(const struct ila_locator *a, const struct ila_locator *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int ila_sir_prefix_parse(const char *s, struct ila_sir_prefix *out, char *err, size_t errlen)
{
	if (!s || !*s)
		return fail(err, errlen, "bad SIR prefix '': empty");
	return prefix64_parse(s, "SIR prefix", &out->loc, err, errlen);
}

char *ila_sir_prefix_format(const struct ila_sir_prefix *p, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	struct in6_addr a;
	int n;

	if (!len)
		return buf;
	memset(&a, 0, sizeof(a));
	memcpy(a.s6_addr, p->loc.b, 8);
	inet_ntop(AF_INET6, &a, host, sizeof(host));
	n = snprintf(buf, len, "%s/64", host);
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
	return buf;
}

bool ila_sir_prefix_contains(const struct ila_sir_prefix *p, const struct in6_addr *a)
{
	return memcmp(p->loc.b, a->s6_addr, 8) == 0;
}

int ila_addr6_parse(const char *s, struct in6_addr *out, char *err, size_t errlen)
{
	char q[QUOTE_LEN];

	if (!s || !*s)
		return fail(err, errlen, "bad IPv6 address '': empty");
	if (inet_pton(AF_INET6, s, out) != 1)
		return fail(err, errlen, "bad IPv6 address '%s'%s", quote(s, q, sizeof(q)),
			    strchr(s, '/') ? ": a prefix length is not allowed here" : "");
	return 0;
}

char *ila_addr6_format(const struct in6_addr *a, char *buf, size_t len)
{
	if (!len)
		return buf;
	if (!inet_ntop(AF_INET6, a, buf, (socklen_t)len))
		buf[0] = '\0';
	return buf;
}

/* ---- names ---- */

struct name_value {
	const char *name;
	int value;
};

static const struct name_value ident_types[] = {
	{ "iid", ILA_IDENT_IID },
	{ "luid", ILA_IDENT_LUID },
	{ "virt-v4", ILA_IDENT_VIRT_V4 },
	{ "virt-uni-v6", ILA_IDENT_VIRT_UNI_V6 },
	{ "virt-multi-v6", ILA_IDENT_VIRT_MULTI_V6 },
	{ "nonlocal-addr", ILA_IDENT_NONLOCAL_ADDR },
	{ "use-format", ILA_IDENT_USE_FORMAT },
};

static const struct name_value csum_modes[] = {
	{ "adj-transport", ILA_CSUM_ADJUST_TRANSPORT },
	{ "neutral-map", ILA_CSUM_NEUTRAL_MAP },
	{ "no-action", ILA_CSUM_NO_ACTION },
	{ "neutral-map-auto", ILA_CSUM_NEUTRAL_MAP_AUTO },
};

static const struct name_value *find_name(const struct name_value *t, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (strcmp(t[i].name, s) == 0)
			return &t[i];
	return NULL;
}

static const char *find_value(const struct name_value *t, size_t n, int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return NULL;
}

int ila_ident_type_parse(const char *s, enum ila_ident_type *out, char *err, size_t errlen)
{
	const struct name_value *nv = find_name(ident_types, ILA_ARRAY_SIZE(ident_types), s);
	char q[QUOTE_LEN];

	if (!nv)
		return fail(err, errlen,
			    "bad identifier type '%s': expected iid, luid, virt-v4, virt-uni-v6, "
			    "virt-multi-v6, nonlocal-addr or use-format",
			    s ? quote(s, q, sizeof(q)) : "");
	*out = (enum ila_ident_type)nv->value;
	return 0;
}

const char *ila_ident_type_name(enum ila_ident_type t)
{
	return find_value(ident_types, ILA_ARRAY_SIZE(ident_types), (int)t);
}

int ila_csum_mode_parse(const char *s, enum ila_csum_mode *out, char *err, size_t errlen)
{
	const struct name_value *nv = find_name(csum_modes, ILA_ARRAY_SIZE(csum_modes), s);
	char q[QUOTE_LEN];

	if (!nv)
		return fail(err, errlen,
			    "bad checksum mode '%s': expected adj-transport, neutral-map, "
			    "neutral-map-auto or no-action", s ? quote(s, q, sizeof(q)) : "");
	*out = (enum ila_csum_mode)nv->value;
	return 0;
}

const char *ila_csum_mode_name(enum ila_csum_mode m)
{
	return find_value(csum_modes, ILA_ARRAY_SIZE(csum_modes), (int)m);
}

/* ---- address halves and identifier bits ---- */

#define IDENT_TYPE_SHIFT 5
#define IDENT_C_BIT 0x10

struct ila_locator ila_addr_upper(const struct in6_addr *a)
{
	struct ila_locator l;

	memcpy(l.b, a->s6_addr, 8);
	return l;
}

struct ila_identifier ila_addr_identifier(const struct in6_addr *a)
{
	struct ila_identifier id;

	memcpy(id.b, a->s6_addr + 8, 8);
	return id;
}

struct in6_addr ila_addr_join(const struct ila_locator *upper, const struct ila_identifier *id)
{
	struct in6_addr a;

	memcpy(a.s6_addr, upper->b, 8);
	memcpy(a.s6_addr + 8, id->b, 8);
	return a;
}

unsigned int ila_ident_type_bits(const struct ila_identifier *id)
{
	return id->b[0] >> IDENT_TYPE_SHIFT;
}

void ila_ident_set_type_bits(struct ila_identifier *id, unsigned int type)
{
	id->b[0] = (uint8_t)((id->b[0] & 0x1f) | (type & 7) << IDENT_TYPE_SHIFT);
}

bool ila_ident_c_bit(const struct ila_identifier *id)
{
	return id->b[0] & IDENT_C_BIT;
}

void ila_ident_set_c_bit(struct ila_identifier *id, bool on)
{
	if (on)
		id->b[0] |= IDENT_C_BIT;
	else
		id->b[0] &= (uint8_t)~IDENT_C_BIT;
}

/* ---- ones'-complement arithmetic ---- */

uint32_t ila_csum_add(uint32_t a, uint32_t b)
{
	uint32_t r = a + b;

	return r + (r < b);
}

uint32_t ila_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;
	size_t i;

	/* 2^48 words fit before a 64-bit accumulator could overflow. */
	for (i = 0; i + 1 < len; i += 2)
		acc += ila_get_be16(p + i);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t ila_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* (a - b) over the four 16-bit words of each: the kernel's
 * compute_csum_diff8(b, a), which sums ~b and a. */
static uint32_t csum_sub8(const struct ila_locator *a, const struct ila_locator *b)
{
	uint8_t buf[16];
	size_t i;

	for (i = 0; i < 8; i++)
		buf[i] = (uint8_t)~b->b[i];
	memcpy(buf + 8, a->b, 8);
	return ila_csum_partial(buf, sizeof(buf), 0);
}

/*
 * Folds (old upper - new upper) into the low 16 bits of the identifier, as
 * ila_csum_do_neutral_fmt/_nofmt do; with flip, also compensates for and
 * toggles the C-bit.
 */
static void neutral_adjust(struct in6_addr *a, const struct ila_locator *new_upper, bool flip)
{
	static const uint8_t c_flag[4] = { 0x10, 0, 0, 0 };
	static const uint8_t not_c_flag[4] = { 0xef, 0xff, 0xff, 0xff };
	struct ila_locator old_upper = ila_addr_upper(a);
	struct ila_identifier id = ila_addr_identifier(a);
	uint32_t diff = csum_sub8(&old_upper, new_upper);
	uint16_t adj;

	if (flip)
		diff = ila_csum_add(diff, ila_csum_partial(ila_ident_c_bit(&id) ? c_flag
									: not_c_flag, 4, 0));
	adj = ila_csum_fold(ila_csum_add(diff, ila_get_be16(id.b + 6)));
	ila_put_be16(id.b + 6, adj);
	if (flip)
		ila_ident_set_c_bit(&id, !ila_ident_c_bit(&id));
	memcpy(a->s6_addr + 8, id.b, 8);
}

static bool csum_mode_valid(enum ila_csum_mode mode)
{
	return ila_csum_mode_name(mode) != NULL;
}

int ila_sir_to_ila(const struct in6_addr *sir, const struct ila_locator *loc,
		   enum ila_csum_mode mode, struct in6_addr *out)
{
	struct in6_addr a = *sir;
	struct ila_identifier id = ila_addr_identifier(sir);

	if (!csum_mode_valid(mode))
		return -EINVAL;
	if (mode == ILA_CSUM_NEUTRAL_MAP) {
		/* The kernel refuses the route; it could not be undone. */
		if (ila_ident_c_bit(&id))
			return -EINVAL;
		neutral_adjust(&a, loc, true);
	} else if (mode == ILA_CSUM_NEUTRAL_MAP_AUTO) {
		neutral_adjust(&a, loc, false);
	}
	memcpy(a.s6_addr, loc->b, 8);
	*out = a;
	return 0;
}

int ila_ila_to_sir(const struct in6_addr *ila, const struct ila_sir_prefix *sir,
		   enum ila_csum_mode mode, struct in6_addr *out)
{
	struct in6_addr a = *ila;
	struct ila_identifier id = ila_addr_identifier(ila);

	if (!csum_mode_valid(mode))
		return -EINVAL;
	if (mode == ILA_CSUM_NEUTRAL_MAP) {
		/* Without the C-bit the sender did not map it: leave it. */
		if (ila_ident_c_bit(&id))
			neutral_adjust(&a, &sir->loc, true);
	} else if (mode == ILA_CSUM_NEUTRAL_MAP_AUTO) {
		neutral_adjust(&a, &sir->loc, false);
	}
	memcpy(a.s6_addr, sir->loc.b, 8);
	*out = a;
	return 0;
}

/* csum_replace_by_diff(): the stored checksum is the complement of the sum;
 * ~csum is taken as a 32-bit value, so its upper half 0xffff keeps the sum
 * from being zero and the result is never 0xffff. */
static uint16_t replace_by_diff(uint16_t csum, uint32_t diff)
{
	return (uint16_t)~ila_csum_fold(ila_csum_add(diff, ~(uint32_t)csum));
}

uint16_t ila_csum_adjust_transport(uint16_t csum, const struct ila_locator *from,
				   const struct ila_locator *to)
{
	return replace_by_diff(csum, csum_sub8(to, from));
}

uint16_t ila_csum_adjust_transport_kernel(uint16_t csum, const struct ila_locator *from,
					  const struct ila_locator *to)
{
	/* ila_init_saved_csum() computes the neutral-map difference (from - to)
	 * and ila_csum_adjust_transport() passes it on unchanged. */
	return replace_by_diff(csum, csum_sub8(from, to));
}

uint16_t ila_l4_csum(const struct in6_addr *src, const struct in6_addr *dst, uint8_t proto,
		     const void *payload, size_t len)
{
	uint8_t tail[8];
	uint32_t sum;

	ila_put_be32(tail, (uint32_t)len);
	memset(tail + 4, 0, 3);
	tail[7] = proto;
	sum = ila_csum_partial(src->s6_addr, 16, 0);
	sum = ila_csum_partial(dst->s6_addr, 16, sum);
	sum = ila_csum_partial(tail, sizeof(tail), sum);
	sum = ila_csum_partial(payload, len, sum);
	return (uint16_t)~ila_csum_fold(sum);
}

int ila_mac_parse(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)strtoul((char[3]){ s[3 * i], s[3 * i + 1], '\0' }, NULL, 16);
	return 0;
}
