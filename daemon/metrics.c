/*
 * metrics.c: the daemon's counters for observability: calls by method and
 * outcome, a fixed-bucket latency histogram per method, queue wait, worker
 * exits by reason, session counts; the hooks that feed them (one each from
 * the request, relay, worker and session paths, which also trace requests at
 * -v -v and emit events); the `stats []` result (docs/protocol.md, "Stats").
 * Nothing here allocates on the path of a successful call.
 */
#include <sys/time.h>

#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "snakebridged.h"

#define METRICS_METHODS		48	/* more than the method table */
#define METRICS_BUCKETS		12	/* finite upper bounds */
#define METRICS_OK		0	/* outcome slots */
#define METRICS_EXCEPTION	1	/* a Python exception */
#define METRICS_ERRTYPE(t)	(2 + (t))
#define METRICS_OUTCOMES	METRICS_ERRTYPE(SB_ERRTYPE_COUNT)

/* Upper bounds of the latency buckets, in seconds; the last is +Inf. */
static const double metrics_bounds[METRICS_BUCKETS] = {
	0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
	1.0, 10.0,
};

struct metrics_hist {
	uint64_t	 buckets[METRICS_BUCKETS + 1];	/* not cumulative */
	uint64_t	 count;
	double		 sum;
};

struct metrics_method {
	uint64_t		 outcomes[METRICS_OUTCOMES];
	struct metrics_hist	 latency;
};

#define METRICS_REASONS		16	/* distinct worker exit reasons */

/* Worker exits by reason (worker.c's static names, compared by text). */
struct metrics_exits {
	const char	*reason;
	uint64_t	 count;
};

static struct {
	struct metrics_method	 methods[METRICS_METHODS];
	struct metrics_hist	 queue_wait;
	struct metrics_exits	 exits[METRICS_REASONS];
	unsigned		 nexits;
	uint64_t		 sessions_opened;
	uint64_t		 sessions_ended;
} metrics;

/*
 * Seconds on the monotonic clock, read once per pass of the event loop: a
 * pass is known by the time the loop cached for it, which changes with every
 * pass (outside the loop it is read afresh, and so is the clock).
 */
double
metrics_clock(void)
{
	static struct timeval	 pass;
	static double		 at;
	struct timeval		 tv = { 0, 0 };
	struct timespec		 ts;

	if (sbd.base != NULL && event_base_gettimeofday_cached(sbd.base,
	    &tv) == 0 && timercmp(&tv, &pass, ==))
		return (at);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	pass = tv;
	return (at);
}

static void
metrics_observe(struct metrics_hist *h, double secs)
{
	unsigned i;

	for (i = 0; i < METRICS_BUCKETS && secs > metrics_bounds[i]; i++)
		;
	h->buckets[i]++;
	h->count++;
	h->sum += secs;
}

/*
 * The outcome slot of an answer body (error, result): ok, a daemon error
 * type, or a Python exception. Only an error is decoded; its type goes to
 * type.
 */
static unsigned
metrics_outcome(const char *body, size_t len, char *type, size_t typelen)
{
	msgpack_unpacked up;
	const msgpack_object *v;
	size_t off = 0;
	unsigned slot = METRICS_EXCEPTION, t;

	if (len == 0 || (unsigned char)body[0] == 0xc0)
		return (METRICS_OK);
	snprintf(type, typelen, "?");
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, body, len, &off) ==
	    MSGPACK_UNPACK_SUCCESS && (v = mpk_map_get(&up.data, "type")) !=
	    NULL && v->type == MSGPACK_OBJECT_STR) {
		snprintf(type, typelen, "%.*s", (int)v->via.str.size,
		    v->via.str.ptr);
		for (t = 0; t < SB_ERRTYPE_COUNT; t++) {
			if (strcmp(type, sb_errtype_name(t)) == 0) {
				slot = METRICS_ERRTYPE(t);
				break;
			}
		}
	}
	msgpack_unpacked_destroy(&up);
	return (slot);
}

/* The -v -v line of an answered request. */
static void
metrics_trace(const struct request *r, double secs, const char *outcome)
{
	const struct session *s = r->session;
	char sess[160];

	if (s == NULL)
		snprintf(sess, sizeof sess, "-");
	else if (s->name != NULL)
		snprintf(sess, sizeof sess, "%llu (%.120s)",
		    (unsigned long long)s->id, s->name);
	else
		snprintf(sess, sizeof sess, "%llu", (unsigned long long)s->id);
	log_trace("request %llu: %s session %s, %.3f ms: %s",
	    (unsigned long long)r->id, r->method->name, sess, secs * 1e3,
	    outcome);
}

/* A request is answered with body: count it, trace it, tell subscribers. */
void
metrics_request_done(struct request *r, const char *body, size_t len)
{
	struct metrics_method *mm;
	char type[128];
	unsigned slot;
	double secs;
	int idx;

	if (r->internal_method != NULL || r->method == NULL ||
	    (idx = method_index(r->method)) < 0 || idx >= METRICS_METHODS)
		return;
	secs = metrics_clock() - r->started;
	slot = metrics_outcome(body, len, type, sizeof type);
	mm = &metrics.methods[idx];
	mm->outcomes[slot]++;
	metrics_observe(&mm->latency, secs);
	notify_status_changed();
	if (log_tracing())
		metrics_trace(r, secs, slot == METRICS_OK ? "ok" : type);
	if (r->method->flags & M_WORKER)
		events_call_stop(r, secs, slot == METRICS_OK ? NULL : type);
}

/* A client request goes to worker w: its queue wait ends, its call starts. */
void
metrics_dispatched(struct request *r, struct worker *w)
{
	if (r->internal_method != NULL || r->method == NULL)
		return;
	metrics_observe(&metrics.queue_wait, metrics_clock() - r->started);
	events_call_start(r, w);
}

/* The counter of reason; past the table's room, that of "other". */
static struct metrics_exits *
metrics_exit_slot(const char *why)
{
	unsigned i;

	for (i = 0; i < metrics.nexits; i++) {
		if (strcmp(metrics.exits[i].reason, why) == 0)
			return (&metrics.exits[i]);
	}
	if (metrics.nexits >= METRICS_REASONS - 1 && strcmp(why, "other") != 0)
		return (metrics_exit_slot("other"));
	metrics.exits[metrics.nexits].reason = why;
	return (&metrics.exits[metrics.nexits++]);
}

/* Worker w (pid still set, exit_reason noted) exited with a wait status. */
void
metrics_worker_exit(struct worker *w, int status)
{
	const char *why = w->exit_reason != NULL ? w->exit_reason : "crashed";

	metrics_exit_slot(why)->count++;
	notify_status_changed();
	events_worker_exit(w, status, why);
}

void
metrics_session_opened(void)
{
	metrics.sessions_opened++;
	notify_status_changed();
}

/* Session s ends; its objects are about to be dropped. */
void
metrics_session_ended(const struct session *s)
{
	metrics.sessions_ended++;
	notify_status_changed();
	events_session_cleanup(s);
}

/* Requests relayed to workers and answered so far, all outcomes. */
uint64_t
metrics_calls(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < METRICS_METHODS; i++) {
		if (metrics.methods[i].latency.count > 0 &&
		    (method_by_index((unsigned)i)->flags & M_WORKER))
			n += metrics.methods[i].latency.count;
	}
	return (n);
}

static void
metrics_pack_hist(msgpack_packer *pk, const struct metrics_hist *h)
{
	unsigned i;

	msgpack_pack_map(pk, 3);
	mpk_str(pk, "counts");
	msgpack_pack_array(pk, METRICS_BUCKETS + 1);
	for (i = 0; i <= METRICS_BUCKETS; i++)
		msgpack_pack_uint64(pk, h->buckets[i]);
	mpk_str(pk, "count");
	msgpack_pack_uint64(pk, h->count);
	mpk_str(pk, "sum");
	msgpack_pack_double(pk, h->sum);
}

static const char *
metrics_outcome_name(unsigned slot)
{
	if (slot == METRICS_OK)
		return ("ok");
	if (slot == METRICS_EXCEPTION)
		return ("exception");
	return (sb_errtype_name(slot - 2));
}

/* calls: [{method, outcome, count}] for every nonzero pair. */
static void
metrics_pack_calls(msgpack_packer *pk)
{
	unsigned i, o, n = 0;

	for (i = 0; i < METRICS_METHODS; i++) {
		for (o = 0; o < METRICS_OUTCOMES; o++)
			n += metrics.methods[i].outcomes[o] != 0;
	}
	msgpack_pack_array(pk, n);
	for (i = 0; i < METRICS_METHODS; i++) {
		for (o = 0; o < METRICS_OUTCOMES; o++) {
			if (metrics.methods[i].outcomes[o] == 0)
				continue;
			msgpack_pack_map(pk, 3);
			mpk_str(pk, "method");
			mpk_str(pk, method_by_index(i)->name);
			mpk_str(pk, "outcome");
			mpk_str(pk, metrics_outcome_name(o));
			mpk_str(pk, "count");
			msgpack_pack_uint64(pk, metrics.methods[i].outcomes[o]);
		}
	}
}

/* latency: {buckets: [bounds], methods: {name: hist}} for methods used. */
static void
metrics_pack_latency(msgpack_packer *pk)
{
	unsigned i, n = 0;

	msgpack_pack_map(pk, 2);
	mpk_str(pk, "buckets");
	msgpack_pack_array(pk, METRICS_BUCKETS);
	for (i = 0; i < METRICS_BUCKETS; i++)
		msgpack_pack_double(pk, metrics_bounds[i]);
	for (i = 0; i < METRICS_METHODS; i++)
		n += metrics.methods[i].latency.count != 0;
	mpk_str(pk, "methods");
	msgpack_pack_map(pk, n);
	for (i = 0; i < METRICS_METHODS; i++) {
		if (metrics.methods[i].latency.count == 0)
			continue;
		mpk_str(pk, method_by_index(i)->name);
		metrics_pack_hist(pk, &metrics.methods[i].latency);
	}
}

static void
metrics_count_worker(struct worker *w, void *arg)
{
	if (!w->pool->retired)
		(*(unsigned *)arg)++;
}

static void
metrics_pack_worker(struct worker *w, void *arg)
{
	msgpack_packer *pk = arg;

	if (w->pool->retired)
		return;
	msgpack_pack_map(pk, WORKER_PACK_KEYS + 1);
	mpk_str(pk, "pool");
	mpk_str(pk, w->pool->name);
	worker_pack_facts(pk, w);
}

/* The stats [] result: every counter (docs/protocol.md, "Stats"). */
void
metrics_pack(msgpack_packer *pk)
{
	unsigned i, nworkers = 0;

	msgpack_pack_map(pk, 7);
	mpk_str(pk, "calls");
	metrics_pack_calls(pk);
	mpk_str(pk, "latency");
	metrics_pack_latency(pk);
	mpk_str(pk, "queue_wait");
	metrics_pack_hist(pk, &metrics.queue_wait);
	mpk_str(pk, "worker_exits");
	msgpack_pack_map(pk, metrics.nexits);
	for (i = 0; i < metrics.nexits; i++) {
		mpk_str(pk, metrics.exits[i].reason);
		msgpack_pack_uint64(pk, metrics.exits[i].count);
	}
	mpk_str(pk, "sessions");
	msgpack_pack_map(pk, 5);
	mpk_str(pk, "live");
	msgpack_pack_uint32(pk, session_count());
	mpk_str(pk, "opened");
	msgpack_pack_uint64(pk, metrics.sessions_opened);
	mpk_str(pk, "ended");
	msgpack_pack_uint64(pk, metrics.sessions_ended);
	mpk_str(pk, "cleaned");
	msgpack_pack_uint64(pk, cleanup_totals()->cleaned);
	mpk_str(pk, "cleanup_failures");
	msgpack_pack_uint64(pk, cleanup_totals()->failures);
	mpk_str(pk, "events");
	events_pack_stats(pk);
	mpk_str(pk, "workers");
	pool_foreach_worker(metrics_count_worker, &nworkers);
	msgpack_pack_array(pk, nworkers);
	pool_foreach_worker(metrics_pack_worker, pk);
}

/* stats []: the counters. */
void
m_stats(struct request *r)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	request_reply_begin(&sb, &pk);
	metrics_pack(&pk);
	request_reply(r, &sb);
}
