/* ns_kafka_admin.c -- topic creation with infinite retention, and high watermarks. */
#include "ns_kafka.h"
#include "ns_kafka_internal.h"
#include "ns_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- admin -------------------------------------------------------------------------- */

/* A short-lived producer handle for admin calls, configured from the environment. */
static rd_kafka_t *admin_handle(char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk = NULL;
	char rderr[512];

	if (!conf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ns_kafka_conf_from_env(conf, err, errlen) != 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!rk) {
		snprintf(err, errlen, "rd_kafka_new: %s", rderr);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

/* Wait until metadata shows topic with every partition led. Returns 0 or -1. */
static int topic_wait_ready(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
	struct timespec deadline;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	int rc = -1;

	if (!rkt)
		return -1;
	ns_kafka_deadline_after(&deadline, timeout_ms);
	do {
		const struct rd_kafka_metadata *md = NULL;
		if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
			int ok = md->topic_cnt == 1 && md->topics[0].err == 0 &&
				 md->topics[0].partition_cnt > 0;
			for (int i = 0; ok && i < md->topics[0].partition_cnt; i++)
				ok = md->topics[0].partitions[i].leader >= 0 &&
				     md->topics[0].partitions[i].err == 0;
			rd_kafka_metadata_destroy(md);
			if (ok) {
				rc = 0;
				break;
			}
		}
		nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 50000000L}, NULL);
	} while (!ns_kafka_deadline_passed(&deadline));
	rd_kafka_topic_destroy(rkt);
	return rc;
}

int ns_kafka_topic_ensure(const char *topic, int partitions, int timeout_ms, char *err,
			  size_t errlen)
{
	rd_kafka_t *rk = NULL;
	rd_kafka_NewTopic_t *nt = NULL;
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tres;
	size_t ntres = 0;
	char rderr[512];
	int rc = -1;

	rk = admin_handle(err, errlen);
	if (!rk)
		goto out;
	/* -1: the broker's default replication factor (brokers >= 2.4). */
	nt = rd_kafka_NewTopic_new(topic, partitions, -1, rderr, sizeof(rderr));
	if (!nt) {
		snprintf(err, errlen, "NewTopic %s: %s", topic, rderr);
		goto out;
	}
	/* The status topic is the system of record: keep every event. */
	if (rd_kafka_NewTopic_set_config(nt, "retention.ms", "-1") ||
	    rd_kafka_NewTopic_set_config(nt, "retention.bytes", "-1")) {
		snprintf(err, errlen, "NewTopic %s: set config failed", topic);
		goto out;
	}
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	if (!opts ||
	    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, rderr, sizeof(rderr)) ||
	    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, rderr, sizeof(rderr))) {
		snprintf(err, errlen, "admin options: %s", opts ? rderr : "out of memory");
		goto out;
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
	ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
	if (!ev) {
		snprintf(err, errlen, "create %s: no answer in %d ms", topic, timeout_ms);
		goto out;
	}
	if (rd_kafka_event_error(ev)) {
		snprintf(err, errlen, "create %s: %s", topic, rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	tres = res ? rd_kafka_CreateTopics_result_topics(res, &ntres) : NULL;
	if (!tres || ntres != 1) {
		snprintf(err, errlen, "create %s: unexpected result", topic);
		goto out;
	}
	if (rd_kafka_topic_result_error(tres[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
		NS_DEBUG("kafka.topic.exists", "topic=%s", topic);
	} else if (rd_kafka_topic_result_error(tres[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "create %s: %s", topic,
			 rd_kafka_topic_result_error_string(tres[0])
			     ? rd_kafka_topic_result_error_string(tres[0])
			     : rd_kafka_err2str(rd_kafka_topic_result_error(tres[0])));
		goto out;
	} else {
		NS_INFO("kafka.topic.created", "topic=%s partitions=%d", topic, partitions);
	}
	if (topic_wait_ready(rk, topic, timeout_ms) != 0) {
		snprintf(err, errlen, "topic %s: partitions have no leader after %d ms", topic,
			 timeout_ms);
		goto out;
	}
	rc = 0;
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	if (opts)
		rd_kafka_AdminOptions_destroy(opts);
	if (nt)
		rd_kafka_NewTopic_destroy(nt);
	if (rk)
		rd_kafka_destroy(rk);
	return rc;
}

int ns_kafka_high_watermarks(rd_kafka_t *rk, const char *topic, int64_t *hw, int cap, int *n,
			     int timeout_ms, char *err, size_t errlen)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	int rc = -1, cnt, i;

	*n = 0;
	if (!rkt) {
		snprintf(err, errlen, "topic %s: %s", topic,
			 rd_kafka_err2str(rd_kafka_last_error()));
		goto out;
	}
	e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "metadata %s: %s", topic, rd_kafka_err2str(e));
		goto out;
	}
	if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "metadata %s: %s", topic,
			 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic");
		goto out;
	}
	cnt = md->topics[0].partition_cnt;
	if (cnt > cap) {
		snprintf(err, errlen, "topic %s has %d partitions, room for %d", topic, cnt, cap);
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		int32_t id = md->topics[0].partitions[i].id;
		int64_t lo = 0, hi = 0;
		if (id < 0 || id >= cnt) {
			snprintf(err, errlen, "topic %s: partition id %d out of range", topic,
				 (int)id);
			goto out;
		}
		e = rd_kafka_query_watermark_offsets(rk, topic, id, &lo, &hi, timeout_ms);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			snprintf(err, errlen, "watermarks %s[%d]: %s", topic, (int)id,
				 rd_kafka_err2str(e));
			goto out;
		}
		hw[id] = hi;
	}
	*n = cnt;
	rc = 0;
out:
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	return rc;
}
