/* cubectl token: how tokens read; creating one shows its secret, once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "rpc.h"
#include "seal.h"

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
/*
 * --secret-file or --secret-stdin: the secret of a token another agent
 * made, read into guarded memory and sealed to this agent's key as
 * "secret_sealed" (the same token on every agent of a fleet). An exit
 * status.
 */
static int
cmd_token_import(struct cubectl *c, const struct args *a, cJSON *params)
{
	const struct args_value	*file = args_get(a, "--secret-file");
	struct seal_secret	*secret;
	const char		*what = file != NULL ? file->string : "stdin";
	char			 err[256], *sealed;
	int			 fd = STDIN_FILENO, rc;

	if (args_get(a, "--id") == NULL) {
		output_error("%s needs --id, the token's id on the other"
		    " agent", file != NULL ? "--secret-file" :
		    "--secret-stdin");
		return EXIT_USAGE;
	}
	if (file != NULL && (fd = open(file->string, O_RDONLY |
	    O_CLOEXEC)) == -1) {
		output_error("--secret-file: %s: %s", file->string,
		    strerror(errno));
		return EXIT_USAGE;
	}
	secret = seal_secret_read(fd, 0, err, sizeof(err));
	if (fd != STDIN_FILENO)
		close(fd);
	if (secret == NULL) {
		output_error("%s: refusing the secret: %s", what, err);
		return EXIT_USAGE;
	}
	if ((rc = cmd_status_seal_key(c)) == EXIT_OK) {
		if ((sealed = seal_box_base64(c->seal_key, secret->data,
		    secret->len, err, sizeof(err))) == NULL) {
			output_error("%s", err);
			rc = EXIT_FAILED;
		} else {
			cJSON_AddStringToObject(params, "secret_sealed",
			    sealed);
			free(sealed);
		}
	}
	seal_secret_free(secret);
	return rc;
}

int
cmd_token_create(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	cJSON	*params, *result, *token;
	int	 rc, imported;

	params = cmd_params(ce, a);
	imported = args_get(a, "--secret-file") != NULL ||
	    args_has(a, "--secret-stdin");
	if (imported && (rc = cmd_token_import(c, a, params)) != EXIT_OK) {
		cJSON_Delete(params);
		return rc;
	}
	if ((rc = client_call(c, ce->method, params, &result)) != EXIT_OK)
		return rc;
	token = cJSON_GetObjectItemCaseSensitive(result, "token");
	if (c->output == CUBECTL_JSON)
		output_json(result);
	else if (imported)
		output_object(ce->fields, result);
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
