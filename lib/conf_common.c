/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config keywords of both daemons: log-level, pidfile, control, tls, plaintext, timers. */
#include "config.h"

#include "conf_parser.h"

/* ---- keywords of both daemons ---- */

int conf_kw_log_level(struct parser *p)
{
	enum ila_log_level level;
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, &p->c->log_level, "log-level");
	if (rc)
		return rc;
	if (ila_log_level_parse(p->tok[1], &level) < 0)
		return conf_perr(p, "log-level: unknown value '%s' (err|warning|notice|info|debug)",
				 p->tok[1]);
	p->c->log_level = level;
	return 0;
}

int conf_kw_pidfile(struct parser *p)
{
	return conf_kw_path(p, p->c->pidfile, false);
}

int conf_kw_control(struct parser *p)
{
	return conf_kw_path(p, p->c->control, true);
}

int conf_kw_plaintext(struct parser *p)
{
	int rc = conf_want_values(p, 0);

	if (!rc)
		rc = conf_once(p, &p->c->plaintext, "plaintext");
	if (rc)
		return rc;
	p->c->plaintext = true;
	p->plaintext_line = p->line;
	return 0;
}

int conf_kw_keepalive(struct parser *p)
{
	p->keepalive_line = p->line;
	return conf_kw_number(p, &p->c->keepalive_ms, 10, 60000);
}

int conf_kw_dead_interval(struct parser *p)
{
	p->dead_line = p->line;
	return conf_kw_number(p, &p->c->dead_interval_ms, 20, 600000);
}

static const struct attr tls_attrs[] = {
	ATTR_PATH("certificate", tls_certificate, ILA_CONF_PATH_MAX - 1),
	ATTR_PATH("key", tls_key, ILA_CONF_PATH_MAX - 1),
	ATTR_PATH("ca", tls_ca, ILA_CONF_PATH_MAX - 1),
};

int conf_kw_tls(struct parser *p)
{
	if (!p->tls_line)
		p->tls_line = p->line;
	p->c->tls = true;
	return conf_attrs(p, 1, tls_attrs, ILA_ARRAY_SIZE(tls_attrs));
}
