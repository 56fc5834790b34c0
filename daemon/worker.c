/*
 * worker.c: worker processes (docs/internals.md, "The worker channel"):
 * spawning with a socketpair on fd 3, a SOCK_SEQPACKET pair on fd 4 for
 * shared blocks (shm.c) and a pipe for their output, their
 * states, interrupting and killing, exits (a crash fails the request being
 * served, loses the worker's refs and restarts the slot with exponential
 * backoff) and the logging of what they print.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "snakebridged.h"

#define WORKER_BACKOFF_MIN	100		/* ms */
#define WORKER_BACKOFF_MAX	30000		/* ms */
#define WORKER_HEALTHY		60.0		/* s up that resets backoff */
#define WORKER_CRASH_LOOP	3		/* fast crashes in a row */
#define WORKER_LOG_LINE		4096
#define WORKER_NUDGE_MS		20		/* first nudge after an interrupt */

static void	worker_read_cb(evutil_socket_t, short, void *);
static void	worker_event_cb(struct bufferevent *, short, void *);
static void	worker_log_cb(struct bufferevent *, void *);
static void	worker_restart_cb(evutil_socket_t, short, void *);
static void	worker_grace_cb(evutil_socket_t, short, void *);

static const char *const worker_states[] = {
	[WORKER_DOWN] = "down",
	[WORKER_STARTING] = "starting",
	[WORKER_IDLE] = "idle",
	[WORKER_BUSY] = "busy",
	[WORKER_STOPPING] = "stopping",
};

/*
 * Pack the worker facts that status and stats share, as WORKER_PACK_KEYS
 * key/value pairs of a map the caller opened: slot, pid, state, requests,
 * rss_kb, refs.
 */
void
worker_pack_facts(msgpack_packer *pk, const struct worker *w)
{
	mpk_str(pk, "slot");
	msgpack_pack_uint32(pk, w->slot);
	mpk_str(pk, "pid");
	if (w->pid > 0)
		msgpack_pack_int32(pk, (int32_t)w->pid);
	else
		msgpack_pack_nil(pk);
	mpk_str(pk, "state");
	mpk_str(pk, worker_state_name(w->state));
	mpk_str(pk, "requests");
	msgpack_pack_uint64(pk, w->requests);
	mpk_str(pk, "rss_kb");
	msgpack_pack_uint64(pk, w->rss_kb);
	mpk_str(pk, "refs");
	msgpack_pack_uint64(pk, w->refs);
}

const char *
worker_state_name(enum worker_state s)
{
	return (worker_states[s]);
}

struct worker *
worker_new(struct pool *p, unsigned slot)
{
	struct worker *w;

	if ((w = calloc(1, sizeof *w)) == NULL)
		abort();
	w->pool = p;
	w->slot = slot;
	w->generation = 1;
	w->pid = -1;
	w->fd = -1;
	w->shmfd = -1;
	w->restart_ev = evtimer_new(sbd.base, worker_restart_cb, w);
	w->grace_ev = evtimer_new(sbd.base, worker_grace_cb, w);
	return (w);
}

/* argv and environment for a worker, built before fork. */
struct spawn {
	char		**argv;
	size_t		  argc;
	const struct pool_config *pc;
};

static void
worker_arg(struct spawn *sp, const char *fmt, ...)
{
	va_list ap;
	char **v;

	if ((v = realloc(sp->argv, (sp->argc + 2) * sizeof *v)) == NULL)
		abort();
	sp->argv = v;
	va_start(ap, fmt);
	if (vasprintf(&sp->argv[sp->argc], fmt, ap) == -1)
		abort();
	va_end(ap);
	sp->argv[++sp->argc] = NULL;
}

/* The option opt once before each item of l. */
static void
worker_arg_each(struct spawn *sp, const char *opt, const struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		worker_arg(sp, "%s", opt);
		worker_arg(sp, "%s", l->v[i]);
	}
}

static void
worker_spawn_free(struct spawn *sp)
{
	size_t i;

	for (i = 0; i < sp->argc; i++)
		free(sp->argv[i]);
	free(sp->argv);
}

static void
worker_build_argv(struct worker *w, struct spawn *sp)
{
	const struct pool_config *pc = sp->pc;
	char *pattern;
	glob_t g;
	size_t i;

	worker_arg(sp, "%s", sbd.worker_bin);
	worker_arg(sp, "--fd");
	worker_arg(sp, "3");
	worker_arg(sp, "--shm-fd");
	worker_arg(sp, "%d", SB_SHM_WORKER_FD);
	worker_arg(sp, "--pool");
	worker_arg(sp, "%s", w->pool->name);
	worker_arg(sp, "--pool-id");
	worker_arg(sp, "%u", (unsigned)w->pool->id);
	worker_arg(sp, "--slot");
	worker_arg(sp, "%u", w->slot);
	worker_arg(sp, "--generation");
	worker_arg(sp, "%u", (unsigned)w->generation);
	if (pc != NULL)
		worker_arg_each(sp, "--path", &pc->path);
	if (pc != NULL && pc->venv != NULL) {
		if (asprintf(&pattern, "%s/lib/python3*/site-packages",
		    pc->venv) == -1)
			abort();
		if (glob(pattern, 0, NULL, &g) == 0) {
			for (i = 0; i < g.gl_pathc; i++) {
				worker_arg(sp, "--path");
				worker_arg(sp, "%s", g.gl_pathv[i]);
			}
			globfree(&g);
		} else
			log_warn("pool %s: no site-packages under venv %s",
			    w->pool->name, pc->venv);
		free(pattern);
	}
	if (pc != NULL) {
		worker_arg_each(sp, "--preload", &pc->preload);
		worker_arg_each(sp, "--allow-module", &pc->allow_modules);
		worker_arg_each(sp, "--deny-module", &pc->deny_modules);
	}
	worker_arg(sp, "--max-refs");
	worker_arg(sp, "%llu",
	    (unsigned long long)sbd.conf->max_refs_per_session);
	worker_arg(sp, "--max-message");
	worker_arg(sp, "%zu", sbd.conf->max_message_size);
}

/* In the child: set up fds, process group, environment, then exec. */
static void __attribute__((noreturn))
worker_child(struct spawn *sp, int chan, int shm, int logfd, pid_t parent)
{
	sigset_t set;
	size_t i;
	int null;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	if (sbd.nofile.rlim_cur != RLIM_INFINITY)
		setrlimit(RLIMIT_NOFILE, &sbd.nofile);
	/* move the fds above the ones we are about to fill */
	chan = fcntl(chan, F_DUPFD_CLOEXEC, 10);
	shm = fcntl(shm, F_DUPFD_CLOEXEC, 10);
	logfd = fcntl(logfd, F_DUPFD_CLOEXEC, 10);
	if (chan == -1 || shm == -1 || logfd == -1)
		_exit(127);
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, 0) == -1 || dup2(logfd, 1) == -1 ||
	    dup2(logfd, 2) == -1 || dup2(chan, 3) == -1 ||
	    dup2(shm, SB_SHM_WORKER_FD) == -1)
		_exit(127);
	for (i = 0; sp->pc != NULL && i < sp->pc->env.n; i++)
		putenv(sp->pc->env.v[i]);
	execv(sp->argv[0], sp->argv);
	fprintf(stderr, "exec %s: %s\n", sp->argv[0], strerror(errno));
	_exit(127);
}

static void
worker_close_pair(int p[2])
{
	close(p[0]);
	close(p[1]);
}

void
worker_start(struct worker *w)
{
	struct spawn sp;
	sigset_t all, old;
	int sv[2], bp[2], lp[2];
	pid_t pid, parent = getpid();

	if (sbd.shutting_down || w->retire)
		return;
	memset(&sp, 0, sizeof sp);
	sp.pc = config_find_pool(sbd.conf, w->pool->name);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_errno("socketpair");
		goto retry;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, bp) == -1) {
		log_errno("socketpair");
		worker_close_pair(sv);
		goto retry;
	}
	if (pipe2(lp, O_CLOEXEC) == -1) {
		log_errno("pipe");
		worker_close_pair(sv);
		worker_close_pair(bp);
		goto retry;
	}
	worker_build_argv(w, &sp);
	/* no signal handler of ours may run in the child before exec */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0)
		worker_child(&sp, sv[1], bp[1], lp[1], parent);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		log_errno("fork");
		worker_close_pair(sv);
		worker_close_pair(bp);
		worker_close_pair(lp);
		worker_spawn_free(&sp);
		goto retry;
	}
	setpgid(pid, pid);
	worker_spawn_free(&sp);
	close(sv[1]);
	close(bp[1]);
	close(lp[1]);
	w->pid = pid;
	w->fd = sv[0];
	/* a new process has no blocks: shm.c counts by generation */
	w->shmfd = bp[0];
	evutil_make_socket_nonblocking(bp[0]);
	w->state = WORKER_STARTING;
	w->spawned = sbd_now();
	w->expect_exit = 0;
	w->draining = 0;
	w->drain_since = 0;
	w->stop_reason = NULL;
	w->gen_requests = 0;
	w->rss_kb = w->refs = 0;
	w->stats_at = sbd_now();
	frame_init(&w->frame, sbd.conf->max_message_size * SBD_WORKER_BOUND,
	    sbd.conf->max_depth + 8);
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(lp[0]);
	w->bev = bufferevent_socket_new(sbd.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	w->logbev = bufferevent_socket_new(sbd.base, lp[0],
	    BEV_OPT_CLOSE_ON_FREE);
	if (w->bev == NULL || w->logbev == NULL)
		abort();
	bufferevent_setcb(w->bev, NULL, NULL, worker_event_cb, w);
	bufferevent_set_max_single_write(w->bev, SBD_IO_CHUNK);
	io_init(&w->out, w->bev, sv[0]);
	w->rev = event_new(sbd.base, sv[0], EV_READ | EV_PERSIST,
	    worker_read_cb, w);
	if (w->rev == NULL)
		abort();
	event_add(w->rev, NULL);
	bufferevent_setcb(w->logbev, worker_log_cb, NULL, NULL, w);
	bufferevent_enable(w->logbev, EV_READ);
	log_debug("worker %s/%u: started pid %d generation %u", w->pool->name,
	    w->slot, (int)pid, (unsigned)w->generation);
	return;
retry:
	w->state = WORKER_DOWN;
	w->backoff_ms = WORKER_BACKOFF_MAX;
	sbd_timer_add(w->restart_ev, WORKER_BACKOFF_MAX);
}

static void
worker_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	worker_start(arg);
}

/* A wid for w's next request (the top bit marks requests sent ahead). */
uint32_t
worker_new_wid(struct worker *w)
{
	return (++w->next_wid & ~SBD_WID_AHEAD);
}

/* Count r as served by w. */
void
worker_count(struct worker *w, const struct request *r)
{
	if (r->internal_method == NULL) {
		w->requests++;
		w->gen_requests++;
	}
}

/* Send r to w, which must be idle or waiting for a callback. */
void
worker_send(struct worker *w, struct request *r)
{
	if (w->state == WORKER_BUSY)
		callback_push(w);	/* nested in a callback's wait */
	r->state = REQUEST_RUNNING;
	r->worker = w;
	w->state = WORKER_BUSY;
	w->cur = r;
	w->cur_wid = worker_new_wid(w);
	worker_count(w, r);
	if (r->method != NULL && (r->method->flags & M_STREAMFORM))
		stream_start(r, w->cur_wid);
	if (r->internal_method != NULL)
		request_start_timer(r);	/* cleanup_timeout */
	relay_to_worker(r, w, w->cur_wid);
}

void
worker_write(struct worker *w, const void *buf, size_t len)
{
	worker_write2(w, buf, len, NULL, 0, NULL);
}

/* Send w the notification [2, method, [v]]. */
void
worker_notify(struct worker *w, const char *method, uint64_t v)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sb_pack_notify_head(&pk, method, 1);
	msgpack_pack_uint64(&pk, v);
	worker_write(w, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* Write a header and a body (lying in block, freed once sent, if set). */
void
worker_write2(struct worker *w, const void *hdr, size_t hlen,
    const void *body, size_t blen, char *block)
{
	if (w->bev == NULL) {
		free(block);
		return;
	}
	io_write(&w->out, hdr, hlen, body, blen, block);
}

void
worker_kill(struct worker *w, int sig)
{
	if (w->pid <= 0)
		return;
	if (sig != SIGINT)
		w->expect_exit = 1;
	kill(-w->pid, sig);
	kill(w->pid, sig);
}

/* Arm w's grace timer: the next nudge, or the kill. */
static void
worker_grace_arm(struct worker *w, uint64_t ms)
{
	w->grace_set = 1;
	sbd_timer_add(w->grace_ev, ms);
}

/* Stop w's grace timer, unless it is known not to be pending. */
static void
worker_grace_stop(struct worker *w)
{
	if (w->grace_set) {
		w->grace_set = 0;
		event_del(w->grace_ev);
	}
}

/*
 * Interrupt w's request; kill it if it is still busy with it after grace.
 * Meanwhile the worker's main thread is nudged now and then, at growing
 * intervals: an interrupt that came just before a blocking call started
 * is raised only once that call returns, and the nudge makes it return.
 */
void
worker_interrupt(struct worker *w)
{
	uint64_t ms = sbd.conf->grace;
	union sigval v;

	if (w->state != WORKER_BUSY)
		return;
	log_info("worker %s/%u: interrupting request (pid %d)",
	    w->pool->name, w->slot, (int)w->pid);
	/* drops written in this pass reach the socket before the signal */
	io_flush_peer(&w->out);
	/* the worker ignores it unless it still runs that request */
	v.sival_int = (int)w->cur_wid;
	if (sigqueue(w->pid, SIGINT, v) == -1)
		kill(w->pid, SIGINT);
	w->grace_wid = w->cur_wid;
	w->grace_until = sbd_now() + ms / 1000.0;
	w->nudge_ms = WORKER_NUDGE_MS;
	worker_grace_arm(w, ms < w->nudge_ms ? ms : w->nudge_ms);
}

static void
worker_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	double left;

	w->grace_set = 0;
	if (w->state != WORKER_BUSY || w->cur_wid != w->grace_wid)
		return;
	left = (w->grace_until - sbd_now()) * 1000.0;
	if (left >= 1) {
		tgkill(w->pid, w->pid, SB_SIG_NUDGE);	/* its main thread */
		w->nudge_ms *= 4;
		worker_grace_arm(w, left < w->nudge_ms ? (uint64_t)left :
		    w->nudge_ms);
		return;
	}
	log_warn("worker %s/%u: did not stop after interrupt, killing pid %d",
	    w->pool->name, w->slot, (int)w->pid);
	w->stop_reason = "timeout";
	worker_kill(w, SIGKILL);
}

/* A request finished; w takes the next one. */
void
worker_idle(struct worker *w)
{
	w->state = WORKER_IDLE;
	w->cur = NULL;
	worker_grace_stop(w);
	if (sbd.shutting_down) {
		/* only session cleanups are still queued */
		sbd_worker_done();
		pool_dispatch(w->pool);
		return;
	}
	if (w->expect_exit) {
		/* told to stop (worker.restart): it takes nothing more */
		w->state = WORKER_STOPPING;
		return;
	}
	worker_check_recycle(w);
	if (w->state == WORKER_IDLE || w->draining)
		pool_dispatch(w->pool);
}

/* w reached a recycling limit: it takes no new sessions from now on. */
void
worker_drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = 1;
	w->drain_since = sbd_now();
}

/*
 * Has w drained for longer than its pool's drain_timeout? Logged and
 * counted when it says so: w is then stopped with sessions still bound.
 */
static int
worker_drain_expired(struct worker *w)
{
	uint64_t ms = w->pool->drain_timeout;

	if (ms == 0 || w->drain_since <= 0 ||
	    (sbd_now() - w->drain_since) * 1000.0 < (double)ms)
		return (0);
	log_warn("worker %s/%u: %u sessions still bound after drain_timeout "
	    "(%llu ms), %s it; their refs are lost", w->pool->name, w->slot,
	    w->sessions, (unsigned long long)ms, w->retire ? "stopping" :
	    "restarting");
	sbd.counters.drain_timeouts++;
	w->stop_reason = "drain_timeout";
	return (1);
}

/*
 * Recycling: past max_requests or max_age a worker takes no new sessions;
 * once it is idle and no session is bound to it, or drain_timeout passed,
 * it is restarted. A retired worker (its pool shrank) is stopped the same
 * way, without a restart.
 */
void
worker_check_recycle(struct worker *w)
{
	const struct pool_config *pc;
	double age;

	if (w->state != WORKER_IDLE || sbd.shutting_down)
		return;
	if (w->retire) {
		/* the pool shrank: stop for good once no session needs it */
		if (w->sessions == 0 || worker_drain_expired(w)) {
			if (w->stop_reason == NULL)
				w->stop_reason = "retired";
			w->state = WORKER_STOPPING;
			worker_kill(w, SIGTERM);
		}
		return;
	}
	if (!w->draining) {
		pc = config_find_pool(sbd.conf, w->pool->name);
		if (pc == NULL)
			return;
		if (pc->max_requests > 0 &&
		    w->gen_requests >= pc->max_requests)
			log_info("worker %s/%u: served %llu requests, "
			    "recycling", w->pool->name, w->slot,
			    (unsigned long long)w->gen_requests);
		else if (pc->max_age > 0 && (age = sbd_now() - w->spawned) *
		    1000 >= (double)pc->max_age)
			log_info("worker %s/%u: %.0f s old, recycling",
			    w->pool->name, w->slot, age);
		else
			return;
		worker_drain(w);
	}
	if (w->sessions > 0 && !worker_drain_expired(w))
		return;
	w->state = WORKER_STOPPING;
	w->backoff_ms = 0;
	w->recycled = 1;
	if (w->stop_reason == NULL)
		w->stop_reason = "recycled";
	worker_kill(w, SIGTERM);
}

/* Log complete lines the worker printed. */
static void
worker_log_lines(struct worker *w, int flush)
{
	struct evbuffer *in = bufferevent_get_input(w->logbev);
	char *line, buf[WORKER_LOG_LINE];
	size_t len;
	int n;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		log_info("worker %s/%u: %s", w->pool->name, w->slot, line);
		free(line);
	}
	/* a line too long or a last line without newline */
	while (evbuffer_get_length(in) >= (flush ? 1 : sizeof buf - 1)) {
		n = evbuffer_remove(in, buf, sizeof buf - 1);
		if (n <= 0)
			break;
		buf[n] = '\0';
		log_info("worker %s/%u: %s", w->pool->name, w->slot, buf);
	}
}

static void
worker_log_cb(struct bufferevent *bev, void *arg)
{
	worker_log_lines(arg, 0);
}

static void
worker_close_channels(struct worker *w)
{
	if (w->rev != NULL) {
		event_free(w->rev);
		w->rev = NULL;
	}
	if (w->bev != NULL) {
		io_close(&w->out);
		bufferevent_free(w->bev);
		w->bev = NULL;
	}
	if (w->logbev != NULL) {
		/* what the worker printed last is still in the pipe */
		while (evbuffer_read(bufferevent_get_input(w->logbev),
		    bufferevent_getfd(w->logbev), 65536) > 0)
			;
		worker_log_lines(w, 1);
		bufferevent_free(w->logbev);
		w->logbev = NULL;
	}
	frame_free(&w->frame);
	w->fd = -1;
	if (w->shmfd != -1) {
		close(w->shmfd);
		w->shmfd = -1;
	}
}

/* Fail the request w was serving when it died. */
static void
worker_fail_current(struct worker *w, int status)
{
	struct request *r = w->cur;

	w->cur = NULL;
	if (r == NULL)
		return;
	if (WIFSIGNALED(status))
		request_error_details(r, SB_ERRTYPE_WORKER_CRASHED, "signal",
		    WTERMSIG(status), "worker %s/%u died of signal %d (%s)",
		    w->pool->name, w->slot, WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		request_error_details(r, SB_ERRTYPE_WORKER_CRASHED,
		    "exit_status", WEXITSTATUS(status), "worker %s/%u exited "
		    "with status %d", w->pool->name, w->slot,
		    WEXITSTATUS(status));
}

/* Why w exited; a run of crashes soon after each start is a crash loop. */
static void
worker_note_exit(struct worker *w, double up)
{
	if (w->stop_reason != NULL)
		w->exit_reason = w->stop_reason;
	else
		w->exit_reason = w->expect_exit ? "stopped" : "crashed";
	w->stop_reason = NULL;
	if (w->expect_exit || up >= WORKER_HEALTHY) {
		w->fast_crashes = 0;
		return;
	}
	if (++w->fast_crashes >= WORKER_CRASH_LOOP)
		log_error("worker %s/%u: crash loop: %u crashes in a row, each "
		    "within %.0f s of its start; restarts back off", w->pool->name,
		    w->slot, w->fast_crashes, WORKER_HEALTHY);
}

/* Is w crash-looping (and not up and healthy since)? */
int
worker_crash_loop(const struct worker *w)
{
	if (w->fast_crashes < WORKER_CRASH_LOOP)
		return (0);
	return (w->pid <= 0 || sbd_now() - w->spawned < WORKER_HEALTHY);
}

static void
worker_exited(struct worker *w, int status)
{
	double up = sbd_now() - w->spawned;
	if (WIFSIGNALED(status) && w->expect_exit)
		log_info("worker %s/%u: pid %d stopped by signal %d",
		    w->pool->name, w->slot, (int)w->pid, WTERMSIG(status));
	else if (WIFSIGNALED(status))
		log_warn("worker %s/%u: pid %d killed by signal %d",
		    w->pool->name, w->slot, (int)w->pid, WTERMSIG(status));
	else if (w->expect_exit)
		log_info("worker %s/%u: pid %d exited with status %d",
		    w->pool->name, w->slot, (int)w->pid, WEXITSTATUS(status));
	else
		log_warn("worker %s/%u: pid %d exited with status %d",
		    w->pool->name, w->slot, (int)w->pid, WEXITSTATUS(status));
	if (!w->expect_exit)
		sbd.counters.crashes++;
	w->has_exit = 1;
	w->last_exit = status;
	worker_note_exit(w, up);
	metrics_worker_exit(w, status);
	w->pid = -1;
	worker_close_channels(w);
	worker_grace_stop(w);
	worker_fail_current(w, status);
	ahead_lost(w);
	pool_fail_internal(w);
	callback_worker_gone(w);
	w->state = WORKER_DOWN;
	w->generation++;	/* its refs are lost */
	if (sbd.shutting_down) {
		sbd_worker_gone();
		return;
	}
	if (w->retire)
		return;
	if (w->recycled) {
		w->recycled = 0;
		w->backoff_ms = 0;
		worker_start(w);
		pool_dispatch(w->pool);
		return;
	}
	if (up >= WORKER_HEALTHY || w->backoff_ms == 0 || w->expect_exit)
		w->backoff_ms = WORKER_BACKOFF_MIN;
	else if ((w->backoff_ms *= 2) > WORKER_BACKOFF_MAX)
		w->backoff_ms = WORKER_BACKOFF_MAX;
	w->restarts++;
	log_info("worker %s/%u: restarting in %llu ms", w->pool->name,
	    w->slot, (unsigned long long)w->backoff_ms);
	sbd_timer_add(w->restart_ev, w->backoff_ms);
	pool_dispatch(w->pool);
}

static void
worker_find_pid(struct worker *w, void *arg)
{
	struct worker **found = ((void **)arg)[0];
	pid_t pid = *(pid_t *)((void **)arg)[1];

	if (w->pid == pid)
		*found = w;
}

/* Reap children (SIGCHLD). */
void
worker_sigchld(void)
{
	struct worker *w;
	void *arg[2];
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		w = NULL;
		arg[0] = &w;
		arg[1] = &pid;
		pool_foreach_worker(worker_find_pid, arg);
		if (w != NULL)
			worker_exited(w, status);
	}
}

static int
worker_msg_cb(void *arg, char *msg, size_t len, int owned)
{
	return (relay_from_worker(arg, msg, len, owned));
}

/* The channel is closed or broken: the process is gone or going. */
static void
worker_channel_closed(struct worker *w)
{
	event_del(w->rev);
	if (w->pid > 0 && w->state != WORKER_STOPPING) {
		log_debug("worker %s/%u: channel closed", w->pool->name,
		    w->slot);
		kill(-w->pid, SIGKILL);
	}
	/* SIGCHLD finishes the job */
}

static void
worker_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int rc;

	io_begin();
	rc = frame_read(&w->frame, fd, worker_msg_cb, w);
	if (rc == FRAME_CLOSED)
		worker_channel_closed(w);
	else if (rc != 0) {
		log_error("worker %s/%u: %s, killing it", w->pool->name,
		    w->slot, rc < 0 ? sb_scan_strerror(rc) :
		    "protocol error");
		w->stop_reason = "protocol_error";
		worker_kill(w, SIGKILL);
		w->expect_exit = 0;
		event_del(w->rev);
	}
	io_end();
}

static void
worker_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		worker_channel_closed(arg);
}

/* Restart a worker on request (worker.restart): a clean stop, then start. */
void
worker_restart(struct worker *w)
{
	if (w->pid > 0) {
		w->stop_reason = "restart";
		/* it takes no request while it dies (busy: see worker_idle) */
		if (w->state == WORKER_IDLE)
			w->state = WORKER_STOPPING;
		worker_kill(w, SIGTERM);
	} else if (w->state == WORKER_DOWN) {
		event_del(w->restart_ev);
		worker_start(w);
	}
}

void
worker_free(struct worker *w)
{
	if (w->pid > 0) {
		kill(-w->pid, SIGKILL);
		kill(w->pid, SIGKILL);
	}
	worker_close_channels(w);
	ahead_lost(w);
	callback_worker_gone(w);
	event_free(w->restart_ev);
	event_free(w->grace_ev);
	free(w);
}
