/* cubectl model: how models read, in a list and alone. */
#include <stddef.h>

#include "cubectl.h"

const struct output_field cmd_model_columns[] = {
	{ "KEY",		"key",			OUTPUT_PLAIN },
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "PROVIDER",		"provider",		OUTPUT_PLAIN },
	{ "MODEL-ID",		"model_id",		OUTPUT_PLAIN },
	{ "CATEGORY",		"category",		OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "PRICE-IN",		"pricing.input",	OUTPUT_PLAIN },
	{ "PRICE-OUT",		"pricing.output",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

const struct output_field cmd_model_fields[] = {
	{ "key",		"key",			OUTPUT_PLAIN },
	{ "name",		"name",			OUTPUT_PLAIN },
	{ "model id",		"model_id",		OUTPUT_PLAIN },
	{ "provider",		"provider",		OUTPUT_PLAIN },
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
