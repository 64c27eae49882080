/* handlers.c -- GET lookups of query (see handlers.h): the route, the read-your-writes
 * wait, and the pages. Worker threads. */
#include "handlers.h"
#include "dashboard.h"
#include "params.h"
#include "render.h"

#include "ns_event.h"
#include "ns_readmodel.h"
#include "ns_signal.h"
#include "ns_time.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX	   "/notifications"
#define PREFIX_LEN (sizeof(PREFIX) - 1)
/* A state's JSON fits here unless its body is long */
#define STATE_STACK_BYTES 2048

static int bad_param(struct mg_connection *conn, const query_param_error *e)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "parameter %s: %s", e->name, e->detail);
	return ns_http_send_problem(conn, 400, "Bad Request", detail, e->name);
}

/* 503 problem with Retry-After. */
static int unavailable(struct mg_connection *conn, const char *detail)
{
	return ns_http_send_problem_hdrs(conn, 503, "Service Unavailable", detail, NULL,
					 "Retry-After: 1\r\nCache-Control: no-store\r\n");
}

static int not_found(struct mg_connection *conn, const char *id)
{
	char detail[NS_EXTID_MAX + 64];

	snprintf(detail, sizeof(detail), "no notification with externalId %.*s", NS_EXTID_MAX, id);
	return ns_http_send_problem(conn, 404, "Not Found", detail, NULL);
}

/* 1 when the read model stored an offset past (partition, offset), 0 when not yet, -1 on a
 * database error. */
static int reached(query_ctx *x, query_conn *c, int32_t partition, int64_t offset)
{
	int64_t next = 0;
	int rc = query_conn_offset(c, x->topic, partition, &next);

	if (rc == QUERY_DB_ERROR)
		return -1;
	return rc == QUERY_DB_OK && next > offset;
}

/* Read-your-writes: when the request names a position, wait until the projector has
 * stored an offset past it, as one of at most waiters_max waiting requests. Returns 0 to
 * go on, or the HTTP status already sent. */
static int wait_position(struct mg_connection *conn, query_ctx *x, query_conn *c,
			 const query_params *p)
{
	int64_t deadline, now;
	uint64_t gen;
	int r;

	if (!p->has_position)
		return 0;
	deadline = ns_time_mono_ms() + p->wait_ms;
	gen = query_watch_gen(x->watch); /* read before looking: no commit is missed */
	r = reached(x, c, p->min_partition, p->min_offset);
	if (r != 0)
		return r > 0 ? 0 : unavailable(conn, "read model error");
	if (atomic_fetch_add(&x->waiters, 1) >= x->waiters_max) {
		atomic_fetch_sub(&x->waiters, 1);
		return unavailable(conn, "too many requests waiting for minPosition; retry");
	}
	while (r == 0 && (now = ns_time_mono_ms()) < deadline && !ns_signal_stopping()) {
		gen = query_watch_wait(x->watch, gen, (int)(deadline - now));
		r = reached(x, c, p->min_partition, p->min_offset);
	}
	atomic_fetch_sub(&x->waiters, 1);
	if (r < 0)
		return unavailable(conn, "read model error");
	return r ? 0 : unavailable(conn, "read model has not reached minPosition yet");
}

/* What a /notifications request asks for, and for whom. Its strings are bound to
 * statements as SQLITE_STATIC: every step of those statements happens while it lives, and
 * query_conn_stmt clears the bindings before the next request binds its own. */
typedef struct {
	query_route route;
	char id[NS_EXTID_MAX + 1]; /* QUERY_STATE, QUERY_EVENTS */
	int callbacks;		   /* QUERY_EVENTS of /callbacks: the attempts only */
	query_params p;
	ns_key_identity who; /* the caller: its tenant is the only one it sees */
	int pii;	     /* the key may see recipients and bodies */
} req;

/* Send the text of heap writer w (200), or a 500 when it failed; w is freed. */
static int send_written(struct mg_connection *conn, ns_jw *w)
{
	size_t len = 0;
	char *text = ns_jw_take(w, &len);
	int st;

	if (!text)
		return ns_http_send_problem(conn, 500, NULL, "response could not be rendered",
					    NULL);
	st = ns_http_send_json_text(conn, 200, text, len, NULL);
	free(text);
	return st;
}

/* Send the state in st's row (200): written on the stack, or on the heap when it does not
 * fit there (a long body). */
static int send_state(struct mg_connection *conn, sqlite3_stmt *st, int pii)
{
	char small[STATE_STACK_BYTES];
	ns_jw w;
	long len;

	ns_jw_init(&w, small, sizeof(small));
	query_render_state(&w, st, pii);
	len = ns_jw_finish(&w);
	if (len >= 0)
		return ns_http_send_json_text(conn, 200, small, (size_t)len, NULL);
	ns_jw_init_heap(&w);
	query_render_state(&w, st, pii);
	return send_written(conn, &w);
}

static int get_state(struct mg_connection *conn, query_conn *c, const req *r)
{
	sqlite3_stmt *st = query_conn_stmt(c, QUERY_ST_STATE);
	int rc;

	sqlite3_bind_text(st, 1, r->who.tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return not_found(conn, r->id);
	if (rc != SQLITE_ROW)
		return unavailable(conn, "read model error");
	return send_state(conn, st, r->pii);
}

/* A page is {["externalId": id,] key: [rows...], "nextCursor": cursor or null}: opened
 * before the rows are written into w, closed and sent after them. */
static void page_open(ns_jw *w, const char *key, const char *id)
{
	ns_jw_init_heap(w);
	ns_jw_open(w, '{');
	if (id) {
		NS_JW_KEY_LIT(w, "externalId");
		ns_jw_str(w, id);
	}
	ns_jw_key(w, key);
	ns_jw_open(w, '[');
}

static int page_send(struct mg_connection *conn, ns_jw *w, const char *cursor)
{
	ns_jw_close(w, ']');
	NS_JW_KEY_LIT(w, "nextCursor");
	ns_jw_str(w, cursor); /* NULL: null */
	ns_jw_close(w, '}');
	return send_written(conn, w);
}

/* Non-zero when r's notification has a row (a notification without callbacks yet). */
static int exists(query_conn *c, const req *r)
{
	sqlite3_stmt *st = query_conn_stmt(c, QUERY_ST_STATE);
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, r->who.tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

/* One page of a history (of its callback attempts, for /callbacks). The first page of an unknown
 * notification is a 404. */
static int get_events(struct mg_connection *conn, query_conn *c, const req *r)
{
	const query_params *p = &r->p;
	const char *id = r->id;
	sqlite3_stmt *st = query_conn_stmt(c, r->callbacks ? QUERY_ST_CALLBACKS : QUERY_ST_EVENTS);
	ns_jw w;
	char cursor[QUERY_CURSOR_MAX + 1];
	int32_t lp = 0;
	int64_t lo = 0, n = 0;
	int rc = SQLITE_DONE, more = 0;

	sqlite3_bind_text(st, 1, r->who.tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->ev_partition);
	sqlite3_bind_int64(st, 4, p->ev_offset);
	sqlite3_bind_int64(st, 5, p->limit + 1);
	page_open(&w, r->callbacks ? "callbacks" : "events", id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == p->limit) {
			more = 1;
			rc = SQLITE_DONE;
			break;
		}
		lp = (int32_t)sqlite3_column_int64(st, NS_READMODEL_EVENT_PARTITION);
		lo = sqlite3_column_int64(st, NS_READMODEL_EVENT_OFFSET);
		query_render_event(&w, st);
	}
	if (rc != SQLITE_DONE) {
		ns_jw_free(&w);
		return unavailable(conn, "read model error");
	}
	if (n == 0 && p->ev_partition < 0 && (!r->callbacks || !exists(c, r))) {
		ns_jw_free(&w);
		return not_found(conn, id);
	}
	if (more)
		query_cursor_events(lp, lo, cursor, sizeof(cursor));
	return page_send(conn, &w, more ? cursor : NULL);
}

static int list(struct mg_connection *conn, query_conn *c, const req *r)
{
	const query_params *p = &r->p;
	sqlite3_stmt *st = query_conn_stmt(c, QUERY_ST_LIST);
	ns_jw w;
	char last[NS_EXTID_MAX + 1] = "", cursor[QUERY_CURSOR_MAX + 1];
	int64_t n = 0;
	int rc, more = 0;

	sqlite3_bind_text(st, 1, r->who.tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->after, -1, SQLITE_STATIC);
	if (p->has_channel)
		sqlite3_bind_text(st, 3, p->channel, -1, SQLITE_STATIC);
	if (p->has_status)
		sqlite3_bind_text(st, 4, p->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, p->limit + 1);
	sqlite3_bind_int(st, 6, p->orphans);
	page_open(&w, "items", NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == p->limit) {
			more = 1;
			rc = SQLITE_DONE;
			break;
		}
		snprintf(last, sizeof(last), "%s",
			 (const char *)sqlite3_column_text(st, NS_READMODEL_NOTIF_EXTERNAL_ID));
		query_render_state(&w, st, r->pii);
	}
	if (rc != SQLITE_DONE) {
		ns_jw_free(&w);
		return unavailable(conn, "read model error");
	}
	if (more)
		query_cursor_list(last, cursor, sizeof(cursor));
	return page_send(conn, &w, more ? cursor : NULL);
}

/* Read the route and parameters of a GET: /notifications (a list, or one notification by
 * ?externalId=), /notifications/{id}, /notifications/{id}/events, /notifications/{id}/
 * callbacks. Returns 0 with r
 * filled, or the status of the problem already sent. */
static int parse_request(struct mg_connection *conn, req *r)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *uri = ri->local_uri ? ri->local_uri : "";
	const char *rest = uri + PREFIX_LEN, *slash;
	query_param_error e;
	size_t len;

	if (strcmp(ri->request_method, "GET") != 0)
		return ns_http_send_problem_hdrs(conn, 405, "Method Not Allowed",
						 "only GET is served", NULL, "Allow: GET\r\n");
	if (strncmp(uri, PREFIX, PREFIX_LEN) != 0 || (rest[0] && rest[0] != '/'))
		return ns_http_send_problem(conn, 404, "Not Found", "no such resource", NULL);
	if (rest[0] == '/')
		rest++;
	r->route = QUERY_LIST;
	r->callbacks = 0;
	if (rest[0]) {
		slash = strchr(rest, '/');
		len = slash ? (size_t)(slash - rest) : strlen(rest);
		if (slash && strcmp(slash, "/events") != 0 && strcmp(slash, "/callbacks") != 0)
			return ns_http_send_problem(conn, 404, "Not Found", "no such resource",
						    NULL);
		r->callbacks = slash && strcmp(slash, "/callbacks") == 0;
		if (len == 0 || len > NS_EXTID_MAX)
			return bad_param(
			    conn, &(query_param_error){"externalId", "expected 1..128 bytes"});
		memcpy(r->id, rest, len);
		r->id[len] = '\0';
		r->route = slash ? QUERY_EVENTS : QUERY_STATE;
	}
	if (query_params_parse(ri->query_string, mg_get_header(conn, "X-Min-Position"), r->route,
			       &r->p, &e))
		return bad_param(conn, &e);
	if (r->route == QUERY_LIST && r->p.has_external_id) {
		r->route = QUERY_STATE;
		memcpy(r->id, r->p.external_id, sizeof(r->id));
	}
	return 0;
}

/* Every /notifications request. Worker thread. */
static int on_notifications(struct mg_connection *conn, void *cbdata)
{
	query_ctx *x = cbdata;
	query_conn *c = NULL;
	req r;
	int status = ns_auth_check(&x->auth, conn, NS_SCOPE_READ, &r.who);

	if (status)
		return status;
	r.pii = (r.who.scopes & NS_SCOPE_READ_PII) != 0;
	status = parse_request(conn, &r);
	if (status)
		return status;
	if (query_db_acquire(x->db, &c) != QUERY_DB_OK)
		return unavailable(conn, "read model not available yet");
	status = wait_position(conn, x, c, &r.p);
	if (status == 0) {
		if (r.route == QUERY_LIST)
			status = list(conn, c, &r);
		else if (r.route == QUERY_EVENTS)
			status = get_events(conn, c, &r);
		else
			status = get_state(conn, c, &r);
	}
	query_db_release(x->db, c, status == 503 && query_conn_errored(c));
	return status;
}

int query_routes(ns_http *h, query_ctx *ctx)
{
	return ns_http_route(h, "/notifications", on_notifications, ctx) ||
		       query_dashboard_routes(h, ctx)
		   ? -1
		   : 0;
}

int query_ready(void *ctx)
{
	query_ctx *x = ctx;
	return query_db_ready(x->db);
}
