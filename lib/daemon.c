/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
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

/* ---- least privilege ---- */

int ila_daemon_lookup_user(const char *user, struct ila_daemon_account *acct, char *err,
			   size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	memset(acct, 0, sizeof(*acct));
	if (!user || !*user)
		return 0;
	rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (!res) {
		snprintf(err, errlen, "user %s: %s", user, rc ? strerror(rc) : "no such user");
		return rc ? -rc : -ENOENT;
	}
	acct->set = true;
	snprintf(acct->name, sizeof(acct->name), "%s", user);
	acct->uid = pw.pw_uid;
	acct->gid = pw.pw_gid;
	return 0;
}

int ila_daemon_lookup_group(const char *group, gid_t *gid, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int rc = getgrnam_r(group, &gr, buf, sizeof(buf), &res);

	if (!res) {
		snprintf(err, errlen, "group %s: %s", group, rc ? strerror(rc) : "no such group");
		return rc ? -rc : -ENOENT;
	}
	*gid = gr.gr_gid;
	return 0;
}

int ila_daemon_path_group(const char *path, gid_t *gid)
{
	char dir[ILA_CONF_PATH_MAX];
	struct stat st;
	char *slash;

	if (stat(path, &st) == 0) {
		*gid = st.st_gid;
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return -ENOENT;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) < 0)
		return -errno;
	*gid = st.st_gid;
	return 0;
}

int ila_daemon_give_folder(const char *path, uid_t uid, gid_t gid)
{
	DIR *dir;
	struct dirent *e;
	int rc = 0;

	if (geteuid() != 0)
		return 0;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		if (strcmp(e->d_name, "..") == 0)
			continue;
		/* never follows a link someone put there */
		if (fchownat(dirfd(dir), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && !rc)
			rc = -errno;
	}
	closedir(dir);
	return rc;
}

static bool kept(int cap, const int *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

/* Whether the process holds (effective or permitted) no capability outside keep. */
static bool holds_only(const int *keep, size_t nkeep)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process() < 0)
		return false;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (kept(cap, keep, nkeep))
			continue;
		if (capng_have_capability(CAPNG_EFFECTIVE, (unsigned)cap) ||
		    capng_have_capability(CAPNG_PERMITTED, (unsigned)cap))
			return false;
	}
	return true;
}

/* The user's groups and the extra one, while still root. */
static int set_groups(const struct ila_daemon_account *acct, const gid_t *extra_gid, char *err,
		      size_t errlen)
{
	gid_t groups[256];
	int n = (int)ILA_ARRAY_SIZE(groups) - 1;

	if (getgrouplist(acct->name, acct->gid, groups, &n) < 0) {
		snprintf(err, errlen, "user %s: more than %zu groups", acct->name,
			 ILA_ARRAY_SIZE(groups) - 1);
		return -E2BIG;
	}
	if (extra_gid)
		groups[n++] = *extra_gid;
	if (setgroups((size_t)n, groups) < 0) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int ila_daemon_drop_privileges(const struct ila_daemon_account *acct, const int *keep,
			       size_t nkeep, const gid_t *extra_gid, char *err, size_t errlen)
{
	bool root = geteuid() == 0;
	int rc;

	if (acct->set && !root && getuid() != acct->uid) {
		snprintf(err, errlen, "user %s: started as uid %u, not root: cannot switch",
			 acct->name, (unsigned)getuid());
		return -EPERM;
	}
	if (!root && holds_only(keep, nkeep)) {
		/* started with no more than it keeps (systemd's User= and
		 * AmbientCapabilities=): no capset, which a seccomp filter may forbid */
		goto no_new_privs;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	for (size_t i = 0; i < nkeep; i++)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			     (unsigned)keep[i]);
	if (acct->set && root) {
		if ((rc = set_groups(acct, extra_gid, err, errlen)) < 0)
			return rc;
		/* keeps the selected capabilities across the change of uid */
		rc = capng_change_id((int)acct->uid, (int)acct->gid, CAPNG_CLEAR_BOUNDING);
		if (rc < 0) {
			snprintf(err, errlen, "switching to user %s: capng_change_id %d", acct->name,
				 rc);
			return -EPERM;
		}
	} else {
		/* root's own groups are left alone (a user namespace forbids setgroups) */
		if (root && extra_gid && setgroups(1, extra_gid) < 0) {
			snprintf(err, errlen, "setgroups: %s", strerror(errno));
			return -errno;
		}
		/* the bounding set needs CAP_SETPCAP; a daemon started without it
		 * (systemd's CapabilityBoundingSet=) has no more than that set anyway */
		capng_select_t what = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) ||
						      root
					      ? CAPNG_SELECT_BOTH
					      : CAPNG_SELECT_CAPS;
		if (capng_apply(what) < 0) {
			snprintf(err, errlen, "dropping capabilities: capng_apply failed");
			return -EPERM;
		}
	}
no_new_privs:
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	/* check, rather than trust: nothing beyond keep, and no way back to root */
	if (!holds_only(keep, nkeep)) {
		snprintf(err, errlen, "a capability beyond those kept is still held");
		return -EPERM;
	}
	if (acct->set && acct->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "user %s: could regain root after dropping it", acct->name);
		return -EPERM;
	}
	return 0;
}

int ila_daemon_control_owner(const struct ila_conf *c, const struct ila_daemon_account *acct,
			     uid_t *owner, gid_t *group, char *err, size_t errlen)
{
	*owner = acct->set ? acct->uid : (uid_t)-1;
	*group = acct->set ? acct->gid : (gid_t)-1;
	if (c->control_group[0] &&
	    ila_daemon_lookup_group(c->control_group, group, err, errlen) < 0)
		return -ENOENT;
	/* what the sockets get anyway: no chown, which a seccomp filter may forbid */
	if (*owner == geteuid())
		*owner = (uid_t)-1;
	if (*group == getegid())
		*group = (gid_t)-1;
	return 0;
}

void ila_daemon_log_privileges(void)
{
	char *caps;

	capng_clear(CAPNG_SELECT_BOTH);
	capng_get_caps_process();
	caps = capng_print_caps_text(CAPNG_PRINT_BUFFER, CAPNG_EFFECTIVE);
	log_info("running as uid %u gid %u, capabilities: %s", (unsigned)getuid(),
		 (unsigned)getgid(), caps && *caps ? caps : "none");
	free(caps);
}
