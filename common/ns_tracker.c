/* ns_tracker.c -- per-partition contiguous done-prefix over a ring buffer (see ns_tracker.h). */
#include "ns_tracker.h"

#include <stdlib.h>
#include <string.h>

void ns_tracker_init(ns_tracker *t)
{
	memset(t, 0, sizeof(*t));
	t->next = -1;
	t->committed = -1;
}

void ns_tracker_free(ns_tracker *t)
{
	free(t->off);
	free(t->done);
	ns_tracker_init(t);
}

void ns_tracker_reset(ns_tracker *t)
{
	t->head = 0;
	t->len = 0;
	t->next = -1;
	t->committed = -1;
}

static size_t slot(const ns_tracker *t, size_t i)
{
	return (t->head + i) % t->cap;
}

static int grow(ns_tracker *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64, i;
	int64_t *noff = malloc(ncap * sizeof(*noff));
	unsigned char *ndone = malloc(ncap);

	if (!noff || !ndone) {
		free(noff);
		free(ndone);
		return -1;
	}
	for (i = 0; i < t->len; i++) {
		noff[i] = t->off[slot(t, i)];
		ndone[i] = t->done[slot(t, i)];
	}
	free(t->off);
	free(t->done);
	t->off = noff;
	t->done = ndone;
	t->cap = ncap;
	t->head = 0;
	return 0;
}

/* Drop the done prefix, moving `next` over it. */
static void advance(ns_tracker *t)
{
	while (t->len > 0 && t->done[t->head]) {
		t->head = (t->head + 1) % t->cap;
		t->len--;
	}
}

int ns_tracker_add(ns_tracker *t, int64_t offset)
{
	if (offset < 0)
		return -1;
	if (t->len > 0 && offset <= t->off[slot(t, t->len - 1)])
		return -1;
	if (t->len == 0 && t->next >= 0 && offset < t->next)
		return -1;
	if (t->len == t->cap && grow(t) != 0)
		return -1;
	t->off[slot(t, t->len)] = offset;
	t->done[slot(t, t->len)] = 0;
	t->len++;
	return 0;
}

int ns_tracker_done(ns_tracker *t, int64_t offset)
{
	size_t lo = 0, hi = t->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t o = t->off[slot(t, mid)];
		if (o == offset) {
			t->done[slot(t, mid)] = 1;
			if (mid == 0) {
				/* the prefix grows: everything done before the first pending
				 * offset is now committable */
				size_t i = 0;
				while (i < t->len && t->done[slot(t, i)])
					i++;
				t->next = t->off[slot(t, i - 1)] + 1;
				advance(t);
			}
			return 0;
		}
		if (o < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

size_t ns_tracker_pending(const ns_tracker *t)
{
	return t->len;
}

int64_t ns_tracker_committable(const ns_tracker *t)
{
	return t->next;
}

int64_t ns_tracker_take_commit(ns_tracker *t)
{
	if (t->next < 0 || t->next == t->committed)
		return -1;
	t->committed = t->next;
	return t->next;
}
