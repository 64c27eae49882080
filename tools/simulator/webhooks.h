/* webhooks.h -- the simulated provider's webhook dispatcher: a priority queue of (due
 * time, externalId, event, timestamp) served by a pool of worker threads, each POSTing
 * {externalId,event,timestamp} to the webhook URL with libcurl; a non-2xx or transport
 * error reschedules with exponential backoff (ns_backoff: base, doubling, capped at 60 s)
 * until the retry window since the first attempt has passed. A 2xx is recorded in the
 * store. Each attempt is signed anew (SIM_WEBHOOK_SECRET), so retries carry a fresh
 * timestamp, as a real provider's do. */
#ifndef SIM_WEBHOOKS_H
#define SIM_WEBHOOKS_H

#include "store.h"

#include <stdint.h>

typedef struct sim_hooks sim_hooks;

/* Start `workers` delivery threads (1..64). url: the webhook URL; secret (NULL: none)
 * signs every webhook as the provider does (ns_sign.h), and must outlive the dispatcher;
 * the store is borrowed. Returns NULL with err. */
sim_hooks *sim_hooks_start(const char *url, const char *secret, int workers,
			   int64_t retry_window_ms, int64_t retry_base_ms, sim_store *store,
			   char *err, size_t errlen);

/* Queue one webhook, first posted at due_ms (wall clock). Thread-safe. Returns 0 or -1
 * when out of memory. */
int sim_hooks_add(sim_hooks *h, const char *external_id, const char *event, int64_t ts_ms,
		  int64_t due_ms);

/* Webhooks queued (not yet acknowledged or given up). Thread-safe. */
long sim_hooks_pending(sim_hooks *h);

/* Delivery attempts that got no 2xx answer so far (tests prove a webhook outage with it).
 * Thread-safe. */
long sim_hooks_failures(sim_hooks *h);

/* Stop the threads (pending webhooks are dropped) and free. NULL is a no-op. */
void sim_hooks_stop(sim_hooks *h);

#endif
