/* test_sender_jobs.c -- unit tests of sender/jobs.c: one active job per externalId with
 * the others queued in order, promotion on release, consumption order kept, and what
 * forgetting a partition frees or abandons. */
#include "../../sender/jobs.h"

#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static sender_job *job(const char *id, int32_t partition, int64_t offset)
{
	sender_job *j = calloc(1, sizeof(*j));

	ck_assert_ptr_nonnull(j);
	snprintf(j->req.external_id, sizeof(j->req.external_id), "%s", id);
	snprintf(j->ref, sizeof(j->ref), "%s", id);
	j->partition = partition;
	j->offset = offset;
	return j;
}

START_TEST(test_one_active_per_id)
{
	sender_jobs t;
	sender_job *a1 = job("a", 0, 1), *b = job("b", 0, 2), *a2 = job("a", 0, 3),
		   *a3 = job("a", 1, 4), *nx;

	sender_jobs_init(&t);
	ck_assert_int_eq(sender_jobs_add(&t, a1, 100), 1);
	ck_assert_int_eq(sender_jobs_add(&t, b, 100), 1);
	ck_assert_int_eq(sender_jobs_add(&t, a2, 100), 0);
	ck_assert_int_eq(sender_jobs_add(&t, a3, 100), 0);
	ck_assert_int_eq(t.count, 4);
	ck_assert_ptr_eq(sender_jobs_active(&t, "a"), a1);
	ck_assert_ptr_eq(sender_jobs_active(&t, "b"), b);
	ck_assert_ptr_null(sender_jobs_active(&t, "c"));
	ck_assert_int_eq(a2->state, SENDER_JOB_WAITING);
	/* consumption order */
	ck_assert_ptr_eq(t.head, a1);
	ck_assert_ptr_eq(t.head->next, b);
	ck_assert_ptr_eq(t.tail, a3);

	/* releasing the active job promotes the next of the same id, due now */
	nx = sender_jobs_release(&t, a1, 500);
	ck_assert_ptr_eq(nx, a2);
	ck_assert_int_eq(a2->state, SENDER_JOB_READY);
	ck_assert_int_eq(a2->due_ms, 500);
	ck_assert_int_eq(a2->first_ms, 500);
	ck_assert_ptr_eq(sender_jobs_active(&t, "a"), a2);
	nx = sender_jobs_release(&t, a2, 600);
	ck_assert_ptr_eq(nx, a3);
	ck_assert_ptr_null(sender_jobs_release(&t, a3, 700));
	ck_assert_ptr_null(sender_jobs_active(&t, "a"));
	ck_assert_int_eq(t.count, 1);
	sender_jobs_free(&t);
	ck_assert_int_eq(t.count, 0);
	ck_assert_ptr_null(t.head);
}
END_TEST

/* The same externalId of two tenants: two notifications, each with its own active job. */
START_TEST(test_tenants_apart)
{
	sender_jobs t;
	sender_job *a = job("n-1", 0, 1), *b = job("n-1", 0, 2);

	snprintf(a->ref, sizeof(a->ref), "acme:n-1");
	snprintf(b->ref, sizeof(b->ref), "globex:n-1");
	sender_jobs_init(&t);
	ck_assert_int_eq(sender_jobs_add(&t, a, 0), 1);
	ck_assert_int_eq(sender_jobs_add(&t, b, 0), 1);
	ck_assert_ptr_eq(sender_jobs_active(&t, "acme:n-1"), a);
	ck_assert_ptr_eq(sender_jobs_active(&t, "globex:n-1"), b);
	sender_jobs_free(&t);
}
END_TEST

START_TEST(test_forget_partition)
{
	sender_jobs t;
	sender_job *p0 = job("x", 0, 1), *p1http = job("y", 1, 1), *p1wait = job("y", 1, 2),
		   *p1ready = job("z", 1, 3), *p1prod = job("w", 1, 4);
	int32_t one = 1, zero = 0, two = 2;

	sender_jobs_init(&t);
	sender_jobs_add(&t, p0, 0);
	sender_jobs_add(&t, p1http, 0);
	sender_jobs_add(&t, p1wait, 0);
	sender_jobs_add(&t, p1ready, 0);
	sender_jobs_add(&t, p1prod, 0);
	p1http->state = SENDER_JOB_HTTP;
	p1prod->state = SENDER_JOB_PRODUCING;
	ck_assert(sender_jobs_busy(&t, &one, 1));
	ck_assert(!sender_jobs_busy(&t, &two, 1));

	ck_assert_int_eq(sender_jobs_forget_partition(&t, 1), 4);
	/* in flight: kept, abandoned, no longer active; the rest freed */
	ck_assert_int_eq(t.count, 3);
	ck_assert(p1http->abandoned);
	ck_assert(p1prod->abandoned);
	ck_assert(!p1http->active);
	ck_assert_ptr_null(sender_jobs_active(&t, "y"));
	ck_assert_ptr_null(sender_jobs_active(&t, "z"));
	ck_assert_ptr_eq(sender_jobs_active(&t, "x"), p0);
	ck_assert(!sender_jobs_busy(&t, &one, 1)); /* abandoned jobs do not count */
	ck_assert(sender_jobs_busy(&t, &zero, 1));
	/* a second forget leaves the abandoned alone */
	ck_assert_int_eq(sender_jobs_forget_partition(&t, 1), 0);
	/* an abandoned job's callback releases it without promoting anything */
	ck_assert_ptr_null(sender_jobs_release(&t, p1http, 0));
	ck_assert_ptr_null(sender_jobs_release(&t, p1prod, 0));
	ck_assert_int_eq(t.count, 1);
	/* a new job of a forgotten id becomes active at once */
	ck_assert_int_eq(sender_jobs_add(&t, job("y", 1, 9), 0), 1);
	sender_jobs_free(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sender_jobs");
	TCase *tc = tcase_create("jobs");

	tcase_add_test(tc, test_one_active_per_id);
	tcase_add_test(tc, test_forget_partition);
	tcase_add_test(tc, test_tenants_apart);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
