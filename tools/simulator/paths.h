/* paths.h -- the status path the simulated provider plays for one accepted message: which
 * webhooks it posts, with which event timestamps, and when each is first delivered.
 *
 * The path is walked on the channel's graph from schemas/, starting after "processing"
 * (the status of an accepted message): at each status it takes the successor on the
 * longest path (sms: sent, delivered; whatsapp: sent, delivered, viewed). A configurable
 * share takes another branch at the first choice instead (sms and whatsapp: rejected;
 * an email channel: bounced). Timestamps increase along the path by a random delay in
 * [min, max].
 * Duplicates repeat one webhook later; reordering swaps the delivery times of two adjacent
 * webhooks (their timestamps stay true). Pure: the random state (ns_rand) is passed in. */
#ifndef SIM_PATHS_H
#define SIM_PATHS_H

#include "ns_channel.h"
#include "ns_event.h"

#include <stdint.h>

#define SIM_PATH_START NS_STATUS_PROCESSING /* where a message stands once taken */

#define SIM_PATH_MAX 8 /* webhooks per message, duplicates included */

typedef struct {
	char event[NS_STATUS_MAX + 1];
	int64_t ts_ms;	/* the event's timestamp (what the webhook says) */
	int64_t due_ms; /* when it is first posted */
} sim_webhook;

typedef struct {
	int reject_percent, duplicate_percent, reorder_percent;
	int64_t delay_min_ms, delay_max_ms;
} sim_path_opts;

typedef struct {
	int n;	      /* webhooks, duplicates included, in delivery order as planned */
	int nevents;  /* distinct events of the path */
	int rejected; /* took another branch than the longest path */
	int duplicated, reordered;
	sim_webhook w[SIM_PATH_MAX];
} sim_path;

/* Plan the path of a message of channel ch accepted at start_ms. A channel without the
 * status SIM_PATH_START plays an empty path. Returns 0. */
int sim_path_plan(const ns_channel *ch, int64_t start_ms, const sim_path_opts *o, uint64_t *rng,
		  sim_path *out);

#endif
