/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "addr.h"
#include "domxml.h"

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

/* An element of our namespace named name. */
static bool is_ila(const xmlNode *n, const char *name)
{
	return is_elem(n, name) && n->ns && n->ns->href &&
	       xmlStrcmp(n->ns->href, BAD_CAST HOOK_NS) == 0;
}

/* Inside ila:workload, an element of our namespace or of none: `virsh
 * metadata --set` puts only the top element and its children in the
 * namespace, and leaves the elements below them in none. */
static bool is_ours(const xmlNode *n, const char *name)
{
	return is_elem(n, name) && (!n->ns || (n->ns->href &&
		xmlStrcmp(n->ns->href, BAD_CAST HOOK_NS) == 0));
}

/* An element of no namespace (libvirt's own) named name. */
static bool is_plain(const xmlNode *n, const char *name)
{
	return is_elem(n, name) && !n->ns;
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (is_plain(c, name))
			return c;
	return NULL;
}

/* The attribute's value (of no namespace) copied to buf; false if absent
 * or too long. */
static bool attr(const xmlNode *n, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
	bool ok = v && strlen((const char *)v) < len;

	if (ok)
		snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	return ok;
}

/* The element's text without leading and trailing white space. */
static bool text(const xmlNode *n, char *buf, size_t len)
{
	xmlChar *v = xmlNodeGetContent(n);
	const char *s = (const char *)v, *e;
	bool ok = false;

	if (s) {
		while (*s && isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if ((size_t)(e - s) < len) {
			memcpy(buf, s, (size_t)(e - s));
			buf[e - s] = '\0';
			ok = true;
		}
	}
	xmlFree(v);
	return ok;
}

/* aa:bb:cc:dd:ee:ff, any case (ila_mac_parse); writes the lower-case form. */
static bool parse_mac(const char *s, char out[18])
{
	uint8_t m[6];

	if (ila_mac_parse(s, m) < 0)
		return false;
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return true;
}

/* ilad.conf's vn names: letters, digits, '-', '_', '.', 1-63 bytes. */
static bool valid_vn(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= HOOK_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

static bool parse_addr(const char *s, struct hook_addr *a)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET6, s, bin) == 1)
		a->family = AF_INET6;
	else if (inet_pton(AF_INET, s, bin) == 1)
		a->family = AF_INET;
	else
		return false;
	return inet_ntop(a->family, bin, a->text, sizeof(a->text)) != NULL;
}

static int parse_iface(const xmlNode *n, struct hook_domain *d, char *err, size_t errlen)
{
	struct hook_iface *f = &d->ifaces[d->nifaces];
	char mac[32], buf[INET6_ADDRSTRLEN + 8];

	memset(f, 0, sizeof(*f));
	if (!attr(n, "mac", mac, sizeof(mac)) || !parse_mac(mac, f->mac)) {
		snprintf(err, errlen, "ila:interface %zu: mac missing or not aa:bb:cc:dd:ee:ff",
			 d->nifaces + 1);
		return -EINVAL;
	}
	if (!attr(n, "vn", f->vn, sizeof(f->vn)) || !valid_vn(f->vn)) {
		snprintf(err, errlen, "ila:interface %s: vn missing or not a vn name "
			 "(1-63 letters, digits, '-', '_', '.')", f->mac);
		return -EINVAL;
	}
	for (size_t i = 0; i < d->nifaces; i++) {
		if (strcmp(d->ifaces[i].mac, f->mac) == 0) {
			snprintf(err, errlen, "ila:interface %s given twice", f->mac);
			return -EINVAL;
		}
	}
	for (const xmlNode *c = n->children; c; c = c->next) {
		struct hook_addr a;

		if (!is_ours(c, "address"))
			continue;
		if (!text(c, buf, sizeof(buf)) || !parse_addr(buf, &a)) {
			snprintf(err, errlen, "ila:interface %s: ila:address '%.45s' is neither "
				 "an IPv6 nor an IPv4 address", f->mac, text(c, buf, sizeof(buf))
				 ? buf : "(too long)");
			return -EINVAL;
		}
		for (size_t j = 0; j < d->nifaces + 1; j++) {
			const struct hook_iface *g = &d->ifaces[j];

			for (size_t k = 0; k < g->naddrs; k++) {
				if (strcmp(g->addrs[k].text, a.text) == 0) {
					snprintf(err, errlen, "ila:address %s given twice", a.text);
					return -EINVAL;
				}
			}
		}
		if (f->naddrs == HOOK_MAX_ADDRS) {
			snprintf(err, errlen, "ila:interface %s: more than %d addresses", f->mac,
				 HOOK_MAX_ADDRS);
			return -EINVAL;
		}
		f->addrs[f->naddrs++] = a;
	}
	if (!f->naddrs) {
		snprintf(err, errlen, "ila:interface %s has no ila:address", f->mac);
		return -EINVAL;
	}
	d->nifaces++;
	return 0;
}

/* A Linux interface name, as the kernel takes one (dev_valid_name): 1 to
 * 15 bytes, not "." nor "..", no '/' nor white space; also printable, as it
 * becomes one word of a command on ilad's control socket. */
static bool ifname_ok(const char *s)
{
	if (!*s || strlen(s) >= HOOK_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || !isgraph((unsigned char)*s))
			return false;
	return true;
}

/* The <target dev> of each ila:interface, from <devices><interface>. */
static int find_devices(const xmlNode *root, struct hook_domain *d, char *err, size_t errlen)
{
	const xmlNode *devs = child(root, "devices");
	bool found[HOOK_MAX_IFACES] = { false };

	for (const xmlNode *c = devs ? devs->children : NULL; c; c = c->next) {
		const xmlNode *m, *t;
		char mac[32], norm[18];

		if (!is_plain(c, "interface") || !(m = child(c, "mac")) ||
		    !attr(m, "address", mac, sizeof(mac)) || !parse_mac(mac, norm))
			continue;
		for (size_t i = 0; i < d->nifaces; i++) {
			if (strcmp(d->ifaces[i].mac, norm) != 0 || found[i])
				continue;
			found[i] = true;
			t = child(c, "target");
			if (t && (!attr(t, "dev", d->ifaces[i].target, sizeof(d->ifaces[i].target)) ||
				  !ifname_ok(d->ifaces[i].target))) {
				snprintf(err, errlen, "interface %s: target dev missing, longer "
					 "than %d bytes or not an interface name", norm,
					 HOOK_IFNAME_MAX - 1);
				return -EINVAL;
			}
		}
	}
	for (size_t i = 0; i < d->nifaces; i++) {
		if (!found[i]) {
			snprintf(err, errlen, "ila:interface %s: no <devices><interface> has "
				 "this mac", d->ifaces[i].mac);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_root(const xmlNode *root, struct hook_domain *d, char *err, size_t errlen)
{
	const xmlNode *md, *name, *wl = NULL;
	int rc;

	if (!root || !is_plain(root, "domain")) {
		snprintf(err, errlen, "not a libvirt domain XML (no <domain> root)");
		return -EINVAL;
	}
	name = child(root, "name");
	if (name && !text(name, d->name, sizeof(d->name)))
		snprintf(d->name, sizeof(d->name), "(too long)");
	md = child(root, "metadata");
	for (const xmlNode *c = md ? md->children : NULL; c; c = c->next) {
		if (!is_ila(c, "workload"))
			continue;
		if (wl) {
			snprintf(err, errlen, "more than one ila:workload in <metadata>");
			return -EINVAL;
		}
		wl = c;
	}
	if (!wl)
		return 0;
	for (const xmlNode *c = wl->children; c; c = c->next) {
		if (!is_ours(c, "interface"))
			continue;
		if (d->nifaces == HOOK_MAX_IFACES) {
			snprintf(err, errlen, "more than %d ila:interface elements",
				 HOOK_MAX_IFACES);
			return -EINVAL;
		}
		if ((rc = parse_iface(c, d, err, errlen)) < 0)
			return rc;
	}
	if (!d->nifaces) {
		snprintf(err, errlen, "ila:workload has no ila:interface");
		return -EINVAL;
	}
	return find_devices(root, d, err, errlen);
}

int hook_domain_parse(const char *xml, size_t len, struct hook_domain *d, char *err,
		      size_t errlen)
{
	xmlDoc *doc;
	int rc;

	memset(d, 0, sizeof(*d));
	if (len > HOOK_XML_MAX || len > INT_MAX) {
		snprintf(err, errlen, "domain XML longer than %u bytes", HOOK_XML_MAX);
		return -EINVAL;
	}
	/* no network, no DTD, no entity expansion; errors come back, not printed */
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char msg[160] = "empty input";

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		if (e)
			snprintf(err, errlen, "domain XML: %s (line %d)", msg, e->line);
		else
			snprintf(err, errlen, "domain XML: %s", msg);
		return -EINVAL;
	}
	rc = parse_root(xmlDocGetRootElement(doc), d, err, errlen);
	xmlFreeDoc(doc);
	if (rc < 0)
		d->nifaces = 0;
	return rc;
}
