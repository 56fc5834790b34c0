/*
 * frame.c: turning the bytes of a connection (client or worker) into whole
 * msgpack messages, read straight from the socket into one buffer. Every
 * byte passes the validating scanner before anyone decodes it; the buffer
 * never holds more than one partial message plus one read. A client's
 * connection is read with recvmsg: the descriptors that come with its bytes
 * are queued for shm.attach.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "snakebridged.h"

#define FRAME_ROOM	(64 * 1024)	/* free space for each read */
#define FRAME_KEEP	(1024 * 1024)	/* larger empty buffers are freed */

void
frame_init(struct frame *f, size_t max_size, unsigned depth)
{
	memset(f, 0, sizeof *f);
	sb_scan_init(&f->scan, max_size, depth);
}

void
frame_free(struct frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = 0;
}

/* Make room for n more bytes. */
static void
frame_reserve(struct frame *f, size_t n)
{
	size_t cap = f->cap == 0 ? 4096 : f->cap;
	char *p;

	if (f->len + n <= f->cap)
		return;
	while (cap < f->len + n)
		cap *= 2;
	if ((p = realloc(f->buf, cap)) == NULL)
		abort();
	f->buf = p;
	f->cap = cap;
}

/*
 * Scan what is buffered, hand each complete message to cb and keep the
 * partial tail at the front of the buffer.
 */
static int
frame_scan(struct frame *f, frame_cb cb, void *arg)
{
	size_t start = 0, msglen;
	int rc;

	while (start < f->len) {
		rc = sb_scan_feed(&f->scan, f->buf + start, f->len - start,
		    &msglen);
		if (rc == SB_SCAN_MORE)
			break;
		if (rc < 0)
			return (rc);
		sb_scan_reset(&f->scan);
		if (start == 0 && msglen >= SBD_BIG_MESSAGE) {
			/* hand the buffer over; keep a copy of the tail */
			char *msg = f->buf;
			size_t tail = f->len - msglen;

			f->buf = NULL;
			f->len = f->cap = 0;
			if (tail > 0) {
				frame_reserve(f, tail);
				memcpy(f->buf, msg + msglen, tail);
				f->len = tail;
			}
			if (cb(arg, msg, msglen, 1) != 0)
				return (FRAME_STOPPED);
			continue;
		}
		if (cb(arg, f->buf + start, msglen, 0) != 0)
			return (FRAME_STOPPED);
		start += msglen;
	}
	if (start > 0) {
		f->len -= start;
		if (f->len > 0)
			memmove(f->buf, f->buf + start, f->len);
	}
	return (0);
}

/* n bytes were read into the buffer: hand over what is complete. */
static int
frame_got(struct frame *f, ssize_t n, frame_cb cb, void *arg)
{
	int rc;

	if (n == 0)
		return (FRAME_CLOSED);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR ? 0 : FRAME_CLOSED);
	f->len += (size_t)n;
	if ((rc = frame_scan(f, cb, arg)) != 0)
		return (rc);
	if (f->len == 0 && f->cap > FRAME_KEEP)
		frame_free(f);	/* after a large message */
	return (0);
}

int
frame_read(struct frame *f, int fd, frame_cb cb, void *arg)
{
	frame_reserve(f, FRAME_ROOM);
	return (frame_got(f, read(fd, f->buf + f->len, f->cap - f->len), cb,
	    arg));
}

/*
 * Queue the descriptors that came with msg in q; -1 (all of them closed)
 * when they were cut short or q would hold more than it may. They are
 * placed behind those waiting and counted in only when all are fine.
 */
static int
frame_take_fds(struct msghdr *msg, struct fdqueue *q)
{
	int fd, over = 0;
	struct cmsghdr *cm;
	size_t i, n, total = 0;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof fd;
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
			if (q->n + total < SB_SHM_FDS_WAITING)
				q->fd[q->n + total++] = fd;
			else {
				close(fd);
				over = 1;
			}
		}
	}
	if (over || (msg->msg_flags & MSG_CTRUNC)) {
		for (i = 0; i < total; i++)
			close(q->fd[q->n + i]);
		return (-1);
	}
	q->n += total;
	return (0);
}

int
frame_read_fds(struct frame *f, int fd, struct fdqueue *q, frame_cb cb,
    void *arg)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE((SB_SHM_FDS_WAITING + 1) *
				    sizeof(int))];
	} ctl;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;

	frame_reserve(f, FRAME_ROOM);
	iov.iov_base = f->buf + f->len;
	iov.iov_len = f->cap - f->len;
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n >= 0 && frame_take_fds(&msg, q) != 0)
		return (FRAME_FDS);
	return (frame_got(f, n, cb, arg));
}
