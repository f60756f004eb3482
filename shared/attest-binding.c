/*
 * The report_data an agent puts in its evidence, so the evidence proves
 * which keys live inside the TEE and that it is fresh: SHA-512 over a
 * fixed label, the client's nonce and the agent's public keys.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest.h"

int
attest_binding_digest(const struct attest_binding *b,
    unsigned char out[ATTEST_REPORT_DATA_SIZE], char *err, size_t errlen)
{
	static const unsigned char	 sep = 0;
	unsigned char			 len;
	unsigned int			 outlen = 0;
	EVP_MD_CTX			*ctx;
	int				 ok;

	if (b->nonce_len < ATTEST_NONCE_MIN ||
	    b->nonce_len > ATTEST_NONCE_MAX) {
		snprintf(err, errlen, "a nonce of %zu bytes (%d to %d)",
		    b->nonce_len, ATTEST_NONCE_MIN, ATTEST_NONCE_MAX);
		return -1;
	}
	len = (unsigned char)b->nonce_len;
	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, ATTEST_BINDING_LABEL,
	    strlen(ATTEST_BINDING_LABEL)) == 1 &&
	    EVP_DigestUpdate(ctx, &sep, 1) == 1 &&
	    EVP_DigestUpdate(ctx, &len, 1) == 1 &&
	    EVP_DigestUpdate(ctx, b->nonce, b->nonce_len) == 1 &&
	    EVP_DigestUpdate(ctx, b->x25519, sizeof(b->x25519)) == 1 &&
	    EVP_DigestUpdate(ctx, b->ed25519, sizeof(b->ed25519)) == 1 &&
	    EVP_DigestUpdate(ctx, b->tls_spki_sha256,
	    sizeof(b->tls_spki_sha256)) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &outlen) == 1 &&
	    outlen == ATTEST_REPORT_DATA_SIZE;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		snprintf(err, errlen, "SHA-512 failed");
		return -1;
	}
	return 0;
}
