/*
 * unpack.c: msgpack bytes -> sb_value. A bounds-checked reader decodes
 * straight into values (msgpack-c's own decoder would build an object
 * tree first, a second copy). Every read is checked against the bytes
 * left, a container may not declare more elements than bytes remain,
 * nesting is bounded, and every known ext payload is checked; anything
 * invalid is SB_EPROTO. An ext 12 received on a connection becomes an
 * ndarray over the block it names (shm.c).
 */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbproto.h"

enum unpack_kind {
	KIND_NIL, KIND_BOOL, KIND_UINT, KIND_INT, KIND_F32, KIND_F64,
	KIND_STR, KIND_BIN, KIND_ARRAY, KIND_MAP, KIND_EXT
};

struct unpack_head {
	enum unpack_kind kind;
	uint64_t	 n;	/* value, length or element count */
	int8_t		 ext;
};

void
unpack_reader_init(struct unpack_reader *r, const void *buf, size_t len,
    const struct unpack_limits *lim)
{
	r->p = buf;
	r->end = r->p + len;
	r->lim = lim;
	r->block = NULL;
	r->client = NULL;
}

static int
unpack_take(struct unpack_reader *r, size_t n, const uint8_t **out)
{
	if ((size_t)(r->end - r->p) < n)
		return (SB_EPROTO);
	*out = r->p;
	r->p += n;
	return (0);
}

/* Read an n-byte big-endian number (n: 1, 2, 4 or 8). */
static int
unpack_be(struct unpack_reader *r, unsigned n, uint64_t *v)
{
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	if ((size_t)(r->end - r->p) < n)
		return (SB_EPROTO);
	switch (n) {
	case 1:
		*v = *r->p;
		break;
	case 2:
		memcpy(&u16, r->p, sizeof(u16));
		*v = be16toh(u16);
		break;
	case 4:
		memcpy(&u32, r->p, sizeof(u32));
		*v = be32toh(u32);
		break;
	default:
		memcpy(&u64, r->p, sizeof(u64));
		*v = be64toh(u64);
		break;
	}
	r->p += n;
	return (0);
}

/* Sign-extend an n-byte big-endian two's complement number. */
static int64_t
unpack_signed(uint64_t v, unsigned n)
{
	if (n < 8 && (v & ((uint64_t)1 << (8 * n - 1))))
		v |= ~(uint64_t)0 << (8 * n);
	return ((int64_t)v);
}

/*
 * The forms of the bytes 0xc0 to 0xdf: kind, and the big-endian bytes of
 * value, length or count that follow (an ext's type byte after them). 0xc1
 * is reserved; 0xd4 to 0xd8 are the fixexts, their length in the byte.
 */
static const struct {
	uint8_t		 kind, bytes;
} unpack_forms[32] = {
	{ KIND_NIL, 0 }, { KIND_NIL, 0 },	/* c0; c1 is refused first */
	{ KIND_BOOL, 0 }, { KIND_BOOL, 0 },
	{ KIND_BIN, 1 }, { KIND_BIN, 2 }, { KIND_BIN, 4 },	/* c4 */
	{ KIND_EXT, 1 }, { KIND_EXT, 2 }, { KIND_EXT, 4 },	/* c7 */
	{ KIND_F32, 4 }, { KIND_F64, 8 },			/* ca */
	{ KIND_UINT, 1 }, { KIND_UINT, 2 }, { KIND_UINT, 4 },	/* cc */
	{ KIND_UINT, 8 },
	{ KIND_INT, 1 }, { KIND_INT, 2 }, { KIND_INT, 4 },	/* d0 */
	{ KIND_INT, 8 },
	{ KIND_EXT, 0 }, { KIND_EXT, 0 }, { KIND_EXT, 0 },	/* d4 */
	{ KIND_EXT, 0 }, { KIND_EXT, 0 },
	{ KIND_STR, 1 }, { KIND_STR, 2 }, { KIND_STR, 4 },	/* d9 */
	{ KIND_ARRAY, 2 }, { KIND_ARRAY, 4 },			/* dc */
	{ KIND_MAP, 2 }, { KIND_MAP, 4 },			/* de */
};

/* Decode one header: its kind, and its value, length or count. */
static int
unpack_head(struct unpack_reader *r, struct unpack_head *h)
{
	uint64_t ext;
	unsigned b, n;

	if (r->p == r->end)
		return (SB_EPROTO);
	b = *r->p++;
	h->ext = 0;
	if (b <= 0x7f || b >= 0xe0) {
		h->kind = b <= 0x7f ? KIND_UINT : KIND_INT;
		h->n = b <= 0x7f ? b : (uint64_t)(int64_t)(int8_t)b;
		return (0);
	}
	if (b <= 0x9f) {
		h->kind = b <= 0x8f ? KIND_MAP : KIND_ARRAY;
		h->n = b & 0x0f;
		return (0);
	}
	if (b <= 0xbf) {
		h->kind = KIND_STR;
		h->n = b & 0x1f;
		return (0);
	}
	if (b == 0xc1)
		return (SB_EPROTO);
	h->kind = unpack_forms[b - 0xc0].kind;
	n = unpack_forms[b - 0xc0].bytes;
	if (b >= 0xd4 && b <= 0xd8)		/* fixext 1, 2, 4, 8, 16 */
		h->n = (uint64_t)1 << (b - 0xd4);
	else if (n == 0)
		h->n = b == 0xc3;		/* the bool's value */
	else if (unpack_be(r, n, &h->n) != 0)
		return (SB_EPROTO);
	if (h->kind == KIND_INT)
		h->n = (uint64_t)unpack_signed(h->n, n);
	if (h->kind == KIND_EXT) {
		if (unpack_be(r, 1, &ext) != 0)
			return (SB_EPROTO);
		h->ext = (int8_t)ext;
	}
	return (0);
}

/* Decode n items (maps: 2n) into a new container of type t. */
static int
unpack_container(struct unpack_reader *r, enum sb_type t, uint64_t n,
    unsigned depth, sb_value **out)
{
	sb_value *v;
	uint64_t slots = t == SB_MAP ? 2 * n : n, i;
	int rc = 0;

	/* Every element takes at least one byte: a lying count ends here. */
	if (depth >= r->lim->max_depth || slots > (uint64_t)(r->end - r->p))
		return (SB_EPROTO);
	if ((v = value_new(t)) == NULL)
		return (SB_ENOMEM);
	if (slots > 0) {
		/* Not calloc: see value_new. slots fits: it is <= the bytes. */
		if ((v->u.seq.items = malloc(slots * sizeof(sb_value *))) ==
		    NULL) {
			free(v);
			return (SB_ENOMEM);
		}
		memset(v->u.seq.items, 0, slots * sizeof(sb_value *));
		v->u.seq.cap = slots;
		v->u.seq.len = n;
	}
	for (i = 0; i < slots && rc == 0; i++)
		rc = unpack_value(r, depth + 1, &v->u.seq.items[i]);
	if (rc != 0) {
		sb_value_free(v);	/* unfilled slots are NULL */
		return (rc);
	}
	*out = v;
	return (0);
}

/* Decode exactly one value filling buf[0..len), which lies in outer's. */
static int
unpack_whole(const struct unpack_reader *outer, const void *buf, size_t len,
    unsigned depth, sb_value **out)
{
	struct unpack_reader r;
	int rc;

	unpack_reader_init(&r, buf, len, outer->lim);
	r.block = outer->block;
	r.client = outer->client;
	if ((rc = unpack_value(&r, depth, out)) != 0)
		return (rc);
	if (r.p != r.end) {
		sb_value_free(*out);
		*out = NULL;
		return (SB_EPROTO);
	}
	return (0);
}

/* tuple, set, frozenset: the payload is a msgpack array. */
static int
unpack_ext_seq(const struct unpack_reader *r, enum sb_type type,
    const uint8_t *p, size_t len, unsigned depth, sb_value **out)
{
	sb_value *v;
	int rc;

	if ((rc = unpack_whole(r, p, len, depth, &v)) != 0)
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
unpack_ext_complex(const struct unpack_reader *r, const uint8_t *p,
    size_t len, unsigned depth, sb_value **out)
{
	sb_value *v;
	double re, im;
	int rc;

	if ((rc = unpack_whole(r, p, len, depth, &v)) != 0)
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
unpack_ext_callback(const struct unpack_reader *r, const uint8_t *p,
    size_t len, unsigned depth, sb_value **out)
{
	sb_value *v;
	uint64_t id;
	int rc;

	if ((rc = unpack_whole(r, p, len, depth, &v)) != 0)
		return (rc);
	rc = SB_EPROTO;
	if (sb_value_get_uint(v, &id) == 0)
		rc = (*out = sb_callback(id)) == NULL ? SB_ENOMEM : 0;
	sb_value_free(v);
	return (rc);
}

/*
 * An ndarray payload [dtype, shape, bin]. The decoded str and bin buffers
 * move into the ndarray, so the data is copied at most once, from the wire
 * (not at all when the bin stays in the message's block).
 */
static int
unpack_ext_ndarray(const struct unpack_reader *r, const uint8_t *p,
    size_t len, unsigned depth, sb_value **out)
{
	sb_value *v, *nd = NULL, **f;
	size_t i, ndim;
	int rc;

	if ((rc = unpack_whole(r, p, len, depth, &v)) != 0)
		return (rc);
	rc = SB_EPROTO;
	f = v->u.seq.items;
	if (v->type != SB_LIST || v->u.seq.len != 3 || f[0]->type != SB_STR ||
	    f[1]->type != SB_LIST || f[2]->type != SB_BYTES ||
	    strlen(f[0]->u.s.p) != f[0]->u.s.len)
		goto out;
	ndim = f[1]->u.seq.len;
	rc = SB_ENOMEM;
	if ((nd = value_new(SB_NDARRAY)) == NULL || (nd->u.nd.shape =
	    calloc(ndim + 1, sizeof(int64_t))) == NULL)
		goto out;
	rc = SB_EPROTO;
	for (i = 0; i < ndim; i++)
		if (sb_value_get_int(f[1]->u.seq.items[i],
		    &nd->u.nd.shape[i]) != 0)
			goto out;
	if (value_ndarray_check(f[0]->u.s.p, nd->u.nd.shape, ndim,
	    f[2]->u.s.len) != 0)
		goto out;
	nd->u.nd.ndim = ndim;
	nd->u.nd.dtype = f[0]->u.s.p;
	f[0]->u.s.p = NULL;
	nd->u.nd.len = f[2]->u.s.len;
	if (f[2]->block != NULL && (uintptr_t)f[2]->u.s.p % 16 != 0) {
		/* Data as aligned as malloc's: copy what the block holds. */
		rc = SB_ENOMEM;
		if ((nd->u.nd.data = malloc(nd->u.nd.len)) == NULL)
			goto out;
		memcpy(nd->u.nd.data, f[2]->u.s.p, nd->u.nd.len);
	} else {
		nd->u.nd.data = f[2]->u.s.p;
		nd->block = f[2]->block;
		f[2]->u.s.p = NULL;
		f[2]->block = NULL;
	}
	*out = nd;
	nd = NULL;
	rc = 0;
out:
	sb_value_free(nd);
	sb_value_free(v);
	return (rc);
}

/* A textual ext (big int, date, datetime, decimal) after its check. */
static int
unpack_ext_text(enum sb_type type, const uint8_t *p, size_t len,
    int (*check)(const char *, size_t), sb_value **out)
{
	if (check((const char *)p, len) != 0)
		return (SB_EPROTO);
	*out = value_text(type, (const char *)p, len);
	return (*out == NULL ? SB_ENOMEM : 0);
}

/* msgpack's timestamp: 32-bit sec, 64-bit nsec:30|sec:34, or 96-bit. */
static int
unpack_ext_timestamp(const uint8_t *p, size_t len, sb_value **out)
{
	struct unpack_reader r;
	uint64_t a = 0, b = 0;
	int64_t sec;
	uint32_t nsec;

	unpack_reader_init(&r, p, len, NULL);
	switch (len) {
	case 4:
		(void)unpack_be(&r, 4, &a);
		sec = (int64_t)a;
		nsec = 0;
		break;
	case 8:
		(void)unpack_be(&r, 8, &a);
		nsec = (uint32_t)(a >> 34);
		sec = (int64_t)(a & 0x3ffffffffULL);
		break;
	case 12:
		(void)unpack_be(&r, 4, &a);
		(void)unpack_be(&r, 8, &b);
		nsec = (uint32_t)a;
		sec = (int64_t)b;
		break;
	default:
		return (SB_EPROTO);
	}
	if (nsec >= 1000000000u)
		return (SB_EPROTO);
	return ((*out = sb_timestamp(sec, nsec)) == NULL ? SB_ENOMEM : 0);
}

static int
unpack_ext(const struct unpack_reader *r, int8_t type, const uint8_t *p,
    size_t len, unsigned depth, sb_value **out)
{
	switch (type) {
	case SB_EXT_TUPLE:
		return (unpack_ext_seq(r, SB_TUPLE, p, len, depth, out));
	case SB_EXT_SET:
		return (unpack_ext_seq(r, SB_SET, p, len, depth, out));
	case SB_EXT_FROZENSET:
		return (unpack_ext_seq(r, SB_FROZENSET, p, len, depth,
		    out));
	case SB_EXT_BIGINT:
		return (unpack_ext_text(SB_BIGINT, p, len, value_bigint_check,
		    out));
	case SB_EXT_COMPLEX:
		return (unpack_ext_complex(r, p, len, depth, out));
	case SB_EXT_REF:
		if (len == 0)
			return (SB_EPROTO);
		*out = sb_ref_from_bytes(p, len);
		return (*out == NULL ? SB_ENOMEM : 0);
	case SB_EXT_CALLBACK:
		return (unpack_ext_callback(r, p, len, depth, out));
	case SB_EXT_NDARRAY:
		return (unpack_ext_ndarray(r, p, len, depth, out));
	case SB_EXT_DATE:
		return (unpack_ext_text(SB_DATE, p, len, value_date_check, out));
	case SB_EXT_DATETIME:
		return (unpack_ext_text(SB_DATETIME, p, len,
		    value_datetime_check, out));
	case SB_EXT_DECIMAL:
		return (unpack_ext_text(SB_DECIMAL, p, len, value_decimal_check,
		    out));
	case SB_EXT_TIMESTAMP:
		return (unpack_ext_timestamp(p, len, out));
	case SB_EXT_SHMARRAY:
		/* Without a connection (sb_value_unpack) it stays raw. */
		if (r->client != NULL)
			return (shm_unpack(r->client, p, len, out));
		/* FALLTHROUGH */
	default:
		*out = sb_ext(type, p, len);
		return (*out == NULL ? SB_ENOMEM : 0);
	}
}

/*
 * Decode the next value. depth is the number of containers around it. On
 * failure *out is NULL and everything built is freed.
 */
int
unpack_value(struct unpack_reader *r, unsigned depth, sb_value **out)
{
	struct unpack_head h;
	const uint8_t *b;
	uint32_t f32;
	float fl;
	double d;

	*out = NULL;
	if (unpack_head(r, &h) != 0)
		return (SB_EPROTO);
	switch (h.kind) {
	case KIND_NIL:
		*out = sb_nil();
		break;
	case KIND_BOOL:
		*out = sb_bool((int)h.n);
		break;
	case KIND_UINT:
		*out = sb_uint(h.n);
		break;
	case KIND_INT:
		*out = sb_int((int64_t)h.n);
		break;
	case KIND_F32:
		f32 = (uint32_t)h.n;
		memcpy(&fl, &f32, sizeof(fl));
		*out = sb_float(fl);
		break;
	case KIND_F64:
		memcpy(&d, &h.n, sizeof(d));
		*out = sb_float(d);
		break;
	case KIND_STR:
	case KIND_BIN:
		if (unpack_take(r, h.n, &b) != 0)
			return (SB_EPROTO);
		if (h.kind == KIND_STR)
			*out = sb_strn((const char *)b, h.n);
		else if (r->block != NULL && h.n >= BLOCK_SHARE_MIN)
			*out = value_bytes_in(b, h.n, r->block);
		else
			*out = sb_bytes(b, h.n);
		break;
	case KIND_ARRAY:
		return (unpack_container(r, SB_LIST, h.n, depth, out));
	case KIND_MAP:
		return (unpack_container(r, SB_MAP, h.n, depth, out));
	case KIND_EXT:
		if (unpack_take(r, h.n, &b) != 0)
			return (SB_EPROTO);
		return (unpack_ext(r, h.ext, b, h.n, depth, out));
	}
	return (*out == NULL ? SB_ENOMEM : 0);
}

/* The header of an array (a fixarray read at once); SB_EPROTO else. */
int
unpack_array(struct unpack_reader *r, size_t *n)
{
	struct unpack_head h;

	if (r->p < r->end && (*r->p & 0xf0) == 0x90) {
		h.n = *r->p & 0x0f;
		if (h.n > (uint64_t)(r->end - r->p - 1))
			return (SB_EPROTO);
		r->p++;
		*n = h.n;
		return (0);
	}
	if (unpack_head(r, &h) != 0 || h.kind != KIND_ARRAY ||
	    h.n > (uint64_t)(r->end - r->p))
		return (SB_EPROTO);
	*n = h.n;
	return (0);
}

/* A non-negative integer: a positive fixint, or uint 8, 16, 32 or 64. */
int
unpack_uint(struct unpack_reader *r, uint64_t *u)
{
	unsigned b;

	if (r->p == r->end)
		return (SB_EPROTO);
	b = *r->p;
	if (b <= 0x7f) {
		r->p++;
		*u = b;
		return (0);
	}
	if (b < 0xcc || b > 0xcf)
		return (SB_EPROTO);
	r->p++;
	return (unpack_be(r, 1u << (b - 0xcc), u));
}

/* A str, pointing into the buffer (not NUL-terminated). */
int
unpack_str(struct unpack_reader *r, const char **p, size_t *len)
{
	struct unpack_head h;
	const uint8_t *b;

	if (unpack_head(r, &h) != 0 || h.kind != KIND_STR ||
	    unpack_take(r, h.n, &b) != 0)
		return (SB_EPROTO);
	*p = (const char *)b;
	*len = h.n;
	return (0);
}

/* 1 (and consumed) if the next value is nil, else 0. */
int
unpack_nil(struct unpack_reader *r)
{
	if (r->p < r->end && *r->p == 0xc0) {
		r->p++;
		return (1);
	}
	return (0);
}

int
sb_value_unpack(const void *buf, size_t len, sb_value **out)
{
	struct unpack_limits lim = { SB_SCAN_DEFAULT_SIZE,
	    SB_SCAN_DEFAULT_DEPTH };
	struct unpack_reader outer;
	struct sb_scan scan;
	size_t msglen = 0;

	if (out != NULL)
		*out = NULL;
	if (buf == NULL || out == NULL)
		return (SB_EINVAL);
	sb_scan_init(&scan, lim.max_size, lim.max_depth);
	if (sb_scan_feed(&scan, buf, len, &msglen) != SB_SCAN_DONE ||
	    msglen != len)
		return (SB_EPROTO);
	unpack_reader_init(&outer, buf, len, &lim);
	return (unpack_whole(&outer, buf, len, 0, out));
}
