/*
 * request.c: the life of one request, from the bytes of a client message to
 * its single answer. request_answer() is the only function that answers; it
 * also frees the request, so nothing can answer twice. Timeouts live here.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "snakebridged.h"

/*
 * Freed requests kept for reuse: a request costs no allocation. Under
 * AddressSanitizer a kept one is poisoned, so that a use after its free is
 * still reported.
 */
#define REQUEST_KEEP	64
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n)		((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n)	((void)(p), (void)(n))
#endif

static uint64_t		 request_next_id = 1;
static struct request	*request_kept[REQUEST_KEEP];
static unsigned		 request_nkept;

/*
 * Timeouts: the requests with a timer, in a binary heap by deadline (equal
 * ones by id: first come, first out), under one libevent timer armed for no
 * later than the first of them. Starting and stopping a timer costs no
 * event_add or event_del, and at most one walk of the heap's height, in
 * whatever order clients pick their timeouts; the timer may fire early (its
 * request was answered) and is armed again for the first deadline left.
 * Only its callback makes it not pending: it is never deleted, and the
 * event base lives as long as the daemon (a new one gets it anew).
 */
static struct request	**request_heap;		/* [0] is due first */
static size_t		 request_nheap, request_heapcap;
static struct event	 request_timer_ev;
static struct event_base *request_timer_base;	/* request_timer_ev's */
static double		 request_timer_at;	/* 0: not pending */

static struct request *
request_new(void)
{
	struct request *r;

	if (request_nkept > 0) {
		r = request_kept[--request_nkept];
		ASAN_UNPOISON_MEMORY_REGION(r, sizeof *r);
		memset(r, 0, sizeof *r);
	} else if ((r = calloc(1, sizeof *r)) == NULL)
		abort();
	r->id = request_next_id++;
	r->started = metrics_clock();
	r->fd = -1;
	msgpack_unpacked_init(&r->up);
	return (r);
}

static void
request_free(struct request *r)
{
	if (r->state == REQUEST_QUEUED)
		pool_unqueue(r);
	if (r->worker != NULL && r->worker->cur == r)
		r->worker->cur = NULL;
	if (r->ahead)
		ahead_forget(r->worker, r);
	if (r->conn != NULL)
		TAILQ_REMOVE(&r->conn->requests, r, centry);
	if (r->session != NULL)
		session_release(r->session);
	request_stop_timer(r);
	stream_free(r);
	if (r->worker != NULL)
		callback_forget(r->worker, r);
	if (r->fd != -1)
		close(r->fd);
	mpk_unpacked_done(&r->up);
	free(r->raw);
	free(r->opts.session);
	free(r->opts.pool);
	free(r->internal_method);
	if (request_nkept < REQUEST_KEEP) {
		ASAN_POISON_MEMORY_REGION(r, sizeof *r);
		request_kept[request_nkept++] = r;
	} else
		free(r);
}

/* A daemon-side request to a worker (session.drop), answered to no one. */
struct request *
request_internal(const char *method, uint64_t sid)
{
	struct request *r = request_new();

	if ((r->internal_method = strdup(method)) == NULL)
		abort();
	r->internal_sid = sid;
	return (r);
}

/*
 * Answer r with body (the msgpack "error, result" pair) and free it. The
 * answer is dropped when the client has gone.
 */
void
request_answer(struct request *r, const char *body, size_t len)
{
	request_answer_owned(r, body, len, NULL);
}

/* Answer with a body lying in block (or copied when block is NULL). */
void
request_answer_owned(struct request *r, const char *body, size_t len,
    char *block)
{
	char hdr[16];
	size_t n = 0;

	metrics_request_done(r, body, len);
	if (r->internal_done != NULL)
		r->internal_done(r, body, len);
	else if (r->internal_method == NULL && len > 0 &&
	    (unsigned char)body[0] != 0xc0)
		sbd.counters.errors++;
	if (r->conn != NULL) {
		hdr[n++] = (char)0x94;
		hdr[n++] = SB_MSG_RESPONSE;
		hdr[n++] = (char)0xce;
		hdr[n++] = (char)(r->msgid >> 24);
		hdr[n++] = (char)(r->msgid >> 16);
		hdr[n++] = (char)(r->msgid >> 8);
		hdr[n++] = (char)r->msgid;
		conn_write2(r->conn, hdr, n, body, len, block);
	} else
		free(block);
	request_free(r);
}


/* Answer an error; with key, details holds key: sval (a str) or value. */
static void
request_verror(struct request *r, enum sb_errtype type, const char *key,
    const char *sval, int64_t value, const char *fmt, va_list ap)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char msg[512];

	vsnprintf(msg, sizeof msg, fmt, ap);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, key != NULL ? 3 : 2);
	mpk_str(&pk, "type");
	mpk_str(&pk, sb_errtype_name(type));
	mpk_str(&pk, "message");
	mpk_str(&pk, msg);
	if (key != NULL) {
		mpk_str(&pk, "details");
		msgpack_pack_map(&pk, 1);
		mpk_str(&pk, key);
		if (sval != NULL)
			mpk_str(&pk, sval);
		else
			msgpack_pack_int64(&pk, value);
	}
	msgpack_pack_nil(&pk);
	if (r->conn != NULL)
		log_debug("request %llu (%s): %s: %s",
		    (unsigned long long)r->id,
		    r->method != NULL ? r->method->name : "?",
		    sb_errtype_name(type), msg);
	request_answer(r, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

void
request_error(struct request *r, enum sb_errtype type, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	request_verror(r, type, NULL, NULL, 0, fmt, ap);
	va_end(ap);
}

void
request_error_details(struct request *r, enum sb_errtype type,
    const char *key, int64_t value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	request_verror(r, type, key, NULL, value, fmt, ap);
	va_end(ap);
}

void
request_error_detail_str(struct request *r, enum sb_errtype type,
    const char *key, const char *value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	request_verror(r, type, key, value, 0, fmt, ap);
	va_end(ap);
}

/* Start a success body: the caller packs the result after this. */
void
request_reply_begin(msgpack_sbuffer *sb, msgpack_packer *pk)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_nil(pk);
}

/* Answer with a body built after request_reply_begin(); frees sb too. */
void
request_reply(struct request *r, msgpack_sbuffer *sb)
{
	request_answer(r, sb->data, sb->size);
	msgpack_sbuffer_destroy(sb);
}

/*
 * The client went away: a queued request is dropped, a running one runs on
 * with nobody to answer (interrupted if its session ends with the client).
 */
void
request_detach(struct request *r)
{
	if (r->state != REQUEST_RUNNING || r->ahead) {
		/* not started: it never runs */
		TAILQ_REMOVE(&r->conn->requests, r, centry);
		r->conn = NULL;
		request_free(r);
		return;
	}
	/*
	 * its automatic session ends with the connection, or it streams to
	 * nobody: stop the work
	 */
	if (r->worker != NULL && ((r->session != NULL &&
	    r->session == r->conn->autosess) ||
	    (r->method != NULL && (r->method->flags & M_STREAMFORM))))
		worker_interrupt(r->worker);
	TAILQ_REMOVE(&r->conn->requests, r, centry);
	r->conn = NULL;
}

/* Drop without an answer (shutdown of an internal request, ...). */
void
request_drop(struct request *r)
{
	if (r->conn != NULL) {
		TAILQ_REMOVE(&r->conn->requests, r, centry);
		r->conn = NULL;
	}
	request_free(r);
}

/* r's timeout expired: answer it, and stop the work it started. */
static void
request_timeout(struct request *r)
{
	struct worker *w = r->state == REQUEST_RUNNING && !r->ahead ?
	    r->worker : NULL;

	sbd.counters.timeouts++;
	if (r->internal_method != NULL)
		log_warn("%s of session %llu timed out", r->internal_method,
		    (unsigned long long)r->internal_sid);
	request_error_details(r, SB_ERRTYPE_TIMEOUT, "timeout_ms",
	    (int64_t)r->timeout_ms, "request timed out after %llu ms",
	    (unsigned long long)r->timeout_ms);
	if (w != NULL)
		worker_interrupt(w);
}

static void	request_timer_cb(evutil_socket_t, short, void *);

/* Arm the timer to fire at deadline (metrics_clock seconds). */
static void
request_timer_arm(double deadline)
{
	double secs = deadline - metrics_clock();
	struct timeval tv = { 0, 0 };

	if (request_timer_base != sbd.base) {
		evtimer_assign(&request_timer_ev, sbd.base, request_timer_cb,
		    NULL);
		request_timer_base = sbd.base;
	}
	if (secs > 0) {
		tv.tv_sec = (time_t)secs;
		tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	}
	evtimer_add(&request_timer_ev, &tv);
	request_timer_at = deadline;
}

/* Whether a is due before b. */
static int
request_due_before(const struct request *a, const struct request *b)
{
	return (a->deadline < b->deadline ||
	    (a->deadline == b->deadline && a->id < b->id));
}

/* Put r in the heap's slot i (free), then move it up or down to its place. */
static void
request_heap_place(struct request *r, size_t i)
{
	struct request *o;
	size_t c;

	while (i > 0 && request_due_before(r, o = request_heap[(i - 1) / 2])) {
		request_heap[i] = o;
		o->tslot = i + 1;
		i = (i - 1) / 2;
	}
	while ((c = 2 * i + 1) < request_nheap) {
		if (c + 1 < request_nheap &&
		    request_due_before(request_heap[c + 1], request_heap[c]))
			c++;
		if (!request_due_before(o = request_heap[c], r))
			break;
		request_heap[i] = o;
		o->tslot = i + 1;
		i = c;
	}
	request_heap[i] = r;
	r->tslot = i + 1;
}

/* The timer fired: time out every request whose deadline has passed. */
static void
request_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	double now = metrics_clock();
	struct request *r;

	request_timer_at = 0;
	while (request_nheap > 0 && (r = request_heap[0])->deadline <= now) {
		request_stop_timer(r);
		request_timeout(r);
	}
	if (request_nheap > 0 && (request_timer_at == 0 ||
	    request_heap[0]->deadline < request_timer_at))
		request_timer_arm(request_heap[0]->deadline);
}

/* Start r's timeout (r->timeout_ms from its start), unless it has one. */
void
request_start_timer(struct request *r)
{
	struct request **v;
	size_t cap;

	if (r->timeout_ms == 0 || r->tslot != 0)
		return;
	r->deadline = (r->internal_method != NULL ? metrics_clock() :
	    r->started) + (double)r->timeout_ms / 1000.0;
	if (request_nheap == request_heapcap) {
		cap = request_heapcap == 0 ? 64 : request_heapcap * 2;
		if ((v = reallocarray(request_heap, cap, sizeof *v)) == NULL)
			abort();
		request_heap = v;
		request_heapcap = cap;
	}
	request_heap_place(r, request_nheap++);
	if (request_timer_at == 0 || request_timer_base != sbd.base ||
	    r->deadline < request_timer_at)
		request_timer_arm(r->deadline);
}

/* Stop r's timeout, if it has one. */
void
request_stop_timer(struct request *r)
{
	struct request *last;
	size_t i = r->tslot;

	if (i == 0)
		return;
	r->tslot = 0;
	last = request_heap[--request_nheap];
	if (last != r)
		request_heap_place(last, i - 1);
}

/*
 * Check the envelope of a client message. Returns 1 for a request to run,
 * 0 for a message to ignore, -1 after a protocol error closed the
 * connection.
 */
static int
request_envelope(struct conn *c, struct request *r)
{
	const msgpack_object *o = &r->up.data, *e;
	int64_t msgid = -1;
	uint32_t n;

	if (o->type != MSGPACK_OBJECT_ARRAY) {
		conn_protocol_error(c, -1, "a message must be an array");
		return (-1);
	}
	e = o->via.array.ptr;
	n = o->via.array.size;
	if (n >= 2 && e[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    e[1].via.u64 <= UINT32_MAX)
		msgid = (int64_t)e[1].via.u64;
	if (n < 3 || n > 4) {
		conn_protocol_error(c, msgid, "a message must be an array of "
		    "3 or 4 elements");
		return (-1);
	}
	if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[0].via.u64 > 2) {
		conn_protocol_error(c, msgid, "unknown message kind");
		return (-1);
	}
	if (e[0].via.u64 == SB_MSG_NOTIFY && n == 3)
		return (0);	/* no notification is defined for clients */
	if (n != 4) {
		conn_protocol_error(c, msgid, "wrong message length");
		return (-1);
	}
	if (e[0].via.u64 == SB_MSG_RESPONSE) {
		if (msgid >= 0)	/* the answer to a callback */
			callback_answer(c, (uint32_t)msgid, r->raw, r->rawlen);
		return (0);
	}
	if (msgid < 0) {
		conn_protocol_error(c, -1, "msgid must be a uint32");
		return (-1);
	}
	r->msgid = (uint32_t)msgid;
	return (1);
}

/* Run a parsed, enveloped request: validate, then serve or route it. */
static void
request_run(struct request *r)
{
	const msgpack_object *e = r->up.data.via.array.ptr;
	char err[256];
	int rc;

	if (e[2].type != MSGPACK_OBJECT_STR) {
		request_error(r, SB_ERRTYPE_BAD_REQUEST, "the method name "
		    "must be a str");
		return;
	}
	if ((r->method = method_find_obj(&e[2])) == NULL) {
		request_error(r, SB_ERRTYPE_UNKNOWN_METHOD, "unknown method "
		    "'%.*s'", (int)(e[2].via.str.size > 64 ? 64 :
		    e[2].via.str.size), e[2].via.str.ptr);
		return;
	}
	/* before any check, so that every such request takes its own */
	if (r->method->flags & M_FD)
		r->fd = shm_fd_take(r->conn);
	if (e[3].type != MSGPACK_OBJECT_ARRAY) {
		request_error(r, SB_ERRTYPE_BAD_REQUEST, "%s: params must be "
		    "an array", r->method->name);
		return;
	}
	r->params = &e[3];
	if (sbd.shutting_down) {
		request_error(r, SB_ERRTYPE_SHUTTING_DOWN, "the daemon is "
		    "shutting down");
		return;
	}
	if ((rc = method_check_params(r, err, sizeof err)) >= 0) {
		request_error(r, (enum sb_errtype)rc, "%s", err);
		return;
	}
	if ((r->method->flags & M_ADMIN) && !conn_is_admin(r->conn)) {
		request_error(r, SB_ERRTYPE_PERMISSION, "%s is reserved to "
		    "root and the daemon's user", r->method->name);
		return;
	}
	if (r->method->flags & M_LOCAL) {
		r->method->handler(r);
		return;
	}
	if (relay_prepare(r) != 0) {
		request_error(r, SB_ERRTYPE_INTERNAL, "cannot frame params");
		return;
	}
	if (route_request(r) != 0)
		return;		/* answered */
	pool_submit(r);
}

int
request_handle(struct conn *c, char *msg, size_t len, int owned)
{
	struct request *r = request_new();
	int rc;

	if (owned)
		r->raw = msg;
	else {
		if ((r->raw = malloc(len)) == NULL)
			abort();
		memcpy(r->raw, msg, len);
	}
	r->rawlen = len;
	if ((r->msglen = mpk_unpack(&r->up, r->raw, len)) == 0) {
		request_free(r);
		conn_protocol_error(c, -1, "undecodable message");
		return (-1);
	}
	if ((rc = request_envelope(c, r)) <= 0) {
		request_free(r);
		return (rc);
	}
	r->conn = c;
	TAILQ_INSERT_TAIL(&c->requests, r, centry);
	sbd.counters.requests++;
	request_run(r);
	return (0);
}
