/* cubectl status: how the agent's status reads. */
#include <stddef.h>

#include "cubectl.h"

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
	{ NULL, NULL, OUTPUT_PLAIN }
};
