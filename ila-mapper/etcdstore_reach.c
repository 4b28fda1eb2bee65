/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whether etcd is reachable and the store usable, and why not. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mapper.h"
#include "etcdstore_priv.h"

void estore_set_reachable(struct mapper *m, bool ok, const char *fmt, ...)
{
	struct estore *e = &m->estore;
	char why[sizeof(e->why)] = "";

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (ok && !e->reachable)
		log_notice("etcd: reachable again");
	else if (!ok && (e->reachable || strcmp(why, e->why) != 0))
		log_err("etcd: %s", why);
	if (!ok && e->reachable)
		e->unreachable_since_ms = mapper_now_ms();
	if (ok)
		e->cut = false;
	e->reachable = ok;
	if (!ok)
		snprintf(e->why, sizeof(e->why), "%s", why);
	else if (e->ready)
		e->why[0] = '\0';
}

bool estore_usable(const struct mapper *m)
{
	return m->estore.ready && !m->estore.cut;
}
