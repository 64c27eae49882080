/* test_jwrite.c -- unit tests of ns_jwrite, the one-pass JSON writer: for the same members
 * in the same order its text is json_dumps(JSON_COMPACT)'s byte for byte, names scanned or
 * given quoted (named strings with every kind of escape, then many random ones), invalid
 * UTF-8 becomes U+FFFD and the text still parses, a full fixed buffer and misuse are
 * sticky errors, and the heap writer grows. */
#include "ns_jwrite.h"

#include "nt.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson's compact text of {"s": s, "n": [i, true, false, null, {}], "o": {"k": s}} */
static char *jansson_text(const char *s, int64_t i)
{
	json_t *o = json_pack("{s:s, s:[I, b, b, n, {}], s:{s:s}}", "s", s, "n", (json_int_t)i, 1,
			      0, "o", "k", s);
	char *t;

	ck_assert_ptr_nonnull(o);
	t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return t;
}

/* The same document through the writer, into a fixed buffer of cap bytes; "o" and "k" are
 * written as quoted literals (NS_JW_KEY_LIT), the others scanned (ns_jw_key). */
static long writer_text(const char *s, int64_t i, char *buf, size_t cap)
{
	ns_jw w;

	ns_jw_init(&w, buf, cap);
	ns_jw_open(&w, '{');
	ns_jw_key(&w, "s");
	ns_jw_str(&w, s);
	ns_jw_key(&w, "n");
	ns_jw_open(&w, '[');
	ns_jw_int(&w, i);
	ns_jw_bool(&w, 1);
	ns_jw_bool(&w, 0);
	ns_jw_null(&w);
	ns_jw_open(&w, '{');
	ns_jw_close(&w, '}');
	ns_jw_close(&w, ']');
	NS_JW_KEY_LIT(&w, "o");
	ns_jw_open(&w, '{');
	NS_JW_KEY_LIT(&w, "k");
	ns_jw_str(&w, s);
	ns_jw_close(&w, '}');
	ns_jw_close(&w, '}');
	return ns_jw_finish(&w);
}

static void assert_same(const char *s, int64_t i)
{
	char buf[8192];
	char *want = jansson_text(s, i);
	long n = writer_text(s, i, buf, sizeof(buf));

	ck_assert_int_eq(n, (long)strlen(want));
	ck_assert_str_eq(buf, want);
	free(want);
}

static const char *const named[] = {
    "",
    "plain ascii",
    "quote \" backslash \\ slash /",
    "\b\f\n\r\t\v\x01\x1f\x7f",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", /* 2, 3 and 4 byte sequences */
    "+4915112345678",
};

START_TEST(test_named_strings_as_jansson)
{
	assert_same(named[_i], _i % 2 ? INT64_MIN : INT64_MAX);
}
END_TEST

/* A random valid UTF-8 string of up to 40 characters, any of them escapes. */
static void random_utf8(char *out, unsigned *seed)
{
	size_t n = 0, chars = (size_t)(rand_r(seed) % 40);

	for (size_t c = 0; c < chars; c++) {
		unsigned k = (unsigned)rand_r(seed) % 10;
		if (k < 6) {
			out[n++] = (char)(1 + rand_r(seed) % 127); /* any ASCII but NUL */
		} else if (k < 8) {
			out[n++] = (char)(0xC2 + rand_r(seed) % 30);
			out[n++] = (char)(0x80 + rand_r(seed) % 64);
		} else if (k < 9) {
			out[n++] = (char)0xE4; /* U+4000..U+4FFF */
			out[n++] = (char)(0x80 + rand_r(seed) % 64);
			out[n++] = (char)(0x80 + rand_r(seed) % 64);
		} else {
			out[n++] = (char)0xF0; /* U+10000..U+3FFFF */
			out[n++] = (char)(0x90 + rand_r(seed) % 48);
			out[n++] = (char)(0x80 + rand_r(seed) % 64);
			out[n++] = (char)(0x80 + rand_r(seed) % 64);
		}
	}
	out[n] = '\0';
}

START_TEST(test_random_strings_as_jansson)
{
	unsigned seed = 20261202;
	char s[256];

	for (int k = 0; k < 20000; k++) {
		random_utf8(s, &seed);
		assert_same(s, (int64_t)rand_r(&seed) - RAND_MAX / 2);
	}
}
END_TEST

START_TEST(test_invalid_utf8_replaced)
{
	static const char *const bad[] = {"a\xff"
					  "b",
					  "\xc3", "\xc0\xaf", "\xed\xa0\x80", "x\xe2\x82"};
	char buf[256];
	json_error_t jerr;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ns_jw w;
		json_t *back;

		ns_jw_init(&w, buf, sizeof(buf));
		ns_jw_open(&w, '[');
		ns_jw_str(&w, bad[i]);
		ns_jw_close(&w, ']');
		ck_assert_int_gt(ns_jw_finish(&w), 0);
		ck_assert_msg(strstr(buf, "\xEF\xBF\xBD"), "case %zu: %s", i, buf);
		back = json_loads(buf, 0, &jerr);
		ck_assert_msg(back != NULL, "case %zu does not parse: %s", i, jerr.text);
		json_decref(back);
	}
}
END_TEST

START_TEST(test_errors_sticky)
{
	char buf[256], want_small[8];
	ns_jw w;
	long full;

	/* every size below the text's fails, the exact size (with the NUL) fits */
	full = writer_text("twelve bytes", 7, buf, sizeof(buf));
	ck_assert_int_gt(full, 0);
	for (size_t cap = 0; cap <= (size_t)full; cap++)
		ck_assert_int_eq(writer_text("twelve bytes", 7, cap ? buf : NULL, cap), -1);
	ck_assert_int_eq(writer_text("twelve bytes", 7, buf, (size_t)full + 1), full);

	ns_jw_init(&w, want_small, sizeof(want_small));
	ns_jw_close(&w, '}'); /* nothing open */
	ns_jw_open(&w, '{');
	ck_assert_int_eq(ns_jw_finish(&w), -1);

	ns_jw_init(&w, buf, sizeof(buf));
	ns_jw_open(&w, '{');
	ns_jw_key(&w, "dangling");
	ns_jw_close(&w, '}');
	ck_assert_int_eq(ns_jw_finish(&w), -1);

	ns_jw_init(&w, buf, sizeof(buf));
	for (int d = 0; d < NS_JW_DEPTH_MAX; d++)
		ns_jw_open(&w, '[');
	ck_assert_int_eq(ns_jw_finish(&w), -1);
}
END_TEST

START_TEST(test_heap_grows)
{
	ns_jw w;
	char *text, item[24];
	size_t len = 0;
	json_t *back;

	ns_jw_init_heap(&w);
	ns_jw_open(&w, '[');
	for (int i = 0; i < 10000; i++) {
		snprintf(item, sizeof(item), "item-%d", i);
		ns_jw_str(&w, item);
	}
	ns_jw_close(&w, ']');
	ck_assert_int_gt(ns_jw_finish(&w), 100000);
	text = ns_jw_take(&w, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	back = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(back);
	ck_assert_uint_eq(json_array_size(back), 10000);
	ck_assert_str_eq(json_string_value(json_array_get(back, 9999)), "item-9999");
	json_decref(back);
	free(text);

	ns_jw_init_heap(&w); /* an unfinished writer hands nothing over */
	ns_jw_open(&w, '{');
	ck_assert_ptr_null(ns_jw_take(&w, &len));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jwrite");
	TCase *tc = tcase_create("jwrite");

	tcase_add_loop_test(tc, test_named_strings_as_jansson, 0,
			    (int)(sizeof(named) / sizeof(named[0])));
	tcase_add_test(tc, test_random_strings_as_jansson);
	tcase_add_test(tc, test_invalid_utf8_replaced);
	tcase_add_test(tc, test_errors_sticky);
	tcase_add_test(tc, test_heap_grows);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
