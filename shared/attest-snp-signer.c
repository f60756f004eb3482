/*
 * Which of the certificates an SEV-SNP report comes with signed it: the
 * report's SIGNING_KEY names the kind (VCEK or VLEK), the certificate's
 * subject CN says which one is of that kind (as go-sev-guest reads it),
 * and the others are its chain. attest_snp_verify() picks so when the
 * VCEK it is given holds several certificates (the live path, whose host
 * gives VCEK, ASK and ARK in one PEM; a --vcek file holding several).
 * The name only picks: trust comes from the signature and chain checks.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "attest-int.h"

#define SIGNER_VCEK	0	/* SIGNING_KEY values (AMD SEV-SNP ABI) */
#define SIGNER_VLEK	1
#define SIGNER_NONE	7

/* The subject CNs of signing certificates, and their kind. */
static const struct {
	const char	*cn;
	uint32_t	 kind;
} signer_names[] = {
	{ "SEV-VCEK",	SIGNER_VCEK },	/* AMD's KDS, and agent/tee-sim.c */
	{ "SEV-VLEK",	SIGNER_VLEK },
};
#define SIGNER_NNAMES	(sizeof(signer_names) / sizeof(signer_names[0]))

static const char *const signer_kinds[] = {
	[SIGNER_VCEK] = "VCEK",
	[SIGNER_VLEK] = "VLEK",
};

/* x's kind (SIGNER_*) by its subject CN into cn, or -1 for no signer. */
static int
signer_kind(X509 *x, char *cn, size_t len)
{
	size_t	i;

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, (int)len) < 0) {
		snprintf(cn, len, "(no common name)");
		return -1;
	}
	for (i = 0; i < SIGNER_NNAMES; i++)
		if (strcmp(cn, signer_names[i].cn) == 0)
			return (int)signer_names[i].kind;
	return -1;
}

/* The certificates of certs whose bit in pick is want, as PEM; NULL: none. */
static char *
signer_pem(STACK_OF(X509) *certs, unsigned pick, unsigned want, size_t *len)
{
	BUF_MEM	*mem;
	BIO	*bio;
	char	*s = NULL;
	int	 i, n = 0;

	*len = 0;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(certs); i++) {
		if (((pick >> i) & 1) != want)
			continue;
		if (PEM_write_bio_X509(bio, sk_X509_value(certs, i)) != 1)
			goto out;
		n++;
	}
	BIO_get_mem_ptr(bio, &mem);
	if (n > 0 && (s = malloc(mem->length + 1)) != NULL) {
		memcpy(s, mem->data, mem->length);
		s[mem->length] = '\0';
		*len = mem->length;
	}
out:
	BIO_free(bio);
	return s;
}

int
attest_snp_signer_pick(STACK_OF(X509) *all, uint32_t signing_key, char *err,
    size_t errlen)
{
	char	cn[64], names[160];
	size_t	n = 0;
	int	i, found = 0, at = -1;

	if (signing_key == SIGNER_NONE) {
		snprintf(err, errlen, "the report is not signed (SIGNING_KEY"
		    " 7): no certificate signed it");
		return -1;
	}
	if (signing_key != SIGNER_VCEK && signing_key != SIGNER_VLEK) {
		snprintf(err, errlen, "SIGNING_KEY %u (0 VCEK, 1 VLEK)",
		    signing_key);
		return -1;
	}
	names[0] = '\0';
	for (i = 0; i < sk_X509_num(all); i++) {
		if (signer_kind(sk_X509_value(all, i), cn, sizeof(cn)) ==
		    (int)signing_key) {
			at = i;
			found++;
		}
		if (n < sizeof(names))
			n += snprintf(names + n, sizeof(names) - n, "%s%s",
			    i ? ", " : "", cn);
	}
	if (found != 1) {
		snprintf(err, errlen, "the report says its signer is a %s"
		    " (SIGNING_KEY %u), and the certificates hold %s: %s",
		    signer_kinds[signing_key], signing_key, found == 0 ?
		    "none" : "more than one", names);
		return -1;
	}
	return at;
}

int
attest_snp_signer_split(const unsigned char *certs, size_t len,
    uint32_t signing_key, struct attest_snp_signer *out, char *err,
    size_t errlen)
{
	STACK_OF(X509)	*all;
	char		 why[128];
	int		 at, rc = -1;

	memset(out, 0, sizeof(*out));
	if ((all = attest_x509_load(certs, len, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "certificates: %s", why);
		return -1;
	}
	if ((at = attest_snp_signer_pick(all, signing_key, err, errlen)) < 0)
		goto out;
	if ((out->signer = signer_pem(all, 1u << at, 1, &out->signer_len)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	out->chain = signer_pem(all, 1u << at, 0, &out->chain_len);
	if (out->chain == NULL && sk_X509_num(all) > 1) {
		attest_snp_signer_clear(out);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	out->kind = signer_kinds[signing_key];
	rc = 0;
out:
	sk_X509_pop_free(all, X509_free);
	ERR_clear_error();
	return rc;
}

void
attest_snp_signer_clear(struct attest_snp_signer *s)
{
	if (s == NULL)
		return;
	free(s->signer);
	free(s->chain);
	memset(s, 0, sizeof(*s));
}
