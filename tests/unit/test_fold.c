/* test_fold.c -- unit tests of ns_fold: every arrival order of a consistent history
 * (with duplicates) ends in the same state; stale, invalid, conflict and duplicate cases,
 * table-driven; a channel added as a file (email) folds with no code change. */
#include "ns_fold.h"

#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1740830400000LL /* 2025-03-01T12:00:00.000Z */

static ns_channels *set;

static const char *schemas_dir(void)
{
	const char *d = getenv("NS_SCHEMAS_DIR");
	return d && d[0] ? d : "schemas/channels";
}

static void setup(void)
{
	char err[512];
	set = ns_channels_load(schemas_dir(), err, sizeof(err));
	ck_assert_msg(set != NULL, "load %s: %s", schemas_dir(), err);
}

static void teardown(void)
{
	ns_channels_free(set);
	set = NULL;
}

/* One event of a notification "n-1". For requested, `status` is ignored and `body` used;
 * for the others, channel may be "" (as on a webhook). */
static ns_event mk(ns_event_type t, const char *channel, const char *status, const char *body,
		   int64_t ts)
{
	ns_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = t;
	ev.source = t == NS_EV_REQUESTED ? NS_SRC_API
		    : t == NS_EV_STATUS	 ? NS_SRC_PROVIDER
					 : NS_SRC_SENDER;
	snprintf(ev.external_id, sizeof(ev.external_id), "n-1");
	snprintf(ev.channel, sizeof(ev.channel), "%s", channel);
	ev.occurred_at = ts;
	ev.received_at = ts + 5;
	if (t == NS_EV_REQUESTED) {
		snprintf(ev.to, sizeof(ev.to), "+4915112345678");
		snprintf(ev.body, sizeof(ev.body), "%s", body);
	} else {
		snprintf(ev.status, sizeof(ev.status), "%s", status);
	}
	if (t == NS_EV_DISPATCHED)
		snprintf(ev.provider_id, sizeof(ev.provider_id), "prov-1");
	if (t == NS_EV_FAILED)
		snprintf(ev.reason, sizeof(ev.reason), "%s", body ? body : "");
	ns_event_make_id(&ev);
	return ev;
}

#define REQ(ch, body, ts)  mk(NS_EV_REQUESTED, ch, "", body, ts)
#define DISP(ch, ts)	   mk(NS_EV_DISPATCHED, ch, "processing", NULL, ts)
#define FAIL(ch, why, ts)  mk(NS_EV_FAILED, ch, "failed", why, ts)
#define STATUS(status, ts) mk(NS_EV_STATUS, "", status, NULL, ts)

/* What the projector does: a set of event ids already folded for the notification. */
typedef struct {
	char ids[16][NS_EVENT_ID_LEN + 1];
	int n;
} seen_set;

static ns_outcome fold(const ns_channels *chs, ns_state *st, seen_set *seen, const ns_event *ev)
{
	char detail[256];
	int was = 0;
	ns_outcome o;

	for (int i = 0; i < seen->n; i++)
		if (strcmp(seen->ids[i], ev->id) == 0)
			was = 1;
	if (!was) {
		ck_assert_int_lt(seen->n, 16);
		memcpy(seen->ids[seen->n++], ev->id, NS_EVENT_ID_LEN + 1);
	}
	o = ns_fold_apply(chs, st, ev, was, detail, sizeof(detail));
	if (o != NS_OUT_APPLIED)
		ck_assert_msg(detail[0] != '\0', "outcome %s without detail", ns_outcome_name(o));
	if (was)
		ck_assert_int_eq(o, NS_OUT_DUPLICATE);
	return o;
}

/* Next lexicographic permutation of p[0..n). Returns 0 after the last one. */
static int next_perm(int *p, int n)
{
	int i = n - 2, j = n - 1, t;

	while (i >= 0 && p[i] >= p[i + 1])
		i--;
	if (i < 0)
		return 0;
	while (p[j] <= p[i])
		j--;
	t = p[i], p[i] = p[j], p[j] = t;
	for (int a = i + 1, b = n - 1; a < b; a++, b--)
		t = p[a], p[a] = p[b], p[b] = t;
	return 1;
}

/* Fold every permutation of evs and compare each final state with the in-order one.
 * updated_at is compared too unless two events claim the same status at different times:
 * then it is the time of whichever arrived first (a later claim of the current status is
 * a duplicate and changes nothing), and it is checked to lie in [updated_lo, updated_hi].
 * Returns the number of permutations folded. */
static int64_t updated_lo, updated_hi; /* 0, 0: compare exactly */

static long fold_all_orders(const ns_channels *chs, const ns_event *evs, int n, ns_state *ref)
{
	int p[8];
	long count = 0;
	seen_set seen;
	ns_state st;

	ck_assert_int_le(n, 8);
	for (int i = 0; i < n; i++)
		p[i] = i;
	do {
		memset(&st, 0, sizeof(st));
		memset(&seen, 0, sizeof(seen));
		for (int i = 0; i < n; i++)
			fold(chs, &st, &seen, &evs[p[i]]);
		if (count == 0) {
			*ref = st;
		} else {
			ck_assert_str_eq(st.status, ref->status);
			ck_assert_str_eq(st.channel, ref->channel);
			ck_assert_str_eq(st.to, ref->to);
			ck_assert_str_eq(st.body, ref->body);
			ck_assert_str_eq(st.request_id, ref->request_id);
			ck_assert_str_eq(st.provider_id, ref->provider_id);
			ck_assert_str_eq(st.reason, ref->reason);
			ck_assert_str_eq(st.external_id, ref->external_id);
			ck_assert_int_eq(st.requested, ref->requested);
			ck_assert_int_eq(st.created_at, ref->created_at);
			if (updated_hi == 0)
				ck_assert_int_eq(st.updated_at, ref->updated_at);
			ck_assert_int_eq(st.events, n);
		}
		if (updated_hi != 0) {
			ck_assert_int_ge(st.updated_at, updated_lo);
			ck_assert_int_le(st.updated_at, updated_hi);
		}
		count++;
	} while (next_perm(p, n));
	return count;
}

START_TEST(test_whatsapp_every_order)
{
	ns_event evs[7];
	ns_state ref;

	evs[0] = REQ("whatsapp", "hello", T0);
	evs[1] = DISP("whatsapp", T0 + 100);
	evs[2] = STATUS("sent", T0 + 200);
	evs[3] = STATUS("delivered", T0 + 300);
	evs[4] = STATUS("viewed", T0 + 400);
	evs[5] = evs[1]; /* sender re-produced its outcome */
	evs[6] = evs[3]; /* provider retried the webhook: same parts, same id */
	ck_assert_int_eq(fold_all_orders(set, evs, 7, &ref), 5040);
	ck_assert_str_eq(ref.status, "viewed");
	ck_assert_str_eq(ref.channel, "whatsapp");
	ck_assert_str_eq(ref.provider_id, "prov-1");
	ck_assert_str_eq(ref.to, "+4915112345678");
	ck_assert_str_eq(ref.body, "hello");
	ck_assert_str_eq(ref.request_id, evs[0].id);
	ck_assert_str_eq(ref.external_id, "n-1");
	ck_assert_int_eq(ref.created_at, T0);
	ck_assert_int_eq(ref.updated_at, T0 + 400);
	ck_assert_int_eq(ref.events, 7);
	ck_assert(ref.exists && ref.requested);
}
END_TEST

START_TEST(test_other_histories_every_order)
{
	ns_event evs[5];
	ns_state ref;

	/* sms rejected by the provider */
	evs[0] = REQ("sms", "code 1234", T0);
	evs[1] = DISP("sms", T0 + 10);
	evs[2] = STATUS("rejected", T0 + 20);
	evs[3] = evs[2];
	evs[4] = evs[0];
	ck_assert_int_eq(fold_all_orders(set, evs, 5, &ref), 120);
	ck_assert_str_eq(ref.status, "rejected");
	ck_assert_str_eq(ref.provider_id, "prov-1");
	ck_assert_str_eq(ref.channel, "sms");

	/* sms that the provider refused for good */
	evs[0] = REQ("sms", "code 1234", T0);
	evs[1] = FAIL("sms", "provider said 400", T0 + 10);
	evs[2] = evs[1];
	ck_assert_int_eq(fold_all_orders(set, evs, 3, &ref), 6);
	ck_assert_str_eq(ref.status, "failed");
	ck_assert_str_eq(ref.reason, "provider said 400");
	ck_assert_str_eq(ref.provider_id, "");

	/* sms delivered, a step (sent) never reported */
	evs[0] = REQ("sms", "x", T0);
	evs[1] = DISP("sms", T0 + 10);
	evs[2] = STATUS("delivered", T0 + 30);
	evs[3] = STATUS("delivered", T0 + 31); /* another webhook with another timestamp */
	updated_lo = T0 + 30, updated_hi = T0 + 31;
	ck_assert_int_eq(fold_all_orders(set, evs, 4, &ref), 24);
	updated_lo = updated_hi = 0;
	ck_assert_str_eq(ref.status, "delivered");
}
END_TEST

/* Table: fold steps in order; check the last step's outcome and the final status. */
typedef struct {
	const char *name;
	ns_event (*steps)(int i); /* step i, or an event with empty external_id to stop */
	ns_outcome want_last;
	const char *want_status;
	const char *want_provider;
} fold_case;

#define CASE(fn, ...)                                                                              \
	static ns_event fn(int i)                                                                  \
	{                                                                                          \
		ns_event evs[] = {__VA_ARGS__};                                                    \
		ns_event end;                                                                      \
		memset(&end, 0, sizeof(end));                                                      \
		return i < (int)(sizeof(evs) / sizeof(evs[0])) ? evs[i] : end;                     \
	}

CASE(late_sent, REQ("sms", "b", T0), STATUS("delivered", T0 + 3), STATUS("sent", T0 + 2))
CASE(rejected_after_sent, REQ("sms", "b", T0), STATUS("sent", T0 + 2), STATUS("rejected", T0 + 3))
CASE(conflict, REQ("sms", "b", T0), REQ("sms", "other body", T0 + 1))
CASE(conflict_channel, REQ("sms", "b", T0), REQ("whatsapp", "b", T0 + 1))
CASE(identical_repeat, REQ("sms", "b", T0), STATUS("sent", T0 + 2), REQ("sms", "b", T0 + 5))
CASE(same_status_other_id, REQ("sms", "b", T0), STATUS("sent", T0 + 2), STATUS("sent", T0 + 9))
CASE(jump, REQ("sms", "b", T0), STATUS("delivered", T0 + 2))
CASE(viewed_on_sms, REQ("sms", "b", T0), STATUS("delivered", T0 + 2), STATUS("viewed", T0 + 3))
CASE(unknown_status, STATUS("bogus", T0))
CASE(unknown_status_after, REQ("sms", "b", T0), STATUS("bogus", T0 + 1))
CASE(unknown_channel, REQ("pigeon", "b", T0))
CASE(failed_after_processing, REQ("sms", "b", T0), DISP("sms", T0 + 1), FAIL("sms", "late", T0 + 2))
CASE(dispatched_after_sent, REQ("sms", "b", T0), STATUS("sent", T0 + 2), DISP("sms", T0 + 1))
CASE(channel_mismatch, REQ("sms", "b", T0), DISP("whatsapp", T0 + 1))
CASE(union_stale, STATUS("delivered", T0 + 3), STATUS("sent", T0 + 2))
CASE(union_invalid, STATUS("sent", T0 + 3), STATUS("rejected", T0 + 2))
CASE(union_then_requested, STATUS("viewed", T0 + 3), REQ("whatsapp", "b", T0))
CASE(requested_after_initial_claim, STATUS("queued", T0), REQ("sms", "b", T0))
CASE(failed_applied, REQ("whatsapp", "b", T0), FAIL("whatsapp", "unreachable", T0 + 1))
CASE(sent_after_failed, REQ("whatsapp", "b", T0), FAIL("whatsapp", "x", T0 + 1),
     STATUS("sent", T0 + 2))

static const fold_case cases[] = {
    {"late sent after delivered", late_sent, NS_OUT_STALE, "delivered", ""},
    {"rejected after sent", rejected_after_sent, NS_OUT_INVALID, "sent", ""},
    {"second requested, other body", conflict, NS_OUT_CONFLICT, "queued", ""},
    {"second requested, other channel", conflict_channel, NS_OUT_CONFLICT, "queued", ""},
    {"identical requested repeat", identical_repeat, NS_OUT_DUPLICATE, "sent", ""},
    {"same status, other event id", same_status_other_id, NS_OUT_DUPLICATE, "sent", ""},
    {"jump over missing steps", jump, NS_OUT_APPLIED, "delivered", ""},
    {"viewed on an sms", viewed_on_sms, NS_OUT_INVALID, "delivered", ""},
    {"unknown status, no requested", unknown_status, NS_OUT_INVALID, "", ""},
    {"unknown status after requested", unknown_status_after, NS_OUT_INVALID, "queued", ""},
    {"unknown channel", unknown_channel, NS_OUT_INVALID, "", ""},
    {"failed after processing", failed_after_processing, NS_OUT_INVALID, "processing", "prov-1"},
    {"dispatched after sent: stale, providerId merged", dispatched_after_sent, NS_OUT_STALE, "sent",
     "prov-1"},
    {"channel mismatch", channel_mismatch, NS_OUT_INVALID, "queued", "prov-1"},
    {"before requested: stale in the union", union_stale, NS_OUT_STALE, "delivered", ""},
    {"before requested: invalid in the union", union_invalid, NS_OUT_INVALID, "sent", ""},
    {"requested after a status", union_then_requested, NS_OUT_APPLIED, "viewed", ""},
    {"requested after its initial status", requested_after_initial_claim, NS_OUT_APPLIED, "queued",
     ""},
    {"failed applied", failed_applied, NS_OUT_APPLIED, "failed", ""},
    {"sent after failed", sent_after_failed, NS_OUT_INVALID, "failed", ""},
};

START_TEST(test_outcomes)
{
	const fold_case *c = &cases[_i];
	ns_state st;
	seen_set seen;
	ns_outcome last = NS_OUT_APPLIED;
	int n = 0;

	memset(&st, 0, sizeof(st));
	memset(&seen, 0, sizeof(seen));
	for (;; n++) {
		ns_event ev = c->steps(n);
		if (ev.external_id[0] == '\0')
			break;
		last = fold(set, &st, &seen, &ev);
	}
	ck_assert_msg(last == c->want_last, "%s: outcome %s, want %s", c->name,
		      ns_outcome_name(last), ns_outcome_name(c->want_last));
	ck_assert_msg(strcmp(st.status, c->want_status) == 0, "%s: status %s, want %s", c->name,
		      st.status, c->want_status);
	ck_assert_msg(strcmp(st.provider_id, c->want_provider) == 0, "%s: providerId %s", c->name,
		      st.provider_id);
	ck_assert_int_eq(st.events, n);
	ck_assert(st.exists);
}
END_TEST

/* Only applied events move timestamps: a duplicate webhook dated 1970, a stale one and an
 * invalid one leave createdAt and updatedAt alone, and updatedAt never moves backwards. */
START_TEST(test_timestamps_only_from_applied)
{
	ns_state st;
	seen_set seen;
	ns_event req = REQ("sms", "hello", T0), disp = DISP("sms", T0 + 100);
	ns_event sent = STATUS("sent", T0 + 200), delivered = STATUS("delivered", T0 + 300);
	ns_event dup_1970 = STATUS("delivered", 0), stale = STATUS("sent", T0 + 900);
	ns_event bogus = STATUS("viewed", T0 + 1000); /* not an sms status */

	memset(&st, 0, sizeof(st));
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(fold(set, &st, &seen, &req), NS_OUT_APPLIED);
	ck_assert_int_eq(fold(set, &st, &seen, &disp), NS_OUT_APPLIED);
	ck_assert_int_eq(fold(set, &st, &seen, &sent), NS_OUT_APPLIED);
	ck_assert_int_eq(fold(set, &st, &seen, &delivered), NS_OUT_APPLIED);
	ck_assert_int_eq(st.updated_at, T0 + 300);
	ck_assert_int_eq(fold(set, &st, &seen, &dup_1970), NS_OUT_DUPLICATE);
	ck_assert_int_eq(fold(set, &st, &seen, &stale), NS_OUT_STALE);
	ck_assert_int_eq(fold(set, &st, &seen, &bogus), NS_OUT_INVALID);
	ck_assert_str_eq(st.status, "delivered");
	ck_assert_int_eq(st.created_at, T0);
	ck_assert_int_eq(st.updated_at, T0 + 300);
	ck_assert_int_ge(st.updated_at, st.created_at);

	/* an applied event dated before the current updatedAt does not lower it */
	memset(&st, 0, sizeof(st));
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(fold(set, &st, &seen, &req), NS_OUT_APPLIED);
	sent.occurred_at = T0 - 5000; /* provider clock behind ours */
	ck_assert_int_eq(fold(set, &st, &seen, &sent), NS_OUT_APPLIED);
	ck_assert_int_eq(st.updated_at, T0);
	ck_assert_int_eq(st.created_at, T0);
}
END_TEST

START_TEST(test_conflict_keeps_first)
{
	ns_state st;
	seen_set seen;
	ns_event a = REQ("sms", "first", T0), b = REQ("sms", "second", T0 - 50);

	memset(&st, 0, sizeof(st));
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(fold(set, &st, &seen, &a), NS_OUT_APPLIED);
	ck_assert_int_eq(fold(set, &st, &seen, &b), NS_OUT_CONFLICT);
	ck_assert_str_eq(st.body, "first");
	ck_assert_str_eq(st.request_id, a.id);
	ck_assert_int_eq(st.created_at, T0);
	/* a seen repeat is a duplicate whatever it is */
	ck_assert_int_eq(ns_fold_apply(set, &st, &b, 1, NULL, 0), NS_OUT_DUPLICATE);
	ck_assert_int_eq(st.events, 3);
	/* an event of another notification is refused */
	snprintf(b.external_id, sizeof(b.external_id), "n-2");
	ck_assert_int_eq(ns_fold_apply(set, &st, &b, 0, NULL, 0), NS_OUT_INVALID);
	ck_assert_str_eq(st.external_id, "n-1");
}
END_TEST

START_TEST(test_outcome_names)
{
	ck_assert_str_eq(ns_outcome_name(NS_OUT_APPLIED), "applied");
	ck_assert_str_eq(ns_outcome_name(NS_OUT_DUPLICATE), "duplicate");
	ck_assert_str_eq(ns_outcome_name(NS_OUT_STALE), "stale");
	ck_assert_str_eq(ns_outcome_name(NS_OUT_INVALID), "invalid");
	ck_assert_str_eq(ns_outcome_name(NS_OUT_CONFLICT), "conflict");
	ck_assert_str_eq(ns_outcome_name(NS_OUT_RECORDED), "recorded");
	ck_assert_str_eq(ns_outcome_name((ns_outcome)99), "?");
}
END_TEST

/* A callback attempt is history: recorded, the state untouched but for the count. */
START_TEST(test_callback_recorded)
{
	ns_state st, before;
	seen_set seen;
	ns_event a = REQ("sms", "x", T0), cb;
	char detail[256];

	memset(&st, 0, sizeof(st));
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(fold(set, &st, &seen, &a), NS_OUT_APPLIED);
	cb = a;
	cb.type = NS_EV_CALLBACK;
	cb.source = NS_SRC_CALLBACKS;
	snprintf(cb.status, sizeof(cb.status), "retrying");
	snprintf(cb.delivery_id, sizeof(cb.delivery_id), "%s", a.id);
	cb.version = 1;
	cb.attempt = 2;
	cb.occurred_at = T0 + 5000;
	ns_event_make_id(&cb);
	before = st;
	ck_assert_int_eq(ns_fold_apply(set, &st, &cb, 0, detail, sizeof(detail)), NS_OUT_RECORDED);
	ck_assert_msg(strstr(detail, "attempt 2") != NULL, "%s", detail);
	before.events++;
	ck_assert_int_eq(memcmp(&before, &st, sizeof(st)), 0);
}
END_TEST

/* A new channel is a new file: email folds with no code change. */
static const char email_json[] =
    "{\"name\":\"email\",\"initial\":\"queued\",\"statuses\":[\"queued\",\"processing\","
    "\"failed\",\"sent\",\"delivered\",\"opened\",\"bounced\"],\"transitions\":[[\"queued\","
    "\"processing\"],[\"queued\",\"failed\"],[\"processing\",\"sent\"],[\"sent\","
    "\"delivered\"],[\"delivered\",\"opened\"],[\"sent\",\"bounced\"]]}";

START_TEST(test_new_channel_email)
{
	char dir[] = "/tmp/ns-test-fold.XXXXXX", path[256], err[512];
	ns_channels *email;
	ns_event evs[6];
	ns_state ref, st;
	seen_set seen;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/email.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(email_json, f);
	ck_assert_int_eq(fclose(f), 0);
	email = ns_channels_load(dir, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	ck_assert_msg(email != NULL, "%s", err);

	evs[0] = REQ("email", "newsletter", T0);
	evs[1] = DISP("email", T0 + 1);
	evs[2] = STATUS("sent", T0 + 2);
	evs[3] = STATUS("delivered", T0 + 3);
	evs[4] = STATUS("opened", T0 + 4);
	evs[5] = evs[4];
	ck_assert_int_eq(fold_all_orders(email, evs, 6, &ref), 720);
	ck_assert_str_eq(ref.status, "opened");
	ck_assert_str_eq(ref.channel, "email");
	ck_assert_str_eq(ref.provider_id, "prov-1");

	/* bounced after delivered: neither reaches the other */
	memset(&st, 0, sizeof(st));
	memset(&seen, 0, sizeof(seen));
	for (int i = 0; i < 4; i++)
		fold(email, &st, &seen, &evs[i]);
	ns_event b = STATUS("bounced", T0 + 5);
	ck_assert_int_eq(fold(email, &st, &seen, &b), NS_OUT_INVALID);
	ck_assert_str_eq(st.status, "delivered");

	/* sent -> bounced applies; an sms request is an unknown channel here */
	memset(&st, 0, sizeof(st));
	memset(&seen, 0, sizeof(seen));
	for (int i = 0; i < 3; i++)
		fold(email, &st, &seen, &evs[i]);
	ck_assert_int_eq(fold(email, &st, &seen, &b), NS_OUT_APPLIED);
	ck_assert_str_eq(st.status, "bounced");
	ns_event r = REQ("sms", "b", T0);
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(ns_fold_apply(email, &st, &r, 0, NULL, 0), NS_OUT_INVALID);
	ns_channels_free(email);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fold");
	TCase *tc = tcase_create("fold");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_whatsapp_every_order);
	tcase_add_test(tc, test_other_histories_every_order);
	tcase_add_loop_test(tc, test_outcomes, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_conflict_keeps_first);
	tcase_add_test(tc, test_timestamps_only_from_applied);
	tcase_add_test(tc, test_outcome_names);
	tcase_add_test(tc, test_callback_recorded);
	tcase_add_test(tc, test_new_channel_email);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
