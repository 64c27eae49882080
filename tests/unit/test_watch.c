/* test_watch.c -- unit tests of query's read model watcher (query/watch.h), on a temp
 * folder: a write of the -wal wakes a waiting request; writes of other files in the folder
 * do not; and writes made while nobody waited (events the thread leaves queued) wake the
 * first request that waits afterwards, so that a commit landing between a request's look
 * and its wait is never missed. Every wait has a deadline of seconds: the assertions are
 * about whether a waiter is woken, never about how fast. */
#include "../../query/watch.h"

#include "ns_time.h"
#include "nt.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[256], db_path[300], wal_path[310], other_path[310];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ns-test-watch.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/nstatus.db", dir);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	snprintf(other_path, sizeof(other_path), "%s/other.txt", dir);
}

static void teardown(void)
{
	unlink(wal_path);
	unlink(other_path);
	rmdir(dir);
}

/* Append a few bytes to path (created when missing). */
static void append(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "frame", 5), 5);
	close(fd);
}

/* Wait on w, over as many waits as it takes, until the generation differs from gen or
 * ms have passed. Returns the generation then. */
static uint64_t wait_for_change(query_watch *w, uint64_t gen, long ms)
{
	int64_t until = ns_time_mono_ms() + ms;
	uint64_t g = gen;

	while (g == gen && ns_time_mono_ms() < until)
		g = query_watch_wait(w, gen, (int)(until - ns_time_mono_ms()));
	return g;
}

static void *append_later(void *arg)
{
	usleep(50 * 1000);
	append(arg);
	return NULL;
}

START_TEST(test_wal_write_wakes_a_waiter)
{
	query_watch *w = query_watch_start(db_path);
	pthread_t t;
	uint64_t gen;

	ck_assert_ptr_nonnull(w);
	gen = query_watch_gen(w);
	ck_assert_int_eq(pthread_create(&t, NULL, append_later, wal_path), 0);
	ck_assert_msg(wait_for_change(w, gen, 10000) != gen,
		      "a write of the -wal woke no waiter within 10 s");
	pthread_join(t, NULL);
	query_watch_stop(w);
}
END_TEST

START_TEST(test_other_files_do_not_wake)
{
	query_watch *w = query_watch_start(db_path);
	uint64_t gen;

	ck_assert_ptr_nonnull(w);
	gen = query_watch_gen(w);
	for (int i = 0; i < 20; i++) {
		append(other_path);
		ck_assert_uint_eq(query_watch_wait(w, gen, 20), gen);
	}
	query_watch_stop(w);
}
END_TEST

START_TEST(test_writes_while_nobody_waits_wake_the_next_waiter)
{
	query_watch *w = query_watch_start(db_path);
	uint64_t gen;

	ck_assert_ptr_nonnull(w);
	gen = query_watch_gen(w);
	append(wal_path);
	usleep(300 * 1000); /* nobody waits: the thread leaves the event queued */
	ck_assert_msg(wait_for_change(w, gen, 10000) != gen,
		      "a write made before the wait woke no waiter within 10 s");
	query_watch_stop(w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("watch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wal_write_wakes_a_waiter);
	tcase_add_test(tc, test_other_files_do_not_wake);
	tcase_add_test(tc, test_writes_while_nobody_waits_wake_the_next_waiter);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
