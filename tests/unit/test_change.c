/* test_change.c -- unit tests of the changelog record (common/ns_change.c), callback URLs
 * (common/ns_url.c) and the changelog daemon's state tables (changelog/state.c). */
#include "ns_change.h"
#include "ns_time.h"
#include "ns_url.h"
#include "changelog/state.h"

#include "nt.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void sample(ns_change *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->tenant, sizeof(c->tenant), "%s", "acme");
	snprintf(c->external_id, sizeof(c->external_id), "%s", "n-1");
	c->version = 3;
	snprintf(c->status, sizeof(c->status), "%s", "sent");
	snprintf(c->previous, sizeof(c->previous), "%s", "processing");
	snprintf(c->channel, sizeof(c->channel), "%s", "sms");
	c->created_at = 1764633600000;
	c->updated_at = 1764633600250;
	snprintf(c->provider_id, sizeof(c->provider_id), "%s", "p-1");
	snprintf(c->request_id, sizeof(c->request_id), "%s", "0123456789abcdef0123456789abcdef");
	snprintf(c->event_id, sizeof(c->event_id), "%s", "fedcba9876543210fedcba9876543210");
	c->event_type = NS_EV_STATUS;
	c->occurred_at = 1764633600250;
	snprintf(c->callback_url, sizeof(c->callback_url), "%s", "https://example.com/cb?x=1");
}

START_TEST(test_roundtrip)
{
	ns_change c, d;
	char err[256];
	size_t len = 0;
	char *s;

	sample(&c);
	s = ns_change_encode(&c, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, strlen(s));
	ck_assert_msg(strstr(s, "\"reason\":null") != NULL, "%s", s);
	ck_assert_int_eq(ns_change_decode(s, len, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	free(s);

	/* unset members are null and decode back to "" */
	memset(c.previous, 0, sizeof(c.previous));
	memset(c.provider_id, 0, sizeof(c.provider_id));
	memset(c.callback_url, 0, sizeof(c.callback_url));
	memset(c.request_id, 0, sizeof(c.request_id));
	s = ns_change_encode(&c, &len);
	ck_assert_msg(strstr(s, "\"previous\":null") && strstr(s, "\"callbackUrl\":null"), "%s", s);
	ck_assert_int_eq(ns_change_decode(s, len, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	free(s);
}
END_TEST

/* Replace the first occurrence of from in s by to (in a copy). */
static char *edit(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;

	ck_assert_msg(p != NULL, "%s not in %s", from, s);
	size_t n = strlen(s) + strlen(to) + 1;

	out = malloc(n);
	ck_assert_ptr_nonnull(out);
	snprintf(out, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return out;
}

START_TEST(test_decode_refuses)
{
	static const struct {
		const char *from, *to;
	} edits[] = {
	    {"\"v\":1", "\"v\":2"},
	    {"\"version\":3", "\"version\":0"},
	    {"\"version\":3", "\"version\":\"3\""},
	    {"\"status\":\"sent\"", "\"status\":null"},
	    {"\"status\":\"sent\"", "\"status\":\"\""},
	    {"\"eventType\":\"status\"", "\"eventType\":\"nope\""},
	    {"\"updatedAt\":\"", "\"updatedAt\":\"x"},
	    {"\"tenant\":\"acme\",", ""},
	    {"\"tenant\":\"acme\"", "\"tenant\":\"acme\",\"extra\":1"},
	    {"\"tenant\":\"acme\"", "\"tenant\":\"ac\\u0001me\""},
	};
	char err[256], *s, *bad;
	ns_change c, d;

	sample(&c);
	s = ns_change_encode(&c, NULL);
	for (size_t i = 0; i < N(edits); i++) {
		bad = edit(s, edits[i].from, edits[i].to);
		err[0] = '\0';
		ck_assert_msg(ns_change_decode(bad, strlen(bad), &d, err, sizeof(err)) == -1,
			      "accepted %s", bad);
		ck_assert_msg(err[0] != '\0', "no reason for %s", bad);
		free(bad);
	}
	ck_assert_int_eq(ns_change_decode("[1]", 3, &d, err, sizeof(err)), -1);
	ck_assert_int_eq(ns_change_decode("{", 1, &d, err, sizeof(err)), -1);
	ck_assert_int_eq(ns_change_decode(NULL, 0, &d, err, sizeof(err)), -1);
	free(s);
}
END_TEST

START_TEST(test_state_mapping)
{
	ns_state st = {0}, back;
	ns_event ev = {0};
	ns_change c;

	st.exists = 1;
	st.requested = 1;
	snprintf(st.tenant, sizeof(st.tenant), "%s", "acme");
	snprintf(st.external_id, sizeof(st.external_id), "%s", "n-1");
	snprintf(st.channel, sizeof(st.channel), "%s", "sms");
	snprintf(st.status, sizeof(st.status), "%s", "delivered");
	snprintf(st.to, sizeof(st.to), "%s", "+4915112345678");
	snprintf(st.request_id, sizeof(st.request_id), "%s", "0123456789abcdef0123456789abcdef");
	snprintf(st.callback_url, sizeof(st.callback_url), "%s", "http://example.com/");
	st.created_at = 10;
	st.updated_at = 20;
	st.events = 4;
	snprintf(ev.id, sizeof(ev.id), "%s", "fedcba9876543210fedcba9876543210");
	ev.type = NS_EV_STATUS;
	ev.occurred_at = 20;
	ns_change_from_state(&c, &st, &ev, 7, "sent");
	ck_assert_int_eq(c.version, 7);
	ck_assert_str_eq(c.previous, "sent");
	ck_assert_str_eq(c.event_id, ev.id);
	ck_assert_str_eq(c.callback_url, "http://example.com/");
	ns_change_to_state(&c, &back);
	ck_assert_int_eq(back.exists, 1);
	ck_assert_int_eq(back.requested, 1);
	ck_assert_str_eq(back.status, "delivered");
	ck_assert_str_eq(back.to, ""); /* not in a record */
	ck_assert_int_eq(back.created_at, 10);
	ck_assert_int_eq(back.updated_at, 20);
	/* an orphan (no requested yet) stays one */
	st.requested = 0;
	st.request_id[0] = '\0';
	ns_change_from_state(&c, &st, &ev, 1, NULL);
	ns_change_to_state(&c, &back);
	ck_assert_int_eq(back.requested, 0);
	ck_assert_str_eq(c.previous, "");
}
END_TEST

START_TEST(test_url_parse)
{
	static const struct {
		const char *s;
		int ok, https, port;
		const char *host;
	} cases[] = {
	    {"https://example.com/cb", 1, 1, 443, "example.com"},
	    {"http://Example.COM:8080/a?b=c", 1, 0, 8080, "example.com"},
	    {"HTTPS://x.io", 1, 1, 443, "x.io"},
	    {"http://127.0.0.1:9/", 1, 0, 9, "127.0.0.1"},
	    {"http://[::1]:8080/x", 1, 0, 8080, "::1"},
	    {"http://[0::A]/", 1, 0, 80, "::a"}, /* one spelling per address */
	    {"http://[2001:db8::1]/", 1, 0, 80, "2001:db8::1"},
	    {"http://host?q", 1, 0, 80, "host"},
	    {"ftp://example.com/", 0, 0, 0, NULL},
	    {"example.com/cb", 0, 0, 0, NULL},
	    {"https://", 0, 0, 0, NULL},
	    {"https://:80/", 0, 0, 0, NULL},
	    {"https://user:pw@example.com/", 0, 0, 0, NULL},
	    {"https://example.com:0/", 0, 0, 0, NULL},
	    {"https://example.com:65536/", 0, 0, 0, NULL},
	    {"https://example.com:8x/", 0, 0, 0, NULL},
	    {"https://example.com:/", 0, 0, 0, NULL},
	    {"https://exa mple.com/", 0, 0, 0, NULL},
	    {"https://example.com/#frag", 0, 0, 0, NULL},
	    {"https://exa%6dple.com/", 0, 0, 0, NULL},
	    {"https://[::1/", 0, 0, 0, NULL},
	    {"https://[zz]/", 0, 0, 0, NULL},
	    {"https://a..b/", 0, 0, 0, NULL},
	    {"https://\xc3\xa9.com/", 0, 0, 0, NULL},
	};
	char err[128];
	ns_url u;

	for (size_t i = 0; i < N(cases); i++) {
		int rc = ns_url_parse(cases[i].s, strlen(cases[i].s), &u, err, sizeof(err));
		ck_assert_msg((rc == 0) == cases[i].ok, "%s: rc %d (%s)", cases[i].s, rc, err);
		if (!cases[i].ok)
			continue;
		ck_assert_int_eq(u.https, cases[i].https);
		ck_assert_int_eq(u.port, cases[i].port);
		ck_assert_str_eq(u.host, cases[i].host);
	}
	/* the length bound, exactly */
	{
		char big[NS_URL_MAX + 2];
		memset(big, 'a', sizeof(big));
		memcpy(big, "https://h/", 10);
		ck_assert_int_eq(ns_url_parse(big, NS_URL_MAX, NULL, err, sizeof(err)), 0);
		ck_assert_int_eq(ns_url_parse(big, NS_URL_MAX + 1, NULL, err, sizeof(err)), -1);
	}
	ck_assert_int_eq(ns_url_parse("https://a\0b/", 12, NULL, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_url_public)
{
	static const struct {
		const char *s;
		int pub;
	} cases[] = {
	    {"https://example.com/", 1},
	    {"http://8.8.8.8/", 1},
	    {"http://localhost/", 0},
	    {"http://a.localhost/", 0},
	    {"http://127.0.0.1/", 0},
	    {"http://127.255.0.9/", 0},
	    {"http://10.1.2.3/", 0},
	    {"http://172.16.0.1/", 0},
	    {"http://172.32.0.1/", 1},
	    {"http://192.168.1.1/", 0},
	    {"http://169.254.169.254/", 0},
	    {"http://100.64.0.1/", 0},
	    {"http://0.0.0.0/", 0},
	    {"http://224.0.0.1/", 0},
	    {"http://255.255.255.255/", 0},
	    {"http://[::1]/", 0},
	    {"http://[::]/", 0},
	    {"http://[fe80::1]/", 0},
	    {"http://[fd00::1]/", 0},
	    {"http://[::ffff:10.0.0.1]/", 0},
	    {"http://[::ffff:8.8.8.8]/", 1},
	    {"http://[2001:4860::8888]/", 1},
	    {"http://[ff02::1]/", 0},
	    /* IPv4 inside IPv6: judged by the IPv4 address */
	    {"http://[64:ff9b::a00:5]/", 0},
	    {"http://[64:ff9b::808:808]/", 1},
	    {"http://[64:ff9b:1::1]/", 0},
	    {"http://[::a00:5]/", 0},
	    {"http://[2002:a00:5::1]/", 0},
	    {"http://[2002:808:808::1]/", 1},
	    {"http://[fec0::1]/", 0},
	    /* every IPv4 spelling a resolver accepts */
	    {"http://127.1/", 0},
	    {"http://2130706433/", 0},
	    {"http://0x7f.1/", 0},
	    {"http://017700000001/", 0},
	    {"http://localhost./", 0},
	};
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	ns_url u;

	for (size_t i = 0; i < N(cases); i++) {
		ck_assert_int_eq(ns_url_parse(cases[i].s, strlen(cases[i].s), &u, NULL, 0), 0);
		ck_assert_msg(!!ns_url_host_public(&u) == cases[i].pub, "%s", cases[i].s);
	}
	inet_pton(AF_INET, "192.168.0.5", &a4.sin_addr);
	ck_assert_int_eq(ns_url_addr_public((struct sockaddr *)&a4), 0);
	inet_pton(AF_INET, "93.184.216.34", &a4.sin_addr);
	ck_assert_int_ne(ns_url_addr_public((struct sockaddr *)&a4), 0);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
	ck_assert_int_eq(ns_url_addr_public((struct sockaddr *)&a6), 0);
	ck_assert_int_eq(ns_url_addr_public(NULL), 0);
}
END_TEST

START_TEST(test_state_table)
{
	clog_state *s = clog_state_new();
	char ref[32], rec[64];
	const clog_entry *e;

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 5000; i++) { /* grows the buckets many times */
		snprintf(ref, sizeof(ref), "t:n-%d", i);
		snprintf(rec, sizeof(rec), "{\"i\":%d}", i);
		ck_assert_int_eq(clog_state_put(s, i % 3, ref, rec, strlen(rec), 1), 0);
	}
	ck_assert_uint_eq(clog_state_total(s), 5000);
	ck_assert_uint_eq(clog_state_count(s, 0), 1667);
	e = clog_state_get(s, 1, "t:n-4");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->record, "{\"i\":4}");
	ck_assert_ptr_null(clog_state_get(s, 0, "t:n-4")); /* another partition's */
	ck_assert_int_eq(clog_state_put(s, 1, "t:n-4", "{\"v\":2}", 7, 2), 0); /* replace */
	ck_assert_uint_eq(clog_state_total(s), 5000);
	e = clog_state_get(s, 1, "t:n-4");
	ck_assert_int_eq(e->version, 2);
	ck_assert_str_eq(e->record, "{\"v\":2}");
	clog_state_remove(s, 1, "t:n-4");
	ck_assert_ptr_null(clog_state_get(s, 1, "t:n-4"));
	clog_state_remove(s, 1, "t:n-4"); /* absent: no-op */
	ck_assert_uint_eq(clog_state_total(s), 4999);
	clog_state_drop(s, 0);
	ck_assert_uint_eq(clog_state_count(s, 0), 0);
	ck_assert_uint_eq(clog_state_total(s), 4999 - 1667);
	ck_assert_ptr_null(clog_state_get(s, 0, "t:n-0"));
	ck_assert_int_eq(clog_state_put(s, CLOG_MAX_PARTITIONS, "x", "{}", 2, 1), -1);
	ck_assert_int_eq(clog_state_put(s, -1, "x", "{}", 2, 1), -1);
	ck_assert_ptr_null(clog_state_get(s, -1, "x"));
	clog_state_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("change");
	TCase *tc = tcase_create("change");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_decode_refuses);
	tcase_add_test(tc, test_state_mapping);
	tcase_add_test(tc, test_url_parse);
	tcase_add_test(tc, test_url_public);
	tcase_add_test(tc, test_state_table);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
