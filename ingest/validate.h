/* validate.h -- pure validators for the two request bodies ingest accepts.
 *
 * No I/O, no clocks, no Kafka: a body read by ns_jflat goes in, an ns_event (content fields
 * only) or a problem naming the offending field comes out. The handlers add ids and
 * timestamps and produce. Safe to call from many threads at once (the channel set is
 * immutable after loading). */
#ifndef INGEST_VALIDATE_H
#define INGEST_VALIDATE_H

#include "ns_channel.h"
#include "ns_event.h"

#include "ns_jflat.h"

#include <stddef.h>
#include <stdint.h>

#define INGEST_FIELD_MAX  64
#define INGEST_DETAIL_MAX 256
#define INGEST_JSON_DEPTH 2 /* the request bodies are flat objects: {"a": "b"} is depth 1 */

/* Why a request was refused: the HTTP status (400 malformed, 422 unprocessable), the
 * member at fault ("" when the whole body is at fault) and a sentence for humans. */
typedef struct {
	int status;
	char field[INGEST_FIELD_MAX];
	char detail[INGEST_DETAIL_MAX];
} ingest_problem;

/* Read buf[0..len) as one JSON object into j (ns_jflat: duplicate members refused, the
 * strings left in buf, which must outlive j). Returns 0, or -1 with p filled, always 400:
 * a body that is not a JSON object, one nested deeper than INGEST_JSON_DEPTH, malformed
 * JSON, or more members or keys than ns_jflat keeps (NS_JFLAT_MAX_MEMBERS,
 * NS_JFLAT_MAX_KEYS: far more than a request has). */
int ingest_parse_body(ns_jflat *j, const char *buf, size_t len, ingest_problem *p);

/* Validate a POST /notifications body {externalId, channel, to, body, callbackUrl?}
 * (callbackUrl: ns_url_parse's form; its destination is ingest_check_callback's). Returns 0 and
 * fills out (type requested, source api, external_id, channel, to, body; tenant, key id,
 * ids and times are left zero: the caller's key says them), or -1 with p filled (422 naming the
 * field: unknown member, wrong type, missing, or bad value). "to" must be of the named channel's
 * address kind (ns_channel_address: E.164 per ns_check_e164, or ns_check_email); the detail of a
 * refusal names the expected form. out may be partly written on failure. */
int ingest_validate_notification(const ns_channels *chs, const ns_jflat *j, ns_event *out,
				 ingest_problem *p);

/* Refuse a requested event whose callbackUrl names a destination that is not public
 * (ns_url_host_public), unless allow_private (CALLBACKS_ALLOW_PRIVATE). 422 naming
 * callbackUrl. Returns 0, or -1 with p filled. */
int ingest_check_callback(const ns_event *ev, int allow_private, ingest_problem *p);

/* Refuse a status event whose timestamp lies more than max_future_ms after now_ms (422
 * naming timestamp): a provider clock that far ahead is broken, and a time from the far
 * future would date the notification for good. Returns 0, or -1 with p filled. */
int ingest_check_time(const ns_event *ev, int64_t now_ms, int64_t max_future_ms, ingest_problem *p);

/* Validate a POST /webhooks body {externalId, event, timestamp}, where externalId is the
 * reference the provider was given, "<tenant>:<externalId>". Returns 0 and fills out
 * (type status, source provider, tenant and external_id from the reference, status =
 * event, channel "", occurred_at = timestamp; id and received_at left zero), or -1 with p
 * filled as above. The event must
 * be a status of some channel: ingest cannot know the channel of a webhook. */
int ingest_validate_webhook(const ns_channels *chs, const ns_jflat *j, ns_event *out,
			    ingest_problem *p);

#endif
