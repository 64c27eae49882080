/* test_changelog.c -- the changelog publisher against the real broker, exactly once.
 *
 * A stream of 100,000 events (every notification's history with duplicate, stale,
 * invalid, conflicting and out-of-order events) is produced in blocks; after every block
 * the publisher is SIGKILLed and restarted at once under the same instance name (20+
 * kills), and a second instance joins the group for a while and leaves (two rebalances).
 * Then the changelog is read with read_committed and checked per notification: versions
 * 1..n without gap or repeat, and the sequence of (event, status) equal to what a clean
 * fold of the input log (ns_fold with the projector's duplicate check) applies. A
 * projector folds the same topic meanwhile: the latest record of every key (what a
 * compacted read of the topic gives) equals the read model's row, field by field. */
#include "ns_change.h"
#include "ns_fold.h"
#include "ns_kafka.h"
#include "ns_readmodel.h"
#include "ns_time.h"
#include "nt.h"
#include "nt_events.h"
#include "nt_system.h"

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0	    1764633600000LL
#define MAX_EVENTS  8 /* per notification */
#define MAX_CHANGES 8

/* ---- the input: histories, and what a clean fold applies ---- */

typedef struct {
	char id[24];
	ns_event ev[MAX_EVENTS];
	int nev;
	/* the clean fold's changes */
	char change_event[MAX_CHANGES][NS_EVENT_ID_LEN + 1];
	char change_status[MAX_CHANGES][NS_STATUS_MAX + 1];
	int nchanges;
	ns_state final;
	/* what the changelog held */
	int64_t seen_version;
	int records, bad;
	ns_change last;
} notif;

static notif *notifs;
static int nnotifs;

static void add(notif *n, ns_event *ev)
{
	ck_assert_int_lt(n->nev, MAX_EVENTS);
	ns_event_make_id(ev);
	n->ev[n->nev++] = *ev;
}

static void ev_failed(ns_event *ev, const char *id, int64_t t)
{
	nt_ev_dispatched(ev, id, "", t);
	ev->type = NS_EV_FAILED;
	ev->provider_id[0] = '\0';
	snprintf(ev->status, sizeof(ev->status), "failed");
	snprintf(ev->reason, sizeof(ev->reason), "refused by the provider");
	ev->code = 422;
}

/* Shapes by i % 6: in order with a duplicate webhook; fully reversed (statuses before
 * the request); rejected with a late dispatched repeat and a conflicting request; failed,
 * then a status the failure cannot reach and an unknown status; a duplicate request and a
 * stale sent after delivered; a webhook that arrives before its dispatched (whose status
 * is then stale but whose provider id is merged). */
static void build(notif *n, int i)
{
	int64_t t = T0 + (int64_t)i * 10;
	ns_event ev;

	snprintf(n->id, sizeof(n->id), "cl-%06d", i);
	switch (i % 6) {
	case 0:
		nt_ev_requested(&ev, n->id, "sms", "hello", t), add(n, &ev);
		nt_ev_dispatched(&ev, n->id, "p-0", t + 1), add(n, &ev);
		nt_ev_status(&ev, n->id, "sent", t + 2, t + 3), add(n, &ev);
		nt_ev_status(&ev, n->id, "delivered", t + 4, t + 5), add(n, &ev);
		nt_ev_status(&ev, n->id, "delivered", t + 4, t + 9), add(n, &ev);
		break;
	case 1:
		nt_ev_status(&ev, n->id, "delivered", t + 4, t + 5), add(n, &ev);
		nt_ev_status(&ev, n->id, "sent", t + 2, t + 6), add(n, &ev);
		nt_ev_dispatched(&ev, n->id, "p-1", t + 1), add(n, &ev);
		nt_ev_requested(&ev, n->id, "sms", "hello", t), add(n, &ev);
		break;
	case 2:
		nt_ev_requested(&ev, n->id, "sms", "hi", t), add(n, &ev);
		nt_ev_dispatched(&ev, n->id, "p-2", t + 1), add(n, &ev);
		nt_ev_status(&ev, n->id, "rejected", t + 2, t + 3), add(n, &ev);
		nt_ev_dispatched(&ev, n->id, "p-2", t + 1), add(n, &ev);
		nt_ev_requested(&ev, n->id, "sms", "other body", t + 5), add(n, &ev);
		break;
	case 3:
		nt_ev_requested(&ev, n->id, "sms", "x", t), add(n, &ev);
		ev_failed(&ev, n->id, t + 1), add(n, &ev);
		nt_ev_status(&ev, n->id, "sent", t + 2, t + 3), add(n, &ev);
		nt_ev_status(&ev, n->id, "exploded", t + 3, t + 4), add(n, &ev);
		break;
	case 4:
		nt_ev_requested(&ev, n->id, "sms", "y", t), add(n, &ev);
		nt_ev_requested(&ev, n->id, "sms", "y", t), add(n, &ev);
		nt_ev_dispatched(&ev, n->id, "p-4", t + 1), add(n, &ev);
		nt_ev_status(&ev, n->id, "sent", t + 2, t + 3), add(n, &ev);
		nt_ev_status(&ev, n->id, "delivered", t + 4, t + 5), add(n, &ev);
		nt_ev_status(&ev, n->id, "sent", t + 6, t + 7), add(n, &ev);
		break;
	default:
		nt_ev_requested(&ev, n->id, "sms", "z", t), add(n, &ev);
		nt_ev_status(&ev, n->id, "sent", t + 2, t + 3), add(n, &ev);
		nt_ev_dispatched(&ev, n->id, "p-5", t + 1), add(n, &ev);
		nt_ev_status(&ev, n->id, "delivered", t + 4, t + 5), add(n, &ev);
		break;
	}
}

/* The clean fold: every event in log order, with the projector's duplicate check (an
 * event id seen before is a duplicate). A change is an applied event or a merged
 * provider id. */
static void clean_fold(notif *n, const ns_channels *set)
{
	ns_state st = {0};

	for (int k = 0; k < n->nev; k++) {
		char pid[NS_PROVIDER_ID_MAX + 1];
		int seen = 0;
		for (int j = 0; j < k; j++)
			seen |= strcmp(n->ev[j].id, n->ev[k].id) == 0;
		snprintf(pid, sizeof(pid), "%s", st.provider_id);
		if (ns_fold_apply(set, &st, &n->ev[k], seen, NULL, 0) == NS_OUT_APPLIED ||
		    strcmp(pid, st.provider_id) != 0) {
			ck_assert_int_lt(n->nchanges, MAX_CHANGES);
			/* same size, both NUL-terminated (snprintf here trips -Wrestrict at -O2
			 * under the sanitizers: n holds both source and destination) */
			memcpy(n->change_event[n->nchanges], n->ev[k].id,
			       sizeof(n->change_event[0]));
			snprintf(n->change_status[n->nchanges], NS_STATUS_MAX + 1, "%s", st.status);
			n->nchanges++;
		}
	}
	n->final = st;
}

static long expected_records(void)
{
	long sum = 0;
	for (int i = 0; i < nnotifs; i++)
		sum += notifs[i].nchanges;
	return sum;
}

/* ---- reading the changelog back ---- */

static notif *by_external_id(const char *id)
{
	int i;
	if (sscanf(id, "cl-%d", &i) != 1 || i < 0 || i >= nnotifs)
		return NULL;
	return &notifs[i];
}

/* One record: in version order, the change the clean fold made at that version. */
static void check_record(const rd_kafka_message_t *m, long *total, long *errors)
{
	char err[256], key[NS_REF_MAX + 1];
	ns_change c;
	notif *n;
	int v;

	(*total)++;
	ck_assert_msg(ns_change_decode(m->payload, m->len, &c, err, sizeof(err)) == 0, "%s", err);
	n = by_external_id(c.external_id);
	ck_assert_msg(n != NULL, "record of an unknown notification %s", c.external_id);
	ck_assert_int_ge(ns_event_ref(c.tenant, c.external_id, key, sizeof(key)), 0);
	ck_assert_msg(m->key_len == strlen(key) && memcmp(m->key, key, m->key_len) == 0,
		      "record of %s keyed otherwise", key);
	n->records++;
	v = (int)c.version;
	if (v != n->seen_version + 1 || v > n->nchanges ||
	    strcmp(c.event_id, n->change_event[v - 1]) != 0 ||
	    strcmp(c.status, n->change_status[v - 1]) != 0) {
		if ((*errors)++ < 10)
			fprintf(stderr,
				"%s: record version %d (after %lld) event %s status %s; the clean "
				"fold has %d changes\n",
				c.external_id, v, (long long)n->seen_version, c.event_id, c.status,
				n->nchanges);
		n->bad++;
	}
	if (c.version > n->seen_version) {
		n->seen_version = c.version;
		n->last = c;
	}
}

/* Read every partition of the changelog from the start with read_committed until want
 * records were read (then 2 s more, so that a repeat would show), for up to 120 s. */
static void read_changelog(const char *topic, int parts, long want, long *total, long *errors)
{
	ns_kafka_pos pos[16];
	char err[512];
	ns_consumer *c = ns_consumer_new_assigned("test-changelog-reader", err, sizeof(err));
	int64_t deadline = 0, give_up = ns_time_mono_ms() + 120000;

	ck_assert_msg(c != NULL, "%s", err);
	for (int p = 0; p < parts; p++)
		pos[p] = (ns_kafka_pos){p, RD_KAFKA_OFFSET_BEGINNING};
	ck_assert_int_eq(ns_consumer_assign(c, topic, pos, (size_t)parts, err, sizeof(err)), 0);
	while (ns_time_mono_ms() < give_up && (deadline == 0 || ns_time_mono_ms() < deadline)) {
		rd_kafka_message_t *m = ns_consumer_poll(c, 100);
		if (!m)
			continue;
		if (!m->err)
			check_record(m, total, errors);
		rd_kafka_message_destroy(m);
		if (deadline == 0 && *total >= want)
			deadline = ns_time_mono_ms() + 2000;
	}
	ns_consumer_close(c);
}

/* ---- the read model ---- */

static void compare_with_read_model(const char *db_path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char err[512];
	int rows = 0;

	ck_assert_msg(ns_readmodel_open_ro(db_path, &db, err, sizeof(err)) == NS_READMODEL_OK, "%s",
		      err);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT external_id, status, channel, provider_id, "
					    "reason, request_id, created_at, updated_at FROM "
					    "notifications WHERE tenant = ?1",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, NT_TENANT, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		notif *n = by_external_id((const char *)sqlite3_column_text(st, 0));
		const ns_change *c;
		ck_assert_ptr_nonnull(n);
		c = &n->last;
		rows++;
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), c->status);
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 2), c->channel);
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 3), c->provider_id);
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 4), c->reason);
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 5), c->request_id);
		ck_assert_msg(sqlite3_column_int64(st, 6) == c->created_at &&
				  sqlite3_column_int64(st, 7) == c->updated_at,
			      "%s: times differ", n->id);
		ck_assert_str_eq(c->status, n->final.status);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	ck_assert_int_eq(rows, nnotifs);
}

/* ---- the run ---- */

static nt_system sys;

/* The value of the sample line "name value" (name without labels) on the admin listener
 * at port, or -1. */
static double metric(int port, const char *name)
{
	char *resp = NULL, *p;
	const char *line = nt_fmt("\n%s ", name);
	double v = -1;

	if (nt_http("GET", nt_fmt("http://127.0.0.1:%d/metrics", port), NULL, NULL, &resp) == 200 &&
	    (p = strstr(resp, line)) != NULL)
		v = strtod(p + strlen(line), NULL);
	free(resp);
	return v;
}

typedef struct {
	int port;
} restored_arg;

static int has_restored(void *arg)
{
	return metric(((restored_arg *)arg)->port, "changelog_restores_total") >= 1;
}

/* (Re)start the first publisher and wait until it has its partitions (restored). */
static void start_first(void)
{
	restored_arg a = {sys.admin[NT_CHANGELOG]};

	nt_system_start(&sys, NT_CHANGELOG);
	if (nt_eventually(has_restored, &a, 60000) != 0) {
		nt_dump_log(nt_system_log(&sys, NT_CHANGELOG));
		ck_abort_msg("changelog never got its partitions");
	}
}

/* A second publisher in the same group, with a name of its own (a dynamic member, so that
 * its SIGTERM leaves the group at once). */
static pid_t start_second(int *admin)
{
	const char *env[10];
	int n = 0;

	*admin = nt_free_port();
	env[n++] = nt_fmt("STATUS_TOPIC=%s", sys.topic);
	env[n++] = nt_fmt("SCHEMAS_DIR=%s", nt_schemas_dir());
	env[n++] = nt_fmt("CHANGELOG_TOPIC=%s", sys.changelog);
	env[n++] = nt_fmt("CHANGELOG_GROUP=changelog-%s", sys.topic);
	env[n++] = nt_fmt("CHANGELOG_ADMIN_LISTEN=127.0.0.1:%d", *admin);
	env[n++] = "CHANGELOG_TRANSACTIONAL_ID=test-changelog-second";
	env[n] = NULL;
	return nt_spawn("changelog", env, nt_fmt("%s/changelog-second.log", sys.dir));
}

START_TEST(test_exactly_once_through_crashes)
{
	const int parts = 4, total_events = 100000, blocks = 22;
	char err[512];
	ns_channels *set = ns_channels_load(nt_schemas_dir(), err, sizeof(err));
	long produced = 0, total = 0, errors = 0, want;
	int kills = 0, admin2 = 0, per_block;
	pid_t second = -1;

	ck_assert_msg(set != NULL, "%s", err);
	notifs = calloc(total_events / 4, sizeof(*notifs));
	ck_assert_ptr_nonnull(notifs);
	for (nnotifs = 0; produced < total_events; nnotifs++) {
		build(&notifs[nnotifs], nnotifs);
		clean_fold(&notifs[nnotifs], set);
		produced += notifs[nnotifs].nev;
	}
	want = expected_records();
	nt_system_init(&sys, "changelog", parts);
	nt_system_setenv(&sys, NT_CHANGELOG, "KAFKA_GROUP_INSTANCE_ID=changelog-a");
	nt_system_setenv(&sys, NT_CHANGELOG, "CHANGELOG_BATCH=500");
	nt_system_up(&sys, NT_BIT(NT_PROJECTOR));
	start_first();
	nt_produce_reset();

	/* blocks of interleaved histories: every notification of a block has its k-th event
	 * produced before any has its (k+1)-th */
	per_block = (nnotifs + blocks - 1) / blocks;
	for (int b = 0; b < blocks; b++) {
		int lo = b * per_block, hi = lo + per_block < nnotifs ? lo + per_block : nnotifs;
		for (int k = 0; k < MAX_EVENTS; k++)
			for (int i = lo; i < hi; i++)
				if (k < notifs[i].nev)
					nt_produce_event(sys.topic, &notifs[i].ev[k]);
		nt_produce_flush();
		/* kill it while it folds the block: 20..260 ms into the work */
		usleep((useconds_t)(20000 + (b * 37 % 7) * 40000));
		ck_assert_int_eq(kill(sys.pid[NT_CHANGELOG], SIGKILL), 0);
		waitpid(sys.pid[NT_CHANGELOG], NULL, 0);
		kills++;
		start_first();
		if (b == 5) {
			second = start_second(&admin2);
			ck_assert_int_eq(nt_wait_http(admin2, "/healthz", 30000), 0);
		}
		if (b == 13)
			nt_stop_ok(&second, 30000, "second changelog",
				   nt_fmt("%s/changelog-second.log", sys.dir));
	}
	ck_assert_int_ge(kills, 20);

	read_changelog(sys.changelog, parts, want, &total, &errors);
	for (int i = 0; i < nnotifs; i++) {
		notif *n = &notifs[i];
		if (n->seen_version != n->nchanges && errors++ < 20)
			fprintf(stderr, "%s: %lld of %d changes in the changelog\n", n->id,
				(long long)n->seen_version, n->nchanges);
	}
	if (errors)
		nt_dump_log(nt_system_log(&sys, NT_CHANGELOG));
	ck_assert_msg(errors == 0 && total == want,
		      "%ld records for %ld changes of %d notifications, %ld wrong", total, want,
		      nnotifs, errors);

	nt_wait_caught_up(sys.db, sys.topic, nt_system_log(&sys, NT_PROJECTOR));
	compare_with_read_model(sys.db);
	nt_system_down(&sys);
	ns_channels_free(set);
	free(notifs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("changelog");
	TCase *tc = tcase_create("changelog");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_exactly_once_through_crashes);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
