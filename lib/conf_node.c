/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config keywords of ilad only, and the names of the values they choose from. */
#include "config.h"

#include <string.h>

#include "conf_parser.h"

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

static const char *const dataplane_names[] = {
	[ILA_CONF_DATAPLANE_AUTO] = "auto",
	[ILA_CONF_DATAPLANE_ILA_MODULE] = "ila-module",
	[ILA_CONF_DATAPLANE_BPF] = "bpf",
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

const char *ila_conf_mode_name(enum ila_conf_mode mode)
{
	return name_of(mode_names, ILA_ARRAY_SIZE(mode_names), mode);
}

const char *ila_conf_role_name(enum ila_conf_role role)
{
	return name_of(role_names, ILA_ARRAY_SIZE(role_names), role);
}

const char *ila_conf_dataplane_name(enum ila_conf_dataplane dp)
{
	return name_of(dataplane_names, ILA_ARRAY_SIZE(dataplane_names), dp);
}

const char *ila_conf_cache_name(enum ila_conf_cache cache)
{
	return name_of(cache_names, ILA_ARRAY_SIZE(cache_names), cache);
}

const char *ila_conf_zebra_rtype_name(enum ila_conf_zebra_rtype t)
{
	return name_of(zrt_names, ILA_ARRAY_SIZE(zrt_names), t);
}

/* ---- ilad keywords ---- */

int conf_kw_node_name(struct parser *p)
{
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, p->c->node_name, "node-name");
	if (!rc)
		rc = conf_check_name(p, "node-name", p->tok[1]);
	if (!rc)
		conf_copy_str(p->c->node_name, sizeof(p->c->node_name), p->tok[1]);
	return rc;
}

/* key: the field set, for the duplicate check. */
static int kw_choice(struct parser *p, const void *key, const char *const *names, size_t n,
		     unsigned int *out)
{
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, key, p->tok[0]);
	if (!rc)
		rc = conf_parse_choice(p, p->tok[0], p->tok[1], names, n, out);
	return rc;
}

int conf_kw_mode(struct parser *p)
{
	unsigned int v;
	int rc = kw_choice(p, &p->c->mode, mode_names, ILA_ARRAY_SIZE(mode_names), &v);

	if (!rc)
		p->c->mode = (enum ila_conf_mode)v;
	return rc;
}

int conf_kw_role(struct parser *p)
{
	unsigned int v;
	int rc = kw_choice(p, &p->c->role, role_names, ILA_ARRAY_SIZE(role_names), &v);

	if (!rc)
		p->c->role = (enum ila_conf_role)v;
	return rc;
}

int conf_kw_dataplane(struct parser *p)
{
	unsigned int v;
	int rc = kw_choice(p, &p->c->dataplane, dataplane_names, ILA_ARRAY_SIZE(dataplane_names),
			   &v);

	if (!rc) {
		p->c->dataplane = (enum ila_conf_dataplane)v;
		p->dataplane_line = p->line;
	}
	return rc;
}

int conf_kw_cache(struct parser *p)
{
	unsigned int v;
	int rc = kw_choice(p, &p->c->cache, cache_names, ILA_ARRAY_SIZE(cache_names), &v);

	if (!rc) {
		p->c->cache = (enum ila_conf_cache)v;
		p->cache_line = p->line;
	}
	return rc;
}

int conf_kw_locator(struct parser *p)
{
	struct ila_conf *c = p->c;
	struct ila_locator loc;
	char e[160] = "";
	int rc = conf_want_values(p, 1);

	if (rc)
		return rc;
	if (ila_locator_parse(p->tok[1], &loc, e, sizeof(e)) < 0)
		return conf_perr(p, "locator: %s", *e ? e : "bad locator");
	for (unsigned int i = 0; i < c->n_locators; i++) {
		if (memcmp(&c->locators[i], &loc, sizeof(loc)) == 0)
			return conf_perr(p, "locator: '%s' given twice", p->tok[1]);
	}
	if (c->n_locators >= ILA_CONF_MAX_LOCATORS)
		return conf_perr(p, "locator: too many locators (at most %d) at '%s'",
				 ILA_CONF_MAX_LOCATORS, p->tok[1]);
	c->locators[c->n_locators++] = loc;
	return 0;
}

/* mapper ADDRESS [port P] [identity NAME] */
int conf_kw_mapper(struct parser *p)
{
	struct ila_conf *c = p->c;
	struct ila_conf_endpoint e;
	const char *identity = NULL;
	size_t ntok = p->ntok;
	int rc;

	for (size_t k = 2; k < ntok; k++) {
		if (strcmp(p->tok[k], "identity") != 0)
			continue;
		if (k + 1 >= ntok)
			return conf_perr(p, "mapper identity: missing value");
		if (k + 2 < ntok)
			return conf_perr(p, "mapper: extra value '%s'", p->tok[k + 2]);
		identity = p->tok[k + 1];
		if (strlen(identity) >= ILA_CONF_IDENTITY_MAX)
			return conf_perr(p, "mapper identity: bad identity '%s' (1-%d bytes)",
					 identity, ILA_CONF_IDENTITY_MAX - 1);
		p->ntok = k; /* the endpoint is what comes before */
		break;
	}
	rc = conf_parse_endpoint(p, 1, &e);
	p->ntok = ntok;
	if (rc)
		return rc;
	for (unsigned int i = 0; i < c->n_mappers; i++) {
		if (conf_endpoint_equal(&c->mappers[i], &e)) {
			char s[80];

			conf_endpoint_str(&e, s, sizeof(s));
			return conf_perr(p, "mapper: '%s' given twice (first on line %u)", s,
					 p->mapper_line[i]);
		}
	}
	if (c->n_mappers >= ILA_CONF_MAX_MAPPERS)
		return conf_perr(p, "mapper: too many mappers (at most %d) at '%s'",
				 ILA_CONF_MAX_MAPPERS, p->tok[1]);
	p->mapper_line[c->n_mappers] = p->line;
	conf_copy_str(c->mapper_identity[c->n_mappers], ILA_CONF_IDENTITY_MAX,
		      identity ? identity : "");
	c->mappers[c->n_mappers++] = e;
	return 0;
}

int conf_kw_csum_mode(struct parser *p)
{
	enum ila_csum_mode m;
	char e[160] = "";
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, &p->c->csum_mode, "csum-mode");
	if (rc)
		return rc;
	if (ila_csum_mode_parse(p->tok[1], &m, e, sizeof(e)) < 0)
		return conf_perr(p, "csum-mode: %s", *e ? e : "bad checksum mode");
	p->c->csum_mode = m;
	if (m == ILA_CSUM_ADJUST_TRANSPORT)
		conf_pwarn(p, "csum-mode adj-transport: kernels have been seen to write wrong "
			   "transport checksums in this mode; neutral-map is safe");
	return 0;
}

int conf_kw_ident_type(struct parser *p)
{
	enum ila_ident_type t;
	char e[160] = "";
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, &p->c->ident_type, "ident-type");
	if (rc)
		return rc;
	if (ila_ident_type_parse(p->tok[1], &t, e, sizeof(e)) < 0)
		return conf_perr(p, "ident-type: %s", *e ? e : "bad identifier type");
	/* The kernel's ILA routes take no other type. */
	if (t != ILA_IDENT_LUID && t != ILA_IDENT_USE_FORMAT)
		return conf_perr(p,
				 "ident-type: '%s' is not supported by the kernel (luid|use-format)",
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

int conf_kw_route_protocol(struct parser *p)
{
	uint32_t v;
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, &p->c->route_protocol, "route-protocol");
	if (!rc)
		rc = conf_parse_u32(p, "route-protocol", p->tok[1], 1, 255, &v);
	if (rc)
		return rc;
	for (size_t i = 0; i < ILA_ARRAY_SIZE(reserved_protocols); i++) {
		if (v >= reserved_protocols[i].first && v <= reserved_protocols[i].last)
			return conf_perr(p, "route-protocol: '%s' is used by %s", p->tok[1],
					 reserved_protocols[i].owner);
	}
	p->c->route_protocol = (uint8_t)v;
	return 0;
}

int conf_kw_hold_time(struct parser *p)
{
	return conf_kw_number(p, &p->c->hold_time_s, 1, 3600);
}

int conf_kw_registration_lifetime(struct parser *p)
{
	return conf_kw_number(p, &p->c->registration_lifetime_s, 1, 604800);
}

int conf_kw_on_demand_idle(struct parser *p)
{
	return conf_kw_number(p, &p->c->on_demand_idle_s, 1, 86400);
}

int conf_kw_on_demand_max(struct parser *p)
{
	return conf_kw_number(p, &p->c->on_demand_max, 1, 4194304);
}

int conf_kw_bpf_max_mappings(struct parser *p)
{
	return conf_kw_number(p, &p->c->bpf_max_mappings, 1024, 16777216);
}

int conf_kw_attach_grace(struct parser *p)
{
	return conf_kw_number(p, &p->c->attach_grace_s, 0, 3600);
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
	return conf_perr(p, "%s: unknown value '%s' (auto|8|9|10)", what, v);
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
		return conf_perr(p, "%s: unknown value '%s' (babel|openfabric|table|NUMBER)", what,
				 v);
	/* 0-4 are zebra's own kinds (system, kernel, connected, static or local). */
	int rc = conf_parse_u32(p, what, v, 5, 254, &n);
	if (rc)
		return rc;
	c->zebra_route_type = ILA_CONF_ZRT_NUMBER;
	c->zebra_route_type_num = (uint8_t)n;
	return 0;
}

/* "graceful-restart SECONDS|off": the stale time zebra keeps ilad's routes. */
static int attr_zebra_gr(struct parser *p, const struct attr *a, const char *what, const char *v)
{
	uint32_t n;
	int rc;

	if (strcmp(v, "off") == 0) {
		p->c->zebra_gr_s = 0;
		return 0;
	}
	rc = conf_parse_u32(p, what, v, 1, ILA_CONF_ZEBRA_GR_MAX, &n);
	if (rc)
		return rc;
	p->c->zebra_gr_s = n;
	return 0;
}

/* "tag N": the route tag of ilad's routes in zebra, 0 for none. */
static int attr_zebra_tag(struct parser *p, const struct attr *a, const char *what, const char *v)
{
	return conf_parse_u32(p, what, v, 0, UINT32_MAX, &p->c->zebra_tag);
}

static const struct attr zebra_attrs[] = {
	ATTR_PATH("socket", zebra_socket, SOCK_PATH_MAX),
	{ .name = "graceful-restart", .fn = attr_zebra_gr },
	{ .name = "version", .fn = attr_zebra_version },
	{ .name = "route-type", .fn = attr_zebra_route_type },
	{ .name = "tag", .fn = attr_zebra_tag },
};

/* "zebra on|off [ATTR VALUE]..." or "zebra ATTR VALUE [ATTR VALUE]...". */
int conf_kw_zebra(struct parser *p)
{
	size_t first = 1;

	if (p->ntok >= 2 && (strcmp(p->tok[1], "on") == 0 || strcmp(p->tok[1], "off") == 0)) {
		int rc = conf_once(p, &p->c->zebra, "zebra on|off");

		if (rc)
			return rc;
		p->c->zebra = p->tok[1][1] == 'n';
		first = 2;
		if (p->ntok == 2)
			return 0;
	}
	return conf_attrs(p, first, zebra_attrs, ILA_ARRAY_SIZE(zebra_attrs));
}
