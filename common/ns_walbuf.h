/* ns_walbuf.h -- a SQLite VFS that writes a transaction's WAL frames in one system call.
 *
 * SQLite appends each frame of a commit to the -wal file with two pwrite calls, its
 * 24-byte header and its page. Under live load the projector commits a few dozen events
 * at a time, and each such commit dirties about a hundred pages (random leaves of the
 * notifications table and its index): two hundred system calls per commit, each through
 * the file system and inotify (query watches the WAL), which took about a third of the
 * projector's loop. This VFS wraps the default one and, for WAL files only, gathers
 * consecutive writes in a buffer that it writes in a few large writes (the unix VFS takes
 * up to 128 KB a call) when the commit frame's
 * page arrives (a frame header with a non-zero "database size" field marks it,
 * https://sqlite.org/fileformat2.html#walformat), before any read, sync, truncate, size
 * query or close of the file, when the writes stop being consecutive or the buffer is
 * full, when a shared-memory lock is released (so a rolled-back transaction's spilled
 * frames never land late over another writer's), and at the shared-memory barrier with
 * which SQLite publishes a commit to readers.
 * So every commit is in the file before sqlite3_step returns, as without the buffer,
 * and a reader never sees a frame that is not there yet. Every other file and call goes
 * straight to the default VFS. */
#ifndef NS_WALBUF_H
#define NS_WALBUF_H

#define NS_WALBUF_VFS "ns-walbuf" /* the name to pass to sqlite3_open_v2 */

/* Register the VFS (not as the default). Thread-safe, idempotent. Returns SQLITE_OK or a
 * SQLite error code (then open with the default VFS). */
int ns_walbuf_register(void);

/* Process-wide counts since start, for tests: writes SQLite asked of WAL files, writes
 * this VFS made to them, and barriers that found bytes still held (the guard's work: 0
 * while wb_write recognises every commit, since releasing a lock empties the buffer). */
typedef struct {
	long long asked, written, at_barrier;
} ns_walbuf_counts;

void ns_walbuf_stats(ns_walbuf_counts *out);

#endif
