/* test_crash_line.c -- a process that dies of a fatal signal leaves one line in its own log
 * (common/ns_crash.c), also when the fault is a stack overflow on an HTTP worker thread
 * (ns_http gives every civetweb thread an alternate signal stack), and still dies of that
 * signal. Each case runs in a child process whose stderr goes to a file. */
#include "ns_crash.h"
#include "ns_http.h"
#include "ns_log.h"

#include "nt.h"

#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Deep enough to overflow any thread stack; volatile so it is not turned into a loop. */
static int recurse(volatile int n)
{
	volatile char pad[512];

	pad[0] = (char)n;
	if (n == -1)
		return pad[0];
	return recurse(n + 1) + pad[0];
}

static int overflow_handler(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return recurse(0);
}

/* In the child: serve one route that overflows its worker's stack, and call it. */
static void child_http(void)
{
	ns_http_opts o = {.listen = "127.0.0.1:0", .threads = 2};
	char err[256], url[64];
	ns_http *h = ns_http_start(&o, err, sizeof(err));
	CURL *c = curl_easy_init();

	if (!h || !c || ns_http_route(h, "/boom", overflow_handler, NULL))
		_exit(3);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/boom", ns_http_port(h));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_perform(c);
	_exit(4); /* the server should have taken the process down */
}

/* Run what in a child with stderr to log; returns its wait status. */
static int run_child(int what, const char *log)
{
	pid_t pid = fork();
	int status = 0;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDERR_FILENO);
		ns_log_init("crashtest", NS_LOG_INFO);
		if (ns_crash_install())
			_exit(2);
		if (what == 0)
			raise(SIGABRT);
		else if (what == 1)
			recurse(0); /* main thread: its alternate stack from ns_crash_install */
		else
			child_http();
		_exit(5);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static const struct {
	int what;
	int sig;
	const char *name;
} cases[] = {
    {0, SIGABRT, "signal=SIGABRT"},
    {1, SIGSEGV, "signal=SIGSEGV"},
    {2, SIGSEGV, "signal=SIGSEGV"},
};

START_TEST(test_crash_leaves_a_line)
{
	const char *log = nt_fmt("%s/crash-%d.log", nt_tmpdir("crash"), _i);
	int st = run_child(cases[_i].what, log);
	const char *text = slurp(log);

	ck_assert_msg(WIFSIGNALED(st), "case %d: exited %d instead of dying", _i,
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
#if defined(__SANITIZE_ADDRESS__)
	/* our handler hands the fault on to AddressSanitizer's, whose report ends in abort()
	 * (abort_on_error=1): the process dies of SIGABRT after our line */
	ck_assert(WTERMSIG(st) == cases[_i].sig || WTERMSIG(st) == SIGABRT);
#else
	ck_assert_int_eq(WTERMSIG(st), cases[_i].sig);
#endif
	ck_assert_msg(strstr(text, "event=process.crash") && strstr(text, cases[_i].name) &&
			  strstr(text, "svc=crashtest"),
		      "case %d: log was: %s", _i, text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crash_line");
	TCase *tc = tcase_create("crash");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_crash_leaves_a_line, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
