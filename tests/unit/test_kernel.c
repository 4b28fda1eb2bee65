/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad's netlink layer against the running kernel, in a network namespace
 * of the test's own (unshare(CLONE_NEWNET) at start: the host's tables are
 * never touched). iproute2 is the independent reader of what was written.
 * Message encodings are checked byte by byte against messages derived by
 * hand from the uapi layouts (and equal, but for seq and padding, to what
 * iproute2 6.1 sends for the same command, captured with strace -xx).
 *
 * Whether the kernel has ILA is decided by iproute2 (an `encap ila` route
 * in a scratch table), and the ILA cases assert the matching outcome: the
 * refusal on the build machines, success on a kernel with ILA.
 * Needs root; skipped otherwise.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "routing/kernel.h"
#include "util.h"

#define PROTO 73
#define MAX_FAILS 64

struct env {
	int v0;       /* ifindex of veth v0 (peer v1), both up */
	bool has_ila; /* iproute2 could add an encap ila route */
	struct kernel *k;
};

struct fails {
	size_t n;
	size_t idx[MAX_FAILS];
	int err[MAX_FAILS];
	bool del[MAX_FAILS];
	char msg[MAX_FAILS][KERNEL_ERRMSG_LEN];
};

struct routes {
	struct kroute *r;
	size_t n, cap;
};

static int run(const char *fmt, ...) ILA_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 ? -1 : WEXITSTATUS(st);
}

/* Lines printed by a shell command. */
static int count_lines(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char line[512];
	int n = 0;

	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		n++;
	assert_int_equal(pclose(p), 0);
	return n;
}

static void collect_fail(void *arg, size_t index, const struct kroute *r, bool del, int err,
			 const char *msg)
{
	struct fails *f = arg;

	assert_non_null(r);
	if (f->n < MAX_FAILS) {
		f->idx[f->n] = index;
		f->err[f->n] = err;
		f->del[f->n] = del;
		snprintf(f->msg[f->n], KERNEL_ERRMSG_LEN, "%s", msg);
	}
	f->n++;
}

static int collect_route(void *arg, const struct kroute *r)
{
	struct routes *rs = arg;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
		assert_non_null(rs->r);
	}
	rs->r[rs->n++] = *r;
	return 0;
}

static int route_cmp(const void *a, const void *b)
{
	const struct kroute *x = a, *y = b;
	int c = memcmp(x->dst.b, y->dst.b, 16);

	if (c)
		return c;
	return x->table < y->table ? -1 : x->table > y->table;
}

static void dump(struct kernel *k, int family, uint32_t table, struct routes *out)
{
	int n;

	out->n = 0;
	n = kernel_route_dump(k, family, table, collect_route, out);
	assert_true(n >= 0);
	assert_int_equal((size_t)n, out->n);
	if (out->n)
		qsort(out->r, out->n, sizeof(*out->r), route_cmp);
}

/* 2001:db8:SUB::i/128 */
static struct kroute v6(unsigned int sub, unsigned int i, uint8_t kind, int oif)
{
	struct kroute r = { .family = AF_INET6, .dst_len = 128, .kind = kind, .oif = oif };

	r.dst.b[0] = 0x20;
	r.dst.b[1] = 0x01;
	r.dst.b[2] = 0x0d;
	r.dst.b[3] = 0xb8;
	r.dst.b[4] = (uint8_t)(sub >> 8);
	r.dst.b[5] = (uint8_t)sub;
	r.dst.b[13] = (uint8_t)(i >> 16);
	r.dst.b[14] = (uint8_t)(i >> 8);
	r.dst.b[15] = (uint8_t)i;
	r.hook_type = KROUTE_HOOK_UNSET;
	return r;
}

/* 10.SUB.x.y/32 */
static struct kroute v4(unsigned int sub, unsigned int i, uint8_t kind, int oif)
{
	struct kroute r = { .family = AF_INET, .dst_len = 32, .kind = kind, .oif = oif };

	r.dst.b[0] = 10;
	r.dst.b[1] = (uint8_t)sub;
	r.dst.b[2] = (uint8_t)(i >> 8);
	r.dst.b[3] = (uint8_t)i;
	return r;
}

static void commit_ok(struct kernel *k)
{
	struct fails f = { 0 };

	assert_int_equal(kernel_batch_commit(k, collect_fail, &f), 0);
	assert_int_equal(f.n, 0);
}

static int setup(void **state)
{
	struct env *e = *state;
	char err[256] = "";

	/* Each case starts from no route of ours, whatever the last one left. */
	run("ip -6 route flush table all proto %d 2>/dev/null; "
	    "ip -4 route flush table all proto %d 2>/dev/null", PROTO, PROTO);
	assert_int_equal(kernel_open(&e->k, PROTO, err, sizeof(err)), 0);
	assert_int_equal(kernel_proto(e->k), PROTO);
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	kernel_close(e->k);
	e->k = NULL;
	return 0;
}

/* ---- encodings ---- */

/*
 * `ip -6 route replace 2001:db8:1::41/128 encap ila 2001:0:0:a csum-mode
 * neutral-map ident-type luid hook-type input dev v0 proto 73` with v0 = 3,
 * from the layouts of linux/netlink.h, rtnetlink.h, lwtunnel.h and ila.h.
 */
static void test_golden_ila_route(void **state)
{
	static const uint8_t want[] = {
		/* nlmsghdr: len 104, RTM_NEWROUTE 24, REQUEST|ACK|REPLACE|CREATE
		 * 0x0505, seq 0x01020304, pid 0 */
		0x68, 0x00, 0x00, 0x00, 0x18, 0x00, 0x05, 0x05,
		0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00,
		/* rtmsg: AF_INET6 10, /128, src 0, tos 0, main 254, proto 73,
		 * universe 0, RTN_UNICAST 1, flags 0 */
		0x0a, 0x80, 0x00, 0x00, 0xfe, 0x49, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00,
		/* RTA_DST 1, len 20: 2001:db8:1::41 */
		0x14, 0x00, 0x01, 0x00,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41,
		/* RTA_ENCAP 22 | NLA_F_NESTED, len 40 */
		0x28, 0x00, 0x16, 0x80,
		/* ILA_ATTR_LOCATOR 1, len 12: 2001:0:0:a as 8 bytes in order */
		0x0c, 0x00, 0x01, 0x00,
		0x20, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,
		/* ILA_ATTR_CSUM_MODE 7, len 5: NEUTRAL_MAP 1, 3 bytes pad */
		0x05, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00,
		/* ILA_ATTR_IDENT_TYPE 8, len 5: LUID 1 */
		0x05, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00,
		/* ILA_ATTR_HOOK_TYPE 9, len 5: ROUTE_INPUT 1 */
		0x05, 0x00, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00,
		/* RTA_ENCAP_TYPE 21, len 6: LWTUNNEL_ENCAP_ILA 3, 2 bytes pad */
		0x06, 0x00, 0x15, 0x00, 0x03, 0x00, 0x00, 0x00,
		/* RTA_OIF 4, len 8: 3 */
		0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00,
	};
	struct kroute r = v6(1, 0x41, KROUTE_ILA, 3);
	uint8_t buf[KERNEL_ROUTE_MSG_MAX];
	int len;

	(void)state;
	r.dst.b[4] = 0x00; /* 2001:db8:1::41 */
	r.dst.b[5] = 0x01;
	memcpy(r.locator.b, "\x20\x01\x00\x00\x00\x00\x00\x0a", 8);
	r.csum_mode = ILA_CSUM_NEUTRAL_MAP;
	r.ident_type = ILA_IDENT_LUID;
	r.hook_type = KROUTE_HOOK_INPUT;
	memset(buf, 0xee, sizeof(buf));
	len = kernel_route_build(buf, sizeof(buf), &r, false, PROTO, 0x01020304, 0x0004);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* Without a hook type the attribute is left out: 8 bytes fewer. */
	r.hook_type = KROUTE_HOOK_UNSET;
	len = kernel_route_build(buf, sizeof(buf), &r, false, PROTO, 0x01020304, 0x0004);
	assert_int_equal(len, sizeof(want) - 8);
	assert_int_equal(buf[0], sizeof(want) - 8);
	assert_int_equal(buf[12 + 16 + 20], 0x20); /* nest length 40 - 8 */
}

/*
 * `ip -6 route replace 2001:db8:1::/64 encap bpf xmit fd 9 dev v0 proto 73`
 * (the BPF data path's ila_out, doc/bpf.md) with v0 = 3, from linux/lwtunnel.h.
 */
static void test_golden_bpf_route(void **state)
{
	static const uint8_t want[] = {
		/* nlmsghdr: len 92, RTM_NEWROUTE 24, REQUEST|ACK|REPLACE|CREATE */
		0x5c, 0x00, 0x00, 0x00, 0x18, 0x00, 0x05, 0x05,
		0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00,
		/* rtmsg: AF_INET6, /64, main, proto 73, universe, RTN_UNICAST */
		0x0a, 0x40, 0x00, 0x00, 0xfe, 0x49, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00,
		/* RTA_DST 1, len 20: 2001:db8:1:: */
		0x14, 0x00, 0x01, 0x00,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* RTA_ENCAP 22 | NLA_F_NESTED, len 28 */
		0x1c, 0x00, 0x16, 0x80,
		/* LWT_BPF_XMIT 3 | NLA_F_NESTED, len 24 */
		0x18, 0x00, 0x03, 0x80,
		/* LWT_BPF_PROG_FD 1, len 8: 9 */
		0x08, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00,
		/* LWT_BPF_PROG_NAME 2, len 12: "ila_out" */
		0x0c, 0x00, 0x02, 0x00, 'i', 'l', 'a', '_', 'o', 'u', 't', 0x00,
		/* RTA_ENCAP_TYPE 21, len 6: LWTUNNEL_ENCAP_BPF 6, 2 bytes pad */
		0x06, 0x00, 0x15, 0x00, 0x06, 0x00, 0x00, 0x00,
		/* RTA_OIF 4, len 8: 3 */
		0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00,
	};
	struct kroute r = v6(1, 0, KROUTE_BPF, 3);
	uint8_t buf[KERNEL_ROUTE_MSG_MAX];
	char text[128];
	int len;

	(void)state;
	r.dst_len = 64;
	r.bpf_fd = 9;
	memset(buf, 0xee, sizeof(buf));
	len = kernel_route_build(buf, sizeof(buf), &r, false, PROTO, 0x01020304, 0x0004);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_string_equal(kroute_format(&r, text, sizeof(text)),
			    "2001:db8:1::/64 encap bpf xmit ila_out oif 3 table 254");
	/* no program, or nowhere to send: refused */
	r.bpf_fd = 0;
	assert_int_equal(kernel_route_build(buf, sizeof(buf), &r, false, PROTO, 1, 0), -EINVAL);
	r.bpf_fd = 9;
	r.oif = 0;
	assert_int_equal(kernel_route_build(buf, sizeof(buf), &r, false, PROTO, 1, 0), -EINVAL);
}

/*
 * `ip route replace 10.1.0.0/24 encap bpf xmit fd 9 headroom 40 dev v0
 * proto 73` (the BPF data path's ila_out4 on an IPv4 SIR prefix, with room
 * for the IPv6 header it adds), v0 = 3.
 */
static void test_golden_bpf_route4(void **state)
{
	static const uint8_t want[] = {
		/* nlmsghdr: len 92, RTM_NEWROUTE 24, REQUEST|ACK|REPLACE|CREATE */
		0x5c, 0x00, 0x00, 0x00, 0x18, 0x00, 0x05, 0x05,
		0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00,
		/* rtmsg: AF_INET, /24, main, proto 73, RT_SCOPE_LINK (no
		 * gateway), RTN_UNICAST */
		0x02, 0x18, 0x00, 0x00, 0xfe, 0x49, 0xfd, 0x01,
		0x00, 0x00, 0x00, 0x00,
		/* RTA_DST 1, len 8: 10.1.0.0 */
		0x08, 0x00, 0x01, 0x00, 0x0a, 0x01, 0x00, 0x00,
		/* RTA_ENCAP 22 | NLA_F_NESTED, len 40 */
		0x28, 0x00, 0x16, 0x80,
		/* LWT_BPF_XMIT 3 | NLA_F_NESTED, len 28 */
		0x1c, 0x00, 0x03, 0x80,
		/* LWT_BPF_PROG_FD 1, len 8: 9 */
		0x08, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00,
		/* LWT_BPF_PROG_NAME 2, len 13: "ila_out4", 3 bytes pad */
		0x0d, 0x00, 0x02, 0x00, 'i', 'l', 'a', '_', 'o', 'u', 't', '4', 0x00,
		0x00, 0x00, 0x00,
		/* LWT_BPF_XMIT_HEADROOM 4, len 8: 40 */
		0x08, 0x00, 0x04, 0x00, 0x28, 0x00, 0x00, 0x00,
		/* RTA_ENCAP_TYPE 21, len 6: LWTUNNEL_ENCAP_BPF 6, 2 bytes pad */
		0x06, 0x00, 0x15, 0x00, 0x06, 0x00, 0x00, 0x00,
		/* RTA_OIF 4, len 8: 3 */
		0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00,
	};
	struct kroute r = v4(1, 0, KROUTE_BPF, 3);
	uint8_t buf[KERNEL_ROUTE_MSG_MAX];
	char text[128];
	int len;

	(void)state;
	r.dst_len = 24;
	r.bpf_fd = 9;
	r.bpf_headroom = 40;
	memset(buf, 0xee, sizeof(buf));
	len = kernel_route_build(buf, sizeof(buf), &r, false, PROTO, 0x01020304, 0x0004);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_string_equal(kroute_format(&r, text, sizeof(text)),
			    "10.1.0.0/24 encap bpf xmit ila_out4 oif 3 table 254");
}

/* `ip route replace 10.1.2.0/24 dev v0 table 1000 proto 73`, v0 = 3. */
static void test_golden_v4_table_route(void **state)
{
	static const uint8_t want[] = {
		/* len 52, RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE, seq 7 */
		0x34, 0x00, 0x00, 0x00, 0x18, 0x00, 0x05, 0x05,
		0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* AF_INET 2, /24, table RT_TABLE_UNSPEC (1000 > 255), proto 73,
		 * RT_SCOPE_LINK 253 (no gateway), RTN_UNICAST */
		0x02, 0x18, 0x00, 0x00, 0x00, 0x49, 0xfd, 0x01,
		0x00, 0x00, 0x00, 0x00,
		/* RTA_DST 10.1.2.0 */
		0x08, 0x00, 0x01, 0x00, 0x0a, 0x01, 0x02, 0x00,
		/* RTA_TABLE 15: 1000 */
		0x08, 0x00, 0x0f, 0x00, 0xe8, 0x03, 0x00, 0x00,
		/* RTA_OIF 3 */
		0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00,
	};
	static const uint8_t want_del[] = {
		/* `ip route del 10.1.2.0/24 table 1000 proto 73`: len 44,
		 * RTM_DELROUTE 25, REQUEST|ACK, seq 7 */
		0x2c, 0x00, 0x00, 0x00, 0x19, 0x00, 0x05, 0x00,
		0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* RT_SCOPE_NOWHERE 255, RTN_UNSPEC 0: any route of ours */
		0x02, 0x18, 0x00, 0x00, 0x00, 0x49, 0xff, 0x00,
		0x00, 0x00, 0x00, 0x00,
		0x08, 0x00, 0x01, 0x00, 0x0a, 0x01, 0x02, 0x00,
		0x08, 0x00, 0x0f, 0x00, 0xe8, 0x03, 0x00, 0x00,
	};
	struct kroute r = { .family = AF_INET, .dst_len = 24, .kind = KROUTE_DEV, .oif = 3 };
	uint8_t buf[KERNEL_ROUTE_MSG_MAX];

	(void)state;
	r.table = 1000;
	memcpy(r.dst.b, "\x0a\x01\x02\x00", 4);
	assert_int_equal(kernel_route_build(buf, sizeof(buf), &r, false, PROTO, 7, 0x0004),
			 sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(kernel_route_build(buf, sizeof(buf), &r, true, PROTO, 7, 0x0004),
			 sizeof(want_del));
	assert_memory_equal(buf, want_del, sizeof(want_del));
}

/* ILA_CMD_ADD loc_match 2001:0:0:a loc 2001:db8:1:0 csum-mode neutral-map
 * ident-type luid, any interface, for a family id of 0x1234. */
static void test_golden_xlat_add(void **state)
{
	static const uint8_t want[] = {
		/* len 68, type = family id 0x1234, REQUEST|ACK, seq 9 */
		0x44, 0x00, 0x00, 0x00, 0x34, 0x12, 0x05, 0x00,
		0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* genlmsghdr: ILA_CMD_ADD 1, version 1, reserved */
		0x01, 0x01, 0x00, 0x00,
		/* ILA_ATTR_LOCATOR_MATCH 3 */
		0x0c, 0x00, 0x03, 0x00,
		0x20, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,
		/* ILA_ATTR_IFINDEX 4: 0 */
		0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* ILA_ATTR_LOCATOR 1 */
		0x0c, 0x00, 0x01, 0x00,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
		/* ILA_ATTR_CSUM_MODE 7, ILA_ATTR_IDENT_TYPE 8 */
		0x05, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00,
		0x05, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00,
	};
	struct kxlat x = { .csum_mode = ILA_CSUM_NEUTRAL_MAP, .ident_type = ILA_IDENT_LUID };
	uint8_t buf[KERNEL_ROUTE_MSG_MAX];

	(void)state;
	memcpy(x.loc_match.b, "\x20\x01\x00\x00\x00\x00\x00\x0a", 8);
	memcpy(x.loc.b, "\x20\x01\x0d\xb8\x00\x01\x00\x00", 8);
	assert_int_equal(kernel_xlat_build(buf, sizeof(buf), 0x1234, 1, &x, 9, 0x0004),
			 sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* DEL carries the key only: header, genl header, match, ifindex. */
	assert_int_equal(kernel_xlat_build(buf, sizeof(buf), 0x1234, 2, &x, 9, 0x0004),
			 16 + 4 + 12 + 8);
	assert_int_equal(buf[16], 2);
	assert_int_equal(kernel_xlat_build(buf, 16, 0x1234, 1, &x, 9, 0), -EMSGSIZE);
}

static void test_check_and_format(void **state)
{
	struct kroute r = v6(1, 0x41, KROUTE_ILA, 3);
	uint8_t buf[KERNEL_ROUTE_MSG_MAX];
	char s[KROUTE_STRLEN];

	(void)state;
	r.dst.b[4] = 0x00;
	r.dst.b[5] = 0x01;
	memcpy(r.locator.b, "\x20\x01\x00\x00\x00\x00\x00\x0a", 8);
	r.csum_mode = ILA_CSUM_NEUTRAL_MAP;
	r.ident_type = ILA_IDENT_LUID;
	r.hook_type = KROUTE_HOOK_INPUT;
	assert_int_equal(kroute_check(&r), 0);
	assert_string_equal(kroute_format(&r, s, sizeof(s)),
			    "2001:db8:1::41/128 encap ila 2001:0:0:a csum-mode neutral-map "
			    "ident-type luid hook-type input oif 3 table 254");
	r.hook_type = 7;
	assert_int_equal(kroute_check(&r), -EINVAL);
	r.hook_type = KROUTE_HOOK_UNSET;
	r.csum_mode = 4;
	assert_int_equal(kroute_check(&r), -EINVAL);
	r.csum_mode = ILA_CSUM_NO_ACTION;
	r.family = AF_INET; /* ILA is IPv6 only */
	assert_int_equal(kroute_check(&r), -EINVAL);

	r = v6(2, 1, KROUTE_DEV, 0); /* a device route with neither oif nor gateway */
	assert_int_equal(kroute_check(&r), -EINVAL);
	assert_int_equal(kernel_route_build(buf, sizeof(buf), &r, false, PROTO, 1, 0), -EINVAL);
	/* ... is still a valid key to delete */
	assert_true(kernel_route_build(buf, sizeof(buf), &r, true, PROTO, 1, 0) > 0);
	r.oif = 2;
	assert_int_equal(kroute_check(&r), 0);
	r.dst_len = 120; /* host bits set */
	assert_int_equal(kroute_check(&r), -EINVAL);
	r.dst.b[15] = 0;
	assert_int_equal(kroute_check(&r), 0);
	r.dst_len = 129;
	assert_int_equal(kroute_check(&r), -EINVAL);
	r = v4(1, 1, KROUTE_UNREACHABLE, 0);
	r.dst_len = 24;
	assert_int_equal(kroute_check(&r), -EINVAL);
	r.dst.b[3] = 0;
	assert_int_equal(kroute_check(&r), 0);
	assert_string_equal(kroute_format(&r, s, sizeof(s)), "unreachable 10.1.0.0/24 table 254");
	assert_int_equal(kernel_route_build(buf, 40, &r, false, PROTO, 1, 0), -EMSGSIZE);
	r.family = AF_UNSPEC;
	assert_int_equal(kroute_check(&r), -EINVAL);
}

static void test_same(void **state)
{
	struct kroute a = v6(1, 5, KROUTE_ILA, 0), b;

	(void)state;
	memcpy(a.locator.b, "\x00\x00\x00\x00\x00\x00\x00\x0a", 8);
	a.ident_type = ILA_IDENT_LUID;
	b = a;
	b.table = KERNEL_TABLE_MAIN; /* 0 means main */
	b.hook_type = KROUTE_HOOK_OUTPUT; /* unset means output */
	b.protocol = PROTO;
	assert_true(kroute_same(&a, &b));
	b.locator.b[7] = 0x0b;
	assert_false(kroute_same(&a, &b));
	b = a;
	b.csum_mode = ILA_CSUM_NEUTRAL_MAP;
	assert_false(kroute_same(&a, &b));
	b = a;
	b.hook_type = KROUTE_HOOK_INPUT;
	assert_false(kroute_same(&a, &b));
	b = a;
	b.kind = KROUTE_UNREACHABLE;
	assert_false(kroute_same(&a, &b));
	a = v6(1, 5, KROUTE_UNREACHABLE, 0);
	b = a;
	b.oif = 1; /* the kernel shows lo on unreachable routes: irrelevant */
	assert_true(kroute_same(&a, &b));
	b.table = 1000;
	assert_false(kroute_same(&a, &b));
}

/*
 * Two messages of a route dump as Debian's 6.1 kernel sends them (captured
 * with strace in the test VM, after `ip -6 route replace 2001:db8:1::41/128
 * encap ila 2001:0:0:a csum-mode neutral-map ident-type luid hook-type input
 * via fe80::1 dev v0 proto 73` and `... unreachable 2001:db8:2::1/128 proto
 * 73 table 1000`), with v0 = 3 and lo = 1. The kernel nests RTA_ENCAP
 * without NLA_F_NESTED and adds RTA_PRIORITY, RTA_CACHEINFO and RTA_PREF.
 */
static const uint8_t dump_ila[] = {
	0xb8, 0x00, 0x00, 0x00, 0x18, 0x00, 0x02, 0x20, /* len 184, NEWROUTE, MULTI|FILTERED */
	0x01, 0x00, 0x00, 0x00, 0x99, 0x00, 0x00, 0x00,
	0x0a, 0x80, 0x00, 0x00, 0xfe, 0x49, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x0f, 0x00, 0xfe, 0x00, 0x00, 0x00, /* RTA_TABLE 254 */
	0x14, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41, /* RTA_DST */
	0x08, 0x00, 0x06, 0x00, 0x00, 0x04, 0x00, 0x00, /* RTA_PRIORITY 1024 */
	0x14, 0x00, 0x05, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* RTA_GATEWAY fe80::1 */
	0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00, /* RTA_OIF 3 */
	0x28, 0x00, 0x16, 0x00,                         /* RTA_ENCAP */
	0x0c, 0x00, 0x01, 0x00, 0x20, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,
	0x05, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x06, 0x00, 0x15, 0x00, 0x03, 0x00, 0x00, 0x00, /* RTA_ENCAP_TYPE ILA */
	0x24, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* RTA_CACHEINFO */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, /* RTA_PREF */
};

static const uint8_t dump_unreachable[] = {
	0x74, 0x00, 0x00, 0x00, 0x18, 0x00, 0x02, 0x20, /* len 116 */
	0x01, 0x00, 0x00, 0x00, 0x99, 0x00, 0x00, 0x00,
	/* rtm_table RT_TABLE_COMPAT 252 (1000 does not fit), RTN_UNREACHABLE */
	0x0a, 0x80, 0x00, 0x00, 0xfc, 0x49, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x0f, 0x00, 0xe8, 0x03, 0x00, 0x00, /* RTA_TABLE 1000 */
	0x14, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x06, 0x00, 0x00, 0x04, 0x00, 0x00,
	0x08, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, /* RTA_OIF lo */
	0x24, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_parse_kernel_dump(void **state)
{
	struct kroute r, want = v6(1, 0x41, KROUTE_ILA, 3);
	uint8_t buf[sizeof(dump_ila)];
	char s[KROUTE_STRLEN];

	(void)state;
	want.dst.b[4] = 0x00;
	want.dst.b[5] = 0x01;
	inet_pton(AF_INET6, "fe80::1", &want.gateway.v6);
	memcpy(want.locator.b, "\x20\x01\x00\x00\x00\x00\x00\x0a", 8);
	want.csum_mode = ILA_CSUM_NEUTRAL_MAP;
	want.ident_type = ILA_IDENT_LUID;
	want.hook_type = KROUTE_HOOK_INPUT;

	assert_int_equal(kroute_parse(dump_ila, sizeof(dump_ila), PROTO, 0, &r), 1);
	assert_int_equal(r.kind, KROUTE_ILA);
	assert_int_equal(r.protocol, PROTO);
	assert_int_equal(r.table, KERNEL_TABLE_MAIN);
	assert_int_equal(r.oif, 3);
	assert_true(kroute_same(&want, &r));
	assert_string_equal(kroute_format(&r, s, sizeof(s)),
			    "2001:db8:1::41/128 encap ila 2001:0:0:a csum-mode neutral-map "
			    "ident-type luid hook-type input via fe80::1 oif 3 table 254");
	/* Filters: another protocol, another table, a truncated message. */
	assert_int_equal(kroute_parse(dump_ila, sizeof(dump_ila), 42, 0, &r), 0);
	assert_int_equal(kroute_parse(dump_ila, sizeof(dump_ila), PROTO, 1000, &r), 0);
	assert_int_equal(kroute_parse(dump_ila, sizeof(dump_ila) - 1, PROTO, 0, &r), 0);
	/* Without the ILA attributes but the locator, the kernel's defaults. */
	memcpy(buf, dump_ila, sizeof(buf));
	buf[108 + 2] = 0x1f; /* csum, ident, hook: attribute types the parser ignores */
	buf[116 + 2] = 0x1f;
	buf[124 + 2] = 0x1f;
	assert_int_equal(kroute_parse(buf, sizeof(buf), PROTO, 0, &r), 1);
	assert_int_equal(r.csum_mode, ILA_CSUM_NO_ACTION);
	assert_int_equal(r.ident_type, ILA_IDENT_USE_FORMAT);
	assert_int_equal(r.hook_type, KROUTE_HOOK_UNSET);

	assert_int_equal(kroute_parse(dump_unreachable, sizeof(dump_unreachable), PROTO, 1000, &r),
			 1);
	assert_int_equal(r.kind, KROUTE_UNREACHABLE);
	assert_int_equal(r.table, 1000);
	assert_int_equal(r.oif, 0); /* lo is the kernel's, not part of the route */
	assert_int_equal(r.dst.b[5], 2);
	assert_int_equal(r.dst.b[15], 1);
}

/* ---- against the kernel ---- */

static void test_batch_1000_v6(void **state)
{
	struct env *e = *state;
	struct kroute want[1000];
	struct routes got = { 0 };
	size_t i;
	int pass;

	for (i = 0; i < 1000; i++) {
		want[i] = v6(0x100, (unsigned int)i, i < 500 ? KROUTE_UNREACHABLE : KROUTE_DEV,
			     i < 500 ? 0 : e->v0);
		if (i >= 500 && i % 3 == 0)
			inet_pton(AF_INET6, "fe80::1", &want[i].gateway.v6);
	}
	/* The second pass replaces every route with itself: no EEXIST. */
	for (pass = 0; pass < 2; pass++) {
		kernel_batch_begin(e->k);
		for (i = 0; i < 1000; i++)
			assert_int_equal(kernel_route_replace(e->k, &want[i]), 0);
		assert_int_equal(kernel_batch_count(e->k), 1000);
		commit_ok(e->k);
		assert_int_equal(kernel_batch_count(e->k), 0);
		assert_int_equal(count_lines("ip -6 route show proto 73"), 1000);
		assert_int_equal(count_lines("ip -6 route show proto 73 type unreachable"), 500);
		assert_int_equal(count_lines("ip -6 route show proto 73 via fe80::1"), 167);
	}
	dump(e->k, AF_INET6, 0, &got);
	assert_int_equal(got.n, 1000);
	for (i = 0; i < 1000; i++) { /* v6() numbers in dst order */
		const struct kroute *g = &got.r[i];

		assert_int_equal(g->family, AF_INET6);
		assert_int_equal(g->dst_len, 128);
		assert_memory_equal(g->dst.b, want[i].dst.b, 16);
		assert_int_equal(g->kind, want[i].kind);
		assert_int_equal(g->table, KERNEL_TABLE_MAIN);
		assert_int_equal(g->protocol, PROTO);
		if (g->kind == KROUTE_DEV) {
			assert_int_equal(g->oif, e->v0);
			assert_memory_equal(g->gateway.b, want[i].gateway.b, 16);
		}
		assert_true(kroute_same(&want[i], g));
	}
	kernel_batch_begin(e->k);
	for (i = 0; i < 1000; i++)
		assert_int_equal(kernel_route_delete(e->k, &want[i]), 0);
	commit_ok(e->k);
	dump(e->k, AF_INET6, 0, &got);
	assert_int_equal(got.n, 0);
	assert_int_equal(count_lines("ip -6 route show proto 73"), 0);
	free(got.r);
}

static void test_replace_changes_kind(void **state)
{
	struct env *e = *state;
	static const uint8_t kinds[] = { KROUTE_UNREACHABLE, KROUTE_DEV, KROUTE_BLACKHOLE,
					 KROUTE_DEV, KROUTE_UNREACHABLE };
	struct routes got = { 0 };
	size_t i;

	for (i = 0; i < ILA_ARRAY_SIZE(kinds); i++) {
		struct kroute r = v6(0x300, 1, kinds[i], kinds[i] == KROUTE_DEV ? e->v0 : 0);

		kernel_batch_begin(e->k);
		assert_int_equal(kernel_route_replace(e->k, &r), 0);
		commit_ok(e->k);
		dump(e->k, AF_INET6, 0, &got);
		assert_int_equal(got.n, 1);
		assert_int_equal(got.r[0].kind, kinds[i]);
		assert_true(kroute_same(&r, &got.r[0]));
		assert_int_equal(count_lines("ip -6 route show proto 73"), 1);
	}
	free(got.r);
}

static void test_delete_missing_is_success(void **state)
{
	struct env *e = *state;
	struct fails f = { 0 };
	struct kroute r;
	unsigned int i;

	kernel_batch_begin(e->k);
	for (i = 0; i < 50; i++) {
		r = v6(0x400, i, KROUTE_UNREACHABLE, 0);
		assert_int_equal(kernel_route_delete(e->k, &r), 0);
		r = v4(40, i, KROUTE_UNREACHABLE, 0);
		r.table = 3000; /* a table that does not exist */
		assert_int_equal(kernel_route_delete(e->k, &r), 0);
	}
	assert_int_equal(kernel_batch_commit(e->k, collect_fail, &f), 0);
	assert_int_equal(f.n, 0);
	/* An empty batch is a no-op. */
	assert_int_equal(kernel_batch_commit(e->k, collect_fail, &f), 0);
}

static void test_other_protocols_untouched(void **state)
{
	struct env *e = *state;
	struct kernel *k74;
	struct routes got = { 0 };
	struct kroute mine = v6(0x200, 4, KROUTE_UNREACHABLE, 0);
	struct kroute theirs = v6(0x200, 3, KROUTE_UNREACHABLE, 0);
	struct kroute other = v6(0x200, 1, KROUTE_UNREACHABLE, 0);
	char err[256];

	assert_int_equal(run("ip -6 route replace 2001:db8:200::1/128 dev v0 proto 42"), 0);
	assert_int_equal(run("ip -6 route replace 2001:db8:200::2/128 dev v0"), 0);
	assert_int_equal(kernel_open(&k74, 74, err, sizeof(err)), 0);
	kernel_batch_begin(k74);
	assert_int_equal(kernel_route_replace(k74, &theirs), 0);
	commit_ok(k74);
	kernel_batch_begin(e->k);
	assert_int_equal(kernel_route_replace(e->k, &mine), 0);
	/* A delete of ours never removes another protocol's route. */
	assert_int_equal(kernel_route_delete(e->k, &other), 0);
	commit_ok(e->k);
	assert_int_equal(count_lines("ip -6 route show 2001:db8:200::1/128 proto 42"), 1);

	dump(e->k, AF_INET6, 0, &got);
	assert_int_equal(got.n, 1);
	assert_memory_equal(got.r[0].dst.b, mine.dst.b, 16);
	dump(k74, AF_INET6, 0, &got);
	assert_int_equal(got.n, 1);
	assert_memory_equal(got.r[0].dst.b, theirs.dst.b, 16);
	assert_int_equal(got.r[0].protocol, 74);

	kernel_batch_begin(k74);
	assert_int_equal(kernel_route_delete(k74, &theirs), 0);
	commit_ok(k74);
	kernel_close(k74);
	run("ip -6 route del 2001:db8:200::1/128; ip -6 route del 2001:db8:200::2/128");
	free(got.r);
}

static void test_error_mid_batch(void **state)
{
	struct env *e = *state;
	struct fails f = { 0 };
	struct routes got = { 0 };
	unsigned int i;

	kernel_batch_begin(e->k);
	for (i = 0; i < 101; i++) {
		struct kroute r = v6(0x500, i, KROUTE_DEV, i == 50 ? 99999 : e->v0);

		assert_int_equal(kernel_route_replace(e->k, &r), 0);
	}
	assert_int_equal(kernel_batch_commit(e->k, collect_fail, &f), 1);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.idx[0], 50);
	assert_int_equal(f.err[0], -ENODEV);
	assert_false(f.del[0]);
	dump(e->k, AF_INET6, 0, &got);
	assert_int_equal(got.n, 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(got.r[i].dst.b[15], i < 50 ? i : i + 1);
	free(got.r);
}

/* 10,000 routes span three chunks; failures at both ends of a chunk. */
static void test_errors_across_chunks(void **state)
{
	struct env *e = *state;
	static const size_t bad[] = { 0, 4095, 4096, 7000, 9999 };
	struct fails f = { 0 };
	struct routes got = { 0 };
	size_t i, j;

	kernel_batch_begin(e->k);
	for (i = 0; i < 10000; i++) {
		bool is_bad = false;
		struct kroute r;

		for (j = 0; j < ILA_ARRAY_SIZE(bad); j++)
			is_bad |= bad[j] == i;
		r = v6(0x600, (unsigned int)i, KROUTE_DEV, is_bad ? 99999 : e->v0);
		assert_int_equal(kernel_route_replace(e->k, &r), 0);
	}
	assert_int_equal(kernel_batch_commit(e->k, collect_fail, &f), (int)ILA_ARRAY_SIZE(bad));
	assert_int_equal(f.n, ILA_ARRAY_SIZE(bad));
	for (j = 0; j < ILA_ARRAY_SIZE(bad); j++) {
		assert_int_equal(f.idx[j], bad[j]);
		assert_int_equal(f.err[j], -ENODEV);
	}
	dump(e->k, AF_INET6, 0, &got);
	assert_int_equal(got.n, 10000 - ILA_ARRAY_SIZE(bad));
	assert_int_equal(count_lines("ip -6 route show proto 73"), 10000 - ILA_ARRAY_SIZE(bad));
	free(got.r);
}

static void test_ipv4_and_tables(void **state)
{
	struct env *e = *state;
	struct kroute want[210];
	struct routes got = { 0 };
	unsigned int i;

	for (i = 0; i < 210; i++) {
		want[i] = v4(20, i, i % 2 ? KROUTE_DEV : KROUTE_UNREACHABLE, i % 2 ? e->v0 : 0);
		if (i >= 200)
			want[i].table = 1000;
	}
	kernel_batch_begin(e->k);
	for (i = 0; i < 210; i++)
		assert_int_equal(kernel_route_replace(e->k, &want[i]), 0);
	commit_ok(e->k);
	kernel_batch_begin(e->k); /* again: replace is idempotent */
	for (i = 0; i < 210; i++)
		assert_int_equal(kernel_route_replace(e->k, &want[i]), 0);
	commit_ok(e->k);
	assert_int_equal(count_lines("ip -4 route show proto 73 table all"), 210);
	assert_int_equal(count_lines("ip -4 route show proto 73 table 1000"), 10);
	assert_int_equal(count_lines("ip -4 route show proto 73 scope link"), 100);

	dump(e->k, AF_INET, 0, &got);
	assert_int_equal(got.n, 210);
	for (i = 0; i < 210; i++) {
		assert_int_equal(got.r[i].family, AF_INET);
		assert_int_equal(got.r[i].dst_len, 32);
		assert_memory_equal(got.r[i].dst.b, want[i].dst.b, 16);
		assert_int_equal(got.r[i].kind, want[i].kind);
		assert_int_equal(got.r[i].table, i >= 200 ? 1000 : KERNEL_TABLE_MAIN);
		if (want[i].kind == KROUTE_DEV)
			assert_int_equal(got.r[i].oif, e->v0);
		assert_true(kroute_same(&want[i], &got.r[i]));
	}
	dump(e->k, AF_INET, 1000, &got);
	assert_int_equal(got.n, 10);
	dump(e->k, AF_INET, 2000, &got); /* a table that does not exist */
	assert_int_equal(got.n, 0);
	dump(e->k, AF_INET6, 0, &got); /* the other family */
	assert_int_equal(got.n, 0);

	kernel_batch_begin(e->k);
	for (i = 0; i < 210; i++)
		assert_int_equal(kernel_route_delete(e->k, &want[i]), 0);
	commit_ok(e->k);
	dump(e->k, AF_INET, 0, &got);
	assert_int_equal(got.n, 0);
	free(got.r);
}

static void test_v6_table_filter(void **state)
{
	struct env *e = *state;
	struct routes got = { 0 };
	unsigned int i;

	kernel_batch_begin(e->k);
	for (i = 0; i < 30; i++) {
		struct kroute r = v6(0x700, i, KROUTE_UNREACHABLE, 0);

		r.table = i < 10 ? 0 : i < 20 ? 1000 : 70000;
		assert_int_equal(kernel_route_replace(e->k, &r), 0);
	}
	commit_ok(e->k);
	dump(e->k, AF_INET6, 1000, &got);
	assert_int_equal(got.n, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(got.r[i].table, 1000);
	dump(e->k, AF_INET6, 70000, &got);
	assert_int_equal(got.n, 10);
	assert_int_equal(got.r[0].dst.b[15], 20);
	dump(e->k, AF_INET6, KERNEL_TABLE_MAIN, &got);
	assert_int_equal(got.n, 10);
	dump(e->k, AF_INET6, 0, &got);
	assert_int_equal(got.n, 30);
	assert_int_equal(count_lines("ip -6 route show proto 73 table 70000"), 10);
	free(got.r);
}

static void test_probe_ila(void **state)
{
	struct env *e = *state;
	char err[256] = "";
	int r = kernel_probe_ila(e->k, err, sizeof(err));

	if (e->has_ila) {
		assert_int_equal(r, 0);
	} else {
		assert_int_equal(r, -EOPNOTSUPP);
		assert_non_null(strstr(err, "CONFIG_IPV6_ILA"));
		assert_non_null(strstr(err, "modprobe ila"));
	}
	/* The scratch route never stays behind. */
	assert_int_equal(count_lines("ip -6 route show table all proto 73"), 0);
}

static void test_ila_routes(void **state)
{
	struct env *e = *state;
	struct fails f = { 0 };
	struct routes got = { 0 };
	struct kroute ila = v6(0x800, 1, KROUTE_ILA, e->v0);
	struct kroute unr = v6(0x800, 2, KROUTE_UNREACHABLE, 0);
	int r;

	memcpy(ila.locator.b, "\x20\x01\x00\x00\x00\x00\x00\x0a", 8);
	ila.csum_mode = ILA_CSUM_NEUTRAL_MAP;
	ila.ident_type = ILA_IDENT_LUID;
	kernel_batch_begin(e->k);
	assert_int_equal(kernel_route_replace(e->k, &ila), 0);
	assert_int_equal(kernel_route_replace(e->k, &unr), 0);
	r = kernel_batch_commit(e->k, collect_fail, &f);
	dump(e->k, AF_INET6, 0, &got);
	if (!e->has_ila) {
		/* Refused with the kernel's own words; the other route applied. */
		assert_int_equal(r, 1);
		assert_int_equal(f.n, 1);
		assert_int_equal(f.idx[0], 0);
		assert_int_equal(f.err[0], -EOPNOTSUPP);
		assert_true(strlen(f.msg[0]) > 0);
		assert_int_equal(got.n, 1);
		assert_int_equal(got.r[0].kind, KROUTE_UNREACHABLE);
	} else {
		assert_int_equal(r, 0);
		assert_int_equal(got.n, 2);
		assert_int_equal(got.r[0].kind, KROUTE_ILA);
		assert_true(kroute_same(&ila, &got.r[0]));
		assert_int_equal(count_lines("ip -6 route show proto 73 | grep 'encap ila'"), 1);
	}
	free(got.r);
}

static void test_xlat(void **state)
{
	struct env *e = *state;
	struct kxlat x = { .csum_mode = ILA_CSUM_NEUTRAL_MAP, .ident_type = ILA_IDENT_LUID };
	struct kxlat cur;

	memcpy(x.loc_match.b, "\x20\x01\x00\x00\x00\x00\x00\x0a", 8);
	memcpy(x.loc.b, "\x20\x01\x0d\xb8\x00\x01\x00\x00", 8);
	if (!e->has_ila) {
		assert_int_equal(kernel_xlat_add(e->k, &x), -EOPNOTSUPP);
		assert_int_equal(kernel_xlat_get(e->k, &x.loc_match, 0, &cur), -EOPNOTSUPP);
		assert_int_equal(kernel_xlat_del(e->k, &x), -EOPNOTSUPP);
		assert_int_equal(kernel_xlat_dump(e->k, NULL, NULL), -EOPNOTSUPP);
		return;
	}
	assert_int_equal(kernel_xlat_add(e->k, &x), KERNEL_XLAT_ADDED);
	assert_int_equal(kernel_xlat_add(e->k, &x), KERNEL_XLAT_PRESENT);
	x.loc.b[5] = 2;
	assert_int_equal(kernel_xlat_add(e->k, &x), KERNEL_XLAT_REPLACED);
	assert_int_equal(kernel_xlat_get(e->k, &x.loc_match, 0, &cur), 0);
	assert_memory_equal(cur.loc.b, x.loc.b, 8);
	assert_int_equal(kernel_xlat_del(e->k, &x), 0);
	assert_int_equal(kernel_xlat_get(e->k, &x.loc_match, 0, &cur), -ENOENT);
}

struct neigh_seen {
	int ifindex;
	struct in6_addr addr;
	int added, deleted;
	uint16_t state;
	uint8_t lladdr[6];
};

static void on_neigh(void *arg, const struct kneigh *n)
{
	struct neigh_seen *s = arg;

	if (n->family != AF_INET6 || n->ifindex != s->ifindex ||
	    memcmp(&n->addr.v6, &s->addr, 16) != 0)
		return;
	if (n->deleted) {
		s->deleted++;
		return;
	}
	s->added++;
	s->state = n->state;
	if (n->lladdr_len == 6)
		memcpy(s->lladdr, n->lladdr, 6);
}

/* Reads until cb saw what *count should reach, or a second passed. */
static void neigh_wait(int fd, struct neigh_seen *s, const int *count, int target)
{
	int tries;

	for (tries = 0; tries < 20 && *count < target; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		(void)poll(&p, 1, 50);
		assert_true(kernel_neigh_read(fd, on_neigh, s) >= 0);
	}
	assert_int_equal(*count, target);
}

static void test_neigh_events(void **state)
{
	struct env *e = *state;
	struct neigh_seen s = { .ifindex = e->v0 };
	char err[256];
	int fd = kernel_neigh_open(err, sizeof(err));

	assert_true(fd >= 0);
	inet_pton(AF_INET6, "2001:db8:900::77", &s.addr);
	assert_int_equal(kernel_neigh_read(fd, on_neigh, &s), 0); /* nothing yet */
	assert_int_equal(run("ip -6 neigh replace 2001:db8:900::77 lladdr 02:00:00:00:00:01 "
			     "dev v0 nud permanent"), 0);
	neigh_wait(fd, &s, &s.added, 1);
	assert_int_equal(s.state, NUD_PERMANENT);
	assert_memory_equal(s.lladdr, "\x02\x00\x00\x00\x00\x01", 6);
	/* A dump delivers the entry again through the same path. */
	assert_int_equal(kernel_neigh_request_dump(fd, AF_INET6), 0);
	neigh_wait(fd, &s, &s.added, 2);
	assert_int_equal(run("ip -6 neigh del 2001:db8:900::77 dev v0"), 0);
	neigh_wait(fd, &s, &s.deleted, 1);
	close(fd);
}

/*
 * The neighbour entry ilad writes for an incoming live-migrated VM: STALE
 * with the VM's MAC (IPv6 and IPv4), replaced in place, and deleted only
 * while it still has that MAC; iproute2 is the oracle.
 */
static void test_neigh_set_and_del(void **state)
{
	struct env *e = *state;
	struct kneigh n = { .family = AF_INET6, .ifindex = e->v0, .state = NUD_STALE,
			    .lladdr_len = 6, .lladdr = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } };
	struct kneigh other = n, v4 = n;

	inet_pton(AF_INET6, "2001:db8:901::5", n.addr.b);
	other = n;
	other.lladdr[5] = 0x57;
	assert_int_equal(kernel_neigh_set(e->k, &n), 0);
	assert_int_equal(count_lines("ip -6 neigh show dev v0 | grep -F '2001:db8:901::5 lladdr "
				     "52:54:00:12:34:56 STALE'"), 1);
	assert_int_equal(kernel_neigh_set(e->k, &n), 0); /* a replace: no EEXIST */
	/* another MAC there now (the VM's real entry, say): not deleted */
	assert_int_equal(kernel_neigh_set(e->k, &other), 0);
	assert_int_equal(kernel_neigh_del(e->k, &n), 0);
	assert_int_equal(count_lines("ip -6 neigh show dev v0 | grep -F '2001:db8:901::5 lladdr "
				     "52:54:00:12:34:57'"), 1);
	/* its own MAC: deleted; gone: nothing to do */
	assert_int_equal(kernel_neigh_del(e->k, &other), 1);
	assert_int_equal(count_lines("ip -6 neigh show dev v0 | grep -F '2001:db8:901::5' || true"),
			 0);
	assert_int_equal(kernel_neigh_del(e->k, &other), 0);
	/* IPv4 */
	v4.family = AF_INET;
	memset(&v4.addr, 0, sizeof(v4.addr));
	inet_pton(AF_INET, "192.0.2.77", v4.addr.b);
	assert_int_equal(kernel_neigh_set(e->k, &v4), 0);
	assert_int_equal(count_lines("ip -4 neigh show dev v0 | grep -F '192.0.2.77 lladdr "
				     "52:54:00:12:34:56 STALE'"), 1);
	assert_int_equal(kernel_neigh_del(e->k, &v4), 1);
	assert_int_equal(count_lines("ip -4 neigh show dev v0 | grep -F '192.0.2.77' || true"), 0);
	/* refusals: no such interface, no MAC */
	v4.ifindex = 999999;
	assert_int_equal(kernel_neigh_set(e->k, &v4), -ENODEV);
	v4.ifindex = e->v0;
	v4.lladdr_len = 0;
	assert_int_equal(kernel_neigh_set(e->k, &v4), -EINVAL);
}

/* ---- links and addresses (the anycast gateway) ---- */

struct addrs {
	struct kaddr_entry a[16];
	int n;
};

static void on_addr(void *arg, const struct kaddr_entry *a)
{
	struct addrs *s = arg;

	if (s->n < 16)
		s->a[s->n++] = *a;
}

static bool has_addr(const struct addrs *s, int family, const char *text, uint8_t plen)
{
	union kaddr want = { 0 };

	inet_pton(family, text, want.b);
	for (int i = 0; i < s->n; i++)
		if (s->a[i].family == family && s->a[i].plen == plen &&
		    memcmp(&s->a[i].addr, &want, sizeof(want)) == 0)
			return true;
	return false;
}

struct link_seen {
	int ifindex;
	int news, dels;
	bool up;
};

static void on_link(void *arg, const struct klink *l)
{
	struct link_seen *s = arg;

	if (strcmp(l->name, "gw0") != 0)
		return;
	s->ifindex = l->ifindex;
	s->up = l->up;
	if (l->deleted)
		s->dels++;
	else
		s->news++;
}

static void link_wait(int fd, struct link_seen *s, const int *count, int target)
{
	for (int tries = 0; tries < 20 && *count < target; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		(void)poll(&p, 1, 50);
		assert_true(kernel_link_read(fd, on_link, s) >= 0);
	}
	assert_true(*count >= target);
}

/* MAC (of a veth, as the workload links of the suites), addrgenmode none, addresses without DAD, their dump and deletion,
 * and link events for a link that appears, comes up and goes; iproute2 is
 * the oracle. */
static void test_link_and_addrs(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 };
	struct env *e = *state;
	struct link_seen ls = { 0 };
	struct addrs as = { 0 };
	struct klink l;
	struct kaddr_entry a = { .family = AF_INET6, .plen = 64, .scope = RT_SCOPE_LINK };
	char err[256];
	int fd = kernel_link_open(err, sizeof(err)), ifindex;

	assert_true(fd >= 0);
	assert_int_equal(run("ip link add gw0 type veth peer name gw1"), 0);
	link_wait(fd, &ls, &ls.news, 1);
	ifindex = (int)if_nametoindex("gw0");
	assert_int_equal(ls.ifindex, ifindex);
	assert_false(ls.up);
	assert_int_equal(kernel_link_get(e->k, ifindex, &l), 0);
	assert_string_equal(l.name, "gw0");
	assert_int_equal(l.addr_gen_mode, IN6_ADDR_GEN_MODE_EUI64);
	assert_int_equal(kernel_link_set_mac(e->k, ifindex, mac), 0);
	assert_int_equal(kernel_link_addr_gen_none(e->k, ifindex), 0);
	assert_int_equal(kernel_link_get(e->k, ifindex, &l), 0);
	assert_int_equal(l.mac_len, 6);
	assert_memory_equal(l.mac, mac, 6);
	assert_int_equal(l.addr_gen_mode, IN6_ADDR_GEN_MODE_NONE);
	assert_int_equal(count_lines("ip link show gw0 | grep -F 'link/ether 02:00:5e:00:53:01'"),
			 1);
	assert_int_equal(run("ip link set gw0 up"), 0);
	link_wait(fd, &ls, &ls.news, 2);
	assert_true(ls.up);
	/* addrgenmode none: the kernel added no link-local address of its own */
	assert_int_equal(kernel_addr_dump(e->k, AF_INET6, ifindex, on_addr, &as), 0);
	assert_int_equal(as.n, 0);
	a.ifindex = ifindex;
	inet_pton(AF_INET6, "fe80::1", a.addr.b);
	assert_int_equal(kernel_addr_add(e->k, &a), 0);
	assert_int_equal(kernel_addr_add(e->k, &a), 0); /* a replace: no EEXIST */
	memset(&a.addr, 0, sizeof(a.addr));
	a.family = AF_INET;
	a.plen = 32;
	inet_pton(AF_INET, "192.0.2.1", a.addr.b);
	assert_int_equal(kernel_addr_add(e->k, &a), 0);
	assert_int_equal(count_lines("ip -6 addr show dev gw0 | grep -F 'inet6 fe80::1/64 scope link "
				     "nodad'"), 1);
	assert_int_equal(count_lines("ip -4 addr show dev gw0 | grep -F 'inet 192.0.2.1/32 scope "
				     "link'"), 1);
	as.n = 0;
	assert_int_equal(kernel_addr_dump(e->k, AF_UNSPEC, ifindex, on_addr, &as), 0);
	assert_int_equal(as.n, 2);
	assert_true(has_addr(&as, AF_INET6, "fe80::1", 64));
	assert_true(has_addr(&as, AF_INET, "192.0.2.1", 32));
	assert_int_equal(kernel_addr_del(e->k, &a), 0);
	assert_int_equal(count_lines("ip -4 addr show dev gw0 | grep inet || true"), 0);
	assert_int_equal(run("ip link del gw0"), 0);
	link_wait(fd, &ls, &ls.dels, 1);
	assert_int_equal(kernel_link_get(e->k, ifindex, &l), -ENODEV);
	close(fd);
}

/*
 * SRv6 routes, as ilad uses them to carry IPv4 packets still in flight to a
 * workload's new node: encap seg6 (IPv4 and IPv6 destinations) and the
 * End.DX4 and End.DX6 decapsulations, with their packet counters on. They
 * round-trip through the kernel field by field, and iproute2 reads them as
 * the same routes.
 */
static void test_seg6_routes(void **state)
{
	struct env *e = *state;
	struct kroute enc4 = v4(0x40, 5, KROUTE_SEG6, e->v0), enc6 = v6(0x400, 5, KROUTE_SEG6, e->v0);
	struct kroute dx4 = v6(0x401, 7, KROUTE_SEG6_DX4, e->v0);
	struct kroute dx6 = v6(0x402, 7, KROUTE_SEG6_DX6, e->v0);
	struct routes got = { 0 };
	char buf[KROUTE_STRLEN];
	int n6 = 0;

	inet_pton(AF_INET6, "2001:db8:b::c633:640a", &enc4.segment);
	enc6.segment = enc4.segment;
	inet_pton(AF_INET, "198.51.100.10", &dx4.nh4);
	inet_pton(AF_INET6, "2001:db8:900::10", &dx6.nh6);
	assert_int_equal(kroute_check(&enc4), 0);
	assert_int_equal(kroute_check(&dx4), 0);
	assert_int_equal(kroute_check(&dx6), 0);
	dx6.nh6 = (struct in6_addr){ 0 };
	assert_int_equal(kroute_check(&dx6), -EINVAL);
	inet_pton(AF_INET6, "2001:db8:900::10", &dx6.nh6);
	kernel_batch_begin(e->k);
	assert_int_equal(kernel_route_replace(e->k, &enc4), 0);
	assert_int_equal(kernel_route_replace(e->k, &enc6), 0);
	assert_int_equal(kernel_route_replace(e->k, &dx4), 0);
	assert_int_equal(kernel_route_replace(e->k, &dx6), 0);
	commit_ok(e->k);
	dump(e->k, AF_INET6, 0, &got);
	assert_int_equal(got.n, 3);
	for (size_t i = 0; i < got.n; i++) {
		const struct kroute *want = got.r[i].kind == KROUTE_SEG6	  ? &enc6
					    : got.r[i].kind == KROUTE_SEG6_DX4 ? &dx4
									       : &dx6;

		n6 += got.r[i].kind == KROUTE_SEG6_DX6;
		assert_true(kroute_same(want, &got.r[i]));
		/* nothing went through them yet */
		assert_int_equal(got.r[i].packets, 0);
	}
	assert_int_equal(n6, 1);
	/* one route read by its destination, counters and all */
	{
		struct kroute one;
		union kaddr none = dx6.dst;

		memset(&one, 0xff, sizeof(one));
		assert_int_equal(kernel_route_get(e->k, AF_INET6, &dx6.dst, &one), 0);
		assert_int_equal(one.kind, KROUTE_SEG6_DX6);
		assert_true(kroute_same(&dx6, &one));
		assert_int_equal(one.packets, 0);
		assert_int_equal(one.bytes, 0);
		/* no route of ours there: what the kernel matches is not ilad's */
		none.b[15] ^= 0x80;
		assert_true(kernel_route_get(e->k, AF_INET6, &none, &one) < 0);
	}
	/* a different next hop is a different route */
	for (size_t i = 0; i < got.n; i++) {
		if (got.r[i].kind != KROUTE_SEG6_DX6)
			continue;
		dx6.nh6.s6_addr[15] ^= 1;
		assert_false(kroute_same(&dx6, &got.r[i]));
		dx6.nh6.s6_addr[15] ^= 1;
	}
	dump(e->k, AF_INET, 0, &got);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.r[0].kind, KROUTE_SEG6);
	assert_true(kroute_same(&enc4, &got.r[0]));
	assert_memory_equal(&got.r[0].segment, &enc4.segment, 16);
	assert_non_null(strstr(kroute_format(&got.r[0], buf, sizeof(buf)),
			       "encap seg6 mode encap segs 2001:db8:b::c633:640a"));
	assert_int_equal(count_lines("ip -4 route show proto 73 | grep -F 'encap seg6 mode encap segs 1 [ 2001:db8:b::c633:640a ]'"), 1);
	assert_int_equal(count_lines("ip -6 route show proto 73 | grep 'seg6local action End.DX4 nh4 198.51.100.10'"), 1);
	assert_int_equal(count_lines("ip -6 route show proto 73 | grep 'seg6local action End.DX6 nh6 2001:db8:900::10'"), 1);
	/* the counters are on (iproute2 prints them with -s) */
	assert_int_equal(count_lines("ip -s -6 route show proto 73 | grep 'packets 0 bytes 0 errors 0'"), 2);
	/* a different segment is a different route */
	enc4.segment.s6_addr[15] ^= 1;
	assert_false(kroute_same(&enc4, &got.r[0]));
	enc4.segment.s6_addr[15] ^= 1;
	/* encap.red, where the kernel has it: read back as such, and a route
	 * apart from encap */
	int red = kernel_probe_seg6_red(e->k);

	assert_true(red == 0 || red == 1);
	assert_int_equal(count_lines("ip -6 route show table all proto 73 | awk '/2001:db8:ffff:ffff/'"), 0);
	if (red == 1) {
		enc4.seg6_reduced = true;
		assert_false(kroute_same(&enc4, &got.r[0]));
		kernel_batch_begin(e->k);
		assert_int_equal(kernel_route_replace(e->k, &enc4), 0);
		commit_ok(e->k);
		dump(e->k, AF_INET, 0, &got);
		assert_int_equal(got.n, 1);
		assert_true(got.r[0].seg6_reduced);
		assert_true(kroute_same(&enc4, &got.r[0]));
		assert_non_null(strstr(kroute_format(&got.r[0], buf, sizeof(buf)),
				       "encap seg6 mode encap.red segs 2001:db8:b::c633:640a"));
		assert_int_equal(count_lines("ip -4 route show proto 73 | grep -F 'encap seg6 mode encap.red segs 1 [ 2001:db8:b::c633:640a ]'"), 1);
	}
	free(got.r);
}

int main(void)
{
	struct env env = { 0 };
#define NS_TEST(f) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, &env)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_ila_route),
		cmocka_unit_test(test_golden_bpf_route),
		cmocka_unit_test(test_golden_bpf_route4),
		cmocka_unit_test(test_golden_v4_table_route),
		cmocka_unit_test(test_golden_xlat_add),
		cmocka_unit_test(test_check_and_format),
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_parse_kernel_dump),
		NS_TEST(test_batch_1000_v6),
		NS_TEST(test_replace_changes_kind),
		NS_TEST(test_delete_missing_is_success),
		NS_TEST(test_other_protocols_untouched),
		NS_TEST(test_error_mid_batch),
		NS_TEST(test_errors_across_chunks),
		NS_TEST(test_ipv4_and_tables),
		NS_TEST(test_v6_table_filter),
		NS_TEST(test_probe_ila),
		NS_TEST(test_ila_routes),
		NS_TEST(test_xlat),
		NS_TEST(test_neigh_events),
		NS_TEST(test_neigh_set_and_del),
		NS_TEST(test_seg6_routes),
		NS_TEST(test_link_and_addrs),
	};
#undef NS_TEST

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		printf("1..1\nok 1 # SKIP netlink tests need root and a network namespace\n");
		return 0;
	}
	if (run("ip link set lo up && ip link add v0 type veth peer name v1 && "
		"ip link set v0 up && ip link set v1 up") != 0) {
		printf("1..1\nnot ok 1 - cannot make a veth pair in the test namespace\n");
		return 1;
	}
	env.v0 = (int)if_nametoindex("v0");
	/* The oracle for the ILA cases: iproute2 itself. */
	env.has_ila = run("ip -6 route add 2001:db8:ffff::2/128 encap ila 0:0:0:1 ident-type luid "
			  "dev lo table 65000 2>/dev/null") == 0;
	run("ip -6 route flush table 65000 2>/dev/null");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
