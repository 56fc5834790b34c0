/*
 * pbuf.h: the msgpack writer (pbuf.c): a growing buffer msgpack is written
 * into, in the same encodings msgpack-c's packer chooses (the smallest form
 * of each), so the bytes are the same. The encoders of a request's every
 * element are inline here: each is a room check and a few stores.
 */
#ifndef SBCLIENT_PBUF_H
#define SBCLIENT_PBUF_H

#include <endian.h>
#include <msgpack.h>
#include <stdint.h>
#include <string.h>

#include "mphead.h"
#include "sbclient.h"

struct pbuf {
	char		*data;
	size_t		 len, cap;
	/* Set: the client whose output queue this is (wqueue.c). */
	sb_client	*queue;
};

/* The largest header: a tag and 8 bytes, or an ext's tag, 4 and type. */
#define PBUF_HEAD_MAX	SB_HEAD_MAX

int		 pbuf_grow(struct pbuf *, size_t);
int		 pbuf_int(struct pbuf *, int64_t);
int		 pbuf_str_long(struct pbuf *, const char *, size_t);
int		 pbuf_bin_head(struct pbuf *, size_t);
int		 pbuf_ext_head(struct pbuf *, size_t, int8_t);
void		 pbuf_packer(struct pbuf *, msgpack_packer *);

/* Room for n more bytes: 0, or SB_ENOMEM with the buffer intact. */
static inline int
pbuf_room(struct pbuf *pb, size_t n)
{
	if (pb->cap - pb->len >= n)
		return (0);
	return (pbuf_grow(pb, n));
}

/*
 * Write tag and the low n bytes of v big-endian (n: 0, 1, 2, 4 or 8). The
 * 8 bytes stored after the tag lie within the room made; only 1 + n count.
 */
static inline int
pbuf_tag(struct pbuf *pb, uint8_t tag, uint64_t v, unsigned n)
{
	unsigned char *b;
	uint64_t be;

	if (pbuf_room(pb, PBUF_HEAD_MAX) != 0)
		return (SB_ENOMEM);
	b = (unsigned char *)pb->data + pb->len;
	b[0] = tag;
	if (n > 0) {
		be = htobe64(v << (64 - 8 * n));
		memcpy(b + 1, &be, sizeof(be));
	}
	pb->len += 1 + n;
	return (0);
}

static inline int
pbuf_bytes(struct pbuf *pb, const void *p, size_t len)
{
	if (len == 0)
		return (0);
	if (pbuf_room(pb, len) != 0)
		return (SB_ENOMEM);
	memcpy(pb->data + pb->len, p, len);
	pb->len += len;
	return (0);
}

static inline int
pbuf_nil(struct pbuf *pb)
{
	return (pbuf_tag(pb, 0xc0, 0, 0));
}

static inline int
pbuf_bool(struct pbuf *pb, int b)
{
	return (pbuf_tag(pb, b ? 0xc3 : 0xc2, 0, 0));
}

/* A header of kind for v in its smallest form (mphead.h). */
static inline int
pbuf_head(struct pbuf *pb, enum sb_head kind, uint64_t v)
{
	if (pbuf_room(pb, SB_HEAD_MAX) != 0)
		return (SB_ENOMEM);
	pb->len += sb_head_put(pb->data + pb->len, kind, v);
	return (0);
}

static inline int
pbuf_uint(struct pbuf *pb, uint64_t u)
{
	return (pbuf_head(pb, SB_HEAD_UINT, u));
}

/* Always float 64, as msgpack_pack_double. */
static inline int
pbuf_double(struct pbuf *pb, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	return (pbuf_tag(pb, 0xcb, bits, 8));
}

static inline int
pbuf_array(struct pbuf *pb, size_t n)
{
	return (pbuf_head(pb, SB_HEAD_ARRAY, n));
}

static inline int
pbuf_map(struct pbuf *pb, size_t n)
{
	return (pbuf_head(pb, SB_HEAD_MAP, n));
}

/* A str header and its bytes: a fixstr's with room made once. */
static inline int
pbuf_str(struct pbuf *pb, const char *p, size_t len)
{
	if (len >= 32)
		return (pbuf_str_long(pb, p, len));
	if (pbuf_room(pb, 1 + len) != 0)
		return (SB_ENOMEM);
	pb->data[pb->len] = (char)(0xa0 | len);
	memcpy(pb->data + pb->len + 1, p, len);
	pb->len += 1 + len;
	return (0);
}

/* A message's start: [4 elements, kind, msgid, ... */
static inline int
pbuf_msg_head(struct pbuf *pb, unsigned kind, uint32_t msgid)
{
	if (pbuf_tag(pb, 0x94, 0, 0) != 0 || pbuf_uint(pb, kind) != 0 ||
	    pbuf_uint(pb, msgid) != 0)
		return (SB_ENOMEM);
	return (0);
}

#endif
