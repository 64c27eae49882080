/* test_callbacks.c -- end to end: status callbacks from the whole system.
 *
 * Every daemon, the provider simulator, the changelog publisher and the callback worker
 * run; 3,000 notifications are posted with a callbackUrl pointing at a receiver in this
 * process that checks every signature. The receiver is down for 30 seconds in the middle
 * of the run, and the callback worker is SIGKILLed and restarted. At the end each
 * notification must have received exactly the changes the changelog holds for it: the
 * first arrival of each version in version order 1..n, every delivery id the change's
 * event id (so a repeat carries the same id), no version the changelog does not have, no
 * bad signature; and its history (GET /notifications/{id}/callbacks) shows the attempts. */
#include "ns_change.h"
#include "ns_kafka.h"
#include "ns_time.h"
#include "nt.h"
#include "nt_receiver.h"
#include "nt_system.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N	     3000
#define MAX_VERSIONS 16
#define SECRET	     "callback-secret-for-the-test-0123"

typedef struct {
	int64_t latest; /* the changelog's latest version */
	char event[MAX_VERSIONS + 1][NS_EVENT_ID_LEN + 1];
} expected;

static nt_system sys;
static expected want[N];

static int index_of(const char *external_id)
{
	int i;
	return sscanf(external_id, "cb-%d", &i) == 1 && i >= 0 && i < N ? i : -1;
}

/* ---- posting ---- */

typedef struct {
	int from, to, failures;
	int64_t start;
} post_job;

static void *post_range(void *arg)
{
	post_job *j = arg;
	const char *url = nt_fmt("%s/notifications", nt_system_url(&sys, NT_INGEST, 0));
	char body[512];

	for (int i = j->from; i < j->to; i++) {
		long code = 0;
		snprintf(body, sizeof(body),
			 "{\"channel\":\"%s\",\"to\":\"+49151%08d\",\"body\":\"m %d\","
			 "\"externalId\":\"cb-%d\",\"callbackUrl\":\"%s\"}",
			 i % 2 ? "whatsapp" : "sms", i, i, i, nt_receiver_url());
		code = nt_post_retrying(url, body);
		if (code != 202)
			j->failures++;
	}
	return NULL;
}

static void post(int from, int to)
{
	enum { T = 4 };
	pthread_t th[T];
	post_job jobs[T];
	int failures = 0;

	for (int t = 0; t < T; t++) {
		jobs[t] =
		    (post_job){from + (to - from) * t / T, from + (to - from) * (t + 1) / T, 0, 0};
		ck_assert_int_eq(pthread_create(&th[t], NULL, post_range, &jobs[t]), 0);
	}
	for (int t = 0; t < T; t++) {
		pthread_join(th[t], NULL);
		failures += jobs[t].failures;
	}
	ck_assert_msg(failures == 0, "%d POSTs without a 202", failures);
}

/* ---- the changelog, as the truth ---- */

/* Read the whole changelog (read_committed) into want. Returns the record count. */
static long read_changelog(void)
{
	ns_kafka_pos pos[8];
	char err[512];
	ns_consumer *c = ns_consumer_new_assigned("test-callbacks-truth", err, sizeof(err));
	int ended = 0;
	long records = 0;

	ck_assert_msg(c != NULL, "%s", err);
	memset(want, 0, sizeof(want));
	for (int p = 0; p < 3; p++)
		pos[p] = (ns_kafka_pos){p, RD_KAFKA_OFFSET_BEGINNING};
	ck_assert_int_eq(ns_consumer_assign(c, sys.changelog, pos, 3, err, sizeof(err)), 0);
	for (int64_t give_up = ns_time_mono_ms() + 30000;
	     ended < 3 && ns_time_mono_ms() < give_up;) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 100);
		ns_change ch;
		int i;
		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			ended++;
		else if (!m->err &&
			 ns_change_decode(m->payload, m->len, &ch, err, sizeof(err)) == 0 &&
			 (i = index_of(ch.external_id)) >= 0 && ch.version <= MAX_VERSIONS) {
			records++;
			if (ch.version > want[i].latest)
				want[i].latest = ch.version;
			snprintf(want[i].event[ch.version], NS_EVENT_ID_LEN + 1, "%s", ch.event_id);
		}
		rd_kafka_message_destroy(m);
	}
	ns_consumer_close(c);
	ck_assert_int_eq(ended, 3);
	return records;
}

/* ---- what the receiver got ---- */

/* Distinct (notification, version) pairs received; fills the first problem into why. */
static long check_receipts(char *why, size_t whylen, int strict)
{
	static int64_t seen[N];
	nt_receipt *r;
	size_t n;
	long bad, distinct = 0;

	memset(seen, 0, sizeof(seen));
	why[0] = '\0';
	r = nt_receiver_receipts(&n, &bad);
	if (bad)
		snprintf(why, whylen, "%ld callbacks with a bad signature or body", bad);
	for (size_t k = 0; k < n && !why[0]; k++) {
		int i = index_of(r[k].external_id);
		int64_t v = r[k].version;
		if (i < 0 || v < 1 || v > MAX_VERSIONS) {
			snprintf(why, whylen, "a callback of %s version %lld", r[k].external_id,
				 (long long)v);
		} else if (strict &&
			   (v > want[i].latest || strcmp(r[k].delivery_id, want[i].event[v]) ||
			    strcmp(r[k].event_id, want[i].event[v]))) {
			snprintf(why, whylen, "cb-%d version %lld: delivery %s, changelog event %s",
				 i, (long long)v, r[k].delivery_id, want[i].event[v]);
		} else if (v > seen[i] + 1) {
			snprintf(why, whylen, "cb-%d: version %lld before %lld", i, (long long)v,
				 (long long)seen[i] + 1);
		} else if (v == seen[i] + 1) {
			seen[i] = v;
			distinct++;
		}
	}
	free(r);
	return distinct;
}

typedef struct {
	long records, last_records;
	int stable;
	char why[256];
} settle_arg;

/* Settled: the changelog stopped growing (three reads alike) and the receiver holds every
 * version of it. */
static int settled(void *arg)
{
	settle_arg *a = arg;
	long got;

	a->records = read_changelog();
	a->stable = a->records == a->last_records ? a->stable + 1 : 0;
	a->last_records = a->records;
	got = check_receipts(a->why, sizeof(a->why), 1);
	if (a->why[0])
		return 1; /* a wrong callback: stop waiting, the assertion reports it */
	if (got != a->records)
		snprintf(a->why, sizeof(a->why), "%ld of %ld changes received", got, a->records);
	else
		a->why[0] = '\0';
	if (a->stable >= 2 && got == a->records)
		return 1;
	sleep(2);
	return 0;
}

/* The history of cb-<i>'s callbacks: how many attempts, how many delivered. */
typedef struct {
	int i, attempts, delivered, failed;
} history_arg;

static void history(history_arg *h)
{
	char *resp = NULL;
	json_t *j, *items, *it;
	size_t k;

	h->attempts = h->delivered = h->failed = 0;
	ck_assert_int_eq(nt_http("GET",
				 nt_fmt("%s/notifications/cb-%d/callbacks?limit=1000",
					nt_system_url(&sys, NT_QUERY, 0), h->i),
				 NULL, NULL, &resp),
			 200);
	j = json_loads(resp, 0, NULL);
	free(resp);
	ck_assert_ptr_nonnull(j);
	items = json_object_get(j, "callbacks");
	json_array_foreach(items, k, it)
	{
		const char *st = json_string_value(json_object_get(it, "status"));
		ck_assert_str_eq(json_string_value(json_object_get(it, "type")), "callback");
		h->attempts++;
		h->delivered += st && strcmp(st, "delivered") == 0;
		h->failed += st && strcmp(st, "retrying") == 0;
	}
	json_decref(j);
}

/* The attempts reach the read model after the receiver got them (each attempt is an
 * event on the status topic, folded by the projector): wait for every delivered one. */
static int history_complete(void *arg)
{
	history_arg *h = arg;

	history(h);
	return h->delivered >= (int)want[h->i].latest && h->failed >= 1;
}

START_TEST(test_callbacks_end_to_end)
{
	settle_arg a = {0};
	history_arg h = {0};
	int64_t down_at;
	long got;

	nt_receiver_start(SECRET);
	nt_system_init(&sys, "callbacks", 3);
	nt_system_setenv(&sys, NT_INGEST, "CALLBACKS_ALLOW_PRIVATE=1");
	nt_system_setenv(&sys, NT_CALLBACKS, "CALLBACKS_ALLOW_PRIVATE=1");
	nt_system_setenv(&sys, NT_CALLBACKS, "CALLBACK_SECRET=" SECRET);
	nt_system_setenv(&sys, NT_CALLBACKS, "CALLBACKS_RETRY_BASE_MS=200");
	nt_system_setenv(&sys, NT_CALLBACKS, "CALLBACKS_RETRY_CAP_MS=2000");
	nt_system_setenv(&sys, NT_CALLBACKS, "CALLBACKS_TIMEOUT_MS=2000");
	nt_system_setenv(&sys, NT_SIM, "SIM_DELAY_MAX_MS=100");
	nt_system_up(&sys, NT_ALL | NT_BIT(NT_CHANGELOG) | NT_BIT(NT_CALLBACKS));

	post(0, 1000);
	/* the receiver goes away for 30 s while the rest is posted */
	nt_receiver_down();
	down_at = ns_time_mono_ms();
	post(1000, N);
	while (ns_time_mono_ms() - down_at < 30000)
		usleep(200 * 1000);
	nt_receiver_up();
	/* and the worker dies with deliveries in flight and pending */
	sleep(2);
	ck_assert_int_eq(kill(sys.pid[NT_CALLBACKS], SIGKILL), 0);
	waitpid(sys.pid[NT_CALLBACKS], NULL, 0);
	nt_system_start(&sys, NT_CALLBACKS);

	if (nt_eventually(settled, &a, 240000) != 0 || a.why[0]) {
		nt_dump_log(nt_system_log(&sys, NT_CALLBACKS));
		ck_abort_msg("callbacks: %s", a.why[0] ? a.why : "did not settle");
	}
	got = check_receipts(a.why, sizeof(a.why), 1);
	ck_assert_msg(a.why[0] == '\0', "%s", a.why);
	ck_assert_int_eq(got, a.records);
	ck_assert_int_ge(a.records, N); /* every notification changed at least once */
	for (int i = 0; i < N; i++)
		ck_assert_msg(want[i].latest >= 1, "cb-%d: no change in the changelog", i);

	/* the history shows the attempts: the first notification posted while the receiver
	 * was down failed first, then got through */
	h.i = 1000;
	(void)nt_eventually(history_complete, &h, 60000);
	ck_assert_int_ge(h.delivered, (int)want[h.i].latest);
	ck_assert_int_ge(h.failed, 1);
	ck_assert_int_ge(h.attempts, h.delivered + h.failed);
	nt_system_down(&sys);
	nt_receiver_stop();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("callbacks");
	TCase *tc = tcase_create("callbacks");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_callbacks_end_to_end);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
