/* cubectl token: how tokens read; creating one shows its secret, once. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "rpc.h"

const struct output_field cmd_token_columns[] = {
	{ "ID",			"id",			OUTPUT_PLAIN },
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "EXPIRES",		"expires_at",		OUTPUT_PLAIN },
	{ "RPM",		"rpm",			OUTPUT_PLAIN },
	{ "TPM",		"tpm",			OUTPUT_PLAIN },
	{ "BUDGET",		"budget",		OUTPUT_PLAIN },
	{ "PERIOD",		"budget_period",	OUTPUT_PLAIN },
	{ "SPENT",		"spent_usd",		OUTPUT_PLAIN },
	{ "MODELS",		"models",		OUTPUT_PLAIN },
	{ "CREATED",		"created_at",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

const struct output_field cmd_token_fields[] = {
	{ "id",			"id",			OUTPUT_PLAIN },
	{ "name",		"name",			OUTPUT_PLAIN },
	{ "status",		"status",		OUTPUT_PLAIN },
	{ "domain",		"domain",		OUTPUT_PLAIN },
	{ "created",		"created_at",		OUTPUT_PLAIN },
	{ "expires",		"expires_at",		OUTPUT_PLAIN },
	{ "revoked",		"revoked_at",		OUTPUT_PLAIN },
	{ "models",		"models",		OUTPUT_PLAIN },
	{ "rpm",		"rpm",			OUTPUT_PLAIN },
	{ "tpm",		"tpm",			OUTPUT_PLAIN },
	{ "budget",		"budget",		OUTPUT_PLAIN },
	{ "budget period",	"budget_period",	OUTPUT_PLAIN },
	{ "spent",		"spent_usd",		OUTPUT_PLAIN },
	{ "reserved",		"reserved_usd",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/*
 * token.create: in a table, the token's fields (never "token" among them),
 * then the secret alone on its own line and a note on stderr that it is
 * not shown again. The secret is wiped from memory once printed.
 */
int
cmd_token_create(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	cJSON	*result, *token;
	int	 rc;

	if ((rc = client_call(c, ce->method, cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	token = cJSON_GetObjectItemCaseSensitive(result, "token");
	if (c->output == CUBECTL_JSON)
		output_json(result);
	else if (!cJSON_IsString(token)) {
		output_error("the agent's reply has no token");
		rc = EXIT_FAILED;
	} else {
		output_object(ce->fields, result);
		printf("\n%s\n", token->valuestring);
		fflush(stdout);
		fprintf(stderr, "This is the only time the token is shown:"
		    " store it now.\n");
	}
	if (cJSON_IsString(token))
		explicit_bzero(token->valuestring, strlen(token->valuestring));
	cJSON_Delete(result);
	return rc;
}
