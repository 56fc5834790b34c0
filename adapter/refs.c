/*
 * refs.c: per-session ref tables. A session id maps to a table of ref id ->
 * object that keeps the objects alive until they are released or the session
 * is dropped. Ref ids are unique for the life of the worker, so a released
 * id is never found again. This file also checks that a ref payload names
 * this worker and the request's session, and that what it names passes the
 * module policy.
 */
#include "adapter.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct worker_identity	 worker_id = { 0, 0, 0, 0, SB_SCAN_DEFAULT_SIZE, -1 };

struct refs_session {
	uint64_t		 id;
	PyObject		*table;		/* dict: int ref id -> object */
	struct refs_session	*next;
};

static struct refs_session	*refs_sessions;
static uint64_t			 refs_next_id = 1;

/* Find a session, moving it to the front; NULL when it has no table. */
static struct refs_session *
refs_find(uint64_t sid)
{
	struct refs_session	**pp, *s;

	for (pp = &refs_sessions; (s = *pp) != NULL; pp = &s->next) {
		if (s->id == sid) {
			*pp = s->next;
			s->next = refs_sessions;
			refs_sessions = s;
			return (s);
		}
	}
	return (NULL);
}

/* Keep obj alive in session sid under a new ref id. */
int
refs_add(uint64_t sid, PyObject *obj, uint64_t *ref_id)
{
	struct refs_session	*s;
	PyObject		*key;
	int			 rv;

	if ((s = refs_find(sid)) == NULL) {
		if ((s = calloc(1, sizeof *s)) == NULL) {
			PyErr_NoMemory();
			return (-1);
		}
		if ((s->table = PyDict_New()) == NULL) {
			free(s);
			return (-1);
		}
		s->id = sid;
		s->next = refs_sessions;
		refs_sessions = s;
	}
	if (worker_id.max_refs > 0 &&
	    (size_t)PyDict_GET_SIZE(s->table) >= worker_id.max_refs) {
		pyerr_set_limit("max_refs_per_session",
		    (long long)worker_id.max_refs);
		return (-1);
	}
	if ((key = PyLong_FromUnsignedLongLong(refs_next_id)) == NULL)
		return (-1);
	rv = PyDict_SetItem(s->table, key, obj);
	Py_DECREF(key);
	if (rv != 0)
		return (-1);
	*ref_id = refs_next_id++;
	return (0);
}

/* Remove one ref if present (an undone encode, a release). */
static int
refs_remove(struct refs_session *s, uint64_t ref_id)
{
	PyObject	*key, *obj;
	int		 rv;

	if ((key = PyLong_FromUnsignedLongLong(ref_id)) == NULL)
		return (-1);
	obj = PyDict_GetItemWithError(s->table, key);
	if (obj == NULL) {
		Py_DECREF(key);
		return (PyErr_Occurred() ? -1 : 0);
	}
	/* The finalizer runs after the table is consistent again. */
	Py_INCREF(obj);
	rv = PyDict_DelItem(s->table, key);
	Py_DECREF(key);
	Py_DECREF(obj);
	return (rv);
}

void
refs_forget(uint64_t sid, uint64_t ref_id)
{
	struct refs_session	*s;

	if ((s = refs_find(sid)) != NULL && refs_remove(s, ref_id) != 0)
		PyErr_Clear();
}

/*
 * Parse a payload and check it belongs here and to session sid. Errors:
 * InvalidRef (not a ref), RefLost (an earlier life of this slot), RefForeign
 * (another worker or session).
 */
static int
refs_check(const void *payload, size_t len, uint64_t sid,
    struct sb_refdata *r)
{
	if (sb_ref_decode(payload, len, r) != 0) {
		pyerr_set(SB_ERRTYPE_INVALID_REF, "not a valid ref");
		return (-1);
	}
	if (r->pool_id != worker_id.pool_id || r->slot != worker_id.slot) {
		pyerr_set(SB_ERRTYPE_REF_FOREIGN, "ref %llu belongs to another "
		    "worker", (unsigned long long)r->ref_id);
		return (-1);
	}
	if (r->generation != worker_id.generation) {
		pyerr_set(SB_ERRTYPE_REF_LOST, "ref %llu was lost when its "
		    "worker restarted", (unsigned long long)r->ref_id);
		return (-1);
	}
	if (r->session_id != sid) {
		pyerr_set(SB_ERRTYPE_REF_FOREIGN, "ref %llu belongs to another "
		    "session", (unsigned long long)r->ref_id);
		return (-1);
	}
	return (0);
}

/*
 * The object a ref payload names (new reference), or NULL and an error. A
 * ref to a module the module policy refuses (one returned by an allowed
 * function, say) resolves to the error, whatever the request does with it.
 */
PyObject *
refs_resolve(const void *payload, size_t len, uint64_t sid)
{
	struct sb_refdata	 r;
	struct refs_session	*s;
	PyObject		*key, *obj = NULL;

	if (refs_check(payload, len, sid, &r) != 0)
		return (NULL);
	if ((s = refs_find(sid)) != NULL) {
		if ((key = PyLong_FromUnsignedLongLong(r.ref_id)) == NULL)
			return (NULL);
		obj = PyDict_GetItemWithError(s->table, key);
		Py_DECREF(key);
		if (obj == NULL && PyErr_Occurred())
			return (NULL);
	}
	if (obj == NULL)
		return (pyerr_set(SB_ERRTYPE_REF_NOT_FOUND, "ref %llu (%.*s) "
		    "was released or its session ended",
		    (unsigned long long)r.ref_id, (int)r.type_len,
		    r.type_name));
	Py_INCREF(obj);
	if (policy_check(obj) != 0)
		Py_CLEAR(obj);
	return (obj);
}

/* Release a ref of session sid; an unknown ref id is not an error. */
int
refs_release(const void *payload, size_t len, uint64_t sid)
{
	struct sb_refdata	 r;
	struct refs_session	*s;

	if (refs_check(payload, len, sid, &r) != 0)
		return (-1);
	if ((s = refs_find(sid)) == NULL)
		return (0);
	return (refs_remove(s, r.ref_id));
}

/* Drop a session's whole table; returns how many refs it held. */
long long
refs_drop_session(uint64_t sid)
{
	struct refs_session	*s;
	long long		 n;

	if ((s = refs_find(sid)) == NULL)
		return (0);
	refs_sessions = s->next;	/* refs_find put it first */
	n = PyDict_GET_SIZE(s->table);
	Py_DECREF(s->table);		/* finalizers run here */
	free(s);
	return (n);
}

/* Resident set size in KiB, from /proc. */
static long long
refs_rss_kb(void)
{
	FILE		*f;
	long long	 size = 0, resident = 0;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return (0);
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (resident * (sysconf(_SC_PAGESIZE) / 1024));
}

/* {"rss_kb": N, "refs": N, "sessions": {session id: refs}} */
PyObject *
refs_stats(void)
{
	struct refs_session	*s;
	PyObject		*sessions, *k, *v, *out;
	long long		 total = 0;

	if ((sessions = PyDict_New()) == NULL)
		return (NULL);
	for (s = refs_sessions; s != NULL; s = s->next) {
		total += PyDict_GET_SIZE(s->table);
		k = PyLong_FromUnsignedLongLong(s->id);
		v = PyLong_FromSsize_t(PyDict_GET_SIZE(s->table));
		if (k == NULL || v == NULL ||
		    PyDict_SetItem(sessions, k, v) != 0) {
			Py_XDECREF(k);
			Py_XDECREF(v);
			Py_DECREF(sessions);
			return (NULL);
		}
		Py_DECREF(k);
		Py_DECREF(v);
	}
	out = Py_BuildValue("{s:L,s:L,s:N}", "rss_kb", refs_rss_kb(),
	    "refs", total, "sessions", sessions);
	return (out);
}

/* Drop every session (shutdown). */
void
refs_clear(void)
{
	while (refs_sessions != NULL)
		refs_drop_session(refs_sessions->id);
}
