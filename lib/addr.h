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

#endif
