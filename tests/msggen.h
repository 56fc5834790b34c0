/*
 * msggen.h: random msgpack messages for the scanner and decoder tests:
 * every header form (fix, 8-, 16- and 32-bit lengths, ndarray exts), nested
 * containers, damage to them, and random bytes that now and then form one;
 * and a driver that holds a decoder's lengths on them to the scanner's.
 */
#ifndef MSGGEN_H
#define MSGGEN_H

#include <stddef.h>
#include <stdint.h>

/* A growing message under construction; buf is malloc'ed, the caller frees. */
struct gen {
	unsigned char	*buf;
	size_t		 len, cap;
	uint64_t	 rng;		/* generator state, never 0 */
};

/* xorshift64*: the same sequence everywhere. */
uint64_t	gen_next(uint64_t *);
/* A number below n. */
unsigned	gen_below(uint64_t *, unsigned n);
/* Append one random element, containers only above depth 5. */
void		gen_value(struct gen *, unsigned depth);
/* Append n random bytes, mostly first bytes of msgpack formats. */
void		gen_bytes(struct gen *, size_t n);
/* Damage the message: bytes changed, lengths inflated, bytes cut. */
void		gen_mutate(struct gen *);

/* A decoder's length of the value at the start of len bytes, 0 if none. */
typedef size_t	(*gen_measure)(const char *, size_t);

/* What gen_drive found: messages the scanner accepted, of each kind. */
struct gen_tally {
	unsigned	 damaged;	/* damaged copies of values */
	unsigned	 random;	/* runs of random bytes */
	unsigned	 agreed;	/* of both, those measured as scanned */
};

/*
 * Check a measure on values in every header form and every cut of them;
 * tally it on damaged values and random bytes the scanner accepts.
 */
void		gen_drive(uint64_t seed, gen_measure, struct gen_tally *);

#endif
