/* nt.h -- test support shared by every Check runner: the broker under test, unique
 * topics, starting and stopping the daemons, and a small HTTP client.
 *
 * Environment (set by tests/run.sh): NS_TEST_BOOTSTRAP, NS_BIN_DIR, NS_SCHEMAS_DIR,
 * NS_TEST_TMP, and the security every daemon runs with: NS_TEST_KEYS_FILE (an API key file
 * with one key of tenant NT_TENANT and every scope), NS_TEST_API_KEY (that key) and
 * NS_TEST_WEBHOOK_SECRET (what the simulator signs with and ingest checks). Functions abort the
 * test (ck_abort) only where noted; the rest return status codes. */
#ifndef NT_H
#define NT_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>

/* Broker bootstrap address under test. Aborts the test when NS_TEST_BOOTSTRAP is unset. */
const char *nt_bootstrap(void);

/* Path of a daemon binary, $NS_BIN_DIR/name, or of a test tool (the simulator),
 * $NS_TOOLS_DIR/name; kept for the process lifetime. */
const char *nt_bin(const char *name);

/* printf into a new string kept alive like nt_keep (never freed by the caller). Aborts the
 * test when formatting fails. */
char *nt_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* Keep a malloc'd string alive until the process ends (reachable, so leak checkers
 * stay quiet); returns s. For strings a test builds once and hands to daemons. */
const char *nt_keep(char *s);

/* schemas/channels folder under test. */
const char *nt_schemas_dir(void);

/* A fresh scratch folder under NS_TEST_TMP (malloc'd, kept for the process). */
const char *nt_tmpdir(const char *tag);

/* Create a topic named "<prefix>.<pid>.<counter>.<random>" with parts partitions (and its
 * ".dlq" companion with 1 partition). The name goes into out. Aborts the test on failure. */
void nt_topic_new(const char *prefix, int parts, char *out, size_t outlen);

/* The lowest port nt_free_port hands out. */
#define NT_PORT_LOW 10000

/* A TCP port on 127.0.0.1 that nothing is bound to right now, below the kernel's ephemeral
 * range (so no outgoing connection takes it before a daemon binds it, or while a daemon is
 * restarted on it), and not handed out before by this process. -1 if none is found. */
int nt_free_port(void);

/* Start NS_BIN_DIR/bin with extra environment entries ("NAME=value", NULL-terminated;
 * KAFKA_BOOTSTRAP_SERVERS is set to the broker under test unless given), stdout and stderr
 * appended to logfile. Returns the pid, or -1. */
pid_t nt_spawn(const char *bin, const char *const *env, const char *logfile);

/* Same with extra command-line arguments (NULL-terminated, may be NULL). */
pid_t nt_spawn_args(const char *bin, const char *const *args, const char *const *env,
		    const char *logfile);

/* Wait until GET http://127.0.0.1:port/path answers 200, up to timeout_ms.
 * Returns 0, or -1 on timeout. */
int nt_wait_http(int port, const char *path, int timeout_ms);

/* Send sig to pid and wait up to timeout_ms for it to exit (SIGKILL after that).
 * Returns the wait status (as from waitpid), or -1. */
int nt_stop(pid_t pid, int sig, int timeout_ms);

/* Stop *pid with SIGTERM (SIGKILL after timeout_ms) and set *pid to -1. Unless it exited
 * with status 0, prints log and aborts the test naming what. */
void nt_stop_ok(pid_t *pid, int timeout_ms, const char *what, const char *log);

/* The tenant of the suite's API key (tests/run.sh provisions it with every scope). */
#define NT_TENANT "test"

/* The suite's API key ("<id>.<secret>", NS_TEST_API_KEY), or NULL when there is none. */
const char *nt_api_key(void);

/* The reference of the suite tenant's notification external_id, "test:<id>": its Kafka
 * key, the id the provider knows, and what a webhook names. Kept for the process (like
 * nt_fmt: not for loops of thousands). */
const char *nt_ref(const char *external_id);

/* One HTTP request with libcurl, sending `Authorization: Bearer <key>` when key is not
 * NULL, and a POST to a .../webhooks URL signed with NS_TEST_WEBHOOK_SECRET (as the
 * provider signs). body may be NULL. *resp (may be NULL) receives the malloc'd response
 * body (caller frees). Returns the status code, or -1 on a transport error. content_type
 * NULL means application/json when a body is given. */
long nt_http_as(const char *key, const char *method, const char *url, const char *content_type,
		const char *body, char **resp);

/* The header line "X-Nstatus-Signature: t=..,v1=.." signing body now with the suite's
 * webhook secret, into line. Returns 0, or -1 without a secret (or room). */
int nt_webhook_signature(const char *body, char *line, size_t linelen);

/* Everything about one request, for nt_http_req. */
typedef struct {
	const char *method, *url;
	const char *key;	    /* API key to send, or NULL */
	const char *content_type;   /* NULL: application/json (with a body) */
	const char *body;	    /* NULL: none */
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
	int unsigned_webhook;	    /* do not sign a POST to /webhooks */
} nt_req;

/* The request q; returns and fills *resp as nt_http_as does. */
long nt_http_req(const nt_req *q, char **resp);

/* nt_http_as with the suite's key (nt_api_key). */
long nt_http(const char *method, const char *url, const char *content_type, const char *body,
	     char **resp);

/* POST body (JSON) to url with the suite's key as a caller following the contract does:
 * again, 200 ms later, after a 503 or a transport error, 20 times at most. Returns the
 * last status (-1: no answer). */
long nt_post_retrying(const char *url, const char *body);

/* Poll `cond(arg)` every 50 ms until it returns non-zero or timeout_ms passes.
 * Returns 0 when it became true, -1 on timeout. Used to wait for eventual consistency,
 * never to assert timing. */
int nt_eventually(int (*cond)(void *arg), void *arg, int timeout_ms);

/* Run every test of su (CK_NORMAL output) and free the runner. Returns the exit status for
 * main(): 0 when every test passed, 1 otherwise. */
int nt_run_suite(Suite *su);

/* Print the last lines of a log file to stderr (for failing tests). */
void nt_dump_log(const char *logfile);

#endif
