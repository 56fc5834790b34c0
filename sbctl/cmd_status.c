/*
 * cmd_status.c: "sbctl status": the daemon's status as a table (daemon,
 * pools, workers, sessions, counters), or with --json the status map as
 * JSON.
 */
#include <stdio.h>
#include <string.h>

#include "sbctl.h"

/* A worker's last exit ({signal} or {exit_status}, reason) as text. */
static const char *
cmd_status_exit(const sb_value *w, char *buf, size_t len)
{
	const sb_value	*e = sb_map_get(w, "last_exit");
	const char	*why = fields_str(w, "last_exit_reason", NULL);

	if (e == NULL || sb_value_type(e) != SB_MAP)
		return ("-");
	if (sb_map_get(e, "signal") != NULL)
		snprintf(buf, len, "signal %.0f", fields_num(e, "signal", 0));
	else
		snprintf(buf, len, "status %.0f", fields_num(e, "exit_status",
		    0));
	if (why != NULL)
		snprintf(buf + strlen(buf), len - strlen(buf), " (%s)", why);
	return (buf);
}

/* A bool field, 0 when absent. */
static int
cmd_status_flag(const sb_value *w, const char *key)
{
	const sb_value	*v = sb_map_get(w, key);
	int		 b = 0;

	if (v == NULL || sb_value_get_bool(v, &b) != 0)
		return (0);
	return (b);
}

static void
cmd_status_worker(const char *pool, const sb_value *w)
{
	char		 pid[16], rss[16], up[16], ex[64];
	double		 uptime = fields_num(w, "uptime", -1);

	if (fields_num(w, "pid", -1) > 0)
		snprintf(pid, sizeof pid, "%.0f", fields_num(w, "pid", 0));
	else
		snprintf(pid, sizeof pid, "-");
	printf("%-12s %4.0f %8s %-9s %9.0f %8s %8s %8.0f %s%s%s\n", pool,
	    fields_num(w, "slot", 0), pid, fields_str(w, "state", "?"),
	    fields_num(w, "requests", 0), fields_num(w, "rss_kb", 0) > 0 ?
	    fields_size(fields_num(w, "rss_kb", 0), rss, sizeof rss) : "-",
	    uptime < 0 ? "-" : fields_duration(uptime,
	    up, sizeof up), fields_num(w, "restarts", 0), cmd_status_exit(w,
	    ex, sizeof ex), cmd_status_flag(w, "draining") ? ", draining" : "",
	    cmd_status_flag(w, "crash_loop") ? ", crash loop" : "");
}

static void
cmd_status_table(const sb_value *st)
{
	const sb_value	*d = sb_map_get(st, "daemon"), *pools, *p, *ws, *c, *t;
	char		 up[16];
	size_t		 i, j;

	printf("daemon    snakebridged %s, protocol %.0f, pid %.0f, up %s\n",
	    fields_str(d, "version", "?"), fields_num(d, "protocol", 0),
	    fields_num(d, "pid", 0), fields_duration(fields_num(d, "uptime",
	    0), up, sizeof up));
	printf("socket    %s\n", fields_str(d, "socket", "?"));
	t = sb_map_get(st, "session_totals");
	printf("sessions  %.0f open", fields_num(st, "sessions", 0));
	if (t != NULL)
		printf(", %.0f cleaned, %.0f cleanup failures, %.0f cleanups "
		    "pending", fields_num(t, "cleaned", 0), fields_num(t,
		    "cleanup_failures", 0), fields_num(t, "cleanups_pending",
		    0));
	putchar('\n');
	if ((t = sb_map_get(st, "shm")) != NULL)
		printf("shm       %.0f blocks attached, %.0f bytes\n",
		    fields_num(t, "blocks", 0), fields_num(t, "bytes", 0));
	c = sb_map_get(st, "counters");
	printf("counters  %.0f requests, %.0f errors, %.0f timeouts, "
	    "%.0f crashes\n", fields_num(c, "requests", 0), fields_num(c,
	    "errors", 0), fields_num(c, "timeouts", 0), fields_num(c,
	    "crashes", 0));
	pools = sb_map_get(st, "pools");
	for (i = 0; pools != NULL && i < sb_value_len(pools); i++) {
		p = sb_value_item(pools, i);
		printf("pool      %s: %.0f workers, queue %.0f/%.0f, %s\n",
		    fields_str(p, "name", "?"), fields_num(p, "size", 0),
		    fields_num(p, "queue", 0), fields_num(p, "queue_limit", 0),
		    fields_str(p, "affinity", "?"));
	}
	printf("\n%-12s %4s %8s %-9s %9s %8s %8s %8s %s\n", "POOL", "SLOT",
	    "PID", "STATE", "REQUESTS", "RSS", "UPTIME", "RESTARTS",
	    "LAST EXIT");
	for (i = 0; pools != NULL && i < sb_value_len(pools); i++) {
		p = sb_value_item(pools, i);
		ws = sb_map_get(p, "workers");
		for (j = 0; ws != NULL && j < sb_value_len(ws); j++)
			cmd_status_worker(fields_str(p, "name", "?"),
			    sb_value_item(ws, j));
	}
}

int
cmd_status_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*result = NULL;
	sb_error	*err = NULL;
	int		 code, rc, json = 0;

	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		json = 1;
	else if (argc > 0)
		return (sbctl_usage_error(cmd, "unknown argument %s",
		    argv[0]));
	if ((code = sbctl_connect(ctx, cmd)) != 0)
		return (code);
	rc = sb_status(ctx->client, &result, &err);
	if (json || rc != 0 || sb_value_type(result) != SB_MAP)
		return (print_outcome(ctx, rc, result, err));
	cmd_status_table(result);
	sb_value_free(result);
	return (SBCTL_EXIT_OK);
}
