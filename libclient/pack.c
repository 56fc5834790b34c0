/*
 * pack.c: sb_value -> msgpack, with every ext type of docs/protocol.md, and
 * the OPTS map of a request. An ndarray over a shared block goes as ext 12
 * on the connection the block is attached on, elsewhere as ext 8 (a copy).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbproto.h"

/* msgpack-c's packers return -1 only when the write callback failed. */
#define PACK(call) do { if ((call) != 0) return (SB_ENOMEM); } while (0)

static int
pack_str(msgpack_packer *pk, const char *p, size_t len)
{
	PACK(msgpack_pack_str(pk, len));
	PACK(msgpack_pack_str_body(pk, p, len));
	return (0);
}

static int
pack_items(msgpack_packer *pk, const sb_value *v, unsigned depth,
    const struct pack_ctx *ctx)
{
	size_t i, n;
	int rc;

	n = v->u.seq.len * (v->type == SB_MAP ? 2 : 1);
	for (i = 0; i < n; i++)
		if ((rc = pack_value(pk, v->u.seq.items[i], depth + 1,
		    ctx)) != 0)
			return (rc);
	return (0);
}

/* An ext whose payload is itself msgpack, built in a scratch buffer. */
static int
pack_nested_ext(msgpack_packer *pk, int8_t type, const sb_value *v,
    unsigned depth, const struct pack_ctx *ctx)
{
	msgpack_sbuffer sb;
	msgpack_packer inner;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&inner, &sb, msgpack_sbuffer_write);
	switch (v->type) {
	case SB_COMPLEX:
		rc = SB_ENOMEM;
		if (msgpack_pack_array(&inner, 2) == 0 &&
		    msgpack_pack_double(&inner, v->u.c.re) == 0 &&
		    msgpack_pack_double(&inner, v->u.c.im) == 0)
			rc = 0;
		break;
	case SB_CALLBACK:
		rc = msgpack_pack_uint64(&inner, v->u.cb) == 0 ? 0 : SB_ENOMEM;
		break;
	default:
		rc = msgpack_pack_array(&inner, v->u.seq.len) == 0 ?
		    pack_items(&inner, v, depth, ctx) : SB_ENOMEM;
		break;
	}
	if (rc == 0 && (msgpack_pack_ext(pk, sb.size, type) != 0 ||
	    msgpack_pack_ext_body(pk, sb.data, sb.size) != 0))
		rc = SB_ENOMEM;
	msgpack_sbuffer_destroy(&sb);
	return (rc);
}

/*
 * An ndarray: only the small [dtype, shape, bin header] goes through a
 * scratch buffer; the data is written once, straight after it (or not at
 * all: a synchronous call's large data is borrowed, wqueue.c).
 */
static int
pack_ndarray(msgpack_packer *pk, const sb_value *v,
    const struct pack_ctx *ctx)
{
	msgpack_sbuffer sb;
	msgpack_packer inner;
	size_t i;
	int rc;

	if ((rc = shm_pack(pk, v, ctx->client)) <= 0)
		return (rc);
	rc = SB_ENOMEM;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&inner, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&inner, 3) != 0 ||
	    pack_str(&inner, v->u.nd.dtype, strlen(v->u.nd.dtype)) != 0 ||
	    msgpack_pack_array(&inner, v->u.nd.ndim) != 0)
		goto out;
	for (i = 0; i < v->u.nd.ndim; i++)
		if (msgpack_pack_int64(&inner, v->u.nd.shape[i]) != 0)
			goto out;
	if (msgpack_pack_bin(&inner, v->u.nd.len) != 0)
		goto out;
	if (msgpack_pack_ext(pk, sb.size + v->u.nd.len, SB_EXT_NDARRAY) != 0 ||
	    msgpack_pack_ext_body(pk, sb.data, sb.size) != 0 ||
	    wq_pack_data(pk, v->u.nd.data, v->u.nd.len) != 0)
		goto out;
	rc = 0;
out:
	msgpack_sbuffer_destroy(&sb);
	return (rc);
}

static int
pack_ext_raw(msgpack_packer *pk, int8_t type, const sb_value *v)
{
	PACK(msgpack_pack_ext(pk, v->u.s.len, type));
	PACK(msgpack_pack_ext_body(pk, v->u.s.p, v->u.s.len));
	return (0);
}

/*
 * Pack v, which sits inside depth containers; a container of v may not
 * make the nesting exceed ctx->max (SB_ERANGE).
 */
int
pack_value(msgpack_packer *pk, const sb_value *v, unsigned depth,
    const struct pack_ctx *ctx)
{
	msgpack_timestamp ts;

	if (v == NULL) {
		PACK(msgpack_pack_nil(pk));
		return (0);
	}
	if (depth >= ctx->max && (value_is_seq(v->type) || v->type == SB_MAP))
		return (SB_ERANGE);
	switch (v->type) {
	case SB_NIL:
		PACK(msgpack_pack_nil(pk));
		return (0);
	case SB_BOOL:
		PACK(v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
		return (0);
	case SB_INT:
		if (v->u.n.is_unsigned)
			PACK(msgpack_pack_uint64(pk, v->u.n.u));
		else
			PACK(msgpack_pack_int64(pk, v->u.n.i));
		return (0);
	case SB_FLOAT:
		PACK(msgpack_pack_double(pk, v->u.f));
		return (0);
	case SB_STR:
		return (pack_str(pk, v->u.s.p, v->u.s.len));
	case SB_BYTES:
		PACK(msgpack_pack_bin(pk, v->u.s.len));
		return (wq_pack_data(pk, v->u.s.p, v->u.s.len));
	case SB_LIST:
		PACK(msgpack_pack_array(pk, v->u.seq.len));
		return (pack_items(pk, v, depth, ctx));
	case SB_MAP:
		PACK(msgpack_pack_map(pk, v->u.seq.len));
		return (pack_items(pk, v, depth, ctx));
	case SB_TUPLE:
		return (pack_nested_ext(pk, SB_EXT_TUPLE, v, depth, ctx));
	case SB_SET:
		return (pack_nested_ext(pk, SB_EXT_SET, v, depth, ctx));
	case SB_FROZENSET:
		return (pack_nested_ext(pk, SB_EXT_FROZENSET, v, depth, ctx));
	case SB_COMPLEX:
		return (pack_nested_ext(pk, SB_EXT_COMPLEX, v, depth, ctx));
	case SB_CALLBACK:
		return (pack_nested_ext(pk, SB_EXT_CALLBACK, v, depth, ctx));
	case SB_NDARRAY:
		return (pack_ndarray(pk, v, ctx));
	case SB_BIGINT:
		return (pack_ext_raw(pk, SB_EXT_BIGINT, v));
	case SB_REF:
		return (pack_ext_raw(pk, SB_EXT_REF, v));
	case SB_DATE:
		return (pack_ext_raw(pk, SB_EXT_DATE, v));
	case SB_DATETIME:
		return (pack_ext_raw(pk, SB_EXT_DATETIME, v));
	case SB_DECIMAL:
		return (pack_ext_raw(pk, SB_EXT_DECIMAL, v));
	case SB_EXT:
		return (pack_ext_raw(pk, v->u.s.ext, v));
	case SB_TIMESTAMP:
		ts.tv_sec = v->u.ts.sec;
		ts.tv_nsec = v->u.ts.nsec;
		PACK(msgpack_pack_timestamp(pk, &ts));
		return (0);
	}
	return (SB_EINVAL);
}

/* The number of keys the OPTS map of o would hold. */
size_t
pack_opts_count(const struct sb_opts *o)
{
	return ((o->session != NULL) + (o->pool != NULL) +
	    (o->timeout_profile != NULL) + (o->affinity != NULL) +
	    (o->timeout_ms >= 0) + (o->stream_timeout_ms > 0));
}

static int
pack_opt_str(msgpack_packer *pk, const char *key, const char *val)
{
	int rc;

	if (val == NULL)
		return (0);
	if ((rc = pack_str(pk, key, strlen(key))) != 0)
		return (rc);
	return (pack_str(pk, val, strlen(val)));
}

/* The OPTS map: only the members that are set. */
int
pack_opts(msgpack_packer *pk, const struct sb_opts *o)
{
	int rc;

	PACK(msgpack_pack_map(pk, pack_opts_count(o)));
	if ((rc = pack_opt_str(pk, "session", o->session)) != 0 ||
	    (rc = pack_opt_str(pk, "pool", o->pool)) != 0 ||
	    (rc = pack_opt_str(pk, "timeout_profile",
	    o->timeout_profile)) != 0 ||
	    (rc = pack_opt_str(pk, "affinity", o->affinity)) != 0)
		return (rc);
	if (o->timeout_ms >= 0) {
		if ((rc = pack_str(pk, "timeout", 7)) != 0)
			return (rc);
		PACK(msgpack_pack_uint64(pk, (uint64_t)o->timeout_ms));
	}
	if (o->stream_timeout_ms > 0) {
		if ((rc = pack_str(pk, "stream_timeout", 14)) != 0)
			return (rc);
		PACK(msgpack_pack_uint64(pk, (uint64_t)o->stream_timeout_ms));
	}
	return (0);
}

int
sb_value_pack(const sb_value *v, void **buf, size_t *len)
{
	const struct pack_ctx ctx = { SB_SCAN_DEFAULT_DEPTH, NULL };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	if (v == NULL || buf == NULL || len == NULL)
		return (SB_EINVAL);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if ((rc = pack_value(&pk, v, 0, &ctx)) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return (rc);
	}
	if (sb.data == NULL && (sb.data = malloc(1)) == NULL)
		return (SB_ENOMEM);
	*buf = sb.data;
	*len = sb.size;
	return (0);
}
