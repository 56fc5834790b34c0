/*
 * events.c: the live event stream (docs/protocol.md, "Events"): the
 * subscribers of events.subscribe, building each event once and writing it
 * as a notification [2, "event", [map]] to every subscriber whose filter
 * takes it. A subscriber whose connection holds more than EVENTS_BACKLOG
 * unsent bytes loses events; it is told how many by a "dropped" event once
 * it catches up. Nothing is built while there is no subscriber.
 */
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "snakebridged.h"

#define EVENTS_BACKLOG	(256 * 1024)	/* unsent bytes per subscriber */
#define EVENTS_FILTERS	16		/* prefixes per subscriber */

struct events_sub {
	struct conn		*conn;
	uint32_t		 msgid;
	char			*filter[EVENTS_FILTERS];
	unsigned		 nfilter;
	uint64_t		 sent;
	uint64_t		 dropped;	/* in all */
	uint64_t		 lost;		/* not yet reported */
	LIST_ENTRY(events_sub)	 entry;
};

static LIST_HEAD(, events_sub) events_subs = LIST_HEAD_INITIALIZER(events_subs);
static unsigned		events_nsubs;
static uint64_t		events_dropped;
static msgpack_sbuffer	events_buf;	/* the event being built */
static msgpack_packer	events_pk;

static void
events_sub_free(struct events_sub *s)
{
	unsigned i;

	LIST_REMOVE(s, entry);
	events_nsubs--;
	for (i = 0; i < s->nfilter; i++)
		free(s->filter[i]);
	free(s);
}

/* Does s want events of this type (its filter names prefixes)? */
static int
events_wanted(const struct events_sub *s, const char *type)
{
	unsigned i;

	if (s->nfilter == 0)
		return (1);
	for (i = 0; i < s->nfilter; i++) {
		if (strncmp(type, s->filter[i], strlen(s->filter[i])) == 0)
			return (1);
	}
	return (0);
}

/* Start an event: type, time and nfields more; 0 if nobody wants it. */
static int
events_begin(const char *type, uint32_t nfields)
{
	struct events_sub *s;
	int wanted = 0;

	LIST_FOREACH(s, &events_subs, entry)
		wanted |= events_wanted(s, type);
	if (!wanted)
		return (0);
	if (events_buf.data == NULL)
		msgpack_sbuffer_init(&events_buf);
	msgpack_sbuffer_clear(&events_buf);
	msgpack_packer_init(&events_pk, &events_buf, msgpack_sbuffer_write);
	sb_pack_notify_head(&events_pk, "event", 1);
	msgpack_pack_map(&events_pk, nfields + 2);
	mpk_str(&events_pk, "type");
	mpk_str(&events_pk, type);
	mpk_str(&events_pk, "time");
	msgpack_pack_double(&events_pk, sbd_now());
	return (1);
}

static size_t
events_backlog(const struct events_sub *s)
{
	return (evbuffer_get_length(bufferevent_get_output(s->conn->bev)));
}

/* Tell s how many events it lost, once its connection has room. */
static void
events_report_lost(struct events_sub *s)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sb_pack_notify_head(&pk, "event", 1);
	msgpack_pack_map(&pk, 3);
	mpk_str(&pk, "type");
	mpk_str(&pk, "dropped");
	mpk_str(&pk, "time");
	msgpack_pack_double(&pk, sbd_now());
	mpk_str(&pk, "count");
	msgpack_pack_uint64(&pk, s->lost);
	conn_write(s->conn, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	s->lost = 0;
}

/* Send the event built since events_begin() to whoever wants it. */
static void
events_send(const char *type)
{
	struct events_sub *s;

	LIST_FOREACH(s, &events_subs, entry) {
		if (!events_wanted(s, type) || s->conn->closing)
			continue;
		if (events_backlog(s) > EVENTS_BACKLOG) {
			s->dropped++;
			s->lost++;
			events_dropped++;
			continue;
		}
		if (s->lost > 0)
			events_report_lost(s);
		conn_write(s->conn, events_buf.data, events_buf.size);
		s->sent++;
	}
}

static void
events_pack_session(const struct session *s)
{
	mpk_str(&events_pk, "session");
	if (s != NULL)
		msgpack_pack_uint64(&events_pk, s->id);
	else
		msgpack_pack_nil(&events_pk);
	mpk_str(&events_pk, "session_name");
	if (s != NULL && s->name != NULL)
		mpk_str(&events_pk, s->name);
	else
		msgpack_pack_nil(&events_pk);
}

/* The fields every call event has: request, method, session, name. */
static void
events_pack_call(const struct request *r)
{
	mpk_str(&events_pk, "request");
	msgpack_pack_uint64(&events_pk, r->id);
	mpk_str(&events_pk, "method");
	mpk_str(&events_pk, r->method->name);
	events_pack_session(r->session);
}

void
events_call_start(const struct request *r, const struct worker *w)
{
	if (events_nsubs == 0 || !events_begin("call.start", 6))
		return;
	events_pack_call(r);
	mpk_str(&events_pk, "pool");
	mpk_str(&events_pk, w->pool->name);
	mpk_str(&events_pk, "slot");
	msgpack_pack_uint32(&events_pk, w->slot);
	events_send("call.start");
}

/* A worker call is answered: call.stop, or call.exception with error. */
void
events_call_stop(const struct request *r, double secs, const char *error)
{
	const char *type = error == NULL ? "call.stop" : "call.exception";

	if (events_nsubs == 0 || !events_begin(type, error != NULL ? 6 : 5))
		return;
	events_pack_call(r);
	mpk_str(&events_pk, "duration_ms");
	msgpack_pack_double(&events_pk, secs * 1e3);
	if (error != NULL) {
		mpk_str(&events_pk, "error");
		mpk_str(&events_pk, error);
	}
	events_send(type);
}

void
events_session_cleanup(const struct session *s)
{
	if (events_nsubs == 0 || !events_begin("session.cleanup", 3))
		return;
	events_pack_session(s);
	mpk_str(&events_pk, "pool");
	if (s->pool != NULL)
		mpk_str(&events_pk, s->pool->name);
	else
		msgpack_pack_nil(&events_pk);
	events_send("session.cleanup");
}

void
events_worker_exit(const struct worker *w, int status, const char *reason)
{
	if (events_nsubs == 0 || !events_begin("worker.exit", 6))
		return;
	mpk_str(&events_pk, "pool");
	mpk_str(&events_pk, w->pool->name);
	mpk_str(&events_pk, "slot");
	msgpack_pack_uint32(&events_pk, w->slot);
	mpk_str(&events_pk, "pid");
	msgpack_pack_int32(&events_pk, (int32_t)w->pid);
	mpk_str(&events_pk, "reason");
	mpk_str(&events_pk, reason);
	mpk_str(&events_pk, WIFSIGNALED(status) ? "signal" : "exit_status");
	msgpack_pack_int(&events_pk, WIFSIGNALED(status) ? WTERMSIG(status) :
	    WEXITSTATUS(status));
	mpk_str(&events_pk, "requests");
	msgpack_pack_uint64(&events_pk, w->gen_requests);
	events_send("worker.exit");
}

/* {subscribers, dropped} for stats. */
void
events_pack_stats(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 2);
	mpk_str(pk, "subscribers");
	msgpack_pack_uint32(pk, events_nsubs);
	mpk_str(pk, "dropped");
	msgpack_pack_uint64(pk, events_dropped);
}

/* Connection c goes away: its subscriptions end unanswered. */
void
events_conn_gone(struct conn *c)
{
	struct events_sub *s, *next;

	for (s = LIST_FIRST(&events_subs); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (s->conn == c)
			events_sub_free(s);
	}
}

/* The daemon stops: answer every subscription {sent, dropped}. */
void
events_shutdown(void)
{
	struct events_sub *s;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	while ((s = LIST_FIRST(&events_subs)) != NULL) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 4);
		msgpack_pack_int(&pk, SB_MSG_RESPONSE);
		msgpack_pack_uint32(&pk, s->msgid);
		msgpack_pack_nil(&pk);
		msgpack_pack_map(&pk, 2);
		mpk_str(&pk, "sent");
		msgpack_pack_uint64(&pk, s->sent);
		mpk_str(&pk, "dropped");
		msgpack_pack_uint64(&pk, s->dropped);
		conn_write(s->conn, sb.data, sb.size);
		msgpack_sbuffer_destroy(&sb);
		events_sub_free(s);
	}
	if (events_buf.data != NULL)
		msgpack_sbuffer_destroy(&events_buf);
	events_buf.data = NULL;
}

/*
 * events.subscribe [filter?]: the request stays open (answered only at
 * shutdown); events come as notifications. filter: a list of type prefixes.
 */
void
m_events_subscribe(struct request *r)
{
	const msgpack_object *f = r->params->via.array.size > 0 ?
	    &r->params->via.array.ptr[0] : NULL;
	struct events_sub *s;
	uint32_t i;

	if (f != NULL && f->type == MSGPACK_OBJECT_ARRAY) {
		if (f->via.array.size > EVENTS_FILTERS) {
			request_error(r, SB_ERRTYPE_BAD_REQUEST, "at most %d "
			    "filters", EVENTS_FILTERS);
			return;
		}
		for (i = 0; i < f->via.array.size; i++) {
			if (f->via.array.ptr[i].type != MSGPACK_OBJECT_STR) {
				request_error(r, SB_ERRTYPE_BAD_REQUEST,
				    "filter entries must be str");
				return;
			}
		}
	}
	if (r->conn == NULL) {
		request_drop(r);
		return;
	}
	if ((s = calloc(1, sizeof *s)) == NULL)
		abort();
	s->conn = r->conn;
	s->msgid = r->msgid;
	for (i = 0; f != NULL && f->type == MSGPACK_OBJECT_ARRAY &&
	    i < f->via.array.size; i++) {
		if ((s->filter[i] = mpk_strdup(&f->via.array.ptr[i])) == NULL)
			abort();
		s->nfilter++;
	}
	LIST_INSERT_HEAD(&events_subs, s, entry);
	events_nsubs++;
	log_debug("connection %llu: subscribed to events",
	    (unsigned long long)r->conn->id);
	request_drop(r);
}
