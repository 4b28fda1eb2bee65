/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for ila-mapper's etcd client: the parsing and validation of
 * what etcd's gateway answers (etcd/answer.c). The first byte picks the
 * kind of answer, the rest is the body. Whatever the bytes, the parser must
 * return one of its classes, and a failure must say why.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_error err;
	enum etcd_err kind;

	if (size < 1)
		return 0;
	kind = etcd_parse_answer((enum etcd_answer)(data[0] % ETCD_ANSWER__COUNT),
				 (const char *)data + 1, size - 1, &err);
	if ((unsigned)kind >= ETCD_ERR__COUNT || err.kind != kind)
		abort();
	if (!memchr(err.msg, '\0', sizeof(err.msg)))
		abort();
	if (kind != ETCD_OK && err.msg[0] == '\0')
		abort(); /* every failure says why */
	return 0;
}
