/* ns_kafka_consumer.c -- the consumer: manual offsets, and rebalance hooks that let the
 * caller choose where each assigned partition starts (offsets kept outside Kafka), with
 * eager and cooperative assignors alike; or, outside any group, partitions assigned by the
 * caller (ns_consumer_new_assigned). Commits, pause/resume and watermarks take plain
 * (partition, offset) arrays so that daemons never build librdkafka lists. Used from one
 * thread. */
#include "ns_kafka.h"
#include "ns_kafka_internal.h"
#include "ns_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

/* ---- consumer ----------------------------------------------------------------------- */

struct ns_consumer {
	ns_kafka_client cl; /* first: the error callback's opaque; cl.fatal = failed */
	ns_rebalance rb;
	int report_eof; /* assigned consumer: hand partition EOF events to the caller */
	int wake[2];	/* ns_consumer_wake_fd's pipe, -1 until asked for */
	rd_kafka_queue_t *q;
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
		if (atomic_load(&c->cl.fatal) || consumer_assign(c, rk, parts) != 0)
			atomic_store(&c->cl.fatal, 1);
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

/* A new consumer handle for c from conf (taken: destroyed on failure too), with the
 * shared error callback and the consumer queue as poll queue. Returns 0 or -1 with err. */
static int consumer_create(ns_consumer *c, rd_kafka_conf_t *conf, char *err, size_t errlen)
{
	char rderr[512];

	ns_kafka_conf_errors(conf, &c->cl);
	c->cl.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr, sizeof(rderr));
	if (!c->cl.rk) {
		rd_kafka_conf_destroy(conf);
		snprintf(err, errlen, "rd_kafka_new: %s", rderr);
		return -1;
	}
	/* rd_kafka_new took ownership of conf */
	rd_kafka_poll_set_consumer(c->cl.rk);
	return 0;
}

/* A partition list of topic from pos[0..n), or NULL when out of memory. */
static rd_kafka_topic_partition_list_t *pos_list(const char *topic, const ns_kafka_pos *pos,
						 size_t n)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n ? (int)n : 1);

	for (size_t i = 0; l && i < n; i++)
		rd_kafka_topic_partition_list_add(l, topic, pos[i].partition)->offset =
		    pos[i].offset;
	return l;
}

/* Subscribe c to topic. Returns 0 or -1 with err filled. */
static int consumer_subscribe(ns_consumer *c, const char *topic, char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t e;

	if (!subs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(c->cl.rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "subscribe %s: %s", topic, rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

ns_consumer *ns_consumer_new(const char *group_id, const char *topic, const ns_rebalance *rb,
			     char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ns_consumer *c = calloc(1, sizeof(*c));
	const char *instance = getenv("KAFKA_GROUP_INSTANCE_ID");

	if (!conf || !c) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->wake[0] = c->wake[1] = -1;
	if (rb)
		c->rb = *rb;
	if (ns_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
	    ns_kafka_conf_set(conf, "enable.partition.eof", "false", err, errlen) ||
	    ns_kafka_conf_from_env(conf, err, errlen) ||
	    ns_kafka_conf_lock(conf, NS_KAFKA_CONSUMER, err, errlen) ||
	    ns_kafka_conf_set(conf, "group.id", group_id, err, errlen))
		goto fail;
	if (instance && instance[0] &&
	    ns_kafka_conf_set(conf, "group.instance.id", instance, err, errlen))
		goto fail;
	rd_kafka_conf_set_rebalance_cb(conf, consumer_rebalance_cb);
	if (consumer_create(c, conf, err, errlen)) {
		conf = NULL; /* consumer_create took it */
		goto fail;
	}
	conf = NULL;
	if (consumer_subscribe(c, topic, err, errlen))
		goto fail;
	NS_INFO("kafka.consumer.start", "client=%s group=%s topic=%s bootstrap=%s",
		rd_kafka_name(c->cl.rk), group_id, topic, ns_kafka_bootstrap());
	return c;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (c && c->cl.rk)
		rd_kafka_destroy(c->cl.rk);
	free(c);
	return NULL;
}

ns_consumer *ns_consumer_new_assigned(const char *client_id, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ns_consumer *c = calloc(1, sizeof(*c));
	char group[128];

	if (!conf || !c) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->report_eof = 1;
	c->wake[0] = c->wake[1] = -1;
	/* librdkafka wants a group.id to assign at all: a throwaway one, never joined (no
	 * subscribe) and never committed to. */
	snprintf(group, sizeof(group), "%s.assigned.%d", client_id, (int)getpid());
	if (ns_kafka_conf_from_env(conf, err, errlen) ||
	    ns_kafka_conf_lock(conf, NS_KAFKA_CONSUMER, err, errlen) ||
	    ns_kafka_conf_set(conf, "enable.partition.eof", "true", err, errlen) ||
	    ns_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
	    ns_kafka_conf_set(conf, "client.id", client_id, err, errlen) ||
	    ns_kafka_conf_set(conf, "group.id", group, err, errlen))
		goto fail;
	if (consumer_create(c, conf, err, errlen)) {
		conf = NULL;
		goto fail;
	}
	NS_INFO("kafka.consumer.start", "client=%s group=none bootstrap=%s",
		rd_kafka_name(c->cl.rk), ns_kafka_bootstrap());
	return c;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	free(c);
	return NULL;
}

int ns_consumer_assign(ns_consumer *c, const char *topic, const ns_kafka_pos *pos, size_t n,
		       char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *l = n ? pos_list(topic, pos, n) : NULL;
	rd_kafka_resp_err_t e;

	if (n && !l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e = rd_kafka_assign(c->cl.rk, l);
	if (l)
		rd_kafka_topic_partition_list_destroy(l);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "assign %s: %s", topic, rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

rd_kafka_message_t *ns_consumer_poll(ns_consumer *c, int timeout_ms)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(c->cl.rk, timeout_ms);

	if (!m)
		return NULL;
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && !c->report_eof) {
		rd_kafka_message_destroy(m);
		return NULL;
	}
	if (m->err == RD_KAFKA_RESP_ERR__FATAL)
		atomic_store(&c->cl.fatal, 1);
	return m;
}

int ns_consumer_commit(ns_consumer *c, const char *topic, const ns_kafka_pos *pos, size_t n,
		       int async)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;

	if (n == 0)
		return 0;
	l = pos_list(topic, pos, n);
	if (!l)
		return -1;
	e = rd_kafka_commit(c->cl.rk, l, async);
	rd_kafka_topic_partition_list_destroy(l);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return 0;
	if (async) {
		NS_DEBUG("kafka.commit.failed", "err=%s async=1", rd_kafka_err2name(e));
		return -1;
	}
	NS_WARN("kafka.commit.failed", "err=%s", rd_kafka_err2name(e));
	if (e == RD_KAFKA_RESP_ERR__FATAL)
		atomic_store(&c->cl.fatal, 1);
	return -1;
}

int ns_consumer_pause(ns_consumer *c, const char *topic, int32_t partition)
{
	ns_kafka_pos p = {partition, RD_KAFKA_OFFSET_INVALID};
	rd_kafka_topic_partition_list_t *l = pos_list(topic, &p, 1);
	rd_kafka_resp_err_t e;

	if (!l)
		return -1;
	e = rd_kafka_pause_partitions(c->cl.rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int ns_consumer_pause_all(ns_consumer *c, int pause)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	rd_kafka_resp_err_t e = rd_kafka_assignment(c->cl.rk, &a);

	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		e = pause ? rd_kafka_pause_partitions(c->cl.rk, a)
			  : rd_kafka_resume_partitions(c->cl.rk, a);
	if (a)
		rd_kafka_topic_partition_list_destroy(a);
	return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int ns_consumer_cached_watermark(ns_consumer *c, const char *topic, int32_t partition, int64_t *hw)
{
	int64_t lo = -1, hi = -1;

	if (rd_kafka_get_watermark_offsets(c->cl.rk, topic, partition, &lo, &hi) !=
		RD_KAFKA_RESP_ERR_NO_ERROR ||
	    hi < 0)
		return -1;
	*hw = hi;
	return 0;
}

int ns_consumer_high_watermarks(ns_consumer *c, const char *topic, int64_t *hw, int cap, int *n,
				int timeout_ms, char *err, size_t errlen)
{
	return ns_kafka_high_watermarks(c->cl.rk, topic, hw, cap, n, timeout_ms, err, errlen);
}

int ns_consumer_committed(ns_consumer *c, const char *topic, ns_kafka_pos *pos, size_t n,
			  int timeout_ms)
{
	rd_kafka_topic_partition_list_t *l = pos_list(topic, pos, n);
	rd_kafka_resp_err_t e;

	if (!l)
		return -1;
	e = rd_kafka_committed(c->cl.rk, l, timeout_ms);
	for (int i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < l->cnt; i++)
		pos[i].offset = l->elems[i].err		 ? -1
				: l->elems[i].offset < 0 ? -1
							 : l->elems[i].offset;
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		NS_ERROR("kafka.committed.failed", "topic=%s err=%s", topic, rd_kafka_err2name(e));
	rd_kafka_topic_partition_list_destroy(l);
	return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int ns_consumer_rewind(ns_consumer *c, int timeout_ms)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	rd_kafka_error_t *se = NULL;
	rd_kafka_resp_err_t e = rd_kafka_assignment(c->cl.rk, &a);

	if (e == RD_KAFKA_RESP_ERR_NO_ERROR && a->cnt > 0)
		e = rd_kafka_committed(c->cl.rk, a, timeout_ms);
	for (int i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < a->cnt; i++) {
		if (a->elems[i].err) /* an unknown position must not become "the beginning" */
			e = a->elems[i].err;
		else if (a->elems[i].offset < 0)
			a->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
	}
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR && a->cnt > 0)
		se = rd_kafka_seek_partitions(c->cl.rk, a, timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR || se)
		NS_ERROR("kafka.rewind.failed", "err=%s",
			 se ? rd_kafka_error_string(se) : rd_kafka_err2name(e));
	if (se)
		rd_kafka_error_destroy(se);
	if (a)
		rd_kafka_topic_partition_list_destroy(a);
	return e == RD_KAFKA_RESP_ERR_NO_ERROR && !se ? 0 : -1;
}

int ns_consumer_wake_fd(ns_consumer *c)
{
	if (c->wake[0] >= 0)
		return c->wake[0];
	if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		c->wake[0] = c->wake[1] = -1;
		return -1;
	}
	c->q = rd_kafka_queue_get_consumer(c->cl.rk);
	if (!c->q) {
		close(c->wake[0]);
		close(c->wake[1]);
		c->wake[0] = c->wake[1] = -1;
		return -1;
	}
	rd_kafka_queue_io_event_enable(c->q, c->wake[1], "1", 1);
	return c->wake[0];
}

void ns_consumer_wake_drain(ns_consumer *c)
{
	char buf[256];

	if (c->wake[0] >= 0)
		while (read(c->wake[0], buf, sizeof(buf)) > 0)
			;
}

int ns_consumer_failed(ns_consumer *c)
{
	return atomic_load(&c->cl.fatal);
}

rd_kafka_t *ns_consumer_handle(ns_consumer *c)
{
	return c->cl.rk;
}

void ns_consumer_close(ns_consumer *c)
{
	rd_kafka_resp_err_t e;

	if (!c)
		return;
	e = rd_kafka_consumer_close(c->cl.rk);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		NS_WARN("kafka.consumer.close", "err=%s", rd_kafka_err2name(e));
	if (c->q) {
		rd_kafka_queue_io_event_enable(c->q, -1, NULL, 0);
		rd_kafka_queue_destroy(c->q);
	}
	rd_kafka_destroy(c->cl.rk);
	if (c->wake[0] >= 0) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	free(c);
}
