/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Configuration of ila-mapper and ilad: one line-based grammar for both
 * files (doc/config.md), parsed into one plain struct and printed back in a
 * canonical form that parses to an equal struct (the -n/-nv round trip).
 *
 * The struct uses fixed arrays with the maxima below, so that it can be
 * compared and printed without chasing pointers; exceeding a maximum is a
 * config error, not a silent truncation.
 */
#ifndef ILA_CONF_H
#define ILA_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "log.h"

enum ila_conf_kind {
	ILA_CONF_MAPPER, /* ila-mapper.conf */
	ILA_CONF_NODE,   /* ilad.conf */
};

#define ILA_CONF_LINE_MAX 4096    /* bytes per line, without the newline */
#define ILA_CONF_TOKEN_MAX 1023   /* bytes per value after unquoting */
#define ILA_CONF_NAME_MAX 64      /* names of vns and nodes: 1-63 bytes + NUL */
#define ILA_CONF_IDENTITY_MAX 256 /* certificate names: 1-255 bytes + NUL */
#define ILA_CONF_PATH_MAX 1024    /* paths: 1-1023 bytes + NUL */
#define ILA_CONF_IFNAME_MAX 16    /* IFNAMSIZ: 1-15 bytes + NUL */
#define ILA_CONF_MAX_VNS 64
#define ILA_CONF_MAX_NODES 16384  /* node lines of the mapper */
#define ILA_CONF_MAX_LISTEN 8
#define ILA_CONF_MAX_LOCATORS 16
#define ILA_CONF_MAX_MAPPERS 8
#define ILA_CONF_MAX_VN_IFACES 16
#define ILA_CONF_MAX_VN_ALLOW 16
#define ILA_CONF_MAX_WARNINGS 8
#define ILA_CONF_WARNING_LEN 256

#define ILA_CONF_MAX_ETCD 8       /* etcd endpoints */
#define ILA_CONF_URL_MAX 256      /* an etcd endpoint URL: 1-255 bytes + NUL */
#define ILA_CONF_ETCD_PREFIX_MAX 128

#define ILA_CONF_DEFAULT_PORT 7787
/* damping freeze value meaning "frozen until an operator unfreezes". */
#define ILA_CONF_FREEZE_PERMANENT UINT32_MAX

/* An address with a TCP port (listen and mapper lines). */
struct ila_conf_endpoint {
	int family; /* AF_INET6 or AF_INET */
	union {
		struct in6_addr v6;
		struct in_addr v4;
	} addr;
	uint16_t port; /* host order */
};

/* An IPv4 or IPv6 prefix with zero host bits; family 0 means "none". */
struct ila_conf_prefix {
	int family;
	union {
		struct in6_addr v6;
		struct in_addr v4;
	} addr;
	uint8_t len;
};

/* A bit per index into ila_conf.nodes (the mapper's serve/subscribe lists). */
typedef uint8_t ila_conf_nodeset[ILA_CONF_MAX_NODES / 8];

static inline bool ila_conf_nodeset_has(const ila_conf_nodeset set, unsigned int node)
{
	return node < ILA_CONF_MAX_NODES && (set[node / 8] >> (node % 8)) & 1;
}

/* A virtual network (tenant). id and sir_prefix are always set. */
struct ila_conf_vn {
	char name[ILA_CONF_NAME_MAX];
	uint32_t id; /* 1 .. 2^32-1 */
	struct ila_sir_prefix sir_prefix;
	struct ila_conf_prefix ipv4_prefix; /* family 0 when not configured */
	/* mapper: nodes that may register addresses of this vn / receive its pushes */
	ila_conf_nodeset serve;
	ila_conf_nodeset subscribe;
	/* node: workload interfaces, and the addresses that may attach by themselves */
	char interfaces[ILA_CONF_MAX_VN_IFACES][ILA_CONF_IFNAME_MAX];
	unsigned int n_interfaces;
	struct ila_conf_prefix allow[ILA_CONF_MAX_VN_ALLOW];
	unsigned int n_allow;
	/* node: the anycast gateway every workload interface of the vn is given
	 * (vn NAME gateway ADDRESS [ADDRESS4] mac MAC); gw4 is 0.0.0.0 when
	 * not configured */
	bool gateway;
	struct in6_addr gw6;
	struct in_addr gw4;
	uint8_t gw_mac[6];
};

/* A node known to the mapper; identity is the name in its certificate. */
struct ila_conf_node {
	char name[ILA_CONF_NAME_MAX];
	char identity[ILA_CONF_IDENTITY_MAX];
};

enum ila_conf_mode {
	ILA_CONF_MODE_ILA,           /* translate with the kernel's ILA */
	ILA_CONF_MODE_HOST_ROUTE,    /* /128 routes to the locator, no translation */
	ILA_CONF_MODE_CONTROL_PLANE, /* talk to the mapper only, program nothing */
};

/* Which kernel facility translates in mode ila (doc/bpf.md). */
enum ila_conf_dataplane {
	ILA_CONF_DATAPLANE_AUTO,       /* the module where the kernel has it, else BPF */
	ILA_CONF_DATAPLANE_ILA_MODULE, /* the kernel's ILA module: ILA routes, translation table */
	ILA_CONF_DATAPLANE_BPF,        /* routing/bpf/: one route per SIR prefix, maps */
};

enum ila_conf_role {
	ILA_CONF_ROLE_HOST,
	ILA_CONF_ROLE_ROUTER, /* full table, advertises the SIR prefixes */
};

enum ila_conf_cache {
	ILA_CONF_CACHE_FULL,      /* subscribe to whole vns */
	ILA_CONF_CACHE_ON_DEMAND, /* query the mapper per destination */
};

/* The FRR release the zebra API speaks; AUTO probes with HELLO. */
enum ila_conf_zebra_version {
	ILA_CONF_ZEBRA_AUTO = 0,
	ILA_CONF_ZEBRA_8 = 8,
	ILA_CONF_ZEBRA_9 = 9,
	ILA_CONF_ZEBRA_10 = 10,
};

/* zebra graceful-restart: how long zebra keeps ilad's routes after ilad's
 * connection closes, in seconds (bgpd's restart-time has the same bound). */
#define ILA_CONF_ZEBRA_GR_DEFAULT 60
#define ILA_CONF_ZEBRA_GR_MAX 4095

/* zebra tag: the route tag of every route ilad hands to zebra (0: none). */
#define ILA_CONF_ZEBRA_TAG_DEFAULT 4242

/* The zebra route type ilad's routes carry. Named types are translated to the
 * number of the FRR version spoken; NUMBER is sent as zebra_route_type_num. */
enum ila_conf_zebra_rtype {
	ILA_CONF_ZRT_BABEL,
	ILA_CONF_ZRT_OPENFABRIC,
	ILA_CONF_ZRT_TABLE,
	ILA_CONF_ZRT_NUMBER,
};

struct ila_conf {
	enum ila_conf_kind kind;

	/* both daemons */
	enum ila_log_level log_level;
	char pidfile[ILA_CONF_PATH_MAX];
	char control[ILA_CONF_PATH_MAX];
	bool tls;
	char tls_certificate[ILA_CONF_PATH_MAX];
	char tls_key[ILA_CONF_PATH_MAX];
	char tls_ca[ILA_CONF_PATH_MAX];
	bool plaintext;
	uint32_t keepalive_ms;
	uint32_t dead_interval_ms;
	/* least privilege: "" means none */
	char user[ILA_CONF_NAME_MAX];		  /* run as this user after start-up */
	char control_group[ILA_CONF_NAME_MAX];	  /* group of the control socket */
	char control_readonly[ILA_CONF_PATH_MAX]; /* the read-only control socket */
	/* metrics listen: Prometheus' HTTP endpoint, off unless set */
	bool metrics;
	struct ila_conf_endpoint metrics_listen;
	struct ila_conf_vn vns[ILA_CONF_MAX_VNS];
	unsigned int n_vns;

	/* ila-mapper */
	struct ila_conf_endpoint listen[ILA_CONF_MAX_LISTEN];
	unsigned int n_listen;
	bool store_etcd;	/* store etcd: the directory is in etcd; `store` is
				 * then the folder of the instance's local copy */
	char store[ILA_CONF_PATH_MAX];
	uint32_t store_map_size_mb;
	char etcd_endpoints[ILA_CONF_MAX_ETCD][ILA_CONF_URL_MAX];
	unsigned int n_etcd;
	char etcd_certificate[ILA_CONF_PATH_MAX]; /* "" : no client certificate */
	char etcd_key[ILA_CONF_PATH_MAX];
	char etcd_ca[ILA_CONF_PATH_MAX];
	char etcd_prefix[ILA_CONF_ETCD_PREFIX_MAX];
	uint32_t etcd_timeout_ms;
	uint32_t etcd_lease_s;	/* a node's presence lease */
	struct ila_conf_node nodes[ILA_CONF_MAX_NODES];
	unsigned int n_nodes;
	uint32_t damping_moves;
	uint32_t damping_interval_s;
	uint32_t damping_freeze_s; /* or ILA_CONF_FREEZE_PERMANENT */
	uint32_t lifetime_default_s;
	uint32_t lifetime_max_s;
	uint32_t push_batch;
	uint32_t push_delay_ms;
	uint32_t push_queue_limit_kb;
	uint32_t commit_batch;
	uint32_t commit_delay_ms;
	/* limit: sessions not yet past OPEN, and malformed frames */
	uint32_t limit_unauth;		/* connections before OPEN, in all */
	uint32_t limit_unauth_source;	/* ... from one address (IPv6: one /64) */
	uint32_t limit_open_timeout_ms;	/* TLS handshake plus OPEN */
	uint32_t limit_malformed;	/* malformed frames a session may send */
	/* quotas (0: no limit): live mappings per node and per vn; REGISTER
	 * records per node, a token bucket of `burst` filled at `rate` per s */
	uint32_t quota_node_mappings;
	uint32_t quota_vn_mappings;
	uint32_t quota_rate;
	uint32_t quota_burst;
	/* watch: interests of on-demand nodes (QUERY WATCH) */
	uint32_t watch_lifetime_s;
	uint32_t watch_max;		/* per node; 0: no limit */

	/* ilad */
	char node_name[ILA_CONF_NAME_MAX];
	enum ila_conf_mode mode;
	enum ila_conf_dataplane dataplane;
	enum ila_conf_role role;
	struct ila_locator locators[ILA_CONF_MAX_LOCATORS];
	unsigned int n_locators;
	struct ila_conf_endpoint mappers[ILA_CONF_MAX_MAPPERS]; /* failover order */
	/* the name each mapper's certificate must carry; "" when not checked */
	char mapper_identity[ILA_CONF_MAX_MAPPERS][ILA_CONF_IDENTITY_MAX];
	unsigned int n_mappers;
	enum ila_csum_mode csum_mode;
	enum ila_ident_type ident_type;
	uint8_t route_protocol;
	uint32_t hold_time_s;
	uint32_t registration_lifetime_s;
	enum ila_conf_cache cache;
	uint32_t attach_grace_s;
	uint32_t on_demand_idle_s;	/* cache on-demand: evicted when unused this long */
	uint32_t on_demand_max;		/* cache on-demand: entries at most */
	uint32_t bpf_max_mappings;	/* dataplane bpf: ila_map entries */
	bool zebra;
	char zebra_socket[ILA_CONF_PATH_MAX];
	enum ila_conf_zebra_version zebra_version;
	enum ila_conf_zebra_rtype zebra_route_type;
	uint8_t zebra_route_type_num; /* only with ILA_CONF_ZRT_NUMBER, else 0 */
	uint32_t zebra_gr_s;          /* graceful-restart stale time; 0: off */
	uint32_t zebra_tag;           /* route tag; 0: none */

	/*
	 * Set by the parser for settings that are legal but deserve a line in
	 * the log ("file:line: what"); the daemon logs them at startup. Not
	 * part of the configuration: ila_conf_equal() ignores them.
	 */
	char warnings[ILA_CONF_MAX_WARNINGS][ILA_CONF_WARNING_LEN];
	unsigned int n_warnings;
};

/* Every field to its default for the daemon of that kind (no vns, nodes,
 * locators or mappers; mapper: listen [::1]:7787). */
void ila_conf_init(struct ila_conf *c, enum ila_conf_kind kind);

/*
 * Parses a config for the daemon of c->kind (set by ila_conf_init()). The
 * result starts from the defaults, not from what c held. On success c holds
 * the config and 0 is returned; on error c is unchanged, err holds
 * "name:line: what" and the return value is -EINVAL (bad config), -ENOENT or
 * another -errno (file not readable) or -ENOMEM.
 */
int ila_conf_parse_file(struct ila_conf *c, const char *path, char *err, size_t errlen);
int ila_conf_parse_buf(struct ila_conf *c, const char *name, const char *buf, size_t len,
		       char *err, size_t errlen);

/* Prints every setting, defaults included, in canonical order and form.
 * Returns 0 or -EIO. */
int ila_conf_print(const struct ila_conf *c, FILE *out);
/* The same into a malloc'd string; NULL when out of memory. */
char *ila_conf_print_str(const struct ila_conf *c);

/* Whether two configs mean the same (warnings are not compared). */
bool ila_conf_equal(const struct ila_conf *a, const struct ila_conf *b);
/* Releases what c holds (nothing today) and leaves it initialised. */
void ila_conf_free(struct ila_conf *c);

/* The socket address of an endpoint; returns its length. */
struct sockaddr_storage;
unsigned int ila_conf_endpoint_sockaddr(const struct ila_conf_endpoint *ep,
					struct sockaddr_storage *ss);

/* Index of the vn or mapper-side node with that name, or -1. */
int ila_conf_vn_find(const struct ila_conf *c, const char *name);
int ila_conf_node_find(const struct ila_conf *c, const char *name);

/*
 * ilad: the index into c->locators of the locator that goes with the vn at
 * index vn (its position in the file): the first locator with the first vn,
 * and so on, the last locator for every vn beyond the number of locators.
 * -1 without locators. In mode ila the parser refuses two vns on one
 * locator; in the other modes vns may share one.
 */
int ila_conf_vn_locator(const struct ila_conf *c, unsigned int vn);

/* Keyword spellings, for messages and show output. */
const char *ila_conf_kind_name(enum ila_conf_kind kind); /* "ila-mapper" / "ilad" */
const char *ila_conf_mode_name(enum ila_conf_mode mode);
const char *ila_conf_role_name(enum ila_conf_role role);
const char *ila_conf_dataplane_name(enum ila_conf_dataplane dp);
const char *ila_conf_cache_name(enum ila_conf_cache cache);
const char *ila_conf_zebra_rtype_name(enum ila_conf_zebra_rtype t); /* NULL for NUMBER */

#endif
