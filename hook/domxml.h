/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-libvirt-hook's reading of a libvirt domain XML: the workload's
 * interfaces and addresses from <metadata><ila:workload
 * xmlns:ila="urn:ila:libvirt:1">, and for each the device libvirt gave it
 * (<devices><interface> with the same <mac address>, its <target dev>).
 * Inside ila:workload, ila:interface and ila:address may also be in no
 * namespace (as `virsh metadata --set` leaves the elements below the top
 * one's children). Parsed by libxml2, without network access, DTD loading
 * or entity expansion.
 */
#ifndef ILA_HOOK_DOMXML_H
#define ILA_HOOK_DOMXML_H

#include <netinet/in.h>
#include <stddef.h>

#define HOOK_NS "urn:ila:libvirt:1"
#define HOOK_MAX_IFACES 16   /* ila:interface elements of a domain */
#define HOOK_MAX_ADDRS 16    /* ila:address elements of an interface */
#define HOOK_XML_MAX (4u << 20) /* bytes of domain XML read from stdin */
#define HOOK_NAME_MAX 64     /* vn names, as ilad.conf's: 1-63 bytes */
#define HOOK_IFNAME_MAX 16   /* IFNAMSIZ */
#define HOOK_DOMNAME_MAX 256

struct hook_addr {
	int family;			  /* AF_INET6 or AF_INET */
	char text[INET6_ADDRSTRLEN];	  /* canonical (inet_ntop) form */
};

struct hook_iface {
	char mac[18];			  /* lower-case aa:bb:cc:dd:ee:ff */
	char vn[HOOK_NAME_MAX];
	char target[HOOK_IFNAME_MAX];	  /* <target dev>; "" when the XML has none */
	size_t naddrs;
	struct hook_addr addrs[HOOK_MAX_ADDRS];
};

struct hook_domain {
	char name[HOOK_DOMNAME_MAX];
	size_t nifaces;			  /* 0: no ila metadata */
	struct hook_iface ifaces[HOOK_MAX_IFACES];
};

/*
 * Reads the domain XML of len bytes into *d. Returns 0 (d->nifaces is 0
 * for a domain without ila:workload metadata) or -EINVAL with a message in
 * err: not XML, not a <domain>, or ila metadata that is wrong (a missing or
 * malformed mac or vn, an address that is neither IPv6 nor IPv4, an
 * interface without addresses, a mac given twice or that no <devices>
 * <interface> has, an address given twice, too many of either). Elements and
 * attributes it does not know are ignored.
 */
int hook_domain_parse(const char *xml, size_t len, struct hook_domain *d, char *err,
		      size_t errlen);

#endif
