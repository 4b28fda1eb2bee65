/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The read-only HTTP endpoint of the metrics, on libmicrohttpd (MHD).
 *
 * MHD runs without a thread of its own, in its "external epoll" mode: it
 * keeps the listening socket and every connection in one epoll descriptor
 * of its own (MHD_DAEMON_INFO_EPOLL_FD), which the daemon's libev loop
 * watches with one ev_io. When that descriptor is readable, or when the
 * ev_timer set from MHD_get_timeout() fires, MHD_run() does whatever is
 * ready without waiting (accepts, reads, writes); afterwards the timer is
 * set again from MHD_get_timeout(), which is 0 while MHD still has work
 * buffered (and is never more than a second). Every socket is non-blocking, so a slow client only leaves its
 * answer waiting in MHD's buffer: the loop never blocks on it. MHD parses
 * HTTP; this file only answers GET /metrics.
 *
 * Bounds: ILA_METRICS_MAX_CONNECTIONS connections at once (MHD refuses
 * more at accept), ILA_METRICS_CONNECTION_MEMORY bytes of request per
 * connection (a longer request gets 431 or 413 and is closed), and
 * ILA_METRICS_TIMEOUT_S seconds of idleness.
 *
 * Why epoll and not MHD_get_fdset(): the daemons hold thousands of
 * descriptors (sessions), past select()'s FD_SETSIZE, and one ev_io on one
 * descriptor needs no rebuilding per round.
 *
 * Seen with MHD 0.9.75 under a flood beyond the connection limit and the
 * listen backlog (tests/integration/metrics.py): connections accepted in the
 * round that freed the limit may be read only when their idle timeout
 * expires, so scraping resumes within ILA_METRICS_TIMEOUT_S, not at once.
 * The daemon's loop is not held up meanwhile.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct ila_metrics_server {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	ev_io io;
	ev_timer timer;
	ila_metrics_render_fn render;
	void *arg;
	char addr[80];
	struct ila_metrics_server_stats stats;
};

static void mhd_log(void *cls, const char *fmt, va_list ap) ILA_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	/* a client's nonsense is not the operator's concern */
	log_debug("metrics: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *text,
			     const char *allow)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct ila_metrics_server *s = cls;
	struct MHD_Response *r;
	struct ila_buf b;
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	/* answered at the first call, before any request body is read: MHD
	 * then closes a connection whose body was not read */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		s->stats.refused++;
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET /metrics\n",
			     "GET, HEAD");
	}
	if (strcmp(url, "/metrics") != 0) {
		s->stats.refused++;
		return reply(c, MHD_HTTP_NOT_FOUND, "not found: GET /metrics\n", NULL);
	}
	s->stats.scrapes++;
	ila_buf_init(&b);
	s->render(s->arg, &b);
	if (b.error) {
		ila_buf_free(&b);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	}
	r = MHD_create_response_from_buffer_with_free_callback(b.len, b.data, free);
	if (!r) {
		ila_buf_free(&b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* After every MHD_run(): wake again when MHD says it must run next. */
static void reschedule(struct ila_metrics_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(s->loop, &s->timer);
	/* at least once a second all the same: a safety net, not the clock
	 * anything relies on */
	if (MHD_get_timeout(s->mhd, &ms) != MHD_YES || ms > 1000)
		ms = 1000;
	ev_timer_set(&s->timer, (double)ms / 1000.0, 0.);
	ev_timer_start(s->loop, &s->timer);
}

static unsigned int connections(struct ila_metrics_server *s)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return i ? i->num_connections : 0;
}

static void run(struct ila_metrics_server *s)
{
	unsigned int before = connections(s);

	if (MHD_run(s->mhd) != MHD_YES)
		log_warn("metrics %s: the HTTP server failed a round", s->addr);
	/* At the connection limit MHD takes the listening socket out of its
	 * epoll set, and puts it back only at the start of the round after the
	 * one that closed a connection: without that round, clients waiting in
	 * the backlog would wait for an unrelated event. */
	if (connections(s) < before)
		MHD_run(s->mhd);
	reschedule(s);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	run(w->data);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	run(w->data);
}

static void endpoint_str(const struct ila_conf_endpoint *ep, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(ep->family, &ep->addr, a, sizeof(a));
	snprintf(buf, len, "%s port %u", a, ep->port);
}

static int listen_socket(const struct ila_conf_endpoint *ep, char *err, size_t errlen,
			 const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = ila_conf_endpoint_sockaddr(ep, &ss);
	int one = 1, fd, rc;

	fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "metrics listen %s: socket: %s", addr, strerror(errno));
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ep->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, ILA_METRICS_MAX_CONNECTIONS) < 0) {
		rc = -errno;
		snprintf(err, errlen, "metrics listen %s: %s", addr, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int ila_metrics_server_open(struct ila_metrics_server **out, struct ev_loop *loop,
			    const struct ila_conf_endpoint *ep, ila_metrics_render_fn render,
			    void *arg, char *err, size_t errlen)
{
	struct ila_metrics_server *s = calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;
	int fd;

	if (!s) {
		snprintf(err, errlen, "metrics: out of memory");
		return -ENOMEM;
	}
	endpoint_str(ep, s->addr, sizeof(s->addr));
	fd = listen_socket(ep, err, errlen, s->addr);
	if (fd < 0) {
		free(s);
		return fd;
	}
	s->loop = loop;
	s->render = render;
	s->arg = arg;
	/* no MHD_USE_INTERNAL_POLLING_THREAD: MHD runs only inside MHD_run() */
	s->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, answer, s,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)ILA_METRICS_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)ILA_METRICS_CONNECTION_MEMORY,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)ILA_METRICS_TIMEOUT_S,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)s,
		MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, errlen, "metrics listen %s: the HTTP server did not start", s->addr);
		close(fd);
		free(s);
		return -EIO;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		snprintf(err, errlen, "metrics listen %s: no epoll descriptor", s->addr);
		MHD_stop_daemon(s->mhd);
		free(s);
		return -EIO;
	}
	ev_io_init(&s->io, io_cb, info->epoll_fd, EV_READ);
	s->io.data = s;
	ev_io_start(loop, &s->io);
	ev_init(&s->timer, timer_cb);
	s->timer.data = s;
	reschedule(s);
	log_info("metrics on %s (GET /metrics)", s->addr);
	*out = s;
	return 0;
}

void ila_metrics_server_close(struct ila_metrics_server *s)
{
	if (!s)
		return;
	ev_io_stop(s->loop, &s->io);
	ev_timer_stop(s->loop, &s->timer);
	/* MHD closes the listening socket it was given */
	MHD_stop_daemon(s->mhd);
	free(s);
}

const struct ila_metrics_server_stats *ila_metrics_server_stats(const struct ila_metrics_server *s)
{
	return &s->stats;
}
