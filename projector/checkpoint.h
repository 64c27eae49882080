/* checkpoint.h -- the read model's WAL checkpoints, off the commit path.
 *
 * SQLite checkpoints a WAL database from inside the COMMIT that crosses its size limit:
 * the committing thread copies the WAL's pages into the database file and fsyncs both.
 * On a slow disk that is tens to hundreds of milliseconds, and the projector's consume
 * loop stood still for it: every event arriving meanwhile waited to become visible (the
 * p99 of POST -> GET). Here a thread of its own, with a connection of its own, runs
 * PASSIVE checkpoints (which never wait for readers or the writer): when the store
 * reports that the WAL passed NS_READMODEL_CHECKPOINT_FRAMES frames after a commit (and
 * then once per further 500 frames: a backlog passes the threshold after every commit),
 * and at least every interval_ms. The store's own automatic checkpoint is off meanwhile; the
 * store checkpoints only a WAL four times that size, which a writer that never pauses makes
 * (a PASSIVE checkpoint beside it never reaches the WAL's end, so the WAL never starts over). */
#ifndef PROJ_CHECKPOINT_H
#define PROJ_CHECKPOINT_H

#include "store.h"

#include <stddef.h>

typedef struct proj_checkpointer proj_checkpointer;

/* Open a connection to path, take over the checkpoints of store s (which must stay open
 * until proj_checkpointer_stop) and start the thread. Returns NULL with err filled; s
 * then keeps checkpointing itself. */
proj_checkpointer *proj_checkpointer_start(const char *path, proj_store *s, int interval_ms,
					   char *err, size_t errlen);

/* Give the checkpoints back to the store, stop and join the thread, close its
 * connection. NULL is a no-op. */
void proj_checkpointer_stop(proj_checkpointer *c);

#endif
