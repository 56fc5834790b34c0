/*
 * sbproto.h: facts of the wire protocol that the daemon, the worker and the
 * client library share: message kinds, the ext type registry, the table of
 * daemon-side error types, and the layout of a ref's payload.
 * The protocol itself is specified in docs/protocol.md.
 */
#ifndef SB_PROTO_H
#define SB_PROTO_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SB_PROTOCOL_VERSION	1
#define SB_PROTOCOL_MIN		1

/*
 * The signal the daemon sends a worker along with each drop notice
 * (docs/internals.md, "Pipelining"); needs <signal.h>.
 */
#define SB_SIG_DROP		(SIGRTMIN + 1)
/*
 * The signal that wakes a worker's main thread out of a blocking call while
 * an interrupt waits there: one that came just before the call (or to
 * another thread) would otherwise wait for the call to end.
 */
#define SB_SIG_NUDGE		(SIGRTMIN + 2)

/* msgpack-rpc message kinds (element 0 of every message). */
#define SB_MSG_REQUEST		0
#define SB_MSG_RESPONSE		1
#define SB_MSG_NOTIFY		2

/* Ext type registry (docs/protocol.md, "Ext types"). */
#define SB_EXT_TUPLE		1	/* payload: msgpack array */
#define SB_EXT_SET		2	/* payload: msgpack array */
#define SB_EXT_FROZENSET	3	/* payload: msgpack array */
#define SB_EXT_BIGINT		4	/* payload: ASCII decimal, optional '-' */
#define SB_EXT_COMPLEX		5	/* payload: msgpack array [real, imag] */
#define SB_EXT_REF		6	/* payload: opaque (struct sb_refdata) */
#define SB_EXT_CALLBACK		7	/* payload: msgpack uint, client's id */
#define SB_EXT_NDARRAY		8	/* payload: [dtype.str, shape, bin] */
#define SB_EXT_DATE		9	/* payload: ASCII "YYYY-MM-DD" */
#define SB_EXT_DATETIME		10	/* payload: ASCII naive isoformat() */
#define SB_EXT_DECIMAL		11	/* payload: ASCII str(Decimal) */
#define SB_EXT_SHMARRAY		12	/* payload: [dtype.str, shape, block,
					   offset, nbytes] (shmarray.h) */
#define SB_EXT_TIMESTAMP	(-1)	/* msgpack standard timestamp (UTC) */

/*
 * Daemon-side error types: one table, stable names. Python exceptions carry
 * their own type names; these are what snakebridge itself reports.
 */
#define SB_ERRTYPES(X)							\
	X(PROTOCOL, "snakebridge.ProtocolError")			\
	X(BAD_REQUEST, "snakebridge.BadRequest")			\
	X(UNKNOWN_METHOD, "snakebridge.UnknownMethod")			\
	X(INCOMPATIBLE, "snakebridge.IncompatibleProtocol")		\
	X(TOO_LARGE, "snakebridge.TooLarge")				\
	X(REF_NOT_FOUND, "snakebridge.RefNotFound")			\
	X(REF_LOST, "snakebridge.RefLost")				\
	X(REF_FOREIGN, "snakebridge.RefForeign")			\
	X(INVALID_REF, "snakebridge.InvalidRef")			\
	X(SESSION_NOT_FOUND, "snakebridge.SessionNotFound")		\
	X(TIMEOUT, "snakebridge.Timeout")				\
	X(WORKER_CRASHED, "snakebridge.WorkerCrashed")			\
	X(WORKER_BUSY, "snakebridge.WorkerBusy")			\
	X(OVERLOADED, "snakebridge.Overloaded")				\
	X(LIMIT_EXCEEDED, "snakebridge.LimitExceeded")			\
	X(PERMISSION, "snakebridge.PermissionDenied")			\
	X(UNKNOWN_POOL, "snakebridge.UnknownPool")			\
	X(UNKNOWN_PROFILE, "snakebridge.UnknownProfile")		\
	X(MODULE_NOT_ALLOWED, "snakebridge.ModuleNotAllowed")		\
	X(SHUTTING_DOWN, "snakebridge.ShuttingDown")			\
	X(CANCELLED, "snakebridge.Cancelled")				\
	X(CALLBACK_FAILED, "snakebridge.CallbackFailed")		\
	X(SHARED_MEMORY, "snakebridge.SharedMemoryError")		\
	X(INTERNAL, "snakebridge.InternalError")

enum sb_errtype {
#define SB_ERRTYPE_ENUM(id, name) SB_ERRTYPE_##id,
	SB_ERRTYPES(SB_ERRTYPE_ENUM)
#undef SB_ERRTYPE_ENUM
	SB_ERRTYPE_COUNT
};

/* The stable name of a daemon error type ("snakebridge.Timeout"). */
const char	*sb_errtype_name(enum sb_errtype);

/*
 * A ref's ext 6 payload. Clients treat it as opaque bytes; the daemon reads it
 * to route and check ownership, the worker to find the object. Layout, all
 * integers big-endian:
 *   u8 version (1) | u16 pool id | u16 slot | u32 worker generation |
 *   u64 session id | u64 ref id | u8 type name length | type name bytes
 */
#define SB_REF_VERSION		1
#define SB_REF_FIXED_LEN	26
#define SB_REF_TYPE_MAX		255

struct sb_refdata {
	uint16_t	 pool_id;
	uint16_t	 slot;
	uint32_t	 generation;
	uint64_t	 session_id;
	uint64_t	 ref_id;
	const char	*type_name;	/* points into the payload, not NUL-ended */
	size_t		 type_len;
};

/*
 * Read n (at most 8) bytes at p as a big-endian unsigned integer; the
 * widths of msgpack's numbers and lengths (2, 4, 8) with one load each.
 */
static inline uint64_t
sb_be_get(const uint8_t *p, unsigned n)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v = 0;

	switch (n) {
	case 2:
		memcpy(&v16, p, sizeof v16);
		return (be16toh(v16));
	case 4:
		memcpy(&v32, p, sizeof v32);
		return (be32toh(v32));
	case 8:
		memcpy(&v, p, sizeof v);
		return (be64toh(v));
	}
	while (n-- > 0)
		v = (v << 8) | *p++;
	return (v);
}

/* Write v as n (at most 8) bytes big-endian at p; the byte after them. */
static inline uint8_t *
sb_be_put(uint8_t *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = n; i > 0; i--) {
		p[i - 1] = (uint8_t)v;
		v >>= 8;
	}
	return (p + n);
}

/* Parse a payload; 0 on success, -1 when it is not a well-formed ref. */
int	sb_ref_decode(const void *payload, size_t len, struct sb_refdata *);
/*
 * Write a payload into out (room for SB_REF_FIXED_LEN + SB_REF_TYPE_MAX
 * bytes); a longer type name is cut. Returns the payload length.
 */
size_t	sb_ref_encode(const struct sb_refdata *, void *out);

#endif
