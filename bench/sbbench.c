/*
 * sbbench.c: snakebridge's benchmark: options, the order of the run (the
 * floor first, then a private daemon unless -s names one, then every
 * benchmark), and each figure reported with its ratio to the floor of the
 * same run and its verdict against the performance budget.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sbbench.h"

#define SB_BYTES_SIZE	(10u << 20)	/* bytes_10MB */
#define SB_ARRAY_SIZE	(100u << 20)	/* ndarray_100MB(_shm) */
#define SB_DEPTH	32		/* pipelined calls per connection */
#define SB_NEXT_BATCH	65536		/* max_items of next */

/* The performance budget (README, "Performance"). */
#define BUDGET_CALL_RATIO	1.2	/* call p50 / relay floor p50, at most */
#define BUDGET_PIPE4_RATIO	0.7	/* 4-conn calls/s / relay floor, at least */
#define BUDGET_BYTES_RATIO	3.0	/* 10 MB return / raw 10 MB, at most */
#define BUDGET_ARRAY_GBS	2.0	/* 100 MB array, shared, at least */
#define BUDGET_ITEMS_PER_S	1e6	/* streamed items, at least */

/* The benchmarks, in the order they run (names of --only and of the JSON). */
static const char *const bench_names[] = {
	"call_sqrt", "memory_idle_session", "memory_live_ref",
	"session_open_close", "pipelined_1conn", "pipelined_4conn",
	"bytes_10MB", "ndarray_100MB", "ndarray_100MB_shm", "stream_items",
	"next_items"
};

static void
usage(void)
{
	fprintf(stderr, "usage: sbbench [--json] [--quick] [-n ROUNDS] "
	    "[-s SOCKET | --daemon PATH] [--workers N]\n"
	    "               [--only BENCH] [--no-floor] [--bulk ROUNDS]\n");
	exit(2);
}

static int
parse_int(const char *s, int min)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > 100000000)
		usage();
	return ((int)v);
}

static void
parse_args(int argc, char **argv, struct bench_conf *bc)
{
	int	 i, rounds = 0, bulk = 0;

	memset(bc, 0, sizeof(*bc));
	bc->workers = 2;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			bc->json = 1;
		else if (strcmp(argv[i], "--quick") == 0)
			bc->quick = 1;
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			rounds = parse_int(argv[++i], 100);
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			bc->socket = argv[++i];
		else if (strcmp(argv[i], "--daemon") == 0 && i + 1 < argc)
			bc->daemon = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
			bc->workers = parse_int(argv[++i], 1);
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			bc->only = argv[++i];
		else if (strcmp(argv[i], "--no-floor") == 0)
			bc->no_floor = 1;
		else if (strcmp(argv[i], "--bulk") == 0 && i + 1 < argc)
			bulk = parse_int(argv[++i], 1);
		else
			usage();
	}
	for (i = 0; bc->only != NULL; i++) {
		if (i == (int)(sizeof(bench_names) / sizeof(bench_names[0]))) {
			fprintf(stderr, "sbbench: no benchmark %s\n", bc->only);
			usage();
		}
		if (strcmp(bc->only, bench_names[i]) == 0)
			break;
	}
	bc->rounds = rounds > 0 ? rounds : bc->quick ? 2000 : 20000;
	bc->bulk_rounds = bulk > 0 ? bulk : bc->quick ? 3 : 9;
	bc->items = bc->quick ? 200000 : 2000000;
	bc->sessions = bc->quick ? 100 : 1000;
	bc->refs = bc->quick ? 1000 : 10000;
	bc->open_close = bc->quick ? 200 : 2000;
}

/* 1 when value is within the bound (at most, or at least), 0 if not, -1 unknown. */
static int
verdict(double value, double bound, int at_most)
{
	if (!isfinite(value))
		return (-1);
	return (at_most ? value <= bound : value >= bound);
}

/* The JSON tail shared by every figure that has a floor and a budget. */
static void
report_ratio(double floor, const char *floor_key, int prec, double ratio,
    const char *budget, int pass)
{
	if (floor_key != NULL)
		rep_num(floor_key, floor, prec);
	if (isfinite(ratio))
		rep_num("ratio", ratio, 3);
	if (budget != NULL) {
		rep_str("budget", budget);
		rep_str("verdict", pass < 0 ? "unknown" : pass ? "pass" :
		    "miss");
	}
}

static void
report_floor(const struct flr_figures *f)
{
	rep_row("floor socketpair rtt p50", f->pair_p50, 2, "us", NAN, NAN,
	    NULL, -1);
	rep_row("floor relayed rtt p50", f->relay_p50, 2, "us", NAN, NAN,
	    NULL, -1);
	rep_row("floor relayed pipelined", f->relay_pipelined, 0, "msgs/s",
	    NAN, NAN, NULL, -1);
	if (isfinite(f->relay_pipelined4))
		rep_row("floor relayed pipelined x4", f->relay_pipelined4, 0,
		    "msgs/s", NAN, NAN, NULL, -1);
	rep_row("floor 10 MB socketpair", f->bytes_10mb, 3, "ms", NAN, NAN,
	    NULL, -1);
	if (isfinite(f->bytes_100mb_gbs))
		rep_row("floor 100 MB socketpair", f->bytes_100mb_gbs, 2,
		    "GB/s", NAN, NAN, NULL, -1);
}

static void
report_call(const struct ms_latency *l, const struct flr_figures *f)
{
	double	 ratio = l->p50 / f->relay_p50;
	int	 pass = verdict(ratio, BUDGET_CALL_RATIO, 1);

	rep_begin("call_sqrt");
	rep_num("p50_us", l->p50, 2);
	rep_num("p99_us", l->p99, 2);
	rep_num("mean_us", l->mean, 2);
	rep_num("calls_per_s", l->per_s, 0);
	report_ratio(f->relay_p50, "floor_p50_us", 2, ratio, "<= 1.2", pass);
	rep_end();
	rep_row("call_sqrt p50", l->p50, 2, "us", f->relay_p50, ratio,
	    "<= 1.2x", pass);
	rep_row("call_sqrt p99", l->p99, 2, "us", f->relay_p99,
	    l->p99 / f->relay_p99, NULL, -1);
	rep_row("call_sqrt mean", l->mean, 2, "us", f->relay_mean,
	    l->mean / f->relay_mean, NULL, -1);
	rep_row("call_sqrt serial", l->per_s, 0, "calls/s", NAN, NAN, NULL,
	    -1);
}

static void
report_pipelined(const char *bench, int nclients, double per_s,
    const struct flr_figures *f)
{
	double	 ratio = per_s / f->relay_pipelined;
	int	 pass = verdict(ratio, BUDGET_PIPE4_RATIO, 0);
	char	 label[64];

	rep_begin(bench);
	rep_num("connections", nclients, 0);
	rep_num("depth", SB_DEPTH, 0);
	rep_num("calls_per_s", per_s, 0);
	report_ratio(f->relay_pipelined, "floor_msgs_per_s", 0, ratio,
	    nclients == 4 ? ">= 0.7" : NULL, pass);
	if (nclients == 4)
		rep_num("floor_4conn_msgs_per_s", f->relay_pipelined4, 0);
	rep_end();
	snprintf(label, sizeof(label), "pipelined, %d conn%s", nclients,
	    nclients > 1 ? "s" : "");
	rep_row(label, per_s, 0, "calls/s", f->relay_pipelined, ratio,
	    nclients == 4 ? ">= 0.7x" : NULL, pass);
}

static void
report_bytes(double ms, const struct flr_figures *f)
{
	double	 ratio = ms / f->bytes_10mb;
	int	 pass = verdict(ratio, BUDGET_BYTES_RATIO, 1);

	rep_begin("bytes_10MB");
	rep_num("ms", ms, 3);
	report_ratio(f->bytes_10mb, "floor_ms", 3, ratio, "<= 3", pass);
	rep_end();
	rep_row("bytes_10MB return", ms, 3, "ms", f->bytes_10mb, ratio,
	    "<= 3x", pass);
}

/*
 * The ndarray figures are the payload per round-trip time (100 MiB / ms),
 * the strict reading of the budget; traffic_gb_per_s counts both
 * directions. The budget applies to the shared-memory path (shm): the
 * inline path is reported beside it, without a verdict.
 */
static void
report_ndarray(double ms, const struct flr_figures *f, int shm)
{
	double	 gbs = SB_ARRAY_SIZE / 1e9 / (ms / 1e3);
	double	 ratio = gbs / f->bytes_100mb_gbs;
	int	 pass = shm ? verdict(gbs, BUDGET_ARRAY_GBS, 0) : -1;

	rep_begin(shm ? "ndarray_100MB_shm" : "ndarray_100MB");
	rep_num("ms", ms, 3);
	rep_num("gb_per_s", gbs, 3);
	rep_num("traffic_gb_per_s", 2 * gbs, 3);
	report_ratio(f->bytes_100mb_gbs, isfinite(f->bytes_100mb_gbs) ?
	    "floor_gb_per_s" : NULL, 3, ratio, shm ? ">= 2 GB/s" : NULL, pass);
	rep_end();
	rep_row(shm ? "ndarray_100MB_shm round trip" :
	    "ndarray_100MB round trip", ms, 1, "ms", NAN, NAN, NULL, -1);
	rep_row("  payload / round trip", gbs, 2, "GB/s", f->bytes_100mb_gbs,
	    ratio, shm ? ">= 2" : NULL, pass);
}

static void
report_items(const char *bench, double per_s, int budget)
{
	int	 pass = verdict(per_s, BUDGET_ITEMS_PER_S, 0);

	rep_begin(bench);
	rep_num("items_per_s", per_s, 0);
	if (budget)
		report_ratio(NAN, NULL, 0, NAN, ">= 1000000", pass);
	rep_end();
	rep_row(bench, per_s, 0, "items/s", NAN, NAN, budget ? ">= 1M" : NULL,
	    pass);
}

static void
report_open_close(double per_s)
{
	rep_begin("session_open_close");
	rep_num("per_s", per_s, 0);
	rep_end();
	rep_row("session_open_close", per_s, 0, "pairs/s", NAN, NAN, NULL, -1);
}

static void
report_memory(const char *bench, const char *label, int n,
    const struct mem_cost *m)
{
	char	 row[64];

	rep_begin(bench);
	rep_num("count", n, 0);
	rep_num("kib", m->daemon_kib + m->workers_kib, 3);
	rep_num("daemon_kib", m->daemon_kib, 3);
	rep_num("workers_kib", m->workers_kib, 3);
	rep_end();
	rep_row(label, m->daemon_kib + m->workers_kib, 3, "KiB", NAN, NAN,
	    NULL, -1);
	snprintf(row, sizeof(row), "  of which daemon");
	rep_row(row, m->daemon_kib, 3, "KiB", NAN, NAN, NULL, -1);
}

/* Open n connections to the socket; -1 (all closed again) on a failure. */
static int
connect_all(const char *socket, sb_client **cl, int n)
{
	int	 i, rc;

	for (i = 0; i < n; i++) {
		if ((rc = sb_client_connect(socket, &cl[i])) != 0) {
			fprintf(stderr, "sbbench: connect %s: %s\n", socket,
			    sb_strerror(rc));
			while (i > 0)
				sb_client_close(cl[--i]);
			return (-1);
		}
	}
	return (0);
}

/* Whether the daemon takes messages of size bytes and a little more. */
static int
fits(sb_client *c, size_t size)
{
	const sb_value	*lim;
	uint64_t	 max;

	lim = sb_map_get(sb_client_server_info(c), "limits");
	if (sb_value_get_uint(sb_map_get(lim, "max_message_size"), &max) != 0)
		return (1);	/* not said: try */
	return (max >= size + 4096);
}

/* Whether --only leaves this benchmark in. */
static int
wanted(const struct bench_conf *bc, const char *bench)
{
	return (bc->only == NULL || strcmp(bc->only, bench) == 0);
}

/* Every benchmark against the daemon on socket; the number that failed. */
static int
run_all(const struct bench_conf *bc, const char *socket,
    const struct flr_figures *f)
{
	struct ms_latency	 lat;
	struct mem_cost		 mem;
	sb_client		*cl[4];
	double			 v;
	int			 i, failed = 0, streamed = 0;

	if (connect_all(socket, cl, 4) != 0)
		return (1);
	if (wanted(bc, "call_sqrt")) {
		if (ms_call_sqrt(cl[0], bc->rounds, &lat) == 0)
			report_call(&lat, f);
		else
			failed++;
	}
	/* Memory early: large transfers leave heaps that shrink later. */
	if (wanted(bc, "memory_idle_session")) {
		if (mem_sessions(cl[0], bc->sessions, &mem) == 0)
			report_memory("memory_idle_session",
			    "memory per idle session", bc->sessions, &mem);
		else
			failed++;
	}
	if (wanted(bc, "memory_live_ref")) {
		if (mem_refs(cl[0], bc->refs, &mem) == 0)
			report_memory("memory_live_ref", "memory per live ref",
			    bc->refs, &mem);
		else
			failed++;
	}
	if (wanted(bc, "session_open_close")) {
		if (ms_open_close(cl[0], bc->open_close, &v) == 0)
			report_open_close(v);
		else
			failed++;
	}
	if (wanted(bc, "pipelined_1conn")) {
		if (ms_pipelined(cl, 1, bc->rounds * 5, SB_DEPTH, &v) == 0)
			report_pipelined("pipelined_1conn", 1, v, f);
		else
			failed++;
	}
	if (wanted(bc, "pipelined_4conn")) {
		if (ms_pipelined(cl, 4, bc->rounds * 5, SB_DEPTH, &v) == 0)
			report_pipelined("pipelined_4conn", 4, v, f);
		else
			failed++;
	}
	if (wanted(bc, "bytes_10MB")) {
		if (ms_bytes(cl[0], SB_BYTES_SIZE, bc->bulk_rounds, &v) == 0)
			report_bytes(v, f);
		else
			failed++;
	}
	if (wanted(bc, "ndarray_100MB") && !fits(cl[0], SB_ARRAY_SIZE))
		rep_note("(ndarray_100MB skipped: the daemon's max_message_size "
		    "is below 100 MiB)");
	else if (wanted(bc, "ndarray_100MB")) {
		if (ms_ndarray(cl[0], SB_ARRAY_SIZE, bc->bulk_rounds, &v) == 0)
			report_ndarray(v, f, 0);
		else
			failed++;
	}
	if (wanted(bc, "ndarray_100MB_shm")) {
		if (ms_ndarray_shm(cl[0], SB_ARRAY_SIZE, bc->bulk_rounds,
		    &v) == 0)
			report_ndarray(v, f, 1);
		else
			failed++;
	}
	if (wanted(bc, "stream_items")) {
		streamed = ms_stream_items(cl[0], bc->items, &v) == 0;
		if (streamed)
			report_items("stream_items", v, 1);
		else
			rep_note("(stream is not served yet: see next_items)");
	}
	if (wanted(bc, "next_items")) {
		if (ms_next_items(cl[0], bc->items, SB_NEXT_BATCH, &v) == 0)
			report_items("next_items", v, !streamed);
		else
			failed++;
	}
	for (i = 0; i < 4; i++)
		sb_client_close(cl[i]);
	return (failed);
}

int
main(int argc, char **argv)
{
	struct bench_conf	 bc;
	struct flr_figures	 f;
	struct prv_daemon	 d;
	int			 failed;

	/* A client moving large payloads benefits as the daemon does. */
	sb_alloc_tune();
	parse_args(argc, argv, &bc);
	signal(SIGPIPE, SIG_IGN);
	rep_init(bc.json);
	if (prv_exedir(bc.exedir, sizeof(bc.exedir)) != 0) {
		fprintf(stderr, "sbbench: cannot find its own directory\n");
		return (1);
	}
	if (bc.no_floor)
		flr_none(&f);
	else if (flr_run(&bc, &f) != 0) {
		fprintf(stderr, "sbbench: %s/floor failed\n", bc.exedir);
		return (1);
	} else
		report_floor(&f);
	if (bc.socket != NULL)
		return (run_all(&bc, bc.socket, &f) == 0 ? 0 : 1);
	if (prv_start(&d, &bc) != 0)
		return (1);
	failed = run_all(&bc, d.socket, &f);
	if (failed)
		prv_dump_log(&d);
	prv_stop(&d);
	return (failed == 0 ? 0 : 1);
}
