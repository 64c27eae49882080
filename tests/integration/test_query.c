/* test_query.c -- the query daemon over a read model built by the real projector from a
 * topic of its own: lookups, history, 404 and 400 problems, list pagination covering every
 * item exactly once, the read-your-writes wait (answers once the position is applied, 503
 * on timeout), and 503 until the database exists. */
#include "nt.h"
#include "nt_events.h"
#include "nt_json.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PARTS 4
#define T0    1740830400000LL

static char topic[256], db_path[512], log_path[512], plog_path[512];
static int port;
static pid_t query_pid = -1, proj_pid = -1;

/* ---- building the read model: events produced to the topic, folded by the projector ---- */

static char *ev_requested(const char *id, const char *channel, int64_t t)
{
	char body[64];
	snprintf(body, sizeof(body), "hello %s", id);
	return nt_enc_requested(id, channel, body, t);
}

/* A body of the largest size, its escaped JSON six times as long: quotes, new lines and
 * control bytes between plain runs. */
static const char *long_body(void)
{
	static char b[NS_BODY_MAX + 1];

	for (size_t i = 0; i < NS_BODY_MAX; i++)
		b[i] = i % 4 == 0 ? '"' : i % 4 == 1 ? '\n' : i % 4 == 2 ? '\x01' : 'a' + i % 26;
	b[NS_BODY_MAX] = '\0';
	return b;
}

/* Produce one encoded event (ownership of value taken) keyed by key: every event of a
 * notification lands in one partition, in order. */
static void append(const char *key, char *value)
{
	nt_produce_raw(topic, key, value);
	free(value);
}

/* Wait until everything appended is acked and folded into the database. */
static void applied(void)
{
	nt_produce_flush();
	nt_wait_caught_up(db_path, topic, plog_path);
}

/* Append one event and wait until it is acked; *part receives its partition. Returns its
 * offset. Nothing else may be in flight. */
static int64_t append_at(const char *key, char *value, int32_t *part)
{
	int64_t before[NT_MAX_PARTS], after[NT_MAX_PARTS];

	nt_acked_hw(before);
	append(key, value);
	nt_produce_flush();
	nt_acked_hw(after);
	for (int32_t p = 0; p < NT_MAX_PARTS; p++) {
		if (after[p] != before[p]) {
			*part = p;
			return after[p] - 1;
		}
	}
	ck_abort_msg("no partition acked the event of %s", key);
	return -1;
}

static void start_projector(void)
{
	static char env[5][600];
	const char *e[6];

	snprintf(env[0], sizeof(env[0]), "PROJECTOR_DB=%s", db_path);
	snprintf(env[1], sizeof(env[1]), "STATUS_TOPIC=%s", topic);
	snprintf(env[2], sizeof(env[2]), "PROJECTOR_ADMIN_LISTEN=127.0.0.1:%d", nt_free_port());
	snprintf(env[3], sizeof(env[3]), "SCHEMAS_DIR=%s", nt_schemas_dir());
	snprintf(env[4], sizeof(env[4]), "PROJECTOR_GROUP=%s", topic);
	for (int i = 0; i < 5; i++)
		e[i] = env[i];
	e[5] = NULL;
	proj_pid = nt_spawn("projector", e, plog_path);
	ck_assert_int_gt(proj_pid, 0);
}

static void start_query(void)
{
	static char env[3][600];
	const char *e[4];

	port = nt_free_port();
	snprintf(env[0], sizeof(env[0]), "QUERY_DB=%s", db_path);
	snprintf(env[1], sizeof(env[1]), "STATUS_TOPIC=%s", topic);
	snprintf(env[2], sizeof(env[2]), "QUERY_LISTEN=127.0.0.1:%d", port);
	e[0] = env[0];
	e[1] = env[1];
	e[2] = env[2];
	e[3] = NULL;
	query_pid = nt_spawn("query", e, log_path);
	ck_assert_int_gt(query_pid, 0);
	if (nt_wait_http(port, "/healthz", 20000) != 0) {
		nt_dump_log(log_path);
		ck_abort_msg("query did not start");
	}
}

static void setup(void)
{
	const char *dir = nt_tmpdir("query");

	nt_topic_new("t.query", PARTS, topic, sizeof(topic));
	nt_produce_reset();
	snprintf(db_path, sizeof(db_path), "%s/nstatus.db", dir);
	snprintf(log_path, sizeof(log_path), "%s/query.log", dir);
	snprintf(plog_path, sizeof(plog_path), "%s/projector.log", dir);
}

static void teardown(void)
{
	if (query_pid > 0) {
		int st = nt_stop(query_pid, SIGTERM, 10000);
		query_pid = -1;
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "query exit status %d", st);
	}
	if (proj_pid > 0)
		nt_stop_ok(&proj_pid, 20000, "projector", plog_path);
	nt_produce_close();
}

/* GET path; returns the status, *json the parsed body (NULL when not JSON). */
static long get(const char *path, json_t **json)
{
	return nt_http_json("GET", port, path, NULL, NULL, json);
}

/* ---- tests ---- */

START_TEST(test_lookups)
{
	json_t *j = NULL, *j2 = NULL, *evs;

	start_projector();
	append("n1", ev_requested("n1", "sms", T0));
	append("n1", nt_enc_status("n1", "sent", T0 + 20));
	append("n1", nt_enc_status("n1", "processing", T0 + 10)); /* stale */
	append("n2", ev_requested("n2", "whatsapp", T0));
	append("n3", nt_enc_requested("n3", "whatsapp", long_body(), T0));
	applied();
	start_query();

	ck_assert_int_eq(get("/readyz", NULL), 200);
	/* a state too long for the stack buffer it is written in first */
	ck_assert_int_eq(get("/notifications/n3", &j), 200);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(nt_jstr(j, "externalId"), "n3");
	ck_assert_str_eq(nt_jstr(j, "body"), long_body());
	json_decref(j);

	ck_assert_int_eq(get("/notifications/n1", &j), 200);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(nt_jstr(j, "externalId"), "n1");
	ck_assert_str_eq(nt_jstr(j, "channel"), "sms");
	ck_assert_str_eq(nt_jstr(j, "status"), "sent");
	ck_assert_str_eq(nt_jstr(j, "to"), "+4915112345678");
	ck_assert_str_eq(nt_jstr(j, "body"), "hello n1");
	ck_assert_str_eq(nt_jstr(j, "createdAt"), "2025-03-01T12:00:00.000Z");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "events")), 3);
	ck_assert(json_is_null(json_object_get(j, "providerId")));

	ck_assert_int_eq(get("/notifications?externalId=n1", &j2), 200);
	ck_assert(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);

	ck_assert_int_eq(get("/notifications/n1/events", &j), 200);
	ck_assert_str_eq(nt_jstr(j, "externalId"), "n1");
	evs = json_object_get(j, "events");
	ck_assert_int_eq(json_array_size(evs), 3);
	ck_assert_str_eq(nt_jstr(json_array_get(evs, 0), "type"), "requested");
	ck_assert_str_eq(nt_jstr(json_array_get(evs, 0), "outcome"), "applied");
	ck_assert_str_eq(nt_jstr(json_array_get(evs, 1), "status"), "sent");
	ck_assert_str_eq(nt_jstr(json_array_get(evs, 2), "outcome"), "stale");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(evs, 2), "offset")), 2);
	ck_assert_int_eq(strlen(nt_jstr(json_array_get(evs, 0), "eventId")), 32);
	json_decref(j);

	ck_assert_int_eq(get("/notifications/nope", &j), 404);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 404);
	json_decref(j);
	ck_assert_int_eq(get("/notifications/nope/events", NULL), 404);
	ck_assert_int_eq(get("/notifications?externalId=nope", NULL), 404);
	ck_assert_int_eq(get("/notifications/n1/other", NULL), 404);
}
END_TEST

/* Bad parameters: 400 problems naming the parameter. */
START_TEST(test_bad_parameters)
{
	static const struct {
		const char *path;
		const char *param;
	} cases[] = {
	    {"/notifications?limit=0", "limit"},
	    {"/notifications?limit=501", "limit"},
	    {"/notifications?limit=ten", "limit"},
	    {"/notifications?cursor=zz", "cursor"},
	    {"/notifications?cursor=616", "cursor"},
	    {"/notifications?channel=SMS!", "channel"},
	    {"/notifications?status=", "status"},
	    {"/notifications?externalId=", "externalId"},
	    {"/notifications/n1?minPosition=abc", "minPosition"},
	    {"/notifications/n1?minPosition=0:-1", "minPosition"},
	    {"/notifications/n1?minPosition=0:1&waitMs=99999", "waitMs"},
	};
	char url[256];

	start_projector();
	append("n1", ev_requested("n1", "sms", T0));
	applied();
	start_query();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = NULL;
		long code = get(cases[i].path, &j);
		ck_assert_msg(code == 400, "%s: %ld", cases[i].path, code);
		ck_assert_msg(j && strstr(nt_jstr(j, "detail"), cases[i].param), "%s: detail %s",
			      cases[i].path, j ? nt_jstr(j, "detail") : "(none)");
		json_decref(j);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/notifications/n1", port);
	ck_assert_int_eq(nt_http("POST", url, NULL, "{}", NULL), 405);
}
END_TEST

START_TEST(test_list_pagination)
{
	enum { N = 123 };
	char id[32], path[512], cursor[300] = "";
	int seen[N] = {0}, total = 0, delivered = 0, pages = 0;

	start_projector();
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "item-%03d", (i * 37) % N);
		append(id, ev_requested(id, i % 2 ? "sms" : "whatsapp", T0 + i));
		if (i % 3 == 0) {
			append(id, nt_enc_status(id, "delivered", T0 + 1000));
			delivered++;
		}
	}
	applied();
	start_query();
	for (;;) {
		json_t *j = NULL, *items, *next;
		snprintf(path, sizeof(path), "/notifications?limit=10%s%s",
			 cursor[0] ? "&cursor=" : "", cursor);
		ck_assert_int_eq(get(path, &j), 200);
		items = json_object_get(j, "items");
		ck_assert_int_le(json_array_size(items), 10);
		for (size_t k = 0; k < json_array_size(items); k++) {
			int n = -1;
			ck_assert_int_eq(
			    sscanf(nt_jstr(json_array_get(items, k), "externalId"), "item-%d", &n),
			    1);
			ck_assert(n >= 0 && n < N);
			seen[n]++;
			total++;
		}
		pages++;
		next = json_object_get(j, "nextCursor");
		if (json_is_null(next)) {
			json_decref(j);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(j);
		ck_assert_int_lt(pages, 100);
	}
	ck_assert_int_eq(total, N);
	ck_assert_int_eq(pages, 13);
	for (int i = 0; i < N; i++)
		ck_assert_msg(seen[i] == 1, "item-%03d seen %d times", i, seen[i]);

	/* filters */
	{
		json_t *j = NULL;
		ck_assert_int_eq(get("/notifications?status=delivered&limit=500", &j), 200);
		ck_assert_int_eq(json_array_size(json_object_get(j, "items")), delivered);
		ck_assert(json_is_null(json_object_get(j, "nextCursor")));
		json_decref(j);
		ck_assert_int_eq(get("/notifications?channel=sms&status=queued&limit=500", &j),
				 200);
		for (size_t k = 0; k < json_array_size(json_object_get(j, "items")); k++) {
			json_t *it = json_array_get(json_object_get(j, "items"), k);
			ck_assert_str_eq(nt_jstr(it, "channel"), "sms");
			ck_assert_str_eq(nt_jstr(it, "status"), "queued");
		}
		ck_assert_int_gt(json_array_size(json_object_get(j, "items")), 0);
		json_decref(j);
	}
}
END_TEST

typedef struct {
	const char *path;
	long code;
	char status[64];
} bg_get;

static void *bg_run(void *arg)
{
	bg_get *g = arg;
	json_t *j = NULL;
	g->code = get(g->path, &j);
	snprintf(g->status, sizeof(g->status), "%s", j ? nt_jstr(j, "status") : "");
	json_decref(j);
	return NULL;
}

START_TEST(test_min_position)
{
	char path[256];
	int64_t off;
	int32_t part = 0;
	pthread_t th;
	bg_get g = {0};
	json_t *j = NULL;

	start_projector();
	off = append_at("n1", ev_requested("n1", "sms", T0), &part);
	applied();
	start_query();

	/* already applied: answers at once */
	snprintf(path, sizeof(path), "/notifications/n1?minPosition=%d:%lld", (int)part,
		 (long long)off);
	ck_assert_int_eq(get(path, &j), 200);
	ck_assert_str_eq(nt_jstr(j, "status"), "queued");
	json_decref(j);

	/* not yet applied: the answer waits for it and shows it */
	snprintf(path, sizeof(path), "/notifications/n1?minPosition=%d:%lld&waitMs=10000",
		 (int)part, (long long)off + 1);
	g.path = path;
	ck_assert_int_eq(pthread_create(&th, NULL, bg_run, &g), 0);
	usleep(300 * 1000);
	append("n1", nt_enc_status("n1", "delivered", T0 + 50));
	pthread_join(th, NULL);
	ck_assert_int_eq(g.code, 200);
	ck_assert_str_eq(g.status, "delivered");

	/* a position that never comes: 503 once waitMs passed */
	snprintf(path, sizeof(path), "/notifications/n1?minPosition=%d:999999&waitMs=100",
		 (int)part);
	ck_assert_int_eq(get(path, &j), 503);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 503);
	json_decref(j);
	/* a partition the projector never stored */
	snprintf(path, sizeof(path), "/notifications/n1?minPosition=%d:0&waitMs=50",
		 (int)((part + 1) % PARTS));
	ck_assert_int_eq(get(path, NULL), 503);
}
END_TEST

START_TEST(test_database_appears_later)
{
	start_query();
	ck_assert_int_eq(get("/healthz", NULL), 200);
	ck_assert_int_eq(get("/readyz", NULL), 503);
	ck_assert_int_eq(get("/notifications/n1", NULL), 503);
	ck_assert_int_eq(get("/notifications", NULL), 503);

	start_projector();
	append("n1", ev_requested("n1", "sms", T0));
	applied();
	ck_assert_int_eq(nt_wait_http(port, "/readyz", 10000), 0);
	ck_assert_int_eq(get("/notifications/n1", NULL), 200);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("query");
	TCase *tc = tcase_create("query");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lookups);
	tcase_add_test(tc, test_bad_parameters);
	tcase_add_test(tc, test_list_pagination);
	tcase_add_test(tc, test_min_position);
	tcase_add_test(tc, test_database_appears_later);
	suite_add_tcase(su, tc);
	return nt_run_suite(su);
}
