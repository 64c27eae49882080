/* ratelimit.h -- a token bucket per channel, protecting the provider from bursts.
 *
 * Rates come from SENDER_RATE_<CHANNEL> (upper-case channel name) or SENDER_RATE, in sends
 * per second; 0 means unlimited. The bucket holds one second's worth of tokens (at least
 * one). Pure: the caller passes the monotonic time, so tests inject a clock. Not
 * thread-safe: the sender's worker thread is its only user. */
#ifndef SENDER_RATELIMIT_H
#define SENDER_RATELIMIT_H

#include <stdint.h>

#define SENDER_RL_CHANNELS_MAX 32

typedef struct {
	char channel[33];
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

/* Read SENDER_RATE (default rate) and every SENDER_RATE_<CHANNEL>=rate entry of envp (a
 * NULL-terminated "NAME=value" array such as environ; the channel is the lower-cased
 * suffix). Returns 0, or -1 with err filled on a bad number or a full table. */
int sender_ratelimit_from_env(sender_ratelimit *rl, char *const *envp, char *err,
			      unsigned long errlen);

/* Take one token for channel at now_ms. Returns 0 when taken (send now), else the
 * milliseconds until a token will be available (>= 1); nothing is taken then. */
int64_t sender_ratelimit_take(sender_ratelimit *rl, const char *channel, int64_t now_ms);

#endif
