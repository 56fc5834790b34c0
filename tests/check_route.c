/*
 * check_route.c: unit tests of snakebridged's request path without Python:
 * the session table, ref ownership checks in routing, params validation,
 * queueing and the answers a client sees. Requests go through a real
 * connection (a socketpair) and the daemon's own modules; workers are never
 * started, so routed requests stay queued where the test can inspect them.
 */
#include <sys/socket.h>

#include <check.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <msgpack.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "config.h"
#include "msggen.h"
#include "snakebridged.h"

/* What the daemon's main file provides, reduced to what the modules use. */
struct daemon sbd;

double
sbd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

void
sbd_timer_add(struct event *ev, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

int
sbd_reload(char **err)
{
	*err = NULL;
	return (0);
}

void
sbd_shutdown(void)
{
}

void
sbd_worker_done(void)
{
}

void
sbd_worker_gone(void)
{
}

void
sbd_cleanup_done(void)
{
}

void
sbd_free_block(const void *data, size_t len, void *block)
{
	free(block);
}

/* One client: the test's end of a socketpair and a reading buffer. */
struct client {
	int			 fd;
	msgpack_unpacker	 unp;
	msgpack_unpacked	 msg;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
};

static void
client_open(struct client *cl)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	conn_accept(sv[0]);
	cl->fd = sv[1];
	msgpack_unpacker_init(&cl->unp, 4096);
	msgpack_unpacked_init(&cl->msg);
	msgpack_sbuffer_init(&cl->sb);
	msgpack_packer_init(&cl->pk, &cl->sb, msgpack_sbuffer_write);
}

static void
client_close(struct client *cl)
{
	close(cl->fd);
	event_base_loop(sbd.base, EVLOOP_NONBLOCK);
	msgpack_unpacked_destroy(&cl->msg);
	msgpack_unpacker_destroy(&cl->unp);
	msgpack_sbuffer_destroy(&cl->sb);
}

/* Start a request [0, msgid, method, [...]] with n params to pack next. */
static msgpack_packer *
req(struct client *cl, uint32_t msgid, const char *method, uint32_t n)
{
	msgpack_sbuffer_clear(&cl->sb);
	msgpack_pack_array(&cl->pk, 4);
	msgpack_pack_int(&cl->pk, 0);
	msgpack_pack_uint32(&cl->pk, msgid);
	mpk_str(&cl->pk, method);
	msgpack_pack_array(&cl->pk, n);
	return (&cl->pk);
}

/* Send what req() packed and let the daemon handle it. */
static void
send_req(struct client *cl)
{
	ck_assert_int_eq(write(cl->fd, cl->sb.data, cl->sb.size),
	    (ssize_t)cl->sb.size);
	event_base_loop(sbd.base, EVLOOP_NONBLOCK);
	event_base_loop(sbd.base, EVLOOP_NONBLOCK);
}

/* The next message the daemon sent, or NULL if none came. */
static const msgpack_object *
recv_msg(struct client *cl)
{
	struct pollfd pfd = { cl->fd, POLLIN, 0 };
	ssize_t n;
	int tries;

	for (tries = 0; tries < 50; tries++) {
		if (msgpack_unpacker_next(&cl->unp, &cl->msg) ==
		    MSGPACK_UNPACK_SUCCESS)
			return (&cl->msg.data);
		event_base_loop(sbd.base, EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 20) != 1)
			continue;
		msgpack_unpacker_reserve_buffer(&cl->unp, 4096);
		n = read(cl->fd, msgpack_unpacker_buffer(&cl->unp), 4096);
		if (n <= 0)
			return (NULL);
		msgpack_unpacker_buffer_consumed(&cl->unp, (size_t)n);
	}
	return (NULL);
}

/* The error type of the response to msgid (NULL: success). */
static char *
answer_type(struct client *cl, uint32_t msgid)
{
	const msgpack_object *m = recv_msg(cl), *t;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(m->via.array.size, 4);
	ck_assert_uint_eq(m->via.array.ptr[0].via.u64, 1);
	ck_assert_uint_eq(m->via.array.ptr[1].via.u64, msgid);
	if (m->via.array.ptr[2].type == MSGPACK_OBJECT_NIL)
		return (NULL);
	t = mpk_map_get(&m->via.array.ptr[2], "type");
	ck_assert_ptr_nonnull(t);
	return (mpk_strdup(t));
}

static void
expect_error(struct client *cl, uint32_t msgid, const char *type)
{
	char *t = answer_type(cl, msgid);

	ck_assert_msg(t != NULL && strcmp(t, type) == 0,
	    "msgid %u: expected %s, got %s", msgid, type, t ? t : "success");
	free(t);
}

static void
expect_ok(struct client *cl, uint32_t msgid)
{
	char *t = answer_type(cl, msgid);

	ck_assert_msg(t == NULL, "msgid %u: unexpected %s", msgid, t);
}

/* Pack a ref to a (pool, slot, generation, session, ref id). */
static void
pack_ref(msgpack_packer *pk, unsigned slot, uint32_t gen, uint64_t sid,
    uint64_t id)
{
	struct sb_refdata rd;
	unsigned char buf[SB_REF_FIXED_LEN + SB_REF_TYPE_MAX];
	size_t n;

	memset(&rd, 0, sizeof rd);
	rd.slot = (uint16_t)slot;
	rd.generation = gen;
	rd.session_id = sid;
	rd.ref_id = id;
	rd.type_name = "T";
	rd.type_len = 1;
	n = sb_ref_encode(&rd, buf);
	msgpack_pack_ext(pk, n, SB_EXT_REF);
	msgpack_pack_ext_body(pk, buf, n);
}

/* The last queued request of the default pool. */
static struct request *
last_queued(void)
{
	return (TAILQ_LAST(&pool_find("default")->queue, requests));
}

static void
setup(void)
{
	char *err = NULL;

	memset(&sbd, 0, sizeof sbd);
	sbd.base = event_base_new();
	sbd.conf = config_load(NULL, &err);
	sbd.conf->pools[0].size = 2;
	sbd.conf->max_sessions_per_uid = 3;
	sbd.uid = getuid();
	sbd.started = sbd_now();
	session_init();
	pool_init();
	sbd.shutting_down = 1;	/* no worker starts */
	pool_apply_config();
	sbd.shutting_down = 0;
}

static void
teardown(void)
{
	conn_close_all();
	session_end_all();
	sbd.shutting_down = 1;
	pool_free_all();
	config_free(sbd.conf);
	io_shutdown();
	event_base_free(sbd.base);
}

START_TEST(local_methods)
{
	struct client a;

	client_open(&a);
	req(&a, 1, "ping", 0);
	send_req(&a);
	expect_ok(&a, 1);
	req(&a, 2, "nosuch", 0);
	send_req(&a);
	expect_error(&a, 2, "snakebridge.UnknownMethod");
	msgpack_pack_int(req(&a, 3, "ping", 1), 5);
	send_req(&a);
	expect_error(&a, 3, "snakebridge.BadRequest");
	msgpack_pack_map(req(&a, 4, "hello", 1), 1);
	mpk_str(&a.pk, "protocol");
	msgpack_pack_int(&a.pk, 99);
	send_req(&a);
	expect_error(&a, 4, "snakebridge.IncompatibleProtocol");
	client_close(&a);
}
END_TEST

START_TEST(params_checked)
{
	struct client a;
	msgpack_packer *pk;

	client_open(&a);
	pk = req(&a, 1, "call", 2);
	mpk_str(pk, "math");
	msgpack_pack_int(pk, 3);
	send_req(&a);
	expect_error(&a, 1, "snakebridge.BadRequest");
	pk = req(&a, 2, "call", 4);
	mpk_str(pk, "math");
	mpk_str(pk, "sqrt");
	msgpack_pack_nil(pk);
	msgpack_pack_map(pk, 1);
	msgpack_pack_int(pk, 1);
	msgpack_pack_int(pk, 2);
	send_req(&a);
	expect_error(&a, 2, "snakebridge.BadRequest");
	pk = req(&a, 3, "attr", 2);
	mpk_str(pk, "notaref");
	mpk_str(pk, "x");
	send_req(&a);
	expect_error(&a, 3, "snakebridge.BadRequest");
	pk = req(&a, 4, "call", 5);
	mpk_str(pk, "m");
	mpk_str(pk, "f");
	msgpack_pack_nil(pk);
	msgpack_pack_nil(pk);
	msgpack_pack_map(pk, 1);
	mpk_str(pk, "pool");
	mpk_str(pk, "nosuchpool");
	send_req(&a);
	expect_error(&a, 4, "snakebridge.UnknownPool");
	pk = req(&a, 5, "get", 3);
	mpk_str(pk, "m");
	mpk_str(pk, "a");
	msgpack_pack_map(pk, 1);
	mpk_str(pk, "timeout_profile");
	mpk_str(pk, "nosuchprofile");
	send_req(&a);
	expect_error(&a, 5, "snakebridge.UnknownProfile");
	client_close(&a);
}
END_TEST

START_TEST(automatic_session_queued)
{
	struct client a;
	struct request *r;
	msgpack_packer *pk;

	client_open(&a);
	pk = req(&a, 7, "call", 2);
	mpk_str(pk, "math");
	mpk_str(pk, "sqrt");
	send_req(&a);
	r = last_queued();
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->msgid, 7);
	ck_assert_ptr_null(r->session->name);
	ck_assert_ptr_eq(r->session->conn, r->conn);
	ck_assert_ptr_null(r->worker);
	ck_assert_uint_eq(r->timeout_ms, 120000);
	ck_assert_uint_eq(session_count(), 1);
	/* closing the connection drops the queued request and the session */
	client_close(&a);
	ck_assert_ptr_null(last_queued());
	ck_assert_uint_eq(session_count(), 0);
}
END_TEST

START_TEST(refs_checked)
{
	struct client a, b;
	struct session *named, *autoa;
	struct worker *w1 = pool_find("default")->workers[1];
	struct request *r;
	msgpack_sbuffer tsb;
	msgpack_packer tpk, *pk;

	client_open(&a);
	client_open(&b);
	/* a gets an automatic session and a named one */
	pk = req(&a, 1, "get", 2);
	mpk_str(pk, "m");
	mpk_str(pk, "a");
	send_req(&a);
	autoa = last_queued()->session;
	mpk_str(req(&a, 2, "session.open", 1), "work");
	send_req(&a);
	expect_ok(&a, 2);
	named = session_find_name(getuid(), "work");
	ck_assert_ptr_nonnull(named);

	/* bytes that are no ref */
	pk = req(&b, 10, "repr", 1);
	msgpack_pack_ext(pk, 3, SB_EXT_REF);
	msgpack_pack_ext_body(pk, "abc", 3);
	send_req(&b);
	expect_error(&b, 10, "snakebridge.InvalidRef");
	/* a session that never existed */
	pack_ref(req(&b, 11, "repr", 1), 1, w1->generation, 999, 1);
	send_req(&b);
	expect_error(&b, 11, "snakebridge.RefNotFound");
	/* another connection's automatic session */
	pack_ref(req(&b, 12, "repr", 1), 1, w1->generation, autoa->id, 1);
	send_req(&b);
	expect_error(&b, 12, "snakebridge.RefForeign");
	/* an older generation of the worker */
	pack_ref(req(&b, 13, "repr", 1), 1, w1->generation + 5, named->id, 1);
	send_req(&b);
	expect_error(&b, 13, "snakebridge.RefLost");
	/* a slot the pool does not have */
	pack_ref(req(&b, 14, "repr", 1), 9, 1, named->id, 1);
	send_req(&b);
	expect_error(&b, 14, "snakebridge.RefLost");
	/* two sessions in one request */
	pk = req(&b, 15, "method", 3);
	pack_ref(pk, 1, w1->generation, named->id, 1);
	mpk_str(pk, "f");
	msgpack_pack_array(pk, 1);
	pack_ref(pk, 1, w1->generation, autoa->id, 2);
	send_req(&b);
	expect_error(&b, 15, "snakebridge.RefForeign");
	/* a named session's ref, used by the same user elsewhere, with a
	 * second ref of it inside a tuple: routed to its session and worker */
	msgpack_sbuffer_init(&tsb);
	msgpack_packer_init(&tpk, &tsb, msgpack_sbuffer_write);
	msgpack_pack_array(&tpk, 1);
	pack_ref(&tpk, 1, w1->generation, named->id, 3);
	pk = req(&b, 16, "method", 3);
	pack_ref(pk, 1, w1->generation, named->id, 1);
	mpk_str(pk, "f");
	msgpack_pack_array(pk, 1);
	msgpack_pack_ext(pk, tsb.size, SB_EXT_TUPLE);
	msgpack_pack_ext_body(pk, tsb.data, tsb.size);
	msgpack_sbuffer_destroy(&tsb);
	send_req(&b);
	r = last_queued();
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->msgid, 16);
	ck_assert_ptr_eq(r->session, named);
	ck_assert_ptr_eq(r->worker, w1);
	/* another user sees the ref as if it did not exist */
	r->conn->uid += 1;
	pack_ref(req(&b, 17, "repr", 1), 1, w1->generation, named->id, 1);
	send_req(&b);
	expect_error(&b, 17, "snakebridge.RefNotFound");
	mpk_str(req(&b, 18, "session.info", 1), "work");
	send_req(&b);
	expect_error(&b, 18, "snakebridge.SessionNotFound");
	client_close(&b);
	client_close(&a);
}
END_TEST

START_TEST(session_limits_and_close)
{
	struct client a;
	msgpack_packer *pk;

	client_open(&a);
	mpk_str(req(&a, 1, "session.open", 1), "s1");
	send_req(&a);
	expect_ok(&a, 1);
	mpk_str(req(&a, 2, "session.open", 1), "s2");
	send_req(&a);
	expect_ok(&a, 2);
	mpk_str(req(&a, 3, "session.open", 1), "s1");	/* attaches */
	send_req(&a);
	expect_ok(&a, 3);
	mpk_str(req(&a, 4, "session.open", 1), "s3");
	send_req(&a);
	expect_ok(&a, 4);
	mpk_str(req(&a, 5, "session.open", 1), "s4");	/* 4th for the uid */
	send_req(&a);
	expect_error(&a, 5, "snakebridge.LimitExceeded");
	/* a request queued in s1 fails when s1 closes */
	pk = req(&a, 6, "get", 3);
	mpk_str(pk, "m");
	mpk_str(pk, "a");
	msgpack_pack_map(pk, 1);
	mpk_str(pk, "session");
	mpk_str(pk, "s1");
	send_req(&a);
	ck_assert_uint_eq(last_queued()->msgid, 6);
	mpk_str(req(&a, 7, "session.close", 1), "s1");
	send_req(&a);
	expect_error(&a, 6, "snakebridge.SessionNotFound");
	expect_ok(&a, 7);
	mpk_str(req(&a, 8, "session.close", 1), "s1");
	send_req(&a);
	expect_error(&a, 8, "snakebridge.SessionNotFound");
	ck_assert_ptr_null(last_queued());
	client_close(&a);
}
END_TEST

START_TEST(overload)
{
	struct client a;
	msgpack_packer *pk;
	unsigned i;

	pool_find("default")->queue_limit = 3;
	client_open(&a);
	for (i = 1; i <= 4; i++) {
		pk = req(&a, i, "get", 2);
		mpk_str(pk, "m");
		mpk_str(pk, "a");
		send_req(&a);
	}
	expect_error(&a, 4, "snakebridge.Overloaded");
	ck_assert_uint_eq(pool_find("default")->queued, 3);
	client_close(&a);
	ck_assert_uint_eq(pool_find("default")->queued, 0);
}
END_TEST

START_TEST(protocol_violation_closes)
{
	struct client a, w;
	static const unsigned char bad[] = { 0xc1 };
	const msgpack_object *m;

	client_open(&w);
	client_open(&a);
	ck_assert_int_eq(write(a.fd, bad, 1), 1);
	m = recv_msg(&a);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->via.array.ptr[0].via.u64, 2);
	ck_assert_ptr_null(recv_msg(&a));	/* closed */
	req(&w, 1, "ping", 0);
	send_req(&w);
	expect_ok(&w, 1);
	client_close(&a);
	client_close(&w);
}
END_TEST

/*
 * A protocol error after many answers written in the same pass, more than
 * the socket takes at once: the client still gets every answer whole, in
 * order, then the error, then the end of the connection.
 */
#define HELD_N	3000
START_TEST(protocol_error_after_held_answers)
{
	static const unsigned char bad = 0xc1;
	static char path[] = "sock";
	const msgpack_object *m;
	struct client a;
	uint32_t i;

	sbd.socket_path = path;		/* status reports it */
	client_open(&a);
	msgpack_sbuffer_clear(&a.sb);
	for (i = 0; i < HELD_N; i++) {
		msgpack_pack_array(&a.pk, 4);
		msgpack_pack_int(&a.pk, 0);
		msgpack_pack_uint32(&a.pk, i + 1);
		mpk_str(&a.pk, "status");
		msgpack_pack_array(&a.pk, 0);
	}
	msgpack_sbuffer_write(&a.sb, (const char *)&bad, 1);
	ck_assert_int_eq(write(a.fd, a.sb.data, a.sb.size),
	    (ssize_t)a.sb.size);
	for (i = 0; i < HELD_N; i++)
		expect_ok(&a, i + 1);
	m = recv_msg(&a);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->via.array.ptr[0].via.u64, 2);
	ck_assert_ptr_null(recv_msg(&a));	/* closed */
	client_close(&a);
}
END_TEST

/*
 * Queued requests time out in the order of their deadlines, a shorter
 * timeout sent later before a longer one sent earlier.
 */
/* Send call m.f() with a timeout of ms. */
static void
send_call_timeout(struct client *cl, uint32_t msgid, uint32_t ms)
{
	msgpack_packer *pk = req(cl, msgid, "call", 5);

	mpk_str(pk, "m");
	mpk_str(pk, "f");
	msgpack_pack_nil(pk);
	msgpack_pack_nil(pk);
	msgpack_pack_map(pk, 1);
	mpk_str(pk, "timeout");
	msgpack_pack_uint32(pk, ms);
	send_req(cl);
}

START_TEST(timeouts_in_deadline_order)
{
	static const uint32_t ms[] = { 300, 100, 200, 100 };
	struct client a;
	uint32_t i;

	client_open(&a);
	for (i = 0; i < 4; i++)
		send_call_timeout(&a, i + 1, ms[i]);
	expect_error(&a, 2, "snakebridge.Timeout");
	expect_error(&a, 4, "snakebridge.Timeout");
	expect_error(&a, 3, "snakebridge.Timeout");
	expect_error(&a, 1, "snakebridge.Timeout");
	ck_assert_ptr_null(last_queued());
	client_close(&a);
}
END_TEST

/*
 * Many queued requests whose timeouts come in no order (each new one neither
 * the latest nor the earliest deadline), of two clients; one leaves, and the
 * other's requests time out in deadline order, each answered once.
 */
#define SCATTER_N	24
START_TEST(timeouts_scattered)
{
	struct client a, b;
	uint32_t i, k;

	client_open(&a);
	client_open(&b);
	for (i = 0; i < SCATTER_N; i++)
		send_call_timeout(i % 2 ? &b : &a, i + 1,
		    100 + 10 * (i * 7 % SCATTER_N));
	client_close(&b);
	for (k = 0; k < SCATTER_N; k++) {
		for (i = 0; i * 7 % SCATTER_N != k; i++)
			;
		if (i % 2 == 0)
			expect_error(&a, i + 1, "snakebridge.Timeout");
	}
	ck_assert_ptr_null(last_queued());
	ck_assert_ptr_null(recv_msg(&a));
	client_close(&a);
}
END_TEST

/*
 * A freed request kept for reuse is poisoned under AddressSanitizer, so a
 * use after its free is reported; taken again, it is usable.
 */
START_TEST(kept_request_poisoned)
{
#ifdef __SANITIZE_ADDRESS__
	struct request *r = request_internal("session.drop", 1), *r2;

	request_drop(r);
	ck_assert(__asan_address_is_poisoned(&r->id));
	r2 = request_internal("session.drop", 2);
	ck_assert_ptr_eq(r2, r);
	ck_assert(!__asan_address_is_poisoned(&r2->id));
	request_drop(r2);
#endif
}
END_TEST

/*
 * mpk_skip finds the length the scanner found, on values in every header
 * form, every truncation of them, and damaged values and random bytes the
 * scanner accepts. (Decoding and writing headers are common/'s, tested in
 * check_unpack.)
 */
START_TEST(mpk_skip_as_scan)
{
	struct gen_tally t;

	gen_drive(88172645463325252ULL, mpk_skip, &t);
	ck_assert_uint_eq(t.agreed, t.damaged + t.random);
	ck_assert_uint_gt(t.damaged, 100);
	ck_assert_uint_gt(t.random, 1000);
}
END_TEST

/* Containers nested to msgpack-c's bound and past it. */
START_TEST(mpk_skip_deep)
{
	char buf[40];
	unsigned d;

	for (d = 30; d <= 34; d++) {
		memset(buf, 0x91, d);
		buf[d - 1] = (char)0x90;	/* the innermost is empty */
		ck_assert_uint_eq(mpk_skip(buf, d), d);
		buf[d - 1] = (char)0x91;
		buf[d] = (char)0xc0;
		ck_assert_uint_eq(mpk_skip(buf, d + 1), d + 1);
		ck_assert_uint_eq(mpk_skip(buf, d), 0);
	}
}
END_TEST

/* Every method by its name; near misses are unknown. */
START_TEST(method_lookup)
{
	static const char *names[] = {
		"hello", "ping", "status", "stats", "events.subscribe",
		"cancel", "session.open", "session.close", "session.info",
		"session.list", "reload", "shutdown", "worker.restart",
		"shm.attach", "shm.detach", "call", "get", "method", "attr",
		"setattr", "repr", "str", "len", "dir", "iter", "getitem",
		"next", "stream", "release",
	};
	static const char *unknown[] = {
		"", "c", "cal", "calls", "Call", "pong", "session.",
		"session.lisT", "stream ", "events.subscribes", "gett", "ste",
	};
	const struct method *m;
	msgpack_object o;
	unsigned i;

	o.type = MSGPACK_OBJECT_STR;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		o.via.str.ptr = names[i];
		o.via.str.size = (uint32_t)strlen(names[i]);
		m = method_find_obj(&o);
		ck_assert_ptr_nonnull(m);
		ck_assert_str_eq(m->name, names[i]);
	}
	for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		o.via.str.ptr = unknown[i];
		o.via.str.size = (uint32_t)strlen(unknown[i]);
		ck_assert_ptr_null(method_find_obj(&o));
	}
	o.via.str.ptr = "call";		/* a NUL inside */
	o.via.str.size = 5;
	ck_assert_ptr_null(method_find_obj(&o));
	o.type = MSGPACK_OBJECT_BIN;
	o.via.bin.size = 4;
	ck_assert_ptr_null(method_find_obj(&o));
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("daemon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, local_methods);
	tcase_add_test(tc, params_checked);
	tcase_add_test(tc, automatic_session_queued);
	tcase_add_test(tc, refs_checked);
	tcase_add_test(tc, session_limits_and_close);
	tcase_add_test(tc, overload);
	tcase_add_test(tc, protocol_violation_closes);
	tcase_add_test(tc, protocol_error_after_held_answers);
	tcase_add_test(tc, timeouts_in_deadline_order);
	tcase_add_test(tc, timeouts_scattered);
	tcase_add_test(tc, kept_request_poisoned);
	suite_add_tcase(s, tc);
	tc = tcase_create("mpk");
	tcase_add_test(tc, mpk_skip_as_scan);
	tcase_add_test(tc, mpk_skip_deep);
	tcase_add_test(tc, method_lookup);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	log_init(1, LOG_LEVEL_ERROR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
