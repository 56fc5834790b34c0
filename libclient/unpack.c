/*
 * unpack.c: msgpack -> sb_value. Bytes are scanned (common/scan.h) before
 * msgpack-c decodes them, ext payloads that hold msgpack included, and every
 * known ext payload is checked; anything invalid is SB_EPROTO.
 */
#include <msgpack/timestamp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbproto.h"

static int	unpack_ext(const msgpack_object_ext *,
		    const struct unpack_limits *, unsigned, sb_value **);

/* Convert the n objects at objs into the items of container c. */
static int
unpack_items(sb_value *c, const msgpack_object *objs, size_t n,
    const struct unpack_limits *lim, unsigned depth)
{
	size_t i;
	int rc;

	if (n == 0)
		return (0);
	if ((c->u.seq.items = calloc(n, sizeof(*c->u.seq.items))) == NULL)
		return (SB_ENOMEM);
	c->u.seq.cap = n;
	c->u.seq.len = n;
	for (i = 0; i < n; i++) {
		if ((rc = unpack_object(&objs[i], lim, depth + 1,
		    &c->u.seq.items[i])) != 0)
			return (rc);
	}
	return (0);
}

/*
 * Convert one decoded object. On failure *out is NULL and everything built
 * so far is freed.
 */
int
unpack_object(const msgpack_object *o, const struct unpack_limits *lim,
    unsigned depth, sb_value **out)
{
	sb_value *v = NULL;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (depth > lim->max_depth)
		return (SB_EPROTO);
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		v = sb_nil();
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		v = sb_bool(o->via.boolean);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		v = sb_uint(o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		v = sb_int(o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		v = sb_float(o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		v = sb_strn(o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		v = sb_bytes(o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		if ((v = sb_list_new()) == NULL)
			break;
		rc = unpack_items(v, o->via.array.ptr, o->via.array.size, lim,
		    depth);
		break;
	case MSGPACK_OBJECT_MAP:
		if ((v = sb_map_new()) == NULL)
			break;
		if (o->via.map.size == 0)
			break;
		v->u.seq.items = calloc(2 * (size_t)o->via.map.size,
		    sizeof(*v->u.seq.items));
		if (v->u.seq.items == NULL) {
			rc = SB_ENOMEM;
			break;
		}
		v->u.seq.cap = 2 * (size_t)o->via.map.size;
		v->u.seq.len = o->via.map.size;
		for (i = 0; i < o->via.map.size && rc == 0; i++) {
			if ((rc = unpack_object(&o->via.map.ptr[i].key, lim,
			    depth + 1, &v->u.seq.items[2 * i])) == 0)
				rc = unpack_object(&o->via.map.ptr[i].val, lim,
				    depth + 1, &v->u.seq.items[2 * i + 1]);
		}
		break;
	case MSGPACK_OBJECT_EXT:
		return (unpack_ext(&o->via.ext, lim, depth, out));
	default:
		return (SB_EPROTO);
	}
	if (v == NULL)
		return (SB_ENOMEM);
	if (rc != 0) {
		/* Unfilled slots are NULL, which sb_value_free skips. */
		sb_value_free(v);
		return (rc);
	}
	*out = v;
	return (0);
}

/*
 * Decode exactly one msgpack object filling buf[0..len) after scanning it
 * with the limits left at this depth.
 */
int
unpack_buffer(const void *buf, size_t len, const struct unpack_limits *lim,
    unsigned depth, sb_value **out)
{
	struct sb_scan scan;
	msgpack_zone zone;
	msgpack_object obj;
	size_t msglen = 0, off = 0;
	int rc;

	*out = NULL;
	if (depth > lim->max_depth || len > lim->max_size)
		return (SB_EPROTO);
	sb_scan_init(&scan, len, lim->max_depth - depth);
	if (sb_scan_feed(&scan, buf, len, &msglen) != SB_SCAN_DONE ||
	    msglen != len)
		return (SB_EPROTO);
	if (!msgpack_zone_init(&zone, 2048))
		return (SB_ENOMEM);
	switch (msgpack_unpack(buf, len, &off, &zone, &obj)) {
	case MSGPACK_UNPACK_SUCCESS:
		rc = unpack_object(&obj, lim, depth, out);
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		rc = SB_ENOMEM;
		break;
	default:
		rc = SB_EPROTO;
		break;
	}
	msgpack_zone_destroy(&zone);
	return (rc);
}

/* An ext whose payload is a msgpack array: tuple, set, frozenset. */
static int
unpack_ext_seq(enum sb_type type, const msgpack_object_ext *e,
    const struct unpack_limits *lim, unsigned depth, sb_value **out)
{
	sb_value *v;
	int rc;

	if ((rc = unpack_buffer(e->ptr, e->size, lim, depth, &v)) != 0)
		return (rc);
	if (v->type != SB_LIST) {
		sb_value_free(v);
		return (SB_EPROTO);
	}
	v->type = type;
	*out = v;
	return (0);
}

static int
unpack_ext_complex(const msgpack_object_ext *e,
    const struct unpack_limits *lim, unsigned depth, sb_value **out)
{
	sb_value *v;
	double re, im;
	int rc;

	if ((rc = unpack_buffer(e->ptr, e->size, lim, depth, &v)) != 0)
		return (rc);
	rc = SB_EPROTO;
	if (v->type == SB_LIST && v->u.seq.len == 2 &&
	    sb_value_get_float(v->u.seq.items[0], &re) == 0 &&
	    sb_value_get_float(v->u.seq.items[1], &im) == 0)
		rc = (*out = sb_complex(re, im)) == NULL ? SB_ENOMEM : 0;
	sb_value_free(v);
	return (rc);
}

static int
unpack_ext_callback(const msgpack_object_ext *e,
    const struct unpack_limits *lim, unsigned depth, sb_value **out)
{
	sb_value *v;
	uint64_t id;
	int rc;

	if ((rc = unpack_buffer(e->ptr, e->size, lim, depth, &v)) != 0)
		return (rc);
	rc = SB_EPROTO;
	if (sb_value_get_uint(v, &id) == 0)
		rc = (*out = sb_callback(id)) == NULL ? SB_ENOMEM : 0;
	sb_value_free(v);
	return (rc);
}

/*
 * An ndarray payload [dtype, shape, bin]: read straight from the decoded
 * object so that the data is copied once.
 */
static int
unpack_ext_ndarray(const msgpack_object_ext *e,
    const struct unpack_limits *lim, unsigned depth, sb_value **out)
{
	struct sb_scan scan;
	msgpack_zone zone;
	msgpack_object obj, *f;
	int64_t *shape = NULL;
	char *dtype = NULL;
	size_t msglen = 0, off = 0, i, ndim;
	int rc = SB_EPROTO;

	if (depth + 2 > lim->max_depth)
		return (SB_EPROTO);
	sb_scan_init(&scan, e->size, lim->max_depth - depth);
	if (sb_scan_feed(&scan, e->ptr, e->size, &msglen) != SB_SCAN_DONE ||
	    msglen != e->size)
		return (SB_EPROTO);
	if (!msgpack_zone_init(&zone, 512))
		return (SB_ENOMEM);
	if (msgpack_unpack(e->ptr, e->size, &off, &zone, &obj) !=
	    MSGPACK_UNPACK_SUCCESS || obj.type != MSGPACK_OBJECT_ARRAY ||
	    obj.via.array.size != 3)
		goto out;
	f = obj.via.array.ptr;
	if (f[0].type != MSGPACK_OBJECT_STR ||
	    f[1].type != MSGPACK_OBJECT_ARRAY || f[2].type != MSGPACK_OBJECT_BIN)
		goto out;
	ndim = f[1].via.array.size;
	if ((dtype = strndup(f[0].via.str.ptr, f[0].via.str.size)) == NULL ||
	    (shape = calloc(ndim + 1, sizeof(*shape))) == NULL) {
		rc = SB_ENOMEM;
		goto out;
	}
	if (strlen(dtype) != f[0].via.str.size)
		goto out;
	for (i = 0; i < ndim; i++) {
		if (f[1].via.array.ptr[i].type ==
		    MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    f[1].via.array.ptr[i].via.u64 <= INT64_MAX)
			shape[i] = (int64_t)f[1].via.array.ptr[i].via.u64;
		else
			goto out;
	}
	if (value_ndarray_check(dtype, shape, ndim, f[2].via.bin.size) != 0)
		goto out;
	*out = sb_ndarray(dtype, shape, ndim, f[2].via.bin.ptr,
	    f[2].via.bin.size);
	rc = *out == NULL ? SB_ENOMEM : 0;
out:
	free(dtype);
	free(shape);
	msgpack_zone_destroy(&zone);
	return (rc);
}

/* A textual ext (big int, date, datetime, decimal) after its check. */
static int
unpack_ext_text(enum sb_type type, const msgpack_object_ext *e,
    int (*check)(const char *, size_t), sb_value **out)
{
	if (check(e->ptr, e->size) != 0)
		return (SB_EPROTO);
	return ((*out = value_text(type, e->ptr, e->size)) == NULL ?
	    SB_ENOMEM : 0);
}

static int
unpack_ext(const msgpack_object_ext *e, const struct unpack_limits *lim,
    unsigned depth, sb_value **out)
{
	msgpack_object o;
	msgpack_timestamp ts;

	switch (e->type) {
	case SB_EXT_TUPLE:
		return (unpack_ext_seq(SB_TUPLE, e, lim, depth, out));
	case SB_EXT_SET:
		return (unpack_ext_seq(SB_SET, e, lim, depth, out));
	case SB_EXT_FROZENSET:
		return (unpack_ext_seq(SB_FROZENSET, e, lim, depth, out));
	case SB_EXT_BIGINT:
		return (unpack_ext_text(SB_BIGINT, e, value_bigint_check, out));
	case SB_EXT_COMPLEX:
		return (unpack_ext_complex(e, lim, depth, out));
	case SB_EXT_REF:
		if (e->size == 0)
			return (SB_EPROTO);
		*out = sb_ref_from_bytes(e->ptr, e->size);
		return (*out == NULL ? SB_ENOMEM : 0);
	case SB_EXT_CALLBACK:
		return (unpack_ext_callback(e, lim, depth, out));
	case SB_EXT_NDARRAY:
		return (unpack_ext_ndarray(e, lim, depth, out));
	case SB_EXT_DATE:
		return (unpack_ext_text(SB_DATE, e, value_date_check, out));
	case SB_EXT_DATETIME:
		return (unpack_ext_text(SB_DATETIME, e, value_datetime_check,
		    out));
	case SB_EXT_DECIMAL:
		return (unpack_ext_text(SB_DECIMAL, e, value_decimal_check,
		    out));
	case SB_EXT_TIMESTAMP:
		o.type = MSGPACK_OBJECT_EXT;
		o.via.ext = *e;
		if (!msgpack_object_to_timestamp(&o, &ts) ||
		    ts.tv_nsec >= 1000000000u)
			return (SB_EPROTO);
		*out = sb_timestamp(ts.tv_sec, ts.tv_nsec);
		return (*out == NULL ? SB_ENOMEM : 0);
	default:
		*out = sb_ext(e->type, e->ptr, e->size);
		return (*out == NULL ? SB_ENOMEM : 0);
	}
}

int
sb_value_unpack(const void *buf, size_t len, sb_value **out)
{
	struct unpack_limits lim = { SB_SCAN_DEFAULT_SIZE,
	    SB_SCAN_DEFAULT_DEPTH };

	if (out != NULL)
		*out = NULL;
	if (buf == NULL || out == NULL)
		return (SB_EINVAL);
	return (unpack_buffer(buf, len, &lim, 0, out));
}
