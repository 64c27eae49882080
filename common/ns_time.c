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

struct timespec ns_time_mono_deadline(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int ns_time_mono_passed(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

int ns_time_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);

	if (rc)
		return rc;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

/* The civil date (proleptic Gregorian) of day z since 1970-01-01: the inverse of
 * days_from_civil below. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* v (0 <= v < 10^n) as n digits at p. */
static void put_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Written by hand, not with gmtime_r and snprintf: every event encoded and every row
 * rendered formats timestamps, and the library pair cost more than the rest of a small
 * encode. Years outside 0000-9999 take the library's way (and are cut to the width). */
char *ns_time_format(int64_t ms, char out[NS_TIME_ISO_LEN])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int sod = (int)(secs - days * 86400), frac = (int)(ms - secs * 1000);
	int y, m, d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		char wide[96]; /* room for any int the compiler imagines */
		snprintf(wide, sizeof(wide), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
			 sod / 3600, sod / 60 % 60, sod % 60, frac);
		memcpy(out, wide, NS_TIME_ISO_LEN - 1);
		out[NS_TIME_ISO_LEN - 1] = '\0';
		return out;
	}
	memcpy(out, "0000-00-00T00:00:00.000Z", NS_TIME_ISO_LEN);
	put_digits(out, y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, sod / 3600, 2);
	put_digits(out + 14, sod / 60 % 60, 2);
	put_digits(out + 17, sod % 60, 2);
	put_digits(out + 20, frac, 3);
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
