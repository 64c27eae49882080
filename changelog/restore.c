/* restore.c -- read changelog partitions to their end into the state (see restore.h). */
#include "restore.h"
#include "ns_change.h"
#include "ns_kafka.h"
#include "ns_log.h"
#include "ns_signal.h"
#include "ns_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One record: the key is the notification's reference; the value the record (its
 * version is all we decode), or a tombstone. Returns 0, or -1 (out of memory). */
static int keep(clog_state *s, const rd_kafka_message_t *m)
{
	char ref[NS_REF_MAX + 1], err[256];
	ns_change c;

	if (!m->key || m->key_len == 0 || m->key_len > NS_REF_MAX) {
		NS_WARN("changelog.restore.bad_key", "partition=%d offset=%lld", (int)m->partition,
			(long long)m->offset);
		return 0;
	}
	memcpy(ref, m->key, m->key_len);
	ref[m->key_len] = '\0';
	if (!m->payload) {
		clog_state_remove(s, m->partition, ref);
		return 0;
	}
	if (ns_change_decode(m->payload, m->len, &c, err, sizeof(err)) != 0) {
		NS_WARN("changelog.restore.bad_record", "partition=%d offset=%lld err=\"%s\"",
			(int)m->partition, (long long)m->offset, err);
		return 0;
	}
	return clog_state_put(s, m->partition, ref, m->payload, m->len, c.version);
}

/* Poll c until every one of the n partitions reached its end. Returns 0 or -1. */
static int read_to_end(ns_consumer *c, clog_state *s, size_t n, int timeout_ms, long *records,
		       char *err, size_t errlen)
{
	int64_t deadline = ns_time_mono_ms() + timeout_ms;
	size_t ended = 0;
	char *done = calloc(CLOG_MAX_PARTITIONS, 1);
	int rc = -1;

	if (!done) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (ended < n) {
		rd_kafka_message_t *m;
		if (ns_signal_stopping() || ns_time_mono_ms() > deadline) {
			snprintf(err, errlen, "%s before the end of the changelog",
				 ns_signal_stopping() ? "stopped" : "timed out");
			goto out;
		}
		m = ns_consumer_poll(c, 100);
		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (m->partition >= 0 && m->partition < CLOG_MAX_PARTITIONS &&
			    !done[m->partition]) {
				done[m->partition] = 1;
				ended++;
			}
		} else if (m->err) {
			NS_WARN("changelog.restore.error", "err=\"%s\"",
				rd_kafka_message_errstr(m));
		} else if (keep(s, m) == 0) {
			(*records)++;
		} else {
			snprintf(err, errlen, "out of memory");
			rd_kafka_message_destroy(m);
			goto out;
		}
		rd_kafka_message_destroy(m);
	}
	rc = 0;
out:
	free(done);
	return rc;
}

int clog_restore(clog_state *s, const char *topic, const int32_t *parts, size_t n, int timeout_ms,
		 long *records, char *err, size_t errlen)
{
	ns_kafka_pos *pos = calloc(n ? n : 1, sizeof(*pos));
	ns_consumer *c = NULL;
	long got = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		clog_state_drop(s, parts[i]);
	if (!pos) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		pos[i] = (ns_kafka_pos){parts[i], RD_KAFKA_OFFSET_BEGINNING};
	c = ns_consumer_new_assigned("changelog-restore", err, errlen);
	if (!c || ns_consumer_assign(c, topic, pos, n, err, errlen) != 0)
		goto out;
	rc = read_to_end(c, s, n, timeout_ms, &got, err, errlen);
out:
	if (rc != 0)
		for (size_t i = 0; i < n; i++)
			clog_state_drop(s, parts[i]);
	if (records)
		*records = got;
	ns_consumer_close(c);
	free(pos);
	return rc;
}
