/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the config parser. The input is parsed as ila-mapper.conf
 * and as ilad.conf; whatever parses must print, parse back to an equal
 * config and print identically again (the -nv round trip). Any break of
 * that promise aborts, so libFuzzer reports it as a finding.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_kind(enum ila_conf_kind kind, const uint8_t *data, size_t size,
		       struct ila_conf *a, struct ila_conf *b)
{
	char err[256];

	ila_conf_init(a, kind);
	if (ila_conf_parse_buf(a, "fuzz", (const char *)data, size, err, sizeof(err)) != 0) {
		/* Every refusal must say where: "fuzz:LINE: ..." or "fuzz: ...". */
		if (strncmp(err, "fuzz:", 5) != 0)
			abort();
		return;
	}
	char *s1 = ila_conf_print_str(a);

	if (!s1)
		abort();
	ila_conf_init(b, kind);
	if (ila_conf_parse_buf(b, "printed", s1, strlen(s1), err, sizeof(err)) != 0) {
		fprintf(stderr, "printed config does not parse: %s\n%s", err, s1);
		abort();
	}
	if (!ila_conf_equal(a, b)) {
		fprintf(stderr, "printed config parses to a different config:\n%s", s1);
		abort();
	}
	char *s2 = ila_conf_print_str(b);

	if (!s2 || strcmp(s1, s2) != 0) {
		fprintf(stderr, "printing is not stable:\n%s\n---\n%s", s1, s2 ? s2 : "(null)");
		abort();
	}
	free(s1);
	free(s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* struct ila_conf is several MiB of fixed tables: allocated once, so
	 * that each input costs a parse, not fresh pages from the kernel. */
	static struct ila_conf *a, *b;

	if (!a && !(a = malloc(sizeof(*a))))
		abort();
	if (!b && !(b = malloc(sizeof(*b))))
		abort();
	check_kind(ILA_CONF_MAPPER, data, size, a, b);
	check_kind(ILA_CONF_NODE, data, size, a, b);
	return 0;
}
