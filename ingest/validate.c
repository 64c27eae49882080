/* validate.c -- checks the JSON bodies of POST /notifications and POST /webhooks.
 *
 * Each refusal names the member at fault so that a caller can fix its request without
 * reading our code: unknown members and wrong JSON types are 422 like bad values; only
 * text that is not a JSON object at all is 400. "to" is checked against the address kind
 * of the named channel (its file's "address": E.164 or email), so a channel with another
 * kind of address is a schemas file, not code. The body is read in place by ns_jflat, which
 * allocates nothing: jansson's tree of heap nodes was the largest cost of a POST left in
 * user space. Nothing here allocates. */
#include "validate.h"

#include "ns_check.h"
#include "ns_jflat.h"
#include "ns_str.h"
#include "ns_time.h"
#include "ns_url.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Fill p; always returns -1 so callers can `return fail(...)`. */
static int fail(ingest_problem *p, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(ingest_problem *p, int status, const char *field, const char *fmt, ...)
{
	va_list ap;

	p->status = status;
	snprintf(p->field, sizeof(p->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	return -1;
}

int ingest_parse_body(ns_jflat *j, const char *buf, size_t len, ingest_problem *p)
{
	char why[INGEST_DETAIL_MAX - 32];
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	j->n = 0;
	if (i == len || buf[i] != '{')
		return fail(p, 400, NULL, "the body must be a JSON object");
	if (ns_jflat_parse(j, buf, len, INGEST_JSON_DEPTH, why, sizeof(why)) == 0)
		return 0;
	if (j->too_deep)
		return fail(p, 400, NULL, "the body is nested deeper than %d levels",
			    INGEST_JSON_DEPTH);
	return fail(p, 400, NULL, "malformed JSON: %s", why);
}

/* The longest prefix of s[0..len) of at most max bytes that ends on a whole UTF-8
 * character: a refusal quotes it, and a cut character would make its text invalid. */
static int whole_chars(const char *s, size_t len, size_t max)
{
	size_t n = 0;

	while (n < len) {
		int k = ns_str_utf8_seq((const unsigned char *)s + n, len - n);
		if (k == 0 || n + (size_t)k > max)
			break;
		n += (size_t)k;
	}
	return (int)n;
}

/* Up to 40 bytes of string member m as written, for a refusal's detail ("%.*s"). */
#define SHOWN(m) whole_chars((m)->raw, (m)->raw_len, 40), (m)->raw

/* Refuse any member of the body not named in allowed (NULL-terminated). A key longer
 * than ns_jflat keeps is named by its first NS_JFLAT_KEY_MAX bytes. */
static int check_members(const ns_jflat *j, const char *const *allowed, ingest_problem *p)
{
	for (int i = 0; i < j->n; i++) {
		const ns_jflat_member *m = &j->m[i];
		int known = 0;

		if (m->parent != -1)
			continue;
		for (const char *const *a = allowed; *a && m->key_len <= NS_JFLAT_KEY_MAX; a++) {
			if (!strcmp(*a, m->key)) {
				known = 1;
				break;
			}
		}
		if (!known) {
			char key[NS_JFLAT_KEY_MAX + 1];
			int n = whole_chars(m->key, strlen(m->key), NS_JFLAT_KEY_MAX);

			snprintf(key, sizeof(key), "%.*s", n, m->key);
			return fail(p, 422, key, "unknown member '%s'", key);
		}
	}
	return 0;
}

/* The string member name of the body, or NULL with p filled when missing or not a
 * string. Its text stays undecoded in the request's buffer until take() copies it. */
static const ns_jflat_member *get_string(const ns_jflat *j, const char *name, ingest_problem *p)
{
	int i = ns_jflat_find(j, -1, name);

	if (i < 0) {
		fail(p, 422, name, "'%s' is required", name);
		return NULL;
	}
	if (j->m[i].kind != NS_JF_STRING) {
		fail(p, 422, name, "'%s' must be a string", name);
		return NULL;
	}
	return &j->m[i];
}

/* Decode string member m into out (cap bytes, NUL-terminated) when it fits: 0, or -1
 * when its text is cap bytes or more. */
static int take(const ns_jflat_member *m, char *out, size_t cap)
{
	if (m->len >= cap)
		return -1;
	ns_jflat_string(m, out);
	return 0;
}

/* externalId of a producer's request: 1..NS_EXTID_MAX characters of NS_EXTID_CHARS. A
 * provider's webhook names the reference we gave it instead, "<tenant>:<externalId>"
 * (ns_event_ref_split), which fills the tenant too. */
static int take_external_id(const ns_jflat *j, int ref, ns_event *out, ingest_problem *p)
{
	const ns_jflat_member *m = get_string(j, "externalId", p);
	char s[NS_REF_MAX + 1];

	if (!m)
		return -1;
	if (ref) {
		if (take(m, s, sizeof(s)) || ns_event_ref_split(s, out->tenant, out->external_id))
			return fail(p, 422, "externalId",
				    "'externalId' must be a reference this service gave the "
				    "provider: <tenant>:<externalId>");
		return 0;
	}
	if (take(m, out->external_id, sizeof(out->external_id)) ||
	    !ns_check_external_id(out->external_id, m->len, NS_EXTID_MAX))
		return fail(p, 422, "externalId",
			    "'externalId' must be 1 to %d characters of %s (not . or ..)",
			    NS_EXTID_MAX, NS_EXTID_CHARS);
	return 0;
}

/* to: of the address kind of the channel (its file's "address"), checked exactly. */
static int take_to(const ns_channel *ch, const ns_jflat_member *m, ns_event *out, ingest_problem *p)
{
	int whole = take(m, out->to, sizeof(out->to)) == 0; /* fits */

	switch (ns_channel_address(ch)) {
	case NS_ADDR_EMAIL:
		if (!whole || !ns_check_email(out->to, m->len))
			return fail(p, 422, "to",
				    "'to' must be an email address for channel '%s': "
				    "local@domain.tld, printable ASCII, at most %d bytes",
				    ns_channel_name(ch), NS_EMAIL_MAX);
		break;
	case NS_ADDR_E164:
	default:
		if (!whole || !ns_check_e164(out->to, m->len))
			return fail(p, 422, "to",
				    "'to' must be an E.164 number for channel '%s': '+' and %d to "
				    "%d digits, the first not 0",
				    ns_channel_name(ch), NS_E164_DIGITS_MIN, NS_E164_DIGITS_MAX);
		break;
	}
	return 0;
}

/* callbackUrl, optional: an absolute http(s) URL of ns_url_parse's form. */
static int take_callback_url(const ns_jflat *j, ns_event *out, ingest_problem *p)
{
	const ns_jflat_member *m;
	char why[128];

	if (ns_jflat_find(j, -1, "callbackUrl") < 0)
		return 0;
	m = get_string(j, "callbackUrl", p);
	if (!m)
		return -1;
	if (take(m, out->callback_url, sizeof(out->callback_url)))
		snprintf(why, sizeof(why), "longer than %d bytes", NS_URL_MAX);
	else if (ns_url_parse(out->callback_url, m->len, NULL, why, sizeof(why)) == 0)
		return 0;
	return fail(p, 422, "callbackUrl",
		    "'callbackUrl' must be an absolute http or https URL of at most %d "
		    "bytes: %s",
		    NS_URL_MAX, why);
}

int ingest_check_callback(const ns_event *ev, int allow_private, ingest_problem *p)
{
	ns_url u;

	if (!ev->callback_url[0] || allow_private)
		return 0;
	if (ns_url_parse(ev->callback_url, strlen(ev->callback_url), &u, NULL, 0) != 0 ||
	    !ns_url_host_public(&u))
		return fail(p, 422, "callbackUrl",
			    "'callbackUrl' must name a public destination (not localhost, "
			    "loopback, private, link-local or multicast addresses)");
	return 0;
}

/* What both request kinds start with: clear out, require only the allowed members, take
 * the externalId (a reference when ref). Returns 0, or -1 with p filled. */
static int begin(const ns_jflat *j, const char *const *allowed, int ref, ns_event *out,
		 ingest_problem *p)
{
	memset(out, 0, sizeof(*out));
	if (check_members(j, allowed, p) || take_external_id(j, ref, out, p))
		return -1;
	return 0;
}

int ingest_validate_notification(const ns_channels *chs, const ns_jflat *j, ns_event *out,
				 ingest_problem *p)
{
	static const char *const allowed[] = {"externalId", "channel",	   "to",
					      "body",	    "callbackUrl", NULL};
	const ns_channel *ch = NULL;
	const ns_jflat_member *m;

	if (begin(j, allowed, 0, out, p))
		return -1;

	m = get_string(j, "channel", p);
	if (!m)
		return -1;
	if (take(m, out->channel, sizeof(out->channel)) == 0)
		ch = ns_channels_find(chs, out->channel);
	if (!ch)
		return fail(p, 422, "channel", "unknown channel '%.*s'", SHOWN(m));

	m = get_string(j, "to", p);
	if (!m || take_to(ch, m, out, p))
		return -1;

	m = get_string(j, "body", p);
	if (!m)
		return -1;
	if (m->len == 0)
		return fail(p, 422, "body", "'body' must not be empty");
	if (m->len > NS_BODY_MAX)
		return fail(p, 422, "body", "'body' is %zu bytes, more than %d", m->len,
			    NS_BODY_MAX);
	take(m, out->body, sizeof(out->body));
	if (!ns_check_utf8(out->body, m->len))
		return fail(p, 422, "body", "'body' must be valid UTF-8 without NUL");
	if (take_callback_url(j, out, p))
		return -1;

	out->type = NS_EV_REQUESTED;
	out->source = NS_SRC_API;
	return 0;
}

int ingest_check_time(const ns_event *ev, int64_t now_ms, int64_t max_future_ms, ingest_problem *p)
{
	if (ev->type == NS_EV_STATUS && ev->occurred_at > now_ms + max_future_ms)
		return fail(
		    p, 422, "timestamp",
		    "'timestamp' lies more than %lld s in the future of this server's clock",
		    (long long)(max_future_ms / 1000));
	return 0;
}

int ingest_validate_webhook(const ns_channels *chs, const ns_jflat *j, ns_event *out,
			    ingest_problem *p)
{
	static const char *const allowed[] = {"externalId", "event", "timestamp", NULL};
	const ns_jflat_member *m;
	char ts[64];

	if (begin(j, allowed, 1, out, p))
		return -1;

	m = get_string(j, "event", p);
	if (!m)
		return -1;
	if (take(m, out->status, sizeof(out->status)) || !ns_channels_any_has(chs, out->status))
		return fail(p, 422, "event", "'%.*s' is not a status of any channel", SHOWN(m));

	m = get_string(j, "timestamp", p);
	if (!m)
		return -1;
	if (take(m, ts, sizeof(ts)) || ns_time_parse(ts, &out->occurred_at))
		return fail(p, 422, "timestamp",
			    "'timestamp' must be an RFC 3339 date-time, e.g. "
			    "2025-03-01T12:00:00.000Z or 2025-03-01T13:00:00+01:00");

	out->type = NS_EV_STATUS;
	out->source = NS_SRC_PROVIDER;
	out->channel[0] = '\0';
	return 0;
}
