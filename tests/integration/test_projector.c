/* test_projector.c -- the projector daemon against the real broker: a topic of encoded
 * events (out of order, duplicate webhooks, late statuses, a garbage message) folds into
 * the expected states and histories; the garbage lands in the DLQ topic; and a projector
 * SIGKILLed mid-stream and restarted several times ends with a database equal, row for
 * row, to one built by an uninterrupted run over the same topic. */
#include "../../projector/store.h"
#include "ns_event.h"
#include "ns_kafka.h"
#include "nt.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0	  1740830400000LL
#define MAX_PARTS 16

/* ---- producing, with the high watermark of what was acked ---- */

typedef struct {
	pthread_mutex_t mu;
	int64_t hw[MAX_PARTS];
	int errors;
} acked;

static acked ack = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
static ns_producer *producer;

static void on_delivery(void *opaque, const ns_delivery *d)
{
	(void)opaque;
	pthread_mutex_lock(&ack.mu);
	if (d->err || d->partition < 0 || d->partition >= MAX_PARTS)
		ack.errors++;
	else if (d->offset + 1 > ack.hw[d->partition])
		ack.hw[d->partition] = d->offset + 1;
	pthread_mutex_unlock(&ack.mu);
}

static void produce_raw(const char *topic, const char *key, const char *value)
{
	if (!producer) {
		char err[512];
		producer = ns_producer_new("test-projector", err, sizeof(err));
		ck_assert_msg(producer != NULL, "%s", err);
	}
	ck_assert_int_eq(ns_producer_send_async(producer, topic, key, strlen(key), value,
						strlen(value), on_delivery, NULL),
			 0);
}

static void produce_event(const char *topic, ns_event *ev)
{
	char *v;
	ns_event_make_id(ev);
	v = ns_event_encode(ev, NULL);
	ck_assert_ptr_nonnull(v);
	produce_raw(topic, ev->external_id, v);
	free(v);
}

static void flush_producer(void)
{
	for (int i = 0; i < 600 && ns_producer_outq_len(producer) > 0; i++)
		usleep(50 * 1000);
	ck_assert_int_eq(ns_producer_outq_len(producer), 0);
	ck_assert_int_eq(ack.errors, 0);
}

static void reset_acked(void)
{
	pthread_mutex_lock(&ack.mu);
	memset(ack.hw, 0, sizeof(ack.hw));
	ack.errors = 0;
	pthread_mutex_unlock(&ack.mu);
}

static void requested(const char *topic, const char *id, const char *body, int64_t t)
{
	ns_event ev = {
	    .type = NS_EV_REQUESTED, .source = NS_SRC_API, .occurred_at = t, .received_at = t};
	snprintf(ev.external_id, sizeof(ev.external_id), "%s", id);
	snprintf(ev.channel, sizeof(ev.channel), "sms");
	snprintf(ev.to, sizeof(ev.to), "+4915112345678");
	snprintf(ev.body, sizeof(ev.body), "%s", body);
	produce_event(topic, &ev);
}

static void dispatched(const char *topic, const char *id, int64_t t)
{
	ns_event ev = {
	    .type = NS_EV_DISPATCHED, .source = NS_SRC_SENDER, .occurred_at = t, .received_at = t};
	snprintf(ev.external_id, sizeof(ev.external_id), "%s", id);
	snprintf(ev.channel, sizeof(ev.channel), "sms");
	snprintf(ev.status, sizeof(ev.status), "processing");
	snprintf(ev.provider_id, sizeof(ev.provider_id), "prov-%s", id);
	produce_event(topic, &ev);
}

static void webhook(const char *topic, const char *id, const char *status, int64_t t)
{
	ns_event ev = {.type = NS_EV_STATUS,
		       .source = NS_SRC_PROVIDER,
		       .occurred_at = t,
		       .received_at = t + 5};
	snprintf(ev.external_id, sizeof(ev.external_id), "%s", id);
	snprintf(ev.status, sizeof(ev.status), "%s", status);
	produce_event(topic, &ev);
}

/* ---- the daemon and its database ---- */

typedef struct {
	char db[512];
	char log[512];
	int port;
	pid_t pid;
} projector;

#define MAX_STARTS 32
static pid_t started[MAX_STARTS];
static int nstarted;

static void projector_init(projector *p, const char *tag)
{
	const char *dir = nt_tmpdir(tag);
	snprintf(p->db, sizeof(p->db), "%s/nstatus.db", dir);
	snprintf(p->log, sizeof(p->log), "%s/projector.log", dir);
	p->pid = -1;
}

static void projector_start(projector *p, const char *topic, const char *group)
{
	static char env[6][600];
	const char *e[8];

	p->port = nt_free_port();
	snprintf(env[0], sizeof(env[0]), "PROJECTOR_DB=%s", p->db);
	snprintf(env[1], sizeof(env[1]), "STATUS_TOPIC=%s", topic);
	snprintf(env[2], sizeof(env[2]), "PROJECTOR_LISTEN=127.0.0.1:%d", p->port);
	snprintf(env[3], sizeof(env[3]), "SCHEMAS_DIR=%s", nt_schemas_dir());
	snprintf(env[4], sizeof(env[4]), "PROJECTOR_GROUP=%s", group);
	snprintf(env[5], sizeof(env[5]), "PROJECTOR_BATCH=25");
	for (int i = 0; i < 6; i++)
		e[i] = env[i];
	e[6] = NULL;
	p->pid = nt_spawn("projector", e, p->log);
	ck_assert_int_gt(p->pid, 0);
	if (nstarted < MAX_STARTS)
		started[nstarted++] = p->pid;
}

/* Stop with sig; returns the wait status. */
static int projector_stop(projector *p, int sig)
{
	int st = nt_stop(p->pid, sig, 20000);
	p->pid = -1;
	return st;
}

typedef struct {
	const char *db;
	const char *topic;
	int64_t hw[MAX_PARTS];
} caught_up_arg;

/* Non-zero when the stored next offset of every partition reached the acked watermark. */
static int caught_up(void *arg)
{
	caught_up_arg *a = arg;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int ok = 0;

	if (access(a->db, F_OK) != 0)
		return 0;
	if (sqlite3_open_v2(a->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(
		db, "SELECT next_offset FROM offsets WHERE topic = ?1 AND partition = ?2", -1, &q,
		NULL) != SQLITE_OK)
		goto out;
	ok = 1;
	for (int p = 0; p < MAX_PARTS && ok; p++) {
		int64_t next = 0;
		if (a->hw[p] == 0)
			continue;
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, a->topic, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 2, p);
		if (sqlite3_step(q) == SQLITE_ROW)
			next = sqlite3_column_int64(q, 0);
		ok = next >= a->hw[p];
	}
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return ok;
}

static void wait_caught_up(projector *p, const char *topic)
{
	caught_up_arg a = {p->db, topic, {0}};

	pthread_mutex_lock(&ack.mu);
	memcpy(a.hw, ack.hw, sizeof(a.hw));
	pthread_mutex_unlock(&ack.mu);
	if (nt_eventually(caught_up, &a, 90000) != 0) {
		nt_dump_log(p->log);
		ck_abort_msg("projector did not catch up with %s", topic);
	}
}

/* One text column of one row, or "" (caller's buffer). */
static const char *db_text(const char *path, const char *sql, const char *arg, char *out,
			   size_t outlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	out[0] = '\0';
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	return out;
}

/* Sum of the stored next offsets of topic (0 without a database). */
static int64_t stored_sum(const char *path, const char *topic)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int64_t sum = 0;

	if (access(path, F_OK) != 0)
		return 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT total(next_offset) FROM offsets WHERE topic = ?1", -1,
			       &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, topic, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			sum = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return sum;
}

static int64_t acked_sum(void)
{
	int64_t sum = 0;
	pthread_mutex_lock(&ack.mu);
	for (int p = 0; p < MAX_PARTS; p++)
		sum += ack.hw[p];
	pthread_mutex_unlock(&ack.mu);
	return sum;
}

typedef struct {
	const char *db;
	const char *topic;
	int64_t base;
} progress_arg;

/* Non-zero once the stored offsets moved past base. */
static int progress(void *arg)
{
	progress_arg *a = arg;
	return stored_sum(a->db, a->topic) > a->base;
}

static char *dump(const char *path)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(proj_store_dump(path, f, err, sizeof(err)) == 0, "%s", err);
	fclose(f);
	return buf;
}

/* ---- tests ---- */

/* After each test (also a failed one): no daemon left running, producer flushed. */
static void teardown(void)
{
	for (int i = 0; i < nstarted; i++)
		if (waitpid(started[i], NULL, WNOHANG) == 0)
			nt_stop(started[i], SIGKILL, 5000);
	nstarted = 0;
	ns_producer_destroy(producer, 5000);
	producer = NULL;
}

#define N_NOTIF 60

/* Histories of three shapes: in order with a duplicate webhook, fully reversed arrival,
 * and a rejection with a late retry of an earlier status. */
static void produce_histories(const char *topic, const char *prefix, int n)
{
	char id[64];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%s-%03d", prefix, i);
		switch (i % 3) {
		case 0:
			requested(topic, id, "hello", T0);
			dispatched(topic, id, T0 + 10);
			webhook(topic, id, "sent", T0 + 20);
			webhook(topic, id, "delivered", T0 + 30);
			webhook(topic, id, "delivered", T0 + 30); /* provider retry */
			break;
		case 1:
			webhook(topic, id, "delivered", T0 + 30);
			webhook(topic, id, "sent", T0 + 20);
			dispatched(topic, id, T0 + 10);
			requested(topic, id, "hello", T0);
			break;
		default:
			requested(topic, id, "hello", T0);
			dispatched(topic, id, T0 + 10);
			webhook(topic, id, "rejected", T0 + 20);
			webhook(topic, id, "processing", T0 + 15);     /* late */
			requested(topic, id, "changed body", T0 + 40); /* conflict */
			break;
		}
	}
}

static int dlq_has(const char *dlq_topic, const char *value)
{
	char err[512], group[128];
	ns_consumer *c;
	int found = 0;

	snprintf(group, sizeof(group), "dlq-reader-%d-%ld", (int)getpid(), (long)random());
	c = ns_consumer_new(group, dlq_topic, NULL, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	for (int i = 0; i < 300 && !found; i++) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 100);
		if (!m)
			continue;
		if (!m->err && m->len == strlen(value) && !memcmp(m->payload, value, m->len)) {
			/* The reason and the source position travel as headers. */
			rd_kafka_headers_t *h = NULL;
			const void *reason = NULL, *topic = NULL;
			size_t rlen = 0, tlen = 0;
			ck_assert_int_eq(rd_kafka_message_headers(m, &h),
					 RD_KAFKA_RESP_ERR_NO_ERROR);
			ck_assert_int_eq(rd_kafka_header_get_last(h, "dlq.reason", &reason, &rlen),
					 RD_KAFKA_RESP_ERR_NO_ERROR);
			ck_assert_int_eq(rd_kafka_header_get_last(h, "dlq.topic", &topic, &tlen),
					 RD_KAFKA_RESP_ERR_NO_ERROR);
			ck_assert_msg(rlen > 0, "empty dlq.reason header");
			ck_assert_msg(tlen + 4 == strlen(dlq_topic) &&
					  !memcmp(topic, dlq_topic, tlen),
				      "dlq.topic header names the wrong topic");
			found = 1;
		}
		rd_kafka_message_destroy(m);
	}
	ns_consumer_close(c);
	return found;
}

START_TEST(test_fold_from_topic)
{
	char topic[256], dlq[300], buf[256], url[128], *metrics = NULL;
	projector p = {0};
	int st;

	nt_topic_new("proj", 3, topic, sizeof(topic));
	snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
	reset_acked();
	produce_histories(topic, "a", N_NOTIF / 2);
	produce_raw(topic, "garbage", "{\"this is\": \"not an event\"}");
	produce_histories(topic, "b", N_NOTIF / 2);
	flush_producer();

	projector_init(&p, "proj-fold");
	projector_start(&p, topic, "projector");
	ck_assert_int_eq(nt_wait_http(p.port, "/healthz", 20000), 0);
	wait_caught_up(&p, topic);

	/* every notification there, with its final status */
	db_text(p.db, "SELECT count(*) FROM notifications", NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "60");
	db_text(p.db, "SELECT count(*) FROM notifications WHERE status = 'delivered'", NULL, buf,
		sizeof(buf));
	ck_assert_str_eq(buf, "40");
	db_text(p.db,
		"SELECT count(*) FROM notifications WHERE status = 'rejected'"
		" AND provider_id = 'prov-' || external_id",
		NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "20");
	db_text(p.db, "SELECT count(*) FROM events", NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "280"); /* 20*5 + 20*4 + 20*5 */

	/* histories, in log order */
	db_text(p.db,
		"SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM events"
		" WHERE external_id = ?1 ORDER BY partition, offset)",
		"a-000", buf, sizeof(buf));
	ck_assert_str_eq(buf, "applied,applied,applied,applied,duplicate");
	db_text(p.db,
		"SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM events"
		" WHERE external_id = ?1 ORDER BY partition, offset)",
		"b-001", buf, sizeof(buf));
	ck_assert_str_eq(buf, "applied,stale,stale,applied");
	db_text(p.db,
		"SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM events"
		" WHERE external_id = ?1 ORDER BY partition, offset)",
		"a-002", buf, sizeof(buf));
	ck_assert_str_eq(buf, "applied,applied,applied,stale,conflict");
	db_text(p.db, "SELECT count(*) FROM events WHERE outcome = 'conflict'", NULL, buf,
		sizeof(buf));
	ck_assert_str_eq(buf, "20");

	/* the garbage went to the DLQ, and the projector moved on past it */
	ck_assert_msg(dlq_has(dlq, "{\"this is\": \"not an event\"}"), "garbage not in %s", dlq);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", p.port);
	ck_assert_int_eq(nt_http("GET", url, NULL, NULL, &metrics), 200);
	ck_assert_ptr_nonnull(strstr(metrics, "projector_dlq_total 1"));
	ck_assert_ptr_nonnull(strstr(metrics, "projector_events_total{outcome=\"conflict\"} 20"));
	free(metrics);

	st = projector_stop(&p, SIGTERM);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "projector exit status %d", st);
}
END_TEST

static void rounds_histories(const char *topic, int round)
{
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "r%d", round);
	produce_histories(topic, prefix, 450);
	/* and more events for notifications of the previous round */
	if (round > 0) {
		char id[64];
		for (int i = 0; i < 450; i += 3) {
			snprintf(id, sizeof(id), "r%d-%03d", round - 1, i);
			webhook(topic, id, "sent", T0 + 25);
		}
	}
}

START_TEST(test_crash_restart_equals_clean_replay)
{
	char topic[256], group[64];
	projector a = {0}, b = {0};
	char *da, *db;
	int st, mid_stream = 0;

	nt_topic_new("proj-crash", 3, topic, sizeof(topic));
	reset_acked();
	projector_init(&a, "proj-crash-a");
	projector_init(&b, "proj-crash-b");

	for (int round = 0; round < 4; round++) {
		progress_arg pa = {a.db, topic, stored_sum(a.db, topic)};

		rounds_histories(topic, round);
		flush_producer();
		/* a fresh group per start: offsets come from SQLite, and the killed member's
		 * session need not expire first */
		snprintf(group, sizeof(group), "crash-a-%d", round);
		projector_start(&a, topic, group);
		/* kill it as soon as it has committed something of this round */
		if (nt_eventually(progress, &pa, 60000) != 0) {
			nt_dump_log(a.log);
			ck_abort_msg("projector made no progress in round %d", round);
		}
		st = projector_stop(&a, SIGKILL);
		ck_assert(WIFSIGNALED(st) || WIFEXITED(st));
		mid_stream += stored_sum(a.db, topic) < acked_sum();
	}
	fprintf(stderr, "test_projector: %d of 4 kills landed before the projector caught up\n",
		mid_stream);
	projector_start(&a, topic, "crash-a-final");
	wait_caught_up(&a, topic);
	st = projector_stop(&a, SIGTERM);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "projector exit status %d", st);

	projector_start(&b, topic, "crash-b");
	wait_caught_up(&b, topic);
	st = projector_stop(&b, SIGTERM);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "projector exit status %d", st);

	da = dump(a.db);
	db = dump(b.db);
	ck_assert_ptr_nonnull(strstr(da, "notification\tr3-449\t"));
	ck_assert_msg(strcmp(da, db) == 0, "crash-restarted and clean databases differ");
	free(da);
	free(db);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("projector");
	TCase *tc = tcase_create("projector");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_fold_from_topic);
	tcase_add_test(tc, test_crash_restart_equals_clean_replay);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
