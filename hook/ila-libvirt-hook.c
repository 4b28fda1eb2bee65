/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-libvirt-hook: libvirt's qemu hook for ila (ila-libvirt-hook(8)).
 *
 * Installed as $(sysconfdir)/libvirt/hooks/qemu.d/ila, libvirt runs it as
 *   ila DOMAIN OPERATION SUBOP EXTRA
 * with the domain XML on stdin. The workload's addresses come from the
 * domain's <metadata><ila:workload xmlns:ila="urn:ila:libvirt:1"> (see
 * domxml.h); each phase becomes ilad control commands (expect, prepare,
 * attach, detach) on ilad's control socket, all within a bounded time.
 * Nothing is ever written to stdout: for "migrate", libvirt would take it as
 * the domain's replacement XML.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"
#include "ctlclient.h"
#include "domxml.h"
#include "log.h"

#define IDENT "ila-libvirt-hook"
#define ILAD_SOCK ILA_RUNDIR "/ilad.sock"
#define HOOK_CONF ILA_SYSCONFDIR "/libvirt-hook.conf"
#define TIMEOUT_MS_DEFAULT 5000
#define TIMEOUT_MS_MAX 60000
#define CMD_MAX 256

/* exit statuses: libvirt refuses to start (or to accept) the domain on 1 */
#define EXIT_OK 0
#define EXIT_REFUSE 1

struct settings {
	char control[PATH_MAX];
	long timeout_ms;
	bool to_stderr;
};

struct ctl {
	int fd;
	const char *path;
	uint64_t deadline_ms;
	bool broken; /* a command timed out or the connection failed */
};

enum phase {
	PH_NONE,
	PH_MIGRATE,	/* migrate begin: incoming migration, destination */
	PH_PREPARE,	/* prepare begin */
	PH_START,	/* start begin */
	PH_STARTED,	/* started begin: the guest's CPUs run here */
	PH_STOPPED,	/* stopped end */
	PH_RELEASE,	/* release end */
	PH_RECONNECT,	/* reconnect begin, attach begin: libvirtd found it running */
	PH_HANDOVER,	/* handover begin: not one of libvirt's; run on the source
			 * when the domain paused for a migration's last copy
			 * (lifecycle event suspended/migrated, ilad(8)) */
};

static bool log_stderr;

static void log_cb(enum ila_log_level level, const char *msg, void *arg)
{
	(void)arg;
	syslog((int)level, "%s", msg);
	if (log_stderr)
		fprintf(stderr, IDENT ": %s%s%s\n",
			level <= ILA_LOG_WARNING ? ila_log_level_name(level) : "",
			level <= ILA_LOG_WARNING ? ": " : "", msg);
}

/* The hard bound: whatever blocks (a connect to a full backlog, a daemon
 * that trickles), libvirt gets its answer in time. */
static void on_alarm(int sig)
{
	static const char msg[] = IDENT ": time bound reached: giving up, exit 0\n";

	(void)sig;
	if (log_stderr) {
		ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);

		(void)w; /* nothing more to do about it */
	}
	_exit(EXIT_OK);
}

static int parse_timeout(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 100 || v > TIMEOUT_MS_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static bool parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return false;
	return true;
}

/*
 * The settings file: lines "control PATH", "timeout-ms N" (100-60000),
 * "stderr yes|no"; '#' starts a comment. libvirt clears the environment
 * of its hooks, so this file is how an operator changes them; the
 * variables ILA_CONTROL, ILA_HOOK_TIMEOUT_MS, ILA_HOOK_STDERR override it.
 * A missing file is no error; a wrong line is logged and skipped.
 */
static void read_conf(const char *path, struct settings *s, bool quiet)
{
	FILE *f = fopen(path, "re");
	char line[PATH_MAX + 64];
	unsigned lineno = 0;

	if (!f) {
		if (errno != ENOENT && !quiet)
			log_warn("%s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *val, *save = NULL, *extra;

		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		key = strtok_r(line, " \t", &save);
		if (!key)
			continue;
		val = strtok_r(NULL, " \t", &save);
		extra = strtok_r(NULL, " \t", &save);
		if (!val || extra) {
			if (!quiet)
				log_warn("%s:%u: expected KEY VALUE: line ignored", path, lineno);
		} else if (strcmp(key, "control") == 0) {
			snprintf(s->control, sizeof(s->control), "%s", val);
		} else if (strcmp(key, "timeout-ms") == 0) {
			if (parse_timeout(val, &s->timeout_ms) < 0 && !quiet)
				log_warn("%s:%u: timeout-ms '%s' not in 100-%d: ignored", path,
					 lineno, val, TIMEOUT_MS_MAX);
		} else if (strcmp(key, "stderr") == 0) {
			if (!parse_bool(val, &s->to_stderr) && !quiet)
				log_warn("%s:%u: stderr '%s' is not yes or no: ignored", path,
					 lineno, val);
		} else if (!quiet) {
			log_warn("%s:%u: unknown setting '%s': ignored", path, lineno, key);
		}
	}
	fclose(f);
}

static void load_settings(struct settings *s)
{
	const char *v = getenv("ILA_HOOK_CONF");
	const char *path = v && *v ? v : HOOK_CONF;

	snprintf(s->control, sizeof(s->control), "%s", ILAD_SOCK);
	s->timeout_ms = TIMEOUT_MS_DEFAULT;
	s->to_stderr = false;
	/* a quiet first reading learns where the file's own errors go */
	read_conf(path, s, true);
	log_stderr = s->to_stderr;
	if ((v = getenv("ILA_HOOK_STDERR")) && *v)
		(void)parse_bool(v, &log_stderr);
	read_conf(path, s, false);
	if ((v = getenv("ILA_CONTROL")) && *v)
		snprintf(s->control, sizeof(s->control), "%s", v);
	if ((v = getenv("ILA_HOOK_TIMEOUT_MS")) && *v && parse_timeout(v, &s->timeout_ms) < 0)
		log_warn("ILA_HOOK_TIMEOUT_MS '%s' not in 100-%d: ignored", v, TIMEOUT_MS_MAX);
	if ((v = getenv("ILA_HOOK_STDERR")) && *v && !parse_bool(v, &s->to_stderr))
		log_warn("ILA_HOOK_STDERR '%s' is not yes or no: ignored", v);
	log_stderr = s->to_stderr;
}

static enum phase phase_of(const char *op, const char *subop)
{
	static const struct {
		const char *op, *subop;
		enum phase ph;
	} map[] = {
		{ "migrate", "begin", PH_MIGRATE },   { "prepare", "begin", PH_PREPARE },
		{ "start", "begin", PH_START },	      { "started", "begin", PH_STARTED },
		{ "stopped", "end", PH_STOPPED },     { "release", "end", PH_RELEASE },
		{ "reconnect", "begin", PH_RECONNECT }, { "attach", "begin", PH_RECONNECT },
		{ "handover", "begin", PH_HANDOVER },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(op, map[i].op) == 0 && strcmp(subop, map[i].subop) == 0)
			return map[i].ph;
	return PH_NONE;
}

/* Before the guest runs here, a wrong workload is refused: libvirt then
 * does not start it (or does not accept the incoming migration). */
static bool may_refuse(enum phase ph)
{
	return ph == PH_MIGRATE || ph == PH_PREPARE || ph == PH_START;
}

/* Reads all of stdin (libvirt writes the XML, then closes). NULL with
 * *len 0 on a read error; longer than HOOK_XML_MAX: *len is that + 1. */
static char *read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);

	*len = 0;
	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > HOOK_XML_MAX) {
				char sink[4096];

				/* drain, so that libvirt's write does not fail */
				while ((r = read(STDIN_FILENO, sink, sizeof(sink))) > 0 ||
				       (r < 0 && errno == EINTR))
					;
				*len = HOOK_XML_MAX + 1;
				return buf;
			}
			nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_err("reading the domain XML: %s", strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * Runs one command on ilad's control socket within the deadline. Returns
 * its status (0 success, 1 warning: ilad refused it, its "% ..." text in
 * *answer) or -errno; *answer is malloc'd text or NULL.
 */
static int ctl_run(struct ctl *c, const char *cmd, char **answer)
{
	uint64_t now = ila_clock_mono_ms();
	char *text = NULL;
	size_t tlen = 0;
	FILE *out;
	int rc;

	*answer = NULL;
	if (c->broken)
		return -ECONNABORTED;
	if (now >= c->deadline_ms) {
		c->broken = true;
		return -ETIMEDOUT;
	}
	rc = ila_ctl_write_all(c->fd, cmd, strlen(cmd) + 1); /* with the NUL */
	if (rc < 0) {
		c->broken = true;
		return rc;
	}
	out = open_memstream(&text, &tlen);
	if (!out) {
		c->broken = true;
		return -ENOMEM;
	}
	rc = ila_ctl_read_answer(c->fd, (int)(c->deadline_ms - now), out);
	fclose(out);
	if (rc < 0)
		c->broken = true;
	*answer = text;
	return rc;
}

/* The first line of an answer, for the log. */
static const char *first_line(char *s)
{
	if (!s)
		return "";
	s[strcspn(s, "\n")] = '\0';
	return s[0] == '%' && s[1] == ' ' ? s + 2 : s;
}

static const char *ctl_strerror(int rc)
{
	return rc == -ETIMEDOUT ? "no answer within the time bound" :
	       rc == -EPROTO ? "connection closed before the end of the answer" :
	       strerror(-rc);
}

/* Runs "VERB ADDR [dev IFNAME] [down]". Returns its status or -errno;
 * logs every outcome. */
static int ctl_cmd(struct ctl *c, const char *dom, const char *verb, const char *addr,
		   const char *dev, const char *suffix)
{
	char cmd[CMD_MAX], *answer;
	int rc;

	if (c->broken)
		return -ECONNABORTED; /* said once already */
	snprintf(cmd, sizeof(cmd), "%s %s%s%s%s%s", verb, addr, dev && *dev ? " dev " : "",
		 dev && *dev ? dev : "", suffix ? " " : "", suffix ? suffix : "");
	rc = ctl_run(c, cmd, &answer);
	if (rc < 0)
		log_err("domain %s: %s: ilad at %s: %s", dom, cmd, c->path, ctl_strerror(rc));
	else if (rc != 0)
		log_warn("domain %s: %s: ilad refused: %s", dom, cmd, first_line(answer));
	else
		log_info("domain %s: %s: %s", dom, cmd, *first_line(answer) ? answer : "done");
	free(answer);
	return rc;
}

/* "show local json": the state and vn of each local address; NULL on error. */
static json_object *show_local(struct ctl *c, const char *dom)
{
	char *answer;
	json_object *o = NULL, *arr;
	int rc;

	if (c->broken)
		return NULL;
	rc = ctl_run(c, "show local json", &answer);

	if (rc == 0)
		o = json_tokener_parse(answer ? answer : "");
	if (rc < 0)
		log_err("domain %s: show local: ilad at %s: %s", dom, c->path, ctl_strerror(rc));
	else if (!o || !json_object_object_get_ex(o, "local", &arr) ||
		 !json_object_is_type(arr, json_type_array)) {
		log_err("domain %s: show local: unexpected answer from ilad", dom);
		json_object_put(o);
		o = NULL;
	}
	free(answer);
	return o;
}

/* The entry of addr in a "show local json" answer, or NULL. */
static json_object *local_entry(json_object *o, const char *addr)
{
	json_object *arr, *a;

	if (!o || !json_object_object_get_ex(o, "local", &arr))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (json_object_object_get_ex(e, "address", &a) &&
		    strcmp(json_object_get_string(a), addr) == 0)
			return e;
	}
	return NULL;
}

static const char *entry_str(json_object *e, const char *key)
{
	json_object *v;

	return e && json_object_object_get_ex(e, key, &v) ? json_object_get_string(v) : "";
}

/* Whether ilad places every address in the vn the metadata names. */
static bool vns_match(const struct hook_domain *d, json_object *local)
{
	bool ok = true;

	for (size_t i = 0; i < d->nifaces; i++) {
		const struct hook_iface *f = &d->ifaces[i];

		for (size_t j = 0; j < f->naddrs; j++) {
			json_object *e = local_entry(local, f->addrs[j].text);

			if (e && strcmp(entry_str(e, "vn"), f->vn) != 0) {
				log_err("domain %s: %s is in vn %s at this node, not in vn %s as "
					"its metadata says", d->name, f->addrs[j].text,
					entry_str(e, "vn"), f->vn);
				ok = false;
			}
		}
	}
	return ok;
}

/* Forgets what this node expects or prepared for the domain (release). */
static void forget(struct ctl *c, const struct hook_domain *d)
{
	json_object *local = show_local(c, d->name);

	for (size_t i = 0; local && i < d->nifaces; i++) {
		const struct hook_iface *f = &d->ifaces[i];

		for (size_t j = 0; j < f->naddrs; j++) {
			const char *st = entry_str(local_entry(local, f->addrs[j].text), "state");

			if (!strcmp(st, "expected") || !strcmp(st, "prepared") ||
			    !strcmp(st, "refused"))
				ctl_cmd(c, d->name, "detach", f->addrs[j].text, NULL, NULL);
		}
	}
	json_object_put(local);
}

/*
 * migrate, prepare, start (begin): expect every address; at migrate also
 * prepare it (this node becomes the standby the mapper names to the
 * source), and at start prepare again, on the tap that now exists, what is
 * prepared here on another device. Returns EXIT_REFUSE when ilad refuses an
 * address or places it in another vn: this node cannot serve the workload.
 */
static int phase_expect(struct ctl *c, const struct hook_domain *d, enum phase ph)
{
	bool refused = false;
	json_object *local = show_local(c, d->name);

	for (size_t i = 0; local && i < d->nifaces; i++) {
		const struct hook_iface *f = &d->ifaces[i];

		for (size_t j = 0; j < f->naddrs; j++) {
			const char *a = f->addrs[j].text;

			/* still attached here (a stop whose hook did not run): kept */
			if (strcmp(entry_str(local_entry(local, a), "state"), "attached") == 0)
				log_info("domain %s: %s already attached here", d->name, a);
			else if (ctl_cmd(c, d->name, "expect", a, NULL, NULL) > 0)
				refused = true;
		}
	}
	json_object_put(local);
	local = c->broken ? NULL : show_local(c, d->name);
	if (local && !vns_match(d, local))
		refused = true;
	if (refused) {
		json_object_put(local);
		log_err("domain %s: refused: this node cannot serve its ila addresses", d->name);
		forget(c, d);
		return EXIT_REFUSE;
	}
	for (size_t i = 0; i < d->nifaces; i++) {
		const struct hook_iface *f = &d->ifaces[i];
		/* at migrate begin the tap does not exist yet (libvirt 9.0 creates
		 * it before start begin): until then ilad would deliver on the vn's
		 * interface if the mapper promoted this node */
		const char *dev = *f->target && if_nametoindex(f->target) ? f->target : NULL;

		for (size_t j = 0; j < f->naddrs; j++) {
			json_object *e = local_entry(local, f->addrs[j].text);

			if (ph == PH_MIGRATE && strcmp(entry_str(e, "state"), "attached") != 0)
				ctl_cmd(c, d->name, "prepare", f->addrs[j].text, dev, NULL);
			/* start begin of an incoming migration: the standby learns its tap */
			else if (ph == PH_START && dev && !strcmp(entry_str(e, "state"), "prepared") &&
				 strcmp(entry_str(e, "dev"), dev) != 0)
				ctl_cmd(c, d->name, "prepare", f->addrs[j].text, dev, NULL);
		}
	}
	json_object_put(local);
	return EXIT_OK;
}

/* started (begin), reconnect, attach: attach every address on its device.
 * On reconnect an address still prepared here belongs to an incoming
 * migration that has not finished: left alone. */
static void phase_attach(struct ctl *c, const struct hook_domain *d, bool reconnect)
{
	json_object *local = reconnect ? show_local(c, d->name) : NULL;

	for (size_t i = 0; i < d->nifaces; i++) {
		const struct hook_iface *f = &d->ifaces[i];

		if (!*f->target)
			log_warn("domain %s: interface %s has no target dev: attached on the "
				 "vn's interface", d->name, f->mac);
		for (size_t j = 0; j < f->naddrs; j++) {
			const char *st = entry_str(local_entry(local, f->addrs[j].text), "state");

			if (reconnect && strcmp(st, "prepared") == 0) {
				log_info("domain %s: %s is prepared here (incoming migration): "
					 "not attached", d->name, f->addrs[j].text);
				continue;
			}
			ctl_cmd(c, d->name, "attach", f->addrs[j].text, f->target, NULL);
		}
	}
	json_object_put(local);
	local = c->broken ? NULL : show_local(c, d->name);
	if (local)
		(void)vns_match(d, local);
	json_object_put(local);
}

/* start (begin): the VM's tap exists now. An address prepared here (an
 * incoming migration) is delivered on it from now on (ilad's "incoming"):
 * what the source hands over when the VM pauses there waits in the tap
 * until the VM runs here, instead of going back to the source. The
 * interface's <mac address> goes with it (lladdr): ilad writes the
 * address's neighbour entry on the tap, so those packets are not held
 * for a neighbour discovery that the paused VM cannot answer. */
static void phase_incoming(struct ctl *c, const struct hook_domain *d)
{
	json_object *local = show_local(c, d->name);

	for (size_t i = 0; local && i < d->nifaces; i++) {
		const struct hook_iface *f = &d->ifaces[i];
		char lladdr[8 + sizeof(f->mac)];

		if (!*f->target || !if_nametoindex(f->target))
			continue;
		snprintf(lladdr, sizeof(lladdr), "lladdr %s", f->mac);
		for (size_t j = 0; j < f->naddrs; j++)
			if (strcmp(entry_str(local_entry(local, f->addrs[j].text), "state"),
				   "prepared") == 0)
				ctl_cmd(c, d->name, "incoming", f->addrs[j].text, f->target, lladdr);
	}
	json_object_put(local);
}

/* handover (begin): the domain paused here for the last copy of a migration
 * away. Each address attached here goes to the standby that the
 * destination's prepare announced, at once (ilad's "handover"). */
static void phase_handover(struct ctl *c, const struct hook_domain *d)
{
	json_object *local = show_local(c, d->name);

	for (size_t i = 0; local && i < d->nifaces; i++) {
		const struct hook_iface *f = &d->ifaces[i];

		for (size_t j = 0; j < f->naddrs; j++)
			if (strcmp(entry_str(local_entry(local, f->addrs[j].text), "state"),
				   "attached") == 0)
				ctl_cmd(c, d->name, "handover", f->addrs[j].text, NULL, NULL);
	}
	json_object_put(local);
}

/* stopped (end): detach down what this node still owns. After a migration
 * away the mapper's push has removed it here: nothing is done. */
static void phase_stopped(struct ctl *c, const struct hook_domain *d)
{
	json_object *local = show_local(c, d->name);

	for (size_t i = 0; local && i < d->nifaces; i++) {
		const struct hook_iface *f = &d->ifaces[i];

		for (size_t j = 0; j < f->naddrs; j++) {
			const char *st = entry_str(local_entry(local, f->addrs[j].text), "state");

			if (strcmp(st, "attached") == 0)
				ctl_cmd(c, d->name, "detach", f->addrs[j].text, NULL, "down");
			else
				log_info("domain %s: %s is %s here: not detached", d->name,
					 f->addrs[j].text, *st ? st : "not attached");
		}
	}
	json_object_put(local);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ila-libvirt-hook DOMAIN OPERATION SUBOP [EXTRA] < DOMAIN-XML\n"
		"libvirt's qemu hook for ila, installed as %s.\n"
		"Settings: %s, ILA_CONTROL, ILA_HOOK_TIMEOUT_MS, ILA_HOOK_STDERR\n"
		"(see ila-libvirt-hook(8)).\n", ILA_HOOK_PATH, HOOK_CONF);
}

int main(int argc, char **argv)
{
	struct settings s;
	struct hook_domain d;
	struct ctl c = { .fd = -1 };
	char err[256];
	enum phase ph;
	size_t len;
	char *xml;
	int rc = EXIT_OK;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf(IDENT " %s\n", PACKAGE_VERSION);
		return 0;
	}
	openlog(IDENT, LOG_PID, LOG_DAEMON);
	ila_log_init(IDENT, ILA_LOG_TO_CALLBACK, ILA_LOG_INFO);
	ila_log_set_callback(log_cb, NULL);
	if (argc < 4) {
		usage(stderr);
		return 2;
	}
	load_settings(&s);
	c.deadline_ms = ila_clock_mono_ms() + (uint64_t)s.timeout_ms;
	c.path = s.control;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	{
		/* the backstop, a quarter second after the deadline the commands keep */
		struct itimerval it = { .it_value = {
			.tv_sec = (s.timeout_ms + 250) / 1000,
			.tv_usec = ((s.timeout_ms + 250) % 1000) * 1000 } };

		setitimer(ITIMER_REAL, &it, NULL);
	}
	ph = phase_of(argv[2], argv[3]);
	xml = read_stdin(&len); /* read whatever the phase: libvirt writes it */
	if (ph == PH_NONE || !xml) {
		free(xml);
		return EXIT_OK;
	}
	if (hook_domain_parse(xml, len, &d, err, sizeof(err)) < 0) {
		free(xml);
		log_err("domain %s %s %s: bad ila metadata: %s%s", argv[1], argv[2], argv[3], err,
			may_refuse(ph) ? ": refused" : "");
		return may_refuse(ph) ? EXIT_REFUSE : EXIT_OK;
	}
	free(xml);
	if (!d.nifaces)
		return EXIT_OK; /* not an ila workload */
	if (!*d.name)
		snprintf(d.name, sizeof(d.name), "%s", argv[1]);
	c.fd = ila_ctl_connect(s.control);
	if (c.fd < 0) {
		log_err("domain %s %s %s: cannot connect to ilad at %s: %s: nothing done", d.name,
			argv[2], argv[3], s.control, strerror(-c.fd));
		return EXIT_OK;
	}
	log_info("domain %s: %s %s", d.name, argv[2], argv[3]);
	switch (ph) {
	case PH_MIGRATE:
		rc = phase_expect(&c, &d, ph);
		break;
	case PH_PREPARE:
	case PH_START:
		rc = phase_expect(&c, &d, ph);
		if (ph == PH_START && rc == EXIT_OK)
			phase_incoming(&c, &d);
		break;
	case PH_STARTED:
		phase_attach(&c, &d, false);
		break;
	case PH_RECONNECT:
		phase_attach(&c, &d, true);
		break;
	case PH_STOPPED:
		phase_stopped(&c, &d);
		break;
	case PH_RELEASE:
		forget(&c, &d);
		break;
	case PH_HANDOVER:
		phase_handover(&c, &d);
		break;
	case PH_NONE:
		break;
	}
	close(c.fd);
	if (c.broken && rc != EXIT_OK)
		rc = EXIT_OK; /* ilad not answering never refuses a domain */
	return rc;
}
