/* ns_log.h -- structured logging: one logfmt line per event, with levels.
 *
 * Every line reads `ts=... level=info svc=ingest event=http.listen key=value ...` on
 * stderr, written with one write(2) so that lines from several threads never interleave.
 * The macros test the level before formatting anything. Thread-safe. */
#ifndef NS_LOG_H
#define NS_LOG_H

typedef enum { NS_LOG_DEBUG = 0, NS_LOG_INFO, NS_LOG_WARN, NS_LOG_ERROR } ns_log_level;

/* Set the service name printed as svc= and the minimum level. `svc` must outlive logging. */
void ns_log_init(const char *svc, ns_log_level min);

/* The service name set by ns_log_init ("nstatus" before). */
const char *ns_log_svc(void);

/* Parse "debug", "info", "warn" or "error". Returns 0 and sets *out, or -1 when unknown. */
int ns_log_level_parse(const char *s, ns_log_level *out);

/* Current minimum level. */
ns_log_level ns_log_min(void);

/* Write one line: `event` is a dotted name (e.g. "kafka.delivery"), `fmt` formats the rest
 * of the line as key=value pairs. Use the macros below rather than calling this. */
void ns_log_write(ns_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Quote a free-text value for logfmt into buf (always NUL-terminated); returns buf. */
const char *ns_log_quote(const char *s, char *buf, unsigned long buflen);

#define NS_LOG(lvl, event, ...)                                                                    \
	do {                                                                                       \
		if ((lvl) >= ns_log_min())                                                         \
			ns_log_write((lvl), (event), __VA_ARGS__);                                 \
	} while (0)
#define NS_DEBUG(event, ...) NS_LOG(NS_LOG_DEBUG, event, __VA_ARGS__)
#define NS_INFO(event, ...)  NS_LOG(NS_LOG_INFO, event, __VA_ARGS__)
#define NS_WARN(event, ...)  NS_LOG(NS_LOG_WARN, event, __VA_ARGS__)
#define NS_ERROR(event, ...) NS_LOG(NS_LOG_ERROR, event, __VA_ARGS__)

#endif
