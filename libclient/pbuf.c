/*
 * pbuf.c: the msgpack writer's less common forms (pbuf.h has the rest):
 * negative integers, bin and ext headers, growing the buffer, and a
 * msgpack_packer over it for the few forms written elsewhere.
 */
#include <stdint.h>

#include "internal.h"

/* Make room for n more bytes: 0, or SB_ENOMEM with the buffer intact. */
int
pbuf_grow(struct pbuf *pb, size_t n)
{
	return (conn_reserve(&pb->data, &pb->cap, pb->len, n));
}

/* Non-negative numbers take the unsigned forms, as msgpack-c's do. */
int
pbuf_int(struct pbuf *pb, int64_t i)
{
	if (i >= 0)
		return (pbuf_uint(pb, (uint64_t)i));
	if (i >= -32)
		return (pbuf_tag(pb, (uint8_t)i, 0, 0));
	if (i >= INT8_MIN)
		return (pbuf_tag(pb, 0xd0, (uint64_t)i, 1));
	if (i >= INT16_MIN)
		return (pbuf_tag(pb, 0xd1, (uint64_t)i, 2));
	if (i >= INT32_MIN)
		return (pbuf_tag(pb, 0xd2, (uint64_t)i, 4));
	return (pbuf_tag(pb, 0xd3, (uint64_t)i, 8));
}

/* A str of 32 bytes or more: str 8, 16 or 32. */
int
pbuf_str_long(struct pbuf *pb, const char *p, size_t len)
{
	int rc;

	if ((rc = pbuf_head(pb, SB_HEAD_STR, len)) != 0)
		return (rc);
	return (pbuf_bytes(pb, p, len));
}

int
pbuf_bin_head(struct pbuf *pb, size_t len)
{
	return (pbuf_head(pb, SB_HEAD_BIN, len));
}

/* An ext header: fixext for 1, 2, 4, 8 and 16 bytes, else ext 8/16/32. */
int
pbuf_ext_head(struct pbuf *pb, size_t len, int8_t type)
{
	static const uint8_t fixext[17] = {
		[1] = 0xd4, [2] = 0xd5, [4] = 0xd6, [8] = 0xd7, [16] = 0xd8
	};
	int rc;

	if (len < sizeof(fixext) && fixext[len] != 0)
		rc = pbuf_tag(pb, fixext[len], 0, 0);
	else if (len < 0x100)
		rc = pbuf_tag(pb, 0xc7, len, 1);
	else if (len < 0x10000)
		rc = pbuf_tag(pb, 0xc8, len, 2);
	else
		rc = pbuf_tag(pb, 0xc9, len, 4);
	if (rc != 0)
		return (rc);
	return (pbuf_tag(pb, (uint8_t)type, 0, 0));
}

/* msgpack_packer callback: append to the pbuf. */
static int
pbuf_packer_write(void *data, const char *buf, size_t len)
{
	return (pbuf_bytes(data, buf, len) == 0 ? 0 : -1);
}

/* A msgpack_packer that appends to pb. */
void
pbuf_packer(struct pbuf *pb, msgpack_packer *pk)
{
	msgpack_packer_init(pk, pb, pbuf_packer_write);
}
