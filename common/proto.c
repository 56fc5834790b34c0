/*
 * proto.c: the daemon error type names and the ref payload codec declared in
 * sbproto.h.
 */
#include <string.h>

#include "sbproto.h"

static const char *const errtype_names[] = {
#define SB_ERRTYPE_NAME(id, name) name,
	SB_ERRTYPES(SB_ERRTYPE_NAME)
#undef SB_ERRTYPE_NAME
};

const char *
sb_errtype_name(enum sb_errtype t)
{
	if ((unsigned)t >= SB_ERRTYPE_COUNT)
		return (errtype_names[SB_ERRTYPE_INTERNAL]);
	return (errtype_names[t]);
}

int
sb_ref_decode(const void *payload, size_t len, struct sb_refdata *r)
{
	const uint8_t *p = payload;

	if (len < SB_REF_FIXED_LEN || p[0] != SB_REF_VERSION)
		return (-1);
	r->pool_id = (uint16_t)sb_be_get(p + 1, 2);
	r->slot = (uint16_t)sb_be_get(p + 3, 2);
	r->generation = (uint32_t)sb_be_get(p + 5, 4);
	r->session_id = sb_be_get(p + 9, 8);
	r->ref_id = sb_be_get(p + 17, 8);
	r->type_len = p[25];
	if (len != SB_REF_FIXED_LEN + r->type_len)
		return (-1);
	r->type_name = (const char *)p + SB_REF_FIXED_LEN;
	return (0);
}

size_t
sb_ref_encode(const struct sb_refdata *r, void *out)
{
	uint8_t *p = out;
	size_t tlen = r->type_len > SB_REF_TYPE_MAX ? SB_REF_TYPE_MAX :
	    r->type_len;

	*p++ = SB_REF_VERSION;
	p = sb_be_put(p, r->pool_id, 2);
	p = sb_be_put(p, r->slot, 2);
	p = sb_be_put(p, r->generation, 4);
	p = sb_be_put(p, r->session_id, 8);
	p = sb_be_put(p, r->ref_id, 8);
	*p++ = (uint8_t)tlen;
	if (tlen > 0)
		memcpy(p, r->type_name, tlen);
	return (SB_REF_FIXED_LEN + tlen);
}
