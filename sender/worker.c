/* worker.c -- the sender loop (see worker.h for the guarantees).
 *
 * One thread drives everything: the consumer (ns_consumer_poll, rebalance hooks), the
 * provider requests (libcurl multi) and the job table. The producer's delivery callback
 * runs on the producer's poll thread and only appends the job to a locked completion list
 * and wakes the loop.
 *
 * A job is one `requested` event. Its life: WAITING (another job of the same externalId
 * is active) -> READY (due at due_ms) -> HTTP (exists, then send) -> PRODUCING (outcome
 * produced, waiting for the ack) -> released, which marks its offset done in the
 * partition's tracker and promotes the next job of the same externalId. A revoked
 * partition drains: requests already on the wire finish and their outcomes are produced;
 * nothing new starts; after the bound the rest is abandoned (safe: the next owner asks
 * exists() before sending). */
#include "worker.h"
#include "backoff.h"
#include "provider.h"
#include "tracker.h"

#include "ns_event.h"
#include "ns_kafka.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"
#include "ns_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_BUCKETS   4096
#define PARTITIONS_MAX 10000

typedef enum { J_WAITING, J_READY, J_HTTP, J_PRODUCE_READY, J_PRODUCING } jstate;

typedef struct worker worker;

typedef struct job {
	worker *w;
	struct job *prev, *next; /* every job */
	struct job *hnext;	 /* hash chain: the active job of an externalId */
	struct job *wnext;	 /* jobs of the same externalId waiting behind */
	struct job *dnext;	 /* completion list (delivery reports) */
	int in_hash;
	int32_t partition;
	int64_t offset;
	uint64_t gen; /* partition generation when consumed */
	jstate state;
	int need_exists;
	int attempt;
	int abandoned;
	int64_t first_ms, due_ms;
	rd_kafka_resp_err_t dr_err;
	char last_error[160];
	ns_event req;
	ns_event out;
} job;

typedef struct {
	int owned, draining;
	uint64_t gen;
	int njobs;
	sender_tracker t;
} part;

struct worker {
	const sender_config *cfg;
	sender_ratelimit *rl;
	sender_backoff bo;
	uint64_t rng;
	ns_consumer *c;
	ns_producer *prod;
	sender_provider *prov;
	job *jobs, *jobs_tail; /* every job, in consumption order (oldest first) */
	int njobs;
	job *hash[HASH_BUCKETS];
	part *parts;
	int nparts;
	int paused;
	int assign_changed;
	pthread_mutex_t dlock;
	job *done_head; /* completions from the producer thread */
};

static atomic_int ready_flag;

static ns_counter *m_accepted, *m_refused, *m_transient, *m_exists, *m_dispatched, *m_failed,
    *m_ignored, *m_abandoned;
static ns_gauge *m_inflight;
static ns_histogram *m_provider;

static void metrics_init(void)
{
	const char *h = "provider send calls by result";
	m_accepted = ns_metrics_counter("sender_sends_total", "result=\"accepted\"", h);
	m_refused = ns_metrics_counter("sender_sends_total", "result=\"refused\"", h);
	m_transient = ns_metrics_counter("sender_sends_total", "result=\"transient\"", h);
	m_exists = ns_metrics_counter("sender_exists_checks_total", NULL,
				      "exists(externalId) calls to the provider");
	m_dispatched = ns_metrics_counter("sender_outcomes_total", "type=\"dispatched\"",
					  "outcome events acked by Kafka");
	m_failed = ns_metrics_counter("sender_outcomes_total", "type=\"failed\"",
				      "outcome events acked by Kafka");
	m_ignored = ns_metrics_counter("sender_ignored_total", NULL,
				       "events consumed that are not requested (or not decodable)");
	m_abandoned = ns_metrics_counter("sender_abandoned_total", NULL,
					 "jobs left to the next owner at revoke or stop");
	m_inflight = ns_metrics_gauge("sender_inflight", NULL, "jobs in progress");
	m_provider =
	    ns_metrics_histogram("sender_provider_seconds", NULL, "provider call duration");
}

int sender_worker_ready(void *opaque)
{
	(void)opaque;
	return atomic_load(&ready_flag);
}

/* ---- job table ---------------------------------------------------------------------- */

static unsigned hash_of(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % HASH_BUCKETS;
}

static job *hash_find(worker *w, const char *id)
{
	job *j;
	for (j = w->hash[hash_of(id)]; j; j = j->hnext)
		if (strcmp(j->req.external_id, id) == 0)
			return j;
	return NULL;
}

static void hash_insert(worker *w, job *j)
{
	unsigned h = hash_of(j->req.external_id);
	j->hnext = w->hash[h];
	w->hash[h] = j;
	j->in_hash = 1;
}

static void hash_remove(worker *w, job *j)
{
	job **pp = &w->hash[hash_of(j->req.external_id)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == j) {
			*pp = j->hnext;
			break;
		}
	j->hnext = NULL;
	j->in_hash = 0;
}

static part *part_get(worker *w, int32_t p)
{
	if (p < 0 || p >= PARTITIONS_MAX)
		return NULL;
	if (p >= w->nparts) {
		int n = p + 1, i;
		part *np = realloc(w->parts, (size_t)n * sizeof(*np));
		if (!np)
			return NULL;
		for (i = w->nparts; i < n; i++) {
			memset(&np[i], 0, sizeof(np[i]));
			sender_tracker_init(&np[i].t);
		}
		w->parts = np;
		w->nparts = n;
	}
	return &w->parts[p];
}

static void list_unlink(worker *w, job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		w->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	else
		w->jobs_tail = j->prev;
	j->prev = j->next = NULL;
	w->njobs--;
	ns_gauge_set(m_inflight, w->njobs);
}

/* Free a finished (or abandoned) job; promote the next job of its externalId. */
static void release(worker *w, job *j)
{
	part *pt = part_get(w, j->partition);
	job *nx = j->wnext;

	if (j->in_hash) {
		hash_remove(w, j);
		if (nx) {
			hash_insert(w, nx);
			nx->state = J_READY;
			nx->due_ms = ns_time_mono_ms();
			nx->first_ms = nx->due_ms;
		}
	}
	list_unlink(w, j);
	if (pt)
		pt->njobs--;
	free(j);
}

static int job_current(worker *w, const job *j)
{
	part *pt = part_get(w, j->partition);
	return pt && pt->owned && pt->gen == j->gen && !j->abandoned;
}

/* ---- outcomes ------------------------------------------------------------------------ */

static void on_delivery(void *opaque, const ns_delivery *d);

static void produce(worker *w, job *j)
{
	size_t len = 0;
	char *buf = ns_event_encode(&j->out, &len);

	if (buf &&
	    ns_producer_send_async(w->prod, w->cfg->topic, j->out.external_id,
				   strlen(j->out.external_id), buf, len, on_delivery, j) == 0) {
		j->state = J_PRODUCING;
	} else {
		NS_WARN("sender.produce_retry", "external_id=%s", j->out.external_id);
		j->state = J_PRODUCE_READY;
		j->due_ms = ns_time_mono_ms() + 200;
	}
	free(buf);
}

static void outcome(worker *w, job *j, ns_event_type type, const char *provider_id,
		    const char *reason, int code)
{
	ns_event *o = &j->out;
	int64_t now = ns_time_now_ms();

	memset(o, 0, sizeof(*o));
	o->type = type;
	o->source = NS_SRC_SENDER;
	snprintf(o->external_id, sizeof(o->external_id), "%s", j->req.external_id);
	snprintf(o->channel, sizeof(o->channel), "%s", j->req.channel);
	o->occurred_at = now;
	o->received_at = now;
	if (type == NS_EV_DISPATCHED) {
		snprintf(o->status, sizeof(o->status), "processing");
		snprintf(o->provider_id, sizeof(o->provider_id), "%s",
			 provider_id && provider_id[0] ? provider_id : "unknown");
	} else {
		snprintf(o->status, sizeof(o->status), "failed");
		snprintf(o->reason, sizeof(o->reason), "%s", reason ? reason : "");
		o->code = code;
	}
	ns_event_make_id(o);
	produce(w, j);
}

/* Producer poll thread: queue the completion and wake the loop. */
static void on_delivery(void *opaque, const ns_delivery *d)
{
	job *j = opaque;
	worker *w = j->w;

	j->dr_err = d->err;
	pthread_mutex_lock(&w->dlock);
	j->dnext = w->done_head;
	w->done_head = j;
	pthread_mutex_unlock(&w->dlock);
	sender_provider_wakeup(w->prov);
}

static void drain_deliveries(worker *w)
{
	job *list, *j, *nx;

	pthread_mutex_lock(&w->dlock);
	list = w->done_head;
	w->done_head = NULL;
	pthread_mutex_unlock(&w->dlock);
	for (j = list; j; j = nx) {
		nx = j->dnext;
		j->dnext = NULL;
		if (j->dr_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			NS_WARN("sender.outcome_not_acked", "external_id=%s err=%s",
				j->out.external_id, rd_kafka_err2name(j->dr_err));
			if (j->abandoned) {
				release(w, j);
			} else {
				j->state = J_PRODUCE_READY;
				j->due_ms = ns_time_mono_ms() + 500;
			}
			continue;
		}
		ns_counter_add(j->out.type == NS_EV_DISPATCHED ? m_dispatched : m_failed, 1);
		if (job_current(w, j))
			sender_tracker_done(&part_get(w, j->partition)->t, j->offset);
		NS_DEBUG("sender.outcome", "external_id=%s type=%s partition=%d offset=%lld",
			 j->out.external_id, ns_event_type_name(j->out.type), (int)j->partition,
			 (long long)j->offset);
		release(w, j);
	}
}

/* ---- provider calls ------------------------------------------------------------------ */

static void retry_or_fail(worker *w, job *j)
{
	int64_t now = ns_time_mono_ms(), delay = 0;
	part *pt = part_get(w, j->partition);

	if (pt && pt->draining) {
		ns_counter_add(m_abandoned, 1);
		release(w, j);
		return;
	}
	if (sender_backoff_next(&w->bo, j->attempt, now - j->first_ms, &w->rng, &delay) != 0) {
		char reason[NS_REASON_MAX + 1];
		snprintf(reason, sizeof(reason), "provider unavailable, retry budget spent: %s",
			 j->last_error);
		NS_WARN("sender.give_up", "external_id=%s attempts=%d", j->req.external_id,
			j->attempt + 1);
		outcome(w, j, NS_EV_FAILED, NULL, reason, 0);
		return;
	}
	j->attempt++;
	j->state = J_READY;
	j->due_ms = now + delay;
}

static void start_job(worker *w, job *j)
{
	part *pt = part_get(w, j->partition);
	int64_t now = ns_time_mono_ms(), wait;
	int rc;

	if (!pt || pt->draining || !job_current(w, j)) {
		ns_counter_add(m_abandoned, 1);
		release(w, j);
		return;
	}
	if (j->need_exists) {
		rc = sender_provider_exists(w->prov, j->req.external_id, j);
		if (rc == 0)
			ns_counter_add(m_exists, 1);
	} else {
		wait = sender_ratelimit_take(w->rl, j->req.channel, now);
		if (wait > 0) {
			j->due_ms = now + wait;
			return;
		}
		rc = sender_provider_send(w->prov, j->req.channel, j->req.to, j->req.body,
					  j->req.external_id, j);
	}
	if (rc != 0) {
		j->due_ms = now + 100;
		return;
	}
	j->state = J_HTTP;
}

static void on_http(void *ctx, const sender_provider_result *r)
{
	worker *w = ctx;
	job *j = r->opaque;

	ns_histogram_observe(m_provider, r->seconds);
	if (r->kind == SENDER_REQ_SEND)
		ns_counter_add(r->outcome == SENDER_OUT_OK	    ? m_accepted
			       : r->outcome == SENDER_OUT_PERMANENT ? m_refused
								    : m_transient,
			       1);
	if (j->abandoned) {
		release(w, j);
		return;
	}
	if (r->curl_code)
		snprintf(j->last_error, sizeof(j->last_error), "%s %s",
			 r->kind == SENDER_REQ_SEND ? "send" : "exists", r->error);
	else
		snprintf(j->last_error, sizeof(j->last_error), "%s HTTP %ld",
			 r->kind == SENDER_REQ_SEND ? "send" : "exists", r->status);

	switch (r->outcome) {
	case SENDER_OUT_OK:
		if (r->kind == SENDER_REQ_EXISTS)
			NS_INFO("sender.already_sent", "external_id=%s provider_id=%s",
				j->req.external_id, r->provider_id);
		outcome(w, j, NS_EV_DISPATCHED, r->provider_id, NULL, 0);
		break;
	case SENDER_OUT_NOTFOUND:
		j->need_exists = 0;
		j->state = J_READY;
		start_job(w, j);
		break;
	case SENDER_OUT_PERMANENT: {
		char reason[NS_REASON_MAX + 1], q[200];
		snprintf(reason, sizeof(reason), "provider refused (HTTP %ld): %.200s", r->status,
			 r->body);
		NS_INFO("sender.refused", "external_id=%s code=%ld body=%s", j->req.external_id,
			r->status, ns_log_quote(r->body, q, sizeof(q)));
		outcome(w, j, NS_EV_FAILED, NULL, reason, (int)r->status);
		break;
	}
	case SENDER_OUT_TRANSIENT:
	default:
		/* the send may or may not have landed: ask before the next one */
		j->need_exists = 1;
		NS_DEBUG("sender.transient", "external_id=%s attempt=%d error=\"%s\"",
			 j->req.external_id, j->attempt, j->last_error);
		retry_or_fail(w, j);
		break;
	}
}

/* Start every job that is due; returns ms until the next due job (capped at cap). */
static int step(worker *w, int cap)
{
	int64_t now = ns_time_mono_ms();
	int next = cap;
	job *j, *nx;

	for (j = w->jobs; j; j = nx) {
		nx = j->next;
		if (j->state != J_READY && j->state != J_PRODUCE_READY)
			continue;
		if (j->due_ms > now) {
			if (j->due_ms - now < next)
				next = (int)(j->due_ms - now);
			continue;
		}
		if (j->state == J_READY) {
			start_job(w, j);
		} else if (j->abandoned) {
			release(w, j);
		} else {
			produce(w, j);
		}
	}
	return next;
}

/* ---- consuming ----------------------------------------------------------------------- */

static void on_message(worker *w, rd_kafka_message_t *m)
{
	part *pt;
	job *j = NULL, *act;
	char err[256];

	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			NS_WARN("sender.consume_error", "err=%s", rd_kafka_err2name(m->err));
		return;
	}
	pt = part_get(w, m->partition);
	if (!pt || !pt->owned || pt->draining)
		return;
	if (sender_tracker_add(&pt->t, m->offset) != 0) {
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
	err[0] = '\0';
	if (!m->payload || ns_event_decode(m->payload, m->len, &j->req, err, sizeof(err)) != 0 ||
	    j->req.type != NS_EV_REQUESTED) {
		if (err[0]) {
			char q[300];
			NS_WARN("sender.undecodable", "partition=%d offset=%lld err=%s",
				(int)m->partition, (long long)m->offset,
				ns_log_quote(err, q, sizeof(q)));
		}
		ns_counter_add(m_ignored, 1);
		sender_tracker_done(&pt->t, m->offset);
		free(j);
		return;
	}
	j->w = w;
	j->partition = m->partition;
	j->offset = m->offset;
	j->gen = pt->gen;
	j->need_exists = 1; /* the simple rule: always ask before the first send */
	j->first_ms = ns_time_mono_ms();
	j->due_ms = j->first_ms;
	/* appended: due jobs start oldest first, so done prefixes (commits) advance */
	j->prev = w->jobs_tail;
	if (w->jobs_tail)
		w->jobs_tail->next = j;
	else
		w->jobs = j;
	w->jobs_tail = j;
	w->njobs++;
	pt->njobs++;
	ns_gauge_set(m_inflight, w->njobs);
	act = hash_find(w, j->req.external_id);
	if (act) {
		while (act->wnext)
			act = act->wnext;
		act->wnext = j;
		j->state = J_WAITING;
	} else {
		hash_insert(w, j);
		j->state = J_READY;
	}
}

static void commit(worker *w, const int *only, int nonly)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
	int i, k;

	for (i = 0; i < w->nparts; i++) {
		int64_t off;
		if (!w->parts[i].owned)
			continue;
		if (only) {
			for (k = 0; k < nonly && only[k] != i; k++)
				;
			if (k == nonly)
				continue;
		}
		off = sender_tracker_take_commit(&w->parts[i].t);
		if (off >= 0)
			rd_kafka_topic_partition_list_add(l, w->cfg->topic, i)->offset = off;
	}
	if (l->cnt > 0 && ns_consumer_commit(w->c, l) != 0) {
		NS_WARN("sender.commit_failed", "partitions=%d", l->cnt);
		for (i = 0; i < l->cnt; i++)
			w->parts[l->elems[i].partition].t.committed = -1;
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* Remove every job of partition p: not-in-flight ones are freed, in-flight ones are
 * marked abandoned and freed when their callback comes. */
static void purge_partition(worker *w, int p)
{
	job *j, *nx;
	int i;

	for (i = 0; i < HASH_BUCKETS; i++) {
		job **pp = &w->hash[i];
		while (*pp) {
			if ((*pp)->partition == p) {
				job *x = *pp;
				*pp = x->hnext;
				x->hnext = NULL;
				x->in_hash = 0;
			} else {
				pp = &(*pp)->hnext;
			}
		}
	}
	for (j = w->jobs; j; j = nx) {
		nx = j->next;
		if (j->partition != p || j->abandoned)
			continue;
		ns_counter_add(m_abandoned, 1);
		j->wnext = NULL;
		if (j->state == J_HTTP || j->state == J_PRODUCING) {
			j->abandoned = 1;
		} else {
			list_unlink(w, j);
			w->parts[p].njobs--;
			free(j);
		}
	}
}

static int busy(worker *w, const int *ps, int n)
{
	int i;
	job *j;

	for (j = w->jobs; j; j = j->next)
		if (!j->abandoned)
			for (i = 0; i < n; i++)
				if (j->partition == ps[i])
					return 1;
	return 0;
}

/* Consumer thread (inside ns_consumer_poll): drain the revoked partitions within the
 * bound, commit them, forget them. */
static void on_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	worker *w = opaque;
	int *ps = calloc((size_t)parts->cnt + 1, sizeof(int)), n = 0, i;
	int64_t deadline = ns_time_mono_ms() + w->cfg->shutdown_ms;

	if (!ps)
		return;
	for (i = 0; i < parts->cnt; i++) {
		part *pt = part_get(w, parts->elems[i].partition);
		if (pt && pt->owned) {
			pt->draining = 1;
			ps[n++] = parts->elems[i].partition;
		}
	}
	while (busy(w, ps, n) && ns_time_mono_ms() < deadline) {
		drain_deliveries(w);
		step(w, 10);
		sender_provider_run(w->prov, 10, on_http, w);
	}
	drain_deliveries(w);
	commit(w, ps, n);
	for (i = 0; i < n; i++) {
		part *pt = &w->parts[ps[i]];
		purge_partition(w, ps[i]);
		pt->owned = 0;
		pt->draining = 0;
		pt->gen++;
		sender_tracker_reset(&pt->t);
	}
	NS_INFO("sender.revoked", "partitions=%d jobs_left=%d", n, w->njobs);
	w->assign_changed = 1;
	free(ps);
}

static int on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
	worker *w = opaque;
	int i;

	for (i = 0; i < parts->cnt; i++) {
		part *pt = part_get(w, parts->elems[i].partition);
		if (!pt)
			return -1;
		pt->owned = 1;
		pt->draining = 0;
		pt->gen++;
		sender_tracker_reset(&pt->t);
	}
	NS_INFO("sender.assigned", "partitions=%d", parts->cnt);
	w->assign_changed = 1;
	w->paused = 0;
	return 0;
}

static void flow_control(worker *w)
{
	int full = w->njobs >= w->cfg->max_inflight;
	rd_kafka_topic_partition_list_t *a = NULL;

	if (full == w->paused && !(full && w->assign_changed))
		return;
	w->assign_changed = 0;
	if (rd_kafka_assignment(ns_consumer_handle(w->c), &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (full)
		rd_kafka_pause_partitions(ns_consumer_handle(w->c), a);
	else
		rd_kafka_resume_partitions(ns_consumer_handle(w->c), a);
	w->paused = full;
	rd_kafka_topic_partition_list_destroy(a);
}

/* ---- the loop ------------------------------------------------------------------------ */

int sender_worker_run(const sender_config *cfg, sender_ratelimit *rl, char *err, size_t errlen)
{
	worker w;
	ns_rebalance rb;
	int rc = -1, i;
	int64_t next_commit;
	job *j, *nx;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.rl = rl;
	w.bo.base_ms = cfg->retry_base_ms;
	w.bo.cap_ms = cfg->retry_cap_ms;
	w.bo.budget_ms = cfg->retry_budget_ms;
	w.rng = (uint64_t)ns_time_now_ms() ^ ((uint64_t)getpid() << 32);
	pthread_mutex_init(&w.dlock, NULL);
	metrics_init();

	w.prov = sender_provider_new(cfg->provider_url, cfg->provider_timeout_ms, cfg->max_conns,
				     err, errlen);
	if (!w.prov)
		goto out;
	w.prod = ns_producer_new("sender", err, errlen);
	if (!w.prod)
		goto out;
	rb.on_assign = on_assign;
	rb.on_revoke = on_revoke;
	rb.opaque = &w;
	w.c = ns_consumer_new(cfg->group, cfg->topic, &rb, err, errlen);
	if (!w.c)
		goto out;
	atomic_store(&ready_flag, 1);
	NS_INFO("sender.started", "group=%s topic=%s provider=%s max_inflight=%ld", cfg->group,
		cfg->topic, cfg->provider_url, cfg->max_inflight);
	next_commit = ns_time_mono_ms() + cfg->commit_interval_ms;

	while (!ns_signal_stopping()) {
		rd_kafka_message_t *m;
		int k, wait;

		if (ns_consumer_failed(w.c) || ns_producer_fatal(w.prod)) {
			snprintf(err, errlen, "kafka client failed fatally");
			goto out;
		}
		/* take what the consumer has, without waiting when there is work */
		for (k = 0; k < 500; k++) {
			m = ns_consumer_poll(w.c, (k == 0 && w.njobs == 0) ? 50 : 0);
			if (!m)
				break;
			on_message(&w, m);
			rd_kafka_message_destroy(m);
		}
		drain_deliveries(&w);
		wait = step(&w, 20);
		if (w.njobs == 0)
			wait = 0;
		sender_provider_run(w.prov, wait, on_http, &w);
		drain_deliveries(&w);
		flow_control(&w);
		if (ns_time_mono_ms() >= next_commit) {
			commit(&w, NULL, 0);
			next_commit = ns_time_mono_ms() + cfg->commit_interval_ms;
		}
	}
	rc = 0;
out:
	atomic_store(&ready_flag, 0);
	NS_INFO("sender.stopping", "jobs=%d", w.njobs);
	/* close runs on_revoke: drains within the bound, commits */
	if (w.c)
		ns_consumer_close(w.c);
	w.c = NULL;
	/* whatever is left was abandoned: let outstanding requests end, then free */
	for (j = w.jobs; j; j = j->next)
		j->abandoned = 1;
	ns_producer_destroy(w.prod, (int)cfg->shutdown_ms);
	w.prod = NULL;
	drain_deliveries(&w);
	sender_provider_free(w.prov);
	for (j = w.jobs; j; j = nx) {
		nx = j->next;
		free(j);
	}
	for (i = 0; i < w.nparts; i++)
		sender_tracker_free(&w.parts[i].t);
	free(w.parts);
	pthread_mutex_destroy(&w.dlock);
	return rc;
}
