/* test_check.c -- unit tests of the shared checks (common/ns_check.c) and string
 * utilities (common/ns_str.c): one table per rule, edges of every bound, embedded NULs. */
#include "ns_check.h"
#include "ns_str.h"

#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

typedef struct {
	const char *s;
	int want;
} text_case;

static void check_table(int (*fn)(const char *, size_t), const text_case *c, size_t n,
			const char *what)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fn(c[i].s, strlen(c[i].s)) == c[i].want, "%s('%s'): want %d", what,
			      c[i].s, c[i].want);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_name)
{
	static const text_case cases[] = {
	    {"sms", 1},
	    {"whatsapp", 1},
	    {"a", 1},
	    {"a1_-z", 1},
	    {"", 0},
	    {"1sms", 0},
	    {"-sms", 0},
	    {"Sms", 0},
	    {"sms!", 0},
	    {"s ms", 0},
	    {"d\xc3\xa9j\xc3\xa0", 0},
	    {"abcdefghijklmnopqrstuvwxyz012345", 1}, /* 32: the longest */
	    {"abcdefghijklmnopqrstuvwxyz0123456", 0},
	};
	check_table(ns_check_name, cases, N(cases), "name");
	ck_assert(!ns_check_name("sms\0x", 5));
	ck_assert(!ns_check_name(NULL, 0));
}
END_TEST

START_TEST(test_e164)
{
	static const text_case cases[] = {
	    {"+4915112345678", 1},
	    {"+12345678", 1},	     /* 8 digits: the shortest */
	    {"+123456789012345", 1}, /* 15 digits: the longest */
	    {"+1234567", 0},
	    {"+1234567890123456", 0},
	    {"+04915112345678", 0},
	    {"4915112345678", 0},
	    {"+", 0},
	    {"", 0},
	    {"+49 151 1234567", 0},
	    {"+4915112345678x", 0},
	    {"++4915112345678", 0},
	};
	check_table(ns_check_e164, cases, N(cases), "e164");
	ck_assert(!ns_check_e164("+4915112345678\0", 15));
}
END_TEST

START_TEST(test_hex_printable_text)
{
	ck_assert(ns_check_hex("0123456789abcdef", 16, 16));
	ck_assert(!ns_check_hex("0123456789abcdeF", 16, 16));
	ck_assert(!ns_check_hex("0123456789abcde", 15, 16));
	ck_assert(!ns_check_hex("0123456789abcdeg", 16, 16));
	ck_assert(ns_check_printable("!~", 2, 8));
	ck_assert(!ns_check_printable("a b", 3, 8));
	ck_assert(!ns_check_printable("", 0, 8));
	ck_assert(!ns_check_printable("abcdefghi", 9, 8));
	ck_assert(ns_check_printable("abcdefgh", 8, 8));
	ck_assert(!ns_check_printable("a\x7f", 2, 8));
	ck_assert(ns_check_text("", 0));
	ck_assert(ns_check_text("caf\xc3\xa9 au lait", 13));
	ck_assert(!ns_check_text("a\tb", 3));
	ck_assert(!ns_check_text("a\0b", 3));
	ck_assert(!ns_check_text("a\x7f", 2));
}
END_TEST

START_TEST(test_str_hex_roundtrip)
{
	const unsigned char bin[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xab};
	unsigned char back[8];
	char hex[16];

	ck_assert_int_eq(ns_str_hex_encode(bin, sizeof(bin), hex, sizeof(hex)), 12);
	ck_assert_str_eq(hex, "00017f80ffab");
	ck_assert_int_eq(ns_str_hex_decode(hex, 12, back, sizeof(back)), 6);
	ck_assert(memcmp(bin, back, 6) == 0);
	ck_assert_int_eq(ns_str_hex_decode("00017F80FFAB", 12, back, sizeof(back)), 6);
	ck_assert(memcmp(bin, back, 6) == 0);
	/* no room for 2n + 1: refused, out emptied */
	ck_assert_int_eq(ns_str_hex_encode(bin, sizeof(bin), hex, 12), -1);
	ck_assert_str_eq(hex, "");
	ck_assert_int_eq(ns_str_hex_decode("abc", 3, back, sizeof(back)), -1);
	ck_assert_int_eq(ns_str_hex_decode("zz", 2, back, sizeof(back)), -1);
	ck_assert_int_eq(ns_str_hex_decode("0011223344556677ff", 18, back, sizeof(back)), -1);
}
END_TEST

START_TEST(test_str_to_i64)
{
	static const struct {
		const char *s;
		int64_t min, max;
		int ok;
		int64_t want;
	} cases[] = {
	    {"0", 0, 10, 1, 0},
	    {"10", 0, 10, 1, 10},
	    {"11", 0, 10, 0, 0},
	    {"-1", 0, 10, 0, 0},
	    {"-5", -10, 10, 1, -5},
	    {"9223372036854775807", 0, INT64_MAX, 1, INT64_MAX},
	    {"9223372036854775808", 0, INT64_MAX, 0, 0},
	    {"", 0, 10, 0, 0},
	    {" 1", 0, 10, 0, 0},
	    {"1 ", 0, 10, 0, 0},
	    {"1x", 0, 10, 0, 0},
	    {"0x1", 0, 10, 0, 0},
	};
	for (size_t i = 0; i < N(cases); i++) {
		int64_t v = 42;
		int rc = ns_str_to_i64(cases[i].s, cases[i].min, cases[i].max, &v);
		ck_assert_msg((rc == 0) == cases[i].ok, "'%s': rc %d", cases[i].s, rc);
		ck_assert_msg(cases[i].ok ? v == cases[i].want : v == 42, "'%s': value %lld",
			      cases[i].s, (long long)v);
	}
	ck_assert_int_eq(ns_str_to_i64(NULL, 0, 1, &(int64_t){0}), -1);
}
END_TEST

START_TEST(test_str_hash)
{
	/* FNV-1a 64 reference values */
	ck_assert(ns_str_hash("") == 0xcbf29ce484222325ULL);
	ck_assert(ns_str_hash("a") == 0xaf63dc4c8601ec8cULL);
	ck_assert(ns_str_hash("foobar") == 0x85944171f73967e8ULL);
}
END_TEST

/* The decimal text agrees with printf's, at the edges and for random values. */
START_TEST(test_str_from_i64)
{
	static const int64_t edges[] = {0,
					1,
					-1,
					9,
					10,
					-10,
					99,
					100,
					INT64_MAX,
					INT64_MIN,
					INT64_MIN + 1,
					INT64_MAX - 1,
					1000000000000000000LL};
	char got[NS_STR_I64_MAX + 1], want[32];
	uint64_t x = 88172645463325252ULL;

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 100000; i++) {
		int64_t v;
		size_t n;
		if (i < sizeof(edges) / sizeof(edges[0])) {
			v = edges[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			v = (int64_t)(x >> (x % 64)); /* every magnitude */
			if (x & 1)
				v = -v;
		}
		n = ns_str_from_i64(v, got);
		ck_assert_uint_le(n, NS_STR_I64_MAX);
		got[n] = '\0';
		snprintf(want, sizeof(want), "%lld", (long long)v);
		ck_assert_str_eq(got, want);
	}
}
END_TEST

/* One byte a JSON string takes as it is? The reference the word test must match. */
static int plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* ns_str_json_plain8 against the byte-wise rule: every byte value at every place of a plain
 * word, every pair of values at two places, and random words, at an odd address too. */
START_TEST(test_json_plain8)
{
	unsigned char buf[9], *w = buf + 1;
	uint64_t x = 0x2545F4914F6CDD1DULL;

	for (int pos = 0; pos < 8; pos++) {
		for (int c = 0; c < 256; c++) {
			memset(w, 'a', 8);
			w[pos] = (unsigned char)c;
			ck_assert_msg(!ns_str_json_plain8(w) == !plain_byte((unsigned char)c),
				      "byte 0x%02x at %d", c, pos);
		}
	}
	for (int c = 0; c < 256; c++) {
		for (int d = 0; d < 256; d++) {
			memset(w, 'a', 8);
			w[c % 8] = (unsigned char)c;
			w[(c + 1 + d % 7) % 8] = (unsigned char)d;
			ck_assert_int_eq(!ns_str_json_plain8(w),
					 !(plain_byte(w[0]) && plain_byte(w[1]) &&
					   plain_byte(w[2]) && plain_byte(w[3]) &&
					   plain_byte(w[4]) && plain_byte(w[5]) &&
					   plain_byte(w[6]) && plain_byte(w[7])));
		}
	}
	for (int i = 0; i < 1000000; i++) {
		int want = 1;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(w, &x, 8);
		/* mostly printable words, so both answers come up often */
		for (int k = 0; k < 8; k++) {
			if ((x >> (k * 3)) & 6)
				w[k] = (unsigned char)(0x20 + w[k] % 0x60);
			want = want && plain_byte(w[k]);
		}
		ck_assert_int_eq(!ns_str_json_plain8(w), !want);
	}
}
END_TEST

/* The byte-wise length of the plain prefix of p[0..n): the reference for the scanner. */
static size_t plain_prefix_bytes(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && plain_byte(p[i]))
		i++;
	return i;
}

/* ns_str_json_plain_prefix against the byte-wise rule: every byte value as the first stop at
 * every place of runs of every length to 40 (so in every byte of a word and in the tail),
 * with a second stop after it, at every alignment; then random runs. */
START_TEST(test_json_plain_prefix)
{
	unsigned char buf[64];
	uint64_t x = 0x9E3779B97F4A7C15ULL;

	for (size_t off = 0; off < 8; off++) {
		unsigned char *p = buf + off;
		for (size_t n = 0; n <= 40; n++) {
			memset(p, 'a', n);
			ck_assert_uint_eq(ns_str_json_plain_prefix(p, n), n);
			for (size_t at = 0; at < n; at++) {
				for (int c = 0; c < 256; c++) {
					memset(p, 'a', n);
					p[at] = (unsigned char)c;
					if (at + 1 < n)
						p[at + 1] = '"'; /* a borrow past the first stop */
					ck_assert_msg(ns_str_json_plain_prefix(p, n) ==
							  plain_prefix_bytes(p, n),
						      "byte 0x%02x at %zu of %zu, offset %zu", c,
						      at, n, off);
				}
			}
		}
	}
	for (int i = 0; i < 200000; i++) {
		size_t n;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		n = (size_t)(x % 48);
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly printable, so that runs are long enough to cross words */
			buf[k] =
			    (x & 0xf0) ? (unsigned char)(0x20 + (x >> 8) % 0x60) : (unsigned char)x;
		}
		ck_assert_uint_eq(ns_str_json_plain_prefix(buf, n), plain_prefix_bytes(buf, n));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("check");
	TCase *tc = tcase_create("check");

	tcase_add_test(tc, test_name);
	tcase_add_test(tc, test_e164);
	tcase_add_test(tc, test_hex_printable_text);
	tcase_add_test(tc, test_str_hex_roundtrip);
	tcase_add_test(tc, test_str_to_i64);
	tcase_add_test(tc, test_str_hash);
	tcase_add_test(tc, test_str_from_i64);
	tcase_add_test(tc, test_json_plain8);
	tcase_add_test(tc, test_json_plain_prefix);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
