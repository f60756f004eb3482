/*
 * libFuzzer target for agent/dialect-responses.c. The first byte picks
 * what the rest is: a client's request, a backend's whole answer, or a
 * backend's stream (one chunk a line, maybe an error in the middle).
 * Whatever the bytes: a request is refused with a message or becomes one
 * strict JSON object; an answer is refused or becomes one; a stream gives
 * whole SSE events of strict JSON, and every call is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "jscan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_ID	"0123456789abcdef0123456789abcdef"

/* api-error.c replies through http.c; nothing here replies. */
void
http_reply(struct http_request *r, int status, const char *ctype,
    const void *body, size_t len, const char *extra)
{
	(void)r;
	(void)status;
	(void)ctype;
	(void)body;
	(void)len;
	(void)extra;
	abort();
}


static const char	fuzz_plain[] = "{\"model\":\"m\",\"input\":\"x\"}";
static const char	fuzz_stream[] = "{\"model\":\"m\",\"input\":\"x\","
	    "\"stream\":true,\"tools\":[{\"type\":\"function\",\"name\":\"f\"}]}";

/* Strict JSON, an object, no key twice. */
static void
fuzz_strict(const char *s, size_t len)
{
	struct jscan_keys	keys;
	int			rc;

	memset(&keys, 0, sizeof(keys));
	rc = jscan_walk(s, len, 1024, &keys, NULL, NULL, NULL, 0);
	jscan_keys_free(&keys);
	if (rc != 0)
		abort();
}

static int
fuzz_event(void *arg, const char *data, size_t len)
{
	(void)arg;
	fuzz_strict(data, len);
	return 0;
}

static struct dialect_call *
fuzz_open(const char *body, size_t len, struct dialect_request *out)
{
	const char	*param;
	char		 err[256];
	struct dialect_call *c;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	c = dialect_responses.open(ROUTE_RESPONSES, body, len, FUZZ_ID,
	    1765000000, out, err, sizeof(err), &param);
	if (c == NULL) {
		if (err[0] == '\0' || out->body != NULL)
			abort();
		return NULL;
	}
	if (out->route != ROUTE_CHAT || out->len != strlen(out->body))
		abort();
	fuzz_strict(out->body, out->len);
	return c;
}

static void
fuzz_stream_lines(const char *buf, size_t len)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	struct dialect_buf	 b;
	const char		*p = buf, *nl, *end = buf + len;

	if ((c = fuzz_open(fuzz_stream, strlen(fuzz_stream), &out)) == NULL)
		abort();
	free(out.body);
	memset(&b, 0, sizeof(b));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl - p == 1 && *p == '!')
			dialect_responses.stream_error(c, API_UPSTREAM_ERROR,
			    "broken", &b);
		else
			(void)dialect_responses.event(c, p, (size_t)(nl - p),
			    &b);
		p = nl + 1;
	}
	dialect_responses.end(c, &b);
	if (b.p == NULL || dialect_events(b.p, b.len, fuzz_event, NULL) != 0)
		abort();
	dialect_buf_free(&b);
	dialect_responses.close(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	char			*buf, *ans;
	size_t			 alen;

	if (len == 0)
		return 0;
	/* A copy of its own size, so that ASan sees any read past it. */
	buf = malloc(len - 1 > 0 ? len - 1 : 1);
	memcpy(buf, data + 1, len - 1);
	switch (data[0] % 3) {
	case 0:
		if ((c = fuzz_open(buf, len - 1, &out)) != NULL) {
			free(out.body);
			dialect_responses.close(c);
		}
		break;
	case 1:
		if ((c = fuzz_open(fuzz_plain, strlen(fuzz_plain), &out)) ==
		    NULL)
			abort();
		free(out.body);
		if ((ans = dialect_responses.answer(c, buf, len - 1, &alen)) !=
		    NULL) {
			fuzz_strict(ans, alen);
			free(ans);
		}
		dialect_responses.close(c);
		break;
	default:
		fuzz_stream_lines(buf, len - 1);
		break;
	}
	free(buf);
	return 0;
}
