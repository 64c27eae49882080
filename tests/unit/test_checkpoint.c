/* test_checkpoint.c -- unit tests of the projector's checkpointer (checkpoint.h), on a
 * temp read model written through the store: a checkpoint comes from the thread at its
 * interval and when a commit leaves the WAL past the threshold; a writer that never pauses
 * keeps its WAL bounded; and after the thread stops, the store checkpoints by itself
 * again. A checkpoint shows as the database file growing: before one, every page written
 * lives in the WAL only. */
#include "../../projector/checkpoint.h"
#include "../../projector/store.h"
#include "ns_readmodel.h"

#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256], db_path[300], wal_path[310];
static long next_row; /* rows are appended in key order across commits */

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ns-test-ckpt.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/nstatus.db", dir);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	next_row = 0;
}

static void teardown(void)
{
	char p[400];
	static const char *const suffix[] = {"", "-wal", "-shm"};

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db_path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* One transaction of n history rows of about 300 bytes each. */
static void commit_rows(proj_store *s, long n)
{
	char detail[201], id[64], event_id[33];

	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	ck_assert_int_eq(proj_store_begin(s), 0);
	for (long i = 0; i < n; i++, next_row++) {
		snprintf(id, sizeof(id), "n-%09ld", next_row);
		snprintf(event_id, sizeof(event_id), "%032lx", next_row);
		proj_event_row r = {.nid = next_row,
				    .tenant = "t",
				    .external_id = id,
				    .event_id = event_id,
				    .type = "status",
				    .source = "provider",
				    .status = "sent",
				    .outcome = "applied",
				    .detail = detail,
				    .occurred_at = 1,
				    .received_at = 1,
				    .partition = 0,
				    .offset = next_row};
		ck_assert_int_eq(proj_store_insert_event(s, &r), 0);
	}
	ck_assert_int_eq(proj_store_commit(s), 0);
}

/* Wait up to 10 s for the database file to grow past size; non-zero when it did. */
static int grows_past(long long size)
{
	for (int i = 0; i < 1000; i++) {
		if (file_size(db_path) > size)
			return 1;
		usleep(10 * 1000);
	}
	return 0;
}

/* Rows making a commit of between one and two thresholds of WAL frames. */
#define ROWS_PAST_THRESHOLD 16000L

static proj_store *open_store(void)
{
	char err[512];
	proj_store *s = proj_store_open(db_path, err, sizeof(err));

	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

static proj_checkpointer *start(proj_store *s, int interval_ms)
{
	char err[512];
	proj_checkpointer *c = proj_checkpointer_start(db_path, s, interval_ms, err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

START_TEST(test_interval)
{
	proj_store *s = open_store();
	proj_checkpointer *c = start(s, 100);
	long long before = file_size(db_path);

	commit_rows(s, 10); /* far below the threshold: only the interval checkpoints it */
	ck_assert_msg(grows_past(before), "no checkpoint within 10 s at a 100 ms interval");
	proj_checkpointer_stop(c);
	proj_store_close(s);
}
END_TEST

START_TEST(test_threshold_wakes_the_thread)
{
	proj_store *s = open_store();
	proj_checkpointer *c = start(s, 3600 * 1000);
	long long before = file_size(db_path), frames;

	commit_rows(s, ROWS_PAST_THRESHOLD);
	frames = file_size(wal_path) / 4096;
	ck_assert_msg(
	    frames >= NS_READMODEL_CHECKPOINT_FRAMES && frames < 2 * NS_READMODEL_CHECKPOINT_FRAMES,
	    "the commit should leave between one and two thresholds: %lld frames", frames);
	ck_assert_msg(grows_past(before), "a WAL past the threshold was not checkpointed");
	proj_checkpointer_stop(c);
	proj_store_close(s);
}
END_TEST

START_TEST(test_wal_bounded_under_a_writer_that_never_pauses)
{
	proj_store *s = open_store();
	proj_checkpointer *c = start(s, 3600 * 1000);
	long long most = 0;

	for (int i = 0; i < 12; i++) {
		commit_rows(s, ROWS_PAST_THRESHOLD);
		if (file_size(wal_path) > most)
			most = file_size(wal_path);
	}
	/* twelve commits of over a threshold each: a WAL that never started over would hold
	 * them all, 12 thresholds or more. One that starts over peaks near the writer's own
	 * checkpoint (4 thresholds), plus a commit or two, and plus a few more while the
	 * checkpoint thread, descheduled on a busy machine, holds the checkpoint lock (the
	 * writer's PASSIVE checkpoint is then busy): up to 9 thresholds seen with both cores
	 * saturated by other work, 6 was the bound before it failed there. */
	ck_assert_msg(most / 4096 < 11 * NS_READMODEL_CHECKPOINT_FRAMES, "WAL grew to %lld bytes",
		      most);
	proj_checkpointer_stop(c);
	proj_store_close(s);
}
END_TEST

START_TEST(test_store_checkpoints_again_after_stop)
{
	proj_store *s = open_store();
	proj_checkpointer *c = start(s, 3600 * 1000);
	long long before;

	proj_checkpointer_stop(c);
	before = file_size(db_path);
	commit_rows(s, ROWS_PAST_THRESHOLD); /* SQLite's own checkpoint, inside the commit */
	ck_assert_int_gt(file_size(db_path), before);
	proj_store_close(s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("checkpoint");
	TCase *tc = tcase_create("checkpoint");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_interval);
	tcase_add_test(tc, test_threshold_wakes_the_thread);
	tcase_add_test(tc, test_wal_bounded_under_a_writer_that_never_pauses);
	tcase_add_test(tc, test_store_checkpoints_again_after_stop);
	suite_add_tcase(su, tc);
	return nt_run_suite(su);
}
