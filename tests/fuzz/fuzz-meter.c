/*
 * libFuzzer target for agent/meter.c: backend answers, stream events and
 * Ollama lines, cut at each 0xff, metered with the text kept. Whatever
 * the bytes: no crash, no leak, counts never negative, and the text kept
 * is a C string of at most 64 KiB of whole UTF-8 characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAX_TEXT	(64 * 1024)

int
api_error_status(enum api_error e)
{
	(void)e;
	abort();
}

/* Is s[0..n) well-formed UTF-8 (as jscan's strings are)? */
static int
fuzz_utf8(const char *s, size_t n)
{
	size_t	i = 0, k;

	while (i < n) {
		unsigned char c = s[i];

		k = c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 :
		    c < 0xf5 ? 4 : 0;
		if (k == 0 || i + k > n)
			return 0;
		while (--k > 0)
			if (((unsigned char)s[++i] & 0xc0) != 0x80)
				return 0;
		i++;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meter	 m;
	const uint8_t	*p = data, *end = data + size, *cut;
	size_t		 n, k = 0;
	char		*piece;

	meter_init(&m, 1);
	while (p < end) {
		if ((cut = memchr(p, 0xff, end - p)) == NULL)
			cut = end;
		n = cut - p;
		piece = malloc(n ? n : 1);
		memcpy(piece, p, n);
		switch (k++ % 4) {
		case 0:
			meter_answer(&m, piece, n);
			break;
		case 1:
			meter_event(&m, piece, n);
			break;
		case 2:
			meter_ollama(&m, piece, n, ROUTE_CHAT);
			break;
		default:
			meter_ollama(&m, piece, n, ROUTE_COMPLETIONS);
			break;
		}
		free(piece);
		p = cut < end ? cut + 1 : end;
	}
	if (m.prompt_tokens < 0 || m.completion_tokens < 0 ||
	    m.cached_tokens < 0 || m.cached_tokens > m.prompt_tokens)
		abort();
	if (m.text != NULL && (m.text_len > FUZZ_MAX_TEXT ||
	    strlen(m.text) != m.text_len || m.text_cap > FUZZ_MAX_TEXT + 1 ||
	    !fuzz_utf8(m.text, m.text_len)))
		abort();
	meter_clear(&m);
	return 0;
}
