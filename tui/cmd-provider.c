/*
 * cubectl provider: adding or editing one seals its API key to the agent
 * here, so the clear key never leaves this process and never sits in
 * ordinary memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "attest.h"
#include "cubectl.h"
#include "rpc.h"
#include "seal.h"
#include "xmalloc.h"

const struct output_field cmd_provider_columns[] = {
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "DRIVER",		"driver",		OUTPUT_PLAIN },
	{ "URL",		"url",			OUTPUT_PLAIN },
	{ "CREDENTIAL",		"credential",		OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "ATTESTED",		"attested",		OUTPUT_YESNO },
	{ "BREAKERS-OPEN",	"breakers_open",	OUTPUT_PLAIN },
	{ "ERROR",		"error",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

const struct output_field cmd_provider_fields[] = {
	{ "name",		"name",			OUTPUT_PLAIN },
	{ "driver",		"driver",		OUTPUT_PLAIN },
	{ "url",		"url",			OUTPUT_PLAIN },
	{ "credential",		"credential",		OUTPUT_PLAIN },
	{ "fingerprint",	"fingerprint",		OUTPUT_PLAIN },
	{ "status",		"status",		OUTPUT_PLAIN },
	{ "error",		"error",		OUTPUT_PLAIN },
	{ "created",		"created_at",		OUTPUT_PLAIN },
	{ "responses",		"responses_api",	OUTPUT_PLAIN },
	{ "policy",		"attest_policy",	OUTPUT_YESNO },
	{ "attested",		"attested",		OUTPUT_YESNO },
	{ "attest err",		"attest_error",		OUTPUT_PLAIN },
	{ "attested at",	"attested_at",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

const struct output_field cmd_provider_test_fields[] = {
	{ "name",		"name",			OUTPUT_PLAIN },
	{ "status",		"status",		OUTPUT_PLAIN },
	{ "error",		"error",		OUTPUT_PLAIN },
	{ "latency (ms)",	"latency_ms",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/*
 * Read the API key from fd into guarded memory. On a terminal, ask for it
 * without echo and stop at the end of the line.
 */
static struct seal_secret *
cmd_provider_read_key(int fd, const char *name, char *err, size_t errlen)
{
	struct seal_secret	*secret;
	struct termios		 saved, quiet;
	int			 tty;

	if (!(tty = isatty(fd)))
		return seal_secret_read(fd, 0, err, errlen);
	fprintf(stderr, "API key for provider %s: ", name);
	fflush(stderr);
	if (tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(ECHO | ECHONL);
		tcsetattr(fd, TCSAFLUSH, &quiet);
	} else
		tty = 0;
	secret = seal_secret_read(fd, SEAL_READ_LINE, err, errlen);
	if (tty)
		tcsetattr(fd, TCSAFLUSH, &saved);
	fputc('\n', stderr);
	return secret;
}

/*
 * Seal len bytes of key to the agent's public key (status.seal_public_key,
 * asked once per run) and put the sealed box in params as "credential".
 * Returns an exit status.
 */
int
cmd_provider_seal_key(struct cubectl *c, const unsigned char *key,
    size_t len, cJSON *params)
{
	char		*sealed, err[256];
	int		 rc;

	if ((rc = cmd_status_seal_key(c)) != EXIT_OK)
		return rc;
	if ((sealed = seal_box_base64(c->seal_key, key, len, err,
	    sizeof(err))) == NULL) {
		output_error("%s", err);
		return EXIT_FAILED;
	}
	cJSON_AddStringToObject(params, "credential", sealed);
	free(sealed);
	return EXIT_OK;
}

/*
 * Read the API key from fd (what names where it comes from in messages),
 * seal it, and put the sealed box in params as "credential". Returns an
 * exit status.
 */
int
cmd_provider_seal(struct cubectl *c, int fd, const char *what,
    const char *name, cJSON *params)
{
	struct seal_secret	*secret;
	char			 err[256];
	int			 rc;

	if ((secret = cmd_provider_read_key(fd, name, err,
	    sizeof(err))) == NULL) {
		output_error("%s: refusing the API key: %s", what, err);
		return EXIT_USAGE;
	}
	rc = cmd_provider_seal_key(c, secret->data, secret->len, params);
	seal_secret_free(secret);
	return rc;
}

/*
 * provider add and provider edit: the parameters from the command line,
 * and the key of --api-key-file or --api-key-stdin sealed as "credential".
 */
int
cmd_provider_write(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	const struct args_value	*file, *pf;
	const char		*flag = NULL;
	char			*policy = NULL, err[512];
	size_t			 plen;
	cJSON			*params, *result;
	int			 fd = -1, rc;

	/* Open the key file first: a wrong path is a usage error, no agent. */
	if ((file = args_get(a, "--api-key-file")) != NULL) {
		flag = file->flag->name;
		if ((fd = open(file->string, O_RDONLY | O_CLOEXEC)) == -1) {
			output_error("%s: %s: %s", flag, file->string,
			    strerror(errno));
			return EXIT_USAGE;
		}
	} else if (args_has(a, "--api-key-stdin")) {
		flag = "--api-key-stdin";
		fd = STDIN_FILENO;
	}

	if ((pf = args_get(a, "--attest-policy")) != NULL &&
	    file_read(pf->string, ATTEST_POLICY_FILE_MAX, &policy, &plen, err,
	    sizeof(err)) == -1) {
		output_error("--attest-policy: %s", err);
		if (fd != -1 && fd != STDIN_FILENO)
			close(fd);
		return EXIT_USAGE;
	}
	params = cmd_params(ce, a);
	if (policy != NULL) {
		cJSON_AddStringToObject(params, "attest_policy", policy);
		free(policy);
	}
	if (fd != -1) {
		rc = cmd_provider_seal(c, fd, flag, a->positional[0], params);
		if (fd != STDIN_FILENO)
			close(fd);
		if (rc != EXIT_OK) {
			cJSON_Delete(params);
			return rc;
		}
	}
	if ((rc = client_call(c, ce->method, params, &result)) != EXIT_OK)
		return rc;
	rc = cmd_output(c, ce, a, result);
	cJSON_Delete(result);
	return rc;
}

/* Like the default, but exit 1 when the provider did not answer well. */
int
cmd_provider_test(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	const cJSON	*status, *error;
	cJSON		*result;
	int		 rc;

	if ((rc = client_call(c, ce->method, cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	if ((rc = cmd_output(c, ce, a, result)) == EXIT_OK) {
		status = cJSON_GetObjectItemCaseSensitive(result, "status");
		error = cJSON_GetObjectItemCaseSensitive(result, "error");
		if (!cJSON_IsString(status) ||
		    strcmp(status->valuestring, "active") != 0) {
			output_error("provider %s is not active%s%s",
			    a->positional[0], cJSON_IsString(error) ? ": " : "",
			    cJSON_IsString(error) ? error->valuestring : "");
			rc = EXIT_FAILED;
		}
	}
	cJSON_Delete(result);
	return rc;
}

/* What the backend serves: {"models": [...]}, one id a line for people. */
int
cmd_provider_models(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	const cJSON	*models, *id;
	cJSON		*result;
	char		*value;
	int		 rc;

	if ((rc = client_call(c, ce->method, cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	models = cJSON_GetObjectItemCaseSensitive(result, "models");
	if (c->output == CUBECTL_JSON)
		output_json(result);
	else if (!cJSON_IsArray(models)) {
		output_error("unexpected reply to %s from the agent",
		    ce->method);
		rc = EXIT_FAILED;
	} else {
		puts("MODEL");
		cJSON_ArrayForEach(id, models) {
			value = output_value(id, OUTPUT_PLAIN);
			puts(value);
			free(value);
		}
	}
	cJSON_Delete(result);
	return rc;
}
