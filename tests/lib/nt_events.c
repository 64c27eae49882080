/* nt_events.c -- test support: building, encoding and producing events; waiting for a
 * projector's database to catch up; canonical database dumps. */
#include "nt_events.h"
#include "ns_kafka.h"
#include "ns_readmodel.h"
#include "nt.h"

#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- building and encoding ---- */

void nt_ev_requested(ns_event *ev, const char *id, const char *channel, const char *body, int64_t t)
{
	*ev = (ns_event){
	    .type = NS_EV_REQUESTED, .source = NS_SRC_API, .occurred_at = t, .received_at = t};
	snprintf(ev->tenant, sizeof(ev->tenant), "%s", NT_TENANT);
	snprintf(ev->tenant, sizeof(ev->tenant), "%s", NT_TENANT);
	snprintf(ev->external_id, sizeof(ev->external_id), "%s", id);
	snprintf(ev->channel, sizeof(ev->channel), "%s", channel);
	snprintf(ev->to, sizeof(ev->to), "+4915112345678");
	snprintf(ev->body, sizeof(ev->body), "%s", body);
}

void nt_ev_dispatched(ns_event *ev, const char *id, const char *provider_id, int64_t t)
{
	*ev = (ns_event){
	    .type = NS_EV_DISPATCHED, .source = NS_SRC_SENDER, .occurred_at = t, .received_at = t};
	snprintf(ev->tenant, sizeof(ev->tenant), "%s", NT_TENANT);
	snprintf(ev->tenant, sizeof(ev->tenant), "%s", NT_TENANT);
	snprintf(ev->external_id, sizeof(ev->external_id), "%s", id);
	snprintf(ev->channel, sizeof(ev->channel), "sms");
	snprintf(ev->status, sizeof(ev->status), "processing");
	snprintf(ev->provider_id, sizeof(ev->provider_id), "%s", provider_id);
}

void nt_ev_status(ns_event *ev, const char *id, const char *status, int64_t occurred,
		  int64_t received)
{
	*ev = (ns_event){.type = NS_EV_STATUS,
			 .source = NS_SRC_PROVIDER,
			 .occurred_at = occurred,
			 .received_at = received};
	snprintf(ev->tenant, sizeof(ev->tenant), "%s", NT_TENANT);
	snprintf(ev->tenant, sizeof(ev->tenant), "%s", NT_TENANT);
	snprintf(ev->external_id, sizeof(ev->external_id), "%s", id);
	snprintf(ev->status, sizeof(ev->status), "%s", status);
}

char *nt_ev_encode(ns_event *ev)
{
	char *s;
	ns_event_make_id(ev);
	s = ns_event_encode(ev, NULL);
	ck_assert_ptr_nonnull(s);
	return s;
}

char *nt_enc_requested(const char *id, const char *channel, const char *body, int64_t t)
{
	ns_event ev;
	nt_ev_requested(&ev, id, channel, body, t);
	return nt_ev_encode(&ev);
}

char *nt_enc_dispatched(const char *id, const char *provider_id, int64_t t)
{
	ns_event ev;
	nt_ev_dispatched(&ev, id, provider_id, t);
	return nt_ev_encode(&ev);
}

char *nt_enc_status(const char *id, const char *status, int64_t t)
{
	ns_event ev;
	nt_ev_status(&ev, id, status, t, t);
	return nt_ev_encode(&ev);
}

/* ---- producing, with the high watermark of what was acked ---- */

static pthread_mutex_t ack_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t ack_hw[NT_MAX_PARTS];
static int ack_errors;
static ns_producer *producer;

static void on_delivery(void *opaque, const ns_delivery *d)
{
	(void)opaque;
	pthread_mutex_lock(&ack_mu);
	if (d->err || d->partition < 0 || d->partition >= NT_MAX_PARTS)
		ack_errors++;
	else if (d->offset + 1 > ack_hw[d->partition])
		ack_hw[d->partition] = d->offset + 1;
	pthread_mutex_unlock(&ack_mu);
}

void nt_produce_raw(const char *topic, const char *key, const char *value)
{
	if (!producer) {
		char err[512];
		producer = ns_producer_new("nt-events", err, sizeof(err));
		ck_assert_msg(producer != NULL, "%s", err);
	}
	ck_assert_int_eq(ns_producer_send_async(producer, topic, key, strlen(key), value,
						strlen(value), on_delivery, NULL),
			 0);
}

void nt_produce_event(const char *topic, ns_event *ev)
{
	char *v = nt_ev_encode(ev), key[NS_REF_MAX + 1];

	ck_assert_int_ge(ns_event_ref(ev->tenant, ev->external_id, key, sizeof(key)), 0);
	nt_produce_raw(topic, key, v);
	free(v);
}

void nt_produce_requested(const char *topic, const char *id, const char *body, int64_t t)
{
	ns_event ev;
	nt_ev_requested(&ev, id, "sms", body, t);
	nt_produce_event(topic, &ev);
}

void nt_produce_dispatched(const char *topic, const char *id, int64_t t)
{
	ns_event ev;
	char prov[sizeof(ev.provider_id)];
	snprintf(prov, sizeof(prov), "prov-%s", id);
	nt_ev_dispatched(&ev, id, prov, t);
	nt_produce_event(topic, &ev);
}

void nt_produce_webhook(const char *topic, const char *id, const char *status, int64_t t)
{
	ns_event ev;
	nt_ev_status(&ev, id, status, t, t + 5);
	nt_produce_event(topic, &ev);
}

void nt_produce_histories(const char *topic, const char *prefix, int width, int n, int64_t t0,
			  int garbage_after)
{
	char id[64];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%s-%0*d", prefix, width, i);
		switch (i % 3) {
		case 0:
			nt_produce_requested(topic, id, "hello", t0);
			nt_produce_dispatched(topic, id, t0 + 10);
			nt_produce_webhook(topic, id, "sent", t0 + 20);
			nt_produce_webhook(topic, id, "delivered", t0 + 30);
			nt_produce_webhook(topic, id, "delivered", t0 + 30); /* provider retry */
			break;
		case 1:
			nt_produce_webhook(topic, id, "delivered", t0 + 30);
			nt_produce_webhook(topic, id, "sent", t0 + 20);
			nt_produce_dispatched(topic, id, t0 + 10);
			nt_produce_requested(topic, id, "hello", t0);
			break;
		default:
			nt_produce_requested(topic, id, "hello", t0);
			nt_produce_dispatched(topic, id, t0 + 10);
			nt_produce_webhook(topic, id, "rejected", t0 + 20);
			nt_produce_webhook(topic, id, "processing", t0 + 15);	  /* late */
			nt_produce_requested(topic, id, "changed body", t0 + 40); /* conflict */
			break;
		}
		if (i == garbage_after)
			nt_produce_raw(topic, "garbage", NT_GARBAGE);
	}
}

void nt_produce_flush(void)
{
	for (int i = 0; i < 600 && ns_producer_outq_len(producer) > 0; i++)
		usleep(50 * 1000);
	ck_assert_int_eq(ns_producer_outq_len(producer), 0);
	pthread_mutex_lock(&ack_mu);
	ck_assert_int_eq(ack_errors, 0);
	pthread_mutex_unlock(&ack_mu);
}

void nt_produce_reset(void)
{
	pthread_mutex_lock(&ack_mu);
	memset(ack_hw, 0, sizeof(ack_hw));
	ack_errors = 0;
	pthread_mutex_unlock(&ack_mu);
}

void nt_produce_close(void)
{
	ns_producer_destroy(producer, 5000);
	producer = NULL;
}

void nt_acked_hw(int64_t hw[NT_MAX_PARTS])
{
	pthread_mutex_lock(&ack_mu);
	memcpy(hw, ack_hw, sizeof(ack_hw));
	pthread_mutex_unlock(&ack_mu);
}

int64_t nt_acked_sum(void)
{
	int64_t sum = 0;
	pthread_mutex_lock(&ack_mu);
	for (int p = 0; p < NT_MAX_PARTS; p++)
		sum += ack_hw[p];
	pthread_mutex_unlock(&ack_mu);
	return sum;
}

/* ---- the projector's database ---- */

typedef struct {
	const char *db;
	const char *topic;
	int64_t hw[NT_MAX_PARTS];
} caught_up_arg;

/* Non-zero when the stored next offset of every partition reached hw. */
static int caught_up(void *arg)
{
	caught_up_arg *a = arg;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char err[512];
	int ok = 0;

	if (access(a->db, F_OK) != 0)
		return 0;
	if (ns_readmodel_open_ro(a->db, &db, err, sizeof(err)) != NS_READMODEL_OK)
		goto out;
	if (sqlite3_prepare_v2(db, NS_READMODEL_SQL_OFFSET, -1, &q, NULL) != SQLITE_OK)
		goto out;
	ok = 1;
	for (int p = 0; p < NT_MAX_PARTS && ok; p++) {
		int64_t next = 0;
		if (a->hw[p] == 0)
			continue;
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, a->topic, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 2, p);
		if (sqlite3_step(q) == SQLITE_ROW)
			next = sqlite3_column_int64(q, NS_READMODEL_OFFSET_NEXT_OFFSET);
		ok = next >= a->hw[p];
	}
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return ok;
}

void nt_wait_caught_up(const char *db, const char *topic, const char *log)
{
	caught_up_arg a = {db, topic, {0}};

	nt_acked_hw(a.hw);
	if (nt_eventually(caught_up, &a, 90000) != 0) {
		if (log)
			nt_dump_log(log);
		ck_abort_msg("projector did not catch up with %s", topic);
	}
}

char *nt_db_dump(const char *path)
{
	char *buf = NULL, err[1024];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(ns_readmodel_dump(path, f, err, sizeof(err)) == NS_READMODEL_OK, "%s", err);
	fclose(f);
	return buf;
}
