/*
 * block.c: the memory of a large received message, shared by the bytes and
 * ndarray values decoded from it so that their data is not copied out. A
 * block is freed when the last value referring to it is freed; values may
 * be freed from any thread, so the count is atomic.
 */
#include <stdlib.h>

#include "internal.h"

struct value_block {
	size_t	 refs;
	void	*mem;
};

/* A block owning mem (malloc'd), with one reference; NULL if out of memory. */
struct value_block *
block_take(void *mem)
{
	struct value_block *b;

	if ((b = malloc(sizeof(*b))) == NULL)
		return (NULL);
	b->refs = 1;
	b->mem = mem;
	return (b);
}

struct value_block *
block_hold(struct value_block *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return (b);
}

/* Drop one reference; the last frees the memory. NULL is allowed. */
void
block_drop(struct value_block *b)
{
	if (b == NULL || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(b->mem);
	free(b);
}
