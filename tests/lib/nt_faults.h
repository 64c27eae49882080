/* nt_faults.h -- support for the fault tests (tests/e2e/test_crash.c, test_broker_faults.c):
 * a process guard that kills daemons a failed test leaves behind, a private broker through
 * deploy/kafka/kafka.sh, and a row-by-row comparison of two read-model databases.
 *
 * Check forks each test and a failed assertion ends the forked child at once, so cleanup
 * that must always happen runs in the parent, from an unchecked fixture's teardown. The
 * guard's pid table lives in shared memory mapped before the fork for that reason. */
#ifndef NT_FAULTS_H
#define NT_FAULTS_H

#include <stddef.h>
#include <sys/types.h>

/* Map the shared pid table (idempotent). Call from an unchecked fixture's setup, i.e. in
 * the parent before Check forks the tests. Returns 0 or -1. */
int nt_guard_init(void);

/* Remember pid (a daemon the test started) so nt_guard_kill_all can end it. pid <= 0 is
 * ignored. Returns pid. */
pid_t nt_guard_add(pid_t pid);

/* Forget pid (it was stopped and reaped by the test). */
void nt_guard_forget(pid_t pid);

/* SIGKILL every remembered pid that is still alive and forget it. Safe in the parent after
 * the test child is gone (the daemons were its children, not ours: they are not reaped
 * here, init does that). */
void nt_guard_kill_all(void);

/* Run `deploy/kafka/kafka.sh <cmd> <dir> [arg1 [arg2]]` from the current directory (the
 * repository root under tests/run.sh), its stderr appended to <dir>.log. The first line of
 * its stdout (e.g. the bootstrap address) goes into out (may be NULL). Returns the script's
 * exit status (0 on success), or -1 when it could not be run. */
int nt_kafka_sh(const char *cmd, const char *dir, const char *arg1, const char *arg2, char *out,
		size_t outlen);

/* Compare two SQLite files table by table: for each query in queries (NULL-terminated;
 * each must order its rows totally), step both result sets in lockstep and compare every
 * column's type and value. Returns 0 when equal; 1 on the first difference with a
 * description in msg (query, row number, both rows); -1 on an SQLite error (msg says).
 * rows (may be NULL) receives the row count of each query (array of as many entries as
 * queries, filled up to the first difference). */
int nt_db_compare(const char *db_a, const char *db_b, const char *const *queries, long *rows,
		  char *msg, size_t msglen);

#endif
