/*
 * attestation.get: the agent's evidence for an operator's nonce. It runs
 * on the admin loop, like provider.test's probe: the TEE call blocks that
 * loop (never a worker's) for as long as the hardware takes.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "rpc.h"

int
admin_attestation_get(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "nonce", NULL };
	unsigned char			 nonce[ATTEST_NONCE_MAX];
	const char			*hex;
	char				 err[512];
	size_t				 len;
	int				 unavailable;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_string(params, "nonce", ADMIN_PARAM_REQUIRED,
	    ATTESTATION_NONCE_HEX_MIN, ATTESTATION_NONCE_HEX_MAX, NULL, NULL,
	    &hex, reply) == -1)
		return -1;
	if (attestation_nonce_parse(hex, strlen(hex), nonce, &len, err,
	    sizeof(err)) != 0)
		return admin_reply_error(reply, RPC_INVALID_PARAMS, "%s", err);
	if ((reply->result = attestation_json(agent, nonce, len, &unavailable,
	    err, sizeof(err))) == NULL)
		return admin_reply_error(reply, RPC_FAILED, "%s", err);
	return 0;
}
