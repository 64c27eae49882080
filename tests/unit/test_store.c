/* test_store.c -- unit tests of the projector's store and batch apply, without Kafka:
 * encoded events go through proj_apply_batch (what the consume loop calls) into a temp
 * SQLite file; states, history outcomes, stored offsets, re-delivery, the dead-letter
 * hook, rollback, and the canonical dump are checked. */
#include "../../projector/apply.h"
#include "../../projector/store.h"
#include "ns_channel.h"
#include "ns_event.h"
#include "ns_fold.h"
#include "ns_readmodel.h"
#include "nt_events.h"

#include "nt.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPIC "t.store"
#define T0    1740830400000LL /* 2025-03-01T12:00:00.000Z */

static ns_channels *channels;
static char dir[256];
static char db_path[300];

static void setup(void)
{
	char err[512];
	const char *sd = getenv("NS_SCHEMAS_DIR");

	channels = ns_channels_load(sd && sd[0] ? sd : "schemas/channels", err, sizeof(err));
	ck_assert_msg(channels != NULL, "%s", err);
	snprintf(dir, sizeof(dir), "/tmp/ns-test-store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/nstatus.db", dir);
}

static void teardown(void)
{
	char p[400];
	static const char *const suffix[] = {"", "-wal", "-shm", "2", "2-wal", "2-shm"};

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db_path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	ns_channels_free(channels);
}

/* ---- encoded events ---- */

typedef struct {
	proj_msg m;
	char *value;
} test_msg;

static test_msg msg(int32_t part, int64_t off, const char *key, char *value)
{
	test_msg t = {{part, off, key, strlen(key), value, strlen(value)}, value};
	return t;
}

/* Apply msgs as one batch; returns what proj_apply_batch returns. */
static int apply(proj_store *s, test_msg *tm, size_t n, proj_msg_out *out, proj_dlq_fn *dlq,
		 void *opaque)
{
	proj_msg *m = calloc(n, sizeof(*m));
	char err[256];
	int rc;

	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < n; i++)
		m[i] = tm[i].m;
	rc = proj_apply_batch(s, channels, TOPIC, m, n, out, dlq, opaque, err, sizeof(err));
	free(m);
	return rc;
}

static void free_msgs(test_msg *tm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(tm[i].value);
}

/* Outcomes of the history of id in log order, joined by ','. */
static void history(const char *path, const char *id, char *out, size_t outlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	size_t used = 0;

	out[0] = '\0';
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT e.outcome FROM notifications n JOIN events e"
					    " ON e.nid = n.nid WHERE n.external_id = ?1"
					    " ORDER BY e.partition, e.offset",
					    -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW && used + 1 < outlen) {
		int w = snprintf(out + used, outlen - used, "%s%s", used ? "," : "",
				 (const char *)sqlite3_column_text(q, 0));
		used += w > 0 ? (size_t)w : 0;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static int64_t stored_offset(proj_store *s, int32_t part)
{
	int64_t next = -1;
	int rc = proj_store_get_offset(s, TOPIC, part, &next);
	ck_assert_int_ge(rc, 0);
	return rc == 1 ? next : -1;
}

/* ---- tests ---- */

START_TEST(test_fold_sequence)
{
	char err[512], hist[512];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));
	test_msg tm[] = {
	    msg(0, 0, "n1", nt_enc_requested("n1", "sms", "hello", T0)),
	    msg(0, 1, "n1", nt_enc_dispatched("n1", "prov-1", T0 + 10)),
	    msg(0, 2, "n1", nt_enc_status("n1", "delivered", T0 + 30)),
	    msg(0, 3, "n1", nt_enc_status("n1", "sent", T0 + 20)),	/* late: stale */
	    msg(0, 4, "n1", nt_enc_status("n1", "delivered", T0 + 30)), /* same id: duplicate */
	    msg(0, 5, "n1", nt_enc_requested("n1", "sms", "other body", T0 + 40)), /* conflict */
	    msg(0, 6, "n1", nt_enc_status("n1", "viewed", T0 + 50)), /* not sms: invalid */
	    msg(1, 0, "n2", nt_enc_requested("n2", "sms", "hi", T0)),
	};
	size_t n = sizeof(tm) / sizeof(tm[0]);
	proj_msg_out out[8];
	ns_state st;
	int64_t nid;
	static const ns_outcome want[] = {NS_OUT_APPLIED, NS_OUT_APPLIED,   NS_OUT_APPLIED,
					  NS_OUT_STALE,	  NS_OUT_DUPLICATE, NS_OUT_CONFLICT,
					  NS_OUT_INVALID, NS_OUT_APPLIED};

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(apply(s, tm, n, out, NULL, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(out[i].result, PROJ_MSG_FOLDED);
		ck_assert_msg(out[i].outcome == want[i], "message %zu: %s, want %s", i,
			      ns_outcome_name(out[i].outcome), ns_outcome_name(want[i]));
	}
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "n1", &st, &nid), 1);
	ck_assert_str_eq(st.status, "delivered");
	ck_assert_str_eq(st.channel, "sms");
	ck_assert_str_eq(st.body, "hello");
	ck_assert_str_eq(st.provider_id, "prov-1");
	ck_assert_int_eq(st.events, 7);
	ck_assert_int_eq(st.created_at, T0);
	ck_assert_int_eq(nid, ns_readmodel_nid(0, 0)); /* numbered by its first event */
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "n2", &st, &nid), 1);
	ck_assert_str_eq(st.status, "queued");
	ck_assert_int_eq(nid, ns_readmodel_nid(1, 0));
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "nope", &st, &nid), 0);
	ck_assert_int_eq(nid, -1);
	ck_assert_int_eq(stored_offset(s, 0), 7);
	ck_assert_int_eq(stored_offset(s, 1), 1);
	ck_assert_int_eq(stored_offset(s, 2), -1);
	history(db_path, "n1", hist, sizeof(hist));
	ck_assert_str_eq(hist, "applied,applied,applied,stale,duplicate,conflict,invalid");
	proj_store_close(s);
	free_msgs(tm, n);
}
END_TEST

/* A re-delivered, already stored offset is skipped; later ones are applied. */
START_TEST(test_redelivery_skipped)
{
	char err[512], hist[512];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));
	test_msg a[] = {
	    msg(0, 0, "n1", nt_enc_requested("n1", "sms", "hello", T0)),
	    msg(0, 1, "n1", nt_enc_dispatched("n1", "prov-1", T0 + 10)),
	};
	test_msg b[] = {
	    msg(0, 0, "n1", nt_enc_requested("n1", "sms", "hello", T0)),
	    msg(0, 1, "n1", nt_enc_dispatched("n1", "prov-1", T0 + 10)),
	    msg(0, 2, "n1", nt_enc_status("n1", "sent", T0 + 20)),
	};
	proj_msg_out out[3];
	ns_state st;
	int64_t nid;

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(apply(s, a, 2, NULL, NULL, NULL), 0);
	ck_assert_int_eq(stored_offset(s, 0), 2);
	ck_assert_int_eq(apply(s, b, 3, out, NULL, NULL), 0);
	ck_assert_int_eq(out[0].result, PROJ_MSG_SKIPPED);
	ck_assert_int_eq(out[1].result, PROJ_MSG_SKIPPED);
	ck_assert_int_eq(out[2].result, PROJ_MSG_FOLDED);
	ck_assert_int_eq(out[2].outcome, NS_OUT_APPLIED);
	ck_assert_int_eq(stored_offset(s, 0), 3);
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "n1", &st, &nid), 1);
	ck_assert_str_eq(st.status, "sent");
	ck_assert_int_eq(st.events, 3);
	history(db_path, "n1", hist, sizeof(hist));
	ck_assert_str_eq(hist, "applied,applied,applied");
	proj_store_close(s);
	free_msgs(a, 2);
	free_msgs(b, 3);
}
END_TEST

/* The same event twice in one batch: the second sees the first (history in the open
 * transaction) and is a duplicate. */
START_TEST(test_duplicate_within_batch)
{
	char err[512];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));
	test_msg tm[] = {
	    msg(3, 10, "n1", nt_enc_requested("n1", "sms", "hello", T0)),
	    msg(3, 11, "n1", nt_enc_status("n1", "sent", T0 + 20)),
	    msg(3, 12, "n1", nt_enc_status("n1", "sent", T0 + 20)),
	};
	proj_msg_out out[3];
	ns_state st;
	int64_t nid;

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(apply(s, tm, 3, out, NULL, NULL), 0);
	ck_assert_int_eq(out[2].outcome, NS_OUT_DUPLICATE);
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "n1", &st, &nid), 1);
	ck_assert_int_eq(st.events, 3);
	ck_assert_int_eq(nid, ns_readmodel_nid(3, 10));
	ck_assert_int_eq(stored_offset(s, 3), 13);
	proj_store_close(s);
	free_msgs(tm, 3);
}
END_TEST

/* A notification keeps the number of its first event for good: an orphan (statuses first)
 * adopted by its request in a later batch, and more events after a re-open, all file
 * under it, and its history reads them all. */
START_TEST(test_nid_kept)
{
	char err[512], hist[512];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));
	test_msg a[] = {msg(2, 5, "o1", nt_enc_status("o1", "sent", T0 + 20))};
	test_msg b[] = {
	    msg(2, 6, "o1", nt_enc_requested("o1", "sms", "hello", T0)),
	    msg(4, 0, "n9", nt_enc_requested("n9", "sms", "hi", T0)),
	};
	test_msg c[] = {msg(2, 7, "o1", nt_enc_status("o1", "delivered", T0 + 30))};
	ns_state st;
	int64_t nid;

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(apply(s, a, 1, NULL, NULL, NULL), 0);
	ck_assert_int_eq(apply(s, b, 2, NULL, NULL, NULL), 0);
	proj_store_close(s);
	s = proj_store_open(db_path, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(apply(s, c, 1, NULL, NULL, NULL), 0);
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "o1", &st, &nid), 1);
	ck_assert_int_eq(nid, ns_readmodel_nid(2, 5));
	ck_assert_str_eq(st.status, "delivered");
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "n9", &st, &nid), 1);
	ck_assert_int_eq(nid, ns_readmodel_nid(4, 0));
	history(db_path, "o1", hist, sizeof(hist));
	ck_assert_str_eq(hist, "applied,applied,applied");
	history(db_path, "n9", hist, sizeof(hist));
	ck_assert_str_eq(hist, "applied");
	proj_store_close(s);
	free_msgs(a, 1);
	free_msgs(b, 2);
	free_msgs(c, 1);
}
END_TEST

typedef struct {
	int calls;
	int fail;
	int64_t offset;
	char reason[256];
} dlq_probe;

static int probe_dlq(void *opaque, const proj_msg *m, const char *reason)
{
	dlq_probe *p = opaque;
	p->calls++;
	p->offset = m->offset;
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
	return p->fail ? -1 : 0;
}

/* Undecodable values go to the dead-letter hook and still advance the offset; a failing
 * hook rolls the whole batch back. */
START_TEST(test_undecodable_to_dlq)
{
	char err[512];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));
	test_msg tm[] = {
	    msg(0, 0, "n1", nt_enc_requested("n1", "sms", "hello", T0)),
	    msg(0, 1, "junk", strdup("this is not json")),
	    msg(0, 2, "n1", nt_enc_status("n1", "sent", T0 + 20)),
	};
	proj_msg_out out[3];
	dlq_probe probe = {.fail = 1};
	ns_state st;
	int64_t nid;

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(apply(s, tm, 3, out, probe_dlq, &probe), -1);
	ck_assert_int_eq(probe.calls, 1);
	ck_assert_int_eq(stored_offset(s, 0), -1);
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "n1", &st, &nid), 0);

	probe = (dlq_probe){.fail = 0};
	ck_assert_int_eq(apply(s, tm, 3, out, probe_dlq, &probe), 0);
	ck_assert_int_eq(probe.calls, 1);
	ck_assert_int_eq(probe.offset, 1);
	ck_assert_str_ne(probe.reason, "");
	ck_assert_int_eq(out[1].result, PROJ_MSG_DLQ);
	ck_assert_str_eq(out[1].reason, probe.reason);
	ck_assert_int_eq(out[2].result, PROJ_MSG_FOLDED);
	ck_assert_int_eq(stored_offset(s, 0), 3);
	ck_assert_int_eq(proj_store_load_state(s, NT_TENANT, "n1", &st, &nid), 1);
	ck_assert_str_eq(st.status, "sent");
	ck_assert_int_eq(st.events, 2);
	proj_store_close(s);
	free_msgs(tm, 3);
}
END_TEST

/* One big batch and one message per batch (re-opening the store in between, as after a
 * crash) give identical dumps. */
START_TEST(test_dump_batch_independent)
{
	char err[512], path2[320];
	proj_store *s = proj_store_open(db_path, err, sizeof(err)), *s2;
	test_msg tm[40];
	size_t n = 0;
	char *d1, *d2;

	ck_assert_msg(s != NULL, "%s", err);
	for (int i = 0; i < 8; i++) {
		char id[16];
		snprintf(id, sizeof(id), "n%d", i);
		tm[n] = msg(i % 2, (int64_t)n, id, nt_enc_status(id, "sent", T0 + 20));
		n++;
		tm[n] = msg(i % 2, (int64_t)n, id,
			    nt_enc_requested(id, "sms", "body\twith\ttabs\n", T0));
		n++;
		tm[n] = msg(i % 2, (int64_t)n, id, nt_enc_dispatched(id, "p", T0 + 5));
		n++;
		tm[n] = msg(i % 2, (int64_t)n, id, nt_enc_status(id, "delivered", T0 + 40));
		n++;
	}
	ck_assert_int_eq(apply(s, tm, n, NULL, NULL, NULL), 0);
	proj_store_close(s);

	snprintf(path2, sizeof(path2), "%s2", db_path);
	for (size_t i = 0; i < n; i++) {
		s2 = proj_store_open(path2, err, sizeof(err));
		ck_assert_msg(s2 != NULL, "%s", err);
		ck_assert_int_eq(apply(s2, &tm[i], 1, NULL, NULL, NULL), 0);
		if (i % 3 == 0) /* and a re-delivery of what is already stored */
			ck_assert_int_eq(apply(s2, &tm[0], i + 1, NULL, NULL, NULL), 0);
		proj_store_close(s2);
	}
	d1 = nt_db_dump(db_path);
	d2 = nt_db_dump(path2);
	ck_assert_ptr_nonnull(strstr(d1, "notification\ttest\tn7\tsms\tdelivered"));
	ck_assert_ptr_nonnull(strstr(d1, "body\\twith\\ttabs\\n"));
	ck_assert_str_eq(d1, d2);
	free(d1);
	free(d2);
	free_msgs(tm, n);
}
END_TEST

START_TEST(test_open_refuses_bad_path)
{
	char err[512] = "";
	proj_store *s = proj_store_open("/nonexistent-dir/x/nstatus.db", err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_str_ne(err, "");
}
END_TEST

/* A notification new in a batch keeps its event ids for the duplicate check, up to a
 * bound; past it the store answers. Either way a repeated event is a duplicate, in the
 * same batch and in the next one. A requested with another body has another id and is a
 * conflict, so only the id check can make a repeat a duplicate. */
static char *requested_body(const char *id, int k)
{
	char body[16];

	snprintf(body, sizeof(body), "body %d", k);
	return nt_enc_requested(id, "sms", body, T0);
}

START_TEST(test_duplicates_of_a_new_notification)
{
	char err[512], hist[4096];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));
	test_msg tm[32], again[2];
	proj_msg_out out[32];
	size_t n = 0;

	ck_assert_msg(s != NULL, "%s", err);
	for (int k = 0; k <= 20; k++, n++) /* more ids than the bound */
		tm[n] = msg(0, (int64_t)n, "n1", requested_body("n1", k));
	tm[n] = msg(0, (int64_t)n, "n1", requested_body("n1", 2)); /* 21: past the bound */
	n++;
	tm[n] = msg(1, 0, "n2", requested_body("n2", 0));
	n++;
	tm[n] = msg(1, 1, "n2", requested_body("n2", 1));
	n++;
	tm[n] = msg(1, 2, "n2", requested_body("n2", 1)); /* 24: within the bound */
	n++;
	ck_assert_int_eq(apply(s, tm, n, out, NULL, NULL), 0);
	ck_assert_int_eq(out[0].outcome, NS_OUT_APPLIED);
	for (int k = 1; k <= 20; k++)
		ck_assert_int_eq(out[k].outcome, NS_OUT_CONFLICT);
	ck_assert_int_eq(out[21].outcome, NS_OUT_DUPLICATE);
	ck_assert_int_eq(out[22].outcome, NS_OUT_APPLIED);
	ck_assert_int_eq(out[23].outcome, NS_OUT_CONFLICT);
	ck_assert_int_eq(out[24].outcome, NS_OUT_DUPLICATE);
	/* the next batch: both have rows now, and the store answers */
	again[0] = msg(0, (int64_t)n, "n1", requested_body("n1", 5));
	again[1] = msg(1, 3, "n2", requested_body("n2", 1));
	ck_assert_int_eq(apply(s, again, 2, out, NULL, NULL), 0);
	ck_assert_int_eq(out[0].outcome, NS_OUT_DUPLICATE);
	ck_assert_int_eq(out[1].outcome, NS_OUT_DUPLICATE);
	history(db_path, "n2", hist, sizeof(hist));
	ck_assert_str_eq(hist, "applied,conflict,duplicate,duplicate");
	free_msgs(tm, n);
	free_msgs(again, 2);
	proj_store_close(s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fold_sequence);
	tcase_add_test(tc, test_duplicates_of_a_new_notification);
	tcase_add_test(tc, test_redelivery_skipped);
	tcase_add_test(tc, test_duplicate_within_batch);
	tcase_add_test(tc, test_nid_kept);
	tcase_add_test(tc, test_undecodable_to_dlq);
	tcase_add_test(tc, test_dump_batch_independent);
	tcase_add_test(tc, test_open_refuses_bad_path);
	suite_add_tcase(su, tc);
	return nt_run_suite(su);
}
