/*
 * m_shm.c: shm.attach [size] (the oldest descriptor the connection sent
 * becomes a block) and shm.detach [block] (docs/protocol.md, "Shared
 * memory").
 */
#include "config.h"
#include "snakebridged.h"

/* params[0] as a uint, or -1 after answering BadRequest. */
static int
m_shm_param(struct request *r, const char *name, uint64_t *v)
{
	const msgpack_object *p = r->params->via.array.ptr;

	if (r->params->via.array.size != 1 ||
	    p[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		request_error(r, SB_ERRTYPE_BAD_REQUEST, "%s takes one param "
		    "(%s), a non-negative integer", r->method->name, name);
		return (-1);
	}
	*v = p[0].via.u64;
	return (0);
}

/*
 * The request took the oldest descriptor waiting, if any (M_FD), before
 * anything was checked, so that the queue stays in step with the client's
 * attaches; a failed attach closes it with the request.
 */
void
m_shm_attach(struct request *r)
{
	struct conn *c = r->conn;
	struct shmblock *b;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t size;
	char msg[128];

	if (m_shm_param(r, "size", &size) != 0)
		return;
	if (c->nblocks >= SB_SHM_BLOCKS_MAX) {
		request_error_detail_str(r, SB_ERRTYPE_LIMIT_EXCEEDED, "limit",
		    "shm_blocks", "a connection holds at most %d blocks",
		    SB_SHM_BLOCKS_MAX);
		return;
	}
	if (r->fd == -1) {
		request_error(r, SB_ERRTYPE_SHARED_MEMORY, "no file "
		    "descriptor came with shm.attach");
		return;
	}
	if (shm_check_fd(r->fd, size, msg, sizeof msg) != 0) {
		request_error(r, SB_ERRTYPE_SHARED_MEMORY, "%s", msg);
		return;
	}
	b = shm_add(c, r->fd, size);
	r->fd = -1;
	request_reply_begin(&sb, &pk);
	msgpack_pack_map(&pk, 1);
	mpk_str(&pk, "block");
	msgpack_pack_uint64(&pk, b->id);
	request_reply(r, &sb);
}

void
m_shm_detach(struct request *r)
{
	struct shmblock *b;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t id;

	if (m_shm_param(r, "block", &id) != 0)
		return;
	if ((b = shm_find(r->conn, id)) == NULL) {
		request_error(r, SB_ERRTYPE_SHARED_MEMORY, "this connection "
		    "holds no block %llu", (unsigned long long)id);
		return;
	}
	shm_detach(b);
	request_reply_begin(&sb, &pk);
	msgpack_pack_true(&pk);
	request_reply(r, &sb);
}
