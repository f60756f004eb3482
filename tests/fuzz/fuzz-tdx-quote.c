/*
 * libFuzzer target for shared/attest-tdx.c and the PCK extension parser
 * of attest-tdx-collateral.c: any bytes are a quote that parses (every
 * pointer inside the input) and verifies to a verdict, or are refused
 * with a message; the same bytes as an SGX extension parse or are
 * refused, never read out of bounds, never leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest-int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* p..p+n inside data..data+len, or abort. */
static void
fuzz_inside(const uint8_t *data, size_t len, const unsigned char *p, size_t n)
{
	if (p < data || n > len || p > data + len - n)
		abort();
}

static void
fuzz_err(const char *err, size_t len)
{
	if (memchr(err, '\0', len) == NULL || err[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct attest_tdx_quote	q;
	struct attest_tdx_pck	pck;
	struct attest_input	in = { .tee = ATTEST_TEE_TDX };
	struct attest_policy	policy = { .now = 1717200000 };
	struct attest_result	res;
	char			err[128];
	size_t			i;

	if (attest_tdx_parse(data, len, &q, err, sizeof(err)) == 0) {
		fuzz_inside(data, len, q.signed_part, q.signed_len);
		fuzz_inside(data, len, q.signature, 64);
		fuzz_inside(data, len, q.att_key, 64);
		fuzz_inside(data, len, q.qe_report, ATTEST_TDX_QE_REPORT_SIZE);
		fuzz_inside(data, len, q.qe_signature, 64);
		fuzz_inside(data, len, q.qe_auth, q.qe_auth_len);
		fuzz_inside(data, len, q.pck_chain, q.pck_chain_len);
		if (q.version != 4 && q.version != 5)
			abort();
		/* The whole verdict: every check named, none passes twice. */
		in.evidence = data;
		in.evidence_len = len;
		if (attest_verify(&in, &policy, &res) == 0 || res.verified)
			abort();	/* no forged signature verifies */
		if (res.nchecks == 0 || res.nchecks > ATTEST_RESULT_CHECKS)
			abort();
		for (i = 0; i < res.nchecks; i++)
			if (memchr(res.checks[i].detail, '\0',
			    sizeof(res.checks[i].detail)) == NULL)
				abort();
	} else
		fuzz_err(err, sizeof(err));
	if (attest_tdx_pck_parse(data, len, &pck, err, sizeof(err)) == -1)
		fuzz_err(err, sizeof(err));
	return 0;
}
