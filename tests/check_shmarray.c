/*
 * check_shmarray.c: unit tests of the ext 12 payload codec and the block
 * packet (common/shmarray.c) that the daemon, the worker and libsbclient all
 * check shared arrays with: a packed array decodes to itself, and truncated,
 * lying, mistyped and overflowing payloads are refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "sbproto.h"
#include "shmarray.h"

static struct sb_shmarray
sample(void)
{
	struct sb_shmarray a;

	memset(&a, 0, sizeof a);
	strcpy(a.dtype, "<f8");
	a.ndim = 2;
	a.shape[0] = 3;
	a.shape[1] = 4;
	a.block = 7;
	a.offset = 4096;
	a.nbytes = 96;
	return (a);
}

/* Pack a; the ext's payload is left in *payload (malloc'd), its length in *len. */
static void
pack_payload(const struct sb_shmarray *a, char **payload, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked up;
	size_t off = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ck_assert_int_eq(sb_shmarray_pack(&pk, a), 0);
	msgpack_unpacked_init(&up);
	ck_assert_int_eq(msgpack_unpack_next(&up, sb.data, sb.size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(off, sb.size);
	ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_EXT);
	ck_assert_int_eq(up.data.via.ext.type, SB_EXT_SHMARRAY);
	*len = up.data.via.ext.size;
	ck_assert_ptr_nonnull(*payload = malloc(*len));
	memcpy(*payload, up.data.via.ext.ptr, *len);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);
}

/* Pack the msgpack value built by fill as a payload and decode it. */
static int
decode_built(void (*fill)(msgpack_packer *))
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct sb_shmarray out;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	fill(&pk);
	rc = sb_shmarray_decode(sb.data, sb.size, &out);
	msgpack_sbuffer_destroy(&sb);
	return (rc);
}

START_TEST(test_round_trip)
{
	struct sb_shmarray a = sample(), b;
	char *p;
	size_t len;

	pack_payload(&a, &p, &len);
	memset(&b, 0xff, sizeof b);
	ck_assert_int_eq(sb_shmarray_decode(p, len, &b), 0);
	ck_assert_str_eq(b.dtype, "<f8");
	ck_assert_uint_eq(b.ndim, 2);
	ck_assert_uint_eq(b.shape[0], 3);
	ck_assert_uint_eq(b.shape[1], 4);
	ck_assert_uint_eq(b.block, 7);
	ck_assert_uint_eq(b.offset, 4096);
	ck_assert_uint_eq(b.nbytes, 96);
	free(p);
}
END_TEST

START_TEST(test_scalar_and_most_dims)
{
	struct sb_shmarray a = sample(), b;
	char *p;
	size_t len, i;

	a.ndim = 0;
	pack_payload(&a, &p, &len);
	ck_assert_int_eq(sb_shmarray_decode(p, len, &b), 0);
	ck_assert_uint_eq(b.ndim, 0);
	free(p);
	a.ndim = SB_SHM_NDIM_MAX;
	for (i = 0; i < a.ndim; i++)
		a.shape[i] = 1;
	pack_payload(&a, &p, &len);
	ck_assert_int_eq(sb_shmarray_decode(p, len, &b), 0);
	ck_assert_uint_eq(b.ndim, SB_SHM_NDIM_MAX);
	free(p);
}
END_TEST

START_TEST(test_every_truncation_refused)
{
	struct sb_shmarray a = sample(), b;
	char *p;
	size_t len, n;

	pack_payload(&a, &p, &len);
	for (n = 0; n < len; n++)
		ck_assert_int_eq(sb_shmarray_decode(p, n, &b), -1);
	free(p);
}
END_TEST

START_TEST(test_trailing_bytes_refused)
{
	struct sb_shmarray a = sample(), b;
	char *p, *q;
	size_t len;

	pack_payload(&a, &p, &len);
	ck_assert_ptr_nonnull(q = malloc(len + 1));
	memcpy(q, p, len);
	q[len] = (char)0xc0;
	ck_assert_int_eq(sb_shmarray_decode(q, len + 1, &b), -1);
	free(q);
	free(p);
}
END_TEST

START_TEST(test_pack_refuses_bad_arrays)
{
	struct sb_shmarray a = sample();
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	a.dtype[0] = '\0';
	ck_assert_int_eq(sb_shmarray_pack(&pk, &a), -1);
	a = sample();
	a.ndim = SB_SHM_NDIM_MAX + 1;
	ck_assert_int_eq(sb_shmarray_pack(&pk, &a), -1);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

static void
put_head(msgpack_packer *pk, unsigned n)
{
	msgpack_pack_array(pk, n);
	msgpack_pack_str_with_body(pk, "<f8", 3);
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint64(pk, 2);
}

static void
fill_four(msgpack_packer *pk)
{
	put_head(pk, 4);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
}

static void
fill_six(msgpack_packer *pk)
{
	put_head(pk, 6);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 16);
	msgpack_pack_uint64(pk, 16);
}

static void
fill_negative_offset(msgpack_packer *pk)
{
	put_head(pk, 5);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_int64(pk, -8);
	msgpack_pack_uint64(pk, 16);
}

static void
fill_float_block(msgpack_packer *pk)
{
	put_head(pk, 5);
	msgpack_pack_double(pk, 1.0);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 16);
}

static void
fill_overflow(msgpack_packer *pk)
{
	put_head(pk, 5);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, UINT64_MAX);
	msgpack_pack_uint64(pk, 16);
}

static void
fill_negative_dim(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 5);
	msgpack_pack_str_with_body(pk, "<f8", 3);
	msgpack_pack_array(pk, 1);
	msgpack_pack_int64(pk, -2);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 16);
}

static void
fill_dtype_bin(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 5);
	msgpack_pack_bin_with_body(pk, "<f8", 3);
	msgpack_pack_array(pk, 0);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 8);
}

static void
fill_dtype_nul(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 5);
	msgpack_pack_str_with_body(pk, "<f\0", 3);
	msgpack_pack_array(pk, 0);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 8);
}

static void
fill_dtype_long(msgpack_packer *pk)
{
	char d[SB_SHM_DTYPE_MAX + 1];

	memset(d, 'f', sizeof d);
	msgpack_pack_array(pk, 5);
	msgpack_pack_str_with_body(pk, d, sizeof d);
	msgpack_pack_array(pk, 0);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 8);
}

static void
fill_too_many_dims(msgpack_packer *pk)
{
	unsigned i;

	msgpack_pack_array(pk, 5);
	msgpack_pack_str_with_body(pk, "<f8", 3);
	msgpack_pack_array(pk, SB_SHM_NDIM_MAX + 1);
	for (i = 0; i <= SB_SHM_NDIM_MAX; i++)
		msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 8);
}

static void
fill_shape_map(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 5);
	msgpack_pack_str_with_body(pk, "<f8", 3);
	msgpack_pack_map(pk, 0);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 8);
}

static void
fill_not_array(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 12);
}

START_TEST(test_malformed_refused)
{
	void (*const fills[])(msgpack_packer *) = {
		fill_four, fill_six, fill_negative_offset, fill_float_block,
		fill_overflow, fill_negative_dim, fill_dtype_bin,
		fill_dtype_nul, fill_dtype_long, fill_too_many_dims,
		fill_shape_map, fill_not_array,
	};
	size_t i;

	for (i = 0; i < sizeof fills / sizeof fills[0]; i++)
		ck_assert_msg(decode_built(fills[i]) == -1, "case %zu", i);
}
END_TEST

START_TEST(test_lying_and_garbage)
{
	/* an array claiming 2^32-1 elements, a shape claiming as many */
	const unsigned char lie1[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
	const unsigned char lie2[] = { 0x95, 0xa3, '<', 'f', '8', 0xdd, 0xff,
	    0xff, 0xff, 0xff, 0x01, 0x01, 0x01 };
	const unsigned char reserved[] = { 0x95, 0xc1, 0x90, 0x01, 0x00, 0x08 };
	struct sb_shmarray b;
	unsigned char buf[64];
	unsigned i, j;

	ck_assert_int_eq(sb_shmarray_decode(lie1, sizeof lie1, &b), -1);
	ck_assert_int_eq(sb_shmarray_decode(lie2, sizeof lie2, &b), -1);
	ck_assert_int_eq(sb_shmarray_decode(reserved, sizeof reserved, &b),
	    -1);
	ck_assert_int_eq(sb_shmarray_decode(NULL, 0, &b), -1);
	srandom(12);
	for (i = 0; i < 20000; i++) {
		size_t n = 1 + (size_t)random() % sizeof buf;

		for (j = 0; j < n; j++)
			buf[j] = (unsigned char)random();
		buf[0] = 0x95;	/* most start as a 5-array */
		(void)sb_shmarray_decode(buf, n, &b);
	}
}
END_TEST

START_TEST(test_packet_round_trip)
{
	const struct sb_shmpacket p = { UINT64_MAX - 1, 1ULL << 40, 3 };
	struct sb_shmpacket q;
	uint8_t buf[SB_SHM_PACKET_LEN];

	sb_shmpacket_put(buf, &p);
	ck_assert_uint_eq(buf[0], 0xff);
	ck_assert_uint_eq(buf[7], 0xfe);
	ck_assert_uint_eq(buf[23], 3);
	sb_shmpacket_get(buf, &q);
	ck_assert_uint_eq(q.block, p.block);
	ck_assert_uint_eq(q.size, p.size);
	ck_assert_uint_eq(q.conn, p.conn);
}
END_TEST

static Suite *
shmarray_suite(void)
{
	Suite *s = suite_create("shmarray");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_scalar_and_most_dims);
	tcase_add_test(tc, test_every_truncation_refused);
	tcase_add_test(tc, test_trailing_bytes_refused);
	tcase_add_test(tc, test_pack_refuses_bad_arrays);
	tcase_add_test(tc, test_malformed_refused);
	tcase_add_test(tc, test_lying_and_garbage);
	tcase_add_test(tc, test_packet_round_trip);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner *sr = srunner_create(shmarray_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
