/*
 * libFuzzer target for agent/dialect-anthropic.c. The first byte picks
 * what the rest is: a client's request (messages or count_tokens), a
 * backend's answer, or a backend's stream (chunks split at newlines).
 * Whatever the bytes: a request is refused with a message or becomes one
 * valid JSON object; an answer is NULL or valid JSON; a stream gives
 * whole SSE events, each an "event:" line and valid JSON data of that
 * type; error bodies are valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define REQ_ID	"0123456789abcdef0123456789abcdef"
#define STREAM_REQ	"{\"model\":\"m\",\"max_tokens\":9,\"stream\":true," \
	"\"stop_sequences\":[\"END\"],\"messages\":[{\"role\":\"user\"," \
	"\"content\":\"hi\"}]}"

static void
fuzz_json(const char *s, size_t len)
{
	cJSON	*o;

	if ((o = cJSON_ParseWithLength(s, len)) == NULL || !cJSON_IsObject(o))
		abort();
	cJSON_Delete(o);
}

/* Whole events: "event: T\ndata: JSON\n\n", the data's type T. */
static void
fuzz_events(const struct dialect_buf *b)
{
	const char	*p = b->p != NULL ? b->p : "", *nl, *end;
	const cJSON	*t;
	cJSON		*o;

	while (*p != '\0') {
		if (strncmp(p, "event: ", 7) != 0 ||
		    (nl = strchr(p, '\n')) == NULL ||
		    strncmp(nl + 1, "data: ", 6) != 0 ||
		    (end = strstr(nl + 1, "\n\n")) == NULL)
			abort();
		o = cJSON_ParseWithLength(nl + 7, (size_t)(end - nl - 7));
		t = cJSON_GetObjectItemCaseSensitive(o, "type");
		if (!cJSON_IsString(t) ||
		    strlen(t->valuestring) != (size_t)(nl - p - 7) ||
		    strncmp(t->valuestring, p + 7, (size_t)(nl - p - 7)) != 0)
			abort();
		cJSON_Delete(o);
		p = end + 2;
	}
}

static struct dialect_call *
fuzz_open(enum route_kind route, const char *body, size_t len)
{
	const struct dialect_ops	*ops = &dialect_anthropic;
	struct dialect_request		 out;
	struct dialect_call		*c;
	const char			*param;
	char				 err[256];

	err[0] = '\0';
	c = ops->open(route, body, len, REQ_ID, 0, &out, err, sizeof(err),
	    &param);
	if (c == NULL) {
		if (err[0] == '\0' || out.body != NULL)
			abort();
		return NULL;
	}
	if (out.route != ROUTE_CHAT || out.len != strlen(out.body))
		abort();
	fuzz_json(out.body, out.len);
	free(out.body);
	return c;
}

static void
fuzz_stream(const char *data, size_t len)
{
	const struct dialect_ops	*ops = &dialect_anthropic;
	struct dialect_buf		 b = { NULL, 0, 0 };
	struct dialect_call		*c;
	const char			*nl, *end = data + len;

	if ((c = fuzz_open(ROUTE_MESSAGES, STREAM_REQ,
	    strlen(STREAM_REQ))) == NULL)
		abort();
	while (data < end) {
		if ((nl = memchr(data, '\n', (size_t)(end - data))) == NULL)
			nl = end;
		if (ops->event(c, data, (size_t)(nl - data), &b) == -1) {
			ops->stream_error(c, API_UPSTREAM_ERROR, data, &b);
			break;
		}
		data = nl + 1;
	}
	ops->end(c, &b);
	fuzz_events(&b);
	dialect_buf_free(&b);
	ops->close(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dialect_ops	*ops = &dialect_anthropic;
	struct dialect_call		*c;
	char				*s, *a, err[512];
	size_t				 n;

	if (size < 1)
		return 0;
	/* NUL-terminated, for the parts that read C strings. */
	if ((s = malloc(size)) == NULL)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
	case 1:
		c = fuzz_open(data[0] % 4 == 0 ? ROUTE_MESSAGES :
		    ROUTE_COUNT_TOKENS, s, size - 1);
		if (c != NULL)
			ops->close(c);
		break;
	case 2:
		if ((c = fuzz_open(ROUTE_MESSAGES, STREAM_REQ,
		    strlen(STREAM_REQ))) == NULL)
			abort();
		if ((a = ops->answer(c, s, size - 1, &n)) != NULL) {
			if (n != strlen(a))
				abort();
			fuzz_json(a, n);
			free(a);
		}
		ops->close(c);
		break;
	case 3:
		fuzz_stream(s, size - 1);
		break;
	}
	n = ops->error_body(err, sizeof(err), (enum api_error)(data[0] % 15),
	    data[0] & 0x80 ? "messages" : NULL, s);
	if (n != strlen(err))
		abort();
	fuzz_json(err, n);
	free(s);
	return 0;
}
