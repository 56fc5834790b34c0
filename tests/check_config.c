/*
 * check_config.c: unit tests of the daemon's config file parsing: the
 * built-in defaults, every key of every section, durations and sizes, and
 * bad values reported with the file and line.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "scan.h"

static char cfg_path[64];

/* Write text to a fresh temporary file; its path is in cfg_path. */
static const char *
cfg_write(const char *text)
{
	FILE *f;
	int fd;

	snprintf(cfg_path, sizeof cfg_path, "/tmp/sbcfg-XXXXXX");
	fd = mkstemp(cfg_path);
	ck_assert_int_ne(fd, -1);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return (cfg_path);
}

/* Load text; the config must be valid. */
static struct config *
cfg_ok(const char *text)
{
	struct config *c;
	char *err = NULL;

	c = config_load(cfg_write(text), &err);
	unlink(cfg_path);
	if (c == NULL)
		ck_abort_msg("unexpected error: %s", err);
	ck_assert_ptr_null(err);
	return (c);
}

/* Load text; it must fail with an error that contains ":LINE: " and want. */
static void
cfg_bad(const char *text, int line, const char *want)
{
	struct config *c;
	char *err = NULL, at[96];

	c = config_load(cfg_write(text), &err);
	unlink(cfg_path);
	ck_assert_msg(c == NULL, "accepted: %s", text);
	ck_assert_ptr_nonnull(err);
	snprintf(at, sizeof at, "%s:%d: ", cfg_path, line);
	ck_assert_msg(strncmp(err, at, strlen(at)) == 0,
	    "error '%s' does not start with '%s'", err, at);
	ck_assert_msg(strstr(err, want) != NULL,
	    "error '%s' does not mention '%s'", err, want);
	free(err);
}

START_TEST(defaults_without_file)
{
	struct config *c;
	const struct pool_config *pc;
	char *err = NULL;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	c = config_load(NULL, &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(c->file);
	ck_assert_ptr_null(c->socket);
	ck_assert_uint_eq(c->socket_mode, 0660);
	ck_assert_ptr_null(c->socket_group);
	ck_assert_uint_eq(c->max_message_size, 64u << 20);
	ck_assert_uint_eq(c->max_depth, SB_SCAN_DEFAULT_DEPTH);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	ck_assert_ptr_null(c->worker);
	ck_assert_uint_eq(c->idle_timeout, 0);
	ck_assert_uint_eq(c->max_lifetime, 0);
	ck_assert_uint_eq(c->cleanup_timeout, 10000);
	ck_assert_uint_eq(c->max_refs_per_session, 100000);
	ck_assert_uint_eq(c->max_sessions_per_uid, 1000);
	ck_assert_uint_eq(c->max_sessions, 10000);
	ck_assert_uint_eq(config_find_profile(c, "default")->ms, 120000);
	ck_assert_uint_eq(config_find_profile(c, "streaming")->ms, 120000);
	ck_assert_uint_eq(config_find_profile(c, "ml_inference")->ms, 600000);
	ck_assert_uint_eq(config_find_profile(c, "batch_job")->ms, 0);
	ck_assert_ptr_null(config_find_profile(c, "nope"));
	ck_assert_uint_eq(c->stream_idle, 30 * 60000);
	ck_assert_uint_eq(c->grace, 2000);
	ck_assert_uint_eq(c->npools, 1);
	pc = config_find_pool(c, "default");
	ck_assert_ptr_nonnull(pc);
	ck_assert_uint_eq(pc->size, cpus < 1 ? 1 : (unsigned)cpus);
	ck_assert_int_eq(pc->affinity, AFFINITY_STRICT_QUEUE);
	ck_assert_uint_eq(pc->queue_limit, 1000);
	ck_assert_uint_eq(pc->path.n, 0);
	ck_assert_uint_eq(pc->preload.n, 0);
	config_free(c);
}
END_TEST

START_TEST(empty_file_is_defaults)
{
	struct config *c = cfg_ok("; nothing here\n\n");

	ck_assert_ptr_nonnull(c->file);
	ck_assert_uint_eq(c->npools, 1);
	ck_assert_uint_eq(c->max_depth, SB_SCAN_DEFAULT_DEPTH);
	config_free(c);
}
END_TEST

START_TEST(every_key)
{
	struct config *c = cfg_ok(
	    "[daemon]\n"
	    "socket = /run/x/sb.sock\n"
	    "socket_mode = 0600\n"
	    "socket_group = staff          ; group\n"
	    "max_message_size = 16M\n"
	    "max_depth = 16\n"
	    "log_level = debug\n"
	    "worker = /opt/sb/worker\n"
	    "\n[sessions]\n"
	    "idle_timeout = 5m\n"
	    "max_lifetime = 2h\n"
	    "cleanup_timeout = 500ms\n"
	    "max_refs_per_session = 7\n"
	    "max_sessions_per_uid = 8\n"
	    "max_sessions = 9\n"
	    "\n[timeouts]\n"
	    "default = 30\n"
	    "streaming = 45s\n"
	    "stream_idle = 10m\n"
	    "ml_inference = 1h\n"
	    "batch_job = 0\n"
	    "grace = 250ms\n"
	    "nightly = 3h\n"
	    "\n[pool default]\n"
	    "size = 3\n"
	    "\n[pool gpu]\n"
	    "size = 1\n"
	    "path = /srv/app\n"
	    "path = /srv/lib\n"
	    "venv = /srv/venv\n"
	    "env = HF_HOME=/srv/hf\n"
	    "env = CUDA_VISIBLE_DEVICES=0\n"
	    "preload = numpy, json ,  math\n"
	    "affinity = hint\n"
	    "queue_limit = 5\n"
	    "max_requests = 100\n"
	    "max_rss = 2048\n"
	    "max_age = 1h\n"
	    "drain_timeout = 90s\n");
	const struct pool_config *pc;

	ck_assert_str_eq(c->socket, "/run/x/sb.sock");
	ck_assert_uint_eq(c->socket_mode, 0600);
	ck_assert_str_eq(c->socket_group, "staff");
	ck_assert_uint_eq(c->max_message_size, 16u << 20);
	ck_assert_uint_eq(c->max_depth, 16);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(c->worker, "/opt/sb/worker");
	ck_assert_uint_eq(c->idle_timeout, 300000);
	ck_assert_uint_eq(c->max_lifetime, 7200000);
	ck_assert_uint_eq(c->cleanup_timeout, 500);
	ck_assert_uint_eq(c->max_refs_per_session, 7);
	ck_assert_uint_eq(c->max_sessions_per_uid, 8);
	ck_assert_uint_eq(c->max_sessions, 9);
	ck_assert_uint_eq(config_find_profile(c, "default")->ms, 30000);
	ck_assert_uint_eq(config_find_profile(c, "streaming")->ms, 45000);
	ck_assert_uint_eq(config_find_profile(c, "ml_inference")->ms, 3600000);
	ck_assert_uint_eq(config_find_profile(c, "batch_job")->ms, 0);
	ck_assert_uint_eq(config_find_profile(c, "nightly")->ms, 10800000);
	ck_assert_uint_eq(c->stream_idle, 600000);
	ck_assert_uint_eq(c->grace, 250);

	ck_assert_uint_eq(c->npools, 2);
	ck_assert_uint_eq(config_find_pool(c, "default")->size, 3);
	pc = config_find_pool(c, "gpu");
	ck_assert_ptr_nonnull(pc);
	ck_assert_uint_eq(pc->size, 1);
	ck_assert_uint_eq(pc->path.n, 2);
	ck_assert_str_eq(pc->path.v[0], "/srv/app");
	ck_assert_str_eq(pc->path.v[1], "/srv/lib");
	ck_assert_str_eq(pc->venv, "/srv/venv");
	ck_assert_uint_eq(pc->env.n, 2);
	ck_assert_str_eq(pc->env.v[1], "CUDA_VISIBLE_DEVICES=0");
	ck_assert_uint_eq(pc->preload.n, 3);
	ck_assert_str_eq(pc->preload.v[0], "numpy");
	ck_assert_str_eq(pc->preload.v[1], "json");
	ck_assert_str_eq(pc->preload.v[2], "math");
	ck_assert_int_eq(pc->affinity, AFFINITY_HINT);
	ck_assert_uint_eq(pc->queue_limit, 5);
	ck_assert_uint_eq(pc->max_requests, 100);
	ck_assert_uint_eq(pc->max_rss, 2048);
	ck_assert_uint_eq(pc->max_age, 3600000);
	ck_assert_uint_eq(pc->drain_timeout, 90000);
	ck_assert_uint_eq(config_find_pool(c, "default")->drain_timeout,
	    600000);
	config_free(c);
}
END_TEST

START_TEST(default_pool_always_first)
{
	struct config *c = cfg_ok("[pool other]\nsize = 1\n");

	ck_assert_uint_eq(c->npools, 2);
	ck_assert_str_eq(c->pools[0].name, "default");
	ck_assert_str_eq(c->pools[1].name, "other");
	config_free(c);
}
END_TEST

START_TEST(durations)
{
	uint64_t v;

	ck_assert_int_eq(config_parse_duration("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(config_parse_duration("15", &v), 0);
	ck_assert_uint_eq(v, 15000);
	ck_assert_int_eq(config_parse_duration("250ms", &v), 0);
	ck_assert_uint_eq(v, 250);
	ck_assert_int_eq(config_parse_duration("2s", &v), 0);
	ck_assert_uint_eq(v, 2000);
	ck_assert_int_eq(config_parse_duration("30m", &v), 0);
	ck_assert_uint_eq(v, 1800000);
	ck_assert_int_eq(config_parse_duration("2h", &v), 0);
	ck_assert_uint_eq(v, 7200000);
	ck_assert_int_eq(config_parse_duration("10 s", &v), 0);
	ck_assert_uint_eq(v, 10000);
	ck_assert_int_eq(config_parse_duration("", &v), -1);
	ck_assert_int_eq(config_parse_duration("s", &v), -1);
	ck_assert_int_eq(config_parse_duration("-1", &v), -1);
	ck_assert_int_eq(config_parse_duration("1d", &v), -1);
	ck_assert_int_eq(config_parse_duration("1.5s", &v), -1);
	ck_assert_int_eq(config_parse_duration("99999999999999999999", &v),
	    -1);
	ck_assert_int_eq(config_parse_duration("18446744073709551615h", &v),
	    -1);
}
END_TEST

START_TEST(sizes)
{
	uint64_t v;

	ck_assert_int_eq(config_parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(config_parse_size("512K", &v), 0);
	ck_assert_uint_eq(v, 512u << 10);
	ck_assert_int_eq(config_parse_size("64M", &v), 0);
	ck_assert_uint_eq(v, 64u << 20);
	ck_assert_int_eq(config_parse_size("2G", &v), 0);
	ck_assert_uint_eq(v, 2ULL << 30);
	ck_assert_int_eq(config_parse_size("1k", &v), 0);
	ck_assert_uint_eq(v, 1024);
	ck_assert_int_eq(config_parse_size("", &v), -1);
	ck_assert_int_eq(config_parse_size("M", &v), -1);
	ck_assert_int_eq(config_parse_size("1T", &v), -1);
	ck_assert_int_eq(config_parse_size("-5M", &v), -1);
	ck_assert_int_eq(config_parse_size("99999999999999999999G", &v), -1);
}
END_TEST

START_TEST(bad_values_name_the_line)
{
	cfg_bad("[daemon]\nmax_depth = 0\n", 2, "max_depth");
	cfg_bad("[daemon]\nmax_depth = 1000\n", 2, "max_depth");
	cfg_bad("\n\n[daemon]\nmax_message_size = lots\n", 4,
	    "max_message_size");
	cfg_bad("[daemon]\nmax_message_size = 10\n", 2, "max_message_size");
	cfg_bad("[daemon]\nsocket_mode = 0999\n", 2, "socket_mode");
	cfg_bad("[daemon]\nsocket = relative.sock\n", 2, "absolute");
	cfg_bad("[daemon]\nworker = worker\n", 2, "absolute");
	cfg_bad("[daemon]\nlog_level = loud\n", 2, "log_level");
	cfg_bad("[daemon]\nfrobnicate = 1\n", 2, "unknown key 'frobnicate'");
	cfg_bad("[sessions]\nidle_timeout = soon\n", 2, "idle_timeout");
	cfg_bad("[sessions]\nmax_sessions = 0\n", 2, "max_sessions");
	cfg_bad("[sessions]\nmax_refs_per_session = -3\n", 2,
	    "max_refs_per_session");
	cfg_bad("[timeouts]\ndefault = 5x\n", 2, "default");
	cfg_bad("[timeouts]\ngrace = 1.5s\n", 2, "grace");
	cfg_bad("[pool default]\nsize = 0\n", 2, "size");
	cfg_bad("[pool default]\nsize = many\n", 2, "size");
	cfg_bad("[pool default]\naffinity = sticky\n", 2, "affinity");
	cfg_bad("[pool default]\nenv = NOVALUE\n", 2, "NAME=VALUE");
	cfg_bad("[pool default]\nqueue_limit = 0\n", 2, "queue_limit");
	cfg_bad("[pool default]\nwhatever = 1\n", 2, "unknown key");
	cfg_bad("[pool bad/name]\nsize = 1\n", 2, "pool name");
	cfg_bad("[mystery]\nkey = 1\n", 2, "unknown section");
	cfg_bad("[daemon]\nthis line has no equals sign\n", 2,
	    "syntax error");
}
END_TEST

START_TEST(first_error_wins)
{
	cfg_bad("[daemon]\nmax_depth = 16\nlog_level = x\nmax_depth = 0\n", 3,
	    "log_level");
	cfg_bad("[daemon]\nno equals\nlog_level = x\n", 2, "syntax error");
	cfg_bad("[daemon]\nlog_level = x\nno equals\n", 2, "log_level");
}
END_TEST

START_TEST(missing_file)
{
	char *err = NULL;

	ck_assert_ptr_null(config_load("/nonexistent/snakebridged.conf",
	    &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/snakebridged.conf"));
	free(err);
}
END_TEST

/* allow_modules and deny_modules: comma lists, repeatable, names checked. */
START_TEST(module_lists)
{
	struct config *c = cfg_ok("[pool p]\n"
	    "allow_modules = json, os.path ,_priv.x2\n"
	    "allow_modules = math\n"
	    "deny_modules = os\n");
	const struct pool_config *pc = config_find_pool(c, "p");

	ck_assert_uint_eq(pc->allow_modules.n, 4);
	ck_assert_str_eq(pc->allow_modules.v[0], "json");
	ck_assert_str_eq(pc->allow_modules.v[1], "os.path");
	ck_assert_str_eq(pc->allow_modules.v[2], "_priv.x2");
	ck_assert_str_eq(pc->allow_modules.v[3], "math");
	ck_assert_uint_eq(pc->deny_modules.n, 1);
	ck_assert_str_eq(pc->deny_modules.v[0], "os");
	ck_assert_uint_eq(config_find_pool(c, "default")->allow_modules.n, 0);
	ck_assert_uint_eq(config_find_pool(c, "default")->deny_modules.n, 0);
	config_free(c);
	c = cfg_ok("[pool default]\nallow_modules =\ndeny_modules = , ,\n");
	ck_assert_uint_eq(c->pools[0].allow_modules.n, 0);
	ck_assert_uint_eq(c->pools[0].deny_modules.n, 0);
	config_free(c);
}
END_TEST

START_TEST(module_lists_bad_names)
{
	static const char *const bad[] = {
		"1os", "os..path", ".os", "os.", "os-x", "os path", "os/path",
		"os.1x", "os;x", "\xc3\xa9t\xc3\xa9", "*"
	};
	char text[128];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "[pool p]\nsize = 1\n"
		    "allow_modules = json, %s\n", bad[i]);
		cfg_bad(text, 3, "allow_modules: bad module name");
		snprintf(text, sizeof text, "[pool p]\ndeny_modules = %s\n",
		    bad[i]);
		cfg_bad(text, 2, "deny_modules: bad module name");
	}
}
END_TEST

START_TEST(affinity_names)
{
	enum affinity a;

	ck_assert_int_eq(config_parse_affinity("strict_fail_fast", &a), 0);
	ck_assert_int_eq(a, AFFINITY_STRICT_FAIL_FAST);
	ck_assert_str_eq(config_affinity_name(AFFINITY_HINT), "hint");
	ck_assert_int_eq(config_parse_affinity("Hint", &a), -1);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, defaults_without_file);
	tcase_add_test(tc, empty_file_is_defaults);
	tcase_add_test(tc, every_key);
	tcase_add_test(tc, default_pool_always_first);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, bad_values_name_the_line);
	tcase_add_test(tc, first_error_wins);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, affinity_names);
	tcase_add_test(tc, module_lists);
	tcase_add_test(tc, module_lists_bad_names);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
