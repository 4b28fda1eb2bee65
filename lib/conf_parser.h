/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private to the config parser (lib/conf*.c): the parser's state and what its files share. */
#ifndef ILA_CONF_PARSER_H
#define ILA_CONF_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "conf.h"
#include "util.h"

#define MAX_TOKENS (ILA_CONF_LINE_MAX / 2 + 1)
#define MAX_SEEN 64
/* Longest path a struct sockaddr_un can hold. */
#define SOCK_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* A serve/subscribe name, resolved once every node line has been read. */
struct node_ref {
	unsigned int vn;
	bool subscribe;
	unsigned int line;
	char name[ILA_CONF_NAME_MAX];
};

/* Lines on which the parts of a vn were set (0: not set). */
struct vn_lines {
	unsigned int first, id, sir, ipv4, gateway;
	unsigned int iface[ILA_CONF_MAX_VN_IFACES];
	unsigned int allow[ILA_CONF_MAX_VN_ALLOW];
};

struct seen {
	const void *key;
	unsigned int line;
};

struct parser {
	struct ila_conf *c;
	const char *name;
	unsigned int line;
	char *err;
	size_t errlen;

	char buf[ILA_CONF_LINE_MAX + 2];
	char *tok[MAX_TOKENS];
	size_t ntok;

	struct seen seen[MAX_SEEN];
	size_t nseen;
	bool listen_given;
	unsigned int plaintext_line, tls_line, lifetime_line, dead_line, keepalive_line;
	unsigned int cache_line;
	unsigned int dataplane_line;
	unsigned int store_line, etcd_line, etcd_tls_line;
	unsigned int control_readonly_line; /* 0: the default, next to control */
	unsigned int metrics_line;
	unsigned int listen_line[ILA_CONF_MAX_LISTEN];
	unsigned int mapper_line[ILA_CONF_MAX_MAPPERS];
	unsigned int node_line[ILA_CONF_MAX_NODES];
	unsigned int identity_line[ILA_CONF_MAX_NODES];
	struct vn_lines vn[ILA_CONF_MAX_VNS];
	struct node_ref *refs;
	size_t nrefs, refcap;
};

/*
 * Lines of attribute/value pairs ("damping moves 5 interval 180"). The pairs
 * may be split over several lines; each attribute is set once.
 */
struct attr {
	const char *name;
	int (*fn)(struct parser *p, const struct attr *a, const char *what, const char *v);
	size_t off;
	uint32_t min, max;
};

#define ATTR_U32(n, field, lo, hi) \
	{ .name = n, .fn = conf_attr_u32, .off = offsetof(struct ila_conf, field), \
	  .min = lo, .max = hi }
#define ATTR_PATH(n, field, maxlen) \
	{ .name = n, .fn = conf_attr_path, .off = offsetof(struct ila_conf, field), .max = maxlen }

/*
 * The functions below are shared between the parser's files, so they are
 * external symbols of libila.a: the conf_ prefix keeps them from meeting
 * another file's names at link time.
 */

/* In conf_lex.c: */
int conf_err_at(struct parser *p, unsigned int line, const char *fmt, ...) ILA_PRINTF(3, 4);
int conf_perr(struct parser *p, const char *fmt, ...) ILA_PRINTF(2, 3);
void conf_pwarn(struct parser *p, const char *fmt, ...) ILA_PRINTF(2, 3);
void conf_copy_str(char *dst, size_t size, const char *src);
int conf_tokenize(struct parser *p, const char *s, size_t len);
int conf_once(struct parser *p, const void *key, const char *what);
int conf_want_values(struct parser *p, size_t n);
int conf_parse_u32(struct parser *p, const char *what, const char *s, uint32_t min,
		   uint32_t max, uint32_t *out);
int conf_parse_choice(struct parser *p, const char *what, const char *s,
		      const char *const *names, size_t n, unsigned int *out);
int conf_check_name(struct parser *p, const char *what, const char *s);
int conf_check_ifname(struct parser *p, const char *what, const char *s);
int conf_parse_endpoint(struct parser *p, size_t i, struct ila_conf_endpoint *e);
bool conf_endpoint_equal(const struct ila_conf_endpoint *a, const struct ila_conf_endpoint *b);
bool conf_endpoint_loopback(const struct ila_conf_endpoint *e);
void conf_endpoint_str(const struct ila_conf_endpoint *e, char *buf, size_t len);
bool conf_bits_equal(const uint8_t *a, const uint8_t *b, unsigned int len);
const uint8_t *conf_prefix_bytes(const struct ila_conf_prefix *pf);
int conf_parse_prefix(struct parser *p, const char *what, const char *s, int family,
		      struct ila_conf_prefix *out);
bool conf_prefix_equal(const struct ila_conf_prefix *a, const struct ila_conf_prefix *b);
bool conf_prefix_overlap(const struct ila_conf_prefix *a, const struct ila_conf_prefix *b);
void conf_prefix_str(const struct ila_conf_prefix *pf, char *buf, size_t len);
int conf_kw_path(struct parser *p, char *dst, bool socket);
int conf_kw_number(struct parser *p, uint32_t *dst, uint32_t min, uint32_t max);
int conf_attr_u32(struct parser *p, const struct attr *a, const char *what, const char *v);
int conf_attr_path(struct parser *p, const struct attr *a, const char *what, const char *v);
int conf_attrs(struct parser *p, size_t first, const struct attr *tab, size_t n);

/* The keywords, for conf.c's table. In conf_common.c: */
int conf_kw_log_level(struct parser *p);
int conf_kw_pidfile(struct parser *p);
int conf_kw_control(struct parser *p);
int conf_kw_plaintext(struct parser *p);
int conf_kw_keepalive(struct parser *p);
int conf_kw_dead_interval(struct parser *p);
int conf_kw_tls(struct parser *p);
int conf_kw_metrics(struct parser *p);
/* End of file: the metrics endpoint is not one of the mapper's listen endpoints. */
int conf_check_metrics(struct parser *p);

/* In conf_privilege.c: */
int conf_kw_user(struct parser *p);
int conf_kw_control_group(struct parser *p);
int conf_kw_control_readonly(struct parser *p);
int conf_check_privilege(struct parser *p); /* after the last line */

/* In conf_vn.c: */
int conf_kw_vn(struct parser *p);

/* In conf_mapper.c: */
int conf_kw_listen(struct parser *p);
int conf_kw_store(struct parser *p);
int conf_kw_store_map_size(struct parser *p);
int conf_kw_etcd(struct parser *p);
/* End of file: the etcd lines agree with `store`. */
int conf_check_etcd(struct parser *p);
int conf_kw_node(struct parser *p);
int conf_kw_damping(struct parser *p);
int conf_kw_lifetime(struct parser *p);
int conf_kw_push(struct parser *p);
int conf_kw_watch(struct parser *p);
int conf_kw_limit(struct parser *p);
int conf_kw_commit(struct parser *p);
int conf_kw_quota(struct parser *p);

/* In conf_node.c: */
int conf_kw_node_name(struct parser *p);
int conf_kw_mode(struct parser *p);
int conf_kw_role(struct parser *p);
int conf_kw_locator(struct parser *p);
int conf_kw_mapper(struct parser *p);
int conf_kw_csum_mode(struct parser *p);
int conf_kw_ident_type(struct parser *p);
int conf_kw_route_protocol(struct parser *p);
int conf_kw_hold_time(struct parser *p);
int conf_kw_registration_lifetime(struct parser *p);
int conf_kw_cache(struct parser *p);
int conf_kw_dataplane(struct parser *p);
int conf_kw_attach_grace(struct parser *p);
int conf_kw_on_demand_idle(struct parser *p);
int conf_kw_on_demand_max(struct parser *p);
int conf_kw_bpf_max_mappings(struct parser *p);
int conf_kw_zebra(struct parser *p);

#endif
