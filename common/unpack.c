/*
 * unpack.c: one msgpack object, already accepted by the validating scanner,
 * as the daemon and the worker decode it: into msgpack-c's object tree (msgpack_object, containers' items in
 * a msgpack_zone) as msgpack_unpack builds it (but an empty container's
 * or string's pointer, which msgpack-c leaves undefined: NULL, or where
 * the string would be), in one recursive pass instead of msgpack-c's
 * general state machine. It refuses what
 * msgpack_unpack refuses of such input: a container that starts while
 * MSGPACK_EMBED_STACK_SIZE non-empty ones are open (msgpack-c's fixed
 * stack). Every read is bounds-checked all the same, so bytes the scanner
 * did not pass are refused rather than overrun.
 */
#include <string.h>

#include <msgpack.h>
#include <msgpack/unpack_define.h>

#include "sbproto.h"
#include "unpack.h"

struct unpack {
	const uint8_t	*p;
	const uint8_t	*end;
	msgpack_zone	*z;
};

/* A map's pairs are read as one array of keys and values in turn. */
_Static_assert(sizeof(msgpack_object_kv) == 2 * sizeof(msgpack_object),
    "msgpack_object_kv is a key and a value");

static int	unpack_container(struct unpack *, unsigned, int, uint64_t,
		    msgpack_object *);

/* The next k bytes, or NULL when fewer are left. */
static inline const uint8_t *
unpack_take(struct unpack *u, size_t k)
{
	const uint8_t	*p = u->p;

	if ((size_t)(u->end - p) < k)
		return (NULL);
	u->p = p + k;
	return (p);
}

/* A big-endian unsigned of k (1, 2, 4 or 8) bytes; -1 past the end. */
static inline int
unpack_uint(struct unpack *u, size_t k, uint64_t *v)
{
	const uint8_t	*p;

	if ((p = unpack_take(u, k)) == NULL)
		return (-1);
	*v = sb_be_get(p, (unsigned)k);
	return (0);
}

/* A signed value as msgpack-c types it: negative only below zero. */
static inline void
unpack_signed(msgpack_object *o, int64_t v)
{
	if (v < 0) {
		o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
		o->via.i64 = v;
	} else {
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = (uint64_t)v;
	}
}

/* str, bin or the payload of an ext (type byte first) of n bytes. */
static inline int
unpack_raw(struct unpack *u, msgpack_object_type type, uint64_t n,
    msgpack_object *o)
{
	const uint8_t	*p;

	if (n > UINT32_MAX || (p = unpack_take(u, (size_t)n)) == NULL)
		return (-1);
	o->type = type;
	if (type == MSGPACK_OBJECT_EXT) {
		o->via.ext.type = (int8_t)p[0];
		o->via.ext.ptr = (const char *)p + 1;
		o->via.ext.size = (uint32_t)n - 1;
	} else {
		o->via.str.ptr = (const char *)p;	/* bin alike */
		o->via.str.size = (uint32_t)n;
	}
	return (0);
}

/* The formats that start with 0xc0 to 0xdf, but arrays and maps. */
static int
unpack_other(struct unpack *u, unsigned c, msgpack_object *o)
{
	uint64_t	 v;
	union {
		uint32_t	 i;
		float		 f;
	} f32;
	union {
		uint64_t	 i;
		double		 f;
	} f64;

	switch (c) {
	case 0xc0:
		o->type = MSGPACK_OBJECT_NIL;
		return (0);
	case 0xc2:
	case 0xc3:
		o->type = MSGPACK_OBJECT_BOOLEAN;
		o->via.boolean = c == 0xc3;
		return (0);
	case 0xc4:
	case 0xc5:
	case 0xc6:
		if (unpack_uint(u, (size_t)1 << (c - 0xc4), &v) != 0)
			return (-1);
		return (unpack_raw(u, MSGPACK_OBJECT_BIN, v, o));
	case 0xc7:
	case 0xc8:
	case 0xc9:
		if (unpack_uint(u, (size_t)1 << (c - 0xc7), &v) != 0)
			return (-1);
		return (unpack_raw(u, MSGPACK_OBJECT_EXT, v + 1, o));
	case 0xca:
		if (unpack_uint(u, 4, &v) != 0)
			return (-1);
		f32.i = (uint32_t)v;
		o->type = MSGPACK_OBJECT_FLOAT32;
		o->via.f64 = f32.f;
		return (0);
	case 0xcb:
		if (unpack_uint(u, 8, &v) != 0)
			return (-1);
		f64.i = v;
		o->type = MSGPACK_OBJECT_FLOAT64;
		o->via.f64 = f64.f;
		return (0);
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		if (unpack_uint(u, (size_t)1 << (c - 0xcc), &v) != 0)
			return (-1);
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = v;
		return (0);
	case 0xd0:
		if (unpack_uint(u, 1, &v) != 0)
			return (-1);
		unpack_signed(o, (int8_t)v);
		return (0);
	case 0xd1:
		if (unpack_uint(u, 2, &v) != 0)
			return (-1);
		unpack_signed(o, (int16_t)v);
		return (0);
	case 0xd2:
		if (unpack_uint(u, 4, &v) != 0)
			return (-1);
		unpack_signed(o, (int32_t)v);
		return (0);
	case 0xd3:
		if (unpack_uint(u, 8, &v) != 0)
			return (-1);
		unpack_signed(o, (int64_t)v);
		return (0);
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		return (unpack_raw(u, MSGPACK_OBJECT_EXT,
		    ((uint64_t)1 << (c - 0xd4)) + 1, o));
	case 0xd9:
	case 0xda:
	case 0xdb:
		if (unpack_uint(u, (size_t)1 << (c - 0xd9), &v) != 0)
			return (-1);
		return (unpack_raw(u, MSGPACK_OBJECT_STR, v, o));
	}
	return (-1);	/* 0xc1, never used */
}

/*
 * One value at u->p; depth: the containers it is in. The small formats
 * are decoded here, inline in the loop over a container's items.
 */
static inline int
unpack_value(struct unpack *u, unsigned depth, msgpack_object *o)
{
	const uint8_t	*p;
	unsigned	 c;
	uint64_t	 v;

	if ((p = unpack_take(u, 1)) == NULL)
		return (-1);
	c = p[0];
	if (c <= 0x7f) {
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = c;
		return (0);
	}
	if (c >= 0xe0) {
		o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
		o->via.i64 = (int8_t)c;
		return (0);
	}
	if (c >= 0xa0 && c <= 0xbf)
		return (unpack_raw(u, MSGPACK_OBJECT_STR, c & 0x1f, o));
	if (c <= 0x9f)
		return (unpack_container(u, depth, c <= 0x8f, c & 0x0f, o));
	if (c >= 0xdc) {
		if (unpack_uint(u, (size_t)2 << (c & 1), &v) != 0)
			return (-1);
		return (unpack_container(u, depth, c >= 0xde, v, o));
	}
	return (unpack_other(u, c, o));
}

/* n items (map: n pairs) of a container met with depth containers open. */
static int
unpack_container(struct unpack *u, unsigned depth, int map, uint64_t n,
    msgpack_object *o)
{
	msgpack_object	*a;
	uint64_t	 i, k;

	if (depth >= MSGPACK_EMBED_STACK_SIZE)
		return (-1);
	k = map ? 2 * n : n;
	/* Each takes a byte at least: this bounds the allocation. */
	if (k > (size_t)(u->end - u->p))
		return (-1);
	if (map) {
		o->type = MSGPACK_OBJECT_MAP;
		o->via.map.size = (uint32_t)n;
	} else {
		o->type = MSGPACK_OBJECT_ARRAY;
		o->via.array.size = (uint32_t)n;
	}
	o->via.array.ptr = NULL;	/* map alike */
	if (n == 0)
		return (0);
	if ((a = msgpack_zone_malloc(u->z, k * sizeof *a)) == NULL)
		return (-1);
	if (map)
		o->via.map.ptr = (msgpack_object_kv *)(void *)a;
	else
		o->via.array.ptr = a;
	for (i = 0; i < k; i++) {
		if (unpack_value(u, depth + 1, &a[i]) != 0)
			return (-1);
	}
	return (0);
}

/*
 * Decode the value at data + *off (of len bytes in all), which lies in depth
 * containers, into *out, items allocated in z; the tree points into data.
 * *off moves past it. 0, or -1 when msgpack-c would not unpack it there.
 */
int
sb_unpack_next(const char *data, size_t len, size_t *off, unsigned depth,
    msgpack_zone *z, msgpack_object *out)
{
	struct unpack	 u;

	if (*off > len)
		return (-1);
	u.p = (const uint8_t *)data + *off;
	u.end = (const uint8_t *)data + len;
	u.z = z;
	if (unpack_value(&u, depth, out) != 0)
		return (-1);
	*off = (size_t)((const char *)u.p - data);
	return (0);
}

/*
 * Decode the len bytes at data, which must hold exactly one object, as
 * sb_unpack_next. 0, or -1 when msgpack_unpack would not return
 * MSGPACK_UNPACK_SUCCESS.
 */
int
sb_unpack_object(const char *data, size_t len, msgpack_zone *z,
    msgpack_object *out)
{
	size_t	 off = 0;

	if (sb_unpack_next(data, len, &off, 0, z, out) != 0 || off != len)
		return (-1);
	return (0);
}
