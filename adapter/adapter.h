/*
 * adapter.h: the internal interfaces of snakebridge-worker, one section per
 * file: Python start-up (pyinit.c), the channel loop (channel.c, which
 * unpacks with common/unpack.c), the codec (codec_encode.c,
 * codec_decode.c), ref tables (refs.c), the cache of modules and callables
 * (cache.c), the module policy (policy.c), error capture (pyerr.c),
 * callback proxies (callback.c), streaming (stream.c), client shared blocks
 * (shm.c) and request dispatch (dispatch.c).
 * Include it first in every file: Python.h must precede system headers.
 */
#ifndef SB_ADAPTER_H
#define SB_ADAPTER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include <msgpack.h>

#include "errpack.h"
#include "sbproto.h"
#include "scan.h"
#include "shmarray.h"
#include "unpack.h"

/*
 * Container nesting the encoder produces at most; a deeper subtree becomes a
 * ref. msgpack-c unpacks at most 32 nested non-empty containers (its fixed
 * unpack stack), so every peer using it can decode what the worker sends;
 * the margin is for the response envelope, the error map and its args list.
 */
#define CODEC_UNPACK_DEPTH	32
#define CODEC_MAX_DEPTH		(CODEC_UNPACK_DEPTH - 4)

/* Who this worker is and what it may hold (from argv). */
struct worker_identity {
	uint16_t	 pool_id;
	uint16_t	 slot;
	uint32_t	 generation;
	size_t		 max_refs;	/* per session, 0 = unlimited */
	size_t		 max_message;
	int		 shm_fd;	/* block channel, -1 = none */
};
extern struct worker_identity	worker_id;

/* pyinit.c */
struct pyinit_options {
	const char	**paths;
	size_t		  npaths;
};
int		 pyinit_start(const struct pyinit_options *);
int		 pyinit_preload(const char *, PyObject *failed);
int		 pyinit_have_numpy(void);
void		 pyinit_stop(void);

/* pyerr.c: exceptions of snakebridge's own error types. */
int		 pyerr_init(void);
PyObject	*pyerr_set(enum sb_errtype, const char *, ...)
		     __attribute__((format(printf, 2, 3)));
PyObject	*pyerr_set_limit(const char *, long long);
PyObject	*pyerr_rewrap(enum sb_errtype, const char *);
int		 pyerr_is_sb(PyObject *);
void		 pyerr_pack(msgpack_packer *, uint64_t);

/*
 * Large bytes-like payloads of a response are written to the channel from
 * the Python object's own memory instead of being copied into the message
 * buffer: each is a hole in the buffer, filled at pos when sent.
 */
#define CODEC_DIRECT_MIN	(256 * 1024)
struct codec_hole {
	size_t		 pos;		/* offset in the buffer it precedes */
	Py_buffer	 view;		/* holds its object */
};
struct codec_holes {
	struct codec_hole	*v;
	size_t			 n, cap;
	size_t			 bytes;		/* sum of the views' lengths */
};

/* codec_encode.c */
int		 codec_encode(msgpack_sbuffer *, PyObject *, uint64_t);
int		 codec_encode_ref(msgpack_sbuffer *, PyObject *, uint64_t);
int		 codec_encode_direct(msgpack_sbuffer *, struct codec_holes *,
		    PyObject *, uint64_t, uint64_t);
void		 codec_holes_release(struct codec_holes *, size_t);

/*
 * The received message being decoded: an ndarray of at least
 * CODEC_DIRECT_MIN bytes in it, aligned for its dtype, becomes an array over
 * the message's memory, which then moves into a msgbuf that the array keeps
 * alive (mem is NULL afterwards).
 */
struct codec_msg {
	char		*mem;	/* malloc'd, holding the message */
	char		*p;	/* the message: len bytes in mem */
	size_t		 len;
	PyObject	*buf;	/* the msgbuf, once made */
};

/* codec_decode.c */
struct codec_msg *codec_msg_enter(struct codec_msg *);
void		 codec_msg_leave(struct codec_msg *);
PyObject	*codec_decode(const msgpack_object *, uint64_t, uint64_t);
PyObject	*codec_decode_args(const msgpack_object *, uint64_t, uint64_t);
int		 codec_decode_argv(const msgpack_object *, uint64_t, uint64_t,
		    PyObject **);
PyObject	*codec_decode_kwargs(const msgpack_object *, uint64_t, uint64_t);
PyObject	*codec_decode_reply(const msgpack_object *, uint64_t);
PyObject	*codec_numpy(void);

/* msgbuf.c */
int		 msgbuf_init(void);
PyObject	*msgbuf_new(char *, char *, size_t);

/*
 * shm.c: client shared blocks. shm_in_block(conn, p, len, ...) is 1 when
 * len bytes at p lie in a block of connection conn (its id and the offset
 * of p in it set); with no block it costs one test of shm_nblocks.
 */
extern size_t	 shm_nblocks;
int		 shm_init(void);
PyObject	*shm_block_for(uint64_t, const struct sb_shmarray *);
int		 shm_locate(uint64_t, const void *, size_t, uint64_t *,
		    uint64_t *);
void		 shm_detach(uint64_t);
void		 shm_clear(void);
static inline int
shm_in_block(uint64_t conn, const void *p, size_t len, uint64_t *block,
    uint64_t *offset)
{
	if (shm_nblocks == 0 || conn == 0)
		return (0);
	return (shm_locate(conn, p, len, block, offset));
}

/* refs.c */
int		 refs_add(uint64_t, PyObject *, uint64_t *);
void		 refs_forget(uint64_t, uint64_t);
PyObject	*refs_resolve(const void *, size_t, uint64_t);
int		 refs_release(const void *, size_t, uint64_t);
long long	 refs_drop_session(uint64_t);
PyObject	*refs_stats(void);
void		 refs_clear(void);

/*
 * policy.c: the module policy. policy_check(obj) is 0 for anything but a
 * module the lists refuse (then -1 with ModuleNotAllowed set); without
 * lists it costs one test of policy_active.
 */
extern int	 policy_active;
int		 policy_add(int, const char *);
int		 policy_check_name(const char *, size_t);
int		 policy_check_module(PyObject *);
static inline int
policy_check(PyObject *obj)
{
	if (!policy_active || !PyModule_Check(obj))
		return (0);
	return (policy_check_module(obj));
}

/* cache.c */
PyObject	*cache_module(const char *, size_t);
PyObject	*cache_callable(const char *, size_t, const char *, size_t);
PyObject	*cache_getattr_path(PyObject *, const char *, size_t);
void		 cache_clear(void);

struct channel;

/* callback.c */
int		 callback_init(void);
void		 callback_set_channel(struct channel *);
PyObject	*callback_new(uint64_t, uint64_t);

/* stream.c: batches bounded by count, bytes and time; credit flow control. */
#define STREAM_BATCH_ITEMS	64
#define STREAM_BATCH_BYTES	(64 * 1024)
#define STREAM_BATCH_MS		5
#define STREAM_CREDITS		4	/* unacknowledged batches at most */
PyObject	*stream_run(struct channel *, uint32_t, uint64_t, PyObject *);
void		 stream_ack(uint32_t);

/* channel.c: msgpack-rpc over non-blocking fds, several channels at once. */
struct channel;
struct channel	*channel_open(int, size_t);
int		 channel_send(struct channel *, msgpack_sbuffer *);
int		 channel_send_keep(struct channel *, msgpack_sbuffer *);
int		 channel_send_direct(struct channel *, msgpack_sbuffer *,
		    struct codec_holes *);
int		 channel_notify(struct channel *, const char *, PyObject *);
uint32_t	 channel_next_id(struct channel *);
int		 channel_wait_response(struct channel *, uint32_t,
		     msgpack_sbuffer *);
int		 channel_wait_until(struct channel *, int (*)(void *), void *);
int		 channel_loop(void);
int		 channel_depth(void);
void		 channel_share(int);

/* interrupt.c: SIGINT for one request (sigqueue'd wid). */
#define CHANNEL_WID_AHEAD	0x80000000U	/* a request sent ahead */
int		 interrupt_init(void);
uint32_t	 interrupt_running(uint32_t);

/* dropsig.c: the daemon's signal that a drop notice follows. */
int		 dropsig_init(void);
void		 dropsig_notice(void);
int		 dropsig_pending(void);

/* dispatch.c */
void		 dispatch_request(struct channel *, uint32_t,
		     const msgpack_object *, const msgpack_object *, uint64_t);

#endif
