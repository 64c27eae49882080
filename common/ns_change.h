/* ns_change.h -- one record of the changelog topic (notification.status): a notification's
 * new state after one change, and its version.
 *
 *   {"v":1,"tenant":"acme","externalId":"n-1","version":3,"status":"sent",
 *    "previous":"processing","channel":"sms","createdAt":"...Z","updatedAt":"...Z",
 *    "providerId":"p-1","reason":null,"requestId":"<id>","eventId":"<id>",
 *    "eventType":"status","occurredAt":"...Z","callbackUrl":"https://..."}
 *
 * Keyed by the notification's reference (<tenant>:<externalId>), in the partition of the
 * same number as its events' partition of the status topic. version counts the
 * notification's changes: 1, 2, 3, ... without gaps, so the latest record of a key (what
 * compaction keeps) is the current state, and a reader sees every change in order.
 * Recipients and bodies are not in it. The same JSON is what a status callback POSTs.
 * providerId, reason, callbackUrl are null (callbackUrl absent) when unset. Thread-safe. */
#ifndef NS_CHANGE_H
#define NS_CHANGE_H

#include "ns_event.h"
#include "ns_fold.h"

#include <stddef.h>
#include <stdint.h>

#define NS_CHANGE_VERSION 1

typedef struct {
	char tenant[NS_TENANT_MAX + 1];
	char external_id[NS_EXTID_MAX + 1];
	int64_t version;
	char status[NS_STATUS_MAX + 1];
	char previous[NS_STATUS_MAX + 1]; /* "" for the first change */
	char channel[NS_STATUS_MAX + 1];
	int64_t created_at, updated_at; /* ms since the epoch */
	char provider_id[NS_PROVIDER_ID_MAX + 1];
	char reason[NS_REASON_MAX + 1];
	char request_id[NS_EVENT_ID_LEN + 1]; /* "" while no requested was folded */
	char event_id[NS_EVENT_ID_LEN + 1];   /* the event that made this change */
	ns_event_type event_type;
	int64_t occurred_at; /* that event's occurredAt */
	char callback_url[NS_URL_MAX + 1];
} ns_change;

/* The record of a change: st is the notification's state after ev was folded, version its
 * number, previous the status before ("" when none). Fills c. */
void ns_change_from_state(ns_change *c, const ns_state *st, const ns_event *ev, int64_t version,
			  const char *previous);

/* The state a record stands for (what a restore starts from): exists, requested when a
 * requested was folded, and the record's fields; to, body and the event count are not in
 * a record and stay empty. */
void ns_change_to_state(const ns_change *c, ns_state *st);

/* Encode c as compact JSON. Returns a malloc'd string (caller frees) with its length in
 * *len (may be NULL), or NULL when out of memory. */
char *ns_change_encode(const ns_change *c, size_t *len);

/* Decode a record. Returns 0 with c filled, or -1 with err (not a record of this version,
 * a missing or mistyped member, an over-long string). */
int ns_change_decode(const char *buf, size_t len, ns_change *c, char *err, size_t errlen);

#endif
