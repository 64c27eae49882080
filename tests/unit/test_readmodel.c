/* test_readmodel.c -- unit tests of the read model module (ns_readmodel.h) on temp files:
 * the version written on create, files of another version refused by the writer, the
 * readers and the dump with an error naming both versions, the "unavailable" answer of a
 * read-only open before the schema exists, the column lists equal to the real tables, and
 * the atomic swap (new inode at the path, old -wal/-shm gone, a reader of the old file
 * undisturbed). */
#include "ns_readmodel.h"
#include "nt.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static char db_path[300], new_path[320];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ns-test-readmodel.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/nstatus.db", dir);
	snprintf(new_path, sizeof(new_path), "%s.rebuild", db_path);
}

static void teardown(void)
{
	char err[256];

	ck_assert_int_eq(ns_readmodel_remove(db_path, err, sizeof(err)), NS_READMODEL_OK);
	ck_assert_int_eq(ns_readmodel_remove(new_path, err, sizeof(err)), NS_READMODEL_OK);
	rmdir(dir);
}

static int exists(const char *path, const char *suffix)
{
	char p[400];
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return access(p, F_OK) == 0;
}

/* Run sql on a plain read-write connection to path (no module in between). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *emsg = NULL;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &emsg) == SQLITE_OK, "%s: %s", sql,
		      emsg ? emsg : "?");
	sqlite3_free(emsg);
	sqlite3_close(db);
}

/* The first integer of sql on db. */
static int64_t int_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* Create a read model at path with the writer and store one offset row (topic "t",
 * partition 0, next_offset next). */
static void create_with_offset(const char *path, int64_t next)
{
	char sql[256], err[512];
	sqlite3 *db = NULL;

	ck_assert_msg(ns_readmodel_open_rw(path, &db, err, sizeof(err)) == NS_READMODEL_OK, "%s",
		      err);
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO offsets (" NS_READMODEL_OFFSET_COLUMNS
		 ") VALUES ('t', 0, %lld)",
		 (long long)next);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The stored next offset of ("t", 0) read through db. */
static int64_t offset_of(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db, NS_READMODEL_SQL_OFFSET, -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, "t", -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, 0);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, NS_READMODEL_OFFSET_NEXT_OFFSET);
	sqlite3_finalize(q);
	return v;
}

START_TEST(test_version_written_on_create)
{
	char err[512] = "";
	sqlite3 *db = NULL;

	ck_assert(!exists(db_path, ""));
	ck_assert_msg(ns_readmodel_open_rw(db_path, &db, err, sizeof(err)) == NS_READMODEL_OK, "%s",
		      err);
	ck_assert_int_eq(int_of(db, "PRAGMA user_version"), NS_READMODEL_VERSION);
	sqlite3_close(db);

	/* the writer reopens its own file; readers accept it */
	ck_assert_int_eq(ns_readmodel_open_rw(db_path, &db, err, sizeof(err)), NS_READMODEL_OK);
	sqlite3_close(db);
	ck_assert_int_eq(ns_readmodel_open_ro(db_path, &db, err, sizeof(err)), NS_READMODEL_OK);
	ck_assert_int_eq(int_of(db, "SELECT count(*) FROM notifications"), 0);
	sqlite3_close(db);
}
END_TEST

/* Files of another version, or with foreign tables and no version: every open refuses
 * them with an error naming the file's version and ours. */
START_TEST(test_version_mismatch_refused)
{
	static const struct {
		const char *sql; /* run on a fresh read model, or on an empty file when create=0 */
		int create;
		int version; /* what the error must name */
	} cases[] = {
	    {"PRAGMA user_version = 1", 1, 1}, /* an older version: rebuild */
	    {"PRAGMA user_version = 2", 1, 2},
	    {"PRAGMA user_version = 3", 1, 3}, /* before callback_url */
	    {"PRAGMA user_version = 4", 1, 4}, /* events keyed by log position */
	    {"PRAGMA user_version = 5", 1, 5}, /* events keyed by tenant and externalId */
	    {"PRAGMA user_version = 7", 1, 7}, /* a newer one */
	    {"PRAGMA user_version = 0", 1, 0},
	    {"PRAGMA user_version = 99", 1, 99},
	    {"CREATE TABLE something_else (x INTEGER)", 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512], want_file[64], want_ours[64];
		sqlite3 *db = NULL;
		FILE *out = fopen("/dev/null", "w");

		if (cases[i].create)
			create_with_offset(db_path, 1);
		raw_exec(db_path, cases[i].sql);
		snprintf(want_file, sizeof(want_file), "version %d,", cases[i].version);
		snprintf(want_ours, sizeof(want_ours), "uses version %d", NS_READMODEL_VERSION);

		err[0] = '\0';
		ck_assert_int_eq(ns_readmodel_open_rw(db_path, &db, err, sizeof(err)),
				 NS_READMODEL_MISMATCH);
		ck_assert_ptr_null(db);
		ck_assert_msg(strstr(err, want_file) && strstr(err, want_ours), "case %zu: %s", i,
			      err);
		err[0] = '\0';
		ck_assert_int_eq(ns_readmodel_open_ro(db_path, &db, err, sizeof(err)),
				 NS_READMODEL_MISMATCH);
		ck_assert_ptr_null(db);
		ck_assert_msg(strstr(err, want_file) && strstr(err, want_ours), "case %zu: %s", i,
			      err);
		ck_assert_ptr_nonnull(out);
		ck_assert_int_eq(ns_readmodel_dump(db_path, out, err, sizeof(err)),
				 NS_READMODEL_MISMATCH);
		fclose(out);
		/* the writer's refusal left the file as it was */
		if (cases[i].create) {
			ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
			ck_assert_int_eq(int_of(db, "PRAGMA user_version"), cases[i].version);
			ck_assert_int_eq(offset_of(db), 1);
			sqlite3_close(db);
		}
		ck_assert_int_eq(ns_readmodel_remove(db_path, err, sizeof(err)), NS_READMODEL_OK);
	}
}
END_TEST

/* Before the writer created the schema, readers get "unavailable" and create nothing. */
START_TEST(test_read_only_unavailable)
{
	static const struct {
		const char *name;
		const char *sql; /* NULL: no file at all; "": an empty file */
	} cases[] = {
	    {"missing file", NULL},
	    {"empty file", ""},
	    {"database without tables", "PRAGMA journal_mode=WAL"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		sqlite3 *db = NULL;

		if (cases[i].sql && cases[i].sql[0])
			raw_exec(db_path, cases[i].sql);
		else if (cases[i].sql)
			fclose(fopen(db_path, "w"));
		ck_assert_msg(ns_readmodel_open_ro(db_path, &db, err, sizeof(err)) ==
				  NS_READMODEL_UNAVAILABLE,
			      "%s: %s", cases[i].name, err);
		ck_assert_ptr_null(db);
		ck_assert_str_ne(err, "");
		ck_assert_int_eq(exists(db_path, ""), cases[i].sql != NULL);

		/* the writer takes any of them over: schema and version created */
		ck_assert_msg(ns_readmodel_open_rw(db_path, &db, err, sizeof(err)) ==
				  NS_READMODEL_OK,
			      "%s: %s", cases[i].name, err);
		ck_assert_int_eq(int_of(db, "PRAGMA user_version"), NS_READMODEL_VERSION);
		sqlite3_close(db);
		ck_assert_int_eq(ns_readmodel_remove(db_path, err, sizeof(err)), NS_READMODEL_OK);
	}
}
END_TEST

/* The named column lists are the tables: same names, same order, same count; the SQL
 * lists and parameter lists spell the same; a SELECT of the list yields the enum order. */
START_TEST(test_column_lists_match_tables)
{
	static const struct {
		const char *table;
		const char *const *cols;
		int ncols;
		const char *list;
		const char *params;
	} cases[] = {
	    {"notifications", ns_readmodel_notif_cols, NS_READMODEL_NOTIF_NCOLS,
	     NS_READMODEL_NOTIF_COLUMNS, NS_READMODEL_NOTIF_PARAMS},
	    {"events", ns_readmodel_event_cols, NS_READMODEL_EVENT_NCOLS,
	     NS_READMODEL_EVENT_COLUMNS, NS_READMODEL_EVENT_PARAMS},
	    {"offsets", ns_readmodel_offset_cols, NS_READMODEL_OFFSET_NCOLS,
	     NS_READMODEL_OFFSET_COLUMNS, NS_READMODEL_OFFSET_PARAMS},
	};
	char err[512];
	sqlite3 *db = NULL;

	ck_assert_msg(ns_readmodel_open_rw(db_path, &db, err, sizeof(err)) == NS_READMODEL_OK, "%s",
		      err);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char sql[512], joined[512] = "", params[256] = "";
		sqlite3_stmt *q = NULL;
		int n = 0;

		snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", cases[i].table);
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(q, 1);
			ck_assert_msg(n < cases[i].ncols, "%s: column %s is not in the list",
				      cases[i].table, name);
			ck_assert_int_eq(sqlite3_column_int(q, 0), n);
			ck_assert_str_eq(name, cases[i].cols[n]);
			n++;
		}
		sqlite3_finalize(q);
		ck_assert_msg(n == cases[i].ncols, "%s: %d columns, list has %d", cases[i].table, n,
			      cases[i].ncols);

		for (int k = 0; k < cases[i].ncols; k++) {
			size_t jl = strlen(joined), pl = strlen(params);
			snprintf(joined + jl, sizeof(joined) - jl, "%s%s", k ? ", " : "",
				 cases[i].cols[k]);
			snprintf(params + pl, sizeof(params) - pl, "%s?%d", k ? ", " : "", k + 1);
		}
		ck_assert_str_eq(cases[i].list, joined);
		ck_assert_str_eq(cases[i].params, params);

		snprintf(sql, sizeof(sql), "SELECT %s FROM %s", cases[i].list, cases[i].table);
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_column_count(q), cases[i].ncols);
		for (int k = 0; k < cases[i].ncols; k++)
			ck_assert_str_eq(sqlite3_column_name(q, k), cases[i].cols[k]);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
}
END_TEST

/* The swap puts the new file's inode at the path, leaves no -wal/-shm of the old file, and
 * a reader that held the old file keeps reading it. */
/* The query plan of each hot statement: the duplicate check and a history page probe an
 * index, so their cost does not grow with a notification's history (issue: a flood of
 * 20,000 webhooks for one id made every new event scan its whole history). */
static void assert_plan_uses(sqlite3 *db, const char *sql, const char *index)
{
	char *plan_sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *q = NULL;
	int found = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(db, plan_sql, -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(q, 3);
		if (detail && strstr(detail, index) && !strstr(detail, "SCAN"))
			found = 1;
	}
	sqlite3_finalize(q);
	sqlite3_free(plan_sql);
	ck_assert_msg(found, "%s does not search %s", sql, index);
}

/* No step of sql's plan scans a table or an index whole. */
static void assert_plan_never_scans(sqlite3 *db, const char *sql)
{
	char *plan_sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *q = NULL;
	int steps = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(db, plan_sql, -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(q, 3);
		ck_assert_msg(!detail || !strstr(detail, "SCAN"), "%s: %s", sql, detail);
		steps++;
	}
	sqlite3_finalize(q);
	sqlite3_free(plan_sql);
	ck_assert_int_gt(steps, 0);
}

START_TEST(test_hot_statements_use_indexes)
{
	char err[512] = "";
	sqlite3 *db = NULL;

	ck_assert_int_eq(ns_readmodel_open_rw(db_path, &db, err, sizeof(err)), NS_READMODEL_OK);
	assert_plan_uses(db, NS_READMODEL_SQL_SEEN, "events_by_event_id");
	assert_plan_uses(db, NS_READMODEL_SQL_EVENTS_PAGE, "PRIMARY KEY");
	assert_plan_never_scans(db, NS_READMODEL_SQL_SEEN);
	assert_plan_never_scans(db, NS_READMODEL_SQL_EVENTS_PAGE);
	assert_plan_never_scans(db, NS_READMODEL_SQL_CALLBACKS_PAGE);
	assert_plan_never_scans(db, NS_READMODEL_SQL_NOTIF);
	sqlite3_close(db);
}
END_TEST

/* A notification's number is its first event's position, one to one, and positions the
 * numbering cannot hold are refused, not folded onto another notification's number. */
START_TEST(test_nid)
{
	const int64_t top = NS_READMODEL_NID_OFFSETS - 1;

	ck_assert_int_eq(ns_readmodel_nid(0, 0), 0);
	ck_assert_int_eq(ns_readmodel_nid(0, 7), 7);
	ck_assert_int_eq(ns_readmodel_nid(1, 0), NS_READMODEL_NID_OFFSETS);
	ck_assert_int_eq(ns_readmodel_nid(0, top) + 1, ns_readmodel_nid(1, 0));
	ck_assert_int_eq(ns_readmodel_nid(NS_READMODEL_NID_PARTITIONS - 1, top), INT64_MAX);
	ck_assert_int_eq(ns_readmodel_nid(-1, 0), -1);
	ck_assert_int_eq(ns_readmodel_nid(0, -1), -1);
	ck_assert_int_eq(ns_readmodel_nid(NS_READMODEL_NID_PARTITIONS, 0), -1);
	ck_assert_int_eq(ns_readmodel_nid(0, NS_READMODEL_NID_OFFSETS), -1);
	ck_assert_int_eq(ns_readmodel_nid(0, INT64_MAX), -1);
}
END_TEST

START_TEST(test_swap_atomic)
{
	char err[512] = "";
	sqlite3 *writer = NULL, *old_reader = NULL, *db = NULL;
	struct stat before, after;

	/* the live file: a committed row that lives only in its -wal, and a reader on it */
	ck_assert_int_eq(ns_readmodel_open_rw(db_path, &writer, err, sizeof(err)), NS_READMODEL_OK);
	ck_assert_int_eq(sqlite3_exec(writer, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(writer,
				      "INSERT INTO offsets (" NS_READMODEL_OFFSET_COLUMNS
				      ") VALUES ('t', 0, 7)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(ns_readmodel_open_ro(db_path, &old_reader, err, sizeof(err)),
			 NS_READMODEL_OK);
	ck_assert_int_eq(offset_of(old_reader), 7);
	sqlite3_close(writer);
	ck_assert(exists(db_path, "-wal"));
	ck_assert(exists(db_path, "-shm"));

	/* the new file */
	create_with_offset(new_path, 42);
	ck_assert_int_eq(stat(new_path, &before), 0);

	ck_assert_msg(ns_readmodel_swap(new_path, db_path, err, sizeof(err)) == NS_READMODEL_OK,
		      "%s", err);
	ck_assert(!exists(new_path, ""));
	ck_assert(!exists(db_path, "-wal"));
	ck_assert(!exists(db_path, "-shm"));
	ck_assert_int_eq(stat(db_path, &after), 0);
	ck_assert(after.st_ino == before.st_ino && after.st_dev == before.st_dev);

	/* a new reader sees the new file; the old one still reads the old file */
	ck_assert_int_eq(ns_readmodel_open_ro(db_path, &db, err, sizeof(err)), NS_READMODEL_OK);
	ck_assert_int_eq(offset_of(db), 42);
	sqlite3_close(db);
	ck_assert_int_eq(offset_of(old_reader), 7);
	sqlite3_close(old_reader);
}
END_TEST

/* A rebuilt file of another version is never swapped in: the live file stays. */
START_TEST(test_swap_refuses_other_version)
{
	char err[512] = "";
	sqlite3 *db = NULL;
	struct stat before, after;

	create_with_offset(db_path, 7);
	create_with_offset(new_path, 42);
	raw_exec(new_path, "PRAGMA user_version = 1");
	ck_assert_int_eq(stat(db_path, &before), 0);
	ck_assert_int_eq(ns_readmodel_swap(new_path, db_path, err, sizeof(err)),
			 NS_READMODEL_MISMATCH);
	ck_assert_ptr_nonnull(strstr(err, "version 1,"));
	ck_assert_int_eq(stat(db_path, &after), 0);
	ck_assert(after.st_ino == before.st_ino);
	ck_assert(exists(new_path, ""));
	ck_assert_int_eq(ns_readmodel_open_ro(db_path, &db, err, sizeof(err)), NS_READMODEL_OK);
	ck_assert_int_eq(offset_of(db), 7);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_remove_and_bad_paths)
{
	char err[512] = "";
	sqlite3 *db = NULL;

	create_with_offset(db_path, 1);
	ck_assert(exists(db_path, ""));
	ck_assert_int_eq(ns_readmodel_remove(db_path, err, sizeof(err)), NS_READMODEL_OK);
	ck_assert(!exists(db_path, ""));
	ck_assert(!exists(db_path, "-wal"));
	ck_assert(!exists(db_path, "-shm"));
	/* nothing to remove is fine */
	ck_assert_int_eq(ns_readmodel_remove(db_path, err, sizeof(err)), NS_READMODEL_OK);

	ck_assert_int_eq(
	    ns_readmodel_open_rw("/nonexistent-dir/x/nstatus.db", &db, err, sizeof(err)),
	    NS_READMODEL_ERROR);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(ns_readmodel_checkpoint(db_path, err, sizeof(err)), NS_READMODEL_ERROR);
	ck_assert(!exists(db_path, ""));
}
END_TEST

int main(void)
{
	Suite *su = suite_create("readmodel");
	TCase *tc = tcase_create("readmodel");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_version_written_on_create);
	tcase_add_test(tc, test_version_mismatch_refused);
	tcase_add_test(tc, test_read_only_unavailable);
	tcase_add_test(tc, test_column_lists_match_tables);
	tcase_add_test(tc, test_hot_statements_use_indexes);
	tcase_add_test(tc, test_nid);
	tcase_add_test(tc, test_swap_atomic);
	tcase_add_test(tc, test_swap_refuses_other_version);
	tcase_add_test(tc, test_remove_and_bad_paths);
	suite_add_tcase(su, tc);
	return nt_run_suite(su);
}
