/* handlers.c -- GET lookups of query (see handlers.h): parameter checks, the
 * read-your-writes wait, and the JSON bodies. Worker threads; each request checks out one
 * read-only connection for its whole life. */
#include "handlers.h"
#include "ns_check.h"
#include "ns_event.h"
#include "ns_str.h"
#include "ns_log.h"
#include "ns_signal.h"
#include "ns_time.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARAM_MAX  1024
#define PREFIX	   "/notifications"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

static int bad_param(struct mg_connection *conn, const char *name, const char *why)
{
	char detail[256];
	snprintf(detail, sizeof(detail), "parameter %s: %s", name, why);
	return ns_http_send_problem(conn, 400, "Bad Request", detail, name);
}

/* 503 problem with Retry-After. */
static int unavailable(struct mg_connection *conn, const char *detail)
{
	return ns_http_send_problem_hdrs(conn, 503, "Service Unavailable", detail, NULL,
					 "Retry-After: 1\r\nCache-Control: no-store\r\n");
}

static int valid_id(const char *id, size_t len)
{
	return len >= 1 && len <= NS_EXTID_MAX && memchr(id, '\0', len) == NULL;
}

static int valid_name(const char *s)
{
	return ns_check_name(s, strlen(s));
}

/* Read-your-writes: when the request names a position, wait until the projector has
 * stored an offset past it. Returns 0 to go on, or the HTTP status already sent. */
static int wait_position(struct mg_connection *conn, query_ctx *x, query_conn *c)
{
	char pos[PARAM_MAX], wait[64];
	const char *hdr;
	int64_t part, off, wait_ms = QUERY_WAIT_DEFAULT, next = 0, deadline;
	char *colon;
	int n = ns_http_query_param(conn, "minPosition", pos, sizeof(pos));

	if (n == NS_HTTP_PARAM_TOO_LONG)
		return bad_param(conn, "minPosition", "too long");
	if (n < 0) {
		hdr = mg_get_header(conn, "X-Min-Position");
		if (!hdr)
			return 0;
		if (strlen(hdr) >= sizeof(pos))
			return bad_param(conn, "X-Min-Position", "too long");
		snprintf(pos, sizeof(pos), "%s", hdr);
	}
	colon = strchr(pos, ':');
	if (!colon)
		return bad_param(conn, "minPosition", "expected <partition>:<offset>");
	*colon = '\0';
	if (ns_str_to_i64(pos, 0, INT32_MAX, &part) ||
	    ns_str_to_i64(colon + 1, 0, INT64_MAX - 1, &off))
		return bad_param(conn, "minPosition", "expected <partition>:<offset>");
	n = ns_http_query_param(conn, "waitMs", wait, sizeof(wait));
	if (n == NS_HTTP_PARAM_TOO_LONG ||
	    (n >= 0 && ns_str_to_i64(wait, 0, QUERY_WAIT_MAX, &wait_ms)))
		return bad_param(conn, "waitMs", "expected an integer 0..10000");
	deadline = ns_time_mono_ms() + wait_ms;
	for (;;) {
		int rc = query_conn_offset(c, x->topic, (int32_t)part, &next);
		if (rc == QUERY_DB_ERROR)
			return unavailable(conn, "read model error");
		if (rc == QUERY_DB_OK && next > off)
			return 0;
		if (ns_time_mono_ms() >= deadline || ns_signal_stopping())
			return unavailable(conn, "read model has not reached minPosition yet");
		usleep(10 * 1000);
	}
}

static json_t *text_or_null(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t && t[0] ? json_string(t) : json_null();
}

static json_t *iso(sqlite3_stmt *st, int i)
{
	char buf[NS_TIME_ISO_LEN];
	return json_string(ns_time_format(sqlite3_column_int64(st, i), buf));
}

static json_t *text(sqlite3_stmt *st, int i)
{
	return json_string((const char *)sqlite3_column_text(st, i));
}

/* The state JSON of the current row of a QUERY_ST_STATE / QUERY_ST_LIST statement
 * (notifications columns). */
static json_t *state_json(sqlite3_stmt *st)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "externalId", text(st, NS_READMODEL_NOTIF_EXTERNAL_ID));
	json_object_set_new(o, "channel", text_or_null(st, NS_READMODEL_NOTIF_CHANNEL));
	json_object_set_new(o, "status", text_or_null(st, NS_READMODEL_NOTIF_STATUS));
	json_object_set_new(o, "to", text_or_null(st, NS_READMODEL_NOTIF_TO_ADDR));
	json_object_set_new(o, "body", text_or_null(st, NS_READMODEL_NOTIF_BODY));
	json_object_set_new(o, "providerId", text_or_null(st, NS_READMODEL_NOTIF_PROVIDER_ID));
	json_object_set_new(o, "reason", text_or_null(st, NS_READMODEL_NOTIF_REASON));
	json_object_set_new(o, "createdAt", iso(st, NS_READMODEL_NOTIF_CREATED_AT));
	json_object_set_new(o, "updatedAt", iso(st, NS_READMODEL_NOTIF_UPDATED_AT));
	json_object_set_new(o, "events",
			    json_integer(sqlite3_column_int64(st, NS_READMODEL_NOTIF_EVENTS)));
	return o;
}

/* The history JSON of the current row of a QUERY_ST_EVENTS statement (events columns). */
static json_t *event_json(sqlite3_stmt *st)
{
	json_t *e = json_object();

	if (!e)
		return NULL;
	json_object_set_new(e, "eventId", text(st, NS_READMODEL_EVENT_EVENT_ID));
	json_object_set_new(e, "type", text(st, NS_READMODEL_EVENT_TYPE));
	json_object_set_new(e, "source", text(st, NS_READMODEL_EVENT_SOURCE));
	json_object_set_new(e, "status", text_or_null(st, NS_READMODEL_EVENT_STATUS));
	json_object_set_new(e, "outcome", text(st, NS_READMODEL_EVENT_OUTCOME));
	json_object_set_new(e, "detail", text_or_null(st, NS_READMODEL_EVENT_DETAIL));
	json_object_set_new(e, "occurredAt", iso(st, NS_READMODEL_EVENT_OCCURRED_AT));
	json_object_set_new(e, "receivedAt", iso(st, NS_READMODEL_EVENT_RECEIVED_AT));
	json_object_set_new(e, "partition",
			    json_integer(sqlite3_column_int64(st, NS_READMODEL_EVENT_PARTITION)));
	json_object_set_new(e, "offset",
			    json_integer(sqlite3_column_int64(st, NS_READMODEL_EVENT_OFFSET)));
	return e;
}

static int not_found(struct mg_connection *conn, const char *id)
{
	char detail[NS_EXTID_MAX + 64];
	snprintf(detail, sizeof(detail), "no notification with externalId %.*s", NS_EXTID_MAX, id);
	return ns_http_send_problem(conn, 404, "Not Found", detail, NULL);
}

static int get_state(struct mg_connection *conn, query_conn *c, const char *id)
{
	sqlite3_stmt *st = query_conn_stmt(c, QUERY_ST_STATE);
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return not_found(conn, id);
	if (rc != SQLITE_ROW)
		return unavailable(conn, "read model error");
	return ns_http_send_json(conn, 200, state_json(st), NULL);
}

static int get_events(struct mg_connection *conn, query_conn *c, const char *id)
{
	sqlite3_stmt *st = query_conn_stmt(c, QUERY_ST_EVENTS);
	json_t *arr = json_array(), *body = NULL;
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	for (;;) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		json_array_append_new(arr, event_json(st));
	}
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return unavailable(conn, "read model error");
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return not_found(conn, id);
	}
	body = json_object();
	json_object_set_new(body, "externalId", json_string(id));
	json_object_set_new(body, "events", arr);
	return ns_http_send_json(conn, 200, body, NULL);
}

/* Cursor: lowercase hex of the last externalId of the previous page. */
static int cursor_decode(const char *hex, char *out, size_t outlen)
{
	size_t n = strlen(hex);
	int got;

	if (n == 0 || n / 2 > NS_EXTID_MAX || n / 2 >= outlen)
		return -1;
	got = ns_str_hex_decode(hex, n, out, outlen - 1);
	if (got < 0 || memchr(out, '\0', (size_t)got))
		return -1;
	out[got] = '\0';
	return 0;
}

static void cursor_encode(const char *id, char *out, size_t outlen)
{
	(void)ns_str_hex_encode(id, strlen(id), out, outlen);
}

static int list(struct mg_connection *conn, query_conn *c)
{
	char channel[PARAM_MAX], status[PARAM_MAX], limit_s[64], cur[PARAM_MAX];
	char after[NS_EXTID_MAX + 1] = "", last[NS_EXTID_MAX + 1] = "";
	char next_cursor[2 * NS_EXTID_MAX + 1];
	int64_t limit = QUERY_LIMIT_DEFAULT;
	int has_channel = ns_http_query_param(conn, "channel", channel, sizeof(channel));
	int has_status = ns_http_query_param(conn, "status", status, sizeof(status));
	int n, rc, more = 0;
	json_t *items, *body;
	sqlite3_stmt *st;

	if (has_channel == NS_HTTP_PARAM_TOO_LONG || (has_channel >= 0 && !valid_name(channel)))
		return bad_param(conn, "channel", "expected a channel name");
	if (has_status == NS_HTTP_PARAM_TOO_LONG || (has_status >= 0 && !valid_name(status)))
		return bad_param(conn, "status", "expected a status name");
	n = ns_http_query_param(conn, "limit", limit_s, sizeof(limit_s));
	if (n == NS_HTTP_PARAM_TOO_LONG ||
	    (n >= 0 && ns_str_to_i64(limit_s, 1, QUERY_LIMIT_MAX, &limit)))
		return bad_param(conn, "limit", "expected an integer 1..500");
	n = ns_http_query_param(conn, "cursor", cur, sizeof(cur));
	if (n == NS_HTTP_PARAM_TOO_LONG || (n >= 0 && cursor_decode(cur, after, sizeof(after))))
		return bad_param(conn, "cursor", "not a cursor from a previous page");

	st = query_conn_stmt(c, QUERY_ST_LIST);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_TRANSIENT);
	if (has_channel >= 0)
		sqlite3_bind_text(st, 2, channel, -1, SQLITE_TRANSIENT);
	if (has_status >= 0)
		sqlite3_bind_text(st, 3, status, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, limit + 1);
	items = json_array();
	for (int64_t i = 0;; i++) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		if (i == limit) {
			more = 1;
			rc = SQLITE_DONE;
			break;
		}
		snprintf(last, sizeof(last), "%s",
			 (const char *)sqlite3_column_text(st, NS_READMODEL_NOTIF_EXTERNAL_ID));
		json_array_append_new(items, state_json(st));
	}
	if (rc != SQLITE_DONE) {
		json_decref(items);
		return unavailable(conn, "read model error");
	}
	body = json_object();
	json_object_set_new(body, "items", items);
	if (more) {
		cursor_encode(last, next_cursor, sizeof(next_cursor));
		json_object_set_new(body, "nextCursor", json_string(next_cursor));
	} else {
		json_object_set_new(body, "nextCursor", json_null());
	}
	return ns_http_send_json(conn, 200, body, NULL);
}

/* What a /notifications request asks for. */
typedef enum { REQ_LIST, REQ_STATE, REQ_EVENTS } req_kind;

typedef struct {
	req_kind kind;
	char id[PARAM_MAX]; /* REQ_STATE, REQ_EVENTS */
} req;

/* Read the route of a GET: /notifications (a list, or one notification by ?externalId=),
 * /notifications/{id}, /notifications/{id}/events. Returns 0 with r filled, or the status
 * of the problem already sent. */
static int parse_route(struct mg_connection *conn, req *r)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *uri = ri->local_uri ? ri->local_uri : "";
	const char *rest = uri + PREFIX_LEN, *slash;
	size_t len;
	int n;

	if (strcmp(ri->request_method, "GET") != 0)
		return ns_http_send_problem_hdrs(conn, 405, "Method Not Allowed",
						 "only GET is served", NULL, "Allow: GET\r\n");
	if (strncmp(uri, PREFIX, PREFIX_LEN) != 0 || (rest[0] && rest[0] != '/'))
		return ns_http_send_problem(conn, 404, "Not Found", "no such resource", NULL);
	if (rest[0] == '/')
		rest++;
	if (rest[0] == '\0') {
		n = ns_http_query_param(conn, "externalId", r->id, sizeof(r->id));
		if (n == NS_HTTP_PARAM_TOO_LONG || n == 0 || (n > 0 && !valid_id(r->id, (size_t)n)))
			return bad_param(conn, "externalId", "expected 1..128 bytes");
		r->kind = n > 0 ? REQ_STATE : REQ_LIST;
		return 0;
	}
	slash = strchr(rest, '/');
	len = slash ? (size_t)(slash - rest) : strlen(rest);
	if (slash && strcmp(slash, "/events") != 0)
		return ns_http_send_problem(conn, 404, "Not Found", "no such resource", NULL);
	if (!valid_id(rest, len))
		return bad_param(conn, "externalId", "expected 1..128 bytes");
	memcpy(r->id, rest, len);
	r->id[len] = '\0';
	r->kind = slash ? REQ_EVENTS : REQ_STATE;
	return 0;
}

/* Every /notifications request. Worker thread. */
static int on_notifications(struct mg_connection *conn, void *cbdata)
{
	query_ctx *x = cbdata;
	query_conn *c = NULL;
	req r;
	int status = parse_route(conn, &r);

	if (status)
		return status;
	if (query_db_acquire(x->db, &c) != QUERY_DB_OK)
		return unavailable(conn, "read model not available yet");
	status = wait_position(conn, x, c);
	if (status == 0) {
		if (r.kind == REQ_LIST)
			status = list(conn, c);
		else if (r.kind == REQ_EVENTS)
			status = get_events(conn, c, r.id);
		else
			status = get_state(conn, c, r.id);
	}
	query_db_release(x->db, c, status == 503 && query_conn_errored(c));
	return status;
}

int query_routes(ns_http *h, query_ctx *ctx)
{
	return ns_http_route(h, "/notifications", on_notifications, ctx);
}

int query_ready(void *ctx)
{
	query_ctx *x = ctx;
	return query_db_ready(x->db);
}
