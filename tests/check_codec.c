/*
 * check_codec.c: unit tests of the worker's codec (PyObject <-> msgpack) and
 * of the worker binary itself, driven over a socketpair as the daemon would.
 */
#include "adapter.h"
#include "wkfix.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SID	7

static PyObject	*globals;

/* Run Python code in the tests' globals (mode: Py_eval/file_input). */
static PyObject *
py_run(const char *code, int mode)
{
	PyObject	*v;

	v = PyRun_String(code, mode, globals, globals);
	if (v == NULL)
		PyErr_Print();
	ck_assert_msg(v != NULL, "python: %s", code);
	return (v);
}

/* Evaluate a Python expression. */
static PyObject *
py(const char *expr)
{
	return (py_run(expr, Py_eval_input));
}

/* Execute Python statements. */
static void
py_exec(const char *code)
{
	Py_DECREF(py_run(code, Py_file_input));
}

/* bool(expr) with the name `x` bound to o. */
static int
py_holds(PyObject *o, const char *expr)
{
	PyObject	*v;
	int		 r;

	PyDict_SetItemString(globals, "x", o);
	v = py(expr);
	r = PyObject_IsTrue(v);
	Py_DECREF(v);
	return (r);
}

/* Encode o; the buffer must be one msgpack value. */
static void
encode(PyObject *o, msgpack_sbuffer *sb)
{
	msgpack_sbuffer_init(sb);
	if (codec_encode(sb, o, SID) != 0)
		PyErr_Print();
	ck_assert_int_gt(sb->size, 0);
}

static PyObject *
decode_bytes(const char *p, size_t len)
{
	msgpack_unpacked	 u;
	size_t			 off = 0;
	PyObject		*o;

	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, p, len, &off),
	    MSGPACK_UNPACK_SUCCESS);
	ck_assert_uint_eq(off, len);
	o = codec_decode(&u.data, SID, 0);
	msgpack_unpacked_destroy(&u);
	return (o);
}

/* PyObject -> msgpack -> PyObject */
static PyObject *
roundtrip(PyObject *o)
{
	msgpack_sbuffer	 sb;
	PyObject	*back;

	encode(o, &sb);
	back = decode_bytes(sb.data, sb.size);
	if (back == NULL)
		PyErr_Print();
	ck_assert_ptr_nonnull(back);
	msgpack_sbuffer_destroy(&sb);
	return (back);
}

/* expr round trips to a value equal to itself, of the same type. */
static void
same(const char *expr)
{
	PyObject	*o = py(expr), *back = roundtrip(o);

	PyDict_SetItemString(globals, "orig", o);
	ck_assert_msg(py_holds(back, "type(x) is type(orig) and x == orig"),
	    "%s did not come back equal", expr);
	Py_DECREF(o);
	Py_DECREF(back);
}

/* The type name of the error the pending exception packs to. */
static char *
error_type(void)
{
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	msgpack_unpacked	 u;
	size_t			 off = 0;
	uint32_t		 i;
	char			*t = NULL;

	ck_assert_ptr_nonnull(PyErr_Occurred());
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pyerr_pack(&pk, SID);
	ck_assert_ptr_null(PyErr_Occurred());
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_MAP);
	for (i = 0; i < u.data.via.map.size; i++) {
		msgpack_object_kv *kv = &u.data.via.map.ptr[i];

		if (kv->key.via.str.size == 4 &&
		    memcmp(kv->key.via.str.ptr, "type", 4) == 0)
			t = strndup(kv->val.via.str.ptr, kv->val.via.str.size);
	}
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	ck_assert_ptr_nonnull(t);
	return (t);
}

/* Decoding these bytes fails with error type `want`. */
static void
decode_fails(const char *p, size_t len, const char *want)
{
	PyObject	*o = decode_bytes(p, len);
	char		*t;

	ck_assert_ptr_null(o);
	t = error_type();
	ck_assert_str_eq(t, want);
	free(t);
}

/* An ext value with the given payload, packed into sb. */
static void
pack_ext(msgpack_sbuffer *sb, int8_t type, const void *p, size_t len)
{
	msgpack_packer	 pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_ext_with_body(&pk, p, len, type);
}

/* The first byte's type of an encoding and, for ext, its type code. */
static int
wire_ext_type(const msgpack_sbuffer *sb)
{
	msgpack_unpacked	 u;
	size_t			 off = 0;
	int			 t = 1000;

	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb->data, sb->size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	if (u.data.type == MSGPACK_OBJECT_EXT)
		t = u.data.via.ext.type;
	msgpack_unpacked_destroy(&u);
	return (t);
}

static int
encoded_ext(const char *expr)
{
	PyObject	*o = py(expr);
	msgpack_sbuffer	 sb;
	int		 t;

	encode(o, &sb);
	t = wire_ext_type(&sb);
	msgpack_sbuffer_destroy(&sb);
	Py_DECREF(o);
	return (t);
}

START_TEST(test_ints)
{
	static const char *const v[] = {
		"0", "-1", "127", "-32", "2**63 - 1", "-2**63", "2**64 - 1",
		"2**64", "-2**63 - 1", "2**200", "-2**200", "True", "False",
	};
	size_t	 i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		same(v[i]);
	ck_assert_int_eq(encoded_ext("2**64 - 1"), 1000);
	ck_assert_int_eq(encoded_ext("-2**63"), 1000);
	ck_assert_int_eq(encoded_ext("2**64"), SB_EXT_BIGINT);
	ck_assert_int_eq(encoded_ext("-2**200"), SB_EXT_BIGINT);
}
END_TEST

START_TEST(test_floats)
{
	PyObject	*back;

	same("1.5");
	same("float('inf')");
	same("float('-inf')");
	same("-0.0");
	back = roundtrip(py("float('nan')"));
	ck_assert(PyFloat_Check(back) && isnan(PyFloat_AsDouble(back)));
	Py_DECREF(back);
	/* a float's subclass goes as a float, alone or in a container */
	py_exec("class F(float): pass");
	back = roundtrip(py("F(2.5)"));
	ck_assert(PyFloat_CheckExact(back) && PyFloat_AsDouble(back) == 2.5);
	Py_DECREF(back);
	back = roundtrip(py("[F(2.5), None, True, False]"));
	ck_assert(py_holds(back, "x == [2.5, None, True, False] and "
	    "type(x[0]) is float"));
	Py_DECREF(back);
}
END_TEST

START_TEST(test_empty_and_text)
{
	static const char *const v[] = {
		"[]", "{}", "()", "set()", "frozenset()", "''", "b''", "None",
		"'h\\u00e9llo w\\u00f6rld \\U0001F40D\\U0001F389'",
		"'nul\\x00inside'", "b'\\x00\\x01\\x00\\xff'",
		"[[], [[]], {}, ()]",
	};
	size_t	 i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		same(v[i]);
}
END_TEST

START_TEST(test_bytes_like)
{
	PyObject	*back;

	back = roundtrip(py("bytearray(b'a\\x00b')"));
	ck_assert(py_holds(back, "x == b'a\\x00b' and type(x) is bytes"));
	Py_DECREF(back);
	back = roundtrip(py("memoryview(b'xyz')[1:]"));
	ck_assert(py_holds(back, "x == b'yz'"));
	Py_DECREF(back);
}
END_TEST

START_TEST(test_maps_and_nesting)
{
	same("{1: 'a', (1, 2): 'b', None: 3, 2.5: 4, frozenset({1}): 5, "
	    "'s': [1, {'t': (1,)}]}");
	same("((1, (2, (3, ()))), {frozenset({1, 2}), (1, 2)})");
	same("[{1, 2, 3}, frozenset({'a', (1, 2)}), ((),)]");
	ck_assert_int_eq(encoded_ext("(1,)"), SB_EXT_TUPLE);
	ck_assert_int_eq(encoded_ext("{1}"), SB_EXT_SET);
	ck_assert_int_eq(encoded_ext("frozenset({1})"), SB_EXT_FROZENSET);
}
END_TEST

START_TEST(test_complex_and_time)
{
	same("1.5-2j");
	same("0j");
	same("datetime.date(2024, 5, 1)");
	same("datetime.datetime(2024, 5, 1, 12, 30, 0, 250000)");
	same("decimal.Decimal('-1.50')");
	same("decimal.Decimal('Infinity')");
	ck_assert_int_eq(encoded_ext("1j"), SB_EXT_COMPLEX);
	ck_assert_int_eq(encoded_ext("datetime.date(2024, 5, 1)"),
	    SB_EXT_DATE);
	ck_assert_int_eq(encoded_ext("datetime.datetime(2024, 5, 1)"),
	    SB_EXT_DATETIME);
	ck_assert_int_eq(encoded_ext("decimal.Decimal('1')"), SB_EXT_DECIMAL);
	ck_assert(py_holds(roundtrip(py("decimal.Decimal('NaN')")),
	    "type(x) is decimal.Decimal and x.is_nan()"));
}
END_TEST

START_TEST(test_aware_datetime)
{
	static const char *const v[] = {
		"datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, "
		    "tzinfo=datetime.timezone(datetime.timedelta(hours=2)))",
		"datetime.datetime(1960, 1, 1, 0, 0, 0, 1, "
		    "tzinfo=datetime.timezone.utc)",
		"datetime.datetime(9999, 12, 31, 23, 59, 59, "
		    "tzinfo=datetime.timezone.utc)",
		"datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc)",
		"datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)",
	};
	PyObject	*o, *back;
	size_t		 i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		o = py(v[i]);
		back = roundtrip(o);
		PyDict_SetItemString(globals, "orig", o);
		ck_assert_msg(py_holds(back, "x == orig and "
		    "x.tzinfo is datetime.timezone.utc"), "%s", v[i]);
		Py_DECREF(o);
		Py_DECREF(back);
	}
	ck_assert_int_eq(encoded_ext(v[0]), SB_EXT_TIMESTAMP);
}
END_TEST

START_TEST(test_ndarrays)
{
	static const char *const v[] = {
		"np.arange(4.0).reshape(2, 2)",
		"np.array([1, -2, 3], dtype=np.int32)",
		"np.array([True, False])",
		"np.array([1+2j, 3-4j])",
		"np.zeros((0,), dtype=np.uint8)",
		"np.zeros((3, 0, 2), dtype=np.float32)",
		"np.array(5.0)",
		"np.arange(24, dtype=np.float32).reshape(2, 3, 4)",
		"np.arange(6, dtype='>i4')",
		"np.arange(12).reshape(3, 4)[:, ::2]",
		"np.array([1, 2], dtype=np.float16)",
	};
	PyObject	*o, *back;
	size_t		 i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		o = py(v[i]);
		back = roundtrip(o);
		PyDict_SetItemString(globals, "orig", o);
		ck_assert_msg(py_holds(back, "type(x) is np.ndarray and "
		    "x.dtype == orig.dtype and x.shape == orig.shape and "
		    "np.array_equal(x, orig) and x.flags.writeable"),
		    "%s", v[i]);
		Py_DECREF(o);
		Py_DECREF(back);
	}
	ck_assert_int_eq(encoded_ext(v[0]), SB_EXT_NDARRAY);
	/* Object and str arrays and datetimes have no bytes form: refs. */
	ck_assert_int_eq(encoded_ext("np.array([None, 1])"), SB_EXT_REF);
	ck_assert_int_eq(encoded_ext("np.array(['a', 'b'])"), SB_EXT_REF);
	ck_assert_int_eq(encoded_ext("np.datetime64('2024-01-01')"),
	    SB_EXT_REF);
}
END_TEST

START_TEST(test_numpy_scalars)
{
	PyObject	*back;

	back = roundtrip(py("np.float64(1.5)"));
	ck_assert(py_holds(back, "type(x) is float and x == 1.5"));
	Py_DECREF(back);
	back = roundtrip(py("np.int64(-7)"));
	ck_assert(py_holds(back, "type(x) is int and x == -7"));
	Py_DECREF(back);
	back = roundtrip(py("np.bool_(True)"));
	ck_assert(py_holds(back, "x is True"));
	Py_DECREF(back);
	back = roundtrip(py("[np.uint8(3), np.float32(0.5)]"));
	ck_assert(py_holds(back, "x == [3, 0.5] and type(x[0]) is int"));
	Py_DECREF(back);
	ck_assert_int_eq(encoded_ext("np.int64(5)"), 1000);
}
END_TEST

START_TEST(test_refs_for_unencodable)
{
	PyObject	*o, *back;

	ck_assert_int_eq(encoded_ext("hashlib.md5(b'abc')"), SB_EXT_REF);
	ck_assert_int_eq(encoded_ext("pathlib.Path('/tmp')"), SB_EXT_REF);
	ck_assert_int_eq(encoded_ext("range(10)"), SB_EXT_REF);
	ck_assert_int_eq(encoded_ext("(i for i in range(3))"), SB_EXT_REF);
	ck_assert_int_eq(encoded_ext("iter([1])"), SB_EXT_REF);
	ck_assert_int_eq(encoded_ext("collections.Counter('abca')"),
	    SB_EXT_REF);
	ck_assert_int_eq(encoded_ext("math.pi"), 1000);
	/* A ref decodes to the very object it names. */
	o = py("hashlib.md5(b'abc')");
	back = roundtrip(o);
	ck_assert_ptr_eq(o, back);
	Py_DECREF(o);
	Py_DECREF(back);
}
END_TEST

START_TEST(test_lambda_leaf)
{
	PyObject	*o, *back, *f;
	msgpack_sbuffer	 sb;
	msgpack_unpacked u;
	size_t		 off = 0;

	py_exec("fn = lambda: 1\nd = {'f': fn, 'n': 1}");
	o = py("d");
	encode(o, &sb);
	msgpack_unpacked_init(&u);
	msgpack_unpack_next(&u, sb.data, sb.size, &off);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_MAP);
	ck_assert_int_eq(u.data.via.map.size, 2);
	msgpack_unpacked_destroy(&u);
	back = decode_bytes(sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	ck_assert_ptr_nonnull(back);
	f = PyDict_GetItemString(back, "f");
	ck_assert_ptr_eq(f, PyDict_GetItemString(globals, "fn"));
	ck_assert(py_holds(back, "x['n'] == 1"));
	Py_DECREF(o);
	Py_DECREF(back);
}
END_TEST

START_TEST(test_cycles_and_depth)
{
	PyObject	*o, *back;
	msgpack_sbuffer	 sb, env;
	msgpack_packer	 pk;
	struct sb_scan	 s;
	size_t		 len;

	py_exec("l = [1]\nl.append(l)\nd = {}\nd['me'] = [d]");
	o = py("l");
	back = roundtrip(o);
	ck_assert(PyList_Check(back) && PyList_GET_SIZE(back) == 2);
	ck_assert_ptr_eq(PyList_GET_ITEM(back, 1), o);
	Py_DECREF(back);
	Py_DECREF(o);
	back = roundtrip(py("d"));
	ck_assert(py_holds(back, "x['me'][0] is d"));
	Py_DECREF(back);

	/* 200 levels: the encoding passes the scanner and msgpack-c. */
	py_exec("deep = []\ncur = deep\nfor _ in range(200):\n"
	    "    cur.append([])\n    cur = cur[0]\n"
	    "deept = ()\nfor _ in range(200):\n    deept = (deept,)\n");
	o = py("[deep, deept]");
	encode(o, &sb);
	msgpack_sbuffer_init(&env);
	msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_nil(&pk);
	msgpack_sbuffer_write(&env, sb.data, sb.size);
	sb_scan_init(&s, SB_SCAN_DEFAULT_SIZE, SB_SCAN_DEFAULT_DEPTH);
	ck_assert_int_eq(sb_scan_feed(&s, env.data, env.size, &len),
	    SB_SCAN_DONE);
	back = decode_bytes(sb.data, sb.size);
	ck_assert_ptr_nonnull(back);
	Py_DECREF(back);
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&env);
	Py_DECREF(o);
}
END_TEST

START_TEST(test_bad_ext_payloads)
{
	static const uint8_t nested_bad[] = { 0x91, 0xc1 };
	static const uint8_t truncated[] = { 0x92, 0x01 };
	static const uint8_t one[] = { 0x91, 0x01 };
	static const uint8_t three[] = { 0x93, 0x01, 0x02, 0x03 };
	static const uint8_t lying[] = { 0xdd, 0x7f, 0xff, 0xff, 0xff };
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	static const char	*bigints[] = { "12a", "", "-", "1 2", "+5",
	    "0x10" };
	size_t			 i;

	for (i = 0; i < sizeof bigints / sizeof bigints[0]; i++) {
		pack_ext(&sb, SB_EXT_BIGINT, bigints[i], strlen(bigints[i]));
		decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
		msgpack_sbuffer_destroy(&sb);
	}
	pack_ext(&sb, SB_EXT_COMPLEX, one, sizeof one);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_COMPLEX, three, sizeof three);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_TUPLE, nested_bad, sizeof nested_bad);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_SET, truncated, sizeof truncated);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_FROZENSET, lying, sizeof lying);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_TUPLE, "", 0);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_DATE, "2024-13-01", 10);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_DECIMAL, "one", 3);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_TIMESTAMP, "12345", 5);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, 99, "x", 1);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_CALLBACK, "\xa1x", 2);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);

	/* Invalid UTF-8 in a str. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_str_with_body(&pk, "\xff\xfe", 2);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* An ndarray ext whose parts are given. */
static void
pack_ndarray(msgpack_sbuffer *sb, const char *dtype, int ndim,
    const int *shape, size_t nbytes)
{
	msgpack_sbuffer	 in;
	msgpack_packer	 pk;
	char		 data[64] = { 0 };
	int		 i;

	msgpack_sbuffer_init(&in);
	msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_str_with_body(&pk, dtype, strlen(dtype));
	msgpack_pack_array(&pk, ndim);
	for (i = 0; i < ndim; i++)
		msgpack_pack_int(&pk, shape[i]);
	msgpack_pack_bin_with_body(&pk, data, nbytes);
	pack_ext(sb, SB_EXT_NDARRAY, in.data, in.size);
	msgpack_sbuffer_destroy(&in);
}

START_TEST(test_bad_ndarrays)
{
	static const int	 s22[] = { 2, 2 }, sneg[] = { -1 };
	static const int	 shuge[] = { 0x7fffffff, 0x7fffffff, 16 };
	msgpack_sbuffer		 sb;
	PyObject		*o;

	pack_ndarray(&sb, "<f8", 2, s22, 8);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ndarray(&sb, "|O", 1, s22, 16);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ndarray(&sb, "not a dtype", 1, s22, 2);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ndarray(&sb, "<i4", 1, sneg, 4);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ndarray(&sb, "<i4", 3, shuge, 8);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_NDARRAY, "\x92\xa3<f8\x90", 6);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
	/* The same shape with the right byte count is fine. */
	pack_ndarray(&sb, "<f8", 2, s22, 32);
	o = decode_bytes(sb.data, sb.size);
	ck_assert(o != NULL && py_holds(o, "x.shape == (2, 2)"));
	Py_DECREF(o);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* A ref payload naming this worker with the given fields. */
static void
pack_ref(msgpack_sbuffer *sb, uint32_t generation, uint16_t slot,
    uint64_t sid, uint64_t ref_id)
{
	struct sb_refdata	 r = { 0 };
	uint8_t			 buf[SB_REF_FIXED_LEN + SB_REF_TYPE_MAX];
	size_t			 len;

	r.pool_id = worker_id.pool_id;
	r.slot = slot;
	r.generation = generation;
	r.session_id = sid;
	r.ref_id = ref_id;
	r.type_name = "x";
	r.type_len = 1;
	len = sb_ref_encode(&r, buf);
	pack_ext(sb, SB_EXT_REF, buf, len);
}

START_TEST(test_ref_checks)
{
	msgpack_sbuffer		 sb;
	msgpack_unpacked	 u;
	struct sb_refdata	 r;
	PyObject		*o;
	size_t			 off = 0;

	/* Make a real ref and learn its id. */
	encode(py("object()"), &sb);
	msgpack_unpacked_init(&u);
	msgpack_unpack_next(&u, sb.data, sb.size, &off);
	ck_assert_int_eq(u.data.via.ext.type, SB_EXT_REF);
	ck_assert_int_eq(sb_ref_decode(u.data.via.ext.ptr, u.data.via.ext.size,
	    &r), 0);
	ck_assert_uint_eq(r.session_id, SID);
	ck_assert(r.type_len == 6 && memcmp(r.type_name, "object", 6) == 0);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);

	pack_ref(&sb, worker_id.generation, worker_id.slot, SID, r.ref_id);
	o = decode_bytes(sb.data, sb.size);
	ck_assert_ptr_nonnull(o);
	Py_DECREF(o);
	msgpack_sbuffer_destroy(&sb);
	pack_ref(&sb, worker_id.generation, worker_id.slot, SID, 999999);
	decode_fails(sb.data, sb.size, "snakebridge.RefNotFound");
	msgpack_sbuffer_destroy(&sb);
	pack_ref(&sb, worker_id.generation, worker_id.slot, SID + 1, r.ref_id);
	decode_fails(sb.data, sb.size, "snakebridge.RefForeign");
	msgpack_sbuffer_destroy(&sb);
	pack_ref(&sb, worker_id.generation + 1, worker_id.slot, SID, r.ref_id);
	decode_fails(sb.data, sb.size, "snakebridge.RefLost");
	msgpack_sbuffer_destroy(&sb);
	pack_ref(&sb, worker_id.generation, worker_id.slot + 1, SID, r.ref_id);
	decode_fails(sb.data, sb.size, "snakebridge.RefForeign");
	msgpack_sbuffer_destroy(&sb);
	pack_ext(&sb, SB_EXT_REF, "\x01\x02", 2);
	decode_fails(sb.data, sb.size, "snakebridge.InvalidRef");
	msgpack_sbuffer_destroy(&sb);

	/* Dropping the session forgets the ref. */
	ck_assert_int_ge(refs_drop_session(SID), 1);
	pack_ref(&sb, worker_id.generation, worker_id.slot, SID, r.ref_id);
	decode_fails(sb.data, sb.size, "snakebridge.RefNotFound");
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/*
 * Positional args decoded one by one for a call without a tuple: an arg
 * that cannot be decoded fails them all as BadRequest and lets go of the
 * ones before it; decoded, each is the object itself.
 */
START_TEST(test_decode_argv_refs)
{
	PyObject		*o = py("object()"), *argv[3];
	msgpack_sbuffer		 ref, sb;
	msgpack_unpacked	 u;
	Py_ssize_t		 before;
	size_t			 off;
	char			*t;
	int			 whole;

	encode(o, &ref);
	before = Py_REFCNT(o);
	for (whole = 0; whole < 2; whole++) {
		msgpack_sbuffer_init(&sb);
		msgpack_sbuffer_write(&sb, "\x93", 1);
		msgpack_sbuffer_write(&sb, ref.data, ref.size);
		msgpack_sbuffer_write(&sb, ref.data, ref.size);
		/* nil, or an ext of a type no one knows */
		msgpack_sbuffer_write(&sb, whole ? "\xc0" : "\xd4\x63\x00",
		    whole ? 1 : 3);
		msgpack_unpacked_init(&u);
		off = 0;
		ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size,
		    &off), MSGPACK_UNPACK_SUCCESS);
		if (!whole) {
			ck_assert_int_eq(codec_decode_argv(&u.data, SID, 0,
			    argv), -1);
			t = error_type();
			ck_assert_str_eq(t, "snakebridge.BadRequest");
			free(t);
			PyErr_Clear();
		} else {
			ck_assert_int_eq(codec_decode_argv(&u.data, SID, 0,
			    argv), 0);
			ck_assert(argv[0] == o && argv[1] == o &&
			    argv[2] == Py_None);
			ck_assert_int_eq(Py_REFCNT(o), before + 2);
			Py_DECREF(argv[0]);
			Py_DECREF(argv[1]);
			Py_DECREF(argv[2]);
		}
		ck_assert_int_eq(Py_REFCNT(o), before);
		msgpack_unpacked_destroy(&u);
		msgpack_sbuffer_destroy(&sb);
	}
	msgpack_sbuffer_destroy(&ref);
	Py_DECREF(o);
}
END_TEST

START_TEST(test_ref_limit)
{
	PyObject	*o, *stats;
	msgpack_sbuffer	 sb;
	char		*t;

	refs_drop_session(SID);
	worker_id.max_refs = 2;
	o = py("[object(), object(), object()]");
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(codec_encode(&sb, o, SID), -1);
	ck_assert_uint_eq(sb.size, 0);
	t = error_type();
	ck_assert_str_eq(t, "snakebridge.LimitExceeded");
	free(t);
	/* Nothing half-made stays behind. */
	stats = refs_stats();
	ck_assert(py_holds(stats, "x['refs'] == 0"));
	Py_DECREF(stats);
	Py_DECREF(o);
	o = py("[object(), object()]");
	ck_assert_int_eq(codec_encode(&sb, o, SID), 0);
	Py_DECREF(o);
	msgpack_sbuffer_destroy(&sb);
	worker_id.max_refs = 0;
}
END_TEST

/* A callback decodes to a callable; with no channel it fails cleanly. */
START_TEST(test_callback_no_channel)
{
	msgpack_sbuffer	 sb;
	PyObject	*o, *r;
	char		*t;

	pack_ext(&sb, SB_EXT_CALLBACK, "\x05", 1);
	o = decode_bytes(sb.data, sb.size);
	ck_assert(o != NULL && PyCallable_Check(o));
	r = PyObject_CallNoArgs(o);
	ck_assert_ptr_null(r);
	t = error_type();
	ck_assert_str_eq(t, "snakebridge.CallbackFailed");
	free(t);
	Py_DECREF(o);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_python_error_map)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	msgpack_unpacked u;
	PyObject	*map;
	size_t		 off = 0;

	ck_assert_ptr_null(PyRun_String("math.sqrt(-1)", Py_eval_input,
	    globals, globals));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pyerr_pack(&pk, SID);
	msgpack_unpacked_init(&u);
	msgpack_unpack_next(&u, sb.data, sb.size, &off);
	map = codec_decode(&u.data, SID, 0);
	ck_assert_ptr_nonnull(map);
	ck_assert(py_holds(map, "x['type'] == 'ValueError' and "
	    "x['module'] == 'builtins' and x['message'] == 'math domain error'"
	    " and x['args'] == ('math domain error',) and "
	    "isinstance(x['traceback'], list) and "
	    "x['traceback'][-1].startswith('ValueError')"));
	Py_DECREF(map);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* The str value under key in a map, compared with want. */
static void
map_str_is(const msgpack_object *map, const char *key, const char *want)
{
	const msgpack_object	*v;

	ck_assert_int_eq(map->type, MSGPACK_OBJECT_MAP);
	v = wk_map_get(map, key);
	ck_assert_msg(v != NULL, "no key %s", key);
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_STR);
	ck_assert_msg(wk_str_is(v, want), "%s is %.*s, not %s", key,
	    (int)v->via.str.size, v->via.str.ptr, want);
}

/* Wait for ready from a worker running the Python built against. */
static void
worker_ready(struct wk *w)
{
	map_str_is(wk_ready(w), "python", PY_VERSION);
}

/*
 * A path for Python in a worker to create when it reaches a point, in a new
 * temporary directory; marker_wait waits for it, marker_done removes both.
 */
static void
marker_new(char *buf, size_t len)
{
	char	 dir[] = "/tmp/sbcodec-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(buf, len, "%s/marker", dir);
}

/* Wait up to 20 s for a marker to exist; 1 if it did. */
static int
marker_wait(const char *path)
{
	struct stat	 st;
	int		 i;

	for (i = 0; i < 400; i++) {
		if (stat(path, &st) == 0)
			return (1);
		usleep(50000);
	}
	return (0);
}

static void
marker_done(char *path)
{
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

/* Pack params from a Python expression through the codec. */
static void
params(msgpack_sbuffer *sb, const char *expr)
{
	PyObject	*o = py(expr);

	msgpack_sbuffer_init(sb);
	ck_assert_int_eq(codec_encode(sb, o, 0), 0);
	Py_DECREF(o);
}

/* Send a request with params from expr without waiting. */
static void
params_send(struct wk *w, uint32_t id, const char *method, const char *expr)
{
	msgpack_sbuffer	 sb;

	params(&sb, expr);
	wk_request(w, id, method, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* One request with params from expr; returns the error or NULL. */
static const msgpack_object *
wk_call(struct wk *w, uint32_t id, const char *method, const char *expr,
    const msgpack_object **result)
{
	msgpack_sbuffer	 sb;

	params(&sb, expr);
	wk_request(w, id, method, &sb);
	msgpack_sbuffer_destroy(&sb);
	return (wk_response(w, id, result));
}

START_TEST(test_worker_sqrt_and_garbage)
{
	static const uint8_t	 not_rpc[] = { 0x2a };
	struct wk	 w;
	const msgpack_object	*err, *res;
	msgpack_object		*m;

	wk_start(&w, "math", 0, -1);
	worker_ready(&w);
	err = wk_call(&w, 1, "call", "[1, 'math', 'sqrt', [16]]", &res);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(res->type, MSGPACK_OBJECT_FLOAT64);
	ck_assert(res->via.f64 == 4.0);

	err = wk_call(&w, 2, "nosuch", "[1]", &res);
	map_str_is(err, "type", "snakebridge.UnknownMethod");
	err = wk_call(&w, 3, "call", "[1, 5, 'x']", &res);
	map_str_is(err, "type", "snakebridge.BadRequest");
	err = wk_call(&w, 4, "call", "['sid', 'math', 'sqrt']", &res);
	map_str_is(err, "type", "snakebridge.BadRequest");
	err = wk_call(&w, 5, "call", "[1, 'math', 'sqrt', 'notalist']", &res);
	map_str_is(err, "type", "snakebridge.BadRequest");
	err = wk_call(&w, 6, "repr", "[1, 'notaref']", &res);
	map_str_is(err, "type", "snakebridge.BadRequest");

	/* Not msgpack-rpc: an error notification, and the worker goes on. */
	wk_write(&w, not_rpc, sizeof not_rpc);
	m = wk_read(&w);
	ck_assert_uint_eq(m->via.array.ptr[0].via.u64, 2);
	map_str_is(&m->via.array.ptr[2].via.array.ptr[0], "type",
	    "snakebridge.ProtocolError");
	err = wk_call(&w, 7, "call", "[1, 'math', 'sqrt', [-1]]", &res);
	map_str_is(err, "type", "ValueError");
	map_str_is(err, "module", "builtins");
	err = wk_call(&w, 8, "call", "[1, 'no_such_module_x', 'f']", &res);
	map_str_is(err, "type", "ModuleNotFoundError");
	err = wk_call(&w, 9, "call", "[1, 'math', 'nosuch']", &res);
	map_str_is(err, "type", "AttributeError");
	wk_finish(&w, 0);
}
END_TEST

/*
 * Requests in every encoding msgpack allows are served alike, whether the
 * envelope is read from the bytes or the whole message is unpacked.
 */
START_TEST(test_worker_envelope_forms)
{
	/* params [1, "math", "sqrt", [16]] */
#define SQRT16	"\x94\x01\xa4math\xa4sqrt\x91\x10"
	static const char	 uint8_kind_int32_id_str8[] =
	    "\x94\xcc\x00\xd2\x00\x00\x00\x0b\xd9\x04" "call" SQRT16;
	static const char	 int8_conn[] =
	    "\x95\x00\x0c\xa4" "call" SQRT16 "\xd0\x00";
	static const char	 map_params[] = "\x94\x00\x0d\xa4" "call"
	    "\x81\x01\x02";
	static const char	 uint64_id[] = "\x94\x00\xcf\x00\x00\x00\x00"
	    "\x00\x00\x00\x0e\xa4" "call" SQRT16;
	static const char	 str_conn[] =
	    "\x95\x00\x0f\xa4" "call" SQRT16 "\xa1x";
	static const char	 uint16_id[] = "\x94\x00\xcd\x01\x00\xa4"
	    "call" SQRT16;
#undef SQRT16
	struct wk		 w;
	const msgpack_object	*err, *res;

	wk_start(&w, "math", 0, -1);
	worker_ready(&w);
	wk_write(&w, uint8_kind_int32_id_str8,
	    sizeof uint8_kind_int32_id_str8 - 1);
	err = wk_response(&w, 11, &res);
	ck_assert(err == NULL && res->via.f64 == 4.0);
	wk_write(&w, int8_conn, sizeof int8_conn - 1);
	err = wk_response(&w, 12, &res);
	ck_assert(err == NULL && res->via.f64 == 4.0);
	wk_write(&w, map_params, sizeof map_params - 1);
	err = wk_response(&w, 13, &res);
	map_str_is(err, "type", "snakebridge.ProtocolError");
	wk_write(&w, uint64_id, sizeof uint64_id - 1);
	err = wk_response(&w, 14, &res);
	ck_assert(err == NULL && res->via.f64 == 4.0);
	wk_write(&w, str_conn, sizeof str_conn - 1);
	err = wk_response(&w, 15, &res);
	map_str_is(err, "type", "snakebridge.ProtocolError");
	wk_write(&w, uint16_id, sizeof uint16_id - 1);
	err = wk_response(&w, 256, &res);
	ck_assert(err == NULL && res->via.f64 == 4.0);
	wk_finish(&w, 0);
}
END_TEST

/*
 * Positional args up to the number passed without a tuple and one past it
 * give the same answers; none, an empty array, and an arg that cannot be
 * decoded (the worker serving on) are answered as Python would.
 */
START_TEST(test_worker_positional_args)
{
	/* [0, 16, "call", [1, "builtins", "max", [1, <ext 99>, 2]]] */
	static const char	 bad_arg[] = "\x94\x00\x10\xa4" "call"
	    "\x94\x01\xa8" "builtins" "\xa3" "max" "\x93\x01\xd4\x63\x00\x02";
	struct wk		 w;
	const msgpack_object	*err, *res;

	wk_start(&w, "math", 0, -1);
	worker_ready(&w);
	err = wk_call(&w, 1, "call", "[1, 'builtins', 'max', "
	    "[1, 2, 3, 8, 5, 6, 7, 4]]", &res);
	ck_assert(err == NULL && res->via.u64 == 8);
	err = wk_call(&w, 2, "call", "[1, 'builtins', 'max', "
	    "[1, 2, 3, 4, 5, 9, 7, 8, 6]]", &res);
	ck_assert(err == NULL && res->via.u64 == 9);
	err = wk_call(&w, 3, "call", "[1, 'builtins', 'max', []]", &res);
	map_str_is(err, "type", "TypeError");
	err = wk_call(&w, 4, "call", "[1, 'builtins', 'max', None]", &res);
	map_str_is(err, "type", "TypeError");
	err = wk_call(&w, 5, "call", "[1, 'builtins', 'max', [3, 4], "
	    "{'key': None}]", &res);
	ck_assert(err == NULL && res->via.u64 == 4);
	wk_write(&w, bad_arg, sizeof bad_arg - 1);
	err = wk_response(&w, 16, &res);
	map_str_is(err, "type", "snakebridge.BadRequest");
	err = wk_call(&w, 6, "call", "[1, 'builtins', 'max', [6, 2]]", &res);
	ck_assert(err == NULL && res->via.u64 == 6);
	wk_finish(&w, 0);
}
END_TEST

START_TEST(test_worker_broken_stream)
{
	static const uint8_t	 junk[] = { 0x93, 0xc1 };
	struct wk		 w;
	msgpack_object		*m;

	wk_start(&w, "math", 0, -1);
	worker_ready(&w);
	wk_write(&w, junk, sizeof junk);
	m = wk_read(&w);
	ck_assert_uint_eq(m->via.array.ptr[0].via.u64, 2);
	map_str_is(&m->via.array.ptr[2].via.array.ptr[0], "type",
	    "snakebridge.ProtocolError");
	wk_finish(&w, 3);
}
END_TEST

/* A result from the worker as a Python value (it holds no refs). */
static PyObject *
result_value(const msgpack_object *res)
{
	return (codec_decode(res, SID, 0));
}

START_TEST(test_worker_refs)
{
	struct wk	 w;
	const msgpack_object	*err, *res;
	msgpack_sbuffer	 ref, sb;
	msgpack_packer	 pk;

	wk_start(&w, "hashlib", 0, -1);
	worker_ready(&w);
	err = wk_call(&w, 1, "get", "[1, 'math', 'pi']", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_FLOAT64);
	err = wk_call(&w, 2, "call", "[1, 'hashlib', 'md5', [b'abc']]", &res);
	ck_assert_ptr_null(err);
	ck_assert(res->type == MSGPACK_OBJECT_EXT &&
	    res->via.ext.type == SB_EXT_REF);
	/* Keep the ref's bytes to pass back. */
	msgpack_sbuffer_init(&ref);
	msgpack_packer_init(&pk, &ref, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *res);

	/* method [1, ref, 'hexdigest'] */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, 1);
	msgpack_sbuffer_write(&sb, ref.data, ref.size);
	msgpack_pack_str_with_body(&pk, "hexdigest", 9);
	wk_request(&w, 3, "method", &sb);
	msgpack_sbuffer_destroy(&sb);
	err = wk_response(&w, 3, &res);
	ck_assert_ptr_null(err);
	ck_assert(res->type == MSGPACK_OBJECT_STR && res->via.str.size == 32 &&
	    memcmp(res->via.str.ptr, "900150983cd24fb0d6963f7d28e17f72",
	    32) == 0);

	/* The ref from another session is refused. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 2);
	msgpack_sbuffer_write(&sb, ref.data, ref.size);
	wk_request(&w, 4, "repr", &sb);
	msgpack_sbuffer_destroy(&sb);
	err = wk_response(&w, 4, &res);
	map_str_is(err, "type", "snakebridge.RefForeign");

	/* release twice, then the ref is gone. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 1);
	msgpack_sbuffer_write(&sb, ref.data, ref.size);
	wk_request(&w, 5, "release", &sb);
	err = wk_response(&w, 5, &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_BOOLEAN);
	wk_request(&w, 6, "release", &sb);
	err = wk_response(&w, 6, &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_BOOLEAN);
	wk_request(&w, 7, "repr", &sb);
	err = wk_response(&w, 7, &res);
	map_str_is(err, "type", "snakebridge.RefNotFound");
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&ref);

	/* A dict with a lambda leaf: a map with a ref inside. */
	err = wk_call(&w, 8, "call", "[1, 'builtins', 'eval', "
	    "[\"{'f': lambda: 1, 'n': 1}\", {}]]", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_MAP);
	err = wk_call(&w, 9, "stats", "[0]", &res);
	ck_assert_ptr_null(err);
	ck_assert(py_holds(result_value(res), "x['refs'] == 1 and "
	    "x['sessions'] == {1: 1} and x['rss_kb'] > 0"));
	err = wk_call(&w, 10, "session.drop", "[1]", &res);
	ck_assert(err == NULL && res->via.u64 == 1);
	wk_finish(&w, 0);
}
END_TEST

/* Send [sid, ref, rest...] where rest is packed from a Python tuple. */
static const msgpack_object *
wk_on_ref(struct wk *w, uint32_t id, const char *method,
    const msgpack_sbuffer *ref, const char *rest, const msgpack_object **res)
{
	msgpack_sbuffer	 sb, tail;
	msgpack_packer	 pk;
	PyObject	*t = py(rest);
	Py_ssize_t	 i;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2 + (size_t)PyTuple_GET_SIZE(t));
	msgpack_pack_int(&pk, 1);
	msgpack_sbuffer_write(&sb, ref->data, ref->size);
	for (i = 0; i < PyTuple_GET_SIZE(t); i++) {
		msgpack_sbuffer_init(&tail);
		ck_assert_int_eq(codec_encode(&tail, PyTuple_GET_ITEM(t, i),
		    0), 0);
		msgpack_sbuffer_write(&sb, tail.data, tail.size);
		msgpack_sbuffer_destroy(&tail);
	}
	Py_DECREF(t);
	wk_request(w, id, method, &sb);
	msgpack_sbuffer_destroy(&sb);
	return (wk_response(w, id, res));
}

static void
keep(msgpack_sbuffer *sb, const msgpack_object *o)
{
	msgpack_packer	 pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *o);
}

START_TEST(test_worker_protocol_methods)
{
	struct wk	 w;
	const msgpack_object	*err, *res;
	msgpack_sbuffer	 rng, it, path;

	wk_start(&w, "math", 0, -1);
	worker_ready(&w);
	err = wk_call(&w, 1, "call", "[1, 'builtins', 'range', [10]]", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_EXT);
	keep(&rng, res);
	err = wk_on_ref(&w, 2, "len", &rng, "()", &res);
	ck_assert(err == NULL && res->via.u64 == 10);
	err = wk_on_ref(&w, 3, "repr", &rng, "()", &res);
	ck_assert(err == NULL && res->via.str.size == 12);
	err = wk_on_ref(&w, 4, "getitem", &rng, "(3,)", &res);
	ck_assert(err == NULL && res->via.u64 == 3);
	err = wk_on_ref(&w, 5, "dir", &rng, "()", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_ARRAY);
	err = wk_on_ref(&w, 6, "next", &rng, "()", &res);
	map_str_is(err, "type", "TypeError");
	err = wk_on_ref(&w, 7, "iter", &rng, "()", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_EXT);
	keep(&it, res);
	err = wk_on_ref(&w, 8, "next", &it, "(4,)", &res);
	ck_assert(err == NULL && py_holds(result_value(res),
	    "x == [[0, 1, 2, 3], False]"));
	err = wk_on_ref(&w, 9, "next", &it, "(100,)", &res);
	ck_assert(err == NULL && py_holds(result_value(res),
	    "x == [[4, 5, 6, 7, 8, 9], True]"));
	err = wk_on_ref(&w, 10, "next", &it, "(None,)", &res);
	ck_assert(err == NULL && py_holds(result_value(res),
	    "x == [[], True]"));
	err = wk_on_ref(&w, 11, "next", &it, "(0,)", &res);
	map_str_is(err, "type", "snakebridge.BadRequest");

	err = wk_call(&w, 12, "call", "[1, 'pathlib', 'Path', ['/tmp']]",
	    &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_EXT);
	keep(&path, res);
	err = wk_on_ref(&w, 13, "attr", &path, "('name',)", &res);
	ck_assert(err == NULL && res->via.str.size == 3);
	err = wk_on_ref(&w, 14, "method", &path, "('exists',)", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_BOOLEAN &&
	    res->via.boolean);
	err = wk_on_ref(&w, 15, "str", &path, "()", &res);
	ck_assert(err == NULL && res->via.str.size == 4);
	err = wk_on_ref(&w, 16, "method", &path, "('joinpath', ['a'], "
	    "None)", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_EXT);
	err = wk_call(&w, 17, "call", "[1, 'types', 'SimpleNamespace', None, "
	    "{'a': 1}]", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_EXT);
	msgpack_sbuffer_destroy(&path);
	keep(&path, res);
	err = wk_on_ref(&w, 18, "setattr", &path, "('b', (1, 2))", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_BOOLEAN);
	err = wk_on_ref(&w, 19, "attr", &path, "('b',)", &res);
	ck_assert(err == NULL && py_holds(result_value(res), "x == (1, 2)"));
	err = wk_call(&w, 20, "call", "[1, 'os.path', 'join', ['a', 'b']]",
	    &res);
	ck_assert(err == NULL && res->via.str.size == 3);
	err = wk_call(&w, 21, "call", "[1, 'pathlib', 'Path.cwd']", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_EXT);
	err = wk_call(&w, 22, "call", "[1, 'json', 'dumps', [{'a': [1, 2]}], "
	    "{'sort_keys': True}]", &res);
	ck_assert(err == NULL && res->via.str.size == 13);
	err = wk_call(&w, 23, "call", "[1, 'numpy', 'mean', "
	    "[np.array([[1.0, 2.0], [3.0, 4.0]])], {'axis': 0}]", &res);
	ck_assert(err == NULL && py_holds(result_value(res),
	    "np.array_equal(x, [2.0, 3.0])"));
	msgpack_sbuffer_destroy(&rng);
	msgpack_sbuffer_destroy(&it);
	msgpack_sbuffer_destroy(&path);
	wk_finish(&w, 0);
}
END_TEST

START_TEST(test_worker_interrupt)
{
	struct wk	 w;
	const msgpack_object	*err, *res;
	char		 marker[64], expr[256];

	wk_start(&w, "math", 0, -1);
	worker_ready(&w);
	/* An interrupt while idle is dropped before the next request. */
	kill(w.pid, SIGINT);
	usleep(200000);
	err = wk_call(&w, 1, "call", "[1, 'math', 'sqrt', [16]]", &res);
	ck_assert(err == NULL && res->via.f64 == 4.0);
	/* One during a request (once it has begun) interrupts it. */
	marker_new(marker, sizeof marker);
	snprintf(expr, sizeof expr, "[1, 'builtins', 'exec', [\"open('%s', "
	    "'w').close(); __import__('time').sleep(30)\", {}]]", marker);
	params_send(&w, 2, "call", expr);
	ck_assert_msg(marker_wait(marker), "the request did not begin");
	marker_done(marker);
	kill(w.pid, SIGINT);
	err = wk_response(&w, 2, &res);
	map_str_is(err, "type", "KeyboardInterrupt");
	err = wk_call(&w, 3, "call", "[1, 'math', 'sqrt', [25]]", &res);
	ck_assert(err == NULL && res->via.f64 == 5.0);
	wk_finish(&w, 0);
}
END_TEST

/* A thread started by a call keeps running while the worker is idle. */
START_TEST(test_worker_threads_run_while_idle)
{
	struct wk	 w;
	const msgpack_object	*err, *res;
	char		 marker[64], expr[512];

	wk_start(&w, "math", 0, -1);
	worker_ready(&w);
	marker_new(marker, sizeof marker);
	snprintf(expr, sizeof expr, "[1, 'builtins', 'exec', ["
	    "'import builtins, threading, time\\n'"
	    "'def f():\\n    time.sleep(0.2)\\n    builtins.sb_probe = 42\\n'"
	    "'    open(\"%s\", \"w\").close()\\n'"
	    "'threading.Thread(target=f).start()', {}]]", marker);
	err = wk_call(&w, 1, "call", expr, &res);
	ck_assert_ptr_null(err);
	/* No request meanwhile: the thread runs while the worker is idle. */
	ck_assert_msg(marker_wait(marker), "the thread did not run");
	marker_done(marker);
	err = wk_call(&w, 2, "get", "[1, 'builtins', 'sb_probe']", &res);
	ck_assert(err == NULL && res->via.u64 == 42);
	wk_finish(&w, 0);
}
END_TEST

START_TEST(test_worker_stdout)
{
	struct wk	 w;
	const msgpack_object	*err, *res;
	struct pollfd	 pfd;
	char		 buf[256];
	ssize_t		 n;
	int		 p[2];

	ck_assert_int_eq(pipe(p), 0);
	wk_start(&w, "math", 0, p[1]);
	close(p[1]);
	worker_ready(&w);
	err = wk_call(&w, 1, "call", "[1, 'builtins', 'print', "
	    "['hello from python']]", &res);
	ck_assert(err == NULL && res->type == MSGPACK_OBJECT_NIL);
	/* Line buffered: the line is there without the worker exiting. */
	pfd.fd = p[0];
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
	n = read(p[0], buf, sizeof buf - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "hello from python\n");
	wk_finish(&w, 0);
	close(p[0]);
}
END_TEST

/* Wrap the value in sb into a one-element tuple ext. */
static void
wrap_tuple(msgpack_sbuffer *sb)
{
	msgpack_sbuffer	 in, old = *sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&in);
	msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	msgpack_sbuffer_write(&in, old.data, old.size);
	pack_ext(sb, SB_EXT_TUPLE, in.data, in.size);
	msgpack_sbuffer_destroy(&in);
	msgpack_sbuffer_destroy(&old);
}

START_TEST(test_nested_ext_depth)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	PyObject	*o;
	int		 i;

	/* Tuples in tuples: each payload is scanned within the depth left. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 0);
	for (i = 0; i < 20; i++)
		wrap_tuple(&sb);
	o = decode_bytes(sb.data, sb.size);
	ck_assert(o != NULL && PyTuple_Check(o));
	Py_DECREF(o);
	for (; i < 200; i++)
		wrap_tuple(&sb);
	decode_fails(sb.data, sb.size, "snakebridge.BadRequest");
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* A request the channel's owner sent is answered while others arrive. */
START_TEST(test_channel_wait_serves_requests)
{
	struct channel		*ch;
	msgpack_sbuffer		 sb, out;
	msgpack_packer		 pk;
	msgpack_unpacked	 u;
	msgpack_object		*a;
	char			 buf[256];
	ssize_t			 n;
	size_t			 off = 0;
	uint32_t		 id;
	int			 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ch = channel_open(sv[0], SB_SCAN_DEFAULT_SIZE);
	ck_assert_ptr_nonnull(ch);
	id = channel_next_id(ch);
	/* The peer sends a request of its own, then the awaited answer. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_int(&pk, 9);
	msgpack_pack_str_with_body(&pk, "call", 4);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "math", 4);
	msgpack_pack_str_with_body(&pk, "sqrt", 4);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, 4);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_uint32(&pk, id);
	msgpack_pack_nil(&pk);
	msgpack_pack_str_with_body(&pk, "done", 4);
	ck_assert_int_eq(write(sv[1], sb.data, sb.size), (ssize_t)sb.size);
	msgpack_sbuffer_destroy(&sb);

	ck_assert_int_eq(channel_wait_response(ch, id, &out), 0);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, out.data, out.size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	a = u.data.via.array.ptr;
	ck_assert(a[1].via.u64 == id && a[3].type == MSGPACK_OBJECT_STR);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&out);

	/* The peer's request was served meanwhile: [1, 9, nil, 2.0]. */
	n = read(sv[1], buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	msgpack_unpacked_init(&u);
	off = 0;
	ck_assert_int_eq(msgpack_unpack_next(&u, buf, (size_t)n, &off),
	    MSGPACK_UNPACK_SUCCESS);
	a = u.data.via.array.ptr;
	ck_assert(a[1].via.u64 == 9 && a[2].type == MSGPACK_OBJECT_NIL &&
	    a[3].via.f64 == 2.0);
	msgpack_unpacked_destroy(&u);

	/* An answer that never comes: the peer closes, the wait fails. */
	id = channel_next_id(ch);
	close(sv[1]);
	ck_assert_int_eq(channel_wait_response(ch, id, &out), -1);
	PyErr_Clear();
	ck_assert_int_eq(channel_loop(), 0);
}
END_TEST

/*
 * Requests queued beyond what the read buffer may grow to (the peer wrote
 * them while the channel was busy) are all served: the channel reads what
 * fits, serves it and reads on, instead of calling its input broken.
 */
START_TEST(test_channel_reads_past_full_buffer)
{
	enum { NREQ = 160, ARG = 900, MAXMSG = 1000 };
	struct channel		*ch;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	msgpack_unpacker	 up;
	msgpack_unpacked	 u;
	msgpack_object		*a;
	char			 arg[ARG];
	ssize_t			 n;
	uint32_t		 i, got = 0;
	int			 sv[2], sz = 1 << 20;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	ch = channel_open(sv[0], MAXMSG);
	ck_assert_ptr_nonnull(ch);
	memset(arg, 'x', sizeof arg);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < NREQ; i++) {
		msgpack_pack_array(&pk, 4);
		msgpack_pack_int(&pk, 0);
		msgpack_pack_uint32(&pk, i + 1);
		msgpack_pack_str_with_body(&pk, "call", 4);
		msgpack_pack_array(&pk, 4);
		msgpack_pack_int(&pk, 1);
		msgpack_pack_str_with_body(&pk, "builtins", 8);
		msgpack_pack_str_with_body(&pk, "len", 3);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_bin_with_body(&pk, arg, sizeof arg);
	}
	/* More than the buffer's limit (MAXMSG + 128 KiB) waits at once. */
	ck_assert_uint_gt(sb.size, MAXMSG + 2 * 65536 + 4096);
	ck_assert_int_eq(send(sv[1], sb.data, sb.size, MSG_DONTWAIT),
	    (ssize_t)sb.size);
	msgpack_sbuffer_destroy(&sb);
	shutdown(sv[1], SHUT_WR);
	ck_assert_int_eq(channel_loop(), 0);

	/* Every request answered in order: [1, id, nil, ARG]. */
	msgpack_unpacker_init(&up, 1 << 16);
	msgpack_unpacked_init(&u);
	for (;;) {
		msgpack_unpacker_reserve_buffer(&up, 65536);
		n = read(sv[1], msgpack_unpacker_buffer(&up), 65536);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		msgpack_unpacker_buffer_consumed(&up, (size_t)n);
		while (msgpack_unpacker_next(&up, &u) ==
		    MSGPACK_UNPACK_SUCCESS) {
			a = u.data.via.array.ptr;
			ck_assert_uint_eq(a[1].via.u64, got + 1);
			ck_assert_int_eq(a[2].type, MSGPACK_OBJECT_NIL);
			ck_assert_uint_eq(a[3].via.u64, ARG);
			got++;
		}
	}
	ck_assert_uint_eq(got, NREQ);
	msgpack_unpacked_destroy(&u);
	msgpack_unpacker_destroy(&up);
	close(sv[1]);
}
END_TEST

static Suite *
codec_suite(void)
{
	Suite	*s = suite_create("codec");
	TCase	*tc = tcase_create("codec");
	TCase	*tw = tcase_create("worker");

	tcase_add_test(tc, test_ints);
	tcase_add_test(tc, test_floats);
	tcase_add_test(tc, test_empty_and_text);
	tcase_add_test(tc, test_bytes_like);
	tcase_add_test(tc, test_maps_and_nesting);
	tcase_add_test(tc, test_complex_and_time);
	tcase_add_test(tc, test_aware_datetime);
	tcase_add_test(tc, test_ndarrays);
	tcase_add_test(tc, test_numpy_scalars);
	tcase_add_test(tc, test_refs_for_unencodable);
	tcase_add_test(tc, test_lambda_leaf);
	tcase_add_test(tc, test_cycles_and_depth);
	tcase_add_test(tc, test_bad_ext_payloads);
	tcase_add_test(tc, test_bad_ndarrays);
	tcase_add_test(tc, test_ref_checks);
	tcase_add_test(tc, test_decode_argv_refs);
	tcase_add_test(tc, test_ref_limit);
	tcase_add_test(tc, test_callback_no_channel);
	tcase_add_test(tc, test_python_error_map);
	tcase_add_test(tc, test_nested_ext_depth);
	tcase_add_test(tc, test_channel_wait_serves_requests);
	tcase_add_test(tc, test_channel_reads_past_full_buffer);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tw, 60);
	tcase_add_test(tw, test_worker_sqrt_and_garbage);
	tcase_add_test(tw, test_worker_envelope_forms);
	tcase_add_test(tw, test_worker_positional_args);
	tcase_add_test(tw, test_worker_broken_stream);
	tcase_add_test(tw, test_worker_refs);
	tcase_add_test(tw, test_worker_protocol_methods);
	tcase_add_test(tw, test_worker_interrupt);
	tcase_add_test(tw, test_worker_stdout);
	tcase_add_test(tw, test_worker_threads_run_while_idle);
	suite_add_tcase(s, tw);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	worker_id.generation = 1;
	if (pyinit_start(NULL) != 0)
		return (1);
	globals = PyDict_New();
	PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
	if (PyRun_SimpleString("import math, datetime, decimal, hashlib, "
	    "pathlib, collections\nimport numpy as np\n") != 0)
		return (1);
	PyDict_Update(globals, PyModule_GetDict(PyImport_AddModule(
	    "__main__")));
	sr = srunner_create(codec_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	Py_DECREF(globals);
	pyinit_stop();
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
