#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"

static void usage(const struct ila_daemon_info *info, FILE *out)
{
	fprintf(out,
		"usage: %s [-dDnv] [-f FILE] [--flush-on-exit]\n"
		"%s\n\n"
		"  -f, --config FILE   configuration file (default %s)\n"
		"  -n, --check         check the configuration and exit\n"
		"  -v, --verbose       with -n, print the configuration as understood\n"
		"  -d, --foreground    stay in the foreground and log to stderr\n"
		"  -D, --debug         log at level debug\n"
		"      --flush-on-exit remove what the daemon installed when it stops\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n",
		info->name, info->summary, info->default_conf);
}

void ila_daemon_parse_args(const struct ila_daemon_info *info, int argc, char **argv,
			   struct ila_daemon_opts *opts)
{
	enum { OPT_FLUSH = 256 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "debug", no_argument, NULL, 'D' },
		{ "flush-on-exit", no_argument, NULL, OPT_FLUSH },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*opts = (struct ila_daemon_opts){ .conf_path = info->default_conf };
	while ((c = getopt_long(argc, argv, "f:nvdDhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			opts->conf_path = optarg;
			break;
		case 'n':
			opts->check_only = true;
			break;
		case 'v':
			opts->verbose = true;
			break;
		case 'd':
			opts->foreground = true;
			break;
		case 'D':
			opts->debug = true;
			break;
		case OPT_FLUSH:
			opts->flush_on_exit = true;
			break;
		case 'h':
			usage(info, stdout);
			exit(0);
		case 'V':
			printf("%s %s\n", info->name, PACKAGE_VERSION);
			exit(0);
		default:
			usage(info, stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", info->name, argv[optind]);
		usage(info, stderr);
		exit(2);
	}
}

void ila_daemon_load_conf(const struct ila_daemon_info *info, const struct ila_daemon_opts *opts,
			  struct ila_conf *conf)
{
	char err[512];

	ila_conf_init(conf, info->kind);
	if (ila_conf_parse_file(conf, opts->conf_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", info->name, err);
		ila_conf_free(conf);
		exit(1);
	}
	if (!opts->check_only)
		return;
	if (opts->verbose)
		ila_conf_print(conf, stdout);
	else
		fprintf(stderr, "%s: configuration OK\n", info->name);
	ila_conf_free(conf);
	exit(0);
}

int ila_daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	int fd, rc = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path))
		return -EINVAL;
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

void ila_daemon_log_warnings(const struct ila_conf *c)
{
	for (unsigned i = 0; i < c->n_warnings; i++)
		log_warn("%s", c->warnings[i]);
}

void ila_daemon_make_parent(const char *path)
{
	char dir[ILA_CONF_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warn("cannot create %s: %s", dir, strerror(errno));
}

int ila_daemon_write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -errno;
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct ila_daemon_signals *s = w->data;

	(void)revents;
	if (w->signum == SIGHUP) {
		if (s->reload)
			s->reload(s->arg);
		return;
	}
	log_notice("signal %d: stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

void ila_daemon_watch_signals(struct ila_daemon_signals *s, struct ev_loop *loop,
			      void (*reload)(void *arg), void *arg)
{
	ev_signal *ws[] = { &s->term, &s->intr, &s->hup };
	int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	s->loop = loop;
	s->reload = reload;
	s->arg = arg;
	for (size_t i = 0; i < ILA_ARRAY_SIZE(ws); i++) {
		ev_signal_init(ws[i], signal_cb, sigs[i]);
		ws[i]->data = s;
		ev_signal_start(loop, ws[i]);
	}
}
