/*
 * io.c: writing a message (a header and a body) to a peer, batched per pass
 * of the event loop. The messages a peer gets in a pass, with nothing waiting
 * in its output buffer, are held in a pending buffer and written together by
 * one flush event that runs at the end of the pass (for a lone call, at once
 * after its callback), so a burst of pipelined messages costs one system call
 * per peer, not one per message, and the peer is woken once. What the socket
 * does not take is queued in the bufferevent as usual; while something waits
 * there, later messages are queued behind it. A body that lies in a malloc'd
 * block is referenced, not copied, and the block freed once sent. A peer with
 * held output is referenced, so it stays valid until the flush even when its
 * owner frees it meanwhile. The pending buffers are kept for the next pass.
 */
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "snakebridged.h"

/* A peer written in this pass, and what is held for it. */
struct io_peer {
	struct bufferevent	*bev;
	struct evbuffer		*held;	/* NULL until a second message */
};

static struct io_peer	*io_peers;
static size_t		 io_npeers, io_cap;
static struct event	*io_flush_ev;

static void	io_flush_cb(evutil_socket_t, short, void *);

/* The entry of bev in this pass, or NULL. */
static struct io_peer *
io_find(struct bufferevent *bev)
{
	size_t	 i;

	for (i = 0; i < io_npeers; i++) {
		if (io_peers[i].bev == bev)
			return (&io_peers[i]);
	}
	return (NULL);
}

/* Note bev as written in this pass (the flush event ends the pass). */
static struct io_peer *
io_note(struct bufferevent *bev)
{
	struct io_peer	*p;
	size_t		 i;

	if (io_flush_ev == NULL &&
	    (io_flush_ev = event_new(sbd.base, -1, 0, io_flush_cb, NULL)) ==
	    NULL)
		abort();
	if (io_npeers == io_cap) {
		io_cap = io_cap == 0 ? 8 : io_cap * 2;
		io_peers = reallocarray(io_peers, io_cap, sizeof *io_peers);
		if (io_peers == NULL)
			abort();
		for (i = io_npeers; i < io_cap; i++)
			io_peers[i].held = NULL;
	}
	p = &io_peers[io_npeers];
	if (p->held == NULL && (p->held = evbuffer_new()) == NULL)
		abort();
	bufferevent_incref(bev);
	p->bev = bev;
	io_npeers++;
	if (io_npeers == 1)
		event_active(io_flush_ev, EV_TIMEOUT, 0);
	return (p);
}

/* Add len bytes at p to buf, referencing block (which it takes) if set. */
static void
io_add(struct evbuffer *buf, const char *p, size_t len, char *block)
{
	if (len > 0 && block != NULL &&
	    evbuffer_add_reference(buf, p, len, sbd_free_block, block) == 0)
		return;
	if (len > 0)
		evbuffer_add(buf, p, len);
	free(block);
}

/* Write what the socket takes of buf with one writev, queue the rest. */
static void
io_push(struct bufferevent *bev, struct evbuffer *buf)
{
	struct evbuffer	*out = bufferevent_get_output(bev);

	if (evbuffer_get_length(buf) == 0)
		return;
	if (evbuffer_get_length(out) == 0)
		(void)evbuffer_write(buf, bufferevent_getfd(bev));
	if (evbuffer_get_length(buf) > 0)
		evbuffer_add_buffer(out, buf);
}

/* Write what is held for bev now, before the pass ends. */
void
io_flush_peer(struct bufferevent *bev)
{
	struct io_peer	*p;

	if ((p = io_find(bev)) != NULL)
		io_push(bev, p->held);
}

/* Write what is held for each peer and forget the peers: a pass ends. */
static void
io_flush(void)
{
	struct io_peer	*p;
	size_t		 i;

	for (i = 0; i < io_npeers; i++) {
		p = &io_peers[i];
		io_push(p->bev, p->held);
		bufferevent_decref(p->bev);
		p->bev = NULL;
	}
	io_npeers = 0;
}

/* The flush event, activated by the first write of a pass. */
static void
io_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	io_flush();
}

/* Flush and release what io.c holds, before the event base goes. */
void
io_shutdown(void)
{
	size_t	 i;

	io_flush();
	if (io_flush_ev != NULL)
		event_free(io_flush_ev);
	io_flush_ev = NULL;
	for (i = 0; i < io_cap; i++) {
		if (io_peers[i].held != NULL)
			evbuffer_free(io_peers[i].held);
	}
	free(io_peers);
	io_peers = NULL;
	io_cap = 0;
}

/* Hold a message for bev until the pass ends, or queue it behind output. */
void
io_write(struct bufferevent *bev, const void *hdr, size_t hlen,
    const void *body, size_t blen, char *block)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	struct io_peer	*p;

	if (hlen + blen == 0) {
		free(block);
		return;
	}
	if ((p = io_find(bev)) == NULL) {
		if (evbuffer_get_length(out) > 0) {
			/* queued: the bufferevent writes it later */
			io_add(out, hdr, hlen, NULL);
			io_add(out, body, blen, block);
			return;
		}
		p = io_note(bev);
	}
	io_add(p->held, hdr, hlen, NULL);
	io_add(p->held, body, blen, block);
}
