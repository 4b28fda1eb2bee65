/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config keywords of ila-mapper only. */
#include "config.h"

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

int conf_kw_store(struct parser *p)
{
	return conf_kw_path(p, p->c->store, false);
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
