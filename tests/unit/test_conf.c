/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config grammar: defaults, full configs of both daemons, the print/parse
 * round trip, every class of error with its file:line prefix, golden
 * printed output (tests/conf/) and the shipped example configs.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define ERRLEN 512

/* Minimal valid bodies, to which a test appends what it is about. */
#define NODE_BASE "node-name n1\nlocator 2001:0:0:a\nmapper ::1\nplaintext\n"
#define MAPPER_BASE "plaintext\n"
#define MAPPER_BASE_LINES 1
#define NODE_BASE_LINES 4

static const char full_mapper[] =
	"# ila-mapper test config\n"
	"log-level debug\n"
	"pidfile /tmp/ila/mapper.pid\n"
	"control /tmp/ila/mapper.sock\n"
	"tls certificate /etc/ila/mapper.crt key /etc/ila/mapper.key ca /etc/ila/ca.crt\n"
	"keepalive 500\n"
	"dead-interval 2000\n"
	"listen 2001:db8::10 port 7000\n"
	"listen 192.0.2.10\n"
	"store /var/lib/ila/test-store\n"
	"store-map-size 2048\n"
	"damping moves 3 interval 60\n"
	"damping freeze permanent\n"
	"lifetime default 120 max 600\n"
	"push batch 100 delay 10 queue-limit 4096\n"
	"commit batch 64 delay 1\n"
	"node n1\n"
	"node n2 identity \"node two.example\"\n"
	"node n3 identity n3.example\n"
	"vn blue id 100 sir-prefix 2001:db8:1::/64\n"
	"vn blue ipv4-prefix 10.1.0.0/16 serve n1 n2\n"
	"vn blue subscribe n3 n1\n"
	"vn red id 4294967295 sir-prefix 2001:db8:2::/64 serve n3\n";

static const char full_node[] =
	"log-level warning\n"
	"pidfile \"/run/ila test/ilad.pid\"\n"
	"control /run/ila/ilad-test.sock\n"
	"tls certificate /etc/ila/n1.crt key /etc/ila/n1.key ca /etc/ila/ca.crt\n"
	"keepalive 250\n"
	"dead-interval 1000\n"
	"node-name n1\n"
	"mode ila\n"
	"role router\n"
	"locator 2001:0:0:a\n"
	"locator 2001:0:0:b\n"
	"mapper 2001:db8::10 port 7000\n"
	"mapper 192.0.2.10\n"
	"csum-mode neutral-map-auto\n"
	"ident-type use-format\n"
	"route-protocol 77\n"
	"hold-time 60\n"
	"registration-lifetime 120\n"
	"cache full\n"
	"attach-grace 0\n"
	"zebra on socket /run/frr/zserv.api version 10\n"
	"zebra route-type 30\n"
	"vn blue id 100 sir-prefix 2001:db8:1::/64 ipv4-prefix 10.1.0.0/16\n"
	"vn blue interface eth1 veth-blue\n"
	"vn blue allow 2001:db8:1::/80 2001:db8:1:0:1::42 10.1.2.0/24\n"
	"vn red id 7 sir-prefix 2001:db8:2::/64 interface eth2\n";

static struct ila_conf *new_conf(enum ila_conf_kind kind)
{
	struct ila_conf *c = malloc(sizeof(*c));

	assert_non_null(c);
	ila_conf_init(c, kind);
	return c;
}

static int parse_str(struct ila_conf *c, const char *text, char *err)
{
	return ila_conf_parse_buf(c, "t.conf", text, strlen(text), err, ERRLEN);
}

static struct ila_conf *must_parse(enum ila_conf_kind kind, const char *text)
{
	struct ila_conf *c = new_conf(kind);
	char err[ERRLEN];
	int rc = parse_str(c, text, err);

	if (rc)
		fail_msg("unexpected error %d: %s", rc, err);
	return c;
}

/* The text must be refused with err starting "t.conf:LINE: " and containing what. */
static void expect_error_len(enum ila_conf_kind kind, const char *text, size_t len,
			     unsigned int line, const char *what)
{
	struct ila_conf *c = new_conf(kind);
	char err[ERRLEN] = "";
	char prefix[32];
	int rc = ila_conf_parse_buf(c, "t.conf", text, len, err, sizeof(err));

	snprintf(prefix, sizeof(prefix), "t.conf:%u: ", line);
	if (rc != -EINVAL || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, what))
		fail_msg("rc %d err \"%s\", wanted -EINVAL \"%s...%s...\"", rc, err, prefix, what);
	free(c);
}

static void expect_error(enum ila_conf_kind kind, const char *text, unsigned int line,
			 const char *what)
{
	expect_error_len(kind, text, strlen(text), line, what);
}

static void set_locator(struct ila_locator *l, uint16_t a, uint16_t b, uint16_t c, uint16_t d)
{
	uint16_t g[4] = { a, b, c, d };

	for (int i = 0; i < 4; i++) {
		l->b[2 * i] = (uint8_t)(g[i] >> 8);
		l->b[2 * i + 1] = (uint8_t)g[i];
	}
}

static void assert_sir(const struct ila_sir_prefix *p, uint16_t a, uint16_t b, uint16_t c)
{
	struct ila_locator want;

	set_locator(&want, a, b, c, 0);
	assert_memory_equal(p->loc.b, want.b, 8);
}

static void assert_addr(int family, const void *addr, const char *text)
{
	uint8_t want[16];

	assert_int_equal(inet_pton(family, text, want), 1);
	assert_memory_equal(addr, want, family == AF_INET ? 4 : 16);
}

/* print(c) parses back to an equal config and prints identically again. */
static void assert_round_trip(const struct ila_conf *c)
{
	char *s1 = ila_conf_print_str(c);
	struct ila_conf *back = new_conf(c->kind);
	char err[ERRLEN];

	assert_non_null(s1);
	if (parse_str(back, s1, err))
		fail_msg("printed config does not parse: %s\n%s", err, s1);
	assert_true(ila_conf_equal(c, back));
	char *s2 = ila_conf_print_str(back);

	assert_non_null(s2);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	free(back);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *srcdir(void)
{
	const char *d = getenv("top_srcdir");

	return d && *d ? d : ".";
}

/* ---- metrics listen ---- */

static void test_metrics(void **state)
{
	struct ila_conf *c, *d;
	char *s;

	(void)state;
	/* off by default, in both daemons */
	c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE);
	assert_false(c->metrics);
	s = ila_conf_print_str(c);
	assert_non_null(strstr(s, "\nmetrics none\n"));
	free(s);
	free(c);
	c = must_parse(ILA_CONF_NODE, NODE_BASE "metrics listen 127.0.0.1 port 9101\n");
	assert_true(c->metrics);
	assert_int_equal(c->metrics_listen.family, AF_INET);
	assert_int_equal(c->metrics_listen.port, 9101);
	s = ila_conf_print_str(c);
	assert_non_null(strstr(s, "\nmetrics listen 127.0.0.1 port 9101\n"));
	/* the printed form parses back to an equal config */
	d = must_parse(ILA_CONF_NODE, s);
	assert_true(ila_conf_equal(c, d));
	free(s);
	free(d);
	d = must_parse(ILA_CONF_NODE, NODE_BASE "metrics listen 127.0.0.1 port 9102\n");
	assert_false(ila_conf_equal(c, d));
	free(d);
	d = must_parse(ILA_CONF_NODE, NODE_BASE "metrics none\n");
	assert_false(ila_conf_equal(c, d));
	free(d);
	free(c);
	c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE "metrics listen ::1 port 9100\n");
	assert_true(c->metrics);
	assert_int_equal(c->metrics_listen.family, AF_INET6);
	free(c);

	/* refusals, at the metrics line */
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "metrics listen 127.0.0.1\n",
		     MAPPER_BASE_LINES + 1, "metrics listen: missing 'port PORT'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "metrics listen 127.0.0.1 port 0\n",
		     MAPPER_BASE_LINES + 1, "port");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "metrics listen 127.0.0.1 port 65536\n",
		     MAPPER_BASE_LINES + 1, "port");
	expect_error(ILA_CONF_NODE, NODE_BASE "metrics listen 127.0.0.1 port\n",
		     NODE_BASE_LINES + 1, "missing value");
	expect_error(ILA_CONF_NODE, NODE_BASE "metrics listen localhost port 9100\n",
		     NODE_BASE_LINES + 1, "bad address 'localhost'");
	expect_error(ILA_CONF_NODE, NODE_BASE "metrics listen 300.1.1.1 port 9100\n",
		     NODE_BASE_LINES + 1, "bad address");
	expect_error(ILA_CONF_NODE, NODE_BASE "metrics\n", NODE_BASE_LINES + 1,
		     "expected 'metrics listen ADDRESS port PORT'");
	expect_error(ILA_CONF_NODE, NODE_BASE "metrics on\n", NODE_BASE_LINES + 1,
		     "expected 'metrics listen ADDRESS port PORT'");
	expect_error(ILA_CONF_NODE, NODE_BASE "metrics listen ::1 port 9100 tls\n",
		     NODE_BASE_LINES + 1, "extra value 'tls'");
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "metrics listen ::1 port 9100\nmetrics listen ::1 port 9101\n",
		     NODE_BASE_LINES + 2, "duplicate 'metrics'");
	/* the mapper's own node port is not the metrics port */
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "listen ::1 port 7787\nmetrics listen ::1 port 7787\n",
		     MAPPER_BASE_LINES + 2, "also a listen address");
}

/* ---- defaults ---- */

static void test_defaults_mapper(void **state)
{
	struct ila_conf *c = new_conf(ILA_CONF_MAPPER);

	assert_int_equal(c->kind, ILA_CONF_MAPPER);
	assert_int_equal(c->log_level, ILA_LOG_INFO);
	assert_string_equal(c->pidfile, ILA_RUNDIR "/ila-mapper.pid");
	assert_string_equal(c->control, ILA_RUNDIR "/ila-mapper.sock");
	assert_false(c->tls);
	assert_false(c->plaintext);
	assert_int_equal(c->keepalive_ms, 1000);
	assert_int_equal(c->dead_interval_ms, 3000);
	assert_int_equal(c->n_listen, 1);
	assert_int_equal(c->listen[0].family, AF_INET6);
	assert_addr(AF_INET6, &c->listen[0].addr.v6, "::1");
	assert_int_equal(c->listen[0].port, 7787);
	assert_string_equal(c->store, ILA_STATEDIR "/mapper");
	assert_int_equal(c->store_map_size_mb, 1024);
	assert_int_equal(c->damping_moves, 5);
	assert_int_equal(c->damping_interval_s, 180);
	assert_int_equal(c->damping_freeze_s, 600);
	assert_int_equal(c->lifetime_default_s, 300);
	assert_int_equal(c->lifetime_max_s, 3600);
	assert_int_equal(c->push_batch, 256);
	assert_int_equal(c->push_delay_ms, 5);
	assert_int_equal(c->push_queue_limit_kb, 1024);
	assert_int_equal(c->commit_batch, 512);
	assert_int_equal(c->commit_delay_ms, 2);
	assert_int_equal(c->n_vns, 0);
	assert_int_equal(c->n_nodes, 0);
	free(c);
}

static void test_defaults_node(void **state)
{
	struct ila_conf *c = new_conf(ILA_CONF_NODE);

	assert_int_equal(c->kind, ILA_CONF_NODE);
	assert_string_equal(c->pidfile, ILA_RUNDIR "/ilad.pid");
	assert_string_equal(c->control, ILA_RUNDIR "/ilad.sock");
	assert_int_equal(c->n_listen, 0);
	assert_string_equal(c->node_name, "");
	assert_int_equal(c->mode, ILA_CONF_MODE_ILA);
	assert_int_equal(c->role, ILA_CONF_ROLE_HOST);
	assert_int_equal(c->csum_mode, ILA_CSUM_NEUTRAL_MAP);
	assert_int_equal(c->ident_type, ILA_IDENT_LUID);
	assert_int_equal(c->route_protocol, 73);
	assert_int_equal(c->hold_time_s, 30);
	assert_int_equal(c->registration_lifetime_s, 300);
	assert_int_equal(c->cache, ILA_CONF_CACHE_FULL);
	assert_int_equal(c->attach_grace_s, 5);
	assert_false(c->zebra);
	assert_string_equal(c->zebra_socket, "/var/run/frr/zserv.api");
	assert_int_equal(c->zebra_version, ILA_CONF_ZEBRA_AUTO);
	assert_int_equal(c->zebra_route_type, ILA_CONF_ZRT_BABEL);
	assert_int_equal(c->n_locators, 0);
	assert_int_equal(c->n_mappers, 0);
	free(c);
}

/* A minimal file changes only what it names. */
static void test_minimal_keeps_defaults(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_NODE, NODE_BASE);
	struct ila_conf *d = new_conf(ILA_CONF_NODE);

	assert_false(ila_conf_equal(c, d));
	/* Apply by hand what NODE_BASE says: then the two agree. */
	strcpy(d->node_name, "n1");
	set_locator(&d->locators[0], 0x2001, 0, 0, 0xa);
	d->n_locators = 1;
	d->mappers[0].family = AF_INET6;
	d->mappers[0].addr.v6 = in6addr_loopback;
	d->mappers[0].port = 7787;
	d->n_mappers = 1;
	d->plaintext = true;
	assert_true(ila_conf_equal(c, d));
	free(c);
	free(d);

	c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE);
	d = new_conf(ILA_CONF_MAPPER);
	d->plaintext = true;
	assert_true(ila_conf_equal(c, d));
	free(c);
	free(d);
}

/* ---- full configs ---- */

static void test_full_mapper(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_MAPPER, full_mapper);

	assert_int_equal(c->log_level, ILA_LOG_DEBUG);
	assert_string_equal(c->pidfile, "/tmp/ila/mapper.pid");
	assert_string_equal(c->control, "/tmp/ila/mapper.sock");
	assert_true(c->tls);
	assert_false(c->plaintext);
	assert_string_equal(c->tls_certificate, "/etc/ila/mapper.crt");
	assert_string_equal(c->tls_key, "/etc/ila/mapper.key");
	assert_string_equal(c->tls_ca, "/etc/ila/ca.crt");
	assert_int_equal(c->keepalive_ms, 500);
	assert_int_equal(c->dead_interval_ms, 2000);
	assert_int_equal(c->n_listen, 2);
	assert_int_equal(c->listen[0].family, AF_INET6);
	assert_addr(AF_INET6, &c->listen[0].addr.v6, "2001:db8::10");
	assert_int_equal(c->listen[0].port, 7000);
	assert_int_equal(c->listen[1].family, AF_INET);
	assert_addr(AF_INET, &c->listen[1].addr.v4, "192.0.2.10");
	assert_int_equal(c->listen[1].port, 7787);
	assert_string_equal(c->store, "/var/lib/ila/test-store");
	assert_int_equal(c->store_map_size_mb, 2048);
	assert_int_equal(c->damping_moves, 3);
	assert_int_equal(c->damping_interval_s, 60);
	assert_int_equal(c->damping_freeze_s, ILA_CONF_FREEZE_PERMANENT);
	assert_int_equal(c->lifetime_default_s, 120);
	assert_int_equal(c->lifetime_max_s, 600);
	assert_int_equal(c->push_batch, 100);
	assert_int_equal(c->push_delay_ms, 10);
	assert_int_equal(c->push_queue_limit_kb, 4096);
	assert_int_equal(c->commit_batch, 64);
	assert_int_equal(c->commit_delay_ms, 1);

	assert_int_equal(c->n_nodes, 3);
	assert_string_equal(c->nodes[0].name, "n1");
	assert_string_equal(c->nodes[0].identity, "n1");
	assert_string_equal(c->nodes[1].name, "n2");
	assert_string_equal(c->nodes[1].identity, "node two.example");
	assert_string_equal(c->nodes[2].identity, "n3.example");
	assert_int_equal(ila_conf_node_find(c, "n3"), 2);
	assert_int_equal(ila_conf_node_find(c, "n4"), -1);

	assert_int_equal(c->n_vns, 2);
	const struct ila_conf_vn *blue = &c->vns[0], *red = &c->vns[1];

	assert_string_equal(blue->name, "blue");
	assert_int_equal(blue->id, 100);
	assert_sir(&blue->sir_prefix, 0x2001, 0xdb8, 1);
	assert_int_equal(blue->ipv4_prefix.family, AF_INET);
	assert_int_equal(blue->ipv4_prefix.len, 16);
	assert_addr(AF_INET, &blue->ipv4_prefix.addr.v4, "10.1.0.0");
	assert_true(ila_conf_nodeset_has(blue->serve, 0));
	assert_true(ila_conf_nodeset_has(blue->serve, 1));
	assert_false(ila_conf_nodeset_has(blue->serve, 2));
	assert_true(ila_conf_nodeset_has(blue->subscribe, 0));
	assert_false(ila_conf_nodeset_has(blue->subscribe, 1));
	assert_true(ila_conf_nodeset_has(blue->subscribe, 2));
	assert_string_equal(red->name, "red");
	assert_int_equal(red->id, 4294967295u);
	assert_sir(&red->sir_prefix, 0x2001, 0xdb8, 2);
	assert_int_equal(red->ipv4_prefix.family, 0);
	assert_false(ila_conf_nodeset_has(red->serve, 0));
	assert_true(ila_conf_nodeset_has(red->serve, 2));
	assert_int_equal(ila_conf_vn_find(c, "red"), 1);
	assert_int_equal(c->n_warnings, 0);
	free(c);
}

static void test_full_node(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_NODE, full_node);
	struct ila_locator want;

	assert_int_equal(c->log_level, ILA_LOG_WARNING);
	assert_string_equal(c->pidfile, "/run/ila test/ilad.pid");
	assert_string_equal(c->control, "/run/ila/ilad-test.sock");
	assert_true(c->tls);
	assert_int_equal(c->keepalive_ms, 250);
	assert_int_equal(c->dead_interval_ms, 1000);
	assert_string_equal(c->node_name, "n1");
	assert_int_equal(c->mode, ILA_CONF_MODE_ILA);
	assert_int_equal(c->role, ILA_CONF_ROLE_ROUTER);
	assert_int_equal(c->n_locators, 2);
	set_locator(&want, 0x2001, 0, 0, 0xa);
	assert_memory_equal(c->locators[0].b, want.b, 8);
	set_locator(&want, 0x2001, 0, 0, 0xb);
	assert_memory_equal(c->locators[1].b, want.b, 8);
	assert_int_equal(c->n_mappers, 2);
	assert_addr(AF_INET6, &c->mappers[0].addr.v6, "2001:db8::10");
	assert_int_equal(c->mappers[0].port, 7000);
	assert_int_equal(c->mappers[1].family, AF_INET);
	assert_addr(AF_INET, &c->mappers[1].addr.v4, "192.0.2.10");
	assert_int_equal(c->mappers[1].port, 7787);
	assert_int_equal(c->csum_mode, ILA_CSUM_NEUTRAL_MAP_AUTO);
	assert_int_equal(c->ident_type, ILA_IDENT_USE_FORMAT);
	assert_int_equal(c->route_protocol, 77);
	assert_int_equal(c->hold_time_s, 60);
	assert_int_equal(c->registration_lifetime_s, 120);
	assert_int_equal(c->cache, ILA_CONF_CACHE_FULL);
	assert_int_equal(c->attach_grace_s, 0);
	assert_true(c->zebra);
	assert_string_equal(c->zebra_socket, "/run/frr/zserv.api");
	assert_int_equal(c->zebra_version, ILA_CONF_ZEBRA_10);
	assert_int_equal(c->zebra_route_type, ILA_CONF_ZRT_NUMBER);
	assert_int_equal(c->zebra_route_type_num, 30);

	assert_int_equal(c->n_vns, 2);
	const struct ila_conf_vn *blue = &c->vns[0], *red = &c->vns[1];

	assert_int_equal(blue->id, 100);
	assert_int_equal(blue->n_interfaces, 2);
	assert_string_equal(blue->interfaces[0], "eth1");
	assert_string_equal(blue->interfaces[1], "veth-blue");
	assert_int_equal(blue->n_allow, 3);
	assert_int_equal(blue->allow[0].family, AF_INET6);
	assert_int_equal(blue->allow[0].len, 80);
	assert_addr(AF_INET6, &blue->allow[1].addr.v6, "2001:db8:1:0:1::42");
	assert_int_equal(blue->allow[1].len, 128);
	assert_int_equal(blue->allow[2].family, AF_INET);
	assert_int_equal(blue->allow[2].len, 24);
	assert_addr(AF_INET, &blue->allow[2].addr.v4, "10.1.2.0");
	assert_int_equal(red->id, 7);
	assert_sir(&red->sir_prefix, 0x2001, 0xdb8, 2);
	assert_int_equal(red->n_interfaces, 1);
	assert_string_equal(red->interfaces[0], "eth2");
	free(c);
}

/* ---- round trip ---- */

static void test_round_trip_mapper(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_MAPPER, full_mapper);

	assert_round_trip(c);
	free(c);
	c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE);
	assert_round_trip(c);
	free(c);
}

/* store etcd: endpoints, TLS, prefix, timeouts; printed back the same. */
static void test_etcd_store_settings(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE
		"store etcd cache /var/cache/ila\n"
		"etcd endpoint https://192.0.2.1:2379 https://[2001:db8::1]:2379\n"
		"etcd endpoint https://etcd-3.example/\n"
		"etcd tls certificate /c.pem key /k.pem\n"
		"etcd tls ca /ca.pem\n"
		"etcd prefix /ila/dc1/\n"
		"etcd timeout 500\n"
		"etcd lease 20\n");

	assert_true(c->store_etcd);
	assert_string_equal(c->store, "/var/cache/ila");
	assert_int_equal(c->n_etcd, 3);
	assert_string_equal(c->etcd_endpoints[1], "https://[2001:db8::1]:2379");
	assert_string_equal(c->etcd_certificate, "/c.pem");
	assert_string_equal(c->etcd_ca, "/ca.pem");
	assert_string_equal(c->etcd_prefix, "/ila/dc1/");
	assert_int_equal(c->etcd_timeout_ms, 500);
	assert_int_equal(c->etcd_lease_s, 20);
	assert_round_trip(c);
	free(c);
	c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd endpoint http://127.0.0.1:2379\n");
	assert_string_equal(c->etcd_prefix, "/ila/");
	assert_int_equal(c->etcd_timeout_ms, 2000);
	assert_int_equal(c->etcd_lease_s, 10);
	assert_round_trip(c);
	free(c);
	/* LMDB stays the default: no etcd at all. */
	c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE);
	assert_false(c->store_etcd);
	assert_int_equal(c->n_etcd, 0);
	free(c);
}

/* Each wrong etcd line is refused with its line and what is wrong. */
static void test_error_etcd(void **state)
{
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\n", MAPPER_BASE_LINES + 1,
		     "no 'etcd endpoint'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "etcd endpoint http://a\n",
		     MAPPER_BASE_LINES + 1, "the store is not etcd");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd endpoint ftp://a\n",
		     MAPPER_BASE_LINES + 2, "not an http:// or https://");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd endpoint http://a:65536\n",
		     MAPPER_BASE_LINES + 2, "bad port");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd endpoint http://a/v3\n",
		     MAPPER_BASE_LINES + 2, "unexpected '/v3'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd endpoint http://a http://a\n",
		     MAPPER_BASE_LINES + 2, "given twice");
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "store etcd\netcd endpoint http://a https://b\n",
		     MAPPER_BASE_LINES + 2, "not both");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd endpoint https://a\n",
		     MAPPER_BASE_LINES + 2, "'etcd tls ca FILE' is needed");
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "store etcd\netcd endpoint https://a\netcd tls ca /a certificate /c\n",
		     MAPPER_BASE_LINES + 3, "certificate and key go together");
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "store etcd\netcd endpoint http://a\netcd tls ca /a\n",
		     MAPPER_BASE_LINES + 3, "endpoints are http://");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd prefix ila\n",
		     MAPPER_BASE_LINES + 2, "must start and end with '/'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd timeout 5\n",
		     MAPPER_BASE_LINES + 2, "etcd timeout");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd lease 1\n",
		     MAPPER_BASE_LINES + 2, "etcd lease");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\netcd watch 1\n",
		     MAPPER_BASE_LINES + 2, "unknown setting 'watch'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store etcd\nstore /x\n",
		     MAPPER_BASE_LINES + 2, "store");
	expect_error(ILA_CONF_NODE, NODE_BASE "etcd endpoint http://a\n", NODE_BASE_LINES + 1,
		     "etcd");
}

static void test_round_trip_node(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_NODE, full_node);

	assert_round_trip(c);
	free(c);
	c = must_parse(ILA_CONF_NODE, NODE_BASE "mode host-route\nzebra route-type table\n");
	assert_round_trip(c);
	free(c);
}

/* Values that need quoting print quoted and read back the same. */
static void test_round_trip_quoting(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_MAPPER,
					"plaintext\n"
					"pidfile \"/tmp/a b/#x\\\"q\\\\.pid\"\n"
					"node n1 identity \"CN with \\\"quotes\\\"\"\n");

	assert_string_equal(c->pidfile, "/tmp/a b/#x\"q\\.pid");
	assert_string_equal(c->nodes[0].identity, "CN with \"quotes\"");
	char *s = ila_conf_print_str(c);

	assert_non_null(s);
	assert_non_null(strstr(s, "pidfile \"/tmp/a b/#x\\\"q\\\\.pid\"\n"));
	free(s);
	assert_round_trip(c);
	free(c);
}

/* Long serve lists wrap over several lines that parse back to the same set. */
static void test_round_trip_long_lists(void **state)
{
	size_t cap = 64 * 1024, len = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "plaintext\n");
	for (int i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, cap - len, "node node-%03d\n", i);
	len += (size_t)snprintf(text + len, cap - len, "vn v id 1 sir-prefix 2001:db8::/64\n");
	for (int i = 0; i < 300; i += 2)
		len += (size_t)snprintf(text + len, cap - len, "vn v serve node-%03d\n", i);
	struct ila_conf *c = must_parse(ILA_CONF_MAPPER, text);

	free(text);
	for (unsigned int i = 0; i < 300; i++)
		assert_int_equal(ila_conf_nodeset_has(c->vns[0].serve, i), i % 2 == 0);
	char *s = ila_conf_print_str(c);

	assert_non_null(s);
	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');

		assert_non_null(nl);
		assert_true(nl - line <= 100);
		line = nl + 1;
	}
	free(s);
	assert_round_trip(c);
	free(c);
}

/* ---- lexical rules ---- */

static void test_lexical(void **state)
{
	struct ila_conf *c = must_parse(
		ILA_CONF_NODE,
		"# a comment line\n"
		"\n"
		"   \t  \n"
		"node-name\tn1   # trailing comment\n"
		"locator 2001:0:0:a#comment right after a value\n"
		"mapper ::1\r\n"
		"plaintext\n"
		"pidfile \"/tmp/with space/and#hash\"\n"
		"control \"/tmp/q\\\"uote\\\\back\"\n"
		"zebra socket \"/tmp/tab\there\"");

	assert_string_equal(c->node_name, "n1");
	assert_int_equal(c->n_locators, 1);
	assert_int_equal(c->n_mappers, 1);
	assert_string_equal(c->pidfile, "/tmp/with space/and#hash");
	assert_string_equal(c->control, "/tmp/q\"uote\\back");
	assert_string_equal(c->zebra_socket, "/tmp/tab\there");
	free(c);

	/* A backslash outside quotes is an ordinary character. */
	c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE "store /tmp/a\\b\n");
	assert_string_equal(c->store, "/tmp/a\\b");
	free(c);
}

static void test_error_lexical(void **state)
{
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store \"/tmp/x\n", 2, "unterminated quote");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store \"/tmp/x\\\"\n", 2,
		     "unterminated quote");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store \"/tmp\\n\"\n", 2, "bad escape '\\n'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store /tmp\"x\"\n", 2, "quote inside");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store \"/tmp\"x\n", 2,
		     "no space after closing quote");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store /tmp/\x01x\n", 2, "control character");

	static const char nul[] = "plaintext\n\nstore /tmp/a\0b\n";

	expect_error_len(ILA_CONF_MAPPER, nul, sizeof(nul) - 1, 3, "NUL byte");
}

static void test_error_line_and_token_length(void **state)
{
	char *text = malloc(8192);

	assert_non_null(text);
	/* Exactly ILA_CONF_LINE_MAX bytes is fine (padding is a comment). */
	int n = snprintf(text, 8192, "plaintext\nkeepalive 100 #");
	memset(text + n, 'x', ILA_CONF_LINE_MAX - (size_t)(n - 10));
	strcpy(text + 10 + ILA_CONF_LINE_MAX, "\n");
	free(must_parse(ILA_CONF_MAPPER, text));
	/* One more byte is not. */
	text[10 + ILA_CONF_LINE_MAX] = 'x';
	strcpy(text + 11 + ILA_CONF_LINE_MAX, "\n");
	expect_error(ILA_CONF_MAPPER, text, 2, "line too long");

	/* A value of ILA_CONF_TOKEN_MAX + 1 bytes. */
	n = snprintf(text, 8192, "plaintext\n\nstore /");
	memset(text + n, 'p', ILA_CONF_TOKEN_MAX);
	strcpy(text + n + ILA_CONF_TOKEN_MAX, "\n");
	expect_error(ILA_CONF_MAPPER, text, 3, "value too long");
	free(text);
}

/* ---- errors of the line pass ---- */

static void test_error_unknown_keyword(void **state)
{
	expect_error(ILA_CONF_NODE,
		     "# line 1\nnode-name n1\n\nlocator 2001:0:0:a\nmapper ::1\nplaintext\n"
		     "frobnicate 3\n",
		     7, "unknown keyword 'frobnicate'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "damping moves 3 speed 4\n", 2,
		     "unknown attribute 'speed'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn blue colour red\n", 2,
		     "unknown attribute 'colour'");
}

static void test_error_missing_and_extra(void **state)
{
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive\n", 2, "keepalive: missing value");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive 100 200\n", 2,
		     "keepalive: extra value '200'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "plaintext\n", 2, "duplicate 'plaintext'");
	expect_error(ILA_CONF_MAPPER, "plaintext yes\n", 1, "plaintext: extra value 'yes'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "lifetime default\n", 2,
		     "lifetime default: missing value");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "listen ::1 port\n", 2, "port: missing value");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "listen ::1 port 80 x\n", 2,
		     "extra value 'x'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "listen ::1 80\n", 2, "extra value '80'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn blue\n", 2, "vn blue: missing value");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn blue id\n", 2, "vn blue id: missing value");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn blue serve\n", 2,
		     "vn blue serve: missing value");
	expect_error(ILA_CONF_NODE, NODE_BASE "\n\nzebra\n", 7, "zebra: missing value");
}

static void test_error_numbers(void **state)
{
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive fast\n", 2, "bad number 'fast'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive -5\n", 2, "bad number '-5'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive 1e3\n", 2, "bad number '1e3'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive 5\n", 2, "'5' out of range");
	/* the store counts a mapping's moves in one byte */
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "damping moves 255\n", 2,
		     "'255' out of range (1-254)");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive 4294967296\n", 2,
		     "'4294967296' out of range");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn b id 0 sir-prefix 2001:db8::/64\n", 2,
		     "vn b id: '0' out of range (1-4294967295)");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "listen ::1 port 65536\n", 2,
		     "port: '65536' out of range (1-65535)");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "damping freeze never\n", 2,
		     "bad value 'never'");
	expect_error(ILA_CONF_NODE, NODE_BASE "attach-grace 3601\n", 5, "'3601' out of range");
	/* Bounds themselves are accepted. */
	struct ila_conf *c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE "keepalive 10\n"
							 "store-map-size 1048576\n");

	assert_int_equal(c->keepalive_ms, 10);
	assert_int_equal(c->store_map_size_mb, 1048576);
	free(c);
}

static void test_error_addresses(void **state)
{
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "listen localhost\n", 2,
		     "bad address 'localhost'");
	expect_error(ILA_CONF_NODE, NODE_BASE "mapper 2001:db8::1::2\n", 5,
		     "bad address '2001:db8::1::2'");
	expect_error(ILA_CONF_NODE, NODE_BASE "locator 2001:0:0\n", 5, "2001:0:0");
	expect_error(ILA_CONF_NODE, NODE_BASE "locator 2001:0:0:a\n", 5, "given twice");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn b id 1 sir-prefix 2001:db8::/48\n", 2,
		     "2001:db8::/48");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn b ipv4-prefix 10.0.0.1/8\n", 2,
		     "host bits set in '10.0.0.1/8'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn b ipv4-prefix 10.0.0.0/33\n", 2,
		     "out of range");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn b ipv4-prefix 2001:db8::/64\n", 2,
		     "bad IPv4 prefix '2001:db8::/64'");
	expect_error(ILA_CONF_NODE, NODE_BASE "vn b allow 2001:db8::/6x\n", 5,
		     "bad IPv4 or IPv6 prefix '2001:db8::/6x'");
}

static void test_error_duplicates(void **state)
{
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive 100\n\n# x\nkeepalive 200\n", 5,
		     "duplicate 'keepalive' (first on line 2)");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "damping moves 3\ndamping moves 4\n", 3,
		     "duplicate 'damping moves' (first on line 2)");
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "vn b id 1 sir-prefix 2001:db8::/64\nvn b id 2\n", 3,
		     "vn b: duplicate 'id' (first on line 2)");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "listen ::1\nlisten ::1 port 7787\n", 3,
		     "given twice (first on line 2)");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "node a identity x\nnode a identity y\n", 3,
		     "duplicate 'identity'");
	expect_error(ILA_CONF_NODE, NODE_BASE "node-name n2\n", 5, "duplicate 'node-name'");
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra on\nzebra off\n", 6, "duplicate 'zebra");
}

/* Attributes of one object may be spread over lines starting "KEYWORD NAME". */
static void test_objects_across_lines(void **state)
{
	struct ila_conf *one = must_parse(
		ILA_CONF_MAPPER, MAPPER_BASE "node a\nnode b\n"
					     "vn x id 9 sir-prefix 2001:db8:9::/64 serve a b\n");
	struct ila_conf *split = must_parse(ILA_CONF_MAPPER,
					    MAPPER_BASE "vn x serve b\nnode b\n"
							"vn x sir-prefix 2001:db8:9::/64\n"
							"node a\nvn x id 9\nvn x serve a\n");

	/* Same vn and sets, but nodes declared in another order. */
	assert_int_equal(split->n_vns, 1);
	assert_int_equal(split->vns[0].id, 9);
	assert_string_equal(split->nodes[0].name, "b");
	assert_true(ila_conf_nodeset_has(split->vns[0].serve, 0));
	assert_true(ila_conf_nodeset_has(split->vns[0].serve, 1));
	assert_false(ila_conf_equal(one, split));
	free(split);
	split = must_parse(ILA_CONF_MAPPER, MAPPER_BASE "node a\nnode b\nvn x serve b\n"
							"vn x sir-prefix 2001:db8:9::/64\n"
							"vn x id 9\nvn x serve a\n");
	assert_true(ila_conf_equal(one, split));
	free(one);
	free(split);
}

static void test_error_other_daemon(void **state)
{
	expect_error(ILA_CONF_NODE, NODE_BASE "listen ::1\n", 5,
		     "'listen' is a keyword of ila-mapper, not of ilad");
	expect_error(ILA_CONF_NODE, NODE_BASE "store /x\n", 5, "keyword of ila-mapper");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "node-name n1\n", 2,
		     "'node-name' is a keyword of ilad, not of ila-mapper");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "zebra on\n", 2, "keyword of ilad");
	expect_error(ILA_CONF_NODE, NODE_BASE "vn b serve n1\n", 5,
		     "vn b: 'serve' is for ila-mapper, not ilad");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn b interface eth0\n", 2,
		     "vn b: 'interface' is for ilad, not ila-mapper");
}

static void test_error_names(void **state)
{
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn -x id 1\n", 2, "bad name '-x'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "node \"a b\"\n", 2, "bad name 'a b'");
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "node "
				 "n234567890123456789012345678901234567890123456789012345678901234\n",
		     2, "bad name");
	expect_error(ILA_CONF_NODE, NODE_BASE "vn b interface eth0123456789abc\n", 5,
		     "bad interface name 'eth0123456789abc'");
	expect_error(ILA_CONF_NODE, NODE_BASE "vn b interface eth0 eth0\n", 5, "given twice");
	expect_error(ILA_CONF_NODE, NODE_BASE "control /" /* longer than sun_path */
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 5, "too long");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "store \"\"\n", 2, "store: empty path");
}

/* ---- errors of the whole-file pass ---- */

static void test_error_unknown_reference(void **state)
{
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "node n1\nvn b id 1 sir-prefix 2001:db8::/64\n"
				 "vn b serve n1\nvn b subscribe n1 n9\nnode n2\n",
		     5, "vn b subscribe: unknown node 'n9'");
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "node n1\nvn b id 1 sir-prefix 2001:db8::/64\n"
				 "vn b serve n1\nvn b serve n1\n",
		     5, "node 'n1' listed twice");
}

static void test_error_conflicting_vns(void **state)
{
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "vn a id 5 sir-prefix 2001:db8:1::/64\n"
				 "vn b sir-prefix 2001:db8:2::/64\n\nvn b id 5\n",
		     5, "vn b: id 5 already used by vn a");
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "vn a id 5 sir-prefix 2001:db8:1::/64\n"
				 "vn b id 6\nvn b sir-prefix 2001:db8:1:0::/64\n",
		     4, "sir-prefix 2001:db8:1::/64 already used by vn a");
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "vn a id 5 sir-prefix 2001:db8:1::/64 ipv4-prefix 10.0.0.0/8\n"
			       "vn b id 6 sir-prefix 2001:db8:2::/64 ipv4-prefix 10.9.0.0/16\n",
		     6, "ipv4-prefix 10.9.0.0/16 overlaps 10.0.0.0/8 of vn a");
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "vn a id 5 sir-prefix 2001:db8:1::/64 interface eth1\n"
			       "vn b id 6 sir-prefix 2001:db8:2::/64\nvn b interface eth2 eth1\n",
		     7, "'eth1' already belongs to vn a");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "\nvn a id 5\n", 3,
		     "vn a: missing 'sir-prefix'");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn a sir-prefix 2001:db8:1::/64\n", 2,
		     "vn a: missing 'id'");
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "vn a id 5 sir-prefix 2001:db8:1::/64\n"
			       "vn a allow 2001:db8:2::/64\n",
		     6, "2001:db8:2::/64 is outside 2001:db8:1::/64");
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "vn a id 5 sir-prefix 2001:db8:1::/64\nvn a allow 10.0.0.0/8\n", 6,
		     "has no ipv4-prefix");
	expect_error(ILA_CONF_MAPPER,
		     MAPPER_BASE "node a identity x\nnode b\nnode b identity x\n", 4,
		     "node b: identity 'x' already used by node a");
}

static void test_error_transport(void **state)
{
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "listen 2001:db8::1\nlisten ::1\n", 1,
		     "'2001:db8::1 port 7787' is not a loopback address");
	expect_error(ILA_CONF_NODE,
		     "node-name n1\nlocator 2001:0:0:a\nmapper ::1\nmapper 192.0.2.1 port 9\n"
		     "plaintext\n",
		     5, "'192.0.2.1 port 9' is not a loopback");
	free(must_parse(ILA_CONF_NODE, "node-name n1\nlocator 2001:0:0:a\nmapper 127.0.0.2\n"
				       "mapper ::ffff:127.0.0.1\nplaintext\n"));

	expect_error(ILA_CONF_MAPPER, "keepalive 100\n", 1, "'tls' is required");
	expect_error(ILA_CONF_MAPPER, "\ntls certificate /c key /k\n\n", 2, "tls: missing 'ca'");
	expect_error(ILA_CONF_MAPPER, "tls certificate /c key /k ca /a\nplaintext\n", 2,
		     "'plaintext' and 'tls' exclude each other");
	struct ila_conf *c = must_parse(ILA_CONF_MAPPER, "tls ca /a\ntls key /k\n"
							 "tls certificate /c\n");

	assert_string_equal(c->tls_ca, "/a");
	assert_string_equal(c->tls_certificate, "/c");
	free(c);
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "keepalive 2000\n", 2,
		     "dead-interval 3000 ms is less than twice keepalive 2000 ms");
}

static void test_error_node_requirements(void **state)
{
	expect_error(ILA_CONF_NODE, "locator 2001:0:0:a\nmapper ::1\nplaintext\n", 3,
		     "'node-name' is required");
	expect_error(ILA_CONF_NODE, "node-name a\nlocator 2001:0:0:a\nplaintext\n\n", 4,
		     "at least one 'mapper'");
	expect_error(ILA_CONF_NODE, "node-name a\nmapper ::1\nplaintext\n", 3,
		     "mode ila needs at least one 'locator'");
	struct ila_conf *c = must_parse(ILA_CONF_NODE, "node-name a\nmapper ::1\nplaintext\n"
						       "mode control-plane\n");

	assert_int_equal(c->mode, ILA_CONF_MODE_CONTROL_PLANE);
	free(c);
	expect_error(ILA_CONF_NODE, NODE_BASE "mode tunnel\n", 5,
		     "unknown value 'tunnel' (ila|host-route|control-plane)");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "lifetime default 700 max 600\n", 2,
		     "default 700 is above max 600");
}

/* What ilad cannot run is refused by the parser, so that -n, start-up and
 * reload say the same: cache on-demand needs the BPF data path's miss
 * events (auto is checked at start, once resolved). */
static void test_error_node_unsupported(void **state)
{
	expect_error(ILA_CONF_NODE, NODE_BASE "dataplane ila-module\n\ncache on-demand\n", 7,
		     "cache on-demand needs dataplane bpf: the ila module gives no signal when "
		     "a packet finds no mapping");
	/* other modes, wherever the line is */
	expect_error(ILA_CONF_NODE,
		     "node-name a\ncache on-demand\nmapper ::1\nplaintext\nmode control-plane\n", 2,
		     "cache on-demand needs mode ila with dataplane bpf");
	expect_error(ILA_CONF_NODE, NODE_BASE "mode host-route\ncache on-demand\n", 6,
		     "cache on-demand needs mode ila with dataplane bpf");
	expect_error(ILA_CONF_NODE, NODE_BASE "on-demand-idle 0\n", 5, "");
	expect_error(ILA_CONF_NODE, NODE_BASE "on-demand-max 0\n", 5, "");
	expect_error(ILA_CONF_NODE, NODE_BASE "bpf-max-mappings 1023\n", 5, "");
	expect_error(ILA_CONF_NODE, NODE_BASE "bpf-max-mappings 16777217\n", 5, "");
	struct ila_conf *c = must_parse(ILA_CONF_NODE, NODE_BASE "cache full\n");

	assert_int_equal(c->cache, ILA_CONF_CACHE_FULL);
	assert_int_equal(c->on_demand_idle_s, 60);
	assert_int_equal(c->on_demand_max, 65536);
	assert_int_equal(c->bpf_max_mappings, 65536);
	free(c);
#ifdef HAVE_BPF
	c = must_parse(ILA_CONF_NODE, NODE_BASE "dataplane bpf\ncache on-demand\n"
					       "on-demand-idle 5\non-demand-max 100\n"
					       "bpf-max-mappings 1048576\n");
	assert_int_equal(c->cache, ILA_CONF_CACHE_ON_DEMAND);
	assert_int_equal(c->on_demand_idle_s, 5);
	assert_int_equal(c->on_demand_max, 100);
	assert_int_equal(c->bpf_max_mappings, 1048576);
	free(c);
#endif
	c = must_parse(ILA_CONF_NODE, NODE_BASE "cache on-demand\n"); /* auto: at start */
	assert_int_equal(c->cache, ILA_CONF_CACHE_ON_DEMAND);
	free(c);
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "watch lifetime 0\n", 2, "");
	c = must_parse(ILA_CONF_MAPPER, MAPPER_BASE "watch lifetime 10 max 0\n");
	assert_int_equal(c->watch_lifetime_s, 10);
	assert_int_equal(c->watch_max, 0);
	free(c);
}

/* dataplane: auto by default; bpf only where the BPF data path is built,
 * refused at its line otherwise (so ilad -n says what start-up would). */
static void test_dataplane(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_NODE, NODE_BASE);

	assert_int_equal(c->dataplane, ILA_CONF_DATAPLANE_AUTO);
	free(c);
	c = must_parse(ILA_CONF_NODE, NODE_BASE "dataplane ila-module\n");
	assert_int_equal(c->dataplane, ILA_CONF_DATAPLANE_ILA_MODULE);
	free(c);
	expect_error(ILA_CONF_NODE, NODE_BASE "dataplane ebpf\n", 5,
		     "unknown value 'ebpf' (auto|ila-module|bpf)");
	expect_error(ILA_CONF_NODE, NODE_BASE "dataplane bpf\ndataplane auto\n", 6, "dataplane");
#ifdef HAVE_BPF
	c = must_parse(ILA_CONF_NODE, NODE_BASE "dataplane bpf\nmode control-plane\n");
	assert_int_equal(c->dataplane, ILA_CONF_DATAPLANE_BPF);
	free(c);
#else
	expect_error(ILA_CONF_NODE, NODE_BASE "\ndataplane bpf\n", 6,
		     "dataplane bpf: this ilad was built without the BPF data path");
#endif
}

/* Mode ila: the vn's position in the file picks its locator, the last one
 * when there are fewer; two vns on one locator are refused at the line where
 * the later vn first appears. */
static void test_error_locator_per_vn(void **state)
{
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "vn a id 5 sir-prefix 2001:db8:1::/64\n"
			       "vn b id 6 sir-prefix 2001:db8:2::/64\n",
		     6, "vn b would share locator 2001:0:0:a with vn a: in mode ila each vn "
			"needs a locator of its own (the first locator goes with the first vn, "
			"and so on; 2 vns, 1 locator)");
	/* the position is where a vn first appears, not where it is completed */
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "vn b id 6\nvn a id 5 sir-prefix 2001:db8:1::/64\n"
			       "vn b sir-prefix 2001:db8:2::/64\n",
		     6, "vn a would share locator 2001:0:0:a with vn b");
	/* three vns, two locators: the third would take the last locator */
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "locator 2001:0:0:b\n"
			       "vn a id 5 sir-prefix 2001:db8:1::/64\n"
			       "vn b id 6 sir-prefix 2001:db8:2::/64\n\n"
			       "vn c id 7 sir-prefix 2001:db8:3::/64\n",
		     9, "vn c would share locator 2001:0:0:b with vn b");
	/* an explicit mode ila after the vns is the same */
	expect_error(ILA_CONF_NODE,
		     NODE_BASE "vn a id 5 sir-prefix 2001:db8:1::/64\n"
			       "vn b id 6 sir-prefix 2001:db8:2::/64\nmode ila\n",
		     6, "would share locator");

	/* a locator per vn: the first goes with the first vn, and so on */
	struct ila_conf *c = must_parse(ILA_CONF_NODE,
					NODE_BASE "vn b id 6 sir-prefix 2001:db8:2::/64\n"
						  "locator 2001:0:0:b\nlocator 2001:0:0:c\n"
						  "vn a id 5 sir-prefix 2001:db8:1::/64\n");

	assert_int_equal(c->n_vns, 2);
	assert_string_equal(c->vns[0].name, "b");
	assert_int_equal(ila_conf_vn_locator(c, 0), 0);
	assert_int_equal(ila_conf_vn_locator(c, 1), 1);
	assert_int_equal(ila_conf_vn_locator(c, 2), -1); /* no such vn */
	assert_round_trip(c);
	free(c);

	/* host-route and control-plane do not translate: vns may share a locator,
	 * paired by the same rule */
	c = must_parse(ILA_CONF_NODE, NODE_BASE "mode host-route\n"
				      "vn a id 5 sir-prefix 2001:db8:1::/64\n"
				      "vn b id 6 sir-prefix 2001:db8:2::/64\n"
				      "vn c id 7 sir-prefix 2001:db8:3::/64\n");
	assert_int_equal(ila_conf_vn_locator(c, 0), 0);
	assert_int_equal(ila_conf_vn_locator(c, 2), 0);
	assert_round_trip(c);
	free(c);
	c = must_parse(ILA_CONF_NODE, "node-name n1\nmapper ::1\nplaintext\nmode control-plane\n"
				      "vn a id 5 sir-prefix 2001:db8:1::/64\n"
				      "vn b id 6 sir-prefix 2001:db8:2::/64\n");
	assert_int_equal(ila_conf_vn_locator(c, 0), -1); /* no locator at all */
	free(c);
}

static void test_node_kernel_settings(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_NODE, NODE_BASE "csum-mode adj-transport\n");

	assert_int_equal(c->csum_mode, ILA_CSUM_ADJUST_TRANSPORT);
	assert_int_equal(c->n_warnings, 1);
	assert_non_null(strstr(c->warnings[0], "t.conf:5: csum-mode adj-transport"));
	free(c);
	expect_error(ILA_CONF_NODE, NODE_BASE "csum-mode fast\n", 5, "fast");
	expect_error(ILA_CONF_NODE, NODE_BASE "ident-type iid\n", 5,
		     "'iid' is not supported by the kernel");
	expect_error(ILA_CONF_NODE, NODE_BASE "route-protocol 11\n", 5, "'11' is used by zebra");
	expect_error(ILA_CONF_NODE, NODE_BASE "route-protocol 193\n", 5, "used by zebra");
	expect_error(ILA_CONF_NODE, NODE_BASE "route-protocol 4\n", 5, "used by the kernel");
	expect_error(ILA_CONF_NODE, NODE_BASE "route-protocol 18\n", 5, "keepalived");
	expect_error(ILA_CONF_NODE, NODE_BASE "route-protocol 256\n", 5, "out of range");
	c = must_parse(ILA_CONF_NODE, NODE_BASE "route-protocol 255\n");
	assert_int_equal(c->route_protocol, 255);
	free(c);
}

static void test_zebra_forms(void **state)
{
	struct ila_conf *c = must_parse(ILA_CONF_NODE, NODE_BASE "zebra route-type openfabric\n"
								 "zebra version 8\n");

	assert_false(c->zebra);
	assert_int_equal(c->zebra_route_type, ILA_CONF_ZRT_OPENFABRIC);
	assert_int_equal(c->zebra_version, ILA_CONF_ZEBRA_8);
	assert_round_trip(c);
	free(c);
	c = must_parse(ILA_CONF_NODE, NODE_BASE "zebra on\n");
	assert_true(c->zebra);
	assert_int_equal(c->zebra_gr_s, ILA_CONF_ZEBRA_GR_DEFAULT);
	assert_int_equal(c->zebra_tag, 4242);
	free(c);
	c = must_parse(ILA_CONF_NODE, NODE_BASE "zebra on tag 4294967295\n");
	assert_int_equal(c->zebra_tag, 4294967295u);
	assert_round_trip(c);
	free(c);
	c = must_parse(ILA_CONF_NODE, NODE_BASE "zebra tag 0\n");
	assert_int_equal(c->zebra_tag, 0);
	assert_round_trip(c);
	free(c);
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra tag 4294967296\n", 5, "out of range");
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra tag red\n", 5, "tag");
	c = must_parse(ILA_CONF_NODE, NODE_BASE "zebra on graceful-restart 7\n");
	assert_int_equal(c->zebra_gr_s, 7);
	assert_round_trip(c);
	free(c);
	c = must_parse(ILA_CONF_NODE, NODE_BASE "zebra graceful-restart off\n");
	assert_int_equal(c->zebra_gr_s, 0);
	assert_round_trip(c);
	free(c);
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra graceful-restart 0\n", 5, "out of range");
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra graceful-restart 4096\n", 5, "out of range");
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra graceful-restart on\n", 5, "graceful-restart");
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra version 7\n", 5,
		     "unknown value '7' (auto|8|9|10)");
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra route-type 3\n", 5, "'3' out of range");
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra route-type rip\n", 5, "unknown value 'rip'");
	expect_error(ILA_CONF_NODE, NODE_BASE "zebra on socket\n", 5,
		     "zebra socket: missing value");
}

static void test_limits(void **state)
{
	size_t cap = 16 * 1024, len = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "plaintext\n");
	for (int i = 0; i <= ILA_CONF_MAX_VNS; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"vn v%d id %d sir-prefix 2001:db8:%x::/64\n", i, i + 1, i);
	expect_error(ILA_CONF_MAPPER, text, ILA_CONF_MAX_VNS + 2, "too many vns (at most 64)");

	len = (size_t)snprintf(text, cap, NODE_BASE);
	for (int i = 1; i <= ILA_CONF_MAX_LOCATORS; i++)
		len += (size_t)snprintf(text + len, cap - len, "locator 2001:0:1:%x\n", i);
	expect_error(ILA_CONF_NODE, text, 4 + ILA_CONF_MAX_LOCATORS, "too many locators");
	free(text);
}

/* ---- equality, errors keep the old config, files ---- */

static void test_equal_and_unchanged_on_error(void **state)
{
	struct ila_conf *a = must_parse(ILA_CONF_NODE, full_node);
	struct ila_conf *b = must_parse(ILA_CONF_NODE, full_node);
	char err[ERRLEN];

	assert_true(ila_conf_equal(a, b));
	/* Warnings and bytes after a string's end do not matter. */
	b->n_warnings = 1;
	b->pidfile[sizeof(b->pidfile) - 1] = 'x';
	assert_true(ila_conf_equal(a, b));
	b->vns[1].allow[0].len = 99; /* beyond n_allow: ignored */
	assert_true(ila_conf_equal(a, b));
	b->vns[0].allow[2].len = 25;
	assert_false(ila_conf_equal(a, b));
	b->vns[0].allow[2].len = 24;
	b->mappers[1].port++;
	assert_false(ila_conf_equal(a, b));

	/* A failed parse leaves the running config alone. */
	memcpy(b, a, sizeof(*a));
	assert_int_equal(parse_str(b, NODE_BASE "keepalive x\n", err), -EINVAL);
	assert_true(ila_conf_equal(a, b));
	assert_string_equal(b->node_name, "n1");
	assert_int_equal(b->n_locators, 2);

	/* ila_conf_free() leaves an initialised config of the same kind. */
	ila_conf_free(b);
	assert_int_equal(b->kind, ILA_CONF_NODE);
	assert_int_equal(b->n_vns, 0);
	assert_int_equal(b->hold_time_s, 30);
	free(a);
	free(b);
}

static void test_parse_file(void **state)
{
	struct ila_conf *c = new_conf(ILA_CONF_NODE);
	char err[ERRLEN];
	char path[] = "/tmp/test_conf_XXXXXX";
	int fd = mkstemp(path);

	assert_int_equal(ila_conf_parse_file(c, "/nonexistent/ilad.conf", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/ilad.conf"));
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");

	assert_non_null(f);
	fputs(NODE_BASE "\nhold-time 0\n", f);
	fclose(f);
	assert_int_equal(ila_conf_parse_file(c, path, err, sizeof(err)), -EINVAL);
	char want[128];

	snprintf(want, sizeof(want), "%s:6: hold-time: '0' out of range", path);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(NODE_BASE "hold-time 9\n", f);
	fclose(f);
	assert_int_equal(ila_conf_parse_file(c, path, err, sizeof(err)), 0);
	assert_int_equal(c->hold_time_s, 9);
	unlink(path);
	free(c);
}

/* The example configs under doc/ parse and round-trip. */
static void test_examples(void **state)
{
	static const struct {
		const char *file;
		enum ila_conf_kind kind;
	} examples[] = {
		{ "doc/ila-mapper.conf.example", ILA_CONF_MAPPER },
		{ "doc/ila-mapper-etcd.conf.example", ILA_CONF_MAPPER },
		{ "doc/ilad.conf.example", ILA_CONF_NODE },
	};

	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		struct ila_conf *c = new_conf(examples[i].kind);
		char path[1024], err[ERRLEN];

		snprintf(path, sizeof(path), "%s/%s", srcdir(), examples[i].file);
		if (ila_conf_parse_file(c, path, err, sizeof(err)))
			fail_msg("%s", err);
		assert_true(c->n_vns > 0);
		assert_round_trip(c);
		free(c);
	}
}

/* Replaces @RUNDIR@ and @STATEDIR@ (defaults chosen at configure time). */
static char *expand(char *text)
{
	static const struct {
		const char *var, *value;
	} vars[] = { { "@RUNDIR@", ILA_RUNDIR }, { "@STATEDIR@", ILA_STATEDIR } };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		char *at;

		while ((at = strstr(text, vars[i].var))) {
			size_t vl = strlen(vars[i].var), nl = strlen(vars[i].value);
			char *n = malloc(strlen(text) - vl + nl + 1);

			assert_non_null(n);
			memcpy(n, text, (size_t)(at - text));
			strcpy(n + (at - text), vars[i].value);
			strcat(n, at + vl);
			free(text);
			text = n;
		}
	}
	return text;
}

/* Golden files: tests/conf/NAME.conf prints exactly as tests/conf/NAME.out
 * (written by hand from doc/config.md, not generated). */
static void test_golden(void **state)
{
	static const struct {
		const char *name;
		enum ila_conf_kind kind;
	} golden[] = {
		{ "mapper-full", ILA_CONF_MAPPER },
		{ "node-full", ILA_CONF_NODE },
		{ "mapper-minimal", ILA_CONF_MAPPER },
		{ "node-minimal", ILA_CONF_NODE },
	};

	for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		struct ila_conf *c = new_conf(golden[i].kind);
		char path[1024], err[ERRLEN];

		snprintf(path, sizeof(path), "%s/tests/conf/%s.conf", srcdir(), golden[i].name);
		if (ila_conf_parse_file(c, path, err, sizeof(err)))
			fail_msg("%s", err);
		snprintf(path, sizeof(path), "%s/tests/conf/%s.out", srcdir(), golden[i].name);
		char *want = expand(read_file(path));
		char *got = ila_conf_print_str(c);

		assert_non_null(got);
		if (strcmp(want, got) != 0)
			fail_msg("%s differs; printed:\n%s", path, got);
		free(want);
		free(got);
		free(c);
	}
}

/* vn NAME gateway ADDRESS [ADDRESS4] mac MAC: forms, checks, printing, equality. */
static void test_gateway(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 };
	struct ila_conf *c, *d;
	struct in6_addr a6;
	char *text;

	c = must_parse(ILA_CONF_NODE, NODE_BASE
		       "vn b id 1 sir-prefix 2001:db8:1::/64 ipv4-prefix 192.0.2.0/24\n"
		       "vn b gateway fe80::1 192.0.2.1 mac 02:00:5E:00:53:01 interface vm0\n");
	assert_true(c->vns[0].gateway);
	inet_pton(AF_INET6, "fe80::1", &a6);
	assert_memory_equal(&c->vns[0].gw6, &a6, sizeof(a6));
	assert_int_equal(ntohl(c->vns[0].gw4.s_addr), 0xc0000201);
	assert_memory_equal(c->vns[0].gw_mac, mac, 6);
	assert_string_equal(c->vns[0].interfaces[0], "vm0");
	assert_int_equal(c->n_warnings, 0);
	text = ila_conf_print_str(c);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nvn b gateway fe80::1 192.0.2.1 mac 02:00:5e:00:53:01\n"));
	free(text);
	assert_round_trip(c);
	/* IPv6 only, a global address; another MAC is another config */
	d = must_parse(ILA_CONF_NODE, NODE_BASE "vn b id 1 sir-prefix 2001:db8:1::/64 "
		       "gateway 2001:db8:1::1 mac 02:00:5e:00:53:01\n");
	assert_true(d->vns[0].gateway);
	assert_int_equal(d->vns[0].gw4.s_addr, 0);
	assert_round_trip(d);
	assert_false(ila_conf_equal(c, d));
	free(d);
	d = must_parse(ILA_CONF_NODE, NODE_BASE
		       "vn b id 1 sir-prefix 2001:db8:1::/64 ipv4-prefix 192.0.2.0/24\n"
		       "vn b gateway fe80::1 192.0.2.1 mac 02:00:5e:00:53:02 interface vm0\n");
	assert_false(ila_conf_equal(c, d));
	free(d);
	free(c);
	/* a universally administered MAC is legal, with a warning */
	c = must_parse(ILA_CONF_NODE, NODE_BASE "vn b id 1 sir-prefix 2001:db8:1::/64 "
		       "gateway fe80::1 mac 00:00:5e:00:53:01\n");
	assert_int_equal(c->n_warnings, 1);
	assert_non_null(strstr(c->warnings[0], "t.conf:5: vn b gateway: 00:00:5e:00:53:01 is "
			       "not locally administered"));
	free(c);

#define VN "vn b id 1 sir-prefix 2001:db8:1::/64 "
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway\n", 5, "vn b gateway: missing value");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway 192.0.2.1 mac 02:00:00:00:00:01\n", 5,
		     "'192.0.2.1' is not an IPv6 address");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway ff02::1 mac 02:00:00:00:00:01\n", 5,
		     "ff02::1 is not a unicast address");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway :: mac 02:00:00:00:00:01\n", 5,
		     "not a unicast address");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1\n", 5, "missing 'mac MAC'");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1 mac\n", 5,
		     "vn b gateway mac: missing value");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1 x mac 02:00:00:00:00:01\n", 5,
		     "'x' is neither an IPv4 address nor 'mac'");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1 224.0.0.1 mac 02:00:00:00:00:01\n",
		     5, "224.0.0.1 is not a unicast address");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1 mac 02:00:00:00:00\n", 5,
		     "'02:00:00:00:00' is not a MAC address");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1 mac 02:00:00:00:00:0g\n", 5,
		     "is not a MAC address");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1 mac 03:00:00:00:00:01\n", 5,
		     "03:00:00:00:00:01 is a multicast MAC address");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1 mac 00:00:00:00:00:00\n", 5,
		     "all-zero MAC address");
	expect_error(ILA_CONF_NODE, NODE_BASE VN "gateway fe80::1 192.0.2.1 mac 02:00:00:00:00:01\n",
		     5, "vn b gateway: IPv4 address but the vn has no ipv4-prefix");
	expect_error(ILA_CONF_NODE,
		     NODE_BASE VN "gateway fe80::1 mac 02:00:00:00:00:01\nvn b gateway fe80::2 mac "
		     "02:00:00:00:00:01\n", 6, "vn b: duplicate 'gateway' (first on line 5)");
	expect_error(ILA_CONF_MAPPER, MAPPER_BASE "vn b id 1 sir-prefix 2001:db8:1::/64 gateway "
		     "fe80::1 mac 02:00:00:00:00:01\n", 2, "'gateway' is for ilad, not ila-mapper");
#undef VN
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_mapper),
		cmocka_unit_test(test_defaults_node),
		cmocka_unit_test(test_minimal_keeps_defaults),
		cmocka_unit_test(test_full_mapper),
		cmocka_unit_test(test_full_node),
		cmocka_unit_test(test_round_trip_mapper),
		cmocka_unit_test(test_round_trip_node),
		cmocka_unit_test(test_round_trip_quoting),
		cmocka_unit_test(test_round_trip_long_lists),
		cmocka_unit_test(test_lexical),
		cmocka_unit_test(test_error_lexical),
		cmocka_unit_test(test_error_line_and_token_length),
		cmocka_unit_test(test_error_unknown_keyword),
		cmocka_unit_test(test_error_missing_and_extra),
		cmocka_unit_test(test_error_numbers),
		cmocka_unit_test(test_error_addresses),
		cmocka_unit_test(test_error_duplicates),
		cmocka_unit_test(test_objects_across_lines),
		cmocka_unit_test(test_error_other_daemon),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_etcd_store_settings),
		cmocka_unit_test(test_error_etcd),
		cmocka_unit_test(test_error_unknown_reference),
		cmocka_unit_test(test_error_conflicting_vns),
		cmocka_unit_test(test_error_transport),
		cmocka_unit_test(test_error_node_requirements),
		cmocka_unit_test(test_error_node_unsupported),
		cmocka_unit_test(test_dataplane),
		cmocka_unit_test(test_error_locator_per_vn),
		cmocka_unit_test(test_node_kernel_settings),
		cmocka_unit_test(test_zebra_forms),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_equal_and_unchanged_on_error),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_gateway),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
