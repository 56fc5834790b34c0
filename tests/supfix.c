/*
 * supfix.c: shared pieces of the session and supervision suites (see
 * supfix.h): per-TCase daemons, sbsuper calls, status readers, /proc facts,
 * bounded waits and checks run as the user nobody.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "supfix.h"

#define SUP_CONFIG_MAX	16384
#define SUP_NOBODY_MS	60000
#define SUP_WAIT_MS	20000	/* bound of sup_wait_pool_load */

static int	sup_stop_failed;

/* text with every "@FIX@" replaced by the fixtures directory (static). */
static const char *
sup_expand(const char *text)
{
	static char	 buf[SUP_CONFIG_MAX];
	const char	*fix = sbt_srcdir_path("tests/fixtures"), *p, *at;
	size_t		 used = 0, n;

	for (p = text; (at = strstr(p, "@FIX@")) != NULL; p = at + 5) {
		n = at - p;
		ck_assert_msg(used + n + strlen(fix) < sizeof buf,
		    "config too long");
		memcpy(buf + used, p, n);
		used += n;
		memcpy(buf + used, fix, strlen(fix));
		used += strlen(fix);
	}
	ck_assert_msg(used + strlen(p) < sizeof buf, "config too long");
	memcpy(buf + used, p, strlen(p) + 1);
	return (buf);
}

void
sup_start(const char *text, int allow_crashes)
{
	if (sbt_daemon_start(&sbt_d, sup_expand(text)) == -1)
		ck_abort_msg("snakebridged did not start (its log is above)");
	sbt_d.allow_crashes = allow_crashes;
	chmod(sbt_d.dir, 0711);
}

void
sup_stop(void)
{
	if (sbt_daemon_stop(&sbt_d) == -1) {
		fprintf(stderr, "FAILED: snakebridged teardown (see above)\n");
		sup_stop_failed = 1;
	}
}

void
sup_private_start(struct sbt_daemon *d, const char *text)
{
	ck_assert_msg(sbt_daemon_start(d, sup_expand(text)) == 0,
	    "snakebridged did not start (its log is above)");
}

int
sup_run_suite(Suite *s)
{
	int	 rc;

	rc = sbt_run_suite(s);
	return (rc != 0 || sup_stop_failed ? 1 : 0);
}

TCase *
sup_tcase(Suite *s, const char *name, void (*setup)(void), int timeout_s)
{
	TCase	*tc = tcase_create(name);

	if (setup != NULL)
		tcase_add_unchecked_fixture(tc, setup, sup_stop);
	tcase_set_timeout(tc, timeout_s);
	suite_add_tcase(s, tc);
	return (tc);
}

sb_value *
sup_args(const char *types, ...)
{
	sb_value	*l = sb_list_new(), *v = NULL;
	va_list		 ap;

	ck_assert_ptr_nonnull(l);
	va_start(ap, types);
	for (; *types != '\0'; types++) {
		switch (*types) {
		case 'i':
			v = sb_int(va_arg(ap, int64_t));
			break;
		case 'f':
			v = sb_float(va_arg(ap, double));
			break;
		case 's':
			v = sb_str(va_arg(ap, const char *));
			break;
		case 'v':
			v = sb_value_copy(va_arg(ap, const sb_value *));
			break;
		default:
			ck_abort_msg("sup_args: bad type %c", *types);
		}
		ck_assert_int_eq(sb_list_append(l, v), 0);
	}
	va_end(ap);
	return (l);
}

int
sup_call(sb_client *c, const char *session, const char *pool,
    int64_t timeout_ms, const char *func, const sb_value *args,
    sb_value **result, sb_error **err)
{
	struct sb_opts	 o;

	sb_opts_init(&o);
	o.session = session;
	o.pool = pool;
	if (timeout_ms >= 0)
		o.timeout_ms = timeout_ms;
	return (sb_call(c, "sbsuper", func, args, NULL, &o, result, err));
}

sb_value *
sup_call_ok(sb_client *c, const char *session, const char *func,
    const sb_value *args)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	char		 what[128];

	snprintf(what, sizeof what, "sbsuper.%s", func);
	sbt_ok(what, sup_call(c, session, NULL, 30000, func, args, &r, &err),
	    err);
	return (r);
}

int64_t
sup_int(const sb_value *v)
{
	int64_t	 i = 0;

	ck_assert_msg(sb_value_get_int(v, &i) == 0, "not an int (type %d)",
	    (int)sb_value_type(v));
	return (i);
}

int64_t
sup_pid(sb_client *c, const char *session)
{
	sb_value	*r = sup_call_ok(c, session, "pid", NULL);
	int64_t		 pid = sup_int(r);

	sb_value_free(r);
	return (pid);
}

int64_t
sup_map_int(const sb_value *v, const char *key, int64_t def)
{
	int64_t	 i;

	if (sb_value_get_int(sb_map_get(v, key), &i) != 0)
		return (def);
	return (i);
}

/* Whether text holds word not followed by a name character. */
static int
sup_has_word(const char *text, const char *word)
{
	const char	*p;
	size_t		 n = strlen(word);
	char		 next;

	for (p = text; p != NULL && (p = strstr(p, word)) != NULL; p += n) {
		next = p[n];
		if (!(next == '_' || (next >= 'a' && next <= 'z')))
			return (1);
	}
	return (0);
}

int
sup_error_names(const sb_error *e, const char *word)
{
	const sb_value	*details, *limit;
	const char	*s;

	details = sb_map_get(sb_error_details(e), "details");
	limit = sb_map_get(details, "limit");
	if ((s = sb_value_str(limit, NULL)) != NULL && strcmp(s, word) == 0)
		return (1);
	return (sup_has_word(sb_error_message(e), word));
}

int64_t
sup_error_detail(const sb_error *e, const char *key, int64_t def)
{
	return (sup_map_int(sb_map_get(sb_error_details(e), "details"), key,
	    def));
}

sb_value *
sup_open(sb_client *c, const char *name, double idle, const char *pool)
{
	sb_value	*set = NULL, *r = NULL;
	sb_error	*err = NULL;

	if (idle >= 0 || pool != NULL) {
		ck_assert_ptr_nonnull(set = sb_map_new());
		if (idle >= 0)
			sb_map_set(set, sb_str("idle_timeout"), sb_float(idle));
		if (pool != NULL)
			sb_map_set(set, sb_str("pool"), sb_str(pool));
	}
	sbt_ok("session.open", sb_session_open(c, name, set, &r, &err), err);
	sb_value_free(set);
	return (r);
}

void
sup_close(sb_client *c, const char *name)
{
	sb_error	*err = NULL;

	sbt_ok("session.close", sb_session_close(c, name, &err), err);
}

void
sup_expect_no_session(sb_client *c, const char *name)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_session_info(c, name, &r, &err);
	sbt_expect_error("session.info", rc, err,
	    "snakebridge.SessionNotFound");
	sb_value_free(r);
	sb_error_free(err);
}

sb_value *
sup_make_thing(sb_client *c, const char *session, int64_t value)
{
	sb_value	*args = sup_args("i", value), *ref;

	ref = sup_call_ok(c, session, "make_thing", args);
	sb_value_free(args);
	ck_assert_int_eq(sb_value_type(ref), SB_REF);
	return (ref);
}

void
sup_expect_value(sb_client *c, const sb_value *ref, int64_t want)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;

	sbt_ok("attr value", sb_attr(c, ref, "value", NULL, &r, &err), err);
	ck_assert_int_eq(sup_int(r), want);
	sb_value_free(r);
}

int
sup_sbctl(char **out, char **err, const char *first, ...)
{
	char		 path[PATH_MAX];
	char		*argv[16];
	const char	*a;
	va_list		 ap;
	int		 code = -1, n = 0;

	snprintf(path, sizeof path, "%s", sbt_builddir_path("sbctl/sbctl"));
	argv[n++] = path;
	argv[n++] = "-s";
	argv[n++] = sbt_d.socket;
	va_start(ap, first);
	for (a = first; a != NULL && n < 15; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	ck_assert_msg(sbt_run(argv, out, err, &code, 0) == 0,
	    "sbctl %s did not finish", first);
	return (code);
}

sb_value *
sup_status(sb_client *c)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;

	sbt_ok("status", sb_status(c, &r, &err), err);
	return (r);
}

const sb_value *
sup_status_pool(const sb_value *status, const char *pool)
{
	const sb_value	*pools = sb_map_get(status, "pools"), *p;
	const char	*name;
	size_t		 i;

	for (i = 0; i < sb_value_len(pools); i++) {
		p = sb_value_item(pools, i);
		name = sb_value_str(sb_map_get(p, "name"), NULL);
		if (name != NULL && strcmp(name, pool) == 0)
			return (p);
	}
	return (NULL);
}

const sb_value *
sup_pool_worker(const sb_value *pool, int64_t slot)
{
	const sb_value	*ws = sb_map_get(pool, "workers"), *w;
	size_t		 i;

	for (i = 0; i < sb_value_len(ws); i++) {
		w = sb_value_item(ws, i);
		if (sup_map_int(w, "slot", -1) == slot)
			return (w);
	}
	return (NULL);
}

int64_t
sup_worker_pid(sb_client *c, const char *pool, int64_t slot)
{
	sb_value	*st = sup_status(c);
	int64_t		 pid;

	pid = sup_map_int(sup_pool_worker(sup_status_pool(st, pool), slot),
	    "pid", -1);
	sb_value_free(st);
	return (pid);
}

/* Workers of a pool map in state busy. */
static int64_t
sup_pool_busy(const sb_value *pool)
{
	const sb_value	*ws = sb_map_get(pool, "workers");
	const char	*state;
	size_t		 i;
	int64_t		 n = 0;

	for (i = 0; i < sb_value_len(ws); i++) {
		state = sb_value_str(sb_map_get(sb_value_item(ws, i), "state"),
		    NULL);
		n += state != NULL && strcmp(state, "busy") == 0;
	}
	return (n);
}

/*
 * Wait (bounded) until pool has at least busy workers busy and queue
 * requests queued, or when idle is set, at most that many.
 */
static void
sup_wait_pool(sb_client *c, const char *pool, int64_t busy, int64_t queue,
    int idle)
{
	int64_t		 deadline = sbt_now_ms() + SUP_WAIT_MS, nbusy, nqueue;
	sb_value	*st;
	const sb_value	*p;
	int		 met;

	for (;;) {
		st = sup_status(c);
		p = sup_status_pool(st, pool);
		nbusy = sup_pool_busy(p);
		nqueue = sup_map_int(p, "queue", -1);
		sb_value_free(st);
		met = idle ? nqueue >= 0 && nbusy <= busy && nqueue <= queue :
		    nbusy >= busy && nqueue >= queue;
		if (met || sbt_now_ms() >= deadline)
			break;
		sup_sleep_ms(20);
	}
	ck_assert_msg(met, "pool %s: %lld busy and %lld queued, want %s "
	    "%lld and %lld", pool, (long long)nbusy, (long long)nqueue,
	    idle ? "at most" : "at least", (long long)busy, (long long)queue);
}

void
sup_wait_pool_load(sb_client *c, const char *pool, int64_t busy,
    int64_t queue)
{
	sup_wait_pool(c, pool, busy, queue, 0);
}

void
sup_wait_pool_idle(sb_client *c, const char *pool)
{
	sup_wait_pool(c, pool, 0, 0, 1);
}

const sb_value *
sup_find_key(const sb_value *v, const char *key)
{
	const sb_value	*found;
	const char	*k;
	size_t		 i;

	if (sb_value_type(v) == SB_MAP) {
		for (i = 0; i < sb_value_len(v); i++) {
			k = sb_value_str(sb_map_key(v, i), NULL);
			if (k != NULL && strcmp(k, key) == 0)
				return (sb_map_value(v, i));
		}
		for (i = 0; i < sb_value_len(v); i++) {
			if ((found = sup_find_key(sb_map_value(v, i), key)) !=
			    NULL)
				return (found);
		}
	} else if (sb_value_type(v) == SB_LIST) {
		for (i = 0; i < sb_value_len(v); i++) {
			if ((found = sup_find_key(sb_value_item(v, i), key)) !=
			    NULL)
				return (found);
		}
	}
	return (NULL);
}

/* The fields of /proc/PID/stat after the command name, or -1. */
static int
sup_proc_stat(pid_t pid, char *buf, size_t len, char **rest)
{
	char	 path[64], *p;
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	*rest = p + 1;
	return (0);
}

int
sup_proc_alive(pid_t pid)
{
	char	 buf[1024], *rest, state;

	if (pid <= 0 || sup_proc_stat(pid, buf, sizeof buf, &rest) == -1)
		return (0);
	if (sscanf(rest, " %c", &state) != 1)
		return (0);
	return (state != 'Z' && state != 'X');
}

int64_t
sup_proc_cpu(pid_t pid)
{
	char		 buf[1024], *rest;
	unsigned long	 ut, st;

	if (sup_proc_stat(pid, buf, sizeof buf, &rest) == -1)
		return (-1);
	/*
	 * state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt, then utime and stime.
	 */
	if (sscanf(rest, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return (-1);
	return ((int64_t)(ut + st));
}

void
sup_sleep_ms(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
sup_exists(const char *path)
{
	struct stat	 st;

	return (stat(path, &st) == 0);
}

/* Wait up to timeout_ms for path to exist (or not); 1 once it does. */
static int
sup_wait_path(const char *path, int exists, int timeout_ms)
{
	int64_t	 deadline = sbt_now_ms() + timeout_ms;

	while (sup_exists(path) != exists) {
		if (sbt_now_ms() >= deadline)
			return (0);
		sup_sleep_ms(50);
	}
	return (1);
}

int
sup_wait_gone(const char *path, int timeout_ms)
{
	return (sup_wait_path(path, 0, timeout_ms));
}

int
sup_wait_exists(const char *path, int timeout_ms)
{
	return (sup_wait_path(path, 1, timeout_ms));
}

/* In the forked child: become nobody, run fn, report through fd. */
static void __attribute__((noreturn))
sup_nobody_child(int fd, sup_nobody_fn fn, void *arg)
{
	char	 why[2048];
	int	 rc;

	why[0] = '\0';
	if (setgroups(0, NULL) == -1 || setgid(SUP_NOBODY) == -1 ||
	    setuid(SUP_NOBODY) == -1) {
		snprintf(why, sizeof why, "cannot become uid %d: %s",
		    SUP_NOBODY, strerror(errno));
		rc = -1;
	} else
		rc = fn(arg, why, sizeof why);
	if (rc != 0 && write(fd, why, strlen(why)) == -1)
		rc = -1;
	_exit(rc == 0 ? 0 : 1);
}

void
sup_as_nobody(sup_nobody_fn fn, void *arg)
{
	char		 why[2048];
	struct pollfd	 pfd;
	int64_t		 deadline;
	size_t		 len = 0;
	ssize_t		 n;
	int		 p[2], status = 0, done = 0;
	pid_t		 pid;

	ck_assert_int_eq(pipe(p), 0);
	fflush(NULL);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(p[0]);
		sup_nobody_child(p[1], fn, arg);
	}
	close(p[1]);
	deadline = sbt_now_ms() + SUP_NOBODY_MS;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (!done && sbt_now_ms() < deadline) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(p[0], why + len, sizeof why - 1 - len);
		if (n > 0)
			len += n;
		else if (n == 0 || errno != EINTR)
			done = 1;
		if (len == sizeof why - 1)
			done = 1;
	}
	why[len] = '\0';
	close(p[0]);
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("the check as nobody ran longer than %d ms",
		    SUP_NOBODY_MS);
	}
	waitpid(pid, &status, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "as nobody: %s (status 0x%x)", len > 0 ? why : "failed", status);
}
