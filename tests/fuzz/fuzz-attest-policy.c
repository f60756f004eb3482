/*
 * libFuzzer target for shared/attest-policy.c: any bytes are a policy or
 * are refused with a message; what is accepted holds only values of the
 * sizes the format allows, and nothing leaks either way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A set of accepted values: 1-16 of len bytes, or none. */
static void
fuzz_values(const struct attest_values *vs, size_t min, size_t max)
{
	if (vs->n > ATTEST_VALUES_MAX)
		abort();
	if (vs->n > 0 && (vs->len < min || vs->len > max))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct attest_policy		p;
	struct attest_policy_file	f;
	char				err[256];
	size_t				i;

	memset(err, 0x5a, sizeof(err));
	if (attest_policy_parse((const char *)data, len, "/etc/cube", &p, &f,
	    err, sizeof(err)) == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort();
		return 0;
	}
	fuzz_values(&p.measurement, 48, 48);
	fuzz_values(&p.report_data, 1, 64);
	fuzz_values(&p.snp.host_data, 32, 32);
	fuzz_values(&p.snp.image_id, 16, 16);
	for (i = 0; i < 4; i++)
		fuzz_values(&p.tdx.rtmr[i], 48, 48);
	if (p.min_tcb != NULL && (p.min_tcb != f.min_tcb ||
	    (p.min_tcb_len != 8 && p.min_tcb_len != 16)))
		abort();
	if (p.snp.max_vmpl > 3 || p.snp.signer > 2 || f.ncrls >
	    ATTEST_POLICY_CRLS_MAX || (p.snp.platform_require &
	    p.snp.platform_forbid) != 0 || (p.tdx.td_attributes &
	    ~p.tdx.td_attributes_mask) != 0)
		abort();
	for (i = 0; i < f.ncrls; i++)
		if (f.crls[i] == NULL || f.crls[i][0] == '\0')
			abort();
	attest_policy_file_clear(&f);
	return 0;
}
