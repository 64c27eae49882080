/* test_http.c -- ns_http on a real socket: built-in /healthz, /readyz and /metrics, a route
 * that echoes JSON bodies (size cap with Content-Length and chunked bodies, media type
 * check), the problem+json shape, query parameter decoding, per-route request counters,
 * port 0 and a taken port. */
#include "nt.h"
#include "nt_stack.h"
#include "ns_http.h"
#include "ns_log.h"
#include "ns_metrics.h"

#include <check.h>
#include <pthread.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BODY 1024

static ns_http *srv;
static int port;
static atomic_int ready_flag;

static int is_ready(void *opaque)
{
	(void)opaque;
	return atomic_load(&ready_flag);
}

/* POST /echo: JSON body of at most MAX_BODY bytes back as {"len":n,"body":"..."}. */
static int echo(struct mg_connection *conn, void *cbdata)
{
	char *body = NULL;
	size_t len = 0;
	int rc, st;

	(void)cbdata;
	if (!ns_http_is_json(conn))
		return ns_http_send_problem(conn, 415, NULL, "expected application/json", NULL);
	rc = ns_http_read_body(conn, MAX_BODY, &body, &len);
	if (rc == NS_HTTP_TOO_LARGE)
		return ns_http_send_problem(conn, 413, "Payload Too Large", "body over 1024 bytes",
					    NULL);
	if (rc != 0)
		return ns_http_send_problem(conn, 400, NULL, "unreadable body", NULL);
	st = ns_http_send_json(conn, 200,
			       json_pack("{s:i,s:s%}", "len", (int)len, "body", body, len),
			       "X-Echo: yes\r\n");
	free(body);
	return st;
}

/* GET /q?a=...: {"a": value, "n": length} or {"n": -1}. */
static int query(struct mg_connection *conn, void *cbdata)
{
	char v[16];
	int n = ns_http_query_param(conn, "a", v, sizeof(v));

	(void)cbdata;
	if (n < 0)
		return ns_http_send_json(conn, 200, json_pack("{s:i}", "n", n), NULL);
	return ns_http_send_json(conn, 200, json_pack("{s:s,s:i}", "a", v, "n", n), NULL);
}

/* GET /stack: the stack size of the worker thread serving it. */
static int stack_size(struct mg_connection *conn, void *cbdata)
{
	pthread_attr_t a;
	size_t sz = 0;

	(void)cbdata;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstacksize(&a, &sz);
		pthread_attr_destroy(&a);
	}
	return ns_http_send_json(conn, 200, json_pack("{s:I}", "stack", (json_int_t)sz), NULL);
}

/* GET /big: 10,000 bytes of text, past the response buffer on the stack. */
static int big(struct mg_connection *conn, void *cbdata)
{
	static char text[10000];

	(void)cbdata;
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + i % 26);
	return ns_http_send_text(conn, 200, "text/plain", text, sizeof(text));
}

static int problem(struct mg_connection *conn, void *cbdata)
{
	(void)cbdata;
	return ns_http_send_problem(conn, 422, "Unprocessable Content", "to is not a phone number",
				    "to");
}

static void setup(void)
{
	char err[256], listen[32];
	ns_http_opts o = {.threads = 4, .request_timeout_ms = 5000, .admin = 1, .ready = is_ready};

	ns_log_init("test_http", NS_LOG_WARN);
	atomic_store(&ready_flag, 1);
	port = nt_free_port();
	ck_assert_int_gt(port, 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	o.listen = listen;
	srv = ns_http_start(&o, err, sizeof(err));
	ck_assert_msg(srv != NULL, "start: %s", err);
	ck_assert_int_eq(ns_http_port(srv), port);
	ck_assert_int_eq(ns_http_route(srv, "/echo", echo, NULL), 0);
	ck_assert_int_eq(ns_http_route(srv, "/q", query, NULL), 0);
	ck_assert_int_eq(ns_http_route(srv, "/problem", problem, NULL), 0);
	ck_assert_int_eq(ns_http_route(srv, "/stack", stack_size, NULL), 0);
	ck_assert_int_eq(ns_http_route(srv, "/big", big, NULL), 0);
}

static void teardown(void)
{
	ns_http_stop(srv);
	srv = NULL;
	ns_metrics_reset();
}

typedef struct {
	char *data;
	size_t len;
} buf;

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	buf *b = arg;
	char *nd = realloc(b->data, b->len + sz * n + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, p, sz * n);
	b->data = nd;
	b->len += sz * n;
	b->data[b->len] = '\0';
	return sz * n;
}

typedef struct {
	const char *p;
	size_t left;
} src;

static size_t on_read(char *out, size_t sz, size_t n, void *arg)
{
	src *s = arg;
	size_t k = sz * n < s->left ? sz * n : s->left;
	memcpy(out, s->p, k);
	s->p += k;
	s->left -= k;
	return k;
}

/* One request; chunked sends the body with Transfer-Encoding: chunked. Fills *ctype
 * (malloc'd, may be NULL) and *resp (malloc'd). Returns the status. */
static long request(const char *method, const char *path, const char *ctype_in, const char *body,
		    size_t len, int chunked, char **resp, char **ctype)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], hdr[128];
	buf b = {NULL, 0};
	src s = {body, len};
	long status = -1;
	char *ct = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	h = curl_slist_append(h, "Expect:");
	if (ctype_in) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype_in);
		h = curl_slist_append(h, hdr);
	}
	if (body && chunked) {
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &s);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	}
	if (ctype)
		*ctype = ct ? strdup(ct) : NULL;
	*resp = b.data;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = s ? json_loads(s, 0, &e) : NULL;
	ck_assert_msg(j != NULL, "not JSON: %s", s ? s : "(null)");
	return j;
}

START_TEST(test_healthz_readyz)
{
	char *resp = NULL, *ct = NULL;
	json_t *j;

	ck_assert_int_eq(request("GET", "/healthz", NULL, NULL, 0, 0, &resp, &ct), 200);
	ck_assert_str_eq(ct, "application/json");
	j = parse(resp);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	json_decref(j);
	free(resp);
	free(ct);

	ck_assert_int_eq(request("GET", "/readyz", NULL, NULL, 0, 0, &resp, NULL), 200);
	free(resp);
	atomic_store(&ready_flag, 0);
	ck_assert_int_eq(request("GET", "/readyz", NULL, NULL, 0, 0, &resp, NULL), 503);
	j = parse(resp);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "not ready");
	json_decref(j);
	free(resp);
	/* Liveness does not depend on readiness. */
	ck_assert_int_eq(request("GET", "/healthz", NULL, NULL, 0, 0, &resp, NULL), 200);
	free(resp);
}
END_TEST

/* GET path: asserts the status and a problem body, returns the body parsed. */
static json_t *get_problem(const char *path, long status)
{
	char *resp = NULL, *ct = NULL;
	json_t *j;

	ck_assert_int_eq(request("GET", path, NULL, NULL, 0, 0, &resp, &ct), status);
	ck_assert_str_eq(ct, "application/problem+json");
	j = parse(resp);
	free(resp);
	free(ct);
	return j;
}

/* method path (a JSON body when given): asserts the status. */
static void expect_status(const char *method, const char *path, const char *body, long status)
{
	char *resp = NULL;

	ck_assert_int_eq(request(method, path, body ? "application/json" : NULL, body,
				 body ? strlen(body) : 0, 0, &resp, NULL),
			 status);
	free(resp);
}

/* A path no route serves: 503 "starting" until ns_http_serve, then a 404 problem; the
 * registered routes are served throughout. */
START_TEST(test_unrouted_before_and_after_serve)
{
	char err[256], listen[32];
	int admin_port = port;
	ns_http_opts o = {.listen = listen, .threads = 2}; /* an API server, not an admin one */
	ns_http *api;
	json_t *j;

	port = nt_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	api = ns_http_start(&o, err, sizeof(err));
	ck_assert_msg(api != NULL, "start: %s", err);
	ck_assert_int_eq(ns_http_route(api, "/echo", echo, NULL), 0);

	j = get_problem("/nowhere/x", 503);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "detail")), "starting"));
	json_decref(j);
	expect_status("GET", "/healthz", NULL, 200);
	expect_status("POST", "/echo", "{}", 200);

	ns_http_serve(api);
	j = get_problem("/nowhere/x", 404);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 404);
	json_decref(j);
	expect_status("GET", "/", NULL, 404);
	expect_status("POST", "/echo", "{}", 200);
	ns_http_stop(api);
	port = admin_port;
	/* an admin server serves from its start: its unknown paths are 404 at once */
	expect_status("GET", "/nowhere/x", NULL, 404);
}
END_TEST

START_TEST(test_echo)
{
	const char *body = "{\"hello\":\"w\\u00f6rld\"}";
	char *resp = NULL;
	json_t *j;

	ck_assert_int_eq(request("POST", "/echo", "application/json; charset=utf-8", body,
				 strlen(body), 0, &resp, NULL),
			 200);
	j = parse(resp);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "len")), (int)strlen(body));
	ck_assert_str_eq(json_string_value(json_object_get(j, "body")), body);
	json_decref(j);
	free(resp);
}
END_TEST

/* Bodies of every interesting size, with Content-Length and chunked. */
static const struct {
	size_t len;
	int chunked;
	long status;
} sizes[] = {
    {0, 0, 200},    {1, 0, 200},      {1023, 0, 200},	 {1024, 0, 200},
    {1025, 0, 413}, {100000, 0, 413}, {1, 1, 200},	 {1024, 1, 200},
    {1025, 1, 413}, {5000, 1, 413},   {3000000, 0, 413},
};

START_TEST(test_body_sizes)
{
	size_t len = sizes[_i].len;
	char *body = malloc(len + 3), *resp = NULL, *ct = NULL;
	long st;

	/* A JSON string literal of exactly len bytes ("xxx"), or a number when tiny. */
	if (len >= 2) {
		memset(body, 'x', len);
		body[0] = '"';
		body[len - 1] = '"';
	} else if (len == 1) {
		body[0] = '7';
	}
	body[len] = '\0';
	st = request("POST", "/echo", "application/json", body, len, sizes[_i].chunked, &resp, &ct);
	ck_assert_msg(st == sizes[_i].status, "len %zu chunked %d: status %ld", len,
		      sizes[_i].chunked, st);
	if (st == 200) {
		json_t *j = parse(resp);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "len")), (int)len);
		ck_assert_str_eq(json_string_value(json_object_get(j, "body")), body);
		json_decref(j);
	} else {
		json_t *j = parse(resp);
		ck_assert_str_eq(ct, "application/problem+json");
		ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 413);
		json_decref(j);
	}
	free(ct);
	free(resp);
	free(body);
}
END_TEST

START_TEST(test_media_type)
{
	static const struct {
		const char *ctype;
		long status;
	} cases[] = {
	    {"application/json", 200},	{"application/json;charset=UTF-8", 200},
	    {"APPLICATION/JSON", 200},	{"text/plain", 415},
	    {"application/jsonx", 415}, {"application/problem+json", 415},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *resp = NULL;
		long st = request("POST", "/echo", cases[i].ctype, "{}", 2, 0, &resp, NULL);
		ck_assert_msg(st == cases[i].status, "%s: %ld", cases[i].ctype, st);
		free(resp);
	}
}
END_TEST

START_TEST(test_problem_shape)
{
	char *resp = NULL, *ct = NULL;
	json_t *j;

	ck_assert_int_eq(request("GET", "/problem", NULL, NULL, 0, 0, &resp, &ct), 422);
	ck_assert_str_eq(ct, "application/problem+json");
	j = parse(resp);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "about:blank");
	ck_assert_str_eq(json_string_value(json_object_get(j, "title")), "Unprocessable Content");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 422);
	ck_assert_str_eq(json_string_value(json_object_get(j, "detail")),
			 "to is not a phone number");
	ck_assert_str_eq(json_string_value(json_object_get(j, "field")), "to");
	ck_assert_int_eq(json_object_size(j), 5);
	json_decref(j);
	free(resp);
	free(ct);

	/* Default title from the status; no field when none given. */
	ck_assert_int_eq(request("POST", "/echo", "text/plain", "x", 1, 0, &resp, NULL), 415);
	j = parse(resp);
	ck_assert_str_eq(json_string_value(json_object_get(j, "title")), "Unsupported Media Type");
	ck_assert_ptr_null(json_object_get(j, "field"));
	json_decref(j);
	free(resp);
}
END_TEST

static const struct {
	const char *path;
	const char *value; /* NULL: absent or too long, as `n` says */
	int n;
} queries[] = {
    {"/q?a=plain", "plain", 5},
    {"/q?b=1&a=x%20y%2Bz", "x y+z", 5},
    {"/q?a=a+b", "a b", 3},
    {"/q?a=", "", 0},
    {"/q?b=2", NULL, NS_HTTP_PARAM_ABSENT},
    {"/q", NULL, NS_HTTP_PARAM_ABSENT},
    {"/q?a=0123456789abcdefXYZ", NULL, NS_HTTP_PARAM_TOO_LONG}, /* over the 16-byte buffer */
    {"/q?a=0123456789abcde", "0123456789abcde", 15},		/* just fits */
};

START_TEST(test_query_param)
{
	char *resp = NULL;
	json_t *j;

	ck_assert_int_eq(request("GET", queries[_i].path, NULL, NULL, 0, 0, &resp, NULL), 200);
	j = parse(resp);
	if (queries[_i].value) {
		ck_assert_str_eq(json_string_value(json_object_get(j, "a")), queries[_i].value);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "n")),
				 (int)strlen(queries[_i].value));
	} else {
		ck_assert_int_eq(json_integer_value(json_object_get(j, "n")), queries[_i].n);
	}
	ck_assert_int_eq(json_integer_value(json_object_get(j, "n")), queries[_i].n);
	json_decref(j);
	free(resp);
}
END_TEST

static int metrics_show(void *arg)
{
	const char *const *want = arg;
	char *resp = NULL;
	int ok = request("GET", "/metrics", NULL, NULL, 0, 0, &resp, NULL) == 200 && resp;

	for (; ok && *want; want++)
		ok = strstr(resp, *want) != NULL;
	free(resp);
	return ok;
}

START_TEST(test_metrics_route)
{
	const char *want[] = {"# TYPE http_requests_total counter\n",
			      "http_requests_total{route=\"/counted\",code=\"2xx\"} 2\n",
			      "http_requests_total{route=\"/counted\",code=\"4xx\"} 1\n",
			      "http_requests_total{route=\"/counted\",code=\"5xx\"} 0\n",
			      "# TYPE http_request_duration_seconds histogram\n",
			      "http_request_duration_seconds_count{route=\"/counted\"} 3\n",
			      NULL};
	char *resp = NULL, *ct = NULL;

	ns_http_route(srv, "/counted", echo, NULL);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(
		    request("POST", "/counted", "application/json", "1", 1, 0, &resp, NULL), 200);
		free(resp);
	}
	ck_assert_int_eq(request("POST", "/counted", "text/plain", "1", 1, 0, &resp, NULL), 415);
	free(resp);
	ck_assert_int_eq(request("GET", "/metrics", NULL, NULL, 0, 0, &resp, &ct), 200);
	ck_assert_str_eq(ct, "text/plain; version=0.0.4; charset=utf-8");
	free(resp);
	free(ct);
	/* Counters are bumped after the reply is written: wait until they show. */
	ck_assert_msg(nt_eventually(metrics_show, want, 5000) == 0, "metrics never matched");
}
END_TEST

START_TEST(test_port_zero_and_taken)
{
	ns_http_opts o = {.listen = "127.0.0.1:0", .threads = 2};
	char err[256], listen[32];
	ns_http *h2;

	h2 = ns_http_start(&o, err, sizeof(err));
	ck_assert_msg(h2 != NULL, "port 0: %s", err);
	ck_assert_int_gt(ns_http_port(h2), 0);
	ck_assert_int_ne(ns_http_port(h2), port);
	ns_http_stop(h2);

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	o.listen = listen;
	err[0] = '\0';
	ck_assert_ptr_null(ns_http_start(&o, err, sizeof(err)));
	ck_assert_msg(strstr(err, listen) != NULL, "error names the address: %s", err);
	ns_http_stop(NULL);
}
END_TEST

/* Handlers run on workers with the stack the fuzz targets and parser tests assume
 * (nt_stack.h): were civetweb's workers smaller, those tests would prove too little. */
START_TEST(test_worker_stack)
{
	char *resp = NULL;
	json_t *j;

	ck_assert_int_eq(request("GET", "/stack", NULL, NULL, 0, 0, &resp, NULL), 200);
	j = parse(resp);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "stack")), NT_WORKER_STACK);
	json_decref(j);
	free(resp);
}
END_TEST

/* A server takes NS_HTTP_MAX_ROUTES routes (its four built-in ones included) and says so
 * when there is no room for another. */
START_TEST(test_route_limit)
{
	ns_http_opts o = {.listen = "127.0.0.1:0", .threads = 1, .admin = 1};
	char err[256], uri[32];
	ns_http *h2 = ns_http_start(&o, err, sizeof(err));
	int i;

	ck_assert_msg(h2 != NULL, "%s", err);
	for (i = 4; i < NS_HTTP_MAX_ROUTES; i++) { /* healthz, readyz, metrics, the rest */
		snprintf(uri, sizeof(uri), "/r%d", i);
		ck_assert_int_eq(ns_http_route(h2, uri, echo, NULL), 0);
	}
	ck_assert_int_eq(ns_http_route(h2, "/one-too-many", echo, NULL), -1);
	ck_assert_int_eq(ns_http_route(h2, NULL, echo, NULL), -1);
	ns_http_stop(h2);
}
END_TEST

/* A connected socket to the server. */
static int raw_connect(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Send req on fd and read one response: the head, then as many body bytes as its
 * Content-Length says (none for HEAD). Returns a malloc'd copy of the whole response;
 * *head_len is the length of the head with its blank line. */
static char *raw_exchange(int fd, const char *req, int is_head, size_t *head_len, size_t *total)
{
	size_t cap = 65536, n = 0, want = (size_t)-1;
	char *b = malloc(cap + 1), *end, *cl;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (n < want) {
		ssize_t r = read(fd, b + n, cap - n);
		ck_assert_msg(r > 0, "connection ended after %zu bytes", n);
		n += (size_t)r;
		b[n] = '\0';
		if (want == (size_t)-1 && (end = strstr(b, "\r\n\r\n"))) {
			*head_len = (size_t)(end + 4 - b);
			cl = strstr(b, "\r\nContent-Length: ");
			ck_assert_ptr_nonnull(cl);
			want = *head_len + (is_head ? 0 : strtoul(cl + 18, NULL, 10));
		}
	}
	ck_assert_uint_eq(n, want); /* nothing past the response */
	*total = n;
	return b;
}

/* The hand-built head: status line, the four headers in order, the extra headers, the
 * blank line; the length matches the body; a body past the stack buffer arrives whole; HEAD
 * gets the head alone; keep-alive and close as the request asked, the connection kept or
 * ended accordingly. */
START_TEST(test_response_head)
{
	static const char start[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				    "Content-Length: 10000\r\nDate: ";
	size_t hl, n;
	char *r, date[64];
	int fd = raw_connect();

	r = raw_exchange(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 0, &hl, &n);
	ck_assert_uint_eq(n - hl, 10000);
	ck_assert_msg(strncmp(r, start, strlen(start)) == 0, "%.*s", (int)hl, r);
	ck_assert_int_eq(sscanf(r + strlen(start), "%63[^\r]", date), 1);
	ck_assert_uint_eq(strlen(date), 29); /* "Wed, 02 Dec 2026 18:00:00 GMT" */
	ck_assert_ptr_nonnull(strstr(date, " GMT"));
	ck_assert_ptr_nonnull(strstr(r, "\r\nConnection: keep-alive\r\n\r\n"));
	for (size_t i = 0; i < 10000; i++)
		ck_assert_int_eq(r[hl + i], 'a' + (int)(i % 26));
	free(r);

	/* the same connection: HEAD, the length of the body that GET would send, no body */
	r = raw_exchange(fd, "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n", 1, &hl, &n);
	ck_assert_uint_eq(n, hl);
	ck_assert_ptr_nonnull(strstr(r, "\r\nContent-Length: 10000\r\n"));
	free(r);

	/* a problem with its extra header, then close as asked */
	r = raw_exchange(fd, "GET /problem HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0,
			 &hl, &n);
	ck_assert_msg(strncmp(r, "HTTP/1.1 422 ", 13) == 0, "%.*s", (int)hl, r);
	ck_assert_ptr_nonnull(strstr(r, "Content-Type: application/problem+json\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "\r\nConnection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(r + hl, "\"status\":422"));
	free(r);
	{
		char c;
		ck_assert_int_eq(read(fd, &c, 1), 0); /* the server ended it */
	}
	close(fd);

	/* HTTP/1.0 without keep-alive: close */
	fd = raw_connect();
	r = raw_exchange(fd, "GET /healthz HTTP/1.0\r\n\r\n", 0, &hl, &n);
	ck_assert_ptr_nonnull(strstr(r, "\r\nConnection: close\r\n"));
	free(r);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 30);
	/* One server for the whole case: civetweb 1.15's mg_stop takes up to 2 s after it
	 * served a request (civetweb issue #1163), so the tests share it without forking. */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_healthz_readyz);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_unrouted_before_and_after_serve);
	tcase_add_loop_test(tc, test_body_sizes, 0, (int)(sizeof(sizes) / sizeof(sizes[0])));
	tcase_add_test(tc, test_media_type);
	tcase_add_test(tc, test_problem_shape);
	tcase_add_loop_test(tc, test_query_param, 0, (int)(sizeof(queries) / sizeof(queries[0])));
	tcase_add_test(tc, test_metrics_route);
	tcase_add_test(tc, test_port_zero_and_taken);
	tcase_add_test(tc, test_route_limit);
	tcase_add_test(tc, test_worker_stack);
	tcase_add_test(tc, test_response_head);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
