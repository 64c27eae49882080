/* ns_url.h -- the URLs a producer gives us to call back (callbackUrl), and which
 * destinations we are willing to call.
 *
 * A callback URL is an absolute http or https URL of printable ASCII, at most NS_URL_MAX
 * bytes: scheme "http" or "https" (any case), "://", a host (a DNS name, an IPv4 literal
 * or a bracketed IPv6 literal; no user:password@), an optional port 1..65535, then an
 * optional path and query. No fragment, no space, no control character.
 *
 * Calling a URL that a client chose is server-side request forgery waiting to happen, so
 * by default the destination must be public: loopback, private (RFC 1918, unique local
 * fc00::/7), link-local (169.254/16, fe80::/10, where cloud metadata lives), "this network"
 * (0/8), carrier-grade NAT (100.64/10), site-local, multicast and unspecified addresses
 * are refused, and an IPv6 address that carries an IPv4 one (mapped, compatible, NAT64,
 * 6to4) is judged by that IPv4 address. IPv4 is read in every form a resolver accepts
 * (127.1, 2130706433, 0x7f.1); "localhost." is localhost.
 * ingest refuses such IP literals and "localhost" at the door; the callback worker checks
 * every address it is about to connect to (a name may resolve to anything), with
 * ns_url_addr_public. A configuration switch (CALLBACKS_ALLOW_PRIVATE) lifts both for local
 * runs and tests. Pure, thread-safe, no allocation. */
#ifndef NS_URL_H
#define NS_URL_H

#include <stddef.h>
#include <sys/socket.h>

#define NS_URL_MAX  512 /* longest callback URL, in bytes */
#define NS_HOST_MAX 253 /* longest host, in bytes */

typedef struct {
	int https;		    /* 1: https, 0: http */
	char host[NS_HOST_MAX + 1]; /* lowercase; IPv6 without brackets, in its canonical form */
	int port;		    /* explicit or the scheme's default */
} ns_url;

/* Parse s[0..len) as a callback URL (the form above) into u (may be NULL). Returns 0, or
 * -1 with a short reason in err. */
int ns_url_parse(const char *s, size_t len, ns_url *u, char *err, size_t errlen);

/* Non-zero when u's host may be called by default: not "localhost" (or a name under
 * .localhost), and not an IP literal outside public space (see above). A DNS name passes:
 * its addresses are checked at connect time. */
int ns_url_host_public(const ns_url *u);

/* Non-zero when the address (AF_INET or AF_INET6; an IPv4-mapped IPv6 address is judged as
 * IPv4) is public as defined above. */
int ns_url_addr_public(const struct sockaddr *sa);

#endif
