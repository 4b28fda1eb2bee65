/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tests/unit/fake_mclient.c: the mapper session (ilad/mclient.c) as local.c
 * sees it: whether it is up, which vns are in sync, and the REGISTER,
 * DEREGISTER and QUERY requests it is asked to send, recorded with the
 * records mclient.c would build from each workload. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fake_mclient.h"

struct fake_mc fake_mc;

void fake_mc_reset(void)
{
	memset(&fake_mc, 0, sizeof(fake_mc));
	fake_mc.next_xid = 100;
}

bool mc_up(const struct ilad *d)
{
	(void)d;
	return fake_mc.up;
}

bool mc_vn_synced(const struct ilad *d, uint32_t vn)
{
	(void)d;
	for (size_t i = 0; i < fake_mc.n_synced; i++)
		if (fake_mc.synced[i] == vn)
			return fake_mc.up;
	return false;
}

bool mc_all_synced(const struct ilad *d)
{
	for (unsigned i = 0; i < d->conf->n_vns; i++)
		if (!mc_vn_synced(d, d->conf->vns[i].id))
			return false;
	return fake_mc.up;
}

void fake_mc_sync(uint32_t vn)
{
	assert_true(fake_mc.n_synced < ILA_ARRAY_SIZE(fake_mc.synced));
	fake_mc.synced[fake_mc.n_synced++] = vn;
}

int64_t mc_register(struct ilad *d, struct local **locals, size_t n, uint8_t type)
{
	uint32_t xid;

	(void)d;
	fake_mc.register_calls++;
	if (!fake_mc.up || n == 0)
		return 0; /* as mclient.c: registered again when the session comes up */
	xid = ++fake_mc.next_xid;
	for (size_t i = 0; i < n; i++) {
		struct fake_req *q;

		assert_true(fake_mc.n_reqs < ILA_ARRAY_SIZE(fake_mc.reqs));
		q = &fake_mc.reqs[fake_mc.n_reqs++];
		memset(q, 0, sizeof(*q));
		q->type = type;
		q->xid = xid;
		q->key = locals[i]->key;
		q->seq = locals[i]->seq;
		q->standby = type == ILA_MSG_REGISTER && locals[i]->state == LOCAL_PREPARED;
		q->state = type == ILA_MSG_REGISTER ? ILA_STATE_UP
			   : locals[i]->down ? ILA_STATE_DOWN : ILA_STATE_REMOVED;
		q->trace = fake_trace();
		locals[i]->reg_xid = xid;
	}
	return xid;
}

/* A QUERY (or a RELEASE) of keys, recorded. */
static int64_t record_query(uint32_t vn, const struct ilad_key *keys, size_t n, bool release)
{
	uint32_t xid;

	if (!fake_mc.up)
		return 0;
	xid = ++fake_mc.next_xid;
	for (size_t i = 0; i < n; i++) {
		struct fake_req *q;

		assert_int_equal(keys[i].vn, vn);
		assert_true(fake_mc.n_reqs < ILA_ARRAY_SIZE(fake_mc.reqs));
		q = &fake_mc.reqs[fake_mc.n_reqs++];
		memset(q, 0, sizeof(*q));
		q->type = ILA_MSG_QUERY;
		q->release = release;
		q->xid = xid;
		q->key = keys[i];
		q->trace = fake_trace();
	}
	return xid;
}

int64_t mc_query(struct ilad *d, uint32_t vn, const struct ilad_key *keys, size_t n)
{
	(void)d;
	return record_query(vn, keys, n, false);
}

/* Recorded as a QUERY with release set. */
int64_t mc_release(struct ilad *d, uint32_t vn, const struct ilad_key *keys, size_t n)
{
	(void)d;
	return record_query(vn, keys, n, true);
}

size_t fake_mc_count(uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_mc.n_reqs; i++)
		n += fake_mc.reqs[i].type == type;
	return n;
}

const struct fake_req *fake_mc_last(uint8_t type, const struct ilad_key *k)
{
	for (size_t i = fake_mc.n_reqs; i-- > 0;) {
		const struct fake_req *q = &fake_mc.reqs[i];

		if (q->type == type && (!k || memcmp(&q->key, k, sizeof(*k)) == 0))
			return q;
	}
	return NULL;
}
