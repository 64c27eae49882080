/* test_channel.c -- unit tests of ns_channel: loading schemas/channels, every kind of
 * invalid channel file refused with a message naming the file, the reachability table of
 * the shipped channels, address kinds (e164 by default, email) and what an email is. */
#include "ns_channel.h"

#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *schemas_dir(void)
{
	const char *d = getenv("NS_SCHEMAS_DIR");
	return d && d[0] ? d : "schemas/channels";
}

/* A fresh folder under /tmp; the caller removes it with rm_dir. */
static char *tmp_dir(void)
{
	char *d = strdup("/tmp/ns-test-channel.XXXXXX");
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "open %s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void rm_dir(char *dir, const char *const *names)
{
	char path[512];

	for (; *names; names++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *names);
		unlink(path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}

#define OK_SMS                                                                                     \
	"{\"name\":\"sms\",\"initial\":\"queued\",\"statuses\":[\"queued\",\"sent\"],"             \
	"\"transitions\":[[\"queued\",\"sent\"]]}"

#define OK_SMS_NAMED(n)                                                                            \
	"{\"name\":\"" n "\",\"initial\":\"queued\",\"statuses\":[\"queued\",\"sent\"],"           \
	"\"transitions\":[[\"queued\",\"sent\"]]}"

START_TEST(test_load_shipped)
{
	char err[512];
	ns_channels *set = ns_channels_load(schemas_dir(), err, sizeof(err));
	const ns_channel *sms, *wa;

	ck_assert_msg(set != NULL, "load %s: %s", schemas_dir(), err);
	ck_assert_uint_ge(ns_channels_count(set), 2);
	for (size_t i = 1; i < ns_channels_count(set); i++)
		ck_assert_int_lt(strcmp(ns_channel_name(ns_channels_at(set, i - 1)),
					ns_channel_name(ns_channels_at(set, i))),
				 0);
	ck_assert_ptr_null(ns_channels_at(set, ns_channels_count(set)));
	sms = ns_channels_find(set, "sms");
	wa = ns_channels_find(set, "whatsapp");
	ck_assert_ptr_nonnull(sms);
	ck_assert_ptr_nonnull(wa);
	ck_assert_ptr_null(ns_channels_find(set, "email"));
	ck_assert_str_eq(ns_channel_name(sms), "sms");
	ck_assert_str_eq(ns_channel_initial(sms), "queued");
	ck_assert_str_eq(ns_channel_initial(wa), "queued");
	ck_assert(ns_channel_has(wa, "viewed"));
	ck_assert(!ns_channel_has(sms, "viewed"));
	ck_assert(ns_channels_any_has(set, "viewed"));
	ck_assert(!ns_channels_any_has(set, "bogus"));
	ck_assert(ns_channel_is_terminal(sms, "delivered"));
	ck_assert(ns_channel_is_terminal(sms, "rejected"));
	ck_assert(ns_channel_is_terminal(sms, "failed"));
	ck_assert(!ns_channel_is_terminal(wa, "delivered"));
	ck_assert(!ns_channel_is_terminal(sms, "queued"));
	ck_assert(!ns_channel_is_terminal(sms, "bogus"));
	ns_channels_free(set);
}
END_TEST

/* Reachability of the shipped channels: from x to y, expected. */
static const struct {
	const char *channel, *from, *to;
	int want;
} reach_cases[] = {
    {"sms", "queued", "processing", 1},	     {"sms", "queued", "sent", 1},
    {"sms", "queued", "delivered", 1},	     {"sms", "queued", "rejected", 1},
    {"sms", "queued", "failed", 1},	     {"sms", "processing", "delivered", 1},
    {"sms", "sent", "delivered", 1},	     {"sms", "processing", "failed", 0},
    {"sms", "sent", "rejected", 0},	     {"sms", "rejected", "sent", 0},
    {"sms", "delivered", "sent", 0},	     {"sms", "queued", "queued", 0},
    {"sms", "delivered", "viewed", 0},	     {"sms", "bogus", "sent", 0},
    {"sms", "queued", "bogus", 0},	     {"sms", NULL, "sent", 0},
    {"whatsapp", "queued", "viewed", 1},     {"whatsapp", "sent", "viewed", 1},
    {"whatsapp", "delivered", "viewed", 1},  {"whatsapp", "viewed", "delivered", 0},
    {"whatsapp", "rejected", "viewed", 0},   {"whatsapp", "failed", "viewed", 0},
    {"whatsapp", "processing", "queued", 0},
};

START_TEST(test_reachability)
{
	char err[512];
	ns_channels *set = ns_channels_load(schemas_dir(), err, sizeof(err));

	ck_assert_msg(set != NULL, "%s", err);
	for (size_t i = 0; i < sizeof(reach_cases) / sizeof(reach_cases[0]); i++) {
		const ns_channel *ch = ns_channels_find(set, reach_cases[i].channel);
		ck_assert_ptr_nonnull(ch);
		ck_assert_msg(ns_channel_reachable(ch, reach_cases[i].from, reach_cases[i].to) ==
				  reach_cases[i].want,
			      "case %zu: %s %s -> %s want %d", i, reach_cases[i].channel,
			      reach_cases[i].from ? reach_cases[i].from : "(null)",
			      reach_cases[i].to, reach_cases[i].want);
	}
	ck_assert(!ns_channel_reachable(NULL, "queued", "sent"));
	ns_channels_free(set);
}
END_TEST

/* Each invalid file, alone in a folder next to a valid one, must be refused with a
 * message naming the file and containing the fault. */
static const struct {
	const char *what, *text, *fault;
} bad_cases[] = {
    {"not json", "{\"name\":", "bad.json"},
    {"not an object", "[1,2,3]", "not a JSON object"},
    {"unknown member",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\"],\"transitions\":[],\"extra\":1}",
     "unknown member"},
    {"missing name", "{\"initial\":\"a\",\"statuses\":[\"a\"],\"transitions\":[]}",
     "missing \"name\""},
    {"name not a string", "{\"name\":7,\"initial\":\"a\",\"statuses\":[\"a\"],\"transitions\":[]}",
     "\"name\" is not a string"},
    {"name too long",
     "{\"name\":\"abcdefghijabcdefghijabcdefghijabc\",\"initial\":\"a\",\"statuses\":[\"a\"],"
     "\"transitions\":[]}",
     "is not a name"},
    {"name bad chars",
     "{\"name\":\"Email!\",\"initial\":\"a\",\"statuses\":[\"a\"],\"transitions\":[]}",
     "is not a name"},
    {"missing initial", "{\"name\":\"x\",\"statuses\":[\"a\"],\"transitions\":[]}",
     "missing \"initial\""},
    {"unknown initial",
     "{\"name\":\"x\",\"initial\":\"b\",\"statuses\":[\"a\"],\"transitions\":[]}",
     "initial status \"b\" is not in"},
    {"no statuses", "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[],\"transitions\":[]}",
     "non-empty array"},
    {"status not a string",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\",3],\"transitions\":[]}", "statuses[1]"},
    {"status too long",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\","
     "\"abcdefghijabcdefghijabcdefghijabc\"],\"transitions\":[[\"a\","
     "\"abcdefghijabcdefghijabcdefghijabc\"]]}",
     "statuses[1]"},
    {"duplicate status",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\",\"b\",\"a\"],\"transitions\":[]}",
     "duplicate status \"a\""},
    {"missing transitions", "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\"]}",
     "\"transitions\" must be"},
    {"transition not a pair",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\",\"b\"],\"transitions\":[[\"a\"]]}",
     "transitions[0] is not"},
    {"transition unknown status",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\",\"b\"],\"transitions\":[[\"a\","
     "\"b\"],[\"b\",\"c\"]]}",
     "transitions[1] names unknown status \"c\""},
    {"duplicate transition",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\",\"b\"],\"transitions\":[[\"a\","
     "\"b\"],[\"a\",\"b\"]]}",
     "duplicate transition a -> b"},
    {"self loop",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\",\"b\"],\"transitions\":[[\"a\","
     "\"b\"],[\"b\",\"b\"]]}",
     "cycle"},
    {"cycle",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\",\"b\",\"c\"],\"transitions\":[["
     "\"a\",\"b\"],[\"b\",\"c\"],[\"c\",\"b\"]]}",
     "cycle"},
    {"unreachable status",
     "{\"name\":\"x\",\"initial\":\"a\",\"statuses\":[\"a\",\"b\",\"c\"],\"transitions\":[["
     "\"a\",\"b\"]]}",
     "\"c\" is not reachable"},
    {"duplicate channel name", OK_SMS, "duplicate channel name \"sms\""},
    {"unknown address kind",
     "{\"name\":\"x\",\"address\":\"fax\",\"initial\":\"a\",\"statuses\":[\"a\"],"
     "\"transitions\":[]}",
     "\"address\" value \"fax\" is not an address kind"},
    {"address kind in capitals",
     "{\"name\":\"x\",\"address\":\"EMAIL\",\"initial\":\"a\",\"statuses\":[\"a\"],"
     "\"transitions\":[]}",
     "is not an address kind"},
    {"address not a string",
     "{\"name\":\"x\",\"address\":1,\"initial\":\"a\",\"statuses\":[\"a\"],"
     "\"transitions\":[]}",
     "\"address\" is not a string"},
};

START_TEST(test_bad_file)
{
	static const char *const names[] = {"a-good.json", "bad.json", NULL};
	char err[512];
	char *dir = tmp_dir();
	ns_channels *set;

	write_file(dir, "a-good.json", OK_SMS);
	write_file(dir, "bad.json", bad_cases[_i].text);
	set = ns_channels_load(dir, err, sizeof(err));
	ck_assert_msg(set == NULL, "%s: loaded", bad_cases[_i].what);
	ck_assert_msg(strstr(err, "bad.json") != NULL, "%s: message does not name the file: %s",
		      bad_cases[_i].what, err);
	ck_assert_msg(strstr(err, bad_cases[_i].fault) != NULL, "%s: want \"%s\" in: %s",
		      bad_cases[_i].what, bad_cases[_i].fault, err);
	rm_dir(dir, names);
}
END_TEST

START_TEST(test_empty_and_missing_folder)
{
	static const char *const names[] = {"README.md", NULL};
	char err[512];
	char *dir = tmp_dir();

	ck_assert_ptr_null(ns_channels_load(dir, err, sizeof(err)));
	ck_assert_msg(strstr(err, dir) && strstr(err, "no channel files"), "%s", err);
	write_file(dir, "README.md", "not a channel");
	ck_assert_ptr_null(ns_channels_load(dir, err, sizeof(err)));
	ck_assert_msg(strstr(err, "no channel files"), "%s", err);
	rm_dir(dir, names);

	ck_assert_ptr_null(ns_channels_load("/nonexistent/ns-channels", err, sizeof(err)));
	ck_assert_msg(strstr(err, "/nonexistent/ns-channels"), "%s", err);
}
END_TEST

START_TEST(test_sorted_and_description)
{
	static const char *const names[] = {"1.json", "2.json", "3.json", NULL};
	char err[512];
	char *dir = tmp_dir();
	ns_channels *set;

	/* file order differs from name order */
	write_file(dir, "1.json",
		   "{\"name\":\"zeta\",\"initial\":\"a\",\"statuses\":[\"a\"],\"transitions\":[]}");
	write_file(dir, "2.json",
		   "{\"name\":\"alpha\",\"description\":\"first\",\"initial\":\"b\",\"statuses\":["
		   "\"a\",\"b\"],\"transitions\":[[\"b\",\"a\"]]}");
	write_file(dir, "3.json", OK_SMS);
	set = ns_channels_load(dir, err, sizeof(err));
	ck_assert_msg(set != NULL, "%s", err);
	ck_assert_uint_eq(ns_channels_count(set), 3);
	ck_assert_str_eq(ns_channel_name(ns_channels_at(set, 0)), "alpha");
	ck_assert_str_eq(ns_channel_name(ns_channels_at(set, 1)), "sms");
	ck_assert_str_eq(ns_channel_name(ns_channels_at(set, 2)), "zeta");
	ck_assert_str_eq(ns_channel_initial(ns_channels_find(set, "alpha")), "b");
	ck_assert(ns_channel_reachable(ns_channels_find(set, "alpha"), "b", "a"));
	ck_assert(ns_channel_is_terminal(ns_channels_find(set, "zeta"), "a"));
	ns_channels_free(set);
	rm_dir(dir, names);
}
END_TEST

/* "address": absent means e164; "e164" and "email" are read as such. */
START_TEST(test_address_kinds)
{
	static const char *const names[] = {"email.json", "push.json", "sms.json", NULL};
	char err[512];
	char *dir = tmp_dir();
	ns_channels *set;

	write_file(dir, "email.json",
		   "{\"name\":\"email\",\"address\":\"email\",\"initial\":\"queued\","
		   "\"statuses\":[\"queued\",\"sent\",\"opened\"],"
		   "\"transitions\":[[\"queued\",\"sent\"],[\"sent\",\"opened\"]]}");
	write_file(dir, "push.json", OK_SMS_NAMED("push"));
	write_file(dir, "sms.json",
		   "{\"name\":\"sms\",\"address\":\"e164\",\"initial\":\"queued\","
		   "\"statuses\":[\"queued\",\"sent\"],\"transitions\":[[\"queued\",\"sent\"]]}");
	set = ns_channels_load(dir, err, sizeof(err));
	ck_assert_msg(set != NULL, "%s", err);
	ck_assert_int_eq(ns_channel_address(ns_channels_find(set, "email")), NS_ADDR_EMAIL);
	ck_assert_int_eq(ns_channel_address(ns_channels_find(set, "push")), NS_ADDR_E164);
	ck_assert_int_eq(ns_channel_address(ns_channels_find(set, "sms")), NS_ADDR_E164);
	ck_assert(ns_channel_reachable(ns_channels_find(set, "email"), "queued", "opened"));
	ns_channels_free(set);
	rm_dir(dir, names);

	ck_assert_str_eq(ns_address_name(NS_ADDR_E164), "e164");
	ck_assert_str_eq(ns_address_name(NS_ADDR_EMAIL), "email");
	ck_assert_str_eq(ns_address_name((ns_address)7), "?");

	/* the shipped channels say e164 */
	set = ns_channels_load(schemas_dir(), err, sizeof(err));
	ck_assert_msg(set != NULL, "%s", err);
	ck_assert_int_eq(ns_channel_address(ns_channels_find(set, "sms")), NS_ADDR_E164);
	ck_assert_int_eq(ns_channel_address(ns_channels_find(set, "whatsapp")), NS_ADDR_E164);
	ns_channels_free(set);
}
END_TEST

/* ns_check_email: what a plausible email address is. */
static const struct {
	const char *s;
	int want;
} email_cases[] = {
    {"ada@example.com", 1},
    {"a@b.c", 1},
    {"ada.lovelace+tag@mail.example.co.uk", 1},
    {"x_y-z!#$%&'*/=?^`{|}~@ex-ample.org", 1},
    {"", 0},
    {"a@", 0},
    {"@example.com", 0},
    {"ada@", 0},
    {"ada", 0},
    {"ada@localhost", 0},
    {"ada@@example.com", 0},
    {"ada@b@example.com", 0},
    {"ada@.example.com", 0},
    {"ada@example.com.", 0},
    {"ada@example..com", 0},
    {"ada lovelace@example.com", 0},
    {"ada@exa mple.com", 0},
    {"ada\t@example.com", 0},
    {"ad\xc3\xa4@example.com", 0},
    {"ada@example.com\x7f", 0},
    {"+4915112345678", 0},
};

START_TEST(test_is_email)
{
	char big[NS_EMAIL_MAX + 2];

	for (size_t i = 0; i < sizeof(email_cases) / sizeof(email_cases[0]); i++)
		ck_assert_msg(ns_check_email(email_cases[i].s, strlen(email_cases[i].s)) ==
				  email_cases[i].want,
			      "'%s': want %d", email_cases[i].s, email_cases[i].want);
	ck_assert(!ns_check_email(NULL, 0));
	/* the length is the caller's: a NUL inside the span is refused */
	ck_assert(!ns_check_email("ada@example.com\0x", 17));
	/* NS_EMAIL_MAX bytes accepted, one more refused */
	memset(big, 'a', sizeof(big));
	memcpy(big + NS_EMAIL_MAX - 12, "@example.com", 12);
	ck_assert(ns_check_email(big, NS_EMAIL_MAX));
	memset(big, 'a', sizeof(big));
	memcpy(big + NS_EMAIL_MAX + 1 - 12, "@example.com", 12);
	ck_assert(!ns_check_email(big, NS_EMAIL_MAX + 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("channel");

	tcase_add_test(tc, test_load_shipped);
	tcase_add_test(tc, test_reachability);
	tcase_add_loop_test(tc, test_bad_file, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_empty_and_missing_folder);
	tcase_add_test(tc, test_sorted_and_description);
	tcase_add_test(tc, test_address_kinds);
	tcase_add_test(tc, test_is_email);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
