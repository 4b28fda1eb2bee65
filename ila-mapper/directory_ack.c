/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A request's answer once its commit ended (ACK, STATUS or ERROR); the request freed. */
#include "config.h"

#include <stdlib.h>

#include "mapper.h"
#include "directory_priv.h"

void dir_op_free(struct pending_op *op)
{
	ila_msg_free(&op->msg);
	free(op->status);
	free(op->done);
	free(op);
}

/* The answer to a REGISTER or DEREGISTER once its commit ended (6.10, 8.3). */
void dir_send_ack(struct mapper *m, struct pending_op *op, bool committed)
{
	struct ila_msg ack = { .type = ILA_MSG_ACK, .xid = op->msg.xid };

	if (!op->s || !session_open(op->s))
		return;
	if (!committed) {
		/* nothing of it is durable: the whole request fails, the node
		 * sends it again */
		session_send_error(op->s, op->msg.xid, ILA_PERR_INTERNAL,
				   "store commit failed: nothing of the request was done");
		session_kick(op->s);
		return;
	}
	ack.ack.has_count = true;
	ack.ack.count = op->accepted;
	if (op->accepted < op->msg.nrec) {
		/* STATUS only when a record was refused. What made a record
		 * stale (another node's move, say) reaches the node first: the
		 * pushes it is owed go out before the refusal (protocol.md 8.3),
		 * so that it forwards to the new owner instead of dropping */
		push_pump(m, op->s);
		ack.ack.status = op->status;
		ack.ack.nstatus = op->msg.nrec;
	}
	if (session_send(op->s, &ack) == 0)
		session_kick(op->s);
}

void dir_op_error(struct pending_op *op, int code, const char *text)
{
	if (op->s && session_open(op->s)) {
		session_send_error(op->s, op->msg.xid, code, "%s", text);
		session_kick(op->s);
	}
}
