/*
 * attest-snp.c and attest-snp-cert.c against forgeries: a test PKI built
 * here with OpenSSL (ARKs, ASKs, ASVKs, VCEKs and VLEKs carrying AMD's KDS
 * extensions, CRLs), SEV-SNP reports forged and signed with its keys, and
 * each refused with the failing check named; every SNP policy field is
 * shown to pass and to fail. The test roots go in through in->root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest-int.h"

#define NOW		1780272000	/* 2026-06-01 */
#define DAY		86400

/* Offsets in the report (AMD SEV-SNP ABI). */
#define R_VERSION	0x00
#define R_GUEST_SVN	0x04
#define R_POLICY	0x08
#define R_FAMILY_ID	0x10
#define R_IMAGE_ID	0x20
#define R_VMPL		0x30
#define R_SIG_ALGO	0x34
#define R_CURRENT_TCB	0x38
#define R_PLATFORM	0x40
#define R_FLAGS		0x48
#define R_REPORT_DATA	0x50
#define R_HOST_DATA	0xC0
#define R_ID_KEY	0xE0
#define R_AUTHOR_KEY	0x110
#define R_REPORTED_TCB	0x180
#define R_CPUID		0x188
#define R_CHIP_ID	0x1A0
#define R_COMMITTED_TCB	0x1E0
#define R_CURRENT_VER	0x1E8
#define R_COMMITTED_VER	0x1EC
#define R_LAUNCH_TCB	0x1F0
#define R_SIGNATURE	0x2A0

#define FLAG_VLEK	(1 << 2)
#define FLAG_NONE	(7 << 2)

/* Milan layout: bl 3, tee 0, spl4-7 0, snp 8, ucode 0xd1 (>127). */
static const unsigned char milan_tcb[8] = { 3, 0, 0, 0, 0, 0, 8, 0xd1 };
/* Turin layout: fmc 1, bl 2, tee 3, snp 4, reserved, ucode 5. */
static const unsigned char turin_tcb[8] = { 1, 2, 3, 4, 0, 0, 0, 5 };

struct pki {
	EVP_PKEY	*key[8];
	X509		*ark, *ask, *asvk;		/* Milan */
	X509		*genoa_ark, *genoa_ask;
	X509		*turin_ark, *turin_ask;
	EVP_PKEY	*vcek_key, *vlek_key;
	X509		*vcek, *vlek, *turin_vcek;
	char		*roots;		/* PEM: the three ARKs */
	char		*chain;		/* PEM: every ASK and ASVK */
	unsigned char	 chip_id[64];
};

static struct pki	pki;

/* What a leaf certificate carries; spl[i] < 0: no such extension. */
struct leaf {
	const char		*cn;
	const char		*product_name;
	int			 spl[ATTEST_SNP_SPLS];
	const unsigned char	*hwid;
	size_t			 hwid_len;
	const char		*csp_id;
	const char		*extra_oid;	/* one more extension */
	const unsigned char	*extra;
	int			 extra_len;
};

/* --- the test PKI ------------------------------------------------------- */

static EVP_PKEY *
p384(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-384");

	assert_non_null(k);
	return k;
}

static void
add_ext(X509 *x, const char *oid, const unsigned char *der, int len)
{
	ASN1_OBJECT		*obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING	*v = ASN1_OCTET_STRING_new();
	X509_EXTENSION		*ext;

	assert_non_null(obj);
	assert_non_null(v);
	assert_int_equal(ASN1_OCTET_STRING_set(v, der, len), 1);
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, v);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(v);
	ASN1_OBJECT_free(obj);
}

static void
add_amd_int(X509 *x, const char *sub, int n)
{
	unsigned char	der[4] = { V_ASN1_INTEGER, 1, 0, 0 };
	char		oid[64];

	snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.%s", sub);
	if (n >= 0x80) {
		der[1] = 2;
		der[3] = (unsigned char)n;
	} else
		der[2] = (unsigned char)n;
	add_ext(x, oid, der, 2 + der[1]);
}

static void
add_amd_ia5(X509 *x, const char *sub, const char *s)
{
	unsigned char	der[80];
	char		oid[64];
	size_t		n = strlen(s);

	assert_true(n < sizeof(der) - 2);
	snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.%s", sub);
	der[0] = V_ASN1_IA5STRING;
	der[1] = (unsigned char)n;
	memcpy(der + 2, s, n);
	add_ext(x, oid, der, (int)n + 2);
}

static void
add_amd_exts(X509 *x, const struct leaf *l)
{
	char	sub[16];
	int	i;

	add_amd_int(x, "1", 1);
	if (l->product_name != NULL)
		add_amd_ia5(x, "2", l->product_name);
	for (i = 0; i < ATTEST_SNP_SPLS; i++) {
		if (l->spl[i] < 0)
			continue;
		snprintf(sub, sizeof(sub), "3.%d", i + 1);
		add_amd_int(x, sub, l->spl[i]);
	}
	if (l->hwid != NULL)
		add_ext(x, "1.3.6.1.4.1.3704.1.4", l->hwid, (int)l->hwid_len);
	if (l->csp_id != NULL)
		add_amd_ia5(x, "5", l->csp_id);
	if (l->extra_oid != NULL)
		add_ext(x, l->extra_oid, l->extra, l->extra_len);
}

/* A certificate for key named cn, by issuer (NULL: itself). */
static X509 *
issue(EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
    EVP_PKEY *issuer_key, const struct leaf *l)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	X509_NAME	*name = X509_NAME_new();
	X509		*x = X509_new();

	assert_non_null(x);
	assert_non_null(name);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name), 1);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), -3650, 0,
	    NULL));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 3650, 0,
	    NULL));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (l == NULL) {
		X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL,
		    NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
		    "critical,CA:TRUE");
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	} else
		add_amd_exts(x, l);
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key,
	    EVP_sha384()) > 0);
	X509_NAME_free(name);
	return x;
}

static char *
pem_of(X509 *const *x, size_t n)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	BUF_MEM	*mem;
	char	*s;
	size_t	 i;

	for (i = 0; i < n; i++)
		assert_int_equal(PEM_write_bio_X509(bio, x[i]), 1);
	BIO_get_mem_ptr(bio, &mem);
	s = malloc(mem->length + 1);
	assert_non_null(s);
	memcpy(s, mem->data, mem->length);
	s[mem->length] = '\0';
	BIO_free(bio);
	return s;
}

/* A Milan VCEK leaf for milan_tcb and pki.chip_id. */
static struct leaf
vcek_leaf(void)
{
	struct leaf	l;
	int		i;

	memset(&l, 0, sizeof(l));
	l.cn = "SEV-VCEK";
	l.product_name = "Milan-B0";
	for (i = 0; i < ATTEST_SNP_SPLS; i++)
		l.spl[i] = 0;
	l.spl[ATTEST_SNP_SPL_BL] = milan_tcb[0];
	l.spl[ATTEST_SNP_SPL_SNP] = milan_tcb[6];
	l.spl[ATTEST_SNP_SPL_UCODE] = milan_tcb[7];
	l.spl[ATTEST_SNP_SPL_FMC] = -1;
	l.hwid = pki.chip_id;
	l.hwid_len = sizeof(pki.chip_id);
	return l;
}

static int
pki_setup(void **state)
{
	struct leaf	l;
	X509		*ints[4], *roots[3];
	size_t		i;

	(void)state;
	for (i = 0; i < 8; i++)
		pki.key[i] = p384();
	for (i = 0; i < sizeof(pki.chip_id); i++)
		pki.chip_id[i] = (unsigned char)(0xc0 + i);
	pki.ark = issue(pki.key[0], "ARK-Milan", 1, NULL, NULL, NULL);
	pki.ask = issue(pki.key[1], "SEV-Milan", 2, pki.ark, pki.key[0], NULL);
	pki.asvk = issue(pki.key[2], "SEV-VLEK-Milan", 3, pki.ark, pki.key[0],
	    NULL);
	pki.genoa_ark = issue(pki.key[3], "ARK-Genoa", 1, NULL, NULL, NULL);
	pki.genoa_ask = issue(pki.key[4], "SEV-Genoa", 2, pki.genoa_ark,
	    pki.key[3], NULL);
	pki.turin_ark = issue(pki.key[5], "ARK-Turin", 1, NULL, NULL, NULL);
	pki.turin_ask = issue(pki.key[6], "SEV-Turin", 2, pki.turin_ark,
	    pki.key[5], NULL);
	pki.vcek_key = pki.key[7];
	pki.vlek_key = p384();
	l = vcek_leaf();
	pki.vcek = issue(pki.vcek_key, "SEV-VCEK", 10, pki.ask, pki.key[1],
	    &l);
	l.cn = "SEV-VLEK";
	l.product_name = "Milan";
	l.hwid = NULL;
	l.csp_id = "cube-test-csp";
	pki.vlek = issue(pki.vlek_key, "SEV-VLEK", 11, pki.asvk, pki.key[2],
	    &l);
	l = vcek_leaf();
	l.product_name = "Turin-B0";
	l.spl[ATTEST_SNP_SPL_FMC] = turin_tcb[0];
	l.spl[ATTEST_SNP_SPL_BL] = turin_tcb[1];
	l.spl[ATTEST_SNP_SPL_TEE] = turin_tcb[2];
	l.spl[ATTEST_SNP_SPL_SNP] = turin_tcb[3];
	l.spl[ATTEST_SNP_SPL_UCODE] = turin_tcb[7];
	l.hwid_len = 8;
	pki.turin_vcek = issue(pki.vcek_key, "SEV-VCEK", 12, pki.turin_ask,
	    pki.key[6], &l);
	roots[0] = pki.ark;
	roots[1] = pki.genoa_ark;
	roots[2] = pki.turin_ark;
	pki.roots = pem_of(roots, 3);
	ints[0] = pki.ask;
	ints[1] = pki.asvk;
	ints[2] = pki.genoa_ask;
	ints[3] = pki.turin_ask;
	pki.chain = pem_of(ints, 4);
	return 0;
}

static int
pki_teardown(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < 8; i++)
		EVP_PKEY_free(pki.key[i]);
	EVP_PKEY_free(pki.vlek_key);
	X509_free(pki.ark);
	X509_free(pki.ask);
	X509_free(pki.asvk);
	X509_free(pki.genoa_ark);
	X509_free(pki.genoa_ask);
	X509_free(pki.turin_ark);
	X509_free(pki.turin_ask);
	X509_free(pki.vcek);
	X509_free(pki.vlek);
	X509_free(pki.turin_vcek);
	free(pki.roots);
	free(pki.chain);
	return 0;
}

/* --- forged reports ----------------------------------------------------- */

static void
le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* A good Milan report, version 2, VCEK-signed (not yet signed). */
static void
report_init(unsigned char *r)
{
	memset(r, 0, ATTEST_SNP_REPORT_SIZE);
	le32(r + R_VERSION, 2);
	le32(r + R_POLICY, 0x30000 | 0x0134);	/* ABI 1.52, SMT */
	le32(r + R_SIG_ALGO, 1);
	memcpy(r + R_CURRENT_TCB, milan_tcb, 8);
	memcpy(r + R_REPORTED_TCB, milan_tcb, 8);
	memcpy(r + R_COMMITTED_TCB, milan_tcb, 8);
	memcpy(r + R_LAUNCH_TCB, milan_tcb, 8);
	memcpy(r + R_CHIP_ID, pki.chip_id, sizeof(pki.chip_id));
	r[R_CURRENT_VER] = r[R_COMMITTED_VER] = 4;
	r[R_CURRENT_VER + 1] = r[R_COMMITTED_VER + 1] = 52;
	r[R_CURRENT_VER + 2] = r[R_COMMITTED_VER + 2] = 1;
	le32(r + R_PLATFORM, 1);
	memset(r + R_REPORT_DATA, 0xab, 64);
}

static void
report_sign(unsigned char *r, EVP_PKEY *key)
{
	EVP_MD_CTX		*ctx = EVP_MD_CTX_new();
	unsigned char		 der[160];
	const unsigned char	*q = der;
	size_t			 len = sizeof(der);
	ECDSA_SIG		*sig;
	const BIGNUM		*br, *bs;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL,
	    key), 1);
	assert_int_equal(EVP_DigestSign(ctx, der, &len, r, R_SIGNATURE), 1);
	sig = d2i_ECDSA_SIG(NULL, &q, (long)len);
	assert_non_null(sig);
	ECDSA_SIG_get0(sig, &br, &bs);
	assert_int_equal(BN_bn2lebinpad(br, r + R_SIGNATURE, 72), 72);
	assert_int_equal(BN_bn2lebinpad(bs, r + R_SIGNATURE + 72, 72), 72);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
}

/* Verify report r with leaf, the test chain and roots. */
static int
verify_with(const unsigned char *r, X509 *leaf, const char *roots,
    const struct attest_policy *policy, struct attest_result *res)
{
	struct attest_input	 in;
	struct attest_policy	 p;
	char			*vcek = pem_of(&leaf, 1);
	int			 rc;

	memset(&in, 0, sizeof(in));
	in.tee = ATTEST_TEE_SEV_SNP;
	in.evidence = r;
	in.evidence_len = ATTEST_SNP_REPORT_SIZE;
	in.vcek = (const unsigned char *)vcek;
	in.vcek_len = strlen(vcek);
	in.chain = (const unsigned char *)pki.chain;
	in.chain_len = strlen(pki.chain);
	in.root = (const unsigned char *)roots;
	in.root_len = strlen(roots);
	if (policy != NULL)
		p = *policy;
	else
		memset(&p, 0, sizeof(p));
	p.now = NOW;
	rc = attest_verify(&in, &p, res);
	free(vcek);
	return rc;
}

static int
verify(const unsigned char *r, X509 *leaf, const struct attest_policy *policy,
    struct attest_result *res)
{
	return verify_with(r, leaf, pki.roots, policy, res);
}

static const struct attest_check *
find_check(const struct attest_result *res, const char *name)
{
	size_t	i;

	for (i = 0; i < res->nchecks; i++)
		if (strcmp(attest_check_name(res->checks[i].id), name) == 0)
			return &res->checks[i];
	return NULL;
}

static void
assert_check(const struct attest_result *res, const char *name, int ok,
    const char *detail)
{
	const struct attest_check	*c = find_check(res, name);

	if (c == NULL)
		fail_msg("no check %s", name);
	if (c->ok != ok)
		fail_msg("check %s: %s (%s), expected %s", name,
		    c->ok ? "ok" : "FAILED", c->detail, ok ? "ok" : "FAILED");
	if (detail != NULL && strstr(c->detail, detail) == NULL)
		fail_msg("check %s: '%s' lacks '%s'", name, c->detail, detail);
}

static void
assert_absent(const struct attest_result *res, const char *name)
{
	if (find_check(res, name) != NULL)
		fail_msg("check %s is there: %s", name,
		    find_check(res, name)->detail);
}

/* Exactly these checks failed (a space-separated list), none other. */
static void
assert_failed(const struct attest_result *res, const char *names)
{
	char	buf[512] = "";
	size_t	i, n = 0;

	for (i = 0; i < res->nchecks; i++)
		if (!res->checks[i].ok)
			n += snprintf(buf + n, sizeof(buf) - n, "%s%s",
			    n ? " " : "", attest_check_name(
			    res->checks[i].id));
	if (strcmp(buf, names) != 0)
		fail_msg("failed: '%s', expected '%s'", buf, names);
	assert_int_equal(res->verified, names[0] == '\0');
}

/* --- the tests ---------------------------------------------------------- */

static void
test_good_vcek(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_result	res;
	char			flags[128];

	(void)state;
	report_init(r);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), 0);
	assert_failed(&res, "");
	assert_check(&res, "chain", 1, "SEV-VCEK -> SEV-Milan -> ARK-Milan");
	assert_check(&res, "product", 1, "Milan (from the VCEK's productName"
	    " Milan-B0), chains to the root given");
	assert_check(&res, "signing-key", 1, "VCEK, as the report says");
	assert_check(&res, "cert-tcb", 1, "VCEK TCB 03000000000008d1");
	assert_check(&res, "chip-id", 1, "hwid (64 bytes)");
	assert_check(&res, "migration", 1, NULL);
	assert_check(&res, "vmpl", 1, NULL);
	assert_check(&res, "provisional", 1, NULL);
	assert_absent(&res, "revocation");
	assert_absent(&res, "guest-policy");
	assert_absent(&res, "platform");
	assert_absent(&res, "guest-svn");
	assert_string_equal(res.product, "Milan");
	assert_string_equal(res.signer, "VCEK");
	assert_int_equal(res.tcb_len, 8);
	assert_memory_equal(res.tcb, milan_tcb, 8);
	assert_int_equal(res.guest_policy, 0x30134);
	assert_string_equal(attest_guest_flags(&res, flags, sizeof(flags)),
	    "debug off, migration agent off, SMT allowed, any sockets");
}

/* A VCEK of old firmware claiming a newer TCB. */
static void
test_tcb_disagrees(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_result	res;

	(void)state;
	report_init(r);
	r[R_REPORTED_TCB + 6] = 9;
	r[R_CURRENT_TCB + 6] = 9;
	r[R_COMMITTED_TCB + 6] = 9;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "cert-tcb");
	assert_check(&res, "cert-tcb", 0, "VCEK snp SPL 8 != REPORTED_TCB"
	    " snp 9");
	/* The VCEK newer than the firmware running. */
	report_init(r);
	r[R_CURRENT_TCB] = 2;
	r[R_COMMITTED_TCB] = 2;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "cert-tcb");
	assert_check(&res, "cert-tcb", 0, "VCEK bl SPL 3 > CURRENT_TCB bl 2");
}

/* A minimum TCB met only by the report's own bytes is not met. */
static void
test_min_tcb_from_cert(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE], min[8];
	struct attest_policy	policy;
	struct attest_result	res;

	(void)state;
	memset(&policy, 0, sizeof(policy));
	memcpy(min, milan_tcb, 8);
	min[6] = 9;
	policy.min_tcb = min;
	policy.min_tcb_len = 8;
	report_init(r);
	r[R_REPORTED_TCB + 6] = 9;
	r[R_CURRENT_TCB + 6] = 9;
	r[R_COMMITTED_TCB + 6] = 9;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_failed(&res, "cert-tcb tcb");
	assert_check(&res, "tcb", 0, "no TCB the evidence's signer vouches");
	/* The certificate's TCB meets it: passes; one above: fails. */
	min[6] = 8;
	report_init(r);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
	assert_check(&res, "tcb", 1, "03000000000008d1, at least");
	min[7] = 0xd2;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_failed(&res, "tcb");
	assert_check(&res, "tcb", 0, "below the minimum");
}

static void
test_chip_id(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_result	res;

	(void)state;
	report_init(r);
	r[R_CHIP_ID + 63] ^= 1;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "chip-id");
	assert_check(&res, "chip-id", 0, "is not the VCEK's hwid");
	/* Zeros without MASK_CHIP_ID are no chip id either. */
	memset(r + R_CHIP_ID, 0, 64);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "chip-id");
	/* Masked by the host: nothing to compare, the check is absent. */
	le32(r + R_FLAGS, ATTEST_SNP_MASK_CHIP_ID);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), 0);
	assert_absent(&res, "chip-id");
	/* Masked, yet a chip id: refused. */
	r[R_CHIP_ID] = 1;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "chip-id");
	assert_check(&res, "chip-id", 0, "MASK_CHIP_ID is set");
}

static void
test_signing_key(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_policy	policy;
	struct attest_result	res;
	struct leaf		l;
	X509			*bad;

	(void)state;
	memset(&policy, 0, sizeof(policy));
	/* A VLEK-flagged report signed by a VCEK. */
	report_init(r);
	le32(r + R_FLAGS, FLAG_VLEK);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "signing-key");
	assert_check(&res, "signing-key", 0, "the report says VLEK signed it,"
	    " the certificate is SEV-VCEK");
	/* A real VLEK report: VLEK issued by the ASVK. */
	report_init(r);
	le32(r + R_FLAGS, FLAG_VLEK);
	report_sign(r, pki.vlek_key);
	assert_int_equal(verify(r, pki.vlek, NULL, &res), 0);
	assert_check(&res, "signing-key", 1, "VLEK, as the report says,"
	    " issued by the ASVK SEV-VLEK-Milan");
	assert_absent(&res, "chip-id");
	assert_string_equal(res.signer, "VLEK");
	/* A bundle of VCEK, VLEK and ASK: the report's kind is picked. */
	{
		X509			*three[3] = { pki.vcek, pki.vlek, pki.ask };
		char			*bundle = pem_of(three, 3);
		struct attest_input	 in;
		struct attest_policy	 p;

		memset(&in, 0, sizeof(in));
		memset(&p, 0, sizeof(p));
		p.now = NOW;
		in.tee = ATTEST_TEE_SEV_SNP;
		in.evidence = r;
		in.evidence_len = sizeof(r);
		in.vcek = in.chain = (const unsigned char *)bundle;
		in.vcek_len = in.chain_len = strlen(bundle);
		in.root = (const unsigned char *)pki.roots;
		in.root_len = strlen(pki.roots);
		assert_int_equal(attest_verify(&in, &p, &res), -1);
		/* Without the ASVK in the chain given: only that fails. */
		assert_failed(&res, "chain");
		in.chain = (const unsigned char *)pki.chain;
		in.chain_len = strlen(pki.chain);
		assert_int_equal(attest_verify(&in, &p, &res), 0);
		assert_string_equal(res.signer, "VLEK");
		free(bundle);
	}
	/* The signers a policy accepts. */
	policy.snp.signer = 1;
	assert_int_equal(verify(r, pki.vlek, &policy, &res), -1);
	assert_failed(&res, "signing-key");
	assert_check(&res, "signing-key", 0, "accepts only a VCEK");
	policy.snp.signer = 2;
	assert_int_equal(verify(r, pki.vlek, &policy, &res), 0);
	/* A VCEK-flagged report signed by the VLEK. */
	report_init(r);
	report_sign(r, pki.vlek_key);
	assert_int_equal(verify(r, pki.vlek, NULL, &res), -1);
	assert_check(&res, "signing-key", 0, "the report says VCEK signed it");
	/* A "VLEK" issued by the ASK, not the ASVK. */
	l = vcek_leaf();
	l.cn = "SEV-VLEK";
	l.product_name = "Milan";
	l.hwid = NULL;
	l.csp_id = "rogue";
	bad = issue(pki.vlek_key, "SEV-VLEK", 20, pki.ask, pki.key[1], &l);
	report_init(r);
	le32(r + R_FLAGS, FLAG_VLEK);
	report_sign(r, pki.vlek_key);
	assert_int_equal(verify(r, bad, NULL, &res), -1);
	assert_failed(&res, "signing-key");
	assert_check(&res, "signing-key", 0, "issued by SEV-Milan, not by"
	    " Milan's ASVK SEV-VLEK-Milan");
	X509_free(bad);
	/* Not signed at all. */
	report_init(r);
	le32(r + R_FLAGS, FLAG_NONE);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_check(&res, "signing-key", 0, "not signed");
	assert_check(&res, "signature", 0, "not signed");
}

static void
test_migration_and_vmpl(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_policy	policy;
	struct attest_result	res;
	char			flags[128];

	(void)state;
	memset(&policy, 0, sizeof(policy));
	report_init(r);
	le32(r + R_POLICY, 0x30000 | ATTEST_SNP_POLICY_MIGRATE_MA);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "migration");
	assert_check(&res, "migration", 0, "MIGRATE_MA 1");
	assert_string_equal(attest_guest_flags(&res, flags, sizeof(flags)),
	    "debug off, migration agent ALLOWED, SMT allowed, any sockets");
	policy.snp.allow_migration_agent = 1;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
	assert_check(&res, "migration", 1, "as allowed");

	memset(&policy, 0, sizeof(policy));
	report_init(r);
	le32(r + R_VMPL, 3);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "vmpl");
	assert_check(&res, "vmpl", 0, "VMPL 3, above the 0 allowed");
	policy.snp.max_vmpl = 2;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	policy.snp.max_vmpl = 3;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
	assert_check(&res, "vmpl", 1, "VMPL 3, at most 3");
}

/* The ARK must be the report's product's, not any trusted one. */
static void
test_wrong_product(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_policy	policy;
	struct attest_result	res;
	struct leaf		l;
	X509			*x;

	(void)state;
	memset(&policy, 0, sizeof(policy));
	/* A version 3 report from a Genoa CPU, a VCEK under Milan's ARK. */
	report_init(r);
	le32(r + R_VERSION, 3);
	r[R_CPUID] = 0x19;
	r[R_CPUID + 1] = 0x11;
	r[R_CPUID + 2] = 1;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "chain product signing-key");
	assert_check(&res, "product", 0, "Genoa (from the report's CPUID"
	    " family 19h model 11h stepping 1), but the VCEK chains to"
	    " ARK-Milan, not Genoa's ARK");
	/* A certificate that is no VCEK, under Milan's ARK. */
	l = vcek_leaf();
	x = issue(pki.vcek_key, "NOT-A-VCEK", 31, pki.ask, pki.key[1], &l);
	assert_int_equal(verify(r, x, NULL, &res), -1);
	assert_check(&res, "product", 0, "but the certificate chains to"
	    " ARK-Milan");
	assert_check(&res, "signing-key", 0, "the certificate is NOT-A-VCEK");
	assert_check(&res, "cert-tcb", 0, "neither SEV-VCEK nor SEV-VLEK");
	X509_free(x);
	/* Its CPUID saying Milan: fine. */
	r[R_CPUID + 1] = 0x01;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), 0);
	assert_check(&res, "product", 1, "Milan (from the report's CPUID");
	/* An unknown CPU. */
	r[R_CPUID] = 0x17;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_check(&res, "product", 0, "unknown");
	/* Version 2: a VCEK naming Genoa, issued under Milan's ARK. */
	l = vcek_leaf();
	l.product_name = "Genoa-B1";
	x = issue(pki.vcek_key, "SEV-VCEK", 30, pki.ask, pki.key[1], &l);
	report_init(r);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, x, NULL, &res), -1);
	assert_check(&res, "product", 0, "chains to ARK-Milan, not Genoa's");
	X509_free(x);
	/* A product the policy does not accept. */
	policy.snp.products = 1U << ATTEST_SNP_GENOA | 1U << ATTEST_SNP_TURIN;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_failed(&res, "product");
	assert_check(&res, "product", 0, "not a product the policy accepts");
	policy.snp.products |= 1U << ATTEST_SNP_MILAN;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
}

/* Turin: FMC first in the TCB, an 8-byte hwid. */
static void
test_turin(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_result	res;

	(void)state;
	report_init(r);
	le32(r + R_VERSION, 3);
	r[R_CPUID] = 0x1a;
	r[R_CPUID + 1] = 0x02;
	memcpy(r + R_CURRENT_TCB, turin_tcb, 8);
	memcpy(r + R_REPORTED_TCB, turin_tcb, 8);
	memcpy(r + R_COMMITTED_TCB, turin_tcb, 8);
	memset(r + R_CHIP_ID + 8, 0, 56);
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.turin_vcek, NULL, &res), 0);
	assert_check(&res, "chain", 1, "SEV-Turin -> ARK-Turin");
	assert_check(&res, "cert-tcb", 1, "0102030400000005");
	assert_check(&res, "chip-id", 1, "hwid (8 bytes)");
	/* The FMC level counts. */
	r[R_REPORTED_TCB] = 2;
	r[R_CURRENT_TCB] = 2;
	r[R_COMMITTED_TCB] = 2;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.turin_vcek, NULL, &res), -1);
	assert_check(&res, "cert-tcb", 0, "VCEK fmc SPL 1 != REPORTED_TCB"
	    " fmc 2");
}

static void
test_guest_policy(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_policy	policy;
	struct attest_result	res;

	(void)state;
	memset(&policy, 0, sizeof(policy));
	report_init(r);
	report_sign(r, pki.vcek_key);
	policy.snp.min_abi_major = 1;
	policy.snp.min_abi_minor = 52;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
	assert_check(&res, "guest-policy", 1, "ABI 1.52");
	policy.snp.min_abi_minor = 55;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_failed(&res, "guest-policy");
	assert_check(&res, "guest-policy", 0, "ABI 1.52 below the minimum"
	    " 1.55");
	memset(&policy, 0, sizeof(policy));
	policy.snp.require_no_smt = 1;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_check(&res, "guest-policy", 0, "allows SMT");
	memset(&policy, 0, sizeof(policy));
	policy.snp.require_single_socket = 1;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_check(&res, "guest-policy", 0, "single socket");
	memset(&policy, 0, sizeof(policy));
	policy.snp.require_ciphertext_hiding = 1;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_check(&res, "guest-policy", 0, "ciphertext hiding");
	/* All three set in the report, all three required: passes. */
	le32(r + R_POLICY, 0x20000 | ATTEST_SNP_POLICY_SINGLE_SOCKET |
	    ATTEST_SNP_POLICY_CIPHERTEXT_HIDING);
	report_sign(r, pki.vcek_key);
	policy.snp.require_no_smt = 1;
	policy.snp.require_single_socket = 1;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
	assert_check(&res, "guest-policy", 1, "no SMT, single socket,"
	    " ciphertext hiding");
}

static void
test_platform(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_policy	policy;
	struct attest_result	res;

	(void)state;
	memset(&policy, 0, sizeof(policy));
	report_init(r);		/* PLATFORM_INFO 1: SMT */
	report_sign(r, pki.vcek_key);
	policy.snp.platform_require = ATTEST_SNP_PLATFORM_SMT;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
	assert_check(&res, "platform", 1, "PLATFORM_INFO 0x1");
	policy.snp.platform_require |= ATTEST_SNP_PLATFORM_TSME;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_failed(&res, "platform");
	assert_check(&res, "platform", 0, "lacks required bits 0x2");
	memset(&policy, 0, sizeof(policy));
	policy.snp.platform_forbid = ATTEST_SNP_PLATFORM_SMT;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_check(&res, "platform", 0, "forbidden bits 0x1");
	/* Reserved bit 6: refused whenever the policy looks. */
	le32(r + R_PLATFORM, 0x41);
	report_sign(r, pki.vcek_key);
	policy.snp.platform_forbid = ATTEST_SNP_PLATFORM_TIO;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_check(&res, "platform", 0, "reserved bits 0x40");
}

/*
 * Committed firmware is the current unless provisional firmware is
 * allowed. (The real vectors have committed == current: checked in
 * test-attest.c, they keep their verdicts.)
 */
static void
test_provisional(void **state)
{
	unsigned char		r[ATTEST_SNP_REPORT_SIZE];
	struct attest_policy	policy;
	struct attest_result	res;

	(void)state;
	memset(&policy, 0, sizeof(policy));
	report_init(r);
	r[R_COMMITTED_TCB + 7] = 0xd0;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, NULL, &res), -1);
	assert_failed(&res, "provisional");
	assert_check(&res, "provisional", 0, "is not the current 1.52 build 4");
	policy.snp.allow_provisional_firmware = 1;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
	assert_check(&res, "provisional", 1, "as allowed");
	/* A committed build above the current one is never right. */
	report_init(r);
	r[R_COMMITTED_VER] = 5;
	report_sign(r, pki.vcek_key);
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_check(&res, "provisional", 0, "is above the current");
}

static void
values1(struct attest_values *vs, unsigned char byte, size_t len)
{
	unsigned char	v[64];

	memset(vs, 0, sizeof(*vs));
	memset(v, byte, len);
	assert_int_equal(attest_values_add(vs, v, len), 0);
}

/* GUEST_SVN, HOST_DATA, ID and author keys, family and image ids. */
static void
test_fields(void **state)
{
	static const struct {
		const char	*check;
		size_t		 off, len;
		size_t		 field;	/* offsetof in attest_snp_policy */
	} fields[] = {
		{ "host-data", R_HOST_DATA, 32,
		    offsetof(struct attest_snp_policy, host_data) },
		{ "id-key", R_ID_KEY, 48,
		    offsetof(struct attest_snp_policy, id_key_digest) },
		{ "author-key", R_AUTHOR_KEY, 48,
		    offsetof(struct attest_snp_policy, author_key_digest) },
		{ "family-id", R_FAMILY_ID, 16,
		    offsetof(struct attest_snp_policy, family_id) },
		{ "image-id", R_IMAGE_ID, 16,
		    offsetof(struct attest_snp_policy, image_id) },
	};
	unsigned char		 r[ATTEST_SNP_REPORT_SIZE];
	struct attest_policy	 policy;
	struct attest_result	 res;
	struct attest_values	*vs;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		memset(&policy, 0, sizeof(policy));
		vs = (struct attest_values *)((char *)&policy.snp +
		    fields[i].field);
		report_init(r);
		memset(r + fields[i].off, 0x5a, fields[i].len);
		le32(r + R_FLAGS, ATTEST_SNP_AUTHOR_KEY_EN);
		report_sign(r, pki.vcek_key);
		values1(vs, 0x5a, fields[i].len);
		assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
		assert_check(&res, fields[i].check, 1, "as expected");
		values1(vs, 0x5b, fields[i].len);
		assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
		assert_failed(&res, fields[i].check);
		assert_check(&res, fields[i].check, 0, "not the one expected");
	}
	/* An author key digest without AUTHOR_KEY_EN is no author key. */
	memset(&policy, 0, sizeof(policy));
	report_init(r);
	memset(r + R_AUTHOR_KEY, 0x5a, 48);
	report_sign(r, pki.vcek_key);
	values1(&policy.snp.author_key_digest, 0x5a, 48);
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_check(&res, "author-key", 0, "AUTHOR_KEY_EN is 0");

	memset(&policy, 0, sizeof(policy));
	report_init(r);
	le32(r + R_GUEST_SVN, 7);
	report_sign(r, pki.vcek_key);
	policy.snp.min_guest_svn = 7;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), 0);
	assert_check(&res, "guest-svn", 1, "GUEST_SVN 7, at least 7");
	policy.snp.min_guest_svn = 8;
	assert_int_equal(verify(r, pki.vcek, &policy, &res), -1);
	assert_failed(&res, "guest-svn");
	assert_check(&res, "guest-svn", 0, "GUEST_SVN 7 below the minimum 8");
}

/* A CRL by key over the serials listed, valid around NOW. */
static char *
crl_pem(X509 *issuer, EVP_PKEY *key, const long *serials, size_t n)
{
	X509_CRL	*crl = X509_CRL_new();
	X509_REVOKED	*rev;
	ASN1_INTEGER	*sn;
	ASN1_TIME	*t;
	BIO		*bio = BIO_new(BIO_s_mem());
	BUF_MEM		*mem;
	char		*s;
	size_t		 i;

	assert_non_null(crl);
	X509_CRL_set_version(crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	t = ASN1_TIME_set(NULL, NOW - DAY);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_free(t);
	t = ASN1_TIME_set(NULL, NOW + 30 * DAY);
	X509_CRL_set1_nextUpdate(crl, t);
	ASN1_TIME_free(t);
	for (i = 0; i < n; i++) {
		rev = X509_REVOKED_new();
		sn = ASN1_INTEGER_new();
		ASN1_INTEGER_set(sn, serials[i]);
		X509_REVOKED_set_serialNumber(rev, sn);
		t = ASN1_TIME_set(NULL, NOW - DAY);
		X509_REVOKED_set_revocationDate(rev, t);
		ASN1_TIME_free(t);
		ASN1_INTEGER_free(sn);
		X509_CRL_add0_revoked(crl, rev);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, key, EVP_sha384()) > 0);
	assert_int_equal(PEM_write_bio_X509_CRL(bio, crl), 1);
	BIO_get_mem_ptr(bio, &mem);
	s = malloc(mem->length + 1);
	assert_non_null(s);
	memcpy(s, mem->data, mem->length);
	s[mem->length] = '\0';
	BIO_free(bio);
	X509_CRL_free(crl);
	return s;
}

static int
verify_crl(const unsigned char *r, const char *crls, struct attest_result *res)
{
	struct attest_input	 in;
	struct attest_policy	 p;
	char			*vcek = pem_of(&pki.vcek, 1);
	int			 rc;

	memset(&in, 0, sizeof(in));
	memset(&p, 0, sizeof(p));
	p.now = NOW;
	in.tee = ATTEST_TEE_SEV_SNP;
	in.evidence = r;
	in.evidence_len = ATTEST_SNP_REPORT_SIZE;
	in.vcek = (const unsigned char *)vcek;
	in.vcek_len = strlen(vcek);
	in.chain = (const unsigned char *)pki.chain;
	in.chain_len = strlen(pki.chain);
	in.root = (const unsigned char *)pki.roots;
	in.root_len = strlen(pki.roots);
	in.crls = (const unsigned char *)crls;
	in.crls_len = strlen(crls);
	rc = attest_verify(&in, &p, res);
	free(vcek);
	return rc;
}

static void
test_revocation(void **state)
{
	unsigned char		 r[ATTEST_SNP_REPORT_SIZE];
	struct attest_result	 res;
	const long		 ask = 2, other[] = { 99, 100 };
	char			*crl;

	(void)state;
	report_init(r);
	report_sign(r, pki.vcek_key);
	crl = crl_pem(pki.ark, pki.key[0], other, 2);
	assert_int_equal(verify_crl(r, crl, &res), 0);
	assert_check(&res, "revocation", 1, "SEV-Milan is not on ARK-Milan's"
	    " CRL");
	free(crl);
	crl = crl_pem(pki.ark, pki.key[0], &ask, 1);
	assert_int_equal(verify_crl(r, crl, &res), -1);
	assert_failed(&res, "revocation");
	assert_check(&res, "revocation", 0, "SEV-Milan is revoked");
	free(crl);
	/* A CRL in ARK-Milan's name, signed by another key. */
	crl = crl_pem(pki.ark, pki.key[3], other, 0);
	assert_int_equal(verify_crl(r, crl, &res), -1);
	assert_check(&res, "revocation", 0, "no CRL given is signed by"
	    " ARK-Milan");
	free(crl);
	assert_int_equal(verify_crl(r, "not a CRL", &res), -1);
	assert_check(&res, "revocation", 0, "CRLs:");
}

/* The extension parser refuses what KDS never writes. */
static void
test_cert_extensions(void **state)
{
	static const unsigned char	int200[] = { 2, 2, 0, 200 };
	static const unsigned char	int3[] = { 2, 1, 3 };
	static const unsigned char	junk[] = { 4, 1 };
	struct attest_snp_cert		c;
	struct leaf			l;
	X509				*x;
	char				*pem, err[128];
	size_t				 i;
	struct {
		const char		*oid;
		const unsigned char	*der;
		int			 len;
		const char		*why;
	} extra[] = {
		{ "1.3.6.1.4.1.3704.1.3.1", int3, 3, "appears twice" },
		{ "1.3.6.1.4.1.3704.1.3.10", int3, 3, "not one AMD's KDS" },
		{ "1.3.6.1.4.1.3704.1.6", int3, 3, "not one AMD's KDS" },
		{ "2.5.29.19", junk, 2, "not one AMD's KDS" },
		{ "1.3.6.1.4.1.3704.1.5", junk, 2, "cspId" },
	};

	(void)state;
	pem = pem_of(&pki.vcek, 1);
	assert_int_equal(attest_snp_cert_parse((unsigned char *)pem,
	    strlen(pem), &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, ATTEST_SNP_KEY_VCEK);
	assert_int_equal(c.product, ATTEST_SNP_MILAN);
	assert_string_equal(c.product_name, "Milan-B0");
	assert_int_equal(c.spl[ATTEST_SNP_SPL_UCODE], 0xd1);
	assert_int_equal(c.hwid_len, 64);
	free(pem);
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		l = vcek_leaf();
		l.extra_oid = extra[i].oid;
		l.extra = extra[i].der;
		l.extra_len = extra[i].len;
		x = issue(pki.vcek_key, "SEV-VCEK", 40, pki.ask, pki.key[1],
		    &l);
		assert_int_equal(attest_snp_cert_from_x509(x, &c, err,
		    sizeof(err)), -1);
		if (strstr(err, extra[i].why) == NULL)
			fail_msg("%s: '%s' lacks '%s'", extra[i].oid, err,
			    extra[i].why);
		X509_free(x);
	}
	/* blSPL above 127, a missing microcode level, a bad product. */
	l = vcek_leaf();
	l.spl[ATTEST_SNP_SPL_BL] = -1;
	l.extra_oid = "1.3.6.1.4.1.3704.1.3.1";
	l.extra = int200;
	l.extra_len = 4;
	x = issue(pki.vcek_key, "SEV-VCEK", 41, pki.ask, pki.key[1], &l);
	assert_int_equal(attest_snp_cert_from_x509(x, &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "blSPL"));
	X509_free(x);
	l = vcek_leaf();
	l.spl[ATTEST_SNP_SPL_UCODE] = -1;
	x = issue(pki.vcek_key, "SEV-VCEK", 42, pki.ask, pki.key[1], &l);
	assert_int_equal(attest_snp_cert_from_x509(x, &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "no ucodeSPL"));
	X509_free(x);
	l = vcek_leaf();
	l.product_name = "Naples-B0";
	x = issue(pki.vcek_key, "SEV-VCEK", 43, pki.ask, pki.key[1], &l);
	assert_int_equal(attest_snp_cert_from_x509(x, &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "productName 'Naples-B0'"));
	X509_free(x);
	/* A VCEK without hwid, and a hwid of the wrong size. */
	l = vcek_leaf();
	l.hwid = NULL;
	x = issue(pki.vcek_key, "SEV-VCEK", 44, pki.ask, pki.key[1], &l);
	assert_int_equal(attest_snp_cert_from_x509(x, &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "needs a hwid"));
	X509_free(x);
	l = vcek_leaf();
	l.hwid_len = 32;
	x = issue(pki.vcek_key, "SEV-VCEK", 45, pki.ask, pki.key[1], &l);
	assert_int_equal(attest_snp_cert_from_x509(x, &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "hwid"));
	X509_free(x);
	/* Not a VCEK or VLEK at all. */
	assert_int_equal(attest_snp_cert_from_x509(pki.ask, &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "SEV-Milan is neither"));
	/* A report verified with a VCEK whose extensions do not parse. */
	l = vcek_leaf();
	l.spl[ATTEST_SNP_SPL_UCODE] = -1;
	x = issue(pki.vcek_key, "SEV-VCEK", 46, pki.ask, pki.key[1], &l);
	{
		unsigned char		r[ATTEST_SNP_REPORT_SIZE];
		struct attest_result	res;

		report_init(r);
		report_sign(r, pki.vcek_key);
		assert_int_equal(verify(r, x, NULL, &res), -1);
		assert_failed(&res, "product signing-key cert-tcb chip-id");
		assert_check(&res, "cert-tcb", 0, "no ucodeSPL");
	}
	X509_free(x);
	/* The Turin layout: FMC and no place for spl_4..7. */
	pem = pem_of(&pki.turin_vcek, 1);
	assert_int_equal(attest_snp_cert_parse((unsigned char *)pem,
	    strlen(pem), &c, err, sizeof(err)), 0);
	free(pem);
	{
		unsigned char	tcb[8];

		assert_int_equal(attest_snp_cert_tcb(&c, ATTEST_SNP_TURIN, tcb,
		    err, sizeof(err)), 0);
		assert_memory_equal(tcb, turin_tcb, 8);
		assert_int_equal(attest_snp_cert_tcb(&c, ATTEST_SNP_MILAN, tcb,
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "fmcSPL 1"));
		c.spl[ATTEST_SNP_SPL_5] = 1;
		assert_int_equal(attest_snp_cert_tcb(&c, ATTEST_SNP_TURIN, tcb,
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "spl_5 1"));
	}
}

/*
 * The pinned ASVKs (Milan, Genoa, Turin) chain to their product's pinned
 * ARK, and to no other product's: a VLEK report verifies without --chain.
 */
static void
test_pinned_asvks(void **state)
{
	const struct attest_root	*r;
	STACK_OF(X509)			*x;
	char				 detail[ATTEST_DETAIL_MAX], err[128];
	size_t				 i, n = 0;

	(void)state;
	for (i = 0; i < attest_roots_size; i++) {
		r = &attest_roots[i];
		if (r->tee != ATTEST_TEE_SEV_SNP ||
		    r->kind != ATTEST_ROOT_INTERMEDIATE)
			continue;
		x = attest_x509_load((const unsigned char *)r->pem,
		    strlen(r->pem), err, sizeof(err));
		assert_non_null(x);
		assert_int_equal(attest_x509_chain_product(sk_X509_value(x, 0),
		    NULL, ATTEST_TEE_SEV_SNP, r->product, NULL, 0, NOW, NULL,
		    detail, sizeof(detail)), 0);
		assert_int_equal(attest_x509_chain_product(sk_X509_value(x, 0),
		    NULL, ATTEST_TEE_SEV_SNP, strcmp(r->product, "Milan") == 0 ?
		    "Genoa" : "Milan", NULL, 0, NOW, NULL, detail,
		    sizeof(detail)), -1);
		if (strncmp(r->name, "SEV-VLEK-", 9) == 0)
			n++;
		sk_X509_pop_free(x, X509_free);
	}
	assert_int_equal(n, 3);
}

/* Reserved fields refused as go-sev-guest's abi.ReportToProto does. */
static void
test_parse_reserved(void **state)
{
	static const struct {
		size_t		off;
		unsigned char	val;
		const char	*why;
	} cases[] = {
		{ R_POLICY + 2, 0x01, "bit 17 must be 1" },	/* 17 clear */
		{ R_POLICY + 3, 0x04, "bits 26-63" },
		{ R_FLAGS, 0x20, "bits 5-31" },
		{ R_FLAGS, 0x08, "signing key 2" },
		{ 0x4c, 1, "reserved byte 0x4c" },
		{ R_CPUID, 0x19, "reserved byte 0x188" },	/* v2 */
		{ 0x1eb, 1, "reserved byte 0x1eb" },
		{ 0x208, 1, "reserved byte 0x208" },
		{ 0x330, 1, "reserved byte 0x330" },
	};
	unsigned char			r[ATTEST_SNP_REPORT_SIZE];
	struct attest_snp_report	rep;
	char				err[128];
	size_t				i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		report_init(r);
		r[cases[i].off] = cases[i].val;
		assert_int_equal(attest_snp_parse(r, sizeof(r), &rep, err,
		    sizeof(err)), -1);
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("0x%zx: '%s' lacks '%s'", cases[i].off, err,
			    cases[i].why);
	}
	/* Version 3 has CPUID fields where version 2 has zeros. */
	report_init(r);
	le32(r + R_VERSION, 3);
	r[R_CPUID] = 0x19;
	r[R_CPUID + 1] = 0x01;
	r[R_CPUID + 2] = 0x01;
	le32(r + R_FLAGS, ATTEST_SNP_AUTHOR_KEY_EN | ATTEST_SNP_MASK_CHIP_ID |
	    FLAG_VLEK);
	assert_int_equal(attest_snp_parse(r, sizeof(r), &rep, err,
	    sizeof(err)), 0);
	assert_int_equal(attest_snp_report_product(&rep), ATTEST_SNP_MILAN);
	assert_int_equal(rep.signing_key, ATTEST_SNP_KEY_VLEK);
	assert_int_equal(rep.key_info, ATTEST_SNP_AUTHOR_KEY_EN |
	    ATTEST_SNP_MASK_CHIP_ID);
	assert_int_equal(rep.current_major, 1);
	assert_int_equal(rep.current_minor, 52);
	assert_int_equal(rep.committed_build, 4);
	assert_memory_equal(rep.launch_tcb, milan_tcb, 8);
	r[R_CPUID + 3] = 1;
	assert_int_equal(attest_snp_parse(r, sizeof(r), &rep, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_vcek),
		cmocka_unit_test(test_tcb_disagrees),
		cmocka_unit_test(test_min_tcb_from_cert),
		cmocka_unit_test(test_chip_id),
		cmocka_unit_test(test_signing_key),
		cmocka_unit_test(test_migration_and_vmpl),
		cmocka_unit_test(test_wrong_product),
		cmocka_unit_test(test_turin),
		cmocka_unit_test(test_guest_policy),
		cmocka_unit_test(test_platform),
		cmocka_unit_test(test_provisional),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_revocation),
		cmocka_unit_test(test_cert_extensions),
		cmocka_unit_test(test_pinned_asvks),
		cmocka_unit_test(test_parse_reserved),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
