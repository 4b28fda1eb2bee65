/* Command-line handling shared by ilad and ila-mapper. */
#ifndef ILA_DAEMON_H
#define ILA_DAEMON_H

#include <stdbool.h>

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

#endif
