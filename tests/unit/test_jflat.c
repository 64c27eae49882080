/* test_jflat.c -- unit tests of ns_jflat, the non-allocating reader of the event envelope:
 * what it accepts and refuses (each case also asked of jansson, which must agree), the
 * values it keeps (decoded strings, integers, kinds), the bounds of its own, and a deep
 * document on a civetweb worker's 100 KB stack. fuzz/event.c compares the two on random
 * input; these are the cases worth naming. */
#include "ns_jflat.h"
#include "ns_json.h"

#include "nt.h"
#include "nt_stack.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *text;
	int ok;
} cases[] = {
    {"{}", 1},
    {" \t\r\n{ \"a\" : 1 } \n", 1},
    {"{\"a\":\"\\u00e9\\ud83d\\ude00\"}", 1},
    {"{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", 1},
    {"{\"a\":[1,-0,2.5e-3,true,false,null,{\"b\":[]}]}", 1},
    {"{\"a\":-9223372036854775808,\"b\":9223372036854775807}", 1},
    {"{\"a\":1e-999}", 1}, /* underflow is not an error, in jansson either */
    {"{\"a\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}", 1},
    {"", 0},
    {"[]", 0}, /* not an object */
    {"\"a\"", 0},
    {"{\"a\":1,}", 0},
    {"{\"a\" 1}", 0},
    {"{\"a\":1} x", 0},
    {"{\"a\":01}", 0},
    {"{\"a\":1.}", 0},
    {"{\"a\":1e}", 0},
    {"{\"a\":-}", 0},
    {"{\"a\":9223372036854775808}", 0},
    {"{\"a\":1e999}", 0},
    {"{\"a\":tru}", 0},
    {"{\"a\":\"\\u0000\"}", 0},
    {"{\"a\":\"\\ud800\"}", 0},
    {"{\"a\":\"\\udc00\"}", 0},
    {"{\"a\":\"\\ud800\\u0041\"}", 0},
    {"{\"a\":\"\\x\"}", 0},
    {"{\"a\":\"\\u12\"}", 0},
    {"{\"a\":\"tab\there\"}", 0},
    {"{\"a\":\"\xc0\xaf\"}", 0},	 /* overlong */
    {"{\"a\":\"\xed\xa0\x80\"}", 0},	 /* a surrogate in UTF-8 */
    {"{\"a\":\"\xf4\x90\x80\x80\"}", 0}, /* above U+10FFFF */
    {"{\"a\":\"open", 0},
    {"{\"a\":1,\"a\":2}", 0},
    {"{\"v\":1,\"\\u0076\":2}", 0},	       /* the same key, once escaped */
    {"{\"a\":[{\"b\":1,\"b\":2}]}", 0},	       /* duplicates deep inside are refused too */
    {"{\"ab\":1,\"a\\u0062\":2}", 0},	       /* one of two spellings escaped */
    {"{\"\\u0061b\":1,\"a\\u0062\":2}", 0},    /* both escaped, differently */
    {"{\"ab\":1,\"ac\":2,\"a\\u0064\":3}", 1}, /* same lengths, other keys */
    {"{\"a\":{\"b\":1},\"c\":{\"b\":2}}", 1},  /* one name in two objects */
    {"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{}}}}}}}}", 1}, /* depth 8 */
    {"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}", 0},
};

START_TEST(test_accepts_what_jansson_accepts)
{
	const char *t = cases[_i].text;
	ns_jflat *j = malloc(sizeof(*j));
	json_error_t jerr;
	json_t *root =
	    ns_json_loadb(t, strlen(t), JSON_REJECT_DUPLICATES, NS_JSON_MAX_DEPTH, &jerr, NULL);
	char err[160];
	int ours;

	ck_assert_ptr_nonnull(j);
	ours = ns_jflat_parse(j, t, strlen(t), NS_JSON_MAX_DEPTH, err, sizeof(err)) == 0;
	ck_assert_msg(ours == cases[_i].ok, "case %d: ours %d (%s)", _i, ours, err);
	ck_assert_msg(cases[_i].ok == (json_is_object(root) != 0), "case %d: jansson disagrees",
		      _i);
	if (!ours)
		ck_assert_msg(err[0] != '\0', "case %d: a refusal says why", _i);
	json_decref(root);
	free(j);
}
END_TEST

START_TEST(test_values)
{
	const char *t = "{\"v\":1,\"s\":\"a\\u00e9\\n\\ud83d\\ude00\",\"r\":2.5,\"n\":null,"
			"\"data\":{\"status\":\"sent\",\"code\":-42,\"deep\":{\"x\":1}},"
			"\"a_key_that_is_longer_than_thirty_one_bytes\":\"x\"}";
	ns_jflat j;
	char err[160], s[32];
	int d, i;

	memset(&j, 0, sizeof(j));
	ck_assert_int_eq(ns_jflat_parse(&j, t, strlen(t), NS_JSON_MAX_DEPTH, err, sizeof(err)), 0);
	i = ns_jflat_find(&j, -1, "v");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(j.m[i].kind, NS_JF_INTEGER);
	ck_assert_int_eq(j.m[i].integer, 1);
	i = ns_jflat_find(&j, -1, "s");
	ck_assert_int_eq(j.m[i].kind, NS_JF_STRING);
	ck_assert_uint_eq(j.m[i].len, strlen("a\xc3\xa9\n\xf0\x9f\x98\x80"));
	ns_jflat_string(&j.m[i], s);
	ck_assert_str_eq(s, "a\xc3\xa9\n\xf0\x9f\x98\x80");
	ck_assert_int_eq(j.m[ns_jflat_find(&j, -1, "r")].kind, NS_JF_OTHER);
	ck_assert_int_eq(j.m[ns_jflat_find(&j, -1, "n")].kind, NS_JF_OTHER);
	d = ns_jflat_find(&j, -1, "data");
	ck_assert_int_eq(j.m[d].kind, NS_JF_OBJECT);
	ck_assert_int_eq(ns_jflat_find(&j, -1, "status"), -1); /* data's, not the root's */
	i = ns_jflat_find(&j, d, "code");
	ck_assert_int_eq(j.m[i].integer, -42);
	i = ns_jflat_find(&j, d, "deep");
	ck_assert_int_eq(j.m[i].kind, NS_JF_OTHER); /* deeper objects are checked, not kept */
	ck_assert_int_eq(ns_jflat_find(&j, i, "x"), -1);
	ck_assert_int_eq(ns_jflat_find(&j, -1, "a_key_that_is_longer_than_thirty_one_bytes"), -1);
	ck_assert_int_eq(j.n, 9); /* v s r n data status code deep, the long key */
}
END_TEST

/* A document of n members {"k0":0,...}; the caller frees it. */
static char *members(int n)
{
	size_t cap = (size_t)n * 16 + 8, len = 0;
	char *t = malloc(cap);

	ck_assert_ptr_nonnull(t);
	t[len++] = '{';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(t + len, cap - len, "%s\"k%d\":0", i ? "," : "", i);
	t[len++] = '}';
	t[len] = '\0';
	return t;
}

START_TEST(test_bounds)
{
	ns_jflat j;
	char err[160], *t = members(NS_JFLAT_MAX_MEMBERS);

	memset(&j, 0, sizeof(j));
	ck_assert_int_eq(ns_jflat_parse(&j, t, strlen(t), 8, err, sizeof(err)), 0);
	free(t);
	t = members(NS_JFLAT_MAX_MEMBERS + 1);
	ck_assert_int_eq(ns_jflat_parse(&j, t, strlen(t), 8, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "members"));
	free(t);
}
END_TEST

typedef struct {
	char *buf;
	size_t len;
	int rc;
} parse_call;

static void parse_on_thread(void *arg)
{
	parse_call *c = arg;
	ns_jflat *j = malloc(sizeof(*j));
	char err[160];

	c->rc = j ? ns_jflat_parse(j, c->buf, c->len, NS_JSON_MAX_DEPTH, err, sizeof(err)) : -2;
	free(j);
}

START_TEST(test_deep_refused_on_small_stack)
{
	parse_call c = {.len = 200000};

	c.buf = malloc(c.len + 2);
	ck_assert_ptr_nonnull(c.buf);
	c.buf[0] = '{';
	c.buf[1] = '"';
	c.buf[2] = 'a';
	c.buf[3] = '"';
	c.buf[4] = ':';
	memset(c.buf + 5, '[', c.len - 5);
	nt_run_on_stack(parse_on_thread, &c, 100 * 1024);
	ck_assert_int_eq(c.rc, -1);
	free(c.buf);
}
END_TEST

/* Strings of every length up to 40 with one byte that ends a plain run (an escape, a
 * control, a quote, a UTF-8 sequence, or DEL, which is plain) at each place: the word-wide
 * scan hands over to the byte loop there and decodes the same text, and refuses a raw
 * control character wherever it sits. */
START_TEST(test_plain_runs)
{
	static const struct {
		const char *json; /* as written inside the quotes */
		const char *text; /* decoded; NULL: refused */
	} specials[] = {
	    {"\\\"", "\""},	      {"\\\\", "\\"},	{"\\n", "\n"},	{"\\u0041", "A"},
	    {"\xc3\xa9", "\xc3\xa9"}, {"\x7f", "\x7f"}, {"\x01", NULL}, {"\x1f", NULL},
	};
	char json[160], want[128], err[128], got[128];
	ns_jflat *j = malloc(sizeof(*j));

	ck_assert_ptr_nonnull(j);
	for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
		for (int len = 1; len <= 40; len++) {
			for (int at = 0; at < len; at++) {
				int n = snprintf(json, sizeof(json), "{\"a\":\"%.*s%s%.*s\"}", at,
						 "abcdefghijklmnopqrstuvwxyz0123456789ABCD",
						 specials[k].json, len - at - 1,
						 "EFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq");
				int rc = ns_jflat_parse(j, json, (size_t)n, 4, err, sizeof(err));
				int m;

				if (!specials[k].text) {
					ck_assert_msg(rc == -1, "%s accepted", json);
					continue;
				}
				ck_assert_msg(rc == 0, "%s: %s", json, err);
				snprintf(want, sizeof(want), "%.*s%s%.*s", at,
					 "abcdefghijklmnopqrstuvwxyz0123456789ABCD",
					 specials[k].text, len - at - 1,
					 "EFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq");
				m = ns_jflat_find(j, -1, "a");
				ck_assert_int_ge(m, 0);
				ck_assert_uint_eq(j->m[m].len, strlen(want));
				ns_jflat_string(&j->m[m], got);
				ck_assert_str_eq(got, want);
			}
		}
	}
	free(j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jflat");
	TCase *tc = tcase_create("jflat");

	tcase_add_loop_test(tc, test_accepts_what_jansson_accepts, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_deep_refused_on_small_stack);
	tcase_add_test(tc, test_plain_runs);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
