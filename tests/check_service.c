/*
 * check_service.c: snakebridge as an operator installs it: the key lines of
 * the systemd units, and examples/hello.c built against the installed
 * library with pkg-config and run against a real daemon. The installed tree
 * is the one tests/service-install.sh leaves in tests/service-dest.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SVC_UNIT	"systemd/snakebridged.service"
#define SVC_SOCKET	"systemd/snakebridged.socket"
#define SVC_SYSUSERS	"systemd/snakebridged.sysusers"
#define SVC_DEST	"tests/service-dest"

/* Read a whole file, NUL-terminated; fails the test if it cannot. */
static char *
svc_read(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 len;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert(fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0);
	rewind(f);
	ck_assert((buf = malloc((size_t)len + 1)) != NULL);
	ck_assert(fread(buf, 1, (size_t)len, f) == (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return (buf);
}

/*
 * Whether the unit text has exactly the line "key=value" (value NULL: any
 * value) in [section]. Comments and other sections do not count.
 */
static int
svc_has_line(const char *text, const char *section, const char *key,
    const char *value)
{
	const char	*p = text, *eol;
	char		 line[1024];
	size_t		 n, klen = strlen(key);
	int		 in = 0;

	for (; *p != '\0'; p = *eol == '\0' ? eol : eol + 1) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		n = (size_t)(eol - p);
		if (n >= sizeof line)
			continue;
		memcpy(line, p, n);
		line[n] = '\0';
		if (line[0] == '[') {
			in = strncmp(line + 1, section, strlen(section)) == 0 &&
			    line[1 + strlen(section)] == ']';
			continue;
		}
		if (!in || strncmp(line, key, klen) != 0 || line[klen] != '=')
			continue;
		if (value == NULL || strcmp(line + klen + 1, value) == 0)
			return (1);
	}
	return (0);
}

#define svc_expect(text, file, section, key, value)			\
	ck_assert_msg(svc_has_line((text), (section), (key), (value)),	\
	    "%s: no [%s] %s=%s", (file), (section), (key),		\
	    (value) != NULL ? (const char *)(value) : "...")

START_TEST(test_service_unit)
{
	char	*u = svc_read(sbt_builddir_path(SVC_UNIT));
	char	 want[PATH_MAX + 64];

	svc_expect(u, SVC_UNIT, "Service", "Type", "notify");
	snprintf(want, sizeof want, "%s/snakebridged -n -f %s/snakebridged/"
	    "snakebridged.conf", SBT_SBINDIR, SBT_SYSCONFDIR);
	svc_expect(u, SVC_UNIT, "Service", "ExecStartPre", want);
	snprintf(want, sizeof want, "%s/snakebridged -d -f %s/snakebridged/"
	    "snakebridged.conf -s /run/snakebridged/snakebridged.sock",
	    SBT_SBINDIR, SBT_SYSCONFDIR);
	svc_expect(u, SVC_UNIT, "Service", "ExecStart", want);
	svc_expect(u, SVC_UNIT, "Service", "ExecReload",
	    "/bin/kill -HUP $MAINPID");
	svc_expect(u, SVC_UNIT, "Service", "WatchdogSec", NULL);
	svc_expect(u, SVC_UNIT, "Service", "Restart", "on-failure");
	svc_expect(u, SVC_UNIT, "Service", "User", "snakebridge");
	svc_expect(u, SVC_UNIT, "Service", "Group", "snakebridge");
	svc_expect(u, SVC_UNIT, "Service", "RuntimeDirectory", "snakebridged");
	svc_expect(u, SVC_UNIT, "Service", "RuntimeDirectoryMode", "0755");
	svc_expect(u, SVC_UNIT, "Service", "NoNewPrivileges", "yes");
	svc_expect(u, SVC_UNIT, "Service", "ProtectSystem", "strict");
	svc_expect(u, SVC_UNIT, "Service", "PrivateTmp", "yes");
	svc_expect(u, SVC_UNIT, "Unit", "Wants", "snakebridged.socket");
	svc_expect(u, SVC_UNIT, "Install", "WantedBy", "multi-user.target");
	ck_assert_msg(strstr(u, "@sbindir@") == NULL &&
	    strstr(u, "@pkgsysconfdir@") == NULL, "unsubstituted @dir@");
	free(u);
}
END_TEST

START_TEST(test_socket_unit)
{
	char	*s = svc_read(sbt_srcdir_path(SVC_SOCKET));

	svc_expect(s, SVC_SOCKET, "Socket", "ListenStream",
	    "/run/snakebridged/snakebridged.sock");
	svc_expect(s, SVC_SOCKET, "Socket", "SocketMode", "0660");
	svc_expect(s, SVC_SOCKET, "Socket", "SocketGroup", "snakebridge");
	svc_expect(s, SVC_SOCKET, "Install", "WantedBy", "sockets.target");
	free(s);
}
END_TEST

/* The user and group the units name are the ones sysusers.d creates. */
START_TEST(test_sysusers)
{
	char	*s = svc_read(sbt_srcdir_path(SVC_SYSUSERS));

	ck_assert_msg(strstr(s, "\nu snakebridge ") != NULL,
	    "%s does not create the user snakebridge", SVC_SYSUSERS);
	free(s);
}
END_TEST

/* Whether ldd's output resolves lib to a file under dir. */
static int
svc_loads_from(const char *ldd, const char *lib, const char *dir)
{
	const char	*p = strstr(ldd, lib);
	size_t		 n = strlen(dir);

	if (p == NULL || (p = strstr(p, "=> ")) == NULL)
		return (0);
	return (strncmp(p + 3, dir, n) == 0 && p[3 + n] == '/');
}

/*
 * examples/hello.c compiled by the build's compiler and flags with only
 * what pkg-config says of the installed sbclient, linked against the
 * installed libsbclient, run against the test daemon.
 */
START_TEST(test_installed_hello)
{
	char		 dest[PATH_MAX];
	char		*argv[4], *exe, *cmd, *out = NULL, *err = NULL;
	struct stat	 st;
	int		 code;

	snprintf(dest, sizeof dest, "%s", sbt_builddir_path(SVC_DEST));
	ck_assert_msg(stat(dest, &st) == 0, "%s is missing: "
	    "tests/service-install.sh installs it", dest);
	ck_assert(asprintf(&exe, "%s/hello-installed", sbt_d.dir) != -1);
	/* The test's own loader path leads to the build tree: a user has none. */
	ck_assert(unsetenv("LD_LIBRARY_PATH") == 0);
	ck_assert(asprintf(&cmd,
	    "PKG_CONFIG_PATH='%s%s' PKG_CONFIG_SYSROOT_DIR='%s'; "
	    "export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR; "
	    "flags=$(pkg-config --cflags --libs sbclient) || exit 1; "
	    "exec %s %s -o '%s' '%s' $flags -Wl,-rpath,'%s%s' %s",
	    dest, SBT_PKGCONFIGDIR, dest, SBT_CC, SBT_CFLAGS, exe,
	    sbt_srcdir_path("examples/hello.c"), dest, SBT_LIBDIR,
	    SBT_LDFLAGS) != -1);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = cmd;
	argv[3] = NULL;
	ck_assert_msg(sbt_run(argv, &out, &err, &code, 120000) == 0 &&
	    code == 0, "building hello against the installed library "
	    "failed (%d):\n%s\n%s", code, cmd, err != NULL ? err : "");
	free(out);
	free(err);
	free(cmd);

	/* The library it loads is the installed one, not the build tree's. */
	ck_assert(asprintf(&cmd, "exec ldd '%s'", exe) != -1);
	argv[2] = cmd;
	ck_assert_msg(sbt_run(argv, &out, &err, &code, 0) == 0 && code == 0,
	    "ldd %s failed: %s", exe, err != NULL ? err : "");
	ck_assert_msg(svc_loads_from(out, "libsbclient.so.0", dest),
	    "hello does not load libsbclient from %s:\n%s", dest, out);
	free(out);
	free(err);
	free(cmd);

	/* Its default socket comes from the environment, as a user's would. */
	ck_assert(setenv("SNAKEBRIDGE_SOCKET", sbt_d.socket, 1) == 0);
	argv[0] = exe;
	argv[1] = NULL;
	ck_assert_msg(sbt_run(argv, &out, &err, &code, 0) == 0,
	    "hello did not finish");
	ck_assert_msg(code == 0, "hello exited %d: %s", code,
	    err != NULL ? err : "");
	ck_assert_str_eq(out, "4.0\n");
	free(out);
	free(err);
	free(exe);
}
END_TEST

static Suite *
service_suite(void)
{
	Suite	*s = suite_create("service");
	TCase	*tc;

	tc = tcase_create("units");
	tcase_add_test(tc, test_service_unit);
	tcase_add_test(tc, test_socket_unit);
	tcase_add_test(tc, test_sysusers);
	suite_add_tcase(s, tc);

	tc = tcase_create("installed");
	sbt_tcase_add_daemon(tc, NULL);
	tcase_add_test(tc, test_installed_hello);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(service_suite()));
}
