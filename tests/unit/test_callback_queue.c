/* test_callback_queue.c -- unit tests of the callback worker's queue (callbacks/queue.c)
 * and secrets file (callbacks/secrets.c): one notification's deliveries go one at a time
 * in order, due times are honoured, a busy host holds only its own deliveries, a revoke
 * drops exactly one partition's. */
#include "callbacks/queue.h"
#include "callbacks/secrets.h"

#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cb_delivery *mk(int32_t part, int64_t off, const char *ref, const char *url, int64_t version,
		       int64_t now)
{
	char id[NS_EVENT_ID_LEN + 1];
	cb_delivery *d;

	snprintf(id, sizeof(id), "%032lld", (long long)(part * 1000000 + off));
	d = cb_delivery_new(part, off, ref, url, id, version, "{}", 2, now);
	ck_assert_ptr_nonnull(d);
	return d;
}

START_TEST(test_order_per_notification)
{
	cb_queue *q = cb_queue_new(8);
	cb_delivery *a1 = mk(0, 1, "t:a", "http://h1/", 1, 0),
		    *a2 = mk(0, 2, "t:a", "http://h1/", 2, 0),
		    *b1 = mk(0, 3, "t:b", "http://h1/", 1, 0), *t;

	ck_assert_int_eq(cb_queue_add(q, a1, 0), 0);
	ck_assert_int_eq(cb_queue_add(q, a2, 0), 0);
	ck_assert_int_eq(cb_queue_add(q, b1, 0), 0);
	ck_assert_uint_eq(cb_queue_len(q), 3);
	t = cb_queue_take(q, 0);
	ck_assert_ptr_eq(t, a1);
	ck_assert_ptr_eq(cb_queue_take(q, 0), b1); /* a2 waits behind a1 */
	ck_assert_ptr_null(cb_queue_take(q, 0));
	ck_assert_int_eq(a2->state, CB_WAITING);
	/* a1 fails: retried at 100; a2 still waits */
	cb_queue_retry(q, a1, 100);
	ck_assert_ptr_null(cb_queue_take(q, 99));
	ck_assert_int_eq(cb_queue_next_due(q), 100);
	ck_assert_ptr_eq(cb_queue_take(q, 100), a1);
	ck_assert_int_eq(a1->attempt, 0); /* attempts are counted by the worker */
	cb_queue_finish(q, a1, 150);
	ck_assert_ptr_eq(cb_queue_take(q, 150), a2);
	cb_queue_finish(q, a2, 160);
	cb_queue_finish(q, b1, 170);
	ck_assert_uint_eq(cb_queue_len(q), 0);
	ck_assert_uint_eq(cb_queue_in_flight(q), 0);
	ck_assert_int_eq(cb_queue_oldest(q), -1);
	cb_delivery_free(a1);
	cb_delivery_free(a2);
	cb_delivery_free(b1);
	cb_queue_free(q);
}
END_TEST

START_TEST(test_per_host_bound)
{
	cb_queue *q = cb_queue_new(2);
	cb_delivery *slow[4], *fast;
	char ref[16];

	for (int i = 0; i < 4; i++) {
		snprintf(ref, sizeof(ref), "t:s%d", i);
		slow[i] = mk(0, i, ref, "https://slow.example/cb", 1, 0);
		ck_assert_int_eq(cb_queue_add(q, slow[i], 0), 0);
	}
	fast = mk(0, 9, "t:f", "https://fast.example/cb", 1, 0);
	ck_assert_int_eq(cb_queue_add(q, fast, 0), 0);
	/* two of the slow host, then the fast one: the rest of slow waits for its host */
	ck_assert_ptr_nonnull(cb_queue_take(q, 0));
	ck_assert_ptr_nonnull(cb_queue_take(q, 0));
	ck_assert_ptr_eq(cb_queue_take(q, 0), fast);
	ck_assert_ptr_null(cb_queue_take(q, 0));
	ck_assert_uint_eq(cb_queue_in_flight(q), 3);
	ck_assert_int_eq(slow[2]->state, CB_HOST_BUSY);
	/* a slow attempt ends: the next of that host gets its slot */
	cb_queue_finish(q, slow[0], 10);
	ck_assert_ptr_eq(cb_queue_take(q, 10), slow[2]);
	cb_queue_retry(q, slow[1], 1000); /* frees a slot for slow[3] */
	ck_assert_ptr_eq(cb_queue_take(q, 11), slow[3]);
	ck_assert_ptr_null(cb_queue_take(q, 999));
	ck_assert_int_eq(cb_queue_oldest(q), 0);
	for (int i = 0; i < 4; i++)
		cb_delivery_free(slow[i]);
	cb_delivery_free(fast);
	cb_queue_free(q);
}
END_TEST

static int dropped;

static void count_drop(void *ctx, cb_delivery *d)
{
	(void)ctx;
	ck_assert_int_eq(d->partition, 1);
	dropped++;
	cb_delivery_free(d);
}

START_TEST(test_drop_partition)
{
	cb_queue *q = cb_queue_new(1);
	cb_delivery *p0 = mk(0, 1, "t:x", "http://h/", 1, 0),
		    *p1a = mk(1, 1, "t:y", "http://h/", 1, 0),
		    *p1b = mk(1, 2, "t:y", "http://h/", 2, 0),
		    *p1c = mk(1, 3, "t:z", "http://h/", 1, 0);

	ck_assert_int_eq(cb_queue_add(q, p1a, 0), 0);
	ck_assert_int_eq(cb_queue_add(q, p1b, 0), 0);
	ck_assert_int_eq(cb_queue_add(q, p0, 0), 0);
	ck_assert_int_eq(cb_queue_add(q, p1c, 0), 0);
	ck_assert_ptr_eq(cb_queue_take(q, 0), p1a); /* holds the host's only slot */
	ck_assert_ptr_null(cb_queue_take(q, 0));    /* p0 and p1c wait for the host */
	dropped = 0;
	ck_assert_uint_eq(cb_queue_drop(q, 1, count_drop, NULL), 3);
	ck_assert_int_eq(dropped, 3);
	ck_assert_uint_eq(cb_queue_len(q), 1);
	ck_assert_uint_eq(cb_queue_in_flight(q), 0);
	/* the freed slot went to p0 */
	ck_assert_ptr_eq(cb_queue_take(q, 0), p0);
	cb_queue_finish(q, p0, 1);
	ck_assert_uint_eq(cb_queue_len(q), 0);
	cb_delivery_free(p0);
	cb_queue_free(q);
}
END_TEST

START_TEST(test_many)
{
	cb_queue *q = cb_queue_new(4);
	enum { N = 3000 };
	cb_delivery **d = calloc(N, sizeof(*d));
	int64_t last_version[100] = {0};
	int taken = 0;
	char ref[16], url[64];

	for (int i = 0; i < N; i++) {
		snprintf(ref, sizeof(ref), "t:n%d", i % 100);
		snprintf(url, sizeof(url), "http://host%d.example/", i % 7);
		d[i] = mk(0, i, ref, url, i / 100 + 1, 0);
		ck_assert_int_eq(cb_queue_add(q, d[i], 0), 0);
	}
	/* finish everything as it is taken: each notification's versions come in order */
	for (int64_t now = 0; cb_queue_len(q) > 0; now++) {
		cb_delivery *t;
		while ((t = cb_queue_take(q, now)) != NULL) {
			int n = (int)(t->offset % 100);
			/* the next version of its notification, or a retry of the current */
			ck_assert_int_eq(t->version, last_version[n] + 1);
			if (t->offset % 5 == 0 && t->attempt == 0) {
				t->attempt = 1; /* fail once */
				cb_queue_retry(q, t, now + 3);
			} else {
				last_version[n] = t->version;
				cb_queue_finish(q, t, now);
				taken++;
			}
		}
	}
	ck_assert_int_eq(taken, N);
	for (int i = 0; i < N; i++)
		cb_delivery_free(d[i]);
	free(d);
	cb_queue_free(q);
}
END_TEST

START_TEST(test_delivery_new_refuses)
{
	ck_assert_ptr_null(cb_delivery_new(0, 0, "t:x", "ftp://h/", "0", 1, "{}", 2, 0));
	ck_assert_ptr_null(cb_delivery_new(0, 0, "t:x", "http://h/",
					   "0123456789abcdef0123456789abcdef0", 1, "{}", 2, 0));
}
END_TEST

START_TEST(test_secrets)
{
	const char *dir = nt_tmpdir("cb-secrets");
	char path[512], err[256];
	FILE *f;
	cb_secrets *s;

	snprintf(path, sizeof(path), "%s/secrets", dir);
	f = fopen(path, "w");
	fputs("# tenant secret\n\nacme  acme-secret-0123456789\nglobex\tglobex-secret-abcdefgh\n",
	      f);
	fclose(f);
	s = cb_secrets_load(path, "fallback-secret-0123", err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_uint_eq(cb_secrets_count(s), 2);
	ck_assert_str_eq(cb_secrets_get(s, "acme"), "acme-secret-0123456789");
	ck_assert_str_eq(cb_secrets_get(s, "globex"), "globex-secret-abcdefgh");
	ck_assert_str_eq(cb_secrets_get(s, "other"), "fallback-secret-0123");
	cb_secrets_free(s);
	s = cb_secrets_load(path, NULL, err, sizeof(err));
	ck_assert_ptr_null(cb_secrets_get(s, "other"));
	cb_secrets_free(s);
	/* refused: a short secret, three words, a bad tenant, a short fallback, no file */
	static const char *const bad[] = {"acme short\n", "acme a-long-enough-secret extra\n",
					  "Acme a-long-enough-secret\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		err[0] = '\0';
		ck_assert_ptr_null(cb_secrets_load(path, NULL, err, sizeof(err)));
		ck_assert_msg(strstr(err, "line 1") != NULL, "%s", err);
	}
	ck_assert_ptr_null(cb_secrets_load(NULL, "short", err, sizeof(err)));
	ck_assert_ptr_null(cb_secrets_load("/nonexistent/secrets", NULL, err, sizeof(err)));
	s = cb_secrets_load(NULL, NULL, err, sizeof(err)); /* none at all is allowed */
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(cb_secrets_get(s, "acme"));
	cb_secrets_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("callback_queue");
	TCase *tc = tcase_create("callback_queue");

	tcase_add_test(tc, test_order_per_notification);
	tcase_add_test(tc, test_per_host_bound);
	tcase_add_test(tc, test_drop_partition);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_delivery_new_refuses);
	tcase_add_test(tc, test_secrets);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
