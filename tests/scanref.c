/*
 * scanref.c: the reference scanner (see scanref.h). It decodes every header
 * into its length, body and element count, then applies the checks in the
 * order the scanner promises; it is kept simple rather than fast.
 */

#include "sbproto.h"
#include "scanref.h"

/*
 * Decode the header at p (avail bytes there). Sets *hdr to the header length,
 * *body to the bytes that follow it for str/bin/ext, *count to the elements
 * owed for arrays and maps (maps owe two per entry). Returns 0 when the header
 * is incomplete, 1 when decoded, -1 for the reserved byte.
 */
static int
decode_header(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *body,
    uint64_t *count)
{
	uint8_t b = p[0];
	unsigned lenbytes = 0, extra = 0;

	*body = 0;
	*count = 0;
	*hdr = 1;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return (1);
	if ((b & 0xf0) == 0x80) {
		*count = 2u * (b & 0x0f);
		return (1);
	}
	if ((b & 0xf0) == 0x90) {
		*count = b & 0x0f;
		return (1);
	}
	if ((b & 0xe0) == 0xa0) {
		*body = b & 0x1f;
		return (1);
	}
	switch (b) {
	case 0xc1:
		return (-1);
	case 0xcc: case 0xd0: *body = 1; return (1);
	case 0xcd: case 0xd1: *body = 2; return (1);
	case 0xca: case 0xce: case 0xd2: *body = 4; return (1);
	case 0xcb: case 0xcf: case 0xd3: *body = 8; return (1);
	case 0xd4: *body = 2; return (1);	/* fixext: type + data */
	case 0xd5: *body = 3; return (1);
	case 0xd6: *body = 5; return (1);
	case 0xd7: *body = 9; return (1);
	case 0xd8: *body = 17; return (1);
	case 0xc4: case 0xd9: lenbytes = 1; break;	/* bin8, str8 */
	case 0xc5: case 0xda: lenbytes = 2; break;
	case 0xc6: case 0xdb: lenbytes = 4; break;
	case 0xc7: lenbytes = 1; extra = 1; break;	/* ext8: len, type */
	case 0xc8: lenbytes = 2; extra = 1; break;
	case 0xc9: lenbytes = 4; extra = 1; break;
	case 0xdc: case 0xde: lenbytes = 2; break;	/* array16, map16 */
	case 0xdd: case 0xdf: lenbytes = 4; break;
	}
	if (avail < 1u + lenbytes)
		return (0);
	*hdr = 1 + lenbytes;
	if (b == 0xdc || b == 0xdd)
		*count = sb_be_get(p + 1, lenbytes);
	else if (b == 0xde || b == 0xdf)
		*count = 2 * sb_be_get(p + 1, lenbytes);
	else
		*body = sb_be_get(p + 1, lenbytes) + extra;
	return (1);
}

/* One element is complete: close every container it completes. */
static int
element_done(struct sb_scan *s)
{
	while (s->depth > 0) {
		if (--s->left[s->depth - 1] > 0)
			return (0);
		s->depth--;
	}
	return (1);
}

int
scanref_feed(struct sb_scan *s, const void *buf, size_t len, size_t *msg_len)
{
	const uint8_t *p = buf;
	size_t hdr;
	uint64_t body, count, owed;
	int r;

	while (s->off < len) {
		r = decode_header(p + s->off, len - s->off, &hdr, &body, &count);
		if (r < 0)
			return (SB_SCAN_EMALFORMED);
		if (r == 0)
			return (SB_SCAN_MORE);
		/*
		 * This object's own bytes, then at least one byte for every
		 * element not yet started (this object is one of them).
		 */
		owed = s->pending - (s->depth > 0);
		if ((uint64_t)s->off + hdr + body + count + owed > s->max_size)
			return (count > 0 ? SB_SCAN_ELYING : SB_SCAN_ETOOBIG);
		if (count > 0 && s->depth >= s->max_depth)
			return (SB_SCAN_ETOODEEP);
		if (count == 0 && (uint64_t)(len - s->off) < hdr + body)
			return (SB_SCAN_MORE);
		s->pending = owed + count;
		if (count > 0) {
			s->off += hdr;
			s->left[s->depth++] = (uint32_t)count;
			continue;
		}
		s->off += hdr + body;
		if (element_done(s)) {
			*msg_len = s->off;
			return (SB_SCAN_DONE);
		}
	}
	return (SB_SCAN_MORE);
}

/*
 * The offset in buf of the first byte of bin data inside the element at
 * off: a bin's body, or the bin of an ndarray ext ([dtype, shape, bin]) when
 * its head is there. 0 when the element is neither or its headers are not
 * all in buf[0..len).
 */
static size_t
scan_bin_at(const uint8_t *p, size_t len, size_t off, int in_ndarray)
{
	size_t hdr, i;
	uint64_t body, count, n;

	if (off >= len || decode_header(p + off, len - off, &hdr, &body,
	    &count) != 1)
		return (0);
	if (p[off] >= 0xc4 && p[off] <= 0xc6)
		return (off + hdr);
	if (in_ndarray || p[off] < 0xc7 || p[off] > 0xc9 ||
	    off + hdr >= len || p[off + hdr] != SB_EXT_NDARRAY)
		return (0);
	off += hdr + 1;			/* the ext's payload */
	if (off + 1 >= len || p[off] != 0x93)
		return (0);
	off++;
	/* dtype (a str), then shape (an array of ints). */
	if (decode_header(p + off, len - off, &hdr, &body, &count) != 1 ||
	    count != 0 || off + hdr + body >= len)
		return (0);
	off += hdr + body;
	if ((p[off] & 0xf0) != 0x90 && p[off] != 0xdc && p[off] != 0xdd)
		return (0);
	if (decode_header(p + off, len - off, &hdr, &body, &n) != 1)
		return (0);
	for (off += hdr, i = 0; i < n; i++) {
		if (off >= len || decode_header(p + off, len - off, &hdr, &body,
		    &count) != 1 || count != 0 || off + hdr + body > len)
			return (0);
		off += hdr + body;
	}
	return (scan_bin_at(p, len, off, 1));
}

size_t
scanref_bulk(const struct sb_scan *s, const void *buf, size_t len,
    size_t *end)
{
	const uint8_t *p = buf;
	size_t hdr;
	uint64_t body, count;

	*end = 0;
	if (s->off < len && decode_header(p + s->off, len - s->off, &hdr,
	    &body, &count) == 1 && count == 0)
		*end = s->off + hdr + body;
	return (scan_bin_at(p, len, s->off, 0));
}
