/*
 * check_shm.c: the shared-memory path end to end, through libsbclient
 * against a real daemon with real workers and numpy: arrays passed by
 * reference in a client's block, results that are views of it, copies
 * wherever a view cannot be (another connection, a detached block, a
 * callback's result or arguments, stream items, a new or non-contiguous
 * array), hostile ext 12 values, the block limit, and a restarted worker.
 */
#include <sys/resource.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sbproto.h"
#include "shmarray.h"
#include "supfix.h"

#define BLOCK_SIZE	(1u << 20)

/* module.func(*args) on c in session (NULL: automatic); args taken. */
static sb_value *
shm_call(sb_client *c, const char *session, const char *module,
    const char *func, sb_value *args)
{
	struct sb_opts	 opts;
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	char		 what[128];
	int		 rc;

	sb_opts_init(&opts);
	opts.session = session;
	snprintf(what, sizeof(what), "%s.%s", module, func);
	rc = sb_call(c, module, func, args, NULL, &opts, &res, &err);
	sb_value_free(args);
	sbt_ok(what, rc, err);
	return (res);
}

/* module.func(*args) on c must fail with type; args taken. */
static void
shm_call_err(sb_client *c, const char *module, const char *func,
    sb_value *args, const char *type)
{
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_call(c, module, func, args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sb_value_free(res);
	sbt_expect_error(func, rc, err, type);
	sb_error_free(err);
}

/* A block attached on c (fails the test if it cannot be). */
static sb_shm *
shm_new(sb_client *c, size_t size)
{
	const sb_error	*e;
	sb_shm		*m = NULL;
	int		 rc;

	rc = sb_shm_create(c, size, &m);
	e = sb_client_last_error(c);
	ck_assert_msg(rc == 0, "sb_shm_create: %s (%s: %s)", sb_strerror(rc),
	    rc == SB_EREMOTE && e != NULL ? sb_error_type(e) : "-",
	    rc == SB_EREMOTE && e != NULL ? sb_error_message(e) : "-");
	return (m);
}

/* n float64s 1, 2, ... written at off in m, and an array over them. */
static sb_value *
shm_doubles(sb_shm *m, size_t off, size_t n)
{
	int64_t		 shape[1] = { (int64_t)n };
	double		*d = (double *)((char *)sb_shm_data(m) + off);
	sb_value	*v;
	size_t		 i;

	for (i = 0; i < n; i++)
		d[i] = (double)(i + 1);
	v = sb_ndarray_shm(m, off, "<f8", shape, 1);
	ck_assert_ptr_nonnull(v);
	return (v);
}

/* v is a float64 array of n items, the first ones first..., step apart. */
static void
expect_doubles(const sb_value *v, size_t n, double first, double step)
{
	const double	*d;
	const void	*data;
	const char	*dtype;
	size_t		 len, i;

	ck_assert_int_eq(sb_value_get_ndarray(v, &dtype, NULL, NULL, &data,
	    &len), 0);
	ck_assert_str_eq(dtype, "<f8");
	ck_assert_uint_eq(len, n * sizeof(double));
	d = data;
	for (i = 0; i < n; i++)
		ck_assert_double_eq(d[i], first + step * (double)i);
}

/* v is an ndarray over m at offset (a view, not a copy). */
static void
expect_view(const sb_value *v, sb_shm *m, size_t offset)
{
	const void	*data;
	size_t		 off = (size_t)-1;

	ck_assert_msg(sb_value_shm(v, &off) == m, "not a view of the block");
	ck_assert_uint_eq(off, offset);
	ck_assert_int_eq(sb_value_get_ndarray(v, NULL, NULL, NULL, &data,
	    NULL), 0);
	ck_assert_ptr_eq(data, (char *)sb_shm_data(m) + offset);
}

static double
expect_float(const sb_value *v)
{
	double	 d;

	ck_assert_int_eq(sb_value_get_float(v, &d), 0);
	return (d);
}

/* numpy.sum of v (copied) on c. */
static double
shm_sum(sb_client *c, const sb_value *v)
{
	sb_value	*r;
	double		 d;

	r = shm_call(c, NULL, "numpy", "sum", sbt_list(sb_value_copy(v),
	    NULL));
	d = expect_float(r);
	sb_value_free(r);
	return (d);
}

/*
 * The worker reads the block's bytes: numpy.sum of an array at an offset,
 * and of arrays inside a list; it sees a writable array over shared memory.
 */
START_TEST(test_shm_sum)
{
	sb_shm		*m = shm_new(sbt_c, BLOCK_SIZE);
	sb_value	*v, *r, *l;
	const void	*data;
	size_t		 len;
	int		 writable = 0, owns = 1;

	v = shm_doubles(m, 4096, 1000);
	ck_assert_double_eq(shm_sum(sbt_c, v), 500500.0);
	r = shm_call(sbt_c, NULL, "sbshm", "info", sbt_list(sb_value_copy(v),
	    NULL));
	ck_assert_str_eq(sb_value_str(sb_value_item(r, 0), NULL), "ndarray");
	ck_assert_int_eq(sb_value_get_bool(sb_value_item(r, 1), &writable), 0);
	ck_assert_int_eq(sb_value_get_bool(sb_value_item(r, 2), &owns), 0);
	ck_assert_msg(writable && !owns, "the worker's array is not a writable "
	    "view (writable %d, owns its data %d)", writable, owns);
	sb_value_free(r);
	/* In a list: numpy.concatenate([v, v]) is a new array, a copy. */
	l = sbt_list(sb_value_copy(v), sb_value_copy(v), NULL);
	r = shm_call(sbt_c, NULL, "numpy", "concatenate", sbt_list(l, NULL));
	ck_assert_ptr_null(sb_value_shm(r, NULL));
	ck_assert_int_eq(sb_value_get_ndarray(r, NULL, NULL, NULL, &data,
	    &len), 0);
	ck_assert_uint_eq(len, 2000 * sizeof(double));
	ck_assert_double_eq(((const double *)data)[1999], 1000.0);
	sb_value_free(r);
	sb_value_free(v);
	sb_shm_free(m);
}
END_TEST

/*
 * Blocks cost the daemon descriptors: it runs with the hard limit of open
 * files as its soft limit, and gives its workers the limit it started with.
 */
START_TEST(test_shm_open_file_limits)
{
	struct rlimit	 mine;
	char		 path[64], line[256];
	unsigned long long soft = 0, hard = 0;
	int64_t		 wsoft;
	FILE		*f;
	sb_value	*r;
	int		 found = 0;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &mine), 0);
	snprintf(path, sizeof path, "/proc/%d/limits", (int)sbt_d.pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "Max open files %llu %llu", &soft,
		    &hard) == 2)
			found = 1;
	}
	fclose(f);
	ck_assert_msg(found, "no open files limit in %s", path);
	ck_assert_uint_eq(hard, mine.rlim_max);
	ck_assert_msg(soft == hard, "the daemon's soft limit %llu, not %llu",
	    soft, hard);
	r = shm_call(sbt_c, NULL, "resource", "getrlimit",
	    sbt_list(sb_int(RLIMIT_NOFILE), NULL));
	ck_assert_int_eq(sb_value_get_int(sb_value_item(r, 0), &wsoft), 0);
	ck_assert_int_eq(wsoft, (int64_t)mine.rlim_cur);
	sb_value_free(r);
}
END_TEST

/* status counts the blocks attached now and their bytes, daemon-wide. */
static void
shm_status_totals(sb_client *c, int64_t *blocks, int64_t *bytes)
{
	sb_value	*st = sup_status(c);
	const sb_value	*t = sb_map_get(st, "shm");

	ck_assert_ptr_nonnull(t);
	*blocks = sup_map_int(t, "blocks", -1);
	*bytes = sup_map_int(t, "bytes", -1);
	sb_value_free(st);
}

/* sbctl status's shm line: blocks and bytes as printed. */
static void
shm_sbctl_totals(long long *blocks, long long *bytes)
{
	char		 sbctl[PATH_MAX], *out = NULL, *err = NULL, *line;
	char		*argv[] = { sbctl, "-s", sbt_d.socket, "status", NULL };
	int		 code = -1;

	snprintf(sbctl, sizeof sbctl, "%s", sbt_builddir_path("sbctl/sbctl"));
	ck_assert_int_eq(sbt_run(argv, &out, &err, &code, 0), 0);
	ck_assert_msg(code == 0, "sbctl status: exit %d: %s", code, err);
	line = strstr(out, "\nshm ");
	ck_assert_msg(line != NULL, "no shm line in: %s", out);
	ck_assert_int_eq(sscanf(line, " shm %lld blocks attached, %lld bytes",
	    blocks, bytes), 2);
	free(out);
	free(err);
}

START_TEST(test_shm_status)
{
	sb_shm		*m;
	int64_t		 blocks0, bytes0, blocks, bytes, deadline;
	long long	 pblocks, pbytes;

	shm_status_totals(sbt_c, &blocks0, &bytes0);
	ck_assert_int_ge(blocks0, 0);
	m = shm_new(sbt_c, 3 * 4096);
	shm_status_totals(sbt_c, &blocks, &bytes);
	ck_assert_int_eq(blocks, blocks0 + 1);
	ck_assert_int_eq(bytes, bytes0 + 3 * 4096);
	shm_sbctl_totals(&pblocks, &pbytes);
	ck_assert_int_eq(pblocks, blocks);
	ck_assert_int_eq(pbytes, bytes);
	sb_shm_free(m);		/* its shm.detach is not waited for */
	deadline = sbt_now_ms() + 10000;
	do {
		shm_status_totals(sbt_c, &blocks, &bytes);
	} while ((blocks != blocks0 || bytes != bytes0) &&
	    sbt_now_ms() < deadline);
	ck_assert_int_eq(blocks, blocks0);
	ck_assert_int_eq(bytes, bytes0);
}
END_TEST

/* What the worker writes into the array is in the client's block. */
START_TEST(test_shm_worker_writes)
{
	static const int64_t shape[1] = { 100 };
	double		 src[100];
	sb_shm		*m = shm_new(sbt_c, BLOCK_SIZE);
	sb_value	*dst, *plain, *r;
	const double	*d;
	size_t		 i;

	for (i = 0; i < 100; i++)
		src[i] = -(double)i;
	dst = sb_ndarray_shm(m, 800, "<f8", shape, 1);
	plain = sb_ndarray("<f8", shape, 1, src, sizeof(src));
	r = shm_call(sbt_c, NULL, "numpy", "copyto", sbt_list(
	    sb_value_copy(dst), plain, NULL));
	ck_assert_int_eq(sb_value_type(r), SB_NIL);
	sb_value_free(r);
	d = (const double *)((char *)sb_shm_data(m) + 800);
	for (i = 0; i < 100; i++)
		ck_assert_double_eq(d[i], -(double)i);
	sb_value_free(dst);
	sb_shm_free(m);
}
END_TEST

/*
 * Results that lie in the block come back as views of it: the array itself
 * (numpy.ascontiguousarray) and a contiguous slice at its offset; a new
 * array and a non-contiguous one come back as copies.
 */
START_TEST(test_shm_result_views)
{
	static const int64_t shape[2] = { 10, 4 };
	sb_shm		*m = shm_new(sbt_c, BLOCK_SIZE);
	sb_value	*v, *a2, *r;
	const int64_t	*rs;
	size_t		 ndim;
	double		*d;
	size_t		 i;

	v = shm_doubles(m, 4096, 1000);
	r = shm_call(sbt_c, NULL, "numpy", "ascontiguousarray",
	    sbt_list(sb_value_copy(v), NULL));
	expect_view(r, m, 4096);
	ck_assert(sb_value_equal(r, v));
	sb_value_free(r);

	d = (double *)((char *)sb_shm_data(m) + 128);
	for (i = 0; i < 40; i++)
		d[i] = (double)i;
	a2 = sb_ndarray_shm(m, 128, "<f8", shape, 2);
	r = shm_call(sbt_c, NULL, "sbshm", "rows", sbt_list(sb_value_copy(a2),
	    sb_int(2), sb_int(5), NULL));
	expect_view(r, m, 128 + 2 * 4 * sizeof(double));
	ck_assert_int_eq(sb_value_get_ndarray(r, NULL, &rs, &ndim, NULL,
	    NULL), 0);
	ck_assert_uint_eq(ndim, 2);
	ck_assert(rs[0] == 3 && rs[1] == 4);
	expect_doubles(r, 12, 8.0, 1.0);
	sb_value_free(r);

	r = shm_call(sbt_c, NULL, "numpy", "negative",
	    sbt_list(sb_value_copy(v), NULL));
	ck_assert_ptr_null(sb_value_shm(r, NULL));
	expect_doubles(r, 1000, -1.0, -1.0);
	sb_value_free(r);

	r = shm_call(sbt_c, NULL, "sbshm", "every_other",
	    sbt_list(sb_value_copy(v), NULL));
	ck_assert_ptr_null(sb_value_shm(r, NULL));
	expect_doubles(r, 500, 1.0, 2.0);
	sb_value_free(r);

	sb_value_free(a2);
	sb_value_free(v);
	sb_shm_free(m);
}
END_TEST

/*
 * The same array sent on a second connection, where the block is not
 * attached, travels inline and works; its results are plain arrays.
 */
START_TEST(test_shm_other_connection)
{
	sb_client	*c2 = sbt_connect(&sbt_d);
	sb_shm		*m = shm_new(sbt_c, BLOCK_SIZE);
	sb_value	*v, *r;

	v = shm_doubles(m, 0, 1000);
	ck_assert_double_eq(shm_sum(c2, v), 500500.0);
	r = shm_call(c2, NULL, "numpy", "ascontiguousarray",
	    sbt_list(sb_value_copy(v), NULL));
	ck_assert_ptr_null(sb_value_shm(r, NULL));
	ck_assert(sb_value_equal(r, v));
	sb_value_free(r);
	sb_value_free(v);
	sb_shm_free(m);
	sb_client_close(c2);
}
END_TEST

/* attr name of ref in session on c; the value. */
static sb_value *
shm_attr(sb_client *c, const char *session, const sb_value *ref,
    const char *name)
{
	struct sb_opts	 opts;
	sb_value	*res = NULL;
	sb_error	*err = NULL;

	sb_opts_init(&opts);
	opts.session = session;
	sbt_ok("attr", sb_attr(c, ref, name, &opts, &res, &err), err);
	return (res);
}

/*
 * A named session shared by two connections: an array that lies in A's
 * block comes back to A as a view, to B as a copy.
 */
START_TEST(test_shm_named_session)
{
	sb_client	*b = sbt_connect(&sbt_d);
	sb_shm		*m = shm_new(sbt_c, BLOCK_SIZE);
	sb_value	*v, *ref, *r, *info = NULL;
	sb_error	*err = NULL;

	sbt_ok("session.open", sb_session_open(sbt_c, "shm-shared", NULL,
	    &info, &err), err);
	sb_value_free(info);
	v = shm_doubles(m, 64, 100);
	ref = shm_call(sbt_c, "shm-shared", "sbshm", "Holder",
	    sbt_list(sb_value_copy(v), NULL));
	ck_assert_int_eq(sb_value_type(ref), SB_REF);
	r = shm_attr(sbt_c, "shm-shared", ref, "a");
	expect_view(r, m, 64);
	sb_value_free(r);
	sbt_ok("session.open", sb_session_open(b, "shm-shared", NULL, &info,
	    &err), err);
	sb_value_free(info);
	r = shm_attr(b, "shm-shared", ref, "a");
	ck_assert_ptr_null(sb_value_shm(r, NULL));
	expect_doubles(r, 100, 1.0, 1.0);
	sb_value_free(r);
	sbt_ok("session.close", sb_session_close(sbt_c, "shm-shared", &err),
	    err);
	sb_value_free(ref);
	sb_value_free(v);
	sb_shm_free(m);
	sb_client_close(b);
}
END_TEST

/*
 * After sb_shm_free a value over the block stays readable and travels as a
 * copy; an array Python kept in a ref comes back as a copy too.
 */
START_TEST(test_shm_after_detach)
{
	sb_shm		*m = shm_new(sbt_c, BLOCK_SIZE);
	sb_value	*v, *ref, *r;

	v = shm_doubles(m, 0, 1000);
	ref = shm_call(sbt_c, NULL, "sbshm", "Holder",
	    sbt_list(sb_value_copy(v), NULL));
	r = shm_attr(sbt_c, NULL, ref, "a");
	expect_view(r, m, 0);
	sb_value_free(r);
	sb_shm_free(m);
	expect_doubles(v, 1000, 1.0, 1.0);
	ck_assert_ptr_nonnull(sb_value_shm(v, NULL));
	ck_assert_double_eq(shm_sum(sbt_c, v), 500500.0);
	/* The worker's copy comes from its own mapping, still there. */
	r = shm_attr(sbt_c, NULL, ref, "a");
	ck_assert_ptr_null(sb_value_shm(r, NULL));
	expect_doubles(r, 1000, 1.0, 1.0);
	sb_value_free(r);
	sb_value_free(ref);
	sb_value_free(v);
}
END_TEST

/* An ext 12 value naming block, at offset, of n float64s. */
static sb_value *
shm_crafted(uint64_t block, uint64_t offset, uint64_t n)
{
	struct sb_shmarray	 a;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	sb_value		*v;
	size_t			 hdr;

	memset(&a, 0, sizeof(a));
	snprintf(a.dtype, sizeof(a.dtype), "<f8");
	a.ndim = 1;
	a.shape[0] = n;
	a.block = block;
	a.offset = offset;
	a.nbytes = n * 8;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ck_assert_int_eq(sb_shmarray_pack(&pk, &a), 0);
	/* Strip the ext header: sb_ext takes the payload. */
	hdr = (unsigned char)sb.data[0] == 0xc7 ? 3 :
	    (unsigned char)sb.data[0] == 0xc8 ? 4 : 2;
	v = sb_ext(SB_EXT_SHMARRAY, sb.data + hdr, sb.size - hdr);
	msgpack_sbuffer_destroy(&sb);
	ck_assert_ptr_nonnull(v);
	return (v);
}

/*
 * Hand-made ext 12 values the daemon must refuse: a block nobody has,
 * another connection's block, a range past the end. The connections go on.
 */
START_TEST(test_shm_crafted)
{
	sb_client	*b = sbt_connect(&sbt_d);
	sb_shm		*m = shm_new(sbt_c, 4096);
	sb_value	*v, *good;

	v = shm_doubles(m, 0, 4);
	ck_assert_double_eq(shm_sum(sbt_c, v), 10.0);
	/* The crafted form of a good one works. */
	good = shm_crafted(sb_shm_id(m), 0, 4);
	ck_assert_double_eq(shm_sum(sbt_c, good), 10.0);
	sb_value_free(good);
	shm_call_err(sbt_c, "numpy", "sum", sbt_list(shm_crafted(
	    sb_shm_id(m) + 1000, 0, 4), NULL), "snakebridge.SharedMemoryError");
	shm_call_err(sbt_c, "numpy", "sum", sbt_list(shm_crafted(
	    sb_shm_id(m), 4096 - 24, 4), NULL),
	    "snakebridge.SharedMemoryError");
	shm_call_err(b, "numpy", "sum", sbt_list(shm_crafted(sb_shm_id(m), 0,
	    4), NULL), "snakebridge.SharedMemoryError");
	ck_assert_double_eq(shm_sum(sbt_c, v), 10.0);
	ck_assert_double_eq(shm_sum(b, v), 10.0);
	sb_value_free(v);
	sb_shm_free(m);
	sb_client_close(b);
}
END_TEST

/* 16 blocks per connection; the 17th is refused until one is freed. */
START_TEST(test_shm_limit)
{
	sb_shm		*m[SB_SHM_BLOCKS_MAX + 1];
	const sb_error	*e;
	sb_shm		*extra = NULL;
	size_t		 i;

	for (i = 0; i < SB_SHM_BLOCKS_MAX; i++)
		m[i] = shm_new(sbt_c, 4096);
	ck_assert_int_eq(sb_shm_create(sbt_c, 4096, &extra), SB_EREMOTE);
	ck_assert_ptr_null(extra);
	e = sb_client_last_error(sbt_c);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(sb_error_type(e), "snakebridge.LimitExceeded");
	sb_shm_free(m[3]);
	m[3] = shm_new(sbt_c, 4096);
	for (i = 0; i < SB_SHM_BLOCKS_MAX; i++)
		sb_shm_free(m[i]);
}
END_TEST

/* An array over a block returned by a callback travels as a copy. */
static int
shm_cb(sb_client *c, const sb_value *args, const sb_value *kwargs, void *ud,
    sb_value **result, sb_error **err)
{
	*result = sb_value_copy(ud);
	return (0);
}

START_TEST(test_shm_callback_result)
{
	sb_shm		*m = shm_new(sbt_c, 4096);
	sb_value	*v, *cb, *r;

	v = shm_doubles(m, 0, 4);
	cb = sb_callback_new(sbt_c, shm_cb, v);
	r = shm_call(sbt_c, NULL, "sbshm", "call_and_sum", sbt_list(cb,
	    NULL));
	ck_assert_double_eq(expect_float(r), 10.0);
	sb_value_free(r);
	sb_value_free(v);
	sb_shm_free(m);
}
END_TEST

/* What the stream of rows of a block array delivered. */
struct shm_rows {
	sb_shm	*m;
	size_t	 count;
};

static int
shm_row_item(const sb_value *item, void *ud)
{
	struct shm_rows	*sr = ud;

	expect_doubles(item, 4, (double)(4 * sr->count), 1.0);
	ck_assert_ptr_null(sb_value_shm(item, NULL));
	sr->count++;
	return (0);
}

/* Streamed items that lie in the block arrive as copies (ext 8). */
START_TEST(test_shm_stream_rows)
{
	static const int64_t shape[2] = { 10, 4 };
	struct shm_rows	 sr = { NULL, 0 };
	sb_value	*a2, *args;
	sb_error	*err = NULL;
	uint64_t	 n = 0;
	double		*d;
	size_t		 i;

	sr.m = shm_new(sbt_c, 4096);
	d = sb_shm_data(sr.m);
	for (i = 0; i < 40; i++)
		d[i] = (double)i;
	a2 = sb_ndarray_shm(sr.m, 0, "<f8", shape, 2);
	args = sbt_list(a2, NULL);
	sbt_ok("stream", sb_stream(sbt_c, "sbshm", "each_row", args, NULL,
	    NULL, shm_row_item, &sr, &n, &err), err);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(sr.count, 10);
	sb_value_free(args);
	sb_shm_free(sr.m);
}
END_TEST

/* A callback that checks its argument is a copy of 1..4 and returns 1. */
static int
shm_cb_arg(sb_client *c, const sb_value *args, const sb_value *kwargs,
    void *ud, sb_value **result, sb_error **err)
{
	const sb_value	*a = sb_value_item(args, 0);

	expect_doubles(a, 4, 1.0, 1.0);
	ck_assert_ptr_null(sb_value_shm(a, NULL));
	*result = sb_int(1);
	return (0);
}

/* A callback's arguments that lie in the block arrive as copies. */
START_TEST(test_shm_callback_args)
{
	sb_shm		*m = shm_new(sbt_c, 4096);
	sb_value	*v, *cb, *r;

	v = shm_doubles(m, 0, 4);
	cb = sb_callback_new(sbt_c, shm_cb_arg, NULL);
	r = shm_call(sbt_c, NULL, "sbshm", "call_with", sbt_list(cb, v, NULL));
	ck_assert_int_eq(sup_int(r), 1);
	sb_value_free(r);
	sb_shm_free(m);
}
END_TEST

/* os.getpid() of the worker that serves c's automatic session. */
static int64_t
shm_worker_pid(sb_client *c)
{
	sb_value	*r = shm_call(c, NULL, "os", "getpid", NULL);
	int64_t		 pid = sup_int(r);

	sb_value_free(r);
	return (pid);
}

/*
 * The worker that has the block restarts: the new process gets the block
 * when it is next used, and results are views again.
 */
START_TEST(test_shm_worker_restart)
{
	sb_shm		*m = shm_new(sbt_c, BLOCK_SIZE);
	sb_value	*v, *r = NULL, *params;
	sb_error	*err = NULL;
	int64_t		 pid0, slot, deadline;

	v = shm_doubles(m, 0, 1000);
	ck_assert_double_eq(shm_sum(sbt_c, v), 500500.0);
	pid0 = shm_worker_pid(sbt_c);
	for (slot = 0; slot < 2 && sup_worker_pid(sbt_c, "default", slot) !=
	    pid0; slot++)
		;
	ck_assert_msg(slot < 2, "the session's worker is not in the pool");
	params = sup_args("si", "default", slot);
	sbt_ok("worker.restart", sb_request(sbt_c, "worker.restart", params,
	    &r, &err), err);
	sb_value_free(r);
	sb_value_free(params);
	deadline = sbt_now_ms() + 10000;
	while (sup_worker_pid(sbt_c, "default", slot) == pid0 &&
	    sbt_now_ms() < deadline)
		usleep(50000);
	ck_assert_int_ne(sup_worker_pid(sbt_c, "default", slot), pid0);
	((double *)sb_shm_data(m))[0] = 1001.0;
	ck_assert_double_eq(shm_sum(sbt_c, v), 500500.0 + 1000.0);
	r = shm_call(sbt_c, NULL, "numpy", "ascontiguousarray",
	    sbt_list(sb_value_copy(v), NULL));
	expect_view(r, m, 0);
	sb_value_free(r);
	sb_value_free(v);
	sb_shm_free(m);
}
END_TEST

static Suite *
shm_suite(void)
{
	Suite	*s = suite_create("shm");
	TCase	*tc;

	tc = tcase_create("shared blocks");
	sbt_tcase_add_daemon(tc, NULL);
	sbt_tcase_add_client(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_shm_sum);
	tcase_add_test(tc, test_shm_worker_writes);
	tcase_add_test(tc, test_shm_open_file_limits);
	tcase_add_test(tc, test_shm_status);
	tcase_add_test(tc, test_shm_result_views);
	tcase_add_test(tc, test_shm_other_connection);
	tcase_add_test(tc, test_shm_named_session);
	tcase_add_test(tc, test_shm_after_detach);
	tcase_add_test(tc, test_shm_crafted);
	tcase_add_test(tc, test_shm_limit);
	tcase_add_test(tc, test_shm_callback_result);
	tcase_add_test(tc, test_shm_stream_rows);
	tcase_add_test(tc, test_shm_callback_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("restart");
	sbt_tcase_add_daemon(tc, NULL);
	sbt_tcase_add_client(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_shm_worker_restart);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	struct rlimit	 rl;

	signal(SIGPIPE, SIG_IGN);
	/* a soft limit below the hard one, for the daemon to raise */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > 512) {
		rl.rlim_cur = 512;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return (sbt_run_suite(shm_suite()));
}
