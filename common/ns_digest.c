/* ns_digest.c -- SHA-256 and HMAC fetched once per process (see ns_digest.h). */
#include "ns_digest.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_once_t fetched = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;
static EVP_MAC *hmac;

/* At exit, before libcrypto's own cleanup (registered earlier, so run later). */
static void release(void)
{
	EVP_MD_free(sha256);
	EVP_MAC_free(hmac);
	sha256 = NULL;
	hmac = NULL;
}

static void fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	(void)atexit(release);
}

const EVP_MD *ns_digest_sha256(void)
{
	(void)pthread_once(&fetched, fetch);
	return sha256;
}

EVP_MAC *ns_digest_hmac(void)
{
	(void)pthread_once(&fetched, fetch);
	return hmac;
}

int ns_digest_sha256_of(const void *p, size_t n, unsigned char out[NS_DIGEST_SHA256_LEN])
{
	const EVP_MD *md = ns_digest_sha256();
	unsigned int len = 0;

	return md && EVP_Digest(p, n, out, &len, md, NULL) == 1 && len == NS_DIGEST_SHA256_LEN ? 0
											       : -1;
}
