/* render.h -- the JSON of read-model rows: one notification's state, one history event,
 * written as the next value of a JSON writer (ns_jwrite.h), so that a page of rows is one
 * pass into one buffer.
 *
 * The row is the current row of a statement whose result columns are a column list of
 * ns_readmodel.h (notifications or events), read by the column enums, never by position.
 * Thread-safe. */
#ifndef QUERY_RENDER_H
#define QUERY_RENDER_H

#include "ns_jwrite.h"

#include <sqlite3.h>

/* {externalId, channel, status, to, body, providerId, reason, createdAt, updatedAt,
 * events, orphan, callbackUrl} of a notifications row. orphan is true when
 * no requested event was folded yet (statuses arrived for an unknown externalId). Without
 * pii (the caller's key lacks read:pii) `to` is masked (ns_mask) and `body` is null. */
void query_render_state(ns_jw *w, sqlite3_stmt *st, int pii);

/* {eventId, type, source, status, outcome, detail, occurredAt, receivedAt, partition,
 * offset} of an events row. */
void query_render_event(ns_jw *w, sqlite3_stmt *st);

#endif
