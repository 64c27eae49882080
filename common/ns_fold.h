/* ns_fold.h -- the status semantics: apply one event to a notification's current state.
 *
 * Pure and deterministic: no I/O, no clock. The projector calls it for every event, in
 * partition order; replaying a topic gives the same states. Rules (docs/DESIGN.md):
 *   claimed S, current C:  S == C duplicate; S reachable from C applied;
 *   C reachable from S stale; neither invalid. A requested event claims the channel's
 *   initial status; the first requested wins: an identical repeat (same event id) is a
 *   duplicate, one with other content a conflict. dispatched merges providerId whatever
 *   the status outcome. An event with the same event id as one already seen is a duplicate
 *   (the caller tells it so through `seen`).
 * A status event for a notification that has no requested yet (channel unknown) is applied
 * against the union of all channels' graphs; when the requested arrives later it fills in
 * channel/to/body and the status stays where it is if the initial status reaches it. So
 * every arrival order of one consistent history ends in the same state.
 *
 * Precisely (claimed S, current C):
 *   - seen, or (tenant, externalId) differs from st's: duplicate / invalid, nothing else
 *     changes;
 *   - requested: unknown channel -> invalid; after a requested: same id or same
 *     (channel, to, body) -> duplicate, else conflict; first one -> applied, fills channel,
 *     to, body, callback_url, request_id, created_at; status becomes the initial one when none yet,
 * or stays (the detail says so when the initial status does not reach it);
 *   - dispatched/failed/status: a dispatched's providerId is merged first, whatever the
 *     outcome (the first non-empty one is kept); S unknown (to the notification's channel,
 *     or to every channel before requested) -> invalid; an event channel differing from
 *     the requested one -> invalid; no status yet -> applied; S == C -> duplicate; then
 *     reachability in the channel, or before requested in the union ("S reachable from C
 *     in any channel that has both") -> applied / stale / invalid. An applied failed
 *     stores its reason.
 * A callback event (a delivery attempt of a status callback) is recorded: history, no
 * state change.
 * Only an applied event changes timestamps: a duplicate, stale, invalid or conflicting one
 * changes nothing (the first event of a notification dates its row, whatever its outcome).
 * updated_at is the latest occurredAt of the applied events: it never moves backwards.
 * Deterministic state for a consistent history: status, channel, to, body, request_id,
 * provider_id, reason, created_at; updated_at as well when occurredAt grows along the
 * graph and no two events claim the same status with different times. */
#ifndef NS_FOLD_H
#define NS_FOLD_H

#include "ns_channel.h"
#include "ns_event.h"

typedef enum {
	NS_OUT_APPLIED = 0,
	NS_OUT_DUPLICATE,
	NS_OUT_STALE,
	NS_OUT_INVALID,
	NS_OUT_CONFLICT,
	NS_OUT_RECORDED, /* history only (a callback attempt): no state change */
} ns_outcome;

/* A notification's current state, as the projector stores it. */
typedef struct {
	int exists;    /* 0: no event seen yet */
	int requested; /* a requested event was applied */
	char tenant[NS_TENANT_MAX + 1];
	char external_id[NS_EXTID_MAX + 1];
	char channel[NS_STATUS_MAX + 1]; /* "" until requested */
	char status[NS_STATUS_MAX + 1];
	char to[NS_TO_MAX + 1];
	char body[NS_BODY_MAX + 1];
	char callback_url[NS_URL_MAX + 1];    /* the requested's callbackUrl, "" when none */
	char request_id[NS_EVENT_ID_LEN + 1]; /* id of the winning requested event */
	char provider_id[NS_PROVIDER_ID_MAX + 1];
	char reason[NS_REASON_MAX + 1]; /* reason of the applied failed event */
	int64_t created_at;		/* requested's occurredAt; before it, the earliest applied
					    (or the first event's) */
	int64_t updated_at;		/* the latest occurredAt of an applied event (the first
					    event's until one applies); never lowered */
	long events;			/* events folded, every outcome */
} ns_state;

/* "applied", "duplicate", "stale", "invalid", "conflict", "recorded" (static; "?" out of
 * range). */
const char *ns_outcome_name(ns_outcome o);

/* Apply ev to st (modified in place when the outcome says so; st->events always counts).
 * st starts zeroed for a new notification. Returns the outcome.
 * seen: non-zero when an event with ev->id was already folded for this notification.
 * detail (may be NULL) receives a short human reason for non-applied outcomes. */
ns_outcome ns_fold_apply(const ns_channels *set, ns_state *st, const ns_event *ev, int seen,
			 char *detail, size_t detaillen);

#endif
