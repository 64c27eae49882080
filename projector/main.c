/* main.c -- projector: folds notification.status.change into the SQLite read model.
 * With --dump, prints a canonical dump of PROJECTOR_DB instead and exits. */
#include "ns_config.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"
#include "projector.h"
#include "store.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	proj_config cfg = {0};
	const char *listen = NULL;
	long dump = 0;
	char err[512];
	int rc;
	const ns_opt opts[] = {
	    {"PROJECTOR_DB", "db", NS_OPT_STR, "./nstatus.db", 0, 0, "SQLite read model file",
	     &cfg.db_path},
	    {"STATUS_TOPIC", "topic", NS_OPT_STR, "notification.status.change", 0, 0,
	     "status topic to fold", &cfg.topic},
	    {"DLQ_TOPIC", "dlq-topic", NS_OPT_STR, "", 0, 0,
	     "dead-letter topic (default: STATUS_TOPIC.dlq)", &cfg.dlq_topic},
	    {"SCHEMAS_DIR", "schemas", NS_OPT_STR, "schemas/channels", 0, 0,
	     "channel state machines folder", &cfg.schemas_dir},
	    {"PROJECTOR_GROUP", "group", NS_OPT_STR, "projector", 0, 0, "consumer group id",
	     &cfg.group},
	    {"PROJECTOR_LISTEN", "listen", NS_OPT_STR, "0.0.0.0:8082", 0, 0,
	     "address of /healthz /readyz /metrics", &listen},
	    {"PROJECTOR_BATCH", "batch", NS_OPT_INT, "1000", 1, 100000,
	     "messages per SQLite transaction at most", &cfg.batch},
	    {"PROJECTOR_BATCH_MS", "batch-ms", NS_OPT_INT, "50", 0, 60000,
	     "longest wait in ms to fill a batch", &cfg.batch_ms},
	    {"PROJECTOR_DUMP", "dump", NS_OPT_BOOL, "0", 0, 1,
	     "print a canonical dump of the database and exit", &dump},
	};
	const ns_cli cli = {"projector",
			    "Consumes the status topic and folds every event into the SQLite read "
			    "model, storing offsets in the same transactions (exactly once in "
			    "effect).",
			    opts, sizeof(opts) / sizeof(opts[0])};

	rc = ns_config_load(&cli, argc, argv, err, sizeof(err));
	if (rc == NS_CONFIG_EXIT)
		return 0;
	if (rc != NS_CONFIG_OK) {
		fprintf(stderr, "projector: %s\n", err);
		return 2;
	}
	if (dump) {
		if (proj_store_dump(cfg.db_path, stdout, err, sizeof(err))) {
			fprintf(stderr, "projector: %s\n", err);
			return 1;
		}
		return fflush(stdout) == 0 ? 0 : 1;
	}
	cfg.listen = listen;
	if (ns_signal_install()) {
		fprintf(stderr, "projector: cannot install signal handlers\n");
		return 1;
	}
	rc = proj_run(&cfg);
	ns_metrics_reset();
	return rc == 0 ? 0 : 1;
}
