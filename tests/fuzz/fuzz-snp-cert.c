/*
 * libFuzzer target for shared/attest-snp-cert.c (AMD's VCEK/VLEK
 * extensions) and the SEV-SNP report parser: any bytes are a certificate
 * whose extensions parse or are refused with a message, never read out of
 * bounds; what parses is self-consistent (a VCEK has a hwid, a VLEK a
 * cspId, a known product); 1184 bytes are also tried as a report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A message was written: NUL-terminated and not empty. */
static void
fuzz_said(const char *err, size_t len)
{
	if (memchr(err, '\0', len) == NULL || err[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct attest_snp_cert		c;
	struct attest_snp_report	r;
	unsigned char			tcb[8];
	char				err[128];
	int				p;

	memset(err, 0, sizeof(err));
	if (attest_snp_cert_parse(data, len, &c, err, sizeof(err)) == 0) {
		if (c.kind == ATTEST_SNP_KEY_VCEK && c.hwid_len != 64 &&
		    c.hwid_len != 8)
			abort();
		if (c.kind == ATTEST_SNP_KEY_VLEK && (c.hwid_len != 0 ||
		    c.csp_id[0] == '\0'))
			abort();
		if (c.product < 0 || c.product >= ATTEST_SNP_PRODUCTS ||
		    memchr(c.product_name, '\0', sizeof(c.product_name)) ==
		    NULL)
			abort();
		for (p = 0; p < ATTEST_SNP_PRODUCTS; p++) {
			memset(err, 0, sizeof(err));
			if (attest_snp_cert_tcb(&c, p, tcb, err,
			    sizeof(err)) == -1)
				fuzz_said(err, sizeof(err));
		}
	} else
		fuzz_said(err, sizeof(err));
	memset(err, 0, sizeof(err));
	if (attest_snp_parse(data, len, &r, err, sizeof(err)) == 0) {
		if (len != ATTEST_SNP_REPORT_SIZE || r.vmpl > 3 ||
		    (r.signing_key != ATTEST_SNP_KEY_VCEK &&
		    r.signing_key != ATTEST_SNP_KEY_VLEK &&
		    r.signing_key != ATTEST_SNP_KEY_NONE))
			abort();
		p = attest_snp_report_product(&r);
		if (p < -1 || p >= ATTEST_SNP_PRODUCTS ||
		    (p != -1 && !r.has_cpuid))
			abort();
	} else
		fuzz_said(err, sizeof(err));
	return 0;
}
