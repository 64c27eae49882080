/* ns_kafka_internal.h -- what the ns_kafka_*.c files share among themselves. Not part of
 * the common library's interface: daemons include ns_kafka.h only. */
#ifndef NS_KAFKA_INTERNAL_H
#define NS_KAFKA_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <time.h>

typedef enum { NS_KAFKA_PRODUCER, NS_KAFKA_CONSUMER } ns_kafka_role;

/* Set name=value on conf, or fill err with librdkafka's reason. Returns 0 or -1. */
int ns_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
		      size_t errlen);

/* Set the properties the role relies on (producer: enable.idempotence=true, acks=all;
 * consumer: enable.auto.commit=false, enable.auto.offset.store=false), refusing an
 * environment variable that asks for anything else. Returns 0 or -1 with err filled. */
int ns_kafka_conf_lock(rd_kafka_conf_t *conf, ns_kafka_role role, char *err, size_t errlen);

/* A CLOCK_MONOTONIC deadline ms from now, and whether it has passed. */
void ns_kafka_deadline_after(struct timespec *ts, int ms);
int ns_kafka_deadline_passed(const struct timespec *ts);

#endif
