/*
 * m_hello.c: the handshake (hello) and ping.
 */
#include <stdlib.h>

#include "config.h"
#include "snakebridged.h"

/* hello [{protocol, client}]: check the version, tell our limits. */
void
m_hello(struct request *r)
{
	const msgpack_object *p = r->params->via.array.ptr, *v;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const struct config *conf = sbd.conf;

	if (r->params->via.array.size > 0 && p[0].type == MSGPACK_OBJECT_MAP) {
		v = mpk_map_get(&p[0], "protocol");
		if (v != NULL && v->type != MSGPACK_OBJECT_NIL &&
		    (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    v->via.u64 < SB_PROTOCOL_MIN ||
		    v->via.u64 > SB_PROTOCOL_VERSION)) {
			request_error(r, SB_ERRTYPE_INCOMPATIBLE, "protocol "
			    "version not supported: this daemon speaks %d to "
			    "%d", SB_PROTOCOL_MIN, SB_PROTOCOL_VERSION);
			return;
		}
		v = mpk_map_get(&p[0], "client");
		if (v != NULL && r->conn->client == NULL)
			r->conn->client = mpk_strdup(v);
	}
	request_reply_begin(&sb, &pk);
	msgpack_pack_map(&pk, 4);
	mpk_str(&pk, "protocol");
	msgpack_pack_int(&pk, SB_PROTOCOL_VERSION);
	mpk_str(&pk, "min_protocol");
	msgpack_pack_int(&pk, SB_PROTOCOL_MIN);
	mpk_str(&pk, "version");
	mpk_str(&pk, SBD_VERSION);
	mpk_str(&pk, "limits");
	msgpack_pack_map(&pk, 6);
	mpk_str(&pk, "max_message_size");
	msgpack_pack_uint64(&pk, conf->max_message_size);
	mpk_str(&pk, "max_depth");
	msgpack_pack_uint32(&pk, conf->max_depth);
	mpk_str(&pk, "max_refs_per_session");
	msgpack_pack_uint64(&pk, conf->max_refs_per_session);
	mpk_str(&pk, "max_sessions_per_uid");
	msgpack_pack_uint32(&pk, conf->max_sessions_per_uid);
	mpk_str(&pk, "max_sessions");
	msgpack_pack_uint32(&pk, conf->max_sessions);
	mpk_str(&pk, "shm_blocks");
	msgpack_pack_uint32(&pk, SB_SHM_BLOCKS_MAX);
	request_reply(r, &sb);
}

void
m_ping(struct request *r)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	request_reply_begin(&sb, &pk);
	mpk_str(&pk, "pong");
	request_reply(r, &sb);
}
