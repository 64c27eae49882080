/* test_hostile.c -- what an anonymous client can send, against the real daemons and
 * broker: every case answers the documented status and leaves every daemon alive.
 *
 * Crashes: JSON nested far deeper than any request needs, on both ingest routes (also in
 * a field's position) and at the simulator; bodies of more members than the reader
 * keeps, and a key written twice. Stalls: read-your-writes waits beyond their
 * share of query's pool are refused at once while the pool keeps serving; connections
 * that trickle their headers are dropped after the read timeout while the admin listener
 * answers throughout. Confusion: RFC 3339 offsets, timestamps from the far future, ids
 * that no route could reach, ids the simulator must not decode twice, conflicting framing
 * headers, a body far over the limit that the client sends whole before reading. History:
 * a long history comes in pages. Orphans: statuses for an id never requested are kept
 * out of lists and counted. No timing is asserted; waits are bounded. */
#include "nt.h"
#include "nt_raw.h"
#include "nt_system.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static nt_system sys;

static void setup(void)
{
	nt_system_init(&sys, "hostile", 3);
	nt_system_setenv(&sys, NT_INGEST, "INGEST_REQUEST_TIMEOUT_MS=2000");
	nt_system_setenv(&sys, NT_QUERY, "QUERY_THREADS=8");
	nt_system_setenv(&sys, NT_QUERY, "QUERY_WAITERS_MAX=2");
	nt_system_setenv(&sys, NT_QUERY, "QUERY_REQUEST_TIMEOUT_MS=2000");
	nt_system_setenv(&sys, NT_SIM, "SIM_REJECT_PERCENT=0");
	nt_system_up(&sys,
		     NT_BIT(NT_INGEST) | NT_BIT(NT_QUERY) | NT_BIT(NT_PROJECTOR) | NT_BIT(NT_SIM));
}

static void teardown(void)
{
	nt_system_down(&sys);
}

static void assert_alive(void)
{
	for (int d = 0; d < NT_DAEMONS; d++) {
		if (sys.pid[d] == 0)
			continue;
		if (!nt_system_alive(&sys, (nt_daemon)d)) {
			nt_dump_log(nt_system_log(&sys, (nt_daemon)d));
			ck_abort_msg("%s died", nt_system_name((nt_daemon)d));
		}
		ck_assert_msg(nt_http("GET", nt_fmt("%s/healthz", nt_system_url(&sys, d, 1)), NULL,
				      NULL, NULL) == 200,
			      "%s /healthz", nt_system_name((nt_daemon)d));
	}
}

static long post(nt_daemon d, const char *path, const char *body, char **resp)
{
	return nt_http("POST", nt_fmt("%s%s", nt_system_url(&sys, d, 0), path), NULL, body, resp);
}

static long get(const char *path, json_t **out)
{
	char *resp = NULL;
	long st = nt_http("GET", nt_fmt("%s%s", nt_system_url(&sys, NT_QUERY, 0), path), NULL, NULL,
			  &resp);

	if (out)
		*out = resp ? json_loads(resp, 0, NULL) : NULL;
	free(resp);
	return st;
}

/* "[[[[...]]]]" of depth n, or with a prefix and suffix around it. */
static char *nested(int n, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + 2 * (size_t)n + sl + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, prefix, pl);
	memset(s + pl, '[', (size_t)n);
	memset(s + pl + n, ']', (size_t)n);
	memcpy(s + pl + 2 * (size_t)n, suffix, sl + 1);
	return s;
}

START_TEST(test_deep_json)
{
	static const int depths[] = {800, 5000, 60000};
	char *resp = NULL;

	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		const char *routes[] = {"/notifications", "/webhooks"};
		for (int r = 0; r < 2; r++) {
			char *body = nested(depths[i], "", "");
			char *field = nested(depths[i], "{\"externalId\":", "}");
			ck_assert_int_eq(post(NT_INGEST, routes[r], body, &resp),
					 depths[i] > 8000 ? 413 : 400);
			free(resp);
			ck_assert_int_eq(post(NT_INGEST, routes[r], field, &resp),
					 depths[i] > 8000 ? 413 : 400);
			if (depths[i] < 8000)
				ck_assert_msg(resp && strstr(resp, "nested deeper"), "%s", resp);
			free(resp);
			free(body);
			free(field);
		}
		{
			char *body = nested(depths[i], "{\"channel\":", "}");
			long st = post(NT_SIM, "/messages", body, &resp);
			ck_assert_msg(st == 400 || st == 413, "simulator: %ld", st);
			free(resp);
			free(body);
		}
	}
	assert_alive();
	/* and a real request still goes through */
	ck_assert_int_eq(post(NT_INGEST, "/notifications",
			      "{\"externalId\":\"deep-ok\",\"channel\":\"sms\",\"to\":"
			      "\"+4915112345678\",\"body\":\"hi\"}",
			      &resp),
			 202);
	free(resp);
}
END_TEST

/* A body inside the size limit with n members "m0".."m<n-1>": at the top when prefix is
 * NULL, else in an object after it ("{<prefix>{"m0":0,...}}"). */
static char *wide(int n, const char *prefix)
{
	size_t cap = 64 + (size_t)n * 24, len = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	len +=
	    (size_t)snprintf(s + len, cap - len, "{%s%s", prefix ? prefix : "", prefix ? "{" : "");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s\"m%d\":0", i ? "," : "", i);
	snprintf(s + len, cap - len, prefix ? "}}" : "}");
	return s;
}

/* Bodies of more members than the reader keeps (at the top and inside an object, within
 * the depth a request may have) and of a key written twice (once escaped), on both routes:
 * a 400 problem that says which, and every daemon alive. */
START_TEST(test_wide_json)
{
	const char *routes[] = {"/notifications", "/webhooks"};
	char *resp = NULL;

	for (int r = 0; r < 2; r++) {
		char *inner = wide(600, "\"x\":");
		char *members = wide(100, NULL);

		ck_assert_int_eq(post(NT_INGEST, routes[r], inner, &resp), 400);
		ck_assert_msg(resp && strstr(resp, "more than 64 members"), "%s", resp);
		free(resp);
		ck_assert_int_eq(post(NT_INGEST, routes[r], members, &resp), 400);
		ck_assert_msg(resp && strstr(resp, "more than 64 members"), "%s", resp);
		free(resp);
		ck_assert_int_eq(post(NT_INGEST, routes[r],
				      "{\"externalId\":\"a\",\"extern\\u0061lId\":\"b\"}", &resp),
				 400);
		ck_assert_msg(resp && strstr(resp, "duplicate object key"), "%s", resp);
		free(resp);
		free(inner);
		free(members);
	}
	assert_alive();
	ck_assert_int_eq(post(NT_INGEST, "/notifications",
			      "{\"externalId\":\"wide-ok\",\"channel\":\"sms\",\"to\":"
			      "\"+4915112345678\",\"body\":\"hi\"}",
			      &resp),
			 202);
	free(resp);
}
END_TEST

/* ---- read-your-writes waits ---------------------------------------------------------- */

typedef struct {
	long status;
	atomic_int *done;
} waiter;

static void *wait_far_ahead(void *arg)
{
	waiter *w = arg;

	w->status = get("/notifications/nobody?minPosition=0:999999999&waitMs=10000", NULL);
	atomic_fetch_add(w->done, 1);
	return NULL;
}

static int n_done(void *arg)
{
	return atomic_load((atomic_int *)arg) >= 4;
}

START_TEST(test_waits_capped)
{
	pthread_t t[6];
	waiter w[6];
	atomic_int done = 0;

	for (int i = 0; i < 6; i++) {
		w[i] = (waiter){0, &done};
		ck_assert_int_eq(pthread_create(&t[i], NULL, wait_far_ahead, &w[i]), 0);
	}
	/* four of the six are beyond the cap of 2: refused at once, while two still wait */
	ck_assert_int_eq(nt_eventually(n_done, &done, 9000), 0);
	ck_assert_int_eq(atomic_load(&done), 4);
	/* the pool still serves: a plain request and the probes answer before the waits end */
	ck_assert_int_eq(get("/notifications/nobody", NULL), 404);
	ck_assert_int_eq(
	    nt_http("GET", nt_fmt("%s/readyz", nt_system_url(&sys, NT_QUERY, 1)), NULL, NULL, NULL),
	    200);
	ck_assert_int_eq(atomic_load(&done), 4);
	/* the two that waited give up at their waitMs: 503 as well */
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].status, 503);
	}
	assert_alive();
}
END_TEST

/* ---- slow clients -------------------------------------------------------------------- */

/* Non-zero when the server closes fd within 10 s (an error response before the close is
 * read and dropped). */
static int closed_by_server(int fd)
{
	char buf[4096];

	for (int i = 0; i < 100;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return 1;
		if (n > 0)
			continue;
		usleep(100 * 1000);
		i++;
	}
	return 0;
}

static void slowloris(nt_daemon d, int n)
{
	int *fds = calloc((size_t)n, sizeof(int));

	ck_assert_ptr_nonnull(fds);
	for (int i = 0; i < n; i++) {
		fds[i] = nt_raw_open_partial(sys.port[d], "GET /healthz HTTP/1.1\r\nHost: x", 30);
		ck_assert_msg(fds[i] >= 0, "%s: connection %d", nt_system_name(d), i);
	}
	/* every API worker is held, and the admin listener answers anyway */
	ck_assert_int_eq(
	    nt_http("GET", nt_fmt("%s/readyz", nt_system_url(&sys, d, 1)), NULL, NULL, NULL), 200);
	/* the read timeout drops each trickling connection */
	for (int i = 0; i < n; i++) {
		ck_assert_msg(closed_by_server(fds[i]), "%s kept slow connection %d",
			      nt_system_name(d), i);
		close(fds[i]);
	}
	free(fds);
	ck_assert_int_eq(
	    nt_http("GET", nt_fmt("%s/healthz", nt_system_url(&sys, d, 0)), NULL, NULL, NULL), 200);
}

START_TEST(test_slow_headers)
{
	slowloris(NT_INGEST, 70); /* more than INGEST_THREADS=64 */
	slowloris(NT_QUERY, 10);  /* more than QUERY_THREADS=8 */
	assert_alive();
}
END_TEST

/* A body that trickles in, a byte at a time, is cut off one request timeout after it began
 * (2 s here), whatever each read's own timeout: a worker is not held for longer. */
START_TEST(test_slow_body)
{
	char head[512], buf[2048];
	int fd, closed = 0, status = 0;
	ssize_t n;

	snprintf(head, sizeof(head),
		 "POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		 "Authorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n{",
		 nt_api_key() ? nt_api_key() : "");
	fd = nt_raw_open_partial(sys.port[NT_INGEST], head, strlen(head));
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 40 && !closed; i++) { /* up to 20 s of a byte every 500 ms */
		usleep(500 * 1000);
		if (send(fd, " ", 1, MSG_NOSIGNAL) != 1) {
			closed = 1;
			break;
		}
		while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
			buf[n] = '\0';
			if (!status && !strncmp(buf, "HTTP/1.", 7))
				status = (int)strtol(buf + 9, NULL, 10);
		}
		if (n == 0)
			closed = 1;
	}
	close(fd);
	ck_assert_msg(closed, "ingest kept reading a trickling body for 20 s");
	ck_assert_int_eq(status, 408);
	assert_alive();
}
END_TEST

/* ---- framing and size ---------------------------------------------------------------- */

static const char *const framing[] = {
    "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
    "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
};

START_TEST(test_framing)
{
	nt_raw_reply r;

	ck_assert_int_eq(
	    nt_raw_request(sys.port[NT_INGEST], framing[_i], strlen(framing[_i]), 5000, &r), 0);
	ck_assert_msg(r.status == 400, "case %d: status %d head %s", _i, r.status, r.head);
	ck_assert_msg(r.closed, "case %d: connection left open", _i);
	assert_alive();
}
END_TEST

/* Paths no route serves, on the two public daemons: a JSON 404 problem, and the connection
 * closed as the request asked (HTTP/1.0 without keep-alive, or Connection: close), with a
 * Connection header that says so. */
static const struct {
	nt_daemon d;
	const char *req;
} odd_paths[] = {
    {NT_INGEST, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
    {NT_INGEST, "POST /webhooksX HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"},
    {NT_QUERY, "GET /notificationsX HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
    {NT_QUERY, "GET /a/b/c/../../d HTTP/1.0\r\n\r\n"},
};

START_TEST(test_odd_paths)
{
	nt_raw_reply r;
	char v[128];

	ck_assert_int_eq(nt_raw_request(sys.port[odd_paths[_i].d], odd_paths[_i].req,
					strlen(odd_paths[_i].req), 5000, &r),
			 0);
	ck_assert_msg(r.status == 404, "case %d: status %d head %s", _i, r.status, r.head);
	ck_assert_int_eq(nt_raw_header(&r, "Content-Type", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "application/problem+json");
	ck_assert_int_eq(nt_raw_header(&r, "Connection", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "close");
	ck_assert_msg(r.closed, "case %d: connection left open", _i);
	ck_assert_ptr_nonnull(strstr(r.body, "\"status\":404"));
	assert_alive();
}
END_TEST

START_TEST(test_body_far_too_large)
{
	size_t n = 2u << 20;
	char *req = malloc(n + 512);
	int h;
	nt_raw_reply r;

	ck_assert_ptr_nonnull(req);
	h = snprintf(req, 512,
		     "POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		     "Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n",
		     nt_api_key() ? nt_api_key() : "", n);
	memset(req + h, ' ', n);
	/* the whole body goes out before the reply is read, as Python's urllib does */
	ck_assert_int_eq(nt_raw_request(sys.port[NT_INGEST], req, (size_t)h + n, 20000, &r), 0);
	ck_assert_msg(!r.write_failed, "the server closed while the body was sent");
	ck_assert_int_eq(r.status, 413);
	ck_assert_msg(strstr(r.head, "application/problem+json"), "%s", r.head);
	free(req);
	assert_alive();
}
END_TEST

/* ---- ids and times ------------------------------------------------------------------- */

START_TEST(test_unreachable_ids_refused)
{
	static const char *const ids[] = {"a/b", "a%2Fb", "a\\\\b", "a b", "a+b",
					  ".",	 "..",	  "a?b",    "a#b"};
	char body[256], *resp = NULL;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"externalId\":\"%s\",\"channel\":\"sms\",\"to\":\"+4915112345678\","
			 "\"body\":\"b\"}",
			 ids[i]);
		ck_assert_int_eq(post(NT_INGEST, "/notifications", body, &resp), 422);
		ck_assert_msg(resp && strstr(resp, "\"field\":\"externalId\"") &&
				  strstr(resp, "A-Z a-z 0-9"),
			      "%s: %s", ids[i], resp);
		free(resp);
	}
}
END_TEST

/* The simulator answers exists() for the id it was sent, decoded once. */
START_TEST(test_simulator_decodes_once)
{
	static const struct {
		const char *id, *path;
	} ids[] = {{"a%41", "a%2541"}, {"c/d", "c%2Fd"}, {"e\\\\f", "e%5Cf"}};
	char body[256], *resp = NULL;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"externalId\":\"%s\",\"channel\":\"sms\",\"to\":\"+4915112345678\","
			 "\"body\":\"b\"}",
			 ids[i].id);
		ck_assert_int_eq(post(NT_SIM, "/messages", body, &resp), 201);
		free(resp);
		ck_assert_int_eq(
		    nt_http("GET",
			    nt_fmt("%s/messages/%s", nt_system_url(&sys, NT_SIM, 0), ids[i].path),
			    NULL, NULL, NULL),
		    200);
	}
	/* "%41" decoded twice would be "A": that message was never sent */
	ck_assert_int_eq(nt_http("GET", nt_fmt("%s/messages/aA", nt_system_url(&sys, NT_SIM, 0)),
				 NULL, NULL, NULL),
			 404);
}
END_TEST

static int visible(void *arg)
{
	return get(nt_fmt("/notifications/%s", (const char *)arg), NULL) == 200;
}

static char *webhook(const char *id, const char *event, const char *ts)
{
	return nt_fmt("{\"externalId\":\"%s:%s\",\"event\":\"%s\",\"timestamp\":\"%s\"}", NT_TENANT,
		      id, event, ts);
}

START_TEST(test_times)
{
	char id[64], *resp = NULL;
	json_t *j, *e;

	snprintf(id, sizeof(id), "times-%d", (int)getpid());
	/* an RFC 3339 offset is accepted and normalised to UTC */
	ck_assert_int_eq(
	    post(NT_INGEST, "/webhooks", webhook(id, "sent", "2025-03-01T13:00:00+01:00"), &resp),
	    202);
	free(resp);
	/* the far future is refused, naming the field */
	ck_assert_int_eq(
	    post(NT_INGEST, "/webhooks", webhook(id, "delivered", "2999-01-01T00:00:00Z"), &resp),
	    422);
	ck_assert_msg(resp && strstr(resp, "\"field\":\"timestamp\"") && strstr(resp, "future"),
		      "%s", resp);
	free(resp);
	ck_assert_int_eq(nt_eventually(visible, id, 20000), 0);
	ck_assert_int_eq(get(nt_fmt("/notifications/%s/events", id), &j), 200);
	e = json_array_get(json_object_get(j, "events"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "occurredAt")),
			 "2025-03-01T12:00:00.000Z");
	json_decref(j);
	/* a duplicate status dated 1970 changes nothing, updatedAt included */
	ck_assert_int_eq(
	    post(NT_INGEST, "/webhooks", webhook(id, "sent", "1970-01-01T00:00:00Z"), &resp), 202);
	free(resp);
	for (int tries = 0; tries < 200; tries++) {
		ck_assert_int_eq(get(nt_fmt("/notifications/%s", id), &j), 200);
		if (json_integer_value(json_object_get(j, "events")) == 2)
			break;
		json_decref(j);
		j = NULL;
		usleep(50 * 1000);
	}
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "updatedAt")),
			 "2025-03-01T12:00:00.000Z");
	ck_assert_str_eq(json_string_value(json_object_get(j, "createdAt")),
			 "2025-03-01T12:00:00.000Z");
	json_decref(j);
}
END_TEST

/* ---- orphans and long histories ------------------------------------------------------ */

static int orphan_counted(void *arg)
{
	char *resp = NULL;
	int ok;

	(void)arg;
	ok = nt_http("GET", nt_fmt("%s/metrics", nt_system_url(&sys, NT_PROJECTOR, 1)), NULL, NULL,
		     &resp) == 200 &&
	     resp && strstr(resp, "projector_orphans_total{change=\"created\"} ") &&
	     !strstr(resp, "projector_orphans_total{change=\"created\"} 0\n");
	free(resp);
	return ok;
}

START_TEST(test_orphans)
{
	char id[64], *resp = NULL;
	json_t *j, *items;
	int found = 0;

	snprintf(id, sizeof(id), "orphan-%d", (int)getpid());
	ck_assert_int_eq(post(NT_INGEST, "/webhooks",
			      webhook(id, "delivered", "2025-03-01T12:00:00.000Z"), &resp),
			 202);
	free(resp);
	ck_assert_int_eq(nt_eventually(visible, id, 20000), 0);
	ck_assert_int_eq(get(nt_fmt("/notifications/%s", id), &j), 200);
	ck_assert(json_is_true(json_object_get(j, "orphan")));
	json_decref(j);
	/* out of lists unless asked for */
	ck_assert_int_eq(get("/notifications?status=delivered&limit=500", &j), 200);
	items = json_object_get(j, "items");
	for (size_t i = 0; i < json_array_size(items); i++)
		ck_assert_str_ne(
		    json_string_value(json_object_get(json_array_get(items, i), "externalId")), id);
	json_decref(j);
	ck_assert_int_eq(get("/notifications?status=delivered&orphans=true&limit=500", &j), 200);
	items = json_object_get(j, "items");
	for (size_t i = 0; i < json_array_size(items); i++)
		found |= !strcmp(
		    json_string_value(json_object_get(json_array_get(items, i), "externalId")), id);
	json_decref(j);
	ck_assert_msg(found, "orphans=true lists the orphan");
	ck_assert_int_eq(get("/notifications?orphans=maybe", NULL), 400);
	ck_assert_int_eq(nt_eventually(orphan_counted, NULL, 10000), 0);
}
END_TEST

static int history_of(void *arg)
{
	json_t *j = NULL;
	int ok = get(nt_fmt("/notifications/%s", (const char *)arg), &j) == 200 &&
		 json_integer_value(json_object_get(j, "events")) == 250;
	json_decref(j);
	return ok;
}

START_TEST(test_history_paged)
{
	char id[64], ts[64], *resp = NULL, cursor[512] = "";
	int total = 0, pages = 0;
	long long last = -1;

	snprintf(id, sizeof(id), "flood-%d", (int)getpid());
	for (int i = 0; i < 250; i++) {
		char body[256];
		snprintf(ts, sizeof(ts), "2025-03-01T12:%02d:%02d.000Z", i / 60, i % 60);
		snprintf(body, sizeof(body),
			 "{\"externalId\":\"%s:%s\",\"event\":\"sent\",\"timestamp\":\"%s\"}",
			 NT_TENANT, id, ts);
		ck_assert_int_eq(post(NT_INGEST, "/webhooks", body, &resp), 202);
		free(resp);
	}
	ck_assert_int_eq(nt_eventually(history_of, id, 30000), 0);
	do {
		json_t *j, *evs, *next;
		ck_assert_int_eq(get(nt_fmt("/notifications/%s/events?limit=100%s%s", id,
					    cursor[0] ? "&cursor=" : "", cursor),
				     &j),
				 200);
		evs = json_object_get(j, "events");
		ck_assert_int_le(json_array_size(evs), 100);
		for (size_t i = 0; i < json_array_size(evs); i++) {
			long long off =
			    json_integer_value(json_object_get(json_array_get(evs, i), "offset"));
			ck_assert_int_gt(off, last); /* log order, no repeat across pages */
			last = off;
		}
		total += (int)json_array_size(evs);
		pages++;
		next = json_object_get(j, "nextCursor");
		snprintf(cursor, sizeof(cursor), "%s",
			 json_is_string(next) ? json_string_value(next) : "");
		json_decref(j);
	} while (cursor[0]);
	ck_assert_int_eq(total, 250);
	ck_assert_int_eq(pages, 3);
	/* the default page is bounded too, and a bad limit is refused */
	ck_assert_int_eq(get(nt_fmt("/notifications/%s/events?limit=1001", id), NULL), 400);
	ck_assert_int_eq(get(nt_fmt("/notifications/%s/events?cursor=zz", id), NULL), 400);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile");

	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_deep_json);
	tcase_add_test(tc, test_wide_json);
	tcase_add_test(tc, test_waits_capped);
	tcase_add_test(tc, test_slow_headers);
	tcase_add_test(tc, test_slow_body);
	tcase_add_loop_test(tc, test_framing, 0, (int)(sizeof(framing) / sizeof(framing[0])));
	tcase_add_loop_test(tc, test_odd_paths, 0, (int)(sizeof(odd_paths) / sizeof(odd_paths[0])));
	tcase_add_test(tc, test_body_far_too_large);
	tcase_add_test(tc, test_unreachable_ids_refused);
	tcase_add_test(tc, test_simulator_decodes_once);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_orphans);
	tcase_add_test(tc, test_history_paged);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
