/* main.c -- projector: folds notification.status.change into the SQLite read model.
 * With --dump, prints a canonical dump of PROJECTOR_DB instead and exits. With --rebuild,
 * rebuilds PROJECTOR_DB from the log first (rebuild.h), showing progress on a terminal. */
#include "ns_config.h"
#include "ns_http.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_readmodel.h"
#include "ns_signal.h"
#include "projector.h"
#include "rebuild.h"

#include <stdio.h>
#include <unistd.h>

/* --rebuild progress as one updating line on a terminal: cleared before each log line
 * (p NULL), redrawn after it, ended with a newline on the final report. */
static void tty_progress(void *opaque, const proj_rebuild_progress *p)
{
	(void)opaque;
	if (!p) {
		fputs("\r\033[K", stderr);
	} else {
		fprintf(stderr,
			"\rrebuild: %lld events  %.0f/s  partitions %d/%d  lag %lld  %.0fs%s",
			(long long)p->events, p->rate, p->parts_done, p->parts, (long long)p->lag,
			p->elapsed, p->final ? "  done\n" : "");
	}
	fflush(stderr);
}

static proj_config cfg;
static const char *listen_addr;
static long dump, rebuild;

static const ns_opt opts[] = {
    {"PROJECTOR_DB", "db", NS_OPT_STR, "./nstatus.db", 0, 0, "SQLite read model file",
     &cfg.db_path},
    NS_OPT_STATUS_TOPIC(&cfg.topic),
    NS_OPT_DLQ_TOPIC(&cfg.dlq_topic),
    NS_OPT_SCHEMAS_DIR(&cfg.schemas_dir),
    {"PROJECTOR_GROUP", "group", NS_OPT_STR, "projector", 0, 0, "consumer group id", &cfg.group},
    {"PROJECTOR_ADMIN_LISTEN", "admin-listen", NS_OPT_STR, "127.0.0.1:9082", 0, 0,
     "address of /healthz /readyz /metrics", &listen_addr},
    {"PROJECTOR_BATCH", "batch", NS_OPT_INT, "1000", 1, 100000,
     "messages per SQLite transaction at most", &cfg.batch},
    {"PROJECTOR_BATCH_MS", "batch-ms", NS_OPT_INT, "0", 0, 60000,
     "how long a batch waits for more messages (0: commit as soon as none is waiting)",
     &cfg.batch_ms},
    {"PROJECTOR_CHECKPOINT_MS", "checkpoint-ms", NS_OPT_INT, "1000", 0, 3600000,
     "WAL checkpoints on their own thread at least this often, and whenever the WAL passes "
     "1000 pages (0: SQLite's own, inside the commit)",
     &cfg.checkpoint_ms},
    {"PROJECTOR_DUMP", "dump", NS_OPT_BOOL, "0", 0, 1,
     "print a canonical dump of the database and exit", &dump},
    {"PROJECTOR_REBUILD", "rebuild", NS_OPT_BOOL, "0", 0, 1,
     "rebuild the database from the whole topic, swap it in, then run normally", &rebuild},
};

static const ns_cli cli = {"projector",
			   "Consumes the status topic and folds every event into the SQLite read "
			   "model, storing offsets in the same transactions (exactly once in "
			   "effect).\n\n"
			   "Rebuild: --rebuild replays the whole topic from the earliest offsets "
			   "into PROJECTOR_DB.rebuild (with a consumer outside the group), up to "
			   "the high watermarks seen at start, then renames it over PROJECTOR_DB "
			   "atomically and goes on as the live projector from there. Replace the "
			   "running projector of this database with `projector --rebuild`: no "
			   "other writer may use the file meanwhile. query keeps serving the old "
			   "file until the swap and reopens the new one when it sees it. Progress "
			   "(events/s, partitions done, lag) is logged every second and shown on "
			   "a terminal.",
			   opts, sizeof(opts) / sizeof(opts[0])};

/* --dump: print the canonical dump of the database. Returns the exit code. */
static int dump_db(void)
{
	char err[512];

	if (ns_readmodel_dump(cfg.db_path, stdout, err, sizeof(err))) {
		fprintf(stderr, "projector: %s\n", err);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	char err[512];
	ns_http *http = NULL;
	proj *x = NULL;
	int rc;

	rc = ns_config_load(&cli, argc, argv, err, sizeof(err));
	if (rc == NS_CONFIG_EXIT)
		return 0;
	if (rc != NS_CONFIG_OK) {
		fprintf(stderr, "projector: %s\n", err);
		return 2;
	}
	if (dump)
		return dump_db();
	cfg.rebuild = rebuild;
	if (rebuild && isatty(STDERR_FILENO))
		cfg.rebuild_progress = tty_progress;
	if (ns_signal_install()) {
		fprintf(stderr, "projector: cannot install signal handlers\n");
		return 1;
	}
	rc = 1;
	x = proj_new(&cfg, err, sizeof(err));
	if (!x) {
		NS_ERROR("projector.start", "schemas=%s err=\"%s\"", cfg.schemas_dir, err);
		goto out;
	}
	http = ns_http_admin_start(listen_addr, proj_ready, x, err, sizeof(err));
	if (!http) {
		NS_ERROR("projector.http", "listen=%s err=\"%s\"", listen_addr, err);
		goto out;
	}
	rc = proj_run(x) == 0 ? 0 : 1;
out:
	ns_http_stop(http);
	proj_free(x);
	ns_metrics_reset();
	return rc;
}
