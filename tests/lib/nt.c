/* nt.c -- test support: broker, topics, daemons and HTTP for the Check runners. */
#include "nt.h"
#include "ns_sign.h"
#include "ns_kafka.h"
#include "ns_rand.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *nt_bootstrap(void)
{
	const char *bs = getenv("NS_TEST_BOOTSTRAP");
	ck_assert_msg(bs && bs[0], "NS_TEST_BOOTSTRAP is unset: run the suites with make test");
	return bs;
}

/* Strings handed out by nt_bin and nt_tmpdir live in this pool until the process ends,
 * reachable from a global, so leak checkers stay quiet in forked test processes. */
static char *nt_pool[65536];
static int nt_pool_len;
static pthread_mutex_t nt_pool_mu = PTHREAD_MUTEX_INITIALIZER;

/* Keep s reachable for the test's life. Tests call the helpers from several threads
 * (test_hostile's waiters): unlocked, two at once could take the same slot, and the
 * string whose pointer was overwritten showed up as a leak under LeakSanitizer. */
static const char *pool_keep(char *s)
{
	int full;

	pthread_mutex_lock(&nt_pool_mu);
	full = nt_pool_len == (int)(sizeof(nt_pool) / sizeof(nt_pool[0]));
	if (!full)
		nt_pool[nt_pool_len++] = s;
	pthread_mutex_unlock(&nt_pool_mu);
	ck_assert_msg(!full, "pool full");
	return s;
}

/* The product's daemons live in NS_BIN_DIR, the tools that serve tests (the provider
 * simulator) in NS_TOOLS_DIR: a name not found in the first is looked up in the second. */
const char *nt_bin(const char *name)
{
	const char *dir = getenv("NS_BIN_DIR");
	const char *tools = getenv("NS_TOOLS_DIR");
	char *path = NULL;
	if (!dir || !dir[0])
		dir = "build/bin";
	if (!tools || !tools[0])
		tools = "build/tools";
	ck_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	if (access(path, X_OK) != 0) {
		free(path);
		path = NULL;
		ck_assert(asprintf(&path, "%s/%s", tools, name) > 0);
	}
	return pool_keep(path);
}

const char *nt_keep(char *s)
{
	return pool_keep(s);
}

char *nt_fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	ck_assert(vasprintf(&s, f, ap) > 0);
	va_end(ap);
	return (char *)pool_keep(s);
}

const char *nt_schemas_dir(void)
{
	const char *dir = getenv("NS_SCHEMAS_DIR");
	return dir && dir[0] ? dir : "schemas/channels";
}

const char *nt_tmpdir(const char *tag)
{
	const char *base = getenv("NS_TEST_TMP");
	static int counter;
	char *path = NULL;

	if (!base || !base[0])
		base = "/tmp";
	ck_assert(asprintf(&path, "%s/%s.%d.%d", base, tag, (int)getpid(), ++counter) > 0);
	ck_assert_msg(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s", path);
	return pool_keep(path);
}

void nt_topic_new(const char *prefix, int parts, char *out, size_t outlen)
{
	static int counter;
	char err[512], dlq[300];

	srand((unsigned)(time(NULL) ^ getpid()));
	snprintf(out, outlen, "%s.%d.%d.%d", prefix, (int)getpid(), ++counter, rand() % 100000);
	setenv("KAFKA_BOOTSTRAP_SERVERS", nt_bootstrap(), 1);
	ck_assert_msg(ns_kafka_topic_ensure(out, parts, 10000, err, sizeof(err)) == 0,
		      "create topic %s: %s", out, err);
	snprintf(dlq, sizeof(dlq), "%s.dlq", out);
	ck_assert_msg(ns_kafka_topic_ensure(dlq, 1, 10000, err, sizeof(err)) == 0,
		      "create topic %s: %s", dlq, err);
}

/* The low end of the kernel's ephemeral range: an outgoing connection may take any port
 * from there up as its local port, so a port handed out there can be gone by the time a
 * daemon (or the same daemon, restarted) binds it. */
static int ephemeral_low(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int lo = 32768;

	if (f) {
		if (fscanf(f, "%d", &lo) != 1 || lo <= NT_PORT_LOW + 1000)
			lo = 32768;
		fclose(f);
	}
	return lo;
}

/* Whether a plain bind (no SO_REUSEADDR, so a port still in TIME_WAIT counts as taken)
 * of 127.0.0.1:port succeeds. */
static int bindable(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int nt_free_port(void)
{
	static uint64_t state;
	static unsigned char given[65536 / 8];
	int lo = ephemeral_low();

	if (state == 0)
		state = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	for (int tries = 0; tries < 10000; tries++) {
		int port = NT_PORT_LOW + (int)(ns_rand_next(&state) % (uint64_t)(lo - NT_PORT_LOW));
		if (given[port / 8] & (1u << (port % 8)) || !bindable(port))
			continue;
		given[port / 8] |= (unsigned char)(1u << (port % 8));
		return port;
	}
	return -1;
}

pid_t nt_spawn_args(const char *bin, const char *const *args, const char *const *env,
		    const char *logfile)
{
	const char *path = nt_bin(bin);
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* child: drop the handlers and timer inherited from Check, so that a signal meant for
	 * the daemon that arrives before execve ends this process and nothing else. */
	alarm(0);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	{
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	setenv("KAFKA_BOOTSTRAP_SERVERS", nt_bootstrap(), 1);
	/* Admin listeners on free ports unless the test names them: several daemons of one
	 * kind run side by side in a test. */
	setenv("INGEST_ADMIN_LISTEN", "127.0.0.1:0", 1);
	setenv("QUERY_ADMIN_LISTEN", "127.0.0.1:0", 1);
	setenv("PROJECTOR_ADMIN_LISTEN", "127.0.0.1:0", 1);
	setenv("SENDER_ADMIN_LISTEN", "127.0.0.1:0", 1);
	/* The suite's key file and webhook secret (tests/run.sh makes them), unless given. */
	if (getenv("NS_TEST_KEYS_FILE"))
		setenv("API_KEYS_FILE", getenv("NS_TEST_KEYS_FILE"), 1);
	if (getenv("NS_TEST_WEBHOOK_SECRET")) {
		setenv("WEBHOOK_SECRET", getenv("NS_TEST_WEBHOOK_SECRET"), 1);
		setenv("SIM_WEBHOOK_SECRET", getenv("NS_TEST_WEBHOOK_SECRET"), 1);
	}
	for (const char *const *e = env; e && *e; e++)
		putenv((char *)*e);
	if (logfile) {
		int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
	}
	{
		const char *argv[32];
		int n = 0;
		argv[n++] = path;
		for (const char *const *a = args; a && *a && n < 31; a++)
			argv[n++] = *a;
		argv[n] = NULL;
		execve(path, (char *const *)argv, environ);
	}
	_exit(127);
}

pid_t nt_spawn(const char *bin, const char *const *env, const char *logfile)
{
	return nt_spawn_args(bin, NULL, env, logfile);
}

int nt_wait_http(int port, const char *path, int timeout_ms)
{
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		if (nt_http("GET", url, NULL, NULL, NULL) == 200)
			return 0;
		usleep(50 * 1000);
	}
	return -1;
}

int nt_stop(pid_t pid, int sig, int timeout_ms)
{
	int status = 0;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		usleep(20 * 1000);
	}
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid ? status : -1;
}

typedef struct {
	char *buf;
	size_t len;
} nt_buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	nt_buf *b = userdata;
	size_t n = size * nmemb;
	char *nb = realloc(b->buf, b->len + n + 1);

	if (!nb)
		return 0;
	memcpy(nb + b->len, ptr, n);
	b->buf = nb;
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

void nt_stop_ok(pid_t *pid, int timeout_ms, const char *what, const char *log)
{
	int st = nt_stop(*pid, SIGTERM, timeout_ms);

	*pid = -1;
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		nt_dump_log(log);
		ck_abort_msg("%s exit status %d", what, st);
	}
}

int nt_webhook_signature(const char *body, char *line, size_t linelen)
{
	const char *secret = getenv("NS_TEST_WEBHOOK_SECRET");
	int n;

	if (!secret || !secret[0])
		return -1;
	n = snprintf(line, linelen, "%s: ", NS_SIGN_HEADER);
	if (n < 0 || (size_t)n >= linelen)
		return -1;
	return ns_sign_value(secret, (int64_t)time(NULL), body, strlen(body), line + n,
			     linelen - (size_t)n);
}

/* hdrs with the signature line of body appended (unchanged without a suite secret). */
static struct curl_slist *sign_webhook(struct curl_slist *hdrs, const char *body)
{
	char line[sizeof(NS_SIGN_HEADER) + NS_SIGN_VALUE_LEN + 4];

	if (nt_webhook_signature(body, line, sizeof(line)) != 0)
		return hdrs;
	return curl_slist_append(hdrs, line);
}

long nt_http_req(const nt_req *q, char **resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	nt_buf b = {calloc(1, 1), 0};
	long code = -1;
	char ct[256], auth[256];

	if (!c || !b.buf)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (q->key && q->key[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", q->key);
		hdrs = curl_slist_append(hdrs, auth);
	}
	for (const char *const *h = q->headers; h && *h; h++)
		hdrs = curl_slist_append(hdrs, *h);
	if (q->body) {
		snprintf(ct, sizeof(ct), "Content-Type: %s",
			 q->content_type ? q->content_type : "application/json");
		hdrs = curl_slist_append(hdrs, ct);
		if (!q->unsigned_webhook && strcmp(q->method, "POST") == 0 &&
		    strstr(q->url, "/webhooks"))
			hdrs = sign_webhook(hdrs, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(q->body));
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
out:
	if (resp) {
		*resp = b.buf;
		b.buf = NULL;
	}
	free(b.buf);
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	return code;
}

long nt_http_as(const char *key, const char *method, const char *url, const char *content_type,
		const char *body, char **resp)
{
	nt_req q = {
	    .method = method, .url = url, .key = key, .content_type = content_type, .body = body};

	return nt_http_req(&q, resp);
}

long nt_http(const char *method, const char *url, const char *content_type, const char *body,
	     char **resp)
{
	return nt_http_as(nt_api_key(), method, url, content_type, body, resp);
}

long nt_post_retrying(const char *url, const char *body)
{
	long code = -1;

	for (int attempt = 0; attempt < 20; attempt++) {
		code = nt_http("POST", url, NULL, body, NULL);
		if (code != 503 && code != -1)
			break;
		usleep(200 * 1000);
	}
	return code;
}

const char *nt_api_key(void)
{
	const char *k = getenv("NS_TEST_API_KEY");
	return k && k[0] ? k : NULL;
}

const char *nt_ref(const char *external_id)
{
	return nt_fmt("%s:%s", NT_TENANT, external_id);
}

int nt_eventually(int (*cond)(void *arg), void *arg, int timeout_ms)
{
	for (int waited = 0;; waited += 50) {
		if (cond(arg))
			return 0;
		if (waited >= timeout_ms)
			return -1;
		usleep(50 * 1000);
	}
}

void nt_dump_log(const char *logfile)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "tail -n 40 '%s' >&2", logfile);
	if (system(cmd) != 0)
		fprintf(stderr, "(could not read %s)\n", logfile);
}

int nt_run_suite(Suite *su)
{
	SRunner *sr = srunner_create(su);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
