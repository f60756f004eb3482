/*
 * The admin protocol's error table (code, stable name, cubectl exit
 * status) and the check both ends make of a line's strings.
 */
#include <stddef.h>
#include <string.h>

#include "rpc.h"

static const struct {
	int		 code;
	const char	*name;
	int		 exit_status;
} rpc_errors[] = {
	{ RPC_PARSE_ERROR,	"parse_error",		EXIT_FAILED },
	{ RPC_INVALID_REQUEST,	"invalid_request",	EXIT_FAILED },
	{ RPC_METHOD_NOT_FOUND,	"method_not_found",	EXIT_FAILED },
	{ RPC_INVALID_PARAMS,	"invalid_params",	EXIT_USAGE },
	{ RPC_INTERNAL_ERROR,	"internal_error",	EXIT_FAILED },
	{ RPC_NOT_FOUND,	"not_found",		EXIT_NOT_FOUND },
	{ RPC_DENIED,		"denied",		EXIT_DENIED },
	{ RPC_CONFLICT,		"conflict",		EXIT_FAILED },
	{ RPC_FAILED,		"failed",		EXIT_FAILED },
};

int
rpc_error_exit_status(int code)
{
	size_t	i;

	for (i = 0; i < sizeof(rpc_errors) / sizeof(rpc_errors[0]); i++)
		if (rpc_errors[i].code == code)
			return rpc_errors[i].exit_status;
	return EXIT_FAILED;
}

const char *
rpc_error_name(int code)
{
	size_t	i;

	for (i = 0; i < sizeof(rpc_errors) / sizeof(rpc_errors[0]); i++)
		if (rpc_errors[i].code == code)
			return rpc_errors[i].name;
	return "error";
}

const char *
rpc_json_find_nul(const char *s, size_t len)
{
	const char	*raw;
	size_t		 i;
	int		 in_string = 0;

	if ((raw = memchr(s, '\0', len)) != NULL)
		return raw;
	for (i = 0; i < len; i++) {
		if (!in_string) {
			in_string = s[i] == '"';
			continue;
		}
		if (s[i] == '"')
			in_string = 0;
		else if (s[i] == '\\') {
			if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
				return s + i;
			i++;	/* the escaped character, whatever it is */
		}
	}
	return NULL;
}
