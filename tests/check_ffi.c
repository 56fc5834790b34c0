/*
 * check_ffi.c: the universal FFI through libsbclient against a real daemon:
 * calls, module attributes, refs and their protocol methods, iteration,
 * graceful serialization, numpy arrays, Python and daemon errors, and edge
 * values round-tripped through Python.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sbproto.h"

/* module.func(*args): the result, failing the test on an error. */
static sb_value *
call_ok(const char *module, const char *func, sb_value *args)
{
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	char		 what[256];
	int		 rc;

	snprintf(what, sizeof what, "call %s.%s", module, func);
	rc = sb_call(sbt_c, module, func, args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sbt_ok(what, rc, err);
	ck_assert_ptr_nonnull(res);
	return (res);
}

/* module.func(*args) must fail with type; the error is returned. */
static sb_error *
call_err(const char *module, const char *func, sb_value *args,
    const char *type)
{
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	char		 what[256];
	int		 rc;

	snprintf(what, sizeof what, "call %s.%s", module, func);
	rc = sb_call(sbt_c, module, func, args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sb_value_free(res);
	sbt_expect_error(what, rc, err, type);
	return (err);
}

static void
expect_str(const sb_value *v, const char *want)
{
	const char	*s;

	ck_assert_int_eq(sb_value_type(v), SB_STR);
	s = sb_value_str(v, NULL);
	ck_assert_str_eq(s, want);
}

static void
expect_int(const sb_value *v, int64_t want)
{
	int64_t	 i;

	ck_assert_int_eq(sb_value_type(v), SB_INT);
	ck_assert_int_eq(sb_value_get_int(v, &i), 0);
	ck_assert_int_eq(i, want);
}

static void
expect_float(const sb_value *v, double want)
{
	double	 d;

	ck_assert_int_eq(sb_value_type(v), SB_FLOAT);
	ck_assert_int_eq(sb_value_get_float(v, &d), 0);
	ck_assert_double_eq(d, want);
}

static void
expect_bool(const sb_value *v, int want)
{
	int	 b;

	ck_assert_int_eq(sb_value_type(v), SB_BOOL);
	ck_assert_int_eq(sb_value_get_bool(v, &b), 0);
	ck_assert_int_eq(!!b, want);
}

/* A ref of the given Python type. */
static void
expect_ref(const sb_value *v, const char *type)
{
	ck_assert_msg(sb_value_type(v) == SB_REF, "expected a ref, got type %d",
	    (int)sb_value_type(v));
	ck_assert_str_eq(sb_ref_type(v), type);
}

START_TEST(test_call_sqrt)
{
	sb_value	*r;

	r = call_ok("math", "sqrt", sbt_list(sb_int(16), NULL));
	expect_float(r, 4.0);
	sb_value_free(r);
}
END_TEST

START_TEST(test_get_pi)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;

	sbt_ok("get math.pi", sb_get(sbt_c, "math", "pi", NULL, &r, &err), err);
	expect_float(r, M_PI);
	sb_value_free(r);
}
END_TEST

START_TEST(test_pathlib_ref)
{
	sb_value	*path, *r = NULL;
	sb_error	*err = NULL;

	path = call_ok("pathlib", "Path", sbt_list(sb_str("/tmp"), NULL));
	expect_ref(path, "pathlib.PosixPath");

	sbt_ok("method exists", sb_method(sbt_c, path, "exists", NULL, NULL, NULL,
	    &r, &err), err);
	expect_bool(r, 1);
	sb_value_free(r);

	sbt_ok("attr name", sb_attr(sbt_c, path, "name", NULL, &r, &err), err);
	expect_str(r, "tmp");
	sb_value_free(r);
	sb_value_free(path);
}
END_TEST

START_TEST(test_hashlib_md5)
{
	sb_value	*h, *r = NULL;
	sb_error	*err = NULL;

	h = call_ok("hashlib", "md5", sbt_list(sb_bytes("abc", 3), NULL));
	ck_assert_int_eq(sb_value_type(h), SB_REF);
	sbt_ok("method hexdigest", sb_method(sbt_c, h, "hexdigest", NULL, NULL,
	    NULL, &r, &err), err);
	expect_str(r, "900150983cd24fb0d6963f7d28e17f72");
	sb_value_free(r);
	sb_value_free(h);
}
END_TEST

START_TEST(test_json_dumps)
{
	sb_value	*m, *r;

	m = sb_map_new();
	ck_assert_int_eq(sb_map_set(m, sb_str("a"), sb_int(1)), 0);
	r = call_ok("json", "dumps", sbt_list(m, NULL));
	expect_str(r, "{\"a\": 1}");
	sb_value_free(r);
}
END_TEST

START_TEST(test_counter_most_common)
{
	sb_value	*counter, *target, *args, *r = NULL;
	const sb_value	*pair;
	sb_error	*err = NULL;

	counter = call_ok("collections", "Counter",
	    sbt_list(sb_str("abracadabra"), NULL));
	/*
	 * A Counter is a dict: it may travel as a map (then most_common is
	 * called unbound on the class) or as a ref.
	 */
	if (sb_value_type(counter) == SB_MAP) {
		expect_int(sb_map_get(counter, "a"), 5);
		sbt_ok("get collections.Counter", sb_get(sbt_c, "collections",
		    "Counter", NULL, &target, &err), err);
		expect_ref(target, "type");
		args = sbt_list(sb_value_copy(counter), sb_int(1), NULL);
	} else {
		expect_ref(counter, "collections.Counter");
		target = sb_value_copy(counter);
		args = sbt_list(sb_int(1), NULL);
	}
	sbt_ok("method most_common", sb_method(sbt_c, target, "most_common", args,
	    NULL, NULL, &r, &err), err);
	ck_assert_int_eq(sb_value_type(r), SB_LIST);
	ck_assert_uint_eq(sb_value_len(r), 1);
	pair = sb_value_item(r, 0);
	ck_assert_int_eq(sb_value_type(pair), SB_TUPLE);
	ck_assert_uint_eq(sb_value_len(pair), 2);
	expect_str(sb_value_item(pair, 0), "a");
	expect_int(sb_value_item(pair, 1), 5);
	sb_value_free(args);
	sb_value_free(r);
	sb_value_free(target);
	sb_value_free(counter);
}
END_TEST

START_TEST(test_range_ref)
{
	sb_value	*rng, *it, *key, *r = NULL;
	sb_error	*err = NULL;
	const sb_value	*items;
	int		 done;

	rng = call_ok("builtins", "range", sbt_list(sb_int(10), NULL));
	expect_ref(rng, "range");

	sbt_ok("len", sb_len(sbt_c, rng, NULL, &r, &err), err);
	expect_int(r, 10);
	sb_value_free(r);

	sbt_ok("repr", sb_repr(sbt_c, rng, NULL, &r, &err), err);
	expect_str(r, "range(0, 10)");
	sb_value_free(r);

	sbt_ok("str", sb_pystr(sbt_c, rng, NULL, &r, &err), err);
	expect_str(r, "range(0, 10)");
	sb_value_free(r);

	key = sb_int(3);
	sbt_ok("getitem", sb_getitem(sbt_c, rng, key, NULL, &r, &err), err);
	expect_int(r, 3);
	sb_value_free(r);
	sb_value_free(key);

	sbt_ok("iter", sb_iter(sbt_c, rng, NULL, &it, &err), err);
	ck_assert_int_eq(sb_value_type(it), SB_REF);

	/* Batches of 4: [0..3] not done, [4..7] not done, [8, 9] done. */
	sbt_ok("next 1", sb_next(sbt_c, it, 4, NULL, &r, &err), err);
	ck_assert_int_eq(sb_value_type(r), SB_LIST);
	ck_assert_uint_eq(sb_value_len(r), 2);
	items = sb_value_item(r, 0);
	ck_assert_uint_eq(sb_value_len(items), 4);
	expect_int(sb_value_item(items, 0), 0);
	expect_int(sb_value_item(items, 3), 3);
	expect_bool(sb_value_item(r, 1), 0);
	sb_value_free(r);

	sbt_ok("next 2", sb_next(sbt_c, it, 4, NULL, &r, &err), err);
	items = sb_value_item(r, 0);
	ck_assert_uint_eq(sb_value_len(items), 4);
	expect_int(sb_value_item(items, 0), 4);
	expect_bool(sb_value_item(r, 1), 0);
	sb_value_free(r);

	sbt_ok("next 3", sb_next(sbt_c, it, 4, NULL, &r, &err), err);
	items = sb_value_item(r, 0);
	ck_assert_uint_eq(sb_value_len(items), 2);
	expect_int(sb_value_item(items, 0), 8);
	expect_int(sb_value_item(items, 1), 9);
	ck_assert_int_eq(sb_value_get_bool(sb_value_item(r, 1), &done), 0);
	ck_assert_msg(done, "next returned the last items without done");
	sb_value_free(r);

	/* An exhausted iterator keeps answering [[], true]. */
	sbt_ok("next 4", sb_next(sbt_c, it, 4, NULL, &r, &err), err);
	ck_assert_uint_eq(sb_value_len(sb_value_item(r, 0)), 0);
	expect_bool(sb_value_item(r, 1), 1);
	sb_value_free(r);

	sb_value_free(it);
	sb_value_free(rng);
}
END_TEST

START_TEST(test_setattr_attr)
{
	sb_value	*thing, *val, *r = NULL;
	sb_error	*err = NULL;

	thing = call_ok("sbfixtures", "make_thing", sbt_list(sb_int(7), NULL));
	expect_ref(thing, "sbfixtures.Thing");

	sbt_ok("attr value", sb_attr(sbt_c, thing, "value", NULL, &r, &err), err);
	expect_int(r, 7);
	sb_value_free(r);

	val = sb_int(21);
	sbt_ok("setattr value", sb_setattr(sbt_c, thing, "value", val, NULL, &err),
	    err);
	sb_value_free(val);
	val = sb_str("renamed");
	sbt_ok("setattr new", sb_setattr(sbt_c, thing, "extra", val, NULL, &err),
	    err);
	sb_value_free(val);

	sbt_ok("attr value", sb_attr(sbt_c, thing, "value", NULL, &r, &err), err);
	expect_int(r, 21);
	sb_value_free(r);
	sbt_ok("attr extra", sb_attr(sbt_c, thing, "extra", NULL, &r, &err), err);
	expect_str(r, "renamed");
	sb_value_free(r);
	sbt_ok("method double", sb_method(sbt_c, thing, "double", NULL, NULL, NULL,
	    &r, &err), err);
	expect_int(r, 42);
	sb_value_free(r);

	sbt_ok("dir", sb_dir(sbt_c, thing, NULL, &r, &err), err);
	ck_assert_int_eq(sb_value_type(r), SB_LIST);
	ck_assert_uint_gt(sb_value_len(r), 3);
	sb_value_free(r);
	sb_value_free(thing);
}
END_TEST

START_TEST(test_graceful_lambda)
{
	sb_value	*m, *args, *r = NULL;
	const sb_value	*f;
	sb_error	*err = NULL;

	m = call_ok("sbfixtures", "with_lambda", NULL);
	ck_assert_int_eq(sb_value_type(m), SB_MAP);
	ck_assert_uint_eq(sb_value_len(m), 2);
	expect_int(sb_map_get(m, "n"), 42);
	f = sb_map_get(m, "f");
	ck_assert_ptr_nonnull(f);
	expect_ref(f, "function");

	/* The ref is usable: call the lambda through its __call__. */
	args = sbt_list(sb_int(1), NULL);
	sbt_ok("method __call__", sb_method(sbt_c, f, "__call__", args, NULL, NULL,
	    &r, &err), err);
	expect_int(r, 2);
	sb_value_free(r);
	sb_value_free(args);
	sb_value_free(m);
}
END_TEST

START_TEST(test_numpy_mean_axis)
{
	sb_value	*args, *kw, *r = NULL;
	sb_error	*err = NULL;
	const char	*dtype;
	const int64_t	*shape;
	const void	*data;
	size_t		 ndim, len;
	double		 d[2];

	args = sbt_list(sbt_list(sbt_list(sb_int(1), sb_int(2), NULL),
	    sbt_list(sb_int(3), sb_int(4), NULL), NULL), NULL);
	kw = sb_map_new();
	ck_assert_int_eq(sb_map_set(kw, sb_str("axis"), sb_int(0)), 0);
	sbt_ok("call numpy.mean", sb_call(sbt_c, "numpy", "mean", args, kw, NULL,
	    &r, &err), err);
	ck_assert_int_eq(sb_value_type(r), SB_NDARRAY);
	ck_assert_int_eq(sb_value_get_ndarray(r, &dtype, &shape, &ndim, &data,
	    &len), 0);
	ck_assert_str_eq(dtype, "<f8");
	ck_assert_uint_eq(ndim, 1);
	ck_assert_int_eq(shape[0], 2);
	ck_assert_uint_eq(len, sizeof d);
	memcpy(d, data, sizeof d);
	ck_assert_double_eq(d[0], 2.0);
	ck_assert_double_eq(d[1], 3.0);
	sb_value_free(r);
	sb_value_free(args);
	sb_value_free(kw);
}
END_TEST

/*
 * Large payloads inside containers and exts (the worker writes them from
 * the objects' memory): a tuple of bytes, an array and an int, and a list
 * of two arrays, come back unchanged.
 */
START_TEST(test_large_payloads)
{
	enum { NB = 300 * 1024, ND = 40 * 1024 };
	sb_value	*t, *l, *r;
	unsigned char	*b;
	double		*d;
	int64_t		 shape[1] = { ND };
	size_t		 i;

	ck_assert_ptr_nonnull(b = malloc(NB));
	ck_assert_ptr_nonnull(d = malloc(ND * sizeof *d));
	for (i = 0; i < NB; i++)
		b[i] = (unsigned char)(i * 7 + i / 251);
	for (i = 0; i < ND; i++)
		d[i] = (double)i * 0.5 - 3.25;
	t = sb_tuple_new();
	ck_assert_int_eq(sb_list_append(t, sb_bytes(b, NB)), 0);
	ck_assert_int_eq(sb_list_append(t, sb_ndarray("<f8", shape, 1, d,
	    ND * sizeof *d)), 0);
	ck_assert_int_eq(sb_list_append(t, sb_int(42)), 0);
	r = call_ok("sbfixtures", "identity", sbt_list(sb_value_copy(t), NULL));
	ck_assert_msg(sb_value_equal(r, t), "tuple changed on its way");
	sb_value_free(r);

	l = sbt_list(sb_ndarray("<f8", shape, 1, d, ND * sizeof *d),
	    sb_ndarray("<f8", shape, 1, d, ND * sizeof *d), NULL);
	r = call_ok("sbfixtures", "identity", sbt_list(sb_value_copy(l), NULL));
	ck_assert_msg(sb_value_equal(r, l), "list changed on its way");
	sb_value_free(r);
	sb_value_free(l);
	sb_value_free(t);
	free(d);
	free(b);
}
END_TEST

START_TEST(test_numpy_ndarray_arg)
{
	static const double	 data[6] = { 1, 2, 3, 4, 5, 6.5 };
	static const int64_t	 shape[2] = { 2, 3 };
	sb_value		*arr, *kw, *args, *r = NULL;
	sb_error		*err = NULL;
	const char		*dtype;
	const int64_t		*rshape;
	const void		*rdata;
	size_t			 ndim, len;
	double			 sums[3];

	arr = sb_ndarray("<f8", shape, 2, data, sizeof data);
	ck_assert_ptr_nonnull(arr);
	args = sbt_list(sb_value_copy(arr), NULL);
	r = call_ok("numpy", "sum", args);
	expect_float(r, 21.5);
	sb_value_free(r);

	/* Shape survives: sum over axis 0 of the 2x3 array. */
	args = sbt_list(sb_value_copy(arr), NULL);
	kw = sb_map_new();
	ck_assert_int_eq(sb_map_set(kw, sb_str("axis"), sb_int(0)), 0);
	sbt_ok("call numpy.sum axis=0", sb_call(sbt_c, "numpy", "sum", args, kw,
	    NULL, &r, &err), err);
	ck_assert_int_eq(sb_value_get_ndarray(r, &dtype, &rshape, &ndim, &rdata,
	    &len), 0);
	ck_assert_str_eq(dtype, "<f8");
	ck_assert_uint_eq(ndim, 1);
	ck_assert_int_eq(rshape[0], 3);
	ck_assert_uint_eq(len, sizeof sums);
	memcpy(sums, rdata, sizeof sums);
	ck_assert_double_eq(sums[0], 5.0);
	ck_assert_double_eq(sums[1], 7.0);
	ck_assert_double_eq(sums[2], 9.5);
	sb_value_free(r);
	sb_value_free(args);
	sb_value_free(kw);

	/* And the array comes back as it went. */
	r = call_ok("sbfixtures", "identity", sbt_list(sb_value_copy(arr),
	    NULL));
	ck_assert_msg(sb_value_equal(r, arr), "ndarray changed on its way");
	sb_value_free(r);
	sb_value_free(arr);
}
END_TEST

START_TEST(test_error_value_error)
{
	sb_error	*err;
	const char	*tb;

	err = call_err("math", "sqrt", sbt_list(sb_int(-1), NULL), "ValueError");
	ck_assert_str_eq(sb_error_message(err), "math domain error");
	ck_assert_ptr_nonnull(sb_error_module(err));
	ck_assert_str_eq(sb_error_module(err), "builtins");
	tb = sb_error_traceback(err);
	ck_assert_msg(tb != NULL && strstr(tb, "ValueError") != NULL,
	    "traceback missing or without the exception: %s",
	    tb ? tb : "(null)");
	sb_error_free(err);

	/* A traceback through Python code names the fixture's frame. */
	err = call_err("sbfixtures", "fail", sbt_list(sb_str("boom"), NULL),
	    "ValueError");
	ck_assert_str_eq(sb_error_message(err), "boom");
	tb = sb_error_traceback(err);
	ck_assert_msg(tb != NULL && strstr(tb, "sbfixtures.py") != NULL,
	    "traceback does not name sbfixtures.py: %s", tb ? tb : "(null)");
	sb_error_free(err);
}
END_TEST

START_TEST(test_error_missing_module)
{
	sb_error	*err;

	err = call_err("no_such_module_sbt", "f", NULL, "ModuleNotFoundError");
	ck_assert_ptr_nonnull(strstr(sb_error_message(err),
	    "no_such_module_sbt"));
	sb_error_free(err);
}
END_TEST

START_TEST(test_error_attribute)
{
	sb_value	*path, *r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	err = call_err("math", "no_such_function", NULL, "AttributeError");
	sb_error_free(err);

	err = NULL;
	rc = sb_get(sbt_c, "math", "no_such_attr", NULL, &r, &err);
	sbt_expect_error("get math.no_such_attr", rc, err, "AttributeError");
	sb_error_free(err);

	path = call_ok("pathlib", "Path", sbt_list(sb_str("/tmp"), NULL));
	err = NULL;
	rc = sb_attr(sbt_c, path, "no_such_attr", NULL, &r, &err);
	sbt_expect_error("attr no_such_attr", rc, err, "AttributeError");
	sb_error_free(err);
	sb_value_free(path);
}
END_TEST

START_TEST(test_release)
{
	sb_value	*path, *r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	path = call_ok("pathlib", "Path", sbt_list(sb_str("/tmp"), NULL));
	sbt_ok("release", sb_release(sbt_c, path, NULL, &err), err);
	rc = sb_attr(sbt_c, path, "name", NULL, &r, &err);
	sbt_expect_error("attr after release", rc, err,
	    "snakebridge.RefNotFound");
	sb_error_free(err);
	err = NULL;
	sbt_ok("release twice", sb_release(sbt_c, path, NULL, &err), err);
	sb_value_free(path);

	/* A list of refs is released at once. */
	path = call_ok("pathlib", "Path", sbt_list(sb_str("/tmp"), NULL));
	r = sbt_list(sb_value_copy(path), call_ok("builtins", "range",
	    sbt_list(sb_int(3), NULL)), NULL);
	sbt_ok("release list", sb_release(sbt_c, r, NULL, &err), err);
	sb_value_free(r);
	r = NULL;
	rc = sb_len(sbt_c, path, NULL, &r, &err);
	sbt_expect_error("len after release", rc, err,
	    "snakebridge.RefNotFound");
	sb_error_free(err);
	sb_value_free(path);
}
END_TEST

START_TEST(test_ref_foreign)
{
	sb_client	*other;
	sb_value	*rng, *r = NULL, *info = NULL;
	sb_error	*err = NULL;
	struct sb_opts	 opts;
	int		 rc;

	rng = call_ok("builtins", "range", sbt_list(sb_int(5), NULL));
	other = sbt_connect(&sbt_d);

	/* The other connection's automatic session does not hold it. */
	rc = sb_len(other, rng, NULL, &r, &err);
	sbt_expect_error("len from another connection", rc, err,
	    "snakebridge.RefForeign");
	sb_error_free(err);
	err = NULL;

	/* Nor does a named session of the other connection. */
	sbt_ok("session.open", sb_session_open(other, "sbt-foreign", NULL,
	    &info, &err), err);
	sb_value_free(info);
	sb_opts_init(&opts);
	opts.session = "sbt-foreign";
	rc = sb_len(other, rng, &opts, &r, &err);
	sbt_expect_error("len in another named session", rc, err,
	    "snakebridge.RefForeign");
	sb_error_free(err);
	err = NULL;
	sbt_ok("session.close", sb_session_close(other, "sbt-foreign", &err),
	    err);

	/* The owner still uses it. */
	sbt_ok("len by the owner", sb_len(sbt_c, rng, NULL, &r, &err), err);
	expect_int(r, 5);
	sb_value_free(r);
	sb_client_close(other);
	sb_value_free(rng);
}
END_TEST

START_TEST(test_ref_forged)
{
	unsigned char	 junk[40];
	unsigned char	 payload[SB_REF_FIXED_LEN + SB_REF_TYPE_MAX];
	struct sb_refdata rd;
	const void	*bytes;
	sb_value	*ref, *real, *r = NULL;
	sb_error	*err = NULL;
	size_t		 i, len;
	int		 rc;

	for (i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 37 + 11);
	junk[0] = 0xee;		/* not a known payload version */
	ref = sb_ref_from_bytes(junk, sizeof junk);
	rc = sb_len(sbt_c, ref, NULL, &r, &err);
	sbt_expect_error("len of random bytes", rc, err,
	    "snakebridge.InvalidRef");
	sb_error_free(err);
	err = NULL;
	sb_value_free(ref);

	/* Well-formed, but naming a ref id that was never handed out. */
	real = call_ok("builtins", "range", sbt_list(sb_int(5), NULL));
	bytes = sb_value_bytes(real, &len);
	ck_assert_int_eq(sb_ref_decode(bytes, len, &rd), 0);
	rd.ref_id += 1000000;
	len = sb_ref_encode(&rd, payload);
	ref = sb_ref_from_bytes(payload, len);
	rc = sb_len(sbt_c, ref, NULL, &r, &err);
	sbt_expect_error("len of an unknown ref id", rc, err,
	    "snakebridge.RefNotFound");
	sb_error_free(err);
	sb_value_free(ref);
	sb_value_free(real);
}
END_TEST

/* v goes to Python and back unchanged; Python sees it as repr `pyrepr`. */
static void
roundtrip(sb_value *v, const char *pyrepr)
{
	sb_value	*back, *rep;

	back = call_ok("sbfixtures", "identity",
	    sbt_list(sb_value_copy(v), NULL));
	ck_assert_msg(sb_value_equal(back, v),
	    "value changed through Python (Python saw it as %s)",
	    pyrepr ? pyrepr : "?");
	sb_value_free(back);
	if (pyrepr != NULL) {
		rep = call_ok("sbfixtures", "describe",
		    sbt_list(sb_value_copy(v), NULL));
		expect_str(rep, pyrepr);
		sb_value_free(rep);
	}
	sb_value_free(v);
}

START_TEST(test_edge_ints)
{
	roundtrip(sb_int(INT64_MIN), "-9223372036854775808");
	roundtrip(sb_int(INT64_MAX), "9223372036854775807");
	roundtrip(sb_uint(UINT64_MAX), "18446744073709551615");
	roundtrip(sb_int(0), "0");
	roundtrip(sb_int(-1), "-1");
	roundtrip(sb_bigint("1267650600228229401496703205376"),
	    "1267650600228229401496703205376");
	roundtrip(sb_bigint("-1267650600228229401496703205376"),
	    "-1267650600228229401496703205376");
	roundtrip(sb_bool(1), "True");
	roundtrip(sb_nil(), "None");
}
END_TEST

START_TEST(test_edge_bigint_from_python)
{
	sb_value	*r;

	r = call_ok("builtins", "pow", sbt_list(sb_int(2), sb_int(100), NULL));
	ck_assert_int_eq(sb_value_type(r), SB_BIGINT);
	ck_assert_str_eq(sb_value_str(r, NULL),
	    "1267650600228229401496703205376");
	sb_value_free(r);
}
END_TEST

START_TEST(test_edge_floats)
{
	sb_value	*r;
	double		 d;

	roundtrip(sb_float(INFINITY), "inf");
	roundtrip(sb_float(-INFINITY), "-inf");
	roundtrip(sb_float(-0.0), "-0.0");
	roundtrip(sb_float(1e308), "1e+308");
	r = call_ok("sbfixtures", "identity", sbt_list(sb_float(NAN), NULL));
	ck_assert_int_eq(sb_value_get_float(r, &d), 0);
	ck_assert_msg(isnan(d), "NaN came back as %g", d);
	sb_value_free(r);
	r = call_ok("sbfixtures", "describe", sbt_list(sb_float(NAN), NULL));
	expect_str(r, "nan");
	sb_value_free(r);
	roundtrip(sb_complex(1.5, -2), "(1.5-2j)");
}
END_TEST

START_TEST(test_edge_empty)
{
	roundtrip(sb_list_new(), "[]");
	roundtrip(sb_map_new(), "{}");
	roundtrip(sb_tuple_new(), "()");
	roundtrip(sb_set_new(), "set()");
	roundtrip(sb_frozenset_new(), "frozenset()");
	roundtrip(sb_str(""), "''");
	roundtrip(sb_bytes("", 0), "b''");
}
END_TEST

START_TEST(test_edge_text_bytes)
{
	roundtrip(sb_str("snake \xf0\x9f\x90\x8d caf\xc3\xa9"),
	    "'snake \xf0\x9f\x90\x8d caf\xc3\xa9'");
	roundtrip(sb_strn("a\0b", 3), "'a\\x00b'");
	roundtrip(sb_bytes("\0\0x\0\xff", 5), "b'\\x00\\x00x\\x00\\xff'");
}
END_TEST

START_TEST(test_edge_containers)
{
	sb_value	*m, *t, *inner, *s, *fs;

	/* Keys that are not strings: int, bytes, tuple. */
	m = sb_map_new();
	ck_assert_int_eq(sb_map_set(m, sb_int(1), sb_str("one")), 0);
	ck_assert_int_eq(sb_map_set(m, sb_bytes("k", 1), sb_nil()), 0);
	t = sb_tuple_new();
	sb_list_append(t, sb_int(1));
	sb_list_append(t, sb_int(2));
	ck_assert_int_eq(sb_map_set(m, t, sb_float(0.5)), 0);
	roundtrip(m, "{1: 'one', b'k': None, (1, 2): 0.5}");

	/* Nested tuples. */
	inner = sb_tuple_new();
	sb_list_append(inner, sb_int(3));
	t = sb_tuple_new();
	sb_list_append(t, sb_int(2));
	sb_list_append(t, inner);
	inner = t;
	t = sb_tuple_new();
	sb_list_append(t, sb_int(1));
	sb_list_append(t, inner);
	roundtrip(t, "(1, (2, (3,)))");

	/* A frozenset and a set in a tuple, inside a list. */
	fs = sb_frozenset_new();
	sb_list_append(fs, sb_int(5));
	s = sb_set_new();
	sb_list_append(s, sb_int(1));
	sb_list_append(s, sb_int(2));
	t = sb_tuple_new();
	sb_list_append(t, fs);
	sb_list_append(t, s);
	roundtrip(sbt_list(t, NULL), "[(frozenset({5}), {1, 2})]");

	/* A frozenset inside a set (order of a set is Python's own). */
	fs = sb_frozenset_new();
	sb_list_append(fs, sb_int(5));
	s = sb_set_new();
	sb_list_append(s, fs);
	roundtrip(s, "{frozenset({5})}");
}
END_TEST

START_TEST(test_kwargs)
{
	sb_value	*args, *kw, *r = NULL;
	sb_error	*err = NULL;

	args = sbt_list(sb_str("ff"), NULL);
	kw = sb_map_new();
	ck_assert_int_eq(sb_map_set(kw, sb_str("base"), sb_int(16)), 0);
	sbt_ok("int('ff', base=16)", sb_call(sbt_c, "builtins", "int", args, kw,
	    NULL, &r, &err), err);
	expect_int(r, 255);
	sb_value_free(r);
	sb_value_free(args);
	sb_value_free(kw);
}
END_TEST

START_TEST(test_error_details)
{
	sb_error	*err;
	const sb_value	*details, *args;

	err = call_err("sbfixtures", "fail",
	    sbt_list(sb_str("caf\xc3\xa9 \xf0\x9f\x90\x8d"), NULL), "ValueError");
	ck_assert_str_eq(sb_error_message(err), "caf\xc3\xa9 \xf0\x9f\x90\x8d");
	details = sb_error_details(err);
	ck_assert_int_eq(sb_value_type(details), SB_MAP);
	args = sb_map_get(details, "args");
	ck_assert_ptr_nonnull(args);
	ck_assert_uint_eq(sb_value_len(args), 1);
	expect_str(sb_value_item(args, 0), "caf\xc3\xa9 \xf0\x9f\x90\x8d");
	sb_error_free(err);
}
END_TEST

START_TEST(test_generator_ref)
{
	sb_value	*g, *r = NULL;
	sb_error	*err = NULL;
	size_t		 total = 0;
	int		 done = 0, rounds;

	g = call_ok("sbfixtures", "gen", sbt_list(sb_int(25), NULL));
	expect_ref(g, "generator");
	for (rounds = 0; !done && rounds < 10; rounds++) {
		sbt_ok("next", sb_next(sbt_c, g, 10, NULL, &r, &err), err);
		ck_assert_uint_le(sb_value_len(sb_value_item(r, 0)), 10);
		if (sb_value_len(sb_value_item(r, 0)) > 0)
			expect_int(sb_value_item(sb_value_item(r, 0), 0),
			    (int64_t)total);
		total += sb_value_len(sb_value_item(r, 0));
		ck_assert_int_eq(sb_value_get_bool(sb_value_item(r, 1), &done),
		    0);
		sb_value_free(r);
	}
	ck_assert_msg(done, "generator never reported done");
	ck_assert_uint_eq(total, 25);
	sb_value_free(g);
}
END_TEST

START_TEST(test_cycle)
{
	sb_value	*r;

	/* A list holding itself: the inner occurrence becomes a ref. */
	r = call_ok("sbfixtures", "cycle", NULL);
	ck_assert_int_eq(sb_value_type(r), SB_LIST);
	ck_assert_uint_eq(sb_value_len(r), 2);
	expect_int(sb_value_item(r, 0), 1);
	expect_ref(sb_value_item(r, 1), "list");
	sb_value_free(r);
}
END_TEST

START_TEST(test_dates_decimal)
{
	sb_value	*r;
	int64_t		 sec;
	uint32_t	 nsec;

	r = call_ok("sbfixtures", "dated", NULL);
	ck_assert_uint_eq(sb_value_len(r), 4);
	ck_assert_int_eq(sb_value_type(sb_value_item(r, 0)), SB_DATE);
	ck_assert_str_eq(sb_value_str(sb_value_item(r, 0), NULL), "2024-05-01");
	ck_assert_int_eq(sb_value_type(sb_value_item(r, 1)), SB_DATETIME);
	ck_assert_str_eq(sb_value_str(sb_value_item(r, 1), NULL),
	    "2024-05-01T12:30:00.250000");
	ck_assert_int_eq(sb_value_type(sb_value_item(r, 2)), SB_DECIMAL);
	ck_assert_str_eq(sb_value_str(sb_value_item(r, 2), NULL), "-1.50");
	ck_assert_int_eq(sb_value_get_timestamp(sb_value_item(r, 3), &sec,
	    &nsec), 0);
	ck_assert_int_eq(sec, 1714521600);
	ck_assert_uint_eq(nsec, 0);
	sb_value_free(r);

	roundtrip(sb_date("2024-05-01"), "datetime.date(2024, 5, 1)");
	roundtrip(sb_datetime("2024-05-01T12:30:00.250000"),
	    "datetime.datetime(2024, 5, 1, 12, 30, 0, 250000)");
	roundtrip(sb_decimal("-1.50"), "Decimal('-1.50')");
	roundtrip(sb_timestamp(1714566600, 250000000),
	    "datetime.datetime(2024, 5, 1, 12, 30, 0, 250000, "
	    "tzinfo=datetime.timezone.utc)");
}
END_TEST

START_TEST(test_status)
{
	const sb_value	*pools, *pool;
	sb_value	*r = NULL;
	sb_error	*err = NULL;

	sbt_ok("status", sb_status(sbt_c, &r, &err), err);
	ck_assert_int_eq(sb_value_type(r), SB_MAP);
	ck_assert_ptr_nonnull(sb_map_get(r, "daemon"));
	ck_assert_ptr_nonnull(sb_map_get(r, "sessions"));
	ck_assert_ptr_nonnull(sb_map_get(r, "counters"));
	pools = sb_map_get(r, "pools");
	ck_assert_int_eq(sb_value_type(pools), SB_LIST);
	ck_assert_uint_ge(sb_value_len(pools), 1);
	pool = sb_value_item(pools, 0);
	expect_str(sb_map_get(pool, "name"), "default");
	expect_int(sb_map_get(pool, "size"), 2);
	ck_assert_uint_eq(sb_value_len(sb_map_get(pool, "workers")), 2);
	sb_value_free(r);
}
END_TEST

/* The session info map of name in a session.list result, or NULL. */
static const sb_value *
find_session(const sb_value *list, const char *name)
{
	const sb_value	*info, *n;
	size_t		 i;

	for (i = 0; i < sb_value_len(list); i++) {
		info = sb_value_item(list, i);
		n = sb_map_get(info, "name");
		if (n != NULL && sb_value_str(n, NULL) != NULL &&
		    strcmp(sb_value_str(n, NULL), name) == 0)
			return (info);
	}
	return (NULL);
}

START_TEST(test_named_session)
{
	struct sb_opts	 opts;
	sb_value	*args, *thing = NULL, *r = NULL;
	sb_error	*err = NULL;
	const sb_value	*info;
	int64_t		 refs;
	int		 rc;

	sbt_ok("session.open", sb_session_open(sbt_c, "sbt-named", NULL, &r, &err),
	    err);
	ck_assert_int_eq(sb_value_type(r), SB_MAP);
	expect_str(sb_map_get(r, "name"), "sbt-named");
	sb_value_free(r);

	sb_opts_init(&opts);
	opts.session = "sbt-named";
	args = sbt_list(sb_int(3), NULL);
	sbt_ok("make_thing in session", sb_call(sbt_c, "sbfixtures", "make_thing",
	    args, NULL, &opts, &thing, &err), err);
	sb_value_free(args);
	ck_assert_int_eq(sb_value_type(thing), SB_REF);

	sbt_ok("session.info", sb_session_info(sbt_c, "sbt-named", &r, &err), err);
	expect_str(sb_map_get(r, "name"), "sbt-named");
	/* refs: a count, or nil while the daemon does not know it. */
	if (sb_value_type(sb_map_get(r, "refs")) != SB_NIL) {
		ck_assert_int_eq(sb_value_get_int(sb_map_get(r, "refs"),
		    &refs), 0);
		ck_assert_int_ge(refs, 1);
	}
	sb_value_free(r);

	sbt_ok("session.list", sb_session_list(sbt_c, &r, &err), err);
	ck_assert_int_eq(sb_value_type(r), SB_LIST);
	info = find_session(r, "sbt-named");
	ck_assert_msg(info != NULL, "session.list does not show sbt-named");
	sb_value_free(r);

	/* The ref works from another connection of the same user. */
	{
		sb_client	*other = sbt_connect(&sbt_d);

		sbt_ok("attr from another connection", sb_attr(other, thing,
		    "value", &opts, &r, &err), err);
		expect_int(r, 3);
		sb_value_free(r);
		sb_client_close(other);
	}

	sbt_ok("session.close", sb_session_close(sbt_c, "sbt-named", &err), err);
	rc = sb_attr(sbt_c, thing, "value", NULL, &r, &err);
	sbt_expect_error("attr after session.close", rc, err,
	    "snakebridge.RefNotFound");
	sb_error_free(err);
	err = NULL;
	rc = sb_session_info(sbt_c, "sbt-named", &r, &err);
	sbt_expect_error("info after close", rc, err,
	    "snakebridge.SessionNotFound");
	sb_error_free(err);
	sb_value_free(thing);
}
END_TEST

START_TEST(test_close_releases_session)
{
	sb_client	*owner = sbt_connect(&sbt_d);
	sb_value	*args, *rng = NULL, *r = NULL;
	sb_error	*err = NULL;
	int64_t		 deadline;
	int		 rc;

	args = sbt_list(sb_int(4), NULL);
	sbt_ok("range", sb_call(owner, "builtins", "range", args, NULL, NULL,
	    &rng, &err), err);
	sb_value_free(args);
	sb_client_close(owner);

	/* Once the owner's connection is gone, so is its session. */
	deadline = sbt_now_ms() + 5000;
	for (;;) {
		err = NULL;
		rc = sb_len(sbt_c, rng, NULL, &r, &err);
		if (rc == SB_EREMOTE && strcmp(sb_error_type(err),
		    "snakebridge.RefNotFound") == 0)
			break;
		ck_assert_msg(rc == SB_EREMOTE, "len of a closed connection's "
		    "ref: rc %d", rc);
		ck_assert_msg(sbt_now_ms() < deadline, "still %s 5 s after "
		    "its connection closed", sb_error_type(err));
		sb_error_free(err);
	}
	sb_error_free(err);
	sb_value_free(rng);
}
END_TEST

START_TEST(test_print_goes_to_log)
{
	sb_value	*r;

	r = call_ok("builtins", "print",
	    sbt_list(sb_str("hello from sbt print 4711"), NULL));
	ck_assert_int_eq(sb_value_type(r), SB_NIL);
	sb_value_free(r);
	/* The channel is intact. */
	r = call_ok("math", "sqrt", sbt_list(sb_int(9), NULL));
	expect_float(r, 3.0);
	sb_value_free(r);
	ck_assert_msg(sbt_daemon_log_wait(&sbt_d, "hello from sbt print 4711",
	    5000), "the printed line is not in the daemon's log");
}
END_TEST

START_TEST(test_chatter_does_not_block)
{
	sb_value	*r;

	/* Far more than a pipe holds: the worker must not stall on it. */
	r = call_ok("sbfixtures", "chatter", sbt_list(sb_int(20000), NULL));
	expect_int(r, 20000);
	sb_value_free(r);
	r = call_ok("math", "sqrt", sbt_list(sb_int(25), NULL));
	expect_float(r, 5.0);
	sb_value_free(r);
	ck_assert_msg(sbt_daemon_log_wait(&sbt_d, "chatter raw fd 2", 10000),
	    "output written to fd 2 is not in the daemon's log");
}
END_TEST

START_TEST(test_large_values)
{
	size_t		 n = 8 * 1024 * 1024, i, len;
	unsigned char	*buf;
	const unsigned char *back;
	double		*arr;
	int64_t		 shape[1];
	sb_value	*v, *r;

	ck_assert_ptr_nonnull(buf = malloc(n));
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 7);
	v = sb_bytes(buf, n);
	r = call_ok("sbfixtures", "identity", sbt_list(v, NULL));
	ck_assert_int_eq(sb_value_type(r), SB_BYTES);
	back = sb_value_bytes(r, &len);
	ck_assert_uint_eq(len, n);
	ck_assert_int_eq(memcmp(back, buf, n), 0);
	sb_value_free(r);
	free(buf);

	shape[0] = 1000000;
	ck_assert_ptr_nonnull(arr = malloc(shape[0] * sizeof *arr));
	for (i = 0; i < (size_t)shape[0]; i++)
		arr[i] = 0.5;
	v = sb_ndarray("<f8", shape, 1, arr, shape[0] * sizeof *arr);
	r = call_ok("numpy", "sum", sbt_list(v, NULL));
	expect_float(r, 500000.0);
	sb_value_free(r);
	free(arr);
}
END_TEST

/* A rows x cols float64 array holding i * 0.25 + k. */
static sb_value *
bulk_array(int64_t rows, int64_t cols, double k)
{
	int64_t		 shape[2] = { rows, cols };
	size_t		 i, n = (size_t)(rows * cols);
	double		*d;
	sb_value	*v;

	ck_assert_ptr_nonnull(d = malloc(n * sizeof *d));
	for (i = 0; i < n; i++)
		d[i] = (double)i * 0.25 + k;
	v = sb_ndarray("<f8", shape, 2, d, n * sizeof *d);
	free(d);
	ck_assert_ptr_nonnull(v);
	return (v);
}

/* len bytes of a pattern that depends on seed. */
static sb_value *
bulk_bytes(size_t len, unsigned seed)
{
	unsigned char	*b;
	sb_value	*v;
	size_t		 i;

	ck_assert_ptr_nonnull(b = malloc(len));
	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 31 + i / 509 + seed);
	v = sb_bytes(b, len);
	free(b);
	ck_assert_ptr_nonnull(v);
	return (v);
}

/*
 * A large array arrives in Python as an ordinary array (writable, aligned)
 * that can be changed in place, and comes back changed and aligned.
 */
START_TEST(test_bulk_array_changed_in_python)
{
	const int64_t	*shape;
	const double	*data;
	sb_value	*r, *flags;
	size_t		 i, ndim, len;

	flags = call_ok("sbfixtures", "array_flags",
	    sbt_list(bulk_array(512, 1024, 0), NULL));
	ck_assert_uint_eq(sb_value_len(flags), 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(sb_value_type(sb_value_item(flags, i)), SB_BOOL);
	for (i = 0; i < 3; i++) {
		int	 b = 0;

		ck_assert_int_eq(sb_value_get_bool(sb_value_item(flags, i), &b),
		    0);
		ck_assert_msg(b, "array flag %zu is false", i);
	}
	sb_value_free(flags);

	r = call_ok("sbfixtures", "bump", sbt_list(bulk_array(512, 1024, 0),
	    NULL));
	ck_assert_int_eq(sb_value_get_ndarray(r, NULL, &shape, &ndim,
	    (const void **)&data, &len), 0);
	ck_assert_uint_eq(ndim, 2);
	ck_assert_int_eq(shape[0], 512);
	ck_assert_int_eq(shape[1], 1024);
	ck_assert_uint_eq(len, 512 * 1024 * sizeof(double));
	ck_assert_uint_eq((uintptr_t)data % sizeof(double), 0);
	for (i = 0; i < 512 * 1024; i++)
		if (data[i] != (double)i * 0.25 + 1)
			ck_abort_msg("element %zu is %g", i, data[i]);
	sb_value_free(r);
}
END_TEST

/* Several large args of one call, in args and kwargs, arrive intact. */
START_TEST(test_bulk_many_args)
{
	sb_value	*args, *kwargs, *want, *r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	args = sbt_list(sbt_list(bulk_bytes(3 << 20, 1), sb_int(7),
	    bulk_array(300, 700, 2), bulk_bytes(300 * 1024, 3), NULL), NULL);
	want = sb_value_copy(sb_value_item(args, 0));
	kwargs = sb_map_new();
	ck_assert_int_eq(sb_map_set(kwargs, sb_str("value"),
	    bulk_bytes(1 << 20, 4)), 0);
	rc = sb_call(sbt_c, "sbfixtures", "identity", NULL, kwargs, NULL, &r,
	    &err);
	sbt_ok("identity(value=bytes)", rc, err);
	ck_assert_msg(sb_value_equal(r, sb_map_value(kwargs, 0)),
	    "kwargs bytes changed");
	sb_value_free(r);
	r = call_ok("sbfixtures", "identity", args);
	ck_assert_msg(sb_value_equal(r, want), "list changed on its way");
	sb_value_free(r);
	sb_value_free(want);
	sb_value_free(kwargs);
}
END_TEST

/* The args of an async call may be freed at once: they were copied. */
START_TEST(test_bulk_async_args_freed)
{
	sb_pending	*p[2];
	sb_value	*args, *want[2], *r;
	sb_error	*err = NULL;
	int		 i;

	want[0] = bulk_bytes(5 << 20, 9);
	want[1] = bulk_array(1000, 1000, 5);
	for (i = 0; i < 2; i++) {
		args = sbt_list(sb_value_copy(want[i]), NULL);
		ck_assert_int_eq(sb_call_async(sbt_c, "sbfixtures", "identity",
		    args, NULL, NULL, &p[i]), 0);
		/* Scribble over the freed memory's neighbours too. */
		sb_value_free(args);
		args = bulk_bytes(5 << 20, 0xee);
		sb_value_free(args);
	}
	for (i = 0; i < 2; i++) {
		r = NULL;
		sbt_ok("sb_wait", sb_wait(sbt_c, p[i], 60000, &r, &err), err);
		ck_assert_msg(sb_value_equal(r, want[i]), "call %d changed", i);
		sb_value_free(r);
		sb_value_free(want[i]);
	}
}
END_TEST

/* A large ndarray whose shape does not match its data is refused. */
START_TEST(test_bulk_array_lying_shape)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	sb_error	*err;
	char		*data;
	size_t		 n = 512 * 1024;

	ck_assert_ptr_nonnull(data = calloc(1, n));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_str_with_body(&pk, "<f8", 3);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint64(&pk, n / 8 + 1);
	msgpack_pack_bin_with_body(&pk, data, n);
	err = call_err("sbfixtures", "identity", sbt_list(sb_ext(8, sb.data,
	    sb.size), NULL), "snakebridge.BadRequest");
	sb_error_free(err);
	msgpack_sbuffer_destroy(&sb);
	free(data);
}
END_TEST

START_TEST(test_getitem_errors)
{
	sb_value	*rng, *key, *r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rng = call_ok("builtins", "range", sbt_list(sb_int(10), NULL));
	key = sb_int(100);
	rc = sb_getitem(sbt_c, rng, key, NULL, &r, &err);
	sbt_expect_error("range[100]", rc, err, "IndexError");
	sb_error_free(err);
	sb_value_free(key);
	err = NULL;
	key = sb_str("x");
	rc = sb_getitem(sbt_c, rng, key, NULL, &r, &err);
	sbt_expect_error("range['x']", rc, err, "TypeError");
	sb_error_free(err);
	sb_value_free(key);
	/* Negative index, as Python does it. */
	key = sb_int(-1);
	sbt_ok("range[-1]", sb_getitem(sbt_c, rng, key, NULL, &r, &err), err);
	expect_int(r, 9);
	sb_value_free(r);
	sb_value_free(key);
	sb_value_free(rng);
}
END_TEST

START_TEST(test_server_info)
{
	const sb_value	*info, *limits;
	uint64_t	 max;

	info = sb_client_server_info(sbt_c);
	ck_assert_ptr_nonnull(info);
	expect_int(sb_map_get(info, "protocol"), 1);
	limits = sb_map_get(info, "limits");
	ck_assert_int_eq(sb_value_type(limits), SB_MAP);
	ck_assert_int_eq(sb_value_get_uint(sb_map_get(limits,
	    "max_message_size"), &max), 0);
	ck_assert_uint_eq(max, 64 * 1024 * 1024);
}
END_TEST

START_TEST(test_pandas)
{
	sb_value	*data, *df, *kw, *r = NULL;
	const sb_value	*col;
	sb_error	*err = NULL;

	data = sb_map_new();
	sb_map_set(data, sb_str("a"), sbt_list(sb_int(1), sb_int(2), NULL));
	sb_map_set(data, sb_str("b"), sbt_list(sb_float(0.5), sb_float(1.5),
	    NULL));
	df = call_ok("pandas", "DataFrame", sbt_list(data, NULL));
	ck_assert_int_eq(sb_value_type(df), SB_REF);
	ck_assert_ptr_nonnull(strstr(sb_ref_type(df), "DataFrame"));

	sbt_ok("attr shape", sb_attr(sbt_c, df, "shape", NULL, &r, &err), err);
	ck_assert_int_eq(sb_value_type(r), SB_TUPLE);
	expect_int(sb_value_item(r, 0), 2);
	expect_int(sb_value_item(r, 1), 2);
	sb_value_free(r);

	kw = sb_map_new();
	sb_map_set(kw, sb_str("orient"), sb_str("list"));
	sbt_ok("method to_dict", sb_method(sbt_c, df, "to_dict", NULL, kw, NULL,
	    &r, &err), err);
	ck_assert_int_eq(sb_value_type(r), SB_MAP);
	col = sb_map_get(r, "b");
	ck_assert_uint_eq(sb_value_len(col), 2);
	expect_float(sb_value_item(col, 1), 1.5);
	sb_value_free(r);
	sb_value_free(kw);
	sb_value_free(df);
}
END_TEST

static Suite *
ffi_suite(void)
{
	Suite	*s = suite_create("ffi");
	TCase	*tc = tcase_create("ffi");

	sbt_tcase_add_daemon(tc, NULL);
	sbt_tcase_add_client(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_call_sqrt);
	tcase_add_test(tc, test_get_pi);
	tcase_add_test(tc, test_pathlib_ref);
	tcase_add_test(tc, test_hashlib_md5);
	tcase_add_test(tc, test_json_dumps);
	tcase_add_test(tc, test_counter_most_common);
	tcase_add_test(tc, test_range_ref);
	tcase_add_test(tc, test_setattr_attr);
	tcase_add_test(tc, test_graceful_lambda);
	tcase_add_test(tc, test_numpy_mean_axis);
	tcase_add_test(tc, test_numpy_ndarray_arg);
	tcase_add_test(tc, test_bulk_array_changed_in_python);
	tcase_add_test(tc, test_bulk_many_args);
	tcase_add_test(tc, test_bulk_async_args_freed);
	tcase_add_test(tc, test_bulk_array_lying_shape);
	tcase_add_test(tc, test_large_payloads);
	tcase_add_test(tc, test_error_value_error);
	tcase_add_test(tc, test_error_missing_module);
	tcase_add_test(tc, test_error_attribute);
	tcase_add_test(tc, test_release);
	tcase_add_test(tc, test_ref_foreign);
	tcase_add_test(tc, test_ref_forged);
	tcase_add_test(tc, test_edge_ints);
	tcase_add_test(tc, test_edge_bigint_from_python);
	tcase_add_test(tc, test_edge_floats);
	tcase_add_test(tc, test_edge_empty);
	tcase_add_test(tc, test_edge_text_bytes);
	tcase_add_test(tc, test_edge_containers);
	tcase_add_test(tc, test_print_goes_to_log);
	tcase_add_test(tc, test_kwargs);
	tcase_add_test(tc, test_error_details);
	tcase_add_test(tc, test_generator_ref);
	tcase_add_test(tc, test_cycle);
	tcase_add_test(tc, test_dates_decimal);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_named_session);
	tcase_add_test(tc, test_close_releases_session);
	tcase_add_test(tc, test_chatter_does_not_block);
	tcase_add_test(tc, test_large_values);
	tcase_add_test(tc, test_getitem_errors);
	tcase_add_test(tc, test_server_info);
	tcase_add_test(tc, test_pandas);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(ffi_suite()));
}
