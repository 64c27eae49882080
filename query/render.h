/* render.h -- the JSON of read-model rows: one notification's state, one history event.
 *
 * The row is the current row of a statement whose result columns are a column list of
 * ns_readmodel.h (notifications or events), read by the column enums, never by position.
 * Thread-safe. */
#ifndef QUERY_RENDER_H
#define QUERY_RENDER_H

#include <jansson.h>
#include <sqlite3.h>

/* {externalId, channel, status, to, body, providerId, reason, createdAt, updatedAt,
 * events, orphan} of a notifications row (NULL when out of memory). orphan is true when
 * no requested event was folded yet (statuses arrived for an unknown externalId). Without
 * pii (the caller's key lacks read:pii) `to` is masked (ns_mask) and `body` is null. */
json_t *query_render_state(sqlite3_stmt *st, int pii);

/* {eventId, type, source, status, outcome, detail, occurredAt, receivedAt, partition,
 * offset} of an events row (NULL when out of memory). */
json_t *query_render_event(sqlite3_stmt *st);

#endif
