/*
 * Eight bytes at a time: tests on a 64-bit word of text, for scanners
 * whose common case is a run of plain bytes (a request head, a field
 * value). Each says exactly whether some byte of the word qualifies,
 * not which: the subtraction's borrow can mark bytes above a true one,
 * never one alone. The caller then looks at those eight one by one.
 */
#ifndef CUBE_SWAR_H
#define CUBE_SWAR_H

#include <stdint.h>
#include <string.h>

#define SWAR_ONES	UINT64_C(0x0101010101010101)
#define SWAR_HIGHS	UINT64_C(0x8080808080808080)

/* The eight bytes at p, at any alignment. */
static inline uint64_t
swar_load(const void *p)
{
	uint64_t	w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Whether some byte of w is below n (n at most 128). */
static inline int
swar_has_below(uint64_t w, unsigned int n)
{
	return ((w - SWAR_ONES * n) & ~w & SWAR_HIGHS) != 0;
}

/* Whether some byte of w is b. */
static inline int
swar_has_byte(uint64_t w, unsigned char b)
{
	return swar_has_below(w ^ (SWAR_ONES * b), 1);
}

#endif
