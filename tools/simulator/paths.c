/* paths.c -- status paths of the simulated provider, walked on the channel graphs of
 * schemas/ (see paths.h). */
#include "paths.h"
#include "ns_rand.h"
#include "ns_channel.h"

#include <stdio.h>
#include <string.h>

static int64_t delay(const sim_path_opts *o, uint64_t *rng)
{
	int64_t lo = o->delay_min_ms, hi = o->delay_max_ms;

	if (hi < lo)
		hi = lo;
	return lo + (int64_t)(ns_rand_next(rng) % (uint64_t)(hi - lo + 1));
}

static int chance(int percent, uint64_t *rng)
{
	return (int)(ns_rand_next(rng) % 100) < percent;
}

static void add(sim_path *p, const char *event, int64_t ts, int64_t due)
{
	sim_webhook *w = &p->w[p->n++];

	snprintf(w->event, sizeof(w->event), "%s", event);
	w->ts_ms = ts;
	w->due_ms = due;
}

/* Length of the longest path of transitions from status s (the channel is a DAG). */
static int longest_from(const ns_channel *ch, const char *s, int depth)
{
	int best = 0;

	if (depth > NS_STATUSES_MAX)
		return 0;
	for (size_t i = 0; i < ns_channel_status_count(ch); i++) {
		const char *t = ns_channel_status_at(ch, i);
		if (ns_channel_is_next(ch, s, t)) {
			int l = 1 + longest_from(ch, t, depth + 1);
			if (l > best)
				best = l;
		}
	}
	return best;
}

/* Choose the successor of cur: the one on the longest path (the happy path, ties in file
 * order), or, when *detour is set and there is a choice, another one at random (which
 * clears *detour). Returns NULL at a final status. */
static const char *next_status(const ns_channel *ch, const char *cur, int *detour, uint64_t *rng)
{
	const char *happy = NULL, *alt[NS_STATUSES_MAX];
	int best = -1, nalt = 0;

	for (size_t i = 0; i < ns_channel_status_count(ch); i++) {
		const char *t = ns_channel_status_at(ch, i);
		int l;
		if (!ns_channel_is_next(ch, cur, t))
			continue;
		l = longest_from(ch, t, 0);
		if (l > best) {
			if (happy)
				alt[nalt++] = happy;
			happy = t;
			best = l;
		} else {
			alt[nalt++] = t;
		}
	}
	if (*detour && nalt > 0) {
		*detour = 0;
		return alt[ns_rand_next(rng) % (uint64_t)nalt];
	}
	return happy;
}

int sim_path_plan(const ns_channel *ch, int64_t start_ms, const sim_path_opts *o, uint64_t *rng,
		  sim_path *out)
{
	const char *cur = SIM_PATH_START;
	int detour;
	int64_t t = start_ms;

	memset(out, 0, sizeof(*out));
	detour = chance(o->reject_percent, rng);
	while (out->n < SIM_PATH_MAX - 1) {
		int was_detour = detour;
		cur = next_status(ch, cur, &detour, rng);
		if (!cur)
			break;
		if (was_detour && !detour)
			out->rejected = 1;
		/* +1: timestamps strictly increase even with a zero delay */
		t += delay(o, rng) + 1;
		add(out, cur, t, t);
	}
	out->nevents = out->n;
	if (out->n >= 2 && chance(o->reorder_percent, rng)) {
		int k = (int)(ns_rand_next(rng) % (uint64_t)(out->n - 1));
		int64_t d = out->w[k].due_ms;
		out->w[k].due_ms = out->w[k + 1].due_ms;
		out->w[k + 1].due_ms = d;
		out->reordered = 1;
	}
	if (chance(o->duplicate_percent, rng)) {
		int k = (int)(ns_rand_next(rng) % (uint64_t)out->n);
		sim_webhook dup = out->w[k];
		dup.due_ms += delay(o, rng);
		out->w[out->n++] = dup;
		out->duplicated = 1;
	}
	return 0;
}
