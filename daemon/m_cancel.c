/*
 * m_cancel.c: cancel [msgid]: stop a running stream of this connection.
 */
#include "config.h"
#include "snakebridged.h"

void
m_cancel(struct request *r)
{
	uint64_t msgid = r->params->via.array.ptr[0].via.u64;
	struct request *t;
	struct worker *w;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	TAILQ_FOREACH(t, &r->conn->requests, centry) {
		if (t != r && t->msgid == msgid && t->method != NULL &&
		    (t->method->flags & M_STREAMFORM))
			break;
	}
	if (t != NULL) {
		w = t->state == REQUEST_RUNNING ? t->worker : NULL;
		request_error(t, SB_ERRTYPE_CANCELLED, "cancelled by the "
		    "client");
		if (w != NULL)
			worker_interrupt(w);
	}
	request_reply_begin(&sb, &pk);
	msgpack_pack_true(&pk);
	request_reply(r, &sb);
}
