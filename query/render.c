/* render.c -- read-model rows as JSON (see render.h). */
#include "render.h"

#include "ns_mask.h"
#include "ns_readmodel.h"
#include "ns_time.h"

static json_t *text_or_null(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t && t[0] ? json_string(t) : json_null();
}

static json_t *iso(sqlite3_stmt *st, int i)
{
	char buf[NS_TIME_ISO_LEN];
	return json_string(ns_time_format(sqlite3_column_int64(st, i), buf));
}

static json_t *text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return json_string(t ? t : "");
}

static json_t *integer(sqlite3_stmt *st, int i)
{
	return json_integer(sqlite3_column_int64(st, i));
}

/* The recipient: as stored with pii, else masked; null when there is none yet. */
static json_t *recipient(sqlite3_stmt *st, int pii)
{
	const char *to = (const char *)sqlite3_column_text(st, NS_READMODEL_NOTIF_TO_ADDR);
	char masked[NS_MASK_MAX];

	if (!to || !to[0])
		return json_null();
	return json_string(pii ? to : ns_mask_address(to, masked, sizeof(masked)));
}

json_t *query_render_state(sqlite3_stmt *st, int pii)
{
	json_t *o = json_object();
	const unsigned char *req = sqlite3_column_text(st, NS_READMODEL_NOTIF_REQUEST_ID);

	if (!o)
		return NULL;
	json_object_set_new(o, "externalId", text(st, NS_READMODEL_NOTIF_EXTERNAL_ID));
	json_object_set_new(o, "channel", text_or_null(st, NS_READMODEL_NOTIF_CHANNEL));
	json_object_set_new(o, "status", text_or_null(st, NS_READMODEL_NOTIF_STATUS));
	json_object_set_new(o, "to", recipient(st, pii));
	json_object_set_new(o, "body",
			    pii ? text_or_null(st, NS_READMODEL_NOTIF_BODY) : json_null());
	json_object_set_new(o, "providerId", text_or_null(st, NS_READMODEL_NOTIF_PROVIDER_ID));
	json_object_set_new(o, "reason", text_or_null(st, NS_READMODEL_NOTIF_REASON));
	json_object_set_new(o, "createdAt", iso(st, NS_READMODEL_NOTIF_CREATED_AT));
	json_object_set_new(o, "updatedAt", iso(st, NS_READMODEL_NOTIF_UPDATED_AT));
	json_object_set_new(o, "events", integer(st, NS_READMODEL_NOTIF_EVENTS));
	json_object_set_new(o, "orphan", json_boolean(!req || !req[0]));
	json_object_set_new(o, "callbackUrl", text_or_null(st, NS_READMODEL_NOTIF_CALLBACK_URL));
	return o;
}

json_t *query_render_event(sqlite3_stmt *st)
{
	json_t *e = json_object();

	if (!e)
		return NULL;
	json_object_set_new(e, "eventId", text(st, NS_READMODEL_EVENT_EVENT_ID));
	json_object_set_new(e, "type", text(st, NS_READMODEL_EVENT_TYPE));
	json_object_set_new(e, "source", text(st, NS_READMODEL_EVENT_SOURCE));
	json_object_set_new(e, "status", text_or_null(st, NS_READMODEL_EVENT_STATUS));
	json_object_set_new(e, "outcome", text(st, NS_READMODEL_EVENT_OUTCOME));
	json_object_set_new(e, "detail", text_or_null(st, NS_READMODEL_EVENT_DETAIL));
	json_object_set_new(e, "occurredAt", iso(st, NS_READMODEL_EVENT_OCCURRED_AT));
	json_object_set_new(e, "receivedAt", iso(st, NS_READMODEL_EVENT_RECEIVED_AT));
	json_object_set_new(e, "partition", integer(st, NS_READMODEL_EVENT_PARTITION));
	json_object_set_new(e, "offset", integer(st, NS_READMODEL_EVENT_OFFSET));
	return e;
}
