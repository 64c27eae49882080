/* nt_events.h -- test support for runners that feed the status topic or the projector's
 * store: building and encoding events, producing them to the broker under test while
 * tracking the acked high watermark per partition, waiting for a projector's database to
 * catch up with what was acked, and dumping a database canonically.
 *
 * Every function that can fail aborts the test (ck_assert); none returns an error code.
 * The producer and the acked watermarks are process-wide (one test process at a time). */
#ifndef NT_EVENTS_H
#define NT_EVENTS_H

#include "ns_event.h"

#include <stdint.h>

/* Partitions tracked by the acked watermark (a delivery to a higher one counts as an
 * error). */
#define NT_MAX_PARTS 16

/* ---- building and encoding ---- */

/* Fill *ev (zeroed first) as a "requested" event from the API: channel, to
 * "+4915112345678", body, occurred_at = received_at = t. */
void nt_ev_requested(ns_event *ev, const char *id, const char *channel, const char *body,
		     int64_t t);

/* Fill *ev as a "dispatched" event from the sender: channel "sms", status "processing",
 * provider_id, occurred_at = received_at = t. */
void nt_ev_dispatched(ns_event *ev, const char *id, const char *provider_id, int64_t t);

/* Fill *ev as a provider status (webhook) event with the given times. */
void nt_ev_status(ns_event *ev, const char *id, const char *status, int64_t occurred,
		  int64_t received);

/* Give ev its event id and encode it. Returns the malloc'd wire form (caller frees). */
char *nt_ev_encode(ns_event *ev);

/* The above, built and encoded in one call (malloc'd, caller frees). */
char *nt_enc_requested(const char *id, const char *channel, const char *body, int64_t t);
char *nt_enc_dispatched(const char *id, const char *provider_id, int64_t t);
char *nt_enc_status(const char *id, const char *status, int64_t t);

/* ---- producing to the broker under test ---- */

/* Produce value with key to topic, asynchronously (the producer is created on first use).
 * Deliveries raise the acked watermark of their partition. */
void nt_produce_raw(const char *topic, const char *key, const char *value);

/* Encode ev (giving it an id) and produce it keyed by its external id. */
void nt_produce_event(const char *topic, ns_event *ev);

/* A "requested" (channel sms), a "dispatched" (provider id "prov-<id>") and a provider
 * status event received 5 ms after t, produced to topic. */
void nt_produce_requested(const char *topic, const char *id, const char *body, int64_t t);
void nt_produce_dispatched(const char *topic, const char *id, int64_t t);
void nt_produce_webhook(const char *topic, const char *id, const char *status, int64_t t);

/* Histories of n notifications "<prefix>-<i>" (i zero-padded to width digits), three
 * shapes by i % 3: in order with a duplicate webhook (5 events); fully reversed (4); and
 * rejected, a late "processing" and a conflicting repeat of the request (5). All relative
 * to t0. When garbage_after >= 0, an undecodable message follows history garbage_after. */
void nt_produce_histories(const char *topic, const char *prefix, int width, int n, int64_t t0,
			  int garbage_after);

/* The undecodable message nt_produce_histories writes (key "garbage"). */
#define NT_GARBAGE "{\"this is\": \"not an event\"}"

/* Wait until everything produced was delivered; asserts no delivery failed. */
void nt_produce_flush(void);

/* Forget the acked watermarks and delivery errors (at the start of a test). */
void nt_produce_reset(void);

/* Destroy the producer (flushing up to 5 s); the next produce creates a new one. */
void nt_produce_close(void);

/* Copy of the acked watermark (next offset) of every partition. */
void nt_acked_hw(int64_t hw[NT_MAX_PARTS]);

/* Sum of the acked watermarks over all partitions. */
int64_t nt_acked_sum(void);

/* ---- the projector's database ---- */

/* Wait up to 90 s until the offsets stored in the SQLite file db for topic reached the
 * acked watermark of every partition. On timeout, prints log (may be NULL) and aborts. */
void nt_wait_caught_up(const char *db, const char *topic, const char *log);

/* The canonical dump (ns_readmodel_dump) of the database at path: malloc'd, caller frees. */
char *nt_db_dump(const char *path);

#endif
