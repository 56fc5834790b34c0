/*
 * check_pipeworker.c: requests pipelined into a busy worker (the daemon
 * sends a session's next requests before the current one is answered).
 * What a client sees: answers in order, a timeout or a disconnect of a
 * request that has not started keeps it from ever running, an interrupt
 * stops only the request it was meant for, and a worker crash fails only
 * the request that was running.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supfix.h"

#define NORDER		200
#define WAIT_MS		30000

/* A fresh file for the fixture to write lines to (static). */
static const char *
temp_path(void)
{
	static char	 path[64];
	int		 fd;

	snprintf(path, sizeof path, "/tmp/sbpipe-XXXXXX");
	ck_assert_int_ge(fd = mkstemp(path), 0);
	close(fd);
	return (path);
}

/* The lines the fixture wrote, joined by ','; "" for none (static). */
static const char *
file_lines(const char *path)
{
	static char	 buf[4096];
	size_t		 n = 0;
	FILE		*f;
	int		 ch;

	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while ((ch = fgetc(f)) != EOF && n < sizeof buf - 1)
		buf[n++] = ch == '\n' ? ',' : (char)ch;
	fclose(f);
	buf[n] = '\0';
	return (buf);
}

/* Start sbpipe.func(path, [seconds,] value) with timeout_ms (-1: none). */
static sb_pending *
start_note(sb_client *c, const char *path, double seconds, const char *value,
    int64_t timeout_ms)
{
	struct sb_opts	 opts;
	sb_pending	*p;
	sb_value	*args = sb_list_new();
	int		 rc;

	ck_assert_ptr_nonnull(args);
	ck_assert_int_eq(sb_list_append(args, sb_str(path)), 0);
	if (seconds > 0)
		ck_assert_int_eq(sb_list_append(args, sb_float(seconds)), 0);
	ck_assert_int_eq(sb_list_append(args, sb_str(value)), 0);
	sb_opts_init(&opts);
	opts.timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
	rc = sb_call_async(c, "sbpipe", seconds > 0 ? "slow_note" : "note",
	    args, NULL, &opts, &p);
	sb_value_free(args);
	ck_assert_msg(rc == 0, "sb_call_async: %s", sb_strerror(rc));
	return (p);
}

/* Wait for p: its int result, or -1 with *type set to its error type. */
static int64_t
finish(sb_client *c, sb_pending *p, char *type, size_t typelen)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	int64_t		 v = -1;
	int		 rc;

	type[0] = '\0';
	rc = sb_wait(c, p, WAIT_MS, &r, &err);
	if (rc == SB_EAGAIN) {
		sb_pending_free(c, p);
		snprintf(type, typelen, "no answer");
	} else if (rc != 0)
		snprintf(type, typelen, "%s", err != NULL ?
		    sb_error_type(err) : sb_strerror(rc));
	else
		ck_assert_int_eq(sb_value_get_int(r, &v), 0);
	sb_value_free(r);
	sb_error_free(err);
	return (v);
}

static int64_t
finish_ok(sb_client *c, sb_pending *p, const char *what)
{
	char		 type[128];
	int64_t		 v = finish(c, p, type, sizeof type);

	ck_assert_msg(type[0] == '\0', "%s: %s", what, type);
	return (v);
}

static void
finish_error(sb_client *c, sb_pending *p, const char *what, const char *want)
{
	char		 type[128];

	finish(c, p, type, sizeof type);
	ck_assert_msg(strcmp(type, want) == 0, "%s: %s, not %s", what,
	    type[0] != '\0' ? type : "success", want);
}

START_TEST(test_order)
{
	sb_client	*c = sbt_connect(&sbt_d);
	const char	*path = temp_path();
	sb_pending	*p[NORDER];
	char		 value[16];
	int		 i;

	for (i = 0; i < NORDER; i++) {
		snprintf(value, sizeof value, "%d", i);
		p[i] = start_note(c, path, 0, value, -1);
	}
	for (i = 0; i < NORDER; i++)
		ck_assert_int_eq(finish_ok(c, p[i], "note"), i + 1);
	sb_client_close(c);
	unlink(path);
}
END_TEST

START_TEST(test_timeout_ahead)
{
	sb_client	*c = sbt_connect(&sbt_d);
	const char	*path = temp_path();
	sb_pending	*slow, *quick;

	slow = start_note(c, path, 2.0, "slow", -1);
	quick = start_note(c, path, 0, "quick", 300);
	finish_error(c, quick, "queued behind a 2 s call",
	    "snakebridge.Timeout");
	ck_assert_int_eq(finish_ok(c, slow, "the 2 s call"), 1);
	/* the next request of the session runs after it, never the dropped */
	ck_assert_int_eq(finish_ok(c, start_note(c, path, 0, "after", -1),
	    "note after"), 2);
	ck_assert_str_eq(file_lines(path), "slow,after,");
	sb_client_close(c);
	unlink(path);
}
END_TEST

/*
 * The request that times out was already read by the worker, behind a slow
 * one, when its drop arrives: the worker still finds the drop before it.
 */
START_TEST(test_timeout_read_ahead)
{
	sb_client	*c = sbt_connect(&sbt_d);
	const char	*path = temp_path();
	sb_pending	*first, *slow, *quick;

	first = start_note(c, path, 0.5, "first", -1);
	slow = start_note(c, path, 3.0, "slow", -1);
	quick = start_note(c, path, 0, "quick", 1500);
	finish_error(c, quick, "queued behind a 3 s call",
	    "snakebridge.Timeout");
	ck_assert_int_eq(finish_ok(c, first, "the first call"), 1);
	ck_assert_int_eq(finish_ok(c, slow, "the 3 s call"), 2);
	ck_assert_int_eq(finish_ok(c, start_note(c, path, 0, "after", -1),
	    "note after"), 3);
	ck_assert_str_eq(file_lines(path), "first,slow,after,");
	sb_client_close(c);
	unlink(path);
}
END_TEST

START_TEST(test_timeout_running)
{
	sb_client	*c = sbt_connect(&sbt_d);
	const char	*path = temp_path();
	sb_pending	*slow, *a, *b;

	slow = start_note(c, path, 20.0, "slow", 300);
	a = start_note(c, path, 0, "a", -1);
	b = start_note(c, path, 0, "b", -1);
	finish_error(c, slow, "a 20 s call with a 300 ms timeout",
	    "snakebridge.Timeout");
	ck_assert_int_eq(finish_ok(c, a, "a"), 1);
	ck_assert_int_eq(finish_ok(c, b, "b"), 2);
	ck_assert_str_eq(file_lines(path), "a,b,");
	sb_client_close(c);
	unlink(path);
}
END_TEST

/* A callback: note(path, "nested") from inside the call that waits. */
static int
nested_note(sb_client *c, const sb_value *args, const sb_value *kwargs,
    void *ud, sb_value **result, sb_error **err)
{
	const char	*path = sb_value_str(sb_value_item(args, 0), NULL);

	ck_assert_ptr_nonnull(path);
	ck_assert_int_eq(finish_ok(c, start_note(c, path, 0, "nested", -1),
	    "nested note"), 2);
	*result = NULL;
	return (0);
}

START_TEST(test_callback_ahead)
{
	sb_client	*c = sbt_connect(&sbt_d);
	const char	*path = temp_path();
	sb_pending	*outer, *ahead;
	sb_value	*args, *cb;

	/* the session is bound first, so the second call goes ahead */
	ck_assert_int_eq(finish_ok(c, start_note(c, path, 0, "first", -1),
	    "first note"), 1);
	ck_assert_ptr_nonnull(cb = sb_callback_new(c, nested_note, NULL));
	ck_assert_ptr_nonnull(args = sb_list_new());
	ck_assert_int_eq(sb_list_append(args, cb), 0);
	ck_assert_int_eq(sb_list_append(args, sb_str(path)), 0);
	ck_assert_int_eq(sb_list_append(args, sb_float(0.3)), 0);
	ck_assert_int_eq(sb_call_async(c, "sbpipe", "call_back", args, NULL,
	    NULL, &outer), 0);
	sb_value_free(args);
	ahead = start_note(c, path, 0, "ahead", -1);
	/* the request sent ahead waits for the outer one, callback and all */
	ck_assert_int_eq(finish_ok(c, outer, "call_back"), 3);
	ck_assert_int_eq(finish_ok(c, ahead, "note ahead"), 4);
	ck_assert_str_eq(file_lines(path), "first,nested,outer,ahead,");
	sb_client_close(c);
	unlink(path);
}
END_TEST

START_TEST(test_disconnect_ahead)
{
	sb_client	*gone = sbt_connect(&sbt_d), *c;
	const char	*path = temp_path();
	sb_pending	*p[6];
	int		 i;

	p[0] = start_note(gone, path, 20.0, "slow", -1);
	for (i = 1; i < 6; i++)
		p[i] = start_note(gone, path, 0, "ahead", -1);
	/* the slow one runs, the rest sent with it, before the client leaves */
	c = sbt_connect(&sbt_d);
	sup_wait_pool_load(c, "default", 1, 0);
	for (i = 0; i < 6; i++)
		sb_pending_free(gone, p[i]);
	sb_client_close(gone);
	sup_wait_pool_idle(c, "default");
	ck_assert_str_eq(file_lines(path), "");
	sbt_ok("ping", sb_ping(c, NULL), NULL);
	sb_client_close(c);
	ck_assert_str_eq(file_lines(path), "");
	unlink(path);
}
END_TEST

START_TEST(test_crash_ahead)
{
	sb_client	*c = sbt_connect(&sbt_d);
	const char	*path = temp_path();
	sb_pending	*crash, *p[4];
	sb_value	*args;
	int		 i;

	ck_assert_ptr_nonnull(args = sb_list_new());
	ck_assert_int_eq(sb_list_append(args, sb_float(0.5)), 0);
	ck_assert_int_eq(sb_call_async(c, "sbpipe", "crash_after", args, NULL,
	    NULL, &crash), 0);
	sb_value_free(args);
	for (i = 0; i < 4; i++)
		p[i] = start_note(c, path, 0, "ahead", -1);
	finish_error(c, crash, "the call that crashed",
	    "snakebridge.WorkerCrashed");
	/* the ones sent ahead fail too, and are not run again elsewhere */
	for (i = 0; i < 4; i++)
		finish_error(c, p[i], "a request sent ahead",
		    "snakebridge.WorkerCrashed");
	ck_assert_str_eq(file_lines(path), "");
	/* each answered once: the connection is in step */
	sbt_ok("ping", sb_ping(c, NULL), NULL);
	sb_client_close(c);
	unlink(path);
}
END_TEST

/*
 * Requests sent ahead that ran, their answers held behind the next one,
 * which crashes the worker: they fail and none runs a second time.
 */
START_TEST(test_crash_held_answers)
{
	sb_client	*c = sbt_connect(&sbt_d);
	const char	*path = temp_path();
	sb_pending	*first, *noted[2], *crash;
	sb_value	*args;
	char		 type[128];
	int64_t		 v;

	first = start_note(c, path, 0.3, "first", -1);
	noted[0] = start_note(c, path, 0, "a", -1);
	noted[1] = start_note(c, path, 0, "b", -1);
	ck_assert_ptr_nonnull(args = sb_list_new());
	ck_assert_int_eq(sb_list_append(args, sb_float(0.0)), 0);
	ck_assert_int_eq(sb_call_async(c, "sbpipe", "crash_after", args, NULL,
	    NULL, &crash), 0);
	sb_value_free(args);
	/* its answer may have left before the crash, or been held */
	v = finish(c, first, type, sizeof type);
	ck_assert_msg(type[0] == '\0' ? v == 1 : strcmp(type,
	    "snakebridge.WorkerCrashed") == 0, "first: %s %lld", type,
	    (long long)v);
	finish_error(c, noted[0], "answer held at the crash",
	    "snakebridge.WorkerCrashed");
	finish_error(c, noted[1], "answer held at the crash",
	    "snakebridge.WorkerCrashed");
	finish_error(c, crash, "the call that crashed",
	    "snakebridge.WorkerCrashed");
	/* each ran once, in the process that died */
	ck_assert_str_eq(file_lines(path), "first,a,b,");
	sbt_ok("ping", sb_ping(c, NULL), NULL);
	sb_client_close(c);
	unlink(path);
}
END_TEST

/* In the crash case's daemon a worker dies on purpose. */
static void
allow_crashes(void)
{
	sbt_d.allow_crashes = 1;
}

static Suite *
pipeworker_suite(void)
{
	Suite	*s = suite_create("pipeworker");
	TCase	*tc = tcase_create("pipeworker");
	TCase	*crash = tcase_create("crash");

	sbt_tcase_add_daemon(tc, NULL);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_timeout_ahead);
	tcase_add_test(tc, test_timeout_read_ahead);
	tcase_add_test(tc, test_timeout_running);
	tcase_add_test(tc, test_callback_ahead);
	tcase_add_test(tc, test_disconnect_ahead);
	suite_add_tcase(s, tc);
	sbt_tcase_add_daemon(crash, NULL);
	tcase_add_unchecked_fixture(crash, allow_crashes, NULL);
	tcase_set_timeout(crash, 90);
	tcase_add_test(crash, test_crash_ahead);
	tcase_add_test(crash, test_crash_held_answers);
	suite_add_tcase(s, crash);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(pipeworker_suite()));
}
