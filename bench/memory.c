/*
 * memory.c: what an idle session and a live ref cost in resident memory. The
 * daemon's and its workers' pids come from the status method and their VmRSS
 * from /proc, read before and after creating many of them; the difference
 * per item is the figure. Only meaningful on the same machine as the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbbench.h"

#define MEM_MAX_PIDS	64
#define MEM_DEPTH	64	/* calls in flight while making refs */

/* Resident KiB of the daemon and of all its workers together. */
struct mem_rss {
	long	 daemon;
	long	 workers;
};

static int
mem_pid(const sb_value *v, pid_t *pid)
{
	int64_t	 i;

	if (sb_value_get_int(v, &i) != 0 || i <= 0)
		return (-1);
	*pid = (pid_t)i;
	return (0);
}

static int
mem_read(sb_client *c, struct mem_rss *m)
{
	const sb_value	*pools, *workers;
	sb_value	*st;
	sb_error	*err;
	pid_t		 pid;
	size_t		 i, j;
	long		 kib;
	int		 rc;

	if ((rc = sb_status(c, &st, &err)) != 0) {
		ms_fail("status", rc, err);
		return (-1);
	}
	rc = -1;
	m->workers = 0;
	if (mem_pid(sb_map_get(sb_map_get(st, "daemon"), "pid"), &pid) != 0 ||
	    (m->daemon = prv_rss_kib(pid)) < 0)
		goto out;
	pools = sb_map_get(st, "pools");
	for (i = 0; i < sb_value_len(pools); i++) {
		workers = sb_map_get(sb_value_item(pools, i), "workers");
		for (j = 0; j < sb_value_len(workers); j++) {
			if (mem_pid(sb_map_get(sb_value_item(workers, j),
			    "pid"), &pid) != 0)
				continue;
			if ((kib = prv_rss_kib(pid)) < 0)
				goto out;
			m->workers += kib;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "sbbench: cannot read the daemon's memory "
		    "(is it on another machine or of another user?)\n");
	sb_value_free(st);
	return (rc);
}

static void
mem_diff(const struct mem_rss *a, const struct mem_rss *b, int n,
    struct mem_cost *cost)
{
	cost->daemon_kib = (double)(b->daemon - a->daemon) / n;
	cost->workers_kib = (double)(b->workers - a->workers) / n;
}

static void
mem_session_name(char *buf, size_t len, int i)
{
	snprintf(buf, len, "sbbench-idle-%d", i);
}

/*
 * n named sessions, each bound to a worker by one call in it and then left
 * idle; they are closed afterwards.
 */
int
mem_sessions(sb_client *c, int n, struct mem_cost *cost)
{
	struct mem_rss	 before, after;
	struct sb_opts	 o;
	sb_value	*info, *res, *args;
	sb_error	*err;
	char		 name[64];
	int		 i, opened = 0, rc = -1, r;

	if ((args = sb_list_new()) == NULL ||
	    sb_list_append(args, sb_float(16.0)) != 0) {
		sb_value_free(args);
		return (-1);
	}
	if (mem_read(c, &before) != 0)
		goto out;
	sb_opts_init(&o);
	o.session = name;
	for (i = 0; i < n; i++) {
		mem_session_name(name, sizeof(name), i);
		if ((r = sb_session_open(c, name, NULL, &info, &err)) != 0) {
			ms_fail("session.open", r, err);
			goto out;
		}
		sb_value_free(info);
		opened++;
		r = sb_call(c, "math", "sqrt", args, NULL, &o, &res, &err);
		if (r != 0) {
			ms_fail("call in a session", r, err);
			goto out;
		}
		sb_value_free(res);
	}
	if (mem_read(c, &after) != 0)
		goto out;
	mem_diff(&before, &after, n, cost);
	rc = 0;
out:
	for (i = 0; i < opened; i++) {
		mem_session_name(name, sizeof(name), i);
		sb_session_close(c, name, NULL);
	}
	sb_value_free(args);
	return (rc);
}

/* Pipelined builtins.object() calls: n refs kept in *refs (a list). */
static int
mem_make_refs(sb_client *c, int n, sb_value *refs)
{
	sb_pending	*ring[MEM_DEPTH];
	sb_value	*res;
	sb_error	*err;
	int		 sent = 0, got = 0, rc;

	while (got < n) {
		while (sent < n && sent - got < MEM_DEPTH) {
			rc = sb_call_async(c, "builtins", "object", NULL, NULL,
			    NULL, &ring[sent % MEM_DEPTH]);
			if (rc != 0) {
				ms_fail("object()", rc, NULL);
				goto fail;
			}
			sent++;
		}
		rc = sb_wait(c, ring[got % MEM_DEPTH], BENCH_WAIT_MS, &res,
		    &err);
		if (rc == SB_EAGAIN)
			fprintf(stderr, "sbbench: object(): no answer\n");
		else
			got++;
		if (rc == 0 && sb_value_type(res) != SB_REF)
			rc = SB_ETYPE;
		if (rc != 0) {
			ms_fail("object()", rc, err);
			sb_value_free(res);
			goto fail;
		}
		if (sb_list_append(refs, res) != 0)
			goto fail;
	}
	return (0);
fail:
	while (got < sent)
		sb_pending_free(c, ring[got++ % MEM_DEPTH]);
	return (-1);
}

/* n live refs (plain objects) in the connection's session, then released. */
int
mem_refs(sb_client *c, int n, struct mem_cost *cost)
{
	struct mem_rss	 before, after;
	sb_value	*refs;
	int		 rc = -1;

	if ((refs = sb_list_new()) == NULL)
		return (-1);
	if (mem_read(c, &before) != 0 || mem_make_refs(c, n, refs) != 0 ||
	    mem_read(c, &after) != 0)
		goto out;
	mem_diff(&before, &after, n, cost);
	rc = 0;
out:
	if (sb_value_len(refs) > 0)
		sb_release(c, refs, NULL, NULL);
	sb_value_free(refs);
	return (rc);
}
