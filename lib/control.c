/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <ctype.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "control.h"
#include "log.h"

struct ctl_client {
	struct ila_ctl_server *srv;
	ev_io io;
	int fd;
	bool readonly;		/* came in through the read-only socket */
	struct ucred cred;	/* the peer's, at connect time (SO_PEERCRED) */
	char in[ILA_CTL_MAX_CMD + 1];
	size_t inlen;
	struct ila_buf out;
	enum { MON_OFF, MON_TEXT, MON_JSON } monitor; /* a live event stream */
	uint64_t ticket;	/* of the last deferred command */
	bool pending;		/* that command has not answered yet */
	bool dead;		/* went away during its own command: freed after it */
	struct ctl_client *next;
};

/* One listening socket: the control socket, or the read-only one. */
struct ctl_listener {
	struct ila_ctl_server *srv;
	ev_io io;
	int fd; /* -1: not open */
	bool readonly;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct ila_ctl_server {
	struct ev_loop *loop;
	struct ctl_listener main, ro;
	const struct ila_cli_cmd *cmds;
	size_t ncmds;
	void *ctx;
	struct ctl_client *clients;
	unsigned nclients;
	unsigned nmonitors;
	struct ctl_client *running; /* whose command runs now */
	uint64_t next_ticket;
	struct ila_ctl_stats stats;
};

static void client_free(struct ctl_client *c)
{
	struct ila_ctl_server *s = c->srv;

	for (struct ctl_client **p = &s->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	s->nclients--;
	if (c->monitor)
		s->nmonitors--;
	ev_io_stop(s->loop, &c->io);
	close(c->fd);
	ila_buf_free(&c->out);
	free(c);
}

/* Writes what it can; returns -1 when the client is gone. */
static int client_flush(struct ctl_client *c)
{
	while (c->out.len > 0) {
		ssize_t w = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		ila_buf_consume(&c->out, (size_t)w);
	}
	/* no new command is read while one waits for its answer */
	int events = (c->pending ? 0 : EV_READ) | (c->out.len ? EV_WRITE : 0);
	if (c->out.len > ILA_CTL_MAX_PENDING)
		events = EV_WRITE; /* stop reading commands until the output drains */
	ev_io_stop(c->srv->loop, &c->io);
	if (events) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(c->srv->loop, &c->io);
	}
	return 0;
}

/* The command as it goes to the log: printable, without the client's control bytes. */
static void log_safe(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < len; i++)
		dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[i] = '\0';
}

/*
 * Matches cmd. A state-changing command is refused on the read-only socket
 * (counted) and logged with its peer's credentials on the control socket.
 */
static int client_check(struct ctl_client *c, char *cmd, const struct ila_cli_cmd **found,
			struct ila_cli_args *args)
{
	struct ila_ctl_server *s = c->srv;
	char text[ILA_CTL_MAX_CMD + 1];
	int status;

	log_safe(text, sizeof(text), cmd);
	status = ila_cli_find(s->cmds, s->ncmds, cmd, found, args, &c->out);
	if (status != ILA_CLI_SUCCESS || !*found || ila_cli_is_readonly(*found))
		return status;
	if (c->readonly) {
		s->stats.readonly_refused++;
		log_info("control: '%s' from uid %u pid %d refused on the read-only socket %s",
			 text, (unsigned)c->cred.uid, (int)c->cred.pid, s->ro.path);
		ila_buf_printf(&c->out, "%% %s: refused: %s is the read-only control socket "
			       "(show, monitor and help); use %s\n",
			       text, s->ro.path, s->main.path);
		*found = NULL;
		return ILA_CLI_WARNING;
	}
	log_notice("control: '%s' from uid %u gid %u pid %d", text, (unsigned)c->cred.uid,
		   (unsigned)c->cred.gid, (int)c->cred.pid);
	return status;
}

static void client_run(struct ctl_client *c, char *cmd)
{
	struct ila_ctl_server *s = c->srv;
	const struct ila_cli_cmd *found = NULL;
	struct ila_cli_args args;
	int status;
	uint8_t trailer[4] = { 0, 0, 0, 0 };

	s->stats.commands++;
	/* "monitor [json]" turns the connection into an event stream: no status
	 * trailer, events until the client goes away */
	if (strncmp(cmd, "monitor", 7) == 0 && (cmd[7] == '\0' || strcmp(cmd + 7, " json") == 0)) {
		if (!c->monitor)
			s->nmonitors++;
		c->monitor = cmd[7] ? MON_JSON : MON_TEXT;
		return;
	}
	c->ticket = 0;
	status = client_check(c, cmd, &found, &args);
	if (status == ILA_CLI_SUCCESS && found) {
		s->running = c;
		status = found->fn(s->ctx, &args, &c->out);
		s->running = NULL;
	}
	if (status == ILA_CLI_DEFERRED) {
		if (c->ticket)
			return; /* answered by ila_ctl_answer() */
		status = ILA_CLI_WARNING; /* a handler that deferred without a ticket */
	}
	if (status >= ILA_CLI_ERR_NO_MATCH && status <= ILA_CLI_ERR_INCOMPLETE)
		s->stats.errors++;
	trailer[3] = (uint8_t)status;
	ila_buf_append(&c->out, trailer, sizeof(trailer));
}

/* Runs the complete commands received, until one has to wait. */
static void client_process(struct ctl_client *c)
{
	while (!c->pending && !c->dead) {
		char *nul = memchr(c->in, '\0', c->inlen);

		if (!nul)
			break;
		client_run(c, c->in);
		size_t used = (size_t)(nul - c->in) + 1;
		memmove(c->in, nul + 1, c->inlen - used);
		c->inlen -= used;
	}
}

/* Sends what is queued; frees the client when it is gone. */
static void client_service(struct ctl_client *c)
{
	if (c->dead) {
		client_free(c);
		return;
	}
	if (c->out.error) {
		log_warn("control: out of memory for command output, client dropped");
		client_free(c);
		return;
	}
	if (client_flush(c) < 0)
		client_free(c);
}

static void client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = w->data;

	(void)loop;
	if ((revents & EV_READ) && !c->pending) {
		ssize_t r = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			client_free(c);
			return;
		}
		if (r > 0)
			c->inlen += (size_t)r;
	}
	client_process(c);
	if (!c->pending && !c->dead && c->inlen == sizeof(c->in)) {
		c->srv->stats.oversized++;
		log_warn("control: command longer than %d bytes, client dropped", ILA_CTL_MAX_CMD);
		client_free(c);
		return;
	}
	client_service(c);
}

uint64_t ila_ctl_defer(struct ila_ctl_server *s)
{
	struct ctl_client *c = s ? s->running : NULL;

	if (!c)
		return 0;
	c->ticket = ++s->next_ticket;
	c->pending = true;
	return c->ticket;
}

void ila_ctl_answer(struct ila_ctl_server *s, uint64_t ticket, int status, const char *text)
{
	uint8_t trailer[4] = { 0, 0, 0, (uint8_t)status };
	struct ctl_client *c;

	if (!s || !ticket)
		return;
	for (c = s->clients; c; c = c->next)
		if (c->pending && c->ticket == ticket)
			break;
	if (!c)
		return; /* the client went away meanwhile */
	if (text)
		ila_buf_printf(&c->out, "%s", text);
	ila_buf_append(&c->out, trailer, sizeof(trailer));
	c->pending = false;
	/* sent, and the client's next commands run, from the loop: never
	 * inside whatever callback answers */
	ev_feed_event(s->loop, &c->io, EV_WRITE);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_listener *l = w->data;
	struct ila_ctl_server *s = l->srv;
	int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	socklen_t credlen = sizeof(struct ucred);
	struct ctl_client *c;

	(void)revents;
	if (fd < 0)
		return;
	if (s->nclients >= ILA_CTL_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
		s->stats.refused++;
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->readonly = l->readonly;
	c->cred = (struct ucred){ .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &credlen) < 0)
		log_warn("control: SO_PEERCRED: %s", strerror(errno));
	ila_buf_init(&c->out);
	ev_io_init(&c->io, client_cb, fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	c->next = s->clients;
	s->clients = c;
	s->nclients++;
}

/* A socket file nobody answers on is left over from a dead daemon. */
static bool socket_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

/* Binds one listening socket with its owner and mode. */
static int listener_open(struct ila_ctl_server *s, struct ctl_listener *l, const char *path,
			 bool readonly, const struct ila_ctl_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t mode = readonly ? 0666 : 0660;
	int rc;

	l->srv = s;
	l->readonly = readonly;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (socket_is_live(&sun)) {
		snprintf(err, errlen, "control socket %s is in use: is another daemon running?",
			 path);
		return -EADDRINUSE;
	}
	unlink(path);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		goto fail;
	/* never wider than mode, not even between bind and chmod */
	mode_t old = umask(0777 & ~mode);
	rc = bind(l->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0)
		goto fail;
	snprintf(l->path, sizeof(l->path), "%s", path);
	if ((cfg->owner != (uid_t)-1 || cfg->group != (gid_t)-1) &&
	    chown(path, cfg->owner, cfg->group) < 0)
		goto fail;
	if (chmod(path, mode) < 0 || listen(l->fd, 16) < 0)
		goto fail;
	ev_io_init(&l->io, accept_cb, l->fd, EV_READ);
	l->io.data = l;
	ev_io_start(s->loop, &l->io);
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
	if (l->path[0])
		unlink(l->path);
	l->path[0] = '\0';
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	return rc;
}

static void listener_close(struct ila_ctl_server *s, struct ctl_listener *l)
{
	if (l->fd < 0)
		return;
	ev_io_stop(s->loop, &l->io);
	close(l->fd);
	l->fd = -1;
	/* fails harmlessly when the daemon no longer may write the folder: the
	 * next start replaces a socket nobody answers on */
	unlink(l->path);
}

int ila_ctl_server_open(struct ila_ctl_server **out, struct ev_loop *loop,
			const struct ila_ctl_config *cfg, const struct ila_cli_cmd *cmds,
			size_t ncmds, void *ctx, char *err, size_t errlen)
{
	struct ila_ctl_server *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->cmds = cmds;
	s->ncmds = ncmds;
	s->ctx = ctx;
	s->main.fd = s->ro.fd = -1;
	rc = listener_open(s, &s->main, cfg->path, false, cfg, err, errlen);
	if (!rc && cfg->readonly_path && cfg->readonly_path[0])
		rc = listener_open(s, &s->ro, cfg->readonly_path, true, cfg, err, errlen);
	if (rc < 0) {
		listener_close(s, &s->main);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void ila_ctl_server_close(struct ila_ctl_server *s)
{
	if (!s)
		return;
	while (s->clients)
		client_free(s->clients);
	listener_close(s, &s->main);
	listener_close(s, &s->ro);
	free(s);
}

const struct ila_ctl_stats *ila_ctl_server_stats(const struct ila_ctl_server *s)
{
	return &s->stats;
}

bool ila_ctl_monitoring(const struct ila_ctl_server *s)
{
	return s && s->nmonitors > 0;
}

void ila_ctl_event(struct ila_ctl_server *s, const char *event, json_object *fields)
{
	struct timespec ts;
	struct tm tm;
	char stamp[80];
	const char *json = NULL;
	struct ila_buf text;

	if (!ila_ctl_monitoring(s)) {
		json_object_put(fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
	ila_buf_init(&text);
	ila_buf_printf(&text, "%s %-10s", stamp, event);
	json_object_object_foreach(fields, key, val) {
		const char *v = json_object_get_string(val);

		ila_buf_printf(&text, " %s=%s", key, v ? v : "-");
	}
	ila_buf_printf(&text, "\n");
	json_object *line = json_object_new_object();
	json_object_object_add(line, "time", json_object_new_string(stamp));
	json_object_object_add(line, "event", json_object_new_string(event));
	json_object_object_foreach(fields, k2, v2)
		json_object_object_add(line, k2, json_object_get(v2));
	json = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE);
	for (struct ctl_client *c = s->clients, *next; c; c = next) {
		next = c->next;
		if (!c->monitor)
			continue;
		if (c->out.len > ILA_CTL_MAX_PENDING) {
			s->stats.monitor_dropped++;
			continue; /* the client does not keep up: it misses events, counted */
		}
		if (c->monitor == MON_JSON)
			ila_buf_printf(&c->out, "%s\n", json);
		else
			ila_buf_append(&c->out, text.data, text.len);
		if (client_flush(c) < 0) {
			if (c == s->running)
				c->dead = true; /* freed once its command returns */
			else
				client_free(c);
		}
	}
	json_object_put(line);
	json_object_put(fields);
	ila_buf_free(&text);
}

int ila_ctl_print_json(struct ila_buf *out, json_object *j)
{
	ila_buf_printf(out, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return ILA_CLI_SUCCESS;
}

int ila_ctl_print_list(struct ila_buf *out, const char *key, json_object *list)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, list);
	return ila_ctl_print_json(out, o);
}

int ila_ctl_running_config(const struct ila_conf *c, bool json, struct ila_buf *out)
{
	char *text = ila_conf_print_str(c);

	if (!text) {
		ila_buf_printf(out, "%% out of memory\n");
		return ILA_CLI_WARNING;
	}
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "running_config", json_object_new_string(text));
		free(text);
		return ila_ctl_print_json(out, o);
	}
	ila_buf_printf(out, "%s", text);
	free(text);
	return ILA_CLI_SUCCESS;
}
