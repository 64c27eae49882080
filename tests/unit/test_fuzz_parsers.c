/* test_fuzz_parsers.c -- mutation fuzzing of every parser that reads outside input.
 *
 * Seeds are valid inputs (event envelopes of every type, webhook and notification bodies,
 * timestamps); each round flips, inserts, deletes or duplicates bytes, splices two seeds,
 * or truncates, and feeds the result to the parser. The parsers must never crash, read
 * out of bounds or leak (this runner is part of `make asan`), and anything the event
 * decoder accepts must re-encode and decode to the same event. The generator is seeded
 * per round, so a failure names the round that reproduces it. */
#include "ingest/validate.h"
#include "ns_channel.h"
#include "ns_event.h"
#include "ns_time.h"
#include "nt.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 100000
#define MAXLEN 2048

static const char *const event_seeds[] = {
    "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"requested\","
    "\"externalId\":\"n-1\",\"channel\":\"sms\",\"occurredAt\":\"2025-03-01T12:00:00.000Z\","
    "\"receivedAt\":\"2025-03-01T12:00:00.000Z\",\"source\":\"api\","
    "\"data\":{\"to\":\"+4915112345678\",\"body\":\"hello\"}}",
    "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"dispatched\","
    "\"externalId\":\"n-1\",\"channel\":\"sms\",\"occurredAt\":\"2025-03-01T12:00:00.000Z\","
    "\"receivedAt\":\"2025-03-01T12:00:00.000Z\",\"source\":\"sender\","
    "\"data\":{\"status\":\"processing\",\"providerId\":\"p-1\"}}",
    "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"failed\","
    "\"externalId\":\"n-1\",\"channel\":\"sms\",\"occurredAt\":\"2025-03-01T12:00:00.000Z\","
    "\"receivedAt\":\"2025-03-01T12:00:00.000Z\",\"source\":\"sender\","
    "\"data\":{\"status\":\"failed\",\"reason\":\"refused\",\"code\":422}}",
    "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"status\","
    "\"externalId\":\"n-1\",\"channel\":\"\",\"occurredAt\":\"2025-03-01T12:00:00.000Z\","
    "\"receivedAt\":\"2025-03-01T12:00:00.000Z\",\"source\":\"provider\","
    "\"data\":{\"status\":\"delivered\"}}",
};

static const char *const body_seeds[] = {
    "{\"channel\":\"sms\",\"to\":\"+4915112345678\",\"body\":\"hi\",\"externalId\":\"n-1\"}",
    "{\"channel\":\"whatsapp\",\"to\":\"+14155550100\",\"body\":\"\\u00e9t\\u00e9\","
    "\"externalId\":\"n-2\"}",
    "{\"externalId\":\"n-1\",\"event\":\"delivered\",\"timestamp\":\"2025-03-01T12:00:00.000Z\"}",
};

static const char *const time_seeds[] = {"2025-03-01T12:00:00.000Z", "2024-02-29T23:59:59Z",
					 "1970-01-01T00:00:00.123456789Z"};

/* xorshift64*: small, seedable, good enough to pick mutations. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static const char interesting[] = "{}[]\",:\\0-+eE.Z T\x01\xff\xc3\xa9";

/* Mutate seed into buf (NUL-terminated); returns the length. */
static size_t mutate(const char *const *seeds, size_t nseeds, uint64_t *rng, char *buf)
{
	const char *seed = seeds[next_rand(rng) % nseeds];
	size_t len = strlen(seed);
	int steps = 1 + (int)(next_rand(rng) % 4);

	memcpy(buf, seed, len);
	for (int s = 0; s < steps; s++) {
		size_t pos = len ? next_rand(rng) % len : 0;
		switch (next_rand(rng) % 6) {
		case 0: /* flip a bit */
			if (len)
				buf[pos] ^= (char)(1u << (next_rand(rng) % 8));
			break;
		case 1: /* overwrite with an interesting byte */
			if (len)
				buf[pos] = interesting[next_rand(rng) % (sizeof(interesting) - 1)];
			break;
		case 2: /* insert an interesting byte */
			if (len + 1 < MAXLEN) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = interesting[next_rand(rng) % (sizeof(interesting) - 1)];
				len++;
			}
			break;
		case 3: /* delete a run */
			if (len) {
				size_t n = 1 + next_rand(rng) % 8;
				if (pos + n > len)
					n = len - pos;
				memmove(buf + pos, buf + pos + n, len - pos - n);
				len -= n;
			}
			break;
		case 4: /* duplicate a run */
		{
			size_t n = 1 + next_rand(rng) % 64;
			if (pos + n > len)
				n = len - pos;
			if (len + n < MAXLEN) {
				memmove(buf + pos + n, buf + pos, len - pos);
				len += n;
			}
			break;
		}
		default: /* truncate */
			len = pos;
			break;
		}
	}
	buf[len] = '\0';
	return len;
}

START_TEST(fuzz_event_decode)
{
	char buf[MAXLEN + 1], err[256];
	ns_event ev, back;
	int accepted = 0;

	for (uint64_t round = 1; round <= ROUNDS; round++) {
		uint64_t rng = round * 0x9e3779b97f4a7c15ULL;
		size_t len = mutate(event_seeds, 4, &rng, buf);
		if (ns_event_decode(buf, len, &ev, err, sizeof(err)) == 0) {
			size_t elen = 0;
			char *enc = ns_event_encode(&ev, &elen);
			accepted++;
			ck_assert_msg(enc != NULL, "round %llu: accepted event does not encode",
				      (unsigned long long)round);
			ck_assert_msg(ns_event_decode(enc, elen, &back, err, sizeof(err)) == 0,
				      "round %llu: re-encoded event refused: %s",
				      (unsigned long long)round, err);
			ck_assert_msg(memcmp(&ev, &back, sizeof(ev)) == 0,
				      "round %llu: round trip changed the event",
				      (unsigned long long)round);
			free(enc);
		} else {
			ck_assert_msg(err[0] != '\0', "round %llu: refusal without a reason",
				      (unsigned long long)round);
		}
	}
	fprintf(stderr, "fuzz_event_decode: %d rounds, %d accepted and round-tripped\n", ROUNDS,
		accepted);
	/* Some mutations are harmless (a changed letter in the body): the check above ran. */
	ck_assert_msg(accepted > 0, "no mutated event was ever accepted: the seeds are broken");
}
END_TEST

START_TEST(fuzz_request_validators)
{
	char buf[MAXLEN + 1], err[512];
	ns_channels *chs = ns_channels_load(nt_schemas_dir(), err, sizeof(err));
	int refused = 0;

	ck_assert_msg(chs != NULL, "%s", err);
	for (uint64_t round = 1; round <= ROUNDS; round++) {
		uint64_t rng = round * 0xbf58476d1ce4e5b9ULL;
		size_t len = mutate(body_seeds, 3, &rng, buf);
		ingest_problem p;
		ns_jflat body;
		ns_event ev;

		memset(&p, 0, sizeof(p));
		if (ingest_parse_body(&body, buf, len, &p)) {
			ck_assert_msg(p.status == 400, "round %llu: parse refusal with status %d",
				      (unsigned long long)round, p.status);
			refused++;
			continue;
		}
		if (ingest_validate_notification(chs, &body, &ev, &p) != 0 &&
		    ingest_validate_webhook(chs, &body, &ev, &p) != 0) {
			ck_assert_msg(p.status == 400 || p.status == 422,
				      "round %llu: validation refusal with status %d",
				      (unsigned long long)round, p.status);
			refused++;
		}
	}
	fprintf(stderr, "fuzz_request_validators: %d rounds, %d refused\n", ROUNDS, refused);
	ck_assert_msg(refused > 0, "no mutated body was refused: the mutator is broken");
	ns_channels_free(chs);
}
END_TEST

START_TEST(fuzz_time_parse)
{
	char buf[MAXLEN + 1], back[NS_TIME_ISO_LEN];
	int64_t ms, ms2;

	for (uint64_t round = 1; round <= ROUNDS; round++) {
		uint64_t rng = round * 0x94d049bb133111ebULL;
		mutate(time_seeds, 3, &rng, buf);
		if (ns_time_parse(buf, &ms) == 0) {
			/* Whatever parses formats back to a timestamp that parses to the same ms.
			 */
			ns_time_format(ms, back);
			ck_assert_msg(ns_time_parse(back, &ms2) == 0 && ms2 == ms,
				      "round %llu: '%s' -> %lld -> '%s'", (unsigned long long)round,
				      buf, (long long)ms, back);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fuzz_parsers");
	TCase *tc = tcase_create("mutations");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, fuzz_event_decode);
	tcase_add_test(tc, fuzz_request_validators);
	tcase_add_test(tc, fuzz_time_parse);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
