/* libFuzzer target for agent/jscan.c: validate, then walk and splice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_DEPTH	32

/* Walk every array element reachable from span, checking each span. */
static void
fuzz_walk(const char *buf, size_t len, const struct jscan_span *span,
    int depth)
{
	struct jscan_span	 elem, v;
	size_t			 cur = 0, prev;
	char			 s[64];
	ssize_t			 n;

	if (span->start >= span->end || span->end > len)
		abort();
	switch (span->type) {
	case JSCAN_ARRAY:
		if (buf[span->start] != '[' || buf[span->end - 1] != ']')
			abort();
		prev = span->start;
		while (jscan_array_next(buf, span, &cur, &elem)) {
			if (elem.start <= prev || elem.end > span->end - 1)
				abort();
			prev = elem.end - 1;
			if (depth < FUZZ_DEPTH)
				fuzz_walk(buf, len, &elem, depth + 1);
		}
		break;
	case JSCAN_OBJECT:
		if (buf[span->start] != '{' || buf[span->end - 1] != '}')
			abort();
		if (jscan_object_get(buf, span, "a", &v) && depth < FUZZ_DEPTH)
			fuzz_walk(buf, len, &v, depth + 1);
		if (jscan_object_get(buf, span, "", &v) && depth < FUZZ_DEPTH)
			fuzz_walk(buf, len, &v, depth + 1);
		break;
	case JSCAN_STRING:
		if (buf[span->start] != '"' || buf[span->end - 1] != '"')
			abort();
		n = jscan_string(buf, span, s, sizeof s);
		if (n >= 0 && !jscan_string_eq(buf, span, s, n))
			abort();
		if (n >= 0 && n > 0 && jscan_string_eq(buf, span, s, n - 1))
			abort();
		break;
	case JSCAN_NUMBER:
		{
			int64_t	i;

			(void)jscan_int64(buf, span, &i);
		}
		break;
	case JSCAN_TRUE:
		if (span->end - span->start != 4)
			abort();
		break;
	case JSCAN_FALSE:
		if (span->end - span->start != 5)
			abort();
		break;
	case JSCAN_NULL:
		if (span->end - span->start != 4)
			abort();
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jscan_span	 model, a, empty;
	struct jscan_want	 want[] = {
		{ "model", &model },
		{ "a", &a },
		{ "", &empty },
	};
	char			*buf, *out, err[128], q[256];
	size_t			 qlen, n;
	int			 rc;

	/* An exact-size copy, so ASan catches any read beyond len. */
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, len);
	rc = jscan_object(buf, len, FUZZ_DEPTH, want, 3, err, sizeof err);
	if (rc != 0 && rc != -1)
		abort();
	if (rc == -1 && memchr(err, '\0', sizeof err) == NULL)
		abort();

	/* Whatever the bytes, quoting them yields a valid JSON string. */
	qlen = jscan_quote(q, sizeof q, buf, len < 40 ? len : 40);
	if (qlen < sizeof q) {
		memmove(q + 5, q, qlen);
		memcpy(q, "{\"k\":", 5);
		q[qlen + 5] = '}';
		if (jscan_object(q, qlen + 6, 2, NULL, 0, NULL, 0) != 0)
			abort();
	}

	if (rc == 0) {
		if (model.present)
			fuzz_walk(buf, len, &model, 1);
		if (a.present)
			fuzz_walk(buf, len, &a, 1);
		if (empty.present)
			fuzz_walk(buf, len, &empty, 1);

		/* Splice a new model and scan again. */
		if (model.present) {
			qlen = jscan_quote(NULL, 0, "up\"stream\n", 10);
			n = model.start + qlen + (len - model.end);
			if ((out = malloc(n + 1)) == NULL)
				abort();
			memcpy(out, buf, model.start);
			jscan_quote(out + model.start, qlen + 1, "up\"stream\n",
			    10);
			memcpy(out + model.start + qlen, buf + model.end,
			    len - model.end);
			if (jscan_object(out, n, FUZZ_DEPTH, want, 3, err,
			    sizeof err) != 0)
				abort();
			if (!model.present || model.type != JSCAN_STRING ||
			    !jscan_string_eq(out, &model, "up\"stream\n", 10))
				abort();
			free(out);
		}

		/* A valid object stays valid one level down. */
		if ((out = malloc(len + 6)) == NULL)
			abort();
		memcpy(out, "{\"k\":", 5);
		memcpy(out + 5, buf, len);
		out[len + 5] = '}';
		if (jscan_object(out, len + 6, FUZZ_DEPTH + 1, NULL, 0, NULL,
		    0) != 0)
			abort();
		free(out);
	}
	free(buf);
	return 0;
}
