/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config keywords of least privilege, both daemons: user, control-group, control-readonly. */
#include "config.h"

#include <string.h>

#include "conf_parser.h"

/* A user or group name, or "none" (stored as ""). */
static int kw_account(struct parser *p, char *dst)
{
	int rc = conf_want_values(p, 1);

	if (!rc)
		rc = conf_once(p, dst, p->tok[0]);
	if (rc)
		return rc;
	if (strcmp(p->tok[1], "none") == 0) {
		dst[0] = '\0';
		return 0;
	}
	rc = conf_check_name(p, p->tok[0], p->tok[1]);
	if (rc)
		return rc;
	conf_copy_str(dst, ILA_CONF_NAME_MAX, p->tok[1]);
	return 0;
}

int conf_kw_user(struct parser *p)
{
	return kw_account(p, p->c->user);
}

int conf_kw_control_group(struct parser *p)
{
	return kw_account(p, p->c->control_group);
}

int conf_kw_control_readonly(struct parser *p)
{
	int rc = conf_want_values(p, 1);

	if (rc)
		return rc;
	p->control_readonly_line = p->line;
	if (strcmp(p->tok[1], "none") != 0)
		return conf_kw_path(p, p->c->control_readonly, true);
	rc = conf_once(p, p->c->control_readonly, p->tok[0]);
	if (!rc)
		p->c->control_readonly[0] = '\0';
	return rc;
}

/*
 * Without a control-readonly line the read-only socket sits next to the
 * control socket: NAME.sock gives NAME.ro.sock, any other name gets ".ro"
 * appended. The two must differ.
 */
int conf_check_privilege(struct parser *p)
{
	struct ila_conf *c = p->c;
	unsigned int eof = p->line ? p->line : 1;

	if (!p->control_readonly_line) {
		size_t n = strlen(c->control);
		int len;

		if (n > 5 && strcmp(c->control + n - 5, ".sock") == 0)
			len = snprintf(c->control_readonly, sizeof(c->control_readonly),
				       "%.*s.ro.sock", (int)(n - 5), c->control);
		else
			len = snprintf(c->control_readonly, sizeof(c->control_readonly), "%s.ro",
				       c->control);
		if (len < 0 || (size_t)len > SOCK_PATH_MAX)
			return conf_err_at(p, eof,
					   "control-readonly: the default path next to control %s "
					   "is too long; set control-readonly PATH or none",
					   c->control);
		return 0;
	}
	if (strcmp(c->control_readonly, c->control) == 0)
		return conf_err_at(p, p->control_readonly_line,
				   "control-readonly: %s is the control socket itself",
				   c->control_readonly);
	return 0;
}
