/* watch.h -- tells query's waiting requests that the read model changed.
 *
 * The projector commits into the SQLite file's write-ahead log; every commit writes the
 * "-wal" file, and a rebuild renames a new file over the database. A watcher thread
 * follows the database's folder with inotify and, on a write, creation or rename of the
 * file or its -wal, moves a generation counter on and wakes every waiter: once per burst
 * of writes (a commit is two writes per page), when they pause, and only while some
 * request waits (events that queue meanwhile wake the next waiter to look once more). A
 * read-your-writes wait therefore re-checks the stored offsets as soon as a commit lands
 * instead of on a timer; waits still re-check at least every QUERY_WATCH_FALLBACK_MS, so a
 * file system without inotify only makes them slower. Thread-safe. */
#ifndef QUERY_WATCH_H
#define QUERY_WATCH_H

#include <stdint.h>

#define QUERY_WATCH_FALLBACK_MS 100

typedef struct query_watch query_watch;

/* Watch the database at db_path (its folder must exist). Returns a watcher (running its
 * thread), or NULL when out of memory or inotify is unavailable (logged; callers then wait
 * on the fallback timer alone, passing a NULL watcher). */
query_watch *query_watch_start(const char *db_path);

/* The current generation (moves on at every change seen). NULL: 0. */
uint64_t query_watch_gen(query_watch *w);

/* Wait until the generation differs from gen, at most timeout_ms. Returns the generation
 * then. With a NULL watcher, sleeps timeout_ms (capped at the fallback) and returns gen. */
uint64_t query_watch_wait(query_watch *w, uint64_t gen, int timeout_ms);

/* Stop the thread and free. NULL is a no-op. */
void query_watch_stop(query_watch *w);

#endif
