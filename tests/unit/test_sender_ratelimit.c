/* test_sender_ratelimit.c -- unit tests of sender/ratelimit.c with an injected clock:
 * unlimited by default, a burst of one second's tokens, refill over time, per-channel
 * rates from the environment, and bad numbers refused. */
#include "../../sender/ratelimit.h"

#include "ns_config.h"
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

/* The rates come through the configuration table: SENDER_RATE, and the SENDER_RATE_<CHANNEL>
 * family (environment or --rate-<channel> flags). */
static const char *default_rate;
static ns_opt_family rates;
static const ns_opt rate_opts[] = {
    {"SENDER_RATE", "rate", NS_OPT_STR, "0", 0, 0, "default rate", &default_rate},
    {"SENDER_RATE_", "rate-", NS_OPT_FAMILY, NULL, 0, 0, "per-channel rates", &rates},
};
static const ns_cli rate_cli = {"test", "rates", rate_opts, 2};

static int configure(sender_ratelimit *rl, int argc, char **argv)
{
	char err[128];

	sender_ratelimit_init(rl, 0);
	if (ns_config_load(&rate_cli, argc, argv, err, sizeof(err)) != NS_CONFIG_OK)
		return -1;
	return sender_ratelimit_configure(rl, default_rate, &rates, err, sizeof(err));
}

START_TEST(test_from_env)
{
	char *argv[] = {"test", NULL};
	char *flags[] = {"test", "--rate-sms=fast", NULL};
	sender_ratelimit rl;

	setenv("SENDER_RATE", "1", 1);
	setenv("SENDER_RATE_SMS", "2", 1);
	setenv("SENDER_RATE_WHATSAPP", "0", 1);
	setenv("SENDER_RATE_", "5", 1); /* no channel name: ignored */
	ck_assert_int_eq(configure(&rl, 1, argv), 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 0), 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 0), 0);
	ck_assert(sender_ratelimit_take(&rl, "sms", 0) > 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "whatsapp", 0), 0);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "whatsapp", 0), 0);
	/* the default (SENDER_RATE=1) applies to other channels */
	ck_assert_int_eq(sender_ratelimit_take(&rl, "email", 0), 0);
	ck_assert(sender_ratelimit_take(&rl, "email", 0) > 0);
	/* a flag overrides the environment; a bad rate is refused */
	ck_assert_int_eq(configure(&rl, 2, flags), -1);
	setenv("SENDER_RATE_SMS", "fast", 1);
	ck_assert_int_eq(configure(&rl, 1, argv), -1);
	setenv("SENDER_RATE_SMS", "2", 1);
	setenv("SENDER_RATE", "-3", 1);
	ck_assert_int_eq(configure(&rl, 1, argv), -1);
	unsetenv("SENDER_RATE");
	unsetenv("SENDER_RATE_SMS");
	unsetenv("SENDER_RATE_WHATSAPP");
	unsetenv("SENDER_RATE_");
}
END_TEST

START_TEST(test_flag_sets_channel_rate)
{
	char *flags[] = {"test", "--rate-sms=1", "--rate-push", "3", NULL};
	sender_ratelimit rl;

	ck_assert_int_eq(configure(&rl, 4, flags), 0);
	ck_assert_int_eq(rates.n, 2);
	ck_assert_int_eq(sender_ratelimit_take(&rl, "sms", 0), 0);
	ck_assert(sender_ratelimit_take(&rl, "sms", 0) > 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sender_ratelimit_take(&rl, "push", 0), 0);
	ck_assert(sender_ratelimit_take(&rl, "push", 0) > 0);
	/* not a channel name */
	char *bad[] = {"test", "--rate-SMS!=1", NULL};
	ck_assert_int_eq(configure(&rl, 2, bad), -1);
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
	tcase_add_test(tc, test_flag_sets_channel_rate);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
