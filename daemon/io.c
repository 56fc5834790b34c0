/*
 * io.c: writing a message (a header and a body) to a peer, batched per pass
 * of the event loop. The messages a peer gets in a pass, with nothing waiting
 * in its output buffer, are held in its queue and written together with one
 * writev when the pass ends, so a burst of pipelined messages costs one
 * system call per peer, not one per message, and the peer is woken once.
 * The read callbacks bracket their work with io_begin and io_end: when no
 * other callback of the pass is left to run, io_end writes what is held at
 * once; otherwise, as for writes made elsewhere, a flush event that runs
 * after the pass's other callbacks does. Held bytes are copied into the
 * queue's buffer, kept from pass to pass; a body that lies in a malloc'd
 * block is held by reference and the block freed once sent. What the socket
 * does not take is queued in the bufferevent's output as usual; while
 * something waits there, later messages are queued behind it. A queue still
 * holding output when its owner closes it is written out then.
 */
#include <sys/uio.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "snakebridged.h"

#define IO_IOV		64		/* pieces per writev; more wait */
#define IO_BUF_MIN	1024		/* first size of a copy buffer */
#define IO_BUF_KEEP	(64 * 1024)	/* larger ones are freed once sent */

/* A held piece: bytes in a block (taken), or at off in the copy buffer. */
struct io_piece {
	const char	*p;
	size_t		 off;
	size_t		 len;
	char		*block;		/* NULL: a copy */
};

/* The queues holding output in this pass. */
static struct ioq	**io_pass;
static size_t		 io_npass, io_passcap;
static struct event	*io_flush_ev;
static int		 io_flush_set;	/* io_flush_ev is active */
static unsigned		 io_depth;	/* in io_begin */

static void	io_flush_cb(evutil_socket_t, short, void *);
static void	io_push(struct ioq *);

/* Start q, writing to fd and queueing behind bev's output. */
void
io_init(struct ioq *q, struct bufferevent *bev, int fd)
{
	memset(q, 0, sizeof *q);
	q->out = bufferevent_get_output(bev);
	q->fd = fd;
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

/* Room for n more bytes and two more pieces in q; -1 when memory ran out. */
static int
io_reserve(struct ioq *q, size_t n)
{
	struct io_piece *pc;
	size_t cap, max;
	char *buf;

	if (q->len + n > q->cap) {
		cap = q->cap == 0 ? IO_BUF_MIN : q->cap;
		while (cap < q->len + n)
			cap *= 2;
		if ((buf = realloc(q->buf, cap)) == NULL)
			return (-1);
		q->buf = buf;
		q->cap = cap;
	}
	if (q->npieces + 2 > q->maxpieces) {
		max = q->maxpieces == 0 ? 4 : q->maxpieces * 2;
		if ((pc = reallocarray(q->piece, max, sizeof *pc)) == NULL)
			return (-1);
		q->piece = pc;
		q->maxpieces = max;
	}
	return (0);
}

/* The next free piece of q (io_reserve made room). */
static struct io_piece *
io_piece_new(struct ioq *q)
{
	return (&q->piece[q->npieces++]);
}

/*
 * Hold a message for q: a copy of hdr and of the body, which joins a copy
 * held just before it, or for a body in block a reference (block taken).
 */
static void
io_hold(struct ioq *q, const void *hdr, size_t hlen, const void *body,
    size_t blen, char *block)
{
	struct io_piece *pc;
	int ref = block != NULL && blen > 0;
	size_t n = hlen + (ref ? 0 : blen);

	if (io_reserve(q, n) != 0) {
		/* Out of memory: what is held, then this, to the output. */
		io_push(q);
		io_add(q->out, hdr, hlen, NULL);
		io_add(q->out, body, blen, block);
		q->out_empty = 0;
		return;
	}
	if (hlen > 0)
		memcpy(q->buf + q->len, hdr, hlen);
	if (!ref && blen > 0)
		memcpy(q->buf + q->len + hlen, body, blen);
	pc = q->npieces > 0 ? &q->piece[q->npieces - 1] : NULL;
	if (n > 0 && pc != NULL && pc->block == NULL)
		pc->len += n;
	else if (n > 0) {
		pc = io_piece_new(q);
		pc->p = NULL;
		pc->off = q->len;
		pc->len = n;
		pc->block = NULL;
	}
	q->len += n;
	if (!ref) {
		free(block);
		return;
	}
	pc = io_piece_new(q);
	pc->p = body;
	pc->len = blen;
	pc->block = block;
}

static const char *
io_data(const struct ioq *q, const struct io_piece *pc)
{
	return (pc->block != NULL ? pc->p : q->buf + pc->off);
}

/*
 * Write what is held for q with one writev, as far as the socket takes it
 * and nothing waits in the output before it; queue the rest there.
 */
static void
io_push(struct ioq *q)
{
	struct iovec iov[IO_IOV];
	struct io_piece *pc;
	size_t i, n, done = 0;
	ssize_t w;

	if (q->npieces == 0)
		return;
	if (q->out_empty || evbuffer_get_length(q->out) == 0) {
		n = q->npieces < IO_IOV ? q->npieces : IO_IOV;
		for (i = 0; i < n; i++) {
			iov[i].iov_base = (void *)io_data(q, &q->piece[i]);
			iov[i].iov_len = q->piece[i].len;
		}
		if ((w = writev(q->fd, iov, (int)n)) > 0)
			done = (size_t)w;
	}
	for (i = 0; i < q->npieces; i++) {
		pc = &q->piece[i];
		if (done >= pc->len) {
			done -= pc->len;
			free(pc->block);
			continue;
		}
		io_add(q->out, io_data(q, pc) + done, pc->len - done,
		    pc->block);
		q->out_empty = 0;
		done = 0;
	}
	q->npieces = 0;
	q->len = 0;
	if (q->cap > IO_BUF_KEEP) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
}

/* Have the flush event run after the callbacks of this pass. */
static void
io_schedule(void)
{
	if (io_flush_set)
		return;
	io_flush_set = 1;
	event_active(io_flush_ev, EV_TIMEOUT, 0);
}

/* Note q as holding output in this pass; -1 when memory ran out. */
static int
io_list(struct ioq *q)
{
	struct ioq **v;
	size_t cap;

	if (io_flush_ev == NULL &&
	    (io_flush_ev = event_new(sbd.base, -1, 0, io_flush_cb, NULL)) ==
	    NULL)
		return (-1);
	if (io_npass == io_passcap) {
		cap = io_passcap == 0 ? 8 : io_passcap * 2;
		if ((v = reallocarray(io_pass, cap, sizeof *v)) == NULL)
			return (-1);
		io_pass = v;
		io_passcap = cap;
	}
	io_pass[io_npass++] = q;
	q->listed = 1;
	if (io_depth == 0)
		io_schedule();
	return (0);
}

/*
 * Hold a message for q until the pass ends, or queue it behind its output.
 * Returns the bytes waiting in the output.
 */
size_t
io_write(struct ioq *q, const void *hdr, size_t hlen, const void *body,
    size_t blen, char *block)
{
	size_t waiting;

	if (hlen + blen == 0) {
		free(block);
		return (evbuffer_get_length(q->out));
	}
	if (!q->listed) {
		if (evbuffer_get_length(q->out) > 0 || io_list(q) != 0) {
			/* queued: the bufferevent writes it later */
			io_add(q->out, hdr, hlen, NULL);
			io_add(q->out, body, blen, block);
			return (evbuffer_get_length(q->out));
		}
		q->out_empty = 1;
		waiting = 0;
	} else
		waiting = evbuffer_get_length(q->out);
	io_hold(q, hdr, hlen, body, blen, block);
	return (waiting);
}

/* Write what is held for q now, before the pass ends. */
void
io_flush_peer(struct ioq *q)
{
	if (q->listed)
		io_push(q);
}

/* Write what is held for each queue: a pass of the event loop ends. */
static void
io_flush(void)
{
	size_t i;

	for (i = 0; i < io_npass; i++) {
		io_push(io_pass[i]);
		io_pass[i]->listed = 0;
	}
	io_npass = 0;
}

/* The flush event, activated for the writes of a pass. */
static void
io_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	io_flush_set = 0;
	io_flush();
}

/* A read callback starts: its writes wait for io_end. */
void
io_begin(void)
{
	io_depth++;
}

/*
 * A read callback ends: write what is held now if no other callback of the
 * pass is left to run (but the flush event), else have the flush event do.
 */
void
io_end(void)
{
	if (--io_depth > 0 || io_npass == 0)
		return;
	if (event_base_get_num_events(sbd.base, EVENT_BASE_COUNT_ACTIVE) ==
	    io_flush_set)
		io_flush();
	else
		io_schedule();
}

/* q's owner closes it (before freeing the bufferevent): write what it holds. */
void
io_close(struct ioq *q)
{
	size_t i;

	if (q->listed) {
		io_push(q);
		for (i = 0; io_pass[i] != q; i++)
			;
		memmove(&io_pass[i], &io_pass[i + 1],
		    (io_npass - i - 1) * sizeof *io_pass);
		io_npass--;
	}
	free(q->buf);
	free(q->piece);
	memset(q, 0, sizeof *q);
	q->fd = -1;
}

/* Flush and release what io.c holds, before the event base goes. */
void
io_shutdown(void)
{
	io_flush();
	if (io_flush_ev != NULL)
		event_free(io_flush_ev);
	io_flush_ev = NULL;
	io_flush_set = 0;
	free(io_pass);
	io_pass = NULL;
	io_passcap = 0;
}
