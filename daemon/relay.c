/*
 * relay.c: moving frames between clients and workers without decoding
 * values. A client request goes to its worker as
 * [0, wid, method, [session_id, params before OPTS]] with the params' bytes
 * copied (and a fifth element, the connection id, when the connection holds
 * shared blocks); a worker's response goes back with only its msgid
 * rewritten. Also the worker's notifications (ready, stream.items) and
 * requests (callbacks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

/*
 * Find the byte range of the params r forwards (the first r->nparams). They
 * follow the method name, a str that points into r->raw (mpk_unpack).
 */
int
relay_prepare(struct request *r)
{
	const msgpack_object *name = &r->up.data.via.array.ptr[2];
	const char *p = r->raw;
	size_t len = r->rawlen, off, n;
	uint32_t count, i;

	if (name->type != MSGPACK_OBJECT_STR || name->via.str.ptr < p ||
	    name->via.str.ptr > p + len ||
	    name->via.str.size > len - (size_t)(name->via.str.ptr - p))
		return (-1);
	off = (size_t)(name->via.str.ptr - p) + name->via.str.size;
	if (mpk_array_header(p + off, len - off, &count, &n) != 0 ||
	    count < r->nparams)
		return (-1);
	off += n;
	r->fwd_off = off;
	if (r->nparams == count && off <= r->msglen && r->msglen <= len) {
		/* all of them: the params array ends the message */
		r->fwd_len = r->msglen - off;
		return (0);
	}
	for (i = 0; i < r->nparams; i++) {
		if ((n = mpk_skip(p + off, len - off)) == 0)
			return (-1);
		off += n;
	}
	r->fwd_len = off - r->fwd_off;
	return (0);
}

/*
 * Send r to w as [0, wid, method, [session_id, params...]] (and the
 * connection id when its connection holds shared blocks); the header is
 * written here, the params' bytes follow as the client sent them.
 */
void
relay_to_worker(struct request *r, struct worker *w, uint32_t wid)
{
	const char *method = r->internal_method != NULL ?
	    r->internal_method : r->method->name;
	uint64_t sid = r->internal_method != NULL ? r->internal_sid :
	    r->session->id;
	int shm = r->conn != NULL && r->conn->nblocks > 0;
	size_t mlen = strlen(method), n = 0;
	char h[128], t[SB_HEAD_MAX];

	if (mlen > sizeof h - 32)
		abort();	/* method names are short */
	metrics_dispatched(r, w);
	n += sb_head_put(h + n, SB_HEAD_ARRAY, shm ? 5 : 4);
	h[n++] = SB_MSG_REQUEST;
	n += sb_head_put(h + n, SB_HEAD_UINT, wid);
	n += sb_head_put(h + n, SB_HEAD_STR, mlen);
	memcpy(h + n, method, mlen);
	n += mlen;
	n += sb_head_put(h + n, SB_HEAD_ARRAY, (uint64_t)r->nparams + 1);
	n += sb_head_put(h + n, SB_HEAD_UINT, sid);
	if (r->fwd_len >= SBD_BIG_MESSAGE) {
		/* the params' bytes go as they are; the request lets go */
		worker_write2(w, h, n, r->raw + r->fwd_off, r->fwd_len,
		    r->raw);
		r->raw = NULL;
		r->params = NULL;
	} else
		worker_write2(w, h, n, r->fwd_len > 0 ?
		    r->raw + r->fwd_off : NULL, r->fwd_len, NULL);
	/* the trailer: the connection whose blocks ext 12 names */
	if (shm)
		worker_write(w, t, sb_head_put(t, SB_HEAD_UINT, r->conn->id));
}

/* A response [1, wid, error, result] from w; on 0, block (or NULL) is taken. */
static int
relay_response(struct worker *w, char *msg, size_t len, size_t off,
    char *block)
{
	uint64_t wid;
	size_t n;
	struct request *r;

	if (mpk_uint(msg + off, len - off, &wid, &n) != 0)
		return (-1);	/* block stays the caller's */
	off += n;
	if (w->state != WORKER_BUSY || wid != w->cur_wid) {
		log_warn("worker %s/%u: unexpected response %llu",
		    w->pool->name, w->slot, (unsigned long long)wid);
		free(block);
		return (0);
	}
	r = w->cur;
	w->cur = NULL;
	if (r != NULL)
		request_answer_owned(r, msg + off, len - off, block);
	else
		free(block);
	if (callback_pop(w))
		return (0);
	if (ahead_next(w))
		pool_dispatch(w->pool);	/* room to send one more ahead */
	else
		worker_idle(w);
	return (0);
}

/* ["stream.items", [wid, items]] to the client as [msgid, items]. */
static void
relay_stream_items(struct worker *w, const char *msg, size_t len, size_t off)
{
	struct request *r;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint32_t count;
	uint64_t wid;
	size_t n;

	if (mpk_array_header(msg + off, len - off, &count, &n) != 0 ||
	    count != 2)
		return;
	off += n;
	if (mpk_uint(msg + off, len - off, &wid, &n) != 0)
		return;
	off += n;
	/* the current request, or a stream waiting under a nested one */
	r = wid == w->cur_wid ? w->cur : callback_outer(w, (uint32_t)wid);
	if (r == NULL || r->conn == NULL)
		return;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sb_pack_notify_head(&pk, "stream.items", 2);
	msgpack_pack_uint32(&pk, r->msgid);
	conn_write2(r->conn, sb.data, sb.size, msg + off, len - off, NULL);
	msgpack_sbuffer_destroy(&sb);
	stream_relayed(r, (uint32_t)wid);
}

/* The ready notification's params: [{"pid", "python", "numpy"}]. */
static void
relay_ready(struct worker *w, const char *msg, size_t len)
{
	msgpack_unpacked up;
	const msgpack_object *o, *v;
	size_t off = 0;

	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, msg, len, &off) ==
	    MSGPACK_UNPACK_SUCCESS && up.data.type == MSGPACK_OBJECT_ARRAY &&
	    up.data.via.array.size == 3 &&
	    (o = &up.data.via.array.ptr[2])->type == MSGPACK_OBJECT_ARRAY &&
	    o->via.array.size > 0) {
		v = mpk_map_get(&o->via.array.ptr[0], "python");
		if (v != NULL && v->type == MSGPACK_OBJECT_STR)
			snprintf(w->python, sizeof w->python, "%.*s",
			    (int)v->via.str.size, v->via.str.ptr);
	}
	msgpack_unpacked_destroy(&up);
	if (w->state != WORKER_STARTING)
		return;
	log_info("worker %s/%u: ready (pid %d, python %s)", w->pool->name,
	    w->slot, (int)w->pid, w->python[0] != '\0' ? w->python : "?");
	worker_idle(w);
	notify_check_ready();
}

/*
 * One message from w. Returns 1 when block went on with a response, else
 * 0, or -1 on a protocol violation.
 */
static int
relay_message(struct worker *w, char *msg, size_t len, char *block)
{
	uint32_t count;
	uint64_t kind;
	size_t off, n;
	msgpack_object_str name;

	if (mpk_array_header(msg, len, &count, &off) != 0 || count < 3 ||
	    count > 4 || mpk_uint(msg + off, len - off, &kind, &n) != 0)
		return (-1);
	off += n;
	if (kind == SB_MSG_RESPONSE && count == 4) {
		if (relay_response(w, msg, len, off, block) != 0)
			return (-1);
		return (1);
	}
	if (kind == SB_MSG_REQUEST && count == 4) {
		callback_from_worker(w, msg, len, off);
		return (0);
	}
	if (kind != SB_MSG_NOTIFY || count != 3)
		return (-1);
	/* the method name: a fixstr or str8 */
	if (((unsigned char)msg[off] & 0xe0) == 0xa0) {
		name.size = (unsigned char)msg[off] & 0x1f;
		name.ptr = msg + off + 1;
	} else if ((unsigned char)msg[off] == 0xd9 && off + 1 < len) {
		name.size = (unsigned char)msg[off + 1];
		name.ptr = msg + off + 2;
	} else
		return (-1);
	if ((n = mpk_skip(msg + off, len - off)) == 0)
		return (-1);
	off += n;
	if (name.size == 5 && memcmp(name.ptr, "ready", 5) == 0)
		relay_ready(w, msg, len);
	else if (name.size == 12 && memcmp(name.ptr, "stream.items", 12) == 0)
		relay_stream_items(w, msg, len, off);
	else
		log_debug("worker %s/%u: notification %.*s ignored",
		    w->pool->name, w->slot, (int)name.size, name.ptr);
	return (0);
}

/* One message from w (a block to free when owned); -1 on a violation. */
int
relay_from_worker(struct worker *w, char *msg, size_t len, int owned)
{
	int rc;

	if ((rc = relay_message(w, msg, len, owned ? msg : NULL)) == 1)
		return (0);	/* the block was handed on */
	if (owned)
		free(msg);
	return (rc);
}
