/* ns_signal.c -- stop flag set from SIGTERM/SIGINT, reload flag from SIGHUP; nothing else
 * happens in the handler. */
#include "ns_signal.h"
#include "ns_crash.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_flag = 1;
	else
		stop_flag = 1;
}

int ns_signal_take_reload(void)
{
	int r = reload_flag != 0;

	if (r)
		reload_flag = 0;
	return r;
}

int ns_signal_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL))
		return -1;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL))
		return -1;
	return ns_crash_install();
}

int ns_signal_stopping(void)
{
	return stop_flag != 0;
}

void ns_signal_request_stop(void)
{
	stop_flag = 1;
}

int ns_signal_sleep_ms(int ms)
{
	while (ms > 0 && !stop_flag) {
		int step = ms < 50 ? ms : 50;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return stop_flag != 0;
}
