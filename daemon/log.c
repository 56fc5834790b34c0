/*
 * log.c: logging for the daemon. In the foreground (-d) lines go to stderr:
 * with a <N> syslog priority prefix for the journal when JOURNAL_STREAM
 * names that stderr (under systemd), else with a timestamp. A detached
 * daemon logs to syslog (daemon facility).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum log_dest {
	LOG_DEST_STDERR,
	LOG_DEST_JOURNAL,
	LOG_DEST_SYSLOG,
};

static enum log_dest	log_dest = LOG_DEST_STDERR;
static enum log_level	log_level = LOG_LEVEL_INFO;

static const int log_prio[] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_WARNING] = LOG_WARNING,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
	[LOG_LEVEL_TRACE] = LOG_DEBUG,
};

static const char *const log_tag[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_TRACE] = "trace",
};

/* Is stderr the journal stream systemd gave us ("DEV:INODE")? */
static int
log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return (0);
	if (fstat(STDERR_FILENO, &st) != 0)
		return (0);
	return ((unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino);
}

void
log_init(int foreground, enum log_level level)
{
	log_level = level;
	if (foreground && log_stderr_is_journal())
		log_dest = LOG_DEST_JOURNAL;
	else if (foreground)
		log_dest = LOG_DEST_STDERR;
	else {		/* detaching closes stderr */
		log_dest = LOG_DEST_SYSLOG;
		openlog("snakebridged", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_tracing(void)
{
	return (log_level >= LOG_LEVEL_TRACE);
}

static void
log_vlog(enum log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char msg[2048];
	struct timespec ts;
	struct tm tm;
	const char *sep = suffix != NULL ? ": " : "";

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (suffix == NULL)
		suffix = "";
	switch (log_dest) {
	case LOG_DEST_SYSLOG:
		syslog(log_prio[level], "%s%s%s", msg, sep, suffix);
		break;
	case LOG_DEST_JOURNAL:
		fprintf(stderr, "<%d>%s%s%s\n", log_prio[level], msg, sep,
		    suffix);
		break;
	case LOG_DEST_STDERR:
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s%s%s\n",
		    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		    log_tag[level], msg, sep, suffix);
		break;
	}
}

#define LOG_FN(fn, level)						\
void									\
fn(const char *fmt, ...)						\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	log_vlog(level, NULL, fmt, ap);					\
	va_end(ap);							\
}
LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARNING)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)
LOG_FN(log_trace, LOG_LEVEL_TRACE)

void
log_errno(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, strerror(saved), fmt, ap);
	va_end(ap);
}
