/*
 * cubectl's connection to the agent: which socket, connected on the first
 * call (so --help and usage errors never need an agent), and every call's
 * error turned into a message and an exit status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "rpc.h"
#include "transport.h"
#include "xmalloc.h"

/* What to suggest when the agent cannot be reached, per transport. */
static const struct {
	const char		*transport;
	enum transport_status	 status;
	const char		*hint;
} client_hints[] = {
	{ "unix", TRANSPORT_MISSING,	" (is cube-agent running?)" },
	{ "unix", TRANSPORT_REFUSED,	" (is cube-agent running? the socket may"
					" be left from an earlier run)" },
	{ "unix", TRANSPORT_DENIED,	" (is your user in the socket's group?)" },
	{ "ssh",  TRANSPORT_MISSING,	": is cube-agent running there, on that"
					" socket (-s), and may the ssh user"
					" use it?" },
};

/* How a failed call reads, when it is not the agent's own error. */
static const struct {
	enum rpc_client_status	 status;
	const char		*prefix;
} client_failures[] = {
	{ RPC_CLIENT_TRANSPORT,	"cannot reach the agent" },
	{ RPC_CLIENT_TIMEOUT,	"cannot reach the agent" },
	{ RPC_CLIENT_PROTOCOL,	"bad reply from the agent" },
};

/* An environment variable, or NULL when unset or empty. */
static const char *
client_env(const char *name)
{
	const char	*value = getenv(name);

	return value != NULL && *value != '\0' ? value : NULL;
}

void
client_init(struct cubectl *c)
{
	memset(c, 0, sizeof(*c));
	c->output = CUBECTL_TABLE;
	c->timeout_ms = RPC_CLIENT_TIMEOUT_MS;
	c->socket = client_env("CUBE_SOCKET");
}

/*
 * Take the global options (-s, -F, -i, -o) found in a. The hosts (-H,
 * --hosts-file, $CUBE_HOST) are fleet_hosts()'s.
 */
void
client_apply_globals(struct cubectl *c, const struct args *a)
{
	const struct args_value	*v;

	if ((v = args_get(a, "-s")) != NULL)
		c->socket = v->string;
	if ((v = args_get(a, "-F")) != NULL)
		c->ssh_config = v->string;
	if ((v = args_get(a, "-i")) != NULL)
		c->identity = v->string;
	if ((v = args_get(a, "-o")) != NULL)
		c->output = strcmp(v->string, "json") == 0 ? CUBECTL_JSON :
		    CUBECTL_TABLE;
}

/*
 * Where the agent is, for messages: "at SOCKET" locally, "on HOST" over
 * SSH. The socket defaults to this user's (locally) or a system agent's
 * (over SSH, where the remote user's runtime directory is unknown).
 */
static void
client_locate(struct cubectl *c)
{
	if (c->socket == NULL) {
		if (c->host != NULL)
			c->socket = TRANSPORT_SSH_DEFAULT_PATH;
		else {
			c->socket_default = transport_unix_client_path();
			c->socket = c->socket_default;
		}
	}
	free(c->where);
	if (c->host != NULL)
		xasprintf(&c->where, "on %s (%s)", c->host, c->socket);
	else
		xasprintf(&c->where, "at %s", c->socket);
}

/* Connect to the agent; an exit status (EXIT_OK, _DENIED, _UNREACHABLE). */
static int
client_connect(struct cubectl *c)
{
	struct transport_address	 addr;
	struct transport		*t;
	const char			*kind, *hint = "";
	char				 err[1024];
	size_t				 i;

	client_locate(c);
	kind = c->host != NULL ? "ssh" : "unix";
	memset(&addr, 0, sizeof(addr));
	addr.path = c->socket;
	addr.host = c->host;
	addr.ssh_config = c->ssh_config;
	addr.identity = c->identity;
	if ((t = transport_new(kind)) == NULL) {
		output_error("no %s transport", kind);
		return EXIT_UNREACHABLE;
	}
	if (transport_connect(t, &addr, err, sizeof(err)) == -1) {
		for (i = 0; i < sizeof(client_hints) / sizeof(client_hints[0]);
		    i++)
			if (strcmp(client_hints[i].transport, kind) == 0 &&
			    client_hints[i].status == t->status)
				hint = client_hints[i].hint;
		output_error("cannot reach the agent %s: %s%s", c->where, err,
		    hint);
		i = t->status == TRANSPORT_DENIED ? EXIT_DENIED :
		    EXIT_UNREACHABLE;
		transport_free(t);
		return (int)i;
	}
	c->rpc = rpc_client_new(t, c->timeout_ms);
	return EXIT_OK;
}

/* Connect now, unless connected; an exit status, the error printed. */
int
client_open(struct cubectl *c)
{
	return c->rpc != NULL ? EXIT_OK : client_connect(c);
}

/*
 * Call method with params (consumed). Returns EXIT_OK with *result set
 * (caller frees it), or the exit status after printing the error.
 */
int
client_call(struct cubectl *c, const char *method, cJSON *params,
    cJSON **result)
{
	enum rpc_client_status	 status;
	const char		*prefix = NULL;
	char			 err[1024];
	int			 code, rc;
	size_t			 i;

	*result = NULL;
	if ((rc = client_open(c)) != EXIT_OK) {
		cJSON_Delete(params);
		return rc;
	}
	status = rpc_client_call(c->rpc, method, params, result, &code, err,
	    sizeof(err));
	if (status == RPC_CLIENT_OK)
		return EXIT_OK;
	for (i = 0; i < sizeof(client_failures) / sizeof(client_failures[0]);
	    i++)
		if (client_failures[i].status == status)
			prefix = client_failures[i].prefix;
	if (prefix != NULL)
		output_error("%s %s: %s", prefix, c->where, err);
	else
		output_error("%s", err);	/* the agent's own words */
	return rpc_client_exit_status(status, code);
}

void
client_free(struct cubectl *c)
{
	rpc_client_free(c->rpc);
	c->rpc = NULL;
	free(c->socket_default);
	c->socket_default = NULL;
	free(c->where);
	c->where = NULL;
	free(c->seal_key);
	c->seal_key = NULL;
	cJSON_Delete(c->document);
	c->document = NULL;
}
