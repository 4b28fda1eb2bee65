/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-xlat: the library's ILA translations on the command line, so that the
 * VM suites can compare them with what a real kernel puts on the wire.
 *
 *   ila-xlat [sir2ila] MODE SIR-ADDR LOCATOR   SIR -> ILA address, or ERROR
 *   ila-xlat ila2sir MODE ILA-ADDR SIR-PREFIX  ILA -> SIR address
 *   ila-xlat adjkernel CSUM FROM TO            checksum after the kernel's
 *                                              adj-transport (hex, 4 digits)
 *   ila-xlat -                                 the same requests, one a line
 *                                              on stdin, one answer a line
 *
 * MODE is iproute2's csum-mode name. The argument forms exit 0 with an
 * answer (ERROR included: the kernel refuses such a route), 2 on bad input.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define MAX_WORDS 8

static int parse_csum(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 16);

	if (*s == '\0' || *end != '\0' || v > 0xffff)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Answers one request; returns 0, or -1 with a message in err. */
static int xlat(int argc, char **argv, char *ans, size_t anslen, char *err, size_t errlen)
{
	const char *op = "sir2ila";
	enum ila_csum_mode mode;
	struct ila_locator from, to;
	struct ila_sir_prefix prefix;
	struct in6_addr in, out;
	uint16_t csum;

	if (argc == 4) {
		op = argv[0];
		argv++;
		argc--;
	}
	if (argc != 3) {
		snprintf(err, errlen, "expected 3 or 4 words, got %d", argc);
		return -1;
	}
	if (strcmp(op, "adjkernel") == 0) {
		if (parse_csum(argv[0], &csum) < 0) {
			snprintf(err, errlen, "bad checksum \"%s\"", argv[0]);
			return -1;
		}
		if (ila_locator_parse(argv[1], &from, err, errlen) < 0 ||
		    ila_locator_parse(argv[2], &to, err, errlen) < 0)
			return -1;
		snprintf(ans, anslen, "%04x", ila_csum_adjust_transport_kernel(csum, &from, &to));
		return 0;
	}
	if (ila_csum_mode_parse(argv[0], &mode, err, errlen) < 0 ||
	    ila_addr6_parse(argv[1], &in, err, errlen) < 0)
		return -1;
	if (strcmp(op, "sir2ila") == 0) {
		if (ila_locator_parse(argv[2], &to, err, errlen) < 0)
			return -1;
		if (ila_sir_to_ila(&in, &to, mode, &out) < 0) {
			snprintf(ans, anslen, "ERROR");
			return 0;
		}
	} else if (strcmp(op, "ila2sir") == 0) {
		if (ila_sir_prefix_parse(argv[2], &prefix, err, errlen) < 0)
			return -1;
		if (ila_ila_to_sir(&in, &prefix, mode, &out) < 0) {
			snprintf(ans, anslen, "ERROR");
			return 0;
		}
	} else {
		snprintf(err, errlen, "unknown request \"%s\"", op);
		return -1;
	}
	ila_addr6_format(&out, ans, anslen);
	return 0;
}

static int batch(void)
{
	char line[512], ans[ILA_ADDR6_STRLEN], err[256];
	char *words[MAX_WORDS], *save;
	unsigned long lineno = 0;
	int n;

	while (fgets(line, sizeof(line), stdin)) {
		lineno++;
		n = 0;
		for (char *w = strtok_r(line, " \t\r\n", &save); w && n < MAX_WORDS;
		     w = strtok_r(NULL, " \t\r\n", &save))
			words[n++] = w;
		if (xlat(n, words, ans, sizeof(ans), err, sizeof(err)) < 0) {
			fprintf(stderr, "ila-xlat: line %lu: %s\n", lineno, err);
			return 2;
		}
		printf("%s\n", ans);
	}
	return fflush(stdout) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
	char ans[ILA_ADDR6_STRLEN], err[256];

	if (argc == 2 && strcmp(argv[1], "-") == 0)
		return batch();
	if (xlat(argc - 1, argv + 1, ans, sizeof(ans), err, sizeof(err)) < 0) {
		fprintf(stderr, "ila-xlat: %s\n"
			"usage: ila-xlat [sir2ila] MODE SIR-ADDR LOCATOR\n"
			"       ila-xlat ila2sir MODE ILA-ADDR SIR-PREFIX\n"
			"       ila-xlat adjkernel CSUM FROM-LOCATOR TO-LOCATOR\n"
			"       ila-xlat -   (requests on stdin, one a line)\n", err);
		return 2;
	}
	printf("%s\n", ans);
	return 0;
}
