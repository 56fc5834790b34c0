/*
 * mphead.h: msgpack headers written in their smallest form, the bytes
 * msgpack_pack_* writes: unsigned integers and the headers of arrays, maps,
 * strs and bins. Inline, for the daemon's relayed headers and the client's
 * writer alike.
 */
#ifndef SB_MPHEAD_H
#define SB_MPHEAD_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum sb_head { SB_HEAD_UINT, SB_HEAD_ARRAY, SB_HEAD_MAP, SB_HEAD_STR,
    SB_HEAD_BIN };

/* The most a header takes: a tag and 8 bytes; sb_head_put needs as much. */
#define SB_HEAD_MAX	9

/*
 * Write the header of kind for v (a number, or a count or length) at p,
 * which has room for SB_HEAD_MAX bytes (all may be written); its length.
 */
static inline size_t
sb_head_put(char *p, enum sb_head kind, uint64_t v)
{
	/* how many fix forms, the first, then the 8- and 16-bit tags */
	static const struct {
		unsigned	 nfix;
		unsigned char	 fix, t8, t16;
	} k[] = {
		[SB_HEAD_UINT] = { 0x80, 0x00, 0xcc, 0xcd },
		[SB_HEAD_ARRAY] = { 0x10, 0x90, 0, 0xdc },
		[SB_HEAD_MAP] = { 0x10, 0x80, 0, 0xde },
		[SB_HEAD_STR] = { 0x20, 0xa0, 0xd9, 0xda },
		[SB_HEAD_BIN] = { 0, 0, 0xc4, 0xc5 },
	};
	unsigned n;
	uint64_t be;

	if (v < k[kind].nfix) {
		p[0] = (char)(k[kind].fix | v);
		return (1);
	}
	if (v < 0x100 && k[kind].t8 != 0) {
		p[0] = (char)k[kind].t8;
		n = 1;
	} else if (v < 0x10000) {
		p[0] = (char)k[kind].t16;
		n = 2;
	} else if (v < 0x100000000ULL || kind != SB_HEAD_UINT) {
		p[0] = (char)(k[kind].t16 + 1);	/* the 32-bit tag */
		n = 4;
	} else {
		p[0] = (char)(k[kind].t16 + 2);	/* uint 64 */
		n = 8;
	}
	/* n bytes big-endian; the 8 stored lie in the room */
	be = htobe64(v << (64 - 8 * n));
	memcpy(p + 1, &be, sizeof be);
	return (1 + n);
}

#endif
