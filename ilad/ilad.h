/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ilad: one struct holds the daemon; the files split its work, each calling
 * only the files below it (what goes up goes through the event queue):
 *   ilad.c     startup, signals, reload, shutdown
 *   dispatch.c the queued events, each to the module that handles it
 *   show.c     the control socket's commands
 *   show_stats.c the counters of show stats and of the metrics
 *   local_resync.c workloads waiting for the mapper's view: what a restart
 *              found, attaches before the vn is in sync
 *   local_neigh.c neighbour events: auto-attach, detach when a neighbour goes
 *   local.c    local workloads: attach, detach, prepare, expect, handover,
 *              incoming, refusals
 *   mclient.c  the session to the mapper: failover between mappers, OPEN,
 *              keepalive, registrations and their ACKs, queries,
 *              subscriptions, pushes
 *   cache.c    the mapping cache and the kernel routes derived from it
 *   bpfpath.c  the BPF data path (dataplane bpf): programs, prefix routes, maps
 *   ondemand.c cache on-demand: miss events to QUERYs, lifetimes, idle eviction
 *   zebra.c    routes announced through FRR's zebra
 *   event.c    the event queue, and the lines of `ilactl monitor`
 *   state.c    lookups: vns, locators, keys, local workloads; the clock
 *   gateway.c  the vns' anycast gateway on the workload interfaces
 */
#ifndef ILA_ILAD_H
#define ILA_ILAD_H

#include <ev.h>
#include <json-c/linkhash.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "control.h"
#include "daemon.h"
#include "frame.h"
#include "metrics.h"
#include "proto.h"
#include "tls.h"
#include "../routing/kernel.h"
#include "../routing/bpf/ila_bpf.h"

struct zapi;

#define ILAD_NAME "ilad"

/* The key of a mapping: vn and address (IPv4 in the first 4 bytes). */
struct ilad_key {
	uint32_t vn;
	uint8_t family;
	uint8_t pad[3];
	union kaddr addr;
};

/* A mapping as this node knows it, and the kernel route derived from it. */
struct centry {
	struct ilad_key key;
	bool known;		 /* the mapper told us about it */
	bool seen;		 /* in the snapshot being received */
	bool dirty;		 /* on the flush list */
	bool installed;		 /* inst is in the kernel */
	struct ila_record rec;	 /* the mapper's view */
	struct kroute inst;	 /* what we installed */
	uint64_t hold_until_ms;	 /* moved away: forwarded to the new node until then */
	bool aux_installed;	 /* aux_inst is in the kernel */
	struct kroute aux_inst;	 /* the SRv6 decapsulation of a workload here (End.DX4/6) */
	bool bpf_set;		 /* dataplane bpf: in ila_map, as below */
	bool bpf_down;
	struct ila_locator bpf_loc;
	struct centry *next_dirty;
};

enum local_state {
	LOCAL_NEW,	/* just created, nothing decided yet */
	LOCAL_ATTACHED,	/* runs here: local delivery, registered */
	LOCAL_PREPARED,	/* warm: registered as standby, not running here yet */
	LOCAL_EXPECTED,	/* may attach by itself (neighbour event) */
	LOCAL_DETACHED,	/* going away: deregistration in flight */
	LOCAL_REFUSED,	/* the mapper refused it: not delivered here, until the
			 * operator attaches, prepares or detaches it again */
};

struct local {
	struct ilad_key key;
	enum local_state state;
	int ifindex;
	char ifname[16];
	bool registered;	/* the mapper acknowledged the last registration */
	bool down;		/* detach down: deregister as down (cold move) */
	bool standby;		/* detached while prepared: the deregistration withdraws
				 * the standby offer (STANDBY_REG) */
	uint16_t last_status;	/* the mapper's status of the last registration */
	bool handover;		/* live migration, source: the workload stopped here;
				 * its packets go to handover_loc (ila_map) */
	struct ila_locator handover_loc; /* the standby locator at the handover */
	bool incoming;		/* live migration, destination: prepared, and its
				 * packets are delivered on ifindex already */
	bool nb_set;		/* incoming ... lladdr: ilad wrote the neighbour entry of
				 * the address on ifindex, with nb_mac, until it attaches */
	uint8_t nb_mac[6];
	int nb_ifindex;
	enum local_resync {
		RESYNC_NONE,
		RESYNC_ADOPTED,	/* found in the kernel at start */
		RESYNC_ATTACH,	/* attached before its vn was in sync */
	} resync;		/* registered only once the mapper's view of it is
				 * known (local_resync) */
	uint32_t reg_xid;	/* the last REGISTER carrying it */
	uint64_t queried_in;	/* a QUERY about it is out on that session (mapper_connects) */
	uint64_t seq;
	uint64_t since_ms;
	uint64_t failed_since_ms; /* neighbour FAILED or deleted, for attach-grace */
	uint64_t probed_ms;	/* the last time the kernel was asked to resolve it */
};

/* Whether the workload's packets are delivered on its device here: attached
 * and not handed over, or prepared and incoming (live migration). The
 * kernel route (cache.c) and zebra's host route (zebra.c) follow it. */
static inline bool local_delivered_here(const struct local *l)
{
	return l && l->ifindex > 0 &&
	       ((l->state == LOCAL_ATTACHED && !l->handover) ||
		(l->state == LOCAL_PREPARED && l->incoming));
}

/* A REGISTER or DEREGISTER waiting for its ACK. */
struct txn {
	struct txn *next;
	uint32_t xid;
	uint8_t type;
	size_t n;
	struct ilad_key *keys;
};

enum mc_state {
	MC_IDLE,	/* waiting to try the next mapper */
	MC_CONNECTING,
	MC_HANDSHAKE,
	MC_OPENSENT,
	MC_UP,
};

struct vn_sync {
	uint32_t vn;
	uint32_t sub_xid;	/* of the SUBSCRIBE of this session */
	uint64_t pos;		/* journal position reached (resume point) */
	bool in_snapshot;
	bool synced;		/* a snapshot or resume completed this session */
	bool refused;		/* the mapper refused the subscription this session */
	int mapper;		/* which mapper pos belongs to (-1: none) */
	uint64_t directory;	/* the directory pos belongs to (0: not said) */
};

struct ilad_stats {
	uint64_t mapper_connects;
	uint64_t mapper_failures;
	uint64_t mapper_failovers;
	uint64_t pushes;
	uint64_t push_records;
	uint64_t snapshots;
	uint64_t registrations_sent;
	uint64_t registrations_acked;
	uint64_t registrations_refused;
	uint64_t deregistrations_sent;
	uint64_t errors_received;
	uint64_t malformed;
	uint64_t routes_replaced;
	uint64_t routes_deleted;
	uint64_t route_failures;
	uint64_t netlink_batches;
	uint64_t bpf_batches;	/* dataplane bpf: ila_map updates, one per flush */
	uint64_t bpf_set;	/* mappings written to ila_map */
	uint64_t bpf_deleted;
	uint64_t bpf_failures;
	uint64_t xlat_added;
	uint64_t neigh_events;
	uint64_t auto_attached;
	uint64_t spoof_refused;	/* neighbour for an address attached elsewhere, not expected */
	uint64_t auto_detached;
	uint64_t neigh_unsynced;	/* neighbour events left for later: vn not in sync */
	uint64_t neigh_overflows;	/* neighbour events lost (ENOBUFS): tables read again */
	uint64_t neigh_dumps;		/* neighbour table dumps requested */
	uint64_t neigh_probes;		/* attached workloads whose entry went: resolved again */
	uint64_t forwarded_moves; /* local workloads that moved away: routes re-pointed */
	uint64_t inflight_holds;  /* moved-away addresses forwarded for the hold time */
	uint64_t inflight_routes; /* routes written to forward a held address (man ilad.8) */
	uint64_t locator_unreachable; /* ILA routes to a locator the kernel cannot reach */
	uint64_t resumed;	/* workloads from before a restart registered again */
	uint64_t released;	/* ... let go: they moved while ilad was down */
	uint64_t lapsed;	/* own mappings that lapsed at the mapper, registered again */
	uint64_t handovers;	/* ilactl handover: sent to the standby before the move */
	uint64_t handovers_refused; /* ... refused: not attached, no standby, no bpf */
	uint64_t incoming;	/* ilactl incoming: a prepared workload delivered here */
	uint64_t incoming_refused; /* ... refused: not prepared here, bad MAC, ... */
	uint64_t incoming_neigh_failed; /* its neighbour entry: the kernel refused to write
					 * or remove it */
	uint64_t incoming_neigh_restored; /* ... written again: the kernel removed it, or it
					   * failed, before the attach */
	uint64_t subscriptions_refused;
	uint64_t mapper_identity_refused; /* mapper certificate of the wrong name or role */
	/* records from PUSH or REPLY dropped before the cache: */
	uint64_t records_rejected_vn;	  /* of a vn this node does not serve */
	uint64_t records_rejected_family; /* IPv4 in a vn without ipv4-prefix */
	uint64_t records_rejected_prefix; /* address outside the vn's prefix */
	/* cache on-demand (ondemand.c) */
	uint64_t od_misses;		/* miss events read */
	uint64_t od_misses_bad;		/* ... of an address outside the vn's prefix */
	uint64_t od_queries;		/* QUERY frames for misses and refreshes */
	uint64_t od_installed;		/* answers installed */
	uint64_t od_refreshed;		/* ... again, before the lifetime ran out */
	uint64_t od_no_mapping;		/* answers without a mapping: remembered */
	uint64_t od_refused;		/* queries refused by the mapper: remembered */
	uint64_t od_negative_hits;	/* misses of an address remembered without mapping */
	uint64_t od_forgotten;		/* negative entries forgotten */
	uint64_t od_evicted;		/* idle entries out of the map */
	uint64_t od_released;		/* ... released at the mapper */
	uint64_t od_pushed;		/* watched changes pushed by the mapper */
	uint64_t od_full;		/* misses not followed: on-demand-max reached */
	/* the anycast gateway (gateway.c) */
	uint64_t gateway_applied;	/* interfaces given the gateway MAC and addresses */
	uint64_t gateway_errors;	/* ... that the kernel refused (logged, show vn) */
};

/* An interface given a vn's anycast gateway (gateway.c). */
struct gw_dev {
	char name[IF_NAMESIZE];
	uint32_t vn;		/* vn id */
	int ifindex;		/* 0: not in this namespace now */
	bool up;
	bool attach;		/* named by an attach or prepare, not by `interface` */
	int err;		/* of the last try, 0: set */
	char errmsg[160];
	uint64_t applied;	/* times set */
	uint64_t applied_ms;	/* last time set */
};

/* cache on-demand: what this node knows of an address that missed */
enum od_state {
	OD_QUERYING,	/* asked (or waiting for the session) */
	OD_INSTALLED,	/* in the cache and ila_map */
	OD_NO_MAPPING,	/* the mapper has none: not asked again for a while */
	OD_REFUSED,	/* the mapper refused the query: likewise */
};

struct od_entry {
	struct ilad_key key;
	enum od_state state;
	bool pending;		/* in the batch being gathered */
	bool sent;		/* a QUERY about it is out */
	uint64_t misses;	/* miss events */
	uint64_t first_ms, last_ms; /* first and last miss event (ilad_now_ms) */
	uint64_t miss_us;	/* first miss event, monotonic us */
	uint64_t queried_us;	/* the last QUERY about it */
	uint64_t install_us;	/* from the first miss event to installed */
	uint64_t lifetime_ms;	/* the last answer's lifetime */
	uint64_t until_ms;	/* installed: the lifetime ends; else: forgotten then */
	uint64_t packets, bytes;/* its BPF counters at the last look */
	uint64_t used_ms;	/* when they last grew (or it was installed) */
};
#define ONDEMAND_BATCH_MS 2		/* misses gathered into one QUERY */
#define ONDEMAND_NEGATIVE_MS 5000	/* an address without mapping, remembered */

/*
 * What one module tells another, run from the event queue after the
 * current callback returns (event.c), never re-entrantly: the mapper's
 * answers reach the local workloads, the cache's findings reach them too,
 * and monitor lines reach the control socket's clients.
 */
enum ilad_ev_type {
	ILAD_EV_MONITOR,	/* a line for `ilactl monitor`: name, key?, detail */
	ILAD_EV_ADOPTED,	/* a local delivery route found at start: key, ifindex;
				 * late: a host route zebra kept, adopted already */
	ILAD_EV_LAPSED,		/* own mapping down (rec) or removed (no rec): key */
	ILAD_EV_MOVED_AWAY,	/* key, rec */
	ILAD_EV_PROMOTED,	/* key, rec */
	ILAD_EV_REGISTERED,	/* an ACK's status for key: msg_type, status, xid */
	ILAD_EV_UNANSWERED,	/* an ERROR for the request xid carrying key: status */
	ILAD_EV_RESYNC,		/* the mapper's view of vn is complete */
	ILAD_EV_ANSWERED,	/* a REPLY: keys asked, recs found */
	ILAD_EV_QUERY_WAITING,	/* session up: ask about what waits */
	ILAD_EV_OD_PUSHED,	/* cache on-demand: a pushed record (rec) */
	ILAD_EV_DEV_APPEARED,	/* a workload interface of vn appeared, up: ifindex, name */
};

struct ilad_ev {
	struct ilad_ev *next;
	enum ilad_ev_type type;
	bool has_key, has_rec;
	bool late;
	struct ilad_key key;
	struct ila_record rec;
	uint32_t vn, xid;
	uint16_t status;
	uint8_t msg_type;
	int ifindex;
	struct ilad_key *keys;	/* copied in, owned by the queue */
	size_t n;
	struct ila_record *recs; /* likewise */
	size_t nrec;
	char name[24];
	char detail[192];
};

/* An `attach` or `prepare` waiting for the mapper's answer. */
struct ctl_wait {
	struct ilad_key key;
	uint32_t xid;		/* of the REGISTER carrying it; 0: not sent yet */
	uint64_t ticket;	/* the control client's */
	uint64_t deadline_ms;
};

struct ilad {
	struct ev_loop *loop;
	struct ila_daemon_opts opts;
	struct ila_conf *conf;
	struct kernel *kernel;	/* NULL in control-plane mode */
	struct zapi *zapi;	/* NULL unless `zebra on` */
	bool ila;		/* kernel ILA routes and translation */
	bool seg6_reduced;	/* the kernel takes SRv6 encap.red routes */
	struct ilad_bpf *bpf;	/* dataplane bpf (bpfpath.c); NULL otherwise */
	const struct bpfpath_ops *bpf_ops;
	struct ila_ctl_server *ctl;

	/* mapper session */
	struct ila_tls_ctx tls;
	bool use_tls;
	enum mc_state mc;
	int mapper;		/* index into conf->mappers */
	int fd;
	struct ila_conn conn;
	ev_io mc_io;
	ev_timer mc_timer;	/* connect/handshake/OPEN timeout, then dead timer */
	ev_timer ka_timer;
	ev_timer retry_timer;
	ev_timer refresh_timer;
	struct ila_frame_reader rd;
	struct ila_frame_writer wr;
	uint32_t next_xid;
	struct txn *txns;
	uint64_t mc_since_ms;
	uint64_t last_up_ms;
	char mc_error[160];
	unsigned failures_in_row;
	unsigned rounds_failed;	/* full rounds of the mappers failed in a row */
	uint64_t directory;	/* the current mapper's directory (OPEN), 0: not said */
	struct vn_sync sync[ILA_CONF_MAX_VNS];
	unsigned rejects_logged; /* bit per REJ_* logged this session (mclient.c) */

	/* state */
	struct lh_table *cache;	/* struct ilad_key -> struct centry */
	struct lh_table *locals;	/* struct ilad_key -> struct local */
	struct centry *dirty;
	bool applying_snapshot;	/* cache_apply: records of a snapshot win whatever their number */
	struct nh_memo {	/* next hops of locators, for the flush under way */
		struct ila_locator loc;
		int oif;
		union kaddr gateway;
		int err;
	} nh[64];
	unsigned n_nh;
	bool reconciled;	/* routes from before the start were checked */
	int neigh_fd;
	bool neigh_dumping;	/* a dump of the neighbour tables is under way */
	bool neigh_dump_again;	/* ... and another one is wanted after it */
	uint64_t neigh_dump_ms;	/* when the one under way was asked for */
	ev_io neigh_io;
	ev_timer neigh_timer;
	ev_timer hold_timer;	/* ends the forwarding of moved-away addresses */
	struct ilad_key *holds;	/* the addresses being forwarded */
	size_t n_holds, cap_holds;
	struct ctl_wait *waits;	/* control commands waiting for an ACK */
	size_t n_waits, cap_waits;
	ev_timer wait_timer;
	struct gw_dev *gw;	/* interfaces with a gateway (gateway.c) */
	size_t n_gw, cap_gw;
	int link_fd;		/* link events, -1 without a gateway */
	ev_io link_io;

	struct ila_daemon_signals signals;
	struct ilad_stats stats;
	struct ila_hist convergence;	/* PUSH read to data path written (mclient.c) */
	struct ila_metrics_server *metrics;

	/* cache on-demand (ondemand.c); od is NULL with cache full */
	struct lh_table *od;	/* struct ilad_key -> struct od_entry */
	ev_timer od_batch_w;	/* misses gathered for ONDEMAND_BATCH_MS */
	ev_timer od_tick_w;	/* lifetimes, counters, idle eviction: every second */
	struct ilad_key *od_pend;
	size_t od_npend, od_cappend;
	uint32_t mapper_caps;	/* the capabilities of this mapper session */

	/* the event queue (event.c) */
	struct ilad_ev *ev_head, *ev_tail;
	ev_prepare ev_drain;
	void (*dispatch)(struct ilad *d, const struct ilad_ev *ev);
};

/* state.c */
uint64_t ilad_now_ms(void);
const struct ila_conf_vn *ilad_vn(const struct ilad *d, uint32_t id);
/* The vn holding addr (SIR prefix or IPv4 prefix), or NULL. */
const struct ila_conf_vn *ilad_vn_of(const struct ilad *d, int family, const union kaddr *a);
/* The locator this node uses for a vn, or NULL when it has none. */
const struct ila_locator *ilad_locator_for(const struct ilad *d, uint32_t vn);
bool ilad_is_my_locator(const struct ilad *d, const struct ila_locator *l);
void ilad_key_of_record(const struct ila_record *r, struct ilad_key *k);
void ilad_key_to_record(const struct ilad_key *k, struct ila_record *r);
const char *ilad_key_addr(const struct ilad_key *k, char *buf, size_t len);
struct local *local_get(struct ilad *d, const struct ilad_key *k);
struct local *local_new(struct ilad *d, const struct ilad_key *k); /* found or created */
const char *ilad_vn_name(const struct ilad *d, uint32_t id);

/* cache.c */
int cache_init(struct ilad *d, char *err, size_t errlen);
void cache_free(struct ilad *d);
struct centry *cache_get(struct ilad *d, const struct ilad_key *k, bool create);
/* Applies a PUSH or REPLY record. */
void cache_apply(struct ilad *d, const struct ila_record *r);
void cache_snapshot_begin(struct ilad *d, uint32_t vn);
void cache_snapshot_end(struct ilad *d, uint32_t vn);
/* A table keyed by struct ilad_key with the cache's hash. */
struct lh_table *cache_table_new(int size, lh_entry_free_fn *free_fn);
/* Queues the entry for the next flush. */
void cache_touch(struct ilad *d, const struct ilad_key *k);
/* Writes every queued change to the kernel in one netlink batch. */
void cache_flush(struct ilad *d);
/* k's routes are written again at the next flush, whatever ilad believes is
 * installed (the kernel removes a link's routes when it leaves). */
void cache_rewrite(struct ilad *d, const struct ilad_key *k);
/* Reads the routes of our protocol (before the first snapshot). */
int cache_load_kernel(struct ilad *d);
/* Removes every route and translation entry ilad installed. */
void cache_flush_all(struct ilad *d);
int cache_install_xlat(struct ilad *d, char *err, size_t errlen);
/* k moved away: in host-route mode an IPv4 address is forwarded to its new
 * node (SRv6) for the hold time. */
void cache_hold(struct ilad *d, const struct ilad_key *k);
/* The kernel's counters of this node's End.DX4/End.DX6 routes, summed:
 * what other nodes sent here inside IPv6 and was delivered to a workload
 * (0 without a kernel, or a kernel without seg6local counters). */
void cache_decap_counters(struct ilad *d, uint64_t *packets, uint64_t *bytes);

/* local.c; local_init and local_free are local_neigh.c's, local_resync,
 * local_answered and local_query_waiting local_resync.c's */
/* Opens the neighbour socket and asks for both neighbour tables. */
/* gateway.c: the anycast gateway on the vn interfaces, and on those attach
 * or prepare names (gateway_dev); nothing without a vn gateway. */
int gateway_init(struct ilad *d, char *err, size_t errlen);
void gateway_dev(struct ilad *d, uint32_t vn, const char *ifname);
void gateway_free(struct ilad *d); /* leaves the gateway on the interfaces */
void gateway_link_local(const struct ila_conf_vn *vn, union kaddr *a);

int local_init(struct ilad *d, char *err, size_t errlen);
void local_free(struct ilad *d);
/* A local delivery route found in the kernel at start: the workload runs here. */
void local_adopt(struct ilad *d, const struct ilad_key *k, int ifindex);
/* Control commands; 0 or -errno with a message in err. */
int local_attach(struct ilad *d, const char *addr, const char *dev, char *err, size_t errlen);
int local_detach(struct ilad *d, const char *addr, bool down, char *err, size_t errlen);
int local_handover(struct ilad *d, const char *addr, char *err, size_t errlen);
int local_incoming(struct ilad *d, const char *addr, const char *dev, const char *lladdr,
		   char *err, size_t errlen);
int local_prepare(struct ilad *d, const char *addr, const char *dev, char *err, size_t errlen);
int local_expect(struct ilad *d, const char *addr, char *err, size_t errlen);
/* The mapper acknowledged (status 0) or refused a registration of k,
 * carried by the request xid. */
void local_registered(struct ilad *d, const struct ilad_key *k, uint8_t type, uint16_t status,
		      uint32_t xid);
/* The mapper answered the request xid with an ERROR (nothing done): the
 * registrations it carried are sent again at the next refresh. */
void local_unanswered(struct ilad *d, const struct ilad_key *k, uint32_t xid, uint16_t code);
/* The mapper's view of vn is known (snapshot complete, or the subscription
 * refused): the workloads found at start are registered again, or let go. */
void local_resync(struct ilad *d, uint32_t vn);
/* The mapper answered a QUERY of keys with recs (those with a mapping, or
 * a tombstone), or refused it (error). */
void local_answered(struct ilad *d, const struct ilad_key *keys, size_t n,
		    const struct ila_record *recs, size_t nrec, uint16_t error);
/* Session up: asks the mapper's view of every workload that waits for it. */
void local_query_waiting(struct ilad *d);
/* Attach/prepare control commands that wait for their ACK. */
int local_wait(struct ilad *d, const struct ilad_key *k, uint32_t xid, char *msg, size_t len);
void local_waits_free(struct ilad *d);
/* A push made this node the owner of k (the standby was promoted). */
void local_promoted(struct ilad *d, const struct ilad_key *k, const struct ila_record *r);
/* A workload interface of vn appeared (gateway.c): its workloads without one,
 * or on one of that name, are delivered on it. */
void local_dev_appeared(struct ilad *d, uint32_t vn, int ifindex, const char *ifname);
/* A push moved k away from this node. */
void local_moved_away(struct ilad *d, const struct ilad_key *k, const struct ila_record *r);
/* A push says this node's own mapping of k went down or was removed
 * without a move (it lapsed: not refreshed in time). */
void local_lapsed(struct ilad *d, const struct ilad_key *k, const struct ila_record *r);
/* local.c, for local_neigh.c and local_resync.c */
/* Attaches k on ifindex (an attach, or a neighbour's): the xid of the
 * REGISTER sent, 0 when it waits for the vn's sync, or -errno. */
int64_t local_attach_on(struct ilad *d, const struct ilad_key *k, int ifindex,
			const char *ifname);
/* The number a deregistration of l takes while l waits for the mapper's view. */
void local_own_seq(struct ilad *d, struct local *l);
/* The sequence number a move to this node takes: above every one seen. */
uint64_t local_next_seq(struct ilad *d, const struct local *l);
/* Writes again the neighbour entry incoming wrote for l (it went or failed). */
void local_incoming_neigh_restore(struct ilad *d, struct local *l);
/* local_neigh.c, for local_resync.c: reads both neighbour tables (one dump
 * at a time; one asked for meanwhile runs after it). */
void local_neigh_dump(struct ilad *d);

/* mclient.c */
void mc_init(struct ilad *d);
void mc_stop(struct ilad *d, bool goodbye);
/* Takes fd, a socket connected to a mapper in plaintext, as the session to
 * the current mapper (the fuzz target's way in): OPEN is sent, the rest goes
 * as after a connect. The session must be idle. 0 or -EINVAL. */
int mc_adopt(struct ilad *d, int fd);
bool mc_up(const struct ilad *d);
/* The mapper's view of vn is complete this session (its snapshot arrived). */
bool mc_vn_synced(const struct ilad *d, uint32_t vn);
/* Every vn is (mc_vn_synced); with cache on-demand, which subscribes to
 * nothing, the session is up. */
bool mc_all_synced(const struct ilad *d);
/* Sends the registration of locals when the session is up (otherwise they
 * are registered when it comes up). Returns the xid of the last request
 * sent, 0 when nothing was sent, or -errno. */
int64_t mc_register(struct ilad *d, struct local **locals, size_t n, uint8_t type);
const char *mc_state_name(enum mc_state s);
/* Asks the mapper's current view of keys, all of vn (answered through
 * local_answered). Returns the last xid, 0 when the session is down, or
 * -errno. */
int64_t mc_query(struct ilad *d, uint32_t vn, const struct ilad_key *keys, size_t n);

/* Tells the mapper to forget this node's interest in keys, all of vn
 * (QUERY with RELEASE; nothing waits for the answer). Returns the xid, 0
 * when the session is down or the mapper has no WATCH, or -errno. */
int64_t mc_release(struct ilad *d, uint32_t vn, const struct ilad_key *keys, size_t n);

/* ondemand.c: cache on-demand */
int ondemand_init(struct ilad *d, char *err, size_t errlen);
void ondemand_free(struct ilad *d);
/* A miss event of the data path (bpfpath.c). */
void ondemand_miss(struct ilad *d, uint32_t vn, const struct in6_addr *addr);
/* The gathered misses go out now. */
void ondemand_batch_flush(struct ilad *d);
void ondemand_batch_cb(struct ev_loop *loop, ev_timer *w, int revents);
/* The mapper answered a QUERY of keys (or refused it: error). */
void ondemand_answered(struct ilad *d, const struct ilad_key *keys, size_t n,
		       const struct ila_record *recs, size_t nrec, uint16_t error);
/* A PUSH with WATCHED brought r (already in the cache). */
void ondemand_pushed(struct ilad *d, const struct ila_record *r);
/* Session up: every entry held or asked is asked again (with WATCH). */
void ondemand_session_up(struct ilad *d);
/* Every second: counters, idle eviction, refreshes, negative entries. */
void ondemand_tick(struct ilad *d);
void ondemand_tick_cb(struct ev_loop *loop, ev_timer *w, int revents);
struct od_entry *ondemand_get(struct ilad *d, const struct ilad_key *k);
const char *ondemand_state_name(enum od_state s);

/* bpfpath.c: dataplane bpf */
#define BPFPATH_COUNTERS ILA_BPF_COUNTERS
struct bpfpath_op {
	uint32_t vn;
	struct in6_addr addr;
	struct ila_locator loc;
	bool down;
	bool del;
};
/* What cache.c, show.c and show_stats.c call, through d->bpf_ops: they neither link
 * libbpf nor know whether it was built (the unit tests link them alone). */
struct bpfpath_ops {
	/* Writes ila_map: the sets, then the deletes, each in one batch. */
	int (*apply)(struct ilad *d, const struct bpfpath_op *ops, size_t n);
	/* A mapping's packets and bytes since it was set. */
	int (*counters)(struct ilad *d, uint32_t vn, const struct in6_addr *a, uint64_t *packets,
			uint64_t *bytes);
	/* enum ila_bpf_counter, summed over the CPUs. */
	int (*global)(struct ilad *d, uint64_t out[BPFPATH_COUNTERS]);
	/* The devices ila_in is attached to. */
	unsigned (*uplinks)(const struct ilad *d, int *out, unsigned max);
	/* Once ila_map was written after mc_all_synced() became true (and at
	 * each later resync): replaces an earlier ilad's data path if it is
	 * still waiting (bpfpath.c). */
	void (*synced)(struct ilad *d);
};
/* The address of k in ila_map: its own for IPv6, ::ffff:a.b.c.d for IPv4. */
void ilad_bpf_addr(const struct ilad_key *k, struct in6_addr *out);
/* Whether this ilad was built with the BPF data path. */
bool bpfpath_built(void);
/* Loads the programs, fills the prefixes and locators, installs each vn's
 * SIR prefix route with ila_out and attaches ila_in to the uplinks; sets
 * d->bpf and d->bpf_ops. When an earlier ilad's routes or filters are
 * there, they stay until d->bpf_ops->synced finds the cache in sync. */
int bpfpath_open(struct ilad *d, char *err, size_t errlen);
/* flush: removes the prefix routes and the ila_in filters (an earlier
 * ilad's too); else leaves them translating for the next ilad. */
void bpfpath_close(struct ilad *d, bool flush);

/* zebra.c */
int zebra_init(struct ilad *d, char *err, size_t errlen);
/* Whether k's host route goes through zebra (which then installs it). */
bool zebra_announces(const struct ilad *d, const struct ilad_key *k);
/* The host route of k follows the local workload state. */
void zebra_sync(struct ilad *d, const struct ilad_key *k);
void zebra_stop(struct ilad *d, bool withdraw);

/* show.c */
/* The control sockets, given to owner:group ((uid_t)-1, (gid_t)-1: unchanged). */
int show_open(struct ilad *d, uid_t owner, gid_t group, char *err, size_t errlen);
void show_close(struct ilad *d);

/* show_stats.c */
/* The rows of show stats, with their metric names: fills rows[SHOW_STATS_ROWS]. */
#define SHOW_STATS_ROWS 80
struct ila_stat_row;
size_t show_stats_rows(struct ilad *d, struct ila_stat_row *rows);
/* dataplane bpf: ilad's ila_map updates and the programs' counters, as rows
 * (none without BPF): fills rows[SHOW_BPF_ROWS]. */
#define SHOW_BPF_ROWS (4 + BPFPATH_COUNTERS)
size_t show_bpf_rows(struct ilad *d, struct ila_stat_row *rows);
/* For show.c: the command show stats; the BPF rows added to o (JSON) or
 * printed to out. */
int cmd_show_stats(void *ctx, const struct ila_cli_args *a, struct ila_buf *out);
void show_bpf_print(struct ilad *d, json_object *o, struct ila_buf *out);

/* metrics.c: the metrics listen endpoint (before privileges are dropped) */
int metrics_open(struct ilad *d, char *err, size_t errlen);
void metrics_close(struct ilad *d);

/* dispatch.c: what the queue runs for each event (ilad_events_init) */
void ilad_run_event(struct ilad *d, const struct ilad_ev *ev);

/* event.c */
/* The queue runs dispatch(d, ev) for each event, in order, once the
 * callback that posted it has returned. */
void ilad_events_init(struct ilad *d, void (*dispatch)(struct ilad *d, const struct ilad_ev *ev));
/* Queues a copy of ev (and of its keys and recs arrays). */
void ilad_post(struct ilad *d, const struct ilad_ev *ev);
/* Runs what is queued now (at start, before the loop, and at shutdown). */
void ilad_events_run(struct ilad *d);
void ilad_events_free(struct ilad *d);
/* A line for `ilactl monitor`, queued (nothing is built when nobody listens). */
void ilad_event(struct ilad *d, const char *event, const struct ilad_key *k, const char *detail);
bool ilad_monitoring(const struct ilad *d);

#endif
