/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QUERY, with its flags WATCH and RELEASE (protocol.md 8.9). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mapper.h"
#include "directory_priv.h"

/* QUERY flags WATCH and RELEASE (protocol.md 8.9), once the query is
 * authorised. Returns true when the query was answered here (RELEASE, or a
 * refusal); *watch tells whether the answer is watched. */
static bool directory_query_watch(struct mapper *m, struct session *s, const struct ila_msg *msg,
				  bool *watch)
{
	uint32_t f = msg->sub.flags & (ILA_QUERY_F_WATCH | ILA_QUERY_F_RELEASE);
	struct session_info si;
	int rc;

	*watch = false;
	if (!f)
		return false;
	session_info(s, &si);
	if (!(si.caps & ILA_CAP_WATCH)) {
		m->stats.unsupported++;
		session_send_error(s, msg->xid, ILA_PERR_UNSUPPORTED,
				   "QUERY flag %s needs capability WATCH, not negotiated in OPEN",
				   f & ILA_QUERY_F_WATCH ? "WATCH" : "RELEASE");
		return true;
	}
	if (f == (ILA_QUERY_F_WATCH | ILA_QUERY_F_RELEASE)) {
		m->stats.unexpected++;
		session_send_error(s, msg->xid, ILA_PERR_BAD_VALUE,
				   "QUERY flags WATCH and RELEASE together");
		return true;
	}
	if (f == ILA_QUERY_F_WATCH)
		m->stats.watch_queries++;
	rc = watch_query(m, session_node(s), msg);
	if (rc == -EDQUOT) {
		session_send_error(s, msg->xid, ILA_PERR_QUOTA,
				   "node %s watches %u addresses already (watch max %u)",
				   session_node_name(s), watch_count(m, session_node(s)),
				   m->conf->watch_max);
		return true;
	}
	if (rc < 0) {
		session_send_error(s, msg->xid, ILA_PERR_INTERNAL, "out of memory");
		return true;
	}
	if (f == ILA_QUERY_F_RELEASE) {
		/* released: an empty REPLY says so */
		if (session_send(s, &(struct ila_msg){ .type = ILA_MSG_REPLY, .xid = msg->xid }) == 0)
			session_kick(s);
		return true;
	}
	*watch = true;
	return false;
}

void directory_query(struct mapper *m, struct session *s, const struct ila_msg *msg)
{
	struct ila_msg reply = { .type = ILA_MSG_REPLY, .xid = msg->xid };
	bool watch;
	const struct ila_conf_vn *vn = mapper_vn(m, msg->sub.vn);
	int node = session_node(s);
	struct store_key *seen;
	MDB_txn *txn;

	/* an unknown vn first: there is no right to check on it */
	if (!vn) {
		m->stats.vn_unknown++;
		session_send_error(s, msg->xid, ILA_PERR_VN_UNKNOWN, "vn %u is not configured",
				   msg->sub.vn);
		return;
	}
	/* the right to read a vn is the right to subscribe to it */
	if (node < 0 || (!ila_conf_nodeset_has(vn->subscribe, (unsigned)node) &&
			 !ila_conf_nodeset_has(vn->serve, (unsigned)node))) {
		m->stats.not_authorised++;
		m->stats.query_not_authorised++;
		session_send_error(s, msg->xid, ILA_PERR_NOT_AUTHORISED,
				   "node %s may not query vn %s", session_node_name(s), vn->name);
		return;
	}
	if (directory_query_watch(m, s, msg, &watch))
		return;
	reply.rec = calloc(msg->nrec ? msg->nrec : 1, sizeof(*reply.rec));
	seen = calloc(msg->nrec ? msg->nrec : 1, sizeof(*seen));
	if (!reply.rec || !seen || store_begin(&m->store, false, &txn) < 0) {
		free(reply.rec);
		free(seen);
		session_send_error(s, msg->xid, ILA_PERR_INTERNAL, "store unavailable");
		return;
	}
	for (size_t i = 0, nseen = 0; i < msg->nrec; i++) {
		struct ila_record q = msg->rec[i];
		struct store_key k;
		struct mapping mp;
		size_t j;

		/* addresses without a mapping are left out of the REPLY; an
		 * address asked twice is answered once */
		q.vn = msg->sub.vn;
		store_key_of(&q, &k);
		for (j = 0; j < nseen && memcmp(seen[j].b, k.b, STORE_KEY_LEN) != 0; j++)
			;
		if (j < nseen)
			continue;
		seen[nseen++] = k;
		if (store_get(&m->store, txn, &k, &mp) == 0) {
			mp.rec.lifetime = mapper_lifetime_left(m, &mp);
			/* a watched answer lives no longer than the interest */
			if (watch && mp.rec.lifetime > m->conf->watch_lifetime_s)
				mp.rec.lifetime = m->conf->watch_lifetime_s;
			reply.rec[reply.nrec++] = mp.rec;
		}
	}
	mdb_txn_abort(txn);
	free(seen);
	if (session_send(s, &reply) == 0)
		session_kick(s);
	free(reply.rec);
}
