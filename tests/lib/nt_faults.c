/* nt_faults.c -- fault-test support: a guard that kills stray daemons from the Check
 * parent, a private broker through deploy/kafka/kafka.sh, and a row-by-row comparison of
 * two SQLite read models (see nt_faults.h). */
#include "nt_faults.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUARD_MAX 256

/* Shared between the Check parent and the forked test child (MAP_SHARED before the fork). */
static volatile pid_t *guard_pids;

int nt_guard_init(void)
{
	void *p;

	if (guard_pids)
		return 0;
	p = mmap(NULL, GUARD_MAX * sizeof(pid_t), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, GUARD_MAX * sizeof(pid_t));
	guard_pids = p;
	return 0;
}

pid_t nt_guard_add(pid_t pid)
{
	if (pid <= 0 || !guard_pids)
		return pid;
	for (int i = 0; i < GUARD_MAX; i++) {
		if (guard_pids[i] == 0) {
			guard_pids[i] = pid;
			break;
		}
	}
	return pid;
}

void nt_guard_forget(pid_t pid)
{
	for (int i = 0; guard_pids && pid > 0 && i < GUARD_MAX; i++)
		if (guard_pids[i] == pid)
			guard_pids[i] = 0;
}

void nt_guard_kill_all(void)
{
	for (int i = 0; guard_pids && i < GUARD_MAX; i++) {
		if (guard_pids[i] > 0) {
			if (kill(guard_pids[i], 0) == 0) {
				fprintf(stderr, "nt_faults: killing stray daemon pid %d\n",
					(int)guard_pids[i]);
				kill(guard_pids[i], SIGKILL);
			}
			guard_pids[i] = 0;
		}
	}
}

int nt_kafka_sh(const char *cmd, const char *dir, const char *arg1, const char *arg2, char *out,
		size_t outlen)
{
	char line[4096], buf[256];
	FILE *f;
	int st, n;

	n = snprintf(line, sizeof(line), "deploy/kafka/kafka.sh %s '%s' %s%s%s%s%s 2>>'%s.log'",
		     cmd, dir, arg1 ? "'" : "", arg1 ? arg1 : "", arg1 ? "'" : "", arg2 ? " " : "",
		     arg2 ? arg2 : "", dir);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	if (out && outlen)
		out[0] = '\0';
	f = popen(line, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && out && outlen) {
		buf[strcspn(buf, "\r\n")] = '\0';
		snprintf(out, outlen, "%s", buf);
	}
	while (fgets(buf, sizeof(buf), f))
		;
	st = pclose(f);
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Append one row of st as "col|col|..." (NULL shown as NULL, type-tagged) to out. */
static void render_row(sqlite3_stmt *st, char *out, size_t outlen)
{
	size_t used = 0;
	int ncol = sqlite3_column_count(st);

	out[0] = '\0';
	for (int c = 0; c < ncol && used + 1 < outlen; c++) {
		const unsigned char *t = sqlite3_column_text(st, c);
		int n = snprintf(out + used, outlen - used, "%s%s=%s", c ? "|" : "",
				 sqlite3_column_name(st, c), t ? (const char *)t : "NULL");
		if (n < 0)
			break;
		used += (size_t)n < outlen - used ? (size_t)n : outlen - used - 1;
	}
}

/* 0 when the current rows of a and b have equal types and values in every column. */
static int rows_equal(sqlite3_stmt *a, sqlite3_stmt *b)
{
	int ncol = sqlite3_column_count(a);

	if (ncol != sqlite3_column_count(b))
		return 0;
	for (int c = 0; c < ncol; c++) {
		int ta = sqlite3_column_type(a, c), tb = sqlite3_column_type(b, c);
		int la, lb;
		const void *va, *vb;

		if (ta != tb)
			return 0;
		if (ta == SQLITE_NULL)
			continue;
		if (ta == SQLITE_INTEGER) {
			if (sqlite3_column_int64(a, c) != sqlite3_column_int64(b, c))
				return 0;
			continue;
		}
		va = sqlite3_column_blob(a, c);
		la = sqlite3_column_bytes(a, c);
		vb = sqlite3_column_blob(b, c);
		lb = sqlite3_column_bytes(b, c);
		if (la != lb || (la && memcmp(va, vb, (size_t)la) != 0))
			return 0;
	}
	return 1;
}

static int compare_query(sqlite3 *da, sqlite3 *db, const char *sql, long *rows, char *msg,
			 size_t msglen)
{
	sqlite3_stmt *sa = NULL, *sb = NULL;
	char ra[1024], rb[1024];
	long row = 0;
	int ret = -1;

	if (sqlite3_prepare_v2(da, sql, -1, &sa, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &sb, NULL) != SQLITE_OK) {
		snprintf(msg, msglen, "prepare \"%s\": %s / %s", sql, sqlite3_errmsg(da),
			 sqlite3_errmsg(db));
		goto out;
	}
	for (;; row++) {
		int ka = sqlite3_step(sa), kb = sqlite3_step(sb);

		if ((ka != SQLITE_ROW && ka != SQLITE_DONE) ||
		    (kb != SQLITE_ROW && kb != SQLITE_DONE)) {
			snprintf(msg, msglen, "step \"%s\": %s / %s", sql, sqlite3_errmsg(da),
				 sqlite3_errmsg(db));
			goto out;
		}
		if (ka == SQLITE_DONE && kb == SQLITE_DONE)
			break;
		if (ka == SQLITE_ROW)
			render_row(sa, ra, sizeof(ra));
		else
			snprintf(ra, sizeof(ra), "(no more rows)");
		if (kb == SQLITE_ROW)
			render_row(sb, rb, sizeof(rb));
		else
			snprintf(rb, sizeof(rb), "(no more rows)");
		if (ka != kb || !rows_equal(sa, sb)) {
			snprintf(msg, msglen, "\"%s\" differs at row %ld:\n  A: %s\n  B: %s", sql,
				 row, ra, rb);
			ret = 1;
			goto out;
		}
	}
	ret = 0;
out:
	if (rows)
		*rows = row;
	sqlite3_finalize(sa);
	sqlite3_finalize(sb);
	return ret;
}

int nt_db_compare(const char *db_a, const char *db_b, const char *const *queries, long *rows,
		  char *msg, size_t msglen)
{
	sqlite3 *da = NULL, *db = NULL;
	int ret = -1;

	msg[0] = '\0';
	if (sqlite3_open_v2(db_a, &da, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_open_v2(db_b, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(msg, msglen, "open %s / %s failed", db_a, db_b);
		goto out;
	}
	sqlite3_busy_timeout(da, 5000);
	sqlite3_busy_timeout(db, 5000);
	for (int i = 0; queries[i]; i++) {
		ret = compare_query(da, db, queries[i], rows ? &rows[i] : NULL, msg, msglen);
		if (ret)
			goto out;
	}
	ret = 0;
out:
	sqlite3_close(da);
	sqlite3_close(db);
	return ret;
}
