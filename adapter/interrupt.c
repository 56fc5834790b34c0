/*
 * interrupt.c: interrupts that target one request (docs/internals.md,
 * "Pipelining"). The daemon sends SIGINT with sigqueue and the wid of the
 * request it means; the handler raises KeyboardInterrupt (through Python's
 * own SIGINT handling) only while that request runs, so a request that
 * finished meanwhile does not pass the interrupt on to the next one. A
 * plain kill still interrupts whatever runs.
 */
#include "adapter.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* The wid of the request running, as the daemon sends it. */
static volatile sig_atomic_t	 interrupt_wid;

static void
interrupt_handler(int sig, siginfo_t *si, void *uc)
{
	int	 saved = errno;

	if (si == NULL || si->si_code != SI_QUEUE ||
	    si->si_value.sival_int == interrupt_wid)
		PyErr_SetInterruptEx(SIGINT);
	errno = saved;
}

/* Install the handler in place of Python's (after Python started). */
int
interrupt_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = interrupt_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	return (sigaction(SIGINT, &sa, NULL));
}

/* The request wid runs from now on; returns the one it replaces. */
uint32_t
interrupt_running(uint32_t wid)
{
	uint32_t	 old = (uint32_t)interrupt_wid;

	interrupt_wid = (sig_atomic_t)wid;
	return (old);
}
