/*
 * Intel TDX quotes, version 4 and 5, ECDSA P-256: parse the quote, verify
 * its signature by the attestation key, the QE report that vouches for
 * that key (signed by the PCK, binding the key in its report_data), the
 * PCK chain up to the pinned Intel SGX Root CA, and the TD's DEBUG bit.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "attest-int.h"

#define TDX_HEADER_SIZE		48
#define TDX_TEE_TYPE		0x81
#define TDX_ATT_KEY_P256	2
#define TDX_BODY_10_SIZE	584	/* TDX 1.0 TD report body */
#define TDX_BODY_15_SIZE	648	/* TDX 1.5: TEE_TCB_SVN2, MRSERVICETD */
#define TDX_V5_DESCRIPTOR	6	/* body type u16, body size u32 */

/* Offsets in the header. */
#define TDX_HDR_QE_SVN		8
#define TDX_HDR_PCE_SVN		10
#define TDX_HDR_QE_VENDOR	12
#define TDX_HDR_USER_DATA	28

/* Offsets in the TD quote body (TDX module ABI, TDREPORT's TDINFO). */
#define TDX_TEE_TCB_SVN		0
#define TDX_MRSEAM		16
#define TDX_MRSIGNERSEAM	64
#define TDX_SEAM_ATTRIBUTES	112
#define TDX_TD_ATTRIBUTES	120
#define TDX_XFAM		128
#define TDX_MRTD		136
#define TDX_MRCONFIGID		184
#define TDX_MROWNER		232
#define TDX_MROWNERCONFIG	280
#define TDX_RTMR0		328
#define TDX_REPORT_DATA		520
#define TDX_TEE_TCB_SVN2	584	/* TDX 1.5 */
#define TDX_MRSERVICETD		600

/* Offsets in the QE's SGX report body. */
#define SGX_CPUSVN		0
#define SGX_MISCSELECT		16
#define SGX_ATTRIBUTES		48
#define SGX_MRENCLAVE		64
#define SGX_MRSIGNER		128
#define SGX_ISVPRODID		256
#define SGX_ISVSVN		258

/* The ECDSA signature data after the body. */
#define TDX_SIG_SIZE		64
#define TDX_KEY_SIZE		64
#define TDX_CERT_QE_REPORT	6	/* QE report certification data */
#define TDX_CERT_PCK_CHAIN	5	/* PEM: PCK, intermediate, root */
#define TDX_QE_REPORT_DATA	320	/* in the QE's SGX report body */

/* v5 body types and their sizes. */
static const struct {
	uint16_t	 type;
	size_t		 size;
	const char	*name;
} tdx_bodies[] = {
	{ 2, TDX_BODY_10_SIZE, "TDX 1.0" },
	{ 3, TDX_BODY_15_SIZE, "TDX 1.5" },
};

/* A bounded reader over the quote. */
struct tdx_reader {
	const unsigned char	*p;
	size_t			 len;
	size_t			 off;
	int			 short_read;
};

static const unsigned char *
tdx_take(struct tdx_reader *rd, size_t n)
{
	const unsigned char	*p;

	if (rd->short_read || n > rd->len - rd->off) {
		rd->short_read = 1;
		return NULL;
	}
	p = rd->p + rd->off;
	rd->off += n;
	return p;
}

static uint16_t
tdx_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint16_t
tdx_u16(struct tdx_reader *rd)
{
	const unsigned char	*p = tdx_take(rd, 2);

	return p == NULL ? 0 : tdx_le16(p);
}

static uint32_t
tdx_u32(struct tdx_reader *rd)
{
	const unsigned char	*p = tdx_take(rd, 4);

	return p == NULL ? 0 : (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Every field of a TD quote body of size bytes (TDX 1.0 or 1.5). */
static void
tdx_body_fields(const unsigned char *body, size_t size,
    struct attest_tdx_quote *q)
{
	size_t	i;

	memcpy(q->tee_tcb_svn, body + TDX_TEE_TCB_SVN, sizeof(q->tee_tcb_svn));
	memcpy(q->mrseam, body + TDX_MRSEAM, sizeof(q->mrseam));
	memcpy(q->mrsignerseam, body + TDX_MRSIGNERSEAM,
	    sizeof(q->mrsignerseam));
	memcpy(q->seam_attributes, body + TDX_SEAM_ATTRIBUTES,
	    sizeof(q->seam_attributes));
	memcpy(q->td_attributes, body + TDX_TD_ATTRIBUTES,
	    sizeof(q->td_attributes));
	memcpy(q->xfam, body + TDX_XFAM, sizeof(q->xfam));
	memcpy(q->mrtd, body + TDX_MRTD, sizeof(q->mrtd));
	memcpy(q->mrconfigid, body + TDX_MRCONFIGID, sizeof(q->mrconfigid));
	memcpy(q->mrowner, body + TDX_MROWNER, sizeof(q->mrowner));
	memcpy(q->mrownerconfig, body + TDX_MROWNERCONFIG,
	    sizeof(q->mrownerconfig));
	for (i = 0; i < ATTEST_TDX_RTMRS; i++)
		memcpy(q->rtmr[i], body + TDX_RTMR0 + i * sizeof(q->rtmr[i]),
		    sizeof(q->rtmr[i]));
	memcpy(q->report_data, body + TDX_REPORT_DATA, sizeof(q->report_data));
	if (size < TDX_BODY_15_SIZE)
		return;
	memcpy(q->tee_tcb_svn2, body + TDX_TEE_TCB_SVN2,
	    sizeof(q->tee_tcb_svn2));
	memcpy(q->mrservicetd, body + TDX_MRSERVICETD, sizeof(q->mrservicetd));
}

/* The fields of the QE's SGX report body, for its identity. */
static void
tdx_qe_fields(const unsigned char *r, struct attest_tdx_quote *q)
{
	memcpy(q->qe_cpusvn, r + SGX_CPUSVN, sizeof(q->qe_cpusvn));
	q->qe_miscselect = (uint32_t)r[SGX_MISCSELECT] |
	    (uint32_t)r[SGX_MISCSELECT + 1] << 8 |
	    (uint32_t)r[SGX_MISCSELECT + 2] << 16 |
	    (uint32_t)r[SGX_MISCSELECT + 3] << 24;
	memcpy(q->qe_attributes, r + SGX_ATTRIBUTES, sizeof(q->qe_attributes));
	memcpy(q->qe_mrenclave, r + SGX_MRENCLAVE, sizeof(q->qe_mrenclave));
	memcpy(q->qe_mrsigner, r + SGX_MRSIGNER, sizeof(q->qe_mrsigner));
	q->qe_isvprodid = tdx_le16(r + SGX_ISVPRODID);
	q->qe_isvsvn = tdx_le16(r + SGX_ISVSVN);
}

/* The header and body, up to the signature data's length. */
static int
tdx_parse_body(struct tdx_reader *rd, struct attest_tdx_quote *q, char *err,
    size_t errlen)
{
	const unsigned char	*body;
	size_t			 i, size = TDX_BODY_10_SIZE;
	uint32_t		 v5size;

	const unsigned char	*hdr;

	q->version = tdx_u16(rd);
	q->att_key_type = tdx_u16(rd);
	q->tee_type = tdx_u32(rd);
	if (tdx_take(rd, TDX_HEADER_SIZE - 8) == NULL) {
		snprintf(err, errlen, "truncated in the header");
		return -1;
	}
	hdr = rd->p;
	q->qe_svn = tdx_le16(hdr + TDX_HDR_QE_SVN);
	q->pce_svn = tdx_le16(hdr + TDX_HDR_PCE_SVN);
	memcpy(q->qe_vendor_id, hdr + TDX_HDR_QE_VENDOR,
	    sizeof(q->qe_vendor_id));
	memcpy(q->user_data, hdr + TDX_HDR_USER_DATA, sizeof(q->user_data));
	if (q->version != 4 && q->version != 5) {
		snprintf(err, errlen, "quote version %u (4 or 5 known)",
		    q->version);
		return -1;
	}
	if (q->tee_type != TDX_TEE_TYPE) {
		snprintf(err, errlen, "TEE type 0x%x, not TDX (0x%x)",
		    q->tee_type, TDX_TEE_TYPE);
		return -1;
	}
	if (q->att_key_type != TDX_ATT_KEY_P256) {
		snprintf(err, errlen, "attestation key type %u (%d: ECDSA"
		    " P-256)", q->att_key_type, TDX_ATT_KEY_P256);
		return -1;
	}
	q->body_type = 2;
	if (q->version == 5) {
		q->body_type = tdx_u16(rd);
		v5size = tdx_u32(rd);
		for (i = 0; i < sizeof(tdx_bodies) / sizeof(tdx_bodies[0]); i++)
			if (tdx_bodies[i].type == q->body_type)
				break;
		if (rd->short_read) {
			snprintf(err, errlen, "truncated in the body"
			    " descriptor");
			return -1;
		}
		if (i == sizeof(tdx_bodies) / sizeof(tdx_bodies[0]) ||
		    v5size != tdx_bodies[i].size) {
			snprintf(err, errlen, "body type %u of %u bytes (2 or"
			    " 3, of %d or %d bytes)", q->body_type, v5size,
			    TDX_BODY_10_SIZE, TDX_BODY_15_SIZE);
			return -1;
		}
		size = v5size;
	}
	if ((body = tdx_take(rd, size)) == NULL) {
		snprintf(err, errlen, "truncated in the body");
		return -1;
	}
	tdx_body_fields(body, size, q);
	q->signed_part = rd->p;
	q->signed_len = rd->off;
	return 0;
}

/* The signature data: signature, key, QE report, its auth data, PCK chain. */
static int
tdx_parse_signature(struct tdx_reader *rd, struct attest_tdx_quote *q,
    char *err, size_t errlen)
{
	struct tdx_reader	 sig, cert;
	const unsigned char	*p;
	uint32_t		 len;
	uint16_t		 type;

	len = tdx_u32(rd);
	if ((p = tdx_take(rd, len)) == NULL) {
		snprintf(err, errlen, "truncated: signature data of %u bytes"
		    " announced, %zu there", len, rd->len - rd->off);
		return -1;
	}
	q->trailing = rd->len - rd->off;
	sig = (struct tdx_reader){ p, len, 0, 0 };
	q->signature = tdx_take(&sig, TDX_SIG_SIZE);
	q->att_key = tdx_take(&sig, TDX_KEY_SIZE);
	type = tdx_u16(&sig);
	len = tdx_u32(&sig);
	if ((p = tdx_take(&sig, len)) == NULL) {
		snprintf(err, errlen, "truncated in the signature data");
		return -1;
	}
	if (type != TDX_CERT_QE_REPORT) {
		snprintf(err, errlen, "certification data type %u (%d: QE"
		    " report)", type, TDX_CERT_QE_REPORT);
		return -1;
	}
	cert = (struct tdx_reader){ p, len, 0, 0 };
	q->qe_report = tdx_take(&cert, ATTEST_TDX_QE_REPORT_SIZE);
	q->qe_signature = tdx_take(&cert, TDX_SIG_SIZE);
	q->qe_auth_len = tdx_u16(&cert);
	q->qe_auth = tdx_take(&cert, q->qe_auth_len);
	type = tdx_u16(&cert);
	len = tdx_u32(&cert);
	if ((q->pck_chain = tdx_take(&cert, len)) == NULL) {
		snprintf(err, errlen, "truncated in the QE certification"
		    " data");
		return -1;
	}
	q->pck_chain_len = len;
	if (type != TDX_CERT_PCK_CHAIN) {
		snprintf(err, errlen, "QE certification data type %u (%d: PCK"
		    " chain)", type, TDX_CERT_PCK_CHAIN);
		return -1;
	}
	tdx_qe_fields(q->qe_report, q);
	return 0;
}

int
attest_tdx_parse(const unsigned char *p, size_t len,
    struct attest_tdx_quote *q, char *err, size_t errlen)
{
	struct tdx_reader	rd = { p, len, 0, 0 };

	memset(q, 0, sizeof(*q));
	if (len > ATTEST_EVIDENCE_MAX) {
		snprintf(err, errlen, "%zu bytes (at most %d)", len,
		    ATTEST_EVIDENCE_MAX);
		return -1;
	}
	if (tdx_parse_body(&rd, q, err, errlen) == -1 ||
	    tdx_parse_signature(&rd, q, err, errlen) == -1)
		return -1;
	return 0;
}

/* Is key an ECDSA P-256 key? */
static int
tdx_is_p256(EVP_PKEY *key)
{
	char	group[32];

	return key != NULL && EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) == 1 &&
	    strcmp(group, "prime256v1") == 0;
}

/* Header and body signed by the attestation key. */
static void
tdx_signature_check(const struct attest_tdx_quote *q,
    struct attest_result *res)
{
	EVP_PKEY	*key;
	char		 err[128];

	if ((key = attest_p256_key(q->att_key, err, sizeof(err))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_SIGNATURE, 0, "attestation"
		    " key: %s", err);
		return;
	}
	if (attest_ecdsa_verify(key, EVP_sha256(), q->signed_part,
	    q->signed_len, q->signature, q->signature + 32, 32, 0, err,
	    sizeof(err)) == -1)
		attest_result_add(res, ATTEST_CHECK_SIGNATURE, 0, "%s with the"
		    " quote's attestation key", err);
	else
		attest_result_add(res, ATTEST_CHECK_SIGNATURE, 1, "ECDSA P-256"
		    " over header and body (%zu bytes) by the attestation key",
		    q->signed_len);
	EVP_PKEY_free(key);
}

/* The QE report signed by the PCK certificate's key. */
static void
tdx_qe_report_check(const struct attest_tdx_quote *q, X509 *pck,
    struct attest_result *res)
{
	EVP_PKEY	*key = X509_get0_pubkey(pck);
	char		 err[128], cn[64];

	/* As QVL and go-tdx-guest: the leaf must be a PCK certificate. */
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(pck),
	    NID_commonName, cn, sizeof(cn)) < 0 ||
	    strstr(cn, "SGX PCK Certificate") == NULL) {
		attest_result_add(res, ATTEST_CHECK_QE_REPORT, 0, "the PCK"
		    " chain's first certificate is not an SGX PCK Certificate");
		return;
	}
	if (!tdx_is_p256(key)) {
		attest_result_add(res, ATTEST_CHECK_QE_REPORT, 0, "the PCK"
		    " certificate's key is not ECDSA P-256");
		return;
	}
	if (attest_ecdsa_verify(key, EVP_sha256(), q->qe_report,
	    ATTEST_TDX_QE_REPORT_SIZE, q->qe_signature, q->qe_signature + 32,
	    32, 0, err, sizeof(err)) == -1)
		attest_result_add(res, ATTEST_CHECK_QE_REPORT, 0, "%s with the"
		    " PCK certificate", err);
	else
		attest_result_add(res, ATTEST_CHECK_QE_REPORT, 1, "signed by"
		    " the PCK certificate");
}

/* QE report_data = SHA-256(attestation key || QE auth data), 32 zeros. */
static void
tdx_qe_binding_check(const struct attest_tdx_quote *q,
    struct attest_result *res)
{
	static const unsigned char	 zeros[32];
	const unsigned char		*rd = q->qe_report + TDX_QE_REPORT_DATA;
	unsigned char			 md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX			*ctx;
	int				 ok;

	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, q->att_key, TDX_KEY_SIZE) == 1 &&
	    EVP_DigestUpdate(ctx, q->qe_auth, q->qe_auth_len) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		attest_result_add(res, ATTEST_CHECK_QE_BINDING, 0, "cannot"
		    " hash the attestation key");
		return;
	}
	if (memcmp(rd, md, sizeof(md)) != 0 ||
	    memcmp(rd + sizeof(md), zeros, sizeof(zeros)) != 0)
		attest_result_add(res, ATTEST_CHECK_QE_BINDING, 0, "the QE"
		    " report does not vouch for the attestation key");
	else
		attest_result_add(res, ATTEST_CHECK_QE_BINDING, 1, "QE"
		    " report_data is SHA-256(attestation key || QE auth data)");
}

static const char *
tdx_body_name(uint16_t type)
{
	size_t	i;

	for (i = 0; i < sizeof(tdx_bodies) / sizeof(tdx_bodies[0]); i++)
		if (tdx_bodies[i].type == type)
			return tdx_bodies[i].name;
	return "unknown";
}

/*
 * The QE is Intel's TD QE: the quote's QE vendor id, the QE report's
 * DEBUG attribute, then its identity (Intel's signed one when given and
 * verified, else the pinned one). Returns the QE's TCB status, or -1.
 */
static int
tdx_qe_identity_check(const struct attest_tdx_quote *q,
    const struct attest_tdx_collateral *c, unsigned statuses,
    struct attest_result *res)
{
	const struct attest_tdx_qe_identity	*id = &attest_tdx_qe_pinned;
	char					 hex[33];
	char					 d[ATTEST_DETAIL_MAX];
	const char				*src = "pinned";
	int					 st;

	if (c->have_qe_identity) {
		id = &c->qe_identity;
		src = "Intel's signed QE identity";
	}
	if (memcmp(q->qe_vendor_id, attest_tdx_intel_qe_vendor,
	    ATTEST_TDX_QE_VENDOR_SIZE) != 0) {
		attest_result_add(res, ATTEST_CHECK_QE_IDENTITY, 0, "QE vendor"
		    " id %s is not Intel's", attest_hex(q->qe_vendor_id,
		    sizeof(q->qe_vendor_id), hex, sizeof(hex)));
		return -1;
	}
	if (q->qe_attributes[0] & ATTEST_SGX_ATTR_DEBUG) {
		attest_result_add(res, ATTEST_CHECK_QE_IDENTITY, 0, "the QE is"
		    " a debug enclave (ATTRIBUTES %s): the host can forge its"
		    " reports", attest_hex(q->qe_attributes,
		    sizeof(q->qe_attributes), hex, sizeof(hex)));
		return -1;
	}
	if ((st = attest_tdx_qe_status(id, q, d, sizeof(d))) == -1) {
		attest_result_add(res, ATTEST_CHECK_QE_IDENTITY, 0, "%s (%s)",
		    d, src);
		return -1;
	}
	/*
	 * Revoked never passes. Any other status folds into the TCB status
	 * when TCB info is given; without it, the QE's own status must be
	 * one the policy accepts.
	 */
	if (st == ATTEST_TCB_REVOKED || (!c->have_tcb_info &&
	    !(statuses & 1u << st))) {
		attest_result_add(res, ATTEST_CHECK_QE_IDENTITY, 0, "%s, not"
		    " accepted (%s)", d, src);
		return -1;
	}
	attest_result_add(res, ATTEST_CHECK_QE_IDENTITY, 1, "%s (%s)", d, src);
	return st;
}

/* The TCB status from verified TCB info, against the policy's list. */
static void
tdx_tcb_status_check(const struct attest_tdx_quote *q, X509 *pck,
    const struct attest_input *in, const struct attest_tdx_collateral *c,
    int qe_status, unsigned statuses, const struct attest_policy *policy,
    struct attest_result *res)
{
	struct attest_tdx_pck	ext;
	char			err[128], d[ATTEST_DETAIL_MAX];
	int			st;

	if (in->tcb_info == NULL) {
		if (policy->tdx.require_collateral)
			attest_result_add(res, ATTEST_CHECK_TCB_STATUS, 0,
			    "no TCB info given");
		return;
	}
	if (!c->have_tcb_info) {
		attest_result_add(res, ATTEST_CHECK_TCB_STATUS, 0, "the TCB"
		    " info did not verify (see collateral)");
		return;
	}
	if (pck == NULL) {
		attest_result_add(res, ATTEST_CHECK_TCB_STATUS, 0, "no PCK"
		    " certificate to rate");
		return;
	}
	if (attest_tdx_pck_ext(pck, &ext, err, sizeof(err)) == -1) {
		attest_result_add(res, ATTEST_CHECK_TCB_STATUS, 0, "PCK"
		    " certificate: %s", err);
		return;
	}
	if ((st = attest_tdx_tcb_status(&c->tcb_info, &ext, q,
	    c->have_qe_identity ? qe_status : -1, d, sizeof(d))) == -1) {
		attest_result_add(res, ATTEST_CHECK_TCB_STATUS, 0, "%s", d);
		return;
	}
	snprintf(res->tcb_status, sizeof(res->tcb_status), "%s",
	    attest_tcb_status_name(st));
	if (statuses & 1u << st)
		attest_result_add(res, ATTEST_CHECK_TCB_STATUS, 1, "%s", d);
	else
		attest_result_add(res, ATTEST_CHECK_TCB_STATUS, 0, "%s: not a"
		    " status the policy accepts", d);
}

static uint64_t
tdx_le64(const unsigned char *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * TD_ATTRIBUTES under the policy's mask, and SEPT_VE_DISABLE: without
 * it the host can inject #VE on EPT violations into the TD.
 */
static void
tdx_td_attributes_check(const struct attest_tdx_quote *q,
    const struct attest_tdx_policy *tp, struct attest_result *res)
{
	uint64_t	a = tdx_le64(q->td_attributes);

	if (tp->td_attributes_mask != 0 &&
	    (a & tp->td_attributes_mask) != tp->td_attributes) {
		attest_result_add(res, ATTEST_CHECK_TD_ATTRIBUTES, 0,
		    "0x%016llx under mask 0x%016llx is not 0x%016llx",
		    (unsigned long long)a,
		    (unsigned long long)tp->td_attributes_mask,
		    (unsigned long long)tp->td_attributes);
		return;
	}
	if (!(a & ATTEST_TDX_ATTR_SEPT_VE_DISABLE) && !tp->allow_sept_ve) {
		attest_result_add(res, ATTEST_CHECK_TD_ATTRIBUTES, 0,
		    "0x%016llx: SEPT_VE_DISABLE (bit 28) is off, the host can inject #VE",
		    (unsigned long long)a);
		return;
	}
	attest_result_add(res, ATTEST_CHECK_TD_ATTRIBUTES, 1, "0x%016llx%s%s",
	    (unsigned long long)a, tp->td_attributes_mask != 0 ?
	    ", as the policy's mask requires" : "",
	    a & ATTEST_TDX_ATTR_SEPT_VE_DISABLE ? ", SEPT_VE_DISABLE on" :
	    ", SEPT_VE_DISABLE off, as allowed");
}

static void
tdx_xfam_check(const struct attest_tdx_quote *q,
    const struct attest_tdx_policy *tp, struct attest_result *res)
{
	uint64_t	x = tdx_le64(q->xfam);

	if (tp->xfam_mask == 0)
		return;
	if ((x & tp->xfam_mask) != tp->xfam)
		attest_result_add(res, ATTEST_CHECK_XFAM, 0, "0x%016llx under"
		    " mask 0x%016llx is not 0x%016llx", (unsigned long long)x,
		    (unsigned long long)tp->xfam_mask,
		    (unsigned long long)tp->xfam);
	else
		attest_result_add(res, ATTEST_CHECK_XFAM, 1, "0x%016llx, as"
		    " the policy's mask requires", (unsigned long long)x);
}

/* The measured fields against the values the policy accepts. */
static void
tdx_expect_checks(const struct attest_tdx_quote *q,
    const struct attest_tdx_policy *tp, struct attest_result *res)
{
	static const enum attest_check_id	rtmr[ATTEST_TDX_RTMRS] = {
		ATTEST_CHECK_RTMR0, ATTEST_CHECK_RTMR1, ATTEST_CHECK_RTMR2,
		ATTEST_CHECK_RTMR3,
	};
	size_t					i;

	for (i = 0; i < ATTEST_TDX_RTMRS; i++)
		attest_expect(res, rtmr[i], q->rtmr[i], sizeof(q->rtmr[i]),
		    &tp->rtmr[i]);
	attest_expect(res, ATTEST_CHECK_MRSEAM, q->mrseam, sizeof(q->mrseam),
	    &tp->mrseam);
	attest_expect(res, ATTEST_CHECK_MRCONFIGID, q->mrconfigid,
	    sizeof(q->mrconfigid), &tp->mrconfigid);
	attest_expect(res, ATTEST_CHECK_MROWNER, q->mrowner,
	    sizeof(q->mrowner), &tp->mrowner);
	attest_expect(res, ATTEST_CHECK_MROWNERCONFIG, q->mrownerconfig,
	    sizeof(q->mrownerconfig), &tp->mrownerconfig);
}

/*
 * Parse, signature, QE binding and report, chain, revocation, collateral,
 * QE identity, TCB status, then the TD's own fields against the policy.
 */
int
attest_tdx_verify(const struct attest_input *in,
    const struct attest_policy *policy, struct attest_result *res)
{
	struct attest_tdx_quote		 q;
	struct attest_tdx_collateral	*c;
	STACK_OF(X509)			*certs;
	X509				*pck = NULL;
	unsigned			 statuses;
	char				 err[128], what[64];
	char				 detail[ATTEST_DETAIL_MAX];
	char				 hex[2 * sizeof(q.td_attributes) + 1];
	int				 qe_status;

	if (attest_tdx_parse(in->evidence, in->evidence_len, &q, err,
	    sizeof(err)) == -1) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "%s", err);
		return -1;
	}
	attest_result_claims(res, q.version, q.mrtd, q.report_data,
	    q.tee_tcb_svn, sizeof(q.tee_tcb_svn));
	res->guest_policy = tdx_le64(q.td_attributes);
	attest_result_add(res, ATTEST_CHECK_PARSE, 1, "TDX quote version %u,"
	    " %s body; %zu trailing bytes ignored", q.version,
	    tdx_body_name(q.body_type), q.trailing);
	statuses = policy->tdx.tcb_statuses != 0 ? policy->tdx.tcb_statuses :
	    1u << ATTEST_TCB_UP_TO_DATE | 1u << ATTEST_TCB_SW_HARDENING_NEEDED;

	tdx_signature_check(&q, res);
	tdx_qe_binding_check(&q, res);
	if ((certs = attest_x509_load(q.pck_chain, q.pck_chain_len, err,
	    sizeof(err))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_QE_REPORT, 0, "PCK chain:"
		    " %s", err);
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "PCK chain: %s",
		    err);
		if (in->crls != NULL)
			attest_result_add(res, ATTEST_CHECK_REVOCATION, 0,
			    "no PCK chain to check against the CRLs");
	} else {
		pck = sk_X509_value(certs, 0);
		tdx_qe_report_check(&q, pck, res);
		if (attest_x509_chain(pck, certs, ATTEST_TEE_TDX, in->root,
		    in->root_len, policy->now, detail, sizeof(detail)) == -1)
			attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "%s",
			    detail);
		else
			attest_result_add(res, ATTEST_CHECK_CHAIN, 1, "%s",
			    detail);
		attest_tdx_revocation_check(pck, certs, in, policy->now, res);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_COLLATERAL, 0, "out of"
		    " memory");
		sk_X509_pop_free(certs, X509_free);
		return 0;
	}
	attest_tdx_collateral_check(in, policy, res, c);
	qe_status = tdx_qe_identity_check(&q, c, statuses, res);
	tdx_tcb_status_check(&q, pck, in, c, qe_status, statuses, policy, res);
	free(c);
	sk_X509_pop_free(certs, X509_free);

	snprintf(what, sizeof(what), "TD attributes %s", attest_hex(
	    q.td_attributes, sizeof(q.td_attributes), hex, sizeof(hex)));
	attest_debug_check(res, (q.td_attributes[0] & ATTEST_TDX_ATTR_DEBUG) !=
	    0, policy->allow_debug, what);
	tdx_td_attributes_check(&q, &policy->tdx, res);
	tdx_xfam_check(&q, &policy->tdx, res);
	tdx_expect_checks(&q, &policy->tdx, res);
	return 0;
}
