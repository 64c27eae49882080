/* dashboard.c -- the page, its figures and its event stream (see dashboard.h). */
#include "dashboard.h"
#include "assets.h"
#include "figures.h"
#include "params.h"

#include "ns_signal.h"
#include "ns_time.h"

#include <stdio.h>
#include <string.h>

/* The page may only talk to this server and run its own script. */
#define PAGE_HEADERS                                                                               \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "       \
	"connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'\r\n"                     \
	"X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"

const query_asset *query_asset_find(const char *path)
{
	for (unsigned long i = 0; i < query_assets_count; i++)
		if (strcmp(query_assets[i].path, path) == 0)
			return &query_assets[i];
	return NULL;
}

/* GET /dashboard and its files. */
static int on_page(struct mg_connection *conn, void *cbdata)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *uri = ri->local_uri ? ri->local_uri : "";
	const query_asset *a;

	(void)cbdata;
	if (strcmp(ri->request_method, "GET") != 0)
		return ns_http_send_problem_hdrs(conn, 405, "Method Not Allowed",
						 "only GET is served", NULL, "Allow: GET\r\n");
	if (strcmp(uri, "/dashboard") == 0 || strcmp(uri, "/dashboard/") == 0)
		a = query_asset_find("/index.html");
	else
		a = strncmp(uri, "/dashboard/", 11) == 0 ? query_asset_find(uri + 10) : NULL;
	if (!a)
		return ns_http_send_problem(conn, 404, "Not Found", "no such resource", NULL);
	mg_printf(conn,
		  "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %lu\r\n"
		  "Cache-Control: no-cache\r\n" PAGE_HEADERS "\r\n",
		  a->type, a->len);
	mg_write(conn, a->data, a->len);
	return 200;
}

/* GET /figures. */
static int on_figures(struct mg_connection *conn, void *cbdata)
{
	query_ctx *x = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char detail[256];
	query_param_error e;
	query_fig_params p;
	query_conn *c = NULL;
	ns_key_identity who;
	json_t *body;
	int status = ns_auth_check(&x->auth, conn, NS_SCOPE_READ, &who);

	if (status)
		return status;
	if (query_params_figures(ri->query_string, &p, &e) != 0) {
		snprintf(detail, sizeof(detail), "parameter %s: %s", e.name, e.detail);
		return ns_http_send_problem(conn, 400, "Bad Request", detail, e.name);
	}
	if (query_db_acquire(x->db, &c) != QUERY_DB_OK)
		return ns_http_send_problem_hdrs(conn, 503, NULL, "read model not available yet",
						 NULL, "Retry-After: 1\r\n");
	body = query_figures(c, who.tenant, x->topic, &p, ns_time_now_ms());
	query_db_release(x->db, c, body == NULL);
	if (!body)
		return ns_http_send_problem_hdrs(conn, 503, NULL, "read model error", NULL,
						 "Retry-After: 1\r\n");
	return ns_http_send_json(conn, 200, body, "Cache-Control: no-store\r\n");
}

/* One event or comment on the stream. Returns 0, or -1 when the client is gone. */
static int stream_send(struct mg_connection *conn, const char *text)
{
	size_t n = strlen(text);
	return mg_write(conn, text, n) == (int)n ? 0 : -1;
}

/* Push "change" whenever the read model changes, until the client goes or a stop. A
 * change within QUERY_STREAM_MIN_GAP_MS of the last one waits out the gap (sleeping, not
 * spinning) and is sent then, folded with whatever else changed meanwhile. */
static void stream_loop(struct mg_connection *conn, query_ctx *x)
{
	uint64_t gen = query_watch_gen(x->watch);
	int64_t last_beat = ns_time_mono_ms(), last_change = 0;
	char line[96];

	if (stream_send(conn, "retry: 2000\nevent: hello\ndata: {}\n\n"))
		return;
	while (!ns_signal_stopping()) {
		uint64_t now_gen = query_watch_wait(x->watch, gen, 1000);
		int64_t now = ns_time_mono_ms(), gap = last_change + QUERY_STREAM_MIN_GAP_MS - now;
		if (now_gen != gen) {
			if (gap > 0)
				(void)ns_signal_sleep_ms((int)gap);
			gen = query_watch_gen(x->watch);
			last_change = last_beat = ns_time_mono_ms();
			snprintf(line, sizeof(line),
				 "event: change\ndata: {\"generation\":%llu}\n\n",
				 (unsigned long long)gen);
			if (stream_send(conn, line))
				return;
		} else if (now - last_beat >= QUERY_STREAM_HEARTBEAT_MS) {
			last_beat = now;
			if (stream_send(conn, ": keep-alive\n\n"))
				return;
		}
	}
}

/* GET /dashboard/stream. */
static int on_stream(struct mg_connection *conn, void *cbdata)
{
	query_ctx *x = cbdata;
	ns_key_identity who;
	int status = ns_auth_check(&x->auth, conn, NS_SCOPE_READ, &who);

	if (status)
		return status;
	if (atomic_fetch_add(&x->streams, 1) >= x->streams_max) {
		atomic_fetch_sub(&x->streams, 1);
		return ns_http_send_problem_hdrs(conn, 503, NULL, "too many dashboard streams open",
						 NULL, "Retry-After: 5\r\n");
	}
	mg_printf(conn,
		  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		  "Cache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n");
	stream_loop(conn, x);
	atomic_fetch_sub(&x->streams, 1);
	return 200;
}

int query_dashboard_routes(ns_http *h, query_ctx *ctx)
{
	return ns_http_route(h, "/figures", on_figures, ctx) ||
		       ns_http_route(h, "/dashboard/stream", on_stream, ctx) ||
		       ns_http_route(h, "/dashboard", on_page, ctx)
		   ? -1
		   : 0;
}
