/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tc filters left by an earlier run: ilad's BPF data path attaches ila_in as
 * a cls_bpf filter on clsact ingress (routing/kbpf.c, through libbpf). An
 * ilad killed, or stopped without --flush-on-exit, leaves the filter, which
 * keeps its old program and maps translating; the next ilad takes over: it
 * attaches its own first (ahead in the chain), then deletes the old one.
 * This file counts and deletes such filters, found by the name libbpf gives
 * them ("PROG:[ID]").
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "kernel_priv.h"

#define KTC_MAX 32

struct ktc_found {
	struct {
		uint32_t handle;
		uint32_t info;
	} f[KTC_MAX];
	unsigned n;
	unsigned others;
	const char *prefix;
	const char *keep;
};

static int ktc_opt_cb(const struct nlattr *attr, void *data)
{
	const char **name = data;

	if (mnl_attr_get_type(attr) == TCA_BPF_NAME && mnl_attr_validate(attr, MNL_TYPE_STRING) == 0)
		*name = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

static int ktc_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= TCA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int ktc_filter_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct ktc_found *found = arg;
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1] = { 0 };
	const char *kind = NULL, *name = NULL;

	if (nlh->nlmsg_type != RTM_NEWTFILTER || mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm))
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*tcm), ktc_attr_cb, tb) < 0)
		return 0;
	if (!tcm->tcm_handle)
		return 0; /* the chain's head, one per priority, not a filter */
	if (tb[TCA_KIND] && mnl_attr_validate(tb[TCA_KIND], MNL_TYPE_STRING) == 0)
		kind = mnl_attr_get_str(tb[TCA_KIND]);
	if (kind && strcmp(kind, "bpf") == 0 && tb[TCA_OPTIONS])
		(void)mnl_attr_parse_nested(tb[TCA_OPTIONS], ktc_opt_cb, &name);
	if (found->prefix && name && strncmp(name, found->prefix, strlen(found->prefix)) == 0 &&
	    !(found->keep && strcmp(name, found->keep) == 0) && found->n < KTC_MAX) {
		found->f[found->n].handle = tcm->tcm_handle;
		found->f[found->n].info = tcm->tcm_info;
		found->n++;
	} else {
		found->others++;
	}
	return 0;
}

/* A tc request for ifindex under parent, in buf. */
static struct tcmsg *tc_request(struct kernel *k, void *buf, uint16_t type, uint16_t flags,
				int ifindex, uint32_t parent, struct nlmsghdr **nlh)
{
	struct tcmsg *tcm;

	*nlh = mnl_nlmsg_put_header(buf);
	(*nlh)->nlmsg_type = type;
	(*nlh)->nlmsg_flags = NLM_F_REQUEST | flags;
	(*nlh)->nlmsg_seq = ++k->seq;
	tcm = mnl_nlmsg_put_extra_header(*nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	return tcm;
}

static int ktc_dump(struct kernel *k, int ifindex, uint32_t parent, struct ktc_found *found)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	tc_request(k, buf, RTM_GETTFILTER, NLM_F_DUMP, ifindex, parent, &nlh);
	return nl_talk(k, k->rt, nlh, ktc_filter_cb, found);
}

static int ktc_del_filter(struct kernel *k, int ifindex, uint32_t parent, uint32_t handle,
		      uint32_t info)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm = tc_request(k, buf, RTM_DELTFILTER, NLM_F_ACK, ifindex, parent, &nlh);

	tcm->tcm_handle = handle;
	tcm->tcm_info = info;
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	return nl_talk(k, k->rt, nlh, NULL, NULL);
}

static int ktc_del_clsact(struct kernel *k, int ifindex)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm = tc_request(k, buf, RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_CLSACT, &nlh);

	tcm->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	return nl_talk(k, k->rt, nlh, NULL, NULL);
}

int kernel_tc_count(struct kernel *k, int ifindex, const char *prefix)
{
	struct ktc_found found = { .prefix = prefix };
	int rc = ktc_dump(k, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), &found);

	if (rc == -EINVAL || rc == -ENOENT)
		return 0; /* no clsact there */
	return rc < 0 ? rc : (int)found.n;
}

int kernel_tc_purge(struct kernel *k, int ifindex, const char *prefix, const char *keep)
{
	const uint32_t ingress = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
	const uint32_t egress = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
	struct ktc_found found = { .prefix = prefix, .keep = keep };
	struct ktc_found rest = { 0 };
	int rc;

	rc = ktc_dump(k, ifindex, ingress, &found);
	if (rc == -EINVAL || rc == -ENOENT)
		return 0; /* no clsact there */
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < found.n; i++) {
		rc = ktc_del_filter(k, ifindex, ingress, found.f[i].handle, found.f[i].info);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	if (!found.n || found.others)
		return (int)found.n;
	/* the clsact held only the filters of the earlier run: it created it */
	rc = ktc_dump(k, ifindex, egress, &rest);
	if (rc == 0 && rest.others == 0)
		(void)ktc_del_clsact(k, ifindex);
	return (int)found.n;
}
