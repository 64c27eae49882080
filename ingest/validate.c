/* validate.c -- checks the JSON bodies of POST /notifications and POST /webhooks.
 *
 * Each refusal names the member at fault so that a caller can fix its request without
 * reading our code: unknown members and wrong JSON types are 422 like bad values; only
 * text that is not a JSON object at all is 400. "to" is checked against the address kind
 * of the named channel (its file's "address": E.164 or email), so a channel with another
 * kind of address is a schemas file, not code. Nothing here allocates except the parser. */
#include "validate.h"

#include "ns_check.h"
#include "ns_json.h"
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

json_t *ingest_parse_json(const char *buf, size_t len, ingest_problem *p)
{
	json_error_t jerr;
	int too_deep = 0;
	json_t *root =
	    ns_json_loadb(buf, len, JSON_REJECT_DUPLICATES, INGEST_JSON_DEPTH, &jerr, &too_deep);

	if (!root && too_deep) {
		fail(p, 400, NULL, "the body is nested deeper than %d levels", INGEST_JSON_DEPTH);
		return NULL;
	}
	if (!root) {
		fail(p, 400, NULL, "malformed JSON at line %d column %d: %s", jerr.line,
		     jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fail(p, 400, NULL, "the body must be a JSON object");
		return NULL;
	}
	return root;
}

/* Refuse any member of root not named in allowed (NULL-terminated). */
static int check_members(json_t *root, const char *const *allowed, ingest_problem *p)
{
	const char *key;
	json_t *val;

	json_object_foreach(root, key, val)
	{
		int known = 0;
		(void)val;
		for (const char *const *a = allowed; *a; a++) {
			if (!strcmp(*a, key)) {
				known = 1;
				break;
			}
		}
		if (!known)
			return fail(p, 422, key, "unknown member '%.64s'", key);
	}
	return 0;
}

/* The string member name of root: returns it (owned by root) with its byte length in
 * *len, or NULL with p filled when missing or not a string. */
static const char *get_string(json_t *root, const char *name, size_t *len, ingest_problem *p)
{
	json_t *v = json_object_get(root, name);

	if (!v) {
		fail(p, 422, name, "'%s' is required", name);
		return NULL;
	}
	if (!json_is_string(v)) {
		fail(p, 422, name, "'%s' must be a string", name);
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

/* externalId of a producer's request: 1..NS_EXTID_MAX characters of NS_EXTID_CHARS. A
 * provider's webhook names the reference we gave it instead, "<tenant>:<externalId>"
 * (ns_event_ref_split), which fills the tenant too. */
static int take_external_id(json_t *root, int ref, ns_event *out, ingest_problem *p)
{
	size_t len = 0;
	const char *s = get_string(root, "externalId", &len, p);

	if (!s)
		return -1;
	if (ref) {
		if (len != strlen(s) || ns_event_ref_split(s, out->tenant, out->external_id))
			return fail(p, 422, "externalId",
				    "'externalId' must be a reference this service gave the "
				    "provider: <tenant>:<externalId>");
		return 0;
	}
	if (!ns_check_external_id(s, len, NS_EXTID_MAX))
		return fail(p, 422, "externalId",
			    "'externalId' must be 1 to %d characters of %s (not . or ..)",
			    NS_EXTID_MAX, NS_EXTID_CHARS);
	memcpy(out->external_id, s, len);
	out->external_id[len] = '\0';
	return 0;
}

/* to: of the address kind of the channel (its file's "address"), checked exactly. */
static int take_to(const ns_channel *ch, const char *s, size_t len, ns_event *out,
		   ingest_problem *p)
{
	int whole = len == strlen(s) && len <= NS_TO_MAX; /* no NUL inside, fits */

	switch (ns_channel_address(ch)) {
	case NS_ADDR_EMAIL:
		if (!whole || !ns_check_email(s, len))
			return fail(p, 422, "to",
				    "'to' must be an email address for channel '%s': "
				    "local@domain.tld, printable ASCII, at most %d bytes",
				    ns_channel_name(ch), NS_EMAIL_MAX);
		break;
	case NS_ADDR_E164:
	default:
		if (!whole || !ns_check_e164(s, len))
			return fail(p, 422, "to",
				    "'to' must be an E.164 number for channel '%s': '+' and %d to "
				    "%d digits, the first not 0",
				    ns_channel_name(ch), NS_E164_DIGITS_MIN, NS_E164_DIGITS_MAX);
		break;
	}
	memcpy(out->to, s, len + 1);
	return 0;
}

/* callbackUrl, optional: an absolute http(s) URL of ns_url_parse's form. */
static int take_callback_url(json_t *root, ns_event *out, ingest_problem *p)
{
	char why[128];
	const char *s;
	size_t len = 0;

	if (!json_object_get(root, "callbackUrl"))
		return 0;
	s = get_string(root, "callbackUrl", &len, p);
	if (!s)
		return -1;
	if (ns_url_parse(s, len, NULL, why, sizeof(why)) != 0)
		return fail(p, 422, "callbackUrl",
			    "'callbackUrl' must be an absolute http or https URL of at most %d "
			    "bytes: %s",
			    NS_URL_MAX, why);
	memcpy(out->callback_url, s, len + 1);
	return 0;
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

/* What both request kinds start with: clear out, require an object with only the allowed
 * members, take the externalId (a reference when ref). Returns 0, or -1 with p filled. */
static int begin(json_t *root, const char *const *allowed, int ref, ns_event *out,
		 ingest_problem *p)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(root))
		return fail(p, 400, NULL, "the body must be a JSON object");
	if (check_members(root, allowed, p) || take_external_id(root, ref, out, p))
		return -1;
	return 0;
}

int ingest_validate_notification(const ns_channels *chs, json_t *root, ns_event *out,
				 ingest_problem *p)
{
	static const char *const allowed[] = {"externalId", "channel",	   "to",
					      "body",	    "callbackUrl", NULL};
	const ns_channel *ch;
	const char *s;
	size_t len = 0;

	if (begin(root, allowed, 0, out, p))
		return -1;

	s = get_string(root, "channel", &len, p);
	if (!s)
		return -1;
	ch = len == strlen(s) ? ns_channels_find(chs, s) : NULL;
	if (!ch)
		return fail(p, 422, "channel", "unknown channel '%.40s'", s);
	memcpy(out->channel, s, len + 1);

	s = get_string(root, "to", &len, p);
	if (!s)
		return -1;
	if (take_to(ch, s, len, out, p))
		return -1;

	s = get_string(root, "body", &len, p);
	if (!s)
		return -1;
	if (len == 0)
		return fail(p, 422, "body", "'body' must not be empty");
	if (len > NS_BODY_MAX)
		return fail(p, 422, "body", "'body' is %zu bytes, more than %d", len, NS_BODY_MAX);
	if (!ns_check_utf8(s, len))
		return fail(p, 422, "body", "'body' must be valid UTF-8 without NUL");
	memcpy(out->body, s, len);
	out->body[len] = '\0';
	if (take_callback_url(root, out, p))
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

int ingest_validate_webhook(const ns_channels *chs, json_t *root, ns_event *out, ingest_problem *p)
{
	static const char *const allowed[] = {"externalId", "event", "timestamp", NULL};
	const char *s;
	size_t len = 0;

	if (begin(root, allowed, 1, out, p))
		return -1;

	s = get_string(root, "event", &len, p);
	if (!s)
		return -1;
	if (len != strlen(s) || len > NS_STATUS_MAX || !ns_channels_any_has(chs, s))
		return fail(p, 422, "event", "'%.40s' is not a status of any channel", s);
	memcpy(out->status, s, len + 1);

	s = get_string(root, "timestamp", &len, p);
	if (!s)
		return -1;
	if (len != strlen(s) || ns_time_parse(s, &out->occurred_at))
		return fail(p, 422, "timestamp",
			    "'timestamp' must be an RFC 3339 date-time, e.g. "
			    "2025-03-01T12:00:00.000Z or 2025-03-01T13:00:00+01:00");

	out->type = NS_EV_STATUS;
	out->source = NS_SRC_PROVIDER;
	out->channel[0] = '\0';
	return 0;
}
