/*
 * stats.c: polling idle workers for their facts (the internal `stats`
 * request): resident memory for the max_rss recycling limit and `status`,
 * and live ref counts per session for `session.info`.
 */
#include <stdlib.h>

#include "config.h"
#include "snakebridged.h"

#define STATS_INTERVAL	5.0	/* s between polls of one worker */

/* Read {"rss_kb", "refs", "sessions": {id: refs}} from a stats answer. */
static void
stats_done(struct request *r, const char *body, size_t len)
{
	struct worker *w = r->worker;
	const struct pool_config *pc;
	const msgpack_object *v;
	msgpack_unpacked up;
	struct session *s;
	size_t off = 1;
	uint32_t i;

	if (w == NULL || len < 2 || (unsigned char)body[0] != 0xc0)
		return;		/* an error, or no worker */
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, body, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || up.data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(&up);
		return;
	}
	if ((v = mpk_map_get(&up.data, "rss_kb")) != NULL &&
	    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		w->rss_kb = v->via.u64;
	if ((v = mpk_map_get(&up.data, "refs")) != NULL &&
	    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		w->refs = v->via.u64;
	session_refs_polled(w, sbd_now());
	v = mpk_map_get(&up.data, "sessions");
	for (i = 0; v != NULL && v->type == MSGPACK_OBJECT_MAP &&
	    i < v->via.map.size; i++) {
		const msgpack_object_kv *kv = &v->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			continue;
		if ((s = session_find_id(kv->key.via.u64)) != NULL &&
		    s->worker == w)
			s->refs = kv->val.via.u64;
	}
	msgpack_unpacked_destroy(&up);
	pc = config_find_pool(sbd.conf, w->pool->name);
	if (pc != NULL && pc->max_rss > 0 && !w->draining &&
	    w->rss_kb > pc->max_rss * 1024) {
		log_info("worker %s/%u: %llu KiB resident, past max_rss, "
		    "recycling", w->pool->name, w->slot,
		    (unsigned long long)w->rss_kb);
		worker_drain(w);
	}
}

/* Ask an idle worker for its stats when its last answer is old. */
void
stats_poll(struct worker *w)
{
	struct request *r;
	double now = sbd_now();

	if (w->state != WORKER_IDLE || sbd.shutting_down ||
	    now - w->stats_at < STATS_INTERVAL)
		return;
	w->stats_at = now;
	r = request_internal("stats", 0);
	r->worker = w;
	r->pool = w->pool;
	r->timeout_ms = sbd.conf->grace;
	r->internal_done = stats_done;
	pool_submit(r);
}
