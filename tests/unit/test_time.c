/* test_time.c -- unit tests of ns_time: the strict ISO 8601 UTC parser and formatter
 * (valid forms, leap days, invalid dates, offsets refused, round trips), the clocks and
 * the monotonic deadlines. */
#include "ns_time.h"

#include "nt.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *text;
	int64_t ms;
} valid[] = {
    {"1970-01-01T00:00:00.000Z", 0},
    {"1970-01-01T00:00:00Z", 0},
    {"1970-01-01T00:00:01.5Z", 1500},
    {"1970-01-01T00:00:00.123456789Z", 123},
    {"1970-01-01T00:00:00.999Z", 999},
    {"2025-03-01T12:00:00.000Z", 1740830400000LL},
    {"2025-03-01T12:00:00.123Z", 1740830400123LL},
    {"2000-02-29T00:00:00.000Z", 951782400000LL},  /* 400-year leap */
    {"2024-02-29T23:59:59.999Z", 1709251199999LL}, /* ordinary leap */
    {"1999-12-31T23:59:59.000Z", 946684799000LL},
    {"2038-01-19T03:14:08.000Z", 2147483648000LL}, /* past 32-bit time_t */
    {"2100-03-01T00:00:00.000Z", 4107542400000LL},
    /* RFC 3339 offsets, normalised to UTC */
    {"2025-03-01T12:00:00.000+00:00", 1740830400000LL},
    {"2025-03-01T12:00:00.000-00:00", 1740830400000LL},
    {"2025-03-01T13:00:00.000+01:00", 1740830400000LL},
    {"2025-03-01T07:00:00.000-05:00", 1740830400000LL},
    {"2025-03-01T17:45:00.123+05:45", 1740830400123LL},
    {"2025-03-01T00:30:00+12:30", 1740830400000LL - 86400000LL}, /* 2025-02-28T12:00Z */
    {"2025-03-02T00:00:00.000+12:00", 1740830400000LL},		 /* the day before in UTC */
    {"2025-02-28T23:00:00.000-13:00", 1740830400000LL},		 /* the day after in UTC */
    {"2025-03-01t12:00:00.000z", 1740830400000LL},		 /* lowercase t and z */
    {"1970-01-01T01:00:00+01:00", 0},
};

static const char *const invalid[] = {
    "",
    "2025",
    "2025-03-01",
    "2025-03-01T12:00:00",	    /* no zone */
    "2025-03-01T12:00:00.000+0000", /* offset without its colon */
    "2025-03-01T12:00:00.000+01",
    "2025-03-01T12:00:00.000+24:00",
    "2025-03-01T12:00:00.000+01:60",
    "2025-03-01T12:00:00.000+01:00Z",
    "1970-01-01T00:30:00+01:00", /* before the epoch once normalised */
    "2025-03-01 12:00:00.000Z",
    "2025-03-01T12:00:00.Z",	       /* empty fraction */
    "2025-03-01T12:00:00.0000000000Z", /* 10 fraction digits */
    "2025-03-01T12:00:00.000Z ",
    " 2025-03-01T12:00:00.000Z",
    "2025-03-01T12:00:00.000ZZ",
    "2023-02-29T00:00:00.000Z", /* not a leap year */
    "1900-02-29T00:00:00.000Z", /* century, not a leap year */
    "2100-02-29T00:00:00.000Z",
    "2025-04-31T00:00:00.000Z",
    "2025-13-01T00:00:00.000Z",
    "2025-00-01T00:00:00.000Z",
    "2025-01-00T00:00:00.000Z",
    "2025-01-32T00:00:00.000Z",
    "2025-01-01T24:00:00.000Z",
    "2025-01-01T23:60:00.000Z",
    "2025-01-01T23:59:60.000Z", /* leap seconds are not representable */
    "1969-12-31T23:59:59.999Z", /* before the epoch */
    "25-03-01T12:00:00.000Z",
    "2025-3-01T12:00:00.000Z",
    "2025-03-01T1:00:00.000Z",
    "2025-03-01T12:00:00.-12Z",
    "+2025-03-01T12:00:00.000Z",
    "abcd-ef-ghTij:kl:mn.opqZ",
};

START_TEST(test_parse_valid)
{
	int64_t ms = -1;

	ck_assert_msg(ns_time_parse(valid[_i].text, &ms) == 0, "%s refused", valid[_i].text);
	ck_assert_msg(ms == valid[_i].ms, "%s -> %lld, want %lld", valid[_i].text, (long long)ms,
		      (long long)valid[_i].ms);
}
END_TEST

START_TEST(test_parse_invalid)
{
	int64_t ms = 42;

	ck_assert_msg(ns_time_parse(invalid[_i], &ms) == -1, "\"%s\" accepted", invalid[_i]);
	ck_assert_int_eq(ms, 42); /* untouched on error */
}
END_TEST

START_TEST(test_parse_null)
{
	int64_t ms = 7;
	ck_assert_int_eq(ns_time_parse(NULL, &ms), -1);
	ck_assert_int_eq(ms, 7);
}
END_TEST

START_TEST(test_format)
{
	char out[NS_TIME_ISO_LEN];

	ck_assert_str_eq(ns_time_format(0, out), "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(ns_time_format(1740830400123LL, out), "2025-03-01T12:00:00.123Z");
	ck_assert_str_eq(ns_time_format(951782400007LL, out), "2000-02-29T00:00:00.007Z");
	ck_assert_str_eq(ns_time_format(2147483648000LL, out), "2038-01-19T03:14:08.000Z");
	ck_assert_ptr_eq(ns_time_format(5, out), out);
	ck_assert_uint_eq(strlen(out), NS_TIME_ISO_LEN - 1);
}
END_TEST

/* format then parse gives the same ms, across days, leap days and years */
START_TEST(test_round_trip)
{
	char out[NS_TIME_ISO_LEN];
	int64_t ms, back;

	for (ms = 0; ms < 4200LL * 86400000LL * 12; ms += 86400000LL * 3 + 3600007LL) {
		ns_time_format(ms, out);
		ck_assert_msg(ns_time_parse(out, &back) == 0, "%s refused", out);
		ck_assert_msg(back == ms, "%lld -> %s -> %lld", (long long)ms, out,
			      (long long)back);
	}
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		ns_time_format(valid[i].ms, out);
		ck_assert_int_eq(ns_time_parse(out, &back), 0);
		ck_assert_int_eq(back, valid[i].ms);
	}
}
END_TEST

/* The libc way, which ns_time_format replaced: gmtime_r and snprintf. */
static void format_libc(int64_t ms, char out[NS_TIME_ISO_LEN])
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;
	char wide[96];

	ck_assert_ptr_nonnull(gmtime_r(&secs, &tm));
	snprintf(wide, sizeof(wide), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	memcpy(out, wide, NS_TIME_ISO_LEN - 1);
	out[NS_TIME_ISO_LEN - 1] = '\0';
}

/* The hand-written formatter agrees with libc's gmtime_r, character for character: every
 * day boundary around the epoch and the leap days, and a million random instants from
 * year 0 to past 9999 (where both cut the text to its width). */
START_TEST(test_format_like_libc)
{
	static const int64_t fixed[] = {0,
					-1,
					-999,
					-1000,
					-1001,
					-86400000LL,
					-86400001LL,
					86399999LL,
					951782399999LL,	   /* 2000-02-28T23:59:59.999Z */
					4107542400000LL,   /* 2100-03-01 */
					253402300799999LL, /* 9999-12-31T23:59:59.999Z */
					253402300800000LL, /* 10000-01-01 */
					-62167219200000LL, /* 0000-01-01 */
					-62167219200001LL};
	char a[NS_TIME_ISO_LEN], b[NS_TIME_ISO_LEN];
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		ns_time_format(fixed[i], a);
		format_libc(fixed[i], b);
		ck_assert_msg(strcmp(a, b) == 0, "%lld: %s, libc %s", (long long)fixed[i], a, b);
	}
	for (int i = 0; i < 1000000; i++) {
		int64_t ms;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* -62167219200000 .. about 2.6e14: year 0 to 10200 */
		ms = (int64_t)(x % 325000000000000ULL) - 62167219200000LL;
		ns_time_format(ms, a);
		format_libc(ms, b);
		ck_assert_msg(strcmp(a, b) == 0, "%lld: %s, libc %s", (long long)ms, a, b);
	}
}
END_TEST

START_TEST(test_clocks)
{
	int64_t a = ns_time_mono_ms(), b = ns_time_mono_ms();

	ck_assert_int_ge(b, a);
	/* after 2025-01-01: the wall clock is in milliseconds, not seconds */
	ck_assert_int_gt(ns_time_now_ms(), 1735689600000LL);
}
END_TEST

/* Deadlines: normalised for every millisecond remainder, the distance asked for (to the
 * clock's own drift between two reads), passed at once for 0 and not for a minute. */
START_TEST(test_deadlines)
{
	pthread_cond_t cv;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct timespec now, d;

	for (int64_t ms = 0; ms < 3000; ms += 7) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		d = ns_time_mono_deadline(ms);
		ck_assert_int_ge(d.tv_nsec, 0);
		ck_assert_int_lt(d.tv_nsec, 1000000000L);
		int64_t gap_ns = ((int64_t)d.tv_sec - now.tv_sec) * 1000000000LL +
				 (d.tv_nsec - now.tv_nsec) - ms * 1000000LL;
		ck_assert_int_ge(gap_ns, 0);
		ck_assert_int_lt(gap_ns, 1000000000LL);
	}
	d = ns_time_mono_deadline(0);
	ck_assert(ns_time_mono_passed(&d));
	d = ns_time_mono_deadline(60000);
	ck_assert(!ns_time_mono_passed(&d));
	/* a condition variable on the same clock times out at such a deadline */
	ck_assert_int_eq(ns_time_cond_init(&cv), 0);
	d = ns_time_mono_deadline(20);
	pthread_mutex_lock(&mu);
	ck_assert_int_eq(pthread_cond_timedwait(&cv, &mu, &d), ETIMEDOUT);
	pthread_mutex_unlock(&mu);
	ck_assert(ns_time_mono_passed(&d));
	pthread_cond_destroy(&cv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("time");
	TCase *tc = tcase_create("time");

	tcase_add_loop_test(tc, test_parse_valid, 0, (int)(sizeof(valid) / sizeof(valid[0])));
	tcase_add_loop_test(tc, test_parse_invalid, 0, (int)(sizeof(invalid) / sizeof(invalid[0])));
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_format_like_libc);
	tcase_add_test(tc, test_clocks);
	tcase_add_test(tc, test_deadlines);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
