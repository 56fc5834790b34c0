/*
 * notify.c: everything that talks to systemd: readiness (READY=1 once the
 * config is loaded, the socket listens and every pool has a ready worker),
 * RELOADING=1 with MONOTONIC_USEC on reload, STOPPING=1, a STATUS= line
 * (workers, sessions, calls) refreshed at most once a second when something
 * changed, the watchdog (pinged from the event loop at half its interval)
 * and socket activation. Without libsystemd messages go nowhere.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "snakebridged.h"

#define NOTIFY_STATUS_MS	1000	/* at most one STATUS= a second */

static int		 notify_waiting = 1;	/* READY=1 not sent yet */
static struct event	*notify_status_ev;
static struct event	*notify_watchdog_ev;

#ifdef HAVE_SYSTEMD
static void
notify_send(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sd_notify(0, msg);
}

int
notify_listen_fd(void)
{
	int n = sd_listen_fds(1);

	if (n < 1)
		return (-1);
	if (n > 1)
		log_warn("systemd passed %d sockets, using the first", n);
	return (SD_LISTEN_FDS_START);
}

/* The watchdog interval in microseconds, 0 when not asked for. */
static uint64_t
notify_watchdog_usec(void)
{
	uint64_t usec;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return (0);
	return (usec);
}
#else
static void
notify_send(const char *fmt, ...)
{
}

int
notify_listen_fd(void)
{
	return (-1);
}

static uint64_t
notify_watchdog_usec(void)
{
	return (0);
}
#endif

static void
notify_count_ready(struct worker *w, void *arg)
{
	unsigned *n = arg;

	if (w->pool->retired || w->retire)
		return;
	n[1]++;
	if (w->state == WORKER_IDLE || w->state == WORKER_BUSY)
		n[0]++;
}

static void
notify_status_now(void)
{
	unsigned n[2] = { 0, 0 };

	pool_foreach_worker(notify_count_ready, n);
	notify_send("STATUS=%u/%u workers ready, %u sessions, %llu calls",
	    n[0], n[1], session_count(),
	    (unsigned long long)metrics_calls());
}

static void
notify_status_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_status_now();
}

/* Something STATUS= shows changed: send it within a second. */
void
notify_status_changed(void)
{
	if (notify_status_ev == NULL || evtimer_pending(notify_status_ev, NULL))
		return;
	sbd_timer_add(notify_status_ev, NOTIFY_STATUS_MS);
}

/* Does every active pool have a worker that answers? */
static int
notify_pools_ready(void)
{
	struct pool *p;
	unsigned i, j, ok;

	for (i = 0; i < pool_count(); i++) {
		p = pool_by_id(i);
		if (p->retired || p->size == 0)
			continue;
		for (ok = 0, j = 0; j < p->nworkers && !ok; j++)
			ok = p->workers[j]->state == WORKER_IDLE ||
			    p->workers[j]->state == WORKER_BUSY;
		if (!ok)
			return (0);
	}
	return (1);
}

/*
 * A worker became ready (or a reload was applied): send READY=1 once every
 * pool has one, and refresh STATUS= in any case.
 */
void
notify_check_ready(void)
{
	notify_status_changed();
	if (!notify_waiting || sbd.shutting_down || !notify_pools_ready())
		return;
	notify_waiting = 0;
	notify_status_now();
	notify_send("READY=1");
	log_info("ready");
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

/* A reload begins: READY=1 follows once its pools are ready. */
void
notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_waiting = 1;
}

static void
notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
}

/*
 * Timers in the main loop: STATUS='s when there is a service manager to
 * tell, the watchdog's when it asks for pings.
 */
void
notify_start(struct event_base *base)
{
	uint64_t usec = notify_watchdog_usec() / 2;
	struct timeval tv;

	if (getenv("NOTIFY_SOCKET") != NULL)
		notify_status_ev = evtimer_new(base, notify_status_cb, NULL);
	if (usec == 0)
		return;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	notify_watchdog_ev = event_new(base, -1, EV_PERSIST,
	    notify_watchdog_cb, NULL);
	evtimer_add(notify_watchdog_ev, &tv);
	log_debug("systemd watchdog: pinging every %llu ms",
	    (unsigned long long)(usec / 1000));
}

void
notify_stop(void)
{
	if (notify_watchdog_ev != NULL) {
		event_free(notify_watchdog_ev);
		notify_watchdog_ev = NULL;
	}
	if (notify_status_ev != NULL) {
		event_free(notify_status_ev);
		notify_status_ev = NULL;
	}
}
