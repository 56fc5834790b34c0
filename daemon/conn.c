/*
 * conn.c: client connections: accepting with the peer's credentials, reading
 * scanned messages into requests, writing answers, protocol violations (an
 * error, then close) and the cleanup when a client goes away (its shared
 * blocks and the descriptors it sent included).
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "snakebridged.h"

#define CONN_FLUSH_TIMEOUT	5	/* s to flush a closing connection */
#define CONN_OUT_LOW		(256 * 1024)	/* resume reading below */

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static uint64_t conn_next_id = 1;

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);

int
conn_is_admin(const struct conn *c)
{
	return (c->uid == 0 || c->uid == sbd.uid);
}

void
conn_accept(int fd)
{
	struct conn *c;
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (sbd.shutting_down) {
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_errno("SO_PEERCRED");
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL)
		abort();
	c->id = conn_next_id++;
	c->fd = fd;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	TAILQ_INIT(&c->requests);
	TAILQ_INIT(&c->blocks);
	frame_init(&c->frame, sbd.conf->max_message_size, sbd.conf->max_depth);
	evutil_make_socket_nonblocking(fd);
	c->bev = bufferevent_socket_new(sbd.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		abort();
	bufferevent_setcb(c->bev, NULL, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUT_LOW, 0);
	bufferevent_set_max_single_write(c->bev, SBD_IO_CHUNK);
	io_init(&c->out, c->bev, fd);
	c->rev = event_new(sbd.base, fd, EV_READ | EV_PERSIST, conn_read_cb,
	    c);
	if (c->rev == NULL)
		abort();
	event_add(c->rev, NULL);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	log_debug("connection %llu: uid %u gid %u pid %d",
	    (unsigned long long)c->id, (unsigned)c->uid, (unsigned)c->gid,
	    (int)c->pid);
}

/* Output above this: the client is not reading, so stop reading it. */
static size_t
conn_out_high(void)
{
	return (sbd.conf->max_message_size < 4 * CONN_OUT_LOW ?
	    4 * CONN_OUT_LOW : sbd.conf->max_message_size);
}

void
conn_write(struct conn *c, const void *buf, size_t len)
{
	conn_write2(c, buf, len, NULL, 0, NULL);
}

/*
 * Write a header and a body; a body lying in block (malloc'd) is sent from
 * there and block freed once sent.
 */
void
conn_write2(struct conn *c, const void *hdr, size_t hlen, const void *body,
    size_t blen, char *block)
{
	if (c->closing) {
		free(block);
		return;
	}
	if (io_write(&c->out, hdr, hlen, body, blen, block) >
	    conn_out_high() && !c->paused) {
		log_debug("connection %llu: not reading answers, pausing",
		    (unsigned long long)c->id);
		c->paused = 1;
		event_del(c->rev);
	}
}

/* The output drained below the low watermark: read requests again. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->paused && !c->closing) {
		c->paused = 0;
		event_add(c->rev, NULL);
	}
	if (!c->closing)
		stream_drained(c);
}

/*
 * Forget every request of c, its automatic session, then free it. The
 * newest go first: requests sent ahead are dropped before the one running
 * before them is interrupted, so the worker learns of the drops first.
 */
static void
conn_release(struct conn *c)
{
	struct request *r;

	while ((r = TAILQ_LAST(&c->requests, requests)) != NULL)
		request_detach(r);
	callback_conn_gone(c);
	shm_conn_gone(c);
	if (c->autosess != NULL) {
		struct session *s = c->autosess;

		c->autosess = NULL;
		s->conn = NULL;
		session_end(s);
	}
}

static void
conn_free(struct conn *c)
{
	log_debug("connection %llu closed", (unsigned long long)c->id);
	events_conn_gone(c);
	conn_release(c);
	TAILQ_REMOVE(&conns, c, entry);
	frame_free(&c->frame);
	event_free(c->rev);
	io_close(&c->out);
	bufferevent_free(c->bev);
	free(c->client);
	free(c);
}

static void
conn_flushed_cb(struct bufferevent *bev, void *arg)
{
	conn_free(arg);
}

/*
 * Close c once what was written is flushed (or after a timeout). Returns
 * with c possibly already freed.
 */
static void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	conn_release(c);
	c->closing = 1;
	event_del(c->rev);
	io_flush_peer(&c->out);	/* what the socket does not take waits */
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	/* flushed when all is written, not below the resume mark */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, conn_flushed_cb, conn_event_cb, c);
	bufferevent_set_timeouts(c->bev, NULL,
	    &(struct timeval){ CONN_FLUSH_TIMEOUT, 0 });
}

void
conn_protocol_error(struct conn *c, int64_t msgid, const char *msg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	log_info("connection %llu (pid %d): protocol error: %s",
	    (unsigned long long)c->id, (int)c->pid, msg);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgid >= 0)
		sb_pack_error_response(&pk, (uint64_t)msgid,
		    SB_ERRTYPE_PROTOCOL, msg);
	else
		sb_pack_error_notice(&pk, SB_ERRTYPE_PROTOCOL, msg);
	conn_write(c, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	conn_close(c);
}

static int
conn_msg_cb(void *arg, char *msg, size_t len, int owned)
{
	return (request_handle(arg, msg, len, owned));
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int rc;

	io_begin();
	rc = frame_read_fds(&c->frame, fd, &c->fds, conn_msg_cb, c);
	if (rc == FRAME_CLOSED)
		conn_free(c);
	else if (rc == FRAME_FDS)
		conn_protocol_error(c, -1, "too many file descriptors "
		    "waiting (shm.attach takes one each)");
	else if (rc < 0)
		conn_protocol_error(c, -1, sb_scan_strerror(rc));
	io_end();
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

void
conn_close_all(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_free(c);
}
