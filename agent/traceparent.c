/*
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the
 * traceparent and tracestate a client sends, checked strictly, and the
 * traceparent the agent sends its backend. Pure functions; worker threads
 * call them on the request path, so nothing here allocates.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"

static int
traceparent_lowerhex(const char *s, size_t n, unsigned char *out)
{
	size_t	i;
	int	hi, lo, nonzero = 0;

	for (i = 0; i < n; i++) {
		char	c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	for (i = 0; i < n / 2; i++) {
		hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' :
		    s[2 * i + 1] - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
		nonzero |= out[i];
	}
	return nonzero ? 1 : 0;
}

/*
 * "00-<32 hex>-<16 hex>-<2 hex>", lower case, neither id all zeros;
 * version 00 only (a later version's layout is not ours to guess, and
 * ff is invalid). 0 and the fields filled, or -1: start a new trace.
 */
int
traceparent_parse(const char *v, size_t len, struct trace_context *tc)
{
	unsigned char	 version, flags;
	struct trace_context tmp;

	if (v == NULL || len != TRACEPARENT_LEN || v[2] != '-' ||
	    v[35] != '-' || v[52] != '-')
		return -1;
	if (traceparent_lowerhex(v, 2, &version) == -1 || version != 0)
		return -1;
	if (traceparent_lowerhex(v + 3, 32, tmp.trace_id) != 1 ||
	    traceparent_lowerhex(v + 36, 16, tmp.parent_id) != 1 ||
	    traceparent_lowerhex(v + 53, 2, &flags) == -1)
		return -1;
	memcpy(tc->trace_id, tmp.trace_id, sizeof(tc->trace_id));
	memcpy(tc->parent_id, tmp.parent_id, sizeof(tc->parent_id));
	tc->flags = flags;
	return 0;
}

static int
tracestate_keychar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	    c == '-' || c == '*' || c == '/';
}

/*
 * tracestate's key: lcalpha 0*255(keychar), or tenant@system where the
 * tenant is (lcalpha / DIGIT) 0*240(keychar) and the system lcalpha
 * 0*13(keychar).
 */
static int
tracestate_key_valid(const char *k, size_t n)
{
	const char	*at = memchr(k, '@', n);
	size_t		 i, tenant;

	for (i = 0; i < n; i++)
		if (k + i != at && !tracestate_keychar(k[i]))
			return 0;	/* a second '@' too */
	if (at == NULL)
		return n >= 1 && n <= 256 && k[0] >= 'a' && k[0] <= 'z';
	tenant = (size_t)(at - k);
	return tenant >= 1 && tenant <= 241 && n - tenant - 1 >= 1 &&
	    n - tenant - 1 <= 14 && at[1] >= 'a' && at[1] <= 'z';
}

/* value: 0*255(chr) nblk-chr; chr is 0x20-0x7e but ',' and '='. */
static int
tracestate_value_valid(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > 256 || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ',' || s[i] == '=')
			return 0;
	return 1;
}

/*
 * A tracestate of at most TRACESTATE_MAX bytes and 32 list members, each
 * key=value by the spec's grammar (empty members allowed). 1 or 0.
 */
int
tracestate_valid(const char *v, size_t len)
{
	size_t	i = 0, start, end, eq, members = 0;

	if (v == NULL || len == 0 || len > TRACESTATE_MAX)
		return 0;
	while (i <= len) {
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i++;
		while (start < end && (v[start] == ' ' || v[start] == '\t'))
			start++;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (start == end)
			continue;
		if (++members > 32)
			return 0;
		for (eq = start; eq < end && v[eq] != '='; eq++)
			;
		if (eq == end || !tracestate_key_valid(v + start, eq - start) ||
		    !tracestate_value_valid(v + eq + 1, end - eq - 1))
			return 0;
	}
	return members > 0;
}

void
traceparent_hex(char *out, const unsigned char *b, size_t n)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int
traceparent_unhex(const char *hex, unsigned char *out, size_t n)
{
	if (hex == NULL || strlen(hex) != 2 * n)
		return -1;
	return traceparent_lowerhex(hex, 2 * n, out) == -1 ? -1 : 0;
}

/* "00-<trace id>-<span id>-<flags>" and a NUL. */
void
traceparent_format(char out[TRACEPARENT_LEN + 1],
    const unsigned char trace_id[TRACE_ID_BYTES],
    const unsigned char span_id[SPAN_ID_BYTES], unsigned char flags)
{
	out[0] = out[1] = '0';
	out[2] = '-';
	traceparent_hex(out + 3, trace_id, TRACE_ID_BYTES);
	out[35] = '-';
	traceparent_hex(out + 36, span_id, SPAN_ID_BYTES);
	out[52] = '-';
	traceparent_hex(out + 53, &flags, 1);
}

/* Random ids, never all zeros (W3C: such an id is invalid). */
void
traceparent_random_id(unsigned char *id, size_t n)
{
	size_t	i;

	do {
		id_random(id, n);
		for (i = 0; i < n && id[i] == 0; i++)
			;
	} while (i == n);
}
