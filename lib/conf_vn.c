/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config keyword vn: a virtual network's id, prefixes and per-daemon lists. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_parser.h"

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
		return conf_perr(p, "vn %s: too many vns (at most %d)", name, ILA_CONF_MAX_VNS);
	*idx = c->n_vns++;
	conf_copy_str(c->vns[*idx].name, sizeof(c->vns[*idx].name), name);
	p->vn[*idx].first = p->line;
	return 0;
}

static int vn_once(struct parser *p, const struct ila_conf_vn *vn, unsigned int *line,
		   const char *attr)
{
	if (*line)
		return conf_perr(p, "vn %s: duplicate '%s' (first on line %u)", vn->name, attr,
				 *line);
	*line = p->line;
	return 0;
}

/* Valid files have at most one entry per vn, node and list: more means a
 * duplicate or an unknown node, reported here before memory grows further. */
#define MAX_REFS (2 * ILA_CONF_MAX_VNS * ILA_CONF_MAX_NODES)

static int add_ref(struct parser *p, unsigned int vn, bool subscribe, const char *name)
{
	if (p->nrefs >= MAX_REFS)
		return conf_perr(p, "more than %d serve and subscribe entries at '%s'", MAX_REFS,
				 name);
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
	conf_copy_str(r->name, sizeof(r->name), name);
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
		return conf_perr(p, "%s: missing value", what);
	for (; i < p->ntok && !rc; i++) {
		const char *v = p->tok[i];

		if (strcmp(attr, "serve") == 0 || strcmp(attr, "subscribe") == 0) {
			rc = conf_check_name(p, what, v);
			if (!rc)
				rc = add_ref(p, idx, strcmp(attr, "subscribe") == 0, v);
			if (rc == -ENOMEM) {
				conf_perr(p, "out of memory");
				return -ENOMEM;
			}
		} else if (strcmp(attr, "interface") == 0) {
			rc = conf_check_ifname(p, what, v);
			for (unsigned int k = 0; !rc && k < vn->n_interfaces; k++) {
				if (strcmp(vn->interfaces[k], v) == 0)
					rc = conf_perr(p, "%s: '%s' given twice (first on line %u)",
						       what, v, vl->iface[k]);
			}
			if (!rc && vn->n_interfaces >= ILA_CONF_MAX_VN_IFACES)
				rc = conf_perr(p, "%s: too many interfaces (at most %d) at '%s'",
					       what, ILA_CONF_MAX_VN_IFACES, v);
			if (!rc) {
				vl->iface[vn->n_interfaces] = p->line;
				conf_copy_str(vn->interfaces[vn->n_interfaces++],
					      ILA_CONF_IFNAME_MAX, v);
			}
		} else {
			struct ila_conf_prefix pf;

			rc = conf_parse_prefix(p, what, v, 0, &pf);
			for (unsigned int k = 0; !rc && k < vn->n_allow; k++) {
				if (conf_prefix_equal(&vn->allow[k], &pf))
					rc = conf_perr(p, "%s: '%s' given twice (first on line %u)",
						       what, v, vl->allow[k]);
			}
			if (!rc && vn->n_allow >= ILA_CONF_MAX_VN_ALLOW)
				rc = conf_perr(p, "%s: too many prefixes (at most %d) at '%s'",
					       what, ILA_CONF_MAX_VN_ALLOW, v);
			if (!rc) {
				vl->allow[vn->n_allow] = p->line;
				vn->allow[vn->n_allow++] = pf;
			}
		}
	}
	return rc;
}

/* ---- gateway ADDRESS [ADDRESS4] mac MAC ---- */

static int parse_mac(struct parser *p, const char *what, const char *v, uint8_t mac[6])
{
	if (ila_mac_parse(v, mac) < 0)
		return conf_perr(p, "%s: '%s' is not a MAC address (six hex octets separated "
				 "by ':', as 02:00:00:00:00:01)", what, v);
	if (mac[0] & 1)
		return conf_perr(p, "%s: %s is a multicast MAC address", what, v);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return conf_perr(p, "%s: %s is the all-zero MAC address", what, v);
	if (!(mac[0] & 2))
		conf_pwarn(p, "%s: %s is not locally administered (02:...): every node answers "
			   "with it, so it should be no card's own", what, v);
	return 0;
}

/* Parses what follows `gateway` at p->tok[i]; returns the number of tokens
 * taken or a negative errno. */
static int vn_gateway(struct parser *p, struct ila_conf_vn *vn, size_t i)
{
	char what[ILA_CONF_NAME_MAX + 32];
	const struct in6_addr *a6 = &vn->gw6;
	uint32_t a4;
	size_t j = i;
	int rc;

	snprintf(what, sizeof(what), "vn %s gateway", vn->name);
	if (j >= p->ntok)
		return conf_perr(p, "%s: missing value (gateway ADDRESS [ADDRESS4] mac MAC)", what);
	if (inet_pton(AF_INET6, p->tok[j], &vn->gw6) != 1)
		return conf_perr(p, "%s: '%s' is not an IPv6 address (gateway ADDRESS "
				 "[ADDRESS4] mac MAC)", what, p->tok[j]);
	if (IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_MULTICAST(a6) ||
	    IN6_IS_ADDR_V4MAPPED(a6) || IN6_IS_ADDR_V4COMPAT(a6))
		return conf_perr(p, "%s: %s is not a unicast address an interface can hold", what,
				 p->tok[j]);
	j++;
	vn->gw4.s_addr = 0;
	if (j < p->ntok && strcmp(p->tok[j], "mac") != 0) {
		if (inet_pton(AF_INET, p->tok[j], &vn->gw4) != 1)
			return conf_perr(p, "%s: '%s' is neither an IPv4 address nor 'mac' "
					 "(gateway ADDRESS [ADDRESS4] mac MAC)", what, p->tok[j]);
		a4 = ntohl(vn->gw4.s_addr);
		if (a4 == 0 || a4 >> 24 == 127 || a4 >> 28 == 0xe || a4 >> 28 == 0xf)
			return conf_perr(p, "%s: %s is not a unicast address an interface can hold",
					 what, p->tok[j]);
		j++;
	}
	if (j >= p->ntok || strcmp(p->tok[j], "mac") != 0)
		return conf_perr(p, "%s: missing 'mac MAC' (gateway ADDRESS [ADDRESS4] mac MAC)",
				 what);
	if (j + 1 >= p->ntok)
		return conf_perr(p, "%s mac: missing value", what);
	rc = parse_mac(p, what, p->tok[j + 1], vn->gw_mac);
	if (rc)
		return rc;
	vn->gateway = true;
	return (int)(j + 2 - i);
}

int conf_kw_vn(struct parser *p)
{
	struct ila_conf *c = p->c;
	unsigned int idx = 0;
	int rc;

	if (p->ntok < 2)
		return conf_perr(p, "vn: missing value");
	rc = conf_check_name(p, "vn", p->tok[1]);
	if (!rc)
		rc = vn_get(p, p->tok[1], &idx);
	if (rc)
		return rc;
	struct ila_conf_vn *vn = &c->vns[idx];
	struct vn_lines *vl = &p->vn[idx];

	if (p->ntok < 3)
		return conf_perr(p, "vn %s: missing value", vn->name);
	for (size_t i = 2; i < p->ntok;) {
		const char *a = p->tok[i];
		bool mapper_only = strcmp(a, "serve") == 0 || strcmp(a, "subscribe") == 0;
		bool node_only = strcmp(a, "interface") == 0 || strcmp(a, "allow") == 0;
		bool gateway = strcmp(a, "gateway") == 0;

		if ((mapper_only && c->kind != ILA_CONF_MAPPER) ||
		    ((node_only || gateway) && c->kind != ILA_CONF_NODE))
			return conf_perr(p, "vn %s: '%s' is for %s, not %s", vn->name, a,
					 ila_conf_kind_name(mapper_only ? ILA_CONF_MAPPER
									: ILA_CONF_NODE),
					 ila_conf_kind_name(c->kind));
		if (mapper_only || node_only)
			return vn_list(p, idx, i + 1, a);
		if (gateway) {
			rc = vn_once(p, vn, &vl->gateway, a);
			if (!rc)
				rc = vn_gateway(p, vn, i + 1);
			if (rc < 0)
				return rc;
			i += 1 + (size_t)rc;
			continue;
		}

		unsigned int *line;

		if (strcmp(a, "id") == 0)
			line = &vl->id;
		else if (strcmp(a, "sir-prefix") == 0)
			line = &vl->sir;
		else if (strcmp(a, "ipv4-prefix") == 0)
			line = &vl->ipv4;
		else
			return conf_perr(p,
					 "vn %s: unknown attribute '%s' (id, sir-prefix, ipv4-prefix, %s)",
					 vn->name, a,
					 c->kind == ILA_CONF_MAPPER ? "serve, subscribe"
								    : "interface, allow, gateway");
		if (i + 1 >= p->ntok)
			return conf_perr(p, "vn %s %s: missing value", vn->name, a);
		const char *v = p->tok[i + 1];
		char what[ILA_CONF_NAME_MAX + 32];

		snprintf(what, sizeof(what), "vn %s %s", vn->name, a);
		rc = vn_once(p, vn, line, a);
		if (rc)
			return rc;
		if (line == &vl->id) {
			rc = conf_parse_u32(p, what, v, 1, UINT32_MAX, &vn->id);
		} else if (line == &vl->sir) {
			char e[160] = "";

			if (ila_sir_prefix_parse(v, &vn->sir_prefix, e, sizeof(e)) < 0)
				rc = conf_perr(p, "%s: %s", what, *e ? e : "bad SIR prefix");
		} else {
			rc = conf_parse_prefix(p, what, v, AF_INET, &vn->ipv4_prefix);
		}
		if (rc)
			return rc;
		i += 2;
	}
	return 0;
}
