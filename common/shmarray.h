/*
 * shmarray.h: the shared-memory side of snakebridge that every part must
 * agree on (docs/protocol.md, "Shared memory"): the ext 12 payload of an
 * ndarray whose data lies in a client's shared block, the limits, and the
 * packet that hands a block to a worker.
 */
#ifndef SB_SHMARRAY_H
#define SB_SHMARRAY_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* Blocks one connection may hold attached at a time. */
#define SB_SHM_BLOCKS_MAX	16
/* File descriptors a connection may have received and not yet attached. */
#define SB_SHM_FDS_WAITING	4
/* Longest dtype string an ext 12 payload may carry ("<f8", "<M8[ns]"). */
#define SB_SHM_DTYPE_MAX	31
/* Most dimensions (numpy's own limit). */
#define SB_SHM_NDIM_MAX		32
/* The worker's fd for its block channel (its main channel is fd 3). */
#define SB_SHM_WORKER_FD	4

/*
 * An ext 12 payload, decoded: [dtype.str, shape, block, offset, nbytes]. The
 * data is bytes [offset, offset + nbytes) of the block; offset + nbytes never
 * overflows once decoded. Whether nbytes fits dtype and shape is for the
 * reader that knows the dtype (the worker, libsbclient).
 */
struct sb_shmarray {
	char		 dtype[SB_SHM_DTYPE_MAX + 1];	/* NUL-ended */
	size_t		 ndim;
	uint64_t	 shape[SB_SHM_NDIM_MAX];
	uint64_t	 block;
	uint64_t	 offset;
	uint64_t	 nbytes;
};

/* Decode an ext 12 payload; 0, or -1 when it is malformed. */
int	sb_shmarray_decode(const void *payload, size_t len,
	    struct sb_shmarray *out);
/* Pack a as a whole ext 12 value; 0, or -1 when the packer fails. */
int	sb_shmarray_pack(msgpack_packer *pk, const struct sb_shmarray *a);

/*
 * The packet that hands a block to a worker on its block channel (a
 * SOCK_SEQPACKET pair, one packet per block, the block's fd attached with
 * SCM_RIGHTS): three big-endian u64s, block id, size in bytes, and the id of
 * the connection that attached it.
 */
#define SB_SHM_PACKET_LEN	24

struct sb_shmpacket {
	uint64_t	 block;
	uint64_t	 size;
	uint64_t	 conn;
};

void	sb_shmpacket_put(uint8_t buf[SB_SHM_PACKET_LEN],
	    const struct sb_shmpacket *);
void	sb_shmpacket_get(const uint8_t buf[SB_SHM_PACKET_LEN],
	    struct sb_shmpacket *);

#endif
