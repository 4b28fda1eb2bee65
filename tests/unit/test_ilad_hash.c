// SPDX-License-Identifier: GPL-2.0-or-later
/* ilad's hash tables: SipHash-2-4 under a key drawn at start, so two
 * daemons put the same address in different buckets. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ilad.h"

/* the key the next cache_init draws: from the kernel unless a test fixes it */
static const uint8_t *fixed_key;
int __real_ila_random_bytes(void *buf, size_t n);
int __wrap_ila_random_bytes(void *buf, size_t n);

int __wrap_ila_random_bytes(void *buf, size_t n)
{
	if (!fixed_key)
		return __real_ila_random_bytes(buf, n);
	memcpy(buf, fixed_key, n);
	return 0;
}

static struct ilad_key some_key(void)
{
	struct ilad_key k;

	memset(&k, 0, sizeof(k));
	k.vn = 7;
	k.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::42", &k.addr.v6), 1);
	return k;
}

static unsigned long hash_in_new_daemon(const struct ilad_key *k)
{
	struct ilad d;
	char err[128];
	unsigned long h;

	memset(&d, 0, sizeof(d));
	assert_int_equal(cache_init(&d, err, sizeof(err)), 0);
	h = lh_get_hash(d.cache, k);
	assert_true(h == lh_get_hash(d.locals, k)); /* one key for both tables */
	cache_free(&d);
	return h;
}

/* Each daemon (a process of its own) draws its key: the same address
 * hashes differently (equal by chance once in 2^64). */
static void test_two_daemons_hash_the_same_key_differently(void **state)
{
	struct ilad_key k = some_key();
	unsigned long h[2];

	(void)state;
	fixed_key = NULL;
	for (int i = 0; i < 2; i++) {
		int fds[2], status;
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			unsigned long v = hash_in_new_daemon(&k);

			_exit(write(fds[1], &v, sizeof(v)) == sizeof(v) ? 0 : 1);
		}
		close(fds[1]);
		assert_int_equal(read(fds[0], &h[i], sizeof(h[i])), sizeof(h[i]));
		close(fds[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_true(h[0] != h[1]);
}

/* The hash is SipHash-2-4 of the key's bytes under the drawn key, as
 * libsodium computes it, and depends on that key. */
static void test_hash_is_siphash_under_the_drawn_key(void **state)
{
	static const uint8_t k1[crypto_shorthash_KEYBYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
							       11, 12, 13, 14, 15, 16 };
	static const uint8_t k2[crypto_shorthash_KEYBYTES] = { 16, 15, 14, 13, 12, 11, 10, 9,
							       8, 7, 6, 5, 4, 3, 2, 1 };
	struct ilad_key k = some_key();
	uint8_t out[crypto_shorthash_BYTES];
	unsigned long want, h1, h2;
	uint64_t w;

	(void)state;
	crypto_shorthash(out, (const unsigned char *)&k, sizeof(k), k1);
	memcpy(&w, out, sizeof(w));
	want = (unsigned long)w;
	fixed_key = k1;
	h1 = hash_in_new_daemon(&k);
	fixed_key = k2;
	h2 = hash_in_new_daemon(&k);
	fixed_key = NULL;
	assert_true(h1 == want);
	assert_true(h2 != h1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_daemons_hash_the_same_key_differently),
		cmocka_unit_test(test_hash_is_siphash_under_the_drawn_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
