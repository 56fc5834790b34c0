/*
 * callback.c: callbacks and the nested requests they allow
 * (docs/protocol.md, "Callbacks"). A worker's request
 * [0, cid, "callback", [session_id, callback_id, args, kwargs]] goes to the
 * client of the request the worker is serving as
 * [0, msgid, "callback", [callback_id, args, kwargs]]; the client's answer
 * goes back as [1, cid, error, result], bytes as they are. Only a request
 * of the callback's own session may call it, so a callback Python kept
 * never reaches another session's client. While a worker
 * waits for a callback it serves requests of that session: they are sent to
 * it although it is busy, and the request it was serving is kept on a
 * stack, to be current again once the nested one is answered.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

#define CALLBACK_NEST_MAX	16	/* nested requests per worker */

struct cbframe {
	struct request	*r;		/* NULL once answered early */
	uint32_t	 wid;
};

/* A worker's nesting state, allocated on its first callback. */
struct cbnest {
	struct cbframe	 frames[CALLBACK_NEST_MAX];
	unsigned	 depth;
	unsigned	 waiting;	/* callbacks not answered yet */
	uint64_t	 sid;		/* session of the latest callback */
};

/* A callback out to a client. */
struct cbwait {
	struct conn		*conn;
	uint32_t		 msgid;		/* towards the client */
	struct worker		*w;
	uint32_t		 generation;
	uint32_t		 cid;		/* the worker's msgid */
	TAILQ_ENTRY(cbwait)	 entry;
};

static TAILQ_HEAD(, cbwait) cbwaits = TAILQ_HEAD_INITIALIZER(cbwaits);
static uint32_t callback_next_msgid = 1;

static struct cbnest *
callback_nest(struct worker *w)
{
	if (w->nest == NULL && (w->nest = calloc(1, sizeof *w->nest)) == NULL)
		abort();
	return (w->nest);
}

/* Answer the worker's callback cid with an error. */
static void
callback_fail(struct worker *w, uint64_t cid, const char *msg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sb_pack_error_response(&pk, cid, SB_ERRTYPE_CALLBACK_FAILED, msg);
	worker_write(w, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void
callback_done(struct cbwait *cw)
{
	TAILQ_REMOVE(&cbwaits, cw, entry);
	if (cw->w->generation == cw->generation && cw->w->nest != NULL &&
	    cw->w->nest->waiting > 0)
		cw->w->nest->waiting--;
	free(cw);
}

/*
 * A request from w (off: at its msgid): a callback, relayed to the client
 * of the request w serves, or failed at once when that client is gone.
 */
void
callback_from_worker(struct worker *w, const char *msg, size_t len,
    size_t off)
{
	struct request *r = w->cur;
	struct cbwait *cw;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t cid, sid;
	uint32_t count;
	size_t n;

	if (mpk_uint(msg + off, len - off, &cid, &n) != 0)
		return;
	off += n;
	if (cid > UINT32_MAX)
		return;
	if (len - off < 9 || memcmp(msg + off, "\xa8" "callback", 9) != 0) {
		callback_fail(w, cid, "unknown request from the worker");
		return;
	}
	off += 9;
	if (mpk_array_header(msg + off, len - off, &count, &n) != 0 ||
	    count != 4) {
		callback_fail(w, cid, "callback: params must be [session_id, "
		    "callback_id, args, kwargs]");
		return;
	}
	off += n;
	if (mpk_uint(msg + off, len - off, &sid, &n) != 0) {
		callback_fail(w, cid, "callback: bad session id");
		return;
	}
	off += n;
	if (r == NULL || r->conn == NULL || r->conn->closing) {
		callback_fail(w, cid, "the client that passed this callback "
		    "is gone");
		return;
	}
	if (r->session == NULL || r->session->id != sid) {
		/* kept by Python and called for another session's request */
		callback_fail(w, cid, "this callback belongs to another "
		    "session: only that session's requests may call it");
		return;
	}
	if ((cw = calloc(1, sizeof *cw)) == NULL)
		abort();
	cw->conn = r->conn;
	cw->msgid = callback_next_msgid++;
	cw->w = w;
	cw->generation = w->generation;
	cw->cid = (uint32_t)cid;
	TAILQ_INSERT_TAIL(&cbwaits, cw, entry);
	callback_nest(w)->waiting++;
	w->nest->sid = sid;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, SB_MSG_REQUEST);
	msgpack_pack_uint32(&pk, cw->msgid);
	mpk_str(&pk, "callback");
	msgpack_pack_array(&pk, 3);
	conn_write2(cw->conn, sb.data, sb.size, msg + off, len - off, NULL);
	msgpack_sbuffer_destroy(&sb);
}

/* A response [1, msgid, error, result] from client c (raw bytes). */
void
callback_answer(struct conn *c, uint32_t msgid, const char *raw, size_t len)
{
	struct cbwait *cw;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint32_t count;
	size_t off, n, i;

	TAILQ_FOREACH(cw, &cbwaits, entry) {
		if (cw->conn == c && cw->msgid == msgid)
			break;
	}
	if (cw == NULL)
		return;		/* not ours, or too late */
	if (mpk_array_header(raw, len, &count, &off) != 0 || count != 4)
		return;
	for (i = 0; i < 2; i++) {	/* kind, msgid */
		if ((n = mpk_skip(raw + off, len - off)) == 0)
			return;
		off += n;
	}
	if (cw->w->generation == cw->generation) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 4);
		msgpack_pack_int(&pk, SB_MSG_RESPONSE);
		msgpack_pack_uint32(&pk, cw->cid);
		worker_write2(cw->w, sb.data, sb.size, raw + off, len - off,
		    NULL);
		msgpack_sbuffer_destroy(&sb);
	}
	callback_done(cw);
}

/* Client c is going away: its callbacks fail in their workers. */
void
callback_conn_gone(struct conn *c)
{
	struct cbwait *cw, *next;

	for (cw = TAILQ_FIRST(&cbwaits); cw != NULL; cw = next) {
		next = TAILQ_NEXT(cw, entry);
		if (cw->conn != c)
			continue;
		if (cw->w->generation == cw->generation)
			callback_fail(cw->w, cw->cid, "the client that passed "
			    "this callback has disconnected");
		callback_done(cw);
	}
}

/* Has w callbacks out or requests nested in their waits? */
int
callback_active(const struct worker *w)
{
	return (w->nest != NULL && (w->nest->waiting > 0 ||
	    w->nest->depth > 0));
}

/* May r run on w now although w is busy: w waits for r's session? */
int
callback_may_nest(const struct worker *w, const struct request *r)
{
	return (w->state == WORKER_BUSY && w->nest != NULL &&
	    w->nest->waiting > 0 && w->nest->depth < CALLBACK_NEST_MAX &&
	    r->session != NULL && r->session->id == w->nest->sid);
}

/* w is busy and takes a nested request: keep the current one. */
void
callback_push(struct worker *w)
{
	struct cbnest *nn = callback_nest(w);

	nn->frames[nn->depth].r = w->cur;
	nn->frames[nn->depth].wid = w->cur_wid;
	nn->depth++;
}

/* A request of w was answered: 1 when an outer one is current again. */
int
callback_pop(struct worker *w)
{
	struct cbnest *nn = w->nest;

	if (nn == NULL || nn->depth == 0)
		return (0);
	nn->depth--;
	w->cur = nn->frames[nn->depth].r;
	w->cur_wid = nn->frames[nn->depth].wid;
	return (1);
}

/* r is being freed: forget it wherever w keeps it. */
void
callback_forget(struct worker *w, const struct request *r)
{
	unsigned i;

	if (w->nest == NULL)
		return;
	for (i = 0; i < w->nest->depth; i++) {
		if (w->nest->frames[i].r == r)
			w->nest->frames[i].r = NULL;
	}
}

/* The outer request of w whose wid is wid (a stream under a nested one). */
struct request *
callback_outer(struct worker *w, uint32_t wid)
{
	unsigned i;

	for (i = 0; w->nest != NULL && i < w->nest->depth; i++) {
		if (w->nest->frames[i].wid == wid)
			return (w->nest->frames[i].r);
	}
	return (NULL);
}

/* w died: the requests it kept fail, its callbacks are forgotten. */
void
callback_worker_gone(struct worker *w)
{
	struct cbwait *cw, *next;
	struct request *r;
	struct cbnest *nn = w->nest;

	for (cw = TAILQ_FIRST(&cbwaits); cw != NULL; cw = next) {
		next = TAILQ_NEXT(cw, entry);
		if (cw->w == w)
			callback_done(cw);
	}
	if (nn == NULL)
		return;
	while (nn->depth > 0) {
		r = nn->frames[--nn->depth].r;
		if (r != NULL)
			request_error(r, SB_ERRTYPE_WORKER_CRASHED, "worker "
			    "%s/%u died while the request waited for a "
			    "callback", w->pool->name, w->slot);
	}
	free(nn);
	w->nest = NULL;
}
