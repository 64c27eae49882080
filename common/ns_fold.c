/* ns_fold.c -- apply one event to a notification's state (the status semantics of
 * docs/DESIGN.md, stated exactly in ns_fold.h). Pure: no I/O, no clock, no allocation. */
#include "ns_fold.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const outcome_names[] = {"applied", "duplicate", "stale",
					    "invalid", "conflict",  "recorded"};

const char *ns_outcome_name(ns_outcome o)
{
	return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o]
									      : "?";
}

static void say(char *detail, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *detail, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!detail || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, len, fmt, ap);
	va_end(ap);
}

/* Bounded copy of a NUL-terminated string into dst[cap + 1]. */
static void copy(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* `to` reachable from `from` in any channel of the set that has both. */
static int union_reachable(const ns_channels *set, const char *from, const char *to)
{
	for (size_t i = 0; i < ns_channels_count(set); i++)
		if (ns_channel_reachable(ns_channels_at(set, i), from, to))
			return 1;
	return 0;
}

static ns_outcome fold_requested(const ns_channels *set, ns_state *st, const ns_event *ev,
				 char *detail, size_t dlen)
{
	const ns_channel *ch = ns_channels_find(set, ev->channel);
	const char *initial;

	if (!ch) {
		say(detail, dlen, "unknown channel %s", ev->channel);
		return NS_OUT_INVALID;
	}
	if (st->requested) {
		if (strcmp(ev->id, st->request_id) == 0 ||
		    (strcmp(ev->channel, st->channel) == 0 && strcmp(ev->to, st->to) == 0 &&
		     strcmp(ev->body, st->body) == 0)) {
			say(detail, dlen, "identical repeat of requested %s", st->request_id);
			return NS_OUT_DUPLICATE;
		}
		say(detail, dlen, "requested with other content; requested %s came first",
		    st->request_id);
		return NS_OUT_CONFLICT;
	}

	initial = ns_channel_initial(ch);
	st->requested = 1;
	copy(st->channel, ev->channel, NS_STATUS_MAX);
	copy(st->to, ev->to, NS_TO_MAX);
	copy(st->body, ev->body, NS_BODY_MAX);
	copy(st->callback_url, ev->callback_url, NS_URL_MAX);
	copy(st->request_id, ev->id, NS_EVENT_ID_LEN);
	st->created_at = ev->occurred_at;
	if (ev->occurred_at > st->updated_at)
		st->updated_at = ev->occurred_at;
	if (st->status[0] == '\0') {
		copy(st->status, initial, NS_STATUS_MAX);
	} else if (strcmp(st->status, initial) != 0 &&
		   !ns_channel_reachable(ch, initial, st->status)) {
		/* Status events that came first do not fit this channel: an inconsistent
		 * history. The status stays; the detail tells why. */
		say(detail, dlen, "status %s (set before requested) is not reachable from %s in %s",
		    st->status, initial, ev->channel);
	}
	return NS_OUT_APPLIED;
}

/* dispatched, failed, status: each claims ev->status. */
static ns_outcome fold_claim(const ns_channels *set, ns_state *st, const ns_event *ev, char *detail,
			     size_t dlen)
{
	const char *s = ev->status, *c = st->status;
	const ns_channel *ch = NULL;
	int fwd, back;

	if (ev->type == NS_EV_DISPATCHED && ev->provider_id[0]) {
		if (st->provider_id[0] == '\0')
			copy(st->provider_id, ev->provider_id, NS_PROVIDER_ID_MAX);
		else if (strcmp(st->provider_id, ev->provider_id) != 0)
			say(detail, dlen, "providerId %s kept (event has %s)", st->provider_id,
			    ev->provider_id);
	}
	if (s[0] == '\0') {
		say(detail, dlen, "no status claimed");
		return NS_OUT_INVALID;
	}
	if (st->requested) {
		if (ev->channel[0] && strcmp(ev->channel, st->channel) != 0) {
			say(detail, dlen, "channel %s differs from requested %s", ev->channel,
			    st->channel);
			return NS_OUT_INVALID;
		}
		ch = ns_channels_find(set, st->channel);
		if (!ns_channel_has(ch, s)) {
			say(detail, dlen, "status %s is not a status of %s", s, st->channel);
			return NS_OUT_INVALID;
		}
	} else if (!ns_channels_any_has(set, s)) {
		say(detail, dlen, "status %s is not a status of any channel", s);
		return NS_OUT_INVALID;
	}

	if (c[0] == '\0') {
		fwd = 1; /* nothing yet: the first claim sets the status */
		back = 0;
	} else if (strcmp(s, c) == 0) {
		/* Another event claiming the current status (e.g. two webhooks with different
		 * timestamps) changes nothing, timestamps included. */
		say(detail, dlen, "already %s", c);
		return NS_OUT_DUPLICATE;
	} else if (ch) {
		fwd = ns_channel_reachable(ch, c, s);
		back = ns_channel_reachable(ch, s, c);
	} else {
		fwd = union_reachable(set, c, s);
		back = union_reachable(set, s, c);
	}
	if (!fwd) {
		if (back) {
			say(detail, dlen, "%s arrived after %s", s, c);
			return NS_OUT_STALE;
		}
		say(detail, dlen, "no transition from %s to %s", c, s);
		return NS_OUT_INVALID;
	}
	copy(st->status, s, NS_STATUS_MAX);
	if (ev->type == NS_EV_FAILED)
		copy(st->reason, ev->reason, NS_REASON_MAX);
	if (!st->requested && ev->occurred_at < st->created_at)
		st->created_at = ev->occurred_at; /* earliest applied until the requested arrives */
	if (ev->occurred_at > st->updated_at)
		st->updated_at = ev->occurred_at; /* never backwards */
	return NS_OUT_APPLIED;
}

ns_outcome ns_fold_apply(const ns_channels *set, ns_state *st, const ns_event *ev, int seen,
			 char *detail, size_t detaillen)
{
	if (detail && detaillen)
		detail[0] = '\0';
	st->events++;
	if (!st->exists) {
		st->exists = 1;
		copy(st->tenant, ev->tenant, NS_TENANT_MAX);
		copy(st->external_id, ev->external_id, NS_EXTID_MAX);
		st->created_at = ev->occurred_at;
		st->updated_at = ev->occurred_at;
	}
	if (strcmp(st->external_id, ev->external_id) != 0 || strcmp(st->tenant, ev->tenant) != 0) {
		say(detail, detaillen, "event for %s:%s folded into %s:%s", ev->tenant,
		    ev->external_id, st->tenant, st->external_id);
		return NS_OUT_INVALID;
	}
	if (seen) {
		say(detail, detaillen, "event %s already folded", ev->id);
		return NS_OUT_DUPLICATE;
	}
	if (ev->type == NS_EV_REQUESTED)
		return fold_requested(set, st, ev, detail, detaillen);
	if (ev->type == NS_EV_CALLBACK) {
		say(detail, detaillen, "callback of version %lld, attempt %d: %s%s%s",
		    (long long)ev->version, ev->attempt, ev->status, ev->reason[0] ? ": " : "",
		    ev->reason);
		return NS_OUT_RECORDED;
	}
	return fold_claim(set, st, ev, detail, detaillen);
}
