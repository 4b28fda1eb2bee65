/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ilad: the node daemon. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/capability.h>

#include "clock.h"
#include "log.h"
#include "ilad.h"

static const struct ila_daemon_info ilad_info = {
	.name = ILAD_NAME,
	.summary = "ILA node daemon: kernel ILA routes, local workloads, mapping cache",
	.default_conf = ILA_SYSCONFDIR "/ilad.conf",
	.kind = ILA_CONF_NODE,
};

static void reload(void *arg)
{
	struct ilad *d = arg;
	struct ila_conf *nc = malloc(sizeof(*nc));
	char err[512];

	if (!nc)
		return;
	ila_conf_init(nc, ILA_CONF_NODE);
	if (ila_conf_parse_file(nc, d->opts.conf_path, err, sizeof(err)) < 0) {
		log_err("reload refused, configuration unchanged: %s", err);
		free(nc);
		return;
	}
	/* the identity, data path and vns of a node change with a restart only */
	if (strcmp(nc->node_name, d->conf->node_name) || nc->mode != d->conf->mode ||
	    nc->n_locators != d->conf->n_locators ||
	    memcmp(nc->locators, d->conf->locators, sizeof(nc->locators)) ||
	    nc->n_vns != d->conf->n_vns || nc->route_protocol != d->conf->route_protocol ||
	    nc->csum_mode != d->conf->csum_mode || nc->dataplane != d->conf->dataplane) {
		log_warn("reload: node-name, mode, dataplane, locators, vns, route-protocol and "
			 "csum-mode change at restart; taking the other settings");
		nc->mode = d->conf->mode;
		nc->dataplane = d->conf->dataplane;
		memcpy(nc->node_name, d->conf->node_name, sizeof(nc->node_name));
		nc->n_locators = d->conf->n_locators;
		memcpy(nc->locators, d->conf->locators, sizeof(nc->locators));
		nc->n_vns = d->conf->n_vns;
		memcpy(nc->vns, d->conf->vns, sizeof(nc->vns));
		nc->route_protocol = d->conf->route_protocol;
		nc->csum_mode = d->conf->csum_mode;
	}
	/* the gateways on the interfaces change at restart too (man ilad.conf.5) */
	for (unsigned i = 0; i < nc->n_vns; i++) {
		struct ila_conf_vn *nv = &nc->vns[i];
		const struct ila_conf_vn *ov = &d->conf->vns[i];

		if (nv->gateway == ov->gateway &&
		    (!nv->gateway || (!memcmp(&nv->gw6, &ov->gw6, sizeof(nv->gw6)) &&
				      nv->gw4.s_addr == ov->gw4.s_addr &&
				      !memcmp(nv->gw_mac, ov->gw_mac, sizeof(nv->gw_mac)))))
			continue;
		log_warn("reload: vn %s gateway changes at restart; keeping the one in use",
			 nv->name);
		nv->gateway = ov->gateway;
		nv->gw6 = ov->gw6;
		nv->gw4 = ov->gw4;
		memcpy(nv->gw_mac, ov->gw_mac, sizeof(nv->gw_mac));
	}
	memcpy(nc->control, d->conf->control, sizeof(nc->control));
	/* the metrics socket is bound before privileges are dropped */
	if (nc->metrics != d->conf->metrics ||
	    (nc->metrics && memcmp(&nc->metrics_listen, &d->conf->metrics_listen,
				   sizeof(nc->metrics_listen))))
		log_warn("reload: metrics changes take effect at restart");
	nc->metrics = d->conf->metrics;
	nc->metrics_listen = d->conf->metrics_listen;
	/* the user and the sockets' permissions are set once, at start-up */
	memcpy(nc->user, d->conf->user, sizeof(nc->user));
	memcpy(nc->control_group, d->conf->control_group, sizeof(nc->control_group));
	memcpy(nc->control_readonly, d->conf->control_readonly, sizeof(nc->control_readonly));
	ila_conf_free(d->conf);
	free(d->conf);
	d->conf = nc;
	ila_daemon_log_warnings(nc);
	ila_log_set_level(d->opts.debug ? ILA_LOG_DEBUG : nc->log_level);
	log_notice("configuration reloaded from %s", d->opts.conf_path);
}

/* mode ila: the kernel's module, or the BPF programs (dataplane). */
static void choose_dataplane(struct ilad *d)
{
	enum ila_conf_dataplane dp = d->conf->dataplane;
	char err[512];

	if (dp == ILA_CONF_DATAPLANE_AUTO && bpfpath_built()) {
		if (kernel_probe_ila(d->kernel, err, sizeof(err)) == 0) {
			dp = ILA_CONF_DATAPLANE_ILA_MODULE;
		} else {
			log_notice("dataplane auto: BPF (%s)", err);
			dp = ILA_CONF_DATAPLANE_BPF;
		}
	} else if (dp == ILA_CONF_DATAPLANE_AUTO) {
		dp = ILA_CONF_DATAPLANE_ILA_MODULE;
		if (kernel_probe_ila(d->kernel, err, sizeof(err)) < 0)
			ila_fatal("%s (this ilad has no BPF data path; or set 'mode control-plane' to "
				  "run without a data path)", err);
	} else if (dp == ILA_CONF_DATAPLANE_ILA_MODULE &&
		   kernel_probe_ila(d->kernel, err, sizeof(err)) < 0) {
		ila_fatal("%s (or set 'mode control-plane' to run without a data path)", err);
	}
	if (dp == ILA_CONF_DATAPLANE_ILA_MODULE && d->conf->cache == ILA_CONF_CACHE_ON_DEMAND)
		ila_fatal("cache on-demand needs dataplane bpf: dataplane %s resolved to the ila "
			  "module, which gives no signal when a packet finds no mapping%s",
			  ila_conf_dataplane_name(d->conf->dataplane),
			  bpfpath_built() ? "" : " (this ilad was built without the BPF data path)");
	if (dp == ILA_CONF_DATAPLANE_ILA_MODULE) {
		d->ila = true;
		return;
	}
	if (bpfpath_open(d, err, sizeof(err)) < 0)
		ila_fatal("%s", err);
}

int main(int argc, char **argv)
{
	struct ilad d = { 0 };
	struct ila_daemon_account acct;
	int keep[2], nkeep = 0;
	uid_t ctl_owner;
	gid_t ctl_group, zebra_gid;
	bool zebra_group;
	char err[512];
	int rc;

	ila_daemon_parse_args(&ilad_info, argc, argv, &d.opts);
	d.conf = malloc(sizeof(*d.conf));
	if (!d.conf) {
		fprintf(stderr, "%s: out of memory\n", ILAD_NAME);
		return 1;
	}
	ila_daemon_load_conf(&ilad_info, &d.opts, d.conf);
	if (!d.opts.foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "%s: daemon: %s\n", ILAD_NAME, strerror(errno));
		return 1;
	}
	ila_log_init(ILAD_NAME, d.opts.foreground ? ILA_LOG_TO_STDERR : ILA_LOG_TO_SYSLOG,
		     d.opts.debug ? ILA_LOG_DEBUG : d.conf->log_level);
	ila_daemon_log_warnings(d.conf);
	signal(SIGPIPE, SIG_IGN);
	if (ila_daemon_lookup_user(d.conf->user, &acct, err, sizeof(err)) < 0 ||
	    ila_daemon_control_owner(d.conf, &acct, &ctl_owner, &ctl_group, err, sizeof(err)) < 0)
		ila_fatal("%s", err);
	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (!d.loop)
		ila_fatal("cannot create the event loop");
	d.use_tls = !d.conf->plaintext;
	if (d.use_tls && ila_tls_ctx_init(&d.tls, false, d.conf->tls_certificate, d.conf->tls_key,
					  d.conf->tls_ca, err, sizeof(err)) < 0)
		ila_fatal("tls: %s", err);
	for (unsigned i = 0; d.use_tls && i < d.conf->n_mappers; i++) {
		char a[INET6_ADDRSTRLEN];

		if (d.conf->mapper_identity[i][0])
			continue;
		inet_ntop(d.conf->mappers[i].family, &d.conf->mappers[i].addr, a, sizeof(a));
		log_warn("mapper %s port %u: no identity configured: its certificate's name is not "
			 "checked, only that the CA signed it for a mapper (extended key usage "
			 "serverAuth)", a, d.conf->mappers[i].port);
	}
	if ((rc = cache_init(&d, err, sizeof(err))) < 0)
		ila_fatal("%s", err);
	if ((rc = ondemand_init(&d, err, sizeof(err))) < 0)
		ila_fatal("%s", err);
	ilad_events_init(&d, ilad_run_event);
	if (d.conf->mode != ILA_CONF_MODE_CONTROL_PLANE) {
		if (kernel_open(&d.kernel, d.conf->route_protocol, err, sizeof(err)) < 0)
			ila_fatal("netlink: %s", err);
		if (d.conf->mode == ILA_CONF_MODE_ILA)
			choose_dataplane(&d);
		if (d.ila || d.conf->mode == ILA_CONF_MODE_HOST_ROUTE) {
			/* SRv6 toward other nodes (man ilad.8, IN-FLIGHT
			 * FORWARDING): without the SRH where the kernel can */
			rc = kernel_probe_seg6_red(d.kernel);
			d.seg6_reduced = rc == 1;
			if (rc < 0)
				log_warn("SRv6 encap.red probe: %s: using encap", strerror(-rc));
			else
				log_info("SRv6 toward other nodes: encap%s", rc ? ".red" : "");
		}
		if ((rc = cache_load_kernel(&d)) < 0)
			ila_fatal("reading the kernel's routes: %s", strerror(-rc));
		ilad_events_run(&d); /* the workloads found are adopted */
		if (cache_install_xlat(&d, err, sizeof(err)) < 0)
			ila_fatal("%s", err);
	}
	if (local_init(&d, err, sizeof(err)) < 0)
		ila_fatal("neighbour events: %s", err);
	if (gateway_init(&d, err, sizeof(err)) < 0)
		ila_fatal("gateway: %s", err);
	if (zebra_init(&d, err, sizeof(err)) < 0)
		ila_fatal("zebra: %s", err);
	ila_daemon_make_parent(d.conf->control);
	if (show_open(&d, ctl_owner, ctl_group, err, sizeof(err)) < 0)
		ila_fatal("%s", err);
	if (metrics_open(&d, err, sizeof(err)) < 0)
		ila_fatal("%s", err);
	ila_daemon_make_parent(d.conf->pidfile);
	if ((rc = ila_daemon_write_pidfile(d.conf->pidfile)) < 0)
		log_warn("pid file %s: %s", d.conf->pidfile, strerror(-rc));
	/*
	 * Everything that needed root is open. ilad keeps CAP_NET_ADMIN for
	 * netlink (none in mode control-plane, which programs nothing), and
	 * joins the group of zebra's socket (FRR's frr group) so that it may
	 * reconnect to zebra without CAP_DAC_OVERRIDE.
	 */
	zebra_group = d.conf->zebra && ila_daemon_path_group(d.conf->zebra_socket, &zebra_gid) == 0;
	if (d.conf->mode != ILA_CONF_MODE_CONTROL_PLANE)
		keep[nkeep++] = CAP_NET_ADMIN;
	/* with zebra, CAP_DAC_OVERRIDE too: FRR's API socket may be owner-only
	 * (zebra's -z socket is created srwx------ by some packagings), and
	 * ilad reconnects to it whenever zebra restarts */
	if (d.conf->zebra)
		keep[nkeep++] = CAP_DAC_OVERRIDE;
	if (ila_daemon_drop_privileges(&acct, keep, nkeep,
				       zebra_group ? &zebra_gid : NULL, err, sizeof(err)) < 0)
		ila_fatal("least privilege: %s", err);
	ila_daemon_log_privileges();
	ila_daemon_watch_signals(&d.signals, d.loop, reload, &d);
	mc_init(&d);
	ila_daemon_notify("READY=1");
	log_notice("%s %s started: node %s, mode %s%s", ILAD_NAME, PACKAGE_VERSION,
		   d.conf->node_name, ila_conf_mode_name(d.conf->mode),
		   d.bpf ? ", dataplane bpf" : d.ila ? ", dataplane ila-module" : "");

	ev_run(d.loop, 0);
	ila_daemon_notify("STOPPING=1");

	mc_stop(&d, true);
	if (d.opts.flush_on_exit) {
		log_notice("--flush-on-exit: removing routes and translation entries");
		cache_flush_all(&d);
	}
	/* the BPF data path follows the same rule: its prefix routes and tc
	 * filters stay (holding the programs and maps) unless --flush-on-exit */
	bpfpath_close(&d, d.opts.flush_on_exit);
	zebra_stop(&d, d.opts.flush_on_exit);
	local_free(&d);
	gateway_free(&d);
	ilad_events_free(&d);
	metrics_close(&d);
	show_close(&d);
	ondemand_free(&d);
	cache_free(&d);
	if (d.kernel)
		kernel_close(d.kernel);
	if (d.use_tls)
		ila_tls_ctx_free(&d.tls);
	unlink(d.conf->pidfile);
	log_notice("stopped");
	ila_conf_free(d.conf);
	free(d.conf);
	ev_loop_destroy(d.loop);
	return 0;
}
