/* projector.c -- the consume loop (see projector.h): poll, batch, apply in one
 * transaction, dead-letter undecodable messages, rebalance hooks seeking to the offsets
 * stored in SQLite, lag and batch metrics; with --rebuild, the rebuild (rebuild.h) first.
 * Everything but proj_ready runs on the caller's thread. */
#include "projector.h"
#include "apply.h"
#include "batch.h"
#include "checkpoint.h"
#include "ns_kafka.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"
#include "ns_time.h"
#include "rebuild.h"
#include "store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAG_REFRESH_MS 1000
#define MAX_PARTITIONS 1024
/* Kafka learns the folded offsets at most this often. They are for lag tools only (the
 * truth is in SQLite), and each commit is a request to the group coordinator that its
 * heartbeats queue behind: committing after every batch (hundreds a second while a
 * backlog folds) once held a heartbeat past the session timeout on a loaded machine. */
#define KAFKA_COMMIT_EVERY_MS 1000

struct proj {
	const proj_config *cfg;
	char dlq_topic[512];
	proj_store *store;
	proj_checkpointer *checkpointer; /* NULL: the store checkpoints in its commits */
	ns_channels *channels;
	ns_consumer *consumer;
	ns_producer *dlq;
	proj_batch b; /* held messages, folded in one transaction */
	int64_t batch_start;
	atomic_int ready;
	ns_counter *outcome[NS_OUT_RECORDED + 1];
	ns_counter *dlq_total;
	ns_counter *kafka_commits;
	ns_counter *skipped;
	ns_counter *orphans_created, *orphans_adopted;
	ns_histogram *batch_seconds;
	ns_gauge *lag;
	ns_gauge *part_lag[MAX_PARTITIONS];
	int lag_top; /* 1 + the highest partition ever assigned: the lag loop's bound */
	int64_t to_commit[MAX_PARTITIONS]; /* next offset folded but not told to Kafka, or -1 */
	int64_t next_commit;		   /* monotonic ms of the next commit to Kafka */
	int64_t next_lag;		   /* monotonic ms of the next lag refresh */
	/* when things first happened, ms since start: the benchmark times the fold with them */
	int64_t t0;
	ns_gauge *assigned_ms, *first_message_ms, *last_commit_ms;
	int seen_first;
};

/* Dead-letter hook: the original key and bytes to the DLQ topic, with the reason and the
 * source position as headers (dlq.reason, dlq.topic, dlq.partition, dlq.offset), acked
 * before the batch commits (a crash in between re-sends it: at least once). */
static int send_dlq(void *opaque, const proj_msg *m, const char *reason)
{
	proj *x = opaque;
	ns_delivery d;

	char partition[16], offset[24];
	const ns_header hdrs[] = {{"dlq.reason", reason},
				  {"dlq.topic", x->cfg->topic},
				  {"dlq.partition", partition},
				  {"dlq.offset", offset}};

	snprintf(partition, sizeof(partition), "%d", (int)m->partition);
	snprintf(offset, sizeof(offset), "%lld", (long long)m->offset);
	if (ns_producer_send_hdrs(x->dlq, x->dlq_topic, m->key, m->keylen, m->value, m->len, hdrs,
				  sizeof(hdrs) / sizeof(hdrs[0]), 10000, &d)) {
		NS_ERROR("projector.dlq_failed", "topic=%s partition=%d offset=%lld err=\"%s\"",
			 x->dlq_topic, (int)m->partition, (long long)m->offset,
			 rd_kafka_err2str(d.err));
		return -1;
	}
	NS_WARN("projector.dlq", "topic=%s partition=%d offset=%lld dlq_offset=%lld reason=\"%s\"",
		x->dlq_topic, (int)m->partition, (long long)m->offset, (long long)d.offset, reason);
	return 0;
}

/* Remember how far the batch just committed to SQLite got, per partition. */
static void note_folded(proj *x)
{
	for (size_t i = 0; i < x->b.n; i++) {
		const proj_msg *m = &x->b.msgs[i];
		if (m->partition >= 0 && m->partition < MAX_PARTITIONS &&
		    x->to_commit[m->partition] < m->offset + 1)
			x->to_commit[m->partition] = m->offset + 1;
	}
}

/* Tell Kafka how far we are (asynchronously; lag visibility only) and forget it. */
static void commit_to_kafka(proj *x)
{
	static ns_kafka_pos pos[MAX_PARTITIONS]; /* the consume loop's thread only */
	size_t n = 0;

	for (int p = 0; p < x->lag_top; p++) {
		if (x->to_commit[p] < 0)
			continue;
		pos[n++] = (ns_kafka_pos){p, x->to_commit[p]};
		x->to_commit[p] = -1;
	}
	if (n) {
		(void)ns_consumer_commit(x->consumer, x->cfg->topic, pos, n, 1);
		ns_counter_add(x->kafka_commits, 1);
	}
	x->next_commit = ns_time_mono_ms() + KAFKA_COMMIT_EVERY_MS;
}

/* Apply the held batch in one transaction, retrying with backoff until it commits or a
 * stop is requested. Returns 0 when committed (or empty), -1 when abandoned (nothing of it
 * is stored; the stored offsets still point before it). */
static int flush_batch(proj *x)
{
	int64_t t0 = ns_time_mono_ms();
	int ret = -1;

	if (x->b.n == 0)
		return 0;
	if (proj_batch_fold(&x->b, x->store, x->channels, x->cfg->topic, send_dlq, x, "live"))
		goto out;
	for (size_t i = 0; i < x->b.n; i++) {
		const proj_msg_out *o = &x->b.outs[i];
		if (o->result == PROJ_MSG_FOLDED) {
			ns_counter_add(x->outcome[o->outcome], 1);
			if (o->orphan == PROJ_ORPHAN_CREATED)
				ns_counter_add(x->orphans_created, 1);
			else if (o->orphan == PROJ_ORPHAN_ADOPTED)
				ns_counter_add(x->orphans_adopted, 1);
		} else if (o->result == PROJ_MSG_DLQ)
			ns_counter_add(x->dlq_total, 1);
		else
			ns_counter_add(x->skipped, 1);
	}
	ns_histogram_observe(x->batch_seconds, (double)(ns_time_mono_ms() - t0) / 1000.0);
	NS_DEBUG("projector.batch", "messages=%zu ms=%lld", x->b.n,
		 (long long)(ns_time_mono_ms() - t0));
	note_folded(x);
	if (ns_time_mono_ms() >= x->next_commit)
		commit_to_kafka(x);
	ns_gauge_set(x->last_commit_ms, ns_time_mono_ms() - x->t0);
	ret = 0;
out:
	proj_batch_drop(&x->b);
	return ret;
}

/* Rebalance: start each assigned partition at its stored next offset. Consumer thread. */
static int on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
	proj *x = opaque;

	ns_gauge_set(x->assigned_ms, ns_time_mono_ms() - x->t0);
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &parts->elems[i];
		int64_t next = 0;
		int rc = proj_store_get_offset(x->store, tp->topic, tp->partition, &next);

		if (rc < 0)
			return -1;
		tp->offset = rc == 1 ? next : RD_KAFKA_OFFSET_BEGINNING;
		if (tp->partition >= x->lag_top && tp->partition < MAX_PARTITIONS)
			x->lag_top = tp->partition + 1;
		NS_INFO("projector.assign", "topic=%s partition=%d offset=%lld", tp->topic,
			(int)tp->partition, (long long)tp->offset);
	}
	return 0;
}

/* Rebalance: commit what we hold before the partitions go. Consumer thread. */
static void on_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	proj *x = opaque;

	NS_INFO("projector.revoke", "partitions=%d held=%zu", parts->cnt, x->b.n);
	(void)flush_batch(x);
	commit_to_kafka(x); /* while the partitions are still ours */
}

/* Lag per partition: the high watermark the consumer last saw in a fetch answer minus the
 * stored next offset. No broker request: this runs on the consume loop. Only partitions
 * that were ever assigned are asked: librdkafka's look-up of a partition it does not know
 * costs about 8,000 instructions, and 1,024 of them stalled the loop for milliseconds. */
static void refresh_lag(proj *x)
{
	static int64_t hws[MAX_PARTITIONS], written_sum = -1, written_at;
	static int known[MAX_PARTITIONS];
	char labels[64];
	int64_t sum = 0, hw_sum = 0, now = ns_time_now_ms();
	int top = 0;

	for (int p = 0; p < x->lag_top; p++) {
		int64_t hw = 0, next = 0, lag;
		known[p] = 0;
		if (ns_consumer_cached_watermark(x->consumer, x->cfg->topic, p, &hw))
			continue;
		known[p] = 1;
		hws[p] = hw;
		hw_sum += hw;
		top = p + 1;
		if (proj_store_get_offset(x->store, x->cfg->topic, p, &next) < 0)
			return;
		lag = hw > next ? hw - next : 0;
		sum += lag;
		if (!x->part_lag[p]) {
			snprintf(labels, sizeof(labels), "partition=\"%d\"", p);
			x->part_lag[p] = ns_metrics_gauge("projector_partition_lag", labels,
							  "High watermark minus stored offset");
		}
		ns_gauge_set(x->part_lag[p], lag);
	}
	ns_gauge_set(x->lag, sum);
	/* for the figures' lag (GET /figures): a tiny transaction of its own, when the
	 * watermarks moved (or once a minute, to date the figure) */
	if (top == 0 || (hw_sum == written_sum && now - written_at < 60000))
		return;
	if (proj_store_set_lag(x->store, x->cfg->topic, hws, known, top, now) != 0) {
		NS_WARN("projector.lag_write", "topic=%s", x->cfg->topic);
		return;
	}
	written_sum = hw_sum;
	written_at = now;
}

static void register_metrics(proj *x)
{
	char labels[64];

	for (int o = NS_OUT_APPLIED; o <= NS_OUT_RECORDED; o++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", ns_outcome_name((ns_outcome)o));
		x->outcome[o] = ns_metrics_counter("projector_events_total", labels,
						   "Events folded, by outcome");
	}
	x->skipped = ns_metrics_counter("projector_events_total", "outcome=\"skipped\"",
					"Events folded, by outcome");
	x->orphans_created = ns_metrics_counter(
	    "projector_orphans_total", "change=\"created\"",
	    "Notifications whose statuses arrived before (or without) their request: created, "
	    "and adopted by a later requested");
	x->orphans_adopted = ns_metrics_counter("projector_orphans_total", "change=\"adopted\"",
						"Notifications whose statuses arrived before (or "
						"without) their request: created, and adopted by a "
						"later requested");
	x->dlq_total = ns_metrics_counter("projector_dlq_total", NULL,
					  "Undecodable messages sent to the dead-letter topic");
	x->kafka_commits = ns_metrics_counter(
	    "projector_kafka_commits_total", NULL,
	    "Offset commits sent to Kafka (for lag tools; at most one a second)");
	x->batch_seconds = ns_metrics_histogram("projector_batch_seconds", NULL,
						"Time to apply and commit one batch");
	x->lag = ns_metrics_gauge("projector_lag", NULL,
				  "Messages not yet applied, summed over partitions");
	x->assigned_ms =
	    ns_metrics_gauge("projector_assigned_ms", NULL,
			     "Milliseconds from start to the last partition assignment");
	x->first_message_ms =
	    ns_metrics_gauge("projector_first_message_ms", NULL,
			     "Milliseconds from start to the first message consumed");
	x->last_commit_ms = ns_metrics_gauge("projector_last_commit_ms", NULL,
					     "Milliseconds from start to the last batch committed");
}

proj *proj_new(const proj_config *cfg, char *err, size_t errlen)
{
	proj *x = calloc(1, sizeof(*x));

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (proj_batch_init(&x->b, (size_t)cfg->batch)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	x->cfg = cfg;
	x->t0 = ns_time_mono_ms();
	for (int p = 0; p < MAX_PARTITIONS; p++)
		x->to_commit[p] = -1;
	atomic_init(&x->ready, 0);
	if (cfg->dlq_topic && cfg->dlq_topic[0])
		snprintf(x->dlq_topic, sizeof(x->dlq_topic), "%s", cfg->dlq_topic);
	else
		snprintf(x->dlq_topic, sizeof(x->dlq_topic), "%s.dlq", cfg->topic);
	x->channels = ns_channels_load(cfg->schemas_dir, err, errlen);
	if (!x->channels)
		goto fail;
	register_metrics(x);
	return x;
fail:
	proj_free(x);
	return NULL;
}

int proj_ready(void *opaque)
{
	proj *x = opaque;
	return atomic_load(&x->ready) && x->consumer && !ns_consumer_failed(x->consumer);
}

/* Open the store, the dead-letter producer and the consumer. Returns 0 or -1 (logged). */
static int start(proj *x)
{
	const proj_config *cfg = x->cfg;
	ns_rebalance rb = {.on_assign = on_assign, .on_revoke = on_revoke, .opaque = x};
	char err[512];

	x->store = proj_store_open(cfg->db_path, err, sizeof(err));
	if (!x->store) {
		NS_ERROR("projector.db", "path=%s err=\"%s\"", cfg->db_path, err);
		return -1;
	}
	if (cfg->checkpoint_ms > 0) {
		x->checkpointer = proj_checkpointer_start(
		    cfg->db_path, x->store, (int)cfg->checkpoint_ms, err, sizeof(err));
		if (!x->checkpointer)
			NS_WARN("projector.checkpointer", "err=\"%s\" fallback=in_commit", err);
	}
	x->dlq = ns_producer_new("projector-dlq", err, sizeof(err));
	if (!x->dlq) {
		NS_ERROR("projector.producer", "err=\"%s\"", err);
		return -1;
	}
	x->consumer = ns_consumer_new(cfg->group, cfg->topic, &rb, err, sizeof(err));
	if (!x->consumer) {
		NS_ERROR("projector.consumer", "err=\"%s\"", err);
		return -1;
	}
	NS_INFO("projector.start", "topic=%s group=%s db=%s dlq=%s batch=%ld", cfg->topic,
		cfg->group, cfg->db_path, x->dlq_topic, cfg->batch);
	return 0;
}

/* One turn of the loop. Adaptive batching: wait for a message only while nothing is held;
 * once something is, take what is immediately available and fold it all in one
 * transaction as soon as nothing more is (or the batch is full). With PROJECTOR_BATCH_MS
 * above 0, a held batch also waits that long for more (throughput over latency). Refresh
 * the lag gauges now and then. */
static void turn(proj *x)
{
	const proj_config *cfg = x->cfg;
	int64_t now = ns_time_mono_ms();
	int timeout = 100;
	rd_kafka_message_t *m;

	if (x->b.n) {
		int64_t left = x->batch_start + cfg->batch_ms - now;
		timeout = left > 0 ? (int)left : 0;
	}
	m = ns_consumer_poll(x->consumer, timeout);
	if (m && m->err) {
		NS_WARN("projector.consume_error", "err=\"%s\"", rd_kafka_message_errstr(m));
		rd_kafka_message_destroy(m);
		m = NULL;
	} else if (m) {
		if (x->b.n == 0)
			x->batch_start = ns_time_mono_ms();
		if (!x->seen_first) {
			x->seen_first = 1;
			ns_gauge_set(x->first_message_ms, ns_time_mono_ms() - x->t0);
		}
		proj_batch_add(&x->b, m);
	}
	now = ns_time_mono_ms();
	if (x->b.n && (proj_batch_full(&x->b) || (!m && now - x->batch_start >= cfg->batch_ms)))
		(void)flush_batch(x);
	if (now >= x->next_lag) {
		refresh_lag(x);
		x->next_lag = now + LAG_REFRESH_MS;
	}
}

int proj_run(proj *x)
{
	const proj_config *cfg = x->cfg;
	int ret = -1;

	if (cfg->rebuild) {
		int rc = proj_rebuild(cfg, x->channels, cfg->rebuild_progress, cfg->rebuild_opaque);
		if (rc != PROJ_REBUILD_SWAPPED)
			return rc == PROJ_REBUILD_STOPPED ? 0 : -1;
	}
	if (start(x))
		return -1;
	atomic_store(&x->ready, 1);
	while (!ns_signal_stopping() && !ns_consumer_failed(x->consumer))
		turn(x);
	ret = ns_consumer_failed(x->consumer) ? -1 : 0;
	if (ret)
		NS_ERROR("projector.consumer_failed", "topic=%s", cfg->topic);
	(void)flush_batch(x);
	commit_to_kafka(x);
	atomic_store(&x->ready, 0);
	NS_INFO("projector.stop", "topic=%s", cfg->topic);
	return ret;
}

void proj_free(proj *x)
{
	if (!x)
		return;
	ns_consumer_close(x->consumer); /* runs on_revoke: the held batch is folded */
	proj_batch_free(&x->b);
	ns_producer_destroy(x->dlq, 5000);
	proj_checkpointer_stop(x->checkpointer);
	proj_store_close(x->store);
	ns_channels_free(x->channels);
	free(x);
}
