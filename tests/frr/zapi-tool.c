/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Drives the zebra API client for tests/frr/run and bench/frr.sh: commands
 * on stdin, one per line, answers and events on stdout, one per line.
 *
 *   add PREFIX/LEN blackhole | dev IF | via GATE [dev IF] [distance N] [metric N]
 *   del PREFIX/LEN
 *   routes           "route PREFIX/LEN STATE" per route, then "end"
 *   stats            "stats connects=N ... version=N up=0|1"
 *   flush            withdraw every route, close, exit
 *   quit (or EOF)    close without withdrawing, exit
 * Events: "event up PROFILE", "event down REASON". Answers: "ok", "error ...".
 *
 * usage: zapi-tool -s SOCKET [-v 0|8|9|10] [-t babel|openfabric|table|NUMBER] [-i INSTANCE]
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "routing/zapi.h"

struct tool {
	struct ev_loop *loop;
	struct zapi *z;
	ev_io in_w;
	char line[1024];
	size_t len;
};

static void on_event(void *arg, int ev)
{
	struct tool *t = arg;

	if (ev == ZAPI_EV_UP)
		printf("event up %s\n", zapi_profile_name(zapi_stats(t->z)->version));
	else
		printf("event down %s\n", zapi_last_error(t->z));
	fflush(stdout);
}

static int parse_prefix(const char *s, int *family, union zaddr *a, uint8_t *plen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long l;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	l = strtoul(slash + 1, &end, 10);
	if (*end || l > 128)
		return -1;
	*plen = (uint8_t)l;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET6, buf, &a->v6) == 1)
		*family = AF_INET6;
	else if (inet_pton(AF_INET, buf, &a->v4) == 1)
		*family = AF_INET;
	else
		return -1;
	return 0;
}

static const char *cmd_add(struct tool *t, char **w, int n)
{
	struct zroute r;
	bool blackhole = false;
	int gfam = 0, i = 2, rc;

	memset(&r, 0, sizeof(r));
	if (n < 3 || parse_prefix(w[1], &r.family, &r.prefix, &r.plen) < 0)
		return "bad prefix";
	if (!strcmp(w[2], "blackhole")) {
		blackhole = true;
		i = 3;
	}
	while (i < n) {
		if (i + 1 >= n)
			return "missing value";
		if (!strcmp(w[i], "via")) {
			if (inet_pton(AF_INET6, w[i + 1], &r.gate.v6) == 1)
				gfam = AF_INET6;
			else if (inet_pton(AF_INET, w[i + 1], &r.gate.v4) == 1)
				gfam = AF_INET;
			else
				return "bad gateway";
		} else if (!strcmp(w[i], "dev")) {
			r.ifindex = (int)if_nametoindex(w[i + 1]);
			if (!r.ifindex)
				return "no such device";
		} else if (!strcmp(w[i], "distance")) {
			r.distance = (uint8_t)atoi(w[i + 1]);
		} else if (!strcmp(w[i], "metric")) {
			r.metric = (uint32_t)strtoul(w[i + 1], NULL, 10);
		} else {
			return "unknown keyword";
		}
		i += 2;
	}
	if (blackhole)
		r.nh = ZNH_BLACKHOLE;
	else if (gfam == AF_INET6)
		r.nh = r.ifindex ? ZNH_IPV6_IFINDEX : ZNH_IPV6;
	else if (gfam == AF_INET)
		r.nh = r.ifindex ? ZNH_IPV4_IFINDEX : ZNH_IPV4;
	else if (r.ifindex)
		r.nh = ZNH_IFINDEX;
	else
		return "no next hop";
	rc = zapi_route_set(t->z, &r);
	return rc < 0 ? strerror(-rc) : NULL;
}

static void print_route(void *arg, const struct zroute *r, enum zroute_state st)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(r->family, &r->prefix, a, sizeof(a));
	printf("route %s/%u %s\n", a, r->plen, zroute_state_name(st));
}

static void finish(struct tool *t, bool withdraw)
{
	zapi_close(t->z, withdraw);
	t->z = NULL;
	ev_io_stop(t->loop, &t->in_w);
	ev_break(t->loop, EVBREAK_ALL);
	printf("bye\n");
	fflush(stdout);
}

static void command(struct tool *t, char *line)
{
	char *w[16], *save = NULL;
	const char *e = NULL;
	int n = 0;

	for (char *p = strtok_r(line, " \t\r", &save); p && n < 16; p = strtok_r(NULL, " \t\r", &save))
		w[n++] = p;
	if (!n)
		return;
	if (!strcmp(w[0], "add")) {
		e = cmd_add(t, w, n);
	} else if (!strcmp(w[0], "del")) {
		union zaddr a;
		uint8_t plen;
		int fam, rc;

		if (n < 2 || parse_prefix(w[1], &fam, &a, &plen) < 0)
			e = "bad prefix";
		else if ((rc = zapi_route_unset(t->z, fam, &a, plen)) < 0)
			e = strerror(-rc);
	} else if (!strcmp(w[0], "routes")) {
		zapi_routes(t->z, print_route, NULL);
		printf("end\n");
		fflush(stdout);
		return;
	} else if (!strcmp(w[0], "stats")) {
		const struct zapi_stats *s = zapi_stats(t->z);

		printf("stats connects=%" PRIu64 " disconnects=%" PRIu64 " sent=%" PRIu64
		       " notifications=%" PRIu64 " installed=%" PRIu64 " failed=%" PRIu64
		       " malformed=%" PRIu64 " unknown=%" PRIu64 " errors=%" PRIu64
		       " stale=%" PRIu64 " version=%d up=%d\n",
		       s->connects, s->disconnects, s->sent, s->notifications, s->installed,
		       s->failed, s->malformed, s->unknown, s->errors, s->stale, s->version, s->up);
		fflush(stdout);
		return;
	} else if (!strcmp(w[0], "flush") || !strcmp(w[0], "quit")) {
		finish(t, !strcmp(w[0], "flush"));
		return;
	} else {
		e = "unknown command";
	}
	if (e)
		printf("error %s\n", e);
	else
		printf("ok\n");
	fflush(stdout);
}

static void stdin_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tool *t = w->data;
	ssize_t n = read(0, t->line + t->len, sizeof(t->line) - 1 - t->len);
	char *nl;

	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		finish(t, false);
		return;
	}
	t->len += (size_t)n;
	while (t->z && (nl = memchr(t->line, '\n', t->len))) {
		size_t used = (size_t)(nl - t->line) + 1;

		*nl = '\0';
		command(t, t->line);
		memmove(t->line, t->line + used, t->len - used);
		t->len -= used;
	}
	if (t->len == sizeof(t->line) - 1)
		t->len = 0; /* an overlong line is dropped */
}

int main(int argc, char **argv)
{
	struct zapi_conf c = { .route_type_name = ILA_CONF_ZRT_BABEL };
	struct tool t = { 0 };
	char err[160];
	int opt;

	while ((opt = getopt(argc, argv, "s:v:t:i:")) != -1) {
		switch (opt) {
		case 's':
			c.socket = optarg;
			break;
		case 'v':
			c.version = atoi(optarg);
			break;
		case 't':
			if (!strcmp(optarg, "babel")) {
				c.route_type_name = ILA_CONF_ZRT_BABEL;
			} else if (!strcmp(optarg, "openfabric")) {
				c.route_type_name = ILA_CONF_ZRT_OPENFABRIC;
			} else if (!strcmp(optarg, "table")) {
				c.route_type_name = ILA_CONF_ZRT_TABLE;
			} else {
				c.route_type_name = ILA_CONF_ZRT_NUMBER;
				c.route_type_num = (uint8_t)atoi(optarg);
			}
			break;
		case 'i':
			c.instance = (uint16_t)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s -s SOCKET [-v 0|8|9|10] [-t TYPE] [-i N]\n",
				argv[0]);
			return 2;
		}
	}
	t.loop = ev_default_loop(0);
	if (zapi_open(&t.z, t.loop, &c, on_event, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "zapi-tool: %s\n", err);
		return 1;
	}
	ev_io_init(&t.in_w, stdin_cb, 0, EV_READ);
	t.in_w.data = &t;
	ev_io_start(t.loop, &t.in_w);
	ev_run(t.loop, 0);
	if (t.z)
		zapi_close(t.z, false);
	return 0;
}
