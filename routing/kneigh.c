/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Neighbour events: the subscribed socket, dump requests, reading and parsing events. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kernel_priv.h"

int kernel_neigh_open(char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, grp = RTNLGRP_NEIGH, e;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "neighbour socket: %s", strerror(-e));
		return e;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0) {
		e = -errno;
		snprintf(err, errlen, "neighbour socket: subscribing to RTNLGRP_NEIGH: %s",
			 strerror(-e));
		close(fd);
		return e;
	}
	nl_set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, 1024 * 1024);
	return fd;
}

int kernel_neigh_request_dump(int fd, int family)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint8_t buf[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	if (sendto(fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

int kernel_neigh_probe(int fd, int family, int ifindex, const union kaddr *addr)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint8_t buf[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_NONE;
	nd->ndm_flags = NTF_USE; /* resolve it, as a packet to it would */
	mnl_attr_put(nlh, NDA_DST, addr_len((uint8_t)family), addr->b);
	if (sendto(fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

static int neigh_parse(const struct nlmsghdr *nlh, struct kneigh *n)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	bool have_dst = false;
	size_t alen;

	if (nlh->nlmsg_type == NLMSG_DONE) {
		memset(n, 0, sizeof(*n));
		n->dump_end = true;
		return 1;
	}
	if (nlh->nlmsg_type == NLMSG_ERROR &&
	    mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct nlmsgerr)) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		/* a refused dump request ends that dump; other errors answer
		 * probes and are not events */
		if (e->error && e->msg.nlmsg_type == RTM_GETNEIGH) {
			memset(n, 0, sizeof(*n));
			n->dump_end = true;
			return 1;
		}
		return 0;
	}
	if ((nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nd))
		return 0;
	if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6)
		return 0;
	memset(n, 0, sizeof(*n));
	n->deleted = nlh->nlmsg_type == RTM_DELNEIGH;
	n->family = nd->ndm_family;
	n->ifindex = nd->ndm_ifindex;
	n->state = nd->ndm_state;
	n->flags = nd->ndm_flags;
	alen = addr_len(nd->ndm_family);
	mnl_attr_for_each(a, nlh, sizeof(*nd)) {
		uint16_t plen = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) == NDA_DST && plen == alen) {
			memcpy(n->addr.b, mnl_attr_get_payload(a), alen);
			have_dst = true;
		} else if (mnl_attr_get_type(a) == NDA_LLADDR && plen <= sizeof(n->lladdr)) {
			memcpy(n->lladdr, mnl_attr_get_payload(a), plen);
			n->lladdr_len = (uint8_t)plen;
		}
	}
	return have_dst ? 1 : 0;
}

struct neigh_read {
	kernel_neigh_fn cb;
	void *arg;
};

static int neigh_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct neigh_read *r = arg;
	struct kneigh ev;

	if (neigh_parse(nlh, &ev) != 1)
		return 0;
	r->cb(r->arg, &ev);
	return 1;
}

int kernel_neigh_read(int fd, kernel_neigh_fn cb, void *arg)
{
	struct neigh_read r = { cb, arg };

	return nl_read_events(fd, neigh_msg, &r);
}

/* An RTM_*NEIGH request for n's address on its interface. */
static struct nlmsghdr *neigh_msg_begin(struct kernel *k, uint8_t *buf, uint16_t type,
					uint16_t flags, const struct kneigh *n)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++k->seq;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = n->family;
	nd->ndm_ifindex = n->ifindex;
	nd->ndm_state = n->state;
	mnl_attr_put(nlh, NDA_DST, addr_len(n->family), n->addr.b);
	return nlh;
}

int kernel_neigh_set(struct kernel *k, const struct kneigh *n)
{
	uint8_t buf[128];
	struct nlmsghdr *nlh;

	if (n->family != AF_INET && n->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (!n->lladdr_len || n->lladdr_len > sizeof(n->lladdr) || n->ifindex <= 0)
		return -EINVAL;
	nlh = neigh_msg_begin(k, buf, RTM_NEWNEIGH, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, n);
	mnl_attr_put(nlh, NDA_LLADDR, n->lladdr_len, n->lladdr);
	return nl_talk(k, k->rt, nlh, NULL, NULL);
}

static int neigh_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct kneigh *n = arg;

	if (neigh_parse(nlh, n) != 1)
		memset(n, 0, sizeof(*n));
	return 0;
}

int kernel_neigh_del(struct kernel *k, const struct kneigh *n)
{
	struct kneigh key = *n, cur = { 0 };
	uint8_t buf[128];
	int err;

	if (n->family != AF_INET && n->family != AF_INET6)
		return -EAFNOSUPPORT;
	key.state = 0;
	if (n->lladdr_len) {
		/* the ACK ends the answer (a get has no NLMSG_DONE) */
		err = nl_talk(k, k->rt, neigh_msg_begin(k, buf, RTM_GETNEIGH, NLM_F_ACK, &key),
			      neigh_get_cb, &cur);
		if (err == -ENOENT)
			return 0;
		if (err)
			return err;
		if (cur.ifindex != n->ifindex || cur.lladdr_len != n->lladdr_len ||
		    memcmp(cur.lladdr, n->lladdr, n->lladdr_len) != 0)
			return 0;
	}
	err = nl_talk(k, k->rt, neigh_msg_begin(k, buf, RTM_DELNEIGH, NLM_F_ACK, &key), NULL, NULL);
	if (err == -ENOENT)
		return 0;
	return err ? err : 1;
}
