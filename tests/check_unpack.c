/*
 * check_unpack.c: unit tests of common/'s msgpack code against msgpack-c.
 * unpack.c: on every input, sb_unpack_next and sb_unpack_object accept what
 * msgpack_unpack accepts, with the same tree (strs, bins and exts pointing
 * at the same bytes) and length. Inputs: random values packed by msgpack-c
 * and in every header form, every truncation of them, random bytes the
 * scanner accepts, nesting around msgpack-c's fixed stack, and lying counts.
 * mphead.h: sb_head_put writes the bytes msgpack_pack_* writes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "mphead.h"
#include "msggen.h"
#include "scan.h"
#include "unpack.h"

/* Two trees the same: types, values, and where their bytes point. */
static void
unpack_same(const msgpack_object *a, const msgpack_object *b)
{
	uint32_t	 i;

	ck_assert_int_eq(a->type, b->type);
	switch (a->type) {
	case MSGPACK_OBJECT_NIL:
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		ck_assert_int_eq(a->via.boolean, b->via.boolean);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		ck_assert_uint_eq(a->via.u64, b->via.u64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		ck_assert_int_eq(memcmp(&a->via.f64, &b->via.f64,
		    sizeof a->via.f64), 0);
		break;
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN:
		/* msgpack-c's pointer of an empty one is left over */
		ck_assert_uint_eq(a->via.str.size, b->via.str.size);
		if (a->via.str.size > 0)
			ck_assert_ptr_eq(a->via.str.ptr, b->via.str.ptr);
		break;
	case MSGPACK_OBJECT_EXT:
		ck_assert_int_eq(a->via.ext.type, b->via.ext.type);
		ck_assert_ptr_eq(a->via.ext.ptr, b->via.ext.ptr);
		ck_assert_uint_eq(a->via.ext.size, b->via.ext.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		ck_assert_uint_eq(a->via.array.size, b->via.array.size);
		for (i = 0; i < a->via.array.size; i++)
			unpack_same(&a->via.array.ptr[i], &b->via.array.ptr[i]);
		break;
	case MSGPACK_OBJECT_MAP:
		ck_assert_uint_eq(a->via.map.size, b->via.map.size);
		for (i = 0; i < a->via.map.size; i++) {
			unpack_same(&a->via.map.ptr[i].key,
			    &b->via.map.ptr[i].key);
			unpack_same(&a->via.map.ptr[i].val,
			    &b->via.map.ptr[i].val);
		}
		break;
	default:
		ck_abort_msg("unknown type %d", a->type);
	}
}

/*
 * Both decoders agree with msgpack_unpack on len bytes at p: sb_unpack_next
 * takes the value at the start (its length and tree as msgpack-c's, more
 * bytes may follow), sb_unpack_object only exactly one value. Returns the
 * value's length, 0 when msgpack-c refused it.
 */
static size_t
unpack_agree(const char *p, size_t len)
{
	msgpack_zone		*z1, *z2, *z3;
	msgpack_object		 o1, o2, o3;
	msgpack_unpack_return	 rc;
	size_t			 off = 0, at = 0;
	int			 ok, next, whole;

	z1 = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	z2 = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	z3 = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	rc = msgpack_unpack(p, len, &off, z1, &o1);
	ok = rc == MSGPACK_UNPACK_SUCCESS || rc == MSGPACK_UNPACK_EXTRA_BYTES;
	next = sb_unpack_next(p, len, &at, 0, z2, &o2) == 0;
	ck_assert_int_eq(next, ok);
	if (ok) {
		ck_assert_uint_eq(at, off);
		unpack_same(&o1, &o2);
	}
	whole = sb_unpack_object(p, len, z3, &o3) == 0;
	ck_assert_int_eq(whole, rc == MSGPACK_UNPACK_SUCCESS);
	if (whole)
		unpack_same(&o1, &o3);
	msgpack_zone_free(z1);
	msgpack_zone_free(z2);
	msgpack_zone_free(z3);
	return (ok ? off : 0);
}

/* A random value as msgpack-c packs it, at most depth containers deep. */
static void
unpack_random(msgpack_packer *pk, uint64_t *x, unsigned depth)
{
	static const int64_t ints[] = {
		0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
		4294967296LL, -1, -32, -33, -128, -129, -32768, -32769,
		-2147483648LL, -2147483649LL, INT64_MIN, INT64_MAX,
	};
	static const unsigned lens[] = { 0, 1, 31, 32, 255, 256, 299 };
	static const unsigned extlens[] = { 0, 1, 2, 3, 4, 8, 16, 17, 256 };
	static const char text[300];
	uint64_t big = gen_next(x);
	unsigned i, n;

	switch (gen_below(x, depth > 0 ? 16 : 12)) {
	case 0:
		msgpack_pack_nil(pk);
		break;
	case 1:
		if (gen_below(x, 2))
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case 2:
		msgpack_pack_int64(pk, ints[gen_below(x, sizeof ints /
		    sizeof ints[0])]);
		break;
	case 3:
		msgpack_pack_uint64(pk, big >> gen_below(x, 64));
		break;
	case 4:
		msgpack_pack_int64(pk, -(int64_t)(big >> (1 + gen_below(x,
		    63))));
		break;
	case 5:
		if (gen_below(x, 2))
			msgpack_pack_float(pk, (float)gen_below(x, 1000) / 7);
		else
			msgpack_pack_double(pk, -(double)big / 3);
		break;
	case 6:
	case 7:
		n = gen_below(x, 2) ? lens[gen_below(x, sizeof lens /
		    sizeof lens[0])] : gen_below(x, 300);
		if (gen_below(x, 2))
			msgpack_pack_str_with_body(pk, text, n);
		else
			msgpack_pack_bin_with_body(pk, text, n);
		break;
	case 8:
		/* fixext 1 to 16, ext 8 and 16 */
		n = gen_below(x, 2) ? extlens[gen_below(x, sizeof extlens /
		    sizeof extlens[0])] : gen_below(x, 300);
		msgpack_pack_ext_with_body(pk, text, n,
		    (int8_t)gen_below(x, 256));
		break;
	case 9: {
		/* a signed format holding a non-negative value */
		char b[3] = { (char)0xd1, 0, (char)gen_below(x, 128) };

		msgpack_sbuffer_write(pk->data, b, sizeof b);
		break;
	}
	case 10:
		msgpack_pack_int8(pk, (int8_t)gen_below(x, 256));
		break;
	case 11:
		msgpack_pack_int16(pk, (int16_t)gen_below(x, 65536));
		break;
	case 12:
	case 13:
		n = gen_below(x, 5);
		if (gen_below(x, 8) == 0)
			n += 14;	/* array 16 from 16 on */
		msgpack_pack_array(pk, n);
		for (i = 0; i < n; i++)
			unpack_random(pk, x, depth - 1);
		break;
	default:
		n = gen_below(x, 4);
		if (gen_below(x, 8) == 0)
			n += 15;	/* map 16 from 16 on */
		msgpack_pack_map(pk, n);
		for (i = 0; i < 2 * n; i++)
			unpack_random(pk, x, depth - 1);
		break;
	}
}

/* msgpack-c's values, whole, cut short and with a byte too many. */
START_TEST(test_packed_values)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	uint64_t	 x = 88172645463325252ULL;
	size_t		 cut;
	unsigned	 round;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (round = 0; round < 3000; round++) {
		sb.size = 0;
		unpack_random(&pk, &x, round % 7);
		ck_assert_uint_eq(unpack_agree(sb.data, sb.size), sb.size);
		/* every cut of the first ones, some of the others */
		for (cut = 0; cut < sb.size;
		    cut += round < 300 ? 1 : 1 + sb.size / 16)
			ck_assert_uint_eq(unpack_agree(sb.data, cut), 0);
		msgpack_sbuffer_write(&sb, "\xc0", 1);
		ck_assert_uint_eq(unpack_agree(sb.data, sb.size),
		    sb.size - 1);
	}
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/*
 * Values in every header form (the wide forms of small lengths too), every
 * cut of them, and damaged values and random bytes the scanner accepts:
 * every decoder agrees on all of them.
 */
START_TEST(test_every_form)
{
	struct gen_tally t;

	gen_drive(0x9e3779b97f4a7c15ULL, unpack_agree, &t);
	ck_assert_uint_gt(t.damaged, 100);
	ck_assert_uint_gt(t.agreed, 1000);
}
END_TEST

/*
 * Nesting around msgpack-c's fixed stack of 32, an empty innermost one too;
 * sb_unpack_next told of the containers around it counts them.
 */
START_TEST(test_depth_bound)
{
	msgpack_zone	*z;
	msgpack_object	 o;
	char		 buf[40];
	size_t		 off;
	unsigned	 d, ok;

	z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	for (d = 30; d <= 34; d++) {
		memset(buf, 0x91, d);
		buf[d - 1] = (char)0x80;	/* the innermost is empty */
		ck_assert_uint_eq(unpack_agree(buf, d), d <= 32 ? d : 0);
		buf[d - 1] = (char)0x91;
		buf[d] = (char)0xc0;
		ok = unpack_agree(buf, d + 1) != 0;
		ck_assert_uint_eq(ok, d <= 32);
		off = 1;
		ck_assert_int_eq(sb_unpack_next(buf, d + 1, &off, 1, z, &o) ==
		    0, ok);
		if (ok)
			ck_assert_uint_eq(off, d + 1);
	}
	msgpack_zone_free(z);
}
END_TEST

/* The unused byte, wide forms of small values, and lying counts. */
START_TEST(test_odd_and_lying)
{
	static const struct {
		const char	*p;
		size_t		 len;
	} odd[] = {
		{ "\xc1", 1 },
		{ "\x92\xc0", 2 },
		{ "\x81\xc0", 2 },
		{ "\xdb\x00\x00\x00\x01x", 6 },
		{ "\xc6\x00\x00\x00\x00", 5 },
		{ "\xc9\x00\x00\x00\x01\x05x", 7 },
		{ "\xdd\x00\x00\x00\x01\xc0", 6 },
		{ "\xdf\x00\x00\x00\x01\xc0\xc3", 7 },
		{ "\xdd\x00\x00\x00\x02\xc0", 6 },
		{ "\xda\x00\x05xy", 5 },
	};
	msgpack_zone	*z;
	msgpack_object	 o;
	unsigned	 i;

	for (i = 0; i < sizeof odd / sizeof odd[0]; i++)
		unpack_agree(odd[i].p, odd[i].len);
	/* (msgpack-c would allocate for 2^32 items first: the scan's job) */
	z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	ck_assert_int_ne(sb_unpack_object("\xdd\xff\xff\xff\xff\xc0", 6, z,
	    &o), 0);
	ck_assert_int_ne(sb_unpack_object("\xdf\x80\x00\x00\x00\xc0\xc0", 7,
	    z, &o), 0);
	msgpack_zone_free(z);
}
END_TEST

/* Every header kind around each form's bounds, byte for byte. */
START_TEST(test_head_as_msgpack)
{
	static const uint64_t vals[] = {
		0, 1, 15, 16, 31, 32, 127, 128, 255, 256, 65535, 65536,
		4294967295ULL, 4294967296ULL, UINT64_MAX,
	};
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		 buf[SB_HEAD_MAX];
	size_t		 n;
	unsigned	 i, k;

	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		for (k = SB_HEAD_UINT; k <= SB_HEAD_BIN; k++) {
			if (k != SB_HEAD_UINT && vals[i] > UINT32_MAX)
				continue;
			msgpack_sbuffer_init(&sb);
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			switch (k) {
			case SB_HEAD_UINT:
				msgpack_pack_uint64(&pk, vals[i]);
				break;
			case SB_HEAD_ARRAY:
				msgpack_pack_array(&pk, (size_t)vals[i]);
				break;
			case SB_HEAD_MAP:
				msgpack_pack_map(&pk, (size_t)vals[i]);
				break;
			case SB_HEAD_STR:
				msgpack_pack_str(&pk, (size_t)vals[i]);
				break;
			default:
				msgpack_pack_bin(&pk, (size_t)vals[i]);
			}
			n = sb_head_put(buf, (enum sb_head)k, vals[i]);
			ck_assert_uint_eq(n, sb.size);
			ck_assert_mem_eq(buf, sb.data, n);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}
END_TEST

static Suite *
unpack_suite(void)
{
	Suite	*s = suite_create("unpack");
	TCase	*tc = tcase_create("unpack");

	tcase_add_test(tc, test_packed_values);
	tcase_add_test(tc, test_every_form);
	tcase_add_test(tc, test_depth_bound);
	tcase_add_test(tc, test_odd_and_lying);
	tcase_add_test(tc, test_head_as_msgpack);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(unpack_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
