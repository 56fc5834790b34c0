/*
 * io.c: writing a message (a header and a body) to a peer. When nothing is
 * waiting in the peer's output buffer the bytes go out at once with one
 * writev, which spares the event loop a write event per message; what the
 * socket does not take is queued in the bufferevent as usual. A body that
 * lies in a malloc'd block is referenced, not copied, and the block freed
 * once sent.
 */
#include <sys/uio.h>

#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "snakebridged.h"

void
io_write(struct bufferevent *bev, const void *hdr, size_t hlen,
    const void *body, size_t blen, char *block)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	struct iovec iov[2];
	ssize_t n = 0;
	size_t done;

	if (evbuffer_get_length(out) == 0 && hlen + blen > 0) {
		iov[0].iov_base = (void *)(uintptr_t)hdr;
		iov[0].iov_len = hlen;
		iov[1].iov_base = (void *)(uintptr_t)body;
		iov[1].iov_len = blen;
		n = writev(bufferevent_getfd(bev), iov, 2);
		if (n < 0)
			n = 0;	/* full or broken: the bufferevent finds out */
	}
	done = (size_t)n;
	if (done < hlen) {
		evbuffer_add(out, (const char *)hdr + done, hlen - done);
		done = 0;
	} else
		done -= hlen;
	if (done < blen) {
		if (block != NULL) {
			if (evbuffer_add_reference(out, (const char *)body +
			    done, blen - done, sbd_free_block, block) == 0)
				block = NULL;
			else
				evbuffer_add(out, (const char *)body + done,
				    blen - done);
		} else
			evbuffer_add(out, (const char *)body + done,
			    blen - done);
	}
	free(block);
}
