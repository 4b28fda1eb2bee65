/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tests/unit/fake_ilad.h: the outside of ilad for its unit tests. The real
 * cache.c, local.c (with local_resync.c and local_neigh.c), mclient.c,
 * state.c, event.c and zebra.c are linked; what
 * they call beyond the daemon is replaced with -Wl,--wrap=symbol (the list
 * is ILAD_TEST_WRAPS in tests/subdir.am) and recorded here: the clock, the
 * kernel's routes and neighbour socket, zebra, the control socket, the
 * interface names, and the mapper's socket.
 */
#ifndef ILA_TESTS_FAKE_ILAD_H
#define ILA_TESTS_FAKE_ILAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ilad.h"
#include "../routing/zapi.h"

#define FAKE_MAX 256

/* ---- the clock (ila_clock_mono_ms) ---- */
extern uint64_t fake_now_ms;

/* ---- the kernel (routing/kernel.h) ---- */
enum fake_kop {
	FK_BEGIN = 1,
	FK_REPLACE,
	FK_DELETE,
	FK_COMMIT,
	FK_LOOKUP,
};

struct fake_kcall {
	enum fake_kop op;
	struct kroute r; /* REPLACE and DELETE */
	unsigned trace;	 /* position in fake_trace order */
};

struct fake_kernel {
	struct fake_kcall calls[FAKE_MAX];
	size_t n;
	size_t queued;	     /* routes in the open batch */
	long fail_index;     /* commit reports this batch position refused; -1: none */
	int fail_err;
	int commit_rc;	     /* < 0: the socket failed during commit */
	bool lookup_fails;   /* no route to any locator */
	int lookup_oif;
	union kaddr lookup_gw;
	struct kroute dump[16]; /* what kernel_route_dump returns, either family (and
				 * kernel_route_get, by destination) */
	size_t n_dump;
	struct kneigh neigh[16]; /* what the next neighbour read delivers */
	size_t n_neigh;
	int neigh_read_rc;	 /* returned after delivering them (0: their count) */
	struct kneigh table[8];	 /* the neighbour tables: what a dump delivers */
	size_t n_table;
	unsigned neigh_dumps;	 /* kernel_neigh_request_dump calls */
	unsigned neigh_probes;	 /* kernel_neigh_probe calls */
	struct kneigh probed;	 /* the last one probed (family, ifindex, addr) */
	/* kernel_neigh_set / kernel_neigh_del: the entries written, by
	 * (family, ifindex, addr); a del with lladdr removes only a match */
	struct kneigh written[8];
	size_t n_written;
	unsigned neigh_sets, neigh_dels; /* calls */
	int neigh_set_rc, neigh_del_rc;	 /* < 0: the call fails so */
};
extern struct fake_kernel fake_kernel;

size_t fake_kernel_count(enum fake_kop op);
/* The last REPLACE or DELETE of a route to that destination, or NULL. */
const struct fake_kcall *fake_kernel_last(enum fake_kop op, const union kaddr *dst);
/* Forgets the calls recorded so far (the settings stay). */
void fake_kernel_clear(void);
/* The entry written for addr (either family) on ifindex, or NULL. */
struct kneigh *fake_kernel_written(const char *addr, int ifindex);

/* ---- zebra (zapi_route_set / zapi_route_unset) ---- */
struct fake_zcall {
	bool set;
	struct zroute r; /* set: the route; unset: family, prefix, plen */
};

struct fake_zebra {
	struct fake_zcall calls[FAKE_MAX];
	size_t n;
};
extern struct fake_zebra fake_zebra;
/* A non-NULL struct zapi * that must never be dereferenced. */
struct zapi *fake_zapi(void);

/* ---- the control socket (ila_ctl_*) ---- */
struct fake_answer {
	uint64_t ticket;
	int status;
	char text[256];
};

struct fake_ctl {
	bool monitoring;
	char events[FAKE_MAX][24];
	char details[FAKE_MAX][192];
	size_t n_events;
	uint64_t next_ticket;
	struct fake_answer answers[32];
	size_t n_answers;
};
extern struct fake_ctl fake_ctl;
/* How many monitor events of that name were sent. */
size_t fake_ctl_count(const char *event);
/* The detail of the last monitor event of that name ("" if none). */
const char *fake_ctl_detail(const char *event);

/* ---- interfaces: tap0 = 7, tap1 = 8, eth9 = 9 ---- */
#define FAKE_IF_TAP0 7
#define FAKE_IF_TAP1 8
#define FAKE_IF_ETH9 9

/* ---- the mapper's socket (socket, connect): one end of a socketpair ---- */
extern int fake_mapper_fd; /* socket() returns it (once), -1 after */

/* ---- the log: every line, captured ---- */
struct fake_log {
	char lines[FAKE_MAX][256];
	size_t n;
};
extern struct fake_log fake_log;
/* Whether a line logged since the last reset contains every one of the
 * NULL-terminated strings. */
bool fake_log_has(const char *s, ...) __attribute__((sentinel));

/* ---- a trace: the order of kernel commits and mapper requests ---- */
unsigned fake_trace(void);

/* ---- the daemon ---- */
/*
 * A daemon with the configuration text conf (parsed by the library's
 * parser, a failure fails the test), its tables, its event loop and its
 * event queue running dispatch. In modes ila and host-route it has a (fake)
 * kernel; in mode ila it translates.
 */
struct ilad *fake_ilad_new(const char *conf, void (*dispatch)(struct ilad *, const struct ilad_ev *));
/* Frees what fake_ilad_new made (stop the session and local.c first). */
void fake_ilad_free(struct ilad *d);
/* Every fake back to its defaults. */
void fake_reset(void);


/* Keys and records from strings: an address with ':' is IPv6. */
struct ilad_key fake_key(uint32_t vn, const char *addr);
union kaddr fake_kaddr(const char *addr);
struct ila_locator fake_loc(const char *loc);
struct ila_record fake_rec(uint32_t vn, const char *addr, const char *loc, const char *node,
			   uint64_t seq, uint8_t state);

#endif
