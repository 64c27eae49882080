/* store.h -- what the simulated provider knows: every message it accepted, how many send
 * calls it received per externalId, the path it played and which webhooks were
 * acknowledged. Thread-safe (one mutex): civetweb workers and the webhook workers share it. */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include "paths.h"

#include <jansson.h>
#include <stddef.h>

typedef struct sim_store sim_store;

/* Returns a new empty store, or NULL when out of memory. */
sim_store *sim_store_new(void);
void sim_store_free(sim_store *s);

/* Count one send call for external_id. When it is the first, the message is created with
 * channel and the provider id "sim-<n>" and *is_new is set to 1; path (may be NULL) is
 * stored as its played path. id receives the provider id. Returns the send count so far,
 * or -1 when out of memory. */
long sim_store_send(sim_store *s, const char *external_id, const char *channel,
		    const sim_path *path, int *is_new, char *id, size_t idlen);

/* Record that the webhook (external_id, event) was acknowledged with a 2xx. */
void sim_store_delivered(sim_store *s, const char *external_id, const char *event);

/* {"id","externalId","channel","sends","path":[...],"delivered":[...]} of one message, or
 * NULL when unknown. Caller owns the result. */
json_t *sim_store_item(sim_store *s, const char *external_id);

/* {"messages":N,"sends":total,"duplicateSends":ids with sends>1,"items":{id:{...}}}.
 * Caller owns the result (NULL when out of memory). */
json_t *sim_store_report(sim_store *s);

#endif
