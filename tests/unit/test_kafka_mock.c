/* test_kafka_mock.c -- ns_producer error paths against librdkafka's mock cluster
 * (rdkafka_mock.h), which a real broker cannot produce on demand: a send whose wait times
 * out before the (late) delivery report, retriable produce errors that still end acked, a
 * permanent produce error reported to the caller, and a fatal producer error. */
#include "nt.h"
#include "ns_kafka.h"
#include "ns_log.h"

#include <check.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PRODUCE 0 /* Kafka protocol ApiKey of Produce */
#define TOPIC	    "mock.topic"

static rd_kafka_t *host; /* owns the mock cluster */
static rd_kafka_mock_cluster_t *mc;
static ns_producer *p;

static void setup(void)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	ns_log_init("test_kafka_mock", NS_LOG_ERROR);
	/* The host handle needs no brokers: silence its configuration warning. */
	ck_assert(rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) == RD_KAFKA_CONF_OK);
	host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	ck_assert_msg(host != NULL, "%s", err);
	mc = rd_kafka_mock_cluster_new(host, 1);
	ck_assert_ptr_nonnull(mc);
	ck_assert_int_eq(rd_kafka_mock_topic_create(mc, TOPIC, 1, 1), 0);
	setenv("KAFKA_BOOTSTRAP_SERVERS", rd_kafka_mock_cluster_bootstraps(mc), 1);
	p = ns_producer_new("test-mock", err, sizeof(err));
	ck_assert_msg(p != NULL, "producer: %s", err);
}

static void teardown(void)
{
	ns_producer_destroy(p, 5000);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(host);
}

static int send1(int timeout_ms, ns_delivery *d)
{
	return ns_producer_send(p, TOPIC, "k", 1, "v", 1, timeout_ms, d);
}

START_TEST(test_ack)
{
	ns_delivery d;

	ck_assert_int_eq(send1(10000, &d), 0);
	ck_assert_int_eq(d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_int_eq(d.partition, 0);
	ck_assert_int_eq(d.offset, 0);
	ck_assert_int_eq(d.status, RD_KAFKA_MSG_STATUS_PERSISTED);
}
END_TEST

START_TEST(test_wait_times_out_before_report)
{
	ns_delivery d;

	ck_assert_int_eq(send1(10000, &d), 0); /* connected, producer id acquired */
	rd_kafka_mock_broker_set_rtt(mc, 1, 1500);
	ck_assert_int_eq(send1(200, &d), -1);
	ck_assert_int_eq(d.err, RD_KAFKA_RESP_ERR__TIMED_OUT);
	ck_assert_int_eq(d.status, RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED);
	/* The late report frees the abandoned waiter (ASan checks); the next send is acked
	 * after it, in order. */
	rd_kafka_mock_broker_set_rtt(mc, 1, 0);
	ck_assert_int_eq(send1(10000, &d), 0);
	ck_assert_int_eq(d.offset, 2);
}
END_TEST

START_TEST(test_retriable_errors_then_ack)
{
	ns_delivery d;

	ck_assert_int_eq(send1(10000, &d), 0);
	rd_kafka_mock_push_request_errors(mc, API_PRODUCE, 2, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
					  RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
	ck_assert_int_eq(send1(10000, &d), 0);
	ck_assert_int_eq(d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_int_eq(d.offset, 1); /* idempotence: retried once into the log, no dup */
}
END_TEST

START_TEST(test_permanent_error)
{
	ns_delivery d;

	ck_assert_int_eq(send1(10000, &d), 0);
	rd_kafka_mock_push_request_errors(mc, API_PRODUCE, 1,
					  RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	ck_assert_int_eq(send1(10000, &d), -1);
	ck_assert_int_eq(d.err, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}
END_TEST

static int is_fatal(void *arg)
{
	(void)arg;
	return ns_producer_fatal(p);
}

static void never(void *opaque, const ns_delivery *d)
{
	(void)opaque;
	(void)d;
	ck_abort_msg("callback for a message that was refused");
}

START_TEST(test_fatal)
{
	ns_delivery d;

	ck_assert_int_eq(send1(10000, &d), 0);
	ck_assert_int_eq(ns_producer_fatal(p), 0);
	rd_kafka_test_fatal_error(ns_producer_handle(p),
				  RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "test");
	ck_assert_int_eq(nt_eventually(is_fatal, NULL, 5000), 0);
	ck_assert_int_eq(send1(1000, &d), -1);
	ck_assert_int_eq(d.err, RD_KAFKA_RESP_ERR__FATAL);
	ck_assert_int_eq(ns_producer_send_async(p, TOPIC, "k", 1, "v", 1, never, NULL), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kafka_mock");
	TCase *tc = tcase_create("producer");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ack);
	tcase_add_test(tc, test_wait_times_out_before_report);
	tcase_add_test(tc, test_retriable_errors_then_ack);
	tcase_add_test(tc, test_permanent_error);
	tcase_add_test(tc, test_fatal);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
