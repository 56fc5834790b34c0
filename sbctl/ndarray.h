/*
 * ndarray.h: element access for the numpy dtypes sbctl renders as numbers.
 */
#ifndef SBCTL_NDARRAY_H
#define SBCTL_NDARRAY_H

#include <stddef.h>
#include <stdint.h>

struct nd_dtype {
	char	 kind;		/* 'b', 'i', 'u' or 'f' */
	size_t	 size;		/* bytes per element */
	int	 big;		/* big-endian */
};

union nd_elem {
	int	 b;
	int64_t	 i;
	uint64_t u;
	double	 f;
};

int	nd_dtype_parse(const char *, struct nd_dtype *);
void	nd_load(const struct nd_dtype *, const uint8_t *, union nd_elem *);
void	nd_store(const struct nd_dtype *, uint8_t *, const union nd_elem *);
int	nd_fits(const struct nd_dtype *, const union nd_elem *, int);

#endif
