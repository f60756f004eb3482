/*
 * cubectl model: how models read, in a list and alone with their
 * deployments, and what deploy and edit check before the agent does.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"

#define CMD_MODEL_DEPLOYMENTS_MAX	16
#define CMD_MODEL_FALLBACKS_MAX		8

const struct output_field cmd_model_columns[] = {
	{ "KEY",		"key",			OUTPUT_PLAIN },
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "PROVIDER",		"provider",		OUTPUT_PLAIN },
	{ "MODEL-ID",		"model_id",		OUTPUT_PLAIN },
	{ "DEPLOYMENTS",	"deployments",		OUTPUT_COUNT },
	{ "FALLBACKS",		"fallbacks",		OUTPUT_PLAIN },
	{ "CATEGORY",		"category",		OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "PRICE-IN",		"pricing.input",	OUTPUT_PLAIN },
	{ "PRICE-OUT",		"pricing.output",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/* "provider" and "model id" are the first deployment's. */
const struct output_field cmd_model_fields[] = {
	{ "key",		"key",			OUTPUT_PLAIN },
	{ "name",		"name",			OUTPUT_PLAIN },
	{ "model id",		"model_id",		OUTPUT_PLAIN },
	{ "provider",		"provider",		OUTPUT_PLAIN },
	{ "fallbacks",		"fallbacks",		OUTPUT_PLAIN },
	{ "retries",		"retries",		OUTPUT_PLAIN },
	{ "deadline (ms)",	"retry_deadline_ms",	OUTPUT_PLAIN },
	{ "category",		"category",		OUTPUT_PLAIN },
	{ "status",		"status",		OUTPUT_PLAIN },
	{ "tools",		"capabilities.tools",	OUTPUT_YESNO },
	{ "vision",		"capabilities.vision",	OUTPUT_YESNO },
	{ "price input",	"pricing.input",	OUTPUT_PLAIN },
	{ "price output",	"pricing.output",	OUTPUT_PLAIN },
	{ "price cached",	"pricing.cached",	OUTPUT_PLAIN },
	{ "temperature",	"settings.temperature",	OUTPUT_PLAIN },
	{ "max tokens",		"settings.max_tokens",	OUTPUT_PLAIN },
	{ "system prompt",	"settings.system_prompt", OUTPUT_PLAIN },
	{ "guardrails in",	"guardrails.input",	OUTPUT_PLAIN },
	{ "guardrails out",	"guardrails.output",	OUTPUT_PLAIN },
	{ "description",	"description",		OUTPUT_PLAIN },
	{ "created",		"created_at",		OUTPUT_PLAIN },
	{ "updated",		"updated_at",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/* A model's deployments, with their breakers when the agent says (show). */
const struct output_field cmd_model_deployment_columns[] = {
	{ "PROVIDER",		"provider",		OUTPUT_PLAIN },
	{ "MODEL-ID",		"model_id",		OUTPUT_PLAIN },
	{ "WEIGHT",		"weight",		OUTPUT_PLAIN },
	{ "PRIORITY",		"priority",		OUTPUT_PLAIN },
	{ "BREAKER",		"breaker",		OUTPUT_PLAIN },
	{ "OUTSTANDING",	"outstanding",		OUTPUT_PLAIN },
	{ "FAILURES",		"failures",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/* The same without live state, as deploy and edit answer. */
static const struct output_field cmd_model_deployment_config[] = {
	{ "PROVIDER",		"provider",		OUTPUT_PLAIN },
	{ "MODEL-ID",		"model_id",		OUTPUT_PLAIN },
	{ "WEIGHT",		"weight",		OUTPUT_PLAIN },
	{ "PRIORITY",		"priority",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static const char *
cmd_model_string(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/*
 * --deployment and --fallback as a whole: at most 16 and 8, no
 * deployment (provider and model id) or fallback twice.
 */
static int
cmd_model_check_lists(const struct args *a, char *err, size_t errlen)
{
	cJSON		*d[CMD_MODEL_DEPLOYMENTS_MAX];
	const char	*fb[CMD_MODEL_FALLBACKS_MAX];
	size_t		 nd = 0, nf = 0, i, j;
	int		 rc = 0;

	for (i = 0; i < a->nvalues && rc == 0; i++) {
		if (strcmp(a->values[i].flag->name, "--deployment") == 0) {
			if (nd == CMD_MODEL_DEPLOYMENTS_MAX) {
				snprintf(err, errlen, "--deployment: at most"
				    " %d", CMD_MODEL_DEPLOYMENTS_MAX);
				rc = -1;
				break;
			}
			d[nd] = args_value_json(&a->values[i]);
			for (j = 0; j < nd; j++) {
				if (strcmp(cmd_model_string(d[j], "provider"),
				    cmd_model_string(d[nd], "provider")) != 0 ||
				    strcmp(cmd_model_string(d[j], "model_id"),
				    cmd_model_string(d[nd], "model_id")) != 0)
					continue;
				snprintf(err, errlen, "--deployment: provider"
				    " %s, model id %s given twice",
				    cmd_model_string(d[nd], "provider"),
				    cmd_model_string(d[nd], "model_id"));
				rc = -1;
			}
			nd++;
		} else if (strcmp(a->values[i].flag->name, "--fallback") == 0) {
			if (nf == CMD_MODEL_FALLBACKS_MAX) {
				snprintf(err, errlen, "--fallback: at most %d",
				    CMD_MODEL_FALLBACKS_MAX);
				rc = -1;
				break;
			}
			for (j = 0; j < nf; j++) {
				if (strcmp(fb[j], a->values[i].string) != 0)
					continue;
				snprintf(err, errlen, "--fallback: '%s' given"
				    " twice", fb[j]);
				rc = -1;
			}
			fb[nf++] = a->values[i].string;
		}
	}
	for (i = 0; i < nd; i++)
		cJSON_Delete(d[i]);
	return rc;
}

/* --deployment, or the old --provider and --model-id: not both. */
static int
cmd_model_check_form(const struct args *a, char *err, size_t errlen)
{
	static const char *const	 old[] = { "--provider", "--model-id" };
	size_t				 i;

	if (!args_has(a, "--deployment"))
		return 0;
	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		if (args_has(a, old[i])) {
			snprintf(err, errlen, "--deployment and %s cannot be"
			    " used together", old[i]);
			return -1;
		}
	}
	return 0;
}

/* model edit's --deployment, for cube-tui's routing form. */
const struct args_flag *
cmd_model_deployment_flag(void)
{
	const struct args_flag	*f;
	size_t			 i;

	for (i = 0; i < cmd_table_size; i++) {
		if (strcmp(cmd_table[i].noun, "model") != 0 ||
		    cmd_table[i].verb == NULL ||
		    strcmp(cmd_table[i].verb, "edit") != 0)
			continue;
		for (f = cmd_table[i].flags; f->name != NULL; f++)
			if (strcmp(f->name, "--deployment") == 0)
				return f;
	}
	fatalx("%s: no --deployment in the table", __func__);
}

/* model deploy: its deployments in one form or the other. */
int
cmd_model_check_deploy(const struct args *a, char *err, size_t errlen)
{
	if (cmd_model_check_form(a, err, errlen) == -1)
		return -1;
	if (!args_has(a, "--deployment")) {
		if (!args_has(a, "--provider")) {
			snprintf(err, errlen, "missing --provider P (or"
			    " --deployment)");
			return -1;
		}
		if (!args_has(a, "--model-id")) {
			snprintf(err, errlen, "missing --model-id ID (or"
			    " --deployment)");
			return -1;
		}
	}
	return cmd_model_check_lists(a, err, errlen);
}

/* model edit: --deployment replaces the list, --provider edits the first. */
int
cmd_model_check_edit(const struct args *a, char *err, size_t errlen)
{
	if (cmd_model_check_form(a, err, errlen) == -1)
		return -1;
	return cmd_model_check_lists(a, err, errlen);
}

/*
 * A model for people: its fields, then its deployments as a table (with
 * breaker, outstanding requests and failures when the agent gives them).
 */
void
cmd_model_output(const cJSON *model)
{
	const cJSON	*d;

	output_object(cmd_model_fields, model);
	d = cJSON_GetObjectItemCaseSensitive(model, "deployments");
	if (!cJSON_IsArray(d) || cJSON_GetArraySize(d) == 0)
		return;
	printf("\ndeployments\n");
	output_table(output_lookup(cJSON_GetArrayItem(d, 0), "breaker") !=
	    NULL ? cmd_model_deployment_columns : cmd_model_deployment_config,
	    d);
}

/* show, deploy, edit, enable, disable: one model back. */
int
cmd_model_exec(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	cJSON	*result;
	int	 rc;

	if ((rc = client_call(c, ce->method, cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	if (c->output == CUBECTL_JSON)
		output_json(result);
	else if (cJSON_IsObject(result)) {
		cmd_model_output(result);
		output_warnings(result);
	} else {
		output_error("unexpected reply to %s from the agent",
		    ce->method);
		rc = EXIT_FAILED;
	}
	cJSON_Delete(result);
	return rc;
}
