/* test_validate.c -- ingest's request validators, table-driven: every kind of bad input is
 * refused with the right status and names the right field; good input fills the event;
 * `to` is checked against the channel's address kind (an email channel from a file). */
#include "../lib/nt.h"
#include "../../ingest/validate.h"

#include "ns_channel.h"
#include "ns_event.h"
#include "ns_time.h"

#include "nt.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ns_channels *chs;

static void setup(void)
{
	char err[256];

	chs = ns_channels_load(nt_schemas_dir(), err, sizeof(err));
	ck_assert_msg(chs != NULL, "load channels from %s: %s", nt_schemas_dir(), err);
}

static void teardown(void)
{
	ns_channels_free(chs);
	chs = NULL;
}

typedef enum { NOTIF, HOOK } kind;

typedef struct {
	kind k;
	const char *json;
	int status;	   /* 0: accepted */
	const char *field; /* expected problem field when refused ("" = whole body) */
} vcase;

#define N_OK "\"externalId\":\"n-1\",\"channel\":\"sms\",\"to\":\"+4915112345678\""
#define W_OK "\"externalId\":\"t:n-1\",\"event\":\"delivered\""

static const vcase cases[] = {
    /* accepted */
    {NOTIF, "{" N_OK ",\"body\":\"hello\"}", 0, NULL},
    {NOTIF, "{\"externalId\":\"a\",\"channel\":\"whatsapp\",\"to\":\"+12345678\",\"body\":\"h\"}",
     0, NULL},
    {NOTIF, "{" N_OK ",\"body\":\"gr\\u00fc\\u00dfe \\ud83d\\ude00\"}", 0, NULL},
    {NOTIF,
     "{\"body\":\"x\",\"to\":\"+123456789012345\",\"channel\":\"sms\",\"externalId\":"
     "\"Az09-._~:@\"}",
     0, NULL},
    {HOOK, "{" W_OK ",\"timestamp\":\"2025-03-01T12:00:00.000Z\"}", 0, NULL},
    {HOOK, "{" W_OK ",\"timestamp\":\"2025-03-01T12:00:00Z\"}", 0, NULL},
    {HOOK,
     "{\"externalId\":\"t:n-1\",\"event\":\"viewed\",\"timestamp\":\"2024-02-29T23:59:59.5Z\"}", 0,
     NULL},
    /* read in place: escapes decoded, nesting bounded, long keys named by their start */
    {NOTIF,
     "{\"externalId\":\"n-\\u0031\",\"channel\":\"\\u0073ms\",\"to\":\"+4915112345678\","
     "\"body\":\"\\\"quoted\\\"\"}",
     0, NULL},
    {NOTIF, "{" N_OK ",\"body\":{\"text\":\"x\"}}", 422, "body"},
    {NOTIF, "{" N_OK ",\"body\":[\"x\"]}", 422, "body"},
    {NOTIF, "{" N_OK ",\"body\":\"x\",\"extra\":{\"a\":{\"b\":1}}}", 400, ""},
    {NOTIF, "{" N_OK ",\"body\":\"x\",\"a_key_far_longer_than_the_parser_keeps\":1}", 422,
     "a_key_far_longer_than_the_parse"},
    {NOTIF, "{" N_OK ",\"body\":\"x\",\"extra\":{\"channel\":\"x\"}}", 422, "extra"},
    /* a long key of two-byte characters is named by whole characters only (15 of them) */
    {NOTIF,
     "{" N_OK ",\"body\":\"x\","
     "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00"
     "e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\":1}",
     422,
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
     "\xa9\xc3\xa9\xc3\xa9\xc3\xa9"},
    {NOTIF, "{\"channel\":\"sms\",\"to\":\"+4915112345678\",\"body\":{\"externalId\":\"n\"}}", 422,
     "externalId"}, /* only the body's own members count */
    {HOOK,
     "{\"externalId\":\"t:n-1\",\"event\":\"deliv\\u0065red\",\"timestamp\":\"2025-03-01T12:00:"
     "00Z\"}",
     0, NULL},
    {HOOK, "  \n{" W_OK ",\"timestamp\":\"2025-03-01T12:00:00Z\"}\n", 0, NULL},
    /* malformed: 400, no field */
    {NOTIF, "{" N_OK ",\"body\":\"hello\"", 400, ""},
    {NOTIF, "", 400, ""},
    {NOTIF, "[1,2]", 400, ""},
    {NOTIF, "\"text\"", 400, ""},
    {NOTIF, "{" N_OK ",\"body\":\"a\",\"body\":\"b\"}", 400, ""},
    {HOOK, "{" W_OK ",\"timestamp\":\"2025-03-01T12:00:00Z\"} trailing", 400, ""},
    {HOOK, "null", 400, ""},
    /* unknown members */
    {NOTIF, "{" N_OK ",\"body\":\"hi\",\"priority\":1}", 422, "priority"},
    {NOTIF, "{" N_OK ",\"body\":\"hi\",\"status\":\"sent\"}", 422, "status"},
    {HOOK, "{" W_OK ",\"timestamp\":\"2025-03-01T12:00:00Z\",\"channel\":\"sms\"}", 422, "channel"},
    /* missing members */
    {NOTIF, "{" N_OK "}", 422, "body"},
    {NOTIF, "{\"channel\":\"sms\",\"to\":\"+4915112345678\",\"body\":\"x\"}", 422, "externalId"},
    {NOTIF, "{\"externalId\":\"n\",\"to\":\"+4915112345678\",\"body\":\"x\"}", 422, "channel"},
    {NOTIF, "{\"externalId\":\"n\",\"channel\":\"sms\",\"body\":\"x\"}", 422, "to"},
    {NOTIF, "{}", 422, "externalId"},
    {HOOK, "{" W_OK "}", 422, "timestamp"},
    {HOOK, "{\"externalId\":\"t:n\",\"timestamp\":\"2025-03-01T12:00:00Z\"}", 422, "event"},
    /* wrong JSON types */
    {NOTIF, "{" N_OK ",\"body\":5}", 422, "body"},
    {NOTIF, "{\"externalId\":42,\"channel\":\"sms\",\"to\":\"+4915112345678\",\"body\":\"x\"}", 422,
     "externalId"},
    {NOTIF, "{\"externalId\":\"n\",\"channel\":[\"sms\"],\"to\":\"+4915112345678\",\"body\":\"x\"}",
     422, "channel"},
    {NOTIF, "{\"externalId\":\"n\",\"channel\":\"sms\",\"to\":4915112345678,\"body\":\"x\"}", 422,
     "to"},
    {NOTIF, "{" N_OK ",\"body\":null}", 422, "body"},
    {HOOK, "{" W_OK ",\"timestamp\":1740830400000}", 422, "timestamp"},
    {HOOK, "{\"externalId\":\"t:n\",\"event\":true,\"timestamp\":\"2025-03-01T12:00:00Z\"}", 422,
     "event"},
    /* bad channel */
    {NOTIF, "{\"externalId\":\"n\",\"channel\":\"email\",\"to\":\"+4915112345678\",\"body\":\"x\"}",
     422, "channel"},
    {NOTIF, "{\"externalId\":\"n\",\"channel\":\"SMS\",\"to\":\"+4915112345678\",\"body\":\"x\"}",
     422, "channel"},
    {NOTIF, "{\"externalId\":\"n\",\"channel\":\"\",\"to\":\"+4915112345678\",\"body\":\"x\"}", 422,
     "channel"},
/* bad E.164 */
#define TO(v) "{\"externalId\":\"n\",\"channel\":\"sms\",\"to\":\"" v "\",\"body\":\"x\"}"
    {NOTIF, TO("4915112345678"), 422, "to"},
    {NOTIF, TO("+0915112345678"), 422, "to"},
    {NOTIF, TO("+1234567"), 422, "to"},
    {NOTIF, TO("+1234567890123456"), 422, "to"},
    {NOTIF, TO("+49 1511234567"), 422, "to"},
    {NOTIF, TO("+49-1511234567"), 422, "to"},
    {NOTIF, TO("+4915112345a"), 422, "to"},
    {NOTIF, TO("++4915112345"), 422, "to"},
    {NOTIF, TO("+"), 422, "to"},
    {NOTIF, TO(""), 422, "to"},
    {NOTIF, TO("+4915112345678\\u0000"), 400, ""}, /* a NUL is refused, as jansson does */
    /* body */
    {NOTIF, "{" N_OK ",\"body\":\"\"}", 422, "body"},
/* externalId */
#define XID(v)                                                                                     \
	"{\"externalId\":\"" v "\",\"channel\":\"sms\",\"to\":\"+4915112345678\",\"body\":\"x\"}"
    {NOTIF, XID(""), 422, "externalId"},
    {NOTIF, XID("a b"), 422, "externalId"},
    {NOTIF, XID("tab\\t"), 422, "externalId"},
    {NOTIF, XID("caf\\u00e9"), 422, "externalId"},
    {NOTIF, XID("del\\u007f"), 422, "externalId"},
    /* characters no route could carry unchanged: refused at the door */
    {NOTIF, XID("a/b"), 422, "externalId"},
    {NOTIF, XID("a%41"), 422, "externalId"},
    {NOTIF, XID("a\\\\b"), 422, "externalId"},
    {NOTIF, XID("a+b"), 422, "externalId"},
    {NOTIF, XID("a?b"), 422, "externalId"},
    {NOTIF, XID("~!"), 422, "externalId"},
    {NOTIF, XID("."), 422, "externalId"},
    {NOTIF, XID(".."), 422, "externalId"},
    {HOOK, "{\"externalId\":\"t:a/b\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:00:00Z\"}",
     422, "externalId"},
    /* a webhook names a reference <tenant>:<externalId> */
    {HOOK, "{\"externalId\":\"n-1\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:00:00Z\"}",
     422, "externalId"},
    {HOOK, "{\"externalId\":\":n-1\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:00:00Z\"}",
     422, "externalId"},
    {HOOK, "{\"externalId\":\"T:n-1\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:00:00Z\"}",
     422, "externalId"},
    {HOOK, "{\"externalId\":\"t:\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:00:00Z\"}", 422,
     "externalId"},
    {HOOK,
     "{\"externalId\":\"acme:order:7\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:00:00Z\"}",
     0, NULL},
    {HOOK, "{\"externalId\":\"\",\"event\":\"sent\",\"timestamp\":\"2025-03-01T12:00:00Z\"}", 422,
     "externalId"},
/* webhook event */
#define EV(v) "{\"externalId\":\"t:n\",\"event\":\"" v "\",\"timestamp\":\"2025-03-01T12:00:00Z\"}"
    {HOOK, EV("bounced"), 422, "event"},
    {HOOK, EV(""), 422, "event"},
    {HOOK, EV("Delivered"), 422, "event"},
    {HOOK, EV("delivered "), 422, "event"},
/* callbackUrl: optional, an absolute http(s) URL */
#define CB(v) "{" N_OK ",\"body\":\"x\",\"callbackUrl\":" v "}"
    {NOTIF, CB("\"https://example.com/hooks?n=1\""), 0, NULL},
    {NOTIF, CB("\"http://example.com:8080/\""), 0, NULL},
    {NOTIF, CB("\"ftp://example.com/\""), 422, "callbackUrl"},
    {NOTIF, CB("\"/relative\""), 422, "callbackUrl"},
    {NOTIF, CB("\"https://u:p@example.com/\""), 422, "callbackUrl"},
    {NOTIF, CB("\"https://example.com/a b\""), 422, "callbackUrl"},
    {NOTIF, CB("\"\""), 422, "callbackUrl"},
    {NOTIF, CB("42"), 422, "callbackUrl"},
    {NOTIF, CB("null"), 422, "callbackUrl"},
/* timestamps */
#define TS(v) "{\"externalId\":\"t:n\",\"event\":\"sent\",\"timestamp\":\"" v "\"}"
    {HOOK, TS("2025-03-01T12:00:00.000+01:00"), 0, ""}, /* RFC 3339 offsets accepted */
    {HOOK, TS("2025-03-01T12:00:00.000+00:00"), 0, ""},
    {HOOK, TS("2025-03-01T12:00:00.000-05:30"), 0, ""},
    {HOOK, TS("2025-03-01T12:00:00.000z"), 0, ""},
    {HOOK, TS("2025-03-01T12:00:00.000+0100"), 422, "timestamp"},
    {HOOK, TS("2025-03-01T12:00:00.000"), 422, "timestamp"},
    {HOOK, TS("2025-03-01 12:00:00.000Z"), 422, "timestamp"},
    {HOOK, TS("2025-03-01T12:00:00.000Zjunk"), 422, "timestamp"},
    {HOOK, TS("2025-02-30T12:00:00Z"), 422, "timestamp"},
    {HOOK, TS("2025-03-01T24:00:00Z"), 422, "timestamp"},
    {HOOK, TS("2025-3-1T12:00:00Z"), 422, "timestamp"},
    {HOOK, TS("1740830400000"), 422, "timestamp"},
    {HOOK, TS(""), 422, "timestamp"},
};

/* Read text as ingest reads a request body, then validate it as a notification: 0, or -1
 * with p filled. */
static int validate_text(const ns_channels *set, const char *text, ns_event *ev, ingest_problem *p)
{
	ns_jflat j;

	if (ingest_parse_body(&j, text, strlen(text), p))
		return -1;
	return ingest_validate_notification(set, &j, ev, p);
}

/* The same for a webhook. */
static int hook_text(const char *text, ns_event *ev, ingest_problem *p)
{
	ns_jflat j;

	if (ingest_parse_body(&j, text, strlen(text), p))
		return -1;
	return ingest_validate_webhook(chs, &j, ev, p);
}

/* validate_text of the object root, written out as text; root is released. */
static int validate_json(const ns_channels *set, json_t *root, ns_event *ev, ingest_problem *p)
{
	char *text;
	int rc;

	ck_assert_ptr_nonnull(root);
	text = json_dumps(root, JSON_COMPACT);
	ck_assert_ptr_nonnull(text);
	rc = validate_text(set, text, ev, p);
	free(text);
	json_decref(root);
	return rc;
}

START_TEST(test_cases)
{
	const vcase *c = &cases[_i];
	ingest_problem p;
	ns_event ev;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = c->k == NOTIF ? validate_text(chs, c->json, &ev, &p) : hook_text(c->json, &ev, &p);
	if (c->status == 0) {
		ck_assert_msg(rc == 0, "case %d %s: refused %d field=%s (%s)", _i, c->json,
			      p.status, p.field, p.detail);
	} else {
		ck_assert_msg(rc != 0, "case %d %s: accepted", _i, c->json);
		ck_assert_msg(p.status == c->status, "case %d %s: status %d, want %d", _i, c->json,
			      p.status, c->status);
		ck_assert_msg(!strcmp(p.field, c->field), "case %d %s: field '%s', want '%s'", _i,
			      c->json, p.field, c->field);
		ck_assert_msg(p.detail[0] != '\0', "case %d: empty detail", _i);
	}
}
END_TEST

/* The destination rule: ingest refuses callbacks to private space unless allowed. */
START_TEST(test_callback_destination)
{
	static const struct {
		const char *url;
		int pub;
	} dests[] = {{"https://example.com/cb", 1},  {"http://127.0.0.1:9000/cb", 0},
		     {"http://localhost/cb", 0},     {"http://10.0.0.7/", 0},
		     {"http://169.254.169.254/", 0}, {"http://[::1]/", 0},
		     {"https://93.184.216.34/", 1}};
	ns_event ev;
	ingest_problem p;

	for (size_t i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		snprintf(ev.callback_url, sizeof(ev.callback_url), "%s", dests[i].url);
		ck_assert_msg((ingest_check_callback(&ev, 0, &p) == 0) == dests[i].pub, "%s",
			      dests[i].url);
		if (!dests[i].pub) {
			ck_assert_int_eq(p.status, 422);
			ck_assert_str_eq(p.field, "callbackUrl");
		}
		ck_assert_int_eq(ingest_check_callback(&ev, 1, &p), 0); /* allowed */
	}
	memset(&ev, 0, sizeof(ev)); /* none at all */
	ck_assert_int_eq(ingest_check_callback(&ev, 0, &p), 0);
}
END_TEST

START_TEST(test_notification_fills_event)
{
	ingest_problem p;
	ns_event ev;
	const char *text = "{\"externalId\":\"notif-123\",\"channel\":\"whatsapp\","
			   "\"to\":\"+4915112345678\",\"body\":\"hi \\u00e9\"}";

	ck_assert_msg(validate_text(chs, text, &ev, &p) == 0, "%s", p.detail);
	ck_assert_int_eq(ev.type, NS_EV_REQUESTED);
	ck_assert_int_eq(ev.source, NS_SRC_API);
	ck_assert_str_eq(ev.external_id, "notif-123");
	ck_assert_str_eq(ev.channel, "whatsapp");
	ck_assert_str_eq(ev.to, "+4915112345678");
	ck_assert_str_eq(ev.body, "hi \xc3\xa9");
	ck_assert_str_eq(ev.status, "");
}
END_TEST

START_TEST(test_webhook_fills_event)
{
	ingest_problem p;
	ns_event ev;
	int64_t want = 0;
	const char *text = "{\"externalId\":\"acme:notif-123\",\"event\":\"delivered\","
			   "\"timestamp\":\"2025-03-01T12:00:00.250Z\"}";

	ck_assert_msg(hook_text(text, &ev, &p) == 0, "%s", p.detail);
	ck_assert_str_eq(ev.tenant, "acme");
	ck_assert_int_eq(ns_time_parse("2025-03-01T12:00:00.250Z", &want), 0);
	ck_assert_int_eq(ev.type, NS_EV_STATUS);
	ck_assert_int_eq(ev.source, NS_SRC_PROVIDER);
	ck_assert_str_eq(ev.external_id, "notif-123");
	ck_assert_str_eq(ev.status, "delivered");
	ck_assert_str_eq(ev.channel, "");
	ck_assert_int_eq(ev.occurred_at, want);
}
END_TEST

/* A body of more members than the reader keeps is refused whole (400), and saying so. */
START_TEST(test_many_members)
{
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof(text), "{" N_OK ",\"body\":\"x\"");
	ingest_problem p;
	ns_event ev;

	for (int i = 0; i < NS_JFLAT_MAX_MEMBERS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, ",\"m%d\":%d", i, i);
	snprintf(text + n, sizeof(text) - n, "}");
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(validate_text(chs, text, &ev, &p), -1);
	ck_assert_int_eq(p.status, 400);
	ck_assert_str_eq(p.field, "");
	ck_assert_msg(strstr(p.detail, "members"), "%s", p.detail);
}
END_TEST

/* Build a notification whose body or externalId has n bytes of c. */
static int validate_sized(const char *member, size_t n, char c, ingest_problem *p)
{
	ns_event ev;
	char *fill = malloc(n + 1);
	json_t *root;
	int rc;

	ck_assert_ptr_nonnull(fill);
	memset(fill, c, n);
	fill[n] = '\0';
	root = json_pack("{s:s, s:s, s:s, s:s}", "externalId", "n-1", "channel", "sms", "to",
			 "+4915112345678", "body", "x");
	ck_assert_ptr_nonnull(root);
	json_object_set_new(root, member, json_string(fill));
	rc = validate_json(chs, root, &ev, p);
	if (rc == 0 && !strcmp(member, "body"))
		ck_assert_uint_eq(strlen(ev.body), n);
	if (rc == 0 && !strcmp(member, "externalId"))
		ck_assert_uint_eq(strlen(ev.external_id), n);
	free(fill);
	return rc;
}

START_TEST(test_limits)
{
	ingest_problem p;

	ck_assert_int_eq(validate_sized("body", NS_BODY_MAX, 'b', &p), 0);
	ck_assert_int_eq(validate_sized("body", NS_BODY_MAX + 1, 'b', &p), -1);
	ck_assert_int_eq(p.status, 422);
	ck_assert_str_eq(p.field, "body");
	ck_assert_int_eq(validate_sized("body", 100000, 'b', &p), -1);
	ck_assert_str_eq(p.field, "body");
	ck_assert_int_eq(validate_sized("externalId", NS_EXTID_MAX, 'x', &p), 0);
	ck_assert_int_eq(validate_sized("externalId", NS_EXTID_MAX + 1, 'x', &p), -1);
	ck_assert_int_eq(p.status, 422);
	ck_assert_str_eq(p.field, "externalId");
}
END_TEST

static const struct {
	const char *bytes;
	int ok;
} utf8_cases[] = {
    {"plain ascii", 1},
    {"\xc3\xa9", 1},
    {"\xe2\x82\xac", 1},
    {"\xf0\x9f\x98\x80", 1},
    {"\xf4\x8f\xbf\xbf", 1}, /* U+10FFFF */
    {"\xc3", 0},	     /* truncated */
    {"\xe2\x82", 0},	     /* truncated */
    {"\xc0\xaf", 0},	     /* overlong '/' */
    {"\xe0\x80\xaf", 0},     /* overlong */
    {"\xed\xa0\x80", 0},     /* surrogate U+D800 */
    {"\xf4\x90\x80\x80", 0}, /* past U+10FFFF */
    {"\x80", 0},	     /* lone continuation */
    {"\xff", 0},	     /* never valid */
    {"a\xc3\x28", 0},	     /* bad continuation */
};

START_TEST(test_utf8)
{
	ck_assert_msg(ns_check_utf8(utf8_cases[_i].bytes, strlen(utf8_cases[_i].bytes)) ==
			  utf8_cases[_i].ok,
		      "utf8 case %d", _i);
}
END_TEST

START_TEST(test_utf8_nul_and_helpers)
{
	ck_assert(!ns_check_utf8("a\0b", 3));
	ck_assert(ns_check_utf8("", 0));
	ck_assert(ns_check_e164("+4915112345678", 14));
	ck_assert(!ns_check_e164(NULL, 0));
	ck_assert(ns_check_printable("!~", 2, NS_EXTID_MAX));
	ck_assert(!ns_check_printable("a\0", 2, NS_EXTID_MAX));
}
END_TEST

/* A channel set with an email channel, from a temporary folder: the address kind comes
 * from the channel file, so ingest checks `to` per channel with no code for email. */
static ns_channels *load_with_email(void)
{
	static const struct {
		const char *name, *text;
	} files[] = {
	    {"email.json",
	     "{\"name\":\"email\",\"address\":\"email\",\"initial\":\"queued\",\"statuses\":"
	     "[\"queued\",\"processing\",\"failed\",\"sent\",\"delivered\",\"opened\","
	     "\"bounced\"],\"transitions\":[[\"queued\",\"processing\"],[\"queued\",\"failed\"],"
	     "[\"processing\",\"sent\"],[\"sent\",\"delivered\"],[\"delivered\",\"opened\"],"
	     "[\"sent\",\"bounced\"]]}"},
	    {"sms.json",
	     "{\"name\":\"sms\",\"address\":\"e164\",\"initial\":\"queued\","
	     "\"statuses\":[\"queued\",\"sent\"],\"transitions\":[[\"queued\",\"sent\"]]}"},
	    {"push.json",
	     "{\"name\":\"push\",\"initial\":\"queued\","
	     "\"statuses\":[\"queued\",\"sent\"],\"transitions\":[[\"queued\",\"sent\"]]}"},
	};
	const char *dir = nt_tmpdir("validate-email");
	char path[1024], err[512];
	ns_channels *set;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		f = fopen(path, "w");
		ck_assert_msg(f != NULL, "open %s", path);
		fputs(files[i].text, f);
		ck_assert_int_eq(fclose(f), 0);
	}
	set = ns_channels_load(dir, err, sizeof(err));
	ck_assert_msg(set != NULL, "%s", err);
	return set;
}

static const struct {
	const char *channel, *to;
	const char *expect; /* NULL: accepted; else a word of the problem detail */
} email_cases[] = {
    {"email", "ada@example.com", NULL},
    {"email", "ada.lovelace+news@mail.example.co.uk", NULL},
    {"email", "+4915112345678", "email address"}, /* E.164 refused for email */
    {"email", "ada@localhost", "email address"},
    {"email", "ada@@example.com", "email address"},
    {"email", "ada lovelace@example.com", "email address"},
    {"email", "", "email address"},
    {"sms", "ada@example.com", "E.164"}, /* email refused for sms */
    {"sms", "+4915112345678", NULL},
    {"push", "ada@example.com", "E.164"}, /* no "address": e164 */
    {"push", "+4915112345678", NULL},
};

START_TEST(test_email_channel)
{
	ns_channels *set = load_with_email();

	for (size_t i = 0; i < sizeof(email_cases) / sizeof(email_cases[0]); i++) {
		ingest_problem p;
		ns_event ev;
		json_t *root =
		    json_pack("{s:s, s:s, s:s, s:s}", "externalId", "n-1", "channel",
			      email_cases[i].channel, "to", email_cases[i].to, "body", "hello");
		int rc;

		memset(&p, 0, sizeof(p));
		rc = validate_json(set, root, &ev, &p);
		if (!email_cases[i].expect) {
			ck_assert_msg(rc == 0, "%s to %s: refused (%s)", email_cases[i].channel,
				      email_cases[i].to, p.detail);
			ck_assert_str_eq(ev.to, email_cases[i].to);
			ck_assert_str_eq(ev.channel, email_cases[i].channel);
			continue;
		}
		ck_assert_msg(rc != 0, "%s to %s: accepted", email_cases[i].channel,
			      email_cases[i].to);
		ck_assert_int_eq(p.status, 422);
		ck_assert_str_eq(p.field, "to");
		ck_assert_msg(strstr(p.detail, email_cases[i].expect) &&
				  strstr(p.detail, email_cases[i].channel),
			      "%s to %s: detail '%s' should name '%s' and the channel",
			      email_cases[i].channel, email_cases[i].to, p.detail,
			      email_cases[i].expect);
	}
	ns_channels_free(set);
}
END_TEST

/* The longest email fits NS_TO_MAX; one byte more is refused. */
START_TEST(test_email_limits)
{
	ns_channels *set = load_with_email();
	char to[NS_TO_MAX + 2];
	ingest_problem p;
	ns_event ev;
	json_t *root;

	memset(to, 'a', sizeof(to));
	memcpy(to + NS_TO_MAX - 12, "@example.com", 13);
	root = json_pack("{s:s, s:s, s:s, s:s}", "externalId", "n-1", "channel", "email", "to", to,
			 "body", "x");
	ck_assert_int_eq(validate_json(set, root, &ev, &p), 0);
	ck_assert_uint_eq(strlen(ev.to), NS_TO_MAX);

	memset(to, 'a', sizeof(to));
	memcpy(to + NS_TO_MAX + 1 - 12, "@example.com", 13);
	root = json_pack("{s:s, s:s, s:s, s:s}", "externalId", "n-1", "channel", "email", "to", to,
			 "body", "x");
	ck_assert_int_eq(validate_json(set, root, &ev, &p), -1);
	ck_assert_int_eq(p.status, 422);
	ck_assert_str_eq(p.field, "to");
	ns_channels_free(set);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("validate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_cases, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_notification_fills_event);
	tcase_add_test(tc, test_many_members);
	tcase_add_test(tc, test_callback_destination);
	tcase_add_test(tc, test_webhook_fills_event);
	tcase_add_test(tc, test_limits);
	tcase_add_loop_test(tc, test_utf8, 0, (int)(sizeof(utf8_cases) / sizeof(utf8_cases[0])));
	tcase_add_test(tc, test_utf8_nul_and_helpers);
	tcase_add_test(tc, test_email_channel);
	tcase_add_test(tc, test_email_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return nt_run_suite(suite());
}
