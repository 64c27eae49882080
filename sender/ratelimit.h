/* ratelimit.h -- a token bucket per channel, protecting the provider from bursts.
 *
 * Rates come from SENDER_RATE_<CHANNEL> (upper-case channel name) or SENDER_RATE, in sends
 * per second, through the configuration table (sender_ratelimit_configure); 0 means unlimited. The
 * bucket holds one second's worth of tokens (at least one). Pure: the caller passes the monotonic
 * time, so tests inject a clock. Not thread-safe: the sender's worker thread is its only user. */
#ifndef SENDER_RATELIMIT_H
#define SENDER_RATELIMIT_H

#include "ns_channel.h"
#include "ns_config.h"

#include <stddef.h>

#include <stdint.h>

#define SENDER_RL_CHANNELS_MAX 32

typedef struct {
	char channel[NS_STATUS_MAX + 1];
	double rate;   /* tokens per second; 0 = unlimited */
	double tokens; /* current fill */
	int64_t last_ms;
} sender_rl_bucket;

typedef struct {
	double default_rate; /* for channels without their own rate */
	int nbuckets;
	sender_rl_bucket buckets[SENDER_RL_CHANNELS_MAX];
} sender_ratelimit;

/* Initialise with the default rate (sends per second, 0 = unlimited). */
void sender_ratelimit_init(sender_ratelimit *rl, double default_rate);

/* Set the rate of one channel. Returns 0, or -1 when the table is full. */
int sender_ratelimit_set(sender_ratelimit *rl, const char *channel, double rate);

/* Apply the configured rates: default_rate (SENDER_RATE, text; NULL or "" keeps the
 * current default) and one rate per channel (the SENDER_RATE_<CHANNEL> family of the
 * configuration table, member names being channel names). Rates are sends per second,
 * 0..1e9, fractions allowed. Returns 0, or -1 with err filled on a bad number or a full
 * table. */
int sender_ratelimit_configure(sender_ratelimit *rl, const char *default_rate,
			       const ns_opt_family *rates, char *err, size_t errlen);

/* Take one token for channel at now_ms. Returns 0 when taken (send now), else the
 * milliseconds until a token will be available (>= 1); nothing is taken then. */
int64_t sender_ratelimit_take(sender_ratelimit *rl, const char *channel, int64_t now_ms);

#endif
