/*
 * alloc.h: the malloc settings of the processes that move whole messages
 * (the daemon and the worker; sbbench too, as a client would). A message of
 * many megabytes is read into a buffer, decoded, encoded and written again;
 * glibc would map fresh memory for each such buffer and unmap it when freed,
 * and the page faults that follow cost more than the copies themselves.
 * Large blocks come from the heap instead, and freed memory stays there to
 * be reused until 1 GiB lies unused at its top (the price: a process keeps
 * the memory of the largest messages it handled).
 */
#ifndef SB_ALLOC_H
#define SB_ALLOC_H

#include <malloc.h>

#define SB_ALLOC_TRIM_THRESHOLD	(1024 << 20)

/* Apply the settings; call once at start, before any large allocation. */
static inline void
sb_alloc_tune(void)
{
	mallopt(M_MMAP_MAX, 0);
	mallopt(M_TRIM_THRESHOLD, SB_ALLOC_TRIM_THRESHOLD);
}

#endif
