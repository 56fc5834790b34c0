/*
 * check_scan.c: unit tests of the validating msgpack scanner: every message
 * is fed whole and byte by byte; truncated, oversized, deeply nested and
 * lying input must be refused before any decoder sees it. The scanner is also
 * compared with the plain reference version (scanref.c) on random, mutated
 * and truncated messages, answer by answer and state by state.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "msggen.h"
#include "scan.h"
#include "scanref.h"

/* Scan buf whole; return the result and set *used on DONE. */
static int
scan_whole(const void *buf, size_t len, size_t max_size, unsigned depth,
    size_t *used)
{
	struct sb_scan s;

	sb_scan_init(&s, max_size, depth);
	return (sb_scan_feed(&s, buf, len, used));
}

/*
 * Scan buf as if it arrived one byte at a time: every prefix must say MORE
 * until the verdict, which must equal the whole-buffer verdict.
 */
static int
scan_bytewise(const void *buf, size_t len, size_t max_size, unsigned depth,
    size_t *used)
{
	struct sb_scan s;
	size_t n;
	int r = SB_SCAN_MORE;

	sb_scan_init(&s, max_size, depth);
	for (n = 1; n <= len; n++) {
		r = sb_scan_feed(&s, buf, n, used);
		if (r != SB_SCAN_MORE)
			break;
	}
	return (r);
}

/* Both ways agree; returns the verdict. */
static int
scan_both(const void *buf, size_t len, size_t max_size, unsigned depth,
    size_t *used)
{
	size_t u1 = 0, u2 = 0;
	int r1, r2;

	r1 = scan_whole(buf, len, max_size, depth, &u1);
	r2 = scan_bytewise(buf, len, max_size, depth, &u2);
	ck_assert_int_eq(r1, r2);
	if (r1 == SB_SCAN_DONE)
		ck_assert_uint_eq(u1, u2);
	if (used != NULL)
		*used = u1;
	return (r1);
}

/* A representative request packed by msgpack-c, every type inside. */
static void
pack_sample(msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	static const char blob[3000] = { 1, 0, 2 };

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, 4000000000u);
	msgpack_pack_str_with_body(&pk, "call", 4);
	msgpack_pack_array(&pk, 12);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_float(&pk, 2.5f);
	msgpack_pack_str_with_body(&pk, "h\xc3\xa9llo", 6);
	msgpack_pack_bin_with_body(&pk, blob, sizeof(blob));
	msgpack_pack_map(&pk, 2);
	msgpack_pack_int(&pk, -3);
	msgpack_pack_array(&pk, 0);
	msgpack_pack_str_with_body(&pk, "k", 1);
	msgpack_pack_map(&pk, 0);
	msgpack_pack_ext_with_body(&pk, "abcd", 4, 6);
	msgpack_pack_ext_with_body(&pk, "x", 1, -1);
	msgpack_pack_ext_with_body(&pk, blob, 300, 8);
}

START_TEST(test_valid_whole_and_bytewise)
{
	msgpack_sbuffer sb;
	size_t used;

	pack_sample(&sb);
	ck_assert_int_eq(scan_both(sb.data, sb.size, 1 << 20, 64, &used),
	    SB_SCAN_DONE);
	ck_assert_uint_eq(used, sb.size);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_two_messages_back_to_back)
{
	msgpack_sbuffer sb;
	struct sb_scan s;
	char *two;
	size_t used = 0;

	pack_sample(&sb);
	two = malloc(2 * sb.size);
	ck_assert_ptr_nonnull(two);
	memcpy(two, sb.data, sb.size);
	memcpy(two + sb.size, sb.data, sb.size);
	sb_scan_init(&s, 1 << 20, 64);
	ck_assert_int_eq(sb_scan_feed(&s, two, 2 * sb.size, &used),
	    SB_SCAN_DONE);
	ck_assert_uint_eq(used, sb.size);
	sb_scan_reset(&s);
	ck_assert_int_eq(sb_scan_feed(&s, two + used, sb.size, &used),
	    SB_SCAN_DONE);
	ck_assert_uint_eq(used, sb.size);
	free(two);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_every_truncation_is_incomplete)
{
	msgpack_sbuffer sb;
	struct sb_scan s;
	size_t n, used;

	pack_sample(&sb);
	for (n = 0; n < sb.size; n++) {
		sb_scan_init(&s, 1 << 20, 64);
		ck_assert_int_eq(sb_scan_feed(&s, sb.data, n, &used),
		    SB_SCAN_MORE);
	}
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_scalars)
{
	static const unsigned char fixint[] = { 0x05 };
	static const unsigned char negint[] = { 0xe0 };
	static const unsigned char u64[] = { 0xcf, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const unsigned char fixext16[] = { 0xd8, 0x01,
	    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	static const unsigned char ext32[] = { 0xc9, 0, 0, 0, 2, 0x05, 'a', 'b' };
	size_t used;

	ck_assert_int_eq(scan_both(fixint, 1, 16, 4, &used), SB_SCAN_DONE);
	ck_assert_int_eq(scan_both(negint, 1, 16, 4, &used), SB_SCAN_DONE);
	ck_assert_int_eq(scan_both(u64, sizeof(u64), 16, 4, &used),
	    SB_SCAN_DONE);
	ck_assert_uint_eq(used, 9);
	ck_assert_int_eq(scan_both(fixext16, sizeof(fixext16), 64, 4, &used),
	    SB_SCAN_DONE);
	ck_assert_uint_eq(used, 18);
	ck_assert_int_eq(scan_both(ext32, sizeof(ext32), 64, 4, &used),
	    SB_SCAN_DONE);
	ck_assert_uint_eq(used, sizeof(ext32));
}
END_TEST

START_TEST(test_reserved_byte)
{
	static const unsigned char bad[] = { 0x93, 0x01, 0xc1, 0x02 };

	ck_assert_int_eq(scan_both(bad, sizeof(bad), 1024, 8, NULL),
	    SB_SCAN_EMALFORMED);
}
END_TEST

START_TEST(test_lying_array32_costs_nothing)
{
	/* Five bytes claiming 2^31 elements. */
	static const unsigned char lie[] = { 0xdd, 0x80, 0x00, 0x00, 0x00 };

	ck_assert_int_eq(scan_both(lie, sizeof(lie), 64u << 20, 64, NULL),
	    SB_SCAN_ELYING);
}
END_TEST

START_TEST(test_lying_map32_and_nested_lies)
{
	static const unsigned char map[] = { 0xdf, 0x7f, 0xff, 0xff, 0xff };
	/* Each level claims little, but together they owe more than fits. */
	static const unsigned char nested[] = { 0xdc, 0x01, 0x00,
	    0xdc, 0x01, 0x00, 0xdc, 0x01, 0x00 };

	ck_assert_int_eq(scan_both(map, sizeof(map), 64u << 20, 64, NULL),
	    SB_SCAN_ELYING);
	ck_assert_int_eq(scan_both(nested, sizeof(nested), 700, 64, NULL),
	    SB_SCAN_ELYING);
	ck_assert_int_eq(scan_both(nested, sizeof(nested), 1 << 20, 64, NULL),
	    SB_SCAN_MORE);
}
END_TEST

START_TEST(test_lying_lengths)
{
	/* str32 and bin32 of 4 GiB-1, ext32 likewise: more than the limit. */
	static const unsigned char str[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
	static const unsigned char bin[] = { 0xc6, 0xff, 0xff, 0xff, 0xff };
	static const unsigned char ext[] = { 0xc9, 0xff, 0xff, 0xff, 0xff, 1 };

	ck_assert_int_eq(scan_both(str, sizeof(str), 64u << 20, 64, NULL),
	    SB_SCAN_ETOOBIG);
	ck_assert_int_eq(scan_both(bin, sizeof(bin), 64u << 20, 64, NULL),
	    SB_SCAN_ETOOBIG);
	ck_assert_int_eq(scan_both(ext, sizeof(ext), 64u << 20, 64, NULL),
	    SB_SCAN_ETOOBIG);
}
END_TEST

START_TEST(test_oversized)
{
	msgpack_sbuffer sb;

	pack_sample(&sb);
	ck_assert_int_eq(scan_both(sb.data, sb.size, sb.size - 1, 64, NULL),
	    SB_SCAN_ETOOBIG);
	ck_assert_int_eq(scan_both(sb.data, sb.size, sb.size, 64, NULL),
	    SB_SCAN_DONE);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_depth)
{
	unsigned char deep[1001];
	size_t used;

	memset(deep, 0x91, 1000);	/* [[[[...]]]] */
	deep[1000] = 0x01;
	ck_assert_int_eq(scan_both(deep, sizeof(deep), 1 << 20, 16, NULL),
	    SB_SCAN_ETOODEEP);
	/* Exactly at the limit is fine. */
	ck_assert_int_eq(scan_both(deep + 1000 - 16, 17, 1 << 20, 16, &used),
	    SB_SCAN_DONE);
	ck_assert_uint_eq(used, 17);
	ck_assert_int_eq(scan_both(deep + 1000 - 17, 18, 1 << 20, 16, NULL),
	    SB_SCAN_ETOODEEP);
	/* The ceiling holds whatever depth is asked for, and msgpack-c
	 * decodes everything up to it. */
	{
		msgpack_unpacked u;
		size_t off = 0;

		ck_assert_int_eq(scan_both(deep + 1000 - SB_SCAN_DEPTH_CEILING,
		    SB_SCAN_DEPTH_CEILING + 1, 1 << 20, 100000, &used),
		    SB_SCAN_DONE);
		msgpack_unpacked_init(&u);
		ck_assert_int_eq(msgpack_unpack_next(&u,
		    (const char *)deep + 1000 - SB_SCAN_DEPTH_CEILING, used,
		    &off), MSGPACK_UNPACK_SUCCESS);
		msgpack_unpacked_destroy(&u);
	}
	ck_assert_int_eq(scan_both(deep, sizeof(deep), 1 << 20, 100000, NULL),
	    SB_SCAN_ETOODEEP);
}
END_TEST

START_TEST(test_empty_containers_complete)
{
	static const unsigned char msg[] = { 0x94, 0x90, 0x80, 0x91, 0x90, 0xc0 };
	size_t used;

	ck_assert_int_eq(scan_both(msg, sizeof(msg), 64, 8, &used),
	    SB_SCAN_DONE);
	ck_assert_uint_eq(used, sizeof(msg));
}
END_TEST

/* Random bytes never crash the scanner nor make it read past len. */
START_TEST(test_random_garbage)
{
	unsigned char *buf;
	unsigned i, n;
	size_t used;
	int r;

	srand(12345);
	for (i = 0; i < 2000; i++) {
		n = 1 + (unsigned)rand() % 64;
		buf = malloc(n);	/* exact size: ASan sees any overrun */
		ck_assert_ptr_nonnull(buf);
		for (unsigned j = 0; j < n; j++)
			buf[j] = (unsigned char)rand();
		r = scan_both(buf, n, 4096, 16, &used);
		ck_assert(r >= SB_SCAN_ELYING && r <= SB_SCAN_DONE);
		if (r == SB_SCAN_DONE)
			ck_assert_uint_le(used, n);
		free(buf);
	}
}
END_TEST

/* A large bin arriving in chunks is not rescanned from the start. */
START_TEST(test_large_bin_chunks)
{
	size_t len = 8u << 20, off, used = 0;
	unsigned char *buf = calloc(1, len + 5);
	struct sb_scan s;
	int r = SB_SCAN_MORE;

	ck_assert_ptr_nonnull(buf);
	buf[0] = 0xc6;
	buf[1] = (unsigned char)(len >> 24);
	buf[2] = (unsigned char)(len >> 16);
	buf[3] = (unsigned char)(len >> 8);
	buf[4] = (unsigned char)len;
	sb_scan_init(&s, 16u << 20, 64);
	for (off = 4096; off < len + 5 && r == SB_SCAN_MORE; off += 4096)
		r = sb_scan_feed(&s, buf, off, &used);
	if (r == SB_SCAN_MORE)
		r = sb_scan_feed(&s, buf, len + 5, &used);
	ck_assert_int_eq(r, SB_SCAN_DONE);
	ck_assert_uint_eq(used, len + 5);
	free(buf);
}
END_TEST

/*
 * sb_scan_bulk finds where an ndarray's or a bin's data begins as soon as
 * their headers are there, and never reads past what it is given.
 */
START_TEST(test_bulk_offset)
{
	static const int8_t	 types[2] = { 8, 9 };
	msgpack_sbuffer		 sb, inner;
	msgpack_packer		 pk, ipk;
	size_t			 data_at[2], n, bulk, end, used;
	unsigned char		*buf;
	struct sb_scan		 s;
	int			 k, r;

	for (k = 0; k < 2; k++) {
		msgpack_sbuffer_init(&sb);
		msgpack_sbuffer_init(&inner);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_packer_init(&ipk, &inner, msgpack_sbuffer_write);
		msgpack_pack_array(&ipk, 3);
		msgpack_pack_str_with_body(&ipk, "<f8", 3);
		msgpack_pack_array(&ipk, 2);
		msgpack_pack_uint64(&ipk, 300);
		msgpack_pack_uint64(&ipk, 70000);
		msgpack_pack_bin(&ipk, 1000);
		msgpack_pack_array(&pk, 3);
		msgpack_pack_str_with_body(&pk, "call", 4);
		msgpack_pack_ext(&pk, inner.size + 1000, types[k]);
		data_at[k] = sb.size + inner.size;
		msgpack_pack_ext_body(&pk, inner.data, inner.size);
		msgpack_pack_bin(&pk, 0);	/* an element after it */
		for (n = 1; n < data_at[k] + 8; n++) {
			buf = malloc(n);	/* exact size: ASan sees overruns */
			ck_assert_ptr_nonnull(buf);
			memcpy(buf, sb.data, n < sb.size ? n : sb.size);
			sb_scan_init(&s, 1 << 20, 8);
			r = sb_scan_feed(&s, buf, n, &used);
			ck_assert_int_eq(r, SB_SCAN_MORE);
			bulk = sb_scan_bulk(&s, buf, n, &end);
			if (k == 0 && n >= data_at[k])
				ck_assert_uint_eq(bulk, data_at[k]);
			else
				ck_assert_uint_eq(bulk, 0);
			if (n >= 9)	/* the ext's header is there */
				ck_assert_uint_eq(end, data_at[k] + 1000);
			free(buf);
		}
		msgpack_sbuffer_destroy(&inner);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

/* On garbage, sb_scan_bulk stays within the bytes it is given. */
START_TEST(test_bulk_garbage)
{
	unsigned char *buf;
	unsigned i, j, n;
	size_t used, bulk, end;
	struct sb_scan s;

	srand(54321);
	for (i = 0; i < 20000; i++) {
		n = 1 + (unsigned)rand() % 48;
		ck_assert_ptr_nonnull(buf = malloc(n));
		for (j = 0; j < n; j++)
			buf[j] = (unsigned char)rand();
		if (i % 2)
			buf[0] = 0xc9;	/* ext32, often an ndarray */
		if (i % 4 == 1 && n > 5)
			buf[5] = 8;
		sb_scan_init(&s, 1u << 30, 16);
		if (sb_scan_feed(&s, buf, n, &used) == SB_SCAN_MORE) {
			bulk = sb_scan_bulk(&s, buf, n, &end);
			ck_assert_uint_le(bulk, n);
		}
		free(buf);
	}
}
END_TEST

START_TEST(test_strerror)
{
	int r;

	for (r = SB_SCAN_ELYING; r <= SB_SCAN_DONE; r++)
		ck_assert_str_ne(sb_scan_strerror(r), "unknown scan result");
	ck_assert_str_eq(sb_scan_strerror(42), "unknown scan result");
}
END_TEST

/*
 * The scanner against the reference (tests/scanref.c): random messages in
 * every header form, mutated, truncated and fed in random pieces must give
 * the same answers and leave the same state at every step.
 */

/* The two scanners hold the same state. */
static void
same_state(const struct sb_scan *a, const struct sb_scan *b)
{
	unsigned i;

	ck_assert_uint_eq(a->off, b->off);
	ck_assert_uint_eq(a->depth, b->depth);
	ck_assert_uint_eq(a->pending, b->pending);
	for (i = 0; i < a->depth; i++)
		ck_assert_uint_eq(a->left[i], b->left[i]);
}

/* Feed both scanners up to upto bytes; compare answers, state and bulk. */
static int
same_feed(struct sb_scan *a, struct sb_scan *b, const unsigned char *buf,
    size_t upto)
{
	size_t ua = 0, ub = 0, ea, eb, ba, bb;
	int ra, rb;

	ra = sb_scan_feed(a, buf, upto, &ua);
	rb = scanref_feed(b, buf, upto, &ub);
	ck_assert_int_eq(ra, rb);
	same_state(a, b);
	if (ra == SB_SCAN_DONE)
		ck_assert_uint_eq(ua, ub);
	if (ra == SB_SCAN_MORE) {
		ba = sb_scan_bulk(a, buf, upto, &ea);
		bb = scanref_bulk(b, buf, upto, &eb);
		ck_assert_uint_eq(ba, bb);
		ck_assert_uint_eq(ea, eb);
	}
	return (ra);
}

/*
 * Compare the scanners on len bytes at buf, fed whole (step 0) or in random
 * pieces of up to step bytes (some of them empty); after DONE, go on with
 * what follows, once as a new message and once without a reset.
 */
static void
same_scan(const unsigned char *buf, size_t len, size_t max_size,
    unsigned max_depth, unsigned step, uint64_t *rng)
{
	struct sb_scan a, b;
	size_t upto = 0;
	int r;

	sb_scan_init(&a, max_size, max_depth);
	sb_scan_init(&b, max_size, max_depth);
	do {
		upto = step == 0 ? len : upto + gen_below(rng, step + 1);
		if (upto > len)
			upto = len;
		r = same_feed(&a, &b, buf, upto);
	} while (r == SB_SCAN_MORE && upto < len);
	if (r != SB_SCAN_DONE || a.off == len)
		return;
	upto = a.off;
	r = same_feed(&a, &b, buf, len);	/* no reset */
	sb_scan_reset(&a);
	sb_scan_reset(&b);
	same_feed(&a, &b, buf + upto, len - upto);
}

/* A limit near len, tiny, default, or above what 32 bits can count. */
static size_t
pick_size(size_t len, uint64_t *rng)
{
	switch (gen_below(rng, 8)) {
	case 0: return (len > 0 ? len - 1 : 0);
	case 1: return (len);
	case 2: return (len + 1);
	case 3: return (gen_below(rng, (unsigned)(2 * len + 2)));
	case 4: return (1 << 20);
	case 5: return (SB_SCAN_DEFAULT_SIZE);
	case 6: return ((size_t)UINT32_MAX + 5);
	}
	return (gen_below(rng, 64));
}

static unsigned
pick_depth(uint64_t *rng)
{
	static const unsigned depths[] = { 0, 1, 2, 3, 32, 100 };

	if (gen_below(rng, 2))
		return (gen_below(rng, SB_SCAN_DEPTH_CEILING + 2));
	return (depths[gen_below(rng, sizeof(depths) / sizeof(depths[0]))]);
}

/*
 * Feed buf whole and, unless whole_only, byte by byte and in random pieces;
 * from an exact-size copy, so ASan sees overruns.
 */
static void
same_all_ways(const unsigned char *src, size_t len, int whole_only,
    uint64_t *rng)
{
	unsigned char *buf = malloc(len > 0 ? len : 1);
	size_t max_size = pick_size(len, rng);
	unsigned depth = pick_depth(rng);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, src, len);
	same_scan(buf, len, max_size, depth, 0, rng);
	if (!whole_only) {
		same_scan(buf, len, max_size, depth, 1, rng);
		same_scan(buf, len, max_size, depth, 1 + gen_below(rng, 16),
		    rng);
	}
	free(buf);
}

START_TEST(test_same_as_reference_valid)
{
	struct gen g = { NULL, 0, 0, 0x5eed0001u + (uint64_t)_i };
	unsigned i, m;
	size_t n, first;

	for (i = 0; i < 400; i++) {
		g.len = 0;
		gen_value(&g, gen_below(&g.rng, 4));
		first = g.len;
		same_all_ways(g.buf, g.len, 0, &g.rng);
		/* every truncation, alone in its buffer */
		for (n = 0; n < first; n++)
			same_all_ways(g.buf, n, 1, &g.rng);
		/* a second message behind the first */
		gen_value(&g, 0);
		same_all_ways(g.buf, g.len, 0, &g.rng);
		for (m = 0; m < 10; m++) {
			g.len = first;
			gen_mutate(&g);
			same_all_ways(g.buf, g.len, 0, &g.rng);
		}
	}
	free(g.buf);
}
END_TEST

/* Every first two bytes, followed by random ones and by lying lengths. */
START_TEST(test_same_as_reference_short)
{
	unsigned char buf[10];
	uint64_t rng = 0x5eed0002u;
	unsigned b0, b1;
	size_t len;

	for (b0 = 0; b0 < 256; b0++)
		for (b1 = 0; b1 < 256; b1++) {
			buf[0] = (unsigned char)b0;
			buf[1] = (unsigned char)b1;
			for (len = 2; len < sizeof(buf); len++)
				buf[len] = gen_below(&rng, 4) ? 0xff :
				    (unsigned char)gen_next(&rng);
			len = 1 + gen_below(&rng, sizeof(buf));
			same_all_ways(buf, len, 0, &rng);
		}
}
END_TEST

static Suite *
scan_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *tc = tcase_create("scan");

	tcase_add_test(tc, test_valid_whole_and_bytewise);
	tcase_add_test(tc, test_two_messages_back_to_back);
	tcase_add_test(tc, test_every_truncation_is_incomplete);
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_reserved_byte);
	tcase_add_test(tc, test_lying_array32_costs_nothing);
	tcase_add_test(tc, test_lying_map32_and_nested_lies);
	tcase_add_test(tc, test_lying_lengths);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_empty_containers_complete);
	tcase_add_test(tc, test_random_garbage);
	tcase_add_test(tc, test_large_bin_chunks);
	tcase_add_test(tc, test_bulk_offset);
	tcase_add_test(tc, test_bulk_garbage);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_same_as_reference_valid);
	tcase_add_test(tc, test_same_as_reference_short);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner *sr = srunner_create(scan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
