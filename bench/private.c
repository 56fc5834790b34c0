/*
 * private.c: sbbench's own snakebridged on a temporary socket: the programs
 * found in the build tree, a config written for the run, start (answering
 * and with every worker ready), stop; and resident memory read from /proc.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbbench.h"

#define PRV_START_MS	30000	/* daemon answering, workers ready */
#define PRV_STOP_MS	10000	/* daemon gone after SIGTERM */

/* The running private daemon and its files, for the interrupt handler. */
static volatile pid_t		 prv_pid;
static const struct prv_daemon	*prv_running;
static char			 prv_config[PATH_MAX];

/*
 * Interrupted: the daemon (and with it its workers) goes too, and its
 * files (unlink and rmdir are safe in a handler).
 */
static void
prv_on_signal(int sig)
{
	if (prv_pid > 0) {
		kill(prv_pid, SIGTERM);
		unlink(prv_running->socket);
		unlink(prv_running->log);
		unlink(prv_config);
		rmdir(prv_running->dir);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
prv_sleep_ms(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * The directory of the running program. A libtool build may run it from
 * .libs, whose parent is the directory that counts.
 */
int
prv_exedir(char *buf, size_t len)
{
	ssize_t	 n;
	char	*slash;

	if ((n = readlink("/proc/self/exe", buf, len - 1)) <= 0)
		return (-1);
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		return (-1);
	*slash = '\0';
	n = (ssize_t)strlen(buf);
	if (n >= 6 && strcmp(buf + n - 6, "/.libs") == 0)
		buf[n - 6] = '\0';
	return (0);
}

/* The snakebridged to run: --daemon, else ../daemon/ of sbbench's directory. */
static int
prv_daemon_path(const struct bench_conf *bc, char *buf, size_t len)
{
	int	 n;

	if (bc->daemon != NULL)
		n = snprintf(buf, len, "%s", bc->daemon);
	else
		n = snprintf(buf, len, "%s/../daemon/snakebridged", bc->exedir);
	if (n < 0 || (size_t)n >= len || access(buf, X_OK) != 0) {
		fprintf(stderr, "sbbench: no snakebridged at %s (use --daemon "
		    "PATH or -s SOCKET)\n", buf);
		return (-1);
	}
	return (0);
}

/*
 * The worker of the build tree beside that daemon (DIR/../adapter/), else
 * none: the daemon then finds its own (next to it, or the installed one).
 */
static int
prv_worker_path(const char *daemon, char *buf, size_t len)
{
	const char	*slash = strrchr(daemon, '/');
	int		 n;

	if (slash == NULL)
		return (-1);
	n = snprintf(buf, len, "%.*s/../adapter/snakebridge-worker",
	    (int)(slash - daemon), daemon);
	if (n < 0 || (size_t)n >= len || access(buf, X_OK) != 0)
		return (-1);
	return (0);
}

static int
prv_write_config(const struct prv_daemon *d, const char *path,
    const char *worker, int workers)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		return (-1);
	fprintf(f, "[daemon]\nsocket = %s\nmax_message_size = 256M\n",
	    d->socket);
	if (worker != NULL)
		fprintf(f, "worker = %s\n", worker);
	fprintf(f, "\n[sessions]\nmax_sessions_per_uid = 100000\n"
	    "max_sessions = 100000\n\n[pool default]\nsize = %d\n"
	    "preload = math, numpy\n", workers);
	return (fclose(f) == 0 ? 0 : -1);
}

static int
prv_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path));
}

/* In the child: stdin from /dev/null, stdout and stderr to the log. */
static void
prv_exec(const struct prv_daemon *d, const char *daemon, const char *config)
{
	int	 fd;

	signal(SIGPIPE, SIG_DFL);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, 0);
		close(fd);
	}
	if ((fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execl(daemon, "snakebridged", "-d", "-f", config, (char *)NULL);
	fprintf(stderr, "sbbench: exec %s: %s\n", daemon, strerror(errno));
	_exit(127);
}

/* Whether every worker of every pool in a status map is idle. */
static int
prv_workers_idle(const sb_value *status)
{
	const sb_value	*pools, *workers, *state;
	size_t		 i, j, n = 0;

	pools = sb_map_get(status, "pools");
	for (i = 0; i < sb_value_len(pools); i++) {
		workers = sb_map_get(sb_value_item(pools, i), "workers");
		for (j = 0; j < sb_value_len(workers); j++) {
			state = sb_map_get(sb_value_item(workers, j), "state");
			if (sb_value_str(state, NULL) == NULL ||
			    strcmp(sb_value_str(state, NULL), "idle") != 0)
				return (0);
			n++;
		}
	}
	return (n > 0);
}

/* Poll until the daemon answers status with every worker idle. */
static int
prv_wait_ready(struct prv_daemon *d)
{
	struct timespec	 ts;
	sb_client	*c;
	sb_value	*st;
	time_t		 deadline;
	int		 status, ready;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec + PRV_START_MS / 1000;
	for (;;) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = prv_pid = 0;
			fprintf(stderr, "sbbench: snakebridged exited at "
			    "start (status 0x%x)\n", status);
			return (-1);
		}
		ready = 0;
		if (sb_client_connect(d->socket, &c) == 0) {
			if (sb_status(c, &st, NULL) == 0) {
				ready = prv_workers_idle(st);
				sb_value_free(st);
			}
			sb_client_close(c);
		}
		if (ready)
			return (0);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec >= deadline) {
			fprintf(stderr, "sbbench: snakebridged not ready "
			    "within %d s\n", PRV_START_MS / 1000);
			return (-1);
		}
		prv_sleep_ms(50);
	}
}

/* dir/name into buf of PATH_MAX bytes; -1 if it does not fit. */
static int
prv_join(char *buf, const char *dir, const char *name)
{
	int	 n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);

	return (n < 0 || n >= PATH_MAX ? -1 : 0);
}

int
prv_start(struct prv_daemon *d, const struct bench_conf *bc)
{
	char	 daemon[PATH_MAX], worker[PATH_MAX], config[PATH_MAX];
	int	 have_worker;

	memset(d, 0, sizeof(*d));
	if (prv_daemon_path(bc, daemon, sizeof(daemon)) != 0)
		return (-1);
	have_worker = prv_worker_path(daemon, worker, sizeof(worker)) == 0;
	snprintf(d->dir, sizeof(d->dir), "/tmp/sbbench-XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		fprintf(stderr, "sbbench: mkdtemp: %s\n", strerror(errno));
		d->dir[0] = '\0';
		return (-1);
	}
	if (prv_join(d->socket, d->dir, "sb.sock") != 0 ||
	    prv_join(d->log, d->dir, "daemon.log") != 0 ||
	    prv_join(config, d->dir, "snakebridged.conf") != 0 ||
	    prv_write_config(d, config, have_worker ? worker : NULL,
	    bc->workers) != 0) {
		fprintf(stderr, "sbbench: cannot write %s\n", config);
		prv_stop(d);
		return (-1);
	}
	fflush(NULL);
	if ((d->pid = fork()) == -1) {
		fprintf(stderr, "sbbench: fork: %s\n", strerror(errno));
		d->pid = 0;
		prv_stop(d);
		return (-1);
	}
	if (d->pid == 0)
		prv_exec(d, daemon, config);
	memcpy(prv_config, config, sizeof(prv_config));
	prv_running = d;
	prv_pid = d->pid;
	signal(SIGINT, prv_on_signal);
	signal(SIGTERM, prv_on_signal);
	signal(SIGHUP, prv_on_signal);
	if (prv_wait_ready(d) != 0) {
		prv_dump_log(d);
		prv_stop(d);
		return (-1);
	}
	return (0);
}

/* SIGTERM, a bounded wait, SIGKILL if need be; then the directory goes. */
void
prv_stop(struct prv_daemon *d)
{
	int	 status, waited;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		for (waited = 0; waited < PRV_STOP_MS; waited += 20) {
			if (waitpid(d->pid, &status, WNOHANG) == d->pid)
				break;
			prv_sleep_ms(20);
		}
		if (waited >= PRV_STOP_MS) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
		}
		d->pid = 0;
		prv_pid = 0;
	}
	if (d->dir[0] != '\0')
		nftw(d->dir, prv_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = '\0';
}

void
prv_dump_log(const struct prv_daemon *d)
{
	FILE	*f;
	char	 line[1024];

	if ((f = fopen(d->log, "r")) == NULL)
		return;
	fprintf(stderr, "---- %s\n", d->log);
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

/* VmRSS of a process in KiB; -1 if it cannot be read. */
long
prv_rss_kib(pid_t pid)
{
	FILE	*f;
	char	 path[64], line[256];
	long	 kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return (kib);
}
