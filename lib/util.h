/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by every part of ila. */
#ifndef ILA_UTIL_H
#define ILA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ILA_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ILA_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ILA_NORETURN __attribute__((noreturn))
#define ILA_UNUSED __attribute__((unused))

static inline uint16_t ila_get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t ila_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ila_get_be64(const uint8_t *p)
{
	return (uint64_t)ila_get_be32(p) << 32 | ila_get_be32(p + 4);
}

static inline void ila_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ila_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void ila_put_be64(uint8_t *p, uint64_t v)
{
	ila_put_be32(p, (uint32_t)(v >> 32));
	ila_put_be32(p + 4, (uint32_t)v);
}

#endif
