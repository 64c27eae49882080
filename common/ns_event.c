/* ns_event.c -- the event envelope codec and deterministic event ids (SHA-256).
 *
 * Encoding writes the envelope in one pass with ns_jwrite. Decoding, which every consumer
 * runs on every Kafka message, reads it with ns_jflat, which allocates nothing, and finds
 * each object's members by name in one pass over them.
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

#include <limits.h>
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

/* The parts of an id, joined by ID_SEP, as they are hashed: at most a type name, the
 * largest of each type's fields and their separators. */
typedef struct {
	char buf[16 + sizeof(((ns_event *)0)->tenant) + sizeof(((ns_event *)0)->external_id) +
		 sizeof(((ns_event *)0)->channel) + sizeof(((ns_event *)0)->to) +
		 sizeof(((ns_event *)0)->body) + 8];
	size_t len;
} id_input;

static void id_part(id_input *in, const char *s)
{
	size_t n = strlen(s);

	if (in->len && in->len < sizeof(in->buf))
		in->buf[in->len++] = ID_SEP;
	if (n > sizeof(in->buf) - in->len)
		n = sizeof(in->buf) - in->len; /* cannot happen: the buffer holds the largest */
	memcpy(in->buf + in->len, s, n);
	in->len += n;
}

void ns_event_make_id(ns_event *ev)
{
	unsigned char dig[NS_DIGEST_SHA256_LEN];
	char ts[NS_TIME_ISO_LEN];
	id_input in;

	in.len = 0;
	id_part(&in, ns_event_type_name(ev->type));
	if (ev->tenant[0])
		id_part(&in, ev->tenant);
	id_part(&in, ev->external_id);
	switch (ev->type) {
	case NS_EV_REQUESTED:
		id_part(&in, ev->channel);
		id_part(&in, ev->to);
		id_part(&in, ev->body);
		break;
	case NS_EV_STATUS:
		id_part(&in, ev->status);
		id_part(&in, ns_time_format(ev->occurred_at, ts));
		break;
	case NS_EV_CALLBACK:
		snprintf(ts, sizeof(ts), "%d", ev->attempt);
		id_part(&in, ev->delivery_id);
		id_part(&in, ts);
		id_part(&in, ev->status);
		break;
	case NS_EV_DISPATCHED:
	case NS_EV_FAILED:
		break;
	}
	/* one digest of the whole input: a context and an update per part cost more than the
	 * hashing itself */
	if (ns_digest_sha256_of(in.buf, in.len, dig) != 0) {
		/* Only on allocation failure inside libcrypto: an id that decode refuses. */
		ev->id[0] = '\0';
		return;
	}
	(void)ns_str_hex_encode(dig, NS_EVENT_ID_LEN / 2, ev->id, sizeof(ev->id));
}

int ns_event_ref(const char *tenant, const char *external_id, char *out, size_t outlen)
{
	size_t t = tenant && tenant[0] ? strlen(tenant) : 0, e = strlen(external_id);
	size_t n = t ? t + 1 + e : e;

	if (n >= outlen || n > INT_MAX)
		return -1;
	if (t) {
		memcpy(out, tenant, t);
		out[t] = ':';
		memcpy(out + t + 1, external_id, e + 1);
	} else {
		memcpy(out, external_id, e + 1);
	}
	return (int)n;
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

/* Members named by string literals, written quoted as they are (NS_JW_KEY_LIT). */
#define PUT_STR(w, key, val) (NS_JW_KEY_LIT(w, key), ns_jw_str(w, val))
#define PUT_INT(w, key, val) (NS_JW_KEY_LIT(w, key), ns_jw_int(w, val))
#define PUT_TIME(w, key, ms) (NS_JW_KEY_LIT(w, key), put_time(w, ms))

static void put_time(ns_jw *w, int64_t ms)
{
	char ts[NS_TIME_ISO_LEN];

	ns_jw_str(w, ns_time_format(ms, ts));
}

/* The members of data, by type. */
static void put_data(ns_jw *w, const ns_event *ev)
{
	NS_JW_KEY_LIT(w, "data");
	ns_jw_open(w, '{');
	switch (ev->type) {
	case NS_EV_REQUESTED:
		PUT_STR(w, "to", ev->to);
		PUT_STR(w, "body", ev->body);
		if (ev->callback_url[0])
			PUT_STR(w, "callbackUrl", ev->callback_url);
		break;
	case NS_EV_DISPATCHED:
		PUT_STR(w, "status", ev->status);
		PUT_STR(w, "providerId", ev->provider_id);
		break;
	case NS_EV_FAILED:
		PUT_STR(w, "status", ev->status);
		PUT_STR(w, "reason", ev->reason);
		if (ev->code)
			PUT_INT(w, "code", ev->code);
		break;
	case NS_EV_STATUS:
		PUT_STR(w, "status", ev->status);
		break;
	case NS_EV_CALLBACK:
		PUT_STR(w, "status", ev->status);
		PUT_STR(w, "deliveryId", ev->delivery_id);
		PUT_INT(w, "version", ev->version);
		PUT_INT(w, "attempt", ev->attempt);
		if (ev->code)
			PUT_INT(w, "code", ev->code);
		if (ev->reason[0])
			PUT_STR(w, "reason", ev->reason);
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
	PUT_INT(&w, "v", NS_EVENT_VERSION);
	PUT_STR(&w, "id", ev->id);
	PUT_STR(&w, "type", ns_event_type_name(ev->type));
	PUT_STR(&w, "tenant", ev->tenant);
	PUT_STR(&w, "externalId", ev->external_id);
	PUT_STR(&w, "channel", ev->channel);
	PUT_TIME(&w, "occurredAt", ev->occurred_at);
	PUT_TIME(&w, "receivedAt", ev->received_at);
	PUT_STR(&w, "source", ns_event_source_name(ev->source));
	if (ev->key_id[0])
		PUT_STR(&w, "keyId", ev->key_id);
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

/* The members an object may have, by name, and where each one is in the document. */
enum env_member {
	E_V,
	E_ID,
	E_TYPE,
	E_TENANT,
	E_EXTERNAL_ID,
	E_CHANNEL,
	E_OCCURRED_AT,
	E_RECEIVED_AT,
	E_SOURCE,
	E_KEY_ID,
	E_DATA,
	E_COUNT
};
static const char *const env_names[E_COUNT] = {"v",	     "id",	"type",	      "tenant",
					       "externalId", "channel", "occurredAt", "receivedAt",
					       "source",     "keyId",	"data"};

enum data_member {
	D_TO,
	D_BODY,
	D_CALLBACK_URL,
	D_STATUS,
	D_PROVIDER_ID,
	D_REASON,
	D_CODE,
	D_DELIVERY_ID,
	D_VERSION,
	D_ATTEMPT,
	D_COUNT
};
static const char *const data_names[D_COUNT] = {"to",	      "body",	"callbackUrl", "status",
						"providerId", "reason", "code",	       "deliveryId",
						"version",    "attempt"};

/* The data members of each type; a member of another type's list is refused, a member of
 * no list is ignored. */
#define BIT(m) (1u << (m))
static const unsigned data_allowed[] = {
    [NS_EV_REQUESTED] = BIT(D_TO) | BIT(D_BODY) | BIT(D_CALLBACK_URL),
    [NS_EV_DISPATCHED] = BIT(D_STATUS) | BIT(D_PROVIDER_ID),
    [NS_EV_FAILED] = BIT(D_STATUS) | BIT(D_REASON) | BIT(D_CODE),
    [NS_EV_STATUS] = BIT(D_STATUS),
    [NS_EV_CALLBACK] = BIT(D_STATUS) | BIT(D_DELIVERY_ID) | BIT(D_VERSION) | BIT(D_ATTEMPT) |
		       BIT(D_CODE) | BIT(D_REASON),
};

#define SLOTS_MAX 16 /* >= E_COUNT and D_COUNT */

/* One object of the event being read, its members found in one pass (index_members):
 * at[k] is the index in j->m of the member named names[k], or -1 when it has none. */
typedef struct {
	const ns_jflat *j;
	const char *const *names;
	const char *where; /* "" or "data.", for messages */
	int at[SLOTS_MAX];
} doc;

static int lookup(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++) /* the first byte rules out nearly every name */
		if (s[0] == names[i][0] && strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Fill d->at with the members of object obj (-1: the envelope) named in d->names[0..n).
 * known receives a bit per name present, unknown the index of the first member with
 * another name (-1 when none). A key longer than NS_JFLAT_KEY_MAX is kept truncated, which
 * never equals a name. */
static void index_members(doc *d, int obj, int n, unsigned *known, int *unknown)
{
	*known = 0;
	*unknown = -1;
	for (int k = 0; k < n; k++)
		d->at[k] = -1;
	for (int i = 0; i < d->j->n; i++) {
		int k;
		if (d->j->m[i].parent != obj)
			continue;
		k = lookup(d->j->m[i].key, d->names, n);
		if (k >= 0) {
			d->at[k] = i; /* a key appears once: ns_jflat refuses duplicates */
			*known |= 1u << k;
		} else if (*unknown < 0) {
			*unknown = i;
		}
	}
}

/* Member k of d, or NULL when the object has none. */
static const ns_jflat_member *member(const doc *d, int k)
{
	return d->at[k] >= 0 ? &d->j->m[d->at[k]] : NULL;
}

static int has(const doc *d, int k)
{
	return d->at[k] >= 0;
}

/* Copy the string member k of d into out (cap bytes + NUL). min: least length. Returns 0 or
 * -1 with err filled. */
static int get_str(const doc *d, int k, char *out, size_t cap, size_t min, enum form f, char *err,
		   size_t errlen)
{
	const ns_jflat_member *m = member(d, k);
	const char *key = d->names[k];

	if (!m)
		return fail(err, errlen, "missing %s%s", d->where, key);
	if (m->kind != NS_JF_STRING)
		return fail(err, errlen, "%s%s is not a string", d->where, key);
	if (m->len > cap)
		return fail(err, errlen, "%s%s longer than %zu bytes", d->where, key, cap);
	if (m->len < min)
		return fail(err, errlen, "%s%s is empty", d->where, key);
	ns_jflat_string(m, out);
	if (!form_ok(out, m->len, f)) {
		out[0] = '\0';
		return fail(err, errlen, "%s%s has an invalid form", d->where, key);
	}
	return 0;
}

static int get_time(const doc *d, int k, int64_t *ms, char *err, size_t errlen)
{
	char ts[64];

	if (get_str(d, k, ts, sizeof(ts) - 1, 1, F_TEXT, err, errlen) != 0)
		return -1;
	if (ns_time_parse(ts, ms) != 0)
		return fail(err, errlen, "%s is not an ISO 8601 UTC timestamp", d->names[k]);
	return 0;
}

/* The integer member k of d within lo..hi (required unless optional). */
static int get_int(const doc *d, int k, int64_t lo, int64_t hi, int optional, int64_t *out,
		   char *err, size_t errlen)
{
	const ns_jflat_member *m = member(d, k);

	if (!m) {
		if (optional)
			return 0;
		return fail(err, errlen, "missing %s%s", d->where, d->names[k]);
	}
	if (m->kind != NS_JF_INTEGER || m->integer < lo || m->integer > hi)
		return fail(err, errlen, "%s%s is not an integer %lld..%lld", d->where, d->names[k],
			    (long long)lo, (long long)hi);
	*out = m->integer;
	return 0;
}

/* data of a callback attempt: result, delivery id, version, attempt, code?, reason?. */
static int decode_callback(const doc *data, ns_event *ev, char *err, size_t errlen)
{
	int64_t attempt = 0, code = 0;

	if (get_str(data, D_STATUS, ev->status, NS_STATUS_MAX, 1, F_NAME, err, errlen) ||
	    get_str(data, D_DELIVERY_ID, ev->delivery_id, NS_EVENT_ID_LEN, 1, F_HEX_ID, err,
		    errlen) ||
	    get_int(data, D_VERSION, 1, INT64_MAX, 0, &ev->version, err, errlen) ||
	    get_int(data, D_ATTEMPT, 1, 1000000, 0, &attempt, err, errlen) ||
	    get_int(data, D_CODE, 0, 999, 1, &code, err, errlen))
		return -1;
	if (has(data, D_REASON) &&
	    get_str(data, D_REASON, ev->reason, NS_REASON_MAX, 0, F_TEXT, err, errlen))
		return -1;
	ev->attempt = (int)attempt;
	ev->code = (int)code;
	return 0;
}

/* The data members of ev's type (see data_allowed), after the check that no member of
 * another type is there. */
static int decode_data(const ns_jflat *j, int obj, ns_event *ev, char *err, size_t errlen)
{
	doc data = {.j = j, .names = data_names, .where = "data."};
	int64_t code = 0;
	unsigned known, refused;
	int unknown;

	if (j->m[obj].kind != NS_JF_OBJECT)
		return fail(err, errlen, "data is not an object");
	index_members(&data, obj, D_COUNT, &known, &unknown);
	refused = known & ~data_allowed[ev->type];
	for (int k = 0; k < D_COUNT; k++)
		if (refused & BIT(k))
			return fail(err, errlen, "data.%s is not allowed in a %s event",
				    data_names[k], ns_event_type_name(ev->type));
	switch (ev->type) {
	case NS_EV_REQUESTED:
		if (get_str(&data, D_TO, ev->to, NS_TO_MAX, 1, F_ADDRESS, err, errlen) ||
		    get_str(&data, D_BODY, ev->body, NS_BODY_MAX, 1, F_ANY, err, errlen))
			return -1;
		if (has(&data, D_CALLBACK_URL) && get_str(&data, D_CALLBACK_URL, ev->callback_url,
							  NS_URL_MAX, 1, F_URL, err, errlen))
			return -1;
		ev->status[0] = '\0'; /* claims the channel's initial status (ns_fold) */
		return 0;
	case NS_EV_DISPATCHED:
		return get_str(&data, D_STATUS, ev->status, NS_STATUS_MAX, 1, F_NAME, err,
			       errlen) ||
			       get_str(&data, D_PROVIDER_ID, ev->provider_id, NS_PROVIDER_ID_MAX, 1,
				       F_TEXT, err, errlen)
			   ? -1
			   : 0;
	case NS_EV_FAILED:
		if (get_str(&data, D_STATUS, ev->status, NS_STATUS_MAX, 1, F_NAME, err, errlen) ||
		    get_str(&data, D_REASON, ev->reason, NS_REASON_MAX, 0, F_ANY, err, errlen) ||
		    get_int(&data, D_CODE, 0, 999, 1, &code, err, errlen))
			return -1;
		ev->code = (int)code;
		return 0;
	case NS_EV_STATUS:
		return get_str(&data, D_STATUS, ev->status, NS_STATUS_MAX, 1, F_NAME, err, errlen);
	case NS_EV_CALLBACK:
		return decode_callback(&data, ev, err, errlen);
	}
	return fail(err, errlen, "unknown type");
}

/* The optional members tenant ("" or a name) and keyId (a name). */
static int decode_who(const doc *root, ns_event *ev, char *err, size_t errlen)
{
	if (has(root, E_TENANT) &&
	    get_str(root, E_TENANT, ev->tenant, NS_TENANT_MAX, 0, F_ANY, err, errlen))
		return -1;
	if (ev->tenant[0] && !form_ok(ev->tenant, strlen(ev->tenant), F_NAME))
		return fail(err, errlen, "tenant has an invalid form");
	if (has(root, E_KEY_ID) &&
	    get_str(root, E_KEY_ID, ev->key_id, NS_TENANT_MAX, 1, F_NAME, err, errlen))
		return -1;
	return 0;
}

/* The envelope's version, type and source, by name. */
static int decode_kind(const doc *root, ns_event *ev, char *err, size_t errlen)
{
	const ns_jflat_member *v = member(root, E_V);
	char word[16];
	int i;

	if (!v)
		return fail(err, errlen, "missing v");
	if (v->kind != NS_JF_INTEGER || v->integer != NS_EVENT_VERSION)
		return fail(err, errlen, "unsupported version (want v=%d)", NS_EVENT_VERSION);
	if (get_str(root, E_TYPE, word, sizeof(word) - 1, 1, F_NAME, err, errlen))
		return -1;
	i = lookup(word, type_names, NTYPES);
	if (i < 0)
		return fail(err, errlen, "unknown type %s", word);
	ev->type = (ns_event_type)i;
	if (get_str(root, E_SOURCE, word, sizeof(word) - 1, 1, F_NAME, err, errlen))
		return -1;
	i = lookup(word, source_names, NSOURCES);
	if (i < 0)
		return fail(err, errlen, "unknown source %s", word);
	ev->source = (ns_event_source)i;
	return 0;
}

/* The envelope's members other than data: only known ones, the version, type and source
 * by name, then the strings and times. Returns 0 or -1 with err filled. */
static int decode_envelope(const doc *root, int unknown, ns_event *ev, char *err, size_t errlen)
{
	if (unknown >= 0)
		return fail(err, errlen, "unknown member %.31s", root->j->m[unknown].key);
	if (decode_kind(root, ev, err, errlen) ||
	    get_str(root, E_ID, ev->id, NS_EVENT_ID_LEN, 1, F_HEX_ID, err, errlen) ||
	    get_str(root, E_EXTERNAL_ID, ev->external_id, NS_EXTID_MAX, 1, F_TEXT, err, errlen) ||
	    get_str(root, E_CHANNEL, ev->channel, NS_STATUS_MAX, 0, F_ANY, err, errlen) ||
	    get_time(root, E_OCCURRED_AT, &ev->occurred_at, err, errlen) ||
	    get_time(root, E_RECEIVED_AT, &ev->received_at, err, errlen))
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
	doc root = {.j = &j, .names = env_names, .where = ""};
	char why[160];
	unsigned known;
	int unknown, rc = -1;

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
	index_members(&root, -1, E_COUNT, &known, &unknown);
	if (decode_envelope(&root, unknown, ev, err, errlen))
		goto out;
	if (!has(&root, E_DATA)) {
		fail(err, errlen, "missing data");
		goto out;
	}
	if (decode_data(&j, root.at[E_DATA], ev, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		memset(ev, 0, sizeof(*ev));
	return rc;
}
