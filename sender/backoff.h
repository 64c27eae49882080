/* backoff.h -- retry delays for transient provider failures: exponential growth with full
 * jitter, inside a bounded time budget. Pure (the random source is passed in), so the
 * schedule is unit-tested without clocks. */
#ifndef SENDER_BACKOFF_H
#define SENDER_BACKOFF_H

#include <stdint.h>

typedef struct {
	int64_t base_ms;   /* first ceiling (attempt 0), e.g. 200 */
	int64_t cap_ms;	   /* ceiling never exceeds this, e.g. 10000 */
	int64_t budget_ms; /* total time from the first attempt after which we give up */
} sender_backoff;

/* The ceiling of the delay before retry number `attempt` (0 = after the first failure):
 * min(cap, base * 2^attempt), never negative, no overflow for any attempt. */
int64_t sender_backoff_ceiling(const sender_backoff *b, int attempt);

/* Next pseudo-random 64-bit value from *state (xorshift64*); *state must be non-zero. */
uint64_t sender_backoff_rand(uint64_t *state);

/* Decide the retry after a failure: elapsed_ms is the time since the job's first attempt.
 * With full jitter the delay is uniform in [0, ceiling(attempt)]. Returns 0 with *delay_ms
 * set when the retry still fits in the budget (elapsed + delay <= budget), or -1 when the
 * budget is spent (the caller gives up and reports failed). */
int sender_backoff_next(const sender_backoff *b, int attempt, int64_t elapsed_ms, uint64_t *rng,
			int64_t *delay_ms);

#endif
