/*
 * Intel TDX quotes, version 4 and 5, ECDSA P-256: parse the quote, verify
 * its signature by the attestation key, the QE report that vouches for
 * that key (signed by the PCK, binding the key in its report_data), the
 * PCK chain up to the pinned Intel SGX Root CA, and the TD's DEBUG bit.
 */
#include <string.h>

#include <openssl/sha.h>
#include <openssl/x509.h>

#include "attest-int.h"

#define TDX_HEADER_SIZE		48
#define TDX_TEE_TYPE		0x81
#define TDX_ATT_KEY_P256	2
#define TDX_BODY_10_SIZE	584	/* TDX 1.0 TD report body */
#define TDX_BODY_15_SIZE	648	/* TDX 1.5: TEE_TCB_SVN2, MRSERVICETD */
#define TDX_V5_DESCRIPTOR	6	/* body type u16, body size u32 */

/* Offsets in the TD quote body. */
#define TDX_TEE_TCB_SVN		0
#define TDX_TD_ATTRIBUTES	120
#define TDX_MRTD		136
#define TDX_REPORT_DATA		520

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
tdx_u16(struct tdx_reader *rd)
{
	const unsigned char	*p = tdx_take(rd, 2);

	return p == NULL ? 0 : (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
tdx_u32(struct tdx_reader *rd)
{
	const unsigned char	*p = tdx_take(rd, 4);

	return p == NULL ? 0 : (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The header and body, up to the signature data's length. */
static int
tdx_parse_body(struct tdx_reader *rd, struct attest_tdx_quote *q, char *err,
    size_t errlen)
{
	const unsigned char	*body;
	size_t			 i, size = TDX_BODY_10_SIZE;
	uint32_t		 v5size;

	q->version = tdx_u16(rd);
	q->att_key_type = tdx_u16(rd);
	q->tee_type = tdx_u32(rd);
	if (tdx_take(rd, TDX_HEADER_SIZE - 8) == NULL) {
		snprintf(err, errlen, "truncated in the header");
		return -1;
	}
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
	memcpy(q->tee_tcb_svn, body + TDX_TEE_TCB_SVN, sizeof(q->tee_tcb_svn));
	memcpy(q->td_attributes, body + TDX_TD_ATTRIBUTES,
	    sizeof(q->td_attributes));
	memcpy(q->mrtd, body + TDX_MRTD, sizeof(q->mrtd));
	memcpy(q->report_data, body + TDX_REPORT_DATA, sizeof(q->report_data));
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
	char		 err[128];

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

/* Parse, signature, QE report and binding, chain, debug. */
int
attest_tdx_verify(const struct attest_input *in,
    const struct attest_policy *policy, struct attest_result *res)
{
	struct attest_tdx_quote	 q;
	STACK_OF(X509)		*certs;
	X509			*pck;
	char			 err[128], detail[ATTEST_DETAIL_MAX];
	char			 what[64], hex[2 * sizeof(q.td_attributes) + 1];

	if (attest_tdx_parse(in->evidence, in->evidence_len, &q, err,
	    sizeof(err)) == -1) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "%s", err);
		return -1;
	}
	attest_result_claims(res, q.version, q.mrtd, q.report_data,
	    q.tee_tcb_svn, sizeof(q.tee_tcb_svn));
	attest_result_add(res, ATTEST_CHECK_PARSE, 1, "TDX quote version %u,"
	    " %s body; %zu trailing bytes ignored", q.version,
	    tdx_body_name(q.body_type), q.trailing);

	tdx_signature_check(&q, res);
	tdx_qe_binding_check(&q, res);
	if ((certs = attest_x509_load(q.pck_chain, q.pck_chain_len, err,
	    sizeof(err))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_QE_REPORT, 0, "PCK chain:"
		    " %s", err);
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "PCK chain: %s",
		    err);
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
		sk_X509_pop_free(certs, X509_free);
	}
	snprintf(what, sizeof(what), "TD attributes %s", attest_hex(
	    q.td_attributes, sizeof(q.td_attributes), hex, sizeof(hex)));
	attest_debug_check(res, (q.td_attributes[0] & ATTEST_TDX_ATTR_DEBUG) !=
	    0, policy->allow_debug, what);
	return 0;
}
