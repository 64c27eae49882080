/* ns_kafka_conf.c -- Kafka client configuration: KAFKA_* environment variables become
 * librdkafka properties, librdkafka's own log goes to ns_log, and the properties the design
 * relies on (idempotence and acks=all for producers, manual offsets for consumers) are
 * set and protected from contradicting environment values. */
#include "ns_kafka.h"
#include "ns_kafka_internal.h"
#include "ns_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

extern char **environ;

#define NS_KAFKA_DEFAULT_BOOTSTRAP "127.0.0.1:9092"
#define NS_KAFKA_PROP_MAX	   256

/* ---- configuration ---------------------------------------------------------------- */

/* librdkafka's own log lines, on whichever librdkafka thread logged. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	ns_log_level lvl = NS_LOG_DEBUG;
	char q[1024], qf[64];

	if (level <= 3)
		lvl = NS_LOG_ERROR;
	else if (level == 4)
		lvl = NS_LOG_WARN;
	else if (level <= 6)
		lvl = NS_LOG_INFO;
	NS_LOG(lvl, "kafka.log", "client=%s fac=%s msg=%s", rk ? rd_kafka_name(rk) : "-",
	       ns_log_quote(fac, qf, sizeof(qf)), ns_log_quote(buf, q, sizeof(q)));
}

/* Turn "KAFKA_LINGER_MS" into "linger.ms". Returns 0, or -1 when the name is too long. */
static int env_to_prop(const char *name, size_t namelen, char *out, size_t outlen)
{
	size_t i;

	if (namelen + 1 > outlen)
		return -1;
	for (i = 0; i < namelen; i++) {
		char c = name[i];
		if (c == '_')
			c = '.';
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = c;
	}
	out[namelen] = '\0';
	return 0;
}

int ns_kafka_conf_from_env(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
	char prop[NS_KAFKA_PROP_MAX], rderr[512];
	char **e;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", NS_KAFKA_DEFAULT_BOOTSTRAP, rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "bootstrap.servers: %s", rderr);
		return -1;
	}
	for (e = environ; e && *e; e++) {
		const char *kv = *e, *eq;
		rd_kafka_conf_res_t res;

		if (strncmp(kv, "KAFKA_", 6) != 0)
			continue;
		eq = strchr(kv, '=');
		if (!eq || eq == kv + 6 || eq[1] == '\0')
			continue; /* empty variables count as unset */
		if (env_to_prop(kv + 6, (size_t)(eq - kv - 6), prop, sizeof(prop)) != 0) {
			snprintf(err, errlen, "%.*s: name too long", (int)(eq - kv), kv);
			return -1;
		}
		if (strcmp(prop, "group.instance.id") == 0)
			continue; /* the group consumer's alone: ns_consumer_new sets it */
		res = rd_kafka_conf_set(conf, prop, eq + 1, rderr, sizeof(rderr));
		if (res == RD_KAFKA_CONF_UNKNOWN) {
			/* KAFKA_HOME, KAFKA_HEAP_OPTS ... belong to other tools. */
			NS_DEBUG("kafka.conf.skip", "var=%.*s reason=unknown_property",
				 (int)(eq - kv), kv);
			continue;
		}
		if (res != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%.*s: %s", (int)(eq - kv), kv, rderr);
			return -1;
		}
	}
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	return 0;
}

const char *ns_kafka_bootstrap(void)
{
	const char *bs = getenv("KAFKA_BOOTSTRAP_SERVERS");
	return bs && bs[0] ? bs : NS_KAFKA_DEFAULT_BOOTSTRAP;
}

/* A property the design requires: refuse an environment value that contradicts it. */
typedef struct {
	const char *var;    /* environment variable */
	const char *prop;   /* librdkafka property */
	const char *value;  /* value we set */
	const char *value2; /* another spelling of the same value, or NULL */
} locked_prop;

static const locked_prop producer_locked_props[] = {
    {"KAFKA_ENABLE_IDEMPOTENCE", "enable.idempotence", "true", NULL},
    {"KAFKA_ACKS", "acks", "all", "-1"},
};

static const locked_prop consumer_locked_props[] = {
    {"KAFKA_ENABLE_AUTO_COMMIT", "enable.auto.commit", "false", NULL},
    {"KAFKA_ENABLE_AUTO_OFFSET_STORE", "enable.auto.offset.store", "false", NULL},
};

/* Check the environment against locked, then set every locked property. Returns 0 or -1. */
static int apply_locked(rd_kafka_conf_t *conf, const locked_prop *lp, size_t n, char *err,
			size_t errlen)
{
	char rderr[512];
	size_t i;

	for (i = 0; i < n; i++) {
		const char *v = getenv(lp[i].var);
		if (v && v[0] && strcasecmp(v, lp[i].value) != 0 &&
		    !(lp[i].value2 && strcasecmp(v, lp[i].value2) == 0)) {
			snprintf(err, errlen, "%s=%s refused: the service needs %s=%s", lp[i].var,
				 v, lp[i].prop, lp[i].value);
			return -1;
		}
		if (rd_kafka_conf_set(conf, lp[i].prop, lp[i].value, rderr, sizeof(rderr)) !=
		    RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%s: %s", lp[i].prop, rderr);
			return -1;
		}
	}
	return 0;
}

int ns_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
		      size_t errlen)
{
	char rderr[512];

	if (rd_kafka_conf_set(conf, name, value, rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "%s: %s", name, rderr);
		return -1;
	}
	return 0;
}

int ns_kafka_conf_lock(rd_kafka_conf_t *conf, ns_kafka_role role, char *err, size_t errlen)
{
	if (role == NS_KAFKA_PRODUCER)
		return apply_locked(
		    conf, producer_locked_props,
		    sizeof(producer_locked_props) / sizeof(producer_locked_props[0]), err, errlen);
	return apply_locked(conf, consumer_locked_props,
			    sizeof(consumer_locked_props) / sizeof(consumer_locked_props[0]), err,
			    errlen);
}

/* Client errors of producers and consumers alike: on a librdkafka thread, or inside
 * rd_kafka_poll / rd_kafka_consumer_poll. */
static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	ns_kafka_client *cl = opaque;
	char q[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char fe[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fe, sizeof(fe));
		atomic_store(&cl->fatal, 1);
		NS_ERROR("kafka.fatal", "client=%s err=%s reason=%s", rd_kafka_name(rk),
			 rd_kafka_err2name(orig), ns_log_quote(fe, q, sizeof(q)));
		return;
	}
	NS_WARN("kafka.error", "client=%s err=%s reason=%s", rd_kafka_name(rk),
		rd_kafka_err2name((rd_kafka_resp_err_t)err), ns_log_quote(reason, q, sizeof(q)));
}

void ns_kafka_conf_errors(rd_kafka_conf_t *conf, ns_kafka_client *cl)
{
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_opaque(conf, cl);
}
