/* test_broker_faults.c -- the broker dies under load and comes back: nothing acknowledged is
 * lost, nothing unacknowledged is reported as accepted, and every daemon recovers without
 * being restarted.
 *
 * The test runs a broker of its own (deploy/kafka/kafka.sh in a scratch folder), because it
 * kills it. Ingest, projector, query, sender and the provider simulator run against it.
 * Several threads POST notifications continuously and record each answer. After ~2 s the
 * broker is SIGKILLed, ~3 s later restarted on the same data and port, and the load goes on
 * until a request sent after the restart was accepted, then ~3 s more. Then:
 *   - every request answered 202 is in the topic (a requested event for its externalId)
 *     and in the read model (query answers 200), and the sender took it further than
 *     queued (it consumed and produced after the outage);
 *   - every other request got a 5xx or a transport error: no 4xx, no other 2xx;
 *   - some request got a 5xx while the broker was down (the fault was real) and some
 *     request sent after the restart got 202 (recovery);
 *   - the daemons are the processes started at the beginning, still running, and stop
 *     cleanly on SIGTERM.
 * The broker is started and stopped from an unchecked fixture, i.e. in the Check parent,
 * so it is stopped even when the forked test fails or times out. Waits are bounded. */
#include "ns_event.h"
#include "ns_kafka.h"
#include "nt.h"
#include "nt_faults.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOAD_THREADS 6
#define PARTITIONS   6

enum { PHASE_UP = 0, PHASE_DOWN, PHASE_BACK };

/* Set in the parent by the fixture, inherited by the forked test. */
static char kdir[512];
static char bootstrap[128];
static int broker_ok;

typedef struct {
	int seq;
	int code;  /* HTTP status, -1 for a transport error */
	int phase; /* phase when the request was sent */
} answer_t;

typedef struct {
	int t;
	int port;
	answer_t *ans;
	size_t n, cap;
} loader_t;

static atomic_int phase, stop_load, accepted_back;

static void load_id(char *out, size_t len, int t, int seq)
{
	snprintf(out, len, "bf-%d-%d-%d", (int)getpid(), t, seq);
}

/* Load thread: POST one new notification after another until told to stop. */
static void *load(void *arg)
{
	loader_t *l = arg;
	char url[128], body[512], id[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/notifications", l->port);
	for (int seq = 0; !atomic_load(&stop_load); seq++) {
		int ph = atomic_load(&phase);
		long code;

		load_id(id, sizeof(id), l->t, seq);
		snprintf(body, sizeof(body),
			 "{\"channel\":\"%s\",\"to\":\"+49152%03d%05d\",\"body\":\"load %d\","
			 "\"externalId\":\"%s\"}",
			 seq % 2 ? "whatsapp" : "sms", l->t, seq % 100000, seq, id);
		code = nt_http("POST", url, NULL, body, NULL);
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 1024;
			answer_t *a = realloc(l->ans, cap * sizeof(*a));
			if (!a)
				break;
			l->ans = a;
			l->cap = cap;
		}
		l->ans[l->n++] = (answer_t){seq, (int)code, ph};
		if (code == 202 && ph == PHASE_BACK)
			atomic_fetch_add(&accepted_back, 1);
		usleep(2000); /* a steady load, not a flood the 2 cores cannot follow */
	}
	return NULL;
}

/* ---- daemons -------------------------------------------------------------------------- */

typedef struct {
	char topic[128];
	const char *dir, *db;
	int ingest_port, query_port, projector_port, sender_port, sim_port;
	pid_t ingest, query, projector, sender, sim;
} sys_t;

static pid_t start(sys_t *s, const char *name, const char *const *env, int port, const char *path)
{
	const char *log = nt_fmt("%s/%s.log", s->dir, name);
	pid_t pid = nt_guard_add(nt_spawn(name, env, log));

	ck_assert_msg(pid > 0, "spawn %s", name);
	if (nt_wait_http(port, path, 60000) != 0) {
		nt_dump_log(log);
		ck_abort_msg("%s did not come up", name);
	}
	return pid;
}

static void sys_up(sys_t *s)
{
	const char *bs = nt_fmt("KAFKA_BOOTSTRAP_SERVERS=%s", bootstrap);
	const char *topic = nt_fmt("STATUS_TOPIC=%s", s->topic);
	const char *penv[] = {bs,
			      topic,
			      nt_fmt("PROJECTOR_DB=%s", s->db),
			      nt_fmt("PROJECTOR_ADMIN_LISTEN=127.0.0.1:%d", s->projector_port),
			      nt_fmt("PROJECTOR_GROUP=projector-%s", s->topic),
			      nt_fmt("SCHEMAS_DIR=%s", nt_schemas_dir()),
			      NULL};
	const char *qenv[] = {bs, topic, nt_fmt("QUERY_DB=%s", s->db),
			      nt_fmt("QUERY_LISTEN=127.0.0.1:%d", s->query_port), NULL};
	const char *simenv[] = {
	    nt_fmt("SIM_LISTEN=127.0.0.1:%d", s->sim_port),
	    nt_fmt("SIM_WEBHOOK_URL=http://127.0.0.1:%d/webhooks", s->ingest_port),
	    "SIM_DELAY_MIN_MS=10",
	    "SIM_DELAY_MAX_MS=300",
	    "SIM_RETRY_BASE_MS=200",
	    NULL};
	const char *ienv[] = {bs,
			      topic,
			      nt_fmt("INGEST_LISTEN=127.0.0.1:%d", s->ingest_port),
			      nt_fmt("SCHEMAS_DIR=%s", nt_schemas_dir()),
			      "INGEST_THREADS=64",
			      "INGEST_ACK_TIMEOUT_MS=1000",
			      NULL};
	const char *senv[] = {bs,
			      topic,
			      nt_fmt("SENDER_ADMIN_LISTEN=127.0.0.1:%d", s->sender_port),
			      nt_fmt("PROVIDER_URL=http://127.0.0.1:%d", s->sim_port),
			      nt_fmt("SENDER_GROUP=sender-%s", s->topic),
			      "SENDER_RETRY_BASE_MS=50",
			      NULL};

	s->projector = start(s, "projector", penv, s->projector_port, "/healthz");
	s->query = start(s, "query", qenv, s->query_port, "/healthz");
	s->sim = start(s, "simulator", simenv, s->sim_port, "/healthz");
	s->ingest = start(s, "ingest", ienv, s->ingest_port, "/readyz");
	s->sender = start(s, "sender", senv, s->sender_port, "/healthz");
}

/* ---- checks --------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The externalIds of every requested event in the topic, sorted (caller frees each and
 * the array). Reads from the beginning to the high watermarks taken before it starts. */
static char **topic_requested_ids(const char *topic, size_t *count)
{
	char err[512], **ids = NULL;
	size_t n = 0, cap = 0;
	int64_t hw[PARTITIONS], seen[PARTITIONS] = {0};
	int np = 0;
	ns_event *ev = malloc(sizeof(*ev));
	ns_consumer *c = ns_consumer_new(nt_fmt("check-%s", topic), topic, NULL, err, sizeof(err));

	ck_assert_msg(c != NULL, "consumer: %s", err);
	ck_assert(ev != NULL);
	ck_assert_msg(ns_kafka_high_watermarks(ns_consumer_handle(c), topic, hw, PARTITIONS, &np,
					       10000, err, sizeof(err)) == 0,
		      "high watermarks: %s", err);
	ck_assert_int_eq(np, PARTITIONS);
	for (int waited = 0; waited < 120000;) {
		rd_kafka_message_t *m;
		int done = 1;

		for (int p = 0; p < PARTITIONS; p++)
			if (seen[p] < hw[p])
				done = 0;
		if (done)
			break;
		m = ns_consumer_poll(c, 200);
		if (!m) {
			waited += 200;
			continue;
		}
		if (!m->err && m->partition >= 0 && m->partition < PARTITIONS) {
			if (m->offset + 1 > seen[m->partition])
				seen[m->partition] = m->offset + 1;
			if (ns_event_decode(m->payload, m->len, ev, err, sizeof(err)) == 0 &&
			    ev->type == NS_EV_REQUESTED) {
				if (n == cap) {
					char **g;
					cap = cap ? cap * 2 : 4096;
					g = realloc(ids, cap * sizeof(*ids));
					ck_assert(g != NULL);
					ids = g;
				}
				ids[n] = strdup(ev->external_id);
				ck_assert(ids[n] != NULL);
				n++;
			}
		}
		rd_kafka_message_destroy(m);
	}
	for (int p = 0; p < PARTITIONS; p++)
		ck_assert_msg(seen[p] >= hw[p],
			      "topic read stopped at %lld of %lld in partition %d",
			      (long long)seen[p], (long long)hw[p], p);
	ns_consumer_close(c);
	free(ev);
	qsort(ids, n, sizeof(*ids), cmp_str);
	*count = n;
	return ids;
}

/* Status of id in the read model: 1 with status copied when query answers 200, 0 when not
 * (yet). */
static int read_model_status(int port, const char *id, char *status, size_t len)
{
	char url[256], *resp = NULL;
	json_t *j = NULL;
	int ok = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/notifications/%s", port, id);
	if (nt_http("GET", url, NULL, NULL, &resp) == 200) {
		j = json_loads(resp, 0, NULL);
		snprintf(status, len, "%s",
			 json_string_value(json_object_get(j, "status"))
			     ? json_string_value(json_object_get(j, "status"))
			     : "");
		ok = 1;
	}
	json_decref(j);
	free(resp);
	return ok;
}

static void stop_clean(pid_t *pid, const char *name, sys_t *s)
{
	int st = nt_stop(*pid, SIGTERM, 30000);

	nt_guard_forget(*pid);
	*pid = 0;
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		nt_dump_log(nt_fmt("%s/%s.log", s->dir, name));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s did not exit cleanly on SIGTERM after the outage (status %d)", name, st);
}

/* ---- the test ------------------------------------------------------------------------- */

START_TEST(broker_killed_under_load)
{
	sys_t *s = calloc(1, sizeof(*s));
	loader_t loaders[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	char out[128], id[64], status[64], example[256] = "";
	long n202 = 0, n5xx = 0, ntransport = 0, nother = 0, down5xx = 0, back202 = 0;
	long missing_topic = 0, missing_model = 0, still_queued = 0;
	char **ids;
	size_t nids = 0;
	struct {
		pid_t *pid;
		const char *name;
	} daemons[] = {{&s->ingest, "ingest"},
		       {&s->sender, "sender"},
		       {&s->sim, "simulator"},
		       {&s->query, "query"},
		       {&s->projector, "projector"}};

	ck_assert_msg(broker_ok, "could not start a broker of our own in %s (see %s.log)", kdir,
		      kdir);
	ck_assert(s != NULL);
	setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap, 1); /* for the checking consumer */
	snprintf(s->topic, sizeof(s->topic), "brokerfaults.%d", (int)getpid());
	ck_assert_msg(nt_kafka_sh("create", kdir, s->topic, "6", NULL, 0) == 0, "create topic");
	ck_assert_msg(nt_kafka_sh("create", kdir, nt_fmt("%s.dlq", s->topic), "1", NULL, 0) == 0,
		      "create dlq topic");
	s->dir = nt_tmpdir("brokerfaults");
	s->db = nt_fmt("%s/nstatus.db", s->dir);
	s->ingest_port = nt_free_port();
	s->query_port = nt_free_port();
	s->projector_port = nt_free_port();
	s->sender_port = nt_free_port();
	s->sim_port = nt_free_port();
	sys_up(s);

	atomic_store(&phase, PHASE_UP);
	atomic_store(&stop_load, 0);
	atomic_store(&accepted_back, 0);
	for (int t = 0; t < LOAD_THREADS; t++) {
		loaders[t] = (loader_t){.t = t, .port = s->ingest_port};
		ck_assert(pthread_create(&th[t], NULL, load, &loaders[t]) == 0);
	}
	sleep(2);
	atomic_store(&phase, PHASE_DOWN);
	ck_assert_msg(nt_kafka_sh("kill", kdir, NULL, NULL, NULL, 0) == 0, "kafka.sh kill");
	sleep(3);
	ck_assert_msg(nt_kafka_sh("resume", kdir, NULL, NULL, out, sizeof(out)) == 0,
		      "kafka.sh resume (see %s.log)", kdir);
	ck_assert_str_eq(out, bootstrap);
	atomic_store(&phase, PHASE_BACK);
	/* keep the load on until the first request sent after the restart is accepted (bounded:
	 * the clients reconnect with backoff), then a few seconds more */
	for (int waited = 0; waited < 90000 && atomic_load(&accepted_back) == 0; waited += 100)
		usleep(100 * 1000);
	sleep(3);
	atomic_store(&stop_load, 1);
	for (int t = 0; t < LOAD_THREADS; t++)
		pthread_join(th[t], NULL);

	/* the daemons started at the beginning are still the ones running */
	for (size_t d = 0; d < sizeof(daemons) / sizeof(daemons[0]); d++)
		ck_assert_msg(waitpid(*daemons[d].pid, NULL, WNOHANG) == 0,
			      "%s exited during the broker outage", daemons[d].name);

	for (int t = 0; t < LOAD_THREADS; t++) {
		for (size_t i = 0; i < loaders[t].n; i++) {
			answer_t *a = &loaders[t].ans[i];
			if (a->code == 202) {
				n202++;
				back202 += a->phase == PHASE_BACK;
			} else if (a->code >= 500 && a->code <= 599) {
				n5xx++;
				down5xx += a->phase == PHASE_DOWN;
			} else if (a->code == -1) {
				ntransport++;
			} else {
				if (!nother++)
					snprintf(example, sizeof(example),
						 "thread %d request %d got %d", t, a->seq, a->code);
			}
		}
	}
	fprintf(stderr,
		"test_broker_faults: %ld accepted (%ld after the restart), %ld 5xx (%ld while "
		"down), %ld transport errors, %ld other\n",
		n202, back202, n5xx, down5xx, ntransport, nother);
	ck_assert_msg(nother == 0, "%ld requests got neither 202 nor 5xx (%s)", nother, example);
	ck_assert_msg(down5xx > 0, "no request got a 5xx while the broker was down");
	ck_assert_msg(back202 > 0, "no request sent after the broker came back was accepted");

	/* every accepted request is in the log */
	ids = topic_requested_ids(s->topic, &nids);
	for (int t = 0; t < LOAD_THREADS; t++) {
		for (size_t i = 0; i < loaders[t].n; i++) {
			const char *key = id;
			if (loaders[t].ans[i].code != 202)
				continue;
			load_id(id, sizeof(id), t, loaders[t].ans[i].seq);
			if (!bsearch(&key, ids, nids, sizeof(*ids), cmp_str) && !missing_topic++)
				snprintf(example, sizeof(example), "%s", id);
		}
	}
	ck_assert_msg(missing_topic == 0, "%ld accepted notifications are not in the topic (%s)",
		      missing_topic, example);

	/* ... and in the read model, taken further than queued by the sender (one bounded
	 * deadline for the whole pass: once the daemons have caught up every check is quick) */
	for (int t = 0, waited = 0; t < LOAD_THREADS; t++) {
		for (size_t i = 0; i < loaders[t].n; i++) {
			if (loaders[t].ans[i].code != 202)
				continue;
			load_id(id, sizeof(id), t, loaders[t].ans[i].seq);
			for (;;) {
				int found =
				    read_model_status(s->query_port, id, status, sizeof(status));
				if (found && strcmp(status, "queued") != 0)
					break;
				if (waited >= 240000) {
					if (!found)
						missing_model++;
					else
						still_queued++;
					if (missing_model + still_queued == 1)
						snprintf(example, sizeof(example), "%s: %s", id,
							 found ? status : "absent");
					break;
				}
				usleep(100 * 1000);
				waited += 100;
			}
		}
	}
	if (missing_model || still_queued) {
		nt_dump_log(nt_fmt("%s/projector.log", s->dir));
		nt_dump_log(nt_fmt("%s/sender.log", s->dir));
	}
	ck_assert_msg(missing_model == 0, "%ld accepted notifications not in the read model (%s)",
		      missing_model, example);
	ck_assert_msg(still_queued == 0, "%ld accepted notifications still queued (%s)",
		      still_queued, example);

	for (size_t d = 0; d < sizeof(daemons) / sizeof(daemons[0]); d++)
		stop_clean(daemons[d].pid, daemons[d].name, s);

	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	for (int t = 0; t < LOAD_THREADS; t++)
		free(loaders[t].ans);
	free(s);
}
END_TEST

/* Unchecked fixture: runs in the Check parent, so the broker is stopped (and stray daemons
 * killed) even when the forked test fails or times out. */
static void broker_setup(void)
{
	const char *base = getenv("NS_TEST_TMP");

	if (nt_guard_init() != 0)
		return;
	snprintf(kdir, sizeof(kdir), "%s/brokerfaults-kafka.%d", base && base[0] ? base : "/tmp",
		 (int)getpid());
	broker_ok = nt_kafka_sh("start", kdir, NULL, NULL, bootstrap, sizeof(bootstrap)) == 0 &&
		    bootstrap[0];
	fprintf(stderr, "test_broker_faults: own broker %s in %s\n",
		broker_ok ? bootstrap : "(failed)", kdir);
}

static void broker_teardown(void)
{
	nt_guard_kill_all();
	if (kdir[0] && nt_kafka_sh("stop", kdir, NULL, NULL, NULL, 0) != 0)
		fprintf(stderr, "test_broker_faults: could not stop the broker in %s\n", kdir);
}

int main(void)
{
	Suite *suite = suite_create("broker_faults");
	TCase *tc = tcase_create("broker");

	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, broker_setup, broker_teardown);
	tcase_add_test(tc, broker_killed_under_load);
	suite_add_tcase(suite, tc);
	return nt_run_suite(suite);
}
