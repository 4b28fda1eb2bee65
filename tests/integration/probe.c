/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-probe: a test client of ila-mapper built on the real codec, framing
 * and TLS code of libila. Every subcommand is bounded by counts and by
 * --timeout; the exit code and a few plain lines on stdout tell the test
 * harness (tests/integration/run) what was observed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "frame.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

enum exit_code {
	EX_OK = 0,	/* everything asked for happened */
	EX_USAGE = 1,	/* bad arguments or a local failure */
	EX_REFUSED = 2,	/* some records refused (ACK status or ERROR) */
	EX_LOST = 3,	/* connection failed or dropped before the end */
	EX_TIMEOUT = 4,	/* --timeout passed first */
	EX_DENIED = 5,	/* the session itself was refused (TLS or OPEN) */
};

enum cmd { C_REGISTER, C_DEREGISTER, C_QUERY, C_SUBSCRIBE, C_OPEN, C_RAW, C_ENCODE };

static const char *const cmd_names[] = {
	"register", "deregister", "query", "subscribe", "open", "raw", "encode",
};

#define PROBE_MAX_CONNECT 8

struct opts {
	enum cmd cmd;
	char host[256], port[16];	/* the first --connect */
	/* subscribe: every --connect, tried in turn when a session is lost */
	char hosts[PROBE_MAX_CONNECT][256], ports[PROBE_MAX_CONNECT][16];
	unsigned int nconnect;
	const char *tlsdir, *name, *ca, *node, *acked, *file, *trigger, *etype, *log;
	bool plaintext, nocert, resume, do_fsync, json, quiet, open_first, shutdown;
	uint32_t vn, lifetime, rflags, caps, timeout_ms, keepalive_ms, dead_ms, hold_ms;
	uint32_t linger_ms, xid;
	struct ila_sir_prefix prefix;
	bool has_prefix, has_loc, has_standby, has_expect;
	uint64_t start, count, seq;
	unsigned int batch, window, sessions, stall;
	int stall_rcvbuf;
	uint8_t state;
	struct ila_locator loc, standby, expect_loc;
	struct in6_addr expect;
	struct in6_addr *addrs;	/* --addr, repeated */
	size_t naddrs;
	char **hex;
	size_t nhex;
};

enum sess_state { SS_HANDSHAKE, SS_OPENING, SS_UP, SS_CLOSED };

struct sess {
	unsigned int idx;
	struct ila_tls_ctx tls;
	struct ila_conn conn;
	struct ila_frame_reader rd;
	struct ila_frame_writer wr;
	enum sess_state st;
	bool stalled, snap_done, saw;
	uint32_t next_xid, ka_ms;
	uint64_t ka_due, snap_recs;
	int64_t saw_ns;
	/* subscribe with several --connect: where it is, what it resumes from */
	unsigned int ep;	/* index in o.hosts */
	bool in_snapshot;
	uint64_t pos, directory, retry_at;
};

/* A request in flight: the slice of work[] it carries. */
struct batch {
	uint32_t xid;
	size_t first, n;
	bool live;
};

struct probe {
	struct opts o;
	struct sess *ss;
	unsigned int nss;
	uint64_t deadline;
	struct in6_addr *work;	/* addresses to register or query */
	size_t nwork, next;
	struct batch *fly;	/* o.window slots */
	struct ila_record *scratch;
	bool *answered;
	size_t acked, refused, found, missing;
	FILE *ackf;
	FILE *logf;	/* subscribe --log: every record pushed, as received */
	bool ready, finished, any_reply, json_first, holding;
	int64_t ready_ns;
	int result;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ila-probe COMMAND [OPTIONS]\n"
		"Test client of ila-mapper. Commands:\n"
		"  register    --vn ID --locator L (--prefix P --start N --count N | --addr A...)\n"
		"              [--seq S] [--lifetime S] [--standby L] [--flags N] [--batch N]\n"
		"              [--window N] [--acked FILE [--resume] [--fsync]] [--trigger FILE]\n"
		"              [--hold MS]   (keep the session up MS ms after the last ACK)\n"
		"  deregister  like register, with --state down|removed instead of --locator\n"
		"  query       --vn ID (--file FILE | --addr A... | --prefix P --start N --count N)\n"
		"              [--json | --quiet]   prints ADDR LOCATOR SEQ STATE OWNER, '-' when\n"
		"              missing; --quiet counts only\n"
		"  subscribe   --vn ID --sessions N [--stall K] --expect ADDR LOCATOR\n"
		"              [--trigger FILE] [--stall-rcvbuf BYTES]   prints READY, then latencies\n"
		"              [--log FILE]   writes IDX ADDR SEQ STATE KIND OWNER FLAGS per record\n"
		"              pushed (KIND s snapshot, p push, d directed) and # lines per session\n"
		"              --connect repeated: session I starts on mapper I modulo their number\n"
		"              and, when lost, goes to the next one after 100 ms, resuming its\n"
		"              position there when the mapper says the same DIRECTORY\n"
		"  open        [--hold MS]   OPEN only: prints OPENED or REFUSED\n"
		"  raw         --hex HEX... [--open] [--shutdown] [--linger MS]\n"
		"  encode      --type open|keepalive|register|deregister|query|subscribe|unsubscribe\n"
		"              [--xid N]   (same options as those commands; prints the frame in hex)\n"
		"Session options:\n"
		"  --connect HOST:PORT   mapper address ([::1]:7787, 127.0.0.1:7787)\n"
		"  --tls DIR --name CERT DIR/CERT.crt, DIR/CERT.key, DIR/ca.crt (--ca FILE)\n"
		"  --no-cert             TLS with no client certificate (needs --tls DIR)\n"
		"  --plaintext           no TLS\n"
		"  --node NAME           node name sent in OPEN\n"
		"  --timeout SEC         give up after SEC seconds (default 30)\n"
		"  --keepalive MS --dead MS --caps N   OPEN parameters (1000, 3000, 7)\n"
		"With --sessions N, '%%d' in --name and --node becomes the session index.\n"
		"Exit: 0 ok, 1 usage, 2 records refused, 3 connection lost, 4 timeout,\n"
		"5 session refused.\n");
}

static void die_usage(const char *fmt_arg, const char *what)
{
	fprintf(stderr, "ila-probe: %s: %s\n", what, fmt_arg);
	exit(EX_USAGE);
}

static uint64_t num(const char *s, const char *what, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s || s[0] == '-' || v > max)
		die_usage(s, what);
	return v;
}

static void parse_addr(const char *s, struct in6_addr *a)
{
	if (ila_addr6_parse(s, a, NULL, 0) < 0)
		die_usage(s, "bad IPv6 address");
}

static void parse_loc(const char *s, struct ila_locator *l)
{
	if (ila_locator_parse(s, l, NULL, 0) < 0)
		die_usage(s, "bad locator");
}

static void parse_connect(struct opts *o, const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t hl;

	if (o->nconnect == PROBE_MAX_CONNECT)
		die_usage(s, "too many --connect");

	if (!colon || colon == s || strlen(colon + 1) >= sizeof(o->port))
		die_usage(s, "bad --connect (HOST:PORT)");
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(o->host))
		die_usage(s, "bad --connect");
	memcpy(o->hosts[o->nconnect], s, hl);
	o->hosts[o->nconnect][hl] = '\0';
	strcpy(o->ports[o->nconnect], colon + 1);
	if (o->nconnect++ == 0) {
		strcpy(o->host, o->hosts[0]);
		strcpy(o->port, o->ports[0]);
	}
}

enum {
	OPT_CONNECT = 256, OPT_TLS, OPT_NAME, OPT_CA, OPT_NOCERT, OPT_PLAIN, OPT_NODE, OPT_VN,
	OPT_PREFIX, OPT_START, OPT_COUNT, OPT_BATCH, OPT_WINDOW, OPT_LOC, OPT_STANDBY, OPT_SEQ,
	OPT_LIFETIME, OPT_FLAGS, OPT_STATE, OPT_ACKED, OPT_RESUME, OPT_FSYNC, OPT_TRIGGER,
	OPT_ADDR, OPT_FILE, OPT_JSON, OPT_QUIET, OPT_SESSIONS, OPT_STALL, OPT_RCVBUF, OPT_EXPECT,
	OPT_TIMEOUT, OPT_KA, OPT_DEAD, OPT_CAPS, OPT_HOLD, OPT_HEX, OPT_OPEN, OPT_SHUT,
	OPT_LINGER, OPT_TYPE, OPT_XID, OPT_LOG, OPT_HELP,
};

static const struct option long_opts[] = {
	{"connect", 1, NULL, OPT_CONNECT}, {"tls", 1, NULL, OPT_TLS}, {"name", 1, NULL, OPT_NAME},
	{"ca", 1, NULL, OPT_CA}, {"no-cert", 0, NULL, OPT_NOCERT}, {"plaintext", 0, NULL, OPT_PLAIN},
	{"node", 1, NULL, OPT_NODE}, {"vn", 1, NULL, OPT_VN}, {"prefix", 1, NULL, OPT_PREFIX},
	{"start", 1, NULL, OPT_START}, {"count", 1, NULL, OPT_COUNT}, {"batch", 1, NULL, OPT_BATCH},
	{"window", 1, NULL, OPT_WINDOW}, {"locator", 1, NULL, OPT_LOC},
	{"standby", 1, NULL, OPT_STANDBY}, {"seq", 1, NULL, OPT_SEQ},
	{"lifetime", 1, NULL, OPT_LIFETIME}, {"flags", 1, NULL, OPT_FLAGS},
	{"state", 1, NULL, OPT_STATE}, {"acked", 1, NULL, OPT_ACKED}, {"resume", 0, NULL, OPT_RESUME},
	{"fsync", 0, NULL, OPT_FSYNC}, {"trigger", 1, NULL, OPT_TRIGGER}, {"addr", 1, NULL, OPT_ADDR},
	{"file", 1, NULL, OPT_FILE}, {"json", 0, NULL, OPT_JSON}, {"quiet", 0, NULL, OPT_QUIET},
	{"sessions", 1, NULL, OPT_SESSIONS},
	{"stall", 1, NULL, OPT_STALL}, {"stall-rcvbuf", 1, NULL, OPT_RCVBUF},
	{"expect", 1, NULL, OPT_EXPECT}, {"timeout", 1, NULL, OPT_TIMEOUT},
	{"keepalive", 1, NULL, OPT_KA}, {"dead", 1, NULL, OPT_DEAD}, {"caps", 1, NULL, OPT_CAPS},
	{"hold", 1, NULL, OPT_HOLD}, {"hex", 1, NULL, OPT_HEX}, {"open", 0, NULL, OPT_OPEN},
	{"shutdown", 0, NULL, OPT_SHUT}, {"linger", 1, NULL, OPT_LINGER}, {"type", 1, NULL, OPT_TYPE},
	{"xid", 1, NULL, OPT_XID}, {"log", 1, NULL, OPT_LOG}, {"help", 0, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static void parse_args(struct opts *o, int argc, char **argv)
{
	int c;

	*o = (struct opts){ .seq = 1, .lifetime = 300, .caps = 7, .timeout_ms = 30000,
			    .keepalive_ms = 1000, .dead_ms = 3000, .batch = 256, .window = 4,
			    .sessions = 1, .stall_rcvbuf = 4096, .linger_ms = 500, .xid = 1,
			    .node = "probe" };
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		exit(argc < 2 ? EX_USAGE : EX_OK);
	}
	for (c = 0; c < (int)ILA_ARRAY_SIZE(cmd_names) && strcmp(argv[1], cmd_names[c]); c++)
		;
	if (c == (int)ILA_ARRAY_SIZE(cmd_names))
		die_usage(argv[1], "unknown command");
	o->cmd = (enum cmd)c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "+", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONNECT: parse_connect(o, optarg); break;
		case OPT_TLS: o->tlsdir = optarg; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_CA: o->ca = optarg; break;
		case OPT_NOCERT: o->nocert = true; break;
		case OPT_PLAIN: o->plaintext = true; break;
		case OPT_NODE: o->node = optarg; break;
		case OPT_VN: o->vn = (uint32_t)num(optarg, "--vn", UINT32_MAX); break;
		case OPT_PREFIX:
			if (ila_sir_prefix_parse(optarg, &o->prefix, NULL, 0) < 0)
				die_usage(optarg, "bad --prefix (a /64)");
			o->has_prefix = true;
			break;
		case OPT_START: o->start = num(optarg, "--start", UINT64_MAX); break;
		case OPT_COUNT: o->count = num(optarg, "--count", 10000000); break;
		case OPT_BATCH: o->batch = (unsigned int)num(optarg, "--batch", 1024); break;
		case OPT_WINDOW: o->window = (unsigned int)num(optarg, "--window", 64); break;
		case OPT_LOC: parse_loc(optarg, &o->loc); o->has_loc = true; break;
		case OPT_STANDBY: parse_loc(optarg, &o->standby); o->has_standby = true; break;
		case OPT_SEQ: o->seq = num(optarg, "--seq", UINT64_MAX); break;
		case OPT_LIFETIME: o->lifetime = (uint32_t)num(optarg, "--lifetime", UINT32_MAX); break;
		case OPT_FLAGS: o->rflags = (uint32_t)num(optarg, "--flags", UINT32_MAX); break;
		case OPT_STATE:
			if (strcmp(optarg, "down") && strcmp(optarg, "removed"))
				die_usage(optarg, "--state is down or removed");
			o->state = optarg[0] == 'd' ? ILA_STATE_DOWN : ILA_STATE_REMOVED;
			break;
		case OPT_ACKED: o->acked = optarg; break;
		case OPT_RESUME: o->resume = true; break;
		case OPT_FSYNC: o->do_fsync = true; break;
		case OPT_TRIGGER: o->trigger = optarg; break;
		case OPT_ADDR:
			o->addrs = realloc(o->addrs, (o->naddrs + 1) * sizeof(*o->addrs));
			if (!o->addrs)
				die_usage("out of memory", "--addr");
			parse_addr(optarg, &o->addrs[o->naddrs++]);
			break;
		case OPT_FILE: o->file = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_SESSIONS: o->sessions = (unsigned int)num(optarg, "--sessions", 1000); break;
		case OPT_STALL: o->stall = (unsigned int)num(optarg, "--stall", 1000); break;
		case OPT_RCVBUF: o->stall_rcvbuf = (int)num(optarg, "--stall-rcvbuf", 1 << 24); break;
		case OPT_EXPECT:
			if (optind >= argc)
				die_usage(optarg, "--expect needs ADDR LOCATOR");
			parse_addr(optarg, &o->expect);
			parse_loc(argv[optind++], &o->expect_loc);
			o->has_expect = true;
			break;
		case OPT_TIMEOUT: o->timeout_ms = (uint32_t)num(optarg, "--timeout", 86400) * 1000; break;
		case OPT_KA: o->keepalive_ms = (uint32_t)num(optarg, "--keepalive", UINT32_MAX); break;
		case OPT_DEAD: o->dead_ms = (uint32_t)num(optarg, "--dead", UINT32_MAX); break;
		case OPT_CAPS: o->caps = (uint32_t)num(optarg, "--caps", UINT32_MAX); break;
		case OPT_HOLD: o->hold_ms = (uint32_t)num(optarg, "--hold", 86400000); break;
		case OPT_HEX:
			o->hex = realloc(o->hex, (o->nhex + 1) * sizeof(*o->hex));
			if (!o->hex)
				die_usage("out of memory", "--hex");
			o->hex[o->nhex++] = optarg;
			break;
		case OPT_OPEN: o->open_first = true; break;
		case OPT_SHUT: o->shutdown = true; break;
		case OPT_LINGER: o->linger_ms = (uint32_t)num(optarg, "--linger", 600000); break;
		case OPT_TYPE: o->etype = optarg; break;
		case OPT_XID: o->xid = (uint32_t)num(optarg, "--xid", UINT32_MAX); break;
		case OPT_LOG: o->log = optarg; break;
		case OPT_HELP: usage(stdout); exit(EX_OK);
		default: usage(stderr); exit(EX_USAGE);
		}
	}
	if (optind < argc)
		die_usage(argv[optind], "unexpected argument");
	if (!o->batch || !o->window || !o->sessions || o->stall > o->sessions || !o->keepalive_ms)
		die_usage("--batch, --window, --sessions, --keepalive > 0, --stall <= --sessions",
			  "bad counts");
	if (o->cmd != C_ENCODE && !o->host[0])
		die_usage("--connect HOST:PORT is required", cmd_names[o->cmd]);
	if (o->cmd != C_ENCODE && !o->plaintext && (!o->tlsdir || (!o->name && !o->nocert)))
		die_usage("give --tls DIR --name CERT (or --no-cert), or --plaintext", "session");
	if (o->cmd == C_REGISTER && !o->has_loc)
		die_usage("--locator is required", "register");
	if (o->cmd == C_DEREGISTER && !o->state)
		die_usage("--state down|removed is required", "deregister");
	if (o->cmd == C_SUBSCRIBE && !o->has_expect)
		die_usage("--expect ADDR LOCATOR is required", "subscribe");
	if (o->cmd != C_SUBSCRIBE && (o->log || o->nconnect > 1))
		die_usage("--log and more than one --connect are for subscribe", cmd_names[o->cmd]);
	if (o->cmd == C_RAW && !o->nhex)
		die_usage("--hex is required", "raw");
}

/* ---- work lists ---- */

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

static void work_add(struct probe *p, const struct in6_addr *a, size_t *cap)
{
	if (p->nwork == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		p->work = realloc(p->work, *cap * sizeof(*p->work));
		if (!p->work)
			die_usage("out of memory", "addresses");
	}
	p->work[p->nwork++] = *a;
}

/* Reads the first word of each line of path as an address; -1 if unreadable. */
static int read_addr_file(const char *path, struct in6_addr **out, size_t *n, bool lax)
{
	FILE *f = fopen(path, "r");
	char line[512], word[128];
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct in6_addr a;

		if (sscanf(line, "%127s", word) != 1 || word[0] == '#')
			continue;
		if (ila_addr6_parse(word, &a, NULL, 0) < 0) {
			if (lax)
				continue; /* a line cut short by a crash */
			die_usage(word, "bad address in file");
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				die_usage("out of memory", path);
		}
		(*out)[(*n)++] = a;
	}
	fclose(f);
	return 0;
}

/* The address list of register, deregister and query. With --resume the
 * addresses already in the --acked file are left out. */
static void build_work(struct probe *p)
{
	const struct opts *o = &p->o;
	size_t cap = 0, nskip = 0;
	struct in6_addr *skip = NULL;

	for (size_t i = 0; i < o->naddrs; i++)
		work_add(p, &o->addrs[i], &cap);
	if (o->file) {
		struct in6_addr *fa;
		size_t fn;

		if (read_addr_file(o->file, &fa, &fn, false) < 0)
			die_usage(o->file, "cannot read --file");
		for (size_t i = 0; i < fn; i++)
			work_add(p, &fa[i], &cap);
		free(fa);
	}
	if (o->count && !o->has_prefix)
		die_usage("--count needs --prefix", cmd_names[o->cmd]);
	for (uint64_t i = 0; i < o->count; i++) {
		struct ila_identifier id;
		struct in6_addr a;

		ila_put_be64(id.b, o->start + i);
		a = ila_addr_join(&o->prefix.loc, &id);
		work_add(p, &a, &cap);
	}
	if (o->resume && o->acked && read_addr_file(o->acked, &skip, &nskip, true) == 0) {
		size_t k = 0;

		qsort(skip, nskip, sizeof(*skip), addr_cmp);
		for (size_t i = 0; i < p->nwork; i++)
			if (!bsearch(&p->work[i], skip, nskip, sizeof(*skip), addr_cmp))
				p->work[k++] = p->work[i];
		printf("resume: %zu already acked, %zu to send\n", p->nwork - k, k);
		p->nwork = k;
	}
	free(skip);
	if (!p->nwork && o->cmd != C_ENCODE)
		die_usage("no addresses (--addr, --file or --prefix/--count)", cmd_names[o->cmd]);
}

/* ---- messages ---- */

static void fill_record(const struct opts *o, struct ila_record *r, const struct in6_addr *a)
{
	*r = (struct ila_record){ .family = AF_INET6, .addr6 = *a, .vn = o->vn, .seq = o->seq };
	if (o->cmd == C_DEREGISTER || (o->cmd == C_ENCODE && o->state)) {
		r->state = o->state;
		r->flags = o->rflags; /* STANDBY_REG: a standby withdraws */
		return;
	}
	r->state = ILA_STATE_UP;
	r->loc = o->loc;
	r->standby = o->standby;
	r->has_standby = o->has_standby;
	r->lifetime = o->lifetime;
	r->flags = o->rflags;
}

static void make_open(const struct opts *o, const char *node, struct ila_msg *m)
{
	*m = (struct ila_msg){ .type = ILA_MSG_OPEN };
	snprintf(m->open.node, sizeof(m->open.node), "%s", node);
	snprintf(m->open.sw_version, sizeof(m->open.sw_version), "ila-probe");
	m->open.caps = o->caps;
	m->open.keepalive_ms = o->keepalive_ms;
	m->open.dead_ms = o->dead_ms;
	m->open.role = ILA_ROLE_NODE;
}

/* '%d' in a template becomes the session index. */
static void subst(char *out, size_t len, const char *tmpl, unsigned int idx)
{
	const char *pct = strstr(tmpl, "%d");

	if (!pct)
		snprintf(out, len, "%s", tmpl);
	else
		snprintf(out, len, "%.*s%u%s", (int)(pct - tmpl), tmpl, idx, pct + 2);
}

static bool put(struct sess *s, struct ila_msg *m)
{
	int rc = ila_frame_writer_put_msg(&s->wr, m);

	if (rc < 0 && rc != -ENOBUFS) {
		fprintf(stderr, "ila-probe: encode %s: %s\n", ila_msg_type_name(m->type),
			ila_proto_strerror(rc));
		exit(EX_USAGE);
	}
	return rc == 0;
}

/* ---- sessions ---- */

static int tls_nocert_ctx(struct ila_tls_ctx *t, const char *ca)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return -1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*t = (struct ila_tls_ctx){ .ctx = ctx, .server = false };
	return 0;
}

static int sess_connect(struct probe *p, struct sess *s)
{
	const struct opts *o = &p->o;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	char err[256] = "", name[128], cert[600], key[600], ca[600];
	int fd, one = 1, rc;

	if (!o->plaintext) {
		subst(name, sizeof(name), o->name ? o->name : "", s->idx);
		snprintf(cert, sizeof(cert), "%s/%s.crt", o->tlsdir, name);
		snprintf(key, sizeof(key), "%s/%s.key", o->tlsdir, name);
		snprintf(ca, sizeof(ca), "%s", o->ca ? o->ca : "");
		if (!o->ca)
			snprintf(ca, sizeof(ca), "%s/ca.crt", o->tlsdir);
		rc = o->nocert ? tls_nocert_ctx(&s->tls, ca)
			       : ila_tls_ctx_init(&s->tls, false, cert, key, ca, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "ila-probe: TLS setup: %s\n", err[0] ? err : ca);
			exit(EX_USAGE);
		}
	}
	rc = getaddrinfo(o->hosts[s->ep], o->ports[s->ep], &hints, &ai);
	if (rc) {
		fprintf(stderr, "ila-probe: %s: %s\n", o->hosts[s->ep], gai_strerror(rc));
		exit(EX_USAGE);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->stalled) /* a small window, so that a stalled reader backs up soon */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->stall_rcvbuf, sizeof(int));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		rc = errno;
		close(fd);
		errno = rc;
		goto fail;
	}
	freeaddrinfo(ai);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (ila_conn_init(&s->conn, fd, o->plaintext ? NULL : &s->tls) < 0) {
		close(fd);
		return -1;
	}
	ila_frame_reader_init(&s->rd);
	ila_frame_writer_init(&s->wr, 0);
	s->st = SS_HANDSHAKE;
	s->next_xid = o->xid;
	return 0;
fail:
	printf("LOST %u connect %s:%s: %s\n", s->idx, o->hosts[s->ep], o->ports[s->ep],
	       strerror(errno));
	if (p->logf)
		fprintf(p->logf, "# lost %u connect %s:%s\n", s->idx, o->hosts[s->ep], o->ports[s->ep]);
	freeaddrinfo(ai);
	return -1;
}

static void sess_close(struct probe *p, struct sess *s, const char *why);
static void on_msg(struct probe *p, struct sess *s, struct ila_msg *m);
static void on_up(struct probe *p, struct sess *s);

static bool reading(const struct sess *s)
{
	return s->st != SS_CLOSED && !(s->stalled && s->snap_done);
}

static void sess_flush(struct probe *p, struct sess *s)
{
	while (s->st != SS_CLOSED && ila_frame_writer_pending(&s->wr)) {
		const uint8_t *b;
		size_t n = ila_frame_writer_peek(&s->wr, &b);
		ssize_t w = ila_conn_write(&s->conn, b, n);

		if (w == -EAGAIN)
			return;
		if (w < 0) {
			sess_close(p, s, strerror((int)-w));
			return;
		}
		ila_frame_writer_consume(&s->wr, (size_t)w);
	}
}

static void sess_handshake(struct probe *p, struct sess *s)
{
	char err[256] = "";
	int rc = ila_conn_handshake(&s->conn, err, sizeof(err));
	struct ila_msg m;
	char node[ILA_PROTO_NAME_MAX + 1];

	if (rc == -EAGAIN)
		return;
	if (rc < 0) {
		sess_close(p, s, err[0] ? err : "TLS handshake failed");
		return;
	}
	if (p->o.cmd == C_RAW && !p->o.open_first) {
		s->st = SS_UP;
		on_up(p, s);
		return;
	}
	subst(node, sizeof(node), p->o.node, s->idx);
	make_open(&p->o, node, &m);
	m.xid = s->next_xid++;
	put(s, &m);
	s->st = SS_OPENING;
}

static void sess_read(struct probe *p, struct sess *s)
{
	for (int k = 0; k < 64 && reading(s); k++) {
		uint8_t *space;
		ssize_t room = ila_frame_reader_space(&s->rd, &space), r;
		const uint8_t *f;
		size_t flen;
		int n;

		if (room <= 0) {
			sess_close(p, s, "reader full");
			return;
		}
		r = ila_conn_read(&s->conn, space, (size_t)room);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			sess_close(p, s, r == 0 ? "closed by the mapper" : strerror((int)-r));
			return;
		}
		ila_frame_reader_commit(&s->rd, (size_t)r);
		while (reading(s) && (n = ila_frame_reader_next(&s->rd, &f, &flen)) == 1) {
			struct ila_msg m;
			int rc = ila_msg_decode(f, flen, &m);

			if (rc < 0) {
				printf("BADFRAME %u %s\n", s->idx, ila_proto_strerror(rc));
				sess_close(p, s, "undecodable frame from the mapper");
				return;
			}
			on_msg(p, s, &m);
			ila_msg_free(&m);
		}
		if (s->st != SS_CLOSED && ila_frame_reader_next(&s->rd, &f, &flen) < 0) {
			sess_close(p, s, "bad framing from the mapper");
			return;
		}
	}
}

/* ---- per-command behaviour ---- */

static void write_trigger(const char *path)
{
	char tmp[1100];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%" PRId64 "\n", real_ns()) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) < 0)
		fprintf(stderr, "ila-probe: cannot write trigger %s\n", path);
}

static struct batch *slot_find(struct probe *p, uint32_t xid)
{
	for (unsigned int i = 0; p->fly && i < p->o.window; i++)
		if (p->fly[i].live && p->fly[i].xid == xid)
			return &p->fly[i];
	return NULL;
}

static bool slots_busy(const struct probe *p)
{
	for (unsigned int i = 0; p->fly && i < p->o.window; i++)
		if (p->fly[i].live)
			return true;
	return false;
}

/* Keeps o.window requests (REGISTER, DEREGISTER or QUERY) in flight. */
static void fill_window(struct probe *p, struct sess *s)
{
	const struct opts *o = &p->o;

	for (unsigned int i = 0; i < o->window && p->next < p->nwork; i++) {
		struct batch *b = &p->fly[i];
		size_t n = p->nwork - p->next < o->batch ? p->nwork - p->next : o->batch;
		struct ila_msg m = { .xid = s->next_xid, .rec = p->scratch, .nrec = n };

		if (b->live)
			continue;
		for (size_t k = 0; k < n; k++)
			fill_record(o, &p->scratch[k], &p->work[p->next + k]);
		if (o->cmd == C_QUERY) {
			m.type = ILA_MSG_QUERY;
			m.sub.vn = o->vn;
		} else {
			m.type = o->cmd == C_REGISTER ? ILA_MSG_REGISTER : ILA_MSG_DEREGISTER;
		}
		if (p->next == 0 && o->trigger)
			write_trigger(o->trigger);
		if (!put(s, &m))
			return; /* queue full: again once it drained */
		*b = (struct batch){ .xid = s->next_xid++, .first = p->next, .n = n, .live = true };
		p->next += n;
	}
}

static void reg_result(struct probe *p, const struct batch *b, const uint16_t *st, uint16_t all)
{
	char a[ILA_ADDR6_STRLEN];

	for (size_t k = 0; k < b->n; k++) {
		uint16_t code = st ? st[k] : all;

		ila_addr6_format(&p->work[b->first + k], a, sizeof(a));
		if (code == 0) {
			p->acked++;
			if (p->ackf)
				fprintf(p->ackf, "%s %" PRIu64 "\n", a, p->o.seq);
		} else {
			p->refused++;
			printf("REFUSED %s %" PRIu64 " 0x%x %s\n", a, p->o.seq, code,
			       ila_proto_err_name(code));
		}
	}
	if (p->ackf) {
		fflush(p->ackf);
		if (p->o.do_fsync)
			fdatasync(fileno(p->ackf));
	}
}

static void on_ack(struct probe *p, struct sess *s, const struct ila_msg *m)
{
	struct batch *b = slot_find(p, m->xid);

	if (!b) {
		printf("STRAY ack xid %" PRIu32 "\n", m->xid);
		return;
	}
	if (m->ack.nstatus == b->n)
		reg_result(p, b, m->ack.status, 0);
	else if (m->ack.nstatus == 0 && (!m->ack.has_count || m->ack.count == b->n))
		reg_result(p, b, NULL, 0);
	else {
		printf("BADACK xid %" PRIu32 " statuses %zu for %zu records\n", m->xid,
		       m->ack.nstatus, b->n);
		reg_result(p, b, NULL, ILA_PERR_INTERNAL);
	}
	b->live = false;
	fill_window(p, s);
}

static void print_rec(struct probe *p, const struct in6_addr *a, const struct ila_record *r)
{
	char as[ILA_ADDR6_STRLEN], ls[ILA_LOCATOR_STRLEN] = "-";
	const char *state = r ? ila_record_state_name(r->state) : "missing";

	ila_addr6_format(a, as, sizeof(as));
	if (r)
		ila_locator_format(&r->loc, ls, sizeof(ls));
	if (p->o.json) {
		printf("%s{\"addr\":\"%s\",\"locator\":%s%s%s,\"seq\":%" PRIu64
		       ",\"state\":\"%s\",\"owner\":\"%s\"}", p->json_first ? "" : ",\n ", as,
		       r ? "\"" : "", r ? ls : "null", r ? "\"" : "", r ? r->seq : 0, state,
		       r ? r->node : "");
		p->json_first = false;
	} else {
		printf("%s %s %" PRIu64 " %s %s\n", as, ls, r ? r->seq : 0, state,
		       r && r->node[0] ? r->node : "-");
	}
}

static void on_reply(struct probe *p, struct sess *s, const struct ila_msg *m)
{
	struct batch *b = slot_find(p, m->xid);

	if (!b) {
		printf("STRAY reply xid %" PRIu32 "\n", m->xid);
		return;
	}
	memset(p->answered, 0, b->n * sizeof(*p->answered));
	for (size_t i = 0, hint = 0; i < m->nrec; i++) {
		/* replies keep the query's order: look where the last one matched first */
		for (size_t j = 0; j < b->n; j++) {
			size_t k = (hint + j) % b->n;

			if (!p->answered[k] && !memcmp(&p->work[b->first + k], &m->rec[i].addr6,
						       sizeof(struct in6_addr))) {
				p->answered[k] = true;
				hint = k + 1;
				break;
			}
		}
		if (!p->o.quiet)
			print_rec(p, &m->rec[i].addr6, &m->rec[i]);
		p->found++;
	}
	for (size_t k = 0; k < b->n; k++) {
		if (!p->answered[k]) {
			if (!p->o.quiet)
				print_rec(p, &p->work[b->first + k], NULL);
			p->missing++;
		}
	}
	b->live = false;
	fill_window(p, s);
}

/* --log: each record as received, with what kind of frame carried it; the
 * harness applies section 9.1's rule to them (tests/etcd/directory). */
static void log_push(struct probe *p, const struct sess *s, const struct ila_msg *m)
{
	char kind = m->push.flags & ILA_PUSH_F_DIRECTED ? 'd' : s->in_snapshot ? 's' : 'p';

	for (size_t i = 0; i < m->nrec; i++) {
		const struct ila_record *r = &m->rec[i];
		char a[INET6_ADDRSTRLEN];

		if (r->family == AF_INET)
			inet_ntop(AF_INET, &r->addr4, a, sizeof(a));
		else
			inet_ntop(AF_INET6, &r->addr6, a, sizeof(a));
		fprintf(p->logf, "%u %s %" PRIu64 " %s %c %s %" PRIu32 "\n", s->idx, a, r->seq,
			ila_record_state_name(r->state), kind, r->node[0] ? r->node : "-", r->flags);
	}
	fflush(p->logf);
}

static void on_push(struct probe *p, struct sess *s, const struct ila_msg *m)
{
	if (m->push.vn != p->o.vn)
		return;
	if (m->push.flags & ILA_PUSH_F_SNAPSHOT_BEGIN)
		s->in_snapshot = true;
	if (p->logf)
		log_push(p, s, m);
	if (m->push.flags & ILA_PUSH_F_SNAPSHOT_END)
		s->in_snapshot = false;
	/* section 8.6: the position to resume from */
	if (!(m->push.flags & (ILA_PUSH_F_MORE | ILA_PUSH_F_DIRECTED)) && !s->in_snapshot)
		s->pos = m->push.high_seq;
	if (!s->snap_done)
		s->snap_recs += m->nrec;
	for (size_t i = 0; p->ready && !s->saw && i < m->nrec; i++) {
		const struct ila_record *r = &m->rec[i];

		if (!memcmp(&r->addr6, &p->o.expect, sizeof(r->addr6)) &&
		    ila_locator_equal(&r->loc, &p->o.expect_loc) && r->state == ILA_STATE_UP) {
			s->saw = true;
			s->saw_ns = real_ns();
		}
	}
	if (m->push.flags & ILA_PUSH_F_SNAPSHOT_END)
		s->snap_done = true;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes an even number of hex digits into out; -1 on anything else. */
static int hex_decode(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex);

	if (n % 2)
		return -1;
	for (size_t k = 0; k < n / 2; k++) {
		int hi = hex_val(hex[2 * k]), lo = hex_val(hex[2 * k + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[k] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static void print_msg(const struct sess *s, const struct ila_msg *m)
{
	printf("RECV %u %s xid %" PRIu32, s->idx, ila_msg_type_name(m->type), m->xid);
	if (m->type == ILA_MSG_ERROR)
		printf(" code 0x%x %s text \"%s\"", m->error.code,
		       ila_proto_err_name(m->error.code), m->error.text);
	if (m->type == ILA_MSG_ACK)
		for (size_t i = 0; i < m->ack.nstatus; i++)
			printf(" 0x%x %s", m->ack.status[i], ila_proto_err_name(m->ack.status[i]));
	if (m->type == ILA_MSG_REPLY || m->type == ILA_MSG_PUSH)
		printf(" records %zu", m->nrec);
	printf("\n");
	/* raw mode: one line per record of a REPLY or PUSH */
	for (size_t i = 0; (m->type == ILA_MSG_REPLY || m->type == ILA_MSG_PUSH) && i < m->nrec; i++) {
		const struct ila_record *r = &m->rec[i];
		char a[INET6_ADDRSTRLEN], l[ILA_LOCATOR_STRLEN];

		if (r->family == AF_INET)
			inet_ntop(AF_INET, &r->addr4, a, sizeof(a));
		else
			inet_ntop(AF_INET6, &r->addr6, a, sizeof(a));
		char sb[ILA_LOCATOR_STRLEN] = "-";

		if (r->has_standby)
			ila_locator_format(&r->standby, sb, sizeof(sb));
		printf("REC %s %s seq %" PRIu64 " state %s lifetime %" PRIu32 " owner %s standby %s\n",
		       a, ila_locator_format(&r->loc, l, sizeof(l)), r->seq,
		       ila_record_state_name(r->state), r->lifetime, r->node[0] ? r->node : "-", sb);
	}
}

static void on_up(struct probe *p, struct sess *s)
{
	const struct opts *o = &p->o;
	struct ila_msg m = { .xid = s->next_xid };

	switch (o->cmd) {
	case C_REGISTER:
	case C_DEREGISTER:
	case C_QUERY:
		fill_window(p, s);
		break;
	case C_SUBSCRIBE:
		m.type = ILA_MSG_SUBSCRIBE;
		m.sub.vn = o->vn;
		m.sub.resume_seq = s->pos;
		s->next_xid++;
		put(s, &m);
		break;
	case C_OPEN:
		printf("OPENED %u keepalive %" PRIu32 "\n", s->idx, s->ka_ms);
		if (!o->hold_ms)
			p->finished = true;
		p->deadline = mono_ms() + o->hold_ms;
		p->result = EX_OK;
		break;
	case C_RAW:
		for (size_t i = 0; i < o->nhex; i++) {
			size_t len = strlen(o->hex[i]) / 2;
			uint8_t *buf = malloc(len + 1);

			if (!buf || hex_decode(o->hex[i], buf) < 0 ||
			    (len && ila_frame_writer_append(&s->wr, buf, len) < 0))
				die_usage(o->hex[i], "cannot queue --hex");
			free(buf);
		}
		sess_flush(p, s);
		if (o->shutdown && s->st != SS_CLOSED) {
			if (s->conn.ssl)
				SSL_shutdown(s->conn.ssl);
			shutdown(s->conn.fd, SHUT_WR);
		}
		break;
	case C_ENCODE:
		break;
	}
}

static void on_msg(struct probe *p, struct sess *s, struct ila_msg *m)
{
	if (p->o.cmd == C_RAW)
		print_msg(s, m);
	if (m->type == ILA_MSG_ERROR) {
		struct batch *b = slot_find(p, m->xid);

		if (p->o.cmd != C_RAW)
			print_msg(s, m);
		if (b && p->o.cmd != C_QUERY) {
			reg_result(p, b, NULL, m->error.code ? m->error.code : ILA_PERR_INTERNAL);
			b->live = false;
			fill_window(p, s);
		} else if (b) {
			p->missing += b->n;
			b->live = false;
			fill_window(p, s);
		}
		if (s->st == SS_OPENING)
			sess_close(p, s, "ERROR in answer to OPEN");
		p->any_reply = true;
		return;
	}
	if (s->st == SS_OPENING) {
		if (m->type != ILA_MSG_OPEN) {
			sess_close(p, s, "first message is not OPEN");
			return;
		}
		s->st = SS_UP;
		/* section 6.1: a position holds only on a mapper of the same directory */
		if (!m->open.directory || m->open.directory != s->directory)
			s->pos = 0;
		s->directory = m->open.directory;
		s->in_snapshot = false;
		if (p->logf)
			fprintf(p->logf, "# open %u %s:%s directory %016" PRIx64 " resume %" PRIu64 "\n",
				s->idx, p->o.hosts[s->ep], p->o.ports[s->ep], s->directory, s->pos);
		s->ka_ms = m->open.keepalive_ms && m->open.keepalive_ms < p->o.keepalive_ms
				   ? m->open.keepalive_ms : p->o.keepalive_ms;
		s->ka_due = mono_ms() + s->ka_ms;
		on_up(p, s);
		return;
	}
	if (m->type == ILA_MSG_ACK || m->type == ILA_MSG_REPLY)
		p->any_reply = true;
	if (m->type == ILA_MSG_ACK && (p->o.cmd == C_REGISTER || p->o.cmd == C_DEREGISTER))
		on_ack(p, s, m);
	else if (m->type == ILA_MSG_REPLY && p->o.cmd == C_QUERY)
		on_reply(p, s, m);
	else if (m->type == ILA_MSG_PUSH && p->o.cmd == C_SUBSCRIBE)
		on_push(p, s, m);
}

static void sess_close(struct probe *p, struct sess *s, const char *why)
{
	enum sess_state was = s->st;

	if (was == SS_CLOSED)
		return;
	s->st = SS_CLOSED;
	ila_conn_close(&s->conn);
	if (p->o.cmd == C_RAW) {
		printf("CLOSED %u %s\n", s->idx, why);
		p->any_reply = true;
		p->finished = true;
		p->result = EX_OK;
		return;
	}
	if (was != SS_UP) {
		printf("REFUSED %u %s\n", s->idx, why);
		p->result = EX_DENIED;
	} else {
		printf("LOST %u %s\n", s->idx, why);
		p->result = EX_LOST;
	}
	if (p->logf)
		fprintf(p->logf, "# lost %u %s\n", s->idx, why);
	s->retry_at = mono_ms() + 100;
	if (p->o.cmd != C_SUBSCRIBE)
		p->finished = true;
}

/* subscribe with several mappers: a lost session goes to the next one */
static bool will_reconnect(const struct probe *p, const struct sess *s)
{
	return p->o.cmd == C_SUBSCRIBE && p->o.nconnect > 1 && !s->stalled && !s->saw;
}

static void sess_reconnect(struct probe *p, struct sess *s)
{
	if (s->tls.ctx)
		ila_tls_ctx_free(&s->tls);
	ila_frame_reader_free(&s->rd);
	ila_frame_writer_free(&s->wr);
	s->ep = (s->ep + 1) % p->o.nconnect;
	printf("RECONNECT %u %s:%s\n", s->idx, p->o.hosts[s->ep], p->o.ports[s->ep]);
	if (sess_connect(p, s) < 0) {
		s->st = SS_CLOSED;
		s->retry_at = mono_ms() + 100;
		return;
	}
	sess_handshake(p, s);
}

/* ---- the loop ---- */

static int64_t trigger_ns(const struct probe *p)
{
	FILE *f = p->o.trigger ? fopen(p->o.trigger, "r") : NULL;
	long long v = 0;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v ? v : p->ready_ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int sub_report(struct probe *p)
{
	int64_t t0 = trigger_ns(p);
	double *lat = calloc(p->nss, sizeof(*lat));
	unsigned int saw = 0, readers = p->nss - p->o.stall;

	for (unsigned int i = 0; lat && i < p->nss; i++) {
		struct sess *s = &p->ss[i];
		int q = 0;

		if (s->stalled) {
			if (s->st != SS_CLOSED)
				ioctl(s->conn.fd, FIONREAD, &q);
			printf("STALLED %u %s rxq %d\n", i, s->st == SS_CLOSED ? "closed" : "open",
			       q);
		} else if (s->saw) {
			lat[saw] = (double)(s->saw_ns - t0) / 1e6;
			printf("SAW %u latency_ms %.3f\n", i, lat[saw++]);
		} else {
			printf("MISSED %u %s\n", i, s->st == SS_CLOSED ? "closed" : "open");
		}
	}
	qsort(lat, saw, sizeof(*lat), cmp_double);
	printf("RESULT saw %u of %u median_ms %.3f max_ms %.3f from %s\n", saw, readers,
	       saw ? lat[saw / 2] : 0.0, saw ? lat[saw - 1] : 0.0,
	       t0 == p->ready_ns ? "ready" : "trigger");
	free(lat);
	return saw == readers ? EX_OK : p->finished ? EX_LOST : EX_TIMEOUT;
}

static void check_done(struct probe *p)
{
	unsigned int snap = 0, over = 0, live = 0;

	switch (p->o.cmd) {
	case C_REGISTER:
	case C_DEREGISTER:
	case C_QUERY:
		if (p->next == p->nwork && !slots_busy(p) && !p->holding) {
			p->result = p->refused ? EX_REFUSED : EX_OK;
			p->finished = !p->o.hold_ms;
			if (p->o.hold_ms) { /* stay up (keepalives) so the mapper sees a live node */
				p->holding = true;
				p->deadline = mono_ms() + p->o.hold_ms;
				printf("HOLDING %u ms\n", p->o.hold_ms);
			}
		}
		break;
	case C_SUBSCRIBE:
		for (unsigned int i = 0; i < p->nss; i++) {
			const struct sess *s = &p->ss[i];

			snap += s->snap_done;
			live += s->st != SS_CLOSED || will_reconnect(p, s);
			/* a reading session is over once it saw the move or died */
			over += !s->stalled &&
				(s->saw || (s->st == SS_CLOSED && !will_reconnect(p, s)));
		}
		if (!p->ready && snap == p->nss) {
			p->ready = true;
			p->ready_ns = real_ns();
			printf("READY %u sessions, snapshot records %" PRIu64 "\n", p->nss,
			       p->ss[0].snap_recs);
			fflush(stdout);
		}
		if ((p->ready && over == p->nss - p->o.stall) || !live)
			p->finished = true;
		break;
	default:
		break;
	}
}

static void run(struct probe *p)
{
	struct pollfd *pfd = calloc(p->nss, sizeof(*pfd));

	for (unsigned int i = 0; pfd && !p->finished; i++) {
		uint64_t now = mono_ms();
		int wait;
		bool busy = false;

		check_done(p);
		if (p->finished || now >= p->deadline)
			break;
		wait = (int)(p->deadline - now);
		for (unsigned int k = 0; k < p->nss; k++) {
			struct sess *s = &p->ss[k];

			pfd[k] = (struct pollfd){ .fd = -1 };
			if (s->st == SS_CLOSED && will_reconnect(p, s)) {
				if (now >= s->retry_at)
					sess_reconnect(p, s);
				else if (s->retry_at - now < (uint64_t)wait)
					wait = (int)(s->retry_at - now);
			}
			if (s->st == SS_UP && now >= s->ka_due && p->o.cmd != C_RAW) {
				struct ila_msg ka = { .type = ILA_MSG_KEEPALIVE };

				put(s, &ka);
				s->ka_due = now + s->ka_ms;
			}
			sess_flush(p, s);
			if (s->st == SS_CLOSED)
				continue;
			pfd[k].fd = s->conn.fd;
			if (reading(s))
				pfd[k].events = POLLIN;
			if (ila_frame_writer_pending(&s->wr) || s->conn.want_write)
				pfd[k].events |= POLLOUT;
			if (s->st == SS_UP && s->ka_due - now < (uint64_t)wait)
				wait = (int)(s->ka_due - now);
			if (reading(s) && s->conn.ssl && SSL_pending(s->conn.ssl) > 0)
				busy = true;
		}
		if (poll(pfd, p->nss, busy ? 0 : wait) < 0 && errno != EINTR)
			break;
		for (unsigned int k = 0; k < p->nss && !p->finished; k++) {
			struct sess *s = &p->ss[k];

			if (s->st == SS_CLOSED || !(pfd[k].revents || busy))
				continue;
			if (s->st == SS_HANDSHAKE)
				sess_handshake(p, s);
			if (s->st != SS_HANDSHAKE)
				sess_read(p, s);
			sess_flush(p, s);
		}
		check_done(p);
		if (p->o.cmd == C_RAW && p->any_reply && !p->finished &&
		    p->deadline > mono_ms() + p->o.linger_ms)
			p->deadline = mono_ms() + p->o.linger_ms; /* see whether a close follows */
	}
	free(pfd);
}

static int finish(struct probe *p)
{
	bool timed_out = !p->finished;
	int rc = p->result;

	switch (p->o.cmd) {
	case C_REGISTER:
	case C_DEREGISTER:
		printf("SUMMARY sent %zu acked %zu refused %zu unanswered %zu\n", p->next,
		       p->acked, p->refused, p->nwork - p->acked - p->refused);
		if (timed_out && p->holding)
			return rc;
		break;
	case C_QUERY:
		if (p->o.json)
			printf("]\n");
		fprintf(stderr, "query: %zu found, %zu missing\n", p->found, p->missing);
		break;
	case C_SUBSCRIBE:
		return sub_report(p);
	case C_RAW:
		if (timed_out && p->any_reply) {
			printf("OPEN-AFTER-REPLY\n");
			return EX_OK;
		}
		break;
	case C_OPEN:
		if (timed_out && p->result == EX_OK && p->o.hold_ms)
			return EX_OK;
		break;
	default:
		break;
	}
	if (timed_out) {
		printf("TIMEOUT\n");
		return EX_TIMEOUT;
	}
	return rc;
}

static int do_encode(struct probe *p)
{
	static const char *const types[] = { "open", "keepalive", "register", "deregister",
					     "query", "subscribe", "unsubscribe" };
	static const uint8_t codes[] = { ILA_MSG_OPEN, ILA_MSG_KEEPALIVE, ILA_MSG_REGISTER,
					 ILA_MSG_DEREGISTER, ILA_MSG_QUERY, ILA_MSG_SUBSCRIBE,
					 ILA_MSG_UNSUBSCRIBE };
	struct ila_msg m = { 0 };
	uint8_t buf[ILA_PROTO_MAX_FRAME];
	size_t len, i;

	for (i = 0; p->o.etype && i < ILA_ARRAY_SIZE(types) && strcmp(types[i], p->o.etype); i++)
		;
	if (!p->o.etype || i == ILA_ARRAY_SIZE(types))
		die_usage(p->o.etype ? p->o.etype : "missing", "--type");
	if (codes[i] == ILA_MSG_OPEN)
		make_open(&p->o, p->o.node, &m);
	if (codes[i] == ILA_MSG_REGISTER || codes[i] == ILA_MSG_DEREGISTER ||
	    codes[i] == ILA_MSG_QUERY) {
		build_work(p);
		p->scratch = calloc(p->nwork, sizeof(*p->scratch));
		if (codes[i] == ILA_MSG_REGISTER)
			p->o.state = 0;
		for (size_t k = 0; p->scratch && k < p->nwork; k++)
			fill_record(&p->o, &p->scratch[k], &p->work[k]);
		m.rec = p->scratch;
		m.nrec = p->nwork;
	}
	m.type = codes[i];
	m.xid = p->o.xid;
	if (codes[i] == ILA_MSG_QUERY || codes[i] == ILA_MSG_SUBSCRIBE ||
	    codes[i] == ILA_MSG_UNSUBSCRIBE)
		m.sub.vn = p->o.vn; /* a union with open: only for these */
	if (ila_msg_encode(&m, buf, sizeof(buf), &len) < 0)
		die_usage(p->o.etype, "cannot encode (missing options?)");
	for (size_t k = 0; k < len; k++)
		printf("%02x", buf[k]);
	printf("\n");
	return EX_OK;
}

int main(int argc, char **argv)
{
	struct probe p = { .json_first = true };
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	parse_args(&p.o, argc, argv);
	if (p.o.cmd == C_ENCODE)
		return do_encode(&p);
	if (p.o.cmd == C_REGISTER || p.o.cmd == C_DEREGISTER || p.o.cmd == C_QUERY) {
		build_work(&p);
		p.fly = calloc(p.o.window, sizeof(*p.fly));
		p.scratch = calloc(p.o.batch, sizeof(*p.scratch));
		p.answered = calloc(p.o.batch, sizeof(*p.answered));
		if (!p.fly || !p.scratch || !p.answered)
			die_usage("out of memory", "setup");
	}
	if (p.o.acked && p.o.cmd != C_QUERY) {
		p.ackf = fopen(p.o.acked, p.o.resume ? "a" : "w");
		if (!p.ackf)
			die_usage(p.o.acked, "cannot open --acked");
	}
	if (p.o.log && !(p.logf = fopen(p.o.log, "w")))
		die_usage(p.o.log, "cannot open --log");
	if (p.o.json && p.o.cmd == C_QUERY)
		printf("[");
	p.nss = p.o.cmd == C_SUBSCRIBE ? p.o.sessions : 1;
	p.ss = calloc(p.nss, sizeof(*p.ss));
	if (!p.ss)
		die_usage("out of memory", "sessions");
	p.deadline = mono_ms() + p.o.timeout_ms;
	p.result = EX_LOST;
	for (unsigned int i = 0; i < p.nss; i++) {
		p.ss[i].idx = i;
		p.ss[i].ep = i % p.o.nconnect;
		/* the last --stall sessions stop reading after their snapshot */
		p.ss[i].stalled = i >= p.nss - p.o.stall;
		if (sess_connect(&p, &p.ss[i]) < 0) {
			p.ss[i].st = SS_CLOSED;
			p.finished = p.o.cmd != C_SUBSCRIBE;
		} else {
			sess_handshake(&p, &p.ss[i]); /* the client speaks first */
		}
	}
	if (!p.finished)
		run(&p);
	rc = finish(&p);
	for (unsigned int i = 0; i < p.nss; i++) {
		if (p.ss[i].st != SS_CLOSED)
			ila_conn_close(&p.ss[i].conn);
		if (p.ss[i].tls.ctx)
			ila_tls_ctx_free(&p.ss[i].tls);
		ila_frame_reader_free(&p.ss[i].rd);
		ila_frame_writer_free(&p.ss[i].wr);
	}
	if (p.ackf)
		fclose(p.ackf);
	if (p.logf)
		fclose(p.logf);
	free(p.ss);
	free(p.work);
	free(p.fly);
	free(p.scratch);
	free(p.answered);
	free(p.o.addrs);
	free(p.o.hex);
	return rc;
}
