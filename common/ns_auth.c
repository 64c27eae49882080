/* ns_auth.c -- API key checks of requests (see ns_auth.h). */
#include "ns_auth.h"

#include "ns_http.h"
#include "ns_log.h"
#include "ns_metrics.h"

#include <stdio.h>
#include <string.h>

#define CHALLENGE "WWW-Authenticate: Bearer realm=\"nstatus\"\r\n"

int ns_auth_check(const ns_auth *a, struct mg_connection *conn, unsigned scope,
		  ns_key_identity *who)
{
	char detail[160], need[64];
	ns_key_result r;

	if (!a->ring) {
		snprintf(who->id, sizeof(who->id), "insecure");
		snprintf(who->tenant, sizeof(who->tenant), "%s", NS_AUTH_DEV_TENANT);
		who->scopes = NS_SCOPE_SEND | NS_SCOPE_READ | NS_SCOPE_READ_PII;
		return 0;
	}
	r = ns_keyring_check(a->ring, mg_get_header(conn, "Authorization"), who);
	if (r != NS_KEY_OK)
		return ns_http_send_problem_hdrs(conn, 401, "Unauthorized", ns_key_reason(r), NULL,
						 CHALLENGE);
	if ((who->scopes & scope) != scope) {
		snprintf(detail, sizeof(detail), "key %s lacks the scope %s for this request",
			 who->id, ns_scopes_format(scope, need, sizeof(need)));
		return ns_http_send_problem(conn, 403, "Forbidden", detail, NULL);
	}
	return 0;
}

int ns_auth_open(ns_auth *a, const char *keys_file, int insecure, char *err, size_t errlen)
{
	a->ring = NULL;
	if (!keys_file || !keys_file[0]) {
		if (!insecure) {
			snprintf(err, errlen,
				 "no API_KEYS_FILE: refusing to start without API keys (create one "
				 "with `apikey new`, or pass --insecure-dev for development)");
			return -1;
		}
		NS_WARN("auth.insecure",
			"msg=\"INSECURE DEVELOPMENT MODE: no API keys, every "
			"caller is tenant %s with every scope\"",
			NS_AUTH_DEV_TENANT);
		return 0;
	}
	a->ring = ns_keyring_open(keys_file, err, errlen);
	if (!a->ring)
		return -1;
	a->keys = ns_metrics_gauge("auth_keys", NULL, "API keys in use");
	a->reload_ok = ns_metrics_counter("auth_reloads_total", "result=\"ok\"",
					  "Re-reads of the API key file (SIGHUP), by result");
	a->reload_failed = ns_metrics_counter("auth_reloads_total", "result=\"failed\"",
					      "Re-reads of the API key file (SIGHUP), by result");
	ns_gauge_set(a->keys, (int64_t)ns_keyring_count(a->ring));
	NS_INFO("auth.keys", "file=%s keys=%zu", keys_file, ns_keyring_count(a->ring));
	return 0;
}

void ns_auth_reload(ns_auth *a)
{
	char err[512];
	int n;

	if (!a->ring)
		return;
	n = ns_keyring_reload(a->ring, err, sizeof(err));
	if (n < 0) {
		ns_counter_add(a->reload_failed, 1);
		NS_ERROR("auth.reload", "err=\"%s\" msg=\"the previous keys stay in use\"", err);
	} else {
		ns_counter_add(a->reload_ok, 1);
		ns_gauge_set(a->keys, n);
		NS_INFO("auth.reload", "keys=%d", n);
	}
}

const char *ns_auth_warning(const ns_auth *a)
{
	return a->ring ? NULL : "insecure development mode: no API keys";
}

void ns_auth_close(ns_auth *a)
{
	ns_keyring_free(a->ring);
	a->ring = NULL;
}
