/* ns_kafka_admin.c -- topic creation with infinite retention, waiting for a topic's
 * metadata, and high watermarks. */
#include "ns_kafka.h"
#include "ns_kafka_internal.h"
#include "ns_time.h"
#include "ns_log.h"
#include "ns_signal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* What one metadata answer says of topic: its partition count (0 when it has none yet)
 * when it exists and, with need_leaders, every partition is led; -1 otherwise, with *why
 * set to the broker's error for the topic. */
static int topic_state(const struct rd_kafka_metadata *md, int need_leaders,
		       rd_kafka_resp_err_t *why)
{
	const struct rd_kafka_metadata_topic *t;

	if (md->topic_cnt != 1)
		return -1;
	t = &md->topics[0];
	*why = t->err;
	if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	for (int i = 0; need_leaders && i < t->partition_cnt; i++) {
		if (t->partitions[i].leader < 0 || t->partitions[i].err != 0) {
			*why = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
			return -1;
		}
	}
	return t->partition_cnt;
}

int ns_kafka_wait_topic(rd_kafka_t *rk, const char *topic, int timeout_ms, int poll_ms,
			int need_leaders, char *err, size_t errlen)
{
	struct timespec deadline;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR__TIMED_OUT;
	int n = -1;

	if (!rkt) {
		snprintf(err, errlen, "topic %s: %s", topic,
			 rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	deadline = ns_time_mono_deadline(timeout_ms);
	while (n <= 0 && !ns_signal_stopping()) {
		const struct rd_kafka_metadata *md = NULL;
		last = rd_kafka_metadata(rk, 0, rkt, &md, poll_ms > 2000 ? poll_ms : 2000);
		if (last == RD_KAFKA_RESP_ERR_NO_ERROR) {
			n = topic_state(md, need_leaders, &last);
			rd_kafka_metadata_destroy(md);
		}
		if (n > 0 || ns_time_mono_passed(&deadline))
			break;
		(void)ns_signal_sleep_ms(poll_ms);
	}
	rd_kafka_topic_destroy(rkt);
	if (n > 0)
		return n;
	snprintf(err, errlen, "topic %s: %s", topic,
		 ns_signal_stopping() ? "stop requested" : rd_kafka_err2str(last));
	return -1;
}

/* A NewTopic with partitions, the broker's default replication factor (-1, brokers >=
 * 2.4) and infinite retention: the status topic is the system of record. NULL with err. */
static rd_kafka_NewTopic_t *new_topic(const char *topic, int partitions, int compacted, char *err,
				      size_t errlen)
{
	char rderr[512];
	rd_kafka_NewTopic_t *nt =
	    rd_kafka_NewTopic_new(topic, partitions, -1, rderr, sizeof(rderr));

	if (!nt) {
		snprintf(err, errlen, "NewTopic %s: %s", topic, rderr);
		return NULL;
	}
	if (rd_kafka_NewTopic_set_config(nt, "retention.ms", "-1") ||
	    rd_kafka_NewTopic_set_config(nt, "retention.bytes", "-1") ||
	    (compacted && rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact"))) {
		snprintf(err, errlen, "NewTopic %s: set config failed", topic);
		rd_kafka_NewTopic_destroy(nt);
		return NULL;
	}
	return nt;
}

/* Read the CreateTopics answer ev: 0 when created or already there, -1 with err. */
static int create_result(rd_kafka_event_t *ev, const char *topic, int partitions, char *err,
			 size_t errlen)
{
	const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
	const rd_kafka_topic_result_t **tres;
	rd_kafka_resp_err_t e;
	size_t ntres = 0;

	if (rd_kafka_event_error(ev)) {
		snprintf(err, errlen, "create %s: %s", topic, rd_kafka_event_error_string(ev));
		return -1;
	}
	tres = res ? rd_kafka_CreateTopics_result_topics(res, &ntres) : NULL;
	if (!tres || ntres != 1) {
		snprintf(err, errlen, "create %s: unexpected result", topic);
		return -1;
	}
	e = rd_kafka_topic_result_error(tres[0]);
	if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
		NS_DEBUG("kafka.topic.exists", "topic=%s", topic);
		return 0;
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		const char *why = rd_kafka_topic_result_error_string(tres[0]);
		snprintf(err, errlen, "create %s: %s", topic, why ? why : rd_kafka_err2str(e));
		return -1;
	}
	NS_INFO("kafka.topic.created", "topic=%s partitions=%d", topic, partitions);
	return 0;
}

/* Create topic (compacted or not) unless it exists and wait for its leaders. */
static int topic_ensure(const char *topic, int partitions, int compacted, int timeout_ms, char *err,
			size_t errlen)
{
	rd_kafka_t *rk = NULL;
	rd_kafka_NewTopic_t *nt = NULL;
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	char rderr[512];
	int rc = -1;

	rk = admin_handle(err, errlen);
	if (!rk)
		goto out;
	nt = new_topic(topic, partitions, compacted, err, errlen);
	if (!nt)
		goto out;
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
	if (create_result(ev, topic, partitions, err, errlen))
		goto out;
	if (ns_kafka_wait_topic(rk, topic, timeout_ms, 50, 1, rderr, sizeof(rderr)) < 0) {
		snprintf(err, errlen, "%s (partitions not led after %d ms)", rderr, timeout_ms);
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

int ns_kafka_topic_ensure(const char *topic, int partitions, int timeout_ms, char *err,
			  size_t errlen)
{
	return topic_ensure(topic, partitions, 0, timeout_ms, err, errlen);
}

int ns_kafka_topic_ensure_compacted(const char *topic, int partitions, int timeout_ms, char *err,
				    size_t errlen)
{
	return topic_ensure(topic, partitions, 1, timeout_ms, err, errlen);
}

int ns_kafka_partition_count(const char *topic, int timeout_ms, char *err, size_t errlen)
{
	rd_kafka_t *rk = admin_handle(err, errlen);
	int n;

	if (!rk)
		return -1;
	n = ns_kafka_wait_topic(rk, topic, timeout_ms, 200, 0, err, errlen);
	rd_kafka_destroy(rk);
	return n;
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
