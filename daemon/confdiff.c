/*
 * confdiff.c: saying in the log what a reload changed, setting by setting
 * (pools added and removed, sizes, limits, timeouts, the workers'
 * environment and module policy). Pool sizes apply at once; what shapes a worker process
 * applies to workers started from then on.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

/* A number-valued setting: where it lives and how it reads in the log. */
struct confdiff_num {
	const char	*name;
	size_t		 offset;
	int		 type;		/* CD_U64, CD_UINT, CD_SIZE */
};
#define CD_U64	0
#define CD_UINT	1
#define CD_SIZE	2

#define CD(f, t)	{ #f, offsetof(struct config, f), t }
#define PD(f, t)	{ #f, offsetof(struct pool_config, f), t }

static const struct confdiff_num confdiff_daemon[] = {
	CD(max_message_size, CD_SIZE),
	CD(idle_timeout, CD_U64),
	CD(max_lifetime, CD_U64),
	CD(cleanup_timeout, CD_U64),
	CD(max_refs_per_session, CD_U64),
	CD(max_sessions_per_uid, CD_UINT),
	CD(max_sessions, CD_UINT),
	CD(stream_idle, CD_U64),
	CD(grace, CD_U64),
	{ NULL, 0, 0 }
};

static const struct confdiff_num confdiff_pool[] = {
	PD(queue_limit, CD_UINT),
	PD(max_requests, CD_U64),
	PD(max_rss, CD_U64),
	PD(max_age, CD_U64),
	PD(drain_timeout, CD_U64),
	{ NULL, 0, 0 }
};

static uint64_t
confdiff_get(const void *base, const struct confdiff_num *d)
{
	const char *p = (const char *)base + d->offset;

	if (d->type == CD_UINT)
		return (*(const unsigned *)(const void *)p);
	if (d->type == CD_SIZE)
		return (*(const size_t *)(const void *)p);
	return (*(const uint64_t *)(const void *)p);
}

/* Log each number of table that differs between old and new. */
static void
confdiff_numbers(const char *where, const struct confdiff_num *table,
    const void *old, const void *new)
{
	const struct confdiff_num *d;
	uint64_t a, b;

	for (d = table; d->name != NULL; d++) {
		a = confdiff_get(old, d);
		b = confdiff_get(new, d);
		if (a != b)
			log_info("reload: %s%s: %llu -> %llu", where, d->name,
			    (unsigned long long)a, (unsigned long long)b);
	}
}

static int
confdiff_strlist_eq(const struct strlist *a, const struct strlist *b)
{
	size_t i;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++) {
		if (strcmp(a->v[i], b->v[i]) != 0)
			return (0);
	}
	return (1);
}

static int
confdiff_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/* What changed in one pool present in both configs (its size: pool.c). */
static void
confdiff_pool_changes(const struct pool_config *a, const struct pool_config *b)
{
	char where[128];

	snprintf(where, sizeof where, "pool %s: ", a->name);
	if (a->affinity != b->affinity)
		log_info("reload: %saffinity: %s -> %s", where,
		    config_affinity_name(a->affinity),
		    config_affinity_name(b->affinity));
	confdiff_numbers(where, confdiff_pool, a, b);
	if (!confdiff_strlist_eq(&a->path, &b->path) ||
	    !confdiff_str_eq(a->venv, b->venv) ||
	    !confdiff_strlist_eq(&a->env, &b->env) ||
	    !confdiff_strlist_eq(&a->preload, &b->preload))
		log_info("reload: %spath, venv, env or preload changed; "
		    "workers started from now on get them", where);
	if (!confdiff_strlist_eq(&a->allow_modules, &b->allow_modules) ||
	    !confdiff_strlist_eq(&a->deny_modules, &b->deny_modules))
		log_info("reload: %sallow_modules or deny_modules changed; "
		    "workers started from now on get them (sbctl worker "
		    "restart applies them to running workers)", where);
}

/* Log what differs between the running config and the one swapped in. */
void
confdiff_log(const struct config *old, const struct config *new)
{
	const struct profile *p, *q;
	size_t i;

	confdiff_numbers("", confdiff_daemon, old, new);
	if (old->log_level != new->log_level)
		log_info("reload: log_level changed");
	for (i = 0; i < new->nprofiles; i++) {
		p = &new->profiles[i];
		q = config_find_profile(old, p->name);
		if (q == NULL)
			log_info("reload: timeout profile %s added (%llu ms)",
			    p->name, (unsigned long long)p->ms);
		else if (q->ms != p->ms)
			log_info("reload: timeout profile %s: %llu -> %llu ms",
			    p->name, (unsigned long long)q->ms,
			    (unsigned long long)p->ms);
	}
	for (i = 0; i < old->nprofiles; i++) {
		if (config_find_profile(new, old->profiles[i].name) == NULL)
			log_info("reload: timeout profile %s removed",
			    old->profiles[i].name);
	}
	for (i = 0; i < new->npools; i++) {
		const struct pool_config *a, *b = &new->pools[i];

		if ((a = config_find_pool(old, b->name)) == NULL)
			log_info("reload: pool %s added (%u workers)", b->name,
			    b->size);
		else
			confdiff_pool_changes(a, b);
	}
	for (i = 0; i < old->npools; i++) {
		if (config_find_pool(new, old->pools[i].name) == NULL)
			log_info("reload: pool %s removed", old->pools[i].name);
	}
	if (!confdiff_str_eq(old->socket, new->socket) ||
	    old->socket_mode != new->socket_mode ||
	    !confdiff_str_eq(old->socket_group, new->socket_group))
		log_info("reload: socket settings changed; they apply at the "
		    "next start");
}
