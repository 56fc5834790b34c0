/*
 * io.c: writing a message (a header and a body) to a peer, batched per pass
 * of the event loop. The first message a peer gets in a pass, with nothing
 * waiting in its output buffer, goes out at once with one writev, which keeps
 * a lone call's latency low and spares the event loop a write event. Later
 * messages to the same peer in the same pass are held in a pending buffer
 * and written together by one flush event that runs at the end of the pass,
 * so a burst of pipelined messages costs one system call per peer, not one
 * per message. What the socket does not take is queued in the bufferevent as
 * usual. A body that lies in a malloc'd block is referenced, not copied, and
 * the block freed once sent. A peer with held output is referenced, so it
 * stays valid until the flush even when its owner frees it meanwhile.
 */
#include <sys/uio.h>

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

/* Note bev as written in this pass; the flush event ends the pass. */
static void
io_note(struct bufferevent *bev)
{
	if (io_flush_ev == NULL &&
	    (io_flush_ev = event_new(sbd.base, -1, 0, io_flush_cb, NULL)) ==
	    NULL)
		abort();
	if (io_npeers == io_cap) {
		io_cap = io_cap == 0 ? 8 : io_cap * 2;
		io_peers = reallocarray(io_peers, io_cap, sizeof *io_peers);
		if (io_peers == NULL)
			abort();
	}
	bufferevent_incref(bev);
	io_peers[io_npeers].bev = bev;
	io_peers[io_npeers].held = NULL;
	io_npeers++;
	if (io_npeers == 1)
		event_active(io_flush_ev, EV_TIMEOUT, 0);
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

	if (evbuffer_get_length(out) == 0)
		(void)evbuffer_write(buf, bufferevent_getfd(bev));
	if (evbuffer_get_length(buf) > 0)
		evbuffer_add_buffer(out, buf);
}

/* Write what is held for each peer and forget the peers: a pass ends. */
static void
io_flush(void)
{
	struct io_peer	*p;
	size_t		 i;

	for (i = 0; i < io_npeers; i++) {
		p = &io_peers[i];
		if (p->held != NULL) {
			io_push(p->bev, p->held);
			evbuffer_free(p->held);
		}
		bufferevent_decref(p->bev);
	}
	io_npeers = 0;
}

/*
 * Write now what is held for bev in this pass: a signal that follows (an
 * interrupt) must not overtake the messages written before it.
 */
void
io_flush_peer(struct bufferevent *bev)
{
	struct io_peer	*p = io_find(bev);

	if (p != NULL && p->held != NULL) {
		io_push(p->bev, p->held);
		evbuffer_free(p->held);
		p->held = NULL;
	}
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
	io_flush();
	if (io_flush_ev != NULL)
		event_free(io_flush_ev);
	io_flush_ev = NULL;
	free(io_peers);
	io_peers = NULL;
	io_cap = 0;
}

void
io_write(struct bufferevent *bev, const void *hdr, size_t hlen,
    const void *body, size_t blen, char *block)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	struct io_peer	*p;
	struct iovec	 iov[2];
	ssize_t		 n = 0;
	size_t		 done;

	if ((p = io_find(bev)) != NULL) {
		/* Written in this pass already: hold it for the flush. */
		if (p->held == NULL && (p->held = evbuffer_new()) == NULL)
			abort();
		io_add(p->held, hdr, hlen, NULL);
		io_add(p->held, body, blen, block);
		return;
	}
	if (evbuffer_get_length(out) == 0 && hlen + blen > 0) {
		iov[0].iov_base = (void *)(uintptr_t)hdr;
		iov[0].iov_len = hlen;
		iov[1].iov_base = (void *)(uintptr_t)body;
		iov[1].iov_len = blen;
		n = writev(bufferevent_getfd(bev), iov, 2);
		if (n < 0)
			n = 0;	/* full or broken: the bufferevent finds out */
		io_note(bev);
	}
	done = (size_t)n;
	if (done < hlen) {
		evbuffer_add(out, (const char *)hdr + done, hlen - done);
		done = 0;
	} else
		done -= hlen;
	if (done < blen)
		io_add(out, (const char *)body + done, blen - done, block);
	else
		free(block);
}
