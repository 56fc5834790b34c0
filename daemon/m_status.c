/*
 * m_status.c: status []: the daemon, its pools and workers, the number of
 * sessions and counters (docs/protocol.md, "Status").
 */
#include <sys/wait.h>

#include <unistd.h>

#include "config.h"
#include "snakebridged.h"

static void
m_status_bool(msgpack_packer *pk, int b)
{
	if (b)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

static void
m_status_worker(msgpack_packer *pk, const struct worker *w)
{
	msgpack_pack_map(pk, WORKER_PACK_KEYS + 9);
	worker_pack_facts(pk, w);
	mpk_str(pk, "generation");
	msgpack_pack_uint32(pk, w->generation);
	mpk_str(pk, "restarts");
	msgpack_pack_uint32(pk, w->restarts);
	mpk_str(pk, "last_exit");
	if (!w->has_exit)
		msgpack_pack_nil(pk);
	else {
		msgpack_pack_map(pk, 1);
		if (WIFSIGNALED(w->last_exit)) {
			mpk_str(pk, "signal");
			msgpack_pack_int(pk, WTERMSIG(w->last_exit));
		} else {
			mpk_str(pk, "exit_status");
			msgpack_pack_int(pk, WEXITSTATUS(w->last_exit));
		}
	}
	mpk_str(pk, "sessions");
	msgpack_pack_uint32(pk, w->sessions);
	mpk_str(pk, "uptime");
	if (w->pid > 0)
		msgpack_pack_double(pk, sbd_now() - w->spawned);
	else
		msgpack_pack_nil(pk);
	mpk_str(pk, "draining");
	m_status_bool(pk, w->draining);
	mpk_str(pk, "last_exit_reason");
	if (w->exit_reason != NULL)
		mpk_str(pk, w->exit_reason);
	else
		msgpack_pack_nil(pk);
	mpk_str(pk, "crash_loop");
	m_status_bool(pk, worker_crash_loop(w));
	mpk_str(pk, "queue");
	msgpack_pack_uint32(pk, pool_queued_for(w) + ahead_count(w));
}

/* A module list of the pool's config as an array of str (none: empty). */
static void
m_status_modules(msgpack_packer *pk, const struct strlist *l)
{
	size_t i, n = l != NULL ? l->n : 0;

	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		mpk_str(pk, l->v[i]);
}

static void
m_status_pool(msgpack_packer *pk, const struct pool *p)
{
	const struct pool_config *pc = config_find_pool(sbd.conf, p->name);
	unsigned i;
	int loop = 0;

	for (i = 0; i < p->nworkers; i++)
		loop |= worker_crash_loop(p->workers[i]);
	msgpack_pack_map(pk, 9);
	mpk_str(pk, "name");
	mpk_str(pk, p->name);
	mpk_str(pk, "size");
	msgpack_pack_uint32(pk, p->size);
	mpk_str(pk, "queue");
	msgpack_pack_uint32(pk, p->queued);
	mpk_str(pk, "queue_limit");
	msgpack_pack_uint32(pk, p->queue_limit);
	mpk_str(pk, "affinity");
	mpk_str(pk, config_affinity_name(p->affinity));
	mpk_str(pk, "crash_loop");
	m_status_bool(pk, loop);
	mpk_str(pk, "allow_modules");
	m_status_modules(pk, pc != NULL ? &pc->allow_modules : NULL);
	mpk_str(pk, "deny_modules");
	m_status_modules(pk, pc != NULL ? &pc->deny_modules : NULL);
	mpk_str(pk, "workers");
	msgpack_pack_array(pk, p->nworkers);
	for (i = 0; i < p->nworkers; i++)
		m_status_worker(pk, p->workers[i]);
}

struct m_status_list {
	msgpack_packer	*pk;
	unsigned	 n;
};

static void
m_status_session_cb(const struct session *s, void *arg)
{
	struct m_status_list *l = arg;

	if (l->pk != NULL)
		session_pack_info(l->pk, s);
	l->n++;
}

/* "session_totals" and "session_list": the caller's own sessions. */
static void
m_status_sessions(msgpack_packer *pk, const struct conn *c)
{
	const struct cleanup_totals *t = cleanup_totals();
	struct m_status_list l = { NULL, 0 };

	mpk_str(pk, "session_totals");
	msgpack_pack_map(pk, 6);
	mpk_str(pk, "open");
	msgpack_pack_uint32(pk, session_count());
	mpk_str(pk, "cleaned");
	msgpack_pack_uint64(pk, t->cleaned);
	mpk_str(pk, "cleanup_failures");
	msgpack_pack_uint64(pk, t->failures);
	mpk_str(pk, "cleanups_pending");
	msgpack_pack_uint32(pk, cleanup_pending());
	mpk_str(pk, "cleanup_time");
	msgpack_pack_double(pk, t->ms_total / 1000.0);
	mpk_str(pk, "cleanup_time_max");
	msgpack_pack_double(pk, t->ms_max / 1000.0);
	session_foreach(c->uid, m_status_session_cb, &l);
	mpk_str(pk, "session_list");
	msgpack_pack_array(pk, l.n);
	l.pk = pk;
	l.n = 0;
	session_foreach(c->uid, m_status_session_cb, &l);
}

void
m_status(struct request *r)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t blocks, bytes;
	unsigned i, n = 0;

	for (i = 0; i < pool_count(); i++)
		n += !pool_by_id(i)->retired;
	shm_totals(&blocks, &bytes);
	request_reply_begin(&sb, &pk);
	msgpack_pack_map(&pk, 7);
	mpk_str(&pk, "daemon");
	msgpack_pack_map(&pk, 5);
	mpk_str(&pk, "version");
	mpk_str(&pk, SBD_VERSION);
	mpk_str(&pk, "protocol");
	msgpack_pack_int(&pk, SB_PROTOCOL_VERSION);
	mpk_str(&pk, "pid");
	msgpack_pack_int32(&pk, (int32_t)getpid());
	mpk_str(&pk, "uptime");
	msgpack_pack_double(&pk, sbd_now() - sbd.started);
	mpk_str(&pk, "socket");
	mpk_str(&pk, sbd.socket_path);
	mpk_str(&pk, "pools");
	msgpack_pack_array(&pk, n);
	for (i = 0; i < pool_count(); i++) {
		if (!pool_by_id(i)->retired)
			m_status_pool(&pk, pool_by_id(i));
	}
	mpk_str(&pk, "sessions");
	msgpack_pack_uint32(&pk, session_count());
	mpk_str(&pk, "shm");
	msgpack_pack_map(&pk, 2);
	mpk_str(&pk, "blocks");
	msgpack_pack_uint64(&pk, blocks);
	mpk_str(&pk, "bytes");
	msgpack_pack_uint64(&pk, bytes);
	m_status_sessions(&pk, r->conn);
	mpk_str(&pk, "counters");
	msgpack_pack_map(&pk, 5);
	mpk_str(&pk, "requests");
	msgpack_pack_uint64(&pk, sbd.counters.requests);
	mpk_str(&pk, "errors");
	msgpack_pack_uint64(&pk, sbd.counters.errors);
	mpk_str(&pk, "timeouts");
	msgpack_pack_uint64(&pk, sbd.counters.timeouts);
	mpk_str(&pk, "crashes");
	msgpack_pack_uint64(&pk, sbd.counters.crashes);
	mpk_str(&pk, "drain_timeouts");
	msgpack_pack_uint64(&pk, sbd.counters.drain_timeouts);
	request_reply(r, &sb);
}
