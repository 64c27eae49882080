/* test_rebuild.c -- `projector --rebuild` against the real broker, with query serving the
 * same database file throughout.
 *
 * A topic of a few thousand events (duplicate webhooks, reversed arrival, late statuses,
 * conflicts, one undecodable message) is folded by the live projector; query serves it.
 * The live projector stops and `projector --rebuild` replaces it: query answers 200 for a
 * known notification before, during and after the swap; the file at the path is replaced
 * (new inode); the rebuilt database dumps identically, row for row, to the live one; the
 * progress lines are logged; and an event produced after the swap (a new notification)
 * becomes visible through query, which proves query reopened the new file (the old inode
 * never receives it). A second test stops a rebuild with SIGTERM right after start: it exits
 * 0, leaves no `.rebuild` file behind, and the file at the path is either untouched or the
 * complete rebuild. */
#include "nt.h"
#include "nt_events.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0	1740830400000LL
#define N_NOTIF 600 /* 5, 4 or 5 events each: 2,800 events */

/* ---- daemons ---- */

typedef struct {
	char dir[512];
	char db[600];
	char plog[600]; /* projector, live and rebuild */
	char qlog[600];
	char topic[256];
	char group[64];
	int pport, qport;
	pid_t projector, query;
} fixture;

#define MAX_STARTS 16
static pid_t started[MAX_STARTS];
static int nstarted;

static void remember(pid_t pid)
{
	ck_assert_int_gt(pid, 0);
	if (nstarted < MAX_STARTS)
		started[nstarted++] = pid;
}

static void fixture_init(fixture *f, const char *tag)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s", nt_tmpdir(tag));
	snprintf(f->db, sizeof(f->db), "%s/nstatus.db", f->dir);
	snprintf(f->plog, sizeof(f->plog), "%s/projector.log", f->dir);
	snprintf(f->qlog, sizeof(f->qlog), "%s/query.log", f->dir);
	snprintf(f->group, sizeof(f->group), "rebuild-%d-%ld", (int)getpid(), (long)random());
	nt_topic_new("rebuild", 3, f->topic, sizeof(f->topic));
	nt_produce_reset();
}

/* Start the projector on f->db; rebuild: with --rebuild. */
static void projector_start(fixture *f, int rebuild)
{
	static char env[6][700];
	const char *e[7];
	const char *args[] = {"--rebuild", NULL};

	f->pport = nt_free_port();
	snprintf(env[0], sizeof(env[0]), "PROJECTOR_DB=%s", f->db);
	snprintf(env[1], sizeof(env[1]), "STATUS_TOPIC=%s", f->topic);
	snprintf(env[2], sizeof(env[2]), "PROJECTOR_ADMIN_LISTEN=127.0.0.1:%d", f->pport);
	snprintf(env[3], sizeof(env[3]), "SCHEMAS_DIR=%s", nt_schemas_dir());
	snprintf(env[4], sizeof(env[4]), "PROJECTOR_GROUP=%s", f->group);
	snprintf(env[5], sizeof(env[5]), "PROJECTOR_BATCH=100");
	for (int i = 0; i < 6; i++)
		e[i] = env[i];
	e[6] = NULL;
	f->projector = nt_spawn_args("projector", rebuild ? args : NULL, e, f->plog);
	remember(f->projector);
}

static void query_start(fixture *f)
{
	static char env[3][700];
	const char *e[4];

	f->qport = nt_free_port();
	snprintf(env[0], sizeof(env[0]), "QUERY_DB=%s", f->db);
	snprintf(env[1], sizeof(env[1]), "STATUS_TOPIC=%s", f->topic);
	snprintf(env[2], sizeof(env[2]), "QUERY_LISTEN=127.0.0.1:%d", f->qport);
	for (int i = 0; i < 3; i++)
		e[i] = env[i];
	e[3] = NULL;
	f->query = nt_spawn("query", e, f->qlog);
	remember(f->query);
	if (nt_wait_http(f->qport, "/healthz", 20000) != 0) {
		nt_dump_log(f->qlog);
		ck_abort_msg("query did not start");
	}
}

/* ---- the database ---- */

static void wait_caught_up(fixture *f)
{
	nt_wait_caught_up(f->db, f->topic, f->plog);
}

static ino_t inode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* The whole file at path (malloc'd, "" when missing). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int c;

	ck_assert_ptr_nonnull(out);
	while (f && (c = fgetc(f)) != EOF)
		fputc(c, out);
	if (f)
		fclose(f);
	fclose(out);
	return buf;
}

static long get(int port, const char *path)
{
	char url[512];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	return nt_http("GET", url, NULL, NULL, NULL);
}

typedef struct {
	const char *path;
	ino_t old;
	int port;
	const char *known; /* GET path that must answer 200 while we wait */
	int polls, failures;
	long last_code;
} swap_arg;

/* Non-zero once the file at path is another inode; meanwhile query must keep answering. */
static int swapped(void *arg)
{
	swap_arg *a = arg;
	ino_t now = inode_of(a->path);
	long code = get(a->port, a->known);

	a->polls++;
	if (code != 200) {
		a->failures++;
		a->last_code = code;
	}
	return now != 0 && now != a->old;
}

typedef struct {
	int port;
	const char *path;
} http200_arg;

static int answers_200(void *arg)
{
	http200_arg *a = arg;
	return get(a->port, a->path) == 200;
}

/* After each test (also a failed one): no daemon left running, producer flushed. */
static void teardown(void)
{
	for (int i = 0; i < nstarted; i++)
		if (waitpid(started[i], NULL, WNOHANG) == 0)
			nt_stop(started[i], SIGKILL, 5000);
	nstarted = 0;
	nt_produce_close();
}

/* ---- tests ---- */

START_TEST(test_rebuild_swaps_while_query_serves)
{
	fixture f;
	char *live, *rebuilt, *log, rebuild_path[700];
	ino_t old_ino;
	swap_arg sa;
	http200_arg ha;
	long code;

	fixture_init(&f, "rebuild");
	nt_produce_histories(f.topic, "rb", 4, N_NOTIF, T0, N_NOTIF / 2);
	nt_produce_flush();

	/* the live projector folds the topic; query serves it */
	projector_start(&f, 0);
	wait_caught_up(&f);
	query_start(&f);
	/* query listens before its routes exist: in that moment it must say "starting" (503),
	 * never 404, which would tell a client the notification does not exist */
	ha = (http200_arg){f.qport, "/notifications/rb-0000"};
	code = get(f.qport, ha.path);
	ck_assert_msg(code == 200 || code == 503, "first answer after query's start: %ld", code);
	if (code != 200)
		ck_assert_int_eq(nt_eventually(answers_200, &ha, 10000), 0);
	ck_assert_int_eq(get(f.qport, "/notifications/rb-0001/events"), 200);
	nt_stop_ok(&f.projector, 30000, "live projector", f.plog);
	live = nt_db_dump(f.db);
	ck_assert_ptr_nonnull(strstr(live, "notification\t" NT_TENANT "\trb-0599\t"));
	old_ino = inode_of(f.db);
	ck_assert(old_ino != 0);

	/* the rebuild replaces it; query answers throughout */
	projector_start(&f, 1);
	sa = (swap_arg){f.db, old_ino, f.qport, "/notifications/rb-0000", 0, 0, 0};
	if (nt_eventually(swapped, &sa, 120000) != 0) {
		nt_dump_log(f.plog);
		ck_abort_msg("the rebuilt file never replaced %s", f.db);
	}
	ck_assert_msg(sa.failures == 0, "query answered %ld during the rebuild (%d of %d polls)",
		      sa.last_code, sa.failures, sa.polls);
	ck_assert_int_eq(get(f.qport, "/notifications/rb-0000"), 200);

	/* row for row the same state */
	rebuilt = nt_db_dump(f.db);
	ck_assert_msg(strcmp(live, rebuilt) == 0, "rebuilt database differs from the live one");
	snprintf(rebuild_path, sizeof(rebuild_path), "%s.rebuild", f.db);
	ck_assert_msg(access(rebuild_path, F_OK) != 0, "%s left behind", rebuild_path);

	/* progress and the swap were logged */
	log = slurp(f.plog);
	ck_assert_ptr_nonnull(strstr(log, "event=projector.rebuild.start"));
	ck_assert_ptr_nonnull(strstr(log, "event=projector.rebuild.progress"));
	ck_assert_ptr_nonnull(strstr(log, "partitions_done=3/3 lag=0"));
	ck_assert_ptr_nonnull(strstr(log, "event=projector.rebuild.swapped"));
	free(log);

	/* the rebuild goes on as the live projector, and query reads the new file */
	nt_produce_requested(f.topic, "rb-after-swap", "hello again", T0 + 1000);
	nt_produce_flush();
	ha = (http200_arg){f.qport, "/notifications/rb-after-swap"};
	if (nt_eventually(answers_200, &ha, 60000) != 0) {
		nt_dump_log(f.plog);
		nt_dump_log(f.qlog);
		ck_abort_msg("query never served the event produced after the swap");
	}
	ck_assert_int_eq(get(f.qport, "/notifications/rb-0599"), 200);
	log = slurp(f.qlog);
	ck_assert_ptr_nonnull(strstr(log, "event=query.db_swapped"));
	free(log);

	nt_stop_ok(&f.projector, 30000, "rebuild projector", f.plog);
	nt_stop_ok(&f.query, 30000, "query", f.qlog);
	free(live);
	free(rebuilt);
}
END_TEST

START_TEST(test_rebuild_stopped_leaves_live_file)
{
	fixture f;
	char *live, *after, rebuild_path[700];
	ino_t old_ino;

	fixture_init(&f, "rebuild-stop");
	nt_produce_histories(f.topic, "rb", 4, N_NOTIF, T0, N_NOTIF / 2);
	nt_produce_flush();
	projector_start(&f, 0);
	wait_caught_up(&f);
	nt_stop_ok(&f.projector, 30000, "live projector", f.plog);
	live = nt_db_dump(f.db);
	old_ino = inode_of(f.db);

	projector_start(&f, 1);
	/* /healthz answers before the rebuild begins (and a SIGTERM before exec would hit the
	 * forked copy of this test process) */
	if (nt_wait_http(f.pport, "/healthz", 20000) != 0) {
		nt_dump_log(f.plog);
		ck_abort_msg("rebuild projector did not start");
	}
	nt_stop_ok(&f.projector, 30000, "stopped rebuild", f.plog);

	/* no half-built file anywhere: the old one untouched, or the complete rebuild */
	snprintf(rebuild_path, sizeof(rebuild_path), "%s.rebuild", f.db);
	ck_assert_msg(access(rebuild_path, F_OK) != 0, "%s left behind", rebuild_path);
	after = nt_db_dump(f.db);
	ck_assert_msg(strcmp(live, after) == 0, "database changed by a stopped rebuild");
	fprintf(stderr, "test_rebuild: the stop landed %s the swap\n",
		inode_of(f.db) == old_ino ? "before" : "after");
	free(live);
	free(after);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("rebuild");
	TCase *tc = tcase_create("rebuild");

	srandom((unsigned)getpid());
	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_rebuild_swaps_while_query_serves);
	tcase_add_test(tc, test_rebuild_stopped_leaves_live_file);
	suite_add_tcase(su, tc);
	return nt_run_suite(su);
}
