/* test_walbuf.c -- unit tests of ns_walbuf, the VFS that gathers a commit's WAL frames:
 * a reader on its own connection (the default VFS, its own file descriptors) sees every
 * commit as soon as it returns, while the writes reach the file in far fewer calls than
 * SQLite asked for; a writer SIGKILLed right after its commits loses none of them; and a
 * transaction larger than the page cache (frames spilled, read back and rewritten in
 * place) and one rolled back after spilling leave a database that passes integrity_check
 * with exactly the committed rows, also when another writer commits right after the
 * rollback; and opening the read model through it leaves SQLite's memory statistics off
 * (registering a VFS initialises SQLite, which would make that setting too late). */
#include "ns_readmodel.h"
#include "ns_walbuf.h"

#include "nt.h"

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROWS_PER_TXN 40 /* of 1,000 bytes: a dozen pages a commit */

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
}

static long long one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	long long v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* PRAGMA integrity_check finds nothing wrong in db. */
static void assert_intact(sqlite3 *db)
{
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE"
				     " integrity_check <> 'ok'"),
			 0);
}

/* A new database at dir/name through the VFS, in WAL mode, with table t. */
static sqlite3 *open_writer(const char *path)
{
	sqlite3 *db = NULL;

	unlink(path);
	ck_assert_int_eq(ns_walbuf_register(), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NS_WALBUF_VFS),
	    SQLITE_OK);
	exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		    " CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB NOT NULL);");
	return db;
}

static sqlite3 *open_reader(const char *path)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

static void insert_txn(sqlite3 *db)
{
	exec_ok(db, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
		    " WHERE i < 40) INSERT INTO t(v) SELECT randomblob(1000) FROM n; COMMIT;");
}

START_TEST(test_reader_sees_every_commit)
{
	char path[512];
	ns_walbuf_counts a, b;
	sqlite3 *w, *r;

	snprintf(path, sizeof(path), "%s/wb.db", nt_tmpdir("walbuf-read"));
	w = open_writer(path);
	r = open_reader(path);
	ns_walbuf_stats(&a);
	for (int i = 1; i <= 50; i++) {
		insert_txn(w);
		ck_assert_int_eq(one_int(r, "SELECT count(*) FROM t"), (long long)i * ROWS_PER_TXN);
		ck_assert_int_eq(one_int(r, "SELECT total(length(v)) FROM t"),
				 (long long)i * ROWS_PER_TXN * 1000);
	}
	ns_walbuf_stats(&b);
	/* two writes a frame asked, and at least one made per commit, but far fewer */
	ck_assert_int_ge(b.asked - a.asked, 50 * 2 * 10);
	ck_assert_int_ge(b.written - a.written, 50);
	ck_assert_msg((b.written - a.written) * 10 <= b.asked - a.asked,
		      "%lld writes made for %lld asked", b.written - a.written, b.asked - a.asked);
	assert_intact(r);
	/* each commit went out with its last frame, not left to the barrier's guard */
	ck_assert_int_eq(b.at_barrier - a.at_barrier, 0);
	sqlite3_close(r);
	sqlite3_close(w);
}
END_TEST

START_TEST(test_commits_survive_sigkill)
{
	char path[512];
	pid_t pid;
	int st;
	sqlite3 *r;

	snprintf(path, sizeof(path), "%s/wb.db", nt_tmpdir("walbuf-kill"));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sqlite3 *w = open_writer(path);
		for (int i = 0; i < 20; i++)
			insert_txn(w);
		/* the twenty-first never commits: its frames may or may not reach the file */
		exec_ok(w, "BEGIN; INSERT INTO t(v) VALUES (randomblob(3000));");
		raise(SIGKILL);
		_exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	r = open_reader(path);
	ck_assert_int_eq(one_int(r, "SELECT count(*) FROM t"), 20 * ROWS_PER_TXN);
	assert_intact(r);
	sqlite3_close(r);
}
END_TEST

START_TEST(test_spilled_and_rolled_back)
{
	char path[512];
	ns_walbuf_counts c0, c;
	sqlite3 *w, *r;

	snprintf(path, sizeof(path), "%s/wb.db", nt_tmpdir("walbuf-spill"));
	w = open_writer(path);
	r = open_reader(path);
	ns_walbuf_stats(&c0);
	exec_ok(w, "PRAGMA cache_size=10");
	/* 2 MB in one transaction through a 10-page cache: pages spill to the WAL, are read
	 * back and rewritten in place before the commit */
	exec_ok(w, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
		   " WHERE i < 2000) INSERT INTO t(v) SELECT randomblob(1000) FROM n;"
		   " UPDATE t SET v = zeroblob(900) WHERE k % 7 = 0; COMMIT;");
	ck_assert_int_eq(one_int(r, "SELECT count(*) FROM t"), 2000);
	ck_assert_int_eq(one_int(r, "SELECT count(*) FROM t WHERE length(v) = 900"), 2000 / 7);
	/* spilled, then rolled back: none of it */
	exec_ok(w, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
		   " WHERE i < 2000) INSERT INTO t(v) SELECT randomblob(1000) FROM n; ROLLBACK;");
	insert_txn(w);
	ck_assert_int_eq(one_int(r, "SELECT count(*) FROM t"), 2000 + ROWS_PER_TXN);
	exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
	assert_intact(r);
	ck_assert_int_eq(one_int(r, "SELECT count(*) FROM t"), 2000 + ROWS_PER_TXN);
	/* the checksum fix-up before the first commit and the commit after the rollback
	 * went out at once too */
	ns_walbuf_stats(&c);
	ck_assert_int_eq(c.at_barrier - c0.at_barrier, 0);
	sqlite3_close(r);
	sqlite3_close(w);
}
END_TEST

/* A spills frames and rolls back; B, another writer on the default VFS, commits at once;
 * then A reads. Nothing of A's dead transaction may land over B's frames. */
START_TEST(test_rollback_then_another_writer)
{
	char path[512];
	ns_walbuf_counts a0, a1;
	sqlite3 *a, *b, *r;

	snprintf(path, sizeof(path), "%s/wb.db", nt_tmpdir("walbuf-writers"));
	a = open_writer(path);
	exec_ok(a, "INSERT INTO t(v) VALUES (zeroblob(10)); PRAGMA wal_checkpoint(TRUNCATE);"
		   " PRAGMA cache_size=10");
	ck_assert_int_eq(sqlite3_open_v2(path, &b, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(b, 5000);
	ns_walbuf_stats(&a0);
	exec_ok(a, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
		   " WHERE i < 300) INSERT INTO t(v) SELECT randomblob(1000) FROM n; ROLLBACK;");
	exec_ok(b, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
		   " WHERE i < 200) INSERT INTO t(v) SELECT zeroblob(1000) FROM n; COMMIT;");
	ck_assert_int_eq(one_int(a, "SELECT count(*) FROM t"), 201);
	r = open_reader(path);
	ck_assert_int_eq(one_int(r, "SELECT count(*) FROM t"), 201);
	ck_assert_int_eq(one_int(r, "SELECT total(length(v)) FROM t"), 10 + 200 * 1000);
	assert_intact(r);
	ns_walbuf_stats(&a1);
	ck_assert_int_eq(a1.at_barrier - a0.at_barrier, 0);
	sqlite3_close(r);
	sqlite3_close(b);
	sqlite3_close(a);
}
END_TEST

START_TEST(test_memstatus_stays_off)
{
	char path[512], err[256];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/rm.db", nt_tmpdir("walbuf-memstatus"));
	ck_assert_int_eq(ns_readmodel_open_rw(path, &db, err, sizeof(err)), NS_READMODEL_OK);
	/* with the statistics on, an open connection's memory is counted */
	ck_assert_int_eq(sqlite3_memory_used(), 0);
	sqlite3_close(db);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walbuf");
	TCase *tc = tcase_create("walbuf");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_reader_sees_every_commit);
	tcase_add_test(tc, test_commits_survive_sigkill);
	tcase_add_test(tc, test_spilled_and_rolled_back);
	tcase_add_test(tc, test_rollback_then_another_writer);
	tcase_add_test(tc, test_memstatus_stays_off);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
