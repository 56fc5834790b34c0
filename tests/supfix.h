/*
 * supfix.h: what the session and supervision suites share on top of the
 * harness: one daemon per TCase with its own config, calls into the
 * sbsuper fixture module, reading status, /proc facts about processes,
 * bounded waits, and running a check as another user (nobody).
 */
#ifndef SUPFIX_H
#define SUPFIX_H

#include <sys/types.h>

#include <stdint.h>

#include "harness.h"

#define SUP_NOBODY	65534	/* uid and gid of the second user */

/*
 * Start sbt_d with extra config text in which every "@FIX@" is replaced by
 * the fixtures directory; allow_crashes as for the harness. The socket is
 * made reachable by any user (directory 0711; socket_mode is the config's).
 * Aborts the setup on failure.
 */
void		 sup_start(const char *text, int allow_crashes);
/* Stop sbt_d; a failure is reported at the end of sup_run_suite. */
void		 sup_stop(void);
/* A TCase setup function starting sbt_d with config text. */
#define SUP_DAEMON(fn, text, crashes)					\
static void								\
fn(void)								\
{									\
	sup_start((text), (crashes));					\
}
/* Run a suite: 0 if every test and every daemon stop passed. */
int		 sup_run_suite(Suite *);
/* A new TCase with a daemon fixture and a timeout, added to s. */
TCase		*sup_tcase(Suite *s, const char *name, void (*setup)(void),
		    int timeout_s);
/* Start a private daemon (not a fixture) with config text; fails the test. */
void		 sup_private_start(struct sbt_daemon *, const char *text);

/* Argument lists: sup_args("ifs", 1, 2.0, "x") -> [1, 2.0, "x"]. */
sb_value	*sup_args(const char *types, ...);
/*
 * sbsuper.func(*args) with options (session and pool may be NULL,
 * timeout_ms -1 for none): the return code, *result and *err as sb_call.
 */
int		 sup_call(sb_client *, const char *session, const char *pool,
		    int64_t timeout_ms, const char *func, const sb_value *args,
		    sb_value **result, sb_error **err);
/* sbsuper.func(*args) that must succeed; the result (caller frees). */
sb_value	*sup_call_ok(sb_client *, const char *session, const char *func,
		    const sb_value *args);
/* sbsuper.pid() in a session (NULL: automatic); fails the test if not. */
int64_t		 sup_pid(sb_client *, const char *session);
/* An int result of a request; fails the test otherwise. */
int64_t		 sup_int(const sb_value *);
/* The int value of key in map v, or def when absent or not an int. */
int64_t		 sup_map_int(const sb_value *v, const char *key,
		    int64_t def);
/*
 * Whether an error names word: its details' limit is word, or its message
 * holds word as a whole name.
 */
int		 sup_error_names(const sb_error *, const char *word);
/* The int detail key of an error, or def. */
int64_t		 sup_error_detail(const sb_error *, const char *key,
		    int64_t def);

/*
 * session.open name with settings {idle_timeout: idle (if >= 0), pool (if
 * not NULL)}; the info map (caller frees). Fails the test on error.
 */
sb_value	*sup_open(sb_client *, const char *name, double idle,
		    const char *pool);
/* session.close name; fails the test on error. */
void		 sup_close(sb_client *, const char *name);
/* session.info name must fail with SessionNotFound. */
void		 sup_expect_no_session(sb_client *, const char *name);
/* A ref to sbsuper.Thing(value) made in session (NULL: automatic). */
sb_value	*sup_make_thing(sb_client *, const char *session,
		    int64_t value);
/* ref.value must be want. */
void		 sup_expect_value(sb_client *, const sb_value *ref,
		    int64_t want);
/*
 * Run sbctl -s SOCKET-of-sbt_d with the words given (NULL-terminated);
 * its exit code, stdout and stderr (caller frees). Fails the test if it
 * does not finish.
 */
int		 sup_sbctl(char **out, char **err, const char *first, ...);

/* status (caller frees); fails the test if it cannot be read. */
sb_value	*sup_status(sb_client *);
/* The pool map of a status, or NULL. */
const sb_value	*sup_status_pool(const sb_value *status,
		    const char *pool);
/* Worker map of a pool by slot, or NULL. */
const sb_value	*sup_pool_worker(const sb_value *pool, int64_t slot);
/* The pid of a pool's slot as status shows it now (-1 if none). */
int64_t		 sup_worker_pid(sb_client *, const char *pool,
		    int64_t slot);
/*
 * Wait (bounded) until status shows pool with at least busy workers in
 * state busy and at least queue requests waiting; fails the test if not.
 * Use a connection with no call of its own in flight.
 */
void		 sup_wait_pool_load(sb_client *, const char *pool,
		    int64_t busy, int64_t queue);
/* Wait (bounded) until no worker of pool is busy and none is queued. */
void		 sup_wait_pool_idle(sb_client *, const char *pool);
/* Find key anywhere in v (maps within maps and lists); NULL if absent. */
const sb_value	*sup_find_key(const sb_value *v, const char *key);

/* Whether a process exists and is not a zombie. */
int		 sup_proc_alive(pid_t);
/* utime + stime of a process in clock ticks, or -1. */
int64_t		 sup_proc_cpu(pid_t);
/* Sleep ms milliseconds. */
void		 sup_sleep_ms(int ms);
/* Whether the path exists. */
int		 sup_exists(const char *path);
/* Wait up to timeout_ms for path to be gone; 1 if it went. */
int		 sup_wait_gone(const char *path, int timeout_ms);
/* Wait up to timeout_ms for path to exist; 1 if it came. */
int		 sup_wait_exists(const char *path, int timeout_ms);

/*
 * Run fn in a forked child that became uid/gid SUP_NOBODY. fn returns 0 if
 * all its checks passed, else -1 after writing why (NUL-terminated, at most
 * len bytes). The test fails with that text if the child failed, died or
 * ran longer than 60 s.
 */
typedef int	(*sup_nobody_fn)(void *arg, char *why, size_t len);
void		 sup_as_nobody(sup_nobody_fn fn, void *arg);
/* In a sup_nobody_fn: unless cond, write why and go to the label fail. */
#define SUP_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		snprintf(why, len, __VA_ARGS__);			\
		goto fail;						\
	}								\
} while (0)

#endif
