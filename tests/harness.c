/*
 * harness.c: the integration suites' daemon fixture, connections (libsbclient
 * and raw msgpack), worker process tracking through /proc, and running
 * commands with a deadline.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SBT_WORKER_COMM	"snakebridge-wor"	/* comm is cut to 15 bytes */
#define SBT_LEAVE_GRACE_MS 3000			/* workers dying after the daemon */

struct sbt_daemon sbt_d;
static const char *sbt_fixture_config;
static int sbt_teardown_failed;

static int	sbt_wait_exit(pid_t, int timeout_ms, int *status);

int64_t
sbt_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
sbt_sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Join $var (or fallback) and rel into one of a few rotating buffers. */
static const char *
sbt_env_path(const char *var, const char *fallback, const char *rel)
{
	static char	 bufs[4][PATH_MAX];
	static int	 next;
	const char	*base;
	char		*buf;

	base = getenv(var);
	if (base == NULL || *base == '\0')
		base = fallback;
	buf = bufs[next];
	next = (next + 1) % 4;
	snprintf(buf, PATH_MAX, "%s/%s", base, rel);
	return (buf);
}

const char *
sbt_builddir_path(const char *rel)
{
	return (sbt_env_path("SB_BUILDDIR", "..", rel));
}

const char *
sbt_srcdir_path(const char *rel)
{
	return (sbt_env_path("SB_SRCDIR", "..", rel));
}

/* Read a whole file into a NUL-terminated string; never NULL. */
static char *
sbt_read_file(const char *path)
{
	FILE	*f;
	char	*buf;
	size_t	 len = 0, size = 4096, n;

	if ((buf = malloc(size)) == NULL)
		abort();
	if ((f = fopen(path, "r")) != NULL) {
		while ((n = fread(buf + len, 1, size - len - 1, f)) > 0) {
			len += n;
			if (size - len - 1 == 0) {
				size *= 2;
				if ((buf = realloc(buf, size)) == NULL)
					abort();
			}
		}
		fclose(f);
	}
	buf[len] = '\0';
	return (buf);
}

char *
sbt_daemon_log(const struct sbt_daemon *d)
{
	return (sbt_read_file(d->log));
}

int
sbt_daemon_log_wait(const struct sbt_daemon *d, const char *text,
    int timeout_ms)
{
	int64_t	 deadline = sbt_now_ms() + timeout_ms;
	char	*log;
	int	 found;

	for (;;) {
		log = sbt_daemon_log(d);
		found = strstr(log, text) != NULL;
		free(log);
		if (found || sbt_now_ms() >= deadline)
			return (found);
		sbt_sleep_ms(50);
	}
}

/* Print the daemon's log to stderr, framed so it stands out. */
static void
sbt_dump_log(const struct sbt_daemon *d, const char *why)
{
	char	*log = sbt_daemon_log(d);

	fprintf(stderr, "\n==== snakebridged: %s\n==== log %s:\n%s"
	    "==== end of log\n", why, d->log, log);
	free(log);
}

static int
sbt_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	if (flag == FTW_DP)
		return (rmdir(path));
	return (unlink(path));
}

static void
sbt_remove_dir(struct sbt_daemon *d)
{
	if (d->dir[0] != '\0')
		nftw(d->dir, sbt_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = '\0';
}

static int
sbt_write_config(struct sbt_daemon *d, const char *extra)
{
	FILE	*f;

	if ((f = fopen(d->config, "w")) == NULL)
		return (-1);
	/* No worker path: the daemon finds the one of its build tree. */
	fprintf(f, "[daemon]\nsocket = %s\nlog_level = debug\n\n"
	    "[pool default]\nsize = 2\npath = %s\n\n%s\n", d->socket,
	    sbt_srcdir_path("tests/fixtures"), extra != NULL ? extra : "");
	return (fclose(f) == 0 ? 0 : -1);
}

/* In a forked child before exec: default signals, stdin from /dev/null. */
static void
sbt_child_reset(void)
{
	sigset_t	 none;
	int		 fd;

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((fd = open("/dev/null", O_RDONLY)) != -1 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
}

/* In the forked child: become snakebridged with stderr to the log. */
static void
sbt_exec_daemon(const struct sbt_daemon *d, const char *path)
{
	int	 fd;

	sbt_child_reset();
	if ((fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	/* Nothing of the test runner leaks into the daemon. */
	close_range(3, ~0U, 0);
	execl(path, "snakebridged", "-d", "-f", d->config, (char *)NULL);
	fprintf(stderr, "harness: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* Kill a started daemon hard and forget it (start failed). */
static void
sbt_daemon_abandon(struct sbt_daemon *d, const char *why)
{
	int	 status;

	sbt_dump_log(d, why);
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		sbt_wait_exit(d->pid, 5000, &status);
	}
	d->pid = 0;
	sbt_remove_dir(d);
}

/* DIR/name into buf (PATH_MAX bytes); -1 if it does not fit. */
static int
sbt_dir_path(const struct sbt_daemon *d, const char *name, char *buf)
{
	int	 n;

	n = snprintf(buf, PATH_MAX, "%s/%s", d->dir, name);
	return (n < 0 || n >= PATH_MAX ? -1 : 0);
}

int
sbt_daemon_start(struct sbt_daemon *d, const char *extra_config)
{
	const char	*path;
	struct sbt_raw	 raw;
	int64_t		 deadline;
	int		 status;
	char		 why[256];

	memset(d, 0, sizeof *d);
	signal(SIGPIPE, SIG_IGN);
	snprintf(d->dir, sizeof d->dir, "/tmp/sbt-XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		d->dir[0] = '\0';
		return (-1);
	}
	if (sbt_dir_path(d, "sb.sock", d->socket) == -1 ||
	    sbt_dir_path(d, "snakebridged.conf", d->config) == -1 ||
	    sbt_dir_path(d, "daemon.log", d->log) == -1 ||
	    sbt_write_config(d, extra_config) == -1) {
		fprintf(stderr, "harness: cannot write %s\n", d->config);
		sbt_remove_dir(d);
		return (-1);
	}

	path = sbt_builddir_path("daemon/snakebridged");
	fflush(NULL);
	if ((d->pid = fork()) == -1) {
		d->pid = 0;
		sbt_daemon_abandon(d, "fork failed");
		return (-1);
	}
	if (d->pid == 0)
		sbt_exec_daemon(d, path);

	deadline = sbt_now_ms() + SBT_START_TIMEOUT_MS;
	while (sbt_now_ms() < deadline) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			snprintf(why, sizeof why, "%s exited at start "
			    "(status 0x%x)", path, status);
			sbt_daemon_abandon(d, why);
			return (-1);
		}
		if ((raw.fd = sbt_raw_connect(d)) != -1) {
			msgpack_unpacker_init(&raw.unp, 65536);
			msgpack_unpacked_init(&raw.msg);
			if (sbt_raw_ping(&raw, 1) == 0) {
				sbt_raw_close(&raw);
				sbt_daemon_track(d);
				return (0);
			}
			sbt_raw_close(&raw);
		}
		sbt_sleep_ms(50);
	}
	snprintf(why, sizeof why, "no answer to ping within %d ms",
	    SBT_START_TIMEOUT_MS);
	sbt_daemon_abandon(d, why);
	return (-1);
}

/* Facts read from /proc/PID/stat. */
struct sbt_proc {
	pid_t	 pid;
	pid_t	 ppid;
	pid_t	 pgrp;
	char	 state;
	char	 comm[32];
};

static int
sbt_proc_read(pid_t pid, struct sbt_proc *p)
{
	char	 path[64], buf[1024], *open_paren, *close_paren;
	int	 fd, ppid, pgrp;
	ssize_t	 n;
	size_t	 len;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (open_paren == NULL || close_paren == NULL || close_paren < open_paren)
		return (-1);
	len = close_paren - open_paren - 1;
	if (len >= sizeof p->comm)
		len = sizeof p->comm - 1;
	memcpy(p->comm, open_paren + 1, len);
	p->comm[len] = '\0';
	if (sscanf(close_paren + 1, " %c %d %d", &p->state, &ppid, &pgrp) != 3)
		return (-1);
	p->pid = pid;
	p->ppid = ppid;
	p->pgrp = pgrp;
	return (0);
}

static int
sbt_is_tracked(const struct sbt_daemon *d, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < d->ntracked; i++) {
		if (d->tracked[i] == pid)
			return (1);
	}
	return (0);
}

/* Call fn for every process in /proc. */
static void
sbt_proc_each(void (*fn)(struct sbt_daemon *, const struct sbt_proc *, void *),
    struct sbt_daemon *d, void *arg)
{
	DIR		*dir;
	struct dirent	*de;
	struct sbt_proc	 p;

	if ((dir = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (sbt_proc_read(atoi(de->d_name), &p) == 0)
			fn(d, &p, arg);
	}
	closedir(dir);
}

static void
sbt_track_one(struct sbt_daemon *d, const struct sbt_proc *p, void *arg)
{
	if (p->ppid != d->pid || p->state == 'Z' || sbt_is_tracked(d, p->pid))
		return;
	if (d->ntracked < SBT_MAX_TRACKED)
		d->tracked[d->ntracked++] = p->pid;
}

void
sbt_daemon_track(struct sbt_daemon *d)
{
	if (d->pid > 0)
		sbt_proc_each(sbt_track_one, d, NULL);
}

/* What a scan for leftover processes counts. */
struct sbt_left {
	int	 count;
	int	 verbose;
};

/* A live process left from the daemon: a tracked worker or one of its group. */
static void
sbt_find_left(struct sbt_daemon *d, const struct sbt_proc *p, void *arg)
{
	struct sbt_left	*left = arg;

	if (p->state == 'Z')
		return;
	if (sbt_is_tracked(d, p->pgrp) ||
	    (sbt_is_tracked(d, p->pid) && strcmp(p->comm, SBT_WORKER_COMM) == 0)) {
		if (left->verbose)
			fprintf(stderr, "harness: process %ld (%s, group %ld) "
			    "outlived snakebridged\n", (long)p->pid, p->comm,
			    (long)p->pgrp);
		left->count++;
	}
}

static void
sbt_kill_left(struct sbt_daemon *d, const struct sbt_proc *p, void *arg)
{
	if (sbt_is_tracked(d, p->pgrp))
		kill(p->pid, SIGKILL);
}

/* Wait for workers to be gone; 0 if none is left after the grace. */
static int
sbt_check_left(struct sbt_daemon *d)
{
	int64_t		 deadline = sbt_now_ms() + SBT_LEAVE_GRACE_MS;
	struct sbt_left	 left;

	for (;;) {
		left.count = 0;
		left.verbose = sbt_now_ms() >= deadline;
		sbt_proc_each(sbt_find_left, d, &left);
		if (left.count == 0)
			return (0);
		if (left.verbose)
			break;
		sbt_sleep_ms(50);
	}
	sbt_proc_each(sbt_kill_left, d, NULL);
	return (-1);
}

/* Wait up to timeout_ms for pid to exit; 0 and *status, or -1. */
static int
sbt_wait_exit(pid_t pid, int timeout_ms, int *status)
{
	int64_t	 deadline = sbt_now_ms() + timeout_ms;
	pid_t	 r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return (0);
		if (r == -1 && errno != EINTR)
			return (-1);
		if (sbt_now_ms() >= deadline)
			return (-1);
		sbt_sleep_ms(20);
	}
}

int
sbt_daemon_alive(struct sbt_daemon *d)
{
	struct sbt_proc	 p;

	/* Read /proc so that nothing is reaped (tests may be forked). */
	return (d->pid > 0 && sbt_proc_read(d->pid, &p) == 0 &&
	    p.state != 'Z');
}

/* counters.crashes of the daemon's status, or -1 if it cannot be read. */
static int64_t
sbt_daemon_crashes(const struct sbt_daemon *d)
{
	struct sbt_raw		 raw;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	const msgpack_object	*o, *n;
	int64_t			 crashes = -1;

	if ((raw.fd = sbt_raw_connect(d)) == -1)
		return (-1);
	msgpack_unpacker_init(&raw.unp, 65536);
	msgpack_unpacked_init(&raw.msg);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbt_pack_request(&pk, 1, "status", 0);
	if (sbt_raw_send_sbuf(&raw, &sb) == 0 &&
	    sbt_raw_response(&raw, 1, 5000, &o) == 1) {
		n = sbt_obj_get(sbt_obj_get(&o->via.array.ptr[3], "counters"),
		    "crashes");
		if (n != NULL && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			crashes = (int64_t)n->via.u64;
	}
	msgpack_sbuffer_destroy(&sb);
	sbt_raw_close(&raw);
	return (crashes);
}

/* Add one reason to a stop's list of failures. */
static void __attribute__((format(printf, 3, 4)))
sbt_why(char *why, size_t len, const char *fmt, ...)
{
	size_t	 used = strlen(why);
	va_list	 ap;

	if (used != 0 && used + 2 < len) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

int
sbt_daemon_stop(struct sbt_daemon *d)
{
	int64_t	 crashes;
	char	 why[512];
	int	 status;
	pid_t	 r;

	if (d->pid <= 0) {
		sbt_remove_dir(d);
		return (0);
	}
	sbt_daemon_track(d);
	why[0] = '\0';
	r = waitpid(d->pid, &status, WNOHANG);
	if (r == d->pid)
		sbt_why(why, sizeof why, "died during the tests (status 0x%x)",
		    status);
	else {
		crashes = sbt_daemon_crashes(d);
		if (crashes < 0)
			sbt_why(why, sizeof why, "no status at the end");
		else if (crashes > 0 && !d->allow_crashes)
			sbt_why(why, sizeof why, "%lld worker death(s) nobody "
			    "asked for", (long long)crashes);
		kill(d->pid, SIGTERM);
		if (sbt_wait_exit(d->pid, SBT_STOP_TIMEOUT_MS, &status) == -1) {
			sbt_why(why, sizeof why, "still running %d ms after "
			    "SIGTERM; killed", SBT_STOP_TIMEOUT_MS);
			kill(d->pid, SIGKILL);
			sbt_wait_exit(d->pid, 5000, &status);
		} else if (WIFSIGNALED(status))
			sbt_why(why, sizeof why, "killed by signal %d on "
			    "SIGTERM", WTERMSIG(status));
		else if (WEXITSTATUS(status) != 0)
			sbt_why(why, sizeof why, "exit status %d on SIGTERM",
			    WEXITSTATUS(status));
	}
	d->pid = 0;
	if (sbt_check_left(d) == -1)
		sbt_why(why, sizeof why, "worker processes outlived it");
	if (why[0] != '\0')
		sbt_dump_log(d, why);
	else if (getenv("SBT_SHOW_LOG") != NULL)
		sbt_dump_log(d, "stopped cleanly (SBT_SHOW_LOG is set)");
	sbt_remove_dir(d);
	return (why[0] != '\0' ? -1 : 0);
}

static void
sbt_fixture_setup(void)
{
	if (sbt_daemon_start(&sbt_d, sbt_fixture_config) == -1)
		ck_abort_msg("snakebridged did not start (its log is above)");
}

static void
sbt_fixture_teardown(void)
{
	if (sbt_daemon_stop(&sbt_d) == -1) {
		fprintf(stderr, "FAILED: snakebridged teardown (see above)\n");
		sbt_teardown_failed = 1;
	}
}

void
sbt_tcase_add_daemon(TCase *tc, const char *extra_config)
{
	sbt_fixture_config = extra_config;
	tcase_add_unchecked_fixture(tc, sbt_fixture_setup,
	    sbt_fixture_teardown);
}

int
sbt_run_suite(Suite *s)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 && !sbt_teardown_failed ? 0 : 1);
}

sb_client *
sbt_connect(const struct sbt_daemon *d)
{
	sb_client	*c = NULL;
	int		 rc;

	rc = sb_client_connect(d->socket, &c);
	ck_assert_msg(rc == 0 && c != NULL, "sb_client_connect(%s): %s",
	    d->socket, sb_strerror(rc));
	return (c);
}

sb_client *sbt_c;

static void
sbt_client_setup(void)
{
	sbt_c = sbt_connect(&sbt_d);
}

static void
sbt_client_teardown(void)
{
	sb_client_close(sbt_c);
	sbt_c = NULL;
}

void
sbt_tcase_add_client(TCase *tc)
{
	tcase_add_checked_fixture(tc, sbt_client_setup, sbt_client_teardown);
}

sb_value *
sbt_list(sb_value *first, ...)
{
	sb_value	*l = sb_list_new(), *v;
	va_list		 ap;

	ck_assert_ptr_nonnull(l);
	va_start(ap, first);
	for (v = first; v != NULL; v = va_arg(ap, sb_value *))
		ck_assert_int_eq(sb_list_append(l, v), 0);
	va_end(ap);
	return (l);
}

/* Describe a failed request into buf. */
static void
sbt_describe(char *buf, size_t len, int rc, const sb_error *err)
{
	const char	*tb;

	if (rc == SB_EREMOTE && err != NULL) {
		tb = sb_error_traceback(err);
		snprintf(buf, len, "%s: %s%s%s", sb_error_type(err),
		    sb_error_message(err), tb != NULL ? "\n" : "",
		    tb != NULL ? tb : "");
	} else
		snprintf(buf, len, "rc %d (%s)", rc, sb_strerror(rc));
}

void
sbt_fail_request(const char *what, int rc, const sb_error *err)
{
	char	 buf[2048];

	sbt_describe(buf, sizeof buf, rc, err);
	ck_abort_msg("%s failed: %s", what, buf);
}

void
sbt_expect_error(const char *what, int rc, const sb_error *err,
    const char *type)
{
	char	 buf[2048];

	if (rc == SB_EREMOTE && err != NULL &&
	    strcmp(sb_error_type(err), type) == 0)
		return;
	if (rc == 0)
		snprintf(buf, sizeof buf, "it succeeded");
	else
		sbt_describe(buf, sizeof buf, rc, err);
	ck_abort_msg("%s: expected error %s, got %s", what, type, buf);
}

int
sbt_raw_connect(const struct sbt_daemon *d)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(d->socket) >= sizeof sun.sun_path)
		return (-1);
	strcpy(sun.sun_path, d->socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

void
sbt_raw_open(const struct sbt_daemon *d, struct sbt_raw *r)
{
	r->fd = sbt_raw_connect(d);
	ck_assert_msg(r->fd != -1, "connect %s: %s", d->socket,
	    strerror(errno));
	ck_assert(msgpack_unpacker_init(&r->unp, 65536));
	msgpack_unpacked_init(&r->msg);
}

void
sbt_raw_close(struct sbt_raw *r)
{
	msgpack_unpacked_destroy(&r->msg);
	msgpack_unpacker_destroy(&r->unp);
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}

struct sbt_raw	 sbt_witness;
msgpack_sbuffer	 sbt_sb;
msgpack_packer	 sbt_pk;

void
sbt_wire_setup(void)
{
	sbt_raw_open(&sbt_d, &sbt_witness);
	ck_assert_msg(sbt_raw_ping(&sbt_witness, 1) == 0,
	    "witness ping failed");
	msgpack_sbuffer_init(&sbt_sb);
	msgpack_packer_init(&sbt_pk, &sbt_sb, msgpack_sbuffer_write);
}

void
sbt_wire_teardown(void)
{
	msgpack_sbuffer_destroy(&sbt_sb);
	sbt_raw_close(&sbt_witness);
}

void
sbt_wire_check_others(void)
{
	static uint32_t	 id = 100;
	struct sbt_raw	 fresh;

	ck_assert_msg(sbt_raw_ping(&sbt_witness, id++) == 0,
	    "the witness connection stopped answering");
	sbt_raw_open(&sbt_d, &fresh);
	ck_assert_msg(sbt_raw_ping(&fresh, 1) == 0,
	    "a new connection is not answered");
	sbt_raw_close(&fresh);
	ck_assert_msg(sbt_daemon_alive(&sbt_d), "snakebridged died");
}

/* Wait for events on fd until deadline; 1 ready, 0 timeout, -1 error. */
static int
sbt_poll(int fd, short events, int64_t deadline)
{
	struct pollfd	 pfd = { fd, events, 0 };
	int64_t		 left;
	int		 n;

	for (;;) {
		left = deadline - sbt_now_ms();
		if (left < 0)
			left = 0;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		return (n < 0 ? -1 : n);
	}
}

int
sbt_raw_send(struct sbt_raw *r, const void *buf, size_t len)
{
	const char	*p = buf;
	int64_t		 deadline = sbt_now_ms() + SBT_IO_TIMEOUT_MS;
	ssize_t		 n;

	while (len > 0) {
		n = send(r->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN &&
		    sbt_poll(r->fd, POLLOUT, deadline) == 1)
			continue;
		return (-1);
	}
	return (0);
}

int
sbt_raw_send_sbuf(struct sbt_raw *r, msgpack_sbuffer *sb)
{
	int	 rc;

	rc = sbt_raw_send(r, sb->data, sb->size);
	msgpack_sbuffer_clear(sb);
	return (rc);
}

int
sbt_raw_recv(struct sbt_raw *r, int timeout_ms, const msgpack_object **out)
{
	int64_t		 deadline = sbt_now_ms() + timeout_ms;
	msgpack_unpack_return ret;
	ssize_t		 n;

	for (;;) {
		ret = msgpack_unpacker_next(&r->unp, &r->msg);
		if (ret == MSGPACK_UNPACK_SUCCESS) {
			*out = &r->msg.data;
			return (1);
		}
		if (ret != MSGPACK_UNPACK_CONTINUE)
			return (-1);
		if (!msgpack_unpacker_reserve_buffer(&r->unp, 65536))
			return (-1);
		n = recv(r->fd, msgpack_unpacker_buffer(&r->unp),
		    msgpack_unpacker_buffer_capacity(&r->unp), 0);
		if (n > 0) {
			msgpack_unpacker_buffer_consumed(&r->unp, n);
			continue;
		}
		if (n == 0 || (errno == ECONNRESET || errno == EPIPE))
			return (0);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || sbt_poll(r->fd, POLLIN, deadline) != 1)
			return (-1);
	}
}

/* Whether o is [1, msgid, error, result]. */
static int
sbt_is_response(const msgpack_object *o, uint32_t msgid)
{
	const msgpack_object	*a;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
		return (0);
	a = o->via.array.ptr;
	return (a[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    a[0].via.u64 == 1 && a[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    a[1].via.u64 == msgid);
}

int
sbt_raw_response(struct sbt_raw *r, uint32_t msgid, int timeout_ms,
    const msgpack_object **out)
{
	int64_t	 deadline = sbt_now_ms() + timeout_ms;
	int64_t	 left;
	int	 rc;

	for (;;) {
		left = deadline - sbt_now_ms();
		if (left < 0)
			left = 0;
		rc = sbt_raw_recv(r, (int)left, out);
		if (rc != 1)
			return (rc);
		if (sbt_is_response(*out, msgid))
			return (1);
	}
}

void
sbt_pack_str(msgpack_packer *pk, const char *s)
{
	size_t	 len = strlen(s);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

void
sbt_pack_request(msgpack_packer *pk, uint32_t msgid, const char *method,
    size_t nparams)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, 0);
	msgpack_pack_uint32(pk, msgid);
	sbt_pack_str(pk, method);
	msgpack_pack_array(pk, nparams);
}

int
sbt_raw_ping(struct sbt_raw *r, uint32_t msgid)
{
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	const msgpack_object	*o;
	int			 rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbt_pack_request(&pk, msgid, "ping", 0);
	rc = sbt_raw_send_sbuf(r, &sb);
	msgpack_sbuffer_destroy(&sb);
	if (rc == -1 || sbt_raw_response(r, msgid, 2000, &o) != 1)
		return (-1);
	if (o->via.array.ptr[2].type != MSGPACK_OBJECT_NIL ||
	    !sbt_obj_streq(&o->via.array.ptr[3], "pong"))
		return (-1);
	return (0);
}

int
sbt_obj_streq(const msgpack_object *o, const char *s)
{
	return (o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) &&
	    memcmp(o->via.str.ptr, s, o->via.str.size) == 0);
}

const msgpack_object *
sbt_obj_get(const msgpack_object *o, const char *key)
{
	uint32_t	 i;

	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return (NULL);
	for (i = 0; i < o->via.map.size; i++) {
		if (sbt_obj_streq(&o->via.map.ptr[i].key, key))
			return (&o->via.map.ptr[i].val);
	}
	return (NULL);
}

/* The type of an error map, copied into a static buffer; NULL if none. */
static const char *
sbt_errmap_type(const msgpack_object *err)
{
	static char		 buf[128];
	const msgpack_object	*t;
	size_t			 len;

	t = sbt_obj_get(err, "type");
	if (t == NULL || t->type != MSGPACK_OBJECT_STR)
		return (NULL);
	len = t->via.str.size < sizeof buf ? t->via.str.size :
	    sizeof buf - 1;
	memcpy(buf, t->via.str.ptr, len);
	buf[len] = '\0';
	return (buf);
}

const char *
sbt_obj_errtype(const msgpack_object *o)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
		return (NULL);
	return (sbt_errmap_type(&o->via.array.ptr[2]));
}

/* The error type carried by a response or an "error" notification. */
static const char *
sbt_message_errtype(const msgpack_object *o)
{
	const msgpack_object	*a;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
		return (NULL);
	a = o->via.array.ptr;
	if (o->via.array.size == 3 && sbt_obj_streq(&a[1], "error") &&
	    a[2].type == MSGPACK_OBJECT_ARRAY && a[2].via.array.size > 0)
		return (sbt_errmap_type(&a[2].via.array.ptr[0]));
	return (sbt_obj_errtype(o));
}

int
sbt_raw_wait_closed(struct sbt_raw *r, int timeout_ms, const char **errtype)
{
	static char		 last[128];
	int64_t			 deadline = sbt_now_ms() + timeout_ms;
	int64_t			 left;
	const msgpack_object	*o;
	const char		*t;
	int			 rc;

	last[0] = '\0';
	if (errtype != NULL)
		*errtype = last;
	for (;;) {
		left = deadline - sbt_now_ms();
		if (left < 0)
			left = 0;
		rc = sbt_raw_recv(r, (int)left, &o);
		if (rc == 0)
			return (1);
		if (rc == -1) {
			/* Garbage from the peer cannot be a clean close. */
			return (0);
		}
		if ((t = sbt_message_errtype(o)) != NULL)
			snprintf(last, sizeof last, "%s", t);
	}
}

/* A growable output buffer for sbt_run. */
struct sbt_buf {
	char	*data;
	size_t	 len;
	size_t	 size;
};

/* Read what is available from fd into b; 0 at EOF, 1 if more may come. */
static int
sbt_buf_read(struct sbt_buf *b, int fd)
{
	ssize_t	 n;

	if (b->size - b->len < 4096) {
		b->size = b->size * 2 + 4096;
		if ((b->data = realloc(b->data, b->size)) == NULL)
			abort();
		b->data[b->len] = '\0';
	}
	n = read(fd, b->data + b->len, b->size - b->len - 1);
	if (n > 0) {
		b->len += n;
		b->data[b->len] = '\0';
		return (1);
	}
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return (1);
	return (0);
}

/* Hand a collected buffer to the caller (or free it). */
static void
sbt_buf_give(struct sbt_buf *b, char **out)
{
	if (b->data == NULL) {
		if ((b->data = calloc(1, 1)) == NULL)
			abort();
	}
	if (out != NULL)
		*out = b->data;
	else
		free(b->data);
}

/* In the forked child of sbt_run. */
static void
sbt_exec_child(char *const argv[], int out, int err)
{
	sbt_child_reset();
	dup2(out, 1);
	dup2(err, 2);
	close_range(3, ~0U, 0);
	execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int
sbt_run(char *const argv[], char **out, char **err, int *exit_code,
    int timeout_ms)
{
	struct sbt_buf	 bufs[2];
	struct pollfd	 pfd[2];
	int		 po[2], pe[2], status, open_fds = 2, timed_out = 0, i;
	int64_t		 deadline, left;
	pid_t		 pid;

	if (timeout_ms <= 0)
		timeout_ms = SBT_RUN_TIMEOUT_MS;
	memset(bufs, 0, sizeof bufs);
	if (pipe2(po, O_CLOEXEC) == -1)
		return (-1);
	if (pipe2(pe, O_CLOEXEC) == -1) {
		close(po[0]);
		close(po[1]);
		return (-1);
	}
	fflush(NULL);
	if ((pid = fork()) == 0)
		sbt_exec_child(argv, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	pfd[0].fd = po[0];
	pfd[1].fd = pe[0];
	deadline = sbt_now_ms() + timeout_ms;
	while (pid != -1 && open_fds > 0) {
		pfd[0].events = pfd[1].events = POLLIN;
		left = deadline - sbt_now_ms();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(pfd, 2, (int)left) == -1 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (!sbt_buf_read(&bufs[i], pfd[i].fd)) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (i = 0; i < 2; i++) {
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	}
	status = 0;
	if (pid != -1) {
		left = deadline - sbt_now_ms();
		if (timed_out || sbt_wait_exit(pid, left > 0 ? (int)left : 0,
		    &status) == -1) {
			timed_out = 1;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	if (exit_code != NULL) {
		*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status);
	}
	sbt_buf_give(&bufs[0], out);
	sbt_buf_give(&bufs[1], err);
	if (timed_out)
		fprintf(stderr, "harness: %s killed after %d ms\n", argv[0],
		    timeout_ms);
	return (pid == -1 || timed_out ? -1 : 0);
}

int
sbt_config_check(const char *text, char **err)
{
	char	 path[] = "/tmp/sbt-conf-XXXXXX";
	char	 daemon[PATH_MAX];
	char	*argv[] = { daemon, "-n", "-f", path, NULL };
	int	 fd, rc, code = -1;

	snprintf(daemon, sizeof daemon, "%s",
	    sbt_builddir_path("daemon/snakebridged"));
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = sbt_run(argv, NULL, err, &code, 0);
	unlink(path);
	ck_assert_msg(rc == 0, "snakebridged -n did not finish");
	return (code);
}
