/* test_kafka.c -- ns_kafka against the real broker under test (NS_TEST_BOOTSTRAP).
 *
 * Concurrent synchronous sends from many threads all get acked with per-partition
 * increasing offsets and are read back exactly once by a fresh consumer group; on_assign
 * offsets are honoured; async sends report; watermarks count what was produced; topic
 * creation is idempotent; environment values that would break the design are refused. */
#include "nt.h"
#include "ns_kafka.h"
#include "ns_log.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS	   8
#define PER_THREAD 125
#define N	   (THREADS * PER_THREAD)
#define PARTS	   3

typedef struct {
	int rc;
	ns_delivery d;
} sent_msg;

typedef struct {
	ns_producer *p;
	const char *topic;
	int t;
	sent_msg *out; /* N entries, this thread fills [t*PER_THREAD, (t+1)*PER_THREAD) */
} sender_arg;

static void key_of(int t, int i, char *buf, size_t len)
{
	snprintf(buf, len, "k-%d-%d", t, i);
}

static void value_of(int idx, char *buf, size_t len)
{
	snprintf(buf, len, "{\"n\":%d,\"pad\":\"value-%d\"}", idx, idx * 7);
}

static void *sender_main(void *argp)
{
	sender_arg *a = argp;
	char key[32], val[64];

	for (int i = 0; i < PER_THREAD; i++) {
		int idx = a->t * PER_THREAD + i;
		key_of(a->t, i, key, sizeof(key));
		value_of(idx, val, sizeof(val));
		a->out[idx].rc = ns_producer_send(a->p, a->topic, key, strlen(key), val,
						  strlen(val), 15000, &a->out[idx].d);
	}
	return NULL;
}

/* Index of a message from its key "k-T-I", or -1. */
static int index_of(const char *key, size_t len)
{
	char buf[32];
	int t, i;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, key, len);
	buf[len] = '\0';
	if (sscanf(buf, "k-%d-%d", &t, &i) != 2 || t < 0 || t >= THREADS || i < 0 ||
	    i >= PER_THREAD)
		return -1;
	return t * PER_THREAD + i;
}

static void unique_group(const char *tag, char *out, size_t len)
{
	static int counter;
	snprintf(out, len, "test-%s.%d.%d.%d", tag, (int)getpid(), ++counter, rand() % 100000);
}

START_TEST(test_concurrent_send_and_read_back)
{
	char topic[256], group[128], err[512];
	static sent_msg sent[N];
	static int seen[N];
	sender_arg args[THREADS];
	pthread_t th[THREADS];
	int64_t hw[PARTS];
	int nparts = 0, got = 0;
	ns_producer *p;
	ns_consumer *c;

	nt_topic_new("test.kafka", PARTS, topic, sizeof(topic));
	p = ns_producer_new("test-kafka", err, sizeof(err));
	ck_assert_msg(p != NULL, "producer: %s", err);
	for (int t = 0; t < THREADS; t++) {
		args[t] = (sender_arg){.p = p, .topic = topic, .t = t, .out = sent};
		ck_assert_int_eq(pthread_create(&th[t], NULL, sender_main, &args[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	/* Every send acked, persisted, in range. */
	for (int i = 0; i < N; i++) {
		ck_assert_msg(sent[i].rc == 0, "message %d: %s", i,
			      rd_kafka_err2str(sent[i].d.err));
		ck_assert_int_eq(sent[i].d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
		ck_assert_int_eq(sent[i].d.status, RD_KAFKA_MSG_STATUS_PERSISTED);
		ck_assert(sent[i].d.partition >= 0 && sent[i].d.partition < PARTS);
		ck_assert(sent[i].d.offset >= 0);
	}
	/* One thread's messages to one partition got increasing offsets. */
	for (int t = 0; t < THREADS; t++) {
		int64_t last[PARTS] = {-1, -1, -1};
		for (int i = 0; i < PER_THREAD; i++) {
			const ns_delivery *d = &sent[t * PER_THREAD + i].d;
			ck_assert_msg(d->offset > last[d->partition],
				      "thread %d msg %d: offset %lld after %lld", t, i,
				      (long long)d->offset, (long long)last[d->partition]);
			last[d->partition] = d->offset;
		}
	}
	/* Offsets within a partition are distinct and dense: 0..count-1. */
	{
		int count[PARTS] = {0};
		static unsigned char used[PARTS][N];
		memset(used, 0, sizeof(used));
		for (int i = 0; i < N; i++) {
			const ns_delivery *d = &sent[i].d;
			ck_assert(d->offset < N);
			ck_assert_msg(!used[d->partition][d->offset], "offset %lld twice",
				      (long long)d->offset);
			used[d->partition][d->offset] = 1;
			count[d->partition]++;
		}
		ck_assert(ns_kafka_high_watermarks(ns_producer_handle(p), topic, hw, PARTS, &nparts,
						   5000, err, sizeof(err)) == 0);
		ck_assert_int_eq(nparts, PARTS);
		for (int k = 0; k < PARTS; k++)
			ck_assert_int_eq(hw[k], count[k]);
	}
	ck_assert_int_eq(ns_producer_outq_len(p), 0);
	ck_assert_int_eq(ns_producer_fatal(p), 0);
	ns_producer_destroy(p, 5000);

	/* A fresh group reads back exactly those messages, keys and values intact. */
	unique_group("readback", group, sizeof(group));
	c = ns_consumer_new(group, topic, NULL, err, sizeof(err));
	ck_assert_msg(c != NULL, "consumer: %s", err);
	memset(seen, 0, sizeof(seen));
	for (int idle = 0; got < N && idle < 600;) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 100);
		char val[64];
		int idx;
		if (!m) {
			idle++;
			continue;
		}
		ck_assert_msg(m->err == 0, "consume error: %s", rd_kafka_message_errstr(m));
		idx = index_of(m->key, m->key_len);
		ck_assert_msg(idx >= 0, "unexpected key");
		ck_assert_msg(!seen[idx], "message %d read twice", idx);
		seen[idx] = 1;
		value_of(idx, val, sizeof(val));
		ck_assert_uint_eq(m->len, strlen(val));
		ck_assert(memcmp(m->payload, val, m->len) == 0);
		ck_assert_int_eq(m->partition, sent[idx].d.partition);
		ck_assert_int_eq(m->offset, sent[idx].d.offset);
		got++;
		rd_kafka_message_destroy(m);
	}
	ck_assert_int_eq(got, N);
	/* Nothing beyond the N: every partition's position is its high watermark. */
	{
		rd_kafka_topic_partition_list_t *pos;
		ck_assert(rd_kafka_assignment(ns_consumer_handle(c), &pos) == 0);
		ck_assert_int_eq(pos->cnt, PARTS);
		ck_assert(rd_kafka_position(ns_consumer_handle(c), pos) == 0);
		for (int k = 0; k < pos->cnt; k++)
			ck_assert_int_eq(pos->elems[k].offset, hw[pos->elems[k].partition]);
		rd_kafka_topic_partition_list_destroy(pos);
	}
	ck_assert_int_eq(ns_consumer_failed(c), 0);
	ns_consumer_close(c);
}
END_TEST

#define K 7
#define M 20

typedef struct {
	int assigned;
	int revoked;
} hook_state;

static int start_at_k(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
	hook_state *s = opaque;
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].partition == 0)
			parts->elems[i].offset = K;
	s->assigned += parts->cnt;
	return 0;
}

static void count_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	hook_state *s = opaque;
	s->revoked += parts->cnt;
}

/* Produce M messages "m-0".."m-(M-1)" to a 1-partition topic. */
static void produce_m(const char *topic)
{
	char err[512], key[16];
	ns_producer *p = ns_producer_new("test-kafka-m", err, sizeof(err));
	ns_delivery d;

	ck_assert_msg(p != NULL, "producer: %s", err);
	for (int i = 0; i < M; i++) {
		snprintf(key, sizeof(key), "m-%d", i);
		ck_assert(
		    ns_producer_send(p, topic, key, strlen(key), key, strlen(key), 10000, &d) == 0);
		ck_assert_int_eq(d.offset, i);
	}
	ns_producer_destroy(p, 5000);
}

static void check_hook_start(const char *assignor)
{
	char topic[256], group[128], err[512];
	hook_state st = {0, 0};
	ns_rebalance rb = {.on_assign = start_at_k, .on_revoke = count_revoke, .opaque = &st};
	int next = K;
	ns_consumer *c;

	nt_topic_new("test.kafka.assign", 1, topic, sizeof(topic));
	produce_m(topic);
	setenv("KAFKA_PARTITION_ASSIGNMENT_STRATEGY", assignor, 1);
	unique_group("assign", group, sizeof(group));
	c = ns_consumer_new(group, topic, &rb, err, sizeof(err));
	unsetenv("KAFKA_PARTITION_ASSIGNMENT_STRATEGY");
	ck_assert_msg(c != NULL, "consumer: %s", err);
	for (int idle = 0; next < M && idle < 600;) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 100);
		char key[16];
		if (!m) {
			idle++;
			continue;
		}
		ck_assert_msg(m->err == 0, "consume error: %s", rd_kafka_message_errstr(m));
		ck_assert_int_eq(m->offset, next);
		snprintf(key, sizeof(key), "m-%d", next);
		ck_assert_uint_eq(m->key_len, strlen(key));
		ck_assert(memcmp(m->key, key, m->key_len) == 0);
		next++;
		rd_kafka_message_destroy(m);
	}
	ck_assert_int_eq(next, M);
	ck_assert_int_eq(st.assigned, 1);
	ck_assert_int_eq(ns_consumer_failed(c), 0);
	ns_consumer_close(c);
	ck_assert_int_eq(st.revoked, 1); /* close revokes through the hook */
}

START_TEST(test_on_assign_offsets_eager)
{
	check_hook_start("range");
}
END_TEST

START_TEST(test_on_assign_offsets_cooperative)
{
	check_hook_start("cooperative-sticky");
}
END_TEST

static int refuse_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
	(void)opaque;
	(void)parts;
	return -1;
}

START_TEST(test_on_assign_failure_marks_failed)
{
	char topic[256], group[128], err[512];
	ns_rebalance rb = {.on_assign = refuse_assign};
	ns_consumer *c;

	nt_topic_new("test.kafka.fail", 1, topic, sizeof(topic));
	produce_m(topic);
	unique_group("fail", group, sizeof(group));
	c = ns_consumer_new(group, topic, &rb, err, sizeof(err));
	ck_assert_msg(c != NULL, "consumer: %s", err);
	for (int polls = 0; !ns_consumer_failed(c) && polls < 300; polls++) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 100);
		/* Nothing is assigned, so nothing may be delivered. */
		ck_assert_msg(m == NULL || m->err != 0, "message delivered without assignment");
		if (m)
			rd_kafka_message_destroy(m);
	}
	ck_assert_int_ne(ns_consumer_failed(c), 0);
	ns_consumer_close(c);
}
END_TEST

static atomic_int async_ok;

static void on_async(void *opaque, const ns_delivery *d)
{
	int *flag = opaque;
	if (d->err == RD_KAFKA_RESP_ERR_NO_ERROR && d->offset >= 0) {
		*flag = 1;
		atomic_fetch_add(&async_ok, 1);
	}
}

START_TEST(test_async_send)
{
	char topic[256], err[512];
	int flags[50] = {0};
	ns_producer *p;

	nt_topic_new("test.kafka.async", 2, topic, sizeof(topic));
	p = ns_producer_new("test-kafka-async", err, sizeof(err));
	ck_assert_msg(p != NULL, "producer: %s", err);
	for (int i = 0; i < 50; i++)
		ck_assert(ns_producer_send_async(p, topic, "a", 1, "x", 1, on_async, &flags[i]) ==
			  0);
	ns_producer_destroy(p, 10000); /* flush serves every report */
	ck_assert_int_eq(atomic_load(&async_ok), 50);
	for (int i = 0; i < 50; i++)
		ck_assert(flags[i]);
}
END_TEST

START_TEST(test_topic_ensure_idempotent)
{
	char topic[256], err[512];
	int64_t hw[4];
	int n = 0;
	ns_producer *p;

	nt_topic_new("test.kafka.ensure", 4, topic, sizeof(topic));
	ck_assert_msg(ns_kafka_topic_ensure(topic, 4, 10000, err, sizeof(err)) == 0, "%s", err);
	p = ns_producer_new("test-kafka-hw", err, sizeof(err));
	ck_assert_msg(p != NULL, "producer: %s", err);
	ck_assert(ns_kafka_high_watermarks(ns_producer_handle(p), topic, hw, 4, &n, 5000, err,
					   sizeof(err)) == 0);
	ck_assert_int_eq(n, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(hw[i], 0);
	/* Too little room is an error, not an overflow. */
	ck_assert(ns_kafka_high_watermarks(ns_producer_handle(p), topic, hw, 2, &n, 5000, err,
					   sizeof(err)) == -1);
	ns_producer_destroy(p, 1000);
}
END_TEST

/* The consumer outside any group: exactly the assigned partitions from the given offsets,
 * partition EOF reported at the end, pause stops a partition, the cached watermark needs
 * no request; plus the producer's topic wait. */
START_TEST(test_assigned_consumer)
{
	char topic[256], err[512], val[32];
	ns_kafka_pos pos[2] = {{0, RD_KAFKA_OFFSET_BEGINNING}, {1, 3}};
	int seen[2] = {0, 0}, eof[2] = {0, 0};
	int64_t first1 = -1, hw = -1;
	ns_producer *p;
	ns_consumer *c;
	ns_delivery d;

	nt_topic_new("test.kafka.assigned", 3, topic, sizeof(topic));
	p = ns_producer_new("test-kafka-assigned", err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(ns_producer_wait_topic(p, topic, 10000, err, sizeof(err)), 3);
	ck_assert_int_eq(ns_producer_wait_topic(p, "no.such.topic.ever", 1000, err, sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, "no.such.topic.ever") != NULL, "%s", err);
	/* 60 messages with distinct keys spread over the 3 partitions */
	for (int k = 0; k < 60; k++) {
		char key[32];
		snprintf(key, sizeof(key), "key-%d", k);
		snprintf(val, sizeof(val), "v%d", k);
		ck_assert(
		    ns_producer_send(p, topic, key, strlen(key), val, strlen(val), 10000, &d) == 0);
	}
	c = ns_consumer_new_assigned("test-kafka-assigned", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_msg(ns_consumer_assign(c, topic, pos, 2, err, sizeof(err)) == 0, "%s", err);
	while (!eof[0] || !eof[1]) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 5000);
		ck_assert_msg(m != NULL, "no EOF within 5 s");
		ck_assert_msg(m->partition == 0 || m->partition == 1, "partition %d not assigned",
			      (int)m->partition);
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			eof[m->partition] = 1;
		} else {
			ck_assert_int_eq(m->err, 0);
			if (m->partition == 1 && first1 < 0)
				first1 = m->offset;
			seen[m->partition]++;
		}
		rd_kafka_message_destroy(m);
	}
	ck_assert_int_gt(seen[0], 0);
	ck_assert(first1 == -1 || first1 == 3);
	ck_assert_int_eq(ns_consumer_cached_watermark(c, topic, 0, &hw), 0);
	ck_assert_int_eq(hw, seen[0]);
	/* paused: a new message in partition 0 is not delivered */
	ck_assert_int_eq(ns_consumer_pause(c, topic, 0), 0);
	for (int k = 0; k < 200; k++) {
		char key[32];
		snprintf(key, sizeof(key), "more-%d", k);
		ck_assert(ns_producer_send(p, topic, key, strlen(key), "x", 1, 10000, &d) == 0);
		if (d.partition == 0)
			break;
	}
	ck_assert_int_eq(d.partition, 0);
	for (;;) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 1500);
		if (!m)
			break;
		ck_assert_msg(m->partition != 0 || m->err != 0, "message from a paused partition");
		rd_kafka_message_destroy(m);
	}
	/* nothing to commit is fine; the assigned consumer has no group to commit to */
	ck_assert_int_eq(ns_consumer_commit(c, topic, pos, 0, 0), 0);
	ns_consumer_close(c);
	ns_producer_destroy(p, 1000);
}
END_TEST

static const struct {
	const char *var, *value;
	int producer; /* 1: ns_producer_new must refuse, 0: ns_consumer_new must */
} refused[] = {
    {"KAFKA_ENABLE_IDEMPOTENCE", "false", 1}, {"KAFKA_ACKS", "1", 1},
    {"KAFKA_ENABLE_AUTO_COMMIT", "true", 0},  {"KAFKA_ENABLE_AUTO_OFFSET_STORE", "true", 0},
    {"KAFKA_LINGER_MS", "not-a-number", 1},
};

START_TEST(test_env_refused)
{
	char err[512] = "";

	setenv(refused[_i].var, refused[_i].value, 1);
	if (refused[_i].producer) {
		ck_assert(ns_producer_new("test-refuse", err, sizeof(err)) == NULL);
	} else {
		ck_assert(ns_consumer_new("g", "t", NULL, err, sizeof(err)) == NULL);
	}
	ck_assert_msg(strstr(err, refused[_i].var + 6) || strstr(err, "linger"),
		      "error names the setting: %s", err);
	unsetenv(refused[_i].var);
}
END_TEST

START_TEST(test_env_passthrough)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[256], val[256];
	size_t vlen = sizeof(val);

	setenv("KAFKA_BOOTSTRAP_SERVERS", "10.0.0.1:1234", 1);
	setenv("KAFKA_LINGER_MS", "5", 1);
	setenv("KAFKA_HOME", "/opt/kafka", 1); /* not a property: ignored */
	setenv("KAFKA_CLIENT_ID", "", 1);      /* empty: unset */
	ck_assert_msg(ns_kafka_conf_from_env(conf, err, sizeof(err)) == 0, "%s", err);
	ck_assert(rd_kafka_conf_get(conf, "bootstrap.servers", val, &vlen) == RD_KAFKA_CONF_OK);
	ck_assert_str_eq(val, "10.0.0.1:1234");
	vlen = sizeof(val);
	ck_assert(rd_kafka_conf_get(conf, "linger.ms", val, &vlen) == RD_KAFKA_CONF_OK);
	ck_assert_str_eq(val, "5");
	vlen = sizeof(val);
	ck_assert(rd_kafka_conf_get(conf, "client.id", val, &vlen) == RD_KAFKA_CONF_OK);
	ck_assert_str_eq(val, "rdkafka");
	ck_assert_str_eq(ns_kafka_bootstrap(), "10.0.0.1:1234");
	unsetenv("KAFKA_BOOTSTRAP_SERVERS");
	ck_assert_str_eq(ns_kafka_bootstrap(), "127.0.0.1:9092");
	rd_kafka_conf_destroy(conf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kafka");
	TCase *tc = tcase_create("broker");
	TCase *te = tcase_create("env");

	ns_log_init("test_kafka", NS_LOG_WARN);
	srand((unsigned)getpid());
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_send_and_read_back);
	tcase_add_test(tc, test_on_assign_offsets_eager);
	tcase_add_test(tc, test_on_assign_offsets_cooperative);
	tcase_add_test(tc, test_on_assign_failure_marks_failed);
	tcase_add_test(tc, test_async_send);
	tcase_add_test(tc, test_topic_ensure_idempotent);
	tcase_add_test(tc, test_assigned_consumer);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(te, test_env_refused, 0, (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(te, test_env_passthrough);
	suite_add_tcase(s, te);
	return nt_run_suite(s);
}
