/*
 * check_policy.c: the pools' module lists (allow_modules, deny_modules)
 * against a real daemon: allowed calls work, refused modules fail with
 * snakebridge.ModuleNotAllowed by name, through dotted attribute paths,
 * through attributes of refs and through refs to modules obtained
 * indirectly, while the connection and the worker keep serving; submodule
 * rules, deny over allow, a reload that changes the lists, and bad names
 * refused by `snakebridged -n`.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define NOT_ALLOWED	"snakebridge.ModuleNotAllowed"
#define DENIED		"is denied"
#define NOT_IN		"is not in"

/*
 * Pools: "allow" allows some modules, "deny" denies os and subprocess (and
 * preloads os: preload is not checked), "both" allows json and os but
 * denies os and json.decoder, "r" (last: the reload test appends to it)
 * denies subprocess. The default pool has no lists.
 */
#define POLICY_CONFIG							\
	"[pool allow]\nsize = 1\n"					\
	"allow_modules = math, json, importlib, os.path\n\n"		\
	"[pool deny]\nsize = 1\npreload = os, json\n"			\
	"deny_modules = os, subprocess\n\n"				\
	"[pool both]\nsize = 1\nallow_modules = json, os\n"		\
	"deny_modules = os, json.decoder\n\n"				\
	"[pool r]\nsize = 1\ndeny_modules = subprocess\n"

/* Fail unless the request was refused for module mod with why in it. */
static void
expect_refused(const char *what, int rc, sb_error *err, const char *mod,
    const char *why)
{
	char	 want[128];

	sbt_expect_error(what, rc, err, NOT_ALLOWED);
	snprintf(want, sizeof want, "module %s %s", mod, why);
	ck_assert_msg(strstr(sb_error_message(err), want) != NULL,
	    "%s: message '%s' does not say '%s'", what,
	    sb_error_message(err), want);
	sb_error_free(err);
}

/* module.func(*args) in sbt_c's pool; the result (args are taken). */
static sb_value *
call_ok(const char *module, const char *func, sb_value *args)
{
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_call(sbt_c, module, func, args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sbt_ok(func, rc, err);
	return (res);
}

/* module.func(*args) must be refused for module mod (args are taken). */
static void
call_refused(const char *module, const char *func, sb_value *args,
    const char *mod, const char *why)
{
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_call(sbt_c, module, func, args, NULL, NULL, &res, &err);
	sb_value_free(args);
	sb_value_free(res);
	expect_refused(func, rc, err, mod, why);
}

/* get module attr must be refused for module mod. */
static void
get_refused(const char *module, const char *attr, const char *mod,
    const char *why)
{
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_get(sbt_c, module, attr, NULL, &res, &err);
	sb_value_free(res);
	expect_refused(attr, rc, err, mod, why);
}

/* attr [ref, name] must be refused for module mod. */
static void
attr_refused(const sb_value *ref, const char *name, const char *mod,
    const char *why)
{
	sb_value	*res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	rc = sb_attr(sbt_c, ref, name, NULL, &res, &err);
	sb_value_free(res);
	expect_refused(name, rc, err, mod, why);
}

/* A ref to the module importlib.import_module(name) returns. */
static sb_value *
import_ref(const char *name)
{
	sb_value	*ref;

	ref = call_ok("importlib", "import_module", sbt_list(sb_str(name),
	    NULL));
	ck_assert_int_eq(sb_value_type(ref), SB_REF);
	ck_assert_str_eq(sb_ref_type(ref), "module");
	return (ref);
}

/* The call math.sqrt(16) is 4.0: the worker still serves. */
static void
expect_sqrt_works(void)
{
	sb_value	*v = call_ok("math", "sqrt", sbt_list(sb_int(16), NULL));
	double		 d;

	ck_assert_int_eq(sb_value_get_float(v, &d), 0);
	ck_assert(d == 4.0);
	sb_value_free(v);
}

static void
expect_str(sb_value *v, const char *want)
{
	const char	*s = sb_value_str(v, NULL);

	ck_assert_msg(s != NULL && strcmp(s, want) == 0, "got %s, want %s",
	    s != NULL ? s : "(not a str)", want);
	sb_value_free(v);
}

static void
use_pool(const char *pool)
{
	ck_assert_int_eq(sb_client_set_pool(sbt_c, pool), 0);
}

/* A pool without lists refuses nothing. */
START_TEST(test_no_lists)
{
	sb_value	*v = NULL;
	sb_error	*err = NULL;
	int		 rc;

	sb_value_free(call_ok("os", "getcwd", NULL));
	rc = sb_get(sbt_c, "os", "path.sep", NULL, &v, &err);
	sbt_ok("get os path.sep", rc, err);
	expect_str(v, "/");
	sb_value_free(call_ok("subprocess", "list2cmdline",
	    sbt_list(sbt_list(sb_str("a"), NULL), NULL)));
}
END_TEST

/* The str items of list, joined by ',' (static). */
static const char *
joined(const sb_value *list)
{
	static char	 buf[256];
	size_t		 i, n = 0;
	const char	*s;

	buf[0] = '\0';
	for (i = 0; list != NULL && i < sb_value_len(list); i++) {
		ck_assert_ptr_nonnull(s = sb_value_str(sb_value_item(list, i),
		    NULL));
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s",
		    i > 0 ? "," : "", s);
		ck_assert_uint_lt(n, sizeof buf);
	}
	return (buf);
}

/* status shows each pool's lists as configured; the default pool has none. */
START_TEST(test_status_lists)
{
	sb_value	*st = NULL;
	sb_error	*err = NULL;
	const sb_value	*pools, *p;
	size_t		 i, seen = 0;

	sbt_ok("status", sb_status(sbt_c, &st, &err), err);
	ck_assert_ptr_nonnull(pools = sb_map_get(st, "pools"));
	for (i = 0; i < sb_value_len(pools); i++) {
		const char *name;

		p = sb_value_item(pools, i);
		ck_assert_ptr_nonnull(name = sb_value_str(sb_map_get(p,
		    "name"), NULL));
		ck_assert_ptr_nonnull(sb_map_get(p, "allow_modules"));
		ck_assert_ptr_nonnull(sb_map_get(p, "deny_modules"));
		if (strcmp(name, "both") == 0) {
			ck_assert_str_eq(joined(sb_map_get(p,
			    "allow_modules")), "json,os");
			ck_assert_str_eq(joined(sb_map_get(p,
			    "deny_modules")), "os,json.decoder");
			seen++;
		} else if (strcmp(name, "default") == 0) {
			ck_assert_uint_eq(sb_value_len(sb_map_get(p,
			    "allow_modules")), 0);
			ck_assert_uint_eq(sb_value_len(sb_map_get(p,
			    "deny_modules")), 0);
			seen++;
		}
	}
	ck_assert_uint_eq(seen, 2);
	sb_value_free(st);
}
END_TEST

START_TEST(test_allowed_calls)
{
	use_pool("allow");
	expect_sqrt_works();
	expect_str(call_ok("os.path", "join", sbt_list(sb_str("a"),
	    sb_str("b"), NULL)), "a/b");
	expect_str(call_ok("json", "dumps", sbt_list(sbt_list(sb_int(1),
	    NULL), NULL)), "[1]");
}
END_TEST

/* A module outside the allow list fails, and the worker serves on. */
START_TEST(test_allow_list_miss)
{
	int	 i;

	use_pool("allow");
	for (i = 0; i < 2; i++) {
		call_refused("statistics", "mean", sbt_list(sbt_list(
		    sb_int(1), sb_int(2), NULL), NULL), "statistics", NOT_IN);
		expect_sqrt_works();
	}
	get_refused("statistics", "mean", "statistics", NOT_IN);
	expect_sqrt_works();
}
END_TEST

/* Allowing os.path allows neither os nor os's other submodules. */
START_TEST(test_allow_submodule_only)
{
	use_pool("allow");
	call_refused("os", "getcwd", NULL, "os", NOT_IN);
	get_refused("os", "sep", "os", NOT_IN);
	/* A name is matched as a whole: "math" does not cover "mathx". */
	call_refused("mathx", "f", NULL, "mathx", NOT_IN);
	expect_str(call_ok("os.path", "basename", sbt_list(sb_str("/a/b"),
	    NULL)), "b");
}
END_TEST

/* Denied modules and their submodules; an empty allow list allows all. */
START_TEST(test_deny_list)
{
	use_pool("deny");
	call_refused("os", "getcwd", NULL, "os", DENIED);
	call_refused("os.path", "join", sbt_list(sb_str("a"), NULL),
	    "os.path", DENIED);
	call_refused("subprocess", "list2cmdline", NULL, "subprocess",
	    DENIED);
	get_refused("os", "sep", "os", DENIED);
	/* Preloaded (preload is not checked) yet refused by name. */
	call_refused("os", "getpid", NULL, "os", DENIED);
	expect_sqrt_works();
	expect_str(call_ok("json", "dumps", sbt_list(sb_str("x"), NULL)),
	    "\"x\"");
}
END_TEST

/* A dotted path from an allowed module into a refused one. */
START_TEST(test_get_path_into_refused)
{
	sb_value	*v = NULL;
	sb_error	*err = NULL;
	int		 rc;

	use_pool("allow");
	get_refused("json", "decoder.re", "re", NOT_IN);
	call_refused("json", "decoder.re.compile", sbt_list(sb_str("x"),
	    NULL), "re", NOT_IN);
	get_refused("json", "decoder.re.compile", "re", NOT_IN);
	/* json covers json.decoder: walking through it is fine. */
	rc = sb_get(sbt_c, "json", "decoder.JSONDecoder", NULL, &v, &err);
	sbt_ok("get json decoder.JSONDecoder", rc, err);
	sb_value_free(v);
	sb_value_free(call_ok("json", "decoder.scanstring", sbt_list(
	    sb_str("ab\""), sb_int(0), NULL)));
}
END_TEST

/* attr on a ref of an allowed module reaching a refused one. */
START_TEST(test_attr_into_refused)
{
	sb_value	*json, *dec = NULL;
	sb_error	*err = NULL;
	int		 rc;

	use_pool("allow");
	json = import_ref("json");
	rc = sb_attr(sbt_c, json, "decoder", NULL, &dec, &err);
	sbt_ok("attr json decoder", rc, err);
	ck_assert_str_eq(sb_ref_type(dec), "module");
	attr_refused(dec, "re", "re", NOT_IN);
	sb_value_free(dec);
	sb_value_free(json);
	expect_sqrt_works();
}
END_TEST

/*
 * A refused module obtained indirectly, as a ref: no request can use it,
 * as its target or as an argument; releasing it works.
 */
START_TEST(test_indirect_ref)
{
	sb_value	*os, *res = NULL, *args;
	sb_error	*err = NULL;
	int		 rc;

	use_pool("deny");
	os = import_ref("os");
	rc = sb_method(sbt_c, os, "getcwd", NULL, NULL, NULL, &res, &err);
	expect_refused("method getcwd", rc, err, "os", DENIED);
	attr_refused(os, "sep", "os", DENIED);
	rc = sb_setattr(sbt_c, os, "sbt_mark", res = sb_int(1), NULL, &err);
	sb_value_free(res);
	res = NULL;
	expect_refused("setattr", rc, err, "os", DENIED);
	rc = sb_repr(sbt_c, os, NULL, &res, &err);
	expect_refused("repr", rc, err, "os", DENIED);
	rc = sb_dir(sbt_c, os, NULL, &res, &err);
	expect_refused("dir", rc, err, "os", DENIED);
	args = sbt_list(sb_value_copy(os), sb_str("sep"), NULL);
	rc = sb_call(sbt_c, "builtins", "getattr", args, NULL, NULL, &res,
	    &err);
	sb_value_free(args);
	expect_refused("getattr(os ref)", rc, err, "os", DENIED);
	rc = sb_release(sbt_c, os, NULL, &err);
	sbt_ok("release", rc, err);
	sb_value_free(os);
	expect_sqrt_works();
}
END_TEST

/* The same through an allow list: sys is not in it. */
START_TEST(test_indirect_ref_allow)
{
	sb_value	*sys, *res = NULL;
	sb_error	*err = NULL;
	int		 rc;

	use_pool("allow");
	sys = import_ref("sys");
	attr_refused(sys, "version", "sys", NOT_IN);
	rc = sb_method(sbt_c, sys, "getrecursionlimit", NULL, NULL, NULL,
	    &res, &err);
	expect_refused("method", rc, err, "sys", NOT_IN);
	sb_value_free(sys);
	expect_sqrt_works();
}
END_TEST

/* Deny wins over allow, for a module and for a submodule of one. */
START_TEST(test_deny_wins)
{
	use_pool("both");
	call_refused("os", "getcwd", NULL, "os", DENIED);
	expect_str(call_ok("json", "dumps", sbt_list(sb_nil(), NULL)),
	    "null");
	get_refused("json", "decoder", "json.decoder", DENIED);
	call_refused("json.decoder", "JSONDecoder", NULL, "json.decoder",
	    DENIED);
	call_refused("json", "decoder.JSONDecoder", NULL, "json.decoder",
	    DENIED);
	/* Not in the allow list at all. */
	call_refused("math", "sqrt", sbt_list(sb_int(4), NULL), "math",
	    NOT_IN);
}
END_TEST

/* Bad names in either list: snakebridged -n names the file and line. */
START_TEST(test_config_check)
{
	char	*err;
	int	 code;

	code = sbt_config_check("[pool p]\nsize = 1\nallow_modules = json, "
	    "os.path\ndeny_modules = os\n", &err);
	ck_assert_msg(code == 0, "a good config: exit %d: %s", code, err);
	free(err);
	code = sbt_config_check("[pool p]\nsize = 1\nallow_modules = json, "
	    "os..path\n", &err);
	ck_assert_msg(code != 0 && strstr(err, ":3:") != NULL &&
	    strstr(err, "os..path") != NULL, "allow_modules: exit %d: %s",
	    code, err);
	free(err);
	code = sbt_config_check("[pool p]\n\ndeny_modules = 2fast\n", &err);
	ck_assert_msg(code != 0 && strstr(err, ":3:") != NULL &&
	    strstr(err, "deny_modules") != NULL, "deny_modules: exit %d: %s",
	    code, err);
	free(err);
}
END_TEST

/* Call math.sqrt in pool r on a fresh connection; 1 if refused. */
static int
reload_sqrt_refused(void)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*res = NULL, *args = sbt_list(sb_int(9), NULL);
	struct sb_opts	 o;
	sb_error	*err = NULL;
	int		 rc, refused;

	sb_opts_init(&o);
	o.pool = "r";
	rc = sb_call(c, "math", "sqrt", args, NULL, &o, &res, &err);
	refused = rc == SB_EREMOTE && strcmp(sb_error_type(err),
	    NOT_ALLOWED) == 0;
	if (!refused)
		sbt_ok("math.sqrt in pool r", rc, err);
	sb_error_free(err);
	sb_value_free(res);
	sb_value_free(args);
	sb_client_close(c);
	return (refused);
}

/*
 * A reload that changes the lists is logged; running workers keep theirs
 * until worker.restart, and the restarted worker has the new ones.
 */
START_TEST(test_reload)
{
	sb_client	*c = sbt_connect(&sbt_d);
	sb_value	*r = NULL, *params;
	sb_error	*err = NULL;
	FILE		*f;
	int64_t		 deadline;
	int		 rc, refused;

	ck_assert(!reload_sqrt_refused());
	ck_assert_ptr_nonnull(f = fopen(sbt_d.config, "a"));
	fputs("deny_modules = math\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(kill(sbt_d.pid, SIGHUP), 0);
	ck_assert_msg(sbt_daemon_log_wait(&sbt_d, "pool r: allow_modules or "
	    "deny_modules changed", 10000), "no reload line in the log");
	ck_assert(!reload_sqrt_refused());
	params = sbt_list(sb_str("r"), NULL);
	rc = sb_request(c, "worker.restart", params, &r, &err);
	sb_value_free(params);
	sb_value_free(r);
	sbt_ok("worker.restart", rc, err);
	deadline = sbt_now_ms() + 15000;
	while (!(refused = reload_sqrt_refused()) && sbt_now_ms() < deadline)
		usleep(100000);
	ck_assert_msg(refused, "math still allowed after worker.restart");
	sb_client_close(c);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("policy");

	sbt_tcase_add_daemon(tc, POLICY_CONFIG);
	sbt_tcase_add_client(tc);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_no_lists);
	tcase_add_test(tc, test_status_lists);
	tcase_add_test(tc, test_allowed_calls);
	tcase_add_test(tc, test_allow_list_miss);
	tcase_add_test(tc, test_allow_submodule_only);
	tcase_add_test(tc, test_deny_list);
	tcase_add_test(tc, test_get_path_into_refused);
	tcase_add_test(tc, test_attr_into_refused);
	tcase_add_test(tc, test_indirect_ref);
	tcase_add_test(tc, test_indirect_ref_allow);
	tcase_add_test(tc, test_deny_wins);
	tcase_add_test(tc, test_config_check);
	tcase_add_test(tc, test_reload);	/* last: it changes pool r */
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(policy_suite()));
}
