/*
 * notify.c: everything that talks to systemd: readiness and stopping
 * notifications and socket activation. Without libsystemd these are no-ops.
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
#endif
