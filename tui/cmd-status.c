/* cubectl status: how the agent's status reads, and its seal key. */
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

const struct output_field cmd_status_fields[] = {
	{ "version",		"version",		OUTPUT_PLAIN },
	{ "pid",		"pid",			OUTPUT_PLAIN },
	{ "uptime (s)",		"uptime_s",		OUTPUT_PLAIN },
	{ "listen",		"listen",		OUTPUT_PLAIN },
	{ "workers",		"workers",		OUTPUT_PLAIN },
	{ "tee",		"tee",			OUTPUT_PLAIN },
	{ "data dir",		"data_dir",		OUTPUT_PLAIN },
	{ "domains",		"domains",		OUTPUT_PLAIN },
	{ "seal public key",	"seal_public_key",	OUTPUT_PLAIN },
	{ "keys at rest",	"keys_at_rest",		OUTPUT_PLAIN },
	{ "tls",		"tls.mode",		OUTPUT_PLAIN },
	{ "prompts encrypted",	"tls.prompts_encrypted", OUTPUT_YESNO },
	{ "tls spki sha256",	"tls.spki_sha256",	OUTPUT_PLAIN },
	{ "tls cert expires",	"tls.not_after",	OUTPUT_PLAIN },
	{ "receipts signed",	"receipts.signed",	OUTPUT_PLAIN },
	{ "their signatures",	"receipts.signatures",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/*
 * Fetch the agent's seal public key into c->seal_key (base64), once per
 * run: what credentials are sealed to and attestation binds. Returns an
 * exit status.
 */
int
cmd_status_seal_key(struct cubectl *c)
{
	const cJSON	*pk;
	cJSON		*status;
	int		 rc;

	if (c->seal_key != NULL)
		return EXIT_OK;
	if ((rc = client_call(c, "status", NULL, &status)) != EXIT_OK)
		return rc;
	pk = cJSON_GetObjectItemCaseSensitive(status, "seal_public_key");
	if (!cJSON_IsString(pk)) {
		output_error("the agent's status has no seal_public_key");
		cJSON_Delete(status);
		return EXIT_FAILED;
	}
	c->seal_key = xstrdup(pk->valuestring);
	cJSON_Delete(status);
	return EXIT_OK;
}
