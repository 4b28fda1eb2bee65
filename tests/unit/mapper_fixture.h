/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A whole ila-mapper in one test process: the real session, directory and
 * push code on a real LMDB store in a temporary folder, nodes speaking the
 * real protocol over socketpairs, and the outside replaced with
 * -Wl,--wrap: both clocks (fx_wall_s, fx_mono_ms), the store's commit
 * (fx_commit_fails) and the socket's send (fx_send_blocked: a peer whose
 * socket takes nothing more).
 */
#ifndef ILA_TEST_MAPPER_FIXTURE_H
#define ILA_TEST_MAPPER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "mapper.h"

/* The configured nodes and vns (mapper_fixture.c has the text):
 *   blue (FX_BLUE): served by n1 n2 n3, subscribed by gw,
 *     sir-prefix 2001:db8:100::/64, ipv4-prefix 10.100.0.0/16
 *   red (FX_RED): served by n4, subscribed by gw, sir-prefix 2001:db8:200::/64 */
#define FX_BLUE 100
#define FX_RED 200
#define FX_LOC_A "2001:db8:0:a"
#define FX_LOC_B "2001:db8:0:b"
#define FX_LOC_C "2001:db8:0:c"
#define FX_T0 1700000000ull /* the wall clock when a test starts */
#define FX_MONO0 5000000ull /* the monotonic clock then, ms */

/* Settings that tests vary; zero fields take the defaults noted. */
struct fx_conf {
	unsigned push_batch;		/* 16 */
	unsigned queue_limit_kb;	/* 64 */
	unsigned commit_batch;		/* 4096 */
	unsigned commit_delay_ms;	/* 0 */
	unsigned push_delay_ms;		/* 0 */
	unsigned damping_moves;		/* 3 */
	unsigned damping_interval_s;	/* 100 */
	unsigned damping_freeze_s;	/* 50 */
	bool freeze_permanent;
	unsigned lifetime_default_s;	/* 300 */
	unsigned lifetime_max_s;	/* 600 */
	unsigned map_size_mb;		/* 64 */
	/* quota: all 0 leaves the defaults */
	unsigned quota_node_mappings, quota_vn_mappings, quota_rate, quota_burst;
	unsigned watch_lifetime_s;	/* 120 */
	unsigned watch_max;		/* 1000 */
};

/* The wrapped clocks, the commit switch and the stalled peer. The mapper
 * reads the wall clock once at start and advances it by the monotonic
 * clock: fx_at() moves both together, as time passing does; setting
 * fx_wall_s alone is a step of the system clock. */
extern uint64_t fx_wall_s;
extern uint64_t fx_mono_ms;
void fx_at(uint64_t wall_s);
extern bool fx_commit_fails;
extern int fx_send_blocked; /* the mapper's end of a socketpair, or -1 */

/* A node: the test's end of a socketpair the mapper adopted. */
struct fx_node {
	char name[64];
	int fd;		/* the test's end */
	int mapper_fd;	/* the mapper's end (for fx_send_blocked) */
	bool eof;	/* the mapper closed the session */
	struct ila_frame_reader rd;
	struct ila_msg *inbox;	/* every message received, decoded, in order */
	size_t n, cap;
};

/* cmocka setup and teardown: fx_setup uses *state as a struct fx_conf
 * (or NULL for the defaults). */
int fx_setup(void **state);
int fx_teardown(void **state);
struct mapper *fx_mapper(void);

/* Opens a session as node `name` (OPEN answered by OPEN, inbox emptied),
 * with capabilities ADDR4 and STANDBY, or caps. */
struct fx_node *fx_connect(const char *name);
struct fx_node *fx_connect_caps(const char *name, uint32_t caps);
/* A connection the mapper adopted, before any OPEN, and a node's OPEN. */
struct fx_node *fx_adopt(const char *name);
struct ila_msg fx_open_msg(const char *name, uint32_t caps);
/* Runs the loop without waiting until nothing moves, collecting what the
 * mapper sends into every node's inbox. */
void fx_run(void);
/* Sends a message, or raw bytes (and does not run the loop). */
void fx_send(struct fx_node *n, const struct ila_msg *msg);
void fx_send_raw(struct fx_node *n, const void *buf, size_t len);
/* Closes the node's end without a word (a dead node), or after CEASE. */
void fx_hangup(struct fx_node *n);
void fx_goodbye(struct fx_node *n);

/* A REGISTER record: addr is a SIR address or an IPv4 address. */
struct ila_record fx_rec(uint32_t vn, const char *addr, const char *loc, uint64_t seq,
			 uint32_t lifetime);
struct ila_locator fx_loc(const char *loc);
void fx_assert_loc(const struct ila_locator *l, const char *loc);
/* The mapper's session of a node (NULL when it has none open). */
struct session *fx_session(const char *name);
uint32_t fx_xid(void);
/* Sends a REGISTER (DEREGISTER) of n records and runs the loop; returns its xid. */
uint32_t fx_register(struct fx_node *n, const struct ila_record *recs, size_t nrec);
uint32_t fx_deregister(struct fx_node *n, const struct ila_record *recs, size_t nrec);
/* One record: returns the ACK status of it (0 accepted), asserting one ACK came. */
int fx_register_rec(struct fx_node *n, const struct ila_record *r);
int fx_register1(struct fx_node *n, uint32_t vn, const char *addr, const char *loc, uint64_t seq);
int fx_deregister1(struct fx_node *n, uint32_t vn, const char *addr, uint64_t seq, uint8_t state);
/* Sends a SUBSCRIBE, runs the loop, returns its xid. */
uint32_t fx_subscribe(struct fx_node *n, uint32_t vn, uint64_t jseq, uint32_t flags);
uint32_t fx_unsubscribe(struct fx_node *n, uint32_t vn);
uint32_t fx_query(struct fx_node *n, uint32_t vn, const char *const *addrs, size_t naddrs);
/* The same with MSG_FLAGS (ILA_QUERY_F_WATCH, ILA_QUERY_F_RELEASE). */
uint32_t fx_query_flags(struct fx_node *n, uint32_t vn, uint32_t flags, const char *const *addrs,
			size_t naddrs);

/* Messages received: the i-th of a type (NULL if fewer), how many, the one
 * answering xid (NULL if none; fails on two). */
const struct ila_msg *fx_nth(const struct fx_node *n, uint8_t type, size_t i);
size_t fx_count(const struct fx_node *n, uint8_t type);
const struct ila_msg *fx_answer(const struct fx_node *n, uint32_t xid);
/* How many records were pushed to n for vn, and the i-th of them (in the
 * order they arrived, across frames; NULL past the end). */
size_t fx_push_records(const struct fx_node *n, uint32_t vn);
const struct ila_record *fx_push_record(const struct fx_node *n, uint32_t vn, size_t i);
void fx_clear(struct fx_node *n);

/* The store's view of a mapping: true and *out when it exists. */
bool fx_get(uint32_t vn, const char *addr, struct mapping *out);
/* The expiry timer's work, as if it fired now. */
void fx_expire(void);
/* What the commit and push delay timers do when they fire, and keeping
 * them from firing by real time (the test fires them). */
void fx_commit_delay_ends(void);
void fx_push_delay_ends(void);
void fx_hold_delay_timers(void);
/* Drops the journal up to and including position `upto`. */
void fx_trim(uint64_t upto);

#endif
