/*
 * The admin protocol: JSON-RPC 2.0, one JSON object per line, on the
 * agent's unix socket or an SSH channel to it. This header is the part
 * both ends share: error codes, their names and cubectl exit statuses,
 * frame limits. docs/admin-api.md lists the methods.
 */
#ifndef CUBE_RPC_H
#define CUBE_RPC_H

#include <stddef.h>

#define RPC_MAX_FRAME		(4 * 1024 * 1024)	/* bytes per line */
#define RPC_MAX_DEPTH		32			/* JSON nesting */

/* JSON-RPC's own codes, then Cube's (-32000..-32099 is for servers). */
#define RPC_PARSE_ERROR		-32700
#define RPC_INVALID_REQUEST	-32600
#define RPC_METHOD_NOT_FOUND	-32601
#define RPC_INVALID_PARAMS	-32602
#define RPC_INTERNAL_ERROR	-32603
#define RPC_NOT_FOUND		-32001	/* no such domain, model, ... */
#define RPC_DENIED		-32002	/* peer not allowed */
#define RPC_CONFLICT		-32003	/* already exists, still in use */
#define RPC_FAILED		-32004	/* a check or an upstream call failed */

/* cubectl's exit statuses (DESIGN.md). */
#define EXIT_OK			0
#define EXIT_FAILED		1
#define EXIT_USAGE		2
#define EXIT_NOT_FOUND		3
#define EXIT_DENIED		4
#define EXIT_UNREACHABLE	5

/* The exit status cubectl uses for an error code. */
int		 rpc_error_exit_status(int code);
/* A short stable name for an error code ("not_found"), for -o json. */
const char	*rpc_error_name(int code);

#endif
