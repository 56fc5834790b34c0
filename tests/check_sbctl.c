/*
 * check_sbctl.c: sbctl as a user runs it, a child process against a real
 * daemon: what it prints on stdout and stderr and its exit code, for every
 * command, the JSON renderings both ways, refs kept across runs in a named
 * session, and each documented exit code.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"

#define RUN_MAX_ARGS	32

struct run {
	char	*out;
	char	*err;
	int	 code;
};

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof *r);
}

/*
 * Run sbctl with the words given (NULL-terminated), after "-s SOCKET" of
 * the test daemon unless socket is NULL.
 */
static void
run_v(struct run *r, int with_socket, const char *first, va_list ap)
{
	char		*argv[RUN_MAX_ARGS + 4];
	char		 path[PATH_MAX];
	const char	*a;
	size_t		 n = 0;

	snprintf(path, sizeof path, "%s", sbt_builddir_path("sbctl/sbctl"));
	argv[n++] = path;
	if (with_socket) {
		argv[n++] = "-s";
		argv[n++] = sbt_d.socket;
	}
	for (a = first; a != NULL; a = va_arg(ap, const char *)) {
		ck_assert_msg(n < RUN_MAX_ARGS, "too many words");
		argv[n++] = (char *)a;
	}
	argv[n] = NULL;
	memset(r, 0, sizeof *r);
	ck_assert_msg(sbt_run(argv, &r->out, &r->err, &r->code, 0) == 0,
	    "sbctl %s did not finish", first);
}

static void
run(struct run *r, const char *first, ...)
{
	va_list	 ap;

	va_start(ap, first);
	run_v(r, 1, first, ap);
	va_end(ap);
}

static void
run_nosocket(struct run *r, const char *first, ...)
{
	va_list	 ap;

	va_start(ap, first);
	run_v(r, 0, first, ap);
	va_end(ap);
}

/* Exit code 0 and exactly `want` plus a newline on stdout. */
static void
expect_out(const struct run *r, const char *want)
{
	size_t	 len = strlen(r->out);

	ck_assert_msg(r->code == 0, "exit %d, stderr: %s", r->code, r->err);
	ck_assert_msg(len > 0 && r->out[len - 1] == '\n',
	    "no newline after: %s", r->out);
	ck_assert_msg(strncmp(r->out, want, len - 1) == 0 &&
	    strlen(want) == len - 1, "stdout %s, want %s", r->out, want);
	ck_assert_msg(r->err[0] == '\0', "stderr: %s", r->err);
}

/* Run and expect stdout; the words end with NULL. */
#define EXPECT(want, ...) do {						\
	struct run r_;							\
	run(&r_, __VA_ARGS__, (const char *)NULL);			\
	expect_out(&r_, (want));					\
	run_free(&r_);							\
} while (0)

/*
 * Exit code `code` and, on stderr, the one-line error JSON of type `type`
 * (message and traceback keys present). Returns it for more checks.
 */
static json_t *
expect_error(const struct run *r, int code, const char *type)
{
	json_t		*j;
	json_error_t	 jerr;

	ck_assert_msg(r->code == code, "exit %d, want %d; stdout %s stderr %s",
	    r->code, code, r->out, r->err);
	ck_assert_msg(r->out[0] == '\0', "stdout: %s", r->out);
	j = json_loads(r->err, 0, &jerr);
	ck_assert_msg(j != NULL, "stderr is not JSON: %s", r->err);
	ck_assert_msg(json_is_string(json_object_get(j, "message")),
	    "no message: %s", r->err);
	ck_assert_msg(json_object_get(j, "traceback") != NULL,
	    "no traceback key: %s", r->err);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), type);
	return (j);
}

/*
 * The token of the ref sbctl printed, checking the whole line against
 * {"$ref": TOKEN, "type": type, "repr": repr} (repr NULL: any text).
 */
static char *
expect_ref(const struct run *r, const char *type, const char *repr)
{
	json_t		*j;
	json_error_t	 jerr;
	char		*token;
	void		*iter;

	ck_assert_msg(r->code == 0, "exit %d, stderr: %s", r->code, r->err);
	j = json_loads(r->out, 0, &jerr);
	ck_assert_msg(j != NULL && json_object_size(j) == 3,
	    "not a ref: %s", r->out);
	iter = json_object_iter(j);
	ck_assert_str_eq(json_object_iter_key(iter), "$ref");
	ck_assert_msg(json_is_string(json_object_iter_value(iter)),
	    "token not a string: %s", r->out);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), type);
	ck_assert_msg(json_is_string(json_object_get(j, "repr")), "no repr: %s",
	    r->out);
	if (repr != NULL)
		ck_assert_str_eq(json_string_value(json_object_get(j, "repr")),
		    repr);
	token = malloc(strlen(json_string_value(json_object_iter_value(iter)))
	    + 2);
	ck_assert_ptr_nonnull(token);
	token[0] = '@';
	strcpy(token + 1, json_string_value(json_object_iter_value(iter)));
	/* The line is laid out as documented. */
	ck_assert_msg(strncmp(r->out, "{\"$ref\": \"", 10) == 0 &&
	    strstr(r->out, "\", \"type\": \"") != NULL &&
	    strstr(r->out, "\", \"repr\": \"") != NULL, "layout: %s", r->out);
	json_decref(j);
	return (token);
}

START_TEST(test_call_sqrt)
{
	EXPECT("4.0", "call", "math", "sqrt", "16");
	EXPECT("4.0", "--raw", "call", "math", "sqrt", "16");
	EXPECT("1.4142135623730951", "call", "math", "sqrt", "2");
	EXPECT("3", "call", "builtins", "len", "abc");
}
END_TEST

START_TEST(test_get)
{
	EXPECT("3.141592653589793", "get", "math", "pi");
	EXPECT("{\"$float\": \"inf\"}", "get", "math", "inf");
	EXPECT("\"posix\"", "get", "os", "name");
}
END_TEST

START_TEST(test_raw)
{
	EXPECT("\"a\\\"b\\n\"", "call", "sbfixtures", "identity",
	    "\"a\\\"b\\n\"");
	EXPECT("a\"b", "--raw", "call", "sbfixtures", "identity", "\"a\\\"b\"");
	EXPECT("abc", "--raw", "call", "sbfixtures", "identity", "abc");
	EXPECT("[1, 2]", "--raw", "call", "sbfixtures", "identity", "[1,2]");
}
END_TEST

/* An ARG that parses as JSON is that value, otherwise a string. */
START_TEST(test_args_json)
{
	EXPECT("\"{\\\"a\\\": [1, 2]}\"", "call", "json", "dumps",
	    "{\"a\":[1,2]}");
	EXPECT("\"16\"", "call", "sbfixtures", "describe", "16");
	EXPECT("\"'16'\"", "call", "sbfixtures", "describe", "\"16\"");
	EXPECT("\"'abc'\"", "call", "sbfixtures", "describe", "abc");
	EXPECT("\"2.5\"", "call", "sbfixtures", "describe", "2.5");
	EXPECT("\"(True, None)\"", "call", "sbfixtures", "describe",
	    "{\"$tuple\": [true, null]}");
	EXPECT("\"'@x'\"", "call", "sbfixtures", "describe", "\"@x\"");
	EXPECT("\"-3\"", "call", "sbfixtures", "describe", "-3");
	EXPECT("\"'[1, 2'\"", "call", "sbfixtures", "describe", "[1, 2");
	EXPECT("\"123456789012345678901234567890\"", "call", "sbfixtures",
	    "describe", "123456789012345678901234567890");
	EXPECT("\"18446744073709551615\"", "call", "sbfixtures", "describe",
	    "18446744073709551615");
}
END_TEST

START_TEST(test_kwargs)
{
	EXPECT("[3, 2, 1]", "call", "builtins", "sorted", "[3,1,2]", "--kw",
	    "reverse=true");
	EXPECT("[1, 2, 3]", "call", "builtins", "sorted", "--kw=reverse=false",
	    "[3,1,2]");
	EXPECT("\"a-b\"", "call", "sbfixtures", "identity", "--kw",
	    "value=a-b");
	/* After "--" even --kw is positional. */
	EXPECT("\"'--kw'\"", "call", "sbfixtures", "describe", "--", "--kw");
}
END_TEST

/* A ref printed by one run, used by later runs of the same session. */
START_TEST(test_ref_session)
{
	struct run	 r;
	char		*tok, arg[512];

	run(&r, "--session", "t-ref", "call", "sbfixtures", "make_thing", "5",
	    NULL);
	tok = expect_ref(&r, "sbfixtures.Thing", NULL);
	ck_assert_msg(strstr(r.out, "<sbfixtures.Thing object at") != NULL,
	    "repr: %s", r.out);
	run_free(&r);

	EXPECT("5", "--session", "t-ref", "attr", tok, "value");
	EXPECT("\"thing\"", "--session", "t-ref", "attr", tok, "label");
	EXPECT("10", "--session", "t-ref", "method", tok, "double");
	EXPECT("true", "--session", "t-ref", "setattr", tok, "value", "21");
	EXPECT("42", "--session", "t-ref", "method", tok, "double");
	/* The token without '@', and the whole printed object, work too. */
	EXPECT("21", "--session", "t-ref", "attr", tok + 1, "value");
	/* A ref inside JSON arrives as the object. */
	snprintf(arg, sizeof arg, "[{\"$ref\": \"%s\"}]", tok + 1);
	run(&r, "--session", "t-ref", "call", "sbfixtures", "describe", arg,
	    NULL);
	ck_assert_msg(r.code == 0 && strncmp(r.out,
	    "\"[<sbfixtures.Thing object at ", 30) == 0, "describe: %s %s",
	    r.out, r.err);
	run_free(&r);
	EXPECT("true", "--session", "t-ref", "release", tok);
	run(&r, "--session", "t-ref", "attr", tok, "value", NULL);
	json_decref(expect_error(&r, 1, "snakebridge.RefNotFound"));
	run_free(&r);
	/* Releasing twice is harmless. */
	EXPECT("true", "--session", "t-ref", "release", tok);
	EXPECT("true", "session", "close", "t-ref");
	free(tok);
}
END_TEST

START_TEST(test_ref_path)
{
	struct run	 r;
	char		*tok;

	run(&r, "--session", "t-path", "call", "pathlib", "Path", "/tmp",
	    NULL);
	tok = expect_ref(&r, "pathlib.PosixPath", "PosixPath('/tmp')");
	run_free(&r);
	EXPECT("\"tmp\"", "--session", "t-path", "attr", tok, "name");
	EXPECT("true", "--session", "t-path", "method", tok, "exists");
	EXPECT("\"/tmp\"", "--session", "t-path", "str", tok);
	EXPECT("\"PosixPath('/tmp')\"", "--session", "t-path", "repr", tok);
	EXPECT("true", "session", "close", "t-path");
	free(tok);
}
END_TEST

/* The one-ref commands, getitem and iteration on a range. */
START_TEST(test_ref_range)
{
	struct run	 r;
	char		*tok, *it;

	run(&r, "--session", "t-range", "call", "builtins", "range", "5", NULL);
	tok = expect_ref(&r, "range", "range(0, 5)");
	run_free(&r);
	EXPECT("5", "--session", "t-range", "len", tok);
	EXPECT("\"range(0, 5)\"", "--session", "t-range", "repr", tok);
	EXPECT("\"range(0, 5)\"", "--session", "t-range", "str", tok);
	EXPECT("2", "--session", "t-range", "getitem", tok, "2");
	EXPECT("4", "--session", "t-range", "getitem", tok, "-1");
	run(&r, "--session", "t-range", "dir", tok, NULL);
	ck_assert_int_eq(r.code, 0);
	ck_assert_msg(r.out[0] == '[' && strstr(r.out, "\"count\"") != NULL,
	    "dir: %s", r.out);
	run_free(&r);
	run(&r, "--session", "t-range", "call", "builtins", "iter", tok, NULL);
	it = expect_ref(&r, "range_iterator", NULL);
	run_free(&r);
	EXPECT("[[0], false]", "--session", "t-range", "next", it);
	EXPECT("[[1, 2], false]", "--session", "t-range", "next", it, "2");
	run(&r, "--session", "t-range", "next", it, "10", NULL);
	ck_assert_int_eq(r.code, 0);
	ck_assert_msg(strncmp(r.out, "[[3, 4], ", 9) == 0, "next: %s", r.out);
	run_free(&r);
	EXPECT("true", "--session", "t-range", "release", tok, it);
	EXPECT("true", "session", "close", "t-range");
	free(tok);
	free(it);
}
END_TEST

/* Every ref of a result is printed with its repr. */
START_TEST(test_ref_many)
{
	struct run	 r;
	char		*tok, arg[512];
	const char	*p;
	int		 n = 0;

	run(&r, "call", "sbfixtures", "with_lambda", NULL);
	ck_assert_msg(r.code == 0 && strncmp(r.out, "{\"f\": {\"$ref\": \"",
	    16) == 0 && strstr(r.out, "\"type\": \"function\", \"repr\": "
	    "\"<function with_lambda.<locals>.<lambda> at ") != NULL &&
	    strstr(r.out, "}, \"n\": 42}\n") != NULL, "with_lambda: %s %s",
	    r.out, r.err);
	run_free(&r);

	run(&r, "--session", "t-many", "call", "pathlib", "Path", "/usr", NULL);
	tok = expect_ref(&r, "pathlib.PosixPath", "PosixPath('/usr')");
	run_free(&r);
	snprintf(arg, sizeof arg, "[{\"$ref\": \"%s\"}, 1, [\"%s\"]]",
	    tok + 1, tok);
	run(&r, "--session", "t-many", "call", "sbfixtures", "identity", arg,
	    NULL);
	ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
	for (p = r.out; (p = strstr(p, "\"repr\": \"PosixPath('/usr')\"")) !=
	    NULL; p++)
		n++;
	ck_assert_msg(n == 1 && strstr(r.out, ", 1, [\"@") != NULL,
	    "identity: %s", r.out);
	run_free(&r);
	EXPECT("true", "session", "close", "t-many");
	free(tok);
}
END_TEST

/* The environment names the socket when -s does not. */
START_TEST(test_env_socket)
{
	struct run	 r;

	ck_assert_int_eq(setenv("SNAKEBRIDGE_SOCKET", sbt_d.socket, 1), 0);
	run_nosocket(&r, "ping", NULL);
	expect_out(&r, "\"pong\"");
	run_free(&r);
	unsetenv("SNAKEBRIDGE_SOCKET");
}
END_TEST

/* Options that the daemon refuses fail like any request. */
START_TEST(test_bad_options)
{
	struct run	 r;

	run(&r, "--pool", "no-such-pool", "call", "math", "sqrt", "4", NULL);
	json_decref(expect_error(&r, 1, "snakebridge.UnknownPool"));
	run_free(&r);
	run(&r, "--profile", "no-such-profile", "call", "math", "sqrt", "4",
	    NULL);
	json_decref(expect_error(&r, 1, "snakebridge.UnknownProfile"));
	run_free(&r);
	EXPECT("2.0", "--profile", "batch_job", "--pool", "default",
	    "--timeout", "0", "call", "math", "sqrt", "4");
}
END_TEST

START_TEST(test_python_error)
{
	struct run	 r;
	json_t		*j;
	const char	*tb;

	run(&r, "call", "math", "sqrt", "-1", NULL);
	j = expect_error(&r, 1, "ValueError");
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
	    "math domain error");
	tb = json_string_value(json_object_get(j, "traceback"));
	ck_assert_msg(tb != NULL && strstr(tb, "ValueError: math domain "
	    "error") != NULL, "traceback: %s", r.err);
	ck_assert_msg(strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
	    "not one line: %s", r.err);
	json_decref(j);
	run_free(&r);

	run(&r, "call", "no_such_module_xyz", "f", NULL);
	json_decref(expect_error(&r, 1, "ModuleNotFoundError"));
	run_free(&r);
	run(&r, "get", "math", "no_such_attr", NULL);
	json_decref(expect_error(&r, 1, "AttributeError"));
	run_free(&r);
}
END_TEST

START_TEST(test_usage)
{
	static const char *cases[][6] = {
		{ NULL },
		{ "frobnicate", NULL },
		{ "call", "math", NULL },
		{ "get", "math", "pi", "e", NULL },
		{ "--timeout", "abc", "ping", NULL },
		{ "--bogus", "ping", NULL },
		{ "attr", "!!not-a-token!!", "x", NULL },
		{ "next", "@AQ", "zero", NULL },
		{ "call", "m", "f", "--kw", "novalue", NULL },
		{ "call", "m", "f", "{\"$bytes\": 5}", NULL },
		{ "session", "frob", NULL },
		{ "session", "close", NULL },
	};
	struct run	 r;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i][0] == NULL)
			run(&r, NULL);
		else
			run(&r, cases[i][0], cases[i][1], cases[i][2],
			    cases[i][3], cases[i][4], NULL);
		ck_assert_msg(r.code == 2, "case %zu: exit %d (%s)", i, r.code,
		    r.err);
		ck_assert_msg(strncmp(r.err, "sbctl: ", 7) == 0 &&
		    strstr(r.err, "usage: sbctl") != NULL, "case %zu: %s", i,
		    r.err);
		ck_assert_msg(r.out[0] == '\0', "case %zu: %s", i, r.out);
		run_free(&r);
	}
}
END_TEST

START_TEST(test_unreachable)
{
	struct run	 r;
	char		 path[PATH_MAX + 16];

	snprintf(path, sizeof path, "%s/nothing.sock", sbt_d.dir);
	run_nosocket(&r, "-s", path, "call", "math", "sqrt", "16", NULL);
	ck_assert_msg(r.code == 3, "exit %d: %s", r.code, r.err);
	ck_assert_msg(strstr(r.err, "nothing.sock") != NULL, "%s", r.err);
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}
END_TEST

START_TEST(test_timeout)
{
	struct run	 r;
	int64_t		 start = sbt_now_ms();

	run(&r, "--timeout", "300", "call", "time", "sleep", "5", NULL);
	json_decref(expect_error(&r, 4, "snakebridge.Timeout"));
	/* Answered well before the sleep would have ended. */
	ck_assert_msg(sbt_now_ms() - start < 4500, "took %lld ms",
	    (long long)(sbt_now_ms() - start));
	run_free(&r);
}
END_TEST

START_TEST(test_render_out)
{
	EXPECT("{\"$bytes\": \"AAH/\"}", "call", "builtins", "bytes",
	    "[0, 1, 255]");
	EXPECT("{\"$bytes\": \"\"}", "call", "builtins", "bytes");
	EXPECT("{\"$tuple\": [1, \"a\", {\"$tuple\": []}]}", "call",
	    "builtins", "tuple", "[1, \"a\", {\"$tuple\": []}]");
	EXPECT("{\"$set\": [3]}", "call", "builtins", "set", "[3, 3]");
	EXPECT("{\"$frozenset\": [\"x\"]}", "call", "builtins", "frozenset",
	    "[\"x\"]");
	EXPECT("{\"$int\": \"1267650600228229401496703205376\"}", "call",
	    "builtins", "pow", "2", "100");
	EXPECT("{\"$int\": \"-1267650600228229401496703205376\"}", "call",
	    "operator", "neg", "1267650600228229401496703205376");
	EXPECT("18446744073709551615", "call", "operator", "sub",
	    "18446744073709551616", "1");
	EXPECT("{\"$complex\": [1.0, -2.5]}", "call", "builtins", "complex",
	    "1", "-2.5");
	EXPECT("{\"$ndarray\": {\"dtype\": \"<i8\", \"shape\": [3], "
	    "\"data\": [0, 1, 2]}}", "call", "numpy", "arange", "3");
	EXPECT("{\"$ndarray\": {\"dtype\": \"<f8\", \"shape\": [2], "
	    "\"data\": [2.0, 3.0]}}", "call", "numpy", "mean",
	    "[[1, 2], [3, 4]]", "--kw", "axis=0");
	EXPECT("{\"$ndarray\": {\"dtype\": \"<f4\", \"shape\": [2, 1], "
	    "\"data\": [0.1, -1.5]}}", "call", "numpy", "array",
	    "[[0.1], [-1.5]]", "--kw", "dtype=float32");
	EXPECT("{\"$ndarray\": {\"dtype\": \"|b1\", \"shape\": [2], "
	    "\"data\": [true, false]}}", "call", "numpy", "array",
	    "[true, false]");
	EXPECT("{\"$ndarray\": {\"dtype\": \">u2\", \"shape\": [1], "
	    "\"data\": [65535]}}", "call", "numpy", "array", "[65535]",
	    "--kw", "dtype=>u2");
	EXPECT("{\"$float\": \"nan\"}", "call", "builtins", "float", "nan");
	EXPECT("{\"$float\": \"-inf\"}", "call", "builtins", "float", "-inf");
	EXPECT("1e+16", "call", "builtins", "float", "1e16");
	EXPECT("{\"$map\": [[1, \"a\"], [\"b\", 2]]}", "call", "builtins",
	    "dict", "{\"$map\": [[1, \"a\"], [\"b\", 2]]}");
	EXPECT("{\"a\": {\"$tuple\": [1]}, \"b\": null}", "call",
	    "sbfixtures", "identity",
	    "{\"a\": {\"$tuple\": [1]}, \"b\": null}");
	EXPECT("{\"$date\": \"2024-05-01\"}", "call", "datetime", "date",
	    "2024", "5", "1");
	EXPECT("{\"$decimal\": \"-1.50\"}", "call", "decimal", "Decimal",
	    "\"-1.50\"");
	EXPECT("\"\\u0000\\u001f\"", "call", "sbfixtures",
	    "identity", "\"\\u0000\\u001f\"");
}
END_TEST

/* Renderings read back as the Python values they stand for. */
START_TEST(test_render_in)
{
	struct run	 r;

	EXPECT("\"b'\\\\x00\\\\x01\\\\xff'\"", "call", "sbfixtures",
	    "describe", "{\"$bytes\": \"AAH/\"}");
	EXPECT("\"{1}\"", "call", "sbfixtures", "describe", "{\"$set\": [1]}");
	EXPECT("\"frozenset({1})\"", "call", "sbfixtures", "describe",
	    "{\"$frozenset\": [1]}");
	EXPECT("\"(1+2j)\"", "call", "sbfixtures", "describe",
	    "{\"$complex\": [1, 2]}");
	EXPECT("\"nan\"", "call", "sbfixtures", "describe",
	    "{\"$float\": \"nan\"}");
	EXPECT("\"{1: 'a'}\"", "call", "sbfixtures", "describe",
	    "{\"$map\": [[1, \"a\"]]}");
	EXPECT("\"{'$int': 1, 'x': 2}\"", "call", "sbfixtures", "describe",
	    "{\"$int\": 1, \"x\": 2}");
	EXPECT("\"datetime.date(2024, 5, 1)\"", "call", "sbfixtures",
	    "describe", "{\"$date\": \"2024-05-01\"}");
	EXPECT("3.5", "call", "numpy", "sum", "{\"$ndarray\": {\"dtype\": "
	    "\"<f8\", \"shape\": [2], \"data\": [1.5, 2.0]}}");
	/* Big-endian elements arrive as the same numbers. */
	run(&r, "call", "sbfixtures", "describe", "{\"$ndarray\": {\"dtype\": "
	    "\">i2\", \"data\": [1, 2, -3]}}", NULL);
	ck_assert_msg(r.code == 0 && strncmp(r.out, "\"array([ 1,  2, -3], "
	    "dtype=", 24) == 0, "describe: %s %s", r.out, r.err);
	run_free(&r);
	/* Output fed back gives the same output. */
	EXPECT("{\"$tuple\": [1, {\"$bytes\": \"AAH/\"}, {\"$set\": [2]}, "
	    "{\"$map\": [[{\"$tuple\": [1, 2]}, 3.0]]}]}", "call",
	    "sbfixtures", "identity", "{\"$tuple\": [1, {\"$bytes\": "
	    "\"AAH/\"}, {\"$set\": [2]}, {\"$map\": [[{\"$tuple\": [1, 2]}, "
	    "3.0]]}]}");
}
END_TEST

START_TEST(test_ping_status)
{
	struct run	 r;
	json_t		*j;
	json_error_t	 jerr;

	EXPECT("\"pong\"", "ping");
	EXPECT("pong", "--raw", "ping");
	run(&r, "status", "--json", NULL);
	ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(json_is_object(j), "status: %s", r.out);
	json_decref(j);
	run_free(&r);
}
END_TEST

START_TEST(test_session_cmds)
{
	struct run	 r;
	json_t		*j;
	json_error_t	 jerr;

	run(&r, "session", "open", "t-sess", "--idle-timeout", "60", NULL);
	ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(j != NULL, "open: %s", r.out);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")),
	    "t-sess");
	json_decref(j);
	run_free(&r);

	run(&r, "--session", "t-sess", "session", "info", NULL);
	ck_assert_msg(r.code == 0 && strstr(r.out, "\"t-sess\"") != NULL,
	    "info: %d %s %s", r.code, r.out, r.err);
	run_free(&r);
	run(&r, "session", "list", NULL);
	ck_assert_msg(r.code == 0 && r.out[0] == '[' &&
	    strstr(r.out, "\"t-sess\"") != NULL, "list: %s %s", r.out, r.err);
	run_free(&r);
	EXPECT("true", "session", "close", "t-sess");
	run(&r, "session", "info", "t-sess", NULL);
	json_decref(expect_error(&r, 1, "snakebridge.SessionNotFound"));
	run_free(&r);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sbctl");
	TCase	*tc = tcase_create("sbctl");

	sbt_tcase_add_daemon(tc, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_call_sqrt);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_raw);
	tcase_add_test(tc, test_args_json);
	tcase_add_test(tc, test_kwargs);
	tcase_add_test(tc, test_ref_session);
	tcase_add_test(tc, test_ref_path);
	tcase_add_test(tc, test_ref_range);
	tcase_add_test(tc, test_ref_many);
	tcase_add_test(tc, test_env_socket);
	tcase_add_test(tc, test_bad_options);
	tcase_add_test(tc, test_python_error);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_render_out);
	tcase_add_test(tc, test_render_in);
	tcase_add_test(tc, test_ping_status);
	tcase_add_test(tc, test_session_cmds);
	suite_add_tcase(s, tc);
	return (sbt_run_suite(s));
}
