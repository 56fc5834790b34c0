/*
 * log.c: logging for the daemon: to stderr with a timestamp when running in
 * the foreground, to syslog (daemon facility) otherwise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int		log_foreground = 1;
static enum log_level	log_level = LOG_LEVEL_INFO;

static const int log_prio[] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_WARNING] = LOG_WARNING,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

static const char *const log_tag[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(int foreground, enum log_level level)
{
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog("snakebridged", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

static void
log_vlog(enum log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char msg[2048];
	struct timespec ts;
	struct tm tm;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (!log_foreground) {
		syslog(log_prio[level], "%s%s%s", msg, suffix ? ": " : "",
		    suffix ? suffix : "");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s%s%s\n", tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_tag[level], msg,
	    suffix ? ": " : "", suffix ? suffix : "");
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

void
log_errno(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, strerror(saved), fmt, ap);
	va_end(ap);
}
