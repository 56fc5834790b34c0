/*
 * listen.c: the client socket: its default path, the runtime directory, a
 * stale socket left by a dead daemon, mode and group; or the socket systemd
 * passed. Accepted connections go to conn.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "config.h"
#include "snakebridged.h"

static struct evconnlistener	*listen_ev;
static struct event		*listen_pause_ev;
static char			*listen_path;	/* ours to unlink */

char *
listen_default_path(void)
{
	const char *env = getenv("SNAKEBRIDGE_SOCKET");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *path;
	int rc;

	if (env != NULL && *env != '\0')
		rc = asprintf(&path, "%s", env);
	else if (geteuid() == 0)
		rc = asprintf(&path, "/run/snakebridged/snakebridged.sock");
	else if (xdg != NULL && *xdg != '\0')
		rc = asprintf(&path, "%s/snakebridged.sock", xdg);
	else
		rc = asprintf(&path, "/tmp/snakebridged-%u/snakebridged.sock",
		    (unsigned)geteuid());
	if (rc == -1)
		abort();
	return (path);
}

/* Create the socket's directory (0755) if it is missing. */
static int
listen_mkdir(const char *path)
{
	char dir[PATH_MAX], *slash;

	if (strlen(path) >= sizeof dir)
		return (-1);
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return (0);
	*slash = '\0';
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		log_errno("mkdir %s", dir);
		return (-1);
	}
	return (0);
}

/* Is a daemon listening on path? Removes the socket if nothing is. */
static int
listen_clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1)
		return (0);
	if (!S_ISSOCK(st.st_mode)) {
		log_error("%s exists and is not a socket", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	close(fd);
	if (rc == 0) {
		log_error("another daemon is listening on %s", path);
		return (-1);
	}
	log_info("removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		log_errno("unlink %s", path);
		return (-1);
	}
	return (0);
}

static int
listen_create(const struct config *conf, const char *path)
{
	struct sockaddr_un sun;
	struct group *gr;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		log_error("socket path too long: %s", path);
		return (-1);
	}
	strcpy(sun.sun_path, path);
	if (listen_mkdir(path) != 0 || listen_clear_stale(path, &sun) != 0)
		return (-1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		log_errno("socket");
		return (-1);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		log_errno("bind %s", path);
		close(fd);
		return (-1);
	}
	if ((listen_path = strdup(path)) == NULL)
		abort();
	if (chmod(path, conf->socket_mode) == -1)
		log_errno("chmod %s", path);
	if (conf->socket_group != NULL) {
		if ((gr = getgrnam(conf->socket_group)) == NULL)
			log_warn("socket_group %s: no such group",
			    conf->socket_group);
		else if (chown(path, (uid_t)-1, gr->gr_gid) == -1)
			log_errno("chown %s", path);
	}
	if (listen(fd, 128) == -1) {
		log_errno("listen");
		close(fd);
		return (-1);
	}
	return (fd);
}

static void
listen_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	conn_accept(fd);
}

static void
listen_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	if (listen_ev != NULL)
		evconnlistener_enable(listen_ev);
}

/* accept failed (EMFILE and friends): pause briefly rather than spin. */
static void
listen_error_cb(struct evconnlistener *l, void *arg)
{
	log_errno("accept");
	evconnlistener_disable(l);
	if (listen_pause_ev == NULL)
		listen_pause_ev = evtimer_new(sbd.base, listen_resume_cb, NULL);
	sbd_timer_add(listen_pause_ev, 100);
}

/* The path a passed socket is bound to, or NULL. */
static char *
listen_fd_path(int fd)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	char *path;

	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_family != AF_UNIX || sun.sun_path[0] == '\0')
		return (NULL);
	sun.sun_path[sizeof sun.sun_path - 1] = '\0';
	if ((path = strdup(sun.sun_path)) == NULL)
		abort();
	return (path);
}

int
listen_open(const struct config *conf, const char *path)
{
	char *real;
	int fd;

	if ((fd = notify_listen_fd()) >= 0) {
		log_debug("using the socket passed by systemd");
		if ((real = listen_fd_path(fd)) != NULL) {
			free(sbd.socket_path);
			sbd.socket_path = real;
		}
	} else if ((fd = listen_create(conf, path)) == -1)
		return (-1);
	evutil_make_socket_nonblocking(fd);
	listen_ev = evconnlistener_new(sbd.base, listen_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (listen_ev == NULL) {
		log_error("cannot listen on %s", sbd.socket_path);
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(listen_ev, listen_error_cb);
	return (0);
}

void
listen_close(void)
{
	if (listen_ev != NULL) {
		evconnlistener_free(listen_ev);
		listen_ev = NULL;
	}
	if (listen_pause_ev != NULL) {
		event_free(listen_pause_ev);
		listen_pause_ev = NULL;
	}
	if (listen_path != NULL) {
		unlink(listen_path);
		free(listen_path);
		listen_path = NULL;
	}
}
