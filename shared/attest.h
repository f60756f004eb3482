/*
 * Attestation evidence, offline: parse AMD SEV-SNP reports and Intel TDX
 * quotes, verify their signatures and certificate chains up to pinned
 * roots at a given time, then apply a policy. Library code: nothing is
 * printed; each check says in its result what passed or what failed.
 *
 * Nothing is fetched: revocation lists (AMD KDS, Intel PCK and root) and
 * Intel's signed TCB info and QE identity are given as files, so it works
 * offline and air-gapped; without them those checks are absent (the
 * quoting enclave is then held to pinned values). A policy is a struct
 * attest_policy, or a JSON file read by attest-policy.c
 * (cube-attest-policy(5)).
 */
#ifndef CUBE_ATTEST_H
#define CUBE_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ATTEST_SNP_REPORT_SIZE	1184	/* an SEV-SNP attestation report */
#define ATTEST_EVIDENCE_MAX	65536	/* bytes of a report or quote */
#define ATTEST_CERTS_MAX	65536	/* bytes of a certificate file */
#define ATTEST_DETAIL_MAX	256

#define ATTEST_MEASUREMENT_SIZE	48	/* SNP measurement, TDX MRTD */
#define ATTEST_REPORT_DATA_SIZE	64
#define ATTEST_TCB_MAX		16	/* SNP 8 bytes, TDX TEE_TCB_SVN 16 */

enum attest_tee {
	ATTEST_TEE_SEV_SNP,
	ATTEST_TEE_TDX,
};

/*
 * The checks. Each names itself (attest_check_name()) and says in its
 * detail what passed or why it failed; those that do not apply to the
 * evidence or the policy are not in the result.
 */
enum attest_check_id {
	ATTEST_CHECK_PARSE,		/* the evidence is well formed */
	ATTEST_CHECK_SIGNATURE,		/* SNP: VCEK/VLEK; TDX: att. key */
	ATTEST_CHECK_QE_BINDING,	/* TDX: QE report_data holds the key */
	ATTEST_CHECK_QE_REPORT,		/* TDX: QE report signed by the PCK */
	ATTEST_CHECK_QE_IDENTITY,	/* TDX: the QE is Intel's TD QE */
	ATTEST_CHECK_CHAIN,		/* certificates up to a pinned root */
	ATTEST_CHECK_PRODUCT,		/* SNP: the root of the report's CPU */
	ATTEST_CHECK_SIGNING_KEY,	/* SNP: VCEK or VLEK, as reported */
	ATTEST_CHECK_CERT_TCB,		/* SNP: the VCEK's TCB is the report's */
	ATTEST_CHECK_CHIP_ID,		/* SNP: the VCEK's hwid is CHIP_ID */
	ATTEST_CHECK_REVOCATION,	/* CRLs given: nothing revoked */
	ATTEST_CHECK_COLLATERAL,	/* TDX: TCB info, QE identity signed */
	ATTEST_CHECK_TCB_STATUS,	/* TDX: a status the policy accepts */
	ATTEST_CHECK_DEBUG,		/* debug off, unless allowed */
	ATTEST_CHECK_MIGRATION,		/* SNP: no migration agent */
	ATTEST_CHECK_VMPL,		/* SNP: at most the VMPL allowed */
	ATTEST_CHECK_GUEST_POLICY,	/* SNP: ABI, SMT, socket, ciphertext */
	ATTEST_CHECK_PLATFORM,		/* SNP: PLATFORM_INFO bits */
	ATTEST_CHECK_PROVISIONAL,	/* SNP: committed TCB is current */
	ATTEST_CHECK_GUEST_SVN,		/* SNP: at least the minimum */
	ATTEST_CHECK_TD_ATTRIBUTES,	/* TDX: under mask, SEPT_VE_DISABLE */
	ATTEST_CHECK_XFAM,		/* TDX: under mask */
	ATTEST_CHECK_MEASUREMENT,	/* SNP MEASUREMENT, TDX MRTD */
	ATTEST_CHECK_RTMR0,		/* TDX: firmware configuration */
	ATTEST_CHECK_RTMR1,		/* TDX: kernel, initrd, cmdline */
	ATTEST_CHECK_RTMR2,		/* TDX: OS and applications */
	ATTEST_CHECK_RTMR3,
	ATTEST_CHECK_MRSEAM,		/* TDX: the TDX module */
	ATTEST_CHECK_MRCONFIGID,
	ATTEST_CHECK_MROWNER,
	ATTEST_CHECK_MROWNERCONFIG,
	ATTEST_CHECK_HOST_DATA,		/* SNP */
	ATTEST_CHECK_ID_KEY,		/* SNP: ID key digest */
	ATTEST_CHECK_AUTHOR_KEY,	/* SNP: author key digest */
	ATTEST_CHECK_FAMILY_ID,		/* SNP */
	ATTEST_CHECK_IMAGE_ID,		/* SNP */
	ATTEST_CHECK_REPORT_DATA,	/* as expected, when given */
	ATTEST_CHECK_TCB,		/* at least the minimum, when given */
	ATTEST_CHECK_NONCE,		/* live: the nonce that was sent */
	ATTEST_CHECK_SEAL_KEY,		/* live: X25519 is the seal key */
	ATTEST_CHECK_SIMULATED,		/* live: a simulated TEE, allowed? */
	ATTEST_CHECK_TLS_KEY,		/* live: the connection's key, bound */
	ATTEST_CHECK_TEE,		/* the TEE a policy file names */
	ATTEST_CHECK_MAX
};

#define ATTEST_RESULT_CHECKS	64	/* room in a result */

struct attest_check {
	enum attest_check_id	 id;
	int			 ok;
	char			 detail[ATTEST_DETAIL_MAX];
};

/*
 * What to verify. Byte buffers are borrowed; certificates are PEM (any
 * number) or one DER certificate; CRLs are PEM (any number) or one DER.
 */
struct attest_input {
	enum attest_tee		 tee;
	const unsigned char	*evidence;	/* the report or quote */
	size_t			 evidence_len;
	const unsigned char	*vcek;		/* SNP: VCEK or VLEK, or NULL */
	size_t			 vcek_len;
	const unsigned char	*chain;		/* SNP: ASK, ARK; NULL: pinned */
	size_t			 chain_len;
	const unsigned char	*root;		/* trust this instead of the */
	size_t			 root_len;	/* pinned ARKs or Intel root */
	const unsigned char	*crls;		/* AMD KDS, Intel PCK/root */
	size_t			 crls_len;
	const unsigned char	*tcb_info;	/* TDX: Intel's signed JSON */
	size_t			 tcb_info_len;
	const unsigned char	*qe_identity;	/* TDX: Intel's signed JSON */
	size_t			 qe_identity_len;
	const unsigned char	*collateral_chain; /* TDX: TCB signing cert */
	size_t			 collateral_chain_len;
};

/*
 * Values a policy accepts for one field: any of n, each len bytes (at
 * most 64; report_data may be shorter, zero-padded). n 0: not checked.
 */
#define ATTEST_VALUES_MAX	16

struct attest_values {
	size_t			 n;
	size_t			 len;
	unsigned char		 v[ATTEST_VALUES_MAX][ATTEST_REPORT_DATA_SIZE];
};

/* SEV-SNP guest policy and PLATFORM_INFO bits (AMD SEV-SNP ABI). */
#define ATTEST_SNP_POLICY_SMT		(UINT64_C(1) << 16)
#define ATTEST_SNP_POLICY_MIGRATE_MA	(UINT64_C(1) << 18)
#define ATTEST_SNP_POLICY_DEBUG		(UINT64_C(1) << 19)
#define ATTEST_SNP_POLICY_SINGLE_SOCKET	(UINT64_C(1) << 20)
#define ATTEST_SNP_POLICY_CIPHERTEXT_HIDING (UINT64_C(1) << 24)

/* SNP products, a bit each in attest_snp_policy.products. */
enum attest_snp_product {
	ATTEST_SNP_MILAN,
	ATTEST_SNP_GENOA,
	ATTEST_SNP_TURIN,
	ATTEST_SNP_PRODUCTS
};

struct attest_snp_policy {
	unsigned		 max_vmpl;	/* 0 by default */
	int			 allow_migration_agent;
	int			 allow_provisional_firmware;
	int			 require_no_smt;
	int			 require_single_socket;
	int			 require_ciphertext_hiding;
	unsigned		 min_abi_major;
	unsigned		 min_abi_minor;
	uint32_t		 min_guest_svn;
	uint64_t		 platform_require;	/* PLATFORM_INFO bits */
	uint64_t		 platform_forbid;
	unsigned		 products;	/* 1 << product; 0: any */
	int			 signer;	/* 0 any, 1 VCEK, 2 VLEK */
	struct attest_values	 host_data;	/* 32 bytes */
	struct attest_values	 id_key_digest;	/* 48 bytes */
	struct attest_values	 author_key_digest;
	struct attest_values	 family_id;	/* 16 bytes */
	struct attest_values	 image_id;
};

/* Intel TCB statuses, a bit each in attest_tdx_policy.tcb_statuses. */
enum attest_tcb_status {
	ATTEST_TCB_UP_TO_DATE,
	ATTEST_TCB_SW_HARDENING_NEEDED,
	ATTEST_TCB_CONFIGURATION_NEEDED,
	ATTEST_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	ATTEST_TCB_OUT_OF_DATE,
	ATTEST_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	ATTEST_TCB_REVOKED,
	ATTEST_TCB_STATUSES
};

#define ATTEST_TDX_ATTR_SEPT_VE_DISABLE	(UINT64_C(1) << 28)

struct attest_tdx_policy {
	struct attest_values	 rtmr[4];	/* 48 bytes each */
	struct attest_values	 mrseam;
	struct attest_values	 mrconfigid;
	struct attest_values	 mrowner;
	struct attest_values	 mrownerconfig;
	uint64_t		 td_attributes;	/* must be, under the mask */
	uint64_t		 td_attributes_mask;	/* 0: not checked */
	int			 allow_sept_ve;	/* SEPT_VE_DISABLE off */
	uint64_t		 xfam;
	uint64_t		 xfam_mask;	/* 0: not checked */
	unsigned		 tcb_statuses;	/* 1 << status; 0: default */
	int			 require_collateral;	/* no TCB info: fail */
};

/*
 * What the evidence must show; zero means the safe defaults: debugging
 * off, no migration agent, VMPL 0, SEPT_VE_DISABLE set, the current
 * time. Values not given are not checked.
 */
struct attest_policy {
	int			 allow_debug;
	struct attest_values	 measurement;	/* 48 bytes */
	struct attest_values	 report_data;	/* <= 64, zero-padded */
	const unsigned char	*min_tcb;	/* per-byte minimum, or NULL */
	size_t			 min_tcb_len;	/* SNP 8, TDX 16 */
	time_t			 now;		/* 0: the current time */
	struct attest_snp_policy snp;
	struct attest_tdx_policy tdx;
};

/*
 * Add one accepted value of len bytes (every value of a field has the
 * same length). Returns 0, or -1 when full or of another length.
 */
int		 attest_values_add(struct attest_values *,
		    const unsigned char *, size_t len);
/* The product's name ("Milan"), or NULL for an unknown one. */
const char	*attest_snp_product_name(enum attest_snp_product);
const char	*attest_tcb_status_name(enum attest_tcb_status);

struct attest_result {
	enum attest_tee		 tee;
	int			 version;	/* report or quote version */
	struct attest_check	 checks[ATTEST_RESULT_CHECKS];
	size_t			 nchecks;	/* those that applied */
	unsigned char		 measurement[ATTEST_MEASUREMENT_SIZE];
	unsigned char		 report_data[ATTEST_REPORT_DATA_SIZE];
	unsigned char		 tcb[ATTEST_TCB_MAX];
	size_t			 tcb_len;
	char			 product[16];	/* SNP: "Milan"...; "" */
	char			 signer[8];	/* SNP: "VCEK", "VLEK" */
	char			 tcb_status[48];	/* TDX with TCB info */
	uint64_t		 guest_policy;	/* SNP: POLICY; TDX: TD_ATTRIBUTES */
	int			 parsed;	/* the fields above are set */
	int			 verified;	/* every check passed */
};

/*
 * Verify in against policy (NULL: the defaults) into *res. Every check
 * that applies runs, so the result names each failure, not only the
 * first. Returns 0 when every check passed, else -1.
 */
int		 attest_verify(const struct attest_input *in,
		    const struct attest_policy *policy,
		    struct attest_result *res);
const char	*attest_check_name(enum attest_check_id);
const char	*attest_tee_name(enum attest_tee);	/* "sev-snp", "tdx" */
/* Lower-case hex of len bytes into buf (2 * len + 1 bytes, else cut). */
char		*attest_hex(const unsigned char *p, size_t len, char *buf,
		    size_t buflen);
/*
 * The guest's security flags in words, from guest_policy: SEV-SNP's
 * debugging, migration agent, SMT and single socket bits, TDX's debug
 * and SEPT_VE_DISABLE ("debug off, migration agent off, SMT allowed,
 * any sockets"). "" when nothing was parsed.
 */
char		*attest_guest_flags(const struct attest_result *, char *buf,
		    size_t buflen);
/* The first failed check, or NULL. */
const struct attest_check *attest_result_failed(const struct attest_result *);

/*
 * attest-binding.c: the agent's report_data, binding its keys and the
 * client's nonce to the evidence:
 *
 *	SHA-512(ATTEST_BINDING_LABEL || 0x00 || nonce length (1 byte) ||
 *	    nonce || X25519 public key || Ed25519 public key ||
 *	    SHA-256 of the TLS certificate's SubjectPublicKeyInfo (DER),
 *	    32 zero bytes without TLS)
 */
#define ATTEST_BINDING_LABEL	"cube attestation report_data v1"
#define ATTEST_NONCE_MIN	8
#define ATTEST_NONCE_MAX	64

struct attest_binding {
	const unsigned char	*nonce;		/* borrowed */
	size_t			 nonce_len;
	unsigned char		 x25519[32];	/* the agent's seal key */
	unsigned char		 ed25519[32];	/* the agent's identity key */
	unsigned char		 tls_spki_sha256[32];	/* zeros: no TLS */
};

/* The 64 bytes of report_data for b. Returns 0, or -1 with err. */
int	attest_binding_digest(const struct attest_binding *b,
	    unsigned char out[ATTEST_REPORT_DATA_SIZE], char *err,
	    size_t errlen);

/*
 * attest-live.c: the evidence an agent gives for a nonce (attestation.get
 * or GET /attestation, docs/admin-api.md), checked whole: the report or
 * quote as attest_verify() does, its report_data against the binding
 * recomputed from the nonce sent and the keys returned, the nonce, the
 * seal key, and whether the TEE is simulated. Simulated evidence passes
 * only when allowed, and then chains to the root given, else to the
 * simulated root the agent sent; real evidence never trusts a root it
 * brings along.
 */
struct attest_live_policy {
	struct attest_policy	 policy;	/* measurement, debug, TCB, now */
	const unsigned char	*nonce;		/* what was sent */
	size_t			 nonce_len;
	const unsigned char	*seal_key;	/* 32 bytes, or NULL: unchecked */
	int			 allow_simulated;
	const unsigned char	*root;		/* trust this instead, or NULL */
	size_t			 root_len;
	/* Its crls, tcb_info, qe_identity and collateral_chain, or NULL. */
	const struct attest_input *collateral;
	/*
	 * SHA-256 of the SubjectPublicKeyInfo of the certificate the TLS
	 * connection that brought the evidence used, or NULL: then the
	 * binding is recomputed with it (not with the key the evidence
	 * names), and the tls-key check says whether they are the same.
	 */
	const unsigned char	*tls_spki_sha256;
};

/* What the evidence says besides the checks; strings borrow from doc. */
struct attest_live_info {
	const char		*tee;		/* the agent's provider name */
	const char		*format;	/* "sev-snp", "tdx", ... */
	int			 simulated;
};

struct cJSON;
/* Returns 0 when every check passed, else -1; res names each check. */
int	attest_live_verify(const struct cJSON *doc,
	    const struct attest_live_policy *, struct attest_live_info *,
	    struct attest_result *res);

/*
 * The TLS key an agent reports apart from its evidence (its status
 * result's "tls" object: {on, spki_sha256, ...}, docs/admin-api.md)
 * against the one the evidence doc binds (tls_pubkey_sha256, which
 * attest_live_verify checks in report_data) and the SubjectPublicKeyInfo
 * it carries (tls_spki): adds the "tls-key" check to res, passed only
 * when all three agree (or all say there is no TLS). status NULL (none
 * yet), a malformed one, or any disagreement fails it, and with it
 * res->verified: fail closed.
 */
void	attest_live_tls_agree(const struct cJSON *doc,
	    const struct cJSON *status, struct attest_result *res);

/*
 * attest-policy.c: policy files, JSON, described in cube-attest-policy(5).
 * Read into struct attest_policy and, for what is not policy, struct
 * attest_policy_file. Unknown or repeated keys, values of the wrong type
 * or length and versions other than ATTEST_POLICY_VERSION are refused,
 * the message naming the key ("sev_snp.max_vmpl: not a number 0..3").
 */
#define ATTEST_POLICY_VERSION	1
#define ATTEST_POLICY_FILE_MAX	65536	/* bytes of a policy file */
#define ATTEST_POLICY_CRLS_MAX	16

struct attest_policy_file {
	int			 tee_given;	/* 0: evidence of any TEE */
	enum attest_tee		 tee;
	int			 allow_simulated;	/* live evidence only */
	/* The agent's https providers: a CA must also vouch for the key. */
	int			 tls_ca;
	unsigned char		 min_tcb[ATTEST_TCB_MAX];	/* policy's */
	/* Collateral files, relative ones resolved against the policy
	 * file's directory; NULL when not named. Owned. */
	char			*tcb_info;
	char			*qe_identity;
	char			*collateral_chain;
	char			*crls[ATTEST_POLICY_CRLS_MAX];
	size_t			 ncrls;
};

/*
 * Parse len bytes of text into *policy and *file, both written only on
 * success; relative collateral paths are joined to dir (NULL: left as
 * they are). policy->min_tcb points into file. Returns 0, or -1 with the
 * reason in err. Free file's paths with attest_policy_file_clear().
 */
int	attest_policy_parse(const char *text, size_t len, const char *dir,
	    struct attest_policy *policy, struct attest_policy_file *file,
	    char *err, size_t errlen);
/* Read path (at most ATTEST_POLICY_FILE_MAX bytes) as _parse does. */
int	attest_policy_load(const char *path, struct attest_policy *policy,
	    struct attest_policy_file *file, char *err, size_t errlen);
/* Free file's paths and zero it. NULL: nothing. Zero is no file. */
void	attest_policy_file_clear(struct attest_policy_file *file);
/*
 * When file names a TEE and res parsed evidence, add the "tee" check:
 * the evidence is of that TEE.
 */
void	attest_policy_tee_check(const struct attest_policy_file *file,
	    struct attest_result *res);

/* SEV-SNP PLATFORM_INFO bits (AMD SEV-SNP ABI, ATTESTATION_REPORT). */
#define ATTEST_SNP_PLATFORM_SMT		(UINT64_C(1) << 0)
#define ATTEST_SNP_PLATFORM_TSME	(UINT64_C(1) << 1)
#define ATTEST_SNP_PLATFORM_ECC		(UINT64_C(1) << 2)
#define ATTEST_SNP_PLATFORM_RAPL_DIS	(UINT64_C(1) << 3)
#define ATTEST_SNP_PLATFORM_CIPHERTEXT_HIDING (UINT64_C(1) << 4)
#define ATTEST_SNP_PLATFORM_ALIAS_CHECK_COMPLETE (UINT64_C(1) << 5)
#define ATTEST_SNP_PLATFORM_TIO		(UINT64_C(1) << 7)

/* The report's key information (offset 0x48). */
#define ATTEST_SNP_AUTHOR_KEY_EN	0x01
#define ATTEST_SNP_MASK_CHIP_ID		0x02
#define ATTEST_SNP_KEY_VCEK		0	/* SIGNING_KEY, bits 2-4 */
#define ATTEST_SNP_KEY_VLEK		1
#define ATTEST_SNP_KEY_NONE		7

/*
 * attest-snp-signer.c: split the certificates an SEV-SNP report came with
 * (PEM, any order, or one DER) into its signer and the rest, its chain.
 * The report's SIGNING_KEY (0 VCEK, 1 VLEK) says which kind signed it;
 * the certificate of that kind is the one whose subject CN is SEV-VCEK
 * or SEV-VLEK. None of that kind, or two,
 * fails, naming the certificates there are. The name only picks: the
 * signature and chain checks decide trust.
 */
struct attest_snp_signer {
	char			*signer;	/* PEM: the VCEK or VLEK */
	size_t			 signer_len;
	char			*chain;		/* PEM: the others; NULL: none */
	size_t			 chain_len;
	const char		*kind;		/* "VCEK", "VLEK" */
};

/* 0 with *out filled (clear it after), or -1 with err. */
int	attest_snp_signer_split(const unsigned char *certs, size_t len,
	    uint32_t signing_key, struct attest_snp_signer *out, char *err,
	    size_t errlen);
/* Free what out holds; NULL is a no-op. */
void	attest_snp_signer_clear(struct attest_snp_signer *);

/*
 * An SEV-SNP attestation report: fields by offset, little-endian. TCB
 * values are 8 bytes as reported, one security patch level a byte, in the
 * product's layout (Milan, Genoa: boot loader, TEE, 4 reserved, SNP,
 * microcode; Turin: FMC, boot loader, TEE, SNP, 3 reserved, microcode).
 */
struct attest_snp_report {
	uint32_t		 version;
	uint32_t		 guest_svn;
	uint64_t		 policy;
	unsigned char		 family_id[16];
	unsigned char		 image_id[16];
	uint32_t		 vmpl;
	uint32_t		 signature_algo;
	uint64_t		 current_tcb;
	uint64_t		 platform_info;
	uint32_t		 key_info;	/* AUTHOR_KEY_EN, MASK_CHIP_ID */
	uint32_t		 signing_key;	/* ATTEST_SNP_KEY_* */
	unsigned char		 report_data[ATTEST_REPORT_DATA_SIZE];
	unsigned char		 measurement[ATTEST_MEASUREMENT_SIZE];
	unsigned char		 host_data[32];
	unsigned char		 id_key_digest[48];
	unsigned char		 author_key_digest[48];
	unsigned char		 report_id[32];
	unsigned char		 report_id_ma[32];
	unsigned char		 reported_tcb[8];
	int			 has_cpuid;	/* version 3 and later */
	uint8_t			 cpuid_family;	/* CPUID_FAM_ID, extended */
	uint8_t			 cpuid_model;	/* CPUID_MOD_ID, extended */
	uint8_t			 cpuid_stepping;
	unsigned char		 chip_id[64];
	unsigned char		 committed_tcb[8];
	uint8_t			 current_build, current_minor, current_major;
	uint8_t			 committed_build, committed_minor,
				 committed_major;
	unsigned char		 launch_tcb[8];
	uint64_t		 launch_mit_vector;	/* version 5 */
	uint64_t		 current_mit_vector;
	const unsigned char	*signed_part;	/* bytes 0..0x29F, borrowed */
	size_t			 signed_len;
	const unsigned char	*sig_r;		/* 72 bytes, little-endian */
	const unsigned char	*sig_s;
};

/*
 * Parse the len bytes at p (exactly ATTEST_SNP_REPORT_SIZE), refusing
 * what go-sev-guest's abi.ReportToProto refuses: reserved bits and bytes
 * that are not zero, reserved SIGNING_KEY values. *r borrows from p.
 * Returns 0, or -1 with a message in err.
 */
int	attest_snp_parse(const unsigned char *p, size_t len,
	    struct attest_snp_report *r, char *err, size_t errlen);
/* The product of a version 3+ report's CPUID fields, or -1. */
int	attest_snp_report_product(const struct attest_snp_report *);

/*
 * attest-snp-cert.c: what AMD's KDS writes into a VCEK or VLEK
 * certificate (X.509 extensions under 1.3.6.1.4.1.3704.1, AMD 57230).
 */
enum attest_snp_spl {			/* 1.3.6.1.4.1.3704.1.3.N, N - 1 */
	ATTEST_SNP_SPL_BL,
	ATTEST_SNP_SPL_TEE,
	ATTEST_SNP_SPL_SNP,
	ATTEST_SNP_SPL_4,
	ATTEST_SNP_SPL_5,
	ATTEST_SNP_SPL_6,
	ATTEST_SNP_SPL_7,
	ATTEST_SNP_SPL_UCODE,
	ATTEST_SNP_SPL_FMC,		/* Turin */
	ATTEST_SNP_SPLS
};

struct attest_snp_cert {
	int			 kind;		/* ATTEST_SNP_KEY_VCEK, _VLEK */
	unsigned		 struct_version;
	char			 product_name[32];	/* "Milan-B0", "Genoa" */
	int			 product;	/* enum attest_snp_product */
	unsigned		 spl_present;	/* 1 << enum attest_snp_spl */
	uint8_t			 spl[ATTEST_SNP_SPLS];
	unsigned char		 hwid[64];	/* VCEK: 64 bytes, Turin 8 */
	size_t			 hwid_len;
	char			 csp_id[64];	/* VLEK: the cloud provider */
};

/*
 * The AMD extensions of the certificate in len bytes at p (PEM or DER;
 * the first certificate). Unknown extensions under AMD's arc, duplicates,
 * malformed values, a VCEK without hwid or a VLEK without csp_id are
 * refused. Returns 0, or -1 with err.
 */
int	attest_snp_cert_parse(const unsigned char *p, size_t len,
	    struct attest_snp_cert *c, char *err, size_t errlen);
/*
 * The certificate's TCB in the product's REPORTED_TCB layout (8 bytes).
 * Returns 0, or -1 with err when a level it needs is missing.
 */
int	attest_snp_cert_tcb(const struct attest_snp_cert *c, int product,
	    unsigned char tcb[8], char *err, size_t errlen);

/*
 * An Intel TDX quote (v4 or v5) with ECDSA P-256 and QE certification:
 * the header, the whole TD quote body (TDX 1.0, and TDX 1.5's two extra
 * fields, zero for a 1.0 body), and the QE's SGX report body.
 */
#define ATTEST_TDX_QE_VENDOR_SIZE	16
#define ATTEST_COLLATERAL_MAX	1048576	/* bytes of a JSON or CRL file */
#define ATTEST_TDX_RTMRS		4

struct attest_tdx_quote {
	uint16_t		 version;
	uint16_t		 att_key_type;	/* 2: ECDSA P-256 */
	uint32_t		 tee_type;	/* 0x81: TDX */
	uint16_t		 qe_svn;	/* header: QE and PCE SVN as */
	uint16_t		 pce_svn;	/* the quote claims them */
	unsigned char		 qe_vendor_id[ATTEST_TDX_QE_VENDOR_SIZE];
	unsigned char		 user_data[20];
	uint16_t		 body_type;	/* v5: 2 TDX 1.0, 3 TDX 1.5 */
	const unsigned char	*signed_part;	/* header and body */
	size_t			 signed_len;
	unsigned char		 tee_tcb_svn[16];
	unsigned char		 mrseam[48];	/* the TDX module */
	unsigned char		 mrsignerseam[48];
	unsigned char		 seam_attributes[8];
	unsigned char		 td_attributes[8];
	unsigned char		 xfam[8];
	unsigned char		 mrtd[ATTEST_MEASUREMENT_SIZE];
	unsigned char		 mrconfigid[48];
	unsigned char		 mrowner[48];
	unsigned char		 mrownerconfig[48];
	unsigned char		 rtmr[ATTEST_TDX_RTMRS][48];
	unsigned char		 report_data[ATTEST_REPORT_DATA_SIZE];
	unsigned char		 tee_tcb_svn2[16];	/* TDX 1.5 */
	unsigned char		 mrservicetd[48];	/* TDX 1.5 */
	const unsigned char	*signature;	/* 64: r, s big-endian */
	const unsigned char	*att_key;	/* 64: x, y */
	const unsigned char	*qe_report;	/* 384: an SGX report body */
	const unsigned char	*qe_signature;	/* 64: r, s big-endian */
	const unsigned char	*qe_auth;
	size_t			 qe_auth_len;
	const unsigned char	*pck_chain;	/* PEM: PCK, CA, root */
	size_t			 pck_chain_len;
	size_t			 trailing;	/* bytes after the quote */
	/* The QE report's fields (SGX REPORTBODY, little-endian). */
	unsigned char		 qe_cpusvn[16];
	uint32_t		 qe_miscselect;
	unsigned char		 qe_attributes[16];
	unsigned char		 qe_mrenclave[32];
	unsigned char		 qe_mrsigner[32];
	uint16_t		 qe_isvprodid;
	uint16_t		 qe_isvsvn;
};

#define ATTEST_TDX_QE_REPORT_SIZE	384
#define ATTEST_TDX_ATTR_DEBUG		0x01	/* td_attributes[0] */
#define ATTEST_SGX_ATTR_DEBUG		0x02	/* qe_attributes[0] */

/* Parse a quote as attest_snp_parse does a report. */
int	attest_tdx_parse(const unsigned char *p, size_t len,
	    struct attest_tdx_quote *q, char *err, size_t errlen);

/* attest-roots.c: the pinned certificates. */
enum attest_root_kind {
	ATTEST_ROOT_TRUSTED,		/* a trust anchor */
	ATTEST_ROOT_INTERMEDIATE,	/* offered when no chain is given */
};

struct attest_root {
	enum attest_tee		 tee;
	enum attest_root_kind	 kind;
	const char		*name;
	const char		*sha256;	/* of the DER, hex */
	const char		*pem;
	const char		*product;	/* SNP: "Milan"...; TDX NULL */
};

extern const struct attest_root	attest_roots[];
extern const size_t		attest_roots_size;

#endif
