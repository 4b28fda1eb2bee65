/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemons' control socket: a unix stream socket speaking FRR's vty
 * framing. A client writes a command and a NUL; the daemon answers with the
 * output and the four bytes 00 00 00 STATUS. A connection may carry many
 * commands. Commands are matched by lib/cli.c.
 *
 * Two sockets serve the same commands: the control socket (mode 0660, for
 * its owner and group) runs all of them and logs every state-changing one
 * with the peer's uid, gid and pid; the read-only socket (mode 0666, for
 * anyone) runs "help", "show ..." and "monitor" only and refuses the others
 * (ila_cli_is_readonly()) with a "% ..." line, status 1, counted.
 */
#ifndef ILA_CONTROL_H
#define ILA_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"

struct ev_loop;
struct ila_ctl_server;

#define ILA_CTL_MAX_CMD 4096	   /* bytes of one command, NUL excluded */
#define ILA_CTL_MAX_CLIENTS 64
#define ILA_CTL_MAX_PENDING (16u << 20) /* unsent output per client */

struct ila_ctl_stats {
	uint64_t commands;
	uint64_t errors;     /* unknown, ambiguous or incomplete commands */
	uint64_t oversized;  /* commands over ILA_CTL_MAX_CMD: client dropped */
	uint64_t refused;    /* connections over ILA_CTL_MAX_CLIENTS */
	uint64_t monitor_dropped; /* events a slow monitor client missed */
	uint64_t readonly_refused; /* state-changing commands on the read-only socket */
};

struct ila_ctl_config {
	const char *path;	   /* the control socket */
	const char *readonly_path; /* the read-only socket; NULL or "": none */
	uid_t owner;		   /* of both socket files; (uid_t)-1: the daemon's */
	gid_t group;		   /* of both socket files; (gid_t)-1: the daemon's */
};

/*
 * Creates the sockets of cfg (a stale socket file left by a dead daemon is
 * replaced, a live one is an error), gives them to cfg's owner and group
 * and serves cmds with ctx. Returns 0 or -errno with err set.
 */
int ila_ctl_server_open(struct ila_ctl_server **out, struct ev_loop *loop,
			const struct ila_ctl_config *cfg, const struct ila_cli_cmd *cmds,
			size_t ncmds, void *ctx, char *err, size_t errlen);
/* Closes every client and removes the socket file. */
void ila_ctl_server_close(struct ila_ctl_server *s);
const struct ila_ctl_stats *ila_ctl_server_stats(const struct ila_ctl_server *s);

/*
 * Live events ("monitor" / "monitor json" on the control socket, which
 * then streams one line per event). ila_ctl_monitoring() tells whether
 * anyone listens, so callers build events only then; ila_ctl_event() takes
 * ownership of fields (an object of strings and numbers) and sends it to
 * every monitor as "TIME EVENT key=value ..." or a JSON line.
 */
struct json_object;
struct ila_conf;

/* Writes j (pretty) to out, releases it, returns ILA_CLI_SUCCESS. */
int ila_ctl_print_json(struct ila_buf *out, struct json_object *j);
/* The same for {"key": list}, the shape of every show listing. */
int ila_ctl_print_list(struct ila_buf *out, const char *key, struct json_object *list);
/* "show running-config [json]" of either daemon. */
int ila_ctl_running_config(const struct ila_conf *c, bool json, struct ila_buf *out);

/*
 * A command that answers later (attach waits for the mapper's ACK): its
 * handler calls ila_ctl_defer() for a ticket and returns ILA_CLI_DEFERRED.
 * The connection runs no further command of its client until
 * ila_ctl_answer(ticket, status, text) sends the text and the status
 * trailer. Tickets are never reused; answering a ticket whose client went
 * away does nothing. ila_ctl_defer() outside a command handler returns 0.
 */
uint64_t ila_ctl_defer(struct ila_ctl_server *s);
void ila_ctl_answer(struct ila_ctl_server *s, uint64_t ticket, int status, const char *text);

bool ila_ctl_monitoring(const struct ila_ctl_server *s);
void ila_ctl_event(struct ila_ctl_server *s, const char *event, struct json_object *fields);

#endif
