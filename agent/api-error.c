/* The inference API's errors: one table of status, OpenAI type and code. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "jscan.h"

static const struct {
	int		 status;
	const char	*type;
	const char	*code;
} api_errors[] = {
	[API_INVALID_REQUEST] =	{ 400, "invalid_request_error", "invalid_request" },
	[API_INVALID_API_KEY] =	{ 401, "invalid_request_error", "invalid_api_key" },
	[API_DOMAIN_NOT_FOUND] = { 404, "invalid_request_error", "domain_not_found" },
	[API_MODEL_NOT_FOUND] =	{ 404, "invalid_request_error", "model_not_found" },
	[API_MODEL_INACTIVE] =	{ 403, "invalid_request_error", "model_inactive" },
	[API_GUARDRAIL_VIOLATION] = { 400, "invalid_request_error",
	    "guardrail_violation" },
	[API_REQUEST_TOO_LARGE] = { 413, "invalid_request_error",
	    "request_too_large" },
	[API_RATE_LIMIT_EXCEEDED] = { 429, "rate_limit_error",
	    "rate_limit_exceeded" },
	[API_BUDGET_EXCEEDED] =	{ 429, "rate_limit_error", "budget_exceeded" },
	[API_UPSTREAM_ERROR] =	{ 502, "api_error", "upstream_error" },
	[API_UPSTREAM_TIMEOUT] = { 504, "api_error", "upstream_timeout" },
	[API_NOT_FOUND] =	{ 404, "invalid_request_error", "not_found" },
	[API_METHOD_NOT_ALLOWED] = { 405, "invalid_request_error",
	    "method_not_allowed" },
	[API_HEADERS_TOO_LARGE] = { 431, "invalid_request_error",
	    "request_too_large" },
	[API_UNAVAILABLE] =	{ 503, "api_error", "unavailable" },
	[API_LIMITS_UNAVAILABLE] = { 503, "api_error", "limits_unavailable" },
	[API_ATTESTATION_REQUIRED] = { 503, "api_error",
	    "attestation_required" },
};

int
api_error_status(enum api_error e)
{
	return api_errors[e].status;
}

const char *
api_error_code(enum api_error e)
{
	return api_errors[e].code;
}

const char *
api_error_type(enum api_error e)
{
	return api_errors[e].type;
}

size_t
api_error_body(char *buf, size_t len, enum api_error e, const char *param,
    const char *message)
{
	char	 msg[1024], par[256];
	size_t	 n;
	int	 rc;

	/* Bounded so that even all-escaped input fits the quoted buffers. */
	jscan_quote(msg, sizeof(msg), message,
	    strnlen(message, (sizeof(msg) - 3) / 6));
	if (param != NULL)
		jscan_quote(par, sizeof(par), param,
		    strnlen(param, (sizeof(par) - 3) / 6));
	rc = snprintf(buf, len, "{\"error\":{\"message\":%s,\"type\":\"%s\","
	    "\"param\":%s,\"code\":\"%s\"}}", msg, api_errors[e].type,
	    param != NULL ? par : "null", api_errors[e].code);
	n = rc < 0 ? 0 : (size_t)rc;
	return n >= len ? len - 1 : n;
}

size_t
api_error_http_body(char *buf, size_t len, int status, const char *message)
{
	enum api_error	e;

	switch (status) {
	case 413:
		e = API_REQUEST_TOO_LARGE;
		break;
	case 431:
		e = API_HEADERS_TOO_LARGE;
		break;
	default:
		e = API_INVALID_REQUEST;
		break;
	}
	return api_error_body(buf, len, e, NULL, message);
}

void
api_error_reply(struct http_request *r, enum api_error e, const char *param,
    const char *fmt, ...)
{
	char	 message[512], body[2048];
	size_t	 len;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	len = api_error_body(body, sizeof(body), e, param, message);
	http_reply(r, api_errors[e].status, "application/json", body, len,
	    e == API_INVALID_API_KEY ?
	    "WWW-Authenticate: Bearer realm=\"cube\"\r\n" : NULL);
}
