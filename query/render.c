/* render.c -- read-model rows as JSON (see render.h), written in one pass (ns_jwrite). */
#include "render.h"

#include "ns_mask.h"
#include "ns_readmodel.h"
#include "ns_time.h"

static const char *col(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

/* The helpers take a member's name quoted, with its colon, and its length
 * (NS_JW_KEY_ARGS). */
static void text(ns_jw *w, const char *key, size_t keylen, sqlite3_stmt *st, int i)
{
	ns_jw_key_quoted(w, key, keylen);
	ns_jw_str(w, col(st, i));
}

static void text_or_null(ns_jw *w, const char *key, size_t keylen, sqlite3_stmt *st, int i)
{
	ns_jw_key_quoted(w, key, keylen);
	ns_jw_str_or_null(w, col(st, i));
}

static void iso(ns_jw *w, const char *key, size_t keylen, sqlite3_stmt *st, int i)
{
	char buf[NS_TIME_ISO_LEN];

	ns_jw_key_quoted(w, key, keylen);
	ns_jw_str(w, ns_time_format(sqlite3_column_int64(st, i), buf));
}

static void integer(ns_jw *w, const char *key, size_t keylen, sqlite3_stmt *st, int i)
{
	ns_jw_key_quoted(w, key, keylen);
	ns_jw_int(w, sqlite3_column_int64(st, i));
}

/* The recipient: as stored with pii, else masked; null when there is none yet. */
static void recipient(ns_jw *w, sqlite3_stmt *st, int pii)
{
	const char *to = col(st, NS_READMODEL_NOTIF_TO_ADDR);
	char masked[NS_MASK_MAX];

	NS_JW_KEY_LIT(w, "to");
	ns_jw_str_or_null(w, pii || !to[0] ? to : ns_mask_address(to, masked, sizeof(masked)));
}

void query_render_state(ns_jw *w, sqlite3_stmt *st, int pii)
{
	ns_jw_open(w, '{');
	text(w, NS_JW_KEY_ARGS("externalId"), st, NS_READMODEL_NOTIF_EXTERNAL_ID);
	text_or_null(w, NS_JW_KEY_ARGS("channel"), st, NS_READMODEL_NOTIF_CHANNEL);
	text_or_null(w, NS_JW_KEY_ARGS("status"), st, NS_READMODEL_NOTIF_STATUS);
	recipient(w, st, pii);
	if (pii) {
		text_or_null(w, NS_JW_KEY_ARGS("body"), st, NS_READMODEL_NOTIF_BODY);
	} else {
		NS_JW_KEY_LIT(w, "body");
		ns_jw_null(w);
	}
	text_or_null(w, NS_JW_KEY_ARGS("providerId"), st, NS_READMODEL_NOTIF_PROVIDER_ID);
	text_or_null(w, NS_JW_KEY_ARGS("reason"), st, NS_READMODEL_NOTIF_REASON);
	iso(w, NS_JW_KEY_ARGS("createdAt"), st, NS_READMODEL_NOTIF_CREATED_AT);
	iso(w, NS_JW_KEY_ARGS("updatedAt"), st, NS_READMODEL_NOTIF_UPDATED_AT);
	integer(w, NS_JW_KEY_ARGS("events"), st, NS_READMODEL_NOTIF_EVENTS);
	NS_JW_KEY_LIT(w, "orphan");
	ns_jw_bool(w, !col(st, NS_READMODEL_NOTIF_REQUEST_ID)[0]);
	text_or_null(w, NS_JW_KEY_ARGS("callbackUrl"), st, NS_READMODEL_NOTIF_CALLBACK_URL);
	ns_jw_close(w, '}');
}

void query_render_event(ns_jw *w, sqlite3_stmt *st)
{
	ns_jw_open(w, '{');
	text(w, NS_JW_KEY_ARGS("eventId"), st, NS_READMODEL_EVENT_EVENT_ID);
	text(w, NS_JW_KEY_ARGS("type"), st, NS_READMODEL_EVENT_TYPE);
	text(w, NS_JW_KEY_ARGS("source"), st, NS_READMODEL_EVENT_SOURCE);
	text_or_null(w, NS_JW_KEY_ARGS("status"), st, NS_READMODEL_EVENT_STATUS);
	text(w, NS_JW_KEY_ARGS("outcome"), st, NS_READMODEL_EVENT_OUTCOME);
	text_or_null(w, NS_JW_KEY_ARGS("detail"), st, NS_READMODEL_EVENT_DETAIL);
	iso(w, NS_JW_KEY_ARGS("occurredAt"), st, NS_READMODEL_EVENT_OCCURRED_AT);
	iso(w, NS_JW_KEY_ARGS("receivedAt"), st, NS_READMODEL_EVENT_RECEIVED_AT);
	integer(w, NS_JW_KEY_ARGS("partition"), st, NS_READMODEL_EVENT_PARTITION);
	integer(w, NS_JW_KEY_ARGS("offset"), st, NS_READMODEL_EVENT_OFFSET);
	ns_jw_close(w, '}');
}
