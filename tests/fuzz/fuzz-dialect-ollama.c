/*
 * libFuzzer target for agent/dialect-ollama.c. The first byte picks the
 * client's route and what the rest is: a request body to open, or (after
 * a fixed request) a backend's whole answer, or a stream's events cut at
 * each 0xff. Whatever the bytes: no crash, no leak; a refusal says why;
 * a translated body, an answer, and every stream line are JSON objects.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
api_error_status(enum api_error e)
{
	(void)e;
	abort();
}

static const enum route_kind	routes[] = {
	ROUTE_CHAT, ROUTE_COMPLETIONS, ROUTE_EMBEDDINGS,
	ROUTE_OLLAMA_EMBEDDINGS,
};
static const char *const	requests[] = {
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	"{\"model\":\"m\",\"prompt\":\"hi\",\"system\":\"s\"}",
	"{\"model\":\"m\",\"input\":[\"a\",\"b\"]}",
	"{\"model\":\"m\",\"prompt\":\"a\"}",
};

/* s[0..len) must be one JSON object. */
static void
fuzz_object(const char *s, size_t len)
{
	cJSON	*o = cJSON_ParseWithLength(s, len);

	if (o == NULL || !cJSON_IsObject(o))
		abort();
	cJSON_Delete(o);
}

/* Each line of b: a JSON object ended by "\n". */
static void
fuzz_lines(const struct dialect_buf *b)
{
	const char	*p = b->p, *nl;

	if (b->len == 0)
		return;
	if (b->p[b->len - 1] != '\n' || strlen(b->p) != b->len)
		abort();
	for (; p < b->p + b->len; p = nl + 1) {
		nl = strchr(p, '\n');
		fuzz_object(p, nl - p);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dialect_ops	*ops = &dialect_ollama;
	struct dialect_request		 out;
	struct dialect_call		*c;
	struct dialect_buf		 b;
	const char			*param = NULL, *body;
	const uint8_t			*p, *end, *cut;
	char				 err[256], *a, *piece;
	size_t				 len, n;
	unsigned			 sel, r;

	if (size < 1)
		return 0;
	sel = data[0];
	r = sel % 4;
	data++;
	size--;
	memset(&out, 0, sizeof(out));
	err[0] = '\0';
	body = (sel / 4) % 3 == 0 ? (const char *)data : requests[r];
	len = (sel / 4) % 3 == 0 ? size : strlen(requests[r]);
	c = ops->open(routes[r], body, len, "0123456789abcdef0123456789abcdef",
	    time(NULL), &out, err, sizeof(err), &param);
	if (c == NULL) {
		if (err[0] == '\0' || out.body != NULL)
			abort();
		return 0;
	}
	fuzz_object(out.body, out.len);
	free(out.body);
	switch ((sel / 4) % 3) {
	case 1:
		if ((a = ops->answer(c, (const char *)data, size, &n)) != NULL) {
			fuzz_object(a, n);
			free(a);
		}
		break;
	case 2:
		memset(&b, 0, sizeof(b));
		for (p = data, end = data + size; p < end;) {
			if ((cut = memchr(p, 0xff, end - p)) == NULL)
				cut = end;
			n = cut - p;
			piece = malloc(n + 1);
			memcpy(piece, p, n);
			piece[n] = '\0';
			if (ops->event(c, piece, n, &b) == -1) {
				free(piece);
				break;
			}
			free(piece);
			p = cut < end ? cut + 1 : end;
		}
		ops->end(c, &b);
		ops->stream_error(c, API_UPSTREAM_ERROR, "x", &b);
		fuzz_lines(&b);
		dialect_buf_free(&b);
		break;
	}
	ops->close(c);
	return 0;
}
