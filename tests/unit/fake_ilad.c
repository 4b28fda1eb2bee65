/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tests/unit/fake_ilad.c: the outside of ilad for its unit tests (see
 * fake_ilad.h): wrapped system and library calls that record what the
 * daemon asks, and a daemon built from a configuration text. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_ilad.h"

uint64_t fake_now_ms;
struct fake_kernel fake_kernel;
struct fake_zebra fake_zebra;
struct fake_ctl fake_ctl;
struct fake_log fake_log;
int fake_mapper_fd = -1;
static unsigned trace_pos;
static char kernel_obj, zapi_obj;

unsigned fake_trace(void)
{
	return ++trace_pos;
}

static void log_capture(enum ila_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	if (fake_log.n < FAKE_MAX)
		snprintf(fake_log.lines[fake_log.n++], sizeof(fake_log.lines[0]), "%s", msg);
}

bool fake_log_has(const char *s, ...)
{
	for (size_t i = 0; i < fake_log.n; i++) {
		va_list ap;
		const char *p;
		bool all = true;

		va_start(ap, s);
		for (p = s; p && all; p = va_arg(ap, const char *))
			all = strstr(fake_log.lines[i], p) != NULL;
		va_end(ap);
		if (all)
			return true;
	}
	return false;
}

void fake_reset(void)
{
	memset(&fake_log, 0, sizeof(fake_log));
	ila_log_init("ilad-test", ILA_LOG_TO_CALLBACK, ILA_LOG_DEBUG);
	ila_log_set_callback(log_capture, NULL);
	ila_log_set_ratelimit(0, 0);
	if (fake_mapper_fd >= 0)
		close(fake_mapper_fd);
	fake_mapper_fd = -1;
	memset(&fake_kernel, 0, sizeof(fake_kernel));
	fake_kernel.fail_index = -1;
	fake_kernel.fail_err = -EINVAL;
	fake_kernel.lookup_oif = 2;
	fake_kernel.lookup_gw = fake_kaddr("fe80::1");
	memset(&fake_zebra, 0, sizeof(fake_zebra));
	memset(&fake_ctl, 0, sizeof(fake_ctl));
	fake_now_ms = 1000000;
	trace_pos = 0;
}

/* ---- the clock ---- */

uint64_t __wrap_ila_clock_mono_ms(void);
uint64_t __wrap_ila_clock_mono_ms(void)
{
	return fake_now_ms;
}

/* ---- the kernel ---- */

static void kcall(enum fake_kop op, const struct kroute *r)
{
	struct fake_kcall *c;

	assert_true(fake_kernel.n < FAKE_MAX);
	c = &fake_kernel.calls[fake_kernel.n++];
	memset(c, 0, sizeof(*c));
	c->op = op;
	if (r)
		c->r = *r;
	c->trace = fake_trace();
}

size_t fake_kernel_count(enum fake_kop op)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_kernel.n; i++)
		n += fake_kernel.calls[i].op == op;
	return n;
}

const struct fake_kcall *fake_kernel_last(enum fake_kop op, const union kaddr *dst)
{
	for (size_t i = fake_kernel.n; i-- > 0;) {
		const struct fake_kcall *c = &fake_kernel.calls[i];

		if (c->op == op && memcmp(&c->r.dst, dst, sizeof(*dst)) == 0)
			return c;
	}
	return NULL;
}

void fake_kernel_clear(void)
{
	fake_kernel.n = 0;
}

void __wrap_kernel_batch_begin(struct kernel *k);
void __wrap_kernel_batch_begin(struct kernel *k)
{
	assert_non_null(k);
	fake_kernel.queued = 0;
	kcall(FK_BEGIN, NULL);
}

/* The real check of what can be written: a route the daemon builds wrong
 * is refused here as the kernel layer would refuse it. */
int __wrap_kernel_route_replace(struct kernel *k, const struct kroute *r);
int __wrap_kernel_route_replace(struct kernel *k, const struct kroute *r)
{
	int rc = kroute_check(r);

	assert_non_null(k);
	if (rc < 0)
		return rc;
	kcall(FK_REPLACE, r);
	fake_kernel.queued++;
	return 0;
}

int __wrap_kernel_route_delete(struct kernel *k, const struct kroute *r);
int __wrap_kernel_route_delete(struct kernel *k, const struct kroute *r)
{
	assert_non_null(k);
	kcall(FK_DELETE, r);
	fake_kernel.queued++;
	return 0;
}

size_t __wrap_kernel_batch_count(const struct kernel *k);
size_t __wrap_kernel_batch_count(const struct kernel *k)
{
	assert_non_null(k);
	return fake_kernel.queued;
}

int __wrap_kernel_batch_commit(struct kernel *k, kernel_report_fn report, void *arg);
int __wrap_kernel_batch_commit(struct kernel *k, kernel_report_fn report, void *arg)
{
	int failures = 0;

	assert_non_null(k);
	kcall(FK_COMMIT, NULL);
	if (fake_kernel.commit_rc < 0) {
		fake_kernel.queued = 0;
		return fake_kernel.commit_rc;
	}
	if (fake_kernel.fail_index >= 0 && (size_t)fake_kernel.fail_index < fake_kernel.queued) {
		/* the route at that position of the batch */
		size_t pos = 0;

		for (size_t i = 0; i < fake_kernel.n; i++) {
			const struct fake_kcall *c = &fake_kernel.calls[i];

			if (c->op == FK_BEGIN)
				pos = 0;
			else if (c->op == FK_REPLACE || c->op == FK_DELETE) {
				if (pos++ == (size_t)fake_kernel.fail_index && report) {
					report(arg, (size_t)fake_kernel.fail_index, &c->r,
					       c->op == FK_DELETE, fake_kernel.fail_err, "refused by the test");
					failures++;
				}
			}
		}
	}
	fake_kernel.queued = 0;
	return failures;
}

int __wrap_kernel_route_lookup(struct kernel *k, int family, const union kaddr *dst, int *oif,
			       union kaddr *gateway);
int __wrap_kernel_route_lookup(struct kernel *k, int family, const union kaddr *dst, int *oif,
			       union kaddr *gateway)
{
	struct kroute r = { .family = (uint8_t)family, .dst = *dst };

	assert_non_null(k);
	kcall(FK_LOOKUP, &r);
	*oif = 0;
	memset(gateway, 0, sizeof(*gateway));
	if (fake_kernel.lookup_fails)
		return -ENETUNREACH;
	*oif = fake_kernel.lookup_oif;
	*gateway = fake_kernel.lookup_gw;
	return 0;
}

int __wrap_kernel_route_get(struct kernel *k, int family, const union kaddr *dst,
			    struct kroute *r);
int __wrap_kernel_route_get(struct kernel *k, int family, const union kaddr *dst,
			    struct kroute *r)
{
	assert_non_null(k);
	for (size_t i = 0; i < fake_kernel.n_dump; i++) {
		const struct kroute *d = &fake_kernel.dump[i];

		if (d->family == family && memcmp(&d->dst, dst, sizeof(*dst)) == 0) {
			*r = *d;
			return 0;
		}
	}
	return -ENOENT;
}

int __wrap_kernel_route_dump(struct kernel *k, int family, uint32_t table, kernel_route_fn cb,
			     void *arg);
int __wrap_kernel_route_dump(struct kernel *k, int family, uint32_t table, kernel_route_fn cb,
			     void *arg)
{
	int n = 0;

	assert_non_null(k);
	(void)table;
	for (size_t i = 0; i < fake_kernel.n_dump; i++) {
		if (fake_kernel.dump[i].family != family)
			continue;
		int rc = cb(arg, &fake_kernel.dump[i]);

		if (rc < 0)
			return rc;
		n++;
	}
	return n;
}

int __wrap_kernel_xlat_add(struct kernel *k, const struct kxlat *x);
int __wrap_kernel_xlat_add(struct kernel *k, const struct kxlat *x)
{
	(void)k;
	(void)x;
	return KERNEL_XLAT_ADDED;
}

int __wrap_kernel_xlat_del(struct kernel *k, const struct kxlat *x);
int __wrap_kernel_xlat_del(struct kernel *k, const struct kxlat *x)
{
	(void)k;
	(void)x;
	return 0;
}

int __wrap_kernel_neigh_open(char *err, size_t errlen);
int __wrap_kernel_neigh_open(char *err, size_t errlen)
{
	int p[2];

	(void)err;
	(void)errlen;
	if (pipe(p) < 0)
		return -errno;
	close(p[1]);
	return p[0]; /* local_free closes it */
}

static void neigh_queue(const struct kneigh *n)
{
	assert_true(fake_kernel.n_neigh < ILA_ARRAY_SIZE(fake_kernel.neigh));
	fake_kernel.neigh[fake_kernel.n_neigh++] = *n;
}

/* The table's entries of that family, then the end of the dump, come with
 * the next reads. */
int __wrap_kernel_neigh_request_dump(int fd, int family);
int __wrap_kernel_neigh_request_dump(int fd, int family)
{
	(void)fd;
	fake_kernel.neigh_dumps++;
	for (size_t i = 0; i < fake_kernel.n_table; i++)
		if (family == AF_UNSPEC || family == fake_kernel.table[i].family)
			neigh_queue(&fake_kernel.table[i]);
	neigh_queue(&(struct kneigh){ .dump_end = true });
	return 0;
}

int __wrap_kernel_neigh_probe(int fd, int family, int ifindex, const union kaddr *addr);
int __wrap_kernel_neigh_probe(int fd, int family, int ifindex, const union kaddr *addr)
{
	(void)fd;
	fake_kernel.neigh_probes++;
	fake_kernel.probed = (struct kneigh){ .family = (uint8_t)family, .ifindex = ifindex,
					      .addr = *addr };
	return 0;
}

static struct kneigh *written(const struct kneigh *n)
{
	for (size_t i = 0; i < fake_kernel.n_written; i++) {
		struct kneigh *w = &fake_kernel.written[i];

		if (w->family == n->family && w->ifindex == n->ifindex &&
		    memcmp(&w->addr, &n->addr, sizeof(w->addr)) == 0)
			return w;
	}
	return NULL;
}

struct kneigh *fake_kernel_written(const char *addr, int ifindex)
{
	struct kneigh n = { .family = AF_INET6, .ifindex = ifindex };

	if (inet_pton(AF_INET6, addr, n.addr.b) != 1) {
		n.family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, n.addr.b), 1);
	}
	return written(&n);
}

int __wrap_kernel_neigh_set(struct kernel *k, const struct kneigh *n);
int __wrap_kernel_neigh_set(struct kernel *k, const struct kneigh *n)
{
	struct kneigh *w;

	assert_ptr_equal(k, &kernel_obj);
	fake_kernel.neigh_sets++;
	if (fake_kernel.neigh_set_rc < 0)
		return fake_kernel.neigh_set_rc;
	w = written(n);
	if (!w) {
		assert_true(fake_kernel.n_written < ILA_ARRAY_SIZE(fake_kernel.written));
		w = &fake_kernel.written[fake_kernel.n_written++];
	}
	*w = *n;
	return 0;
}

int __wrap_kernel_neigh_del(struct kernel *k, const struct kneigh *n);
int __wrap_kernel_neigh_del(struct kernel *k, const struct kneigh *n)
{
	struct kneigh *w;

	assert_ptr_equal(k, &kernel_obj);
	fake_kernel.neigh_dels++;
	if (fake_kernel.neigh_del_rc < 0)
		return fake_kernel.neigh_del_rc;
	w = written(n);
	if (!w || (n->lladdr_len && (w->lladdr_len != n->lladdr_len ||
				     memcmp(w->lladdr, n->lladdr, n->lladdr_len) != 0)))
		return 0;
	*w = fake_kernel.written[--fake_kernel.n_written];
	return 1;
}

int __wrap_kernel_neigh_read(int fd, kernel_neigh_fn cb, void *arg);
int __wrap_kernel_neigh_read(int fd, kernel_neigh_fn cb, void *arg)
{
	size_t n = fake_kernel.n_neigh;

	(void)fd;
	fake_kernel.n_neigh = 0;
	for (size_t i = 0; i < n; i++)
		cb(arg, &fake_kernel.neigh[i]);
	return fake_kernel.neigh_read_rc ? fake_kernel.neigh_read_rc : (int)n;
}

/* ---- zebra ---- */

struct zapi *fake_zapi(void)
{
	return (struct zapi *)&zapi_obj;
}

int __wrap_zapi_route_set(struct zapi *z, const struct zroute *r);
int __wrap_zapi_route_set(struct zapi *z, const struct zroute *r)
{
	assert_ptr_equal(z, fake_zapi());
	assert_true(fake_zebra.n < FAKE_MAX);
	fake_zebra.calls[fake_zebra.n++] = (struct fake_zcall){ .set = true, .r = *r };
	return 0;
}

int __wrap_zapi_route_unset(struct zapi *z, int family, const void *prefix, uint8_t plen);
int __wrap_zapi_route_unset(struct zapi *z, int family, const void *prefix, uint8_t plen)
{
	struct fake_zcall c = { .set = false, .r = { .family = family, .plen = plen } };

	assert_ptr_equal(z, fake_zapi());
	assert_true(fake_zebra.n < FAKE_MAX);
	memcpy(&c.r.prefix, prefix, family == AF_INET6 ? 16 : 4);
	fake_zebra.calls[fake_zebra.n++] = c;
	return 0;
}

/* ---- the control socket ---- */

bool __wrap_ila_ctl_monitoring(const struct ila_ctl_server *s);
bool __wrap_ila_ctl_monitoring(const struct ila_ctl_server *s)
{
	(void)s;
	return fake_ctl.monitoring;
}

void __wrap_ila_ctl_event(struct ila_ctl_server *s, const char *event, struct json_object *fields);
void __wrap_ila_ctl_event(struct ila_ctl_server *s, const char *event, struct json_object *fields)
{
	json_object *v = NULL;

	(void)s;
	assert_true(fake_ctl.monitoring);
	if (fake_ctl.n_events < FAKE_MAX) {
		size_t i = fake_ctl.n_events++;

		snprintf(fake_ctl.events[i], sizeof(fake_ctl.events[i]), "%s", event);
		fake_ctl.details[i][0] = '\0';
		if (json_object_object_get_ex(fields, "detail", &v))
			snprintf(fake_ctl.details[i], sizeof(fake_ctl.details[i]), "%s",
				 json_object_get_string(v));
	}
	json_object_put(fields);
}

size_t fake_ctl_count(const char *event)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_ctl.n_events; i++)
		n += strcmp(fake_ctl.events[i], event) == 0;
	return n;
}

const char *fake_ctl_detail(const char *event)
{
	for (size_t i = fake_ctl.n_events; i-- > 0;)
		if (strcmp(fake_ctl.events[i], event) == 0)
			return fake_ctl.details[i];
	return "";
}

uint64_t __wrap_ila_ctl_defer(struct ila_ctl_server *s);
uint64_t __wrap_ila_ctl_defer(struct ila_ctl_server *s)
{
	(void)s;
	return ++fake_ctl.next_ticket;
}

void __wrap_ila_ctl_answer(struct ila_ctl_server *s, uint64_t ticket, int status, const char *text);
void __wrap_ila_ctl_answer(struct ila_ctl_server *s, uint64_t ticket, int status, const char *text)
{
	struct fake_answer *a;

	(void)s;
	assert_true(fake_ctl.n_answers < ILA_ARRAY_SIZE(fake_ctl.answers));
	a = &fake_ctl.answers[fake_ctl.n_answers++];
	a->ticket = ticket;
	a->status = status;
	snprintf(a->text, sizeof(a->text), "%s", text ? text : "");
}

/* ---- interfaces ---- */

static const struct {
	const char *name;
	unsigned index;
} ifaces[] = {
	{ "tap0", FAKE_IF_TAP0 },
	{ "tap1", FAKE_IF_TAP1 },
	{ "eth9", FAKE_IF_ETH9 },
};

unsigned int __wrap_if_nametoindex(const char *name);
unsigned int __wrap_if_nametoindex(const char *name)
{
	for (size_t i = 0; i < ILA_ARRAY_SIZE(ifaces); i++)
		if (strcmp(ifaces[i].name, name) == 0)
			return ifaces[i].index;
	errno = ENODEV;
	return 0;
}

char *__wrap_if_indextoname(unsigned int index, char *name);
char *__wrap_if_indextoname(unsigned int index, char *name)
{
	for (size_t i = 0; i < ILA_ARRAY_SIZE(ifaces); i++) {
		if (ifaces[i].index == index) {
			snprintf(name, 16, "%s", ifaces[i].name);
			return name;
		}
	}
	errno = ENXIO;
	return NULL;
}

/* ---- the mapper's socket ---- */

int __wrap_socket(int domain, int type, int protocol);
int __wrap_socket(int domain, int type, int protocol)
{
	int fd = fake_mapper_fd;

	(void)domain;
	(void)type;
	(void)protocol;
	if (fd < 0) {
		errno = EMFILE;
		return -1;
	}
	fake_mapper_fd = -1; /* the session owns it now */
	return fd;
}

int __wrap_connect(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	(void)fd;
	(void)sa;
	(void)len;
	return 0; /* connected at once: the peer is the test's end of the pair */
}

/* ---- the daemon ---- */

struct ilad *fake_ilad_new(const char *conf, void (*dispatch)(struct ilad *, const struct ilad_ev *))
{
	struct ilad *d = calloc(1, sizeof(*d));
	char err[512] = "";
	int rc;

	assert_non_null(d);
	d->conf = malloc(sizeof(*d->conf));
	assert_non_null(d->conf);
	ila_conf_init(d->conf, ILA_CONF_NODE);
	rc = ila_conf_parse_buf(d->conf, "test.conf", conf, strlen(conf), err, sizeof(err));
	if (rc < 0)
		fail_msg("configuration refused: %s", err);
	d->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(d->loop);
	d->fd = -1;
	d->neigh_fd = -1;
	assert_int_equal(cache_init(d, err, sizeof(err)), 0);
	ilad_events_init(d, dispatch);
	if (d->conf->mode != ILA_CONF_MODE_CONTROL_PLANE)
		d->kernel = (struct kernel *)&kernel_obj;
	d->ila = d->conf->mode == ILA_CONF_MODE_ILA;
	return d;
}

void fake_ilad_free(struct ilad *d)
{
	if (!d)
		return;
	if (ev_is_active(&d->hold_timer))
		ev_timer_stop(d->loop, &d->hold_timer);
	ilad_events_free(d);
	cache_free(d);
	ila_conf_free(d->conf);
	free(d->conf);
	ev_loop_destroy(d->loop);
	free(d);
}

union kaddr fake_kaddr(const char *addr)
{
	union kaddr a;

	memset(&a, 0, sizeof(a));
	if (strchr(addr, ':'))
		assert_int_equal(inet_pton(AF_INET6, addr, &a.v6), 1);
	else
		assert_int_equal(inet_pton(AF_INET, addr, &a.v4), 1);
	return a;
}

struct ilad_key fake_key(uint32_t vn, const char *addr)
{
	struct ilad_key k;

	memset(&k, 0, sizeof(k));
	k.vn = vn;
	k.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	k.addr = fake_kaddr(addr);
	return k;
}

struct ila_locator fake_loc(const char *loc)
{
	struct ila_locator l;
	char err[128];

	memset(&l, 0, sizeof(l));
	if (ila_locator_parse(loc, &l, err, sizeof(err)) < 0)
		fail_msg("locator %s: %s", loc, err);
	return l;
}

struct ila_record fake_rec(uint32_t vn, const char *addr, const char *loc, const char *node,
			   uint64_t seq, uint8_t state)
{
	struct ila_record r;
	struct ilad_key k = fake_key(vn, addr);

	memset(&r, 0, sizeof(r));
	ilad_key_to_record(&k, &r);
	if (loc)
		r.loc = fake_loc(loc);
	snprintf(r.node, sizeof(r.node), "%s", node ? node : "");
	r.seq = seq;
	r.state = state;
	r.lifetime = 300;
	return r;
}
