/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config keywords of ila-mapper only. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf_parser.h"

/* ---- ila-mapper keywords ---- */

int conf_kw_listen(struct parser *p)
{
	struct ila_conf *c = p->c;
	struct ila_conf_endpoint e;
	int rc = conf_parse_endpoint(p, 1, &e);

	if (rc)
		return rc;
	if (!p->listen_given) {
		/* The first listen line replaces the default address. */
		p->listen_given = true;
		c->n_listen = 0;
	}
	for (unsigned int i = 0; i < c->n_listen; i++) {
		if (conf_endpoint_equal(&c->listen[i], &e)) {
			char s[80];

			conf_endpoint_str(&e, s, sizeof(s));
			return conf_perr(p, "listen: '%s' given twice (first on line %u)", s,
					 p->listen_line[i]);
		}
	}
	if (c->n_listen >= ILA_CONF_MAX_LISTEN)
		return conf_perr(p, "listen: too many addresses (at most %d) at '%s'",
				 ILA_CONF_MAX_LISTEN, p->tok[1]);
	p->listen_line[c->n_listen] = p->line;
	c->listen[c->n_listen++] = e;
	return 0;
}

/* store PATH (LMDB) or store etcd [cache PATH]. */
int conf_kw_store(struct parser *p)
{
	struct ila_conf *c = p->c;
	int rc;

	p->store_line = p->line;
	if (p->ntok < 2 || strcmp(p->tok[1], "etcd") != 0)
		return conf_kw_path(p, c->store, false);
	if ((rc = conf_once(p, c->store, "store")))
		return rc;
	c->store_etcd = true;
	conf_copy_str(c->store, sizeof(c->store), ILA_STATEDIR "/mapper-etcd");
	if (p->ntok == 2)
		return 0;
	if (p->ntok != 4 || strcmp(p->tok[2], "cache") != 0)
		return conf_perr(p, "store etcd: expected 'store etcd [cache PATH]'");
	if (!p->tok[3][0] || strlen(p->tok[3]) >= sizeof(c->store))
		return conf_perr(p, "store etcd cache: bad path '%s'", p->tok[3]);
	conf_copy_str(c->store, sizeof(c->store), p->tok[3]);
	return 0;
}

/*
 * An etcd endpoint: http:// or https://, a host (name, IPv4 or [IPv6]) and
 * an optional port, nothing after it.
 */
static int etcd_url(struct parser *p, const char *u)
{
	const char *h;
	size_t n = strlen(u);

	if (n >= ILA_CONF_URL_MAX)
		return conf_perr(p, "etcd endpoint: '%s' too long (at most %d bytes)", u,
				 ILA_CONF_URL_MAX - 1);
	if (strncmp(u, "http://", 7) == 0)
		h = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		h = u + 8;
	else
		return conf_perr(p, "etcd endpoint: '%s' is not an http:// or https:// URL", u);
	const char *end = h;

	if (*h == '[') {
		end = strchr(h, ']');
		if (!end || end == h + 1)
			return conf_perr(p, "etcd endpoint: '%s': unclosed IPv6 address", u);
		for (const char *q = h + 1; q < end; q++) {
			if (!strchr("0123456789abcdefABCDEF:.", *q))
				return conf_perr(p, "etcd endpoint: '%s': bad IPv6 address", u);
		}
		end++;
	} else {
		while (*end && (isalnum((unsigned char)*end) || *end == '-' || *end == '.'))
			end++;
		if (end == h)
			return conf_perr(p, "etcd endpoint: '%s': no host", u);
	}
	if (*end == ':') {
		char *stop;
		unsigned long port;

		errno = 0;
		port = strtoul(end + 1, &stop, 10);
		if (stop == end + 1 || errno || port < 1 || port > 65535 || !isdigit((unsigned char)end[1]))
			return conf_perr(p, "etcd endpoint: '%s': bad port", u);
		end = stop;
	}
	if (*end == '/' && end[1] == '\0')
		end++;
	if (*end)
		return conf_perr(p, "etcd endpoint: '%s': unexpected '%s' after host and port",
				 u, end);
	return 0;
}

static const struct attr etcd_tls_attrs[] = {
	ATTR_PATH("certificate", etcd_certificate, ILA_CONF_PATH_MAX - 1),
	ATTR_PATH("key", etcd_key, ILA_CONF_PATH_MAX - 1),
	ATTR_PATH("ca", etcd_ca, ILA_CONF_PATH_MAX - 1),
};

/*
 * etcd endpoint URL...   (repeatable)
 * etcd tls certificate F key F ca F
 * etcd prefix P
 * etcd timeout MS
 * etcd lease S
 */
int conf_kw_etcd(struct parser *p)
{
	struct ila_conf *c = p->c;
	const char *sub = p->ntok > 1 ? p->tok[1] : "";
	int rc;

	if (!p->etcd_line)
		p->etcd_line = p->line;
	if (strcmp(sub, "endpoint") == 0) {
		if (p->ntok < 3)
			return conf_perr(p, "etcd endpoint: missing URL");
		for (size_t i = 2; i < p->ntok; i++) {
			if ((rc = etcd_url(p, p->tok[i])))
				return rc;
			for (unsigned int j = 0; j < c->n_etcd; j++) {
				if (strcmp(c->etcd_endpoints[j], p->tok[i]) == 0)
					return conf_perr(p, "etcd endpoint: '%s' given twice",
							 p->tok[i]);
			}
			if (c->n_etcd >= ILA_CONF_MAX_ETCD)
				return conf_perr(p, "etcd endpoint: too many (at most %d) at '%s'",
						 ILA_CONF_MAX_ETCD, p->tok[i]);
			conf_copy_str(c->etcd_endpoints[c->n_etcd++], ILA_CONF_URL_MAX, p->tok[i]);
		}
		return 0;
	}
	if (strcmp(sub, "tls") == 0) {
		if (!p->etcd_tls_line)
			p->etcd_tls_line = p->line;
		return conf_attrs(p, 2, etcd_tls_attrs, ILA_ARRAY_SIZE(etcd_tls_attrs));
	}
	if (strcmp(sub, "prefix") == 0) {
		if (p->ntok != 3)
			return conf_perr(p, "etcd prefix: expected one value");
		if ((rc = conf_once(p, c->etcd_prefix, "etcd prefix")))
			return rc;
		const char *v = p->tok[2];
		size_t n = strlen(v);

		if (n < 2 || v[0] != '/' || v[n - 1] != '/' || n >= sizeof(c->etcd_prefix))
			return conf_perr(p, "etcd prefix: '%s' must start and end with '/' "
					 "(2-%zu bytes)", v, sizeof(c->etcd_prefix) - 1);
		for (size_t i = 0; i < n; i++) {
			if (!isgraph((unsigned char)v[i]))
				return conf_perr(p, "etcd prefix: '%s': only printable characters "
						 "without spaces", v);
		}
		conf_copy_str(c->etcd_prefix, sizeof(c->etcd_prefix), v);
		return 0;
	}
	if (strcmp(sub, "timeout") == 0 || strcmp(sub, "lease") == 0) {
		bool t = sub[0] == 't';
		uint32_t *dst = t ? &c->etcd_timeout_ms : &c->etcd_lease_s;
		char what[16];

		snprintf(what, sizeof(what), "etcd %s", sub);
		if (p->ntok != 3)
			return conf_perr(p, "%s: expected one value", what);
		if ((rc = conf_once(p, dst, what)))
			return rc;
		return conf_parse_u32(p, what, p->tok[2], t ? 100 : 2, t ? 60000 : 600, dst);
	}
	return conf_perr(p, "etcd: unknown setting '%s' (endpoint, tls, prefix, timeout, lease)",
			 sub);
}

int conf_check_etcd(struct parser *p)
{
	struct ila_conf *c = p->c;
	bool https = false, http = false;

	if (!c->store_etcd) {
		if (p->etcd_line)
			return conf_err_at(p, p->etcd_line,
					   "etcd: settings given but the store is not etcd "
					   "(add 'store etcd')");
		return 0;
	}
	if (!c->n_etcd)
		return conf_err_at(p, p->store_line,
				   "store etcd: no 'etcd endpoint' given");
	for (unsigned int i = 0; i < c->n_etcd; i++) {
		if (strncmp(c->etcd_endpoints[i], "https://", 8) == 0)
			https = true;
		else
			http = true;
	}
	if (https && http)
		return conf_err_at(p, p->etcd_line,
				   "etcd endpoint: all http:// or all https://, not both");
	if (!!c->etcd_certificate[0] != !!c->etcd_key[0])
		return conf_err_at(p, p->etcd_tls_line,
				   "etcd tls: certificate and key go together");
	if (https && !c->etcd_ca[0])
		return conf_err_at(p, p->etcd_tls_line ? p->etcd_tls_line : p->etcd_line,
				   "etcd endpoint https://: 'etcd tls ca FILE' is needed");
	if (http && p->etcd_tls_line)
		return conf_err_at(p, p->etcd_tls_line,
				   "etcd tls: given but the endpoints are http://");
	return 0;
}

int conf_kw_store_map_size(struct parser *p)
{
	return conf_kw_number(p, &p->c->store_map_size_mb, 1, 1048576);
}

int conf_kw_node(struct parser *p)
{
	struct ila_conf *c = p->c;
	int rc;

	if (p->ntok < 2)
		return conf_perr(p, "node: missing value");
	rc = conf_check_name(p, "node", p->tok[1]);
	if (rc)
		return rc;
	int i = ila_conf_node_find(c, p->tok[1]);

	if (i < 0) {
		if (c->n_nodes >= ILA_CONF_MAX_NODES)
			return conf_perr(p, "node %s: too many nodes (at most %d)", p->tok[1],
					 ILA_CONF_MAX_NODES);
		i = (int)c->n_nodes++;
		conf_copy_str(c->nodes[i].name, ILA_CONF_NAME_MAX, p->tok[1]);
		p->node_line[i] = p->line;
	}
	struct ila_conf_node *node = &c->nodes[i];

	for (size_t k = 2; k < p->ntok; k += 2) {
		if (strcmp(p->tok[k], "identity") != 0)
			return conf_perr(p, "node %s: unknown attribute '%s' (identity)",
					 node->name, p->tok[k]);
		if (k + 1 >= p->ntok)
			return conf_perr(p, "node %s identity: missing value", node->name);
		const char *v = p->tok[k + 1];
		size_t n = strlen(v);

		if (p->identity_line[i])
			return conf_perr(p, "node %s: duplicate 'identity' (first on line %u)",
					 node->name, p->identity_line[i]);
		if (n == 0 || n >= ILA_CONF_IDENTITY_MAX)
			return conf_perr(p, "node %s identity: bad identity '%s' (1-%d bytes)",
					 node->name, v, ILA_CONF_IDENTITY_MAX - 1);
		p->identity_line[i] = p->line;
		conf_copy_str(node->identity, ILA_CONF_IDENTITY_MAX, v);
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
		return conf_perr(p, "%s: bad value '%s' (seconds or permanent)", what, v);
	return conf_attr_u32(p, a, what, v);
}

static const struct attr damping_attrs[] = {
	ATTR_U32("moves", damping_moves, 1, 254), /* the store counts up to 255 */
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

static const struct attr limit_attrs[] = {
	ATTR_U32("unauthenticated", limit_unauth, 1, 65536),
	ATTR_U32("per-source", limit_unauth_source, 1, 65536),
	ATTR_U32("open-timeout", limit_open_timeout_ms, 100, 60000),
	ATTR_U32("malformed", limit_malformed, 1, 1000000),
};

int conf_kw_limit(struct parser *p)
{
	return conf_attrs(p, 1, limit_attrs, ILA_ARRAY_SIZE(limit_attrs));
}

int conf_kw_damping(struct parser *p)
{
	return conf_attrs(p, 1, damping_attrs, ILA_ARRAY_SIZE(damping_attrs));
}

int conf_kw_lifetime(struct parser *p)
{
	p->lifetime_line = p->line;
	return conf_attrs(p, 1, lifetime_attrs, ILA_ARRAY_SIZE(lifetime_attrs));
}

int conf_kw_push(struct parser *p)
{
	return conf_attrs(p, 1, push_attrs, ILA_ARRAY_SIZE(push_attrs));
}

static const struct attr watch_attrs[] = {
	ATTR_U32("lifetime", watch_lifetime_s, 1, 86400),
	ATTR_U32("max", watch_max, 0, UINT32_MAX),
};

int conf_kw_watch(struct parser *p)
{
	return conf_attrs(p, 1, watch_attrs, ILA_ARRAY_SIZE(watch_attrs));
}

int conf_kw_commit(struct parser *p)
{
	return conf_attrs(p, 1, commit_attrs, ILA_ARRAY_SIZE(commit_attrs));
}

static const struct attr quota_attrs[] = {
	ATTR_U32("node-mappings", quota_node_mappings, 0, UINT32_MAX),
	ATTR_U32("vn-mappings", quota_vn_mappings, 0, UINT32_MAX),
	ATTR_U32("rate", quota_rate, 0, UINT32_MAX),
	ATTR_U32("burst", quota_burst, 1, UINT32_MAX),
};

int conf_kw_quota(struct parser *p)
{
	return conf_attrs(p, 1, quota_attrs, ILA_ARRAY_SIZE(quota_attrs));
}
