/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control-socket command matching and the output buffer. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli.h"

struct calls {
	const char *which;
	int argc;
	char argv[4][64];
	bool json;
};

#define HANDLER(name)                                                                   \
	static int h_##name(void *ctx, const struct ila_cli_args *a, struct ila_buf *out) \
	{                                                                               \
		struct calls *c = ctx;                                                  \
		c->which = #name;                                                       \
		c->argc = a->argc;                                                      \
		c->json = a->json;                                                      \
		for (int i = 0; i < a->argc && i < 4; i++)                              \
			snprintf(c->argv[i], sizeof(c->argv[i]), "%s", a->argv[i]);     \
		ila_buf_printf(out, "%s\n", #name);                                     \
		return ILA_CLI_SUCCESS;                                                 \
	}
HANDLER(show_mappings)
HANDLER(show_mapper)
HANDLER(show_nodes)
HANDLER(unfreeze)
HANDLER(attach)

static const struct ila_cli_cmd cmds[] = {
	{ "show mappings [ADDR]", "mappings", h_show_mappings },
	{ "show mapper", "mapper sessions", h_show_mapper },
	{ "show nodes", "nodes", h_show_nodes },
	{ "unfreeze ADDR", "unfreeze", h_unfreeze },
	{ "attach ADDR dev IFNAME", "attach", h_attach },
};

static int run(struct calls *c, const char *text, struct ila_buf *out)
{
	char line[256];

	snprintf(line, sizeof(line), "%s", text);
	memset(c, 0, sizeof(*c));
	ila_buf_reset(out);
	return ila_cli_execute(cmds, ILA_ARRAY_SIZE(cmds), c, line, out);
}

static void test_exact_command(void **state)
{
	struct calls c;
	struct ila_buf out;

	(void)state;
	ila_buf_init(&out);
	assert_int_equal(run(&c, "show nodes", &out), ILA_CLI_SUCCESS);
	assert_string_equal(c.which, "show_nodes");
	assert_string_equal(out.data, "show_nodes\n");
	ila_buf_free(&out);
}

static void test_abbreviation_and_exact_preference(void **state)
{
	struct calls c;
	struct ila_buf out;

	(void)state;
	ila_buf_init(&out);
	assert_int_equal(run(&c, "sh no", &out), ILA_CLI_SUCCESS);
	assert_string_equal(c.which, "show_nodes");
	/* "mapper" is typed in full: it wins over "mappings" */
	assert_int_equal(run(&c, "show mapper", &out), ILA_CLI_SUCCESS);
	assert_string_equal(c.which, "show_mapper");
	assert_int_equal(run(&c, "show mappings", &out), ILA_CLI_SUCCESS);
	assert_string_equal(c.which, "show_mappings");
	ila_buf_free(&out);
}

static void test_ambiguous(void **state)
{
	struct calls c;
	struct ila_buf out;

	(void)state;
	ila_buf_init(&out);
	assert_int_equal(run(&c, "show map", &out), ILA_CLI_ERR_AMBIGUOUS);
	assert_null(c.which);
	assert_string_equal(out.data, "% Ambiguous command\n");
	ila_buf_free(&out);
}

static void test_arguments_and_optional(void **state)
{
	struct calls c;
	struct ila_buf out;

	(void)state;
	ila_buf_init(&out);
	assert_int_equal(run(&c, "show mappings 2001:db8:1::42", &out), ILA_CLI_SUCCESS);
	assert_int_equal(c.argc, 1);
	assert_string_equal(c.argv[0], "2001:db8:1::42");
	assert_int_equal(run(&c, "show mappings", &out), ILA_CLI_SUCCESS);
	assert_int_equal(c.argc, 0);
	assert_int_equal(run(&c, "att 2001:db8:1::42 dev vm0", &out), ILA_CLI_SUCCESS);
	assert_string_equal(c.which, "attach");
	assert_int_equal(c.argc, 2);
	assert_string_equal(c.argv[1], "vm0");
	ila_buf_free(&out);
}

static void test_incomplete_unknown_and_extra(void **state)
{
	struct calls c;
	struct ila_buf out;

	(void)state;
	ila_buf_init(&out);
	assert_int_equal(run(&c, "unfreeze", &out), ILA_CLI_ERR_INCOMPLETE);
	assert_int_equal(run(&c, "attach 2001:db8::1 dev", &out), ILA_CLI_ERR_INCOMPLETE);
	assert_int_equal(run(&c, "frobnicate", &out), ILA_CLI_ERR_NO_MATCH);
	assert_string_equal(out.data, "% Unknown command\n");
	assert_int_equal(run(&c, "show nodes extra", &out), ILA_CLI_ERR_NO_MATCH);
	assert_int_equal(run(&c, "showx nodes", &out), ILA_CLI_ERR_NO_MATCH);
	assert_null(c.which);
	ila_buf_free(&out);
}

static void test_json_suffix(void **state)
{
	struct calls c;
	struct ila_buf out;

	(void)state;
	ila_buf_init(&out);
	assert_int_equal(run(&c, "show nodes json", &out), ILA_CLI_SUCCESS);
	assert_true(c.json);
	assert_int_equal(run(&c, "show mappings 2001:db8::1 json", &out), ILA_CLI_SUCCESS);
	assert_true(c.json);
	assert_int_equal(c.argc, 1);
	assert_int_equal(run(&c, "show nodes", &out), ILA_CLI_SUCCESS);
	assert_false(c.json);
	ila_buf_free(&out);
}

static void test_empty_and_too_many_words(void **state)
{
	struct calls c;
	struct ila_buf out;
	char many[256] = "";

	(void)state;
	ila_buf_init(&out);
	assert_int_equal(run(&c, "   ", &out), ILA_CLI_SUCCESS);
	assert_null(c.which);
	for (int i = 0; i < 20; i++)
		strcat(many, "show ");
	assert_int_equal(run(&c, many, &out), ILA_CLI_ERR_NO_MATCH);
	assert_string_equal(out.data, "% Too many words\n");
	ila_buf_free(&out);
}

static void test_help_lists_every_command(void **state)
{
	struct ila_buf out;

	(void)state;
	ila_buf_init(&out);
	ila_cli_help(cmds, ILA_ARRAY_SIZE(cmds), &out);
	for (size_t i = 0; i < ILA_ARRAY_SIZE(cmds); i++)
		assert_non_null(strstr(out.data, cmds[i].syntax));
	ila_buf_free(&out);
}

static void test_buf_grow_printf_consume(void **state)
{
	struct ila_buf b;

	(void)state;
	ila_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ila_buf_printf(&b, "%04d,", i), 0);
	assert_int_equal(b.len, 5000);
	assert_memory_equal(b.data + 4995, "0999,", 5);
	ila_buf_consume(&b, 4995);
	assert_string_equal(b.data, "0999,");
	assert_int_equal(ila_buf_append(&b, "x", 1), 0);
	assert_string_equal(b.data, "0999,x");
	ila_buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	ila_buf_free(&b);
	assert_null(b.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_command),
		cmocka_unit_test(test_abbreviation_and_exact_preference),
		cmocka_unit_test(test_ambiguous),
		cmocka_unit_test(test_arguments_and_optional),
		cmocka_unit_test(test_incomplete_unknown_and_extra),
		cmocka_unit_test(test_json_suffix),
		cmocka_unit_test(test_empty_and_too_many_words),
		cmocka_unit_test(test_help_lists_every_command),
		cmocka_unit_test(test_buf_grow_printf_consume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
