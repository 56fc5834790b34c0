/*
 * pending.c: requests in flight. A table of sb_pending handles by msgid,
 * sending requests (pipelined: any number may be outstanding), matching
 * responses in any order, serving incoming daemon requests and
 * notifications, and the async API (poll, wait, abandon).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbproto.h"

#define PENDING_MIN_BUCKETS	64
#define PENDING_SPARE_MAX	16	/* freed handles kept for reuse */

void
pending_init(struct pending_table *t)
{
	memset(t, 0, sizeof(*t));
	t->next_msgid = 1;
}

/* Free a handle no longer in the table: kept as a spare while few are. */
static void
pending_free_one(struct pending_table *t, struct sb_pending *p)
{
	sb_value_free(p->result);
	sb_error_free(p->err);
	if (t->nspare >= PENDING_SPARE_MAX) {
		free(p);
		return;
	}
	p->next = t->spare;
	t->spare = p;
	t->nspare++;
}

/* Free every handle, the spares last (the client is closing). */
void
pending_clear(struct pending_table *t)
{
	struct sb_pending *p, *next;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		for (p = t->buckets[i]; p != NULL; p = next) {
			next = p->next;
			pending_free_one(t, p);
		}
	}
	for (p = t->spare; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static struct sb_pending **
pending_slot(struct pending_table *t, uint32_t msgid)
{
	struct sb_pending **pp;

	if (t->nbuckets == 0)
		return (NULL);
	pp = &t->buckets[msgid & (t->nbuckets - 1)];
	while (*pp != NULL && (*pp)->msgid != msgid)
		pp = &(*pp)->next;
	return (pp);
}

static struct sb_pending *
pending_find(struct pending_table *t, uint32_t msgid)
{
	struct sb_pending **pp = pending_slot(t, msgid);

	return (pp == NULL ? NULL : *pp);
}

static void
pending_remove(struct pending_table *t, struct sb_pending *p)
{
	struct sb_pending **pp = pending_slot(t, p->msgid);

	if (pp != NULL && *pp == p) {
		*pp = p->next;
		t->count--;
	}
}

/* Double the buckets when chains grow long. */
static int
pending_grow(struct pending_table *t)
{
	struct sb_pending **nb, *p, *next;
	size_t n, i;

	if (t->count < 2 * t->nbuckets)
		return (0);
	n = t->nbuckets ? 2 * t->nbuckets : PENDING_MIN_BUCKETS;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return (t->nbuckets ? 0 : SB_ENOMEM);
	for (i = 0; i < t->nbuckets; i++) {
		for (p = t->buckets[i]; p != NULL; p = next) {
			next = p->next;
			p->next = nb[p->msgid & (n - 1)];
			nb[p->msgid & (n - 1)] = p;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
	return (0);
}

/* A new waiting handle with a msgid no other handle holds. */
int
pending_add(struct pending_table *t, struct sb_pending **out)
{
	struct sb_pending *p;

	if (pending_grow(t) != 0)
		return (SB_ENOMEM);
	if ((p = t->spare) != NULL) {
		t->spare = p->next;
		t->nspare--;
	} else if ((p = malloc(sizeof(*p))) == NULL)
		return (SB_ENOMEM);
	memset(p, 0, sizeof(*p));
	do
		p->msgid = t->next_msgid++;
	while (pending_find(t, p->msgid) != NULL);
	p->state = PENDING_WAITING;
	p->next = t->buckets[p->msgid & (t->nbuckets - 1)];
	t->buckets[p->msgid & (t->nbuckets - 1)] = p;
	t->count++;
	*out = p;
	return (0);
}

/* The connection is lost: waiting handles finish with rc. */
void
pending_fail_all(struct pending_table *t, int rc)
{
	struct sb_pending *p, *next;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		for (p = t->buckets[i]; p != NULL; p = next) {
			next = p->next;
			if (p->state == PENDING_ABANDONED) {
				pending_remove(t, p);
				pending_free_one(t, p);
			} else if (p->state == PENDING_WAITING) {
				p->state = PENDING_DONE;
				p->rc = rc;
			}
		}
	}
}

/* Read a msgid (uint32). */
static int
pending_msgid(struct unpack_reader *r, uint32_t *msgid)
{
	uint64_t u;

	if (unpack_uint(r, &u) != 0 || u > UINT32_MAX)
		return (SB_EPROTO);
	*msgid = (uint32_t)u;
	return (0);
}

/*
 * A response [1, msgid, error, result]: complete its handle. A result or
 * error that does not decode fails that request only (SB_EPROTO): the
 * framing is intact, so the connection carries on.
 */
static int
pending_response(sb_client *c, struct unpack_reader *r)
{
	struct sb_pending *p;
	sb_value *v;
	uint32_t msgid;
	int rc;

	if (pending_msgid(r, &msgid) != 0)
		return (SB_EPROTO);
	if ((p = pending_find(&c->pending, msgid)) == NULL ||
	    p->state == PENDING_DONE)
		return (0);	/* not ours, or answered twice: ignored */
	if (p->state == PENDING_ABANDONED) {
		pending_remove(&c->pending, p);
		pending_free_one(&c->pending, p);
		return (0);
	}
	p->state = PENDING_DONE;
	if (unpack_nil(r)) {
		p->rc = unpack_value(r, 1, &p->result);
		return (0);
	}
	if ((rc = unpack_value(r, 1, &v)) != 0 ||
	    (rc = error_from_value(v, &p->err)) != 0) {
		p->rc = rc;
		return (0);
	}
	p->rc = SB_EREMOTE;
	return (0);
}

/*
 * Daemon -> client requests: callbacks (callback.c); any other method is
 * answered with an error so that the daemon's request never hangs.
 */
static int
pending_request(sb_client *c, struct unpack_reader *r)
{
	const char *method;
	uint32_t msgid;
	size_t len;

	if (pending_msgid(r, &msgid) != 0)
		return (SB_EPROTO);
	if (unpack_str(r, &method, &len) != 0)
		return (conn_respond(c, msgid, "snakebridge.BadRequest",
		    "the method is not a str"));
	if (len == 8 && memcmp(method, "callback", 8) == 0)
		return (callback_serve(c, msgid, r));
	return (conn_respond(c, msgid, "snakebridge.UnknownMethod",
	    "the client does not serve this method"));
}

/*
 * Notifications: "error" (sent before the daemon closes the connection for
 * a protocol violation) is kept; "stream.items" feeds streaming calls
 * (stream.c); anything else is ignored.
 */
static int
pending_notify(sb_client *c, struct unpack_reader *r)
{
	const char *method;
	sb_value *params;
	sb_error *e;
	size_t len;

	if (unpack_str(r, &method, &len) != 0)
		return (0);
	if (len == 12 && memcmp(method, "stream.items", 12) == 0)
		return (stream_items(c, r));
	if (len != 5 || memcmp(method, "error", 5) != 0)
		return (0);
	if (unpack_value(r, 1, &params) != 0)
		return (0);
	if (sb_value_len(params) >= 1 && params->type == SB_LIST) {
		if (error_from_value(params->u.seq.items[0], &e) == 0) {
			sb_error_free(c->last_error);
			c->last_error = e;
		}
		params->u.seq.items[0] = NULL;	/* taken */
	}
	sb_value_free(params);
	return (0);
}

/*
 * Route one whole incoming message (already scanned). Its large bytes and
 * ndarray data stay in block, when there is one (msg lies in it). SB_EPROTO
 * when it is not msgpack-rpc (the caller then closes the connection).
 */
int
pending_dispatch(sb_client *c, const void *msg, size_t len,
    struct value_block *block)
{
	struct unpack_reader r;
	uint64_t kind;
	size_t n;

	unpack_reader_init(&r, msg, len, &c->limits);
	r.block = block;
	r.client = c;
	if (unpack_array(&r, &n) != 0 || unpack_uint(&r, &kind) != 0)
		return (SB_EPROTO);
	if (kind == SB_MSG_RESPONSE && n == 4)
		return (pending_response(c, &r));
	if (kind == SB_MSG_REQUEST && n == 4)
		return (pending_request(c, &r));
	if (kind == SB_MSG_NOTIFY && n == 3)
		return (pending_notify(c, &r));
	return (SB_EPROTO);
}

/*
 * Queue [0, msgid, method, [params..., opts?]] (NULL params are nil; opts
 * NULL: no OPTS map) and write what the socket takes. The request is
 * refused with SB_ERANGE when it exceeds the daemon's message size. borrow:
 * the params' large data is written from their own memory (wqueue.c): the
 * caller keeps them unchanged and waits with pending_finish(), which copies
 * in what is still unwritten before the call returns.
 */
int
pending_send(sb_client *c, const char *method, const sb_value *const *params,
    size_t nparams, const struct sb_opts *opts, int borrow, sb_pending **out)
{
	const struct pack_ctx ctx = { c->limits.max_depth, c };
	struct sb_pending *p;
	struct wq_mark start;
	size_t i;
	int rc;

	*out = NULL;
	if (c->dead || c->wdead)
		return (SB_ECLOSED);
	if ((rc = pending_add(&c->pending, &p)) != 0)
		return (rc);
	wq_mark(c, &start);
	c->borrowing = borrow;
	rc = SB_ENOMEM;
	if (pbuf_msg_head(&c->wb, SB_MSG_REQUEST, p->msgid) != 0 ||
	    pbuf_str(&c->wb, method, strlen(method)) != 0 ||
	    pbuf_array(&c->wb, nparams + (opts != NULL)) != 0)
		goto fail;
	/* Params sit in the message and params arrays: depth 2. */
	for (i = 0; i < nparams; i++)
		if ((rc = pack_value(&c->wb, params[i], 2, &ctx)) != 0)
			goto fail;
	if ((opts != NULL && (rc = pack_opts(&c->wb, opts)) != 0) ||
	    (rc = wq_seal(c)) != 0)
		goto fail;
	if (c->wlen - start.wlen > c->limits.max_size) {
		rc = SB_ERANGE;
		goto fail;
	}
	c->borrowing = 0;
	*out = p;
	wq_flush(c);
	return (0);
fail:
	c->borrowing = 0;
	wq_rollback(c, &start);
	pending_remove(&c->pending, p);
	pending_free_one(&c->pending, p);
	return (rc);
}

/*
 * Wait for the answer of a synchronous call's request p (timeout_ms -1: for
 * ever); when the time runs out p is abandoned and the call gets
 * SB_ETIMEDOUT. Whatever the outcome, the call's borrowed data not yet
 * written is copied in before it returns (wq_unborrow).
 */
int
pending_finish(sb_client *c, sb_pending *p, int timeout_ms, sb_value **result,
    sb_error **err)
{
	int rc;

	if ((rc = sb_wait(c, p, timeout_ms, result, err)) == SB_EAGAIN) {
		sb_pending_free(c, p);
		rc = SB_ETIMEDOUT;
	}
	wq_unborrow(c);
	return (rc);
}

int
sb_client_poll(sb_client *c, int timeout_ms)
{
	if (c == NULL)
		return (SB_EINVAL);
	return (conn_io(c, timeout_ms < 0 ? -1 : timeout_ms));
}

int
sb_pending_done(const sb_pending *p)
{
	return (p != NULL && p->state == PENDING_DONE);
}

int
sb_wait(sb_client *c, sb_pending *p, int timeout_ms, sb_value **result,
    sb_error **err)
{
	int64_t deadline = -1, left;
	int rc;

	if (result != NULL)
		*result = NULL;
	if (err != NULL)
		*err = NULL;
	if (c == NULL || p == NULL || result == NULL ||
	    p->state == PENDING_ABANDONED)
		return (SB_EINVAL);
	if (timeout_ms >= 0)
		deadline = conn_now_ms() + timeout_ms;
	while (p->state == PENDING_WAITING) {
		left = deadline < 0 ? -1 : deadline - conn_now_ms();
		if (left < 0 && deadline >= 0)
			left = 0;
		rc = conn_io(c, left > INT_MAX ? INT_MAX : (int)left);
		if (p->state != PENDING_WAITING)
			break;
		if (rc < 0 && rc != SB_ENOMEM && rc != SB_EPROTO)
			return (rc);	/* cannot happen: lost finishes p */
		if (deadline >= 0 && conn_now_ms() >= deadline)
			return (SB_EAGAIN);
	}
	pending_remove(&c->pending, p);
	rc = p->rc;
	*result = p->result;
	p->result = NULL;
	if (err != NULL) {
		*err = p->err;
		p->err = NULL;
	}
	pending_free_one(&c->pending, p);
	return (rc);
}

void
sb_pending_free(sb_client *c, sb_pending *p)
{
	if (c == NULL || p == NULL)
		return;
	if (p->state == PENDING_WAITING && !c->dead) {
		p->state = PENDING_ABANDONED;
		return;
	}
	pending_remove(&c->pending, p);
	pending_free_one(&c->pending, p);
}
