/* figures.h -- the dashboard's figures, kept as the projector folds (ns_readmodel.h:
 * fig_counts, fig_minutes, fig_latency).
 *
 * For every folded event the fold loop notes the notification's (channel, status) before
 * and its state after: a count moves from the old pair to the new; an applied requested
 * counts as "accepted" in its minute; entering a status counts in the minute of the
 * event's occurredAt, with the time since the request (createdAt) in a latency bucket.
 * Which statuses mean success or failure is left to the reader: the channel files name
 * statuses, not verdicts. The deltas of a batch are summed in memory and written at its
 * end, inside its transaction, so the figures are exactly as replayable as the rows. One
 * thread. */
#ifndef PROJ_FIGURES_H
#define PROJ_FIGURES_H

#include "ns_fold.h"
#include "store.h"

typedef struct proj_figures proj_figures;

/* An empty accumulator. NULL when out of memory. */
proj_figures *proj_figures_new(void);

/* Note one folded event: (channel, status) of the notification before, its state after,
 * the event and its outcome. Returns 0, or -1 when out of memory. */
int proj_figures_note(proj_figures *f, const char *channel_before, const char *status_before,
		      const ns_state *after, const ns_event *ev, ns_outcome outcome);

/* Write the summed deltas with s (inside the caller's transaction) and forget them.
 * Returns 0 or -1. */
int proj_figures_flush(proj_figures *f, proj_store *s);

/* Forget the deltas (the batch was rolled back). */
void proj_figures_reset(proj_figures *f);

void proj_figures_free(proj_figures *f);

#endif
