/*
 * stream.c: streaming calls. A running stream is a sink registered by the
 * request's msgid; "stream.items" notifications [msgid, items] feed its
 * item function one decoded item at a time. When the function asks to
 * stop, `cancel [msgid]` is sent and further items are dropped; the call
 * still waits for the stream's single response.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Ask the daemon to stop stream msgid; its answer is not waited for. */
static void
stream_cancel(sb_client *c, uint32_t msgid)
{
	const sb_value *params[1];
	sb_pending *p;
	sb_value id;

	value_borrow_uint(&id, msgid);
	params[0] = &id;
	if (pending_send(c, "cancel", params, 1, NULL, 0, &p) == 0)
		sb_pending_free(c, p);
}

/* Call the item function on item (taken); stop the stream if it says so. */
static void
stream_feed(sb_client *c, struct stream_sink *s, sb_value *item)
{
	s->count++;
	if (s->fn(item, s->ud) != 0 && !s->stopped) {
		s->stopped = 1;
		stream_cancel(c, s->msgid);
	}
	sb_value_free(item);
}

/*
 * Queue the items of batch (taken) and, unless the function is running
 * already (it made a call on the client, which reads on), feed them in
 * order with whatever arrives meanwhile: the function is never re-entered
 * for its own stream.
 */
static void
stream_deliver(sb_client *c, struct stream_sink *s, sb_value *batch)
{
	sb_value *item;
	size_t i;

	if (s->backlog == NULL)
		s->backlog = batch;
	else {
		for (i = 0; i < batch->u.seq.len; i++) {
			if (sb_list_append(s->backlog,
			    batch->u.seq.items[i]) != 0 && !s->stopped) {
				s->failed = SB_ENOMEM;
				s->stopped = 1;
				stream_cancel(c, s->msgid);
			}
			batch->u.seq.items[i] = NULL;
		}
		sb_value_free(batch);
	}
	if (s->busy)
		return;
	s->busy = 1;
	while (!s->stopped && s->head < s->backlog->u.seq.len) {
		item = s->backlog->u.seq.items[s->head];
		s->backlog->u.seq.items[s->head++] = NULL;
		stream_feed(c, s, item);
	}
	sb_value_free(s->backlog);
	s->backlog = NULL;
	s->head = 0;
	s->busy = 0;
}

/* The notification's params after "stream.items": [msgid, [items...]]. */
int
stream_items(sb_client *c, struct unpack_reader *r)
{
	struct stream_sink *s;
	sb_value *item, *batch;
	uint64_t msgid;
	size_t n, i;
	int rc = 0;

	if (unpack_array(r, &n) != 0 || n != 2 || unpack_uint(r, &msgid) != 0)
		return (0);	/* not for us to judge: ignored */
	for (s = c->streams; s != NULL; s = s->next) {
		if (s->msgid == msgid)
			break;
	}
	if (s == NULL || s->stopped || unpack_array(r, &n) != 0)
		return (0);
	/*
	 * Decode the whole batch first: the function may make calls, and
	 * reading their answers may move the buffer r points into.
	 */
	if ((batch = sb_list_new()) == NULL)
		rc = SB_ENOMEM;
	for (i = 0; i < n && rc == 0; i++) {
		if ((rc = unpack_value(r, 3, &item)) == 0 &&
		    sb_list_append(batch, item) != 0)
			rc = SB_ENOMEM;
	}
	if (rc != 0) {
		s->failed = rc;
		s->stopped = 1;
		stream_cancel(c, s->msgid);
	}
	if (rc == 0)
		stream_deliver(c, s, batch);
	else
		sb_value_free(batch);
	return (0);
}

/*
 * Run the stream whose request p was sent: feed fn until the response.
 * Consumes p.
 */
int
stream_run(sb_client *c, sb_pending *p, sb_item_fn fn, void *ud,
    uint64_t *count, sb_error **err)
{
	struct stream_sink sink, **pp;
	sb_value *result = NULL;
	sb_error *e = NULL;
	uint64_t n;
	int rc;

	memset(&sink, 0, sizeof(sink));
	sink.msgid = p->msgid;
	sink.fn = fn;
	sink.ud = ud;
	sink.next = c->streams;
	c->streams = &sink;
	rc = sb_wait(c, p, -1, &result, &e);
	for (pp = &c->streams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == &sink) {
			*pp = sink.next;
			break;
		}
	}
	sb_value_free(sink.backlog);
	if (sink.failed != 0 || sink.stopped) {
		/* the response is Cancelled, or the count if it ended first */
		sb_value_free(result);
		sb_error_free(e);
		return (sink.failed != 0 ? sink.failed : SB_ECANCELED);
	}
	if (rc == 0) {
		if (count != NULL)
			*count = sb_value_get_uint(sb_map_get(result, "count"),
			    &n) == 0 ? n : sink.count;
		sb_value_free(result);
	}
	if (err != NULL)
		*err = e;
	else
		sb_error_free(e);
	return (rc);
}
