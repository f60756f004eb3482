/* The JSON-RPC client: one request, one newline-terminated reply, ids matched. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rpc.h"
#include "transport.h"
#include "xmalloc.h"

#define RPC_CLIENT_BUFSZ	(64 * 1024)

struct rpc_client {
	struct transport	*transport;
	int			 timeout_ms;
	int64_t			 next_id;
	char			*buf;		/* received, not yet consumed */
	size_t			 len;
	size_t			 size;
	enum rpc_client_status	 broken;	/* set once unusable */
	char			 broken_err[256];
	rpc_client_notify_cb	 notify;	/* NULL: drop notifications */
	void			*notify_arg;
};

/* Outcomes that are not the agent's own error code. */
static const struct {
	enum rpc_client_status	status;
	int			exit_status;
} rpc_client_exits[] = {
	{ RPC_CLIENT_OK,	EXIT_OK },
	{ RPC_CLIENT_TRANSPORT,	EXIT_UNREACHABLE },
	{ RPC_CLIENT_TIMEOUT,	EXIT_UNREACHABLE },
	{ RPC_CLIENT_PROTOCOL,	EXIT_FAILED },
};

struct rpc_client *
rpc_client_new(struct transport *t, int timeout_ms)
{
	struct rpc_client	*rc;

	rc = xcalloc(1, sizeof(*rc));
	rc->transport = t;
	rc->timeout_ms = timeout_ms;
	rc->next_id = 1;
	rc->size = RPC_CLIENT_BUFSZ;
	rc->buf = xmalloc(rc->size);
	return rc;
}

void
rpc_client_free(struct rpc_client *rc)
{
	if (rc == NULL)
		return;
	transport_free(rc->transport);
	explicit_bzero(rc->buf, rc->size);
	free(rc->buf);
	free(rc);
}

int
rpc_client_exit_status(enum rpc_client_status status, int code)
{
	size_t	i;

	if (status == RPC_CLIENT_REPLY_ERROR)
		return rpc_error_exit_status(code);
	for (i = 0; i < sizeof(rpc_client_exits) / sizeof(rpc_client_exits[0]);
	    i++)
		if (rpc_client_exits[i].status == status)
			return rpc_client_exits[i].exit_status;
	return EXIT_FAILED;
}

/* Mark the client unusable: the stream is out of step or gone. */
static enum rpc_client_status
rpc_client_break(struct rpc_client *rc, enum rpc_client_status status,
    const char *err)
{
	rc->broken = status;
	snprintf(rc->broken_err, sizeof(rc->broken_err), "%s", err);
	return status;
}

/* Grow the buffer without leaving copies of replies in freed memory. */
static void
rpc_client_grow(struct rpc_client *rc)
{
	size_t	 size = rc->size * 2;
	char	*buf;

	if (size > (size_t)RPC_MAX_FRAME + 1)
		size = (size_t)RPC_MAX_FRAME + 1;
	buf = xmalloc(size);
	memcpy(buf, rc->buf, rc->len);
	explicit_bzero(rc->buf, rc->size);
	free(rc->buf);
	rc->buf = buf;
	rc->size = size;
}

/* Wait for a complete line in the buffer; its length goes in *linelen. */
static enum rpc_client_status
rpc_client_read_line(struct rpc_client *rc, int64_t deadline,
    size_t *linelen, char *err, size_t errlen)
{
	size_t	 scanned = 0;
	char	*nl;
	ssize_t	 n;

	for (;;) {
		nl = memchr(rc->buf + scanned, '\n', rc->len - scanned);
		if (nl != NULL) {
			*linelen = nl - rc->buf;
			return RPC_CLIENT_OK;
		}
		scanned = rc->len;
		if (rc->len > RPC_MAX_FRAME) {
			snprintf(err, errlen, "reply longer than %d bytes",
			    RPC_MAX_FRAME);
			return RPC_CLIENT_PROTOCOL;
		}
		if (rc->len == rc->size)
			rpc_client_grow(rc);
		n = transport_read(rc->transport, rc->buf + rc->len,
		    rc->size - rc->len, transport_left(deadline), err, errlen);
		if (n == TRANSPORT_EOF) {
			snprintf(err, errlen, "the agent closed the connection");
			return RPC_CLIENT_TRANSPORT;
		}
		if (n == TRANSPORT_TIMEOUT) {
			snprintf(err, errlen, "no reply from the agent within"
			    " %d ms", rc->timeout_ms);
			return RPC_CLIENT_TIMEOUT;
		}
		if (n < 0)
			return RPC_CLIENT_TRANSPORT;
		rc->len += n;
	}
}

/* Drop the first line (and its newline) from the buffer. */
static void
rpc_client_consume(struct rpc_client *rc, size_t linelen)
{
	size_t	used = linelen + 1;

	memmove(rc->buf, rc->buf + used, rc->len - used);
	explicit_bzero(rc->buf + rc->len - used, used);
	rc->len -= used;
}

/* A line of only white space (an agent may end lines with CRLF). */
static int
rpc_client_blank(const char *line, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (strchr(" \t\r", line[i]) == NULL || line[i] == '\0')
			return 0;
	return 1;
}

/* Send one request line. */
static enum rpc_client_status
rpc_client_send(struct rpc_client *rc, int64_t id, const char *method,
    cJSON *params, int64_t deadline, char *err, size_t errlen)
{
	cJSON	*req;
	char	*line;
	size_t	 len;
	int	 n;

	req = cJSON_CreateObject();
	if (req == NULL) {
		cJSON_Delete(params);
		snprintf(err, errlen, "out of memory");
		return RPC_CLIENT_PROTOCOL;
	}
	cJSON_AddStringToObject(req, "jsonrpc", "2.0");
	cJSON_AddNumberToObject(req, "id", (double)id);
	cJSON_AddStringToObject(req, "method", method);
	if (params != NULL)
		cJSON_AddItemToObject(req, "params", params);
	line = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (line == NULL) {
		snprintf(err, errlen, "cannot encode the request");
		return RPC_CLIENT_PROTOCOL;
	}
	len = strlen(line);
	if (len > RPC_MAX_FRAME) {
		free(line);
		snprintf(err, errlen, "request longer than %d bytes",
		    RPC_MAX_FRAME);
		return RPC_CLIENT_PROTOCOL;
	}
	line = xreallocarray(line, len + 2, 1);
	line[len++] = '\n';
	line[len] = '\0';
	n = transport_write(rc->transport, line, len, transport_left(deadline),
	    err, errlen);
	free(line);
	if (n == TRANSPORT_TIMEOUT) {
		snprintf(err, errlen, "the agent does not read requests");
		return RPC_CLIENT_TIMEOUT;
	}
	if (n != 0)
		return RPC_CLIENT_TRANSPORT;
	return RPC_CLIENT_OK;
}

/*
 * Is this reply ours? Ours when its id is the request's, or null with an
 * error (the agent could not read the request's id). Notifications and
 * replies to earlier, abandoned calls are not.
 */
static int
rpc_client_is_ours(const cJSON *reply, int64_t id)
{
	const cJSON	*rid;

	rid = cJSON_GetObjectItemCaseSensitive(reply, "id");
	if (cJSON_IsNumber(rid))
		return rid->valuedouble == (double)id;
	if (rid == NULL || cJSON_IsNull(rid))
		return cJSON_HasObjectItem(reply, "error") &&
		    !cJSON_HasObjectItem(reply, "method");
	return 0;
}

/* A notification (a method, no id) goes to the callback, if any. */
static void
rpc_client_dispatch(struct rpc_client *rc, const cJSON *msg)
{
	const cJSON	*method, *id;

	method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	if (rc->notify == NULL || !cJSON_IsString(method) ||
	    (id != NULL && !cJSON_IsNull(id)))
		return;
	rc->notify(method->valuestring,
	    cJSON_GetObjectItemCaseSensitive(msg, "params"), rc->notify_arg);
}

/* Parse the first buffered line as an object; NULL (and err) if it is not. */
static cJSON *
rpc_client_parse_line(struct rpc_client *rc, size_t linelen, char *err,
    size_t errlen)
{
	cJSON	*msg;

	/* Our agent never sends one: a string cut short would mislead. */
	if (rpc_json_find_nul(rc->buf, linelen) != NULL) {
		rpc_client_consume(rc, linelen);
		snprintf(err, errlen, "reply holds a NUL character (\\u0000)");
		return NULL;
	}
	msg = cJSON_ParseWithLength(rc->buf, linelen);
	rpc_client_consume(rc, linelen);
	if (msg == NULL) {
		snprintf(err, errlen, "reply is not JSON");
		return NULL;
	}
	if (!cJSON_IsObject(msg)) {
		cJSON_Delete(msg);
		snprintf(err, errlen, "reply is not a JSON object");
		return NULL;
	}
	return msg;
}

/* Take the result or the error out of our reply. */
static enum rpc_client_status
rpc_client_decode(cJSON *reply, cJSON **result, int *code, char *err,
    size_t errlen)
{
	const cJSON	*version, *error, *ecode, *emsg;

	version = cJSON_GetObjectItemCaseSensitive(reply, "jsonrpc");
	if (!cJSON_IsString(version) || strcmp(version->valuestring, "2.0")) {
		snprintf(err, errlen, "reply is not JSON-RPC 2.0");
		return RPC_CLIENT_PROTOCOL;
	}
	error = cJSON_GetObjectItemCaseSensitive(reply, "error");
	if (error != NULL) {
		ecode = cJSON_GetObjectItemCaseSensitive(error, "code");
		emsg = cJSON_GetObjectItemCaseSensitive(error, "message");
		if (!cJSON_IsNumber(ecode) || !cJSON_IsString(emsg)) {
			snprintf(err, errlen, "malformed error in reply");
			return RPC_CLIENT_PROTOCOL;
		}
		*code = ecode->valueint;
		snprintf(err, errlen, "%s", emsg->valuestring);
		return RPC_CLIENT_REPLY_ERROR;
	}
	if (!cJSON_HasObjectItem(reply, "result")) {
		snprintf(err, errlen, "reply has neither result nor error");
		return RPC_CLIENT_PROTOCOL;
	}
	*result = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
	return RPC_CLIENT_OK;
}

enum rpc_client_status
rpc_client_call(struct rpc_client *rc, const char *method, cJSON *params,
    cJSON **result, int *code, char *err, size_t errlen)
{
	enum rpc_client_status	 status;
	int64_t			 id, deadline;
	size_t			 linelen;
	cJSON			*reply;
	char			 why[256];
	int			 unsent;

	*result = NULL;
	*code = 0;
	if (rc->broken != RPC_CLIENT_OK) {
		cJSON_Delete(params);
		snprintf(err, errlen, "%s", rc->broken_err);
		return rc->broken;
	}
	deadline = transport_deadline(rc->timeout_ms);
	id = rc->next_id++;

	/*
	 * A request the agent hung up on may follow its last word to us (a
	 * refusal as we connected, with a null id): read what it sent before
	 * saying the write failed.
	 */
	status = rpc_client_send(rc, id, method, params, deadline, err, errlen);
	if ((unsent = status == RPC_CLIENT_TRANSPORT))
		snprintf(why, sizeof(why), "%s", err);
	else if (status != RPC_CLIENT_OK)
		return rpc_client_break(rc, status, err);

	for (;;) {
		status = rpc_client_read_line(rc, deadline, &linelen, err,
		    errlen);
		if (status != RPC_CLIENT_OK)
			break;
		if (rpc_client_blank(rc->buf, linelen)) {
			rpc_client_consume(rc, linelen);
			continue;
		}
		if ((reply = rpc_client_parse_line(rc, linelen, err,
		    errlen)) == NULL) {
			status = RPC_CLIENT_PROTOCOL;
			break;
		}
		if (rpc_client_is_ours(reply, id))
			break;
		rpc_client_dispatch(rc, reply);
		cJSON_Delete(reply);
	}
	if (status != RPC_CLIENT_OK) {
		if (unsent) {
			snprintf(err, errlen, "%s", why);
			status = RPC_CLIENT_TRANSPORT;
		}
		return rpc_client_break(rc, status, err);
	}
	status = rpc_client_decode(reply, result, code, err, errlen);
	cJSON_Delete(reply);
	if (status == RPC_CLIENT_PROTOCOL)
		return rpc_client_break(rc, status, err);
	/* The agent's answer, on a connection it has closed. */
	if (unsent)
		rpc_client_break(rc, RPC_CLIENT_TRANSPORT, why);
	return status;
}

void
rpc_client_set_notify(struct rpc_client *rc, rpc_client_notify_cb fn,
    void *arg)
{
	rc->notify = fn;
	rc->notify_arg = arg;
}

enum rpc_client_status
rpc_client_poll(struct rpc_client *rc, int timeout_ms, char *err,
    size_t errlen)
{
	enum rpc_client_status	 status;
	int64_t			 deadline;
	size_t			 linelen;
	cJSON			*msg;
	char			*nl;

	if (rc->broken != RPC_CLIENT_OK) {
		snprintf(err, errlen, "%s", rc->broken_err);
		return rc->broken;
	}
	deadline = transport_deadline(timeout_ms);
	for (;;) {
		nl = memchr(rc->buf, '\n', rc->len);
		if (nl == NULL && transport_left(deadline) == 0 &&
		    timeout_ms >= 0)
			return RPC_CLIENT_OK;
		status = rpc_client_read_line(rc, deadline, &linelen, err,
		    errlen);
		if (status == RPC_CLIENT_TIMEOUT)
			return RPC_CLIENT_OK;
		if (status != RPC_CLIENT_OK)
			return rpc_client_break(rc, status, err);
		if (rpc_client_blank(rc->buf, linelen)) {
			rpc_client_consume(rc, linelen);
			continue;
		}
		if ((msg = rpc_client_parse_line(rc, linelen, err,
		    errlen)) == NULL)
			return rpc_client_break(rc, RPC_CLIENT_PROTOCOL, err);
		rpc_client_dispatch(rc, msg);
		cJSON_Delete(msg);
	}
}
