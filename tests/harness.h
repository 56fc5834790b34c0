/*
 * harness.h: what the integration suites share: a real snakebridged with real
 * workers in a temporary directory, clients connected to it (libsbclient or a
 * raw socket speaking hand-packed msgpack), and running commands with a
 * deadline. Every wait here is bounded.
 */
#ifndef SBT_HARNESS_H
#define SBT_HARNESS_H

#include <sys/types.h>

#include <check.h>
#include <limits.h>
#include <msgpack.h>
#include <stddef.h>

#include "sbclient.h"

#define SBT_MAX_TRACKED		64	/* worker processes remembered */
#define SBT_START_TIMEOUT_MS	20000	/* daemon up and answering ping */
#define SBT_STOP_TIMEOUT_MS	20000	/* daemon gone after SIGTERM */
#define SBT_IO_TIMEOUT_MS	10000	/* default for raw receives */
#define SBT_RUN_TIMEOUT_MS	30000	/* default for sbt_run */

struct sbt_daemon {
	char	 dir[PATH_MAX];		/* temporary directory */
	char	 socket[PATH_MAX];	/* its socket */
	char	 config[PATH_MAX];	/* the config file written */
	char	 log[PATH_MAX];		/* the daemon's stderr */
	pid_t	 pid;			/* 0 when not running */
	int	 allow_crashes;		/* workers may die (fault tests) */
	pid_t	 tracked[SBT_MAX_TRACKED];	/* workers seen running */
	size_t	 ntracked;
};

/*
 * Start a daemon: temporary directory, config (socket there, pool default of
 * size 2 with tests/fixtures on its path, then extra_config appended, may be
 * NULL), snakebridged -d -f CONFIG with stderr to DIR/daemon.log. Returns 0
 * once a ping is answered; -1 after printing why and the daemon's log to
 * stderr (nothing is left behind then).
 */
int		 sbt_daemon_start(struct sbt_daemon *, const char *extra_config);
/*
 * Stop it: check that no worker died unasked (status counters.crashes is 0,
 * unless allow_crashes is set), SIGTERM, wait (bounded) for exit status 0,
 * check that no worker it ran is left, remove the directory. Returns 0, or -1 after printing why and
 * the log (the daemon and its workers are killed regardless).
 */
int		 sbt_daemon_stop(struct sbt_daemon *);
/* Whether the daemon process is still running (not exited). */
int		 sbt_daemon_alive(struct sbt_daemon *);
/* Remember the daemon's current worker processes (stop checks them). */
void		 sbt_daemon_track(struct sbt_daemon *);
/* The daemon's log so far; caller frees. Never NULL. */
char		*sbt_daemon_log(const struct sbt_daemon *);
/* Wait up to timeout_ms for text to appear in the daemon's log; 1 if it did. */
int		 sbt_daemon_log_wait(const struct sbt_daemon *, const char *text,
		     int timeout_ms);

/*
 * One daemon for every test of a TCase, as an unchecked fixture: tests reach
 * it as sbt_d. extra_config is kept by pointer (use a literal).
 */
extern struct sbt_daemon sbt_d;
void		 sbt_tcase_add_daemon(TCase *, const char *extra_config);
/* Run a suite; exit status that counts failed tests and failed teardowns. */
int		 sbt_run_suite(Suite *);

/* A libsbclient connection to the daemon (fails the test if it cannot). */
sb_client	*sbt_connect(const struct sbt_daemon *);
/*
 * A fresh connection to sbt_d for every test of a TCase, as a checked
 * fixture: tests reach it as sbt_c.
 */
extern sb_client *sbt_c;
void		 sbt_tcase_add_client(TCase *);
/* A list of the values given (taken), ending with NULL. */
sb_value	*sbt_list(sb_value *first, ...);
/* Fail the test with text about a failed request (code and error). */
void		 sbt_fail_request(const char *what, int rc, const sb_error *);
/* ck_assert that a request succeeded, printing its error otherwise. */
#define sbt_ok(what, rc, err) do {					\
	if ((rc) != 0)							\
		sbt_fail_request((what), (rc), (err));			\
} while (0)
/* ck_assert that a request failed remotely with error type `type`. */
void		 sbt_expect_error(const char *what, int rc, const sb_error *,
		     const char *type);

/* A connection speaking raw msgpack, with its own receive buffer. */
struct sbt_raw {
	int			 fd;
	msgpack_unpacker	 unp;
	msgpack_unpacked	 msg;
};

/* A connected raw socket fd, or -1. */
int		 sbt_raw_connect(const struct sbt_daemon *);
/* Connect a raw client (fails the test if it cannot). */
void		 sbt_raw_open(const struct sbt_daemon *, struct sbt_raw *);
void		 sbt_raw_close(struct sbt_raw *);
/* Write all bytes; 0, or -1 once the peer is gone (never SIGPIPE). */
int		 sbt_raw_send(struct sbt_raw *, const void *, size_t);
/* Send what a packer wrote into an sbuffer, then clear the sbuffer. */
int		 sbt_raw_send_sbuf(struct sbt_raw *, msgpack_sbuffer *);
/*
 * Receive one message: 1 and *out (valid until the next receive), 0 when the
 * peer closed, -1 on timeout or error.
 */
int		 sbt_raw_recv(struct sbt_raw *, int timeout_ms,
		     const msgpack_object **out);
/*
 * Wait for the response to msgid, skipping notifications: 1 and *out, 0 if
 * the peer closed, -1 on timeout.
 */
int		 sbt_raw_response(struct sbt_raw *, uint32_t msgid,
		     int timeout_ms, const msgpack_object **out);
/* Send [0, msgid, "ping", []] and expect "pong"; 0 or -1. */
int		 sbt_raw_ping(struct sbt_raw *, uint32_t msgid);
/*
 * The fixture of the bad-input suites: before each case a witness connection
 * is opened (and answered) and sbt_sb/sbt_pk are ready for hand-packed
 * messages; sbt_wire_check_others says the witness is still answered, a new
 * connection too, and the daemon lives.
 */
extern struct sbt_raw	 sbt_witness;
extern msgpack_sbuffer	 sbt_sb;
extern msgpack_packer	 sbt_pk;
void		 sbt_wire_setup(void);
void		 sbt_wire_teardown(void);
void		 sbt_wire_check_others(void);
/*
 * Wait until the peer closes, reading (and dropping) what it sends: 1 if it
 * closed within timeout_ms. The last error notification or response met is
 * kept in *errtype (static buffer, "" if none) when errtype is not NULL.
 */
int		 sbt_raw_wait_closed(struct sbt_raw *, int timeout_ms,
		     const char **errtype);

/* Pack [0, msgid, method, <array header of nparams>]; params follow. */
void		 sbt_pack_request(msgpack_packer *, uint32_t msgid,
		     const char *method, size_t nparams);
void		 sbt_pack_str(msgpack_packer *, const char *);
/* A map's value for a str key, or NULL. */
const msgpack_object *sbt_obj_get(const msgpack_object *, const char *key);
/* Whether an object is a str equal to s. */
int		 sbt_obj_streq(const msgpack_object *, const char *s);
/* For a response [1, id, error, result]: the error's type, NULL if none. */
const char	*sbt_obj_errtype(const msgpack_object *);

/*
 * Run argv[0] (a path) with argv, stdin from /dev/null; collect stdout and
 * stderr (NUL-terminated, caller frees; either pointer may be NULL) and the
 * exit code (128 + signal if killed). Killed after timeout_ms (<= 0: the
 * default). Returns 0, or -1 on timeout or failure to run.
 */
int		 sbt_run(char *const argv[], char **out, char **err,
		     int *exit_code, int timeout_ms);

/*
 * snakebridged -n -f FILE for a temporary FILE holding text: its exit code,
 * with its stderr in *err (caller frees). Fails the test if it cannot run.
 */
int		 sbt_config_check(const char *text, char **err);

/* Milliseconds on a monotonic clock. */
int64_t		 sbt_now_ms(void);
/* $SB_BUILDDIR or $SB_SRCDIR joined with rel into buf (static if NULL). */
const char	*sbt_builddir_path(const char *rel);
const char	*sbt_srcdir_path(const char *rel);

#endif
