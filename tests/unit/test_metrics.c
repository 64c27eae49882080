/* test_metrics.c -- unit tests of ns_metrics: counters and gauges, histogram bucket
 * boundaries (a table of observations and the bucket each lands in), the exact exposition
 * text, grouping by name, lookups of an existing metric, concurrent updates and reset. */
#include "ns_metrics.h"

#include "nt.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void teardown(void)
{
	ns_metrics_reset();
}

/* Does text contain line as one whole line? */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p++;
	}
	return 0;
}

START_TEST(test_counter_gauge_text)
{
	ns_counter *c = ns_metrics_counter("jobs_total", "kind=\"a\"", "Jobs done");
	ns_counter *c2 = ns_metrics_counter("jobs_total", "kind=\"b\"", "Jobs done");
	ns_gauge *g = ns_metrics_gauge("queue_depth", NULL, "Items waiting");
	char *txt;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(c2);
	ck_assert_ptr_ne(c, c2);
	ck_assert_ptr_eq(ns_metrics_counter("jobs_total", "kind=\"a\"", "ignored"), c);
	ns_counter_add(c, 3);
	ns_counter_add(c, 2);
	ns_counter_add(c2, 1);
	ns_gauge_set(g, 10);
	ns_gauge_add(g, -13);
	txt = ns_metrics_render();
	ck_assert_ptr_nonnull(txt);
	ck_assert_str_eq(txt, "# HELP jobs_total Jobs done\n"
			      "# TYPE jobs_total counter\n"
			      "jobs_total{kind=\"a\"} 5\n"
			      "jobs_total{kind=\"b\"} 1\n"
			      "# HELP queue_depth Items waiting\n"
			      "# TYPE queue_depth gauge\n"
			      "queue_depth -3\n");
	free(txt);
}
END_TEST

START_TEST(test_grouped_by_name)
{
	char *txt, *first, *second;

	ns_counter_add(ns_metrics_counter("a_total", "x=\"1\"", "A"), 1);
	ns_counter_add(ns_metrics_counter("b_total", NULL, "B"), 1);
	ns_counter_add(ns_metrics_counter("a_total", "x=\"2\"", "A"), 2);
	txt = ns_metrics_render();
	ck_assert_ptr_nonnull(txt);
	/* One HELP per family, and a family's series together under it. */
	first = strstr(txt, "# HELP a_total");
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_null(strstr(first + 1, "# HELP a_total"));
	second = strstr(txt, "a_total{x=\"2\"} 2\n");
	ck_assert_ptr_nonnull(second);
	ck_assert(second < strstr(txt, "# HELP b_total"));
	free(txt);
}
END_TEST

static const struct {
	double v;
	int bucket; /* index of the first bucket that counts it; 13 = only +Inf */
} obs[] = {
    {0, 0},    {-1, 0},	       {0.0005, 0}, {0.001, 0}, {0.0011, 1}, {0.0025, 1}, {0.003, 2},
    {0.01, 3}, {0.0100001, 4}, {0.05, 5},   {0.1, 6},	{0.2, 7},    {0.5, 8},	  {0.75, 9},
    {1, 9},    {2, 10},	       {5, 11},	    {10, 12},	{10.5, 13},  {1e12, 13},
};

static const char *const les[] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
				  "0.25",  "0.5",    "1",     "2.5",  "5",     "10",   "+Inf"};

START_TEST(test_histogram_bucket)
{
	ns_histogram *h = ns_metrics_histogram("lat_seconds", "route=\"/x\"", "Latency");
	char *txt, line[128];

	ns_histogram_observe(h, obs[_i].v);
	txt = ns_metrics_render();
	ck_assert_ptr_nonnull(txt);
	for (int b = 0; b < 14; b++) {
		snprintf(line, sizeof(line), "lat_seconds_bucket{route=\"/x\",le=\"%s\"} %d",
			 les[b], b >= obs[_i].bucket ? 1 : 0);
		ck_assert_msg(has_line(txt, line), "v=%g: missing %s in\n%s", obs[_i].v, line, txt);
	}
	ck_assert(has_line(txt, "lat_seconds_count{route=\"/x\"} 1"));
	free(txt);
}
END_TEST

START_TEST(test_histogram_text)
{
	ns_histogram *h = ns_metrics_histogram("op_seconds", NULL, "Op time");
	char *txt;

	ns_histogram_observe(h, 0.002);
	ns_histogram_observe(h, 0.5);
	ns_histogram_observe(h, 3);
	txt = ns_metrics_render();
	ck_assert_ptr_nonnull(txt);
	ck_assert_str_eq(txt, "# HELP op_seconds Op time\n"
			      "# TYPE op_seconds histogram\n"
			      "op_seconds_bucket{le=\"0.001\"} 0\n"
			      "op_seconds_bucket{le=\"0.0025\"} 1\n"
			      "op_seconds_bucket{le=\"0.005\"} 1\n"
			      "op_seconds_bucket{le=\"0.01\"} 1\n"
			      "op_seconds_bucket{le=\"0.025\"} 1\n"
			      "op_seconds_bucket{le=\"0.05\"} 1\n"
			      "op_seconds_bucket{le=\"0.1\"} 1\n"
			      "op_seconds_bucket{le=\"0.25\"} 1\n"
			      "op_seconds_bucket{le=\"0.5\"} 2\n"
			      "op_seconds_bucket{le=\"1\"} 2\n"
			      "op_seconds_bucket{le=\"2.5\"} 2\n"
			      "op_seconds_bucket{le=\"5\"} 3\n"
			      "op_seconds_bucket{le=\"10\"} 3\n"
			      "op_seconds_bucket{le=\"+Inf\"} 3\n"
			      "op_seconds_sum 3.502\n"
			      "op_seconds_count 3\n");
	free(txt);
}
END_TEST

START_TEST(test_help_escaped_and_kind_clash)
{
	char *txt;

	ck_assert_ptr_nonnull(ns_metrics_counter("x_total", NULL, "line\\one\nline two"));
	/* The same name as another kind is refused. */
	ck_assert_ptr_null(ns_metrics_gauge("x_total", NULL, "x"));
	ck_assert_ptr_null(ns_metrics_counter("", NULL, "x"));
	/* NULL metrics are no-ops. */
	ns_counter_add(NULL, 1);
	ns_gauge_set(NULL, 1);
	ns_gauge_add(NULL, 1);
	ns_histogram_observe(NULL, 1);
	txt = ns_metrics_render();
	ck_assert(has_line(txt, "# HELP x_total line\\\\one\\nline two"));
	ck_assert(has_line(txt, "x_total 0"));
	free(txt);
}
END_TEST

START_TEST(test_full_registry)
{
	char name[32];
	int i;

	for (i = 0; i < 512; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		ck_assert_ptr_nonnull(ns_metrics_gauge(name, NULL, "g"));
	}
	ck_assert_ptr_null(ns_metrics_gauge("one_too_many", NULL, "g"));
	ck_assert_ptr_nonnull(ns_metrics_gauge("m7", NULL, "g")); /* lookups still work */
	ns_metrics_reset();
	ck_assert_ptr_nonnull(ns_metrics_gauge("one_too_many", NULL, "g"));
}
END_TEST

#define THREADS 4
#define ADDS	100000

static void *adder(void *arg)
{
	ns_counter *c = ns_metrics_counter("race_total", NULL, "race");
	ns_histogram *h = ns_metrics_histogram("race_seconds", NULL, "race");

	(void)arg;
	for (int i = 0; i < ADDS; i++) {
		ns_counter_add(c, 1);
		ns_histogram_observe(h, 0.001);
	}
	return NULL;
}

START_TEST(test_concurrent_updates)
{
	pthread_t th[THREADS];
	char *txt;

	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, adder, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	txt = ns_metrics_render();
	ck_assert(has_line(txt, "race_total 400000"));
	ck_assert(has_line(txt, "race_seconds_count 400000"));
	ck_assert(has_line(txt, "race_seconds_bucket{le=\"0.001\"} 400000"));
	ck_assert(has_line(txt, "race_seconds_sum 400"));
	free(txt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_counter_gauge_text);
	tcase_add_test(tc, test_grouped_by_name);
	tcase_add_loop_test(tc, test_histogram_bucket, 0, (int)(sizeof(obs) / sizeof(obs[0])));
	tcase_add_test(tc, test_histogram_text);
	tcase_add_test(tc, test_help_escaped_and_kind_clash);
	tcase_add_test(tc, test_full_registry);
	tcase_add_test(tc, test_concurrent_updates);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
