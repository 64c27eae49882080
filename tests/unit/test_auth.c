/* test_auth.c -- unit tests of who-may-do-what in common/: webhook signatures (ns_sign),
 * the API key file and its checks (ns_keys), and masked recipients (ns_mask). */
#include "ns_keys.h"
#include "ns_mask.h"
#include "ns_sign.h"

#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- signatures ---------------------------------------------------------------------- */

static const char BODY[] = "{\"externalId\":\"t:n-1\",\"event\":\"sent\"}";

START_TEST(test_sign_roundtrip_and_refusals)
{
	const char *one[] = {"current-secret-0123456789"};
	const char *two[] = {"current-secret-0123456789", "previous-secret-0123456789"};
	const char *other[] = {"some-other-secret-0123456"};
	char v[NS_SIGN_VALUE_LEN + 1], bad[600];
	int64_t now = 1733090000;

	ck_assert_int_eq(ns_sign_value(one[0], now, BODY, strlen(BODY), v, sizeof(v)), 0);
	ck_assert(!strncmp(v, "t=1733090000,v1=", 16) && strlen(v) == 16 + 64);
	ck_assert_int_eq(ns_sign_verify(v, BODY, strlen(BODY), one, 1, now, 300), NS_SIGN_OK);
	/* rotation: either configured secret verifies */
	ck_assert_int_eq(ns_sign_verify(v, BODY, strlen(BODY), two, 2, now, 300), NS_SIGN_OK);
	ck_assert_int_eq(ns_sign_value(two[1], now, BODY, strlen(BODY), v, sizeof(v)), 0);
	ck_assert_int_eq(ns_sign_verify(v, BODY, strlen(BODY), two, 2, now, 300), NS_SIGN_OK);
	ck_assert_int_eq(ns_sign_verify(v, BODY, strlen(BODY), one, 1, now, 300), NS_SIGN_MISMATCH);
	ck_assert_int_eq(ns_sign_verify(v, BODY, strlen(BODY), other, 1, now, 300),
			 NS_SIGN_MISMATCH);
	/* one changed byte of the body */
	ck_assert_int_eq(ns_sign_verify(v, "{}", 2, two, 2, now, 300), NS_SIGN_MISMATCH);
	/* the window, both ways */
	ck_assert_int_eq(ns_sign_verify(v, BODY, strlen(BODY), two, 2, now + 301, 300),
			 NS_SIGN_STALE);
	ck_assert_int_eq(ns_sign_verify(v, BODY, strlen(BODY), two, 2, now - 301, 300),
			 NS_SIGN_STALE);
	ck_assert_int_eq(ns_sign_verify(v, BODY, strlen(BODY), two, 2, now + 300, 300), NS_SIGN_OK);
	/* several v1 values: any one matching is enough */
	snprintf(bad, sizeof(bad), "%s,v1=%064d", v, 0);
	ck_assert_int_eq(ns_sign_verify(bad, BODY, strlen(BODY), two, 2, now, 300), NS_SIGN_OK);
	ck_assert_int_eq(ns_sign_verify(NULL, BODY, strlen(BODY), two, 2, now, 300),
			 NS_SIGN_MISSING);
}
END_TEST

static const char *const malformed[] = {
    "",
    "t=,v1=00",
    "v1=0000000000000000000000000000000000000000000000000000000000000000,t=1",
    "t=1733090000",
    "t=1733090000,v1=",
    "t=1733090000,v1=abc",
    "t=1733090000,v1=zz00000000000000000000000000000000000000000000000000000000000000",
    "t=1733090000,v2=0000000000000000000000000000000000000000000000000000000000000000",
    "t=1733090000;v1=0000000000000000000000000000000000000000000000000000000000000000",
    "t=99999999999999999,v1=0000000000000000000000000000000000000000000000000000000000000000",
    "t=1733090000,v1=0000000000000000000000000000000000000000000000000000000000000000x",
};

START_TEST(test_sign_malformed)
{
	const char *s[] = {"current-secret-0123456789"};

	ck_assert_int_eq(ns_sign_verify(malformed[_i], BODY, strlen(BODY), s, 1, 1733090000, 300),
			 NS_SIGN_MALFORMED);
	ck_assert(strlen(ns_sign_reason(NS_SIGN_MALFORMED)) > 0);
}
END_TEST

/* ---- keys ---------------------------------------------------------------------------- */

static const char *write_file(const char *name, const char *text)
{
	static const char *dir;
	const char *path;

	if (!dir)
		dir = nt_tmpdir("keys");
	path = nt_fmt("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

START_TEST(test_keys_check)
{
	char secret[NS_KEY_SECRET_LEN + 1], secret2[NS_KEY_SECRET_LEN + 1], hex[65], hex2[65];
	char err[256], *text, auth[128];
	ns_key_identity who;
	ns_keyring *r;
	const char *path;

	ck_assert_int_eq(ns_keys_new_secret(secret), 0);
	ck_assert_int_eq(ns_keys_new_secret(secret2), 0);
	ck_assert_int_eq((int)strlen(secret), NS_KEY_SECRET_LEN);
	ck_assert_str_ne(secret, secret2);
	ck_assert_int_eq(ns_keys_hash(secret, hex), 0);
	ck_assert_int_eq(ns_keys_hash(secret2, hex2), 0);
	text =
	    nt_fmt("# a comment\n\nk-one  acme  send,read  %s\n  k-two globex read:pii,read %s\n",
		   hex, hex2);
	path = write_file("keys", text);
	r = ns_keyring_open(path, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(ns_keyring_count(r), 2);
	snprintf(auth, sizeof(auth), "Bearer k-one.%s", secret);
	ck_assert_int_eq(ns_keyring_check(r, auth, &who), NS_KEY_OK);
	ck_assert_str_eq(who.id, "k-one");
	ck_assert_str_eq(who.tenant, "acme");
	ck_assert_uint_eq(who.scopes, NS_SCOPE_SEND | NS_SCOPE_READ);
	snprintf(auth, sizeof(auth), "bearer   k-two.%s", secret2);
	ck_assert_int_eq(ns_keyring_check(r, auth, &who), NS_KEY_OK);
	ck_assert_str_eq(who.tenant, "globex");
	ck_assert_uint_eq(who.scopes, NS_SCOPE_READ | NS_SCOPE_READ_PII);
	/* another key's secret, an unknown id, bad forms */
	snprintf(auth, sizeof(auth), "Bearer k-one.%s", secret2);
	ck_assert_int_eq(ns_keyring_check(r, auth, &who), NS_KEY_UNKNOWN);
	snprintf(auth, sizeof(auth), "Bearer k-three.%s", secret);
	ck_assert_int_eq(ns_keyring_check(r, auth, &who), NS_KEY_UNKNOWN);
	ck_assert_int_eq(ns_keyring_check(r, NULL, &who), NS_KEY_MISSING);
	ck_assert_int_eq(ns_keyring_check(r, "Basic dXNlcjpwdw==", &who), NS_KEY_MALFORMED);
	ck_assert_int_eq(ns_keyring_check(r, "Bearer nodot", &who), NS_KEY_MALFORMED);
	ck_assert_int_eq(ns_keyring_check(r, "Bearer .secret", &who), NS_KEY_MALFORMED);
	ck_assert_int_eq(ns_keyring_check(r, "Bearer k-one.", &who), NS_KEY_MALFORMED);

	/* reload: k-one removed, k-three added; a broken file keeps the table */
	write_file("keys", nt_fmt("k-three acme send %s\n", hex2));
	ck_assert_int_eq(ns_keyring_reload(r, err, sizeof(err)), 1);
	snprintf(auth, sizeof(auth), "Bearer k-one.%s", secret);
	ck_assert_int_eq(ns_keyring_check(r, auth, &who), NS_KEY_UNKNOWN);
	snprintf(auth, sizeof(auth), "Bearer k-three.%s", secret2);
	ck_assert_int_eq(ns_keyring_check(r, auth, &who), NS_KEY_OK);
	write_file("keys", "k-broken acme send nothex\n");
	ck_assert_int_eq(ns_keyring_reload(r, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":1:") && strstr(err, "hash"), "%s", err);
	ck_assert_int_eq(ns_keyring_check(r, auth, &who), NS_KEY_OK);
	ns_keyring_free(r);
}
END_TEST

static const struct {
	const char *text, *why;
} bad_files[] = {
    {"k acme send\n", "expected"},
    {"K acme send 0000000000000000000000000000000000000000000000000000000000000000\n", "names"},
    {"k acme write 0000000000000000000000000000000000000000000000000000000000000000\n", "scopes"},
    {"k acme send 00\n", "hash"},
    {"k acme send 0000000000000000000000000000000000000000000000000000000000000000 extra\n",
     "four"},
    {"k acme send 0000000000000000000000000000000000000000000000000000000000000000\n"
     "k acme read 0000000000000000000000000000000000000000000000000000000000000000\n",
     "twice"},
};

START_TEST(test_keys_bad_files)
{
	char err[256] = "";
	const char *path = write_file(nt_fmt("bad-%d", _i), bad_files[_i].text);

	ck_assert_ptr_null(ns_keyring_open(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, bad_files[_i].why) && strstr(err, path), "%s", err);
	ck_assert_ptr_null(ns_keyring_open("/nonexistent/keys", err, sizeof(err)));
}
END_TEST

START_TEST(test_scopes)
{
	unsigned s;
	char out[64];

	ck_assert_int_eq(ns_scopes_parse("send,read:pii", &s), 0);
	ck_assert_uint_eq(s, NS_SCOPE_SEND | NS_SCOPE_READ_PII);
	ck_assert_str_eq(ns_scopes_format(s, out, sizeof(out)), "send,read:pii");
	ck_assert_int_eq(ns_scopes_parse("read,admin", &s), -1);
	ck_assert_int_eq(ns_scopes_parse("readx", &s), -1);
}
END_TEST

/* ---- masking ------------------------------------------------------------------------- */

START_TEST(test_mask)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"+4915112345678", "+49151****678"},
	    {"+12345678", "+1****678"},
	    {"+123456789012345", "+1234567****345"},
	    {"ada@example.com", "a***@example.com"},
	    {"", "****"},
	    {"not a number", "****"},
	};
	char out[64];

	for (size_t i = 0; i < N(cases); i++)
		ck_assert_str_eq(ns_mask_address(cases[i].in, out, sizeof(out)), cases[i].out);
	ck_assert_str_eq(ns_mask_address(NULL, out, sizeof(out)), "****");
	/* a short buffer truncates, NUL-terminated, as snprintf would */
	ck_assert_str_eq(ns_mask_address("+4915112345678", out, 6), "+4915");
	ck_assert_str_eq(ns_mask_address("+4915112345678", out, 9), "+49151**");
	ck_assert_str_eq(ns_mask_address("ada@example.com", out, 7), "a***@e");
	ck_assert_str_eq(ns_mask_address("x", out, 1), "");
	out[0] = 'z';
	ns_mask_address("x", out, 0); /* writes nothing */
	ck_assert_int_eq(out[0], 'z');
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_test(tc, test_sign_roundtrip_and_refusals);
	tcase_add_loop_test(tc, test_sign_malformed, 0, (int)N(malformed));
	tcase_add_test(tc, test_keys_check);
	tcase_add_loop_test(tc, test_keys_bad_files, 0, (int)N(bad_files));
	tcase_add_test(tc, test_scopes);
	tcase_add_test(tc, test_mask);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
