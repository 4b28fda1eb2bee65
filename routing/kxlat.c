/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ILA translation table over generic netlink: build, add, delete, get, dump. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kernel_priv.h"

int kernel_xlat_build(void *buf, size_t size, uint16_t family, uint8_t cmd, const struct kxlat *x,
		      uint32_t seq, uint16_t extra_flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	if (size < KERNEL_MSG_MAX)
		return -EMSGSIZE;
	memset(buf, 0, KERNEL_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | extra_flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = NLILA_GENL_VERSION;
	if (!x)
		return (int)nlh->nlmsg_len;
	/* (loc_match, ifindex) is the key of every command. */
	mnl_attr_put(nlh, NLILA_ATTR_LOCATOR_MATCH, sizeof(x->loc_match.b), x->loc_match.b);
	mnl_attr_put_u32(nlh, NLILA_ATTR_IFINDEX, (uint32_t)x->ifindex);
	if (cmd == NLILA_CMD_ADD) {
		mnl_attr_put(nlh, NLILA_ATTR_LOCATOR, sizeof(x->loc.b), x->loc.b);
		mnl_attr_put_u8(nlh, NLILA_ATTR_CSUM_MODE, x->csum_mode);
		mnl_attr_put_u8(nlh, NLILA_ATTR_IDENT_TYPE, x->ident_type);
	}
	return (int)nlh->nlmsg_len;
}

static int xlat_attr_cb(const struct nlattr *attr, void *data)
{
	struct kxlat *x = data;

	switch (mnl_attr_get_type(attr)) {
	case NLILA_ATTR_LOCATOR:
		if (mnl_attr_get_payload_len(attr) == sizeof(x->loc.b))
			memcpy(x->loc.b, mnl_attr_get_payload(attr), sizeof(x->loc.b));
		break;
	case NLILA_ATTR_LOCATOR_MATCH:
		if (mnl_attr_get_payload_len(attr) == sizeof(x->loc_match.b))
			memcpy(x->loc_match.b, mnl_attr_get_payload(attr), sizeof(x->loc_match.b));
		break;
	case NLILA_ATTR_IFINDEX:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			x->ifindex = (int)mnl_attr_get_u32(attr);
		break;
	case NLILA_ATTR_CSUM_MODE:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
			x->csum_mode = mnl_attr_get_u8(attr);
		break;
	case NLILA_ATTR_IDENT_TYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
			x->ident_type = mnl_attr_get_u8(attr);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* 1 and *x filled for an ILA entry message, else 0. */
static int xlat_parse(const struct nlmsghdr *nlh, uint16_t family, struct kxlat *x)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != family || mnl_nlmsg_get_payload_len(nlh) < sizeof(*g) ||
	    g->cmd != NLILA_CMD_GET)
		return 0;
	memset(x, 0, sizeof(*x));
	x->csum_mode = NLILA_DEFAULT_CSUM;
	x->ident_type = NLILA_DEFAULT_IDENT;
	if (mnl_attr_parse(nlh, sizeof(*g), xlat_attr_cb, x) < 0)
		return 0;
	return 1;
}

static int ila_family(struct kernel *k)
{
	uint16_t id;

	if (k->ila_family)
		return 0;
	if (nl_genl_resolve(k, NLILA_GENL_NAME, &id) < 0)
		return -EOPNOTSUPP;
	k->ila_family = id;
	return 0;
}

static int xlat_request(struct kernel *k, uint8_t cmd, const struct kxlat *x, msg_fn cb, void *arg)
{
	uint8_t buf[KERNEL_MSG_MAX];
	int err = ila_family(k), len;

	if (err)
		return err;
	len = kernel_xlat_build(buf, sizeof(buf), k->ila_family, cmd, x, ++k->seq, NLM_F_ACK);
	if (len < 0)
		return len;
	return nl_talk(k, k->gn, (struct nlmsghdr *)buf, cb, arg);
}

struct xlat_get {
	uint16_t family;
	bool found;
	struct kxlat x;
};

static int xlat_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xlat_get *g = arg;

	if (xlat_parse(nlh, g->family, &g->x) == 1)
		g->found = true;
	return 0;
}

int kernel_xlat_get(struct kernel *k, const struct ila_locator *loc_match, int ifindex,
		    struct kxlat *out)
{
	struct kxlat key = { .loc_match = *loc_match, .ifindex = ifindex };
	struct xlat_get g = { 0 };
	int err = ila_family(k);

	if (err)
		return err;
	g.family = k->ila_family;
	err = xlat_request(k, NLILA_CMD_GET, &key, xlat_get_cb, &g);
	/* Newer kernels answer a miss with ESRCH, older ones with nothing. */
	if (err == -ESRCH || err == -ENOENT || (!err && !g.found))
		return -ENOENT;
	if (err)
		return err;
	*out = g.x;
	return 0;
}

int kernel_xlat_del(struct kernel *k, const struct kxlat *x)
{
	return xlat_request(k, NLILA_CMD_DEL, x, NULL, NULL);
}

static bool xlat_same(const struct kxlat *a, const struct kxlat *b)
{
	return ila_locator_equal(&a->loc, &b->loc) && a->csum_mode == b->csum_mode &&
	       a->ident_type == b->ident_type;
}

int kernel_xlat_add(struct kernel *k, const struct kxlat *x)
{
	struct kxlat cur;
	int err, tries;

	/* ADD has no replace: EEXIST means look, and redo only if different.
	 * A concurrent delete between ADD and GET is met by adding again. */
	for (tries = 0; tries < 3; tries++) {
		err = xlat_request(k, NLILA_CMD_ADD, x, NULL, NULL);
		if (err != -EEXIST)
			return err ? err : KERNEL_XLAT_ADDED;
		err = kernel_xlat_get(k, &x->loc_match, x->ifindex, &cur);
		if (err == -ENOENT)
			continue;
		if (err)
			return err;
		if (xlat_same(x, &cur))
			return KERNEL_XLAT_PRESENT;
		err = kernel_xlat_del(k, x);
		if (err)
			return err;
		err = xlat_request(k, NLILA_CMD_ADD, x, NULL, NULL);
		return err ? err : KERNEL_XLAT_REPLACED;
	}
	return -EAGAIN;
}

struct xlat_dump {
	uint16_t family;
	struct vec v;
};

static int xlat_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xlat_dump *d = arg;
	struct kxlat x;

	if (xlat_parse(nlh, d->family, &x) != 1)
		return 0;
	return nl_vec_push(&d->v, &x);
}

int kernel_xlat_dump(struct kernel *k, kernel_xlat_fn cb, void *arg)
{
	struct xlat_dump d = { .v = { .size = sizeof(struct kxlat) } };
	uint8_t buf[KERNEL_MSG_MAX];
	int err = ila_family(k), tries, len;
	size_t i;

	if (err)
		return err;
	d.family = k->ila_family;
	err = -EAGAIN;
	for (tries = 0; tries < KERNEL_DUMP_TRIES && (err == -EAGAIN || err == -EINTR); tries++) {
		d.v.n = 0;
		len = kernel_xlat_build(buf, sizeof(buf), d.family, NLILA_CMD_GET, NULL, ++k->seq,
					NLM_F_DUMP);
		if (len < 0)
			return len;
		err = nl_talk(k, k->gn, (struct nlmsghdr *)buf, xlat_dump_cb, &d);
	}
	for (i = 0; !err && i < d.v.n; i++) {
		int r = cb(arg, (const struct kxlat *)(d.v.items + i * d.v.size));

		if (r < 0)
			err = r;
	}
	if (!err)
		err = (int)d.v.n;
	nl_vec_free(&d.v);
	return err;
}
