/*
 * pool.c: pools of workers built from the config, one FIFO queue per pool
 * with a limit, and dispatch: a request runs when the worker it needs (its
 * refs' worker, its session's bound worker, or for an unbound session the
 * least loaded idle one) is idle, or may be sent ahead to its busy worker
 * (ahead.c). Affinity decides what a busy worker means.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

static struct pool	**pools;
static unsigned		  npools;
static struct event	 *pool_tick_ev;

static void
pool_tick_worker(struct worker *w, void *arg)
{
	worker_check_recycle(w);
	stats_poll(w);
}

/* Once a second: recycling limits that depend on time, stats polls. */
static void
pool_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	pool_foreach_worker(pool_tick_worker, NULL);
}

void
pool_init(void)
{
	struct timeval tv = { 1, 0 };

	pool_tick_ev = event_new(sbd.base, -1, EV_PERSIST, pool_tick_cb,
	    NULL);
	evtimer_add(pool_tick_ev, &tv);
}

void
pool_stop_timer(void)
{
	if (pool_tick_ev != NULL) {
		event_free(pool_tick_ev);
		pool_tick_ev = NULL;
	}
}

struct pool *
pool_find(const char *name)
{
	unsigned i;

	for (i = 0; i < npools; i++) {
		if (!pools[i]->retired && strcmp(pools[i]->name, name) == 0)
			return (pools[i]);
	}
	return (NULL);
}

struct pool *
pool_by_id(unsigned id)
{
	return (id < npools ? pools[id] : NULL);
}

unsigned
pool_count(void)
{
	return (npools);
}

static struct pool *
pool_new(const char *name)
{
	struct pool *p, **v;

	if ((p = calloc(1, sizeof *p)) == NULL ||
	    (p->name = strdup(name)) == NULL)
		abort();
	p->id = (uint16_t)npools;
	TAILQ_INIT(&p->queue);
	if ((v = realloc(pools, (npools + 1) * sizeof *v)) == NULL)
		abort();
	pools = v;
	pools[npools++] = p;
	return (p);
}

/*
 * Give p size active workers: new slots start, slots past size retire (they
 * stop once no session is bound to them, and their slot stays so that their
 * refs are RefLost), retired slots within size come back.
 */
static void
pool_resize(struct pool *p, unsigned size)
{
	struct worker **v, *w;
	unsigned i;

	for (i = 0; i < p->nworkers; i++) {
		w = p->workers[i];
		if (i < size && w->retire) {
			w->retire = 0;
			if (w->pid <= 0 && w->state == WORKER_DOWN)
				worker_start(w);
		} else if (i >= size && !w->retire) {
			w->retire = 1;
			w->drain_since = sbd_now();
			event_del(w->restart_ev);
			worker_check_recycle(w);
		}
	}
	if (size > p->nworkers) {
		v = realloc(p->workers, size * sizeof *v);
		if (v == NULL)
			abort();
		p->workers = v;
		for (i = p->nworkers; i < size; i++) {
			p->workers[i] = worker_new(p, i);
			worker_start(p->workers[i]);
		}
		p->nworkers = size;
	}
	if (size != p->size && p->size != 0)
		log_info("pool %s: %u workers (was %u)", p->name, size,
		    p->size);
	p->size = size;
}

/* Create or update pools to match sbd.conf (start and reload). */
int
pool_apply_config(void)
{
	const struct config *conf = sbd.conf;
	struct pool *p;
	size_t i;
	unsigned j;

	if (conf->npools + npools > 65535)
		return (-1);
	for (j = 0; j < npools; j++) {
		if (config_find_pool(conf, pools[j]->name) == NULL &&
		    !pools[j]->retired) {
			log_warn("pool %s is no longer configured; its "
			    "workers stop when their sessions end",
			    pools[j]->name);
			pools[j]->retired = 1;
			pool_resize(pools[j], 0);
		}
	}
	for (i = 0; i < conf->npools; i++) {
		const struct pool_config *pc = &conf->pools[i];

		if ((p = pool_find(pc->name)) == NULL)
			p = pool_new(pc->name);
		p->affinity = pc->affinity;
		p->queue_limit = pc->queue_limit;
		p->drain_timeout = pc->drain_timeout;
		pool_resize(p, pc->size);
	}
	return (0);
}

static int
pool_worker_idle(const struct worker *w)
{
	return (w != NULL && w->state == WORKER_IDLE);
}

/* May w take a new session? Draining ones only when all others drain. */
static int
pool_takes_sessions(const struct pool *p, const struct worker *w)
{
	unsigned i;

	if (w->retire)
		return (0);
	if (!w->draining)
		return (1);
	for (i = 0; i < p->nworkers; i++) {
		if (!p->workers[i]->draining && !p->workers[i]->retire &&
		    p->workers[i]->state != WORKER_DOWN)
			return (0);
	}
	return (1);
}

/* The idle worker with the fewest bound sessions, or NULL. */
static struct worker *
pool_least_loaded(struct pool *p)
{
	struct worker *best = NULL, *w;
	unsigned i;

	for (i = 0; i < p->nworkers; i++) {
		w = p->workers[i];
		if (w->state != WORKER_IDLE || !pool_takes_sessions(p, w))
			continue;
		if (best == NULL || w->sessions < best->sessions)
			best = w;
	}
	return (best);
}

/*
 * The worker s is bound to, or NULL when it has none or its worker left
 * for good (a retired slot that stopped).
 */
static struct worker *
pool_bound_worker(const struct session *s)
{
	if (s == NULL || s->worker == NULL)
		return (NULL);
	if (s->worker->retire && s->worker->state == WORKER_DOWN)
		return (NULL);
	return (s->worker);
}

/* The worker r waits for in particular (refs or binding), or NULL. */
static struct worker *
pool_target(const struct request *r)
{
	if (r->worker != NULL)
		return (r->worker);
	return (r->any_worker ? NULL : pool_bound_worker(r->session));
}

/*
 * May r start on t now, or be sent ahead to it? Not ahead when a request
 * before r in the queue waits for t: the order would change.
 */
static int
pool_takes(const struct pool *p, struct worker *t, const struct request *r)
{
	/* busy waiting for a callback of r's session: nested */
	if (pool_worker_idle(t) || callback_may_nest(t, r))
		return (1);
	return (t->blocked_pass != p->pass && ahead_fits(t, r));
}

/* Which worker r may run on now; NULL: keep it queued. */
static struct worker *
pool_pick(struct pool *p, struct request *r)
{
	struct worker *w, *bound = pool_bound_worker(r->session);
	unsigned i;

	if (r->worker != NULL)
		return (pool_takes(p, r->worker, r) ? r->worker : NULL);
	if (bound != NULL) {
		if (pool_takes(p, bound, r))
			return (bound);
		if (!r->any_worker)
			return (NULL);
	}
	if (!r->any_worker)
		return (pool_least_loaded(p));
	for (i = 0; i < p->nworkers; i++) {
		w = p->workers[i];
		if (w->state == WORKER_IDLE && !w->retire)
			return (w);
	}
	return (NULL);
}

void
pool_unqueue(struct request *r)
{
	TAILQ_REMOVE(&r->pool->queue, r, qentry);
	r->pool->queued--;
	r->state = REQUEST_NEW;
}

/*
 * Could a queued request of p start now? Only on an idle worker, or on a
 * busy one that may take nested requests (it has had callbacks out): when
 * there is none, pool_pick would refuse every request of the queue.
 */
static int
pool_has_taker(const struct pool *p)
{
	const struct worker *w;
	unsigned i;

	for (i = 0; i < p->nworkers; i++) {
		w = p->workers[i];
		if (w->state == WORKER_IDLE ||
		    (w->state == WORKER_BUSY && w->nest != NULL) ||
		    ahead_open(w))
			return (1);
	}
	return (0);
}

/*
 * Dispatch what may start now. A request whose shared blocks cannot be
 * handed to its worker fails before anything binds it there; answering it
 * may change the queue (a session ending), so the pass starts over.
 */
void
pool_dispatch(struct pool *p)
{
	struct request *r, *next;
	struct worker *w;
	char msg[200];

again:
	p->pass++;
	for (r = TAILQ_FIRST(&p->queue); r != NULL; r = next) {
		if (!pool_has_taker(p))
			break;
		next = TAILQ_NEXT(r, qentry);
		if ((w = pool_pick(p, r)) == NULL) {
			if ((w = pool_target(r)) != NULL)
				w->blocked_pass = p->pass;
			continue;
		}
		pool_unqueue(r);
		if (r->nshm > 0 && shm_send_blocks(r, w, msg,
		    sizeof msg) != 0) {
			request_error(r, SB_ERRTYPE_SHARED_MEMORY, "%s", msg);
			goto again;
		}
		if (r->session != NULL) {
			if (pool_bound_worker(r->session) == NULL ||
			    r->session->worker == w)
				session_bind(r->session, w);
			if (w->slot < 64)
				r->session->served |= 1ULL << w->slot;
		}
		if (w->state == WORKER_BUSY && !callback_may_nest(w, r))
			ahead_send(w, r);
		else
			worker_send(w, r);
	}
}

/* Would r wait for a busy worker it is bound to? */
static int
pool_would_wait(struct pool *p, struct request *r)
{
	struct worker *w = r->worker;

	if (w == NULL && !r->any_worker)
		w = pool_bound_worker(r->session);
	return (w != NULL && !pool_worker_idle(w));
}

/* Queue r and dispatch; 0, or -1 after answering an error. */
int
pool_submit(struct request *r)
{
	struct pool *p = r->pool;

	if (r->conn != NULL && sbd.shutting_down) {
		request_error(r, SB_ERRTYPE_SHUTTING_DOWN, "the daemon is "
		    "shutting down");
		return (-1);
	}
	if (r->conn != NULL && r->affinity == AFFINITY_STRICT_FAIL_FAST &&
	    pool_would_wait(p, r)) {
		request_error(r, SB_ERRTYPE_WORKER_BUSY, "the session's "
		    "worker is busy");
		return (-1);
	}
	if (r->conn != NULL && p->queued >= p->queue_limit) {
		request_error_details(r, SB_ERRTYPE_OVERLOADED, "limit",
		    p->queue_limit, "pool %s: queue full (%u requests)",
		    p->name, p->queue_limit);
		return (-1);
	}
	r->state = REQUEST_QUEUED;
	TAILQ_INSERT_TAIL(&p->queue, r, qentry);
	p->queued++;
	if (r->conn != NULL)
		request_start_timer(r);
	pool_dispatch(p);
	return (0);
}

/*
 * Fail every queued client request, those sent ahead to a busy worker too;
 * internal ones (session cleanups) too when internal is set, else they stay
 * queued.
 */
void
pool_fail_queued(enum sb_errtype type, const char *msg, int internal)
{
	struct request *r, *next;
	unsigned i, j;

	for (i = 0; i < npools; i++) {
		for (j = 0; j < pools[i]->nworkers; j++)
			ahead_fail(pools[i]->workers[j], NULL, type, msg);
		for (r = TAILQ_FIRST(&pools[i]->queue); r != NULL; r = next) {
			next = TAILQ_NEXT(r, qentry);
			if (r->conn != NULL || internal)
				request_error(r, type, "%s", msg);
		}
	}
}

/* The session s ended: its queued requests fail, and those sent ahead. */
void
pool_fail_session(struct session *s)
{
	struct request *r, *next;
	unsigned i, j;

	for (i = 0; i < npools; i++) {
		for (j = 0; j < pools[i]->nworkers; j++)
			ahead_fail(pools[i]->workers[j], s,
			    SB_ERRTYPE_SESSION_NOT_FOUND, "the session has "
			    "ended");
		for (r = TAILQ_FIRST(&pools[i]->queue); r != NULL; r = next) {
			next = TAILQ_NEXT(r, qentry);
			if (r->session != s)
				continue;
			if (r->conn == NULL)
				request_drop(r);
			else
				request_error(r, SB_ERRTYPE_SESSION_NOT_FOUND,
				    "the session has ended");
		}
	}
}

/* Call fn on every worker of every pool. */
void
pool_foreach_worker(void (*fn)(struct worker *, void *), void *arg)
{
	unsigned i, j;

	for (i = 0; i < npools; i++) {
		for (j = 0; j < pools[i]->nworkers; j++)
			fn(pools[i]->workers[j], arg);
	}
}

/*
 * w's process is gone: the internal requests queued for it (cleanups of
 * its objects, stats) have nothing left to act on.
 */
void
pool_fail_internal(struct worker *w)
{
	struct request *r, *next;

	for (r = TAILQ_FIRST(&w->pool->queue); r != NULL; r = next) {
		next = TAILQ_NEXT(r, qentry);
		if (r->conn == NULL && r->internal_method != NULL &&
		    r->worker == w)
			request_error(r, SB_ERRTYPE_WORKER_CRASHED, "worker "
			    "%s/%u is gone", w->pool->name, w->slot);
	}
}

/* Requests queued that wait for w in particular (refs or binding). */
unsigned
pool_queued_for(const struct worker *w)
{
	const struct request *r;
	unsigned n = 0;

	TAILQ_FOREACH(r, &w->pool->queue, qentry) {
		if (r->worker == w || (r->worker == NULL && !r->any_worker &&
		    r->session != NULL && r->session->worker == w))
			n++;
	}
	return (n);
}

void
pool_free_all(void)
{
	unsigned i, j;

	pool_stop_timer();
	pool_fail_queued(SB_ERRTYPE_SHUTTING_DOWN, "the daemon is shutting "
	    "down", 1);
	for (i = 0; i < npools; i++) {
		for (j = 0; j < pools[i]->nworkers; j++)
			worker_free(pools[i]->workers[j]);
		free(pools[i]->workers);
		free(pools[i]->name);
		free(pools[i]);
	}
	free(pools);
	pools = NULL;
	npools = 0;
}
