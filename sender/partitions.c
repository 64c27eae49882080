/* partitions.c -- partition ownership, commits behind the done prefix, and pausing for
 * flow control (see partitions.h). */
#include "partitions.h"

#include "ns_log.h"

#include <stdlib.h>
#include <string.h>

void sender_parts_init(sender_parts *ps)
{
	memset(ps, 0, sizeof(*ps));
}

void sender_parts_free(sender_parts *ps)
{
	for (int i = 0; i < ps->n; i++)
		ns_tracker_free(&ps->p[i].t);
	free(ps->p);
	sender_parts_init(ps);
}

sender_part *sender_parts_get(sender_parts *ps, int32_t id)
{
	if (id < 0 || id >= SENDER_PARTITIONS_MAX)
		return NULL;
	if (id >= ps->n) {
		int n = id + 1;
		sender_part *np = realloc(ps->p, (size_t)n * sizeof(*np));
		if (!np)
			return NULL;
		for (int i = ps->n; i < n; i++) {
			memset(&np[i], 0, sizeof(np[i]));
			ns_tracker_init(&np[i].t);
		}
		ps->p = np;
		ps->n = n;
	}
	return &ps->p[id];
}

int sender_parts_current(sender_parts *ps, int32_t id, uint64_t gen)
{
	sender_part *pt = sender_parts_get(ps, id);

	return pt && pt->owned && pt->gen == gen;
}

int sender_parts_own(sender_parts *ps, int32_t id)
{
	sender_part *pt = sender_parts_get(ps, id);

	if (!pt)
		return -1;
	pt->owned = 1;
	pt->draining = 0;
	pt->gen++;
	ns_tracker_reset(&pt->t);
	return 0;
}

void sender_parts_disown(sender_parts *ps, int32_t id)
{
	sender_part *pt = sender_parts_get(ps, id);

	if (!pt)
		return;
	pt->owned = 0;
	pt->draining = 0;
	pt->gen++;
	ns_tracker_reset(&pt->t);
}

static int wanted(const int32_t *only, int n, int32_t id)
{
	if (!only)
		return 1;
	for (int k = 0; k < n; k++)
		if (only[k] == id)
			return 1;
	return 0;
}

int sender_parts_commit(sender_parts *ps, ns_consumer *c, const char *topic, const int32_t *only,
			int n)
{
	ns_kafka_pos *pos = calloc(ps->n ? (size_t)ps->n : 1, sizeof(*pos));
	size_t cnt = 0;
	int rc = 0;

	if (!pos)
		return -1;
	for (int32_t i = 0; i < ps->n; i++) {
		int64_t off;
		if (!ps->p[i].owned || !wanted(only, n, i))
			continue;
		off = ns_tracker_take_commit(&ps->p[i].t);
		if (off >= 0)
			pos[cnt++] = (ns_kafka_pos){i, off};
	}
	if (cnt > 0 && ns_consumer_commit(c, topic, pos, cnt, 0) != 0) {
		NS_WARN("sender.commit_failed", "partitions=%zu", cnt);
		for (size_t k = 0; k < cnt; k++)
			ps->p[pos[k].partition].t.committed = -1;
		rc = -1;
	}
	free(pos);
	return rc;
}

void sender_parts_flow(sender_parts *ps, ns_consumer *c, int full, int assignment_changed)
{
	if (full == ps->paused && !(full && assignment_changed))
		return;
	if (ns_consumer_pause_all(c, full) == 0)
		ps->paused = full;
}
