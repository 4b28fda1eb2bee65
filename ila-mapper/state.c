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
