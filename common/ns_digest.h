/* ns_digest.h -- SHA-256 and HMAC-SHA256 from OpenSSL's libcrypto, each algorithm fetched
 * once per process.
 *
 * OpenSSL 3 looks an algorithm up in its providers on every EVP_sha256()-style init (a
 * locked search of a shared store), which cost more than hashing a short event id or an
 * API key. These hand out the fetched objects instead: thread-safe, fetched on first use,
 * released at exit. ns_event (ids), ns_keys (key hashes) and ns_sign (signatures) use
 * them. */
#ifndef NS_DIGEST_H
#define NS_DIGEST_H

#include <openssl/evp.h>
#include <stddef.h>

#define NS_DIGEST_SHA256_LEN 32

/* SHA-256, or NULL when libcrypto could not provide it. Owned by this module. */
const EVP_MD *ns_digest_sha256(void);

/* HMAC, or NULL when libcrypto could not provide it. Owned by this module: pass it to
 * EVP_MAC_CTX_new, never to EVP_MAC_free. */
EVP_MAC *ns_digest_hmac(void);

/* SHA-256 of p[0..n) into out. Returns 0, or -1 when libcrypto failed. */
int ns_digest_sha256_of(const void *p, size_t n, unsigned char out[NS_DIGEST_SHA256_LEN]);

#endif
