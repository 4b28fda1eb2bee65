/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The client side of the control socket; see ctlclient.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlclient.h"

int ila_ctl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int ila_ctl_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Copies the answer to out, holding back the last 4 bytes until the end
 * marker is seen. Returns the status byte, or -errno / -ETIMEDOUT / -EPROTO.
 */
int ila_ctl_read_answer(int fd, int timeout_ms, FILE *out)
{
	char buf[8192];
	char tail[4];
	size_t ntail = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = poll(&pfd, 1, timeout_ms);

		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			return -ETIMEDOUT;
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EPROTO; /* closed before the end marker */
		for (ssize_t i = 0; i < r; i++) {
			if (ntail == sizeof(tail)) {
				fputc(tail[0], out);
				memmove(tail, tail + 1, sizeof(tail) - 1);
				ntail--;
			}
			tail[ntail++] = buf[i];
			if (ntail == sizeof(tail) && !tail[0] && !tail[1] && !tail[2])
				return (unsigned char)tail[3];
		}
	}
}
