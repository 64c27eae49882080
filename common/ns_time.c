/* ns_time.c -- clocks and the RFC 3339 timestamp codec (UTC out, any offset in). */
#include "ns_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t ns_time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ns_time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double ns_time_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *ns_time_format(int64_t ms, char out[NS_TIME_ISO_LEN])
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;

	char wide[96]; /* room for any int the compiler imagines; years past 9999 truncate */

	gmtime_r(&secs, &tm);
	snprintf(wide, sizeof(wide), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	memcpy(out, wide, NS_TIME_ISO_LEN - 1);
	out[NS_TIME_ISO_LEN - 1] = '\0';
	return out;
}

/* Read exactly n decimal digits. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS" (T or t) into f[0..5]; advances *p. Returns 0 or -1. */
static int parse_date_time(const char **p, int f[6])
{
	const char *q = *p;

	if (digits(&q, 4, &f[0]) || *q++ != '-' || digits(&q, 2, &f[1]) || *q++ != '-' ||
	    digits(&q, 2, &f[2]))
		return -1;
	if (*q != 'T' && *q != 't')
		return -1;
	q++;
	if (digits(&q, 2, &f[3]) || *q++ != ':' || digits(&q, 2, &f[4]) || *q++ != ':' ||
	    digits(&q, 2, &f[5]))
		return -1;
	*p = q;
	return 0;
}

/* Optional ".d" to ".ddddddddd" into milliseconds (truncated); advances *p. */
static int parse_fraction(const char **p, int *frac)
{
	const char *q = *p;
	int n = 0, scale = 100;

	*frac = 0;
	if (*q != '.')
		return 0;
	q++;
	while (*q >= '0' && *q <= '9' && n < 9) {
		*frac += (*q - '0') * scale;
		scale /= 10;
		q++;
		n++;
	}
	if (n == 0)
		return -1;
	*p = q;
	return 0;
}

/* "Z", "z" or "+HH:MM" / "-HH:MM" (RFC 3339) ending the text: *minutes east of UTC. */
static int parse_offset(const char *p, int *minutes)
{
	int sign, h, m;

	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*minutes = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p != '\0')
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*minutes = sign * (h * 60 + m);
	return 0;
}

int ns_time_parse(const char *s, int64_t *ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int f[6], frac, offset;
	const char *p = s;
	int64_t utc;

	if (!s || parse_date_time(&p, f) || parse_fraction(&p, &frac) || parse_offset(p, &offset))
		return -1;
	if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[3] > 23 || f[4] > 59 || f[5] > 59)
		return -1;
	if (f[2] < 1 || f[2] > mdays[f[1] - 1] + (f[1] == 2 && is_leap(f[0])))
		return -1;
	utc = ((days_from_civil(f[0], f[1], f[2]) * 24 + f[3]) * 60 + f[4]) * 60000LL +
	      f[5] * 1000LL + frac - offset * 60000LL;
	if (utc < 0)
		return -1; /* before the epoch once normalised */
	*ms = utc;
	return 0;
}
