/*
 * codec_encode.c: PyObject -> msgpack with graceful serialization
 * (docs/protocol.md, "Values" and "Graceful serialization"). Containers keep
 * their shape; a leaf with no encoding, a container met again while it is
 * being encoded (a cycle) and a subtree nested deeper than CODEC_MAX_DEPTH
 * become refs in the request's session. An encode that fails leaves the
 * buffer as it found it and forgets the refs it made. A response's arrays
 * that lie in a shared block of the requesting connection are written as
 * ext 12 (shm.c); everything else (stream items, callback args) copies them.
 */
#include "adapter.h"
#include "sbpack.h"

#include <datetime.h>
#include <string.h>

struct enc {
	msgpack_sbuffer	*sb;		/* written with sbpack.h */
	msgpack_packer	 pk;		/* on sb, for sb_shmarray_pack */
	uint64_t	 sid;
	PyObject	*stack[CODEC_MAX_DEPTH];	/* containers open */
	unsigned	 depth;
	uint64_t	*made;		/* refs made by this encode */
	size_t		 nmade;
	size_t		 made_cap;
	struct codec_holes *holes;	/* NULL: copy every payload */
	uint64_t	 conn;		/* its blocks go as ext 12; 0: none */
};

/* Types found only once their module has been imported by someone. */
static PyObject	*enc_np_ndarray, *enc_np_generic, *enc_decimal;

static int	enc_value(struct enc *, PyObject *);

/* Look a type up in a module that is already imported; NULL otherwise. */
static PyObject *
enc_loaded_type(const char *module, const char *name)
{
	PyObject	*mod, *t;

	mod = PyDict_GetItemString(PyImport_GetModuleDict(), module);
	if (mod == NULL)
		return (NULL);
	t = PyObject_GetAttrString(mod, name);
	if (t == NULL || !PyType_Check(t)) {
		PyErr_Clear();
		Py_XDECREF(t);
		return (NULL);
	}
	return (t);
}

/* module.qualname of obj's type ("pathlib.PosixPath", "list_iterator"). */
static PyObject *
enc_type_name(PyObject *o)
{
	PyObject	*t = (PyObject *)Py_TYPE(o), *mod, *qual, *name;

	qual = PyObject_GetAttrString(t, "__qualname__");
	if (qual == NULL || !PyUnicode_Check(qual)) {
		PyErr_Clear();
		Py_XDECREF(qual);
		return (PyUnicode_FromString(Py_TYPE(o)->tp_name));
	}
	mod = PyObject_GetAttrString(t, "__module__");
	if (mod == NULL || !PyUnicode_Check(mod) ||
	    PyUnicode_CompareWithASCIIString(mod, "builtins") == 0) {
		PyErr_Clear();
		Py_XDECREF(mod);
		return (qual);
	}
	name = PyUnicode_FromFormat("%U.%U", mod, qual);
	Py_DECREF(mod);
	Py_DECREF(qual);
	return (name);
}

/* Keep o alive in the session and write its ext 6 ref. */
static int
enc_ref(struct enc *e, PyObject *o)
{
	struct sb_refdata	 r;
	uint8_t			 payload[SB_REF_FIXED_LEN + SB_REF_TYPE_MAX];
	PyObject		*name;
	Py_ssize_t		 nlen;
	uint64_t		*grown;
	size_t			 len;

	if (e->nmade == e->made_cap) {
		e->made_cap = e->made_cap ? 2 * e->made_cap : 8;
		grown = realloc(e->made, e->made_cap * sizeof *e->made);
		if (grown == NULL) {
			PyErr_NoMemory();
			return (-1);
		}
		e->made = grown;
	}
	name = enc_type_name(o);
	if (name == NULL)
		return (-1);
	memset(&r, 0, sizeof r);
	r.type_name = PyUnicode_AsUTF8AndSize(name, &nlen);
	if (r.type_name == NULL) {
		Py_DECREF(name);
		return (-1);
	}
	r.type_len = (size_t)nlen;
	if (refs_add(e->sid, o, &r.ref_id) != 0) {
		Py_DECREF(name);
		return (-1);
	}
	e->made[e->nmade++] = r.ref_id;
	r.pool_id = worker_id.pool_id;
	r.slot = worker_id.slot;
	r.generation = worker_id.generation;
	r.session_id = e->sid;
	len = sb_ref_encode(&r, payload);
	Py_DECREF(name);
	sbpack_ext_with_body(e->sb, payload, len, SB_EXT_REF);
	return (0);
}

/*
 * Ext payloads that are msgpack themselves are written in place behind an
 * ext 32 header whose length is filled in at the end: no copy.
 */
static size_t
enc_ext_begin(struct enc *e, int8_t type)
{
	uint8_t	 hdr[6] = { 0xc9, 0, 0, 0, 0, (uint8_t)type };
	size_t	 off = e->sb->size;

	msgpack_sbuffer_write(e->sb, (const char *)hdr, sizeof hdr);
	return (off);
}

/* Bytes of holes at or after buffer offset off (they belong to the ext). */
static size_t
enc_hole_bytes_after(const struct enc *e, size_t off)
{
	size_t	 i, n = 0;

	if (e->holes == NULL)
		return (0);
	for (i = e->holes->n; i > 0 && e->holes->v[i - 1].pos > off; i--)
		n += (size_t)e->holes->v[i - 1].view.len;
	return (n);
}

static int
enc_ext_end(struct enc *e, size_t off)
{
	size_t	 len = e->sb->size - off - 6 + enc_hole_bytes_after(e, off);
	uint8_t	*p = (uint8_t *)e->sb->data + off + 1;

	if (len > UINT32_MAX) {
		PyErr_SetString(PyExc_OverflowError, "value too large");
		return (-1);
	}
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	return (0);
}

/* An int: msgpack int when it fits 64 bits, else ext 4 decimal text. */
static int
enc_int(struct enc *e, PyObject *o)
{
	long long		 v;
	unsigned long long	 u;
	int			 ovf;
	PyObject		*s;
	const char		*p;
	Py_ssize_t		 len;

	v = PyLong_AsLongLongAndOverflow(o, &ovf);
	if (v == -1 && PyErr_Occurred())
		return (-1);
	if (ovf == 0) {
		sbpack_int64(e->sb, v);
		return (0);
	}
	if (ovf > 0) {
		u = PyLong_AsUnsignedLongLong(o);
		if (!(u == (unsigned long long)-1 && PyErr_Occurred())) {
			sbpack_uint64(e->sb, u);
			return (0);
		}
		PyErr_Clear();
	}
	s = PyNumber_ToBase(o, 10);
	if (s == NULL) {
		/* Beyond Python's int-to-str digit limit: keep it as a ref. */
		PyErr_Clear();
		return (enc_ref(e, o));
	}
	p = PyUnicode_AsUTF8AndSize(s, &len);
	if (p != NULL)
		sbpack_ext_with_body(e->sb, p, (size_t)len,
		    SB_EXT_BIGINT);
	Py_DECREF(s);
	return (p != NULL ? 0 : -1);
}

static int
enc_str(struct enc *e, PyObject *o)
{
	const char	*p;
	Py_ssize_t	 len;

	p = PyUnicode_AsUTF8AndSize(o, &len);
	if (p == NULL) {
		/* Lone surrogates have no UTF-8 form. */
		PyErr_Clear();
		return (enc_ref(e, o));
	}
	sbpack_str_with_body(e->sb, p, (size_t)len);
	return (0);
}

/*
 * A bin from a buffer view, which this takes: a large one becomes a hole
 * when the encode collects holes, else it is copied and released.
 */
static int
enc_bin_view(struct enc *e, Py_buffer *view)
{
	struct codec_holes	*h = e->holes;
	struct codec_hole	*v;
	size_t			 cap;

	if (h != NULL && (size_t)view->len >= CODEC_DIRECT_MIN) {
		if (h->n == h->cap) {
			cap = h->cap ? h->cap * 2 : 4;
			if ((v = reallocarray(h->v, cap, sizeof *v)) == NULL) {
				PyBuffer_Release(view);
				PyErr_NoMemory();
				return (-1);
			}
			h->v = v;
			h->cap = cap;
		}
		sbpack_bin(e->sb, (size_t)view->len);
		h->v[h->n].pos = e->sb->size;
		h->v[h->n].view = *view;
		h->n++;
		h->bytes += (size_t)view->len;
		return (0);
	}
	sbpack_bin_with_body(e->sb, view->buf, (size_t)view->len);
	PyBuffer_Release(view);
	return (0);
}

/* bytes-like objects with a contiguous buffer become bin. */
static int
enc_buffer(struct enc *e, PyObject *o)
{
	Py_buffer	 view;

	if (PyObject_GetBuffer(o, &view, PyBUF_C_CONTIGUOUS) != 0) {
		PyErr_Clear();
		return (enc_ref(e, o));
	}
	return (enc_bin_view(e, &view));
}

/* Text ext (9, 10, 11): the payload is str(o) or o.method(). */
static int
enc_text_ext(struct enc *e, PyObject *o, const char *method, int8_t type)
{
	PyObject	*s;
	const char	*p;
	Py_ssize_t	 len;

	s = method ? PyObject_CallMethod(o, method, NULL) : PyObject_Str(o);
	if (s == NULL)
		return (-1);
	p = PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, &len) : NULL;
	if (p == NULL) {
		Py_DECREF(s);
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_TypeError, "not a str");
		return (-1);
	}
	sbpack_ext_with_body(e->sb, p, (size_t)len, type);
	Py_DECREF(s);
	return (0);
}

/* Days from 1970-01-01 to a proleptic Gregorian date. */
static long long
enc_days_from_civil(long long y, unsigned m, unsigned d)
{
	long long	 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + (long long)doe - 719468);
}

/* A datetime: naive as ext 10 text, aware as a timestamp (an instant). */
static int
enc_datetime(struct enc *e, PyObject *o)
{
	PyObject		*off;
	msgpack_timestamp	 ts;
	long long		 us;

	if (PyDateTime_DATE_GET_TZINFO(o) == Py_None)
		return (enc_text_ext(e, o, "isoformat", SB_EXT_DATETIME));
	off = PyObject_CallMethod(o, "utcoffset", NULL);
	if (off == NULL)
		return (-1);
	if (off == Py_None) {
		Py_DECREF(off);
		return (enc_text_ext(e, o, "isoformat", SB_EXT_DATETIME));
	}
	if (!PyDelta_Check(off)) {
		Py_DECREF(off);
		PyErr_SetString(PyExc_TypeError,
		    "utcoffset() is not a timedelta");
		return (-1);
	}
	us = enc_days_from_civil(PyDateTime_GET_YEAR(o),
	    PyDateTime_GET_MONTH(o), PyDateTime_GET_DAY(o)) * 86400;
	us += PyDateTime_DATE_GET_HOUR(o) * 3600LL +
	    PyDateTime_DATE_GET_MINUTE(o) * 60LL +
	    PyDateTime_DATE_GET_SECOND(o);
	us -= PyDateTime_DELTA_GET_DAYS(off) * 86400LL +
	    PyDateTime_DELTA_GET_SECONDS(off);
	us = us * 1000000 + PyDateTime_DATE_GET_MICROSECOND(o) -
	    PyDateTime_DELTA_GET_MICROSECONDS(off);
	Py_DECREF(off);
	ts.tv_sec = us / 1000000;
	us %= 1000000;
	if (us < 0) {
		us += 1000000;
		ts.tv_sec--;
	}
	ts.tv_nsec = (uint32_t)(us * 1000);
	sbpack_timestamp(e->sb, &ts);
	return (0);
}

static int
enc_complex(struct enc *e, PyObject *o)
{
	size_t	 off = enc_ext_begin(e, SB_EXT_COMPLEX);

	sbpack_array(e->sb, 2);
	sbpack_double(e->sb, PyComplex_RealAsDouble(o));
	sbpack_double(e->sb, PyComplex_ImagAsDouble(o));
	return (enc_ext_end(e, off));
}

/*
 * The C-contiguous data of an array as ext 12 when it lies in a shared block
 * of the request's connection: 1 if written, 0 if not (ext 8 then), -1
 * when the packer failed.
 */
static int
enc_shmarray(struct enc *e, const Py_buffer *view, const char *ds,
    size_t dslen, PyObject *shape)
{
	struct sb_shmarray	 a;
	Py_ssize_t		 i;

	if (!shm_in_block(e->conn, view->buf, (size_t)view->len, &a.block,
	    &a.offset) || dslen > SB_SHM_DTYPE_MAX ||
	    PyTuple_GET_SIZE(shape) > SB_SHM_NDIM_MAX)
		return (0);
	memcpy(a.dtype, ds, dslen);
	a.dtype[dslen] = '\0';
	a.ndim = (size_t)PyTuple_GET_SIZE(shape);
	for (i = 0; i < PyTuple_GET_SIZE(shape); i++)
		a.shape[i] = PyLong_AsUnsignedLongLong(
		    PyTuple_GET_ITEM(shape, i));
	a.nbytes = (uint64_t)view->len;
	if (PyErr_Occurred()) {
		PyErr_Clear();
		return (0);
	}
	if (sb_shmarray_pack(&e->pk, &a) != 0) {
		PyErr_NoMemory();
		return (-1);
	}
	return (1);
}

/*
 * A numeric ndarray as ext 8 [dtype.str, shape, bytes], or ext 12 when it
 * lies in a shared block of the request's connection; others as refs.
 */
static int
enc_ndarray(struct enc *e, PyObject *o)
{
	PyObject	*dtype, *kind, *dstr, *shape, *c = NULL;
	Py_buffer	 view;
	const char	*k, *ds;
	Py_ssize_t	 i, n, dslen;
	size_t		 off;
	int		 rv = -1, shared;

	dtype = PyObject_GetAttrString(o, "dtype");
	kind = dtype ? PyObject_GetAttrString(dtype, "kind") : NULL;
	dstr = dtype ? PyObject_GetAttrString(dtype, "str") : NULL;
	shape = PyObject_GetAttrString(o, "shape");
	if (kind == NULL || dstr == NULL || shape == NULL ||
	    !PyTuple_Check(shape) ||
	    (k = PyUnicode_AsUTF8(kind)) == NULL ||
	    (ds = PyUnicode_AsUTF8AndSize(dstr, &dslen)) == NULL)
		goto out;
	if (k[0] == '\0' || strchr("biufc", k[0]) == NULL) {
		rv = enc_ref(e, o);
		goto out;
	}
	if (PyObject_GetBuffer(o, &view, PyBUF_C_CONTIGUOUS) != 0) {
		PyErr_Clear();
		c = PyObject_CallMethod(codec_numpy(), "ascontiguousarray",
		    "O", o);
		if (c == NULL ||
		    PyObject_GetBuffer(c, &view, PyBUF_C_CONTIGUOUS) != 0)
			goto out;
	} else if ((shared = enc_shmarray(e, &view, ds, (size_t)dslen,
	    shape)) != 0) {
		PyBuffer_Release(&view);
		rv = shared > 0 ? 0 : -1;
		goto out;
	}
	off = enc_ext_begin(e, SB_EXT_NDARRAY);
	sbpack_array(e->sb, 3);
	sbpack_str_with_body(e->sb, ds, (size_t)dslen);
	n = PyTuple_GET_SIZE(shape);
	sbpack_array(e->sb, (size_t)n);
	for (i = 0; i < n; i++)
		sbpack_int64(e->sb,
		    PyLong_AsLongLong(PyTuple_GET_ITEM(shape, i)));
	if (enc_bin_view(e, &view) == 0)
		rv = PyErr_Occurred() ? -1 : enc_ext_end(e, off);
out:
	Py_XDECREF(c);
	Py_XDECREF(shape);
	Py_XDECREF(dstr);
	Py_XDECREF(kind);
	Py_XDECREF(dtype);
	return (rv);
}

/* A numpy scalar of a plain number kind travels as that number. */
static int
enc_np_scalar(struct enc *e, PyObject *o)
{
	PyObject	*kind, *item;
	const char	*k;
	int		 rv;

	kind = PyObject_GetAttrString(o, "dtype");
	if (kind != NULL)
		Py_SETREF(kind, PyObject_GetAttrString(kind, "kind"));
	if (kind == NULL || (k = PyUnicode_AsUTF8(kind)) == NULL) {
		Py_XDECREF(kind);
		return (-1);
	}
	if (k[0] == '\0' || strchr("biufc", k[0]) == NULL) {
		Py_DECREF(kind);
		return (enc_ref(e, o));
	}
	Py_DECREF(kind);
	item = PyObject_CallMethod(o, "item", NULL);
	if (item == NULL)
		return (-1);
	/* item() of a long double is still a numpy scalar. */
	if (PyObject_TypeCheck(item, (PyTypeObject *)enc_np_generic))
		rv = enc_ref(e, o);
	else
		rv = enc_value(e, item);
	Py_DECREF(item);
	return (rv);
}

/* Enter a container: 1 if it must be a ref instead (cycle or too deep). */
static int
enc_push(struct enc *e, PyObject *o)
{
	unsigned	 i;

	if (e->depth >= CODEC_MAX_DEPTH)
		return (1);
	for (i = 0; i < e->depth; i++) {
		if (e->stack[i] == o)
			return (1);
	}
	e->stack[e->depth++] = o;
	return (0);
}

static int
enc_changed(void)
{
	PyErr_SetString(PyExc_RuntimeError,
	    "container changed size while being encoded");
	return (-1);
}

static int
enc_list(struct enc *e, PyObject *o)
{
	Py_ssize_t	 i, n = PyList_GET_SIZE(o);
	PyObject	*item;
	int		 rv;

	sbpack_array(e->sb, (size_t)n);
	for (i = 0; i < n; i++) {
		if (PyList_GET_SIZE(o) != n)
			return (enc_changed());
		item = PyList_GET_ITEM(o, i);
		Py_INCREF(item);
		rv = enc_value(e, item);
		Py_DECREF(item);
		if (rv != 0)
			return (-1);
	}
	return (0);
}

static int
enc_tuple_items(struct enc *e, PyObject *o)
{
	Py_ssize_t	 i, n = PyTuple_GET_SIZE(o);

	sbpack_array(e->sb, (size_t)n);
	for (i = 0; i < n; i++) {
		if (enc_value(e, PyTuple_GET_ITEM(o, i)) != 0)
			return (-1);
	}
	return (0);
}

static int
enc_dict(struct enc *e, PyObject *o)
{
	Py_ssize_t	 pos = 0, n = PyDict_GET_SIZE(o);
	PyObject	*k, *v;
	int		 rv = 0;

	sbpack_map(e->sb, (size_t)n);
	while (rv == 0 && PyDict_Next(o, &pos, &k, &v)) {
		Py_INCREF(k);
		Py_INCREF(v);
		rv = enc_value(e, k) == 0 && enc_value(e, v) == 0 ? 0 : -1;
		Py_DECREF(k);
		Py_DECREF(v);
		if (rv == 0 && PyDict_GET_SIZE(o) != n)
			return (enc_changed());
	}
	return (rv);
}

static int
enc_set_items(struct enc *e, PyObject *o)
{
	Py_ssize_t	 n = PySet_GET_SIZE(o), done = 0;
	PyObject	*it, *item;

	it = PyObject_GetIter(o);
	if (it == NULL)
		return (-1);
	sbpack_array(e->sb, (size_t)n);
	while ((item = PyIter_Next(it)) != NULL) {
		if (done++ == n || enc_value(e, item) != 0) {
			Py_DECREF(item);
			Py_DECREF(it);
			return (PyErr_Occurred() ? -1 : enc_changed());
		}
		Py_DECREF(item);
	}
	Py_DECREF(it);
	if (PyErr_Occurred())
		return (-1);
	return (done == n ? 0 : enc_changed());
}

/* Containers of the exact built-in types; subclasses travel as refs. */
static int
enc_container(struct enc *e, PyObject *o)
{
	size_t	 off = 0;
	int	 rv, ext = 0;

	if (enc_push(e, o))
		return (enc_ref(e, o));
	if (PyList_CheckExact(o))
		rv = enc_list(e, o);
	else if (PyDict_CheckExact(o))
		rv = enc_dict(e, o);
	else if (PyTuple_CheckExact(o)) {
		off = enc_ext_begin(e, SB_EXT_TUPLE);
		ext = 1;
		rv = enc_tuple_items(e, o);
	} else {
		off = enc_ext_begin(e, PySet_CheckExact(o) ? SB_EXT_SET :
		    SB_EXT_FROZENSET);
		ext = 1;
		rv = enc_set_items(e, o);
	}
	e->depth--;
	if (rv == 0 && ext)
		rv = enc_ext_end(e, off);
	return (rv);
}

/* Types whose module may not be loaded: numpy, decimal. */
static int
enc_other(struct enc *e, PyObject *o)
{
	if (enc_np_ndarray == NULL) {
		enc_np_ndarray = enc_loaded_type("numpy", "ndarray");
		if (enc_np_ndarray != NULL)
			enc_np_generic = enc_loaded_type("numpy", "generic");
	}
	if (enc_np_ndarray != NULL && enc_np_generic != NULL) {
		if (Py_IS_TYPE(o, (PyTypeObject *)enc_np_ndarray))
			return (enc_ndarray(e, o));
		if (PyObject_TypeCheck(o, (PyTypeObject *)enc_np_generic))
			return (enc_np_scalar(e, o));
	}
	if (enc_decimal == NULL)
		enc_decimal = enc_loaded_type("decimal", "Decimal");
	if (enc_decimal != NULL &&
	    Py_IS_TYPE(o, (PyTypeObject *)enc_decimal))
		return (enc_text_ext(e, o, NULL, SB_EXT_DECIMAL));
	return (enc_ref(e, o));
}

/*
 * None, a bool or an exact float, the commonest results, written straight
 * to sb with no encode state: 0, 1 when o is none of them, -1 when sb
 * could not grow (then it is as it was).
 */
static inline int
enc_scalar(msgpack_sbuffer *sb, PyObject *o)
{
	if (o == Py_None)
		return (sbpack_nil(sb));
	if (o == Py_True)
		return (sbpack_true(sb));
	if (o == Py_False)
		return (sbpack_false(sb));
	if (PyFloat_CheckExact(o))
		return (sbpack_double(sb, PyFloat_AS_DOUBLE(o)));
	return (1);
}

static int
enc_value(struct enc *e, PyObject *o)
{
	int	 rv;

	if ((rv = enc_scalar(e->sb, o)) != 1)
		return (rv);
	if (PyLong_Check(o))
		return (enc_int(e, o));
	if (PyFloat_Check(o))	/* a subclass */
		return (sbpack_double(e->sb, PyFloat_AS_DOUBLE(o)));
	if (PyUnicode_Check(o))
		return (enc_str(e, o));
	if (PyBytes_Check(o)) {
		if (e->holes != NULL &&
		    (size_t)PyBytes_GET_SIZE(o) >= CODEC_DIRECT_MIN)
			return (enc_buffer(e, o));
		return (sbpack_bin_with_body(e->sb,
		    PyBytes_AS_STRING(o), (size_t)PyBytes_GET_SIZE(o)));
	}
	if (PyList_CheckExact(o) || PyDict_CheckExact(o) ||
	    PyTuple_CheckExact(o) || PySet_CheckExact(o) ||
	    PyFrozenSet_CheckExact(o))
		return (enc_container(e, o));
	if (PyByteArray_Check(o) || PyMemoryView_Check(o))
		return (enc_buffer(e, o));
	if (PyComplex_Check(o))
		return (enc_complex(e, o));
	if (PyDateTime_CheckExact(o))
		return (enc_datetime(e, o));
	if (PyDate_CheckExact(o))
		return (enc_text_ext(e, o, "isoformat", SB_EXT_DATE));
	return (enc_other(e, o));
}

/* Release the holes from index from on and forget them. */
void
codec_holes_release(struct codec_holes *h, size_t from)
{
	while (h->n > from) {
		h->n--;
		h->bytes -= (size_t)h->v[h->n].view.len;
		PyBuffer_Release(&h->v[h->n].view);
	}
}

/*
 * o appended to sb when enc_scalar writes it and it fits the message size:
 * 0, else 1 (sb as it was) and enc_run does it all.
 */
static inline int
enc_try_scalar(msgpack_sbuffer *sb, struct codec_holes *holes, PyObject *o)
{
	size_t	 mark = sb->size;

	if (PyDateTimeAPI == NULL || enc_scalar(sb, o) != 0)
		return (1);
	if (sb->size + (holes != NULL ? holes->bytes : 0) <=
	    worker_id.max_message)
		return (0);
	sb->size = mark;	/* enc_run says why not */
	return (1);
}

/* Run one encode; on failure restore the buffer and forget new refs. */
static int
enc_run(msgpack_sbuffer *sb, struct codec_holes *holes, PyObject *o,
    uint64_t sid, uint64_t conn, int as_ref)
{
	struct enc	 e;
	size_t		 mark = sb->size, hmark, hbytes, total, i;
	int		 rv;

	if (PyDateTimeAPI == NULL) {
		PyDateTime_IMPORT;
		if (PyDateTimeAPI == NULL)
			return (-1);
	}
	/* Every field but the stack, which is read only below depth. */
	e.sb = sb;
	e.sid = sid;
	e.depth = 0;
	e.made = NULL;
	e.nmade = e.made_cap = 0;
	e.holes = holes;
	e.conn = conn;
	hmark = holes != NULL ? holes->n : 0;
	hbytes = holes != NULL ? holes->bytes : 0;
	msgpack_packer_init(&e.pk, sb, msgpack_sbuffer_write);
	rv = as_ref ? enc_ref(&e, o) : enc_value(&e, o);
	if (rv != 0 && !PyErr_Occurred())
		PyErr_NoMemory();
	total = sb->size + (holes != NULL ? holes->bytes : 0);
	if (rv == 0 && total > worker_id.max_message) {
		pyerr_set(SB_ERRTYPE_TOO_LARGE, "the encoded value (%zu bytes) "
		    "exceeds the maximum message size (%zu)",
		    total - mark - hbytes, worker_id.max_message);
		rv = -1;
	}
	if (rv != 0) {
		PyObject *type, *value, *tb;

		sb->size = mark;
		if (holes != NULL)
			codec_holes_release(holes, hmark);
		PyErr_Fetch(&type, &value, &tb);
		for (i = 0; i < e.nmade; i++)
			refs_forget(sid, e.made[i]);
		PyErr_Restore(type, value, tb);
	}
	free(e.made);
	return (rv != 0 ? -1 : 0);
}

/* Append the encoding of o to sb; 0, or -1 with an exception set. */
int
codec_encode(msgpack_sbuffer *sb, PyObject *o, uint64_t sid)
{
	if (enc_try_scalar(sb, NULL, o) == 0)
		return (0);
	return (enc_run(sb, NULL, o, sid, 0, 0));
}

/* Append a ref to o whatever its type (the result of `iter`). */
int
codec_encode_ref(msgpack_sbuffer *sb, PyObject *o, uint64_t sid)
{
	return (enc_run(sb, NULL, o, sid, 0, 1));
}

/*
 * codec_encode of a response to connection conn (0: none), leaving large
 * payloads as holes in holes (the caller sends them with
 * channel_send_direct, or releases them) and writing arrays in conn's shared
 * blocks as ext 12.
 */
int
codec_encode_direct(msgpack_sbuffer *sb, struct codec_holes *holes,
    PyObject *o, uint64_t sid, uint64_t conn)
{
	if (enc_try_scalar(sb, holes, o) == 0)
		return (0);
	return (enc_run(sb, holes, o, sid, conn, 0));
}
