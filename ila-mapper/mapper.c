/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ila-mapper: the mapping directory. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "mapper.h"

static const struct ila_daemon_info mapper_info = {
	.name = MAPPER_NAME,
	.summary = "ILA mapping directory: durable, authenticated, pushes changes to nodes",
	.default_conf = ILA_SYSCONFDIR "/ila-mapper.conf",
	.kind = ILA_CONF_MAPPER,
};

/* The parts of a config that a running mapper cannot change. */
static bool needs_restart(const struct ila_conf *a, const struct ila_conf *b)
{
	return a->n_listen != b->n_listen ||
	       memcmp(a->listen, b->listen, sizeof(a->listen[0]) * a->n_listen) != 0 ||
	       strcmp(a->store, b->store) != 0 || strcmp(a->control, b->control) != 0 ||
	       a->tls != b->tls || a->plaintext != b->plaintext ||
	       strcmp(a->tls_certificate, b->tls_certificate) != 0 ||
	       strcmp(a->tls_key, b->tls_key) != 0 || strcmp(a->tls_ca, b->tls_ca) != 0 ||
	       a->metrics != b->metrics ||
	       (a->metrics && memcmp(&a->metrics_listen, &b->metrics_listen,
				     sizeof(a->metrics_listen)) != 0);
}

static void reload(void *arg)
{
	struct mapper *m = arg;
	struct ila_conf *nc = malloc(sizeof(*nc)), *old = m->conf;
	char err[512];

	if (!nc) {
		log_err("reload: out of memory");
		return;
	}
	ila_conf_init(nc, ILA_CONF_MAPPER);
	if (ila_conf_parse_file(nc, m->opts.conf_path, err, sizeof(err)) < 0) {
		log_err("reload refused, configuration unchanged: %s", err);
		free(nc);
		return;
	}
	if (needs_restart(old, nc))
		log_warn("reload: listen, store, control, tls and metrics changes take effect at "
			 "restart");
	/* keep what cannot change live, take everything else */
	nc->n_listen = old->n_listen;
	memcpy(nc->listen, old->listen, sizeof(nc->listen));
	memcpy(nc->store, old->store, sizeof(nc->store));
	memcpy(nc->control, old->control, sizeof(nc->control));
	nc->metrics = old->metrics;
	nc->metrics_listen = old->metrics_listen;
	/* the user and the sockets' permissions are set once, at start-up */
	memcpy(nc->user, old->user, sizeof(nc->user));
	memcpy(nc->control_group, old->control_group, sizeof(nc->control_group));
	memcpy(nc->control_readonly, old->control_readonly, sizeof(nc->control_readonly));
	directory_commit(m); /* pending operations refer to the old node table */
	mapper_events_run(m);
	m->conf = nc;
	ev_timer_set(&m->commit_delay_w, nc->commit_delay_ms / 1000.0, 0.);
	push_flush(m);
	ev_timer_set(&m->push_delay_w, nc->push_delay_ms / 1000.0, 0.);
	sessions_reconfigure(m, old);
	watch_reconfigure(m, old);
	ila_daemon_log_warnings(nc);
	ila_log_set_level(m->opts.debug ? ILA_LOG_DEBUG : nc->log_level);
	log_notice("configuration reloaded from %s", m->opts.conf_path);
	ila_conf_free(old);
	free(old);
}

int main(int argc, char **argv)
{
	struct mapper m = { 0 };
	struct ila_daemon_account acct;
	uid_t ctl_owner;
	gid_t ctl_group;
	char err[512];
	int rc;

	ila_daemon_parse_args(&mapper_info, argc, argv, &m.opts);
	m.conf = malloc(sizeof(*m.conf));
	if (!m.conf) {
		fprintf(stderr, "%s: out of memory\n", MAPPER_NAME);
		return 1;
	}
	/* every refusal that depends on the file alone is the parser's, so -n sees it */
	ila_daemon_load_conf(&mapper_info, &m.opts, m.conf);
	if (!m.opts.foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "%s: daemon: %s\n", MAPPER_NAME, strerror(errno));
		return 1;
	}
	ila_log_init(MAPPER_NAME, m.opts.foreground ? ILA_LOG_TO_STDERR : ILA_LOG_TO_SYSLOG,
		     m.opts.debug ? ILA_LOG_DEBUG : m.conf->log_level);
	ila_daemon_log_warnings(m.conf);
	signal(SIGPIPE, SIG_IGN);
	if (ila_daemon_lookup_user(m.conf->user, &acct, err, sizeof(err)) < 0 ||
	    ila_daemon_control_owner(m.conf, &acct, &ctl_owner, &ctl_group, err, sizeof(err)) < 0)
		ila_fatal("%s", err);
	m.started = mapper_now_ms();
	m.dispatch = mapper_run_event;
	m.loop = ev_default_loop(EVFLAG_AUTO);
	if (!m.loop)
		ila_fatal("cannot create the event loop");

	m.use_tls = !m.conf->plaintext;
	if (m.use_tls && ila_tls_ctx_init(&m.tls, true, m.conf->tls_certificate, m.conf->tls_key,
					  m.conf->tls_ca, err, sizeof(err)) < 0)
		ila_fatal("tls: %s", err);
	if (!m.use_tls)
		log_warn("plaintext sessions: nodes are not authenticated (loopback tests only)");
	ila_daemon_make_parent(m.conf->store);
	if ((rc = store_open(&m.store, m.conf->store, m.conf->store_map_size_mb, err, sizeof(err))) < 0)
		ila_fatal("%s", err);
	if (m.conf->store_etcd && (rc = store_nosync(&m.store)) < 0)
		ila_fatal("store %s: %s", m.conf->store, strerror(-rc));
	if (m.conf->store_etcd)
		log_info("store etcd %s, local copy in %s", m.conf->etcd_prefix, m.conf->store);
	else
		log_info("store %s: journal at position %llu", m.conf->store,
			 (unsigned long long)m.store.committed_jseq);
	/* the store stays the user's, so that the next start may open it as that user */
	if (acct.set && (rc = ila_daemon_give_folder(m.conf->store, acct.uid, acct.gid)) < 0)
		ila_fatal("store %s: giving it to user %s: %s", m.conf->store, acct.name,
			  strerror(-rc));
	ila_daemon_make_parent(m.conf->control);
	if (show_open(&m, ctl_owner, ctl_group, err, sizeof(err)) < 0)
		ila_fatal("%s", err);
	if (sessions_listen(&m, err, sizeof(err)) < 0)
		ila_fatal("%s", err);
	if (metrics_open(&m, err, sizeof(err)) < 0)
		ila_fatal("%s", err);
	if (push_init(&m) < 0)
		ila_fatal("out of memory");
	directory_init(&m);
	watch_init(&m);
	if (m.conf->store_etcd && estore_start(&m, err, sizeof(err)) < 0)
		ila_fatal("etcd: %s", err);
	ila_daemon_make_parent(m.conf->pidfile);
	if ((rc = ila_daemon_write_pidfile(m.conf->pidfile)) < 0)
		log_warn("pid file %s: %s", m.conf->pidfile, strerror(-rc));
	/* everything that needed root is open: the mapper keeps no capability */
	if (ila_daemon_drop_privileges(&acct, NULL, 0, NULL, err, sizeof(err)) < 0)
		ila_fatal("least privilege: %s", err);
	if (!acct.set && getuid() == 0)
		log_warn("running as root: set 'user' in %s to run unprivileged", m.opts.conf_path);
	ila_daemon_log_privileges();
	ila_daemon_watch_signals(&m.signals, m.loop, reload, &m);
	ila_daemon_notify("READY=1");
	log_notice("%s %s started", MAPPER_NAME, PACKAGE_VERSION);

	ev_run(m.loop, 0);
	ila_daemon_notify("STOPPING=1");

	watch_stop(&m);
	directory_stop(&m);
	estore_stop(&m); /* writes still out end as failed: their requests get ERROR */
	mapper_events_run(&m);
	push_flush(&m);
	push_free(&m);
	sessions_stop(&m);
	mapper_events_free(&m);
	metrics_close(&m);
	show_close(&m);
	store_close(&m.store);
	if (m.use_tls)
		ila_tls_ctx_free(&m.tls);
	unlink(m.conf->pidfile);
	log_notice("stopped");
	ila_conf_free(m.conf);
	free(m.conf);
	ev_loop_destroy(m.loop);
	return 0;
}
