/* ns_signal.h -- graceful shutdown: SIGTERM/SIGINT set a flag, the main loop notices;
 * SIGHUP sets another, for re-reading configuration files (the API keys).
 *
 * The handler only stores to a volatile sig_atomic_t; SIGPIPE is ignored so that a peer
 * closing a socket never kills a daemon. */
#ifndef NS_SIGNAL_H
#define NS_SIGNAL_H

/* Install the SIGTERM/SIGINT and SIGHUP handlers, ignore SIGPIPE, and install the fatal-signal line
 * (ns_crash_install: call ns_log_init first, for its svc=). Returns 0, or -1 on failure. */
int ns_signal_install(void);

/* Non-zero once when a SIGHUP arrived since the last call (the flag is cleared). */
int ns_signal_take_reload(void);

/* Non-zero once SIGTERM or SIGINT arrived (or ns_signal_request_stop was called). */
int ns_signal_stopping(void);

/* Ask for shutdown from inside the process (a fatal error, a test). */
void ns_signal_request_stop(void);

/* Sleep up to ms milliseconds, returning early when a stop is requested.
 * Returns non-zero when stopping. */
int ns_signal_sleep_ms(int ms);

#endif
