/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replays the vectors that the independent Python model
 * (tests/model/ila_model.py) wrote to tests/model/ila_vectors.txt against the
 * C translation and checksum code. One test per kind of vector; a failing
 * vector is printed with its line number.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#ifndef VECTORS_FILE
#error "VECTORS_FILE must name tests/model/ila_vectors.txt"
#endif

#define MAX_FIELDS 8
#define LINE_MAX_LEN 1024

struct vector {
	int lineno;
	char text[LINE_MAX_LEN];
	char buf[LINE_MAX_LEN];
	char *f[MAX_FIELDS];
	int nf;
};

struct vectors {
	struct vector *v;
	size_t n;
};

static void split(struct vector *v)
{
	char *save = NULL, *tok;

	v->nf = 0;
	snprintf(v->buf, sizeof(v->buf), "%s", v->text);
	for (tok = strtok_r(v->buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (v->nf < MAX_FIELDS)
			v->f[v->nf] = tok;
		v->nf++;
	}
}

static void load(struct vectors *vs)
{
	char line[LINE_MAX_LEN];
	FILE *fp = fopen(VECTORS_FILE, "r");
	int lineno = 0;
	size_t i;

	if (!fp)
		fail_msg("cannot open %s: %s", VECTORS_FILE, strerror(errno));
	vs->v = NULL;
	vs->n = 0;
	while (fgets(line, sizeof(line), fp)) {
		struct vector *v;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		v = realloc(vs->v, (vs->n + 1) * sizeof(*vs->v));
		assert_non_null(v);
		vs->v = v;
		v = &vs->v[vs->n++];
		v->lineno = lineno;
		snprintf(v->text, sizeof(v->text), "%s", line);
	}
	fclose(fp);
	/* Only now: realloc may have moved the texts the fields point into. */
	for (i = 0; i < vs->n; i++)
		split(&vs->v[i]);
}

static void unload(struct vectors *vs)
{
	free(vs->v);
}

static void bad(const struct vector *v, const char *fmt, const char *got)
{
	print_error("ila_vectors.txt:%d: %s\n", v->lineno, v->text);
	print_error("    %s %s\n", fmt, got);
}

static int parse_csum(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 16);

	if (strlen(s) != 4 || *end || v > 0xffff)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Runs check on every vector of one kind; returns how many there were. */
static size_t run_kind(const char *kind, int nfields, int (*check)(const struct vector *))
{
	struct vectors vs;
	size_t i, seen = 0, failed = 0;

	load(&vs);
	for (i = 0; i < vs.n; i++) {
		const struct vector *v = &vs.v[i];

		if (strcmp(v->f[0], kind) != 0)
			continue;
		seen++;
		if (v->nf != nfields) {
			bad(v, "wrong number of fields:", "");
			failed++;
		} else if (check(v) != 0) {
			failed++;
		}
	}
	unload(&vs);
	if (failed)
		fail_msg("%zu of %zu %s vectors failed", failed, seen, kind);
	return seen;
}

static int check_translation(const struct vector *v, bool sir2ila)
{
	char err[256], got[ILA_ADDR6_STRLEN];
	enum ila_csum_mode mode;
	struct in6_addr in, out, want;
	struct ila_locator loc;
	struct ila_sir_prefix sp;
	bool want_error = strcmp(v->f[4], "ERROR") == 0;
	int rc;

	if (ila_csum_mode_parse(v->f[1], &mode, err, sizeof(err)) ||
	    ila_addr6_parse(v->f[2], &in, err, sizeof(err)) ||
	    (sir2ila ? ila_locator_parse(v->f[3], &loc, err, sizeof(err)) :
		       ila_sir_prefix_parse(v->f[3], &sp, err, sizeof(err))) ||
	    (!want_error && ila_addr6_parse(v->f[4], &want, err, sizeof(err)))) {
		bad(v, "unparsable:", err);
		return -1;
	}
	memset(&out, 0, sizeof(out));
	rc = sir2ila ? ila_sir_to_ila(&in, &loc, mode, &out) : ila_ila_to_sir(&in, &sp, mode, &out);
	if (want_error) {
		if (rc != -EINVAL) {
			bad(v, "expected -EINVAL, got", ila_addr6_format(&out, got, sizeof(got)));
			return -1;
		}
		return 0;
	}
	if (rc != 0) {
		bad(v, "translation failed:", strerror(-rc));
		return -1;
	}
	if (memcmp(&out, &want, sizeof(out)) != 0) {
		bad(v, "got", ila_addr6_format(&out, got, sizeof(got)));
		return -1;
	}
	return 0;
}

static int check_sir2ila(const struct vector *v)
{
	return check_translation(v, true);
}

static int check_ila2sir(const struct vector *v)
{
	return check_translation(v, false);
}

static int check_adjust(const struct vector *v, bool kernel)
{
	char err[256], got[8];
	struct ila_locator from, to;
	uint16_t csum, want, r;

	if (parse_csum(v->f[1], &csum) || parse_csum(v->f[4], &want) ||
	    ila_locator_parse(v->f[2], &from, err, sizeof(err)) ||
	    ila_locator_parse(v->f[3], &to, err, sizeof(err))) {
		bad(v, "unparsable", "");
		return -1;
	}
	r = kernel ? ila_csum_adjust_transport_kernel(csum, &from, &to) :
		     ila_csum_adjust_transport(csum, &from, &to);
	if (r != want) {
		snprintf(got, sizeof(got), "%04x", r);
		bad(v, "got", got);
		return -1;
	}
	return 0;
}

static int check_adjtransport(const struct vector *v)
{
	return check_adjust(v, false);
}

static int check_adjkernel(const struct vector *v)
{
	return check_adjust(v, true);
}

static int check_l4csum(const struct vector *v)
{
	char err[256], got[8];
	struct in6_addr src, dst;
	uint8_t payload[LINE_MAX_LEN / 2];
	size_t len = 0, i;
	const char *hex = v->f[4];
	unsigned long proto;
	uint16_t want, r;
	char *end;

	proto = strtoul(v->f[3], &end, 10);
	if (ila_addr6_parse(v->f[1], &src, err, sizeof(err)) ||
	    ila_addr6_parse(v->f[2], &dst, err, sizeof(err)) || *end || proto > 255 ||
	    parse_csum(v->f[5], &want)) {
		bad(v, "unparsable", "");
		return -1;
	}
	if (strcmp(hex, "-") != 0) {
		if (strlen(hex) % 2) {
			bad(v, "odd number of hex digits", "");
			return -1;
		}
		for (i = 0; hex[2 * i]; i++) {
			unsigned int byte;

			if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
				bad(v, "bad payload hex", "");
				return -1;
			}
			payload[len++] = (uint8_t)byte;
		}
	}
	r = ila_l4_csum(&src, &dst, (uint8_t)proto, payload, len);
	if (r != want) {
		snprintf(got, sizeof(got), "%04x", r);
		bad(v, "got", got);
		return -1;
	}
	return 0;
}

static void test_sir2ila(void **state)
{
	/* Includes the four kernel measurements and the refusals. */
	assert_true(run_kind("sir2ila", 5, check_sir2ila) >= 8);
}

static void test_ila2sir(void **state)
{
	assert_true(run_kind("ila2sir", 5, check_ila2sir) >= 8);
}

static void test_adjtransport(void **state)
{
	assert_true(run_kind("adjtransport", 5, check_adjtransport) >= 4);
}

static void test_adjkernel(void **state)
{
	assert_true(run_kind("adjkernel", 5, check_adjkernel) >= 2);
}

static void test_l4csum(void **state)
{
	assert_true(run_kind("l4csum", 6, check_l4csum) >= 3);
}

/* The file as a whole: enough vectors, no kind that no test replays, and the
 * four kernel measurements of REFERENCE.md present. */
static void test_file(void **state)
{
	static const char *const kinds[] = { "sir2ila", "ila2sir", "adjtransport", "adjkernel",
					     "l4csum" };
	static const char *const measured[] = {
		"sir2ila neutral-map 2001:db8:1::41 2001:0:0:a 2001::a:1000:0:0:fdef",
		"sir2ila neutral-map-auto 2001:db8:1::44 2001:0:0:a 2001:0:0:a::df3",
		"sir2ila no-action 2001:db8:1::43 2001:0:0:a 2001:0:0:a::43",
		"sir2ila adj-transport 2001:db8:1::42 2001:0:0:a 2001:0:0:a::42",
	};
	struct vectors vs;
	size_t i, k, unknown = 0, found = 0;

	load(&vs);
	for (i = 0; i < vs.n; i++) {
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strcmp(vs.v[i].f[0], kinds[k]) == 0)
				break;
		if (k == sizeof(kinds) / sizeof(kinds[0])) {
			bad(&vs.v[i], "unknown kind", vs.v[i].f[0]);
			unknown++;
		}
		for (k = 0; k < sizeof(measured) / sizeof(measured[0]); k++)
			if (strcmp(vs.v[i].text, measured[k]) == 0)
				found++;
	}
	print_message("# %zu vectors in %s\n", vs.n, VECTORS_FILE);
	unload(&vs);
	assert_true(vs.n >= 20);
	assert_int_equal(unknown, 0);
	assert_int_equal(found, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_sir2ila),
		cmocka_unit_test(test_ila2sir),
		cmocka_unit_test(test_adjtransport),
		cmocka_unit_test(test_adjkernel),
		cmocka_unit_test(test_l4csum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
