/*
 * ahead.c: pipelining into workers (docs/internals.md, "Pipelining"). A
 * request whose worker is fixed (its refs pin it, or its session is bound
 * to it under strict_queue) goes to that worker while it still serves
 * another one, up to SBD_AHEAD_MAX deep; the worker answers in order and
 * the next request sent ahead becomes current without another send. One
 * answered before it started (timeout, client gone) is dropped in the
 * worker with [2, "drop", [wid]]; when the worker dies, they fail with
 * WorkerCrashed (ahead_lost). Each drop notice comes with
 * the signal SB_SIG_DROP, which tells the worker to read before it starts
 * the next request sent ahead (it does not read otherwise).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

/* Is r of a kind that nothing may be sent ahead behind? */
static int
ahead_barrier(const struct request *r)
{
	return (r == NULL || r->conn == NULL || r->internal_method != NULL ||
	    r->method == NULL || (r->method->flags & M_STREAMFORM) ||
	    r->affinity != AFFINITY_STRICT_QUEUE);
}

/* May w take a request ahead now? */
int
ahead_open(const struct worker *w)
{
	if (w->state != WORKER_BUSY || w->pid <= 0 || w->bev == NULL ||
	    w->draining || w->retire || w->expect_exit ||
	    sbd.shutting_down || w->nahead >= SBD_AHEAD_MAX ||
	    callback_active(w))
		return (0);
	return (!ahead_barrier(w->cur));
}

/* May r go ahead to w, which is busy? Only when r cannot run elsewhere. */
int
ahead_fits(const struct worker *w, const struct request *r)
{
	if (ahead_barrier(r) || r->any_worker || !ahead_open(w))
		return (0);
	if (r->worker != NULL)
		return (r->worker == w);
	return (r->session != NULL && r->session->worker == w);
}

/* Send r to w behind the requests it serves. */
void
ahead_send(struct worker *w, struct request *r)
{
	struct wahead *a = &w->ahead[w->nahead++];

	a->r = r;
	a->wid = worker_new_wid(w) | SBD_WID_AHEAD;
	r->ahead = 1;
	r->state = REQUEST_RUNNING;
	r->worker = w;
	worker_count(w, r);
	relay_to_worker(r, w, a->wid);
}

/* w answered its current request: the first sent ahead is current now. */
int
ahead_next(struct worker *w)
{
	struct wahead a;

	if (w->nahead == 0)
		return (0);
	a = w->ahead[0];
	w->nahead--;
	memmove(&w->ahead[0], &w->ahead[1], w->nahead * sizeof a);
	w->cur = a.r;
	w->cur_wid = a.wid;
	if (a.r != NULL)
		a.r->ahead = 0;
	event_del(w->grace_ev);
	return (1);
}

/* Tell w that the drop notice for wid is on its way. */
static void
ahead_signal_drop(const struct worker *w, uint32_t wid)
{
	union sigval v;

	if (w->pid <= 0)
		return;
	v.sival_int = (int)wid;
	if (sigqueue(w->pid, SB_SIG_DROP, v) == -1)
		log_debug("worker %s/%u: drop signal: %s", w->pool->name,
		    w->slot, strerror(errno));
}

/* r, sent ahead to w, is being freed unstarted: w drops it. */
void
ahead_forget(struct worker *w, struct request *r)
{
	unsigned i;

	r->ahead = 0;
	for (i = 0; i < w->nahead; i++) {
		if (w->ahead[i].r != r)
			continue;
		w->ahead[i].r = NULL;
		log_debug("worker %s/%u: dropping request %llu sent ahead",
		    w->pool->name, w->slot, (unsigned long long)r->id);
		worker_notify(w, "drop", w->ahead[i].wid);
		/* the notice is in the socket before the signal arrives */
		io_flush_peer(&w->out);
		ahead_signal_drop(w, w->ahead[i].wid);
	}
}

/* Fail the requests sent ahead to w (of session s, if set): never run. */
void
ahead_fail(struct worker *w, const struct session *s, enum sb_errtype type,
    const char *msg)
{
	struct request *r;
	unsigned i;

	for (i = 0; i < w->nahead; i++) {
		if ((r = w->ahead[i].r) != NULL && (s == NULL ||
		    r->session == s))
			request_error(r, type, "%s", msg);
	}
}

/* Requests sent ahead to w and not answered yet. */
unsigned
ahead_count(const struct worker *w)
{
	unsigned i, n = 0;

	for (i = 0; i < w->nahead; i++) {
		if (w->ahead[i].r != NULL)
			n++;
	}
	return (n);
}

/*
 * w is gone with requests sent ahead unanswered: they fail. The worker holds
 * its answers while more requests sent ahead wait, so any of them may have
 * run (and the one the daemon took for current may have been answered):
 * running them again elsewhere could run a request twice.
 */
void
ahead_lost(struct worker *w)
{
	struct wahead lost[SBD_AHEAD_MAX];
	unsigned i, n = w->nahead;

	memcpy(lost, w->ahead, n * sizeof lost[0]);
	w->nahead = 0;
	for (i = 0; i < n; i++) {
		if (lost[i].r == NULL)
			continue;
		lost[i].r->ahead = 0;
		if (sbd.shutting_down)
			request_error(lost[i].r, SB_ERRTYPE_SHUTTING_DOWN,
			    "the daemon is shutting down");
		else
			request_error(lost[i].r, SB_ERRTYPE_WORKER_CRASHED,
			    "worker %s/%u died before answering it (it may "
			    "have run)", w->pool->name, w->slot);
	}
}
