/* handlers.h -- the HTTP handlers of ingest: POST /notifications, POST /webhooks, 404.
 *
 * POST /notifications needs an API key with the `send` scope: its tenant owns the
 * notification and its id is recorded in the event. POST /webhooks needs the provider's
 * signature (ns_sign.h) over the raw body with one of the two configured secrets; the
 * webhook names the notification by the reference the provider was given. Refusals of
 * either are 401 (403 for a key without the scope) with a problem body that says why.
 * Each accepted request becomes one event produced to the status topic keyed by the
 * notification's reference "<tenant>:<externalId>"; the handler answers only after the
 * broker acknowledged it (202), or 503 with Retry-After when the acknowledgement does not
 * come in time. Handlers run on
 * civetweb worker threads, many at once; the context is read-only after init. */
#ifndef INGEST_HANDLERS_H
#define INGEST_HANDLERS_H

#include "ns_auth.h"
#include "ns_channel.h"
#include "ns_kafka.h"
#include "ns_metrics.h"

#include <civetweb.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_ROUTES 3 /* notifications, webhooks, other */
#define INGEST_CODES  12

/* What the handlers need. Fill the first block, then call ingest_handlers_init. The
 * context borrows channels, producer and topic: they must outlive the HTTP server. */
typedef struct {
	const ns_channels *channels;
	ns_producer *producer;
	const char *topic;
	size_t max_body;		/* request bodies above this are refused with 413 */
	int ack_timeout_ms;		/* longest wait for the broker's acknowledgement */
	int64_t max_future_ms;		/* webhook timestamps further ahead are refused (422) */
	int callbacks_allow_private;	/* CALLBACKS_ALLOW_PRIVATE: any callbackUrl destination */
	ns_auth auth;			/* POST /notifications: a key with `send` says the tenant */
	const char *webhook_secrets[2]; /* current and previous; none: unsigned (insecure) */
	int64_t webhook_tolerance_s;	/* signature timestamps this far off are stale */

	/* filled by ingest_handlers_init */
	ns_counter *requests[INGEST_ROUTES][INGEST_CODES];
	ns_histogram *ack_seconds;
	ns_counter *produce_failures;
	ns_counter *signature_failures[5]; /* by ns_sign_result */
} ingest_ctx;

/* Register the metrics (ingest_requests_total{route,code}, ingest_ack_seconds,
 * ingest_produce_failures_total, ingest_webhook_refused_total{reason}). Returns 0. */
int ingest_handlers_init(ingest_ctx *ctx);

/* civetweb handlers; cbdata is the ingest_ctx. Each returns the HTTP status it sent. */
int ingest_handle_notifications(struct mg_connection *conn, void *cbdata);
int ingest_handle_webhooks(struct mg_connection *conn, void *cbdata);

#endif
