/* ns_backoff.c -- doubling ceilings, full jitter, a time budget (see ns_backoff.h). */
#include "ns_backoff.h"
#include "ns_rand.h"

int64_t ns_backoff_ceiling(const ns_backoff *b, int attempt)
{
	int64_t c = b->base_ms > 0 ? b->base_ms : 1;

	if (attempt < 0)
		attempt = 0;
	for (int i = 0; i < attempt && c < b->cap_ms; i++)
		c *= 2;
	if (c > b->cap_ms)
		c = b->cap_ms;
	return c < 0 ? 0 : c;
}

int ns_backoff_next(const ns_backoff *b, int attempt, int64_t elapsed_ms, uint64_t *rng,
		    int64_t *delay_ms)
{
	int64_t ceil = ns_backoff_ceiling(b, attempt);
	int64_t d = (int64_t)(ns_rand_next(rng) % (uint64_t)(ceil + 1));

	if (elapsed_ms < 0)
		elapsed_ms = 0;
	if (elapsed_ms >= b->budget_ms)
		return -1;
	/* A retry whose delay would overrun the budget is shortened to end on it: the last
	 * chance still happens, then the budget check above ends the job. */
	if (elapsed_ms + d > b->budget_ms)
		d = b->budget_ms - elapsed_ms;
	*delay_ms = d;
	return 0;
}
