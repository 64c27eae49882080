/* ns_rand.h -- a small seedable pseudo-random generator (xorshift64*).
 *
 * For jitter, simulations and tests: fast, reproducible from a seed, not cryptographic.
 * The state is the caller's, so pure functions stay pure and threads need no lock. */
#ifndef NS_RAND_H
#define NS_RAND_H

#include <stdint.h>

/* Next pseudo-random 64-bit value; advances *state. A zero state is replaced by a fixed
 * non-zero seed (xorshift never leaves zero). */
uint64_t ns_rand_next(uint64_t *state);

#endif
