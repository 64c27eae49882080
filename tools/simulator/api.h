/* api.h -- the simulated provider's HTTP routes:
 *
 *   POST /messages {channel,to,body,externalId} -> 201 {"id":"sim-<n>","externalId",
 *        "status":"processing"}; a repeat for the same externalId is counted and still 201
 *        (so duplicate sends show in the report); 400 for a malformed body.
 *   GET  /messages/{externalId} -> 200 {id, externalId, sends, path, ...} / 404
 *   POST /control/outage {"mode":"5xx"|"timeout"|"refuse"|"none","ms":N}: for the next N
 *        ms /messages answers 503 (5xx); holds the request for SIM_TIMEOUT_HOLD_MS before
 *        answering -- a send in this mode IS applied, so the caller sees a timeout with
 *        an unknown outcome (timeout); or closes the connection without any response
 *        (refuse: the caller sees an empty reply, a transport error).
 *   GET  /report, GET /report/{externalId}: what store.h describes.
 *
 * Handlers run on civetweb worker threads. */
#ifndef SIM_API_H
#define SIM_API_H

#include "ns_http.h"
#include "ns_channel.h"
#include "paths.h"
#include "store.h"
#include "webhooks.h"

#include <stdint.h>

typedef struct sim_api sim_api;

/* Create the route state; store and hooks are borrowed. seed 0 picks one from the clock.
 * Returns NULL when out of memory. */
sim_api *sim_api_new(sim_store *store, sim_hooks *hooks, const sim_path_opts *popts, uint64_t seed,
		     int64_t timeout_hold_ms);

/* The channels whose status paths are played (borrowed; must outlive a). Sends for other
 * channels get 422. Call before serving. */
void sim_api_set_channels(sim_api *a, const ns_channels *channels);

/* Make every POST /messages take ms longer (call before serving). */
void sim_api_set_send_delay(sim_api *a, int64_t ms);

/* Register every route on h. Returns 0, or -1 (logged) when one could not be added. */
int sim_api_register(sim_api *a, ns_http *h);

void sim_api_free(sim_api *a);

#endif
