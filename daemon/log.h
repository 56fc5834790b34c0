/*
 * log.h: the daemon's only way to log: the journal's stderr under systemd,
 * stderr in the foreground (-d), syslog otherwise, filtered by level.
 */
#ifndef SBD_LOG_H
#define SBD_LOG_H

#include "conf.h"

void	log_init(int foreground, enum log_level);
void	log_set_level(enum log_level);
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Request tracing (-v -v): log_trace() lines, and whether they are kept. */
void	log_trace(const char *, ...) __attribute__((format(printf, 1, 2)));
int	log_tracing(void);
/* Log an error with strerror(errno) appended. */
void	log_errno(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
