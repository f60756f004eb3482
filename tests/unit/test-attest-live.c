/*
 * attest-snp-signer.c and the live path's use of it: the signer is the
 * certificate the report's SIGNING_KEY names (SEV-VCEK or SEV-VLEK by
 * subject CN), wherever it stands among the others, with a test PKI made
 * here (ARK, ASK, ASVK, VCEK, VLEK) and reports signed with it; and the
 * real Milan VCEK and chain from CUBE_TESTDATA when it is there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "attest.h"

enum { ARK, ASK, ASVK, VCEK, VLEK, NPKI };

static const char *const pki_cn[NPKI] = {
	[ARK] = "ARK-Milan", [ASK] = "SEV-Milan", [ASVK] = "SEV-VLEK-Milan",
	[VCEK] = "SEV-VCEK", [VLEK] = "SEV-VLEK",
};

static struct {
	EVP_PKEY	*key[NPKI];
	X509		*cert[NPKI];
	char		*pem[NPKI];
} pki;

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* Certificate i, issued by issuer (i itself for the root). */
static void
pki_make(int i, int issuer)
{
	X509_NAME	*name;
	X509		*x, *by;
	BIO		*bio;
	BUF_MEM		*mem;
	int		 ca = i == ARK || i == ASK || i == ASVK;

	assert_non_null(pki.key[i] = EVP_EC_gen("P-384"));
	assert_non_null(x = X509_new());
	assert_non_null(name = X509_NAME_new());
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)pki_cn[i], -1, -1, 0), 1);
	by = issuer == i ? x : pki.cert[issuer];
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), i + 1);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer == i ? name :
	    X509_get_subject_name(by));
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pki.key[i]);
	assert_true(add_ext(x, by, NID_basic_constraints, ca ?
	    "critical,CA:TRUE" : "critical,CA:FALSE"));
	assert_true(add_ext(x, by, NID_key_usage, ca ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
	assert_true(X509_sign(x, pki.key[issuer], EVP_sha384()) > 0);
	X509_NAME_free(name);
	pki.cert[i] = x;
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	BIO_get_mem_ptr(bio, &mem);
	assert_non_null(pki.pem[i] = calloc(1, mem->length + 1));
	memcpy(pki.pem[i], mem->data, mem->length);
	BIO_free(bio);
}

static int
group_setup(void **state)
{
	(void)state;
	pki_make(ARK, ARK);
	pki_make(ASK, ARK);
	pki_make(ASVK, ARK);
	pki_make(VCEK, ASK);
	pki_make(VLEK, ASVK);
	return 0;
}

static int
group_teardown(void **state)
{
	int	i;

	(void)state;
	for (i = 0; i < NPKI; i++) {
		EVP_PKEY_free(pki.key[i]);
		X509_free(pki.cert[i]);
		free(pki.pem[i]);
	}
	return 0;
}

/* The PEM of the certificates listed, -1 ending the list; caller frees. */
static char *
bundle(int first, ...)
{
	va_list	 ap;
	char	*s = calloc(1, 1);
	size_t	 len = 0;
	int	 i;

	va_start(ap, first);
	for (i = first; i != -1; i = va_arg(ap, int)) {
		assert_non_null(s = realloc(s, len + strlen(pki.pem[i]) + 1));
		memcpy(s + len, pki.pem[i], strlen(pki.pem[i]) + 1);
		len += strlen(pki.pem[i]);
	}
	va_end(ap);
	return s;
}

/* The subject CNs of a PEM bundle, comma-separated, into buf. */
static void
pem_names(const char *pem, char *buf, size_t len)
{
	BIO	*bio;
	X509	*x;
	char	 cn[64];
	size_t	 n = 0;

	buf[0] = '\0';
	if (pem == NULL)
		return;
	assert_non_null(bio = BIO_new_mem_buf(pem, -1));
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, cn, sizeof(cn));
		n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", cn);
		X509_free(x);
	}
	BIO_free(bio);
}

/* Split pem for key; 0 with the signer's and chain's names, or -1. */
static int
split(const char *pem, uint32_t key, char *signer, char *chain, size_t len,
    char *err, size_t errlen)
{
	struct attest_snp_signer	s;
	int				rc;

	rc = attest_snp_signer_split((const unsigned char *)pem, strlen(pem),
	    key, &s, err, errlen);
	if (rc == 0) {
		pem_names(s.signer, signer, len);
		pem_names(s.chain, chain, len);
		assert_int_equal(s.signer_len, strlen(s.signer));
		if (s.chain != NULL)
			assert_int_equal(s.chain_len, strlen(s.chain));
		assert_string_equal(s.kind, key == 0 ? "VCEK" : "VLEK");
	} else {
		assert_null(s.signer);
		assert_null(s.chain);
	}
	attest_snp_signer_clear(&s);
	return rc;
}

static void
test_split(void **state)
{
	char	 signer[256], chain[256], err[ATTEST_DETAIL_MAX], *pem;

	(void)state;
	/* The VCEK last: still the signer; the rest, in order, its chain. */
	pem = bundle(ARK, ASK, VCEK, -1);
	assert_int_equal(split(pem, 0, signer, chain, sizeof(signer), err,
	    sizeof(err)), 0);
	assert_string_equal(signer, "SEV-VCEK");
	assert_string_equal(chain, "ARK-Milan,SEV-Milan");

	/* A VLEK report with only a VCEK: refused, naming what there is. */
	assert_int_equal(split(pem, 1, signer, chain, sizeof(signer), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the report says its signer is a VLEK"
	    " (SIGNING_KEY 1), and the certificates hold none: ARK-Milan,"
	    " SEV-Milan, SEV-VCEK");
	free(pem);

	/* Both: each report gets its own; the ASVK is not a VLEK. */
	pem = bundle(VCEK, ASVK, VLEK, ASK, ARK, -1);
	assert_int_equal(split(pem, 1, signer, chain, sizeof(signer), err,
	    sizeof(err)), 0);
	assert_string_equal(signer, "SEV-VLEK");
	assert_string_equal(chain, "SEV-VCEK,SEV-VLEK-Milan,SEV-Milan,"
	    "ARK-Milan");
	assert_int_equal(split(pem, 0, signer, chain, sizeof(signer), err,
	    sizeof(err)), 0);
	assert_string_equal(signer, "SEV-VCEK");
	free(pem);
	pem = bundle(ASVK, ARK, -1);
	assert_int_equal(split(pem, 1, signer, chain, sizeof(signer), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "hold none: SEV-VLEK-Milan, ARK-Milan"));
	free(pem);

	/* The signer alone: no chain (the pinned one then). */
	pem = bundle(VCEK, -1);
	assert_int_equal(split(pem, 0, signer, chain, sizeof(signer), err,
	    sizeof(err)), 0);
	assert_string_equal(signer, "SEV-VCEK");
	assert_string_equal(chain, "");
	free(pem);

	/* Two VCEKs: which one? Neither. */
	pem = bundle(VCEK, ASK, VCEK, -1);
	assert_int_equal(split(pem, 0, signer, chain, sizeof(signer), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "more than one"));

	/* Unsigned, unknown signing keys, and no certificates at all. */
	assert_int_equal(split(pem, 7, signer, chain, sizeof(signer), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not signed"));
	assert_int_equal(split(pem, 2, signer, chain, sizeof(signer), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "SIGNING_KEY 2"));
	free(pem);
	assert_int_equal(split("not a certificate", 0, signer, chain,
	    sizeof(signer), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "certificates: "));
	attest_snp_signer_clear(NULL);
}

static int	check(const struct attest_result *, enum attest_check_id,
		    const char **);

/* A file of CUBE_TESTDATA into a fresh buffer; NULL when absent. */
static unsigned char *
testdata(const char *name, size_t *len)
{
	const char	*dir = getenv("CUBE_TESTDATA");
	unsigned char	*p;
	char		 path[512];
	FILE		*f;
	long		 n;

	if (dir == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/attestation/snp/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_non_null(p = malloc((size_t)n + 1));
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* The real Milan VCEK after its ASK and ARK, in one file. */
static void
test_split_real(void **state)
{
	struct attest_snp_signer	 s;
	struct attest_input		 in;
	struct attest_policy		 p;
	struct attest_result		 res;
	const unsigned char		*q;
	const char			*detail;
	unsigned char			*der, *chain, *out, *report;
	size_t				 derlen, chainlen, reportlen;
	char				*pem, err[ATTEST_DETAIL_MAX];
	X509				*x;
	BIO				*bio;
	BUF_MEM				*mem;

	(void)state;
	der = testdata("milan-vcek.der", &derlen);
	chain = testdata("milan-ask-ark.pem", &chainlen);
	if (der == NULL || chain == NULL) {
		free(der);
		free(chain);
		printf("# SKIP CUBE_TESTDATA has no attestation/snp vectors\n");
		skip();
	}
	q = der;
	assert_non_null(x = d2i_X509(NULL, &q, (long)derlen));
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	BIO_write(bio, chain, (int)chainlen);
	PEM_write_bio_X509(bio, x);
	BIO_get_mem_ptr(bio, &mem);
	assert_non_null(pem = calloc(1, mem->length + 1));
	memcpy(pem, mem->data, mem->length);
	BIO_free(bio);
	X509_free(x);

	assert_int_equal(attest_snp_signer_split((unsigned char *)pem,
	    strlen(pem), 0, &s, err, sizeof(err)), 0);
	/* The signer is the VCEK, byte for byte; the chain what was there. */
	assert_non_null(bio = BIO_new_mem_buf(s.signer, -1));
	assert_non_null(x = PEM_read_bio_X509(bio, NULL, NULL, NULL));
	BIO_free(bio);
	out = NULL;
	assert_int_equal(i2d_X509(x, &out), (int)derlen);
	assert_memory_equal(out, der, derlen);
	OPENSSL_free(out);
	X509_free(x);
	assert_string_equal(s.chain, (char *)chain);
	attest_snp_signer_clear(&s);

	/* cubectl verify --vcek of that one file: the report verifies. */
	report = testdata("milan-report.bin", &reportlen);
	assert_non_null(report);
	memset(&in, 0, sizeof(in));
	memset(&p, 0, sizeof(p));
	in.tee = ATTEST_TEE_SEV_SNP;
	in.evidence = report;
	in.evidence_len = reportlen;
	in.vcek = (unsigned char *)pem;
	in.vcek_len = strlen(pem);
	p.now = 1717200000;	/* 2024-06-01: every certificate valid */
	assert_int_equal(attest_verify(&in, &p, &res), 0);
	assert_true(res.verified);
	/* As a VLEK's report (its signature broken by the change too). */
	report[0x48] |= 1 << 2;
	assert_int_equal(attest_verify(&in, &p, &res), -1);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNING_KEY, &detail), 0);
	assert_non_null(strstr(detail, "hold none: SEV-Milan, ARK-Milan,"
	    " SEV-VCEK"));
	free(report);
	free(pem);
	free(der);
	free(chain);
}

/* --- the live path --------------------------------------------------------- */

/* A v2 report for report_data, SIGNING_KEY key, signed by pki.key[by]. */
static void
sign_report(unsigned char *r, const unsigned char *rd, uint32_t key, int by)
{
	EVP_MD_CTX		*ctx;
	ECDSA_SIG		*sig;
	const BIGNUM		*br, *bs;
	unsigned char		 der[160];
	const unsigned char	*q = der;
	size_t			 derlen = sizeof(der);

	memset(r, 0, ATTEST_SNP_REPORT_SIZE);
	r[0x00] = 2;			/* version */
	r[0x0a] = 0x03;			/* policy 0x30000 */
	r[0x34] = 1;			/* ECDSA P-384 */
	r[0x48] = (unsigned char)(key << 2);
	memcpy(r + 0x50, rd, ATTEST_REPORT_DATA_SIZE);
	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL,
	    pki.key[by]), 1);
	assert_int_equal(EVP_DigestSign(ctx, der, &derlen, r, 0x2a0), 1);
	assert_non_null(sig = d2i_ECDSA_SIG(NULL, &q, (long)derlen));
	ECDSA_SIG_get0(sig, &br, &bs);
	assert_int_equal(BN_bn2lebinpad(br, r + 0x2a0, 72), 72);
	assert_int_equal(BN_bn2lebinpad(bs, r + 0x2e8, 72), 72);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
}

static const unsigned char live_nonce[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9,
    10, 11, 12, 13, 14, 15, 16 };

/* An agent's document: a report signed by by, saying key, with certs. */
static cJSON *
live_doc(uint32_t key, int by, const char *certs)
{
	struct attest_binding	 b;
	unsigned char		 rd[ATTEST_REPORT_DATA_SIZE];
	unsigned char		 report[ATTEST_SNP_REPORT_SIZE];
	char			 b64[2048], hex[64], err[128];
	cJSON			*doc;

	memset(&b, 0, sizeof(b));
	b.nonce = live_nonce;
	b.nonce_len = sizeof(live_nonce);
	memset(b.x25519, 0x25, sizeof(b.x25519));
	memset(b.ed25519, 0xed, sizeof(b.ed25519));
	assert_int_equal(attest_binding_digest(&b, rd, err, sizeof(err)), 0);
	sign_report(report, rd, key, by);
	assert_non_null(doc = cJSON_CreateObject());
	cJSON_AddStringToObject(doc, "tee", "sev-guest");
	cJSON_AddFalseToObject(doc, "simulated");
	cJSON_AddStringToObject(doc, "format", "sev-snp");
	sodium_bin2base64(b64, sizeof(b64), report, sizeof(report),
	    sodium_base64_VARIANT_ORIGINAL);
	cJSON_AddStringToObject(doc, "report", b64);
	cJSON_AddStringToObject(doc, "certificates", certs);
	cJSON_AddStringToObject(doc, "nonce", attest_hex(live_nonce,
	    sizeof(live_nonce), hex, sizeof(hex)));
	sodium_bin2base64(b64, sizeof(b64), b.x25519, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	cJSON_AddStringToObject(doc, "x25519", b64);
	sodium_bin2base64(b64, sizeof(b64), b.ed25519, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	cJSON_AddStringToObject(doc, "ed25519", b64);
	cJSON_AddNullToObject(doc, "tls_pubkey_sha256");
	return doc;
}

/* Check id's result: 1 passed, 0 failed, -1 absent; detail into buf. */
static int
check(const struct attest_result *res, enum attest_check_id id,
    const char **detail)
{
	size_t	i;
	int	ok = -1;

	for (i = 0; i < res->nchecks; i++)
		if (res->checks[i].id == id && ok != 0) {
			ok = res->checks[i].ok;
			if (detail != NULL)
				*detail = res->checks[i].detail;
		}
	return ok;
}

/* Verify doc against the test ARK; the result in *res. */
static void
live_verify(const cJSON *doc, struct attest_result *res)
{
	struct attest_live_policy	lp;
	struct attest_live_info		info;

	memset(&lp, 0, sizeof(lp));
	lp.nonce = live_nonce;
	lp.nonce_len = sizeof(live_nonce);
	lp.root = (const unsigned char *)pki.pem[ARK];
	lp.root_len = strlen(pki.pem[ARK]);
	attest_live_verify(doc, &lp, &info, res);
	assert_false(info.simulated);
}

static void
test_live_signer(void **state)
{
	struct attest_result	 res;
	const char		*detail;
	char			*pem;
	cJSON			*doc;

	(void)state;
	/* The VCEK after its chain: picked, it verifies, and so does the chain. */
	pem = bundle(ARK, ASK, VCEK, -1);
	doc = live_doc(0, VCEK, pem);
	live_verify(doc, &res);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNATURE, &detail), 1);
	assert_non_null(strstr(detail, "VCEK"));
	assert_int_equal(check(&res, ATTEST_CHECK_CHAIN, &detail), 1);
	assert_non_null(strstr(detail, "SEV-VCEK -> SEV-Milan -> ARK-Milan"));
	assert_int_equal(check(&res, ATTEST_CHECK_REPORT_DATA, NULL), 1);
	cJSON_Delete(doc);

	/* A report saying VLEK, signed by the VCEK, with only a VCEK. */
	doc = live_doc(1, VCEK, pem);
	live_verify(doc, &res);
	assert_false(res.verified);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNING_KEY, &detail), 0);
	assert_non_null(strstr(detail, "signer is a VLEK (SIGNING_KEY 1), and"
	    " the certificates hold none: ARK-Milan, SEV-Milan, SEV-VCEK"));
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNATURE, NULL), 0);
	cJSON_Delete(doc);
	free(pem);

	/* VCEK and VLEK both there: a VLEK report takes the VLEK. */
	pem = bundle(VCEK, ASK, VLEK, ASVK, ARK, -1);
	doc = live_doc(1, VLEK, pem);
	live_verify(doc, &res);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNATURE, &detail), 1);
	assert_non_null(strstr(detail, "VLEK"));
	assert_int_equal(check(&res, ATTEST_CHECK_CHAIN, &detail), 1);
	assert_non_null(strstr(detail, "SEV-VLEK -> SEV-VLEK-Milan ->"
	    " ARK-Milan"));
	cJSON_Delete(doc);

	/* ... and a VLEK report the VCEK signed is refused by its signature. */
	doc = live_doc(1, VCEK, pem);
	live_verify(doc, &res);
	assert_false(res.verified);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNATURE, NULL), 0);
	cJSON_Delete(doc);
	free(pem);
}

/* Offline: one --vcek file of several certificates, with or without --chain. */
static void
test_offline_bundle(void **state)
{
	struct attest_input	 in;
	struct attest_result	 res;
	unsigned char		 report[ATTEST_SNP_REPORT_SIZE], rd[64];
	const char		*detail;
	char			*pem, *ask;
	size_t			 i;

	(void)state;
	memset(rd, 7, sizeof(rd));
	sign_report(report, rd, 0, VCEK);
	pem = bundle(ASK, VCEK, ARK, -1);
	memset(&in, 0, sizeof(in));
	in.tee = ATTEST_TEE_SEV_SNP;
	in.evidence = report;
	in.evidence_len = sizeof(report);
	in.vcek = (unsigned char *)pem;
	in.vcek_len = strlen(pem);
	in.root = (const unsigned char *)pki.pem[ARK];
	in.root_len = strlen(pki.pem[ARK]);
	attest_verify(&in, NULL, &res);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNATURE, NULL), 1);
	assert_int_equal(check(&res, ATTEST_CHECK_CHAIN, &detail), 1);
	assert_non_null(strstr(detail, "SEV-VCEK -> SEV-Milan -> ARK-Milan"));

	/* --chain given: it is the chain, not the rest of the file. */
	ask = bundle(ASVK, -1);
	in.chain = (unsigned char *)ask;
	in.chain_len = strlen(ask);
	attest_verify(&in, NULL, &res);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNATURE, NULL), 1);
	assert_int_equal(check(&res, ATTEST_CHECK_CHAIN, NULL), 0);
	free(ask);
	in.chain = NULL;
	in.chain_len = 0;

	/* One certificate: the signer given, as attest_verify takes it. */
	in.vcek = (unsigned char *)pki.pem[ASK];
	in.vcek_len = strlen(pki.pem[ASK]);
	attest_verify(&in, NULL, &res);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNATURE, &detail), 0);
	assert_non_null(strstr(detail, "does not verify"));
	for (i = 0; i < res.nchecks; i++)
		assert_null(strstr(res.checks[i].detail, "certificates hold"));

	/* A VLEK's report with a bundle of no VLEK: no signer to check. */
	sign_report(report, rd, 1, VCEK);
	in.vcek = (unsigned char *)pem;
	in.vcek_len = strlen(pem);
	assert_int_equal(attest_verify(&in, NULL, &res), -1);
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNING_KEY, &detail), 0);
	assert_non_null(strstr(detail, "hold none: SEV-Milan, SEV-VCEK,"
	    " ARK-Milan"));
	assert_int_equal(check(&res, ATTEST_CHECK_SIGNATURE, &detail), 0);
	assert_non_null(strstr(detail, "hold none"));
	free(pem);
}

/* tls_agree on doc with status (a JSON text, or NULL): the check's verdict. */
static int
tls_agree(const cJSON *doc, const char *status, const char **detail)
{
	static struct attest_result	 res;
	cJSON				*st = NULL;
	int				 ok;

	memset(&res, 0, sizeof(res));
	res.verified = 1;
	if (status != NULL)
		assert_non_null(st = cJSON_Parse(status));
	attest_live_tls_agree(doc, st, &res);
	cJSON_Delete(st);
	assert_int_equal(res.nchecks, 1);
	assert_int_equal(res.checks[0].id, ATTEST_CHECK_TLS_KEY);
	ok = check(&res, ATTEST_CHECK_TLS_KEY, detail);
	/* A failed tls-key fails the whole verdict: fail closed. */
	assert_int_equal(res.verified, ok);
	return ok;
}

/* The TLS key status reports against the one the evidence binds. */
static void
test_live_tls_agree(void **state)
{
	unsigned char	 spki[91], hash[32], other[32];
	char		 b64[sodium_base64_ENCODED_LEN(sizeof(spki),
			    sodium_base64_VARIANT_ORIGINAL)];
	char		 hex[65], ohex[65], st[512];
	const char	*detail;
	cJSON		*doc;

	(void)state;
	randombytes_buf(spki, sizeof(spki));
	crypto_hash_sha256(hash, spki, sizeof(spki));
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	sodium_bin2base64(b64, sizeof(b64), spki, sizeof(spki),
	    sodium_base64_VARIANT_ORIGINAL);
	memcpy(other, hash, sizeof(other));
	other[31] ^= 1;
	sodium_bin2hex(ohex, sizeof(ohex), other, sizeof(other));

	/* TLS on: the same key everywhere passes. */
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "tls_pubkey_sha256", hex);
	cJSON_AddStringToObject(doc, "tls_spki", b64);
	snprintf(st, sizeof(st), "{\"tls\":{\"on\":true,\"spki_sha256\":"
	    "\"%s\"}}", hex);
	assert_int_equal(tls_agree(doc, st, &detail), 1);
	assert_non_null(strstr(detail, "is the one bound"));
	/* Status reports another key: failed, naming both. */
	snprintf(st, sizeof(st), "{\"tls\":{\"on\":true,\"spki_sha256\":"
	    "\"%s\"}}", ohex);
	assert_int_equal(tls_agree(doc, st, &detail), 0);
	assert_non_null(strstr(detail, "status reports"));
	assert_non_null(strstr(detail, "the evidence binds"));
	/* Status says TLS is off, the evidence binds a key. */
	assert_int_equal(tls_agree(doc, "{\"tls\":{\"on\":false,"
	    "\"spki_sha256\":null}}", &detail), 0);
	assert_non_null(strstr(detail, "status says TLS is off"));
	/* No status yet, or one that does not say, or says it badly. */
	assert_int_equal(tls_agree(doc, NULL, &detail), 0);
	assert_non_null(strstr(detail, "not known yet"));
	assert_int_equal(tls_agree(doc, "{\"tee\":\"sim\"}", NULL), 0);
	assert_int_equal(tls_agree(doc, "{\"tls\":{\"on\":\"yes\"}}", NULL),
	    0);
	assert_int_equal(tls_agree(doc, "{\"tls\":{\"on\":true,"
	    "\"spki_sha256\":\"abcd\"}}", NULL), 0);
	assert_int_equal(tls_agree(doc, "{\"tls\":{\"on\":false,"
	    "\"spki_sha256\":\"abcd\"}}", NULL), 0);
	/* The SPKI carried must hash to the key bound. */
	snprintf(st, sizeof(st), "{\"tls\":{\"on\":true,\"spki_sha256\":"
	    "\"%s\"}}", hex);
	cJSON_ReplaceItemInObject(doc, "tls_spki", cJSON_CreateString("AAAA"));
	assert_int_equal(tls_agree(doc, st, &detail), 0);
	assert_non_null(strstr(detail, "tls_spki hashes to"));
	cJSON_ReplaceItemInObject(doc, "tls_spki", cJSON_CreateNull());
	assert_int_equal(tls_agree(doc, st, &detail), 0);
	assert_non_null(strstr(detail, "carries no tls_spki"));
	cJSON_ReplaceItemInObject(doc, "tls_spki", cJSON_CreateString("%%"));
	assert_int_equal(tls_agree(doc, st, NULL), 0);
	cJSON_ReplaceItemInObject(doc, "tls_pubkey_sha256",
	    cJSON_CreateString("zz"));
	assert_int_equal(tls_agree(doc, st, NULL), 0);

	/* Plain HTTP: nothing bound, as status says, passes. */
	cJSON_ReplaceItemInObject(doc, "tls_pubkey_sha256", cJSON_CreateNull());
	cJSON_ReplaceItemInObject(doc, "tls_spki", cJSON_CreateNull());
	assert_int_equal(tls_agree(doc, "{\"tls\":{\"on\":false,"
	    "\"spki_sha256\":null}}", &detail), 1);
	assert_non_null(strstr(detail, "no TLS"));
	/* ... but status claiming a key the evidence does not bind fails. */
	assert_int_equal(tls_agree(doc, st, &detail), 0);
	assert_non_null(strstr(detail, "binds no TLS key"));
	/* Evidence that is no object. */
	cJSON_Delete(doc);
	doc = cJSON_CreateArray();
	assert_int_equal(tls_agree(doc, st, NULL), 0);
	cJSON_Delete(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_real),
		cmocka_unit_test(test_live_signer),
		cmocka_unit_test(test_offline_bundle),
		cmocka_unit_test(test_live_tls_agree),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
