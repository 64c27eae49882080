/* ns_kafka_consumer.c -- the consumer: manual offsets, and rebalance hooks that let the
 * caller choose where each assigned partition starts (offsets kept outside Kafka), with
 * eager and cooperative assignors alike. Used from one thread. */
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

/* ---- consumer ----------------------------------------------------------------------- */

struct ns_consumer {
	rd_kafka_t *rk;
	ns_rebalance rb;
	atomic_int failed;
};

static int is_cooperative(rd_kafka_t *rk)
{
	const char *proto = rd_kafka_rebalance_protocol(rk);
	return proto && strcmp(proto, "COOPERATIVE") == 0;
}

/* Log and consume an rd_kafka_error_t from the incremental calls. Returns 0 or -1. */
static int check_error(rd_kafka_error_t *e, const char *what)
{
	char q[512];

	if (!e)
		return 0;
	NS_ERROR("kafka.rebalance.error", "op=%s err=%s reason=%s", what,
		 rd_kafka_err2name(rd_kafka_error_code(e)),
		 ns_log_quote(rd_kafka_error_string(e), q, sizeof(q)));
	rd_kafka_error_destroy(e);
	return -1;
}

static int consumer_assign(ns_consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_topic_partition_list_t *mine = rd_kafka_topic_partition_list_copy(parts);
	rd_kafka_resp_err_t e;
	int rc = -1;

	if (!mine)
		goto out;
	if (c->rb.on_assign && c->rb.on_assign(c->rb.opaque, mine) != 0) {
		NS_ERROR("kafka.rebalance.hook_failed", "hook=on_assign partitions=%d", mine->cnt);
		goto out;
	}
	if (is_cooperative(rk)) {
		if (check_error(rd_kafka_incremental_assign(rk, mine), "incremental_assign"))
			goto out;
	} else {
		e = rd_kafka_assign(rk, mine);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			NS_ERROR("kafka.rebalance.error", "op=assign err=%s", rd_kafka_err2name(e));
			goto out;
		}
	}
	NS_INFO("kafka.rebalance.assign", "protocol=%s partitions=%d",
		rd_kafka_rebalance_protocol(rk) ? rd_kafka_rebalance_protocol(rk) : "NONE",
		mine->cnt);
	rc = 0;
out:
	if (mine)
		rd_kafka_topic_partition_list_destroy(mine);
	return rc;
}

static void consumer_revoke(ns_consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
	if (rd_kafka_assignment_lost(rk))
		NS_WARN("kafka.rebalance.lost", "partitions=%d", parts->cnt);
	if (c->rb.on_revoke)
		c->rb.on_revoke(c->rb.opaque, parts);
	if (is_cooperative(rk))
		check_error(rd_kafka_incremental_unassign(rk, parts), "incremental_unassign");
	else
		rd_kafka_assign(rk, NULL);
	NS_INFO("kafka.rebalance.revoke", "partitions=%d", parts->cnt);
}

/* Rebalance: on the consumer's thread, from inside rd_kafka_consumer_poll/close. */
static void consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
				  rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	ns_consumer *c = opaque;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (atomic_load(&c->failed) || consumer_assign(c, rk, parts) != 0)
			atomic_store(&c->failed, 1);
	} else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		consumer_revoke(c, rk, parts);
	} else {
		NS_ERROR("kafka.rebalance.error", "op=rebalance err=%s", rd_kafka_err2name(err));
		if (is_cooperative(rk))
			check_error(rd_kafka_incremental_unassign(rk, parts),
				    "incremental_unassign");
		else
			rd_kafka_assign(rk, NULL);
	}
}

static void consumer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	ns_consumer *c = opaque;
	char q[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char fe[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fe, sizeof(fe));
		atomic_store(&c->failed, 1);
		NS_ERROR("kafka.consumer.fatal", "client=%s err=%s reason=%s", rd_kafka_name(rk),
			 rd_kafka_err2name(orig), ns_log_quote(fe, q, sizeof(q)));
		return;
	}
	NS_WARN("kafka.error", "client=%s err=%s reason=%s", rd_kafka_name(rk),
		rd_kafka_err2name((rd_kafka_resp_err_t)err), ns_log_quote(reason, q, sizeof(q)));
}

ns_consumer *ns_consumer_new(const char *group_id, const char *topic, const ns_rebalance *rb,
			     char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *subs = NULL;
	ns_consumer *c = calloc(1, sizeof(*c));
	rd_kafka_resp_err_t e;
	char rderr[512];

	if (!conf || !c) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (rb)
		c->rb = *rb;
	if (ns_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
	    ns_kafka_conf_set(conf, "enable.partition.eof", "false", err, errlen))
		goto fail;
	if (ns_kafka_conf_from_env(conf, err, errlen) != 0)
		goto fail;
	if (ns_kafka_conf_lock(conf, NS_KAFKA_CONSUMER, err, errlen))
		goto fail;
	if (ns_kafka_conf_set(conf, "group.id", group_id, err, errlen))
		goto fail;
	rd_kafka_conf_set_rebalance_cb(conf, consumer_rebalance_cb);
	rd_kafka_conf_set_error_cb(conf, consumer_error_cb);
	rd_kafka_conf_set_opaque(conf, c);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr, sizeof(rderr));
	if (!c->rk) {
		snprintf(err, errlen, "rd_kafka_new: %s", rderr);
		goto fail;
	}
	conf = NULL; /* rd_kafka_new took ownership */
	rd_kafka_poll_set_consumer(c->rk);
	subs = rd_kafka_topic_partition_list_new(1);
	if (!subs) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(c->rk, subs);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "subscribe %s: %s", topic, rd_kafka_err2str(e));
		goto fail;
	}
	rd_kafka_topic_partition_list_destroy(subs);
	NS_INFO("kafka.consumer.start", "client=%s group=%s topic=%s bootstrap=%s",
		rd_kafka_name(c->rk), group_id, topic, ns_kafka_bootstrap());
	return c;
fail:
	if (subs)
		rd_kafka_topic_partition_list_destroy(subs);
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (c && c->rk)
		rd_kafka_destroy(c->rk);
	free(c);
	return NULL;
}

rd_kafka_message_t *ns_consumer_poll(ns_consumer *c, int timeout_ms)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);

	if (!m)
		return NULL;
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		rd_kafka_message_destroy(m);
		return NULL;
	}
	if (m->err == RD_KAFKA_RESP_ERR__FATAL)
		atomic_store(&c->failed, 1);
	return m;
}

int ns_consumer_commit(ns_consumer *c, const rd_kafka_topic_partition_list_t *offsets)
{
	rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, offsets, 0);

	if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return 0;
	NS_WARN("kafka.commit.failed", "err=%s", rd_kafka_err2name(e));
	if (e == RD_KAFKA_RESP_ERR__FATAL)
		atomic_store(&c->failed, 1);
	return -1;
}

int ns_consumer_failed(ns_consumer *c)
{
	return atomic_load(&c->failed);
}

rd_kafka_t *ns_consumer_handle(ns_consumer *c)
{
	return c->rk;
}

void ns_consumer_close(ns_consumer *c)
{
	rd_kafka_resp_err_t e;

	if (!c)
		return;
	e = rd_kafka_consumer_close(c->rk);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		NS_WARN("kafka.consumer.close", "err=%s", rd_kafka_err2name(e));
	rd_kafka_destroy(c->rk);
	free(c);
}
