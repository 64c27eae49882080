/* handlers.c -- POST /notifications and POST /webhooks: check, wrap, produce, answer.
 *
 * The order of checks is the order of costs: path and method, Content-Type, size (before
 * reading more than INGEST_MAX_BODY bytes), JSON syntax, then the fields. An accepted
 * request is answered only once the broker acknowledged its event (acks=all, idempotent
 * producer): 202 carries the Kafka position. When the acknowledgement does not come within
 * ack_timeout_ms the answer is 503 with Retry-After, so the caller (or the provider's
 * one-hour webhook retry) keeps the event; a repeat gets the same deterministic event id.
 * Runs on civetweb worker threads. */
#include "handlers.h"
#include "validate.h"

#include "ns_event.h"
#include "ns_http.h"
#include "ns_jwrite.h"
#include "ns_log.h"
#include "ns_sign.h"
#include "ns_str.h"
#include "ns_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOCATION "Location: /notifications/" /* of a 202, before the externalId */

enum { ROUTE_NOTIFICATIONS = 0, ROUTE_WEBHOOKS, ROUTE_OTHER };

static const char *const route_names[INGEST_ROUTES] = {"/notifications", "/webhooks", "other"};
/* Every status the handlers send; the last slot counts anything else. */
static const int codes[INGEST_CODES] = {202, 400, 401, 403, 404, 405, 408, 413, 415, 422, 503, 0};

int ingest_handlers_init(ingest_ctx *ctx)
{
	char labels[96];

	for (int r = 0; r < INGEST_ROUTES; r++) {
		for (int c = 0; c < INGEST_CODES; c++) {
			if (codes[c])
				snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"",
					 route_names[r], codes[c]);
			else
				snprintf(labels, sizeof(labels), "route=\"%s\",code=\"other\"",
					 route_names[r]);
			ctx->requests[r][c] = ns_metrics_counter("ingest_requests_total", labels,
								 "Requests answered by ingest");
		}
	}
	ctx->ack_seconds = ns_metrics_histogram(
	    "ingest_ack_seconds", NULL, "Time from produce to the broker's acknowledgement");
	ctx->produce_failures =
	    ns_metrics_counter("ingest_produce_failures_total", NULL,
			       "Events the broker did not acknowledge in time (answered 503)");
	for (int v = NS_SIGN_MISSING; v <= NS_SIGN_MISMATCH; v++) {
		static const char *const why[] = {"", "missing", "malformed", "stale", "mismatch"};
		snprintf(labels, sizeof(labels), "reason=\"%s\"", why[v]);
		ctx->signature_failures[v] = ns_metrics_counter(
		    "ingest_webhook_refused_total", labels,
		    "Webhooks refused for their signature, by reason (answered 401)");
	}
	return 0;
}

static int count(ingest_ctx *ctx, int route, int status)
{
	int c = 0;

	while (c < INGEST_CODES - 1 && codes[c] != status)
		c++;
	ns_counter_add(ctx->requests[route][c], 1);
	return status;
}

/* Produce ev keyed by its notification's reference and wait for the acknowledgement.
 * Returns 0 with d filled, or -1. */
static int produce(ingest_ctx *ctx, const ns_event *ev, ns_delivery *d)
{
	char key[NS_REF_MAX + 1];
	size_t vlen = 0;
	char *value = ns_event_encode(ev, &vlen);
	int klen = ns_event_ref(ev->tenant, ev->external_id, key, sizeof(key));
	double t0;
	int rc = -1;

	if (!value || klen < 0) {
		NS_ERROR("ingest.encode", "external_id=%s err=out_of_memory", ev->external_id);
		d->err = RD_KAFKA_RESP_ERR__FAIL;
		goto out;
	}
	t0 = ns_time_mono_s();
	rc = ns_producer_send(ctx->producer, ctx->topic, key, (size_t)klen, value, vlen,
			      ctx->ack_timeout_ms, d);
	ns_histogram_observe(ctx->ack_seconds, ns_time_mono_s() - t0);
out:
	free(value);
	return rc;
}

/* The Kafka position members both 202 bodies carry. */
static void put_position(ns_jw *w, const ns_delivery *d)
{
	NS_JW_KEY_LIT(w, "partition");
	ns_jw_int(w, d->partition);
	NS_JW_KEY_LIT(w, "offset");
	ns_jw_int(w, d->offset);
}

/* Send the 202 of writer w (a fixed buffer of bounded fields: it cannot fail, but a
 * failure is a 500, not a truncated body). */
static int send_accepted(struct mg_connection *conn, ns_jw *w, const char *headers)
{
	long n = ns_jw_finish(w);

	if (n < 0)
		return ns_http_send_problem(conn, 500, NULL, "response could not be rendered",
					    NULL);
	return ns_http_send_json_text(conn, 202, w->buf, (size_t)n, headers);
}

/* 202 body for an accepted notification, with its Location; its status is its channel's
 * initial one. */
static int reply_notification(struct mg_connection *conn, const ingest_ctx *ctx, const ns_event *ev,
			      const ns_delivery *d)
{
	const ns_channel *ch = ns_channels_find(ctx->channels, ev->channel);
	char pos[2 * NS_STR_I64_MAX + 2], hdr[sizeof(LOCATION) + NS_EXTID_MAX + 3];
	char body[NS_EXTID_MAX * 2 + 512];
	ns_jw w;

	size_t n = ns_str_from_i64(d->partition, pos);

	/* "<partition>:<offset>" and the Location header, by hand: snprintf cost more than
	 * the rest of the 202. An accepted externalId needs no escaping in a path
	 * (ns_check_external_id), and both fit their buffers by their bounds. */
	pos[n++] = ':';
	pos[n + ns_str_from_i64(d->offset, pos + n)] = '\0';
	n = strlen(ev->external_id);
	memcpy(hdr, LOCATION, sizeof(LOCATION) - 1);
	memcpy(hdr + sizeof(LOCATION) - 1, ev->external_id, n);
	memcpy(hdr + sizeof(LOCATION) - 1 + n, "\r\n", 3);
	ns_jw_init(&w, body, sizeof(body));
	ns_jw_open(&w, '{');
	NS_JW_KEY_LIT(&w, "eventId");
	ns_jw_str(&w, ev->id);
	NS_JW_KEY_LIT(&w, "externalId");
	ns_jw_str(&w, ev->external_id);
	NS_JW_KEY_LIT(&w, "status");
	ns_jw_str(&w, ch ? ns_channel_initial(ch) : "");
	put_position(&w, d);
	NS_JW_KEY_LIT(&w, "position");
	ns_jw_str(&w, pos);
	ns_jw_close(&w, '}');
	return send_accepted(conn, &w, hdr);
}

static int reply_webhook(struct mg_connection *conn, const ns_event *ev, const ns_delivery *d)
{
	char body[256];
	ns_jw w;

	ns_jw_init(&w, body, sizeof(body));
	ns_jw_open(&w, '{');
	NS_JW_KEY_LIT(&w, "eventId");
	ns_jw_str(&w, ev->id);
	put_position(&w, d);
	ns_jw_close(&w, '}');
	return send_accepted(conn, &w, NULL);
}

/* One request on its way through the path. */
typedef struct {
	ingest_ctx *ctx;
	int route;
	char *buf; /* the raw body */
	size_t len;
	ns_key_identity who; /* POST /notifications: the caller */
	ns_event ev;
} request;

/* The route exactly (civetweb matched a prefix), POST, JSON. 0 or the status sent. */
static int check_request(struct mg_connection *conn, request *r)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char detail[160];

	if (strcmp(ri->local_uri, route_names[r->route]) != 0) {
		snprintf(detail, sizeof(detail), "no resource at %.100s", ri->local_uri);
		r->route = ROUTE_OTHER;
		return ns_http_send_problem(conn, 404, "Not Found", detail, NULL);
	}
	if (strcmp(ri->request_method, "POST") != 0) {
		snprintf(detail, sizeof(detail), "%.20s is not allowed on %s; use POST",
			 ri->request_method, route_names[r->route]);
		return ns_http_send_problem_hdrs(conn, 405, "Method Not Allowed", detail, NULL,
						 "Allow: POST\r\n");
	}
	if (!ns_http_is_json(conn))
		return ns_http_send_problem(conn, 415, "Unsupported Media Type",
					    "the body must be application/json", NULL);
	return 0;
}

/* The body, at most max_body bytes. 0 or the status sent. */
static int read_body(struct mg_connection *conn, request *r)
{
	char detail[96];
	int rc = ns_http_read_body(conn, r->ctx->max_body, &r->buf, &r->len);

	if (rc == NS_HTTP_TOO_LARGE) {
		snprintf(detail, sizeof(detail), "the body exceeds %zu bytes", r->ctx->max_body);
		return ns_http_send_problem(conn, 413, "Content Too Large", detail, NULL);
	}
	if (rc == NS_HTTP_SLOW_BODY)
		return ns_http_send_problem(conn, 408, "Request Timeout",
					    "the body did not arrive in time", NULL);
	if (rc != 0)
		return ns_http_send_problem(conn, 400, "Bad Request", "the body could not be read",
					    NULL);
	return 0;
}

/* Who may send a notification: a key with `send`, checked from the headers alone, before
 * any body is read. 0 or the status of the problem sent. */
static int authorize_key(struct mg_connection *conn, request *r)
{
	if (r->route != ROUTE_NOTIFICATIONS)
		return 0;
	return ns_auth_check(&r->ctx->auth, conn, NS_SCOPE_SEND, &r->who);
}

/* Who may post a webhook: the provider, by its signature over the raw body (none
 * configured: the insecure development mode). 0 or the status of the problem sent. */
static int authorize_signature(struct mg_connection *conn, request *r)
{
	const ingest_ctx *ctx = r->ctx;
	ns_sign_result v;

	if (r->route != ROUTE_WEBHOOKS || !ctx->webhook_secrets[0])
		return 0;
	v = ns_sign_verify(mg_get_header(conn, NS_SIGN_HEADER), r->buf, r->len,
			   ctx->webhook_secrets, 2, ns_time_now_ms() / 1000,
			   ctx->webhook_tolerance_s);
	if (v == NS_SIGN_OK)
		return 0;
	ns_counter_add(ctx->signature_failures[v], 1);
	return ns_http_send_problem(conn, 401, "Unauthorized", ns_sign_reason(v), NULL);
}

/* Parse, validate, stamp and identify the event. 0 or the status of the problem sent. */
static int build_event(struct mg_connection *conn, request *r)
{
	ingest_ctx *ctx = r->ctx;
	ns_event *ev = &r->ev;
	ingest_problem pb;
	ns_jflat body; /* about 11 KB, well inside a worker's stack */
	int bad = ingest_parse_body(&body, r->buf, r->len, &pb) ||
		  (r->route == ROUTE_NOTIFICATIONS
		       ? ingest_validate_notification(ctx->channels, &body, ev, &pb)
		       : ingest_validate_webhook(ctx->channels, &body, ev, &pb));

	if (!bad) {
		ev->received_at = ns_time_now_ms();
		if (ev->type == NS_EV_REQUESTED) {
			ev->occurred_at = ev->received_at;
			memcpy(ev->tenant, r->who.tenant, sizeof(ev->tenant));
			memcpy(ev->key_id, r->who.id, sizeof(ev->key_id));
		}
		bad = ingest_check_time(ev, ev->received_at, ctx->max_future_ms, &pb) ||
		      ingest_check_callback(ev, ctx->callbacks_allow_private, &pb);
	}
	if (bad)
		return ns_http_send_problem(
		    conn, pb.status, pb.status == 400 ? "Bad Request" : "Unprocessable Content",
		    pb.detail, pb.field[0] ? pb.field : NULL);
	ns_event_make_id(ev);
	return 0;
}

/* Produce and answer: 202 after the ack, 503 with Retry-After without one. */
static int produce_and_reply(struct mg_connection *conn, request *r)
{
	ns_delivery d;

	memset(&d, 0, sizeof(d));
	if (produce(r->ctx, &r->ev, &d) != 0) {
		ns_counter_add(r->ctx->produce_failures, 1);
		NS_WARN("ingest.produce_failed",
			"route=%s tenant=%s external_id=%s event_id=%s "
			"err=\"%s\"",
			route_names[r->route], r->ev.tenant, r->ev.external_id, r->ev.id,
			rd_kafka_err2str(d.err));
		return ns_http_send_problem_hdrs(conn, 503, "Service Unavailable",
						 "the event log did not acknowledge in time; retry",
						 NULL, "Retry-After: 1\r\n");
	}
	NS_DEBUG("ingest.accepted",
		 "route=%s tenant=%s external_id=%s key_id=%s event_id=%s partition=%d "
		 "offset=%" PRId64,
		 route_names[r->route], r->ev.tenant, r->ev.external_id, r->ev.key_id, r->ev.id,
		 (int)d.partition, d.offset);
	return r->route == ROUTE_NOTIFICATIONS ? reply_notification(conn, r->ctx, &r->ev, &d)
					       : reply_webhook(conn, &r->ev, &d);
}

/* The whole request path for one of the two POST routes: each step answers and stops, or
 * hands on. */
static int serve(struct mg_connection *conn, ingest_ctx *ctx, int route)
{
	request r = {.ctx = ctx, .route = route};
	int status = check_request(conn, &r);

	if (!status)
		status = authorize_key(conn, &r);
	if (!status)
		status = read_body(conn, &r);
	if (!status)
		status = authorize_signature(conn, &r);
	if (!status)
		status = build_event(conn, &r);
	if (!status)
		status = produce_and_reply(conn, &r);
	free(r.buf);
	return count(ctx, r.route, status);
}

int ingest_handle_notifications(struct mg_connection *conn, void *cbdata)
{
	return serve(conn, cbdata, ROUTE_NOTIFICATIONS);
}

int ingest_handle_webhooks(struct mg_connection *conn, void *cbdata)
{
	return serve(conn, cbdata, ROUTE_WEBHOOKS);
}
