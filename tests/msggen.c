/*
 * msggen.c: random msgpack messages for the scanner and decoder tests, and
 * the driver that measures a decoder on them (see msggen.h).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "msggen.h"
#include "scan.h"

/* xorshift64*. */
uint64_t
gen_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return (*x * 0x2545f4914f6cdd1dull);
}

unsigned
gen_below(uint64_t *x, unsigned n)
{
	return ((unsigned)(gen_next(x) >> 33) % n);
}

static void
gen_byte(struct gen *g, unsigned b)
{
	if (g->len == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 256;
		ck_assert_ptr_nonnull(g->buf = realloc(g->buf, g->cap));
	}
	g->buf[g->len++] = (unsigned char)b;
}

/* A big-endian length of n bytes. */
static void
gen_be(struct gen *g, uint64_t v, unsigned n)
{
	while (n-- > 0)
		gen_byte(g, (unsigned)(v >> (8 * n)) & 0xff);
}

static void
gen_random(struct gen *g, size_t n)
{
	while (n-- > 0)
		gen_byte(g, (unsigned)gen_next(&g->rng) & 0xff);
}

/*
 * A header with a length field: code8 (str8, bin8 or ext8) stands for its
 * 8-, 16- and 32-bit forms at code8, +1, +2; str8 is 0xd9, the others 0xc4
 * and 0xc7. Any width may carry any small length.
 */
static void
gen_varhdr(struct gen *g, unsigned code8, uint64_t n)
{
	static const unsigned widths[3] = { 1, 2, 4 };
	unsigned w = gen_below(&g->rng, 3);

	if (n > 0xff && w == 0)
		w = 1;
	gen_byte(g, code8 + w);
	gen_be(g, n, widths[w]);
}

/* A container header: fix (fixarray or fixmap base) or its 16/32-bit form. */
static void
gen_conthdr(struct gen *g, unsigned fix, unsigned code16, unsigned n)
{
	switch (gen_below(&g->rng, n < 16 ? 3 : 2)) {
	case 0:
		gen_byte(g, code16);
		gen_be(g, n, 2);
		break;
	case 1:
		gen_byte(g, code16 + 1);
		gen_be(g, n, 4);
		break;
	default:
		gen_byte(g, fix | n);
	}
}

/* An ndarray ext: [dtype, shape, bin] inside an ext of type 8. */
static void
gen_ndarray(struct gen *g)
{
	struct gen in = { NULL, 0, 0, g->rng };
	unsigned i, dims = gen_below(&g->rng, 4);
	unsigned nbytes = gen_below(&g->rng, 40);

	gen_byte(&in, 0x93);
	gen_byte(&in, 0xa3);
	gen_byte(&in, '<');
	gen_byte(&in, 'f');
	gen_byte(&in, '8');
	gen_conthdr(&in, 0x90, 0xdc, dims);
	for (i = 0; i < dims; i++)
		gen_value(&in, 99);	/* scalars only */
	gen_varhdr(&in, 0xc4, nbytes);
	gen_random(&in, nbytes);
	g->rng = in.rng;
	gen_varhdr(g, 0xc7, in.len);
	gen_byte(g, 8);
	for (i = 0; i < in.len; i++)
		gen_byte(g, in.buf[i]);
	free(in.buf);
}

/* One random element; containers only above depth 5. */
void
gen_value(struct gen *g, unsigned depth)
{
	static const unsigned fixed[] = { 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	    0xd0, 0xd1, 0xd2, 0xd3 };
	static const unsigned fixlen[] = { 4, 8, 1, 2, 4, 8, 1, 2, 4, 8 };
	static const unsigned extlen[] = { 1, 2, 4, 8, 16 };
	static const unsigned lone[] = { 0xc0, 0xc2, 0xc3 };
	unsigned k, n, i;

	k = gen_below(&g->rng, depth < 5 ? 16 : 10);
	switch (k) {
	case 0:
		gen_byte(g, gen_below(&g->rng, 0x80));	/* fixint */
		break;
	case 1:
		gen_byte(g, 0xe0 + gen_below(&g->rng, 32));
		break;
	case 2:
		gen_byte(g, lone[gen_below(&g->rng, 3)]);	/* nil, bool */
		break;
	case 3:
		i = gen_below(&g->rng, 10);
		gen_byte(g, fixed[i]);
		gen_random(g, fixlen[i]);
		break;
	case 4:
		n = gen_below(&g->rng, 32);
		gen_byte(g, 0xa0 | n);
		gen_random(g, n);
		break;
	case 5:
		n = gen_below(&g->rng, 8) ? gen_below(&g->rng, 40) : 300;
		gen_varhdr(g, gen_below(&g->rng, 2) ? 0xd9 : 0xc4, n);
		gen_random(g, n);
		break;
	case 6:
		i = gen_below(&g->rng, 5);
		gen_byte(g, 0xd4 + i);
		gen_random(g, 1 + extlen[i]);
		break;
	case 7:
		n = gen_below(&g->rng, 20);
		gen_varhdr(g, 0xc7, n);
		gen_random(g, 1 + n);
		break;
	case 8:
		gen_ndarray(g);
		break;
	case 9:
		gen_byte(g, 0xc0);
		break;
	case 10: case 11: case 12:
		n = gen_below(&g->rng, k == 12 && depth == 0 ? 17 : 5);
		gen_conthdr(g, 0x90, 0xdc, n);
		for (i = 0; i < n; i++)
			gen_value(g, depth + 1);
		break;
	default:
		n = gen_below(&g->rng, 4);
		gen_conthdr(g, 0x80, 0xde, n);
		for (i = 0; i < 2 * n; i++)
			gen_value(g, depth + 1);
	}
}

/*
 * n random bytes appended, mostly first bytes of every format and small
 * numbers, so that a run of them is now and then a whole message.
 */
void
gen_bytes(struct gen *g, size_t n)
{
	static const unsigned char heads[] = {
		0x00, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x91, 0x9f, 0xa0, 0xa3,
		0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9,
		0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3,
		0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd,
		0xde, 0xdf, 0xe0, 0xff, 0x01, 0x02,
	};

	while (n-- > 0)
		gen_byte(g, gen_below(&g->rng, 3) == 0 ?
		    (unsigned)gen_next(&g->rng) & 0xff :
		    heads[gen_below(&g->rng, sizeof heads)]);
}

/* Damage a message: bytes changed, lengths inflated, bytes cut or added. */
void
gen_mutate(struct gen *g)
{
	static const unsigned char bad[] = { 0xc1, 0xdc, 0xdd, 0xde, 0xdf,
	    0xc6, 0xdb, 0xc9, 0xd9, 0x9f, 0x8f, 0xff, 0x00, 0x91, 0xc7 };
	unsigned at, times = 1 + gen_below(&g->rng, 3);

	while (times-- > 0 && g->len > 0) {
		at = gen_below(&g->rng, (unsigned)g->len);
		switch (gen_below(&g->rng, 5)) {
		case 0:
			g->buf[at] = (unsigned char)gen_next(&g->rng);
			break;
		case 1:
			g->buf[at] = bad[gen_below(&g->rng, sizeof(bad))];
			break;
		case 2:
			memset(g->buf + at, 0xff, g->len - at < 3 ?
			    g->len - at : 3);
			break;
		case 3:
			memmove(g->buf + at, g->buf + at + 1, g->len - at - 1);
			g->len--;
			break;
		default:
			g->len = at;
		}
	}
}


/*
 * A message the scanner accepts as a value of n bytes: m finds those n
 * bytes, both with the bytes after them and alone.
 */
static int
gen_agrees(struct gen *g, gen_measure m)
{
	struct sb_scan	 sc;
	size_t		 n;

	sb_scan_init(&sc, g->len, SB_SCAN_DEPTH_CEILING);
	if (sb_scan_feed(&sc, g->buf, g->len, &n) != SB_SCAN_DONE)
		return (-1);
	return (m((char *)g->buf, g->len) == n && m((char *)g->buf, n) == n);
}

/*
 * Measure values in every header form (their whole length, and nothing in
 * every cut of the first 300), a damaged copy of each, and random bytes;
 * the last two are counted in t wherever the scanner accepts them.
 */
void
gen_drive(uint64_t seed, gen_measure m, struct gen_tally *t)
{
	struct gen	 g = { NULL, 0, 0, seed };
	size_t		 cut;
	unsigned	 i;
	int		 a;

	memset(t, 0, sizeof *t);
	for (i = 0; i < 3000; i++) {
		g.len = 0;
		gen_value(&g, i % 6);
		ck_assert_uint_eq(m((char *)g.buf, g.len), g.len);
		for (cut = 0; cut < g.len && i < 300; cut++)
			ck_assert_uint_eq(m((char *)g.buf, cut), 0);
		gen_mutate(&g);
		if ((a = gen_agrees(&g, m)) >= 0) {
			t->damaged++;
			t->agreed += a;
		}
	}
	for (i = 0; i < 200000; i++) {
		g.len = 0;
		gen_bytes(&g, 1 + gen_below(&g.rng, 48));
		if ((a = gen_agrees(&g, m)) >= 0) {
			t->random++;
			t->agreed += a;
		}
	}
	free(g.buf);
}
