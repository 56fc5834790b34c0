/*
 * check_sessions.c: sessions against a real daemon (issue 3): named
 * sessions shared by connections, the automatic session released on
 * disconnect, close and idle expiry really freeing Python objects, busy
 * sessions never expiring, another user kept out, a finalizer that never
 * returns cut off by the cleanup timeout, the limits, info, status and
 * sbctl's session commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supfix.h"

#define FILE_GONE_MS	8000	/* an object freed by cleanup */

/* Config of the main TCase: any user may connect; a pool of one worker. */
SUP_DAEMON(setup_sessions,
    "[daemon]\nsocket_mode = 0666\n\n"
    "[sessions]\ncleanup_timeout = 5s\n\n"
    "[pool solo]\nsize = 1\npath = @FIX@\n", 0)
SUP_DAEMON(setup_idle,
    "[sessions]\nidle_timeout = 1s\n", 0)
SUP_DAEMON(setup_stuck,
    "[sessions]\ncleanup_timeout = 1s\n\n"
    "[timeouts]\ngrace = 1s\n\n"
    "[pool solo]\nsize = 1\npath = @FIX@\n", 1)
SUP_DAEMON(setup_limits,
    "[sessions]\nmax_refs_per_session = 3\nmax_sessions_per_uid = 3\n", 0)
SUP_DAEMON(setup_limit_total,
    "[sessions]\nmax_sessions = 2\n", 0)

/* attr(ref, name) must fail with type. */
static void
expect_attr_error(sb_client *c, const sb_value *ref, const char *type)
{
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_attr(c, ref, "value", NULL, &r, &err);
	sbt_expect_error("attr of the ref", rc, err, type);
	sb_value_free(r);
	sb_error_free(err);
}

/* A tempfile ref made in session (NULL: automatic); its path into path. */
static sb_value *
make_tempfile(sb_client *c, const char *session, char *path, size_t len)
{
	sb_value	*ref, *r = NULL;
	sb_error	*err = NULL;
	const char	*s;

	ref = sup_call_ok(c, session, "make_tempfile", NULL);
	ck_assert_int_eq(sb_value_type(ref), SB_REF);
	sbt_ok("attr name", sb_attr(c, ref, "name", NULL, &r, &err), err);
	ck_assert_ptr_nonnull(s = sb_value_str(r, NULL));
	snprintf(path, len, "%s", s);
	sb_value_free(r);
	ck_assert_msg(sup_exists(path), "%s does not exist", path);
	return (ref);
}

START_TEST(test_named_shared)
{
	sb_client	*a = sbt_connect(&sbt_d), *b = sbt_connect(&sbt_d);
	sb_value	*ia, *ib, *ref, *r = NULL;
	sb_error	*err = NULL;

	ia = sup_open(a, "shared", -1, NULL);
	ref = sup_make_thing(a, "shared", 7);
	/* The second connection attaches to the same session. */
	ib = sup_open(b, "shared", -1, NULL);
	ck_assert_int_eq(sup_map_int(ia, "id", -1), sup_map_int(ib, "id", -2));
	sbt_ok("method on b", sb_method(b, ref, "double", NULL, NULL, NULL,
	    &r, &err), err);
	ck_assert_int_eq(sup_int(r), 14);
	sb_value_free(r);
	/* Both see the same objects: b changes it, a reads it. */
	ck_assert_int_eq(sb_setattr(b, ref, "value", r = sb_int(21), NULL,
	    &err), 0);
	sb_value_free(r);
	sup_expect_value(a, ref, 21);
	/* a leaving does not end a named session. */
	sb_client_close(a);
	sup_expect_value(b, ref, 21);
	sup_close(b, "shared");
	expect_attr_error(b, ref, "snakebridge.RefNotFound");
	sb_value_free(ia);
	sb_value_free(ib);
	sb_value_free(ref);
	sb_client_close(b);
}
END_TEST

START_TEST(test_disconnect_releases_auto)
{
	sb_client	*a = sbt_connect(&sbt_d), *b;
	sb_value	*ref;
	char		 path[4096];

	ref = make_tempfile(a, NULL, path, sizeof path);
	sb_client_close(a);
	ck_assert_msg(sup_wait_gone(path, FILE_GONE_MS), "%s still exists "
	    "%d ms after the connection closed", path, FILE_GONE_MS);
	/* The session is gone: its ref is unknown to a new connection. */
	b = sbt_connect(&sbt_d);
	expect_attr_error(b, ref, "snakebridge.RefNotFound");
	sb_value_free(ref);
	sb_client_close(b);
}
END_TEST

START_TEST(test_close_frees_objects)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info, *ref;
	char		 path[4096];

	info = sup_open(c, "closing", -1, NULL);
	ref = make_tempfile(c, "closing", path, sizeof path);
	sup_close(c, "closing");
	ck_assert_msg(sup_wait_gone(path, FILE_GONE_MS), "%s still exists "
	    "%d ms after session.close", path, FILE_GONE_MS);
	expect_attr_error(c, ref, "snakebridge.RefNotFound");
	sb_value_free(info);
	sb_value_free(ref);
	sb_client_close(c);
}
END_TEST

START_TEST(test_release_list)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info, *refs[3], *list, *one;
	sb_error	*err = NULL;
	char		 paths[2][4096];
	int		 i;

	info = sup_open(c, "rel", -1, NULL);
	refs[0] = make_tempfile(c, "rel", paths[0], sizeof paths[0]);
	refs[1] = make_tempfile(c, "rel", paths[1], sizeof paths[1]);
	refs[2] = sup_make_thing(c, "rel", 3);
	ck_assert_ptr_nonnull(list = sb_list_new());
	ck_assert_int_eq(sb_list_append(list, sb_value_copy(refs[0])), 0);
	ck_assert_int_eq(sb_list_append(list, sb_value_copy(refs[1])), 0);
	sbt_ok("release [a, b]", sb_release(c, list, NULL, &err), err);
	for (i = 0; i < 2; i++) {
		ck_assert_msg(sup_wait_gone(paths[i], FILE_GONE_MS),
		    "%s still exists after release", paths[i]);
		expect_attr_error(c, refs[i], "snakebridge.RefNotFound");
	}
	/* Releasing twice is harmless; the other ref lives on. */
	sbt_ok("release again", sb_release(c, list, NULL, &err), err);
	sup_expect_value(c, refs[2], 3);
	ck_assert_ptr_nonnull(one = sb_list_new());
	ck_assert_int_eq(sb_list_append(one, sb_value_copy(refs[2])), 0);
	sbt_ok("release [c]", sb_release(c, one, NULL, &err), err);
	expect_attr_error(c, refs[2], "snakebridge.RefNotFound");
	sup_close(c, "rel");
	for (i = 0; i < 3; i++)
		sb_value_free(refs[i]);
	sb_value_free(list);
	sb_value_free(one);
	sb_value_free(info);
	sb_client_close(c);
}
END_TEST

/* A number (int or float) of a map, or -1. */
static double
map_num(const sb_value *v, const char *key)
{
	double	 d;

	if (sb_value_get_float(sb_map_get(v, key), &d) != 0)
		return (-1);
	return (d);
}

START_TEST(test_info_fields)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info, *ref, *list;
	sb_error	*err = NULL;
	const sb_value	*e;
	int64_t		 deadline;
	double		 created, used;
	size_t		 i;
	int		 listed = 0;

	info = sup_open(c, "facts", 30, "solo");
	sb_value_free(info);
	ref = sup_make_thing(c, "facts", 1);
	sup_sleep_ms(20);
	sb_value_free(sup_call_ok(c, "facts", "pid", NULL));
	/* refs is known once the idle worker was polled again. */
	deadline = sbt_now_ms() + 15000;
	for (;;) {
		info = NULL;
		sbt_ok("session.info", sb_session_info(c, "facts", &info,
		    &err), err);
		if (sup_map_int(info, "refs", -1) == 1 ||
		    sbt_now_ms() > deadline)
			break;
		sb_value_free(info);
		sup_sleep_ms(200);
	}
	ck_assert_str_eq(sb_value_str(sb_map_get(info, "name"), NULL),
	    "facts");
	ck_assert_int_eq(sup_map_int(info, "owner", -1), (int64_t)getuid());
	ck_assert_str_eq(sb_value_str(sb_map_get(info, "pool"), NULL),
	    "solo");
	ck_assert_int_eq(sup_map_int(info, "worker", -1), 0);
	ck_assert_msg(sup_map_int(info, "refs", -1) == 1,
	    "refs is not 1 within 15 s (type %d)",
	    (int)sb_value_type(sb_map_get(info, "refs")));
	created = map_num(info, "created");
	used = map_num(info, "last_used");
	ck_assert_msg(created > 1e9 && used >= created,
	    "created %f last_used %f", created, used);
	ck_assert_msg(map_num(info, "idle_timeout") == 30.0,
	    "idle_timeout %f", map_num(info, "idle_timeout"));
	sbt_ok("session.list", sb_session_list(c, &list, &err), err);
	for (i = 0; i < sb_value_len(list); i++) {
		e = sb_value_item(list, i);
		if (sb_value_str(sb_map_get(e, "name"), NULL) != NULL &&
		    strcmp(sb_value_str(sb_map_get(e, "name"), NULL),
		    "facts") == 0)
			listed++;
	}
	ck_assert_int_eq(listed, 1);
	sup_close(c, "facts");
	sb_value_free(list);
	sb_value_free(info);
	sb_value_free(ref);
	sb_client_close(c);
}
END_TEST

/* A number found anywhere in status under key, or -1. */
static double
status_total(const sb_value *st, const char *key)
{
	double	 d;

	if (sb_value_get_float(sup_find_key(st, key), &d) != 0)
		return (-1);
	return (d);
}

START_TEST(test_status_totals)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*st, *info, *ref;
	const sb_value	*open;
	double		 before;
	int64_t		 deadline;
	char		 path[4096];

	st = sup_status(c);
	before = status_total(st, "cleaned");
	sb_value_free(st);
	info = sup_open(c, "counted", -1, NULL);
	ref = make_tempfile(c, "counted", path, sizeof path);
	st = sup_status(c);
	/* open: "sessions" as a number, or an "open" total. */
	open = sup_find_key(st, "open");
	if (open == NULL)
		open = sb_map_get(st, "sessions");
	ck_assert_msg(open != NULL && sup_int(open) >= 1,
	    "status shows no open session count");
	sb_value_free(st);
	sup_close(c, "counted");
	ck_assert(sup_wait_gone(path, FILE_GONE_MS));
	deadline = sbt_now_ms() + 5000;
	for (;;) {
		st = sup_status(c);
		if (status_total(st, "cleaned") > before ||
		    sbt_now_ms() > deadline)
			break;
		sb_value_free(st);
		sup_sleep_ms(100);
	}
	ck_assert_msg(status_total(st, "cleaned") >= 1 &&
	    status_total(st, "cleaned") > before,
	    "status has no total \"cleaned\" counting the closed session "
	    "(before %f, now %f)", before, status_total(st, "cleaned"));
	ck_assert_msg(status_total(st, "cleanup_failures") >= 0,
	    "status has no total \"cleanup_failures\"");
	ck_assert_msg(status_total(st, "cleanup_time") >= 0,
	    "status has no total \"cleanup_time\"");
	sb_value_free(st);
	sb_value_free(info);
	sb_value_free(ref);
	sb_client_close(c);
}
END_TEST

/* What the first user made for the second to try. */
struct foreign {
	sb_value	*ref;		/* of the live session "sbpriv" */
	sb_value	*gone_ref;	/* of a session that was closed */
	int64_t		 id;		/* of "sbpriv" */
};

/* Whether a and b are the same error once name_a reads as name_b. */
static int
same_error(const char *what, const sb_error *a, const sb_error *b,
    const char *name_a, const char *name_b, char *why, size_t len)
{
	char		 msg[1024];
	const char	*m = sb_error_message(a), *at;
	size_t		 n;

	msg[0] = '\0';
	if ((at = strstr(m, name_a)) != NULL) {
		n = at - m;
		snprintf(msg, sizeof msg, "%.*s%s%s", (int)n, m, name_b,
		    at + strlen(name_a));
	} else
		snprintf(msg, sizeof msg, "%s", m);
	if (strcmp(sb_error_type(a), sb_error_type(b)) == 0 &&
	    strcmp(msg, sb_error_message(b)) == 0)
		return (1);
	snprintf(why, len, "%s: errors differ: %s: %s / %s: %s", what,
	    sb_error_type(a),
	    sb_error_message(a), sb_error_type(b), sb_error_message(b));
	return (0);
}

/* As nobody: the first user's session and refs are out of reach. */
static int
nobody_session_checks(void *arg, char *why, size_t len)
{
	struct foreign	*f = arg;
	struct sb_opts	 o;
	sb_client	*c = NULL;
	sb_value	*r = NULL, *list = NULL;
	sb_error	*e1 = NULL, *e2 = NULL;
	const char	*name;
	size_t		 i;
	int		 rc;

	rc = sb_client_connect(sbt_d.socket, &c);
	SUP_CHECK(rc == 0, "connect as nobody: %s", sb_strerror(rc));

	rc = sb_session_info(c, "sbpriv", &r, &e1);
	SUP_CHECK(rc == SB_EREMOTE, "session.info of another user's session "
	    "answered (rc %d)", rc);
	SUP_CHECK(sb_session_info(c, "sbabsent", &r, &e2) == SB_EREMOTE,
	    "session.info of an absent session answered");
	SUP_CHECK(strcmp(sb_error_type(e1), "snakebridge.SessionNotFound") == 0,
	    "session.info: %s", sb_error_type(e1));
	if (!same_error("session.info", e1, e2, "sbpriv", "sbabsent", why,
	    len))
		goto fail;
	sb_error_free(e1);
	sb_error_free(e2);
	e1 = e2 = NULL;

	SUP_CHECK(sb_session_close(c, "sbpriv", &e1) == SB_EREMOTE,
	    "session.close of another user's session succeeded");
	SUP_CHECK(sb_session_close(c, "sbabsent", &e2) == SB_EREMOTE,
	    "session.close of an absent session succeeded");
	SUP_CHECK(strcmp(sb_error_type(e1), "snakebridge.SessionNotFound") == 0,
	    "session.close: %s", sb_error_type(e1));
	if (!same_error("session.close", e1, e2, "sbpriv", "sbabsent", why,
	    len))
		goto fail;
	sb_error_free(e1);
	sb_error_free(e2);
	e1 = e2 = NULL;

	/* A call in it by name. */
	sb_opts_init(&o);
	o.session = "sbpriv";
	rc = sb_call(c, "sbsuper", "pid", NULL, NULL, &o, &r, &e1);
	SUP_CHECK(rc == SB_EREMOTE && strcmp(sb_error_type(e1),
	    "snakebridge.SessionNotFound") == 0, "a call in another user's "
	    "session: rc %d %s", rc, e1 ? sb_error_type(e1) : "");
	sb_error_free(e1);
	e1 = NULL;

	SUP_CHECK(sb_session_list(c, &list, &e1) == 0, "session.list failed");
	for (i = 0; i < sb_value_len(list); i++) {
		name = sb_value_str(sb_map_get(sb_value_item(list, i), "name"),
		    NULL);
		SUP_CHECK(name == NULL || strcmp(name, "sbpriv") != 0,
		    "session.list shows another user's session");
	}
	sb_value_free(list);
	list = NULL;

	/* Its ref fails exactly as a ref of an ended session. */
	SUP_CHECK(sb_attr(c, f->ref, "value", NULL, &r, &e1) == SB_EREMOTE,
	    "another user's ref was usable");
	SUP_CHECK(sb_attr(c, f->gone_ref, "value", NULL, &r, &e2) ==
	    SB_EREMOTE, "a ref of a closed session was usable");
	SUP_CHECK(strcmp(sb_error_type(e1), "snakebridge.RefNotFound") == 0,
	    "another user's ref: %s", sb_error_type(e1));
	if (!same_error("ref", e1, e2, "", "", why, len))
		goto fail;
	sb_error_free(e1);
	sb_error_free(e2);
	e1 = e2 = NULL;
	/* Releasing it does nothing to the owner's object (checked after). */
	(void)sb_release(c, f->ref, NULL, &e1);
	sb_error_free(e1);
	e1 = NULL;

	/* Opening the name makes a session of its own. */
	SUP_CHECK(sb_session_open(c, "sbpriv", NULL, &r, &e1) == 0,
	    "session.open as nobody failed: %s", e1 ? sb_error_type(e1) : "");
	SUP_CHECK(sup_map_int(r, "owner", -1) == SUP_NOBODY &&
	    sup_map_int(r, "id", -1) != f->id, "session.open attached to "
	    "another user's session (owner %lld id %lld)",
	    (long long)sup_map_int(r, "owner", -1),
	    (long long)sup_map_int(r, "id", -1));
	sb_value_free(r);
	r = NULL;
	SUP_CHECK(sb_session_close(c, "sbpriv", &e1) == 0,
	    "closing its own session failed");
	sb_client_close(c);
	return (0);
fail:
	sb_value_free(list);
	sb_error_free(e1);
	sb_error_free(e2);
	sb_client_close(c);
	return (-1);
}

START_TEST(test_other_uid)
{
	sb_client	*c = sbt_connect(&sbt_d);
	struct foreign	 f;
	sb_value	*info;

	info = sup_open(c, "sbgone", -1, NULL);
	f.gone_ref = sup_make_thing(c, "sbgone", 1);
	sup_close(c, "sbgone");
	sb_value_free(info);
	info = sup_open(c, "sbpriv", -1, NULL);
	f.id = sup_map_int(info, "id", -1);
	f.ref = sup_make_thing(c, "sbpriv", 5);
	sup_as_nobody(nobody_session_checks, &f);
	/* The owner's session and object are untouched. */
	sb_value_free(info);
	ck_assert_int_eq(sb_session_info(c, "sbpriv", &info, NULL), 0);
	ck_assert_int_eq(sup_map_int(info, "owner", -1), (int64_t)getuid());
	sup_expect_value(c, f.ref, 5);
	sup_close(c, "sbpriv");
	sb_value_free(info);
	sb_value_free(f.ref);
	sb_value_free(f.gone_ref);
	sb_client_close(c);
}
END_TEST

START_TEST(test_sbctl_session)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info = NULL;
	sb_error	*err = NULL;
	char		*out, *errout;
	int		 code;

	code = sup_sbctl(&out, &errout, "session", "open", "viactl",
	    "--idle-timeout", "30", NULL);
	ck_assert_msg(code == 0 && strstr(out, "\"viactl\"") != NULL,
	    "open: exit %d: %s %s", code, out, errout);
	free(out);
	free(errout);
	/* The session sbctl opened is the one a library client sees. */
	sbt_ok("session.info", sb_session_info(c, "viactl", &info, &err),
	    err);
	ck_assert_msg(map_num(info, "idle_timeout") == 30.0, "idle_timeout");
	sb_value_free(info);
	code = sup_sbctl(&out, &errout, "--session", "viactl", "call",
	    "sbsuper", "pid", NULL);
	ck_assert_msg(code == 0 && atoi(out) > 0, "call: exit %d: %s %s",
	    code, out, errout);
	free(out);
	free(errout);
	code = sup_sbctl(&out, &errout, "session", "info", "viactl", NULL);
	ck_assert_msg(code == 0 && strstr(out, "\"viactl\"") != NULL &&
	    strstr(out, "\"worker\"") != NULL, "info: exit %d: %s %s", code,
	    out, errout);
	free(out);
	free(errout);
	code = sup_sbctl(&out, &errout, "session", "list", NULL);
	ck_assert_msg(code == 0 && out[0] == '[' &&
	    strstr(out, "\"viactl\"") != NULL, "list: exit %d: %s %s", code,
	    out, errout);
	free(out);
	free(errout);
	code = sup_sbctl(&out, &errout, "session", "close", "viactl", NULL);
	ck_assert_msg(code == 0 && strcmp(out, "true\n") == 0,
	    "close: exit %d: %s %s", code, out, errout);
	free(out);
	free(errout);
	code = sup_sbctl(&out, &errout, "session", "close", "viactl", NULL);
	ck_assert_msg(code == 1 && strstr(errout,
	    "snakebridge.SessionNotFound") != NULL, "close again: exit %d: "
	    "%s %s", code, out, errout);
	free(out);
	free(errout);
	sup_expect_no_session(c, "viactl");
	sb_client_close(c);
}
END_TEST

START_TEST(test_idle_expiry_frees)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info, *ref;
	char		 path[4096];

	/* The config's default idle timeout (1 s) applies. */
	info = sup_open(c, "idler", -1, NULL);
	ck_assert_msg(map_num(info, "idle_timeout") == 1.0, "idle_timeout %f",
	    map_num(info, "idle_timeout"));
	ref = make_tempfile(c, "idler", path, sizeof path);
	ck_assert_msg(sup_wait_gone(path, FILE_GONE_MS), "%s still exists "
	    "%d ms into a 1 s idle timeout", path, FILE_GONE_MS);
	sb_value_free(info);
	sup_expect_no_session(c, "idler");
	expect_attr_error(c, ref, "snakebridge.RefNotFound");
	sb_value_free(ref);
	sb_client_close(c);
}
END_TEST

START_TEST(test_refreshed_not_expired)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info, *ref;
	int64_t		 end;

	info = sup_open(c, "fresh", 1.0, NULL);
	ref = sup_make_thing(c, "fresh", 4);
	/* Used every 300 ms for 3.5 s: never idle for 1 s. */
	end = sbt_now_ms() + 3500;
	while (sbt_now_ms() < end) {
		sup_expect_value(c, ref, 4);
		sup_sleep_ms(300);
	}
	sup_close(c, "fresh");
	sb_value_free(info);
	sb_value_free(ref);
	sb_client_close(c);
}
END_TEST

START_TEST(test_long_call_not_expired)
{
	sb_client	*c = sbt_connect(&sbt_d), *d;
	sb_value	*info, *ref, *args, *r = NULL;
	sb_error	*err = NULL;
	char		 path[4096];

	info = sup_open(c, "longrun", 2.0, NULL);
	sb_value_free(info);
	ref = make_tempfile(c, "longrun", path, sizeof path);
	/* A 4 s call in a session with a 2 s idle timeout. */
	args = sup_args("f", 4.0);
	sbt_ok("slow(4)", sup_call(c, "longrun", NULL, 20000, "slow", args,
	    &r, &err), err);
	sb_value_free(r);
	sb_value_free(args);
	/* Idle for 1.2 s since the call ended: less than its 2 s. */
	sup_sleep_ms(1200);
	d = sbt_connect(&sbt_d);
	sbt_ok("session.info after the long call", sb_session_info(d,
	    "longrun", &info, &err), err);
	sb_value_free(info);
	ck_assert_msg(sup_exists(path), "the object was freed although the "
	    "session was idle for only 1.2 s after a 4 s call");
	/* Left alone it does expire. */
	ck_assert_msg(sup_wait_gone(path, FILE_GONE_MS), "%s still exists",
	    path);
	sb_value_free(ref);
	sb_client_close(d);
	sb_client_close(c);
}
END_TEST

START_TEST(test_stuck_finalizer)
{
	sb_client	*c = sbt_connect(&sbt_d), *p = sbt_connect(&sbt_d);
	sb_value	*info, *stuck, *bystander, *st;
	sb_error	*err = NULL;
	int64_t		 pid0, pid1, t0, worst = 0, dt, deadline;
	int64_t		 crashes;

	info = sup_open(c, "victim", -1, "solo");
	sb_value_free(info);
	info = sup_open(c, "bystander", -1, "solo");
	sb_value_free(info);
	bystander = sup_make_thing(c, "bystander", 9);
	stuck = sup_call_ok(c, "victim", "make_stuck", NULL);
	pid0 = sup_worker_pid(c, "solo", 0);
	st = sup_status(c);
	crashes = sup_map_int(sb_map_get(st, "counters"), "crashes", -1);
	sb_value_free(st);
	ck_assert_int_gt(pid0, 0);
	t0 = sbt_now_ms();
	sup_close(c, "victim");
	ck_assert_msg(sbt_now_ms() - t0 < 1000, "session.close took %lld ms",
	    (long long)(sbt_now_ms() - t0));
	/* ping stays fast while the cleanup hangs and is cut off. */
	deadline = sbt_now_ms() + 15000;
	for (;;) {
		t0 = sbt_now_ms();
		sbt_ok("ping", sb_ping(p, &err), err);
		dt = sbt_now_ms() - t0;
		if (dt > worst)
			worst = dt;
		pid1 = sup_worker_pid(p, "solo", 0);
		if ((pid1 > 0 && pid1 != pid0) || sbt_now_ms() > deadline)
			break;
		sup_sleep_ms(100);
	}
	ck_assert_msg(worst < 500, "a ping took %lld ms during the cleanup",
	    (long long)worst);
	ck_assert_msg(pid1 != pid0, "worker solo/0 (pid %lld) still runs 15 s "
	    "after a 1 s cleanup timeout", (long long)pid0);
	ck_assert_msg(!sup_proc_alive(pid0), "the old worker %lld is alive",
	    (long long)pid0);
	/* The other session of that worker lost its objects. */
	expect_attr_error(c, bystander, "snakebridge.RefLost");
	/* The pool works again. */
	ck_assert_int_gt(sup_pid(c, "bystander"), 0);
	sup_close(c, "bystander");
	ck_assert_msg(sbt_daemon_log_wait(&sbt_d, "cleanup", 1000),
	    "the log does not mention the cleanup failure");
	st = sup_status(c);
	ck_assert_msg(sup_map_int(sb_map_get(st, "counters"), "crashes", -1) ==
	    crashes, "the kill after the cleanup timeout counted as a crash");
	ck_assert_msg(sup_find_key(st, "cleanup_failures") != NULL &&
	    sup_int(sup_find_key(st, "cleanup_failures")) >= 1,
	    "status counts no cleanup failure");
	sb_value_free(st);
	sb_value_free(stuck);
	sb_value_free(bystander);
	sb_client_close(p);
	sb_client_close(c);
}
END_TEST

START_TEST(test_limit_refs)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*info, *refs[4], *r = NULL;
	sb_error	*err = NULL;
	int		 i, rc;

	info = sup_open(c, "full", -1, NULL);
	sb_value_free(info);
	for (i = 0; i < 3; i++)
		refs[i] = sup_make_thing(c, "full", (int64_t)i);
	rc = sup_call(c, "full", NULL, 10000, "make_thing", NULL, &r, &err);
	sbt_expect_error("a 4th ref", rc, err, "snakebridge.LimitExceeded");
	ck_assert_msg(sup_error_names(err, "max_refs_per_session"),
	    "the error does not name max_refs_per_session: %s",
	    sb_error_message(err));
	sb_error_free(err);
	/* Nothing was half made: one release makes room for exactly one. */
	sbt_ok("release", sb_release(c, refs[0], NULL, &err), err);
	refs[3] = sup_make_thing(c, "full", 3);
	rc = sup_call(c, "full", NULL, 10000, "make_thing", NULL, &r, &err);
	sbt_expect_error("a 4th ref again", rc, err,
	    "snakebridge.LimitExceeded");
	sb_error_free(err);
	for (i = 1; i < 4; i++)
		sup_expect_value(c, refs[i], i);
	sup_close(c, "full");
	for (i = 0; i < 4; i++)
		sb_value_free(refs[i]);
	sb_client_close(c);
}
END_TEST

/* The number of the caller's sessions listed. */
static size_t
count_listed(sb_client *c)
{
	sb_value	*list = NULL;
	sb_error	*err = NULL;
	size_t		 n;

	sbt_ok("session.list", sb_session_list(c, &list, &err), err);
	n = sb_value_len(list);
	sb_value_free(list);
	return (n);
}

START_TEST(test_limit_sessions_per_uid)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	const char	*names[] = { "u1", "u2", "u3" };
	int		 i, rc;

	for (i = 0; i < 3; i++)
		sb_value_free(sup_open(c, names[i], -1, NULL));
	rc = sb_session_open(c, "u4", NULL, &r, &err);
	sbt_expect_error("a 4th session", rc, err,
	    "snakebridge.LimitExceeded");
	ck_assert_msg(sup_error_names(err, "max_sessions_per_uid"),
	    "the error does not name max_sessions_per_uid: %s",
	    sb_error_message(err));
	sb_error_free(err);
	/* An automatic session counts too. */
	rc = sup_call(c, NULL, NULL, 10000, "pid", NULL, &r, &err);
	sbt_expect_error("an automatic session past the limit", rc, err,
	    "snakebridge.LimitExceeded");
	sb_error_free(err);
	ck_assert_int_eq(count_listed(c), 3);
	sup_expect_no_session(c, "u4");
	sup_close(c, "u1");
	sb_value_free(sup_open(c, "u4", -1, NULL));
	for (i = 1; i < 3; i++)
		sup_close(c, names[i]);
	sup_close(c, "u4");
	sb_client_close(c);
}
END_TEST

START_TEST(test_limit_sessions_total)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*r = NULL;
	sb_error	*err = NULL;
	int		 rc;

	sb_value_free(sup_open(c, "t1", -1, NULL));
	sb_value_free(sup_open(c, "t2", -1, NULL));
	rc = sb_session_open(c, "t3", NULL, &r, &err);
	sbt_expect_error("a 3rd session", rc, err, "snakebridge.LimitExceeded");
	ck_assert_msg(sup_error_names(err, "max_sessions"),
	    "the error does not name max_sessions: %s", sb_error_message(err));
	sb_error_free(err);
	rc = sup_call(c, NULL, NULL, 10000, "pid", NULL, &r, &err);
	sbt_expect_error("an automatic session past the limit", rc, err,
	    "snakebridge.LimitExceeded");
	sb_error_free(err);
	ck_assert_int_eq(count_listed(c), 2);
	sup_close(c, "t2");
	sb_value_free(sup_open(c, "t3", -1, NULL));
	sup_close(c, "t1");
	sup_close(c, "t3");
	sb_client_close(c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sessions");
	TCase	*tc;

	tc = sup_tcase(s, "sessions", setup_sessions, 120);
	tcase_add_test(tc, test_named_shared);
	tcase_add_test(tc, test_disconnect_releases_auto);
	tcase_add_test(tc, test_close_frees_objects);
	tcase_add_test(tc, test_release_list);
	tcase_add_test(tc, test_info_fields);
	tcase_add_test(tc, test_status_totals);
	tcase_add_test(tc, test_other_uid);
	tcase_add_test(tc, test_sbctl_session);

	tc = sup_tcase(s, "idle", setup_idle, 120);
	tcase_add_test(tc, test_idle_expiry_frees);
	tcase_add_test(tc, test_refreshed_not_expired);
	tcase_add_test(tc, test_long_call_not_expired);

	tc = sup_tcase(s, "stuck", setup_stuck, 120);
	tcase_add_test(tc, test_stuck_finalizer);

	tc = sup_tcase(s, "limits", setup_limits, 60);
	tcase_add_test(tc, test_limit_refs);
	tcase_add_test(tc, test_limit_sessions_per_uid);

	tc = sup_tcase(s, "limit_total", setup_limit_total, 60);
	tcase_add_test(tc, test_limit_sessions_total);
	return (sup_run_suite(s));
}
