/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilactl: the command-line client of ilad and ila-mapper.
 *
 * It speaks FRR's vty framing on the daemon's control socket: the command
 * text and a NUL go in; the output comes back followed by the four bytes
 * 00 00 00 RET, where RET is the command's status (0 success).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlclient.h"

#define ILAD_SOCK ILA_RUNDIR "/ilad.sock"
#define MAPPER_SOCK ILA_RUNDIR "/ila-mapper.sock"
#define CMD_MAX 4096

enum ctl_status {
	CTL_SUCCESS = 0,
	CTL_WARNING = 1,
	CTL_ERR_NO_MATCH = 2,
	CTL_ERR_AMBIGUOUS = 3,
	CTL_ERR_INCOMPLETE = 4,
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ilactl [-Mj] [-s SOCKET] [-t SECONDS] [-c COUNT] COMMAND [ARG...]\n"
		"Command-line client of ilad (default) and ila-mapper (-M).\n\n"
		"  -M, --mapper        talk to ila-mapper (socket %s)\n"
		"  -s, --socket PATH   control socket (default %s)\n"
		"  -j, --json          JSON output\n"
		"  -t, --timeout SEC   give up after SEC seconds without an answer (default 5;\n"
		"                      with monitor: stop after SEC seconds without an event)\n"
		"  -c, --count N       with monitor: stop after N events\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n\n"
		"Commands are the daemon's; see ilactl(8). Examples:\n"
		"  ilactl show mappings\n"
		"  ilactl -M -j show nodes\n"
		"  ilactl monitor\n",
		MAPPER_SOCK, ILAD_SOCK);
}

static int build_command(char *buf, size_t cap, int argc, char **argv, bool json)
{
	size_t len = 0;

	for (int i = 0; i < argc; i++) {
		int n = snprintf(buf + len, cap - len, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= cap - len)
			return -E2BIG;
		len += (size_t)n;
	}
	if (json) {
		int n = snprintf(buf + len, cap - len, " json");

		if (n < 0 || (size_t)n >= cap - len)
			return -E2BIG;
		len += (size_t)n;
	}
	return (int)len;
}

/*
 * "monitor": the daemon streams one line per event and never ends the
 * answer. Prints lines until the daemon closes, count lines were printed
 * (count > 0), or nothing came for timeout_ms (timeout_ms > 0).
 */
static int read_stream(int fd, int timeout_ms, long count)
{
	char buf[8192];
	long lines = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1);

		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			return 0;
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		for (ssize_t i = 0; i < r; i++) {
			fputc(buf[i], stdout);
			if (buf[i] == '\n') {
				fflush(stdout);
				if (count > 0 && ++lines >= count)
					return 0;
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mapper", no_argument, NULL, 'M' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	bool mapper = false, json = false;
	long timeout_s = 5, count = 0;
	bool timeout_given = false;
	char cmd[CMD_MAX];
	int c, fd, len, rc;

	while ((c = getopt_long(argc, argv, "+Ms:jt:c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'M':
			mapper = true;
			break;
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't': {
			char *end;

			errno = 0;
			timeout_s = strtol(optarg, &end, 10);
			if (errno || *end || timeout_s < 1 || timeout_s > 3600) {
				fprintf(stderr, "ilactl: bad timeout '%s' (1-3600 seconds)\n", optarg);
				return 2;
			}
			timeout_given = true;
			break;
		}
		case 'c': {
			char *end;

			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || *end || count < 1) {
				fprintf(stderr, "ilactl: bad count '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ilactl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!sock)
		sock = mapper ? MAPPER_SOCK : ILAD_SOCK;
	len = build_command(cmd, sizeof(cmd), argc - optind, argv + optind, json);
	if (len < 0) {
		fprintf(stderr, "ilactl: command longer than %d bytes\n", CMD_MAX - 1);
		return 2;
	}
	fd = ila_ctl_connect(sock);
	if (fd == -EACCES || fd == -EPERM) {
		/* not in the socket's group: the daemon's read-only socket next to
		 * it serves show, monitor and help to anyone */
		static char ro[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
		size_t n = strlen(sock);

		if (n > 5 && strcmp(sock + n - 5, ".sock") == 0)
			snprintf(ro, sizeof(ro), "%.*s.ro.sock", (int)(n - 5), sock);
		else
			snprintf(ro, sizeof(ro), "%s.ro", sock);
		int rofd = ila_ctl_connect(ro);

		if (rofd >= 0) {
			fd = rofd;
			sock = ro;
		}
	}
	if (fd < 0) {
		fprintf(stderr, "ilactl: cannot connect to %s: %s (is %s running?)\n", sock,
			strerror(-fd), mapper ? "ila-mapper" : "ilad");
		return 1;
	}
	rc = ila_ctl_write_all(fd, cmd, (size_t)len + 1); /* with the NUL */
	if (rc == 0 && strcmp(argv[optind], "monitor") == 0) {
		rc = read_stream(fd, timeout_given ? (int)timeout_s * 1000 : 0, count);
		close(fd);
		if (rc < 0) {
			fprintf(stderr, "ilactl: %s: %s\n", sock, strerror(-rc));
			return 1;
		}
		return 0;
	}
	if (rc == 0)
		rc = ila_ctl_read_answer(fd, (int)timeout_s * 1000, stdout);
	close(fd);
	fflush(stdout);
	if (rc < 0) {
		fprintf(stderr, "ilactl: %s: %s\n", sock,
			rc == -ETIMEDOUT ? "no answer in time" :
			rc == -EPROTO ? "connection closed before the end of the answer" :
			strerror(-rc));
		return 1;
	}
	switch (rc) {
	case CTL_SUCCESS:
		return 0;
	case CTL_ERR_NO_MATCH:
		fprintf(stderr, "ilactl: unknown command: %s\n", cmd);
		return 1;
	case CTL_ERR_AMBIGUOUS:
		fprintf(stderr, "ilactl: ambiguous command: %s\n", cmd);
		return 1;
	case CTL_ERR_INCOMPLETE:
		fprintf(stderr, "ilactl: incomplete command: %s\n", cmd);
		return 1;
	default:
		return 1;
	}
}
