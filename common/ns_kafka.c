/* ns_kafka.c -- Kafka helpers over librdkafka: configuration from KAFKA_* variables, an
 * idempotent producer whose poll thread serves delivery reports so that many threads can
 * each wait for their own ack, a consumer whose rebalance hooks let the caller choose start
 * offsets (eager and cooperative assignors alike), and two admin helpers.
 *
 * Synchronous sends: each call allocates a waiter (mutex, condition, result) and passes it
 * as the message opaque. The delivery report callback, on the poll thread, fills the result
 * and signals. When the caller gives up first the waiter stays alive until the report comes
 * (two references: caller and report; the last one frees it). No lock is shared between
 * callers and nothing flushes per request. */
#include "ns_kafka.h"
#include "ns_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

extern char **environ;

#define NS_KAFKA_DEFAULT_BOOTSTRAP "127.0.0.1:9092"
#define NS_KAFKA_PROP_MAX	   256

/* ---- configuration ---------------------------------------------------------------- */

/* librdkafka's own log lines, on whichever librdkafka thread logged. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	ns_log_level lvl = NS_LOG_DEBUG;
	char q[1024], qf[64];

	if (level <= 3)
		lvl = NS_LOG_ERROR;
	else if (level == 4)
		lvl = NS_LOG_WARN;
	else if (level <= 6)
		lvl = NS_LOG_INFO;
	NS_LOG(lvl, "kafka.log", "client=%s fac=%s msg=%s", rk ? rd_kafka_name(rk) : "-",
	       ns_log_quote(fac, qf, sizeof(qf)), ns_log_quote(buf, q, sizeof(q)));
}

/* Turn "KAFKA_LINGER_MS" into "linger.ms". Returns 0, or -1 when the name is too long. */
static int env_to_prop(const char *name, size_t namelen, char *out, size_t outlen)
{
	size_t i;

	if (namelen + 1 > outlen)
		return -1;
	for (i = 0; i < namelen; i++) {
		char c = name[i];
		if (c == '_')
			c = '.';
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = c;
	}
	out[namelen] = '\0';
	return 0;
}

int ns_kafka_conf_from_env(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
	char prop[NS_KAFKA_PROP_MAX], rderr[512];
	char **e;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", NS_KAFKA_DEFAULT_BOOTSTRAP, rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "bootstrap.servers: %s", rderr);
		return -1;
	}
	for (e = environ; e && *e; e++) {
		const char *kv = *e, *eq;
		rd_kafka_conf_res_t res;

		if (strncmp(kv, "KAFKA_", 6) != 0)
			continue;
		eq = strchr(kv, '=');
		if (!eq || eq == kv + 6 || eq[1] == '\0')
			continue; /* empty variables count as unset */
		if (env_to_prop(kv + 6, (size_t)(eq - kv - 6), prop, sizeof(prop)) != 0) {
			snprintf(err, errlen, "%.*s: name too long", (int)(eq - kv), kv);
			return -1;
		}
		res = rd_kafka_conf_set(conf, prop, eq + 1, rderr, sizeof(rderr));
		if (res == RD_KAFKA_CONF_UNKNOWN) {
			/* KAFKA_HOME, KAFKA_HEAP_OPTS ... belong to other tools. */
			NS_DEBUG("kafka.conf.skip", "var=%.*s reason=unknown_property",
				 (int)(eq - kv), kv);
			continue;
		}
		if (res != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%.*s: %s", (int)(eq - kv), kv, rderr);
			return -1;
		}
	}
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	return 0;
}

const char *ns_kafka_bootstrap(void)
{
	const char *bs = getenv("KAFKA_BOOTSTRAP_SERVERS");
	return bs && bs[0] ? bs : NS_KAFKA_DEFAULT_BOOTSTRAP;
}

/* A property the design requires: refuse an environment value that contradicts it. */
typedef struct {
	const char *var;    /* environment variable */
	const char *prop;   /* librdkafka property */
	const char *value;  /* value we set */
	const char *value2; /* another spelling of the same value, or NULL */
} locked_prop;

static const locked_prop producer_locked[] = {
    {"KAFKA_ENABLE_IDEMPOTENCE", "enable.idempotence", "true", NULL},
    {"KAFKA_ACKS", "acks", "all", "-1"},
};

static const locked_prop consumer_locked[] = {
    {"KAFKA_ENABLE_AUTO_COMMIT", "enable.auto.commit", "false", NULL},
    {"KAFKA_ENABLE_AUTO_OFFSET_STORE", "enable.auto.offset.store", "false", NULL},
};

/* Check the environment against locked, then set every locked property. Returns 0 or -1. */
static int apply_locked(rd_kafka_conf_t *conf, const locked_prop *lp, size_t n, char *err,
			size_t errlen)
{
	char rderr[512];
	size_t i;

	for (i = 0; i < n; i++) {
		const char *v = getenv(lp[i].var);
		if (v && v[0] && strcasecmp(v, lp[i].value) != 0 &&
		    !(lp[i].value2 && strcasecmp(v, lp[i].value2) == 0)) {
			snprintf(err, errlen, "%s=%s refused: the service needs %s=%s", lp[i].var,
				 v, lp[i].prop, lp[i].value);
			return -1;
		}
		if (rd_kafka_conf_set(conf, lp[i].prop, lp[i].value, rderr, sizeof(rderr)) !=
		    RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%s: %s", lp[i].prop, rderr);
			return -1;
		}
	}
	return 0;
}

/* Set name=value or fill err. Returns 0 or -1. */
static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
		    size_t errlen)
{
	char rderr[512];

	if (rd_kafka_conf_set(conf, name, value, rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "%s: %s", name, rderr);
		return -1;
	}
	return 0;
}

/* ---- producer ----------------------------------------------------------------------- */

struct ns_producer {
	rd_kafka_t *rk;
	pthread_t thread;
	int thread_started;
	atomic_int stop;
	atomic_int fatal;
};

/* Every message carries one of these as its opaque; kind says which. */
enum { MSG_SYNC = 1, MSG_ASYNC = 2 };

typedef struct {
	int kind;
} msg_head;

/* A caller of ns_producer_send waiting for its report. refs: caller + report. */
typedef struct {
	msg_head head;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int refs;
	ns_delivery d;
} sync_waiter;

typedef struct {
	msg_head head;
	ns_delivery_cb *cb;
	void *opaque;
} async_ctx;

static void waiter_unref_locked(sync_waiter *w)
{
	int last = --w->refs == 0;

	pthread_mutex_unlock(&w->mu);
	if (last) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
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
		pthread_mutex_lock(&w->mu);
		w->d = d;
		w->done = 1;
		pthread_cond_signal(&w->cv);
		waiter_unref_locked(w);
	} else {
		async_ctx *a = (async_ctx *)head;
		a->cb(a->opaque, &d);
		free(a);
	}
}

/* Client errors: on a librdkafka thread (served by rd_kafka_poll). */
static void producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	ns_producer *p = opaque;
	char q[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char fe[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fe, sizeof(fe));
		atomic_store(&p->fatal, 1);
		NS_ERROR("kafka.producer.fatal", "client=%s err=%s reason=%s", rd_kafka_name(rk),
			 rd_kafka_err2name(orig), ns_log_quote(fe, q, sizeof(q)));
		return;
	}
	NS_WARN("kafka.error", "client=%s err=%s reason=%s", rd_kafka_name(rk),
		rd_kafka_err2name((rd_kafka_resp_err_t)err), ns_log_quote(reason, q, sizeof(q)));
}

static void *producer_poll_main(void *arg)
{
	ns_producer *p = arg;

	while (!atomic_load(&p->stop))
		rd_kafka_poll(p->rk, 100);
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
	if (conf_set(conf, "linger.ms", "2", err, errlen) ||
	    conf_set(conf, "message.timeout.ms", "10000", err, errlen))
		goto fail;
	if (ns_kafka_conf_from_env(conf, err, errlen) != 0)
		goto fail;
	if (apply_locked(conf, producer_locked,
			 sizeof(producer_locked) / sizeof(producer_locked[0]), err, errlen))
		goto fail;
	if (client_id && client_id[0] && conf_set(conf, "client.id", client_id, err, errlen))
		goto fail;
	rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
	rd_kafka_conf_set_error_cb(conf, producer_error_cb);
	rd_kafka_conf_set_opaque(conf, p);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!p->rk) {
		snprintf(err, errlen, "rd_kafka_new: %s", rderr);
		goto fail;
	}
	conf = NULL; /* rd_kafka_new took ownership */
	if (pthread_create(&p->thread, NULL, producer_poll_main, p) != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		goto fail;
	}
	p->thread_started = 1;
	NS_INFO("kafka.producer.start", "client=%s bootstrap=%s", rd_kafka_name(p->rk),
		ns_kafka_bootstrap());
	return p;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (p && p->rk)
		rd_kafka_destroy(p->rk);
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
		    p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)key, key ? keylen : 0),
		    RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
			rd_kafka_headers_destroy(h);
		return e;
	}
	return rd_kafka_producev(
	    p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)key, key ? keylen : 0),
	    RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int deadline_passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
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
	pthread_condattr_t ca;
	struct timespec deadline;
	rd_kafka_resp_err_t e;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	d->partition = -1;
	d->offset = -1;
	d->status = RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
	if (atomic_load(&p->fatal)) {
		d->err = RD_KAFKA_RESP_ERR__FATAL;
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		d->err = RD_KAFKA_RESP_ERR__FAIL;
		return -1;
	}
	w->head.kind = MSG_SYNC;
	w->refs = 2;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);

	deadline_after(&deadline, timeout_ms);
	for (;;) {
		e = producer_enqueue(p, topic, key, keylen, value, len, hdrs, nhdrs, w);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || deadline_passed(&deadline))
			break;
		/* The local queue is full: the poll thread drains it; try again shortly. */
		nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 5000000L}, NULL);
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* Never enqueued: no report will come, the caller's reference is the last. */
		d->err = e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? RD_KAFKA_RESP_ERR__TIMED_OUT : e;
		pthread_mutex_lock(&w->mu);
		w->refs = 1;
		waiter_unref_locked(w);
		return -1;
	}

	pthread_mutex_lock(&w->mu);
	while (!w->done) {
		int wr = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
		if (wr == ETIMEDOUT)
			break;
	}
	if (w->done) {
		*d = w->d;
		rc = d->err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
	} else {
		d->err = RD_KAFKA_RESP_ERR__TIMED_OUT;
		d->status = RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
	}
	waiter_unref_locked(w); /* the report frees it if it has not come yet */
	return rc;
}

int ns_producer_send_async(ns_producer *p, const char *topic, const char *key, size_t keylen,
			   const void *value, size_t len, ns_delivery_cb *cb, void *opaque)
{
	async_ctx *a;
	rd_kafka_resp_err_t e;

	if (atomic_load(&p->fatal))
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
	return rd_kafka_outq_len(p->rk);
}

int ns_producer_fatal(ns_producer *p)
{
	return atomic_load(&p->fatal);
}

rd_kafka_t *ns_producer_handle(ns_producer *p)
{
	return p->rk;
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
	rd_kafka_flush(p->rk, flush_ms);
	left = rd_kafka_outq_len(p->rk);
	if (left > 0) {
		NS_WARN("kafka.producer.undelivered", "client=%s outq_len=%d", rd_kafka_name(p->rk),
			left);
		/* Fail what is left so that every report (and its waiter) is served and freed. */
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(p->rk, 1000);
	}
	NS_INFO("kafka.producer.stop", "client=%s outq_len=%d", rd_kafka_name(p->rk), left);
	rd_kafka_destroy(p->rk);
	free(p);
}

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
	if (conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
	    conf_set(conf, "enable.partition.eof", "false", err, errlen))
		goto fail;
	if (ns_kafka_conf_from_env(conf, err, errlen) != 0)
		goto fail;
	if (apply_locked(conf, consumer_locked,
			 sizeof(consumer_locked) / sizeof(consumer_locked[0]), err, errlen))
		goto fail;
	if (conf_set(conf, "group.id", group_id, err, errlen))
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

/* ---- admin -------------------------------------------------------------------------- */

/* A short-lived producer handle for admin calls, configured from the environment. */
static rd_kafka_t *admin_handle(char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk = NULL;
	char rderr[512];

	if (!conf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ns_kafka_conf_from_env(conf, err, errlen) != 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!rk) {
		snprintf(err, errlen, "rd_kafka_new: %s", rderr);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

/* Wait until metadata shows topic with every partition led. Returns 0 or -1. */
static int topic_wait_ready(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
	struct timespec deadline;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	int rc = -1;

	if (!rkt)
		return -1;
	deadline_after(&deadline, timeout_ms);
	do {
		const struct rd_kafka_metadata *md = NULL;
		if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
			int ok = md->topic_cnt == 1 && md->topics[0].err == 0 &&
				 md->topics[0].partition_cnt > 0;
			for (int i = 0; ok && i < md->topics[0].partition_cnt; i++)
				ok = md->topics[0].partitions[i].leader >= 0 &&
				     md->topics[0].partitions[i].err == 0;
			rd_kafka_metadata_destroy(md);
			if (ok) {
				rc = 0;
				break;
			}
		}
		nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 50000000L}, NULL);
	} while (!deadline_passed(&deadline));
	rd_kafka_topic_destroy(rkt);
	return rc;
}

int ns_kafka_topic_ensure(const char *topic, int partitions, int timeout_ms, char *err,
			  size_t errlen)
{
	rd_kafka_t *rk = NULL;
	rd_kafka_NewTopic_t *nt = NULL;
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tres;
	size_t ntres = 0;
	char rderr[512];
	int rc = -1;

	rk = admin_handle(err, errlen);
	if (!rk)
		goto out;
	/* -1: the broker's default replication factor (brokers >= 2.4). */
	nt = rd_kafka_NewTopic_new(topic, partitions, -1, rderr, sizeof(rderr));
	if (!nt) {
		snprintf(err, errlen, "NewTopic %s: %s", topic, rderr);
		goto out;
	}
	/* The status topic is the system of record: keep every event. */
	if (rd_kafka_NewTopic_set_config(nt, "retention.ms", "-1") ||
	    rd_kafka_NewTopic_set_config(nt, "retention.bytes", "-1")) {
		snprintf(err, errlen, "NewTopic %s: set config failed", topic);
		goto out;
	}
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	if (!opts ||
	    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, rderr, sizeof(rderr)) ||
	    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, rderr, sizeof(rderr))) {
		snprintf(err, errlen, "admin options: %s", opts ? rderr : "out of memory");
		goto out;
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
	ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
	if (!ev) {
		snprintf(err, errlen, "create %s: no answer in %d ms", topic, timeout_ms);
		goto out;
	}
	if (rd_kafka_event_error(ev)) {
		snprintf(err, errlen, "create %s: %s", topic, rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	tres = res ? rd_kafka_CreateTopics_result_topics(res, &ntres) : NULL;
	if (!tres || ntres != 1) {
		snprintf(err, errlen, "create %s: unexpected result", topic);
		goto out;
	}
	if (rd_kafka_topic_result_error(tres[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
		NS_DEBUG("kafka.topic.exists", "topic=%s", topic);
	} else if (rd_kafka_topic_result_error(tres[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "create %s: %s", topic,
			 rd_kafka_topic_result_error_string(tres[0])
			     ? rd_kafka_topic_result_error_string(tres[0])
			     : rd_kafka_err2str(rd_kafka_topic_result_error(tres[0])));
		goto out;
	} else {
		NS_INFO("kafka.topic.created", "topic=%s partitions=%d", topic, partitions);
	}
	if (topic_wait_ready(rk, topic, timeout_ms) != 0) {
		snprintf(err, errlen, "topic %s: partitions have no leader after %d ms", topic,
			 timeout_ms);
		goto out;
	}
	rc = 0;
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	if (opts)
		rd_kafka_AdminOptions_destroy(opts);
	if (nt)
		rd_kafka_NewTopic_destroy(nt);
	if (rk)
		rd_kafka_destroy(rk);
	return rc;
}

int ns_kafka_high_watermarks(rd_kafka_t *rk, const char *topic, int64_t *hw, int cap, int *n,
			     int timeout_ms, char *err, size_t errlen)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	int rc = -1, cnt, i;

	*n = 0;
	if (!rkt) {
		snprintf(err, errlen, "topic %s: %s", topic,
			 rd_kafka_err2str(rd_kafka_last_error()));
		goto out;
	}
	e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "metadata %s: %s", topic, rd_kafka_err2str(e));
		goto out;
	}
	if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "metadata %s: %s", topic,
			 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic");
		goto out;
	}
	cnt = md->topics[0].partition_cnt;
	if (cnt > cap) {
		snprintf(err, errlen, "topic %s has %d partitions, room for %d", topic, cnt, cap);
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		int32_t id = md->topics[0].partitions[i].id;
		int64_t lo = 0, hi = 0;
		if (id < 0 || id >= cnt) {
			snprintf(err, errlen, "topic %s: partition id %d out of range", topic,
				 (int)id);
			goto out;
		}
		e = rd_kafka_query_watermark_offsets(rk, topic, id, &lo, &hi, timeout_ms);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			snprintf(err, errlen, "watermarks %s[%d]: %s", topic, (int)id,
				 rd_kafka_err2str(e));
			goto out;
		}
		hw[id] = hi;
	}
	*n = cnt;
	rc = 0;
out:
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	return rc;
}
