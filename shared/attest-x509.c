/*
 * Certificates and signatures for attestation: load PEM or DER, verify a
 * chain up to the pinned roots (attest-roots.c) at a given time, check a
 * raw ECDSA (r, s) signature as SEV-SNP and TDX encode it.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "attest-int.h"

#define ATTEST_X509_MAX_CERTS	8	/* in one file or quote */
#define ATTEST_ECDSA_MAX	72	/* bytes of r or s */

/* The certificate's common name, for messages. */
static void
attest_x509_cn(X509 *x, char *buf, size_t len)
{
	if (x == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, buf, (int)len) < 0)
		snprintf(buf, len, "(no common name)");
}

static int
attest_is_pem(const unsigned char *p, size_t len)
{
	static const char	begin[] = "-----BEGIN";

	while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n')) {
		p++;
		len--;
	}
	return len >= sizeof(begin) - 1 &&
	    memcmp(p, begin, sizeof(begin) - 1) == 0;
}

/*
 * The certificates in len bytes at p: any number of PEM certificates (up
 * to ATTEST_X509_MAX_CERTS), or one DER certificate. Caller frees with
 * sk_X509_pop_free(..., X509_free). NULL with a message in err.
 */
STACK_OF(X509) *
attest_x509_load(const unsigned char *p, size_t len, char *err, size_t errlen)
{
	STACK_OF(X509)		*certs;
	const unsigned char	*q = p;
	BIO			*bio;
	X509			*x;

	if (len == 0 || len > ATTEST_CERTS_MAX) {
		snprintf(err, errlen, "%zu bytes of certificates (1 to %d)",
		    len, ATTEST_CERTS_MAX);
		return NULL;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!attest_is_pem(p, len)) {
		if ((x = d2i_X509(NULL, &q, (long)len)) == NULL ||
		    q != p + len) {
			X509_free(x);
			snprintf(err, errlen, "not a PEM or DER certificate");
			goto fail;
		}
		sk_X509_push(certs, x);
		return certs;
	}
	if ((bio = BIO_new_mem_buf(p, (int)len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(certs) == ATTEST_X509_MAX_CERTS) {
			X509_free(x);
			BIO_free(bio);
			snprintf(err, errlen, "more than %d certificates",
			    ATTEST_X509_MAX_CERTS);
			goto fail;
		}
		sk_X509_push(certs, x);
	}
	BIO_free(bio);
	/* The loop ends on a PEM error, including "no more". */
	ERR_clear_error();
	if (sk_X509_num(certs) == 0) {
		snprintf(err, errlen, "no PEM certificate");
		goto fail;
	}
	return certs;

fail:
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return NULL;
}

/* A pinned certificate, refused unless it has its recorded fingerprint. */
X509 *
attest_root_load(const struct attest_root *r, char *err, size_t errlen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int	 mdlen;
	BIO		*bio;
	X509		*x;

	if ((bio = BIO_new_mem_buf(r->pem, -1)) == NULL)
		x = NULL;
	else
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &mdlen) != 1 ||
	    strcmp(attest_hex(md, mdlen, hex, sizeof(hex)), r->sha256) != 0) {
		X509_free(x);
		ERR_clear_error();
		snprintf(err, errlen, "pinned certificate %s is damaged",
		    r->name);
		return NULL;
	}
	return x;
}

/*
 * The pinned certificates of tee and kind (and of product, when given),
 * added to store or to certs.
 */
static int
attest_roots_add(enum attest_tee tee, enum attest_root_kind kind,
    const char *product, X509_STORE *store, STACK_OF(X509) *certs, char *err,
    size_t errlen)
{
	X509	*x;
	size_t	 i;

	for (i = 0; i < attest_roots_size; i++) {
		if (attest_roots[i].tee != tee || attest_roots[i].kind != kind)
			continue;
		if (product != NULL && (attest_roots[i].product == NULL ||
		    strcmp(attest_roots[i].product, product) != 0))
			continue;
		if ((x = attest_root_load(&attest_roots[i], err, errlen)) ==
		    NULL)
			return -1;
		if (store != NULL) {
			X509_STORE_add_cert(store, x);
			X509_free(x);
		} else
			sk_X509_push(certs, x);
	}
	return 0;
}

/* "VCEK -> SEV-Milan -> ARK-Milan" from a verified chain. */
static void
attest_chain_names(STACK_OF(X509) *chain, char *buf, size_t len)
{
	char	cn[128];
	size_t	n = 0;
	int	i;

	buf[0] = '\0';
	for (i = 0; i < sk_X509_num(chain) && n < len; i++) {
		attest_x509_cn(sk_X509_value(chain, i), cn, sizeof(cn));
		n += snprintf(buf + n, len - n, "%s%s", i ? " -> " : "", cn);
	}
}

/*
 * A given root that names another product ("ARK-Genoa" when the report
 * is Milan's) is not a trust anchor for this report; one that names none
 * (a test or simulated root) is.
 */
static int
attest_root_other_product(X509 *x, const char *product)
{
	char	cn[128];

	if (product == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(
	    x), NID_commonName, cn, sizeof(cn)) < 0)
		return 0;
	return strncmp(cn, "ARK-", 4) == 0 && strcmp(cn + 4, product) != 0;
}

int
attest_x509_chain(X509 *leaf, STACK_OF(X509) *untrusted, enum attest_tee tee,
    const unsigned char *root, size_t rootlen, time_t now, char *detail,
    size_t len)
{
	return attest_x509_chain_product(leaf, untrusted, tee, NULL, root,
	    rootlen, now, NULL, detail, len);
}

/*
 * Verify leaf up to a trust anchor at time now: the pinned roots of tee
 * (of product alone, when given), or the certificates in root when given
 * (less those named for another product). Intermediates come from
 * untrusted, or the pinned ones when it is NULL. Returns 0 with the path
 * in detail and, when verified is not NULL, the chain from leaf to the
 * anchor in *verified (caller frees with sk_X509_pop_free(..., X509_free));
 * or -1 with what failed, where.
 */
int
attest_x509_chain_product(X509 *leaf, STACK_OF(X509) *untrusted,
    enum attest_tee tee, const char *product, const unsigned char *root,
    size_t rootlen, time_t now, STACK_OF(X509) **verified, char *detail,
    size_t len)
{
	X509_STORE	*store;
	X509_STORE_CTX	*ctx = NULL;
	STACK_OF(X509)	*mine = NULL, *given = NULL;
	char		 path[200], cn[128], err[128];
	int		 i, rc = -1;

	if (verified != NULL)
		*verified = NULL;

	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		snprintf(detail, len, "out of memory");
		goto out;
	}
	if (root != NULL) {
		if ((given = attest_x509_load(root, rootlen, err,
		    sizeof(err))) == NULL) {
			snprintf(detail, len, "root: %s", err);
			goto out;
		}
		for (i = 0; i < sk_X509_num(given); i++)
			if (!attest_root_other_product(sk_X509_value(given, i),
			    product))
				X509_STORE_add_cert(store, sk_X509_value(given,
				    i));
	} else if (attest_roots_add(tee, ATTEST_ROOT_TRUSTED, product, store,
	    NULL, detail, len) == -1)
		goto out;
	if (untrusted == NULL) {
		if ((mine = sk_X509_new_null()) == NULL) {
			snprintf(detail, len, "out of memory");
			goto out;
		}
		if (attest_roots_add(tee, ATTEST_ROOT_INTERMEDIATE, product,
		    NULL, mine, detail, len) == -1)
			goto out;
		untrusted = mine;
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		snprintf(detail, len, "cannot set up the verification");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	if (X509_verify_cert(ctx) != 1) {
		attest_x509_cn(X509_STORE_CTX_get_current_cert(ctx), cn,
		    sizeof(cn));
		snprintf(detail, len, "%s: %s",  cn,
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(
		    ctx)));
		goto out;
	}
	attest_chain_names(X509_STORE_CTX_get0_chain(ctx), path, sizeof(path));
	snprintf(detail, len, "%s (%s)", path, root != NULL ?
	    "a root given, not the pinned one" : "pinned root");
	if (verified != NULL &&
	    (*verified = X509_STORE_CTX_get1_chain(ctx)) == NULL) {
		snprintf(detail, len, "out of memory");
		goto out;
	}
	rc = 0;

out:
	ERR_clear_error();
	sk_X509_pop_free(mine, X509_free);
	sk_X509_pop_free(given, X509_free);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/*
 * Verify an ECDSA signature given as raw r and s of n bytes each (big- or
 * little-endian) over len bytes at data with md. Returns 0 when it holds,
 * -1 with the reason in err.
 */
int
attest_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md, const unsigned char *data,
    size_t len, const unsigned char *r, const unsigned char *s, size_t n,
    int little_endian, char *err, size_t errlen)
{
	ECDSA_SIG	*sig = NULL;
	BIGNUM		*br, *bs;
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	*der = NULL;
	int		 derlen, rc = -1;

	if (n > ATTEST_ECDSA_MAX) {
		snprintf(err, errlen, "signature too long");
		return -1;
	}
	br = little_endian ? BN_lebin2bn(r, (int)n, NULL) :
	    BN_bin2bn(r, (int)n, NULL);
	bs = little_endian ? BN_lebin2bn(s, (int)n, NULL) :
	    BN_bin2bn(s, (int)n, NULL);
	if (br == NULL || bs == NULL || (sig = ECDSA_SIG_new()) == NULL) {
		BN_free(br);
		BN_free(bs);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ECDSA_SIG_set0(sig, br, bs);
	if ((derlen = i2d_ECDSA_SIG(sig, &der)) <= 0 ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1) {
		snprintf(err, errlen, "cannot set up the verification");
		goto out;
	}
	if (EVP_DigestVerify(ctx, der, (size_t)derlen, data, len) != 1) {
		snprintf(err, errlen, "the signature does not verify");
		goto out;
	}
	rc = 0;

out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(sig);
	return rc;
}

/* A P-256 public key from its raw 64-byte x, y; NULL with err. */
EVP_PKEY *
attest_p256_key(const unsigned char *xy, char *err, size_t errlen)
{
	unsigned char	 point[65];
	OSSL_PARAM	 params[3];
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*key = NULL;

	point[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(point + 1, xy, 64);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		snprintf(err, errlen, "not a P-256 public key");
		key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return key;
}
