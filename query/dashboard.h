/* dashboard.h -- the dashboard's endpoints on query's API listener:
 *
 *   GET /dashboard, /dashboard/app.js, /dashboard/app.css   the page (assets.h), no key
 *       needed to load it: it asks for one and sends it with every request
 *   GET /figures                                            the numbers (figures.h)
 *   GET /dashboard/stream                                   Server-Sent Events: "change"
 *       whenever the read model changes (watch.h: a projector commit), coalesced to at
 *       most one every QUERY_STREAM_MIN_GAP_MS, and a comment line every 15 s to keep
 *       proxies from closing it. The browser refetches what it shows on each change:
 *       nobody polls.
 *
 * /figures and the stream need a key with `read` (the tenant's own figures); the page
 * shows recipients and bodies only to keys with `read:pii` (the history it fetches from
 * /notifications says so). At most streams_max streams are open at once (each holds a
 * worker thread): 503 beyond. Handlers run on civetweb worker threads. */
#ifndef QUERY_DASHBOARD_H
#define QUERY_DASHBOARD_H

#include "handlers.h"

#define QUERY_STREAM_MIN_GAP_MS	  250
#define QUERY_STREAM_HEARTBEAT_MS 15000

/* Register the routes above on h. Returns 0, or -1 (logged). */
int query_dashboard_routes(ns_http *h, query_ctx *ctx);

#endif
