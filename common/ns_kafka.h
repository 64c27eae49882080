/* ns_kafka.h -- Kafka producer and consumer helpers over librdkafka.
 *
 * Client properties come from the environment: every KAFKA_<NAME> variable becomes the
 * librdkafka property <name> lowercased with '_' -> '.', e.g. KAFKA_BOOTSTRAP_SERVERS ->
 * bootstrap.servers (default 127.0.0.1:9092), KAFKA_LINGER_MS -> linger.ms. The helpers set
 * what the design requires on top (idempotence, acks=all, no auto commit) and refuse
 * environment settings that would break it.
 *
 * The producer owns a poll thread that serves delivery reports, so callers never poll.
 * The consumer is used from one thread (the caller's). Daemons reach librdkafka through
 * these functions; what they still touch directly is the consumed message itself
 * (rd_kafka_message_t fields, rd_kafka_message_destroy, rd_kafka_err2str). Both kinds of
 * client share one error callback: a fatal error marks the client failed (see
 * ns_producer_fatal, ns_consumer_failed) and every other error is logged as kafka.error. */
#ifndef NS_KAFKA_H
#define NS_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* A position in one partition of a topic the caller names separately: the offset is the
 * next message to read (commits, assignments) or RD_KAFKA_OFFSET_BEGINNING / _END /
 * _INVALID where the call says so. */
typedef struct {
	int32_t partition;
	int64_t offset;
} ns_kafka_pos;

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

/* Produce without waiting; cb(opaque, d) runs on the poll thread when the report arrives
 * (cb NULL: fire and forget; a failed delivery is logged as kafka.delivery.failed).
 * Returns 0 when enqueued, -1 when librdkafka refused to enqueue (cb is not called). */
int ns_producer_send_async(ns_producer *p, const char *topic, const char *key, size_t keylen,
			   const void *value, size_t len, ns_delivery_cb *cb, void *opaque);

/* Messages not yet delivered (rd_kafka_outq_len). */
int ns_producer_outq_len(ns_producer *p);

/* Non-zero after a fatal producer error (the producer is no longer usable). */
int ns_producer_fatal(ns_producer *p);

/* The underlying handle, for metadata queries. Owned by p. */
rd_kafka_t *ns_producer_handle(ns_producer *p);

/* Wait until the broker's metadata shows topic with at least one partition, asking every
 * 500 ms, for at most timeout_ms or until ns_signal_stopping(). Returns the partition count
 * (> 0), or -1 with err filled (the last error the broker gave, or the stop). */
int ns_producer_wait_topic(ns_producer *p, const char *topic, int timeout_ms, char *err,
			   size_t errlen);

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

/* Create a consumer in group_id subscribed to topic. KAFKA_GROUP_INSTANCE_ID, when set,
 * becomes its group.instance.id (static membership: a member restarted under the same
 * name takes its partitions back at once; only this consumer gets it, never producers or
 * assigned consumers). With enable.auto.commit=false,
 * enable.auto.offset.store=false (both refused if the environment says otherwise),
 * auto.offset.reset=earliest and enable.partition.eof=false as overridable defaults, from
 * the environment. When on_assign fails the partitions are not assigned. rb may be NULL. Works with
 * eager and cooperative assignors. Returns NULL with err filled on failure. */
ns_consumer *ns_consumer_new(const char *group_id, const char *topic, const ns_rebalance *rb,
			     char *err, size_t errlen);

/* A consumer outside every consumer group, for reading chosen partitions from chosen
 * offsets (a rebuild, a test reading a topic back): it never joins a group and never
 * commits, and ns_consumer_poll returns partition-EOF events (m->err
 * RD_KAFKA_RESP_ERR__PARTITION_EOF, m->offset the end) so the caller can tell it reached
 * the end of a partition. client_id names it in broker logs. Configured from the
 * environment like the group consumer. Returns NULL with err filled on failure. */
ns_consumer *ns_consumer_new_assigned(const char *client_id, char *err, size_t errlen);

/* Assign exactly the n partitions of topic in pos, each starting at its offset (an offset,
 * or RD_KAFKA_OFFSET_BEGINNING / RD_KAFKA_OFFSET_END); n 0 unassigns. For consumers of
 * ns_consumer_new_assigned. Returns 0, or -1 with err filled. */
int ns_consumer_assign(ns_consumer *c, const char *topic, const ns_kafka_pos *pos, size_t n,
		       char *err, size_t errlen);

/* Next message or NULL after timeout_ms. Error events come back as messages with err set
 * (partition EOF only from an assigned consumer); the caller destroys every message with
 * rd_kafka_message_destroy. */
rd_kafka_message_t *ns_consumer_poll(ns_consumer *c, int timeout_ms);

/* Commit the n positions of topic (offset = next message to read): synchronously, or when
 * async is non-zero in the background (result only logged at debug level). Returns 0 (also
 * when there was nothing to commit) or -1 (logged; a fatal error marks c failed). */
int ns_consumer_commit(ns_consumer *c, const char *topic, const ns_kafka_pos *pos, size_t n,
		       int async);

/* Stop fetching partition of topic (pause) until resumed. Returns 0 or -1. */
int ns_consumer_pause(ns_consumer *c, const char *topic, int32_t partition);

/* Pause (pause non-zero) or resume every partition currently assigned, for flow control.
 * Returns 0 or -1. */
int ns_consumer_pause_all(ns_consumer *c, int pause);

/* The high watermark (next offset to be written) of partition of topic as the client last
 * learnt it from fetch responses: no request is sent, so it is safe on the consume loop.
 * Returns 0 with *hw set, or -1 when the client has no figure yet. */
int ns_consumer_cached_watermark(ns_consumer *c, const char *topic, int32_t partition, int64_t *hw);

/* ns_kafka_high_watermarks (below) through this consumer's connection: a blocking query,
 * never for the consume loop. Same returns. */
int ns_consumer_high_watermarks(ns_consumer *c, const char *topic, int64_t *hw, int cap, int *n,
				int timeout_ms, char *err, size_t errlen);

/* A file descriptor that becomes readable when the consumer has something to hand out
 * (a message, an error, a rebalance): for a loop that waits in another poll (curl's)
 * rather than in ns_consumer_poll, so a new message wakes it at once. Created on the
 * first call, closed by ns_consumer_close. Call ns_consumer_wake_drain before polling
 * the consumer empty. Returns the fd, or -1. */
int ns_consumer_wake_fd(ns_consumer *c);
void ns_consumer_wake_drain(ns_consumer *c);

/* Non-zero when a rebalance hook failed or a fatal error occurred. */
int ns_consumer_failed(ns_consumer *c);

/* The underlying handle, for tests that inspect the client (assignment, position).
 * Owned by c. */
rd_kafka_t *ns_consumer_handle(ns_consumer *c);

/* rd_kafka_consumer_close (revoke hooks run) then destroy. NULL is a no-op. */
void ns_consumer_close(ns_consumer *c);

/* The committed offsets of the n partitions of topic in pos (pos[i].offset set; -1 where
 * none is committed). With isolation.level=read_committed (the default) the broker answers
 * only once no transaction that sends offsets for them is pending (KIP-447), so what a
 * predecessor's transaction wrote is settled when this returns. Blocking: may be called
 * from a rebalance hook. Returns 0, or -1 (logged). */
int ns_consumer_committed(ns_consumer *c, const char *topic, ns_kafka_pos *pos, size_t n,
			  int timeout_ms);

/* Seek every assigned partition back to its committed offset (the earliest when none),
 * e.g. after an aborted transaction: what was consumed since is consumed again. Returns 0
 * or -1 (logged). */
int ns_consumer_rewind(ns_consumer *c, int timeout_ms);

/* ---- transactional producer (consume-transform-produce) ----------------------------- */

/* Results of the transactional calls: ok; retry the same call; abort the transaction
 * (then rewind the consumer and redo the work); the producer is fenced or broken (stop:
 * another instance with the same transactional.id took over). */
#define NS_TXN_OK    0
#define NS_TXN_RETRY 1
#define NS_TXN_ABORT 2
#define NS_TXN_FATAL 3

typedef struct ns_txn_producer ns_txn_producer;

/* A transactional producer with transactional_id (stable per instance: a restarted
 * instance fences its predecessor and aborts what it left open) and transaction.timeout.ms
 * timeout_ms (how long a dead instance's open transaction holds read_committed readers
 * back), configured from the environment; init_transactions done. NULL with err. */
ns_txn_producer *ns_txn_producer_new(const char *transactional_id, int timeout_ms, char *err,
				     size_t errlen);

/* Begin a transaction (no-op when one is open). Returns an NS_TXN_* code. */
int ns_txn_begin(ns_txn_producer *t, char *err, size_t errlen);

/* Produce value keyed by key to partition of topic within the open transaction (copied).
 * Returns NS_TXN_OK, NS_TXN_ABORT or NS_TXN_FATAL with err. */
int ns_txn_produce(ns_txn_producer *t, const char *topic, int32_t partition, const char *key,
		   size_t keylen, const void *value, size_t len, char *err, size_t errlen);

/* Send the n next-to-read positions of c's input topic to the transaction (as c's group)
 * and commit it: the records and the offsets become visible together. Retriable errors
 * are retried. Returns NS_TXN_OK, NS_TXN_ABORT (call ns_txn_abort, rewind, redo) or
 * NS_TXN_FATAL, with err. No-op without an open transaction. */
int ns_txn_commit(ns_txn_producer *t, ns_consumer *c, const char *topic, const ns_kafka_pos *pos,
		  size_t n, char *err, size_t errlen);

/* Abort the open transaction (no-op without one). Returns an NS_TXN_* code. */
int ns_txn_abort(ns_txn_producer *t, char *err, size_t errlen);

/* Non-zero after a fatal error (fenced). */
int ns_txn_fatal(ns_txn_producer *t);

/* Abort what is open, flush, destroy. NULL is a no-op. */
void ns_txn_producer_destroy(ns_txn_producer *t);

/* ---- admin -------------------------------------------------------------------------- */

/* Create topic with partitions, the broker's default replication factor and infinite
 * retention unless it exists, then wait (within timeout_ms) until every partition has a
 * leader. Uses a short-lived client configured from the environment. Returns 0 (created or
 * already there) or -1 with err filled. */
int ns_kafka_topic_ensure(const char *topic, int partitions, int timeout_ms, char *err,
			  size_t errlen);

/* ns_kafka_topic_ensure for a compacted topic (cleanup.policy=compact, e.g. a changelog:
 * the latest record of each key is kept forever). */
int ns_kafka_topic_ensure_compacted(const char *topic, int partitions, int timeout_ms, char *err,
				    size_t errlen);

/* The partition count of topic, waiting (within timeout_ms, or until a stop) for it to
 * exist. Uses a short-lived client. Returns the count (> 0), or -1 with err filled. */
int ns_kafka_partition_count(const char *topic, int timeout_ms, char *err, size_t errlen);

/* High watermark (next offset) of every partition of topic into hw[0..*n), indexed by
 * partition id, *n set to the partition count. Returns 0, or -1 with err (also when the
 * topic has more than cap partitions). */
int ns_kafka_high_watermarks(rd_kafka_t *rk, const char *topic, int64_t *hw, int cap, int *n,
			     int timeout_ms, char *err, size_t errlen);

#endif
