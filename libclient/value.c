/*
 * value.c: the sb_value tree: constructors, containers, readers, copy,
 * comparison and free, and the checks of the textual ext types.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbproto.h"

/*
 * A zeroed value of type t. malloc and memset rather than calloc: glibc's
 * calloc bypasses the thread's cache of small chunks.
 */
sb_value *
value_new(enum sb_type type)
{
	sb_value *v;

	if ((v = malloc(sizeof(*v))) == NULL)
		return (NULL);
	memset(v, 0, sizeof(*v));
	v->type = type;
	return (v);
}

/* A value holding a NUL-terminated copy of len bytes at p. */
sb_value *
value_text(enum sb_type type, const char *p, size_t len)
{
	sb_value *v;

	if (p == NULL && len > 0)
		return (NULL);
	if ((v = value_new(type)) == NULL)
		return (NULL);
	if ((v->u.s.p = malloc(len + 1)) == NULL) {
		free(v);
		return (NULL);
	}
	if (len > 0)
		memcpy(v->u.s.p, p, len);
	v->u.s.p[len] = '\0';
	v->u.s.len = len;
	return (v);
}

/*
 * A bytes value whose len bytes at p lie in block b, which it holds (the
 * bytes are not NUL-terminated).
 */
sb_value *
value_bytes_in(const void *p, size_t len, struct value_block *b)
{
	sb_value *v;

	if ((v = value_new(SB_BYTES)) == NULL)
		return (NULL);
	v->u.s.p = (char *)p;
	v->u.s.len = len;
	v->block = block_hold(b);
	return (v);
}

/* A str value on the caller's stack that points at s; never freed. */
void
value_borrow_str(sb_value *tmp, const char *s)
{
	memset(tmp, 0, sizeof(*tmp));
	tmp->type = SB_STR;
	tmp->u.s.p = (char *)s;
	tmp->u.s.len = strlen(s);
}

void
value_borrow_uint(sb_value *tmp, uint64_t u)
{
	memset(tmp, 0, sizeof(*tmp));
	tmp->type = SB_INT;
	if (u > INT64_MAX) {
		tmp->u.n.u = u;
		tmp->u.n.is_unsigned = 1;
	} else
		tmp->u.n.i = (int64_t)u;
}

int
value_is_seq(enum sb_type t)
{
	return (t == SB_LIST || t == SB_TUPLE || t == SB_SET ||
	    t == SB_FROZENSET);
}

int
value_bigint_check(const char *p, size_t len)
{
	size_t i = 0;

	if (len > 0 && p[0] == '-')
		i = 1;
	if (i == len)
		return (-1);
	for (; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return (-1);
	return (0);
}

int
value_date_check(const char *p, size_t len)
{
	static const char form[] = "dddd-dd-dd";
	size_t i;

	if (len < sizeof(form) - 1)
		return (-1);
	for (i = 0; i < sizeof(form) - 1; i++) {
		if (form[i] == 'd' ? !isdigit((unsigned char)p[i]) :
		    p[i] != form[i])
			return (-1);
	}
	return (len == sizeof(form) - 1 ? 0 : 1);
}

int
value_datetime_check(const char *p, size_t len)
{
	size_t i;

	if (value_date_check(p, len) != 1 || p[10] != 'T')
		return (-1);
	for (i = 11; i < len; i++)
		if (!isprint((unsigned char)p[i]))
			return (-1);
	return (0);
}

int
value_decimal_check(const char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return (-1);
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)p[i]))
			return (-1);
	return (0);
}

/* The element count of a shape: -1 for a negative dimension or overflow. */
static int
value_shape_count(const int64_t *shape, size_t ndim, uint64_t *count)
{
	size_t i;

	if (ndim > 0 && shape == NULL)
		return (-1);
	*count = 1;
	for (i = 0; i < ndim; i++) {
		if (shape[i] < 0)
			return (-1);
		if (shape[i] != 0 && *count > UINT64_MAX / (uint64_t)shape[i])
			return (-1);
		*count *= (uint64_t)shape[i];
	}
	return (0);
}

/*
 * The item size written in a dtype of the numeric kinds b, i, u, f and c
 * ("<f8": 8) in *item; *item is 0 for the other kinds. -1 for a NULL or
 * empty dtype or a numeric one without a valid size.
 */
static int
value_dtype_item(const char *dtype, uint64_t *item)
{
	const char *kind, *p;

	if (dtype == NULL || *dtype == '\0')
		return (-1);
	*item = 0;
	kind = dtype;
	if (*kind == '<' || *kind == '>' || *kind == '|' || *kind == '=')
		kind++;
	if (*kind == '\0' || strchr("biufc", *kind) == NULL)
		return (0);
	for (p = kind + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) || *item > 1024)
			return (-1);
		*item = *item * 10 + (uint64_t)(*p - '0');
	}
	return (*item == 0 ? -1 : 0);
}

/*
 * For the numeric dtype kinds, check that len is the element count times the
 * item size written in the dtype ("<f8": 8). Other kinds are not checked.
 */
int
value_ndarray_check(const char *dtype, const int64_t *shape, size_t ndim,
    size_t len)
{
	uint64_t count, item;

	if (value_dtype_item(dtype, &item) != 0 ||
	    value_shape_count(shape, ndim, &count) != 0)
		return (-1);
	if (item == 0)
		return (0);
	if (count != 0 && item > UINT64_MAX / count)
		return (-1);
	return (count * item == len ? 0 : -1);
}

/*
 * The size in bytes of an array of a numeric dtype and a shape; -1 for any
 * other dtype, a bad shape, or a size beyond SIZE_MAX.
 */
int
value_ndarray_nbytes(const char *dtype, const int64_t *shape, size_t ndim,
    size_t *nbytes)
{
	uint64_t count, item;

	if (value_dtype_item(dtype, &item) != 0 || item == 0 ||
	    value_shape_count(shape, ndim, &count) != 0 ||
	    (count != 0 && item > SIZE_MAX / count))
		return (-1);
	*nbytes = (size_t)(count * item);
	return (0);
}

sb_value *
sb_nil(void)
{
	return (value_new(SB_NIL));
}

sb_value *
sb_bool(int b)
{
	sb_value *v;

	if ((v = value_new(SB_BOOL)) != NULL)
		v->u.b = b != 0;
	return (v);
}

sb_value *
sb_int(int64_t i)
{
	sb_value *v;

	if ((v = value_new(SB_INT)) != NULL)
		v->u.n.i = i;
	return (v);
}

sb_value *
sb_uint(uint64_t u)
{
	sb_value *v;

	if ((v = value_new(SB_INT)) != NULL)
		value_borrow_uint(v, u);
	return (v);
}

sb_value *
sb_bigint(const char *decimal)
{
	if (decimal == NULL || value_bigint_check(decimal,
	    strlen(decimal)) != 0)
		return (NULL);
	return (value_text(SB_BIGINT, decimal, strlen(decimal)));
}

sb_value *
sb_float(double d)
{
	sb_value *v;

	if ((v = value_new(SB_FLOAT)) != NULL)
		v->u.f = d;
	return (v);
}

sb_value *
sb_str(const char *s)
{
	if (s == NULL)
		return (NULL);
	return (value_text(SB_STR, s, strlen(s)));
}

sb_value *
sb_strn(const char *s, size_t len)
{
	return (value_text(SB_STR, s, len));
}

sb_value *
sb_bytes(const void *data, size_t len)
{
	return (value_text(SB_BYTES, data, len));
}

sb_value *
sb_list_new(void)
{
	return (value_new(SB_LIST));
}

sb_value *
sb_tuple_new(void)
{
	return (value_new(SB_TUPLE));
}

sb_value *
sb_set_new(void)
{
	return (value_new(SB_SET));
}

sb_value *
sb_frozenset_new(void)
{
	return (value_new(SB_FROZENSET));
}

sb_value *
sb_map_new(void)
{
	return (value_new(SB_MAP));
}

sb_value *
sb_complex(double re, double im)
{
	sb_value *v;

	if ((v = value_new(SB_COMPLEX)) != NULL) {
		v->u.c.re = re;
		v->u.c.im = im;
	}
	return (v);
}

sb_value *
sb_ndarray(const char *dtype, const int64_t *shape, size_t ndim,
    const void *data, size_t len)
{
	sb_value *v;

	if (value_ndarray_check(dtype, shape, ndim, len) != 0 ||
	    (data == NULL && len > 0))
		return (NULL);
	if ((v = value_new(SB_NDARRAY)) == NULL)
		return (NULL);
	v->u.nd.dtype = strdup(dtype);
	v->u.nd.shape = malloc(ndim > 0 ? ndim * sizeof(*shape) : 1);
	v->u.nd.data = malloc(len > 0 ? len : 1);
	v->u.nd.ndim = ndim;
	v->u.nd.len = len;
	if (v->u.nd.dtype == NULL || v->u.nd.shape == NULL ||
	    v->u.nd.data == NULL) {
		sb_value_free(v);
		return (NULL);
	}
	if (ndim > 0)
		memcpy(v->u.nd.shape, shape, ndim * sizeof(*shape));
	if (len > 0)
		memcpy(v->u.nd.data, data, len);
	return (v);
}

/* Decode the type name of a ref into a NUL-terminated string, if it is one. */
static int
value_ref_decode(sb_value *v)
{
	struct sb_refdata rd;

	if (sb_ref_decode(v->u.s.p, v->u.s.len, &rd) != 0)
		return (0);
	if ((v->u.s.ref_type = malloc(rd.type_len + 1)) == NULL)
		return (-1);
	memcpy(v->u.s.ref_type, rd.type_name, rd.type_len);
	v->u.s.ref_type[rd.type_len] = '\0';
	return (0);
}

sb_value *
sb_ref_from_bytes(const void *payload, size_t len)
{
	sb_value *v;

	if (len == 0 || (v = value_text(SB_REF, payload, len)) == NULL)
		return (NULL);
	v->u.s.ext = SB_EXT_REF;
	if (value_ref_decode(v) != 0) {
		sb_value_free(v);
		return (NULL);
	}
	return (v);
}

/* A textual ext value after its check accepted it. */
static sb_value *
value_checked_text(enum sb_type type, const char *s,
    int (*check)(const char *, size_t))
{
	if (s == NULL || check(s, strlen(s)) != 0)
		return (NULL);
	return (value_text(type, s, strlen(s)));
}

sb_value *
sb_date(const char *iso)
{
	return (value_checked_text(SB_DATE, iso, value_date_check));
}

sb_value *
sb_datetime(const char *iso)
{
	return (value_checked_text(SB_DATETIME, iso, value_datetime_check));
}

sb_value *
sb_decimal(const char *text)
{
	return (value_checked_text(SB_DECIMAL, text, value_decimal_check));
}

sb_value *
sb_timestamp(int64_t sec, uint32_t nsec)
{
	sb_value *v;

	if (nsec >= 1000000000u || (v = value_new(SB_TIMESTAMP)) == NULL)
		return (NULL);
	v->u.ts.sec = sec;
	v->u.ts.nsec = nsec;
	return (v);
}

sb_value *
sb_callback(uint64_t id)
{
	sb_value *v;

	if ((v = value_new(SB_CALLBACK)) != NULL)
		v->u.cb = id;
	return (v);
}

sb_value *
sb_ext(int8_t type, const void *payload, size_t len)
{
	sb_value *v;

	if ((v = value_text(SB_EXT, payload, len)) != NULL)
		v->u.s.ext = type;
	return (v);
}

void
sb_value_free(sb_value *v)
{
	size_t i, n;

	if (v == NULL)
		return;
	switch (v->type) {
	case SB_LIST:
	case SB_TUPLE:
	case SB_SET:
	case SB_FROZENSET:
	case SB_MAP:
		n = v->u.seq.len * (v->type == SB_MAP ? 2 : 1);
		for (i = 0; i < n; i++)
			sb_value_free(v->u.seq.items[i]);
		free(v->u.seq.items);
		break;
	case SB_BIGINT:
	case SB_STR:
	case SB_BYTES:
	case SB_REF:
	case SB_DATE:
	case SB_DATETIME:
	case SB_DECIMAL:
	case SB_EXT:
		if (v->block == NULL)
			free(v->u.s.p);
		free(v->u.s.ref_type);
		break;
	case SB_NDARRAY:
		free(v->u.nd.dtype);
		free(v->u.nd.shape);
		if (v->block == NULL && v->shm == NULL)
			free(v->u.nd.data);
		break;
	default:
		break;
	}
	block_drop(v->block);
	shm_drop(v->shm);
	free(v);
}

/* Make room for n more item slots in a container. */
static int
value_grow(sb_value *v, size_t n)
{
	size_t want, cap;
	sb_value **items;

	want = v->u.seq.len * (v->type == SB_MAP ? 2 : 1) + n;
	if (want <= v->u.seq.cap)
		return (0);
	cap = v->u.seq.cap ? v->u.seq.cap : 4;
	while (cap < want)
		cap *= 2;
	if ((items = reallocarray(v->u.seq.items, cap, sizeof(*items))) == NULL)
		return (SB_ENOMEM);
	v->u.seq.items = items;
	v->u.seq.cap = cap;
	return (0);
}

int
sb_list_append(sb_value *seq, sb_value *item)
{
	int rc;

	if (seq == NULL || item == NULL || item == seq)
		rc = SB_EINVAL;
	else if (!value_is_seq(seq->type))
		rc = SB_ETYPE;
	else
		rc = value_grow(seq, 1);
	if (rc != 0) {
		if (item != seq)
			sb_value_free(item);
		return (rc);
	}
	seq->u.seq.items[seq->u.seq.len++] = item;
	return (0);
}

int
sb_map_set(sb_value *map, sb_value *key, sb_value *val)
{
	int rc;

	if (map == NULL || key == NULL || val == NULL || key == map ||
	    val == map)
		rc = SB_EINVAL;
	else if (map->type != SB_MAP)
		rc = SB_ETYPE;
	else
		rc = value_grow(map, 2);
	if (rc != 0) {
		if (key != map)
			sb_value_free(key);
		if (val != map)
			sb_value_free(val);
		return (rc);
	}
	map->u.seq.items[2 * map->u.seq.len] = key;
	map->u.seq.items[2 * map->u.seq.len + 1] = val;
	map->u.seq.len++;
	return (0);
}

enum sb_type
sb_value_type(const sb_value *v)
{
	return (v == NULL ? SB_NIL : v->type);
}

int
sb_value_get_bool(const sb_value *v, int *out)
{
	if (v == NULL || v->type != SB_BOOL)
		return (SB_ETYPE);
	if (out != NULL)
		*out = v->u.b;
	return (0);
}

int
sb_value_get_int(const sb_value *v, int64_t *out)
{
	if (v == NULL || v->type != SB_INT)
		return (SB_ETYPE);
	if (v->u.n.is_unsigned)
		return (SB_ERANGE);
	if (out != NULL)
		*out = v->u.n.i;
	return (0);
}

int
sb_value_get_uint(const sb_value *v, uint64_t *out)
{
	if (v == NULL || v->type != SB_INT)
		return (SB_ETYPE);
	if (!v->u.n.is_unsigned && v->u.n.i < 0)
		return (SB_ERANGE);
	if (out != NULL)
		*out = v->u.n.is_unsigned ? v->u.n.u : (uint64_t)v->u.n.i;
	return (0);
}

int
sb_value_is_unsigned(const sb_value *v)
{
	return (v != NULL && v->type == SB_INT && v->u.n.is_unsigned);
}

int
sb_value_get_float(const sb_value *v, double *out)
{
	double d;

	if (v == NULL)
		return (SB_ETYPE);
	if (v->type == SB_FLOAT)
		d = v->u.f;
	else if (v->type == SB_INT)
		d = v->u.n.is_unsigned ? (double)v->u.n.u : (double)v->u.n.i;
	else
		return (SB_ETYPE);
	if (out != NULL)
		*out = d;
	return (0);
}

const char *
sb_value_str(const sb_value *v, size_t *len)
{
	if (v == NULL)
		return (NULL);
	switch (v->type) {
	case SB_STR:
	case SB_BIGINT:
	case SB_DATE:
	case SB_DATETIME:
	case SB_DECIMAL:
		if (len != NULL)
			*len = v->u.s.len;
		return (v->u.s.p);
	default:
		return (NULL);
	}
}

const void *
sb_value_bytes(const sb_value *v, size_t *len)
{
	if (v == NULL || (v->type != SB_BYTES && v->type != SB_REF &&
	    v->type != SB_EXT))
		return (NULL);
	if (len != NULL)
		*len = v->u.s.len;
	return (v->u.s.p);
}

size_t
sb_value_len(const sb_value *v)
{
	if (v == NULL || (!value_is_seq(v->type) && v->type != SB_MAP))
		return (0);
	return (v->u.seq.len);
}

const sb_value *
sb_value_item(const sb_value *v, size_t i)
{
	if (v == NULL || !value_is_seq(v->type) || i >= v->u.seq.len)
		return (NULL);
	return (v->u.seq.items[i]);
}

const sb_value *
sb_map_key(const sb_value *v, size_t i)
{
	if (v == NULL || v->type != SB_MAP || i >= v->u.seq.len)
		return (NULL);
	return (v->u.seq.items[2 * i]);
}

const sb_value *
sb_map_value(const sb_value *v, size_t i)
{
	if (v == NULL || v->type != SB_MAP || i >= v->u.seq.len)
		return (NULL);
	return (v->u.seq.items[2 * i + 1]);
}

const sb_value *
sb_map_get(const sb_value *v, const char *strkey)
{
	const sb_value *k;
	size_t i, len;

	if (v == NULL || strkey == NULL || v->type != SB_MAP)
		return (NULL);
	len = strlen(strkey);
	for (i = 0; i < v->u.seq.len; i++) {
		k = v->u.seq.items[2 * i];
		if (k->type == SB_STR && k->u.s.len == len &&
		    memcmp(k->u.s.p, strkey, len) == 0)
			return (v->u.seq.items[2 * i + 1]);
	}
	return (NULL);
}

int
sb_value_get_complex(const sb_value *v, double *re, double *im)
{
	if (v == NULL || v->type != SB_COMPLEX)
		return (SB_ETYPE);
	if (re != NULL)
		*re = v->u.c.re;
	if (im != NULL)
		*im = v->u.c.im;
	return (0);
}

int
sb_value_get_ndarray(const sb_value *v, const char **dtype,
    const int64_t **shape, size_t *ndim, const void **data, size_t *len)
{
	if (v == NULL || v->type != SB_NDARRAY)
		return (SB_ETYPE);
	if (dtype != NULL)
		*dtype = v->u.nd.dtype;
	if (shape != NULL)
		*shape = v->u.nd.shape;
	if (ndim != NULL)
		*ndim = v->u.nd.ndim;
	if (data != NULL)
		*data = v->u.nd.data;
	if (len != NULL)
		*len = v->u.nd.len;
	return (0);
}

const char *
sb_ref_type(const sb_value *v)
{
	if (v == NULL || v->type != SB_REF)
		return (NULL);
	return (v->u.s.ref_type);
}

int
sb_value_get_timestamp(const sb_value *v, int64_t *sec, uint32_t *nsec)
{
	if (v == NULL || v->type != SB_TIMESTAMP)
		return (SB_ETYPE);
	if (sec != NULL)
		*sec = v->u.ts.sec;
	if (nsec != NULL)
		*nsec = v->u.ts.nsec;
	return (0);
}

int
sb_value_get_callback(const sb_value *v, uint64_t *id)
{
	if (v == NULL || v->type != SB_CALLBACK)
		return (SB_ETYPE);
	if (id != NULL)
		*id = v->u.cb;
	return (0);
}

int
sb_value_get_ext(const sb_value *v, int8_t *type, const void **data,
    size_t *len)
{
	if (v == NULL || (v->type != SB_EXT && v->type != SB_REF))
		return (SB_ETYPE);
	if (type != NULL)
		*type = v->u.s.ext;
	if (data != NULL)
		*data = v->u.s.p;
	if (len != NULL)
		*len = v->u.s.len;
	return (0);
}

sb_value *
sb_value_copy(const sb_value *v)
{
	sb_value *c;
	size_t i, n;

	if (v == NULL)
		return (NULL);
	switch (v->type) {
	case SB_LIST:
	case SB_TUPLE:
	case SB_SET:
	case SB_FROZENSET:
	case SB_MAP:
		if ((c = value_new(v->type)) == NULL)
			return (NULL);
		n = v->u.seq.len * (v->type == SB_MAP ? 2 : 1);
		if (n > 0 && value_grow(c, n) != 0) {
			free(c);
			return (NULL);
		}
		for (i = 0; i < n; i++) {
			if ((c->u.seq.items[i] = sb_value_copy(
			    v->u.seq.items[i])) == NULL) {
				c->u.seq.len = i / (v->type == SB_MAP ? 2 : 1);
				/* A map's lone key copied last is freed here. */
				if (v->type == SB_MAP && i % 2 == 1)
					sb_value_free(c->u.seq.items[i - 1]);
				sb_value_free(c);
				return (NULL);
			}
		}
		c->u.seq.len = v->u.seq.len;
		return (c);
	case SB_REF:
		return (sb_ref_from_bytes(v->u.s.p, v->u.s.len));
	case SB_BIGINT:
	case SB_STR:
	case SB_BYTES:
	case SB_DATE:
	case SB_DATETIME:
	case SB_DECIMAL:
	case SB_EXT:
		if ((c = value_text(v->type, v->u.s.p, v->u.s.len)) != NULL)
			c->u.s.ext = v->u.s.ext;
		return (c);
	case SB_NDARRAY:
		if (v->shm != NULL)	/* another view of the same block */
			return (shm_copy(v));
		return (sb_ndarray(v->u.nd.dtype, v->u.nd.shape, v->u.nd.ndim,
		    v->u.nd.data, v->u.nd.len));
	default:
		if ((c = value_new(v->type)) != NULL)
			c->u = v->u;
		return (c);
	}
}

int
sb_value_equal(const sb_value *a, const sb_value *b)
{
	size_t i, n;

	if (a == NULL || b == NULL)
		return (a == b);
	if (a->type != b->type)
		return (0);
	switch (a->type) {
	case SB_NIL:
		return (1);
	case SB_BOOL:
		return (a->u.b == b->u.b);
	case SB_INT:
		return (a->u.n.is_unsigned == b->u.n.is_unsigned &&
		    (a->u.n.is_unsigned ? a->u.n.u == b->u.n.u :
		    a->u.n.i == b->u.n.i));
	case SB_FLOAT:
		return (memcmp(&a->u.f, &b->u.f, sizeof(a->u.f)) == 0);
	case SB_COMPLEX:
		return (memcmp(&a->u.c, &b->u.c, sizeof(a->u.c)) == 0);
	case SB_TIMESTAMP:
		return (a->u.ts.sec == b->u.ts.sec &&
		    a->u.ts.nsec == b->u.ts.nsec);
	case SB_CALLBACK:
		return (a->u.cb == b->u.cb);
	case SB_NDARRAY:
		return (strcmp(a->u.nd.dtype, b->u.nd.dtype) == 0 &&
		    a->u.nd.ndim == b->u.nd.ndim && a->u.nd.len == b->u.nd.len &&
		    (a->u.nd.ndim == 0 || memcmp(a->u.nd.shape, b->u.nd.shape,
		    a->u.nd.ndim * sizeof(int64_t)) == 0) &&
		    (a->u.nd.len == 0 || memcmp(a->u.nd.data, b->u.nd.data,
		    a->u.nd.len) == 0));
	case SB_LIST:
	case SB_TUPLE:
	case SB_SET:
	case SB_FROZENSET:
	case SB_MAP:
		if (a->u.seq.len != b->u.seq.len)
			return (0);
		n = a->u.seq.len * (a->type == SB_MAP ? 2 : 1);
		for (i = 0; i < n; i++)
			if (!sb_value_equal(a->u.seq.items[i],
			    b->u.seq.items[i]))
				return (0);
		return (1);
	default:
		return (a->u.s.ext == b->u.s.ext && a->u.s.len == b->u.s.len &&
		    memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0);
	}
}
