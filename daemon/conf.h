/*
 * conf.h: the daemon's configuration (docs in etc/snakebridged.conf): one
 * structure holding every section with its built-in defaults, read from an
 * INI file. A reload builds a fresh structure and swaps it in only if valid.
 */
#ifndef SBD_CONFIG_H
#define SBD_CONFIG_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

enum affinity {
	AFFINITY_STRICT_QUEUE,
	AFFINITY_STRICT_FAIL_FAST,
	AFFINITY_HINT,
};

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,	/* -v -v: a line per request */
};

/* A list of strings (repeatable keys, comma lists). */
struct strlist {
	char		**v;
	size_t		  n;
};

struct pool_config {
	char		*name;
	unsigned	 size;		/* workers; default online CPUs */
	struct strlist	 path;		/* extra sys.path entries */
	char		*venv;
	struct strlist	 env;		/* NAME=VALUE */
	struct strlist	 preload;	/* modules */
	struct strlist	 allow_modules;	/* module policy; empty: all */
	struct strlist	 deny_modules;
	enum affinity	 affinity;
	unsigned	 queue_limit;
	uint64_t	 max_requests;
	uint64_t	 max_rss;	/* MiB */
	uint64_t	 max_age;	/* ms */
	uint64_t	 drain_timeout;	/* ms a draining worker waits, 0 ever */
};

struct profile {
	char		*name;
	uint64_t	 ms;		/* 0 = no timeout */
};

struct config {
	char		*file;		/* NULL: built-in defaults only */

	/* [daemon] */
	char		*socket;	/* NULL: the default path */
	mode_t		 socket_mode;
	char		*socket_group;	/* NULL: none */
	size_t		 max_message_size;
	unsigned	 max_depth;
	enum log_level	 log_level;
	char		*worker;	/* NULL: search */

	/* [sessions], durations in ms */
	uint64_t	 idle_timeout;
	uint64_t	 max_lifetime;
	uint64_t	 cleanup_timeout;
	uint64_t	 max_refs_per_session;
	unsigned	 max_sessions_per_uid;
	unsigned	 max_sessions;

	/* [timeouts], ms */
	struct profile	*profiles;	/* default, streaming, ... custom */
	size_t		 nprofiles;
	uint64_t	 stream_idle;
	uint64_t	 grace;

	/* [pool NAME]; pools[0] is always "default" */
	struct pool_config *pools;
	size_t		 npools;
};

/*
 * Read a config file (NULL: defaults only). On error returns NULL and sets
 * *err to an allocated "file:line: message" the caller frees.
 */
struct config	*config_load(const char *file, char **err);
void		 config_free(struct config *);
const struct pool_config *config_find_pool(const struct config *,
		    const char *);
const struct profile *config_find_profile(const struct config *,
		    const char *);

/* Value parsers, exposed for tests. 0 on success, -1 on a bad value. */
int		 config_parse_duration(const char *, uint64_t *ms);
int		 config_parse_size(const char *, uint64_t *bytes);
int		 config_parse_uint(const char *, uint64_t max, uint64_t *);
const char	*config_affinity_name(enum affinity);
int		 config_parse_affinity(const char *, enum affinity *);

#endif
