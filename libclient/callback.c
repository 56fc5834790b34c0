/*
 * callback.c: C functions lent to Python. A registered function gets an id
 * that travels as an ext 7 value; the daemon's `callback [id, args,
 * kwargs]` requests are served from the read loop (pending.c), so they run
 * while the client waits for any request, and the function may make calls
 * on the same client itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbproto.h"

struct callback_entry {
	uint64_t		 id;
	sb_callback_fn		 fn;
	void			*ud;
	struct callback_entry	*next;
};

sb_value *
sb_callback_new(sb_client *c, sb_callback_fn fn, void *ud)
{
	struct callback_entry *e;
	sb_value *v;

	if (c == NULL || fn == NULL)
		return (NULL);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	e->id = ++c->callback_last;
	if ((v = sb_callback(e->id)) == NULL) {
		free(e);
		return (NULL);
	}
	e->fn = fn;
	e->ud = ud;
	e->next = c->callbacks;
	c->callbacks = e;
	return (v);
}

int
sb_callback_remove(sb_client *c, const sb_value *cb)
{
	struct callback_entry **pp, *e;
	uint64_t id;

	if (c == NULL || sb_value_get_callback(cb, &id) != 0)
		return (SB_EINVAL);
	for (pp = &c->callbacks; (e = *pp) != NULL; pp = &e->next) {
		if (e->id == id) {
			*pp = e->next;
			free(e);
			return (0);
		}
	}
	return (SB_EINVAL);
}

/* Forget every callback (the client is closing). */
void
callback_clear(sb_client *c)
{
	struct callback_entry *e;

	while ((e = c->callbacks) != NULL) {
		c->callbacks = e->next;
		free(e);
	}
}

/*
 * Queue [1, msgid, nil, result]; an error answer when it cannot be packed.
 * Arrays over shared blocks go as copies (ext 8): results never take ext 12.
 */
static int
callback_reply(sb_client *c, uint32_t msgid, const sb_value *result)
{
	const struct pack_ctx ctx = { c->limits.max_depth, NULL };
	struct wq_mark start;
	sb_value nil;
	int rc;

	memset(&nil, 0, sizeof(nil));
	nil.type = SB_NIL;
	wq_mark(c, &start);
	if (pbuf_msg_head(&c->wb, SB_MSG_RESPONSE, msgid) != 0 ||
	    pbuf_nil(&c->wb) != 0)
		rc = SB_ENOMEM;
	else
		rc = pack_value(&c->wb, result != NULL ? result : &nil, 1, &ctx);
	if (rc == 0)
		rc = wq_seal(c);
	if (rc == 0 && c->wlen - start.wlen > c->limits.max_size)
		rc = SB_ERANGE;
	if (rc == 0)
		return (0);
	wq_rollback(c, &start);
	return (conn_respond(c, msgid, "snakebridge.CallbackFailed",
	    rc == SB_ENOMEM ? "the client ran out of memory" :
	    "the callback's result cannot be sent (too large or too deep)"));
}

/* Run entry e with the request's args and kwargs, and answer msgid. */
static int
callback_invoke(sb_client *c, uint32_t msgid, struct callback_entry *e,
    const sb_value *args, const sb_value *kwargs)
{
	sb_value *result = NULL;
	sb_error *err = NULL;
	uint64_t id = e->id;	/* fn may remove e */
	char msg[64];
	int rc;

	if (e->fn(c, args, kwargs, e->ud, &result, &err) == 0)
		rc = callback_reply(c, msgid, result);
	else if (err != NULL)
		rc = conn_respond(c, msgid, sb_error_type(err),
		    sb_error_message(err));
	else {
		snprintf(msg, sizeof(msg), "callback %llu failed",
		    (unsigned long long)id);
		rc = conn_respond(c, msgid, "snakebridge.CallbackFailed", msg);
	}
	sb_value_free(result);
	sb_error_free(err);
	wq_flush(c);
	return (rc);
}

/*
 * A daemon request callback [id, args, kwargs] (r is at its params):
 * answered in every case.
 */
int
callback_serve(sb_client *c, uint32_t msgid, struct unpack_reader *r)
{
	struct callback_entry *e;
	sb_value *args = NULL, *kwargs = NULL;
	uint64_t id;
	size_t n;
	char msg[96];
	int rc;

	if (unpack_array(r, &n) != 0 || n != 3 || unpack_uint(r, &id) != 0 ||
	    unpack_value(r, 2, &args) != 0 ||
	    unpack_value(r, 2, &kwargs) != 0 ||
	    sb_value_type(args) != SB_LIST ||
	    (sb_value_type(kwargs) != SB_MAP &&
	    sb_value_type(kwargs) != SB_NIL)) {
		sb_value_free(args);
		sb_value_free(kwargs);
		return (conn_respond(c, msgid, "snakebridge.BadRequest",
		    "callback params must be [id, args, kwargs]"));
	}
	for (e = c->callbacks; e != NULL && e->id != id; e = e->next)
		;
	if (e == NULL) {
		snprintf(msg, sizeof(msg), "no callback %llu on this client",
		    (unsigned long long)id);
		rc = conn_respond(c, msgid, "snakebridge.CallbackFailed", msg);
	} else
		rc = callback_invoke(c, msgid, e, args,
		    sb_value_type(kwargs) == SB_MAP ? kwargs : NULL);
	sb_value_free(args);
	sb_value_free(kwargs);
	return (rc);
}
