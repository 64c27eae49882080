/* ns_config.h -- configuration declared as a table, read once at start.
 *
 * Each option has an environment variable, a command-line flag, a default and bounds.
 * Flags override the environment; an empty variable counts as unset. --help prints the
 * table; --version prints the build version. LOG_LEVEL (--log-level) is handled for every
 * program and initialises ns_log. Kafka client properties are not here: see ns_kafka.h. */
#ifndef NS_CONFIG_H
#define NS_CONFIG_H

#include <stddef.h>

typedef enum {
	NS_OPT_STR,    /* dst is `const char **`; points at the environment, argv or default */
	NS_OPT_INT,    /* dst is `long *`; checked against [min, max] */
	NS_OPT_BOOL,   /* dst is `long *` (0/1); a bare --flag means 1; accepts 0/1/true/false */
	NS_OPT_FAMILY, /* dst is `ns_opt_family *`: one value per name, see below */
} ns_opt_type;

/* A family of options that share a prefix and differ by a name, such as the sender's
 * per-channel rates SENDER_RATE_SMS=5 (--rate-sms=5). For such an option env and flag are
 * the prefixes ("SENDER_RATE_", "rate-"); every environment variable and flag with the
 * prefix adds (or, for a flag, replaces) one member, named by the rest lowercased, which
 * must be a name (ns_check_name). Values are kept as text for the caller to parse; def
 * must be NULL. */
#define NS_OPT_FAMILY_MAX 32

typedef struct {
	size_t n;
	struct {
		char name[33];
		const char *value; /* points at the environment or argv */
	} m[NS_OPT_FAMILY_MAX];
} ns_opt_family;

typedef struct {
	const char *env;  /* environment variable, e.g. "INGEST_PORT" */
	const char *flag; /* long flag without dashes, e.g. "port" */
	ns_opt_type type;
	const char *def; /* default, as text; NULL means unset (STR only) */
	long min, max;	 /* bounds for NS_OPT_INT */
	const char *help;
	void *dst;
} ns_opt;

typedef struct {
	const char *prog;    /* program name, also the log's svc= */
	const char *summary; /* one paragraph for --help */
	const ns_opt *opts;
	size_t nopts;
} ns_cli;

#define NS_CONFIG_OK   0
#define NS_CONFIG_EXIT 1 /* --help or --version was printed: exit 0 */
#define NS_CONFIG_ERR  -1

/* Options several programs share, spelt the same everywhere: use these in a table. */
#define NS_OPT_STATUS_TOPIC(dst)                                                                   \
	{                                                                                          \
		"STATUS_TOPIC", "topic", NS_OPT_STR, "notification.status.change", 0, 0,           \
		    "the status topic: every request, outcome and webhook event", (dst)            \
	}
#define NS_OPT_SCHEMAS_DIR(dst)                                                                    \
	{                                                                                          \
		"SCHEMAS_DIR", "schemas-dir", NS_OPT_STR, "schemas/channels", 0, 0,                \
		    "folder of channel definitions (*.json)", (dst)                                \
	}
#define NS_OPT_CHANGELOG_TOPIC(dst)                                                                \
	{                                                                                          \
		"CHANGELOG_TOPIC", "changelog-topic", NS_OPT_STR, "notification.status", 0, 0,     \
		    "the changelog topic: every applied change, compacted", (dst)                  \
	}
#define NS_OPT_CALLBACKS_ALLOW_PRIVATE(dst)                                                        \
	{                                                                                          \
		"CALLBACKS_ALLOW_PRIVATE", "callbacks-allow-private", NS_OPT_BOOL, "0", 0, 1,      \
		    "allow callback URLs to loopback, private and link-local destinations (local " \
		    "runs and tests only)",                                                        \
		    (dst)                                                                          \
	}
#define NS_OPT_DLQ_TOPIC(dst)                                                                      \
	{                                                                                          \
		"DLQ_TOPIC", "dlq-topic", NS_OPT_STR, "", 0, 0,                                    \
		    "dead-letter topic (default: STATUS_TOPIC.dlq)", (dst)                         \
	}

#define NS_OPT_API_KEYS_FILE(dst)                                                                  \
	{                                                                                          \
		"API_KEYS_FILE", "api-keys-file", NS_OPT_STR, NULL, 0, 0,                          \
		    "API keys (key-id tenant scopes sha256), re-read on SIGHUP; see `apikey`",     \
		    (dst)                                                                          \
	}
#define NS_OPT_INSECURE_DEV(dst)                                                                   \
	{                                                                                          \
		"INSECURE_DEV", "insecure-dev", NS_OPT_BOOL, "0", 0, 1,                            \
		    "development only: run without API keys (every caller is tenant dev) and, "    \
		    "for ingest, "                                                                 \
		    "without webhook signatures",                                                  \
		    (dst)                                                                          \
	}

/* Fill every option's dst from flags, environment and defaults, in that order of priority.
 * Returns NS_CONFIG_OK, NS_CONFIG_EXIT, or NS_CONFIG_ERR with a message in err. */
int ns_config_load(const ns_cli *cli, int argc, char **argv, char *err, size_t errlen);

/* Print the --help text of cli to stdout. */
void ns_config_usage(const ns_cli *cli);

#endif
