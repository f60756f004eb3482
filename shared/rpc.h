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
/*
 * Where a JSON text holds a NUL character: a raw 0 byte, or a \u0000
 * escape inside a string or key (an escaped backslash before "u0000" is
 * not one). cJSON ends its strings there, so "ev\u0000il" would become
 * "ev": both ends refuse such text instead. NULL when there is none.
 */
const char	*rpc_json_find_nul(const char *text, size_t len);

/*
 * rpc-client.c: the calling side over a connected transport. One call at
 * a time; each sends a request with the next id and waits for the reply
 * with that id (skipping notifications and stale replies), reading at most
 * RPC_MAX_FRAME bytes a line.
 */
struct transport;
struct cJSON;
struct rpc_client;

enum rpc_client_status {
	RPC_CLIENT_OK = 0,
	RPC_CLIENT_REPLY_ERROR,	/* the agent answered with an error */
	RPC_CLIENT_TRANSPORT,	/* the connection failed or was closed */
	RPC_CLIENT_TIMEOUT,	/* no reply in time */
	RPC_CLIENT_PROTOCOL,	/* the reply was not JSON-RPC, or too long */
};

#define RPC_CLIENT_TIMEOUT_MS	30000

/*
 * A client over t, which must be connected; the client owns t from now on
 * and frees it with itself. timeout_ms bounds each call (< 0: no limit).
 * Caller owns the result; free with rpc_client_free().
 */
struct rpc_client	*rpc_client_new(struct transport *t, int timeout_ms);
/* rpc_client_free(NULL) is a no-op. Wipes buffered replies. */
void			 rpc_client_free(struct rpc_client *);

/*
 * Call method with params (an object or array, consumed; NULL for none).
 * On RPC_CLIENT_OK *result is the reply's result (caller frees it with
 * cJSON_Delete). On RPC_CLIENT_REPLY_ERROR *code is the agent's error code
 * and err its message; on the other statuses err says what went wrong and
 * the client is unusable from then on.
 */
enum rpc_client_status	 rpc_client_call(struct rpc_client *,
			    const char *method, struct cJSON *params,
			    struct cJSON **result, int *code, char *err,
			    size_t errlen);

/*
 * Notifications (a method and no id, such as logs.tail's "logs.trace")
 * that arrive while a call waits for its reply, or that rpc_client_poll
 * reads, go to fn with their method and params (borrowed for the call;
 * NULL when absent). Without a callback they are dropped.
 */
typedef void	(*rpc_client_notify_cb)(const char *method,
		    const struct cJSON *params, void *arg);
void			 rpc_client_set_notify(struct rpc_client *,
			    rpc_client_notify_cb fn, void *arg);
/*
 * Hand whatever notifications arrive within timeout_ms to the callback.
 * RPC_CLIENT_OK when the time ran out (with or without any); another
 * status, with err, when the connection failed.
 */
enum rpc_client_status	 rpc_client_poll(struct rpc_client *, int timeout_ms,
			    char *err, size_t errlen);

/* cubectl's exit status for a call's outcome (EXIT_UNREACHABLE for I/O). */
int			 rpc_client_exit_status(enum rpc_client_status, int code);

#endif
