/*
 * stream.c: the worker's side of `stream` (docs/protocol.md, "Streaming").
 * The iterator's items are encoded into batches sent as
 * [2, "stream.items", [wid, items]] notifications. A batch is sent once it
 * holds STREAM_BATCH_ITEMS items or STREAM_BATCH_BYTES bytes, or
 * STREAM_BATCH_MS after its first item, whichever comes first. The time
 * bound holds even while the generator is busy producing the next item: a
 * flusher thread, which touches no Python object, sends a batch whose time
 * is up. Flow control is by credit: at most STREAM_CREDITS batches may be
 * unacknowledged; the daemon acknowledges one with [2, "stream.ack", [wid]]
 * once its client has read it, and the worker waits (serving its channel)
 * while it has no credit. Whenever the stream ends early (error,
 * interrupt) the iterator's close() runs, so a generator's finally: blocks
 * execute.
 */
#include "adapter.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

struct stream {
	struct channel	*ch;
	uint32_t	 wid;
	unsigned	 credits;
	msgpack_sbuffer	 batch;		/* encoded items */
	uint32_t	 n;		/* items in batch */
	struct timespec	 first;		/* when batch got its first item */
	int		 dead;		/* the channel failed */
	struct stream	*next;
};

/* Streams and batches are shared with the flusher thread. */
static pthread_mutex_t	 stream_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 stream_cond;
static struct stream	*streams;	/* running, innermost first */
static int		 stream_thread_up;

static int64_t
stream_elapsed_us(const struct timespec *since)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((int64_t)(now.tv_sec - since->tv_sec) * 1000000 +
	    (now.tv_nsec - since->tv_nsec) / 1000);
}

/*
 * Send s's batch and start an empty one; stream_mtx held, a credit
 * available. Touches no Python object. -1 when the channel failed.
 */
static int
stream_send_locked(struct stream *s)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	int		 rv = -1;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, 3) == 0 &&
	    msgpack_pack_int(&pk, SB_MSG_NOTIFY) == 0 &&
	    msgpack_pack_str_with_body(&pk, "stream.items", 12) == 0 &&
	    msgpack_pack_array(&pk, 2) == 0 &&
	    msgpack_pack_uint32(&pk, s->wid) == 0 &&
	    msgpack_pack_array(&pk, s->n) == 0 &&
	    msgpack_sbuffer_write(&sb, s->batch.data, s->batch.size) == 0)
		rv = channel_send(s->ch, &sb);
	msgpack_sbuffer_destroy(&sb);
	s->batch.size = 0;
	s->n = 0;
	s->credits--;
	if (rv != 0)
		s->dead = 1;
	return (rv);
}

/* The flusher: send batches whose time is up while Python is busy. */
static void *
stream_flusher(void *arg)
{
	struct stream	*s;
	struct timespec	 wake;
	int64_t		 left, soonest;

	pthread_mutex_lock(&stream_mtx);
	for (;;) {
		soonest = -1;
		for (s = streams; s != NULL; s = s->next) {
			if (s->n == 0 || s->credits == 0 || s->dead)
				continue;
			left = STREAM_BATCH_MS * 1000 -
			    stream_elapsed_us(&s->first);
			if (left <= 0)
				stream_send_locked(s);
			else if (soonest < 0 || left < soonest)
				soonest = left;
		}
		if (soonest < 0) {
			pthread_cond_wait(&stream_cond, &stream_mtx);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &wake);
		wake.tv_nsec += (long)(soonest % 1000000) * 1000;
		wake.tv_sec += soonest / 1000000 + wake.tv_nsec / 1000000000;
		wake.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&stream_cond, &stream_mtx, &wake);
	}
	return (NULL);
}

/* Start the flusher once; 0, or -1 with an exception set. */
static int
stream_thread_start(void)
{
	pthread_condattr_t	 ca;
	pthread_t		 t;
	sigset_t		 all, old;
	int			 rc;

	if (stream_thread_up)
		return (0);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&stream_cond, &ca);
	pthread_condattr_destroy(&ca);
	/* signals (the daemon's SIGINT) must reach the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t, NULL, stream_flusher, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pyerr_set(SB_ERRTYPE_INTERNAL, "cannot start the stream "
		    "flusher: %s", strerror(rc));
		return (-1);
	}
	pthread_detach(t);
	stream_thread_up = 1;
	return (0);
}

/* The daemon acknowledged a batch of stream wid: one more credit. */
void
stream_ack(uint32_t wid)
{
	struct stream	*s;

	pthread_mutex_lock(&stream_mtx);
	for (s = streams; s != NULL; s = s->next) {
		if (s->wid == wid) {
			s->credits++;
			pthread_cond_signal(&stream_cond);
			break;
		}
	}
	pthread_mutex_unlock(&stream_mtx);
}

static int
stream_has_credit(void *arg)
{
	struct stream	*s = arg;
	int		 rv;

	pthread_mutex_lock(&stream_mtx);
	rv = s->credits > 0 || s->n == 0;
	pthread_mutex_unlock(&stream_mtx);
	return (rv);
}

/*
 * Send s's batch now (all of it, when last), waiting for a credit as long
 * as needed. -1 with an exception set.
 */
static int
stream_flush(struct stream *s)
{
	int	 rv = 0;

	for (;;) {
		if (channel_wait_until(s->ch, stream_has_credit, s) != 0)
			return (-1);
		pthread_mutex_lock(&stream_mtx);
		if (s->n > 0 && s->credits > 0)
			rv = stream_send_locked(s);
		if (s->n == 0 || rv != 0) {
			pthread_mutex_unlock(&stream_mtx);
			break;
		}
		pthread_mutex_unlock(&stream_mtx);
	}
	if (rv != 0 || s->dead) {
		pyerr_set(SB_ERRTYPE_INTERNAL, "the channel closed during a "
		    "stream");
		return (-1);
	}
	return (0);
}

/* Add the encoded item in one to s's batch; 1 when the batch is full. */
static int
stream_add(struct stream *s, msgpack_sbuffer *one)
{
	int	 full;

	pthread_mutex_lock(&stream_mtx);
	if (msgpack_sbuffer_write(&s->batch, one->data, one->size) != 0) {
		pthread_mutex_unlock(&stream_mtx);
		PyErr_NoMemory();
		return (-1);
	}
	if (s->n++ == 0) {
		clock_gettime(CLOCK_MONOTONIC, &s->first);
		pthread_cond_signal(&stream_cond);
	}
	full = s->n >= STREAM_BATCH_ITEMS ||
	    s->batch.size >= STREAM_BATCH_BYTES;
	pthread_mutex_unlock(&stream_mtx);
	one->size = 0;
	return (full);
}

/* Call it.close() if it has one, keeping the exception being raised. */
static void
stream_close(PyObject *it)
{
	PyObject	*type, *value, *tb, *r;

	PyErr_Fetch(&type, &value, &tb);
	if (PyObject_HasAttrString(it, "close")) {
		r = PyObject_CallMethod(it, "close", NULL);
		if (r == NULL)
			PyErr_Clear();
		Py_XDECREF(r);
	}
	PyErr_Restore(type, value, tb);
}

/* Take items from it and send them in batches; the count, -1 on error. */
static long long
stream_pump(struct stream *s, PyObject *it, uint64_t sid)
{
	msgpack_sbuffer	 one;
	PyObject	*item;
	long long	 total = 0;
	int		 rv;

	msgpack_sbuffer_init(&one);
	for (;;) {
		if (PyErr_CheckSignals() != 0)
			break;
		if ((item = PyIter_Next(it)) == NULL)
			break;
		rv = codec_encode(&one, item, sid);
		Py_DECREF(item);
		if (rv != 0 || (rv = stream_add(s, &one)) < 0)
			break;
		total++;
		if (rv == 1 && stream_flush(s) != 0)
			break;
	}
	if (!PyErr_Occurred())
		stream_flush(s);
	else {
		/* the items before a failure still go, if a credit allows */
		pthread_mutex_lock(&stream_mtx);
		if (s->n > 0 && s->credits > 0 && !s->dead)
			stream_send_locked(s);
		pthread_mutex_unlock(&stream_mtx);
	}
	msgpack_sbuffer_destroy(&one);
	return (PyErr_Occurred() ? -1 : total);
}

/*
 * Stream the items of iterable obj as the request wid of session sid.
 * Returns {"count": N} or NULL with an exception set.
 */
PyObject *
stream_run(struct channel *ch, uint32_t wid, uint64_t sid, PyObject *obj)
{
	struct stream	 s, **pp;
	PyObject	*it;
	long long	 total;

	if (stream_thread_start() != 0)
		return (NULL);
	if ((it = PyObject_GetIter(obj)) == NULL)
		return (NULL);
	memset(&s, 0, sizeof s);
	s.ch = ch;
	s.wid = wid;
	s.credits = STREAM_CREDITS;
	msgpack_sbuffer_init(&s.batch);
	/* From now on the flusher may send on a channel: lock them. */
	channel_share(1);
	pthread_mutex_lock(&stream_mtx);
	s.next = streams;
	streams = &s;
	pthread_mutex_unlock(&stream_mtx);

	total = stream_pump(&s, it, sid);

	pthread_mutex_lock(&stream_mtx);
	for (pp = &streams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == &s) {
			*pp = s.next;
			break;
		}
	}
	pthread_mutex_unlock(&stream_mtx);
	channel_share(-1);
	msgpack_sbuffer_destroy(&s.batch);
	if (total < 0)
		stream_close(it);
	Py_DECREF(it);
	if (total < 0)
		return (NULL);
	return (Py_BuildValue("{s:L}", "count", total));
}
