/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config parser: messages, the lexer, value parsers and the shapes of keyword lines. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_parser.h"

/* ---- messages ---- */

static int verr_at(struct parser *p, unsigned int line, const char *fmt, va_list ap)
	ILA_PRINTF(3, 0);
static int verr_at(struct parser *p, unsigned int line, const char *fmt, va_list ap)
{
	if (p->err && p->errlen) {
		int n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);

		if (n >= 0 && (size_t)n < p->errlen)
			vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	}
	return -EINVAL;
}

int conf_err_at(struct parser *p, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = verr_at(p, line, fmt, ap);
	va_end(ap);
	return rc;
}

int conf_perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = verr_at(p, p->line, fmt, ap);
	va_end(ap);
	return rc;
}

void conf_pwarn(struct parser *p, const char *fmt, ...)
{
	struct ila_conf *c = p->c;
	va_list ap;

	if (c->n_warnings >= ILA_CONF_MAX_WARNINGS)
		return;
	char *w = c->warnings[c->n_warnings++];
	int n = snprintf(w, ILA_CONF_WARNING_LEN, "%s:%u: ", p->name, p->line);

	if (n < 0 || n >= ILA_CONF_WARNING_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(w + n, ILA_CONF_WARNING_LEN - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- lexer ---- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static bool is_control(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

/* Splits one line (without its newline) into p->tok. */
int conf_tokenize(struct parser *p, const char *s, size_t len)
{
	char *out = p->buf;
	size_t i = 0;

	p->ntok = 0;
	while (i < len) {
		if (is_blank(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '#')
			break;
		char *tok = out;

		p->tok[p->ntok++] = tok;
		if (s[i] == '"') {
			bool closed = false;

			for (i++; i < len; i++) {
				unsigned char ch = (unsigned char)s[i];

				if (ch == '"') {
					closed = true;
					i++;
					break;
				}
				if (ch == '\\') {
					if (i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
						*out++ = s[++i];
						continue;
					}
					*out = '\0';
					if (i + 1 >= len)
						return conf_perr(p, "unterminated quote: \"%s",
								 tok);
					return conf_perr(p,
							 "bad escape '\\%c' in \"%s\" (only \\\" and \\\\)",
							 is_control((unsigned char)s[i + 1]) ? '?'
											     : s[i + 1],
							 tok);
				}
				if (is_control(ch) && ch != '\t') {
					*out = '\0';
					return conf_perr(p, "control character 0x%02x in \"%s\"",
							 ch, tok);
				}
				*out++ = (char)ch;
			}
			*out = '\0';
			if (!closed)
				return conf_perr(p, "unterminated quote: \"%s", tok);
			if (i < len && !is_blank(s[i]) && s[i] != '#')
				return conf_perr(p, "no space after closing quote of \"%s\"", tok);
		} else {
			for (; i < len && !is_blank(s[i]) && s[i] != '#'; i++) {
				unsigned char ch = (unsigned char)s[i];

				if (ch == '"' || is_control(ch)) {
					*out = '\0';
					if (ch == '"')
						return conf_perr(p, "quote inside the word '%s\"'",
								 tok);
					return conf_perr(p, "control character 0x%02x after '%s'",
							 ch, tok);
				}
				*out++ = (char)ch;
			}
			*out = '\0';
		}
		if ((size_t)(out - tok) > ILA_CONF_TOKEN_MAX)
			return conf_perr(p, "value too long (%zu bytes, at most %d): '%.40s...'",
					 (size_t)(out - tok), ILA_CONF_TOKEN_MAX, tok);
		out++;
	}
	return 0;
}

/* ---- value parsers ---- */

void conf_copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Rejects a second setting of key; remembers the first one's line. */
int conf_once(struct parser *p, const void *key, const char *what)
{
	for (size_t i = 0; i < p->nseen; i++) {
		if (p->seen[i].key == key)
			return conf_perr(p, "duplicate '%s' (first on line %u)", what,
					 p->seen[i].line);
	}
	if (p->nseen < MAX_SEEN) {
		p->seen[p->nseen].key = key;
		p->seen[p->nseen].line = p->line;
		p->nseen++;
	}
	return 0;
}

/* The keyword takes exactly n values. */
int conf_want_values(struct parser *p, size_t n)
{
	if (p->ntok < n + 1)
		return conf_perr(p, "%s: missing value", p->tok[0]);
	if (p->ntok > n + 1)
		return conf_perr(p, "%s: extra value '%s'", p->tok[0], p->tok[n + 1]);
	return 0;
}

int conf_parse_u32(struct parser *p, const char *what, const char *s, uint32_t min,
		   uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return conf_perr(p, "%s: bad number ''", what);
	for (const char *q = s; *q; q++) {
		if (*q < '0' || *q > '9')
			return conf_perr(p, "%s: bad number '%s'", what, s);
		v = v * 10 + (uint64_t)(*q - '0');
		if (v > UINT32_MAX)
			return conf_perr(p, "%s: '%s' out of range (%u-%u)", what, s, min, max);
	}
	if (v < min || v > max)
		return conf_perr(p, "%s: '%s' out of range (%u-%u)", what, s, min, max);
	*out = (uint32_t)v;
	return 0;
}

int conf_parse_choice(struct parser *p, const char *what, const char *s,
		      const char *const *names, size_t n, unsigned int *out)
{
	char list[128] = "";
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		if (names[i] && strcmp(s, names[i]) == 0) {
			*out = (unsigned int)i;
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? "|" : "",
				 names[i]);
		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
	}
	return conf_perr(p, "%s: unknown value '%s' (%s)", what, s, list);
}

static int set_path(struct parser *p, const char *what, const char *s, char *dst, size_t max)
{
	size_t n = strlen(s);

	if (n == 0)
		return conf_perr(p, "%s: empty path", what);
	if (n > max)
		return conf_perr(p, "%s: path '%s' too long (%zu bytes, at most %zu)", what, s, n,
				 max);
	conf_copy_str(dst, max + 1, s);
	return 0;
}

/* Names of vns and nodes go into messages and show output unquoted. */
int conf_check_name(struct parser *p, const char *what, const char *s)
{
	size_t n = strlen(s);
	bool ok = n > 0 && n < ILA_CONF_NAME_MAX;

	for (size_t i = 0; ok && i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');

		ok = alnum || (i > 0 && (ch == '.' || ch == '_' || ch == '-'));
	}
	if (!ok)
		return conf_perr(p, "%s: bad name '%s' (1-%d letters, digits, '.', '_' or '-', "
				 "starting with a letter or digit)",
				 what, s, ILA_CONF_NAME_MAX - 1);
	return 0;
}

/* As the kernel's dev_valid_name(). */
int conf_check_ifname(struct parser *p, const char *what, const char *s)
{
	size_t n = strlen(s);
	bool ok = n > 0 && n < ILA_CONF_IFNAME_MAX && strcmp(s, ".") != 0 &&
		  strcmp(s, "..") != 0;

	for (size_t i = 0; ok && i < n; i++)
		ok = s[i] != '/' && s[i] != ':' && s[i] != ' ' && s[i] != '\t';
	if (!ok)
		return conf_perr(p, "%s: bad interface name '%s'", what, s);
	return 0;
}

static int parse_endpoint_addr(struct parser *p, const char *what, const char *s,
			       struct ila_conf_endpoint *e)
{
	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET6, s, &e->addr.v6) == 1) {
		e->family = AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, s, &e->addr.v4) == 1) {
		e->family = AF_INET;
		return 0;
	}
	return conf_perr(p, "%s: bad address '%s' (an IPv6 or IPv4 address)", what, s);
}

/* "ADDR [port N]" from token i on. */
int conf_parse_endpoint(struct parser *p, size_t i, struct ila_conf_endpoint *e)
{
	const char *what = p->tok[0];
	uint32_t port = ILA_CONF_DEFAULT_PORT;

	if (p->ntok <= i)
		return conf_perr(p, "%s: missing value", what);
	int rc = parse_endpoint_addr(p, what, p->tok[i], e);
	if (rc)
		return rc;
	if (p->ntok > i + 1) {
		if (strcmp(p->tok[i + 1], "port") != 0)
			return conf_perr(p, "%s: extra value '%s'", what, p->tok[i + 1]);
		if (p->ntok == i + 2)
			return conf_perr(p, "%s port: missing value", what);
		rc = conf_parse_u32(p, "port", p->tok[i + 2], 1, 65535, &port);
		if (rc)
			return rc;
		if (p->ntok > i + 3)
			return conf_perr(p, "%s: extra value '%s'", what, p->tok[i + 3]);
	}
	e->port = (uint16_t)port;
	return 0;
}

bool conf_endpoint_equal(const struct ila_conf_endpoint *a, const struct ila_conf_endpoint *b)
{
	if (a->family != b->family || a->port != b->port)
		return false;
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == b->addr.v4.s_addr;
	return memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0;
}

bool conf_endpoint_loopback(const struct ila_conf_endpoint *e)
{
	if (e->family == AF_INET)
		return ((const uint8_t *)&e->addr.v4)[0] == 127;
	if (IN6_IS_ADDR_LOOPBACK(&e->addr.v6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&e->addr.v6) && e->addr.v6.s6_addr[12] == 127;
}

void conf_endpoint_str(const struct ila_conf_endpoint *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(e->family, &e->addr, a, sizeof(a));
	snprintf(buf, len, "%s port %u", a, e->port);
}

/* Whether the first len bits of a and b agree. */
bool conf_bits_equal(const uint8_t *a, const uint8_t *b, unsigned int len)
{
	unsigned int full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

const uint8_t *conf_prefix_bytes(const struct ila_conf_prefix *pf)
{
	return pf->family == AF_INET ? (const uint8_t *)&pf->addr.v4 : pf->addr.v6.s6_addr;
}

/* "A.B.C.D/N" or "X:X::X/N"; a bare address is a host prefix. family 0: either. */
int conf_parse_prefix(struct parser *p, const char *what, const char *s, int family,
		      struct ila_conf_prefix *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct ila_conf_prefix pf;
	uint32_t len;

	memset(&pf, 0, sizeof(pf));
	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (family != AF_INET && inet_pton(AF_INET6, addr, &pf.addr.v6) == 1)
		pf.family = AF_INET6;
	else if (family != AF_INET6 && inet_pton(AF_INET, addr, &pf.addr.v4) == 1)
		pf.family = AF_INET;
	else
		goto bad;
	unsigned int bits = pf.family == AF_INET ? 32 : 128;

	len = bits;
	if (slash) {
		const char *l = slash + 1;

		if (!*l || strlen(l) > 3 || strspn(l, "0123456789") != strlen(l))
			goto bad;
		len = (uint32_t)atoi(l);
		if (len < 1 || len > bits)
			return conf_perr(p, "%s: prefix length of '%s' out of range (1-%u)", what,
					 s, bits);
	}
	pf.len = (uint8_t)len;
	uint8_t host[16];

	/* Host bits must be zero: compare with the address masked to len. */
	memcpy(host, conf_prefix_bytes(&pf), bits / 8);
	for (unsigned int b = len; b < bits; b++)
		host[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	if (memcmp(host, conf_prefix_bytes(&pf), bits / 8) != 0)
		return conf_perr(p, "%s: host bits set in '%s'", what, s);
	*out = pf;
	return 0;
bad:
	return conf_perr(p, "%s: bad %s prefix '%s'", what,
			 family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "IPv4 or IPv6",
			 s);
}

bool conf_prefix_equal(const struct ila_conf_prefix *a, const struct ila_conf_prefix *b)
{
	if (a->family != b->family)
		return false;
	if (!a->family)
		return true;
	return a->len == b->len && memcmp(conf_prefix_bytes(a), conf_prefix_bytes(b),
					  a->family == AF_INET ? 4 : 16) == 0;
}

bool conf_prefix_overlap(const struct ila_conf_prefix *a, const struct ila_conf_prefix *b)
{
	if (!a->family || a->family != b->family)
		return false;
	return conf_bits_equal(conf_prefix_bytes(a), conf_prefix_bytes(b),
			       a->len < b->len ? a->len : b->len);
}

void conf_prefix_str(const struct ila_conf_prefix *pf, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(pf->family, &pf->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, (unsigned int)pf->len);
}

/* ---- keyword lines: one path, one number, attribute/value pairs ---- */

int conf_kw_path(struct parser *p, char *dst, bool socket)
{
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, dst, p->tok[0]);
	if (rc)
		return rc;
	return set_path(p, p->tok[0], p->tok[1], dst,
			socket ? SOCK_PATH_MAX : ILA_CONF_PATH_MAX - 1);
}

/* A keyword with one number, stored at *dst. */
int conf_kw_number(struct parser *p, uint32_t *dst, uint32_t min, uint32_t max)
{
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, dst, p->tok[0]);
	if (!rc)
		rc = conf_parse_u32(p, p->tok[0], p->tok[1], min, max, dst);
	return rc;
}

int conf_attr_u32(struct parser *p, const struct attr *a, const char *what, const char *v)
{
	return conf_parse_u32(p, what, v, a->min, a->max, (uint32_t *)((char *)p->c + a->off));
}

int conf_attr_path(struct parser *p, const struct attr *a, const char *what, const char *v)
{
	return set_path(p, what, v, (char *)p->c + a->off, a->max);
}

int conf_attrs(struct parser *p, size_t first, const struct attr *tab, size_t n)
{
	const char *kw = p->tok[0];

	if (p->ntok <= first)
		return conf_perr(p, "%s: missing value", kw);
	for (size_t i = first; i < p->ntok; i += 2) {
		const struct attr *a = NULL;
		char what[64];

		for (size_t j = 0; j < n && !a; j++) {
			if (strcmp(p->tok[i], tab[j].name) == 0)
				a = &tab[j];
		}
		if (!a) {
			char list[128] = "";
			size_t used = 0;

			for (size_t j = 0; j < n; j++) {
				int w = snprintf(list + used, sizeof(list) - used, "%s%s",
						 j ? ", " : "", tab[j].name);
				if (w < 0 || (size_t)w >= sizeof(list) - used)
					break;
				used += (size_t)w;
			}
			return conf_perr(p, "%s: unknown attribute '%s' (%s)", kw, p->tok[i], list);
		}
		snprintf(what, sizeof(what), "%s %s", kw, a->name);
		if (i + 1 >= p->ntok)
			return conf_perr(p, "%s: missing value", what);
		int rc = conf_once(p, a, what);
		if (!rc)
			rc = a->fn(p, a, what, p->tok[i + 1]);
		if (rc)
			return rc;
	}
	return 0;
}
