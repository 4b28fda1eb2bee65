/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The BPF data path through its loader (routing/kbpf.c), on the running
 * kernel: every sir2ila and ila2sir vector of tests/model/ila_vectors.txt
 * as UDP, TCP and ICMPv6 packets run through the programs with
 * BPF_PROG_TEST_RUN, then misses, DOWN mappings, counters, batches of
 * 100,000 mappings and tc attachment; IPv4 taken out of IPv6 by ila_in,
 * and put in it by ila_out4 on a real route. Needs root and BPF; skipped
 * otherwise.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "addr.h"
#include "routing/kbpf.h"
#include "routing/kernel.h"

#define ETH_HLEN 14
#define IP6_HLEN 40
#define PKT_MAX 512
#define LINE_LEN 512
#define VN 7

static const char src_text[] = "2001:db8:2::7";

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;   /* with the Ethernet header */
	size_t csum;  /* offset of the transport checksum */
	uint8_t proto;
};

static const uint8_t protos[] = { 17, 6, 58 };

static struct in6_addr addr6(const char *s)
{
	struct in6_addr a;

	if (ila_addr6_parse(s, &a, NULL, 0) < 0)
		fail_msg("bad address %s", s);
	return a;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv6 + a UDP, TCP or ICMPv6 message with paylen bytes of data
 * and a valid transport checksum. */
static void build(struct pkt *p, const struct in6_addr *src, const struct in6_addr *dst,
		  uint8_t proto, size_t paylen)
{
	size_t l4 = ETH_HLEN + IP6_HLEN, hlen, i;
	uint8_t *b = p->b;

	memset(p, 0, sizeof(*p));
	p->proto = proto;
	memcpy(b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x86\xdd", ETH_HLEN);
	b[ETH_HLEN] = 0x60;
	b[ETH_HLEN + 6] = proto;
	b[ETH_HLEN + 7] = 64;
	memcpy(b + ETH_HLEN + 8, src, 16);
	memcpy(b + ETH_HLEN + 24, dst, 16);
	switch (proto) {
	case 17:
		hlen = 8;
		put16(b + l4, 40000);
		put16(b + l4 + 2, 4789);
		put16(b + l4 + 4, (uint16_t)(hlen + paylen));
		p->csum = l4 + 6;
		break;
	case 6:
		hlen = 20;
		put16(b + l4, 40000);
		put16(b + l4 + 2, 80);
		b[l4 + 7] = 1;		/* sequence */
		b[l4 + 12] = 5 << 4;	/* data offset */
		b[l4 + 13] = 0x18;	/* PSH ACK */
		put16(b + l4 + 14, 65535);
		p->csum = l4 + 16;
		break;
	default:
		hlen = 8;
		b[l4] = 128;		/* echo request */
		put16(b + l4 + 4, 0x1234);
		put16(b + l4 + 6, 1);
		p->csum = l4 + 2;
		break;
	}
	for (i = 0; i < paylen; i++)
		b[l4 + hlen + i] = (uint8_t)(i * 7 + proto);
	put16(b + ETH_HLEN + 4, (uint16_t)(hlen + paylen));
	p->len = l4 + hlen + paylen;
	put16(b + p->csum, ila_l4_csum(src, dst, proto, b + l4, hlen + paylen));
	if (proto == 17 && get16(b + p->csum) == 0)
		put16(b + p->csum, 0xffff);
}

static struct in6_addr pkt_dst(const struct pkt *p)
{
	struct in6_addr a;

	memcpy(&a, p->b + ETH_HLEN + 24, 16);
	return a;
}

/* 0 when the transport checksum is valid over the addresses in the packet */
static uint16_t csum_check(const struct pkt *p)
{
	struct in6_addr s, d;

	memcpy(&s, p->b + ETH_HLEN + 8, 16);
	memcpy(&d, p->b + ETH_HLEN + 24, 16);
	return ila_l4_csum(&s, &d, p->proto, p->b + ETH_HLEN + IP6_HLEN,
			   p->len - ETH_HLEN - IP6_HLEN);
}

/* Runs prog on in; out gets what came out. Returns the program's verdict.
 * An LWT program gets the packet from its IPv6 header on; the test run puts
 * a zeroed link header back in front of what it returns. */
static int run(int prog, const struct pkt *in, struct pkt *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	*out = *in;
	o.data_in = in->b;
	o.data_size_in = (__u32)in->len;
	o.data_out = out->b;
	o.data_size_out = sizeof(out->b);
	o.repeat = 1;
	assert_int_equal(bpf_prog_test_run_opts(prog, &o), 0);
	assert_int_equal(o.data_size_out, in->len);
	return (int)o.retval;
}

/* ---- fixture ---- */

struct env {
	struct kbpf *k;
};

static int setup(void **state)
{
	static struct env env;
	struct kbpf_opts o = { .max_mappings = 131072 };
	int err;

	err = kbpf_open(&o, &env.k);
	if (err < 0) {
		print_error("kbpf_open: %s\n", strerror(-err));
		return -1;
	}
	*state = &env;
	return 0;
}

static int teardown(void **state)
{
	struct env *env = *state;

	kbpf_close(env->k);
	return 0;
}

static uint64_t global(struct kbpf *k, enum ila_bpf_counter c)
{
	uint64_t v[ILA_BPF_COUNTERS];

	assert_int_equal(kbpf_global_counters(k, v), 0);
	return v[c];
}

/* ---- the model's vectors ---- */

struct vector {
	int lineno;
	char kind[16], mode[32], from[64], via[64], to[64];
};

static struct vector *load_vectors(size_t *n)
{
	const char *top = getenv("top_srcdir");
	char path[1024], line[LINE_LEN];
	struct vector *v = NULL;
	int lineno = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/tests/model/ila_vectors.txt", top ? top : ".");
	fp = fopen(path, "r");
	if (!fp)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	*n = 0;
	while (fgets(line, sizeof(line), fp)) {
		struct vector t;

		lineno++;
		if (sscanf(line, "%15s %31s %63s %63s %63s", t.kind, t.mode, t.from, t.via, t.to) != 5)
			continue;
		if (strcmp(t.kind, "sir2ila") != 0 && strcmp(t.kind, "ila2sir") != 0)
			continue;
		t.lineno = lineno;
		v = realloc(v, (*n + 1) * sizeof(*v));
		assert_non_null(v);
		v[(*n)++] = t;
	}
	fclose(fp);
	return v;
}

/* Checks one translated packet against the model; returns 0 or prints why. */
static int check_packet(const struct vector *v, const struct pkt *in, const struct pkt *out,
			const struct in6_addr *want, const struct ila_locator *from,
			const struct ila_locator *to, enum ila_csum_mode mode, bool neutral)
{
	char got_s[ILA_ADDR6_STRLEN];
	struct in6_addr got = pkt_dst(out);
	struct pkt expect = *in;
	uint16_t c_in = get16(in->b + in->csum), c_out = get16(out->b + out->csum), c_want;

	if (memcmp(&got, want, 16) != 0) {
		print_error("ila_vectors.txt:%d proto %u: destination %s\n", v->lineno, in->proto,
			    ila_addr6_format(&got, got_s, sizeof(got_s)));
		return -1;
	}
	c_want = c_in;
	if (mode == ILA_CSUM_ADJUST_TRANSPORT) {
		c_want = ila_csum_adjust_transport(c_in, from, to);
		if (in->proto == 17 && c_want == 0)
			c_want = 0xffff;
		if (csum_check(out) != 0) {
			print_error("ila_vectors.txt:%d proto %u: invalid checksum %04x\n",
				    v->lineno, in->proto, c_out);
			return -1;
		}
	} else if (neutral && csum_check(out) != 0) {
		print_error("ila_vectors.txt:%d proto %u: %s not checksum neutral\n",
			    v->lineno, in->proto, v->mode);
		return -1;
	}
	if (c_out != c_want) {
		print_error("ila_vectors.txt:%d proto %u: checksum %04x, model %04x\n",
			    v->lineno, in->proto, c_out, c_want);
		return -1;
	}
	/* nothing else changed: the link header is the test run's zeroes for LWT */
	memcpy(expect.b + ETH_HLEN + 24, want, 16);
	put16(expect.b + expect.csum, c_want);
	if (memcmp(expect.b + ETH_HLEN, out->b + ETH_HLEN, in->len - ETH_HLEN) != 0) {
		print_error("ila_vectors.txt:%d proto %u: other bytes changed\n", v->lineno,
			    in->proto);
		return -1;
	}
	return 0;
}

static int run_sir2ila(struct kbpf *k, const struct vector *v)
{
	struct kbpf_mapping m = { .vn = VN, .state = KBPF_UP };
	struct in6_addr src = addr6(src_text), sir, want, prefix;
	struct ila_locator upper;
	enum ila_csum_mode mode;
	bool refused = strcmp(v->to, "ERROR") == 0;
	int bad = 0;
	size_t i;

	assert_int_equal(ila_csum_mode_parse(v->mode, &mode, NULL, 0), 0);
	sir = addr6(v->from);
	assert_int_equal(ila_locator_parse(v->via, &m.loc, NULL, 0), 0);
	want = refused ? sir : addr6(v->to);
	upper = ila_addr_upper(&sir);
	memset(&prefix, 0, sizeof(prefix));
	memcpy(&prefix, upper.b, 8);
	assert_int_equal(kbpf_prefix_set(k, &prefix, 64, VN, mode), 0);
	m.addr = sir;
	assert_int_equal(kbpf_mapping_set(k, &m), 0);

	for (i = 0; i < sizeof(protos); i++) {
		struct pkt in, out;
		int verdict;

		build(&in, &src, &sir, protos[i], 13 + 11 * i + (size_t)v->lineno % 17);
		verdict = run(kbpf_out_fd(k), &in, &out);
		if (refused) {
			if (verdict != BPF_OK ||
			    memcmp(in.b + ETH_HLEN, out.b + ETH_HLEN, in.len - ETH_HLEN) != 0) {
				print_error("ila_vectors.txt:%d: refused address not left alone\n",
					    v->lineno);
				bad++;
			}
			continue;
		}
		if (verdict != BPF_LWT_REROUTE) {
			print_error("ila_vectors.txt:%d: verdict %d\n", v->lineno, verdict);
			bad++;
			continue;
		}
		if (check_packet(v, &in, &out, &want, &upper, &m.loc, mode,
				 mode == ILA_CSUM_NEUTRAL_MAP || mode == ILA_CSUM_NEUTRAL_MAP_AUTO) < 0)
			bad++;
	}
	assert_int_equal(kbpf_mapping_del(k, VN, &sir), 0);
	assert_int_equal(kbpf_prefix_del(k, &prefix, 64), 0);
	return bad;
}

static int run_ila2sir(struct kbpf *k, const struct vector *v)
{
	struct in6_addr src = addr6(src_text), ila, want;
	struct ila_sir_prefix sir;
	struct ila_locator loc;
	enum ila_csum_mode mode;
	bool neutral;
	int bad = 0;
	size_t i;

	assert_int_equal(ila_csum_mode_parse(v->mode, &mode, NULL, 0), 0);
	ila = addr6(v->from);
	assert_int_equal(ila_sir_prefix_parse(v->via, &sir, NULL, 0), 0);
	want = addr6(v->to);
	loc = ila_addr_upper(&ila);
	assert_int_equal(kbpf_locator_set(k, &loc, &sir, mode), 0);
	/* checksum neutral where the model undoes a neutral mapping */
	neutral = mode == ILA_CSUM_NEUTRAL_MAP_AUTO ||
		  (mode == ILA_CSUM_NEUTRAL_MAP && (ila.s6_addr[8] & 0x10));

	for (i = 0; i < sizeof(protos); i++) {
		struct pkt in, out;
		int verdict;

		build(&in, &src, &ila, protos[i], 9 + 13 * i + (size_t)v->lineno % 19);
		verdict = run(kbpf_in_fd(k), &in, &out);
		if (verdict != TC_ACT_OK) {
			print_error("ila_vectors.txt:%d: verdict %d\n", v->lineno, verdict);
			bad++;
			continue;
		}
		if (memcmp(in.b, out.b, ETH_HLEN) != 0) {
			print_error("ila_vectors.txt:%d: link header changed\n", v->lineno);
			bad++;
		}
		if (check_packet(v, &in, &out, &want, &loc, &sir.loc, mode, neutral) < 0)
			bad++;
	}
	assert_int_equal(kbpf_locator_del(k, &loc), 0);
	return bad;
}

static void test_vectors(void **state)
{
	struct env *env = *state;
	size_t n, i, s2i = 0, i2s = 0;
	struct vector *v = load_vectors(&n);
	uint64_t before = global(env->k, ILA_BPF_OUT_TRANSLATED);
	int bad = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(v[i].kind, "sir2ila") == 0) {
			bad += run_sir2ila(env->k, &v[i]);
			s2i++;
		} else {
			bad += run_ila2sir(env->k, &v[i]);
			i2s++;
		}
	}
	free(v);
	print_message("# %zu sir2ila and %zu ila2sir vectors, %zu packets each\n", s2i, i2s,
		      sizeof(protos));
	assert_true(s2i >= 40 && i2s >= 40);
	assert_true(global(env->k, ILA_BPF_OUT_TRANSLATED) > before);
	if (bad)
		fail_msg("%d packets differ from the model", bad);
}

/* ---- misses, DOWN, counters ---- */

struct misses {
	int n;
	uint32_t vn;
	struct in6_addr addr;
};

static void on_miss(uint32_t vn, const struct in6_addr *addr, void *arg)
{
	struct misses *m = arg;

	m->n++;
	m->vn = vn;
	m->addr = *addr;
}

static void test_miss_passes_unchanged(void **state)
{
	struct env *env = *state;
	struct in6_addr src = addr6(src_text), prefix = addr6("2001:db8:5::"),
			dst = addr6("2001:db8:5::2:1"), other = addr6("2001:db8:99::1");
	uint64_t miss0 = global(env->k, ILA_BPF_OUT_MISS);
	uint64_t notsir0 = global(env->k, ILA_BPF_OUT_NOT_SIR);
	struct misses seen = { 0 };
	struct pkt in, out;

	assert_int_equal(kbpf_prefix_set(env->k, &prefix, 64, 9, ILA_CSUM_NEUTRAL_MAP), 0);
	kbpf_miss_drain(env->k, on_miss, &seen);
	seen.n = 0;

	build(&in, &src, &dst, 17, 32);
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_OK);
	assert_memory_equal(in.b + ETH_HLEN, out.b + ETH_HLEN, in.len - ETH_HLEN);
	assert_int_equal(global(env->k, ILA_BPF_OUT_MISS), miss0 + 1);
	assert_int_equal(kbpf_miss_drain(env->k, on_miss, &seen), 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.vn, 9);
	assert_memory_equal(&seen.addr, &dst, 16);

	/* the same address again within the interval: counted, no event */
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_OK);
	assert_int_equal(global(env->k, ILA_BPF_OUT_MISS), miss0 + 2);
	assert_int_equal(kbpf_miss_drain(env->k, on_miss, &seen), 0);
	assert_int_equal(seen.n, 1);

	/* outside every SIR prefix: left alone */
	build(&in, &src, &other, 6, 20);
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_OK);
	assert_memory_equal(in.b + ETH_HLEN, out.b + ETH_HLEN, in.len - ETH_HLEN);
	assert_int_equal(global(env->k, ILA_BPF_OUT_NOT_SIR), notsir0 + 1);

	/* the way in leaves addresses of other locators alone */
	build(&in, &src, &other, 6, 20);
	assert_int_equal(run(kbpf_in_fd(env->k), &in, &out), TC_ACT_OK);
	assert_memory_equal(in.b, out.b, in.len);
	assert_int_equal(kbpf_prefix_del(env->k, &prefix, 64), 0);
}

static void test_down_drops_and_counters_count(void **state)
{
	struct env *env = *state;
	struct in6_addr src = addr6(src_text), prefix = addr6("2001:db8:6::"),
			dst = addr6("2001:db8:6::2:2");
	struct kbpf_mapping m = { .vn = 11, .addr = dst, .state = KBPF_UP }, got;
	struct kbpf_counters c;
	uint64_t down0 = global(env->k, ILA_BPF_OUT_DOWN), bytes = 0;
	struct pkt in, out;
	size_t i;

	assert_int_equal(kbpf_prefix_set(env->k, &prefix, 48, 11, ILA_CSUM_ADJUST_TRANSPORT), 0);
	assert_int_equal(ila_locator_parse("2001:0:0:a", &m.loc, NULL, 0), 0);
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);
	assert_int_equal(kbpf_mapping_counters(env->k, 11, &dst, &c), 0);
	assert_int_equal(c.packets, 0);
	assert_int_equal(c.bytes, 0);

	for (i = 0; i < 5; i++) {
		build(&in, &src, &dst, protos[i % 3], 10 + 100 * i);
		assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_LWT_REROUTE);
		assert_int_equal(csum_check(&out), 0);
		bytes += in.len - ETH_HLEN; /* an LWT program's skb starts at IPv6 */
	}
	assert_int_equal(kbpf_mapping_counters(env->k, 11, &dst, &c), 0);
	assert_int_equal(c.packets, 5);
	assert_int_equal(c.bytes, bytes);

	/* a move is one update, and keeps the counters */
	assert_int_equal(ila_locator_parse("2001:0:0:b", &m.loc, NULL, 0), 0);
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);
	build(&in, &src, &dst, 17, 50);
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_LWT_REROUTE);
	assert_memory_equal(out.b + ETH_HLEN + 24, "\x20\x01\x00\x00\x00\x00\x00\x0b", 8);
	bytes += in.len - ETH_HLEN;
	assert_int_equal(kbpf_mapping_counters(env->k, 11, &dst, &c), 0);
	assert_int_equal(c.packets, 6);
	assert_int_equal(c.bytes, bytes);

	/* DOWN: dropped, and counted */
	m.state = KBPF_DOWN;
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);
	assert_int_equal(kbpf_mapping_get(env->k, 11, &dst, &got), 0);
	assert_int_equal(got.state, KBPF_DOWN);
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_DROP);
	assert_int_equal(global(env->k, ILA_BPF_OUT_DOWN), down0 + 1);
	assert_int_equal(kbpf_mapping_counters(env->k, 11, &dst, &c), 0);
	assert_int_equal(c.packets, 7);

	/* deleted: the counters go too, and packets pass as misses */
	assert_int_equal(kbpf_mapping_del(env->k, 11, &dst), 0);
	assert_int_equal(kbpf_mapping_get(env->k, 11, &dst, &got), -ENOENT);
	assert_int_equal(kbpf_mapping_counters(env->k, 11, &dst, &c), 0);
	assert_int_equal(c.packets, 0);
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_OK);
	assert_memory_equal(in.b + ETH_HLEN, out.b + ETH_HLEN, in.len - ETH_HLEN);
	assert_int_equal(kbpf_mapping_del(env->k, 11, &dst), 0);
	assert_int_equal(kbpf_prefix_del(env->k, &prefix, 48), 0);
}

/* A UDP checksum that adj-transport brings to 0 is sent as 0xffff (0 would
 * mean "no checksum"), and a UDP checksum of 0 is left as it is. */
static void test_udp_zero_checksum(void **state)
{
	struct env *env = *state;
	struct in6_addr src = addr6(src_text), prefix = addr6("2001:db8:4::"),
			sir = addr6("2001:db8:4::2:3"), ila;
	struct kbpf_mapping m = { .vn = 13, .addr = sir, .state = KBPF_UP };
	size_t l4 = ETH_HLEN + IP6_HLEN, n;
	struct pkt in, out;

	assert_int_equal(ila_locator_parse("2001:0:0:c", &m.loc, NULL, 0), 0);
	assert_int_equal(ila_sir_to_ila(&sir, &m.loc, ILA_CSUM_ADJUST_TRANSPORT, &ila), 0);
	assert_int_equal(kbpf_prefix_set(env->k, &prefix, 64, 13, ILA_CSUM_ADJUST_TRANSPORT), 0);
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);

	/* a payload word that makes the checksum over the ILA address 0 */
	build(&in, &src, &sir, 17, 16);
	n = in.len - l4;
	put16(in.b + l4 + 8, 0);
	put16(in.b + in.csum, 0);
	put16(in.b + l4 + 8, ila_l4_csum(&src, &ila, 17, in.b + l4, n));
	put16(in.b + in.csum, ila_l4_csum(&src, &sir, 17, in.b + l4, n));
	assert_int_not_equal(get16(in.b + in.csum), 0);
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_LWT_REROUTE);
	assert_int_equal(get16(out.b + out.csum), 0xffff);
	assert_int_equal(csum_check(&out), 0);

	/* no checksum (RFC 6935 tunnels): stays none */
	put16(in.b + in.csum, 0);
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_LWT_REROUTE);
	assert_int_equal(get16(out.b + out.csum), 0);

	assert_int_equal(kbpf_mapping_del(env->k, 13, &sir), 0);
	assert_int_equal(kbpf_prefix_del(env->k, &prefix, 64), 0);
}

/* ---- batches ---- */

#define BATCH 100000

static void batch_addr(struct in6_addr *a, uint32_t i)
{
	*a = addr6("2001:db8:8::");
	a->s6_addr[8] = 0x20; /* LUID */
	a->s6_addr[12] = (uint8_t)(i >> 24);
	a->s6_addr[13] = (uint8_t)(i >> 16);
	a->s6_addr[14] = (uint8_t)(i >> 8);
	a->s6_addr[15] = (uint8_t)i;
}

static void test_batch_100k(void **state)
{
	struct env *env = *state;
	struct kbpf_mapping *m = calloc(BATCH, sizeof(*m)), got;
	struct in6_addr src = addr6(src_text), prefix = addr6("2001:db8:8::");
	struct pkt in, out;
	size_t done, i;

	assert_non_null(m);
	for (i = 0; i < BATCH; i++) {
		m[i].vn = 21;
		batch_addr(&m[i].addr, (uint32_t)i);
		m[i].loc.b[0] = 0x20;
		m[i].loc.b[1] = 0x01;
		m[i].loc.b[4] = (uint8_t)(i >> 16);
		m[i].loc.b[5] = (uint8_t)(i >> 8);
		m[i].loc.b[7] = (uint8_t)i;
		m[i].state = KBPF_UP;
	}
	assert_int_equal(kbpf_mapping_set_batch(env->k, m, BATCH, &done), 0);
	assert_int_equal(done, BATCH);
	for (i = 0; i < BATCH; i += 997) {
		assert_int_equal(kbpf_mapping_get(env->k, 21, &m[i].addr, &got), 0);
		assert_memory_equal(got.loc.b, m[i].loc.b, 8);
	}
	assert_int_equal(kbpf_mapping_get(env->k, 21, &m[BATCH - 1].addr, &got), 0);
	assert_memory_equal(got.loc.b, m[BATCH - 1].loc.b, 8);

	/* and the data path finds them */
	assert_int_equal(kbpf_prefix_set(env->k, &prefix, 64, 21, ILA_CSUM_NO_ACTION), 0);
	build(&in, &src, &m[77777].addr, 17, 40);
	assert_int_equal(run(kbpf_out_fd(env->k), &in, &out), BPF_LWT_REROUTE);
	assert_memory_equal(out.b + ETH_HLEN + 24, m[77777].loc.b, 8);

	/* a batch of moves replaces */
	for (i = 0; i < BATCH; i++)
		m[i].loc.b[3] = 0x99;
	assert_int_equal(kbpf_mapping_set_batch(env->k, m, BATCH, &done), 0);
	assert_int_equal(kbpf_mapping_get(env->k, 21, &m[5].addr, &got), 0);
	assert_int_equal(got.loc.b[3], 0x99);

	/* deleting, with some that are not there, removes every one */
	assert_int_equal(kbpf_mapping_del(env->k, 21, &m[10].addr), 0);
	assert_int_equal(kbpf_mapping_del(env->k, 21, &m[BATCH / 2].addr), 0);
	assert_int_equal(kbpf_mapping_del_batch(env->k, m, BATCH, &done), 0);
	assert_int_equal(done, BATCH);
	for (i = 0; i < BATCH; i += 991)
		assert_int_equal(kbpf_mapping_get(env->k, 21, &m[i].addr, &got), -ENOENT);
	assert_int_equal(kbpf_prefix_del(env->k, &prefix, 64), 0);
	free(m);
}

/* ---- tc attachment, in a network namespace of the test's own ---- */

static void test_tc_attach_detach(void **state)
{
	struct env *env = *state;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_INGRESS);

	if (unshare(CLONE_NEWNET) < 0)
		skip();
	assert_int_equal(kbpf_tc_attach(env->k, 1), 0);
	assert_int_equal(kbpf_tc_attach(env->k, 1), -EEXIST);
	/* the clsact qdisc is there now */
	assert_int_equal(bpf_tc_hook_create(&hook), -EEXIST);
	assert_int_equal(kbpf_tc_detach(env->k, 1), 0);
	assert_int_equal(kbpf_tc_detach(env->k, 1), -ENOENT);
	/* and gone again: nothing left behind */
	assert_int_equal(bpf_tc_hook_create(&hook), 0);
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	assert_int_equal(bpf_tc_hook_destroy(&hook), 0);

	/* kbpf_close() detaches what is still attached (teardown checks) */
	assert_int_equal(kbpf_tc_attach(env->k, 1), 0);
}

/* ---- ila_out on a real route: packets sent through veth ---- */

static int sh(const char *cmd)
{
	int st = system(cmd);

	return st == -1 ? -1 : WEXITSTATUS(st);
}

struct found_bpf {
	int n;
};

static int on_route(void *arg, const struct kroute *r)
{
	struct found_bpf *f = arg;

	if (r->kind == KROUTE_BPF && r->dst_len == 64)
		f->n++;
	return 0;
}

static void on_route_error(void *arg, size_t index, const struct kroute *r, bool del, int err,
			   const char *msg)
{
	char text[256];

	print_error("route %s: %s: %s\n", kroute_format(r, text, sizeof(text)), strerror(-err),
		    msg);
}

/* Sends a UDP datagram to dst port 9 and returns what v1 received of it
 * (0), or -1 when nothing came within a second. */
static int send_and_capture(int udp, int cap, const char *dst, struct pkt *got)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	static const char msg[] = "through ila_out";

	to.sin6_addr = addr6(dst);
	(void)sendto(udp, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to));
	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		memset(got, 0, sizeof(*got));
		/* SOCK_DGRAM: from the IPv6 header on; put it where build() does */
		n = recvfrom(cap, got->b + ETH_HLEN, sizeof(got->b) - ETH_HLEN, 0,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return -1;
		if (from.sll_pkttype == PACKET_OUTGOING || n < IP6_HLEN + 8 ||
		    got->b[ETH_HLEN + 6] != 17 || get16(got->b + ETH_HLEN + IP6_HLEN + 2) != 9)
			continue;
		got->len = ETH_HLEN + (size_t)n;
		got->proto = 17;
		got->csum = ETH_HLEN + IP6_HLEN + 6;
		return 0;
	}
}

static void test_lwt_route(void **state)
{
	struct env *env = *state;
	struct kroute r = { .family = AF_INET6, .dst_len = 64, .kind = KROUTE_BPF };
	struct kbpf_mapping m = { .vn = 1, .addr = addr6("2001:db8:1::42"), .state = KBPF_UP };
	struct in6_addr prefix = addr6("2001:db8:1::"), want = addr6("2001:0:0:a::42");
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IPV6) };
	struct timeval tv = { .tv_sec = 1 };
	struct found_bpf found = { 0 };
	struct kbpf_counters c;
	struct kernel *kn = NULL;
	char err[KERNEL_ERRMSG_LEN];
	uint64_t down0;
	struct pkt got;
	int udp, cap;

	if (unshare(CLONE_NEWNET) < 0)
		skip();
	/* v0 is the uplink; the ILA locator 2001:0:0:a is reached through a
	 * neighbour on it; v1 captures what v0 sends; software checksums */
	assert_int_equal(sh("ip link set lo up && ip link add v0 type veth peer name v1 && "
			    "ip link set v0 up && ip link set v1 up && "
			    "ethtool -K v0 tx off >/dev/null 2>&1 && "
			    "ip -6 addr add 2001:db8:f::1/64 dev v0 nodad && "
			    "ip -6 neigh replace 2001:db8:f::2 lladdr 02:00:00:00:00:02 dev v0 nud permanent && "
			    "ip -6 neigh replace 2001:db8:1::99 lladdr 02:00:00:00:00:03 dev v0 nud permanent && "
			    "ip -6 route add 2001:0:0:a::/64 via 2001:db8:f::2 dev v0"), 0);
	assert_int_equal(kernel_open(&kn, KERNEL_ROUTE_PROTOCOL_DEFAULT, err, sizeof(err)), 0);
	r.dst.v6 = prefix;
	r.oif = (int)if_nametoindex("v0");
	r.bpf_fd = kbpf_out_fd(env->k);
	kernel_batch_begin(kn);
	assert_int_equal(kernel_route_replace(kn, &r), 0);
	assert_int_equal(kernel_batch_commit(kn, on_route_error, NULL), 0);
	assert_true(kernel_route_dump(kn, AF_INET6, 0, on_route, &found) >= 1);
	assert_int_equal(found.n, 1);
	assert_int_equal(sh("ip -6 route show 2001:db8:1::/64 | grep -q 'encap bpf xmit ila_out'"), 0);

	assert_int_equal(kbpf_prefix_set(env->k, &prefix, 64, 1, ILA_CSUM_ADJUST_TRANSPORT), 0);
	assert_int_equal(ila_locator_parse("2001:0:0:a", &m.loc, NULL, 0), 0);
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);

	cap = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IPV6));
	assert_true(cap >= 0);
	ll.sll_ifindex = (int)if_nametoindex("v1");
	assert_int_equal(bind(cap, (struct sockaddr *)&ll, sizeof(ll)), 0);
	assert_int_equal(setsockopt(cap, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	udp = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_true(udp >= 0);

	/* translated, rerouted toward the locator, with a valid checksum */
	assert_int_equal(send_and_capture(udp, cap, "2001:db8:1::42", &got), 0);
	assert_memory_equal(got.b + ETH_HLEN + 24, &want, 16);
	assert_int_equal(csum_check(&got), 0);
	assert_int_equal(kbpf_mapping_counters(env->k, 1, &m.addr, &c), 0);
	assert_int_equal(c.packets, 1);
	assert_int_equal(c.bytes, got.len - ETH_HLEN);

	/* a miss goes on along the SIR prefix's route, unchanged */
	assert_int_equal(send_and_capture(udp, cap, "2001:db8:1::99", &got), 0);
	want = addr6("2001:db8:1::99");
	assert_memory_equal(got.b + ETH_HLEN + 24, &want, 16);
	assert_int_equal(csum_check(&got), 0);

	/* DOWN: nothing leaves */
	down0 = global(env->k, ILA_BPF_OUT_DOWN);
	m.state = KBPF_DOWN;
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);
	assert_int_equal(send_and_capture(udp, cap, "2001:db8:1::42", &got), -1);
	assert_int_equal(global(env->k, ILA_BPF_OUT_DOWN), down0 + 1);

	/* checksum offload on: the skb is CHECKSUM_PARTIAL and its UDP field
	 * holds the pseudo-header sum, which must now be the ILA address's */
	m.state = KBPF_UP;
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);
	assert_int_equal(sh("ethtool -K v0 tx on >/dev/null 2>&1"), 0);
	assert_int_equal(send_and_capture(udp, cap, "2001:db8:1::42", &got), 0);
	want = addr6("2001:0:0:a::42");
	assert_memory_equal(got.b + ETH_HLEN + 24, &want, 16);
	{
		uint8_t tail[8] = { 0 };
		uint32_t sum;
		size_t l4len = got.len - ETH_HLEN - IP6_HLEN;

		tail[2] = (uint8_t)(l4len >> 8);
		tail[3] = (uint8_t)l4len;
		tail[7] = 17;
		sum = ila_csum_partial(got.b + ETH_HLEN + 8, 32, 0);
		sum = ila_csum_partial(tail, sizeof(tail), sum);
		assert_int_equal(get16(got.b + got.csum), ila_csum_fold(sum));
	}

	close(udp);
	close(cap);
	kernel_batch_begin(kn);
	assert_int_equal(kernel_route_delete(kn, &r), 0);
	assert_int_equal(kernel_batch_commit(kn, on_route_error, NULL), 0);
	found.n = 0;
	assert_true(kernel_route_dump(kn, AF_INET6, 0, on_route, &found) >= 0);
	assert_int_equal(found.n, 0);
	kernel_close(kn);
	assert_int_equal(kbpf_mapping_del(env->k, 1, &m.addr), 0);
	assert_int_equal(kbpf_prefix_del(env->k, &prefix, 64), 0);
}

/* ---- IPv4 over the fabric: ila_in takes it out of IPv6 ---- */

#define IP4_HLEN 20
#define SRH_LEN 24 /* one segment */

static const uint8_t v4_src[4] = { 198, 51, 100, 7 }, v4_dst[4] = { 192, 0, 2, 42 };

/* IPv4 + UDP (to dst port 9) with paylen bytes of data and valid
 * checksums. */
static size_t build4(uint8_t *b, const uint8_t *dst, size_t paylen)
{
	size_t len = IP4_HLEN + 8 + paylen, i;

	memset(b, 0, len);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)len);
	put16(b + 4, 0x1234);
	b[8] = 63;
	b[9] = 17;
	memcpy(b + 12, v4_src, 4);
	memcpy(b + 16, dst, 4);
	put16(b + 10, (uint16_t)~ila_csum_fold(ila_csum_partial(b, IP4_HLEN, 0)));
	put16(b + IP4_HLEN, 40000);
	put16(b + IP4_HLEN + 2, 9);
	put16(b + IP4_HLEN + 4, (uint16_t)(8 + paylen));
	for (i = 0; i < paylen; i++)
		b[IP4_HLEN + 8 + i] = (uint8_t)(i * 3 + 1);
	return len;
}

/* Ethernet + IPv6 to dst (next header nexthdr) + [an SRH with segments left
 * sl, when sl >= 0] + inner. */
static void build_outer(struct pkt *p, const struct in6_addr *dst, uint8_t nexthdr, int sl,
			const uint8_t *inner, size_t ilen)
{
	struct in6_addr src = addr6(src_text);
	size_t off = ETH_HLEN + IP6_HLEN;
	uint8_t *b = p->b;

	memset(p, 0, sizeof(*p));
	memcpy(b, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x86\xdd", ETH_HLEN);
	b[ETH_HLEN] = 0x60;
	b[ETH_HLEN + 6] = sl >= 0 ? 43 : nexthdr;
	b[ETH_HLEN + 7] = 64;
	memcpy(b + ETH_HLEN + 8, &src, 16);
	memcpy(b + ETH_HLEN + 24, dst, 16);
	if (sl >= 0) {
		b[off] = nexthdr;
		b[off + 1] = 2; /* 16 bytes past the first 8 */
		b[off + 2] = 4; /* segment routing */
		b[off + 3] = (uint8_t)sl;
		memcpy(b + off + 8, dst, 16);
		off += SRH_LEN;
	}
	memcpy(b + off, inner, ilen);
	put16(b + ETH_HLEN + 4, (uint16_t)(off + ilen - ETH_HLEN - IP6_HLEN));
	p->len = off + ilen;
}

/* BPF_PROG_TEST_RUN whose output may differ in length from its input. */
static int run_len(int prog, const struct pkt *in, struct pkt *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	memset(out, 0, sizeof(*out));
	o.data_in = in->b;
	o.data_size_in = (__u32)in->len;
	o.data_out = out->b;
	o.data_size_out = sizeof(out->b);
	o.repeat = 1;
	assert_int_equal(bpf_prog_test_run_opts(prog, &o), 0);
	out->len = o.data_size_out;
	return (int)o.retval;
}

static void test_decap4(void **state)
{
	struct env *env = *state;
	struct ila_locator loc;
	struct ila_sir_prefix sir;
	struct in6_addr dst = addr6("2001:db8:ff:1::c000:22a"),
			other = addr6("2001:db8:99:1::c000:22a"),
			not_v4 = addr6("2001:db8:ff:1:0:1:c000:22a");
	struct in6_addr src = addr6(src_text), sirp = addr6("2001:db8:77::");
	struct in_addr p4 = { .s_addr = htonl(0xc0000200) }, other4 = { .s_addr = htonl(0xc6336400) };
	static const struct {
		const char *dst;     /* the outer destination */
		uint8_t inner[4];    /* the IPv4 packet's */
	} refused[] = {
		{ "2001:db8:ff:1::c000:22a", { 192, 0, 2, 43 } },	    /* not the identifier's */
		{ "2001:db8:ff:1::cb00:7105", { 203, 0, 113, 5 } },  /* in no IPv4 prefix */
		{ "2001:db8:ff:1::c633:6409", { 198, 51, 100, 9 } }, /* another vn's */
	};
	uint8_t inner[128], inner6[60];
	size_t ilen = build4(inner, v4_dst, 40);
	uint64_t refused0 = global(env->k, ILA_BPF_IN4_REFUSED);
	size_t i;
	uint64_t dec0 = global(env->k, ILA_BPF_IN4_DECAPSULATED);
	uint64_t passed0 = global(env->k, ILA_BPF_IN_PASSED);
	uint64_t xl0 = global(env->k, ILA_BPF_IN_TRANSLATED);
	struct pkt in, out;
	int sl;

	assert_int_equal(ila_locator_parse("2001:db8:ff:1", &loc, NULL, 0), 0);
	assert_int_equal(ila_locator_parse("2001:db8:77:0", &sir.loc, NULL, 0), 0);
	assert_int_equal(kbpf_locator_set(env->k, &loc, &sir, ILA_CSUM_NO_ACTION), 0);
	/* the locator's vn 5 has 192.0.2.0/24; vn 6 has 198.51.100.0/24 */
	assert_int_equal(kbpf_prefix_set(env->k, &sirp, 64, 5, ILA_CSUM_NO_ACTION), 0);
	assert_int_equal(kbpf_v4prefix_set(env->k, &p4, 24, 5, &src), 0);
	assert_int_equal(kbpf_v4prefix_set(env->k, &other4, 24, 6, &src), 0);

	/* IPv6/IPIP, and IPv6/SRH(segments left 0)/IPv4: the IPv4 packet as it
	 * was, after the same Ethernet header but for its type */
	for (sl = -1; sl <= 0; sl++) {
		build_outer(&in, &dst, 4, sl, inner, ilen);
		assert_int_equal(run_len(kbpf_in_fd(env->k), &in, &out), TC_ACT_OK);
		assert_int_equal(out.len, ETH_HLEN + ilen);
		assert_memory_equal(out.b, in.b, 12);
		assert_int_equal(get16(out.b + 12), 0x0800);
		assert_memory_equal(out.b + ETH_HLEN, inner, ilen);
	}
	assert_int_equal(global(env->k, ILA_BPF_IN4_DECAPSULATED), dec0 + 2);

	/* segments left: not the end of its path, not taken out (the
	 * locator's ILA translation applies, as to any packet to it) */
	build_outer(&in, &dst, 4, 1, inner, ilen);
	assert_int_equal(run_len(kbpf_in_fd(env->k), &in, &out), TC_ACT_OK);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.b + ETH_HLEN + IP6_HLEN, in.b + ETH_HLEN + IP6_HLEN,
			    in.len - ETH_HLEN - IP6_HLEN);
	/* an identifier not of the IPv4 form */
	build_outer(&in, &not_v4, 4, -1, inner, ilen);
	assert_int_equal(run_len(kbpf_in_fd(env->k), &in, &out), TC_ACT_OK);
	assert_int_equal(out.len, in.len);
	/* next header 4 but no IPv4 inside */
	memset(inner6, 0, sizeof(inner6));
	inner6[0] = 0x60;
	build_outer(&in, &dst, 4, -1, inner6, sizeof(inner6));
	assert_int_equal(run_len(kbpf_in_fd(env->k), &in, &out), TC_ACT_OK);
	assert_int_equal(out.len, in.len);
	assert_int_equal(global(env->k, ILA_BPF_IN4_DECAPSULATED), dec0 + 2);
	assert_int_equal(global(env->k, ILA_BPF_IN_TRANSLATED), xl0 + 3);

	/* IPv4 for another address than the identifier's, or outside the
	 * locator's vn: dropped and counted, neither delivered nor translated */
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct in6_addr d = addr6(refused[i].dst);

		ilen = build4(inner, refused[i].inner, 40);
		build_outer(&in, &d, 4, (int)i % 2 - 1, inner, ilen);
		assert_int_equal(run_len(kbpf_in_fd(env->k), &in, &out), TC_ACT_SHOT);
	}
	assert_int_equal(global(env->k, ILA_BPF_IN4_REFUSED), refused0 + 3);
	assert_int_equal(global(env->k, ILA_BPF_IN_TRANSLATED), xl0 + 3);
	ilen = build4(inner, v4_dst, 40);

	/* not one of our locators: passes as it came */
	build_outer(&in, &other, 4, -1, inner, ilen);
	assert_int_equal(run_len(kbpf_in_fd(env->k), &in, &out), TC_ACT_OK);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.b, in.b, in.len);
	assert_int_equal(global(env->k, ILA_BPF_IN_PASSED), passed0 + 1);
	assert_int_equal(global(env->k, ILA_BPF_IN4_DECAPSULATED), dec0 + 2);
	assert_int_equal(kbpf_locator_del(env->k, &loc), 0);
	assert_int_equal(kbpf_prefix_del(env->k, &sirp, 64), 0);
	assert_int_equal(kbpf_v4prefix_del(env->k, &p4, 24), 0);
	assert_int_equal(kbpf_v4prefix_del(env->k, &other4, 24), 0);
}

/* ---- ila_out4 on a real IPv4 route: packets sent through veth ---- */

/* Sends a UDP datagram to dst port 9 and returns, from the IPv6 or IPv4
 * header on, what v1 received of it (0), or -1 when nothing came within a
 * second. */
static int send4_and_capture(int udp, int cap, const char *dst, struct pkt *got)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	static const char msg[] = "through ila_out4";

	assert_int_equal(inet_pton(AF_INET, dst, &to.sin_addr), 1);
	(void)sendto(udp, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to));
	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		memset(got, 0, sizeof(*got));
		n = recvfrom(cap, got->b, sizeof(got->b), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return -1;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (ntohs(from.sll_protocol) == ETH_P_IPV6 && n >= IP6_HLEN + IP4_HLEN + 8 &&
		    got->b[6] == 4 && get16(got->b + IP6_HLEN + IP4_HLEN + 2) == 9) {
			got->len = (size_t)n;
			return 0;
		}
		if (ntohs(from.sll_protocol) == ETH_P_IP && n >= IP4_HLEN + 8 && got->b[9] == 17 &&
		    get16(got->b + IP4_HLEN + 2) == 9) {
			got->len = (size_t)n;
			return 0;
		}
	}
}

static void test_lwt_route4(void **state)
{
	struct env *env = *state;
	struct kroute r = { .family = AF_INET, .dst_len = 24, .kind = KROUTE_BPF };
	struct kbpf_mapping m = { .vn = 1, .addr = addr6("::ffff:192.0.2.42"), .state = KBPF_UP };
	struct in6_addr src = addr6("2001:db8:f::1"), want = addr6("2001:0:0:a::c000:22a"),
			miss_addr = addr6("::ffff:192.0.2.99");
	struct in_addr prefix = { .s_addr = htonl(0xc0000200) };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct timeval tv = { .tv_sec = 1 };
	struct misses seen = { 0 };
	struct kbpf_counters c;
	struct kernel *kn = NULL;
	char err[KERNEL_ERRMSG_LEN];
	uint64_t enc0, miss0, down0;
	struct pkt got, inner;
	size_t ilen;
	int udp, cap;

	if (unshare(CLONE_NEWNET) < 0)
		skip();
	/* v0 is the uplink; the locator 2001:0:0:a is reached through a
	 * neighbour on it; a miss leaves by v0 on-link; v1 captures */
	assert_int_equal(sh("ip link set lo up && ip link add v0 type veth peer name v1 && "
			    "ip link set v0 up && ip link set v1 up && "
			    "ethtool -K v0 tx off >/dev/null 2>&1 && "
			    "ip addr add 198.51.100.1/32 dev lo && "
			    "ip -6 addr add 2001:db8:f::1/64 dev v0 nodad && "
			    "ip -6 neigh replace 2001:db8:f::2 lladdr 02:00:00:00:00:02 dev v0 nud permanent && "
			    "ip neigh replace 192.0.2.99 lladdr 02:00:00:00:00:03 dev v0 nud permanent && "
			    "ip -6 route add 2001:0:0:a::/64 via 2001:db8:f::2 dev v0"), 0);
	assert_int_equal(kernel_open(&kn, KERNEL_ROUTE_PROTOCOL_DEFAULT, err, sizeof(err)), 0);
	r.dst.v4 = prefix;
	r.oif = (int)if_nametoindex("v0");
	r.bpf_fd = kbpf_out4_fd(env->k);
	kernel_batch_begin(kn);
	assert_int_equal(kernel_route_replace(kn, &r), 0);
	assert_int_equal(kernel_batch_commit(kn, on_route_error, NULL), 0);
	assert_int_equal(sh("ip route show 192.0.2.0/24 | grep -q 'encap bpf xmit ila_out4'"), 0);

	assert_int_equal(kbpf_v4prefix_set(env->k, &prefix, 24, 1, &src), 0);
	assert_int_equal(ila_locator_parse("2001:0:0:a", &m.loc, NULL, 0), 0);
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);

	cap = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	assert_true(cap >= 0);
	ll.sll_ifindex = (int)if_nametoindex("v1");
	assert_int_equal(bind(cap, (struct sockaddr *)&ll, sizeof(ll)), 0);
	assert_int_equal(setsockopt(cap, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(udp >= 0);

	/* inside IPv6 to the locator: every field of the outer header */
	enc0 = global(env->k, ILA_BPF_OUT4_ENCAPSULATED);
	assert_int_equal(send4_and_capture(udp, cap, "192.0.2.42", &got), 0);
	assert_int_equal(got.b[0], 0x60);
	assert_int_equal(got.b[1] | got.b[2] | got.b[3], 0);
	assert_int_equal(get16(got.b + 4), got.len - IP6_HLEN);
	assert_int_equal(got.b[6], 4);
	assert_int_equal(got.b[7], 64);
	assert_memory_equal(got.b + 8, &src, 16);
	assert_memory_equal(got.b + 24, &want, 16);
	/* and inside it the IPv4 packet as it was sent */
	ilen = got.len - IP6_HLEN;
	memcpy(inner.b, got.b + IP6_HLEN, ilen);
	assert_int_equal(inner.b[0], 0x45);
	assert_int_equal(get16(inner.b + 2), ilen);
	assert_int_equal(ila_csum_fold(ila_csum_partial(inner.b, IP4_HLEN, 0)), 0xffff);
	assert_memory_equal(inner.b + 12, "\xc6\x33\x64\x01\xc0\x00\x02\x2a", 8);
	assert_memory_equal(inner.b + IP4_HLEN + 8, "through ila_out4", 17);
	assert_int_equal(global(env->k, ILA_BPF_OUT4_ENCAPSULATED), enc0 + 1);
	assert_int_equal(kbpf_mapping_counters(env->k, 1, &m.addr, &c), 0);
	assert_int_equal(c.packets, 1);
	assert_int_equal(c.bytes, ilen);

	/* a miss goes on along the prefix's route, unchanged, and is told */
	miss0 = global(env->k, ILA_BPF_OUT4_MISS);
	kbpf_miss_drain(env->k, on_miss, &seen);
	seen.n = 0;
	assert_int_equal(send4_and_capture(udp, cap, "192.0.2.99", &got), 0);
	assert_int_equal(got.b[0], 0x45);
	assert_int_equal(got.len, ilen);
	assert_memory_equal(got.b + 16, "\xc0\x00\x02\x63", 4);
	assert_int_equal(global(env->k, ILA_BPF_OUT4_MISS), miss0 + 1);
	assert_int_equal(kbpf_miss_drain(env->k, on_miss, &seen), 1);
	assert_int_equal(seen.vn, 1);
	assert_memory_equal(&seen.addr, &miss_addr, 16);
	/* the same bytes as the encapsulated packet but for the address, the
	 * IP identification and the header checksum */
	assert_memory_equal(got.b, inner.b, 4);
	assert_memory_equal(got.b + 6, inner.b + 6, 4);
	assert_memory_equal(got.b + 12, inner.b + 12, 4);
	assert_memory_equal(got.b + IP4_HLEN, inner.b + IP4_HLEN, 4); /* ports */
	assert_memory_equal(got.b + IP4_HLEN + 8, inner.b + IP4_HLEN + 8, ilen - IP4_HLEN - 8);

	/* DOWN: nothing leaves, counted */
	down0 = global(env->k, ILA_BPF_OUT4_DOWN);
	m.state = KBPF_DOWN;
	assert_int_equal(kbpf_mapping_set(env->k, &m), 0);
	assert_int_equal(send4_and_capture(udp, cap, "192.0.2.42", &got), -1);
	assert_int_equal(global(env->k, ILA_BPF_OUT4_DOWN), down0 + 1);
	assert_int_equal(kbpf_mapping_counters(env->k, 1, &m.addr, &c), 0);
	assert_int_equal(c.packets, 2);

	close(udp);
	close(cap);
	kernel_batch_begin(kn);
	assert_int_equal(kernel_route_delete(kn, &r), 0);
	assert_int_equal(kernel_batch_commit(kn, on_route_error, NULL), 0);
	kernel_close(kn);
	assert_int_equal(kbpf_mapping_del(env->k, 1, &m.addr), 0);
	assert_int_equal(kbpf_v4prefix_del(env->k, &prefix, 24), 0);
}

static int bpf_usable(void)
{
	if (geteuid() != 0)
		return 0;
	return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL) == 1 &&
	       libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_LWT_XMIT, NULL) == 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_miss_passes_unchanged),
		cmocka_unit_test(test_down_drops_and_counters_count),
		cmocka_unit_test(test_udp_zero_checksum),
		cmocka_unit_test(test_batch_100k),
		cmocka_unit_test(test_tc_attach_detach),
		cmocka_unit_test(test_lwt_route),
		cmocka_unit_test(test_decap4),
		cmocka_unit_test(test_lwt_route4),
	};

	if (!bpf_usable()) {
		printf("1..1\nok 1 # SKIP the BPF data path needs root and a kernel with BPF\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
