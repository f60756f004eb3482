/* Server-Sent Events splitter: zero copy unless an event spans feeds. */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "xmalloc.h"

struct sse {
	char	*buf;		/* bytes of an event that spans feeds */
	size_t	 len;
	size_t	 size;
	size_t	 max;		/* longest event allowed */
	int	 bol;		/* at the beginning of a line */
	int	 cr;		/* the last byte was a '\r' */
	int	 held;		/* buf is a whole event waiting for a '\n' */
	int	 spent;		/* an error was returned */
};

struct sse *
sse_new(size_t max_event)
{
	struct sse	*s;

	s = xcalloc(1, sizeof *s);
	s->max = max_event;
	s->bol = 1;
	return s;
}

void
sse_free(struct sse *s)
{
	if (s == NULL)
		return;
	free(s->buf);
	free(s);
}

size_t
sse_pending(const struct sse *s)
{
	return s->len;
}

/* Keep data[0..n) as part of the event in progress; -1 if it grows too big. */
static int
sse_keep(struct sse *s, const char *data, size_t n)
{
	size_t	size;

	if (n > s->max - s->len)
		return -1;
	if (s->len + n > s->size) {
		size = s->size == 0 ? 4096 : s->size;
		while (size < s->len + n)
			size = size > s->max / 2 ? s->max : size * 2;
		s->buf = xreallocarray(s->buf, 1, size);
		s->size = size;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return 0;
}

/* Deliver the buffered event and start afresh. */
static int
sse_flush(struct sse *s, int (*cb)(void *, const char *, size_t), void *arg)
{
	size_t	len = s->len;

	s->len = 0;
	s->held = 0;
	s->bol = 1;
	s->cr = 0;
	if (cb(arg, s->buf, len) != 0) {
		s->spent = 1;
		return -1;
	}
	return 0;
}

int
sse_feed(struct sse *s, const char *data, size_t len,
    int (*cb)(void *, const char *, size_t), void *arg)
{
	size_t	i = 0, start, end;
	char	c;

	if (s->spent)
		return -1;
	if (len == 0)
		return 0;
	if (s->held) {
		if (data[0] == '\n') {
			if (sse_keep(s, data, 1) != 0)
				goto toolong;
			i = 1;
		}
		if (sse_flush(s, cb, arg) != 0)
			return -1;
	}

	start = i;
	while (i < len) {
		c = data[i];
		if (c != '\n' && c != '\r') {
			s->bol = 0;
			s->cr = 0;
			for (i++; i < len && data[i] != '\n' && data[i] != '\r';
			    i++)
				;
			continue;
		}
		if (c == '\n' && s->cr) {
			/* The '\n' of a "\r\n" whose '\r' ended the line. */
			s->cr = 0;
			i++;
			continue;
		}
		s->cr = (c == '\r');
		if (!s->bol) {
			s->bol = 1;
			i++;
			continue;
		}

		/* A blank line: the event ends, with the '\n' of a "\r\n". */
		end = i + 1;
		if (c == '\r') {
			if (end == len) {
				if (sse_keep(s, data + start, end - start) != 0)
					goto toolong;
				s->held = 1;
				return 0;
			}
			if (data[end] == '\n')
				end++;
		}
		if (s->len > 0) {
			if (sse_keep(s, data + start, end - start) != 0)
				goto toolong;
			if (sse_flush(s, cb, arg) != 0)
				return -1;
		} else {
			if (end - start > s->max)
				goto toolong;
			s->bol = 1;
			s->cr = 0;
			if (cb(arg, data + start, end - start) != 0) {
				s->spent = 1;
				return -1;
			}
		}
		start = i = end;
	}
	if (start < len && sse_keep(s, data + start, len - start) != 0)
		goto toolong;
	return 0;

toolong:
	s->spent = 1;
	return -1;
}

int
sse_finish(struct sse *s, int (*cb)(void *, const char *, size_t), void *arg)
{
	if (s->spent)
		return -1;
	if (!s->held)
		return 0;
	return sse_flush(s, cb, arg);
}

/*
 * Step over the line at ev[*i..len): set its field name and value (value is
 * NULL for a comment) and move *i past the line ending.
 */
static void
sse_line(const char *ev, size_t len, size_t *i, const char **name,
    size_t *namelen, const char **value, size_t *valuelen)
{
	size_t	p = *i, eol, colon;

	for (eol = p; eol < len && ev[eol] != '\n' && ev[eol] != '\r'; eol++)
		;
	*i = eol + 1;
	if (eol + 1 < len && ev[eol] == '\r' && ev[eol + 1] == '\n')
		*i = eol + 2;

	*name = ev + p;
	*value = NULL;
	*namelen = *valuelen = 0;
	if (eol == p || ev[p] == ':')
		return;
	for (colon = p; colon < eol && ev[colon] != ':'; colon++)
		;
	*namelen = colon - p;
	*value = ev + eol;
	if (colon < eol) {
		colon++;
		if (colon < eol && ev[colon] == ' ')
			colon++;
		*value = ev + colon;
		*valuelen = eol - colon;
	}
}

/* Where the fields start: past a UTF-8 byte order mark. */
static size_t
sse_skip_bom(const char *ev, size_t len)
{
	if (len >= 3 && memcmp(ev, "\xef\xbb\xbf", 3) == 0)
		return 3;
	return 0;
}

static int
sse_is_data(const char *name, size_t namelen, const char *value)
{
	return value != NULL && namelen == 4 && memcmp(name, "data", 4) == 0;
}

int
sse_event_is_done(const char *ev, size_t len)
{
	const char	*name, *value;
	size_t		 i, namelen, valuelen;
	int		 done = 0, ndata = 0;

	for (i = sse_skip_bom(ev, len); i < len;) {
		sse_line(ev, len, &i, &name, &namelen, &value, &valuelen);
		if (!sse_is_data(name, namelen, value))
			continue;
		ndata++;
		done = valuelen == 6 && memcmp(value, "[DONE]", 6) == 0;
	}
	return ndata == 1 && done;
}

ssize_t
sse_event_data(const char *ev, size_t len, char *dst, size_t dstlen)
{
	const char	*name, *value;
	size_t		 i, n = 0, namelen, valuelen;
	int		 ndata = 0;

	if (dstlen == 0)
		return -1;
	for (i = sse_skip_bom(ev, len); i < len;) {
		sse_line(ev, len, &i, &name, &namelen, &value, &valuelen);
		if (!sse_is_data(name, namelen, value))
			continue;
		if (ndata++ > 0) {
			if (dstlen - n < 2)
				return -1;
			dst[n++] = '\n';
		}
		if (valuelen >= dstlen - n)
			return -1;
		memcpy(dst + n, value, valuelen);
		n += valuelen;
	}
	dst[n] = '\0';
	return n;
}
