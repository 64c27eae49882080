/* ns_crash.h -- one log line when the process dies of a fatal signal.
 *
 * Without it a daemon that crashes leaves nothing in its own log. The handler writes one
 * logfmt line to stderr (`level=fatal event=process.crash signal=SIGSEGV thread=<tid>
 * thread_name=<name> addr=<fault address>`) using only async-signal-safe calls, then hands
 * the signal to whatever handler was there before (a sanitizer's report) or to the default
 * action, so the process still dies with the same signal and core. A stack overflow can
 * only be reported on a thread that has an alternate signal stack: the installing thread
 * gets one, and server threads get theirs with ns_crash_thread_enter (ns_http does this
 * for every civetweb thread). */
#ifndef NS_CRASH_H
#define NS_CRASH_H

/* Install the handler for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT and give the calling
 * thread an alternate signal stack. The svc= of the line is ns_log's service name at the
 * time of the call. Returns 0, or -1 when a sigaction failed. */
int ns_crash_install(void);

/* Give the calling thread an alternate signal stack (allocated, owned by the thread until
 * ns_crash_thread_leave). Returns 0, or -1 when out of memory or sigaltstack failed. */
int ns_crash_thread_enter(void);

/* Remove and free the calling thread's alternate signal stack. No-op without one. */
void ns_crash_thread_leave(void);

#endif
