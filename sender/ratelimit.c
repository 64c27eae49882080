/* ratelimit.c -- per-channel token buckets with an injected clock (see ratelimit.h). */
#include "ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sender_ratelimit_init(sender_ratelimit *rl, double default_rate)
{
	memset(rl, 0, sizeof(*rl));
	rl->default_rate = default_rate > 0 ? default_rate : 0;
}

static sender_rl_bucket *find(sender_ratelimit *rl, const char *channel)
{
	int i;

	for (i = 0; i < rl->nbuckets; i++)
		if (strcmp(rl->buckets[i].channel, channel) == 0)
			return &rl->buckets[i];
	return NULL;
}

static sender_rl_bucket *add(sender_ratelimit *rl, const char *channel, double rate)
{
	sender_rl_bucket *b;

	if (rl->nbuckets >= SENDER_RL_CHANNELS_MAX)
		return NULL;
	b = &rl->buckets[rl->nbuckets++];
	snprintf(b->channel, sizeof(b->channel), "%s", channel);
	b->rate = rate > 0 ? rate : 0;
	b->tokens = -1; /* filled on first use */
	b->last_ms = 0;
	return b;
}

int sender_ratelimit_set(sender_ratelimit *rl, const char *channel, double rate)
{
	sender_rl_bucket *b = find(rl, channel);

	if (b) {
		b->rate = rate > 0 ? rate : 0;
		b->tokens = -1;
		return 0;
	}
	return add(rl, channel, rate) ? 0 : -1;
}

static int parse_rate(const char *s, double *out)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || v < 0 || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

int sender_ratelimit_configure(sender_ratelimit *rl, const char *default_rate,
			       const ns_opt_family *rates, char *err, size_t errlen)
{
	double r = 0;

	if (default_rate && default_rate[0]) {
		if (parse_rate(default_rate, &r) != 0) {
			snprintf(err, errlen, "SENDER_RATE: not a rate: %s", default_rate);
			return -1;
		}
		rl->default_rate = r;
	}
	for (size_t i = 0; rates && i < rates->n; i++) {
		if (parse_rate(rates->m[i].value, &r) != 0) {
			snprintf(err, errlen, "SENDER_RATE_%s: not a rate: %s", rates->m[i].name,
				 rates->m[i].value);
			return -1;
		}
		if (sender_ratelimit_set(rl, rates->m[i].name, r) != 0) {
			snprintf(err, errlen, "too many SENDER_RATE_<CHANNEL> settings");
			return -1;
		}
	}
	return 0;
}

int64_t sender_ratelimit_take(sender_ratelimit *rl, const char *channel, int64_t now_ms)
{
	sender_rl_bucket *b = find(rl, channel);
	double burst, need;

	if (!b) {
		if (rl->default_rate <= 0)
			return 0;
		b = add(rl, channel, rl->default_rate);
		if (!b)
			return 0; /* table full: do not block sends over bookkeeping */
	}
	if (b->rate <= 0)
		return 0;
	burst = b->rate < 1 ? 1 : b->rate;
	if (b->tokens < 0) {
		b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	need = (1 - b->tokens) * 1000.0 / b->rate;
	return need < 1 ? 1 : (int64_t)need + 1;
}
