/* ns_rand.c -- xorshift64* (Vigna), the generator behind ns_rand.h. */
#include "ns_rand.h"

uint64_t ns_rand_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}
