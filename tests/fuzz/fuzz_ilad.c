// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes ilad's receive side of the protocol, not only the codec: each input
 * is what a mapper sends on a session (a socketpair adopted by mclient.c),
 * handled by the real session, cache and workload code with the kernel
 * replaced (control-plane mode: d->kernel is NULL). The first input byte
 * picks the preamble: bit 0 sends a valid OPEN of a mapper first, so the
 * rest reaches the established-session paths (PUSH, REPLY, ACK, ERROR).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ilad.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* vn blue has an IPv4 prefix, vn red none; vn 7 is not served */
static const char conf_text[] =
	"node-name n1\n"
	"mode control-plane\n"
	"plaintext\n"
	"locator 2001:db8:0:1\n"
	"locator 2001:db8:0:2\n"
	"mapper ::1 port 9\n"
	"keepalive 1000\n"
	"dead-interval 3000\n"
	"vn blue id 1 sir-prefix 2001:db8:1::/64 ipv4-prefix 10.0.0.0/8\n"
	"vn red id 2 sir-prefix 2001:db8:2::/64\n";

static void quiet(enum ila_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

static struct ilad *fuzz_ilad(void)
{
	static struct ilad d;
	static struct ila_conf conf;
	static bool ready;
	char err[512];

	if (ready)
		return &d;
	ila_log_init("fuzz", ILA_LOG_TO_CALLBACK, ILA_LOG_ERR);
	ila_log_set_callback(quiet, NULL);
	signal(SIGPIPE, SIG_IGN);
	ila_conf_init(&conf, ILA_CONF_NODE);
	if (ila_conf_parse_buf(&conf, "fuzz", conf_text, sizeof(conf_text) - 1, err,
			       sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_ilad: %s\n", err);
		abort();
	}
	d.conf = &conf;
	d.loop = ev_default_loop(0);
	d.use_tls = false;
	ilad_events_init(&d, ilad_run_event);
	if (local_init(&d, err, sizeof(err)) < 0)
		abort();
	mc_init(&d);
	mc_stop(&d, false); /* no connect: each input adopts its own socket */
	ready = true;
	return &d;
}

static void send_open(int fd)
{
	struct ila_msg o = { .type = ILA_MSG_OPEN, .xid = 1 };
	uint8_t buf[256];
	size_t len;

	snprintf(o.open.node, sizeof(o.open.node), "mapper");
	o.open.role = ILA_ROLE_MAPPER;
	o.open.caps = ILA_CAP_ADDR4 | ILA_CAP_STANDBY;
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

static void run_nowait(struct ilad *d, int fd)
{
	/* a failed session would try the configured mapper next: not here */
	if (d->mc == MC_IDLE)
		ev_timer_stop(d->loop, &d->retry_timer);
	ev_run(d->loop, EVRUN_NOWAIT);
	ilad_events_run(d);
	if (fd >= 0)
		drain(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ilad *d = fuzz_ilad();
	char err[64];
	int sv[2];
	size_t off = 1;

	if (size < 1)
		return 0;
	if (cache_init(d, err, sizeof(err)) < 0)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		goto out;
	if (mc_adopt(d, sv[0]) < 0) {
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	run_nowait(d, sv[1]); /* connected: ilad sends OPEN */
	if (data[0] & 1)
		send_open(sv[1]);
	/* feed the input as the socket takes it, letting ilad run between */
	for (int rounds = 0; rounds < 1000 && off < size && d->mc != MC_IDLE; rounds++) {
		ssize_t w = write(sv[1], data + off, size - off);

		if (w > 0)
			off += (size_t)w;
		run_nowait(d, sv[1]);
	}
	for (int i = 0; i < 4; i++)
		run_nowait(d, sv[1]);
	close(sv[1]);
	for (int i = 0; i < 4; i++)
		run_nowait(d, -1);
	mc_stop(d, false);
	ilad_events_run(d);
out:
	local_waits_free(d);
	cache_flush(d);
	cache_free(d);
	return 0;
}
