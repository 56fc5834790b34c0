/*
 * measure.c: the timed benchmarks, each over libsbclient as any client would
 * use it: serial math.sqrt round trips, pipelined calls over one or more
 * connections, a 10 MB bytes return, a 100 MB ndarray round trip (inline,
 * and by reference in a shared block), iterator items in batches or
 * streamed, and named sessions opened and closed.
 */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbbench.h"

#define MS_MAX_CLIENTS	16

double
ms_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e6 + ts.tv_nsec / 1e3);
}

/* Say why a request failed; err (NULL allowed) is only read. */
static void
ms_say(const char *what, int rc, const sb_error *err)
{
	if (rc == SB_EREMOTE && err != NULL)
		fprintf(stderr, "sbbench: %s: %s: %s\n", what,
		    sb_error_type(err), sb_error_message(err));
	else
		fprintf(stderr, "sbbench: %s: %s\n", what, sb_strerror(rc));
}

/* Say why a request failed (and free its error). */
void
ms_fail(const char *what, int rc, sb_error *err)
{
	ms_say(what, rc, err);
	sb_error_free(err);
}

static int
ms_cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* The list [item], or NULL when memory runs out. */
static sb_value *
ms_args1(sb_value *item)
{
	sb_value	*args = sb_list_new();

	if (args == NULL || sb_list_append(args, item) != 0) {
		sb_value_free(args);
		return (NULL);
	}
	return (args);
}

/* One synchronous call whose result is dropped. */
static int
ms_call_drop(sb_client *c, const char *mod, const char *fn,
    const sb_value *args)
{
	sb_value	*res;
	sb_error	*err;
	int		 rc;

	rc = sb_call(c, mod, fn, args, NULL, NULL, &res, &err);
	if (rc != 0) {
		ms_fail(fn, rc, err);
		return (-1);
	}
	sb_value_free(res);
	return (0);
}

/* Serial math.sqrt(16.0) round trips after a tenth as many to warm up. */
int
ms_call_sqrt(sb_client *c, int n, struct ms_latency *l)
{
	sb_value	*args;
	double		*t, t0, start, sum = 0;
	int		 i, rc = -1;

	if ((args = ms_args1(sb_float(16.0))) == NULL ||
	    (t = calloc((size_t)n, sizeof(*t))) == NULL) {
		sb_value_free(args);
		return (-1);
	}
	for (i = 0; i < n / 10; i++)
		if (ms_call_drop(c, "math", "sqrt", args) != 0)
			goto out;
	start = ms_now_us();
	for (i = 0; i < n; i++) {
		t0 = ms_now_us();
		if (ms_call_drop(c, "math", "sqrt", args) != 0)
			goto out;
		t[i] = ms_now_us() - t0;
		sum += t[i];
	}
	l->per_s = n / ((ms_now_us() - start) / 1e6);
	qsort(t, (size_t)n, sizeof(*t), ms_cmp_double);
	l->p50 = t[n / 2];
	l->p99 = t[(size_t)n * 99 / 100];
	l->mean = sum / n;
	rc = 0;
out:
	free(t);
	sb_value_free(args);
	return (rc);
}

/* Calls in flight on one connection: a ring of handles, oldest first. */
struct ms_ring {
	sb_pending	**p;
	int		  head, count;
};

/* Consume the answered handles at the head of a ring; -1 on a failure. */
static int
ms_ring_reap(sb_client *c, struct ms_ring *r, int depth, int *done)
{
	sb_value	*res;
	sb_error	*err;
	int		 rc;

	while (r->count > 0 && sb_pending_done(r->p[r->head])) {
		rc = sb_wait(c, r->p[r->head], 0, &res, &err);
		r->p[r->head] = NULL;
		r->head = (r->head + 1) % depth;
		r->count--;
		if (rc != 0) {
			ms_fail("pipelined sqrt", rc, err);
			return (-1);
		}
		sb_value_free(res);
		(*done)++;
	}
	return (0);
}

/*
 * n math.sqrt calls spread over nclients connections, each keeping depth of
 * them in flight; calls per second. One thread waits on every connection.
 */
static int
ms_pipeline_run(sb_client **cl, int nclients, int n, int depth,
    struct ms_ring *rings, const sb_value *args)
{
	struct pollfd	 pfd[MS_MAX_CLIENTS];
	sb_pending	*p;
	int		 i, sent = 0, done = 0, rc;

	while (done < n) {
		for (i = 0; i < nclients; i++) {
			while (rings[i].count < depth && sent < n) {
				rc = sb_call_async(cl[i], "math", "sqrt", args,
				    NULL, NULL, &p);
				if (rc != 0) {
					ms_fail("pipelined sqrt", rc, NULL);
					return (-1);
				}
				rings[i].p[(rings[i].head + rings[i].count) %
				    depth] = p;
				rings[i].count++;
				sent++;
			}
			pfd[i].fd = sb_client_fd(cl[i]);
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)nclients, BENCH_WAIT_MS) <= 0) {
			fprintf(stderr, "sbbench: pipelined sqrt: no answer\n");
			return (-1);
		}
		for (i = 0; i < nclients; i++) {
			if (pfd[i].revents == 0)
				continue;
			if ((rc = sb_client_poll(cl[i], 0)) < 0) {
				ms_fail("pipelined sqrt", rc, NULL);
				return (-1);
			}
			if (ms_ring_reap(cl[i], &rings[i], depth, &done) != 0)
				return (-1);
		}
	}
	return (0);
}

int
ms_pipelined(sb_client **cl, int nclients, int n, int depth, double *per_s)
{
	struct ms_ring	 rings[MS_MAX_CLIENTS];
	sb_value	*args;
	double		 t0;
	int		 i, j, rc = -1;

	if (nclients < 1 || nclients > MS_MAX_CLIENTS || depth < 1)
		return (-1);
	memset(rings, 0, sizeof(rings));
	if ((args = ms_args1(sb_float(16.0))) == NULL)
		return (-1);
	for (i = 0; i < nclients; i++)
		if ((rings[i].p = calloc((size_t)depth,
		    sizeof(*rings[i].p))) == NULL)
			goto out;
	/* A short warm-up run, then the measured one. */
	if (ms_pipeline_run(cl, nclients, n / 10 + depth, depth, rings,
	    args) != 0)
		goto out;
	t0 = ms_now_us();
	if (ms_pipeline_run(cl, nclients, n, depth, rings, args) != 0)
		goto out;
	*per_s = n / ((ms_now_us() - t0) / 1e6);
	rc = 0;
out:
	for (i = 0; i < nclients; i++) {
		for (j = 0; rings[i].p != NULL && j < rings[i].count; j++)
			sb_pending_free(cl[i],
			    rings[i].p[(rings[i].head + j) % depth]);
		free(rings[i].p);
	}
	sb_value_free(args);
	return (rc);
}

/* The median of the times (ms) of `rounds` synchronous calls. */
static int
ms_median_call(sb_client *c, const char *mod, const char *fn,
    const sb_value *args, int rounds, double *ms)
{
	double	*t, t0;
	int	 i, rc = -1;

	if (rounds < 1 || (t = calloc((size_t)rounds, sizeof(*t))) == NULL)
		return (-1);
	if (ms_call_drop(c, mod, fn, args) != 0)	/* warm up */
		goto out;
	for (i = 0; i < rounds; i++) {
		t0 = ms_now_us();
		if (ms_call_drop(c, mod, fn, args) != 0)
			goto out;
		t[i] = (ms_now_us() - t0) / 1e3;
	}
	qsort(t, (size_t)rounds, sizeof(*t), ms_cmp_double);
	*ms = t[rounds / 2];
	rc = 0;
out:
	free(t);
	return (rc);
}

/* builtins.bytes(size): size zero bytes returned; median ms. */
int
ms_bytes(sb_client *c, size_t size, int rounds, double *ms)
{
	sb_value	*args;
	int		 rc;

	if ((args = ms_args1(sb_uint(size))) == NULL)
		return (-1);
	rc = ms_median_call(c, "builtins", "bytes", args, rounds, ms);
	sb_value_free(args);
	return (rc);
}

/*
 * A float64 ndarray of size bytes sent to numpy.ascontiguousarray, which
 * returns it as it is: the whole array travels both ways. Median ms.
 */
int
ms_ndarray(sb_client *c, size_t size, int rounds, double *ms)
{
	sb_value	*args;
	double		*data;
	int64_t		 shape[1];
	size_t		 i, n = size / sizeof(double);
	int		 rc;

	if ((data = malloc(n * sizeof(double))) == NULL)
		return (-1);
	for (i = 0; i < n; i++)
		data[i] = (double)i;
	shape[0] = (int64_t)n;
	args = ms_args1(sb_ndarray("<f8", shape, 1, data, n * sizeof(double)));
	free(data);
	if (args == NULL)
		return (-1);
	rc = ms_median_call(c, "numpy", "ascontiguousarray", args, rounds, ms);
	sb_value_free(args);
	return (rc);
}

/*
 * The same round trip through a shared block of size bytes, made once and
 * not timed. Each round copies the caller's array into the block (its data
 * starts outside shared memory), passes the array over the block to
 * numpy.ascontiguousarray and checks that what comes back is a view of the
 * block: nothing else is copied. Median ms.
 */
int
ms_ndarray_shm(sb_client *c, size_t size, int rounds, double *ms)
{
	sb_value	*args = NULL, *res;
	sb_error	*err = NULL;
	sb_shm		*m = NULL;
	double		*src = NULL, *t = NULL, t0;
	int64_t		 shape[1];
	size_t		 i, off, n = size / sizeof(double);
	int		 r, rc = -1;

	if (rounds < 1 || (src = malloc(n * sizeof(double))) == NULL ||
	    (t = calloc((size_t)rounds, sizeof(*t))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		src[i] = (double)i;
	if ((r = sb_shm_create(c, n * sizeof(double), &m)) != 0) {
		ms_say("sb_shm_create", r, sb_client_last_error(c));
		goto out;
	}
	shape[0] = (int64_t)n;
	if ((args = ms_args1(sb_ndarray_shm(m, 0, "<f8", shape, 1))) == NULL) {
		fprintf(stderr, "sbbench: sb_ndarray_shm: bad arguments or "
		    "out of memory\n");
		goto out;
	}
	for (i = 0; i <= (size_t)rounds; i++) {	/* round 0 warms up */
		t0 = ms_now_us();
		memcpy(sb_shm_data(m), src, n * sizeof(double));
		r = sb_call(c, "numpy", "ascontiguousarray", args, NULL, NULL,
		    &res, &err);
		if (r != 0) {
			ms_fail("numpy.ascontiguousarray (shared)", r, err);
			goto out;
		}
		off = 1;
		if (sb_value_shm(res, &off) != m || off != 0) {
			fprintf(stderr, "sbbench: numpy.ascontiguousarray of "
			    "an array in a shared block came back as a copy\n");
			sb_value_free(res);
			goto out;
		}
		sb_value_free(res);
		if (i > 0)
			t[i - 1] = (ms_now_us() - t0) / 1e3;
	}
	qsort(t, (size_t)rounds, sizeof(*t), ms_cmp_double);
	*ms = t[rounds / 2];
	rc = 0;
out:
	sb_value_free(args);
	sb_shm_free(m);
	free(t);
	free(src);
	return (rc);
}

/* A ref to iter(range(n)) in the connection's session. */
static int
ms_range_iter(sb_client *c, int n, sb_value **it)
{
	sb_value	*args, *range = NULL;
	sb_error	*err = NULL;
	int		 rc;

	if ((args = ms_args1(sb_int(n))) == NULL)
		return (-1);
	rc = sb_call(c, "builtins", "range", args, NULL, NULL, &range, &err);
	sb_value_free(args);
	if (rc == 0 && sb_value_type(range) != SB_REF) {
		fprintf(stderr, "sbbench: range() did not come back as a "
		    "ref\n");
		sb_value_free(range);
		return (-1);
	}
	if (rc == 0)
		rc = sb_iter(c, range, NULL, it, &err);
	if (rc != 0)
		ms_fail("iter(range())", rc, err);
	if (range != NULL)
		sb_release(c, range, NULL, NULL);
	sb_value_free(range);
	return (rc == 0 ? 0 : -1);
}

/* Items of iter(range(n)) taken by next in batches of up to batch; items/s. */
int
ms_next_items(sb_client *c, int n, size_t batch, double *per_s)
{
	sb_value	*it, *res;
	sb_error	*err;
	const sb_value	*done;
	double		 t0;
	long		 got = 0;
	int		 rc, fin = 0;

	if (ms_range_iter(c, n, &it) != 0)
		return (-1);
	t0 = ms_now_us();
	while (!fin) {
		if ((rc = sb_next(c, it, batch, NULL, &res, &err)) != 0) {
			ms_fail("next", rc, err);
			break;
		}
		got += (long)sb_value_len(sb_value_item(res, 0));
		done = sb_value_item(res, 1);
		if (sb_value_get_bool(done, &fin) != 0)
			fin = 1;
		sb_value_free(res);
	}
	*per_s = got / ((ms_now_us() - t0) / 1e6);
	sb_release(c, it, NULL, NULL);
	sb_value_free(it);
	if (!fin || got != n) {
		if (fin)
			fprintf(stderr, "sbbench: next gave %ld items, not "
			    "%d\n", got, n);
		return (-1);
	}
	return (0);
}

/*
 * stream builtins.range(n): the items come as stream.items notifications and
 * the response {count} ends the stream; items/s. -1 (quietly) when the
 * daemon or its workers do not stream yet.
 */
int
ms_stream_items(sb_client *c, int n, double *per_s)
{
	sb_value	*params, *res = NULL;
	sb_error	*err = NULL;
	sb_pending	*p;
	uint64_t	 count;
	double		 t0;
	int		 rc;

	if ((params = sb_list_new()) == NULL ||
	    sb_list_append(params, sb_str("builtins")) != 0 ||
	    sb_list_append(params, sb_str("range")) != 0 ||
	    sb_list_append(params, ms_args1(sb_int(n))) != 0) {
		sb_value_free(params);
		return (-1);
	}
	t0 = ms_now_us();
	rc = sb_request_async(c, "stream", params, &p);
	sb_value_free(params);
	if (rc == 0)
		rc = sb_wait(c, p, BENCH_WAIT_MS, &res, &err);
	if (rc == SB_EAGAIN)
		sb_pending_free(c, p);
	if (rc == 0 && (sb_value_get_uint(sb_map_get(res, "count"),
	    &count) != 0 || count != (uint64_t)n))
		rc = SB_EPROTO;
	if (rc == 0)
		*per_s = n / ((ms_now_us() - t0) / 1e6);
	sb_value_free(res);
	sb_error_free(err);
	return (rc == 0 ? 0 : -1);
}

/* Named sessions opened and closed, one after the other; pairs per second. */
int
ms_open_close(sb_client *c, int n, double *per_s)
{
	sb_value	*info;
	sb_error	*err;
	char		 name[64];
	double		 t0;
	int		 i, rc;

	t0 = ms_now_us();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "sbbench-oc-%d", i);
		if ((rc = sb_session_open(c, name, NULL, &info, &err)) != 0) {
			ms_fail("session.open", rc, err);
			return (-1);
		}
		sb_value_free(info);
		if ((rc = sb_session_close(c, name, &err)) != 0) {
			ms_fail("session.close", rc, err);
			return (-1);
		}
	}
	*per_s = n / ((ms_now_us() - t0) / 1e6);
	return (0);
}
