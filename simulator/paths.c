/* paths.c -- status paths of the simulated provider (see paths.h). */
#include "paths.h"

#include <stdio.h>
#include <string.h>

uint64_t sim_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x2545f4914f6cdd1dULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int64_t delay(const sim_path_opts *o, uint64_t *rng)
{
	int64_t lo = o->delay_min_ms, hi = o->delay_max_ms;

	if (hi < lo)
		hi = lo;
	return lo + (int64_t)(sim_rand(rng) % (uint64_t)(hi - lo + 1));
}

static int chance(int percent, uint64_t *rng)
{
	return (int)(sim_rand(rng) % 100) < percent;
}

static void add(sim_path *p, const char *event, int64_t ts, int64_t due)
{
	sim_webhook *w = &p->w[p->n++];

	snprintf(w->event, sizeof(w->event), "%s", event);
	w->ts_ms = ts;
	w->due_ms = due;
}

int sim_path_plan(const char *channel, int64_t start_ms, const sim_path_opts *o, uint64_t *rng,
		  sim_path *out)
{
	static const char *const sms[] = {"sent", "delivered"};
	static const char *const wa[] = {"sent", "delivered", "viewed"};
	const char *const *ev = sms;
	int nev = 2, i;
	int64_t t = start_ms;

	memset(out, 0, sizeof(*out));
	if (strcmp(channel, "whatsapp") == 0) {
		ev = wa;
		nev = 3;
	}
	if (chance(o->reject_percent, rng)) {
		out->rejected = 1;
		t += delay(o, rng);
		add(out, "rejected", t, t);
	} else {
		for (i = 0; i < nev; i++) {
			/* +1: timestamps strictly increase even with a zero delay */
			t += delay(o, rng) + 1;
			add(out, ev[i], t, t);
		}
	}
	out->nevents = out->n;
	if (out->n >= 2 && chance(o->reorder_percent, rng)) {
		int k = (int)(sim_rand(rng) % (uint64_t)(out->n - 1));
		int64_t d = out->w[k].due_ms;
		out->w[k].due_ms = out->w[k + 1].due_ms;
		out->w[k + 1].due_ms = d;
		out->reordered = 1;
	}
	if (chance(o->duplicate_percent, rng)) {
		int k = (int)(sim_rand(rng) % (uint64_t)out->n);
		sim_webhook dup = out->w[k];
		dup.due_ms += delay(o, rng);
		out->w[out->n++] = dup;
		out->duplicated = 1;
	}
	return 0;
}
