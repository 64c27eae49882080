/* ns_time.h -- wall-clock milliseconds and strict ISO 8601 UTC timestamps.
 *
 * The one timestamp form of the service: "2025-03-01T12:00:00.000Z" (UTC, milliseconds).
 * Parsing also accepts a missing or 1-9 digit fraction; it refuses offsets other than Z. */
#ifndef NS_TIME_H
#define NS_TIME_H

#include <stdint.h>

#define NS_TIME_ISO_LEN 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t ns_time_now_ms(void);

/* Monotonic milliseconds, for timeouts and durations. */
int64_t ns_time_mono_ms(void);

/* Format `ms` since the epoch into out (NS_TIME_ISO_LEN bytes). Returns out. */
char *ns_time_format(int64_t ms, char out[NS_TIME_ISO_LEN]);

/* Parse an ISO 8601 UTC timestamp ("...Z") into ms since the epoch.
 * Returns 0 on success, -1 when the text is not a valid UTC timestamp (bad field ranges,
 * trailing characters, a non-Z offset). */
int ns_time_parse(const char *s, int64_t *ms);

#endif
