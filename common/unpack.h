/*
 * unpack.h: a message the scanner (scan.h) accepted, decoded into msgpack-c's
 * object tree as msgpack_unpack would build it, in one pass (unpack.c). The
 * daemon and the worker both decode with it.
 */
#ifndef SB_UNPACK_H
#define SB_UNPACK_H

#include <stddef.h>

#include <msgpack.h>

/*
 * The value at data + *off (len bytes in all), lying in depth containers,
 * into *out, containers' items in z; the tree points into data. *off moves
 * past it. 0, or -1 when msgpack-c would not unpack it there.
 */
int	sb_unpack_next(const char *data, size_t len, size_t *off,
	    unsigned depth, msgpack_zone *z, msgpack_object *out);
/* The len bytes at data, exactly one value, as sb_unpack_next: 0 or -1. */
int	sb_unpack_object(const char *data, size_t len, msgpack_zone *z,
	    msgpack_object *out);

#endif
