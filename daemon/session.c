/*
 * session.c: the session table. Sessions are found by id (refs carry it) and
 * by owner and name; automatic ones belong to a connection. Ending a session
 * fails its queued requests and starts its cleanup (cleanup.c); the
 * structure itself lives until no request holds it. Named
 * sessions past their idle timeout or lifetime are ended by a sweeper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

#define SESSION_BUCKETS	1024

static struct sessions	session_all = TAILQ_HEAD_INITIALIZER(session_all);
static struct sessions	session_hash[SESSION_BUCKETS];
static unsigned		session_n;
static uint64_t		session_next_id = 1;
static struct event	*session_sweep_ev;

static void	session_sweep_cb(evutil_socket_t, short, void *);

void
session_init(void)
{
	struct timeval tv = { 1, 0 };
	size_t i;

	for (i = 0; i < SESSION_BUCKETS; i++)
		TAILQ_INIT(&session_hash[i]);
	session_sweep_ev = event_new(sbd.base, -1, EV_PERSIST,
	    session_sweep_cb, NULL);
	evtimer_add(session_sweep_ev, &tv);
}

unsigned
session_count(void)
{
	return (session_n);
}

static unsigned
session_count_uid(uid_t uid)
{
	struct session *s;
	unsigned n = 0;

	TAILQ_FOREACH(s, &session_all, entry) {
		if (s->owner == uid)
			n++;
	}
	return (n);
}

struct session *
session_create(const char *name, uid_t uid, struct conn *c, struct pool *p,
    enum sb_errtype *err, char *msg, size_t len)
{
	struct session *s;

	if (session_n >= sbd.conf->max_sessions) {
		*err = SB_ERRTYPE_LIMIT_EXCEEDED;
		snprintf(msg, len, "too many sessions (max_sessions %u)",
		    sbd.conf->max_sessions);
		return (NULL);
	}
	if (session_count_uid(uid) >= sbd.conf->max_sessions_per_uid) {
		*err = SB_ERRTYPE_LIMIT_EXCEEDED;
		snprintf(msg, len, "too many sessions for this user "
		    "(max_sessions_per_uid %u)",
		    sbd.conf->max_sessions_per_uid);
		return (NULL);
	}
	if ((s = calloc(1, sizeof *s)) == NULL)
		abort();
	s->id = session_next_id++;
	if (name != NULL && (s->name = strdup(name)) == NULL)
		abort();
	s->owner = uid;
	s->conn = c;
	s->pool = p;
	s->created = s->last_used = sbd_now();
	if (name != NULL)
		s->idle_timeout = sbd.conf->idle_timeout;
	TAILQ_INSERT_TAIL(&session_all, s, entry);
	TAILQ_INSERT_TAIL(&session_hash[s->id % SESSION_BUCKETS], s, hentry);
	session_n++;
	metrics_session_opened();
	log_debug("session %llu (%s) created for uid %u",
	    (unsigned long long)s->id, name != NULL ? name : "automatic",
	    (unsigned)uid);
	return (s);
}

struct session *
session_find_id(uint64_t id)
{
	struct session *s;

	TAILQ_FOREACH(s, &session_hash[id % SESSION_BUCKETS], hentry) {
		if (s->id == id)
			return (s);
	}
	return (NULL);
}

struct session *
session_find_name(uid_t uid, const char *name)
{
	struct session *s;

	TAILQ_FOREACH(s, &session_all, entry) {
		if (s->name != NULL && s->owner == uid &&
		    strcmp(s->name, name) == 0)
			return (s);
	}
	return (NULL);
}

void
session_touch(struct session *s)
{
	s->last_used = sbd_now();
}

void
session_bind(struct session *s, struct worker *w)
{
	if (s->worker == w && s->generation == w->generation)
		return;
	if (s->worker != NULL && s->worker->sessions > 0)
		s->worker->sessions--;
	s->worker = w;
	s->generation = w->generation;
	w->sessions++;
}

/* w answered a stats poll: its sessions hold no refs but those listed. */
void
session_refs_polled(struct worker *w, double at)
{
	struct session *s;

	TAILQ_FOREACH(s, &session_all, entry) {
		if (s->worker == w) {
			s->refs = 0;
			s->refs_at = at;
		}
	}
}

static void
session_free(struct session *s)
{
	free(s->name);
	free(s);
}

/*
 * A request no longer holds s: its idle clock restarts; an ended session
 * nobody uses is freed.
 */
void
session_release(struct session *s)
{
	if (!s->dead)
		session_touch(s);	/* idle from the end of its requests */
	if (s->running > 0)
		s->running--;
	if (s->dead && s->running == 0)
		session_free(s);
}

void
session_end(struct session *s)
{
	log_debug("session %llu (%s) ended", (unsigned long long)s->id,
	    s->name != NULL ? s->name : "automatic");
	metrics_session_ended(s);
	TAILQ_REMOVE(&session_all, s, entry);
	TAILQ_REMOVE(&session_hash[s->id % SESSION_BUCKETS], s, hentry);
	session_n--;
	if (s->worker != NULL && s->worker->sessions > 0)
		s->worker->sessions--;
	s->dead = 1;
	s->running++;		/* hold it while failing its queue */
	pool_fail_session(s);
	cleanup_start(s);
	session_release(s);
}

void
session_end_all(void)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&session_all)) != NULL) {
		if (s->conn != NULL)
			s->conn->autosess = NULL;
		session_end(s);
	}
	if (session_sweep_ev != NULL) {
		event_free(session_sweep_ev);
		session_sweep_ev = NULL;
	}
}

void
session_list(uid_t uid, void (*cb)(struct session *, void *), void *arg)
{
	struct session *s;

	TAILQ_FOREACH(s, &session_all, entry) {
		if (s->owner == uid && s->name != NULL)
			cb(s, arg);
	}
}

/* Every session of uid, automatic ones too. */
void
session_foreach(uid_t uid, void (*cb)(const struct session *, void *),
    void *arg)
{
	struct session *s;

	TAILQ_FOREACH(s, &session_all, entry) {
		if (s->owner == uid)
			cb(s, arg);
	}
}

void
session_pack_info(msgpack_packer *pk, const struct session *s)
{
	msgpack_pack_map(pk, 9);
	mpk_str(pk, "name");
	if (s->name != NULL)
		mpk_str(pk, s->name);
	else
		msgpack_pack_nil(pk);
	mpk_str(pk, "id");
	msgpack_pack_uint64(pk, s->id);
	mpk_str(pk, "owner");
	msgpack_pack_uint32(pk, (uint32_t)s->owner);
	mpk_str(pk, "pool");
	mpk_str(pk, s->pool != NULL ? s->pool->name : "default");
	mpk_str(pk, "worker");
	if (s->worker != NULL)
		msgpack_pack_uint32(pk, s->worker->slot);
	else
		msgpack_pack_nil(pk);
	mpk_str(pk, "refs");
	if (s->refs_at > 0 && s->refs_at >= s->last_used)
		msgpack_pack_uint64(pk, s->refs);
	else
		msgpack_pack_nil(pk);	/* used since the last poll */
	mpk_str(pk, "created");
	msgpack_pack_double(pk, s->created);
	mpk_str(pk, "last_used");
	msgpack_pack_double(pk, s->last_used);
	mpk_str(pk, "idle_timeout");
	msgpack_pack_double(pk, (double)s->idle_timeout / 1000.0);
}

/*
 * End named sessions idle past their timeout (when no request holds them)
 * or past max_lifetime (however busy).
 */
static void
session_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s, *next;
	double now = sbd_now();
	double life = (double)sbd.conf->max_lifetime / 1000.0;

	for (s = TAILQ_FIRST(&session_all); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->name == NULL)
			continue;
		if (s->running == 0 && s->idle_timeout > 0 &&
		    now - s->last_used > (double)s->idle_timeout / 1000.0) {
			log_info("session '%s' of uid %u idle, closing",
			    s->name, (unsigned)s->owner);
			session_end(s);
		} else if (life > 0 && now - s->created > life) {
			log_info("session '%s' of uid %u reached its "
			    "lifetime, closing", s->name, (unsigned)s->owner);
			session_end(s);
		}
	}
}
