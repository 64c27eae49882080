/* rebuild.h -- `projector --rebuild`: replay the whole topic into a fresh database file and
 * swap it in atomically.
 *
 * The rebuild captures the high watermark of every partition at start, consumes the topic
 * from the earliest offsets with a consumer that never joins the live group (rd_kafka_assign
 * of every partition, nothing committed), and folds batches with the live projector's own
 * proj_apply_batch into `<db>.rebuild`, until every partition reached its captured
 * watermark. Undecodable messages only advance the offsets: the live projector already
 * dead-lettered them once. Then the new file is checkpointed (self-contained, no -wal),
 * fsynced and renamed over the live path (rename(2): atomic). Readers that still hold the
 * old file keep reading it through their open descriptors until they reopen (query does
 * when it sees the inode change).
 *
 * The swap, in order (ns_readmodel_swap): checkpoint(TRUNCATE) and close the new file,
 * fsync it; checkpoint the old file (so no committed row lives only in its -wal); unlink the
 * old name's -wal and -shm (they belong to the old inode: a new database at the same path
 * must not inherit them); rename; fsync the folder. Requirement: no other writer uses the live file
 * during the rebuild (the operator replaces the running projector with `projector --rebuild`, which
 * continues as the live projector on the new file: proj_run). */
#ifndef PROJ_REBUILD_H
#define PROJ_REBUILD_H

#include "ns_channel.h"
#include "projector.h"

#include <stdint.h>

/* One progress report. */
struct proj_rebuild_progress {
	int64_t events; /* messages folded into the new file so far */
	double rate;	/* messages per second over the last report interval */
	int parts_done; /* partitions that reached their captured watermark */
	int parts;	/* partitions of the topic */
	int64_t lag;	/* captured watermarks minus positions, summed */
	double elapsed; /* seconds since the rebuild started */
	int final;	/* 1 on the last report, when every partition is done */
};
typedef struct proj_rebuild_progress proj_rebuild_progress;

#define PROJ_REBUILD_SWAPPED 0	/* the rebuilt file is now at cfg->db_path */
#define PROJ_REBUILD_STOPPED 1	/* SIGTERM/SIGINT before the swap: live file untouched */
#define PROJ_REBUILD_FAILED  -1 /* error (logged): live file untouched */

/* Rebuild cfg->db_path from cfg->topic with the channel machines of set. Logs
 * event=projector.rebuild.progress about once a second and calls progress(opaque, p) (may
 * be NULL) right after each such line, and also with p == NULL right before it (so that a
 * terminal status line can be cleared first). A stale `<db>.rebuild` (and its -wal/-shm)
 * is deleted first and the file is deleted again on failure or stop. Runs on the caller's
 * thread. Returns PROJ_REBUILD_SWAPPED, PROJ_REBUILD_STOPPED or PROJ_REBUILD_FAILED. */
int proj_rebuild(const proj_config *cfg, const ns_channels *set, proj_rebuild_progress_fn *progress,
		 void *opaque);

#endif
