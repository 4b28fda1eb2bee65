/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void ila_buf_init(struct ila_buf *b)
{
	*b = (struct ila_buf){ 0 };
}

void ila_buf_free(struct ila_buf *b)
{
	free(b->data);
	ila_buf_init(b);
}

void ila_buf_reset(struct ila_buf *b)
{
	b->len = 0;
	b->error = 0;
}

static int buf_reserve(struct ila_buf *b, size_t extra)
{
	size_t need, ncap;
	char *n;

	if (b->error)
		return b->error;
	if (extra > SIZE_MAX / 2 - b->len)
		return b->error = -ENOMEM;
	need = b->len + extra + 1; /* always room for a NUL */
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	n = realloc(b->data, ncap);
	if (!n)
		return b->error = -ENOMEM;
	b->data = n;
	b->cap = ncap;
	return 0;
}

int ila_buf_append(struct ila_buf *b, const void *data, size_t len)
{
	int rc = buf_reserve(b, len);

	if (rc < 0)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int ila_buf_printf(struct ila_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return b->error = -EINVAL;
	rc = buf_reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void ila_buf_consume(struct ila_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}
