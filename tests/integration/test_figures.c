/* test_figures.c -- the dashboard's figures and its page, against the real broker: a
 * projector folds histories of known shape (in order, reversed, rejected with a late and
 * a conflicting event) produced with current timestamps, and query's GET /figures must
 * say exactly what those histories imply: counts by channel and status (equal to a count
 * over the notifications table, orphans adopted by a later request moved to their
 * channel), the accepted and delivered volumes, the rates, the request-to-delivered
 * latency, every stale and conflicting event among the anomalies, the projector's
 * position. The event stream pushes a change when the projector commits; the page and
 * its files are served from the binary. */
#include "ns_readmodel.h"
#include "ns_time.h"
#include "nt.h"
#include "nt_events.h"
#include "nt_raw.h"
#include "nt_system.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 30 /* notifications: 10 of each shape */

static nt_system sys;

static void setup(void)
{
	nt_system_init(&sys, "figures", 3);
	nt_system_up(&sys, NT_BIT(NT_PROJECTOR) | NT_BIT(NT_QUERY) | NT_BIT(NT_INGEST));
	nt_produce_reset();
	/* five minutes ago, so that every event falls in the window and the volumes */
	nt_produce_histories(sys.topic, "fig", 2, N, ns_time_now_ms() - 5 * 60000, -1);
	nt_produce_flush();
	nt_wait_caught_up(sys.db, sys.topic, nt_system_log(&sys, NT_PROJECTOR));
}

static void teardown(void)
{
	nt_system_down(&sys);
}

static json_t *figures(const char *params)
{
	char *resp = NULL;
	long code = nt_http("GET", nt_fmt("%s/figures%s", nt_system_url(&sys, NT_QUERY, 0), params),
			    NULL, NULL, &resp);
	json_t *j;

	ck_assert_msg(code == 200, "GET /figures: %ld %s", code, resp ? resp : "");
	j = json_loads(resp, 0, NULL);
	free(resp);
	ck_assert_ptr_nonnull(j);
	return j;
}

static json_int_t count_of(json_t *f, const char *channel, const char *status)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(f, "counts"), i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "channel")), channel) &&
		    !strcmp(json_string_value(json_object_get(c, "status")), status))
			return json_integer_value(json_object_get(c, "count"));
	}
	return 0;
}

/* sum over the minutes of one kind */
static json_int_t volume_of(json_t *f, const char *kind)
{
	json_int_t sum = 0;
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(json_object_get(f, "volumes"), "minutes"), i, m) sum +=
	    json_integer_value(json_object_get(m, kind));
	return sum;
}

START_TEST(test_counts_match_the_table)
{
	json_t *f = figures("");
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char err[256];
	int rows = 0;

	/* 10 in order and 10 reversed end delivered, 10 rejected; the reversed ones were
	 * orphans first ("" channel) and moved to sms with their request */
	ck_assert_int_eq(count_of(f, "sms", "delivered"), 20);
	ck_assert_int_eq(count_of(f, "sms", "rejected"), 10);
	ck_assert_int_eq(count_of(f, "", "delivered"), 0);
	ck_assert_int_eq(json_array_size(json_object_get(f, "counts")), 2);
	/* and exactly what a count over the rows gives */
	ck_assert_int_eq(ns_readmodel_open_ro(sys.db, &db, err, sizeof(err)), NS_READMODEL_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT channel, status, count(*) FROM notifications "
					    "WHERE tenant = ?1 GROUP BY channel, status",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, NT_TENANT, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		rows++;
		ck_assert_int_eq(count_of(f, (const char *)sqlite3_column_text(st, 0),
					  (const char *)sqlite3_column_text(st, 1)),
				 sqlite3_column_int64(st, 2));
	}
	ck_assert_int_eq(rows, 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
	json_decref(f);
}
END_TEST

START_TEST(test_volumes_rates_latency)
{
	json_t *f = figures("?windowMinutes=30&hours=1"), *r, *l;
	size_t i;
	int saw_rates = 0, saw_latency = 0;

	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(f, "volumes"), "minutes")),
			 60);
	ck_assert_int_eq(volume_of(f, "accepted"), N);
	ck_assert_int_eq(volume_of(f, "delivered"), 20);
	ck_assert_int_eq(volume_of(f, "rejected"), 10);
	json_array_foreach(json_object_get(f, "rates"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "channel")), "sms"))
			continue;
		saw_rates = 1;
		ck_assert_int_eq(json_integer_value(json_object_get(r, "accepted")), N);
		/* the 10 orphans were delivered before their channel was known */
		ck_assert_int_eq(
		    json_integer_value(json_object_get(json_object_get(r, "entered"), "delivered")),
		    10);
		ck_assert(
		    fabs(json_real_value(json_object_get(json_object_get(r, "rates"), "rejected")) -
			 1.0 / 3.0) < 1e-9);
	}
	ck_assert(saw_rates);
	json_array_foreach(json_object_get(f, "latency"), i, l)
	{
		double p50;
		if (strcmp(json_string_value(json_object_get(l, "status")), "delivered") ||
		    strcmp(json_string_value(json_object_get(l, "channel")), "sms"))
			continue;
		saw_latency = 1;
		/* requested at t0, delivered at t0 + 30 ms: within a bucket's width above */
		ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 10);
		p50 = json_real_value(json_object_get(l, "p50Ms"));
		ck_assert_msg(p50 >= 30 && p50 <= 36, "p50 %f", p50);
	}
	ck_assert(saw_latency);
	/* the series: per channel, buckets whose sums are the volumes' */
	{
		json_t *chs = json_object_get(json_object_get(f, "rateSeries"), "channels"), *ch,
		       *pt;
		json_int_t acc = 0;
		size_t k, m;
		ck_assert(json_array_size(chs) >= 1);
		json_array_foreach(chs, k, ch)
		    json_array_foreach(json_object_get(ch, "points"), m, pt) acc +=
		    json_integer_value(json_object_get(pt, "accepted"));
		ck_assert_int_eq(acc, N);
	}
	json_decref(f);
}
END_TEST

START_TEST(test_anomalies_and_projector)
{
	json_t *f = figures("?anomalies=200"), *a, *p;
	int stale = 0, conflict = 0;
	json_int_t position = 0;
	int64_t hw[NT_MAX_PARTS];
	size_t i;

	json_array_foreach(json_object_get(f, "anomalies"), i, a)
	{
		const char *o = json_string_value(json_object_get(a, "outcome"));
		stale += !strcmp(o, "stale");
		conflict += !strcmp(o, "conflict");
		ck_assert(json_string_length(json_object_get(a, "detail")) > 0);
	}
	/* reversed: a stale sent and a stale dispatched each; rejected: a late processing */
	ck_assert_int_eq(stale, 30);
	ck_assert_int_eq(conflict, 10);
	ck_assert_int_eq(json_array_size(json_object_get(f, "anomalies")), 40);
	json_decref(f);
	/* newest first, bounded */
	f = figures("?anomalies=5");
	ck_assert_int_eq(json_array_size(json_object_get(f, "anomalies")), 5);
	json_array_foreach(json_object_get(f, "projector"), i, p) position +=
	    json_integer_value(json_object_get(p, "position"));
	nt_acked_hw(hw);
	ck_assert_int_eq(position, hw[0] + hw[1] + hw[2]);
	ck_assert_int_eq(json_array_size(json_object_get(f, "projector")), 3);
	json_decref(f);
}
END_TEST

START_TEST(test_refused_parameters_and_keys)
{
	const char *base = nt_system_url(&sys, NT_QUERY, 0);

	ck_assert_int_eq(
	    nt_http("GET", nt_fmt("%s/figures?windowMinutes=0", base), NULL, NULL, NULL), 400);
	ck_assert_int_eq(nt_http("GET", nt_fmt("%s/figures?hours=49", base), NULL, NULL, NULL),
			 400);
	ck_assert_int_eq(nt_http("GET", nt_fmt("%s/figures?anomalies=x", base), NULL, NULL, NULL),
			 400);
	ck_assert_int_eq(nt_http_as(NULL, "GET", nt_fmt("%s/figures", base), NULL, NULL, NULL),
			 401);
	ck_assert_int_eq(
	    nt_http_as(NULL, "GET", nt_fmt("%s/dashboard/stream", base), NULL, NULL, NULL), 401);
}
END_TEST

START_TEST(test_page_is_served)
{
	const char *base = nt_system_url(&sys, NT_QUERY, 0);
	char *resp = NULL;

	/* no key needed for the page itself: it asks for one */
	ck_assert_int_eq(nt_http_as(NULL, "GET", nt_fmt("%s/dashboard", base), NULL, NULL, &resp),
			 200);
	ck_assert_ptr_nonnull(strstr(resp, "/dashboard/app.js"));
	free(resp);
	resp = NULL;
	ck_assert_int_eq(
	    nt_http_as(NULL, "GET", nt_fmt("%s/dashboard/app.js", base), NULL, NULL, &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, "/dashboard/stream"));
	free(resp);
	ck_assert_int_eq(
	    nt_http_as(NULL, "GET", nt_fmt("%s/dashboard/app.css", base), NULL, NULL, NULL), 200);
	ck_assert_int_eq(
	    nt_http_as(NULL, "GET", nt_fmt("%s/dashboard/nothing.js", base), NULL, NULL, NULL),
	    404);
	ck_assert_int_eq(nt_http_as(NULL, "POST", nt_fmt("%s/dashboard", base), NULL, "x", NULL),
			 405);
}
END_TEST

/* A POST a little later (through ingest: tests run in a forked child, where the
 * fixture's producer has no threads). */
static void *post_later(void *arg)
{
	long *code = arg;

	usleep(800 * 1000);
	*code = nt_http("POST", nt_fmt("%s/notifications", nt_system_url(&sys, NT_INGEST, 0)), NULL,
			"{\"channel\":\"sms\",\"to\":\"+4915112345678\",\"body\":\"hi\","
			"\"externalId\":\"fig-live\"}",
			NULL);
	return NULL;
}

START_TEST(test_stream_pushes_changes)
{
	const char *req = nt_fmt("GET /dashboard/stream HTTP/1.1\r\nHost: x\r\n"
				 "Authorization: Bearer %s\r\n\r\n",
				 nt_api_key());
	nt_raw_reply *r = calloc(1, sizeof(*r));
	pthread_t th;
	long code = 0;

	ck_assert_int_eq(pthread_create(&th, NULL, post_later, &code), 0);
	ck_assert_int_eq(nt_raw_request(sys.port[NT_QUERY], req, strlen(req), 4000, r), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(code, 202);
	ck_assert_int_eq(r->status, 200);
	ck_assert_ptr_nonnull(strstr(r->head, "text/event-stream"));
	ck_assert_msg(strstr(r->body, "event: hello") != NULL, "%s", r->body);
	ck_assert_msg(strstr(r->body, "event: change") != NULL, "no change pushed: %s", r->body);
	free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("figures");
	TCase *tc = tcase_create("figures");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_counts_match_the_table);
	tcase_add_test(tc, test_volumes_rates_latency);
	tcase_add_test(tc, test_anomalies_and_projector);
	tcase_add_test(tc, test_refused_parameters_and_keys);
	tcase_add_test(tc, test_page_is_served);
	tcase_add_test(tc, test_stream_pushes_changes);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
