/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Links and their addresses: link events, a link's MAC and IPv6 address generation, addresses
 * added, deleted and dumped (ilad's anycast gateway, ilad/gateway.c). */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kernel_priv.h"

int kernel_link_open(char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, grp = RTNLGRP_LINK, e;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "link socket: %s", strerror(-e));
		return e;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0) {
		e = -errno;
		snprintf(err, errlen, "link socket: subscribing to RTNLGRP_LINK: %s", strerror(-e));
		close(fd);
		return e;
	}
	nl_set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, 256 * 1024);
	return fd;
}

static int inet6_mode_cb(const struct nlattr *a, void *arg)
{
	struct klink *l = arg;

	if (mnl_attr_get_type(a) == IFLA_INET6_ADDR_GEN_MODE &&
	    mnl_attr_get_payload_len(a) >= 1)
		l->addr_gen_mode = mnl_attr_get_u8(a);
	return MNL_CB_OK;
}

static int link_parse(const struct nlmsghdr *nlh, struct klink *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *af;

	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return 0;
	memset(l, 0, sizeof(*l));
	l->deleted = nlh->nlmsg_type == RTM_DELLINK;
	l->ifindex = ifi->ifi_index;
	l->up = ifi->ifi_flags & IFF_UP;
	l->addr_gen_mode = -1;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		uint16_t plen = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (plen > 0 && plen <= sizeof(l->name)) {
				memcpy(l->name, mnl_attr_get_payload(a), plen);
				l->name[sizeof(l->name) - 1] = '\0';
			}
			break;
		case IFLA_ADDRESS:
			if (plen <= sizeof(l->mac)) {
				memcpy(l->mac, mnl_attr_get_payload(a), plen);
				l->mac_len = (uint8_t)plen;
			}
			break;
		case IFLA_AF_SPEC:
			mnl_attr_for_each_nested(af, a) {
				if (mnl_attr_get_type(af) == AF_INET6)
					mnl_attr_parse_nested(af, inet6_mode_cb, l);
			}
			break;
		default:
			break;
		}
	}
	return l->ifindex > 0 && *l->name ? 1 : 0;
}

struct link_read {
	kernel_link_fn cb;
	void *arg;
};

static int link_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct link_read *r = arg;
	struct klink ev;

	if (link_parse(nlh, &ev) != 1)
		return 0;
	r->cb(r->arg, &ev);
	return 1;
}

int kernel_link_read(int fd, kernel_link_fn cb, void *arg)
{
	struct link_read r = { cb, arg };

	return nl_read_events(fd, link_msg, &r);
}

static int link_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	link_parse(nlh, arg);
	return 0;
}

/* An RTM_GETLINK, or an RTM_NEWLINK on an existing link (it changes only
 * what the attributes say), for ifindex. */
static struct nlmsghdr *link_msg_begin(struct kernel *k, uint8_t *buf, uint16_t type, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

int kernel_link_get(struct kernel *k, int ifindex, struct klink *l)
{
	uint8_t buf[128];
	struct nlmsghdr *nlh = link_msg_begin(k, buf, RTM_GETLINK, ifindex);
	int err;

	memset(l, 0, sizeof(*l));
	err = nl_talk(k, k->rt, nlh, link_get_cb, l);
	if (err)
		return err;
	return l->ifindex == ifindex ? 0 : -ENODEV;
}

int kernel_link_set_mac(struct kernel *k, int ifindex, const uint8_t mac[6])
{
	uint8_t buf[128];
	struct nlmsghdr *nlh = link_msg_begin(k, buf, RTM_NEWLINK, ifindex);

	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return nl_talk(k, k->rt, nlh, NULL, NULL);
}

int kernel_link_addr_gen_none(struct kernel *k, int ifindex)
{
	uint8_t buf[128];
	struct nlmsghdr *nlh = link_msg_begin(k, buf, RTM_NEWLINK, ifindex);
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *in6 = mnl_attr_nest_start(nlh, AF_INET6);

	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, in6);
	mnl_attr_nest_end(nlh, spec);
	return nl_talk(k, k->rt, nlh, NULL, NULL);
}

static int addr_msg(struct kernel *k, const struct kaddr_entry *a, bool del)
{
	uint8_t buf[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t alen = addr_len(a->family);

	if (a->family != AF_INET && a->family != AF_INET6)
		return -EAFNOSUPPORT;
	nlh->nlmsg_type = del ? RTM_DELADDR : RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (del ? 0 : NLM_F_CREATE | NLM_F_REPLACE);
	nlh->nlmsg_seq = ++k->seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->plen;
	ifa->ifa_scope = a->scope;
	ifa->ifa_index = (uint32_t)a->ifindex;
	ifa->ifa_flags = del ? 0 : IFA_F_NODAD | IFA_F_PERMANENT;
	mnl_attr_put(nlh, IFA_LOCAL, alen, a->addr.b);
	if (a->family == AF_INET6)
		mnl_attr_put(nlh, IFA_ADDRESS, alen, a->addr.b);
	if (!del)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD | IFA_F_PERMANENT);
	return nl_talk(k, k->rt, nlh, NULL, NULL);
}

int kernel_addr_add(struct kernel *k, const struct kaddr_entry *a)
{
	return addr_msg(k, a, false);
}

int kernel_addr_del(struct kernel *k, const struct kaddr_entry *a)
{
	return addr_msg(k, a, true);
}

struct addr_dump {
	int ifindex;
	struct vec v;
};

static int addr_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct addr_dump *d = arg;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct kaddr_entry e = { 0 };
	bool local = false;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa) ||
	    (int)ifa->ifa_index != d->ifindex ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return 0;
	e.family = ifa->ifa_family;
	e.plen = ifa->ifa_prefixlen;
	e.scope = ifa->ifa_scope;
	e.ifindex = (int)ifa->ifa_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		uint16_t t = mnl_attr_get_type(a);

		if ((t == IFA_LOCAL || (t == IFA_ADDRESS && !local)) &&
		    mnl_attr_get_payload_len(a) == addr_len(e.family)) {
			memcpy(e.addr.b, mnl_attr_get_payload(a), addr_len(e.family));
			local = local || t == IFA_LOCAL;
		}
	}
	return nl_vec_push(&d->v, &e);
}

int kernel_addr_dump(struct kernel *k, int family, int ifindex, kernel_addr_fn cb, void *arg)
{
	struct addr_dump d = { .ifindex = ifindex, .v = { .size = sizeof(struct kaddr_entry) } };
	uint8_t buf[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	int err;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++k->seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_index = (uint32_t)ifindex;
	err = nl_talk(k, k->rt, nlh, addr_dump_cb, &d);
	/* delivered once the dump is read: cb may talk to the kernel */
	for (size_t i = 0; !err && i < d.v.n; i++)
		cb(arg, (const struct kaddr_entry *)(d.v.items + i * d.v.size));
	nl_vec_free(&d.v);
	return err;
}
