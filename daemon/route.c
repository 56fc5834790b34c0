/*
 * route.c: deciding where a worker request runs. Refs found anywhere in its
 * params pick the worker and, without a `session` option, the session; each
 * ref's ownership is checked here (docs/protocol.md, Refs) so that a client
 * can never reach another session's objects. Each ndarray in a shared
 * block (ext 12) must lie in a block of the request's own connection; the
 * blocks a request uses are noted on it, for the worker it is sent to.
 */
#include <stdio.h>

#include "config.h"
#include "snakebridged.h"

struct route {
	struct request	*r;
	struct session	*s;		/* of the refs seen */
	struct worker	*w;
	int		 failed;
	enum sb_errtype	 err;
	char		 msg[200];
};

static void
route_fail(struct route *rt, enum sb_errtype err, const char *msg)
{
	if (rt->failed)
		return;
	rt->failed = 1;
	rt->err = err;
	snprintf(rt->msg, sizeof rt->msg, "%s", msg);
}

/* Check one ref and merge its session and worker into rt. */
static void
route_ref(struct route *rt, const msgpack_object *o)
{
	struct sb_refdata rd;
	struct session *s;
	struct pool *p;
	struct worker *w;

	if (sb_ref_decode(o->via.ext.ptr, o->via.ext.size, &rd) != 0) {
		route_fail(rt, SB_ERRTYPE_INVALID_REF, "not a valid ref");
		return;
	}
	s = session_find_id(rd.session_id);
	if (s == NULL || s->owner != rt->r->conn->uid) {
		route_fail(rt, SB_ERRTYPE_REF_NOT_FOUND, "the ref's session "
		    "has ended");
		return;
	}
	p = pool_by_id(rd.pool_id);
	if (p == NULL || rd.slot >= p->nworkers ||
	    p->workers[rd.slot]->generation != rd.generation) {
		route_fail(rt, SB_ERRTYPE_REF_LOST, "the worker holding the "
		    "ref has restarted; the object is lost");
		return;
	}
	w = p->workers[rd.slot];
	if (rt->s == NULL) {
		rt->s = s;
		rt->w = w;
	} else if (rt->s != s)
		route_fail(rt, SB_ERRTYPE_REF_FOREIGN, "refs of two "
		    "different sessions in one request");
	else if (rt->w != w)
		route_fail(rt, SB_ERRTYPE_REF_FOREIGN, "refs held by two "
		    "different workers in one request");
}

/* Check one ext 12 and note its block on the request. */
static void
route_shm(struct route *rt, const msgpack_object *o)
{
	struct request *r = rt->r;
	struct sb_shmarray a;
	struct shmblock *b;
	char msg[128];
	unsigned i;

	if (sb_shmarray_decode(o->via.ext.ptr, o->via.ext.size, &a) != 0) {
		route_fail(rt, SB_ERRTYPE_SHARED_MEMORY, "malformed ext 12 "
		    "(an ndarray in a shared block)");
		return;
	}
	if ((b = shm_find(r->conn, a.block)) == NULL) {
		snprintf(msg, sizeof msg, "block %llu is not attached to this "
		    "connection", (unsigned long long)a.block);
		route_fail(rt, SB_ERRTYPE_SHARED_MEMORY, msg);
		return;
	}
	if (a.offset + a.nbytes > b->size) {
		snprintf(msg, sizeof msg, "bytes %llu to %llu are past the "
		    "end of block %llu (%llu bytes)",
		    (unsigned long long)a.offset,
		    (unsigned long long)(a.offset + a.nbytes),
		    (unsigned long long)b->id, (unsigned long long)b->size);
		route_fail(rt, SB_ERRTYPE_SHARED_MEMORY, msg);
		return;
	}
	for (i = 0; i < r->nshm; i++) {
		if (r->shm[i] == b->id)
			return;
	}
	/* distinct blocks of one connection: at most SB_SHM_BLOCKS_MAX */
	if (r->nshm < SB_SHM_BLOCKS_MAX)
		r->shm[r->nshm++] = b->id;
}

static void	route_walk(struct route *, const msgpack_object *, unsigned);

/* Look for refs inside the payload of a tuple, set or frozenset. */
static void
route_walk_ext(struct route *rt, const msgpack_object *o, unsigned depth)
{
	msgpack_unpacked up;
	struct sb_scan sc;
	size_t n, off = 0;

	sb_scan_init(&sc, o->via.ext.size, SB_SCAN_DEPTH_CEILING - depth);
	if (o->via.ext.size == 0 || sb_scan_feed(&sc, o->via.ext.ptr,
	    o->via.ext.size, &n) != SB_SCAN_DONE) {
		route_fail(rt, SB_ERRTYPE_BAD_REQUEST, "malformed tuple or "
		    "set payload");
		return;
	}
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, o->via.ext.ptr, n, &off) ==
	    MSGPACK_UNPACK_SUCCESS)
		route_walk(rt, &up.data, depth + 1);
	msgpack_unpacked_destroy(&up);
}

static void
route_walk(struct route *rt, const msgpack_object *o, unsigned depth)
{
	uint32_t i;

	if (rt->failed || depth >= SB_SCAN_DEPTH_CEILING)
		return;
	switch (o->type) {
	case MSGPACK_OBJECT_ARRAY:
		for (i = 0; i < o->via.array.size; i++)
			route_walk(rt, &o->via.array.ptr[i], depth + 1);
		break;
	case MSGPACK_OBJECT_MAP:
		for (i = 0; i < o->via.map.size; i++) {
			route_walk(rt, &o->via.map.ptr[i].key, depth + 1);
			route_walk(rt, &o->via.map.ptr[i].val, depth + 1);
		}
		break;
	case MSGPACK_OBJECT_EXT:
		if (o->via.ext.type == SB_EXT_REF)
			route_ref(rt, o);
		else if (o->via.ext.type == SB_EXT_SHMARRAY)
			route_shm(rt, o);
		else if (o->via.ext.type == SB_EXT_TUPLE ||
		    o->via.ext.type == SB_EXT_SET ||
		    o->via.ext.type == SB_EXT_FROZENSET)
			route_walk_ext(rt, o, depth);
		break;
	default:
		break;
	}
}

/* The session a request runs in; NULL after answering an error. */
static struct session *
route_session(struct request *r, struct route *rt)
{
	struct conn *c = r->conn;
	struct session *s;
	enum sb_errtype err;
	char msg[128];

	if (r->opts.session != NULL) {
		s = session_find_name(c->uid, r->opts.session);
		if (s == NULL) {
			request_error(r, SB_ERRTYPE_SESSION_NOT_FOUND, "no "
			    "session named '%s'", r->opts.session);
			return (NULL);
		}
		if (rt->s != NULL && rt->s != s) {
			request_error(r, SB_ERRTYPE_REF_FOREIGN, "the ref "
			    "belongs to another session");
			return (NULL);
		}
		return (s);
	}
	if (rt->s != NULL) {
		if (rt->s->name == NULL && rt->s->conn != c) {
			request_error(r, SB_ERRTYPE_REF_FOREIGN, "the ref "
			    "belongs to another connection's session");
			return (NULL);
		}
		return (rt->s);
	}
	if (c->autosess == NULL) {
		struct pool *p = pool_find(r->opts.pool != NULL ?
		    r->opts.pool : "default");

		c->autosess = session_create(NULL, c->uid, c, p, &err, msg,
		    sizeof msg);
		if (c->autosess == NULL) {
			request_error(r, err, "%s", msg);
			return (NULL);
		}
	}
	return (c->autosess);
}

int
route_request(struct request *r)
{
	struct route rt;
	struct session *s;
	const struct profile *pr;
	uint32_t i;

	rt.r = r;		/* rt.err and rt.msg are set on failure */
	rt.s = NULL;
	rt.w = NULL;
	rt.failed = 0;
	for (i = 0; i < r->nparams; i++)
		route_walk(&rt, &r->params->via.array.ptr[i], 0);
	if (rt.failed) {
		request_error(r, rt.err, "%s", rt.msg);
		return (-1);
	}
	if ((s = route_session(r, &rt)) == NULL)
		return (-1);
	if (s->worker == NULL && r->opts.pool != NULL)
		s->pool = pool_find(r->opts.pool);
	r->session = s;
	s->running++;
	session_touch(s);
	r->worker = rt.w;
	r->pool = rt.w != NULL ? rt.w->pool : s->pool;
	r->affinity = r->opts.has_affinity ? r->opts.affinity :
	    r->pool->affinity;
	r->any_worker = r->affinity == AFFINITY_HINT && rt.w == NULL;
	if (r->opts.has_timeout)
		r->timeout_ms = r->opts.timeout_ms;
	else if ((pr = config_find_profile(sbd.conf,
	    (r->method->flags & M_STREAMFORM) ? "streaming" : "default")) !=
	    NULL)
		r->timeout_ms = pr->ms;
	return (0);
}
