/*
 * stream.c: the daemon's side of a running `stream` request
 * (docs/protocol.md, "Streaming"): flow control and the idle timeout. The
 * worker may have STREAM_CREDITS (adapter) batches unacknowledged; each
 * batch relayed to the client is acknowledged to the worker with
 * [2, "stream.ack", [wid]] at once while the client's output buffer holds
 * at most STREAM_ACK_BELOW bytes, else once it has drained that far. A
 * client that stops reading therefore stops the producer, and the daemon
 * holds a few batches per stream at most. The idle timer, from the start
 * and after each batch, ends a stream whose producer sent nothing for
 * stream_timeout (OPTS) or the config's stream_idle; the request's own
 * timer (profile streaming) only bounds the wait for the first batch,
 * unless the client set a timeout of its own.
 */
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "snakebridged.h"

/* The client connection's low write watermark (conn.c). */
#define STREAM_ACK_BELOW	(256 * 1024)

struct stream {
	struct request	*r;
	uint32_t	 wid;
	unsigned	 unacked;	/* relayed, not yet acknowledged */
	uint64_t	 batches;
	uint64_t	 idle_ms;
	struct event	 idle;
};

static void
stream_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	struct request *r = s->r;
	struct worker *w = r->state == REQUEST_RUNNING ? r->worker : NULL;

	sbd.counters.timeouts++;
	request_error_details(r, SB_ERRTYPE_TIMEOUT, "stream_timeout_ms",
	    (int64_t)s->idle_ms, "stream idle for %llu ms",
	    (unsigned long long)s->idle_ms);
	if (w != NULL)
		worker_interrupt(w);
}

static struct stream *
stream_new(struct request *r, uint32_t wid)
{
	struct stream *s;

	if ((s = calloc(1, sizeof *s)) == NULL)
		abort();
	s->r = r;
	s->wid = wid;
	s->idle_ms = r->opts.has_stream_timeout ? r->opts.stream_timeout_ms :
	    sbd.conf->stream_idle;
	evtimer_assign(&s->idle, sbd.base, stream_idle_cb, s);
	r->stream = s;
	return (s);
}

void
stream_free(struct request *r)
{
	struct stream *s = r->stream;

	if (s == NULL)
		return;
	event_del(&s->idle);
	free(s);
	r->stream = NULL;
}

static void
stream_ack(struct request *r, unsigned n)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned i;

	if (r->worker == NULL || r->state != REQUEST_RUNNING)
		return;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < n; i++) {
		sb_pack_notify_head(&pk, "stream.ack", 1);
		msgpack_pack_uint32(&pk, r->stream->wid);
	}
	worker_write(r->worker, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static int
stream_client_reads(const struct conn *c)
{
	return (evbuffer_get_length(bufferevent_get_output(c->bev)) <=
	    STREAM_ACK_BELOW);
}

/* Restart the idle timer of s. */
static void
stream_touch(struct stream *s)
{
	event_del(&s->idle);
	if (s->idle_ms > 0)
		sbd_timer_add(&s->idle, s->idle_ms);
}

/* r, a stream request, went to its worker as wid: the idle timer starts. */
void
stream_start(struct request *r, uint32_t wid)
{
	if (r->stream == NULL)
		stream_touch(stream_new(r, wid));
}

/*
 * A batch of r (the worker's request wid) was relayed to its client:
 * restart the idle timer and acknowledge it now or once the client reads.
 */
void
stream_relayed(struct request *r, uint32_t wid)
{
	struct stream *s = r->stream != NULL ? r->stream : stream_new(r, wid);

	if (s->batches++ == 0 && !r->opts.has_timeout)
		request_stop_timer(r);
	stream_touch(s);
	if (r->conn == NULL)
		return;		/* being stopped: no more credit */
	if (s->unacked == 0 && stream_client_reads(r->conn))
		stream_ack(r, 1);
	else
		s->unacked++;
}

/* c's output drained: acknowledge the batches held back. */
void
stream_drained(struct conn *c)
{
	struct request *r;

	if (!stream_client_reads(c))
		return;
	TAILQ_FOREACH(r, &c->requests, centry) {
		if (r->stream != NULL && r->stream->unacked > 0) {
			stream_ack(r, r->stream->unacked);
			r->stream->unacked = 0;
		}
	}
}
