// SPDX-License-Identifier: GPL-2.0-or-later
/* ilad's neighbour tables: both families read at start and after every
 * overflow, one dump at a time. The kernel is a fake holding one IPv4 and
 * one IPv6 neighbour; its dumps give what the family asked for holds. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <string.h>
#include <unistd.h>

#include "ilad.h"

static struct kneigh table[2];
static struct kneigh queue[16];
static size_t n_queued;
static bool overflow_next;	/* the next read reports lost events */
static int dumps_asked;
static int pipe_fds[2];
static bool seen[2];		/* [0] IPv4, [1] IPv6 delivered since cleared */

int __wrap_kernel_neigh_open(char *err, size_t errlen);
int __wrap_kernel_neigh_request_dump(int fd, int family);
int __wrap_kernel_neigh_read(int fd, kernel_neigh_fn cb, void *arg);
int __wrap_kernel_neigh_probe(int fd, int family, int ifindex, const union kaddr *addr);

int __wrap_kernel_neigh_open(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	assert_int_equal(pipe(pipe_fds), 0);
	assert_int_equal(write(pipe_fds[1], "x", 1), 1); /* always readable */
	return pipe_fds[0];
}

int __wrap_kernel_neigh_request_dump(int fd, int family)
{
	(void)fd;
	dumps_asked++;
	for (size_t i = 0; i < 2; i++)
		if (family == AF_UNSPEC || family == table[i].family)
			queue[n_queued++] = table[i];
	queue[n_queued++] = (struct kneigh){ .dump_end = true };
	return 0;
}

int __wrap_kernel_neigh_read(int fd, kernel_neigh_fn cb, void *arg)
{
	size_t n = n_queued;

	(void)fd;
	if (overflow_next) {
		overflow_next = false;
		return -ENOBUFS;
	}
	n_queued = 0;
	for (size_t i = 0; i < n; i++) {
		if (!queue[i].dump_end)
			seen[queue[i].family == AF_INET6] = true;
		cb(arg, &queue[i]);
	}
	return (int)n;
}

int __wrap_kernel_neigh_probe(int fd, int family, int ifindex, const union kaddr *addr)
{
	(void)fd;
	(void)family;
	(void)ifindex;
	(void)addr;
	return 0;
}

static struct ila_conf conf;
static struct ilad d;

static int setup(void **state)
{
	char err[128];

	(void)state;
	memset(&d, 0, sizeof(d));
	memset(&conf, 0, sizeof(conf));
	memset(table, 0, sizeof(table));
	table[0].family = AF_INET;
	table[0].ifindex = 1;
	table[0].state = NUD_REACHABLE;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &table[0].addr.v4), 1);
	table[1].family = AF_INET6;
	table[1].ifindex = 1;
	table[1].state = NUD_STALE;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &table[1].addr.v6), 1);
	n_queued = 0;
	overflow_next = false;
	dumps_asked = 0;
	seen[0] = seen[1] = false;
	d.conf = &conf;
	d.loop = ev_loop_new(EVFLAG_AUTO);
	d.kernel = (struct kernel *)&d; /* not control-plane mode; never used */
	assert_int_equal(cache_init(&d, err, sizeof(err)), 0);
	assert_int_equal(local_init(&d, err, sizeof(err)), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	local_free(&d);
	cache_free(&d);
	ev_loop_destroy(d.loop);
	close(pipe_fds[1]);
	return 0;
}

static void run_once(void)
{
	ev_run(d.loop, EVRUN_NOWAIT);
}

static void test_both_families_read_at_start(void **state)
{
	(void)state;
	run_once();
	assert_int_equal(dumps_asked, 1);
	assert_true(seen[0]);
	assert_true(seen[1]);
	assert_int_equal(d.stats.neigh_events, 2);
	assert_int_equal(d.stats.neigh_dumps, 1);
}

static void test_both_families_reread_after_overflow(void **state)
{
	(void)state;
	run_once(); /* the start's dump */
	seen[0] = seen[1] = false;
	overflow_next = true;
	run_once(); /* ENOBUFS: a dump is asked */
	run_once(); /* ... and read */
	assert_int_equal(d.stats.neigh_overflows, 1);
	assert_int_equal(dumps_asked, 2);
	assert_true(seen[0]);
	assert_true(seen[1]);
	assert_int_equal(d.stats.neigh_events, 4);
}

/* An overflow while a dump runs: the kernel would refuse a second dump on
 * the socket, so it follows the first one. */
static void test_overflow_during_a_dump_reads_again_after_it(void **state)
{
	(void)state;
	/* the start's dump is asked and not read yet; events are lost */
	overflow_next = true;
	run_once();
	assert_int_equal(d.stats.neigh_overflows, 1);
	assert_int_equal(dumps_asked, 1);
	assert_true(d.neigh_dump_again);
	run_once(); /* the first dump ends: the second is asked */
	assert_int_equal(dumps_asked, 2);
	seen[0] = seen[1] = false;
	run_once();
	assert_true(seen[0]);
	assert_true(seen[1]);
	assert_false(d.neigh_dumping);
	assert_false(d.neigh_dump_again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_both_families_read_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_families_reread_after_overflow, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overflow_during_a_dump_reads_again_after_it,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
