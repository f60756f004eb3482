/*
 * A backend's HTTP/1.1 response read strictly (RFC 9112), with no I/O and
 * no allocation: upstream-h1.c, on a worker thread, hands it the bytes it
 * read and gets back spans of them. Hand-written because our own upstream
 * client needs a reader that works in place: libevent's evhttp allocates
 * per header, libcurl is what this client replaces on the request path,
 * and Debian 12's main has neither picohttpparser nor llhttp for C
 * (node-llhttp is JavaScript; libhttp-parser-dev is the retired
 * http-parser 2.9).
 */
#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "agent.h"

#define H1_FIELDS_MAX		1000	/* header lines in a head */
#define H1_LENGTH_DIGITS	18	/* a Content-Length below 10^18 */
#define H1_CHUNK_DIGITS		15	/* significant hex digits: < 2^60 */

/* Where a chunked body's reader is (struct h1_body's state). */
enum h1_chunk_state {
	H1_CHUNK_SIZE,		/* a chunk-size line, kept in b->line */
	H1_CHUNK_DATA,		/* b->left bytes of data */
	H1_CHUNK_DATA_END,	/* the line end after the data */
	H1_CHUNK_DATA_LF,	/* its LF after its CR */
	H1_CHUNK_TRAILER,	/* trailer lines up to an empty one */
	H1_CHUNK_TRAILER_LF,	/* a trailer line's LF after its CR */
};

/* What the head's fields said beyond struct h1_head. */
struct h1_scan {
	int	minor;		/* HTTP/1.minor */
	int	fields;
	int	te;		/* a Transfer-Encoding was seen */
	int	close;		/* Connection: close */
	int	keep_alive;	/* Connection: keep-alive */
};

/* RFC 9110 5.6.2: tchar. */
static int
h1_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* A field value's byte (RFC 9110 5.5): HTAB, SP, VCHAR, obs-text. */
static int
h1_vchar(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static int
h1_ows(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

static int
h1_hex(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int
h1_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

ssize_t
h1_head_length(const char *buf, size_t len)
{
	const char	*nl;
	size_t		 max, start = 0, i;

	max = len < H1_HEAD_MAX ? len : H1_HEAD_MAX;
	while ((nl = memchr(buf + start, '\n', max - start)) != NULL) {
		i = nl - buf;
		if (i == start || (i == start + 1 && buf[start] == '\r'))
			return i + 1;
		start = i + 1;
	}
	return len < H1_HEAD_MAX ? 0 : -1;
}

/*
 * The line at buf[*off..len) without its line end (LF or CRLF); moves
 * *off past it. -1 when no LF ends it within len, or it holds a bare CR.
 */
static int
h1_line(const char *buf, size_t len, size_t *off, const char **line,
    size_t *linelen)
{
	const char	*s = buf + *off, *nl;
	size_t		 n;

	if ((nl = memchr(s, '\n', len - *off)) == NULL)
		return -1;
	n = nl - s;
	*off += n + 1;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\r', n) != NULL)
		return -1;
	*line = s;
	*linelen = n;
	return 0;
}

/* "HTTP/1.x NNN", then nothing or SP and a reason phrase. */
static int
h1_status_line(const char *s, size_t len, struct h1_head *h,
    struct h1_scan *sc)
{
	size_t	i;

	if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return -1;
	sc->minor = s[7] - '0';
	for (i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (h->status < 100 || h->status > 599)
		return -1;
	if (len == 12)
		return 0;
	if (s[12] != ' ')
		return -1;
	for (i = 13; i < len; i++)
		if (!h1_vchar(s[i]))
			return -1;
	return 0;
}

/*
 * 1*DIGIT; a list, even of equal values (RFC 9110 8.6 allows that), is
 * refused: no backend we talk to sends one. A repeat must agree.
 */
static int
h1_content_length(const char *v, size_t len, struct h1_head *h)
{
	uint64_t	n = 0;
	size_t		i;

	if (len == 0 || len > H1_LENGTH_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	if (h->has_length && h->length != n)
		return -1;
	h->has_length = 1;
	h->length = n;
	return 0;
}

/* Connection's options, a comma list: only close and keep-alive matter. */
static void
h1_connection(const char *v, size_t len, struct h1_scan *sc)
{
	size_t	i = 0, start, end;

	while (i <= len) {
		for (start = i; i < len && v[i] != ','; i++)
			;
		end = i++;
		while (start < end && h1_ows(v[start]))
			start++;
		while (end > start && h1_ows(v[end - 1]))
			end--;
		if (h1_is(v + start, end - start, "close"))
			sc->close = 1;
		else if (h1_is(v + start, end - start, "keep-alive"))
			sc->keep_alive = 1;
	}
}

/*
 * One header line: a token, a colon right after it (a space before it is
 * refused, RFC 9112 5.1), a value of field bytes between optional
 * whitespace. A folded line starts with whitespace, so it is no token.
 */
static int
h1_field(const char *s, size_t len, struct h1_head *h, struct h1_scan *sc)
{
	const char	*v;
	size_t		 i, name_len, start, end;

	for (i = 0; i < len && h1_tchar(s[i]); i++)
		;
	if (i == 0 || i == len || s[i] != ':')
		return -1;
	name_len = i;
	for (start = i + 1; start < len && h1_ows(s[start]); start++)
		;
	for (end = len; end > start && h1_ows(s[end - 1]); end--)
		;
	for (i = start; i < end; i++)
		if (!h1_vchar(s[i]))
			return -1;
	v = s + start;
	if (h1_is(s, name_len, "content-length"))
		return h1_content_length(v, end - start, h);
	if (h1_is(s, name_len, "transfer-encoding")) {
		/* Only chunked: any other coding would reach the client. */
		if (sc->te || !h1_is(v, end - start, "chunked"))
			return -1;
		sc->te = 1;
		h->chunked = 1;
		return 0;
	}
	if (h1_is(s, name_len, "connection"))
		h1_connection(v, end - start, sc);
	return 0;
}

int
h1_head_parse(const char *buf, size_t len, struct h1_head *h,
    void (*line)(void *, const char *, size_t), void *arg)
{
	struct h1_scan	 sc;
	const char	*s;
	size_t		 n, off = 0;

	memset(h, 0, sizeof(*h));
	memset(&sc, 0, sizeof(sc));
	if (h1_line(buf, len, &off, &s, &n) == -1 ||
	    h1_status_line(s, n, h, &sc) == -1)
		return -1;
	for (;;) {
		if (h1_line(buf, len, &off, &s, &n) == -1)
			return -1;
		if (n == 0)
			break;
		if (++sc.fields > H1_FIELDS_MAX ||
		    h1_field(s, n, h, &sc) == -1)
			return -1;
		if (line != NULL)
			line(arg, s, n);
	}
	/* Bytes past the blank line: not a head h1_head_length measured. */
	if (off != len)
		return -1;
	/* An HTTP/1.0 backend cannot have chunked it: faulty framing. */
	if (sc.te && sc.minor == 0)
		return -1;

	if (sc.minor == 1)
		h->keep_alive = !sc.close;
	else
		h->keep_alive = sc.keep_alive && !sc.close;
	/* RFC 9112 6.1: chunked wins, and the connection is not reused. */
	if (h->chunked && h->has_length) {
		h->has_length = 0;
		h->length = 0;
		h->keep_alive = 0;
	}
	/* A body that only the close ends leaves nothing to reuse. */
	if (h->status >= 200 && h->status != 204 && h->status != 304 &&
	    !h->chunked && !h->has_length)
		h->keep_alive = 0;
	return 0;
}

void
h1_body_init(struct h1_body *b, const struct h1_head *h)
{
	memset(b, 0, sizeof(*b));
	if (h->status < 200 || h->status == 204 || h->status == 304) {
		b->mode = H1_BODY_NONE;
		b->done = 1;
	} else if (h->chunked) {
		b->mode = H1_BODY_CHUNKED;
		b->state = H1_CHUNK_SIZE;
	} else if (h->has_length) {
		b->mode = H1_BODY_LENGTH;
		b->left = h->length;
		b->done = b->left == 0;
	} else
		b->mode = H1_BODY_CLOSE;
}

/*
 * A chunk-size line without its LF: 1*HEXDIG, then either nothing or
 * BWS, ';' and extensions (read past, not interpreted), then a CR or
 * not. At most H1_CHUNK_DIGITS significant digits, so no overflow.
 */
static int
h1_chunk_size(const char *s, size_t len, uint64_t *size)
{
	uint64_t	n = 0;
	size_t		i, j, digits = 0;
	int		d;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	for (i = 0; i < len && (d = h1_hex(s[i])) != -1; i++) {
		if (n == 0 && d == 0)
			continue;
		if (++digits > H1_CHUNK_DIGITS)
			return -1;
		n = n << 4 | (uint64_t)d;
	}
	if (i == 0)
		return -1;
	for (j = i; j < len && h1_ows(s[j]); j++)
		;
	if (j == len) {
		if (j != i)
			return -1;	/* whitespace, then no extension */
	} else {
		if (s[j] != ';')
			return -1;
		for (j++; j < len; j++)
			if (!h1_vchar(s[j]))
				return -1;
	}
	*size = n;
	return 0;
}

/* Chunked framing, a byte at a time but for the data itself. */
static ssize_t
h1_chunked_read(struct h1_body *b, const char *in, size_t len,
    const char **data, size_t *dlen)
{
	size_t		i = 0, n;
	unsigned char	ch;

	while (i < len && !b->done) {
		switch (b->state) {
		case H1_CHUNK_SIZE:
			ch = in[i++];
			if (ch != '\n') {
				if (b->linelen == sizeof(b->line))
					return -1;
				b->line[b->linelen++] = ch;
				break;
			}
			if (h1_chunk_size(b->line, b->linelen, &b->left) == -1)
				return -1;
			b->linelen = 0;
			b->state = b->left > 0 ? H1_CHUNK_DATA :
			    H1_CHUNK_TRAILER;
			break;
		case H1_CHUNK_DATA:
			n = len - i < b->left ? len - i : b->left;
			*data = in + i;
			*dlen = n;
			b->left -= n;
			if (b->left == 0)
				b->state = H1_CHUNK_DATA_END;
			/*
			 * One span a call, and nothing after it: the data
			 * before a framing error reaches the caller whatever
			 * the reads' sizes.
			 */
			return i + n;
		case H1_CHUNK_DATA_END:
			ch = in[i++];
			if (ch == '\r')
				b->state = H1_CHUNK_DATA_LF;
			else if (ch == '\n')
				b->state = H1_CHUNK_SIZE;
			else
				return -1;
			break;
		case H1_CHUNK_DATA_LF:
			if (in[i++] != '\n')
				return -1;
			b->state = H1_CHUNK_SIZE;
			break;
		case H1_CHUNK_TRAILER:
		case H1_CHUNK_TRAILER_LF:
			/* Trailers are skipped; linelen counts this one's. */
			ch = in[i++];
			if (++b->trailer_bytes > H1_HEAD_MAX || ch == '\0' ||
			    (b->state == H1_CHUNK_TRAILER_LF && ch != '\n'))
				return -1;
			if (ch == '\r')
				b->state = H1_CHUNK_TRAILER_LF;
			else if (ch == '\n') {
				b->done = b->linelen == 0;
				b->linelen = 0;
				b->state = H1_CHUNK_TRAILER;
			} else
				b->linelen++;
			break;
		default:
			return -1;
		}
	}
	return i;
}

ssize_t
h1_body_read(struct h1_body *b, const char *in, size_t len,
    const char **data, size_t *dlen)
{
	size_t	n;

	*data = NULL;
	*dlen = 0;
	if (b->done || len == 0)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	switch (b->mode) {
	case H1_BODY_NONE:
		b->done = 1;
		return 0;
	case H1_BODY_LENGTH:
		n = len < b->left ? len : b->left;
		*data = in;
		*dlen = n;
		b->left -= n;
		b->done = b->left == 0;
		return n;
	case H1_BODY_CHUNKED:
		return h1_chunked_read(b, in, len, data, dlen);
	case H1_BODY_CLOSE:
		*data = in;
		*dlen = len;
		return len;
	}
	return -1;
}

int
h1_body_eof(struct h1_body *b)
{
	if (b->mode == H1_BODY_CLOSE || b->mode == H1_BODY_NONE)
		b->done = 1;
	return b->done;
}
