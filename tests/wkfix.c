/*
 * wkfix.c: the worker binary driven directly over a socketpair (and an
 * optional block channel), for the suites that test the worker itself;
 * see wkfix.h.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbproto.h"
#include "wkfix.h"

#define WK_WAIT_MS	20000

/* fd moved to a descriptor above 9 (close-on-exec). */
static int
wk_high_fd(int fd)
{
	int	 h = fcntl(fd, F_DUPFD_CLOEXEC, 10);

	ck_assert_int_ge(h, 10);
	close(fd);
	return (h);
}

/* A socketpair of type, the worker's end moved above 9. */
static void
wk_pair(int type, int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	sv[1] = wk_high_fd(sv[1]);
}

void
wk_start(struct wk *w, const char *preload, int flags, int out)
{
	const char	*dir = getenv("SB_BUILDDIR");
	const char	*argv[16];
	char		 path[4096];
	int		 sv[2], bv[2] = { -1, -1 }, n = 0;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof path, "%s/adapter/snakebridge-worker", dir);
	argv[n++] = path;
	argv[n++] = "--fd";
	argv[n++] = "3";
	argv[n++] = "--pool";
	argv[n++] = "default";
	argv[n++] = "--pool-id";
	argv[n++] = "0";
	argv[n++] = "--slot";
	argv[n++] = "0";
	argv[n++] = "--generation";
	argv[n++] = "1";
	if (preload != NULL) {
		argv[n++] = "--preload";
		argv[n++] = preload;
	}
	if ((flags & WK_SHM) == WK_SHM) {
		argv[n++] = "--shm-fd";
		argv[n++] = "4";
	}
	argv[n] = NULL;
	wk_pair(SOCK_STREAM, sv);
	if (flags & WK_BLOCKS)
		wk_pair(SOCK_SEQPACKET, bv);
	w->pid = fork();
	ck_assert_int_ge(w->pid, 0);
	if (w->pid == 0) {
		if (out >= 0)
			dup2(out, 1);
		dup2(sv[1], 3);
		if (bv[1] >= 0)
			dup2(bv[1], 4);
		/* The caller's Python settings must not matter. */
		setenv("PYTHONHOME", "/nonexistent", 1);
		setenv("PYTHONPATH", "/nonexistent", 1);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	if (bv[1] >= 0)
		close(bv[1]);
	w->fd = sv[0];
	w->bfd = bv[0];
	msgpack_unpacker_init(&w->up, 1 << 16);
	msgpack_unpacked_init(&w->msg);
}

msgpack_object *
wk_read(struct wk *w)
{
	struct pollfd	 pfd = { w->fd, POLLIN, 0 };
	ssize_t		 n;

	for (;;) {
		if (msgpack_unpacker_next(&w->up, &w->msg) ==
		    MSGPACK_UNPACK_SUCCESS)
			return (&w->msg.data);
		ck_assert_int_eq(poll(&pfd, 1, WK_WAIT_MS), 1);
		msgpack_unpacker_reserve_buffer(&w->up, 65536);
		n = read(w->fd, msgpack_unpacker_buffer(&w->up), 65536);
		ck_assert_int_gt(n, 0);
		msgpack_unpacker_buffer_consumed(&w->up, (size_t)n);
	}
}

void
wk_write(struct wk *w, const void *p, size_t len)
{
	ck_assert_int_eq(write(w->fd, p, len), (ssize_t)len);
}

void
wk_send(struct wk *w, int type, int64_t id, const char *method,
    const msgpack_sbuffer *params)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, id < 0 ? 3 : 4);
	msgpack_pack_int(&pk, type);
	if (id >= 0)
		msgpack_pack_uint32(&pk, (uint32_t)id);
	msgpack_pack_str_with_body(&pk, method, strlen(method));
	msgpack_sbuffer_write(&sb, params->data, params->size);
	wk_write(w, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

void
wk_request(struct wk *w, uint32_t id, const char *method,
    const msgpack_sbuffer *params)
{
	wk_send(w, SB_MSG_REQUEST, id, method, params);
}

const msgpack_object *
wk_response(struct wk *w, uint32_t id, const msgpack_object **result)
{
	msgpack_object	*m = wk_read(w);

	ck_assert_int_eq(m->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_int_eq(m->via.array.size, 4);
	ck_assert_uint_eq(m->via.array.ptr[0].via.u64, SB_MSG_RESPONSE);
	ck_assert_uint_eq(m->via.array.ptr[1].via.u64, id);
	*result = &m->via.array.ptr[3];
	return (m->via.array.ptr[2].type == MSGPACK_OBJECT_NIL ? NULL :
	    &m->via.array.ptr[2]);
}

const msgpack_object *
wk_ready(struct wk *w)
{
	msgpack_object	*m = wk_read(w);

	ck_assert_int_eq(m->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_int_eq(m->via.array.size, 3);
	ck_assert_uint_eq(m->via.array.ptr[0].via.u64, SB_MSG_NOTIFY);
	ck_assert(wk_str_is(&m->via.array.ptr[1], "ready"));
	ck_assert_int_eq(m->via.array.ptr[2].type, MSGPACK_OBJECT_ARRAY);
	ck_assert_int_ge(m->via.array.ptr[2].via.array.size, 1);
	return (&m->via.array.ptr[2].via.array.ptr[0]);
}

void
wk_finish(struct wk *w, int want)
{
	int	 status, i;
	pid_t	 r = 0;

	close(w->fd);
	if (w->bfd >= 0)
		close(w->bfd);
	for (i = 0; i < 200 && (r = waitpid(w->pid, &status, WNOHANG)) == 0;
	    i++)
		usleep(50000);
	if (r == 0) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, &status, 0);
	}
	ck_assert_msg(r == w->pid, "the worker did not exit once its channel "
	    "closed");
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), want);
	msgpack_unpacked_destroy(&w->msg);
	msgpack_unpacker_destroy(&w->up);
}

int
wk_str_is(const msgpack_object *o, const char *s)
{
	return (o->type == MSGPACK_OBJECT_STR && o->via.str.size ==
	    strlen(s) && memcmp(o->via.str.ptr, s, strlen(s)) == 0);
}

const msgpack_object *
wk_map_get(const msgpack_object *map, const char *key)
{
	uint32_t	 i;

	if (map->type != MSGPACK_OBJECT_MAP)
		return (NULL);
	for (i = 0; i < map->via.map.size; i++) {
		if (wk_str_is(&map->via.map.ptr[i].key, key))
			return (&map->via.map.ptr[i].val);
	}
	return (NULL);
}
