/*
 * channel.c: msgpack-rpc channels over non-blocking fds (docs/internals.md,
 * "The worker channel"). Each channel has a read buffer fed through the
 * validating scanner and a queue of outgoing messages. One poll() loop serves
 * every channel, and it is re-entrant: channel_wait_response waits for the
 * answer to a request the worker sent while it keeps dispatching whatever
 * else arrives, so a request can be served in the middle of another one.
 * Channels are only freed by the outermost loop.
 *
 * Requests the daemon sent ahead (their msgid has CHANNEL_WID_AHEAD) wait
 * in the channel's pending FIFO and run one after the other from the
 * outermost loop only, never nested in a callback's wait; the notification
 * [2, "drop", [msgid]] turns one that has not started into an error answer.
 * While more of them wait, the main thread's answers are held in the output
 * queue and written together (one writev) after the last one or before the
 * loop blocks in poll(), so a run of pipelined requests costs one write.
 */
#include "adapter.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHANNEL_READ_MIN	65536
#define CHANNEL_SLACK		65536	/* envelope room beyond max message */
#define CHANNEL_WAIT_ROUND	100	/* ms per poll while waiting */
#define CHANNEL_IOV		64	/* queued pieces per writev */
#define CHANNEL_COPY_MAX	1024	/* a smaller queued message is copied */

struct channel_out {
	char			*data;	/* ours, or the view's memory */
	size_t			 len;
	size_t			 off;
	int			 has_view;
	Py_buffer		 view;	/* released only under the GIL */
	struct channel_out	*next;
};

struct channel_reply {
	uint32_t		 id;
	msgpack_sbuffer		 msg;
	struct channel_reply	*next;
};

struct channel_pend {
	uint32_t		 id;
	int			 dropped;
	char			*msg;	/* malloc'd; the message is at msg + at */
	size_t			 at, len;
	struct channel_pend	*next;
};

struct channel {
	int			 fd;
	int			 eof;		/* peer closed its side */
	int			 dead;		/* no more I/O */
	int			 broken;	/* the input cannot be parsed */
	int			 hold;		/* main thread's output waits */
	char			*rbuf;
	size_t			 rstart, rend, rcap;
	size_t			 max_message;
	struct sb_scan		 scan;
	struct channel_out	*out;
	struct channel_out	**out_tail;
	struct channel_out	*done;		/* written views to release */
	struct channel_reply	*replies;	/* answers nobody took yet */
	struct channel_pend	*pend;		/* requests sent ahead */
	struct channel_pend	**pend_tail;
	uint32_t		 next_id;
	struct channel		*next;
};

static struct channel	*channels;
/*
 * Output queues: the stream flusher thread sends too (stream.c), but only
 * for a stream on stream.c's list, and only holding stream_mtx. Every
 * other use of a channel holds the GIL (the main thread, or a Python
 * thread serving requests while it waits for a callback's answer), so
 * those exclude each other. channel_shared counts the streams on that
 * list (channel_share: raised before a stream goes on the list, lowered
 * after it left it, both holding the GIL), and channel_out_mtx is taken
 * only while it is not 0: otherwise the flusher touches no channel. The
 * handover is ordered by stream_mtx: what was done to a channel unlocked
 * happens before the flusher takes stream_mtx and finds the stream, and
 * what the flusher did happens before stream_mtx is taken to take the
 * stream off. The flusher reads the count while a stream is on the list,
 * so it always finds it raised and locks.
 */
static pthread_mutex_t	 channel_out_mtx = PTHREAD_MUTEX_INITIALIZER;
static int		 channel_shared;	/* atomic; see above */
static int		 channel_waits;		/* nested waits running */
static int		 channel_status;	/* exit status of the loop */
static pthread_t	 channel_main;		/* the thread that opens */
/* Decoding zones kept for reuse (channel_zone_take). */
#define CHANNEL_ZONES		4
static msgpack_zone	*channel_zones[CHANNEL_ZONES];
static int		 channel_nzones;

/*
 * Small messages are copied out of the read buffer into buffers of
 * CHANNEL_SMALL bytes, kept for reuse (one per message in use at once).
 */
#define CHANNEL_SMALL		2048
#define CHANNEL_SMALLS		4
static char		*channel_smalls[CHANNEL_SMALLS];
static int		 channel_nsmalls;

static void	channel_process(struct channel *);
static void	channel_message(struct channel *, char *, size_t, size_t, int);
static void	channel_answer_error(struct channel *, uint32_t,
		    enum sb_errtype, const char *);

/* Lock the output queues when another thread may use them; 1 if locked. */
static int
channel_lock(void)
{
	if (__atomic_load_n(&channel_shared, __ATOMIC_RELAXED) == 0)
		return (0);
	pthread_mutex_lock(&channel_out_mtx);
	return (1);
}

static void
channel_unlock(int locked)
{
	if (locked)
		pthread_mutex_unlock(&channel_out_mtx);
}

/* A stream goes on (1) or left (-1) stream.c's list; with the GIL. */
void
channel_share(int delta)
{
	__atomic_add_fetch(&channel_shared, delta, __ATOMIC_RELAXED);
}

struct channel *
channel_open(int fd, size_t max_message)
{
	struct channel	*ch;
	int		 fl;

	fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return (NULL);
	if ((ch = calloc(1, sizeof *ch)) == NULL)
		return (NULL);
	channel_main = pthread_self();
	ch->fd = fd;
	ch->max_message = max_message;
	sb_scan_init(&ch->scan, max_message + CHANNEL_SLACK,
	    SB_SCAN_DEFAULT_DEPTH);
	ch->out_tail = &ch->out;
	ch->pend_tail = &ch->pend;
	ch->next_id = 1;
	ch->next = channels;
	channels = ch;
	return (ch);
}

/* Free an output entry; one holding a view needs the GIL. */
static void
channel_out_free(struct channel_out *o)
{
	if (o->has_view)
		PyBuffer_Release(&o->view);
	else
		free(o->data);
	free(o);
}

/* Release the views written meanwhile (the caller holds the GIL). */
static void
channel_release_done(struct channel *ch)
{
	struct channel_out	*o, *done;
	int			 locked;

	if (__atomic_load_n(&channel_shared, __ATOMIC_RELAXED) == 0 &&
	    ch->done == NULL)
		return;		/* alone with the channels: nothing came */
	locked = channel_lock();
	done = ch->done;
	ch->done = NULL;
	channel_unlock(locked);
	while ((o = done) != NULL) {
		done = o->next;
		channel_out_free(o);
	}
}

static void
channel_free(struct channel *ch)
{
	struct channel_out	*o;
	struct channel_reply	*r;
	struct channel_pend	*pe;

	while ((pe = ch->pend) != NULL) {
		ch->pend = pe->next;
		free(pe->msg);
		free(pe);
	}
	while ((o = ch->out) != NULL) {
		ch->out = o->next;
		channel_out_free(o);
	}
	channel_release_done(ch);
	while ((r = ch->replies) != NULL) {
		ch->replies = r->next;
		msgpack_sbuffer_destroy(&r->msg);
		free(r);
	}
	close(ch->fd);
	free(ch->rbuf);
	free(ch);
}

/* Unlink the written head of ch's queue. Called with the queues locked. */
static void
channel_out_done(struct channel *ch, struct channel_out *o)
{
	ch->out = o->next;
	if (ch->out == NULL)
		ch->out_tail = &ch->out;
	if (o->has_view) {
		/* This may be the flusher thread: no Python here. */
		o->next = ch->done;
		ch->done = o;
	} else {
		free(o->data);
		free(o);
	}
}

/*
 * Write queued output, many pieces per writev, until the socket would block;
 * -1 when it failed. Called with the queues locked (channel_lock).
 */
static int
channel_flush_locked(struct channel *ch)
{
	struct iovec		 iov[CHANNEL_IOV];
	struct channel_out	*o;
	ssize_t			 n;
	size_t			 left;
	int			 k;

	while (ch->out != NULL) {
		for (k = 0, o = ch->out; o != NULL && k < CHANNEL_IOV;
		    o = o->next, k++) {
			iov[k].iov_base = o->data + o->off;
			iov[k].iov_len = o->len - o->off;
		}
		n = writev(ch->fd, iov, k);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			ch->dead = 1;
			return (-1);
		}
		for (left = (size_t)n; (o = ch->out) != NULL;) {
			if (left < o->len - o->off) {
				o->off += left;
				break;
			}
			left -= o->len - o->off;
			channel_out_done(ch, o);
		}
	}
	return (0);
}

static int
channel_flush(struct channel *ch)
{
	int	 rv, locked;

	locked = channel_lock();
	rv = channel_flush_locked(ch);
	channel_unlock(locked);
	return (rv);
}

/*
 * Send a whole message: written at once when nothing waits before it and the
 * socket takes it, else queued. The caller keeps sb's memory when it was
 * written at once (sb is left empty, ready to be reused); a queued message
 * takes it, unless it is small: then it is copied, and sb's buffer serves
 * the next answer (a run of answers held for one writev costs no large
 * allocation each). While ch holds the main thread's output, its messages
 * are only queued; any other thread's send writes the whole queue. Safe from
 * the stream flusher thread (it touches no Python object).
 */
int
channel_send_keep(struct channel *ch, msgpack_sbuffer *sb)
{
	struct channel_out	*o;
	size_t			 off = 0;
	ssize_t			 n;
	int			 rv = 0, hold, locked;

	locked = channel_lock();
	hold = ch->hold && pthread_equal(pthread_self(), channel_main);
	while (!hold && !ch->dead && ch->out == NULL && off < sb->size) {
		n = write(ch->fd, sb->data + off, sb->size - off);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else
			ch->dead = 1;
	}
	if (ch->dead)
		rv = -1;
	else if (off < sb->size) {
		if ((o = calloc(1, sizeof *o)) == NULL) {
			/*
			 * A message lost (an answer, or part of one) leaves
			 * the daemon waiting: end the channel, so that it
			 * fails what this worker had.
			 */
			ch->dead = 1;
			rv = -1;
		} else {
			o->len = sb->size;
			o->off = off;
			if (sb->size <= CHANNEL_COPY_MAX &&
			    (o->data = malloc(sb->size)) != NULL)
				memcpy(o->data, sb->data, sb->size);
			else
				o->data = msgpack_sbuffer_release(sb);
			*ch->out_tail = o;
			ch->out_tail = &o->next;
			if (!hold)
				rv = channel_flush_locked(ch);
		}
	}
	channel_unlock(locked);
	sb->size = 0;
	return (rv);
}

/*
 * Queue one piece of a message: len bytes copied from p, or the memory of
 * view, which the entry takes. Called with the queues locked.
 */
static int
channel_queue_locked(struct channel *ch, const char *p, size_t len,
    Py_buffer *view)
{
	struct channel_out	*o;

	if ((o = calloc(1, sizeof *o)) == NULL ||
	    (view == NULL && (o->data = malloc(len)) == NULL)) {
		free(o);
		return (-1);
	}
	if (view != NULL) {
		o->has_view = 1;
		o->view = *view;
		o->data = view->buf;
		o->len = (size_t)view->len;
	} else {
		memcpy(o->data, p, len);
		o->len = len;
	}
	*ch->out_tail = o;
	ch->out_tail = &o->next;
	return (0);
}

/*
 * Send sb with its holes filled from their views, which the channel takes
 * (holes is left empty); sb is left empty, its memory with the caller. The
 * pieces between holes are copied, the holes' bytes are written from their
 * objects' memory. Main thread only (it holds the GIL).
 */
int
channel_send_direct(struct channel *ch, msgpack_sbuffer *sb,
    struct codec_holes *holes)
{
	size_t	 at = 0, i;
	int	 rv = 0, locked;

	if (holes->n == 0)
		return (channel_send_keep(ch, sb));
	locked = channel_lock();
	if (ch->dead)
		rv = -1;
	for (i = 0; i < holes->n && rv == 0; i++) {
		if (holes->v[i].pos > at)
			rv = channel_queue_locked(ch, sb->data + at,
			    holes->v[i].pos - at, NULL);
		at = holes->v[i].pos;
		if (rv == 0 && (rv = channel_queue_locked(ch, NULL, 0,
		    &holes->v[i].view)) == 0)
			holes->v[i].view.obj = NULL;	/* taken */
	}
	if (rv == 0 && sb->size > at)
		rv = channel_queue_locked(ch, sb->data + at, sb->size - at,
		    NULL);
	if (rv != 0)
		ch->dead = 1;	/* part of a message may be queued */
	else
		rv = channel_flush_locked(ch);
	channel_unlock(locked);
	for (i = 0; i < holes->n; i++) {
		if (holes->v[i].view.obj != NULL)
			PyBuffer_Release(&holes->v[i].view);
	}
	holes->n = 0;
	holes->bytes = 0;
	sb->size = 0;
	channel_release_done(ch);
	return (ch->dead ? -1 : rv);
}

/* channel_send_keep, then free what is left of sb (sb is reusable). */
int
channel_send(struct channel *ch, msgpack_sbuffer *sb)
{
	int	 rv;

	rv = channel_send_keep(ch, sb);
	msgpack_sbuffer_destroy(sb);
	msgpack_sbuffer_init(sb);
	return (rv);
}

/* Send the notification [2, method, params]. */
int
channel_notify(struct channel *ch, const char *method, PyObject *params)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, SB_MSG_NOTIFY);
	msgpack_pack_str_with_body(&pk, method, strlen(method));
	if (codec_encode(&sb, params, 0) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return (-1);
	}
	return (channel_send(ch, &sb));
}

uint32_t
channel_next_id(struct channel *ch)
{
	return (ch->next_id++);
}

/*
 * Tell the peer a message was not msgpack-rpc. When the stream itself is
 * broken (fatal), stop reading: nothing after it can be trusted.
 */
static void
channel_violation(struct channel *ch, const char *why, int fatal)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sb_pack_error_notice(&pk, SB_ERRTYPE_PROTOCOL, why);
	channel_send(ch, &sb);
	if (fatal) {
		ch->eof = ch->broken = 1;
		ch->rstart = ch->rend = 0;
		channel_status = 3;
	}
}

/* Answer a malformed message that still has a msgid. */
static void
channel_reject(struct channel *ch, uint32_t msgid, const char *why)
{
	channel_answer_error(ch, msgid, SB_ERRTYPE_PROTOCOL, why);
}

/* Answer request msgid with an error of type. */
static void
channel_answer_error(struct channel *ch, uint32_t msgid,
    enum sb_errtype type, const char *why)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sb_pack_error_response(&pk, msgid, type, why);
	channel_send(ch, &sb);
}

/*
 * Keep a response for whoever waits for its msgid; it owns msg now. Out of
 * memory the response is lost and its waiter would wait for ever: end the
 * channel instead.
 */
static void
channel_keep_reply(struct channel *ch, uint32_t id, char *msg, size_t len)
{
	struct channel_reply	*r;

	if ((r = calloc(1, sizeof *r)) == NULL) {
		free(msg);
		ch->dead = 1;
		return;
	}
	r->id = id;
	r->msg.data = msg;
	r->msg.size = r->msg.alloc = len;
	r->next = ch->replies;
	ch->replies = r;
}

static int
channel_msgid(const msgpack_object *o, uint32_t *id)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->via.u64 > UINT32_MAX)
		return (-1);
	*id = (uint32_t)o->via.u64;
	return (0);
}

/*
 * The msgid of a request read straight from its first bytes (an array of
 * four, or of five when it carries its connection), a fixint, uint 8, 16 or
 * 32. Returns where the msgid ends in msg, 0 when there is none to read.
 */
static inline size_t
channel_peek_msgid(const char *msg, size_t len, uint32_t *id)
{
	const uint8_t	*p = (const uint8_t *)msg;
	uint16_t	 v16;
	uint32_t	 v32;

	if (len < 3 || (p[0] != 0x94 && p[0] != 0x95) ||
	    p[1] != SB_MSG_REQUEST)
		return (0);
	switch (p[2]) {
	case 0xcc:
		if (len < 4)
			return (0);
		*id = p[3];
		return (4);
	case 0xcd:
		if (len < 5)
			return (0);
		memcpy(&v16, p + 3, 2);
		*id = be16toh(v16);
		return (5);
	case 0xce:
		if (len < 7)
			return (0);
		memcpy(&v32, p + 3, 4);
		*id = be32toh(v32);
		return (7);
	}
	if (p[2] >= 0x80)
		return (0);
	*id = p[2];
	return (3);
}

/* Mark the pending request id dropped: it will not run. */
static void
channel_drop(struct channel *ch, uint32_t id)
{
	struct channel_pend	*pe;

	for (pe = ch->pend; pe != NULL; pe = pe->next) {
		if (pe->id == id)
			pe->dropped = 1;
	}
}

/*
 * A notification from the daemon: stream.ack [wid], drop [wid] and
 * shm.detach [block].
 */
static void
channel_notification(struct channel *ch, const msgpack_object *method,
    const msgpack_object *params)
{
	const msgpack_object_str *name = &method->via.str;
	const msgpack_object	*arg;
	uint32_t		 wid;

	if (method->type != MSGPACK_OBJECT_STR ||
	    params->type != MSGPACK_OBJECT_ARRAY ||
	    params->via.array.size != 1)
		return;
	arg = &params->via.array.ptr[0];
	if (name->size == 10 && memcmp(name->ptr, "shm.detach", 10) == 0) {
		if (arg->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			shm_detach(arg->via.u64);
		return;
	}
	if (channel_msgid(arg, &wid) != 0)
		return;
	if (name->size == 10 && memcmp(name->ptr, "stream.ack", 10) == 0)
		stream_ack(wid);
	else if (name->size == 4 && memcmp(name->ptr, "drop", 4) == 0) {
		dropsig_notice();
		channel_drop(ch, wid);
	}
}

/*
 * Keep a request sent ahead (or one behind it) for the outermost loop;
 * 0 when it was taken (mem, holding it at mem + at, is the channel's now):
 * kept, or dropped with the channel ended when memory ran out, since
 * running it now would answer it out of turn.
 */
static int
channel_defer(struct channel *ch, char *mem, size_t at, size_t len)
{
	struct channel_pend	*pe;
	const uint8_t		*p = (const uint8_t *)mem + at;
	uint32_t		 id;

	/* With no queue to join, only a uint32 msgid can be sent ahead. */
	if ((ch->pend == NULL || channel_waits > 0) &&
	    (len < 4 || p[2] != 0xce || !(p[3] & 0x80)))
		return (-1);
	if (channel_peek_msgid(mem + at, len, &id) == 0 ||
	    (!(id & CHANNEL_WID_AHEAD) &&
	    (ch->pend == NULL || channel_waits > 0)))
		return (-1);
	if ((pe = calloc(1, sizeof *pe)) == NULL) {
		ch->dead = 1;
		free(mem);
		return (0);
	}
	pe->id = id;
	pe->msg = mem;
	pe->at = at;
	pe->len = len;
	*ch->pend_tail = pe;
	ch->pend_tail = &pe->next;
	return (0);
}

/* Memory for a message of len bytes (free(3) may free it). */
static char *
channel_small_take(size_t len)
{
	if (len > CHANNEL_SMALL)
		return (malloc(len));
	if (channel_nsmalls > 0)
		return (channel_smalls[--channel_nsmalls]);
	return (malloc(CHANNEL_SMALL));
}

/* Free mem, which held a message of len bytes: a small one is kept. */
static void
channel_small_put(char *mem, size_t len)
{
	if (mem != NULL && len <= CHANNEL_SMALL &&
	    channel_nsmalls < CHANNEL_SMALLS)
		channel_smalls[channel_nsmalls++] = mem;
	else
		free(mem);
}

/*
 * A zone to decode one message into: zones are kept for reuse (one per level
 * of nesting in use at once), so a message costs no allocation of its own.
 */
static msgpack_zone *
channel_zone_take(void)
{
	if (channel_nzones > 0)
		return (channel_zones[--channel_nzones]);
	return (msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE));
}

static void
channel_zone_put(msgpack_zone *z)
{
	if (z == NULL)
		return;
	if (channel_nzones < CHANNEL_ZONES) {
		msgpack_zone_clear(z);
		channel_zones[channel_nzones++] = z;
	} else
		msgpack_zone_free(z);
}

/* A request to run: its msgid, method, params and client connection. */
struct channel_req {
	uint32_t		 id;
	const msgpack_object	*method;
	const msgpack_object	*params;
	uint64_t		 conn;
	msgpack_object		 mo, po;	/* read by channel_request_fast */
};

/*
 * The common request read straight from its bytes: [0, msgid, method,
 * params] or [0, msgid, method, params, conn] with a msgid of the forms
 * channel_peek_msgid reads and a fixstr method; only params and conn are
 * unpacked. 0 when msg is one (rq set), -1 when it must be unpacked whole.
 */
static int
channel_request_fast(const char *msg, size_t len, msgpack_zone *z,
    struct channel_req *rq)
{
	const uint8_t	*p = (const uint8_t *)msg;
	msgpack_object	 conn;
	size_t		 off;

	off = channel_peek_msgid(msg, len, &rq->id);
	if (off == 0 || off >= len || (p[off] & 0xe0) != 0xa0)
		return (-1);
	rq->mo.type = MSGPACK_OBJECT_STR;
	rq->mo.via.str.ptr = msg + off + 1;
	rq->mo.via.str.size = p[off] & 0x1f;
	off += 1 + rq->mo.via.str.size;
	/* in the message's array, as sb_unpack_object would see them */
	if (sb_unpack_next(msg, len, &off, 1, z, &rq->po) != 0 ||
	    rq->po.type != MSGPACK_OBJECT_ARRAY)
		return (-1);
	rq->conn = 0;
	if (p[0] == 0x95) {
		if (sb_unpack_next(msg, len, &off, 1, z, &conn) != 0 ||
		    conn.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return (-1);
		rq->conn = conn.via.u64;
	}
	if (off != len)
		return (-1);
	rq->method = &rq->mo;
	rq->params = &rq->po;
	return (0);
}

/*
 * Unpack and check a whole message, len bytes at *mem + at, its tree in z
 * (NULL when none could be had) and top: 0 when it is a request to run (rq
 * set), -1 when it was dealt with here (a response takes *mem: then NULL).
 */
static int
channel_parse(struct channel *ch, char **mem, size_t at, size_t len,
    msgpack_zone *z, msgpack_object *top, struct channel_req *rq)
{
	msgpack_object	*f;
	char		*msg = *mem + at;
	uint32_t	 id, n;
	uint64_t	 kind;

	if (z == NULL || sb_unpack_object(msg, len, z, top) != 0) {
		/*
		 * Scanned fine, so the stream goes on: nested too deep, or
		 * no zone to unpack into.
		 */
		if (channel_peek_msgid(msg, len, &id) != 0)
			channel_reject(ch, id, z == NULL ? "message cannot "
			    "be unpacked (out of memory)" : "message cannot "
			    "be unpacked (nested too deep)");
		else
			channel_violation(ch, "message cannot be unpacked", 0);
		return (-1);
	}
	n = top->type == MSGPACK_OBJECT_ARRAY ? top->via.array.size : 0;
	f = top->via.array.ptr;
	if (n < 3 || f[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		channel_violation(ch, "not a msgpack-rpc message", 0);
		return (-1);
	}
	kind = f[0].via.u64;
	if (kind == SB_MSG_NOTIFY && n == 3) {
		channel_notification(ch, &f[1], &f[2]);
		return (-1);
	}
	/* A request may carry a fifth element: its client connection. */
	if ((kind != SB_MSG_REQUEST && kind != SB_MSG_RESPONSE) ||
	    (n != 4 && (n != 5 || kind != SB_MSG_REQUEST))) {
		channel_violation(ch, "not a msgpack-rpc message", 0);
		return (-1);
	}
	if (channel_msgid(&f[1], &id) != 0) {
		channel_violation(ch, "msgid is not a uint32", 0);
		return (-1);
	}
	if (kind == SB_MSG_RESPONSE) {
		if (at > 0)
			memmove(*mem, msg, len);
		channel_keep_reply(ch, id, *mem, len);
		*mem = NULL;
		return (-1);
	}
	if (f[2].type != MSGPACK_OBJECT_STR ||
	    f[3].type != MSGPACK_OBJECT_ARRAY ||
	    (n == 5 && f[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER)) {
		channel_reject(ch, id, "request needs a str method, an "
		    "array of params and, if any, a uint connection id");
		return (-1);
	}
	rq->id = id;
	rq->method = &f[2];
	rq->params = &f[3];
	rq->conn = n == 5 ? f[4].via.u64 : 0;
	return (0);
}

/*
 * One complete message, len bytes at mem + at (mem is ours to free); run:
 * never defer it. Large ndarrays of a request may be decoded in place: mem
 * then goes to the arrays (codec_msg).
 */
static void
channel_message(struct channel *ch, char *mem, size_t at, size_t len, int run)
{
	struct codec_msg	 cm, *outer_msg;
	struct channel_req	 rq;
	msgpack_zone		*z;
	msgpack_object		 top;
	char			*msg = mem + at;
	uint32_t		 outer;

	if (!run && channel_defer(ch, mem, at, len) == 0)
		return;
	cm.buf = NULL;
	z = channel_zone_take();
	if ((z == NULL || channel_request_fast(msg, len, z, &rq) != 0) &&
	    channel_parse(ch, &mem, at, len, z, &top, &rq) != 0)
		goto out;
	/* A late interrupt meant for a finished request is dropped here. */
	if (channel_waits == 0 && PyErr_CheckSignals() != 0)
		PyErr_Clear();
	outer = interrupt_running(rq.id);
	cm.mem = mem;
	cm.p = msg;
	cm.len = len;
	outer_msg = codec_msg_enter(&cm);
	dispatch_request(ch, rq.id, rq.method, rq.params, rq.conn);
	codec_msg_leave(outer_msg);
	mem = cm.mem;		/* NULL when arrays took it */
	interrupt_running(outer);
out:
	channel_zone_put(z);
	Py_XDECREF(cm.buf);
	channel_small_put(mem, len);
}

/* Make room to read: compact, then grow up to what one message may need. */
static int
channel_room(struct channel *ch)
{
	size_t	 want, cap;
	char	*n;

	if (ch->rstart > 0 && ch->rcap - ch->rend < CHANNEL_READ_MIN) {
		memmove(ch->rbuf, ch->rbuf + ch->rstart, ch->rend - ch->rstart);
		ch->rend -= ch->rstart;
		ch->rstart = 0;
	}
	if (ch->rcap - ch->rend >= CHANNEL_READ_MIN / 2 && ch->rbuf != NULL)
		return (0);
	want = ch->rend + CHANNEL_READ_MIN;
	for (cap = ch->rcap ? ch->rcap : CHANNEL_READ_MIN; cap < want;)
		cap *= 2;
	if (cap > ch->max_message + 2 * CHANNEL_SLACK)
		cap = ch->max_message + 2 * CHANNEL_SLACK;
	if (cap <= ch->rend)
		return (-1);
	if ((n = realloc(ch->rbuf, cap)) == NULL)
		return (-1);
	ch->rbuf = n;
	ch->rcap = cap;
	return (0);
}

/*
 * Read what is there; sets eof on EOF or error (the channel ends). A buffer
 * at its full size holds more than the scanner lets one message have: the
 * rest waits in the socket until channel_process has made room.
 */
static void
channel_read(struct channel *ch)
{
	size_t	 room;
	ssize_t	 n;

	for (;;) {
		if (channel_room(ch) != 0) {
			if (ch->rend - ch->rstart <= ch->max_message +
			    CHANNEL_SLACK)
				channel_violation(ch, "out of buffer space", 1);
			return;
		}
		room = ch->rcap - ch->rend;
		n = read(ch->fd, ch->rbuf + ch->rend, room);
		if (n > 0) {
			ch->rend += (size_t)n;
			/* A short read drained the socket: poll tells more. */
			if ((size_t)n < room)
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		ch->eof = 1;
		return;
	}
}

/*
 * The partial message at rstart waits for an element: make room for all of
 * it at once, so that a large one is not copied as the buffer grows, and
 * move the message a few bytes so that the bin data it carries (an
 * ndarray's) lands at a 16-byte aligned address, where it then stays.
 */
static void
channel_prepare(struct channel *ch)
{
	size_t	 have = ch->rend - ch->rstart, bulk, end, at, cap;
	char	*n;

	bulk = sb_scan_bulk(&ch->scan, ch->rbuf + ch->rstart, have, &end);
	if (end < CHANNEL_READ_MIN)
		return;
	cap = ch->rstart + end + 16 + CHANNEL_READ_MIN;
	if (ch->rcap < cap) {
		if ((n = realloc(ch->rbuf, cap)) == NULL)
			return;		/* channel_room tries again */
		ch->rbuf = n;
		ch->rcap = cap;
	}
	if (bulk == 0)
		return;
	at = -(uintptr_t)(ch->rbuf + bulk) & 15;
	if (at != ch->rstart && at + end + CHANNEL_READ_MIN <= ch->rcap) {
		memmove(ch->rbuf + at, ch->rbuf + ch->rstart, have);
		ch->rstart = at;
		ch->rend = at + have;
	}
}

/*
 * Detach the complete message of len bytes at rstart (dispatch may re-enter
 * the loop): a large one takes the buffer itself (and a new buffer the
 * bytes after it), a small one is copied, so the buffer stays for the next
 * read. Sets *mem to free and *at to where the message is in it; -1 when
 * memory ran out.
 */
static int
channel_detach(struct channel *ch, size_t len, char **mem, size_t *at)
{
	size_t	 tail = ch->rend - ch->rstart - len;
	char	*n = NULL;

	if (len >= CHANNEL_READ_MIN) {
		if (tail > 0 && (n = malloc(tail + CHANNEL_READ_MIN)) == NULL)
			return (-1);
		if (n != NULL)
			memcpy(n, ch->rbuf + ch->rstart + len, tail);
		*mem = ch->rbuf;
		*at = ch->rstart;
		ch->rbuf = n;
		ch->rcap = n != NULL ? tail + CHANNEL_READ_MIN : 0;
		ch->rstart = 0;
		ch->rend = tail;
		return (0);
	}
	if ((*mem = channel_small_take(len)) == NULL)
		return (-1);
	memcpy(*mem, ch->rbuf + ch->rstart, len);
	*at = 0;
	ch->rstart += len;
	if (ch->rstart == ch->rend)
		ch->rstart = ch->rend = 0;
	return (0);
}

/* Hand every complete message in the read buffer to channel_message. */
static void
channel_process(struct channel *ch)
{
	size_t	 len = 0, at;
	char	*mem;
	int	 r;

	while (!ch->dead && !ch->broken && ch->rend > ch->rstart) {
		r = sb_scan_feed(&ch->scan, ch->rbuf + ch->rstart,
		    ch->rend - ch->rstart, &len);
		if (r == SB_SCAN_MORE) {
			channel_prepare(ch);
			return;
		}
		if (r != SB_SCAN_DONE) {
			channel_violation(ch, sb_scan_strerror(r), 1);
			return;
		}
		if (channel_detach(ch, len, &mem, &at) != 0) {
			channel_violation(ch, "out of memory", 1);
			return;
		}
		sb_scan_reset(&ch->scan);
		channel_message(ch, mem, at, len, 0);
	}
}

/*
 * One round of the loop over every channel: wait (timeout ms, -1 for ever),
 * write, read, dispatch. Returns -1 when poll was interrupted by a signal.
 */
static int
channel_pump(int timeout)
{
	struct pollfd	 pfd[16];
	struct channel	*chs[16], *ch;
	nfds_t		 n = 0, i;
	int		 r, out, locked;

	for (ch = channels; ch != NULL && n < 16; ch = ch->next) {
		/* Held output goes out before the wait. */
		locked = channel_lock();
		if (!ch->dead && ch->out != NULL)
			channel_flush_locked(ch);
		out = ch->out != NULL;
		channel_unlock(locked);
		if (ch->dead || (ch->eof && !out))
			continue;
		pfd[n].fd = ch->fd;
		pfd[n].events = (ch->eof ? 0 : POLLIN) | (out ? POLLOUT : 0);
		pfd[n].revents = 0;
		chs[n++] = ch;
	}
	if (n == 0)
		return (0);
	/* Python threads run while the worker waits. */
	Py_BEGIN_ALLOW_THREADS
	r = poll(pfd, n, timeout);
	Py_END_ALLOW_THREADS
	for (i = 0; i < n; i++)
		channel_release_done(chs[i]);
	if (r == -1)
		return (errno == EINTR ? -1 : 0);
	for (i = 0; i < n; i++) {
		ch = chs[i];
		if (pfd[i].revents & POLLNVAL) {
			ch->dead = 1;	/* someone closed our fd */
			continue;
		}
		if (pfd[i].revents & POLLOUT)
			channel_flush(ch);
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (ch->eof && !(pfd[i].revents & POLLIN))
				ch->dead = 1;
			else if (!ch->eof)
				channel_read(ch);
			channel_process(ch);
		}
	}
	return (0);
}

/*
 * Wait for the response to request id sent on ch, serving everything else
 * meanwhile. On success the raw response message is moved into out.
 * Returns -1 with an exception set when the channel ends or a signal handler
 * raised (KeyboardInterrupt).
 */
int
channel_wait_response(struct channel *ch, uint32_t id, msgpack_sbuffer *out)
{
	struct channel_reply	**pp, *r;
	int			 rv = -1;

	channel_waits++;
	for (;;) {
		for (pp = &ch->replies; (r = *pp) != NULL; pp = &r->next) {
			if (r->id == id)
				break;
		}
		if (r != NULL) {
			*pp = r->next;
			*out = r->msg;
			free(r);
			rv = 0;
			break;
		}
		if (ch->dead || ch->eof) {
			pyerr_set(SB_ERRTYPE_INTERNAL, "the channel closed "
			    "while waiting for a response");
			break;
		}
		channel_pump(CHANNEL_WAIT_ROUND);
		if (PyErr_CheckSignals() != 0)
			break;
	}
	channel_waits--;
	return (rv);
}

/*
 * Serve the channels until done(arg) holds. Polls in short rounds so that
 * an interrupt arriving just before poll() is not missed. Returns -1 with an
 * exception set when ch ends or a signal handler raised.
 */
int
channel_wait_until(struct channel *ch, int (*done)(void *), void *arg)
{
	int	 rv = 0;

	channel_waits++;
	while (!done(arg)) {
		if (ch->dead || ch->eof) {
			pyerr_set(SB_ERRTYPE_INTERNAL, "the channel closed");
			rv = -1;
			break;
		}
		channel_pump(CHANNEL_WAIT_ROUND);
		if (PyErr_CheckSignals() != 0) {
			rv = -1;
			break;
		}
	}
	channel_waits--;
	return (rv);
}

int
channel_depth(void)
{
	return (channel_waits);
}

/* Free channels that are finished; only the outermost loop does this. */
static int
channel_reap(void)
{
	struct channel	**pp, *ch;
	int		 live = 0;

	for (pp = &channels; (ch = *pp) != NULL;) {
		if (ch->dead || (ch->eof && ch->out == NULL)) {
			*pp = ch->next;
			channel_free(ch);
		} else {
			live++;
			pp = &ch->next;
		}
	}
	return (live);
}

/*
 * Run the requests sent ahead, in order (outermost loop only). Before each,
 * when the daemon signalled a drop notice not read yet, read what arrived
 * meanwhile: the drop may be for it (dropsig.c). Before the last one, read
 * too: requests that came while the run was served extend it, so answers stay
 * held for one write and none of the run is answered before the next starts.
 */
static void
channel_run_pending(void)
{
	struct channel		*ch;
	struct channel_pend	*pe;

	for (ch = channels; ch != NULL; ch = ch->next) {
		while (ch->pend != NULL && !ch->dead && !ch->eof) {
			if (dropsig_pending() || ch->pend->next == NULL) {
				channel_read(ch);
				channel_process(ch);
			}
			if ((pe = ch->pend) == NULL || ch->dead)
				break;
			if ((ch->pend = pe->next) == NULL)
				ch->pend_tail = &ch->pend;
			/* Hold its answer while another one waits. */
			ch->hold = ch->pend != NULL;
			if (pe->dropped) {
				channel_answer_error(ch, pe->id,
				    SB_ERRTYPE_CANCELLED, "dropped before it "
				    "started");
				free(pe->msg);
			} else
				channel_message(ch, pe->msg, pe->at, pe->len,
				    1);
			free(pe);
		}
		ch->hold = 0;
		if (!ch->dead)
			channel_flush(ch);
	}
}

/* Serve until every channel has ended; returns the exit status. */
int
channel_loop(void)
{
	while (channel_reap() > 0) {
		if (channel_pump(-1) != 0 && PyErr_CheckSignals() != 0)
			PyErr_Clear();
		channel_run_pending();
	}
	return (channel_status);
}
