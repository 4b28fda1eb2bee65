/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Netlink sockets: open and close, one request and its answer, extended ACKs, genl family ids. */
/* ilad's netlink layer on libmnl. See kernel.h for the contract. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kernel_priv.h"

int nl_vec_push(struct vec *v, const void *item)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		uint8_t *p = realloc(v->items, cap * v->size);

		if (!p)
			return -ENOMEM;
		v->items = p;
		v->cap = cap;
	}
	memcpy(v->items + v->n * v->size, item, v->size);
	v->n++;
	return 0;
}

void nl_vec_free(struct vec *v)
{
	free(v->items);
	v->items = NULL;
	v->n = v->cap = 0;
}

/* ---- sockets ---- */

void nl_set_bufsize(int fd, int force_opt, int opt, int size)
{
	/* The FORCE variants pass rmem_max/wmem_max but need CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int nl_socket(int bus, bool strict, struct mnl_socket **out, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = KERNEL_TIMEOUT_S };
	struct mnl_socket *s;
	int one = 1, fd, e;

	s = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!s) {
		e = -errno;
		snprintf(err, errlen, "netlink socket: %s", strerror(-e));
		return e;
	}
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = -errno;
		snprintf(err, errlen, "netlink bind: %s", strerror(-e));
		mnl_socket_close(s);
		return e;
	}
	fd = mnl_socket_get_fd(s);
	nl_set_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, KERNEL_SOCKBUF);
	nl_set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, KERNEL_SOCKBUF);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Older kernels lack these; everything works without them, with less
	 * detail (no extended-ACK text) or more bytes (uncapped ACKs). */
	(void)mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
	if (strict)
		(void)mnl_socket_setsockopt(s, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	*out = s;
	return 0;
}

/* Copies the NLMSGERR_ATTR_MSG text of an error message into msg. */
static int extack_cb(const struct nlattr *attr, void *data)
{
	char *msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(msg, KERNEL_ERRMSG_LEN, "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* The error of an NLMSG_ERROR message (0 for an ACK) and its text. */
int nl_parse_ack(const struct nlmsghdr *nlh, char msg[KERNEL_ERRMSG_LEN])
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);

	msg[0] = '\0';
	if (plen < sizeof(*e))
		return -EBADMSG;
	if (e->error >= 0)
		return 0;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* Uncapped, the whole request is echoed before the TLVs. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
		if (off < plen)
			(void)mnl_attr_parse(nlh, (unsigned int)off, extack_cb, msg);
	}
	return e->error;
}

/*
 * Sends one request and reads its answer: data messages go to cb (a
 * negative return stops further calls but the answer is still read to its
 * end, so the socket stays in step). Ends at the ACK or error for the
 * request's seq, or at NLMSG_DONE for a dump. -EINTR when the kernel marked
 * the dump inconsistent.
 */
int nl_read_events(int fd, msg_fn cb, void *arg)
{
	uint8_t buf[KERNEL_RCVBUF_LEN];
	int events = 0, reads;

	for (reads = 0; reads < KERNEL_NEIGH_READS; reads++) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			events += cb(nlh, arg) == 1;
	}
	return events;
}

int nl_talk(struct kernel *k, struct mnl_socket *s, const struct nlmsghdr *req, msg_fn cb,
	    void *arg)
{
	uint32_t seq = req->nlmsg_seq;
	bool intr = false;
	int cb_err = 0;

	k->errmsg[0] = '\0';
	if (mnl_socket_sendto(s, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)k->rcvbuf;
		ssize_t n = mnl_socket_recvfrom(s, k->rcvbuf, KERNEL_RCVBUF_LEN);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq)
				continue; /* a late answer to an abandoned request */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				int e = nl_parse_ack(nlh, k->errmsg);

				return e ? e : cb_err;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				int e = 0;

				if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
					memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(int));
				if (e < 0)
					return e;
				return cb_err ? cb_err : intr ? -EINTR : 0;
			}
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (cb && !cb_err) {
				int r = cb(nlh, arg);

				if (r < 0)
					cb_err = r;
			}
		}
	}
}

/* ---- generic netlink family ---- */

static int family_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *a;
	uint16_t *id = arg;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			*id = mnl_attr_get_u16(a);
	}
	return 0;
}

/* The family id of name; -ENOENT when the kernel does not know it. */
int nl_genl_resolve(struct kernel *k, const char *name, uint16_t *id)
{
	uint8_t buf[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	uint16_t found = 0;
	int err;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	err = nl_talk(k, k->gn, nlh, family_cb, &found);
	if (err)
		return err;
	if (!found)
		return -ENOENT;
	*id = found;
	return 0;
}

/* ---- open / close ---- */

int kernel_open(struct kernel **out, uint8_t proto, char *err, size_t errlen)
{
	struct kernel *k;
	socklen_t sl;
	int e, sndbuf = 0;
	uint16_t id;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	k->proto = proto;
	k->seq = (uint32_t)time(NULL);
	e = nl_socket(NETLINK_ROUTE, true, &k->rt, err, errlen);
	if (!e)
		e = nl_socket(NETLINK_GENERIC, false, &k->gn, err, errlen);
	if (e)
		goto fail;

	/* netlink_sendmsg() refuses a message longer than sk_sndbuf - 32. */
	sl = sizeof(sndbuf);
	k->chunk_bytes = KERNEL_CHUNK_BYTES;
	if (getsockopt(mnl_socket_get_fd(k->rt), SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0 &&
	    (size_t)sndbuf < k->chunk_bytes + 1024)
		k->chunk_bytes = sndbuf > 4096 ? (size_t)sndbuf / 2 : 2048;
	k->sndbuf = malloc(k->chunk_bytes + KERNEL_MSG_MAX);
	k->rcvbuf = malloc(KERNEL_RCVBUF_LEN);
	if (!k->sndbuf || !k->rcvbuf) {
		snprintf(err, errlen, "out of memory");
		e = -ENOMEM;
		goto fail;
	}
	if (nl_genl_resolve(k, NLILA_GENL_NAME, &id) == 0)
		k->ila_family = id;
	*out = k;
	return 0;
fail:
	kernel_close(k);
	return e;
}

void kernel_close(struct kernel *k)
{
	if (!k)
		return;
	if (k->rt)
		mnl_socket_close(k->rt);
	if (k->gn)
		mnl_socket_close(k->gn);
	free(k->ops);
	free(k->sndbuf);
	free(k->rcvbuf);
	free(k);
}

uint8_t kernel_proto(const struct kernel *k)
{
	return k->proto;
}

const char *kernel_last_error(const struct kernel *k)
{
	return k->errmsg;
}
