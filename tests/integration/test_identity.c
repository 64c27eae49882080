/* test_identity.c -- who may do what, against the real daemons and broker.
 *
 * Each 401 and 403 path with its problem body; a read of another tenant's notification is
 * a 404 exactly like an unknown one; the same externalId in two tenants is two
 * notifications that each reach the provider once; a forged, unsigned, stale or malformed
 * webhook is refused and changes nothing; during a rotation a webhook signed with the old
 * secret and one signed with the new are both accepted; SIGHUP re-reads the key file,
 * adding and removing keys while requests are in flight; recipients and bodies appear only
 * for keys with read:pii; and neither ever appears in a log or in /metrics. */
#include "nt.h"
#include "nt_system.h"

#include "ns_sign.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OLD_SECRET "identity-old-secret-0123456789"
#define NEW_SECRET "identity-new-secret-9876543210"
#define RECIPIENT  "+4915199887766"
#define BODY_TEXT  "the secret code is 7421"

static nt_system sys;
static const char *keys_file;
/* keys: acme sends and reads (no pii); acme-pii reads with pii; globex sends and reads;
 * acme-readonly only reads; globex-sendonly only sends */
static char k_acme[128], k_acme_pii[128], k_globex[128], k_readonly[128], k_sendonly[128];

/* Run apikey to add a key to the key file; its token into out. */
static void new_key(const char *tenant, const char *scopes, const char *id, char *out, size_t n)
{
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s --tenant %s --scopes %s --id %s --file %s", nt_bin("apikey"),
		 tenant, scopes, id, keys_file);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, (int)n, p));
	out[strcspn(out, "\n")] = '\0';
	ck_assert_int_eq(pclose(p), 0);
}

static void setup(void)
{
	keys_file = nt_fmt("%s/keys", nt_tmpdir("identity-keys"));
	new_key("acme", "send,read", "k-acme", k_acme, sizeof(k_acme));
	new_key("acme", "read,read:pii", "k-acme-pii", k_acme_pii, sizeof(k_acme_pii));
	new_key("globex", "send,read", "k-globex", k_globex, sizeof(k_globex));
	new_key("acme", "read", "k-readonly", k_readonly, sizeof(k_readonly));
	new_key("globex", "send", "k-sendonly", k_sendonly, sizeof(k_sendonly));
	nt_system_init(&sys, "identity", 3);
	for (int d = 0; d < NT_DAEMONS; d++)
		nt_system_setenv(&sys, (nt_daemon)d, nt_fmt("API_KEYS_FILE=%s", keys_file));
	/* rotation under way: ingest holds both secrets, the simulator signs with the new */
	nt_system_setenv(&sys, NT_INGEST, "WEBHOOK_SECRET=" NEW_SECRET);
	nt_system_setenv(&sys, NT_INGEST, "WEBHOOK_SECRET_PREVIOUS=" OLD_SECRET);
	nt_system_setenv(&sys, NT_SIM, "SIM_WEBHOOK_SECRET=" NEW_SECRET);
	nt_system_setenv(&sys, NT_SIM, "SIM_REJECT_PERCENT=0");
	nt_system_setenv(&sys, NT_SIM, "SIM_DUPLICATE_PERCENT=0");
	nt_system_up(&sys, NT_ALL | NT_BIT(NT_CHANGELOG) | NT_BIT(NT_CALLBACKS));
}

static void teardown(void)
{
	nt_system_down(&sys);
}

static long post_as(const char *key, const char *id, const char *to, char **resp)
{
	return nt_http_as(
	    key, "POST", nt_fmt("%s/notifications", nt_system_url(&sys, NT_INGEST, 0)), NULL,
	    nt_fmt("{\"externalId\":\"%s\",\"channel\":\"sms\",\"to\":\"%s\",\"body\":"
		   "\"%s\"}",
		   id, to, BODY_TEXT),
	    resp);
}

static long get_as(const char *key, const char *path, json_t **out)
{
	char *resp = NULL;
	long st = nt_http_as(key, "GET", nt_fmt("%s%s", nt_system_url(&sys, NT_QUERY, 0), path),
			     NULL, NULL, &resp);

	if (out)
		*out = resp ? json_loads(resp, 0, NULL) : NULL;
	free(resp);
	return st;
}

/* A webhook POST carrying exactly the given signature header value (NULL: none). */
static long webhook(const char *body, const char *signature, char **resp)
{
	const char *hdrs[] = {signature ? nt_fmt("%s: %s", NS_SIGN_HEADER, signature) : NULL, NULL};
	nt_req q = {.method = "POST",
		    .url = nt_fmt("%s/webhooks", nt_system_url(&sys, NT_INGEST, 0)),
		    .body = body,
		    .headers = hdrs,
		    .unsigned_webhook = 1};

	return nt_http_req(&q, resp);
}

/* ---- keys ---------------------------------------------------------------------------- */

static void assert_problem(const char *resp, int status, const char *words)
{
	json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;

	ck_assert_msg(j != NULL, "not JSON: %s", resp);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), status);
	ck_assert_msg(strstr(json_string_value(json_object_get(j, "detail")), words), "%s", resp);
	json_decref(j);
}

START_TEST(test_401_and_403)
{
	char *resp = NULL;

	/* ingest */
	ck_assert_int_eq(post_as(NULL, "no-key", RECIPIENT, &resp), 401);
	assert_problem(resp, 401, "API key is required");
	free(resp);
	ck_assert_int_eq(post_as("k-acme.wrongsecret", "bad-key", RECIPIENT, &resp), 401);
	assert_problem(resp, 401, "unknown API key");
	free(resp);
	ck_assert_int_eq(post_as("garbage", "bad-form", RECIPIENT, &resp), 401);
	assert_problem(resp, 401, "Bearer");
	free(resp);
	ck_assert_int_eq(post_as(k_readonly, "no-send", RECIPIENT, &resp), 403);
	assert_problem(resp, 403, "send");
	free(resp);
	/* query */
	ck_assert_int_eq(get_as(NULL, "/notifications", NULL), 401);
	ck_assert_int_eq(get_as("k-nobody.xyz", "/notifications", NULL), 401);
	ck_assert_int_eq(nt_http_as(k_sendonly, "GET",
				    nt_fmt("%s/notifications", nt_system_url(&sys, NT_QUERY, 0)),
				    NULL, NULL, &resp),
			 403);
	assert_problem(resp, 403, "read");
	free(resp);
	/* probes need no key */
	ck_assert_int_eq(nt_http_as(NULL, "GET",
				    nt_fmt("%s/readyz", nt_system_url(&sys, NT_QUERY, 1)), NULL,
				    NULL, NULL),
			 200);
	ck_assert_int_eq(nt_http_as(NULL, "GET",
				    nt_fmt("%s/metrics", nt_system_url(&sys, NT_INGEST, 1)), NULL,
				    NULL, NULL),
			 200);
}
END_TEST

/* ---- tenants ------------------------------------------------------------------------- */

typedef struct {
	const char *key, *id;
} who_id;

static int visible_to(void *arg)
{
	who_id *w = arg;
	return get_as(w->key, nt_fmt("/notifications/%s", w->id), NULL) == 200;
}

static int sent_once(void *arg)
{
	json_t *j = NULL;
	char *resp = NULL;
	int ok = nt_http_as(NULL, "GET",
			    nt_fmt("%s/report/%s", nt_system_url(&sys, NT_SIM, 0), (char *)arg),
			    NULL, NULL, &resp) == 200;

	j = resp ? json_loads(resp, 0, NULL) : NULL;
	ok = ok && j && json_integer_value(json_object_get(j, "sends")) == 1;
	json_decref(j);
	free(resp);
	return ok;
}

START_TEST(test_tenants_apart)
{
	char id[64], *resp = NULL;
	who_id a, g;
	json_t *j;

	snprintf(id, sizeof(id), "same-%d", (int)getpid());
	ck_assert_int_eq(post_as(k_acme, id, RECIPIENT, &resp), 202);
	free(resp);
	ck_assert_int_eq(post_as(k_globex, id, "+4915100001111", &resp), 202);
	free(resp);
	a = (who_id){k_acme, id};
	g = (who_id){k_globex, id};
	ck_assert_int_eq(nt_eventually(visible_to, &a, 30000), 0);
	ck_assert_int_eq(nt_eventually(visible_to, &g, 30000), 0);
	/* each reached the provider once, under its own reference */
	ck_assert_int_eq(nt_eventually(sent_once, nt_fmt("acme:%s", id), 30000), 0);
	ck_assert_int_eq(nt_eventually(sent_once, nt_fmt("globex:%s", id), 30000), 0);
	/* each tenant sees its own */
	ck_assert_int_eq(get_as(k_acme_pii, nt_fmt("/notifications/%s", id), &j), 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "to")), RECIPIENT);
	json_decref(j);
	/* another tenant's notification is exactly an unknown one */
	{
		char *r1 = NULL, *r2 = NULL;
		const char *other = nt_fmt("only-acme-%d", (int)getpid());
		ck_assert_int_eq(post_as(k_acme, other, RECIPIENT, &resp), 202);
		free(resp);
		a.id = other;
		ck_assert_int_eq(nt_eventually(visible_to, &a, 30000), 0);
		ck_assert_int_eq(nt_http_as(k_globex, "GET",
					    nt_fmt("%s/notifications/%s",
						   nt_system_url(&sys, NT_QUERY, 0), other),
					    NULL, NULL, &r1),
				 404);
		ck_assert_int_eq(nt_http_as(k_globex, "GET",
					    nt_fmt("%s/notifications/%s/events",
						   nt_system_url(&sys, NT_QUERY, 0), other),
					    NULL, NULL, NULL),
				 404);
		ck_assert_int_eq(nt_http_as(k_globex, "GET",
					    nt_fmt("%s/notifications/never-%s",
						   nt_system_url(&sys, NT_QUERY, 0), other),
					    NULL, NULL, &r2),
				 404);
		/* the same body but for the id it names */
		ck_assert_ptr_nonnull(strstr(r1, other));
		free(r1);
		free(r2);
		ck_assert_int_eq(get_as(k_globex, "/notifications?limit=500", &j), 200);
		r1 = json_dumps(j, 0);
		ck_assert_ptr_nonnull(r1);
		ck_assert_ptr_null(strstr(r1, other));
		free(r1);
		json_decref(j);
	}
}
END_TEST

/* ---- signed webhooks ----------------------------------------------------------------- */

START_TEST(test_webhooks_signed)
{
	char id[64], body[256], sig[NS_SIGN_VALUE_LEN + 1], *resp = NULL;
	int64_t now = (int64_t)time(NULL);
	who_id a;

	snprintf(id, sizeof(id), "hook-%d", (int)getpid());
	ck_assert_int_eq(post_as(k_acme, id, RECIPIENT, &resp), 202);
	free(resp);
	a = (who_id){k_acme, id};
	ck_assert_int_eq(nt_eventually(visible_to, &a, 30000), 0);
	snprintf(body, sizeof(body),
		 "{\"externalId\":\"acme:%s\",\"event\":\"rejected\",\"timestamp\":"
		 "\"2025-03-01T12:00:00.000Z\"}",
		 id);
	/* unsigned, forged, malformed, stale: all 401, saying which */
	ck_assert_int_eq(webhook(body, NULL, &resp), 401);
	assert_problem(resp, 401, "missing");
	free(resp);
	ck_assert_int_eq(
	    ns_sign_value("not-the-secret-at-all", now, body, strlen(body), sig, sizeof(sig)), 0);
	ck_assert_int_eq(webhook(body, sig, &resp), 401);
	assert_problem(resp, 401, "does not match");
	free(resp);
	ck_assert_int_eq(webhook(body, "v1=abc", &resp), 401);
	assert_problem(resp, 401, "is not t=");
	free(resp);
	ck_assert_int_eq(
	    ns_sign_value(NEW_SECRET, now - 3600, body, strlen(body), sig, sizeof(sig)), 0);
	ck_assert_int_eq(webhook(body, sig, &resp), 401);
	assert_problem(resp, 401, "tolerance");
	free(resp);
	/* signed right, but over another body than the one sent */
	ck_assert_int_eq(ns_sign_value(NEW_SECRET, now, "{}", 2, sig, sizeof(sig)), 0);
	ck_assert_int_eq(webhook(body, sig, &resp), 401);
	free(resp);
	/* none of them changed anything: the forged `rejected` never reached the log, and the
	 * real path (processing, sent, delivered) applies in full */
	for (int tries = 0; tries < 400; tries++) {
		json_t *j = NULL;
		int done = 0;
		if (get_as(k_acme, nt_fmt("/notifications/%s", id), &j) == 200)
			done =
			    !strcmp(json_string_value(json_object_get(j, "status")), "delivered");
		json_decref(j);
		if (done)
			break;
		ck_assert_int_lt(tries, 399);
		usleep(100 * 1000);
	}
	{
		json_t *j = NULL, *evs;
		ck_assert_int_eq(get_as(k_acme, nt_fmt("/notifications/%s/events", id), &j), 200);
		evs = json_object_get(j, "events");
		for (size_t i = 0; i < json_array_size(evs); i++) {
			const char *st =
			    json_string_value(json_object_get(json_array_get(evs, i), "status"));
			ck_assert_msg(!st || strcmp(st, "rejected"), "a forged webhook was folded");
		}
		json_decref(j);
	}
}
END_TEST

/* Both secrets of a rotation are accepted while both are configured. */
START_TEST(test_rotation)
{
	const char *secrets[] = {OLD_SECRET, NEW_SECRET};
	char body[256], sig[NS_SIGN_VALUE_LEN + 1], *resp = NULL;

	for (int i = 0; i < 2; i++) {
		snprintf(body, sizeof(body),
			 "{\"externalId\":\"acme:rot-%d-%d\",\"event\":\"sent\",\"timestamp\":"
			 "\"2025-03-01T12:00:00.000Z\"}",
			 (int)getpid(), i);
		ck_assert_int_eq(ns_sign_value(secrets[i], (int64_t)time(NULL), body, strlen(body),
					       sig, sizeof(sig)),
				 0);
		ck_assert_int_eq(webhook(body, sig, &resp), 202);
		free(resp);
	}
}
END_TEST

/* ---- reload -------------------------------------------------------------------------- */

typedef struct {
	atomic_int stop, ok, other;
} hammer;

static void *hammer_main(void *arg)
{
	hammer *h = arg;

	while (!atomic_load(&h->stop)) {
		long st = get_as(k_acme, "/notifications?limit=1", NULL);
		atomic_fetch_add(st == 200 ? &h->ok : &h->other, 1);
	}
	return NULL;
}

static int key_works(void *arg)
{
	return get_as((const char *)arg, "/notifications?limit=1", NULL) == 200;
}

static int key_refused(void *arg)
{
	return get_as((const char *)arg, "/notifications?limit=1", NULL) == 401;
}

START_TEST(test_sighup_reload)
{
	char fresh[128];
	hammer h = {0};
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer_main, &h), 0);
	/* add a key: refused until the reload, accepted after */
	new_key("acme", "read", "k-fresh", fresh, sizeof(fresh));
	ck_assert_int_eq(get_as(fresh, "/notifications?limit=1", NULL), 401);
	kill(sys.pid[NT_QUERY], SIGHUP);
	ck_assert_int_eq(nt_eventually(key_works, fresh, 10000), 0);
	/* remove it again (rewrite the file without its line) */
	{
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "sed -i '/^k-fresh /d' %s", keys_file);
		ck_assert_int_eq(system(cmd), 0);
	}
	kill(sys.pid[NT_QUERY], SIGHUP);
	ck_assert_int_eq(nt_eventually(key_refused, fresh, 10000), 0);
	atomic_store(&h.stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* the requests in flight throughout were all served with the key that stayed */
	ck_assert_int_gt(atomic_load(&h.ok), 0);
	ck_assert_int_eq(atomic_load(&h.other), 0);
	ck_assert_msg(nt_system_alive(&sys, NT_QUERY), "query died on SIGHUP");
}
END_TEST

/* ---- private data -------------------------------------------------------------------- */

START_TEST(test_pii_only_with_scope)
{
	char id[64], *resp = NULL, *text;
	json_t *j, *items;
	who_id a;

	snprintf(id, sizeof(id), "pii-%d", (int)getpid());
	ck_assert_int_eq(post_as(k_acme, id, RECIPIENT, &resp), 202);
	free(resp);
	a = (who_id){k_acme, id};
	ck_assert_int_eq(nt_eventually(visible_to, &a, 30000), 0);
	ck_assert_int_eq(get_as(k_acme, nt_fmt("/notifications/%s", id), &j), 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "to")), "+49151****766");
	ck_assert(json_is_null(json_object_get(j, "body")));
	json_decref(j);
	ck_assert_int_eq(get_as(k_acme, "/notifications?limit=500", &j), 200);
	text = json_dumps(j, 0);
	ck_assert_ptr_null(strstr(text, RECIPIENT));
	ck_assert_ptr_null(strstr(text, BODY_TEXT));
	free(text);
	items = json_object_get(j, "items");
	ck_assert_int_gt(json_array_size(items), 0);
	json_decref(j);
	ck_assert_int_eq(get_as(k_acme_pii, nt_fmt("/notifications/%s", id), &j), 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "to")), RECIPIENT);
	ck_assert_str_eq(json_string_value(json_object_get(j, "body")), BODY_TEXT);
	json_decref(j);
}
END_TEST

/* ingest and query refuse to start without keys (and ingest without a webhook secret)
 * unless told to run insecure, and then say so at start and on their probes. */
START_TEST(test_no_keys_no_start)
{
	const char *log = nt_fmt("%s/nokeys.log", nt_tmpdir("nokeys"));
	int st, port = nt_free_port(), admin = nt_free_port();
	char *resp = NULL;
	pid_t p;
	const char *env_q[] = {"API_KEYS_FILE=", nt_fmt("QUERY_DB=%s", sys.db),
			       nt_fmt("QUERY_LISTEN=127.0.0.1:%d", port),
			       nt_fmt("QUERY_ADMIN_LISTEN=127.0.0.1:%d", admin), NULL};
	const char *env_i[] = {"WEBHOOK_SECRET=", nt_fmt("STATUS_TOPIC=%s", sys.topic),
			       nt_fmt("INGEST_LISTEN=127.0.0.1:%d", port),
			       nt_fmt("SCHEMAS_DIR=%s", nt_schemas_dir()), NULL};
	const char *env_dev[] = {"API_KEYS_FILE=",
				 "INSECURE_DEV=1",
				 nt_fmt("QUERY_DB=%s", sys.db),
				 nt_fmt("QUERY_LISTEN=127.0.0.1:%d", port),
				 nt_fmt("QUERY_ADMIN_LISTEN=127.0.0.1:%d", admin),
				 NULL};

	st = nt_stop(nt_spawn("query", env_q, log), 0, 15000); /* signal 0: only wait */
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "query started without keys");
	st = nt_stop(nt_spawn("ingest", env_i, log), 0, 15000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "ingest started without a secret");
	ck_assert_int_eq(system(nt_fmt("grep -q 'no API_KEYS_FILE' %s", log)), 0);
	ck_assert_int_eq(system(nt_fmt("grep -q 'no WEBHOOK_SECRET' %s", log)), 0);
	p = nt_spawn("query", env_dev, log);
	ck_assert_int_eq(nt_wait_http(admin, "/healthz", 15000), 0);
	ck_assert_int_eq(
	    nt_http_as(NULL, "GET", nt_fmt("http://127.0.0.1:%d/readyz", admin), NULL, NULL, &resp),
	    200);
	ck_assert_msg(strstr(resp, "insecure"), "readyz says nothing: %s", resp);
	free(resp);
	ck_assert_int_eq(system(nt_fmt("grep -q 'INSECURE DEVELOPMENT MODE' %s", log)), 0);
	/* and answers without a key, as tenant dev */
	ck_assert_int_eq(nt_http_as(NULL, "GET", nt_fmt("http://127.0.0.1:%d/notifications", port),
				    NULL, NULL, NULL),
			 200);
	nt_stop_ok(&p, 15000, "insecure query", log);
}
END_TEST

/* No log line and no metric of any daemon carries a recipient or a body. Last: it reads
 * what every earlier test made the daemons write. */
START_TEST(test_no_pii_in_logs_or_metrics)
{
	for (int d = 0; d < NT_DAEMONS; d++) {
		char cmd[1024], *resp = NULL;
		if (sys.pid[d] <= 0)
			continue; /* not part of this system */
		snprintf(cmd, sizeof(cmd), "grep -c -e '%s' -e '%s' %s", RECIPIENT, BODY_TEXT,
			 nt_system_log(&sys, (nt_daemon)d));
		if (d != NT_SIM) /* the simulator plays the provider: it is sent both */
			ck_assert_msg(system(cmd) != 0, "%s logged personal data",
				      nt_system_name((nt_daemon)d));
		if (d == NT_SIM)
			continue;
		ck_assert_int_eq(
		    nt_http_as(NULL, "GET",
			       nt_fmt("%s/metrics", nt_system_url(&sys, (nt_daemon)d, 1)), NULL,
			       NULL, &resp),
		    200);
		ck_assert_ptr_null(strstr(resp, RECIPIENT));
		ck_assert_ptr_null(strstr(resp, BODY_TEXT));
		free(resp);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("identity");

	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_401_and_403);
	tcase_add_test(tc, test_tenants_apart);
	tcase_add_test(tc, test_webhooks_signed);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_sighup_reload);
	tcase_add_test(tc, test_pii_only_with_scope);
	tcase_add_test(tc, test_no_keys_no_start);
	tcase_add_test(tc, test_no_pii_in_logs_or_metrics);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
