/*
 * AMD SEV-SNP attestation reports: parse the 1184-byte report, verify its
 * ECDSA P-384 signature with the VCEK (or VLEK), the key's chain up to the
 * pinned ARK of the report's product, tie the key to the report (its TCB,
 * chip, kind: attest-snp-cert.c reads them) and apply the SNP policy.
 */
#include <string.h>

#include <openssl/x509.h>

#include "attest-int.h"

/* Offsets in the report (AMD SEV-SNP ABI, ATTESTATION_REPORT). */
#define SNP_VERSION		0x00
#define SNP_GUEST_SVN		0x04
#define SNP_POLICY		0x08
#define SNP_FAMILY_ID		0x10
#define SNP_IMAGE_ID		0x20
#define SNP_VMPL		0x30
#define SNP_SIG_ALGO		0x34
#define SNP_CURRENT_TCB		0x38
#define SNP_PLATFORM_INFO	0x40
#define SNP_FLAGS		0x48
#define SNP_REPORT_DATA		0x50
#define SNP_MEASUREMENT		0x90
#define SNP_HOST_DATA		0xC0
#define SNP_ID_KEY_DIGEST	0xE0
#define SNP_AUTHOR_KEY_DIGEST	0x110
#define SNP_REPORT_ID		0x140
#define SNP_REPORT_ID_MA	0x160
#define SNP_REPORTED_TCB	0x180
#define SNP_CPUID		0x188	/* family, model, stepping: v3+ */
#define SNP_CHIP_ID		0x1A0
#define SNP_COMMITTED_TCB	0x1E0
#define SNP_CURRENT_VERSION	0x1E8	/* build, minor, major */
#define SNP_COMMITTED_VERSION	0x1EC
#define SNP_LAUNCH_TCB		0x1F0
#define SNP_LAUNCH_MIT		0x1F8	/* v5 */
#define SNP_CURRENT_MIT		0x200
#define SNP_SIGNATURE		0x2A0	/* also the length signed */
#define SNP_SIG_COMPONENT	72	/* r, then s, little-endian */

#define SNP_VERSION_MIN		2
#define SNP_VERSION_MAX		5
#define SNP_SIG_ECDSA_P384	1
#define SNP_VMPL_MAX		3
#define SNP_KEY_VCEK		ATTEST_SNP_KEY_VCEK
#define SNP_KEY_VLEK		ATTEST_SNP_KEY_VLEK
#define SNP_KEY_NONE		ATTEST_SNP_KEY_NONE

#define SNP_POLICY_RESERVED_1	(UINT64_C(1) << 17)	/* must be 1 */
#define SNP_POLICY_MBZ		(~UINT64_C(0) << 26)
#define SNP_FLAGS_MBZ		(~UINT32_C(0) << 5)
#define SNP_PLATFORM_KNOWN	UINT64_C(0xbf)	/* bits 0-5, 7 */

static const char *const snp_keys[] = {
	[SNP_KEY_VCEK] = "VCEK",
	[SNP_KEY_VLEK] = "VLEK",
	[2] = "reserved", [3] = "reserved", [4] = "reserved",
	[5] = "reserved", [6] = "reserved",
	[SNP_KEY_NONE] = "no key",
};

/* Byte ranges that must be zero, as go-sev-guest's abi.ReportToProto. */
static const struct {
	size_t	lo, hi;
	int	from_version;	/* v3+ moves the start (CPUID fields) */
} snp_mbz[] = {
	{ 0x4C, 0x50, 0 },
	{ 0x188, 0x1A0, -3 },	/* before v3 */
	{ 0x18B, 0x1A0, 3 },
	{ 0x1EB, 0x1EC, 0 },
	{ 0x1EF, 0x1F0, 0 },
	{ 0x208, SNP_SIGNATURE, 0 },
	{ SNP_SIGNATURE + 2 * SNP_SIG_COMPONENT, ATTEST_SNP_REPORT_SIZE, 0 },
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

/* The fields, by offset. */
static void
snp_fields(const unsigned char *p, struct attest_snp_report *r)
{
	r->version = snp_u32(p + SNP_VERSION);
	r->guest_svn = snp_u32(p + SNP_GUEST_SVN);
	r->policy = snp_u64(p + SNP_POLICY);
	memcpy(r->family_id, p + SNP_FAMILY_ID, sizeof(r->family_id));
	memcpy(r->image_id, p + SNP_IMAGE_ID, sizeof(r->image_id));
	r->vmpl = snp_u32(p + SNP_VMPL);
	r->signature_algo = snp_u32(p + SNP_SIG_ALGO);
	r->current_tcb = snp_u64(p + SNP_CURRENT_TCB);
	r->platform_info = snp_u64(p + SNP_PLATFORM_INFO);
	r->key_info = snp_u32(p + SNP_FLAGS) & (ATTEST_SNP_AUTHOR_KEY_EN |
	    ATTEST_SNP_MASK_CHIP_ID);
	r->signing_key = (snp_u32(p + SNP_FLAGS) >> 2) & 7;
	memcpy(r->report_data, p + SNP_REPORT_DATA, sizeof(r->report_data));
	memcpy(r->measurement, p + SNP_MEASUREMENT, sizeof(r->measurement));
	memcpy(r->host_data, p + SNP_HOST_DATA, sizeof(r->host_data));
	memcpy(r->id_key_digest, p + SNP_ID_KEY_DIGEST,
	    sizeof(r->id_key_digest));
	memcpy(r->author_key_digest, p + SNP_AUTHOR_KEY_DIGEST,
	    sizeof(r->author_key_digest));
	memcpy(r->report_id, p + SNP_REPORT_ID, sizeof(r->report_id));
	memcpy(r->report_id_ma, p + SNP_REPORT_ID_MA,
	    sizeof(r->report_id_ma));
	memcpy(r->reported_tcb, p + SNP_REPORTED_TCB, sizeof(r->reported_tcb));
	if (r->version >= 3) {
		r->has_cpuid = 1;
		r->cpuid_family = p[SNP_CPUID];
		r->cpuid_model = p[SNP_CPUID + 1];
		r->cpuid_stepping = p[SNP_CPUID + 2];
	}
	memcpy(r->chip_id, p + SNP_CHIP_ID, sizeof(r->chip_id));
	memcpy(r->committed_tcb, p + SNP_COMMITTED_TCB,
	    sizeof(r->committed_tcb));
	r->current_build = p[SNP_CURRENT_VERSION];
	r->current_minor = p[SNP_CURRENT_VERSION + 1];
	r->current_major = p[SNP_CURRENT_VERSION + 2];
	r->committed_build = p[SNP_COMMITTED_VERSION];
	r->committed_minor = p[SNP_COMMITTED_VERSION + 1];
	r->committed_major = p[SNP_COMMITTED_VERSION + 2];
	memcpy(r->launch_tcb, p + SNP_LAUNCH_TCB, sizeof(r->launch_tcb));
	r->launch_mit_vector = snp_u64(p + SNP_LAUNCH_MIT);
	r->current_mit_vector = snp_u64(p + SNP_CURRENT_MIT);
	r->signed_part = p;
	r->signed_len = SNP_SIGNATURE;
	r->sig_r = p + SNP_SIGNATURE;
	r->sig_s = p + SNP_SIGNATURE + SNP_SIG_COMPONENT;
}

int
attest_snp_parse(const unsigned char *p, size_t len,
    struct attest_snp_report *r, char *err, size_t errlen)
{
	uint32_t	flags;
	size_t		i, j;

	memset(r, 0, sizeof(*r));
	if (len != ATTEST_SNP_REPORT_SIZE) {
		snprintf(err, errlen, "%zu bytes; an SEV-SNP report has %d",
		    len, ATTEST_SNP_REPORT_SIZE);
		return -1;
	}
	snp_fields(p, r);
	flags = snp_u32(p + SNP_FLAGS);
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
	if ((r->policy & SNP_POLICY_RESERVED_1) == 0 ||
	    (r->policy & SNP_POLICY_MBZ) != 0) {
		snprintf(err, errlen, "guest policy 0x%llx: bit 17 must be 1,"
		    " bits 26-63 zero", (unsigned long long)r->policy);
		return -1;
	}
	if ((flags & SNP_FLAGS_MBZ) != 0) {
		snprintf(err, errlen, "key information 0x%x: bits 5-31 must be"
		    " zero", flags);
		return -1;
	}
	if (r->signing_key != SNP_KEY_VCEK && r->signing_key != SNP_KEY_VLEK &&
	    r->signing_key != SNP_KEY_NONE) {
		snprintf(err, errlen, "signing key %u (0 VCEK, 1 VLEK, 7 none)",
		    r->signing_key);
		return -1;
	}
	for (i = 0; i < sizeof(snp_mbz) / sizeof(snp_mbz[0]); i++) {
		if ((snp_mbz[i].from_version > 0 &&
		    r->version < (uint32_t)snp_mbz[i].from_version) ||
		    (snp_mbz[i].from_version < 0 &&
		    r->version >= (uint32_t)-snp_mbz[i].from_version))
			continue;
		for (j = snp_mbz[i].lo; j < snp_mbz[i].hi; j++)
			if (p[j] != 0) {
				snprintf(err, errlen, "reserved byte 0x%zx is"
				    " 0x%02x, not zero (0x%zx..0x%zx must be"
				    " zero)", j, p[j], snp_mbz[i].lo,
				    snp_mbz[i].hi - 1);
				return -1;
			}
	}
	return 0;
}

/*
 * The product of a version 3+ report's CPUID family and model (as
 * go-sev-guest's abi.SevProductFromCpuid1Eax), or -1.
 */
int
attest_snp_report_product(const struct attest_snp_report *r)
{
	if (!r->has_cpuid)
		return -1;
	if (r->cpuid_family == 0x19 && r->cpuid_model == 0x01)
		return ATTEST_SNP_MILAN;
	if (r->cpuid_family == 0x19 && r->cpuid_model == 0x11)
		return ATTEST_SNP_GENOA;
	if (r->cpuid_family == 0x1A && r->cpuid_model == 0x02)
		return ATTEST_SNP_TURIN;
	return -1;
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

/* What the certificate checks learn, for the checks that follow. */
struct snp_state {
	X509			*vcek;
	struct attest_snp_cert	 cert;
	int			 cert_ok;	/* cert parsed */
	char			 cert_err[128];
	int			 product;	/* -1: unknown */
	char			 product_how[96];
	STACK_OF(X509)		*chain;		/* verified, or NULL */
	STACK_OF(X509)		*bundle;	/* given with the signer */
};

/*
 * The product: from a version 3+ report's CPUID fields, else from the
 * certificate's productName (go-sev-guest: a v3 report's CPUID overrides
 * the certificate, whose name was wrong on some parts).
 */
static void
snp_product_find(const struct attest_snp_report *r, struct snp_state *st)
{
	st->product = -1;
	if (r->has_cpuid && (r->cpuid_family != 0 || r->cpuid_model != 0 ||
	    r->cpuid_stepping != 0)) {
		st->product = attest_snp_report_product(r);
		snprintf(st->product_how, sizeof(st->product_how), "the"
		    " report's CPUID family %02xh model %02xh stepping %u",
		    r->cpuid_family, r->cpuid_model, r->cpuid_stepping);
		return;
	}
	if (st->cert_ok) {
		st->product = st->cert.product;
		snprintf(st->product_how, sizeof(st->product_how), "the %s's"
		    " productName %s", snp_keys[st->cert.kind],
		    st->cert.product_name);
		return;
	}
	snprintf(st->product_how, sizeof(st->product_how), "no CPUID in a"
	    " version %u report, and no usable certificate", r->version);
}

/*
 * The VCEK up to the ARK of the report's product alone (pinned, or the
 * root given), through the given ASK or the pinned ones; then whether
 * the product is one the policy accepts and the chain's.
 */
static void
snp_chain_check(const struct attest_input *in,
    const struct attest_snp_policy *sp, time_t now, struct snp_state *st,
    struct attest_result *res)
{
	STACK_OF(X509)	*chain = NULL, *other = NULL;
	const char	*name = attest_snp_product_name(st->product);
	char		 detail[ATTEST_DETAIL_MAX], err[128], cn[64];
	int		 ok = 0;

	if (name != NULL)
		snprintf(res->product, sizeof(res->product), "%s", name);
	if (in->chain != NULL && (chain = attest_x509_load(in->chain,
	    in->chain_len, err, sizeof(err))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "chain: %s", err);
	} else if (chain == NULL && st->bundle != NULL &&
	    (chain = X509_chain_up_ref(st->bundle)) == NULL) {
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "out of memory");
	} else if (name == NULL && in->root == NULL) {
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "no product known"
		    " (%s): no ARK to verify up to", st->product_how);
	} else if (attest_x509_chain_product(st->vcek, chain,
	    ATTEST_TEE_SEV_SNP, name, in->root, in->root_len, now, &st->chain,
	    detail, sizeof(detail)) == -1) {
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "%s", detail);
		/* Does it chain to another product's ARK? Say so. */
		if (name != NULL && attest_x509_chain_product(st->vcek, chain,
		    ATTEST_TEE_SEV_SNP, NULL, in->root, in->root_len, now,
		    &other, detail, sizeof(detail)) == 0) {
			X509_NAME_get_text_by_NID(X509_get_subject_name(
			    sk_X509_value(other, sk_X509_num(other) - 1)),
			    NID_commonName, cn, sizeof(cn));
			attest_result_add(res, ATTEST_CHECK_PRODUCT, 0, "%s"
			    " (from %s), but the %s chains to %s, not %s's"
			    " ARK", name, st->product_how, st->cert_ok ?
			    snp_keys[st->cert.kind] : "certificate", cn, name);
			sk_X509_pop_free(other, X509_free);
			sk_X509_pop_free(chain, X509_free);
			return;
		}
	} else {
		attest_result_add(res, ATTEST_CHECK_CHAIN, 1, "%s", detail);
		ok = 1;
	}
	sk_X509_pop_free(chain, X509_free);

	if (name == NULL)
		attest_result_add(res, ATTEST_CHECK_PRODUCT, 0, "unknown (%s)",
		    st->product_how);
	else if (sp->products != 0 && !(sp->products & (1U << st->product)))
		attest_result_add(res, ATTEST_CHECK_PRODUCT, 0, "%s (from %s),"
		    " not a product the policy accepts", name,
		    st->product_how);
	else
		attest_result_add(res, ATTEST_CHECK_PRODUCT, 1, "%s (from %s)%s",
		    name, st->product_how, !ok ? "" : in->root != NULL ?
		    ", chains to the root given" : ", chains to its ARK");
}

/*
 * The report's SIGNING_KEY against the certificate: a VCEK is "SEV-VCEK"
 * issued by the product's ASK ("SEV-Milan"), a VLEK "SEV-VLEK" issued by
 * its ASVK ("SEV-VLEK-Milan"), as go-sev-guest's validateKDSCertSubject
 * and validateKDSCertIssuer; and the signer the policy accepts.
 */
static void
snp_signing_key_check(const struct attest_snp_report *r,
    const struct attest_snp_policy *sp, struct snp_state *st,
    struct attest_result *res)
{
	const char	*name = attest_snp_product_name(st->product);
	char		 cn[64], issuer[64], want[64];
	int		 kind = -1;

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(st->vcek),
	    NID_commonName, cn, sizeof(cn)) < 0)
		snprintf(cn, sizeof(cn), "(none)");
	if (X509_NAME_get_text_by_NID(X509_get_issuer_name(st->vcek),
	    NID_commonName, issuer, sizeof(issuer)) < 0)
		snprintf(issuer, sizeof(issuer), "(none)");
	if (strcmp(cn, "SEV-VCEK") == 0)
		kind = SNP_KEY_VCEK;
	else if (strcmp(cn, "SEV-VLEK") == 0)
		kind = SNP_KEY_VLEK;
	if (r->signing_key == SNP_KEY_NONE) {
		attest_result_add(res, ATTEST_CHECK_SIGNING_KEY, 0, "the report"
		    " says it is not signed (SIGNING_KEY 7)");
		return;
	}
	if (kind != (int)r->signing_key) {
		attest_result_add(res, ATTEST_CHECK_SIGNING_KEY, 0, "the report"
		    " says %s signed it, the certificate is %s", snp_keys[
		    r->signing_key], cn);
		return;
	}
	if (name == NULL) {
		attest_result_add(res, ATTEST_CHECK_SIGNING_KEY, 0, "%s, but no"
		    " product known to name its issuer", cn);
		return;
	}
	snprintf(want, sizeof(want), "SEV-%s%s", kind == SNP_KEY_VLEK ?
	    "VLEK-" : "", name);
	if (strcmp(issuer, want) != 0) {
		attest_result_add(res, ATTEST_CHECK_SIGNING_KEY, 0, "%s issued"
		    " by %s, not by %s's %s %s", cn, issuer, name,
		    kind == SNP_KEY_VLEK ? "ASVK" : "ASK", want);
		return;
	}
	snprintf(res->signer, sizeof(res->signer), "%s", snp_keys[kind]);
	if (sp->signer != 0 && sp->signer != kind + 1) {
		attest_result_add(res, ATTEST_CHECK_SIGNING_KEY, 0, "%s, but"
		    " the policy accepts only a %s", snp_keys[kind],
		    sp->signer == 1 ? "VCEK" : "VLEK");
		return;
	}
	attest_result_add(res, ATTEST_CHECK_SIGNING_KEY, 1, "%s, as the report"
	    " says, issued by the %s %s", snp_keys[kind], kind == SNP_KEY_VLEK ?
	    "ASVK" : "ASK", want);
}

static const char *const snp_spl_names[ATTEST_SNP_PRODUCTS][8] = {
	[ATTEST_SNP_MILAN] = { "bl", "tee", "spl_4", "spl_5", "spl_6",
	    "spl_7", "snp", "ucode" },
	[ATTEST_SNP_GENOA] = { "bl", "tee", "spl_4", "spl_5", "spl_6",
	    "spl_7", "snp", "ucode" },
	[ATTEST_SNP_TURIN] = { "fmc", "bl", "tee", "snp", "reserved",
	    "reserved", "reserved", "ucode" },
};

/*
 * The certificate's TCB is REPORTED_TCB, and no newer than CURRENT_TCB
 * (go-sev-guest's validateTcb): a key derived for old firmware cannot
 * vouch for a newer TCB. The certificate's TCB becomes the result's, so
 * a minimum TCB is held against what AMD certified, not the report's
 * own bytes.
 */
static void
snp_cert_tcb_check(const struct attest_snp_report *r, struct snp_state *st,
    struct attest_result *res)
{
	unsigned char	tcb[8], cur[8];
	char		err[128], hex[17];
	int		i;

	res->tcb_len = 0;
	memset(res->tcb, 0, sizeof(res->tcb));
	if (!st->cert_ok) {
		attest_result_add(res, ATTEST_CHECK_CERT_TCB, 0, "%s",
		    st->cert_err);
		return;
	}
	if (attest_snp_cert_tcb(&st->cert, st->product, tcb, err,
	    sizeof(err)) == -1) {
		attest_result_add(res, ATTEST_CHECK_CERT_TCB, 0, "%s %s",
		    snp_keys[st->cert.kind], err);
		return;
	}
	for (i = 0; i < 8; i++) {
		if (tcb[i] != r->reported_tcb[i]) {
			attest_result_add(res, ATTEST_CHECK_CERT_TCB, 0, "%s"
			    " %s SPL %u != REPORTED_TCB %s %u",
			    snp_keys[st->cert.kind],
			    snp_spl_names[st->product][i], tcb[i],
			    snp_spl_names[st->product][i],
			    r->reported_tcb[i]);
			return;
		}
		cur[i] = (r->current_tcb >> (8 * i)) & 0xff;
		if (tcb[i] > cur[i]) {
			attest_result_add(res, ATTEST_CHECK_CERT_TCB, 0, "%s"
			    " %s SPL %u > CURRENT_TCB %s %u",
			    snp_keys[st->cert.kind],
			    snp_spl_names[st->product][i], tcb[i],
			    snp_spl_names[st->product][i], cur[i]);
			return;
		}
	}
	memcpy(res->tcb, tcb, sizeof(tcb));
	res->tcb_len = sizeof(tcb);
	attest_result_add(res, ATTEST_CHECK_CERT_TCB, 1, "%s TCB %s is"
	    " REPORTED_TCB, at most CURRENT_TCB", snp_keys[st->cert.kind],
	    attest_hex(tcb, sizeof(tcb), hex, sizeof(hex)));
}

/*
 * A VCEK's hwid is the report's CHIP_ID, unless the host masked it
 * (MASK_CHIP_ID: then CHIP_ID is zeros, and there is nothing to
 * compare). A VLEK names no chip: the check is absent.
 */
static void
snp_chip_id_check(const struct attest_snp_report *r, struct snp_state *st,
    struct attest_result *res)
{
	static const unsigned char	zero[64];
	char				hex[2 * 64 + 1];

	if (r->signing_key != SNP_KEY_VCEK)
		return;
	if (r->key_info & ATTEST_SNP_MASK_CHIP_ID) {
		if (memcmp(r->chip_id, zero, sizeof(zero)) != 0)
			attest_result_add(res, ATTEST_CHECK_CHIP_ID, 0,
			    "MASK_CHIP_ID is set but CHIP_ID is not zeros");
		return;
	}
	if (!st->cert_ok || st->cert.kind != SNP_KEY_VCEK) {
		attest_result_add(res, ATTEST_CHECK_CHIP_ID, 0, "no VCEK hwid"
		    " to compare CHIP_ID with");
		return;
	}
	if (memcmp(r->chip_id, st->cert.hwid, st->cert.hwid_len) != 0 ||
	    memcmp(r->chip_id + st->cert.hwid_len, zero, sizeof(r->chip_id) -
	    st->cert.hwid_len) != 0) {
		attest_result_add(res, ATTEST_CHECK_CHIP_ID, 0, "CHIP_ID %.32s..."
		    " is not the VCEK's hwid %.32s...", attest_hex(r->chip_id,
		    16, hex, sizeof(hex)), attest_hex(st->cert.hwid, 16, hex +
		    33, sizeof(hex) - 33));
		return;
	}
	attest_result_add(res, ATTEST_CHECK_CHIP_ID, 1, "CHIP_ID is the VCEK's"
	    " hwid (%zu bytes)", st->cert.hwid_len);
}

/* MIGRATE_MA: a migration agent could move the guest's memory out. */
static void
snp_migration_check(const struct attest_snp_report *r,
    const struct attest_snp_policy *sp, struct attest_result *res)
{
	if (!(r->policy & ATTEST_SNP_POLICY_MIGRATE_MA))
		attest_result_add(res, ATTEST_CHECK_MIGRATION, 1, "no migration"
		    " agent (MIGRATE_MA 0)");
	else if (sp->allow_migration_agent)
		attest_result_add(res, ATTEST_CHECK_MIGRATION, 1, "a migration"
		    " agent may be bound (MIGRATE_MA 1), as allowed");
	else
		attest_result_add(res, ATTEST_CHECK_MIGRATION, 0, "a migration"
		    " agent may be bound (MIGRATE_MA 1): it could export the"
		    " guest");
}

static void
snp_vmpl_check(const struct attest_snp_report *r,
    const struct attest_snp_policy *sp, struct attest_result *res)
{
	if (r->vmpl <= sp->max_vmpl)
		attest_result_add(res, ATTEST_CHECK_VMPL, 1, "VMPL %u, at most"
		    " %u", r->vmpl, sp->max_vmpl);
	else
		attest_result_add(res, ATTEST_CHECK_VMPL, 0, "VMPL %u, above the"
		    " %u allowed: a less privileged guest layer asked",
		    r->vmpl, sp->max_vmpl);
}

/* The guest policy's ABI, SMT, socket and ciphertext hiding, if asked. */
static void
snp_guest_policy_check(const struct attest_snp_report *r,
    const struct attest_snp_policy *sp, struct attest_result *res)
{
	unsigned	major = (r->policy >> 8) & 0xff, minor = r->policy & 0xff;

	if (sp->min_abi_major == 0 && sp->min_abi_minor == 0 &&
	    !sp->require_no_smt && !sp->require_single_socket &&
	    !sp->require_ciphertext_hiding)
		return;
	if (major < sp->min_abi_major || (major == sp->min_abi_major &&
	    minor < sp->min_abi_minor))
		attest_result_add(res, ATTEST_CHECK_GUEST_POLICY, 0, "policy"
		    " 0x%llx: ABI %u.%u below the minimum %u.%u",
		    (unsigned long long)r->policy, major, minor,
		    sp->min_abi_major, sp->min_abi_minor);
	else if (sp->require_no_smt && (r->policy & ATTEST_SNP_POLICY_SMT))
		attest_result_add(res, ATTEST_CHECK_GUEST_POLICY, 0, "policy"
		    " 0x%llx allows SMT; the policy requires it off",
		    (unsigned long long)r->policy);
	else if (sp->require_single_socket &&
	    !(r->policy & ATTEST_SNP_POLICY_SINGLE_SOCKET))
		attest_result_add(res, ATTEST_CHECK_GUEST_POLICY, 0, "policy"
		    " 0x%llx does not bind the guest to a single socket",
		    (unsigned long long)r->policy);
	else if (sp->require_ciphertext_hiding &&
	    !(r->policy & ATTEST_SNP_POLICY_CIPHERTEXT_HIDING))
		attest_result_add(res, ATTEST_CHECK_GUEST_POLICY, 0, "policy"
		    " 0x%llx does not require ciphertext hiding",
		    (unsigned long long)r->policy);
	else
		attest_result_add(res, ATTEST_CHECK_GUEST_POLICY, 1, "policy"
		    " 0x%llx: ABI %u.%u%s%s%s", (unsigned long long)r->policy,
		    major, minor, sp->require_no_smt ? ", no SMT" : "",
		    sp->require_single_socket ? ", single socket" : "",
		    sp->require_ciphertext_hiding ? ", ciphertext hiding" : "");
}

/* PLATFORM_INFO: bits required and forbidden, when the policy names any. */
static void
snp_platform_check(const struct attest_snp_report *r,
    const struct attest_snp_policy *sp, struct attest_result *res)
{
	uint64_t	pi = r->platform_info;

	if (sp->platform_require == 0 && sp->platform_forbid == 0)
		return;
	if (pi & ~SNP_PLATFORM_KNOWN)
		attest_result_add(res, ATTEST_CHECK_PLATFORM, 0, "PLATFORM_INFO"
		    " 0x%llx has reserved bits 0x%llx", (unsigned long long)pi,
		    (unsigned long long)(pi & ~SNP_PLATFORM_KNOWN));
	else if ((pi & sp->platform_require) != sp->platform_require)
		attest_result_add(res, ATTEST_CHECK_PLATFORM, 0, "PLATFORM_INFO"
		    " 0x%llx lacks required bits 0x%llx",
		    (unsigned long long)pi, (unsigned long long)
		    (sp->platform_require & ~pi));
	else if (pi & sp->platform_forbid)
		attest_result_add(res, ATTEST_CHECK_PLATFORM, 0, "PLATFORM_INFO"
		    " 0x%llx has forbidden bits 0x%llx",
		    (unsigned long long)pi, (unsigned long long)
		    (pi & sp->platform_forbid));
	else
		attest_result_add(res, ATTEST_CHECK_PLATFORM, 1, "PLATFORM_INFO"
		    " 0x%llx", (unsigned long long)pi);
}

/*
 * Firmware that is running but not committed can be rolled back: the
 * committed TCB, build and version are the current ones, unless the
 * policy allows provisional firmware (then no more than current), as
 * go-sev-guest's PermitProvisionalFirmware.
 */
static void
snp_provisional_check(const struct attest_snp_report *r,
    const struct attest_snp_policy *sp, struct attest_result *res)
{
	unsigned	cur_v = r->current_major << 8 | r->current_minor;
	unsigned	com_v = r->committed_major << 8 | r->committed_minor;
	unsigned char	cur[8];
	char		a[17], b[17];
	int		i, eq = 1, le = 1;

	for (i = 0; i < 8; i++) {
		cur[i] = (r->current_tcb >> (8 * i)) & 0xff;
		eq = eq && r->committed_tcb[i] == cur[i];
		le = le && r->committed_tcb[i] <= cur[i];
	}
	attest_hex(r->committed_tcb, 8, a, sizeof(a));
	attest_hex(cur, 8, b, sizeof(b));
	eq = eq && r->committed_build == r->current_build && com_v == cur_v;
	le = le && r->committed_build <= r->current_build && com_v <= cur_v;
	if (eq)
		attest_result_add(res, ATTEST_CHECK_PROVISIONAL, 1, "committed"
		    " firmware %u.%u build %u, TCB %s, is the current",
		    r->current_major, r->current_minor, r->current_build, a);
	else if (sp->allow_provisional_firmware && le)
		attest_result_add(res, ATTEST_CHECK_PROVISIONAL, 1, "provisional"
		    " firmware %u.%u build %u (TCB %s) over committed %u.%u"
		    " build %u (TCB %s), as allowed", r->current_major,
		    r->current_minor, r->current_build, b, r->committed_major,
		    r->committed_minor, r->committed_build, a);
	else
		attest_result_add(res, ATTEST_CHECK_PROVISIONAL, 0, "committed"
		    " %u.%u build %u (TCB %s) %s current %u.%u build %u (TCB"
		    " %s)%s", r->committed_major, r->committed_minor,
		    r->committed_build, a, le ? "is not the" : "is above the",
		    r->current_major, r->current_minor, r->current_build, b,
		    le ? ": provisional firmware can be rolled back" : "");
}

/* The fields a policy may list accepted values of. */
static void
snp_field_checks(const struct attest_snp_report *r,
    const struct attest_snp_policy *sp, struct attest_result *res)
{
	if (sp->min_guest_svn > 0) {
		if (r->guest_svn >= sp->min_guest_svn)
			attest_result_add(res, ATTEST_CHECK_GUEST_SVN, 1,
			    "GUEST_SVN %u, at least %u", r->guest_svn,
			    sp->min_guest_svn);
		else
			attest_result_add(res, ATTEST_CHECK_GUEST_SVN, 0,
			    "GUEST_SVN %u below the minimum %u", r->guest_svn,
			    sp->min_guest_svn);
	}
	attest_expect(res, ATTEST_CHECK_HOST_DATA, r->host_data,
	    sizeof(r->host_data), &sp->host_data);
	attest_expect(res, ATTEST_CHECK_ID_KEY, r->id_key_digest,
	    sizeof(r->id_key_digest), &sp->id_key_digest);
	if (sp->author_key_digest.n > 0 &&
	    !(r->key_info & ATTEST_SNP_AUTHOR_KEY_EN))
		attest_result_add(res, ATTEST_CHECK_AUTHOR_KEY, 0,
		    "AUTHOR_KEY_EN is 0: no author key signed the ID key");
	else
		attest_expect(res, ATTEST_CHECK_AUTHOR_KEY,
		    r->author_key_digest, sizeof(r->author_key_digest),
		    &sp->author_key_digest);
	attest_expect(res, ATTEST_CHECK_FAMILY_ID, r->family_id,
	    sizeof(r->family_id), &sp->family_id);
	attest_expect(res, ATTEST_CHECK_IMAGE_ID, r->image_id,
	    sizeof(r->image_id), &sp->image_id);
}

/*
 * The signer among the certificates given: the only one when there is
 * one, else the one of the kind the report's SIGNING_KEY names (a host's
 * bundle holds VCEK, ASK and ARK, maybe a VLEK), the others then offered
 * as the chain when none is given. NULL with err when none or several
 * are of that kind.
 */
static X509 *
snp_pick_signer(STACK_OF(X509) *certs, uint32_t signing_key,
    struct snp_state *st, char *err, size_t errlen)
{
	X509	*x;
	int	 at, i;

	if (sk_X509_num(certs) == 1)
		return sk_X509_value(certs, 0);
	if ((at = attest_snp_signer_pick(certs, signing_key, err, errlen)) < 0)
		return NULL;
	if ((st->bundle = sk_X509_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < sk_X509_num(certs); i++) {
		x = sk_X509_value(certs, i);
		if (i != at && X509_up_ref(x) == 1 &&
		    sk_X509_push(st->bundle, x) == 0)
			X509_free(x);
	}
	return sk_X509_value(certs, at);
}

/* Every check of an SEV-SNP report; -1 when it does not parse. */
int
attest_snp_verify(const struct attest_input *in,
    const struct attest_policy *policy, struct attest_result *res)
{
	const struct attest_snp_policy	*sp = &policy->snp;
	struct attest_snp_report	 r;
	struct snp_state		 st;
	STACK_OF(X509)			*certs = NULL;
	char				 err[128], what[64];

	if (attest_snp_parse(in->evidence, in->evidence_len, &r, err,
	    sizeof(err)) == -1) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "%s", err);
		return -1;
	}
	/* No TCB until the certificate vouches for one. */
	attest_result_claims(res, (int)r.version, r.measurement,
	    r.report_data, r.reported_tcb, 0);
	res->guest_policy = r.policy;
	attest_result_add(res, ATTEST_CHECK_PARSE, 1, "SEV-SNP report version"
	    " %u, VMPL %u, guest SVN %u", r.version, r.vmpl, r.guest_svn);

	memset(&st, 0, sizeof(st));
	if (in->vcek == NULL)
		snprintf(err, sizeof(err), "no VCEK given");
	else if ((certs = attest_x509_load(in->vcek, in->vcek_len, err,
	    sizeof(err))) != NULL)
		st.vcek = snp_pick_signer(certs, r.signing_key, &st, err,
		    sizeof(err));
	if (st.vcek == NULL) {
		if (certs != NULL)
			attest_result_add(res, ATTEST_CHECK_SIGNING_KEY, 0,
			    "%s", err);
		attest_result_add(res, ATTEST_CHECK_SIGNATURE, 0, "VCEK: %s",
		    err);
		attest_result_add(res, ATTEST_CHECK_CHAIN, 0, "VCEK: %s", err);
	} else {
		if (attest_snp_cert_from_x509(st.vcek, &st.cert, st.cert_err,
		    sizeof(st.cert_err)) == 0)
			st.cert_ok = 1;
		snp_product_find(&r, &st);
		snp_signature_check(&r, st.vcek, res);
		snp_chain_check(in, sp, policy->now, &st, res);
		snp_signing_key_check(&r, sp, &st, res);
		snp_cert_tcb_check(&r, &st, res);
		snp_chip_id_check(&r, &st, res);
		attest_snp_revocation_check(in, st.chain, policy->now, res);
	}
	sk_X509_pop_free(st.chain, X509_free);
	sk_X509_pop_free(st.bundle, X509_free);
	sk_X509_pop_free(certs, X509_free);
	snprintf(what, sizeof(what), "policy 0x%llx",
	    (unsigned long long)r.policy);
	attest_debug_check(res, (r.policy & ATTEST_SNP_POLICY_DEBUG) != 0,
	    policy->allow_debug, what);
	snp_migration_check(&r, sp, res);
	snp_vmpl_check(&r, sp, res);
	snp_guest_policy_check(&r, sp, res);
	snp_platform_check(&r, sp, res);
	snp_provisional_check(&r, sp, res);
	snp_field_checks(&r, sp, res);
	return 0;
}
