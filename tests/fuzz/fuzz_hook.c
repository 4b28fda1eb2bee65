/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for ila-libvirt-hook's reading of the domain XML
 * (hook/domxml.c). Any input either is refused with a message or gives a
 * domain whose every field holds what the parser promises: at most 16
 * interfaces, each with a lower-case mac, a vn name, 1-16 addresses in the
 * canonical text of their family, none twice; any difference aborts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../hook/domxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz_hook: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                     \
		}                                                                    \
	} while (0)

static void check_iface(const struct hook_domain *d, size_t i)
{
	const struct hook_iface *f = &d->ifaces[i];

	CHECK(strlen(f->mac) == 17);
	for (int k = 0; k < 17; k++)
		CHECK(k % 3 == 2 ? f->mac[k] == ':' : isxdigit((unsigned char)f->mac[k]) &&
		      !isupper((unsigned char)f->mac[k]));
	CHECK(f->vn[0] && strlen(f->vn) < HOOK_NAME_MAX);
	CHECK(strlen(f->target) < HOOK_IFNAME_MAX);
	for (const char *t = f->target; *t; t++)
		CHECK(isgraph((unsigned char)*t) && *t != '/');
	CHECK(f->naddrs >= 1 && f->naddrs <= HOOK_MAX_ADDRS);
	for (size_t j = 0; j < f->naddrs; j++) {
		const struct hook_addr *a = &f->addrs[j];
		unsigned char bin[16];
		char again[INET6_ADDRSTRLEN];

		CHECK(a->family == AF_INET6 || a->family == AF_INET);
		CHECK(inet_pton(a->family, a->text, bin) == 1);
		CHECK(inet_ntop(a->family, bin, again, sizeof(again)));
		CHECK(strcmp(again, a->text) == 0);
		for (size_t m = 0; m <= i; m++)
			for (size_t n = 0; n < (m == i ? j : d->ifaces[m].naddrs); n++)
				CHECK(strcmp(d->ifaces[m].addrs[n].text, a->text) != 0);
	}
	for (size_t m = 0; m < i; m++)
		CHECK(strcmp(d->ifaces[m].mac, f->mac) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hook_domain d;
	char err[256];

	err[0] = '\0';
	if (hook_domain_parse((const char *)data, size, &d, err, sizeof(err)) < 0) {
		CHECK(err[0] != '\0');
		CHECK(d.nifaces == 0);
		return 0;
	}
	CHECK(d.nifaces <= HOOK_MAX_IFACES);
	CHECK(strlen(d.name) < sizeof(d.name));
	for (size_t i = 0; i < d.nifaces; i++)
		check_iface(&d, i);
	return 0;
}
