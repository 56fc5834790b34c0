/*
 * stream.c: the worker's side of `stream` (docs/protocol.md, "Streaming").
 * The iterator's items are encoded into batches sent as
 * [2, "stream.items", [wid, items]] notifications. A batch is sent once it
 * holds STREAM_BATCH_ITEMS items or STREAM_BATCH_BYTES bytes, or once
 * STREAM_BATCH_MS passed since it began waiting for its first item, so that
 * a slow producer still delivers each item promptly. Flow control is by
 * credit: at most STREAM_CREDITS batches may be unacknowledged; the daemon
 * acknowledges one with [2, "stream.ack", [wid]] once its client has read
 * it, and the worker waits (serving its channel) while it has no credit.
 * Whenever the stream ends early (error, interrupt) the iterator's close()
 * runs, so a generator's finally: blocks execute.
 */
#include "adapter.h"

#include <string.h>
#include <time.h>

struct stream {
	uint32_t	 wid;
	unsigned	 credits;
	struct stream	*next;
};

static struct stream	*streams;	/* running, innermost first */

static int64_t
stream_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* The daemon acknowledged a batch of stream wid: one more credit. */
void
stream_ack(uint32_t wid)
{
	struct stream	*s;

	for (s = streams; s != NULL; s = s->next) {
		if (s->wid == wid) {
			s->credits++;
			return;
		}
	}
}

static int
stream_has_credit(void *arg)
{
	return (((struct stream *)arg)->credits > 0);
}

/*
 * Send the batch held in items (n encoded values) once a credit is there;
 * items is emptied. -1 with an exception set.
 */
static int
stream_flush(struct channel *ch, struct stream *s, msgpack_sbuffer *items,
    uint32_t n)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	if (channel_wait_until(ch, stream_has_credit, s) != 0)
		return (-1);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, SB_MSG_NOTIFY);
	msgpack_pack_str_with_body(&pk, "stream.items", 12);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint32(&pk, s->wid);
	msgpack_pack_array(&pk, n);
	if (msgpack_sbuffer_write(&sb, items->data, items->size) != 0) {
		msgpack_sbuffer_destroy(&sb);
		PyErr_NoMemory();
		return (-1);
	}
	items->size = 0;
	s->credits--;
	if (channel_send(ch, &sb) != 0) {
		msgpack_sbuffer_destroy(&sb);
		pyerr_set(SB_ERRTYPE_INTERNAL, "the channel closed during a "
		    "stream");
		return (-1);
	}
	msgpack_sbuffer_destroy(&sb);
	return (0);
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
stream_pump(struct channel *ch, struct stream *s, PyObject *it, uint64_t sid)
{
	msgpack_sbuffer	 items;
	PyObject	*item;
	long long	 total = 0;
	uint32_t	 n = 0;
	int64_t		 began = 0;
	int		 rv;

	msgpack_sbuffer_init(&items);
	for (;;) {
		if (n == 0)
			began = stream_now_us();
		if (PyErr_CheckSignals() != 0)
			break;
		if ((item = PyIter_Next(it)) == NULL)
			break;
		rv = codec_encode(&items, item, sid);
		Py_DECREF(item);
		if (rv != 0)
			break;
		n++;
		total++;
		if (n >= STREAM_BATCH_ITEMS || items.size >= STREAM_BATCH_BYTES ||
		    stream_now_us() - began >= STREAM_BATCH_MS * 1000) {
			if (stream_flush(ch, s, &items, n) != 0)
				break;
			n = 0;
		}
	}
	if (!PyErr_Occurred() && n > 0)
		stream_flush(ch, s, &items, n);
	msgpack_sbuffer_destroy(&items);
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

	if ((it = PyObject_GetIter(obj)) == NULL)
		return (NULL);
	memset(&s, 0, sizeof s);
	s.wid = wid;
	s.credits = STREAM_CREDITS;
	s.next = streams;
	streams = &s;
	total = stream_pump(ch, &s, it, sid);
	for (pp = &streams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == &s) {
			*pp = s.next;
			break;
		}
	}
	if (total < 0)
		stream_close(it);
	Py_DECREF(it);
	if (total < 0)
		return (NULL);
	return (Py_BuildValue("{s:L}", "count", total));
}
