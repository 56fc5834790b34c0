/*
 * ndarray.c: the numpy dtypes sbctl can show element by element (bool,
 * int8-64, uint8-64, float32/64, either byte order) and the loading and
 * storing of one element of such an array's raw bytes.
 */
#include <stdint.h>
#include <string.h>

#include "ndarray.h"

/* Parse numpy's dtype.str ("<f8", "|b1", ">i4"); -1 when not supported. */
int
nd_dtype_parse(const char *s, struct nd_dtype *dt)
{
	const uint16_t	 probe = 1;
	int		 native_big = *(const uint8_t *)&probe == 0;

	dt->big = native_big;
	switch (*s) {
	case '<':
		dt->big = 0;
		s++;
		break;
	case '>':
		dt->big = 1;
		s++;
		break;
	case '|':
	case '=':
		s++;
		break;
	}
	dt->kind = s[0];
	if (s[0] == '\0' || s[1] < '1' || s[1] > '8' || s[2] != '\0')
		return (-1);
	dt->size = (size_t)(s[1] - '0');
	switch (dt->kind) {
	case 'b':
		return (dt->size == 1 ? 0 : -1);
	case 'i':
	case 'u':
		return (dt->size == 1 || dt->size == 2 || dt->size == 4 ||
		    dt->size == 8 ? 0 : -1);
	case 'f':
		return (dt->size == 4 || dt->size == 8 ? 0 : -1);
	}
	return (-1);
}

/* Read one element at p into e (the member that matches dt->kind). */
void
nd_load(const struct nd_dtype *dt, const uint8_t *p, union nd_elem *e)
{
	uint64_t	 v = 0;
	uint32_t	 v32;
	float		 f;
	size_t		 i, bits = dt->size * 8;

	for (i = 0; i < dt->size; i++)
		v = v << 8 | p[dt->big ? i : dt->size - 1 - i];
	switch (dt->kind) {
	case 'b':
		e->b = v != 0;
		break;
	case 'i':
		if (bits < 64 && (v >> (bits - 1) & 1))
			v |= ~(uint64_t)0 << bits;
		e->i = (int64_t)v;
		break;
	case 'u':
		e->u = v;
		break;
	case 'f':
		if (dt->size == 4) {
			v32 = (uint32_t)v;
			memcpy(&f, &v32, sizeof f);
			e->f = f;
		} else
			memcpy(&e->f, &v, sizeof e->f);
		break;
	}
}

/*
 * Write element e at p. Integers must already be in range for the size (the
 * caller checks with nd_fits).
 */
void
nd_store(const struct nd_dtype *dt, uint8_t *p, const union nd_elem *e)
{
	uint64_t	 v = 0;
	uint32_t	 v32;
	float		 f;
	size_t		 i;

	switch (dt->kind) {
	case 'b':
		v = e->b != 0;
		break;
	case 'i':
		v = (uint64_t)e->i;
		break;
	case 'u':
		v = e->u;
		break;
	case 'f':
		if (dt->size == 4) {
			f = (float)e->f;
			memcpy(&v32, &f, sizeof v32);
			v = v32;
		} else
			memcpy(&v, &e->f, sizeof v);
		break;
	}
	for (i = 0; i < dt->size; i++) {
		p[dt->big ? dt->size - 1 - i : i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Whether the integer fits the dtype: neg says whether it is e->i < 0. */
int
nd_fits(const struct nd_dtype *dt, const union nd_elem *e, int neg)
{
	size_t	 bits = dt->size * 8;

	if (dt->kind == 'u') {
		if (neg)
			return (0);
		return (bits == 64 || e->u >> bits == 0);
	}
	if (dt->kind == 'i') {
		if (!neg && e->u > INT64_MAX)
			return (0);
		if (bits == 64)
			return (1);
		return (e->i >= -((int64_t)1 << (bits - 1)) &&
		    e->i < ((int64_t)1 << (bits - 1)));
	}
	return (1);
}
