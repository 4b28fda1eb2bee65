/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config keywords of both daemons: log-level, pidfile, control, tls, plaintext, timers, metrics. */
#include "config.h"

#include <string.h>

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

/* metrics listen ADDRESS port PORT, or metrics none (the default). The port
 * is not defaulted: no port is Prometheus' for these daemons. */
int conf_kw_metrics(struct parser *p)
{
	struct ila_conf *c = p->c;
	struct ila_conf_endpoint e;
	int rc = conf_once(p, &c->metrics, "metrics");

	if (rc)
		return rc;
	if (p->ntok == 2 && strcmp(p->tok[1], "none") == 0) {
		c->metrics = false;
		return 0;
	}
	if (p->ntok < 2 || strcmp(p->tok[1], "listen") != 0)
		return conf_perr(p, "metrics: expected 'metrics listen ADDRESS port PORT' "
				    "or 'metrics none'");
	rc = conf_parse_endpoint(p, 2, &e);
	if (rc)
		return rc;
	if (p->ntok == 3)
		return conf_perr(p, "metrics listen: missing 'port PORT'");
	c->metrics = true;
	c->metrics_listen = e;
	p->metrics_line = p->line;
	return 0;
}

int conf_check_metrics(struct parser *p)
{
	const struct ila_conf *c = p->c;

	if (!c->metrics || c->kind != ILA_CONF_MAPPER)
		return 0;
	for (unsigned int i = 0; i < c->n_listen; i++) {
		if (conf_endpoint_equal(&c->listen[i], &c->metrics_listen)) {
			char s[80];

			conf_endpoint_str(&c->metrics_listen, s, sizeof(s));
			return conf_err_at(p, p->metrics_line,
					   "metrics listen: '%s' is also a listen address of the "
					   "mapper", s);
		}
	}
	return 0;
}
