/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config parser: entry points, defaults, keyword dispatch, whole-file checks, equality.
 *
 * Parses ila-mapper.conf and ilad.conf (grammar in doc/config.md) in two
 * passes over the same struct: the line pass checks each line on its own
 * (syntax, ranges, duplicates) and records on which line every setting was
 * made; the final pass checks what only the whole file can tell
 * (required settings, references, conflicts between objects) and points at
 * the line that made the conflict.
 *
 * The line pass is spread over conf_lex.c (tokens, value parsers,
 * messages) and the keywords' files: conf_common.c, conf_vn.c,
 * conf_mapper.c, conf_node.c. The final pass is here. conf_parser.h holds
 * what they share.
 */
#include "config.h"

#include <sys/socket.h>

#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "conf_parser.h"

#define KIND_MAPPER (1u << ILA_CONF_MAPPER)
#define KIND_NODE (1u << ILA_CONF_NODE)
#define KIND_BOTH (KIND_MAPPER | KIND_NODE)

#define MAX_FILE_SIZE (16u << 20)
/* Default route protocol number: not in iproute2's rt_protos nor FRR's list. */
#define DEFAULT_ROUTE_PROTOCOL 73

/* ---- names (those of ilad's settings are in conf_node.c) ---- */

const char *ila_conf_kind_name(enum ila_conf_kind kind)
{
	return kind == ILA_CONF_MAPPER ? "ila-mapper" : "ilad";
}

/* ---- defaults ---- */

void ila_conf_init(struct ila_conf *c, enum ila_conf_kind kind)
{
	bool mapper = kind == ILA_CONF_MAPPER;

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->log_level = ILA_LOG_INFO;
	conf_copy_str(c->pidfile, sizeof(c->pidfile),
		      mapper ? ILA_RUNDIR "/ila-mapper.pid" : ILA_RUNDIR "/ilad.pid");
	conf_copy_str(c->control, sizeof(c->control),
		      mapper ? ILA_RUNDIR "/ila-mapper.sock" : ILA_RUNDIR "/ilad.sock");
	conf_copy_str(c->control_readonly, sizeof(c->control_readonly),
		      mapper ? ILA_RUNDIR "/ila-mapper.ro.sock" : ILA_RUNDIR "/ilad.ro.sock");
	c->keepalive_ms = 1000;
	c->dead_interval_ms = 3000;

	c->listen[0].family = AF_INET6;
	c->listen[0].addr.v6 = in6addr_loopback;
	c->listen[0].port = ILA_CONF_DEFAULT_PORT;
	c->n_listen = mapper ? 1 : 0;
	conf_copy_str(c->store, sizeof(c->store), ILA_STATEDIR "/mapper");
	c->store_map_size_mb = 1024;
	conf_copy_str(c->etcd_prefix, sizeof(c->etcd_prefix), "/ila/");
	c->etcd_timeout_ms = 2000;
	c->etcd_lease_s = 10;
	c->damping_moves = 5;
	c->damping_interval_s = 180;
	c->damping_freeze_s = 600;
	c->lifetime_default_s = 300;
	c->lifetime_max_s = 3600;
	c->push_batch = 256;
	c->push_delay_ms = 5;
	c->push_queue_limit_kb = 1024;
	c->watch_lifetime_s = 300;
	c->watch_max = 65536;
	c->commit_batch = 512;
	c->quota_node_mappings = 1000000;
	c->quota_vn_mappings = 4000000;
	c->quota_rate = 20000;
	c->quota_burst = 200000;
	c->commit_delay_ms = 2;
	c->limit_unauth = 256;
	c->limit_unauth_source = 32;
	c->limit_open_timeout_ms = 2000;
	c->limit_malformed = 10;

	c->mode = ILA_CONF_MODE_ILA;
	c->role = ILA_CONF_ROLE_HOST;
	c->dataplane = ILA_CONF_DATAPLANE_AUTO;
	c->csum_mode = ILA_CSUM_NEUTRAL_MAP;
	c->ident_type = ILA_IDENT_LUID;
	c->route_protocol = DEFAULT_ROUTE_PROTOCOL;
	c->hold_time_s = 30;
	c->registration_lifetime_s = 300;
	c->cache = ILA_CONF_CACHE_FULL;
	c->attach_grace_s = 5;
	c->on_demand_idle_s = 60;
	c->on_demand_max = 65536;
	c->bpf_max_mappings = 65536;
	c->zebra = false;
	conf_copy_str(c->zebra_socket, sizeof(c->zebra_socket), "/var/run/frr/zserv.api");
	c->zebra_version = ILA_CONF_ZEBRA_AUTO;
	c->zebra_route_type = ILA_CONF_ZRT_BABEL;
	c->zebra_gr_s = ILA_CONF_ZEBRA_GR_DEFAULT;
	c->zebra_tag = ILA_CONF_ZEBRA_TAG_DEFAULT;
}

void ila_conf_free(struct ila_conf *c)
{
	/* Nothing is allocated today; resetting keeps a freed config harmless. */
	ila_conf_init(c, c->kind);
}

/* ---- dispatch ---- */

static const struct keyword {
	const char *name;
	unsigned int kinds;
	int (*fn)(struct parser *p);
} keywords[] = {
	{ "log-level", KIND_BOTH, conf_kw_log_level },
	{ "pidfile", KIND_BOTH, conf_kw_pidfile },
	{ "control", KIND_BOTH, conf_kw_control },
	{ "user", KIND_BOTH, conf_kw_user },
	{ "control-group", KIND_BOTH, conf_kw_control_group },
	{ "control-readonly", KIND_BOTH, conf_kw_control_readonly },
	{ "tls", KIND_BOTH, conf_kw_tls },
	{ "plaintext", KIND_BOTH, conf_kw_plaintext },
	{ "keepalive", KIND_BOTH, conf_kw_keepalive },
	{ "dead-interval", KIND_BOTH, conf_kw_dead_interval },
	{ "metrics", KIND_BOTH, conf_kw_metrics },
	{ "vn", KIND_BOTH, conf_kw_vn },
	{ "listen", KIND_MAPPER, conf_kw_listen },
	{ "store", KIND_MAPPER, conf_kw_store },
	{ "store-map-size", KIND_MAPPER, conf_kw_store_map_size },
	{ "etcd", KIND_MAPPER, conf_kw_etcd },
	{ "node", KIND_MAPPER, conf_kw_node },
	{ "damping", KIND_MAPPER, conf_kw_damping },
	{ "lifetime", KIND_MAPPER, conf_kw_lifetime },
	{ "push", KIND_MAPPER, conf_kw_push },
	{ "commit", KIND_MAPPER, conf_kw_commit },
	{ "limit", KIND_MAPPER, conf_kw_limit },
	{ "quota", KIND_MAPPER, conf_kw_quota },
	{ "watch", KIND_MAPPER, conf_kw_watch },
	{ "node-name", KIND_NODE, conf_kw_node_name },
	{ "mode", KIND_NODE, conf_kw_mode },
	{ "role", KIND_NODE, conf_kw_role },
	{ "dataplane", KIND_NODE, conf_kw_dataplane },
	{ "locator", KIND_NODE, conf_kw_locator },
	{ "mapper", KIND_NODE, conf_kw_mapper },
	{ "csum-mode", KIND_NODE, conf_kw_csum_mode },
	{ "ident-type", KIND_NODE, conf_kw_ident_type },
	{ "route-protocol", KIND_NODE, conf_kw_route_protocol },
	{ "hold-time", KIND_NODE, conf_kw_hold_time },
	{ "registration-lifetime", KIND_NODE, conf_kw_registration_lifetime },
	{ "cache", KIND_NODE, conf_kw_cache },
	{ "attach-grace", KIND_NODE, conf_kw_attach_grace },
	{ "on-demand-idle", KIND_NODE, conf_kw_on_demand_idle },
	{ "on-demand-max", KIND_NODE, conf_kw_on_demand_max },
	{ "bpf-max-mappings", KIND_NODE, conf_kw_bpf_max_mappings },
	{ "zebra", KIND_NODE, conf_kw_zebra },
};

static int dispatch(struct parser *p)
{
	const char *kw = p->tok[0];

	for (size_t i = 0; i < ILA_ARRAY_SIZE(keywords); i++) {
		if (strcmp(kw, keywords[i].name) != 0)
			continue;
		if (!(keywords[i].kinds & (1u << p->c->kind)))
			return conf_perr(p, "'%s' is a keyword of %s, not of %s", kw,
					 ila_conf_kind_name(p->c->kind == ILA_CONF_MAPPER
							       ? ILA_CONF_NODE
							       : ILA_CONF_MAPPER),
					 ila_conf_kind_name(p->c->kind));
		return keywords[i].fn(p);
	}
	return conf_perr(p, "unknown keyword '%s'", kw);
}

/* ---- whole-file checks ---- */

static int resolve_refs(struct parser *p)
{
	struct ila_conf *c = p->c;
	struct hsearch_data table = { 0 };
	int rc = 0;

	/* node names hashed (glibc's hsearch_r) for resolving serve/subscribe
	 * lists in linear time */
	if (!p->nrefs)
		return 0;
	if (!hcreate_r(2 * (size_t)c->n_nodes + 1, &table)) {
		conf_perr(p, "out of memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < c->n_nodes; i++) {
		ENTRY e = { .key = c->nodes[i].name, .data = &c->nodes[i] }, *r;

		if (!hsearch_r(e, ENTER, &r, &table)) {
			rc = conf_perr(p, "out of memory");
			goto out;
		}
	}
	for (size_t r = 0; r < p->nrefs; r++) {
		const struct node_ref *ref = &p->refs[r];
		ENTRY q = { .key = (char *)ref->name }, *hit = NULL;
		int found = hsearch_r(q, FIND, &hit, &table) ?
				    (int)((const struct ila_conf_node *)hit->data - c->nodes) : -1;
		struct ila_conf_vn *vn = &c->vns[ref->vn];
		const char *attr = ref->subscribe ? "subscribe" : "serve";

		if (found < 0) {
			rc = conf_err_at(p, ref->line, "vn %s %s: unknown node '%s' (no 'node %s' line)",
					 vn->name, attr, ref->name, ref->name);
			goto out;
		}
		uint8_t *set = ref->subscribe ? vn->subscribe : vn->serve;
		uint8_t bit = (uint8_t)(1u << (found % 8));

		if (set[found / 8] & bit) {
			rc = conf_err_at(p, ref->line, "vn %s %s: node '%s' listed twice", vn->name,
					 attr, ref->name);
			goto out;
		}
		set[found / 8] |= bit;
	}
out:
	hdestroy_r(&table);
	return rc;
}

static int check_plaintext(struct parser *p)
{
	const struct ila_conf *c = p->c;
	bool mapper = c->kind == ILA_CONF_MAPPER;
	const struct ila_conf_endpoint *e = mapper ? c->listen : c->mappers;
	unsigned int n = mapper ? c->n_listen : c->n_mappers;

	for (unsigned int i = 0; i < n; i++) {
		if (!conf_endpoint_loopback(&e[i])) {
			char s[80];

			conf_endpoint_str(&e[i], s, sizeof(s));
			return conf_err_at(p, p->plaintext_line,
					   "plaintext: only for tests on loopback, but %s '%s' is "
					   "not a loopback address",
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
			return conf_err_at(p, vl->first, "vn %s: missing 'id'", vn->name);
		if (!vl->sir)
			return conf_err_at(p, vl->first, "vn %s: missing 'sir-prefix'", vn->name);
	}
	for (unsigned int i = 1; i < c->n_vns; i++) {
		const struct ila_conf_vn *vn = &c->vns[i];
		const struct vn_lines *vl = &p->vn[i];

		for (unsigned int j = 0; j < i; j++) {
			const struct ila_conf_vn *o = &c->vns[j];
			char s[ILA_SIR_PREFIX_STRLEN];

			if (vn->id == o->id)
				return conf_err_at(p, vl->id, "vn %s: id %u already used by vn %s",
						   vn->name, vn->id, o->name);
			if (memcmp(&vn->sir_prefix, &o->sir_prefix, sizeof(vn->sir_prefix)) == 0) {
				ila_sir_prefix_format(&vn->sir_prefix, s, sizeof(s));
				return conf_err_at(p, vl->sir,
						   "vn %s: sir-prefix %s already used by vn %s",
						   vn->name, s, o->name);
			}
			if (conf_prefix_overlap(&vn->ipv4_prefix, &o->ipv4_prefix)) {
				char a[64], b[64];

				conf_prefix_str(&vn->ipv4_prefix, a, sizeof(a));
				conf_prefix_str(&o->ipv4_prefix, b, sizeof(b));
				return conf_err_at(p, vl->ipv4,
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

			conf_prefix_str(a, s, sizeof(s));
			if (a->family == AF_INET6) {
				ila_sir_prefix_format(&vn->sir_prefix, q, sizeof(q));
				inside = a->len >= 64 &&
					 ila_sir_prefix_contains(&vn->sir_prefix, &a->addr.v6);
			} else if (vn->ipv4_prefix.family) {
				conf_prefix_str(&vn->ipv4_prefix, q, sizeof(q));
				inside = a->len >= vn->ipv4_prefix.len &&
					 conf_bits_equal(conf_prefix_bytes(a),
							 conf_prefix_bytes(&vn->ipv4_prefix),
							 vn->ipv4_prefix.len);
			} else {
				return conf_err_at(p, vl->allow[k],
						   "vn %s allow: IPv4 prefix %s but the vn has no "
						   "ipv4-prefix", vn->name, s);
			}
			if (!inside)
				return conf_err_at(p, vl->allow[k], "vn %s allow: %s is outside %s",
						   vn->name, s, q);
		}
		if (vn->gateway && vn->gw4.s_addr && !vn->ipv4_prefix.family)
			return conf_err_at(p, vl->gateway,
					   "vn %s gateway: IPv4 address but the vn has no "
					   "ipv4-prefix", vn->name);
		for (unsigned int k = 0; k < vn->n_interfaces; k++) {
			for (unsigned int j = 0; j < i; j++) {
				const struct ila_conf_vn *o = &c->vns[j];

				for (unsigned int m = 0; m < o->n_interfaces; m++) {
					if (strcmp(o->interfaces[m], vn->interfaces[k]) == 0)
						return conf_err_at(p, vl->iface[k],
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
	if ((rc = conf_check_etcd(p)))
		return rc;
	if (c->lifetime_default_s > c->lifetime_max_s)
		return conf_err_at(p, p->lifetime_line, "lifetime: default %u is above max %u",
				   c->lifetime_default_s, c->lifetime_max_s);
	for (unsigned int i = 0; i < c->n_nodes; i++) {
		if (!c->nodes[i].identity[0])
			conf_copy_str(c->nodes[i].identity, ILA_CONF_IDENTITY_MAX,
				      c->nodes[i].name);
	}
	for (unsigned int i = 1; i < c->n_nodes; i++) {
		for (unsigned int j = 0; j < i; j++) {
			if (strcmp(c->nodes[i].identity, c->nodes[j].identity) == 0) {
				unsigned int line = p->identity_line[i];

				return conf_err_at(p, line ? line : p->node_line[i],
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
			return conf_err_at(p, p->vn[i].first,
					   "vn %s would share locator %s with vn %s: "
					   "in mode ila each vn needs a locator of its own "
					   "(the first locator goes with the first vn, and "
					   "so on; %u vns, %u %s)",
					   c->vns[i].name, l, c->vns[j].name, c->n_vns,
					   c->n_locators,
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
		return conf_err_at(p, eof, "'node-name' is required");
	if (c->n_mappers == 0)
		return conf_err_at(p, eof, "at least one 'mapper' is required");
	if (c->mode == ILA_CONF_MODE_ILA && c->n_locators == 0)
		return conf_err_at(p, eof, "mode ila needs at least one 'locator'");
#ifndef HAVE_BPF
	if (c->dataplane == ILA_CONF_DATAPLANE_BPF)
		return conf_err_at(p, p->dataplane_line,
				   "dataplane bpf: this ilad was built without the BPF data path "
				   "(configure found no clang, bpftool or libbpf, or --disable-bpf); "
				   "use dataplane ila-module or auto");
#endif
	/* the kernel's module gives no signal when a packet finds no mapping:
	 * auto is checked at start, once it is resolved */
	if (c->cache == ILA_CONF_CACHE_ON_DEMAND && c->mode != ILA_CONF_MODE_ILA)
		return conf_err_at(p, p->cache_line,
				   "cache on-demand needs mode ila with dataplane bpf (it is "
				   "driven by the BPF data path's miss events)");
	if (c->cache == ILA_CONF_CACHE_ON_DEMAND && c->dataplane == ILA_CONF_DATAPLANE_ILA_MODULE)
		return conf_err_at(p, p->cache_line,
				   "cache on-demand needs dataplane bpf: the ila module gives no "
				   "signal when a packet finds no mapping");
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
			return conf_err_at(p, p->tls_line, "tls: missing '%s'", missing);
		if (c->plaintext)
			return conf_err_at(p, p->plaintext_line > p->tls_line ? p->plaintext_line
									 : p->tls_line,
					   "'plaintext' and 'tls' exclude each other");
	} else if (!c->plaintext) {
		return conf_err_at(p, eof,
				   "'tls' is required: the mapper and the nodes authenticate with "
				   "certificates (tls certificate FILE key FILE ca FILE); "
				   "'plaintext' is only for tests on loopback");
	}
	if (c->dead_interval_ms < 2 * c->keepalive_ms)
		return conf_err_at(p, p->dead_line > p->keepalive_line ? p->dead_line
								  : p->keepalive_line,
				   "dead-interval %u ms is less than twice keepalive %u ms",
				   c->dead_interval_ms, c->keepalive_ms);
	rc = conf_check_privilege(p);
	if (!rc)
		rc = conf_check_metrics(p);
	if (!rc)
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
			return conf_perr(p, "NUL byte in line");
		if (l > ILA_CONF_LINE_MAX)
			return conf_perr(p, "line too long (%zu bytes, at most %d)", l,
					 ILA_CONF_LINE_MAX);
		int rc = conf_tokenize(p, s, l);
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
	    !conf_prefix_equal(&a->ipv4_prefix, &b->ipv4_prefix) ||
	    memcmp(a->serve, b->serve, sizeof(a->serve)) != 0 ||
	    memcmp(a->subscribe, b->subscribe, sizeof(a->subscribe)) != 0 ||
	    a->n_interfaces != b->n_interfaces || a->n_allow != b->n_allow ||
	    a->gateway != b->gateway)
		return false;
	if (a->gateway && (memcmp(&a->gw6, &b->gw6, sizeof(a->gw6)) != 0 ||
			   a->gw4.s_addr != b->gw4.s_addr ||
			   memcmp(a->gw_mac, b->gw_mac, sizeof(a->gw_mac)) != 0))
		return false;
	for (unsigned int i = 0; i < a->n_interfaces; i++) {
		if (strcmp(a->interfaces[i], b->interfaces[i]) != 0)
			return false;
	}
	for (unsigned int i = 0; i < a->n_allow; i++) {
		if (!conf_prefix_equal(&a->allow[i], &b->allow[i]))
			return false;
	}
	return true;
}

bool ila_conf_equal(const struct ila_conf *a, const struct ila_conf *b)
{
#define SAME(f) (a->f == b->f)
#define SAME_STR(f) (strcmp(a->f, b->f) == 0)
	if (!SAME(kind) || !SAME(log_level) || !SAME_STR(pidfile) || !SAME_STR(control) ||
	    !SAME_STR(user) || !SAME_STR(control_group) || !SAME_STR(control_readonly) ||
	    !SAME(tls) || !SAME_STR(tls_certificate) || !SAME_STR(tls_key) ||
	    !SAME_STR(tls_ca) || !SAME(plaintext) || !SAME(keepalive_ms) ||
	    !SAME(dead_interval_ms) || !SAME(n_vns) || !SAME(metrics))
		return false;
	if (a->metrics && !conf_endpoint_equal(&a->metrics_listen, &b->metrics_listen))
		return false;
	if (!SAME(n_listen) || !SAME_STR(store) || !SAME(store_map_size_mb) || !SAME(n_nodes) ||
	    !SAME(damping_moves) || !SAME(damping_interval_s) || !SAME(damping_freeze_s) ||
	    !SAME(lifetime_default_s) || !SAME(lifetime_max_s) || !SAME(push_batch) ||
	    !SAME(push_delay_ms) || !SAME(push_queue_limit_kb) || !SAME(commit_batch) ||
	    !SAME(commit_delay_ms) || !SAME(limit_unauth) || !SAME(limit_unauth_source) ||
	    !SAME(limit_open_timeout_ms) || !SAME(limit_malformed))
		return false;
	if (!SAME(store_etcd) || !SAME(n_etcd) || !SAME_STR(etcd_certificate) ||
	    !SAME_STR(etcd_key) || !SAME_STR(etcd_ca) || !SAME_STR(etcd_prefix) ||
	    !SAME(etcd_timeout_ms) || !SAME(etcd_lease_s))
		return false;
	for (unsigned int i = 0; i < a->n_etcd; i++) {
		if (!SAME_STR(etcd_endpoints[i]))
			return false;
	}
	if (!SAME_STR(node_name) || !SAME(mode) || !SAME(dataplane) || !SAME(role) ||
	    !SAME(n_locators) || !SAME(n_mappers) || !SAME(csum_mode) || !SAME(ident_type) ||
	    !SAME(route_protocol) || !SAME(hold_time_s) || !SAME(registration_lifetime_s) ||
	    !SAME(cache) || !SAME(attach_grace_s) || !SAME(on_demand_idle_s) ||
	    !SAME(on_demand_max) || !SAME(bpf_max_mappings) || !SAME(zebra) || !SAME_STR(zebra_socket) ||
	    !SAME(zebra_version) || !SAME(zebra_route_type) || !SAME(zebra_route_type_num) ||
	    !SAME(zebra_gr_s) || !SAME(zebra_tag))
		return false;
#undef SAME
#undef SAME_STR
	for (unsigned int i = 0; i < a->n_vns; i++) {
		if (!vn_equal(&a->vns[i], &b->vns[i]))
			return false;
	}
	for (unsigned int i = 0; i < a->n_listen; i++) {
		if (!conf_endpoint_equal(&a->listen[i], &b->listen[i]))
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
		if (!conf_endpoint_equal(&a->mappers[i], &b->mappers[i]) ||
		    strcmp(a->mapper_identity[i], b->mapper_identity[i]) != 0)
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
