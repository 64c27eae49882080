/* test_event.c -- unit tests of ns_event: encode/decode round trips for every type, a
 * table of malformed values each refused with a message (never a crash), an email `to`
 * (either address form is accepted by the codec), and deterministic event ids. */
#include "ns_event.h"
#include "ns_time.h"

#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ns_event sample(ns_event_type t)
{
	ns_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = t;
	snprintf(ev.external_id, sizeof(ev.external_id), "notif-123");
	snprintf(ev.channel, sizeof(ev.channel), "whatsapp");
	ev.occurred_at = 1740830400123LL; /* 2025-03-01T12:00:00.123Z */
	ev.received_at = 1740830400456LL;
	switch (t) {
	case NS_EV_REQUESTED:
		ev.source = NS_SRC_API;
		snprintf(ev.to, sizeof(ev.to), "+4915112345678");
		snprintf(ev.body, sizeof(ev.body), "Hello \"world\"\n\xc3\xa4 tab\t");
		break;
	case NS_EV_DISPATCHED:
		ev.source = NS_SRC_SENDER;
		snprintf(ev.status, sizeof(ev.status), "processing");
		snprintf(ev.provider_id, sizeof(ev.provider_id), "prov-77");
		break;
	case NS_EV_FAILED:
		ev.source = NS_SRC_SENDER;
		snprintf(ev.status, sizeof(ev.status), "failed");
		snprintf(ev.reason, sizeof(ev.reason), "provider refused: bad number");
		ev.code = 422;
		break;
	case NS_EV_STATUS:
		ev.source = NS_SRC_PROVIDER;
		ev.channel[0] = '\0';
		snprintf(ev.status, sizeof(ev.status), "delivered");
		break;
	case NS_EV_CALLBACK:
		ev.source = NS_SRC_CALLBACKS;
		snprintf(ev.status, sizeof(ev.status), "retrying");
		snprintf(ev.delivery_id, sizeof(ev.delivery_id),
			 "0123456789abcdef0123456789abcdef");
		snprintf(ev.reason, sizeof(ev.reason), "HTTP 503");
		ev.version = 3;
		ev.attempt = 2;
		ev.code = 503;
		break;
	}
	ns_event_make_id(&ev);
	return ev;
}

static void assert_same(const ns_event *a, const ns_event *b)
{
	ck_assert_str_eq(a->id, b->id);
	ck_assert_int_eq(a->type, b->type);
	ck_assert_int_eq(a->source, b->source);
	ck_assert_str_eq(a->external_id, b->external_id);
	ck_assert_str_eq(a->channel, b->channel);
	ck_assert_int_eq(a->occurred_at, b->occurred_at);
	ck_assert_int_eq(a->received_at, b->received_at);
	ck_assert_str_eq(a->status, b->status);
	ck_assert_str_eq(a->to, b->to);
	ck_assert_str_eq(a->body, b->body);
	ck_assert_str_eq(a->provider_id, b->provider_id);
	ck_assert_str_eq(a->reason, b->reason);
	ck_assert_int_eq(a->code, b->code);
	ck_assert_str_eq(a->callback_url, b->callback_url);
	ck_assert_str_eq(a->delivery_id, b->delivery_id);
	ck_assert_int_eq(a->version, b->version);
	ck_assert_int_eq(a->attempt, b->attempt);
}

START_TEST(test_round_trip)
{
	ns_event ev = sample((ns_event_type)_i), back;
	char err[256];
	size_t len = 0;
	char *json = ns_event_encode(&ev, &len);

	ck_assert_ptr_nonnull(json);
	ck_assert_uint_eq(len, strlen(json));
	ck_assert_msg(ns_event_decode(json, len, &back, err, sizeof(err)) == 0, "%s: %s", err,
		      json);
	assert_same(&ev, &back);
	ck_assert_str_eq(ns_event_type_name(back.type), ns_event_type_name(ev.type));
	/* re-encoding gives the same bytes */
	char *again = ns_event_encode(&back, NULL);
	ck_assert_ptr_nonnull(again);
	ck_assert_str_eq(json, again);
	free(again);
	free(json);
}
END_TEST

START_TEST(test_requested_claims_nothing)
{
	ns_event ev = sample(NS_EV_REQUESTED), back;
	char err[256];
	char *json = ns_event_encode(&ev, NULL);

	ck_assert_ptr_nonnull(json);
	ck_assert_ptr_null(strstr(json, "\"status\""));
	ck_assert_int_eq(ns_event_decode(json, strlen(json), &back, err, sizeof(err)), 0);
	ck_assert_str_eq(back.status, "");
	free(json);
}
END_TEST

START_TEST(test_wire_form)
{
	static const char in[] =
	    "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"status\","
	    "\"externalId\":\"notif-123\",\"channel\":\"\",\"occurredAt\":\"2025-03-01T12:00:"
	    "00.000Z\",\"receivedAt\":\"2025-03-01T12:00:01Z\",\"source\":\"provider\","
	    "\"data\":{\"status\":\"delivered\",\"extra\":{\"ignored\":true}}}";
	ns_event ev;
	char err[256];
	int64_t want;

	ck_assert_msg(ns_event_decode(in, strlen(in), &ev, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(ev.type, NS_EV_STATUS);
	ck_assert_int_eq(ev.source, NS_SRC_PROVIDER);
	ck_assert_str_eq(ev.status, "delivered");
	ck_assert_str_eq(ev.channel, "");
	ck_assert_int_eq(ns_time_parse("2025-03-01T12:00:00.000Z", &want), 0);
	ck_assert_int_eq(ev.occurred_at, want);
	ck_assert_int_eq(ev.received_at, want + 1000);
	/* not NUL-terminated at len: decode must use len only */
	char buf[sizeof(in) + 8];
	memcpy(buf, in, sizeof(in) - 1);
	memcpy(buf + sizeof(in) - 1, "garbage", 8);
	ck_assert_int_eq(ns_event_decode(buf, sizeof(in) - 1, &ev, err, sizeof(err)), 0);
}
END_TEST

/* Malformed inputs: each must be refused with a non-empty message. */
#define HEAD                                                                                       \
	"\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","              \
	"\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\""
#define REQ_DATA "\"data\":{\"to\":\"+4915112345678\",\"body\":\"hi\"}"
#define REQ(extra)                                                                                 \
	"{" HEAD ",\"type\":\"requested\",\"channel\":\"sms\",\"source\":\"api\"," extra "}"
#define STA(data)                                                                                  \
	"{" HEAD ",\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":" data "}"

static const struct {
	const char *what, *json, *fault;
} bad[] = {
    {"empty", "", "not JSON"},
    {"not json", "{nope", "not JSON"},
    {"array", "[]", "not a JSON object"},
    {"string", "\"x\"", "not JSON"},
    {"truncated", "{\"v\":1,\"id\":", "not JSON"},
    {"nul inside", "{\"v\":1,\"id\":\"a\\u0000b\"}", "not JSON"},
    {"duplicate member",
     "{\"v\":1,\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "duplicate"},
    {"unknown version",
     "{\"v\":2,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "unsupported version"},
    {"version as string",
     "{\"v\":\"1\",\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "unsupported version"},
    {"missing version",
     "{\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "missing v"},
    {"unknown envelope member", REQ(REQ_DATA ",\"extra\":1"), "unknown member extra"},
    {"missing data", "{" HEAD ",\"type\":\"requested\",\"channel\":\"sms\",\"source\":\"api\"}",
     "missing data"},
    {"data not object", STA("[]"), "data is not an object"},
    {"unknown type",
     "{" HEAD ",\"type\":\"opened\",\"channel\":\"\",\"source\":\"provider\",\"data\":{}}",
     "unknown type"},
    {"type not string",
     "{" HEAD ",\"type\":3,\"channel\":\"\",\"source\":\"provider\",\"data\":{}}",
     "type is not a string"},
    {"unknown source",
     "{" HEAD ",\"type\":\"status\",\"channel\":\"\",\"source\":\"me\",\"data\":{\"status\":"
     "\"sent\"}}",
     "unknown source"},
    {"status without status", STA("{}"), "missing data.status"},
    {"status as number", STA("{\"status\":5}"), "data.status is not a string"},
    {"status too long", STA("{\"status\":\"abcdefghijabcdefghijabcdefghijabc\"}"),
     "data.status longer"},
    {"status bad form", STA("{\"status\":\"Sent!\"}"), "data.status has an invalid form"},
    {"status with to", STA("{\"status\":\"sent\",\"to\":\"+4915112345678\"}"),
     "data.to is not allowed"},
    {"requested missing to", REQ("\"data\":{\"body\":\"hi\"}"), "missing data.to"},
    {"requested missing body", REQ("\"data\":{\"to\":\"+4915112345678\"}"), "missing data.body"},
    {"requested empty body", REQ("\"data\":{\"to\":\"+4915112345678\",\"body\":\"\"}"),
     "data.body is empty"},
    {"requested to not e164", REQ("\"data\":{\"to\":\"015112345678\",\"body\":\"hi\"}"),
     "data.to has an invalid form"},
    {"requested to too long for e164",
     REQ("\"data\":{\"to\":\"+12345678901234567\",\"body\":\"hi\"}"),
     "data.to has an invalid form"},
    {"requested to email without @", REQ("\"data\":{\"to\":\"ada.example.com\",\"body\":\"hi\"}"),
     "data.to has an invalid form"},
    {"requested to email two @", REQ("\"data\":{\"to\":\"ada@b@example.com\",\"body\":\"hi\"}"),
     "data.to has an invalid form"},
    {"requested to email empty local", REQ("\"data\":{\"to\":\"@example.com\",\"body\":\"hi\"}"),
     "data.to has an invalid form"},
    {"requested to email no dot in domain",
     REQ("\"data\":{\"to\":\"ada@localhost\",\"body\":\"hi\"}"), "data.to has an invalid form"},
    {"requested to email empty label",
     REQ("\"data\":{\"to\":\"ada@example..com\",\"body\":\"hi\"}"), "data.to has an invalid form"},
    {"requested to email trailing dot",
     REQ("\"data\":{\"to\":\"ada@example.com.\",\"body\":\"hi\"}"), "data.to has an invalid form"},
    {"requested to email with space",
     REQ("\"data\":{\"to\":\"ada lovelace@example.com\",\"body\":\"hi\"}"),
     "data.to has an invalid form"},
    {"requested to email non-ascii",
     REQ("\"data\":{\"to\":\"ad\xc3\xa4@example.com\",\"body\":\"hi\"}"),
     "data.to has an invalid form"},
    {"requested with status",
     REQ("\"data\":{\"to\":\"+4915112345678\",\"body\":\"hi\",\"status\":\"sent\"}"),
     "data.status is not allowed"},
    {"requested empty channel",
     "{" HEAD ",\"type\":\"requested\",\"channel\":\"\",\"source\":\"api\"," REQ_DATA "}",
     "channel is empty"},
    {"requested channel bad form",
     "{" HEAD ",\"type\":\"requested\",\"channel\":\"S M S\",\"source\":\"api\"," REQ_DATA "}",
     "channel has an invalid form"},
    {"channel too long",
     "{" HEAD ",\"type\":\"requested\",\"channel\":\"abcdefghijabcdefghijabcdefghijabc\","
     "\"source\":\"api\"," REQ_DATA "}",
     "channel longer"},
    {"dispatched missing providerId",
     "{" HEAD ",\"type\":\"dispatched\",\"channel\":\"sms\",\"source\":\"sender\",\"data\":{"
     "\"status\":\"processing\"}}",
     "missing data.providerId"},
    {"failed bad code",
     "{" HEAD ",\"type\":\"failed\",\"channel\":\"sms\",\"source\":\"sender\",\"data\":{"
     "\"status\":\"failed\",\"reason\":\"x\",\"code\":\"422\"}}",
     "data.code"},
    {"failed code out of range",
     "{" HEAD ",\"type\":\"failed\",\"channel\":\"sms\",\"source\":\"sender\",\"data\":{"
     "\"status\":\"failed\",\"reason\":\"x\",\"code\":100000}}",
     "data.code"},
    {"failed missing reason",
     "{" HEAD ",\"type\":\"failed\",\"channel\":\"sms\",\"source\":\"sender\",\"data\":{"
     "\"status\":\"failed\"}}",
     "missing data.reason"},
    {"bad id",
     "{\"v\":1,\"id\":\"xyz\",\"externalId\":\"n-1\",\"occurredAt\":\"2025-03-01T12:00:00.000Z\","
     "\"receivedAt\":\"2025-03-01T12:00:00.000Z\",\"type\":\"status\",\"channel\":\"\","
     "\"source\":\"provider\",\"data\":{\"status\":\"sent\"}}",
     "id has an invalid form"},
    {"uppercase id",
     "{\"v\":1,\"id\":\"0123456789ABCDEF0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "id has an invalid form"},
    {"empty externalId",
     "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "externalId is empty"},
    {"externalId with control char",
     "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"a\\nb\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "externalId has an invalid form"},
    {"externalId too long",
     "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":"
     "\"0123456789012345678901234567890123456789012345678901234567890123456789012345678901"
     "234567890123456789012345678901234567890123456789\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "externalId longer"},
    {"timestamp with offset and no colon",
     "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000+0100\",\"receivedAt\":\"2025-03-01T12:00:00."
     "000Z\",\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{"
     "\"status\":\"sent\"}}",
     "occurredAt is not an ISO"},
    {"timestamp invalid date",
     "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":\"2025-02-29T12:00:00.000Z\",\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "occurredAt is not an ISO"},
    {"timestamp as number",
     "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":1740830400000,\"receivedAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "occurredAt is not a string"},
    {"missing receivedAt",
     "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"externalId\":\"n-1\","
     "\"occurredAt\":\"2025-03-01T12:00:00.000Z\","
     "\"type\":\"status\",\"channel\":\"\",\"source\":\"provider\",\"data\":{\"status\":"
     "\"sent\"}}",
     "missing receivedAt"},
};

START_TEST(test_malformed)
{
	ns_event ev;
	char err[256];

	memset(&ev, 0x5a, sizeof(ev));
	err[0] = '\0';
	ck_assert_msg(ns_event_decode(bad[_i].json, strlen(bad[_i].json), &ev, err, sizeof(err)) ==
			  -1,
		      "%s: accepted", bad[_i].what);
	ck_assert_msg(strstr(err, bad[_i].fault) != NULL, "%s: want \"%s\" in: %s", bad[_i].what,
		      bad[_i].fault, err);
	ck_assert_str_eq(ev.id, ""); /* refused events leave a zeroed struct */
}
END_TEST

START_TEST(test_oversized_and_null)
{
	ns_event ev;
	char err[256];
	size_t n = 70 * 1024;
	char *big = malloc(n);
	ns_event req = sample(NS_EV_REQUESTED);
	char *json;

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	ck_assert_int_eq(ns_event_decode(big, n, &ev, err, sizeof(err)), -1);
	free(big);
	ck_assert_int_eq(ns_event_decode(NULL, 0, &ev, err, sizeof(err)), -1);
	/* a body of exactly the cap round-trips; one byte more is refused */
	memset(req.body, 'b', NS_BODY_MAX);
	req.body[NS_BODY_MAX] = '\0';
	json = ns_event_encode(&req, NULL);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(ns_event_decode(json, strlen(json), &ev, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(strlen(ev.body), NS_BODY_MAX);
	free(json);
	{
		char *b = malloc(NS_BODY_MAX + 600);
		int len;
		ck_assert_ptr_nonnull(b);
		len = snprintf(b, NS_BODY_MAX + 600,
			       REQ("\"data\":{\"to\":\"+4915112345678\",\"body\":\"%0*d\"}"),
			       NS_BODY_MAX + 1, 0);
		ck_assert_int_gt(len, NS_BODY_MAX);
		ck_assert_int_eq(ns_event_decode(b, (size_t)len, &ev, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "body"));
		free(b);
	}
	/* err may be tiny */
	ck_assert_int_eq(ns_event_decode("[]", 2, &ev, err, 1), -1);
	ck_assert_int_eq(ns_event_decode("[]", 2, &ev, NULL, 0), -1);
}
END_TEST

/* An email `to` round-trips (the codec accepts either address form); one of exactly
 * NS_TO_MAX bytes too, one byte more is refused as too long, never truncated. */
START_TEST(test_email_to)
{
	ns_event req = sample(NS_EV_REQUESTED), back;
	char err[256], *json, *b;
	size_t cap = NS_TO_MAX + 1024;
	int len;

	snprintf(req.channel, sizeof(req.channel), "email");
	snprintf(req.to, sizeof(req.to), "ada.lovelace+news@mail.example.com");
	ns_event_make_id(&req);
	json = ns_event_encode(&req, NULL);
	ck_assert_ptr_nonnull(json);
	ck_assert_ptr_nonnull(strstr(json, "\"to\":\"ada.lovelace+news@mail.example.com\""));
	ck_assert_msg(ns_event_decode(json, strlen(json), &back, err, sizeof(err)) == 0, "%s: %s",
		      err, json);
	assert_same(&req, &back);
	free(json);

	/* 254 bytes: "a...a@example.com" */
	memset(req.to, 'a', NS_TO_MAX - 12);
	memcpy(req.to + NS_TO_MAX - 12, "@example.com", 13);
	ck_assert_uint_eq(strlen(req.to), NS_TO_MAX);
	ns_event_make_id(&req);
	json = ns_event_encode(&req, NULL);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(ns_event_decode(json, strlen(json), &back, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(back.to, req.to);
	free(json);

	b = malloc(cap);
	ck_assert_ptr_nonnull(b);
	len = snprintf(b, cap, REQ("\"data\":{\"to\":\"a%s\",\"body\":\"hi\"}"), req.to);
	ck_assert_int_gt(len, NS_TO_MAX);
	ck_assert_int_eq(ns_event_decode(b, (size_t)len, &back, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "data.to longer") != NULL, "%s", err);
	free(b);
}
END_TEST

/* The id of an event made of these parts only (memset first: nothing else set). */
static void id_of(ns_event *ev, ns_event_type type, const char *tenant, const char *status,
		  int64_t occurred_at)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	snprintf(ev->tenant, sizeof(ev->tenant), "%s", tenant);
	snprintf(ev->external_id, sizeof(ev->external_id), "order-1");
	snprintf(ev->status, sizeof(ev->status), "%s", status);
	ev->occurred_at = occurred_at;
}

/* Ids never change between versions: stored histories and a provider's retries after an
 * upgrade depend on them. Each expected value is the first 16 bytes, in hex, of SHA-256
 * over the parts joined by 0x1f, as ns_event.h defines them (computed apart, by Python's
 * hashlib). */
START_TEST(test_ids_known_answers)
{
	ns_event ev;

	id_of(&ev, NS_EV_REQUESTED, "acme", "", 0);
	snprintf(ev.channel, sizeof(ev.channel), "sms");
	snprintf(ev.to, sizeof(ev.to), "+4915112345678");
	snprintf(ev.body, sizeof(ev.body), "hello");
	ns_event_make_id(&ev);
	ck_assert_str_eq(ev.id, "f033c545ee998f9ea19dc94a9f5c2c37");

	id_of(&ev, NS_EV_STATUS, "acme", "delivered", 1740830400123LL);
	ns_event_make_id(&ev);
	ck_assert_str_eq(ev.id, "22282c530a2d9ab7ecb989d13b0cb5f3");
	id_of(&ev, NS_EV_STATUS, "", "delivered", 1740830400123LL); /* before tenants */
	ns_event_make_id(&ev);
	ck_assert_str_eq(ev.id, "6bf0022a60c61c8a2584ff6bca8115b6");

	id_of(&ev, NS_EV_CALLBACK, "acme", "retrying", 0);
	snprintf(ev.delivery_id, sizeof(ev.delivery_id), "0123456789abcdef0123456789abcdef");
	ev.attempt = 2;
	ns_event_make_id(&ev);
	ck_assert_str_eq(ev.id, "33419c32f8314bd5750d8134ba7cda79");

	id_of(&ev, NS_EV_DISPATCHED, "acme", "processing", 0);
	ns_event_make_id(&ev);
	ck_assert_str_eq(ev.id, "e7e3a68a55b613b43cab6e0c2ca81712");
	id_of(&ev, NS_EV_FAILED, "acme", "failed", 0);
	ns_event_make_id(&ev);
	ck_assert_str_eq(ev.id, "c5228d3ab1fd993c3068cd1e86e1c649");
}
END_TEST

START_TEST(test_ids)
{
	ns_event a = sample(NS_EV_STATUS), b = sample(NS_EV_STATUS);
	ns_event r1 = sample(NS_EV_REQUESTED), r2 = sample(NS_EV_REQUESTED);
	ns_event d1 = sample(NS_EV_DISPATCHED), f1 = sample(NS_EV_FAILED);
	char copy[NS_EVENT_ID_LEN + 1];

	ck_assert_uint_eq(strlen(a.id), NS_EVENT_ID_LEN);
	for (size_t i = 0; i < NS_EVENT_ID_LEN; i++)
		ck_assert(strchr("0123456789abcdef", a.id[i]) != NULL);
	/* same webhook parts -> same id, whatever else differs (receivedAt, source) */
	b.received_at += 5000;
	ns_event_make_id(&b);
	ck_assert_str_eq(a.id, b.id);
	/* each part changes the id */
	memcpy(copy, a.id, sizeof(copy));
	b = a;
	b.occurred_at += 1;
	ns_event_make_id(&b);
	ck_assert_str_ne(copy, b.id);
	b = a;
	snprintf(b.status, sizeof(b.status), "sent");
	ns_event_make_id(&b);
	ck_assert_str_ne(copy, b.id);
	b = a;
	snprintf(b.external_id, sizeof(b.external_id), "notif-124");
	ns_event_make_id(&b);
	ck_assert_str_ne(copy, b.id);
	/* separators matter: ("ab","c") differs from ("a","bc") */
	r1.to[0] = '\0';
	snprintf(r1.body, sizeof(r1.body), "+1x");
	snprintf(r2.to, sizeof(r2.to), "+1");
	snprintf(r2.body, sizeof(r2.body), "x");
	ns_event_make_id(&r1);
	ns_event_make_id(&r2);
	ck_assert_str_ne(r1.id, r2.id);
	/* requested: same content -> same id; other body -> other id */
	r1 = sample(NS_EV_REQUESTED);
	r2 = sample(NS_EV_REQUESTED);
	r2.occurred_at += 99;
	ns_event_make_id(&r2);
	ck_assert_str_eq(r1.id, r2.id);
	snprintf(r2.body, sizeof(r2.body), "other");
	ns_event_make_id(&r2);
	ck_assert_str_ne(r1.id, r2.id);
	/* dispatched/failed: one per (externalId, type) */
	ck_assert_str_ne(d1.id, f1.id);
	b = sample(NS_EV_DISPATCHED);
	snprintf(b.provider_id, sizeof(b.provider_id), "other");
	ns_event_make_id(&b);
	ck_assert_str_eq(d1.id, b.id);
	/* a fixed vector, so that the id never changes silently between versions:
	 * sha256("status\x1fnotif-123\x1f" "delivered\x1f" "2025-03-01T12:00:00.123Z") */
	ck_assert_str_eq(a.id, "28a56afa1d2e34d706c2797403ebcd7c");
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(ns_event_type_name(NS_EV_REQUESTED), "requested");
	ck_assert_str_eq(ns_event_type_name(NS_EV_STATUS), "status");
	ck_assert_str_eq(ns_event_type_name((ns_event_type)42), "?");
	ck_assert_str_eq(ns_event_source_name(NS_SRC_PROVIDER), "provider");
	ck_assert_str_eq(ns_event_source_name((ns_event_source)-1), "?");
}
END_TEST

/* References: "<tenant>:<externalId>", or the externalId alone; -1 when out does not hold
 * it with its NUL; ns_event_ref_split takes one apart again. */
START_TEST(test_refs)
{
	char out[NS_REF_MAX + 1], small[9], tenant[NS_TENANT_MAX + 1], id[NS_EXTID_MAX + 1];
	char longest[NS_EXTID_MAX + 1];

	ck_assert_int_eq(ns_event_ref("acme", "order-1", out, sizeof(out)), 12);
	ck_assert_str_eq(out, "acme:order-1");
	ck_assert_int_eq(ns_event_ref_split(out, tenant, id), 0);
	ck_assert_str_eq(tenant, "acme");
	ck_assert_str_eq(id, "order-1");
	ck_assert_int_eq(ns_event_ref("", "order-1", out, sizeof(out)), 7);
	ck_assert_str_eq(out, "order-1");
	ck_assert_int_eq(ns_event_ref(NULL, "order-1", out, sizeof(out)), 7);
	ck_assert_str_eq(out, "order-1");
	ck_assert_int_eq(ns_event_ref_split(out, tenant, id), -1); /* no tenant, no ':' */
	/* 8 characters and the NUL fit 9 bytes; 9 do not */
	ck_assert_int_eq(ns_event_ref("ab", "c-1-2", small, sizeof(small)), 8);
	ck_assert_str_eq(small, "ab:c-1-2");
	ck_assert_int_eq(ns_event_ref("ab", "c-1-23", small, sizeof(small)), -1);
	ck_assert_int_eq(ns_event_ref(NULL, "c-1-2345", small, sizeof(small)), 8);
	ck_assert_int_eq(ns_event_ref(NULL, "c-1-23456", small, sizeof(small)), -1);
	/* the longest tenant and externalId fit NS_REF_MAX */
	memset(longest, 'x', NS_EXTID_MAX);
	longest[NS_EXTID_MAX] = '\0';
	memset(tenant, 't', NS_TENANT_MAX);
	tenant[NS_TENANT_MAX] = '\0';
	ck_assert_int_eq(ns_event_ref(tenant, longest, out, sizeof(out)), NS_REF_MAX);
	ck_assert_int_eq(ns_event_ref_split(out, tenant, id), 0);
	ck_assert_str_eq(id, longest);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("event");

	tcase_add_loop_test(tc, test_round_trip, NS_EV_REQUESTED, NS_EV_CALLBACK + 1);
	tcase_add_test(tc, test_requested_claims_nothing);
	tcase_add_test(tc, test_wire_form);
	tcase_add_loop_test(tc, test_malformed, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_oversized_and_null);
	tcase_add_test(tc, test_email_to);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_ids_known_answers);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_refs);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
