/*
 * check_stream.c: iteration, streaming and callbacks against a real daemon:
 * resumable iterators, batched streams with flow control (a client that
 * stops reading keeps the daemon's memory bounded), cancel, disconnect and
 * the stream idle timeout stopping generators (their finally: runs), C
 * functions called from Python (nested calls included), and sbctl stream
 * and iter.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sbproto.h"

#define STREAM_WAIT_MS		15000	/* bound on anything expected */
#define RSS_BOUND_KB		(64 * 1024)

static char		 extra_config[PATH_MAX + 64];

static int64_t
int_of(const sb_value *v)
{
	int64_t	 i;

	ck_assert_int_eq(sb_value_get_int(v, &i), 0);
	return (i);
}

/* A marker path in the daemon's directory, removed first. */
static void
marker_path(char *buf, size_t len, const char *name)
{
	ck_assert_int_lt(snprintf(buf, len, "%s/%s", sbt_d.dir, name),
	    (int)len);
	unlink(buf);
}

/* Wait (bounded) for a file to exist; 1 if it did. */
static int
marker_wait(const char *path)
{
	struct stat	 st;
	int64_t		 deadline = sbt_now_ms() + STREAM_WAIT_MS;

	while (sbt_now_ms() < deadline) {
		if (stat(path, &st) == 0)
			return (1);
		usleep(20000);
	}
	return (0);
}

/* An iterator ref from module.func(*args). */
static sb_value *
iterator_of(const char *module, const char *func, sb_value *args)
{
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_call(sbt_c, module, func, args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sbt_ok("call", rc, err);
	ck_assert_int_eq(sb_value_type(res), SB_REF);
	return (res);
}

/* itertools.count(1) is resumable: 1..5, then 6..10. */
START_TEST(test_iter_resumable)
{
	sb_value	*it, *items;
	sb_error	*err = NULL;
	int		 done, rc;
	int64_t		 i;

	it = iterator_of("itertools", "count", sbt_list(sb_int(1), NULL));
	for (i = 0; i < 2; i++) {
		rc = sb_iter_next_batch(sbt_c, it, 5, NULL, &items, &done, &err);
		sbt_ok("next", rc, err);
		ck_assert_int_eq(done, 0);
		ck_assert_uint_eq(sb_value_len(items), 5);
		ck_assert_int_eq(int_of(sb_value_item(items, 0)), 1 + 5 * i);
		ck_assert_int_eq(int_of(sb_value_item(items, 4)), 5 + 5 * i);
		sb_value_free(items);
	}
	sb_value_free(it);
}
END_TEST

/* A generator expression: its items, then the done flag. */
START_TEST(test_iter_genexpr_done)
{
	sb_value	*it, *items;
	sb_error	*err = NULL;
	int		 done, rc;

	it = iterator_of("sbstream", "squares", sbt_list(sb_int(3), NULL));
	ck_assert_str_eq(sb_ref_type(it), "generator");
	rc = sb_iter_next_batch(sbt_c, it, 2, NULL, &items, &done, &err);
	sbt_ok("next", rc, err);
	ck_assert_int_eq(done, 0);
	ck_assert_uint_eq(sb_value_len(items), 2);
	sb_value_free(items);
	rc = sb_iter_next_batch(sbt_c, it, 10, NULL, &items, &done, &err);
	sbt_ok("next", rc, err);
	ck_assert_int_eq(done, 1);
	ck_assert_uint_eq(sb_value_len(items), 1);
	ck_assert_int_eq(int_of(sb_value_item(items, 0)), 4);
	sb_value_free(items);
	rc = sb_iter_next_batch(sbt_c, it, 10, NULL, &items, &done, &err);
	sbt_ok("next", rc, err);
	ck_assert_int_eq(done, 1);
	ck_assert_uint_eq(sb_value_len(items), 0);
	sb_value_free(items);
	sb_value_free(it);
}
END_TEST

/* What an item function saw. */
struct seen {
	int64_t		 next;		/* the item expected next */
	int64_t		 stop_after;	/* stop after this many, 0 never */
	int		 out_of_order;	/* or re-entered */
	sb_client	*nested;	/* call math.sqrt per item when set */
	int		 inside;	/* the function is running */
};

static int
seen_item(const sb_value *item, void *ud)
{
	struct seen	*s = ud;
	sb_value	*res = NULL, *args;
	sb_error	*err = NULL;
	int64_t		 v;

	if (sb_value_get_int(item, &v) != 0 || v != s->next || s->inside)
		s->out_of_order = 1;
	s->next++;
	s->inside = 1;
	if (s->nested != NULL) {
		args = sbt_list(sb_int(4), NULL);
		ck_assert_int_eq(sb_call(s->nested, "math", "sqrt", args,
		    NULL, NULL, &res, &err), 0);
		sb_value_free(args);
		sb_value_free(res);
	}
	s->inside = 0;
	return (s->stop_after > 0 && s->next >= s->stop_after);
}

/* stream of range(7): 0..6 in order, then the count. */
START_TEST(test_stream_range)
{
	struct seen	 s = { 0, 0, 0, NULL, 0 };
	sb_value	*args = sbt_list(sb_int(7), NULL);
	sb_error	*err = NULL;
	uint64_t	 count = 0;
	int		 rc;

	rc = sb_stream(sbt_c, "builtins", "range", args, NULL, NULL, seen_item, &s,
	    &count, &err);
	sb_value_free(args);
	sbt_ok("stream", rc, err);
	ck_assert_uint_eq(count, 7);
	ck_assert_int_eq(s.next, 7);
	ck_assert_int_eq(s.out_of_order, 0);
}
END_TEST

/* A generator that raises: its items, then its error as the response. */
START_TEST(test_stream_error)
{
	struct seen	 s = { 0, 0, 0, NULL, 0 };
	sb_value	*args = sbt_list(sb_int(3), NULL);
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_stream(sbt_c, "sbstream", "failing", args, NULL, NULL, seen_item,
	    &s, NULL, &err);
	sb_value_free(args);
	sbt_expect_error("failing stream", rc, err, "ValueError");
	ck_assert_str_eq(sb_error_message(err), "no more after 3");
	sb_error_free(err);
	ck_assert_int_eq(s.next, 3);
	ck_assert_int_eq(s.out_of_order, 0);
}
END_TEST

/* The ref form, with a call on the same client for every item. */
START_TEST(test_stream_ref_nested)
{
	struct seen	 s = { 0, 0, 0, NULL, 0 };
	sb_value	*it;
	sb_error	*err = NULL;
	uint64_t	 count = 0;
	int		 rc;

	s.nested = sbt_c;
	it = iterator_of("sbstream", "squares", sbt_list(sb_int(1), NULL));
	rc = sb_stream_ref(sbt_c, it, NULL, seen_item, &s, &count, &err);
	sbt_ok("stream ref", rc, err);
	ck_assert_uint_eq(count, 1);
	sb_value_free(it);
	it = iterator_of("builtins", "iter", sbt_list(sbt_list(sb_int(0),
	    sb_int(1), NULL), NULL));
	s.next = 0;
	rc = sb_stream_ref(sbt_c, it, NULL, seen_item, &s, &count, &err);
	sbt_ok("stream ref", rc, err);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(s.out_of_order, 0);
	sb_value_free(it);
	/* many items arrive during the calls: still in order, one at a time */
	it = iterator_of("builtins", "range", sbt_list(sb_int(3000), NULL));
	s.next = 0;
	rc = sb_stream_ref(sbt_c, it, NULL, seen_item, &s, &count, &err);
	sbt_ok("stream ref", rc, err);
	ck_assert_uint_eq(count, 3000);
	ck_assert_int_eq(s.next, 3000);
	ck_assert_int_eq(s.out_of_order, 0);
	sb_value_free(it);
}
END_TEST

/*
 * Send [0, msgid, "stream", [module, func, args, nil, opts?]]: args are a0
 * (a str, when not NULL) then a1 up to nargs; opts {optkey: optval}, or
 * {"pool": "one"}.
 */
static void
raw_stream(struct sbt_raw *r, uint32_t msgid, const char *module,
    const char *func, int nargs, const char *a0, int64_t a1,
    const char *optkey, uint64_t optval)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbt_pack_request(&pk, msgid, "stream", optkey != NULL ? 5 : 4);
	sbt_pack_str(&pk, module);
	sbt_pack_str(&pk, func);
	msgpack_pack_array(&pk, nargs);
	if (a0 != NULL)
		sbt_pack_str(&pk, a0);
	if (nargs > (a0 != NULL))
		msgpack_pack_int64(&pk, a1);
	msgpack_pack_nil(&pk);
	if (optkey != NULL) {
		msgpack_pack_map(&pk, 1);
		sbt_pack_str(&pk, optkey);
		if (strcmp(optkey, "pool") == 0)
			sbt_pack_str(&pk, "one");
		else
			msgpack_pack_uint64(&pk, optval);
	}
	ck_assert_int_eq(sbt_raw_send_sbuf(r, &sb), 0);
	msgpack_sbuffer_destroy(&sb);
}

/* A stream.items notification of msgid: its items array, else NULL. */
static const msgpack_object *
raw_items(const msgpack_object *o, uint32_t msgid)
{
	const msgpack_object	*p;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 ||
	    o->via.array.ptr[0].via.u64 != SB_MSG_NOTIFY ||
	    !sbt_obj_streq(&o->via.array.ptr[1], "stream.items"))
		return (NULL);
	p = &o->via.array.ptr[2];
	ck_assert_int_eq(p->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(p->via.array.size, 2);
	ck_assert_uint_eq(p->via.array.ptr[0].via.u64, msgid);
	ck_assert_int_eq(p->via.array.ptr[1].type, MSGPACK_OBJECT_ARRAY);
	return (&p->via.array.ptr[1]);
}

static int
raw_is_response(const msgpack_object *o, uint32_t msgid)
{
	return (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 4 &&
	    o->via.array.ptr[0].via.u64 == SB_MSG_RESPONSE &&
	    o->via.array.ptr[1].via.u64 == msgid);
}

/* 200 000 items: all of them, in order, in more than one batch. */
START_TEST(test_stream_many_batches)
{
	struct sbt_raw		 r;
	const msgpack_object	*o, *items, *res;
	uint64_t		 next = 0, batches = 0, i;

	sbt_raw_open(&sbt_d, &r);
	raw_stream(&r, 1, "builtins", "range", 1, NULL, 200000, NULL, 0);
	for (;;) {
		ck_assert_int_eq(sbt_raw_recv(&r, STREAM_WAIT_MS, &o), 1);
		if (raw_is_response(o, 1))
			break;
		items = raw_items(o, 1);
		ck_assert_ptr_nonnull(items);
		batches++;
		for (i = 0; i < items->via.array.size; i++)
			ck_assert_uint_eq(items->via.array.ptr[i].via.u64,
			    next++);
	}
	ck_assert_ptr_null(sbt_obj_errtype(o));
	res = sbt_obj_get(&o->via.array.ptr[3], "count");
	ck_assert_ptr_nonnull(res);
	ck_assert_uint_eq(res->via.u64, 200000);
	ck_assert_uint_eq(next, 200000);
	ck_assert_uint_gt(batches, 1);
	sbt_raw_close(&r);
}
END_TEST

/* The daemon's resident memory in KiB (VmRSS). */
static long
daemon_rss_kb(void)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)sbt_d.pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	}
	fclose(f);
	return (kb);
}

/*
 * A client that stops reading an endless stream of 64 KiB items: the
 * daemon's memory stays bounded (the producer could make GBs meanwhile),
 * the stream carries on when the client reads again, and disconnecting
 * stops the generator.
 */
START_TEST(test_stream_slow_reader_bounded)
{
	struct sbt_raw		 r;
	const msgpack_object	*o;
	long			 before, after;
	int			 i, got = 0;

	sbt_raw_open(&sbt_d, &r);
	before = daemon_rss_kb();
	ck_assert_int_gt(before, 0);
	raw_stream(&r, 1, "sbstream", "blobs", 1, NULL, 65536, NULL, 0);
	sleep(3);		/* not reading at all */
	after = daemon_rss_kb();
	ck_assert_msg(after - before < RSS_BOUND_KB, "daemon RSS grew from "
	    "%ld to %ld KiB while the client did not read", before, after);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(sbt_raw_recv(&r, STREAM_WAIT_MS, &o), 1);
		got += raw_items(o, 1) != NULL;
	}
	ck_assert_int_gt(got, 100);
	sbt_raw_close(&r);
	/* the worker is free again: a call is served */
	{
		sb_value *res = NULL, *args = sbt_list(sb_int(9), NULL);
		sb_error *err = NULL;
		int rc = sb_call(sbt_c, "math", "sqrt", args, NULL, NULL, &res,
		    &err);

		sb_value_free(args);
		sbt_ok("sqrt after the stream", rc, err);
		sb_value_free(res);
	}
}
END_TEST

/*
 * A client that disconnects mid-stream of itertools.count: the generator's
 * finally: runs and the only worker of the pool serves the next call.
 */
START_TEST(test_stream_disconnect_frees_worker)
{
	struct sbt_raw		 r;
	const msgpack_object	*o;
	char			 marker[PATH_MAX + 64];
	sb_value		*res = NULL, *args;
	sb_error		*err = NULL;
	struct sb_opts		 opts;
	int			 rc;

	marker_path(marker, sizeof marker, "count.closed");
	sbt_raw_open(&sbt_d, &r);
	raw_stream(&r, 1, "sbstream", "counting", 1, marker, 0, "pool", 0);
	ck_assert_int_eq(sbt_raw_recv(&r, STREAM_WAIT_MS, &o), 1);
	ck_assert_ptr_nonnull(raw_items(o, 1));
	sbt_raw_close(&r);
	ck_assert_msg(marker_wait(marker), "the generator's finally: did "
	    "not run");
	sb_opts_init(&opts);
	opts.pool = "one";
	opts.timeout_ms = STREAM_WAIT_MS;
	args = sbt_list(sb_int(16), NULL);
	rc = sb_call(sbt_c, "math", "sqrt", args, NULL, &opts, &res, &err);
	sb_value_free(args);
	sbt_ok("sqrt on the freed worker", rc, err);
	sb_value_free(res);
}
END_TEST

/* cancel [msgid]: the stream's one response is Cancelled; finally: runs. */
START_TEST(test_stream_cancel_raw)
{
	struct sbt_raw		 r;
	const msgpack_object	*o;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	char			 marker[PATH_MAX + 64];
	int			 answered = 0, cancel_ok = 0, stream_resp = 0;

	marker_path(marker, sizeof marker, "cancel.closed");
	sbt_raw_open(&sbt_d, &r);
	raw_stream(&r, 7, "sbstream", "counting", 1, marker, 0, NULL, 0);
	ck_assert_int_eq(sbt_raw_recv(&r, STREAM_WAIT_MS, &o), 1);
	ck_assert_ptr_nonnull(raw_items(o, 7));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbt_pack_request(&pk, 8, "cancel", 1);
	msgpack_pack_uint32(&pk, 7);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sb), 0);
	msgpack_sbuffer_destroy(&sb);
	while (answered < 2) {
		ck_assert_int_eq(sbt_raw_recv(&r, STREAM_WAIT_MS, &o), 1);
		if (raw_is_response(o, 7)) {
			stream_resp++;
			ck_assert_str_eq(sbt_obj_errtype(o),
			    "snakebridge.Cancelled");
			answered++;
		} else if (raw_is_response(o, 8)) {
			ck_assert_ptr_null(sbt_obj_errtype(o));
			cancel_ok = o->via.array.ptr[3].type ==
			    MSGPACK_OBJECT_BOOLEAN;
			answered++;
		}
	}
	ck_assert_int_eq(cancel_ok, 1);
	ck_assert_msg(marker_wait(marker), "finally: did not run");
	/* exactly one response: a ping comes back with nothing for 7 */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbt_pack_request(&pk, 9, "ping", 0);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sb), 0);
	msgpack_sbuffer_destroy(&sb);
	for (;;) {
		ck_assert_int_eq(sbt_raw_recv(&r, STREAM_WAIT_MS, &o), 1);
		ck_assert(!raw_is_response(o, 7));
		if (raw_is_response(o, 9))
			break;
	}
	ck_assert_int_eq(stream_resp, 1);
	sbt_raw_close(&r);
}
END_TEST

/* An item function that stops: SB_ECANCELED, finally: runs, client fine. */
START_TEST(test_stream_stop_from_fn)
{
	struct seen	 s = { 0, 10, 0, NULL, 0 };
	char		 marker[PATH_MAX + 64];
	sb_value	*args, *res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	marker_path(marker, sizeof marker, "stop.closed");
	args = sbt_list(sb_str(marker), NULL);
	rc = sb_stream(sbt_c, "sbstream", "counting", args, NULL, NULL, seen_item,
	    &s, NULL, &err);
	sb_value_free(args);
	ck_assert_int_eq(rc, SB_ECANCELED);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(s.next, 10);
	ck_assert_int_eq(s.out_of_order, 0);
	ck_assert_msg(marker_wait(marker), "finally: did not run");
	args = sbt_list(sb_int(25), NULL);
	rc = sb_call(sbt_c, "math", "sqrt", args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sbt_ok("sqrt after stop", rc, err);
	sb_value_free(res);
}
END_TEST

/* stream_timeout ends a stalled producer; its finally: runs. */
START_TEST(test_stream_idle_timeout)
{
	struct seen	 s = { 1, 0, 0, NULL, 0 };
	struct sb_opts	 opts;
	char		 marker[PATH_MAX + 64];
	sb_value	*args;
	sb_error	*err = NULL;
	int64_t		 t0;
	int		 rc;

	marker_path(marker, sizeof marker, "stall.closed");
	sb_opts_init(&opts);
	opts.stream_timeout_ms = 300;
	args = sbt_list(sb_str(marker), NULL);
	t0 = sbt_now_ms();
	rc = sb_stream(sbt_c, "sbstream", "stall", args, NULL, &opts, seen_item,
	    &s, NULL, &err);
	sb_value_free(args);
	sbt_expect_error("stalled stream", rc, err, "snakebridge.Timeout");
	sb_error_free(err);
	ck_assert_int_eq(s.next, 2);	/* the one item came */
	ck_assert_int_lt(sbt_now_ms() - t0, STREAM_WAIT_MS);
	ck_assert_msg(marker_wait(marker), "finally: did not run");
}
END_TEST

/* Callbacks: C functions called by Python. */
static int
cb_add(sb_client *cl, const sb_value *args, const sb_value *kwargs,
    void *ud, sb_value **result, sb_error **err)
{
	(*(int *)ud)++;
	*result = sb_int(int_of(sb_value_item(args, 0)) +
	    int_of(sb_value_item(args, 1)));
	return (0);
}

static int
cb_neg_len(sb_client *cl, const sb_value *args, const sb_value *kwargs,
    void *ud, sb_value **result, sb_error **err)
{
	size_t	 len;

	ck_assert_ptr_nonnull(sb_value_str(sb_value_item(args, 0), &len));
	*result = sb_int(-(int64_t)len);
	return (0);
}

/* sqrt(x) + 1, computed by calling math.sqrt through the daemon. */
static int
cb_sqrt_plus(sb_client *cl, const sb_value *args, const sb_value *kwargs,
    void *ud, sb_value **result, sb_error **err)
{
	sb_value	*a = sb_list_new(), *r = NULL;
	double		 d;
	int		 rc;

	sb_list_append(a, sb_value_copy(sb_value_item(args, 0)));
	rc = sb_call(cl, "math", "sqrt", a, NULL, NULL, &r, err);
	sb_value_free(a);
	if (rc != 0)
		return (-1);
	ck_assert_int_eq(sb_value_get_float(r, &d), 0);
	sb_value_free(r);
	*result = sb_float(d + 1);
	return (0);
}

static int
cb_fail(sb_client *cl, const sb_value *args, const sb_value *kwargs,
    void *ud, sb_value **result, sb_error **err)
{
	*err = sb_error_new("ValueError", "refused by the client");
	return (-1);
}

START_TEST(test_callback_reduce)
{
	sb_value	*cb, *args, *items, *res = NULL;
	sb_error	*err = NULL;
	int		 calls = 0, rc;

	cb = sb_callback_new(sbt_c, cb_add, &calls);
	ck_assert_ptr_nonnull(cb);
	items = sbt_list(sb_int(1), sb_int(2), NULL);
	sb_list_append(items, sb_int(3));
	sb_list_append(items, sb_int(4));
	args = sbt_list(sb_value_copy(cb), items, NULL);
	rc = sb_call(sbt_c, "functools", "reduce", args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sbt_ok("reduce", rc, err);
	ck_assert_int_eq(int_of(res), 10);
	ck_assert_int_eq(calls, 3);
	sb_value_free(res);
	ck_assert_int_eq(sb_callback_remove(sbt_c, cb), 0);
	ck_assert_int_eq(sb_callback_remove(sbt_c, cb), SB_EINVAL);
	sb_value_free(cb);
}
END_TEST

START_TEST(test_callback_sorted_key)
{
	sb_value	*cb, *args, *kwargs, *res = NULL, *words;
	sb_error	*err = NULL;
	int		 rc;

	cb = sb_callback_new(sbt_c, cb_neg_len, NULL);
	words = sb_list_new();
	sb_list_append(words, sb_str("bb"));
	sb_list_append(words, sb_str("a"));
	sb_list_append(words, sb_str("ccc"));
	args = sbt_list(words, NULL);
	kwargs = sb_map_new();
	sb_map_set(kwargs, sb_str("key"), cb);
	rc = sb_call(sbt_c, "builtins", "sorted", args, kwargs, NULL, &res, &err);
	sb_value_free(args);
	sb_value_free(kwargs);
	sbt_ok("sorted", rc, err);
	ck_assert_uint_eq(sb_value_len(res), 3);
	ck_assert_str_eq(sb_value_str(sb_value_item(res, 0), NULL), "ccc");
	ck_assert_str_eq(sb_value_str(sb_value_item(res, 1), NULL), "bb");
	ck_assert_str_eq(sb_value_str(sb_value_item(res, 2), NULL), "a");
	sb_value_free(res);
}
END_TEST

/* A callback that calls math.sqrt through the daemon before answering. */
START_TEST(test_callback_nested_call)
{
	sb_value	*cb, *args, *res = NULL;
	sb_error	*err = NULL;
	double		 d;
	int		 rc;

	cb = sb_callback_new(sbt_c, cb_sqrt_plus, NULL);
	args = sbt_list(cb, sb_int(16), NULL);
	rc = sb_call(sbt_c, "sbstream", "apply", args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sbt_ok("apply", rc, err);
	ck_assert_int_eq(sb_value_get_float(res, &d), 0);
	ck_assert(d == 5.0);
	sb_value_free(res);
	/* twice deep: reduce whose callback calls back in */
	args = sbt_list(sb_callback_new(sbt_c, cb_sqrt_plus, NULL), sb_int(81), NULL);
	rc = sb_call(sbt_c, "sbstream", "apply", args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sbt_ok("apply again", rc, err);
	ck_assert_int_eq(sb_value_get_float(res, &d), 0);
	ck_assert(d == 10.0);
	sb_value_free(res);
}
END_TEST

/* Items counted by a stream whose generator calls back (nested calls). */
static int
count_floats(const sb_value *item, void *ud)
{
	double	 d;

	ck_assert_int_eq(sb_value_get_float(item, &d), 0);
	*(double *)ud += d;
	return (0);
}

/*
 * A stream whose generator calls a callback for every item, the callback
 * calling math.sqrt: batches of the stream keep flowing around the nested
 * requests.
 */
START_TEST(test_callback_in_stream)
{
	sb_value	*args;
	sb_error	*err = NULL;
	uint64_t	 count = 0;
	double		 sum = 0;
	int		 rc;

	args = sbt_list(sb_callback_new(sbt_c, cb_sqrt_plus, NULL), sb_int(300), NULL);
	rc = sb_stream(sbt_c, "sbstream", "mapped", args, NULL, NULL,
	    count_floats, &sum, &count, &err);
	sb_value_free(args);
	sbt_ok("stream with callbacks", rc, err);
	ck_assert_uint_eq(count, 300);
	/* the sum of sqrt(i) + 1 for i < 300 is about 3755.2 */
	ck_assert(sum > 3750 && sum < 3760);
}
END_TEST

/* A failing callback: the caller gets CallbackFailed naming its error. */
START_TEST(test_callback_fails)
{
	sb_value	*args, *res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	args = sbt_list(sb_callback_new(sbt_c, cb_fail, NULL), sb_int(1), NULL);
	rc = sb_call(sbt_c, "sbstream", "apply", args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sbt_expect_error("failing callback", rc, err,
	    "snakebridge.CallbackFailed");
	ck_assert_msg(strstr(sb_error_message(err), "ValueError") != NULL &&
	    strstr(sb_error_message(err), "refused by the client") != NULL,
	    "message: %s", sb_error_message(err));
	sb_error_free(err);
	sb_value_free(res);
}
END_TEST

/* A callback kept by Python and called after its client left: at once. */
START_TEST(test_callback_client_gone)
{
	sb_client	*a;
	sb_value	*args, *res = NULL, *info = NULL;
	sb_error	*err = NULL;
	struct sb_opts	 opts;
	int64_t		 t0;
	int		 rc;

	a = sbt_connect(&sbt_d);
	rc = sb_session_open(a, "cb-gone", NULL, &info, &err);
	sbt_ok("session.open", rc, err);
	sb_value_free(info);
	sb_opts_init(&opts);
	opts.session = "cb-gone";
	args = sbt_list(sb_callback_new(a, cb_fail, NULL), NULL);
	rc = sb_call(a, "sbstream", "keep", args, NULL, &opts, &res, &err);
	sb_value_free(args);
	sbt_ok("keep", rc, err);
	sb_value_free(res);
	sb_client_close(a);
	t0 = sbt_now_ms();
	rc = sb_call(sbt_c, "sbstream", "call_kept", NULL, NULL, &opts, &res,
	    &err);
	sbt_expect_error("kept callback", rc, err,
	    "snakebridge.CallbackFailed");
	sb_error_free(err);
	ck_assert_int_lt(sbt_now_ms() - t0, STREAM_WAIT_MS);
	rc = sb_session_close(sbt_c, "cb-gone", &err);
	sbt_ok("session.close", rc, err);
}
END_TEST

/*
 * A callback called by a request whose client disconnected meanwhile
 * raises at once (the request runs on in its named session).
 */
START_TEST(test_callback_after_disconnect)
{
	sb_client	*a;
	sb_value	*args, *info = NULL;
	sb_error	*err = NULL;
	sb_pending	*p = NULL;
	struct sb_opts	 opts;
	char		 marker[PATH_MAX + 64], text[256];
	FILE		*f;
	size_t		 n;
	int		 rc;

	marker_path(marker, sizeof marker, "later.done");
	a = sbt_connect(&sbt_d);
	rc = sb_session_open(a, "cb-detach", NULL, &info, &err);
	sbt_ok("session.open", rc, err);
	sb_value_free(info);
	sb_opts_init(&opts);
	opts.session = "cb-detach";
	args = sbt_list(sb_callback_new(a, cb_fail, NULL), sb_float(0.5), NULL);
	ck_assert_int_eq(sb_list_append(args, sb_str(marker)), 0);
	rc = sb_call_async(a, "sbstream", "call_later", args, NULL, &opts, &p);
	sb_value_free(args);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ge(sb_client_poll(a, 100), 0);
	sb_client_close(a);
	ck_assert_msg(marker_wait(marker), "the call did not finish");
	ck_assert_ptr_nonnull(f = fopen(marker, "r"));
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	ck_assert_msg(strstr(text, "CallbackFailed") != NULL &&
	    strstr(text, "gone") != NULL, "Python saw: %s", text);
	rc = sb_session_close(sbt_c, "cb-detach", &err);
	sbt_ok("session.close", rc, err);
}
END_TEST

/*
 * A callback kept by Python belongs to its session: another session's
 * request that calls it fails, and neither client is asked anything.
 */
START_TEST(test_callback_other_session)
{
	sb_client	*a = sbt_connect(&sbt_d);
	sb_value	*args, *pair, *res = NULL;
	sb_error	*err = NULL;
	struct sb_opts	 opts;
	int		 calls = 0, rc;

	sb_opts_init(&opts);
	opts.pool = "one";	/* one worker: both sessions meet there */
	args = sbt_list(sb_callback_new(a, cb_add, &calls), NULL);
	rc = sb_call(a, "sbstream", "keep", args, NULL, &opts, &res, &err);
	sb_value_free(args);
	sbt_ok("keep", rc, err);
	sb_value_free(res);
	pair = sbt_list(sb_int(1), sb_int(2), NULL);
	rc = sb_call(sbt_c, "sbstream", "call_kept", pair, NULL, &opts, &res,
	    &err);
	sbt_expect_error("another session's callback", rc, err,
	    "snakebridge.CallbackFailed");
	ck_assert_msg(strstr(sb_error_message(err), "another session") !=
	    NULL, "message: %s", sb_error_message(err));
	sb_error_free(err);
	ck_assert_int_eq(calls, 0);
	/* its own session still calls it */
	rc = sb_call(a, "sbstream", "call_kept", pair, NULL, &opts, &res,
	    &err);
	sbt_ok("call_kept in its session", rc, err);
	ck_assert_int_eq(int_of(res), 3);
	ck_assert_int_eq(calls, 1);
	sb_value_free(res);
	sb_value_free(pair);
	sb_client_close(a);
}
END_TEST

/* sbctl stream and iter print one JSON value per line; --limit. */
static char *
sbctl_out(const char *a1, const char *a2, const char *a3, const char *a4,
    const char *a5, const char *a6)
{
	char	*argv[12], path[PATH_MAX], *out = NULL, *err = NULL;
	int	 code = -1, n = 0;

	snprintf(path, sizeof path, "%s", sbt_builddir_path("sbctl/sbctl"));
	argv[n++] = path;
	argv[n++] = "-s";
	argv[n++] = sbt_d.socket;
	argv[n++] = (char *)a1;
	argv[n++] = (char *)a2;
	argv[n++] = (char *)a3;
	argv[n++] = (char *)a4;
	argv[n++] = (char *)a5;
	argv[n++] = (char *)a6;
	argv[n] = NULL;
	ck_assert_int_eq(sbt_run(argv, &out, &err, &code, 0), 0);
	ck_assert_msg(code == 0, "sbctl %s %s: exit %d: %s", a1, a2, code,
	    err);
	free(err);
	return (out);
}

START_TEST(test_sbctl_stream_iter)
{
	char	*out, *tok;

	out = sbctl_out("stream", "builtins", "range", "4", NULL, NULL);
	ck_assert_str_eq(out, "0\n1\n2\n3\n");
	free(out);
	out = sbctl_out("stream", "itertools", "count", "5", "--limit", "3");
	ck_assert_str_eq(out, "5\n6\n7\n");
	free(out);
	out = sbctl_out("stream", "builtins", "range", "--limit=2", "3",
	    NULL);
	ck_assert_str_eq(out, "0\n1\n");
	free(out);
	out = sbctl_out("--session", "t-iter", "call", "builtins", "range",
	    "5");
	tok = strstr(out, "\"$ref\": \"");
	ck_assert_msg(tok != NULL, "no ref in %s", out);
	tok += 9;
	tok[strcspn(tok, "\"")] = '\0';
	tok[-1] = '@';
	tok = strdup(tok - 1);
	free(out);
	out = sbctl_out("--session", "t-iter", "iter", tok, NULL, NULL);
	ck_assert_str_eq(out, "0\n1\n2\n3\n4\n");
	free(out);
	out = sbctl_out("--session", "t-iter", "iter", tok, "--limit", "2");
	ck_assert_str_eq(out, "0\n1\n");
	free(out);
	free(tok);
	out = sbctl_out("session", "close", "t-iter", NULL, NULL, NULL);
	free(out);
}
END_TEST

static Suite *
stream_suite(void)
{
	Suite	*s = suite_create("stream");
	TCase	*tc = tcase_create("stream");

	snprintf(extra_config, sizeof extra_config,
	    "[pool one]\nsize = 1\npath = %s\n",
	    sbt_srcdir_path("tests/fixtures"));
	sbt_tcase_add_daemon(tc, extra_config);
	sbt_tcase_add_client(tc);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_iter_resumable);
	tcase_add_test(tc, test_iter_genexpr_done);
	tcase_add_test(tc, test_stream_range);
	tcase_add_test(tc, test_stream_error);
	tcase_add_test(tc, test_stream_ref_nested);
	tcase_add_test(tc, test_stream_many_batches);
	tcase_add_test(tc, test_stream_slow_reader_bounded);
	tcase_add_test(tc, test_stream_disconnect_frees_worker);
	tcase_add_test(tc, test_stream_cancel_raw);
	tcase_add_test(tc, test_stream_stop_from_fn);
	tcase_add_test(tc, test_stream_idle_timeout);
	tcase_add_test(tc, test_callback_reduce);
	tcase_add_test(tc, test_callback_sorted_key);
	tcase_add_test(tc, test_callback_nested_call);
	tcase_add_test(tc, test_callback_in_stream);
	tcase_add_test(tc, test_callback_fails);
	tcase_add_test(tc, test_callback_client_gone);
	tcase_add_test(tc, test_callback_after_disconnect);
	tcase_add_test(tc, test_callback_other_session);
	tcase_add_test(tc, test_sbctl_stream_iter);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(stream_suite()));
}
