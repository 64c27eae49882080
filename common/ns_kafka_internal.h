/* ns_kafka_internal.h -- what the ns_kafka_*.c files share among themselves. Not part of
 * the common library's interface: daemons include ns_kafka.h only. */
#ifndef NS_KAFKA_INTERNAL_H
#define NS_KAFKA_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

typedef enum { NS_KAFKA_PRODUCER, NS_KAFKA_CONSUMER } ns_kafka_role;

/* The part every producer and consumer starts with: the handle, and the flag the shared
 * error callback sets on a fatal error. The callback's opaque points at it. */
typedef struct {
	rd_kafka_t *rk;
	atomic_int fatal;
} ns_kafka_client;

/* Set name=value on conf, or fill err with librdkafka's reason. Returns 0 or -1. */
int ns_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
		      size_t errlen);

/* Set the properties the role relies on (producer: enable.idempotence=true, acks=all;
 * consumer: enable.auto.commit=false, enable.auto.offset.store=false), refusing an
 * environment variable that asks for anything else. Returns 0 or -1 with err filled. */
int ns_kafka_conf_lock(rd_kafka_conf_t *conf, ns_kafka_role role, char *err, size_t errlen);

/* Route conf's client errors to the shared error callback with cl as its opaque: a fatal
 * error sets cl->fatal and logs kafka.fatal; others log kafka.error. The callback runs on
 * a librdkafka thread or inside rd_kafka_poll/consumer_poll. */
void ns_kafka_conf_errors(rd_kafka_conf_t *conf, ns_kafka_client *cl);

/* Wait until metadata shows topic with at least one partition (and, with need_leaders,
 * every partition led), asking every poll_ms, for at most timeout_ms or until
 * ns_signal_stopping(). Returns the partition count, or -1 with err filled. */
int ns_kafka_wait_topic(rd_kafka_t *rk, const char *topic, int timeout_ms, int poll_ms,
			int need_leaders, char *err, size_t errlen);

#endif
