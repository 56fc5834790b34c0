/*
 * cleanup.c: dropping an ended session's Python objects as a supervised
 * task. Each worker that ran the session gets an internal session.drop,
 * bounded by [sessions] cleanup_timeout once it runs; a drop past it gets
 * its worker killed and restarted (the worker's other sessions lose their
 * refs), which is logged and counted. The totals feed `status`.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

/* One ended session whose drops are still out. */
struct cleanup {
	uint64_t		 sid;
	char			*name;		/* for the log; NULL: automatic */
	unsigned		 pending;	/* drops not answered yet */
	int			 failed;
	double			 started;
	TAILQ_ENTRY(cleanup)	 entry;
};
TAILQ_HEAD(cleanups, cleanup);

static struct cleanups		cleanup_list =
				    TAILQ_HEAD_INITIALIZER(cleanup_list);
static struct cleanup_totals	cleanup_sum;
static int			cleanup_off;	/* workers are stopping */

const struct cleanup_totals *
cleanup_totals(void)
{
	return (&cleanup_sum);
}

unsigned
cleanup_pending(void)
{
	struct cleanup *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &cleanup_list, entry)
		n++;
	return (n);
}

static struct cleanup *
cleanup_find(uint64_t sid)
{
	struct cleanup *c;

	TAILQ_FOREACH(c, &cleanup_list, entry) {
		if (c->sid == sid)
			return (c);
	}
	return (NULL);
}

/* Record a finished cleanup in the totals. */
static void
cleanup_account(int failed, double started)
{
	double ms = (sbd_now() - started) * 1000.0;

	if (ms < 0)
		ms = 0;
	if (failed)
		cleanup_sum.failures++;
	else
		cleanup_sum.cleaned++;
	cleanup_sum.ms_total += ms;
	if (ms > cleanup_sum.ms_max)
		cleanup_sum.ms_max = ms;
}

static void
cleanup_free(struct cleanup *c)
{
	TAILQ_REMOVE(&cleanup_list, c, entry);
	free(c->name);
	free(c);
}

/*
 * The drop r timed out while its worker was still running it: kill the
 * worker so the session's objects go with the process.
 */
static void
cleanup_kill(struct request *r, struct cleanup *c)
{
	struct worker *w = r->worker;

	log_warn("worker %s/%u: cleanup of session %llu (%s) not done after "
	    "%llu ms, restarting the worker (the refs of its other sessions "
	    "are lost)", w->pool->name, w->slot, (unsigned long long)r->
	    internal_sid, c != NULL && c->name != NULL ? c->name :
	    "automatic", (unsigned long long)r->timeout_ms);
	w->state = WORKER_STOPPING;
	w->backoff_ms = 0;
	w->stop_reason = "cleanup_timeout";
	worker_kill(w, SIGKILL);
}

/* A drop was answered (by its worker, a timeout or the worker's death). */
static void
cleanup_done(struct request *r, const char *body, size_t len)
{
	struct cleanup *c = cleanup_find(r->internal_sid);
	struct worker *w = r->worker;
	int ok = len > 0 && (unsigned char)body[0] == 0xc0;

	if (!ok && r->state == REQUEST_RUNNING && w != NULL && w->cur == r)
		cleanup_kill(r, c);
	else if (!ok && w != NULL && c != NULL)
		log_warn("worker %s/%u: cleanup of session %llu failed",
		    w->pool->name, w->slot,
		    (unsigned long long)r->internal_sid);
	if (c == NULL)
		return;		/* forgotten at shutdown */
	if (!ok)
		c->failed = 1;
	if (c->pending > 0 && --c->pending == 0) {
		cleanup_account(c->failed, c->started);
		log_debug("session %llu cleaned up%s",
		    (unsigned long long)c->sid, c->failed ? " (failed)" : "");
		cleanup_free(c);
		sbd_cleanup_done();
	}
}

/* Would w still hold objects of s? */
static int
cleanup_needed(const struct session *s, const struct worker *w)
{
	if (w->retire && w->state == WORKER_DOWN)
		return (0);	/* gone for good */
	if (s->worker == w && s->generation != w->generation)
		return (0);	/* restarted since: nothing is left */
	return (1);
}

/* Ask each worker that ran s (and may still hold its objects) to drop them. */
void
cleanup_start(struct session *s)
{
	struct worker *targets[64];
	struct cleanup *c;
	struct request *r;
	struct worker *w;
	unsigned slot, n = 0, i;

	if (cleanup_off)
		return;
	for (slot = 0; s->pool != NULL && slot < s->pool->nworkers &&
	    slot < 64; slot++) {
		w = s->pool->workers[slot];
		if ((s->served & (1ULL << slot)) && cleanup_needed(s, w))
			targets[n++] = w;
	}
	if (n == 0) {
		cleanup_account(0, sbd_now());
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL)
		abort();
	c->sid = s->id;
	c->started = sbd_now();
	c->pending = n;
	if (s->name != NULL && (c->name = strdup(s->name)) == NULL)
		abort();
	TAILQ_INSERT_TAIL(&cleanup_list, c, entry);
	for (i = 0; i < n; i++) {
		r = request_internal("session.drop", s->id);
		r->worker = targets[i];
		r->pool = s->pool;
		r->timeout_ms = sbd.conf->cleanup_timeout;
		r->internal_done = cleanup_done;
		pool_submit(r);
	}
}

/* The workers are being stopped: no new cleanup, forget those still out. */
void
cleanup_stop(void)
{
	struct cleanup *c;

	cleanup_off = 1;
	while ((c = TAILQ_FIRST(&cleanup_list)) != NULL) {
		cleanup_account(1, c->started);
		cleanup_free(c);
	}
}
