/* ns_url.c -- callback URL syntax and the public-destination rule (see ns_url.h). */
#include "ns_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *why)
{
	if (errlen)
		snprintf(err, errlen, "%s", why);
	return -1;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* The scheme and "://": returns the length consumed, or 0. */
static size_t scheme(const char *s, size_t len, int *https)
{
	if (len >= 7 && strncasecmp(s, "http://", 7) == 0) {
		*https = 0;
		return 7;
	}
	if (len >= 8 && strncasecmp(s, "https://", 8) == 0) {
		*https = 1;
		return 8;
	}
	return 0;
}

/* The host at s[0..n) (an authority without its port): a bracketed IPv6 literal or a name
 * / IPv4 literal of host characters. Copies it lowercased into host. */
static int parse_host(const char *s, size_t n, char host[NS_HOST_MAX + 1], char *err, size_t errlen)
{
	struct in6_addr a6;

	if (n > 0 && s[0] == '[') {
		if (n < 3 || s[n - 1] != ']' || n - 2 > NS_HOST_MAX)
			return fail(err, errlen, "a bad IPv6 literal");
		memcpy(host, s + 1, n - 2);
		host[n - 2] = '\0';
		/* one spelling per address ([::A], [0::a] and [::a] are one host) */
		if (inet_pton(AF_INET6, host, &a6) != 1 ||
		    !inet_ntop(AF_INET6, &a6, host, NS_HOST_MAX + 1))
			return fail(err, errlen, "a bad IPv6 literal");
		return 0;
	}
	if (n == 0)
		return fail(err, errlen, "no host");
	if (n > NS_HOST_MAX)
		return fail(err, errlen, "a host longer than 253 bytes");
	for (size_t i = 0; i < n; i++) {
		if (!host_char(s[i]))
			return fail(err, errlen,
				    "a host with a character other than A-Z a-z 0-9 - . _");
		host[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	}
	host[n] = '\0';
	if (host[0] == '.' || host[0] == '-' || strstr(host, ".."))
		return fail(err, errlen, "a malformed host");
	return 0;
}

/* ":port" at s[0..n): 1..65535. */
static int parse_port(const char *s, size_t n, int *port, char *err, size_t errlen)
{
	long v = 0;

	if (n < 2 || n > 6)
		return fail(err, errlen, "a bad port");
	for (size_t i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return fail(err, errlen, "a bad port");
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return fail(err, errlen, "a port outside 1..65535");
	*port = (int)v;
	return 0;
}

/* Printable ASCII without '#' (no fragment). */
static int url_chars_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '#')
			return 0;
	return 1;
}

/* The authority s[at..end): host, then ":port" after the last ':' outside an IPv6
 * literal. */
static int parse_authority(const char *s, size_t at, size_t end, ns_url *u, char *err,
			   size_t errlen)
{
	size_t colon = end;

	if (memchr(s + at, '@', end - at))
		return fail(err, errlen, "credentials in the URL");
	for (size_t i = end; i > at; i--) {
		if (s[i - 1] == ']')
			break;
		if (s[i - 1] == ':') {
			colon = i - 1;
			break;
		}
	}
	if (parse_host(s + at, colon - at, u->host, err, errlen) != 0)
		return -1;
	if (colon < end && parse_port(s + colon, end - colon, &u->port, err, errlen) != 0)
		return -1;
	return 0;
}

int ns_url_parse(const char *s, size_t len, ns_url *out, char *err, size_t errlen)
{
	ns_url u = {0};
	size_t at, end;

	if (!s || len == 0)
		return fail(err, errlen, "empty");
	if (len > NS_URL_MAX)
		return fail(err, errlen, "longer than 512 bytes");
	if (!url_chars_ok(s, len))
		return fail(err, errlen, "a space, control character, non-ASCII byte or fragment");
	at = scheme(s, len, &u.https);
	if (at == 0)
		return fail(err, errlen, "not an absolute http or https URL");
	for (end = at; end < len && s[end] != '/' && s[end] != '?';)
		end++;
	u.port = u.https ? 443 : 80;
	if (parse_authority(s, at, end, &u, err, errlen) != 0)
		return -1;
	if (out)
		*out = u;
	return 0;
}

/* ---- public space ---- */

static int in4(uint32_t a, uint32_t net, int bits)
{
	uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
	return (a & mask) == (net & mask);
}

static int v4_public(uint32_t a)
{
	return !(in4(a, 0x00000000u, 8) ||  /* 0/8 "this network" */
		 in4(a, 0x0a000000u, 8) ||  /* 10/8 */
		 in4(a, 0x64400000u, 10) || /* 100.64/10 CGNAT */
		 in4(a, 0x7f000000u, 8) ||  /* 127/8 loopback */
		 in4(a, 0xa9fe0000u, 16) || /* 169.254/16 link-local */
		 in4(a, 0xac100000u, 12) || /* 172.16/12 */
		 in4(a, 0xc0a80000u, 16) || /* 192.168/16 */
		 in4(a, 0xe0000000u, 3));   /* 224/4 multicast, 240/4 reserved, broadcast */
}

static uint32_t v4_at(const uint8_t *b)
{
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static int zeros(const uint8_t *b, int n)
{
	for (int i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* An IPv6 address that carries an IPv4 one (mapped ::ffff:0:0/96, compatible ::/96,
 * NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by that IPv4 address: a gateway on the
 * way would take it there. */
static int v6_public(const struct in6_addr *a)
{
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
	const uint8_t *b = a->s6_addr;

	if (IN6_IS_ADDR_V4MAPPED(a) || memcmp(b, nat64, 12) == 0 ||
	    (zeros(b, 12) && !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a)))
		return v4_public(v4_at(b + 12));
	if (memcmp(b, nat64_local, 6) == 0)
		return 0; /* 64:ff9b:1::/48, a local-use translation prefix */
	if (b[0] == 0x20 && b[1] == 0x02)
		return v4_public(v4_at(b + 2));
	return !(IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
		 (b[0] & 0xfe) == 0xfc ||		    /* fc00::/7 unique local */
		 (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
		 (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || /* fec0::/10 site-local */
		 b[0] == 0xff);				    /* multicast */
}

int ns_url_addr_public(const struct sockaddr *sa)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET)
		return v4_public(
		    ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return v6_public(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return 0;
}

int ns_url_host_public(const ns_url *u)
{
	char host[NS_HOST_MAX + 1];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(u->host);

	memcpy(host, u->host, n + 1);
	if (n > 0 && host[n - 1] == '.') /* "localhost." is localhost */
		host[--n] = '\0';
	if (strcmp(host, "localhost") == 0 || (n > 10 && strcmp(host + n - 10, ".localhost") == 0))
		return 0;
	/* every form a resolver takes for IPv4: 127.1, 2130706433, 0x7f.1 ... */
	if (inet_aton(host, &a4) != 0)
		return v4_public(ntohl(a4.s_addr));
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return v6_public(&a6);
	return 1;
}
