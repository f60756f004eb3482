/*
 * Attestation evidence, offline: parse AMD SEV-SNP reports and Intel TDX
 * quotes, verify their signatures and certificate chains up to pinned
 * roots at a given time, then apply a policy. Library code: nothing is
 * printed; each check says in its result what passed or what failed.
 *
 * Not checked offline: revocation (AMD and Intel CRLs) and Intel's TCB
 * status and QE identity collateral (PCS), which need the network.
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

/* The checks, in the order they run; attest_check_name() names them. */
enum attest_check_id {
	ATTEST_CHECK_PARSE,		/* the evidence is well formed */
	ATTEST_CHECK_SIGNATURE,		/* SNP: VCEK; TDX: attestation key */
	ATTEST_CHECK_QE_BINDING,	/* TDX: QE report_data holds the key */
	ATTEST_CHECK_QE_REPORT,		/* TDX: QE report signed by the PCK */
	ATTEST_CHECK_CHAIN,		/* certificates up to a pinned root */
	ATTEST_CHECK_DEBUG,		/* debug off, unless allowed */
	ATTEST_CHECK_MEASUREMENT,	/* as expected, when one is given */
	ATTEST_CHECK_REPORT_DATA,	/* as expected, when given */
	ATTEST_CHECK_TCB,		/* at least the minimum, when given */
	ATTEST_CHECK_NONCE,		/* live: the nonce that was sent */
	ATTEST_CHECK_SEAL_KEY,		/* live: X25519 is the seal key */
	ATTEST_CHECK_SIMULATED,		/* live: a simulated TEE, allowed? */
	ATTEST_CHECK_MAX
};

struct attest_check {
	enum attest_check_id	 id;
	int			 ok;
	char			 detail[ATTEST_DETAIL_MAX];
};

/*
 * What to verify. Byte buffers are borrowed; certificates are PEM (any
 * number) or one DER certificate.
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
};

/* What the evidence must show; zero means the defaults. */
struct attest_policy {
	int			 allow_debug;
	const unsigned char	*measurement;	/* 48 bytes, or NULL */
	size_t			 measurement_len;
	const unsigned char	*report_data;	/* <= 64, zero-padded; NULL */
	size_t			 report_data_len;
	const unsigned char	*min_tcb;	/* per-byte minimum, or NULL */
	size_t			 min_tcb_len;	/* SNP 8, TDX 16 */
	time_t			 now;		/* 0: the current time */
};

struct attest_result {
	enum attest_tee		 tee;
	int			 version;	/* report or quote version */
	struct attest_check	 checks[ATTEST_CHECK_MAX];
	size_t			 nchecks;	/* those that applied */
	unsigned char		 measurement[ATTEST_MEASUREMENT_SIZE];
	unsigned char		 report_data[ATTEST_REPORT_DATA_SIZE];
	unsigned char		 tcb[ATTEST_TCB_MAX];
	size_t			 tcb_len;
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

/* An SEV-SNP attestation report: fields by offset, little-endian. */
struct attest_snp_report {
	uint32_t		 version;
	uint32_t		 guest_svn;
	uint64_t		 policy;
	uint32_t		 vmpl;
	uint32_t		 signature_algo;
	uint64_t		 current_tcb;
	uint32_t		 signing_key;	/* 0 VCEK, 1 VLEK */
	unsigned char		 report_data[ATTEST_REPORT_DATA_SIZE];
	unsigned char		 measurement[ATTEST_MEASUREMENT_SIZE];
	unsigned char		 host_data[32];
	unsigned char		 chip_id[64];
	unsigned char		 reported_tcb[8];
	const unsigned char	*signed_part;	/* bytes 0..0x29F, borrowed */
	size_t			 signed_len;
	const unsigned char	*sig_r;		/* 72 bytes, little-endian */
	const unsigned char	*sig_s;
};

#define ATTEST_SNP_POLICY_DEBUG	(UINT64_C(1) << 19)

/*
 * Parse the len bytes at p (exactly ATTEST_SNP_REPORT_SIZE). *r borrows
 * from p. Returns 0, or -1 with a message in err.
 */
int	attest_snp_parse(const unsigned char *p, size_t len,
	    struct attest_snp_report *r, char *err, size_t errlen);

/* An Intel TDX quote (v4 or v5) with ECDSA P-256 and QE certification. */
struct attest_tdx_quote {
	uint16_t		 version;
	uint16_t		 att_key_type;	/* 2: ECDSA P-256 */
	uint32_t		 tee_type;	/* 0x81: TDX */
	uint16_t		 body_type;	/* v5: 2 TDX 1.0, 3 TDX 1.5 */
	const unsigned char	*signed_part;	/* header and body */
	size_t			 signed_len;
	unsigned char		 tee_tcb_svn[16];
	unsigned char		 td_attributes[8];
	unsigned char		 mrtd[ATTEST_MEASUREMENT_SIZE];
	unsigned char		 report_data[ATTEST_REPORT_DATA_SIZE];
	const unsigned char	*signature;	/* 64: r, s big-endian */
	const unsigned char	*att_key;	/* 64: x, y */
	const unsigned char	*qe_report;	/* 384: an SGX report body */
	const unsigned char	*qe_signature;	/* 64: r, s big-endian */
	const unsigned char	*qe_auth;
	size_t			 qe_auth_len;
	const unsigned char	*pck_chain;	/* PEM: PCK, CA, root */
	size_t			 pck_chain_len;
	size_t			 trailing;	/* bytes after the quote */
};

#define ATTEST_TDX_QE_REPORT_SIZE	384
#define ATTEST_TDX_ATTR_DEBUG		0x01	/* td_attributes[0] */

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
};

extern const struct attest_root	attest_roots[];
extern const size_t		attest_roots_size;

#endif
