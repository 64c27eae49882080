/* test_backoff.c -- unit tests of common/ns_backoff.c: the ceiling doubles from the base up
 * to the cap, full-jitter delays stay within [0, ceiling], and the budget ends retries. */
#include "ns_backoff.h"
#include "ns_rand.h"

#include "nt.h"

#include <check.h>
#include <stdlib.h>

static const ns_backoff B = {200, 10000, 60000};

START_TEST(test_ceiling_table)
{
	static const struct {
		int attempt;
		int64_t want;
	} cases[] = {{-1, 200}, {0, 200},   {1, 400},	{2, 800},    {3, 1600},
		     {5, 6400}, {6, 10000}, {7, 10000}, {60, 10000}, {100000, 10000}};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(ns_backoff_ceiling(&B, cases[i].attempt) == cases[i].want,
			      "attempt %d: got %lld want %lld", cases[i].attempt,
			      (long long)ns_backoff_ceiling(&B, cases[i].attempt),
			      (long long)cases[i].want);
}
END_TEST

START_TEST(test_jitter_within_ceiling)
{
	uint64_t rng = 42;
	int attempt, k;

	for (attempt = 0; attempt < 12; attempt++) {
		int64_t ceil = ns_backoff_ceiling(&B, attempt), lo = ceil, hi = 0;
		for (k = 0; k < 2000; k++) {
			int64_t d = -1;
			ck_assert_int_eq(ns_backoff_next(&B, attempt, 0, &rng, &d), 0);
			ck_assert(d >= 0 && d <= ceil);
			if (d < lo)
				lo = d;
			if (d > hi)
				hi = d;
		}
		/* full jitter: spread over the whole range, not clustered at the ceiling */
		ck_assert(lo < ceil / 4 + 1);
		ck_assert(hi > ceil / 2);
	}
}
END_TEST

START_TEST(test_budget)
{
	uint64_t rng = 7;
	int64_t d = -1;

	ck_assert_int_eq(ns_backoff_next(&B, 3, 60000, &rng, &d), -1);
	ck_assert_int_eq(ns_backoff_next(&B, 3, 90000, &rng, &d), -1);
	/* close to the budget: the delay is cut to end on it */
	ck_assert_int_eq(ns_backoff_next(&B, 20, 59990, &rng, &d), 0);
	ck_assert(d >= 0 && d <= 10);
	ck_assert_int_eq(ns_backoff_next(&B, 0, -5, &rng, &d), 0);
	ck_assert(d >= 0 && d <= 200);
}
END_TEST

START_TEST(test_rand_deterministic)
{
	uint64_t a = 99, b = 99, z = 0;
	int i;

	for (i = 0; i < 100; i++)
		ck_assert(ns_rand_next(&a) == ns_rand_next(&b));
	ns_rand_next(&z); /* a zero state must not stick at zero */
	ck_assert(z != 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ceiling_table);
	tcase_add_test(tc, test_jitter_within_ceiling);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_rand_deterministic);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
