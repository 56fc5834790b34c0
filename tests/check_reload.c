/*
 * check_reload.c: the operator's side of supervision against a real daemon
 * (issue 4): reload by SIGHUP and by the reload method keeping sessions and
 * applying pool sizes, a broken config refused, worker.restart, admin
 * methods refused to another user, sbctl's admin commands, SIGTERM and
 * SIGKILL leaving no worker, and `snakebridged -n` naming a bad line.
 */
#include <sys/wait.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supfix.h"

#define ANY_USER	"[daemon]\nsocket_mode = 0666\n"

SUP_DAEMON(setup_reload, ANY_USER, 0)

/*
 * Rewrite sbt_d's config: what the harness writes, with the default pool
 * of size workers, any user allowed, and extra lines appended.
 */
static void
write_config(unsigned size, const char *extra)
{
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(sbt_d.config, "w"));
	fprintf(f, "[daemon]\nsocket = %s\nlog_level = debug\nsocket_mode = "
	    "0666\n\n[pool default]\nsize = %u\npath = %s\n%s", sbt_d.socket,
	    size, sbt_srcdir_path("tests/fixtures"), extra);
	ck_assert_int_eq(fclose(f), 0);
}

/* The size of the default pool in status, and its slots with a pid. */
static int64_t
pool_size(sb_client *c, int64_t *running)
{
	sb_value	*st = sup_status(c);
	const sb_value	*pool = sup_status_pool(st, "default"), *ws;
	int64_t		 size = sup_map_int(pool, "size", -1);
	size_t		 i;

	*running = 0;
	ws = sb_map_get(pool, "workers");
	for (i = 0; i < sb_value_len(ws); i++) {
		if (sup_map_int(sb_value_item(ws, i), "pid", -1) > 0)
			(*running)++;
	}
	sb_value_free(st);
	return (size);
}

/* Wait up to 10 s for the default pool to have size running workers. */
static void
wait_pool_size(sb_client *c, int64_t want)
{
	int64_t	 deadline = sbt_now_ms() + 10000, size, running;

	for (;;) {
		size = pool_size(c, &running);
		if ((size == want && running >= want) ||
		    sbt_now_ms() > deadline)
			break;
		sup_sleep_ms(100);
	}
	ck_assert_msg(size == want && running >= want, "pool default: size "
	    "%lld with %lld running, want %lld", (long long)size,
	    (long long)running, (long long)want);
}

/* A named session with a Thing(value) ref in it. */
static sb_value *
session_with_ref(sb_client *c, const char *name, int64_t value)
{
	sb_value_free(sup_open(c, name, -1, NULL));
	return (sup_make_thing(c, name, value));
}

/* An admin request by name with params (NULL: none); rc, err. */
static int
admin(sb_client *c, const char *method, sb_value *params, sb_error **err)
{
	sb_value	*r = NULL;
	int		 rc;

	*err = NULL;
	rc = sb_request(c, method, params, &r, err);
	if (rc == 0)
		ck_assert_msg(sb_value_type(r) == SB_BOOL, "%s: not true",
		    method);
	sb_value_free(r);
	sb_value_free(params);
	return (rc);
}

START_TEST(test_reload_sighup)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*ref;

	ref = session_with_ref(c, "kept", 8);
	write_config(3, "");
	ck_assert_int_eq(kill(sbt_d.pid, SIGHUP), 0);
	wait_pool_size(c, 3);
	sup_expect_value(c, ref, 8);
	ck_assert_int_gt(sup_pid(c, "kept"), 0);
	/* And back down to 2: the session lives on. */
	write_config(2, "");
	ck_assert_int_eq(kill(sbt_d.pid, SIGHUP), 0);
	wait_pool_size(c, 2);
	sup_expect_value(c, ref, 8);
	sb_session_close(c, "kept", NULL);
	sb_value_free(ref);
	sb_client_close(c);
}
END_TEST

START_TEST(test_reload_method)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*ref;
	sb_error	*err;

	ref = session_with_ref(c, "kept2", 4);
	write_config(3, "");
	sbt_ok("reload", admin(c, "reload", NULL, &err), err);
	wait_pool_size(c, 3);
	sup_expect_value(c, ref, 4);
	write_config(2, "");
	sbt_ok("reload", admin(c, "reload", NULL, &err), err);
	wait_pool_size(c, 2);
	sup_expect_value(c, ref, 4);
	sb_session_close(c, "kept2", NULL);
	sb_value_free(ref);
	sb_client_close(c);
}
END_TEST

START_TEST(test_reload_broken)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*ref;
	sb_error	*err;
	int64_t		 running;
	int		 rc;

	ref = session_with_ref(c, "kept3", 6);
	/* Line 11 is wrong, and the size before it must not apply. */
	write_config(3, "\n[pool extra]\nsize = banana\n");
	rc = admin(c, "reload", NULL, &err);
	ck_assert_msg(rc == SB_EREMOTE, "reload of a broken config succeeded");
	ck_assert_msg(strstr(sb_error_message(err), ":11:") != NULL ||
	    strstr(sb_error_message(err), "line 11") != NULL,
	    "the error does not name line 11: %s", sb_error_message(err));
	sb_error_free(err);
	ck_assert_int_eq(kill(sbt_d.pid, SIGHUP), 0);
	sup_sleep_ms(1000);
	ck_assert(sbt_daemon_alive(&sbt_d));
	ck_assert_int_eq(pool_size(c, &running), 2);
	sup_expect_value(c, ref, 6);
	ck_assert_msg(sbt_daemon_log_wait(&sbt_d, "banana", 2000) ||
	    sbt_daemon_log_wait(&sbt_d, ":11:", 1), "the log does not show "
	    "the refused config");
	write_config(2, "");
	sb_session_close(c, "kept3", NULL);
	sb_value_free(ref);
	sb_client_close(c);
}
END_TEST

START_TEST(test_worker_restart)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*params;
	sb_error	*err;
	int64_t		 pid0, pid1, other, deadline;
	int		 rc;

	pid0 = sup_worker_pid(c, "default", 0);
	other = sup_worker_pid(c, "default", 1);
	ck_assert(pid0 > 0 && other > 0);
	params = sup_args("si", "default", (int64_t)0);
	sbt_ok("worker.restart", admin(c, "worker.restart", params, &err),
	    err);
	deadline = sbt_now_ms() + 10000;
	do {
		sup_sleep_ms(100);
		pid1 = sup_worker_pid(c, "default", 0);
	} while ((pid1 == pid0 || pid1 <= 0) && sbt_now_ms() < deadline);
	ck_assert_msg(pid1 != pid0 && pid1 > 0, "slot 0 not restarted");
	ck_assert(!sup_proc_alive(pid0));
	ck_assert_int_eq(sup_worker_pid(c, "default", 1), other);
	rc = admin(c, "worker.restart", sup_args("s", "nosuchpool"), &err);
	sbt_expect_error("worker.restart of an unknown pool", rc, err,
	    "snakebridge.UnknownPool");
	sb_error_free(err);
	sb_client_close(c);
}
END_TEST

/*
 * A worker told to restart while busy: the request it answers meanwhile
 * gets its answer, and a request that comes after the restart waits for
 * the new process instead of running in the one that is going.
 */
START_TEST(test_worker_restart_busy)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info, *params, *res = NULL;
	sb_error	*err = NULL;
	sb_pending	*term, *after;
	struct sb_opts	 opts;
	int64_t		 pid0, pid1, slot;
	size_t		 len;
	const char	*s;
	char		 marker[PATH_MAX + 16];

	info = sup_open(c, "restart-busy", -1, NULL);
	sb_value_free(info);
	pid0 = sup_pid(c, "restart-busy");
	for (slot = 0; slot < 2 && sup_worker_pid(c, "default", slot) != pid0;
	    slot++)
		;
	ck_assert_msg(slot < 2, "the session's worker is not in the pool");
	sb_value_free(sup_call_ok(c, "restart-busy", "on_term_answer", NULL));
	sb_opts_init(&opts);
	opts.session = "restart-busy";
	snprintf(marker, sizeof marker, "%s/term.begun", sbt_d.dir);
	params = sup_args("s", marker);
	ck_assert_int_eq(sb_call_async(c, "sbsuper", "answer_on_term", params,
	    NULL, &opts, &term), 0);
	sb_value_free(params);
	/* running, not queued behind the daemon's own poll of the worker */
	ck_assert_msg(sup_wait_exists(marker, 20000), "answer_on_term did not "
	    "begin");
	params = sup_args("si", "default", slot);
	sbt_ok("worker.restart", admin(c, "worker.restart", params, &err),
	    err);
	ck_assert_int_eq(sb_call_async(c, "sbsuper", "pid", NULL, NULL,
	    &opts, &after), 0);
	sbt_ok("answer_on_term", sb_wait(c, term, 30000, &res, &err), err);
	ck_assert_ptr_nonnull(s = sb_value_str(res, &len));
	ck_assert_str_eq(s, "answered");
	sb_value_free(res);
	sbt_ok("the call after the restart", sb_wait(c, after, 30000, &res, &err),
	    err);
	pid1 = sup_int(res);
	sb_value_free(res);
	ck_assert_msg(pid1 != pid0, "the call after the restart ran in the "
	    "worker that was going");
	ck_assert_int_eq(sup_pid(c, "restart-busy"), pid1);
	sup_close(c, "restart-busy");
	sb_client_close(c);
}
END_TEST

/* As nobody: each admin method is PermissionDenied; the rest works. */
static int
nobody_admin(void *arg, char *why, size_t len)
{
	const char	*methods[] = { "reload", "shutdown",
	    "worker.restart" };
	sb_client	*c = NULL;
	sb_value	*params, *r = NULL;
	sb_error	*err = NULL;
	size_t		 i;
	int		 rc;

	rc = sb_client_connect(sbt_d.socket, &c);
	SUP_CHECK(rc == 0, "connect as nobody: %s", sb_strerror(rc));
	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		params = i == 2 ? sup_args("s", "default") : NULL;
		rc = sb_request(c, methods[i], params, &r, &err);
		sb_value_free(params);
		SUP_CHECK(rc == SB_EREMOTE && strcmp(sb_error_type(err),
		    "snakebridge.PermissionDenied") == 0, "%s as nobody: rc "
		    "%d %s", methods[i], rc, err ? sb_error_type(err) : "");
		sb_error_free(err);
		err = NULL;
	}
	SUP_CHECK(sb_ping(c, NULL) == 0, "ping as nobody failed");
	SUP_CHECK(sb_status(c, &r, NULL) == 0, "status as nobody failed");
	sb_value_free(r);
	sb_client_close(c);
	return (0);
fail:
	sb_error_free(err);
	sb_client_close(c);
	return (-1);
}

START_TEST(test_admin_denied)
{
	sb_client	*c;
	int64_t		 pid0;

	c = sbt_connect(&sbt_d);
	pid0 = sup_worker_pid(c, "default", 0);
	sup_as_nobody(nobody_admin, NULL);
	ck_assert(sbt_daemon_alive(&sbt_d));
	ck_assert_int_eq(sup_worker_pid(c, "default", 0), pid0);
	sb_client_close(c);
}
END_TEST

START_TEST(test_sbctl_admin)
{
	sb_client	*c = sbt_connect(&sbt_d);
	char		*out, *err;
	int64_t		 pid0, pid1, deadline;
	int		 code;

	code = sup_sbctl(&out, &err, "reload", NULL);
	ck_assert_msg(code == 0 && strcmp(out, "true\n") == 0,
	    "sbctl reload: exit %d: %s %s", code, out, err);
	free(out);
	free(err);
	pid0 = sup_worker_pid(c, "default", 1);
	code = sup_sbctl(&out, &err, "restart", "default", NULL);
	ck_assert_msg(code == 0 && strcmp(out, "true\n") == 0,
	    "sbctl restart default: exit %d: %s %s", code, out, err);
	free(out);
	free(err);
	deadline = sbt_now_ms() + 10000;
	do {
		sup_sleep_ms(100);
		pid1 = sup_worker_pid(c, "default", 1);
	} while ((pid1 == pid0 || pid1 <= 0) && sbt_now_ms() < deadline);
	ck_assert_msg(pid1 != pid0 && pid1 > 0, "sbctl restart default did "
	    "not restart slot 1");
	sb_client_close(c);
}
END_TEST

/* The pids of every worker in status. */
static size_t
worker_pids(sb_client *c, pid_t *pids, size_t max)
{
	sb_value	*st = sup_status(c);
	const sb_value	*pools = sb_map_get(st, "pools"), *ws;
	size_t		 i, j, n = 0;
	int64_t		 pid;

	for (i = 0; i < sb_value_len(pools); i++) {
		ws = sb_map_get(sb_value_item(pools, i), "workers");
		for (j = 0; j < sb_value_len(ws) && n < max; j++) {
			pid = sup_map_int(sb_value_item(ws, j), "pid", -1);
			if (pid > 0)
				pids[n++] = (pid_t)pid;
		}
	}
	sb_value_free(st);
	return (n);
}

/* Wait up to ms for every pid to be gone; the first alive one, or 0. */
static pid_t
wait_all_gone(const pid_t *pids, size_t n, int ms)
{
	int64_t	 deadline = sbt_now_ms() + ms;
	size_t	 i;

	for (;;) {
		for (i = 0; i < n && !sup_proc_alive(pids[i]); i++)
			;
		if (i == n)
			return (0);
		if (sbt_now_ms() >= deadline)
			return (pids[i]);
		sup_sleep_ms(20);
	}
}

/* Wait up to ms for a private daemon to exit; its wait status, or -1. */
static int
reap_daemon(struct sbt_daemon *d, int ms)
{
	int64_t	 deadline = sbt_now_ms() + ms;
	int	 status;

	while (waitpid(d->pid, &status, WNOHANG) != d->pid) {
		if (sbt_now_ms() >= deadline) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			d->pid = 0;
			return (-1);
		}
		sup_sleep_ms(20);
	}
	d->pid = 0;
	return (status);
}

START_TEST(test_sigterm)
{
	struct sbt_daemon d;
	sb_client	*a, *b, *c;
	sb_value	*args = sup_args("f", 4.0), *r = NULL;
	sb_error	*err = NULL;
	sb_pending	*pa, *pb;
	struct sb_opts	 o;
	pid_t		 pids[16], left;
	size_t		 n;
	int		 status, rca, rcb;

	/* The running call's 4 s fit well within the grace it has. */
	sup_private_start(&d, "[timeouts]\ngrace = 10s\n\n"
	    "[pool solo]\nsize = 1\npath = @FIX@\n");
	a = sbt_connect(&d);
	b = sbt_connect(&d);
	c = sbt_connect(&d);
	n = worker_pids(a, pids, 16);
	sb_opts_init(&o);
	o.pool = "solo";
	/* One call running, one queued behind it. */
	ck_assert_int_eq(sb_call_async(a, "sbsuper", "slow", args, NULL, &o,
	    &pa), 0);
	sb_client_poll(a, 0);
	sup_wait_pool_load(c, "solo", 1, 0);
	ck_assert_int_eq(sb_call_async(b, "sbsuper", "pid", NULL, NULL, &o,
	    &pb), 0);
	sb_client_poll(b, 0);
	sup_wait_pool_load(c, "solo", 1, 1);
	kill(d.pid, SIGTERM);
	rcb = sb_wait(b, pb, 10000, &r, &err);
	if (rcb == SB_EAGAIN)
		sb_pending_free(b, pb);
	sb_value_free(r);
	r = NULL;
	rca = sb_wait(a, pa, 10000, &r, NULL);
	if (rca == SB_EAGAIN)
		sb_pending_free(a, pa);
	sb_value_free(r);
	status = reap_daemon(&d, 15000);
	left = wait_all_gone(pids, n, 1000);
	sb_client_close(a);
	sb_client_close(b);
	sb_client_close(c);
	sbt_daemon_stop(&d);
	sb_value_free(args);
	ck_assert_msg(rcb == SB_EREMOTE && strcmp(sb_error_type(err),
	    "snakebridge.ShuttingDown") == 0, "the queued call: rc %d %s", rcb,
	    err != NULL ? sb_error_type(err) : "");
	sb_error_free(err);
	ck_assert_msg(rca == 0, "the running call did not finish: rc %d", rca);
	ck_assert_msg(status != -1, "snakebridged still ran 15 s after "
	    "SIGTERM");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "snakebridged ended with status 0x%x", status);
	ck_assert_msg(n >= 3, "only %zu workers seen", n);
	ck_assert_msg(left == 0, "worker %ld outlived the daemon", (long)left);
}
END_TEST

START_TEST(test_sigkill)
{
	struct sbt_daemon d;
	sb_client	*c;
	pid_t		 pids[16], left;
	size_t		 n;

	sup_private_start(&d, "");
	c = sbt_connect(&d);
	ck_assert_int_gt(sup_pid(c, NULL), 0);
	n = worker_pids(c, pids, 16);
	sb_client_close(c);
	kill(d.pid, SIGKILL);
	reap_daemon(&d, 5000);
	left = wait_all_gone(pids, n, 1000);
	if (left != 0) {
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
	}
	sbt_daemon_stop(&d);
	ck_assert_msg(n == 2, "%zu workers seen", n);
	ck_assert_msg(left == 0, "worker %ld alive 1 s after the daemon was "
	    "killed", (long)left);
}
END_TEST

START_TEST(test_config_check)
{
	char	*err;
	int	 code;

	code = sbt_config_check("[daemon]\nlog_level = info\n\n[sessions]\n"
	    "idle_timeout = 5m\n\n[pool gpu]\nsize = 1\n", &err);
	ck_assert_msg(code == 0, "a good config: exit %d: %s", code, err);
	free(err);
	code = sbt_config_check("[daemon]\nlog_level = info\n\n[sessions]\n"
	    "idle_timeout = 5m\n\n[pool gpu]\nsize = many\n", &err);
	ck_assert_msg(code != 0, "a bad config passed the check");
	ck_assert_msg(strstr(err, ":8:") != NULL || strstr(err, "line 8") !=
	    NULL, "the error does not name line 8: %s", err);
	free(err);
	code = sbt_config_check("[sessions]\nfrobnicate = 1\n", &err);
	ck_assert_msg(code != 0 && (strstr(err, ":2:") != NULL ||
	    strstr(err, "line 2") != NULL), "an unknown key: exit %d: %s",
	    code, err);
	free(err);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("reload");
	TCase	*tc;

	tc = sup_tcase(s, "reload", setup_reload, 90);
	tcase_add_test(tc, test_reload_sighup);
	tcase_add_test(tc, test_reload_method);
	tcase_add_test(tc, test_reload_broken);
	tcase_add_test(tc, test_worker_restart);
	tcase_add_test(tc, test_worker_restart_busy);
	tcase_add_test(tc, test_admin_denied);
	tcase_add_test(tc, test_sbctl_admin);

	tc = sup_tcase(s, "lifecycle", NULL, 90);
	tcase_add_test(tc, test_sigterm);
	tcase_add_test(tc, test_sigkill);
	tcase_add_test(tc, test_config_check);
	return (sup_run_suite(s));
}
