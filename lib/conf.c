/*
 * Parser of ila-mapper.conf and ilad.conf (grammar in doc/config.md).
 *
 * Two passes over the same struct: the line pass checks each line on its
 * own (syntax, ranges, duplicates) and records on which line every setting
 * was made; the final pass checks what only the whole file can tell
 * (required settings, references, conflicts between objects) and points at
 * the line that made the conflict.
 */
#include "config.h"

#include <sys/socket.h>

#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "util.h"

#define KIND_MAPPER (1u << ILA_CONF_MAPPER)
#define KIND_NODE (1u << ILA_CONF_NODE)
#define KIND_BOTH (KIND_MAPPER | KIND_NODE)

#define MAX_TOKENS (ILA_CONF_LINE_MAX / 2 + 1)
#define MAX_SEEN 64
#define MAX_FILE_SIZE (16u << 20)
/* Longest path a struct sockaddr_un can hold. */
#define SOCK_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
/* Default route protocol number: not in iproute2's rt_protos nor FRR's list. */
#define DEFAULT_ROUTE_PROTOCOL 73

/* A serve/subscribe name, resolved once every node line has been read. */
struct node_ref {
	unsigned int vn;
	bool subscribe;
	unsigned int line;
	char name[ILA_CONF_NAME_MAX];
};

/* Lines on which the parts of a vn were set (0: not set). */
struct vn_lines {
	unsigned int first, id, sir, ipv4;
	unsigned int iface[ILA_CONF_MAX_VN_IFACES];
	unsigned int allow[ILA_CONF_MAX_VN_ALLOW];
};

struct seen {
	const void *key;
	unsigned int line;
};

struct parser {
	struct ila_conf *c;
	const char *name;
	unsigned int line;
	char *err;
	size_t errlen;

	char buf[ILA_CONF_LINE_MAX + 2];
	char *tok[MAX_TOKENS];
	size_t ntok;

	struct seen seen[MAX_SEEN];
	size_t nseen;
	bool listen_given;
	unsigned int plaintext_line, tls_line, lifetime_line, dead_line, keepalive_line;
	unsigned int cache_line;
	unsigned int listen_line[ILA_CONF_MAX_LISTEN];
	unsigned int mapper_line[ILA_CONF_MAX_MAPPERS];
	unsigned int node_line[ILA_CONF_MAX_NODES];
	unsigned int identity_line[ILA_CONF_MAX_NODES];
	struct vn_lines vn[ILA_CONF_MAX_VNS];
	struct node_ref *refs;
	size_t nrefs, refcap;
};

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

static int err_at(struct parser *p, unsigned int line, const char *fmt, ...) ILA_PRINTF(3, 4);
static int err_at(struct parser *p, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = verr_at(p, line, fmt, ap);
	va_end(ap);
	return rc;
}

static int perr(struct parser *p, const char *fmt, ...) ILA_PRINTF(2, 3);
static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = verr_at(p, p->line, fmt, ap);
	va_end(ap);
	return rc;
}

static void pwarn(struct parser *p, const char *fmt, ...) ILA_PRINTF(2, 3);
static void pwarn(struct parser *p, const char *fmt, ...)
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

/* ---- names of enumerated values ---- */

static const char *const mode_names[] = {
	[ILA_CONF_MODE_ILA] = "ila",
	[ILA_CONF_MODE_HOST_ROUTE] = "host-route",
	[ILA_CONF_MODE_CONTROL_PLANE] = "control-plane",
};

static const char *const role_names[] = {
	[ILA_CONF_ROLE_HOST] = "host",
	[ILA_CONF_ROLE_ROUTER] = "router",
};

static const char *const cache_names[] = {
	[ILA_CONF_CACHE_FULL] = "full",
	[ILA_CONF_CACHE_ON_DEMAND] = "on-demand",
};

static const char *const zrt_names[] = {
	[ILA_CONF_ZRT_BABEL] = "babel",
	[ILA_CONF_ZRT_OPENFABRIC] = "openfabric",
	[ILA_CONF_ZRT_TABLE] = "table",
};

static const char *name_of(const char *const *names, size_t n, unsigned int v)
{
	return v < n ? names[v] : NULL;
}

const char *ila_conf_kind_name(enum ila_conf_kind kind)
{
	return kind == ILA_CONF_MAPPER ? "ila-mapper" : "ilad";
}

const char *ila_conf_mode_name(enum ila_conf_mode mode)
{
	return name_of(mode_names, ILA_ARRAY_SIZE(mode_names), mode);
}

const char *ila_conf_role_name(enum ila_conf_role role)
{
	return name_of(role_names, ILA_ARRAY_SIZE(role_names), role);
}

const char *ila_conf_cache_name(enum ila_conf_cache cache)
{
	return name_of(cache_names, ILA_ARRAY_SIZE(cache_names), cache);
}

const char *ila_conf_zebra_rtype_name(enum ila_conf_zebra_rtype t)
{
	return name_of(zrt_names, ILA_ARRAY_SIZE(zrt_names), t);
}

/* ---- defaults ---- */

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void ila_conf_init(struct ila_conf *c, enum ila_conf_kind kind)
{
	bool mapper = kind == ILA_CONF_MAPPER;

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->log_level = ILA_LOG_INFO;
	copy_str(c->pidfile, sizeof(c->pidfile),
		 mapper ? ILA_RUNDIR "/ila-mapper.pid" : ILA_RUNDIR "/ilad.pid");
	copy_str(c->control, sizeof(c->control),
		 mapper ? ILA_RUNDIR "/ila-mapper.sock" : ILA_RUNDIR "/ilad.sock");
	c->keepalive_ms = 1000;
	c->dead_interval_ms = 3000;

	c->listen[0].family = AF_INET6;
	c->listen[0].addr.v6 = in6addr_loopback;
	c->listen[0].port = ILA_CONF_DEFAULT_PORT;
	c->n_listen = mapper ? 1 : 0;
	copy_str(c->store, sizeof(c->store), ILA_STATEDIR "/mapper");
	c->store_map_size_mb = 1024;
	c->damping_moves = 5;
	c->damping_interval_s = 180;
	c->damping_freeze_s = 600;
	c->lifetime_default_s = 300;
	c->lifetime_max_s = 3600;
	c->push_batch = 256;
	c->push_delay_ms = 5;
	c->push_queue_limit_kb = 1024;
	c->commit_batch = 512;
	c->commit_delay_ms = 2;

	c->mode = ILA_CONF_MODE_ILA;
	c->role = ILA_CONF_ROLE_HOST;
	c->csum_mode = ILA_CSUM_NEUTRAL_MAP;
	c->ident_type = ILA_IDENT_LUID;
	c->route_protocol = DEFAULT_ROUTE_PROTOCOL;
	c->hold_time_s = 30;
	c->registration_lifetime_s = 300;
	c->cache = ILA_CONF_CACHE_FULL;
	c->attach_grace_s = 5;
	c->zebra = false;
	copy_str(c->zebra_socket, sizeof(c->zebra_socket), "/var/run/frr/zserv.api");
	c->zebra_version = ILA_CONF_ZEBRA_AUTO;
	c->zebra_route_type = ILA_CONF_ZRT_BABEL;
}

void ila_conf_free(struct ila_conf *c)
{
	/* Nothing is allocated today; resetting keeps a freed config harmless. */
	ila_conf_init(c, c->kind);
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
static int tokenize(struct parser *p, const char *s, size_t len)
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
						return perr(p, "unterminated quote: \"%s", tok);
					return perr(p, "bad escape '\\%c' in \"%s\" (only \\\" and \\\\)",
						    is_control((unsigned char)s[i + 1]) ? '?' : s[i + 1],
						    tok);
				}
				if (is_control(ch) && ch != '\t') {
					*out = '\0';
					return perr(p, "control character 0x%02x in \"%s\"", ch, tok);
				}
				*out++ = (char)ch;
			}
			*out = '\0';
			if (!closed)
				return perr(p, "unterminated quote: \"%s", tok);
			if (i < len && !is_blank(s[i]) && s[i] != '#')
				return perr(p, "no space after closing quote of \"%s\"", tok);
		} else {
			for (; i < len && !is_blank(s[i]) && s[i] != '#'; i++) {
				unsigned char ch = (unsigned char)s[i];

				if (ch == '"' || is_control(ch)) {
					*out = '\0';
					if (ch == '"')
						return perr(p, "quote inside the word '%s\"'", tok);
					return perr(p, "control character 0x%02x after '%s'", ch, tok);
				}
				*out++ = (char)ch;
			}
			*out = '\0';
		}
		if ((size_t)(out - tok) > ILA_CONF_TOKEN_MAX)
			return perr(p, "value too long (%zu bytes, at most %d): '%.40s...'",
				    (size_t)(out - tok), ILA_CONF_TOKEN_MAX, tok);
		out++;
	}
	return 0;
}

/* ---- value parsers ---- */

/* Rejects a second setting of key; remembers the first one's line. */
static int once(struct parser *p, const void *key, const char *what)
{
	for (size_t i = 0; i < p->nseen; i++) {
		if (p->seen[i].key == key)
			return perr(p, "duplicate '%s' (first on line %u)", what,
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
static int want_values(struct parser *p, size_t n)
{
	if (p->ntok < n + 1)
		return perr(p, "%s: missing value", p->tok[0]);
	if (p->ntok > n + 1)
		return perr(p, "%s: extra value '%s'", p->tok[0], p->tok[n + 1]);
	return 0;
}

static int parse_u32(struct parser *p, const char *what, const char *s, uint32_t min,
		     uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return perr(p, "%s: bad number ''", what);
	for (const char *q = s; *q; q++) {
		if (*q < '0' || *q > '9')
			return perr(p, "%s: bad number '%s'", what, s);
		v = v * 10 + (uint64_t)(*q - '0');
		if (v > UINT32_MAX)
			return perr(p, "%s: '%s' out of range (%u-%u)", what, s, min, max);
	}
	if (v < min || v > max)
		return perr(p, "%s: '%s' out of range (%u-%u)", what, s, min, max);
	*out = (uint32_t)v;
	return 0;
}

static int parse_choice(struct parser *p, const char *what, const char *s,
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
	return perr(p, "%s: unknown value '%s' (%s)", what, s, list);
}

static int set_path(struct parser *p, const char *what, const char *s, char *dst, size_t max)
{
	size_t n = strlen(s);

	if (n == 0)
		return perr(p, "%s: empty path", what);
	if (n > max)
		return perr(p, "%s: path '%s' too long (%zu bytes, at most %zu)", what, s, n, max);
	copy_str(dst, max + 1, s);
	return 0;
}

/* Names of vns and nodes go into messages and show output unquoted. */
static int check_name(struct parser *p, const char *what, const char *s)
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
		return perr(p, "%s: bad name '%s' (1-%d letters, digits, '.', '_' or '-', "
			    "starting with a letter or digit)", what, s, ILA_CONF_NAME_MAX - 1);
	return 0;
}

/* As the kernel's dev_valid_name(). */
static int check_ifname(struct parser *p, const char *what, const char *s)
{
	size_t n = strlen(s);
	bool ok = n > 0 && n < ILA_CONF_IFNAME_MAX && strcmp(s, ".") != 0 &&
		  strcmp(s, "..") != 0;

	for (size_t i = 0; ok && i < n; i++)
		ok = s[i] != '/' && s[i] != ':' && s[i] != ' ' && s[i] != '\t';
	if (!ok)
		return perr(p, "%s: bad interface name '%s'", what, s);
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
	return perr(p, "%s: bad address '%s' (an IPv6 or IPv4 address)", what, s);
}

/* "ADDR [port N]" from token i on. */
static int parse_endpoint(struct parser *p, size_t i, struct ila_conf_endpoint *e)
{
	const char *what = p->tok[0];
	uint32_t port = ILA_CONF_DEFAULT_PORT;

	if (p->ntok <= i)
		return perr(p, "%s: missing value", what);
	int rc = parse_endpoint_addr(p, what, p->tok[i], e);
	if (rc)
		return rc;
	if (p->ntok > i + 1) {
		if (strcmp(p->tok[i + 1], "port") != 0)
			return perr(p, "%s: extra value '%s'", what, p->tok[i + 1]);
		if (p->ntok == i + 2)
			return perr(p, "%s port: missing value", what);
		rc = parse_u32(p, "port", p->tok[i + 2], 1, 65535, &port);
		if (rc)
			return rc;
		if (p->ntok > i + 3)
			return perr(p, "%s: extra value '%s'", what, p->tok[i + 3]);
	}
	e->port = (uint16_t)port;
	return 0;
}

static bool endpoint_equal(const struct ila_conf_endpoint *a, const struct ila_conf_endpoint *b)
{
	if (a->family != b->family || a->port != b->port)
		return false;
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == b->addr.v4.s_addr;
	return memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0;
}

static bool endpoint_loopback(const struct ila_conf_endpoint *e)
{
	if (e->family == AF_INET)
		return ((const uint8_t *)&e->addr.v4)[0] == 127;
	if (IN6_IS_ADDR_LOOPBACK(&e->addr.v6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&e->addr.v6) && e->addr.v6.s6_addr[12] == 127;
}

static void endpoint_str(const struct ila_conf_endpoint *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(e->family, &e->addr, a, sizeof(a));
	snprintf(buf, len, "%s port %u", a, e->port);
}

/* Whether the first len bits of a and b agree. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned int len)
{
	unsigned int full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static const uint8_t *prefix_bytes(const struct ila_conf_prefix *pf)
{
	return pf->family == AF_INET ? (const uint8_t *)&pf->addr.v4 : pf->addr.v6.s6_addr;
}

/* "A.B.C.D/N" or "X:X::X/N"; a bare address is a host prefix. family 0: either. */
static int parse_prefix(struct parser *p, const char *what, const char *s, int family,
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
			return perr(p, "%s: prefix length of '%s' out of range (1-%u)", what, s,
				    bits);
	}
	pf.len = (uint8_t)len;
	uint8_t host[16];

	/* Host bits must be zero: compare with the address masked to len. */
	memcpy(host, prefix_bytes(&pf), bits / 8);
	for (unsigned int b = len; b < bits; b++)
		host[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	if (memcmp(host, prefix_bytes(&pf), bits / 8) != 0)
		return perr(p, "%s: host bits set in '%s'", what, s);
	*out = pf;
	return 0;
bad:
	return perr(p, "%s: bad %s prefix '%s'", what,
		    family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "IPv4 or IPv6", s);
}

static bool prefix_equal(const struct ila_conf_prefix *a, const struct ila_conf_prefix *b)
{
	if (a->family != b->family)
		return false;
	if (!a->family)
		return true;
	return a->len == b->len &&
	       memcmp(prefix_bytes(a), prefix_bytes(b), a->family == AF_INET ? 4 : 16) == 0;
}

static bool prefix_overlap(const struct ila_conf_prefix *a, const struct ila_conf_prefix *b)
{
	if (!a->family || a->family != b->family)
		return false;
	return bits_equal(prefix_bytes(a), prefix_bytes(b), a->len < b->len ? a->len : b->len);
}

static void prefix_str(const struct ila_conf_prefix *pf, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(pf->family, &pf->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, (unsigned int)pf->len);
}

/* ---- keywords of both daemons ---- */

static int kw_log_level(struct parser *p)
{
	enum ila_log_level level;
	int rc = want_values(p, 1);

	if (!rc)
		rc = once(p, &p->c->log_level, "log-level");
	if (rc)
		return rc;
	if (ila_log_level_parse(p->tok[1], &level) < 0)
		return perr(p, "log-level: unknown value '%s' (err|warning|notice|info|debug)",
			    p->tok[1]);
	p->c->log_level = level;
	return 0;
}

static int kw_path(struct parser *p, char *dst, bool socket)
{
	int rc = want_values(p, 1);

	if (!rc)
		rc = once(p, dst, p->tok[0]);
	if (rc)
		return rc;
	return set_path(p, p->tok[0], p->tok[1], dst,
			socket ? SOCK_PATH_MAX : ILA_CONF_PATH_MAX - 1);
}

static int kw_pidfile(struct parser *p)
{
	return kw_path(p, p->c->pidfile, false);
}

static int kw_control(struct parser *p)
{
	return kw_path(p, p->c->control, true);
}

static int kw_store(struct parser *p)
{
	return kw_path(p, p->c->store, false);
}

static int kw_plaintext(struct parser *p)
{
	int rc = want_values(p, 0);

	if (!rc)
		rc = once(p, &p->c->plaintext, "plaintext");
	if (rc)
		return rc;
	p->c->plaintext = true;
	p->plaintext_line = p->line;
	return 0;
}

/* A keyword with one number, stored at *dst. */
static int kw_number(struct parser *p, uint32_t *dst, uint32_t min, uint32_t max)
{
	int rc = want_values(p, 1);

	if (!rc)
		rc = once(p, dst, p->tok[0]);
	if (!rc)
		rc = parse_u32(p, p->tok[0], p->tok[1], min, max, dst);
	return rc;
}

static int kw_keepalive(struct parser *p)
{
	p->keepalive_line = p->line;
	return kw_number(p, &p->c->keepalive_ms, 10, 60000);
}

static int kw_dead_interval(struct parser *p)
{
	p->dead_line = p->line;
	return kw_number(p, &p->c->dead_interval_ms, 20, 600000);
}

/*
 * Lines of attribute/value pairs ("damping moves 5 interval 180"). The pairs
 * may be split over several lines; each attribute is set once.
 */
struct attr {
	const char *name;
	int (*fn)(struct parser *p, const struct attr *a, const char *what, const char *v);
	size_t off;
	uint32_t min, max;
};

static int attr_u32(struct parser *p, const struct attr *a, const char *what, const char *v)
{
	return parse_u32(p, what, v, a->min, a->max, (uint32_t *)((char *)p->c + a->off));
}

static int attr_path(struct parser *p, const struct attr *a, const char *what, const char *v)
{
	return set_path(p, what, v, (char *)p->c + a->off, a->max);
}

static int attrs(struct parser *p, size_t first, const struct attr *tab, size_t n)
{
	const char *kw = p->tok[0];

	if (p->ntok <= first)
		return perr(p, "%s: missing value", kw);
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
			return perr(p, "%s: unknown attribute '%s' (%s)", kw, p->tok[i], list);
		}
		snprintf(what, sizeof(what), "%s %s", kw, a->name);
		if (i + 1 >= p->ntok)
			return perr(p, "%s: missing value", what);
		int rc = once(p, a, what);
		if (!rc)
			rc = a->fn(p, a, what, p->tok[i + 1]);
		if (rc)
			return rc;
	}
	return 0;
}

#define ATTR_U32(n, field, lo, hi) \
	{ .name = n, .fn = attr_u32, .off = offsetof(struct ila_conf, field), .min = lo, .max = hi }
#define ATTR_PATH(n, field, maxlen) \
	{ .name = n, .fn = attr_path, .off = offsetof(struct ila_conf, field), .max = maxlen }

static const struct attr tls_attrs[] = {
	ATTR_PATH("certificate", tls_certificate, ILA_CONF_PATH_MAX - 1),
	ATTR_PATH("key", tls_key, ILA_CONF_PATH_MAX - 1),
	ATTR_PATH("ca", tls_ca, ILA_CONF_PATH_MAX - 1),
};

static int kw_tls(struct parser *p)
{
	if (!p->tls_line)
		p->tls_line = p->line;
	p->c->tls = true;
	return attrs(p, 1, tls_attrs, ILA_ARRAY_SIZE(tls_attrs));
}

/* ---- vn ---- */

static int vn_get(struct parser *p, const char *name, unsigned int *idx)
{
	struct ila_conf *c = p->c;
	int i = ila_conf_vn_find(c, name);

	if (i >= 0) {
		*idx = (unsigned int)i;
		return 0;
	}
	if (c->n_vns >= ILA_CONF_MAX_VNS)
		return perr(p, "vn %s: too many vns (at most %d)", name, ILA_CONF_MAX_VNS);
	*idx = c->n_vns++;
	copy_str(c->vns[*idx].name, sizeof(c->vns[*idx].name), name);
	p->vn[*idx].first = p->line;
	return 0;
}

static int vn_once(struct parser *p, const struct ila_conf_vn *vn, unsigned int *line,
		   const char *attr)
{
	if (*line)
		return perr(p, "vn %s: duplicate '%s' (first on line %u)", vn->name, attr, *line);
	*line = p->line;
	return 0;
}

/* Valid files have at most one entry per vn, node and list: more means a
 * duplicate or an unknown node, reported here before memory grows further. */
#define MAX_REFS (2 * ILA_CONF_MAX_VNS * ILA_CONF_MAX_NODES)

static int add_ref(struct parser *p, unsigned int vn, bool subscribe, const char *name)
{
	if (p->nrefs >= MAX_REFS)
		return perr(p, "more than %d serve and subscribe entries at '%s'", MAX_REFS, name);
	if (p->nrefs == p->refcap) {
		size_t ncap = p->refcap ? p->refcap * 2 : 64;
		struct node_ref *n = realloc(p->refs, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->refs = n;
		p->refcap = ncap;
	}
	struct node_ref *r = &p->refs[p->nrefs++];

	r->vn = vn;
	r->subscribe = subscribe;
	r->line = p->line;
	copy_str(r->name, sizeof(r->name), name);
	return 0;
}

/* A list attribute takes the rest of the line. */
static int vn_list(struct parser *p, unsigned int idx, size_t i, const char *attr)
{
	struct ila_conf_vn *vn = &p->c->vns[idx];
	struct vn_lines *vl = &p->vn[idx];
	char what[ILA_CONF_NAME_MAX + 32];
	int rc = 0;

	snprintf(what, sizeof(what), "vn %s %s", vn->name, attr);
	if (i >= p->ntok)
		return perr(p, "%s: missing value", what);
	for (; i < p->ntok && !rc; i++) {
		const char *v = p->tok[i];

		if (strcmp(attr, "serve") == 0 || strcmp(attr, "subscribe") == 0) {
			rc = check_name(p, what, v);
			if (!rc)
				rc = add_ref(p, idx, strcmp(attr, "subscribe") == 0, v);
			if (rc == -ENOMEM) {
				perr(p, "out of memory");
				return -ENOMEM;
			}
		} else if (strcmp(attr, "interface") == 0) {
			rc = check_ifname(p, what, v);
			for (unsigned int k = 0; !rc && k < vn->n_interfaces; k++) {
				if (strcmp(vn->interfaces[k], v) == 0)
					rc = perr(p, "%s: '%s' given twice (first on line %u)",
						  what, v, vl->iface[k]);
			}
			if (!rc && vn->n_interfaces >= ILA_CONF_MAX_VN_IFACES)
				rc = perr(p, "%s: too many interfaces (at most %d) at '%s'", what,
					  ILA_CONF_MAX_VN_IFACES, v);
			if (!rc) {
				vl->iface[vn->n_interfaces] = p->line;
				copy_str(vn->interfaces[vn->n_interfaces++], ILA_CONF_IFNAME_MAX,
					 v);
			}
		} else {
			struct ila_conf_prefix pf;

			rc = parse_prefix(p, what, v, 0, &pf);
			for (unsigned int k = 0; !rc && k < vn->n_allow; k++) {
				if (prefix_equal(&vn->allow[k], &pf))
					rc = perr(p, "%s: '%s' given twice (first on line %u)",
						  what, v, vl->allow[k]);
			}
			if (!rc && vn->n_allow >= ILA_CONF_MAX_VN_ALLOW)
				rc = perr(p, "%s: too many prefixes (at most %d) at '%s'", what,
					  ILA_CONF_MAX_VN_ALLOW, v);
			if (!rc) {
				vl->allow[vn->n_allow] = p->line;
				vn->allow[vn->n_allow++] = pf;
			}
		}
	}
	return rc;
}

static int kw_vn(struct parser *p)
{
	struct ila_conf *c = p->c;
	unsigned int idx = 0;
	int rc;

	if (p->ntok < 2)
		return perr(p, "vn: missing value");
	rc = check_name(p, "vn", p->tok[1]);
	if (!rc)
		rc = vn_get(p, p->tok[1], &idx);
	if (rc)
		return rc;
	struct ila_conf_vn *vn = &c->vns[idx];
	struct vn_lines *vl = &p->vn[idx];

	if (p->ntok < 3)
		return perr(p, "vn %s: missing value", vn->name);
	for (size_t i = 2; i < p->ntok;) {
		const char *a = p->tok[i];
		bool mapper_only = strcmp(a, "serve") == 0 || strcmp(a, "subscribe") == 0;
		bool node_only = strcmp(a, "interface") == 0 || strcmp(a, "allow") == 0;

		if ((mapper_only && c->kind != ILA_CONF_MAPPER) ||
		    (node_only && c->kind != ILA_CONF_NODE))
			return perr(p, "vn %s: '%s' is for %s, not %s", vn->name, a,
				    ila_conf_kind_name(mapper_only ? ILA_CONF_MAPPER : ILA_CONF_NODE),
				    ila_conf_kind_name(c->kind));
		if (mapper_only || node_only)
			return vn_list(p, idx, i + 1, a);

		unsigned int *line;

		if (strcmp(a, "id") == 0)
			line = &vl->id;
		else if (strcmp(a, "sir-prefix") == 0)
			line = &vl->sir;
		else if (strcmp(a, "ipv4-prefix") == 0)
			line = &vl->ipv4;
		else
			return perr(p, "vn %s: unknown attribute '%s' (id, sir-prefix, ipv4-prefix, %s)",
				    vn->name, a,
				    c->kind == ILA_CONF_MAPPER ? "serve, subscribe" : "interface, allow");
		if (i + 1 >= p->ntok)
			return perr(p, "vn %s %s: missing value", vn->name, a);
		const char *v = p->tok[i + 1];
		char what[ILA_CONF_NAME_MAX + 32];

		snprintf(what, sizeof(what), "vn %s %s", vn->name, a);
		rc = vn_once(p, vn, line, a);
		if (rc)
			return rc;
		if (line == &vl->id) {
			rc = parse_u32(p, what, v, 1, UINT32_MAX, &vn->id);
		} else if (line == &vl->sir) {
			char e[160] = "";

			if (ila_sir_prefix_parse(v, &vn->sir_prefix, e, sizeof(e)) < 0)
				rc = perr(p, "%s: %s", what, *e ? e : "bad SIR prefix");
		} else {
			rc = parse_prefix(p, what, v, AF_INET, &vn->ipv4_prefix);
		}
		if (rc)
			return rc;
		i += 2;
	}
	return 0;
}

/* ---- ila-mapper keywords ---- */

static int kw_listen(struct parser *p)
{
	struct ila_conf *c = p->c;
	struct ila_conf_endpoint e;
	int rc = parse_endpoint(p, 1, &e);

	if (rc)
		return rc;
	if (!p->listen_given) {
		/* The first listen line replaces the default address. */
		p->listen_given = true;
		c->n_listen = 0;
	}
	for (unsigned int i = 0; i < c->n_listen; i++) {
		if (endpoint_equal(&c->listen[i], &e)) {
			char s[80];

			endpoint_str(&e, s, sizeof(s));
			return perr(p, "listen: '%s' given twice (first on line %u)", s,
				    p->listen_line[i]);
		}
	}
	if (c->n_listen >= ILA_CONF_MAX_LISTEN)
		return perr(p, "listen: too many addresses (at most %d) at '%s'",
			    ILA_CONF_MAX_LISTEN, p->tok[1]);
	p->listen_line[c->n_listen] = p->line;
	c->listen[c->n_listen++] = e;
	return 0;
}

static int kw_store_map_size(struct parser *p)
{
	return kw_number(p, &p->c->store_map_size_mb, 1, 1048576);
}

static int kw_node(struct parser *p)
{
	struct ila_conf *c = p->c;
	int rc;

	if (p->ntok < 2)
		return perr(p, "node: missing value");
	rc = check_name(p, "node", p->tok[1]);
	if (rc)
		return rc;
	int i = ila_conf_node_find(c, p->tok[1]);

	if (i < 0) {
		if (c->n_nodes >= ILA_CONF_MAX_NODES)
			return perr(p, "node %s: too many nodes (at most %d)", p->tok[1],
				    ILA_CONF_MAX_NODES);
		i = (int)c->n_nodes++;
		copy_str(c->nodes[i].name, ILA_CONF_NAME_MAX, p->tok[1]);
		p->node_line[i] = p->line;
	}
	struct ila_conf_node *node = &c->nodes[i];

	for (size_t k = 2; k < p->ntok; k += 2) {
		if (strcmp(p->tok[k], "identity") != 0)
			return perr(p, "node %s: unknown attribute '%s' (identity)", node->name,
				    p->tok[k]);
		if (k + 1 >= p->ntok)
			return perr(p, "node %s identity: missing value", node->name);
		const char *v = p->tok[k + 1];
		size_t n = strlen(v);

		if (p->identity_line[i])
			return perr(p, "node %s: duplicate 'identity' (first on line %u)",
				    node->name, p->identity_line[i]);
		if (n == 0 || n >= ILA_CONF_IDENTITY_MAX)
			return perr(p, "node %s identity: bad identity '%s' (1-%d bytes)",
				    node->name, v, ILA_CONF_IDENTITY_MAX - 1);
		p->identity_line[i] = p->line;
		copy_str(node->identity, ILA_CONF_IDENTITY_MAX, v);
	}
	return 0;
}

static int attr_freeze(struct parser *p, const struct attr *a, const char *what, const char *v)
{
	if (strcmp(v, "permanent") == 0) {
		p->c->damping_freeze_s = ILA_CONF_FREEZE_PERMANENT;
		return 0;
	}
	if (*v < '0' || *v > '9')
		return perr(p, "%s: bad value '%s' (seconds or permanent)", what, v);
	return attr_u32(p, a, what, v);
}

static const struct attr damping_attrs[] = {
	ATTR_U32("moves", damping_moves, 1, 1000),
	ATTR_U32("interval", damping_interval_s, 1, 86400),
	{ .name = "freeze", .fn = attr_freeze, .off = offsetof(struct ila_conf, damping_freeze_s),
	  .min = 1, .max = 604800 },
};

static const struct attr lifetime_attrs[] = {
	ATTR_U32("default", lifetime_default_s, 1, 604800),
	ATTR_U32("max", lifetime_max_s, 1, 604800),
};

static const struct attr push_attrs[] = {
	ATTR_U32("batch", push_batch, 1, 65535),
	ATTR_U32("delay", push_delay_ms, 0, 1000),
	ATTR_U32("queue-limit", push_queue_limit_kb, 1, 1048576),
};

static const struct attr commit_attrs[] = {
	ATTR_U32("batch", commit_batch, 1, 65536),
	ATTR_U32("delay", commit_delay_ms, 0, 1000),
};

static int kw_damping(struct parser *p)
{
	return attrs(p, 1, damping_attrs, ILA_ARRAY_SIZE(damping_attrs));
}

static int kw_lifetime(struct parser *p)
{
	p->lifetime_line = p->line;
	return attrs(p, 1, lifetime_attrs, ILA_ARRAY_SIZE(lifetime_attrs));
}

static int kw_push(struct parser *p)
{
	return attrs(p, 1, push_attrs, ILA_ARRAY_SIZE(push_attrs));
}

static int kw_commit(struct parser *p)
{
	return attrs(p, 1, commit_attrs, ILA_ARRAY_SIZE(commit_attrs));
}

/* ---- ilad keywords ---- */

static int kw_node_name(struct parser *p)
{
	int rc = want_values(p, 1);

	if (!rc)
		rc = once(p, p->c->node_name, "node-name");
	if (!rc)
		rc = check_name(p, "node-name", p->tok[1]);
	if (!rc)
		copy_str(p->c->node_name, sizeof(p->c->node_name), p->tok[1]);
	return rc;
}

/* key: the field set, for the duplicate check. */
static int kw_choice(struct parser *p, const void *key, const char *const *names, size_t n,
		     unsigned int *out)
{
	int rc = want_values(p, 1);

	if (!rc)
		rc = once(p, key, p->tok[0]);
	if (!rc)
		rc = parse_choice(p, p->tok[0], p->tok[1], names, n, out);
	return rc;
}

static int kw_mode(struct parser *p)
{
	unsigned int v;
	int rc = kw_choice(p, &p->c->mode, mode_names, ILA_ARRAY_SIZE(mode_names), &v);

	if (!rc)
		p->c->mode = (enum ila_conf_mode)v;
	return rc;
}

static int kw_role(struct parser *p)
{
	unsigned int v;
	int rc = kw_choice(p, &p->c->role, role_names, ILA_ARRAY_SIZE(role_names), &v);

	if (!rc)
		p->c->role = (enum ila_conf_role)v;
	return rc;
}

static int kw_cache(struct parser *p)
{
	unsigned int v;
	int rc = kw_choice(p, &p->c->cache, cache_names, ILA_ARRAY_SIZE(cache_names), &v);

	if (!rc) {
		p->c->cache = (enum ila_conf_cache)v;
		p->cache_line = p->line;
	}
	return rc;
}

static int kw_locator(struct parser *p)
{
	struct ila_conf *c = p->c;
	struct ila_locator loc;
	char e[160] = "";
	int rc = want_values(p, 1);

	if (rc)
		return rc;
	if (ila_locator_parse(p->tok[1], &loc, e, sizeof(e)) < 0)
		return perr(p, "locator: %s", *e ? e : "bad locator");
	for (unsigned int i = 0; i < c->n_locators; i++) {
		if (memcmp(&c->locators[i], &loc, sizeof(loc)) == 0)
			return perr(p, "locator: '%s' given twice", p->tok[1]);
	}
	if (c->n_locators >= ILA_CONF_MAX_LOCATORS)
		return perr(p, "locator: too many locators (at most %d) at '%s'",
			    ILA_CONF_MAX_LOCATORS, p->tok[1]);
	c->locators[c->n_locators++] = loc;
	return 0;
}

static int kw_mapper(struct parser *p)
{
	struct ila_conf *c = p->c;
	struct ila_conf_endpoint e;
	int rc = parse_endpoint(p, 1, &e);

	if (rc)
		return rc;
	for (unsigned int i = 0; i < c->n_mappers; i++) {
		if (endpoint_equal(&c->mappers[i], &e)) {
			char s[80];

			endpoint_str(&e, s, sizeof(s));
			return perr(p, "mapper: '%s' given twice (first on line %u)", s,
				    p->mapper_line[i]);
		}
	}
	if (c->n_mappers >= ILA_CONF_MAX_MAPPERS)
		return perr(p, "mapper: too many mappers (at most %d) at '%s'",
			    ILA_CONF_MAX_MAPPERS, p->tok[1]);
	p->mapper_line[c->n_mappers] = p->line;
	c->mappers[c->n_mappers++] = e;
	return 0;
}

static int kw_csum_mode(struct parser *p)
{
	enum ila_csum_mode m;
	char e[160] = "";
	int rc = want_values(p, 1);

	if (!rc)
		rc = once(p, &p->c->csum_mode, "csum-mode");
	if (rc)
		return rc;
	if (ila_csum_mode_parse(p->tok[1], &m, e, sizeof(e)) < 0)
		return perr(p, "csum-mode: %s", *e ? e : "bad checksum mode");
	p->c->csum_mode = m;
	if (m == ILA_CSUM_ADJUST_TRANSPORT)
		pwarn(p, "csum-mode adj-transport: kernels have been seen to write wrong "
		      "transport checksums in this mode; neutral-map is safe");
	return 0;
}

static int kw_ident_type(struct parser *p)
{
	enum ila_ident_type t;
	char e[160] = "";
	int rc = want_values(p, 1);

	if (!rc)
		rc = once(p, &p->c->ident_type, "ident-type");
	if (rc)
		return rc;
	if (ila_ident_type_parse(p->tok[1], &t, e, sizeof(e)) < 0)
		return perr(p, "ident-type: %s", *e ? e : "bad identifier type");
	/* The kernel's ILA routes take no other type. */
	if (t != ILA_IDENT_LUID && t != ILA_IDENT_USE_FORMAT)
		return perr(p, "ident-type: '%s' is not supported by the kernel (luid|use-format)",
			    p->tok[1]);
	p->c->ident_type = t;
	return 0;
}

/*
 * Route protocol numbers ilad must not use: the kernel's own, and those of
 * other routing software. zebra in particular deletes routes carrying its
 * protocols when it starts.
 */
static const struct {
	uint8_t first, last;
	const char *owner;
} reserved_protocols[] = {
	{ 0, 4, "the kernel" },	  { 8, 8, "gated" },	  { 9, 9, "router advertisements" },
	{ 10, 10, "mrt" },	  { 11, 11, "zebra" },	  { 12, 12, "bird" },
	{ 13, 13, "dnrouted" },	  { 14, 14, "xorp" },	  { 15, 15, "netsukuku" },
	{ 16, 16, "dhcp" },	  { 17, 17, "mrouted" },  { 18, 18, "keepalived" },
	{ 42, 42, "babel (zebra)" }, { 99, 99, "openr" }, { 186, 198, "zebra" },
};

static int kw_route_protocol(struct parser *p)
{
	uint32_t v;
	int rc = want_values(p, 1);

	if (!rc)
		rc = once(p, &p->c->route_protocol, "route-protocol");
	if (!rc)
		rc = parse_u32(p, "route-protocol", p->tok[1], 1, 255, &v);
	if (rc)
		return rc;
	for (size_t i = 0; i < ILA_ARRAY_SIZE(reserved_protocols); i++) {
		if (v >= reserved_protocols[i].first && v <= reserved_protocols[i].last)
			return perr(p, "route-protocol: '%s' is used by %s", p->tok[1],
				    reserved_protocols[i].owner);
	}
	p->c->route_protocol = (uint8_t)v;
	return 0;
}

static int kw_hold_time(struct parser *p)
{
	return kw_number(p, &p->c->hold_time_s, 1, 3600);
}

static int kw_registration_lifetime(struct parser *p)
{
	return kw_number(p, &p->c->registration_lifetime_s, 1, 604800);
}

static int kw_attach_grace(struct parser *p)
{
	return kw_number(p, &p->c->attach_grace_s, 0, 3600);
}

static int attr_zebra_version(struct parser *p, const struct attr *a, const char *what,
			      const char *v)
{
	static const struct {
		const char *name;
		enum ila_conf_zebra_version v;
	} versions[] = {
		{ "auto", ILA_CONF_ZEBRA_AUTO },
		{ "8", ILA_CONF_ZEBRA_8 },
		{ "9", ILA_CONF_ZEBRA_9 },
		{ "10", ILA_CONF_ZEBRA_10 },
	};

	for (size_t i = 0; i < ILA_ARRAY_SIZE(versions); i++) {
		if (strcmp(v, versions[i].name) == 0) {
			p->c->zebra_version = versions[i].v;
			return 0;
		}
	}
	return perr(p, "%s: unknown value '%s' (auto|8|9|10)", what, v);
}

static int attr_zebra_route_type(struct parser *p, const struct attr *a, const char *what,
				 const char *v)
{
	struct ila_conf *c = p->c;
	uint32_t n;

	for (size_t i = 0; i < ILA_ARRAY_SIZE(zrt_names); i++) {
		if (strcmp(v, zrt_names[i]) == 0) {
			c->zebra_route_type = (enum ila_conf_zebra_rtype)i;
			c->zebra_route_type_num = 0;
			return 0;
		}
	}
	if (*v < '0' || *v > '9')
		return perr(p, "%s: unknown value '%s' (babel|openfabric|table|NUMBER)", what, v);
	/* 0-4 are zebra's own kinds (system, kernel, connected, static or local). */
	int rc = parse_u32(p, what, v, 5, 254, &n);
	if (rc)
		return rc;
	c->zebra_route_type = ILA_CONF_ZRT_NUMBER;
	c->zebra_route_type_num = (uint8_t)n;
	return 0;
}

static const struct attr zebra_attrs[] = {
	ATTR_PATH("socket", zebra_socket, SOCK_PATH_MAX),
	{ .name = "version", .fn = attr_zebra_version },
	{ .name = "route-type", .fn = attr_zebra_route_type },
};

/* "zebra on|off [ATTR VALUE]..." or "zebra ATTR VALUE [ATTR VALUE]...". */
static int kw_zebra(struct parser *p)
{
	size_t first = 1;

	if (p->ntok >= 2 && (strcmp(p->tok[1], "on") == 0 || strcmp(p->tok[1], "off") == 0)) {
		int rc = once(p, &p->c->zebra, "zebra on|off");

		if (rc)
			return rc;
		p->c->zebra = p->tok[1][1] == 'n';
		first = 2;
		if (p->ntok == 2)
			return 0;
	}
	return attrs(p, first, zebra_attrs, ILA_ARRAY_SIZE(zebra_attrs));
}

/* ---- dispatch ---- */

static const struct keyword {
	const char *name;
	unsigned int kinds;
	int (*fn)(struct parser *p);
} keywords[] = {
	{ "log-level", KIND_BOTH, kw_log_level },
	{ "pidfile", KIND_BOTH, kw_pidfile },
	{ "control", KIND_BOTH, kw_control },
	{ "tls", KIND_BOTH, kw_tls },
	{ "plaintext", KIND_BOTH, kw_plaintext },
	{ "keepalive", KIND_BOTH, kw_keepalive },
	{ "dead-interval", KIND_BOTH, kw_dead_interval },
	{ "vn", KIND_BOTH, kw_vn },
	{ "listen", KIND_MAPPER, kw_listen },
	{ "store", KIND_MAPPER, kw_store },
	{ "store-map-size", KIND_MAPPER, kw_store_map_size },
	{ "node", KIND_MAPPER, kw_node },
	{ "damping", KIND_MAPPER, kw_damping },
	{ "lifetime", KIND_MAPPER, kw_lifetime },
	{ "push", KIND_MAPPER, kw_push },
	{ "commit", KIND_MAPPER, kw_commit },
	{ "node-name", KIND_NODE, kw_node_name },
	{ "mode", KIND_NODE, kw_mode },
	{ "role", KIND_NODE, kw_role },
	{ "locator", KIND_NODE, kw_locator },
	{ "mapper", KIND_NODE, kw_mapper },
	{ "csum-mode", KIND_NODE, kw_csum_mode },
	{ "ident-type", KIND_NODE, kw_ident_type },
	{ "route-protocol", KIND_NODE, kw_route_protocol },
	{ "hold-time", KIND_NODE, kw_hold_time },
	{ "registration-lifetime", KIND_NODE, kw_registration_lifetime },
	{ "cache", KIND_NODE, kw_cache },
	{ "attach-grace", KIND_NODE, kw_attach_grace },
	{ "zebra", KIND_NODE, kw_zebra },
};

static int dispatch(struct parser *p)
{
	const char *kw = p->tok[0];

	for (size_t i = 0; i < ILA_ARRAY_SIZE(keywords); i++) {
		if (strcmp(kw, keywords[i].name) != 0)
			continue;
		if (!(keywords[i].kinds & (1u << p->c->kind)))
			return perr(p, "'%s' is a keyword of %s, not of %s", kw,
				    ila_conf_kind_name(p->c->kind == ILA_CONF_MAPPER
							       ? ILA_CONF_NODE
							       : ILA_CONF_MAPPER),
				    ila_conf_kind_name(p->c->kind));
		return keywords[i].fn(p);
	}
	return perr(p, "unknown keyword '%s'", kw);
}

/* ---- whole-file checks ---- */

/* Node names hashed for resolving serve/subscribe lists in linear time. */
#define NODE_HASH_SIZE (2 * ILA_CONF_MAX_NODES)

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int resolve_refs(struct parser *p)
{
	struct ila_conf *c = p->c;
	int16_t *table = malloc(NODE_HASH_SIZE * sizeof(*table));

	if (!table) {
		perr(p, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < NODE_HASH_SIZE; i++)
		table[i] = -1;
	for (unsigned int i = 0; i < c->n_nodes; i++) {
		uint32_t h = name_hash(c->nodes[i].name) % NODE_HASH_SIZE;

		while (table[h] >= 0)
			h = (h + 1) % NODE_HASH_SIZE;
		table[h] = (int16_t)i;
	}
	for (size_t r = 0; r < p->nrefs; r++) {
		const struct node_ref *ref = &p->refs[r];
		uint32_t h = name_hash(ref->name) % NODE_HASH_SIZE;
		int found = -1;

		for (; table[h] >= 0; h = (h + 1) % NODE_HASH_SIZE) {
			if (strcmp(c->nodes[table[h]].name, ref->name) == 0) {
				found = table[h];
				break;
			}
		}
		struct ila_conf_vn *vn = &c->vns[ref->vn];
		const char *attr = ref->subscribe ? "subscribe" : "serve";

		if (found < 0) {
			free(table);
			return err_at(p, ref->line, "vn %s %s: unknown node '%s' (no 'node %s' line)",
				      vn->name, attr, ref->name, ref->name);
		}
		uint8_t *set = ref->subscribe ? vn->subscribe : vn->serve;
		uint8_t bit = (uint8_t)(1u << (found % 8));

		if (set[found / 8] & bit) {
			free(table);
			return err_at(p, ref->line, "vn %s %s: node '%s' listed twice", vn->name,
				      attr, ref->name);
		}
		set[found / 8] |= bit;
	}
	free(table);
	return 0;
}

static int check_plaintext(struct parser *p)
{
	const struct ila_conf *c = p->c;
	bool mapper = c->kind == ILA_CONF_MAPPER;
	const struct ila_conf_endpoint *e = mapper ? c->listen : c->mappers;
	unsigned int n = mapper ? c->n_listen : c->n_mappers;

	for (unsigned int i = 0; i < n; i++) {
		if (!endpoint_loopback(&e[i])) {
			char s[80];

			endpoint_str(&e[i], s, sizeof(s));
			return err_at(p, p->plaintext_line,
				      "plaintext: only for tests on loopback, but %s '%s' is not "
				      "a loopback address",
				      mapper ? "listen" : "mapper", s);
		}
	}
	return 0;
}

static int check_vns(struct parser *p)
{
	struct ila_conf *c = p->c;

	for (unsigned int i = 0; i < c->n_vns; i++) {
		const struct ila_conf_vn *vn = &c->vns[i];
		const struct vn_lines *vl = &p->vn[i];

		if (!vl->id)
			return err_at(p, vl->first, "vn %s: missing 'id'", vn->name);
		if (!vl->sir)
			return err_at(p, vl->first, "vn %s: missing 'sir-prefix'", vn->name);
	}
	for (unsigned int i = 1; i < c->n_vns; i++) {
		const struct ila_conf_vn *vn = &c->vns[i];
		const struct vn_lines *vl = &p->vn[i];

		for (unsigned int j = 0; j < i; j++) {
			const struct ila_conf_vn *o = &c->vns[j];
			char s[ILA_SIR_PREFIX_STRLEN];

			if (vn->id == o->id)
				return err_at(p, vl->id, "vn %s: id %u already used by vn %s",
					      vn->name, vn->id, o->name);
			if (memcmp(&vn->sir_prefix, &o->sir_prefix, sizeof(vn->sir_prefix)) == 0) {
				ila_sir_prefix_format(&vn->sir_prefix, s, sizeof(s));
				return err_at(p, vl->sir,
					      "vn %s: sir-prefix %s already used by vn %s",
					      vn->name, s, o->name);
			}
			if (prefix_overlap(&vn->ipv4_prefix, &o->ipv4_prefix)) {
				char a[64], b[64];

				prefix_str(&vn->ipv4_prefix, a, sizeof(a));
				prefix_str(&o->ipv4_prefix, b, sizeof(b));
				return err_at(p, vl->ipv4,
					      "vn %s: ipv4-prefix %s overlaps %s of vn %s",
					      vn->name, a, b, o->name);
			}
		}
	}
	return 0;
}

/* ilad: an interface serves one vn; allowed addresses lie in their vn. */
static int check_node_vns(struct parser *p)
{
	const struct ila_conf *c = p->c;

	for (unsigned int i = 0; i < c->n_vns; i++) {
		const struct ila_conf_vn *vn = &c->vns[i];
		const struct vn_lines *vl = &p->vn[i];

		for (unsigned int k = 0; k < vn->n_allow; k++) {
			const struct ila_conf_prefix *a = &vn->allow[k];
			char s[64], q[64];
			bool inside;

			prefix_str(a, s, sizeof(s));
			if (a->family == AF_INET6) {
				ila_sir_prefix_format(&vn->sir_prefix, q, sizeof(q));
				inside = a->len >= 64 &&
					 ila_sir_prefix_contains(&vn->sir_prefix, &a->addr.v6);
			} else if (vn->ipv4_prefix.family) {
				prefix_str(&vn->ipv4_prefix, q, sizeof(q));
				inside = a->len >= vn->ipv4_prefix.len &&
					 bits_equal(prefix_bytes(a), prefix_bytes(&vn->ipv4_prefix),
						    vn->ipv4_prefix.len);
			} else {
				return err_at(p, vl->allow[k],
					      "vn %s allow: IPv4 prefix %s but the vn has no "
					      "ipv4-prefix", vn->name, s);
			}
			if (!inside)
				return err_at(p, vl->allow[k], "vn %s allow: %s is outside %s",
					      vn->name, s, q);
		}
		for (unsigned int k = 0; k < vn->n_interfaces; k++) {
			for (unsigned int j = 0; j < i; j++) {
				const struct ila_conf_vn *o = &c->vns[j];

				for (unsigned int m = 0; m < o->n_interfaces; m++) {
					if (strcmp(o->interfaces[m], vn->interfaces[k]) == 0)
						return err_at(p, vl->iface[k],
							      "vn %s interface: '%s' already "
							      "belongs to vn %s", vn->name,
							      vn->interfaces[k], o->name);
				}
			}
		}
	}
	return 0;
}

static int check_mapper(struct parser *p)
{
	struct ila_conf *c = p->c;
	int rc = resolve_refs(p);

	if (rc)
		return rc;
	if (c->lifetime_default_s > c->lifetime_max_s)
		return err_at(p, p->lifetime_line, "lifetime: default %u is above max %u",
			      c->lifetime_default_s, c->lifetime_max_s);
	for (unsigned int i = 0; i < c->n_nodes; i++) {
		if (!c->nodes[i].identity[0])
			copy_str(c->nodes[i].identity, ILA_CONF_IDENTITY_MAX, c->nodes[i].name);
	}
	for (unsigned int i = 1; i < c->n_nodes; i++) {
		for (unsigned int j = 0; j < i; j++) {
			if (strcmp(c->nodes[i].identity, c->nodes[j].identity) == 0) {
				unsigned int line = p->identity_line[i];

				return err_at(p, line ? line : p->node_line[i],
					      "node %s: identity '%s' already used by node %s",
					      c->nodes[i].name, c->nodes[i].identity,
					      c->nodes[j].name);
			}
		}
	}
	return 0;
}

/*
 * ilad, mode ila: the kernel translates by locator alone, so two vns on one
 * locator cannot both be served. The pairing is ila_conf_vn_locator()'s.
 */
static int check_node_locators(struct parser *p)
{
	const struct ila_conf *c = p->c;

	if (c->mode != ILA_CONF_MODE_ILA)
		return 0;
	for (unsigned int i = 1; i < c->n_vns; i++) {
		int li = ila_conf_vn_locator(c, i);

		for (unsigned int j = 0; j < i; j++) {
			char l[ILA_LOCATOR_STRLEN];

			if (ila_conf_vn_locator(c, j) != li)
				continue;
			ila_locator_format(&c->locators[li], l, sizeof(l));
			return err_at(p, p->vn[i].first,
				      "vn %s would share locator %s with vn %s: in mode ila each vn "
				      "needs a locator of its own (the first locator goes with the "
				      "first vn, and so on; %u vns, %u %s)",
				      c->vns[i].name, l, c->vns[j].name, c->n_vns, c->n_locators,
				      c->n_locators == 1 ? "locator" : "locators");
		}
	}
	return 0;
}

static int check_node(struct parser *p)
{
	const struct ila_conf *c = p->c;
	unsigned int eof = p->line ? p->line : 1;
	int rc;

	if (!c->node_name[0])
		return err_at(p, eof, "'node-name' is required");
	if (c->n_mappers == 0)
		return err_at(p, eof, "at least one 'mapper' is required");
	if (c->mode == ILA_CONF_MODE_ILA && c->n_locators == 0)
		return err_at(p, eof, "mode ila needs at least one 'locator'");
	if (c->cache == ILA_CONF_CACHE_ON_DEMAND)
		return err_at(p, p->cache_line,
			      "cache on-demand is not supported by this version: use cache full");
	rc = check_node_vns(p);
	if (!rc)
		rc = check_node_locators(p);
	return rc;
}

static int finish(struct parser *p)
{
	struct ila_conf *c = p->c;
	unsigned int eof = p->line ? p->line : 1;
	int rc;

	if (c->tls) {
		const char *missing = !c->tls_certificate[0] ? "certificate"
				      : !c->tls_key[0]	     ? "key"
				      : !c->tls_ca[0]	     ? "ca"
							     : NULL;
		if (missing)
			return err_at(p, p->tls_line, "tls: missing '%s'", missing);
		if (c->plaintext)
			return err_at(p, p->plaintext_line > p->tls_line ? p->plaintext_line
									 : p->tls_line,
				      "'plaintext' and 'tls' exclude each other");
	} else if (!c->plaintext) {
		return err_at(p, eof,
			      "'tls' is required: the mapper and the nodes authenticate with "
			      "certificates (tls certificate FILE key FILE ca FILE); 'plaintext' "
			      "is only for tests on loopback");
	}
	if (c->dead_interval_ms < 2 * c->keepalive_ms)
		return err_at(p, p->dead_line > p->keepalive_line ? p->dead_line
								  : p->keepalive_line,
			      "dead-interval %u ms is less than twice keepalive %u ms",
			      c->dead_interval_ms, c->keepalive_ms);
	rc = check_vns(p);
	if (!rc)
		rc = c->kind == ILA_CONF_MAPPER ? check_mapper(p) : check_node(p);
	if (!rc && c->plaintext)
		rc = check_plaintext(p);
	return rc;
}

/* ---- entry points ---- */

int ila_conf_vn_find(const struct ila_conf *c, const char *name)
{
	for (unsigned int i = 0; i < c->n_vns; i++) {
		if (strcmp(c->vns[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

int ila_conf_vn_locator(const struct ila_conf *c, unsigned int vn)
{
	if (vn >= c->n_vns || c->n_locators == 0)
		return -1;
	return (int)(vn < c->n_locators ? vn : c->n_locators - 1);
}

int ila_conf_node_find(const struct ila_conf *c, const char *name)
{
	for (unsigned int i = 0; i < c->n_nodes; i++) {
		if (strcmp(c->nodes[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

static int parse_lines(struct parser *p, const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *s = buf + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;

		pos += l + (nl ? 1 : 0);
		p->line++;
		if (memchr(s, '\0', l))
			return perr(p, "NUL byte in line");
		if (l > ILA_CONF_LINE_MAX)
			return perr(p, "line too long (%zu bytes, at most %d)", l,
				    ILA_CONF_LINE_MAX);
		int rc = tokenize(p, s, l);
		if (!rc && p->ntok)
			rc = dispatch(p);
		if (rc)
			return rc;
	}
	return 0;
}

int ila_conf_parse_buf(struct ila_conf *c, const char *name, const char *buf, size_t len,
		       char *err, size_t errlen)
{
	struct parser *p;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!name)
		name = "(config)";
	if (c->kind != ILA_CONF_MAPPER && c->kind != ILA_CONF_NODE) {
		if (err && errlen)
			snprintf(err, errlen, "%s: config not initialised", name);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (p)
		p->c = malloc(sizeof(*p->c));
	if (!p || !p->c) {
		free(p);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	ila_conf_init(p->c, c->kind);
	p->name = name;
	p->err = err;
	p->errlen = errlen;
	rc = parse_lines(p, buf, len);
	if (!rc)
		rc = finish(p);
	if (!rc)
		memcpy(c, p->c, sizeof(*c));
	free(p->refs);
	free(p->c);
	free(p);
	return rc;
}

int ila_conf_parse_file(struct ila_conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!f) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *n = ncap <= MAX_FILE_SIZE + 1 ? realloc(buf, ncap) : NULL;

			if (!n) {
				rc = ncap <= MAX_FILE_SIZE + 1 ? -ENOMEM : -EFBIG;
				if (err && errlen)
					snprintf(err, errlen, "%s: %s", path,
						 rc == -EFBIG ? "file too large" : strerror(-rc));
				goto out;
			}
			buf = n;
			cap = ncap;
		}
		size_t r = fread(buf + len, 1, cap - len, f);

		if (r == 0)
			break;
		len += r;
	}
	if (ferror(f)) {
		rc = -EIO;
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	rc = ila_conf_parse_buf(c, path, buf, len, err, errlen);
out:
	free(buf);
	fclose(f);
	return rc;
}

/* ---- equality ---- */

static bool vn_equal(const struct ila_conf_vn *a, const struct ila_conf_vn *b)
{
	if (strcmp(a->name, b->name) != 0 || a->id != b->id ||
	    memcmp(&a->sir_prefix, &b->sir_prefix, sizeof(a->sir_prefix)) != 0 ||
	    !prefix_equal(&a->ipv4_prefix, &b->ipv4_prefix) ||
	    memcmp(a->serve, b->serve, sizeof(a->serve)) != 0 ||
	    memcmp(a->subscribe, b->subscribe, sizeof(a->subscribe)) != 0 ||
	    a->n_interfaces != b->n_interfaces || a->n_allow != b->n_allow)
		return false;
	for (unsigned int i = 0; i < a->n_interfaces; i++) {
		if (strcmp(a->interfaces[i], b->interfaces[i]) != 0)
			return false;
	}
	for (unsigned int i = 0; i < a->n_allow; i++) {
		if (!prefix_equal(&a->allow[i], &b->allow[i]))
			return false;
	}
	return true;
}

bool ila_conf_equal(const struct ila_conf *a, const struct ila_conf *b)
{
#define SAME(f) (a->f == b->f)
#define SAME_STR(f) (strcmp(a->f, b->f) == 0)
	if (!SAME(kind) || !SAME(log_level) || !SAME_STR(pidfile) || !SAME_STR(control) ||
	    !SAME(tls) || !SAME_STR(tls_certificate) || !SAME_STR(tls_key) ||
	    !SAME_STR(tls_ca) || !SAME(plaintext) || !SAME(keepalive_ms) ||
	    !SAME(dead_interval_ms) || !SAME(n_vns))
		return false;
	if (!SAME(n_listen) || !SAME_STR(store) || !SAME(store_map_size_mb) || !SAME(n_nodes) ||
	    !SAME(damping_moves) || !SAME(damping_interval_s) || !SAME(damping_freeze_s) ||
	    !SAME(lifetime_default_s) || !SAME(lifetime_max_s) || !SAME(push_batch) ||
	    !SAME(push_delay_ms) || !SAME(push_queue_limit_kb) || !SAME(commit_batch) ||
	    !SAME(commit_delay_ms))
		return false;
	if (!SAME_STR(node_name) || !SAME(mode) || !SAME(role) || !SAME(n_locators) ||
	    !SAME(n_mappers) || !SAME(csum_mode) || !SAME(ident_type) ||
	    !SAME(route_protocol) || !SAME(hold_time_s) || !SAME(registration_lifetime_s) ||
	    !SAME(cache) || !SAME(attach_grace_s) || !SAME(zebra) || !SAME_STR(zebra_socket) ||
	    !SAME(zebra_version) || !SAME(zebra_route_type) || !SAME(zebra_route_type_num))
		return false;
#undef SAME
#undef SAME_STR
	for (unsigned int i = 0; i < a->n_vns; i++) {
		if (!vn_equal(&a->vns[i], &b->vns[i]))
			return false;
	}
	for (unsigned int i = 0; i < a->n_listen; i++) {
		if (!endpoint_equal(&a->listen[i], &b->listen[i]))
			return false;
	}
	for (unsigned int i = 0; i < a->n_nodes; i++) {
		if (strcmp(a->nodes[i].name, b->nodes[i].name) != 0 ||
		    strcmp(a->nodes[i].identity, b->nodes[i].identity) != 0)
			return false;
	}
	for (unsigned int i = 0; i < a->n_locators; i++) {
		if (memcmp(&a->locators[i], &b->locators[i], sizeof(a->locators[i])) != 0)
			return false;
	}
	for (unsigned int i = 0; i < a->n_mappers; i++) {
		if (!endpoint_equal(&a->mappers[i], &b->mappers[i]))
			return false;
	}
	return true;
}

unsigned int ila_conf_endpoint_sockaddr(const struct ila_conf_endpoint *ep,
					struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = ep->addr.v6;
		a->sin6_port = htons(ep->port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr = ep->addr.v4;
	a->sin_port = htons(ep->port);
	return sizeof(*a);
}
