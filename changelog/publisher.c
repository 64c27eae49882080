/* publisher.c -- the exactly-once changelog loop (see publisher.h): poll, fold, produce in
 * a transaction, commit with the input offsets; rebalance hooks that restore and commit;
 * abort, rewind and restore on an abortable error. Everything but clog_ready runs on the
 * caller's thread (the hooks run inside ns_consumer_poll). */
#include "publisher.h"
#include "ns_change.h"
#include "ns_fold.h"
#include "ns_kafka.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"
#include "ns_time.h"
#include "restore.h"
#include "state.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESTORE_TIMEOUT_MS   120000
#define COMMITTED_TIMEOUT_MS 60000

struct clog {
	const clog_config *cfg;
	char txn_id[256];
	ns_channels *channels;
	clog_state *state;
	ns_consumer *consumer;
	ns_txn_producer *txn;
	unsigned char assigned[CLOG_MAX_PARTITIONS];
	unsigned char touched[CLOG_MAX_PARTITIONS]; /* consumed in the open transaction */
	int64_t next[CLOG_MAX_PARTITIONS];	    /* next input offset, where touched */
	size_t held;				    /* input messages in the open transaction */
	int need_restore;			    /* an abort left the state ahead of Kafka */
	int failed;
	atomic_int ready;
	ns_counter *events[3]; /* changed, unchanged, undecodable */
	ns_counter *records, *commits, *aborts, *restores, *restored;
	ns_gauge *held_notifications;
	ns_histogram *commit_seconds;
};

enum { EV_CHANGED, EV_UNCHANGED, EV_UNDECODABLE };

/* ---- one event ---- */

/* The state of ref in partition before ev: from its latest record, or empty. *version and
 * previous receive the record's version and status. Returns 0 or -1 (a record that does
 * not decode: corruption of our own topic, logged). */
static int state_before(clog *x, int32_t partition, const char *ref, ns_state *st, int64_t *version)
{
	const clog_entry *e = clog_state_get(x->state, partition, ref);
	char err[256];
	ns_change c;

	memset(st, 0, sizeof(*st));
	*version = 0;
	if (!e)
		return 0;
	if (ns_change_decode(e->record, e->len, &c, err, sizeof(err)) != 0) {
		NS_ERROR("changelog.state_corrupt", "partition=%d err=\"%s\"", (int)partition, err);
		return -1;
	}
	ns_change_to_state(&c, st);
	*version = e->version;
	return 0;
}

/* Produce the record of st after ev (version) in the open transaction and keep it as the
 * notification's state. Returns an NS_TXN_* code. */
static int publish(clog *x, int32_t partition, const char *ref, const ns_state *st,
		   const ns_event *ev, int64_t version, const char *previous)
{
	char err[512];
	ns_change c;
	size_t len = 0;
	char *json;
	int rc;

	ns_change_from_state(&c, st, ev, version, previous);
	json = ns_change_encode(&c, &len);
	if (!json)
		return NS_TXN_ABORT;
	rc = ns_txn_produce(x->txn, x->cfg->changelog, partition, ref, strlen(ref), json, len, err,
			    sizeof(err));
	if (rc == NS_TXN_OK && clog_state_put(x->state, partition, ref, json, len, version) != 0)
		rc = NS_TXN_ABORT;
	if (rc != NS_TXN_OK)
		NS_ERROR("changelog.produce", "partition=%d err=\"%s\"", (int)partition, err);
	else
		ns_counter_add(x->records, 1);
	free(json);
	return rc;
}

/* Fold one input message. Returns an NS_TXN_* code (NS_TXN_OK also for an event that
 * changed nothing or does not decode: its offset is consumed all the same). */
static int fold_message(clog *x, const rd_kafka_message_t *m)
{
	char err[256], ref[NS_REF_MAX + 1], previous[NS_STATUS_MAX + 1],
	    pid[NS_PROVIDER_ID_MAX + 1];
	static ns_event ev; /* large; one thread */
	static ns_state st;
	int64_t version;
	ns_outcome out;

	if (ns_event_decode(m->payload, m->len, &ev, err, sizeof(err)) != 0 ||
	    ns_event_ref(ev.tenant, ev.external_id, ref, sizeof(ref)) < 0) {
		ns_counter_add(x->events[EV_UNDECODABLE], 1);
		return NS_TXN_OK; /* the projector dead-letters it */
	}
	if (state_before(x, m->partition, ref, &st, &version) != 0)
		return NS_TXN_ABORT;
	snprintf(previous, sizeof(previous), "%s", st.status);
	snprintf(pid, sizeof(pid), "%s", st.provider_id);
	out = ns_fold_apply(x->channels, &st, &ev, 0, NULL, 0);
	if (out != NS_OUT_APPLIED && strcmp(pid, st.provider_id) == 0) {
		ns_counter_add(x->events[EV_UNCHANGED], 1);
		return NS_TXN_OK;
	}
	ns_counter_add(x->events[EV_CHANGED], 1);
	return publish(x, m->partition, ref, &st, &ev, version + 1, previous);
}

/* ---- transactions ---- */

/* The next input offsets of the partitions touched by the open transaction into pos.
 * Returns how many. */
static size_t touched_positions(clog *x, ns_kafka_pos *pos)
{
	size_t n = 0;
	for (int32_t p = 0; p < CLOG_MAX_PARTITIONS; p++)
		if (x->touched[p])
			pos[n++] = (ns_kafka_pos){p, x->next[p]};
	return n;
}

static void clear_open(clog *x)
{
	memset(x->touched, 0, sizeof(x->touched));
	x->held = 0;
}

/* Abort the open transaction; the consumer and the state must then be rewound (done by
 * the loop: restore_assigned). Sets failed when even that is impossible. */
static void abort_open(clog *x)
{
	char err[512];

	ns_counter_add(x->aborts, 1);
	if (ns_txn_abort(x->txn, err, sizeof(err)) != NS_TXN_OK) {
		NS_ERROR("changelog.abort_failed", "err=\"%s\"", err);
		x->failed = 1;
	}
	clear_open(x);
	x->need_restore = 1;
}

/* Commit the open transaction with its input offsets. Returns 0, or -1 (aborted or
 * fatal; logged). */
static int commit_open(clog *x)
{
	static ns_kafka_pos pos[CLOG_MAX_PARTITIONS];
	int64_t t0 = ns_time_mono_ms();
	char err[512];
	size_t n;
	int rc;

	if (x->held == 0)
		return 0;
	n = touched_positions(x, pos);
	rc = ns_txn_commit(x->txn, x->consumer, x->cfg->topic, pos, n, err, sizeof(err));
	if (rc == NS_TXN_OK) {
		ns_counter_add(x->commits, 1);
		ns_histogram_observe(x->commit_seconds, (double)(ns_time_mono_ms() - t0) / 1000.0);
		NS_DEBUG("changelog.commit", "messages=%zu partitions=%zu", x->held, n);
		clear_open(x);
		return 0;
	}
	NS_WARN("changelog.commit_failed", "messages=%zu err=\"%s\"", x->held, err);
	if (rc == NS_TXN_FATAL)
		x->failed = 1;
	else
		abort_open(x);
	return -1;
}

/* ---- rebalance ---- */

/* Restore the n partitions in parts after their committed input offsets are settled.
 * Returns 0 or -1 (logged). */
static int restore(clog *x, const int32_t *parts, size_t n)
{
	static ns_kafka_pos pos[CLOG_MAX_PARTITIONS];
	int64_t t0 = ns_time_mono_ms();
	char err[512];
	long records = 0;

	for (size_t i = 0; i < n; i++)
		pos[i] = (ns_kafka_pos){parts[i], -1};
	/* waits while a predecessor's transaction for these partitions is pending */
	if (ns_consumer_committed(x->consumer, x->cfg->topic, pos, n, COMMITTED_TIMEOUT_MS) != 0)
		return -1;
	if (clog_restore(x->state, x->cfg->changelog, parts, n, RESTORE_TIMEOUT_MS, &records, err,
			 sizeof(err)) != 0) {
		NS_ERROR("changelog.restore_failed", "partitions=%zu err=\"%s\"", n, err);
		return -1;
	}
	ns_counter_add(x->restores, 1);
	ns_counter_add(x->restored, (uint64_t)records);
	ns_gauge_set(x->held_notifications, (int64_t)clog_state_total(x->state));
	NS_INFO("changelog.restored", "partitions=%zu records=%ld notifications=%zu ms=%lld", n,
		records, clog_state_total(x->state), (long long)(ns_time_mono_ms() - t0));
	return 0;
}

static int on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
	static int32_t ids[CLOG_MAX_PARTITIONS];
	clog *x = opaque;
	size_t n = 0;

	/* an incremental assignment keeps the other partitions: settle their open
	 * transaction first, so that a long restore cannot outlive its timeout */
	(void)commit_open(x);
	for (int i = 0; i < parts->cnt; i++) {
		int32_t p = parts->elems[i].partition;
		if (p < 0 || p >= CLOG_MAX_PARTITIONS) {
			NS_ERROR("changelog.partition_range", "partition=%d max=%d", (int)p,
				 CLOG_MAX_PARTITIONS - 1);
			return -1;
		}
		ids[n++] = p;
	}
	if (restore(x, ids, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		x->assigned[ids[i]] = 1;
	return 0; /* consumption starts at the committed offsets */
}

static void on_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	clog *x = opaque;

	NS_INFO("changelog.revoke", "partitions=%d held=%zu", parts->cnt, x->held);
	(void)commit_open(x); /* the next owner restores what we committed */
	for (int i = 0; i < parts->cnt; i++) {
		int32_t p = parts->elems[i].partition;
		if (p >= 0 && p < CLOG_MAX_PARTITIONS) {
			x->assigned[p] = 0;
			clog_state_drop(x->state, p);
		}
	}
	ns_gauge_set(x->held_notifications, (int64_t)clog_state_total(x->state));
}

/* After an abort: the consumer back to the committed offsets, the state back to the
 * changelog. Returns 0 or -1. */
static int restore_assigned(clog *x)
{
	static int32_t ids[CLOG_MAX_PARTITIONS];
	size_t n = 0;

	if (x->held)
		abort_open(x); /* nothing built on the aborted state may commit */
	for (int32_t p = 0; p < CLOG_MAX_PARTITIONS; p++)
		if (x->assigned[p])
			ids[n++] = p;
	if (ns_consumer_rewind(x->consumer, COMMITTED_TIMEOUT_MS) != 0 || restore(x, ids, n) != 0)
		return -1;
	x->need_restore = 0;
	return 0;
}

/* ---- the loop ---- */

/* One turn: wait for a message only while no transaction is open; fold what is
 * immediately available into the open one and commit as soon as nothing more is waiting
 * or the batch is full. */
static void turn(clog *x)
{
	char err[512];
	rd_kafka_message_t *m;
	int rc = NS_TXN_OK;

	if (x->need_restore && restore_assigned(x) != 0) {
		x->failed = 1;
		return;
	}
	m = ns_consumer_poll(x->consumer, x->held ? 0 : 100);
	if (m && m->err) {
		NS_WARN("changelog.consume_error", "err=\"%s\"", rd_kafka_message_errstr(m));
	} else if (m && (x->need_restore || m->partition < 0 ||
			 m->partition >= CLOG_MAX_PARTITIONS || !x->assigned[m->partition])) {
		/* a hook in this very poll aborted (the state is ahead of Kafka until the
		 * restore: this message is read again after the rewind), or a partition we no
		 * longer own */
	} else if (m) {
		if (x->held == 0)
			rc = ns_txn_begin(x->txn, err, sizeof(err));
		if (rc == NS_TXN_OK)
			rc = fold_message(x, m);
		if (rc == NS_TXN_OK) {
			x->touched[m->partition] = 1;
			x->next[m->partition] = m->offset + 1;
			x->held++;
		} else if (rc == NS_TXN_FATAL) {
			x->failed = 1;
		} else {
			NS_WARN("changelog.txn", "err=\"%s\"", err);
			abort_open(x);
		}
	}
	if (m)
		rd_kafka_message_destroy(m);
	ns_gauge_set(x->held_notifications, (int64_t)clog_state_total(x->state));
	if (x->held && (!m || x->held >= (size_t)x->cfg->batch))
		(void)commit_open(x);
}

static void register_metrics(clog *x)
{
	static const char *const kinds[] = {"changed", "unchanged", "undecodable"};
	char labels[64];

	for (int i = 0; i < 3; i++) {
		snprintf(labels, sizeof(labels), "result=\"%s\"", kinds[i]);
		x->events[i] = ns_metrics_counter("changelog_events_total", labels,
						  "Input events folded, by what they did");
	}
	x->records = ns_metrics_counter("changelog_records_total", NULL,
					"Changelog records produced (in committed or aborted "
					"transactions)");
	x->commits = ns_metrics_counter("changelog_transactions_total", "result=\"committed\"",
					"Transactions, by result");
	x->aborts = ns_metrics_counter("changelog_transactions_total", "result=\"aborted\"",
				       "Transactions, by result");
	x->restores = ns_metrics_counter("changelog_restores_total", NULL,
					 "State restores from the changelog topic");
	x->restored = ns_metrics_counter("changelog_restored_records_total", NULL,
					 "Changelog records read by restores");
	x->held_notifications = ns_metrics_gauge("changelog_notifications", NULL,
						 "Notifications whose state is held in memory");
	x->commit_seconds = ns_metrics_histogram("changelog_commit_seconds", NULL,
						 "Time to commit one transaction");
}

clog *clog_new(const clog_config *cfg, char *err, size_t errlen)
{
	clog *x = calloc(1, sizeof(*x));
	const char *inst = getenv("KAFKA_GROUP_INSTANCE_ID");
	char host[128] = "local";

	if (!x || !(x->state = clog_state_new())) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	x->cfg = cfg;
	atomic_init(&x->ready, 0);
	/* stable per instance where the instance has a stable name (a pod), so that a
	 * restarted instance fences its predecessor and aborts what it left open at once */
	if (cfg->transactional_id && cfg->transactional_id[0])
		snprintf(x->txn_id, sizeof(x->txn_id), "%s", cfg->transactional_id);
	else if (inst && inst[0])
		snprintf(x->txn_id, sizeof(x->txn_id), "nstatus-changelog-%s", inst);
	else {
		(void)gethostname(host, sizeof(host) - 1);
		snprintf(x->txn_id, sizeof(x->txn_id), "nstatus-changelog-%s-%ld", host,
			 (long)getpid());
	}
	x->channels = ns_channels_load(cfg->schemas_dir, err, errlen);
	if (!x->channels)
		goto fail;
	register_metrics(x);
	return x;
fail:
	clog_free(x);
	return NULL;
}

int clog_ready(void *opaque)
{
	clog *x = opaque;
	return atomic_load(&x->ready) && !ns_consumer_failed(x->consumer) && !ns_txn_fatal(x->txn);
}

/* The changelog must have exactly the input's partition count: partition p of one is the
 * state of partition p of the other. Returns 0 or -1 with err. */
static int changelog_partitions_match(const clog_config *cfg, int n, char *err, size_t errlen)
{
	int m = ns_kafka_partition_count(cfg->changelog, 30000, err, errlen);

	if (m < 0)
		return -1;
	if (m != n) {
		snprintf(err, errlen, "%s has %d partitions, %s has %d: they must be equal",
			 cfg->changelog, m, cfg->topic, n);
		return -1;
	}
	return 0;
}

/* The changelog topic with the input's partition count, the producer, the consumer.
 * Returns 0 or -1 (logged). */
static int start(clog *x)
{
	const clog_config *cfg = x->cfg;
	ns_rebalance rb = {.on_assign = on_assign, .on_revoke = on_revoke, .opaque = x};
	char err[512];
	int n = ns_kafka_partition_count(cfg->topic, 60000, err, sizeof(err));

	if (n > CLOG_MAX_PARTITIONS) {
		NS_ERROR("changelog.topics", "topic=%s partitions=%d max=%d", cfg->topic, n,
			 CLOG_MAX_PARTITIONS);
		return -1;
	}
	if (n < 0 ||
	    ns_kafka_topic_ensure_compacted(cfg->changelog, n, 60000, err, sizeof(err)) != 0 ||
	    changelog_partitions_match(cfg, n, err, sizeof(err)) != 0) {
		NS_ERROR("changelog.topics", "topic=%s changelog=%s err=\"%s\"", cfg->topic,
			 cfg->changelog, err);
		return -1;
	}
	x->txn = ns_txn_producer_new(x->txn_id, (int)cfg->txn_timeout_ms, err, sizeof(err));
	if (!x->txn) {
		NS_ERROR("changelog.producer", "transactional_id=%s err=\"%s\"", x->txn_id, err);
		return -1;
	}
	x->consumer = ns_consumer_new(cfg->group, cfg->topic, &rb, err, sizeof(err));
	if (!x->consumer) {
		NS_ERROR("changelog.consumer", "err=\"%s\"", err);
		return -1;
	}
	NS_INFO("changelog.start",
		"topic=%s changelog=%s partitions=%d group=%s "
		"transactional_id=%s batch=%ld",
		cfg->topic, cfg->changelog, n, cfg->group, x->txn_id, cfg->batch);
	return 0;
}

int clog_run(clog *x)
{
	int ret;

	if (start(x))
		return -1;
	atomic_store(&x->ready, 1);
	while (!ns_signal_stopping() && !x->failed && !ns_consumer_failed(x->consumer) &&
	       !ns_txn_fatal(x->txn))
		turn(x);
	if (x->held && !x->failed && !ns_txn_fatal(x->txn))
		(void)commit_open(x);
	ret = x->failed || ns_consumer_failed(x->consumer) || ns_txn_fatal(x->txn) ? -1 : 0;
	if (ret)
		NS_ERROR("changelog.failed", "fenced=%d consumer_failed=%d", ns_txn_fatal(x->txn),
			 ns_consumer_failed(x->consumer));
	atomic_store(&x->ready, 0);
	NS_INFO("changelog.stop", "topic=%s", x->cfg->topic);
	return ret;
}

void clog_free(clog *x)
{
	if (!x)
		return;
	ns_consumer_close(x->consumer); /* on_revoke commits what is open */
	ns_txn_producer_destroy(x->txn);
	clog_state_free(x->state);
	ns_channels_free(x->channels);
	free(x);
}
