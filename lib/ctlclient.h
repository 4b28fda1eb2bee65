/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client side of the daemons' control socket (lib/control.h): connect,
 * send a command with its NUL, read the answer up to the 00 00 00 STATUS
 * trailer. Used by ilactl and ila-libvirt-hook.
 */
#ifndef ILA_CTLCLIENT_H
#define ILA_CTLCLIENT_H

#include <stddef.h>
#include <stdio.h>

/* Connects to the unix stream socket path. Returns the fd or -errno. */
int ila_ctl_connect(const char *path);

/* Writes all n bytes of p. Returns 0 or -errno. */
int ila_ctl_write_all(int fd, const char *p, size_t n);

/*
 * Copies the answer to out, holding back the last 4 bytes until the end
 * marker is seen. Returns the status byte, or -errno / -ETIMEDOUT / -EPROTO.
 */
int ila_ctl_read_answer(int fd, int timeout_ms, FILE *out);

#endif
