/*
 * check_pipeline.c: pipelined and parallel requests against a real daemon:
 * many requests in flight on one connection, several connections at once,
 * and named sessions running side by side on different workers.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define NPIPELINED	200
#define WAIT_MS		30000

/* [sb_int(a)] or [sb_float(a)] arguments. */
static sb_value *
int_args(int64_t a)
{
	sb_value	*l = sb_list_new();

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(sb_list_append(l, sb_int(a)), 0);
	return (l);
}

static sb_value *
float_args(double a)
{
	sb_value	*l = sb_list_new();

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(sb_list_append(l, sb_float(a)), 0);
	return (l);
}

/*
 * Send n calls of math.sqrt(i * i) without waiting, then collect them all
 * (in reverse order, so answers are matched by msgid, not by arrival).
 * Returns the number of right answers; the failures are described in why.
 */
static int
pipeline_sqrt(sb_client *c, int n, int64_t base, char *why, size_t whylen)
{
	sb_pending	**p;
	sb_value	*args, *r;
	sb_error	*err;
	double		 d;
	int		 i, rc, right = 0;

	ck_assert_ptr_nonnull(p = calloc(n, sizeof *p));
	for (i = 0; i < n; i++) {
		args = int_args((base + i) * (base + i));
		rc = sb_call_async(c, "math", "sqrt", args, NULL, NULL, &p[i]);
		sb_value_free(args);
		ck_assert_msg(rc == 0, "sb_call_async #%d: %s", i,
		    sb_strerror(rc));
	}
	why[0] = '\0';
	for (i = n - 1; i >= 0; i--) {
		r = NULL;
		err = NULL;
		rc = sb_wait(c, p[i], WAIT_MS, &r, &err);
		if (rc == SB_EAGAIN) {
			sb_pending_free(c, p[i]);
			snprintf(why, whylen, "call #%d: no answer in %d ms",
			    i, WAIT_MS);
		} else if (rc != 0) {
			snprintf(why, whylen, "call #%d: %s %s", i,
			    sb_strerror(rc), err ? sb_error_type(err) : "");
		} else if (sb_value_get_float(r, &d) != 0 ||
		    d != (double)(base + i)) {
			snprintf(why, whylen, "call #%d: wrong answer", i);
		} else
			right++;
		sb_value_free(r);
		sb_error_free(err);
	}
	free(p);
	return (right);
}

START_TEST(test_pipelined_200)
{
	sb_client	*c = sbt_connect(&sbt_d);
	char		 why[256];
	int		 right;

	right = pipeline_sqrt(c, NPIPELINED, 0, why, sizeof why);
	ck_assert_msg(right == NPIPELINED, "%d of %d right; %s", right,
	    NPIPELINED, why);
	/* The connection is still in step afterwards. */
	sbt_ok("ping", sb_ping(c, NULL), NULL);
	sb_client_close(c);
}
END_TEST

START_TEST(test_pipelined_mixed_wait_order)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_pending	*slow, *fast;
	sb_value	*args, *r = NULL;
	sb_error	*err = NULL;
	double		 d;

	/* A slow call and a quick one in flight; poll until both are done. */
	args = float_args(0.3);
	ck_assert_int_eq(sb_call_async(c, "sbfixtures", "slow", args, NULL,
	    NULL, &slow), 0);
	sb_value_free(args);
	args = int_args(49);
	ck_assert_int_eq(sb_call_async(c, "math", "sqrt", args, NULL, NULL,
	    &fast), 0);
	sb_value_free(args);
	while (!(sb_pending_done(slow) && sb_pending_done(fast)))
		ck_assert_int_ge(sb_client_poll(c, 1000), 0);
	sbt_ok("sqrt", sb_wait(c, fast, 0, &r, &err), err);
	ck_assert_int_eq(sb_value_get_float(r, &d), 0);
	ck_assert_double_eq(d, 7.0);
	sb_value_free(r);
	sbt_ok("slow", sb_wait(c, slow, 0, &r, &err), err);
	ck_assert_int_eq(sb_value_get_float(r, &d), 0);
	ck_assert_double_eq(d, 0.3);
	sb_value_free(r);

	/* An abandoned request does not disturb the next ones. */
	args = float_args(0.1);
	ck_assert_int_eq(sb_call_async(c, "sbfixtures", "slow", args, NULL,
	    NULL, &slow), 0);
	sb_value_free(args);
	sb_pending_free(c, slow);
	args = int_args(64);
	sbt_ok("sqrt after abandon", sb_call(c, "math", "sqrt", args, NULL,
	    NULL, &r, &err), err);
	ck_assert_int_eq(sb_value_get_float(r, &d), 0);
	ck_assert_double_eq(d, 8.0);
	sb_value_free(r);
	sb_value_free(args);
	sb_client_close(c);
}
END_TEST

struct conn_job {
	int64_t	 base;
	int	 right;
	char	 why[256];
};

/* One thread, one connection, 100 pipelined calls. */
static void *
conn_thread(void *arg)
{
	struct conn_job	*job = arg;
	sb_client	*c = NULL;

	if (sb_client_connect(sbt_d.socket, &c) != 0) {
		snprintf(job->why, sizeof job->why, "connect failed");
		return (NULL);
	}
	job->right = pipeline_sqrt(c, 100, job->base, job->why,
	    sizeof job->why);
	sb_client_close(c);
	return (NULL);
}

/* n threads, each with its own connection and 100 pipelined calls. */
static void
run_connections(int n)
{
	struct conn_job	*jobs;
	pthread_t	*t;
	int		 i;

	ck_assert_ptr_nonnull(jobs = calloc(n, sizeof *jobs));
	ck_assert_ptr_nonnull(t = calloc(n, sizeof *t));
	for (i = 0; i < n; i++) {
		jobs[i].base = 1000 * (i + 1);
		ck_assert_int_eq(pthread_create(&t[i], NULL, conn_thread,
		    &jobs[i]), 0);
	}
	for (i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (i = 0; i < n; i++)
		ck_assert_msg(jobs[i].right == 100, "connection %d: %d of 100 "
		    "right; %s", i, jobs[i].right, jobs[i].why);
	free(jobs);
	free(t);
}

START_TEST(test_two_connections)
{
	run_connections(2);
}
END_TEST

START_TEST(test_eight_connections)
{
	run_connections(8);
}
END_TEST

/* Start fixture func(seconds) in a named session; a pending handle. */
static sb_pending *
session_call(sb_client *c, const char *session, const char *func,
    double seconds)
{
	struct sb_opts	 opts;
	sb_pending	*p;
	sb_value	*args = float_args(seconds);
	int		 rc;

	sb_opts_init(&opts);
	opts.session = session;
	rc = sb_call_async(c, "sbfixtures", func, args, NULL, &opts, &p);
	sb_value_free(args);
	ck_assert_msg(rc == 0, "sb_call_async in %s: %s", session,
	    sb_strerror(rc));
	return (p);
}

static sb_value *
wait_ok(sb_client *c, sb_pending *p, const char *what)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_wait(c, p, WAIT_MS, &r, &err);
	if (rc == SB_EAGAIN)
		sb_pending_free(c, p);
	sbt_ok(what, rc, err);
	return (r);
}

/*
 * sbsuper.rendezvous in session: create mine, wait (bounded) for other;
 * whether other came, so whether another session's call ran meanwhile.
 */
static sb_pending *
session_rendezvous(sb_client *c, const char *session, const char *mine,
    const char *other)
{
	struct sb_opts	 opts;
	sb_pending	*p;
	sb_value	*args;
	int		 rc;

	args = sbt_list(sb_str(mine), sb_str(other), sb_float(20), NULL);
	sb_opts_init(&opts);
	opts.session = session;
	rc = sb_call_async(c, "sbsuper", "rendezvous", args, NULL, &opts, &p);
	sb_value_free(args);
	ck_assert_msg(rc == 0, "sb_call_async in %s: %s", session,
	    sb_strerror(rc));
	return (p);
}

START_TEST(test_sessions_parallel)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info = NULL, *ra, *rb;
	sb_error	*err = NULL;
	sb_pending	*pa, *pb;
	int64_t		 pida, pidb, again;
	char		 fa[PATH_MAX + 8], fb[PATH_MAX + 8];
	int		 meta, metb;

	sbt_ok("open a", sb_session_open(c, "sbt-a", NULL, &info, &err), err);
	sb_value_free(info);
	sbt_ok("open b", sb_session_open(c, "sbt-b", NULL, &info, &err), err);
	sb_value_free(info);

	/* First use binds each session to a worker: both busy at once. */
	pa = session_call(c, "sbt-a", "pid_after", 0.5);
	pb = session_call(c, "sbt-b", "pid_after", 0.5);
	ra = wait_ok(c, pa, "pid in a");
	rb = wait_ok(c, pb, "pid in b");
	ck_assert_int_eq(sb_value_get_int(ra, &pida), 0);
	ck_assert_int_eq(sb_value_get_int(rb, &pidb), 0);
	sb_value_free(ra);
	sb_value_free(rb);
	ck_assert_msg(pida != pidb, "both sessions ran on worker pid %lld",
	    (long long)pida);

	/* Each session's call waits for the other's to begin: they overlap. */
	snprintf(fa, sizeof fa, "%s/sess.a", sbt_d.dir);
	snprintf(fb, sizeof fb, "%s/sess.b", sbt_d.dir);
	pa = session_rendezvous(c, "sbt-a", fa, fb);
	pb = session_rendezvous(c, "sbt-b", fb, fa);
	ra = wait_ok(c, pa, "rendezvous in a");
	rb = wait_ok(c, pb, "rendezvous in b");
	ck_assert_int_eq(sb_value_get_bool(ra, &meta), 0);
	ck_assert_int_eq(sb_value_get_bool(rb, &metb), 0);
	sb_value_free(ra);
	sb_value_free(rb);
	ck_assert_msg(meta && metb, "the sessions' calls did not overlap");

	/* Each session stays on its worker. */
	pa = session_call(c, "sbt-a", "pid_after", 0);
	ra = wait_ok(c, pa, "pid in a again");
	ck_assert_int_eq(sb_value_get_int(ra, &again), 0);
	ck_assert_int_eq(again, pida);
	sb_value_free(ra);

	sbt_ok("close a", sb_session_close(c, "sbt-a", &err), err);
	sbt_ok("close b", sb_session_close(c, "sbt-b", &err), err);
	sb_client_close(c);
}
END_TEST

/*
 * The next answer on r: a response to a msgid below n not answered before
 * (noted in seen); got of n came so far. Returns its msgid.
 */
static uint32_t
raw_recv_once(struct sbt_raw *r, const msgpack_object **o,
    unsigned char *seen, int got, int n)
{
	uint32_t	 id;

	ck_assert_msg(sbt_raw_recv(r, WAIT_MS, o) == 1,
	    "only %d of %d responses came", got, n);
	ck_assert_int_eq((*o)->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq((*o)->via.array.size, 4);
	ck_assert_uint_eq((*o)->via.array.ptr[0].via.u64, 1);
	id = (uint32_t)(*o)->via.array.ptr[1].via.u64;
	ck_assert_uint_lt(id, (uint32_t)n);
	ck_assert_msg(!seen[id], "msgid %u answered twice", id);
	seen[id] = 1;
	return (id);
}

/*
 * Over a raw socket: 60 pipelined requests (good calls, Python errors,
 * unknown methods) get exactly one response each, and nothing more.
 */
START_TEST(test_raw_exactly_once)
{
	struct sbt_raw		 r;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	const msgpack_object	*o;
	unsigned char		 seen[60];
	uint32_t		 id;
	int			 i, n = 60, got = 0;

	sbt_raw_open(&sbt_d, &r);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < n; i++) {
		if (i % 10 == 9) {
			sbt_pack_request(&pk, i, "no.such.method", 0);
			continue;
		}
		sbt_pack_request(&pk, i, "call", 3);
		sbt_pack_str(&pk, "math");
		sbt_pack_str(&pk, "sqrt");
		msgpack_pack_array(&pk, 1);
		msgpack_pack_int(&pk, i % 10 == 5 ? -1 : i * i);
	}
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sb), 0);
	msgpack_sbuffer_destroy(&sb);

	memset(seen, 0, sizeof seen);
	while (got < n) {
		id = raw_recv_once(&r, &o, seen, got, n);
		got++;
		if (id % 10 == 9)
			ck_assert_str_eq(sbt_obj_errtype(o),
			    "snakebridge.UnknownMethod");
		else if (id % 10 == 5)
			ck_assert_str_eq(sbt_obj_errtype(o), "ValueError");
		else {
			ck_assert_ptr_null(sbt_obj_errtype(o));
			ck_assert_double_eq(o->via.array.ptr[3].via.f64,
			    (double)id);
		}
	}
	/* Nothing else is on its way. */
	ck_assert_int_eq(sbt_raw_recv(&r, 300, &o), -1);
	sbt_raw_close(&r);
}
END_TEST

/* Fill a bin argument for msgid: its id, then a byte of its own. */
static void
pack_tagged_bin(msgpack_packer *pk, char *blob, size_t len, uint32_t id)
{
	memset(blob, (int)(id * 7 + 1) & 0xff, len);
	memcpy(blob, &id, sizeof id);
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, blob, len);
}

/* Does o, an answer to id, carry the bin pack_tagged_bin made for it? */
static int
tagged_bin_ok(const msgpack_object *o, size_t len, uint32_t id)
{
	const char	*p;
	uint32_t	 tag;
	size_t		 i;

	if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != len)
		return (0);
	p = o->via.bin.ptr;
	memcpy(&tag, p, sizeof tag);
	for (i = sizeof tag; i < len; i++) {
		if ((unsigned char)p[i] != ((id * 7 + 1) & 0xff))
			return (0);
	}
	return (tag == id);
}

/*
 * A client that pipelines calls with large and small answers and reads
 * nothing for a while: what the socket does not take waits in the daemon,
 * large answers (sent from the buffer they were read into) and small ones
 * (copied) alike. Once it reads, every answer comes whole, once, with its
 * own bytes.
 */
START_TEST(test_raw_large_answers_unread)
{
	struct sbt_raw		 r;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	const msgpack_object	*o;
	unsigned char		 seen[48];
	size_t			 big = 300 * 1024, small = 100, len;
	char			*blob;
	uint32_t		 id;
	int			 i, n = 48, got = 0;

	ck_assert_ptr_nonnull(blob = malloc(big));
	sbt_raw_open(&sbt_d, &r);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < n; i++) {
		sbt_pack_request(&pk, i, "call", 3);
		sbt_pack_str(&pk, "sbfixtures");
		sbt_pack_str(&pk, "identity");
		msgpack_pack_array(&pk, 1);
		pack_tagged_bin(&pk, blob, i % 3 == 2 ? small : big,
		    (uint32_t)i);
	}
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sb), 0);
	msgpack_sbuffer_destroy(&sb);
	free(blob);
	sleep(1);		/* not reading: the answers back up */

	memset(seen, 0, sizeof seen);
	while (got < n) {
		id = raw_recv_once(&r, &o, seen, got, n);
		got++;
		ck_assert_msg(sbt_obj_errtype(o) == NULL, "msgid %u: %s", id,
		    sbt_obj_errtype(o));
		len = id % 3 == 2 ? small : big;
		ck_assert_msg(tagged_bin_ok(&o->via.array.ptr[3], len, id),
		    "msgid %u: wrong bytes", id);
	}
	ck_assert_int_eq(sbt_raw_recv(&r, 300, &o), -1);
	sbt_raw_close(&r);
}
END_TEST

/* How many workers of the default pool status shows as busy. */
static int
busy_workers(sb_client *c)
{
	sb_value	*st = NULL;
	sb_error	*err = NULL;
	const sb_value	*workers, *state;
	size_t		 i;
	int		 busy = 0;

	sbt_ok("status", sb_status(c, &st, &err), err);
	workers = sb_map_get(sb_value_item(sb_map_get(st, "pools"), 0),
	    "workers");
	for (i = 0; i < sb_value_len(workers); i++) {
		state = sb_map_get(sb_value_item(workers, i), "state");
		if (state != NULL && sb_value_str(state, NULL) != NULL &&
		    strcmp(sb_value_str(state, NULL), "busy") == 0)
			busy++;
	}
	sb_value_free(st);
	return (busy);
}

/*
 * Clients that leave while their calls run: both workers busy with 10 s
 * sleeps whose connections then close. The daemon stays up and a new client
 * is served long before the sleeps would have ended.
 */
START_TEST(test_disconnect_mid_request)
{
	sb_client	*gone[2], *c;
	sb_pending	*p;
	sb_value	*args, *r = NULL;
	sb_error	*err = NULL;
	int64_t		 t0, elapsed;
	double		 d;
	int		 i;

	for (i = 0; i < 2; i++) {
		gone[i] = sbt_connect(&sbt_d);
		args = float_args(10);
		ck_assert_int_eq(sb_call_async(gone[i], "sbfixtures", "slow",
		    args, NULL, NULL, &p), 0);
		sb_value_free(args);
		/* Make sure the request left before closing. */
		ck_assert_int_ge(sb_client_poll(gone[i], 300), 0);
		sb_pending_free(gone[i], p);
	}
	c = sbt_connect(&sbt_d);
	t0 = sbt_now_ms();
	while (busy_workers(c) < 2) {
		ck_assert_msg(sbt_now_ms() - t0 < 5000, "the two sleeps do "
		    "not occupy both workers");
		usleep(20000);
	}
	for (i = 0; i < 2; i++)
		sb_client_close(gone[i]);

	t0 = sbt_now_ms();
	args = int_args(81);
	sbt_ok("sqrt after the others left", sb_call(c, "math", "sqrt", args,
	    NULL, NULL, &r, &err), err);
	elapsed = sbt_now_ms() - t0;
	ck_assert_int_eq(sb_value_get_float(r, &d), 0);
	ck_assert_double_eq(d, 9.0);
	ck_assert_msg(elapsed < 5000, "served after %lld ms: the abandoned "
	    "calls kept the workers", (long long)elapsed);
	sb_value_free(r);
	sb_value_free(args);
	sb_client_close(c);
	ck_assert(sbt_daemon_alive(&sbt_d));
}
END_TEST

static Suite *
pipeline_suite(void)
{
	Suite	*s = suite_create("pipeline");
	TCase	*tc = tcase_create("pipeline");

	sbt_tcase_add_daemon(tc, NULL);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_pipelined_200);
	tcase_add_test(tc, test_pipelined_mixed_wait_order);
	tcase_add_test(tc, test_two_connections);
	tcase_add_test(tc, test_eight_connections);
	tcase_add_test(tc, test_raw_exactly_once);
	tcase_add_test(tc, test_raw_large_answers_unread);
	tcase_add_test(tc, test_disconnect_mid_request);
	tcase_add_test(tc, test_sessions_parallel);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(pipeline_suite()));
}
