/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kbpf-ctl: a command-line driver of the BPF data path's loader
 * (routing/kbpf.c) and of ilad's netlink batches (routing/kernel.c), for the
 * VM suite dataplane-compare and for bench/run dataplane.
 *
 *   kbpf-ctl [-m MAX_MAPPINGS] serve
 *       Loads the programs (nothing pinned) and reads one command a line on
 *       stdin; answers each with one line, "ok[ ...]" or "error: ...".
 *       Everything it attached or routed goes at "quit", at the end of its
 *       input, or on SIGTERM/SIGINT. Commands:
 *         prefix PREFIX/LEN VN CSUM-MODE     ila_prefixes entry
 *         locator LOC SIR-PREFIX CSUM-MODE   ila_locators entry (way in)
 *         unlocator LOC
 *         map VN SIR-ADDR LOC [down]         one ila_map entry
 *         unmap VN SIR-ADDR
 *         route PREFIX/LEN dev IF [via GW]   KROUTE_BPF route with ila_out
 *         unroute PREFIX/LEN
 *         tc IF | untc IF                    ila_in on clsact ingress of IF
 *         counters VN SIR-ADDR               "ok packets N bytes M"
 *         global                             "ok C0 C1 ..." (enum ila_bpf_counter)
 *         quit
 *   kbpf-ctl [-m MAX_MAPPINGS] [-b BATCH] load-map N
 *       Loads the programs and times N mappings (VN 1, 2001:db8:100::/64,
 *       distinct addresses) written by kbpf_mapping_set_batch() in batches
 *       of BATCH (10000), as ilad's flush writes them; then counts them back
 *       by lookups of a sample. Prints "load-map n=N batch=B seconds=S".
 *   kbpf-ctl [-p PROTO] [-b BATCH] [-r RETRIES] load-routes N LOC|none DEV GW
 *       Times N "encap ila LOC" /128 routes (csum-mode neutral-map; the same
 *       addresses) written by kernel_batch_commit() in batches of BATCH, as
 *       ilad's flush does, then deletes them again (not timed). With "none"
 *       they are plain /128 routes via GW (a kernel without ILA). Prints
 *       "load-routes n=N batch=B seconds=S retries=R". A batch the kernel
 *       answers ENOMEM for is sent again from its first refused route
 *       after 10 ms, at most RETRIES (0) times in all, the pauses counted
 *       in S. When the kernel refuses a route for good, the adds stop at
 *       its batch, the line adds "refused_after=K error=ERRNO" (K routes
 *       were in before it; S covers the batches sent, the refused one
 *       included) and the exit status is 1.
 *
 * Exit status: 0 success, 1 failure (message on stderr), 2 usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "routing/kbpf.h"
#include "routing/kernel.h"

#define MAX_WORDS 8
#define MAX_ROUTES 64
#define LOAD_PREFIX "2001:db8:100::"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: kbpf-ctl [-m MAX] serve\n"
			"       kbpf-ctl [-m MAX] [-b BATCH] load-map N\n"
			"       kbpf-ctl [-p PROTO] [-b BATCH] [-r RETRIES] load-routes N LOC|none DEV GW\n");
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_prefix(const char *s, struct in6_addr *a, unsigned int *plen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	uint32_t len = 128;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (parse_u32(slash + 1, &len) < 0 || len > 128)
			return -EINVAL;
	}
	if (inet_pton(AF_INET6, buf, a) != 1)
		return -EINVAL;
	*plen = len;
	return 0;
}

/* The address of mapping i of the load commands: LOAD_PREFIX::i. */
static void load_addr(uint32_t i, struct in6_addr *a)
{
	inet_pton(AF_INET6, LOAD_PREFIX, a);
	a->s6_addr[12] = (uint8_t)(i >> 24);
	a->s6_addr[13] = (uint8_t)(i >> 16);
	a->s6_addr[14] = (uint8_t)(i >> 8);
	a->s6_addr[15] = (uint8_t)i;
}

struct server {
	struct kbpf *k;
	struct kernel *kn;
	struct kroute routes[MAX_ROUTES]; /* routed here, deleted at the end */
	int nroutes;
	int tc[MAX_ROUTES]; /* ifindexes with ila_in */
	int ntc;
};

static int route_write(struct server *s, const struct kroute *r, bool del)
{
	int rc;

	kernel_batch_begin(s->kn);
	rc = del ? kernel_route_delete(s->kn, r) : kernel_route_replace(s->kn, r);
	if (rc < 0)
		return rc;
	rc = kernel_batch_commit(s->kn, NULL, NULL);
	return rc > 0 ? -EIO : rc;
}

static void cleanup(struct server *s)
{
	for (int i = 0; i < s->nroutes; i++)
		route_write(s, &s->routes[i], true);
	s->nroutes = 0;
	for (int i = 0; i < s->ntc; i++)
		kbpf_tc_detach(s->k, s->tc[i]);
	s->ntc = 0;
}

static int find_route(const struct server *s, const struct in6_addr *a, unsigned int plen)
{
	for (int i = 0; i < s->nroutes; i++)
		if (s->routes[i].dst_len == plen && memcmp(&s->routes[i].dst.v6, a, 16) == 0)
			return i;
	return -1;
}

/* One command; returns 0 and fills ans ("ok..."), or -errno with err set. */
static int command(struct server *s, char **w, int n, char *ans, size_t alen, char *err,
		   size_t elen)
{
	struct in6_addr a;
	unsigned int plen;
	uint32_t vn;
	enum ila_csum_mode cm;
	int rc;

	snprintf(ans, alen, "ok");
	if (strcmp(w[0], "prefix") == 0 && n == 4) {
		if (parse_prefix(w[1], &a, &plen) < 0 || parse_u32(w[2], &vn) < 0 ||
		    ila_csum_mode_parse(w[3], &cm, err, elen) < 0)
			goto bad;
		return kbpf_prefix_set(s->k, &a, plen, vn, cm);
	}
	if (strcmp(w[0], "locator") == 0 && n == 4) {
		struct ila_locator loc;
		struct ila_sir_prefix sir;

		if (ila_locator_parse(w[1], &loc, err, elen) < 0 ||
		    ila_locator_parse(w[2], &sir.loc, err, elen) < 0 ||
		    ila_csum_mode_parse(w[3], &cm, err, elen) < 0)
			goto bad;
		return kbpf_locator_set(s->k, &loc, &sir, cm);
	}
	if (strcmp(w[0], "unlocator") == 0 && n == 2) {
		struct ila_locator loc;

		if (ila_locator_parse(w[1], &loc, err, elen) < 0)
			goto bad;
		return kbpf_locator_del(s->k, &loc);
	}
	if ((strcmp(w[0], "map") == 0 && (n == 4 || n == 5)) ||
	    (strcmp(w[0], "unmap") == 0 && n == 3)) {
		struct kbpf_mapping m = { .state = KBPF_UP };

		if (parse_u32(w[1], &m.vn) < 0 || inet_pton(AF_INET6, w[2], &m.addr) != 1)
			goto bad;
		if (w[0][0] == 'u')
			return kbpf_mapping_del(s->k, m.vn, &m.addr);
		if (ila_locator_parse(w[3], &m.loc, err, elen) < 0)
			goto bad;
		if (n == 5) {
			if (strcmp(w[4], "down") != 0)
				goto bad;
			m.state = KBPF_DOWN;
		}
		return kbpf_mapping_set(s->k, &m);
	}
	if (strcmp(w[0], "route") == 0 && (n == 4 || n == 6)) {
		struct kroute r = { .family = AF_INET6, .kind = KROUTE_BPF };
		unsigned int idx;

		if (parse_prefix(w[1], &r.dst.v6, &plen) < 0 || strcmp(w[2], "dev") != 0)
			goto bad;
		r.dst_len = (uint8_t)plen;
		idx = if_nametoindex(w[3]);
		if (!idx) {
			snprintf(err, elen, "no device \"%s\"", w[3]);
			return -ENODEV;
		}
		r.oif = (int)idx;
		if (n == 6 && (strcmp(w[4], "via") != 0 ||
			       inet_pton(AF_INET6, w[5], &r.gateway.v6) != 1))
			goto bad;
		r.bpf_fd = kbpf_out_fd(s->k);
		if (find_route(s, &r.dst.v6, plen) < 0 && s->nroutes == MAX_ROUTES) {
			snprintf(err, elen, "more than %d routes", MAX_ROUTES);
			return -ENOSPC;
		}
		rc = route_write(s, &r, false);
		if (rc == 0 && find_route(s, &r.dst.v6, plen) < 0)
			s->routes[s->nroutes++] = r;
		return rc;
	}
	if (strcmp(w[0], "unroute") == 0 && n == 2) {
		int i;

		if (parse_prefix(w[1], &a, &plen) < 0)
			goto bad;
		i = find_route(s, &a, plen);
		if (i < 0) {
			snprintf(err, elen, "not routed here");
			return -ENOENT;
		}
		rc = route_write(s, &s->routes[i], true);
		s->routes[i] = s->routes[--s->nroutes];
		return rc;
	}
	if ((strcmp(w[0], "tc") == 0 || strcmp(w[0], "untc") == 0) && n == 2) {
		int idx = (int)if_nametoindex(w[1]), i;

		if (!idx) {
			snprintf(err, elen, "no device \"%s\"", w[1]);
			return -ENODEV;
		}
		for (i = 0; i < s->ntc && s->tc[i] != idx; i++)
			;
		if (w[0][0] == 't') {
			if (i < s->ntc)
				return 0;
			if (s->ntc == MAX_ROUTES)
				return -ENOSPC;
			rc = kbpf_tc_attach(s->k, idx);
			if (rc == 0)
				s->tc[s->ntc++] = idx;
			return rc;
		}
		if (i == s->ntc) {
			snprintf(err, elen, "not attached here");
			return -ENOENT;
		}
		s->tc[i] = s->tc[--s->ntc];
		return kbpf_tc_detach(s->k, idx);
	}
	if (strcmp(w[0], "counters") == 0 && n == 3) {
		struct kbpf_counters c;

		if (parse_u32(w[1], &vn) < 0 || inet_pton(AF_INET6, w[2], &a) != 1)
			goto bad;
		rc = kbpf_mapping_counters(s->k, vn, &a, &c);
		if (rc == 0)
			snprintf(ans, alen, "ok packets %llu bytes %llu",
				 (unsigned long long)c.packets, (unsigned long long)c.bytes);
		return rc;
	}
	if (strcmp(w[0], "global") == 0 && n == 1) {
		uint64_t c[ILA_BPF_COUNTERS];
		size_t off = 2;

		rc = kbpf_global_counters(s->k, c);
		for (int i = 0; rc == 0 && i < ILA_BPF_COUNTERS && off < alen; i++)
			off += (size_t)snprintf(ans + off, alen - off, " %llu",
						(unsigned long long)c[i]);
		return rc;
	}
bad:
	if (!err[0])
		snprintf(err, elen, "bad command");
	return -EINVAL;
}

static int split(char *line, char **w)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_WORDS)
			return -1;
		w[n++] = tok;
	}
	return n;
}

static int open_kbpf(uint32_t max, struct kbpf **k)
{
	struct kbpf_opts o = { .max_mappings = max };
	int rc = kbpf_open(&o, k);

	if (rc < 0)
		fprintf(stderr, "kbpf-ctl: loading the programs: %s\n", strerror(-rc));
	return rc;
}

static int cmd_serve(uint32_t max, uint8_t proto)
{
	struct server s = { 0 };
	char line[512], ans[512], err[256], *w[MAX_WORDS];
	struct sigaction sa = { .sa_handler = on_signal };
	int n, rc;

	if (open_kbpf(max, &s.k) < 0)
		return 1;
	rc = kernel_open(&s.kn, proto, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "kbpf-ctl: %s\n", err);
		kbpf_close(s.k);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: fgets returns */
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ok ready\n");
	while (!stop && fgets(line, sizeof(line), stdin)) {
		n = split(line, w);
		if (n == 0)
			continue;
		if (n < 0) {
			printf("error: too many words\n");
			continue;
		}
		if (strcmp(w[0], "quit") == 0)
			break;
		err[0] = '\0';
		rc = command(&s, w, n, ans, sizeof(ans), err, sizeof(err));
		if (rc < 0)
			printf("error: %s%s%s\n", strerror(-rc), err[0] ? ": " : "", err);
		else
			printf("%s\n", ans);
	}
	cleanup(&s);
	kernel_close(s.kn);
	kbpf_close(s.k);
	return 0;
}

static int cmd_load_map(uint32_t max, uint32_t count, uint32_t batch)
{
	struct kbpf_mapping *m = calloc(batch, sizeof(*m));
	struct kbpf *k = NULL;
	double t0, t;
	uint32_t i, found = 0, sampled = 0;
	int rc = 0;

	if (!m || open_kbpf(max, &k) < 0) {
		free(m);
		return 1;
	}
	t = 0;
	for (i = 0; i < count && rc == 0; ) {
		uint32_t j, n = count - i < batch ? count - i : batch;

		/* building a batch is ilad's flush_map(); only the write is timed */
		for (j = 0; j < n; j++) {
			m[j].vn = 1;
			load_addr(i + j + 1, &m[j].addr);
			m[j].loc.b[0] = 0x20;
			m[j].loc.b[1] = 0x01;
			m[j].loc.b[7] = (uint8_t)(i + j);
			m[j].state = KBPF_UP;
		}
		t0 = now_s();
		rc = kbpf_mapping_set_batch(k, m, n, NULL);
		t += now_s() - t0;
		i += n;
	}
	if (rc < 0) {
		fprintf(stderr, "kbpf-ctl: load-map: after %u mappings: %s\n", i, strerror(-rc));
		goto out;
	}
	for (i = 1; i <= count; i += count / 1000 + 1) {
		struct kbpf_mapping got;
		struct in6_addr a;

		load_addr(i, &a);
		sampled++;
		if (kbpf_mapping_get(k, 1, &a, &got) == 0 && got.loc.b[7] == (uint8_t)(i - 1))
			found++;
	}
	if (found != sampled) {
		fprintf(stderr, "kbpf-ctl: load-map: %u of %u sampled mappings found\n", found,
			sampled);
		rc = -EIO;
		goto out;
	}
	printf("load-map n=%u batch=%u seconds=%.6f sampled=%u\n", count, batch, t, sampled);
out:
	kbpf_close(k);
	free(m);
	return rc < 0 ? 1 : 0;
}

struct refusals {
	unsigned n;
	size_t first; /* index in its batch of the first refused route */
	int err;
};

static void route_fail(void *arg, size_t index, const struct kroute *r, bool del, int err,
		       const char *msg)
{
	char buf[KROUTE_STRLEN];
	struct refusals *f = arg;

	if (f->n == 0) {
		f->first = index;
		f->err = err;
	}
	if (f->n++ < 3)
		fprintf(stderr, "kbpf-ctl: %s %s: %s%s%s\n", del ? "delete" : "replace",
			kroute_format(r, buf, sizeof(buf)), strerror(-err), msg[0] ? ": " : "",
			msg);
}

static int cmd_load_routes(uint8_t proto, uint32_t count, uint32_t batch, uint32_t max_retries,
			   char **argv)
{
	uint32_t retries = 0;
	struct kroute r = { .family = AF_INET6, .dst_len = 128, .kind = KROUTE_ILA,
			    .csum_mode = ILA_CSUM_NEUTRAL_MAP,
			    .ident_type = ILA_IDENT_LUID, .hook_type = KROUTE_HOOK_UNSET };
	struct kernel *kn = NULL;
	struct refusals f = { 0 };
	char err[256];
	double t = 0, t0;
	uint32_t done = count;
	int rc, ret = 0;

	if (strcmp(argv[0], "none") == 0) {
		memset(&r, 0, sizeof(r));
		r.family = AF_INET6;
		r.dst_len = 128;
		r.kind = KROUTE_DEV;
	} else if (ila_locator_parse(argv[0], &r.locator, err, sizeof(err)) < 0) {
		usage();
	}
	if (!(r.oif = (int)if_nametoindex(argv[1])) ||
	    inet_pton(AF_INET6, argv[2], &r.gateway.v6) != 1)
		usage();
	rc = kernel_open(&kn, proto, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "kbpf-ctl: %s\n", err);
		return 1;
	}
	/* the adds, timed, up to the first refusal; then every one deleted */
	for (int del = 0; del < 2; del++) {
		uint32_t end = del ? count : done;

		for (uint32_t i = 0; i < end; ) {
			uint32_t n = end - i < batch ? end - i : batch;

			kernel_batch_begin(kn);
			for (uint32_t j = 0; j < n; j++) {
				load_addr(i + j + 1, &r.dst.v6);
				rc = del ? kernel_route_delete(kn, &r) : kernel_route_replace(kn, &r);
				if (rc < 0)
					goto fail;
			}
			t0 = now_s();
			rc = kernel_batch_commit(kn, route_fail, &f);
			if (rc < 0)
				goto fail;
			if (!del)
				t += now_s() - t0;
			if (rc > 0 && !del && f.err == -ENOMEM && retries < max_retries) {
				/* the kernel may take the rest after a pause: the
				 * batch again from its first refused route, the
				 * pause counted in the time */
				struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

				t0 = now_s();
				nanosleep(&ts, NULL);
				t += now_s() - t0;
				retries++;
				i += (uint32_t)f.first;
				memset(&f, 0, sizeof(f));
				continue;
			}
			if (rc > 0 && !del) {
				done = i + (uint32_t)f.first;
				break;
			}
			if (rc > 0)
				ret = 1;
			i += n;
		}
		if (!del && done == count)
			printf("load-routes n=%u batch=%u seconds=%.6f retries=%u\n", count, batch, t,
			       retries);
		else if (!del)
			printf("load-routes n=%u batch=%u seconds=%.6f retries=%u refused_after=%u "
			       "error=%d\n", count, batch, t, retries, done, -f.err);
		fflush(stdout);
	}
	kernel_close(kn);
	return ret || done < count ? 1 : 0;
fail:
	fprintf(stderr, "kbpf-ctl: load-routes: %s\n", strerror(-rc));
	kernel_close(kn);
	return 1;
}

int main(int argc, char **argv)
{
	uint32_t max = 0, batch = 10000, count, proto = KERNEL_ROUTE_PROTOCOL_DEFAULT, retries = 0;
	int opt;

	while ((opt = getopt(argc, argv, "+m:b:p:r:")) != -1) {
		switch (opt) {
		case 'r':
			if (parse_u32(optarg, &retries) < 0)
				usage();
			break;
		case 'm':
			if (parse_u32(optarg, &max) < 0)
				usage();
			break;
		case 'b':
			if (parse_u32(optarg, &batch) < 0 || batch == 0)
				usage();
			break;
		case 'p':
			if (parse_u32(optarg, &proto) < 0 || proto < 1 || proto > 255)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && strcmp(argv[0], "serve") == 0)
		return cmd_serve(max, (uint8_t)proto);
	if (argc == 2 && strcmp(argv[0], "load-map") == 0 && parse_u32(argv[1], &count) == 0 &&
	    count > 0)
		return cmd_load_map(max ? max : count, count, batch);
	if (argc == 5 && strcmp(argv[0], "load-routes") == 0 &&
	    parse_u32(argv[1], &count) == 0 && count > 0)
		return cmd_load_routes((uint8_t)proto, count, batch, retries, argv + 2);
	usage();
	return 2;
}
