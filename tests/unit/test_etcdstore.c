/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The etcd store's keys and journal positions (ila-mapper/etcdstore_codec.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mapper.h"

static struct estore prefixed(const char *prefix)
{
	struct estore e;

	memset(&e, 0, sizeof(e));
	snprintf(e.prefix, sizeof(e.prefix), "%s", prefix);
	e.plen = strlen(e.prefix);
	return e;
}

static struct store_key key6(uint32_t vn, uint8_t last)
{
	struct store_key k;

	memset(&k, 0, sizeof(k));
	k.b[0] = (uint8_t)(vn >> 24);
	k.b[1] = (uint8_t)(vn >> 16);
	k.b[2] = (uint8_t)(vn >> 8);
	k.b[3] = (uint8_t)vn;
	k.b[4] = 6;
	k.b[5] = 0x20;
	k.b[6] = 0x01;
	k.b[7] = 0x0d;
	k.b[8] = 0xb8;
	k.b[20] = last;
	return k;
}

/* A mapping's key names its vn and address in hexadecimal under the prefix
 * and reads back as the same key; IPv4 keys too. */
static void test_mapping_keys_read_back(void **state)
{
	struct estore e = prefixed("/ila/dc1/");
	struct store_key k = key6(100, 0x42), back, k4;
	char buf[ESTORE_KEY_MAX], name[64];
	size_t n = estore_key(&e, &k, buf);

	(void)state;
	assert_string_equal(buf, "/ila/dc1/m/00000064/6-20010db8000000000000000000000042");
	assert_int_equal(n, strlen(buf));
	assert_int_equal(estore_parse_key(&e, (const uint8_t *)buf, n, &back, name, sizeof(name)),
			 ESTORE_KEY_MAPPING);
	assert_memory_equal(back.b, k.b, STORE_KEY_LEN);

	memset(&k4, 0, sizeof(k4));
	k4.b[3] = 7;
	k4.b[4] = 4;
	k4.b[5] = 192;
	k4.b[6] = 0;
	k4.b[7] = 2;
	k4.b[8] = 1;
	n = estore_key(&e, &k4, buf);
	assert_string_equal(buf, "/ila/dc1/m/00000007/4-c0000201");
	assert_int_equal(estore_parse_key(&e, (const uint8_t *)buf, n, &back, name, sizeof(name)),
			 ESTORE_KEY_MAPPING);
	assert_memory_equal(back.b, k4.b, STORE_KEY_LEN);
}

/* Presence keys name a node; anything else under (or outside) the prefix is
 * not taken for a mapping. */
static void test_other_keys_are_not_mappings(void **state)
{
	struct estore e = prefixed("/ila/");
	struct store_key k;
	char name[64];
	static const char *const bad[] = {
		"/ila/m/00000064/6-20010db800000000000000000000004",   /* short */
		"/ila/m/00000064/6-20010db80000000000000000000000420", /* long */
		"/ila/m/00000064/6-20010DB8000000000000000000000042",  /* upper case */
		"/ila/m/0000064/6-20010db8000000000000000000000042",   /* vn short */
		"/ila/m/00000064/5-20010db8000000000000000000000042",  /* family */
		"/ila/m/00000064/4-c00002010",
		"/ila/m/00000064-6-20010db8000000000000000000000042",
		"/other/m/00000064/6-20010db8000000000000000000000042",
		"/ila/id",
		"/ila/n/",
		"/ila/n/a b",
		"/il",
	};

	(void)state;
	assert_int_equal(estore_parse_key(&e, (const uint8_t *)"/ila/n/rack1-h1", 15, &k, name,
					  sizeof(name)),
			 ESTORE_KEY_NODE);
	assert_string_equal(name, "rack1-h1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int kind = estore_parse_key(&e, (const uint8_t *)bad[i], strlen(bad[i]), &k, name,
					    sizeof(name));

		if (kind != ESTORE_KEY_OTHER)
			fail_msg("%s read as kind %d", bad[i], kind);
	}
}

/* A journal position is the revision and the change's index in it, in the
 * order of revisions first. */
static void test_positions_order_by_revision_then_index(void **state)
{
	(void)state;
	assert_true(estore_pos(7, 0) < estore_pos(7, 1));
	assert_true(estore_pos(7, 0xffff) < estore_pos(8, 0));
	assert_int_equal(estore_pos_rev(estore_pos(123456789, 63)), 123456789);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping_keys_read_back),
		cmocka_unit_test(test_other_keys_are_not_mappings),
		cmocka_unit_test(test_positions_order_by_revision_then_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
