/* test_sender.c -- the sender against the real broker and the provider simulator.
 *
 * Each test gets its own topic, group, simulator and sender. It produces N requested
 * events, reads the topic until every externalId has an outcome, and checks with the
 * simulator's /report that every message was sent exactly once: in a plain run, across a
 * SIGKILL and restart of the sender, and through a 2 s provider outage (5xx). Webhooks go
 * to a dead port: this suite is about sending, not statuses. */
#include "nt.h"
#include "ns_event.h"
#include "ns_kafka.h"

#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define N 200

typedef struct {
	char topic[200];
	char prefix[64];
	char sim_url[64];
	int sim_port, sender_port;
	char sim_log[512], sender_log[512];
	pid_t sim, sender;
	ns_consumer *c;
	int outcomes[N]; /* outcome events seen per externalId */
	int dispatched[N];
	int distinct;
} fixture;

static void start_sim(fixture *f)
{
	char listen[64], hook[64];
	const char *env[] = {listen,
			     hook,
			     "SIM_SEED=1",
			     "SIM_DELAY_MIN_MS=10",
			     "SIM_DELAY_MAX_MS=50",
			     "SIM_RETRY_WINDOW_MS=1000",
			     NULL};

	snprintf(listen, sizeof(listen), "SIM_LISTEN=127.0.0.1:%d", f->sim_port);
	snprintf(hook, sizeof(hook), "SIM_WEBHOOK_URL=http://127.0.0.1:%d/webhooks",
		 nt_free_port());
	f->sim = nt_spawn("simulator", env, f->sim_log);
	ck_assert_int_gt(f->sim, 0);
	if (nt_wait_http(f->sim_port, "/healthz", 10000) != 0) {
		nt_dump_log(f->sim_log);
		ck_abort_msg("simulator did not start");
	}
}

static pid_t spawn_sender(fixture *f, const char *extra, int port, const char *log)
{
	char url[96], topic[256], group[256], listen[64];
	const char *env[] = {url,
			     topic,
			     group,
			     listen,
			     "SENDER_COMMIT_INTERVAL_MS=200",
			     "SENDER_RETRY_BASE_MS=100",
			     "SENDER_RETRY_CAP_MS=1000",
			     "SENDER_PROVIDER_TIMEOUT_MS=2000",
			     "KAFKA_SESSION_TIMEOUT_MS=6000",
			     extra,
			     NULL};

	snprintf(url, sizeof(url), "PROVIDER_URL=%s", f->sim_url);
	snprintf(topic, sizeof(topic), "STATUS_TOPIC=%s", f->topic);
	snprintf(group, sizeof(group), "SENDER_GROUP=sender.%s", f->topic);
	snprintf(listen, sizeof(listen), "SENDER_ADMIN_LISTEN=127.0.0.1:%d", port);
	pid_t pid = nt_spawn("sender", env, log);
	ck_assert_int_gt(pid, 0);
	if (nt_wait_http(port, "/healthz", 15000) != 0) {
		nt_dump_log(log);
		ck_abort_msg("sender did not start");
	}
	return pid;
}

static void start_sender(fixture *f, const char *extra)
{
	f->sender = spawn_sender(f, extra, f->sender_port, f->sender_log);
}

/* Messages the simulator has seen so far. */
static long sim_messages(fixture *f)
{
	char url[128];
	char *body = NULL;
	json_t *r;
	long n;

	snprintf(url, sizeof(url), "%s/report", f->sim_url);
	ck_assert_int_eq(nt_http("GET", url, NULL, NULL, &body), 200);
	r = json_loads(body, 0, NULL);
	ck_assert_ptr_nonnull(r);
	n = (long)json_integer_value(json_object_get(r, "messages"));
	json_decref(r);
	free(body);
	return n;
}

static void setup(fixture *f, const char *tag)
{
	char err[256], group[256];
	const char *dir = nt_tmpdir(tag);

	memset(f, 0, sizeof(*f));
	nt_topic_new("sender", 6, f->topic, sizeof(f->topic));
	snprintf(f->prefix, sizeof(f->prefix), "%s-%d-%d", tag, (int)getpid(), rand() % 100000);
	f->sim_port = nt_free_port();
	f->sender_port = nt_free_port();
	snprintf(f->sim_url, sizeof(f->sim_url), "http://127.0.0.1:%d", f->sim_port);
	snprintf(f->sim_log, sizeof(f->sim_log), "%s/simulator.log", dir);
	snprintf(f->sender_log, sizeof(f->sender_log), "%s/sender.log", dir);
	start_sim(f);
	snprintf(group, sizeof(group), "reader.%s", f->topic);
	f->c = ns_consumer_new(group, f->topic, NULL, err, sizeof(err));
	ck_assert_msg(f->c != NULL, "consumer: %s", err);
}

static void teardown(fixture *f)
{
	if (f->sender > 0)
		nt_stop(f->sender, SIGTERM, 15000);
	if (f->sim > 0)
		nt_stop(f->sim, SIGTERM, 5000);
	ns_consumer_close(f->c);
}

static void produce_requests(fixture *f)
{
	char err[256];
	ns_producer *p = ns_producer_new("test-sender", err, sizeof(err));
	int i;

	ck_assert_msg(p != NULL, "producer: %s", err);
	for (i = 0; i < N; i++) {
		ns_event ev;
		ns_delivery d;
		size_t len = 0;
		char *buf;

		memset(&ev, 0, sizeof(ev));
		ev.type = NS_EV_REQUESTED;
		ev.source = NS_SRC_API;
		snprintf(ev.tenant, sizeof(ev.tenant), "%s", NT_TENANT);
		snprintf(ev.external_id, sizeof(ev.external_id), "%s-%d", f->prefix, i);
		snprintf(ev.channel, sizeof(ev.channel), "%s", i % 2 ? "whatsapp" : "sms");
		snprintf(ev.to, sizeof(ev.to), "+49151%08u", (unsigned)i % 100000000u);
		snprintf(ev.body, sizeof(ev.body), "hello %d", i);
		ev.occurred_at = ev.received_at = 1740830400000LL + i;
		ns_event_make_id(&ev);
		buf = ns_event_encode(&ev, &len);
		ck_assert_ptr_nonnull(buf);
		{
			char key[NS_REF_MAX + 1]; /* the notification's reference */
			int klen = ns_event_ref(ev.tenant, ev.external_id, key, sizeof(key));
			ck_assert_int_gt(klen, 0);
			ck_assert_int_eq(
			    ns_producer_send(p, f->topic, key, (size_t)klen, buf, len, 10000, &d),
			    0);
		}
		free(buf);
	}
	ns_producer_destroy(p, 5000);
}

/* Read outcome events until `want` externalIds have one, or timeout_ms. */
static void collect(fixture *f, int want, int timeout_ms)
{
	int waited = 0;

	while (f->distinct < want && waited < timeout_ms) {
		rd_kafka_message_t *m = ns_consumer_poll(f->c, 100);
		ns_event ev;
		char err[256];
		size_t plen = strlen(f->prefix);

		if (!m) {
			waited += 100;
			continue;
		}
		if (!m->err && ns_event_decode(m->payload, m->len, &ev, err, sizeof(err)) == 0 &&
		    (ev.type == NS_EV_DISPATCHED || ev.type == NS_EV_FAILED) &&
		    strncmp(ev.external_id, f->prefix, plen) == 0 && ev.external_id[plen] == '-') {
			char *end = NULL;
			long i = strtol(ev.external_id + plen + 1, &end, 10);
			if (end && *end == '\0' && i >= 0 && i < N) {
				if (f->outcomes[i]++ == 0)
					f->distinct++;
				if (ev.type == NS_EV_DISPATCHED) {
					ck_assert_str_eq(ev.status, "processing");
					ck_assert_str_ne(ev.provider_id, "");
					f->dispatched[i]++;
				}
			}
		}
		rd_kafka_message_destroy(m);
	}
}

/* The simulator's report: every message of this run sent exactly once. */
static void check_report(fixture *f)
{
	char url[128], id[160];
	char *body = NULL;
	json_t *r, *items;
	int i;

	snprintf(url, sizeof(url), "%s/report", f->sim_url);
	ck_assert_int_eq(nt_http("GET", url, NULL, NULL, &body), 200);
	r = json_loads(body, 0, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "duplicateSends")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "messages")), N);
	items = json_object_get(r, "items");
	for (i = 0; i < N; i++) {
		json_t *it;
		/* the provider knows a notification by its reference, tenant and externalId */
		snprintf(id, sizeof(id), "%s:%s-%d", NT_TENANT, f->prefix, i);
		it = json_object_get(items, id);
		ck_assert_msg(it != NULL, "%s never reached the provider", id);
		ck_assert_msg(json_integer_value(json_object_get(it, "sends")) == 1,
			      "%s sent %lld times", id,
			      (long long)json_integer_value(json_object_get(it, "sends")));
	}
	json_decref(r);
	free(body);
}

static void collect_all(fixture *f, int timeout_ms)
{
	int i;

	collect(f, N, timeout_ms);
	if (f->distinct < N) {
		nt_dump_log(f->sender_log);
		ck_abort_msg("only %d of %d externalIds got an outcome", f->distinct, N);
	}
	for (i = 0; i < N; i++)
		ck_assert_msg(f->dispatched[i] >= 1, "%s-%d: failed instead of dispatched",
			      f->prefix, i);
}

START_TEST(test_each_sent_once)
{
	fixture f;
	int i;

	setup(&f, "sender-once");
	start_sender(&f, "SENDER_MAX_INFLIGHT=64");
	produce_requests(&f);
	collect_all(&f, 60000);
	/* a clean run has no reason to repeat an outcome: give strays a moment to show */
	collect(&f, N + 1, 1000);
	for (i = 0; i < N; i++)
		ck_assert_msg(f.outcomes[i] == 1, "%s-%d: %d outcomes", f.prefix, i, f.outcomes[i]);
	check_report(&f);
	teardown(&f);
}
END_TEST

START_TEST(test_kill_and_restart)
{
	fixture f;

	setup(&f, "sender-kill");
	/* a rate limit stretches the run so that the kill lands in the middle of it */
	start_sender(&f, "SENDER_RATE=20");
	produce_requests(&f);
	collect(&f, N / 4, 60000);
	ck_assert_int_ge(f.distinct, N / 4);
	nt_stop(f.sender, SIGKILL, 5000);
	f.sender = -1;
	/* the kill landed mid-run: part of the messages never reached the provider */
	ck_assert_int_lt(sim_messages(&f), N);
	start_sender(&f, "SENDER_RATE=200");
	collect_all(&f, 90000);
	check_report(&f);
	teardown(&f);
}
END_TEST

/* Scale-out: a second sender joins the group mid-run; the rebalance moves partitions
 * between them without losing or repeating a send. */
START_TEST(test_second_sender_joins)
{
	fixture f;
	char log2[600];
	int port2 = nt_free_port();
	pid_t second;

	setup(&f, "sender-scale");
	snprintf(log2, sizeof(log2), "%s.2", f.sender_log);
	start_sender(&f, "SENDER_RATE=20");
	produce_requests(&f);
	collect(&f, N / 4, 60000);
	second = spawn_sender(&f, "SENDER_RATE=20", port2, log2);
	ck_assert_int_lt(sim_messages(&f), N);
	collect_all(&f, 90000);
	check_report(&f);
	nt_stop(second, SIGTERM, 15000);
	teardown(&f);
}
END_TEST

START_TEST(test_outage_5xx)
{
	fixture f;
	char url[128];

	setup(&f, "sender-outage");
	snprintf(url, sizeof(url), "%s/control/outage", f.sim_url);
	ck_assert_int_eq(nt_http("POST", url, NULL, "{\"mode\":\"5xx\",\"ms\":2000}", NULL), 200);
	start_sender(&f, "SENDER_MAX_INFLIGHT=256");
	produce_requests(&f);
	collect_all(&f, 60000);
	check_report(&f);
	teardown(&f);
}
END_TEST

START_TEST(test_outage_refuse_and_timeout)
{
	fixture f;
	char url[128];

	setup(&f, "sender-refuse");
	snprintf(url, sizeof(url), "%s/control/outage", f.sim_url);
	ck_assert_int_eq(nt_http("POST", url, NULL, "{\"mode\":\"refuse\",\"ms\":1500}", NULL),
			 200);
	start_sender(&f, "SENDER_MAX_INFLIGHT=256");
	produce_requests(&f);
	collect(&f, N / 2, 60000);
	/* sends that land but whose answer is lost: exists() must keep them single */
	ck_assert_int_eq(nt_http("POST", url, NULL, "{\"mode\":\"timeout\",\"ms\":1500}", NULL),
			 200);
	collect_all(&f, 90000);
	check_report(&f);
	teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sender");
	TCase *tc = tcase_create("broker");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_each_sent_once);
	tcase_add_test(tc, test_kill_and_restart);
	tcase_add_test(tc, test_second_sender_joins);
	tcase_add_test(tc, test_outage_5xx);
	tcase_add_test(tc, test_outage_refuse_and_timeout);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
