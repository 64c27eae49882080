/* rebuild.c -- `projector --rebuild` (see rebuild.h): replay the topic from the earliest
 * offsets up to the watermarks captured at start into `<db>.rebuild` with the live
 * projector's proj_apply_batch, report progress once a second, then swap the file in with
 * rename(2). Everything runs on the caller's thread. */
#include "rebuild.h"
#include "apply.h"
#include "batch.h"
#include "ns_kafka.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_readmodel.h"
#include "ns_signal.h"
#include "ns_time.h"
#include "store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RB_MAX_PARTITIONS 1024
#define RB_PROGRESS_MS	  1000
#define RB_META_TIMEOUT	  5000
#define RB_META_TRIES	  6
#define RB_PATH_MAX	  4096

typedef struct {
	const proj_config *cfg;
	const ns_channels *set;
	proj_rebuild_progress_fn *progress;
	void *opaque;
	char path[RB_PATH_MAX]; /* <db>.rebuild */
	ns_consumer *c;		/* outside every group (ns_consumer_new_assigned) */
	proj_store *store;
	int np;
	int64_t hw[RB_MAX_PARTITIONS];	/* captured high watermarks */
	int64_t pos[RB_MAX_PARTITIONS]; /* next offset to fold, per partition */
	char done[RB_MAX_PARTITIONS];
	int ndone;
	proj_batch b; /* held messages, folded in one transaction */
	int64_t events;
	int64_t t_start, t_last, ev_last;
	ns_counter *m_events;
	ns_gauge *m_lag;
	ns_gauge *m_done;
} rb_ctx;

/* Unlink path and its SQLite companions. Returns 0, or -1 (logged) when one of them exists
 * and cannot be removed. */
static int remove_db_files(const char *path)
{
	char err[512];

	if (ns_readmodel_remove(path, err, sizeof(err)) == NS_READMODEL_OK)
		return 0;
	NS_ERROR("projector.rebuild.unlink", "path=%s err=\"%s\"", path, err);
	return -1;
}

/* Capture the high watermarks, retrying a few times (metadata may lag at start-up).
 * Returns 0, or -1 (logged). */
static int capture_watermarks(rb_ctx *x)
{
	char err[512] = "";

	for (int i = 0; i < RB_META_TRIES && !ns_signal_stopping(); i++) {
		if (ns_consumer_high_watermarks(x->c, x->cfg->topic, x->hw, RB_MAX_PARTITIONS,
						&x->np, RB_META_TIMEOUT, err, sizeof(err)) == 0)
			return 0;
		NS_WARN("projector.rebuild.watermarks", "topic=%s try=%d err=\"%s\"", x->cfg->topic,
			i + 1, err);
		(void)ns_signal_sleep_ms(500);
	}
	NS_ERROR("projector.rebuild.watermarks", "topic=%s err=\"%s\"", x->cfg->topic, err);
	return -1;
}

/* Mark partition p done once its position reached the captured watermark, and pause it so
 * that nothing past the snapshot is fetched. */
static void check_done(rb_ctx *x, int32_t p)
{
	if (x->done[p] || x->pos[p] < x->hw[p])
		return;
	x->done[p] = 1;
	x->ndone++;
	NS_DEBUG("projector.rebuild.partition_done", "partition=%d offset=%lld", (int)p,
		 (long long)x->pos[p]);
	(void)ns_consumer_pause(x->c, x->cfg->topic, p);
}

/* Assign every partition from the beginning; partitions without messages at capture time
 * are done already. Returns 0 or -1 (logged). */
static int assign_all(rb_ctx *x)
{
	ns_kafka_pos *pos = calloc(x->np ? (size_t)x->np : 1, sizeof(*pos));
	char err[512];
	size_t n = 0;
	int ret = -1;

	if (!pos) {
		NS_ERROR("projector.rebuild.assign", "err=\"out of memory\"");
		return -1;
	}
	for (int p = 0; p < x->np; p++) {
		if (x->hw[p] <= 0) {
			x->done[p] = 1;
			x->ndone++;
			continue;
		}
		pos[n++] = (ns_kafka_pos){p, RD_KAFKA_OFFSET_BEGINNING};
	}
	if (ns_consumer_assign(x->c, x->cfg->topic, pos, n, err, sizeof(err)) == 0)
		ret = 0;
	else
		NS_ERROR("projector.rebuild.assign", "topic=%s err=\"%s\"", x->cfg->topic, err);
	free(pos);
	return ret;
}

/* Fold the held batch into the new file. No dead-letter hook: the live projector has
 * dead-lettered these messages already. Returns 0 when committed, -1 when a stop was
 * requested first. */
static int flush_batch(rb_ctx *x)
{
	int ret = proj_batch_fold(&x->b, x->store, x->set, x->cfg->topic, NULL, NULL, "rebuild");

	if (ret == 0) {
		x->events += (int64_t)x->b.n;
		ns_counter_add(x->m_events, x->b.n);
	}
	proj_batch_drop(&x->b);
	return ret;
}

static void report(rb_ctx *x, int final)
{
	int64_t now = ns_time_mono_ms(), lag = 0;
	double dt = (double)(now - x->t_last) / 1000.0;
	proj_rebuild_progress p;

	for (int i = 0; i < x->np; i++)
		lag += x->hw[i] > x->pos[i] ? x->hw[i] - x->pos[i] : 0;
	p = (proj_rebuild_progress){
	    .events = x->events,
	    .rate = dt > 0 ? (double)(x->events - x->ev_last) / dt : 0,
	    .parts_done = x->ndone,
	    .parts = x->np,
	    .lag = lag,
	    .elapsed = (double)(now - x->t_start) / 1000.0,
	    .final = final,
	};
	if (final && p.elapsed > 0)
		p.rate = (double)x->events / p.elapsed;
	ns_gauge_set(x->m_lag, lag);
	ns_gauge_set(x->m_done, x->ndone);
	if (x->progress)
		x->progress(x->opaque, NULL);
	NS_INFO("projector.rebuild.progress",
		"events=%lld rate=%.0f/s partitions_done=%d/%d lag=%lld elapsed=%.1fs final=%d",
		(long long)p.events, p.rate, p.parts_done, p.parts, (long long)p.lag, p.elapsed,
		final);
	if (x->progress)
		x->progress(x->opaque, &p);
	x->t_last = now;
	x->ev_last = x->events;
}

/* Handle one polled message or event. Returns 0, or -1 on a fatal consumer error. */
static int take(rb_ctx *x, rd_kafka_message_t *m)
{
	int32_t p = m->partition;
	int keep = 0;

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		/* The end of a partition whose last offsets are not messages (e.g. transaction
		 * markers) counts as reaching the watermark. */
		if (p >= 0 && p < x->np && !x->done[p] && m->offset >= x->hw[p]) {
			x->pos[p] = x->pos[p] > x->hw[p] ? x->pos[p] : x->hw[p];
			check_done(x, p);
		}
	} else if (m->err) {
		NS_WARN("projector.rebuild.consume_error", "err=\"%s\"",
			rd_kafka_message_errstr(m));
		if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
			rd_kafka_message_destroy(m);
			return -1;
		}
	} else if (p >= 0 && p < x->np && !x->done[p] && m->offset < x->hw[p]) {
		proj_batch_add(&x->b, m);
		x->pos[p] = m->offset + 1;
		keep = 1;
		check_done(x, p);
	}
	/* Messages past the captured watermark are left to the live consume loop, which starts
	 * from the offsets stored here. */
	if (!keep)
		rd_kafka_message_destroy(m);
	return 0;
}

/* Fold the topic into the new store. Returns PROJ_REBUILD_SWAPPED when every partition is
 * done (not swapped yet), or STOPPED / FAILED. */
static int replay(rb_ctx *x)
{
	int64_t next_report = ns_time_mono_ms() + RB_PROGRESS_MS;

	while (x->ndone < x->np) {
		rd_kafka_message_t *m;
		int64_t now;

		if (ns_signal_stopping())
			return PROJ_REBUILD_STOPPED;
		m = ns_consumer_poll(x->c, 100);
		if (m && take(x, m))
			return PROJ_REBUILD_FAILED;
		if (x->b.n && (!m || proj_batch_full(&x->b) || x->ndone == x->np) && flush_batch(x))
			return PROJ_REBUILD_STOPPED;
		now = ns_time_mono_ms();
		if (now >= next_report) {
			report(x, 0);
			next_report = now + RB_PROGRESS_MS;
		}
	}
	if (flush_batch(x))
		return PROJ_REBUILD_STOPPED;
	return PROJ_REBUILD_SWAPPED;
}

/* Make the new file self-contained and rename it over the live one (ns_readmodel_swap;
 * see rebuild.h for why in this order). Returns 0 or -1 (logged; the live file is then
 * untouched unless the rename itself happened). */
static int swap_in(rb_ctx *x)
{
	const char *live = x->cfg->db_path;
	char err[1024];
	struct stat st;

	proj_store_close(x->store);
	x->store = NULL;
	if (ns_readmodel_swap(x->path, live, err, sizeof(err)) != NS_READMODEL_OK) {
		NS_ERROR("projector.rebuild.swap", "from=%s to=%s err=\"%s\"", x->path, live, err);
		return -1;
	}
	if (stat(live, &st) == 0)
		NS_INFO("projector.rebuild.swapped", "db=%s inode=%llu events=%lld", live,
			(unsigned long long)st.st_ino, (long long)x->events);
	return 0;
}

int proj_rebuild(const proj_config *cfg, const ns_channels *set, proj_rebuild_progress_fn *progress,
		 void *opaque)
{
	rb_ctx *x = calloc(1, sizeof(*x));
	char err[512];
	int ret = PROJ_REBUILD_FAILED;

	if (!x) {
		NS_ERROR("projector.rebuild.start", "err=\"out of memory\"");
		return PROJ_REBUILD_FAILED;
	}
	x->cfg = cfg;
	x->set = set;
	x->progress = progress;
	x->opaque = opaque;
	x->t_start = x->t_last = ns_time_mono_ms();
	x->m_events = ns_metrics_counter("projector_rebuild_events_total", NULL,
					 "Messages folded into the rebuilt database");
	x->m_lag = ns_metrics_gauge("projector_rebuild_lag", NULL,
				    "Messages left to the watermarks captured at rebuild start");
	x->m_done = ns_metrics_gauge("projector_rebuild_partitions_done", NULL,
				     "Partitions that reached their captured watermark");
	if ((size_t)snprintf(x->path, sizeof(x->path), "%s.rebuild", cfg->db_path) >=
	    sizeof(x->path)) {
		NS_ERROR("projector.rebuild.start", "db=%s err=\"path too long\"", cfg->db_path);
		goto out;
	}
	if (proj_batch_init(&x->b, (size_t)cfg->batch)) {
		NS_ERROR("projector.rebuild.start", "err=\"out of memory\"");
		goto out;
	}
	if (remove_db_files(x->path))
		goto out;
	x->c = ns_consumer_new_assigned("projector-rebuild", err, sizeof(err));
	if (!x->c) {
		NS_ERROR("projector.rebuild.consumer", "err=\"%s\"", err);
		goto out;
	}
	if (capture_watermarks(x)) {
		ret = ns_signal_stopping() ? PROJ_REBUILD_STOPPED : PROJ_REBUILD_FAILED;
		goto out;
	}
	x->store = proj_store_open(x->path, err, sizeof(err));
	if (!x->store) {
		NS_ERROR("projector.rebuild.db", "path=%s err=\"%s\"", x->path, err);
		goto out;
	}
	{
		int64_t total = 0;
		for (int p = 0; p < x->np; p++)
			total += x->hw[p];
		NS_INFO("projector.rebuild.start",
			"topic=%s db=%s tmp=%s partitions=%d watermark_sum=%lld", cfg->topic,
			cfg->db_path, x->path, x->np, (long long)total);
	}
	if (assign_all(x))
		goto out;
	ret = replay(x);
	if (ret != PROJ_REBUILD_SWAPPED)
		goto out;
	report(x, 1);
	ret = swap_in(x) ? PROJ_REBUILD_FAILED : PROJ_REBUILD_SWAPPED;
out:
	proj_batch_free(&x->b);
	ns_consumer_close(x->c);
	proj_store_close(x->store);
	if (ret != PROJ_REBUILD_SWAPPED) {
		(void)remove_db_files(x->path);
		NS_WARN("projector.rebuild.abandoned", "db=%s reason=%s", cfg->db_path,
			ret == PROJ_REBUILD_STOPPED ? "stopped" : "failed");
	}
	free(x);
	return ret;
}
