/* test_system.c -- end-to-end: the real broker, every daemon and the provider simulator.
 *
 * Each test starts a whole system of its own (unique topic, ports and database), drives
 * notifications through ingest, lets the simulator play status paths back as webhooks,
 * and checks through the query API that every notification ends in exactly the final
 * status the simulator played, with the simulator's own counts proving no duplicate send.
 * Faults: the sender killed with SIGKILL mid-run, a provider outage, ingest down while
 * webhooks are due. Waiting uses nt_eventually (bounded); nothing asserts timing. */
#include "nt.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_IDS 4000

typedef struct {
	char topic[200];
	char db[512];
	char logdir[512];
	int ingest_port, query_port, projector_port, sender_port, sim_port;
	pid_t ingest, query, projector, sender, sim;
	char ids[MAX_IDS][48];
	int nids;
	const char *extra_sim_env[8];
} sys_t;

static char *logfile(sys_t *s, const char *name)
{
	return nt_fmt("%s/%s.log", s->logdir, name);
}

static pid_t start_ingest(sys_t *s)
{
	const char *env[] = {nt_fmt("STATUS_TOPIC=%s", s->topic),
			     nt_fmt("INGEST_LISTEN=127.0.0.1:%d", s->ingest_port),
			     nt_fmt("SCHEMAS_DIR=%s", nt_schemas_dir()), "INGEST_THREADS=64", NULL};
	pid_t pid = nt_spawn("ingest", env, logfile(s, "ingest"));
	ck_assert_msg(nt_wait_http(s->ingest_port, "/readyz", 30000) == 0, "ingest not ready");
	return pid;
}

static pid_t start_sender(sys_t *s)
{
	const char *env[] = {nt_fmt("STATUS_TOPIC=%s", s->topic),
			     nt_fmt("SENDER_ADMIN_LISTEN=127.0.0.1:%d", s->sender_port),
			     nt_fmt("PROVIDER_URL=http://127.0.0.1:%d", s->sim_port),
			     nt_fmt("SENDER_GROUP=sender-%s", s->topic),
			     "SENDER_RETRY_BASE_MS=50",
			     NULL};
	pid_t pid = nt_spawn("sender", env, logfile(s, "sender"));
	ck_assert_msg(nt_wait_http(s->sender_port, "/healthz", 30000) == 0, "sender not up");
	return pid;
}

static void sys_start(sys_t *s)
{
	const char *dir = nt_tmpdir("e2e");

	memset(s, 0, sizeof(*s));
	nt_topic_new("e2e", 6, s->topic, sizeof(s->topic));
	snprintf(s->db, sizeof(s->db), "%s/nstatus.db", dir);
	snprintf(s->logdir, sizeof(s->logdir), "%s", dir);
	s->ingest_port = nt_free_port();
	s->query_port = nt_free_port();
	s->projector_port = nt_free_port();
	s->sender_port = nt_free_port();
	s->sim_port = nt_free_port();
	ck_assert(s->ingest_port > 0 && s->query_port > 0 && s->sim_port > 0);
}

/* Start every daemon; sim_env adds simulator settings (NULL-terminated, may be NULL). */
static void sys_up(sys_t *s, const char *const *sim_env)
{
	const char *penv[] = {nt_fmt("STATUS_TOPIC=%s", s->topic),
			      nt_fmt("PROJECTOR_DB=%s", s->db),
			      nt_fmt("PROJECTOR_ADMIN_LISTEN=127.0.0.1:%d", s->projector_port),
			      nt_fmt("PROJECTOR_GROUP=projector-%s", s->topic),
			      nt_fmt("SCHEMAS_DIR=%s", nt_schemas_dir()),
			      NULL};
	const char *qenv[] = {nt_fmt("STATUS_TOPIC=%s", s->topic), nt_fmt("QUERY_DB=%s", s->db),
			      nt_fmt("QUERY_LISTEN=127.0.0.1:%d", s->query_port), NULL};
	const char *senv[16];
	int n = 0;

	senv[n++] = nt_fmt("SIM_LISTEN=127.0.0.1:%d", s->sim_port);
	senv[n++] = nt_fmt("SIM_WEBHOOK_URL=http://127.0.0.1:%d/webhooks", s->ingest_port);
	senv[n++] = "SIM_DELAY_MIN_MS=10";
	senv[n++] = "SIM_DELAY_MAX_MS=300";
	senv[n++] = "SIM_RETRY_BASE_MS=200";
	for (const char *const *e = sim_env; e && *e && n < 15; e++)
		senv[n++] = *e;
	senv[n] = NULL;

	s->projector = nt_spawn("projector", penv, logfile(s, "projector"));
	ck_assert_msg(nt_wait_http(s->projector_port, "/healthz", 30000) == 0, "projector");
	s->query = nt_spawn("query", qenv, logfile(s, "query"));
	ck_assert_msg(nt_wait_http(s->query_port, "/healthz", 30000) == 0, "query");
	s->sim = nt_spawn("simulator", senv, logfile(s, "simulator"));
	ck_assert_msg(nt_wait_http(s->sim_port, "/healthz", 30000) == 0, "simulator");
	s->ingest = start_ingest(s);
	s->sender = start_sender(s);
}

static void sys_down(sys_t *s)
{
	pid_t *all[] = {&s->ingest, &s->sender, &s->sim, &s->query, &s->projector};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (*all[i] > 0) {
			int st = nt_stop(*all[i], SIGTERM, 20000);
			ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
				      "daemon %zu did not exit cleanly on SIGTERM (status %d)", i,
				      st);
			*all[i] = 0;
		}
	}
}

/* ---- posting ---------------------------------------------------------------------- */

typedef struct {
	sys_t *s;
	int from, to;
	int failures;
} post_job;

static void *post_range(void *arg)
{
	post_job *j = arg;
	char url[128], body[512];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/notifications", j->s->ingest_port);
	for (int i = j->from; i < j->to; i++) {
		const char *ch = i % 2 ? "whatsapp" : "sms";
		long code = 0;
		snprintf(body, sizeof(body),
			 "{\"channel\":\"%s\",\"to\":\"+49151%08d\",\"body\":\"message %d\","
			 "\"externalId\":\"%s\"}",
			 ch, i, i, j->s->ids[i]);
		/* A 503 means "not logged, try again": the contract a caller follows. */
		code = nt_post_retrying(url, body);
		if (code != 202)
			j->failures++;
	}
	return NULL;
}

enum { POST_THREADS = 8 };

typedef struct {
	pthread_t th[POST_THREADS];
	post_job jobs[POST_THREADS];
} post_batch;

/* Start posting n notifications from POST_THREADS threads; post_wait collects them. */
static void post_start(sys_t *s, post_batch *b, int n, const char *tag)
{
	ck_assert(n <= MAX_IDS);
	for (int i = 0; i < n; i++)
		snprintf(s->ids[i], sizeof(s->ids[i]), "%s-%d-%d", tag, (int)getpid(), i);
	s->nids = n;
	for (int t = 0; t < POST_THREADS; t++) {
		b->jobs[t] = (post_job){s, n * t / POST_THREADS, n * (t + 1) / POST_THREADS, 0};
		ck_assert(pthread_create(&b->th[t], NULL, post_range, &b->jobs[t]) == 0);
	}
}

static void post_wait(post_batch *b)
{
	int failures = 0;
	for (int t = 0; t < POST_THREADS; t++) {
		pthread_join(b->th[t], NULL);
		failures += b->jobs[t].failures;
	}
	ck_assert_msg(failures == 0, "%d POST /notifications did not get 202", failures);
}

static void post_all(sys_t *s, int n, const char *tag)
{
	post_batch b;
	post_start(s, &b, n, tag);
	post_wait(&b);
}

/* ---- checking --------------------------------------------------------------------- */

/* The simulator's report: externalId -> {sends, path}. Caller decrefs. */
static json_t *sim_report(sys_t *s)
{
	char url[128], *resp = NULL;
	json_t *j;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/report", s->sim_port);
	if (nt_http("GET", url, NULL, NULL, &resp) != 200) {
		free(resp);
		return NULL;
	}
	j = json_loads(resp, 0, NULL);
	free(resp);
	return j;
}

/* An integer field of the simulator's report (webhookFailures, outageHits, messages). */
static long report_int(sys_t *s, const char *key)
{
	json_t *r = sim_report(s);
	long v = r ? (long)json_integer_value(json_object_get(r, key)) : -1;
	json_decref(r);
	return v;
}

/* Every notification's status from the query API's list endpoint: externalId -> status. */
static json_t *query_statuses(sys_t *s)
{
	json_t *out = json_object();
	char cursor[512] = "";

	for (int page = 0; page < 1000; page++) {
		char url[768], *resp = NULL;
		json_t *j, *items, *next;
		size_t i;
		json_t *it;

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/notifications?limit=500%s%s",
			 s->query_port, cursor[0] ? "&cursor=" : "", cursor);
		if (nt_http("GET", url, NULL, NULL, &resp) != 200) {
			free(resp);
			break;
		}
		j = json_loads(resp, 0, NULL);
		free(resp);
		if (!j)
			break;
		items = json_object_get(j, "items");
		json_array_foreach(items, i, it)
		{
			json_object_set(out, json_string_value(json_object_get(it, "externalId")),
					json_object_get(it, "status"));
		}
		next = json_object_get(j, "nextCursor");
		if (!json_is_string(next) || !json_string_length(next)) {
			json_decref(j);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(j);
	}
	return out;
}

/* The simulator's item of the suite tenant's id (the provider knows "<tenant>:<id>"). */
static json_t *report_item(json_t *report, const char *id)
{
	char ref[256];

	snprintf(ref, sizeof(ref), "%s:%s", NT_TENANT, id);
	return json_object_get(json_object_get(report, "items"), ref);
}

/* Last status of the path the simulator played for id, or NULL while it has none. */
static const char *expected_final(json_t *report, const char *id)
{
	json_t *item = report_item(report, id);
	json_t *path = json_object_get(item, "path");
	size_t n = json_array_size(path);
	return n ? json_string_value(json_array_get(path, n - 1)) : NULL;
}

typedef struct {
	sys_t *s;
	int mismatched;
	char example[256];
} settle_state;

/* True when every posted id has a played path and the query API shows its last status. */
static int all_settled(void *arg)
{
	settle_state *st = arg;
	json_t *report = sim_report(st->s), *statuses = query_statuses(st->s);
	int bad = 0;

	for (int i = 0; report && i < st->s->nids; i++) {
		const char *want = expected_final(report, st->s->ids[i]);
		const char *got = json_string_value(json_object_get(statuses, st->s->ids[i]));
		if (!want || !got || strcmp(want, got) != 0) {
			if (!bad)
				snprintf(st->example, sizeof(st->example), "%s: want %s got %s",
					 st->s->ids[i], want ? want : "(no path)",
					 got ? got : "(absent)");
			bad++;
		}
	}
	st->mismatched = report ? bad : st->s->nids;
	json_decref(report);
	json_decref(statuses);
	return report && bad == 0;
}

static void assert_settled(sys_t *s, int timeout_ms)
{
	settle_state st = {s, 0, ""};
	int rc = nt_eventually(all_settled, &st, timeout_ms);
	if (rc != 0) {
		nt_dump_log(logfile(s, "sender"));
		nt_dump_log(logfile(s, "projector"));
	}
	ck_assert_msg(rc == 0, "%d of %d notifications not in their played final status (%s)",
		      st.mismatched, s->nids, st.example);
}

/* Every posted id was sent to the provider exactly once. */
static void assert_sent_once(sys_t *s)
{
	json_t *report = sim_report(s);
	int dup = 0, missing = 0;

	ck_assert_msg(report != NULL, "no simulator report");
	for (int i = 0; i < s->nids; i++) {
		json_t *item = report_item(report, s->ids[i]);
		json_int_t sends = json_integer_value(json_object_get(item, "sends"));
		if (sends > 1)
			dup++;
		if (sends < 1)
			missing++;
	}
	json_decref(report);
	ck_assert_msg(dup == 0, "%d notifications were sent more than once", dup);
	ck_assert_msg(missing == 0, "%d notifications were never sent", missing);
}

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(thousands_end_in_played_status)
{
	sys_t *s = calloc(1, sizeof(*s));
	const char *sim_env[] = {"SIM_REJECT_PERCENT=5", "SIM_DUPLICATE_PERCENT=20",
				 "SIM_REORDER_PERCENT=20", NULL};

	sys_start(s);
	sys_up(s, sim_env);
	post_all(s, 3000, "many");
	assert_settled(s, 240000);
	assert_sent_once(s);
	sys_down(s);
	free(s);
}
END_TEST

START_TEST(sender_sigkill_sends_once)
{
	sys_t *s = calloc(1, sizeof(*s));
	/* A slow provider keeps sends in flight, so every kill lands mid-send. */
	const char *sim_env[] = {"SIM_SEND_DELAY_MS=150", NULL};
	post_batch b;
	int mid_run = 0;

	sys_start(s);
	sys_up(s, sim_env);
	post_start(s, &b, 1500, "kill");
	for (int k = 0; k < 5; k++) {
		long sent;
		usleep(500 * 1000);
		nt_stop(s->sender, SIGKILL, 1000);
		sent = report_int(s, "messages");
		if (sent > 0 && sent < s->nids)
			mid_run++;
		s->sender = start_sender(s);
	}
	post_wait(&b);
	ck_assert_msg(mid_run > 0, "no SIGKILL landed while sends were under way");
	assert_settled(s, 240000);
	assert_sent_once(s);
	sys_down(s);
	free(s);
}
END_TEST

START_TEST(provider_outage_ridden_out)
{
	sys_t *s = calloc(1, sizeof(*s));
	char url[128];

	sys_start(s);
	sys_up(s, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/outage", s->sim_port);
	ck_assert_int_eq(nt_http("POST", url, NULL, "{\"mode\":\"5xx\",\"ms\":3000}", NULL), 200);
	post_all(s, 300, "outage");
	assert_settled(s, 180000);
	assert_sent_once(s);
	ck_assert_msg(report_int(s, "outageHits") > 0, "the outage answered no send");
	sys_down(s);
	free(s);
}
END_TEST

START_TEST(ingest_down_loses_no_webhook)
{
	sys_t *s = calloc(1, sizeof(*s));
	const char *sim_env[] = {"SIM_DELAY_MIN_MS=500", "SIM_DELAY_MAX_MS=1500", NULL};

	sys_start(s);
	sys_up(s, sim_env);
	post_all(s, 300, "ingestdown");
	/* Webhooks are due within the next seconds: take ingest away while they fire. */
	usleep(300 * 1000);
	ck_assert_int_eq(WEXITSTATUS(nt_stop(s->ingest, SIGTERM, 20000)), 0);
	s->ingest = 0;
	sleep(4);
	ck_assert_msg(report_int(s, "webhookFailures") > 0,
		      "no webhook failed while ingest was down");
	s->ingest = start_ingest(s);
	assert_settled(s, 180000);
	assert_sent_once(s);
	sys_down(s);
	free(s);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("e2e");
	TCase *tc = tcase_create("system");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, thousands_end_in_played_status);
	tcase_add_test(tc, sender_sigkill_sends_once);
	tcase_add_test(tc, provider_outage_ridden_out);
	tcase_add_test(tc, ingest_down_loses_no_webhook);
	suite_add_tcase(suite, tc);
	return nt_run_suite(suite);
}
