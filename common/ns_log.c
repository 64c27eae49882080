/* ns_log.c -- structured logging: logfmt lines on stderr, one write(2) per line. */
#include "ns_log.h"
#include "ns_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_svc = "nstatus";
static volatile ns_log_level log_min = NS_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

const char *ns_log_svc(void)
{
	return log_svc;
}

void ns_log_init(const char *svc, ns_log_level min)
{
	if (svc)
		log_svc = svc;
	log_min = min;
}

int ns_log_level_parse(const char *s, ns_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*out = (ns_log_level)i;
			return 0;
		}
	}
	return -1;
}

ns_log_level ns_log_min(void)
{
	return log_min;
}

void ns_log_write(ns_log_level lvl, const char *event, const char *fmt, ...)
{
	char line[4096];
	char ts[NS_TIME_ISO_LEN];
	size_t len;
	int n;
	va_list ap;

	ns_time_format(ns_time_now_ms(), ts);
	n = snprintf(line, sizeof(line), "ts=%s level=%s svc=%s event=%s", ts, level_names[lvl],
		     log_svc, event);
	len = n < 0 ? 0 : (size_t)n;
	if (fmt && fmt[0] && len < sizeof(line) - 2) {
		line[len++] = ' ';
		va_start(ap, fmt);
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		va_end(ap);
		if (n > 0)
			len += (size_t)n;
	}
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* truncated: keep the newline */
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report it. */
	}
}

const char *ns_log_quote(const char *s, char *buf, unsigned long buflen)
{
	size_t o = 0;

	if (buflen < 3) {
		if (buflen)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; s && *s && o + 3 < buflen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20) {
			buf[o++] = ' ';
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
