/*
 * mpk.c: small msgpack helpers: reading headers of raw bytes the scanner
 * already accepted (to relay without decoding), and conveniences around
 * msgpack_object and msgpack_packer.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snakebridged.h"

/* Decoding zones kept for reuse (mpk_unpack): a request costs none. */
#define MPK_ZONES	16
#define MPK_ZONE_KEEP	(64 * 1024)	/* a larger one is freed */
static msgpack_zone	*mpk_zones[MPK_ZONES];
static unsigned		 mpk_nzones;

/*
 * Decode the message at p (scanned bytes) into up, in a zone kept for
 * reuse; 0 on success. up must be empty; give it back with mpk_unpacked_done.
 */
int
mpk_unpack(msgpack_unpacked *up, const char *p, size_t len)
{
	msgpack_unpack_return rc;
	size_t off = 0;

	if (mpk_nzones > 0)
		up->zone = mpk_zones[--mpk_nzones];
	else if ((up->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)) ==
	    NULL)
		abort();
	rc = msgpack_unpack(p, len, &off, up->zone, &up->data);
	return (rc == MSGPACK_UNPACK_SUCCESS ||
	    rc == MSGPACK_UNPACK_EXTRA_BYTES ? 0 : -1);
}

/*
 * Release what mpk_unpack decoded into up; its zone is kept for reuse unless
 * it grew large (a clear zone keeps one chunk, free is its size).
 */
void
mpk_unpacked_done(msgpack_unpacked *up)
{
	if (up->zone == NULL)
		return;
	msgpack_zone_clear(up->zone);
	if (mpk_nzones < MPK_ZONES &&
	    up->zone->chunk_list.free <= MPK_ZONE_KEEP)
		mpk_zones[mpk_nzones++] = up->zone;
	else
		msgpack_zone_free(up->zone);
	up->zone = NULL;
}

/* The length of the msgpack object at p (scanned bytes); 0 if incomplete. */
size_t
mpk_skip(const char *p, size_t len)
{
	struct sb_scan sc;
	size_t n;

	sb_scan_init(&sc, len, SB_SCAN_DEPTH_CEILING);
	if (sb_scan_feed(&sc, p, len, &n) != SB_SCAN_DONE)
		return (0);
	return (n);
}

int
mpk_array_header(const char *buf, size_t len, uint32_t *count, size_t *hlen)
{
	const unsigned char *p = (const unsigned char *)buf;

	if (len < 1)
		return (-1);
	if ((p[0] & 0xf0) == 0x90) {
		*count = p[0] & 0x0f;
		*hlen = 1;
	} else if (p[0] == 0xdc && len >= 3) {
		*count = (uint32_t)sb_be_get(p + 1, 2);
		*hlen = 3;
	} else if (p[0] == 0xdd && len >= 5) {
		*count = (uint32_t)sb_be_get(p + 1, 4);
		*hlen = 5;
	} else
		return (-1);
	return (0);
}

int
mpk_uint(const char *buf, size_t len, uint64_t *v, size_t *hlen)
{
	const unsigned char *p = (const unsigned char *)buf;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned n;

	if (len < 1)
		return (-1);
	if (p[0] <= 0x7f) {
		*v = p[0];
		*hlen = 1;
		return (0);
	}
	if (p[0] < 0xcc || p[0] > 0xcf)
		return (-1);
	n = sizes[p[0] - 0xcc];
	if (len < 1 + n)
		return (-1);
	*v = sb_be_get(p + 1, n);
	*hlen = 1 + n;
	return (0);
}

void
mpk_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

int
mpk_str_eq(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return (o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	    memcmp(o->via.str.ptr, s, n) == 0);
}

/* A NUL-ended copy of a str object; NULL if it holds a NUL or is no str. */
char *
mpk_strdup(const msgpack_object *o)
{
	char *s;

	if (o->type != MSGPACK_OBJECT_STR ||
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
		return (NULL);
	if ((s = strndup(o->via.str.ptr, o->via.str.size)) == NULL)
		abort();
	return (s);
}

const msgpack_object *
mpk_map_get(const msgpack_object *map, const char *key)
{
	uint32_t i;

	if (map->type != MSGPACK_OBJECT_MAP)
		return (NULL);
	for (i = 0; i < map->via.map.size; i++) {
		if (mpk_str_eq(&map->via.map.ptr[i].key, key))
			return (&map->via.map.ptr[i].val);
	}
	return (NULL);
}
