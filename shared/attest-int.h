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

/* attest-snp-signer.c: the index in certs of the signer SIGNING_KEY
 * names, or -1 with err (none of that kind, or several). */
int	 attest_snp_signer_pick(STACK_OF(X509) *, uint32_t, char *, size_t);

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
X509		*attest_root_load(const struct attest_root *, char *, size_t);

/* attest-tdx-collateral.c: Intel's collateral for TDX, offline. */
#define ATTEST_TDX_TCB_LEVELS_MAX	64	/* in one TCB info */
#define ATTEST_TDX_MODULES_MAX		8	/* TDX module identities */
#define ATTEST_TDX_LEVELS_MAX		16	/* of a module or the QE */

/* The PCK certificate's SGX extensions (OID 1.2.840.113741.1.13.1). */
struct attest_tdx_pck {
	unsigned char	 ppid[16];
	unsigned char	 cpusvn[16];	/* TCB components 1..16 */
	uint16_t	 pcesvn;
	unsigned char	 raw_cpusvn[16];
	unsigned char	 pceid[2];
	unsigned char	 fmspc[6];
	int		 sgx_type;	/* 0 standard, 1 scalable, 2 ... */
};

/* A TCB level rated by one ISVSVN (the QE's, a TDX module's). */
struct attest_tdx_isv_level {
	uint16_t	 isvsvn;
	int		 status;	/* enum attest_tcb_status */
};

struct attest_tdx_module {
	char		 id[16];	/* "TDX_01"; "" for tdxModule */
	unsigned char	 mrsigner[48];
	unsigned char	 attributes[8];
	unsigned char	 attributes_mask[8];
	struct attest_tdx_isv_level levels[ATTEST_TDX_LEVELS_MAX];
	size_t		 nlevels;
};

struct attest_tdx_tcb_level {
	unsigned char	 sgx[16];	/* sgxtcbcomponents' svn */
	uint16_t	 pcesvn;
	unsigned char	 tdx[16];	/* tdxtcbcomponents' svn */
	int		 status;
	char		 date[32];
};

/* Intel's TCB info, TDX, version 3; signed_part borrows the input. */
struct attest_tdx_tcb_info {
	time_t		 issue_date;
	time_t		 next_update;
	unsigned char	 fmspc[6];
	unsigned char	 pceid[2];
	unsigned	 evaluation;	/* tcbEvaluationDataNumber */
	struct attest_tdx_module module;	/* tdxModule */
	struct attest_tdx_module modules[ATTEST_TDX_MODULES_MAX];
	size_t		 nmodules;
	struct attest_tdx_tcb_level levels[ATTEST_TDX_TCB_LEVELS_MAX];
	size_t		 nlevels;
	const unsigned char *signed_part;
	size_t		 signed_len;
	unsigned char	 signature[64];
};

/* Intel's TD QE identity, version 2; signed_part borrows the input. */
struct attest_tdx_qe_identity {
	char		 id[8];
	int		 version;
	time_t		 issue_date;
	time_t		 next_update;
	unsigned	 evaluation;
	uint32_t	 miscselect;
	uint32_t	 miscselect_mask;
	unsigned char	 attributes[16];
	unsigned char	 attributes_mask[16];
	unsigned char	 mrsigner[32];
	uint16_t	 isvprodid;
	struct attest_tdx_isv_level levels[ATTEST_TDX_LEVELS_MAX];
	size_t		 nlevels;
	const unsigned char *signed_part;
	size_t		 signed_len;
	unsigned char	 signature[64];
};

/* What attest_tdx_collateral_check() verified. */
struct attest_tdx_collateral {
	int				 have_tcb_info;
	int				 have_qe_identity;
	struct attest_tdx_tcb_info	 tcb_info;
	struct attest_tdx_qe_identity	 qe_identity;
};

extern const struct attest_tdx_qe_identity attest_tdx_qe_pinned;
extern const unsigned char attest_tdx_intel_qe_vendor[];

int	 attest_tdx_pck_parse(const unsigned char *, size_t,
	    struct attest_tdx_pck *, char *, size_t);
int	 attest_tdx_pck_ext(X509 *, struct attest_tdx_pck *, char *, size_t);
int	 attest_tdx_tcb_info_parse(const unsigned char *, size_t,
	    struct attest_tdx_tcb_info *, char *, size_t);
int	 attest_tdx_qe_identity_parse(const unsigned char *, size_t,
	    struct attest_tdx_qe_identity *, char *, size_t);
void	 attest_tdx_collateral_check(const struct attest_input *,
	    const struct attest_policy *, struct attest_result *,
	    struct attest_tdx_collateral *);
int	 attest_tdx_qe_status(const struct attest_tdx_qe_identity *,
	    const struct attest_tdx_quote *, char *, size_t);
int	 attest_tdx_tcb_status(const struct attest_tdx_tcb_info *,
	    const struct attest_tdx_pck *, const struct attest_tdx_quote *,
	    int, char *, size_t);
void	 attest_tdx_revocation_check(X509 *, STACK_OF(X509) *,
	    const struct attest_input *, time_t, struct attest_result *);

#endif
