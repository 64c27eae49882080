/* test_figures_batch.c -- unit tests of the projector's figures (projector/figures.c)
 * without Kafka: deltas summed in a batch and written into a temp read model, past the
 * first sizes of its index (many distinct minutes in one batch), counts moving with a
 * notification, and the latency buckets (ns_readmodel_latency_bucket). */
#include "../../projector/figures.h"
#include "../../projector/store.h"
#include "ns_readmodel.h"

#include "nt.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256], db_path[300];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ns-test-figures.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/nstatus.db", dir);
}

static void teardown(void)
{
	char p[400];
	static const char *const suffix[] = {"", "-wal", "-shm"};

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", db_path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int64_t one(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sql);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void state(ns_state *st, const char *channel, const char *status, int64_t created)
{
	memset(st, 0, sizeof(*st));
	st->exists = 1;
	st->requested = 1;
	snprintf(st->tenant, sizeof(st->tenant), "acme");
	snprintf(st->external_id, sizeof(st->external_id), "n");
	snprintf(st->channel, sizeof(st->channel), "%s", channel);
	snprintf(st->status, sizeof(st->status), "%s", status);
	st->created_at = created;
}

/* One batch of 3000 deliveries, one per minute over 3000 minutes, each 30 ms after its
 * request: thousands of distinct keys (the index grows many times), flushed and committed. */
static void deliveries_batch(proj_store *s, proj_figures *f)
{
	ns_event ev = {.type = NS_EV_STATUS};
	ns_state after;

	for (int i = 0; i < 3000; i++) {
		ev.occurred_at = 1764633600000LL + (int64_t)i * 60000 + 30;
		state(&after, "sms", "delivered", ev.occurred_at - 30);
		ck_assert_int_eq(proj_figures_note(f, "sms", "sent", &after, &ev, NS_OUT_APPLIED),
				 0);
	}
	ck_assert_int_eq(proj_store_begin(s), 0);
	ck_assert_int_eq(proj_figures_flush(f, s), 0);
	ck_assert_int_eq(proj_store_commit(s), 0);
}

START_TEST(test_many_minutes_one_batch)
{
	char err[256];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));
	proj_figures *f = proj_figures_new();

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_ptr_nonnull(f);
	deliveries_batch(s, f);
	ck_assert_int_eq(one("SELECT count(*) FROM fig_minutes WHERE kind = 'delivered'"), 3000);
	ck_assert_int_eq(one("SELECT sum(n) FROM fig_minutes WHERE kind = 'delivered'"), 3000);
	ck_assert_int_eq(one("SELECT n FROM fig_counts WHERE status = 'delivered'"), 3000);
	ck_assert_int_eq(one("SELECT n FROM fig_counts WHERE status = 'sent'"), -3000);
	ck_assert_int_eq(one("SELECT count(DISTINCT bucket) FROM fig_latency"), 1);
	ck_assert_int_eq(one("SELECT bucket FROM fig_latency LIMIT 1"),
			 ns_readmodel_latency_bucket(30));
	/* the same again in a second batch: sums, not new rows */
	deliveries_batch(s, f);
	ck_assert_int_eq(one("SELECT count(*) FROM fig_minutes WHERE kind = 'delivered'"), 3000);
	ck_assert_int_eq(one("SELECT sum(n) FROM fig_minutes WHERE kind = 'delivered'"), 6000);
	proj_figures_free(f);
	proj_store_close(s);
}
END_TEST

START_TEST(test_orphan_moves_and_outcomes)
{
	char err[256];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));
	proj_figures *f = proj_figures_new();
	ns_event st_ev = {.type = NS_EV_STATUS, .occurred_at = 1000},
		 req = {.type = NS_EV_REQUESTED, .occurred_at = 500};
	ns_state after;

	ck_assert_ptr_nonnull(s);
	/* delivered before its request: counted under "" */
	state(&after, "", "delivered", 1000);
	after.requested = 0;
	ck_assert_int_eq(proj_figures_note(f, "", "", &after, &st_ev, NS_OUT_APPLIED), 0);
	/* the request comes: the count moves to sms, the status stays; accepted counted */
	state(&after, "sms", "delivered", 500);
	ck_assert_int_eq(proj_figures_note(f, "", "delivered", &after, &req, NS_OUT_APPLIED), 0);
	/* a stale event changes nothing */
	ck_assert_int_eq(proj_figures_note(f, "sms", "delivered", &after, &st_ev, NS_OUT_STALE), 0);
	ck_assert_int_eq(proj_store_begin(s), 0);
	ck_assert_int_eq(proj_figures_flush(f, s), 0);
	ck_assert_int_eq(proj_store_commit(s), 0);
	ck_assert_int_eq(
	    one("SELECT n FROM fig_counts WHERE channel = 'sms' AND status = 'delivered'"), 1);
	ck_assert_int_eq(one("SELECT count(*) FROM fig_counts WHERE channel = '' AND n <> 0"), 0);
	ck_assert_int_eq(one("SELECT sum(n) FROM fig_minutes WHERE kind = 'accepted'"), 1);
	ck_assert_int_eq(one("SELECT sum(n) FROM fig_minutes WHERE kind = 'delivered'"), 1);
	ck_assert_int_eq(one("SELECT count(*) FROM fig_latency"), 0); /* no request yet then */
	proj_figures_free(f);
	proj_store_close(s);
}
END_TEST

START_TEST(test_latency_buckets)
{
	ck_assert_int_eq(ns_readmodel_latency_bucket(0), 0);
	ck_assert_int_eq(ns_readmodel_latency_bucket(-5), 0);
	ck_assert_int_eq(ns_readmodel_latency_bucket(1), 0);
	for (int64_t ms = 1; ms < 100000000; ms = ms * 3 + 1) {
		int b = ns_readmodel_latency_bucket(ms);
		double up = ns_readmodel_latency_upper(b);
		ck_assert_msg(up > (double)ms && up <= (double)ms * 1.19 + 1, "%lld ms -> %d (%f)",
			      (long long)ms, b, up);
	}
	ck_assert_int_eq(ns_readmodel_latency_bucket(INT64_MAX), NS_READMODEL_LATENCY_BUCKETS - 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("figures_batch");
	TCase *tc = tcase_create("figures_batch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_many_minutes_one_batch);
	tcase_add_test(tc, test_orphan_moves_and_outcomes);
	tcase_add_test(tc, test_latency_buckets);
	suite_add_tcase(su, tc);
	return nt_run_suite(su);
}
