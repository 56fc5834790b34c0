/*
 * frame.c: turning the bytes of a connection (client or worker) into whole
 * msgpack messages, read straight from the socket into one buffer. Every
 * byte passes the validating scanner before anyone decodes it; the buffer
 * never holds more than one partial message plus one read.
 */
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
		memmove(f->buf, f->buf + start, f->len - start);
		f->len -= start;
	}
	return (0);
}

int
frame_read(struct frame *f, int fd, frame_cb cb, void *arg)
{
	ssize_t n;
	int rc;

	frame_reserve(f, FRAME_ROOM);
	n = read(fd, f->buf + f->len, f->cap - f->len);
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
