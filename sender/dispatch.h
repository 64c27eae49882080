/* dispatch.h -- the life of a job, from its start to its outcome on the topic.
 *
 * A READY job asks the provider exists(externalId) (always before its first send, and
 * again after any failure whose effect is unknown), then sends, within the channel's
 * rate limit. The answer decides: accepted or already known -> a `dispatched` outcome;
 * refused for good -> `failed`; transient -> a retry after a jittered backoff until the
 * budget is spent, then `failed`. The outcome is produced asynchronously; its delivery
 * report (producer thread) queues the job on the worker's completion list, and on the
 * worker thread an acked outcome marks the job's offset done and releases the job, which
 * starts the next job of the same externalId. A job whose partition went away is
 * abandoned: freed when its pending callback comes, nothing else (the next owner asks
 * exists() before sending). Worker thread, except sender_dispatch_on_delivery. */
#ifndef SENDER_DISPATCH_H
#define SENDER_DISPATCH_H

#include "state.h"

/* Move every job on: serve the delivery reports that arrived, start or re-produce the
 * jobs that are due, and wait up to wait_ms (less when a job falls due sooner, not at all
 * when nothing is in the table) for provider activity or a wakeup, handling the answers.
 * Returns the number of jobs in the table. */
int sender_dispatch_pump(sender_worker *w, int wait_ms);

/* Serve the delivery reports that arrived (also used at shutdown, after the producer is
 * gone, to free what is left). */
void sender_dispatch_deliveries(sender_worker *w);

/* Free j (finished or abandoned): the in-flight gauge goes down and the next job of its
 * externalId becomes due. */
void sender_dispatch_release(sender_worker *w, sender_job *j);

#endif
