/*
 * m_admin.c: the admin methods reload, shutdown and worker.restart (the
 * method table restricts them to root and the daemon's own user).
 */
#include <stdlib.h>

#include "config.h"
#include "snakebridged.h"

static void
m_admin_true(struct request *r)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	request_reply_begin(&sb, &pk);
	msgpack_pack_true(&pk);
	request_reply(r, &sb);
}

void
m_reload(struct request *r)
{
	char *err = NULL;

	if (sbd_reload(&err) != 0) {
		request_error(r, SB_ERRTYPE_BAD_REQUEST, "config not reloaded: "
		    "%s", err != NULL ? err : "error");
		free(err);
		return;
	}
	m_admin_true(r);
}

void
m_shutdown(struct request *r)
{
	m_admin_true(r);
	sbd_shutdown();
}

/* worker.restart [pool, slot?]: restart one worker or all of a pool. */
void
m_worker_restart(struct request *r)
{
	const msgpack_object *p = r->params->via.array.ptr;
	struct pool *pool;
	char *name = mpk_strdup(&p[0]);
	unsigned i;

	pool = name != NULL ? pool_find(name) : NULL;
	if (pool == NULL) {
		request_error(r, SB_ERRTYPE_UNKNOWN_POOL, "unknown pool '%s'",
		    name != NULL ? name : "?");
		free(name);
		return;
	}
	free(name);
	if (r->params->via.array.size > 1 &&
	    p[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (p[1].via.u64 >= pool->nworkers) {
			request_error(r, SB_ERRTYPE_BAD_REQUEST, "pool %s has "
			    "no slot %llu", pool->name,
			    (unsigned long long)p[1].via.u64);
			return;
		}
		worker_restart(pool->workers[p[1].via.u64]);
	} else {
		for (i = 0; i < pool->nworkers; i++)
			worker_restart(pool->workers[i]);
	}
	m_admin_true(r);
}
