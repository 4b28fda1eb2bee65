/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Time and randomness, each behind one small function so that tests can
 * replace them (link with -Wl,--wrap=ila_clock_mono_ms and friends).
 */
#ifndef ILA_CLOCK_H
#define ILA_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on a monotonic clock (timers, dead intervals, rate limits). */
uint64_t ila_clock_mono_ms(void);
/* The same clock in microseconds, for latencies (metrics histograms). */
uint64_t ila_clock_mono_us(void);

/* Seconds since the epoch (lifetimes written to the store, log stamps). */
uint64_t ila_clock_wall_s(void);

/* Fills buf with n bytes from the kernel's CSPRNG. Returns 0 or -errno. */
int ila_random_bytes(void *buf, size_t n);

/* A uniformly distributed 32-bit value (transaction ids, jitter). */
uint32_t ila_random_u32(void);

/* A value in [0, bound) without modulo bias; bound must be > 0. */
uint32_t ila_random_below(uint32_t bound);

#endif
