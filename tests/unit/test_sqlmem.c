/* test_sqlmem.c -- unit tests of ns_sqlmem, SQLite's allocator with per-thread caches: the
 * size classes, reuse of freed blocks and the cap per class, realloc within and across
 * classes, the limits, a double free aborting, a block freed on another thread, a thread's
 * cache given back to malloc when it ends, and SQLite itself running on it from several
 * threads, as the read model installs it. */
#include "ns_readmodel.h"
#include "ns_sqlmem.h"

#include "nt.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int n;	    /* requested bytes */
	int usable; /* what xRoundup and xSize give */
	int cached; /* served from a class (freed into the cache) */
} sizes[] = {
    {1, 16, 1},	   {15, 16, 1},	    {16, 16, 1},     {17, 32, 1},
    {100, 112, 1}, {255, 256, 1},   {256, 256, 1},   {257, 320, 1},
    {320, 320, 1}, {321, 384, 1},   {511, 512, 1},   {512, 512, 1},
    {513, 528, 0}, {4000, 4000, 0}, {4001, 4016, 0}, {65536, 65536, 0},
};

START_TEST(test_sizes)
{
	const sqlite3_mem_methods *m = ns_sqlmem_methods();
	int n = sizes[_i].n;
	unsigned char *p;

	ck_assert_int_eq(m->xRoundup(n), sizes[_i].usable);
	p = m->xMalloc(n);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(m->xSize(p), sizes[_i].usable);
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	memset(p, 0xa5, (size_t)sizes[_i].usable); /* every usable byte is the caller's */
	ns_sqlmem_thread_release();
	m->xFree(p);
	ck_assert_int_eq(ns_sqlmem_thread_cached(), sizes[_i].cached);
	ns_sqlmem_thread_release();
	ck_assert_int_eq(ns_sqlmem_thread_cached(), 0);
}
END_TEST

START_TEST(test_reuse_and_cap)
{
	const sqlite3_mem_methods *m = ns_sqlmem_methods();
	void *p[NS_SQLMEM_CACHE + 4], *q;
	int i;

	p[0] = m->xMalloc(40);
	m->xFree(p[0]);
	q = m->xMalloc(33); /* the same class (48) */
	ck_assert_ptr_eq(q, p[0]);
	ck_assert_int_eq(ns_sqlmem_thread_cached(), 0);
	m->xFree(q);
	q = m->xMalloc(60); /* another class: not that block */
	ck_assert_ptr_ne(q, p[0]);
	m->xFree(q);
	ns_sqlmem_thread_release();

	for (i = 0; i < NS_SQLMEM_CACHE + 4; i++)
		p[i] = m->xMalloc(200);
	for (i = 0; i < NS_SQLMEM_CACHE + 4; i++)
		m->xFree(p[i]);
	ck_assert_int_eq(ns_sqlmem_thread_cached(), NS_SQLMEM_CACHE); /* the rest went to free() */
	for (i = 0; i < NS_SQLMEM_CACHE; i++) {
		q = m->xMalloc(200);
		ck_assert_int_eq(m->xSize(q), 208);
		p[i] = q;
	}
	ck_assert_int_eq(ns_sqlmem_thread_cached(), 0);
	for (i = 0; i < NS_SQLMEM_CACHE; i++)
		m->xFree(p[i]);
	m->xFree(NULL);
	ns_sqlmem_thread_release();
}
END_TEST

START_TEST(test_realloc)
{
	const sqlite3_mem_methods *m = ns_sqlmem_methods();
	char *p = m->xRealloc(NULL, 20), *q;

	ck_assert_ptr_nonnull(p);
	memcpy(p, "0123456789abcdefghi", 20);
	q = m->xRealloc(p, 30); /* still 32 bytes: the same block */
	ck_assert_ptr_eq(q, p);
	p = m->xRealloc(q, 300); /* grows into another class, the bytes copied */
	ck_assert_int_eq(m->xSize(p), 320);
	ck_assert_str_eq(p, "0123456789abcdefghi");
	memset(p + 20, 'x', 280);
	q = m->xRealloc(p, 2000); /* past the classes */
	ck_assert_int_eq(m->xSize(q), 2000);
	ck_assert_int_eq(memcmp(q, "0123456789abcdefghi", 20), 0);
	ck_assert_int_eq(q[299], 'x');
	p = m->xRealloc(q, 5); /* shrinks: the prefix kept, in the smallest class */
	ck_assert_int_eq(m->xSize(p), 16);
	ck_assert_int_eq(memcmp(p, "01234", 5), 0);
	m->xFree(p);
	ns_sqlmem_thread_release();
}
END_TEST

START_TEST(test_edges)
{
	const sqlite3_mem_methods *m = ns_sqlmem_methods();
	char *p;

	ck_assert_int_eq(m->xRoundup(0), 16);
	ck_assert_int_eq(m->xRoundup(0x7fffff00), 0x7fffff00);
	ck_assert_int_eq(m->xRoundup(0x7fffff01), 0); /* past SQLite's limit: failure */
	ck_assert_ptr_null(m->xMalloc(0x7fffff01));
	p = m->xMalloc(0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(m->xSize(p), 16);
	p = m->xRealloc(p, 0); /* as small as it gets: the same block */
	ck_assert_int_eq(m->xSize(p), 16);
	ck_assert_ptr_null(m->xRealloc(p, 0x7fffff01)); /* refused, p still the caller's */
	m->xFree(p);
	ck_assert_int_eq(m->xSize(NULL), 0);
	ns_sqlmem_thread_release();
}
END_TEST

/* A block freed twice would be handed to two owners: it aborts instead. */
START_TEST(test_double_free_aborts)
{
	const sqlite3_mem_methods *m = ns_sqlmem_methods();
	void *p = m->xMalloc(64);

	m->xFree(p);
	m->xFree(p);
}
END_TEST

/* A thread that frees what it was given and reports how many blocks it then held. */
static void *free_on_thread(void *arg)
{
	void **blocks = arg;
	intptr_t held;

	for (int i = 0; blocks[i]; i++)
		ns_sqlmem_methods()->xFree(blocks[i]);
	held = ns_sqlmem_thread_cached();
	return (void *)held; /* and ends: its cache goes back to malloc */
}

START_TEST(test_other_thread)
{
	const sqlite3_mem_methods *m = ns_sqlmem_methods();
	void *blocks[4] = {m->xMalloc(24), m->xMalloc(130), m->xMalloc(1000), NULL};
	pthread_t t;
	void *held = NULL;
	long drained = ns_sqlmem_drained_at_exit();

	ck_assert_int_eq(pthread_create(&t, NULL, free_on_thread, blocks), 0);
	ck_assert_int_eq(pthread_join(t, &held), 0);
	ck_assert_int_eq((int)(intptr_t)held, 2);	/* the two small ones, cached there */
	ck_assert_int_eq(ns_sqlmem_thread_cached(), 0); /* not here */
	/* and given back to malloc when that thread ended */
	ck_assert_int_eq(ns_sqlmem_drained_at_exit() - drained, 2);
}
END_TEST

/* Many threads at once, each allocating and freeing through SQLite's own paths. */
static void *sqlite_on_thread(void *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	intptr_t ok = 0;

	(void)arg;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ||
	    sqlite3_exec(
		db,
		"CREATE TABLE t(a TEXT, b TEXT);"
		"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499)"
		" INSERT INTO t SELECT 'a-' || i, printf('%0*d', i % 600, i) FROM n;",
		NULL, NULL, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT a, b FROM t WHERE a = ?1", -1, &st, NULL))
		goto out;
	for (int i = 0; i < 500; i++) {
		char want[16];
		snprintf(want, sizeof(want), "a-%d", i);
		sqlite3_bind_text(st, 1, want, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(st, 0), want) != 0 ||
		    sqlite3_column_bytes(st, 1) != (i % 600 > 0 ? i % 600 : 1))
			goto out;
		sqlite3_reset(st);
	}
	ok = 1;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (void *)ok;
}

START_TEST(test_sqlite_runs_on_it)
{
	pthread_t t[4];
	void *ok;

	/* as the read model configures it: without the statistics' global mutex, the threads
	 * run through the allocator at the same time */
	ck_assert_int_eq(sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0), SQLITE_OK);
	ck_assert_int_eq(sqlite3_config(SQLITE_CONFIG_MALLOC, ns_sqlmem_methods()), SQLITE_OK);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, sqlite_on_thread, NULL), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ok), 0);
		ck_assert_msg(ok == (void *)1, "thread %d: wrong rows through the allocator", i);
	}
	ck_assert_ptr_eq(sqlite_on_thread(NULL), (void *)1);
	ck_assert_int_gt(ns_sqlmem_thread_cached(), 0); /* SQLite's frees came here */
	ns_sqlmem_thread_release();
	sqlite3_shutdown();
}
END_TEST

/* The read model installs it before SQLite initialises: a statement's freed text
 * registers land in this thread's cache. */
START_TEST(test_readmodel_installs_it)
{
	char path[512], err[256];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/rm.db", nt_tmpdir("sqlmem-readmodel"));
	ck_assert_int_eq(ns_readmodel_open_rw(path, &db, err, sizeof(err)), NS_READMODEL_OK);
	ns_sqlmem_thread_release();
	ck_assert_int_eq(
	    sqlite3_exec(db, "SELECT 'a text long enough to need a buffer'", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_gt(ns_sqlmem_thread_cached(), 0);
	sqlite3_close(db);
	ns_sqlmem_thread_release();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sqlmem");
	TCase *tc = tcase_create("sqlmem");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_sizes, 0, (int)(sizeof(sizes) / sizeof(sizes[0])));
	tcase_add_test(tc, test_reuse_and_cap);
	tcase_add_test(tc, test_realloc);
	tcase_add_test(tc, test_edges);
	tcase_add_test_raise_signal(tc, test_double_free_aborts, SIGABRT);
	tcase_add_test(tc, test_other_thread);
	tcase_add_test(tc, test_sqlite_runs_on_it);
	tcase_add_test(tc, test_readmodel_installs_it);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
