/* test_ingest.c -- the ingest daemon against a real broker: accepted requests land on the
 * topic exactly as the 202 said, bad requests get the right problem, webhook retries keep
 * one event id, concurrent clients all get through, and SIGTERM exits cleanly. */
#include "../lib/nt.h"

#include "ns_event.h"
#include "ns_kafka.h"
#include "ns_time.h"

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char topic[256];
static char logfile[512];
static int port;
static pid_t pid = -1;

/* nt_tmpdir's folders live for the process: keep them reachable for leak checkers. */
static const char *kept[16];
static int nkept;

static const char *scratch(const char *tag)
{
	const char *dir = nt_tmpdir(tag);

	if (nkept < 16)
		kept[nkept++] = dir;
	return dir;
}

/* ---- HTTP with headers ---------------------------------------------------------------- */

typedef struct {
	long status;
	char *body;
	char headers[4096];
	size_t hlen, blen;
} reply;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	reply *r = ud;
	size_t n = size * nmemb;
	char *nb = realloc(r->body, r->blen + n + 1);

	if (!nb)
		return 0;
	memcpy(nb + r->blen, ptr, n);
	r->body = nb;
	r->blen += n;
	r->body[r->blen] = '\0';
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	reply *r = ud;
	size_t n = size * nmemb;

	if (r->hlen + n < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, ptr, n);
		r->hlen += n;
		r->headers[r->hlen] = '\0';
	}
	return n;
}

/* One request to the ingest under test; content_type NULL sends none. */
static void request(int p, const char *method, const char *path, const char *content_type,
		    const char *body, reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[512], ct[256], auth[256], sig[256];

	memset(r, 0, sizeof(*r));
	r->status = -1;
	ck_assert_ptr_nonnull(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", p, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (content_type) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		hdrs = curl_slist_append(hdrs, ct);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	/* as the suite's producer and the provider would: with the key, signed webhooks */
	if (nt_api_key()) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", nt_api_key());
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body && strcmp(path, "/webhooks") == 0 &&
	    nt_webhook_signature(body, sig, sizeof(sig)) == 0)
		hdrs = curl_slist_append(hdrs, sig);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
}

/* Non-zero when the reply carries header line "name: value..." (case-insensitive name). */
static int has_header(const reply *r, const char *name, const char *value_prefix)
{
	char want[256];

	snprintf(want, sizeof(want), "\n%s: %s", name, value_prefix);
	for (const char *h = r->headers; *h; h++) {
		if (!strncasecmp(h, want, strlen(name) + 3) &&
		    !strncmp(h + strlen(name) + 3, value_prefix, strlen(value_prefix)))
			return 1;
	}
	return 0;
}

static json_t *json_of(const reply *r)
{
	json_error_t e;
	json_t *j = r->body ? json_loads(r->body, 0, &e) : NULL;
	ck_assert_msg(j != NULL, "reply is not JSON: %s", r->body ? r->body : "(none)");
	return j;
}

/* ---- the daemon ------------------------------------------------------------------------ */

static pid_t start_ingest(int p, const char *t, const char *log)
{
	static char env_topic[300], env_listen[64], env_schemas[512];
	const char *env[] = {env_topic,		  env_listen,	       env_schemas,
			     "INGEST_THREADS=32", "KAFKA_LINGER_MS=1", NULL};
	pid_t child;

	snprintf(env_topic, sizeof(env_topic), "STATUS_TOPIC=%s", t);
	snprintf(env_listen, sizeof(env_listen), "INGEST_LISTEN=127.0.0.1:%d", p);
	snprintf(env_schemas, sizeof(env_schemas), "SCHEMAS_DIR=%s", nt_schemas_dir());
	child = nt_spawn("ingest", env, log);
	ck_assert_int_gt(child, 0);
	if (nt_wait_http(p, "/healthz", 30000)) {
		nt_dump_log(log);
		nt_stop(child, SIGKILL, 1000);
		ck_abort_msg("ingest did not come up on port %d", p);
	}
	return child;
}

static void setup(void)
{
	nt_topic_new("ingest", 3, topic, sizeof(topic));
	snprintf(logfile, sizeof(logfile), "%s/ingest.log", scratch("ingest"));
	port = nt_free_port();
	pid = start_ingest(port, topic, logfile);
}

static void teardown(void)
{
	if (pid > 0)
		nt_stop(pid, SIGTERM, 15000);
	pid = -1;
}

/* ---- consuming the topic ----------------------------------------------------------------- */

typedef struct {
	char key[NS_EXTID_MAX + 1];
	int found;
	ns_event ev;
	int32_t partition;
	int64_t offset;
} wanted;

/* Read the topic from the start with a fresh group until every wanted key was seen (first
 * occurrence kept) or timeout_ms passes. Returns how many were found. */
static int consume_until(wanted *w, int n, int timeout_ms)
{
	char group[128], err[256];
	ns_consumer *c;
	int found = 0;

	snprintf(group, sizeof(group), "test-ingest-%d-%d", (int)getpid(), rand());
	c = ns_consumer_new(group, topic, NULL, err, sizeof(err));
	ck_assert_msg(c != NULL, "consumer: %s", err);
	for (int64_t end = ns_time_mono_ms() + timeout_ms; found < n && ns_time_mono_ms() < end;) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 200);
		if (!m)
			continue;
		if (!m->err && m->key) {
			for (int i = 0; i < n; i++) {
				char ref[NS_REF_MAX + 1]; /* the Kafka key: tenant and externalId */
				snprintf(ref, sizeof(ref), "%s:%s", NT_TENANT, w[i].key);
				if (w[i].found || strlen(ref) != m->key_len ||
				    memcmp(ref, m->key, m->key_len))
					continue;
				ck_assert_msg(ns_event_decode(m->payload, m->len, &w[i].ev, err,
							      sizeof(err)) == 0,
					      "decode %.*s: %s", (int)m->len,
					      (const char *)m->payload, err);
				w[i].partition = m->partition;
				w[i].offset = m->offset;
				w[i].found = 1;
				found++;
				break;
			}
		}
		rd_kafka_message_destroy(m);
	}
	ns_consumer_close(c);
	return found;
}

/* ---- tests ------------------------------------------------------------------------------ */

START_TEST(test_help_version)
{
	const char *flags[] = {"--help", "--version"};

	for (int i = 0; i < 2; i++) {
		const char *args[] = {flags[i], NULL};
		char log[600];
		pid_t child;
		int status = 0;

		snprintf(log, sizeof(log), "%s/flags.log", scratch("ingest-flags"));
		child = nt_spawn_args("ingest", args, NULL, log);
		ck_assert_int_gt(child, 0);
		ck_assert_int_eq(waitpid(child, &status, 0), child);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %d",
			      flags[i], status);
	}
}
END_TEST

START_TEST(test_ready)
{
	reply r;

	request(port, "GET", "/readyz", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
}
END_TEST

START_TEST(test_notification_lands_on_topic)
{
	wanted w = {0};
	reply r;
	json_t *j;
	char body[512], pos[64];

	snprintf(w.key, sizeof(w.key), "it-notif-%d-%d", (int)getpid(), rand());
	snprintf(body, sizeof(body),
		 "{\"externalId\":\"%s\",\"channel\":\"sms\",\"to\":\"+4915112345678\","
		 "\"body\":\"hello \\u00e9\"}",
		 w.key);
	request(port, "POST", "/notifications", "application/json", body, &r);
	ck_assert_msg(r.status == 202, "status %ld: %s", r.status, r.body);
	ck_assert(has_header(&r, "Content-Type", "application/json"));
	ck_assert(has_header(&r, "Location", "/notifications/it-notif-"));
	j = json_of(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "externalId")), w.key);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "queued");
	ck_assert(json_is_integer(json_object_get(j, "partition")));
	ck_assert(json_is_integer(json_object_get(j, "offset")));
	snprintf(pos, sizeof(pos), "%lld:%lld",
		 (long long)json_integer_value(json_object_get(j, "partition")),
		 (long long)json_integer_value(json_object_get(j, "offset")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "position")), pos);

	ck_assert_int_eq(consume_until(&w, 1, 30000), 1);
	ck_assert_int_eq(w.ev.type, NS_EV_REQUESTED);
	ck_assert_int_eq(w.ev.source, NS_SRC_API);
	ck_assert_str_eq(w.ev.external_id, w.key);
	ck_assert_str_eq(w.ev.tenant, NT_TENANT); /* the tenant of the key that sent it */
	ck_assert_str_eq(w.ev.key_id, "k-test");
	ck_assert_str_eq(w.ev.channel, "sms");
	ck_assert_str_eq(w.ev.to, "+4915112345678");
	ck_assert_str_eq(w.ev.body, "hello \xc3\xa9");
	ck_assert_str_eq(w.ev.id, json_string_value(json_object_get(j, "eventId")));
	ck_assert_int_eq(w.partition, json_integer_value(json_object_get(j, "partition")));
	ck_assert_int_eq(w.offset, json_integer_value(json_object_get(j, "offset")));
	ck_assert_int_gt(w.ev.received_at, 0);
	ck_assert_int_eq(w.ev.occurred_at, w.ev.received_at);
	json_decref(j);
	free(r.body);
}
END_TEST

/* POST a webhook and return its eventId (malloc'd). */
static char *post_webhook(const char *xid, const char *event, const char *ts)
{
	char body[512], *id;
	reply r;
	json_t *j;

	snprintf(body, sizeof(body),
		 "{\"externalId\":\"%s:%s\",\"event\":\"%s\",\"timestamp\":\"%s\"}", NT_TENANT, xid,
		 event, ts);
	request(port, "POST", "/webhooks", "application/json", body, &r);
	ck_assert_msg(r.status == 202, "status %ld: %s", r.status, r.body);
	j = json_of(&r);
	ck_assert(json_is_integer(json_object_get(j, "partition")));
	ck_assert(json_is_integer(json_object_get(j, "offset")));
	id = strdup(json_string_value(json_object_get(j, "eventId")));
	json_decref(j);
	free(r.body);
	return id;
}

START_TEST(test_webhook_retry_same_id)
{
	char xid[64];
	char *a, *b, *c, *d;
	wanted w = {0};

	snprintf(xid, sizeof(xid), "it-hook-%d-%d", (int)getpid(), rand());
	a = post_webhook(xid, "delivered", "2025-03-01T12:00:00.000Z");
	b = post_webhook(xid, "delivered", "2025-03-01T12:00:00.000Z");
	c = post_webhook(xid, "delivered", "2025-03-01T12:00:00Z"); /* same instant */
	d = post_webhook(xid, "delivered", "2025-03-01T12:00:01.000Z");
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, c);
	ck_assert_str_ne(a, d);

	snprintf(w.key, sizeof(w.key), "%s", xid);
	ck_assert_int_eq(consume_until(&w, 1, 30000), 1);
	ck_assert_int_eq(w.ev.type, NS_EV_STATUS);
	ck_assert_int_eq(w.ev.source, NS_SRC_PROVIDER);
	ck_assert_str_eq(w.ev.status, "delivered");
	ck_assert_str_eq(w.ev.channel, "");
	ck_assert_str_eq(w.ev.id, a);
	free(a);
	free(b);
	free(c);
	free(d);
}
END_TEST

static char big_body[20001];

static const struct {
	const char *method, *path, *ctype, *body;
	int status;
	const char *field;  /* expected "field" member, NULL when none */
	const char *header; /* a header the reply must carry, or NULL */
} bad[] = {
    {"POST", "/notifications", "text/plain", "{}", 415, NULL, NULL},
    {"POST", "/webhooks", NULL, "{}", 415, NULL, NULL},
    {"POST", "/notifications", "application/json", big_body, 413, NULL, NULL},
    {"POST", "/notifications", "application/json", "{\"externalId\":", 400, NULL, NULL},
    {"POST", "/webhooks", "application/json", "not json", 400, NULL, NULL},
    {"POST", "/notifications", "application/json; charset=utf-8",
     "{\"externalId\":\"x\",\"channel\":\"pigeon\",\"to\":\"+4915112345678\",\"body\":\"b\"}", 422,
     "channel", NULL},
    {"POST", "/notifications", "application/json",
     "{\"externalId\":\"x\",\"channel\":\"sms\",\"to\":\"+4915112345678\",\"body\":\"b\","
     "\"priority\":\"high\"}",
     422, "priority", NULL},
    {"POST", "/notifications", "application/json",
     "{\"externalId\":\"x\",\"channel\":\"sms\",\"to\":\"0151\",\"body\":\"b\"}", 422, "to", NULL},
    {"POST", "/webhooks", "application/json",
     "{\"externalId\":\"test:x\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:00:00+0100\"}",
     422, "timestamp", NULL},
    {"GET", "/webhooks", NULL, NULL, 405, NULL, "Allow"},
    {"PUT", "/notifications", "application/json", "{}", 405, NULL, "Allow"},
    {"GET", "/nowhere", NULL, NULL, 404, NULL, NULL},
    {"POST", "/notifications/abc", "application/json", "{}", 404, NULL, NULL},
};

START_TEST(test_bad_requests)
{
	reply r;
	json_t *j;

	memset(big_body, ' ', sizeof(big_body) - 1);
	big_body[0] = '{';
	big_body[sizeof(big_body) - 2] = '}';
	request(port, bad[_i].method, bad[_i].path, bad[_i].ctype, bad[_i].body, &r);
	ck_assert_msg(r.status == bad[_i].status, "case %d: status %ld, want %d: %s", _i, r.status,
		      bad[_i].status, r.body);
	ck_assert_msg(has_header(&r, "Content-Type", "application/problem+json"),
		      "case %d: headers %s", _i, r.headers);
	if (bad[_i].header)
		ck_assert_msg(has_header(&r, bad[_i].header, ""), "case %d: no %s in %s", _i,
			      bad[_i].header, r.headers);
	j = json_of(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), bad[_i].status);
	ck_assert(json_is_string(json_object_get(j, "title")));
	ck_assert(json_is_string(json_object_get(j, "detail")));
	if (bad[_i].field)
		ck_assert_msg(
		    json_is_string(json_object_get(j, "field")) &&
			!strcmp(json_string_value(json_object_get(j, "field")), bad[_i].field),
		    "case %d: %s", _i, r.body);
	json_decref(j);
	free(r.body);
}
END_TEST

#define THREADS	   16
#define PER_THREAD 50

static int run_id;

static void *poster(void *arg)
{
	int t = (int)(long)arg, ok = 0;

	for (int i = 0; i < PER_THREAD; i++) {
		char body[256];
		reply r;

		snprintf(body, sizeof(body),
			 "{\"externalId\":\"conc-%d-%d-%d\",\"channel\":\"whatsapp\","
			 "\"to\":\"+4915112345678\",\"body\":\"n%d\"}",
			 run_id, t, i, i);
		request(port, "POST", "/notifications", "application/json", body, &r);
		ok += r.status == 202;
		free(r.body);
	}
	return (void *)(long)ok;
}

START_TEST(test_concurrency)
{
	pthread_t th[THREADS];
	static wanted w[THREADS * PER_THREAD];
	long total = 0;

	run_id = rand();
	for (long t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, poster, (void *)t), 0);
	for (int t = 0; t < THREADS; t++) {
		void *ok = NULL;
		pthread_join(th[t], &ok);
		total += (long)ok;
	}
	ck_assert_int_eq(total, THREADS * PER_THREAD);
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++)
			snprintf(w[t * PER_THREAD + i].key, sizeof(w[0].key), "conc-%d-%d-%d",
				 run_id, t, i);
	ck_assert_int_eq(consume_until(w, THREADS * PER_THREAD, 60000), THREADS * PER_THREAD);
}
END_TEST

START_TEST(test_sigterm_exits_zero)
{
	char log[600];
	int p2 = nt_free_port(), status;
	pid_t child;
	reply r;

	snprintf(log, sizeof(log), "%s/ingest-term.log", scratch("ingest-term"));
	child = start_ingest(p2, topic, log);
	request(p2, "POST", "/webhooks", "application/json",
		"{\"externalId\":\"test:term-1\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:"
		"00:00Z\"}",
		&r);
	ck_assert_int_eq(r.status, 202);
	free(r.body);
	status = nt_stop(child, SIGTERM, 20000);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		nt_dump_log(log);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
}
END_TEST

START_TEST(test_missing_topic_fails_start)
{
	char log[600], env_listen[64], env_schemas[512], line[1024];
	const char *env[] = {"STATUS_TOPIC=ingest.no.such.topic", env_listen, env_schemas,
			     "INGEST_START_TIMEOUT_MS=2000", NULL};
	int status = 0, named = 0;
	pid_t child;
	FILE *f;

	snprintf(log, sizeof(log), "%s/ingest-missing.log", scratch("ingest-missing"));
	snprintf(env_listen, sizeof(env_listen), "INGEST_LISTEN=127.0.0.1:%d", nt_free_port());
	snprintf(env_schemas, sizeof(env_schemas), "SCHEMAS_DIR=%s", nt_schemas_dir());
	child = nt_spawn("ingest", env, log);
	ck_assert_int_gt(child, 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %d", status);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		named |=
		    strstr(line, "ingest.topic_missing") && strstr(line, "ingest.no.such.topic");
	fclose(f);
	ck_assert_msg(named, "no log line names the missing topic");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("ingest");

	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_help_version);
	tcase_add_test(tc, test_ready);
	tcase_add_test(tc, test_notification_lands_on_topic);
	tcase_add_test(tc, test_webhook_retry_same_id);
	tcase_add_loop_test(tc, test_bad_requests, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_sigterm_exits_zero);
	tcase_add_test(tc, test_missing_topic_fails_start);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	srand((unsigned)getpid());
	curl_global_init(CURL_GLOBAL_ALL);
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
