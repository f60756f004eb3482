/*
 * SHA-256 of what a receipt signs (the request's body, the reply's bytes),
 * with OpenSSL's code: it uses the CPU's SHA extensions or AVX2, about
 * four times libsodium's portable C on a stream's events. The digest is
 * fetched once for the process: EVP_sha256() would fetch it again, under
 * the method store's lock, on every request.
 */
#include <pthread.h>

#include <openssl/evp.h>

#include "agent.h"

static pthread_once_t	 sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD		*sha256_md;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
sha256_begin(struct sha256 *h)
{
	pthread_once(&sha256_once, sha256_fetch);
	if (sha256_md == NULL)
		return -1;
	if (h->ctx == NULL && (h->ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	return EVP_DigestInit_ex2(h->ctx, sha256_md, NULL) == 1 ? 0 : -1;
}

void
sha256_update(struct sha256 *h, const void *data, size_t len)
{
	/* SHA-256's update cannot fail once begun: nothing to allocate. */
	if (len > 0)
		(void)EVP_DigestUpdate(h->ctx, data, len);
}

int
sha256_end(struct sha256 *h, unsigned char out[SHA256_BYTES])
{
	unsigned int	 n = SHA256_BYTES;

	return EVP_DigestFinal_ex(h->ctx, out, &n) == 1 &&
	    n == SHA256_BYTES ? 0 : -1;
}

void
sha256_free(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}
