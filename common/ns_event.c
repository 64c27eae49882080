/* ns_event.c -- the event envelope codec and deterministic event ids (SHA-256).
 *
 * Encoding builds the envelope with jansson. Decoding, which every consumer runs on every
 * Kafka message, reads it with ns_jflat, which allocates nothing.
 *
 * Decoding is strict about the envelope: every member is required (no other member is
 * allowed), with its type, its length cap and its form (schemas/event.schema.json says the
 * same). Inside data, the members of the event's type are checked the same way; members
 * of another type (e.g. "to" on a status event) are refused because they would mislead a
 * reader; other members are ignored, so that a later minor addition does not poison the
 * log. Strings are never truncated: an over-long one is an error. */
#include "ns_event.h"
#include "ns_check.h"
#include "ns_digest.h"
#include "ns_jflat.h"
#include "ns_jwrite.h"
#include "ns_json.h"
#include "ns_str.h"
#include "ns_time.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_MAX_BYTES (64 * 1024) /* a message value larger than this is refused */
#define ID_SEP		'\x1f'

static const char *const type_names[] = {"requested", "dispatched", "failed", "status", "callback"};
static const char *const source_names[] = {"api", "sender", "provider", "callbacks"};
#define NTYPES	 ((int)(sizeof(type_names) / sizeof(type_names[0])))
#define NSOURCES ((int)(sizeof(source_names) / sizeof(source_names[0])))

const char *ns_event_type_name(ns_event_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

const char *ns_event_source_name(ns_event_source s)
{
	return (unsigned)s < sizeof(source_names) / sizeof(source_names[0]) ? source_names[s] : "?";
}

/* ---- ids ---- */

static void digest_part(EVP_MD_CTX *md, const char *s, int first)
{
	const char sep = ID_SEP;
	if (!first)
		EVP_DigestUpdate(md, &sep, 1);
	EVP_DigestUpdate(md, s, strlen(s));
}

void ns_event_make_id(ns_event *ev)
{
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char ts[NS_TIME_ISO_LEN];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = 0;

	if (md && ns_digest_sha256() && EVP_DigestInit_ex(md, ns_digest_sha256(), NULL) == 1) {
		digest_part(md, ns_event_type_name(ev->type), 1);
		if (ev->tenant[0])
			digest_part(md, ev->tenant, 0);
		digest_part(md, ev->external_id, 0);
		switch (ev->type) {
		case NS_EV_REQUESTED:
			digest_part(md, ev->channel, 0);
			digest_part(md, ev->to, 0);
			digest_part(md, ev->body, 0);
			break;
		case NS_EV_STATUS:
			digest_part(md, ev->status, 0);
			digest_part(md, ns_time_format(ev->occurred_at, ts), 0);
			break;
		case NS_EV_CALLBACK:
			snprintf(ts, sizeof(ts), "%d", ev->attempt);
			digest_part(md, ev->delivery_id, 0);
			digest_part(md, ts, 0);
			digest_part(md, ev->status, 0);
			break;
		case NS_EV_DISPATCHED:
		case NS_EV_FAILED:
			break;
		}
		ok = EVP_DigestFinal_ex(md, dig, &dlen) == 1 && dlen * 2 >= NS_EVENT_ID_LEN;
	}
	EVP_MD_CTX_free(md);
	if (!ok) {
		/* Only on allocation failure inside libcrypto: an id that decode refuses. */
		ev->id[0] = '\0';
		return;
	}
	(void)ns_str_hex_encode(dig, NS_EVENT_ID_LEN / 2, ev->id, sizeof(ev->id));
}

int ns_event_ref(const char *tenant, const char *external_id, char *out, size_t outlen)
{
	int n = tenant && tenant[0] ? snprintf(out, outlen, "%s:%s", tenant, external_id)
				    : snprintf(out, outlen, "%s", external_id);

	return n >= 0 && (size_t)n < outlen ? n : -1;
}

int ns_event_ref_split(const char *ref, char tenant[NS_TENANT_MAX + 1],
		       char external_id[NS_EXTID_MAX + 1])
{
	const char *colon = ref ? strchr(ref, ':') : NULL;
	size_t tl, el;

	if (!colon)
		return -1;
	tl = (size_t)(colon - ref);
	el = strlen(colon + 1);
	if (!ns_check_name(ref, tl) || !ns_check_external_id(colon + 1, el, NS_EXTID_MAX))
		return -1;
	memcpy(tenant, ref, tl);
	tenant[tl] = '\0';
	memcpy(external_id, colon + 1, el + 1);
	return 0;
}

/* ---- encode ---- */

static void put_str(ns_jw *w, const char *key, const char *val)
{
	ns_jw_key(w, key);
	ns_jw_str(w, val);
}

static void put_int(ns_jw *w, const char *key, int64_t val)
{
	ns_jw_key(w, key);
	ns_jw_int(w, val);
}

static void put_time(ns_jw *w, const char *key, int64_t ms)
{
	char ts[NS_TIME_ISO_LEN];

	put_str(w, key, ns_time_format(ms, ts));
}

/* The members of data, by type. */
static void put_data(ns_jw *w, const ns_event *ev)
{
	ns_jw_key(w, "data");
	ns_jw_open(w, '{');
	switch (ev->type) {
	case NS_EV_REQUESTED:
		put_str(w, "to", ev->to);
		put_str(w, "body", ev->body);
		if (ev->callback_url[0])
			put_str(w, "callbackUrl", ev->callback_url);
		break;
	case NS_EV_DISPATCHED:
		put_str(w, "status", ev->status);
		put_str(w, "providerId", ev->provider_id);
		break;
	case NS_EV_FAILED:
		put_str(w, "status", ev->status);
		put_str(w, "reason", ev->reason);
		if (ev->code)
			put_int(w, "code", ev->code);
		break;
	case NS_EV_STATUS:
		put_str(w, "status", ev->status);
		break;
	case NS_EV_CALLBACK:
		put_str(w, "status", ev->status);
		put_str(w, "deliveryId", ev->delivery_id);
		put_int(w, "version", ev->version);
		put_int(w, "attempt", ev->attempt);
		if (ev->code)
			put_int(w, "code", ev->code);
		if (ev->reason[0])
			put_str(w, "reason", ev->reason);
		break;
	}
	ns_jw_close(w, '}');
}

char *ns_event_encode(const ns_event *ev, size_t *len)
{
	ns_jw w;
	size_t n = 0;
	char *out;

	ns_jw_init_heap(&w);
	ns_jw_open(&w, '{');
	put_int(&w, "v", NS_EVENT_VERSION);
	put_str(&w, "id", ev->id);
	put_str(&w, "type", ns_event_type_name(ev->type));
	put_str(&w, "tenant", ev->tenant);
	put_str(&w, "externalId", ev->external_id);
	put_str(&w, "channel", ev->channel);
	put_time(&w, "occurredAt", ev->occurred_at);
	put_time(&w, "receivedAt", ev->received_at);
	put_str(&w, "source", ns_event_source_name(ev->source));
	if (ev->key_id[0])
		put_str(&w, "keyId", ev->key_id);
	put_data(&w, ev);
	ns_jw_close(&w, '}');
	out = ns_jw_take(&w, &n);
	if (out && len)
		*len = n;
	return out;
}

/* ---- decode ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

enum form { F_ANY, F_NAME, F_HEX_ID, F_TEXT, F_ADDRESS, F_URL };

/* Check a string against a form (ns_check.h); `text` forms only refuse ASCII control
 * characters; an address is E.164 or else an email address. */
static int form_ok(const char *s, size_t n, enum form f)
{
	switch (f) {
	case F_ANY:
		return 1;
	case F_NAME:
		return ns_check_name(s, n);
	case F_HEX_ID:
		return ns_check_hex(s, n, NS_EVENT_ID_LEN);
	case F_TEXT:
		return ns_check_text(s, n);
	case F_ADDRESS:
		return n > 0 && s[0] == '+' ? ns_check_e164(s, n) : ns_check_email(s, n);
	case F_URL:
		return ns_url_parse(s, n, NULL, NULL, 0) == 0;
	}
	return 0;
}

/* The event being read: the document and the index of the object read from (-1: the
 * envelope), for the accessors below. */
typedef struct {
	const ns_jflat *j;
	int obj;
} doc;

/* Copy the string member key of d's object into out (cap bytes + NUL). min: least length.
 * where: "" or "data." for messages. Returns 0 or -1 with err filled. */
static int get_str(doc d, const char *where, const char *key, char *out, size_t cap, size_t min,
		   enum form f, char *err, size_t errlen)
{
	int i = ns_jflat_find(d.j, d.obj, key);
	const ns_jflat_member *m = i >= 0 ? &d.j->m[i] : NULL;

	if (!m)
		return fail(err, errlen, "missing %s%s", where, key);
	if (m->kind != NS_JF_STRING)
		return fail(err, errlen, "%s%s is not a string", where, key);
	if (m->len > cap)
		return fail(err, errlen, "%s%s longer than %zu bytes", where, key, cap);
	if (m->len < min)
		return fail(err, errlen, "%s%s is empty", where, key);
	ns_jflat_string(m, out);
	if (!form_ok(out, m->len, f)) {
		out[0] = '\0';
		return fail(err, errlen, "%s%s has an invalid form", where, key);
	}
	return 0;
}

static int has(doc d, const char *key)
{
	return ns_jflat_find(d.j, d.obj, key) >= 0;
}

static int get_time(doc obj, const char *key, int64_t *ms, char *err, size_t errlen)
{
	char ts[64];

	if (get_str(obj, "", key, ts, sizeof(ts) - 1, 1, F_TEXT, err, errlen) != 0)
		return -1;
	if (ns_time_parse(ts, ms) != 0)
		return fail(err, errlen, "%s is not an ISO 8601 UTC timestamp", key);
	return 0;
}

static int lookup(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++) /* the first byte rules out nearly every name */
		if (s[0] == names[i][0] && strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Data members per type: allowed[type] lists the members of that type; a member of any
 * type's list that is not in the event's own list is refused. */
static const char *const data_keys[] = {"to",	  "body", "callbackUrl", "status",  "providerId",
					"reason", "code", "deliveryId",	 "version", "attempt"};
static const char *const data_allowed[] = {"to body callbackUrl", "status providerId",
					   "status reason code", "status",
					   "status deliveryId version attempt code reason"};

static int data_member_ok(ns_event_type t, const char *key)
{
	const char *list = data_allowed[t];
	size_t n = strlen(key);
	int known = lookup(key, data_keys, (int)(sizeof(data_keys) / sizeof(data_keys[0]))) >= 0;
	const char *p;

	if (!known)
		return 1; /* foreign member: ignored */
	for (p = strstr(list, key); p; p = strstr(p + 1, key))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}
/* An integer member of data within lo..hi (required unless optional). */
static int get_int(doc data, const char *key, int64_t lo, int64_t hi, int optional, int64_t *out,
		   char *err, size_t errlen)
{
	int i = ns_jflat_find(data.j, data.obj, key);
	const ns_jflat_member *m = i >= 0 ? &data.j->m[i] : NULL;

	if (!m) {
		if (optional)
			return 0;
		return fail(err, errlen, "missing data.%s", key);
	}
	if (m->kind != NS_JF_INTEGER || m->integer < lo || m->integer > hi)
		return fail(err, errlen, "data.%s is not an integer %lld..%lld", key, (long long)lo,
			    (long long)hi);
	*out = m->integer;
	return 0;
}

/* data of a callback attempt: result, delivery id, version, attempt, code?, reason?. */
static int decode_callback(doc data, ns_event *ev, char *err, size_t errlen)
{
	int64_t attempt = 0, code = 0;

	if (get_str(data, "data.", "status", ev->status, NS_STATUS_MAX, 1, F_NAME, err, errlen) ||
	    get_str(data, "data.", "deliveryId", ev->delivery_id, NS_EVENT_ID_LEN, 1, F_HEX_ID, err,
		    errlen) ||
	    get_int(data, "version", 1, INT64_MAX, 0, &ev->version, err, errlen) ||
	    get_int(data, "attempt", 1, 1000000, 0, &attempt, err, errlen) ||
	    get_int(data, "code", 0, 999, 1, &code, err, errlen))
		return -1;
	if (has(data, "reason") &&
	    get_str(data, "data.", "reason", ev->reason, NS_REASON_MAX, 0, F_TEXT, err, errlen))
		return -1;
	ev->attempt = (int)attempt;
	ev->code = (int)code;
	return 0;
}

static int decode_data(doc data, ns_event *ev, char *err, size_t errlen)
{
	int64_t code = 0;

	if (data.j->m[data.obj].kind != NS_JF_OBJECT)
		return fail(err, errlen, "data is not an object");
	for (int i = 0; i < data.j->n; i++) {
		const ns_jflat_member *m = &data.j->m[i];
		if (m->parent == data.obj && !data_member_ok(ev->type, m->key))
			return fail(err, errlen, "data.%s is not allowed in a %s event", m->key,
				    ns_event_type_name(ev->type));
	}
	switch (ev->type) {
	case NS_EV_REQUESTED:
		if (get_str(data, "data.", "to", ev->to, NS_TO_MAX, 1, F_ADDRESS, err, errlen) ||
		    get_str(data, "data.", "body", ev->body, NS_BODY_MAX, 1, F_ANY, err, errlen))
			return -1;
		if (has(data, "callbackUrl") &&
		    get_str(data, "data.", "callbackUrl", ev->callback_url, NS_URL_MAX, 1, F_URL,
			    err, errlen))
			return -1;
		ev->status[0] = '\0'; /* claims the channel's initial status (ns_fold) */
		return 0;
	case NS_EV_DISPATCHED:
		if (get_str(data, "data.", "status", ev->status, NS_STATUS_MAX, 1, F_NAME, err,
			    errlen) ||
		    get_str(data, "data.", "providerId", ev->provider_id, NS_PROVIDER_ID_MAX, 1,
			    F_TEXT, err, errlen))
			return -1;
		return 0;
	case NS_EV_FAILED:
		if (get_str(data, "data.", "status", ev->status, NS_STATUS_MAX, 1, F_NAME, err,
			    errlen) ||
		    get_str(data, "data.", "reason", ev->reason, NS_REASON_MAX, 0, F_ANY, err,
			    errlen))
			return -1;
		if (get_int(data, "code", 0, 999, 1, &code, err, errlen))
			return -1;
		ev->code = (int)code;
		return 0;
	case NS_EV_STATUS:
		return get_str(data, "data.", "status", ev->status, NS_STATUS_MAX, 1, F_NAME, err,
			       errlen);
	case NS_EV_CALLBACK:
		return decode_callback(data, ev, err, errlen);
	}
	return fail(err, errlen, "unknown type");
}

/* The optional members tenant ("" or a name) and keyId (a name). */
static int decode_who(doc root, ns_event *ev, char *err, size_t errlen)
{
	if (has(root, "tenant") &&
	    get_str(root, "", "tenant", ev->tenant, NS_TENANT_MAX, 0, F_ANY, err, errlen))
		return -1;
	if (ev->tenant[0] && !form_ok(ev->tenant, strlen(ev->tenant), F_NAME))
		return fail(err, errlen, "tenant has an invalid form");
	if (has(root, "keyId") &&
	    get_str(root, "", "keyId", ev->key_id, NS_TENANT_MAX, 1, F_NAME, err, errlen))
		return -1;
	return 0;
}

/* The envelope's version, type and source, by name. */
static int decode_kind(doc root, ns_event *ev, char *err, size_t errlen)
{
	int v = ns_jflat_find(root.j, -1, "v");
	char word[16];
	int i;

	if (v < 0)
		return fail(err, errlen, "missing v");
	if (root.j->m[v].kind != NS_JF_INTEGER || root.j->m[v].integer != NS_EVENT_VERSION)
		return fail(err, errlen, "unsupported version (want v=%d)", NS_EVENT_VERSION);
	if (get_str(root, "", "type", word, sizeof(word) - 1, 1, F_NAME, err, errlen))
		return -1;
	i = lookup(word, type_names, NTYPES);
	if (i < 0)
		return fail(err, errlen, "unknown type %s", word);
	ev->type = (ns_event_type)i;
	if (get_str(root, "", "source", word, sizeof(word) - 1, 1, F_NAME, err, errlen))
		return -1;
	i = lookup(word, source_names, NSOURCES);
	if (i < 0)
		return fail(err, errlen, "unknown source %s", word);
	ev->source = (ns_event_source)i;
	return 0;
}

/* The envelope's members other than data: only known ones, the version, type and source
 * by name, then the strings and times. Returns 0 or -1 with err filled. */
static int decode_envelope(doc root, ns_event *ev, char *err, size_t errlen)
{
	static const char *const members[] = {"v",	    "id",      "type",	     "tenant",
					      "externalId", "channel", "occurredAt", "receivedAt",
					      "source",	    "keyId",   "data"};

	for (int i = 0; i < root.j->n; i++) {
		const ns_jflat_member *m = &root.j->m[i];
		if (m->parent == -1 &&
		    lookup(m->key, members, (int)(sizeof(members) / sizeof(members[0]))) < 0)
			return fail(err, errlen, "unknown member %.31s", m->key);
	}
	if (decode_kind(root, ev, err, errlen) ||
	    get_str(root, "", "id", ev->id, NS_EVENT_ID_LEN, 1, F_HEX_ID, err, errlen) ||
	    get_str(root, "", "externalId", ev->external_id, NS_EXTID_MAX, 1, F_TEXT, err,
		    errlen) ||
	    get_str(root, "", "channel", ev->channel, NS_STATUS_MAX, 0, F_ANY, err, errlen) ||
	    get_time(root, "occurredAt", &ev->occurred_at, err, errlen) ||
	    get_time(root, "receivedAt", &ev->received_at, err, errlen))
		return -1;
	if (decode_who(root, ev, err, errlen))
		return -1;
	if (ev->channel[0] == '\0' && ev->type != NS_EV_STATUS)
		return fail(err, errlen, "channel is empty in a %s event",
			    ns_event_type_name(ev->type));
	if (ev->channel[0] && !form_ok(ev->channel, strlen(ev->channel), F_NAME))
		return fail(err, errlen, "channel has an invalid form");
	return 0;
}

int ns_event_decode(const char *buf, size_t len, ns_event *ev, char *err, size_t errlen)
{
	ns_jflat j;
	doc root = {&j, -1};
	char why[160];
	int data, rc = -1;

	memset(ev, 0, sizeof(*ev));
	if (errlen)
		err[0] = '\0';
	if (!buf) {
		fail(err, errlen, "no message value");
		goto out;
	}
	if (len > EVENT_MAX_BYTES) {
		fail(err, errlen, "message larger than %d bytes", EVENT_MAX_BYTES);
		goto out;
	}
	if (ns_jflat_parse(&j, buf, len, NS_JSON_MAX_DEPTH, why, sizeof(why))) {
		fail(err, errlen, "not JSON: %s", why);
		goto out;
	}
	if (decode_envelope(root, ev, err, errlen))
		goto out;
	data = ns_jflat_find(&j, -1, "data");
	if (data < 0) {
		fail(err, errlen, "missing data");
		goto out;
	}
	if (decode_data((doc){&j, data}, ev, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		memset(ev, 0, sizeof(*ev));
	return rc;
}
