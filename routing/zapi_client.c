/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session with zebra: connect, profile finding, GR and the replay, reading zebra's messages, close. */
/*
 * ilad's zebra API client. See zapi.h for the contract.
 *
 * Finding the profile, on every connection (zebra may have been upgraded):
 *  - version 8 or 9 configured: HELLO in the 8.x layout (receive_notify set)
 *    and the probe (zapi_encode_probe: a message in a VRF no zebra has).
 *    Zebra answers the HELLO with CAPABILITIES (19), then the probe with
 *    ERROR "no such VRF", whose command number is 118 up to 9.0 and 117 in
 *    9.1; zebra logs that ERROR at debug level only.
 *  - version 10 configured: the same with the 10.x HELLO; CAPABILITIES is 20
 *    and ERROR 118 (10.0-10.1) or 120 (10.2+); then ROUTE_NOTIFY_REQUEST,
 *    whose number also moved.
 *  - auto: the probe alone. ERROR as 117 is 9.1 and 120 is 10.2+: the HELLO
 *    of that release follows and the session is up. 118 is either 8.2-9.0
 *    or 10.0-10.1: the 8.x HELLO follows. An 8.x/9.x zebra answers
 *    CAPABILITIES (then another probe goes out as above); a 10.0-10.1 zebra
 *    has no handler for command 18 and answers ERROR "invalid message type"
 *    (and logs "unknown command 18"): then the 10.0 HELLO.
 * An ERROR before CAPABILITIES with a configured version means that zebra
 * speaks another release: the connection is dropped and retried later.
 *
 * Zebra forgets every route of our type and instance when the connection
 * closes, unless graceful restart is on: then it keeps them, marked stale,
 * for the stale time announced in CLIENT_CAPABILITIES. Either way, after
 * each new HELLO the whole desired set is sent again, and with graceful
 * restart ROUTE_UPDATE_COMPLETE (IPv4, then IPv6) follows the replay: zebra
 * then removes at once what the previous session had and this one did not
 * send again (and keeps the rest without a moment's gap). It may still hold
 * routes of our type it read back from the kernel after a crash of its
 * own: those are found by asking for the redistribution of our own type
 * once (the dump ends with the ERROR of another probe) and deleted unless
 * wanted or adopted (zapi_set_adopt: a restarted ilad takes back what its
 * predecessor announced).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/linkhash.h>

#include "clock.h"
#include "zapi_client_priv.h"

#define ZAPI_PROBE_TIMEOUT_S 5.0   /* connect to UP */
/* Graceful restart: update-complete waits for zebra's answer to every route
 * of the replay (zebra queues route messages but handles update-complete at
 * once: sent earlier, it would drop the old copies of routes whose new ones
 * are still queued, and the kernel would lose them for a moment); at most
 * this long. */
#define ZAPI_COMPLETE_WAIT_S 10.0

static void go_up(struct zapi *z, int profile)
{
	unsigned gen = z->gen;
	struct lh_entry *le;
	uint8_t m[16];

	z->profile = profile;
	z->st.version = profile;
	if (!zapi_profile_cmds(profile)->hello_notify &&
	    zconn_queue(z, m, zapi_encode_notify_request(m, sizeof(m), profile)) < 0)
		return;
	/* Graceful restart: from now on zebra keeps our routes for the stale
	 * time when the connection closes. */
	if (z->gr_stale_s && zconn_queue_cap(z, ZAPI_CAP_GR, z->gr_stale_s) < 0)
		return;
	/*
	 * Zebra may hold routes of our type that we no longer want: a zebra
	 * killed outright leaves its routes in the kernel, and the next one
	 * reads them back as routes of their type at its start (and keeps
	 * them). Asking for the redistribution of our own type dumps them;
	 * the probe's ERROR after the dump says it is complete.
	 */
	if (zconn_queue_redist(z, true, ZAPI_AFI_IP) < 0 ||
	    zconn_queue_redist(z, true, ZAPI_AFI_IP6) < 0 || zconn_queue_probe(z) < 0)
		return;
	z->reconciling = true;
	ev_timer_stop(z->loop, &z->tm);
	z->state = ZS_UP;
	z->st.up = true;
	z->backoff_ms = ZAPI_BACKOFF_MIN_MS;
	lh_foreach(z->routes, le) {
		struct zentry *e = lh_entry_v(le);

		e->st = ZR_PENDING;
		if (zconn_queue_route(z, true, &e->r) < 0 || z->gen != gen)
			return;
	}
	if (z->cb)
		z->cb(z->arg, ZAPI_EV_UP);
}

static void start_session(struct zapi *z, int fd)
{
	z->fd = fd;
	z->gen++;
	z->st.connects++;
	z->state = ZS_PROBE;
	z->profile = ZAPI_PROFILE_NONE;
	z->fam = z->conf_version == 10 ? 10 : 8;
	z->caps_seen = false;
	z->probe_sent = false;
	z->hello_sent = false;
	z->reconciling = false;
	z->complete_due = false;
	z->in_len = 0;
	z->out_head = z->out_len = 0;
	ev_io_set(&z->rio, fd, EV_READ);
	ev_io_set(&z->wio, fd, EV_WRITE);
	ev_io_start(z->loop, &z->rio);
	zconn_schedule(z, ZAPI_PROBE_TIMEOUT_S);
	/* Auto: the probe alone first (see the top of this file). */
	if (!z->conf_version) {
		zconn_queue_probe(z);
		return;
	}
	z->hello_sent = true;
	if (zconn_queue_hello(z, z->fam == 10 ? ZAPI_PROFILE_10_0 : ZAPI_PROFILE_8_2) < 0)
		return;
	zconn_queue_probe(z);
}

static void try_connect(struct zapi *z)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memcpy(sa.sun_path, z->path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		zconn_set_err(z, "socket: %s", strerror(errno));
		zconn_drop(z);
		return;
	}
	/* A unix stream connect completes at once or fails (EAGAIN: the
	 * listener's backlog is full); either way nothing waits. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		zconn_set_err(z, "connect %s: %s", z->path, strerror(errno));
		close(fd);
		zconn_drop(z);
		return;
	}
	start_session(z, fd);
}

/* Is this a 4-byte ERROR with this code under one of these numbers? */
static bool is_error(uint16_t cmd, const uint8_t *body, size_t n, uint16_t a, uint16_t b,
		     uint32_t want)
{
	uint32_t code;

	return (cmd == a || cmd == b) && zapi_parse_error(body, n, &code) == 0 && code == want;
}

/* The answer to the probe: ERROR "no such VRF". */
static bool is_probe_error(uint16_t cmd, const uint8_t *body, size_t n, uint16_t a,
			   uint16_t b)
{
	return is_error(cmd, body, n, a, b, ZAPI_ERR_NO_VRF);
}

/* The answer to a HELLO of another release: ERROR "invalid message type". */
static bool is_refusal(uint16_t cmd, const uint8_t *body, size_t n, uint16_t a, uint16_t b)
{
	return is_error(cmd, body, n, a, b, ZAPI_ERR_INVALID_MSG_TYPE);
}

static void handle_probe(struct zapi *z, uint16_t cmd, const uint8_t *body, size_t n)
{
	const struct zapi_cmds *f = zapi_profile_cmds(z->fam == 10 ? ZAPI_PROFILE_10_0
								    : ZAPI_PROFILE_8_2);
	/* The command number of ERROR in each profile. */
	const uint16_t e8_2 = zapi_profile_cmds(ZAPI_PROFILE_8_2)->error;
	const uint16_t e9_1 = zapi_profile_cmds(ZAPI_PROFILE_9_1)->error;
	const uint16_t e10_0 = zapi_profile_cmds(ZAPI_PROFILE_10_0)->error;
	const uint16_t e10_2 = zapi_profile_cmds(ZAPI_PROFILE_10_2)->error;

	if (!z->hello_sent) {
		/* Auto, the answer to the first probe: 117 is 9.1 and 120 10.2+,
		 * each known at once; 118 is 8.2-9.0 or 10.0-10.1, which the
		 * 8.x HELLO tells apart (CAPABILITIES, or ERROR). */
		int p = cmd == e9_1 ? ZAPI_PROFILE_9_1 : cmd == e10_2 ? ZAPI_PROFILE_10_2 : 0;

		if (!is_probe_error(cmd, body, n, e8_2, e9_1) &&
		    !is_probe_error(cmd, body, n, e10_2, e10_2))
			return;
		z->hello_sent = true;
		if (p) {
			z->fam = p == ZAPI_PROFILE_9_1 ? 8 : 10;
			if (zconn_queue_hello(z, p) == 0)
				go_up(z, p);
			return;
		}
		z->probe_sent = false; /* another goes out after CAPABILITIES */
		zconn_queue_hello(z, ZAPI_PROFILE_8_2);
		return;
	}
	if (cmd == f->capabilities) {
		z->caps_seen = true;
		if (!z->probe_sent)
			zconn_queue_probe(z);
		return;
	}
	if (!z->caps_seen) {
		/* ERROR before CAPABILITIES: the HELLO was refused. */
		if (!is_refusal(cmd, body, n, e10_0, e10_2) &&
		    !is_refusal(cmd, body, n, e9_1, e8_2))
			return;
		if (z->conf_version == 0 && z->fam == 8 && cmd != e9_1) {
			int p = cmd == e10_0 ? ZAPI_PROFILE_10_0 : ZAPI_PROFILE_10_2;

			z->fam = 10;
			if (zconn_queue_hello(z, p) == 0)
				go_up(z, p);
			return;
		}
		z->st.errors++;
		zconn_set_err(z, "zebra refused the HELLO of FRR %d.x (ERROR as command %u)",
			z->fam, (unsigned)cmd);
		zconn_drop(z);
		return;
	}
	if (z->fam == 8 && is_probe_error(cmd, body, n, e8_2, e9_1))
		go_up(z, cmd == e8_2 ? ZAPI_PROFILE_8_2 : ZAPI_PROFILE_9_1);
	else if (z->fam == 10 && is_probe_error(cmd, body, n, e10_0, e10_2))
		go_up(z, cmd == e10_0 ? ZAPI_PROFILE_10_0 : ZAPI_PROFILE_10_2);
	/* anything else before the answer (VRF_ADD, ...) is of no use here */
}

static void handle_notify(struct zapi *z, const uint8_t *body, size_t n)
{
	struct zapi_notify nt;
	struct zentry *e = NULL;
	struct zkey k;
	void *v;

	if (zapi_parse_notify(body, n, &nt) < 0) {
		z->st.malformed++;
		return;
	}
	z->st.notifications++;
	z->answer_ms = ila_clock_mono_ms();
	if (nt.note == ZAPI_NOTE_INSTALLED)
		z->st.installed++;
	else if (nt.note == ZAPI_NOTE_FAIL_INSTALL || nt.note == ZAPI_NOTE_REMOVE_FAIL)
		z->st.failed++;
	if (ztable_key(&k, nt.family, &nt.prefix, nt.plen) == 0 &&
	    lh_table_lookup_ex(z->routes, &k, &v))
		e = v;
	if (!e)
		return; /* a route since withdrawn: REMOVED after our DELETE */
	switch (nt.note) {
	case ZAPI_NOTE_FAIL_INSTALL:
		e->st = ZR_FAILED;
		break;
	case ZAPI_NOTE_BETTER_ADMIN_WON:
		e->st = ZR_BETTER_ADMIN_WON;
		break;
	case ZAPI_NOTE_INSTALLED:
		e->st = ZR_INSTALLED;
		break;
	case ZAPI_NOTE_REMOVED:
		e->st = ZR_REMOVED;
		break;
	default:
		break;
	}
	zconn_maybe_complete(z, false);
}

/* A route of the dump (see go_up): deleted unless it is one we want, or
 * the adopt callback takes it into the desired set. */
static void handle_dumped(struct zapi *z, const uint8_t *body, size_t n)
{
	struct zapi_route_head rh;
	struct zroute r;
	struct zkey k;
	void *v;

	if (zapi_parse_route_head(body, n, &rh) < 0) {
		z->st.malformed++;
		return;
	}
	if (rh.type != z->type || rh.instance != z->instance ||
	    ztable_key(&k, rh.family, &rh.prefix, rh.plen) < 0 ||
	    lh_table_lookup_ex(z->routes, &k, &v))
		return;
	memset(&r, 0, sizeof(r));
	r.family = rh.family;
	memcpy(&r.prefix, k.addr, addr_len(rh.family));
	r.plen = rh.plen;
	if (rh.nh_type == ZAPI_NH_IFINDEX && rh.ifindex > 0) {
		r.nh = ZNH_IFINDEX;
		r.ifindex = rh.ifindex;
	}
	if (z->adopt && z->adopt(z->adopt_arg, &r) && lh_table_lookup_ex(z->routes, &k, &v)) {
		z->st.adopted++;
		return;
	}
	r.nh = ZNH_BLACKHOLE;
	r.ifindex = 0;
	z->st.stale++;
	zconn_queue_route(z, false, &r);
}

static void handle_up(struct zapi *z, uint16_t cmd, const uint8_t *body, size_t n)
{
	const struct zapi_cmds *p = zapi_profile_cmds(z->profile);
	uint32_t code;

	if (cmd == p->notify_owner) {
		handle_notify(z, body, n);
	} else if (cmd == p->redist_route_add) {
		if (z->reconciling)
			handle_dumped(z, body, n); /* after it: our own routes echoed */
	} else if (cmd == p->error) {
		if (zapi_parse_error(body, n, &code) < 0) {
			z->st.malformed++;
		} else if (z->reconciling && code == ZAPI_ERR_NO_VRF) {
			z->reconciling = false; /* the dump is complete */
			z->st.dumps++;
			if (zconn_queue_redist(z, false, ZAPI_AFI_IP) < 0 ||
			    zconn_queue_redist(z, false, ZAPI_AFI_IP6) < 0)
				return;
			/* Everything is sent again, what was adopted from the
			 * dump too: once zebra has it, the routes of the
			 * previous session not among them may go now rather
			 * than at the end of the stale time. */
			if (z->gr_stale_s) {
				z->complete_due = true;
				zconn_schedule(z, ZAPI_COMPLETE_WAIT_S);
				zconn_maybe_complete(z, false);
			}
		} else {
			z->st.errors++;
			zconn_set_err(z, "zebra sent ERROR %u", (unsigned)code);
		}
	} else if (cmd != p->capabilities && cmd != p->vrf_add && cmd != p->vrf_delete &&
		   cmd != p->redist_route_del) {
		z->st.unknown++;
	}
}

/* Handles every complete frame in z->in. Negative once the stream broke. */
static int consume(struct zapi *z)
{
	unsigned gen = z->gen;
	size_t at = 0;
	struct zapi_hdr h;
	int rc = 0;

	while (z->gen == gen) {
		rc = zapi_parse_header(z->in + at, z->in_len - at, &h);
		if (rc == -EAGAIN) {
			rc = 0;
			break;
		}
		if (rc < 0) {
			z->st.malformed++;
			zconn_set_err(z, "bad header from zebra (marker %u, version %u, length %u)",
				h.marker, h.version, h.length);
			zconn_drop(z);
			return -EBADMSG;
		}
		if (z->in_len - at < h.length)
			break;
		if (z->state == ZS_PROBE)
			handle_probe(z, h.command, z->in + at + ZAPI_HEADER_SIZE,
				     h.length - ZAPI_HEADER_SIZE);
		else if (z->state == ZS_UP)
			handle_up(z, h.command, z->in + at + ZAPI_HEADER_SIZE,
				  h.length - ZAPI_HEADER_SIZE);
		at += h.length;
	}
	if (z->gen != gen)
		return -ECONNRESET;
	memmove(z->in, z->in + at, z->in_len - at);
	z->in_len -= at;
	return rc;
}

int zapi_input(struct zapi *z, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		size_t n;
		int rc;

		if (z->fd < 0)
			return -ENOTCONN;
		n = sizeof(z->in) - z->in_len; /* >= one whole frame, see consume */
		if (n > len)
			n = len;
		memcpy(z->in + z->in_len, p, n);
		z->in_len += n;
		p += n;
		len -= n;
		rc = consume(z);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct zapi *z = w->data;
	ssize_t n = read(z->fd, z->in + z->in_len, sizeof(z->in) - z->in_len);
	int e = errno;

	if (n < 0 && (e == EAGAIN || e == EINTR))
		return;
	if (n > 0) {
		z->in_len += (size_t)n;
		consume(z);
		return;
	}
	/* End of file, or a reset (zebra died with our output unread): the
	 * same to us, but a socket error of another kind is counted. */
	if (n < 0 && e != ECONNRESET)
		z->st.errors++;
	if (z->in_len) {
		z->st.malformed++;
		zconn_set_err(z, "zebra closed the connection within a message");
	} else {
		zconn_set_err(z, "zebra closed the connection%s%s", n < 0 ? ": " : "",
			n < 0 ? strerror(e) : "");
	}
	zconn_drop(z);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct zapi *z = w->data;
	ssize_t n = send(z->fd, z->out + z->out_head, z->out_len - z->out_head,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		z->st.errors++;
		zconn_set_err(z, "write: %s", strerror(errno));
		zconn_drop(z);
		return;
	}
	z->out_head += (size_t)n;
	if (z->out_head == z->out_len) {
		z->out_head = z->out_len = 0;
		ev_io_stop(loop, &z->wio);
	}
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct zapi *z = w->data;

	if (z->state == ZS_IDLE) {
		try_connect(z);
	} else if (z->state == ZS_PROBE) {
		z->st.errors++;
		zconn_set_err(z, "no answer to HELLO within %.0f s", ZAPI_PROBE_TIMEOUT_S);
		zconn_drop(z);
	} else if (z->state == ZS_UP) {
		zconn_maybe_complete(z, true); /* routes still unanswered: complete anyway */
	}
}

/* ---- API ---- */

int zapi_open(struct zapi **zp, struct ev_loop *loop, const struct zapi_conf *c,
	      zapi_event_fn cb, void *arg, char *err, size_t errlen)
{
	const char *path = c->socket ? c->socket : ZAPI_SOCKET_DEFAULT;
	struct zapi *z;

	*zp = NULL;
	if (c->version != 0 && c->version != 8 && c->version != 9 && c->version != 10) {
		snprintf(err, errlen, "zebra version %d: not 8, 9 or 10", c->version);
		return -EINVAL;
	}
	if (zapi_route_type(ZAPI_PROFILE_8_2, c->route_type_name, c->route_type_num) < 0 &&
	    zapi_route_type(ZAPI_PROFILE_10_0, c->route_type_name, c->route_type_num) < 0) {
		snprintf(err, errlen, "zebra route type %u: not a dynamic route type",
			 c->route_type_num);
		return -EINVAL;
	}
	if (!*path || strlen(path) >= sizeof(z->path)) {
		snprintf(err, errlen, "zebra socket path: empty or too long");
		return -EINVAL;
	}
	z = calloc(1, sizeof(*z));
	if (!z) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	z->routes = ztable_new();
	if (!z->routes) {
		free(z);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	z->loop = loop;
	strcpy(z->path, path);
	z->conf_version = c->version;
	z->rtype_name = c->route_type_name;
	z->rtype_num = c->route_type_num;
	z->instance = c->instance;
	z->gr_stale_s = c->gr_stale_s;
	z->tag = c->tag;
	z->cb = cb;
	z->arg = arg;
	z->fd = -1;
	z->backoff_ms = ZAPI_BACKOFF_MIN_MS;
	ev_io_init(&z->rio, read_cb, -1, EV_READ);
	ev_io_init(&z->wio, write_cb, -1, EV_WRITE);
	ev_timer_init(&z->tm, timer_cb, 0., 0.);
	z->rio.data = z->wio.data = z->tm.data = z;
	ev_timer_start(loop, &z->tm); /* the first attempt, from the loop */
	*zp = z;
	return 0;
}

int zapi_adopt_fd(struct zapi *z, int fd)
{
	int fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -EBADF;
	if (z->fd >= 0) {
		zconn_set_err(z, "replaced by another socket");
		zconn_drop(z);
	}
	ev_timer_stop(z->loop, &z->tm);
	start_session(z, fd);
	return z->fd == fd ? 0 : -EIO;
}

/* Writes what is queued, waiting for the socket until end (monotonic ms). */
static void flush_blocking(struct zapi *z, uint64_t end)
{
	while (z->fd >= 0 && z->out_head < z->out_len) {
		struct pollfd pfd = { .fd = z->fd, .events = POLLOUT };
		uint64_t now = ila_clock_mono_ms();
		ssize_t n;

		if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
			break;
		n = send(z->fd, z->out + z->out_head, z->out_len - z->out_head,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			z->out_head += (size_t)n;
	}
}

/* Reads until the ERROR answering a probe arrives, zebra closes, or end
 * (monotonic ms); other messages are passed over. */
static void wait_probe_answer(struct zapi *z, uint64_t end)
{
	const struct zapi_cmds *p = zapi_profile_cmds(z->profile);

	z->in_len = 0;
	while (z->fd >= 0 && p) {
		struct pollfd pfd = { .fd = z->fd, .events = POLLIN };
		uint64_t now = ila_clock_mono_ms();
		struct zapi_hdr h;
		size_t at = 0;
		ssize_t n;

		if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
			return;
		n = read(z->fd, z->in + z->in_len, sizeof(z->in) - z->in_len);
		if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
			return;
		if (n > 0)
			z->in_len += (size_t)n;
		while (zapi_parse_header(z->in + at, z->in_len - at, &h) == 0 &&
		       z->in_len - at >= h.length) {
			uint32_t code;

			if (h.command == p->error &&
			    zapi_parse_error(z->in + at + ZAPI_HEADER_SIZE, h.length - ZAPI_HEADER_SIZE,
					     &code) == 0 && code == ZAPI_ERR_NO_VRF)
				return;
			at += h.length;
		}
		if (zapi_parse_header(z->in + at, z->in_len - at, &h) == -EBADMSG)
			return;
		memmove(z->in, z->in + at, z->in_len - at);
		z->in_len -= at;
	}
}

/*
 * GR close without withdrawal: zebra (8.4) marks the session's time in
 * whole seconds of CLOCK_MONOTONIC when it handles the close, and when the
 * stale time is over (or after the next session's update-complete) removes
 * only our routes created in an earlier whole second: a route added in the
 * second of the close would stay for good. So the close waits until every
 * ROUTE_ADD was handled (each answered, else a probe answered, at most
 * ZAPI_CLOSE_WAIT_MS) and the second of the last one is over (at most
 * 1000 ms more, only if a route was answered within that second).
 */
static void gr_close_wait(struct zapi *z)
{
	uint64_t last = z->answer_ms, now, next;
	struct lh_entry *le;

	lh_foreach(z->routes, le) {
		if (((struct zentry *)lh_entry_v(le))->st == ZR_PENDING) {
			uint64_t end = ila_clock_mono_ms() + ZAPI_CLOSE_WAIT_MS;

			zconn_queue_probe(z);
			flush_blocking(z, end);
			wait_probe_answer(z, end);
			last = ila_clock_mono_ms();
			break;
		}
	}
	if (!last)
		return;
	now = ila_clock_mono_ms();
	next = (last / 1000u + 1u) * 1000u;
	if (now < next)
		poll(NULL, 0, (int)(next - now));
}

void zapi_close(struct zapi *z, bool withdraw_all)
{
	struct lh_entry *le;

	if (!z)
		return;
	if (withdraw_all && z->state == ZS_UP) {
		uint64_t end = ila_clock_mono_ms() + ZAPI_CLOSE_WAIT_MS;
		unsigned gen = z->gen;

		/* Zebra must not keep what we withdraw (nor, if we are
		 * configured without GR, what an earlier ilad asked it to
		 * keep): GR off first. Zebra ignores it from a client that
		 * never asked for GR. */
		zconn_queue_cap(z, ZAPI_CAP_GR_DISABLE, 0);
		lh_foreach(z->routes, le) {
			struct zentry *e = lh_entry_v(le);

			if (zconn_queue_route(z, false, &e->r) < 0 || z->gen != gen)
				break;
		}
		/* zebra drops what it has read but not handled when the
		 * connection closes: the answer to a probe says it handled
		 * GR_DISABLE (it handles messages in order) */
		zconn_queue_probe(z);
		flush_blocking(z, end);
		wait_probe_answer(z, end);
	} else if (z->state == ZS_UP && z->gr_stale_s) {
		gr_close_wait(z);
	}
	ev_io_stop(z->loop, &z->rio);
	ev_io_stop(z->loop, &z->wio);
	ev_timer_stop(z->loop, &z->tm);
	if (z->fd >= 0)
		close(z->fd);
	lh_table_free(z->routes);
	free(z->out);
	free(z);
}

const struct zapi_stats *zapi_stats(const struct zapi *z)
{
	return &z->st;
}

const char *zapi_last_error(const struct zapi *z)
{
	return z->last_err;
}
