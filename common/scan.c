/*
 * scan.c: the validating msgpack scanner (see scan.h). It never allocates;
 * its whole state is a fixed array of per-level element counts. A table
 * classifies every first byte, so the common one-byte headers cost a load
 * and a compare.
 */

#include "sbproto.h"
#include "scan.h"

/*
 * The class of a first byte in scan_class[]:
 * 1..32	an element that is whole in that many bytes, header included
 *		(fixint, nil, bool, fixstr, numbers, fixext, empty fixarray
 *		and fixmap);
 * SCAN_OPEN+n	a one-byte container header owing n elements (1..30);
 * SCAN_VAR|..	a header followed by SCAN_LEN bytes of big-endian length,
 *		which counts elements (SCAN_COUNT, two per entry with SCAN_MAP)
 *		or body bytes (plus an ext's type byte with SCAN_EXT);
 * SCAN_RESERVED the reserved byte 0xc1.
 */
#define SCAN_OPEN	0x40
#define SCAN_VAR	0x80
#define SCAN_LEN	0x07
#define SCAN_EXT	0x08
#define SCAN_COUNT	0x10
#define SCAN_MAP	0x20
#define SCAN_RESERVED	0xff

#define O(n)	(SCAN_OPEN + (n))
#define V(n)	(SCAN_VAR | (n))
#define ONE16	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1

static const uint8_t scan_class[] = {
	ONE16, ONE16, ONE16, ONE16, ONE16, ONE16, ONE16, ONE16,	/* fixint */
	1, O(2), O(4), O(6), O(8), O(10), O(12), O(14),		/* fixmap */
	O(16), O(18), O(20), O(22), O(24), O(26), O(28), O(30),
	1, O(1), O(2), O(3), O(4), O(5), O(6), O(7),		/* fixarray */
	O(8), O(9), O(10), O(11), O(12), O(13), O(14), O(15),
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,	/* fixstr */
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
	1, SCAN_RESERVED, 1, 1,				/* nil, 0xc1, bool */
	V(1), V(2), V(4),				/* bin */
	V(1) | SCAN_EXT, V(2) | SCAN_EXT, V(4) | SCAN_EXT,	/* ext */
	5, 9, 2, 3, 5, 9,				/* float, uint */
	2, 3, 5, 9,					/* int */
	3, 4, 6, 10, 18,				/* fixext: type + data */
	V(1), V(2), V(4),				/* str */
	V(2) | SCAN_COUNT, V(4) | SCAN_COUNT,		/* array */
	V(2) | SCAN_COUNT | SCAN_MAP, V(4) | SCAN_COUNT | SCAN_MAP,	/* map */
	ONE16, ONE16					/* negative fixint */
};

_Static_assert(sizeof(scan_class) == 256, "one class per byte");

#undef O
#undef V
#undef ONE16

void
sb_scan_init(struct sb_scan *s, size_t max_size, unsigned max_depth)
{
	/* left[] is written as each level opens: only the rest is cleared. */
	s->off = 0;
	s->depth = 0;
	s->pending = 0;
	/* Per-level counts are 32-bit: no message may owe more elements. */
	s->max_size = max_size > UINT32_MAX ? UINT32_MAX : max_size;
	s->max_depth = max_depth > SB_SCAN_DEPTH_CEILING ?
	    SB_SCAN_DEPTH_CEILING : max_depth;
}

void
sb_scan_reset(struct sb_scan *s)
{
	s->off = 0;
	s->depth = 0;
	s->pending = 0;
}

/*
 * Decode the header at p (avail bytes there). Sets *hdr to the header length,
 * *body to the bytes that follow it for scalars, str, bin and ext, *count to
 * the elements owed for arrays and maps (maps owe two per entry). Returns 0
 * when the header is incomplete, 1 when decoded, -1 for the reserved byte.
 */
static int
decode_header(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *body,
    uint64_t *count)
{
	uint8_t c = scan_class[p[0]];
	unsigned n;
	uint64_t v;

	if (c < SCAN_VAR) {
		*hdr = 1;
		*body = c < SCAN_OPEN ? c - 1u : 0;
		*count = c < SCAN_OPEN ? 0 : c - SCAN_OPEN;
		return (1);
	}
	if (c == SCAN_RESERVED)
		return (-1);
	n = c & SCAN_LEN;
	if (avail < 1u + n)
		return (0);
	v = sb_be_get(p + 1, n);
	*hdr = 1 + n;
	*body = c & SCAN_COUNT ? 0 : v + (c & SCAN_EXT ? 1 : 0);
	*count = !(c & SCAN_COUNT) ? 0 : c & SCAN_MAP ? 2 * v : v;
	return (1);
}

/* What an element takes: its bytes, or its header's for a container. */
struct scan_elem {
	uint64_t	size;
	uint64_t	count;		/* elements a container owes */
};

/*
 * decode_header for a header with a length field (not the reserved byte),
 * kept out of sb_scan_feed's loop; size is 0 while the header is incomplete.
 */
static __attribute__((noinline)) struct scan_elem
scan_wide(const uint8_t *p, size_t avail)
{
	struct scan_elem e = { 0, 0 };
	size_t hdr;
	uint64_t body;

	if (decode_header(p, avail, &hdr, &body, &e.count) > 0)
		e.size = hdr + body;
	return (e);
}

/*
 * One element is complete: close every container it completes. *lvl is
 * just above the innermost open level's count in left[]. Returns 1 when
 * nothing is left open: the message is whole.
 */
static inline int
element_done(const uint32_t *left, uint32_t **lvl)
{
	while (*lvl > left) {
		if (--(*lvl)[-1] > 0)
			return (0);
		(*lvl)--;
	}
	return (1);
}

/*
 * The state lives in locals while the loop runs. room is what the element
 * at off may take, its bytes plus one for each element it owes, and still
 * leave a byte for every element owed after it within max_size:
 * max_size - off - (pending not counting this element). Every accepted
 * element keeps off + pending <= max_size, so room never wraps. One-byte
 * headers are read from their class alone; only headers with a length field
 * go through scan_wide.
 */
int
sb_scan_feed(struct sb_scan *s, const void *buf, size_t len, size_t *msg_len)
{
	const uint8_t *p = buf;
	size_t off = s->off;
	uint32_t *lvl = s->left + s->depth;
	const uint32_t *deepest = s->left + s->max_depth;
	struct scan_elem e;
	uint64_t count, room, size;
	uint8_t c;
	int r = SB_SCAN_MORE;

	room = s->max_size - off - (s->pending - (s->depth > 0));
	while (off < len) {
		c = scan_class[p[off]];
		if (c < SCAN_OPEN) {
			size = c;
			count = 0;
		} else if (c < SCAN_VAR) {
			size = 1;
			count = c - SCAN_OPEN;
		} else if (c == SCAN_RESERVED) {
			r = SB_SCAN_EMALFORMED;
			break;
		} else {
			e = scan_wide(p + off, len - off);
			if (e.size == 0)
				break;
			size = e.size;
			count = e.count;
		}
		if (size + count > room) {
			r = count > 0 ? SB_SCAN_ELYING : SB_SCAN_ETOOBIG;
			break;
		}
		if (count > 0) {
			if (lvl >= deepest) {
				r = SB_SCAN_ETOODEEP;
				break;
			}
			*lvl++ = (uint32_t)count;
			off += size;
			room -= size + count - 1;
			continue;
		}
		if (off + size > len)
			break;
		off += size;
		if (element_done(s->left, &lvl)) {
			s->off = *msg_len = off;
			s->depth = 0;
			s->pending = 0;
			return (SB_SCAN_DONE);
		}
		room -= size - 1;
	}
	s->off = off;
	s->depth = (unsigned)(lvl - s->left);
	s->pending = s->max_size - off - room + (s->depth > 0);
	return (r);
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
sb_scan_bulk(const struct sb_scan *s, const void *buf, size_t len,
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

const char *
sb_scan_strerror(int r)
{
	switch (r) {
	case SB_SCAN_DONE: return ("complete");
	case SB_SCAN_MORE: return ("incomplete");
	case SB_SCAN_EMALFORMED: return ("malformed msgpack (reserved byte)");
	case SB_SCAN_ETOOBIG: return ("message exceeds the maximum size");
	case SB_SCAN_ETOODEEP: return ("message nested beyond the maximum depth");
	case SB_SCAN_ELYING: return ("container count exceeds the bytes that can follow");
	}
	return ("unknown scan result");
}
