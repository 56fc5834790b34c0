/*
 * shmarray.c: the ext 12 payload codec and the block packet declared in
 * shmarray.h, shared by the daemon, the worker and libsbclient so that all
 * three check a shared array the same way.
 */
#include <string.h>

#include "scan.h"
#include "sbproto.h"
#include "shmarray.h"

/* A non-negative integer object as a u64; -1 if it is not one. */
static int
shm_uint(const msgpack_object *o, uint64_t *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*out = o->via.u64;
		return (0);
	}
	return (-1);
}

static int
shm_fill(const msgpack_object *o, struct sb_shmarray *a)
{
	const msgpack_object *f, *dims;
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 5)
		return (-1);
	f = o->via.array.ptr;
	if (f[0].type != MSGPACK_OBJECT_STR || f[0].via.str.size == 0 ||
	    f[0].via.str.size > SB_SHM_DTYPE_MAX ||
	    memchr(f[0].via.str.ptr, '\0', f[0].via.str.size) != NULL)
		return (-1);
	memcpy(a->dtype, f[0].via.str.ptr, f[0].via.str.size);
	a->dtype[f[0].via.str.size] = '\0';
	dims = &f[1];
	if (dims->type != MSGPACK_OBJECT_ARRAY ||
	    dims->via.array.size > SB_SHM_NDIM_MAX)
		return (-1);
	a->ndim = dims->via.array.size;
	for (i = 0; i < dims->via.array.size; i++) {
		if (shm_uint(&dims->via.array.ptr[i], &a->shape[i]) != 0)
			return (-1);
	}
	if (shm_uint(&f[2], &a->block) != 0 ||
	    shm_uint(&f[3], &a->offset) != 0 ||
	    shm_uint(&f[4], &a->nbytes) != 0 ||
	    a->nbytes > UINT64_MAX - a->offset)
		return (-1);
	return (0);
}

int
sb_shmarray_decode(const void *payload, size_t len, struct sb_shmarray *out)
{
	struct sb_scan sc;
	msgpack_unpacked up;
	size_t n, off = 0;
	int rc = -1;

	/* small and shallow: [str, [dims], uint, uint, uint] */
	sb_scan_init(&sc, len, 3);
	if (len == 0 || sb_scan_feed(&sc, payload, len, &n) != SB_SCAN_DONE ||
	    n != len)
		return (-1);
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, payload, len, &off) ==
	    MSGPACK_UNPACK_SUCCESS && off == len)
		rc = shm_fill(&up.data, out);
	msgpack_unpacked_destroy(&up);
	return (rc);
}

/* The payload is small: it is packed on the stack, then as one ext. */
struct shm_buf {
	char	 b[SB_SHM_DTYPE_MAX + 16 + 9 * (SB_SHM_NDIM_MAX + 4)];
	size_t	 len;
};

static int
shm_buf_write(void *arg, const char *p, size_t n)
{
	struct shm_buf *sb = arg;

	if (n > sizeof sb->b - sb->len)
		return (-1);
	memcpy(sb->b + sb->len, p, n);
	sb->len += n;
	return (0);
}

int
sb_shmarray_pack(msgpack_packer *pk, const struct sb_shmarray *a)
{
	struct shm_buf sb;
	msgpack_packer in;
	size_t i, dlen = strlen(a->dtype);

	if (dlen == 0 || dlen > SB_SHM_DTYPE_MAX || a->ndim > SB_SHM_NDIM_MAX)
		return (-1);
	sb.len = 0;
	msgpack_packer_init(&in, &sb, shm_buf_write);
	if (msgpack_pack_array(&in, 5) != 0 ||
	    msgpack_pack_str_with_body(&in, a->dtype, dlen) != 0 ||
	    msgpack_pack_array(&in, a->ndim) != 0)
		return (-1);
	for (i = 0; i < a->ndim; i++) {
		if (msgpack_pack_uint64(&in, a->shape[i]) != 0)
			return (-1);
	}
	if (msgpack_pack_uint64(&in, a->block) != 0 ||
	    msgpack_pack_uint64(&in, a->offset) != 0 ||
	    msgpack_pack_uint64(&in, a->nbytes) != 0)
		return (-1);
	if (msgpack_pack_ext(pk, sb.len, SB_EXT_SHMARRAY) != 0 ||
	    msgpack_pack_ext_body(pk, sb.b, sb.len) != 0)
		return (-1);
	return (0);
}

void
sb_shmpacket_put(uint8_t buf[SB_SHM_PACKET_LEN], const struct sb_shmpacket *p)
{
	buf = sb_be_put(buf, p->block, 8);
	buf = sb_be_put(buf, p->size, 8);
	(void)sb_be_put(buf, p->conn, 8);
}

void
sb_shmpacket_get(const uint8_t buf[SB_SHM_PACKET_LEN], struct sb_shmpacket *p)
{
	p->block = sb_be_get(buf, 8);
	p->size = sb_be_get(buf + 8, 8);
	p->conn = sb_be_get(buf + 16, 8);
}
