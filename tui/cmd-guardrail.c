/* cubectl guardrail: how guardrails read; test says what one would do. */
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "rpc.h"

const struct output_field cmd_guardrail_columns[] = {
	{ "KEY",		"key",			OUTPUT_PLAIN },
	{ "KIND",		"kind",			OUTPUT_PLAIN },
	{ "ACTION",		"action",		OUTPUT_PLAIN },
	{ "TYPES",		"types",		OUTPUT_PLAIN },
	{ "PATTERNS",		"patterns",		OUTPUT_PLAIN },
	{ "WORDS",		"words",		OUTPUT_PLAIN },
	{ "MAX-CHARS",		"max_chars",		OUTPUT_PLAIN },
	{ "MAX-MESSAGES",	"max_messages",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

const struct output_field cmd_guardrail_fields[] = {
	{ "key",		"key",			OUTPUT_PLAIN },
	{ "kind",		"kind",			OUTPUT_PLAIN },
	{ "action",		"action",		OUTPUT_PLAIN },
	{ "types",		"types",		OUTPUT_PLAIN },
	{ "patterns",		"patterns",		OUTPUT_PLAIN },
	{ "words",		"words",		OUTPUT_PLAIN },
	{ "max chars",		"max_chars",		OUTPUT_PLAIN },
	{ "max messages",	"max_messages",		OUTPUT_PLAIN },
	{ "description",	"description",		OUTPUT_PLAIN },
	{ "created",		"created_at",		OUTPUT_PLAIN },
	{ "updated",		"updated_at",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

const struct output_field cmd_guardrail_test_fields[] = {
	{ "key",		"key",			OUTPUT_PLAIN },
	{ "action",		"action",		OUTPUT_PLAIN },
	{ "result",		"result",		OUTPUT_PLAIN },
	{ "text",		"text",			OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/*
 * guardrail.test, of a stored guardrail (KEY) or of one given inline by
 * create's flags: the result and the text with every match marked, then
 * each type hit and how often. Exits 0 whatever the guardrail would do:
 * it is a question, not a check.
 */
int
cmd_guardrail_test(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	static const char *const	 spec[] = { "--kind", "--action",
					    "--types", "--pattern", "--words",
					    "--max-chars", "--max-messages",
					    "--description", NULL };
	const cJSON			*h, *type, *count;
	cJSON				*result;
	size_t				 i;
	int				 rc, inline_spec = 0;

	for (i = 0; spec[i] != NULL; i++)
		inline_spec |= args_has(a, spec[i]);
	if (a->npositional > 0 && inline_spec) {
		output_error("guardrail test: KEY, or a guardrail given by"
		    " --kind, --action ..., not both");
		return EXIT_USAGE;
	}
	if (a->npositional == 0 && (!args_has(a, "--kind") ||
	    !args_has(a, "--action"))) {
		output_error("guardrail test: missing KEY (or --kind and"
		    " --action, to test a guardrail not stored)");
		return EXIT_USAGE;
	}
	if ((rc = client_call(c, ce->method, cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	if (c->output == CUBECTL_JSON)
		output_json(result);
	else {
		output_object(ce->fields, result);
		cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(result,
		    "hits")) {
			type = cJSON_GetObjectItemCaseSensitive(h, "type");
			count = cJSON_GetObjectItemCaseSensitive(h, "count");
			if (cJSON_IsString(type) && cJSON_IsNumber(count))
				printf("hit          %s x%d\n",
				    type->valuestring, count->valueint);
		}
	}
	cJSON_Delete(result);
	return EXIT_OK;
}
