/*
 * check_observe.c: running as a service and being watched: sd_notify
 * messages on a test NOTIFY_SOCKET (READY, STATUS, WATCHDOG, RELOADING,
 * STOPPING), socket activation through systemd-socket-activate, log
 * destinations (journal priority prefixes, -v -v request traces), and what
 * sbctl shows: the status table, Prometheus stats and the event stream.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

#define OBS_WAIT_MS	15000	/* bound on every wait below */

/* How to start a daemon of this suite. */
struct obs_spawn {
	const char	*extra_config;
	int		 notify;	/* bind DIR/notify.sock, pass it */
	int		 watchdog;	/* WATCHDOG_USEC and WATCHDOG_PID */
	int		 journal;	/* JOURNAL_STREAM: 1 ours, -1 not */
	int		 activate;	/* under systemd-socket-activate */
	const char	*verbose;	/* "-v", "-vv" or NULL */
};

struct obs_daemon {
	struct sbt_daemon	 d;
	int			 nfd;		/* notify socket, -1 */
	char			 notes[16384];	/* datagrams, "\n"-joined */
	size_t			 nnotes;
};

static struct obs_daemon obs;

/* A config file in d->dir: one worker, the fixtures, the test's extra. */
static int
obs_write_config(struct sbt_daemon *d, const char *extra)
{
	FILE	*f;

	if ((f = fopen(d->config, "w")) == NULL)
		return (-1);
	fprintf(f, "[daemon]\nsocket = %s\n\n[pool default]\nsize = 1\n"
	    "path = %s\n\n%s\n", d->socket, sbt_srcdir_path("tests/fixtures"),
	    extra != NULL ? extra : "");
	return (fclose(f) == 0 ? 0 : -1);
}

/* DIR/name into buf (PATH_MAX bytes). */
static void
obs_path(char *buf, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", obs.d.dir, name);

	ck_assert(n > 0 && n < PATH_MAX);
}

static int
obs_bind_notify(struct obs_daemon *o, char *path)
{
	struct sockaddr_un	 sun;
	int			 n;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (n < 0 || (size_t)n >= sizeof sun.sun_path)
		return (-1);
	if ((o->nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	return (bind(o->nfd, (struct sockaddr *)&sun, sizeof sun));
}

/* In the child: stderr to the log, the environment, then exec. */
static void __attribute__((noreturn))
obs_child(struct obs_daemon *o, const struct obs_spawn *sp, const char *npath)
{
	const char	*daemon = sbt_builddir_path("daemon/snakebridged");
	char		*argv[16], buf[64];
	struct stat	 st;
	int		 fd, n = 0;

	signal(SIGPIPE, SIG_DFL);
	if ((fd = open("/dev/null", O_RDONLY)) != -1 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	if ((fd = open(o->d.log, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	close_range(3, ~0U, 0);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	unsetenv("JOURNAL_STREAM");
	if (sp->notify)
		setenv("NOTIFY_SOCKET", npath, 1);
	if (sp->watchdog) {
		setenv("WATCHDOG_USEC", "200000", 1);
		snprintf(buf, sizeof buf, "%d", (int)getpid());
		setenv("WATCHDOG_PID", buf, 1);
	}
	if (sp->journal != 0 && fstat(2, &st) == 0) {
		snprintf(buf, sizeof buf, "%llu:%llu",
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino + (sp->journal < 0));
		setenv("JOURNAL_STREAM", buf, 1);
	}
	if (sp->activate) {
		argv[n++] = "systemd-socket-activate";
		argv[n++] = "-l";
		argv[n++] = o->d.socket;
	}
	argv[n++] = (char *)daemon;
	argv[n++] = "-d";
	argv[n++] = "-f";
	argv[n++] = o->d.config;
	if (sp->verbose != NULL)
		argv[n++] = (char *)sp->verbose;
	argv[n] = NULL;
	if (sp->activate)
		execvp(argv[0], argv);
	else
		execv(daemon, argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Start obs's daemon as sp says; the test fails if it does not answer. */
static void
obs_start(const struct obs_spawn *sp)
{
	struct sbt_daemon	*d = &obs.d;
	char			 npath[PATH_MAX];
	struct sbt_raw		 raw;
	int64_t			 deadline;
	char			*log;

	memset(&obs, 0, sizeof obs);
	obs.nfd = -1;
	signal(SIGPIPE, SIG_IGN);
	snprintf(d->dir, sizeof d->dir, "/tmp/sbo-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	obs_path(d->socket, "sb.sock");
	obs_path(d->config, "snakebridged.conf");
	obs_path(d->log, "daemon.log");
	obs_path(npath, "notify.sock");
	ck_assert_int_eq(obs_write_config(d, sp->extra_config), 0);
	if (sp->notify)
		ck_assert_int_eq(obs_bind_notify(&obs, npath), 0);
	fflush(NULL);
	ck_assert_int_ne(d->pid = fork(), -1);
	if (d->pid == 0)
		obs_child(&obs, sp, npath);
	deadline = sbt_now_ms() + SBT_START_TIMEOUT_MS;
	while (sbt_now_ms() < deadline && sbt_daemon_alive(d)) {
		if ((raw.fd = sbt_raw_connect(d)) != -1) {
			msgpack_unpacker_init(&raw.unp, 65536);
			msgpack_unpacked_init(&raw.msg);
			if (sbt_raw_ping(&raw, 1) == 0) {
				sbt_raw_close(&raw);
				sbt_daemon_track(d);
				return;
			}
			sbt_raw_close(&raw);
		}
		usleep(50000);
	}
	log = sbt_daemon_log(d);
	ck_abort_msg("the daemon did not answer a ping; its log:\n%s", log);
}

static void
obs_stop(void)
{
	int rc = sbt_daemon_stop(&obs.d);

	ck_assert_msg(rc == 0, "the daemon did not stop cleanly");
}

#ifdef HAVE_SYSTEMD
/* Read datagrams into obs.notes until one contains text; 1 if it came. */
static int
obs_notify_wait(const char *text, int timeout_ms)
{
	int64_t		 deadline = sbt_now_ms() + timeout_ms;
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 left;

	for (;;) {
		obs.notes[obs.nnotes] = '\0';
		if (strstr(obs.notes, text) != NULL)
			return (1);
		if ((left = (int)(deadline - sbt_now_ms())) <= 0)
			return (0);
		pfd.fd = obs.nfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		if (obs.nnotes + 2 >= sizeof obs.notes)
			obs.nnotes = 0;		/* keep the newest */
		n = recv(obs.nfd, obs.notes + obs.nnotes,
		    sizeof obs.notes - obs.nnotes - 2, 0);
		if (n > 0) {
			obs.nnotes += (size_t)n;
			obs.notes[obs.nnotes++] = '\n';
		}
	}
}

#endif

/* How many times text occurs in s. */
static int
obs_count(const char *s, const char *text)
{
	int n = 0;

	while ((s = strstr(s, text)) != NULL) {
		n++;
		s += strlen(text);
	}
	return (n);
}

/* A call of math.sqrt(x) through libsbclient; the result as a double. */
static double
obs_sqrt(double x)
{
	sb_client	*c = sbt_connect(&obs.d);
	sb_value	*args, *res = NULL;
	sb_error	*err = NULL;
	double		 d = -1;
	int		 rc;

	args = sb_list_new();
	sb_list_append(args, sb_float(x));
	rc = sb_call(c, "math", "sqrt", args, NULL, NULL, &res, &err);
	sbt_ok("math.sqrt", rc, err);
	ck_assert_int_eq(sb_value_get_float(res, &d), 0);
	sb_value_free(args);
	sb_value_free(res);
	sb_client_close(c);
	return (d);
}

/* math.sqrt(-1) on client c: a ValueError. */
static void
obs_sqrt_fails(sb_client *c)
{
	sb_value	*args, *res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	args = sb_list_new();
	sb_list_append(args, sb_float(-1));
	rc = sb_call(c, "math", "sqrt", args, NULL, NULL, &res, &err);
	sbt_expect_error("math.sqrt(-1)", rc, err, "ValueError");
	sb_error_free(err);
	sb_value_free(args);
}

/* Run sbctl -s SOCK args...; its stdout (caller frees). */
static char *
obs_sbctl(const char *a1, const char *a2)
{
	char	 sbctl[PATH_MAX], *out = NULL, *err = NULL;
	char	*argv[] = { sbctl, "-s", obs.d.socket, (char *)a1, (char *)a2,
		    NULL };
	int	 code = -1;

	snprintf(sbctl, sizeof sbctl, "%s", sbt_builddir_path("sbctl/sbctl"));
	ck_assert_int_eq(sbt_run(argv, &out, &err, &code, 0), 0);
	ck_assert_msg(code == 0, "sbctl %s: exit %d: %s", a1, code, err);
	free(err);
	return (out);
}

#ifdef HAVE_SYSTEMD
START_TEST(test_notify)
{
	static const struct obs_spawn sp = { .notify = 1, .watchdog = 1 };
	int64_t	 deadline;
	int	 pings = 0;

	obs_start(&sp);
	ck_assert_msg(obs_notify_wait("READY=1", OBS_WAIT_MS), "no READY=1: "
	    "%s", obs.notes);
	/* ready means every pool has a ready worker, and says so */
	ck_assert_msg(strstr(obs.notes, "STATUS=1/1 workers ready") != NULL,
	    "status before READY: %s", obs.notes);
	/* WATCHDOG_USEC 200 ms: pings every 100 ms */
	deadline = sbt_now_ms() + OBS_WAIT_MS;
	while (pings < 3 && sbt_now_ms() < deadline) {
		obs.nnotes = 0;
		if (obs_notify_wait("WATCHDOG=1", 1000))
			pings++;
	}
	ck_assert_int_ge(pings, 3);
	obs.nnotes = 0;
	ck_assert_int_eq(kill(obs.d.pid, SIGHUP), 0);
	ck_assert_msg(obs_notify_wait("RELOADING=1\nMONOTONIC_USEC=",
	    OBS_WAIT_MS), "no RELOADING=1: %s", obs.notes);
	ck_assert_msg(obs_notify_wait("READY=1", OBS_WAIT_MS), "no READY=1 "
	    "after the reload: %s", obs.notes);
	ck_assert_double_eq(obs_sqrt(16), 4.0);
	obs.nnotes = 0;
	obs_stop();
	ck_assert_msg(obs_notify_wait("STOPPING=1", OBS_WAIT_MS),
	    "no STOPPING=1: %s", obs.notes);
	close(obs.nfd);
}
END_TEST

/* STATUS= follows the calls, at most once a second. */
START_TEST(test_notify_status)
{
	static const struct obs_spawn sp = { .notify = 1 };

	obs_start(&sp);
	ck_assert(obs_notify_wait("READY=1", OBS_WAIT_MS));
	ck_assert_double_eq(obs_sqrt(9), 3.0);
	ck_assert_msg(obs_notify_wait("1 calls", OBS_WAIT_MS),
	    "no STATUS= with the call: %s", obs.notes);
	ck_assert_msg(obs_count(obs.notes, "WATCHDOG=1") == 0,
	    "watchdog pings without WATCHDOG_USEC");
	obs_stop();
	close(obs.nfd);
}
END_TEST

START_TEST(test_socket_activation)
{
	static const struct obs_spawn sp = { .activate = 1 };
	char *log;

	obs_start(&sp);
	ck_assert_double_eq(obs_sqrt(16), 4.0);
	log = sbt_daemon_log(&obs.d);
	ck_assert_msg(strstr(log, "listening on") != NULL, "log: %s", log);
	free(log);
	obs_stop();
}
END_TEST
#endif

START_TEST(test_trace)
{
	static const struct obs_spawn quiet = { 0 };
	static const struct obs_spawn loud = { .verbose = "-vv" };
	char	*log;
	int	 i, before;

	obs_start(&quiet);
	ck_assert_double_eq(obs_sqrt(4), 2.0);	/* the worker is up */
	log = sbt_daemon_log(&obs.d);
	before = obs_count(log, "\n");
	free(log);
	for (i = 0; i < 10; i++)
		ck_assert_double_eq(obs_sqrt(4), 2.0);
	log = sbt_daemon_log(&obs.d);
	ck_assert_msg(obs_count(log, "\n") - before < 3, "lines per call at "
	    "the default level:\n%s", log);
	ck_assert_msg(strstr(log, "trace:") == NULL, "%s", log);
	free(log);
	obs_stop();

	obs_start(&loud);
	ck_assert_double_eq(obs_sqrt(25), 5.0);
	ck_assert_msg(sbt_daemon_log_wait(&obs.d, ": call session ",
	    OBS_WAIT_MS), "no trace of the call");
	log = sbt_daemon_log(&obs.d);
	ck_assert_msg(strstr(log, "trace: request ") != NULL &&
	    strstr(log, " ms: ok") != NULL, "%s", log);
	free(log);
	obs_stop();
}
END_TEST

START_TEST(test_journal)
{
	static const struct obs_spawn journal = { .journal = 1 };
	static const struct obs_spawn other = { .journal = -1 };
	char *log;

	obs_start(&journal);
	log = sbt_daemon_log(&obs.d);
	ck_assert_msg(strncmp(log, "<6>snakebridged ", 16) == 0, "%s", log);
	free(log);
	obs_stop();

	/* a JOURNAL_STREAM that is not our stderr: plain foreground lines */
	obs_start(&other);
	log = sbt_daemon_log(&obs.d);
	ck_assert_msg(strstr(log, "info: snakebridged ") != NULL &&
	    strchr(log, '<') == NULL, "%s", log);
	free(log);
	obs_stop();
}
END_TEST

START_TEST(test_status_table)
{
	static const struct obs_spawn sp = { 0 };
	char *out;

	obs_start(&sp);
	ck_assert_double_eq(obs_sqrt(4), 2.0);
	out = obs_sbctl("status", NULL);
	ck_assert_msg(strstr(out, "daemon    snakebridged ") != NULL &&
	    strstr(out, "POOL") != NULL && strstr(out, "RSS") != NULL &&
	    strstr(out, "LAST EXIT") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\ndefault ") != NULL &&
	    strstr(out, " idle ") != NULL, "%s", out);
	free(out);
	out = obs_sbctl("status", "--json");
	ck_assert_msg(out[0] == '{' && strstr(out, "\"pools\": [") != NULL &&
	    strstr(out, "\"uptime\"") != NULL, "%s", out);
	free(out);
	obs_stop();
}
END_TEST

/* The value of the sample named exactly `name` (with labels), or -1. */
static double
obs_sample(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return (strtod(p + n + 1, NULL));
		p += n;
	}
	return (-1);
}

START_TEST(test_prometheus)
{
	static const struct obs_spawn sp = { 0 };
	static const char *const call_ok =
	    "snakebridge_calls_total{method=\"call\",outcome=\"ok\"}";
	regex_t	 re;
	char	*out, *line, *save;
	double	 before;
	int	 i, lines = 0;

	ck_assert_int_eq(regcomp(&re, "^[a-zA-Z_:][a-zA-Z0-9_:]*"
	    "(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\\})? "
	    "(-?[0-9.]+(e[-+]?[0-9]+)?|\\+Inf|-Inf|NaN)$", REG_EXTENDED |
	    REG_NOSUB), 0);
	obs_start(&sp);
	ck_assert_double_eq(obs_sqrt(4), 2.0);
	out = obs_sbctl("stats", "--prometheus");
	before = obs_sample(out, call_ok);
	ck_assert_msg(before >= 1, "%s", out);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#') {
			ck_assert_msg(strncmp(line, "# HELP ", 7) == 0 ||
			    strncmp(line, "# TYPE ", 7) == 0, "%s", line);
			continue;
		}
		ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0,
		    "not a sample line: %s", line);
		lines++;
	}
	ck_assert_int_gt(lines, 10);
	free(out);
	for (i = 0; i < 3; i++)
		ck_assert_double_eq(obs_sqrt(4), 2.0);
	out = obs_sbctl("stats", "--prometheus");
	ck_assert_double_eq(obs_sample(out, call_ok), before + 3);
	ck_assert_msg(obs_sample(out, "snakebridge_request_duration_seconds_"
	    "count{method=\"call\"}") == before + 3, "%s", out);
	ck_assert_msg(obs_sample(out, "snakebridge_queue_wait_seconds_count")
	    >= before + 3, "%s", out);
	ck_assert_msg(obs_sample(out, "snakebridge_sessions_opened_total") >=
	    before + 3, "%s", out);
	ck_assert_msg(obs_sample(out, "snakebridge_worker_rss_bytes{pool="
	    "\"default\",slot=\"0\"}") >= 0, "%s", out);
	free(out);
	regfree(&re);
	obs_stop();
}
END_TEST

/* The number of event subscribers the daemon has, from stats. */
static double
obs_subscribers(void)
{
	char	*out = obs_sbctl("stats", "--prometheus");
	double	 n = obs_sample(out, "snakebridge_event_subscribers");

	free(out);
	return (n);
}

/* "sbctl events TYPE" in the background, its stdout in DIR/events.out. */
static pid_t
obs_events_start(const char *type)
{
	char	 path[PATH_MAX], sbctl[PATH_MAX];
	int64_t	 deadline;
	pid_t	 pid;
	int	 fd;

	obs_path(path, "events.out");
	snprintf(sbctl, sizeof sbctl, "%s", sbt_builddir_path("sbctl/sbctl"));
	fflush(NULL);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) !=
		    -1)
			dup2(fd, 1);
		execl(sbctl, "sbctl", "-s", obs.d.socket, "events", type,
		    (char *)NULL);
		_exit(127);
	}
	deadline = sbt_now_ms() + OBS_WAIT_MS;
	while (obs_subscribers() < 1 && sbt_now_ms() < deadline)
		usleep(50000);
	ck_assert_double_eq(obs_subscribers(), 1);
	return (pid);
}

/* The events printed so far once text is among them (caller frees). */
static char *
obs_events_wait(const char *text)
{
	int64_t	 deadline = sbt_now_ms() + OBS_WAIT_MS;
	char	 path[PATH_MAX], *out;
	FILE	*f;

	obs_path(path, "events.out");
	ck_assert_ptr_nonnull(out = calloc(1, 65536));
	while (sbt_now_ms() < deadline) {
		if ((f = fopen(path, "r")) != NULL) {
			out[fread(out, 1, 65535, f)] = '\0';
			fclose(f);
		}
		if (strstr(out, text) != NULL)
			return (out);
		usleep(50000);
	}
	ck_abort_msg("no %s among the events: %s", text, out);
	return (NULL);
}

/* Stop the background sbctl; the daemon forgets the subscriber. */
static void
obs_events_stop(pid_t pid)
{
	int64_t	 deadline;
	int	 status;

	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	deadline = sbt_now_ms() + OBS_WAIT_MS;
	while (obs_subscribers() > 0 && sbt_now_ms() < deadline)
		usleep(50000);
	ck_assert_double_eq(obs_subscribers(), 0);
}

START_TEST(test_events)
{
	static const struct obs_spawn sp = { 0 };
	sb_client	*c;
	char		*text;
	pid_t		 pid;

	obs_start(&sp);
	pid = obs_events_start("call");
	ck_assert_double_eq(obs_sqrt(49), 7.0);
	c = sbt_connect(&obs.d);
	obs_sqrt_fails(c);
	sb_client_close(c);
	text = obs_events_wait("call.exception");
	ck_assert_msg(strstr(text, " call.start request=") != NULL &&
	    strstr(text, " call.stop request=") != NULL &&
	    strstr(text, "method=call") != NULL &&
	    strstr(text, "duration_ms=") != NULL, "events: %s", text);
	ck_assert_msg(strstr(text, " call.exception request=") != NULL &&
	    strstr(text, "error=ValueError") != NULL, "events: %s", text);
	ck_assert_msg(strstr(text, "session.cleanup") == NULL,
	    "the filter let another type through: %s", text);
	free(text);
	obs_events_stop(pid);
	obs_stop();
}
END_TEST

/* Session cleanups and worker exits, in events and in stats. */
START_TEST(test_events_lifecycle)
{
	static const struct obs_spawn sp = { 0 };
	sb_client	*c;
	sb_value	*params, *res = NULL;
	sb_error	*err = NULL;
	char		*text, *out;
	pid_t		 pid;
	int		 rc;

	obs_start(&sp);
	pid = obs_events_start("");
	ck_assert_double_eq(obs_sqrt(36), 6.0);	/* its session ends */
	text = obs_events_wait("session.cleanup");
	free(text);
	c = sbt_connect(&obs.d);
	params = sb_list_new();
	sb_list_append(params, sb_str("default"));
	rc = sb_request(c, "worker.restart", params, &res, &err);
	sbt_ok("worker.restart", rc, err);
	sb_value_free(res);
	sb_value_free(params);
	sb_client_close(c);
	text = obs_events_wait("worker.exit");
	ck_assert_msg(strstr(text, "reason=restart") != NULL &&
	    strstr(text, "pool=default slot=0") != NULL, "%s", text);
	free(text);
	obs_events_stop(pid);
	out = obs_sbctl("stats", "--prometheus");
	ck_assert_msg(obs_sample(out, "snakebridge_worker_restarts_total"
	    "{reason=\"restart\"}") == 1, "%s", out);
	ck_assert_msg(obs_sample(out, "snakebridge_sessions_ended_total") >= 1,
	    "%s", out);
	free(out);
	obs_stop();
}
END_TEST

/*
 * A subscriber that does not read loses events, counted, rather than
 * growing the daemon; once it reads again it is told how many it lost.
 */
START_TEST(test_events_drop)
{
	static const struct obs_spawn sp = { 0 };
	const msgpack_object	*m, *ev;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	struct sbt_raw		 raw;
	sb_client		*c;
	sb_value		*args, *res;
	sb_error		*err;
	char			*out;
	int64_t			 deadline;
	int			 i, rc, got = 0;

	obs_start(&sp);
	sbt_raw_open(&obs.d, &raw);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbt_pack_request(&pk, 1, "events.subscribe", 1);
	msgpack_pack_array(&pk, 1);
	sbt_pack_str(&pk, "call");
	ck_assert_int_eq(sbt_raw_send_sbuf(&raw, &sb), 0);
	msgpack_sbuffer_destroy(&sb);
	deadline = sbt_now_ms() + OBS_WAIT_MS;
	while (obs_subscribers() < 1 && sbt_now_ms() < deadline)
		usleep(50000);
	c = sbt_connect(&obs.d);
	args = sb_list_new();
	sb_list_append(args, sb_float(4));
	for (i = 0; i < 6000; i++) {
		res = NULL;
		err = NULL;
		rc = sb_call(c, "math", "sqrt", args, NULL, NULL, &res, &err);
		sbt_ok("math.sqrt", rc, err);
		sb_value_free(res);
	}
	out = obs_sbctl("stats", "--prometheus");
	ck_assert_msg(obs_sample(out, "snakebridge_events_dropped_total") > 0,
	    "%s", out);
	free(out);
	/* catch up, then one more call: a "dropped" event comes first */
	while (sbt_raw_recv(&raw, 500, &m) == 1)
		;
	rc = sb_call(c, "math", "sqrt", args, NULL, NULL, &res, &err);
	sbt_ok("math.sqrt", rc, err);
	sb_value_free(res);
	while (!got && sbt_raw_recv(&raw, OBS_WAIT_MS, &m) == 1) {
		if (m->type != MSGPACK_OBJECT_ARRAY || m->via.array.size != 3)
			continue;
		ev = &m->via.array.ptr[2].via.array.ptr[0];
		if (sbt_obj_streq(sbt_obj_get(ev, "type"), "dropped")) {
			ck_assert(sbt_obj_get(ev, "count")->via.u64 > 0);
			got = 1;
		}
	}
	ck_assert_msg(got, "no dropped event");
	sb_value_free(args);
	sb_client_close(c);
	sbt_raw_close(&raw);
	obs_stop();
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("observe");
	TCase	*tc = tcase_create("service");

	tcase_set_timeout(tc, 120);
#ifdef HAVE_SYSTEMD
	/* without libsystemd the daemon neither notifies nor is activated */
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_notify_status);
	tcase_add_test(tc, test_socket_activation);
#endif
	tcase_add_test(tc, test_trace);
	tcase_add_test(tc, test_journal);
	suite_add_tcase(s, tc);
	tc = tcase_create("sbctl");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_status_table);
	tcase_add_test(tc, test_prometheus);
	tcase_add_test(tc, test_events);
	tcase_add_test(tc, test_events_drop);
	tcase_add_test(tc, test_events_lifecycle);
	suite_add_tcase(s, tc);
	return (sbt_run_suite(s));
}
