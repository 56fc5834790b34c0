/*
 * floorrun.c: the floor of this machine measured in the same run: bench/floor
 * (beside sbbench) runs with --json and its lines are read back into figures.
 */
#include <sys/wait.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbbench.h"

/* The number after "key": in a JSON line; NaN if it is not there. */
static double
flr_field(const char *line, const char *key)
{
	char		 pat[64];
	const char	*p;
	char		*end;
	double		 v;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(line, pat)) == NULL)
		return (NAN);
	v = strtod(p + strlen(pat), &end);
	return (end == p + strlen(pat) ? NAN : v);
}

/* Whether the line is the object of the named bench. */
static int
flr_is(const char *line, const char *bench)
{
	char	 pat[80];

	snprintf(pat, sizeof(pat), "\"bench\": \"%s\"", bench);
	return (strstr(line, pat) != NULL);
}

static void
flr_take(const char *line, struct flr_figures *f)
{
	if (flr_is(line, "floor_pair")) {
		f->pair_p50 = flr_field(line, "p50_us");
		f->pair_p99 = flr_field(line, "p99_us");
		f->pair_mean = flr_field(line, "mean_us");
	} else if (flr_is(line, "floor_relay")) {
		f->relay_p50 = flr_field(line, "p50_us");
		f->relay_p99 = flr_field(line, "p99_us");
		f->relay_mean = flr_field(line, "mean_us");
	} else if (flr_is(line, "floor_relay_pipelined"))
		f->relay_pipelined = flr_field(line, "msgs_per_s");
	else if (flr_is(line, "floor_relay_pipelined_4conn"))
		f->relay_pipelined4 = flr_field(line, "msgs_per_s");
	else if (flr_is(line, "floor_bytes_10MB"))
		f->bytes_10mb = flr_field(line, "ms");
	else if (flr_is(line, "floor_bytes_100MB"))
		f->bytes_100mb_gbs = flr_field(line, "gb_per_s");
}

/* No floor figures (NaN everywhere: ratios then come out NaN too). */
void
flr_none(struct flr_figures *f)
{
	f->pair_p50 = f->pair_p99 = f->pair_mean = NAN;
	f->relay_p50 = f->relay_p99 = f->relay_mean = NAN;
	f->relay_pipelined = f->relay_pipelined4 = NAN;
	f->bytes_10mb = f->bytes_100mb_gbs = NAN;
}

/* Run bench/floor --json -n ROUNDS; every figure it gave is filled in. */
int
flr_run(const struct bench_conf *bc, struct flr_figures *f)
{
	char	 path[PATH_MAX], rounds[32], line[1024];
	FILE	*in;
	pid_t	 pid;
	int	 fds[2], status;

	flr_none(f);
	if (snprintf(path, sizeof(path), "%s/floor", bc->exedir) >=
	    (int)sizeof(path))
		return (-1);
	snprintf(rounds, sizeof(rounds), "%d", bc->rounds);
	if (pipe(fds) == -1)
		return (-1);
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return (-1);
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(path, "floor", "--json", "-n", rounds, (char *)NULL);
		fprintf(stderr, "sbbench: exec %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	if ((in = fdopen(fds[0], "r")) == NULL) {
		close(fds[0]);
		waitpid(pid, &status, 0);
		return (-1);
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		flr_take(line, f);
		if (bc->json)
			fputs(line, stdout);
	}
	fclose(in);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return (-1);
	return (0);
}
