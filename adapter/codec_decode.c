/*
 * codec_decode.c: msgpack -> PyObject (docs/protocol.md, "Values" and "Ext
 * types"). Input has passed the validating scanner; ext payloads that are
 * msgpack themselves are scanned again, within the depth left, before
 * msgpack-c sees them. Anything malformed becomes snakebridge.BadRequest with
 * a message that says what was wrong; refs are resolved in the request's
 * session (refs.c), ext 12 arrays in the request's connection's shared
 * blocks (shm.c).
 */
#include "adapter.h"

#include <datetime.h>
#include <string.h>

struct dec {
	uint64_t	 sid;
	uint64_t	 conn;		/* its blocks are ext 12's; 0: none */
	int		 reply;		/* a callback's result: no ext 12 */
};

static PyObject	*dec_numpy, *dec_decimal, *dec_epoch;
static struct codec_msg	*dec_msg;	/* the message being dispatched */

static PyObject	*dec_value(struct dec *, const msgpack_object *, unsigned);

/*
 * Decode from message m until codec_msg_leave(the returned outer one):
 * dispatching a message may serve another one meanwhile.
 */
struct codec_msg *
codec_msg_enter(struct codec_msg *m)
{
	struct codec_msg	*outer = dec_msg;

	dec_msg = m;
	return (outer);
}

void
codec_msg_leave(struct codec_msg *outer)
{
	dec_msg = outer;
}

/* numpy, imported on first need; borrowed. */
PyObject *
codec_numpy(void)
{
	if (dec_numpy == NULL)
		dec_numpy = PyImport_ImportModule("numpy");
	return (dec_numpy);
}

static PyObject *
dec_bad_ext(int type, const char *what)
{
	return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "ext %d (%s): %s", type,
	    type == SB_EXT_TUPLE ? "tuple" : type == SB_EXT_SET ? "set" :
	    type == SB_EXT_FROZENSET ? "frozenset" :
	    type == SB_EXT_BIGINT ? "big int" :
	    type == SB_EXT_COMPLEX ? "complex" :
	    type == SB_EXT_CALLBACK ? "callback" :
	    type == SB_EXT_NDARRAY ? "ndarray" :
	    type == SB_EXT_DATE ? "date" :
	    type == SB_EXT_DATETIME ? "datetime" :
	    type == SB_EXT_DECIMAL ? "Decimal" :
	    type == SB_EXT_TIMESTAMP ? "timestamp" : "ext", what));
}

/*
 * Unpack an ext payload that is one msgpack value, after scanning it within
 * the nesting depth left at this point.
 */
static int
dec_payload(const msgpack_object_ext *x, unsigned depth,
    msgpack_unpacked *out)
{
	struct sb_scan	 s;
	size_t		 len = 0, off = 0;
	unsigned	 left;

	left = depth < SB_SCAN_DEFAULT_DEPTH ? SB_SCAN_DEFAULT_DEPTH - depth :
	    0;
	sb_scan_init(&s, x->size, left);
	if (sb_scan_feed(&s, x->ptr, x->size, &len) != SB_SCAN_DONE ||
	    len != x->size) {
		dec_bad_ext(x->type,
		    "payload is not one well-formed msgpack value");
		return (-1);
	}
	msgpack_unpacked_init(out);
	if (msgpack_unpack_next(out, x->ptr, x->size, &off) !=
	    MSGPACK_UNPACK_SUCCESS) {
		msgpack_unpacked_destroy(out);
		dec_bad_ext(x->type, "payload cannot be unpacked");
		return (-1);
	}
	return (0);
}

static PyObject *
dec_tuple(struct dec *d, const msgpack_object_array *a, unsigned depth)
{
	PyObject	*t, *item;
	uint32_t	 i;

	t = PyTuple_New(a->size);
	for (i = 0; t != NULL && i < a->size; i++) {
		item = dec_value(d, &a->ptr[i], depth + 1);
		if (item == NULL)
			Py_CLEAR(t);
		else
			PyTuple_SET_ITEM(t, i, item);
	}
	return (t);
}

static PyObject *
dec_list(struct dec *d, const msgpack_object_array *a, unsigned depth)
{
	PyObject	*l, *item;
	uint32_t	 i;

	l = PyList_New(a->size);
	for (i = 0; l != NULL && i < a->size; i++) {
		item = dec_value(d, &a->ptr[i], depth + 1);
		if (item == NULL)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, i, item);
	}
	return (l);
}

/* A set or frozenset (a brand new frozenset may be filled with PySet_Add). */
static PyObject *
dec_set(struct dec *d, const msgpack_object_array *a, unsigned depth,
    int frozen)
{
	PyObject	*s, *item;
	uint32_t	 i;

	s = frozen ? PyFrozenSet_New(NULL) : PySet_New(NULL);
	for (i = 0; s != NULL && i < a->size; i++) {
		item = dec_value(d, &a->ptr[i], depth + 1);
		if (item == NULL || PySet_Add(s, item) != 0)
			Py_CLEAR(s);
		Py_XDECREF(item);
	}
	return (s);
}

static PyObject *
dec_map(struct dec *d, const msgpack_object_map *m, unsigned depth)
{
	PyObject	*dict, *k, *v;
	uint32_t	 i;

	dict = PyDict_New();
	for (i = 0; dict != NULL && i < m->size; i++) {
		k = dec_value(d, &m->ptr[i].key, depth + 1);
		v = k ? dec_value(d, &m->ptr[i].val, depth + 1) : NULL;
		if (v == NULL || PyDict_SetItem(dict, k, v) != 0)
			Py_CLEAR(dict);
		Py_XDECREF(k);
		Py_XDECREF(v);
	}
	return (dict);
}

/* Ext 1-3: a msgpack array inside. */
static PyObject *
dec_ext_container(struct dec *d, const msgpack_object_ext *x,
    unsigned depth)
{
	msgpack_unpacked	 u;
	PyObject		*o;

	if (dec_payload(x, depth, &u) != 0)
		return (NULL);
	if (u.data.type != MSGPACK_OBJECT_ARRAY)
		o = dec_bad_ext(x->type, "payload must be an array");
	else if (x->type == SB_EXT_TUPLE)
		o = dec_tuple(d, &u.data.via.array, depth);
	else
		o = dec_set(d, &u.data.via.array, depth,
		    x->type == SB_EXT_FROZENSET);
	msgpack_unpacked_destroy(&u);
	return (o);
}

/* Ext 4: ASCII decimal with an optional '-'; nothing else is accepted. */
static PyObject *
dec_bigint(const msgpack_object_ext *x)
{
	char		*s;
	uint32_t	 i, start;
	PyObject	*o;

	start = x->size > 0 && x->ptr[0] == '-';
	if (x->size == start)
		return (dec_bad_ext(x->type, "empty number"));
	for (i = start; i < x->size; i++) {
		if (x->ptr[i] < '0' || x->ptr[i] > '9')
			return (dec_bad_ext(x->type,
			    "payload is not a decimal integer"));
	}
	s = PyMem_Malloc((size_t)x->size + 1);
	if (s == NULL)
		return (PyErr_NoMemory());
	memcpy(s, x->ptr, x->size);
	s[x->size] = '\0';
	o = PyLong_FromString(s, NULL, 10);
	PyMem_Free(s);
	return (o);
}

/* A msgpack number as a C double; -1 when it is not a number. */
static int
dec_number(const msgpack_object *o, double *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*v = o->via.f64;
		return (0);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		return (0);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		return (0);
	default:
		return (-1);
	}
}

static PyObject *
dec_complex(const msgpack_object_ext *x, unsigned depth)
{
	msgpack_unpacked	 u;
	msgpack_object_array	*a;
	double			 re, im;
	PyObject		*o;

	if (dec_payload(x, depth, &u) != 0)
		return (NULL);
	a = &u.data.via.array;
	if (u.data.type != MSGPACK_OBJECT_ARRAY || a->size != 2 ||
	    dec_number(&a->ptr[0], &re) != 0 ||
	    dec_number(&a->ptr[1], &im) != 0)
		o = dec_bad_ext(x->type, "payload must be [real, imag]");
	else
		o = PyComplex_FromDoubles(re, im);
	msgpack_unpacked_destroy(&u);
	return (o);
}

static PyObject *
dec_callback(struct dec *d, const msgpack_object_ext *x, unsigned depth)
{
	msgpack_unpacked	 u;
	PyObject		*o;

	if (dec_payload(x, depth, &u) != 0)
		return (NULL);
	if (u.data.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		o = dec_bad_ext(x->type, "payload must be an unsigned int");
	else
		o = callback_new(d->sid, u.data.via.u64);
	msgpack_unpacked_destroy(&u);
	return (o);
}

/* The shape of an ndarray as a tuple, and its element count in *count. */
static PyObject *
dec_shape(const msgpack_object *o, uint64_t *count)
{
	const msgpack_object_array	*a = &o->via.array;
	PyObject			*shape;
	uint32_t			 i;
	uint64_t			 n = 1, dim;

	if (o->type != MSGPACK_OBJECT_ARRAY || a->size > 64)
		return (dec_bad_ext(SB_EXT_NDARRAY,
		    "shape must be an array of at most 64 ints"));
	for (i = 0; i < a->size; i++) {
		if (a->ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return (dec_bad_ext(SB_EXT_NDARRAY,
			    "shape entries must be non-negative ints"));
		dim = a->ptr[i].via.u64;
		if (dim != 0 && n > UINT32_MAX * 16ull / dim)
			return (dec_bad_ext(SB_EXT_NDARRAY, "shape too large"));
		n *= dim;
	}
	shape = PyTuple_New(a->size);
	for (i = 0; shape != NULL && i < a->size; i++) {
		PyObject *dimo = PyLong_FromUnsignedLongLong(
		    a->ptr[i].via.u64);

		if (dimo == NULL)
			Py_CLEAR(shape);
		else
			PyTuple_SET_ITEM(shape, i, dimo);
	}
	*count = n;
	return (shape);
}

/*
 * An array of dtype and shape over count items at byte offset in obj, which
 * exports a buffer (no copy; writable when the buffer is).
 */
static PyObject *
dec_array_over(PyObject *np, PyObject *obj, PyObject *dtype,
    uint64_t count, uint64_t offset, PyObject *shape)
{
	PyObject	*flat, *arr;

	flat = PyObject_CallMethod(np, "frombuffer", "OOKK", obj, dtype,
	    (unsigned long long)count, (unsigned long long)offset);
	if (flat == NULL)
		return (NULL);
	arr = PyObject_CallMethod(flat, "reshape", "O", shape);
	Py_DECREF(flat);
	return (arr);
}

/* A dtype's itemsize: 0, 1 when it holds objects, -1 with an exception. */
static int
dec_item_size(PyObject *dtype, uint64_t *itemsize)
{
	PyObject	*hasobj, *isz;
	int		 rv = -1;

	hasobj = PyObject_GetAttrString(dtype, "hasobject");
	isz = PyObject_GetAttrString(dtype, "itemsize");
	if (hasobj != NULL && isz != NULL) {
		*itemsize = PyLong_AsUnsignedLongLong(isz);
		if (PyObject_IsTrue(hasobj))
			rv = 1;
		else if (!PyErr_Occurred())
			rv = 0;
	}
	Py_XDECREF(hasobj);
	Py_XDECREF(isz);
	return (rv);
}

/*
 * An array of dtype and shape over data where it lies in the message being
 * decoded (writable: the message is the array's own). NULL without an
 * exception when data is small, not aligned for dtype or not in that
 * message: the caller copies it then.
 */
static PyObject *
dec_ndarray_share(PyObject *np, PyObject *dtype, PyObject *shape,
    uint64_t count, const msgpack_object_bin *data)
{
	struct codec_msg	*m = dec_msg;
	PyObject		*align;
	long			 a;

	if (m == NULL || data->size < CODEC_DIRECT_MIN ||
	    data->ptr < m->p || (size_t)(data->ptr - m->p) > m->len ||
	    data->size > m->len - (size_t)(data->ptr - m->p))
		return (NULL);
	if ((align = PyObject_GetAttrString(dtype, "alignment")) == NULL)
		return (NULL);
	a = PyLong_AsLong(align);
	Py_DECREF(align);
	if (a <= 0 || (uintptr_t)data->ptr % (unsigned long)a != 0)
		return (NULL);
	if (m->buf == NULL) {
		if ((m->buf = msgbuf_new(m->mem, m->p, m->len)) == NULL)
			return (NULL);
		m->mem = NULL;
	}
	return (dec_array_over(np, m->buf, dtype, count,
	    (uint64_t)(data->ptr - m->p), shape));
}

/* Build an array of dtype and shape from exactly its bytes (one copy). */
static PyObject *
dec_ndarray_fill(PyObject *dtype, PyObject *shape, uint64_t count,
    const msgpack_object_bin *data)
{
	PyObject	*np = codec_numpy(), *arr = NULL;
	Py_buffer	 view;
	uint64_t	 itemsize;
	char		 msg[160];
	int		 k;

	if (np == NULL || (k = dec_item_size(dtype, &itemsize)) < 0)
		return (NULL);
	if (k > 0)
		return (dec_bad_ext(SB_EXT_NDARRAY, "object dtypes cannot "
		    "travel as bytes"));
	if (itemsize > 0 && count > UINT64_MAX / itemsize)
		itemsize = 0, count = 1;
	if (count * itemsize != data->size) {
		snprintf(msg, sizeof msg, "shape and dtype need %llu bytes, "
		    "payload has %u", (unsigned long long)(count * itemsize),
		    data->size);
		return (dec_bad_ext(SB_EXT_NDARRAY, msg));
	}
	if ((arr = dec_ndarray_share(np, dtype, shape, count, data)) != NULL ||
	    PyErr_Occurred())
		return (arr);
	arr = PyObject_CallMethod(np, "empty", "OO", shape, dtype);
	if (arr == NULL)
		return (NULL);
	if (PyObject_GetBuffer(arr, &view, PyBUF_WRITABLE |
	    PyBUF_C_CONTIGUOUS) != 0) {
		Py_DECREF(arr);
		return (NULL);
	}
	if ((uint64_t)view.len == data->size) {
		if (data->size > 0)
			memcpy(view.buf, data->ptr, data->size);
	} else {
		Py_CLEAR(arr);
		dec_bad_ext(SB_EXT_NDARRAY, "array size mismatch");
	}
	PyBuffer_Release(&view);
	return (arr);
}

/* Ext 8: [dtype.str, shape, bytes]. */
static PyObject *
dec_ndarray(const msgpack_object_ext *x, unsigned depth)
{
	msgpack_unpacked	 u;
	msgpack_object		*f;
	PyObject		*np, *dtype = NULL, *shape = NULL, *o = NULL;
	uint64_t		 count = 0;

	if (dec_payload(x, depth, &u) != 0)
		return (NULL);
	f = u.data.via.array.ptr;
	if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 3 ||
	    f[0].type != MSGPACK_OBJECT_STR ||
	    f[2].type != MSGPACK_OBJECT_BIN) {
		dec_bad_ext(x->type, "payload must be [dtype, shape, bytes]");
		goto out;
	}
	if ((np = codec_numpy()) == NULL)
		goto out;
	dtype = PyObject_CallMethod(np, "dtype", "s#", f[0].via.str.ptr,
	    (Py_ssize_t)f[0].via.str.size);
	if (dtype == NULL) {
		pyerr_rewrap(SB_ERRTYPE_BAD_REQUEST, "ext 8 (ndarray) dtype");
		goto out;
	}
	if ((shape = dec_shape(&f[1], &count)) == NULL)
		goto out;
	o = dec_ndarray_fill(dtype, shape, count, &f[2].via.bin);
out:
	Py_XDECREF(dtype);
	Py_XDECREF(shape);
	msgpack_unpacked_destroy(&u);
	return (o);
}

/* Raise snakebridge.SharedMemoryError about an ext 12 value. */
static PyObject *
dec_shm_bad(const char *what)
{
	return (pyerr_set(SB_ERRTYPE_SHARED_MEMORY, "ext 12 (shared "
	    "ndarray): %s", what));
}

/* The shape of an ext 12 value as a tuple; *count saturates. */
static PyObject *
dec_shm_shape(const struct sb_shmarray *a, uint64_t *count)
{
	PyObject	*shape, *dim;
	size_t		 i;

	*count = 1;
	if ((shape = PyTuple_New((Py_ssize_t)a->ndim)) == NULL)
		return (NULL);
	for (i = 0; i < a->ndim; i++) {
		if ((dim = PyLong_FromUnsignedLongLong(a->shape[i])) == NULL) {
			Py_DECREF(shape);
			return (NULL);
		}
		PyTuple_SET_ITEM(shape, (Py_ssize_t)i, dim);
		if (a->shape[i] != 0 && *count > UINT64_MAX / a->shape[i])
			*count = UINT64_MAX;
		else
			*count *= a->shape[i];
	}
	return (shape);
}

/*
 * Ext 12: an array over a shared block of the request's connection, where
 * the client wrote it (no copy).
 */
static PyObject *
dec_shmarray(struct dec *d, const msgpack_object_ext *x)
{
	struct sb_shmarray	 a;
	PyObject		*np, *blk, *dtype = NULL, *shape = NULL;
	PyObject		*o = NULL;
	uint64_t		 count, itemsize;
	char			 msg[160];
	int			 k;

	if (d->reply)
		return (dec_shm_bad("a callback's result cannot be in a "
		    "shared block"));
	if (sb_shmarray_decode(x->ptr, x->size, &a) != 0)
		return (dec_shm_bad("payload must be [dtype, shape, block, "
		    "offset, nbytes]"));
	if ((np = codec_numpy()) == NULL) {
		PyErr_Clear();
		return (dec_shm_bad("numpy is not available in this worker"));
	}
	if ((blk = shm_block_for(d->conn, &a)) == NULL)
		return (NULL);
	if ((dtype = PyObject_CallMethod(np, "dtype", "s", a.dtype)) == NULL) {
		pyerr_rewrap(SB_ERRTYPE_SHARED_MEMORY, "ext 12 (shared "
		    "ndarray) dtype");
		goto out;
	}
	if ((k = dec_item_size(dtype, &itemsize)) != 0) {
		if (k > 0)
			dec_shm_bad("object dtypes cannot be shared");
		goto out;
	}
	if ((shape = dec_shm_shape(&a, &count)) == NULL)
		goto out;
	if (itemsize > 0 && count > UINT64_MAX / itemsize)
		count = UINT64_MAX, itemsize = 1;
	if (count * itemsize != a.nbytes) {
		snprintf(msg, sizeof msg, "shape and dtype need %llu bytes, "
		    "nbytes is %llu", (unsigned long long)(count * itemsize),
		    (unsigned long long)a.nbytes);
		dec_shm_bad(msg);
		goto out;
	}
	if ((o = dec_array_over(np, blk, dtype, count, a.offset,
	    shape)) == NULL)
		pyerr_rewrap(SB_ERRTYPE_SHARED_MEMORY, "ext 12 (shared "
		    "ndarray)");
out:
	Py_XDECREF(shape);
	Py_XDECREF(dtype);
	Py_DECREF(blk);
	return (o);
}

/* Ext 9-11: ASCII text handed to a constructor. */
static PyObject *
dec_text(const msgpack_object_ext *x)
{
	PyObject	*text, *o;

	text = PyUnicode_DecodeASCII(x->ptr, x->size, "strict");
	if (text == NULL)
		return (NULL);
	if (x->type == SB_EXT_DATE)
		o = PyObject_CallMethod((PyObject *)PyDateTimeAPI->DateType,
		    "fromisoformat", "O", text);
	else if (x->type == SB_EXT_DATETIME)
		o = PyObject_CallMethod(
		    (PyObject *)PyDateTimeAPI->DateTimeType, "fromisoformat",
		    "O", text);
	else {
		if (dec_decimal == NULL) {
			PyObject *mod = PyImport_ImportModule("decimal");

			if (mod != NULL) {
				dec_decimal = PyObject_GetAttrString(mod,
				    "Decimal");
				Py_DECREF(mod);
			}
		}
		o = dec_decimal ? PyObject_CallOneArg(dec_decimal, text) :
		    NULL;
	}
	Py_DECREF(text);
	return (o);
}

/* Ext -1: an instant, as an aware datetime in UTC. */
static PyObject *
dec_timestamp(const msgpack_object *obj)
{
	msgpack_timestamp	 ts;
	long long		 days, secs;
	PyObject		*delta, *o;

	if (!msgpack_object_to_timestamp(obj, &ts) || ts.tv_nsec >= 1000000000)
		return (dec_bad_ext(SB_EXT_TIMESTAMP, "malformed timestamp"));
	if (dec_epoch == NULL) {
		dec_epoch = PyDateTimeAPI->DateTime_FromDateAndTime(1970, 1, 1,
		    0, 0, 0, 0, PyDateTime_TimeZone_UTC,
		    PyDateTimeAPI->DateTimeType);
		if (dec_epoch == NULL)
			return (NULL);
	}
	days = ts.tv_sec / 86400;
	secs = ts.tv_sec % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	if (days > 999999999 || days < -999999999)
		return (dec_bad_ext(SB_EXT_TIMESTAMP, "out of range"));
	delta = PyDelta_FromDSU((int)days, (int)secs,
	    (int)(ts.tv_nsec / 1000));
	if (delta == NULL)
		return (NULL);
	o = PyNumber_Add(dec_epoch, delta);
	Py_DECREF(delta);
	return (o);
}

static PyObject *
dec_ext(struct dec *d, const msgpack_object *obj, unsigned depth)
{
	const msgpack_object_ext	*x = &obj->via.ext;

	switch (x->type) {
	case SB_EXT_TUPLE:
	case SB_EXT_SET:
	case SB_EXT_FROZENSET:
		return (dec_ext_container(d, x, depth));
	case SB_EXT_BIGINT:
		return (dec_bigint(x));
	case SB_EXT_COMPLEX:
		return (dec_complex(x, depth));
	case SB_EXT_REF:
		return (refs_resolve(x->ptr, x->size, d->sid));
	case SB_EXT_CALLBACK:
		return (dec_callback(d, x, depth));
	case SB_EXT_NDARRAY:
		return (dec_ndarray(x, depth));
	case SB_EXT_SHMARRAY:
		return (dec_shmarray(d, x));
	case SB_EXT_DATE:
	case SB_EXT_DATETIME:
	case SB_EXT_DECIMAL:
		return (dec_text(x));
	case SB_EXT_TIMESTAMP:
		return (dec_timestamp(obj));
	}
	return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "unknown ext type %d",
	    x->type));
}

static PyObject *
dec_value(struct dec *d, const msgpack_object *o, unsigned depth)
{
	if (depth > 2 * SB_SCAN_DEPTH_CEILING)
		return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "nested too deep"));
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		Py_RETURN_NONE;
	case MSGPACK_OBJECT_BOOLEAN:
		return (PyBool_FromLong(o->via.boolean));
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return (PyLong_FromUnsignedLongLong(o->via.u64));
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return (PyLong_FromLongLong(o->via.i64));
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return (PyFloat_FromDouble(o->via.f64));
	case MSGPACK_OBJECT_STR:
		return (PyUnicode_DecodeUTF8(o->via.str.ptr, o->via.str.size,
		    "strict"));
	case MSGPACK_OBJECT_BIN:
		return (PyBytes_FromStringAndSize(o->via.bin.ptr,
		    o->via.bin.size));
	case MSGPACK_OBJECT_ARRAY:
		return (dec_list(d, &o->via.array, depth));
	case MSGPACK_OBJECT_MAP:
		return (dec_map(d, &o->via.map, depth));
	case MSGPACK_OBJECT_EXT:
		return (dec_ext(d, o, depth));
	}
	return (pyerr_set(SB_ERRTYPE_BAD_REQUEST, "unknown msgpack type"));
}

static int
dec_start(void)
{
	if (PyDateTimeAPI == NULL)
		PyDateTime_IMPORT;
	return (PyDateTimeAPI == NULL ? -1 : 0);
}

/* One value; reply: it is a callback's result. */
static PyObject *
dec_one(const msgpack_object *o, uint64_t sid, uint64_t conn, int reply)
{
	struct dec	 d = { sid, conn, reply };
	PyObject	*v;

	if (dec_start() != 0)
		return (NULL);
	v = dec_value(&d, o, 1);
	if (v == NULL)
		pyerr_rewrap(SB_ERRTYPE_BAD_REQUEST, "cannot decode value");
	return (v);
}

/*
 * Decode one value of a request of session sid from client connection conn
 * (0: none, then no ext 12 fits); NULL with an exception set on failure
 * (snakebridge.BadRequest unless a ref or shared memory error says more).
 */
PyObject *
codec_decode(const msgpack_object *o, uint64_t sid, uint64_t conn)
{
	return (dec_one(o, sid, conn, 0));
}

/* An array as the positional args tuple. */
PyObject *
codec_decode_args(const msgpack_object *o, uint64_t sid, uint64_t conn)
{
	struct dec	 d = { sid, conn, 0 };
	PyObject	*v;

	if (dec_start() != 0)
		return (NULL);
	v = dec_tuple(&d, &o->via.array, 1);
	if (v == NULL)
		pyerr_rewrap(SB_ERRTYPE_BAD_REQUEST, "cannot decode args");
	return (v);
}

/*
 * The items of array o into argv, which has room for them (new
 * references): the args of a vectorcall. 0, or -1 with the exception
 * codec_decode_args sets.
 */
int
codec_decode_argv(const msgpack_object *o, uint64_t sid, uint64_t conn,
    PyObject **argv)
{
	struct dec	 d = { sid, conn, 0 };
	uint32_t	 i, j;

	if (dec_start() != 0)
		return (-1);
	for (i = 0; i < o->via.array.size; i++) {
		/* at the depth of a tuple's items, as codec_decode_args */
		argv[i] = dec_value(&d, &o->via.array.ptr[i], 2);
		if (argv[i] == NULL) {
			for (j = 0; j < i; j++)
				Py_DECREF(argv[j]);
			pyerr_rewrap(SB_ERRTYPE_BAD_REQUEST,
			    "cannot decode args");
			return (-1);
		}
	}
	return (0);
}

/* The result of a callback (a client's answer): no ext 12 in it. */
PyObject *
codec_decode_reply(const msgpack_object *o, uint64_t sid)
{
	return (dec_one(o, sid, 0, 1));
}

/* A map with str keys as the kwargs dict. */
PyObject *
codec_decode_kwargs(const msgpack_object *o, uint64_t sid, uint64_t conn)
{
	uint32_t	 i;

	for (i = 0; i < o->via.map.size; i++) {
		if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
			return (pyerr_set(SB_ERRTYPE_BAD_REQUEST,
			    "kwargs keys must be str"));
	}
	return (codec_decode(o, sid, conn));
}
