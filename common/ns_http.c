/* ns_http.c -- civetweb server setup, the built-in /healthz, /readyz and /metrics routes,
 * per-route request metrics, and small request/response helpers (bounded body reads,
 * JSON and RFC 9457 problem replies, query parameters).
 *
 * Every route, built-in or not, is served through a trampoline that times the handler and
 * counts its status class into http_requests_total{route,code="2xx"} and
 * http_request_duration_seconds{route}; the metrics are registered once per route in
 * ns_http_route, so the hot path only does atomic adds. Handlers and the trampoline run on
 * civetweb worker threads. civetweb's own error log goes to ns_log. */
#include "ns_http.h"
#include "ns_crash.h"
#include "ns_log.h"
#include "ns_time.h"
#include "ns_metrics.h"
#include "ns_str.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* This worker's current response closes the connection (set by close_after, cleared as
 * each request starts): civetweb keeps that decision to itself, and send_body must write
 * the same Connection header that civetweb will act on. */
static _Thread_local int closing;

/* Close the connection after this response (the rest of the stream is not a request). */
static void close_after(struct mg_connection *conn)
{
	mg_disable_keep_alive(conn);
	closing = 1;
}

typedef struct {
	char *uri;
	mg_request_handler handler;
	void *cbdata;
	ns_counter *codes[6]; /* index: status / 100, 1..5 */
	ns_histogram *latency;
} route;

struct ns_http {
	struct mg_context *ctx;
	ns_ready_fn *ready;
	void *ready_opaque;
	size_t drain_max;
	int request_timeout_ms;
	const char *_Atomic warning;
	_Atomic int serving; /* every route is registered (ns_http_serve) */
	int port;
	pthread_mutex_t mu; /* guards routes[] while adding */
	route *routes[NS_HTTP_MAX_ROUTES];
	int nroutes;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
	mg_init_library(0);
}

/* civetweb's error log, on whichever civetweb thread logged. */
static int on_log_message(const struct mg_connection *conn, const char *message)
{
	char q[512];

	(void)conn;
	NS_WARN("http.civetweb", "msg=%s", ns_log_quote(message, q, sizeof(q)));
	return 1; /* handled: civetweb writes nothing itself */
}

/* Every civetweb thread gets an alternate signal stack, so that a crash on it (a stack
 * overflow included) still writes its log line. On the new thread. */
static void *on_thread_start(const struct mg_context *ctx, int thread_type)
{
	(void)ctx;
	(void)thread_type;
	(void)ns_crash_thread_enter();
	return NULL;
}

static void on_thread_exit(const struct mg_context *ctx, int thread_type, void *thread_pointer)
{
	(void)ctx;
	(void)thread_type;
	(void)thread_pointer;
	ns_crash_thread_leave();
}

/* Request smuggling guard: NULL when the framing headers are sound, else why not (more
 * than one Content-Length, or Content-Length beside Transfer-Encoding). */
static const char *framing_fault(const struct mg_request_info *ri)
{
	int cl = 0, te = 0;

	for (int i = 0; i < ri->num_headers; i++) {
		if (strcasecmp(ri->http_headers[i].name, "Content-Length") == 0)
			cl++;
		else if (strcasecmp(ri->http_headers[i].name, "Transfer-Encoding") == 0)
			te++;
	}
	if (cl > 1)
		return "more than one Content-Length header";
	if (cl && te)
		return "both Content-Length and Transfer-Encoding";
	if (te > 1)
		return "more than one Transfer-Encoding header";
	return NULL;
}

/* On a worker thread: check the framing, run the route's handler, account for it. */
static int route_trampoline(struct mg_connection *conn, void *cbdata)
{
	route *r = cbdata;
	double t0 = ns_time_mono_s();
	const char *fault = framing_fault(mg_get_request_info(conn));
	int status;

	closing = 0;
	if (fault) {
		close_after(conn); /* the rest of the stream cannot be trusted */
		status = ns_http_send_problem_hdrs(conn, 400, "Bad Request", fault, NULL, NULL);
	} else {
		status = r->handler(conn, r->cbdata);
	}

	if (status >= 100 && status < 600)
		ns_counter_add(r->codes[status / 100], 1);
	ns_histogram_observe(r->latency, ns_time_mono_s() - t0);
	NS_DEBUG("http.request", "route=%s status=%d", r->uri, status);
	return status;
}

/* Label value for uri: quotes and backslashes escaped as Prometheus wants. */
static void label_value(const char *uri, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *uri && o + 3 < outlen; uri++) {
		if (*uri == '"' || *uri == '\\')
			out[o++] = '\\';
		out[o++] = *uri;
	}
	out[o] = '\0';
}

int ns_http_route(ns_http *h, const char *uri, mg_request_handler handler, void *cbdata)
{
	static const char *const classes[] = {NULL, "1xx", "2xx", "3xx", "4xx", "5xx"};
	char lv[256], labels[320];
	route *r = NULL;
	int i;

	if (!h || !uri || !handler)
		return -1;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->uri = strdup(uri))) {
		NS_ERROR("http.route.failed", "route=%s reason=out_of_memory", uri);
		goto fail;
	}
	r->handler = handler;
	r->cbdata = cbdata;
	label_value(uri, lv, sizeof(lv));
	for (i = 1; i <= 5; i++) {
		snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%s\"", lv, classes[i]);
		r->codes[i] = ns_metrics_counter("http_requests_total", labels,
						 "HTTP requests served, by route and status class");
	}
	snprintf(labels, sizeof(labels), "route=\"%s\"", lv);
	r->latency = ns_metrics_histogram("http_request_duration_seconds", labels,
					  "Time spent in the route's handler");
	pthread_mutex_lock(&h->mu);
	if (h->nroutes >= NS_HTTP_MAX_ROUTES) {
		pthread_mutex_unlock(&h->mu);
		NS_ERROR("http.route.failed", "route=%s reason=too_many_routes max=%d", uri,
			 NS_HTTP_MAX_ROUTES);
		goto fail;
	}
	h->routes[h->nroutes++] = r;
	pthread_mutex_unlock(&h->mu);
	mg_set_request_handler(h->ctx, uri, route_trampoline, r);
	return 0;
fail:
	if (r)
		free(r->uri);
	free(r);
	return -1;
}

/* ---- built-in routes (worker threads) ---------------------------------------------- */

/* civetweb's own authorization, for every path: allowed. Each route decides for itself
 * (ns_auth); without a handler here civetweb would look for a .htpasswd file, two stat()
 * calls on every request. */
static int authorize_all(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return 1;
}

/* Every path no route serves. civetweb listens before the daemon has registered its
 * routes: until ns_http_serve, say "starting" (503, retry) instead of a 404 that would
 * tell a client that what it asked for does not exist. */
static int unrouted(struct mg_connection *conn, void *cbdata)
{
	ns_http *h = cbdata;

	if (!h->serving)
		return ns_http_send_problem_hdrs(conn, 503, "Service Unavailable",
						 "starting: the routes are not registered yet",
						 NULL, "Retry-After: 1\r\n");
	return ns_http_send_problem(conn, 404, "Not Found", "no such resource", NULL);
}

void ns_http_serve(ns_http *h)
{
	if (h)
		h->serving = 1;
}

/* {"status": status} and the warning, if any. */
static json_t *probe_body(ns_http *h, const char *status)
{
	json_t *b = json_pack("{s:s}", "status", status);
	const char *w = h->warning;

	if (b && w)
		json_object_set_new(b, "warning", json_string(w));
	return b;
}

static int healthz(struct mg_connection *conn, void *cbdata)
{
	return ns_http_send_json(conn, 200, probe_body(cbdata, "ok"), NULL);
}

static int readyz(struct mg_connection *conn, void *cbdata)
{
	ns_http *h = cbdata;
	int ok = h->ready ? h->ready(h->ready_opaque) : 1;

	return ns_http_send_json(conn, ok ? 200 : 503, probe_body(h, ok ? "ready" : "not ready"),
				 NULL);
}

void ns_http_set_warning(ns_http *h, const char *note)
{
	if (h)
		h->warning = note;
}

static int metrics(struct mg_connection *conn, void *cbdata)
{
	char *txt = ns_metrics_render();
	int st;

	(void)cbdata;
	if (!txt)
		return ns_http_send_problem(conn, 500, NULL, "metrics could not be rendered", NULL);
	st = ns_http_send_text(conn, 200, "text/plain; version=0.0.4; charset=utf-8", txt,
			       strlen(txt));
	free(txt);
	return st;
}

/* ---- server ------------------------------------------------------------------------- */

/* The civetweb options of opts into options (room for 16), text in the buffers given. */
static void server_options(const ns_http_opts *opts, const char **options, char *threads,
			   char *timeout, size_t cap)
{
	int o = 0;

	snprintf(threads, cap, "%d", opts->threads > 0 ? opts->threads : NS_HTTP_THREADS);
	snprintf(timeout, cap, "%d",
		 opts->request_timeout_ms > 0 ? opts->request_timeout_ms
					      : NS_HTTP_REQUEST_TIMEOUT_MS);
	options[o++] = "listening_ports";
	options[o++] = opts->listen && opts->listen[0] ? opts->listen : "8080";
	options[o++] = "num_threads";
	options[o++] = threads;
	options[o++] = "request_timeout_ms";
	options[o++] = timeout;
	options[o++] = "enable_keep_alive";
	options[o++] = "yes";
	/* civetweb writes headers and body separately: without TCP_NODELAY, Nagle and the
	 * peer's delayed ACK add ~40 ms to every keep-alive response. */
	options[o++] = "tcp_nodelay";
	options[o++] = "1";
	options[o] = NULL;
}

ns_http *ns_http_start(const ns_http_opts *opts, char *err, size_t errlen)
{
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data mgerr;
	struct mg_server_port ports[4];
	char threads[16], timeout[16], mgtext[256] = "";
	unsigned mgcode = 0;
	const char *options[16];
	int n;
	ns_http *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_once(&lib_once, lib_init);
	pthread_mutex_init(&h->mu, NULL);
	h->ready = opts->ready;
	h->ready_opaque = opts->ready_opaque;
	h->drain_max = opts->drain_max ? opts->drain_max : NS_HTTP_DRAIN_MAX;
	h->request_timeout_ms =
	    opts->request_timeout_ms > 0 ? opts->request_timeout_ms : NS_HTTP_REQUEST_TIMEOUT_MS;
	server_options(opts, options, threads, timeout, sizeof(threads));

	memset(&cb, 0, sizeof(cb));
	cb.log_message = on_log_message;
	cb.init_thread = on_thread_start;
	cb.exit_thread = on_thread_exit;
	init.callbacks = &cb;
	init.user_data = h;
	init.configuration_options = options;
	mgerr.code = &mgcode;
	mgerr.text = mgtext;
	mgerr.text_buffer_size = sizeof(mgtext);
	h->ctx = mg_start2(&init, &mgerr);
	if (!h->ctx) {
		snprintf(err, errlen, "listen on %s: %s", options[1],
			 mgtext[0] ? mgtext : "civetweb failed to start");
		goto fail;
	}
	mg_set_auth_handler(h->ctx, "/**", authorize_all, NULL);
	n = mg_get_server_ports(h->ctx, 4, ports);
	h->port = n > 0 ? ports[0].port : -1;
	if (ns_http_route(h, "/healthz", healthz, h) || ns_http_route(h, "/readyz", readyz, h) ||
	    (opts->admin && ns_http_route(h, "/metrics", metrics, h)) ||
	    ns_http_route(h, "/**", unrouted, h)) {
		snprintf(err, errlen, "listen on %s: built-in routes failed", options[1]);
		ns_http_stop(h);
		return NULL;
	}
	if (opts->admin)
		ns_http_serve(h); /* the built-in routes are all an admin server has */
	NS_INFO("http.listen", "listen=%s port=%d threads=%s admin=%d", options[1], h->port,
		threads, opts->admin ? 1 : 0);
	return h;
fail:
	pthread_mutex_destroy(&h->mu);
	free(h);
	return NULL;
}

ns_http *ns_http_admin_start(const char *listen, ns_ready_fn *ready, void *opaque, char *err,
			     size_t errlen)
{
	ns_http_opts o = {.listen = listen,
			  .threads = NS_HTTP_ADMIN_THREADS,
			  .admin = 1,
			  .ready = ready,
			  .ready_opaque = opaque};

	return ns_http_start(&o, err, errlen);
}

int ns_http_port(const ns_http *h)
{
	return h ? h->port : -1;
}

void ns_http_stop(ns_http *h)
{
	int i;

	if (!h)
		return;
	mg_stop(h->ctx); /* waits for running handlers */
	for (i = 0; i < h->nroutes; i++) {
		free(h->routes[i]->uri);
		free(h->routes[i]);
	}
	pthread_mutex_destroy(&h->mu);
	NS_INFO("http.stop", "port=%d", h->port);
	free(h);
}

/* ---- request helpers (worker threads) ---------------------------------------------- */

/* The monotonic ms by which the whole body of a request on conn must have arrived: one
 * request timeout from now. civetweb bounds each read only, and a client sending a byte
 * now and then would hold a worker for as long as it likes. */
static int64_t body_deadline(struct mg_connection *conn)
{
	const ns_http *h = mg_get_user_data(mg_get_context(conn));

	return ns_time_mono_ms() + (h ? h->request_timeout_ms : NS_HTTP_REQUEST_TIMEOUT_MS);
}

/* mg_read bounds each wait for data, but a single call returns only when all it was asked
 * for has come (civetweb's pull_all), so a client sending a byte now and then holds it for
 * as long as it likes. Reads therefore ask for little: the size doubles, up to
 * READ_CHUNK_MAX, while data comes at once, and falls back to one byte when it trickles;
 * the deadline is checked between reads. A trickle ends at the deadline (plus at most
 * READ_CHUNK_MAX slow bytes); an honest 300-byte body costs about 20 calls. */
#define READ_CHUNK_MAX 16
#define READ_FAST_MS   20

/* Read up to len bytes of the body into buf before deadline. Returns the bytes read (0 at
 * the end of the body), -1 on a read error, NS_HTTP_SLOW_BODY when the deadline passed. */
static int read_bounded(struct mg_connection *conn, char *buf, size_t len, int64_t deadline)
{
	size_t got = 0, chunk = 1;

	while (got < len) {
		int64_t t0 = ns_time_mono_ms();
		int r;
		if (t0 >= deadline)
			return NS_HTTP_SLOW_BODY;
		r = mg_read(conn, buf + got, chunk < len - got ? chunk : len - got);
		if (r < 0)
			return got ? (int)got : -1;
		if (r == 0)
			break;
		got += (size_t)r;
		if (ns_time_mono_ms() - t0 > READ_FAST_MS)
			chunk = 1;
		else if (chunk < READ_CHUNK_MAX)
			chunk *= 2;
	}
	return (int)got;
}

/* An over-long body: read and drop up to the server's drain bound of what is left, until
 * the deadline, so that a client still sending it reads our 413 instead of a reset, then
 * close after the reply (the unread rest must not be taken for a request). Returns
 * NS_HTTP_TOO_LARGE. */
static int too_large(struct mg_connection *conn, int64_t deadline)
{
	const ns_http *h = mg_get_user_data(mg_get_context(conn));
	size_t left = h ? h->drain_max : NS_HTTP_DRAIN_MAX;
	char sink[8192];

	close_after(conn);
	while (left > 0) {
		int r =
		    read_bounded(conn, sink, left < sizeof(sink) ? left : sizeof(sink), deadline);
		if (r <= 0)
			break;
		left -= (size_t)r;
	}
	return NS_HTTP_TOO_LARGE;
}

int ns_http_read_body(struct mg_connection *conn, size_t max, char **out, size_t *len)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	long long cl = ri ? ri->content_length : -1;
	int64_t deadline = body_deadline(conn);
	size_t cap, got = 0;
	char *buf = NULL;
	int rc = NS_HTTP_BAD_BODY;

	*out = NULL;
	*len = 0;
	if (cl >= 0 && (unsigned long long)cl > max)
		return too_large(conn, deadline);
	/* Known length: exactly that. Chunked or unknown: up to max + 1 to detect excess. */
	cap = cl >= 0 ? (size_t)cl : (max < 4096 ? max : 4096);
	buf = malloc(cap + 1);
	if (!buf)
		goto out;
	for (;;) {
		int r;
		if (got == cap) {
			size_t ncap;
			char *nb;
			if (cl >= 0)
				break;
			if (cap > max) {
				break;
			}
			ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			if (ncap <= cap)
				ncap = max + 1;
			nb = realloc(buf, ncap + 1);
			if (!nb)
				goto out;
			buf = nb;
			cap = ncap;
		}
		r = read_bounded(conn, buf + got, cap - got, deadline);
		if (r == NS_HTTP_SLOW_BODY) {
			rc = NS_HTTP_SLOW_BODY;
			close_after(conn);
			goto out;
		}
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > max) {
		rc = too_large(conn, deadline);
		goto out;
	}
	if (cl >= 0 && got != (size_t)cl)
		goto out; /* truncated */
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

int ns_http_is_json(struct mg_connection *conn)
{
	const char *ct = mg_get_header(conn, "Content-Type");
	const size_t n = sizeof("application/json") - 1;

	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/* Does the comma-separated header value v list token t (case-insensitive)? */
static int has_token(const char *v, const char *t)
{
	size_t n = strlen(t);

	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (!strncasecmp(v, t, n) &&
		    (v[n] == '\0' || v[n] == ',' || v[n] == ' ' || v[n] == '\t'))
			return 1;
		while (*v && *v != ',')
			v++;
	}
	return 0;
}

/* Will civetweb keep this connection open after a response of status? Its own rule:
 * not after a 401 or a close_after, and as the request's Connection header and HTTP
 * version say (keep-alive is enabled on every server). */
static int keeps_alive(struct mg_connection *conn, int status)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *c = mg_get_header(conn, "Connection");

	if (closing || status == 401)
		return 0;
	if (c)
		return has_token(c, "keep-alive");
	return ri && ri->http_version && strcmp(ri->http_version, "1.1") == 0;
}

/* The Date header's value for now (RFC 9110 IMF-fixdate), computed once a second. */
static const char *http_date(void)
{
	static _Thread_local char date[40];
	static _Thread_local time_t last = -1;
	time_t now = time(NULL);
	struct tm tm;

	if (now != last && gmtime_r(&now, &tm)) {
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		last = now;
	}
	return date;
}

/* n bytes of s at p; returns the end. */
static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) ((p) = put((p), (lit), sizeof(lit) - 1))

/* The whole response, status line to body, in one write: civetweb's header functions
 * send every line with a write of its own, and with TCP_NODELAY each one is a segment
 * (seven per response, for the client to take apart too). The head is put together by
 * hand, its length known before a byte is copied: a formatted print of it cost as much
 * as the rest of a small response. */
static int send_body(struct mg_connection *conn, int status, const char *ctype, const char *body,
		     size_t len, const char *extra_headers)
{
	static const char l1[] = "HTTP/1.1 ",
			  l2[] = "\r\nContent-Type: ", l3[] = "\r\nContent-Length: ",
			  l4[] = "\r\nDate: ", l5[] = "\r\nConnection: ", l6[] = "\r\n";
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int head = ri && ri->request_method && strcmp(ri->request_method, "HEAD") == 0;
	const char *extra = extra_headers ? extra_headers : "";
	const char *reason = mg_get_response_code_text(conn, status), *date = http_date();
	const char *keep = keeps_alive(conn, status) ? "keep-alive" : "close";
	char code[NS_STR_I64_MAX], clen[NS_STR_I64_MAX], small[4096], *buf = small, *p;
	size_t coden = ns_str_from_i64(status, code), clenn = ns_str_from_i64((int64_t)len, clen);
	size_t reasonn = strlen(reason), ctypen = strlen(ctype), daten = strlen(date);
	size_t keepn = strlen(keep), extran = strlen(extra), n;

	n = sizeof(l1) - 1 + coden + 1 + reasonn + sizeof(l2) - 1 + ctypen + sizeof(l3) - 1 +
	    clenn + sizeof(l4) - 1 + daten + sizeof(l5) - 1 + keepn + sizeof(l6) - 1 + extran +
	    sizeof(l6) - 1 + (head ? 0 : len);
	if (n > sizeof(small) && !(buf = malloc(n)))
		return status;
	p = buf;
	PUT_LIT(p, l1);
	p = put(p, code, coden);
	*p++ = ' ';
	p = put(p, reason, reasonn);
	PUT_LIT(p, l2);
	p = put(p, ctype, ctypen);
	PUT_LIT(p, l3);
	p = put(p, clen, clenn);
	PUT_LIT(p, l4);
	p = put(p, date, daten);
	PUT_LIT(p, l5);
	p = put(p, keep, keepn);
	PUT_LIT(p, l6);
	p = put(p, extra, extran);
	PUT_LIT(p, l6);
	if (!head && len)
		p = put(p, body, len);
	if (mg_write(conn, buf, (size_t)(p - buf)) != (int)(p - buf))
		NS_DEBUG("http.send.short", "status=%d", status);
	if (buf != small)
		free(buf);
	return status;
}

int ns_http_send_json(struct mg_connection *conn, int status, json_t *body,
		      const char *extra_headers)
{
	char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int st;

	json_decref(body);
	if (!txt) {
		static const char oom[] = "{\"type\":\"about:blank\",\"title\":\"Internal Server "
					  "Error\",\"status\":500}";
		return send_body(conn, 500, "application/problem+json", oom, sizeof(oom) - 1, NULL);
	}
	st = send_body(conn, status, "application/json", txt, strlen(txt), extra_headers);
	free(txt);
	return st;
}

int ns_http_send_json_text(struct mg_connection *conn, int status, const char *text, size_t len,
			   const char *extra_headers)
{
	return send_body(conn, status, "application/json", text, len, extra_headers);
}

int ns_http_send_problem(struct mg_connection *conn, int status, const char *title,
			 const char *detail, const char *field)
{
	return ns_http_send_problem_hdrs(conn, status, title, detail, field, NULL);
}

int ns_http_send_problem_hdrs(struct mg_connection *conn, int status, const char *title,
			      const char *detail, const char *field, const char *extra_headers)
{
	json_t *p = json_object();
	char *txt = NULL;
	int st;

	if (!title)
		title = mg_get_response_code_text(conn, status);
	if (p) {
		json_object_set_new(p, "type", json_string("about:blank"));
		json_object_set_new(p, "title", json_string(title ? title : ""));
		json_object_set_new(p, "status", json_integer(status));
		if (detail)
			json_object_set_new(p, "detail", json_string(detail));
		if (field)
			json_object_set_new(p, "field", json_string(field));
		txt = json_dumps(p, JSON_COMPACT);
		json_decref(p);
	}
	if (!txt) {
		static const char oom[] = "{\"type\":\"about:blank\",\"status\":500}";
		return send_body(conn, 500, "application/problem+json", oom, sizeof(oom) - 1, NULL);
	}
	st = send_body(conn, status, "application/problem+json", txt, strlen(txt), extra_headers);
	free(txt);
	return st;
}

int ns_http_send_text(struct mg_connection *conn, int status, const char *content_type,
		      const char *body, size_t len)
{
	return send_body(conn, status, content_type ? content_type : "text/plain; charset=utf-8",
			 body, len, NULL);
}

int ns_http_query_param(struct mg_connection *conn, const char *name, char *out, size_t outlen)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int n;

	if (outlen)
		out[0] = '\0';
	if (!ri || !ri->query_string)
		return NS_HTTP_PARAM_ABSENT;
	/* mg_get_var: -1 absent, -2 the buffer is too small (or NULL / zero-sized) */
	n = mg_get_var(ri->query_string, strlen(ri->query_string), name, out, outlen);
	if (n >= 0)
		return n;
	if (outlen)
		out[0] = '\0';
	return n == -1 ? NS_HTTP_PARAM_ABSENT : NS_HTTP_PARAM_TOO_LONG;
}
