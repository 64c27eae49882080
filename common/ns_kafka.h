/* ns_kafka.h -- Kafka producer and consumer helpers over librdkafka.
 *
 * Client properties come from the environment: every KAFKA_<NAME> variable becomes the
 * librdkafka property <name> lowercased with '_' -> '.', e.g. KAFKA_BOOTSTRAP_SERVERS ->
 * bootstrap.servers (default 127.0.0.1:9092), KAFKA_LINGER_MS -> linger.ms. The helpers set
 * what the design requires on top (idempotence, acks=all, no auto commit) and refuse
 * environment settings that would break it.
 *
 * The producer owns a poll thread that serves delivery reports, so callers never poll.
 * The consumer is used from one thread (the caller's). */
#ifndef NS_KAFKA_H
#define NS_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* ---- configuration ---------------------------------------------------------------- */

/* Set bootstrap.servers to the default, then apply every non-empty KAFKA_* environment
 * variable to conf, and route librdkafka's own log lines to ns_log (event=kafka.log).
 * Variables that name no librdkafka property (KAFKA_HOME, KAFKA_HEAP_OPTS ...) are skipped.
 * Returns 0, or -1 with err filled (the variable and librdkafka's message) for a value
 * librdkafka rejects. */
int ns_kafka_conf_from_env(rd_kafka_conf_t *conf, char *err, size_t errlen);

/* The bootstrap servers the environment names (or the default). Static storage. */
const char *ns_kafka_bootstrap(void);

/* ---- producer ----------------------------------------------------------------------- */

typedef struct ns_producer ns_producer;

/* Outcome of one produced message, filled when its delivery report arrives. */
typedef struct {
	rd_kafka_resp_err_t err; /* RD_KAFKA_RESP_ERR_NO_ERROR when acked */
	int32_t partition;
	int64_t offset;
	rd_kafka_msg_status_t status; /* NOT_PERSISTED / POSSIBLY_PERSISTED / PERSISTED */
} ns_delivery;

/* Called on the producer's poll thread, once per message sent with ns_producer_send_async.
 * Must not block. */
typedef void(ns_delivery_cb)(void *opaque, const ns_delivery *d);

/* Create an idempotent producer (enable.idempotence=true, acks=all) configured from the
 * environment, with its poll thread running. Defaults the environment may override:
 * linger.ms=2, message.timeout.ms=10000. KAFKA_ENABLE_IDEMPOTENCE or KAFKA_ACKS set to
 * anything else is refused. client_id names it in broker logs. Returns NULL with err filled
 * on failure. */
ns_producer *ns_producer_new(const char *client_id, char *err, size_t errlen);

/* Produce value to topic keyed by key and block until its delivery report arrives or
 * timeout_ms passes. Thread-safe: many threads may wait at once (no global lock held while
 * waiting, no flush). Returns 0 when acked (d filled), -1 when the broker refused or the
 * time ran out (d->err says which: RD_KAFKA_RESP_ERR__TIMED_OUT for the wait, with status
 * POSSIBLY_PERSISTED: the message may still be written later; RD_KAFKA_RESP_ERR__FATAL after
 * a fatal error). A full local queue is retried until timeout_ms. The value is copied. */
int ns_producer_send(ns_producer *p, const char *topic, const char *key, size_t keylen,
		     const void *value, size_t len, int timeout_ms, ns_delivery *d);

/* A Kafka message header: name and NUL-terminated value, both copied when produced. */
typedef struct {
	const char *name;
	const char *value;
} ns_header;

/* ns_producer_send with message headers (nhdrs may be 0). Same returns and ownership. */
int ns_producer_send_hdrs(ns_producer *p, const char *topic, const char *key, size_t keylen,
			  const void *value, size_t len, const ns_header *hdrs, size_t nhdrs,
			  int timeout_ms, ns_delivery *d);

/* Produce without waiting; cb(opaque, d) runs on the poll thread when the report arrives.
 * Returns 0 when enqueued, -1 when librdkafka refused to enqueue (cb is not called). */
int ns_producer_send_async(ns_producer *p, const char *topic, const char *key, size_t keylen,
			   const void *value, size_t len, ns_delivery_cb *cb, void *opaque);

/* Messages not yet delivered (rd_kafka_outq_len). */
int ns_producer_outq_len(ns_producer *p);

/* Non-zero after a fatal producer error (the producer is no longer usable). */
int ns_producer_fatal(ns_producer *p);

/* The underlying handle, for metadata queries. Owned by p. */
rd_kafka_t *ns_producer_handle(ns_producer *p);

/* Stop the poll thread, flush for up to flush_ms, log what is left undelivered, purge it
 * (its reports run with an error, so waiters and async callbacks are served) and destroy.
 * No thread may be inside ns_producer_send* any more. NULL is a no-op. */
void ns_producer_destroy(ns_producer *p, int flush_ms);

/* ---- consumer ----------------------------------------------------------------------- */

typedef struct ns_consumer ns_consumer;

/* Rebalance hooks, called on the consumer's thread from inside ns_consumer_poll.
 * on_assign may set parts->elems[i].offset to where consumption must start (offsets kept
 * outside Kafka); leaving RD_KAFKA_OFFSET_INVALID starts from the committed offset, or
 * earliest. Return 0, or -1 to fail (the consumer then stops: ns_consumer_failed).
 * on_revoke runs before partitions go away: finish and store their work. */
typedef struct {
	int (*on_assign)(void *opaque, rd_kafka_topic_partition_list_t *parts);
	void (*on_revoke)(void *opaque, const rd_kafka_topic_partition_list_t *parts);
	void *opaque;
} ns_rebalance;

/* Create a consumer in group_id subscribed to topic, with enable.auto.commit=false,
 * enable.auto.offset.store=false (both refused if the environment says otherwise),
 * auto.offset.reset=earliest and enable.partition.eof=false as overridable defaults, from
 * the environment. When on_assign fails the partitions are not assigned. rb may be NULL. Works with
 * eager and cooperative assignors. Returns NULL with err filled on failure. */
ns_consumer *ns_consumer_new(const char *group_id, const char *topic, const ns_rebalance *rb,
			     char *err, size_t errlen);

/* Next message or NULL after timeout_ms. Error events (partition EOF excepted) come back
 * as messages with err set; the caller destroys every message with rd_kafka_message_destroy.
 */
rd_kafka_message_t *ns_consumer_poll(ns_consumer *c, int timeout_ms);

/* Commit offsets synchronously (offset = next message to read). Returns 0 (also when there
 * was nothing to commit) or -1. */
int ns_consumer_commit(ns_consumer *c, const rd_kafka_topic_partition_list_t *offsets);

/* Non-zero when a rebalance hook failed or a fatal error occurred. */
int ns_consumer_failed(ns_consumer *c);

/* The underlying handle (for pause/resume, seek, position). Owned by c. */
rd_kafka_t *ns_consumer_handle(ns_consumer *c);

/* rd_kafka_consumer_close (revoke hooks run) then destroy. NULL is a no-op. */
void ns_consumer_close(ns_consumer *c);

/* ---- admin -------------------------------------------------------------------------- */

/* Create topic with partitions, the broker's default replication factor and infinite
 * retention unless it exists, then wait (within timeout_ms) until every partition has a
 * leader. Uses a short-lived client configured from the environment. Returns 0 (created or
 * already there) or -1 with err filled. */
int ns_kafka_topic_ensure(const char *topic, int partitions, int timeout_ms, char *err,
			  size_t errlen);

/* High watermark (next offset) of every partition of topic into hw[0..*n), indexed by
 * partition id, *n set to the partition count. Returns 0, or -1 with err (also when the
 * topic has more than cap partitions). */
int ns_kafka_high_watermarks(rd_kafka_t *rk, const char *topic, int64_t *hw, int cap, int *n,
			     int timeout_ms, char *err, size_t errlen);

#endif
