/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ila-mapper/state.c: lookups in the configuration (vns), the clock, and
 * how a record's address is written. */
#include "config.h"

#include <arpa/inet.h>

#include "clock.h"
#include "mapper.h"

uint64_t mapper_now_ms(void)
{
	return ila_clock_mono_ms();
}

void mapper_clock_init(struct mapper *m)
{
	m->wall_base_s = ila_clock_wall_s();
	m->mono_base_ms = ila_clock_mono_ms();
}

uint64_t mapper_now_s(const struct mapper *m)
{
	uint64_t mono = ila_clock_mono_ms();

	return m->wall_base_s + (mono > m->mono_base_ms ? (mono - m->mono_base_ms) / 1000 : 0);
}

/* The lifetime left of a stored mapping, as REPLY and PUSH carry it (at
 * least 1: the field's minimum). */
uint32_t mapper_lifetime_left(const struct mapper *m, const struct mapping *mp)
{
	uint64_t now = mapper_now_s(m);

	if (mp->expires <= now)
		return 1;
	return mp->expires - now > UINT32_MAX ? UINT32_MAX : (uint32_t)(mp->expires - now);
}

const struct ila_conf_vn *mapper_vn(const struct mapper *m, uint32_t id)
{
	for (unsigned i = 0; i < m->conf->n_vns; i++)
		if (m->conf->vns[i].id == id)
			return &m->conf->vns[i];
	return NULL;
}

const char *mapper_vn_name(const struct mapper *m, uint32_t id)
{
	const struct ila_conf_vn *vn = mapper_vn(m, id);

	return vn ? vn->name : "?";
}

const char *mapper_rec_addr(const struct ila_record *r, char *buf, size_t len)
{
	if (r->family == AF_INET)
		return inet_ntop(AF_INET, &r->addr4, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, &r->addr6, buf, (socklen_t)len);
}
