/* Placeholder until the responses translator lands: refuses every request. */
#include <stdio.h>
#include <time.h>

#include "agent.h"

static struct dialect_call *
dialect_responses_open(enum route_kind route, const char *body, size_t len, const char *id,
    time_t now, struct dialect_request *out, char *err, size_t errlen,
    const char **param)
{
	(void)route; (void)body; (void)len; (void)id; (void)now; (void)out;
	*param = NULL;
	snprintf(err, errlen, "this route is not served yet");
	return NULL;
}

static size_t
dialect_responses_error_body(char *buf, size_t len, enum api_error e, const char *param,
    const char *message)
{
	return api_error_body(buf, len, e, param, message);
}

const struct dialect_ops dialect_responses = {
	.name = "responses",
	.open = dialect_responses_open,
	.error_body = dialect_responses_error_body,
	.stream_type = "text/event-stream",
};
