/*
 * snakebridged.c: the daemon's entry point: command line, startup (config,
 * socket, pools), the signals (SIGTERM/SIGINT shut down, SIGHUP reloads,
 * SIGCHLD reaps workers), reload and the stages of shutdown.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "snakebridged.h"
#include "alloc.h"

#define SBD_STOP_GRACE	2	/* s between SIGTERM and SIGKILL of workers */
#define SBD_CLEANUP_WAIT 10000	/* ms for cleanups without a timeout */
#define SBD_CONFIG_FILE	SB_SYSCONFDIR "/snakebridged/snakebridged.conf"

struct daemon sbd;

static struct event	*sbd_sig[4];
static struct event	*sbd_stop_ev;
/* Stages of shutdown. */
enum {
	SBD_RUNNING,
	SBD_DRAINING,		/* running requests finish within grace */
	SBD_CLEANING,		/* sessions' cleanups within their timeout */
	SBD_STOPPING,		/* workers get SIGTERM, then SIGKILL */
	SBD_DONE,
};
static int		 sbd_stage;
static int		 sbd_verbose;	/* -v given */
static int		 sbd_conf_level;

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: snakebridged [-dhnv] [-f config] [-s socket]\n"
	    "  -d         stay in the foreground, log to stderr\n"
	    "  -f FILE    read the configuration from FILE (default: "
	    SBD_CONFIG_FILE " if it exists)\n"
	    "  -n         check the configuration and exit\n"
	    "  -s SOCKET  listen on SOCKET\n"
	    "  -v         log more (repeatable)\n"
	    "  -h         show this help\n");
	exit(status);
}

/*
 * Seconds since the epoch, as the event loop took them at the start of its
 * pass (read afresh outside the loop): no clock read per request.
 */
double
sbd_now(void)
{
	struct timeval tv;

	if (sbd.base == NULL || event_base_gettimeofday_cached(sbd.base,
	    &tv) != 0)
		gettimeofday(&tv, NULL);
	return ((double)tv.tv_sec + (double)tv.tv_usec / 1e6);
}

/* Arm a timer for ms milliseconds. */
void
sbd_timer_add(struct event *ev, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

void
sbd_free_block(const void *data, size_t len, void *block)
{
	free(block);
}

/* Is path an executable regular file? */
static int
sbd_executable(const char *path)
{
	struct stat st;

	return (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0);
}

/*
 * The worker binary: config, $SNAKEBRIDGE_WORKER, next to this binary (or
 * in the build tree's adapter/), else the installed one.
 */
static char *
sbd_find_worker(const struct config *conf)
{
	const char *env = getenv("SNAKEBRIDGE_WORKER");
	char self[PATH_MAX], *dir, *path;
	ssize_t n;

	if (conf->worker != NULL)
		return (strdup(conf->worker));
	if (env != NULL && *env != '\0')
		return (strdup(env));
	if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
		self[n] = '\0';
		dir = dirname(self);
		if (asprintf(&path, "%s/snakebridge-worker", dir) == -1)
			abort();
		if (sbd_executable(path))
			return (path);
		free(path);
		if (asprintf(&path, "%s/../adapter/snakebridge-worker",
		    dir) == -1)
			abort();
		if (sbd_executable(path))
			return (path);
		free(path);
	}
	return (strdup(SB_LIBEXECDIR "/snakebridge-worker"));
}

/* Swap in a freshly read config if it is valid. */
int
sbd_reload(char **err)
{
	struct config *conf;

	notify_reloading();
	if ((conf = config_load(sbd.conf->file, err)) == NULL) {
		log_error("reload failed, keeping the current config: %s",
		    *err);
		notify_check_ready();
		return (-1);
	}
	confdiff_log(sbd.conf, conf);
	config_free(sbd.conf);
	sbd.conf = conf;
	sbd_conf_level = conf->log_level;
	log_set_level((enum log_level)sbd_verbose_level());
	pool_apply_config();
	log_info("configuration reloaded%s%s", conf->file ? " from " : "",
	    conf->file ? conf->file : "");
	notify_check_ready();
	return (0);
}

static void
sbd_finish(void)
{
	sbd_stage = SBD_DONE;
	event_base_loopexit(sbd.base, NULL);
}

static void
sbd_count_busy(struct worker *w, void *arg)
{
	if (w->state == WORKER_BUSY && w->cur != NULL)
		(*(unsigned *)arg)++;
}

static void
sbd_count_live(struct worker *w, void *arg)
{
	if (w->pid > 0)
		(*(unsigned *)arg)++;
}

/* A worker finished a request: when draining, stop once none is busy. */
void
sbd_worker_done(void)
{
	unsigned busy = 0;

	if (sbd_stage != SBD_DRAINING)
		return;
	pool_foreach_worker(sbd_count_busy, &busy);
	if (busy == 0)
		event_active(sbd_stop_ev, EV_TIMEOUT, 0);
}

/* A worker exited during shutdown: leave when none is left. */
void
sbd_worker_gone(void)
{
	unsigned live = 0;

	pool_foreach_worker(sbd_count_live, &live);
	if (live == 0 && sbd_stage == SBD_STOPPING)
		sbd_finish();
}

/* A session's cleanup finished: when cleaning up, stop once none is out. */
void
sbd_cleanup_done(void)
{
	if (sbd_stage == SBD_CLEANING && cleanup_pending() == 0)
		event_active(sbd_stop_ev, EV_TIMEOUT, 0);
}

static void
sbd_fail_running(struct worker *w, void *arg)
{
	struct request *r = w->cur;

	if (r != NULL) {
		w->cur = NULL;
		request_error(r, SB_ERRTYPE_SHUTTING_DOWN, "the daemon is "
		    "shutting down");
		/* free it for its sessions' cleanups (or kill it) */
		worker_interrupt(w);
	}
}

static void
sbd_term_worker(struct worker *w, void *arg)
{
	int sig = *(int *)arg;

	event_del(w->restart_ev);
	if (w->pid > 0) {
		w->state = WORKER_STOPPING;
		w->stop_reason = "shutdown";
		worker_kill(w, sig);
	}
}

static void
sbd_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	int sig = SIGTERM;
	unsigned live = 0;

	if (sbd_stage == SBD_DRAINING) {
		/* grace for running requests is over: clean sessions up */
		sbd_stage = SBD_CLEANING;
		pool_foreach_worker(sbd_fail_running, NULL);
		session_end_all();
		if (cleanup_pending() > 0) {
			sbd_timer_add(sbd_stop_ev, (sbd.conf->cleanup_timeout >
			    0 ? sbd.conf->cleanup_timeout :
			    SBD_CLEANUP_WAIT) + sbd.conf->grace);
			return;
		}
	}
	if (sbd_stage == SBD_CLEANING) {
		/* cleanups done or out of time: stop the workers */
		sbd_stage = SBD_STOPPING;
		if (cleanup_pending() > 0)
			log_warn("%u session cleanups not finished",
			    cleanup_pending());
		cleanup_stop();
		pool_foreach_worker(sbd_term_worker, &sig);
		pool_foreach_worker(sbd_count_live, &live);
		if (live == 0) {
			sbd_finish();
			return;
		}
		sbd_timer_add(sbd_stop_ev, SBD_STOP_GRACE * 1000);
	} else if (sbd_stage == SBD_STOPPING) {
		log_warn("workers still running, killing them");
		sig = SIGKILL;
		pool_foreach_worker(sbd_term_worker, &sig);
		sbd_finish();
	}
}

/* Begin shutting down: stop accepting, fail the queues, drain. */
void
sbd_shutdown(void)
{
	uint64_t ms = sbd.conf->grace;
	unsigned busy = 0;

	if (sbd.shutting_down)
		return;
	log_info("shutting down");
	notify_stopping();
	events_shutdown();
	sbd.shutting_down = 1;
	sbd_stage = SBD_DRAINING;
	listen_close();
	pool_fail_queued(SB_ERRTYPE_SHUTTING_DOWN, "the daemon is shutting "
	    "down", 0);
	pool_foreach_worker(sbd_count_busy, &busy);
	sbd_stop_ev = evtimer_new(sbd.base, sbd_stop_cb, NULL);
	if (busy == 0)
		ms = 0;
	sbd_timer_add(sbd_stop_ev, ms);
}

static void
sbd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	char *err = NULL;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		sbd_shutdown();
		break;
	case SIGHUP:
		log_info("SIGHUP: reloading");
		sbd_reload(&err);
		free(err);
		break;
	case SIGCHLD:
		worker_sigchld();
		break;
	}
}


/* The log level: the config's, raised by each -v. */
int
sbd_verbose_level(void)
{
	int level = sbd_conf_level + sbd_verbose;

	return (level > LOG_LEVEL_TRACE ? LOG_LEVEL_TRACE : level);
}

static void
sbd_setup_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 4; i++) {
		sbd_sig[i] = evsignal_new(sbd.base, sigs[i], sbd_signal_cb,
		    NULL);
		evsignal_add(sbd_sig[i], NULL);
	}
}

static void
sbd_cleanup(void)
{
	size_t i;

	notify_stop();
	conn_close_all();
	cleanup_stop();
	session_end_all();
	pool_free_all();
	listen_close();
	signal(SIGHUP, SIG_IGN);
	for (i = 0; i < 4; i++) {
		if (sbd_sig[i] != NULL)
			event_free(sbd_sig[i]);
	}
	if (sbd_stop_ev != NULL)
		event_free(sbd_stop_ev);
	free(sbd.worker_bin);
	free(sbd.socket_path);
	config_free(sbd.conf);
	io_shutdown();
	event_base_free(sbd.base);
}

/*
 * Every client connection costs a descriptor, and each shared block it
 * attaches one more: take the hard limit of open files (the loop is epoll,
 * never select). Workers get the limit as it was (worker.c).
 */
#define SBD_NOFILE_UNLIMITED	(1 << 20)	/* Linux's default nr_open */

static void
sbd_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &sbd.nofile) == -1) {
		sbd.nofile.rlim_cur = sbd.nofile.rlim_max = RLIM_INFINITY;
		return;
	}
	rl = sbd.nofile;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY ? rl.rlim_max :
	    SBD_NOFILE_UNLIMITED;
	if (rl.rlim_cur != sbd.nofile.rlim_cur && setrlimit(RLIMIT_NOFILE,
	    &rl) == -1)
		log_errno("setrlimit RLIMIT_NOFILE");
}

int
main(int argc, char **argv)
{
	const char *file = NULL, *sock = NULL;
	int ch, foreground = 0, check = 0;
	char *err = NULL;

	sb_alloc_tune();
	while ((ch = getopt(argc, argv, "df:hns:v")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			usage(0);
		case 'n':
			check = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case 'v':
			sbd_verbose++;
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);

	if (file == NULL && access(SBD_CONFIG_FILE, F_OK) == 0)
		file = SBD_CONFIG_FILE;
	if ((sbd.conf = config_load(file, &err)) == NULL) {
		fprintf(stderr, "snakebridged: %s\n", err);
		free(err);
		return (1);
	}
	if (check) {
		printf("%s: configuration OK\n", file != NULL ? file :
		    "built-in defaults");
		config_free(sbd.conf);
		return (0);
	}
	sbd_conf_level = sbd.conf->log_level;
	log_init(foreground || check, (enum log_level)sbd_verbose_level());

	if (sock != NULL)
		sbd.socket_path = strdup(sock);
	else if (sbd.conf->socket != NULL)
		sbd.socket_path = strdup(sbd.conf->socket);
	else
		sbd.socket_path = listen_default_path();
	sbd.worker_bin = sbd_find_worker(sbd.conf);
	if (sbd.socket_path == NULL || sbd.worker_bin == NULL)
		abort();
	if (!sbd_executable(sbd.worker_bin))
		log_warn("worker binary %s is not executable", sbd.worker_bin);

	if (!foreground && daemon(0, 0) == -1) {
		log_errno("daemon");
		return (1);
	}
	sbd.uid = geteuid();
	sbd.started = sbd_now();
	sbd_raise_nofile();
	if ((sbd.base = event_base_new()) == NULL) {
		log_error("cannot create the event loop");
		return (1);
	}
	sbd_setup_signals();
	if (listen_open(sbd.conf, sbd.socket_path) != 0) {
		sbd_cleanup();
		return (1);
	}
	log_info("snakebridged %s listening on %s", SBD_VERSION,
	    sbd.socket_path);
	log_debug("worker binary %s", sbd.worker_bin);
	session_init();
	pool_init();
	pool_apply_config();
	notify_start(sbd.base);
	notify_check_ready();

	event_base_dispatch(sbd.base);

	log_info("stopped");
	sbd_cleanup();
	return (0);
}
