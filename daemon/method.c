/*
 * method.c: the one table of protocol methods (name, OPTS position, types of
 * params, flags, local handler) and the generic checks every request passes
 * before it is served: params against the table's spec, and OPTS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

/*
 * Param specs, one letter per position:
 *   s str           S str or nil      r ref (ext 6)     R ref or list of refs
 *   a array or nil  m map with str keys, or nil         M map or nil
 *   u uint or nil   n uint            v any value
 * Names (space separated) are used in error messages.
 */
static const struct method methods[] = {
	{ "hello", -1, "M", "hello", 0, M_LOCAL, m_hello },
	{ "ping", -1, "", "", 0, M_LOCAL, m_ping },
	{ "status", -1, "", "", 0, M_LOCAL, m_status },
	{ "stats", -1, "", "", 0, M_LOCAL, m_stats },
	{ "events.subscribe", -1, "a", "filter", 0, M_LOCAL,
	    m_events_subscribe },
	{ "cancel", -1, "n", "msgid", 1, M_LOCAL, m_cancel },
	{ "session.open", -1, "SM", "name options", 0, M_LOCAL,
	    m_session_open },
	{ "session.close", -1, "s", "name", 1, M_LOCAL, m_session_close },
	{ "session.info", -1, "s", "name", 1, M_LOCAL, m_session_info },
	{ "session.list", -1, "", "", 0, M_LOCAL, m_session_list },
	{ "reload", -1, "", "", 0, M_LOCAL|M_ADMIN, m_reload },
	{ "shutdown", -1, "", "", 0, M_LOCAL|M_ADMIN, m_shutdown },
	{ "worker.restart", -1, "su", "pool slot", 1, M_LOCAL|M_ADMIN,
	    m_worker_restart },
	/* checked by their handlers; an attach takes its fd whatever */
	{ "shm.attach", -1, "v", "size", 0, M_LOCAL|M_FD, m_shm_attach },
	{ "shm.detach", -1, "v", "block", 0, M_LOCAL, m_shm_detach },

	{ "call", 4, "ssam", "module function args kwargs", 2, M_WORKER, NULL },
	{ "get", 2, "ss", "module attribute", 2, M_WORKER, NULL },
	{ "method", 4, "rsam", "ref name args kwargs", 2, M_WORKER|M_REF,
	    NULL },
	{ "attr", 2, "rs", "ref name", 2, M_WORKER|M_REF, NULL },
	{ "setattr", 3, "rsv", "ref name value", 3, M_WORKER|M_REF, NULL },
	{ "repr", 1, "r", "ref", 1, M_WORKER|M_REF, NULL },
	{ "str", 1, "r", "ref", 1, M_WORKER|M_REF, NULL },
	{ "len", 1, "r", "ref", 1, M_WORKER|M_REF, NULL },
	{ "dir", 1, "r", "ref", 1, M_WORKER|M_REF, NULL },
	{ "iter", 1, "r", "ref", 1, M_WORKER|M_REF, NULL },
	{ "getitem", 2, "rv", "ref key", 2, M_WORKER|M_REF, NULL },
	{ "next", 2, "ru", "ref max_items", 1, M_WORKER|M_REF, NULL },
	{ "stream", 4, "ssam", "module function args kwargs", 2,
	    M_WORKER|M_STREAMFORM, NULL },
	{ "release", 1, "R", "ref", 1, M_WORKER, NULL },
};

/* The ref form of stream: [ref, OPTS?]. */
static const struct method stream_ref = {
	"stream", 1, "r", "ref", 1, M_WORKER|M_REF|M_STREAMFORM, NULL
};

/*
 * The method table by name: open addressing on a hash of the name's length
 * and its first and last bytes, built on first use; each probe compares
 * lengths before bytes.
 */
#define METHOD_SLOTS	64	/* a power of two, over twice the table */
static const struct method	*method_slots[METHOD_SLOTS];
static unsigned char		 method_lens[METHOD_SLOTS];
static int			 method_hashed;

static unsigned
method_hash(const char *name, size_t len)
{
	return ((unsigned)(len * 7 + (unsigned char)name[0] * 3 +
	    (unsigned char)name[len - 1]) & (METHOD_SLOTS - 1));
}

static void
method_hash_build(void)
{
	size_t i, len;
	unsigned h;

	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		len = strlen(methods[i].name);
		h = method_hash(methods[i].name, len);
		while (method_slots[h] != NULL)
			h = (h + 1) & (METHOD_SLOTS - 1);
		method_slots[h] = &methods[i];
		method_lens[h] = (unsigned char)len;
	}
	method_hashed = 1;
}

const struct method *
method_find_obj(const msgpack_object *name)
{
	const char *p = name->via.str.ptr;
	size_t len = name->via.str.size;
	unsigned h;

	if (name->type != MSGPACK_OBJECT_STR || len == 0)
		return (NULL);
	if (!method_hashed)
		method_hash_build();
	for (h = method_hash(p, len); method_slots[h] != NULL;
	    h = (h + 1) & (METHOD_SLOTS - 1)) {
		if (method_lens[h] == len &&
		    memcmp(method_slots[h]->name, p, len) == 0)
			return (method_slots[h]);
	}
	return (NULL);
}

int
method_index(const struct method *m)
{
	size_t i;

	for (i = 0; m == &stream_ref && i < sizeof methods /
	    sizeof methods[0]; i++) {
		if (strcmp(methods[i].name, "stream") == 0)
			return ((int)i);
	}
	if (m < methods || m >= methods + sizeof methods / sizeof methods[0])
		return (-1);
	return ((int)(m - methods));
}

const struct method *
method_by_index(unsigned i)
{
	return (&methods[i]);
}

static int
method_is_ref(const msgpack_object *o)
{
	return (o->type == MSGPACK_OBJECT_EXT && o->via.ext.type == SB_EXT_REF);
}

/* Does o match spec letter t? */
static int
method_type_ok(char t, const msgpack_object *o)
{
	int isnil = o->type == MSGPACK_OBJECT_NIL;
	uint32_t i;

	switch (t) {
	case 's':
		return (o->type == MSGPACK_OBJECT_STR);
	case 'S':
		return (isnil || o->type == MSGPACK_OBJECT_STR);
	case 'r':
		return (method_is_ref(o));
	case 'R':
		if (method_is_ref(o))
			return (1);
		if (o->type != MSGPACK_OBJECT_ARRAY)
			return (0);
		for (i = 0; i < o->via.array.size; i++) {
			if (!method_is_ref(&o->via.array.ptr[i]))
				return (0);
		}
		return (1);
	case 'a':
		return (isnil || o->type == MSGPACK_OBJECT_ARRAY);
	case 'm':
		if (isnil)
			return (1);
		if (o->type != MSGPACK_OBJECT_MAP)
			return (0);
		for (i = 0; i < o->via.map.size; i++) {
			if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
				return (0);
		}
		return (1);
	case 'M':
		return (isnil || o->type == MSGPACK_OBJECT_MAP);
	case 'u':
		return (isnil || o->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
	case 'n':
		return (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
	default:
		return (1);
	}
}

static const char *
method_type_name(char t)
{
	switch (t) {
	case 's':
		return ("a str");
	case 'S':
		return ("a str or nil");
	case 'r':
		return ("a ref (ext 6)");
	case 'R':
		return ("a ref or a list of refs");
	case 'a':
		return ("an array or nil");
	case 'm':
		return ("a map with str keys, or nil");
	case 'M':
		return ("a map or nil");
	case 'u':
		return ("a non-negative integer or nil");
	case 'n':
		return ("a non-negative integer");
	default:
		return ("a value");
	}
}

/* Copy the n-th space-separated word of names into buf. */
static void
method_param_name(const char *names, unsigned n, char *buf, size_t len)
{
	const char *p = names, *end;

	while (n-- > 0 && (p = strchr(p, ' ')) != NULL)
		p++;
	if (p == NULL)
		p = "param";
	end = strchr(p, ' ');
	snprintf(buf, len, "%.*s", (int)(end ? (size_t)(end - p) :
	    strlen(p)), p);
}

/* Read OPTS into r->opts; -1 when fine, else an error type. */
static int
method_parse_opts(struct request *r, const msgpack_object *o, char *err,
    size_t len)
{
	const msgpack_object *v;
	const struct profile *pr;

	if (o->type == MSGPACK_OBJECT_NIL)
		return (-1);
	if (o->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, len, "%s: OPTS must be a map", r->method->name);
		return (SB_ERRTYPE_BAD_REQUEST);
	}
	if ((v = mpk_map_get(o, "session")) != NULL &&
	    v->type != MSGPACK_OBJECT_NIL) {
		if ((r->opts.session = mpk_strdup(v)) == NULL)
			goto bad;
	}
	if ((v = mpk_map_get(o, "timeout")) != NULL &&
	    v->type != MSGPACK_OBJECT_NIL) {
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			goto bad;
		r->opts.has_timeout = 1;
		r->opts.timeout_ms = v->via.u64;
	}
	if ((v = mpk_map_get(o, "timeout_profile")) != NULL &&
	    v->type != MSGPACK_OBJECT_NIL) {
		char *name = mpk_strdup(v);

		if (name == NULL)
			goto bad;
		pr = config_find_profile(sbd.conf, name);
		if (pr == NULL) {
			snprintf(err, len, "unknown timeout profile '%s'",
			    name);
			free(name);
			return (SB_ERRTYPE_UNKNOWN_PROFILE);
		}
		free(name);
		if (!r->opts.has_timeout) {
			r->opts.has_timeout = 1;
			r->opts.timeout_ms = pr->ms;
		}
	}
	if ((v = mpk_map_get(o, "stream_timeout")) != NULL &&
	    v->type != MSGPACK_OBJECT_NIL) {
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			goto bad;
		r->opts.has_stream_timeout = 1;
		r->opts.stream_timeout_ms = v->via.u64;
	}
	if ((v = mpk_map_get(o, "pool")) != NULL &&
	    v->type != MSGPACK_OBJECT_NIL) {
		if ((r->opts.pool = mpk_strdup(v)) == NULL)
			goto bad;
		if (pool_find(r->opts.pool) == NULL) {
			snprintf(err, len, "unknown pool '%s'", r->opts.pool);
			return (SB_ERRTYPE_UNKNOWN_POOL);
		}
	}
	if ((v = mpk_map_get(o, "affinity")) != NULL &&
	    v->type != MSGPACK_OBJECT_NIL) {
		char *name = mpk_strdup(v);
		int rc = name == NULL ? -1 :
		    config_parse_affinity(name, &r->opts.affinity);

		free(name);
		if (rc != 0) {
			snprintf(err, len, "affinity must be strict_queue, "
			    "strict_fail_fast or hint");
			return (SB_ERRTYPE_BAD_REQUEST);
		}
		r->opts.has_affinity = 1;
	}
	return (-1);
bad:
	snprintf(err, len, "%s: bad OPTS (session, timeout_profile, pool: "
	    "str; timeout, stream_timeout: uint ms)", r->method->name);
	return (SB_ERRTYPE_BAD_REQUEST);
}

/*
 * Check r's params against its method's spec and read OPTS. Returns -1 when
 * fine, else an error type with a message in err.
 */
int
method_check_params(struct request *r, char *err, size_t len)
{
	const struct method *m = r->method;
	const msgpack_object *p = r->params->via.array.ptr;
	uint32_t n = r->params->via.array.size, nspec, i;
	char name[32];
	int rc;

	if ((m->flags & M_STREAMFORM) && n > 0 && method_is_ref(&p[0]))
		m = r->method = &stream_ref;
	nspec = (uint32_t)strlen(m->spec);
	if (n < m->nreq) {
		snprintf(err, len, "%s takes at least %u params (%s), got %u",
		    m->name, m->nreq, m->names, n);
		return (SB_ERRTYPE_BAD_REQUEST);
	}
	if (n > nspec + (m->opts >= 0 ? 1 : 0)) {
		snprintf(err, len, "%s takes at most %u params, got %u",
		    m->name, nspec + (m->opts >= 0 ? 1 : 0), n);
		return (SB_ERRTYPE_BAD_REQUEST);
	}
	r->nparams = n < nspec ? n : nspec;
	for (i = 0; i < r->nparams; i++) {
		if (i >= m->nreq && p[i].type == MSGPACK_OBJECT_NIL &&
		    m->spec[i] != 'v')
			continue;
		if (!method_type_ok(m->spec[i], &p[i])) {
			method_param_name(m->names, i, name, sizeof name);
			snprintf(err, len, "%s: params[%u] (%s) must be %s",
			    m->name, i, name, method_type_name(m->spec[i]));
			return (SB_ERRTYPE_BAD_REQUEST);
		}
	}
	if (m->opts >= 0 && n > (uint32_t)m->opts &&
	    (rc = method_parse_opts(r, &p[m->opts], err, len)) >= 0)
		return (rc);
	return (-1);
}
