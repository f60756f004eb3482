/*
 * libFuzzer target for SEV-SNP reports through attest_verify: the first
 * 1184 bytes are the report, the rest its certificates (PEM or DER,
 * random bytes as often as not), split by the report's SIGNING_KEY as the
 * live path does, else taken whole. Verified against the pinned roots and
 * against the input's own last PEM certificate, so the seeds (the
 * simulator's evidence) reach a good signature and a good chain; then
 * through attest_verify, as cubectl verify --vcek takes a file
 * of several. Every result must be consistent: verified only when every
 * check passed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_NOW	1893456000	/* 2030-01-01: inside the seeds' dates */

static void
fuzz_result(const struct attest_result *res, int rc)
{
	size_t	i;
	int	all = res->nchecks > 0;

	if (res->nchecks > ATTEST_RESULT_CHECKS)
		abort();
	for (i = 0; i < res->nchecks; i++) {
		if (memchr(res->checks[i].detail, '\0', ATTEST_DETAIL_MAX) ==
		    NULL || attest_check_name(res->checks[i].id) == NULL)
			abort();
		all = all && res->checks[i].ok;
	}
	if (res->verified != all || (rc == 0) != res->verified)
		abort();
}

/* The last PEM certificate of the NUL-terminated s, or NULL. */
static const char *
fuzz_last_pem(const char *s)
{
	const char	*p, *last = NULL;

	for (p = s; (p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL;
	    p++)
		last = p;
	return last;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct attest_snp_report	 r;
	struct attest_snp_signer	 s;
	struct attest_input		 in;
	struct attest_policy		 p;
	struct attest_result		 res;
	static const unsigned char	 min_tcb[8] = { 1, 0, 0, 0, 0, 0, 1, 1 };
	char				 err[ATTEST_DETAIL_MAX], *certs = NULL;
	const char			*root;
	size_t				 n;
	int				 parsed;

	n = len < ATTEST_SNP_REPORT_SIZE ? len : ATTEST_SNP_REPORT_SIZE;
	parsed = attest_snp_parse(data, n, &r, err, sizeof(err)) == 0;
	if (!parsed && (memchr(err, '\0', sizeof(err)) == NULL ||
	    err[0] == '\0'))
		abort();
	memset(&in, 0, sizeof(in));
	memset(&p, 0, sizeof(p));
	memset(&s, 0, sizeof(s));
	in.tee = ATTEST_TEE_SEV_SNP;
	in.evidence = data;
	in.evidence_len = n;
	p.now = FUZZ_NOW;
	p.min_tcb = min_tcb;
	p.min_tcb_len = sizeof(min_tcb);
	if (len > n) {
		/* NUL-terminated, for the PEM reader and strstr. */
		if ((certs = malloc(len - n + 1)) == NULL)
			return 0;
		memcpy(certs, data + n, len - n);
		certs[len - n] = '\0';
		if (parsed && attest_snp_signer_split((unsigned char *)certs,
		    len - n, r.signing_key, &s, err, sizeof(err)) == 0) {
			if (s.signer == NULL || s.signer_len == 0 ||
			    (s.chain == NULL) != (s.chain_len == 0))
				abort();
			in.vcek = (unsigned char *)s.signer;
			in.vcek_len = s.signer_len;
			in.chain = (unsigned char *)s.chain;
			in.chain_len = s.chain_len;
		} else {
			if (s.signer != NULL || s.chain != NULL)
				abort();
			in.vcek = in.chain = (unsigned char *)certs;
			in.vcek_len = in.chain_len = len - n;
		}
	}
	fuzz_result(&res, attest_verify(&in, &p, &res));
	if (certs != NULL && (root = fuzz_last_pem(certs)) != NULL) {
		in.root = (const unsigned char *)root;
		in.root_len = strlen(root);
		fuzz_result(&res, attest_verify(&in, &p, &res));
	}
	/* The same, the choice made inside, as cubectl verify --vcek. */
	if (certs != NULL) {
		in.vcek = (unsigned char *)certs;
		in.vcek_len = len - n;
		in.chain = NULL;
		in.chain_len = 0;
		fuzz_result(&res, attest_verify(&in, &p, &res));
	}
	attest_snp_signer_clear(&s);
	free(certs);
	return 0;
}
