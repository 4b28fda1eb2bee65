/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Identifier-locator addressing (RFC draft-herbert-intarea-ila) as the Linux
 * kernel implements it (net/ipv6/ila/ila_common.c).
 *
 * An IPv6 address is split into a 64-bit upper half and a 64-bit identifier.
 * In a SIR address the upper half is the SIR prefix of a virtual network; in
 * an ILA address it is the locator of the node the workload runs on.
 * All 64-bit quantities are kept as 8 bytes in network order.
 */
#ifndef ILA_ADDR_H
#define ILA_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper 64 bits of an address: a locator, or a SIR prefix. */
struct ila_locator {
	uint8_t b[8];
};

/* Lower 64 bits of an address. Bits 64-66 (top 3 bits of b[0]) are the type,
 * bit 67 (0x10 in b[0]) is the checksum-neutral C-bit. */
struct ila_identifier {
	uint8_t b[8];
};

/* A SIR prefix: the upper 64 bits shared by a virtual network's addresses. */
struct ila_sir_prefix {
	struct ila_locator loc;
};

/* Values as in include/uapi/linux/ila.h. */
enum ila_ident_type {
	ILA_IDENT_IID = 0,
	ILA_IDENT_LUID = 1,
	ILA_IDENT_VIRT_V4 = 2,
	ILA_IDENT_VIRT_UNI_V6 = 3,
	ILA_IDENT_VIRT_MULTI_V6 = 4,
	ILA_IDENT_NONLOCAL_ADDR = 5,
	ILA_IDENT_USE_FORMAT = 32,
};

/* Values as in include/uapi/linux/ila.h (ILA_CSUM_*). */
enum ila_csum_mode {
	ILA_CSUM_ADJUST_TRANSPORT = 0,
	ILA_CSUM_NEUTRAL_MAP = 1,
	ILA_CSUM_NO_ACTION = 2,
	ILA_CSUM_NEUTRAL_MAP_AUTO = 3,
};

#define ILA_LOCATOR_STRLEN 20 /* "ffff:ffff:ffff:ffff" + NUL */
#define ILA_ADDR6_STRLEN 46 /* INET6_ADDRSTRLEN */
#define ILA_SIR_PREFIX_STRLEN (ILA_ADDR6_STRLEN + 3) /* address + "/64" */

/*
 * Parsing. Every parser returns 0, or -EINVAL and a one-line message naming
 * the input and what is wrong with it in err (err may be NULL, errlen 0).
 * Nothing is written to *out on error.
 */

/*
 * A locator in iproute2's notation: exactly four groups of 1-4 hex digits
 * separated by ':' ("2001:0:0:a"). iproute2's own get_addr64() is laxer
 * (strtoul per group: it takes signs, "0x", leading blanks, long zero runs
 * and fewer than four groups); every string accepted here means the same to
 * iproute2. A locator may also be written as an IPv6 prefix of length 64
 * with zero host bits ("2001:0:0:a::/64"), the form a route would use.
 */
int ila_locator_parse(const char *s, struct ila_locator *out, char *err, size_t errlen);
/* Prints as iproute2's addr64_n2a(): "%x:%x:%x:%x". Returns buf ("" if len is
 * too small; ILA_LOCATOR_STRLEN always suffices). */
char *ila_locator_format(const struct ila_locator *l, char *buf, size_t len);
bool ila_locator_equal(const struct ila_locator *a, const struct ila_locator *b);

/* A SIR prefix: an IPv6 prefix of length exactly 64, host bits zero. */
int ila_sir_prefix_parse(const char *s, struct ila_sir_prefix *out, char *err, size_t errlen);
/* Prints as "2001:db8:1::/64" (inet_ntop form). */
char *ila_sir_prefix_format(const struct ila_sir_prefix *p, char *buf, size_t len);
/* Whether the upper 64 bits of a are the prefix. */
bool ila_sir_prefix_contains(const struct ila_sir_prefix *p, const struct in6_addr *a);

/* An IPv6 address in any inet_pton() form (no prefix length, no scope). */
int ila_addr6_parse(const char *s, struct in6_addr *out, char *err, size_t errlen);
char *ila_addr6_format(const struct in6_addr *a, char *buf, size_t len);

/* An Ethernet MAC address, six hex octets separated by ':' (any case, as
 * 52:54:00:12:34:56). 0, or -EINVAL. */
int ila_mac_parse(const char *s, uint8_t mac[6]);

/* Names as iproute2 spells them in lower case: "iid", "luid", "virt-v4",
 * "virt-uni-v6", "virt-multi-v6", "nonlocal-addr", "use-format". */
int ila_ident_type_parse(const char *s, enum ila_ident_type *out, char *err, size_t errlen);
/* NULL for a value that has no name. */
const char *ila_ident_type_name(enum ila_ident_type t);

/* "adj-transport", "neutral-map", "neutral-map-auto", "no-action". */
int ila_csum_mode_parse(const char *s, enum ila_csum_mode *out, char *err, size_t errlen);
const char *ila_csum_mode_name(enum ila_csum_mode m);

/* ---- identifiers and address halves ---- */

struct ila_locator ila_addr_upper(const struct in6_addr *a);
struct ila_identifier ila_addr_identifier(const struct in6_addr *a);
struct in6_addr ila_addr_join(const struct ila_locator *upper, const struct ila_identifier *id);

/* Type bits (address bits 64-66), 0-7: ILA_IDENT_IID ... ILA_IDENT_NONLOCAL_ADDR,
 * 6 and 7 reserved. */
unsigned int ila_ident_type_bits(const struct ila_identifier *id);
void ila_ident_set_type_bits(struct ila_identifier *id, unsigned int type);
/* The checksum-neutral C-bit (address bit 67). */
bool ila_ident_c_bit(const struct ila_identifier *id);
void ila_ident_set_c_bit(struct ila_identifier *id, bool on);

/* ---- translation, bit-exact with net/ipv6/ila/ila_common.c ---- */

/*
 * SIR -> ILA: replaces the upper 64 bits of sir (the SIR prefix) by loc.
 * NEUTRAL_MAP folds the checksum difference into the low 16 bits of the
 * identifier and sets the C-bit; it fails with -EINVAL when the C-bit is
 * already set, as the kernel refuses such a route. NEUTRAL_MAP_AUTO folds the
 * difference without the C-bit. NO_ACTION and ADJUST_TRANSPORT change only
 * the upper 64 bits (see ila_csum_adjust_transport()). The identifier type
 * is not checked. Unknown modes: -EINVAL. out may alias sir.
 */
int ila_sir_to_ila(const struct in6_addr *sir, const struct ila_locator *loc,
		   enum ila_csum_mode mode, struct in6_addr *out);

/*
 * ILA -> SIR: replaces the locator by the SIR prefix. NEUTRAL_MAP undoes the
 * adjustment only when the C-bit is set (and clears it); NEUTRAL_MAP_AUTO
 * always undoes it. A SIR identifier whose low 16 bits were 0x0000 comes back
 * as 0xffff, the other ones'-complement zero, exactly as from the kernel.
 */
int ila_ila_to_sir(const struct in6_addr *ila, const struct ila_sir_prefix *sir,
		   enum ila_csum_mode mode, struct in6_addr *out);

/* ---- ones'-complement checksums ---- */

/* Adds len bytes as big-endian 16-bit words (an odd last byte is the high
 * half of a word) to sum, with end-around carry. The result is 0 only when
 * sum and every byte are 0. */
uint32_t ila_csum_partial(const void *buf, size_t len, uint32_t sum);
/* Ones'-complement addition with end-around carry. */
uint32_t ila_csum_add(uint32_t a, uint32_t b);
/* Folds a sum to 16 bits, NOT complemented (the kernel's ~csum_fold()). */
uint16_t ila_csum_fold(uint32_t sum);

/*
 * The transport (TCP/UDP/ICMPv6) checksum after the destination's upper 64
 * bits change from "from" to "to": an incremental update (RFC 1624 eqn. 3),
 * computed as the kernel's csum_replace_by_diff() does. For UDP a result of
 * 0 must be sent as 0xffff.
 */
uint16_t ila_csum_adjust_transport(uint16_t csum, const struct ila_locator *from,
				   const struct ila_locator *to);
/*
 * What the kernel's adj-transport mode writes instead: it applies the
 * checksum-neutral difference (from - to) where (to - from) is needed, so the
 * result is wrong whenever the locators differ in ones'-complement. Kept to
 * predict packets a kernel translated.
 */
uint16_t ila_csum_adjust_transport_kernel(uint16_t csum, const struct ila_locator *from,
					  const struct ila_locator *to);

/* The IPv6 upper-layer checksum (RFC 8200 section 8.1) of len bytes of
 * payload, whose checksum field the caller has zeroed. Not mapped: for UDP
 * a result of 0 is sent as 0xffff. */
uint16_t ila_l4_csum(const struct in6_addr *src, const struct in6_addr *dst, uint8_t proto,
		     const void *payload, size_t len);

#endif
