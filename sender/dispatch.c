/* dispatch.c -- the provider-call state machine and the outcome events (see dispatch.h). */
#include "dispatch.h"

#include "ns_event.h"
#include "ns_log.h"
#include "ns_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCE_RETRY_MS 200 /* a refused enqueue is tried again after this */
#define ACK_RETRY_MS	 500 /* an outcome the broker did not ack is produced again */
#define START_RETRY_MS	 100 /* a request that could not start (out of memory) */

void sender_dispatch_release(sender_worker *w, sender_job *j)
{
	(void)sender_jobs_release(&w->jobs, j, ns_time_mono_ms());
	ns_gauge_set(w->m.inflight, w->jobs.count);
}

/* ---- outcomes ------------------------------------------------------------------------ */

/* Producer poll thread: queue the completion and wake the loop. */
static void on_delivery(void *opaque, const ns_delivery *d)
{
	sender_job *j = opaque;
	sender_worker *w = j->owner;

	j->dr_err = d->err;
	pthread_mutex_lock(&w->dlock);
	j->dnext = w->done_head;
	w->done_head = j;
	pthread_mutex_unlock(&w->dlock);
	sender_provider_wakeup(w->prov);
}

static void produce(sender_worker *w, sender_job *j)
{
	size_t len = 0;
	char *buf = ns_event_encode(&j->out, &len);

	if (j->produced_s == 0)
		j->produced_s = ns_time_mono_s();
	if (buf && ns_producer_send_async(w->prod, w->cfg->topic, j->ref, strlen(j->ref), buf, len,
					  on_delivery, j) == 0) {
		j->state = SENDER_JOB_PRODUCING;
	} else {
		NS_WARN("sender.produce_retry", "ref=%s", j->ref);
		j->state = SENDER_JOB_PRODUCE;
		j->due_ms = ns_time_mono_ms() + PRODUCE_RETRY_MS;
	}
	free(buf);
}

/* Build the outcome event of j and produce it. */
static void outcome(sender_worker *w, sender_job *j, ns_event_type type, const char *provider_id,
		    const char *reason, int code)
{
	ns_event *o = &j->out;
	int64_t now = ns_time_now_ms();

	memset(o, 0, sizeof(*o));
	o->type = type;
	o->source = NS_SRC_SENDER;
	snprintf(o->tenant, sizeof(o->tenant), "%s", j->req.tenant);
	snprintf(o->external_id, sizeof(o->external_id), "%s", j->req.external_id);
	snprintf(o->channel, sizeof(o->channel), "%s", j->req.channel);
	o->occurred_at = now;
	o->received_at = now;
	if (type == NS_EV_DISPATCHED) {
		snprintf(o->status, sizeof(o->status), "%s", NS_STATUS_PROCESSING);
		snprintf(o->provider_id, sizeof(o->provider_id), "%s",
			 provider_id && provider_id[0] ? provider_id : "unknown");
	} else {
		snprintf(o->status, sizeof(o->status), "%s", NS_STATUS_FAILED);
		snprintf(o->reason, sizeof(o->reason), "%s", reason ? reason : "");
		o->code = code;
	}
	ns_event_make_id(o);
	produce(w, j);
}

/* One delivery report on the worker thread: an acked outcome completes the job. */
static void delivered(sender_worker *w, sender_job *j)
{
	if (j->dr_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		NS_WARN("sender.outcome_not_acked", "ref=%s err=%s", j->ref,
			rd_kafka_err2name((rd_kafka_resp_err_t)j->dr_err));
		if (j->abandoned) {
			sender_dispatch_release(w, j);
		} else {
			j->state = SENDER_JOB_PRODUCE;
			j->due_ms = ns_time_mono_ms() + ACK_RETRY_MS;
		}
		return;
	}
	ns_counter_add(j->out.type == NS_EV_DISPATCHED ? w->m.dispatched : w->m.failed, 1);
	ns_histogram_observe(w->m.stage_ack, ns_time_mono_s() - j->produced_s);
	ns_histogram_observe(w->m.job, ns_time_mono_s() - j->consumed_s);
	if (!j->abandoned && sender_parts_current(&w->parts, j->partition, j->gen))
		ns_tracker_done(&sender_parts_get(&w->parts, j->partition)->t, j->offset);
	NS_DEBUG("sender.outcome", "ref=%s type=%s partition=%d offset=%lld", j->ref,
		 ns_event_type_name(j->out.type), (int)j->partition, (long long)j->offset);
	sender_dispatch_release(w, j);
}

void sender_dispatch_deliveries(sender_worker *w)
{
	sender_job *list, *j, *nx;

	pthread_mutex_lock(&w->dlock);
	list = w->done_head;
	w->done_head = NULL;
	pthread_mutex_unlock(&w->dlock);
	for (j = list; j; j = nx) {
		nx = j->dnext;
		j->dnext = NULL;
		delivered(w, j);
	}
}

/* ---- provider calls ------------------------------------------------------------------ */

static void retry_or_fail(sender_worker *w, sender_job *j)
{
	int64_t now = ns_time_mono_ms(), delay = 0;
	sender_part *pt = sender_parts_get(&w->parts, j->partition);

	if (pt && pt->draining) {
		ns_counter_add(w->m.abandoned, 1);
		sender_dispatch_release(w, j);
		return;
	}
	if (ns_backoff_next(&w->bo, j->attempt, now - j->first_ms, &w->rng, &delay) != 0) {
		char reason[NS_REASON_MAX + 1];
		snprintf(reason, sizeof(reason), "provider unavailable, retry budget spent: %s",
			 j->last_error);
		NS_WARN("sender.give_up", "ref=%s attempts=%d", j->ref, j->attempt + 1);
		outcome(w, j, NS_EV_FAILED, NULL, reason, 0);
		return;
	}
	j->attempt++;
	j->state = SENDER_JOB_READY;
	j->due_ms = now + delay;
}

static void start_job(sender_worker *w, sender_job *j)
{
	sender_part *pt = sender_parts_get(&w->parts, j->partition);
	int64_t now = ns_time_mono_ms(), wait;
	int rc;

	if (!pt || pt->draining || j->abandoned ||
	    !sender_parts_current(&w->parts, j->partition, j->gen)) {
		ns_counter_add(w->m.abandoned, 1);
		sender_dispatch_release(w, j);
		return;
	}
	if (!j->started) {
		j->started = 1;
		ns_histogram_observe(w->m.stage_wait, ns_time_mono_s() - j->consumed_s);
	}
	if (j->need_exists) {
		rc = sender_provider_exists(w->prov, j->ref, j);
		if (rc == 0)
			ns_counter_add(w->m.exists, 1);
	} else {
		wait = sender_ratelimit_take(w->rl, j->req.channel, now);
		if (wait > 0) {
			j->due_ms = now + wait;
			return;
		}
		rc = sender_provider_send(w->prov, j->req.channel, j->req.to, j->req.body, j->ref,
					  j);
	}
	if (rc != 0) {
		j->due_ms = now + START_RETRY_MS;
		return;
	}
	j->state = SENDER_JOB_HTTP;
}

static void count_send(sender_worker *w, const sender_provider_result *r)
{
	ns_histogram_observe(w->m.provider, r->seconds);
	ns_histogram_observe(r->kind == SENDER_REQ_SEND ? w->m.stage_send : w->m.stage_exists,
			     r->seconds);
	if (r->kind != SENDER_REQ_SEND)
		return;
	ns_counter_add(r->outcome == SENDER_OUT_OK	    ? w->m.accepted
		       : r->outcome == SENDER_OUT_PERMANENT ? w->m.refused
							    : w->m.transient,
		       1);
}

static void refused(sender_worker *w, sender_job *j, const sender_provider_result *r)
{
	char reason[NS_REASON_MAX + 1], q[200];

	snprintf(reason, sizeof(reason), "provider refused (HTTP %ld): %.200s", r->status, r->body);
	NS_INFO("sender.refused", "ref=%s code=%ld body=%s", j->ref, r->status,
		ns_log_quote(r->body, q, sizeof(q)));
	outcome(w, j, NS_EV_FAILED, NULL, reason, (int)r->status);
}

/* A finished provider request (sender_provider_run, worker thread). */
static void on_http(void *ctx, const sender_provider_result *r)
{
	sender_worker *w = ctx;
	sender_job *j = r->opaque;
	const char *what = r->kind == SENDER_REQ_SEND ? "send" : "exists";

	count_send(w, r);
	if (j->abandoned) {
		sender_dispatch_release(w, j);
		return;
	}
	if (r->curl_code)
		snprintf(j->last_error, sizeof(j->last_error), "%s %s", what, r->error);
	else
		snprintf(j->last_error, sizeof(j->last_error), "%s HTTP %ld", what, r->status);

	switch (r->outcome) {
	case SENDER_OUT_OK:
		if (r->kind == SENDER_REQ_EXISTS)
			NS_INFO("sender.already_sent", "ref=%s provider_id=%s", j->ref,
				r->provider_id);
		outcome(w, j, NS_EV_DISPATCHED, r->provider_id, NULL, 0);
		break;
	case SENDER_OUT_NOTFOUND:
		j->need_exists = 0;
		j->state = SENDER_JOB_READY;
		start_job(w, j);
		break;
	case SENDER_OUT_PERMANENT:
		refused(w, j, r);
		break;
	case SENDER_OUT_TRANSIENT:
	default:
		/* the send may or may not have landed: ask before the next one */
		j->need_exists = 1;
		NS_DEBUG("sender.transient", "ref=%s attempt=%d error=\"%s\"", j->ref, j->attempt,
			 j->last_error);
		retry_or_fail(w, j);
		break;
	}
}

/* Start every job that is due; returns ms until the next due job (capped at cap). */
static int step(sender_worker *w, int cap)
{
	int64_t now = ns_time_mono_ms();
	int next = cap;
	sender_job *j, *nx;

	for (j = w->jobs.head; j; j = nx) {
		nx = j->next;
		if (j->state != SENDER_JOB_READY && j->state != SENDER_JOB_PRODUCE)
			continue;
		if (j->due_ms > now) {
			if (j->due_ms - now < next)
				next = (int)(j->due_ms - now);
			continue;
		}
		if (j->state == SENDER_JOB_READY)
			start_job(w, j);
		else if (j->abandoned)
			sender_dispatch_release(w, j);
		else
			produce(w, j);
	}
	return next;
}

int sender_dispatch_pump(sender_worker *w, int wait_ms)
{
	int wait;

	sender_dispatch_deliveries(w);
	wait = step(w, wait_ms);
	if (w->jobs.count == 0)
		wait = 0;
	sender_provider_run(w->prov, w->c ? ns_consumer_wake_fd(w->c) : -1, wait, on_http, w);
	sender_dispatch_deliveries(w);
	return w->jobs.count;
}
