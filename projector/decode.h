/* decode.h -- a batch's messages decoded ahead of the fold, on a second thread.
 *
 * Folding a batch is one thread's work (one SQLite connection, log order), and a third of
 * it was decoding each message's JSON envelope. Decoding is pure: a message's bytes give
 * its event and nothing else. So while the caller folds message i, a thread of the
 * decoder's own decodes messages i+1, i+2, ... into a ring of PROJ_DECODE_RING slots, in
 * order, never more than the ring ahead. A batch smaller than PROJ_DECODE_AHEAD_MIN (the
 * few messages of a batch under light load) is decoded in the caller's thread, one message
 * when asked for, as is every batch when the thread cannot be started.
 *
 * Nothing about the fold changes: the caller takes the events in order and folds, skips or
 * dead-letters each one itself; the thread only reads the messages. */
#ifndef PROJ_DECODE_H
#define PROJ_DECODE_H

#include "apply.h"
#include "ns_event.h"

#include <stddef.h>

#define PROJ_DECODE_AHEAD_MIN 64  /* messages in a batch before a thread is worth it */
#define PROJ_DECODE_RING      128 /* events decoded ahead at most (each about 5.5 KB) */

typedef struct proj_decoder proj_decoder;

/* One decoded message: rc 0 with ev filled, or -1 with the decoder's reason. */
typedef struct {
	int rc;
	char reason[256];
	ns_event ev;
} proj_decoded;

/* A decoder of msgs[0..n), which must stay valid until proj_decoder_free. Returns NULL
 * only when out of memory. */
proj_decoder *proj_decoder_start(const proj_msg *msgs, size_t n);

/* Message i, decoded, waiting for the thread when it is not yet. Calls must ask for
 * increasing i (some may be left out); the result is valid until the next call. */
const proj_decoded *proj_decoder_get(proj_decoder *d, size_t i);

/* Stop the thread (it stops before its next message), join it, free everything. NULL is
 * a no-op. */
void proj_decoder_free(proj_decoder *d);

#endif
