/* test_sender_ratelimit.c -- unit tests of sender/ratelimit.c with an injected clock:
 * unlimited by default, a burst of one second's tokens, refill over time, per-channel
 * rates from the environment, and bad numbers refused. */
#include "../../sender/ratelimit.h"

#include "nt.h"

#include <check.h>
#include <stdlib.h>

START_TEST(test_unlimited)
{
	sender_ratelimit rl;
	int i;

	sender_ratelimit_init(&rl, 0);
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 1000), 0);
}
END_TEST

START_TEST(test_burst_and_refill)
{
	sender_ratelimit rl;
	int64_t wait;
	int i;

	sender_ratelimit_init(&rl, 10); /* 10/s, burst 10 */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 5000), 0);
	wait = sender_ratelimit_take(&rl, "sms", 5000);
	ck_assert(wait >= 90 && wait <= 101);
	/* nothing was taken: still empty at the same instant */
	ck_assert(sender_ratelimit_take(&rl, "sms", 5000) > 0);
	/* 100 ms later one token is back, exactly one */
	ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 5100), 0);
	ck_assert(sender_ratelimit_take(&rl, "sms", 5100) > 0);
	/* a long pause refills only up to the burst */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 100000), 0);
	ck_assert(sender_ratelimit_take(&rl, "sms", 100000) > 0);
	/* channels are independent */
	ck_assert_int_eq(sender_ratelimit_take(&rl, "whatsapp", 100000), 0);
}
END_TEST

START_TEST(test_slow_rate)
{
	sender_ratelimit rl;

	sender_ratelimit_init(&rl, 0);
	ck_assert_int_eq(sender_ratelimit_set(&rl, "sms", 0.5), 0); /* one every 2 s */
	ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 0), 0);
	ck_assert(sender_ratelimit_take(&rl, "sms", 0) >= 1999);
	ck_assert(sender_ratelimit_take(&rl, "sms", 1000) > 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 2000), 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "whatsapp", 0), 0); /* unlimited */
}
END_TEST

START_TEST(test_from_env)
{
	char *env[] = {"PATH=/bin", "SENDER_RATE_SMS=2", "SENDER_RATE_WHATSAPP=0", "SENDER_RATE_=5",
		       NULL};
	char *bad[] = {"SENDER_RATE_SMS=fast", NULL};
	char err[128];
	sender_ratelimit rl;

	setenv("SENDER_RATE", "1", 1);
	sender_ratelimit_init(&rl, 0);
	ck_assert_int_eq(sender_ratelimit_from_env(&rl, env, err, sizeof(err)), 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 0), 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 0), 0);
	ck_assert(sender_ratelimit_take(&rl, "sms", 0) > 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "whatsapp", 0), 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "whatsapp", 0), 0);
	/* the default (SENDER_RATE=1) applies to other channels */
	ck_assert_int_eq(sender_ratelimit_take(&rl, "email", 0), 0);
	ck_assert(sender_ratelimit_take(&rl, "email", 0) > 0);
	sender_ratelimit_init(&rl, 0);
	ck_assert_int_eq(sender_ratelimit_from_env(&rl, bad, err, sizeof(err)), -1);
	setenv("SENDER_RATE", "-3", 1);
	ck_assert_int_eq(sender_ratelimit_from_env(&rl, env, err, sizeof(err)), -1);
	unsetenv("SENDER_RATE");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sender_ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_unlimited);
	tcase_add_test(tc, test_burst_and_refill);
	tcase_add_test(tc, test_slow_rate);
	tcase_add_test(tc, test_from_env);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
