/*
 * Which of a backend's response headers may reach a client, and in what
 * form: a backend is untrusted input, so nothing of its head is relayed
 * unchecked. Pure functions on one header line; worker threads call them
 * from upstream.c's header callback.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "agent.h"

/* RFC 9110 5.6.2: tchar. */
static int
upstream_header_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/*
 * Split "Name: value\r\n" into its name and its value without the line
 * end and the optional whitespace around it. Returns 0, or -1 when the
 * line is not a header field (no colon, or not a token before it).
 */
static int
upstream_header_split(const char *line, size_t len, size_t *name_len,
    const char **value, size_t *value_len)
{
	size_t	i, end;

	for (i = 0; i < len && upstream_header_tchar(line[i]); i++)
		;
	if (i == 0 || i == len || line[i] != ':')
		return -1;
	*name_len = i;
	end = len;
	if (end > 0 && line[end - 1] == '\n')
		end--;
	if (end > 0 && line[end - 1] == '\r')
		end--;
	for (i++; i < end && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	*value = line + i;
	*value_len = end - i;
	return 0;
}

static int
upstream_header_is(const char *line, size_t name_len, const char *name)
{
	return strlen(name) == name_len &&
	    strncasecmp(line, name, name_len) == 0;
}

/* A token at s[*i..); advances *i past it. 0 when there is none. */
static int
upstream_header_token(const char *s, size_t len, size_t *i)
{
	size_t	start = *i;

	while (*i < len && upstream_header_tchar(s[*i]))
		(*i)++;
	return *i > start;
}

/* A quoted-string at s[*i..) of visible ASCII and spaces (no obs-text). */
static int
upstream_header_quoted(const char *s, size_t len, size_t *i)
{
	unsigned char	ch;

	if (*i >= len || s[*i] != '"')
		return 0;
	for ((*i)++; *i < len; (*i)++) {
		ch = s[*i];
		if (ch == '"') {
			(*i)++;
			return 1;
		}
		if (ch == '\\') {
			if (++(*i) == len)
				return 0;
			ch = s[*i];
		}
		if (ch < 0x20 || ch > 0x7e)
			return 0;
	}
	return 0;
}

static void
upstream_header_spaces(const char *s, size_t len, size_t *i)
{
	while (*i < len && s[*i] == ' ')
		(*i)++;
}

/*
 * RFC 9110 8.3.1: type "/" subtype *( OWS ";" OWS [ name "=" value ] ),
 * with spaces for OWS. Anything else (a control byte, a tab, a byte
 * above 0x7e, a quote left open) makes the whole value invalid.
 */
static int
upstream_header_media_valid(const char *s, size_t len)
{
	size_t	i = 0;

	if (!upstream_header_token(s, len, &i) || i == len || s[i++] != '/' ||
	    !upstream_header_token(s, len, &i))
		return 0;
	for (;;) {
		upstream_header_spaces(s, len, &i);
		if (i == len)
			return 1;
		if (s[i++] != ';')
			return 0;
		upstream_header_spaces(s, len, &i);
		if (i == len || s[i] == ';')
			continue;
		if (!upstream_header_token(s, len, &i) || i == len ||
		    s[i++] != '=')
			return 0;
		if (!upstream_header_token(s, len, &i) &&
		    !upstream_header_quoted(s, len, &i))
			return 0;
	}
}

int
upstream_header_media_type(const char *line, size_t len,
    char out[UPSTREAM_MEDIA_TYPE_MAX + 1])
{
	const char	*v;
	size_t		 n, vlen;

	if (upstream_header_split(line, len, &n, &v, &vlen) == -1 ||
	    !upstream_header_is(line, n, "content-type") || vlen == 0 ||
	    vlen > UPSTREAM_MEDIA_TYPE_MAX ||
	    !upstream_header_media_valid(v, vlen))
		return 0;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return 1;
}

/* The rate-limit headers SDKs back off by (OpenAI's and the RFC's). */
static int
upstream_header_wanted(const char *name, size_t len)
{
	static const char	prefix[] = "x-ratelimit-";

	if (upstream_header_is(name, len, "retry-after") ||
	    upstream_header_is(name, len, "retry-after-ms"))
		return 1;
	return len > sizeof(prefix) - 1 &&
	    strncasecmp(name, prefix, sizeof(prefix) - 1) == 0;
}

int
upstream_header_relayed(const char *line, size_t len,
    struct upstream_header *h)
{
	const char	*v;
	size_t		 i, n, vlen;

	if (upstream_header_split(line, len, &n, &v, &vlen) == -1 ||
	    n > UPSTREAM_RELAY_NAME_MAX || !upstream_header_wanted(line, n) ||
	    vlen == 0 || vlen > UPSTREAM_RELAY_VALUE_MAX)
		return 0;
	for (i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return 0;
	for (i = 0; i < n; i++) {
		h->name[i] = line[i];
		if (h->name[i] >= 'A' && h->name[i] <= 'Z')
			h->name[i] += 'a' - 'A';
	}
	h->name[n] = '\0';
	memcpy(h->value, v, vlen);
	h->value[vlen] = '\0';
	return 1;
}

int
upstream_header_coding(const char *line, size_t len, char *out,
    size_t outlen)
{
	const char	*v;
	size_t		 i, n, vlen, o = 0;
	char		 ch;

	if (outlen == 0 || upstream_header_split(line, len, &n, &v,
	    &vlen) == -1 || !upstream_header_is(line, n, "content-encoding"))
		return 0;
	/* Only names go in the result: a log line cannot be forged. */
	for (i = 0; i < vlen && o + 1 < outlen; i++) {
		ch = v[i];
		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		if (upstream_header_tchar(ch) || ch == ',' || ch == ' ')
			out[o++] = ch;
		else
			out[o++] = '?';
	}
	out[o] = '\0';
	return o > 0 && strcmp(out, "identity") != 0;
}

void
upstream_head_reset(struct upstream_head *h)
{
	h->ctype[0] = '\0';
	h->coding[0] = '\0';
	h->coded = 0;
	h->nrelay = 0;
	h->relay_bytes = 0;
}

void
upstream_head_line(struct upstream_head *h, const char *line, size_t len)
{
	struct upstream_header	*r;
	size_t			 n, i;

	if (len > 13 && strncasecmp(line, "content-type:", 13) == 0) {
		if (!upstream_header_media_type(line, len, h->ctype))
			h->ctype[0] = '\0';
		return;
	}
	if (len > 17 && strncasecmp(line, "content-encoding:", 17) == 0) {
		h->coded = upstream_header_coding(line, len, h->coding,
		    sizeof(h->coding));
		return;
	}
	if (h->nrelay == UPSTREAM_RELAY_MAX)
		return;
	r = &h->relay[h->nrelay];
	if (!upstream_header_relayed(line, len, r))
		return;
	for (i = 0; i < h->nrelay; i++)
		if (strcmp(h->relay[i].name, r->name) == 0)
			return;		/* the first of each name */
	n = strlen(r->name) + strlen(r->value) + 4;	/* ": " and CRLF */
	if (h->relay_bytes + n > UPSTREAM_RELAY_BYTES)
		return;
	h->relay_bytes += n;
	h->nrelay++;
}
