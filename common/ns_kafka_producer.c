/* ns_kafka_producer.c -- the idempotent producer: a poll thread serves delivery reports so
 * that many threads can each wait for their own ack.
 *
 * Synchronous sends: each call allocates a waiter (a semaphore and the result) and passes it
 * as the message opaque. The delivery report callback, on the poll thread, writes the
 * result and posts the semaphore: one wake-up of the caller, which finds nothing locked
 * when it runs (a mutex and condition took twice the futex calls per send, the woken
 * caller blocking at once on the mutex the report still held). When the caller gives up
 * first the waiter stays alive until the report comes (two references: caller and report;
 * the last one frees it). No lock is shared between callers and nothing flushes per
 * request. */
#include "ns_kafka.h"
#include "ns_kafka_internal.h"
#include "ns_time.h"
#include "ns_log.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- producer ----------------------------------------------------------------------- */

struct ns_producer {
	ns_kafka_client cl; /* first: the error callback's opaque */
	pthread_t thread;
	int thread_started;
	atomic_int stop;
};

/* Every message carries one of these as its opaque; kind says which. */
enum { MSG_SYNC = 1, MSG_ASYNC = 2 };

typedef struct {
	int kind;
} msg_head;

/* A caller of ns_producer_send waiting for its report. d is written by the report before
 * it posts done, and read by the caller only after its wait took that post. */
typedef struct {
	msg_head head;
	sem_t done;
	atomic_int refs; /* caller + report; the last one frees */
	ns_delivery d;
} sync_waiter;

typedef struct {
	msg_head head;
	ns_delivery_cb *cb;
	void *opaque;
} async_ctx;

static void waiter_unref(sync_waiter *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1) {
		sem_destroy(&w->done);
		free(w);
	}
}

/* Delivery report: on the poll thread (or the thread flushing in ns_producer_destroy). */
static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	msg_head *head = m->_private;
	ns_delivery d;

	(void)rk;
	(void)opaque;
	if (!head)
		return;
	d.err = m->err;
	d.partition = m->partition;
	d.offset = m->offset;
	d.status = rd_kafka_message_status(m);
	if (head->kind == MSG_SYNC) {
		sync_waiter *w = (sync_waiter *)head;
		w->d = d;
		sem_post(&w->done);
		waiter_unref(w);
	} else {
		async_ctx *a = (async_ctx *)head;
		if (a->cb)
			a->cb(a->opaque, &d);
		else if (d.err)
			NS_WARN("kafka.delivery.failed", "topic=%s err=%s",
				rd_kafka_topic_name(m->rkt), rd_kafka_err2name(d.err));
		free(a);
	}
}

static void *producer_poll_main(void *arg)
{
	ns_producer *p = arg;

	while (!atomic_load(&p->stop))
		rd_kafka_poll(p->cl.rk, 100);
	return NULL;
}

ns_producer *ns_producer_new(const char *client_id, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ns_producer *p = calloc(1, sizeof(*p));
	char rderr[512];

	if (!conf || !p) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Defaults the environment may override. */
	if (ns_kafka_conf_set(conf, "linger.ms", "2", err, errlen) ||
	    ns_kafka_conf_set(conf, "message.timeout.ms", "10000", err, errlen))
		goto fail;
	if (ns_kafka_conf_from_env(conf, err, errlen) != 0)
		goto fail;
	if (ns_kafka_conf_lock(conf, NS_KAFKA_PRODUCER, err, errlen))
		goto fail;
	if (client_id && client_id[0] &&
	    ns_kafka_conf_set(conf, "client.id", client_id, err, errlen))
		goto fail;
	rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
	ns_kafka_conf_errors(conf, &p->cl);
	p->cl.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!p->cl.rk) {
		snprintf(err, errlen, "rd_kafka_new: %s", rderr);
		goto fail;
	}
	conf = NULL; /* rd_kafka_new took ownership */
	if (pthread_create(&p->thread, NULL, producer_poll_main, p) != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		goto fail;
	}
	p->thread_started = 1;
	NS_INFO("kafka.producer.start", "client=%s bootstrap=%s", rd_kafka_name(p->cl.rk),
		ns_kafka_bootstrap());
	return p;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (p && p->cl.rk)
		rd_kafka_destroy(p->cl.rk);
	free(p);
	return NULL;
}

/* Enqueue one message with opaque and optional headers. Returns librdkafka's error code;
 * on success the message owns the headers, on failure they are freed here. */
static rd_kafka_resp_err_t producer_enqueue(ns_producer *p, const char *topic, const char *key,
					    size_t keylen, const void *value, size_t len,
					    const ns_header *hdrs, size_t nhdrs, void *opaque)
{
	rd_kafka_headers_t *h = NULL;
	rd_kafka_resp_err_t e;

	if (nhdrs) {
		h = rd_kafka_headers_new(nhdrs);
		if (!h)
			return RD_KAFKA_RESP_ERR__FAIL;
		for (size_t i = 0; i < nhdrs; i++)
			rd_kafka_header_add(h, hdrs[i].name, -1, hdrs[i].value, -1);
		e = rd_kafka_producev(
		    p->cl.rk, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_KEY((void *)key, key ? keylen : 0),
		    RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
			rd_kafka_headers_destroy(h);
		return e;
	}
	return rd_kafka_producev(
	    p->cl.rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)key, key ? keylen : 0),
	    RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}

int ns_producer_send(ns_producer *p, const char *topic, const char *key, size_t keylen,
		     const void *value, size_t len, int timeout_ms, ns_delivery *d)
{
	return ns_producer_send_hdrs(p, topic, key, keylen, value, len, NULL, 0, timeout_ms, d);
}

int ns_producer_send_hdrs(ns_producer *p, const char *topic, const char *key, size_t keylen,
			  const void *value, size_t len, const ns_header *hdrs, size_t nhdrs,
			  int timeout_ms, ns_delivery *d)
{
	sync_waiter *w = NULL;
	struct timespec deadline;
	rd_kafka_resp_err_t e;
	int rc = -1, got;

	memset(d, 0, sizeof(*d));
	d->partition = -1;
	d->offset = -1;
	d->status = RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
	if (atomic_load(&p->cl.fatal)) {
		d->err = RD_KAFKA_RESP_ERR__FATAL;
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		d->err = RD_KAFKA_RESP_ERR__FAIL;
		return -1;
	}
	w->head.kind = MSG_SYNC;
	atomic_init(&w->refs, 2);
	if (sem_init(&w->done, 0, 0) != 0) {
		free(w);
		d->err = RD_KAFKA_RESP_ERR__FAIL;
		return -1;
	}

	deadline = ns_time_mono_deadline(timeout_ms);
	for (;;) {
		e = producer_enqueue(p, topic, key, keylen, value, len, hdrs, nhdrs, w);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || ns_time_mono_passed(&deadline))
			break;
		/* The local queue is full: the poll thread drains it; try again shortly. */
		nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 5000000L}, NULL);
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* Never enqueued: no report will come, the caller's reference is the last. */
		d->err = e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? RD_KAFKA_RESP_ERR__TIMED_OUT : e;
		atomic_store(&w->refs, 1);
		waiter_unref(w);
		return -1;
	}

	for (;;) {
		got = sem_clockwait(&w->done, CLOCK_MONOTONIC, &deadline) == 0;
		if (got || errno != EINTR)
			break; /* posted, or the deadline passed */
	}
	if (!got)
		got = sem_trywait(&w->done) == 0; /* the report came as the wait ran out */
	if (got) {
		*d = w->d;
		rc = d->err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
	} else {
		d->err = RD_KAFKA_RESP_ERR__TIMED_OUT;
		d->status = RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
	}
	waiter_unref(w); /* the report frees it if it has not come yet */
	return rc;
}

int ns_producer_send_async(ns_producer *p, const char *topic, const char *key, size_t keylen,
			   const void *value, size_t len, ns_delivery_cb *cb, void *opaque)
{
	async_ctx *a;
	rd_kafka_resp_err_t e;

	if (atomic_load(&p->cl.fatal))
		return -1;
	a = malloc(sizeof(*a));
	if (!a)
		return -1;
	a->head.kind = MSG_ASYNC;
	a->cb = cb;
	a->opaque = opaque;
	e = producer_enqueue(p, topic, key, keylen, value, len, NULL, 0, a);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		NS_WARN("kafka.produce.refused", "topic=%s err=%s", topic, rd_kafka_err2name(e));
		free(a);
		return -1;
	}
	return 0;
}

int ns_producer_outq_len(ns_producer *p)
{
	return rd_kafka_outq_len(p->cl.rk);
}

int ns_producer_fatal(ns_producer *p)
{
	return atomic_load(&p->cl.fatal);
}

rd_kafka_t *ns_producer_handle(ns_producer *p)
{
	return p->cl.rk;
}

int ns_producer_wait_topic(ns_producer *p, const char *topic, int timeout_ms, char *err,
			   size_t errlen)
{
	return ns_kafka_wait_topic(p->cl.rk, topic, timeout_ms, 500, 0, err, errlen);
}

void ns_producer_destroy(ns_producer *p, int flush_ms)
{
	int left;

	if (!p)
		return;
	if (p->thread_started) {
		atomic_store(&p->stop, 1);
		pthread_join(p->thread, NULL);
	}
	/* Flush serves the remaining delivery reports on this thread. */
	rd_kafka_flush(p->cl.rk, flush_ms);
	left = rd_kafka_outq_len(p->cl.rk);
	if (left > 0) {
		NS_WARN("kafka.producer.undelivered", "client=%s outq_len=%d",
			rd_kafka_name(p->cl.rk), left);
		/* Fail what is left so that every report (and its waiter) is served and freed. */
		rd_kafka_purge(p->cl.rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(p->cl.rk, 1000);
	}
	NS_INFO("kafka.producer.stop", "client=%s outq_len=%d", rd_kafka_name(p->cl.rk), left);
	rd_kafka_destroy(p->cl.rk);
	free(p);
}
