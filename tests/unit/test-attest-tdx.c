/*
 * Forged Intel TDX evidence against attest-tdx*.c: a test PKI built here
 * with OpenSSL (root, PCK CA, PCK certificate with Intel's SGX
 * extensions, TCB signing certificate, CRLs), quotes signed by it, and
 * Intel-style TCB info and QE identity JSON signed by it. The root goes
 * in through in->root; each forgery must be refused by the check named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest-int.h"

#define NOW		1800000000	/* 2027-01-15 */
#define DAY		86400
#define SGX_OID		"1.2.840.113741.1.13.1"

static const unsigned char intel_mrsigner[32] = {
	0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17,
	0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
	0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf,
	0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
};

/* The test PKI, made once for every test. */
struct pki {
	EVP_PKEY	*root_key, *ca_key, *pck_key, *tcb_key, *att_key;
	X509		*root, *ca, *pck, *tcb;
	char		*root_pem;	/* in->root */
	char		*chain_pem;	/* PCK, CA, root: in the quote */
	char		*tcb_pem;	/* TCB signing, root */
};

static struct pki	pki;

/* What a forged quote says; forge_default() is an honest one. */
struct forge {
	unsigned char	 td_attributes[8];
	unsigned char	 tee_tcb_svn[16];
	unsigned char	 qe_vendor[16];
	unsigned char	 qe_attributes[16];
	unsigned char	 qe_mrsigner[32];
	uint32_t	 qe_miscselect;
	uint16_t	 qe_isvprodid;
	uint16_t	 qe_isvsvn;
	const char	*chain_pem;
	EVP_PKEY	*pck_key;
};

struct buf {
	unsigned char	*p;
	size_t		 len;
};

static void
buf_add(struct buf *b, const void *p, size_t len)
{
	b->p = realloc(b->p, b->len + len + 1);
	assert_non_null(b->p);
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void
buf_le(struct buf *b, uint64_t v, size_t n)
{
	unsigned char	c[8];
	size_t		i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, c, n);
}

/* A DER TLV (short or two-byte lengths: enough for these). */
static void
der(struct buf *out, int tag, const struct buf *content)
{
	unsigned char	h[4];
	size_t		n = 0;

	h[n++] = (unsigned char)tag;
	if (content->len < 128)
		h[n++] = (unsigned char)content->len;
	else {
		assert_true(content->len < 65536);
		h[n++] = 0x82;
		h[n++] = (unsigned char)(content->len >> 8);
		h[n++] = (unsigned char)content->len;
	}
	buf_add(out, h, n);
	buf_add(out, content->p, content->len);
}

static void
der_oid(struct buf *out, const char *txt)
{
	ASN1_OBJECT	*o = OBJ_txt2obj(txt, 1);
	unsigned char	*d = NULL;
	int		 n;

	assert_non_null(o);
	n = i2d_ASN1_OBJECT(o, &d);
	assert_true(n > 0);
	buf_add(out, d, (size_t)n);
	OPENSSL_free(d);
	ASN1_OBJECT_free(o);
}

/* SEQUENCE { OID, value }, value a TLV of tag over len bytes at p. */
static void
der_pair(struct buf *out, const char *oid, int tag, const void *p, size_t len)
{
	struct buf	c = { NULL, 0 }, v = { (unsigned char *)p, len };

	der_oid(&c, oid);
	if (tag >= 0)
		der(&c, tag, &v);
	else
		buf_add(&c, p, len);	/* already DER */
	der(out, 0x30, &c);
	free(c.p);
}

/* The SGX extension's DER: PPID, TCB, PCE-ID, FMSPC, SGX type. */
static struct buf
sgx_extension(const unsigned char cpusvn[16], unsigned pcesvn,
    const unsigned char fmspc[6])
{
	struct buf	 tcb = { NULL, 0 }, tcbseq = { NULL, 0 };
	struct buf	 all = { NULL, 0 }, out = { NULL, 0 };
	unsigned char	 ppid[16] = { 1 }, pceid[2] = { 0, 0 };
	unsigned char	 e = 0, pv[2];
	char		 oid[64];
	int		 i;

	for (i = 0; i < 16; i++) {
		snprintf(oid, sizeof(oid), SGX_OID ".2.%d", i + 1);
		der_pair(&tcb, oid, 0x02, &cpusvn[i], 1);
	}
	pv[0] = (unsigned char)(pcesvn >> 8);
	pv[1] = (unsigned char)pcesvn;
	der_pair(&tcb, SGX_OID ".2.17", 0x02, pcesvn > 127 ? pv : pv + 1,
	    pcesvn > 127 ? 2 : 1);
	der_pair(&tcb, SGX_OID ".2.18", 0x04, cpusvn, 16);
	der(&tcbseq, 0x30, &tcb);
	der_pair(&all, SGX_OID ".1", 0x04, ppid, sizeof(ppid));
	der_pair(&all, SGX_OID ".2", -1, tcbseq.p, tcbseq.len);
	der_pair(&all, SGX_OID ".3", 0x04, pceid, sizeof(pceid));
	der_pair(&all, SGX_OID ".4", 0x04, fmspc, 6);
	der_pair(&all, SGX_OID ".5", 0x0a, &e, 1);
	der(&out, 0x30, &all);
	free(tcb.p);
	free(tcbseq.p);
	free(all.p);
	return out;
}

static EVP_PKEY *
p256(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

/* A certificate for key, named cn, issued by issuer (NULL: itself). */
static X509 *
cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
    int ca, long serial, const struct buf *sgx)
{
	X509			*x = X509_new();
	X509_NAME		*name = X509_NAME_new();
	X509V3_CTX		 ctx;
	X509_EXTENSION		*ext;
	ASN1_OBJECT		*obj;
	ASN1_OCTET_STRING	*os;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Test", -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), NOW - 365 * DAY);
	ASN1_TIME_set(X509_getm_notAfter(x), NOW + 3650L * DAY);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, ca ?
	    "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, ca ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (sgx != NULL) {
		obj = OBJ_txt2obj(SGX_OID, 1);
		os = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(os, sgx->p, (int)sgx->len);
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

static void
pem_add(char **pem, X509 *x)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*p;
	long	 n;
	size_t	 have = *pem != NULL ? strlen(*pem) : 0;

	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &p);
	*pem = realloc(*pem, have + (size_t)n + 1);
	assert_non_null(*pem);
	memcpy(*pem + have, p, (size_t)n);
	(*pem)[have + (size_t)n] = '\0';
	BIO_free(bio);
}

static const unsigned char test_fmspc[6] = { 0x00, 0x90, 0x6e, 0xa1, 0, 0 };
static const unsigned char test_cpusvn[16] = { 5, 5, 2, 2, 3, 1, 0, 3 };

/* A PCK certificate for key under the test PCK CA, with SGX extensions. */
static X509 *
pck_cert(EVP_PKEY *key, long serial, int with_sgx)
{
	struct buf	 sgx = sgx_extension(test_cpusvn, 11, test_fmspc);
	X509		*x;

	x = cert("Intel SGX PCK Certificate", key, pki.ca, pki.ca_key, 0,
	    serial, with_sgx ? &sgx : NULL);
	free(sgx.p);
	return x;
}

static int
setup(void **state)
{
	(void)state;
	pki.root_key = p256();
	pki.ca_key = p256();
	pki.pck_key = p256();
	pki.tcb_key = p256();
	pki.att_key = p256();
	pki.root = cert("Test SGX Root CA", pki.root_key, NULL, pki.root_key,
	    1, 1, NULL);
	pki.ca = cert("Test SGX PCK Platform CA", pki.ca_key, pki.root,
	    pki.root_key, 1, 2, NULL);
	pki.pck = pck_cert(pki.pck_key, 0x1234, 1);
	pki.tcb = cert("Intel SGX TCB Signing", pki.tcb_key, pki.root,
	    pki.root_key, 0, 3, NULL);
	pem_add(&pki.root_pem, pki.root);
	pem_add(&pki.chain_pem, pki.pck);
	pem_add(&pki.chain_pem, pki.ca);
	pem_add(&pki.chain_pem, pki.root);
	pem_add(&pki.tcb_pem, pki.tcb);
	pem_add(&pki.tcb_pem, pki.root);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(pki.root);
	X509_free(pki.ca);
	X509_free(pki.pck);
	X509_free(pki.tcb);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.ca_key);
	EVP_PKEY_free(pki.pck_key);
	EVP_PKEY_free(pki.tcb_key);
	EVP_PKEY_free(pki.att_key);
	free(pki.root_pem);
	free(pki.chain_pem);
	free(pki.tcb_pem);
	return 0;
}

/* ECDSA P-256 SHA-256 over p, as raw r || s. */
static void
sign_raw(EVP_PKEY *key, const unsigned char *p, size_t len,
    unsigned char rs[64])
{
	EVP_MD_CTX		*ctx = EVP_MD_CTX_new();
	unsigned char		 sig[80];
	const unsigned char	*q = sig;
	size_t			 n = sizeof(sig);
	ECDSA_SIG		*es;

	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    key), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &n, p, len), 1);
	EVP_MD_CTX_free(ctx);
	es = d2i_ECDSA_SIG(NULL, &q, (long)n);
	assert_non_null(es);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
	ECDSA_SIG_free(es);
}

static void
forge_default(struct forge *f)
{
	memset(f, 0, sizeof(*f));
	f->td_attributes[3] = 0x10;	/* SEPT_VE_DISABLE */
	f->tee_tcb_svn[0] = 3;
	f->tee_tcb_svn[2] = 5;
	memcpy(f->qe_vendor, attest_tdx_intel_qe_vendor, 16);
	f->qe_attributes[0] = 0x15;	/* INIT, MODE64BIT, PROVISIONKEY */
	f->qe_attributes[8] = 0xe7;
	memcpy(f->qe_mrsigner, intel_mrsigner, 32);
	f->qe_isvprodid = 2;
	f->qe_isvsvn = 4;
	f->chain_pem = pki.chain_pem;
	f->pck_key = pki.pck_key;
}

/* A v4 quote saying what f says, signed through the test PKI. */
static struct buf
forge_quote(const struct forge *f)
{
	struct buf	 q = { NULL, 0 }, cert = { NULL, 0 };
	unsigned char	 body[584] = { 0 }, report[384] = { 0 };
	unsigned char	 sig[64], qesig[64], point[65], auth[32] = { 7 };
	unsigned char	 md[32];
	size_t		 n = sizeof(point), siglen;
	EVP_MD_CTX	*ctx;

	buf_le(&q, 4, 2);
	buf_le(&q, 2, 2);
	buf_le(&q, 0x81, 4);
	buf_le(&q, 0, 4);
	buf_add(&q, f->qe_vendor, 16);
	buf_add(&q, (const unsigned char[20]){ 0 }, 20);
	memcpy(body, f->tee_tcb_svn, 16);
	memcpy(body + 120, f->td_attributes, 8);
	body[128] = 0xe7;
	body[129] = 0x1a;
	body[130] = 0x06;
	memset(body + 136, 0xab, 48);		/* MRTD */
	buf_add(&q, body, sizeof(body));

	assert_int_equal(EVP_PKEY_get_octet_string_param(pki.att_key,
	    OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &n), 1);
	assert_int_equal(n, 65);
	memcpy(report + 16, &f->qe_miscselect, 4);	/* little-endian */
	memcpy(report + 48, f->qe_attributes, 16);
	memcpy(report + 128, f->qe_mrsigner, 32);
	report[256] = (unsigned char)f->qe_isvprodid;
	report[257] = (unsigned char)(f->qe_isvprodid >> 8);
	report[258] = (unsigned char)f->qe_isvsvn;
	report[259] = (unsigned char)(f->qe_isvsvn >> 8);
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, point + 1, 64);
	EVP_DigestUpdate(ctx, auth, sizeof(auth));
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	memcpy(report + 320, md, 32);
	sign_raw(f->pck_key, report, sizeof(report), qesig);
	sign_raw(pki.att_key, q.p, q.len, sig);

	buf_add(&cert, report, sizeof(report));
	buf_add(&cert, qesig, sizeof(qesig));
	buf_le(&cert, sizeof(auth), 2);
	buf_add(&cert, auth, sizeof(auth));
	buf_le(&cert, 5, 2);
	buf_le(&cert, strlen(f->chain_pem), 4);
	buf_add(&cert, f->chain_pem, strlen(f->chain_pem));

	siglen = 64 + 64 + 2 + 4 + cert.len;
	buf_le(&q, siglen, 4);
	buf_add(&q, sig, sizeof(sig));
	buf_add(&q, point + 1, 64);
	buf_le(&q, 6, 2);
	buf_le(&q, cert.len, 4);
	buf_add(&q, cert.p, cert.len);
	free(cert.p);
	return q;
}

/* Intel-style signed JSON: {"<name>":body,"signature":"r||s hex"}. */
static char *
sign_json(const char *name, const char *body, EVP_PKEY *key)
{
	unsigned char	 rs[64];
	char		 hex[129], *out;
	size_t		 len;

	sign_raw(key, (const unsigned char *)body, strlen(body), rs);
	attest_hex(rs, sizeof(rs), hex, sizeof(hex));
	len = strlen(name) + strlen(body) + 160;
	out = malloc(len);
	assert_non_null(out);
	snprintf(out, len, "{\"%s\":%s,\"signature\":\"%s\"}", name, body,
	    hex);
	return out;
}

/* 16 {"svn": N} components from v. */
static void
components(char *out, size_t len, const unsigned char v[16])
{
	size_t	i, n = 0;

	n += (size_t)snprintf(out + n, len - n, "[");
	for (i = 0; i < 16; i++)
		n += (size_t)snprintf(out + n, len - n, "%s{\"svn\":%u}",
		    i ? "," : "", v[i]);
	snprintf(out + n, len - n, "]");
}

/*
 * TCB info for the test FMSPC with two levels: the test PCK's TCB and
 * TEE_TCB_SVN 03 00 05 rated status1, and one below rated OutOfDate.
 */
static char *
tcb_info(const char *status1, const unsigned char fmspc[6])
{
	unsigned char	tdx[16] = { 3, 0, 5 }, old[16] = { 1, 0, 1 };
	char		sgx1[512], tdx1[512], sgx2[512], tdx2[512];
	char		fm[13], body[4096];
	unsigned char	low[16] = { 1, 1, 1, 1 };

	components(sgx1, sizeof(sgx1), test_cpusvn);
	components(tdx1, sizeof(tdx1), tdx);
	components(sgx2, sizeof(sgx2), low);
	components(tdx2, sizeof(tdx2), old);
	attest_hex(fmspc, 6, fm, sizeof(fm));
	snprintf(body, sizeof(body), "{\"id\":\"TDX\",\"version\":3,"
	    "\"issueDate\":\"2027-01-01T00:00:00Z\","
	    "\"nextUpdate\":\"2027-02-01T00:00:00Z\",\"fmspc\":\"%s\","
	    "\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
	    "\"tdxModule\":{\"mrsigner\":\"%096d\",\"attributes\":"
	    "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},"
	    "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":11,"
	    "\"tdxtcbcomponents\":%s},\"tcbDate\":\"2026-11-01T00:00:00Z\","
	    "\"tcbStatus\":\"%s\"},{\"tcb\":{\"sgxtcbcomponents\":%s,"
	    "\"pcesvn\":5,\"tdxtcbcomponents\":%s},\"tcbDate\":"
	    "\"2024-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]}", fm, 0,
	    sgx1, tdx1, status1, sgx2, tdx2);
	return sign_json("tcbInfo", body, pki.tcb_key);
}

/* A TD_QE identity whose ISVSVN 5 is UpToDate and 3 OutOfDate. */
static char *
qe_identity(void)
{
	char	body[1024], hex[65];

	snprintf(body, sizeof(body), "{\"id\":\"TD_QE\",\"version\":2,"
	    "\"issueDate\":\"2027-01-01T00:00:00Z\",\"nextUpdate\":"
	    "\"2027-02-01T00:00:00Z\",\"tcbEvaluationDataNumber\":17,"
	    "\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
	    "\"attributes\":\"11000000000000000000000000000000\","
	    "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
	    "\"mrsigner\":\"%s\",\"isvprodid\":2,\"tcbLevels\":["
	    "{\"tcb\":{\"isvsvn\":5},\"tcbDate\":\"2026-01-01T00:00:00Z\","
	    "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":3},\"tcbDate\":"
	    "\"2024-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]}",
	    attest_hex(intel_mrsigner, 32, hex, sizeof(hex)));
	return sign_json("enclaveIdentity", body, pki.tcb_key);
}

struct extra {
	const char	*tcb_info;
	const char	*qe_identity;
	const char	*tcb_chain;
	const unsigned char *crls;
	size_t		 crls_len;
};

static int
verify(const struct buf *quote, const struct extra *x,
    const struct attest_policy *policy, struct attest_result *res)
{
	struct attest_input	in = { .tee = ATTEST_TEE_TDX };
	struct attest_policy	p = { .now = NOW };

	if (policy != NULL)
		p = *policy;
	in.evidence = quote->p;
	in.evidence_len = quote->len;
	in.root = (const unsigned char *)pki.root_pem;
	in.root_len = strlen(pki.root_pem);
	if (x != NULL) {
		if (x->tcb_info != NULL) {
			in.tcb_info = (const unsigned char *)x->tcb_info;
			in.tcb_info_len = strlen(x->tcb_info);
		}
		if (x->qe_identity != NULL) {
			in.qe_identity = (const unsigned char *)x->qe_identity;
			in.qe_identity_len = strlen(x->qe_identity);
		}
		if (x->tcb_chain != NULL) {
			in.collateral_chain =
			    (const unsigned char *)x->tcb_chain;
			in.collateral_chain_len = strlen(x->tcb_chain);
		}
		in.crls = x->crls;
		in.crls_len = x->crls_len;
	}
	return attest_verify(&in, &p, res);
}

static const struct attest_check *
check_of(const struct attest_result *res, const char *name)
{
	size_t	i;

	for (i = 0; i < res->nchecks; i++)
		if (strcmp(attest_check_name(res->checks[i].id), name) == 0)
			return &res->checks[i];
	fail_msg("no check %s", name);
	return NULL;
}

static void
assert_check(const struct attest_result *res, const char *name, int ok,
    const char *detail)
{
	const struct attest_check	*c = check_of(res, name);

	if (c->ok != ok)
		fail_msg("check %s: %s (%s), expected %s", name,
		    c->ok ? "ok" : "FAILED", c->detail, ok ? "ok" : "FAILED");
	if (detail != NULL && strstr(c->detail, detail) == NULL)
		fail_msg("check %s: '%s' lacks '%s'", name, c->detail, detail);
}

/* Verify f's quote; it must fail, first at the check named. */
static void
assert_refused(const struct forge *f, const char *name, const char *detail)
{
	struct buf		q = forge_quote(f);
	struct attest_result	res;

	assert_int_equal(verify(&q, NULL, NULL, &res), -1);
	assert_check(&res, name, 0, detail);
	assert_check(&res, "signature", 1, NULL);
	assert_check(&res, "qe-report", 1, NULL);
	assert_check(&res, "qe-binding", 1, NULL);
	assert_check(&res, "chain", 1, NULL);
	assert_string_equal(attest_check_name(attest_result_failed(&res)->id),
	    name);
	free(q.p);
}

/* The honest quote of the test PKI verifies: the forgeries below are it. */
static void
test_honest(void **state)
{
	struct forge		f;
	struct buf		q;
	struct attest_result	res;
	char			flags[128];

	(void)state;
	forge_default(&f);
	q = forge_quote(&f);
	assert_int_equal(verify(&q, NULL, NULL, &res), 0);
	assert_check(&res, "chain", 1, "Intel SGX PCK Certificate -> Test SGX"
	    " PCK Platform CA -> Test SGX Root CA (a root given");
	assert_check(&res, "qe-identity", 1, "TD_QE ISVPRODID 2, ISVSVN 4:"
	    " UpToDate (pinned)");
	assert_check(&res, "td-attributes", 1, "SEPT_VE_DISABLE on");
	assert_string_equal(attest_guest_flags(&res, flags, sizeof(flags)),
	    "debug off, SEPT_VE_DISABLE on");
	free(q.p);
}

/* The rogue QEs a host root user can run: each refused by qe-identity. */
static void
test_rogue_qe(void **state)
{
	struct forge	f;

	(void)state;
	forge_default(&f);
	f.qe_attributes[0] |= ATTEST_SGX_ATTR_DEBUG;
	assert_refused(&f, "qe-identity", "the QE is a debug enclave");

	forge_default(&f);
	f.qe_mrsigner[0] ^= 0xff;
	assert_refused(&f, "qe-identity", "MRSIGNER 239e2a7c");
	assert_refused(&f, "qe-identity", "is not Intel's (pinned)");

	forge_default(&f);
	f.qe_isvprodid = 1;	/* the SGX QE, not the TD QE */
	assert_refused(&f, "qe-identity", "ISVPRODID 1, not 2 (TD_QE)");

	forge_default(&f);
	f.qe_isvsvn = 3;
	assert_refused(&f, "qe-identity", "ISVSVN 3 is below the lowest"
	    " accepted 4");

	forge_default(&f);
	f.qe_miscselect = 1;
	assert_refused(&f, "qe-identity", "MISCSELECT 00000001 under mask"
	    " ffffffff is not 00000000");

	forge_default(&f);
	f.qe_attributes[0] = 0x05;	/* no PROVISIONKEY */
	assert_refused(&f, "qe-identity", "ATTRIBUTES 0500000000000000e7");

	forge_default(&f);
	f.qe_vendor[0] ^= 1;
	assert_refused(&f, "qe-identity", "QE vendor id 929a7233");
}

static void
test_sept_ve(void **state)
{
	struct forge		f;
	struct buf		q;
	struct attest_result	res;
	struct attest_policy	policy = { .now = NOW };

	(void)state;
	forge_default(&f);
	f.td_attributes[3] = 0;
	assert_refused(&f, "td-attributes", "0x0000000000000000:"
	    " SEPT_VE_DISABLE (bit 28) is off");
	policy.tdx.allow_sept_ve = 1;
	q = forge_quote(&f);
	assert_int_equal(verify(&q, NULL, &policy, &res), 0);
	assert_check(&res, "td-attributes", 1, "off, as allowed");
	free(q.p);

	/* The DEBUG bit stays the debug check's. */
	forge_default(&f);
	f.td_attributes[0] = ATTEST_TDX_ATTR_DEBUG;
	assert_refused(&f, "debug", "TD attributes 0100001000000000:"
	    " debugging on");
}

/* A CRL by issuer (key) revoking serial (0: none). */
static void
crl_add(struct buf *out, X509 *issuer, EVP_PKEY *key, long serial)
{
	X509_CRL	*crl = X509_CRL_new();
	X509_REVOKED	*r;
	ASN1_INTEGER	*sn;
	ASN1_TIME	*t = ASN1_TIME_new();
	unsigned char	*d = NULL;
	int		 n;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	ASN1_TIME_set(t, NOW - DAY);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, NOW + 30 * DAY);
	X509_CRL_set1_nextUpdate(crl, t);
	if (serial != 0) {
		r = X509_REVOKED_new();
		sn = ASN1_INTEGER_new();
		ASN1_INTEGER_set(sn, serial);
		X509_REVOKED_set_serialNumber(r, sn);
		ASN1_TIME_set(t, NOW - 2 * DAY);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(sn);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	n = i2d_X509_CRL(crl, &d);
	assert_true(n > 0);
	buf_add(out, d, (size_t)n);
	OPENSSL_free(d);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

static void
test_revoked_pck(void **state)
{
	struct forge		 f;
	struct buf		 q, crls = { NULL, 0 }, ok = { NULL, 0 };
	struct extra		 x = { 0 };
	struct attest_result	 res;

	(void)state;
	forge_default(&f);
	q = forge_quote(&f);
	crl_add(&crls, pki.ca, pki.ca_key, 0x1234);
	crl_add(&crls, pki.root, pki.root_key, 0);
	x.crls = crls.p;
	x.crls_len = crls.len;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "revocation", 0, "PCK chain: Intel SGX PCK"
	    " Certificate serial 1234 is revoked (CRLs: Test SGX PCK Platform"
	    " CA (1 entries");
	assert_check(&res, "chain", 1, NULL);
	assert_string_equal(attest_check_name(attest_result_failed(&res)->id),
	    "revocation");

	/* Another serial revoked: this PCK passes, CRLs named. */
	crl_add(&ok, pki.ca, pki.ca_key, 0x999);
	crl_add(&ok, pki.root, pki.root_key, 0);
	x.crls = ok.p;
	x.crls_len = ok.len;
	assert_int_equal(verify(&q, &x, NULL, &res), 0);
	assert_check(&res, "revocation", 1, "PCK chain not revoked by Test SGX"
	    " PCK Platform CA (1 entries");

	/* A CRL the root did not sign is no CRL. */
	free(ok.p);
	ok.p = NULL;
	ok.len = 0;
	crl_add(&ok, pki.ca, pki.tcb_key, 0);
	crl_add(&ok, pki.root, pki.root_key, 0);
	x.crls = ok.p;
	x.crls_len = ok.len;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "revocation", 0, "CRL signature failure");

	/* Garbage. */
	x.crls = (const unsigned char *)"nonsense";
	x.crls_len = 8;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "revocation", 0, "not PEM or DER CRLs");
	free(ok.p);
	free(crls.p);
	free(q.p);
}

/* Signed TCB info and QE identity of the test PKI: the statuses. */
static void
test_tcb_status(void **state)
{
	struct forge		 f;
	struct buf		 q;
	struct extra		 x = { 0 };
	struct attest_result	 res;
	struct attest_policy	 policy = { .now = NOW };
	char			*ti, *qi, *bad;
	unsigned char		 fm[6];

	(void)state;
	forge_default(&f);
	q = forge_quote(&f);
	ti = tcb_info("UpToDate", test_fmspc);
	x.tcb_info = ti;
	x.tcb_chain = pki.tcb_pem;
	assert_int_equal(verify(&q, &x, NULL, &res), 0);
	assert_check(&res, "collateral", 1, "TCB info of FMSPC 00906ea10000"
	    " (evaluation data 17) signed, 2027-01-01 to"
	    " 2027-02-01 by Intel SGX TCB Signing");
	assert_check(&res, "tcb-status", 1, "UpToDate: TCB level of"
	    " 2026-11-01T00:00:00Z (UpToDate), FMSPC 00906ea10000,"
	    " evaluation data 17");
	assert_string_equal(res.tcb_status, "UpToDate");
	free(ti);

	/* SWHardeningNeeded passes by default, ConfigurationNeeded not. */
	ti = tcb_info("SWHardeningNeeded", test_fmspc);
	x.tcb_info = ti;
	assert_int_equal(verify(&q, &x, NULL, &res), 0);
	assert_string_equal(res.tcb_status, "SWHardeningNeeded");
	free(ti);
	ti = tcb_info("ConfigurationNeeded", test_fmspc);
	x.tcb_info = ti;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "tcb-status", 0, "ConfigurationNeeded: TCB level");
	assert_check(&res, "tcb-status", 0, "not a status the policy accepts");
	policy.tdx.tcb_statuses = 1u << ATTEST_TCB_CONFIGURATION_NEEDED;
	assert_int_equal(verify(&q, &x, &policy, &res), 0);
	free(ti);
	ti = tcb_info("Revoked", test_fmspc);
	x.tcb_info = ti;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "tcb-status", 0, "Revoked");
	free(ti);
	ti = tcb_info("Splendid", test_fmspc);	/* no status of Intel's */
	x.tcb_info = ti;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "collateral", 0, "tcbLevels[0] unreadable");
	free(ti);

	/* An older TDX module (TEE_TCB_SVN 02 00 05): the OutOfDate level. */
	ti = tcb_info("UpToDate", test_fmspc);
	x.tcb_info = ti;
	free(q.p);
	f.tee_tcb_svn[0] = 2;
	q = forge_quote(&f);
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "tcb-status", 0, "OutOfDate: TCB level of"
	    " 2024-01-01T00:00:00Z");
	assert_string_equal(res.tcb_status, "OutOfDate");
	policy.tdx.tcb_statuses = 1u << ATTEST_TCB_OUT_OF_DATE;
	assert_int_equal(verify(&q, &x, &policy, &res), 0);
	free(q.p);

	/* QE identity: this QE's ISVSVN 4 is OutOfDate, and so is the TCB. */
	forge_default(&f);
	q = forge_quote(&f);
	qi = qe_identity();
	x.qe_identity = qi;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "qe-identity", 1, "ISVSVN 4: OutOfDate (Intel's"
	    " signed QE identity)");
	assert_check(&res, "tcb-status", 0, "OutOfDate: TCB level of"
	    " 2026-11-01T00:00:00Z (UpToDate)");
	/* Without TCB info the QE's own status must be accepted. */
	x.tcb_info = NULL;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "qe-identity", 0, "OutOfDate, not accepted");
	x.tcb_info = ti;

	/* TCB info of another platform. */
	memcpy(fm, test_fmspc, 6);
	fm[5] = 1;
	free(ti);
	ti = tcb_info("UpToDate", fm);
	x.tcb_info = ti;
	x.qe_identity = NULL;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "tcb-status", 0, "TCB info is for FMSPC"
	    " 00906ea10001 PCEID 0000, the PCK certificate's is 00906ea10000");

	/* Signed by a key that is not the TCB signing certificate's. */
	free(ti);
	ti = tcb_info("UpToDate", test_fmspc);
	bad = strdup(ti);
	memcpy(strstr(bad, "\"signature\":\"") + 13, "00", 2);
	x.tcb_info = bad;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "collateral", 0, "(evaluation data 17): the"
	    " signature does not verify");
	assert_check(&res, "tcb-status", 0, "did not verify");
	free(bad);

	/* Bytes after Intel's object, or a NUL inside it: refused. */
	bad = malloc(strlen(ti) + 3);
	assert_non_null(bad);
	snprintf(bad, strlen(ti) + 3, "%s x", ti);
	x.tcb_info = bad;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "collateral", 0, "TCB info: bytes after the JSON");
	{
		struct attest_input	in = { .tee = ATTEST_TEE_TDX };

		in.evidence = q.p;
		in.evidence_len = q.len;
		in.root = (const unsigned char *)pki.root_pem;
		in.root_len = strlen(pki.root_pem);
		in.tcb_info = (const unsigned char *)ti;
		in.tcb_info_len = strlen(ti) + 1;	/* the NUL too */
		in.collateral_chain = (const unsigned char *)pki.tcb_pem;
		in.collateral_chain_len = strlen(pki.tcb_pem);
		assert_int_equal(attest_verify(&in, &policy, &res), -1);
		assert_check(&res, "collateral", 0, "TCB info: not JSON");
	}
	free(bad);

	/* The TCB signing certificate as the PCK: no PCK certificate. */
	{
		struct forge	g;
		struct buf	r;

		forge_default(&g);
		g.chain_pem = pki.tcb_pem;
		g.pck_key = pki.tcb_key;
		r = forge_quote(&g);
		assert_int_equal(verify(&r, NULL, NULL, &res), -1);
		assert_check(&res, "qe-report", 0, "not an SGX PCK"
		    " Certificate");
		assert_check(&res, "chain", 1, NULL);
		free(r.p);
	}

	/* A TCB signing chain that ends at no trusted root. */
	x.tcb_info = ti;
	x.tcb_chain = pki.chain_pem;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "collateral", 0, "is not \"Intel SGX TCB"
	    " Signing\"");

	/* After nextUpdate. */
	x.tcb_chain = pki.tcb_pem;
	policy.now = NOW + 30 * DAY;
	policy.tdx.tcb_statuses = 0;
	assert_int_equal(verify(&q, &x, &policy, &res), -1);
	assert_check(&res, "collateral", 0, "valid 2027-01-01 to 2027-02-01,"
	    " not at the time of verification");
	free(ti);
	free(qi);
	free(q.p);
}

/* The PCK certificate's SGX extension, read back; and one without it. */
static void
test_pck_extension(void **state)
{
	struct attest_tdx_pck	 pck;
	struct forge		 f;
	struct buf		 q;
	struct extra		 x = { 0 };
	struct attest_result	 res;
	EVP_PKEY		*key = p256();
	X509			*bare;
	char			 err[128], *chain = NULL, *ti;

	(void)state;
	assert_int_equal(attest_tdx_pck_ext(pki.pck, &pck, err, sizeof(err)),
	    0);
	assert_memory_equal(pck.fmspc, test_fmspc, 6);
	assert_memory_equal(pck.cpusvn, test_cpusvn, 16);
	assert_int_equal(pck.pcesvn, 11);
	assert_int_equal(pck.sgx_type, 0);

	bare = pck_cert(key, 77, 0);
	assert_int_equal(attest_tdx_pck_ext(bare, &pck, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has no SGX extension"));
	pem_add(&chain, bare);
	pem_add(&chain, pki.ca);
	pem_add(&chain, pki.root);
	forge_default(&f);
	f.chain_pem = chain;
	f.pck_key = key;
	q = forge_quote(&f);
	ti = tcb_info("UpToDate", test_fmspc);
	x.tcb_info = ti;
	x.tcb_chain = pki.tcb_pem;
	assert_int_equal(verify(&q, &x, NULL, &res), -1);
	assert_check(&res, "chain", 1, NULL);
	assert_check(&res, "tcb-status", 0, "PCK certificate: the PCK"
	    " certificate has no SGX extension");
	free(ti);
	free(q.p);
	free(chain);
	X509_free(bare);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_honest),
		cmocka_unit_test(test_rogue_qe),
		cmocka_unit_test(test_sept_ve),
		cmocka_unit_test(test_revoked_pck),
		cmocka_unit_test(test_tcb_status),
		cmocka_unit_test(test_pck_extension),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
