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
#include "ns_log.h"
#include "ns_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ROUTE_NOTIFICATIONS = 0, ROUTE_WEBHOOKS, ROUTE_OTHER };

static const char *const route_names[INGEST_ROUTES] = {"/notifications", "/webhooks", "other"};
/* Every status the handlers send; the last slot counts anything else. */
static const int codes[INGEST_CODES] = {202, 400, 404, 405, 413, 415, 422, 500, 503, 0};

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

/* Produce ev and wait for its acknowledgement. Returns 0 with d filled, or -1. */
static int produce(ingest_ctx *ctx, const ns_event *ev, ns_delivery *d)
{
	size_t vlen = 0;
	char *value = ns_event_encode(ev, &vlen);
	double t0;
	int rc = -1;

	if (!value) {
		NS_ERROR("ingest.encode", "external_id=%s err=out_of_memory", ev->external_id);
		d->err = RD_KAFKA_RESP_ERR__FAIL;
		goto out;
	}
	t0 = ns_time_mono_s();
	rc = ns_producer_send(ctx->producer, ctx->topic, ev->external_id, strlen(ev->external_id),
			      value, vlen, ctx->ack_timeout_ms, d);
	ns_histogram_observe(ctx->ack_seconds, ns_time_mono_s() - t0);
out:
	free(value);
	return rc;
}

/* 202 body for an accepted notification, with its Location; its status is its channel's
 * initial one. */
static int reply_notification(struct mg_connection *conn, const ingest_ctx *ctx, const ns_event *ev,
			      const ns_delivery *d)
{
	const ns_channel *ch = ns_channels_find(ctx->channels, ev->channel);
	char pos[48], enc[NS_EXTID_MAX * 3 + 1], hdr[sizeof(enc) + 32];
	json_t *body;

	snprintf(pos, sizeof(pos), "%" PRId32 ":%" PRId64, d->partition, d->offset);
	if (mg_url_encode(ev->external_id, enc, sizeof(enc)) < 0)
		enc[0] = '\0';
	snprintf(hdr, sizeof(hdr), "Location: /notifications/%s\r\n", enc);
	body = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s}", "eventId", ev->id, "externalId",
			 ev->external_id, "status", ch ? ns_channel_initial(ch) : "", "partition",
			 (int)d->partition, "offset", (json_int_t)d->offset, "position", pos);
	if (!body)
		return ns_http_send_problem(conn, 500, "Internal Server Error", "out of memory",
					    NULL);
	return ns_http_send_json(conn, 202, body, hdr);
}

static int reply_webhook(struct mg_connection *conn, const ns_event *ev, const ns_delivery *d)
{
	json_t *body = json_pack("{s:s, s:i, s:I}", "eventId", ev->id, "partition",
				 (int)d->partition, "offset", (json_int_t)d->offset);
	if (!body)
		return ns_http_send_problem(conn, 500, "Internal Server Error", "out of memory",
					    NULL);
	return ns_http_send_json(conn, 202, body, NULL);
}

/* The whole request path for one of the two POST routes. */
static int serve(struct mg_connection *conn, ingest_ctx *ctx, int route)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	ingest_problem pb;
	ns_delivery d;
	ns_event ev;
	json_t *root = NULL;
	char *buf = NULL, detail[160];
	size_t len = 0;
	int status, rc;

	if (strcmp(ri->local_uri, route_names[route]) != 0)
		return ingest_handle_not_found(conn, ctx); /* civetweb matched a prefix */
	if (strcmp(ri->request_method, "POST") != 0) {
		snprintf(detail, sizeof(detail), "%.20s is not allowed on %s; use POST",
			 ri->request_method, route_names[route]);
		status = ns_http_send_problem_hdrs(conn, 405, "Method Not Allowed", detail, NULL,
						   "Allow: POST\r\n");
		goto out;
	}
	if (!ns_http_is_json(conn)) {
		status = ns_http_send_problem(conn, 415, "Unsupported Media Type",
					      "the body must be application/json", NULL);
		goto out;
	}
	rc = ns_http_read_body(conn, ctx->max_body, &buf, &len);
	if (rc == NS_HTTP_TOO_LARGE) {
		snprintf(detail, sizeof(detail), "the body exceeds %zu bytes", ctx->max_body);
		status = ns_http_send_problem(conn, 413, "Content Too Large", detail, NULL);
		goto out;
	}
	if (rc != 0) {
		status = ns_http_send_problem(conn, 400, "Bad Request",
					      "the body could not be read", NULL);
		goto out;
	}
	root = ingest_parse_json(buf, len, &pb);
	if (!root || (route == ROUTE_NOTIFICATIONS
			  ? ingest_validate_notification(ctx->channels, root, &ev, &pb)
			  : ingest_validate_webhook(ctx->channels, root, &ev, &pb))) {
		status = ns_http_send_problem(
		    conn, pb.status, pb.status == 400 ? "Bad Request" : "Unprocessable Content",
		    pb.detail, pb.field[0] ? pb.field : NULL);
		goto out;
	}
	ev.received_at = ns_time_now_ms();
	if (ev.type == NS_EV_REQUESTED)
		ev.occurred_at = ev.received_at;
	if (ingest_check_time(&ev, ev.received_at, ctx->max_future_ms, &pb)) {
		status = ns_http_send_problem(conn, pb.status, "Unprocessable Content", pb.detail,
					      pb.field);
		goto out;
	}
	ns_event_make_id(&ev);

	memset(&d, 0, sizeof(d));
	if (produce(ctx, &ev, &d) != 0) {
		ns_counter_add(ctx->produce_failures, 1);
		NS_WARN("ingest.produce_failed", "route=%s external_id=%s event_id=%s err=\"%s\"",
			route_names[route], ev.external_id, ev.id, rd_kafka_err2str(d.err));
		status = ns_http_send_problem_hdrs(
		    conn, 503, "Service Unavailable",
		    "the event log did not acknowledge in time; retry", NULL, "Retry-After: 1\r\n");
		goto out;
	}
	NS_DEBUG("ingest.accepted",
		 "route=%s external_id=%s event_id=%s partition=%d "
		 "offset=%" PRId64,
		 route_names[route], ev.external_id, ev.id, (int)d.partition, d.offset);
	status = route == ROUTE_NOTIFICATIONS ? reply_notification(conn, ctx, &ev, &d)
					      : reply_webhook(conn, &ev, &d);
out:
	json_decref(root);
	free(buf);
	return count(ctx, route, status);
}

int ingest_handle_notifications(struct mg_connection *conn, void *cbdata)
{
	return serve(conn, cbdata, ROUTE_NOTIFICATIONS);
}

int ingest_handle_webhooks(struct mg_connection *conn, void *cbdata)
{
	return serve(conn, cbdata, ROUTE_WEBHOOKS);
}

int ingest_handle_not_found(struct mg_connection *conn, void *cbdata)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char detail[160];

	snprintf(detail, sizeof(detail), "no resource at %.100s", ri->local_uri);
	return count(cbdata, ROUTE_OTHER,
		     ns_http_send_problem(conn, 404, "Not Found", detail, NULL));
}
