/* worker.h -- the sender's worker: consume `requested` events, call the provider, produce
 * `dispatched`/`failed`, commit offsets behind acked outcomes.
 *
 * Guarantees (docs/DESIGN.md): a partition's offset is committed only over requests whose
 * outcome event was acked (at-least-once); before any send that might repeat an earlier
 * one the provider's exists(externalId) is asked -- in this version before EVERY send,
 * the simple rule that needs no ledger; one externalId has one job at a time, so its
 * outcomes follow the order of its requests (jobs.h); many jobs run at once (libcurl
 * multi); a per-channel token bucket caps the send rate (ratelimit.h). The parts: the loop
 * and rebalance hooks (worker.c), the provider-call state machine (dispatch.h), the job
 * table (jobs.h), partition ownership and commits (partitions.h). Everything runs on the
 * thread that calls sender_worker_run, except the producer's delivery callback, which only
 * queues a completion, and sender_worker_ready. */
#ifndef SENDER_WORKER_H
#define SENDER_WORKER_H

#include "ratelimit.h"

#include <stddef.h>

typedef struct {
	const char *provider_url;
	const char *group;
	const char *topic;
	long provider_timeout_ms;
	long retry_base_ms, retry_cap_ms, retry_budget_ms;
	long max_inflight;	 /* jobs at once; partitions pause above it */
	long max_conns;		 /* provider connections */
	long commit_interval_ms; /* how often committable offsets are committed */
	long shutdown_ms;	 /* bound on finishing in-flight work at revoke and stop */
} sender_config;

typedef struct sender_worker sender_worker;

/* A worker for cfg using rl (both borrowed: they must outlive the worker), with its
 * metrics registered; no client is started yet. Returns NULL when out of memory. */
sender_worker *sender_worker_new(const sender_config *cfg, sender_ratelimit *rl);

/* Run until ns_signal_stopping() or a fatal error: start the provider client, the
 * producer and the consumer, loop, then drain within cfg->shutdown_ms, commit and close.
 * Returns 0 after a clean stop, -1 with err filled on a fatal error (a client could not
 * start, or failed fatally). Call once. */
int sender_worker_run(sender_worker *w, char *err, size_t errlen);

/* Non-zero while the worker runs with a live consumer and producer (for /readyz).
 * Thread-safe; opaque is the worker. */
int sender_worker_ready(void *opaque);

/* Free w after sender_worker_run returned (or instead of it). NULL is a no-op. */
void sender_worker_free(sender_worker *w);

#endif
