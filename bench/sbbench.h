/*
 * sbbench.h: what the parts of sbbench share: the run's settings, the
 * private daemon, the floor figures, the measurements and the report.
 */
#ifndef SBBENCH_H
#define SBBENCH_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>

#include "sbclient.h"

#define BENCH_WAIT_MS	120000	/* longest wait for any one answer */

/* Settings of one run (options and their derived counts). */
struct bench_conf {
	int		 json;
	int		 quick;
	int		 rounds;	/* serial round trips */
	int		 workers;	/* pool size of a private daemon */
	const char	*socket;	/* -s: an existing daemon */
	const char	*daemon;	/* --daemon: snakebridged to start */
	const char	*only;		/* --only: one benchmark (for profiling) */
	int		 no_floor;	/* --no-floor: skip the floor */
	int		 bulk_rounds;	/* 10 MB and 100 MB transfers */
	int		 items;		/* items iterated or streamed */
	int		 sessions;	/* idle sessions for the memory figure */
	int		 refs;		/* live refs for the memory figure */
	int		 open_close;	/* session open/close pairs */
	char		 exedir[PATH_MAX];	/* where sbbench lives */
};

/* private.c: a daemon of our own in a temporary directory. */
struct prv_daemon {
	char	 dir[PATH_MAX];
	char	 socket[PATH_MAX];
	char	 log[PATH_MAX];
	pid_t	 pid;
};
int	 prv_exedir(char *buf, size_t len);
int	 prv_start(struct prv_daemon *, const struct bench_conf *);
void	 prv_stop(struct prv_daemon *);
void	 prv_dump_log(const struct prv_daemon *);
long	 prv_rss_kib(pid_t);

/* floorrun.c: bench/floor run as a child, its JSON lines parsed. */
struct flr_figures {
	double	 pair_p50, pair_p99, pair_mean;		/* us */
	double	 relay_p50, relay_p99, relay_mean;	/* us */
	double	 relay_pipelined;			/* msgs/s */
	double	 relay_pipelined4;			/* msgs/s, 4 conns */
	double	 bytes_10mb;				/* ms */
	double	 bytes_100mb_gbs;			/* GB/s */
};
void	 flr_none(struct flr_figures *);
int	 flr_run(const struct bench_conf *, struct flr_figures *);

/* measure.c: timings over libsbclient. */
struct ms_latency {
	double	 p50, p99, mean;	/* us */
	double	 per_s;		/* serial calls per second */
};
double	 ms_now_us(void);
int	 ms_call_sqrt(sb_client *, int n, struct ms_latency *);
int	 ms_pipelined(sb_client **, int nclients, int n, int depth,
	    double *per_s);
int	 ms_bytes(sb_client *, size_t size, int rounds, double *ms);
int	 ms_ndarray(sb_client *, size_t size, int rounds, double *ms);
int	 ms_ndarray_shm(sb_client *, size_t size, int rounds, double *ms);
int	 ms_next_items(sb_client *, int n, size_t batch, double *per_s);
int	 ms_stream_items(sb_client *, int n, double *per_s);
int	 ms_open_close(sb_client *, int n, double *per_s);
void	 ms_fail(const char *what, int rc, sb_error *);

/* memory.c: resident memory of the daemon and its workers. */
struct mem_cost {
	double	 daemon_kib;	/* per item, daemon */
	double	 workers_kib;	/* per item, all workers */
};
int	 mem_sessions(sb_client *, int n, struct mem_cost *);
int	 mem_refs(sb_client *, int n, struct mem_cost *);

/* report.c: one table or one JSON object per line. */
void	 rep_init(int json);
void	 rep_begin(const char *bench);
void	 rep_num(const char *key, double v, int prec);
void	 rep_str(const char *key, const char *v);
void	 rep_end(void);
void	 rep_row(const char *label, double v, int prec, const char *unit,
	    double floor, double ratio, const char *budget, int verdict);
void	 rep_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
