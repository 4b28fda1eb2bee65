/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzzes ila-mapper's message handling, not only the codec: each input is
 * what a node sends on a real session (a socketpair adopted by the mapper),
 * handled by the session, directory and push code against a real LMDB
 * store. The first input byte picks the preamble: bit 0 sends a valid OPEN
 * of node n1 (serving vn 100) first, bit 1 of node n2 (subscriber), so the
 * rest reaches the established-session paths. With bit 2 the rest is not
 * sent on a session but read as what an etcd watch brings (store etcd):
 * events of a 1-byte type (bit 0: delete), a 1-byte key length, the key, a
 * 1-byte value length, the value, applied to the local copy under prefix
 * /f/ (keys that do not start with it are mostly made to).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "etcd.h"
#include "log.h"
#include "mapper.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf_text[] =
	"plaintext\n"
	"listen ::1 port 7787\n"
	"store-map-size 256\n"
	"node n1\n"
	"node n2\n"
	"vn blue id 100 sir-prefix 2001:db8:100::/64 ipv4-prefix 10.0.0.0/8\n"
	"vn blue serve n1\n"
	"vn blue subscribe n2\n"
	"vn red id 200 sir-prefix 2001:db8:200::/64\n"
	"vn red serve n2\n"
	"commit batch 64 delay 0\n"
	"push batch 16 delay 0 queue-limit 8\n"
	"damping moves 2 interval 100 freeze 10\n"
	"lifetime default 300 max 600\n";

static void quiet(enum ila_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

static struct mapper *fuzz_mapper(void)
{
	static struct mapper m;
	static struct ila_conf conf;
	static bool ready;
	char err[512], dir[] = "/tmp/ila-fuzz-mapper-XXXXXX";

	if (ready)
		return &m;
	ila_log_init("fuzz", ILA_LOG_TO_CALLBACK, ILA_LOG_ERR);
	ila_log_set_callback(quiet, NULL);
	signal(SIGPIPE, SIG_IGN);
	ila_conf_init(&conf, ILA_CONF_MAPPER);
	if (ila_conf_parse_buf(&conf, "fuzz", conf_text, sizeof(conf_text) - 1, err,
			       sizeof(err)) < 0 ||
	    !mkdtemp(dir)) {
		fprintf(stderr, "fuzz_mapper: %s\n", err);
		abort();
	}
	m.conf = &conf;
	m.loop = ev_default_loop(0);
	if (store_open(&m.store, dir, conf.store_map_size_mb, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_mapper: %s\n", err);
		abort();
	}
	if (push_init(&m) < 0)
		abort();
	m.dispatch = mapper_run_event;
	directory_init(&m);
	watch_init(&m);
	ready = true;
	return &m;
}

static void send_open(int fd, const char *node)
{
	struct ila_msg o = { .type = ILA_MSG_OPEN, .xid = 1 };
	uint8_t buf[256];
	size_t len;

	snprintf(o.open.node, sizeof(o.open.node), "%s", node);
	o.open.role = ILA_ROLE_NODE;
	o.open.caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY | ILA_CAP_WATCH;
	o.open.keepalive_ms = 1000;
	o.open.dead_ms = 3000;
	if (ila_msg_encode(&o, buf, sizeof(buf), &len) == 0 && write(fd, buf, len) != (ssize_t)len)
		abort();
}

static void drain(int fd)
{
	uint8_t buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The input as watch events applied to the copy (bit 2 of the first byte). */
static void fuzz_watch(struct mapper *m, const uint8_t *data, size_t size)
{
	static struct etcd_event evs[64];
	static uint8_t keys[64][260], vals[64][256];
	size_t off = 0, n = 0;
	/* revisions above every position the LMDB store of the target handed out */
	int64_t rev = estore_pos_rev(m->store.jseq) + 1;

	snprintf(m->estore.prefix, sizeof(m->estore.prefix), "/f/");
	m->estore.plen = 3;
	while (n < 64 && off + 2 <= size) {
		struct etcd_event *e = &evs[n];
		uint8_t type = data[off++], kl = data[off++];

		if (off + kl + 1 > size)
			break;
		/* most keys get the prefix, so that the mapping paths are reached */
		size_t pl = (type & 2) ? 0 : 3;

		memcpy(keys[n], "/f/", pl);
		memcpy(keys[n] + pl, data + off, kl);
		off += kl;
		uint8_t vl = data[off++];

		if (off + vl > size)
			break;
		memcpy(vals[n], data + off, vl);
		off += vl;
		memset(e, 0, sizeof(*e));
		e->type = (type & 1) ? ETCD_EVENT_DELETE : ETCD_EVENT_PUT;
		e->kv.key = keys[n];
		e->kv.key_len = pl + kl;
		e->kv.value = vals[n];
		e->kv.value_len = vl;
		e->kv.mod_revision = rev + ((type >> 2) & 1); /* one or two revisions */
		n++;
	}
	estore_watch_events(m, evs[n ? n - 1 : 0].kv.mod_revision, evs, n);
	mapper_events_run(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapper *m = fuzz_mapper();
	int sv[2];
	size_t off = 1;

	if (size < 1)
		return 0;
	if (data[0] & 4) {
		fuzz_watch(m, data + 1, size - 1);
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (session_adopt(m, sv[0], "fuzz") < 0) {
		close(sv[1]);
		return 0;
	}
	if (data[0] & 1)
		send_open(sv[1], "n1");
	else if (data[0] & 2)
		send_open(sv[1], "n2");
	/* feed the input as the socket takes it, letting the mapper run between */
	for (int rounds = 0; rounds < 1000 && off < size; rounds++) {
		ssize_t w = write(sv[1], data + off, size - off);

		if (w > 0)
			off += (size_t)w;
		ev_run(m->loop, EVRUN_NOWAIT);
		drain(sv[1]);
	}
	for (int i = 0; i < 4; i++) {
		ev_run(m->loop, EVRUN_NOWAIT);
		drain(sv[1]);
	}
	close(sv[1]);
	for (int i = 0; i < 4; i++)
		ev_run(m->loop, EVRUN_NOWAIT);
	directory_commit(m);
	mapper_events_run(m);
	/* whatever is left (a session that never saw the EOF) goes now */
	while (m->sessions)
		session_close(m->sessions, "fuzz input done", false);
	mapper_events_run(m);
	sessions_reap(m);
	return 0;
}
