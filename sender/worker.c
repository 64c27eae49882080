/* worker.c -- the sender loop and its rebalance hooks (see worker.h for the guarantees).
 *
 * One thread drives everything: the consumer (ns_consumer_poll, rebalance hooks), the
 * provider requests (libcurl multi, through dispatch.h) and the job table. Each turn takes
 * what the consumer has (without waiting while there is work), moves every job on, applies
 * flow control and commits now and then. A revoked partition drains: requests already on
 * the wire finish and their outcomes are produced; nothing new starts; after the bound the
 * rest is abandoned (safe: the next owner asks exists() before sending). */
#include "worker.h"
#include "dispatch.h"
#include "state.h"

#include "ns_event.h"
#include "ns_log.h"
#include "ns_signal.h"
#include "ns_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_IDLE_MS  50  /* consumer wait when no job is in the table */
#define POLL_BATCH    500 /* messages taken from the consumer per turn at most */
#define PUMP_WAIT_MS  20  /* provider wait per turn at most */
#define DRAIN_WAIT_MS 10  /* provider wait per turn while draining a revoke */

static void metrics_init(sender_metrics *m)
{
	const char *h = "provider send calls by result";

	m->accepted = ns_metrics_counter("sender_sends_total", "result=\"accepted\"", h);
	m->refused = ns_metrics_counter("sender_sends_total", "result=\"refused\"", h);
	m->transient = ns_metrics_counter("sender_sends_total", "result=\"transient\"", h);
	m->exists = ns_metrics_counter("sender_exists_checks_total", NULL,
				       "exists(externalId) calls to the provider");
	m->dispatched = ns_metrics_counter("sender_outcomes_total", "type=\"dispatched\"",
					   "outcome events acked by Kafka");
	m->failed = ns_metrics_counter("sender_outcomes_total", "type=\"failed\"",
				       "outcome events acked by Kafka");
	m->ignored =
	    ns_metrics_counter("sender_ignored_total", NULL,
			       "events consumed that are not requested (or not decodable)");
	m->abandoned = ns_metrics_counter("sender_abandoned_total", NULL,
					  "jobs left to the next owner at revoke or stop");
	m->inflight = ns_metrics_gauge("sender_inflight", NULL, "jobs in progress");
	m->provider =
	    ns_metrics_histogram("sender_provider_seconds", NULL, "provider call duration");
	h = "time a job spends in each stage: waiting to start, exists(), send, outcome ack";
	m->stage_wait = ns_metrics_histogram("sender_stage_seconds", "stage=\"wait\"", h);
	m->stage_exists = ns_metrics_histogram("sender_stage_seconds", "stage=\"exists\"", h);
	m->stage_send = ns_metrics_histogram("sender_stage_seconds", "stage=\"send\"", h);
	m->stage_ack = ns_metrics_histogram("sender_stage_seconds", "stage=\"ack\"", h);
	m->job = ns_metrics_histogram("sender_job_seconds", NULL,
				      "from a request consumed to its outcome acked");
}

sender_worker *sender_worker_new(const sender_config *cfg, sender_ratelimit *rl)
{
	sender_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cfg = cfg;
	w->rl = rl;
	w->bo = (ns_backoff){cfg->retry_base_ms, cfg->retry_cap_ms, cfg->retry_budget_ms};
	w->rng = (uint64_t)ns_time_now_ms() ^ ((uint64_t)getpid() << 32);
	sender_jobs_init(&w->jobs);
	sender_parts_init(&w->parts);
	atomic_init(&w->ready, 0);
	pthread_mutex_init(&w->dlock, NULL);
	metrics_init(&w->m);
	return w;
}

int sender_worker_ready(void *opaque)
{
	sender_worker *w = opaque;
	return atomic_load(&w->ready);
}

/* ---- consuming ----------------------------------------------------------------------- */

/* A message that is not a requested event: counted, logged when undecodable, and its
 * offset done at once (the projector dead-letters what nobody can decode). */
static void ignore(sender_worker *w, sender_part *pt, const rd_kafka_message_t *m, const char *why)
{
	char q[300];

	if (why[0])
		NS_WARN("sender.undecodable", "partition=%d offset=%lld err=%s", (int)m->partition,
			(long long)m->offset, ns_log_quote(why, q, sizeof(q)));
	ns_counter_add(w->m.ignored, 1);
	ns_tracker_done(&pt->t, m->offset);
}

static void on_message(sender_worker *w, const rd_kafka_message_t *m)
{
	sender_part *pt;
	sender_job *j;
	char err[256] = "";

	if (m->err) {
		NS_WARN("sender.consume_error", "err=%s", rd_kafka_err2name(m->err));
		return;
	}
	pt = sender_parts_get(&w->parts, m->partition);
	if (!pt || !pt->owned || pt->draining)
		return;
	if (ns_tracker_add(&pt->t, m->offset) != 0) {
		NS_WARN("sender.offset_order", "partition=%d offset=%lld", (int)m->partition,
			(long long)m->offset);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		NS_ERROR("sender.oom", "partition=%d offset=%lld", (int)m->partition,
			 (long long)m->offset);
		ns_signal_request_stop(); /* uncommitted: the next owner takes it */
		return;
	}
	if (!m->payload || ns_event_decode(m->payload, m->len, &j->req, err, sizeof(err)) != 0 ||
	    j->req.type != NS_EV_REQUESTED) {
		ignore(w, pt, m, err);
		free(j);
		return;
	}
	if (ns_event_ref(j->req.tenant, j->req.external_id, j->ref, sizeof(j->ref)) < 0) {
		ignore(w, pt, m, "reference too long");
		free(j);
		return;
	}
	j->owner = w;
	j->partition = m->partition;
	j->offset = m->offset;
	j->gen = pt->gen;
	j->need_exists = 1; /* the simple rule: always ask before the first send */
	j->consumed_s = ns_time_mono_s();
	(void)sender_jobs_add(&w->jobs, j, ns_time_mono_ms());
	ns_gauge_set(w->m.inflight, w->jobs.count);
}

/* Take what the consumer has: wait a little only when the table is empty. */
static void consume(sender_worker *w)
{
	ns_consumer_wake_drain(w->c); /* before polling it empty: the next message wakes us */
	for (int k = 0; k < POLL_BATCH; k++) {
		rd_kafka_message_t *m =
		    ns_consumer_poll(w->c, (k == 0 && w->jobs.count == 0) ? POLL_IDLE_MS : 0);
		if (!m)
			break;
		on_message(w, m);
		rd_kafka_message_destroy(m);
	}
}

/* ---- rebalance (consumer thread = worker thread, inside ns_consumer_poll) ------------ */

/* Forget the jobs of the n partitions ps and give them up. */
static void disown(sender_worker *w, const int32_t *ps, int n)
{
	for (int i = 0; i < n; i++) {
		int gone = sender_jobs_forget_partition(&w->jobs, ps[i]);
		ns_counter_add(w->m.abandoned, (uint64_t)gone);
		sender_parts_disown(&w->parts, ps[i]);
	}
	ns_gauge_set(w->m.inflight, w->jobs.count);
}

/* Drain the revoked partitions within the bound, commit them, forget them. */
static void on_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	sender_worker *w = opaque;
	int32_t *ps = calloc((size_t)parts->cnt + 1, sizeof(*ps));
	int64_t deadline = ns_time_mono_ms() + w->cfg->shutdown_ms;
	int n = 0;

	if (!ps)
		return;
	for (int i = 0; i < parts->cnt; i++) {
		sender_part *pt = sender_parts_get(&w->parts, parts->elems[i].partition);
		if (pt && pt->owned) {
			pt->draining = 1;
			ps[n++] = parts->elems[i].partition;
		}
	}
	while (sender_jobs_busy(&w->jobs, ps, n) && ns_time_mono_ms() < deadline)
		(void)sender_dispatch_pump(w, DRAIN_WAIT_MS);
	sender_dispatch_deliveries(w);
	(void)sender_parts_commit(&w->parts, w->c, w->cfg->topic, ps, n);
	disown(w, ps, n);
	NS_INFO("sender.revoked", "partitions=%d jobs_left=%d", n, w->jobs.count);
	w->assign_changed = 1;
	free(ps);
}

static int on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
	sender_worker *w = opaque;

	for (int i = 0; i < parts->cnt; i++)
		if (sender_parts_own(&w->parts, parts->elems[i].partition))
			return -1;
	NS_INFO("sender.assigned", "partitions=%d", parts->cnt);
	w->assign_changed = 1;
	w->parts.paused = 0; /* newly assigned partitions start fetching */
	return 0;
}

/* ---- the loop ------------------------------------------------------------------------ */

/* Start the provider client, the producer and the consumer. Returns 0 or -1 with err. */
static int start(sender_worker *w, char *err, size_t errlen)
{
	const sender_config *cfg = w->cfg;
	ns_rebalance rb = {.on_assign = on_assign, .on_revoke = on_revoke, .opaque = w};

	w->prov = sender_provider_new(cfg->provider_url, cfg->provider_timeout_ms, cfg->max_conns,
				      err, errlen);
	if (!w->prov)
		return -1;
	w->prod = ns_producer_new("sender", err, errlen);
	if (!w->prod)
		return -1;
	w->c = ns_consumer_new(cfg->group, cfg->topic, &rb, err, errlen);
	if (!w->c)
		return -1;
	if (ns_consumer_wake_fd(w->c) < 0) {
		snprintf(err, errlen, "no wake-up pipe for the consumer");
		return -1;
	}
	NS_INFO("sender.started", "group=%s topic=%s provider=%s max_inflight=%ld", cfg->group,
		cfg->topic, cfg->provider_url, cfg->max_inflight);
	return 0;
}

/* Close the consumer (its revoke hook drains and commits), then let what is left end. */
static void stop(sender_worker *w)
{
	NS_INFO("sender.stopping", "jobs=%d", w->jobs.count);
	ns_consumer_close(w->c);
	w->c = NULL;
	/* whatever is left was abandoned: let outstanding requests end, then free */
	for (sender_job *j = w->jobs.head; j; j = j->next)
		j->abandoned = 1;
	ns_producer_destroy(w->prod, (int)w->cfg->shutdown_ms);
	w->prod = NULL;
	sender_dispatch_deliveries(w);
	sender_provider_free(w->prov);
	w->prov = NULL;
}

int sender_worker_run(sender_worker *w, char *err, size_t errlen)
{
	int64_t next_commit;
	int rc = -1;

	if (start(w, err, errlen))
		goto out;
	atomic_store(&w->ready, 1);
	next_commit = ns_time_mono_ms() + w->cfg->commit_interval_ms;
	while (!ns_signal_stopping()) {
		if (ns_consumer_failed(w->c) || ns_producer_fatal(w->prod)) {
			snprintf(err, errlen, "kafka client failed fatally");
			goto out;
		}
		consume(w);
		(void)sender_dispatch_pump(w, PUMP_WAIT_MS);
		sender_parts_flow(&w->parts, w->c, w->jobs.count >= w->cfg->max_inflight,
				  w->assign_changed);
		w->assign_changed = 0;
		if (ns_time_mono_ms() >= next_commit) {
			(void)sender_parts_commit(&w->parts, w->c, w->cfg->topic, NULL, 0);
			next_commit = ns_time_mono_ms() + w->cfg->commit_interval_ms;
		}
	}
	rc = 0;
out:
	atomic_store(&w->ready, 0);
	stop(w);
	return rc;
}

void sender_worker_free(sender_worker *w)
{
	if (!w)
		return;
	sender_jobs_free(&w->jobs);
	sender_parts_free(&w->parts);
	pthread_mutex_destroy(&w->dlock);
	free(w);
}
