/*
 * libFuzzer target for shared/attest-snp.c and attest-tdx.c: any bytes
 * parse or are refused with a message, never read out of bounds, and a
 * parsed quote's pointers stay inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* p..p+n inside data..data+len, or abort. */
static void
fuzz_inside(const uint8_t *data, size_t len, const unsigned char *p, size_t n)
{
	if (p < data || n > len || p > data + len - n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct attest_snp_report	r;
	struct attest_tdx_quote		q;
	char				err[128];

	if (attest_snp_parse(data, len, &r, err, sizeof(err)) == 0) {
		if (len != ATTEST_SNP_REPORT_SIZE)
			abort();
		fuzz_inside(data, len, r.signed_part, r.signed_len);
		fuzz_inside(data, len, r.sig_s, 72);
	} else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
		abort();
	if (attest_tdx_parse(data, len, &q, err, sizeof(err)) == 0) {
		fuzz_inside(data, len, q.signed_part, q.signed_len);
		fuzz_inside(data, len, q.signature, 64);
		fuzz_inside(data, len, q.att_key, 64);
		fuzz_inside(data, len, q.qe_report, ATTEST_TDX_QE_REPORT_SIZE);
		fuzz_inside(data, len, q.qe_signature, 64);
		fuzz_inside(data, len, q.qe_auth, q.qe_auth_len);
		fuzz_inside(data, len, q.pck_chain, q.pck_chain_len);
		if (q.trailing > len)
			abort();
	} else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
		abort();
	return 0;
}
