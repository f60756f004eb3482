/*
 * libFuzzer target for shared/attest-live.c: a hostile agent's evidence
 * document (JSON) through attest_live_verify, the way cubectl attest
 * --verify takes it: with the nonce it carries (so the seeds, the
 * simulator's documents, bind), simulated evidence allowed and chained
 * to the root it brings, then refused. Reaches the document's decoding,
 * the signer's choice by SIGNING_KEY, the signature and chain checks and
 * the binding. fuzz-attest covers the report and quote parsers alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct attest_live_policy	 lp;
	struct attest_live_info		 info;
	struct attest_result		 res;
	static const unsigned char	 seal[32];
	cJSON				*doc;

	if ((doc = cJSON_ParseWithLength((const char *)data, len)) == NULL)
		return 0;
	memset(&lp, 0, sizeof(lp));
	lp.policy.now = FUZZ_NOW;
	lp.allow_simulated = 1;
	fuzz_result(&res, attest_live_verify(doc, &lp, &info, &res));
	if (info.simulated && (info.tee == NULL || info.format == NULL))
		abort();

	/* Refused as simulated, with a nonce and seal key it must match. */
	lp.allow_simulated = 0;
	lp.nonce = data;
	lp.nonce_len = len < ATTEST_NONCE_MAX ? len : ATTEST_NONCE_MAX;
	lp.seal_key = seal;
	fuzz_result(&res, attest_live_verify(doc, &lp, &info, &res));
	if (info.simulated && res.verified)
		abort();
	cJSON_Delete(doc);
	return 0;
}
