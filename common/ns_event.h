/* ns_event.h -- the versioned event envelope on notification.status.change.
 *
 *   {"v":1,"id":"...","type":"requested|dispatched|failed|status","tenant":"acme",
 *    "externalId":"...","channel":"sms","occurredAt":"...Z","receivedAt":"...Z",
 *    "source":"api|sender|provider","keyId":"k-1","data":{...}}
 *
 * A notification is (tenant, externalId): tenants never meet. Its reference,
 * "<tenant>:<externalId>" (ns_event_ref), is the Kafka key of all its events (so it lives in
 * one partition) and the id the provider knows it by; a provider webhook names it, and
 * ns_event_ref_split maps it back. tenant is optional on decode (events written before
 * tenants decode with tenant ""); keyId, the API key that made a requested event, is
 * optional (never the secret).
 *
 * data by type:
 *   requested:  {"to":"+4915...","body":"...","callbackUrl":"https://..."}  (claims the
 *               channel's initial status; "to" is E.164 or an email address, as the
 *               channel's address kind says; callbackUrl optional, ns_url_parse's form)
 *   dispatched: {"status":"processing","providerId":"..."}     (provider took it)
 *   failed:     {"status":"failed","reason":"...","code":422}  (code optional)
 *   status:     {"status":"delivered"}                         (provider webhook)
 *   callback:   {"status":"delivered|retrying|failed|dropped","deliveryId":"<id>",
 *                "version":3,"attempt":1,"code":200,"reason":"..."}  (one delivery attempt
 *               of a status callback: history only, it changes no state; code and
 *               reason optional)
 * channel may be "" on status events: ingest cannot know a webhook's channel.
 *
 * Decoding is strict: unknown version, an unknown envelope member, missing or mistyped
 * fields, an unknown type or source, a bad timestamp, over-long strings (never truncated),
 * an id that is not 32 lowercase hex, a "to" that is neither E.164 nor a plausible email
 * (ns_check_e164, ns_check_email: the codec does not know the channel's address kind,
 * ingest checks the exact kind), JSON nested deeper than NS_JSON_MAX_DEPTH, a data member
 * of another
 * type (e.g. "to" on a status event): each an error with a message, never a crash. Other
 * unknown data members are ignored. schemas/event.schema.json describes the same. */
#ifndef NS_EVENT_H
#define NS_EVENT_H

#include "ns_channel.h"
#include "ns_url.h"

#include <stddef.h>
#include <stdint.h>

#define NS_EVENT_VERSION   1
#define NS_EXTID_MAX	   128		/* externalId bytes */
#define NS_TO_MAX	   NS_EMAIL_MAX /* E.164 ('+', <= 15 digits) or an email address */
#define NS_BODY_MAX	   4096		/* message body bytes */
#define NS_REASON_MAX	   256
#define NS_PROVIDER_ID_MAX 128
#define NS_EVENT_ID_LEN	   32				      /* hex characters */
#define NS_TENANT_MAX	   NS_NAME_MAX			      /* tenant and key id bytes */
#define NS_REF_MAX	   (NS_TENANT_MAX + 1 + NS_EXTID_MAX) /* "<tenant>:<externalId>" */

/* Our own lifecycle around the provider's statuses (docs/DESIGN.md): a notification starts at
 * its channel's initial status (`queued` in every shipped channel file); the sender's
 * outcomes claim these two. Every channel that the sender serves has both. */
#define NS_STATUS_PROCESSING "processing" /* dispatched: the provider took it */
#define NS_STATUS_FAILED     "failed"	  /* failed: unreachable or refused for good */

typedef enum {
	NS_EV_REQUESTED = 0,
	NS_EV_DISPATCHED,
	NS_EV_FAILED,
	NS_EV_STATUS,
	NS_EV_CALLBACK,
} ns_event_type;

typedef enum { NS_SRC_API = 0, NS_SRC_SENDER, NS_SRC_PROVIDER, NS_SRC_CALLBACKS } ns_event_source;

typedef struct {
	char id[NS_EVENT_ID_LEN + 1];
	ns_event_type type;
	ns_event_source source;
	char tenant[NS_TENANT_MAX + 1]; /* "" only for events written before tenants */
	char key_id[NS_TENANT_MAX + 1]; /* requested by this API key ("" when unknown) */
	char external_id[NS_EXTID_MAX + 1];
	char channel[NS_STATUS_MAX + 1]; /* may be empty for NS_EV_STATUS */
	int64_t occurred_at;		 /* ms since epoch */
	int64_t received_at;		 /* ms since epoch */
	/* data */
	char status[NS_STATUS_MAX + 1];	   /* claimed status; "" for requested (ns_fold uses the
					      channel's initial status) */
	char to[NS_TO_MAX + 1];		   /* requested */
	char body[NS_BODY_MAX + 1];	   /* requested */
	char callback_url[NS_URL_MAX + 1]; /* requested: "" when none */
	char provider_id[NS_PROVIDER_ID_MAX + 1]; /* dispatched */
	char reason[NS_REASON_MAX + 1];		  /* failed */
	int code;				  /* failed: HTTP status from provider, or 0 */
	/* callback */
	char delivery_id[NS_EVENT_ID_LEN + 1]; /* the change's delivery id (its event id) */
	int64_t version;		       /* the change's version */
	int attempt;			       /* 1, 2, ... */
} ns_event;

/* Wire names ("requested", ..., "api", ...): static strings; "?" for an out-of-range value. */
const char *ns_event_type_name(ns_event_type t);
const char *ns_event_source_name(ns_event_source s);

/* Deterministic event ids: the first 32 lowercase hex chars of SHA-256 over the type name
 * and the parts below, joined by 0x1f (timestamps as ns_time_format prints them; the
 * tenant, when not "", comes first after the type):
 *   requested: (tenant, externalId, channel, to, body) -- an identical repeat, same id;
 *   status:    (tenant, externalId, event, timestamp)  -- provider retries collapse;
 *   dispatched/failed: (tenant, externalId), after the type like the others;
 *   callback:  (tenant, externalId, deliveryId, attempt, status).
 * Fills ev->id from the fields already set in ev. */
void ns_event_make_id(ns_event *ev);

/* The reference of (tenant, external_id), "<tenant>:<externalId>" (just externalId when
 * tenant is ""), into out (NS_REF_MAX + 1 bytes). Returns its length, or -1 when it does
 * not fit. */
int ns_event_ref(const char *tenant, const char *external_id, char *out, size_t outlen);

/* Split a reference made by ns_event_ref at its first ':' into tenant (a name) and
 * external_id (an externalId ns_check_external_id accepts). Returns 0, or -1 when ref is
 * not one (no ':', a bad tenant or id, too long). */
int ns_event_ref_split(const char *ref, char tenant[NS_TENANT_MAX + 1],
		       char external_id[NS_EXTID_MAX + 1]);

/* Encode ev as compact JSON (ns_jwrite: a string that is not valid UTF-8, such as a
 * provider's truncated answer in a reason, keeps U+FFFD in place of its bad bytes). Returns
 * a malloc'd NUL-terminated string (caller frees), or NULL on allocation failure. *len
 * receives strlen of the result when len is non-NULL. */
char *ns_event_encode(const ns_event *ev, size_t *len);

/* Decode a message value. Returns 0 and fills *ev, or -1 with a reason in err. */
int ns_event_decode(const char *buf, size_t len, ns_event *ev, char *err, size_t errlen);

#endif
