/* ns_http.h -- the HTTP side of every binary, over civetweb.
 *
 * Each daemon runs two servers, each with its own worker threads: its API listener (the
 * caller's routes, plus /healthz and /readyz for load balancers) and its admin listener
 * (/healthz alive, /readyz 200 when the ready hook says so else 503, /metrics in the
 * Prometheus text format), so that users keeping every API worker busy can never starve
 * the probes. Both count requests and log nothing per request at info level.
 *
 * Every request passes the framing check first: two Content-Length headers, or a
 * Content-Length beside a Transfer-Encoding (request smuggling), get 400 and the
 * connection closes. The headers, and then the whole body, must each arrive within
 * request_timeout_ms.
 *
 * Handlers run on civetweb worker threads (one per connection at a time), whose stack is
 * fixed at build time by the Debian package (100 KB, no run-time option): everything that
 * parses what clients send is bounded to fit (ns_json.h) and fuzzed on threads of that
 * size. Every server thread has an alternate signal stack (ns_crash.h), so even a stack
 * overflow leaves its log line. JSON replies use jansson; errors are RFC 9457
 * application/problem+json bodies. */
#ifndef NS_HTTP_H
#define NS_HTTP_H

#include <civetweb.h>
#include <jansson.h>
#include <stddef.h>

typedef struct ns_http ns_http;

/* Non-zero when the service can take traffic. Called on a worker thread. */
typedef int(ns_ready_fn)(void *opaque);

typedef struct {
	const char *listen;	/* "127.0.0.1:8080" or "0.0.0.0:8080" or "8080" */
	int threads;		/* worker threads (connections served at once) */
	int request_timeout_ms; /* the headers, then the whole body, must come within this */
	int admin;		/* non-zero: the admin listener (probes and /metrics) */
	size_t drain_max;	/* bytes of an over-long body read and dropped before the 413 */
	ns_ready_fn *ready;	/* NULL: ready as soon as started */
	void *ready_opaque;
} ns_http_opts;

/* Defaults for fields left zero: threads, request timeout, drain. */
#define NS_HTTP_THREADS		   50
#define NS_HTTP_REQUEST_TIMEOUT_MS 5000
#define NS_HTTP_DRAIN_MAX	   (4u << 20)
#define NS_HTTP_ADMIN_THREADS	   4

/* Start serving (enable_keep_alive=yes, TCP_NODELAY; zero fields take the defaults above;
 * listen NULL means "8080"). Port 0 picks a free port (see ns_http_port). Returns NULL
 * with err filled (e.g. the port is taken). */
ns_http *ns_http_start(const ns_http_opts *opts, char *err, size_t errlen);

/* Start an admin listener on listen: NS_HTTP_ADMIN_THREADS threads serving /healthz,
 * /readyz (ready, opaque as in ns_http_opts) and /metrics only. NULL with err filled. */
ns_http *ns_http_admin_start(const char *listen, ns_ready_fn *ready, void *opaque, char *err,
			     size_t errlen);

/* Add a route; uri follows civetweb's mg_set_request_handler patterns ("/notifications",
 * "/notifications/", "**" ...). The handler returns the HTTP status it sent (>0). Each
 * route counts http_requests_total{route,code="2xx"...} and
 * http_request_duration_seconds{route}. Returns 0, or -1 (logged) when out of memory or
 * past NS_HTTP_MAX_ROUTES routes: the route is then not served. */
#define NS_HTTP_MAX_ROUTES 64
int ns_http_route(ns_http *h, const char *uri, mg_request_handler handler, void *cbdata);

/* Every route of h is registered: a path none of them serves is a 404 problem from now
 * on. Before this call such a path is a 503 with Retry-After (the server listens from
 * ns_http_start on, before the daemon has added its routes). An admin server serves
 * from its start. Thread-safe. */
void ns_http_serve(ns_http *h);

/* A warning /healthz and /readyz carry in their body from now on ({"status":..,
 * "warning": note}), e.g. that the daemon runs without authentication. note must outlive
 * h; NULL removes it. */
void ns_http_set_warning(ns_http *h, const char *note);

/* The port actually bound (useful with port 0). */
int ns_http_port(const ns_http *h);

/* Stop accepting, wait for running handlers, free. NULL is a no-op. civetweb 1.15 takes up
 * to 2 s here once it has served a request (civetweb issue #1163, fixed in 1.16). */
void ns_http_stop(ns_http *h);

/* Read the request body, at most max bytes. Returns 0 with a malloc'd NUL-terminated
 * *out (caller frees) and *len; NS_HTTP_TOO_LARGE when the body (or Content-Length) exceeds
 * max: up to the server's drain_max bytes of it are read and dropped first, so that a
 * client that sends its whole body before reading (most do) still reads the 413, and the
 * connection closes after the reply; NS_HTTP_SLOW_BODY when the whole body did not arrive
 * within one request timeout (the connection closes: answer 408); NS_HTTP_BAD_BODY on a
 * read error or truncated body. */
#define NS_HTTP_TOO_LARGE -2
#define NS_HTTP_BAD_BODY  -3
#define NS_HTTP_SLOW_BODY -4
int ns_http_read_body(struct mg_connection *conn, size_t max, char **out, size_t *len);

/* Non-zero when the request's Content-Type is application/json (parameters allowed). */
int ns_http_is_json(struct mg_connection *conn);

/* Send body as application/json with the status. Takes ownership of body (decref'd).
 * extra_headers: NULL or "Name: value\r\n..." lines. Returns status. */
int ns_http_send_json(struct mg_connection *conn, int status, json_t *body,
		      const char *extra_headers);

/* ns_http_send_json with the body already text (len bytes), e.g. from ns_jwrite. */
int ns_http_send_json_text(struct mg_connection *conn, int status, const char *text, size_t len,
			   const char *extra_headers);

/* Send an application/problem+json body {type,title,status,detail[,field]}; title NULL
 * means the status's standard text; detail and field may be NULL. Returns status. */
int ns_http_send_problem(struct mg_connection *conn, int status, const char *title,
			 const char *detail, const char *field);

/* ns_http_send_problem with extra header lines ("Name: value\r\n...", or NULL), e.g.
 * "Retry-After: 1\r\n" on a 503 or "Allow: POST\r\n" on a 405. Returns status. */
int ns_http_send_problem_hdrs(struct mg_connection *conn, int status, const char *title,
			      const char *detail, const char *field, const char *extra_headers);

/* Send a plain text body with the given content type. Returns status. */
int ns_http_send_text(struct mg_connection *conn, int status, const char *content_type,
		      const char *body, size_t len);

/* Value of query parameter name into out (URL-decoded, NUL-terminated). Returns its length
 * (0 for `name=`), NS_HTTP_PARAM_ABSENT when the query string does not name it, or
 * NS_HTTP_PARAM_TOO_LONG when the value does not fit in outlen - 1 bytes (out is then ""). */
#define NS_HTTP_PARAM_ABSENT   -1
#define NS_HTTP_PARAM_TOO_LONG -2
int ns_http_query_param(struct mg_connection *conn, const char *name, char *out, size_t outlen);

#endif
