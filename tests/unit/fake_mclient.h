/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tests/unit/fake_mclient.h: a mapper session that records requests (see
 * fake_mclient.c), for the tests of local.c without mclient.c. */
#ifndef ILA_TESTS_FAKE_MCLIENT_H
#define ILA_TESTS_FAKE_MCLIENT_H

#include "fake_ilad.h"

struct fake_req {
	uint8_t type;	/* ILA_MSG_REGISTER, DEREGISTER or QUERY */
	uint32_t xid;
	struct ilad_key key;
	uint64_t seq;
	uint8_t state;	/* the record's: up, or down / removed for DEREGISTER */
	bool standby;	/* STANDBY_REG */
	bool release;	/* QUERY with RELEASE (mc_release) */
	unsigned trace;
};

struct fake_mc {
	bool up;
	uint32_t synced[8];
	size_t n_synced;
	uint32_t next_xid;
	struct fake_req reqs[64];
	size_t n_reqs;
	unsigned register_calls;
};
extern struct fake_mc fake_mc;

void fake_mc_reset(void);
/* The mapper's view of vn is complete (while the session is up). */
void fake_mc_sync(uint32_t vn);
size_t fake_mc_count(uint8_t type);
/* The last request of type for k (any key when k is NULL), or NULL. */
const struct fake_req *fake_mc_last(uint8_t type, const struct ilad_key *k);

#endif
