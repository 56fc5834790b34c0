/*
 * cmd_stats.c: "sbctl stats": the daemon's counters (stats []) as JSON, or
 * with --prometheus in the Prometheus text exposition format.
 */
#include <stdio.h>
#include <string.h>

#include "sbctl.h"

/* Print s as a label value: backslash, quote and newline escaped. */
static void
cmd_stats_label(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	}
}

static void
cmd_stats_head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * One histogram {counts, count, sum} with buckets bounds: cumulative _bucket
 * lines, _sum and _count. label is "" or `name="value",`.
 */
static void
cmd_stats_hist(const char *name, const char *lkey, const char *lval,
    const sb_value *bounds, const sb_value *h)
{
	const sb_value	*counts = sb_map_get(h, "counts");
	double		 cum = 0;
	size_t		 i, n = counts != NULL ? sb_value_len(counts) : 0;
	uint64_t	 c;
	double		 b;

	for (i = 0; i < n; i++) {
		if (sb_value_get_uint(sb_value_item(counts, i), &c) == 0)
			cum += (double)c;
		printf("%s_bucket{", name);
		if (lkey != NULL) {
			printf("%s=\"", lkey);
			cmd_stats_label(lval);
			printf("\",");
		}
		if (i < sb_value_len(bounds) &&
		    sb_value_get_float(sb_value_item(bounds, i), &b) == 0)
			printf("le=\"%g\"} %.0f\n", b, cum);
		else
			printf("le=\"+Inf\"} %.0f\n", cum);
	}
	if (lkey != NULL) {
		printf("%s_sum{%s=\"", name, lkey);
		cmd_stats_label(lval);
		printf("\"} %.9g\n%s_count{%s=\"", fields_num(h, "sum", 0),
		    name, lkey);
		cmd_stats_label(lval);
		printf("\"} %.0f\n", fields_num(h, "count", 0));
	} else
		printf("%s_sum %.9g\n%s_count %.0f\n", name, fields_num(h,
		    "sum", 0), name, fields_num(h, "count", 0));
}

static void
cmd_stats_calls(const sb_value *st)
{
	const sb_value	*calls = sb_map_get(st, "calls"), *c;
	const sb_value	*lat = sb_map_get(st, "latency"), *m;
	const sb_value	*bounds = sb_map_get(lat, "buckets");
	size_t		 i;

	cmd_stats_head("snakebridge_calls_total", "counter",
	    "Requests answered, by method and outcome.");
	for (i = 0; calls != NULL && i < sb_value_len(calls); i++) {
		c = sb_value_item(calls, i);
		printf("snakebridge_calls_total{method=\"");
		cmd_stats_label(fields_str(c, "method", "?"));
		printf("\",outcome=\"");
		cmd_stats_label(fields_str(c, "outcome", "?"));
		printf("\"} %.0f\n", fields_num(c, "count", 0));
	}
	cmd_stats_head("snakebridge_request_duration_seconds", "histogram",
	    "Time from a request's arrival to its answer, by method.");
	m = sb_map_get(lat, "methods");
	for (i = 0; m != NULL && i < sb_value_len(m); i++)
		cmd_stats_hist("snakebridge_request_duration_seconds",
		    "method", sb_value_str(sb_map_key(m, i), NULL) != NULL ?
		    sb_value_str(sb_map_key(m, i), NULL) : "?", bounds,
		    sb_map_value(m, i));
	cmd_stats_head("snakebridge_queue_wait_seconds", "histogram",
	    "Time a worker request waited before a worker took it.");
	cmd_stats_hist("snakebridge_queue_wait_seconds", NULL, NULL, bounds,
	    sb_map_get(st, "queue_wait"));
}

static void
cmd_stats_sessions(const sb_value *st)
{
	const sb_value	*s = sb_map_get(st, "sessions");
	const sb_value	*ev = sb_map_get(st, "events");
	const sb_value	*ex = sb_map_get(st, "worker_exits");
	const char	*reason;
	size_t		 i;

	cmd_stats_head("snakebridge_worker_restarts_total", "counter",
	    "Worker exits followed by a restart, by reason.");
	for (i = 0; ex != NULL && i < sb_value_len(ex); i++) {
		reason = sb_value_str(sb_map_key(ex, i), NULL);
		if (reason == NULL || strcmp(reason, "shutdown") == 0 ||
		    strcmp(reason, "retired") == 0)
			continue;
		printf("snakebridge_worker_restarts_total{reason=\"");
		cmd_stats_label(reason);
		printf("\"} %.0f\n", fields_num(ex, reason, 0));
	}
	cmd_stats_head("snakebridge_sessions", "gauge", "Live sessions.");
	printf("snakebridge_sessions %.0f\n", fields_num(s, "live", 0));
	cmd_stats_head("snakebridge_sessions_opened_total", "counter",
	    "Sessions opened.");
	printf("snakebridge_sessions_opened_total %.0f\n", fields_num(s,
	    "opened", 0));
	cmd_stats_head("snakebridge_sessions_ended_total", "counter",
	    "Sessions ended (closed, expired or their connection gone).");
	printf("snakebridge_sessions_ended_total %.0f\n", fields_num(s,
	    "ended", 0));
	cmd_stats_head("snakebridge_sessions_cleaned_total", "counter",
	    "Ended sessions whose objects the workers dropped.");
	printf("snakebridge_sessions_cleaned_total %.0f\n", fields_num(s,
	    "cleaned", 0));
	cmd_stats_head("snakebridge_session_cleanup_failures_total",
	    "counter", "Session cleanups that failed or timed out.");
	printf("snakebridge_session_cleanup_failures_total %.0f\n",
	    fields_num(s, "cleanup_failures", 0));
	cmd_stats_head("snakebridge_event_subscribers", "gauge",
	    "Connections following the event stream.");
	printf("snakebridge_event_subscribers %.0f\n", fields_num(ev,
	    "subscribers", 0));
	cmd_stats_head("snakebridge_events_dropped_total", "counter",
	    "Events not sent to a subscriber too slow to take them.");
	printf("snakebridge_events_dropped_total %.0f\n", fields_num(ev,
	    "dropped", 0));
}

/* One gauge line per worker: name{pool,slot} value*scale. */
static void
cmd_stats_workers(const sb_value *ws, const char *name, const char *key,
    double scale)
{
	const sb_value	*w;
	size_t		 i;

	for (i = 0; ws != NULL && i < sb_value_len(ws); i++) {
		w = sb_value_item(ws, i);
		printf("%s{pool=\"", name);
		cmd_stats_label(fields_str(w, "pool", "?"));
		printf("\",slot=\"%.0f\"} %.0f\n", fields_num(w, "slot", 0),
		    fields_num(w, key, 0) * scale);
	}
}

static void
cmd_stats_prometheus(const sb_value *st)
{
	const sb_value	*ws = sb_map_get(st, "workers");
	double		 refs = 0;
	size_t		 i;

	cmd_stats_calls(st);
	cmd_stats_sessions(st);
	for (i = 0; ws != NULL && i < sb_value_len(ws); i++)
		refs += fields_num(sb_value_item(ws, i), "refs", 0);
	cmd_stats_head("snakebridge_live_refs", "gauge",
	    "Live refs held by all workers, as last polled.");
	printf("snakebridge_live_refs %.0f\n", refs);
	cmd_stats_head("snakebridge_worker_live_refs", "gauge",
	    "Live refs held by a worker, as last polled.");
	cmd_stats_workers(ws, "snakebridge_worker_live_refs", "refs", 1);
	cmd_stats_head("snakebridge_worker_rss_bytes", "gauge",
	    "Resident memory of a worker, as last polled.");
	cmd_stats_workers(ws, "snakebridge_worker_rss_bytes", "rss_kb", 1024);
	cmd_stats_head("snakebridge_worker_requests_total", "counter",
	    "Requests a worker slot has served.");
	cmd_stats_workers(ws, "snakebridge_worker_requests_total", "requests",
	    1);
}

int
cmd_stats_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*result = NULL;
	sb_error	*err = NULL;
	int		 code, rc, prom = 0;

	if (argc == 1 && strcmp(argv[0], "--prometheus") == 0)
		prom = 1;
	else if (argc > 0)
		return (sbctl_usage_error(cmd, "unknown argument %s",
		    argv[0]));
	if ((code = sbctl_connect(ctx, cmd)) != 0)
		return (code);
	rc = sb_request(ctx->client, "stats", NULL, &result, &err);
	if (!prom || rc != 0 || sb_value_type(result) != SB_MAP)
		return (print_outcome(ctx, rc, result, err));
	cmd_stats_prometheus(result);
	sb_value_free(result);
	return (SBCTL_EXIT_OK);
}
