/*
 * check_fuzz.c: randomized input against a live daemon. Two properties:
 * mutated byte streams never crash or wedge the daemon nor touch another
 * client; and random well-formed requests with values of every type, sent
 * pipelined on one connection, each get exactly one response while the
 * connection stays open. The seed is printed so a failure can be replayed
 * (SBT_FUZZ_SEED=N).
 */
#include <sys/socket.h>

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "sbproto.h"

#define FUZZ_MUTATIONS		600	/* mutated streams, a connection each */
#define FUZZ_REQUESTS		1500	/* well-formed random requests */
#define FUZZ_CLOSE_MS		10000	/* a closed stream must end by then */

static uint64_t fuzz_state;

static uint64_t
fuzz_seed(void)
{
	const char *env = getenv("SBT_FUZZ_SEED");
	uint64_t seed;

	seed = env != NULL ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
	fprintf(stderr, "fuzz: seed %" PRIu64 "\n", seed);
	return (seed == 0 ? 1 : seed);
}

/* xorshift64*: small, fast and reproducible from the seed. */
static uint64_t
fuzz_rand(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return (fuzz_state * 2685821657736338717ULL);
}

static unsigned
fuzz_below(unsigned n)
{
	return ((unsigned)(fuzz_rand() % n));
}

/*
 * Only harmless names: whatever a mutation or a random pick combines, it
 * can name nothing that exits, sleeps, opens files or runs code.
 */
static const char *const fuzz_names[] = {
	"math", "builtins", "json", "pathlib", "sqrt", "sorted", "repr",
	"len", "abs", "pi", "dumps", "Path", "exists", "name", "upper",
	"__len__", "", "no.such.module", "\xff\xfe", "x",
};
#define FUZZ_NNAMES	(sizeof(fuzz_names) / sizeof(fuzz_names[0]))

static void
pack_name(msgpack_packer *pk)
{
	sbt_pack_str(pk, fuzz_names[fuzz_below(FUZZ_NNAMES)]);
}

/* A random value of any protocol type, nested at most `depth` deep. */
static void
pack_value(msgpack_packer *pk, int depth)
{
	unsigned char blob[48];
	unsigned i, n, kind = fuzz_below(depth > 0 ? 14 : 10);

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)fuzz_rand();
	switch (kind) {
	case 0: msgpack_pack_nil(pk); break;
	case 1: msgpack_pack_true(pk); break;
	case 2: msgpack_pack_int64(pk, (int64_t)fuzz_rand()); break;
	case 3: msgpack_pack_uint64(pk, fuzz_rand()); break;
	case 4: msgpack_pack_double(pk, (double)(int64_t)fuzz_rand() / 7); break;
	case 5: pack_name(pk); break;
	case 6:
		msgpack_pack_bin_with_body(pk, blob, fuzz_below(sizeof(blob)));
		break;
	case 7:	/* any ext type, random payload: refs, ndarrays, big ints */
		msgpack_pack_ext_with_body(pk, blob, fuzz_below(sizeof(blob)),
		    (int8_t)(fuzz_below(14) - 1));
		break;
	case 8:	/* a ref-shaped payload: right version, random fields */
		blob[0] = 1;
		blob[25] = 3;
		msgpack_pack_ext_with_body(pk, blob, 29, 6);
		break;
	case 9: msgpack_pack_int(pk, (int)fuzz_below(20) - 5); break;
	case 10: case 11:
		n = fuzz_below(4);
		msgpack_pack_array(pk, n);
		for (i = 0; i < n; i++)
			pack_value(pk, depth - 1);
		break;
	default:
		n = fuzz_below(3);
		msgpack_pack_map(pk, n);
		for (i = 0; i < n; i++) {
			if (fuzz_below(2))
				pack_name(pk);
			else
				pack_value(pk, 0);
			pack_value(pk, depth - 1);
		}
		break;
	}
}

/* Random OPTS: right keys with values of random types. */
static void
pack_opts(msgpack_packer *pk)
{
	static const char *const keys[] = { "session", "timeout", "pool",
	    "timeout_profile", "affinity", "zzz" };
	unsigned i, n = fuzz_below(3);

	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++) {
		sbt_pack_str(pk, keys[fuzz_below(6)]);
		if (fuzz_below(2))
			msgpack_pack_uint32(pk, 1 + fuzz_below(100000));
		else
			pack_value(pk, 1);
	}
}

/* Methods a client may send; admin ones are left out (tests run as root). */
static const char *const fuzz_methods[] = {
	"ping", "hello", "call", "get", "method", "attr", "setattr", "repr",
	"str", "len", "dir", "iter", "getitem", "next", "release",
	"session.info", "session.list", "status", "no.such.method",
};
#define FUZZ_NMETHODS	(sizeof(fuzz_methods) / sizeof(fuzz_methods[0]))

/* Real refs of the fuzzing connection's session, fetched before fuzzing. */
#define FUZZ_NREFS	3
static unsigned char	fuzz_refs[FUZZ_NREFS][SB_REF_FIXED_LEN + SB_REF_TYPE_MAX];
static size_t		fuzz_ref_len[FUZZ_NREFS];

static void
pack_ref(msgpack_packer *pk)
{
	unsigned i = fuzz_below(FUZZ_NREFS);

	if (fuzz_ref_len[i] == 0 || fuzz_below(8) == 0)
		pack_value(pk, 0);
	else
		msgpack_pack_ext_with_body(pk, fuzz_refs[i], fuzz_ref_len[i],
		    SB_EXT_REF);
}

/* Positional params of the right shape for a method, then maybe OPTS. */
static void
pack_shaped_params(msgpack_packer *pk, const char *method, uint32_t msgid)
{
	static const char *const on_ref[] = { "repr", "str", "len", "dir",
	    "iter", "release" };
	unsigned i, n, opts = fuzz_below(2);	/* a trailing OPTS slot */

	if (strcmp(method, "call") == 0 || strcmp(method, "method") == 0) {
		sbt_pack_request(pk, msgid, method, 4 + opts);
		if (method[0] == 'c')
			pack_name(pk);
		else
			pack_ref(pk);
		pack_name(pk);
		n = fuzz_below(3);
		msgpack_pack_array(pk, n);
		for (i = 0; i < n; i++)
			pack_value(pk, 2);
		n = fuzz_below(2);
		msgpack_pack_map(pk, n);
		for (i = 0; i < n; i++) {
			pack_name(pk);
			pack_value(pk, 1);
		}
	} else if (strcmp(method, "get") == 0) {
		sbt_pack_request(pk, msgid, method, 2 + opts);
		pack_name(pk);
		pack_name(pk);
	} else if (strcmp(method, "attr") == 0 ||
	    strcmp(method, "getitem") == 0 || strcmp(method, "next") == 0) {
		sbt_pack_request(pk, msgid, method, 2 + opts);
		pack_ref(pk);
		if (method[0] == 'a')
			pack_name(pk);
		else if (method[0] == 'n')
			msgpack_pack_uint32(pk, fuzz_below(5));
		else
			pack_value(pk, 1);
	} else if (strcmp(method, "setattr") == 0) {
		sbt_pack_request(pk, msgid, method, 3 + opts);
		pack_ref(pk);
		pack_name(pk);
		pack_value(pk, 2);
	} else {
		for (i = 0; i < sizeof(on_ref) / sizeof(on_ref[0]); i++)
			if (strcmp(method, on_ref[i]) == 0)
				break;
		if (i == sizeof(on_ref) / sizeof(on_ref[0])) {
			sbt_pack_request(pk, msgid, method, 0);
			return;
		}
		/* Keep the refs alive for most of the run. */
		if (strcmp(method, "release") == 0 && fuzz_below(4) != 0) {
			sbt_pack_request(pk, msgid, method, 0);
			return;
		}
		sbt_pack_request(pk, msgid, method, 1 + opts);
		pack_ref(pk);
	}
	/* The optional trailing slot: OPTS of random content, or nil. */
	if (opts && fuzz_below(2) == 0)
		pack_opts(pk);
	else if (opts)
		msgpack_pack_nil(pk);
}

/*
 * A well-formed request: most have the method's own shape with values of
 * random types, the rest random params of random count.
 */
static void
pack_random_request(msgpack_packer *pk, uint32_t msgid)
{
	const char *method = fuzz_methods[fuzz_below(FUZZ_NMETHODS)];
	unsigned i, nparams;

	if (fuzz_below(4) != 0) {
		pack_shaped_params(pk, method, msgid);
		return;
	}
	nparams = fuzz_below(6);
	sbt_pack_request(pk, msgid, method, nparams);
	for (i = 0; i < nparams; i++) {
		if (i == nparams - 1 && nparams > 1 && fuzz_below(2))
			pack_opts(pk);
		else if (i < 2 && fuzz_below(2))
			pack_name(pk);
		else
			pack_value(pk, 3);
	}
}

/* Call module.func(arg) on r and keep the ref it returns in slot i. */
static void
fetch_ref(struct sbt_raw *r, unsigned i, const char *module,
    const char *func, const char *arg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const msgpack_object *o, *res;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbt_pack_request(&pk, 1u << 31, "call", 3);
	sbt_pack_str(&pk, module);
	sbt_pack_str(&pk, func);
	msgpack_pack_array(&pk, 1);
	if (arg != NULL)
		sbt_pack_str(&pk, arg);
	else
		msgpack_pack_int(&pk, 100);
	ck_assert_int_eq(sbt_raw_send_sbuf(r, &sb), 0);
	ck_assert_int_eq(sbt_raw_response(r, 1u << 31, SBT_IO_TIMEOUT_MS, &o),
	    1);
	res = &o->via.array.ptr[3];
	ck_assert_int_eq(res->type, MSGPACK_OBJECT_EXT);
	ck_assert_int_eq(res->via.ext.type, SB_EXT_REF);
	ck_assert_uint_le(res->via.ext.size, sizeof(fuzz_refs[i]));
	memcpy(fuzz_refs[i], res->via.ext.ptr, res->via.ext.size);
	fuzz_ref_len[i] = res->via.ext.size;
	msgpack_sbuffer_destroy(&sb);
}

/* Seeds for mutation: real requests as a client sends them. */
static void
pack_seed(msgpack_packer *pk, uint32_t msgid)
{
	switch (fuzz_below(4)) {
	case 0:
		sbt_pack_request(pk, msgid, "call", 2);
		sbt_pack_str(pk, "math");
		sbt_pack_str(pk, "sqrt");
		break;
	case 1:
		sbt_pack_request(pk, msgid, "call", 4);
		sbt_pack_str(pk, "builtins");
		sbt_pack_str(pk, "sorted");
		msgpack_pack_array(pk, 1);
		pack_value(pk, 2);
		msgpack_pack_map(pk, 1);
		sbt_pack_str(pk, "reverse");
		msgpack_pack_true(pk);
		break;
	case 2:
		sbt_pack_request(pk, msgid, "hello", 1);
		msgpack_pack_map(pk, 2);
		sbt_pack_str(pk, "protocol");
		msgpack_pack_int(pk, 1);
		sbt_pack_str(pk, "client");
		sbt_pack_str(pk, "fuzz/1");
		break;
	default:
		pack_random_request(pk, msgid);
		break;
	}
}

/* Damage bytes in place or by length: flips, lies, truncation, noise. */
static size_t
mutate(unsigned char *buf, size_t len, size_t cap)
{
	unsigned i, n = 1 + fuzz_below(4);
	size_t at;

	for (i = 0; i < n && len > 0; i++) {
		at = fuzz_below((unsigned)len);
		switch (fuzz_below(6)) {
		case 0: buf[at] ^= (unsigned char)(1u << fuzz_below(8)); break;
		case 1: buf[at] = (unsigned char)fuzz_rand(); break;
		case 2: buf[at] = 0xff; break;		/* huge lengths */
		case 3: len = at; break;		/* truncation */
		case 4:	/* container and string headers */
			buf[at] = (unsigned char[]){ 0xdd, 0xdf, 0xdb, 0xc6,
			    0xc9, 0x9f, 0x8f, 0xc1 }[fuzz_below(8)];
			break;
		default:
			while (len < cap && fuzz_below(4) != 0)
				buf[len++] = (unsigned char)fuzz_rand();
			break;
		}
	}
	return (len);
}

/* The check that other clients never notice: a libsbclient call works. */
static void
bystander_call(sb_client *c)
{
	sb_value *args = sb_list_new(), *res = NULL;
	sb_error *err = NULL;
	double x = 0;
	int rc;

	ck_assert_ptr_nonnull(args);
	ck_assert_int_eq(sb_list_append(args, sb_int(16)), 0);
	rc = sb_call(c, "math", "sqrt", args, NULL, NULL, &res, &err);
	sbt_ok("bystander math.sqrt", rc, err);
	ck_assert_int_eq(sb_value_get_float(res, &x), 0);
	ck_assert(x == 4.0);
	sb_value_free(res);
	sb_value_free(args);
}

START_TEST(test_mutated_streams)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned char buf[4096];
	struct sbt_raw r;
	sb_client *bystander = sbt_connect(&sbt_d);
	size_t len;
	unsigned i, closed_by_daemon = 0;

	fuzz_state = fuzz_seed();
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < FUZZ_MUTATIONS; i++) {
		pack_seed(&pk, i);
		len = sb.size < sizeof(buf) ? sb.size : sizeof(buf);
		memcpy(buf, sb.data, len);
		msgpack_sbuffer_clear(&sb);
		len = mutate(buf, len, sizeof(buf));

		sbt_raw_open(&sbt_d, &r);
		(void)sbt_raw_send(&r, buf, len);
		/* End our side: whatever the daemon made of it, it must close. */
		shutdown(r.fd, SHUT_WR);
		if (!sbt_raw_wait_closed(&r, FUZZ_CLOSE_MS, NULL))
			ck_abort_msg("mutation %u: connection neither answered "
			    "nor closed within %d ms", i, FUZZ_CLOSE_MS);
		closed_by_daemon++;
		sbt_raw_close(&r);
		ck_assert_msg(sbt_daemon_alive(&sbt_d),
		    "daemon died at mutation %u", i);
		if (i % 50 == 0)
			bystander_call(bystander);
	}
	ck_assert_uint_eq(closed_by_daemon, FUZZ_MUTATIONS);
	bystander_call(bystander);
	msgpack_sbuffer_destroy(&sb);
	sb_client_close(bystander);
}
END_TEST

START_TEST(test_random_requests_answered_once)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct sbt_raw r;
	const msgpack_object *o;
	unsigned char *seen = calloc(FUZZ_REQUESTS, 1);
	int64_t deadline;
	unsigned i, answered = 0;
	uint64_t id;

	ck_assert_ptr_nonnull(seen);
	fuzz_state = fuzz_seed() ^ 0x9e3779b97f4a7c15ULL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sbt_raw_open(&sbt_d, &r);
	fetch_ref(&r, 0, "pathlib", "Path", "/tmp");
	fetch_ref(&r, 1, "builtins", "range", NULL);
	fetch_ref(&r, 2, "builtins", "iter", "abc");
	for (i = 0; i < FUZZ_REQUESTS; i++) {
		pack_random_request(&pk, i);
		ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sb), 0);
	}
	deadline = sbt_now_ms() + 120000;
	while (answered < FUZZ_REQUESTS && sbt_now_ms() < deadline) {
		int rc = sbt_raw_recv(&r, 10000, &o);

		ck_assert_msg(rc == 1, "connection %s after %u of %u answers",
		    rc == 0 ? "closed" : "went silent", answered,
		    FUZZ_REQUESTS);
		if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4 ||
		    o->via.array.ptr[0].via.u64 != SB_MSG_RESPONSE)
			continue;	/* notifications */
		ck_assert_int_eq(o->via.array.ptr[1].type,
		    MSGPACK_OBJECT_POSITIVE_INTEGER);
		id = o->via.array.ptr[1].via.u64;
		ck_assert_uint_lt(id, FUZZ_REQUESTS);
		ck_assert_msg(!seen[id], "request %" PRIu64 " answered twice",
		    id);
		if (getenv("SBT_FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "fuzz: %" PRIu64 " %s\n", id,
			    sbt_obj_errtype(o) != NULL ? sbt_obj_errtype(o) :
			    "ok");
		seen[id] = 1;
		answered++;
	}
	ck_assert_uint_eq(answered, FUZZ_REQUESTS);
	/* Still the same open connection, still served. */
	ck_assert_int_eq(sbt_raw_ping(&r, 1u << 30), 0);
	sbt_raw_close(&r);
	msgpack_sbuffer_destroy(&sb);
	free(seen);
}
END_TEST

static Suite *
fuzz_suite(void)
{
	Suite *s = suite_create("fuzz");
	TCase *tc = tcase_create("fuzz");

	tcase_set_timeout(tc, 240);
	sbt_tcase_add_daemon(tc, "[daemon]\nmax_message_size = 1M\n");
	tcase_add_test(tc, test_mutated_streams);
	tcase_add_test(tc, test_random_requests_answered_once);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(fuzz_suite()));
}
