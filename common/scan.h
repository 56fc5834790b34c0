/*
 * scan.h: the validating msgpack scanner. It walks bytes as they arrive and
 * says where one complete msgpack object ends, rejecting anything that could
 * make a decoder allocate or recurse beyond fixed bounds: messages larger than
 * a maximum size, nesting deeper than a maximum depth, and containers whose
 * declared element count exceeds the bytes that could still follow. Only bytes
 * it accepted are ever handed to msgpack-c.
 */
#ifndef SB_SCAN_H
#define SB_SCAN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Hard ceiling on the configurable depth: msgpack-c's C unpacker cannot go
 * deeper than its fixed stack (MSGPACK_EMBED_STACK_SIZE, 32), so nothing
 * deeper may pass the scan.
 */
#define SB_SCAN_DEPTH_CEILING	32
#define SB_SCAN_DEFAULT_DEPTH	32
#define SB_SCAN_DEFAULT_SIZE	(64u * 1024 * 1024)

enum sb_scan_result {
	SB_SCAN_DONE = 1,	/* a whole object ends at *msg_len */
	SB_SCAN_MORE = 0,	/* valid so far, needs more bytes */
	SB_SCAN_EMALFORMED = -1,	/* reserved byte (0xc1) */
	SB_SCAN_ETOOBIG = -2,	/* message would exceed max_size */
	SB_SCAN_ETOODEEP = -3,	/* nesting beyond max_depth */
	SB_SCAN_ELYING = -4,	/* declared count cannot fit in max_size */
};

struct sb_scan {
	size_t		 off;		/* bytes of this message accepted so far */
	size_t		 max_size;
	unsigned	 max_depth;
	unsigned	 depth;		/* containers open */
	uint64_t	 pending;	/* elements owed and not yet started */
	uint32_t	 left[SB_SCAN_DEPTH_CEILING];	/* not yet complete */
};

/* Prepare a scanner; max_depth is clamped to SB_SCAN_DEPTH_CEILING. */
void	sb_scan_init(struct sb_scan *, size_t max_size, unsigned max_depth);
/* Forget the current message (after DONE, to scan the next one). */
void	sb_scan_reset(struct sb_scan *);
/*
 * Continue scanning. buf holds the bytes of the current message from its
 * first byte, len of them (len never shrinks between calls for one message).
 * Work already done is not repeated, so feeding a message byte by byte costs
 * O(size). On SB_SCAN_DONE, *msg_len is the object's length in buf.
 */
int	sb_scan_feed(struct sb_scan *, const void *buf, size_t len, size_t *msg_len);
/*
 * After SB_SCAN_MORE, about the element the scan waits for: *end is where
 * it ends in the message (0 while its header is incomplete), so a reader
 * can make room for all of it at once; the return value is where its bin
 * data begins when it is a bin or an ndarray ext (docs/protocol.md) whose
 * headers are all in buf (len bytes of the message so far), else 0, so a
 * reader can place a large payload at an aligned address.
 */
size_t	sb_scan_bulk(const struct sb_scan *, const void *buf, size_t len,
	    size_t *end);
/* A short English description of a scan result. */
const char *sb_scan_strerror(int);

#endif
