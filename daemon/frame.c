/*
 * frame.c: turning the bytes of a connection (client or worker) into whole
 * msgpack messages. Every byte passes the validating scanner before anyone
 * decodes it; the buffer never holds more than one partial message plus one
 * read chunk.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "snakebridged.h"

#define FRAME_CHUNK	SBD_IO_CHUNK

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
				return (1);
			continue;
		}
		if (cb(arg, f->buf + start, msglen, 0) != 0)
			return (1);
		start += msglen;
	}
	if (start > 0) {
		memmove(f->buf, f->buf + start, f->len - start);
		f->len -= start;
	}
	return (0);
}

int
frame_read(struct frame *f, struct evbuffer *in, frame_cb cb, void *arg)
{
	size_t avail;
	int n, rc;

	while ((avail = evbuffer_get_length(in)) > 0) {
		if (avail > FRAME_CHUNK)
			avail = FRAME_CHUNK;
		frame_reserve(f, avail);
		n = evbuffer_remove(in, f->buf + f->len, avail);
		if (n <= 0)
			break;
		f->len += (size_t)n;
		if ((rc = frame_scan(f, cb, arg)) != 0)
			return (rc);
	}
	return (0);
}
