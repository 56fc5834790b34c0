/*
 * snakebridged.h: the daemon's shared types and the functions each of its
 * files offers the others (one section per file, by prefix).
 */
#ifndef SNAKEBRIDGED_H
#define SNAKEBRIDGED_H

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <msgpack.h>

#include "conf.h"
#include "log.h"
#include "errpack.h"
#include "mphead.h"
#include "sbproto.h"
#include "scan.h"
#include "shmarray.h"
#include "unpack.h"

#define SBD_VERSION		PACKAGE_VERSION
#define SBD_WORKER_BOUND	4	/* worker messages: 4x client limit */
#define SBD_IO_CHUNK		(4 * 1024 * 1024)	/* per read or write */
#define SBD_BIG_MESSAGE		(64 * 1024)	/* handed over, not copied */
/* evbuffer cleanup: free the block a reference points into. */
void		 sbd_free_block(const void *, size_t, void *);

struct conn;
struct evbuffer;
struct pool;
struct request;
struct session;
struct stream;
struct cbnest;
struct worker;
struct shmblock;

TAILQ_HEAD(requests, request);

/* Global daemon state (snakebridged.c). */
struct daemon {
	struct event_base	*base;
	struct config		*conf;
	char			*socket_path;
	uid_t			 uid;
	double			 started;
	int			 shutting_down;
	char			*worker_bin;
	struct rlimit		 nofile;	/* as started: for workers */
	struct {
		uint64_t	 requests;
		uint64_t	 errors;
		uint64_t	 timeouts;
		uint64_t	 crashes;
		uint64_t	 drain_timeouts;
	} counters;
};
extern struct daemon sbd;

double		 sbd_now(void);
int		 sbd_verbose_level(void);
void		 sbd_timer_add(struct event *, uint64_t ms);
void		 sbd_worker_gone(void);
void		 sbd_worker_done(void);
void		 sbd_shutdown(void);
int		 sbd_reload(char **err);
void		 sbd_cleanup_done(void);

/* frame.c: splitting a byte stream into scanned msgpack messages. */
struct frame {
	struct sb_scan	 scan;
	char		*buf;
	size_t		 len;
	size_t		 cap;
};
/*
 * Called per complete message; return -1 to stop (owner going away). When
 * owned is set, msg is a malloc'd block the callee must free (large
 * messages are handed over instead of copied).
 */
typedef int (*frame_cb)(void *arg, char *msg, size_t len, int owned);
void		 frame_init(struct frame *, size_t max_size, unsigned depth);
void		 frame_free(struct frame *);
/*
 * Read what fd has and hand over complete messages: 0, FRAME_STOPPED when
 * cb stopped, FRAME_CLOSED at EOF or on an error, or a (negative)
 * SB_SCAN_E* code.
 */
#define FRAME_STOPPED	1
#define FRAME_CLOSED	2
#define FRAME_FDS	3	/* too many descriptors, or cut short */
int		 frame_read(struct frame *, int, frame_cb, void *);
/* Descriptors a client sent, oldest first, waiting for shm.attach. */
struct fdqueue {
	int		 fd[SB_SHM_FDS_WAITING];
	unsigned	 n;
};
/* frame_read on a client: descriptors that come with the bytes go to q. */
int		 frame_read_fds(struct frame *, int, struct fdqueue *,
		    frame_cb, void *);

/*
 * io.c: writing header and body; the writes to a peer in one event-loop
 * pass are held in its queue and written with one writev at the end.
 */
struct bufferevent;
struct io_piece;
struct ioq {
	struct evbuffer		*out;		/* the bufferevent's: what waits */
	int			 fd;
	int			 listed;	/* holds output in this pass */
	int			 out_empty;	/* out known empty since */
	char			*buf;		/* held copies */
	size_t			 len;
	size_t			 cap;
	struct io_piece		*piece;		/* held, in order */
	unsigned		 npieces;
	unsigned		 maxpieces;
};
void		 io_init(struct ioq *, struct bufferevent *, int fd);
void		 io_close(struct ioq *);
size_t		 io_write(struct ioq *, const void *, size_t, const void *,
		    size_t, char *block);
void		 io_flush_peer(struct ioq *);
/* Around a read callback: its writes go out at io_end, or the pass's end. */
void		 io_begin(void);
void		 io_end(void);
void		 io_shutdown(void);

/* mpk.c: small msgpack helpers on raw, already scanned bytes. */
/* Decode as msgpack_unpack (strs, bins, exts point into the bytes); length */
size_t		 mpk_unpack(msgpack_unpacked *, const char *, size_t);
void		 mpk_unpacked_done(msgpack_unpacked *);
size_t		 mpk_skip(const char *, size_t);
int		 mpk_array_header(const char *, size_t, uint32_t *,
		    size_t *);
int		 mpk_uint(const char *, size_t, uint64_t *, size_t *);
void		 mpk_str(msgpack_packer *, const char *);
int		 mpk_str_eq(const msgpack_object *, const char *);
char		*mpk_strdup(const msgpack_object *);
const msgpack_object *mpk_map_get(const msgpack_object *, const char *);

/* listen.c */
int		 listen_open(const struct config *, const char *path);
void		 listen_close(void);
char		*listen_default_path(void);

/* notify.c: the only place that talks to systemd. */
int		 notify_listen_fd(void);
void		 notify_check_ready(void);
void		 notify_status_changed(void);
void		 notify_stopping(void);
void		 notify_reloading(void);
void		 notify_start(struct event_base *);
void		 notify_stop(void);

/* metrics.c: counters (stats []), fed by one hook per path. */
double		 metrics_clock(void);
void		 metrics_request_done(struct request *, const char *, size_t);
void		 metrics_dispatched(struct request *, struct worker *);
void		 metrics_worker_exit(struct worker *, int status);
void		 metrics_session_opened(void);
void		 metrics_session_ended(const struct session *);
uint64_t	 metrics_calls(void);
void		 metrics_pack(msgpack_packer *);

/* events.c: events.subscribe and the live event stream. */
void		 events_call_start(const struct request *,
		    const struct worker *);
void		 events_call_stop(const struct request *, double secs,
		    const char *error);
void		 events_session_cleanup(const struct session *);
void		 events_worker_exit(const struct worker *, int status,
		    const char *reason);
void		 events_pack_stats(msgpack_packer *);
void		 events_conn_gone(struct conn *);
void		 events_shutdown(void);

/* conn.c: client connections. */
struct conn {
	uint64_t		 id;
	int			 fd;
	struct bufferevent	*bev;		/* output */
	struct ioq		 out;		/* held writes (io.c) */
	struct event		*rev;		/* input: frame_read */
	uid_t			 uid;
	gid_t			 gid;
	pid_t			 pid;
	char			*client;	/* from hello */
	struct frame		 frame;
	struct session		*autosess;
	struct requests		 requests;	/* in flight */
	struct fdqueue		 fds;		/* for shm.attach */
	TAILQ_HEAD(, shmblock)	 blocks;	/* attached (shm.c) */
	unsigned		 nblocks;
	int			 closing;
	int			 paused;	/* backlog: not reading */
	TAILQ_ENTRY(conn)	 entry;
};
void		 conn_accept(int fd);
void		 conn_protocol_error(struct conn *, int64_t msgid,
		    const char *);
void		 conn_write(struct conn *, const void *, size_t);
void		 conn_write2(struct conn *, const void *, size_t, const void *,
		    size_t, char *);
void		 conn_close_all(void);
int		 conn_is_admin(const struct conn *);

/* request.c: one client request from parse to its single answer. */
enum request_state {
	REQUEST_NEW,
	REQUEST_QUEUED,
	REQUEST_RUNNING,
};
struct opts {
	char		*session;
	char		*pool;
	int		 has_timeout;
	uint64_t	 timeout_ms;
	int		 has_affinity;
	enum affinity	 affinity;
	int		 has_stream_timeout;
	uint64_t	 stream_timeout_ms;
};
struct request {
	uint64_t		 id;
	double			 started;	/* metrics_clock() */
	struct conn		*conn;		/* NULL: internal or detached */
	uint32_t		 msgid;
	const struct method	*method;
	char			*raw;		/* the message's bytes */
	size_t			 rawlen;
	size_t			 msglen;	/* of its value in raw */
	msgpack_unpacked	 up;
	const msgpack_object	*params;	/* array */
	uint32_t		 nparams;	/* forwarded (before OPTS) */
	size_t			 fwd_off;	/* raw bytes forwarded */
	size_t			 fwd_len;
	struct opts		 opts;
	enum request_state	 state;
	struct session		*session;
	struct pool		*pool;
	struct worker		*worker;	/* chosen (refs/binding) */
	int			 any_worker;	/* hint: any idle worker */
	int			 ahead;		/* sent ahead, not started */
	enum affinity		 affinity;
	struct stream		*stream;	/* a running stream's state */
	uint64_t		 shm[SB_SHM_BLOCKS_MAX];	/* blocks used */
	unsigned		 nshm;
	int			 fd;		/* taken (M_FD), -1 none */
	double			 deadline;	/* of its timer (metrics_clock) */
	size_t			 tslot;		/* timer heap slot + 1, 0 none */
	uint64_t		 timeout_ms;
	/* internal requests (session.drop, stats) */
	char			*internal_method;
	uint64_t		 internal_sid;
	void			(*internal_done)(struct request *,
				    const char *, size_t);
	TAILQ_ENTRY(request)	 centry;	/* conn->requests */
	TAILQ_ENTRY(request)	 qentry;	/* pool queue */
};
int		 request_handle(struct conn *, char *, size_t, int);
void		 request_answer(struct request *, const char *body, size_t);
void		 request_answer_owned(struct request *, const char *body,
		    size_t, char *block);
void		 request_error(struct request *, enum sb_errtype,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
void		 request_error_details(struct request *, enum sb_errtype,
		    const char *key1, int64_t v1, const char *, ...)
		    __attribute__((format(printf, 5, 6)));
void		 request_error_detail_str(struct request *, enum sb_errtype,
		    const char *key1, const char *v1, const char *, ...)
		    __attribute__((format(printf, 5, 6)));
void		 request_reply_begin(msgpack_sbuffer *, msgpack_packer *);
void		 request_reply(struct request *, msgpack_sbuffer *);
void		 request_drop(struct request *);
void		 request_detach(struct request *);
struct request	*request_internal(const char *method, uint64_t sid);
void		 request_start_timer(struct request *);
void		 request_stop_timer(struct request *);

/* method.c: the table of methods. */
#define M_LOCAL		0x1	/* handled by the daemon */
#define M_WORKER	0x2	/* relayed to a worker */
#define M_ADMIN		0x4	/* root or the daemon's uid */
#define M_REF		0x8	/* params[0] must be a ref */
#define M_STREAMFORM	0x10	/* stream: [ref, OPTS] or [mod, fn, ...] */
#define M_FD		0x20	/* takes the oldest descriptor waiting */
struct method {
	const char	*name;
	int		 opts;		/* OPTS position, -1 none */
	const char	*spec;		/* param types, see method.c */
	const char	*names;		/* param names, for errors */
	unsigned	 nreq;		/* required params */
	int		 flags;
	void		(*handler)(struct request *);
};
const struct method *method_find_obj(const msgpack_object *);
/* A method's place in the table (stream's two forms share one); -1. */
int		 method_index(const struct method *);
const struct method *method_by_index(unsigned);
int		 method_check_params(struct request *, char *, size_t);

/* local handlers: m_*.c */
void		 m_hello(struct request *);
void		 m_ping(struct request *);
void		 m_status(struct request *);
void		 m_session_open(struct request *);
void		 m_session_close(struct request *);
void		 m_session_info(struct request *);
void		 m_session_list(struct request *);
void		 m_reload(struct request *);
void		 m_shutdown(struct request *);
void		 m_worker_restart(struct request *);
void		 m_cancel(struct request *);
void		 m_stats(struct request *);
void		 m_events_subscribe(struct request *);
void		 m_shm_attach(struct request *);
void		 m_shm_detach(struct request *);

/* session.c: the session table. */
struct session {
	uint64_t		 id;
	char			*name;		/* NULL: automatic */
	uid_t			 owner;
	struct conn		*conn;		/* automatic: its connection */
	struct pool		*pool;
	struct worker		*worker;	/* bound slot, NULL: none */
	uint32_t		 generation;	/* of the bound worker */
	double			 created;
	double			 last_used;
	uint64_t		 idle_timeout;	/* ms, 0 never */
	unsigned		 running;	/* requests holding it */
	uint64_t		 refs;		/* live refs, as last polled */
	double			 refs_at;	/* when; 0 never */
	uint64_t		 served;	/* slots that ran it (bits) */
	int			 dead;		/* ended, freed when idle */
	TAILQ_ENTRY(session)	 entry;
	TAILQ_ENTRY(session)	 hentry;
};
TAILQ_HEAD(sessions, session);
void		 session_init(void);
struct session	*session_create(const char *name, uid_t, struct conn *,
		    struct pool *, enum sb_errtype *, char *, size_t);
struct session	*session_find_id(uint64_t);
struct session	*session_find_name(uid_t, const char *);
void		 session_release(struct session *);
void		 session_end(struct session *);
void		 session_end_all(void);
unsigned	 session_count(void);
void		 session_pack_info(msgpack_packer *, const struct session *);
void		 session_list(uid_t, void (*)(struct session *, void *),
		    void *);
void		 session_foreach(uid_t, void (*)(const struct session *,
		    void *), void *);
void		 session_touch(struct session *);
void		 session_bind(struct session *, struct worker *);
void		 session_refs_polled(struct worker *, double);

/* route.c: which session and worker a request belongs to. */
int		 route_request(struct request *);

/* pool.c: pools, their queues and dispatch. */
struct pool {
	uint16_t		 id;
	char			*name;
	enum affinity		 affinity;	/* from the config */
	unsigned		 queue_limit;
	struct worker		**workers;
	unsigned		 nworkers;	/* slots, retired ones too */
	unsigned		 size;		/* active slots */
	struct requests		 queue;
	unsigned		 queued;
	unsigned		 pass;		/* dispatch passes */
	int			 retired;	/* gone from the config */
	uint64_t		 drain_timeout;	/* ms, from the config */
};
void		 pool_init(void);
void		 pool_stop_timer(void);
int		 pool_apply_config(void);
struct pool	*pool_find(const char *);
struct pool	*pool_by_id(unsigned);
unsigned	 pool_count(void);
int		 pool_submit(struct request *);
void		 pool_dispatch(struct pool *);
void		 pool_unqueue(struct request *);
void		 pool_fail_queued(enum sb_errtype, const char *, int);
void		 pool_fail_session(struct session *);
void		 pool_free_all(void);
void		 pool_foreach_worker(void (*)(struct worker *, void *), void *);
unsigned	 pool_queued_for(const struct worker *);
void		 pool_fail_internal(struct worker *);

/* worker.c: worker processes. */
enum worker_state {
	WORKER_DOWN,		/* waiting to (re)start */
	WORKER_STARTING,
	WORKER_IDLE,
	WORKER_BUSY,
	WORKER_STOPPING,	/* killed, waiting for exit */
};
/*
 * Requests sent to a busy worker before it finished the current one
 * (pipelining): at most SBD_AHEAD_MAX, answered in order. Their wids carry
 * SBD_WID_AHEAD so the worker never runs them nested in a callback's wait.
 */
#define SBD_AHEAD_MAX	64
#define SBD_WID_AHEAD	0x80000000U
struct wahead {
	struct request		*r;		/* NULL: answered early */
	uint32_t		 wid;
};
struct worker {
	struct pool		*pool;
	unsigned		 slot;
	uint32_t		 generation;
	enum worker_state	 state;
	pid_t			 pid;
	int			 fd;
	int			 shmfd;		/* block channel, -1 none */
	struct bufferevent	*bev;		/* channel output */
	struct ioq		 out;		/* held writes (io.c) */
	struct event		*rev;		/* channel input */
	struct bufferevent	*logbev;
	struct frame		 frame;
	struct request		*cur;		/* NULL when answered early */
	uint32_t		 cur_wid;
	uint32_t		 next_wid;
	int			 cur_stale;	/* cur timed out/detached */
	uint64_t		 requests;
	unsigned		 restarts;
	int			 has_exit;
	int			 last_exit;	/* wait status */
	unsigned		 sessions;	/* bound */
	uint64_t		 backoff_ms;
	double			 spawned;
	struct event		*restart_ev;
	struct event		*grace_ev;
	int			 grace_set;	/* grace_ev may be pending */
	int			 retire;	/* do not restart */
	int			 draining;	/* recycling: no new sessions */
	double			 drain_since;	/* draining or retired since */
	int			 recycled;	/* stopped to recycle */
	uint64_t		 gen_requests;	/* served by this process */
	uint64_t		 rss_kb;	/* as last polled */
	uint64_t		 refs;
	double			 stats_at;
	int			 expect_exit;	/* we killed it */
	const char		*stop_reason;	/* why we killed it */
	const char		*exit_reason;	/* of the last exit */
	unsigned		 fast_crashes;	/* in a row, each soon after start */
	uint32_t		 grace_wid;
	double			 grace_until;	/* the interrupted one is killed */
	unsigned		 nudge_ms;	/* until the next nudge */
	struct cbnest		*nest;		/* callbacks out, nesting */
	struct wahead		 ahead[SBD_AHEAD_MAX];	/* sent ahead, FIFO */
	unsigned		 nahead;
	unsigned		 blocked_pass;	/* a request for it waits */
	char			 python[32];
};
struct worker	*worker_new(struct pool *, unsigned slot);
void		 worker_start(struct worker *);
void		 worker_send(struct worker *, struct request *);
uint32_t	 worker_new_wid(struct worker *);
void		 worker_count(struct worker *, const struct request *);
void		 worker_write(struct worker *, const void *, size_t);
void		 worker_notify(struct worker *, const char *, uint64_t);
void		 worker_write2(struct worker *, const void *, size_t,
		    const void *, size_t, char *);
void		 worker_idle(struct worker *);
void		 worker_interrupt(struct worker *);
void		 worker_kill(struct worker *, int sig);
void		 worker_sigchld(void);
void		 worker_free(struct worker *);
const char	*worker_state_name(enum worker_state);
#define WORKER_PACK_KEYS	6
void		 worker_pack_facts(msgpack_packer *, const struct worker *);
void		 worker_restart(struct worker *);
void		 worker_check_recycle(struct worker *);
void		 worker_drain(struct worker *);
int		 worker_crash_loop(const struct worker *);

/* ahead.c: pipelining requests into busy workers. */
int		 ahead_open(const struct worker *);
int		 ahead_fits(const struct worker *, const struct request *);
void		 ahead_send(struct worker *, struct request *);
int		 ahead_next(struct worker *);
void		 ahead_forget(struct worker *, struct request *);
void		 ahead_fail(struct worker *, const struct session *,
		    enum sb_errtype, const char *);
unsigned	 ahead_count(const struct worker *);
void		 ahead_lost(struct worker *);

/* cleanup.c: dropping ended sessions' objects, bounded by a timeout. */
struct cleanup_totals {
	uint64_t	 cleaned;	/* sessions whose objects were dropped */
	uint64_t	 failures;	/* timed out, failed or cut short */
	double		 ms_total;	/* from session end to the last drop */
	double		 ms_max;
};
void		 cleanup_start(struct session *);
void		 cleanup_stop(void);
unsigned	 cleanup_pending(void);
const struct cleanup_totals *cleanup_totals(void);

/* confdiff.c: what a reload changed, in the log. */
void		 confdiff_log(const struct config *, const struct config *);

/* stats.c: polling workers' resident memory and refs. */
void		 stats_poll(struct worker *);

/* stream.c: flow control and idle timeout of running streams. */
void		 stream_start(struct request *, uint32_t wid);
void		 stream_relayed(struct request *, uint32_t wid);
void		 stream_drained(struct conn *);
void		 stream_free(struct request *);

/* callback.c: callbacks to clients and the nested requests they allow. */
void		 callback_from_worker(struct worker *, const char *, size_t,
		    size_t);
void		 callback_answer(struct conn *, uint32_t, const char *,
		    size_t);
void		 callback_conn_gone(struct conn *);
int		 callback_active(const struct worker *);
int		 callback_may_nest(const struct worker *,
		    const struct request *);
void		 callback_push(struct worker *);
int		 callback_pop(struct worker *);
void		 callback_forget(struct worker *, const struct request *);
struct request	*callback_outer(struct worker *, uint32_t wid);
void		 callback_worker_gone(struct worker *);

/* shm.c: the shared blocks clients attach (docs/internals.md). */
struct shmblock {
	uint64_t		 id;
	int			 fd;
	uint64_t		 size;
	struct conn		*conn;
	struct shmholder	*holders;	/* worker processes with it */
	unsigned		 nholders;
	TAILQ_ENTRY(shmblock)	 entry;		/* conn->blocks */
};
int		 shm_fd_take(struct conn *);
int		 shm_check_fd(int fd, uint64_t size, char *, size_t);
struct shmblock	*shm_add(struct conn *, int fd, uint64_t size);
struct shmblock	*shm_find(const struct conn *, uint64_t id);
void		 shm_detach(struct shmblock *);
void		 shm_conn_gone(struct conn *);
void		 shm_totals(uint64_t *blocks, uint64_t *bytes);
int		 shm_send_blocks(struct request *, struct worker *, char *,
		    size_t);

/* relay.c: frames between client and worker. */
int		 relay_prepare(struct request *);
void		 relay_to_worker(struct request *, struct worker *,
		    uint32_t wid);
int		 relay_from_worker(struct worker *, char *, size_t, int);

#endif
