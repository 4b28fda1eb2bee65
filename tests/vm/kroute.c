/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kroute: a command-line driver of ilad's netlink layer (routing/kernel.c),
 * for the VM suites and the benches, where iproute2 is the independent
 * reader of what it wrote.
 *
 *   kroute [-p PROTO] probe
 *   kroute [-p PROTO] batch FILE|-      one route operation a line:
 *       replace|delete [unreachable|blackhole] PREFIX [encap ila LOC
 *           [csum-mode M] [ident-type T] [hook-type output|input]]
 *           [via GW] [dev IF] [table N]
 *   kroute [-p PROTO] dump [-4|-6] [table N]   lines in the same syntax
 *   kroute xlat-add LOC_MATCH LOC [dev IF] [csum-mode M] [ident-type T]
 *   kroute xlat-get LOC_MATCH [dev IF]
 *   kroute xlat-del LOC_MATCH [dev IF]
 *   kroute xlat-list
 *
 * Exit status: 0 success, 1 a request failed (details on stderr), 2 usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "routing/kernel.h"

#define LINE_MAX_WORDS 24

struct tool {
	struct kernel *k;
	const char *file;
	size_t *lines; /* batch index -> input line number */
	size_t nlines, cap;
	char last_dev[IF_NAMESIZE];
	int last_ifindex;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: kroute [-p PROTO] probe | batch FILE | dump [-4|-6] [table N]\n"
		"       kroute xlat-add LOC_MATCH LOC [dev IF] [csum-mode M] [ident-type T]\n"
		"       kroute xlat-get|xlat-del LOC_MATCH [dev IF] | xlat-list\n");
	exit(2);
}

/* if_nametoindex() is a syscall: batches name the same device many times. */
static int dev_index(struct tool *t, const char *name)
{
	unsigned int idx;

	if (t->last_ifindex && strcmp(name, t->last_dev) == 0)
		return t->last_ifindex;
	idx = if_nametoindex(name);
	if (!idx)
		return -ENODEV;
	snprintf(t->last_dev, sizeof(t->last_dev), "%s", name);
	t->last_ifindex = (int)idx;
	return (int)idx;
}

static int parse_prefix(const char *s, struct kroute *r)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long len;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET6, buf, &r->dst.v6) == 1)
		r->family = AF_INET6;
	else if (inet_pton(AF_INET, buf, &r->dst.v4) == 1)
		r->family = AF_INET;
	else
		return -EINVAL;
	len = r->family == AF_INET6 ? 128 : 32;
	if (slash) {
		unsigned long max = len;

		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || len > max)
			return -EINVAL;
	}
	r->dst_len = (uint8_t)len;
	return 0;
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

/* Parses words[0..n) (after replace/delete) into r; a message in err. A
 * delete needs the prefix (and table) only. */
static int parse_route(struct tool *t, char **w, int n, bool del, struct kroute *r, char *err,
		       size_t errlen)
{
	int i = 0, idx;

	memset(r, 0, sizeof(*r));
	r->kind = KROUTE_DEV;
	r->hook_type = KROUTE_HOOK_UNSET;
	if (i < n && strcmp(w[i], "unreachable") == 0) {
		r->kind = KROUTE_UNREACHABLE;
		i++;
	} else if (i < n && strcmp(w[i], "blackhole") == 0) {
		r->kind = KROUTE_BLACKHOLE;
		i++;
	}
	if (i >= n || parse_prefix(w[i], r) < 0) {
		snprintf(err, errlen, "bad or missing prefix");
		return -EINVAL;
	}
	for (i++; i < n; i++) {
		const char *key = w[i], *val = i + 1 < n ? w[i + 1] : NULL;
		enum ila_csum_mode cm;
		enum ila_ident_type it;

		if (strcmp(key, "encap") == 0 && val && strcmp(val, "ila") == 0 && i + 2 < n) {
			if (ila_locator_parse(w[i + 2], &r->locator, err, errlen) < 0)
				return -EINVAL;
			r->kind = KROUTE_ILA;
			r->csum_mode = ILA_CSUM_NO_ACTION;
			r->ident_type = ILA_IDENT_USE_FORMAT;
			i += 2;
			continue;
		}
		if (!val) {
			snprintf(err, errlen, "\"%s\" needs a value", key);
			return -EINVAL;
		}
		i++;
		if (strcmp(key, "csum-mode") == 0) {
			if (ila_csum_mode_parse(val, &cm, err, errlen) < 0)
				return -EINVAL;
			r->csum_mode = (uint8_t)cm;
		} else if (strcmp(key, "ident-type") == 0) {
			if (ila_ident_type_parse(val, &it, err, errlen) < 0)
				return -EINVAL;
			r->ident_type = (uint8_t)it;
		} else if (strcmp(key, "hook-type") == 0) {
			if (strcmp(val, "output") == 0)
				r->hook_type = KROUTE_HOOK_OUTPUT;
			else if (strcmp(val, "input") == 0)
				r->hook_type = KROUTE_HOOK_INPUT;
			else
				goto bad;
		} else if (strcmp(key, "via") == 0) {
			if (inet_pton(r->family, val, r->gateway.b) != 1)
				goto bad;
		} else if (strcmp(key, "dev") == 0) {
			idx = dev_index(t, val);
			if (idx < 0) {
				snprintf(err, errlen, "no device \"%s\"", val);
				return -ENODEV;
			}
			r->oif = idx;
		} else if (strcmp(key, "oif") == 0) {
			uint32_t v;

			if (parse_u32(val, &v) < 0 || v > INT32_MAX)
				goto bad;
			r->oif = (int)v;
		} else if (strcmp(key, "table") == 0) {
			if (parse_u32(val, &r->table) < 0)
				goto bad;
		} else {
			snprintf(err, errlen, "unknown word \"%s\"", key);
			return -EINVAL;
		}
		continue;
bad:
		snprintf(err, errlen, "bad %s \"%s\"", key, val);
		return -EINVAL;
	}
	if (!del && kroute_check(r) < 0) {
		snprintf(err, errlen, "route is incomplete or inconsistent");
		return -EINVAL;
	}
	return 0;
}

static int split(char *line, char **w)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && n < LINE_MAX_WORDS;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = tok;
	return n;
}

static void report(void *arg, size_t index, const struct kroute *r, bool del, int err,
		   const char *msg)
{
	const struct tool *t = arg;
	char buf[KROUTE_STRLEN];

	fprintf(stderr, "%s:%zu: %s %s: %s%s%s%s\n", t->file,
		index < t->nlines ? t->lines[index] : 0, del ? "delete" : "replace",
		kroute_format(r, buf, sizeof(buf)), strerror(-err), msg[0] ? " (" : "", msg,
		msg[0] ? ")" : "");
}

static int cmd_batch(struct tool *t, const char *path)
{
	char line[1024], err[200], *w[LINE_MAX_WORDS];
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t lineno = 0;
	int n, r, bad = 0;

	if (!f) {
		fprintf(stderr, "kroute: %s: %s\n", path, strerror(errno));
		return 1;
	}
	t->file = path;
	kernel_batch_begin(t->k);
	while (fgets(line, sizeof(line), f)) {
		struct kroute rt;
		bool del;

		lineno++;
		n = split(line, w);
		if (n == 0 || w[0][0] == '#')
			continue;
		if (strcmp(w[0], "replace") == 0)
			del = false;
		else if (strcmp(w[0], "delete") == 0)
			del = true;
		else {
			fprintf(stderr, "%s:%zu: expected replace or delete\n", path, lineno);
			bad++;
			continue;
		}
		if (parse_route(t, w + 1, n - 1, del, &rt, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, err);
			bad++;
			continue;
		}
		r = del ? kernel_route_delete(t->k, &rt) : kernel_route_replace(t->k, &rt);
		if (r < 0) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, strerror(-r));
			bad++;
			continue;
		}
		if (t->nlines == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 1024;
			size_t *p = realloc(t->lines, cap * sizeof(*p));

			if (!p) {
				fprintf(stderr, "kroute: out of memory\n");
				return 1;
			}
			t->lines = p;
			t->cap = cap;
		}
		t->lines[t->nlines++] = lineno;
	}
	if (f != stdin)
		fclose(f);
	r = kernel_batch_commit(t->k, report, t);
	if (r < 0) {
		fprintf(stderr, "kroute: batch: %s\n", strerror(-r));
		return 1;
	}
	return r || bad ? 1 : 0;
}

/* Prints a route in the batch syntax, with device names. */
static int print_route(void *arg, const struct kroute *r)
{
	char dst[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN], loc[ILA_LOCATOR_STRLEN];
	char dev[IF_NAMESIZE];
	static const union kaddr zero;

	(void)arg;
	inet_ntop(r->family, r->dst.b, dst, sizeof(dst));
	printf("%s%s/%u", r->kind == KROUTE_UNREACHABLE ? "unreachable " :
			  r->kind == KROUTE_BLACKHOLE ? "blackhole " : "", dst, r->dst_len);
	if (r->kind == KROUTE_ILA) {
		const char *cs = ila_csum_mode_name((enum ila_csum_mode)r->csum_mode);
		const char *it = ila_ident_type_name((enum ila_ident_type)r->ident_type);

		printf(" encap ila %s csum-mode %s ident-type %s",
		       ila_locator_format(&r->locator, loc, sizeof(loc)), cs ? cs : "?",
		       it ? it : "?");
		if (r->hook_type != KROUTE_HOOK_UNSET)
			printf(" hook-type %s",
			       r->hook_type == KROUTE_HOOK_INPUT ? "input" : "output");
	}
	if (r->kind == KROUTE_OTHER)
		printf(" other");
	if (r->kind == KROUTE_ILA || r->kind == KROUTE_DEV || r->kind == KROUTE_OTHER) {
		if (memcmp(&r->gateway, &zero, sizeof(zero)) != 0)
			printf(" via %s", inet_ntop(r->family, r->gateway.b, gw, sizeof(gw)));
		if (r->oif > 0) {
			if (if_indextoname((unsigned int)r->oif, dev))
				printf(" dev %s", dev);
			else
				printf(" oif %d", r->oif);
		}
	}
	printf(" table %u\n", r->table);
	return 0;
}

static int cmd_dump(struct tool *t, int argc, char **argv)
{
	int i, r, fams[2] = { AF_INET6, AF_INET }, nf = 2;
	uint32_t table = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-4") == 0 || strcmp(argv[i], "-6") == 0) {
			fams[0] = argv[i][1] == '4' ? AF_INET : AF_INET6;
			nf = 1;
		} else if (strcmp(argv[i], "table") == 0 && i + 1 < argc &&
			   parse_u32(argv[i + 1], &table) == 0) {
			i++;
		} else {
			usage();
		}
	}
	for (i = 0; i < nf; i++) {
		r = kernel_route_dump(t->k, fams[i], table, print_route, NULL);
		if (r < 0) {
			fprintf(stderr, "kroute: dump: %s\n", strerror(-r));
			return 1;
		}
	}
	return 0;
}

/* LOC_MATCH [LOC] [dev IF] [csum-mode M] [ident-type T] */
static int parse_xlat(struct tool *t, int argc, char **argv, bool with_loc, struct kxlat *x)
{
	char err[200];
	int i = 1;

	memset(x, 0, sizeof(*x));
	x->csum_mode = ILA_CSUM_NO_ACTION;
	x->ident_type = ILA_IDENT_USE_FORMAT;
	if (argc < 1 || ila_locator_parse(argv[0], &x->loc_match, err, sizeof(err)) < 0)
		goto bad;
	if (with_loc) {
		if (argc < 2 || ila_locator_parse(argv[1], &x->loc, err, sizeof(err)) < 0)
			goto bad;
		i = 2;
	}
	for (; i + 1 < argc; i += 2) {
		enum ila_csum_mode cm;
		enum ila_ident_type it;

		if (strcmp(argv[i], "dev") == 0) {
			x->ifindex = dev_index(t, argv[i + 1]);
			if (x->ifindex < 0)
				goto bad;
		} else if (strcmp(argv[i], "csum-mode") == 0 &&
			   ila_csum_mode_parse(argv[i + 1], &cm, err, sizeof(err)) == 0) {
			x->csum_mode = (uint8_t)cm;
		} else if (strcmp(argv[i], "ident-type") == 0 &&
			   ila_ident_type_parse(argv[i + 1], &it, err, sizeof(err)) == 0) {
			x->ident_type = (uint8_t)it;
		} else {
			goto bad;
		}
	}
	if (i != argc)
		goto bad;
	return 0;
bad:
	usage();
	return -EINVAL;
}

static int print_xlat(void *arg, const struct kxlat *x)
{
	char a[ILA_LOCATOR_STRLEN], b[ILA_LOCATOR_STRLEN], dev[IF_NAMESIZE] = "-";
	const char *cs = ila_csum_mode_name((enum ila_csum_mode)x->csum_mode);
	const char *it = ila_ident_type_name((enum ila_ident_type)x->ident_type);

	(void)arg;
	if (x->ifindex > 0 && !if_indextoname((unsigned int)x->ifindex, dev))
		snprintf(dev, sizeof(dev), "%d", x->ifindex);
	printf("loc_match %s loc %s dev %s csum-mode %s ident-type %s\n",
	       ila_locator_format(&x->loc_match, a, sizeof(a)),
	       ila_locator_format(&x->loc, b, sizeof(b)), dev, cs ? cs : "?", it ? it : "?");
	return 0;
}

static int fail(const struct tool *t, const char *what, int err)
{
	const char *msg = kernel_last_error(t->k);

	fprintf(stderr, "kroute: %s: %s%s%s%s\n", what, strerror(-err), msg[0] ? " (" : "", msg,
		msg[0] ? ")" : "");
	return 1;
}

int main(int argc, char **argv)
{
	static const char *const results[] = { "added", "present", "replaced" };
	struct tool t = { 0 };
	char err[256];
	unsigned long proto = KERNEL_ROUTE_PROTOCOL_DEFAULT;
	struct kxlat x;
	int opt, r, ret = 0;
	char *end;

	while ((opt = getopt(argc, argv, "+p:")) != -1) {
		if (opt != 'p')
			usage();
		proto = strtoul(optarg, &end, 0);
		if (*end || proto < 1 || proto > 255)
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	r = kernel_open(&t.k, (uint8_t)proto, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kroute: %s\n", err);
		return 1;
	}
	if (strcmp(argv[0], "probe") == 0) {
		r = kernel_probe_ila(t.k, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "kroute: %s\n", err);
			ret = 1;
		} else {
			printf("ila: ok\n");
		}
	} else if (strcmp(argv[0], "batch") == 0 && argc == 2) {
		ret = cmd_batch(&t, argv[1]);
	} else if (strcmp(argv[0], "dump") == 0) {
		ret = cmd_dump(&t, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "xlat-add") == 0) {
		parse_xlat(&t, argc - 1, argv + 1, true, &x);
		r = kernel_xlat_add(t.k, &x);
		if (r < 0)
			ret = fail(&t, "xlat-add", r);
		else
			printf("%s\n", results[r]);
	} else if (strcmp(argv[0], "xlat-del") == 0) {
		parse_xlat(&t, argc - 1, argv + 1, false, &x);
		r = kernel_xlat_del(t.k, &x);
		if (r < 0)
			ret = fail(&t, "xlat-del", r);
	} else if (strcmp(argv[0], "xlat-get") == 0) {
		struct kxlat cur;

		parse_xlat(&t, argc - 1, argv + 1, false, &x);
		r = kernel_xlat_get(t.k, &x.loc_match, x.ifindex, &cur);
		if (r < 0)
			ret = fail(&t, "xlat-get", r);
		else
			print_xlat(NULL, &cur);
	} else if (strcmp(argv[0], "xlat-list") == 0) {
		r = kernel_xlat_dump(t.k, print_xlat, NULL);
		if (r < 0)
			ret = fail(&t, "xlat-list", r);
	} else {
		usage();
	}
	free(t.lines);
	kernel_close(t.k);
	return ret;
}
