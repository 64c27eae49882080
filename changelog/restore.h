/* restore.h -- rebuild the fold state of some partitions from the changelog topic.
 *
 * Reads changelog partitions p1..pn from the beginning to their end with read_committed
 * (a consumer outside every group; partition EOF under read_committed is the last stable
 * offset, so nothing of an open or aborted transaction is seen) and keeps the latest
 * record of every key in the state (a tombstone removes the key). Called from the
 * assignment hook after the input partitions' committed offsets were fetched (which waits
 * for any pending transaction of a predecessor), so the state matches the committed input
 * offset exactly: every change of an input event before it is in the changelog, none
 * after it. */
#ifndef CLOG_RESTORE_H
#define CLOG_RESTORE_H

#include "state.h"

#include <stddef.h>
#include <stdint.h>

/* Drop and restore partitions parts[0..n) of s from topic, for at most timeout_ms or
 * until a stop is requested. *records (may be NULL) receives the records read. Returns 0,
 * or -1 with err filled (the state of those partitions is then dropped). */
int clog_restore(clog_state *s, const char *topic, const int32_t *parts, size_t n, int timeout_ms,
		 long *records, char *err, size_t errlen);

#endif
