/*
 * config.c: reading the INI configuration file into a struct config with
 * inih, the built-in defaults, value parsers (durations, sizes, modes) and
 * validation. Errors name the file and line. Nothing here logs or exits.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "scan.h"

/* State of one parse: the config being built and the first error. */
struct parse {
	struct config	*conf;
	FILE		*f;
	int		 line;		/* line being parsed */
	int		 at_bol;	/* the next read starts a line */
	char		 errbuf[256];
	int		 failed;
	int		 errline;
};

static const char *const affinity_names[] = {
	[AFFINITY_STRICT_QUEUE] = "strict_queue",
	[AFFINITY_STRICT_FAIL_FAST] = "strict_fail_fast",
	[AFFINITY_HINT] = "hint",
};

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static void *
config_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size);

	if (p == NULL)
		abort();
	return (p);
}

static char *
config_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return (p);
}

static void
config_strlist_add(struct strlist *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof *v);

	if (v == NULL)
		abort();
	l->v = v;
	l->v[l->n++] = config_xstrdup(s);
}

static void
config_strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Split a comma list ("numpy, json") into l, skipping empty items. */
static void
config_strlist_split(struct strlist *l, const char *s)
{
	const char *p = s, *end;

	while (*p != '\0') {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if (end > p) {
			char *item = strndup(p, (size_t)(end - p));

			if (item == NULL)
				abort();
			config_strlist_add(l, item);
			free(item);
		}
		while (*end != '\0' && *end != ',')
			end++;
		p = end;
	}
}

int
config_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return (-1);
	*out = v;
	return (0);
}

/*
 * Parse a number followed by an optional unit from units (a list of
 * suffix/multiplier pairs); a bare number uses multiplier bare.
 */
static int
config_parse_scaled(const char *s, const char *const *names,
    const uint64_t *mult, size_t nunits, uint64_t bare, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t m = bare;
	size_t i;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return (-1);
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0') {
		for (i = 0; i < nunits; i++) {
			if (strcmp(end, names[i]) == 0)
				break;
		}
		if (i == nunits)
			return (-1);
		m = mult[i];
	}
	if (m != 0 && v > UINT64_MAX / m)
		return (-1);
	*out = v * m;
	return (0);
}

int
config_parse_duration(const char *s, uint64_t *ms)
{
	static const char *const names[] = { "ms", "s", "m", "h" };
	static const uint64_t mult[] = { 1, 1000, 60000, 3600000 };

	return (config_parse_scaled(s, names, mult, 4, 1000, ms));
}

int
config_parse_size(const char *s, uint64_t *bytes)
{
	static const char *const names[] = {
		"K", "M", "G", "k", "m", "g", "B"
	};
	static const uint64_t mult[] = {
		1ULL << 10, 1ULL << 20, 1ULL << 30,
		1ULL << 10, 1ULL << 20, 1ULL << 30, 1
	};

	return (config_parse_scaled(s, names, mult, 7, 1, bytes));
}

const char *
config_affinity_name(enum affinity a)
{
	return (affinity_names[a]);
}

int
config_parse_affinity(const char *s, enum affinity *a)
{
	size_t i;

	for (i = 0; i < sizeof affinity_names / sizeof affinity_names[0]; i++) {
		if (strcmp(s, affinity_names[i]) == 0) {
			*a = (enum affinity)i;
			return (0);
		}
	}
	return (-1);
}

static unsigned
config_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return (n < 1 ? 1 : (unsigned)n);
}

static void
config_profile_set(struct config *conf, const char *name, uint64_t ms)
{
	struct profile *p;
	size_t i;

	for (i = 0; i < conf->nprofiles; i++) {
		if (strcmp(conf->profiles[i].name, name) == 0) {
			conf->profiles[i].ms = ms;
			return;
		}
	}
	p = realloc(conf->profiles, (conf->nprofiles + 1) * sizeof *p);
	if (p == NULL)
		abort();
	conf->profiles = p;
	p[conf->nprofiles].name = config_xstrdup(name);
	p[conf->nprofiles].ms = ms;
	conf->nprofiles++;
}

static struct pool_config *
config_pool_get(struct config *conf, const char *name)
{
	struct pool_config *pc;
	size_t i;

	for (i = 0; i < conf->npools; i++) {
		if (strcmp(conf->pools[i].name, name) == 0)
			return (&conf->pools[i]);
	}
	pc = realloc(conf->pools, (conf->npools + 1) * sizeof *pc);
	if (pc == NULL)
		abort();
	conf->pools = pc;
	pc = &conf->pools[conf->npools++];
	memset(pc, 0, sizeof *pc);
	pc->name = config_xstrdup(name);
	pc->size = config_online_cpus();
	pc->affinity = AFFINITY_STRICT_QUEUE;
	pc->queue_limit = 1000;
	pc->drain_timeout = 600000;
	return (pc);
}

/* A config holding only the built-in defaults. */
static struct config *
config_defaults(void)
{
	struct config *conf = config_xcalloc(1, sizeof *conf);

	conf->socket_mode = 0660;
	conf->max_message_size = SB_SCAN_DEFAULT_SIZE;
	conf->max_depth = SB_SCAN_DEFAULT_DEPTH;
	conf->log_level = LOG_LEVEL_INFO;
	conf->cleanup_timeout = 10000;
	conf->max_refs_per_session = 100000;
	conf->max_sessions_per_uid = 1000;
	conf->max_sessions = 10000;
	config_profile_set(conf, "default", 120000);
	config_profile_set(conf, "streaming", 120000);
	config_profile_set(conf, "ml_inference", 600000);
	config_profile_set(conf, "batch_job", 0);
	conf->stream_idle = 30 * 60000;
	conf->grace = 2000;
	config_pool_get(conf, "default");
	return (conf);
}

void
config_free(struct config *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	free(conf->file);
	free(conf->socket);
	free(conf->socket_group);
	free(conf->worker);
	for (i = 0; i < conf->nprofiles; i++)
		free(conf->profiles[i].name);
	free(conf->profiles);
	for (i = 0; i < conf->npools; i++) {
		struct pool_config *pc = &conf->pools[i];

		free(pc->name);
		free(pc->venv);
		config_strlist_free(&pc->path);
		config_strlist_free(&pc->env);
		config_strlist_free(&pc->preload);
		config_strlist_free(&pc->allow_modules);
		config_strlist_free(&pc->deny_modules);
	}
	free(conf->pools);
	free(conf);
}

const struct pool_config *
config_find_pool(const struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->npools; i++) {
		if (strcmp(conf->pools[i].name, name) == 0)
			return (&conf->pools[i]);
	}
	return (NULL);
}

const struct profile *
config_find_profile(const struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nprofiles; i++) {
		if (strcmp(conf->profiles[i].name, name) == 0)
			return (&conf->profiles[i]);
	}
	return (NULL);
}

/* Record the first error of a parse; returns 0 for inih. */
static int
config_fail(struct parse *ps, const char *fmt, ...)
{
	va_list ap;

	if (!ps->failed) {
		va_start(ap, fmt);
		vsnprintf(ps->errbuf, sizeof ps->errbuf, fmt, ap);
		va_end(ap);
		ps->failed = 1;
		ps->errline = ps->line;
	}
	return (0);
}

static void
config_set_str(char **dst, const char *value)
{
	free(*dst);
	*dst = *value == '\0' ? NULL : config_xstrdup(value);
}

/* Kinds of typed keys, so that one table describes each section. */
enum key_kind { K_DURATION, K_SIZE, K_UINT };

struct key {
	const char	*name;
	enum key_kind	 kind;
	size_t		 offset;	/* in struct config or pool_config */
	int		 narrow;	/* stored as unsigned, not uint64_t */
	uint64_t	 max;
};

#define CK(n, k, f, narrow, max)					\
	{ n, k, offsetof(struct config, f), narrow, max }
#define PK(n, k, f, narrow, max)					\
	{ n, k, offsetof(struct pool_config, f), narrow, max }

static const struct key session_keys[] = {
	CK("idle_timeout", K_DURATION, idle_timeout, 0, UINT64_MAX),
	CK("max_lifetime", K_DURATION, max_lifetime, 0, UINT64_MAX),
	CK("cleanup_timeout", K_DURATION, cleanup_timeout, 0, UINT64_MAX),
	CK("max_refs_per_session", K_UINT, max_refs_per_session, 0, UINT64_MAX),
	CK("max_sessions_per_uid", K_UINT, max_sessions_per_uid, 1, UINT_MAX),
	CK("max_sessions", K_UINT, max_sessions, 1, UINT_MAX),
	{ NULL, 0, 0, 0, 0 }
};

static const struct key pool_keys[] = {
	PK("size", K_UINT, size, 1, 1024),
	PK("queue_limit", K_UINT, queue_limit, 1, UINT_MAX),
	PK("max_requests", K_UINT, max_requests, 0, UINT64_MAX),
	PK("max_rss", K_UINT, max_rss, 0, UINT64_MAX),
	PK("max_age", K_DURATION, max_age, 0, UINT64_MAX),
	PK("drain_timeout", K_DURATION, drain_timeout, 0, UINT64_MAX),
	{ NULL, 0, 0, 0, 0 }
};

/*
 * Set a typed key from a table into the structure at base. Returns 1 when
 * handled, 0 when the name is not in the table, -1 on a bad value.
 */
static int
config_set_key(const struct key *keys, void *base, const char *name,
    const char *value)
{
	const struct key *k;
	uint64_t v;
	int rc = -1;

	for (k = keys; k->name != NULL; k++) {
		if (strcmp(k->name, name) == 0)
			break;
	}
	if (k->name == NULL)
		return (0);
	switch (k->kind) {
	case K_DURATION:
		rc = config_parse_duration(value, &v);
		break;
	case K_SIZE:
		rc = config_parse_size(value, &v);
		break;
	case K_UINT:
		rc = config_parse_uint(value, k->max, &v);
		break;
	}
	if (rc != 0 || v > k->max)
		return (-1);
	if (k->narrow)
		*(unsigned *)(void *)((char *)base + k->offset) = (unsigned)v;
	else
		*(uint64_t *)(void *)((char *)base + k->offset) = v;
	return (1);
}

/* Describe what key name of keys accepts, for an error message. */
static const char *
config_kind_hint(const struct key *keys, const char *name, char *buf,
    size_t len)
{
	const struct key *k;

	for (k = keys; k->name != NULL; k++) {
		if (strcmp(k->name, name) != 0)
			continue;
		switch (k->kind) {
		case K_DURATION:
			return ("a duration (e.g. 500ms, 10s, 5m, 1h)");
		case K_SIZE:
			return ("a size (e.g. 512K, 64M, 1G)");
		case K_UINT:
			if (k->max >= UINT_MAX)
				return ("a whole number");
			snprintf(buf, len, "a whole number up to %llu",
			    (unsigned long long)k->max);
			return (buf);
		}
	}
	return ("a valid value");
}

static int
config_daemon_key(struct parse *ps, const char *name, const char *value)
{
	struct config *conf = ps->conf;
	uint64_t v;
	char *end;
	size_t i;

	if (strcmp(name, "socket") == 0) {
		if (*value != '/')
			return (config_fail(ps, "socket must be an absolute "
			    "path"));
		if (strlen(value) >= 108)
			return (config_fail(ps, "socket path is too long"));
		config_set_str(&conf->socket, value);
	} else if (strcmp(name, "socket_mode") == 0) {
		errno = 0;
		v = strtoull(value, &end, 8);
		if (*value == '\0' || *end != '\0' || errno != 0 || v > 0777)
			return (config_fail(ps, "socket_mode must be an octal "
			    "mode such as 0660"));
		conf->socket_mode = (mode_t)v;
	} else if (strcmp(name, "socket_group") == 0) {
		config_set_str(&conf->socket_group, value);
	} else if (strcmp(name, "max_message_size") == 0) {
		if (config_parse_size(value, &v) != 0 || v < 1024 ||
		    v > (1ULL << 32))
			return (config_fail(ps, "max_message_size must be a "
			    "size between 1K and 4G"));
		conf->max_message_size = (size_t)v;
	} else if (strcmp(name, "max_depth") == 0) {
		if (config_parse_uint(value, SB_SCAN_DEPTH_CEILING, &v) != 0 ||
		    v < 2)
			return (config_fail(ps, "max_depth must be between 2 "
			    "and %d", SB_SCAN_DEPTH_CEILING));
		conf->max_depth = (unsigned)v;
	} else if (strcmp(name, "log_level") == 0) {
		for (i = 0; i < 4; i++) {
			if (strcmp(value, level_names[i]) == 0)
				break;
		}
		if (i == 4)
			return (config_fail(ps, "log_level must be error, "
			    "warning, info or debug"));
		conf->log_level = (enum log_level)i;
	} else if (strcmp(name, "worker") == 0) {
		if (*value != '/')
			return (config_fail(ps, "worker must be an absolute "
			    "path"));
		config_set_str(&conf->worker, value);
	} else
		return (config_fail(ps, "unknown key '%s' in [daemon]", name));
	return (1);
}

/* A module name: Python identifiers (ASCII) joined by single dots. */
static int
config_valid_module(const char *s)
{
	int start = 1;

	for (; *s != '\0'; s++) {
		if (*s == '.' && !start)
			start = 1;
		else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
		    || *s == '_' || (!start && *s >= '0' && *s <= '9'))
			start = 0;
		else
			return (0);
	}
	return (!start);
}

/* Append the comma list value to l (key name), checking every name. */
static int
config_module_list(struct parse *ps, struct strlist *l, const char *name,
    const char *value)
{
	size_t i, first = l->n;

	config_strlist_split(l, value);
	for (i = first; i < l->n; i++) {
		if (!config_valid_module(l->v[i]))
			return (config_fail(ps, "%s: bad module name '%.64s' "
			    "(want dotted Python identifiers such as os.path)",
			    name, l->v[i]));
	}
	return (1);
}

static int
config_pool_key(struct parse *ps, const char *pool, const char *name,
    const char *value)
{
	struct pool_config *pc = config_pool_get(ps->conf, pool);
	char hint[64];
	int rc;

	if (strcmp(name, "path") == 0) {
		config_strlist_add(&pc->path, value);
		return (1);
	}
	if (strcmp(name, "venv") == 0) {
		config_set_str(&pc->venv, value);
		return (1);
	}
	if (strcmp(name, "env") == 0) {
		if (strchr(value, '=') == NULL || *value == '=')
			return (config_fail(ps, "env must be NAME=VALUE"));
		config_strlist_add(&pc->env, value);
		return (1);
	}
	if (strcmp(name, "preload") == 0) {
		config_strlist_split(&pc->preload, value);
		return (1);
	}
	if (strcmp(name, "allow_modules") == 0)
		return (config_module_list(ps, &pc->allow_modules, name,
		    value));
	if (strcmp(name, "deny_modules") == 0)
		return (config_module_list(ps, &pc->deny_modules, name,
		    value));
	if (strcmp(name, "affinity") == 0) {
		if (config_parse_affinity(value, &pc->affinity) != 0)
			return (config_fail(ps, "affinity must be "
			    "strict_queue, strict_fail_fast or hint"));
		return (1);
	}
	rc = config_set_key(pool_keys, pc, name, value);
	if (rc == 0)
		return (config_fail(ps, "unknown key '%s' in [pool %s]", name,
		    pool));
	if (rc < 0)
		return (config_fail(ps, "%s must be %s", name,
		    config_kind_hint(pool_keys, name, hint, sizeof hint)));
	if (pc->size == 0 || pc->queue_limit == 0)
		return (config_fail(ps, "%s must be at least 1", name));
	return (1);
}

/* Names of pools and profiles: letters, digits, '_', '-', '.'. */
static int
config_valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return (0);
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("_-.", *s) == NULL)
			return (0);
	}
	return (1);
}

/* The inih handler: dispatch one key by section. */
static int
config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct parse *ps = arg;
	struct config *conf = ps->conf;
	char hint[64];
	uint64_t ms;
	int rc;

	if (ps->failed)
		return (1);
	if (strcmp(section, "daemon") == 0)
		return (config_daemon_key(ps, name, value));
	if (strcmp(section, "sessions") == 0) {
		rc = config_set_key(session_keys, conf, name, value);
		if (rc == 0)
			return (config_fail(ps, "unknown key '%s' in "
			    "[sessions]", name));
		if (rc < 0)
			return (config_fail(ps, "%s must be %s", name,
			    config_kind_hint(session_keys, name, hint,
			    sizeof hint)));
		if (conf->max_sessions == 0 || conf->max_sessions_per_uid == 0)
			return (config_fail(ps, "%s must be at least 1",
			    name));
		return (1);
	}
	if (strcmp(section, "timeouts") == 0) {
		if (config_parse_duration(value, &ms) != 0)
			return (config_fail(ps, "%s must be a duration (e.g. "
			    "500ms, 10s, 5m, 1h)", name));
		if (strcmp(name, "grace") == 0)
			conf->grace = ms;
		else if (strcmp(name, "stream_idle") == 0)
			conf->stream_idle = ms;
		else if (!config_valid_name(name))
			return (config_fail(ps, "bad profile name '%s'", name));
		else
			config_profile_set(conf, name, ms);
		return (1);
	}
	if (strncmp(section, "pool", 4) == 0 &&
	    (section[4] == ' ' || section[4] == '\t')) {
		const char *pool = section + 5;

		while (*pool == ' ' || *pool == '\t')
			pool++;
		if (!config_valid_name(pool))
			return (config_fail(ps, "bad pool name '%s'", pool));
		return (config_pool_key(ps, pool, name, value));
	}
	return (config_fail(ps, "unknown section [%s]", section));
}

/* The inih line reader: fgets that keeps count of lines for errors. */
static char *
config_reader(char *buf, int size, void *arg)
{
	struct parse *ps = arg;
	char *s = fgets(buf, size, ps->f);

	if (s == NULL)
		return (NULL);
	if (ps->at_bol)
		ps->line++;
	ps->at_bol = strchr(s, '\n') != NULL;
	return (s);
}

static char *
config_error(const char *file, int line, const char *msg)
{
	char *s;

	if (asprintf(&s, "%s:%d: %s", file, line, msg) == -1)
		abort();
	return (s);
}

struct config *
config_load(const char *file, char **err)
{
	struct parse ps;
	int rc;

	*err = NULL;
	memset(&ps, 0, sizeof ps);
	ps.conf = config_defaults();
	if (file == NULL)
		return (ps.conf);
	ps.conf->file = config_xstrdup(file);
	if ((ps.f = fopen(file, "r")) == NULL) {
		if (asprintf(err, "%s: %s", file, strerror(errno)) == -1)
			abort();
		config_free(ps.conf);
		return (NULL);
	}
	ps.at_bol = 1;
	rc = ini_parse_stream(config_reader, &ps, config_handler, &ps);
	fclose(ps.f);
	if (rc == -2) {
		if (asprintf(err, "%s: out of memory", file) == -1)
			abort();
	} else if (ps.failed && (rc <= 0 || ps.errline <= rc))
		*err = config_error(file, ps.errline, ps.errbuf);
	else if (rc > 0)
		*err = config_error(file, rc, "syntax error (expected "
		    "[section] or key = value)");
	if (*err != NULL) {
		config_free(ps.conf);
		return (NULL);
	}
	return (ps.conf);
}
