/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Route batches: replaces and deletes queued, sent in chunks, their errors read back. */
/*
 * Batches: the kernel processes every message of a sendmsg() synchronously
 * and answers each failed one with an error whatever its flags
 * (netlink_rcv_skb), so only the last message of each chunk asks for an
 * ACK: once that ACK (or its error) is read, every failure of the chunk has
 * been read too. This costs one recvmsg() per chunk instead of one per
 * route, and the receive buffer only has to hold the errors.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "kernel_priv.h"

void kernel_batch_begin(struct kernel *k)
{
	k->nops = 0;
}

size_t kernel_batch_count(const struct kernel *k)
{
	return k->nops;
}

static int queue(struct kernel *k, const struct kroute *r, bool del)
{
	int err = del ? kroute_check_key(r) : kroute_check(r);

	if (err)
		return err;
	if (k->nops == k->ops_cap) {
		size_t cap = k->ops_cap ? k->ops_cap * 2 : 256;
		struct kop *p = realloc(k->ops, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		k->ops = p;
		k->ops_cap = cap;
	}
	k->ops[k->nops].r = *r;
	k->ops[k->nops].del = del;
	k->nops++;
	return 0;
}

int kernel_route_replace(struct kernel *k, const struct kroute *r)
{
	return queue(k, r, false);
}

int kernel_route_delete(struct kernel *k, const struct kroute *r)
{
	return queue(k, r, true);
}

/*
 * Reads answers until the one for index last (the chunk's ACK-requesting
 * message), reporting every failure of indices first..last.
 */
static int batch_wait(struct kernel *k, uint32_t seq0, size_t first, size_t last,
		      kernel_report_fn report, void *arg, int *failed)
{
	char msg[KERNEL_ERRMSG_LEN];

	for (;;) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)k->rcvbuf;
		ssize_t n = mnl_socket_recvfrom(k->rt, k->rcvbuf, KERNEL_RCVBUF_LEN);
		bool fence = false;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			size_t idx = (uint32_t)(nlh->nlmsg_seq - seq0);
			const struct kop *op;
			int e;

			if (nlh->nlmsg_type != NLMSG_ERROR || idx < first || idx > last)
				continue;
			op = &k->ops[idx];
			e = nl_parse_ack(nlh, msg);
			if (idx == last)
				fence = true;
			if (!e || (op->del && (e == -ENOENT || e == -ESRCH)))
				continue;
			(*failed)++;
			if (report)
				report(arg, idx, &op->r, op->del, e, msg);
		}
		if (fence)
			return 0;
	}
}

int kernel_batch_commit(struct kernel *k, kernel_report_fn report, void *arg)
{
	uint32_t seq0 = k->seq + 1;
	struct mnl_nlmsg_batch *b;
	size_t next = 0;
	int failed = 0, err = 0;

	if (!k->nops)
		return 0;
	b = mnl_nlmsg_batch_start(k->sndbuf, k->chunk_bytes);
	if (!b) {
		k->nops = 0;
		return -ENOMEM;
	}
	k->seq += (uint32_t)k->nops;
	while (next < k->nops && !err) {
		struct nlmsghdr *last_nlh = NULL;
		size_t first = next, last = next, count = 0;

		mnl_nlmsg_batch_reset(b);
		/* Stop a message short of the limit so that next() never
		 * overflows and a chunk is whole messages. */
		while (next < k->nops && count < KERNEL_CHUNK_MSGS &&
		       mnl_nlmsg_batch_size(b) + KERNEL_MSG_MAX <= k->chunk_bytes) {
			struct nlmsghdr *nlh = mnl_nlmsg_batch_current(b);
			const struct kop *op = &k->ops[next];
			int len = kernel_route_build(nlh, KERNEL_MSG_MAX, &op->r, op->del, k->proto,
						     seq0 + (uint32_t)next, 0);

			if (len < 0) { /* queue() checked it: cannot happen */
				failed++;
				if (report)
					report(arg, next, &op->r, op->del, len, "");
				next++;
				continue;
			}
			mnl_nlmsg_batch_next(b);
			last_nlh = nlh;
			last = next;
			next++;
			count++;
		}
		if (!last_nlh)
			continue;
		last_nlh->nlmsg_flags |= NLM_F_ACK;
		if (mnl_socket_sendto(k->rt, mnl_nlmsg_batch_head(b),
				      mnl_nlmsg_batch_size(b)) < 0) {
			err = -errno;
			break;
		}
		err = batch_wait(k, seq0, first, last, report, arg, &failed);
	}
	mnl_nlmsg_batch_stop(b);
	k->nops = 0;
	return err ? err : failed;
}
