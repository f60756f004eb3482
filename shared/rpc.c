/* The admin protocol's error table: code, stable name, cubectl exit status. */
#include <stddef.h>

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
