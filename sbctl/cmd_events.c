/*
 * cmd_events.c: "sbctl events [TYPE...]": follow the daemon's event stream
 * (events.subscribe) and print one line per event until the daemon ends the
 * subscription or the connection. It speaks msgpack on its own socket, since
 * events arrive as notifications on an open request.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "sbctl.h"

#define CMD_EVENTS_MSGID	1

static int
cmd_events_connect(const struct sbctl *ctx, char *path, size_t len)
{
	struct sockaddr_un	 sun;
	int			 fd;

	if (ctx->socket != NULL)
		snprintf(path, len, "%s", ctx->socket);
	else if (sb_default_socket_path(path, len) != 0)
		return (-1);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return (-1);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Send [0, 1, "events.subscribe", [[prefix...]]]; 0 or -1. */
static int
cmd_events_subscribe(int fd, int argc, char **argv)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	size_t		 off = 0;
	ssize_t		 n;
	int		 i, rc = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, CMD_EVENTS_MSGID);
	msgpack_pack_str_with_body(&pk, "events.subscribe", 16);
	msgpack_pack_array(&pk, argc > 0 ? 1 : 0);
	if (argc > 0)
		msgpack_pack_array(&pk, (uint32_t)argc);
	for (i = 0; i < argc; i++)
		msgpack_pack_str_with_body(&pk, argv[i], strlen(argv[i]));
	while (off < sb.size) {
		if ((n = send(fd, sb.data + off, sb.size - off,
		    MSG_NOSIGNAL)) == -1 && errno != EINTR) {
			rc = -1;
			break;
		}
		if (n > 0)
			off += (size_t)n;
	}
	msgpack_sbuffer_destroy(&sb);
	return (rc);
}

static void
cmd_events_value(const msgpack_object *v)
{
	switch (v->type) {
	case MSGPACK_OBJECT_STR:
		printf("%.*s", (int)v->via.str.size, v->via.str.ptr);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		printf("%llu", (unsigned long long)v->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		printf("%lld", (long long)v->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		printf("%.3f", v->via.f64);
		break;
	case MSGPACK_OBJECT_NIL:
		printf("-");
		break;
	default:
		printf("?");
		break;
	}
}

/* "HH:MM:SS.mmm TYPE key=value ..." for an event map. */
static void
cmd_events_print(const msgpack_object *ev)
{
	const msgpack_object_kv	*kv;
	const msgpack_object	*type = NULL;
	double			 t = 0;
	time_t			 secs;
	struct tm		 tm;
	uint32_t		 i;

	for (i = 0; i < ev->via.map.size; i++) {
		kv = &ev->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			continue;
		if (kv->key.via.str.size == 4 &&
		    memcmp(kv->key.via.str.ptr, "type", 4) == 0)
			type = &kv->val;
		else if (kv->key.via.str.size == 4 &&
		    memcmp(kv->key.via.str.ptr, "time", 4) == 0 &&
		    kv->val.type == MSGPACK_OBJECT_FLOAT64)
			t = kv->val.via.f64;
	}
	secs = (time_t)t;
	localtime_r(&secs, &tm);
	printf("%02d:%02d:%02d.%03d ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)((t - (double)secs) * 1000));
	if (type != NULL)
		cmd_events_value(type);
	for (i = 0; i < ev->via.map.size; i++) {
		kv = &ev->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR || &kv->val == type ||
		    (kv->key.via.str.size == 4 &&
		    memcmp(kv->key.via.str.ptr, "time", 4) == 0))
			continue;
		printf(" %.*s=", (int)kv->key.via.str.size,
		    kv->key.via.str.ptr);
		cmd_events_value(&kv->val);
	}
	putchar('\n');
	fflush(stdout);
}

/*
 * Handle one message: -1 to go on, or an exit code once the subscription
 * ended (its response).
 */
static int
cmd_events_message(const msgpack_object *m)
{
	const msgpack_object *e = m->via.array.ptr, *err;

	if (m->type != MSGPACK_OBJECT_ARRAY || m->via.array.size < 3 ||
	    e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (-1);
	if (m->via.array.size == 3 && e[0].via.u64 == 2 &&
	    e[1].type == MSGPACK_OBJECT_STR && e[1].via.str.size == 5 &&
	    memcmp(e[1].via.str.ptr, "event", 5) == 0 &&
	    e[2].type == MSGPACK_OBJECT_ARRAY && e[2].via.array.size == 1 &&
	    e[2].via.array.ptr[0].type == MSGPACK_OBJECT_MAP) {
		cmd_events_print(&e[2].via.array.ptr[0]);
		return (-1);
	}
	if (m->via.array.size != 4 || e[0].via.u64 != 1 ||
	    e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    e[1].via.u64 != CMD_EVENTS_MSGID)
		return (-1);
	err = &e[2];
	if (err->type == MSGPACK_OBJECT_NIL)
		return (SBCTL_EXIT_OK);
	fprintf(stderr, "sbctl: events.subscribe failed: ");
	msgpack_object_print(stderr, *err);
	fputc('\n', stderr);
	return (SBCTL_EXIT_ERROR);
}

int
cmd_events_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	msgpack_unpacker	 unp;
	msgpack_unpacked	 msg;
	char			 path[4096];
	ssize_t			 n;
	int			 fd, code = -1;

	if ((fd = cmd_events_connect(ctx, path, sizeof path)) == -1) {
		fprintf(stderr, "sbctl: cannot reach the daemon at %s\n",
		    ctx->socket != NULL ? ctx->socket : "the default socket");
		return (SBCTL_EXIT_UNREACHABLE);
	}
	if (cmd_events_subscribe(fd, argc, argv) != 0 ||
	    !msgpack_unpacker_init(&unp, 64 * 1024)) {
		close(fd);
		return (SBCTL_EXIT_UNREACHABLE);
	}
	msgpack_unpacked_init(&msg);
	while (code < 0) {
		if (msgpack_unpacker_buffer_capacity(&unp) < 4096 &&
		    !msgpack_unpacker_reserve_buffer(&unp, 64 * 1024))
			break;
		n = read(fd, msgpack_unpacker_buffer(&unp),
		    msgpack_unpacker_buffer_capacity(&unp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		msgpack_unpacker_buffer_consumed(&unp, (size_t)n);
		while (code < 0 && msgpack_unpacker_next(&unp, &msg) ==
		    MSGPACK_UNPACK_SUCCESS)
			code = cmd_events_message(&msg.data);
	}
	msgpack_unpacked_destroy(&msg);
	msgpack_unpacker_destroy(&unp);
	close(fd);
	if (code < 0) {
		fprintf(stderr, "sbctl: the daemon closed the connection\n");
		return (SBCTL_EXIT_UNREACHABLE);
	}
	return (code);
}
