/* test_tracker.c -- unit tests of common/ns_tracker.c (the contiguous-offset tracker)
 * and of the provider response classification: commits only ever cover a done prefix. */
#include "../../sender/provider.h"
#include "ns_tracker.h"

#include "nt.h"

#include <check.h>
#include <stdlib.h>

START_TEST(test_prefix)
{
	ns_tracker t;

	ns_tracker_init(&t);
	ck_assert_int_eq(ns_tracker_committable(&t), -1);
	ck_assert_int_eq(ns_tracker_add(&t, 10), 0);
	ck_assert_int_eq(ns_tracker_add(&t, 11), 0);
	ck_assert_int_eq(ns_tracker_add(&t, 13), 0);  /* gaps are allowed */
	ck_assert_int_eq(ns_tracker_add(&t, 12), -1); /* out of order refused */
	ck_assert_int_eq(ns_tracker_done(&t, 11), 0);
	ck_assert_int_eq(ns_tracker_committable(&t), -1); /* 10 still pending */
	ck_assert_int_eq(ns_tracker_take_commit(&t), -1);
	ck_assert_int_eq(ns_tracker_done(&t, 10), 0);
	ck_assert_int_eq(ns_tracker_committable(&t), 12); /* 10, 11 done; 13 pending */
	ck_assert_int_eq(ns_tracker_take_commit(&t), 12);
	ck_assert_int_eq(ns_tracker_take_commit(&t), -1); /* nothing new */
	ck_assert_int_eq(ns_tracker_pending(&t), 1);
	ck_assert_int_eq(ns_tracker_done(&t, 99), -1);
	ck_assert_int_eq(ns_tracker_done(&t, 13), 0);
	ck_assert_int_eq(ns_tracker_take_commit(&t), 14);
	ck_assert_int_eq(ns_tracker_pending(&t), 0);
	ck_assert_int_eq(ns_tracker_add(&t, 13), -1); /* below what was committed */
	ns_tracker_reset(&t);
	ck_assert_int_eq(ns_tracker_committable(&t), -1);
	ck_assert_int_eq(ns_tracker_add(&t, 5), 0);
	ns_tracker_free(&t);
}
END_TEST

/* Many offsets completed in a scrambled order, through ring growth and wrap-around: the
 * committable offset always equals the first not-done offset. */
START_TEST(test_scrambled)
{
	enum { N = 5000 };
	static unsigned char done[N];
	ns_tracker t;
	uint64_t x = 12345;
	int i, first = 0, base = 0, added = 0;

	ns_tracker_init(&t);
	while (first < N) {
		/* keep up to 300 in flight */
		while (added < N && added - first < 300) {
			ck_assert_int_eq(ns_tracker_add(&t, 1000 + added), 0);
			added++;
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = first + (int)(x % (uint64_t)(added - first));
		if (!done[i]) {
			done[i] = 1;
			ck_assert_int_eq(ns_tracker_done(&t, 1000 + i), 0);
		}
		while (first < N && done[first])
			first++;
		if (first > base) {
			ck_assert_int_eq(ns_tracker_committable(&t), 1000 + first);
			base = first;
		}
		ck_assert_int_eq(ns_tracker_pending(&t), (size_t)(added - first));
	}
	ck_assert_int_eq(ns_tracker_take_commit(&t), 1000 + N);
	ns_tracker_free(&t);
}
END_TEST

START_TEST(test_classify_table)
{
	static const struct {
		sender_req_kind kind;
		int curl;
		long status;
		sender_outcome want;
	} cases[] = {
	    {SENDER_REQ_SEND, 0, 201, SENDER_OUT_OK},
	    {SENDER_REQ_SEND, 0, 200, SENDER_OUT_OK},
	    {SENDER_REQ_SEND, 0, 400, SENDER_OUT_PERMANENT},
	    {SENDER_REQ_SEND, 0, 422, SENDER_OUT_PERMANENT},
	    {SENDER_REQ_SEND, 0, 429, SENDER_OUT_TRANSIENT},
	    {SENDER_REQ_SEND, 0, 500, SENDER_OUT_TRANSIENT},
	    {SENDER_REQ_SEND, 0, 503, SENDER_OUT_TRANSIENT},
	    {SENDER_REQ_SEND, 28, 0, SENDER_OUT_TRANSIENT}, /* timeout */
	    {SENDER_REQ_SEND, 7, 0, SENDER_OUT_TRANSIENT},  /* connection refused */
	    {SENDER_REQ_SEND, 52, 0, SENDER_OUT_TRANSIENT}, /* empty reply */
	    {SENDER_REQ_EXISTS, 0, 200, SENDER_OUT_OK},
	    {SENDER_REQ_EXISTS, 0, 404, SENDER_OUT_NOTFOUND},
	    {SENDER_REQ_EXISTS, 0, 400, SENDER_OUT_TRANSIENT}, /* never send on a guess */
	    {SENDER_REQ_EXISTS, 0, 503, SENDER_OUT_TRANSIENT},
	    {SENDER_REQ_EXISTS, 28, 0, SENDER_OUT_TRANSIENT},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(sender_provider_classify(cases[i].kind, cases[i].curl,
						       cases[i].status) == cases[i].want,
			      "case %zu", i);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ns_tracker");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_prefix);
	tcase_add_test(tc, test_scrambled);
	tcase_add_test(tc, test_classify_table);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
