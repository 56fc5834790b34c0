/*
 * conn.c: the client's connection: the default socket path, connect and
 * hello, buffered non-blocking reads and writes (queued by wqueue.c) driven
 * by poll(2), and the framing of incoming messages (scanned, then decoded
 * and dispatched; a large one keeps its buffer as a block, block.c).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "internal.h"
#include "sbproto.h"

#define CONN_READ_CHUNK		65536
#define CONN_HELLO_TIMEOUT	30000

int64_t
conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
sb_default_socket_path(char *buf, size_t len)
{
	const char *env;
	int n;

	if (buf == NULL)
		return (SB_EINVAL);
	if ((env = getenv("SNAKEBRIDGE_SOCKET")) != NULL && *env != '\0')
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "%s", "/run/snakebridged/snakebridged.sock");
	else if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && *env != '\0')
		n = snprintf(buf, len, "%s/snakebridged.sock", env);
	else
		n = snprintf(buf, len, "/tmp/snakebridged-%u/snakebridged.sock",
		    (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return (SB_ERANGE);
	return (0);
}

/*
 * Make sure the buffer *buf of *cap bytes has room for want more after
 * used, growing it (doubling) when not: 0, or SB_ENOMEM with *buf intact.
 */
int
conn_reserve(char **buf, size_t *cap, size_t used, size_t want)
{
	size_t ncap;
	char *nbuf;

	if (*cap - used >= want)
		return (0);
	if (want > SIZE_MAX / 2 - used)
		return (SB_ENOMEM);
	ncap = *cap ? *cap : 4096;
	while (ncap - used < want)
		ncap *= 2;
	if ((nbuf = realloc(*buf, ncap)) == NULL)
		return (SB_ENOMEM);
	*buf = nbuf;
	*cap = ncap;
	return (0);
}

/*
 * The connection is gone (rc: SB_ECLOSED or SB_EPROTO): close the socket and
 * finish every request still waiting with rc.
 */
void
conn_lost(sb_client *c, int rc)
{
	if (c->dead)
		return;
	c->dead = rc;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	wq_clear(c);
	pending_fail_all(&c->pending, rc);
}

/*
 * Give the read buffer to a large message (msglen bytes at rstart) as its
 * block, so that its big values keep their data where it was read; a new
 * buffer takes the bytes read after it. NULL when memory is short (the
 * message then stays in the buffer and its values copy their data).
 */
static struct value_block *
conn_give_block(sb_client *c, size_t msglen)
{
	struct value_block *b;
	size_t tail = c->rlen - c->rstart - msglen, cap = 0;
	char *nbuf = NULL;

	if (conn_reserve(&nbuf, &cap, 0, tail > CONN_READ_CHUNK ? tail :
	    CONN_READ_CHUNK) != 0)
		return (NULL);
	if ((b = block_take(c->rbuf)) == NULL) {
		free(nbuf);
		return (NULL);
	}
	memcpy(nbuf, c->rbuf + c->rstart + msglen, tail);
	c->rbuf = nbuf;
	c->rcap = cap;
	c->rlen = tail;
	c->rstart = 0;
	return (b);
}

/*
 * Move the partial message at rstart to the front of the buffer, a few
 * bytes in when that puts the bin data it is receiving (an ndarray's) at a
 * 16-byte aligned address, where it then stays; and make room at once for
 * the element being received, so that a large one is not copied as the
 * buffer grows.
 */
static void
conn_compact(sb_client *c)
{
	size_t at = 0, bulk, end;

	if (c->rstart == c->rlen) {	/* all of it dispatched */
		c->rstart = c->rlen = 0;
		return;
	}
	bulk = sb_scan_bulk(&c->scan, c->rbuf + c->rstart, c->rlen - c->rstart,
	    &end);
	if (end > c->rlen - c->rstart)
		(void)conn_reserve(&c->rbuf, &c->rcap, c->rlen,
		    end - (c->rlen - c->rstart) + 16);
	if (bulk > 0 && conn_reserve(&c->rbuf, &c->rcap, c->rlen, 16) == 0)
		at = -(uintptr_t)(c->rbuf + bulk) & 15;
	if (c->rstart != at)
		memmove(c->rbuf + at, c->rbuf + c->rstart,
		    c->rlen - c->rstart);
	c->rlen = c->rlen - c->rstart + at;
	c->rstart = at;
}

/*
 * Dispatch every complete message in the read buffer. Returns how many were
 * dispatched, or SB_EPROTO after closing the connection. The read position
 * lives in the client and moves past a message before it is dispatched, so
 * a handler that waits on the connection itself (a callback that calls
 * Python again) can read and dispatch further messages safely; a large
 * message leaves the buffer altogether (conn_give_block).
 */
static int
conn_parse(sb_client *c)
{
	struct value_block *block;
	size_t msglen;
	const char *msg;
	int r, count = 0;

	while (c->rstart < c->rlen && !c->dead) {
		r = sb_scan_feed(&c->scan, c->rbuf + c->rstart,
		    c->rlen - c->rstart, &msglen);
		if (r == SB_SCAN_MORE)
			break;
		if (r != SB_SCAN_DONE) {
			conn_lost(c, SB_EPROTO);
			return (SB_EPROTO);
		}
		msg = c->rbuf + c->rstart;
		block = NULL;
		if (msglen < BLOCK_SHARE_MIN ||
		    (block = conn_give_block(c, msglen)) == NULL)
			c->rstart += msglen;
		sb_scan_reset(&c->scan);
		r = pending_dispatch(c, msg, msglen, block);
		block_drop(block);
		if (r == SB_EPROTO) {
			conn_lost(c, SB_EPROTO);
			return (SB_EPROTO);
		}
		count++;
	}
	if (!c->dead)
		conn_compact(c);
	return (count);
}

/* Read what has arrived and dispatch it; the count or a negative code. */
static int
conn_read(sb_client *c)
{
	size_t room;
	ssize_t n;
	int count = 0, r;

	while (!c->dead) {
		if (c->rcap - c->rlen < CONN_READ_CHUNK &&
		    conn_reserve(&c->rbuf, &c->rcap, c->rlen,
		    CONN_READ_CHUNK) != 0)
			return (count > 0 ? count : SB_ENOMEM);
		room = c->rcap - c->rlen;
		n = recv(c->fd, c->rbuf + c->rlen, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_lost(c, SB_ECLOSED);
			break;
		}
		c->rlen += (size_t)n;
		if ((r = conn_parse(c)) < 0)
			return (count > 0 ? count : r);
		count += r;
		/* A short read drained the socket: poll tells about more. */
		if ((size_t)n < room)
			break;
	}
	if (c->dead && count == 0)
		return (c->dead);
	return (count);
}

/*
 * One round of I/O: write what is queued, wait up to timeout_ms for the
 * socket, read and dispatch. Returns the number of messages dispatched or a
 * negative code (c->dead once the connection is lost).
 */
int
conn_io(sb_client *c, int timeout_ms)
{
	struct pollfd pfd;
	int n;

	if (c->dead)
		return (c->dead);
	wq_flush(c);
	/* Not waiting: a read tells as much as poll() would, in one call. */
	if (timeout_ms == 0)
		return (conn_read(c));
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	if (c->woff < c->wlen)
		pfd.events |= POLLOUT;
	pfd.revents = 0;
	if ((n = poll(&pfd, 1, timeout_ms)) < 0) {
		if (errno == EINTR)
			return (0);
		conn_lost(c, SB_ECLOSED);
		return (SB_ECLOSED);
	}
	if (n == 0)
		return (0);
	if (pfd.revents & POLLOUT)
		wq_flush(c);
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
		return (conn_read(c));
	return (0);
}

/* Queue a response [1, msgid, {type, message}, nil] to a daemon request. */
int
conn_respond(sb_client *c, uint32_t msgid, const char *errtype,
    const char *message)
{
	struct pbuf *pb = &c->wb;
	struct wq_mark start;

	wq_mark(c, &start);
	if (pbuf_msg_head(pb, SB_MSG_RESPONSE, msgid) != 0 ||
	    pbuf_map(pb, 2) != 0 ||
	    pbuf_str(pb, "type", 4) != 0 ||
	    pbuf_str(pb, errtype, strlen(errtype)) != 0 ||
	    pbuf_str(pb, "message", 7) != 0 ||
	    pbuf_str(pb, message, strlen(message)) != 0 ||
	    pbuf_nil(pb) != 0 || wq_seal(c) != 0) {
		wq_rollback(c, &start);
		return (SB_ENOMEM);
	}
	return (0);
}

/* Take the limits the daemon announced in hello for what it sends us. */
static void
conn_take_limits(sb_client *c)
{
	const sb_value *lim;
	uint64_t u;

	lim = sb_map_get(c->server_info, "limits");
	if (sb_value_get_uint(sb_map_get(lim, "max_message_size"), &u) == 0 &&
	    u >= 1024)
		c->limits.max_size = u > UINT32_MAX ? UINT32_MAX : (size_t)u;
	if (sb_value_get_uint(sb_map_get(lim, "max_depth"), &u) == 0 &&
	    u >= 2)
		c->limits.max_depth = u > SB_SCAN_DEPTH_CEILING ?
		    SB_SCAN_DEPTH_CEILING : (unsigned)u;
	/* Restarting the scan of a partial message is safe: it rescans. */
	sb_scan_init(&c->scan, c->limits.max_size, c->limits.max_depth);
}

/* hello [{protocol, client}] and the limits of its answer. */
static int
conn_hello(sb_client *c)
{
	sb_value *params, *k, *v, *result = NULL;
	const sb_value *param;
	sb_error *err = NULL;
	sb_pending *p;
	int rc;

	if ((params = sb_map_new()) == NULL)
		return (SB_ENOMEM);
	k = sb_str("protocol");
	v = sb_int(SB_PROTOCOL_VERSION);
	if ((rc = sb_map_set(params, k, v)) == 0) {
		k = sb_str("client");
		v = sb_str("libsbclient/" PACKAGE_VERSION);
		rc = sb_map_set(params, k, v);
	}
	param = params;
	if (rc == 0 && (rc = pending_send(c, "hello", &param, 1, NULL, 1,
	    &p)) == 0)
		rc = pending_finish(c, p, CONN_HELLO_TIMEOUT, &result, &err);
	sb_value_free(params);
	sb_error_free(err);
	if (rc == SB_EREMOTE)
		return (SB_EPROTO);
	if (rc != 0)
		return (rc);
	if (sb_value_type(result) != SB_MAP) {
		sb_value_free(result);
		return (SB_EPROTO);
	}
	c->server_info = result;
	conn_take_limits(c);
	return (0);
}

int
sb_client_connect(const char *path, sb_client **out)
{
	struct sockaddr_un sun;
	char defpath[sizeof(sun.sun_path)];
	sb_client *c;
	int rc, flags;

	if (out == NULL)
		return (SB_EINVAL);
	*out = NULL;
	if (path == NULL) {
		if ((rc = sb_default_socket_path(defpath, sizeof(defpath))) != 0)
			return (rc == SB_ERANGE ? SB_EINVAL : rc);
		path = defpath;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) || *path == '\0')
		return (SB_EINVAL);
	memcpy(sun.sun_path, path, strlen(path));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (SB_ENOMEM);
	c->timeout_ms = -1;
	c->passfd = -1;
	c->wb.queue = c;
	c->limits.max_size = SB_SCAN_DEFAULT_SIZE;
	c->limits.max_depth = SB_SCAN_DEFAULT_DEPTH;
	sb_scan_init(&c->scan, c->limits.max_size, c->limits.max_depth);
	pending_init(&c->pending);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		rc = errno == ENOMEM || errno == ENOBUFS ? SB_ENOMEM :
		    SB_ECONNECT;
		goto fail;
	}
	while ((rc = connect(c->fd, (struct sockaddr *)&sun,
	    sizeof(sun))) != 0 && errno == EINTR)
		;
	if (rc != 0 || (flags = fcntl(c->fd, F_GETFL)) < 0 ||
	    fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		rc = SB_ECONNECT;
		goto fail;
	}
	if ((rc = conn_hello(c)) != 0)
		goto fail;
	*out = c;
	return (0);
fail:
	sb_client_close(c);
	return (rc);
}

void
sb_client_close(sb_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	pending_clear(&c->pending);
	callback_clear(c);
	shm_client_gone(c);
	sb_value_free(c->server_info);
	sb_error_free(c->last_error);
	free(c->wb.data);
	free(c->segs);
	free(c->rbuf);
	free(c->session);
	free(c->pool);
	free(c->profile);
	free(c->affinity);
	free(c);
}

int
sb_client_fd(sb_client *c)
{
	return (c == NULL ? -1 : c->fd);
}

const sb_value *
sb_client_server_info(sb_client *c)
{
	return (c == NULL ? NULL : c->server_info);
}

const sb_error *
sb_client_last_error(sb_client *c)
{
	return (c == NULL ? NULL : c->last_error);
}
