/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Command-line handling, start-up and least privilege shared by ilad and ila-mapper. */
#ifndef ILA_DAEMON_H
#define ILA_DAEMON_H

#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

#include "conf.h"

struct ila_daemon_info {
	const char *name;	  /* program name, "ilad" */
	const char *summary;	  /* one line: what it is */
	const char *default_conf; /* ILA_SYSCONFDIR "/ilad.conf" */
	enum ila_conf_kind kind;
};

struct ila_daemon_opts {
	const char *conf_path;
	bool check_only;  /* -n: check the config and exit */
	bool verbose;	  /* -v: with -n, print the config as it was understood */
	bool foreground;  /* -d: stay in the foreground, log to stderr */
	bool debug;	  /* -D: log level debug */
	bool flush_on_exit;
};

/*
 * Parses argv. Handles --help and --version itself (prints and exits 0) and
 * exits 2 with a usage message on a bad option.
 */
void ila_daemon_parse_args(const struct ila_daemon_info *info, int argc, char **argv,
			   struct ila_daemon_opts *opts);

/*
 * Loads the config named by opts into conf (initialised here). With -n
 * prints "configuration OK" (and with -v the config itself) and exits: 0 when
 * valid, 1 otherwise. Returns 0 when loaded, or exits 1 with file:line: what.
 */
void ila_daemon_load_conf(const struct ila_daemon_info *info, const struct ila_daemon_opts *opts,
			  struct ila_conf *conf);

/*
 * Tells systemd (Type=notify) that the daemon is ready, when started by it
 * ($NOTIFY_SOCKET set). Returns 0, or -errno; a no-op elsewhere.
 */
int ila_daemon_notify(const char *state);

/* Logs the warnings the parser attached to a config. */
void ila_daemon_log_warnings(const struct ila_conf *c);
/* Creates the folder of a socket, pid file or store when it is missing. */
void ila_daemon_make_parent(const char *path);
/* Writes the pid; 0 or -errno. */
int ila_daemon_write_pidfile(const char *path);

/*
 * Least privilege. An account to run as: looked up once at start-up, while
 * the daemon may still read /etc/passwd and /etc/group.
 */
struct ila_daemon_account {
	bool set;	/* false: keep the uid/gid the daemon was started with */
	char name[64];
	uid_t uid;
	gid_t gid;	/* the user's primary group */
};

/* Looks user up ("" gives set = false); 0, or -ENOENT / -errno with err set. */
int ila_daemon_lookup_user(const char *user, struct ila_daemon_account *acct, char *err,
			   size_t errlen);
/* The gid of a group name; 0, or -ENOENT / -errno with err set. */
int ila_daemon_lookup_group(const char *group, gid_t *gid, char *err, size_t errlen);
/* The group owning path, or its folder when path does not exist (yet); 0 or -errno. */
int ila_daemon_path_group(const char *path, gid_t *gid);
/*
 * Gives a folder and the files directly in it to uid:gid (the mapper's
 * store, before it drops root). A no-op when not root. 0 or -errno.
 */
int ila_daemon_give_folder(const char *path, uid_t uid, gid_t gid);

/*
 * Drops what the daemon does not need once it has opened its sockets and
 * files: switches to acct (when set; needs root) with the user's groups
 * plus extra_gid (when has_extra_gid), keeps exactly the capabilities in
 * keep (effective and permitted; every other one, the bounding set's
 * included, is dropped), and sets no_new_privs. Then checks that it
 * worked: no capability outside keep, and setuid(0) refused. 0, or
 * -errno with err set (the caller stops: it never runs half-dropped).
 */
int ila_daemon_drop_privileges(const struct ila_daemon_account *acct, const int *keep,
			       size_t nkeep, const gid_t *extra_gid, char *err, size_t errlen);

/*
 * The owner and group of the control sockets: the user's when c names one,
 * the group control-group's when it names one; (uid_t)-1 / (gid_t)-1 leave
 * the daemon's. 0, or -errno with err set (an unknown group).
 */
int ila_daemon_control_owner(const struct ila_conf *c, const struct ila_daemon_account *acct,
			     uid_t *owner, gid_t *group, char *err, size_t errlen);
/* Logs the uid, gid and effective capabilities the daemon runs with. */
void ila_daemon_log_privileges(void);

/*
 * SIGTERM and SIGINT end the loop; SIGHUP calls reload(arg). The struct
 * must live as long as the loop.
 */
struct ev_loop;
struct ila_daemon_signals {
	ev_signal term, intr, hup;
	struct ev_loop *loop;
	void (*reload)(void *arg);
	void *arg;
};
void ila_daemon_watch_signals(struct ila_daemon_signals *s, struct ev_loop *loop,
			      void (*reload)(void *arg), void *arg);

#endif
