/*
 * sbclient.h: libsbclient, the C client library of snakebridged.
 *
 * The library connects to the daemon's Unix socket, speaks msgpack-rpc
 * (docs/protocol.md) and gives C programs Python values, refs, synchronous
 * and pipelined asynchronous calls.
 *
 * Conventions (they hold for every function unless its comment says
 * otherwise):
 *
 * - Return values. Functions returning int return 0 on success or one of the
 *   negative SB_E* codes below; sb_strerror() describes a code. Constructors
 *   return a new value or NULL. The library never exits, never prints and
 *   never raises SIGPIPE.
 * - Ownership. A function that returns a non-const pointer gives the caller
 *   ownership: values are freed with sb_value_free(), errors with
 *   sb_error_free(), buffers with free(). A const pointer is borrowed: it stays
 *   valid as long as the object it came from is neither freed nor modified.
 *   Parameters of type "const sb_value *" are only read (the caller keeps
 *   them); sb_list_append() and sb_map_set() take ownership of what they are
 *   given, even when they fail. Strings passed in are copied when kept.
 * - Received values. The data of a bytes or ndarray value of 256 KiB or more
 *   that a call returned (or a callback or stream item received) may lie in
 *   the memory of the message it came in, shared with that message's other
 *   large values and freed with the last of them: keeping one such value
 *   keeps the whole message's memory; sb_value_copy() gives a value with
 *   memory of its own. Values that share memory may be freed by different
 *   threads. An ndarray whose data lies in a shared block (sb_shm_create)
 *   is the exception: it is a view of the block, and so is its copy.
 * - Out parameters are written only on success, except that result and err
 *   pointers of calls are always set (to NULL when there is nothing to give).
 * - Thread safety. The library keeps no global mutable state. A client
 *   (sb_client and its sb_pending handles) must not be used by two threads at
 *   once; different clients are independent. A value may be read by several
 *   threads at once as long as no thread modifies or frees it. sb_strerror()
 *   and sb_default_socket_path() are safe from any thread.
 * - Errors of a call. A call that the daemon (or Python) failed returns
 *   SB_EREMOTE and sets *err to an error object. Every other negative code
 *   is a local failure and leaves *err NULL.
 */
#ifndef SBCLIENT_H
#define SBCLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes. */
#define SB_OK		  0
#define SB_ENOMEM	(-1)	/* out of memory */
#define SB_EINVAL	(-2)	/* invalid argument */
#define SB_ECONNECT	(-3)	/* cannot reach the daemon */
#define SB_ECLOSED	(-4)	/* connection lost (or closed by the peer) */
#define SB_EPROTO	(-5)	/* the peer sent something invalid */
#define SB_ETIMEDOUT	(-6)	/* no answer in time */
#define SB_EREMOTE	(-7)	/* the request failed remotely: see *err */
#define SB_ETYPE	(-8)	/* the value is of another type */
#define SB_ERANGE	(-9)	/* out of range (number, index, size, depth) */
#define SB_EAGAIN	(-10)	/* not finished yet */
#define SB_ECANCELED	(-11)	/* stopped by the caller's item function */

/*
 * A static English description of an SB_E* code ("unknown error" for any
 * other number). Never NULL, never to be freed.
 */
const char	*sb_strerror(int code);

/* Opaque handles. */
typedef struct sb_client	sb_client;
typedef struct sb_value		sb_value;
typedef struct sb_error		sb_error;
typedef struct sb_pending	sb_pending;
typedef struct sb_shm		sb_shm;

/* ---------------------------------------------------------------------- */
/* Values                                                                  */
/* ---------------------------------------------------------------------- */

/* The type of a value: msgpack's own types plus the ext registry. */
enum sb_type {
	SB_NIL,		/* None */
	SB_BOOL,	/* bool */
	SB_INT,		/* int within int64 or uint64 */
	SB_BIGINT,	/* int beyond 64 bits, as decimal text (ext 4) */
	SB_FLOAT,	/* float (double) */
	SB_STR,		/* str, UTF-8 */
	SB_BYTES,	/* bytes */
	SB_LIST,	/* list (msgpack array) */
	SB_MAP,		/* dict (msgpack map, keys of any type) */
	SB_TUPLE,	/* tuple (ext 1) */
	SB_SET,		/* set (ext 2) */
	SB_FROZENSET,	/* frozenset (ext 3) */
	SB_COMPLEX,	/* complex (ext 5) */
	SB_REF,		/* ref to a Python object (ext 6, opaque payload) */
	SB_CALLBACK,	/* a client callback id (ext 7) */
	SB_NDARRAY,	/* numpy.ndarray (ext 8) */
	SB_DATE,	/* datetime.date, "YYYY-MM-DD" (ext 9) */
	SB_DATETIME,	/* naive datetime.datetime, isoformat() (ext 10) */
	SB_DECIMAL,	/* decimal.Decimal, str() text (ext 11) */
	SB_TIMESTAMP,	/* aware datetime as a UTC instant (ext -1) */
	SB_EXT		/* any other ext type, kept as type + raw payload */
};

/*
 * Constructors. Each returns a new value owned by the caller, or NULL when
 * memory runs out or (where stated) the argument is invalid.
 */
sb_value	*sb_nil(void);
sb_value	*sb_bool(int b);		/* any non-zero is true */
sb_value	*sb_int(int64_t i);
sb_value	*sb_uint(uint64_t u);	/* stored as signed when <= INT64_MAX */
/* Decimal text: optional '-', then digits only; NULL if it is not that. */
sb_value	*sb_bigint(const char *decimal);
sb_value	*sb_float(double d);	/* NaN and infinities allowed */
/* NUL-terminated UTF-8 text (copied); NULL s is invalid. */
sb_value	*sb_str(const char *s);
/* len bytes of text (copied, may hold NULs); s may be NULL when len is 0. */
sb_value	*sb_strn(const char *s, size_t len);
/* len bytes (copied); data may be NULL when len is 0. */
sb_value	*sb_bytes(const void *data, size_t len);
/* Empty containers: fill them with sb_list_append() / sb_map_set(). */
sb_value	*sb_list_new(void);
sb_value	*sb_tuple_new(void);
sb_value	*sb_set_new(void);
sb_value	*sb_frozenset_new(void);
sb_value	*sb_map_new(void);
sb_value	*sb_complex(double re, double im);
/*
 * An ndarray: dtype as numpy's dtype.str ("<f8", "|b1", "<i4", ...), ndim
 * dimensions in shape (each >= 0; shape may be NULL when ndim is 0), len bytes
 * of C-ordered data. All are copied. NULL when dtype is NULL or empty, a
 * dimension is negative, or, for the numeric kinds b, i, u, f and c, len is
 * not the product of the shape times the item size.
 */
sb_value	*sb_ndarray(const char *dtype, const int64_t *shape, size_t ndim,
		    const void *data, size_t len);
/* A ref from its raw ext 6 payload (copied). NULL if len is 0. */
sb_value	*sb_ref_from_bytes(const void *payload, size_t len);
/* "YYYY-MM-DD"; NULL if iso is not of that form. */
sb_value	*sb_date(const char *iso);
/* Naive "YYYY-MM-DDTHH:MM:SS[.ffffff]"; NULL if it does not start with a date and 'T'. */
sb_value	*sb_datetime(const char *iso);
/* str(Decimal) text ("-1.50", "NaN", "Infinity"); NULL if empty or not printable ASCII. */
sb_value	*sb_decimal(const char *text);
/* A UTC instant; NULL if nsec >= 1000000000. */
sb_value	*sb_timestamp(int64_t sec, uint32_t nsec);
/* A callback id (ext 7); used by the callback API. */
sb_value	*sb_callback(uint64_t id);
/* An ext value of any type code with its raw payload (copied). */
sb_value	*sb_ext(int8_t type, const void *payload, size_t len);
/*
 * A deep copy of v (NULL v gives NULL), except that an ndarray over a
 * shared block gives another view of the same bytes (sb_ndarray_shm); build
 * a private copy of one with sb_ndarray() from its data.
 */
sb_value	*sb_value_copy(const sb_value *v);
/* Free v and everything it holds. NULL is allowed. */
void		 sb_value_free(sb_value *v);

/*
 * Append item to seq (a list, tuple, set or frozenset). Takes ownership of
 * item in every case: on failure item is freed. SB_EINVAL if seq or item is
 * NULL or item is seq itself, SB_ETYPE if seq is not a sequence, SB_ENOMEM.
 * Sets are kept in insertion order; duplicates are not removed (Python does
 * that on arrival).
 */
int		 sb_list_append(sb_value *seq, sb_value *item);
/*
 * Add key -> val to map. Takes ownership of both in every case. Keys are not
 * checked for duplicates (sb_map_get finds the first). SB_EINVAL, SB_ETYPE,
 * SB_ENOMEM.
 */
int		 sb_map_set(sb_value *map, sb_value *key, sb_value *val);

/* Readers. None of them allocates; returned pointers are owned by v. */

/* The type of v; SB_NIL for a NULL v. */
enum sb_type	 sb_value_type(const sb_value *v);
/* SB_ETYPE unless v is SB_BOOL. */
int		 sb_value_get_bool(const sb_value *v, int *out);
/* SB_ETYPE unless SB_INT; SB_ERANGE for an unsigned value above INT64_MAX. */
int		 sb_value_get_int(const sb_value *v, int64_t *out);
/* SB_ETYPE unless SB_INT; SB_ERANGE for a negative value. */
int		 sb_value_get_uint(const sb_value *v, uint64_t *out);
/* 1 if v is an SB_INT above INT64_MAX (read it with sb_value_get_uint), else 0. */
int		 sb_value_is_unsigned(const sb_value *v);
/* SB_FLOAT, or SB_INT converted to double; SB_ETYPE otherwise. */
int		 sb_value_get_float(const sb_value *v, double *out);
/*
 * The NUL-terminated text of an SB_STR, SB_BIGINT, SB_DATE, SB_DATETIME or
 * SB_DECIMAL (a str may also hold NULs: use *len), NULL for any other type.
 * len may be NULL.
 */
const char	*sb_value_str(const sb_value *v, size_t *len);
/*
 * The bytes of an SB_BYTES, or the raw payload of an SB_REF or SB_EXT; NULL
 * for any other type (and possibly for an empty payload: check the type).
 * len may be NULL.
 */
const void	*sb_value_bytes(const sb_value *v, size_t *len);
/* Items of a list/tuple/set/frozenset, entries of a map, 0 for anything else. */
size_t		 sb_value_len(const sb_value *v);
/* Item i of a sequence; NULL if v is not one or i is out of range. */
const sb_value	*sb_value_item(const sb_value *v, size_t i);
/* Key / value of entry i of a map; NULL if v is not a map or i is out of range. */
const sb_value	*sb_map_key(const sb_value *v, size_t i);
const sb_value	*sb_map_value(const sb_value *v, size_t i);
/* The value of the first entry whose key is the str strkey; NULL if none. */
const sb_value	*sb_map_get(const sb_value *v, const char *strkey);
/* SB_ETYPE unless SB_COMPLEX. */
int		 sb_value_get_complex(const sb_value *v, double *re, double *im);
/*
 * SB_ETYPE unless SB_NDARRAY. Any out pointer may be NULL. dtype is
 * NUL-terminated; shape has *ndim entries; all owned by v.
 */
int		 sb_value_get_ndarray(const sb_value *v, const char **dtype,
		    const int64_t **shape, size_t *ndim, const void **data,
		    size_t *len);
/*
 * The Python type name carried inside a ref ("PosixPath"), NUL-terminated
 * and owned by v; NULL if v is not an SB_REF or its payload is not a
 * well-formed ref.
 */
const char	*sb_ref_type(const sb_value *v);
/* SB_ETYPE unless SB_TIMESTAMP. */
int		 sb_value_get_timestamp(const sb_value *v, int64_t *sec,
		    uint32_t *nsec);
/* SB_ETYPE unless SB_CALLBACK. */
int		 sb_value_get_callback(const sb_value *v, uint64_t *id);
/*
 * The ext type code and raw payload of an SB_EXT or SB_REF value (payload
 * owned by v); SB_ETYPE otherwise. Any out pointer may be NULL.
 */
int		 sb_value_get_ext(const sb_value *v, int8_t *type,
		    const void **data, size_t *len);
/*
 * 1 if a and b are of the same type and hold equal contents (floats compare
 * bitwise, so NaN equals the same NaN; an int equals an int of the same
 * value whether built signed or unsigned; ndarrays compare dtype, shape and
 * data bytes wherever the data lies, shared block or not), else 0.
 */
int		 sb_value_equal(const sb_value *a, const sb_value *b);

/*
 * The msgpack encoding of v (ext types as in docs/protocol.md; an ndarray
 * over a shared block is written as ext 8 with its data). On success
 * *buf is a malloc'd buffer of *len bytes that the caller frees with free().
 * SB_EINVAL for NULL arguments, SB_ERANGE when v nests containers (lists,
 * maps, tuples, sets) deeper than the protocol's depth limit (32 levels,
 * docs/protocol.md), SB_ENOMEM.
 */
int		 sb_value_pack(const sb_value *v, void **buf, size_t *len);
/*
 * Decode exactly one msgpack object filling buf[0..len) into *out (owned by
 * the caller). The input is scanned first (64 MiB, nesting depth 32, no
 * container declaring more elements than bytes follow) and decoded by a
 * bounds-checked reader that applies the same rules inside ext payloads,
 * so any input is safe. SB_EPROTO for truncated, malformed, oversized or
 * trailing bytes, or a known ext type whose payload is invalid (a big int
 * that is not decimal, an ndarray whose data does not fit its shape...);
 * SB_EINVAL, SB_ENOMEM. An ext 12 (an ndarray in a shared block) names a
 * block of a connection, so here it stays an SB_EXT of type 12.
 */
int		 sb_value_unpack(const void *buf, size_t len, sb_value **out);

/* ---------------------------------------------------------------------- */
/* Errors returned by the daemon or by Python (SB_EREMOTE)                */
/* ---------------------------------------------------------------------- */

/*
 * All strings below are NUL-terminated, owned by the error object and valid
 * until sb_error_free().
 */
/* The exception type ("ValueError", "snakebridge.Timeout"); never NULL. */
const char	*sb_error_type(const sb_error *e);
/* str(exception) or the daemon's text; never NULL (may be ""). */
const char	*sb_error_message(const sb_error *e);
/* The exception class's module ("builtins"); NULL for daemon errors. */
const char	*sb_error_module(const sb_error *e);
/* The formatted traceback text (lines joined); NULL if none was sent. */
const char	*sb_error_traceback(const sb_error *e);
/* The whole error map as received (keys type, message, args, details...). */
const sb_value	*sb_error_details(const sb_error *e);
/* Free e; NULL is allowed. */
void		 sb_error_free(sb_error *e);

/* ---------------------------------------------------------------------- */
/* Client                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * The socket path a client uses by default, written NUL-terminated into buf:
 * $SNAKEBRIDGE_SOCKET if set and non-empty; else for root
 * /run/snakebridged/snakebridged.sock; else $XDG_RUNTIME_DIR/snakebridged.sock,
 * or /tmp/snakebridged-UID/snakebridged.sock when XDG_RUNTIME_DIR is unset.
 * SB_EINVAL for a NULL buf, SB_ERANGE if len is too small.
 */
int		 sb_default_socket_path(char *buf, size_t len);

/*
 * Connect to path (NULL: sb_default_socket_path()) and do the hello
 * handshake (waits at most 30 s). On success *out is a client owned by the
 * caller (sb_client_close()). SB_ECONNECT when the socket cannot be reached,
 * SB_EINVAL for a path too long or NULL out, SB_EPROTO when the peer refuses
 * hello or answers nonsense (e.g. an incompatible protocol), SB_ECLOSED,
 * SB_ETIMEDOUT, SB_ENOMEM.
 */
int		 sb_client_connect(const char *path, sb_client **out);
/*
 * Close the connection and free the client, its defaults and every
 * sb_pending handle still outstanding (those pointers become invalid).
 * NULL is allowed. The daemon then releases the connection's automatic
 * session.
 */
void		 sb_client_close(sb_client *c);
/*
 * The socket's file descriptor, to watch for readability in the caller's
 * own event loop (then call sb_client_poll(c, 0)); -1 after the connection
 * was lost. Owned by the client: do not read, write or close it.
 */
int		 sb_client_fd(sb_client *c);
/*
 * The daemon's hello result ({protocol, min_protocol, version, limits}),
 * owned by the client; NULL if the peer gave none.
 */
const sb_value	*sb_client_server_info(sb_client *c);
/*
 * The last "error" notification the daemon sent (it sends one before it
 * closes a connection for a protocol violation), or the daemon's error of
 * the last sb_shm_create() that returned SB_EREMOTE, whichever came last;
 * owned by the client (valid until the next of these or sb_client_close());
 * NULL if none came.
 */
const sb_error	*sb_client_last_error(sb_client *c);

/*
 * Per-call options: the protocol's OPTS map. A NULL member (or timeout_ms
 * -1) means "the client's default"; a member that is unset there too is not
 * sent, and the daemon applies its own default.
 */
struct sb_opts {
	const char	*session;	/* named session */
	const char	*pool;		/* pool for a session without a worker */
	const char	*timeout_profile; /* "default", "ml_inference", ... */
	const char	*affinity;	/* "strict_queue", "strict_fail_fast", "hint" */
	int64_t		 timeout_ms;	/* -1: default; 0: none; else ms */
	/*
	 * Streams only: the idle timeout (ms without an item from the
	 * producer before the daemon ends the stream). 0: not sent, the
	 * daemon's default (stream_idle, 30 min). Never a client default.
	 */
	int64_t		 stream_timeout_ms;
};
/* All members NULL, timeout_ms -1, stream_timeout_ms 0. */
void		 sb_opts_init(struct sb_opts *o);

/*
 * Client defaults used for every call whose opts (or opts member) is NULL.
 * Strings are copied; NULL clears the default. SB_EINVAL for a NULL client
 * (or a timeout below -1), SB_ENOMEM.
 */
int		 sb_client_set_session(sb_client *c, const char *name);
int		 sb_client_set_timeout(sb_client *c, int64_t ms);
int		 sb_client_set_pool(sb_client *c, const char *name);
int		 sb_client_set_profile(sb_client *c, const char *name);
int		 sb_client_set_affinity(sb_client *c, const char *name);

/* ---------------------------------------------------------------------- */
/* Synchronous calls                                                       */
/* ---------------------------------------------------------------------- */

/*
 * Every call below sends one request and waits for its response. On 0,
 * *result (where the call has one) is a new value owned by the caller. On
 * SB_EREMOTE, *err (if err is not NULL) is a new error object owned by the
 * caller. On any other code both are set to NULL. result must not be NULL;
 * err may be.
 *
 * Refs are passed as the SB_REF values received. args must be a list (or
 * NULL for none), kwargs a map with str keys (or NULL). The arguments stay
 * the caller's; they must not be changed or freed until the call returns
 * (callbacks served meanwhile included): large bytes and ndarray data are
 * written to the socket from the values' own memory, not copied. A call waits for the
 * daemon's answer (which the daemon guarantees); when a timeout applies
 * (opts or client default) it gives up with SB_ETIMEDOUT after that timeout
 * plus 10 s. Incoming daemon requests and notifications are served while a
 * call waits.
 *
 * Codes: SB_EREMOTE, SB_EINVAL (NULL client, names or ref, args not a list,
 * kwargs not a map, a ref that is not SB_REF), SB_ERANGE (the request is
 * larger than the daemon's max_message_size, or nests deeper than its
 * max_depth, counting the message and params arrays: an argument value
 * may nest 30 levels with the default limit of 32),
 * SB_ECLOSED, SB_EPROTO (the daemon sent something invalid; the connection
 * is then closed), SB_ETIMEDOUT, SB_ENOMEM.
 */
int	sb_call(sb_client *c, const char *module, const char *func,
	    const sb_value *args, const sb_value *kwargs,
	    const struct sb_opts *opts, sb_value **result, sb_error **err);
int	sb_get(sb_client *c, const char *module, const char *attr,
	    const struct sb_opts *opts, sb_value **result, sb_error **err);
int	sb_method(sb_client *c, const sb_value *ref, const char *name,
	    const sb_value *args, const sb_value *kwargs,
	    const struct sb_opts *opts, sb_value **result, sb_error **err);
int	sb_attr(sb_client *c, const sb_value *ref, const char *name,
	    const struct sb_opts *opts, sb_value **result, sb_error **err);
int	sb_setattr(sb_client *c, const sb_value *ref, const char *name,
	    const sb_value *value, const struct sb_opts *opts, sb_error **err);
int	sb_repr(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
	    sb_value **result, sb_error **err);
/*
 * Python's str(obj) of a ref. (Named sb_pystr because sb_str is the string
 * constructor above.)
 */
int	sb_pystr(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
	    sb_value **result, sb_error **err);
int	sb_len(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
	    sb_value **result, sb_error **err);
int	sb_dir(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
	    sb_value **result, sb_error **err);
int	sb_iter(sb_client *c, const sb_value *ref, const struct sb_opts *opts,
	    sb_value **result, sb_error **err);
int	sb_getitem(sb_client *c, const sb_value *ref, const sb_value *key,
	    const struct sb_opts *opts, sb_value **result, sb_error **err);
/* *result is [items, done]; max_items 0 means the daemon's default (1). */
int	sb_next(sb_client *c, const sb_value *ref, size_t max_items,
	    const struct sb_opts *opts, sb_value **result, sb_error **err);
/*
 * The next batch of an iterator ref (from sb_iter, or a generator a call
 * returned): up to max_items items (0: 1) in one round trip. On 0, *items
 * is a new list owned by the caller (possibly empty) and *done is 1 once the
 * iterator is exhausted (the items taken before that are in *items), else 0.
 * Iterators are resumable: the next call goes on where this one stopped.
 * items and done must not be NULL. Codes as for the calls above.
 */
int	sb_iter_next_batch(sb_client *c, const sb_value *iter_ref,
	    size_t max_items, const struct sb_opts *opts, sb_value **items,
	    int *done, sb_error **err);
/* ref_or_list: one SB_REF, or a list of them. */
int	sb_release(sb_client *c, const sb_value *ref_or_list,
	    const struct sb_opts *opts, sb_error **err);
int	sb_ping(sb_client *c, sb_error **err);
int	sb_status(sb_client *c, sb_value **result, sb_error **err);
/* name NULL: an anonymous session; settings: {idle_timeout, pool} or NULL. */
int	sb_session_open(sb_client *c, const char *name, const sb_value *settings,
	    sb_value **result, sb_error **err);
int	sb_session_close(sb_client *c, const char *name, sb_error **err);
int	sb_session_info(sb_client *c, const char *name, sb_value **result,
	    sb_error **err);
int	sb_session_list(sb_client *c, sb_value **result, sb_error **err);
/*
 * Any method: params must be a list (sent as the params array as is) or
 * NULL for []. No OPTS are added.
 */
int	sb_request(sb_client *c, const char *method, const sb_value *params,
	    sb_value **result, sb_error **err);

/* ---------------------------------------------------------------------- */
/* Streaming                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Called once per streamed item, in order. item is borrowed: it is freed
 * when the function returns (copy it with sb_value_copy() to keep it).
 * Return 0 to go on, non-zero to stop the stream: the library then sends
 * `cancel`, the daemon stops the generator (its finally: blocks run) and
 * the streaming call returns SB_ECANCELED. The function may make calls on
 * the same client (they are served while the stream runs).
 */
typedef int	(*sb_item_fn)(const sb_value *item, void *ud);

/*
 * Stream the items of module.func(*args, **kwargs) (sb_stream) or of an
 * iterable ref (sb_stream_ref): the daemon sends them in batches as the
 * worker produces them, and fn(item, ud) is called for each as it arrives;
 * a producer is slowed down, never buffered without bound, while fn is
 * slow. On 0 every item was delivered and *count (if count is not NULL)
 * holds their number. SB_ECANCELED when fn stopped the stream; SB_EREMOTE
 * with *err when the call, the iteration or encoding an item failed
 * (items before the failure were delivered); other codes as for the
 * calls above. fn must not be NULL. No client-side timeout applies: the
 * daemon's stream idle timeout (opts->stream_timeout_ms) ends a stalled
 * producer.
 */
int	sb_stream(sb_client *c, const char *module, const char *func,
	    const sb_value *args, const sb_value *kwargs,
	    const struct sb_opts *opts, sb_item_fn fn, void *ud,
	    uint64_t *count, sb_error **err);
int	sb_stream_ref(sb_client *c, const sb_value *ref,
	    const struct sb_opts *opts, sb_item_fn fn, void *ud,
	    uint64_t *count, sb_error **err);

/* ---------------------------------------------------------------------- */
/* Callbacks                                                               */
/* ---------------------------------------------------------------------- */

/*
 * A C function Python can call. args is the positional arguments (a list,
 * never NULL), kwargs the keyword arguments (a map, or NULL when none); both
 * are borrowed for the duration of the call. On success return 0 and set
 * *result to a new value (NULL means None); the library takes it and frees
 * it. On failure return non-zero and optionally set *err to a new error
 * (sb_error_new()); the library takes it too. Python then raises
 * snakebridge.CallbackFailed with the error's type and message (default:
 * "snakebridge.CallbackFailed"). The function runs inside whichever call
 * of this client is waiting, and may itself make synchronous calls on c:
 * the worker serves them while it waits for this callback.
 */
typedef int	(*sb_callback_fn)(sb_client *c, const sb_value *args,
		    const sb_value *kwargs, void *ud, sb_value **result,
		    sb_error **err);

/*
 * Register fn with user data ud on c and return a new SB_CALLBACK value
 * naming it (owned by the caller: pass it as an argument of any call, free
 * it with sb_value_free() when done passing it). The registration itself
 * lasts until sb_callback_remove() or sb_client_close(); calls from Python
 * are served while the client waits for any of its requests. NULL for a
 * NULL c or fn, or when memory runs out.
 */
sb_value	*sb_callback_new(sb_client *c, sb_callback_fn fn, void *ud);
/*
 * Unregister the callback cb names (an SB_CALLBACK value from
 * sb_callback_new; cb itself stays the caller's). Python calling it later
 * gets snakebridge.CallbackFailed. SB_EINVAL when cb is not a callback of
 * c.
 */
int		 sb_callback_remove(sb_client *c, const sb_value *cb);
/*
 * A new error object with a type ("ValueError") and a message, for a
 * callback to return; owned by the caller (sb_error_free). NULL for a NULL
 * type or message, or when memory runs out.
 */
sb_error	*sb_error_new(const char *type, const char *message);

/* ---------------------------------------------------------------------- */
/* Asynchronous, pipelined requests                                        */
/* ---------------------------------------------------------------------- */

/*
 * Submit a request without waiting: it is queued and written as far as the
 * socket takes it at once; the rest is written by sb_client_poll() and
 * sb_wait(). On success *out is a handle owned by the caller, to be consumed
 * by sb_wait() or dropped with sb_pending_free(). Any number may be in flight;
 * responses are matched by msgid in whatever order they come. The request
 * is copied: the caller may change or free its params, args and kwargs as
 * soon as the call returns. Codes as for the synchronous calls (never
 * SB_EREMOTE).
 */
int	sb_request_async(sb_client *c, const char *method,
	    const sb_value *params, sb_pending **out);
int	sb_call_async(sb_client *c, const char *module, const char *func,
	    const sb_value *args, const sb_value *kwargs,
	    const struct sb_opts *opts, sb_pending **out);
/*
 * Write what is queued, wait up to timeout_ms (0: do not block, -1: until
 * something arrives) for input, and dispatch every complete message that
 * arrived (responses complete their handles; daemon requests are answered;
 * notifications are handled). Returns the number of messages dispatched
 * (>= 0), or SB_ECLOSED / SB_EPROTO once the connection is lost (every
 * waiting handle is then done with that code), SB_EINVAL, SB_ENOMEM.
 */
int	sb_client_poll(sb_client *c, int timeout_ms);
/* 1 if the handle's answer (or failure) is there, 0 if not. */
int	sb_pending_done(const sb_pending *p);
/*
 * Wait up to timeout_ms (-1: for ever, 0: just check) for p's answer. On
 * SB_EAGAIN the time elapsed and p remains valid with *result and *err NULL.
 * On any other return p has been consumed and freed; the results are as for
 * the synchronous calls (0 with *result, SB_EREMOTE with *err, or a local
 * code such as SB_ECLOSED). result must not be NULL; err may be.
 */
int	sb_wait(sb_client *c, sb_pending *p, int timeout_ms, sb_value **result,
	    sb_error **err);
/*
 * Abandon p: it is freed, and its answer is discarded when it comes. NULL
 * is allowed.
 */
void	sb_pending_free(sb_client *c, sb_pending *p);

/* ---------------------------------------------------------------------- */
/* Shared memory (docs/protocol.md, "Shared memory")                       */
/* ---------------------------------------------------------------------- */

/*
 * A block of shared memory attached to one connection: ndarrays whose data
 * lies in it are passed by reference on that connection (neither the
 * socket nor the daemon carries their data), and a result array that lies
 * in it comes back as a view of it. Python sees the block's bytes as a
 * writable numpy array while a call runs: writes on either side are seen
 * by the other, as with any shared memory.
 *
 * Create a block of size bytes (> 0), zero-filled: a sealed memfd (it can
 * neither shrink nor grow) mapped read-write here, attached with
 * shm.attach. Whatever the client has queued is written first, waiting for
 * the socket as needed (messages that arrive meanwhile are served). On 0,
 * *out is a block owned by the caller (sb_shm_free). SB_EINVAL (NULL c or
 * out, size 0), SB_ERANGE (size too large), SB_ENOMEM (no memory or file
 * descriptor for the block), SB_EREMOTE when the daemon refused it
 * (sb_client_last_error() then holds its error: snakebridge.LimitExceeded
 * beyond 16 blocks per connection, snakebridge.SharedMemoryError),
 * SB_ECLOSED, SB_EPROTO.
 */
int		 sb_shm_create(sb_client *c, size_t size, sb_shm **out);
/*
 * The block's memory (sb_shm_size() bytes, page aligned), owned by the
 * block: valid while the block is (until sb_shm_free() and the last value
 * over it is freed). NULL for a NULL m.
 */
void		*sb_shm_data(sb_shm *m);
/* The block's size in bytes; 0 for a NULL m. */
size_t		 sb_shm_size(const sb_shm *m);
/* The daemon's id of the block (what an ext 12 names); 0 for a NULL m. */
uint64_t	 sb_shm_id(const sb_shm *m);
/*
 * Detach m from its connection (shm.detach; its answer is not waited for)
 * and drop the caller's reference. Values over the block keep its memory
 * mapped and readable until the last of them is freed, and travel as ext
 * 8 copies from then on; so do arrays Python kept of it. Call it where c
 * may be used (not at the same time as another call on c); results of
 * requests still in flight that lie in the block fail with SB_EPROTO.
 * After sb_client_close() the block is already detached (the daemon
 * detaches a connection's blocks when it closes) and sb_shm_free() only
 * drops the reference. NULL is allowed.
 */
void		 sb_shm_free(sb_shm *m);
/*
 * A new SB_NDARRAY value (owned by the caller) whose data is not copied:
 * it is bytes [offset, offset + nbytes) of m, nbytes the product of the
 * shape times the item size. The value holds a reference to m (it stays
 * valid after sb_shm_free()). dtype: a number or bool dtype as numpy's
 * dtype.str ("<f8", "|b1", "<i4", "<c16"), at most 31 characters. NULL
 * for a NULL m or dtype, another dtype, a negative dimension, more than 32
 * dimensions, a range past the block's end, or when memory runs out.
 * Reading its data with sb_value_get_ndarray() reads the block itself.
 *
 * Sent as an argument on m's connection it travels as ext 12 (by
 * reference); sent on another connection, after sb_shm_free(), in a
 * callback's result or by sb_value_pack() it travels as ext 8 with its data
 * copied from the block. Keep the data C-contiguous and aligned for its
 * dtype (offset a multiple of the item size) if Python is to use it
 * without copying.
 */
sb_value	*sb_ndarray_shm(sb_shm *m, size_t offset, const char *dtype,
		    const int64_t *shape, size_t ndim);
/*
 * The block an SB_NDARRAY value's data lies in, and its offset there in
 * *offset (offset may be NULL); NULL when v is not an ndarray over a
 * block. A result that lies in a block of the connection it came on is
 * such a value (a view of the caller's own memory, e.g. what
 * numpy.ascontiguousarray returns for a block array). The block is
 * borrowed: valid as long as v is, never to be freed through this pointer.
 */
sb_shm		*sb_value_shm(const sb_value *v, size_t *offset);

#ifdef __cplusplus
}
#endif

#endif
