/*
 * wqueue.c: the client's output queue. Messages are packed straight into
 * one write buffer (pbuf.c) and queued as a piece when complete (wq_seal),
 * except that a synchronous call's large bytes and ndarray data are
 * not copied: the queue borrows them from the caller's values (which stay
 * valid and unchanged until the call returns) and writes them from there
 * with the packed pieces around them in one sendmsg(2). Before a call that
 * borrowed returns, whatever is still unwritten is copied in (wq_unborrow).
 * A file descriptor to pass (shm.c) goes with the sendmsg that writes the
 * queue's first byte.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define WQ_IOV	64	/* pieces per sendmsg */

/* The piece's first byte. */
static const char *
wq_ptr(const sb_client *c, const struct wq_seg *s)
{
	return (s->p != NULL ? s->p : c->wb.data + s->off);
}

/* Make room for n more pieces. */
static int
wq_seg_reserve(sb_client *c, size_t n)
{
	struct wq_seg *ns;
	size_t ncap;

	if (c->segcap - c->nsegs >= n)
		return (0);
	ncap = c->segcap ? 2 * c->segcap : 16;
	while (ncap - c->nsegs < n)
		ncap *= 2;
	if ((ns = realloc(c->segs, ncap * sizeof(*ns))) == NULL)
		return (SB_ENOMEM);
	c->segs = ns;
	c->segcap = ncap;
	return (0);
}

/*
 * Queue the bytes packed into the write buffer since the last piece: the
 * last piece grows when it ends where they start, else they make a new one.
 */
int
wq_seal(sb_client *c)
{
	struct wq_seg *last;
	size_t len = c->wb.len - c->wsealed;

	if (len == 0)
		return (0);
	last = c->nsegs > 0 ? &c->segs[c->nsegs - 1] : NULL;
	if (last == NULL || last->p != NULL ||
	    last->off + last->len != c->wsealed) {
		if (wq_seg_reserve(c, 1) != 0)
			return (SB_ENOMEM);
		last = &c->segs[c->nsegs++];
		last->p = NULL;
		last->off = c->wsealed;
		last->len = 0;
	}
	last->len += len;
	c->wlen += len;
	c->wsealed = c->wb.len;
	return (0);
}

/*
 * Queue len bytes at p after what was packed, without copying them: the
 * caller keeps them valid.
 */
int
wq_borrow(sb_client *c, const char *p, size_t len)
{
	struct wq_seg *s;

	if (wq_seal(c) != 0 || wq_seg_reserve(c, 1) != 0)
		return (SB_ENOMEM);
	s = &c->segs[c->nsegs++];
	s->p = p;
	s->off = 0;
	s->len = len;
	c->wlen += len;
	return (0);
}

/* Remember where the queue ends now, to roll back to. */
void
wq_mark(const sb_client *c, struct wq_mark *m)
{
	m->wlen = c->wlen;
	m->wfill = c->wb.len;
	m->nsegs = c->nsegs;
	m->lastlen = c->nsegs > 0 ? c->segs[c->nsegs - 1].len : 0;
}

/* Drop what was queued since m (nothing of it was written yet). */
void
wq_rollback(sb_client *c, const struct wq_mark *m)
{
	c->wlen = m->wlen;
	c->wb.len = c->wsealed = m->wfill;
	c->nsegs = m->nsegs;
	if (c->nsegs > 0)
		c->segs[c->nsegs - 1].len = m->lastlen;
}

/* Empty the queue (written, or dropped). */
void
wq_clear(sb_client *c)
{
	c->wlen = c->woff = c->wb.len = c->wsealed = 0;
	c->nsegs = c->sdone = c->soff = 0;
	c->passfd = -1;
}

/*
 * Copy the unwritten borrowed pieces into the write buffer: their owners
 * may free them once the call returns. When memory runs out, the output
 * cannot go on: the connection is closed.
 */
void
wq_unborrow(sb_client *c)
{
	struct wq_seg *s;
	size_t i;

	for (i = c->sdone; i < c->nsegs; i++) {
		s = &c->segs[i];
		if (s->p == NULL)
			continue;
		if (i == c->sdone) {	/* drop what was written */
			s->p += c->soff;
			s->len -= c->soff;
			c->soff = 0;
		}
		if (pbuf_bytes(&c->wb, s->p, s->len) != 0) {
			conn_lost(c, SB_ECLOSED);
			return;
		}
		s->p = NULL;
		s->off = c->wb.len - s->len;
	}
	c->wsealed = c->wb.len;
}

/* Move the written position n bytes on. */
static void
wq_advance(sb_client *c, size_t n)
{
	size_t left;

	c->woff += n;
	while (n > 0) {
		left = c->segs[c->sdone].len - c->soff;
		if (n < left) {
			c->soff += n;
			return;
		}
		n -= left;
		c->sdone++;
		c->soff = 0;
	}
}

/* Attach c->passfd to mh (SCM_RIGHTS) in cbuf. */
static void
wq_attach_fd(sb_client *c, struct msghdr *mh, char *cbuf, size_t cbuflen)
{
	struct cmsghdr *cm;

	memset(cbuf, 0, cbuflen);
	mh->msg_control = cbuf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int));
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &c->passfd, sizeof(int));
}

/*
 * Write what the socket takes now. A write error does not end the
 * connection at once: the peer may have answered before it closed, so the
 * rest is dropped and reading finds the end.
 */
void
wq_flush(sb_client *c)
{
	struct iovec iov[WQ_IOV];
	struct msghdr mh;
	char cbuf[CMSG_SPACE(sizeof(int))];
	size_t i;
	ssize_t n;
	int k;

	if (c->wlen == 0 && c->passfd < 0)
		return;		/* empty: nothing to write or clear */
	while (c->woff < c->wlen && !c->wdead) {
		for (k = 0, i = c->sdone; i < c->nsegs && k < WQ_IOV; i++) {
			iov[k].iov_base = (char *)wq_ptr(c, &c->segs[i]) +
			    (i == c->sdone ? c->soff : 0);
			iov[k].iov_len = c->segs[i].len -
			    (i == c->sdone ? c->soff : 0);
			k++;
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)k;
		if (c->passfd >= 0 && c->woff == 0)
			wq_attach_fd(c, &mh, cbuf, sizeof(cbuf));
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->passfd = -1;	/* it went with the first byte */
			wq_advance(c, (size_t)n);
		} else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else
			c->wdead = 1;
	}
	if (c->woff == c->wlen || c->wdead)
		wq_clear(c);
}

/*
 * Write the whole queue, waiting for the socket as long as it takes (what
 * arrives meanwhile is dispatched): 0, or SB_ECLOSED/SB_EPROTO once the
 * connection is lost.
 */
int
wq_drain(sb_client *c)
{
	int rc;

	while (!c->dead && !c->wdead && c->woff < c->wlen) {
		if ((rc = conn_io(c, -1)) < 0 && rc != SB_ENOMEM)
			return (rc);
	}
	if (c->dead)
		return (c->dead);
	return (c->wdead ? SB_ECLOSED : 0);
}
