/*
 * dispatch.c: the worker's request handlers, one table of them. A request
 * from the daemon is [0, msgid, method, [session id, params...], conn?]
 * (conn: the client connection that sent it, 0 when absent); each
 * handler reads its params, runs Python and returns the result object, or
 * NULL with an exception set. dispatch_request answers every request exactly
 * once: the encoded result, or the error map when running or encoding
 * failed.
 */
#include "adapter.h"
#include "sbpack.h"

#include <string.h>

struct req {
	struct channel		*ch;
	uint32_t		 msgid;
	const char		*method;
	int			 method_len;
	uint64_t		 sid;
	uint64_t		 conn;	/* the client connection, 0 = none */
	const msgpack_object	*p;	/* params after the session id */
	uint32_t		 np;
	int			 as_ref;	/* send the result as a ref */
};

typedef PyObject	*(*dispatch_fn)(struct req *);

/* Positional args passed without a tuple, at most (no kwargs). */
#define DISPATCH_ARGV		8

/* A response buffer kept for the next response, when it stayed small. */
#define DISPATCH_SPARE_MAX	65536
static msgpack_sbuffer	 dispatch_spare;

/* Complain about params[i] as the client numbered it. */
static PyObject *
dispatch_bad(struct req *r, uint32_t i, const char *what, const char *want)
{
	return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "%.*s: params[%u] (%s) must "
	    "be %s", r->method_len, r->method, i, what, want));
}

static inline const msgpack_object *
dispatch_param(struct req *r, uint32_t i)
{
	return (i < r->np ? &r->p[i] : NULL);
}

static inline int
dispatch_absent(const msgpack_object *o)
{
	return (o == NULL || o->type == MSGPACK_OBJECT_NIL);
}

static inline int
dispatch_str(struct req *r, uint32_t i, const char *what, const char **s,
    size_t *len)
{
	const msgpack_object	*o = dispatch_param(r, i);

	if (o == NULL || o->type != MSGPACK_OBJECT_STR) {
		dispatch_bad(r, i, what, "a str");
		return (-1);
	}
	*s = o->via.str.ptr;
	*len = o->via.str.size;
	return (0);
}

/* A str param as a Python str. */
static PyObject *
dispatch_name(struct req *r, uint32_t i)
{
	const char	*s;
	size_t		 len;

	if (dispatch_str(r, i, "name", &s, &len) != 0)
		return (NULL);
	return (PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "strict"));
}

/* params[0], the ref the request works on (refs.c applies the policy). */
static PyObject *
dispatch_target(struct req *r)
{
	const msgpack_object	*o = dispatch_param(r, 0);

	if (o == NULL || o->type != MSGPACK_OBJECT_EXT ||
	    o->via.ext.type != SB_EXT_REF)
		return (dispatch_bad(r, 0, "ref", "a ref (ext 6)"));
	return (refs_resolve(o->via.ext.ptr, o->via.ext.size, r->sid));
}

static PyObject *
dispatch_value(struct req *r, uint32_t i)
{
	const msgpack_object	*o = dispatch_param(r, i);

	if (o == NULL)
		return (dispatch_bad(r, i, "value", "present"));
	return (codec_decode(o, r->sid, r->conn));
}

/* Call f with the args in array a and no kwargs, without an args tuple. */
static PyObject *
dispatch_vectorcall(struct req *r, PyObject *f, const msgpack_object *a)
{
	PyObject	*argv[DISPATCH_ARGV], *res;
	uint32_t	 n = 0, j;

	if (!dispatch_absent(a)) {
		n = a->via.array.size;
		if (codec_decode_argv(a, r->sid, r->conn, argv) != 0)
			return (NULL);
	}
	res = PyObject_Vectorcall(f, n > 0 ? argv : NULL, n, NULL);
	for (j = 0; j < n; j++)
		Py_DECREF(argv[j]);
	return (res);
}

/* Call f with args at params[i] and kwargs at params[i + 1]. */
static PyObject *
dispatch_invoke(struct req *r, PyObject *f, uint32_t i)
{
	const msgpack_object	*a = dispatch_param(r, i);
	const msgpack_object	*k = dispatch_param(r, i + 1);
	PyObject		*args, *kwargs = NULL, *res;

	if (!dispatch_absent(a) && a->type != MSGPACK_OBJECT_ARRAY)
		return (dispatch_bad(r, i, "args", "an array or nil"));
	if (!dispatch_absent(k) && k->type != MSGPACK_OBJECT_MAP)
		return (dispatch_bad(r, i + 1, "kwargs", "a map or nil"));
	if (dispatch_absent(k) &&
	    (dispatch_absent(a) || a->via.array.size <= DISPATCH_ARGV))
		return (dispatch_vectorcall(r, f, a));
	args = dispatch_absent(a) ? PyTuple_New(0) :
	    codec_decode_args(a, r->sid, r->conn);
	if (args == NULL)
		return (NULL);
	if (!dispatch_absent(k) &&
	    (kwargs = codec_decode_kwargs(k, r->sid, r->conn)) == NULL) {
		Py_DECREF(args);
		return (NULL);
	}
	res = PyObject_Call(f, args, kwargs);
	Py_DECREF(args);
	Py_XDECREF(kwargs);
	return (res);
}

/* call [module, function, args?, kwargs?] */
static PyObject *
dispatch_call(struct req *r)
{
	const char	*mod, *fn;
	size_t		 mlen, flen;
	PyObject	*f, *res;

	if (dispatch_str(r, 0, "module", &mod, &mlen) != 0 ||
	    dispatch_str(r, 1, "function", &fn, &flen) != 0)
		return (NULL);
	if ((f = cache_callable(mod, mlen, fn, flen)) == NULL)
		return (NULL);
	res = dispatch_invoke(r, f, 2);
	Py_DECREF(f);
	return (res);
}

/* get [module, attribute]: looked up each time, values can change. */
static PyObject *
dispatch_get(struct req *r)
{
	const char	*mod, *attr;
	size_t		 mlen, alen;
	PyObject	*m, *v;

	if (dispatch_str(r, 0, "module", &mod, &mlen) != 0 ||
	    dispatch_str(r, 1, "attribute", &attr, &alen) != 0)
		return (NULL);
	if ((m = cache_module(mod, mlen)) == NULL)
		return (NULL);
	v = cache_getattr_path(m, attr, alen);
	Py_DECREF(m);
	return (v);
}

/* The target's attribute named by params[1]; a module must pass policy. */
static PyObject *
dispatch_target_attr(struct req *r)
{
	PyObject	*obj, *name, *v = NULL;

	if ((obj = dispatch_target(r)) == NULL)
		return (NULL);
	if ((name = dispatch_name(r, 1)) != NULL)
		v = PyObject_GetAttr(obj, name);
	if (v != NULL && policy_check(v) != 0)
		Py_CLEAR(v);
	Py_XDECREF(name);
	Py_DECREF(obj);
	return (v);
}

/* method [ref, name, args?, kwargs?] */
static PyObject *
dispatch_method(struct req *r)
{
	PyObject	*m, *res;

	if ((m = dispatch_target_attr(r)) == NULL)
		return (NULL);
	res = dispatch_invoke(r, m, 2);
	Py_DECREF(m);
	return (res);
}

/* attr [ref, name] */
static PyObject *
dispatch_attr(struct req *r)
{
	return (dispatch_target_attr(r));
}

/* setattr [ref, name, value] */
static PyObject *
dispatch_setattr(struct req *r)
{
	PyObject	*obj, *name = NULL, *v = NULL, *res = NULL;

	if ((obj = dispatch_target(r)) == NULL)
		return (NULL);
	if ((name = dispatch_name(r, 1)) != NULL &&
	    (v = dispatch_value(r, 2)) != NULL &&
	    PyObject_SetAttr(obj, name, v) == 0)
		res = Py_NewRef(Py_True);
	Py_XDECREF(v);
	Py_XDECREF(name);
	Py_DECREF(obj);
	return (res);
}

/* Handlers that apply one function to the target: repr str len dir iter. */
static PyObject *
dispatch_unary(struct req *r, PyObject *(*fn)(PyObject *))
{
	PyObject	*obj, *res;

	if ((obj = dispatch_target(r)) == NULL)
		return (NULL);
	res = fn(obj);
	Py_DECREF(obj);
	return (res);
}

static PyObject *
dispatch_len_of(PyObject *o)
{
	Py_ssize_t	 n = PyObject_Length(o);

	return (n < 0 ? NULL : PyLong_FromSsize_t(n));
}

static PyObject *
dispatch_repr(struct req *r)
{
	return (dispatch_unary(r, PyObject_Repr));
}

static PyObject *
dispatch_strm(struct req *r)
{
	return (dispatch_unary(r, PyObject_Str));
}

static PyObject *
dispatch_len(struct req *r)
{
	return (dispatch_unary(r, dispatch_len_of));
}

static PyObject *
dispatch_dir(struct req *r)
{
	return (dispatch_unary(r, PyObject_Dir));
}

/* iter [ref]: an iterator, always sent as a ref. */
static PyObject *
dispatch_iter(struct req *r)
{
	r->as_ref = 1;
	return (dispatch_unary(r, PyObject_GetIter));
}

/* getitem [ref, key] */
static PyObject *
dispatch_getitem(struct req *r)
{
	PyObject	*obj, *key, *v = NULL;

	if ((obj = dispatch_target(r)) == NULL)
		return (NULL);
	if ((key = dispatch_value(r, 1)) != NULL)
		v = PyObject_GetItem(obj, key);
	Py_XDECREF(key);
	Py_DECREF(obj);
	return (v);
}

/*
 * next [ref, max?] -> [items, done]: up to max items (default 1); done once
 * the iterator is exhausted, with the items taken before that.
 */
static PyObject *
dispatch_next(struct req *r)
{
	const msgpack_object	*m = dispatch_param(r, 1);
	PyObject		*it, *items, *item, *res = NULL;
	uint64_t		 max = 1, i;
	int			 done = 0;

	if (!dispatch_absent(m) && (m->type != MSGPACK_OBJECT_POSITIVE_INTEGER
	    || m->via.u64 == 0))
		return (dispatch_bad(r, 1, "max_items", "a positive int"));
	if (!dispatch_absent(m))
		max = m->via.u64;
	if ((it = dispatch_target(r)) == NULL)
		return (NULL);
	if (!PyIter_Check(it)) {
		PyErr_Format(PyExc_TypeError, "'%.100s' object is not an "
		    "iterator", Py_TYPE(it)->tp_name);
		Py_DECREF(it);
		return (NULL);
	}
	if ((items = PyList_New(0)) == NULL)
		goto out;
	for (i = 0; i < max; i++) {
		if ((item = PyIter_Next(it)) == NULL) {
			done = !PyErr_Occurred();
			break;
		}
		if (PyList_Append(items, item) != 0) {
			Py_DECREF(item);
			break;
		}
		Py_DECREF(item);
	}
	if (!PyErr_Occurred())
		res = Py_BuildValue("[OO]", items, done ? Py_True : Py_False);
	Py_DECREF(items);
out:
	Py_DECREF(it);
	return (res);
}

/*
 * stream [module, function, args?, kwargs?] or [ref]: iterate the call's
 * result, or the ref, sending the items as notifications (stream.c).
 */
static PyObject *
dispatch_stream(struct req *r)
{
	const msgpack_object	*o = dispatch_param(r, 0);
	PyObject		*src, *res;

	if (o != NULL && o->type == MSGPACK_OBJECT_EXT) {
		if (r->np != 1)
			return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "stream: "
			    "the ref form takes only the ref"));
		src = dispatch_target(r);
	} else if (r->np < 2)
		return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "stream: the call "
		    "form takes a module and a function"));
	else
		src = dispatch_call(r);
	if (src == NULL)
		return (NULL);
	res = stream_run(r->ch, r->msgid, r->sid, src);
	Py_DECREF(src);
	return (res);
}

/* release [ref or list of refs]: unknown ref ids are harmless. */
static PyObject *
dispatch_release(struct req *r)
{
	const msgpack_object	*o = dispatch_param(r, 0), *one;
	uint32_t		 i, n = 1;

	if (o != NULL && o->type == MSGPACK_OBJECT_ARRAY)
		n = o->via.array.size;
	for (i = 0; i < n; i++) {
		one = o != NULL && o->type == MSGPACK_OBJECT_ARRAY ?
		    &o->via.array.ptr[i] : o;
		if (one == NULL || one->type != MSGPACK_OBJECT_EXT ||
		    one->via.ext.type != SB_EXT_REF)
			return (dispatch_bad(r, 0, "ref", "a ref or a list of "
			    "refs"));
		if (refs_release(one->via.ext.ptr, one->via.ext.size,
		    r->sid) != 0)
			return (NULL);
	}
	Py_RETURN_TRUE;
}

/* session.drop []: the session's objects go, their finalizers run. */
static PyObject *
dispatch_drop(struct req *r)
{
	return (PyLong_FromLongLong(refs_drop_session(r->sid)));
}

static PyObject *
dispatch_stats(struct req *r)
{
	return (refs_stats());
}

static const struct dispatch_entry {
	const char	*name;
	size_t		 len;	/* of name */
	dispatch_fn	 fn;
	uint32_t	 min;	/* params after the session id */
	uint32_t	 max;
} dispatch_table[] = {
#define DISPATCH(name, fn, min, max) { name, sizeof(name) - 1, fn, min, max }
	DISPATCH("call",		dispatch_call,		2, 4),
	DISPATCH("get",			dispatch_get,		2, 2),
	DISPATCH("method",		dispatch_method,	2, 4),
	DISPATCH("attr",		dispatch_attr,		2, 2),
	DISPATCH("setattr",		dispatch_setattr,	3, 3),
	DISPATCH("repr",		dispatch_repr,		1, 1),
	DISPATCH("str",			dispatch_strm,		1, 1),
	DISPATCH("len",			dispatch_len,		1, 1),
	DISPATCH("dir",			dispatch_dir,		1, 1),
	DISPATCH("iter",		dispatch_iter,		1, 1),
	DISPATCH("getitem",		dispatch_getitem,	2, 2),
	DISPATCH("next",		dispatch_next,		1, 2),
	DISPATCH("stream",		dispatch_stream,	1, 4),
	DISPATCH("release",		dispatch_release,	1, 1),
	DISPATCH("session.drop",	dispatch_drop,		0, 0),
	DISPATCH("stats",		dispatch_stats,		0, 0),
#undef DISPATCH
};

static const struct dispatch_entry *
dispatch_find(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof dispatch_table / sizeof dispatch_table[0];
	    i++) {
		if (dispatch_table[i].len == len &&
		    dispatch_table[i].name[0] == name[0] &&
		    memcmp(dispatch_table[i].name, name, len) == 0)
			return (&dispatch_table[i]);
	}
	return (NULL);
}

/* Check the envelope of params and run the handler. */
static PyObject *
dispatch_run(struct req *r, const msgpack_object *params)
{
	const struct dispatch_entry	*e;
	const msgpack_object_array	*a = &params->via.array;

	if ((e = dispatch_find(r->method, (size_t)r->method_len)) == NULL)
		return (pyerr_set(SB_ERRTYPE_UNKNOWN_METHOD,
		    "unknown method %.*s", r->method_len, r->method));
	if (a->size < 1 || a->ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "%s: the first "
		    "param must be the session id", e->name));
	r->sid = a->ptr[0].via.u64;
	r->p = a->ptr + 1;
	r->np = a->size - 1;
	if (r->np < e->min || r->np > e->max)
		return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "%s takes %u to %u "
		    "params after the session id, got %u", e->name, e->min,
		    e->max, r->np));
	return (e->fn(r));
}

void
dispatch_request(struct channel *ch, uint32_t msgid,
    const msgpack_object *method, const msgpack_object *params, uint64_t conn)
{
	struct req		 r;
	struct codec_holes	 holes;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	PyObject		*res;
	size_t			 mark;
	int			 rv = -1;

	memset(&r, 0, sizeof r);
	memset(&holes, 0, sizeof holes);
	r.ch = ch;
	r.msgid = msgid;
	r.conn = conn;
	r.method = method->via.str.ptr;
	r.method_len = (int)method->via.str.size;
	res = dispatch_run(&r, params);

	/* Nested requests find the spare taken and start their own. */
	sb = dispatch_spare;
	msgpack_sbuffer_init(&dispatch_spare);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbpack_array(&sb, 4);
	sbpack_int(&sb, SB_MSG_RESPONSE);
	sbpack_uint32(&sb, msgid);
	mark = sb.size;
	if (res != NULL) {
		sbpack_nil(&sb);
		rv = r.as_ref ? codec_encode_ref(&sb, res, r.sid) :
		    codec_encode_direct(&sb, &holes, res, r.sid, r.conn);
		Py_DECREF(res);
	}
	if (rv != 0) {
		sb.size = mark;
		pyerr_pack(&pk, r.sid);
		sbpack_nil(&sb);
	}
	channel_send_direct(ch, &sb, &holes);
	if (holes.v != NULL)
		free(holes.v);
	if (dispatch_spare.data == NULL && sb.alloc <= DISPATCH_SPARE_MAX)
		dispatch_spare = sb;
	else
		msgpack_sbuffer_destroy(&sb);
}
