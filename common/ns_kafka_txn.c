/* ns_kafka_txn.c -- the transactional producer for consume-transform-produce (see
 * ns_kafka.h): records produced in a transaction become visible to read_committed readers
 * together with the consumer offsets sent to it, or not at all.
 *
 * Used from one thread (the consume loop): begin, produce, commit with the consumer's
 * positions. Delivery reports of transactional messages matter only for errors, which
 * make the commit fail; the producer is polled by the commit itself. */
#include "ns_kafka.h"
#include "ns_kafka_internal.h"
#include "ns_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ns_txn_producer {
	ns_kafka_client cl; /* first: the error callback's opaque */
	int in_txn;
	int timeout_ms;
};

/* Log and consume an rd_kafka_error_t. Returns NS_TXN_OK when e is NULL, else the class of
 * the error (abortable, retriable, fatal). */
static int txn_error(ns_txn_producer *t, rd_kafka_error_t *e, const char *what, char *err,
		     size_t errlen)
{
	int rc;
	char q[512];

	if (!e)
		return NS_TXN_OK;
	if (rd_kafka_error_is_fatal(e)) {
		rc = NS_TXN_FATAL;
		atomic_store(&t->cl.fatal, 1);
	} else if (rd_kafka_error_txn_requires_abort(e)) {
		rc = NS_TXN_ABORT;
	} else if (rd_kafka_error_is_retriable(e)) {
		rc = NS_TXN_RETRY;
	} else {
		rc = NS_TXN_ABORT;
	}
	snprintf(err, errlen, "%s: %s", what, rd_kafka_error_string(e));
	NS_WARN("kafka.txn.error", "op=%s class=%d err=%s reason=%s", what, rc,
		rd_kafka_err2name(rd_kafka_error_code(e)),
		ns_log_quote(rd_kafka_error_string(e), q, sizeof(q)));
	rd_kafka_error_destroy(e);
	return rc;
}

ns_txn_producer *ns_txn_producer_new(const char *transactional_id, int timeout_ms, char *err,
				     size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ns_txn_producer *t = calloc(1, sizeof(*t));
	char rderr[512], tmo[16];

	if (!conf || !t) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	/* a transaction left open by a member that died holds read_committed readers back
	 * until this passes (or a successor with the same transactional.id fences it) */
	snprintf(tmo, sizeof(tmo), "%d", t->timeout_ms);
	if (ns_kafka_conf_set(conf, "linger.ms", "5", err, errlen) ||
	    ns_kafka_conf_set(conf, "transaction.timeout.ms", tmo, err, errlen) ||
	    ns_kafka_conf_from_env(conf, err, errlen) ||
	    ns_kafka_conf_lock(conf, NS_KAFKA_PRODUCER, err, errlen) ||
	    ns_kafka_conf_set(conf, "transactional.id", transactional_id, err, errlen) ||
	    ns_kafka_conf_set(conf, "client.id", transactional_id, err, errlen))
		goto fail;
	ns_kafka_conf_errors(conf, &t->cl);
	t->cl.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!t->cl.rk) {
		snprintf(err, errlen, "rd_kafka_new: %s", rderr);
		goto fail;
	}
	conf = NULL; /* rd_kafka_new took ownership */
	/* fences any earlier producer with this transactional.id and aborts its transaction */
	if (txn_error(t, rd_kafka_init_transactions(t->cl.rk, t->timeout_ms), "init", err,
		      errlen) != NS_TXN_OK)
		goto fail;
	NS_INFO("kafka.txn.start", "transactional_id=%s bootstrap=%s", transactional_id,
		ns_kafka_bootstrap());
	return t;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (t && t->cl.rk)
		rd_kafka_destroy(t->cl.rk);
	free(t);
	return NULL;
}

int ns_txn_begin(ns_txn_producer *t, char *err, size_t errlen)
{
	int rc;

	if (t->in_txn)
		return NS_TXN_OK;
	rc = txn_error(t, rd_kafka_begin_transaction(t->cl.rk), "begin", err, errlen);
	if (rc == NS_TXN_OK)
		t->in_txn = 1;
	return rc;
}

int ns_txn_produce(ns_txn_producer *t, const char *topic, int32_t partition, const char *key,
		   size_t keylen, const void *value, size_t len, char *err, size_t errlen)
{
	rd_kafka_resp_err_t e;

	for (int tries = 0;; tries++) {
		e = rd_kafka_producev(
		    t->cl.rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
		    RD_KAFKA_V_KEY((void *)key, keylen), RD_KAFKA_V_VALUE((void *)value, len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 1000)
			break;
		rd_kafka_poll(t->cl.rk, 10); /* the queue drains as it is sent */
	}
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		return NS_TXN_OK;
	snprintf(err, errlen, "produce %s[%d]: %s", topic, (int)partition, rd_kafka_err2str(e));
	return e == RD_KAFKA_RESP_ERR__FATAL ? NS_TXN_FATAL : NS_TXN_ABORT;
}

int ns_txn_commit(ns_txn_producer *t, ns_consumer *c, const char *topic, const ns_kafka_pos *pos,
		  size_t n, char *err, size_t errlen)
{
	rd_kafka_consumer_group_metadata_t *md = NULL;
	rd_kafka_topic_partition_list_t *l = NULL;
	int rc = NS_TXN_OK;

	if (!t->in_txn)
		return NS_TXN_OK;
	if (n > 0) {
		l = rd_kafka_topic_partition_list_new((int)n);
		for (size_t i = 0; l && i < n; i++)
			rd_kafka_topic_partition_list_add(l, topic, pos[i].partition)->offset =
			    pos[i].offset;
		md = rd_kafka_consumer_group_metadata(ns_consumer_handle(c));
		if (!l || !md) {
			snprintf(err, errlen, "out of memory");
			rc = NS_TXN_ABORT;
			goto out;
		}
		rc = txn_error(t,
			       rd_kafka_send_offsets_to_transaction(t->cl.rk, l, md, t->timeout_ms),
			       "send_offsets", err, errlen);
		if (rc != NS_TXN_OK)
			goto out;
	}
	do {
		rc = txn_error(t, rd_kafka_commit_transaction(t->cl.rk, t->timeout_ms), "commit",
			       err, errlen);
	} while (rc == NS_TXN_RETRY);
	if (rc == NS_TXN_OK)
		t->in_txn = 0;
out:
	if (md)
		rd_kafka_consumer_group_metadata_destroy(md);
	if (l)
		rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

int ns_txn_abort(ns_txn_producer *t, char *err, size_t errlen)
{
	int rc;

	if (!t->in_txn)
		return NS_TXN_OK;
	do {
		rc = txn_error(t, rd_kafka_abort_transaction(t->cl.rk, t->timeout_ms), "abort", err,
			       errlen);
	} while (rc == NS_TXN_RETRY);
	if (rc == NS_TXN_OK)
		t->in_txn = 0;
	return rc;
}

int ns_txn_fatal(ns_txn_producer *t)
{
	return atomic_load(&t->cl.fatal);
}

void ns_txn_producer_destroy(ns_txn_producer *t)
{
	char err[256];

	if (!t)
		return;
	if (t->in_txn && !ns_txn_fatal(t))
		(void)ns_txn_abort(t, err, sizeof(err));
	rd_kafka_flush(t->cl.rk, 5000);
	rd_kafka_destroy(t->cl.rk);
	free(t);
}
