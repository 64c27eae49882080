/* test_projector.c -- the projector daemon against the real broker: a topic of encoded
 * events (out of order, duplicate webhooks, late statuses, a garbage message) folds into
 * the expected states and histories; the garbage lands in the DLQ topic; and a projector
 * SIGKILLed mid-stream and restarted several times ends with a database equal, row for
 * row, to one built by an uninterrupted run over the same topic. Kafka hears of the folded
 * offsets at most once a second, and of the last ones on the way out. */
#include "ns_kafka.h"
#include "ns_time.h"
#include "nt.h"
#include "nt_events.h"

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1740830400000LL

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
	snprintf(env[2], sizeof(env[2]), "PROJECTOR_ADMIN_LISTEN=127.0.0.1:%d", p->port);
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
	/* up (its signal handlers installed) before anyone stops it: a database already
	 * caught up lets a test send SIGTERM at once, and a SIGTERM before main's handlers
	 * kills the process with the default action */
	ck_assert_int_eq(nt_wait_http(p->port, "/healthz", 20000), 0);
}

/* Stop with sig; returns the wait status. */
static int projector_stop(projector *p, int sig)
{
	int st = nt_stop(p->pid, sig, 20000);
	p->pid = -1;
	return st;
}

static void wait_caught_up(projector *p, const char *topic)
{
	nt_wait_caught_up(p->db, topic, p->log);
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

/* ---- tests ---- */

/* After each test (also a failed one): no daemon left running, producer flushed. */
static void teardown(void)
{
	for (int i = 0; i < nstarted; i++)
		if (waitpid(started[i], NULL, WNOHANG) == 0)
			nt_stop(started[i], SIGKILL, 5000);
	nstarted = 0;
	nt_produce_close();
}

#define N_NOTIF 60

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

/* Non-zero once /metrics of the projector at *port shows a lag of 0 for partitions 0-2
 * of a 3-partition topic, and no gauge for a partition it was never assigned. */
static int lag_reported(void *arg)
{
	char url[128], *metrics = NULL;
	int ok;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", *(int *)arg);
	if (nt_http("GET", url, NULL, NULL, &metrics) != 200) {
		free(metrics);
		return 0;
	}
	ok = strstr(metrics, "projector_partition_lag{partition=\"0\"} 0\n") &&
	     strstr(metrics, "projector_partition_lag{partition=\"1\"} 0\n") &&
	     strstr(metrics, "projector_partition_lag{partition=\"2\"} 0\n") &&
	     !strstr(metrics, "projector_partition_lag{partition=\"3\"}") &&
	     strstr(metrics, "\nprojector_lag 0\n");
	free(metrics);
	return ok;
}

/* The offsets group has committed to Kafka for partitions 0..n-1 of topic, summed (a
 * partition with none counts 0). Asked through a handle that never joins the group. */
static long long kafka_committed_sum(const char *group, const char *topic, int n)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
	rd_kafka_t *rk;
	long long sum = 0;

	ck_assert(rd_kafka_conf_set(conf, "bootstrap.servers", nt_bootstrap(), err, sizeof(err)) ==
		  RD_KAFKA_CONF_OK);
	ck_assert(rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) == RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "%s", err);
	for (int p = 0; p < n; p++)
		rd_kafka_topic_partition_list_add(l, topic, p);
	ck_assert_int_eq(rd_kafka_committed(rk, l, 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
	for (int i = 0; i < l->cnt; i++) {
		ck_assert_int_eq(l->elems[i].err, RD_KAFKA_RESP_ERR_NO_ERROR);
		if (l->elems[i].offset > 0)
			sum += l->elems[i].offset;
	}
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	return sum;
}

/* The value of the unlabelled counter name in the /metrics text, or -1. */
static long long metric_value(const char *metrics, const char *name)
{
	char key[128];
	const char *at;

	snprintf(key, sizeof(key), "\n%s ", name);
	at = strstr(metrics, key);
	return at ? atoll(at + strlen(key)) : -1;
}

START_TEST(test_fold_from_topic)
{
	char topic[256], dlq[300], buf[256], url[128], *metrics = NULL;
	projector p = {0};
	long long commits, started_at;
	int st;

	nt_topic_new("proj", 3, topic, sizeof(topic));
	snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
	nt_produce_reset();
	nt_produce_histories(topic, "a", 3, N_NOTIF / 2, T0, -1);
	nt_produce_raw(topic, "garbage", NT_GARBAGE);
	nt_produce_histories(topic, "b", 3, N_NOTIF / 2, T0, -1);
	nt_produce_flush();

	projector_init(&p, "proj-fold");
	started_at = ns_time_mono_ms();
	projector_start(&p, topic, "projector");
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
		"SELECT group_concat(outcome, ',') FROM (SELECT e.outcome FROM notifications n"
		" JOIN events e ON e.nid = n.nid WHERE n.external_id = ?1"
		" ORDER BY e.partition, e.offset)",
		"a-000", buf, sizeof(buf));
	ck_assert_str_eq(buf, "applied,applied,applied,applied,duplicate");
	db_text(p.db,
		"SELECT group_concat(outcome, ',') FROM (SELECT e.outcome FROM notifications n"
		" JOIN events e ON e.nid = n.nid WHERE n.external_id = ?1"
		" ORDER BY e.partition, e.offset)",
		"b-001", buf, sizeof(buf));
	ck_assert_str_eq(buf, "applied,stale,stale,applied");
	db_text(p.db,
		"SELECT group_concat(outcome, ',') FROM (SELECT e.outcome FROM notifications n"
		" JOIN events e ON e.nid = n.nid WHERE n.external_id = ?1"
		" ORDER BY e.partition, e.offset)",
		"a-002", buf, sizeof(buf));
	ck_assert_str_eq(buf, "applied,applied,applied,stale,conflict");
	db_text(p.db, "SELECT count(*) FROM events WHERE outcome = 'conflict'", NULL, buf,
		sizeof(buf));
	ck_assert_str_eq(buf, "20");

	/* the garbage went to the DLQ, and the projector moved on past it */
	ck_assert_msg(dlq_has(dlq, NT_GARBAGE), "garbage not in %s", dlq);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", p.port);
	ck_assert_int_eq(nt_http("GET", url, NULL, NULL, &metrics), 200);
	ck_assert_ptr_nonnull(strstr(metrics, "projector_dlq_total 1"));
	ck_assert_ptr_nonnull(strstr(metrics, "projector_events_total{outcome=\"conflict\"} 20"));
	/* 281 messages in batches of at most 25 are 12 commits to SQLite or more, but Kafka
	 * hears of them at most once a second: each commit to Kafka is a request the group's
	 * heartbeats queue behind */
	commits = metric_value(metrics, "projector_kafka_commits_total");
	ck_assert_int_ge(commits, 1);
	ck_assert_int_le(commits, 1 + (ns_time_mono_ms() - started_at) / 1000);
	free(metrics);
	/* the lag, from the watermarks the consumer saw: none left on any of its partitions,
	 * and the figures' copy holds each partition's high watermark (281 messages) */
	ck_assert_msg(nt_eventually(lag_reported, &p.port, 10000) == 0,
		      "no zero lag reported for partitions 0-2");
	db_text(p.db, "SELECT count(*) || ' ' || total(high_watermark) FROM lag WHERE topic = ?1",
		topic, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3 281.0");

	st = projector_stop(&p, SIGTERM);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "projector exit status %d", st);
	/* the last positions reached Kafka on the way out, for lag tools */
	ck_assert_int_eq(kafka_committed_sum("projector", topic, 3), 281);
}
END_TEST

static void rounds_histories(const char *topic, int round)
{
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "r%d", round);
	nt_produce_histories(topic, prefix, 3, 450, T0, -1);
	/* and more events for notifications of the previous round */
	if (round > 0) {
		char id[64];
		for (int i = 0; i < 450; i += 3) {
			snprintf(id, sizeof(id), "r%d-%03d", round - 1, i);
			nt_produce_webhook(topic, id, "sent", T0 + 25);
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
	nt_produce_reset();
	projector_init(&a, "proj-crash-a");
	projector_init(&b, "proj-crash-b");

	for (int round = 0; round < 4; round++) {
		progress_arg pa = {a.db, topic, stored_sum(a.db, topic)};

		rounds_histories(topic, round);
		nt_produce_flush();
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
		mid_stream += stored_sum(a.db, topic) < nt_acked_sum();
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

	da = nt_db_dump(a.db);
	db = nt_db_dump(b.db);
	ck_assert_ptr_nonnull(strstr(da, "notification\t" NT_TENANT "\tr3-449\t"));
	ck_assert_msg(strcmp(da, db) == 0, "crash-restarted and clean databases differ");
	free(da);
	free(db);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("projector");
	TCase *tc = tcase_create("projector");

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_fold_from_topic);
	tcase_add_test(tc, test_crash_restart_equals_clean_replay);
	suite_add_tcase(su, tc);
	return nt_run_suite(su);
}
