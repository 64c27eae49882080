/* main.c -- changelog: publishes every applied status change to a compacted topic,
 * exactly once (publisher.h), for other applications and the callback worker. */
#include "ns_config.h"
#include "ns_http.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"
#include "publisher.h"

#include <stdio.h>

static clog_config cfg;
static const char *listen_addr;

static const ns_opt opts[] = {
    NS_OPT_STATUS_TOPIC(&cfg.topic),
    NS_OPT_SCHEMAS_DIR(&cfg.schemas_dir),
    NS_OPT_CHANGELOG_TOPIC(&cfg.changelog),
    {"CHANGELOG_GROUP", "group", NS_OPT_STR, "changelog", 0, 0, "consumer group id", &cfg.group},
    {"CHANGELOG_TRANSACTIONAL_ID", "transactional-id", NS_OPT_STR, "", 0, 0,
     "transactional.id (default: nstatus-changelog-$KAFKA_GROUP_INSTANCE_ID, else "
     "-<host>-<pid>)",
     &cfg.transactional_id},
    {"CHANGELOG_BATCH", "batch", NS_OPT_INT, "1000", 1, 100000,
     "input messages per transaction at most", &cfg.batch},
    {"CHANGELOG_TXN_TIMEOUT_MS", "txn-timeout-ms", NS_OPT_INT, "10000", 1000, 900000,
     "transaction.timeout.ms: how long a dead instance's open transaction holds readers back",
     &cfg.txn_timeout_ms},
    {"CHANGELOG_ADMIN_LISTEN", "admin-listen", NS_OPT_STR, "127.0.0.1:9084", 0, 0,
     "address of /healthz /readyz /metrics", &listen_addr},
};

static const ns_cli cli = {
    "changelog",
    "Folds the status topic into every notification's state and publishes each applied "
    "change to the compacted changelog topic (CHANGELOG_TOPIC), exactly once: records and "
    "input offsets commit in one Kafka transaction. Read it with isolation.level="
    "read_committed. Several instances in one group share the partitions.",
    opts, sizeof(opts) / sizeof(opts[0])};

int main(int argc, char **argv)
{
	char err[512];
	ns_http *http = NULL;
	clog *x = NULL;
	int rc = ns_config_load(&cli, argc, argv, err, sizeof(err));

	if (rc == NS_CONFIG_EXIT)
		return 0;
	if (rc != NS_CONFIG_OK) {
		fprintf(stderr, "changelog: %s\n", err);
		return 2;
	}
	if (ns_signal_install()) {
		fprintf(stderr, "changelog: cannot install signal handlers\n");
		return 1;
	}
	rc = 1;
	x = clog_new(&cfg, err, sizeof(err));
	if (!x) {
		NS_ERROR("changelog.start", "schemas=%s err=\"%s\"", cfg.schemas_dir, err);
		goto out;
	}
	http = ns_http_admin_start(listen_addr, clog_ready, x, err, sizeof(err));
	if (!http) {
		NS_ERROR("changelog.http", "listen=%s err=\"%s\"", listen_addr, err);
		goto out;
	}
	rc = clog_run(x) == 0 ? 0 : 1;
out:
	ns_http_stop(http);
	clog_free(x);
	ns_metrics_reset();
	return rc;
}
