/* figures.c -- the figures of a batch, summed in an array and written at its end (see
 * figures.h). A batch touches few distinct (tenant, minute, channel, status) keys, so a
 * linear search over the last entries found is cheaper than any table. */
#include "figures.h"
#include "ns_readmodel.h"

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
};

proj_figures *proj_figures_new(void)
{
	return calloc(1, sizeof(proj_figures));
}

static int add(proj_figures *f, kind k, const char *tenant, const char *channel, const char *status,
	       int64_t minute, int bucket, int64_t n)
{
	delta *e;

	for (size_t i = f->n; i-- > 0;) {
		e = &f->d[i];
		if (e->k == k && e->minute == minute && e->bucket == bucket &&
		    !strcmp(e->status, status) && !strcmp(e->channel, channel) &&
		    !strcmp(e->tenant, tenant)) {
			e->n += n;
			return 0;
		}
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		delta *d = realloc(f->d, cap * sizeof(*d));
		if (!d)
			return -1;
		f->d = d;
		f->cap = cap;
	}
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
	f->n = 0;
	return rc;
}

void proj_figures_reset(proj_figures *f)
{
	f->n = 0;
}

void proj_figures_free(proj_figures *f)
{
	if (!f)
		return;
	free(f->d);
	free(f);
}
