/* ns_backoff.h -- retry delays: a ceiling that doubles from a base up to a cap, full
 * jitter under it, and a time budget after which retrying stops.
 *
 * One schedule for every retry loop: the sender's provider calls (jittered, budgeted),
 * the projector's batch retries and the simulator's webhook retries (the ceiling alone).
 * Pure (the random source is passed in), so schedules are unit-tested without clocks. */
#ifndef NS_BACKOFF_H
#define NS_BACKOFF_H

#include <stdint.h>

typedef struct {
	int64_t base_ms;   /* first ceiling (attempt 0), e.g. 200 */
	int64_t cap_ms;	   /* the ceiling never exceeds this, e.g. 10000 */
	int64_t budget_ms; /* total time from the first attempt after which we give up */
} ns_backoff;

/* The ceiling of the delay before retry number `attempt` (0 = after the first failure):
 * min(cap, base * 2^attempt) with base at least 1, never negative, no overflow for any
 * attempt. */
int64_t ns_backoff_ceiling(const ns_backoff *b, int attempt);

/* Decide the retry after a failure: elapsed_ms is the time since the first attempt. With
 * full jitter the delay is uniform in [0, ceiling(attempt)] (rng: ns_rand state). Returns
 * 0 with *delay_ms set when the retry still fits in the budget (a delay that would overrun
 * it is shortened to end on it), or -1 when the budget is spent (the caller gives up). */
int ns_backoff_next(const ns_backoff *b, int attempt, int64_t elapsed_ms, uint64_t *rng,
		    int64_t *delay_ms);

#endif
