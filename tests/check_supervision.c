/*
 * check_supervision.c: supervision against a real daemon (issue 4): worker
 * crashes and recovery, timeouts and the grace kill, profiles, parallel
 * workers, affinity, overload, recycling, pools with their own environment,
 * cancellation on disconnect, status, and a crash-looping pool that does not
 * spin. Reload, admin methods, signals and the config check are in
 * check_reload.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supfix.h"

SUP_DAEMON(setup_crash, "", 1)
SUP_DAEMON(setup_timeouts,
    "[timeouts]\ngrace = 1s\nquick = 300ms\n\n"
    "[pool solo]\nsize = 1\npath = @FIX@\n", 1)
SUP_DAEMON(setup_pools,
    "[pool solo]\nsize = 1\npath = @FIX@\n\n"
    "[pool ff]\nsize = 1\npath = @FIX@\naffinity = strict_fail_fast\n\n"
    "[pool tight]\nsize = 1\npath = @FIX@\nqueue_limit = 1\n\n"
    "[pool envx1]\nsize = 1\npath = @FIX@\nenv = SBX=1\n\n"
    "[pool envx2]\nsize = 1\npath = @FIX@\nenv = SBX=2\n", 0)
SUP_DAEMON(setup_recycle,
    "[pool recyc]\nsize = 1\npath = @FIX@\nmax_requests = 3\n"
    "[pool drained]\nsize = 1\npath = @FIX@\nmax_requests = 2\n"
    "drain_timeout = 2s\n", 0)
SUP_DAEMON(setup_crashloop,
    "[pool loop]\nsize = 1\npath = @FIX@\npreload = sbsuper_crash\n", 1)

/* sbsuper.func(args) must fail with type; the error (caller frees). */
static sb_error *
expect_call_error(sb_client *c, const char *session, const char *pool,
    const char *func, const sb_value *args, const char *type)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	char		 what[128];
	int		 rc;

	snprintf(what, sizeof what, "sbsuper.%s", func);
	rc = sup_call(c, session, pool, 30000, func, args, &r, &err);
	sbt_expect_error(what, rc, err, type);
	sb_value_free(r);
	return (err);
}

/* Start sbsuper.func(args) without waiting. */
static sb_pending *
call_async(sb_client *c, const char *session, const char *pool,
    const char *func, const sb_value *args)
{
	struct sb_opts	 o;
	sb_pending	*p = NULL;

	sb_opts_init(&o);
	o.session = session;
	o.pool = pool;
	ck_assert_int_eq(sb_call_async(c, "sbsuper", func, args, NULL, &o,
	    &p), 0);
	/* Make sure the daemon has it before going on. */
	ck_assert_int_ge(sb_client_poll(c, 0), 0);
	return (p);
}

/* Wait (bounded) for an async call; its return code, result and error. */
static int
wait_call(sb_client *c, sb_pending *p, int timeout_ms, sb_value **r,
    sb_error **err)
{
	int	 rc;

	rc = sb_wait(c, p, timeout_ms, r, err);
	if (rc == SB_EAGAIN)
		sb_pending_free(c, p);
	ck_assert_msg(rc != SB_EAGAIN, "no answer within %d ms", timeout_ms);
	return (rc);
}

/*
 * sbsuper.rendezvous in pool (or session), which runs until gate_open(name):
 * a call that ends when the test says, never by the clock.
 */
static sb_pending *
call_gated(sb_client *c, const char *session, const char *pool,
    const char *name)
{
	char		 begun[PATH_MAX + 32], gate[PATH_MAX + 32];
	sb_value	*args;
	sb_pending	*p;

	snprintf(begun, sizeof begun, "%s/%s.begun", sbt_d.dir, name);
	snprintf(gate, sizeof gate, "%s/%s.gate", sbt_d.dir, name);
	args = sup_args("ssf", begun, gate, 60.0);
	p = call_async(c, session, pool, "rendezvous", args);
	sb_value_free(args);
	return (p);
}

/* Let the gated call p of c end; it must have seen the gate open. */
static void
gate_open(sb_client *c, sb_pending *p, const char *name)
{
	char		 gate[PATH_MAX + 32];
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	int		 fd, met;

	snprintf(gate, sizeof gate, "%s/%s.gate", sbt_d.dir, name);
	ck_assert_int_ge(fd = open(gate, O_WRONLY | O_CREAT | O_EXCL, 0600),
	    0);
	close(fd);
	sbt_ok("the gated call", wait_call(c, p, 30000, &r, &err), err);
	ck_assert_msg(sb_value_get_bool(r, &met) == 0 && met,
	    "the gated call %s ended before its gate opened", name);
	sb_value_free(r);
}

/* The call p of c is still unanswered when what was answered. */
static void
expect_unanswered(sb_client *c, sb_pending *p, const char *what)
{
	ck_assert_int_ge(sb_client_poll(c, 0), 0);
	ck_assert_msg(!sb_pending_done(p), "%s came only once the running "
	    "call had ended", what);
}

START_TEST(test_exit_crash)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("i", (int64_t)7);
	sb_error	*err;

	err = expect_call_error(c, NULL, NULL, "exit_now", args,
	    "snakebridge.WorkerCrashed");
	ck_assert_msg(sup_error_detail(err, "exit_status", -1) == 7,
	    "details have no exit_status 7: %s", sb_error_message(err));
	sb_error_free(err);
	/* The next call works. */
	ck_assert_int_gt(sup_pid(c, NULL), 0);
	sb_value_free(args);
	sb_client_close(c);
}
END_TEST

START_TEST(test_segfault)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_error	*err;

	err = expect_call_error(c, NULL, NULL, "segfault", NULL,
	    "snakebridge.WorkerCrashed");
	/* A worker built with AddressSanitizer exits from its SEGV handler. */
	ck_assert_msg(sup_error_detail(err, "signal", -1) == 11 ||
	    (sup_error_detail(err, "exit_status", -1) > 0 &&
	    sbt_daemon_log_wait(&sbt_d, "AddressSanitizer: SEGV", 2000)),
	    "details have no signal 11: %s", sb_error_message(err));
	sb_error_free(err);
	ck_assert_int_gt(sup_pid(c, NULL), 0);
	sb_client_close(c);
}
END_TEST

START_TEST(test_refs_lost)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("i", (int64_t)5), *ref, *r = NULL, *st;
	sb_error	*err = NULL;
	const sb_value	*w;
	int64_t		 pid0, slot;
	int		 rc;

	sb_value_free(sup_open(c, "fragile", -1, NULL));
	ref = sup_call_ok(c, "fragile", "make_thing", args);
	ck_assert_int_eq(sb_value_type(ref), SB_REF);
	pid0 = sup_pid(c, "fragile");
	sb_error_free(expect_call_error(c, "fragile", NULL, "exit_now", args,
	    "snakebridge.WorkerCrashed"));
	rc = sb_attr(c, ref, "value", NULL, &r, &err);
	sbt_expect_error("attr of a crashed worker's ref", rc, err,
	    "snakebridge.RefLost");
	sb_error_free(err);
	/* The session goes on in a new worker. */
	ck_assert_int_ne(sup_pid(c, "fragile"), pid0);
	ck_assert(!sup_proc_alive(pid0));
	/* status tells why the slot restarted. */
	sbt_ok("session.info", sb_session_info(c, "fragile", &r, &err), err);
	slot = sup_map_int(r, "worker", -1);
	sb_value_free(r);
	st = sup_status(c);
	w = sup_pool_worker(sup_status_pool(st, "default"), slot);
	ck_assert_msg(sup_map_int(sb_map_get(w, "last_exit"), "exit_status",
	    -1) == 5, "status: last_exit of slot %lld is not exit_status 5",
	    (long long)slot);
	ck_assert_int_ge(sup_map_int(w, "restarts", -1), 1);
	ck_assert_int_ge(sup_map_int(sb_map_get(st, "counters"), "crashes",
	    -1), 1);
	sb_value_free(st);
	sup_close(c, "fragile");
	sb_value_free(ref);
	sb_value_free(args);
	sb_client_close(c);
}
END_TEST

START_TEST(test_timeout_answered)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("f", 5.0), *r = NULL;
	sb_error	*err = NULL;
	int64_t		 t0, dt;
	int		 rc;

	sb_value_free(sup_open(c, "sleepy", -1, NULL));
	t0 = sbt_now_ms();
	rc = sup_call(c, "sleepy", NULL, 500, "slow", args, &r, &err);
	dt = sbt_now_ms() - t0;
	sbt_expect_error("slow(5) with a 500 ms timeout", rc, err,
	    "snakebridge.Timeout");
	sb_error_free(err);
	ck_assert_msg(dt < 2500, "Timeout came after %lld ms", (long long)dt);
	/* The worker is back soon after. */
	t0 = sbt_now_ms();
	rc = sup_call(c, "sleepy", NULL, 10000, "pid", NULL, &r, &err);
	sbt_ok("pid after the timeout", rc, err);
	sb_value_free(r);
	dt = sbt_now_ms() - t0;
	ck_assert_msg(dt < 3000, "the session's next call took %lld ms",
	    (long long)dt);
	sup_close(c, "sleepy");
	sb_value_free(args);
	sb_client_close(c);
}
END_TEST

START_TEST(test_timeout_grace_kill)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("f", 10.0), *r = NULL, *st;
	sb_error	*err = NULL;
	int64_t		 t0, dt, pid0, pid1, crashes;
	int		 rc;

	sb_value_free(sup_open(c, "deaf", -1, NULL));
	pid0 = sup_pid(c, "deaf");
	st = sup_status(c);
	crashes = sup_map_int(sb_map_get(st, "counters"), "crashes", -1);
	sb_value_free(st);
	/* It ignores the interrupt: killed after the 1 s grace. */
	t0 = sbt_now_ms();
	rc = sup_call(c, "deaf", NULL, 500, "stubborn", args, &r, &err);
	dt = sbt_now_ms() - t0;
	sbt_expect_error("stubborn(10) with a 500 ms timeout", rc, err,
	    "snakebridge.Timeout");
	sb_error_free(err);
	ck_assert_msg(dt < 2500, "Timeout came after %lld ms", (long long)dt);
	t0 = sbt_now_ms();
	pid1 = sup_pid(c, "deaf");
	dt = sbt_now_ms() - t0;
	ck_assert_msg(pid1 != pid0, "the worker that ignored the interrupt "
	    "still serves (pid %lld)", (long long)pid0);
	ck_assert_msg(dt < 6000, "the next call took %lld ms", (long long)dt);
	ck_assert(!sup_proc_alive(pid0));
	st = sup_status(c);
	ck_assert_msg(sup_map_int(sb_map_get(st, "counters"), "crashes", -1) ==
	    crashes, "the grace kill counted as a crash");
	ck_assert_int_ge(sup_map_int(sb_map_get(st, "counters"), "timeouts",
	    -1), 1);
	sb_value_free(st);
	sup_close(c, "deaf");
	sb_value_free(args);
	sb_client_close(c);
}
END_TEST

START_TEST(test_profiles)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("f", 3.0), *r = NULL;
	sb_error	*err = NULL;
	struct sb_opts	 o;
	int64_t		 t0, dt;
	int		 rc;

	sb_opts_init(&o);
	o.timeout_profile = "nosuchprofile";
	rc = sb_call(c, "sbsuper", "pid", NULL, NULL, &o, &r, &err);
	sbt_expect_error("an unknown profile", rc, err,
	    "snakebridge.UnknownProfile");
	sb_error_free(err);
	/* A profile of the config: quick = 300ms. */
	o.timeout_profile = "quick";
	t0 = sbt_now_ms();
	rc = sb_call(c, "sbsuper", "slow", args, NULL, &o, &r, &err);
	dt = sbt_now_ms() - t0;
	sbt_expect_error("slow(3) with profile quick", rc, err,
	    "snakebridge.Timeout");
	sb_error_free(err);
	ck_assert_msg(dt < 2500, "Timeout came after %lld ms", (long long)dt);
	o.timeout_profile = "batch_job";
	sb_value_free(args);
	args = sup_args("f", 0.1);
	sbt_ok("slow(0.1) with profile batch_job", sb_call(c, "sbsuper",
	    "slow", args, NULL, &o, &r, &err), err);
	sb_value_free(r);
	sb_value_free(args);
	sb_client_close(c);
}
END_TEST

START_TEST(test_parallel_calls)
{
	sb_client	*a = sbt_connect(&sbt_d), *b = sbt_connect(&sbt_d);
	sb_value	*aa, *ab, *r = NULL;
	sb_error	*err = NULL;
	sb_pending	*pa, *pb;
	char		 fa[PATH_MAX + 8], fb[PATH_MAX + 8];
	int		 met;

	/* Each call waits for the other to have begun: both run at once. */
	snprintf(fa, sizeof fa, "%s/par.a", sbt_d.dir);
	snprintf(fb, sizeof fb, "%s/par.b", sbt_d.dir);
	aa = sup_args("ssf", fa, fb, 20.0);
	ab = sup_args("ssf", fb, fa, 20.0);
	pa = call_async(a, NULL, NULL, "rendezvous", aa);
	pb = call_async(b, NULL, NULL, "rendezvous", ab);
	sbt_ok("rendezvous a", wait_call(a, pa, 30000, &r, &err), err);
	ck_assert_msg(sb_value_get_bool(r, &met) == 0 && met, "a ran alone");
	sb_value_free(r);
	sbt_ok("rendezvous b", wait_call(b, pb, 30000, &r, &err), err);
	ck_assert_msg(sb_value_get_bool(r, &met) == 0 && met, "b ran alone");
	sb_value_free(r);
	sb_value_free(aa);
	sb_value_free(ab);
	sb_client_close(a);
	sb_client_close(b);
}
END_TEST

/*
 * The client leaves right after its call is sent, as the worker starts it:
 * the interrupt that may come before the call runs still stops it, so the
 * worker is not killed. A few rounds, as the timing varies.
 */
START_TEST(test_cancel_before_start)
{
	sb_client	*a, *b = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("f", 30.0), *r = NULL;
	sb_error	*err = NULL;
	sb_pending	*p;
	int64_t		 pid0;
	int		 i, rc;

	sb_client_set_pool(b, "solo");
	pid0 = sup_pid(b, NULL);
	for (i = 0; i < 5; i++) {
		a = sbt_connect(&sbt_d);
		p = call_async(a, NULL, "solo", "slow", args);
		sb_pending_free(a, p);
		sb_client_close(a);
		rc = sup_call(b, NULL, "solo", 8000, "pid", NULL, &r, &err);
		sbt_ok("a call after the client left", rc, err);
		ck_assert_msg(sup_int(r) == pid0, "round %d: the worker was "
		    "replaced rather than interrupted", i);
		sb_value_free(r);
	}
	sb_value_free(args);
	sb_client_close(b);
}
END_TEST

START_TEST(test_cancel_on_disconnect)
{
	sb_client	*a = sbt_connect(&sbt_d), *b;
	sb_value	*args, *r = NULL;
	sb_error	*err = NULL;
	sb_pending	*p;
	int64_t		 pid0;
	int		 rc;
	char		 marker[PATH_MAX + 16];

	snprintf(marker, sizeof marker, "%s/slow.begun", sbt_d.dir);
	args = sup_args("fs", 30.0, marker);
	b = sbt_connect(&sbt_d);
	sb_client_set_pool(b, "solo");
	pid0 = sup_pid(b, NULL);
	/* A 30 s call in the one worker of solo, then its client leaves. */
	p = call_async(a, NULL, "solo", "slow", args);
	ck_assert_msg(sup_wait_exists(marker, 20000), "slow did not begin");
	sb_pending_free(a, p);
	sb_client_close(a);
	/* Answered within 8 s, so the 30 s call was not left running. */
	rc = sup_call(b, NULL, "solo", 8000, "pid", NULL, &r, &err);
	sbt_ok("a call after the client left", rc, err);
	ck_assert_msg(sup_int(r) == pid0, "the worker was replaced rather "
	    "than interrupted");
	sb_value_free(r);
	sb_value_free(args);
	sb_client_close(b);
}
END_TEST

START_TEST(test_fail_fast)
{
	sb_client	*c = sbt_connect(&sbt_d), *d = sbt_connect(&sbt_d);
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	sb_pending	*p, *q;
	struct sb_opts	 o;
	int		 rc;

	/* The pool's affinity. */
	sb_value_free(sup_open(c, "ffs", -1, "ff"));
	p = call_gated(c, "ffs", NULL, "ffs");
	sup_wait_pool_load(d, "ff", 1, 0);
	rc = sup_call(d, "ffs", NULL, 10000, "pid", NULL, &r, &err);
	sbt_expect_error("a call while the session's worker is busy", rc, err,
	    "snakebridge.WorkerBusy");
	sb_error_free(err);
	expect_unanswered(c, p, "WorkerBusy");
	gate_open(c, p, "ffs");
	sup_close(c, "ffs");

	/* Per call, in a strict_queue pool. */
	sb_value_free(sup_open(c, "pcs", -1, "solo"));
	p = call_gated(c, "pcs", NULL, "pcs");
	sup_wait_pool_load(d, "solo", 1, 0);
	sb_opts_init(&o);
	o.session = "pcs";
	o.affinity = "strict_fail_fast";
	rc = sb_call(d, "sbsuper", "pid", NULL, NULL, &o, &r, &err);
	sbt_expect_error("a fail-fast call while busy", rc, err,
	    "snakebridge.WorkerBusy");
	sb_error_free(err);
	expect_unanswered(c, p, "WorkerBusy");
	/* Without the option it waits its turn. */
	o.affinity = NULL;
	ck_assert_int_eq(sb_call_async(d, "sbsuper", "pid", NULL, NULL, &o,
	    &q), 0);
	gate_open(c, p, "pcs");
	sbt_ok("a queued call", wait_call(d, q, 10000, &r, &err), err);
	sb_value_free(r);
	sup_close(c, "pcs");
	sb_client_close(c);
	sb_client_close(d);
}
END_TEST

START_TEST(test_overload)
{
	sb_client	*a = sbt_connect(&sbt_d), *b = sbt_connect(&sbt_d);
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	sb_pending	*pa, *pb;
	int		 rc;

	/* tight: one worker, a queue of one. */
	pa = call_gated(a, NULL, "tight", "tight");
	sup_wait_pool_load(c, "tight", 1, 0);
	pb = call_async(b, NULL, "tight", "pid", NULL);
	sup_wait_pool_load(c, "tight", 1, 1);
	rc = sup_call(c, NULL, "tight", 10000, "pid", NULL, &r, &err);
	sbt_expect_error("a call past the queue limit", rc, err,
	    "snakebridge.Overloaded");
	sb_error_free(err);
	expect_unanswered(a, pa, "Overloaded");
	expect_unanswered(b, pb, "Overloaded");
	gate_open(a, pa, "tight");
	sbt_ok("the queued call", wait_call(b, pb, 10000, &r, &err), err);
	sb_value_free(r);
	sb_client_close(a);
	sb_client_close(b);
	sb_client_close(c);
}
END_TEST

/* os.environ[name] in pool (NULL result for None); caller frees. */
static char *
pool_getenv(const char *pool, const char *name)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("s", name), *r = NULL;
	sb_error	*err = NULL;
	const char	*s;
	char		*out = NULL;

	sbt_ok("getenv", sup_call(c, NULL, pool, 10000, "getenv", args, &r,
	    &err), err);
	if ((s = sb_value_str(r, NULL)) != NULL)
		out = strdup(s);
	sb_value_free(r);
	sb_value_free(args);
	sb_client_close(c);
	return (out);
}

START_TEST(test_two_pools_env)
{
	char	*v;

	v = pool_getenv("envx1", "SBX");
	ck_assert_msg(v != NULL && strcmp(v, "1") == 0, "envx1: SBX=%s", v);
	free(v);
	v = pool_getenv("envx2", "SBX");
	ck_assert_msg(v != NULL && strcmp(v, "2") == 0, "envx2: SBX=%s", v);
	free(v);
	v = pool_getenv(NULL, "SBX");
	ck_assert_msg(v == NULL, "default: SBX=%s", v);
	free(v);
}
END_TEST

START_TEST(test_unknown_pool)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*set, *r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	sb_error_free(expect_call_error(c, NULL, "nosuchpool", "pid", NULL,
	    "snakebridge.UnknownPool"));
	ck_assert_ptr_nonnull(set = sb_map_new());
	sb_map_set(set, sb_str("pool"), sb_str("nosuchpool"));
	rc = sb_session_open(c, "nowhere", set, &r, &err);
	sbt_expect_error("session.open in an unknown pool", rc, err,
	    "snakebridge.UnknownPool");
	sb_error_free(err);
	sb_value_free(set);
	/* Nothing was half made. */
	sup_expect_no_session(c, "nowhere");
	sb_client_close(c);
}
END_TEST

START_TEST(test_status_fields)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*st;
	const sb_value	*pool, *w;
	const char	*pkeys[] = { "name", "size", "queue", "queue_limit",
	    "affinity", "workers" };
	const char	*wkeys[] = { "slot", "pid", "state", "requests",
	    "rss_kb", "uptime", "restarts", "last_exit", "sessions" };
	size_t		 i;

	ck_assert_int_gt(sup_pid(c, NULL), 0);
	st = sup_status(c);
	ck_assert_ptr_nonnull(pool = sup_status_pool(st, "tight"));
	for (i = 0; i < sizeof pkeys / sizeof pkeys[0]; i++)
		ck_assert_msg(sb_map_get(pool, pkeys[i]) != NULL,
		    "a pool in status has no \"%s\"", pkeys[i]);
	ck_assert_int_eq(sup_map_int(pool, "queue_limit", -1), 1);
	ck_assert_ptr_nonnull(w = sup_pool_worker(pool, 0));
	for (i = 0; i < sizeof wkeys / sizeof wkeys[0]; i++)
		ck_assert_msg(sb_map_get(w, wkeys[i]) != NULL,
		    "a worker in status has no \"%s\"", wkeys[i]);
	ck_assert_int_gt(sup_map_int(w, "pid", -1), 0);
	sb_value_free(st);
	sb_client_close(c);
}
END_TEST

START_TEST(test_recycle_keeps_ref)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("i", (int64_t)5), *ref, *r = NULL, *st;
	sb_error	*err = NULL;
	int64_t		 pid0, pid1, deadline;
	int		 i, draining;

	sb_value_free(sup_open(c, "keep", -1, "recyc"));
	ref = sup_call_ok(c, "keep", "make_thing", args);
	pid0 = sup_pid(c, "keep");
	/* Past max_requests (3) the ref still works, in the same worker. */
	for (i = 0; i < 6; i++) {
		sbt_ok("attr", sb_attr(c, ref, "value", NULL, &r, &err), err);
		ck_assert_int_eq(sup_int(r), 5);
		sb_value_free(r);
	}
	ck_assert_int_eq(sup_pid(c, "keep"), pid0);
	st = sup_status(c);
	r = NULL;
	sb_value_get_bool(sb_map_get(sup_pool_worker(sup_status_pool(st,
	    "recyc"), 0), "draining"), &draining);
	ck_assert_msg(draining, "the worker past max_requests is not "
	    "draining");
	sb_value_free(st);
	/* Once its session ends, the worker is replaced. */
	sup_close(c, "keep");
	deadline = sbt_now_ms() + 10000;
	do {
		sup_sleep_ms(100);
		pid1 = sup_worker_pid(c, "recyc", 0);
	} while ((pid1 == pid0 || pid1 <= 0) && sbt_now_ms() < deadline);
	ck_assert_msg(pid1 != pid0 && pid1 > 0, "worker recyc/0 not replaced "
	    "10 s after its last session ended");
	sbt_ok("pid", sup_call(c, NULL, "recyc", 10000, "pid", NULL, &r, &err),
	    err);
	ck_assert_int_eq(sup_int(r), pid1);
	sb_value_free(r);
	sb_value_free(ref);
	sb_value_free(args);
	sb_client_close(c);
}
END_TEST

/*
 * A draining worker whose session never ends is restarted once the drain
 * timeout passes: counted, and the session's refs are then RefLost.
 */
START_TEST(test_drain_timeout)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*args = sup_args("i", (int64_t)7), *ref, *r = NULL, *st;
	sb_error	*err = NULL;
	int64_t		 pid0, pid1, deadline;
	int		 rc;

	sb_value_free(sup_open(c, "held", -1, "drained"));
	ref = sup_call_ok(c, "held", "make_thing", args);
	pid0 = sup_pid(c, "held");
	sup_expect_value(c, ref, 7);	/* past max_requests (2): draining */
	deadline = sbt_now_ms() + 15000;
	do {
		sup_sleep_ms(100);
		pid1 = sup_worker_pid(c, "drained", 0);
	} while ((pid1 == pid0 || pid1 <= 0) && sbt_now_ms() < deadline);
	ck_assert_msg(pid1 != pid0 && pid1 > 0, "worker drained/0 still pid "
	    "%lld 15 s after a 2 s drain timeout", (long long)pid0);
	st = sup_status(c);
	ck_assert_int_ge(sup_map_int(sb_map_get(st, "counters"),
	    "drain_timeouts", -1), 1);
	sb_value_free(st);
	rc = sb_attr(c, ref, "value", NULL, &r, &err);
	sbt_expect_error("attr after drain timeout", rc, err,
	    "snakebridge.RefLost");
	sb_error_free(err);
	/* The session itself lives on, served by the new worker. */
	ck_assert_int_eq(sup_pid(c, "held"), pid1);
	sup_close(c, "held");
	sb_value_free(ref);
	sb_value_free(args);
	sb_client_close(c);
}
END_TEST

START_TEST(test_crash_loop)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*st;
	const sb_value	*w;
	int64_t		 cpu0, cpu1, restarts;
	char		*log;

	sup_sleep_ms(1000);
	ck_assert_int_ge(cpu0 = sup_proc_cpu(sbt_d.pid), 0);
	sup_sleep_ms(4000);
	ck_assert_int_ge(cpu1 = sup_proc_cpu(sbt_d.pid), 0);
	/* 4 s of a crash loop: under a second of the daemon's CPU. */
	ck_assert_msg(cpu1 - cpu0 < sysconf(_SC_CLK_TCK),
	    "the daemon used %lld ticks of CPU in 4 s",
	    (long long)(cpu1 - cpu0));
	st = sup_status(c);
	w = sup_pool_worker(sup_status_pool(st, "loop"), 0);
	ck_assert_ptr_nonnull(w);
	restarts = sup_map_int(w, "restarts", -1);
	ck_assert_msg(restarts >= 2 && restarts < 40, "restarts %lld",
	    (long long)restarts);
	ck_assert_msg(sup_map_int(sb_map_get(w, "last_exit"), "exit_status",
	    -1) == 3, "last_exit is not exit_status 3");
	ck_assert_msg(strcmp(sb_value_str(sb_map_get(w, "state"), NULL),
	    "idle") != 0, "a crash-looping worker shows idle");
	sb_value_free(st);
	log = sbt_daemon_log(&sbt_d);
	ck_assert_msg(strstr(log, "exited with status 3") != NULL,
	    "the log does not show the worker exits");
	free(log);
	/* The other pool still serves. */
	ck_assert_int_gt(sup_pid(c, NULL), 0);
	sb_client_close(c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("supervision");
	TCase	*tc;

	tc = sup_tcase(s, "crash", setup_crash, 60);
	tcase_add_test(tc, test_exit_crash);
	tcase_add_test(tc, test_segfault);
	tcase_add_test(tc, test_refs_lost);

	tc = sup_tcase(s, "timeouts", setup_timeouts, 60);
	tcase_add_test(tc, test_timeout_answered);
	tcase_add_test(tc, test_timeout_grace_kill);
	tcase_add_test(tc, test_profiles);
	tcase_add_test(tc, test_parallel_calls);
	tcase_add_test(tc, test_cancel_on_disconnect);
	tcase_add_test(tc, test_cancel_before_start);

	tc = sup_tcase(s, "pools", setup_pools, 60);
	tcase_add_test(tc, test_fail_fast);
	tcase_add_test(tc, test_overload);
	tcase_add_test(tc, test_two_pools_env);
	tcase_add_test(tc, test_unknown_pool);
	tcase_add_test(tc, test_status_fields);

	tc = sup_tcase(s, "recycle", setup_recycle, 60);
	tcase_add_test(tc, test_recycle_keeps_ref);
	tcase_add_test(tc, test_drain_timeout);

	tc = sup_tcase(s, "crashloop", setup_crashloop, 60);
	tcase_add_test(tc, test_crash_loop);
	return (sup_run_suite(s));
}
