/* cubectl domain: how domains read, in a list and alone. */
#include <stddef.h>

#include "cubectl.h"

const struct output_field cmd_domain_columns[] = {
	{ "ID",			"id",			OUTPUT_PLAIN },
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "LOG-CONTENT",	"log_content",		OUTPUT_ONOFF },
	{ "RETENTION-DAYS",	"trace_retention_days",	OUTPUT_PLAIN },
	{ "CREATED",		"created_at",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

const struct output_field cmd_domain_fields[] = {
	{ "id",			"id",			OUTPUT_PLAIN },
	{ "name",		"name",			OUTPUT_PLAIN },
	{ "log content",	"log_content",		OUTPUT_ONOFF },
	{ "retention (days)",	"trace_retention_days",	OUTPUT_PLAIN },
	{ "created",		"created_at",		OUTPUT_PLAIN },
	{ "cors origins",	"cors_origins",		OUTPUT_PLAIN },
	{ "jwt",		"jwt",			OUTPUT_PLAIN },
	{ "require attested",	"require_attested",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};
