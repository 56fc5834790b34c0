/*
 * floor.c: the physical floor of this machine for snakebridge's shape of
 * work, so that every benchmark run can report ratios measured in the same
 * run: a 64-byte round trip between two processes over a socketpair, the
 * same through a relay process in the middle (the daemon's shape), relayed
 * pipelined throughput, and a bulk transfer over a socketpair.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MSG_SIZE	64
#define MAX_CONNS	8	/* connections of the multi-connection floor */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e6 + ts.tv_nsec / 1e3);
}

static void
full_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err(1, "write");
		p += n;
		len -= (size_t)n;
	}
}

/* Read exactly len bytes; 0 at a clean end of stream before any byte. */
static int
full_read(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;
	size_t got = 0;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(1, "read");
		if (n == 0) {
			if (got == 0)
				return (0);
			errx(1, "short read");
		}
		got += (size_t)n;
	}
	return (1);
}

/* Echo fixed-size messages until the peer closes. */
static void
serve_echo(int fd)
{
	char buf[MSG_SIZE];

	while (full_read(fd, buf, sizeof(buf)))
		full_write(fd, buf, sizeof(buf));
	_exit(0);
}

/*
 * Forward bytes both ways between the fds of each pair (fds[2i] and
 * fds[2i + 1]) until any of them closes.
 */
static void
serve_relay_pairs(const int *fds, int npairs)
{
	struct pollfd pfd[2 * MAX_CONNS];
	char buf[65536];
	ssize_t n;
	int i;

	for (i = 0; i < 2 * npairs; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	for (;;) {
		if (poll(pfd, (nfds_t)(2 * npairs), -1) < 0) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		for (i = 0; i < 2 * npairs; i++) {
			if ((pfd[i].revents & (POLLIN | POLLHUP)) == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n <= 0)
				_exit(0);
			full_write(pfd[i ^ 1].fd, buf, (size_t)n);
		}
	}
}

/* Forward bytes both ways between a and b until either closes. */
static void
serve_relay(int a, int b)
{
	int fds[2] = { a, b };

	serve_relay_pairs(fds, 1);
}

static pid_t
spawn(void (*fn)(int, int), int a, int b, int close_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		err(1, "fork");
	if (pid == 0) {
		if (close_fd >= 0)
			close(close_fd);
		fn(a, b);
	}
	return (pid);
}

static void
echo_entry(int fd, int unused)
{
	(void)unused;
	serve_echo(fd);
}

/*
 * Build a chain to an echo server: directly, or through a relay. Returns
 * the client's fd; pids[] receives the children to reap.
 */
static int
make_chain(int relayed, pid_t pids[2])
{
	int sv[2], rv[2];

	pids[1] = -1;
	if (relayed) {
		/* The echo server first, so it holds no end of sv. */
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, rv) < 0)
			err(1, "socketpair");
		pids[0] = spawn(echo_entry, rv[1], -1, rv[0]);
		close(rv[1]);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		err(1, "socketpair");
	if (!relayed) {
		pids[0] = spawn(echo_entry, sv[1], -1, sv[0]);
		close(sv[1]);
		return (sv[0]);
	}
	pids[1] = spawn(serve_relay, sv[1], rv[0], sv[0]);
	close(sv[1]);
	close(rv[0]);
	return (sv[0]);
}

static void
end_chain(int fd, pid_t pids[2])
{
	close(fd);
	waitpid(pids[0], NULL, 0);
	if (pids[1] > 0)
		waitpid(pids[1], NULL, 0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

struct latency {
	double	p50, p99, mean;
};

/* Serial round trips: one message out, its echo back. */
static struct latency
measure_rtt(int relayed, int n)
{
	char msg[MSG_SIZE] = { 0 };
	double *t = calloc((size_t)n, sizeof(*t)), sum = 0, t0;
	struct latency l;
	pid_t pids[2];
	int fd = make_chain(relayed, pids), i;

	if (t == NULL)
		err(1, "calloc");
	for (i = 0; i < n / 10; i++) {	/* warm up */
		full_write(fd, msg, sizeof(msg));
		full_read(fd, msg, sizeof(msg));
	}
	for (i = 0; i < n; i++) {
		t0 = now_us();
		full_write(fd, msg, sizeof(msg));
		full_read(fd, msg, sizeof(msg));
		t[i] = now_us() - t0;
		sum += t[i];
	}
	end_chain(fd, pids);
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	l.p50 = t[n / 2];
	l.p99 = t[(size_t)n * 99 / 100];
	l.mean = sum / n;
	free(t);
	return (l);
}

/* Relayed messages per second with `depth` messages kept in flight. */
static double
measure_pipelined(int n, int depth)
{
	char msg[MSG_SIZE] = { 0 };
	pid_t pids[2];
	int fd = make_chain(1, pids), sent = 0, got = 0;
	double t0 = now_us();

	while (got < n) {
		while (sent < n && sent - got < depth) {
			full_write(fd, msg, sizeof(msg));
			sent++;
		}
		full_read(fd, msg, sizeof(msg));
		got++;
	}
	t0 = now_us() - t0;
	end_chain(fd, pids);
	return (n / (t0 / 1e6));
}

/* In a forked child: close every descriptor above stderr but keep[]. */
static void
close_others(const int *keep, int nkeep)
{
	int fd, i, kept;

	for (fd = 3; fd < 1024; fd++) {
		for (i = 0, kept = 0; i < nkeep && !kept; i++)
			kept = keep[i] == fd;
		if (!kept)
			close(fd);
	}
}

/*
 * nconns connections through one relay process, each to its own echo
 * server (a daemon with a worker per connection). cfds[] receives the
 * client ends, pids[] the nconns + 1 children.
 */
static void
make_relay_conns(int nconns, int *cfds, pid_t *pids)
{
	int relay[2 * MAX_CONNS], sv[2], rv[2], i;

	for (i = 0; i < nconns; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, rv) < 0 ||
		    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			err(1, "socketpair");
		if ((pids[i] = fork()) < 0)
			err(1, "fork");
		if (pids[i] == 0) {
			close_others(&rv[1], 1);
			serve_echo(rv[1]);
		}
		close(rv[1]);
		cfds[i] = sv[0];
		relay[2 * i] = sv[1];
		relay[2 * i + 1] = rv[0];
	}
	if ((pids[nconns] = fork()) < 0)
		err(1, "fork");
	if (pids[nconns] == 0) {
		close_others(relay, 2 * nconns);
		serve_relay_pairs(relay, nconns);
	}
	for (i = 0; i < 2 * nconns; i++)
		close(relay[i]);
}

/*
 * Relayed messages per second over nconns connections, depth in flight on
 * each; whatever has arrived on a connection is taken in one read.
 */
static double
measure_pipelined_conns(int n, int depth, int nconns)
{
	char msg[MSG_SIZE] = { 0 }, *buf;
	struct pollfd pfd[MAX_CONNS];
	pid_t pids[MAX_CONNS + 1];
	int fds[MAX_CONNS], inflight[MAX_CONNS] = { 0 };
	size_t part[MAX_CONNS] = { 0 }, want;
	int sent = 0, got = 0, i;
	ssize_t r;
	double t0;

	if ((buf = malloc((size_t)depth * MSG_SIZE)) == NULL)
		err(1, "malloc");
	make_relay_conns(nconns, fds, pids);
	t0 = now_us();
	while (got < n) {
		for (i = 0; i < nconns; i++) {
			while (sent < n && inflight[i] < depth) {
				full_write(fds[i], msg, sizeof(msg));
				inflight[i]++;
				sent++;
			}
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)nconns, -1) < 0 && errno != EINTR)
			err(1, "poll");
		for (i = 0; i < nconns; i++) {
			if ((pfd[i].revents & (POLLIN | POLLHUP)) == 0)
				continue;
			want = (size_t)inflight[i] * MSG_SIZE - part[i];
			if ((r = read(fds[i], buf, want)) <= 0)
				errx(1, "relay closed");
			part[i] += (size_t)r;
			inflight[i] -= (int)(part[i] / MSG_SIZE);
			got += (int)(part[i] / MSG_SIZE);
			part[i] %= MSG_SIZE;
		}
	}
	t0 = now_us() - t0;
	for (i = 0; i < nconns; i++)
		close(fds[i]);
	for (i = 0; i <= nconns; i++)
		waitpid(pids[i], NULL, 0);
	free(buf);
	return (n / (t0 / 1e6));
}

static void
sink_entry(int fd, int unused)
{
	char *buf = malloc(1 << 20);
	ssize_t n;

	(void)unused;
	if (buf == NULL)
		_exit(1);
	while ((n = read(fd, buf, 1 << 20)) > 0)
		;
	_exit(0);
}

/* Milliseconds to move `bytes` through a socketpair to another process. */
static double
measure_bulk(size_t bytes)
{
	char *buf = malloc(bytes);
	int sv[2];
	pid_t pid;
	double t0;

	if (buf == NULL)
		err(1, "malloc");
	memset(buf, 'x', bytes);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		err(1, "socketpair");
	pid = spawn(sink_entry, sv[1], -1, sv[0]);
	close(sv[1]);
	t0 = now_us();
	full_write(sv[0], buf, bytes);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	t0 = now_us() - t0;
	free(buf);
	return (t0 / 1e3);
}

int
main(int argc, char **argv)
{
	struct latency pair, relay;
	double pipe1, pipe4, bulk10, bulk100;
	int json = 0, n = 20000, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: floor [--json] [-n ROUNDS]\n");
			return (2);
		}
	}
	if (n < 100)
		n = 100;
	signal(SIGPIPE, SIG_IGN);
	pair = measure_rtt(0, n);
	relay = measure_rtt(1, n);
	pipe1 = measure_pipelined(n * 5, 32);
	pipe4 = measure_pipelined_conns(n * 5, 32, 4);
	bulk10 = measure_bulk(10u << 20);
	bulk100 = measure_bulk(100u << 20);
	if (json) {
		printf("{\"bench\": \"floor_pair\", \"p50_us\": %.2f, "
		    "\"p99_us\": %.2f, \"mean_us\": %.2f}\n",
		    pair.p50, pair.p99, pair.mean);
		printf("{\"bench\": \"floor_relay\", \"p50_us\": %.2f, "
		    "\"p99_us\": %.2f, \"mean_us\": %.2f}\n",
		    relay.p50, relay.p99, relay.mean);
		printf("{\"bench\": \"floor_relay_pipelined\", "
		    "\"msgs_per_s\": %.0f}\n", pipe1);
		printf("{\"bench\": \"floor_relay_pipelined_4conn\", "
		    "\"msgs_per_s\": %.0f}\n", pipe4);
		printf("{\"bench\": \"floor_bytes_10MB\", \"ms\": %.3f}\n",
		    bulk10);
		printf("{\"bench\": \"floor_bytes_100MB\", \"ms\": %.3f, "
		    "\"gb_per_s\": %.3f}\n", bulk100,
		    (100u << 20) / 1e9 / (bulk100 / 1e3));
		return (0);
	}
	printf("%-26s %10s %10s %10s\n", "floor", "p50 us", "p99 us",
	    "mean us");
	printf("%-26s %10.2f %10.2f %10.2f\n", "socketpair round trip",
	    pair.p50, pair.p99, pair.mean);
	printf("%-26s %10.2f %10.2f %10.2f\n", "relayed round trip",
	    relay.p50, relay.p99, relay.mean);
	printf("%-26s %10.0f msgs/s\n", "relayed, 32 in flight", pipe1);
	printf("%-26s %10.0f msgs/s\n", "relayed, 4 conns x 32", pipe4);
	printf("%-26s %10.3f ms\n", "10 MB over a socketpair", bulk10);
	printf("%-26s %10.3f ms (%.2f GB/s)\n", "100 MB over a socketpair",
	    bulk100, (100u << 20) / 1e9 / (bulk100 / 1e3));
	return (0);
}
