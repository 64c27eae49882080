/* figures.h -- GET /figures: the dashboard's numbers for the key's tenant, read from the
 * figures tables the projector keeps as it folds (ns_readmodel.h), never from a scan of
 * the history, so a request costs the same on a thousand notifications as on a million.
 *
 *   GET /figures?windowMinutes=60&hours=3&anomalies=20
 *   {"now":"...Z","windowMinutes":60,"hours":3,
 *    "counts":[{"channel":"sms","status":"delivered","count":9120},...],
 *    "volumes":{"kinds":["accepted","delivered",...],
 *               "minutes":[{"minute":"...Z","accepted":12,"delivered":11,...},...]},
 *    "rates":[{"channel":"sms","accepted":970,"entered":{"delivered":930,...},
 *              "rates":{"delivered":0.959,...}},...],
 *    "rateSeries":{"bucketMinutes":5,"channels":[{"channel":"sms","points":[{"from":"...Z",
 *                  "accepted":40,"delivered":38,...},...]},...]},
 *    "latency":[{"channel":"sms","status":"delivered","count":930,"p50Ms":22.6,
 *                "p95Ms":53.8},...],
 *    "anomalies":[{"at":"...Z","externalId":"n-7","eventId":"...","outcome":"stale",
 *                  "detail":"sent arrived after delivered"},...],
 *    "projector":[{"partition":0,"position":1042,"highWatermark":1042,"lag":0,
 *                  "seenAt":"...Z"},...]}
 *
 * volumes: one entry per minute of the last `hours` (event time), counting the
 * notifications that entered each status in it ("accepted": requests folded). rates: over
 * the last windowMinutes, per channel, the entries into each status and their share of
 * the accepted; rateSeries: the same per channel over the last `hours`, in 36 buckets (so a
 * drop on one channel shows as a line going down). latency: from the request to entering a status,
 * p50 and p95 from quarter-power-of-two buckets (within about 19%). The projector's rows are every
 * tenant's (partitions are shared). */
#ifndef QUERY_FIGURES_H
#define QUERY_FIGURES_H

#include "db.h"
#include "params.h"

#include <jansson.h>
#include <stdint.h>

/* The figures of tenant at now_ms, from c. NULL on a database error. */
json_t *query_figures(query_conn *c, const char *tenant, const char *topic,
		      const query_fig_params *p, int64_t now_ms);

#endif
