/* test_sim_paths.c -- unit tests of simulator/paths.c: each channel's path, rejections,
 * strictly increasing timestamps, duplicates and reordering, and their shares. */
#include "../../simulator/paths.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void check_path(const char *channel, const sim_path *p, int64_t start)
{
	int i;

	if (p->rejected) {
		ck_assert_int_eq(p->nevents, 1);
		ck_assert_str_eq(p->w[0].event, "rejected");
	} else if (strcmp(channel, "whatsapp") == 0) {
		ck_assert_int_eq(p->nevents, 3);
		ck_assert_str_eq(p->w[0].event, "sent");
		ck_assert_str_eq(p->w[1].event, "delivered");
		ck_assert_str_eq(p->w[2].event, "viewed");
	} else {
		ck_assert_int_eq(p->nevents, 2);
		ck_assert_str_eq(p->w[0].event, "sent");
		ck_assert_str_eq(p->w[1].event, "delivered");
	}
	for (i = 0; i < p->nevents; i++) {
		ck_assert(p->w[i].ts_ms >= start);
		if (i > 0)
			ck_assert(p->w[i].ts_ms > p->w[i - 1].ts_ms);
	}
	ck_assert_int_eq(p->n, p->nevents + p->duplicated);
	if (p->duplicated) {
		const sim_webhook *d = &p->w[p->n - 1];
		int found = 0;
		for (i = 0; i < p->nevents; i++)
			if (strcmp(p->w[i].event, d->event) == 0 && p->w[i].ts_ms == d->ts_ms)
				found = 1;
		ck_assert(found);
	}
	if (!p->reordered)
		for (i = 0; i < p->nevents; i++)
			ck_assert(p->w[i].due_ms == p->w[i].ts_ms);
}

START_TEST(test_paths_and_shares)
{
	static const struct {
		const char *channel;
		int rej, dup, reo;
	} cases[] = {
	    {"sms", 0, 0, 0},	       {"whatsapp", 0, 0, 0},	  {"sms", 100, 0, 0},
	    {"whatsapp", 100, 100, 0}, {"whatsapp", 0, 100, 100}, {"sms", 5, 10, 10},
	    {"email", 0, 0, 0},
	};
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		sim_path_opts o = {cases[c].rej, cases[c].dup, cases[c].reo, 50, 500};
		uint64_t rng = 1 + c;
		int i, nrej = 0, ndup = 0, nreo = 0;

		for (i = 0; i < 1000; i++) {
			sim_path p;
			ck_assert_int_eq(sim_path_plan(cases[c].channel, 1000000, &o, &rng, &p), 0);
			check_path(cases[c].channel, &p, 1000000);
			nrej += p.rejected;
			ndup += p.duplicated;
			nreo += p.reordered;
		}
		/* 0% and 100% are exact; others land near their share */
		if (cases[c].rej == 0 || cases[c].rej == 100)
			ck_assert_int_eq(nrej, cases[c].rej * 10);
		else
			ck_assert(nrej > 0 && nrej < 200);
		if (cases[c].dup == 0 || cases[c].dup == 100)
			ck_assert_int_eq(ndup, cases[c].dup * 10);
		if (cases[c].reo == 0)
			ck_assert_int_eq(nreo, 0);
		if (cases[c].reo == 100)
			ck_assert_int_eq(nreo, 1000 - nrej); /* a rejection has one event */
	}
}
END_TEST

START_TEST(test_reorder_swaps_delivery_only)
{
	sim_path_opts o = {0, 0, 100, 100, 100};
	uint64_t rng = 3;
	sim_path p;
	int k, swapped = 0;

	sim_path_plan("whatsapp", 0, &o, &rng, &p);
	ck_assert(p.reordered);
	for (k = 0; k + 1 < p.nevents; k++)
		if (p.w[k].due_ms == p.w[k + 1].ts_ms && p.w[k + 1].due_ms == p.w[k].ts_ms)
			swapped++;
	ck_assert_int_eq(swapped, 1);
}
END_TEST

START_TEST(test_seeded_is_deterministic)
{
	sim_path_opts o = {5, 10, 10, 50, 500};
	uint64_t a = 77, b = 77;
	sim_path p, q;
	int i;

	for (i = 0; i < 100; i++) {
		sim_path_plan("sms", 0, &o, &a, &p);
		sim_path_plan("sms", 0, &o, &b, &q);
		ck_assert(memcmp(&p, &q, sizeof(p)) == 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_paths");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_paths_and_shares);
	tcase_add_test(tc, test_reorder_swaps_delivery_only);
	tcase_add_test(tc, test_seeded_is_deterministic);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
