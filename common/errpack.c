/*
 * errpack.c: packing snakebridge's own errors, for the daemon and the worker
 * alike (see errpack.h).
 */
#include <string.h>

#include "errpack.h"

static void
pack_cstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

void
sb_pack_error(msgpack_packer *pk, enum sb_errtype t, const char *message)
{
	msgpack_pack_map(pk, 2);
	pack_cstr(pk, "type");
	pack_cstr(pk, sb_errtype_name(t));
	pack_cstr(pk, "message");
	pack_cstr(pk, message);
}

void
sb_pack_error_response(msgpack_packer *pk, uint64_t msgid, enum sb_errtype t,
    const char *message)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_int(pk, SB_MSG_RESPONSE);
	msgpack_pack_uint64(pk, msgid);
	sb_pack_error(pk, t, message);
	msgpack_pack_nil(pk);
}

void
sb_pack_notify_head(msgpack_packer *pk, const char *method, uint32_t nparams)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_int(pk, SB_MSG_NOTIFY);
	pack_cstr(pk, method);
	msgpack_pack_array(pk, nparams);
}

void
sb_pack_error_notice(msgpack_packer *pk, enum sb_errtype t,
    const char *message)
{
	sb_pack_notify_head(pk, "error", 1);
	sb_pack_error(pk, t, message);
}
