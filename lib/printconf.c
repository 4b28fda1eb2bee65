/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prints a config in the canonical form: every setting, defaults included,
 * in a fixed order, values quoted only where the lexer needs it. Parsing
 * the output gives back an equal config (tests/unit/test_conf.c and the
 * conf fuzz target check this), so `-nv` output can be diffed and reused.
 */
#include "config.h"

#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Lists and attribute lines wrap at this width, never inside a value. */
#define PRINT_WIDTH 100
#define QUOTED_MAX (2 * ILA_CONF_TOKEN_MAX + 3)

/* Writes s as one token: bare, or in double quotes with \" and \\. */
static void quote(const char *s, char *out)
{
	if (*s && !strpbrk(s, " \t#\"\\")) {
		strcpy(out, s);
		return;
	}
	*out++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*out++ = '\\';
		*out++ = *s;
	}
	*out++ = '"';
	*out = '\0';
}

/* One or more lines that start with the same prefix ("vn blue serve"). */
struct pline {
	FILE *out;
	char buf[ILA_CONF_LINE_MAX + 1];
	size_t len, prefix_len;
};

static void pl_begin(struct pline *pl, FILE *out, const char *kw, const char *name,
		     const char *attr)
{
	const char *parts[] = { kw, name, attr };

	pl->out = out;
	pl->len = 0;
	for (size_t i = 0; i < ILA_ARRAY_SIZE(parts); i++) {
		char tok[QUOTED_MAX];

		if (!parts[i])
			continue;
		quote(parts[i], tok);
		pl->len += (size_t)snprintf(pl->buf + pl->len, sizeof(pl->buf) - pl->len, "%s%s",
					    pl->len ? " " : "", tok);
	}
	pl->prefix_len = pl->len;
}

static void pl_flush(struct pline *pl)
{
	if (pl->len > pl->prefix_len) {
		pl->buf[pl->len] = '\0';
		fputs(pl->buf, pl->out);
		fputc('\n', pl->out);
	}
	pl->len = pl->prefix_len;
}

/* Adds "name value" (either may be NULL) as a group kept on one line. */
static void pl_add(struct pline *pl, const char *name, const char *value)
{
	char a[QUOTED_MAX] = "", b[QUOTED_MAX] = "";

	if (name)
		quote(name, a);
	if (value)
		quote(value, b);
	size_t glen = 1 + strlen(a) + (name && value ? 1 : 0) + strlen(b);

	if (pl->len > pl->prefix_len && pl->len + glen > PRINT_WIDTH)
		pl_flush(pl);
	pl->len += (size_t)snprintf(pl->buf + pl->len, sizeof(pl->buf) - pl->len, " %s%s%s", a,
				    name && value ? " " : "", b);
}

static void pl_add_u32(struct pline *pl, const char *name, uint32_t v)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", v);
	pl_add(pl, name, s);
}

static void line_str(FILE *out, const char *kw, const char *v)
{
	struct pline pl;

	pl_begin(&pl, out, kw, NULL, NULL);
	pl_add(&pl, NULL, v);
	pl_flush(&pl);
}

static void line_u32(FILE *out, const char *kw, uint32_t v)
{
	struct pline pl;

	pl_begin(&pl, out, kw, NULL, NULL);
	pl_add_u32(&pl, NULL, v);
	pl_flush(&pl);
}

/* identity: printed when not NULL or "" */
static void line_endpoint(FILE *out, const char *kw, const struct ila_conf_endpoint *e,
			  const char *identity)
{
	char a[INET6_ADDRSTRLEN];
	struct pline pl;

	inet_ntop(e->family, &e->addr, a, sizeof(a));
	pl_begin(&pl, out, kw, NULL, NULL);
	pl_add(&pl, NULL, a);
	pl_add_u32(&pl, "port", e->port);
	if (identity && *identity)
		pl_add(&pl, "identity", identity);
	pl_flush(&pl);
}

static void prefix_str(const struct ila_conf_prefix *pf, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(pf->family, &pf->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, (unsigned int)pf->len);
}

static void print_common(const struct ila_conf *c, FILE *out)
{
	struct pline pl;

	line_str(out, "log-level", ila_log_level_name(c->log_level));
	line_str(out, "pidfile", c->pidfile);
	line_str(out, "control", c->control);
	line_str(out, "user", c->user[0] ? c->user : "none");
	line_str(out, "control-group", c->control_group[0] ? c->control_group : "none");
	line_str(out, "control-readonly", c->control_readonly[0] ? c->control_readonly : "none");
	if (c->tls) {
		pl_begin(&pl, out, "tls", NULL, NULL);
		pl_add(&pl, "certificate", c->tls_certificate);
		pl_add(&pl, "key", c->tls_key);
		pl_add(&pl, "ca", c->tls_ca);
		pl_flush(&pl);
	}
	if (c->plaintext)
		fputs("plaintext\n", out);
	line_u32(out, "keepalive", c->keepalive_ms);
	line_u32(out, "dead-interval", c->dead_interval_ms);
	if (c->metrics) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(c->metrics_listen.family, &c->metrics_listen.addr, a, sizeof(a));
		pl_begin(&pl, out, "metrics", "listen", NULL);
		pl_add(&pl, NULL, a);
		pl_add_u32(&pl, "port", c->metrics_listen.port);
		pl_flush(&pl);
	} else {
		line_str(out, "metrics", "none");
	}
}

static void print_mapper(const struct ila_conf *c, FILE *out)
{
	struct pline pl;

	for (unsigned int i = 0; i < c->n_listen; i++)
		line_endpoint(out, "listen", &c->listen[i], NULL);
	if (c->store_etcd) {
		pl_begin(&pl, out, "store", "etcd", NULL);
		pl_add(&pl, "cache", c->store);
		pl_flush(&pl);
	} else {
		line_str(out, "store", c->store);
	}
	line_u32(out, "store-map-size", c->store_map_size_mb);
	if (c->store_etcd) {
		for (unsigned int i = 0; i < c->n_etcd; i++)
			fprintf(out, "etcd endpoint %s\n", c->etcd_endpoints[i]);
		if (c->etcd_ca[0] || c->etcd_certificate[0]) {
			pl_begin(&pl, out, "etcd", "tls", NULL);
			if (c->etcd_certificate[0]) {
				pl_add(&pl, "certificate", c->etcd_certificate);
				pl_add(&pl, "key", c->etcd_key);
			}
			if (c->etcd_ca[0])
				pl_add(&pl, "ca", c->etcd_ca);
			pl_flush(&pl);
		}
		pl_begin(&pl, out, "etcd", "prefix", NULL);
		pl_add(&pl, NULL, c->etcd_prefix);
		pl_flush(&pl);
		pl_begin(&pl, out, "etcd", "timeout", NULL);
		pl_add_u32(&pl, NULL, c->etcd_timeout_ms);
		pl_flush(&pl);
		pl_begin(&pl, out, "etcd", "lease", NULL);
		pl_add_u32(&pl, NULL, c->etcd_lease_s);
		pl_flush(&pl);
	}

	pl_begin(&pl, out, "lifetime", NULL, NULL);
	pl_add_u32(&pl, "default", c->lifetime_default_s);
	pl_add_u32(&pl, "max", c->lifetime_max_s);
	pl_flush(&pl);

	pl_begin(&pl, out, "damping", NULL, NULL);
	pl_add_u32(&pl, "moves", c->damping_moves);
	pl_add_u32(&pl, "interval", c->damping_interval_s);
	if (c->damping_freeze_s == ILA_CONF_FREEZE_PERMANENT)
		pl_add(&pl, "freeze", "permanent");
	else
		pl_add_u32(&pl, "freeze", c->damping_freeze_s);
	pl_flush(&pl);

	pl_begin(&pl, out, "push", NULL, NULL);
	pl_add_u32(&pl, "batch", c->push_batch);
	pl_add_u32(&pl, "delay", c->push_delay_ms);
	pl_add_u32(&pl, "queue-limit", c->push_queue_limit_kb);
	pl_flush(&pl);

	pl_begin(&pl, out, "watch", NULL, NULL);
	pl_add_u32(&pl, "lifetime", c->watch_lifetime_s);
	pl_add_u32(&pl, "max", c->watch_max);
	pl_flush(&pl);

	pl_begin(&pl, out, "commit", NULL, NULL);
	pl_add_u32(&pl, "batch", c->commit_batch);
	pl_add_u32(&pl, "delay", c->commit_delay_ms);
	pl_flush(&pl);

	pl_begin(&pl, out, "limit", NULL, NULL);
	pl_add_u32(&pl, "unauthenticated", c->limit_unauth);
	pl_add_u32(&pl, "per-source", c->limit_unauth_source);
	pl_add_u32(&pl, "open-timeout", c->limit_open_timeout_ms);
	pl_add_u32(&pl, "malformed", c->limit_malformed);
	pl_flush(&pl);

	pl_begin(&pl, out, "quota", NULL, NULL);
	pl_add_u32(&pl, "node-mappings", c->quota_node_mappings);
	pl_add_u32(&pl, "vn-mappings", c->quota_vn_mappings);
	pl_add_u32(&pl, "rate", c->quota_rate);
	pl_add_u32(&pl, "burst", c->quota_burst);
	pl_flush(&pl);

	if (c->n_nodes)
		fputc('\n', out);
	for (unsigned int i = 0; i < c->n_nodes; i++) {
		pl_begin(&pl, out, "node", c->nodes[i].name, NULL);
		pl_add(&pl, "identity", c->nodes[i].identity);
		pl_flush(&pl);
	}
}

static void print_node(const struct ila_conf *c, FILE *out)
{
	char s[ILA_LOCATOR_STRLEN];
	struct pline pl;

	if (c->node_name[0])
		line_str(out, "node-name", c->node_name);
	line_str(out, "mode", ila_conf_mode_name(c->mode));
	line_str(out, "dataplane", ila_conf_dataplane_name(c->dataplane));
	line_str(out, "role", ila_conf_role_name(c->role));
	for (unsigned int i = 0; i < c->n_locators; i++)
		line_str(out, "locator", ila_locator_format(&c->locators[i], s, sizeof(s)));
	for (unsigned int i = 0; i < c->n_mappers; i++)
		line_endpoint(out, "mapper", &c->mappers[i], c->mapper_identity[i]);
	line_str(out, "csum-mode", ila_csum_mode_name(c->csum_mode));
	line_str(out, "ident-type", ila_ident_type_name(c->ident_type));
	line_u32(out, "route-protocol", c->route_protocol);
	line_u32(out, "hold-time", c->hold_time_s);
	line_u32(out, "registration-lifetime", c->registration_lifetime_s);
	line_str(out, "cache", ila_conf_cache_name(c->cache));
	line_u32(out, "attach-grace", c->attach_grace_s);
	line_u32(out, "on-demand-idle", c->on_demand_idle_s);
	line_u32(out, "on-demand-max", c->on_demand_max);
	line_u32(out, "bpf-max-mappings", c->bpf_max_mappings);

	line_str(out, "zebra", c->zebra ? "on" : "off");
	pl_begin(&pl, out, "zebra", NULL, NULL);
	pl_add(&pl, "socket", c->zebra_socket);
	if (c->zebra_version == ILA_CONF_ZEBRA_AUTO)
		pl_add(&pl, "version", "auto");
	else
		pl_add_u32(&pl, "version", c->zebra_version);
	if (c->zebra_route_type == ILA_CONF_ZRT_NUMBER)
		pl_add_u32(&pl, "route-type", c->zebra_route_type_num);
	else
		pl_add(&pl, "route-type", ila_conf_zebra_rtype_name(c->zebra_route_type));
	if (c->zebra_gr_s)
		pl_add_u32(&pl, "graceful-restart", c->zebra_gr_s);
	else
		pl_add(&pl, "graceful-restart", "off");
	pl_add_u32(&pl, "tag", c->zebra_tag);
	pl_flush(&pl);
}

static void print_vn(const struct ila_conf *c, const struct ila_conf_vn *vn, FILE *out)
{
	char s[ILA_SIR_PREFIX_STRLEN + 8];
	struct pline pl;

	pl_begin(&pl, out, "vn", vn->name, NULL);
	pl_add_u32(&pl, "id", vn->id);
	pl_add(&pl, "sir-prefix", ila_sir_prefix_format(&vn->sir_prefix, s, sizeof(s)));
	if (vn->ipv4_prefix.family) {
		prefix_str(&vn->ipv4_prefix, s, sizeof(s));
		pl_add(&pl, "ipv4-prefix", s);
	}
	pl_flush(&pl);

	if (c->kind == ILA_CONF_MAPPER) {
		pl_begin(&pl, out, "vn", vn->name, "serve");
		for (unsigned int i = 0; i < c->n_nodes; i++) {
			if (ila_conf_nodeset_has(vn->serve, i))
				pl_add(&pl, NULL, c->nodes[i].name);
		}
		pl_flush(&pl);
		pl_begin(&pl, out, "vn", vn->name, "subscribe");
		for (unsigned int i = 0; i < c->n_nodes; i++) {
			if (ila_conf_nodeset_has(vn->subscribe, i))
				pl_add(&pl, NULL, c->nodes[i].name);
		}
		pl_flush(&pl);
		return;
	}
	pl_begin(&pl, out, "vn", vn->name, "interface");
	for (unsigned int i = 0; i < vn->n_interfaces; i++)
		pl_add(&pl, NULL, vn->interfaces[i]);
	pl_flush(&pl);
	pl_begin(&pl, out, "vn", vn->name, "allow");
	for (unsigned int i = 0; i < vn->n_allow; i++) {
		prefix_str(&vn->allow[i], s, sizeof(s));
		pl_add(&pl, NULL, s);
	}
	pl_flush(&pl);
	if (vn->gateway) {
		/* one line, however long: the parser takes the gateway from one */
		char name[QUOTED_MAX], a6[INET6_ADDRSTRLEN], a4[INET_ADDRSTRLEN] = "";
		const uint8_t *m = vn->gw_mac;

		quote(vn->name, name);
		inet_ntop(AF_INET6, &vn->gw6, a6, sizeof(a6));
		if (vn->gw4.s_addr)
			inet_ntop(AF_INET, &vn->gw4, a4, sizeof(a4));
		fprintf(out, "vn %s gateway %s%s%s mac %02x:%02x:%02x:%02x:%02x:%02x\n", name, a6,
			*a4 ? " " : "", a4, m[0], m[1], m[2], m[3], m[4], m[5]);
	}
}

int ila_conf_print(const struct ila_conf *c, FILE *out)
{
	print_common(c, out);
	fputc('\n', out);
	if (c->kind == ILA_CONF_MAPPER)
		print_mapper(c, out);
	else
		print_node(c, out);
	for (unsigned int i = 0; i < c->n_vns; i++) {
		fputc('\n', out);
		print_vn(c, &c->vns[i], out);
	}
	return ferror(out) ? -EIO : 0;
}

char *ila_conf_print_str(const struct ila_conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	int rc = ila_conf_print(c, f);

	if (fclose(f) != 0 || rc) {
		free(buf);
		return NULL;
	}
	return buf;
}
