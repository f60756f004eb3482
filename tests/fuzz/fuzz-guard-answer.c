/*
 * libFuzzer target for agent/guard-answer.c: an answer's SSE events,
 * arbitrary bytes cut at each 0xff, through a redacting and a blocking
 * output guardrail. No crash, no leak, nothing after the end of a
 * blocked stream, and every event it writes ends with a blank line.
 * The whole input as a buffered answer too, OpenAI's and Ollama's: what
 * they rewrite is still one strict JSON object; and as Ollama's stream
 * lines, cut at each 0xff too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "guard.h"
#include "jscan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct guard	*fuzz_guards[2];
static const struct guard *fuzz_gp[2];

static void
fuzz_init(void)
{
	static const char *const patterns[] = { "BLOCK-[0-9]+" };
	struct guard_spec	 specs[2] = {
		{ .key = "pii", .kind = GUARD_PII, .action = GUARD_REDACT },
		{ .key = "re", .kind = GUARD_REGEX, .action = GUARD_BLOCK,
		  .patterns = patterns, .npatterns = 1 },
	};
	char			 err[256];
	size_t			 i;

	for (i = 0; i < 2; i++) {
		if ((fuzz_guards[i] = guard_new(&specs[i], err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "guard_new: %s\n", err);
			abort();
		}
		fuzz_gp[i] = fuzz_guards[i];
	}
}

static void
fuzz_check(const char *out, size_t len)
{
	if (len > 0 && (len < 2 || out[len - 1] != '\n' ||
	    out[len - 2] != '\n'))
		abort();
}

/* A buffered answer's verdict and rewrite: strict JSON when there is one. */
static void
fuzz_rewrite(enum guard_result res, char *out, size_t outlen)
{
	struct jscan_keys	keys;

	if ((res == GUARD_PASS || res == GUARD_FAILED) != (out == NULL))
		abort();
	if (out == NULL)
		return;
	memset(&keys, 0, sizeof(keys));
	if (jscan_object_strict(out, outlen, 64, NULL, 0, &keys, NULL, 0) != 0)
		abort();
	jscan_keys_free(&keys);
	free(out);
}

/* The whole input as OpenAI's answer, then as Ollama's. */
static void
fuzz_body(const struct guard_list *list, const uint8_t *data, size_t size)
{
	struct guard_report	 r;
	enum route_kind		 route;
	enum guard_result	 res;
	char			*out;
	size_t			 outlen;

	route = size > 0 && data[0] & 2 ? ROUTE_COMPLETIONS : ROUTE_CHAT;
	memset(&r, 0, sizeof(r));
	res = guard_answer_body(list, route, (const char *)data, size, &out,
	    &outlen, &r);
	fuzz_rewrite(res, out, outlen);
	res = guard_ollama_body(list, route, (const char *)data, size, &out,
	    &outlen, &r);
	fuzz_rewrite(res, out, outlen);
}

/* The next piece of the input, up to a 0xff or its end; NULL at the end. */
static const uint8_t *
fuzz_piece(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t	*start = *p, *cut;

	if (start >= end)
		return NULL;
	if ((cut = memchr(start, 0xff, end - start)) == NULL)
		cut = end;
	*n = cut - start;
	*p = cut < end ? cut + 1 : end;
	return start;
}

/*
 * The input cut at each 0xff as an Ollama stream's lines: nothing after
 * a blocked end, and every line it writes ends with a newline.
 */
static void
fuzz_lines(const struct guard_list *list, const uint8_t *data, size_t size)
{
	struct guard_report	 r;
	struct guard_ollama	*go;
	const uint8_t		*p = data, *piece;
	const char		*out;
	size_t			 outlen, n;
	char			*line;
	int			 blocked = 0;

	memset(&r, 0, sizeof(r));
	go = guard_ollama_new(list, &r, size > 0 && data[0] & 4 ?
	    ROUTE_COMPLETIONS : ROUTE_CHAT);
	while ((piece = fuzz_piece(&p, data + size, &n)) != NULL) {
		if ((line = malloc(n + 1)) == NULL)
			abort();
		memcpy(line, piece, n);
		line[n] = '\n';
		if (guard_ollama_line(go, line, n + 1, &out, &outlen) ==
		    GUARD_BLOCKED) {
			if (blocked && outlen != 0)
				abort();
			blocked = 1;
		}
		if (outlen > 0 && out[outlen - 1] != '\n')
			abort();
		free(line);
	}
	if (guard_ollama_finish(go, &out, &outlen) != GUARD_BLOCKED &&
	    outlen > 0 && out[outlen - 1] != '\n')
		abort();
	guard_ollama_free(go);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guard_list	 list = { fuzz_gp, 2 };
	struct guard_report	 r;
	struct guard_answer	*ga;
	const uint8_t		*p = data, *piece;
	const char		*out;
	size_t			 outlen, n;
	char			*ev;
	int			 blocked = 0;

	if (fuzz_guards[0] == NULL)
		fuzz_init();
	memset(&r, 0, sizeof(r));
	ga = guard_answer_new(&list, &r, size > 0 && data[0] & 1 ?
	    ROUTE_COMPLETIONS : ROUTE_CHAT);
	while ((piece = fuzz_piece(&p, data + size, &n)) != NULL) {
		if ((ev = malloc(n + 8)) == NULL)
			abort();
		memcpy(ev, "data: ", 6);
		memcpy(ev + 6, piece, n);
		memcpy(ev + 6 + n, "\n\n", 2);
		if (guard_answer_event(ga, ev, n + 8, &out, &outlen) ==
		    GUARD_BLOCKED) {
			if (blocked && outlen != 0)
				abort();
			blocked = 1;
		}
		fuzz_check(out, outlen);
		free(ev);
	}
	if (guard_answer_finish(ga, &out, &outlen) != GUARD_BLOCKED)
		fuzz_check(out, outlen);
	guard_answer_free(ga);
	fuzz_lines(&list, data, size);
	fuzz_body(&list, data, size);
	return 0;
}
