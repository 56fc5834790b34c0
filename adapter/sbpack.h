/*
 * sbpack.h: msgpack-c's own packing template (msgpack/pack_template.h)
 * made to append straight to a msgpack_sbuffer: sbpack_int64(sb, v) writes
 * the bytes msgpack_pack_int64 writes, without a callback per piece (the
 * buffer grows through msgpack_sbuffer_write only when it is full).
 * Include after adapter.h.
 */
#ifndef SB_SBPACK_H
#define SB_SBPACK_H

#include <string.h>

static inline int
sbpack_append(msgpack_sbuffer *sb, const void *buf, size_t len)
{
	if (sb->alloc - sb->size < len)
		return (msgpack_sbuffer_write(sb, buf, len));
	memcpy(sb->data + sb->size, buf, len);
	sb->size += len;
	return (0);
}

#define msgpack_pack_inline_func(name) \
	static inline int sbpack ## name
#define msgpack_pack_inline_func_cint(name) \
	static inline int sbpack ## name
#define msgpack_pack_inline_func_fixint(name) \
	static inline int sbpack_fix ## name
#define msgpack_pack_user msgpack_sbuffer *
#define msgpack_pack_append_buffer(user, buf, len) \
	return (sbpack_append(user, buf, len))
/* the template's timestamp writes its ext header by this name */
#define msgpack_pack_ext	sbpack_ext
#include <msgpack/pack_template.h>
#undef msgpack_pack_ext

static inline int
sbpack_str_with_body(msgpack_sbuffer *sb, const void *b, size_t l)
{
	if (sbpack_str(sb, l) != 0)
		return (-1);
	return (sbpack_str_body(sb, b, l));
}

static inline int
sbpack_bin_with_body(msgpack_sbuffer *sb, const void *b, size_t l)
{
	if (sbpack_bin(sb, l) != 0)
		return (-1);
	return (sbpack_bin_body(sb, b, l));
}

static inline int
sbpack_ext_with_body(msgpack_sbuffer *sb, const void *b, size_t l,
    int8_t type)
{
	if (sbpack_ext(sb, l, type) != 0)
		return (-1);
	return (sbpack_ext_body(sb, b, l));
}

#endif
