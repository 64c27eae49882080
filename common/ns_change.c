/* ns_change.c -- the changelog record codec, and its mapping to and from a fold state.
 *
 * Decoding is as strict as ns_event_decode: every member of this version is required (the
 * optional ones may be null), no other member is allowed, strings are never truncated. A
 * reader of the changelog relies on it, and so does the publisher when it restores its
 * state from the topic after a crash. */
#include "ns_change.h"
#include "ns_check.h"
#include "ns_json.h"
#include "ns_time.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANGE_MAX_BYTES (16 * 1024)

static void copy(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void ns_change_from_state(ns_change *c, const ns_state *st, const ns_event *ev, int64_t version,
			  const char *previous)
{
	memset(c, 0, sizeof(*c));
	copy(c->tenant, st->tenant, NS_TENANT_MAX);
	copy(c->external_id, st->external_id, NS_EXTID_MAX);
	c->version = version;
	copy(c->status, st->status, NS_STATUS_MAX);
	copy(c->previous, previous ? previous : "", NS_STATUS_MAX);
	copy(c->channel, st->channel, NS_STATUS_MAX);
	c->created_at = st->created_at;
	c->updated_at = st->updated_at;
	copy(c->provider_id, st->provider_id, NS_PROVIDER_ID_MAX);
	copy(c->reason, st->reason, NS_REASON_MAX);
	copy(c->request_id, st->request_id, NS_EVENT_ID_LEN);
	copy(c->event_id, ev->id, NS_EVENT_ID_LEN);
	c->event_type = ev->type;
	c->occurred_at = ev->occurred_at;
	copy(c->callback_url, st->callback_url, NS_URL_MAX);
}

void ns_change_to_state(const ns_change *c, ns_state *st)
{
	memset(st, 0, sizeof(*st));
	st->exists = 1;
	st->requested = c->request_id[0] != '\0';
	copy(st->tenant, c->tenant, NS_TENANT_MAX);
	copy(st->external_id, c->external_id, NS_EXTID_MAX);
	copy(st->channel, c->channel, NS_STATUS_MAX);
	copy(st->status, c->status, NS_STATUS_MAX);
	copy(st->request_id, c->request_id, NS_EVENT_ID_LEN);
	copy(st->provider_id, c->provider_id, NS_PROVIDER_ID_MAX);
	copy(st->reason, c->reason, NS_REASON_MAX);
	copy(st->callback_url, c->callback_url, NS_URL_MAX);
	st->created_at = c->created_at;
	st->updated_at = c->updated_at;
}

/* ---- encode ---- */

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *time_json(int64_t ms)
{
	char ts[NS_TIME_ISO_LEN];
	return json_string(ns_time_format(ms, ts));
}

char *ns_change_encode(const ns_change *c, size_t *len)
{
	json_t *o = json_object();
	char *out = NULL;
	int rc = 0;

	if (!o)
		return NULL;
	rc |= json_object_set_new(o, "v", json_integer(NS_CHANGE_VERSION));
	rc |= json_object_set_new(o, "tenant", json_string(c->tenant));
	rc |= json_object_set_new(o, "externalId", json_string(c->external_id));
	rc |= json_object_set_new(o, "version", json_integer(c->version));
	rc |= json_object_set_new(o, "status", json_string(c->status));
	rc |= json_object_set_new(o, "previous", str_or_null(c->previous));
	rc |= json_object_set_new(o, "channel", str_or_null(c->channel));
	rc |= json_object_set_new(o, "createdAt", time_json(c->created_at));
	rc |= json_object_set_new(o, "updatedAt", time_json(c->updated_at));
	rc |= json_object_set_new(o, "providerId", str_or_null(c->provider_id));
	rc |= json_object_set_new(o, "reason", str_or_null(c->reason));
	rc |= json_object_set_new(o, "requestId", str_or_null(c->request_id));
	rc |= json_object_set_new(o, "eventId", json_string(c->event_id));
	rc |= json_object_set_new(o, "eventType", json_string(ns_event_type_name(c->event_type)));
	rc |= json_object_set_new(o, "occurredAt", time_json(c->occurred_at));
	rc |= json_object_set_new(o, "callbackUrl", str_or_null(c->callback_url));
	if (rc == 0)
		out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (out && len)
		*len = strlen(out);
	json_decref(o);
	return out;
}

/* ---- decode ---- */

static int fail(char *err, size_t errlen, const char *what, const char *key)
{
	if (errlen)
		snprintf(err, errlen, "%s %s", what, key);
	return -1;
}

/* String member key into out[cap + 1]; nullable: JSON null reads as "". */
static int get_str(json_t *o, const char *key, char *out, size_t cap, int nullable, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!v)
		return fail(err, errlen, "missing", key);
	if (nullable && json_is_null(v)) {
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, errlen, "not a string:", key);
	n = json_string_length(v);
	if (n > cap || n == 0 || !ns_check_text(json_string_value(v), n))
		return fail(err, errlen, "empty, too long or with a control character:", key);
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int get_time(json_t *o, const char *key, int64_t *ms, char *err, size_t errlen)
{
	char ts[64];
	if (get_str(o, key, ts, sizeof(ts) - 1, 0, err, errlen) != 0)
		return -1;
	return ns_time_parse(ts, ms) == 0 ? 0 : fail(err, errlen, "not a timestamp:", key);
}

static int get_type(json_t *o, ns_event_type *t, char *err, size_t errlen)
{
	char w[16];
	if (get_str(o, "eventType", w, sizeof(w) - 1, 0, err, errlen) != 0)
		return -1;
	for (int i = NS_EV_REQUESTED; i <= NS_EV_STATUS; i++)
		if (strcmp(w, ns_event_type_name((ns_event_type)i)) == 0) {
			*t = (ns_event_type)i;
			return 0;
		}
	return fail(err, errlen, "unknown", "eventType");
}

/* The string members: name, where, capacity, nullable. */
typedef struct {
	const char *key;
	size_t off, cap;
	int nullable;
} str_member;

#define STR_MEMBER(k, f, cap, nul)                                                                 \
	{                                                                                          \
		k, offsetof(ns_change, f), cap, nul                                                \
	}
static const str_member str_members[] = {
    STR_MEMBER("tenant", tenant, NS_TENANT_MAX, 0),
    STR_MEMBER("externalId", external_id, NS_EXTID_MAX, 0),
    STR_MEMBER("status", status, NS_STATUS_MAX, 0),
    STR_MEMBER("previous", previous, NS_STATUS_MAX, 1),
    STR_MEMBER("channel", channel, NS_STATUS_MAX, 1),
    STR_MEMBER("providerId", provider_id, NS_PROVIDER_ID_MAX, 1),
    STR_MEMBER("reason", reason, NS_REASON_MAX, 1),
    STR_MEMBER("requestId", request_id, NS_EVENT_ID_LEN, 1),
    STR_MEMBER("eventId", event_id, NS_EVENT_ID_LEN, 0),
    STR_MEMBER("callbackUrl", callback_url, NS_URL_MAX, 1),
};

/* Every member of a v1 record and nothing else: the 10 strings above, v, version, the
 * three times and eventType. */
#define RECORD_MEMBERS (sizeof(str_members) / sizeof(str_members[0]) + 6)

static int decode_members(json_t *o, ns_change *c, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "v"), *ver = json_object_get(o, "version");

	if (json_object_size(o) != RECORD_MEMBERS)
		return fail(err, errlen, "not the members of a record of", "v1");
	if (!json_is_integer(v) || json_integer_value(v) != NS_CHANGE_VERSION)
		return fail(err, errlen, "unsupported or missing", "v");
	if (!json_is_integer(ver) || json_integer_value(ver) < 1)
		return fail(err, errlen, "not a positive integer:", "version");
	c->version = json_integer_value(ver);
	for (size_t i = 0; i < sizeof(str_members) / sizeof(str_members[0]); i++) {
		const str_member *m = &str_members[i];
		if (get_str(o, m->key, (char *)c + m->off, m->cap, m->nullable, err, errlen))
			return -1;
	}
	if (get_time(o, "createdAt", &c->created_at, err, errlen) ||
	    get_time(o, "updatedAt", &c->updated_at, err, errlen) ||
	    get_time(o, "occurredAt", &c->occurred_at, err, errlen) ||
	    get_type(o, &c->event_type, err, errlen))
		return -1;
	return 0;
}

int ns_change_decode(const char *buf, size_t len, ns_change *c, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!buf || len > CHANGE_MAX_BYTES)
		return fail(err, errlen, "no record or larger than", "16 KB");
	o = ns_json_loadb(buf, len, JSON_REJECT_DUPLICATES, NS_JSON_MAX_DEPTH, &jerr, NULL);
	if (!o)
		return fail(err, errlen, "not JSON:", jerr.text);
	rc = json_is_object(o) ? decode_members(o, c, err, errlen)
			       : fail(err, errlen, "not a JSON", "object");
	json_decref(o);
	return rc;
}
