/*
 * check_value.c: libsbclient unit suite. Values (constructors, readers,
 * ownership on failure), the msgpack codec (round trips of every type and
 * edge value, exact ext layouts, hostile input), and the client against a
 * fake daemon served by a forked child that speaks msgpack-rpc by hand
 * (pipelining, out-of-order answers, daemon requests and notifications,
 * errors, a peer that closes mid-message or sends garbage, a peer that
 * answers a synchronous call before it has read its large argument).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <msgpack.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbclient.h"
#include "sbproto.h"
#include "scan.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A well-formed ref payload (common/sbproto.h) for type name. */
static size_t
make_ref(uint8_t *buf, const char *type, uint64_t id)
{
	struct sb_refdata rd;

	memset(&rd, 0, sizeof(rd));
	rd.pool_id = 1;
	rd.slot = 2;
	rd.generation = 3;
	rd.session_id = 4;
	rd.ref_id = id;
	rd.type_name = type;
	rd.type_len = strlen(type);
	return (sb_ref_encode(&rd, buf));
}

static sb_value *
make_ref_value(const char *type, uint64_t id)
{
	uint8_t buf[SB_REF_FIXED_LEN + SB_REF_TYPE_MAX];

	return (sb_ref_from_bytes(buf, make_ref(buf, type, id)));
}

static sb_value *
roundtrip(const sb_value *v)
{
	sb_value *out = NULL;
	void *buf;
	size_t len;

	ck_assert_int_eq(sb_value_pack(v, &buf, &len), 0);
	ck_assert_int_eq(sb_value_unpack(buf, len, &out), 0);
	free(buf);
	return (out);
}

/* Round-trip v, check it comes back equal, free both. */
static void
check_roundtrip(sb_value *v)
{
	sb_value *out;

	ck_assert_ptr_nonnull(v);
	out = roundtrip(v);
	ck_assert_int_eq(sb_value_type(out), sb_value_type(v));
	ck_assert(sb_value_equal(v, out));
	sb_value_free(out);
	sb_value_free(v);
}

static int
unpack_bytes(const char *bytes, size_t len, sb_value **out)
{
	*out = NULL;
	return (sb_value_unpack(bytes, len, out));
}

static void
check_rejected(const char *bytes, size_t len)
{
	sb_value *v = (sb_value *)1;

	ck_assert_int_eq(unpack_bytes(bytes, len, &v), SB_EPROTO);
	ck_assert_ptr_null(v);
}

#define REJECT(lit) check_rejected((lit), sizeof(lit) - 1)

/* ------------------------------------------------------------------ */
/* Constructors and readers                                            */
/* ------------------------------------------------------------------ */

START_TEST(test_scalars)
{
	sb_value *v;
	int64_t i;
	uint64_t u;
	double d;
	int b;

	v = sb_nil();
	ck_assert_int_eq(sb_value_type(v), SB_NIL);
	ck_assert_int_eq(sb_value_get_bool(v, &b), SB_ETYPE);
	sb_value_free(v);
	ck_assert_int_eq(sb_value_type(NULL), SB_NIL);

	v = sb_bool(42);
	ck_assert_int_eq(sb_value_get_bool(v, &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(sb_value_get_int(v, &i), SB_ETYPE);
	sb_value_free(v);

	v = sb_int(INT64_MIN);
	ck_assert_int_eq(sb_value_get_int(v, &i), 0);
	ck_assert(i == INT64_MIN);
	ck_assert_int_eq(sb_value_get_uint(v, &u), SB_ERANGE);
	ck_assert_int_eq(sb_value_get_float(v, &d), 0);
	ck_assert(d == (double)INT64_MIN);
	ck_assert_int_eq(sb_value_is_unsigned(v), 0);
	sb_value_free(v);

	v = sb_uint(UINT64_MAX);
	ck_assert_int_eq(sb_value_get_uint(v, &u), 0);
	ck_assert(u == UINT64_MAX);
	ck_assert_int_eq(sb_value_get_int(v, &i), SB_ERANGE);
	ck_assert_int_eq(sb_value_is_unsigned(v), 1);
	sb_value_free(v);

	/* A small unsigned is the same value as the signed one. */
	v = sb_uint(7);
	ck_assert_int_eq(sb_value_get_int(v, &i), 0);
	ck_assert_int_eq(i, 7);
	ck_assert_int_eq(sb_value_is_unsigned(v), 0);
	{
		sb_value *w = sb_int(7);

		ck_assert(sb_value_equal(v, w));
		sb_value_free(w);
	}
	sb_value_free(v);

	v = sb_float(-0.5);
	ck_assert_int_eq(sb_value_get_float(v, &d), 0);
	ck_assert(d == -0.5);
	ck_assert_int_eq(sb_value_get_int(v, &i), SB_ETYPE);
	ck_assert_ptr_null(sb_value_str(v, NULL));
	sb_value_free(v);
}
END_TEST

START_TEST(test_texts)
{
	static const char nul[] = "a\0b";
	const char *s;
	const void *p;
	size_t len;
	sb_value *v;

	v = sb_str("h\xc3\xa9llo \xf0\x9f\x90\x8d");
	s = sb_value_str(v, &len);
	ck_assert_str_eq(s, "h\xc3\xa9llo \xf0\x9f\x90\x8d");
	ck_assert_uint_eq(len, 11);
	ck_assert_ptr_null(sb_value_bytes(v, NULL));
	ck_assert_uint_eq(sb_value_len(v), 0);
	sb_value_free(v);

	v = sb_strn(nul, 3);
	s = sb_value_str(v, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(s, nul, 3), 0);
	ck_assert_int_eq(s[3], '\0');
	sb_value_free(v);
	ck_assert_ptr_null(sb_str(NULL));
	v = sb_strn(NULL, 0);
	ck_assert_str_eq(sb_value_str(v, NULL), "");
	sb_value_free(v);

	v = sb_bytes(nul, 3);
	p = sb_value_bytes(v, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(p, nul, 3), 0);
	ck_assert_ptr_null(sb_value_str(v, NULL));
	sb_value_free(v);

	v = sb_bigint("-123456789012345678901234567890");
	ck_assert_int_eq(sb_value_type(v), SB_BIGINT);
	ck_assert_str_eq(sb_value_str(v, NULL),
	    "-123456789012345678901234567890");
	ck_assert_int_eq(sb_value_get_int(v, NULL), SB_ETYPE);
	sb_value_free(v);
	ck_assert_ptr_null(sb_bigint(""));
	ck_assert_ptr_null(sb_bigint("-"));
	ck_assert_ptr_null(sb_bigint("12a"));
	ck_assert_ptr_null(sb_bigint("+1"));
	ck_assert_ptr_null(sb_bigint(NULL));

	v = sb_date("2024-05-01");
	ck_assert_int_eq(sb_value_type(v), SB_DATE);
	ck_assert_str_eq(sb_value_str(v, NULL), "2024-05-01");
	sb_value_free(v);
	ck_assert_ptr_null(sb_date("2024-5-01"));
	ck_assert_ptr_null(sb_date("2024-05-01T00:00"));

	v = sb_datetime("2024-05-01T12:30:00.250000");
	ck_assert_int_eq(sb_value_type(v), SB_DATETIME);
	ck_assert_str_eq(sb_value_str(v, NULL), "2024-05-01T12:30:00.250000");
	sb_value_free(v);
	ck_assert_ptr_null(sb_datetime("2024-05-01"));
	ck_assert_ptr_null(sb_datetime("2024-05-01 12:00"));

	v = sb_decimal("-1.50");
	ck_assert_int_eq(sb_value_type(v), SB_DECIMAL);
	ck_assert_str_eq(sb_value_str(v, NULL), "-1.50");
	sb_value_free(v);
	ck_assert_ptr_null(sb_decimal(""));
	ck_assert_ptr_null(sb_decimal("1 2"));
}
END_TEST

START_TEST(test_exts)
{
	static const int64_t shape[2] = { 2, 2 };
	static const double data[4] = { 1, 2, 3, 4 };
	const int64_t *sh;
	const char *dtype;
	const void *p;
	size_t ndim, len;
	sb_value *v;
	double re, im;
	int64_t sec;
	uint32_t nsec;
	uint64_t id;
	int8_t type;

	v = sb_complex(1.5, -2);
	ck_assert_int_eq(sb_value_get_complex(v, &re, &im), 0);
	ck_assert(re == 1.5 && im == -2);
	ck_assert_int_eq(sb_value_get_float(v, &re), SB_ETYPE);
	sb_value_free(v);

	v = sb_ndarray("<f8", shape, 2, data, sizeof(data));
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(sb_value_get_ndarray(v, &dtype, &sh, &ndim, &p, &len),
	    0);
	ck_assert_str_eq(dtype, "<f8");
	ck_assert_uint_eq(ndim, 2);
	ck_assert(sh[0] == 2 && sh[1] == 2);
	ck_assert_uint_eq(len, sizeof(data));
	ck_assert_int_eq(memcmp(p, data, len), 0);
	ck_assert_int_eq(sb_value_get_complex(v, &re, &im), SB_ETYPE);
	sb_value_free(v);
	/* Length must match shape times item size for numeric kinds. */
	ck_assert_ptr_null(sb_ndarray("<f8", shape, 2, data, 24));
	ck_assert_ptr_null(sb_ndarray("<f8", NULL, 2, data, 32));
	ck_assert_ptr_null(sb_ndarray("", shape, 2, data, 32));
	ck_assert_ptr_null(sb_ndarray(NULL, shape, 2, data, 32));
	{
		static const int64_t neg[1] = { -1 };

		ck_assert_ptr_null(sb_ndarray("|u1", neg, 1, data, 1));
	}
	v = sb_ndarray("<f8", NULL, 0, data, 8);	/* a 0-d array */
	ck_assert_ptr_nonnull(v);
	sb_value_free(v);
	v = sb_ndarray("|O", shape, 2, data, 3);	/* unchecked kind */
	ck_assert_ptr_nonnull(v);
	sb_value_free(v);

	v = make_ref_value("PosixPath", 9);
	ck_assert_int_eq(sb_value_type(v), SB_REF);
	ck_assert_str_eq(sb_ref_type(v), "PosixPath");
	ck_assert_ptr_nonnull(sb_value_bytes(v, &len));
	ck_assert_uint_eq(len, SB_REF_FIXED_LEN + 9);
	ck_assert_int_eq(sb_value_get_ext(v, &type, &p, &len), 0);
	ck_assert_int_eq(type, 6);
	sb_value_free(v);
	/* An opaque payload that is not a ref layout: kept, no type name. */
	v = sb_ref_from_bytes("xyz", 3);
	ck_assert_int_eq(sb_value_type(v), SB_REF);
	ck_assert_ptr_null(sb_ref_type(v));
	sb_value_free(v);
	ck_assert_ptr_null(sb_ref_from_bytes("", 0));
	v = sb_str("x");
	ck_assert_ptr_null(sb_ref_type(v));
	sb_value_free(v);

	v = sb_timestamp(-1, 999999999);
	ck_assert_int_eq(sb_value_get_timestamp(v, &sec, &nsec), 0);
	ck_assert(sec == -1 && nsec == 999999999);
	sb_value_free(v);
	ck_assert_ptr_null(sb_timestamp(0, 1000000000));

	v = sb_callback(77);
	ck_assert_int_eq(sb_value_get_callback(v, &id), 0);
	ck_assert(id == 77);
	ck_assert_int_eq(sb_value_get_uint(v, &id), SB_ETYPE);
	sb_value_free(v);

	v = sb_ext(42, "\0\1", 2);
	ck_assert_int_eq(sb_value_get_ext(v, &type, &p, &len), 0);
	ck_assert_int_eq(type, 42);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(memcmp(p, "\0\1", 2), 0);
	sb_value_free(v);
	v = sb_int(1);
	ck_assert_int_eq(sb_value_get_ext(v, &type, &p, &len), SB_ETYPE);
	ck_assert_int_eq(sb_value_get_timestamp(v, &sec, &nsec), SB_ETYPE);
	ck_assert_int_eq(sb_value_get_ndarray(v, NULL, NULL, NULL, NULL, NULL),
	    SB_ETYPE);
	ck_assert_int_eq(sb_value_get_callback(v, &id), SB_ETYPE);
	sb_value_free(v);
}
END_TEST

START_TEST(test_containers)
{
	sb_value *l, *m, *t;
	int64_t i;

	l = sb_list_new();
	ck_assert_uint_eq(sb_value_len(l), 0);
	ck_assert_ptr_null(sb_value_item(l, 0));
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(sb_list_append(l, sb_int(i)), 0);
	ck_assert_uint_eq(sb_value_len(l), 100);
	ck_assert_int_eq(sb_value_get_int(sb_value_item(l, 99), &i), 0);
	ck_assert_int_eq(i, 99);
	ck_assert_ptr_null(sb_value_item(l, 100));
	ck_assert_ptr_null(sb_map_key(l, 0));

	m = sb_map_new();
	ck_assert_int_eq(sb_map_set(m, sb_str("a"), sb_int(1)), 0);
	ck_assert_int_eq(sb_map_set(m, sb_int(2), sb_str("two")), 0);
	ck_assert_int_eq(sb_map_set(m, sb_str("list"), l), 0);
	ck_assert_uint_eq(sb_value_len(m), 3);
	ck_assert_ptr_eq(sb_map_get(m, "list"), l);
	ck_assert_ptr_null(sb_map_get(m, "missing"));
	ck_assert_ptr_null(sb_map_get(m, "2"));
	ck_assert_int_eq(sb_value_type(sb_map_key(m, 1)), SB_INT);
	ck_assert_str_eq(sb_value_str(sb_map_value(m, 1), NULL), "two");
	ck_assert_ptr_null(sb_map_value(m, 3));
	ck_assert_ptr_null(sb_value_item(m, 0));

	t = sb_tuple_new();
	ck_assert_int_eq(sb_list_append(t, m), 0);
	ck_assert_int_eq(sb_value_type(t), SB_TUPLE);
	ck_assert_uint_eq(sb_value_len(t), 1);
	l = sb_value_copy(t);
	ck_assert(sb_value_equal(l, t));
	ck_assert_ptr_ne(sb_value_item(l, 0), m);
	sb_value_free(l);
	sb_value_free(t);

	t = sb_set_new();
	ck_assert_int_eq(sb_list_append(t, sb_int(1)), 0);
	ck_assert_int_eq(sb_value_type(t), SB_SET);
	sb_value_free(t);
	t = sb_frozenset_new();
	ck_assert_int_eq(sb_list_append(t, sb_int(1)), 0);
	ck_assert_int_eq(sb_value_type(t), SB_FROZENSET);
	sb_value_free(t);
}
END_TEST

/* Failing container calls free what they were given (ASan checks leaks). */
START_TEST(test_ownership_on_failure)
{
	sb_value *s = sb_str("not a list"), *m = sb_map_new(),
	    *l = sb_list_new();

	ck_assert_int_eq(sb_list_append(s, sb_int(1)), SB_ETYPE);
	ck_assert_int_eq(sb_list_append(m, sb_str("x")), SB_ETYPE);
	ck_assert_int_eq(sb_list_append(NULL, sb_str("x")), SB_EINVAL);
	ck_assert_int_eq(sb_list_append(l, NULL), SB_EINVAL);
	ck_assert_int_eq(sb_list_append(l, l), SB_EINVAL);
	ck_assert_int_eq(sb_map_set(l, sb_str("k"), sb_str("v")), SB_ETYPE);
	ck_assert_int_eq(sb_map_set(NULL, sb_str("k"), sb_str("v")), SB_EINVAL);
	ck_assert_int_eq(sb_map_set(m, sb_str("k"), NULL), SB_EINVAL);
	ck_assert_int_eq(sb_map_set(m, NULL, sb_str("v")), SB_EINVAL);
	ck_assert_uint_eq(sb_value_len(l), 0);
	ck_assert_uint_eq(sb_value_len(m), 0);
	ck_assert_ptr_null(sb_value_copy(NULL));
	sb_value_free(NULL);
	sb_value_free(s);
	sb_value_free(m);
	sb_value_free(l);
}
END_TEST

START_TEST(test_strerror)
{
	int codes[] = { SB_ENOMEM, SB_EINVAL, SB_ECONNECT, SB_ECLOSED,
	    SB_EPROTO, SB_ETIMEDOUT, SB_EREMOTE, SB_ETYPE, SB_ERANGE,
	    SB_EAGAIN };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_ptr_nonnull(sb_strerror(codes[i]));
		ck_assert_str_ne(sb_strerror(codes[i]), "unknown error");
	}
	ck_assert_str_eq(sb_strerror(-1000), "unknown error");
	ck_assert_str_eq(sb_strerror(5), "unknown error");
	ck_assert_str_eq(sb_strerror(0), "success");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Codec                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_roundtrip_edges)
{
	static const int64_t shape[1] = { 3 };
	static const char nuls[] = "\0\0x\0";
	sb_value *v, *l;
	uint8_t raw[4] = { 1, 0, 255, 0 };
	double d;

	check_roundtrip(sb_nil());
	check_roundtrip(sb_bool(1));
	check_roundtrip(sb_bool(0));
	check_roundtrip(sb_int(0));
	check_roundtrip(sb_int(-1));
	check_roundtrip(sb_int(-33));
	check_roundtrip(sb_int(INT64_MIN));
	check_roundtrip(sb_int(INT64_MAX));
	check_roundtrip(sb_uint((uint64_t)INT64_MAX + 1));
	check_roundtrip(sb_uint(UINT64_MAX));
	check_roundtrip(sb_bigint("18446744073709551616"));
	check_roundtrip(sb_bigint("-99999999999999999999999999999999999999"));
	check_roundtrip(sb_float(0.1));
	check_roundtrip(sb_float(-0.0));
	check_roundtrip(sb_float(INFINITY));
	check_roundtrip(sb_float(-INFINITY));
	check_roundtrip(sb_float(NAN));
	check_roundtrip(sb_float(1e308));
	check_roundtrip(sb_float(5e-324));
	check_roundtrip(sb_str(""));
	check_roundtrip(sb_str("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89"
	    " \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"));
	check_roundtrip(sb_strn(nuls, 4));
	check_roundtrip(sb_bytes(nuls, 4));
	check_roundtrip(sb_bytes(NULL, 0));
	check_roundtrip(sb_list_new());
	check_roundtrip(sb_map_new());
	check_roundtrip(sb_tuple_new());
	check_roundtrip(sb_set_new());
	check_roundtrip(sb_frozenset_new());
	check_roundtrip(sb_complex(NAN, -INFINITY));
	check_roundtrip(sb_complex(0, 1));
	check_roundtrip(sb_ndarray("|u1", shape, 1, raw, 3));
	check_roundtrip(sb_ndarray("<i4", shape, 1, "\1\0\0\0\2\0\0\0\3\0\0\0",
	    12));
	check_roundtrip(sb_ndarray("|b1", NULL, 0, raw, 1));
	{
		static const int64_t empty[2] = { 0, 5 };

		check_roundtrip(sb_ndarray("<f8", empty, 2, NULL, 0));
	}
	check_roundtrip(make_ref_value("range", 1));
	check_roundtrip(make_ref_value("", 2));
	check_roundtrip(sb_ref_from_bytes("opaque\0bytes", 12));
	check_roundtrip(sb_callback(0));
	check_roundtrip(sb_callback(UINT64_MAX));
	check_roundtrip(sb_date("1999-12-31"));
	check_roundtrip(sb_datetime("2024-05-01T12:30:00"));
	check_roundtrip(sb_decimal("NaN"));
	check_roundtrip(sb_decimal("-1.50"));
	check_roundtrip(sb_timestamp(0, 0));
	check_roundtrip(sb_timestamp(1700000000, 0));		/* 32-bit */
	check_roundtrip(sb_timestamp(1700000000, 123456789));	/* 64-bit */
	check_roundtrip(sb_timestamp(-62135596800, 1));		/* 96-bit */
	check_roundtrip(sb_timestamp(INT64_MAX, 999999999));
	check_roundtrip(sb_ext(-5, "abc", 3));
	check_roundtrip(sb_ext(100, NULL, 0));

	/* A float32 from another encoder reads as a float. */
	ck_assert_int_eq(unpack_bytes("\xca\x3f\xc0\x00\x00", 5, &v), 0);
	ck_assert_int_eq(sb_value_get_float(v, &d), 0);
	ck_assert(d == 1.5);
	sb_value_free(v);

	/* A uint64 max from the wire is unsigned; -1 signed. */
	ck_assert_int_eq(unpack_bytes("\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
	    9, &v), 0);
	ck_assert_int_eq(sb_value_is_unsigned(v), 1);
	sb_value_free(v);

	/* Nested containers in containers, tuples in sets in tuples. */
	l = sb_list_new();
	v = sb_tuple_new();
	sb_list_append(v, sb_int(1));
	{
		sb_value *set = sb_set_new(), *fs = sb_frozenset_new(),
		    *inner = sb_tuple_new(), *m = sb_map_new();

		sb_list_append(inner, sb_str("deep"));
		sb_list_append(inner, sb_tuple_new());
		sb_list_append(fs, inner);
		sb_list_append(set, fs);
		sb_list_append(set, sb_complex(1, 2));
		sb_list_append(v, set);
		/* Non-string keys: int, tuple, nil, bytes, float. */
		sb_map_set(m, sb_int(-5), sb_str("int key"));
		inner = sb_tuple_new();
		sb_list_append(inner, sb_int(1));
		sb_list_append(inner, sb_int(2));
		sb_map_set(m, inner, sb_str("tuple key"));
		sb_map_set(m, sb_nil(), sb_nil());
		sb_map_set(m, sb_bytes("k", 1), sb_list_new());
		sb_map_set(m, sb_float(2.5), sb_map_new());
		sb_map_set(m, make_ref_value("object", 3), sb_bool(1));
		sb_list_append(v, m);
	}
	sb_list_append(l, v);
	sb_list_append(l, sb_ndarray("|u1", shape, 1, raw, 3));
	check_roundtrip(l);
}
END_TEST

/* Compare the encoding of v with expected bytes. */
static void
check_encoding(sb_value *v, const char *expect, size_t elen)
{
	void *buf;
	size_t len;

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(sb_value_pack(v, &buf, &len), 0);
	ck_assert_uint_eq(len, elen);
	ck_assert_int_eq(memcmp(buf, expect, len), 0);
	free(buf);
	sb_value_free(v);
}

#define ENCODES(v, lit) check_encoding((v), (lit), sizeof(lit) - 1)

START_TEST(test_encodings)
{
	static const int64_t shape[1] = { 2 };
	sb_value *t;

	ENCODES(sb_nil(), "\xc0");
	ENCODES(sb_str("ab"), "\xa2" "ab");
	ENCODES(sb_bytes("ab", 2), "\xc4\x02" "ab");
	ENCODES(sb_float(1.5), "\xcb\x3f\xf8\0\0\0\0\0\0");
	/* tuple (1,): ext 1 around the array [1] */
	t = sb_tuple_new();
	sb_list_append(t, sb_int(1));
	ENCODES(t, "\xd5\x01\x91\x01");
	t = sb_set_new();
	ENCODES(t, "\xd4\x02\x90");
	t = sb_frozenset_new();
	ENCODES(t, "\xd4\x03\x90");
	ENCODES(sb_bigint("-12"), "\xc7\x03\x04-12");
	ENCODES(sb_complex(1, 0), "\xc7\x13\x05\x92"
	    "\xcb\x3f\xf0\0\0\0\0\0\0" "\xcb\0\0\0\0\0\0\0\0");
	ENCODES(sb_callback(5), "\xd4\x07\x05");
	ENCODES(sb_ndarray("|u1", shape, 1, "\x07\x08", 2),
	    "\xc7\x0b\x08\x93\xa3|u1\x91\x02\xc4\x02\x07\x08");
	ENCODES(sb_date("2024-05-01"), "\xc7\x0a\x09" "2024-05-01");
	ENCODES(sb_datetime("2024-05-01T00:00:00"),
	    "\xc7\x13\x0a" "2024-05-01T00:00:00");
	ENCODES(sb_decimal("1.5"), "\xc7\x03\x0b" "1.5");
	ENCODES(sb_ref_from_bytes("R", 1), "\xd4\x06R");
	ENCODES(sb_timestamp(1, 0), "\xd6\xff\0\0\0\x01");
	ENCODES(sb_ext(-7, "xy", 2), "\xd5\xf9xy");
}
END_TEST

/*
 * Compare the encoding of v with what msgpack-c's packer wrote in sb, and
 * decode those bytes back to v.
 */
static void
check_like_msgpack(sb_value *v, msgpack_sbuffer *sb)
{
	sb_value *back;

	ck_assert_int_eq(sb_value_unpack(sb->data, sb->size, &back), 0);
	ck_assert(sb_value_equal(v, back));
	sb_value_free(back);
	check_encoding(v, sb->data, sb->size);
	msgpack_sbuffer_clear(sb);
}

/* Every size form of every header, on both sides of each boundary. */
START_TEST(test_encodings_like_msgpack)
{
	static const int64_t ints[] = { 0, 1, 127, 128, 255, 256, 65535,
	    65536, 4294967295LL, 4294967296LL, INT64_MAX, -1, -32, -33, -128,
	    -129, -32768, -32769, INT32_MIN, (int64_t)INT32_MIN - 1,
	    INT64_MIN };
	static const size_t lens[] = { 0, 1, 2, 3, 4, 8, 15, 16, 17, 31, 32,
	    255, 256, 65535, 65536 };
	static const double dbls[] = { 0.0, -1.5, 1e300, -0.0 };
	static const int64_t secs[] = { 0, 1, 4294967295LL, 4294967296LL,
	    17179869183LL, 17179869184LL, -1 };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_timestamp ts;
	sb_value *v;
	char *buf;
	size_t i, j;

	buf = calloc(1, 65536 + 1);
	ck_assert_ptr_nonnull(buf);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		msgpack_pack_int64(&pk, ints[i]);
		check_like_msgpack(sb_int(ints[i]), &sb);
	}
	msgpack_pack_uint64(&pk, UINT64_MAX);
	check_like_msgpack(sb_uint(UINT64_MAX), &sb);
	msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX + 1);
	check_like_msgpack(sb_uint((uint64_t)INT64_MAX + 1), &sb);
	for (i = 0; i < sizeof(dbls) / sizeof(dbls[0]); i++) {
		msgpack_pack_double(&pk, dbls[i]);
		check_like_msgpack(sb_float(dbls[i]), &sb);
	}
	msgpack_pack_true(&pk);
	check_like_msgpack(sb_bool(1), &sb);
	msgpack_pack_false(&pk);
	check_like_msgpack(sb_bool(0), &sb);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(buf, 'a', lens[i]);
		buf[lens[i]] = '\0';
		msgpack_pack_str_with_body(&pk, buf, lens[i]);
		check_like_msgpack(sb_str(buf), &sb);
		msgpack_pack_bin_with_body(&pk, buf, lens[i]);
		check_like_msgpack(sb_bytes(buf, lens[i]), &sb);
		msgpack_pack_ext_with_body(&pk, buf, lens[i], 99);
		check_like_msgpack(sb_ext(99, buf, lens[i]), &sb);
		v = sb_list_new();
		msgpack_pack_array(&pk, lens[i]);
		for (j = 0; j < lens[i]; j++) {
			sb_list_append(v, sb_nil());
			msgpack_pack_nil(&pk);
		}
		check_like_msgpack(v, &sb);
		v = sb_map_new();
		msgpack_pack_map(&pk, lens[i]);
		for (j = 0; j < lens[i]; j++) {
			sb_map_set(v, sb_int((int64_t)j), sb_nil());
			msgpack_pack_int64(&pk, (int64_t)j);
			msgpack_pack_nil(&pk);
		}
		check_like_msgpack(v, &sb);
	}
	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		ts.tv_sec = secs[i];
		ts.tv_nsec = i * 123456789 % 1000000000;
		msgpack_pack_timestamp(&pk, &ts);
		check_like_msgpack(sb_timestamp(ts.tv_sec, ts.tv_nsec), &sb);
	}
	msgpack_sbuffer_destroy(&sb);
	free(buf);
}
END_TEST

START_TEST(test_pack_depth)
{
	sb_value *v = sb_list_new(), *inner;
	void *buf = NULL;
	size_t len;
	int i;

	for (i = 1; i < 200; i++) {
		/* v nests i lists; what packs must also unpack. */
		if (i <= SB_SCAN_DEFAULT_DEPTH) {
			sb_value *back;

			ck_assert_int_eq(sb_value_pack(v, &buf, &len), 0);
			ck_assert_int_eq(sb_value_unpack(buf, len, &back), 0);
			ck_assert(sb_value_equal(v, back));
			sb_value_free(back);
			free(buf);
			buf = NULL;
		} else
			ck_assert_int_eq(sb_value_pack(v, &buf, &len),
			    SB_ERANGE);
		inner = sb_list_new();
		sb_list_append(inner, v);
		v = inner;
	}
	ck_assert_ptr_null(buf);
	sb_value_free(v);
	ck_assert_int_eq(sb_value_pack(NULL, &buf, &len), SB_EINVAL);
}
END_TEST

START_TEST(test_unpack_hostile)
{
	sb_value *v;

	ck_assert_int_eq(sb_value_unpack(NULL, 1, &v), SB_EINVAL);
	ck_assert_int_eq(sb_value_unpack("\xc0", 1, NULL), SB_EINVAL);
	REJECT("");				/* nothing */
	REJECT("\xc1");				/* reserved byte */
	REJECT("\xc0\xc0");			/* trailing bytes */
	REJECT("\xdd\x7f\xff\xff\xff");		/* array of 2^31 - 1 */
	REJECT("\xdf\xff\xff\xff\xff");		/* map of 2^32 - 1 */
	REJECT("\x92\x01");			/* truncated */
	REJECT("\xdb\xff\xff\xff\xff" "abc");	/* str lying about length */
	/* Ext payloads are checked as hard as the message itself. */
	REJECT("\xc7\x05\x01\xdd\xff\xff\xff\xff");	/* tuple, lying */
	REJECT("\xd4\x01\x05");			/* tuple payload not an array */
	REJECT("\xd5\x01\x90\xc0");		/* tuple payload + trailing */
	REJECT("\xd4\x02\xc1");			/* set payload reserved byte */
	REJECT("\xd5\x03\x91\xc1");		/* frozenset, bad item */
	REJECT("\xc7\x03\x04" "12x");		/* big int not decimal */
	REJECT("\xc7\x00\x04");			/* big int empty */
	REJECT("\xd5\x05\x91\x01");		/* complex of one */
	REJECT("\xd6\x05\x92\x01\xa1x");	/* complex with a str */
	REJECT("\xc7\x00\x06");			/* empty ref */
	REJECT("\xd4\x07\xff");			/* callback id negative */
	REJECT("\xd4\x07\xa0");			/* callback id a str */
	REJECT("\xc7\x0a\x09" "2024-5-010");	/* date */
	REJECT("\xc7\x0a\x0a" "2024-05-01");	/* datetime without time */
	REJECT("\xc7\x00\x0b");			/* empty decimal */
	REJECT("\xc7\x05\xff" "12345");		/* timestamp of 5 bytes */
	REJECT("\xd7\xff\xff\xff\xff\xff\0\0\0\0"); /* nsec >= 10^9 */
	/* ndarrays: wrong length, negative dim, wrong shapes of payload */
	REJECT("\xc7\x0a\x08\x93\xa3|u1\x91\x03\xc4\x02\x07\x08");
	REJECT("\xc7\x0a\x08\x93\xa3|u1\x91\xff\xc4\x02\x07\x08");
	REJECT("\xc7\x08\x08\x92\xa3|u1\x91\x02\xc0");
	REJECT("\xc7\x0a\x08\x93\xa3|u1\x91\x02\xa2\x07\x08");
	REJECT("\xc7\x0a\x08\x93\xa3|u1\x91\xa1\xc4\x02\x07\x08");
	REJECT("\xc7\x07\x08\x93\xa0\x90\xc4\x00\xc0"); /* empty dtype + junk */

	/* An unknown ext type is kept. */
	ck_assert_int_eq(unpack_bytes("\xd4\x2a\x01", 3, &v), 0);
	ck_assert_int_eq(sb_value_type(v), SB_EXT);
	sb_value_free(v);
}
END_TEST

/* Nesting beyond the depth limit, directly and through ext payloads. */
START_TEST(test_unpack_deep)
{
	char buf[4096];
	sb_value *v;
	size_t len, i;

	memset(buf, 0x91, 200);
	buf[200] = (char)0xc0;
	check_rejected(buf, 201);
	/* The protocol's depth is fine, one more is not. */
	check_rejected(buf + 200 - SB_SCAN_DEFAULT_DEPTH - 1,
	    SB_SCAN_DEFAULT_DEPTH + 2);
	ck_assert_int_eq(unpack_bytes(buf + 200 - SB_SCAN_DEFAULT_DEPTH,
	    SB_SCAN_DEFAULT_DEPTH + 1, &v), 0);
	sb_value_free(v);

	/* 100 tuples, each an ext 1 holding [next]: ext 16 headers. */
	len = 1;
	buf[0] = (char)0xc0;
	for (i = 0; i < 100; i++) {
		memmove(buf + 5, buf, len);
		buf[0] = (char)0xc8;
		buf[1] = (char)((len + 1) >> 8);
		buf[2] = (char)(len + 1);
		buf[3] = 1;
		buf[4] = (char)0x91;
		len += 5;
	}
	check_rejected(buf, len);
	/* 20 of them are fine. */
	ck_assert_int_eq(unpack_bytes(buf + 400, len - 400, &v), 0);
	ck_assert_int_eq(sb_value_type(v), SB_TUPLE);
	sb_value_free(v);
	check_rejected(buf, len);
}
END_TEST

/* Every prefix of a valid message, and random corruption, never crash. */
START_TEST(test_unpack_fuzz)
{
	static const int64_t shape[1] = { 2 };
	sb_value *v, *l, *out;
	unsigned char *buf, *copy;
	void *again;
	size_t len, i, alen;
	unsigned seed = 12345;
	int round;

	l = sb_list_new();
	sb_list_append(l, sb_str("hello"));
	sb_list_append(l, sb_bigint("123456789012345678901234567890"));
	v = sb_tuple_new();
	sb_list_append(v, sb_complex(1, 2));
	sb_list_append(v, sb_ndarray("<i2", shape, 1, "\1\0\2\0", 4));
	sb_list_append(l, v);
	v = sb_map_new();
	sb_map_set(v, sb_str("k"), sb_timestamp(5, 6));
	sb_map_set(v, sb_int(3), sb_date("2020-01-01"));
	sb_list_append(l, v);
	sb_list_append(l, make_ref_value("range", 4));
	ck_assert_int_eq(sb_value_pack(l, (void **)&buf, &len), 0);
	sb_value_free(l);

	for (i = 0; i < len; i++)
		check_rejected((char *)buf, i);
	copy = malloc(len);
	for (round = 0; round < 20000; round++) {
		memcpy(copy, buf, len);
		for (i = 0; i < 1 + (size_t)round % 4; i++) {
			seed = seed * 1103515245 + 12345;
			copy[(seed >> 8) % len] = (unsigned char)(seed >> 20);
		}
		out = NULL;
		if (sb_value_unpack(copy, len, &out) == 0) {
			ck_assert_int_eq(sb_value_pack(out, &again, &alen), 0);
			free(again);
			sb_value_free(out);
		} else
			ck_assert_ptr_null(out);
	}
	free(copy);
	free(buf);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A fake daemon                                                       */
/* ------------------------------------------------------------------ */

static char	 sock_dir[64];
static char	 sock_path[100];
static pid_t	 server_pid = -1;

struct fake {
	int			 fd;
	msgpack_sbuffer		 out;
	msgpack_packer		 pk;
	/* Requests held back by "slow", answered by "flush" in reverse. */
	uint32_t		 held[256];
	int64_t			 held_val[256];
	size_t			 nheld;
	char			 cb_error[128];	/* client's answer to callback */
	msgpack_sbuffer		 last;	/* params of the last echoed request */
	int			 fds[8];	/* received, not yet attached */
	size_t			 nfds;
	uint64_t		 blocks;	/* attached so far */
};

/* Methods the fake daemon answers with the params it received. */
static const char *const fake_echoed[] = {
	"echo", "call", "get", "method", "attr", "setattr", "repr", "str",
	"len", "dir", "iter", "getitem", "next", "release", "session.open",
	"session.close", "session.info", "session.list", "status", "ping",
	"shm.detach"
};

static void
fake_send(struct fake *f)
{
	size_t off = 0;
	ssize_t n;

	while (off < f->out.size) {
		n = write(f->fd, f->out.data + off, f->out.size - off);
		if (n <= 0)
			_exit(0);
		off += (size_t)n;
	}
	msgpack_sbuffer_clear(&f->out);
}

static void
fake_pack_str(struct fake *f, const char *s)
{
	msgpack_pack_str_with_body(&f->pk, s, strlen(s));
}

static void
fake_response_head(struct fake *f, uint32_t msgid)
{
	msgpack_pack_array(&f->pk, 4);
	msgpack_pack_uint8(&f->pk, 1);
	msgpack_pack_uint32(&f->pk, msgid);
}

static int
fake_is(const msgpack_object *o, const char *s)
{
	return (o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
	    memcmp(o->via.str.ptr, s, o->via.str.size) == 0);
}

/*
 * The response "ok" to msgid with the envelope in its widest forms (array
 * 16, kind as uint 64, msgid as uint 32); bad: msgid as -1 (1) or as
 * 2^32 + msgid (2) instead.
 */
static void
fake_wide(struct fake *f, uint32_t msgid, int bad)
{
	unsigned char b[32] = { 0xdc, 0, 4, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1 };
	size_t n = 12;

	if (bad == 1) {
		b[n++] = 0xd0;
		b[n++] = 0xff;
	} else {
		if (bad == 2) {
			memcpy(b + n, "\xcf\0\0\0\x01", 5);
			n += 5;
		} else
			b[n++] = 0xce;
		b[n++] = (unsigned char)(msgid >> 24);
		b[n++] = (unsigned char)(msgid >> 16);
		b[n++] = (unsigned char)(msgid >> 8);
		b[n++] = (unsigned char)msgid;
	}
	memcpy(b + n, "\xc0\xa2ok", 4);
	msgpack_sbuffer_write(&f->out, (const char *)b, n + 4);
}

static void
fake_error(struct fake *f, uint32_t msgid, const char *type)
{
	fake_response_head(f, msgid);
	msgpack_pack_map(&f->pk, 2);
	fake_pack_str(f, "type");
	fake_pack_str(f, type);
	fake_pack_str(f, "message");
	fake_pack_str(f, type);
	msgpack_pack_nil(&f->pk);
}

/*
 * shm.attach [size]: the oldest descriptor received must be a memfd sealed
 * against shrinking, growing and further seals, at least size bytes long.
 * Size 777 is refused as if the connection had too many blocks.
 */
static void
fake_attach(struct fake *f, uint32_t msgid, const msgpack_object *params)
{
	const int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct stat st;
	uint64_t size;
	int fd;

	if (params->via.array.size != 1 ||
	    params->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    f->nfds == 0) {
		fake_error(f, msgid, "snakebridge.SharedMemoryError");
		return;
	}
	size = params->via.array.ptr[0].via.u64;
	fd = f->fds[0];
	memmove(f->fds, f->fds + 1, --f->nfds * sizeof(int));
	if (size == 777)
		fake_error(f, msgid, "snakebridge.LimitExceeded");
	else if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < size ||
	    (fcntl(fd, F_GET_SEALS) & want) != want)
		fake_error(f, msgid, "snakebridge.SharedMemoryError");
	else {
		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		msgpack_pack_map(&f->pk, 1);
		fake_pack_str(f, "block");
		msgpack_pack_uint64(&f->pk, ++f->blocks);
	}
	close(fd);
}

/* Serve one request of the fake protocol. */
static void
fake_request(struct fake *f, uint32_t msgid, const msgpack_object *method,
    const msgpack_object *params)
{
	msgpack_packer lp;
	size_t i;

	for (i = 0; i < sizeof(fake_echoed) / sizeof(fake_echoed[0]); i++) {
		if (!fake_is(method, fake_echoed[i]))
			continue;
		msgpack_sbuffer_clear(&f->last);
		msgpack_packer_init(&lp, &f->last, msgpack_sbuffer_write);
		msgpack_pack_object(&lp, *params);
		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		msgpack_pack_object(&f->pk, *params);
		fake_send(f);
		return;
	}
	if (fake_is(method, "shm.attach")) {
		fake_attach(f, msgid, params);
	} else if (fake_is(method, "hello")) {
		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		msgpack_pack_map(&f->pk, 4);
		fake_pack_str(f, "protocol");
		msgpack_pack_int(&f->pk, 1);
		fake_pack_str(f, "min_protocol");
		msgpack_pack_int(&f->pk, 1);
		fake_pack_str(f, "version");
		fake_pack_str(f, "fake");
		fake_pack_str(f, "limits");
		msgpack_pack_map(&f->pk, 2);
		fake_pack_str(f, "max_message_size");
		msgpack_pack_uint32(&f->pk, 65536);
		fake_pack_str(f, "max_depth");
		msgpack_pack_uint32(&f->pk, 16);
	} else if (fake_is(method, "last")) {
		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		msgpack_sbuffer_write(&f->out, f->last.data, f->last.size);
	} else if (fake_is(method, "slow")) {
		if (f->nheld < 256) {
			f->held[f->nheld] = msgid;
			f->held_val[f->nheld++] =
			    params->via.array.size > 0 ?
			    params->via.array.ptr[0].via.i64 : 0;
		}
		return;
	} else if (fake_is(method, "flush")) {
		/* Notifications and a callback request first. */
		msgpack_pack_array(&f->pk, 3);
		msgpack_pack_uint8(&f->pk, 2);
		fake_pack_str(f, "stream.items");
		msgpack_pack_array(&f->pk, 2);
		msgpack_pack_uint32(&f->pk, f->nheld > 0 ? f->held[0] : 0);
		msgpack_pack_array(&f->pk, 1);
		msgpack_pack_int(&f->pk, 1);
		msgpack_pack_array(&f->pk, 3);
		msgpack_pack_uint8(&f->pk, 2);
		fake_pack_str(f, "something.new");
		msgpack_pack_array(&f->pk, 0);
		msgpack_pack_array(&f->pk, 4);
		msgpack_pack_uint8(&f->pk, 0);
		msgpack_pack_uint32(&f->pk, 4242);
		fake_pack_str(f, "callback");
		msgpack_pack_array(&f->pk, 3);
		msgpack_pack_uint8(&f->pk, 1);
		msgpack_pack_array(&f->pk, 0);
		msgpack_pack_map(&f->pk, 0);
		for (i = f->nheld; i > 0; i--) {
			fake_response_head(f, f->held[i - 1]);
			msgpack_pack_nil(&f->pk);
			msgpack_pack_int64(&f->pk, 2 * f->held_val[i - 1]);
		}
		f->nheld = 0;
		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		msgpack_pack_true(&f->pk);
	} else if (fake_is(method, "cbresult")) {
		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		fake_pack_str(f, f->cb_error);
	} else if (fake_is(method, "fail")) {
		fake_response_head(f, msgid);
		msgpack_pack_map(&f->pk, 5);
		fake_pack_str(f, "type");
		fake_pack_str(f, "ValueError");
		fake_pack_str(f, "message");
		fake_pack_str(f, "math domain error");
		fake_pack_str(f, "module");
		fake_pack_str(f, "builtins");
		fake_pack_str(f, "traceback");
		msgpack_pack_array(&f->pk, 2);
		fake_pack_str(f, "Traceback (most recent call last):\n");
		fake_pack_str(f, "ValueError: math domain error\n");
		fake_pack_str(f, "args");
		msgpack_pack_array(&f->pk, 1);
		fake_pack_str(f, "math domain error");
		msgpack_pack_nil(&f->pk);
	} else if (fake_is(method, "failstr")) {
		fake_response_head(f, msgid);
		fake_pack_str(f, "plain text error");
		msgpack_pack_nil(&f->pk);
	} else if (fake_is(method, "badext")) {
		/* A bad big int payload: this request fails, the rest goes on. */
		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		msgpack_pack_ext(&f->pk, 3, 4);
		msgpack_pack_ext_body(&f->pk, "12x", 3);
	} else if (fake_is(method, "huge")) {
		/* Beyond the 64 KiB the hello announced. */
		static char big[70000];

		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		msgpack_pack_bin(&f->pk, sizeof(big));
		msgpack_pack_bin_body(&f->pk, big, sizeof(big));
	} else if (fake_is(method, "half")) {
		/* Half a response, then the connection closes. */
		fake_response_head(f, msgid);
		msgpack_pack_nil(&f->pk);
		msgpack_pack_str(&f->pk, 100);
		msgpack_pack_str_body(&f->pk, "only part", 9);
		fake_send(f);
		_exit(0);
	} else if (fake_is(method, "garbage")) {
		msgpack_sbuffer_write(&f->out, "\xc1", 1);
	} else if (fake_is(method, "notarray")) {
		msgpack_pack_int(&f->pk, 5);
	} else if (fake_is(method, "wide")) {
		fake_wide(f, msgid, 0);
	} else if (fake_is(method, "negid")) {
		fake_wide(f, msgid, 1);
	} else if (fake_is(method, "bigid")) {
		fake_wide(f, msgid, 2);
	} else if (fake_is(method, "bye")) {
		msgpack_pack_array(&f->pk, 3);
		msgpack_pack_uint8(&f->pk, 2);
		fake_pack_str(f, "error");
		msgpack_pack_array(&f->pk, 1);
		msgpack_pack_map(&f->pk, 2);
		fake_pack_str(f, "type");
		fake_pack_str(f, "snakebridge.ProtocolError");
		fake_pack_str(f, "message");
		fake_pack_str(f, "go away");
		fake_send(f);
		_exit(0);
	} else {
		fake_response_head(f, msgid);
		msgpack_pack_map(&f->pk, 2);
		fake_pack_str(f, "type");
		fake_pack_str(f, "snakebridge.UnknownMethod");
		fake_pack_str(f, "message");
		fake_pack_str(f, "unknown");
		msgpack_pack_nil(&f->pk);
	}
	fake_send(f);
}

/*
 * The client's answer to our callback request: note its error type, or
 * keep its result for "last".
 */
static void
fake_response(struct fake *f, const msgpack_object *m)
{
	const msgpack_object *err = &m->via.array.ptr[2];
	msgpack_packer lp;
	uint32_t i;

	if (err->type == MSGPACK_OBJECT_NIL) {
		msgpack_sbuffer_clear(&f->last);
		msgpack_packer_init(&lp, &f->last, msgpack_sbuffer_write);
		msgpack_pack_object(&lp, m->via.array.ptr[3]);
		return;
	}
	if (err->type != MSGPACK_OBJECT_MAP)
		return;
	for (i = 0; i < err->via.map.size; i++) {
		if (fake_is(&err->via.map.ptr[i].key, "type") &&
		    err->via.map.ptr[i].val.type == MSGPACK_OBJECT_STR)
			snprintf(f->cb_error, sizeof(f->cb_error), "%.*s",
			    (int)err->via.map.ptr[i].val.via.str.size,
			    err->via.map.ptr[i].val.via.str.ptr);
	}
}

/* Read what came, keeping the descriptors that came with it. */
static ssize_t
fake_read(struct fake *f, void *buf, size_t len)
{
	char cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	size_t i, n;
	ssize_t r;
	int fd;

	iov.iov_base = buf;
	iov.iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if ((r = recvmsg(f->fd, &mh, 0)) <= 0)
		return (r);
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(fd));
			if (f->nfds < 8)
				f->fds[f->nfds++] = fd;
			else
				close(fd);
		}
	}
	return (r);
}

/* One connection of the fake daemon. */
static void
fake_conn(int fd)
{
	msgpack_unpacker up;
	msgpack_unpacked msg;
	struct fake f;
	const msgpack_object *a;
	ssize_t n;

	memset(&f, 0, sizeof(f));
	snprintf(f.cb_error, sizeof(f.cb_error), "none");
	f.fd = fd;
	msgpack_sbuffer_init(&f.out);
	msgpack_sbuffer_init(&f.last);
	msgpack_sbuffer_write(&f.last, "\x90", 1);
	msgpack_packer_init(&f.pk, &f.out, msgpack_sbuffer_write);
	msgpack_unpacker_init(&up, 1 << 16);
	msgpack_unpacked_init(&msg);
	for (;;) {
		msgpack_unpacker_reserve_buffer(&up, 1 << 16);
		n = fake_read(&f, msgpack_unpacker_buffer(&up), 1 << 16);
		if (n <= 0)
			_exit(0);
		msgpack_unpacker_buffer_consumed(&up, (size_t)n);
		while (msgpack_unpacker_next(&up, &msg) ==
		    MSGPACK_UNPACK_SUCCESS) {
			if (msg.data.type != MSGPACK_OBJECT_ARRAY ||
			    msg.data.via.array.size < 3)
				_exit(2);
			a = msg.data.via.array.ptr;
			if (a[0].via.u64 == 0 && msg.data.via.array.size == 4)
				fake_request(&f, (uint32_t)a[1].via.u64, &a[2],
				    &a[3]);
			else if (a[0].via.u64 == 1)
				fake_response(&f, &msg.data);
		}
	}
}

/* Serve every connection in its own child. */
static void
fake_serve(int lfd)
{
	int fd;

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			_exit(1);
		if (fork() == 0) {
			close(lfd);
			fake_conn(fd);
			_exit(0);
		}
		close(fd);
	}
}

/* A listening socket at sock_path in a fresh directory. */
static int
fake_listen(void)
{
	struct sockaddr_un sun;
	int lfd;

	snprintf(sock_dir, sizeof(sock_dir), "/tmp/sbclient-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sock_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/s.sock", sock_dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	return (lfd);
}

/* Start the fake daemon on a fresh socket (a checked fixture). */
static void
fake_start(void)
{
	int lfd = fake_listen();

	server_pid = fork();
	ck_assert_int_ge(server_pid, 0);
	if (server_pid == 0) {
		alarm(60);
		fake_serve(lfd);
		_exit(0);
	}
	close(lfd);
}

static void
fake_stop(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
	unlink(sock_path);
	rmdir(sock_dir);
}

static sb_client *
fake_connect(void)
{
	sb_client *c = NULL;

	ck_assert_int_eq(sb_client_connect(sock_path, &c), 0);
	ck_assert_ptr_nonnull(c);
	return (c);
}

static sb_value *
int_list(int64_t i)
{
	sb_value *l = sb_list_new();

	ck_assert_int_eq(sb_list_append(l, sb_int(i)), 0);
	return (l);
}

START_TEST(test_client_hello)
{
	const sb_value *info;
	sb_client *c = fake_connect();
	sb_value *r = NULL;
	sb_error *err = NULL;

	info = sb_client_server_info(c);
	ck_assert_str_eq(sb_value_str(sb_map_get(info, "version"), NULL),
	    "fake");
	ck_assert_int_ge(sb_client_fd(c), 0);
	ck_assert_ptr_null(sb_client_last_error(c));
	/* An unknown method is a remote error, and the connection goes on. */
	ck_assert_int_eq(sb_request(c, "nosuch", NULL, &r, &err), SB_EREMOTE);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(sb_error_type(err), "snakebridge.UnknownMethod");
	ck_assert_ptr_null(sb_error_module(err));
	ck_assert_ptr_null(sb_error_traceback(err));
	sb_error_free(err);
	ck_assert_int_eq(sb_request(c, "echo", NULL, &r, NULL), 0);
	ck_assert_int_eq(sb_value_type(r), SB_LIST);
	ck_assert_uint_eq(sb_value_len(r), 0);
	sb_value_free(r);
	sb_client_close(c);
}
END_TEST

/* A list of the given values (taken), ended by NULL. */
static sb_value *
list_of(sb_value *first, ...)
{
	sb_value *l = sb_list_new(), *v;
	va_list ap;

	va_start(ap, first);
	for (v = first; v != NULL; v = va_arg(ap, sb_value *))
		ck_assert_int_eq(sb_list_append(l, v), 0);
	va_end(ap);
	return (l);
}

/* A map of str keys to values (taken), ended by NULL. */
static sb_value *
map_of(const char *key, ...)
{
	sb_value *m = sb_map_new();
	va_list ap;

	va_start(ap, key);
	for (; key != NULL; key = va_arg(ap, const char *))
		ck_assert_int_eq(sb_map_set(m, sb_str(key),
		    va_arg(ap, sb_value *)), 0);
	va_end(ap);
	return (m);
}

/* The call's rc was rc, and the daemon received expect (taken). */
static void
check_sent(sb_client *c, int rc, sb_value *result, sb_value *expect)
{
	sb_value *last = NULL;

	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(sb_request(c, "last", NULL, &last, NULL), 0);
	ck_assert(sb_value_equal(last, expect));
	if (result != NULL)
		ck_assert(sb_value_equal(result, expect));
	sb_value_free(last);
	sb_value_free(result);
	sb_value_free(expect);
}

START_TEST(test_client_opts_position)
{
	sb_client *c = fake_connect();
	struct sb_opts o;
	sb_value *r = NULL, *ref, *args, *refs, *settings;
	sb_error *err = NULL;
	int rc;

	ref = make_ref_value("range", 1);
	args = int_list(3);
	refs = list_of(sb_value_copy(ref), make_ref_value("range", 2), NULL);
	settings = map_of("idle_timeout", sb_int(60), NULL);

	/* Without options nothing trails, absent params are dropped. */
	rc = sb_call(c, "m", "f", args, NULL, NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_str("m"), sb_str("f"), int_list(3),
	    NULL));
	rc = sb_call(c, "m", "f", NULL, NULL, NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_str("m"), sb_str("f"), NULL));
	rc = sb_method(c, ref, "exists", NULL, NULL, NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_value_copy(ref), sb_str("exists"),
	    NULL));
	rc = sb_setattr(c, ref, "x", NULL, NULL, &err);
	check_sent(c, rc, NULL, list_of(sb_value_copy(ref), sb_str("x"),
	    sb_nil(), NULL));
	rc = sb_getitem(c, ref, NULL, NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_value_copy(ref), sb_nil(), NULL));
	rc = sb_next(c, ref, 0, NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_value_copy(ref), NULL));
	rc = sb_next(c, ref, 5, NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_value_copy(ref), sb_int(5), NULL));
	rc = sb_release(c, refs, NULL, &err);
	check_sent(c, rc, NULL, list_of(sb_value_copy(refs), NULL));
	rc = sb_pystr(c, ref, NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_value_copy(ref), NULL));
	rc = sb_session_open(c, NULL, settings, &r, &err);
	check_sent(c, rc, r, list_of(sb_nil(), sb_value_copy(settings), NULL));
	rc = sb_session_open(c, "n", NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_str("n"), NULL));
	rc = sb_session_close(c, "n", &err);
	check_sent(c, rc, NULL, list_of(sb_str("n"), NULL));
	rc = sb_session_list(c, &r, &err);
	check_sent(c, rc, r, sb_list_new());
	rc = sb_status(c, &r, &err);
	check_sent(c, rc, r, sb_list_new());
	rc = sb_ping(c, &err);
	check_sent(c, rc, NULL, sb_list_new());

	/* Per-call options: OPTS at its position, nil before it. */
	sb_opts_init(&o);
	ck_assert_int_eq(o.timeout_ms, -1);
	ck_assert_ptr_null(o.session);
	o.session = "s";
	rc = sb_call(c, "m", "f", NULL, NULL, &o, &r, &err);
	check_sent(c, rc, r, list_of(sb_str("m"), sb_str("f"), sb_nil(),
	    sb_nil(), map_of("session", sb_str("s"), NULL), NULL));
	sb_opts_init(&o);
	o.timeout_ms = 0;
	rc = sb_get(c, "math", "pi", &o, &r, &err);
	check_sent(c, rc, r, list_of(sb_str("math"), sb_str("pi"),
	    map_of("timeout", sb_int(0), NULL), NULL));
	o.timeout_ms = 100;
	rc = sb_next(c, ref, 0, &o, &r, &err);
	check_sent(c, rc, r, list_of(sb_value_copy(ref), sb_nil(),
	    map_of("timeout", sb_int(100), NULL), NULL));

	/* Client defaults fill what the call leaves unset. */
	ck_assert_int_eq(sb_client_set_session(c, "s1"), 0);
	ck_assert_int_eq(sb_client_set_timeout(c, 5000), 0);
	ck_assert_int_eq(sb_client_set_timeout(c, -2), SB_EINVAL);
	ck_assert_int_eq(sb_client_set_pool(c, "gpu"), 0);
	ck_assert_int_eq(sb_client_set_pool(c, NULL), 0);
	ck_assert_int_eq(sb_client_set_profile(c, "batch_job"), 0);
	ck_assert_int_eq(sb_client_set_affinity(c, "hint"), 0);
	rc = sb_repr(c, ref, NULL, &r, &err);
	check_sent(c, rc, r, list_of(sb_value_copy(ref), map_of(
	    "session", sb_str("s1"), "timeout_profile", sb_str("batch_job"),
	    "affinity", sb_str("hint"), "timeout", sb_int(5000), NULL), NULL));
	sb_opts_init(&o);
	o.session = "override";
	o.pool = "p";
	o.timeout_ms = 7;
	rc = sb_attr(c, ref, "a", &o, &r, &err);
	check_sent(c, rc, r, list_of(sb_value_copy(ref), sb_str("a"), map_of(
	    "session", sb_str("override"), "pool", sb_str("p"),
	    "timeout_profile", sb_str("batch_job"), "affinity", sb_str("hint"),
	    "timeout", sb_int(7), NULL), NULL));
	/* Methods without OPTS never get them. */
	rc = sb_session_info(c, "n", &r, &err);
	check_sent(c, rc, r, list_of(sb_str("n"), NULL));

	sb_value_free(ref);
	sb_value_free(args);
	sb_value_free(refs);
	sb_value_free(settings);
	sb_client_close(c);
}
END_TEST

START_TEST(test_client_bad_args)
{
	sb_client *c = fake_connect();
	sb_value *r = (sb_value *)1, *s = sb_str("x"), *m = sb_map_new();
	sb_error *err = (sb_error *)1;
	sb_pending *p = (sb_pending *)1;

	ck_assert_int_eq(sb_call(c, NULL, "f", NULL, NULL, NULL, &r, &err),
	    SB_EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(sb_call(c, "m", "f", s, NULL, NULL, &r, &err),
	    SB_EINVAL);
	ck_assert_int_eq(sb_call(c, "m", "f", NULL, s, NULL, &r, &err),
	    SB_EINVAL);
	ck_assert_int_eq(sb_call(c, "m", "f", m, NULL, NULL, &r, &err),
	    SB_EINVAL);
	ck_assert_int_eq(sb_method(c, s, "x", NULL, NULL, NULL, &r, &err),
	    SB_EINVAL);
	ck_assert_int_eq(sb_attr(c, NULL, "x", NULL, &r, &err), SB_EINVAL);
	ck_assert_int_eq(sb_repr(c, s, NULL, &r, &err), SB_EINVAL);
	ck_assert_int_eq(sb_release(c, s, NULL, &err), SB_EINVAL);
	ck_assert_int_eq(sb_release(c, NULL, NULL, &err), SB_EINVAL);
	ck_assert_int_eq(sb_session_close(c, NULL, &err), SB_EINVAL);
	ck_assert_int_eq(sb_request(c, "echo", s, &r, &err), SB_EINVAL);
	ck_assert_int_eq(sb_request(NULL, "echo", NULL, &r, &err), SB_EINVAL);
	ck_assert_int_eq(sb_call_async(c, "m", NULL, NULL, NULL, NULL, &p),
	    SB_EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(sb_client_poll(NULL, 0), SB_EINVAL);
	ck_assert_int_eq(sb_client_fd(NULL), -1);
	sb_value_free(s);
	sb_value_free(m);
	sb_client_close(c);
	sb_client_close(NULL);
}
END_TEST

START_TEST(test_client_remote_error)
{
	sb_client *c = fake_connect();
	sb_value *r = NULL;
	sb_error *err = NULL;
	const sb_value *d;

	ck_assert_int_eq(sb_request(c, "fail", NULL, &r, &err), SB_EREMOTE);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(sb_error_type(err), "ValueError");
	ck_assert_str_eq(sb_error_message(err), "math domain error");
	ck_assert_str_eq(sb_error_module(err), "builtins");
	ck_assert_str_eq(sb_error_traceback(err),
	    "Traceback (most recent call last):\n"
	    "ValueError: math domain error\n");
	d = sb_error_details(err);
	ck_assert_uint_eq(sb_value_len(sb_map_get(d, "args")), 1);
	sb_error_free(err);
	/* err NULL: the caller does not want it; nothing leaks. */
	ck_assert_int_eq(sb_request(c, "fail", NULL, &r, NULL), SB_EREMOTE);
	/* A peer that sends a plain string as the error. */
	ck_assert_int_eq(sb_request(c, "failstr", NULL, &r, &err), SB_EREMOTE);
	ck_assert_str_eq(sb_error_type(err), "Error");
	ck_assert_str_eq(sb_error_message(err), "plain text error");
	sb_error_free(err);
	/* An invalid ext in one answer fails that request only. */
	ck_assert_int_eq(sb_request(c, "badext", NULL, &r, &err), SB_EPROTO);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(sb_request(c, "echo", NULL, &r, &err), 0);
	sb_value_free(r);
	sb_client_close(c);
}
END_TEST

/*
 * 100 pipelined requests answered in reverse order after notifications
 * and a daemon request the client must answer.
 */
START_TEST(test_client_pipeline)
{
	sb_client *c = fake_connect();
	sb_pending *p[100], *fl;
	sb_value *params, *r;
	sb_error *err;
	int64_t i, v;
	int n;

	for (i = 0; i < 100; i++) {
		params = int_list(i);
		ck_assert_int_eq(sb_request_async(c, "slow", params, &p[i]), 0);
		sb_value_free(params);
		ck_assert_int_eq(sb_pending_done(p[i]), 0);
	}
	/* Nothing is answered yet. */
	ck_assert_int_eq(sb_wait(c, p[0], 50, &r, &err), SB_EAGAIN);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(sb_request_async(c, "flush", NULL, &fl), 0);
	/* Abandon one before its answer comes. */
	sb_pending_free(c, p[50]);
	ck_assert_int_eq(sb_wait(c, fl, 10000, &r, NULL), 0);
	ck_assert_int_eq(sb_value_type(r), SB_BOOL);
	sb_value_free(r);
	/* The flush answer came last: every other one is in. */
	for (i = 0; i < 100; i++) {
		if (i == 50)
			continue;
		ck_assert_int_eq(sb_pending_done(p[i]), 1);
	}
	for (i = 99; i >= 0; i--) {
		if (i == 50)
			continue;
		ck_assert_int_eq(sb_wait(c, p[i], 0, &r, &err), 0);
		ck_assert_int_eq(sb_value_get_int(r, &v), 0);
		ck_assert_int_eq(v, 2 * i);
		sb_value_free(r);
	}
	/* The daemon's callback request was answered with an error. */
	ck_assert_int_eq(sb_request(c, "cbresult", NULL, &r, NULL), 0);
	ck_assert_str_eq(sb_value_str(r, NULL), "snakebridge.CallbackFailed");
	sb_value_free(r);
	/* poll with nothing to do returns 0 messages. */
	n = sb_client_poll(c, 0);
	ck_assert_int_eq(n, 0);
	sb_client_close(c);
}
END_TEST

/*
 * 100 requests of 50 KiB each, submitted at once: more than the socket
 * buffers hold, so the client must read answers while it still writes.
 */
START_TEST(test_client_pipeline_bulk)
{
	static char chunk[50000];
	sb_client *c = fake_connect();
	sb_pending *p[100];
	sb_value *params, *r;
	const void *data;
	size_t i, len;

	for (i = 0; i < 100; i++) {
		memset(chunk, (int)i, sizeof(chunk));
		params = sb_list_new();
		ck_assert_int_eq(sb_list_append(params, sb_bytes(chunk,
		    sizeof(chunk))), 0);
		ck_assert_int_eq(sb_request_async(c, "echo", params, &p[i]), 0);
		sb_value_free(params);
	}
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(sb_wait(c, p[i], 30000, &r, NULL), 0);
		data = sb_value_bytes(sb_value_item(r, 0), &len);
		ck_assert_uint_eq(len, sizeof(chunk));
		ck_assert_int_eq(((const unsigned char *)data)[len - 1],
		    (unsigned char)i);
		sb_value_free(r);
	}
	sb_client_close(c);
}
END_TEST

/* Handles still in flight are freed by sb_client_close (ASan checks). */
START_TEST(test_client_close_pending)
{
	sb_client *c = fake_connect();
	sb_pending *p1, *p2;
	sb_value *params = int_list(1), *r;

	ck_assert_int_eq(sb_request_async(c, "slow", params, &p1), 0);
	ck_assert_int_eq(sb_request_async(c, "echo", params, &p2), 0);
	ck_assert_int_eq(sb_wait(c, p2, 10000, &r, NULL), 0);
	sb_value_free(r);
	ck_assert_int_eq(sb_request_async(c, "echo", params, &p2), 0);
	ck_assert_int_eq(sb_client_poll(c, 5000) >= 0, 1);
	sb_value_free(params);
	sb_client_close(c);
}
END_TEST

START_TEST(test_client_half_message)
{
	sb_client *c = fake_connect();
	sb_pending *p;
	sb_value *r;
	sb_error *err;

	ck_assert_int_eq(sb_request_async(c, "slow", NULL, &p), 0);
	ck_assert_int_eq(sb_request(c, "half", NULL, &r, &err), SB_ECLOSED);
	ck_assert_ptr_null(err);
	/* The other waiting request is finished too, and nothing hangs. */
	ck_assert_int_eq(sb_pending_done(p), 1);
	ck_assert_int_eq(sb_wait(c, p, -1, &r, &err), SB_ECLOSED);
	ck_assert_int_eq(sb_ping(c, &err), SB_ECLOSED);
	ck_assert_int_eq(sb_client_poll(c, 0), SB_ECLOSED);
	ck_assert_int_eq(sb_client_fd(c), -1);
	sb_client_close(c);
}
END_TEST

START_TEST(test_client_garbage)
{
	sb_client *c = fake_connect();
	sb_value *r;
	sb_error *err;

	ck_assert_int_eq(sb_request(c, "garbage", NULL, &r, &err), SB_EPROTO);
	ck_assert_int_eq(sb_request(c, "echo", NULL, &r, &err), SB_ECLOSED);
	sb_client_close(c);

	c = fake_connect();
	ck_assert_int_eq(sb_request(c, "notarray", NULL, &r, &err),
	    SB_EPROTO);
	sb_client_close(c);

	/* Larger than the max_message_size announced in hello. */
	c = fake_connect();
	ck_assert_int_eq(sb_request(c, "huge", NULL, &r, &err), SB_EPROTO);
	sb_client_close(c);

	/* The envelope in its widest forms is read as in its smallest. */
	c = fake_connect();
	ck_assert_int_eq(sb_request(c, "wide", NULL, &r, &err), 0);
	ck_assert_str_eq(sb_value_str(r, NULL), "ok");
	sb_value_free(r);
	ck_assert_int_eq(sb_request(c, "echo", NULL, &r, &err), 0);
	sb_value_free(r);
	sb_client_close(c);

	/* A msgid below 0 or past 32 bits is not msgpack-rpc. */
	c = fake_connect();
	ck_assert_int_eq(sb_request(c, "negid", NULL, &r, &err), SB_EPROTO);
	sb_client_close(c);
	c = fake_connect();
	ck_assert_int_eq(sb_request(c, "bigid", NULL, &r, &err), SB_EPROTO);
	sb_client_close(c);
}
END_TEST

START_TEST(test_client_request_too_large)
{
	sb_client *c = fake_connect();
	sb_value *params = sb_list_new(), *r;
	static char big[70000], huge[300 * 1024];
	int i;

	sb_list_append(params, sb_bytes(big, sizeof(big)));
	ck_assert_int_eq(sb_request(c, "echo", params, &r, NULL), SB_ERANGE);
	sb_value_free(params);
	/* Large enough to be queued by reference, then dropped. */
	params = sb_list_new();
	sb_list_append(params, sb_str("before"));
	sb_list_append(params, sb_bytes(huge, sizeof(huge)));
	sb_list_append(params, sb_str("after"));
	ck_assert_int_eq(sb_request(c, "echo", params, &r, NULL), SB_ERANGE);
	sb_value_free(params);
	/* Deeper than the max_depth (16) the hello announced. */
	params = sb_list_new();
	for (i = 0; i < 16; i++)
		params = list_of(params, NULL);
	ck_assert_int_eq(sb_request(c, "echo", params, &r, NULL), SB_ERANGE);
	sb_value_free(params);
	/* 14 levels in the params array are 16 in the message. */
	params = sb_list_new();
	for (i = 0; i < 13; i++)
		params = list_of(params, NULL);
	ck_assert_int_eq(sb_request(c, "echo", params, &r, NULL), 0);
	sb_value_free(r);
	sb_value_free(params);
	/* The connection is intact. */
	ck_assert_int_eq(sb_request(c, "echo", NULL, &r, NULL), 0);
	sb_value_free(r);
	sb_client_close(c);
}
END_TEST

START_TEST(test_client_error_notice)
{
	sb_client *c = fake_connect();
	const sb_error *e;
	sb_value *r;

	ck_assert_int_eq(sb_request(c, "bye", NULL, &r, NULL), SB_ECLOSED);
	e = sb_client_last_error(c);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(sb_error_type(e), "snakebridge.ProtocolError");
	ck_assert_str_eq(sb_error_message(e), "go away");
	sb_client_close(c);
}
END_TEST

START_TEST(test_connect_failures)
{
	char path[200], buf[8];
	sb_client *c = (sb_client *)1;

	ck_assert_int_eq(sb_client_connect("/nonexistent/snakebridged.sock",
	    &c), SB_ECONNECT);
	ck_assert_ptr_null(c);
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(sb_client_connect(path, &c), SB_EINVAL);
	ck_assert_int_eq(sb_client_connect("/tmp/x", NULL), SB_EINVAL);

	setenv("SNAKEBRIDGE_SOCKET", "/tmp/explicit.sock", 1);
	ck_assert_int_eq(sb_default_socket_path(path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/tmp/explicit.sock");
	ck_assert_int_eq(sb_default_socket_path(buf, sizeof(buf)), SB_ERANGE);
	ck_assert_int_eq(sb_default_socket_path(NULL, 10), SB_EINVAL);
	unsetenv("SNAKEBRIDGE_SOCKET");
	setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
	ck_assert_int_eq(sb_default_socket_path(path, sizeof(path)), 0);
	if (geteuid() == 0)
		ck_assert_str_eq(path, "/run/snakebridged/snakebridged.sock");
	else
		ck_assert_str_eq(path, "/run/user/1234/snakebridged.sock");
	unsetenv("XDG_RUNTIME_DIR");
	ck_assert_int_eq(sb_default_socket_path(path, sizeof(path)), 0);
	if (geteuid() != 0) {
		snprintf(buf, sizeof(buf), "%u", (unsigned)geteuid());
		ck_assert_ptr_nonnull(strstr(path, "/tmp/snakebridged-"));
	}
	/* Nothing listens at the default path of this test. */
	setenv("SNAKEBRIDGE_SOCKET", "/nonexistent/x.sock", 1);
	ck_assert_int_eq(sb_client_connect(NULL, &c), SB_ECONNECT);
	unsetenv("SNAKEBRIDGE_SOCKET");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Shared blocks against the fake daemon                               */
/* ------------------------------------------------------------------ */

/*
 * An ext 12 value as a peer would send it: the payload [dtype, [n], block,
 * offset, nbytes], or with malformed set a payload of four elements only.
 */
static sb_value *
shm_ext(const char *dtype, uint64_t n, uint64_t block, uint64_t offset,
    uint64_t nbytes, int malformed)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	sb_value *v;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, malformed ? 4 : 5);
	msgpack_pack_str_with_body(&pk, dtype, strlen(dtype));
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint64(&pk, n);
	msgpack_pack_uint64(&pk, block);
	msgpack_pack_uint64(&pk, offset);
	if (!malformed)
		msgpack_pack_uint64(&pk, nbytes);
	v = sb_ext(SB_EXT_SHMARRAY, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	ck_assert_ptr_nonnull(v);
	return (v);
}

/* Echo [v] (taken) on c: the rc, and the echoed item in *out. */
static int
shm_echo(sb_client *c, sb_value *v, sb_value **out)
{
	sb_value *params = list_of(v, NULL), *r = NULL;
	int rc;

	*out = NULL;
	rc = sb_request(c, "echo", params, &r, NULL);
	sb_value_free(params);
	if (rc == 0) {
		ck_assert_uint_eq(sb_value_len(r), 1);
		*out = sb_value_copy(sb_value_item(r, 0));
		sb_value_free(r);
	}
	return (rc);
}

/* v is an ndarray over m at offset. */
static void
check_view(const sb_value *v, sb_shm *m, size_t offset)
{
	const void *data;
	size_t off = (size_t)-1;

	ck_assert_ptr_eq(sb_value_shm(v, &off), m);
	ck_assert_uint_eq(off, offset);
	ck_assert_int_eq(sb_value_get_ndarray(v, NULL, NULL, NULL, &data,
	    NULL), 0);
	ck_assert_ptr_eq(data, (char *)sb_shm_data(m) + offset);
}

/* Where an array over a block may lie, and what it may be. */
START_TEST(test_shm_ndarray_bounds)
{
	static const int64_t four[1] = { 4 }, zero[1] = { 0 }, neg[1] = { -1 };
	static const int64_t huge[2] = { INT64_MAX, 4 };
	int64_t many[33];
	sb_client *c = fake_connect();
	sb_value *v;
	sb_shm *m;
	size_t i;

	ck_assert_int_eq(sb_shm_create(c, 4096, &m), 0);
	ck_assert_uint_eq(sb_shm_size(m), 4096);
	ck_assert_uint_eq(sb_shm_id(m), 1);
	for (i = 0; i < 4096; i++)	/* zero-filled */
		ck_assert_int_eq(((char *)sb_shm_data(m))[i], 0);
	v = sb_ndarray_shm(m, 4096 - 32, "<f8", four, 1);	/* to the end */
	ck_assert_ptr_nonnull(v);
	check_view(v, m, 4096 - 32);
	sb_value_free(v);
	v = sb_ndarray_shm(m, 4096, "|b1", zero, 1);	/* empty, at the end */
	ck_assert_ptr_nonnull(v);
	sb_value_free(v);
	ck_assert_ptr_null(sb_ndarray_shm(m, 4096 - 31, "<f8", four, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, 4097, "|b1", zero, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, SIZE_MAX, "<f8", four, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, "<f8", huge, 2));
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, "<f8", neg, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, "<f8", NULL, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, "|O", four, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, "<U3", four, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, "<f", four, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, "", four, 1));
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, NULL, four, 1));
	ck_assert_ptr_null(sb_ndarray_shm(NULL, 0, "<f8", four, 1));
	/* 32 characters: one more than an ext 12 carries. */
	ck_assert_ptr_null(sb_ndarray_shm(m, 0,
	    "<f000000000000000000000000000008", four, 1));
	for (i = 0; i < 33; i++)
		many[i] = 1;
	ck_assert_ptr_null(sb_ndarray_shm(m, 0, "|u1", many, 33));
	v = sb_ndarray_shm(m, 0, "|u1", many, 32);
	ck_assert_ptr_nonnull(v);
	sb_value_free(v);
	/* Not an ndarray, or not over a block. */
	v = sb_ndarray("<f8", four, 1, "0123456789abcdef0123456789abcdef",
	    32);
	ck_assert_ptr_null(sb_value_shm(v, NULL));
	sb_value_free(v);
	ck_assert_ptr_null(sb_value_shm(NULL, NULL));
	ck_assert_ptr_null(sb_shm_data(NULL));
	ck_assert_uint_eq(sb_shm_size(NULL), 0);
	sb_shm_free(m);
	sb_shm_free(NULL);
	sb_client_close(c);
}
END_TEST

/*
 * An array over a block goes by reference (ext 12) on its connection, in
 * tuples too, and comes back a view of the same bytes; on another
 * connection and through sb_value_pack it is a copy (ext 8).
 */
START_TEST(test_shm_pack_where)
{
	static const int64_t shape[2] = { 2, 3 };
	sb_client *c = fake_connect(), *c2 = fake_connect();
	sb_value *v, *r, *t, *plain, *back;
	sb_shm *m;
	double *d;
	void *buf, *buf2;
	size_t len, len2, i;

	ck_assert_int_eq(sb_shm_create(c, 1 << 16, &m), 0);
	d = (double *)((char *)sb_shm_data(m) + 64);
	for (i = 0; i < 6; i++)
		d[i] = (double)i + 0.5;
	v = sb_ndarray_shm(m, 64, "<f8", shape, 2);
	plain = sb_ndarray("<f8", shape, 2, d, 6 * sizeof(double));
	ck_assert(sb_value_equal(v, plain));

	ck_assert_int_eq(shm_echo(c, sb_value_copy(v), &r), 0);
	check_view(r, m, 64);
	ck_assert(sb_value_equal(r, plain));
	d[5] = -1;	/* one memory: the view sees it */
	ck_assert(!sb_value_equal(r, plain));
	ck_assert(sb_value_equal(r, v));
	sb_value_free(r);

	t = sb_tuple_new();
	ck_assert_int_eq(sb_list_append(t, sb_value_copy(v)), 0);
	ck_assert_int_eq(shm_echo(c, t, &r), 0);
	ck_assert_int_eq(sb_value_type(r), SB_TUPLE);
	check_view(sb_value_item(r, 0), m, 64);
	sb_value_free(r);

	/* Not attached on c2: the data travels. */
	ck_assert_int_eq(shm_echo(c2, sb_value_copy(v), &r), 0);
	ck_assert_ptr_null(sb_value_shm(r, NULL));
	ck_assert(sb_value_equal(r, v));
	sb_value_free(r);

	/* sb_value_pack: ext 8, byte for byte what a plain array gives. */
	sb_value_free(plain);
	plain = sb_ndarray("<f8", shape, 2, d, 6 * sizeof(double));
	ck_assert_int_eq(sb_value_pack(v, &buf, &len), 0);
	ck_assert_int_eq(sb_value_pack(plain, &buf2, &len2), 0);
	ck_assert_uint_eq(len, len2);
	ck_assert_int_eq(memcmp(buf, buf2, len), 0);
	ck_assert_int_eq(sb_value_unpack(buf, len, &back), 0);
	ck_assert_ptr_null(sb_value_shm(back, NULL));
	ck_assert(sb_value_equal(back, v));
	sb_value_free(back);
	free(buf);
	free(buf2);

	/* A copy is another view of the block. */
	r = sb_value_copy(v);
	check_view(r, m, 64);
	sb_value_free(r);

	sb_value_free(plain);
	sb_value_free(v);
	sb_shm_free(m);
	sb_client_close(c2);
	sb_client_close(c);
}
END_TEST

/*
 * ext 12 from the peer: a view when it names a block of this connection
 * within its bounds and its size fits; otherwise that request fails with
 * SB_EPROTO and the connection goes on.
 */
START_TEST(test_shm_unpack_checked)
{
	static const struct {
		const char	*dtype;
		uint64_t	 n, block, offset, nbytes;
		int		 malformed;
	} bad[] = {
		{ "<f8", 1, 2, 0, 8, 0 },		/* unknown block */
		{ "<f8", 4, 1, 4072, 32, 0 },		/* past the end */
		{ "<f8", 0, 1, 5000, 0, 0 },
		{ "<f8", 1, 1, UINT64_MAX - 16, 8, 0 },
		{ "<f8", 1, 1, UINT64_MAX - 4, 8, 0 },	/* wraps around */
		{ "<f8", 4, 1, 0, 16, 0 },		/* lying sizes */
		{ "<f8", 2, 1, 0, 32, 0 },
		{ "|O", 1, 1, 0, 8, 0 },		/* not a number dtype */
		{ "<f8", (uint64_t)INT64_MAX + 1, 1, 0, 8, 0 },
		{ "<f8", 1, 1, 0, 8, 1 },		/* four elements */
	};
	sb_client *c = fake_connect(), *c2 = fake_connect();
	sb_value *r, *raw;
	sb_shm *m;
	void *buf;
	size_t len, i;
	int8_t type;

	ck_assert_int_eq(sb_shm_create(c, 4096, &m), 0);
	ck_assert_int_eq(shm_echo(c, shm_ext("<f8", 4, 1, 4064, 32, 0), &r),
	    0);
	check_view(r, m, 4064);
	sb_value_free(r);
	ck_assert_int_eq(shm_echo(c, shm_ext("|b1", 0, 1, 4096, 0, 0), &r), 0);
	check_view(r, m, 4096);
	sb_value_free(r);
	/* A block of another connection. */
	ck_assert_int_eq(shm_echo(c2, shm_ext("<f8", 1, 1, 0, 8, 0), &r),
	    SB_EPROTO);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(shm_echo(c, shm_ext(bad[i].dtype, bad[i].n,
		    bad[i].block, bad[i].offset, bad[i].nbytes,
		    bad[i].malformed), &r) == SB_EPROTO, "bad ext 12 #%zu "
		    "accepted", i);
	ck_assert_int_eq(shm_echo(c, sb_ext(SB_EXT_SHMARRAY, "\x93", 1), &r),
	    SB_EPROTO);
	ck_assert_int_eq(shm_echo(c, sb_ext(SB_EXT_SHMARRAY, "", 0), &r),
	    SB_EPROTO);
	ck_assert_int_eq(shm_echo(c, sb_int(5), &r), 0);
	sb_value_free(r);

	/* Without a connection, ext 12 stays raw. */
	raw = shm_ext("<f8", 1, 1, 0, 8, 0);
	ck_assert_int_eq(sb_value_pack(raw, &buf, &len), 0);
	sb_value_free(raw);
	ck_assert_int_eq(sb_value_unpack(buf, len, &r), 0);
	free(buf);
	ck_assert_int_eq(sb_value_get_ext(r, &type, NULL, NULL), 0);
	ck_assert_int_eq(type, SB_EXT_SHMARRAY);
	sb_value_free(r);

	sb_shm_free(m);
	sb_client_close(c2);
	sb_client_close(c);
}
END_TEST

/*
 * sb_shm_free detaches (its answer is consumed unseen); values keep the
 * memory and go as copies from then on; closing the client first leaves
 * blocks and values usable.
 */
START_TEST(test_shm_free_and_close)
{
	static const int64_t shape[1] = { 2 };
	static const double two[2] = { 3, 4 };
	sb_client *c = fake_connect();
	sb_value *v, *w, *r, *last, *expect;
	const void *data;
	sb_shm *m, *m2;

	ck_assert_int_eq(sb_shm_create(c, 4096, &m), 0);
	memcpy(sb_shm_data(m), two, sizeof(two));
	v = sb_ndarray_shm(m, 0, "<f8", shape, 1);
	ck_assert_ptr_nonnull(v);
	sb_shm_free(m);
	ck_assert_int_eq(sb_request(c, "last", NULL, &last, NULL), 0);
	expect = list_of(sb_int(1), NULL);	/* shm.detach [1] */
	ck_assert(sb_value_equal(last, expect));
	sb_value_free(expect);
	sb_value_free(last);
	/* Still mapped while v uses it. */
	ck_assert_int_eq(sb_value_get_ndarray(v, NULL, NULL, NULL, &data,
	    NULL), 0);
	ck_assert_int_eq(memcmp(data, two, sizeof(two)), 0);
	ck_assert_int_eq(shm_echo(c, sb_value_copy(v), &r), 0);
	ck_assert_ptr_null(sb_value_shm(r, NULL));	/* detached: a copy */
	ck_assert(sb_value_equal(r, v));
	sb_value_free(r);
	/* An ext 12 of the detached block is unknown now. */
	ck_assert_int_eq(shm_echo(c, shm_ext("<f8", 1, 1, 0, 8, 0), &r),
	    SB_EPROTO);
	sb_value_free(v);

	ck_assert_int_eq(sb_shm_create(c, 4096, &m2), 0);
	ck_assert_uint_eq(sb_shm_id(m2), 2);
	memcpy(sb_shm_data(m2), two, sizeof(two));
	w = sb_ndarray_shm(m2, 0, "<f8", shape, 1);
	sb_client_close(c);
	r = sb_ndarray("<f8", shape, 1, two, sizeof(two));
	ck_assert(sb_value_equal(w, r));
	sb_value_free(r);
	sb_shm_free(m2);	/* must not touch the closed client */
	ck_assert(sb_value_equal(w, w));
	sb_value_free(w);
}
END_TEST

/* The two floats of v are 3 and 4 (v an ndarray over a block). */
static void
check_three_four(const sb_value *v)
{
	static const double two[2] = { 3, 4 };
	const void *data;
	size_t len;

	ck_assert_int_eq(sb_value_get_ndarray(v, NULL, NULL, NULL, &data,
	    &len), 0);
	ck_assert_uint_eq(len, sizeof(two));
	ck_assert_int_eq(memcmp(data, two, sizeof(two)), 0);
}

/*
 * A result of a request in flight that lies in a block freed meanwhile
 * fails alone (SB_EPROTO) and the connection goes on; a lost connection
 * refuses new blocks (SB_ECLOSED) and its blocks and values still free
 * cleanly.
 */
START_TEST(test_shm_inflight_and_lost)
{
	static const int64_t shape[1] = { 2 };
	static const double two[2] = { 3, 4 };
	sb_client *c = fake_connect();
	sb_value *v, *w, *params, *r;
	sb_pending *p;
	sb_shm *m, *m2 = (sb_shm *)1;

	ck_assert_int_eq(sb_shm_create(c, 4096, &m), 0);
	memcpy(sb_shm_data(m), two, sizeof(two));
	v = sb_ndarray_shm(m, 0, "<f8", shape, 1);
	ck_assert_ptr_nonnull(v);
	params = list_of(sb_value_copy(v), NULL);
	ck_assert_int_eq(sb_request_async(c, "echo", params, &p), 0);
	sb_value_free(params);
	sb_shm_free(m);		/* before the echo of its array comes */
	ck_assert_int_eq(sb_wait(c, p, 10000, &r, NULL), SB_EPROTO);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(shm_echo(c, sb_int(5), &r), 0);
	sb_value_free(r);
	check_three_four(v);

	ck_assert_int_eq(sb_shm_create(c, 4096, &m), 0);
	memcpy(sb_shm_data(m), two, sizeof(two));
	w = sb_ndarray_shm(m, 0, "<f8", shape, 1);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(sb_request(c, "bye", NULL, &r, NULL), SB_ECLOSED);
	ck_assert_int_eq(sb_shm_create(c, 4096, &m2), SB_ECLOSED);
	ck_assert_ptr_null(m2);
	ck_assert_int_eq(shm_echo(c, sb_value_copy(w), &r), SB_ECLOSED);
	sb_shm_free(m);
	check_three_four(w);
	sb_value_free(w);
	sb_value_free(v);
	sb_client_close(c);
}
END_TEST

/*
 * A refused attach is SB_EREMOTE with the daemon's error kept; bad
 * arguments; a block made while requests are queued goes after them.
 */
START_TEST(test_shm_create_cases)
{
	static char chunk[60000];
	sb_client *c = fake_connect();
	sb_pending *p[20];
	sb_value *params, *r;
	const void *data;
	sb_shm *m = (sb_shm *)1;
	size_t i, len;

	ck_assert_int_eq(sb_shm_create(c, 777, &m), SB_EREMOTE);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(sb_error_type(sb_client_last_error(c)),
	    "snakebridge.LimitExceeded");
	ck_assert_int_eq(sb_shm_create(NULL, 4096, &m), SB_EINVAL);
	ck_assert_int_eq(sb_shm_create(c, 0, &m), SB_EINVAL);
	ck_assert_int_eq(sb_shm_create(c, 4096, NULL), SB_EINVAL);
	ck_assert_int_eq(sb_shm_create(c, SIZE_MAX, &m), SB_ERANGE);
	/* Within int64 but more than the address space maps. */
	ck_assert_int_eq(sb_shm_create(c, (size_t)1 << 62, &m), SB_ENOMEM);
	ck_assert_ptr_null(m);

	for (i = 0; i < 20; i++) {
		memset(chunk, (int)i, sizeof(chunk));
		params = list_of(sb_bytes(chunk, sizeof(chunk)), NULL);
		ck_assert_int_eq(sb_request_async(c, "echo", params, &p[i]),
		    0);
		sb_value_free(params);
	}
	ck_assert_int_eq(sb_shm_create(c, 4096, &m), 0);
	ck_assert_uint_eq(sb_shm_id(m), 1);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(sb_wait(c, p[i], 10000, &r, NULL), 0);
		data = sb_value_bytes(sb_value_item(r, 0), &len);
		ck_assert_uint_eq(len, sizeof(chunk));
		ck_assert_int_eq(((const unsigned char *)data)[len - 1], i);
		sb_value_free(r);
	}
	sb_shm_free(m);
	sb_client_close(c);
}
END_TEST

/* A callback's result: an array over a block goes as a copy (ext 8). */
static int
shm_cb(sb_client *c, const sb_value *args, const sb_value *kwargs, void *ud,
    sb_value **result, sb_error **err)
{
	*result = sb_value_copy(ud);
	return (0);
}

START_TEST(test_shm_callback_result)
{
	static const int64_t shape[1] = { 3 };
	sb_client *c = fake_connect();
	sb_value *v, *cb, *r, *last;
	sb_shm *m;

	ck_assert_int_eq(sb_shm_create(c, 4096, &m), 0);
	memcpy(sb_shm_data(m), "abc", 3);
	v = sb_ndarray_shm(m, 0, "|u1", shape, 1);
	cb = sb_callback_new(c, shm_cb, v);	/* id 1: what "flush" calls */
	ck_assert_int_eq(sb_request(c, "flush", NULL, &r, NULL), 0);
	sb_value_free(r);
	ck_assert_int_eq(sb_request(c, "last", NULL, &last, NULL), 0);
	ck_assert_int_eq(sb_value_type(last), SB_NDARRAY);
	ck_assert_ptr_null(sb_value_shm(last, NULL));
	ck_assert(sb_value_equal(last, v));
	sb_value_free(last);
	sb_value_free(cb);
	sb_value_free(v);
	sb_shm_free(m);
	sb_client_close(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A peer that answers a request before reading it                     */
/* ------------------------------------------------------------------ */

#define EAGER_LEN	(4u << 20)	/* far more than the socket buffers */

static int	 eager_go[2] = { -1, -1 };	/* the test says "read on" */

/* The byte at i of the large argument. */
static unsigned char
eager_byte(size_t i)
{
	return ((unsigned char)(i * 13 + i / 4093));
}

#define EAGER_HELLO	2	/* eager_answer: the hello result */

/* Answer msgid with a bool, or with hello's result (limits for 64 MiB). */
static void
eager_answer(int fd, uint32_t msgid, int what)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint32(&pk, msgid);
	msgpack_pack_nil(&pk);
	if (what == EAGER_HELLO) {
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str_with_body(&pk, "limits", 6);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str_with_body(&pk, "max_message_size", 16);
		msgpack_pack_uint32(&pk, 64u << 20);
	} else if (what)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	if (write(fd, sb.data, sb.size) != (ssize_t)sb.size)
		_exit(3);
	msgpack_sbuffer_destroy(&sb);
}

/* The msgid of a request. */
static uint32_t
eager_msgid(const msgpack_unpacked *msg)
{
	return ((uint32_t)msg->data.via.array.ptr[1].via.u64);
}

/* Read into up until it yields the next whole message. */
static void
eager_next(int fd, msgpack_unpacker *up, msgpack_unpacked *msg)
{
	ssize_t n;

	while (msgpack_unpacker_next(up, msg) != MSGPACK_UNPACK_SUCCESS) {
		msgpack_unpacker_reserve_buffer(up, 1 << 16);
		if ((n = read(fd, msgpack_unpacker_buffer(up), 1 << 16)) <= 0)
			_exit(0);
		msgpack_unpacker_buffer_consumed(up, (size_t)n);
	}
}

/* 1 if msg is a request: [0, msgid, method, params]. */
static int
eager_is_request(const msgpack_object *msg)
{
	const msgpack_object *e = msg->via.array.ptr;

	return (msg->type == MSGPACK_OBJECT_ARRAY && msg->via.array.size == 4 &&
	    e[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER && e[0].via.u64 == 0 &&
	    e[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    e[2].type == MSGPACK_OBJECT_STR &&
	    e[3].type == MSGPACK_OBJECT_ARRAY);
}

/* 1 if the request's params are [bytes of EAGER_LEN as eager_byte]. */
static int
eager_intact(const msgpack_object *req)
{
	const msgpack_object *params = &req->via.array.ptr[3];
	const msgpack_object_bin *bin;
	size_t i;

	if (params->type != MSGPACK_OBJECT_ARRAY ||
	    params->via.array.size != 1 ||
	    params->via.array.ptr[0].type != MSGPACK_OBJECT_BIN)
		return (0);
	bin = &params->via.array.ptr[0].via.bin;
	if (bin->size != EAGER_LEN)
		return (0);
	for (i = 0; i < EAGER_LEN; i++)
		if ((unsigned char)bin->ptr[i] != eager_byte(i))
			return (0);
	return (1);
}

/*
 * Answer hello; answer the next request (the client numbers requests in
 * order: hello's msgid + 1) as soon as its first byte comes, then read
 * nothing until the test writes to eager_go; then read that request whole
 * and answer the one after it with whether the argument arrived intact;
 * then answer true to each request, and close at anything else.
 */
static void
eager_serve(int lfd)
{
	msgpack_unpacker up;
	msgpack_unpacked msg;
	uint32_t id;
	char c;
	int fd, ok;

	if ((fd = accept(lfd, NULL, NULL)) < 0)
		_exit(1);
	msgpack_unpacker_init(&up, 1 << 16);
	msgpack_unpacked_init(&msg);
	eager_next(fd, &up, &msg);
	id = eager_msgid(&msg);
	eager_answer(fd, id, EAGER_HELLO);
	msgpack_unpacker_reserve_buffer(&up, 1 << 16);
	if (read(fd, msgpack_unpacker_buffer(&up), 1) != 1)
		_exit(0);
	msgpack_unpacker_buffer_consumed(&up, 1);
	eager_answer(fd, id + 1, 1);
	if (read(eager_go[0], &c, 1) != 1)
		_exit(4);
	eager_next(fd, &up, &msg);
	ok = eager_intact(&msg.data);
	eager_next(fd, &up, &msg);
	eager_answer(fd, eager_msgid(&msg), ok);
	for (;;) {	/* true to each request until the client closes */
		eager_next(fd, &up, &msg);
		if (!eager_is_request(&msg.data))
			_exit(5);	/* the client sees the end */
		eager_answer(fd, eager_msgid(&msg), 1);
	}
}

/* The eager peer on a fresh socket (a checked fixture). */
static void
eager_start(void)
{
	int lfd = fake_listen();

	ck_assert_int_eq(pipe(eager_go), 0);
	server_pid = fork();
	ck_assert_int_ge(server_pid, 0);
	if (server_pid == 0) {
		alarm(60);
		close(eager_go[1]);
		eager_serve(lfd);
	}
	close(eager_go[0]);
	close(lfd);
}

static void
eager_stop(void)
{
	close(eager_go[1]);
	fake_stop();
}

/*
 * A synchronous call answered before its large argument is written: once
 * the call returns, the caller may change and free the argument, and the
 * peer still receives it whole (the unwritten rest was copied in).
 */
START_TEST(test_client_borrowed_copied_in)
{
	sb_client *c = NULL;
	unsigned char *data;
	sb_value *params, *deep, *r;
	sb_pending *p;
	size_t i;
	int b = 0, rc;

	ck_assert_ptr_nonnull(data = malloc(EAGER_LEN));
	for (i = 0; i < EAGER_LEN; i++)
		data[i] = eager_byte(i);
	params = sb_list_new();
	ck_assert_int_eq(sb_list_append(params, sb_bytes(data, EAGER_LEN)), 0);
	free(data);
	ck_assert_int_eq(sb_client_connect(sock_path, &c), 0);
	ck_assert_int_eq(sb_request(c, "take", params, &r, NULL), 0);
	ck_assert_int_eq(sb_value_get_bool(r, &b), 0);
	ck_assert_int_eq(b, 1);
	sb_value_free(r);
	/* The call returned: its argument is the caller's again. */
	memset((void *)sb_value_bytes(sb_value_item(params, 0), NULL), 0xee,
	    EAGER_LEN);
	sb_value_free(params);
	/*
	 * Refused midway, after a large piece was queued by reference right
	 * behind the unwritten rest: the queue is left as it was.
	 */
	deep = sb_list_new();
	for (i = 0; i < 64; i++)		/* past the default depth */
		deep = list_of(deep, NULL);
	ck_assert_ptr_nonnull(data = calloc(1, EAGER_LEN));
	params = list_of(sb_bytes(data, EAGER_LEN), deep, NULL);
	free(data);
	ck_assert_int_eq(sb_request(c, "echo", params, &r, NULL), SB_ERANGE);
	ck_assert_int_eq(sb_request_async(c, "echo", params, &p), SB_ERANGE);
	sb_value_free(params);
	ck_assert_int_eq(write(eager_go[1], "x", 1), 1);
	/* Longer than the refused request's start, which it would follow. */
	ck_assert_int_eq(sb_request_async(c, "check the argument arrived",
	    NULL, &p), 0);
	rc = sb_wait(c, p, 20000, &r, NULL);
	ck_assert_msg(rc == 0, "no answer to check: the argument did not "
	    "arrive whole (%s)", sb_strerror(rc));
	b = 0;
	ck_assert_int_eq(sb_value_get_bool(r, &b), 0);
	ck_assert_msg(b, "the argument arrived changed");
	sb_value_free(r);
	/* Nothing of the refused requests was written after it. */
	ck_assert_int_eq(sb_request(c, "after", NULL, &r, NULL), 0);
	sb_value_free(r);
	sb_client_close(c);
}
END_TEST

static Suite *
value_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc;

	tc = tcase_create("values");
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_texts);
	tcase_add_test(tc, test_exts);
	tcase_add_test(tc, test_containers);
	tcase_add_test(tc, test_ownership_on_failure);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("codec");
	tcase_add_test(tc, test_roundtrip_edges);
	tcase_add_test(tc, test_encodings);
	tcase_add_test(tc, test_encodings_like_msgpack);
	tcase_add_test(tc, test_pack_depth);
	tcase_add_test(tc, test_unpack_hostile);
	tcase_add_test(tc, test_unpack_deep);
	tcase_add_test(tc, test_unpack_fuzz);
	suite_add_tcase(s, tc);

	tc = tcase_create("fake daemon");
	tcase_add_checked_fixture(tc, fake_start, fake_stop);
	tcase_add_test(tc, test_client_hello);
	tcase_add_test(tc, test_client_opts_position);
	tcase_add_test(tc, test_client_bad_args);
	tcase_add_test(tc, test_client_remote_error);
	tcase_add_test(tc, test_client_pipeline);
	tcase_add_test(tc, test_client_pipeline_bulk);
	tcase_add_test(tc, test_client_close_pending);
	tcase_add_test(tc, test_client_half_message);
	tcase_add_test(tc, test_client_garbage);
	tcase_add_test(tc, test_client_request_too_large);
	tcase_add_test(tc, test_client_error_notice);
	tcase_add_test(tc, test_shm_ndarray_bounds);
	tcase_add_test(tc, test_shm_pack_where);
	tcase_add_test(tc, test_shm_unpack_checked);
	tcase_add_test(tc, test_shm_free_and_close);
	tcase_add_test(tc, test_shm_inflight_and_lost);
	tcase_add_test(tc, test_shm_create_cases);
	tcase_add_test(tc, test_shm_callback_result);
	suite_add_tcase(s, tc);

	tc = tcase_create("early answer");
	tcase_add_checked_fixture(tc, eager_start, eager_stop);
	tcase_add_test(tc, test_client_borrowed_copied_in);
	suite_add_tcase(s, tc);

	tc = tcase_create("connect");
	tcase_add_test(tc, test_connect_failures);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_DFL);	/* the library must not raise it */
	sr = srunner_create(value_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
