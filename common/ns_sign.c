/* ns_sign.c -- HMAC-SHA256 signatures over a timestamp and a raw body (see ns_sign.h),
 * with OpenSSL's libcrypto. */
#include "ns_sign.h"

#include "ns_digest.h"
#include "ns_str.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

#define MAC_LEN 32

/* HMAC-SHA256(secret, "<t>." body) into mac. Returns 0 or -1. */
static int mac_of(const char *secret, int64_t t, const void *body, size_t len,
		  unsigned char mac[MAC_LEN])
{
	char prefix[32], digest[] = "SHA256";
	int plen = snprintf(prefix, sizeof(prefix), "%lld.", (long long)t);
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
			       OSSL_PARAM_construct_end()};
	EVP_MAC *m = ns_digest_hmac();
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
	size_t mlen = 0;
	int ok;

	ok = c && EVP_MAC_init(c, (const unsigned char *)secret, strlen(secret), params) == 1 &&
	     EVP_MAC_update(c, (const unsigned char *)prefix, (size_t)plen) == 1 &&
	     (len == 0 || EVP_MAC_update(c, body, len) == 1) &&
	     EVP_MAC_final(c, mac, &mlen, MAC_LEN) == 1 && mlen == MAC_LEN;
	EVP_MAC_CTX_free(c);
	return ok ? 0 : -1;
}

int ns_sign_value(const char *secret, int64_t t, const void *body, size_t len, char *out,
		  size_t outlen)
{
	unsigned char mac[MAC_LEN];
	char hex[2 * MAC_LEN + 1];
	int n;

	if (mac_of(secret, t, body, len, mac) ||
	    ns_str_hex_encode(mac, MAC_LEN, hex, sizeof(hex)) < 0)
		return -1;
	n = snprintf(out, outlen, "t=%lld,v1=%s", (long long)t, hex);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* Parse "t=<digits>" at the start of h into *t; *rest points after it. Returns 0 or -1. */
static int parse_t(const char *h, int64_t *t, const char **rest)
{
	int64_t v = 0;
	int digits = 0;

	if (strncmp(h, "t=", 2) != 0 || h[2] == '0')
		return -1; /* one spelling per instant: no leading zero */
	for (h += 2; *h >= '0' && *h <= '9'; h++, digits++) {
		if (digits >= 12)
			return -1; /* far past any plausible unix time */
		v = v * 10 + (*h - '0');
	}
	if (digits == 0)
		return -1;
	*t = v;
	*rest = h;
	return 0;
}

/* Whether the v1 value at p (64 hex) is one of the n macs in want (constant time). 0 or 1;
 * -1 when p is not ",v1=<64 hex>". */
static int v1_matches(const char *p, const unsigned char want[][MAC_LEN], const int *have)
{
	unsigned char got[MAC_LEN];
	int match = 0;

	/* the hex is checked to be there before it is read */
	if (strncmp(p, ",v1=", 4) != 0 || strspn(p + 4, "0123456789abcdefABCDEF") < 2 * MAC_LEN ||
	    ns_str_hex_decode(p + 4, 2 * MAC_LEN, got, sizeof(got)) != MAC_LEN)
		return -1;
	for (int i = 0; i < 2; i++)
		if (have[i] && CRYPTO_memcmp(got, want[i], MAC_LEN) == 0)
			match = 1;
	return match;
}

ns_sign_result ns_sign_verify(const char *header, const void *body, size_t len,
			      const char *const *secrets, size_t n, int64_t now,
			      int64_t tolerance_s)
{
	unsigned char want[2][MAC_LEN];
	int have[2] = {0, 0}, match = 0, nv = 0, stale;
	const char *p;
	int64_t t = 0;

	if (!header)
		return NS_SIGN_MISSING;
	if (strlen(header) > NS_SIGN_HEADER_MAX || parse_t(header, &t, &p))
		return NS_SIGN_MALFORMED;
	/* decided after the form is checked; no MAC is computed for a stale one */
	stale = t > now + tolerance_s || t < now - tolerance_s;
	for (size_t i = 0; !stale && i < n && i < 2; i++)
		have[i] =
		    secrets[i] && secrets[i][0] && mac_of(secrets[i], t, body, len, want[i]) == 0;
	/* every ",v1=<64 hex>" that follows; nothing else */
	for (; *p; p += 4 + 2 * MAC_LEN, nv++) {
		int m = v1_matches(p, (const unsigned char(*)[MAC_LEN])want, have);
		if (m < 0)
			return NS_SIGN_MALFORMED;
		match |= m;
	}
	if (nv == 0)
		return NS_SIGN_MALFORMED;
	if (stale)
		return NS_SIGN_STALE;
	return match ? NS_SIGN_OK : NS_SIGN_MISMATCH;
}

const char *ns_sign_reason(ns_sign_result r)
{
	switch (r) {
	case NS_SIGN_OK:
		return "signature valid";
	case NS_SIGN_MISSING:
		return "missing " NS_SIGN_HEADER " header";
	case NS_SIGN_MALFORMED:
		return NS_SIGN_HEADER " is not t=<unix seconds>,v1=<hex HMAC-SHA256>";
	case NS_SIGN_STALE:
		return NS_SIGN_HEADER " timestamp is outside the tolerance window";
	case NS_SIGN_MISMATCH:
		return "signature does not match";
	}
	return "?";
}
