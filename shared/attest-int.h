/*
 * What the attestation files (attest*.c) share: recording checks, the
 * policy checks every TEE has, certificates and raw ECDSA signatures.
 * Not a public header: users of the module include attest.h.
 */
#ifndef CUBE_ATTEST_INT_H
#define CUBE_ATTEST_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest.h"

/* attest.c */
void	 attest_result_add(struct attest_result *, enum attest_check_id, int,
	    const char *, ...) __attribute__((format(printf, 4, 5)));
void	 attest_result_claims(struct attest_result *, int,
	    const unsigned char *, const unsigned char *, const unsigned char *,
	    size_t);
void	 attest_debug_check(struct attest_result *, int, int, const char *);
void	 attest_expect(struct attest_result *, enum attest_check_id,
	    const unsigned char *, size_t, const struct attest_values *);
void	 attest_policy_check(const struct attest_policy *,
	    struct attest_result *);
int	 attest_snp_verify(const struct attest_input *,
	    const struct attest_policy *, struct attest_result *);
int	 attest_tdx_verify(const struct attest_input *,
	    const struct attest_policy *, struct attest_result *);

/* attest-snp-cert.c */
int	 attest_snp_cert_from_x509(X509 *, struct attest_snp_cert *, char *,
	    size_t);
void	 attest_snp_revocation_check(const struct attest_input *,
	    STACK_OF(X509) *, time_t, struct attest_result *);

/* attest-x509.c */
STACK_OF(X509)	*attest_x509_load(const unsigned char *, size_t, char *,
		    size_t);
int		 attest_x509_chain(X509 *, STACK_OF(X509) *, enum attest_tee,
		    const unsigned char *, size_t, time_t, char *, size_t);
int		 attest_x509_chain_product(X509 *, STACK_OF(X509) *,
		    enum attest_tee, const char *, const unsigned char *,
		    size_t, time_t, STACK_OF(X509) **, char *, size_t);
int		 attest_ecdsa_verify(EVP_PKEY *, const EVP_MD *,
		    const unsigned char *, size_t, const unsigned char *,
		    const unsigned char *, size_t, int, char *, size_t);
EVP_PKEY	*attest_p256_key(const unsigned char *, char *, size_t);

#endif
