/* handlers.h -- query's HTTP API over the read model:
 *
 *   GET /notifications/{externalId}          current state, 404 problem when unknown
 *   GET /notifications/{externalId}/events   history in log order, paged (limit, cursor)
 *   GET /notifications?externalId=X          same as the first
 *   GET /notifications[?channel&status&orphans&limit&cursor]   keyset-paginated list;
 *                                            orphans (never requested) only when asked
 *
 * Every request needs an API key with the `read` scope (401/403 otherwise) and sees only its
 * tenant's notifications: another tenant's is a 404, as if it did not exist. Recipients
 * are masked and bodies left out unless the key has `read:pii`. Parameters: params.h.
 * Read-your-writes: minPosition=<partition>:<offset> (or header X-Min-Position) with waitMs
 * (default 2000, max 10000) holds the answer until the projector has applied that position, else
 * 503 with Retry-After; a waiting request looks again as soon as the projector commits (watch.h).
 * At most waiters_max requests wait at once, so waits can never take the whole pool: beyond it the
 * answer is 503 with Retry-After at once. 503 too while the database does not exist yet. Handlers
 * run on civetweb worker threads; each request checks out one read-only connection for
 * its whole life, and holds at most one page in memory. */
#ifndef QUERY_HANDLERS_H
#define QUERY_HANDLERS_H

#include "db.h"
#include "watch.h"

#include "ns_auth.h"
#include "ns_http.h"

#include <stdatomic.h>

/* What the handlers share; must outlive the server. */
typedef struct {
	ns_auth auth; /* every request needs a key with `read`; PII needs `read:pii` */
	query_db *db;
	const char *topic; /* offsets lookup for minPosition */
	int waiters_max;   /* read-your-writes waits at once */
	atomic_int waiters;
	query_watch *watch; /* wakes waits when the read model changes; may be NULL */
	int streams_max;    /* dashboard event streams open at once */
	atomic_int streams;
} query_ctx;

/* Register the /notifications routes of ctx on h, and the dashboard's (dashboard.h).
 * Returns 0, or -1 (logged). */
int query_routes(ns_http *h, query_ctx *ctx);

/* Readiness hook for ns_http: the database is there with its schema. */
int query_ready(void *ctx);

#endif
