/*
 * libFuzzer target for shared/attest-tdx-collateral.c: any bytes are
 * Intel TCB info or QE identity JSON that parses (the signed part inside
 * the input, every count within its bound) and is rated to a status, or
 * are refused with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest-int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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

/* A status, or -1 with a message. */
static void
fuzz_status(int st, const char *detail)
{
	if (st < -1 || st >= ATTEST_TCB_STATUSES)
		abort();
	fuzz_err(detail, ATTEST_DETAIL_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct attest_tdx_tcb_info	ti;
	struct attest_tdx_qe_identity		qi;
	struct attest_tdx_quote			q;
	struct attest_tdx_pck			pck;
	char					err[128];
	char					d[ATTEST_DETAIL_MAX];
	int					svn;

	/* A quote and PCK that the seeds' levels rate. */
	memset(&q, 0, sizeof(q));
	memset(&pck, 0, sizeof(pck));
	q.tee_tcb_svn[0] = 3;
	q.tee_tcb_svn[2] = 5;
	q.qe_attributes[0] = 0x15;
	q.qe_isvprodid = 2;
	q.qe_isvsvn = 4;
	memcpy(q.qe_mrsigner, attest_tdx_qe_pinned.mrsigner, 32);
	pck.cpusvn[0] = 5;
	pck.pcesvn = 11;

	if (attest_tdx_tcb_info_parse(data, len, &ti, err, sizeof(err)) == 0) {
		fuzz_inside(data, len, ti.signed_part, ti.signed_len);
		if (ti.nlevels == 0 || ti.nlevels > ATTEST_TDX_TCB_LEVELS_MAX ||
		    ti.nmodules > ATTEST_TDX_MODULES_MAX)
			abort();
		memcpy(pck.fmspc, ti.fmspc, sizeof(pck.fmspc));
		memcpy(pck.pceid, ti.pceid, sizeof(pck.pceid));
		memcpy(q.mrsignerseam, ti.module.mrsigner, 48);
		for (svn = 0; svn < 3; svn++) {
			q.tee_tcb_svn[1] = (unsigned char)svn;
			if (svn > 0 && ti.nmodules > 0)
				memcpy(q.mrsignerseam, ti.modules[0].mrsigner,
				    48);
			fuzz_status(attest_tdx_tcb_status(&ti, &pck, &q,
			    svn - 1, d, sizeof(d)), d);
		}
	} else
		fuzz_err(err, sizeof(err));
	if (attest_tdx_qe_identity_parse(data, len, &qi, err, sizeof(err)) ==
	    0) {
		fuzz_inside(data, len, qi.signed_part, qi.signed_len);
		if (qi.nlevels == 0 || qi.nlevels > ATTEST_TDX_LEVELS_MAX)
			abort();
		fuzz_status(attest_tdx_qe_status(&qi, &q, d, sizeof(d)), d);
	} else
		fuzz_err(err, sizeof(err));
	return 0;
}
