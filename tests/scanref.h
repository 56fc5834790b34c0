/*
 * scanref.h: the reference scanner: the plain header-by-header version of
 * common/scan.c that check_scan compares the real scanner against, result
 * by result and state by state.
 */
#ifndef SCANREF_H
#define SCANREF_H

#include "scan.h"

/* As sb_scan_feed, on a scanner prepared by sb_scan_init. */
int	scanref_feed(struct sb_scan *, const void *buf, size_t len,
	    size_t *msg_len);
/* As sb_scan_bulk. */
size_t	scanref_bulk(const struct sb_scan *, const void *buf, size_t len,
	    size_t *end);

#endif
