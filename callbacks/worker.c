/* worker.c -- the callback loop (see worker.h): records in, deliveries queued, attempts
 * started within the bounds, results classified, attempt events and dead letters
 * produced, offsets committed behind the done prefix. */
#include "worker.h"
#include "http.h"
#include "ns_backoff.h"
#include "ns_change.h"
#include "ns_kafka.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_rand.h"
#include "ns_sign.h"
#include "ns_signal.h"
#include "ns_time.h"
#include "ns_tracker.h"
#include "ns_url.h"
#include "queue.h"
#include "secrets.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTITIONS	 1024
#define COMMIT_EVERY_MS	 500
#define CONSUME_PER_TURN 500
#define GAUGES_EVERY_MS	 1000
#define REASON_MAX	 160

/* What the worker keeps per delivery beyond the queue's part. */
typedef struct job {
	struct cb_worker *w;
	cb_delivery *d;
	char tenant[NS_TENANT_MAX + 1];
	char external_id[NS_EXTID_MAX + 1];
	char channel[NS_STATUS_MAX + 1];
	unsigned gen; /* the partition's assignment generation when it was consumed */
	int final;    /* its final attempt event is produced; done when acked */
	int ack_err;
	int64_t first_attempt_ms; /* monotonic: the retry window counts from here */
	int64_t first_attempt_wall;
	/* the final result, kept to write its event again should the first write fail */
	char result[NS_STATUS_MAX + 1];
	int code;
	char reason[NS_REASON_MAX + 1];
	struct job *next_done;
} job;

struct cb_worker {
	const cb_config *cfg;
	char dlq[512];
	cb_secrets *secrets;
	ns_consumer *consumer;
	ns_producer *producer;
	cb_http *http;
	cb_queue *queue;
	ns_backoff backoff;
	uint64_t rng;
	ns_tracker trackers[MAX_PARTITIONS];
	unsigned char assigned[MAX_PARTITIONS];
	unsigned gen[MAX_PARTITIONS];
	size_t awaiting;  /* final attempt events not yet acked */
	int paused, more; /* consumption paused; messages left unread last turn */
	int closing;	  /* the producer is gone: acks only free their jobs */
	int64_t next_commit, next_gauges;
	pthread_mutex_t mu; /* acks, from the producer's thread */
	job *acked;
	atomic_int ready;
	ns_counter *attempts_ok, *attempts_failed, *retries, *dropped, *skipped, *delivered;
	ns_gauge *pending, *in_flight, *oldest_s;
	ns_histogram *attempt_seconds;
};

/* ---- jobs ---- */

static void job_free(job *j)
{
	if (!j)
		return;
	cb_delivery_free(j->d);
	free(j);
}

/* The record's offset is done: the tracker may move (unless the partition changed hands
 * since), and the job is freed. */
static void job_done(cb_worker *w, job *j)
{
	int32_t p = j->d->partition;

	if (p >= 0 && p < MAX_PARTITIONS && w->assigned[p] && w->gen[p] == j->gen)
		(void)ns_tracker_done(&w->trackers[p], j->d->offset);
	job_free(j);
}

/* ---- attempt events and dead letters ---- */

/* Producer thread: hand the acked job to the loop and wake it. */
static void on_ack(void *opaque, const ns_delivery *dr)
{
	job *j = opaque;
	cb_worker *w = j->w;

	j->ack_err = dr->err != RD_KAFKA_RESP_ERR_NO_ERROR;
	pthread_mutex_lock(&w->mu);
	j->next_done = w->acked;
	w->acked = j;
	pthread_mutex_unlock(&w->mu);
	cb_http_wakeup(w->http);
}

/* Produce the attempt event of j's delivery (result, HTTP code, reason) to the status
 * topic. final: j is done once it is acked. Returns 0, or -1 (not queued: logged). */
static int attempt_event(cb_worker *w, job *j, const char *result, int code, const char *reason,
			 int final)
{
	char key[NS_REF_MAX + 1], *json;
	ns_event ev = {.type = NS_EV_CALLBACK, .source = NS_SRC_CALLBACKS};
	int rc;

	ev.occurred_at = ev.received_at = ns_time_now_ms();
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", j->tenant);
	snprintf(ev.external_id, sizeof(ev.external_id), "%s", j->external_id);
	snprintf(ev.channel, sizeof(ev.channel), "%s", j->channel);
	snprintf(ev.status, sizeof(ev.status), "%s", result);
	snprintf(ev.delivery_id, sizeof(ev.delivery_id), "%s", j->d->delivery_id);
	snprintf(ev.reason, sizeof(ev.reason), "%s", reason ? reason : "");
	ev.version = j->d->version;
	ev.attempt = j->d->attempt > 0 ? j->d->attempt : 1;
	ev.code = code;
	ns_event_make_id(&ev);
	json = ns_event_encode(&ev, NULL);
	if (!json || ns_event_ref(ev.tenant, ev.external_id, key, sizeof(key)) < 0) {
		free(json);
		return -1;
	}
	j->final = final;
	rc = ns_producer_send_async(w->producer, w->cfg->status_topic, key, strlen(key), json,
				    strlen(json), final ? on_ack : NULL, final ? j : NULL);
	free(json);
	if (rc != 0)
		NS_WARN("callbacks.event_failed", "delivery=%s attempt=%d", j->d->delivery_id,
			j->d->attempt);
	else if (final)
		w->awaiting++;
	return rc;
}

/* The record of j to the dead-letter topic with the reason (synchronous: rare). Returns
 * 0, or -1 when the broker did not take it. */
static int dead_letter(cb_worker *w, job *j, const char *reason)
{
	char attempts[16], first[NS_TIME_ISO_LEN];
	const ns_header hdrs[] = {{"dlq.reason", reason},
				  {"dlq.attempts", attempts},
				  {"dlq.first_attempt", first},
				  {"dlq.delivery", j->d->delivery_id}};
	ns_delivery d;

	snprintf(attempts, sizeof(attempts), "%d", j->d->attempt);
	ns_time_format(j->first_attempt_wall ? j->first_attempt_wall : ns_time_now_ms(), first);
	if (ns_producer_send_hdrs(w->producer, w->dlq, j->d->ref, strlen(j->d->ref), j->d->body,
				  j->d->len, hdrs, 4, 10000, &d) != 0) {
		NS_ERROR("callbacks.dlq_failed", "delivery=%s err=\"%s\"", j->d->delivery_id,
			 rd_kafka_err2str(d.err));
		return -1;
	}
	NS_WARN("callbacks.dropped", "delivery=%s version=%lld attempts=%d reason=\"%s\"",
		j->d->delivery_id, (long long)j->d->version, j->d->attempt, reason);
	ns_counter_add(w->dropped, 1);
	return 0;
}

/* d (in flight) ends for good: out of the queue, its final event produced (its job done
 * on the ack), or done now when even that fails. */
static void finish(cb_worker *w, job *j, const char *result, int code, const char *reason)
{
	snprintf(j->result, sizeof(j->result), "%s", result);
	snprintf(j->reason, sizeof(j->reason), "%s", reason ? reason : "");
	j->code = code;
	cb_queue_finish(w->queue, j->d, ns_time_mono_ms());
	if (attempt_event(w, j, result, code, reason, 1) != 0)
		job_done(w, j);
}

/* The end of the window: the dead-letter topic, then done; when even the dead-letter
 * topic refuses, the delivery stays pending (tried again in a while: nothing is dropped
 * without a copy). d is in flight or just taken. */
static void give_up(cb_worker *w, job *j, const char *reason)
{
	if (dead_letter(w, j, reason) != 0) {
		cb_queue_retry(w->queue, j->d, ns_time_mono_ms() + 5000);
		return;
	}
	finish(w, j, "dropped", 0, reason);
}

/* ---- attempts ---- */

static void start_attempt(cb_worker *w, job *j)
{
	const char *secret = cb_secrets_get(w->secrets, j->tenant);
	char sig[NS_SIGN_VALUE_LEN + 1];
	cb_delivery *d = j->d;

	if (!secret) {
		give_up(w, j, "no callback secret for the tenant");
		return;
	}
	if (d->attempt++ == 0) {
		j->first_attempt_ms = ns_time_mono_ms();
		j->first_attempt_wall = ns_time_now_ms();
	}
	if (ns_sign_value(secret, ns_time_now_ms() / 1000, d->body, d->len, sig, sizeof(sig)) !=
		0 ||
	    cb_http_post(w->http, d->url, d->body, d->len, sig, d->delivery_id, d->attempt, j) !=
		0) {
		d->attempt--;
		cb_queue_retry(w->queue, d, ns_time_mono_ms() + 1000); /* out of memory */
	}
}

static void start_attempts(cb_worker *w)
{
	cb_delivery *d;

	while ((long)cb_queue_in_flight(w->queue) < w->cfg->in_flight &&
	       (d = cb_queue_take(w->queue, ns_time_mono_ms())) != NULL)
		start_attempt(w, d->opaque);
}

/* A finished POST: success, a retry after backoff, or the end of the window. */
static void on_result(void *ctx, const cb_http_result *r)
{
	cb_worker *w = ctx;
	job *j = r->opaque;
	char reason[REASON_MAX];
	int64_t now = ns_time_mono_ms(), delay = 0;

	ns_histogram_observe(w->attempt_seconds, r->seconds);
	if (r->curl_code == 0 && r->status >= 200 && r->status < 300) {
		ns_counter_add(w->attempts_ok, 1);
		ns_counter_add(w->delivered, 1);
		finish(w, j, "delivered", (int)r->status, NULL);
		return;
	}
	ns_counter_add(w->attempts_failed, 1);
	if (r->curl_code == 0)
		snprintf(reason, sizeof(reason), "HTTP %ld", r->status);
	else
		snprintf(reason, sizeof(reason), "%s", r->error);
	NS_DEBUG("callbacks.attempt_failed", "delivery=%s attempt=%d status=%ld curl=%d",
		 j->d->delivery_id, j->d->attempt, r->status, r->curl_code);
	if (ns_backoff_next(&w->backoff, j->d->attempt - 1, now - j->first_attempt_ms, &w->rng,
			    &delay) != 0) {
		give_up(w, j, reason);
		return;
	}
	ns_counter_add(w->retries, 1);
	(void)attempt_event(w, j, "retrying", (int)r->status, reason, 0);
	cb_queue_retry(w->queue, j->d, now + delay);
}

/* ---- records ---- */

/* Queue the delivery of one changelog record, or mark its offset done at once (no
 * callbackUrl, or a record that does not decode). */
static void take_record(cb_worker *w, const rd_kafka_message_t *m)
{
	char err[256], ref[NS_REF_MAX + 1];
	ns_tracker *t = &w->trackers[m->partition];
	ns_change c;
	job *j = NULL;

	if (ns_tracker_add(t, m->offset) != 0)
		return;
	if (!m->payload || ns_change_decode(m->payload, m->len, &c, err, sizeof(err)) != 0 ||
	    !c.callback_url[0] || ns_event_ref(c.tenant, c.external_id, ref, sizeof(ref)) < 0) {
		ns_counter_add(w->skipped, 1);
		(void)ns_tracker_done(t, m->offset);
		return;
	}
	if (ns_url_parse(c.callback_url, strlen(c.callback_url), NULL, NULL, 0) != 0) {
		/* not written by our publisher: nothing to deliver, and no reason to stop */
		NS_WARN("callbacks.bad_url", "partition=%d offset=%lld", (int)m->partition,
			(long long)m->offset);
		ns_counter_add(w->skipped, 1);
		(void)ns_tracker_done(t, m->offset);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j)
		j->d = cb_delivery_new(m->partition, m->offset, ref, c.callback_url, c.event_id,
				       c.version, m->payload, m->len, ns_time_mono_ms());
	if (!j || !j->d || cb_queue_add(w->queue, j->d, ns_time_mono_ms()) != 0) {
		NS_ERROR("callbacks.oom", "partition=%d offset=%lld", (int)m->partition,
			 (long long)m->offset);
		job_free(j);
		ns_signal_request_stop(); /* uncommitted: the next owner delivers it */
		return;
	}
	j->d->opaque = j;
	j->w = w;
	j->gen = w->gen[m->partition];
	snprintf(j->tenant, sizeof(j->tenant), "%s", c.tenant);
	snprintf(j->external_id, sizeof(j->external_id), "%s", c.external_id);
	snprintf(j->channel, sizeof(j->channel), "%s", c.channel);
}

/* Read what the consumer holds now (up to CONSUME_PER_TURN records). */
static void consume(cb_worker *w)
{
	int n = 0;
	rd_kafka_message_t *m;

	ns_consumer_wake_drain(w->consumer);
	w->more = 0;
	while (n < CONSUME_PER_TURN && (m = ns_consumer_poll(w->consumer, 0)) != NULL) {
		if (m->err)
			NS_WARN("callbacks.consume_error", "err=\"%s\"",
				rd_kafka_message_errstr(m));
		else if (m->partition >= 0 && m->partition < MAX_PARTITIONS &&
			 w->assigned[m->partition])
			take_record(w, m);
		rd_kafka_message_destroy(m);
		n++;
	}
	w->more = n == CONSUME_PER_TURN;
}

/* ---- acks, commits, flow control, gauges ---- */

static void drain_acks(cb_worker *w)
{
	job *j, *next;

	pthread_mutex_lock(&w->mu);
	j = w->acked;
	w->acked = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; j; j = next) {
		next = j->next_done;
		w->awaiting--;
		if (j->ack_err && !w->closing &&
		    attempt_event(w, j, j->result, j->code, j->reason, 1) == 0)
			continue; /* the history line is written before the offset moves */
		job_done(w, j);
	}
}

static void commit(cb_worker *w, int sync)
{
	static ns_kafka_pos pos[MAX_PARTITIONS];
	size_t n = 0;

	for (int32_t p = 0; p < MAX_PARTITIONS; p++) {
		int64_t off;
		if (!w->assigned[p])
			continue;
		off = sync ? ns_tracker_committable(&w->trackers[p])
			   : ns_tracker_take_commit(&w->trackers[p]);
		if (off >= 0)
			pos[n++] = (ns_kafka_pos){p, off};
	}
	if (n)
		(void)ns_consumer_commit(w->consumer, w->cfg->changelog, pos, n, !sync);
}

static void flow_control(cb_worker *w)
{
	size_t held = cb_queue_len(w->queue) + w->awaiting;

	if (!w->paused && (long)held >= w->cfg->max_pending) {
		w->paused = ns_consumer_pause_all(w->consumer, 1) == 0;
		NS_INFO("callbacks.paused", "pending=%zu", held);
	} else if (w->paused && (long)held < w->cfg->max_pending / 2) {
		w->paused = ns_consumer_pause_all(w->consumer, 0) != 0;
		NS_INFO("callbacks.resumed", "pending=%zu", held);
	}
}

static void gauges(cb_worker *w, int64_t now)
{
	int64_t oldest = cb_queue_oldest(w->queue);

	ns_gauge_set(w->pending, (int64_t)(cb_queue_len(w->queue) + w->awaiting));
	ns_gauge_set(w->in_flight, (int64_t)cb_queue_in_flight(w->queue));
	ns_gauge_set(w->oldest_s, oldest < 0 ? 0 : (now - oldest) / 1000);
}

/* ---- rebalance ---- */

static int on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
	cb_worker *w = opaque;

	for (int i = 0; i < parts->cnt; i++) {
		int32_t p = parts->elems[i].partition;
		if (p < 0 || p >= MAX_PARTITIONS)
			return -1;
		ns_tracker_reset(&w->trackers[p]);
		w->assigned[p] = 1;
		w->gen[p]++;
	}
	/* new partitions start fetching: flow control pauses the whole assignment again on
	 * the next turn when it must */
	w->paused = 0;
	return 0; /* from the committed offsets */
}

static void drop_one(void *ctx, cb_delivery *d)
{
	cb_worker *w = ctx;

	(void)cb_http_cancel(w->http, d->opaque); /* when in flight */
	job_free(d->opaque);
}

static void on_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	cb_worker *w = opaque;

	commit(w, 1);
	for (int i = 0; i < parts->cnt; i++) {
		int32_t p = parts->elems[i].partition;
		if (p < 0 || p >= MAX_PARTITIONS)
			continue;
		(void)cb_queue_drop(w->queue, p, drop_one, w);
		ns_tracker_reset(&w->trackers[p]);
		w->assigned[p] = 0;
		w->gen[p]++;
	}
}

/* ---- the loop ---- */

static int wait_ms(cb_worker *w, int64_t now)
{
	int64_t due = cb_queue_next_due(w->queue), wait = 200;

	if (w->more)
		return 0;
	/* at the in-flight cap a due delivery cannot start: wait for an attempt to end */
	if (due >= 0 && (long)cb_queue_in_flight(w->queue) < w->cfg->in_flight)
		wait = due > now ? due - now : 0;
	if (wait > COMMIT_EVERY_MS)
		wait = COMMIT_EVERY_MS;
	return (int)wait;
}

static void turn(cb_worker *w)
{
	int64_t now;

	consume(w);
	drain_acks(w);
	start_attempts(w);
	/* a new record (the consumer's fd), a finished POST or an ack (curl's wakeup) ends
	 * the wait at once */
	(void)cb_http_run(w->http, ns_consumer_wake_fd(w->consumer), wait_ms(w, ns_time_mono_ms()),
			  on_result, w);
	now = ns_time_mono_ms();
	if (now >= w->next_commit) {
		commit(w, 0);
		w->next_commit = now + COMMIT_EVERY_MS;
	}
	flow_control(w);
	if (now >= w->next_gauges) {
		gauges(w, now);
		w->next_gauges = now + GAUGES_EVERY_MS;
	}
}

static void register_metrics(cb_worker *w)
{
	const char *h = "Callback attempts, by result";

	w->attempts_ok = ns_metrics_counter("callbacks_attempts_total", "result=\"success\"", h);
	w->attempts_failed =
	    ns_metrics_counter("callbacks_attempts_total", "result=\"failure\"", h);
	w->delivered = ns_metrics_counter("callbacks_delivered_total", NULL,
					  "Changes delivered to their callback URL");
	w->retries = ns_metrics_counter("callbacks_retries_total", NULL,
					"Attempts scheduled again after a failure");
	w->dropped = ns_metrics_counter("callbacks_dead_lettered_total", NULL,
					"Changes given up after the retry window (to the DLQ)");
	w->skipped = ns_metrics_counter("callbacks_skipped_total", NULL,
					"Changelog records without a callback URL");
	w->pending = ns_metrics_gauge("callbacks_pending", NULL, "Deliveries not yet done");
	w->in_flight = ns_metrics_gauge("callbacks_in_flight", NULL, "Attempts under way");
	w->oldest_s = ns_metrics_gauge("callbacks_oldest_pending_seconds", NULL,
				       "Age of the oldest delivery not yet done");
	w->attempt_seconds =
	    ns_metrics_histogram("callbacks_attempt_seconds", NULL, "Duration of one attempt");
}

cb_worker *cb_worker_new(const cb_config *cfg, char *err, size_t errlen)
{
	cb_worker *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cfg = cfg;
	pthread_mutex_init(&w->mu, NULL);
	atomic_init(&w->ready, 0);
	w->backoff = (ns_backoff){cfg->retry_base_ms, cfg->retry_cap_ms, cfg->window_s * 1000};
	w->rng = (uint64_t)ns_time_now_ms() ^ (uint64_t)(uintptr_t)w;
	for (int p = 0; p < MAX_PARTITIONS; p++)
		ns_tracker_init(&w->trackers[p]);
	if (cfg->dlq_topic && cfg->dlq_topic[0])
		snprintf(w->dlq, sizeof(w->dlq), "%s", cfg->dlq_topic);
	else
		snprintf(w->dlq, sizeof(w->dlq), "%s.callbacks.dlq", cfg->changelog);
	w->secrets = cb_secrets_load(cfg->secrets_file, cfg->secret, err, errlen);
	w->queue = cb_queue_new((int)cfg->per_host);
	if (!w->secrets || !w->queue) {
		if (w->secrets)
			snprintf(err, errlen, "out of memory");
		cb_worker_free(w);
		return NULL;
	}
	register_metrics(w);
	return w;
}

int cb_worker_ready(void *opaque)
{
	cb_worker *w = opaque;
	return atomic_load(&w->ready) && !ns_consumer_failed(w->consumer) &&
	       !ns_producer_fatal(w->producer);
}

static int start(cb_worker *w)
{
	const cb_config *cfg = w->cfg;
	ns_rebalance rb = {.on_assign = on_assign, .on_revoke = on_revoke, .opaque = w};
	char err[512];

	if (ns_kafka_topic_ensure(w->dlq, 1, 30000, err, sizeof(err)) != 0 ||
	    !(w->http = cb_http_new(cfg->timeout_ms, cfg->in_flight, (int)cfg->allow_private, err,
				    sizeof(err))) ||
	    !(w->producer = ns_producer_new("callbacks", err, sizeof(err))) ||
	    !(w->consumer = ns_consumer_new(cfg->group, cfg->changelog, &rb, err, sizeof(err))) ||
	    ns_consumer_wake_fd(w->consumer) < 0) {
		NS_ERROR("callbacks.start", "changelog=%s err=\"%s\"", cfg->changelog, err);
		return -1;
	}
	NS_INFO("callbacks.start",
		"changelog=%s group=%s dlq=%s per_host=%ld in_flight=%ld window_s=%ld "
		"secrets=%zu default_secret=%d allow_private=%ld",
		cfg->changelog, cfg->group, w->dlq, cfg->per_host, cfg->in_flight, cfg->window_s,
		cb_secrets_count(w->secrets), cfg->secret && cfg->secret[0], cfg->allow_private);
	return 0;
}

int cb_worker_run(cb_worker *w)
{
	int ret;

	if (start(w))
		return -1;
	atomic_store(&w->ready, 1);
	while (!ns_signal_stopping() && !ns_consumer_failed(w->consumer) &&
	       !ns_producer_fatal(w->producer))
		turn(w);
	ret = ns_consumer_failed(w->consumer) || ns_producer_fatal(w->producer) ? -1 : 0;
	atomic_store(&w->ready, 0);
	drain_acks(w);
	commit(w, 1);
	NS_INFO("callbacks.stop", "pending=%zu in_flight=%zu", cb_queue_len(w->queue),
		cb_queue_in_flight(w->queue));
	return ret;
}

void cb_worker_free(cb_worker *w)
{
	if (!w)
		return;
	ns_consumer_close(w->consumer);		/* on_revoke: commits, drops the queue */
	ns_producer_destroy(w->producer, 5000); /* acks run: their jobs are freed */
	w->producer = NULL;
	w->closing = 1;
	drain_acks(w);
	cb_http_free(w->http);
	cb_queue_free(w->queue);
	cb_secrets_free(w->secrets);
	for (int p = 0; p < MAX_PARTITIONS; p++)
		ns_tracker_free(&w->trackers[p]);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
