/*
 * The policy the operator tools verify evidence against: a policy file
 * (cube-attest-policy(5), read by shared/attest-policy.c) and the
 * collateral files it or the command line names, read whole and bounded.
 * cubectl verify, cubectl attest --verify and cube-tui share it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cubectl.h"
#include "log.h"
#include "xmalloc.h"

#define VERIFY_PEM_CRL	"-----BEGIN X509 CRL-----"

void
verify_policy_init(struct verify_policy *vp)
{
	memset(vp, 0, sizeof(*vp));
}

void
verify_policy_free(struct verify_policy *vp)
{
	size_t	i;

	if (vp == NULL)
		return;
	attest_policy_file_clear(&vp->file);
	for (i = 0; i < VERIFY_COLLATERAL_KINDS; i++)
		free(vp->collateral[i].text);
	free(vp->crls);
	memset(vp, 0, sizeof(*vp));
}

/* Read a collateral file of kind, replacing what was read before. */
int
verify_policy_collateral(struct verify_policy *vp,
    enum verify_collateral kind, const char *path, char *err, size_t errlen)
{
	char	*text;
	size_t	 len;

	if (file_read(path, VERIFY_COLLATERAL_MAX, &text, &len, err,
	    errlen) == -1)
		return -1;
	free(vp->collateral[kind].text);
	vp->collateral[kind].text = text;
	vp->collateral[kind].len = len;
	return 0;
}

/*
 * Add the CRLs of path (PEM, any number, or one DER CRL) to the PEM
 * bundle the verifier takes: DER is written out as PEM, so that files of
 * both kinds can be given together.
 */
int
verify_policy_crl(struct verify_policy *vp, const char *path, char *err,
    size_t errlen)
{
	const unsigned char	*p;
	X509_CRL		*crl = NULL;
	BIO			*bio = NULL;
	char			*text, *pem;
	size_t			 len;
	long			 n = 0;
	int			 rc = -1;

	if (file_read(path, VERIFY_COLLATERAL_MAX, &text, &len, err,
	    errlen) == -1)
		return -1;
	if (strstr(text, VERIFY_PEM_CRL) != NULL && strlen(text) == len) {
		pem = text;
		n = (long)len;
	} else {
		p = (const unsigned char *)text;
		if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL ||
		    p != (const unsigned char *)text + len) {
			snprintf(err, errlen, "%s: not a CRL (PEM, or one in"
			    " DER)", path);
			goto out;
		}
		if ((bio = BIO_new(BIO_s_mem())) == NULL ||
		    !PEM_write_bio_X509_CRL(bio, crl) ||
		    (n = BIO_get_mem_data(bio, &pem)) <= 0)
			fatalx("%s: out of memory", __func__);
	}
	if (vp->crls_len + (size_t)n + 1 > VERIFY_COLLATERAL_MAX *
	    VERIFY_CRLS_MAX) {
		snprintf(err, errlen, "%s: too many CRLs", path);
		goto out;
	}
	vp->crls = xreallocarray(vp->crls, vp->crls_len + n + 2, 1);
	memcpy(vp->crls + vp->crls_len, pem, n);
	vp->crls_len += n;
	/* PEM blocks each on their own lines. */
	if (vp->crls[vp->crls_len - 1] != '\n')
		vp->crls[vp->crls_len++] = '\n';
	vp->crls[vp->crls_len] = '\0';
	vp->ncrls++;
	rc = 0;
out:
	BIO_free(bio);
	X509_CRL_free(crl);
	free(text);
	return rc;
}

/*
 * Read the policy file at path and the collateral it names. Returns 0, or
 * -1 with "PATH: reason" in err (the key, for a policy refused).
 */
int
verify_policy_load(struct verify_policy *vp, const char *path, char *err,
    size_t errlen)
{
	const char	*files[VERIFY_COLLATERAL_KINDS];
	size_t		 i;

	if (attest_policy_load(path, &vp->policy, &vp->file, err,
	    errlen) == -1)
		return -1;
	files[VERIFY_TCB_INFO] = vp->file.tcb_info;
	files[VERIFY_QE_IDENTITY] = vp->file.qe_identity;
	files[VERIFY_COLLATERAL_CHAIN] = vp->file.collateral_chain;
	for (i = 0; i < VERIFY_COLLATERAL_KINDS; i++)
		if (files[i] != NULL && verify_policy_collateral(vp, i,
		    files[i], err, errlen) == -1)
			return -1;
	for (i = 0; i < vp->file.ncrls; i++)
		if (verify_policy_crl(vp, vp->file.crls[i], err, errlen) == -1)
			return -1;
	return 0;
}

/* The collateral read, for the verifier; in borrows from vp. */
void
verify_policy_input(const struct verify_policy *vp, struct attest_input *in)
{
	const struct verify_file	*c = vp->collateral;

	if (c[VERIFY_TCB_INFO].text != NULL) {
		in->tcb_info = (const unsigned char *)c[VERIFY_TCB_INFO].text;
		in->tcb_info_len = c[VERIFY_TCB_INFO].len;
	}
	if (c[VERIFY_QE_IDENTITY].text != NULL) {
		in->qe_identity =
		    (const unsigned char *)c[VERIFY_QE_IDENTITY].text;
		in->qe_identity_len = c[VERIFY_QE_IDENTITY].len;
	}
	if (c[VERIFY_COLLATERAL_CHAIN].text != NULL) {
		in->collateral_chain =
		    (const unsigned char *)c[VERIFY_COLLATERAL_CHAIN].text;
		in->collateral_chain_len = c[VERIFY_COLLATERAL_CHAIN].len;
	}
	if (vp->crls != NULL) {
		in->crls = (const unsigned char *)vp->crls;
		in->crls_len = vp->crls_len;
	}
}
