/*
 * interrupt.c: interrupts that target one request (docs/internals.md,
 * "Pipelining"). The daemon sends SIGINT with sigqueue and the wid of the
 * request it means; the handler raises KeyboardInterrupt (through Python's
 * own SIGINT handling) only while that request runs, so a request that
 * finished meanwhile does not pass the interrupt on to the next one. One
 * that comes before its request starts (the daemon counts a request as
 * running once it is sent) is kept and raised when that request starts.
 * A plain kill still interrupts whatever runs. SB_SIG_NUDGE, which the
 * daemon sends while it waits for an interrupted request, has no other
 * effect than to end a blocking call, so that Python raises an interrupt
 * that came just before the call.
 */
#include "adapter.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/*
 * The wid of the request running, and of the latest interrupt, as the
 * daemon sends them. The handler may run on any thread (libraries start
 * their own), at the same time as interrupt_running, so both are atomic and
 * each side stores before it loads the other's: whichever comes second
 * sees the first, and the interrupt is raised once or twice, never lost.
 */
static int	 interrupt_wid;
static int	 interrupt_early;

static void
interrupt_handler(int sig, siginfo_t *si, void *uc)
{
	int	 saved = errno;

	if (si == NULL || si->si_code != SI_QUEUE)
		PyErr_SetInterruptEx(SIGINT);	/* a plain kill */
	else {
		__atomic_store_n(&interrupt_early, si->si_value.sival_int,
		    __ATOMIC_SEQ_CST);
		if (si->si_value.sival_int ==
		    __atomic_load_n(&interrupt_wid, __ATOMIC_SEQ_CST))
			PyErr_SetInterruptEx(SIGINT);
	}
	errno = saved;
}

static void
interrupt_nudged(int sig)
{
	(void)sig;
}

/*
 * Install the handlers, SIGINT's in place of Python's (after Python
 * started); neither restarts the call it interrupts.
 */
int
interrupt_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = interrupt_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0)
		return (-1);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = interrupt_nudged;
	sigemptyset(&sa.sa_mask);
	return (sigaction(SB_SIG_NUDGE, &sa, NULL));
}

/*
 * The request wid runs from now on (0: none); returns the one it replaces.
 * An interrupt that came for it before it ran is raised now. wids are never
 * reused, so an early interrupt for a request that never runs stays unused.
 */
uint32_t
interrupt_running(uint32_t wid)
{
	int	 old;

	old = __atomic_exchange_n(&interrupt_wid, (int)wid, __ATOMIC_SEQ_CST);
	if (wid != 0 && __atomic_load_n(&interrupt_early, __ATOMIC_SEQ_CST) ==
	    (int)wid) {
		__atomic_store_n(&interrupt_early, 0, __ATOMIC_SEQ_CST);
		PyErr_SetInterruptEx(SIGINT);
	}
	return ((uint32_t)old);
}
