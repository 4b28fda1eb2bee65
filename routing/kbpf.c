/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The BPF data path's loader: the skeleton of routing/bpf/ila.bpf.c (built
 * by bpftool at build time), map updates in the layouts of ila_bpf.h, and
 * tc attachment through libbpf. See kbpf.h and doc/bpf.md.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ila.skel.h"
#include "log.h"
#include "util.h"
#include "routing/kbpf.h"

_Static_assert(ILA_BPF_CSUM_ADJUST_TRANSPORT == ILA_CSUM_ADJUST_TRANSPORT, "csum mode");
_Static_assert(ILA_BPF_CSUM_NEUTRAL_MAP == ILA_CSUM_NEUTRAL_MAP, "csum mode");
_Static_assert(ILA_BPF_CSUM_NO_ACTION == ILA_CSUM_NO_ACTION, "csum mode");
_Static_assert(ILA_BPF_CSUM_NEUTRAL_MAP_AUTO == ILA_CSUM_NEUTRAL_MAP_AUTO, "csum mode");
_Static_assert(sizeof(struct ila_bpf_map_key) == 20, "no hidden padding in keys");
_Static_assert(sizeof(struct ila_bpf_mapping) == 16, "mapping layout");
_Static_assert(sizeof(struct ila_bpf_v4prefix_key) == 8, "no hidden padding in keys");

#define KBPF_MAX_TC 64

struct kbpf_tc {
	int ifindex;
	__u32 handle;
	__u32 priority;
	bool created_qdisc;
};

struct kbpf {
	struct ila_bpf *skel;
	struct ring_buffer *misses;
	kbpf_miss_cb miss_cb;
	void *miss_arg;
	int ncpus;
	struct kbpf_tc tc[KBPF_MAX_TC];
	size_t ntc;
};

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
	ILA_PRINTF(2, 0);
static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("libbpf: %s", msg);
	return 0;
}

static int neg_errno(int fallback)
{
	return errno > 0 ? -errno : fallback;
}

static int on_miss(void *ctx, void *data, size_t len)
{
	struct kbpf *k = ctx;
	const struct ila_bpf_miss *ev = data;
	struct in6_addr a;

	if (len < sizeof(*ev) || !k->miss_cb)
		return 0;
	memcpy(&a, ev->addr, sizeof(a));
	k->miss_cb(ev->vn, &a, k->miss_arg);
	return 0;
}

int kbpf_open(const struct kbpf_opts *opts, struct kbpf **out)
{
	struct kbpf_opts o = { 0 };
	struct kbpf *k;
	int err;

	if (opts)
		o = *opts;
	if (!o.max_mappings)
		o.max_mappings = 65536;
	if (!o.max_prefixes)
		o.max_prefixes = 1024;
	if (!o.max_locators)
		o.max_locators = 256;
	if (!o.miss_interval_ns)
		o.miss_interval_ns = 1000000000ULL;

	libbpf_set_print(libbpf_to_log);
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->ncpus = libbpf_num_possible_cpus();
	if (k->ncpus <= 0) {
		err = k->ncpus < 0 ? k->ncpus : -EINVAL;
		goto fail;
	}
	k->skel = ila_bpf__open();
	if (!k->skel) {
		err = neg_errno(-EINVAL);
		goto fail;
	}
	k->skel->rodata->tc_l2_hlen = o.tc_no_l2 ? 0 : 14;
	k->skel->rodata->miss_interval_ns = o.miss_interval_ns;
	if ((err = bpf_map__set_max_entries(k->skel->maps.ila_map, o.max_mappings)) < 0 ||
	    (err = bpf_map__set_max_entries(k->skel->maps.ila_stats, o.max_mappings)) < 0 ||
	    (err = bpf_map__set_max_entries(k->skel->maps.ila_prefixes, o.max_prefixes)) < 0 ||
	    (err = bpf_map__set_max_entries(k->skel->maps.ila_v4prefixes, o.max_prefixes)) < 0 ||
	    (err = bpf_map__set_max_entries(k->skel->maps.ila_locators, o.max_locators)) < 0)
		goto fail;
	err = ila_bpf__load(k->skel);
	if (err < 0)
		goto fail;
	k->misses = ring_buffer__new(bpf_map__fd(k->skel->maps.ila_misses), on_miss, k, NULL);
	if (!k->misses) {
		err = neg_errno(-ENOMEM);
		goto fail;
	}
	*out = k;
	return 0;
fail:
	kbpf_close(k);
	return err < 0 ? err : -EINVAL;
}

void kbpf_close(struct kbpf *k)
{
	if (!k)
		return;
	while (k->ntc > 0)
		kbpf_tc_detach(k, k->tc[k->ntc - 1].ifindex);
	ring_buffer__free(k->misses);
	ila_bpf__destroy(k->skel);
	free(k);
}

int kbpf_out_fd(const struct kbpf *k)
{
	return bpf_program__fd(k->skel->progs.ila_out);
}

int kbpf_out4_fd(const struct kbpf *k)
{
	return bpf_program__fd(k->skel->progs.ila_out4);
}

int kbpf_in_fd(const struct kbpf *k)
{
	return bpf_program__fd(k->skel->progs.ila_in);
}

static int map_fd(const struct bpf_map *m)
{
	return bpf_map__fd(m);
}

static int check_mode(enum ila_csum_mode mode)
{
	switch (mode) {
	case ILA_CSUM_ADJUST_TRANSPORT:
	case ILA_CSUM_NEUTRAL_MAP:
	case ILA_CSUM_NO_ACTION:
	case ILA_CSUM_NEUTRAL_MAP_AUTO:
		return 0;
	}
	return -EINVAL;
}

static void prefix_key(struct ila_bpf_prefix_key *key, const struct in6_addr *prefix,
		       unsigned int plen)
{
	unsigned int i;

	memset(key, 0, sizeof(*key));
	key->prefixlen = plen;
	memcpy(key->addr, prefix, sizeof(key->addr));
	/* host bits cleared, so that the same prefix is always the same key */
	for (i = 0; i < 16; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		if (plen <= 8 * i)
			key->addr[i] = 0;
		else
			key->addr[i] &= (uint8_t)(0xff << (8 - (plen - 8 * i)));
	}
}

int kbpf_prefix_set(struct kbpf *k, const struct in6_addr *prefix, unsigned int plen,
		    uint32_t vn, enum ila_csum_mode mode)
{
	struct ila_bpf_prefix_key key;
	struct ila_bpf_prefix val = { .vn = vn, .csum_mode = (__u8)mode };

	if (plen > 128 || check_mode(mode) < 0)
		return -EINVAL;
	prefix_key(&key, prefix, plen);
	if (bpf_map_update_elem(map_fd(k->skel->maps.ila_prefixes), &key, &val, BPF_ANY) < 0)
		return neg_errno(-EIO);
	return 0;
}

int kbpf_prefix_del(struct kbpf *k, const struct in6_addr *prefix, unsigned int plen)
{
	struct ila_bpf_prefix_key key;

	if (plen > 128)
		return -EINVAL;
	prefix_key(&key, prefix, plen);
	if (bpf_map_delete_elem(map_fd(k->skel->maps.ila_prefixes), &key) < 0 && errno != ENOENT)
		return neg_errno(-EIO);
	return 0;
}

static void v4prefix_key(struct ila_bpf_v4prefix_key *key, const struct in_addr *prefix,
			 unsigned int plen)
{
	uint32_t a = ntohl(prefix->s_addr);

	memset(key, 0, sizeof(*key));
	key->prefixlen = plen;
	/* host bits cleared, as prefix_key() */
	a = plen ? a & (uint32_t)(0xffffffffULL << (32 - plen)) : 0;
	a = htonl(a);
	memcpy(key->addr, &a, sizeof(key->addr));
}

int kbpf_v4prefix_set(struct kbpf *k, const struct in_addr *prefix, unsigned int plen,
		      uint32_t vn, const struct in6_addr *src)
{
	struct ila_bpf_v4prefix_key key;
	struct ila_bpf_v4prefix val;

	if (plen > 32)
		return -EINVAL;
	v4prefix_key(&key, prefix, plen);
	memset(&val, 0, sizeof(val));
	val.vn = vn;
	memcpy(val.src, src, sizeof(val.src));
	if (bpf_map_update_elem(map_fd(k->skel->maps.ila_v4prefixes), &key, &val, BPF_ANY) < 0)
		return neg_errno(-EIO);
	return 0;
}

int kbpf_v4prefix_del(struct kbpf *k, const struct in_addr *prefix, unsigned int plen)
{
	struct ila_bpf_v4prefix_key key;

	if (plen > 32)
		return -EINVAL;
	v4prefix_key(&key, prefix, plen);
	if (bpf_map_delete_elem(map_fd(k->skel->maps.ila_v4prefixes), &key) < 0 &&
	    errno != ENOENT)
		return neg_errno(-EIO);
	return 0;
}

int kbpf_locator_set(struct kbpf *k, const struct ila_locator *loc,
		     const struct ila_sir_prefix *sir, enum ila_csum_mode mode)
{
	struct ila_bpf_locator_key key;
	struct ila_bpf_locator val;

	if (check_mode(mode) < 0)
		return -EINVAL;
	memcpy(key.locator, loc->b, sizeof(key.locator));
	memset(&val, 0, sizeof(val));
	memcpy(val.sir, sir->loc.b, sizeof(val.sir));
	val.csum_mode = (__u8)mode;
	if (bpf_map_update_elem(map_fd(k->skel->maps.ila_locators), &key, &val, BPF_ANY) < 0)
		return neg_errno(-EIO);
	return 0;
}

int kbpf_locator_del(struct kbpf *k, const struct ila_locator *loc)
{
	struct ila_bpf_locator_key key;

	memcpy(key.locator, loc->b, sizeof(key.locator));
	if (bpf_map_delete_elem(map_fd(k->skel->maps.ila_locators), &key) < 0 && errno != ENOENT)
		return neg_errno(-EIO);
	return 0;
}

static void map_key(struct ila_bpf_map_key *key, uint32_t vn, const struct in6_addr *addr)
{
	key->vn = vn;
	memcpy(key->addr, addr, sizeof(key->addr));
}

static int map_value(struct ila_bpf_mapping *val, const struct kbpf_mapping *m)
{
	if (m->state != KBPF_UP && m->state != KBPF_DOWN)
		return -EINVAL;
	memset(val, 0, sizeof(*val));
	memcpy(val->locator, m->loc.b, sizeof(val->locator));
	val->state = (__u8)m->state;
	val->flags = m->flags;
	return 0;
}

int kbpf_mapping_set(struct kbpf *k, const struct kbpf_mapping *m)
{
	struct ila_bpf_map_key key;
	struct ila_bpf_mapping val;
	int err;

	if ((err = map_value(&val, m)) < 0)
		return err;
	map_key(&key, m->vn, &m->addr);
	if (bpf_map_update_elem(map_fd(k->skel->maps.ila_map), &key, &val, BPF_ANY) < 0)
		return neg_errno(-EIO);
	return 0;
}

int kbpf_mapping_del(struct kbpf *k, uint32_t vn, const struct in6_addr *addr)
{
	struct ila_bpf_map_key key;

	map_key(&key, vn, addr);
	if (bpf_map_delete_elem(map_fd(k->skel->maps.ila_map), &key) < 0 && errno != ENOENT)
		return neg_errno(-EIO);
	/* the counters go with the mapping (the program recreates them) */
	if (bpf_map_delete_elem(map_fd(k->skel->maps.ila_stats), &key) < 0 && errno != ENOENT)
		return neg_errno(-EIO);
	return 0;
}

int kbpf_mapping_get(struct kbpf *k, uint32_t vn, const struct in6_addr *addr,
		     struct kbpf_mapping *out)
{
	struct ila_bpf_map_key key;
	struct ila_bpf_mapping val;

	map_key(&key, vn, addr);
	if (bpf_map_lookup_elem(map_fd(k->skel->maps.ila_map), &key, &val) < 0)
		return neg_errno(-EIO);
	memset(out, 0, sizeof(*out));
	out->vn = vn;
	out->addr = *addr;
	memcpy(out->loc.b, val.locator, sizeof(out->loc.b));
	out->state = val.state == ILA_BPF_STATE_UP ? KBPF_UP : KBPF_DOWN;
	out->flags = val.flags;
	return 0;
}

/* Deletes keys[0..n) from fd in batches, stepping over the ones that are
 * not there (a batch stops at the first missing key). */
static int delete_batch(int fd, struct ila_bpf_map_key *keys, size_t n)
{
	size_t i = 0;

	while (i < n) {
		__u32 count = (__u32)(n - i);
		int err;

		err = bpf_map_delete_batch(fd, keys + i, &count, NULL);
		if (err == 0)
			return 0;
		if (errno != ENOENT)
			return neg_errno(-EIO);
		i += count + 1; /* keys + i + count was missing */
	}
	return 0;
}

int kbpf_mapping_set_batch(struct kbpf *k, const struct kbpf_mapping *m, size_t n, size_t *done)
{
	struct ila_bpf_map_key *keys;
	struct ila_bpf_mapping *vals;
	__u32 count;
	size_t i;
	int err = 0;

	if (done)
		*done = 0;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return -E2BIG;
	keys = calloc(n, sizeof(*keys));
	vals = calloc(n, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		map_key(&keys[i], m[i].vn, &m[i].addr);
		if ((err = map_value(&vals[i], &m[i])) < 0)
			goto out;
	}
	count = (__u32)n;
	if (bpf_map_update_batch(map_fd(k->skel->maps.ila_map), keys, vals, &count, NULL) < 0)
		err = neg_errno(-EIO);
	else
		count = (__u32)n;
	if (done)
		*done = count;
out:
	free(keys);
	free(vals);
	return err;
}

int kbpf_mapping_del_batch(struct kbpf *k, const struct kbpf_mapping *m, size_t n, size_t *done)
{
	struct ila_bpf_map_key *keys;
	size_t i;
	int err;

	if (done)
		*done = 0;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return -E2BIG;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		map_key(&keys[i], m[i].vn, &m[i].addr);
	err = delete_batch(map_fd(k->skel->maps.ila_map), keys, n);
	if (err == 0)
		err = delete_batch(map_fd(k->skel->maps.ila_stats), keys, n);
	if (err == 0 && done)
		*done = n;
	free(keys);
	return err;
}

int kbpf_mapping_counters(struct kbpf *k, uint32_t vn, const struct in6_addr *addr,
			  struct kbpf_counters *out)
{
	struct ila_bpf_map_key key;
	struct ila_bpf_counters *per;
	int i, err = 0;

	memset(out, 0, sizeof(*out));
	map_key(&key, vn, addr);
	/* a per-CPU value is one 8-byte-aligned copy per possible CPU */
	per = calloc((size_t)k->ncpus, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd(k->skel->maps.ila_stats), &key, per) < 0) {
		if (errno != ENOENT)
			err = neg_errno(-EIO);
		goto out;
	}
	for (i = 0; i < k->ncpus; i++) {
		out->packets += per[i].packets;
		out->bytes += per[i].bytes;
	}
out:
	free(per);
	return err;
}

int kbpf_global_counters(struct kbpf *k, uint64_t out[ILA_BPF_COUNTERS])
{
	uint64_t *per;
	__u32 c;
	int i, err = 0;

	per = calloc((size_t)k->ncpus, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (c = 0; c < ILA_BPF_COUNTERS; c++) {
		out[c] = 0;
		if (bpf_map_lookup_elem(map_fd(k->skel->maps.ila_global), &c, per) < 0) {
			err = neg_errno(-EIO);
			break;
		}
		for (i = 0; i < k->ncpus; i++)
			out[c] += per[i];
	}
	free(per);
	return err;
}

int kbpf_miss_fd(const struct kbpf *k)
{
	return ring_buffer__epoll_fd(k->misses);
}

int kbpf_miss_drain(struct kbpf *k, kbpf_miss_cb cb, void *arg)
{
	int n;

	k->miss_cb = cb;
	k->miss_arg = arg;
	n = ring_buffer__consume(k->misses);
	k->miss_cb = NULL;
	k->miss_arg = NULL;
	return n;
}

int kbpf_tc_attach(struct kbpf *k, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = kbpf_in_fd(k));
	struct kbpf_tc *t;
	bool created;
	size_t i;
	int err;

	for (i = 0; i < k->ntc; i++)
		if (k->tc[i].ifindex == ifindex)
			return -EEXIST;
	if (k->ntc == KBPF_MAX_TC)
		return -ENOSPC;
	err = bpf_tc_hook_create(&hook);
	if (err < 0 && err != -EEXIST)
		return err;
	created = err == 0;
	err = bpf_tc_attach(&hook, &opts);
	if (err < 0) {
		if (created) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
		return err;
	}
	t = &k->tc[k->ntc++];
	t->ifindex = ifindex;
	t->handle = opts.handle;
	t->priority = opts.priority;
	t->created_qdisc = created;
	return 0;
}

void kbpf_tc_forget(struct kbpf *k)
{
	k->ntc = 0;
}

int kbpf_in_name(const struct kbpf *k, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(kbpf_in_fd(k), &info, &ilen);
	if (err < 0)
		return neg_errno(err);
	/* what libbpf's bpf_tc_attach() names the filter */
	snprintf(buf, len, "%s:[%u]", info.name, info.id);
	return 0;
}

int kbpf_tc_detach(struct kbpf *k, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts);
	struct kbpf_tc t;
	size_t i;
	int err;

	for (i = 0; i < k->ntc; i++)
		if (k->tc[i].ifindex == ifindex)
			break;
	if (i == k->ntc)
		return -ENOENT;
	t = k->tc[i];
	k->tc[i] = k->tc[--k->ntc];
	opts.handle = t.handle;
	opts.priority = t.priority;
	err = bpf_tc_detach(&hook, &opts);
	/* a qdisc we created goes too, but only that: another program's
	 * filters on a clsact that was there before stay */
	if (t.created_qdisc) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		if (bpf_tc_hook_destroy(&hook) < 0 && err == 0)
			err = -EIO;
	}
	return err == -ENOENT ? 0 : err;
}
