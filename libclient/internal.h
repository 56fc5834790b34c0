/*
 * internal.h: what the files of libsbclient share and the public header does
 * not show: the layout of values, errors, pending requests and the client,
 * and the functions one file offers the others.
 */
#ifndef SBCLIENT_INTERNAL_H
#define SBCLIENT_INTERNAL_H

#include <msgpack.h>

#include "sbclient.h"
#include "pbuf.h"
#include "scan.h"

/*
 * Bytes and ndarray values of at least BLOCK_SHARE_MIN bytes decoded from a
 * large message keep their data in the message's memory (block.c).
 */
#define BLOCK_SHARE_MIN		(256 * 1024)
struct value_block;

struct sb_value {
	enum sb_type	 type;
	/* Set: the bytes' or ndarray's data lies in this block, not its own. */
	struct value_block *block;
	/* Set: the ndarray's data lies in this shared block (shm.c). */
	struct sb_shm	*shm;
	union {
		int		 b;
		struct {
			int64_t	 i;	/* when !is_unsigned */
			uint64_t u;	/* when is_unsigned (> INT64_MAX) */
			int	 is_unsigned;
		} n;
		double		 f;
		struct {		/* str, bytes, bigint, date, ... */
			char	*p;	/* NUL-terminated unless in a block */
			size_t	 len;
			int8_t	 ext;	/* SB_EXT's code, SB_EXT_REF for refs */
			char	*ref_type; /* SB_REF: decoded type name or NULL */
		} s;
		struct {		/* list, tuple, set, frozenset, map */
			sb_value **items; /* maps: key, value, key, value... */
			size_t	 len;	/* items, or entries for maps */
			size_t	 cap;
		} seq;
		struct {
			double	 re, im;
		} c;
		struct {
			char	*dtype;
			int64_t	*shape;
			size_t	 ndim;
			void	*data;
			size_t	 len;
		} nd;
		struct {
			int64_t	 sec;
			uint32_t nsec;
		} ts;
		uint64_t	 cb;
	} u;
};

struct sb_error {
	sb_value	*map;
	const char	*type;
	const char	*message;
	const char	*module;
	char		*traceback;
};

/* Limits applied to everything decoded. */
struct unpack_limits {
	size_t		 max_size;
	unsigned	 max_depth;
};

/* value.c */
void		 value_borrow_str(sb_value *tmp, const char *s);
void		 value_borrow_uint(sb_value *tmp, uint64_t u);
sb_value	*value_new(enum sb_type);
sb_value	*value_text(enum sb_type, const char *, size_t);
sb_value	*value_bytes_in(const void *, size_t, struct value_block *);
int		 value_is_seq(enum sb_type);
int		 value_ndarray_check(const char *dtype, const int64_t *shape,
		    size_t ndim, size_t len);
int		 value_ndarray_nbytes(const char *dtype, const int64_t *shape,
		    size_t ndim, size_t *nbytes);
int		 value_bigint_check(const char *, size_t);
int		 value_date_check(const char *, size_t);
int		 value_datetime_check(const char *, size_t);
int		 value_decimal_check(const char *, size_t);

/* block.c */
struct value_block *block_take(void *mem);
struct value_block *block_hold(struct value_block *);
void		 block_drop(struct value_block *);

/* pack.c: where a value is packed. */
struct pack_ctx {
	unsigned	 max;	/* nesting limit */
	/* The connection it goes to (its blocks travel as ext 12), or NULL. */
	const sb_client	*client;
};
int		 pack_value(struct pbuf *, const sb_value *, unsigned depth,
		    const struct pack_ctx *);
int		 pack_opts(struct pbuf *, const struct sb_opts *);
size_t		 pack_opts_count(const struct sb_opts *);

/* unpack.c: a bounds-checked reader over one message. */
struct unpack_reader {
	const uint8_t			*p;
	const uint8_t			*end;
	const struct unpack_limits	*lim;
	struct value_block		*block;	/* holds the bytes, or NULL */
	sb_client			*client; /* whose blocks ext 12 names */
};

void		 unpack_reader_init(struct unpack_reader *, const void *, size_t,
		    const struct unpack_limits *);
int		 unpack_value(struct unpack_reader *, unsigned depth, sb_value **);
int		 unpack_array(struct unpack_reader *, size_t *);
int		 unpack_uint(struct unpack_reader *, uint64_t *);
int		 unpack_str(struct unpack_reader *, const char **, size_t *);
int		 unpack_nil(struct unpack_reader *);

/* error.c */
int		 error_from_value(sb_value *, sb_error **);
sb_error	*error_make(const char *type, const char *message);

/* pending.c */
enum pending_state {
	PENDING_WAITING,
	PENDING_DONE,
	PENDING_ABANDONED
};

struct sb_pending {
	uint32_t		 msgid;
	enum pending_state	 state;
	int			 rc;
	sb_value		*result;
	sb_error		*err;
	struct sb_pending	*next;	/* hash chain */
};

struct pending_table {
	struct sb_pending	**buckets;
	size_t			 nbuckets;
	size_t			 count;
	uint32_t		 next_msgid;
	struct sb_pending	*spare;	/* freed handles, by next */
	size_t			 nspare;
};

void		 pending_init(struct pending_table *);
void		 pending_clear(struct pending_table *);
int		 pending_add(struct pending_table *, struct sb_pending **);
void		 pending_fail_all(struct pending_table *, int rc);
int		 pending_dispatch(sb_client *, const void *, size_t,
		    struct value_block *);
int		 pending_send(sb_client *, const char *method,
		    const sb_value *const *params, size_t nparams,
		    const struct sb_opts *opts, int borrow, sb_pending **out);
int		 pending_finish(sb_client *, sb_pending *, int timeout_ms,
		    sb_value **result, sb_error **err);

/* stream.c: a running stream, fed by stream.items notifications. */
struct stream_sink {
	uint32_t		 msgid;
	sb_item_fn		 fn;
	void			*ud;
	int			 stopped;	/* fn asked to stop */
	int			 failed;	/* an item did not decode */
	int			 busy;		/* fn is running */
	sb_value		*backlog;	/* items that came meanwhile */
	size_t			 head;		/* next one in backlog */
	uint64_t		 count;
	struct stream_sink	*next;
};
int		 stream_items(sb_client *, struct unpack_reader *);
int		 stream_run(sb_client *, sb_pending *, sb_item_fn, void *,
		    uint64_t *, sb_error **);

/* callback.c */
struct callback_entry;
int		 callback_serve(sb_client *, uint32_t,
		    struct unpack_reader *);
void		 callback_clear(sb_client *);

/* wqueue.c: a piece of the output: packed bytes, or borrowed data. */
struct wq_seg {
	const char	*p;	/* borrowed, or NULL: the bytes at wb.data + off */
	size_t		 off, len;
};

struct wq_mark {
	size_t		 wlen, wfill, nsegs, lastlen;
};

int		 wq_seal(sb_client *);
int		 wq_borrow(sb_client *, const char *, size_t);
void		 wq_mark(const sb_client *, struct wq_mark *);
void		 wq_rollback(sb_client *, const struct wq_mark *);
void		 wq_clear(sb_client *);
void		 wq_unborrow(sb_client *);
void		 wq_flush(sb_client *);
int		 wq_drain(sb_client *);

/* shm.c: shared blocks. */
sb_value	*shm_copy(const sb_value *);
void		 shm_drop(struct sb_shm *);
int		 shm_pack(struct pbuf *, const sb_value *, const sb_client *);
int		 shm_unpack(sb_client *, const void *, size_t, sb_value **);
void		 shm_client_gone(sb_client *);

/* conn.c */
struct sb_client {
	int			 fd;
	int			 dead;	/* SB_ECLOSED/SB_EPROTO once lost */
	int			 wdead;	/* writing failed: read to the end */
	int			 borrowing; /* packing a synchronous call */
	size_t			 wlen, woff;	/* output queued, written */
	struct pbuf		 wb;		/* packed output; wb.queue: c */
	size_t			 wsealed;	/* wb's bytes queued as pieces */
	struct wq_seg		*segs;		/* the output, in order */
	size_t			 nsegs, segcap;
	size_t			 sdone, soff;	/* pieces written, and bytes */
	char			*rbuf;
	size_t			 rstart, rlen, rcap; /* rstart: next message */
	struct sb_scan		 scan;
	struct unpack_limits	 limits;
	struct pending_table	 pending;
	sb_value		*server_info;
	sb_error		*last_error;
	struct stream_sink	*streams;	/* running, on callers' stacks */
	struct callback_entry	*callbacks;
	uint64_t		 callback_last;	/* ids given so far */
	struct sb_shm		*shms;	/* blocks attached on this connection */
	int			 passfd; /* fd to send with the queue's start */
	/* Defaults for OPTS. */
	char			*session;
	char			*pool;
	char			*profile;
	char			*affinity;
	int64_t			 timeout_ms;
};

int		 conn_io(sb_client *, int timeout_ms);
int		 conn_reserve(char **buf, size_t *cap, size_t used,
		    size_t want);
void		 conn_lost(sb_client *, int rc);
int		 conn_respond(sb_client *, uint32_t msgid, const char *errtype,
		    const char *message);

/* Milliseconds on the monotonic clock. */
int64_t		 conn_now_ms(void);

#endif
