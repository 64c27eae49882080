/* test_json.c -- unit tests of ns_json: the flat depth scan (strings and escapes do not
 * count, the count stops at the cap) and the bounded parse, run on a thread with a
 * civetweb worker's 100 KB stack so that an unbounded recursion would crash this test. */
#include "ns_json.h"

#include "nt.h"
#include "nt_stack.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *text;
	int depth;
} depths[] = {
    {"", 0},
    {"1", 0},
    {"\"[[[[\"", 0},
    {"{}", 1},
    {"[]", 1},
    {"{\"a\":[1,2,{\"b\":3}]}", 3},
    {"{\"a\":\"}}}{{{\"}", 1},
    {"{\"a\":\"\\\"[[[\"}", 1},		/* an escaped quote does not end the string */
    {"{\"a\":\"\\\\\",\"b\":[[]]}", 3}, /* an escaped backslash does */
    {"]]]][[", 2},			/* stray closers never go below zero */
    {"[[[[[[[[[[[[", 9},		/* stops at cap + 1 (cap 8) */
};

START_TEST(test_depth)
{
	const char *t = depths[_i].text;
	ck_assert_int_eq(ns_json_depth(t, strlen(t), 8), depths[_i].depth);
}
END_TEST

typedef struct {
	char *buf;
	size_t len;
	json_t *out;
	int too_deep;
	json_error_t jerr;
} parse_call;

static void parse_on_thread(void *arg)
{
	parse_call *c = arg;
	c->out = ns_json_loadb(c->buf, c->len, JSON_REJECT_DUPLICATES, NS_JSON_MAX_DEPTH, &c->jerr,
			       &c->too_deep);
}

/* n copies of open then n copies of close. */
static char *nested(int n, const char *open, const char *close)
{
	size_t lo = strlen(open), lc = strlen(close);
	char *s = malloc((size_t)n * (lo + lc) + 1);
	char *p = s;

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	for (int i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

START_TEST(test_deep_refused_on_small_stack)
{
	static const int levels[] = {9, 800, 100000};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		parse_call c = {0};
		c.buf = nested(levels[i], "[", "]");
		c.len = strlen(c.buf);
		ck_assert_int_eq(nt_run_on_stack(parse_on_thread, &c, NT_WORKER_STACK), 0);
		ck_assert_ptr_null(c.out);
		ck_assert_int_eq(c.too_deep, 1);
		ck_assert_ptr_nonnull(strstr(c.jerr.text, "deeper"));
		free(c.buf);
	}
}
END_TEST

START_TEST(test_shallow_parsed)
{
	parse_call c = {0};
	/* depth 4 with a string full of brackets that must not count */
	c.buf = strdup("{\"a\":{\"b\":[1,[2,[3]]]},\"s\":\"[[[[[[[[[[[[[[[[[[[[\"}");
	c.len = strlen(c.buf);
	ck_assert_int_eq(nt_run_on_stack(parse_on_thread, &c, NT_WORKER_STACK), 0);
	ck_assert_ptr_nonnull(c.out);
	ck_assert_int_eq(c.too_deep, 0);
	json_decref(c.out);
	free(c.buf);
}
END_TEST

START_TEST(test_malformed_is_jansson_error)
{
	parse_call c = {0};
	c.buf = strdup("{\"a\":");
	c.len = strlen(c.buf);
	parse_on_thread(&c);
	ck_assert_ptr_null(c.out);
	ck_assert_int_eq(c.too_deep, 0);
	ck_assert_ptr_null(strstr(c.jerr.text, "deeper"));
	free(c.buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_loop_test(tc, test_depth, 0, (int)(sizeof(depths) / sizeof(depths[0])));
	tcase_add_test(tc, test_deep_refused_on_small_stack);
	tcase_add_test(tc, test_shallow_parsed);
	tcase_add_test(tc, test_malformed_is_jansson_error);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
