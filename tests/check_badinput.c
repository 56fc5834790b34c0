/*
 * check_badinput.c: what a peer that breaks the protocol sees, over a raw
 * socket with hand-packed msgpack: an error (response or notification) and,
 * for a stream that cannot be resynchronised, a closed connection; while a
 * witness connection opened before keeps being answered and the daemon lives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CLOSE_MS	5000	/* a violating peer is dropped within this */
#define PROTOCOL_ERROR	"snakebridge.ProtocolError"

/* Send bytes on a new connection; it must be closed with error `type`. */
static void
expect_dropped(const void *bytes, size_t len, const char *type,
    const char *alt_type)
{
	struct sbt_raw	 r;
	const char	*seen;
	int64_t		 t0;

	sbt_raw_open(&sbt_d, &r);
	t0 = sbt_now_ms();
	sbt_raw_send(&r, bytes, len);	/* may fail once the daemon closes */
	ck_assert_msg(sbt_raw_wait_closed(&r, CLOSE_MS, &seen),
	    "connection not closed within %d ms", CLOSE_MS);
	ck_assert_msg(strcmp(seen, type) == 0 ||
	    (alt_type != NULL && strcmp(seen, alt_type) == 0),
	    "expected error %s before the close, got \"%s\" (after %lld ms)",
	    type, seen, (long long)(sbt_now_ms() - t0));
	sbt_raw_close(&r);
	sbt_wire_check_others();
}

static void
expect_dropped_sbuf(const char *type)
{
	expect_dropped(sbt_sb.data, sbt_sb.size, type, NULL);
	msgpack_sbuffer_clear(&sbt_sb);
}

/* Send the packed request on r and return the response to msgid. */
static const msgpack_object *
exchange(struct sbt_raw *r, uint32_t msgid)
{
	const msgpack_object	*o;

	ck_assert_int_eq(sbt_raw_send_sbuf(r, &sbt_sb), 0);
	ck_assert_msg(sbt_raw_response(r, msgid, SBT_IO_TIMEOUT_MS, &o) == 1,
	    "no response to msgid %u", msgid);
	return (o);
}

/* The packed request gets error `type` and r carries on. */
static void
expect_error_response(struct sbt_raw *r, uint32_t msgid, const char *type)
{
	const msgpack_object	*o;
	const char		*t;

	o = exchange(r, msgid);
	t = sbt_obj_errtype(o);
	ck_assert_msg(t != NULL && strcmp(t, type) == 0,
	    "msgid %u: expected %s, got %s", msgid, type, t ? t : "no error");
	ck_assert_int_eq(o->via.array.ptr[3].type, MSGPACK_OBJECT_NIL);
	ck_assert_msg(sbt_raw_ping(r, msgid + 1000) == 0,
	    "connection not usable after %s", type);
}

START_TEST(test_malformed_c1)
{
	static const unsigned char bytes[] = { 0xc1 };

	expect_dropped(bytes, sizeof bytes, PROTOCOL_ERROR, NULL);
}
END_TEST

START_TEST(test_not_an_array)
{
	static const unsigned char intval[] = { 0x2a };
	static const unsigned char mapval[] = { 0x81, 0xa1, 'a', 0x01 };

	expect_dropped(intval, sizeof intval, PROTOCOL_ERROR, NULL);
	expect_dropped(mapval, sizeof mapval, PROTOCOL_ERROR, NULL);
}
END_TEST

START_TEST(test_wrong_length)
{
	/* [0, 1, "ping"] */
	msgpack_pack_array(&sbt_pk, 3);
	msgpack_pack_uint8(&sbt_pk, 0);
	msgpack_pack_uint8(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, "ping");
	expect_dropped_sbuf(PROTOCOL_ERROR);
	/* [] */
	msgpack_pack_array(&sbt_pk, 0);
	expect_dropped_sbuf(PROTOCOL_ERROR);
}
END_TEST

START_TEST(test_wrong_kind)
{
	/* [7, 1, "ping", []] */
	msgpack_pack_array(&sbt_pk, 4);
	msgpack_pack_uint8(&sbt_pk, 7);
	msgpack_pack_uint8(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, "ping");
	msgpack_pack_array(&sbt_pk, 0);
	expect_dropped_sbuf(PROTOCOL_ERROR);
}
END_TEST

START_TEST(test_msgid_not_int)
{
	/* [0, "x", "ping", []] */
	msgpack_pack_array(&sbt_pk, 4);
	msgpack_pack_uint8(&sbt_pk, 0);
	sbt_pack_str(&sbt_pk, "x");
	sbt_pack_str(&sbt_pk, "ping");
	msgpack_pack_array(&sbt_pk, 0);
	expect_dropped_sbuf(PROTOCOL_ERROR);
	/* [0, -1, "ping", []] */
	msgpack_pack_array(&sbt_pk, 4);
	msgpack_pack_uint8(&sbt_pk, 0);
	msgpack_pack_int8(&sbt_pk, -1);
	sbt_pack_str(&sbt_pk, "ping");
	msgpack_pack_array(&sbt_pk, 0);
	expect_dropped_sbuf(PROTOCOL_ERROR);
}
END_TEST

START_TEST(test_unknown_method)
{
	struct sbt_raw	 r;

	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 5, "no.such.method", 0);
	expect_error_response(&r, 5, "snakebridge.UnknownMethod");
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_wrong_param_types)
{
	struct sbt_raw	 r;

	sbt_raw_open(&sbt_d, &r);
	/* call with module = 5 */
	sbt_pack_request(&sbt_pk, 6, "call", 3);
	msgpack_pack_int(&sbt_pk, 5);
	sbt_pack_str(&sbt_pk, "sqrt");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_int(&sbt_pk, 16);
	expect_error_response(&r, 6, "snakebridge.BadRequest");
	/* call with args that are not an array */
	sbt_pack_request(&sbt_pk, 7, "call", 3);
	sbt_pack_str(&sbt_pk, "math");
	sbt_pack_str(&sbt_pk, "sqrt");
	sbt_pack_str(&sbt_pk, "16");
	expect_error_response(&r, 7, "snakebridge.BadRequest");
	/* call without a function name */
	sbt_pack_request(&sbt_pk, 8, "call", 1);
	sbt_pack_str(&sbt_pk, "math");
	expect_error_response(&r, 8, "snakebridge.BadRequest");
	/* len of something that is not a ref */
	sbt_pack_request(&sbt_pk, 9, "len", 1);
	msgpack_pack_int(&sbt_pk, 3);
	expect_error_response(&r, 9, "snakebridge.BadRequest");
	/* kwargs with a key that is not a str */
	sbt_pack_request(&sbt_pk, 10, "call", 4);
	sbt_pack_str(&sbt_pk, "math");
	sbt_pack_str(&sbt_pk, "sqrt");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_int(&sbt_pk, 16);
	msgpack_pack_map(&sbt_pk, 1);
	msgpack_pack_int(&sbt_pk, 1);
	msgpack_pack_int(&sbt_pk, 2);
	expect_error_response(&r, 10, "snakebridge.BadRequest");
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_huge_count)
{
	/* An array header claiming 2^31 elements, and nothing after it. */
	static const unsigned char bytes[] = { 0xdd, 0x80, 0x00, 0x00, 0x00 };
	int64_t	 t0 = sbt_now_ms();

	expect_dropped(bytes, sizeof bytes, PROTOCOL_ERROR, NULL);
	ck_assert_int_lt(sbt_now_ms() - t0, CLOSE_MS);
}
END_TEST

START_TEST(test_over_size_limit)
{
	struct sbt_raw		 r;
	const msgpack_object	*o, *res;
	size_t			 big = 2 * 1024 * 1024, ok = 256 * 1024;
	char			*blob;

	ck_assert_ptr_nonnull(blob = calloc(1, big));
	/* Below the 1 MiB limit: echoed back. */
	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 20, "call", 3);
	sbt_pack_str(&sbt_pk, "sbfixtures");
	sbt_pack_str(&sbt_pk, "identity");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_bin(&sbt_pk, ok);
	msgpack_pack_bin_body(&sbt_pk, blob, ok);
	o = exchange(&r, 20);
	ck_assert_msg(sbt_obj_errtype(o) == NULL, "identity(256 KiB): %s",
	    sbt_obj_errtype(o));
	res = &o->via.array.ptr[3];
	ck_assert_int_eq(res->type, MSGPACK_OBJECT_BIN);
	ck_assert_uint_eq(res->via.bin.size, ok);
	sbt_raw_close(&r);

	/* Above it: dropped. */
	sbt_pack_request(&sbt_pk, 21, "call", 3);
	sbt_pack_str(&sbt_pk, "sbfixtures");
	sbt_pack_str(&sbt_pk, "identity");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_bin(&sbt_pk, big);
	msgpack_pack_bin_body(&sbt_pk, blob, big);
	expect_dropped(sbt_sb.data, sbt_sb.size, PROTOCOL_ERROR,
	    "snakebridge.TooLarge");
	msgpack_sbuffer_clear(&sbt_sb);
	free(blob);
}
END_TEST

/* [0, msgid, "call", ["sbfixtures", "identity", [<depth nested arrays>]]] */
static void
pack_nested(uint32_t msgid, int depth)
{
	int	 i;

	sbt_pack_request(&sbt_pk, msgid, "call", 3);
	sbt_pack_str(&sbt_pk, "sbfixtures");
	sbt_pack_str(&sbt_pk, "identity");
	msgpack_pack_array(&sbt_pk, 1);
	for (i = 0; i < depth - 1; i++)
		msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_array(&sbt_pk, 0);
}

START_TEST(test_deep_nesting)
{
	struct sbt_raw		 r;
	const msgpack_object	*o, *v;
	int			 depth = 0;

	/* Moderate nesting is served. */
	sbt_raw_open(&sbt_d, &r);
	pack_nested(30, 20);
	o = exchange(&r, 30);
	ck_assert_msg(sbt_obj_errtype(o) == NULL, "20 levels: %s",
	    sbt_obj_errtype(o));
	for (v = &o->via.array.ptr[3]; v->type == MSGPACK_OBJECT_ARRAY &&
	    v->via.array.size == 1; v = &v->via.array.ptr[0])
		depth++;
	ck_assert_int_eq(depth, 19);
	sbt_raw_close(&r);

	pack_nested(31, 1000);
	expect_dropped_sbuf(PROTOCOL_ERROR);
}
END_TEST

START_TEST(test_truncated_then_close)
{
	struct sbt_raw	 r;

	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 40, "ping", 0);
	ck_assert_int_eq(sbt_raw_send(&r, sbt_sb.data, sbt_sb.size - 3), 0);
	msgpack_sbuffer_clear(&sbt_sb);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_lying_str_length)
{
	/* [0, 1, <str32 claiming 0xfffffff0 bytes> "ping"...] */
	static const unsigned char huge[] = { 0x94, 0x00, 0x01,
	    0xdb, 0xff, 0xff, 0xff, 0xf0, 'p', 'i', 'n', 'g', 0x90 };
	/* [0, 1, <str8 claiming 200 bytes> "ping"] and then the peer leaves */
	static const unsigned char shortstr[] = { 0x94, 0x00, 0x01,
	    0xd9, 200, 'p', 'i', 'n', 'g', 0x90 };
	struct sbt_raw	 r;

	expect_dropped(huge, sizeof huge, PROTOCOL_ERROR, NULL);
	sbt_raw_open(&sbt_d, &r);
	ck_assert_int_eq(sbt_raw_send(&r, shortstr, sizeof shortstr), 0);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_byte_by_byte)
{
	struct timespec		 pause = { 0, 2000000 };
	struct sbt_raw		 r;
	const msgpack_object	*o;
	size_t			 i;

	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 50, "call", 3);
	sbt_pack_str(&sbt_pk, "math");
	sbt_pack_str(&sbt_pk, "sqrt");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_int(&sbt_pk, 16);
	for (i = 0; i < sbt_sb.size; i++) {
		ck_assert_int_eq(sbt_raw_send(&r, sbt_sb.data + i, 1), 0);
		nanosleep(&pause, NULL);
	}
	msgpack_sbuffer_clear(&sbt_sb);
	ck_assert_msg(sbt_raw_response(&r, 50, SBT_IO_TIMEOUT_MS, &o) == 1,
	    "no answer to a request sent byte by byte");
	ck_assert_msg(sbt_obj_errtype(o) == NULL, "error %s", sbt_obj_errtype(o));
	ck_assert_int_eq(o->via.array.ptr[3].type, MSGPACK_OBJECT_FLOAT64);
	ck_assert_double_eq(o->via.array.ptr[3].via.f64, 4.0);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_two_in_one_write)
{
	struct sbt_raw		 r;
	const msgpack_object	*o;

	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 60, "ping", 0);
	sbt_pack_request(&sbt_pk, 61, "ping", 0);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	ck_assert_int_eq(sbt_raw_response(&r, 60, SBT_IO_TIMEOUT_MS, &o), 1);
	ck_assert(sbt_obj_streq(&o->via.array.ptr[3], "pong"));
	ck_assert_int_eq(sbt_raw_response(&r, 61, SBT_IO_TIMEOUT_MS, &o), 1);
	ck_assert(sbt_obj_streq(&o->via.array.ptr[3], "pong"));
	sbt_raw_close(&r);
}
END_TEST

START_TEST(test_forged_ref)
{
	static const unsigned char junk[] = { 0xee, 1, 2, 3, 4, 5, 6, 7 };
	struct sbt_raw	 r;

	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 70, "len", 1);
	msgpack_pack_ext(&sbt_pk, sizeof junk, 6);
	msgpack_pack_ext_body(&sbt_pk, junk, sizeof junk);
	expect_error_response(&r, 70, "snakebridge.InvalidRef");
	/* An empty payload too. */
	sbt_pack_request(&sbt_pk, 71, "repr", 1);
	msgpack_pack_ext(&sbt_pk, 0, 6);
	expect_error_response(&r, 71, "snakebridge.InvalidRef");
	/* A forged ref inside call arguments. */
	sbt_pack_request(&sbt_pk, 72, "call", 3);
	sbt_pack_str(&sbt_pk, "sbfixtures");
	sbt_pack_str(&sbt_pk, "identity");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_ext(&sbt_pk, sizeof junk, 6);
	msgpack_pack_ext_body(&sbt_pk, junk, sizeof junk);
	expect_error_response(&r, 72, "snakebridge.InvalidRef");
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_hello)
{
	struct sbt_raw		 r;
	const msgpack_object	*o, *res;

	sbt_raw_open(&sbt_d, &r);
	/* A protocol from the future: refused, the connection stays. */
	sbt_pack_request(&sbt_pk, 80, "hello", 1);
	msgpack_pack_map(&sbt_pk, 2);
	sbt_pack_str(&sbt_pk, "protocol");
	msgpack_pack_int(&sbt_pk, 99);
	sbt_pack_str(&sbt_pk, "client");
	sbt_pack_str(&sbt_pk, "check_badinput/0");
	expect_error_response(&r, 80, "snakebridge.IncompatibleProtocol");
	/* Params that are not a map. */
	sbt_pack_request(&sbt_pk, 81, "hello", 1);
	sbt_pack_str(&sbt_pk, "protocol 1");
	expect_error_response(&r, 81, "snakebridge.BadRequest");
	/* The real thing. */
	sbt_pack_request(&sbt_pk, 82, "hello", 1);
	msgpack_pack_map(&sbt_pk, 2);
	sbt_pack_str(&sbt_pk, "protocol");
	msgpack_pack_int(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, "client");
	sbt_pack_str(&sbt_pk, "check_badinput/0");
	o = exchange(&r, 82);
	ck_assert_ptr_null(sbt_obj_errtype(o));
	res = &o->via.array.ptr[3];
	ck_assert_ptr_nonnull(sbt_obj_get(res, "protocol"));
	ck_assert_uint_eq(sbt_obj_get(res, "protocol")->via.u64, 1);
	ck_assert_ptr_nonnull(sbt_obj_get(res, "limits"));
	ck_assert_uint_eq(sbt_obj_get(sbt_obj_get(res, "limits"),
	    "max_message_size")->via.u64, 1024 * 1024);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

/* call math.sqrt(16) with OPTS {key: <str val>} or {key: <int val>}. */
static void
pack_call_opts(uint32_t msgid, const char *key, const char *sval, int ival)
{
	sbt_pack_request(&sbt_pk, msgid, "call", 5);
	sbt_pack_str(&sbt_pk, "math");
	sbt_pack_str(&sbt_pk, "sqrt");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_int(&sbt_pk, 16);
	msgpack_pack_nil(&sbt_pk);
	msgpack_pack_map(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, key);
	if (sval != NULL)
		sbt_pack_str(&sbt_pk, sval);
	else
		msgpack_pack_int(&sbt_pk, ival);
}

START_TEST(test_bad_opts)
{
	struct sbt_raw		 r;
	const msgpack_object	*o;

	sbt_raw_open(&sbt_d, &r);
	pack_call_opts(90, "session", NULL, 5);
	expect_error_response(&r, 90, "snakebridge.BadRequest");
	pack_call_opts(91, "pool", "no-such-pool", 0);
	expect_error_response(&r, 91, "snakebridge.UnknownPool");
	pack_call_opts(92, "timeout_profile", "no-such-profile", 0);
	expect_error_response(&r, 92, "snakebridge.UnknownProfile");
	pack_call_opts(93, "session", "no-such-session", 0);
	expect_error_response(&r, 93, "snakebridge.SessionNotFound");
	/* Unknown keys are ignored. */
	pack_call_opts(94, "colour", "blue", 0);
	o = exchange(&r, 94);
	ck_assert_msg(sbt_obj_errtype(o) == NULL, "unknown OPTS key: %s",
	    sbt_obj_errtype(o));
	ck_assert_double_eq(o->via.array.ptr[3].via.f64, 4.0);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

static Suite *
badinput_suite(void)
{
	Suite	*s = suite_create("badinput");
	TCase	*tc = tcase_create("badinput");

	sbt_tcase_add_daemon(tc, "[daemon]\nmax_message_size = 1M\n");
	tcase_add_checked_fixture(tc, sbt_wire_setup,
	    sbt_wire_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_malformed_c1);
	tcase_add_test(tc, test_not_an_array);
	tcase_add_test(tc, test_wrong_length);
	tcase_add_test(tc, test_wrong_kind);
	tcase_add_test(tc, test_msgid_not_int);
	tcase_add_test(tc, test_unknown_method);
	tcase_add_test(tc, test_wrong_param_types);
	tcase_add_test(tc, test_huge_count);
	tcase_add_test(tc, test_over_size_limit);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_truncated_then_close);
	tcase_add_test(tc, test_lying_str_length);
	tcase_add_test(tc, test_byte_by_byte);
	tcase_add_test(tc, test_two_in_one_write);
	tcase_add_test(tc, test_forged_ref);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_bad_opts);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(badinput_suite()));
}
