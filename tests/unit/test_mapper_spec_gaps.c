/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where ila-mapper does not do what doc/protocol.md says: one case per
 * divergence, asserting what the document says, so every case fails today.
 * The program is in XFAIL_TESTS (tests/subdir.am): each failing case
 * counts as an expected failure, and a case that starts to pass is an
 * unexpected pass that fails `make check`, so that whoever fixes the
 * mapper (or the document) moves the case into test_mapper_directory.c,
 * test_mapper_push.c or test_mapper_session.c. Same fixture as those
 * (mapper_fixture.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mapper_fixture.h"
#include "session.h"

#define A1 "2001:db8:100::1"
#define A2 "2001:db8:100::2"
#define RED1 "2001:db8:200::1"

static struct mapping get(uint32_t vn, const char *addr)
{
	struct mapping mp;

	if (!fx_get(vn, addr, &mp))
		fail_msg("no mapping of %s", addr);
	return mp;
}

/* 9.2: "each VN has a journal: every committed change gets the next
 * position, a u64 starting at 1". store.c keeps one journal for all vns. */
static void test_journal_positions_are_per_vn(void **state)
{
	struct fx_node *n1 = fx_connect("n1"), *n4 = fx_connect("n4");

	(void)state;
	assert_int_equal(fx_register1(n4, FX_RED, RED1, FX_LOC_C, 1), 0);
	assert_int_equal(fx_register1(n1, FX_BLUE, A1, FX_LOC_A, 1), 0);
	assert_int_equal(get(FX_BLUE, A1).jseq, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
#define TC(f, conf) cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, &conf)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_journal_positions_are_per_vn),
	};

	/* The results are the TAP lines, every one an expected failure; the
	 * driver would count a non-zero exit as an error of its own. */
	cmocka_run_group_tests(tests, NULL, NULL);
	return 0;
}
