/*
 * AMD SEV-SNP attestation reports: parse the 1184-byte report, verify its
 * ECDSA P-384 signature with the VCEK (or VLEK), the VCEK's chain up to a
 * pinned ARK, and the guest policy's DEBUG bit.
 */
#include <string.h>

#include <openssl/x509.h>

#include "attest-int.h"

/* Offsets in the report (AMD SEV-SNP ABI, ATTESTATION_REPORT). */
#define SNP_VERSION		0x00
#define SNP_GUEST_SVN		0x04
#define SNP_POLICY		0x08
#define SNP_VMPL		0x30
#define SNP_SIG_ALGO		0x34
#define SNP_CURRENT_TCB		0x38
#define SNP_FLAGS		0x48
#define SNP_REPORT_DATA		0x50
#define SNP_MEASUREMENT		0x90
#define SNP_HOST_DATA		0xC0
#define SNP_REPORTED_TCB	0x180
#define SNP_CHIP_ID		0x1A0
#define SNP_SIGNATURE		0x2A0	/* also the length signed */
#define SNP_SIG_COMPONENT	72	/* r, then s, little-endian */

#define SNP_VERSION_MIN		2
#define SNP_VERSION_MAX		5
#define SNP_SIG_ECDSA_P384	1
#define SNP_VMPL_MAX		3
#define SNP_KEY_VCEK		0
#define SNP_KEY_VLEK		1
#define SNP_KEY_NONE		7

static const char *const snp_keys[] = {
	[SNP_KEY_VCEK] = "VCEK",
	[SNP_KEY_VLEK] = "VLEK",
};

static uint32_t
snp_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
snp_u64(const unsigned char *p)
{
	return (uint64_t)snp_u32(p) | (uint64_t)snp_u32(p + 4) << 32;
}

int
attest_snp_parse(const unsigned char *p, size_t len,
    struct attest_snp_report *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (len != ATTEST_SNP_REPORT_SIZE) {
		snprintf(err, errlen, "%zu bytes; an SEV-SNP report has %d",
		    len, ATTEST_SNP_REPORT_SIZE);
		return -1;
	}
	r->version = snp_u32(p + SNP_VERSION);
	r->guest_svn = snp_u32(p + SNP_GUEST_SVN);
	r->policy = snp_u64(p + SNP_POLICY);
	r->vmpl = snp_u32(p + SNP_VMPL);
	r->signature_algo = snp_u32(p + SNP_SIG_ALGO);
	r->current_tcb = snp_u64(p + SNP_CURRENT_TCB);
	r->signing_key = (snp_u32(p + SNP_FLAGS) >> 2) & 7;
	memcpy(r->report_data, p + SNP_REPORT_DATA, sizeof(r->report_data));
	memcpy(r->measurement, p + SNP_MEASUREMENT, sizeof(r->measurement));
	memcpy(r->host_data, p + SNP_HOST_DATA, sizeof(r->host_data));
	memcpy(r->chip_id, p + SNP_CHIP_ID, sizeof(r->chip_id));
	memcpy(r->reported_tcb, p + SNP_REPORTED_TCB, sizeof(r->reported_tcb));
	r->signed_part = p;
	r->signed_len = SNP_SIGNATURE;
	r->sig_r = p + SNP_SIGNATURE;
	r->sig_s = p + SNP_SIGNATURE + SNP_SIG_COMPONENT;
	if (r->version < SNP_VERSION_MIN || r->version > SNP_VERSION_MAX) {
		snprintf(err, errlen, "report version %u (%d to %d known)",
		    r->version, SNP_VERSION_MIN, SNP_VERSION_MAX);
		return -1;
	}
	if (r->signature_algo != SNP_SIG_ECDSA_P384) {
		snprintf(err, errlen, "signature algorithm %u (%d: ECDSA P-384"
		    " with SHA-384)", r->signature_algo, SNP_SIG_ECDSA_P384);
		return -1;
	}
	if (r->vmpl > SNP_VMPL_MAX) {
		snprintf(err, errlen, "VMPL %u (0 to %d)", r->vmpl,
		    SNP_VMPL_MAX);
		return -1;
	}
	if (r->signing_key != SNP_KEY_VCEK && r->signing_key != SNP_KEY_VLEK &&
	    r->signing_key != SNP_KEY_NONE) {
		snprintf(err, errlen, "signing key %u (0 VCEK, 1 VLEK, 7 none)",
		    r->signing_key);
		return -1;
	}
	return 0;
}

/* The report's signature by the VCEK's (or VLEK's) P-384 key. */
static void
snp_signature_check(const struct attest_snp_report *r, X509 *vcek,
    struct attest_result *res)
{
	EVP_PKEY	*key = X509_get0_pubkey(vcek);
	char		 group[32], err[128];

	if (r->signing_key == SNP_KEY_NONE) {
		attest_result_add(res, ATTEST_CHECK_SIGNATURE, 0, "the report"
		    " is not signed (signing key 7)");
		return;
	}
	if (key == NULL || !EVP_PKEY_is_a(key, "EC") ||
	    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "secp384r1") != 0) {
		attest_result_add(res, ATTEST_CHECK_SIGNATURE, 0, "the %s's key"
		    " is not ECDSA P-384", snp_keys[r->signing_key]);
		return;
	}
	if (attest_ecdsa_verify(key, EVP_sha384(), r->signed_part,
	    r->signed_len, r->sig_r, r->sig_s, SNP_SIG_COMPONENT, 1, err,
	    sizeof(err)) == -1) {
		attest_result_add(res, ATTEST_CHECK_SIGNATURE, 0, "%s with the"
		    " given %s", err, snp_keys[r->signing_key]);
		return;
	}
	attest_result_add(res, ATTEST_CHECK_SIGNATURE, 1, "ECDSA P-384 over"
	    " bytes 0..0x%x by the %s", SNP_SIGNATURE - 1,
	    snp_keys[r->signing_key]);
}

/*
 * The VCEK up to a pinned ARK (or the root given instead), through the
 * given ASK or the pinned ones.
 */
static void
snp_chain_check(const struct attest_input *in, X509 *vcek, time_t now,
    struct attest_result *res)
{
	STACK_OF(X509)	*chain = NULL;
	char		 detail[ATTEST_DETAIL_MAX], err[128];

	if (in->chain != NULL && (chain = attest_x509_load(in->chain,
	    in->chain_len, err, sizeof(err))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "chain: %s", err);
		return;
	}
	if (attest_x509_chain(vcek, chain, ATTEST_TEE_SEV_SNP, in->root,
	    in->root_len, now, detail, sizeof(detail)) == -1)
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "%s", detail);
	else
		attest_result_add(res, ATTEST_CHECK_CHAIN, 1, "%s", detail);
	sk_X509_pop_free(chain, X509_free);
}

/* Parse, signature, chain, debug; -1 when the report does not parse. */
int
attest_snp_verify(const struct attest_input *in,
    const struct attest_policy *policy, struct attest_result *res)
{
	struct attest_snp_report	 r;
	STACK_OF(X509)			*certs = NULL;
	X509				*vcek = NULL;
	char				 err[128], what[64];

	if (attest_snp_parse(in->evidence, in->evidence_len, &r, err,
	    sizeof(err)) == -1) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "%s", err);
		return -1;
	}
	attest_result_claims(res, (int)r.version, r.measurement,
	    r.report_data, r.reported_tcb, sizeof(r.reported_tcb));
	attest_result_add(res, ATTEST_CHECK_PARSE, 1, "SEV-SNP report version"
	    " %u, VMPL %u, guest SVN %u", r.version, r.vmpl, r.guest_svn);

	if (in->vcek == NULL)
		snprintf(err, sizeof(err), "no VCEK given");
	else if ((certs = attest_x509_load(in->vcek, in->vcek_len, err,
	    sizeof(err))) != NULL)
		vcek = sk_X509_value(certs, 0);
	if (vcek == NULL) {
		attest_result_add(res, ATTEST_CHECK_SIGNATURE, 0, "VCEK: %s",
		    err);
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "VCEK: %s", err);
	} else {
		snp_signature_check(&r, vcek, res);
		snp_chain_check(in, vcek, policy->now, res);
	}
	sk_X509_pop_free(certs, X509_free);
	snprintf(what, sizeof(what), "policy 0x%llx",
	    (unsigned long long)r.policy);
	attest_debug_check(res, (r.policy & ATTEST_SNP_POLICY_DEBUG) != 0,
	    policy->allow_debug, what);
	return 0;
}
