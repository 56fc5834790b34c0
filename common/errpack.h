/*
 * errpack.h: packing snakebridge's own errors (docs/protocol.md, "Errors"):
 * the {type, message} map, and the two messages that carry one, a response
 * to a msgid and the "error" notification sent before a connection closes;
 * and the head of any notification, which the error notice starts with.
 */
#ifndef SB_ERRPACK_H
#define SB_ERRPACK_H

#include <stdint.h>

#include <msgpack.h>

#include "sbproto.h"

/* {"type": the error type's name, "message": message}. */
void	sb_pack_error(msgpack_packer *, enum sb_errtype, const char *message);
/* [1, msgid, {type, message}, nil]. */
void	sb_pack_error_response(msgpack_packer *, uint64_t msgid,
	    enum sb_errtype, const char *message);
/* [2, method, [ followed by the nparams params the caller packs. */
void	sb_pack_notify_head(msgpack_packer *, const char *method,
	    uint32_t nparams);
/* [2, "error", [{type, message}]]. */
void	sb_pack_error_notice(msgpack_packer *, enum sb_errtype,
	    const char *message);

#endif
