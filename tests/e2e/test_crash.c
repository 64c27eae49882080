/* test_crash.c -- crash safety of the projector: SIGKILL at random moments, then the read
 * model must equal a clean replay of the same topic, row for row.
 *
 * A generated stream of more than 100,000 events (23,000 sms and whatsapp notifications:
 * requested, dispatched, provider webhooks, with duplicated webhooks, webhooks in the
 * wrong order or before the request, rejected and failed paths, conflicting and repeated
 * requests, invalid statuses and a few undecodable messages) is produced into a fresh
 * 6-partition topic while projector A is killed with SIGKILL at least 20 times, 50..600 ms
 * after each start, and restarted. Once the last restart has stored every partition's
 * high watermark, projector B folds the same topic into an empty database without
 * interruption. Both databases are then compared table by table (every column, rows in key
 * order). The stream is deterministic (fixed seed); the kill moments are random (seed
 * printed). Waiting is bounded (nt_eventually); nothing asserts timing. */
#include "ns_event.h"
#include "ns_kafka.h"
#include "nt.h"
#include "nt_faults.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PARTITIONS    6
#define NOTIFICATIONS 23000
#define POISON	      12
#define MIN_EVENTS    100000
#define MIN_KILLS     20
#define PER_NOTIF_MAX 16
#define T0_MS	      1740830400000LL /* 2025-03-01T12:00:00.000Z */

typedef struct {
	char key[32];
	char *value;
	size_t len;
} msg_t;

typedef struct {
	msg_t *msgs;
	size_t n, cap;
	char topic[200];
	atomic_long acked, failed, enqueued;
	atomic_int done; /* producer thread finished enqueueing and waiting */
	char err[512];
} stream_t;

/* ---- the stream ---------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static void push_msg(stream_t *s, const char *key, char *value, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		msg_t *m = realloc(s->msgs, cap * sizeof(*m));
		ck_assert(m != NULL);
		s->msgs = m;
		s->cap = cap;
	}
	snprintf(s->msgs[s->n].key, sizeof(s->msgs[s->n].key), "%s", key);
	s->msgs[s->n].value = value;
	s->msgs[s->n].len = len;
	s->n++;
}

/* One notification's events in log order (before interleaving). */
typedef struct {
	ns_event ev[PER_NOTIF_MAX];
	int n;
} plan_t;

static ns_event *plan_add(plan_t *p, ns_event_type type, const char *id, const char *channel,
			  int64_t at)
{
	ns_event *ev;

	ck_assert(p->n < PER_NOTIF_MAX);
	ev = &p->ev[p->n++];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->source = type == NS_EV_REQUESTED ? NS_SRC_API
		     : type == NS_EV_STATUS  ? NS_SRC_PROVIDER
					     : NS_SRC_SENDER;
	snprintf(ev->external_id, sizeof(ev->external_id), "%s", id);
	/* ingest cannot know a webhook's channel: status events carry none */
	snprintf(ev->channel, sizeof(ev->channel), "%s", type == NS_EV_STATUS ? "" : channel);
	ev->occurred_at = at;
	ev->received_at = at + 3;
	return ev;
}

static void plan_webhook(plan_t *p, const char *id, const char *status, int64_t at)
{
	ns_event *ev = plan_add(p, NS_EV_STATUS, id, "", at);
	snprintf(ev->status, sizeof(ev->status), "%s", status);
}

/* Move event from to position to, shifting the ones between (adjacent swaps). */
static void plan_move(plan_t *p, int from, int to)
{
	ck_assert(from >= 0 && to >= 0 && from < p->n && to < p->n);
	for (; from != to; from += from < to ? 1 : -1) {
		int next = from < to ? from + 1 : from - 1;
		ns_event tmp = p->ev[from];
		p->ev[from] = p->ev[next];
		p->ev[next] = tmp;
	}
}

/* Build notification i's events: a path for its channel with the faults the provider and
 * our own retries produce. Deterministic in the generator state. */
static void plan_notification(plan_t *p, int i)
{
	const char *channel = i % 2 ? "whatsapp" : "sms";
	char id[32];
	int64_t t = T0_MS + (int64_t)i * 7;
	unsigned r = rnd() % 100;
	int first_hook, nhooks;
	ns_event *ev;

	p->n = 0;
	snprintf(id, sizeof(id), "n-%06d", i);
	ev = plan_add(p, NS_EV_REQUESTED, id, channel, t);
	snprintf(ev->to, sizeof(ev->to), "+49151%08d", i);
	snprintf(ev->body, sizeof(ev->body), "message %d", i);

	if (r < 3) { /* the provider rejects it */
		ev = plan_add(p, NS_EV_DISPATCHED, id, channel, t + 100);
		snprintf(ev->status, sizeof(ev->status), "processing");
		snprintf(ev->provider_id, sizeof(ev->provider_id), "prov-%d", i);
		plan_webhook(p, id, "rejected", t + 900);
	} else if (r < 5) { /* refused for good before the provider took it */
		ev = plan_add(p, NS_EV_FAILED, id, channel, t + 100);
		snprintf(ev->status, sizeof(ev->status), "failed");
		snprintf(ev->reason, sizeof(ev->reason), "provider refused: invalid number");
		ev->code = 422;
	} else if (r < 7) { /* still queued: the sender has not got to it */
	} else {
		ev = plan_add(p, NS_EV_DISPATCHED, id, channel, t + 100);
		snprintf(ev->status, sizeof(ev->status), "processing");
		snprintf(ev->provider_id, sizeof(ev->provider_id), "prov-%d", i);
		first_hook = p->n;
		plan_webhook(p, id, "sent", t + 1000);
		plan_webhook(p, id, "delivered", t + 2000);
		if (i % 2 && rnd() % 2)
			plan_webhook(p, id, "viewed", t + 3000);
		if (!(i % 2) && rnd() % 100 < 1) /* no such status for sms: invalid */
			plan_webhook(p, id, "viewed", t + 3000);
		nhooks = p->n - first_hook;
		if (rnd() % 100 < 20) /* wrong order: the last webhook first, e.g. delivered */
			for (int k = 0; k < nhooks; k++)
				plan_move(p, p->n - 1, first_hook + k);
		if (rnd() % 100 < 5) /* a webhook before the dispatched event */
			plan_move(p, first_hook, first_hook - 1);
		else if (rnd() % 100 < 3) /* a webhook before the request itself */
			plan_move(p, first_hook, 0);
	}
	/* the provider retries: ~20% of webhooks arrive twice (same id), later */
	for (int k = 0, n = p->n; k < n; k++) {
		if (p->ev[k].type == NS_EV_STATUS && rnd() % 100 < 20) {
			ck_assert(p->n < PER_NOTIF_MAX);
			p->ev[p->n++] = p->ev[k];
		}
	}
	r = rnd() % 100;
	if (r < 2) { /* a second request with other content: conflict */
		ev = plan_add(p, NS_EV_REQUESTED, id, channel, t + 4000);
		snprintf(ev->to, sizeof(ev->to), "+49151%08d", i);
		snprintf(ev->body, sizeof(ev->body), "other message %d", i);
	} else if (r < 4) { /* the same request again (a producer retry) */
		int k = 0;
		while (p->ev[k].type != NS_EV_REQUESTED)
			k++;
		ck_assert(p->n < PER_NOTIF_MAX);
		p->ev[p->n] = p->ev[k];
		p->n++;
	}
	for (int k = 0; k < p->n; k++)
		ns_event_make_id(&p->ev[k]);
}

/* Generate the whole stream into s, interleaving notifications in blocks so that one
 * notification's events are spread over the log (in their order). */
static void stream_build(stream_t *s)
{
	enum { BLOCK = 256 };
	plan_t *plans = calloc(BLOCK, sizeof(*plans));
	ns_event *check = malloc(sizeof(*check));
	char err[256];
	int poisoned = 0;

	ck_assert(plans && check);
	for (int base = 0; base < NOTIFICATIONS; base += BLOCK) {
		int nb = NOTIFICATIONS - base < BLOCK ? NOTIFICATIONS - base : BLOCK;
		for (int b = 0; b < nb; b++)
			plan_notification(&plans[b], base + b);
		for (int step = 0; step < PER_NOTIF_MAX; step++) {
			for (int b = 0; b < nb; b++) {
				size_t len = 0;
				char *v;

				if (step >= plans[b].n)
					continue;
				v = ns_event_encode(&plans[b].ev[step], &len);
				ck_assert(v != NULL);
				/* our own generator must produce valid events, or the test
				 * would measure the dead-letter path instead */
				ck_assert_msg(ns_event_decode(v, len, check, err, sizeof(err)) == 0,
					      "generated event does not decode: %s: %s", err, v);
				push_msg(s, plans[b].ev[step].external_id, v, len);
			}
		}
		if (base / BLOCK % 7 == 3 && poisoned < POISON) { /* undecodable: dead letter */
			char *v = strdup("{\"v\":1,\"id\":\"not an event\"");
			ck_assert(v != NULL);
			push_msg(s, nt_fmt("poison-%d", poisoned++), v, strlen(v));
		}
	}
	ck_assert_int_eq(poisoned, POISON);
	free(plans);
	free(check);
}

static void on_delivery(void *opaque, const ns_delivery *d)
{
	stream_t *s = opaque;

	if (d->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		atomic_fetch_add(&s->acked, 1);
	else
		atomic_fetch_add(&s->failed, 1);
}

/* Producer thread: a third of the stream at once (a backlog for the first projector runs),
 * the rest in paced chunks over about 20 s, so the kills land while the log grows. Then
 * waits (bounded) for every delivery report. */
static void *produce_stream(void *arg)
{
	stream_t *s = arg;
	char err[256];
	ns_producer *p = ns_producer_new("test-crash", err, sizeof(err));
	size_t first = s->n / 3;

	if (!p) {
		snprintf(s->err, sizeof(s->err), "producer: %s", err);
		goto out;
	}
	for (size_t i = 0; i < s->n; i++) {
		msg_t *m = &s->msgs[i];
		int tries = 0;

		while (ns_producer_send_async(p, s->topic, m->key, strlen(m->key), m->value, m->len,
					      on_delivery, s) != 0) {
			if (++tries > 6000) { /* a full queue for a minute: give up */
				snprintf(s->err, sizeof(s->err), "enqueue failed at %zu", i);
				goto out;
			}
			usleep(10 * 1000);
		}
		atomic_fetch_add(&s->enqueued, 1);
		if (i >= first && (i - first) % 1000 == 999)
			usleep(280 * 1000);
	}
	for (int waited = 0; waited < 120000; waited += 20) {
		if (atomic_load(&s->acked) + atomic_load(&s->failed) >= (long)s->n)
			break;
		usleep(20 * 1000);
	}
out:
	ns_producer_destroy(p, 10000);
	atomic_store(&s->done, 1);
	return NULL;
}

/* ---- projector runs and the database -------------------------------------------------- */

typedef struct {
	const char *topic, *db, *log;
	int port;
	int64_t hw[PARTITIONS];
} proj_t;

static pid_t proj_start(proj_t *pr, const char *group, const char *batch)
{
	/* local buffers, not nt_keep: the child copies them before exec, and 20+ restarts
	 * would fill nt_keep's pool */
	char e_topic[256], e_db[600], e_listen[64], e_group[320], e_schemas[600], e_batch[64];
	const char *env[] = {e_topic, e_db, e_listen, e_group, e_schemas, e_batch, NULL};
	pid_t pid;

	snprintf(e_topic, sizeof(e_topic), "STATUS_TOPIC=%s", pr->topic);
	snprintf(e_db, sizeof(e_db), "PROJECTOR_DB=%s", pr->db);
	snprintf(e_listen, sizeof(e_listen), "PROJECTOR_ADMIN_LISTEN=127.0.0.1:%d", pr->port);
	snprintf(e_group, sizeof(e_group), "PROJECTOR_GROUP=%s", group);
	snprintf(e_schemas, sizeof(e_schemas), "SCHEMAS_DIR=%s", nt_schemas_dir());
	snprintf(e_batch, sizeof(e_batch), "PROJECTOR_BATCH=%s", batch);
	pid = nt_guard_add(nt_spawn("projector", env, pr->log));
	ck_assert_msg(pid > 0, "spawn projector");
	if (nt_wait_http(pr->port, "/healthz", 30000) != 0) {
		nt_dump_log(pr->log);
		ck_abort_msg("projector (%s) did not come up", group);
	}
	return pid;
}

/* Sum of the stored next offsets of the topic (0 when the database is not there yet);
 * per-partition values into next[] when next is non-NULL. */
static long long db_offsets(const proj_t *pr, int64_t *next)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long sum = 0;

	if (next)
		memset(next, 0, PARTITIONS * sizeof(*next));
	if (sqlite3_open_v2(pr->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "SELECT partition, next_offset FROM offsets WHERE topic = ?", -1,
			       &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, pr->topic, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int p = sqlite3_column_int(st, 0);
		int64_t v = sqlite3_column_int64(st, 1);
		sum += v;
		if (next && p >= 0 && p < PARTITIONS)
			next[p] = v;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return sum;
}

/* True when every partition's stored next offset reached its high watermark. */
static int caught_up(void *arg)
{
	proj_t *pr = arg;
	int64_t next[PARTITIONS];

	db_offsets(pr, next);
	for (int p = 0; p < PARTITIONS; p++)
		if (next[p] != pr->hw[p])
			return 0;
	return 1;
}

static void wait_caught_up(proj_t *pr, const char *who)
{
	int64_t next[PARTITIONS];

	if (nt_eventually(caught_up, pr, 300000) == 0)
		return;
	db_offsets(pr, next);
	nt_dump_log(pr->log);
	ck_abort_msg("projector %s did not catch up: stored %lld/%lld %lld/%lld %lld/%lld "
		     "%lld/%lld %lld/%lld %lld/%lld (next/high watermark per partition)",
		     who, (long long)next[0], (long long)pr->hw[0], (long long)next[1],
		     (long long)pr->hw[1], (long long)next[2], (long long)pr->hw[2],
		     (long long)next[3], (long long)pr->hw[3], (long long)next[4],
		     (long long)pr->hw[4], (long long)next[5], (long long)pr->hw[5]);
}

static long long db_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void stop_clean(pid_t pid, const char *who, const char *log)
{
	int st = nt_stop(pid, SIGTERM, 30000);

	nt_guard_forget(pid);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		nt_dump_log(log);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "projector %s did not exit cleanly on SIGTERM (status %d)", who, st);
}

/* ---- the test ------------------------------------------------------------------------- */

START_TEST(sigkill_projector_equals_clean_replay)
{
	stream_t *s = calloc(1, sizeof(*s));
	const char *dir = nt_tmpdir("crash");
	proj_t a = {0}, b = {0};
	pthread_t producer;
	char err[512], msg[4096], group[300];
	ns_producer *meta;
	int np = 0, kills = 0, mid_stream_kills = 0;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	long long total_hw = 0;
	pid_t pa;
	/* Canonical dump: every table, every column, rows in key order. No column is left out:
	 * each is a function of the log (timestamps come from the events, positions from
	 * Kafka), so two folds of one topic must agree on all of them. */
	const char *const dump[] = {"SELECT * FROM notifications ORDER BY external_id",
				    "SELECT * FROM events ORDER BY partition, offset",
				    "SELECT * FROM offsets ORDER BY topic, partition", NULL};
	long rows[3] = {0};

	ck_assert(s != NULL);
	nt_topic_new("crash", PARTITIONS, s->topic, sizeof(s->topic));
	stream_build(s);
	ck_assert_msg(s->n - POISON >= MIN_EVENTS, "only %zu events generated", s->n - POISON);
	fprintf(stderr, "test_crash: topic=%s events=%zu kill seed=%u\n", s->topic, s->n, seed);
	srand(seed);

	a = (proj_t){.topic = s->topic,
		     .db = nt_fmt("%s/a.db", dir),
		     .log = nt_fmt("%s/a.log", dir),
		     .port = nt_free_port()};
	b = (proj_t){.topic = s->topic,
		     .db = nt_fmt("%s/b.db", dir),
		     .log = nt_fmt("%s/b.log", dir),
		     .port = nt_free_port()};
	ck_assert(a.port > 0 && b.port > 0);

	ck_assert(pthread_create(&producer, NULL, produce_stream, s) == 0);
	/* A SIGKILLed member stays in its consumer group until its session times out, and a
	 * restart in the same group would wait for that. Each run joins a group of its own
	 * instead: Kafka's committed offsets are then no help at all, so the projector must
	 * resume from the offsets in its database -- the property under test. */
	while (kills < MIN_KILLS || !atomic_load(&s->done)) {
		long long before, after;
		long delivered;

		ck_assert_msg(kills < 400, "producer thread did not finish");
		before = db_offsets(&a, NULL);
		snprintf(group, sizeof(group), "crashA-%s-%d", s->topic, kills);
		pa = proj_start(&a, group, "97");
		usleep((useconds_t)(50 + rand() % 551) * 1000);
		delivered = atomic_load(&s->acked);
		ck_assert_int_eq(kill(pa, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pa, NULL, 0), pa);
		nt_guard_forget(pa);
		kills++;
		after = db_offsets(&a, NULL);
		/* this run folded something and was killed with more of the log to go */
		if (after > before && after < delivered)
			mid_stream_kills++;
	}
	pthread_join(producer, NULL);
	ck_assert_msg(!s->err[0], "%s", s->err);
	ck_assert_msg(atomic_load(&s->failed) == 0, "%ld events not acknowledged",
		      atomic_load(&s->failed));
	ck_assert_int_eq(atomic_load(&s->acked), (long)s->n);
	fprintf(stderr, "test_crash: %d kills, %d of them mid-stream after progress\n", kills,
		mid_stream_kills);
	ck_assert_int_ge(kills, MIN_KILLS);
	/* proves the kills interrupted real work, so the comparison is not of idle restarts */
	ck_assert_msg(mid_stream_kills > 0, "no kill landed while the projector was folding");

	setenv("KAFKA_BOOTSTRAP_SERVERS", nt_bootstrap(), 1);
	meta = ns_producer_new("test-crash-meta", err, sizeof(err));
	ck_assert_msg(meta != NULL, "%s", err);
	ck_assert_msg(ns_kafka_high_watermarks(ns_producer_handle(meta), s->topic, a.hw, PARTITIONS,
					       &np, 10000, err, sizeof(err)) == 0,
		      "high watermarks: %s", err);
	ns_producer_destroy(meta, 1000);
	ck_assert_int_eq(np, PARTITIONS);
	for (int p = 0; p < PARTITIONS; p++)
		total_hw += a.hw[p];
	ck_assert_int_eq(total_hw, (long long)s->n);
	memcpy(b.hw, a.hw, sizeof(b.hw));

	/* the last restart of A runs to the end of the log */
	snprintf(group, sizeof(group), "crashA-%s-last", s->topic);
	pa = proj_start(&a, group, "97");
	wait_caught_up(&a, "A");
	stop_clean(pa, "A", a.log);

	/* B: the same topic folded once, from an empty database, uninterrupted */
	snprintf(group, sizeof(group), "crashB-%s", s->topic);
	pa = proj_start(&b, group, "1000");
	wait_caught_up(&b, "B");
	stop_clean(pa, "B", b.log);

	ck_assert_msg(nt_db_compare(a.db, b.db, dump, rows, msg, sizeof(msg)) == 0,
		      "database after %d SIGKILLs differs from a clean replay: %s", kills, msg);
	/* not vacuous: every notification and every decodable event is there */
	ck_assert_int_eq(rows[0], NOTIFICATIONS);
	ck_assert_int_eq(rows[1], (long)s->n - POISON);
	ck_assert_int_eq(rows[2], PARTITIONS);
	ck_assert_int_gt(db_count(a.db, "SELECT COUNT(*) FROM events WHERE outcome='duplicate'"),
			 0);
	ck_assert_int_gt(db_count(a.db, "SELECT COUNT(*) FROM events WHERE outcome='stale'"), 0);
	ck_assert_int_gt(db_count(a.db, "SELECT COUNT(*) FROM events WHERE outcome='conflict'"), 0);
	ck_assert_int_gt(db_count(a.db, "SELECT COUNT(*) FROM events WHERE outcome='invalid'"), 0);
	ck_assert_int_gt(
	    db_count(a.db, "SELECT COUNT(*) FROM notifications WHERE status='delivered'"), 0);

	for (size_t i = 0; i < s->n; i++)
		free(s->msgs[i].value);
	free(s->msgs);
	free(s);
}
END_TEST

/* Runs in the Check parent: map the guard before the test is forked, and kill whatever a
 * failed test left running. */
static void guard_setup(void)
{
	ck_assert_int_eq(nt_guard_init(), 0);
}

static void guard_teardown(void)
{
	nt_guard_kill_all();
}

int main(void)
{
	Suite *suite = suite_create("crash");
	TCase *tc = tcase_create("projector");

	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, guard_setup, guard_teardown);
	tcase_add_test(tc, sigkill_projector_equals_clean_replay);
	suite_add_tcase(suite, tc);
	return nt_run_suite(suite);
}
