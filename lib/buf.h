/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A growable byte buffer with printf, for control-socket output. */
#ifndef ILA_BUF_H
#define ILA_BUF_H

#include <stddef.h>

#include "util.h"

struct ila_buf {
	char *data;
	size_t len;
	size_t cap;
	int error; /* sticky: -ENOMEM once an append failed */
};

void ila_buf_init(struct ila_buf *b);
void ila_buf_free(struct ila_buf *b);
void ila_buf_reset(struct ila_buf *b);
int ila_buf_append(struct ila_buf *b, const void *data, size_t len);
int ila_buf_printf(struct ila_buf *b, const char *fmt, ...) ILA_PRINTF(2, 3);
/* Drops the first n bytes (after they were written out). */
void ila_buf_consume(struct ila_buf *b, size_t n);

#endif
