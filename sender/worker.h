/* worker.h -- the sender's loop: consume `requested` events, call the provider, produce
 * `dispatched`/`failed`, commit offsets behind acked outcomes.
 *
 * Guarantees (DESIGN.md): a partition's offset is committed only over requests whose
 * outcome event was acked (at-least-once); before any send that might repeat an earlier
 * one the provider's exists(externalId) is asked -- in this version before EVERY send,
 * the simple rule that needs no ledger; one externalId has one job at a time, so its
 * outcomes follow the order of its requests; many jobs run at once (libcurl multi);
 * a per-channel token bucket caps the send rate. Everything runs on the caller's thread
 * except the producer's delivery callback, which only queues a completion. */
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

/* Run until ns_signal_stopping() or a fatal error. rl is used (and owned) by the loop
 * while it runs. Returns 0 after a clean stop, -1 with err filled on a fatal error
 * (consumer, producer or provider could not start, or failed fatally). */
int sender_worker_run(const sender_config *cfg, sender_ratelimit *rl, char *err, size_t errlen);

/* Non-zero while the worker runs with a live consumer and producer (for /readyz).
 * Thread-safe. */
int sender_worker_ready(void *opaque);

#endif
