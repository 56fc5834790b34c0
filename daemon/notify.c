/*
 * notify.c: everything that talks to systemd: readiness, reloading and
 * stopping notifications, the watchdog (pinged from the event loop at half
 * its interval) and socket activation. Without libsystemd these are no-ops.
 */
#include "config.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "snakebridged.h"

#ifdef HAVE_SYSTEMD
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

void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

static struct event *notify_watchdog_ev;

static void
notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

void
notify_watchdog_start(struct event_base *base)
{
	uint64_t usec;
	struct timeval tv;

	if (sd_watchdog_enabled(1, &usec) <= 0 || usec == 0)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	notify_watchdog_ev = event_new(base, -1, EV_PERSIST,
	    notify_watchdog_cb, NULL);
	evtimer_add(notify_watchdog_ev, &tv);
	log_debug("systemd watchdog: pinging every %llu ms",
	    (unsigned long long)(usec / 1000));
}

void
notify_watchdog_stop(void)
{
	if (notify_watchdog_ev != NULL) {
		event_free(notify_watchdog_ev);
		notify_watchdog_ev = NULL;
	}
}
#else
int
notify_listen_fd(void)
{
	return (-1);
}

void
notify_ready(void)
{
}

void
notify_stopping(void)
{
}

void
notify_reloading(void)
{
}

void
notify_watchdog_start(struct event_base *base)
{
}

void
notify_watchdog_stop(void)
{
}
#endif
