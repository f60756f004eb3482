/*
 * AMD's VCEK and VLEK certificates: the X.509 extensions AMD's Key
 * Distribution Service writes under 1.3.6.1.4.1.3704.1 (AMD 57230: struct
 * version, product name, the security patch levels of the TCB the key
 * was derived for, the chip's hwid or the VLEK's cloud provider), and the
 * ASK/ASVK against the ARK's CRL. OpenSSL parses the DER; what the values
 * mean is AMD's and no library knows it, hence this file.
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest-int.h"

#define SNP_KDS_ARC		"1.3.6.1.4.1.3704.1."
#define SNP_AKID_OID		"2.5.29.35"	/* authorityKeyIdentifier */
#define SNP_HWID_SIZE		64
#define SNP_HWID_TURIN_SIZE	8
#define SNP_CRLS_MAX		8

/* The extensions by OID below the arc; each at most once. */
enum snp_ext {
	SNP_EXT_STRUCT_VERSION,
	SNP_EXT_PRODUCT_NAME,
	SNP_EXT_SPL,		/* .3.1 to .3.9: enum attest_snp_spl */
	SNP_EXT_HWID = SNP_EXT_SPL + ATTEST_SNP_SPLS,
	SNP_EXT_CSP_ID,
	SNP_EXTS
};

static const struct {
	const char	*oid;		/* after SNP_KDS_ARC */
	const char	*name;		/* as AMD calls it */
} snp_exts[SNP_EXTS] = {
	[SNP_EXT_STRUCT_VERSION] =		{ "1",		"structVersion" },
	[SNP_EXT_PRODUCT_NAME] =		{ "2",		"productName" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_BL] =	{ "3.1",	"blSPL" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_TEE] =	{ "3.2",	"teeSPL" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_SNP] =	{ "3.3",	"snpSPL" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_4] =	{ "3.4",	"spl_4" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_5] =	{ "3.5",	"spl_5" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_6] =	{ "3.6",	"spl_6" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_7] =	{ "3.7",	"spl_7" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_UCODE] =	{ "3.8",	"ucodeSPL" },
	[SNP_EXT_SPL + ATTEST_SNP_SPL_FMC] =	{ "3.9",	"fmcSPL" },
	[SNP_EXT_HWID] =			{ "4",		"hwid" },
	[SNP_EXT_CSP_ID] =			{ "5",		"cspId" },
};

/* Where each level sits in REPORTED_TCB, per product; -1: nowhere. */
static const int snp_tcb_layout[ATTEST_SNP_PRODUCTS][ATTEST_SNP_SPLS] = {
	[ATTEST_SNP_MILAN] = { 0, 1, 6, 2, 3, 4, 5, 7, -1 },
	[ATTEST_SNP_GENOA] = { 0, 1, 6, 2, 3, 4, 5, 7, -1 },
	[ATTEST_SNP_TURIN] = { 1, 2, 3, -1, -1, -1, -1, 7, 0 },
};

/* An INTEGER 0..max, the whole of the extension's value. */
static int
snp_ext_u8(const ASN1_OCTET_STRING *v, unsigned max, uint8_t *out)
{
	const unsigned char	*p = ASN1_STRING_get0_data(v);
	ASN1_INTEGER		*i;
	int64_t			 n;
	int			 len = ASN1_STRING_length(v), ok;

	if ((i = d2i_ASN1_INTEGER(NULL, &p, len)) == NULL)
		return -1;
	ok = p == ASN1_STRING_get0_data(v) + len &&
	    ASN1_INTEGER_get_int64(&n, i) == 1 && n >= 0 && n <= (int64_t)max;
	ASN1_INTEGER_free(i);
	if (!ok)
		return -1;
	*out = (uint8_t)n;
	return 0;
}

/* An IA5String of printable ASCII, the whole value, into out. */
static int
snp_ext_ia5(const ASN1_OCTET_STRING *v, char *out, size_t outlen)
{
	const unsigned char	*p = ASN1_STRING_get0_data(v), *s;
	ASN1_IA5STRING		*str;
	int			 len = ASN1_STRING_length(v), n, i, ok;

	if (len < 1 || p[0] != V_ASN1_IA5STRING ||
	    (str = d2i_ASN1_IA5STRING(NULL, &p, len)) == NULL)
		return -1;
	s = ASN1_STRING_get0_data(str);
	n = ASN1_STRING_length(str);
	ok = p == ASN1_STRING_get0_data(v) + len && n > 0 &&
	    (size_t)n < outlen;
	for (i = 0; ok && i < n; i++)
		ok = s[i] >= 0x20 && s[i] < 0x7f;
	if (ok) {
		memcpy(out, s, (size_t)n);
		out[n] = '\0';
	}
	ASN1_IA5STRING_free(str);
	return ok ? 0 : -1;
}

/*
 * The hwid: KDS writes the 64 bytes (8 on Turin) with no ASN.1 tag; an
 * OCTET STRING of that size is taken too, as go-sev-guest does.
 */
static int
snp_ext_hwid(const ASN1_OCTET_STRING *v, struct attest_snp_cert *c)
{
	const unsigned char	*p = ASN1_STRING_get0_data(v);
	ASN1_OCTET_STRING	*o;
	int			 len = ASN1_STRING_length(v), n, ok;

	if (len == SNP_HWID_SIZE || len == SNP_HWID_TURIN_SIZE) {
		memcpy(c->hwid, p, (size_t)len);
		c->hwid_len = (size_t)len;
		return 0;
	}
	if ((o = d2i_ASN1_OCTET_STRING(NULL, &p, len)) == NULL)
		return -1;
	n = ASN1_STRING_length(o);
	ok = p == ASN1_STRING_get0_data(v) + len &&
	    (n == SNP_HWID_SIZE || n == SNP_HWID_TURIN_SIZE);
	if (ok) {
		memcpy(c->hwid, ASN1_STRING_get0_data(o), (size_t)n);
		c->hwid_len = (size_t)n;
	}
	ASN1_OCTET_STRING_free(o);
	return ok ? 0 : -1;
}

/*
 * productName: a VCEK's is "<product>-<stepping>" ("Milan-B0"), a VLEK's
 * the product alone. The product, or -1.
 */
static int
snp_product_of_name(const char *name, int kind)
{
	const char	*p;
	size_t		 n;
	int		 i;

	for (i = 0; i < ATTEST_SNP_PRODUCTS; i++) {
		p = attest_snp_product_name(i);
		n = strlen(p);
		if (strncmp(name, p, n) != 0)
			continue;
		if (kind == ATTEST_SNP_KEY_VLEK && name[n] == '\0')
			return i;
		if (kind == ATTEST_SNP_KEY_VCEK && name[n] == '-' &&
		    name[n + 1] >= 'A' && name[n + 1] <= 'Z' &&
		    name[n + 2] >= '0' && name[n + 2] <= '9' &&
		    name[n + 3] == '\0')
			return i;
	}
	return -1;
}

/* The kind of key from the subject's common name, or -1. */
static int
snp_cert_kind(X509 *x, char *cn, size_t cnlen)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, (int)cnlen) < 0) {
		snprintf(cn, cnlen, "(none)");
		return -1;
	}
	if (strcmp(cn, "SEV-VCEK") == 0)
		return ATTEST_SNP_KEY_VCEK;
	if (strcmp(cn, "SEV-VLEK") == 0)
		return ATTEST_SNP_KEY_VLEK;
	return -1;
}

/* One extension's value into c; -1 with err. */
static int
snp_ext_value(enum snp_ext e, const ASN1_OCTET_STRING *v,
    struct attest_snp_cert *c, char *err, size_t errlen)
{
	uint8_t	u8;
	int	rc = 0;

	switch (e) {
	case SNP_EXT_STRUCT_VERSION:
		rc = snp_ext_u8(v, 255, &u8);
		c->struct_version = u8;
		break;
	case SNP_EXT_PRODUCT_NAME:
		rc = snp_ext_ia5(v, c->product_name, sizeof(c->product_name));
		break;
	case SNP_EXT_HWID:
		rc = snp_ext_hwid(v, c);
		break;
	case SNP_EXT_CSP_ID:
		rc = snp_ext_ia5(v, c->csp_id, sizeof(c->csp_id));
		break;
	default:
		/* Only microcode and FMC go to 255 (go-sev-guest too). */
		rc = snp_ext_u8(v, e == SNP_EXT_SPL + ATTEST_SNP_SPL_UCODE ||
		    e == SNP_EXT_SPL + ATTEST_SNP_SPL_FMC ? 255 : 127, &u8);
		c->spl[e - SNP_EXT_SPL] = u8;
		c->spl_present |= 1U << (e - SNP_EXT_SPL);
		break;
	}
	if (rc == -1)
		snprintf(err, errlen, "%s (%s%s) is malformed", snp_exts[e].name,
		    SNP_KDS_ARC, snp_exts[e].oid);
	return rc;
}

/*
 * The AMD extensions of x. As go-sev-guest's kds.CertificateExtensions:
 * no extension but AMD's and the authority key id, none twice, every TCB
 * level and the struct version and product name present, and a VCEK has
 * a hwid and no cspId, a VLEK the reverse.
 */
int
attest_snp_cert_from_x509(X509 *x, struct attest_snp_cert *c, char *err,
    size_t errlen)
{
	X509_EXTENSION	*ext;
	char		 oid[80], cn[64];
	unsigned	 seen = 0;
	int		 i, n, e, olen;

	memset(c, 0, sizeof(*c));
	c->product = -1;
	if ((c->kind = snp_cert_kind(x, cn, sizeof(cn))) == -1) {
		snprintf(err, errlen, "common name %s is neither SEV-VCEK nor"
		    " SEV-VLEK", cn);
		return -1;
	}
	n = X509_get_ext_count(x);
	for (i = 0; i < n; i++) {
		ext = X509_get_ext(x, i);
		olen = OBJ_obj2txt(oid, sizeof(oid),
		    X509_EXTENSION_get_object(ext), 1);
		if (olen <= 0 || (size_t)olen >= sizeof(oid)) {
			snprintf(err, errlen, "extension %d has no readable"
			    " OID", i);
			return -1;
		}
		if (strcmp(oid, SNP_AKID_OID) == 0)
			continue;
		e = SNP_EXTS;
		if (strncmp(oid, SNP_KDS_ARC, strlen(SNP_KDS_ARC)) == 0)
			for (e = 0; e < SNP_EXTS; e++)
				if (strcmp(oid + strlen(SNP_KDS_ARC),
				    snp_exts[e].oid) == 0)
					break;
		if (e == SNP_EXTS) {
			snprintf(err, errlen, "extension %s is not one AMD's"
			    " KDS writes", oid);
			return -1;
		}
		if (seen & (1U << e)) {
			snprintf(err, errlen, "%s (%s) appears twice",
			    snp_exts[e].name, oid);
			return -1;
		}
		seen |= 1U << e;
		if (snp_ext_value(e, X509_EXTENSION_get_data(ext), c, err,
		    errlen) == -1)
			return -1;
	}
	for (e = 0; e < SNP_EXTS; e++) {
		if (e == SNP_EXT_HWID || e == SNP_EXT_CSP_ID ||
		    e == SNP_EXT_SPL + ATTEST_SNP_SPL_FMC || (seen & (1U << e)))
			continue;
		snprintf(err, errlen, "no %s (%s%s)", snp_exts[e].name,
		    SNP_KDS_ARC, snp_exts[e].oid);
		return -1;
	}
	if (c->kind == ATTEST_SNP_KEY_VCEK && (c->hwid_len == 0 ||
	    c->csp_id[0] != '\0')) {
		snprintf(err, errlen, "a VCEK needs a hwid and no cspId");
		return -1;
	}
	if (c->kind == ATTEST_SNP_KEY_VLEK && (c->hwid_len != 0 ||
	    c->csp_id[0] == '\0')) {
		snprintf(err, errlen, "a VLEK needs a cspId and no hwid");
		return -1;
	}
	if ((c->product = snp_product_of_name(c->product_name, c->kind)) ==
	    -1) {
		snprintf(err, errlen, "productName '%s' is not one of a known"
		    " product", c->product_name);
		return -1;
	}
	if (c->hwid_len == SNP_HWID_TURIN_SIZE &&
	    c->product != ATTEST_SNP_TURIN) {
		snprintf(err, errlen, "an 8-byte hwid on %s (Turin's alone"
		    " are short)", c->product_name);
		return -1;
	}
	return 0;
}

int
attest_snp_cert_parse(const unsigned char *p, size_t len,
    struct attest_snp_cert *c, char *err, size_t errlen)
{
	STACK_OF(X509)	*certs;
	int		 rc;

	memset(c, 0, sizeof(*c));
	c->product = -1;
	if ((certs = attest_x509_load(p, len, err, errlen)) == NULL)
		return -1;
	rc = attest_snp_cert_from_x509(sk_X509_value(certs, 0), c, err,
	    errlen);
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return rc;
}

int
attest_snp_cert_tcb(const struct attest_snp_cert *c, int product,
    unsigned char tcb[8], char *err, size_t errlen)
{
	int	i, at;

	memset(tcb, 0, 8);
	if (product < 0 || product >= ATTEST_SNP_PRODUCTS) {
		snprintf(err, errlen, "no TCB layout for an unknown product");
		return -1;
	}
	for (i = 0; i < ATTEST_SNP_SPLS; i++) {
		at = snp_tcb_layout[product][i];
		if (at >= 0 && !(c->spl_present & (1U << i))) {
			snprintf(err, errlen, "no %s, which %s's TCB has",
			    snp_exts[SNP_EXT_SPL + i].name,
			    attest_snp_product_name(product));
			return -1;
		}
		if (at < 0 && (c->spl_present & (1U << i)) && c->spl[i] != 0) {
			snprintf(err, errlen, "%s %u, which %s's TCB has no"
			    " place for", snp_exts[SNP_EXT_SPL + i].name,
			    c->spl[i], attest_snp_product_name(product));
			return -1;
		}
		if (at >= 0)
			tcb[at] = c->spl[i];
	}
	return 0;
}

/* The CRLs in in->crls: PEM (any number, up to SNP_CRLS_MAX) or one DER. */
static STACK_OF(X509_CRL) *
snp_crls_load(const unsigned char *p, size_t len, char *err, size_t errlen)
{
	STACK_OF(X509_CRL)	*crls;
	const unsigned char	*q = p;
	X509_CRL		*crl;
	BIO			*bio;

	if (len == 0 || len > ATTEST_CERTS_MAX) {
		snprintf(err, errlen, "%zu bytes of CRLs (1 to %d)", len,
		    ATTEST_CERTS_MAX);
		return NULL;
	}
	if ((crls = sk_X509_CRL_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (len > 0 && p[0] == 0x30) {
		if ((crl = d2i_X509_CRL(NULL, &q, (long)len)) == NULL ||
		    q != p + len) {
			X509_CRL_free(crl);
			snprintf(err, errlen, "not a DER CRL");
			goto fail;
		}
		sk_X509_CRL_push(crls, crl);
		return crls;
	}
	if ((bio = BIO_new_mem_buf(p, (int)len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_CRL_num(crls) == SNP_CRLS_MAX) {
			X509_CRL_free(crl);
			BIO_free(bio);
			snprintf(err, errlen, "more than %d CRLs",
			    SNP_CRLS_MAX);
			goto fail;
		}
		sk_X509_CRL_push(crls, crl);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (sk_X509_CRL_num(crls) == 0) {
		snprintf(err, errlen, "no PEM or DER CRL");
		goto fail;
	}
	return crls;

fail:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	return NULL;
}

/* The certificate's common name, for messages. */
static const char *
snp_cn(X509 *x, char *buf, size_t len)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, buf, (int)len) < 0)
		snprintf(buf, len, "(no common name)");
	return buf;
}

/*
 * With CRLs given: the intermediate (ASK or ASVK) of the verified chain
 * (VCEK, intermediate, ARK) is not on the ARK's CRL, which must be signed
 * by that ARK and current at now. As go-sev-guest's verifyCRL, the VCEK
 * itself is not looked up: AMD supersedes VCEKs by TCB, not revocation.
 */
void
attest_snp_revocation_check(const struct attest_input *in,
    STACK_OF(X509) *chain, time_t now, struct attest_result *res)
{
	STACK_OF(X509_CRL)	*crls;
	X509_CRL		*crl, *found = NULL;
	X509_REVOKED		*rev;
	X509			*ica, *ark;
	EVP_PKEY		*key;
	char			 err[128], icn[64], acn[64];
	int			 i;

	if (in->crls == NULL)
		return;
	if ((crls = snp_crls_load(in->crls, in->crls_len, err,
	    sizeof(err))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "CRLs: %s",
		    err);
		return;
	}
	if (chain == NULL || sk_X509_num(chain) != 3) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "no verified"
		    " VCEK, ASK, ARK chain to look up");
		goto out;
	}
	ica = sk_X509_value(chain, 1);
	ark = sk_X509_value(chain, 2);
	key = X509_get0_pubkey(ark);
	snp_cn(ica, icn, sizeof(icn));
	snp_cn(ark, acn, sizeof(acn));
	for (i = 0; i < sk_X509_CRL_num(crls) && found == NULL; i++) {
		crl = sk_X509_CRL_value(crls, i);
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    X509_get_subject_name(ark)) == 0 && key != NULL &&
		    X509_CRL_verify(crl, key) == 1)
			found = crl;
	}
	ERR_clear_error();
	if (found == NULL) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "no CRL"
		    " given is signed by %s", acn);
		goto out;
	}
	/* X509_cmp_time: 0 is an error, and fails too. */
	if (X509_cmp_time(X509_CRL_get0_lastUpdate(found), &now) >= 0) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "%s's CRL"
		    " is not yet valid", acn);
		goto out;
	}
	if (X509_CRL_get0_nextUpdate(found) != NULL &&
	    X509_cmp_time(X509_CRL_get0_nextUpdate(found), &now) <= 0) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "%s's CRL"
		    " is out of date (next update passed)", acn);
		goto out;
	}
	if (X509_CRL_get0_by_cert(found, &rev, ica) == 1) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "%s is"
		    " revoked by %s's CRL", icn, acn);
		goto out;
	}
	attest_result_add(res, ATTEST_CHECK_REVOCATION, 1, "%s is not on"
	    " %s's CRL", icn, acn);
out:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
}
