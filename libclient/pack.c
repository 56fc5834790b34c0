/*
 * pack.c: sb_value -> msgpack, with every ext type of docs/protocol.md, and
 * the OPTS map of a request. An ndarray over a shared block goes as ext 12
 * on the connection the block is attached on, elsewhere as ext 8 (a copy).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sbproto.h"

/*
 * The body of a bin or ext: large data is borrowed when pb is the queue of
 * a client packing a synchronous call's request (borrowing), else copied.
 */
static int
pack_data(struct pbuf *pb, const void *p, size_t len)
{
	if (pb->queue != NULL && len >= BLOCK_SHARE_MIN &&
	    pb->queue->borrowing)
		return (wq_borrow(pb->queue, p, len));
	return (pbuf_bytes(pb, p, len));
}

static int
pack_items(struct pbuf *pb, const sb_value *v, unsigned depth,
    const struct pack_ctx *ctx)
{
	size_t i, n;
	int rc;

	n = v->u.seq.len * (v->type == SB_MAP ? 2 : 1);
	for (i = 0; i < n; i++)
		if ((rc = pack_value(pb, v->u.seq.items[i], depth + 1,
		    ctx)) != 0)
			return (rc);
	return (0);
}

/* An ext whose payload is itself msgpack, built in a scratch buffer. */
static int
pack_nested_ext(struct pbuf *pb, int8_t type, const sb_value *v,
    unsigned depth, const struct pack_ctx *ctx)
{
	struct pbuf in = { NULL, 0, 0, NULL };
	int rc;

	switch (v->type) {
	case SB_COMPLEX:
		rc = SB_ENOMEM;
		if (pbuf_array(&in, 2) == 0 &&
		    pbuf_double(&in, v->u.c.re) == 0 &&
		    pbuf_double(&in, v->u.c.im) == 0)
			rc = 0;
		break;
	case SB_CALLBACK:
		rc = pbuf_uint(&in, v->u.cb);
		break;
	default:
		rc = pbuf_array(&in, v->u.seq.len) == 0 ?
		    pack_items(&in, v, depth, ctx) : SB_ENOMEM;
		break;
	}
	if (rc == 0 && (pbuf_ext_head(pb, in.len, type) != 0 ||
	    pbuf_bytes(pb, in.data, in.len) != 0))
		rc = SB_ENOMEM;
	free(in.data);
	return (rc);
}

/*
 * An ndarray: only the small [dtype, shape, bin header] goes through a
 * scratch buffer; the data is written once, straight after it (or not at
 * all: a synchronous call's large data is borrowed, wqueue.c).
 */
static int
pack_ndarray(struct pbuf *pb, const sb_value *v, const struct pack_ctx *ctx)
{
	struct pbuf in = { NULL, 0, 0, NULL };
	size_t i;
	int rc;

	if ((rc = shm_pack(pb, v, ctx->client)) <= 0)
		return (rc);
	rc = SB_ENOMEM;
	if (pbuf_array(&in, 3) != 0 ||
	    pbuf_str(&in, v->u.nd.dtype, strlen(v->u.nd.dtype)) != 0 ||
	    pbuf_array(&in, v->u.nd.ndim) != 0)
		goto out;
	for (i = 0; i < v->u.nd.ndim; i++)
		if (pbuf_int(&in, v->u.nd.shape[i]) != 0)
			goto out;
	if (pbuf_bin_head(&in, v->u.nd.len) != 0)
		goto out;
	if (pbuf_ext_head(pb, in.len + v->u.nd.len, SB_EXT_NDARRAY) != 0 ||
	    pbuf_bytes(pb, in.data, in.len) != 0 ||
	    pack_data(pb, v->u.nd.data, v->u.nd.len) != 0)
		goto out;
	rc = 0;
out:
	free(in.data);
	return (rc);
}

static int
pack_ext_raw(struct pbuf *pb, int8_t type, const sb_value *v)
{
	if (pbuf_ext_head(pb, v->u.s.len, type) != 0 ||
	    pbuf_bytes(pb, v->u.s.p, v->u.s.len) != 0)
		return (SB_ENOMEM);
	return (0);
}

/* msgpack's timestamp ext, as msgpack-c packs it. */
static int
pack_timestamp(struct pbuf *pb, const sb_value *v)
{
	msgpack_timestamp ts;
	msgpack_packer pk;

	ts.tv_sec = v->u.ts.sec;
	ts.tv_nsec = v->u.ts.nsec;
	pbuf_packer(pb, &pk);
	return (msgpack_pack_timestamp(&pk, &ts) == 0 ? 0 : SB_ENOMEM);
}

/*
 * Pack v, which sits inside depth containers; a container of v may not
 * make the nesting exceed ctx->max (SB_ERANGE).
 */
int
pack_value(struct pbuf *pb, const sb_value *v, unsigned depth,
    const struct pack_ctx *ctx)
{
	if (v == NULL)
		return (pbuf_nil(pb));
	if (depth >= ctx->max && (value_is_seq(v->type) || v->type == SB_MAP))
		return (SB_ERANGE);
	switch (v->type) {
	case SB_NIL:
		return (pbuf_nil(pb));
	case SB_BOOL:
		return (pbuf_bool(pb, v->u.b));
	case SB_INT:
		if (v->u.n.is_unsigned)
			return (pbuf_uint(pb, v->u.n.u));
		return (pbuf_int(pb, v->u.n.i));
	case SB_FLOAT:
		return (pbuf_double(pb, v->u.f));
	case SB_STR:
		return (pbuf_str(pb, v->u.s.p, v->u.s.len));
	case SB_BYTES:
		if (pbuf_bin_head(pb, v->u.s.len) != 0)
			return (SB_ENOMEM);
		return (pack_data(pb, v->u.s.p, v->u.s.len));
	case SB_LIST:
		if (pbuf_array(pb, v->u.seq.len) != 0)
			return (SB_ENOMEM);
		return (pack_items(pb, v, depth, ctx));
	case SB_MAP:
		if (pbuf_map(pb, v->u.seq.len) != 0)
			return (SB_ENOMEM);
		return (pack_items(pb, v, depth, ctx));
	case SB_TUPLE:
		return (pack_nested_ext(pb, SB_EXT_TUPLE, v, depth, ctx));
	case SB_SET:
		return (pack_nested_ext(pb, SB_EXT_SET, v, depth, ctx));
	case SB_FROZENSET:
		return (pack_nested_ext(pb, SB_EXT_FROZENSET, v, depth, ctx));
	case SB_COMPLEX:
		return (pack_nested_ext(pb, SB_EXT_COMPLEX, v, depth, ctx));
	case SB_CALLBACK:
		return (pack_nested_ext(pb, SB_EXT_CALLBACK, v, depth, ctx));
	case SB_NDARRAY:
		return (pack_ndarray(pb, v, ctx));
	case SB_BIGINT:
		return (pack_ext_raw(pb, SB_EXT_BIGINT, v));
	case SB_REF:
		return (pack_ext_raw(pb, SB_EXT_REF, v));
	case SB_DATE:
		return (pack_ext_raw(pb, SB_EXT_DATE, v));
	case SB_DATETIME:
		return (pack_ext_raw(pb, SB_EXT_DATETIME, v));
	case SB_DECIMAL:
		return (pack_ext_raw(pb, SB_EXT_DECIMAL, v));
	case SB_EXT:
		return (pack_ext_raw(pb, v->u.s.ext, v));
	case SB_TIMESTAMP:
		return (pack_timestamp(pb, v));
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
pack_opt_str(struct pbuf *pb, const char *key, const char *val)
{
	if (val == NULL)
		return (0);
	if (pbuf_str(pb, key, strlen(key)) != 0 ||
	    pbuf_str(pb, val, strlen(val)) != 0)
		return (SB_ENOMEM);
	return (0);
}

/* The OPTS map: only the members that are set. */
int
pack_opts(struct pbuf *pb, const struct sb_opts *o)
{
	if (pbuf_map(pb, pack_opts_count(o)) != 0 ||
	    pack_opt_str(pb, "session", o->session) != 0 ||
	    pack_opt_str(pb, "pool", o->pool) != 0 ||
	    pack_opt_str(pb, "timeout_profile", o->timeout_profile) != 0 ||
	    pack_opt_str(pb, "affinity", o->affinity) != 0)
		return (SB_ENOMEM);
	if (o->timeout_ms >= 0 && (pbuf_str(pb, "timeout", 7) != 0 ||
	    pbuf_uint(pb, (uint64_t)o->timeout_ms) != 0))
		return (SB_ENOMEM);
	if (o->stream_timeout_ms > 0 && (pbuf_str(pb, "stream_timeout",
	    14) != 0 || pbuf_uint(pb, (uint64_t)o->stream_timeout_ms) != 0))
		return (SB_ENOMEM);
	return (0);
}

int
sb_value_pack(const sb_value *v, void **buf, size_t *len)
{
	const struct pack_ctx ctx = { SB_SCAN_DEFAULT_DEPTH, NULL };
	struct pbuf pb = { NULL, 0, 0, NULL };
	int rc;

	if (v == NULL || buf == NULL || len == NULL)
		return (SB_EINVAL);
	if ((rc = pack_value(&pb, v, 0, &ctx)) != 0) {
		free(pb.data);
		return (rc);
	}
	if (pb.data == NULL && (pb.data = malloc(1)) == NULL)
		return (SB_ENOMEM);
	*buf = pb.data;
	*len = pb.len;
	return (0);
}
