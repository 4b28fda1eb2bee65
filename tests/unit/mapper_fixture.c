/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ila-mapper test fixture (mapper_fixture.h): builds a struct mapper as
 * mapper.c does, from a configuration parsed from text, on a real LMDB
 * store in a temporary folder, with mapper.c's event dispatcher, and nodes
 * that speak the real protocol over socketpairs.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "mapper_fixture.h"
#include "session.h"

uint64_t fx_wall_s;
uint64_t fx_mono_ms;
bool fx_commit_fails;
int fx_send_blocked = -1;

/* The outside, replaced at link time (-Wl,--wrap=...). */
uint64_t __wrap_ila_clock_wall_s(void);
uint64_t __wrap_ila_clock_mono_ms(void);
int __wrap_mdb_txn_commit(MDB_txn *txn);
int __real_mdb_txn_commit(MDB_txn *txn);
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags);
ssize_t __real_send(int fd, const void *buf, size_t n, int flags);

void fx_at(uint64_t wall_s)
{
	fx_wall_s = wall_s;
	fx_mono_ms = FX_MONO0 + (wall_s - FX_T0) * 1000;
}

uint64_t __wrap_ila_clock_wall_s(void)
{
	return fx_wall_s;
}

uint64_t __wrap_ila_clock_mono_ms(void)
{
	return fx_mono_ms;
}

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
	if (fx_commit_fails) {
		/* like a failed commit, the transaction is gone */
		mdb_txn_abort(txn);
		return EIO;
	}
	return __real_mdb_txn_commit(txn);
}

ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags)
{
	if (fd >= 0 && fd == fx_send_blocked) {
		errno = EAGAIN; /* the peer reads nothing: its socket is full */
		return -1;
	}
	return __real_send(fd, buf, n, flags);
}

#define FX_MAX_NODES 8

static struct {
	struct mapper m;
	struct ila_conf conf;
	char dir[64];
	struct fx_node nodes[FX_MAX_NODES];
	unsigned nnodes;
	uint32_t xid;
} F;

static void quiet(enum ila_log_level level, const char *msg, void *arg)
{
	(void)arg;
	if (getenv("FX_VERBOSE"))
		fprintf(stderr, "mapper[%d]: %s\n", (int)level, msg);
}

static unsigned or_default(unsigned v, unsigned d)
{
	return v ? v : d;
}

struct mapper *fx_mapper(void)
{
	return &F.m;
}

int fx_setup(void **state)
{
	const struct fx_conf *fc = *state;
	struct fx_conf none = { 0 };
	char text[2048], freeze[32], quota[160] = "", err[512];
	int len;

	if (!fc)
		fc = &none;
	memset(&F, 0, sizeof(F));
	F.xid = 1000;
	fx_at(FX_T0);
	fx_commit_fails = false;
	fx_send_blocked = -1;
	signal(SIGPIPE, SIG_IGN);
	ila_log_init("test", ILA_LOG_TO_CALLBACK, getenv("FX_VERBOSE") ? ILA_LOG_DEBUG : ILA_LOG_ERR);
	ila_log_set_callback(quiet, NULL);
	if (fc->freeze_permanent)
		snprintf(freeze, sizeof(freeze), "permanent");
	else
		snprintf(freeze, sizeof(freeze), "%u", or_default(fc->damping_freeze_s, 50));
	if (fc->quota_node_mappings || fc->quota_vn_mappings || fc->quota_rate || fc->quota_burst)
		snprintf(quota, sizeof(quota),
			 "quota node-mappings %u vn-mappings %u rate %u burst %u\n",
			 fc->quota_node_mappings, fc->quota_vn_mappings, fc->quota_rate,
			 or_default(fc->quota_burst, 1));
	len = snprintf(text, sizeof(text),
		       "plaintext\n"
		       "listen ::1 port 7787\n"
		       "keepalive 60000\n"
		       "dead-interval 600000\n"
		       "store-map-size %u\n"
		       "node n1\nnode n2\nnode n3\nnode n4\nnode gw\n"
		       "vn blue id 100 sir-prefix 2001:db8:100::/64 ipv4-prefix 10.100.0.0/16\n"
		       "vn blue serve n1 n2 n3\n"
		       "vn blue subscribe gw\n"
		       "vn red id 200 sir-prefix 2001:db8:200::/64\n"
		       "vn red serve n4\n"
		       "vn red subscribe gw\n"
		       "commit batch %u delay %u\n"
		       "push batch %u delay %u queue-limit %u\n"
		       "damping moves %u interval %u freeze %s\n"
		       "lifetime default %u max %u\n"
		       "watch lifetime %u max %u\n"
		       "%s",
		       or_default(fc->map_size_mb, 64), or_default(fc->commit_batch, 4096),
		       fc->commit_delay_ms, or_default(fc->push_batch, 16), fc->push_delay_ms,
		       or_default(fc->queue_limit_kb, 64),
		       or_default(fc->damping_moves, 3), or_default(fc->damping_interval_s, 100),
		       freeze, or_default(fc->lifetime_default_s, 300),
		       or_default(fc->lifetime_max_s, 600), or_default(fc->watch_lifetime_s, 120),
		       or_default(fc->watch_max, 1000), quota);
	ila_conf_init(&F.conf, ILA_CONF_MAPPER);
	if (ila_conf_parse_buf(&F.conf, "test", text, (size_t)len, err, sizeof(err)) < 0) {
		fprintf(stderr, "fixture config: %s\n", err);
		return -1;
	}
	/* in memory when possible: every commit is synced, and a disk makes
	 * that the slowest part of a test */
	snprintf(F.dir, sizeof(F.dir), "%s/ila-test-mapper-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(F.dir))
		return -1;
	F.m.conf = &F.conf;
	F.m.loop = ev_loop_new(EVFLAG_AUTO);
	if (!F.m.loop)
		return -1;
	if (store_open(&F.m.store, F.dir, F.conf.store_map_size_mb, err, sizeof(err)) < 0) {
		fprintf(stderr, "fixture store: %s\n", err);
		return -1;
	}
	if (push_init(&F.m) < 0)
		return -1;
	F.m.dispatch = mapper_run_event;
	directory_init(&F.m);
	watch_init(&F.m);
	/* the timers run when a test says so (fx_expire), never by real time */
	ev_timer_stop(F.m.loop, &F.m.expiry_w);
	ev_timer_stop(F.m.loop, &F.m.trim_w);
	ev_timer_stop(F.m.loop, &F.m.watch_w);
	return 0;
}

static void node_free(struct fx_node *n)
{
	fx_clear(n);
	free(n->inbox);
	n->inbox = NULL;
	n->cap = 0;
	ila_frame_reader_free(&n->rd);
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

int fx_teardown(void **state)
{
	struct mapper *m = &F.m;
	char path[128];

	(void)state;
	fx_send_blocked = -1;
	fx_commit_fails = false;
	for (unsigned i = 0; i < F.nnodes; i++)
		node_free(&F.nodes[i]);
	while (m->sessions)
		session_close(m->sessions, "test done", false);
	mapper_events_run(m);
	sessions_reap(m);
	watch_stop(m);
	directory_stop(m);
	mapper_events_run(m);
	mapper_events_free(m);
	push_free(m);
	store_close(&m->store);
	ev_loop_destroy(m->loop);
	ila_conf_free(&F.conf);
	/* LMDB's two files */
	snprintf(path, sizeof(path), "%s/data.mdb", F.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", F.dir);
	unlink(path);
	return rmdir(F.dir) == 0 ? 0 : -1;
}

/* Reads what the mapper sent to n. Returns the number of bytes read. */
static size_t node_read(struct fx_node *n)
{
	size_t got = 0;

	while (n->fd >= 0 && !n->eof) {
		ssize_t r = ila_frame_reader_read_fd(&n->rd, n->fd);
		const uint8_t *frame;
		size_t len;

		if (r == 0)
			n->eof = true;
		if (r > 0)
			got += (size_t)r;
		while (ila_frame_reader_next(&n->rd, &frame, &len) == 1) {
			struct ila_msg msg;

			/* whatever the mapper sends is a valid frame */
			assert_int_equal(ila_msg_decode(frame, len, &msg), 0);
			if (n->n == n->cap) {
				n->cap = n->cap ? n->cap * 2 : 64;
				n->inbox = realloc(n->inbox, n->cap * sizeof(*n->inbox));
				assert_non_null(n->inbox);
			}
			n->inbox[n->n++] = msg;
		}
		if (r <= 0 && r != -ENOBUFS)
			break;
	}
	return got;
}

static size_t read_all(void)
{
	size_t got = 0;

	for (unsigned i = 0; i < F.nnodes; i++)
		got += node_read(&F.nodes[i]);
	return got;
}

void fx_run(void)
{
	/* a commit runs in the iteration after the frames were read, its
	 * pushes in the same one: a few quiet iterations mean it is all done */
	int quiet_rounds = 0, i;

	for (i = 0; quiet_rounds < 4 && i < 20000; i++) {
		ev_run(F.m.loop, EVRUN_NOWAIT);
		if (read_all())
			quiet_rounds = 0;
		else
			quiet_rounds++;
	}
	if (quiet_rounds < 4)
		fail_msg("the mapper is still sending after %d loop iterations", i);
}

void fx_send_raw(struct fx_node *n, const void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(n->fd, (const uint8_t *)buf + off, len - off);

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			fail_msg("write to the mapper: %s", strerror(errno));
		/* the socket is full: let the mapper read */
		ev_run(F.m.loop, EVRUN_NOWAIT);
		read_all();
	}
}

void fx_send(struct fx_node *n, const struct ila_msg *msg)
{
	size_t len = ila_msg_encoded_len(msg);
	static uint8_t buf[ILA_PROTO_MAX_FRAME];

	assert_true(len > 0 && len <= sizeof(buf));
	assert_int_equal(ila_msg_encode(msg, buf, sizeof(buf), &len), 0);
	fx_send_raw(n, buf, len);
}

struct fx_node *fx_adopt(const char *name)
{
	struct fx_node *n;
	int sv[2];

	assert_true(F.nnodes < FX_MAX_NODES);
	n = &F.nodes[F.nnodes++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	ila_frame_reader_init(&n->rd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	n->fd = sv[1];
	n->mapper_fd = sv[0];
	assert_int_equal(session_adopt(&F.m, sv[0], name), 0);
	return n;
}

struct ila_msg fx_open_msg(const char *name, uint32_t caps)
{
	struct ila_msg o = { .type = ILA_MSG_OPEN, .xid = fx_xid() };

	snprintf(o.open.node, sizeof(o.open.node), "%s", name);
	o.open.role = ILA_ROLE_NODE;
	o.open.caps = caps;
	o.open.keepalive_ms = 60000;
	o.open.dead_ms = 600000;
	return o;
}

struct fx_node *fx_connect_caps(const char *name, uint32_t caps)
{
	struct fx_node *n = fx_adopt(name);
	struct ila_msg o = fx_open_msg(name, caps);

	fx_send(n, &o);
	fx_run();
	assert_int_equal(fx_count(n, ILA_MSG_OPEN), 1);
	assert_int_equal(fx_nth(n, ILA_MSG_OPEN, 0)->xid, o.xid);
	assert_int_equal(fx_nth(n, ILA_MSG_OPEN, 0)->open.role, ILA_ROLE_MAPPER);
	fx_clear(n);
	return n;
}

struct fx_node *fx_connect(const char *name)
{
	return fx_connect_caps(name, ILA_CAP_ADDR4 | ILA_CAP_STANDBY);
}

void fx_hangup(struct fx_node *n)
{
	close(n->fd);
	n->fd = -1;
	fx_run();
}

void fx_goodbye(struct fx_node *n)
{
	struct ila_msg e = { .type = ILA_MSG_ERROR, .xid = 0 };

	e.error.code = ILA_PERR_CEASE;
	snprintf(e.error.text, sizeof(e.error.text), "node shutting down");
	fx_send(n, &e);
	fx_run();
	fx_hangup(n);
}

struct ila_locator fx_loc(const char *loc)
{
	struct ila_locator l;
	char err[128];

	if (ila_locator_parse(loc, &l, err, sizeof(err)) < 0)
		fail_msg("locator %s: %s", loc, err);
	return l;
}

void fx_assert_loc(const struct ila_locator *l, const char *loc)
{
	struct ila_locator want = fx_loc(loc);
	char got[ILA_LOCATOR_STRLEN];

	if (!ila_locator_equal(l, &want))
		fail_msg("locator %s, expected %s", ila_locator_format(l, got, sizeof(got)), loc);
}

struct session *fx_session(const char *name)
{
	for (struct session *s = session_next(&F.m, NULL); s; s = session_next(&F.m, s))
		if (session_open(s) && strcmp(session_node_name(s), name) == 0)
			return s;
	return NULL;
}

struct ila_record fx_rec(uint32_t vn, const char *addr, const char *loc, uint64_t seq,
			 uint32_t lifetime)
{
	struct ila_record r;

	memset(&r, 0, sizeof(r));
	r.vn = vn;
	if (strchr(addr, ':')) {
		r.family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &r.addr6), 1);
	} else {
		r.family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &r.addr4), 1);
	}
	if (loc)
		r.loc = fx_loc(loc);
	r.seq = seq;
	r.lifetime = lifetime;
	r.state = ILA_STATE_UP;
	return r;
}

uint32_t fx_xid(void)
{
	return ++F.xid;
}

static uint32_t send_records(struct fx_node *n, uint8_t type, const struct ila_record *recs,
			     size_t nrec)
{
	struct ila_msg msg = { .type = type, .xid = fx_xid() };

	msg.rec = (struct ila_record *)recs;
	msg.nrec = nrec;
	fx_send(n, &msg);
	fx_run();
	return msg.xid;
}

uint32_t fx_register(struct fx_node *n, const struct ila_record *recs, size_t nrec)
{
	return send_records(n, ILA_MSG_REGISTER, recs, nrec);
}

uint32_t fx_deregister(struct fx_node *n, const struct ila_record *recs, size_t nrec)
{
	return send_records(n, ILA_MSG_DEREGISTER, recs, nrec);
}

/* The status of a one-record request's answer. */
static int status1(const struct fx_node *n, uint32_t xid)
{
	const struct ila_msg *a = fx_answer(n, xid);

	if (!a)
		fail_msg("node %s: no answer to xid %u", n->name, xid);
	if (a->type == ILA_MSG_ERROR)
		fail_msg("node %s: xid %u answered by ERROR %s", n->name, xid,
			 ila_proto_err_name(a->error.code));
	assert_int_equal(a->type, ILA_MSG_ACK);
	if (a->ack.nstatus == 0) {
		assert_int_equal(a->ack.count, 1);
		return 0;
	}
	assert_int_equal(a->ack.nstatus, 1);
	assert_int_equal(a->ack.count, a->ack.status[0] == 0 ? 1 : 0);
	return a->ack.status[0];
}

int fx_register_rec(struct fx_node *n, const struct ila_record *r)
{
	return status1(n, fx_register(n, r, 1));
}

int fx_register1(struct fx_node *n, uint32_t vn, const char *addr, const char *loc, uint64_t seq)
{
	struct ila_record r = fx_rec(vn, addr, loc, seq, 300);

	return fx_register_rec(n, &r);
}

int fx_deregister1(struct fx_node *n, uint32_t vn, const char *addr, uint64_t seq, uint8_t state)
{
	struct ila_record r = fx_rec(vn, addr, NULL, seq, 0);

	r.state = state;
	return status1(n, fx_deregister(n, &r, 1));
}

uint32_t fx_subscribe(struct fx_node *n, uint32_t vn, uint64_t jseq, uint32_t flags)
{
	struct ila_msg msg = { .type = ILA_MSG_SUBSCRIBE, .xid = fx_xid() };

	msg.sub.vn = vn;
	msg.sub.resume_seq = jseq;
	msg.sub.flags = flags;
	fx_send(n, &msg);
	fx_run();
	return msg.xid;
}

uint32_t fx_unsubscribe(struct fx_node *n, uint32_t vn)
{
	struct ila_msg msg = { .type = ILA_MSG_UNSUBSCRIBE, .xid = fx_xid() };

	msg.sub.vn = vn;
	fx_send(n, &msg);
	fx_run();
	return msg.xid;
}

uint32_t fx_query(struct fx_node *n, uint32_t vn, const char *const *addrs, size_t naddrs)
{
	return fx_query_flags(n, vn, 0, addrs, naddrs);
}

uint32_t fx_query_flags(struct fx_node *n, uint32_t vn, uint32_t flags, const char *const *addrs,
			size_t naddrs)
{
	struct ila_msg msg = { .type = ILA_MSG_QUERY, .xid = fx_xid() };
	struct ila_record recs[16];

	assert_true(naddrs <= 16);
	for (size_t i = 0; i < naddrs; i++)
		recs[i] = fx_rec(vn, addrs[i], NULL, 0, 0);
	msg.sub.vn = vn;
	msg.sub.flags = flags;
	msg.rec = recs;
	msg.nrec = naddrs;
	fx_send(n, &msg);
	fx_run();
	return msg.xid;
}

const struct ila_msg *fx_nth(const struct fx_node *n, uint8_t type, size_t i)
{
	for (size_t k = 0; k < n->n; k++)
		if (n->inbox[k].type == type && i-- == 0)
			return &n->inbox[k];
	return NULL;
}

size_t fx_count(const struct fx_node *n, uint8_t type)
{
	size_t c = 0;

	for (size_t k = 0; k < n->n; k++)
		c += n->inbox[k].type == type;
	return c;
}

const struct ila_msg *fx_answer(const struct fx_node *n, uint32_t xid)
{
	const struct ila_msg *found = NULL;

	for (size_t k = 0; k < n->n; k++) {
		const struct ila_msg *m = &n->inbox[k];

		if (m->xid != xid || m->type == ILA_MSG_PUSH || m->type == ILA_MSG_KEEPALIVE)
			continue;
		if (found)
			fail_msg("node %s: two answers to xid %u", n->name, xid);
		found = m;
	}
	return found;
}

size_t fx_push_records(const struct fx_node *n, uint32_t vn)
{
	size_t c = 0;

	for (size_t k = 0; k < n->n; k++)
		if (n->inbox[k].type == ILA_MSG_PUSH && n->inbox[k].push.vn == vn)
			c += n->inbox[k].nrec;
	return c;
}

const struct ila_record *fx_push_record(const struct fx_node *n, uint32_t vn, size_t i)
{
	for (size_t k = 0; k < n->n; k++) {
		const struct ila_msg *m = &n->inbox[k];

		if (m->type != ILA_MSG_PUSH || m->push.vn != vn)
			continue;
		if (i < m->nrec)
			return &m->rec[i];
		i -= m->nrec;
	}
	return NULL;
}

void fx_clear(struct fx_node *n)
{
	for (size_t k = 0; k < n->n; k++)
		ila_msg_free(&n->inbox[k]);
	n->n = 0;
}

bool fx_get(uint32_t vn, const char *addr, struct mapping *out)
{
	struct ila_record r = fx_rec(vn, addr, NULL, 0, 0);
	struct store_key k;
	MDB_txn *txn;
	int rc;

	store_key_of(&r, &k);
	assert_int_equal(store_begin(&F.m.store, false, &txn), 0);
	rc = store_get(&F.m.store, txn, &k, out);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != -ENOENT)
		fail_msg("store_get %s: %d", addr, rc);
	return rc == 0;
}

void fx_expire(void)
{
	ev_invoke(F.m.loop, &F.m.expiry_w, EV_TIMER);
	ev_invoke(F.m.loop, &F.m.watch_w, EV_TIMER);
	fx_run();
}

void fx_hold_delay_timers(void)
{
	ev_timer_stop(F.m.loop, &F.m.commit_delay_w);
	ev_timer_stop(F.m.loop, &F.m.push_delay_w);
}

void fx_commit_delay_ends(void)
{
	ev_invoke(F.m.loop, &F.m.commit_delay_w, EV_TIMER);
	fx_run();
}

void fx_push_delay_ends(void)
{
	ev_invoke(F.m.loop, &F.m.push_delay_w, EV_TIMER);
	fx_run();
}

void fx_trim(uint64_t upto)
{
	MDB_txn *txn;

	assert_int_equal(store_begin(&F.m.store, true, &txn), 0);
	assert_int_equal(store_journal_trim(&F.m.store, txn, upto), 0);
	assert_int_equal(store_commit(&F.m.store, txn), 0);
}
