/*
 * libFuzzer target for agent/traceparent.c, the W3C traceparent and
 * tracestate checks a client's headers go through on the request path:
 * whatever the bytes, a traceparent is taken only as 55 characters that
 * format back to themselves with the same ids, and a tracestate passed
 * on is at most TRACESTATE_MAX bytes of visible ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_context	tc;
	char			out[TRACEPARENT_LEN + 1];
	size_t			i;

	if (traceparent_parse((const char *)data, size, &tc) == 0) {
		traceparent_format(out, tc.trace_id, tc.parent_id, tc.flags);
		if (size != TRACEPARENT_LEN || memcmp(out, data, size) != 0)
			abort();
	}
	if (tracestate_valid((const char *)data, size)) {
		if (size > TRACESTATE_MAX)
			abort();
		for (i = 0; i < size; i++)
			if ((data[i] < 0x20 || data[i] > 0x7e) && data[i] != '\t')
				abort();
	}
	return 0;
}
