/*
 * m_session.c: session.open, session.close, session.info, session.list.
 * Names are per user: another uid's session is as if it did not exist.
 */
#include <math.h>
#include <stdlib.h>

#include "config.h"
#include "snakebridged.h"

static void
m_session_reply(struct request *r, const struct session *s)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	request_reply_begin(&sb, &pk);
	session_pack_info(&pk, s);
	request_reply(r, &sb);
}

/* Read {idle_timeout (s), pool} of session.open; 0 or -1 after answering. */
static int
m_session_options(struct request *r, const msgpack_object *o,
    uint64_t *idle_ms, int *has_idle, struct pool **pool)
{
	const msgpack_object *v;
	char *name;

	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return (0);
	if ((v = mpk_map_get(o, "idle_timeout")) != NULL &&
	    v->type != MSGPACK_OBJECT_NIL) {
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    v->via.u64 < UINT64_MAX / 1000)
			*idle_ms = v->via.u64 * 1000;
		else if ((v->type == MSGPACK_OBJECT_FLOAT64 ||
		    v->type == MSGPACK_OBJECT_FLOAT32) && v->via.f64 >= 0 &&
		    v->via.f64 < 1e12)
			*idle_ms = (uint64_t)llround(v->via.f64 * 1000.0);
		else {
			request_error(r, SB_ERRTYPE_BAD_REQUEST, "idle_timeout "
			    "must be a non-negative number of seconds");
			return (-1);
		}
		*has_idle = 1;
	}
	if ((v = mpk_map_get(o, "pool")) != NULL &&
	    v->type != MSGPACK_OBJECT_NIL) {
		if ((name = mpk_strdup(v)) == NULL) {
			request_error(r, SB_ERRTYPE_BAD_REQUEST, "pool must be "
			    "a str");
			return (-1);
		}
		*pool = pool_find(name);
		if (*pool == NULL) {
			request_error(r, SB_ERRTYPE_UNKNOWN_POOL, "unknown "
			    "pool '%s'", name);
			free(name);
			return (-1);
		}
		free(name);
	}
	return (0);
}

/* session.open [name?, {idle_timeout, pool}?]: create or attach. */
void
m_session_open(struct request *r)
{
	const msgpack_object *p = r->params->via.array.ptr;
	uint32_t n = r->params->via.array.size;
	struct pool *pool = NULL;
	struct session *s;
	uint64_t idle = 0;
	int has_idle = 0;
	enum sb_errtype err;
	char *name = NULL, msg[128];

	if (m_session_options(r, n > 1 ? &p[1] : NULL, &idle, &has_idle,
	    &pool) != 0)
		return;
	if (n > 0 && p[0].type == MSGPACK_OBJECT_STR) {
		if ((name = mpk_strdup(&p[0])) == NULL ||
		    p[0].via.str.size == 0 || p[0].via.str.size > 255) {
			free(name);
			request_error(r, SB_ERRTYPE_BAD_REQUEST, "a session "
			    "name is 1 to 255 bytes, without NUL");
			return;
		}
		s = session_find_name(r->conn->uid, name);
	} else
		s = r->conn->autosess;
	if (s == NULL) {
		s = session_create(name, r->conn->uid, name ? NULL : r->conn,
		    pool != NULL ? pool : pool_find("default"), &err, msg,
		    sizeof msg);
		if (s == NULL) {
			free(name);
			request_error(r, err, "%s", msg);
			return;
		}
		if (name == NULL)
			r->conn->autosess = s;
	} else if (pool != NULL && s->worker == NULL)
		s->pool = pool;
	free(name);
	if (has_idle && s->name != NULL)
		s->idle_timeout = idle;
	session_touch(s);
	m_session_reply(r, s);
}

/* The caller's named session params[0], or NULL after answering. */
static struct session *
m_session_named(struct request *r)
{
	const msgpack_object *o = &r->params->via.array.ptr[0];
	struct session *s = NULL;
	char *name = mpk_strdup(o);

	if (name != NULL)
		s = session_find_name(r->conn->uid, name);
	if (s == NULL)
		request_error(r, SB_ERRTYPE_SESSION_NOT_FOUND, "no session "
		    "named '%.*s'", (int)(o->via.str.size > 64 ? 64 :
		    o->via.str.size), o->via.str.ptr);
	free(name);
	return (s);
}

void
m_session_close(struct request *r)
{
	struct session *s;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if ((s = m_session_named(r)) == NULL)
		return;
	session_end(s);
	request_reply_begin(&sb, &pk);
	msgpack_pack_true(&pk);
	request_reply(r, &sb);
}

void
m_session_info(struct request *r)
{
	struct session *s;

	if ((s = m_session_named(r)) != NULL)
		m_session_reply(r, s);
}

struct m_session_list {
	msgpack_packer	*pk;
	unsigned	 n;
	int		 pack;
};

static void
m_session_list_cb(struct session *s, void *arg)
{
	struct m_session_list *l = arg;

	if (l->pack)
		session_pack_info(l->pk, s);
	l->n++;
}

void
m_session_list(struct request *r)
{
	struct m_session_list l = { NULL, 0, 0 };
	msgpack_sbuffer sb;
	msgpack_packer pk;

	session_list(r->conn->uid, m_session_list_cb, &l);
	request_reply_begin(&sb, &pk);
	msgpack_pack_array(&pk, l.n);
	l.pk = &pk;
	l.pack = 1;
	l.n = 0;
	session_list(r->conn->uid, m_session_list_cb, &l);
	request_reply(r, &sb);
}
