/* ns_crash.c -- the fatal-signal line (see ns_crash.h). Everything the handler calls is
 * async-signal-safe: clock_gettime, syscall(gettid), prctl(PR_GET_NAME), write, sigaction,
 * raise; the line is formatted by hand into a stack buffer (no stdio, no malloc). */
#include "ns_crash.h"
#include "ns_log.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SVC_MAX	    64
#define ALTSTACK_SZ (64 * 1024)

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

static struct sigaction previous[NFATAL];
static char crash_svc[SVC_MAX];
static __thread void *thread_altstack;

/* A growing line in a caller's buffer; appends past the end are dropped. */
typedef struct {
	char *buf;
	size_t len, cap;
} line;

static void put(line *l, const char *s)
{
	while (*s && l->len + 1 < l->cap)
		l->buf[l->len++] = *s++;
}

static void put_uint(line *l, uint64_t v, int width, int base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % (uint64_t)base];
		v /= (uint64_t)base;
	} while (v && n < (int)sizeof(tmp));
	while (n < width && n < (int)sizeof(tmp))
		tmp[n++] = '0';
	while (n > 0 && l->len + 1 < l->cap)
		l->buf[l->len++] = tmp[--n];
}

/* ts=YYYY-MM-DDTHH:MM:SS.mmmZ from the wall clock (days-to-civil by hand). */
static void put_ts(line *l)
{
	struct timespec ts;
	int64_t days, secs, z, era, doe, yoe, y, doy, mp, d, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	days = ts.tv_sec / 86400;
	secs = ts.tv_sec % 86400;
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	put(l, "ts=");
	put_uint(l, (uint64_t)y, 4, 10);
	put(l, "-");
	put_uint(l, (uint64_t)m, 2, 10);
	put(l, "-");
	put_uint(l, (uint64_t)d, 2, 10);
	put(l, "T");
	put_uint(l, (uint64_t)(secs / 3600), 2, 10);
	put(l, ":");
	put_uint(l, (uint64_t)(secs / 60 % 60), 2, 10);
	put(l, ":");
	put_uint(l, (uint64_t)(secs % 60), 2, 10);
	put(l, ".");
	put_uint(l, (uint64_t)(ts.tv_nsec / 1000000), 3, 10);
	put(l, "Z");
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGFPE:
		return "SIGFPE";
	case SIGILL:
		return "SIGILL";
	case SIGABRT:
		return "SIGABRT";
	default:
		return "other";
	}
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	char buf[320], name[17] = {0};
	line l = {buf, 0, sizeof(buf)};
	size_t i;

	put_ts(&l);
	put(&l, " level=fatal svc=");
	put(&l, crash_svc[0] ? crash_svc : "nstatus");
	put(&l, " event=process.crash signal=");
	put(&l, signal_name(sig));
	put(&l, " thread=");
	put_uint(&l, (uint64_t)syscall(SYS_gettid), 1, 10);
	if (prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && name[0]) {
		put(&l, " thread_name=\"");
		put(&l, name);
		put(&l, "\"");
	}
	put(&l, " addr=0x");
	put_uint(&l, (uint64_t)(uintptr_t)(si ? si->si_addr : NULL), 1, 16);
	l.buf[l.len++] = '\n';
	if (write(STDERR_FILENO, l.buf, l.len) < 0) {
		/* nothing more can be done from here */
	}
	for (i = 0; i < NFATAL && fatal_signals[i] != sig; i++)
		;
	if (i < NFATAL && (previous[i].sa_flags & SA_SIGINFO) && previous[i].sa_sigaction) {
		previous[i].sa_sigaction(sig, si, uc);
		return;
	}
	if (i < NFATAL && previous[i].sa_handler != SIG_DFL && previous[i].sa_handler != SIG_IGN &&
	    previous[i].sa_handler != NULL) {
		previous[i].sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int ns_crash_thread_enter(void)
{
	stack_t ss;

	if (thread_altstack)
		return 0;
	thread_altstack = malloc(ALTSTACK_SZ);
	if (!thread_altstack)
		return -1;
	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = thread_altstack;
	ss.ss_size = ALTSTACK_SZ;
	if (sigaltstack(&ss, NULL) != 0) {
		free(thread_altstack);
		thread_altstack = NULL;
		return -1;
	}
	return 0;
}

void ns_crash_thread_leave(void)
{
	stack_t ss;

	if (!thread_altstack)
		return;
	memset(&ss, 0, sizeof(ss));
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	free(thread_altstack);
	thread_altstack = NULL;
}

int ns_crash_install(void)
{
	struct sigaction sa;
	const char *svc = ns_log_svc();
	size_t n = strlen(svc);

	if (n >= sizeof(crash_svc))
		n = sizeof(crash_svc) - 1;
	memcpy(crash_svc, svc, n);
	crash_svc[n] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++)
		if (sigaction(fatal_signals[i], &sa, &previous[i]) != 0)
			return -1;
	ns_crash_thread_enter(); /* best effort: the line still comes without it */
	return 0;
}
