/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"

uint64_t ila_clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ila_clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t ila_clock_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

int ila_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

uint32_t ila_random_u32(void)
{
	uint32_t v;

	/* getrandom() on a 4-byte buffer cannot fail once the pool is ready;
	 * abort rather than hand out a predictable transaction id. */
	if (ila_random_bytes(&v, sizeof(v)) < 0)
		abort();
	return v;
}

uint32_t ila_random_below(uint32_t bound)
{
	/* Lemire's rejection: values below (2^32 mod bound) would be biased. */
	uint32_t threshold = (uint32_t)(-bound) % bound;

	for (;;) {
		uint32_t r = ila_random_u32();

		if (r >= threshold)
			return r % bound;
	}
}
