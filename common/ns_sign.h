/* ns_sign.h -- signed HTTP bodies: the provider's webhooks to ingest, and our status
 * callbacks to the producers' receivers.
 *
 * The scheme (as Stripe, Knock and Courier sign webhooks):
 *
 *   X-Nstatus-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The timestamp is inside the signed text, so a captured request cannot be replayed after
 * the tolerance window; several v1= values may be present (a sender signing with an old
 * and a new secret during rotation), and a receiver may hold two secrets (the current and
 * the previous one), so a secret is rotated without a moment of refused requests. Compares
 * are constant-time. Thread-safe; secrets and signatures are never logged here. */
#ifndef NS_SIGN_H
#define NS_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define NS_SIGN_HEADER	    "X-Nstatus-Signature"
#define NS_SIGN_TOLERANCE_S 300 /* default window either side of the receiver's clock */
#define NS_SIGN_HEADER_MAX  512 /* the longest header value accepted */
#define NS_SIGN_VALUE_LEN   (2 + 20 + 4 + 64) /* "t=" ts ",v1=" hex */
#define NS_SIGN_SECRET_MIN  16 /* bytes: shorter secrets are refused at configuration */

typedef enum {
	NS_SIGN_OK = 0,
	NS_SIGN_MISSING,   /* no header */
	NS_SIGN_MALFORMED, /* not t=<digits>,v1=<64 hex>[,v1=...] */
	NS_SIGN_STALE,	   /* t outside the tolerance window */
	NS_SIGN_MISMATCH,  /* no v1 matches any secret */
} ns_sign_result;

/* The header value for body signed with secret at unix time t, into out (at least
 * NS_SIGN_VALUE_LEN + 1 bytes). Returns 0, or -1 when out is too small or HMAC fails. */
int ns_sign_value(const char *secret, int64_t t, const void *body, size_t len, char *out,
		  size_t outlen);

/* Check header (the value, NULL when absent) against body with any of the first two of the
 * n secrets (the current and the previous one; NULL or empty entries skipped) at unix time
 * now, accepting |now - t| <= tolerance_s. */
ns_sign_result ns_sign_verify(const char *header, const void *body, size_t len,
			      const char *const *secrets, size_t n, int64_t now,
			      int64_t tolerance_s);

/* A sentence for a refusal ("missing X-Nstatus-Signature header", ...): static. */
const char *ns_sign_reason(ns_sign_result r);

#endif
