/* handlers.h -- query's HTTP API over the read model:
 *
 *   GET /notifications/{externalId}          current state, 404 problem when unknown
 *   GET /notifications/{externalId}/events   history in log order
 *   GET /notifications?externalId=X          same as the first
 *   GET /notifications[?channel&status&limit&cursor]   keyset-paginated list
 *
 * Read-your-writes: minPosition=<partition>:<offset> (or header X-Min-Position) with
 * waitMs (default 2000, max 10000) holds the answer until the projector has applied that
 * position, else 503 with Retry-After. 503 too while the database does not exist yet.
 * Handlers run on civetweb worker threads. */
#ifndef QUERY_HANDLERS_H
#define QUERY_HANDLERS_H

#include "db.h"
#include "ns_http.h"

#define QUERY_LIMIT_DEFAULT 50
#define QUERY_LIMIT_MAX	    500
#define QUERY_WAIT_DEFAULT  2000
#define QUERY_WAIT_MAX	    10000

/* What the handlers share; must outlive the server. */
typedef struct {
	query_db *db;
	const char *topic; /* offsets lookup for minPosition */
} query_ctx;

/* Register the /notifications routes of ctx on h. Returns 0, or -1 (logged). */
int query_routes(ns_http *h, query_ctx *ctx);

/* Readiness hook for ns_http: the database is there with its schema. */
int query_ready(void *ctx);

#endif
