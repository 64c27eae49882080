/* projector.h -- the projector daemon's consume loop: Kafka -> SQLite, exactly once in
 * effect.
 *
 * Offsets live in SQLite, written in the same transaction as the rows they cover; on
 * assignment the consumer seeks to them (beginning when none is stored), so a crash at
 * any point neither loses nor double-applies an event. Messages are batched into one
 * transaction (apply.h) adaptively: a batch commits as soon as no further message is
 * waiting, or when it is full. The offsets also go to Kafka, asynchronously and at most
 * once a second (and on revoke and stop), only so that lag tools see progress.
 * Everything runs on the caller's thread but proj_ready. */
#ifndef PROJ_PROJECTOR_H
#define PROJ_PROJECTOR_H

#include <stddef.h>

struct proj_rebuild_progress;

/* Progress hook of --rebuild (rebuild.h), on the caller's thread. p NULL: a progress log
 * line is about to be written. */
typedef void(proj_rebuild_progress_fn)(void *opaque, const struct proj_rebuild_progress *p);

typedef struct {
	const char *db_path;	 /* PROJECTOR_DB */
	const char *topic;	 /* STATUS_TOPIC */
	const char *dlq_topic;	 /* DLQ_TOPIC; NULL or "" means topic + ".dlq" */
	const char *schemas_dir; /* SCHEMAS_DIR */
	const char *group;	 /* PROJECTOR_GROUP */
	long batch;		 /* PROJECTOR_BATCH: messages per transaction */
	long batch_ms;		 /* PROJECTOR_BATCH_MS: wait for more before committing (0) */
	long checkpoint_ms;	 /* PROJECTOR_CHECKPOINT_MS: checkpoint.h; 0: in the commit */
	long rebuild;		 /* PROJECTOR_REBUILD: rebuild db_path from the log first */
	proj_rebuild_progress_fn *rebuild_progress; /* may be NULL */
	void *rebuild_opaque;
} proj_config;

typedef struct proj proj;

/* A projector for cfg (borrowed: it must outlive the projector): loads the channel
 * schemas and registers the metrics; opens nothing else yet. Returns NULL with err filled
 * (bad schemas, out of memory). */
proj *proj_new(const proj_config *cfg, char *err, size_t errlen);

/* Readiness for /readyz: non-zero while the consume loop runs with a healthy consumer
 * (zero during a rebuild and before the start). Any thread; opaque is the proj. */
int proj_ready(void *opaque);

/* Run until SIGTERM/SIGINT (ns_signal) or a fatal error: the current batch is committed,
 * the consumer closed, the database closed. With cfg->rebuild, first rebuild db_path from
 * the log and swap it in (proj_rebuild, rebuild.h; not ready meanwhile), then go on
 * consuming from the offsets the rebuild stored (a stop during the rebuild leaves the live
 * file untouched and returns 0). Returns 0 after a clean stop, -1 on a start-up or fatal
 * error, or a failed rebuild (logged). Call once. */
int proj_run(proj *x);

/* Free x after proj_run returned (or instead of it). NULL is a no-op. */
void proj_free(proj *x);

#endif
