/*
 * wkfix.h: the worker binary driven directly, as the daemon drives it:
 * started over a socketpair on fd 3 (and, as an option, a block channel on
 * fd 4), messages read and written on its channel, its ready notice, its
 * responses, and its exit once the channel is closed. Shared by the codec
 * and shmworker suites.
 */
#ifndef WKFIX_H
#define WKFIX_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* A running worker and what has been read from its channel. */
struct wk {
	pid_t			 pid;
	int			 fd;	/* main channel */
	int			 bfd;	/* block channel, or -1 */
	msgpack_unpacker	 up;
	msgpack_unpacked	 msg;
};

/*
 * wk_start flags: WK_BLOCKS, a block channel (SOCK_SEQPACKET) on fd 4;
 * WK_SHM, that channel and the worker told of it (--shm-fd 4).
 */
#define WK_BLOCKS	0x1
#define WK_SHM		0x3

/*
 * Start the worker with --preload preload (NULL: none), the channels flags
 * asks for, and its stdout on out (-1: ours).
 */
void		 wk_start(struct wk *, const char *preload, int flags,
		    int out);
/*
 * The next message from the worker, waiting at most 20 s; it is valid until
 * the next read.
 */
msgpack_object	*wk_read(struct wk *);
/* Write all of p to the worker's channel. */
void		 wk_write(struct wk *, const void *p, size_t len);
/*
 * Send [type, id, method, params] ([type, method, params] if id < 0), with
 * params already packed.
 */
void		 wk_send(struct wk *, int type, int64_t id,
		    const char *method, const msgpack_sbuffer *params);
/* Send a request whose params are already packed in params. */
void		 wk_request(struct wk *, uint32_t id, const char *method,
		    const msgpack_sbuffer *params);
/* The response to id: its error (NULL if none), its result in *result. */
const msgpack_object *wk_response(struct wk *, uint32_t id,
		    const msgpack_object **result);
/* Wait for the ready notice; returns its info map. */
const msgpack_object *wk_ready(struct wk *);
/* Close the channels; the worker must exit with status want. */
void		 wk_finish(struct wk *, int want);

/* 1 if o is the str s. */
int		 wk_str_is(const msgpack_object *o, const char *s);
/* A map's value under a str key, or NULL. */
const msgpack_object *wk_map_get(const msgpack_object *map, const char *key);

#endif
