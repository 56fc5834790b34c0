/*
 * calls.c: the synchronous and asynchronous calls of the public API, each a
 * thin description of its params (docs/protocol.md, "Methods") over one
 * function that checks them, places OPTS and sends; and the options.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A call waits this much longer than the timeout it asked the daemon for. */
#define CALLS_TIMEOUT_GRACE	10000

#define CALLS_MAX_PARAMS	5

/* What a param slot must hold. */
enum calls_want {
	WANT_ANY,		/* any value; NULL sends nil */
	WANT_NAME,		/* a str built from a C string; required */
	WANT_REF,		/* an SB_REF; required */
	WANT_LIST,		/* a list, or NULL */
	WANT_MAP,		/* a map, or NULL */
	WANT_REF_OR_LIST	/* an SB_REF or a list of them; required */
};

struct calls_param {
	const sb_value	*v;
	enum calls_want	 want;
};

/* One method call: its name, params before OPTS, and whether OPTS apply. */
struct calls_req {
	const char		*method;
	struct calls_param	 p[CALLS_MAX_PARAMS];
	size_t			 n;
	int			 has_opts;
	const struct sb_opts	*opts;
};

void
sb_opts_init(struct sb_opts *o)
{
	if (o == NULL)
		return;
	memset(o, 0, sizeof(*o));
	o->timeout_ms = -1;
}

/* Replace a client default string. */
static int
calls_set(sb_client *c, char **slot, const char *name)
{
	char *copy = NULL;

	if (c == NULL)
		return (SB_EINVAL);
	if (name != NULL && (copy = strdup(name)) == NULL)
		return (SB_ENOMEM);
	free(*slot);
	*slot = copy;
	return (0);
}

int
sb_client_set_session(sb_client *c, const char *name)
{
	return (calls_set(c, c == NULL ? NULL : &c->session, name));
}

int
sb_client_set_pool(sb_client *c, const char *name)
{
	return (calls_set(c, c == NULL ? NULL : &c->pool, name));
}

int
sb_client_set_profile(sb_client *c, const char *name)
{
	return (calls_set(c, c == NULL ? NULL : &c->profile, name));
}

int
sb_client_set_affinity(sb_client *c, const char *name)
{
	return (calls_set(c, c == NULL ? NULL : &c->affinity, name));
}

int
sb_client_set_timeout(sb_client *c, int64_t ms)
{
	if (c == NULL || ms < -1)
		return (SB_EINVAL);
	c->timeout_ms = ms;
	return (0);
}

/* What sb_opts_init() makes: the options of a call given none. */
static const struct sb_opts calls_no_opts = { NULL, NULL, NULL, NULL, -1, 0 };

/* The options a request sends: those given, else the client's defaults. */
static void
calls_merge(const sb_client *c, const struct sb_opts *o, struct sb_opts *m)
{
	if (o == NULL)
		o = &calls_no_opts;
	m->session = o->session != NULL ? o->session : c->session;
	m->pool = o->pool != NULL ? o->pool : c->pool;
	m->timeout_profile = o->timeout_profile != NULL ?
	    o->timeout_profile : c->profile;
	m->affinity = o->affinity != NULL ? o->affinity : c->affinity;
	m->timeout_ms = o->timeout_ms >= 0 ? o->timeout_ms : c->timeout_ms;
	m->stream_timeout_ms = o->stream_timeout_ms;
}

static int
calls_check(const struct calls_param *p)
{
	enum sb_type t = p->v != NULL ? p->v->type : SB_NIL;
	size_t i;

	switch (p->want) {
	case WANT_ANY:
		return (1);
	case WANT_NAME:
		return (p->v != NULL);
	case WANT_REF:
		return (p->v != NULL && t == SB_REF);
	case WANT_LIST:
		return (p->v == NULL || t == SB_LIST);
	case WANT_MAP:
		return (p->v == NULL || t == SB_MAP);
	case WANT_REF_OR_LIST:
		if (t == SB_REF)
			return (1);
		if (p->v == NULL || t != SB_LIST)
			return (0);
		for (i = 0; i < sb_value_len(p->v); i++)
			if (sb_value_type(sb_value_item(p->v, i)) != SB_REF)
				return (0);
		return (1);
	}
	return (0);
}

/*
 * Check the params and send: with OPTS to send, every slot before it is
 * sent (nil where absent); without, trailing absent params are dropped.
 * borrow: as for pending_send (synchronous calls only).
 */
static int
calls_submit(sb_client *c, const struct calls_req *r, int borrow,
    int *wait_ms, sb_pending **out)
{
	const sb_value *params[CALLS_MAX_PARAMS];
	struct sb_opts m;
	size_t i, n;
	int use_opts = 0;

	*out = NULL;
	if (c == NULL)
		return (SB_EINVAL);
	for (i = 0; i < r->n; i++) {
		if (!calls_check(&r->p[i]))
			return (SB_EINVAL);
		params[i] = r->p[i].v;
	}
	*wait_ms = -1;
	if (r->has_opts) {
		calls_merge(c, r->opts, &m);
		use_opts = pack_opts_count(&m) > 0;
		if (m.timeout_ms > 0)
			*wait_ms = m.timeout_ms > INT_MAX - CALLS_TIMEOUT_GRACE ?
			    -1 : (int)m.timeout_ms + CALLS_TIMEOUT_GRACE;
	}
	n = r->n;
	if (!use_opts)
		while (n > 0 && params[n - 1] == NULL)
			n--;
	return (pending_send(c, r->method, params, n, use_opts ? &m : NULL,
	    borrow, out));
}

/* Submit and wait; the one body of every synchronous call. */
static int
calls_run(sb_client *c, const struct calls_req *r, sb_value **result,
    sb_error **err)
{
	sb_value *discard = NULL;
	sb_pending *p;
	int rc, wait_ms;

	if (result != NULL)
		*result = NULL;
	if (err != NULL)
		*err = NULL;
	if ((rc = calls_submit(c, r, 1, &wait_ms, &p)) != 0)
		return (rc);
	rc = pending_finish(c, p, wait_ms, result != NULL ? result : &discard,
	    err);
	sb_value_free(discard);
	return (rc);
}

/* A str param from a C string (NULL stays NULL: the check refuses it). */
static const sb_value *
calls_name(sb_value *tmp, const char *s)
{
	if (s == NULL)
		return (NULL);
	value_borrow_str(tmp, s);
	return (tmp);
}

int
sb_call(sb_client *c, const char *module, const char *func,
    const sb_value *args, const sb_value *kwargs, const struct sb_opts *opts,
    sb_value **result, sb_error **err)
{
	sb_value m, f;
	struct calls_req r = { "call", {
	    { calls_name(&m, module), WANT_NAME },
	    { calls_name(&f, func), WANT_NAME },
	    { args, WANT_LIST }, { kwargs, WANT_MAP } }, 4, 1, opts };

	return (calls_run(c, &r, result, err));
}

int
sb_call_async(sb_client *c, const char *module, const char *func,
    const sb_value *args, const sb_value *kwargs, const struct sb_opts *opts,
    sb_pending **out)
{
	sb_value m, f;
	struct calls_req r = { "call", {
	    { calls_name(&m, module), WANT_NAME },
	    { calls_name(&f, func), WANT_NAME },
	    { args, WANT_LIST }, { kwargs, WANT_MAP } }, 4, 1, opts };
	int wait_ms;

	if (out == NULL)
		return (SB_EINVAL);
	return (calls_submit(c, &r, 0, &wait_ms, out));
}

int
sb_get(sb_client *c, const char *module, const char *attr,
    const struct sb_opts *opts, sb_value **result, sb_error **err)
{
	sb_value m, a;
	struct calls_req r = { "get", {
	    { calls_name(&m, module), WANT_NAME },
	    { calls_name(&a, attr), WANT_NAME } }, 2, 1, opts };

	return (calls_run(c, &r, result, err));
}

int
sb_method(sb_client *c, const sb_value *ref, const char *name,
    const sb_value *args, const sb_value *kwargs, const struct sb_opts *opts,
    sb_value **result, sb_error **err)
{
	sb_value n;
	struct calls_req r = { "method", {
	    { ref, WANT_REF }, { calls_name(&n, name), WANT_NAME },
	    { args, WANT_LIST }, { kwargs, WANT_MAP } }, 4, 1, opts };

	return (calls_run(c, &r, result, err));
}

int
sb_attr(sb_client *c, const sb_value *ref, const char *name,
    const struct sb_opts *opts, sb_value **result, sb_error **err)
{
	sb_value n;
	struct calls_req r = { "attr", {
	    { ref, WANT_REF }, { calls_name(&n, name), WANT_NAME } }, 2, 1,
	    opts };

	return (calls_run(c, &r, result, err));
}

int
sb_setattr(sb_client *c, const sb_value *ref, const char *name,
    const sb_value *value, const struct sb_opts *opts, sb_error **err)
{
	sb_value n, nil;
	struct calls_req r = { "setattr", {
	    { ref, WANT_REF }, { calls_name(&n, name), WANT_NAME },
	    { value != NULL ? value : &nil, WANT_ANY } }, 3, 1, opts };

	/* A NULL value sets None; it must not be dropped as absent. */
	memset(&nil, 0, sizeof(nil));
	nil.type = SB_NIL;
	return (calls_run(c, &r, NULL, err));
}

/* The methods whose params are [ref, OPTS?]. */
static int
calls_on_ref(sb_client *c, const char *method, const sb_value *ref,
    const struct sb_opts *opts, sb_value **result, sb_error **err)
{
	struct calls_req r = { method, { { ref, WANT_REF } }, 1, 1, opts };

	return (calls_run(c, &r, result, err));
}

int
sb_repr(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
    sb_value **result, sb_error **err)
{
	return (calls_on_ref(c, "repr", ref, opts, result, err));
}

int
sb_pystr(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
    sb_value **result, sb_error **err)
{
	return (calls_on_ref(c, "str", ref, opts, result, err));
}

int
sb_len(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
    sb_value **result, sb_error **err)
{
	return (calls_on_ref(c, "len", ref, opts, result, err));
}

int
sb_dir(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
    sb_value **result, sb_error **err)
{
	return (calls_on_ref(c, "dir", ref, opts, result, err));
}

int
sb_iter(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
    sb_value **result, sb_error **err)
{
	return (calls_on_ref(c, "iter", ref, opts, result, err));
}

int
sb_getitem(sb_client *c, const sb_value *ref, const sb_value *key,
    const struct sb_opts *opts, sb_value **result, sb_error **err)
{
	sb_value nil;
	struct calls_req r = { "getitem", {
	    { ref, WANT_REF }, { key != NULL ? key : &nil, WANT_ANY } }, 2, 1,
	    opts };

	memset(&nil, 0, sizeof(nil));
	nil.type = SB_NIL;
	return (calls_run(c, &r, result, err));
}

int
sb_next(sb_client *c, const sb_value *ref, size_t max_items,
    const struct sb_opts *opts, sb_value **result, sb_error **err)
{
	sb_value n;
	struct calls_req r = { "next", {
	    { ref, WANT_REF }, { max_items > 0 ? &n : NULL, WANT_ANY } }, 2, 1,
	    opts };

	value_borrow_uint(&n, max_items);
	return (calls_run(c, &r, result, err));
}

int
sb_iter_next_batch(sb_client *c, const sb_value *iter_ref, size_t max_items,
    const struct sb_opts *opts, sb_value **items, int *done, sb_error **err)
{
	sb_value *res;
	int rc, d;

	if (err != NULL)
		*err = NULL;
	if (items == NULL || done == NULL)
		return (SB_EINVAL);
	*items = NULL;
	if ((rc = sb_next(c, iter_ref, max_items, opts, &res, err)) != 0)
		return (rc);
	/* [items, done] */
	if (sb_value_type(res) != SB_LIST || sb_value_len(res) != 2 ||
	    sb_value_type(res->u.seq.items[0]) != SB_LIST ||
	    sb_value_get_bool(res->u.seq.items[1], &d) != 0) {
		sb_value_free(res);
		return (SB_EPROTO);
	}
	*items = res->u.seq.items[0];
	res->u.seq.items[0] = NULL;
	*done = d;
	sb_value_free(res);
	return (0);
}

/* Submit a stream request and hand it to stream_run. */
static int
calls_stream(sb_client *c, const struct calls_req *r, sb_item_fn fn, void *ud,
    uint64_t *count, sb_error **err)
{
	sb_pending *p;
	int rc, wait_ms;

	if (err != NULL)
		*err = NULL;
	if (fn == NULL)
		return (SB_EINVAL);
	if ((rc = calls_submit(c, r, 1, &wait_ms, &p)) != 0)
		return (rc);
	rc = stream_run(c, p, fn, ud, count, err);
	wq_unborrow(c);
	return (rc);
}

int
sb_stream(sb_client *c, const char *module, const char *func,
    const sb_value *args, const sb_value *kwargs, const struct sb_opts *opts,
    sb_item_fn fn, void *ud, uint64_t *count, sb_error **err)
{
	sb_value m, f;
	struct calls_req r = { "stream", {
	    { calls_name(&m, module), WANT_NAME },
	    { calls_name(&f, func), WANT_NAME },
	    { args, WANT_LIST }, { kwargs, WANT_MAP } }, 4, 1, opts };

	return (calls_stream(c, &r, fn, ud, count, err));
}

int
sb_stream_ref(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
    sb_item_fn fn, void *ud, uint64_t *count, sb_error **err)
{
	struct calls_req r = { "stream", { { ref, WANT_REF } }, 1, 1, opts };

	return (calls_stream(c, &r, fn, ud, count, err));
}

int
sb_release(sb_client *c, const sb_value *ref_or_list,
    const struct sb_opts *opts, sb_error **err)
{
	struct calls_req r = { "release", {
	    { ref_or_list, WANT_REF_OR_LIST } }, 1, 1, opts };

	return (calls_run(c, &r, NULL, err));
}

int
sb_ping(sb_client *c, sb_error **err)
{
	struct calls_req r = { "ping", { { NULL, WANT_ANY } }, 0, 0, NULL };

	return (calls_run(c, &r, NULL, err));
}

int
sb_status(sb_client *c, sb_value **result, sb_error **err)
{
	struct calls_req r = { "status", { { NULL, WANT_ANY } }, 0, 0, NULL };

	return (calls_run(c, &r, result, err));
}

int
sb_session_open(sb_client *c, const char *name, const sb_value *settings,
    sb_value **result, sb_error **err)
{
	sb_value n;
	struct calls_req r = { "session.open", {
	    { calls_name(&n, name), WANT_ANY }, { settings, WANT_MAP } }, 2, 0,
	    NULL };

	return (calls_run(c, &r, result, err));
}

/* The session methods whose params are [name]. */
static int
calls_on_session(sb_client *c, const char *method, const char *name,
    sb_value **result, sb_error **err)
{
	sb_value n;
	struct calls_req r = { method, {
	    { calls_name(&n, name), WANT_NAME } }, 1, 0, NULL };

	return (calls_run(c, &r, result, err));
}

int
sb_session_close(sb_client *c, const char *name, sb_error **err)
{
	return (calls_on_session(c, "session.close", name, NULL, err));
}

int
sb_session_info(sb_client *c, const char *name, sb_value **result,
    sb_error **err)
{
	return (calls_on_session(c, "session.info", name, result, err));
}

int
sb_session_list(sb_client *c, sb_value **result, sb_error **err)
{
	struct calls_req r = { "session.list", { { NULL, WANT_ANY } }, 0, 0,
	    NULL };

	return (calls_run(c, &r, result, err));
}

/* sb_request and sb_request_async: params as given, no OPTS. */
static int
calls_generic(sb_client *c, const char *method, const sb_value *params,
    int borrow, sb_pending **out)
{
	*out = NULL;
	if (c == NULL || method == NULL || (params != NULL &&
	    sb_value_type(params) != SB_LIST))
		return (SB_EINVAL);
	return (pending_send(c, method, params != NULL ?
	    (const sb_value *const *)params->u.seq.items : NULL,
	    sb_value_len(params), NULL, borrow, out));
}

int
sb_request(sb_client *c, const char *method, const sb_value *params,
    sb_value **result, sb_error **err)
{
	sb_pending *p;
	int rc;

	if (result != NULL)
		*result = NULL;
	if (err != NULL)
		*err = NULL;
	if (result == NULL)
		return (SB_EINVAL);
	if ((rc = calls_generic(c, method, params, 1, &p)) != 0)
		return (rc);
	return (pending_finish(c, p, -1, result, err));
}

int
sb_request_async(sb_client *c, const char *method, const sb_value *params,
    sb_pending **out)
{
	if (out == NULL)
		return (SB_EINVAL);
	return (calls_generic(c, method, params, 0, out));
}
