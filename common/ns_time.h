/* ns_time.h -- wall-clock milliseconds and RFC 3339 timestamps.
 *
 * The one timestamp form the service writes: "2025-03-01T12:00:00.000Z" (UTC,
 * milliseconds). Parsing accepts any RFC 3339 date-time (RFC 3339 section 5.6): 'T' or 't',
 * a missing or 1-9 digit fraction (truncated to milliseconds), and 'Z', 'z' or a numeric
 * offset "+HH:MM" / "-HH:MM", normalised to UTC. */
#ifndef NS_TIME_H
#define NS_TIME_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define NS_TIME_ISO_LEN 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t ns_time_now_ms(void);

/* Monotonic milliseconds, for timeouts and durations. */
int64_t ns_time_mono_ms(void);

/* Monotonic seconds with sub-microsecond resolution, for latency histograms. */
double ns_time_mono_s(void);

/* The CLOCK_MONOTONIC time ms (>= 0) from now, as an absolute deadline for
 * pthread_cond_timedwait on a monotonic condition variable or sem_clockwait. */
struct timespec ns_time_mono_deadline(int64_t ms);

/* Non-zero once the CLOCK_MONOTONIC deadline has passed. */
int ns_time_mono_passed(const struct timespec *deadline);

/* pthread_cond_init for a condition variable whose timed waits take the deadlines above
 * (CLOCK_MONOTONIC: a wall-clock step neither cuts a wait short nor stretches it).
 * Returns 0 or the pthread error. */
int ns_time_cond_init(pthread_cond_t *cv);

/* Format `ms` since the epoch into out (NS_TIME_ISO_LEN bytes). Returns out. */
char *ns_time_format(int64_t ms, char out[NS_TIME_ISO_LEN]);

/* Parse an RFC 3339 date-time into ms since the epoch (UTC). Returns 0 on success, -1 when
 * the text is not one (bad field ranges, a leap second, trailing characters, a space for
 * 'T', an offset without its colon) or lies before 1970-01-01T00:00:00Z once normalised. */
int ns_time_parse(const char *s, int64_t *ms);

#endif
