/* cubectl audit: who changed what, as a table. */
#include <stddef.h>

#include "cubectl.h"

const struct output_field cmd_audit_columns[] = {
	{ "TIME",		"at",			OUTPUT_PLAIN },
	{ "USER",		"user",			OUTPUT_PLAIN },
	{ "METHOD",		"method",		OUTPUT_PLAIN },
	{ "DOMAIN",		"domain",		OUTPUT_PLAIN },
	{ "TARGET",		"target",		OUTPUT_PLAIN },
	{ "CHANGES",		"summary",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};
