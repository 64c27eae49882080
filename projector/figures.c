/* figures.c -- the figures of a batch, summed in an array and written at its end (see
 * figures.h). The deltas are found again through an open-addressing index over the
 * array, so a batch of events with many distinct minutes (old occurredAt values) costs
 * no more than one with few. */
#include "figures.h"
#include "ns_readmodel.h"
#include "ns_str.h"

#include <stdlib.h>
#include <string.h>

typedef enum { F_COUNT = 0, F_MINUTE, F_LATENCY } kind;

typedef struct {
	kind k;
	char tenant[NS_TENANT_MAX + 1];
	char channel[NS_STATUS_MAX + 1];
	char status[NS_STATUS_MAX + 1]; /* or "accepted" */
	int64_t minute;
	int bucket;
	int64_t n;
} delta;

struct proj_figures {
	delta *d;
	size_t n, cap;
	size_t *slot; /* index + 1 into d, 0 = empty; nslots a power of two > 2 * cap */
	size_t nslots;
};

static uint64_t key_hash(kind k, const char *tenant, const char *channel, const char *status,
			 int64_t minute, int bucket)
{
	uint64_t h = ns_str_hash(tenant) * 31 + ns_str_hash(channel);
	h = h * 31 + ns_str_hash(status);
	h = h * 1000003u + (uint64_t)minute * 131u + (uint64_t)bucket * 7u + (uint64_t)k;
	return h ^ (h >> 29);
}

static int same(const delta *e, kind k, const char *tenant, const char *channel, const char *status,
		int64_t minute, int bucket)
{
	return e->k == k && e->minute == minute && e->bucket == bucket &&
	       !strcmp(e->status, status) && !strcmp(e->channel, channel) &&
	       !strcmp(e->tenant, tenant);
}

/* Index every delta again into a table of nslots (a power of two). Returns 0 or -1. */
static int reindex(proj_figures *f, size_t nslots)
{
	size_t *slot = calloc(nslots, sizeof(*slot));

	if (!slot)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		const delta *e = &f->d[i];
		size_t h =
		    (size_t)key_hash(e->k, e->tenant, e->channel, e->status, e->minute, e->bucket) &
		    (nslots - 1);
		while (slot[h])
			h = (h + 1) & (nslots - 1);
		slot[h] = i + 1;
	}
	free(f->slot);
	f->slot = slot;
	f->nslots = nslots;
	return 0;
}

proj_figures *proj_figures_new(void)
{
	return calloc(1, sizeof(proj_figures));
}

static int add(proj_figures *f, kind k, const char *tenant, const char *channel, const char *status,
	       int64_t minute, int bucket, int64_t n)
{
	size_t h;
	delta *e;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		delta *d = realloc(f->d, cap * sizeof(*d));
		if (!d)
			return -1;
		f->d = d;
		f->cap = cap;
		if (reindex(f, cap * 4) != 0)
			return -1;
	}
	h = (size_t)key_hash(k, tenant, channel, status, minute, bucket) & (f->nslots - 1);
	for (; f->slot[h]; h = (h + 1) & (f->nslots - 1)) {
		e = &f->d[f->slot[h] - 1];
		if (same(e, k, tenant, channel, status, minute, bucket)) {
			e->n += n;
			return 0;
		}
	}
	f->slot[h] = f->n + 1;
	e = &f->d[f->n++];
	*e = (delta){.k = k, .minute = minute, .bucket = bucket, .n = n};
	memcpy(e->tenant, tenant, strnlen(tenant, NS_TENANT_MAX));
	memcpy(e->channel, channel, strnlen(channel, NS_STATUS_MAX));
	memcpy(e->status, status, strnlen(status, NS_STATUS_MAX));
	return 0;
}

static int64_t minute_of(int64_t ms)
{
	return ms >= 0 ? ms / 60000 : -((-ms + 59999) / 60000);
}

int proj_figures_note(proj_figures *f, const char *channel_before, const char *status_before,
		      const ns_state *after, const ns_event *ev, ns_outcome outcome)
{
	int64_t minute = minute_of(ev->occurred_at);
	int moved = strcmp(channel_before, after->channel) || strcmp(status_before, after->status);
	int entered = strcmp(status_before, after->status) != 0 && after->status[0];
	int rc = 0;

	if (moved && status_before[0])
		rc |= add(f, F_COUNT, after->tenant, channel_before, status_before, 0, 0, -1);
	if (moved && after->status[0])
		rc |= add(f, F_COUNT, after->tenant, after->channel, after->status, 0, 0, 1);
	if (outcome != NS_OUT_APPLIED)
		return rc ? -1 : 0;
	if (ev->type == NS_EV_REQUESTED)
		rc |= add(f, F_MINUTE, after->tenant, after->channel, "accepted", minute, 0, 1);
	if (entered) {
		rc |= add(f, F_MINUTE, after->tenant, after->channel, after->status, minute, 0, 1);
		if (after->requested)
			rc |= add(
			    f, F_LATENCY, after->tenant, after->channel, after->status, minute,
			    ns_readmodel_latency_bucket(ev->occurred_at - after->created_at), 1);
	}
	return rc ? -1 : 0;
}

int proj_figures_flush(proj_figures *f, proj_store *s)
{
	int rc = 0;

	for (size_t i = 0; i < f->n && rc == 0; i++) {
		const delta *e = &f->d[i];
		if (e->n == 0)
			continue;
		switch (e->k) {
		case F_COUNT:
			rc = proj_store_fig_count(s, e->tenant, e->channel, e->status, e->n);
			break;
		case F_MINUTE:
			rc = proj_store_fig_minute(s, e->tenant, e->minute, e->channel, e->status,
						   e->n);
			break;
		case F_LATENCY:
			rc = proj_store_fig_latency(s, e->tenant, e->minute, e->channel, e->status,
						    e->bucket, e->n);
			break;
		}
	}
	proj_figures_reset(f);
	return rc;
}

void proj_figures_reset(proj_figures *f)
{
	f->n = 0;
	if (f->slot)
		memset(f->slot, 0, f->nslots * sizeof(*f->slot));
}

void proj_figures_free(proj_figures *f)
{
	if (!f)
		return;
	free(f->d);
	free(f->slot);
	free(f);
}
