/*
 * dropsig.c: the signal that says a drop notice is on its way
 * (docs/internals.md, "Pipelining"). For each [2, "drop", [wid]] it writes,
 * the daemon also sends SB_SIG_DROP; the worker counts the signals and the
 * drop notices it has read, and reads its channel before a request sent
 * ahead only while fewer notices than signals arrived (or before the last
 * one of a run, channel.c). A run of pipelined requests so costs no read
 * per request, yet a drop that is on its way when its request is due is
 * found before the request starts.
 */
#include "adapter.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>

static atomic_uint	 dropsig_signals;	/* SB_SIG_DROP received */
static unsigned		 dropsig_notices;	/* drop notices read */

/* Any thread may take it: only a lock-free atomic is touched. */
static void
dropsig_handler(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&dropsig_signals, 1, memory_order_relaxed);
}

/* Install the handler; restarting calls it interrupts. */
int
dropsig_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = dropsig_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return (sigaction(SB_SIG_DROP, &sa, NULL));
}

/* A drop notice was read from the channel. */
void
dropsig_notice(void)
{
	dropsig_notices++;
}

/*
 * Is a drop notice signalled but not read yet? A notice read before its
 * signal arrived makes the difference negative for a moment.
 */
int
dropsig_pending(void)
{
	unsigned	 n;

	n = atomic_load_explicit(&dropsig_signals, memory_order_relaxed);
	return ((int)(n - dropsig_notices) > 0);
}
